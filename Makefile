# switchboard — the two commands users need are `make run` and `make test`.
# Slow suites have their own targets (fuzz, bench); see README.md.

CARGO        ?= cargo
DATA         ?= ./var
# Debian packages the build needs: libopus for the Opus codec; libtiff,
# libjpeg and libclang (bindgen) for the vendored spandsp fax engine.
BUILD_DEBS   := pkg-config libopus-dev gcc libtiff-dev libjpeg-dev libclang-dev
# Debian packages the tests drive or compare against: SIPp, baresip, openssl
# (s_client checks SIP over TLS, tests/sip_tls.rs), sox,
# spandsp (reference DTMF), espeak-ng (speech for talk-off), opus-tools,
# aiosmtpd (the SMTP receiver of tests/mail_smtp.rs), Chromium and its
# WebDriver (the console's browser tests, tests/common/browser.rs); for fax
# (tests/fax_*.rs): ImageMagick makes and compares pages, ghostscript
# renders our PDFs (and rasterises PDFs we send, tests/console_fax.rs),
# tshark decodes our T.38; sqlite3 runs PRAGMA integrity_check after a
# kill -9 (tests/crash_safety.rs).
TEST_DEBS    := sip-tester baresip openssl sox libsox-fmt-all libspandsp-dev libtiff-dev espeak-ng opus-tools python3-aiosmtpd chromium chromium-driver imagemagick ghostscript tshark libtiff-tools sqlite3
APT_ENV      := DEBIAN_FRONTEND=noninteractive
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run build build-deps test test-deps fuzz fuzz-deps clean

# Installs only what is missing, so a second run costs a dpkg query.
define apt_ensure
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env $(APT_ENV) apt-get install -y --no-install-recommends $$missing; \
	fi
endef

build-deps:
	$(call apt_ensure,$(BUILD_DEBS))

build: build-deps
	$(CARGO) build --release --locked

# Exit status 75 is the console's "Restart now": a service manager restarts
# on it (see README); here the appliance just stops.
run: build
	./target/release/switchboard --data $(DATA) run || [ $$? -eq 75 ]

test-deps: build-deps
	$(call apt_ensure,$(TEST_DEBS))

test: test-deps
	$(CARGO) build --locked
	$(CARGO) test --locked -- --test-threads=2

# Coverage-guided fuzzing of every parser (long; not part of `make test`,
# which replays the committed corpora instead). New inputs land in
# fuzz/target/new-corpus; fold them in as fuzz/README.md describes.
FUZZ_SECONDS ?= 60
fuzz-deps:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
# Every target runs even when one fails; the failed ones are listed at the end.
fuzz: fuzz-deps
	cd fuzz && failed=""; for t in $$(cargo fuzz list); do \
	  mkdir -p target/new-corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t target/new-corpus/$$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || failed="$$failed $$t"; \
	done; [ -z "$$failed" ] || { echo "fuzz targets that failed:$$failed (inputs in fuzz/artifacts/)"; exit 1; }

clean:
	$(CARGO) clean

# Benchmarks (issue 3): speed is measured here, never asserted in tests. Criterion runs the media
# hot paths (benches/media.rs: codecs, DTMF, mixer, resampler, jitter buffer, RTP/RTCP), then our
# in-band DTMF detector side by side with spandsp's dtmf_rx (benches/dtmf_spandsp.rs, links
# libspandsp). Each binary ends with a plain summary table; criterion's raw data stays under
# target/criterion. Short settings (0.5 s warm-up, 1.5 s x 30 samples each): about 2 minutes of
# measuring on 2 cores, plus the release build. Filter with BENCH_ARGS="codec".
# Then the call setup rate (issue 9, benches/load/cps.py): SIPp through switchboard and, as the
# baseline in the same run, through Kamailio as a stateful proxy, stepping the rate up to the first
# failed call; table printed, JSON in target/bench/cps.json. CPS_RATES overrides the steps.
# Then concurrent calls with media (benches/load/calls.rs, our own load tool): bridged G.711 beside
# a recvmmsg/sendmmsg floor relay, IVR density and Opus<->PCMU transcoding (at the default
# opus_complexity 5 and again at 1, the density an admin can trade quality for), each stepped up through
# its own counts to the first unclean step, calls held CALLS_HOLD seconds (JSON:
# target/bench/calls-<mode>.json). Last, benches/load/report.py prints the one combined table
# (target/bench/summary.json). About 35 minutes on 2 cores with the defaults.
BENCH_DEBS   := libspandsp-dev sip-tester kamailio
BENCH_ARGS   ?=
CPS_RATES    ?= 50,100,200,400,800,1200,1400,1600,2000,2400,3200
CALLS_HOLD   ?= 60
BRIDGED_COUNTS   ?= 500,1000,2000,3000,4000
IVR_COUNTS       ?= 100,250,500,1000,2000
TRANSCODE_COUNTS ?= 25,50,100,200,400
CALLS = $(CARGO) bench --locked --bench calls -- --hold $(CALLS_HOLD)
.PHONY: bench
bench: build
	$(call apt_ensure,$(BENCH_DEBS))
	$(CARGO) bench --locked --bench media -- $(BENCH_ARGS)
	$(CARGO) bench --locked --bench dtmf_spandsp -- $(BENCH_ARGS)
	python3 benches/load/cps.py --rates $(CPS_RATES)
	$(CALLS) --modes bridged,floor --counts $(BRIDGED_COUNTS) --out target/bench/calls-bridged.json
	$(CALLS) --modes ivr --counts $(IVR_COUNTS) --out target/bench/calls-ivr.json
	$(CALLS) --modes transcode --counts $(TRANSCODE_COUNTS) --out target/bench/calls-transcode.json
	$(CALLS) --modes transcode --opus-complexity 1 --counts $(TRANSCODE_COUNTS) --out target/bench/calls-transcode-c1.json
	python3 benches/load/report.py

# The appliance disk image (issue 8; firmware-image/README.md). Needs root
# (mmdebstrap --mode=root) and Debian's archive; no loop devices or mounts.
# `make image-test` boots it in QEMU (TCG) with SeaBIOS and with OVMF and
# checks SIP, the console, REGISTER and the A/B update from the host: about
# 15 minutes, so it is its own CI stage, not part of `make test`.
IMAGE_DEBS      := mmdebstrap debian-archive-keyring dosfstools mtools fdisk e2fsprogs grub-common grub-pc-bin zstd
IMAGE_TEST_DEBS := qemu-system-x86 qemu-utils ovmf sip-tester python3
VERSION         := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IMAGE           := firmware-image/out/switchboard-$(VERSION).img
.PHONY: image image-deps image-test image-test-deps
image-deps:
	$(call apt_ensure,$(IMAGE_DEBS))
image: image-deps build
	firmware-image/build.sh
# Debian 12 machines with backports' qemu-utils cannot install
# qemu-system-x86 beside it: bookworm's qemu-utils goes in with it.
image-test-deps:
	@dpkg-query -W -f='$${Status}' qemu-system-x86 2>/dev/null | grep -q "install ok installed" || { \
	  $(SUDO) apt-get update -qq && $(SUDO) env $(APT_ENV) apt-get install -y --no-install-recommends \
	    --allow-downgrades qemu-system-x86 $$(dpkg-query -W -f='$${Status}' qemu-utils 2>/dev/null | grep -q "install ok installed" && echo qemu-utils/bookworm); }
	$(call apt_ensure,$(IMAGE_TEST_DEBS))
image-test: image-test-deps
	@[ -f $(IMAGE) ] || $(MAKE) image
	timeout 3600 python3 firmware-image/test/boot_test.py $(IMAGE) --update firmware-image/out/switchboard-$(VERSION).update

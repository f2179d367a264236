//! Test harness for end-to-end tests against real SIP peers on 127.0.0.1.
//!
//! Include from an integration test with `mod common;`. Needs the dev-deps
//! `hound`, `serde_json`, `tempfile`, `libc`, `regex`, and the Debian
//! packages `sip-tester` (sipp) and `baresip` (sox is *not* needed: tones are
//! generated and analysed in Rust).
//!
//! - [`ports`]: free port blocks on 127.0.0.1, per-process offset.
//! - [`proc`]: [`proc::ChildGuard`] (process group killed on drop, logs to
//!   files, `wait_for_line`), [`proc::TestDir`] (kept when the test panics,
//!   or always with `SB_KEEP_TEST_DIRS=1`).
//! - [`baresip`]: a headless phone driven over ctrl_tcp.
//! - [`sipp`]: SIPp runs with parsed `-trace_stat` counters; [`sip_trace`]:
//!   the messages of a run's `-trace_msg` log, digest answers checked.
//! - [`audio`]: tone WAV writer, Goertzel-based tone measurements.
//! - [`browser`]: headless Chromium over WebDriver (console tests).
//! - [`http`]: a minimal HTTP/1.1 client for console and API tests.
//! - [`relayed`]: a call relayed between two small UAs counting RTP.
//! - [`tls`]: rustls clients (HTTPS, SIP over TLS) trusting given roots.
//!
//! Scenario files live in `tests/sipp/` ([`sipp_scenario`]).
//!
//! # Recipes verified on this machine (Debian 12, 2026-11)
//!
//! Proven peer-to-peer (no switchboard) by the scratch crate
//! `/work/scratch/harness` (tests `harness_self`, `baresip_p2p`, `sipp_peers`).
//!
//! **baresip v1.0.0** (`baresip -v`: "baresip v1.0.0 Copyright (C) 2010 - 2020";
//! libre 1.1.0, librem 0.6.0):
//! - `net_interface 127.0.0.1` works; `net_interface lo` fails at startup
//!   ("net: lo: could not get IPv4 address", "network init failed").
//! - `sip_listen 127.0.0.1:P` binds UDP+TCP on P and TCP (TLS) on P+1 even
//!   without a certificate; it also opens a UDP socket on 0.0.0.0 (random
//!   port, DNS client). Keep instances >= 2 ports apart (we use blocks of 4).
//! - Headless audio: `audio_player alsa,null` + `audio_alert alsa,null`
//!   (ALSA's null PCM), `audio_source aufile,FILE.wav` (8 kHz mono s16;
//!   played once, then silence). `sndfile` + `snd_path DIR` records
//!   `dump-<date-time>-dec.wav` (received) and `-enc.wav` (sent) at the codec
//!   rate (8 kHz for PCMU), finalised when the call ends. One-second name
//!   resolution: two calls on one instance in the same second collide.
//! - Modules: `g711 aufile alsa sndfile` + `module_tmp account` +
//!   `module_app menu` + `module_app ctrl_tcp`. Without `menu`, ctrl_tcp
//!   answers every command with "command not found".
//! - ctrl_tcp: netstring JSON (see [`baresip`]). Commands used: `dial URI`,
//!   `hangup`, `accept`, `sndcode KEY`, `quit`. Events seen: CALL_LOCAL_SDP,
//!   CALL_REMOTE_SDP (class "other"), CALL_INCOMING (manual answer only),
//!   CALL_RINGING, CALL_ESTABLISHED, CALL_RTPESTAB, CALL_RTCP,
//!   CALL_DTMF_START (param = key), CALL_DTMF_END, CALL_CLOSED (param =
//!   "Connection reset by user" / "... by peer"), REGISTER_OK/REGISTER_FAIL.
//! - With `answermode=auto` the callee raises **no CALL_INCOMING**: wait for
//!   CALL_ESTABLISHED instead.
//! - DTMF: `sndcode` sends RFC 4733 telephone-events in RTP (baresip offers
//!   `telephone-event/8000` + `fmtp 0-15` in every SDP; no SIP INFO seen);
//!   the receiving baresip logs "received event: '5' (end=0)" and raises
//!   CALL_DTMF_START "5" then CALL_DTMF_END.
//! - Contact user is not the AOR user: `<sip:b-0x55e17946d3a0@127.0.0.1:P>`
//!   (a per-UA suffix). Registrar/location tests must not assume equality.
//! - Peer-to-peer mode: account `<sip:a@127.0.0.1:OWN_PORT>;regint=0` (or
//!   baresip REGISTERs to itself), dial `sip:b@127.0.0.1:PORT_B` directly.
//! - With a registrar: account `<sip:alice@HOST:PORT;transport=udp>` with
//!   `auth_user`/`auth_pass`; REGISTER goes to the AOR's host:port, answers a
//!   401 with Authorization. Success is printed as
//!   "alice@127.0.0.1: {0/UDP/v4} 200 OK () [1 binding]", refusal as
//!   "reg: sip:alice@127.0.0.1:P: 403 Forbidden ()".
//! - REGISTER is sent during startup, before ctrl_tcp accepts clients, so the
//!   REGISTER_OK/FAIL events are lost: [`baresip::Baresip::wait_registered`]
//!   watches the log lines above.
//! - `-t SECS` makes baresip quit by itself: a safety net in case the test
//!   process is SIGKILLed (PR_SET_PDEATHSIG in [`proc`] is the other one).
//! - `-s` prints every SIP message to stdout (on by default here); the
//!   "[0:00:01] audio=..." status line goes to stderr.
//!
//! **SIPp v3.6.1-SCTP-PCAP-RTPSTREAM**:
//! - Always `-nostdin` (no tty); `-timeout Ns -timeout_error` bounds a run
//!   (a timeout then exits 255).
//! - Binds `-mp` and `-mp`+2 (RTP) and a UDP control port (`-cp`, default
//!   8888) in addition to `-p`, even with no media in the scenario: parallel
//!   runs need distinct `-mp`/`-cp`; the harness allocates all of them.
//! - `-trace_stat -fd 1 -stf FILE` writes `;`-separated CSV; the last line's
//!   `SuccessfulCall(C)`/`FailedCall(C)` are the totals.
//! - Exit code 0 only when all calls succeeded. A scenario with an unknown
//!   element exits 1 ("Unknown element 'x' in xml scenario file"), like a
//!   failed call, and a file whose root element is never closed is accepted
//!   and run: [`sipp::check_scenario`] checks tag balance itself, then that
//!   SIPp drew its scenario screen without complaints.
//! - Built-in `-sn uas` lingers ~4 s in its final timewait after `-m N`.
//! - `-rtp_echo` echoes RTP received on `-mp`: a baresip calling
//!   `uas_carrier.xml` hears its own tone back.
//! - `[authentication]` (with `-au`/`-ap`) answers the stored 401/407 with
//!   Authorization/Proxy-Authorization; the digest `uri` is
//!   `sip:REMOTE_IP:REMOTE_PORT`, **not** the Request-URI (seen:
//!   `uri="sip:127.0.0.1:49342"` for `INVITE sip:1000@127.0.0.1:49342`). A
//!   server must compute the digest with the uri from the header.
//! - `<verifyauth>` (UAS side) reads only the `Authorization` header, so it
//!   cannot check a Proxy-Authorization answer to a 407.
//! - `play_pcap_audio` paths are relative to the working directory: the
//!   harness symlinks `/usr/share/sip-tester/*` into each run's directory.

#![allow(dead_code)]

pub mod audio;
pub mod baresip;
pub mod browser;
pub mod faxpeer;
pub mod http;
pub mod mutation;
pub mod ports;
pub mod proc;
pub mod relayed;
pub mod sip_trace;
pub mod sip_ua;
pub mod sipp;
pub mod smtp;
pub mod switchboard;
pub mod tls;

use std::path::{Path, PathBuf};

/// Harness error: a message with diagnostics (log tails) attached.
/// `Debug` prints the message verbatim so `.expect()` output stays readable.
pub struct Error(String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Directory of the SIPp scenario files (`tests/sipp/`). Override with the
/// `SB_SIPP_DIR` environment variable. Works whether this module is
/// compiled as the project's `tests/common` or pulled in by `#[path]` from
/// another crate.
pub fn sipp_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SB_SIPP_DIR") {
        return PathBuf::from(d);
    }
    let this = Path::new(file!());
    let this = if this.is_absolute() {
        this.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(this)
    };
    // .../tests/common/mod.rs -> .../tests/sipp
    let candidate = this.parent().and_then(Path::parent).map(|t| t.join("sipp"));
    match candidate {
        Some(c) if c.is_dir() => c,
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("sipp"),
    }
}

/// Path of a scenario in `tests/sipp/`, e.g. `sipp_scenario("options.xml")`.
pub fn sipp_scenario(name: &str) -> PathBuf {
    sipp_dir().join(name)
}

/// `127.0.0.1:PORT`.
pub fn localhost(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

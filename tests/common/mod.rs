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
//! - [`sipp`]: SIPp runs with parsed `-trace_stat` counters.
//! - [`audio`]: tone WAV writer, Goertzel-based tone measurements.
//!
//! Scenario files live in `tests/sipp/` ([`sipp_scenario`]).
//!
//! # Recipes verified on this machine (Debian 12, Nov 2026)
//!
//! **baresip v1.0.0** (`baresip -v` prints "baresip v1.0.0 Copyright (C) 2010
//! - 2020"; libre 1.1.0, librem 0.6.0):
//! - `net_interface 127.0.0.1` works; `net_interface lo` fails at startup
//!   ("net: lo: could not get IPv4 address", "network init failed").
//! - `sip_listen 127.0.0.1:P` binds UDP+TCP on P and TCP (TLS) on P+1 even
//!   without a certificate; it also opens a UDP socket on 0.0.0.0 (random
//!   port, DNS client). Keep instances >= 2 ports apart (we use blocks of 4).
//! - Headless audio: `audio_player alsa,null` + `audio_alert alsa,null`
//!   (ALSA's null PCM), `audio_source aufile,FILE.wav` (8 kHz mono s16;
//!   played once, then silence). `sndfile` + `snd_path DIR` records
//!   `dump-<date-time>-dec.wav` (received) and `-enc.wav` (sent) at the codec
//!   rate (8 kHz for PCMU), finalised when the call ends.
//! - Modules: `g711 aufile alsa sndfile` + `module_tmp account` +
//!   `module_app menu` + `module_app ctrl_tcp`. Without `menu`, ctrl_tcp
//!   answers every command with "command not found".
//! - ctrl_tcp: netstring JSON (see [`baresip`]). Commands used: `dial URI`,
//!   `hangup`, `accept`, `sndcode KEY`, `quit`. Events seen: CALL_LOCAL_SDP,
//!   CALL_REMOTE_SDP, CALL_INCOMING, CALL_RINGING, CALL_PROGRESS,
//!   CALL_ESTABLISHED, CALL_RTPESTAB, CALL_RTCP, CALL_DTMF_START (param =
//!   key), CALL_DTMF_END, CALL_CLOSED (param = reason), REGISTER_OK,
//!   REGISTER_FAIL.
//! - DTMF: `sndcode` sends RFC 4733 telephone-events (baresip offers
//!   `telephone-event/8000` in every SDP); the receiving baresip reports
//!   CALL_DTMF_START with the key and CALL_DTMF_END.
//! - Peer-to-peer mode: account `<sip:a@127.0.0.1:OWN_PORT>;regint=0` (or
//!   baresip REGISTERs to itself), dial `sip:b@127.0.0.1:PORT_B` directly.
//! - Registration happens during startup, before ctrl_tcp accepts clients,
//!   so REGISTER_OK can be missed: [`baresip::Baresip::wait_registered`]
//!   also checks the `{0/UDP/v4} 200 OK` log line.
//! - `-t SECS` makes baresip quit by itself: the harness's safety net in case
//!   the test process is SIGKILLed and Drop never runs.
//!
//! **SIPp v3.6.1-SCTP-PCAP-RTPSTREAM**:
//! - Always `-nostdin` (no tty); `-timeout Ns -timeout_error` bounds a run.
//! - Binds `-mp` and `-mp`+2 (RTP) and a UDP control port (`-cp`, default
//!   8888) in addition to `-p`, even with no media in the scenario: parallel
//!   runs need distinct `-mp`/`-cp`, the harness allocates all of them.
//! - `-trace_stat -fd 1 -stf FILE` writes `;`-separated CSV; the last line's
//!   `SuccessfulCall(C)`/`FailedCall(C)` are the totals.
//! - Exit code 0 only when all calls succeeded; a scenario with an XML error
//!   ("Unknown element 'x' in xml scenario file") exits with 1, like a failed
//!   call, so check the output, not just the code ([`sipp::check_scenario`]).
//! - Built-in `-sn uas` does not exit right after `-m N` calls: it lingers in
//!   its final timewait; rely on `-timeout` or kill it.
//! - `play_pcap_audio` paths are relative to the working directory: the
//!   harness symlinks `/usr/share/sip-tester/*` into each run's directory.

#![allow(dead_code)]

pub mod audio;
pub mod baresip;
pub mod ports;
pub mod proc;
pub mod sipp;

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
    let this = if this.is_absolute() { this.to_path_buf() } else { Path::new(env!("CARGO_MANIFEST_DIR")).join(this) };
    // .../tests/common/mod.rs -> .../tests/sipp
    let candidate = this.parent().and_then(Path::parent).map(|t| t.join("sipp"));
    match candidate {
        Some(c) if c.is_dir() => c,
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("sipp"),
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

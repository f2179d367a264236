//! Replays the committed cargo-fuzz corpora (fuzz/corpus/<target>/) through
//! the very checks the fuzz targets run (fuzz/shared/checks.rs), on stable
//! Rust, as part of `cargo test`. Long coverage-guided runs are `make fuzz`.
//!
//! A failing file is named in the panic message; reproduce it under the
//! fuzzer with `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>`.

#[path = "../fuzz/shared/checks.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn replay(target: &str) {
    let check = checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no check for target {target}"));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: only {} corpus files", dir.display(), files.len());

    let mut failed = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: {} of {} corpus files failed:\n{}", failed.len(), files.len(), failed.join("\n"));
}

#[test]
fn every_target_has_a_corpus_test() {
    let names: Vec<&str> = checks::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["csv", "dialplan", "digest", "prompt_decode", "replaces", "rfc4733", "rtcp", "rtp", "sdp", "sip_message", "t38_sdp", "tiff", "udptl", "update_header"]);
}

#[test]
fn sip_message_corpus() {
    replay("sip_message");
}

#[test]
fn sdp_corpus() {
    replay("sdp");
}

#[test]
fn digest_corpus() {
    replay("digest");
}

#[test]
fn rtp_corpus() {
    replay("rtp");
}

#[test]
fn rtcp_corpus() {
    replay("rtcp");
}

#[test]
fn dialplan_corpus() {
    replay("dialplan");
}

#[test]
fn csv_corpus() {
    replay("csv");
}

#[test]
fn replaces_corpus() {
    replay("replaces");
}

#[test]
fn udptl_corpus() {
    replay("udptl");
}

#[test]
fn t38_sdp_corpus() {
    replay("t38_sdp");
}

#[test]
fn tiff_corpus() {
    replay("tiff");
}

#[test]
fn update_header_corpus() {
    replay("update_header");
    // Seeds that are good files, so the checks past the parse run on them too.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/update_header");
    for good in ["valid.update", "unknown-keys.update", "exactly-4096.update"] {
        let data = std::fs::read(dir.join(good)).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert!(switchboard::update::UpdateHeader::parse(&data).is_ok(), "{good} is a good update file");
    }
}

#[test]
fn rfc4733_corpus() {
    replay("rfc4733");
}

#[test]
fn prompt_decode_corpus() {
    replay("prompt_decode");
}

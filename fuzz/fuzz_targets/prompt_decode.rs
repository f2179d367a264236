#![no_main]
//! cargo-fuzz target; the checks live in ../shared/checks.rs so that
//! tests/fuzz_corpus.rs replays the committed corpus through the same code.

use libfuzzer_sys::fuzz_target;

#[path = "../shared/checks.rs"]
#[allow(dead_code)]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_prompt_decode(data));

//! Requirement: no input panics the parser, and every accepted input round-trips
//! (a deterministic stand-in for the cargo-fuzz target, run on every `cargo test`).

use super::vectors::ALL;
use crate::sdp::fuzz_parse;

/// xorshift64: tiny, deterministic, good enough to pick mutation sites.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that steer mutations towards the interesting edges of the grammar.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b"=",
    b":",
    b"/",
    b" ",
    b"\0",
    b"0",
    b"65535",
    b"65536",
    b"99999999999999999999999",
    b"m=audio 1 RTP/AVP 0\r\n",
    b"c=IN IP4 0.0.0.0\r\n",
    b"a=rtcp:9 IN IP4 1.2.3.4\r\n",
    b"t=0 0\r\n",
    b"r=1\r\n",
    b"v=0\r\n",
    b"\xff",
    b"a=",
    b"c=IN IP6 ::1\r\n",
    b"a=sendonly\r\n",
    b"b=AS:1\r\n",
    b"x=y\r\n",
];

fn mutate(rng: &mut XorShift, data: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let pos = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(pos, rng.next() as u8),
            2 => {
                let end = (pos + rng.below(16)).min(data.len());
                data.drain(pos..end);
            }
            3 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                data.splice(pos..pos, t.iter().copied());
            }
            4 => data.truncate(pos),
            _ => {
                // Duplicate a random slice somewhere else (repeated lines, repeated m= sections).
                let start = rng.below(data.len() + 1);
                let end = (start + rng.below(40)).min(data.len());
                let chunk: Vec<u8> = data[start..end].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, chunk);
            }
        }
    }
}

#[test]
fn mutated_vectors_never_panic_and_round_trip() {
    let mut rng = XorShift(0x05EE_D5D9_1234_ABCD);
    let mut accepted = 0;
    for i in 0..5000 {
        let mut data = ALL[i % ALL.len()].as_bytes().to_vec();
        mutate(&mut rng, &mut data);
        if crate::sdp::parse(&data).is_ok() {
            accepted += 1;
        }
        fuzz_parse(&data);
        if let Ok(mut s) = crate::sdp::parse(&data) {
            // Helpers must not panic on whatever survived parsing either.
            for m in 0..s.media.len() + 1 {
                let _ = (
                    s.direction(m),
                    s.rtp_endpoint(m),
                    s.rtcp_endpoint(m),
                    s.rtcp_mux(m),
                );
                let _ = s.set_media_endpoint(m, "192.0.2.1".parse().expect("ip"), 65535);
                let _ = s.set_direction(m, crate::sdp::Direction::Inactive);
            }
            s.bump_version();
            fuzz_parse(&s.to_bytes());
        }
    }
    // Sanity: the mutator must not be so destructive that nothing parses.
    assert!(accepted > 500, "only {accepted} mutated inputs parsed");
}

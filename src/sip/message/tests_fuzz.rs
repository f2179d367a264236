//! A deterministic, dependency-free fuzz loop over the RFC 4475 vectors:
//! truncations, bit flips, byte splices from a fixed-seed xorshift. Returning
//! at all is the main assertion (no panic, no overflow); every `Ok` must also
//! satisfy the serializer's round-trip contract, and every typed view that
//! parses must survive Display -> parse unchanged. The real fuzzer (cargo-fuzz
//! under fuzz/) goes deeper; this one runs in every `cargo test`.

use super::tests_rfc4475::assert_round_trip;
use super::*;

macro_rules! corpus {
    ($($name:literal),* $(,)?) => {
        [$(include_bytes!(concat!("../../../tests/vectors/rfc4475/", $name, ".dat")) as &[u8]),*]
    };
}

const CORPUS: [&[u8]; 50] = corpus!(
    "badaspec", "badbranch", "baddate", "baddn", "badinv01", "badvers", "bcast", "bext01", "bigcode",
    "clerr", "cparam01", "cparam02", "dblreq", "esc01", "esc02", "escnull", "escruri", "insuf", "intmeth",
    "inv2543", "invut", "longreq", "ltgtruri", "lwsdisp", "lwsruri", "lwsstart", "mcl01", "mismatch01",
    "mismatch02", "mpart01", "multi01", "ncl", "noreason", "novelsc", "quotbal", "regaut01", "regbadct",
    "regescrt", "scalar02", "scalarlg", "sdp01", "semiuri", "test", "transports", "trws", "unkscm",
    "unksm2", "unreason", "wsinv", "zeromf",
);

/// xorshift64* — tiny, fixed seed, reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes that matter to the grammars, so mutations hit interesting paths.
const SPICE: &[u8] = b"\r\n \t:;,<>\"\\%@?=/[]*0123456789SIP/2.0";

fn exercise(input: &[u8]) {
    if let Framing::Complete(n) = frame_stream(input) {
        assert!(n <= input.len());
    }
    let Ok(m) = parse_message(input) else { return };
    assert_round_trip(&m, "fuzz");
    let h = m.headers();
    if let Ok(vias) = h.vias() {
        for v in vias {
            assert_eq!(parse_via_list(&v.to_string()).ok(), Some(vec![v.clone()]), "{v}");
        }
    }
    for na in [h.from_addr(), h.to_addr()].into_iter().flatten() {
        assert_eq!(parse_name_addr(&na.to_string()).as_ref(), Ok(&na), "{na}");
    }
    if let Ok(cs) = h.contacts() {
        for c in cs {
            assert_eq!(parse_contact_list(&c.to_string()).ok(), Some(vec![c.clone()]), "{c}");
        }
    }
    if let Ok(c) = h.cseq() {
        assert_eq!(parse_cseq(&c.to_string()).as_ref(), Ok(&c));
    }
    let _ = h.name_addr_list(&HeaderName::Route);
    let _ = h.max_forwards();
    let _ = h.expires();
    if let Message::Request(r) = &m {
        assert_eq!(parse_uri(&r.uri.to_string()).as_ref(), Ok(&r.uri));
        let _ = validate_request(r);
    }
}

#[test]
fn truncation_at_every_offset() {
    for msg in [CORPUS[48], CORPUS[18], CORPUS[13], CORPUS[29], CORPUS[32]] {
        for i in 0..=msg.len() {
            exercise(msg.get(..i).unwrap_or(msg));
        }
    }
}

#[test]
fn random_mutations_do_not_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut oks = 0usize;
    for _ in 0..20_000 {
        let base = CORPUS[rng.below(CORPUS.len())];
        let mut m = base.to_vec();
        for _ in 0..=rng.below(4) {
            let pos = rng.below(m.len());
            match rng.below(6) {
                0 => {
                    if let Some(b) = m.get_mut(pos) {
                        *b ^= 1 << rng.below(8);
                    }
                }
                1 => {
                    if let Some(b) = m.get_mut(pos) {
                        *b = rng.next() as u8;
                    }
                }
                2 => m.insert(pos, SPICE[rng.below(SPICE.len())]),
                3 => {
                    if pos < m.len() {
                        m.remove(pos);
                    }
                }
                4 => m.truncate(pos),
                _ => {
                    // Duplicate a slice elsewhere (header lines, escapes).
                    let len = rng.below(16);
                    let from = rng.below(m.len());
                    let chunk: Vec<u8> = m.iter().skip(from).take(len).copied().collect();
                    let at = rng.below(m.len());
                    m.splice(at..at, chunk);
                }
            }
        }
        if parse_message(&m).is_ok() {
            oks += 1;
        }
        exercise(&m);
    }
    // Sanity: the mutator is gentle enough that many inputs still parse.
    assert!(oks > 1_000, "only {oks} mutated inputs parsed");
}

#[test]
fn random_garbage_does_not_panic() {
    let mut rng = Rng(42);
    for _ in 0..2_000 {
        let len = rng.below(300);
        let v: Vec<u8> = (0..len)
            .map(|_| if rng.below(2) == 0 { SPICE[rng.below(SPICE.len())] } else { rng.next() as u8 })
            .collect();
        exercise(&v);
        let s = String::from_utf8_lossy(&v);
        let _ = parse_uri(&s);
        let _ = parse_name_addr_list(&s);
        let _ = parse_via_list(&s);
        let _ = parse_contact_list(&s);
        let _ = parse_cseq(&s);
    }
}

//! Cross-file tests for the digest module: client ⇄ server round trips with a
//! simulated clock, every refusal path of `verify`, bounded memory, and a
//! deterministic mutation loop over header values. Per-file details are
//! tested beside each file. Must not touch anything outside this module.
//!
//! Requirements checked (RFC 3261 §22, RFC 7616, RFC 8760):
//! - both algorithms authenticate end to end, SHA-256 preferred;
//! - wrong password, unknown user, realm mismatch, missing qop are refused;
//! - expired nonces are `Stale` (only with a right password), forged or
//!   tampered ones `BadNonce`;
//! - nc must strictly increase per nonce; replay memory stays bounded;
//! - no header value, however mangled, panics the parser or verifier.

use super::*;

const REALM: &str = "pbx.example.com";
const KEY: [u8; 32] = [42; 32];
const LIFETIME: u64 = 300;
const T0: u64 = 1_750_000_000;
const URI: &str = "sip:pbx.example.com";

fn server() -> DigestServer {
    DigestServer::new(REALM.to_owned(), KEY, LIFETIME).with_rng_seed(7)
}

/// The "database": extension 1000 with password s3cret, stored as HA1s only.
fn lookup(user: &str, alg: Algorithm) -> Option<String> {
    (user == "1000").then(|| ha1(alg, "1000", REALM, "s3cret"))
}

fn challenge_for(s: &mut DigestServer, now: u64, alg: Algorithm) -> Challenge {
    let headers = s.challenge_headers(now, false);
    headers
        .iter()
        .map(|h| parse_challenge(h).expect("our own challenge parses"))
        .find(|c| c.algorithm == alg)
        .expect("both algorithms offered")
}

fn creds(c: &Challenge, user: &str, password: &str, nc: u32) -> String {
    c.authorization("REGISTER", URI, user, password, "0a4f113b", nc)
}

#[test]
fn round_trip_both_algorithms() {
    for alg in [Algorithm::Sha256, Algorithm::Md5] {
        let mut s = server();
        let c = challenge_for(&mut s, T0, alg);
        let v = s
            .verify(T0 + 1, "REGISTER", &creds(&c, "1000", "s3cret", 1), lookup)
            .unwrap();
        assert_eq!(
            v,
            Verified {
                username: "1000".into(),
                algorithm: alg,
                uri: URI.into()
            }
        );
    }
}

#[test]
fn client_selects_sha256_from_server_challenges() {
    let mut s = server();
    let headers = s.challenge_headers(T0, false);
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let c = select_challenge(&refs).unwrap();
    assert_eq!(c.algorithm, Algorithm::Sha256);
    assert!(c.qop_auth && !c.stale && c.opaque.is_some());
    let v = s
        .verify(T0, "REGISTER", &creds(&c, "1000", "s3cret", 1), lookup)
        .unwrap();
    assert_eq!(v.algorithm, Algorithm::Sha256);
}

#[test]
fn wrong_password_and_unknown_user() {
    let mut s = server();
    let c = challenge_for(&mut s, T0, Algorithm::Sha256);
    let e = s
        .verify(T0, "REGISTER", &creds(&c, "1000", "guess", 1), lookup)
        .unwrap_err();
    assert_eq!(e, AuthError::WrongPassword);
    assert!(e.counts_as_failure());
    assert_eq!(e.sip_status(false), 401);
    assert_eq!(e.sip_status(true), 407);
    let e = s
        .verify(T0, "REGISTER", &creds(&c, "2000", "s3cret", 1), lookup)
        .unwrap_err();
    assert_eq!(e, AuthError::UnknownUser);
    // Same credentials, different method: the response covers the method.
    let e = s
        .verify(T0, "INVITE", &creds(&c, "1000", "s3cret", 1), lookup)
        .unwrap_err();
    assert_eq!(e, AuthError::WrongPassword);
    // A failed attempt must not burn the nonce-count for the real client.
    s.verify(T0, "REGISTER", &creds(&c, "1000", "s3cret", 1), lookup)
        .unwrap();
}

#[test]
fn uppercase_ha1_from_db_is_tolerated() {
    let mut s = server();
    let c = challenge_for(&mut s, T0, Algorithm::Md5);
    let upper = |u: &str, a: Algorithm| lookup(u, a).map(|h| h.to_ascii_uppercase());
    s.verify(T0, "REGISTER", &creds(&c, "1000", "s3cret", 1), upper)
        .unwrap();
}

#[test]
fn stale_nonce() {
    let mut s = server();
    let c = challenge_for(&mut s, T0, Algorithm::Sha256);
    let auth = creds(&c, "1000", "s3cret", 1);
    let e = s
        .verify(T0 + LIFETIME, "REGISTER", &auth, lookup)
        .unwrap_err();
    assert_eq!(e, AuthError::Stale);
    assert!(e.is_stale() && !e.counts_as_failure());
    // Stale only vouches for a right password: a wrong one is still wrong.
    let bad = creds(&c, "1000", "guess", 1);
    assert_eq!(
        s.verify(T0 + LIFETIME, "REGISTER", &bad, lookup),
        Err(AuthError::WrongPassword)
    );
    // Just inside the lifetime it is fine.
    s.verify(T0 + LIFETIME - 1, "REGISTER", &auth, lookup)
        .unwrap();
    // The re-challenge carries stale=true and the client sees it.
    let again = s.challenge_headers(T0 + LIFETIME, true);
    assert!(parse_challenge(&again[0]).unwrap().stale);
}

#[test]
fn forged_and_tampered_nonces() {
    let mut s = server();
    let c = challenge_for(&mut s, T0, Algorithm::Md5);

    // Tamper one character of the nonce; the client computes a matching
    // response for the tampered nonce, so only the MAC can catch it.
    let mut forged = c.clone();
    let last = forged.nonce.pop().unwrap();
    forged.nonce.push(if last == 'A' { 'B' } else { 'A' });
    let e = s
        .verify(T0, "REGISTER", &creds(&forged, "1000", "s3cret", 1), lookup)
        .unwrap_err();
    assert_eq!(e, AuthError::BadNonce);

    // A nonce minted under another key.
    let mut other = DigestServer::new(REALM.to_owned(), [1; 32], LIFETIME);
    let foreign = challenge_for(&mut other, T0, Algorithm::Md5);
    assert_eq!(
        s.verify(
            T0,
            "REGISTER",
            &creds(&foreign, "1000", "s3cret", 1),
            lookup
        ),
        Err(AuthError::BadNonce)
    );

    // Arbitrary text, and the RFC's example nonce.
    for n in ["", "x", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"] {
        let mut f = c.clone();
        f.nonce = n.to_owned();
        assert_eq!(
            s.verify(T0, "REGISTER", &creds(&f, "1000", "s3cret", 1), lookup),
            Err(AuthError::BadNonce)
        );
    }
}

#[test]
fn replayed_nc_refused_increasing_nc_accepted() {
    let mut s = server();
    let c = challenge_for(&mut s, T0, Algorithm::Sha256);
    s.verify(T0, "REGISTER", &creds(&c, "1000", "s3cret", 1), lookup)
        .unwrap();
    assert_eq!(
        s.verify(T0, "REGISTER", &creds(&c, "1000", "s3cret", 1), lookup),
        Err(AuthError::Replay)
    );
    s.verify(T0 + 1, "REGISTER", &creds(&c, "1000", "s3cret", 2), lookup)
        .unwrap();
    s.verify(T0 + 2, "REGISTER", &creds(&c, "1000", "s3cret", 5), lookup)
        .unwrap();
    assert_eq!(
        s.verify(T0 + 3, "REGISTER", &creds(&c, "1000", "s3cret", 4), lookup),
        Err(AuthError::Replay)
    );
    assert_eq!(s.tracked_nonces(), 1);
}

#[test]
fn realm_mismatch_and_protocol_refusals() {
    let mut s = server();
    let c = challenge_for(&mut s, T0, Algorithm::Md5);
    let mut elsewhere = c.clone();
    elsewhere.realm = "evil.example".to_owned();
    let e = s
        .verify(
            T0,
            "REGISTER",
            &creds(&elsewhere, "1000", "s3cret", 1),
            lookup,
        )
        .unwrap_err();
    assert_eq!(e, AuthError::RealmMismatch);

    // RFC 2069 form (no qop) is refused.
    let mut no_qop = c.clone();
    no_qop.qop_auth = false;
    let e = s
        .verify(T0, "REGISTER", &creds(&no_qop, "1000", "s3cret", 1), lookup)
        .unwrap_err();
    assert_eq!(e, AuthError::QopRequired);

    let auth = creds(&c, "1000", "s3cret", 1);
    let swap = |from: &str, to: &str| auth.replace(from, to);
    assert!(matches!(
        s.verify(T0, "REGISTER", &swap("qop=auth", "qop=auth-int"), lookup),
        Err(AuthError::UnsupportedQop(_))
    ));
    assert!(matches!(
        s.verify(
            T0,
            "REGISTER",
            &swap("algorithm=MD5", "algorithm=MD5-sess"),
            lookup
        ),
        Err(AuthError::UnsupportedAlgorithm(_))
    ));
    assert_eq!(
        s.verify(T0, "REGISTER", &swap(", nc=00000001", ""), lookup),
        Err(AuthError::MissingParam("nc"))
    );
    assert_eq!(
        s.verify(T0, "REGISTER", &swap("nc=00000001", "nc=00000000"), lookup),
        Err(AuthError::Malformed("nc must be a positive hex number"))
    );
    assert_eq!(
        s.verify(T0, "REGISTER", &swap("Digest", "Basic"), lookup),
        Err(AuthError::NotDigest)
    );
    assert_eq!(
        s.verify(T0, "REGISTER", "", lookup)
            .map_err(|e| e.sip_status(false)),
        Err(400)
    );

    // Absent algorithm means MD5 (RFC 3261 §22.4), so MD5 credentials
    // without the parameter still verify.
    s.verify(T0, "REGISTER", &swap(", algorithm=MD5", ""), lookup)
        .unwrap();
}

#[test]
fn server_replay_memory_is_capped() {
    let mut s = server().with_max_tracked_nonces(64);
    let mut first = None;
    for i in 0..2_000u64 {
        let now = T0 + i / 20; // many nonces per second, all still live
        let c = challenge_for(&mut s, now, Algorithm::Md5);
        s.verify(now, "REGISTER", &creds(&c, "1000", "s3cret", 1), lookup)
            .unwrap();
        assert!(s.tracked_nonces() <= 64);
        first.get_or_insert(c);
    }
    assert_eq!(s.tracked_nonces(), 64);
    // The first nonce was evicted while still live: it must come back as
    // Stale (forcing a fresh challenge), never as a fresh nc=1.
    let first = first.unwrap();
    assert_eq!(
        s.verify(
            T0 + 99,
            "REGISTER",
            &creds(&first, "1000", "s3cret", 1),
            lookup
        ),
        Err(AuthError::Stale)
    );
    // Expiry purges: after a lifetime, one more verify empties the old ones.
    let now = T0 + 100 + LIFETIME + 1;
    let c = challenge_for(&mut s, now, Algorithm::Md5);
    s.verify(now, "REGISTER", &creds(&c, "1000", "s3cret", 1), lookup)
        .unwrap();
    assert_eq!(s.tracked_nonces(), 1);
}

#[test]
fn failure_tracker_drives_403() {
    // The intended SIP-layer wiring, end to end.
    let mut s = server();
    let mut f = FailureTracker::default();
    let key = "198.51.100.7/1000";
    for attempt in 1..=3 {
        assert!(!f.is_blocked(T0, key));
        let c = challenge_for(&mut s, T0, Algorithm::Sha256);
        let e = s
            .verify(T0, "REGISTER", &creds(&c, "1000", "guess", 1), lookup)
            .unwrap_err();
        assert!(e.counts_as_failure());
        assert_eq!(f.record_failure(T0, key), attempt);
    }
    assert!(f.is_blocked(T0 + 59, key));
    assert!(!f.is_blocked(T0 + 60, key));
}

/// xorshift64*: deterministic, dependency-free randomness for the loop.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    const INTERESTING: &[u8] = b"\"\\,= \t\r\n\0\x7f\xc3\xa9\xffa=\"";
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            1 => {
                let i = rng.below(len + 1);
                v.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(16)).min(len);
                v.drain(i..j);
            }
            3 => v.truncate(rng.below(len + 1)),
            4 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(32)).min(len);
                let chunk = v[i..j].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                v[i] = u8::try_from(rng.below(256)).unwrap_or(0);
            }
            _ => v.extend_from_slice(b", x=\"y\\\""),
        }
    }
    v
}

#[test]
fn mutated_headers_never_panic() {
    let mut s = server();
    let c = challenge_for(&mut s, T0, Algorithm::Sha256);
    let mut seeds: Vec<Vec<u8>> = s
        .challenge_headers(T0, true)
        .into_iter()
        .map(String::into_bytes)
        .collect();
    seeds.push(creds(&c, "1000", "s3cret", 1).into_bytes());
    seeds.push(
        creds(
            &challenge_for(&mut s, T0, Algorithm::Md5),
            "1\"0\\00",
            "s3cret",
            7,
        )
        .into_bytes(),
    );
    seeds.push(
        b"Digest username=\"a\", realm=\"b, c\", nonce=x, uri=sip:a@b, response=\"\", qop=auth"
            .to_vec(),
    );

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut accepted = 0;
    for i in 0..5_000 {
        let seed = &seeds[i % seeds.len()];
        let bytes = mutate(&mut rng, seed);
        let text = String::from_utf8_lossy(&bytes);
        if s.verify(T0, "REGISTER", &text, lookup).is_ok() {
            accepted += 1;
        }
        let _ = parse_challenge(&text);
        fuzz_parse(&bytes);
    }
    // A mutation that only touches whitespace may authenticate once, before
    // the nc replay check bites; anything beyond a handful means the
    // verifier is too lax.
    assert!(accepted <= 5, "accepted {accepted} mutated credentials");
}

#[test]
fn fuzz_parse_handles_edge_inputs() {
    for input in [
        &b""[..],
        b"\xff\xfe",
        b"Digest",
        b"Digest \"",
        b"Digest a=\"\\",
        &[b','; 10_000][..],
    ] {
        fuzz_parse(input);
    }
}

#[test]
fn algorithm_list_orders_challenges_and_refuses_the_rest() {
    let mut s = server().with_algorithms(&[Algorithm::Md5]);
    let headers = s.challenge_headers(T0, false);
    assert_eq!(headers.len(), 1);
    assert!(headers[0].contains("algorithm=MD5"));
    // A SHA-256 answer to an MD5-only server is refused even with the right password.
    let sha = challenge_for(&mut server(), T0, Algorithm::Sha256);
    let sha_creds = sha.authorization("REGISTER", URI, "1000", "s3cret", "0a4f113b", 1);
    assert!(matches!(s.verify(T0 + 1, "REGISTER", &sha_creds, lookup), Err(AuthError::UnsupportedAlgorithm(_))));
    let mut both = server().with_algorithms(&[Algorithm::Md5, Algorithm::Sha256]);
    let order = both.challenge_headers(T0, false);
    assert!(order[0].contains("algorithm=MD5") && order[1].contains("algorithm=SHA-256"));
}

#[test]
fn credentials_username_reads_the_named_account() {
    let mut server = DigestServer::new(REALM.into(), KEY, LIFETIME).with_rng_seed(7);
    let ch = parse_challenge(&server.challenge_headers(T0, false)[0]).unwrap();
    let auth = ch.authorization("REGISTER", URI, "10\"02", "pw", "cn", 1);
    assert_eq!(credentials_username(&auth).as_deref(), Some("10\"02"));
    assert_eq!(credentials_username("Digest realm=\"x\""), None);
    assert_eq!(credentials_username("Basic dXNlcjpwdw=="), None);
    assert_eq!(credentials_username("Digest username=\"a\", username=\"b\""), None, "duplicates refused");
}

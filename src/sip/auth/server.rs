//! Owns the server (UAS / registrar / proxy) side of digest authentication:
//! issuing challenges and verifying credentials, RFC 3261 §22.2–§22.4 with
//! RFC 7616 hashing and RFC 8760 algorithm choice. Sans-IO: no clock (`now`
//! is unix seconds from the caller), no sockets, no database (HA1s come from
//! a caller-supplied lookup). Must not touch SIP message types or decide
//! status codes beyond what `AuthError::sip_status` suggests.

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::algorithm::{self, Algorithm, QopInput};
use super::error::AuthError;
use super::nonce::{self, NonceId};
use super::params::{parse_digest, quote};
use super::replay::NonceCounts;

/// Default bound on nonces whose nonce-count we remember.
pub const DEFAULT_MAX_TRACKED_NONCES: usize = 100_000;

/// Who was authenticated, and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The `username` parameter, unescaped.
    pub username: String,
    /// The algorithm the client used.
    pub algorithm: Algorithm,
    /// The `uri` parameter. RFC 3261 §22.4 leaves comparing it with the
    /// Request-URI to the caller, which knows the URI's parsed form (this
    /// module compares nothing but strings). A mismatch should be a 400.
    pub uri: String,
}

/// Digest challenge issuer and credential verifier for one realm.
pub struct DigestServer {
    realm: String,
    key: [u8; 32],
    nonce_lifetime_secs: u64,
    /// Constant per key and realm; computed once.
    opaque: String,
    /// Salt source for nonce uniqueness. Uniqueness, not secrecy, is what
    /// matters (the MAC gives unforgeability), so a seedable PRNG seeded
    /// from the OS is enough and lets tests be deterministic.
    rng: StdRng,
    counts: NonceCounts,
    /// Offered algorithms, most preferred first.
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for DigestServer {
    // Hand-written so the key never lands in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestServer")
            .field("realm", &self.realm)
            .field("nonce_lifetime_secs", &self.nonce_lifetime_secs)
            .field("tracked_nonces", &self.counts.len())
            .finish_non_exhaustive()
    }
}

impl DigestServer {
    /// A server for `realm`. `key` authenticates nonces: share it between
    /// nodes that should accept each other's nonces, keep it secret, and
    /// generate it randomly at first start. `nonce_lifetime_secs` bounds
    /// how long a challenge may be answered (300 is typical for SIP).
    pub fn new(realm: String, key: [u8; 32], nonce_lifetime_secs: u64) -> Self {
        let opaque = nonce::opaque(&key, &realm);
        DigestServer {
            realm,
            key,
            nonce_lifetime_secs,
            opaque,
            rng: StdRng::from_entropy(),
            counts: NonceCounts::new(DEFAULT_MAX_TRACKED_NONCES),
            algorithms: Algorithm::PREFERENCE.to_vec(),
        }
    }

    /// Which algorithms to challenge with, most preferred first (RFC 8760
    /// §2.4: clients take the topmost one they support). Credentials using
    /// an algorithm not in the list are refused. An empty list keeps the default.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        if !algorithms.is_empty() {
            self.algorithms = algorithms.to_vec();
        }
        self
    }

    /// Changes the bound on remembered nonce-counts (default
    /// [`DEFAULT_MAX_TRACKED_NONCES`]). Clears existing memory.
    pub fn with_max_tracked_nonces(mut self, cap: usize) -> Self {
        self.counts = NonceCounts::new(cap);
        self
    }

    /// Makes nonce salts deterministic, for tests and simulations.
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// The realm this server challenges for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// How many nonces' counts are currently remembered (for metrics/tests).
    pub fn tracked_nonces(&self) -> usize {
        self.counts.len()
    }

    /// Header values for `WWW-Authenticate` (401) or `Proxy-Authenticate`
    /// (407): one per configured algorithm in preference order (RFC 8760
    /// §2.4: the preferred challenge comes first and a client uses the first
    /// it supports; default SHA-256 then MD5, see `with_algorithms`). All
    /// share one fresh nonce. `stale` sets `stale=true`
    /// (RFC 7616 §3.3) after a [`AuthError::Stale`].
    pub fn challenge_headers(&mut self, now: u64, stale: bool) -> Vec<String> {
        let id = NonceId {
            issued: now,
            salt: self.rng.next_u64(),
        };
        let nonce = nonce::mint(&self.key, &self.realm, id);
        let stale = if stale { ", stale=true" } else { "" };
        self.algorithms
            .iter()
            .map(|alg| {
                format!(
                    "Digest realm={}, nonce=\"{nonce}\", opaque=\"{}\", algorithm={alg}, qop=\"auth\"{stale}",
                    quote(&self.realm),
                    self.opaque,
                )
            })
            .collect()
    }

    /// Verifies an `Authorization` / `Proxy-Authorization` header value for
    /// a request with `method` (RFC 3261 §22.4).
    ///
    /// `lookup(username, algorithm)` returns the stored HA1 (hex) for that
    /// algorithm, or `None` if the user is unknown or has no HA1 for it.
    ///
    /// # Errors
    ///
    /// One [`AuthError`] per refusal; the order of checks, and why:
    /// 1. syntax, realm, algorithm, qop — cheap and input-only;
    /// 2. nonce MAC (`BadNonce`) — before any lookup, so forged nonces cost
    ///    no database work;
    /// 3. HA1 lookup (`UnknownUser`) and response hash (`WrongPassword`);
    /// 4. nonce age (`Stale`) — only after the hash matched, so `stale=true`
    ///    keeps its RFC 7616 §3.3 meaning "your password was right";
    /// 5. nonce-count replay (`Replay`) — last, so only authenticated
    ///    requests can add entries to the bounded replay memory.
    ///
    /// `UnknownUser` returns without hashing; the lookup itself dominates
    /// timing anyway, and callers must answer it exactly like
    /// `WrongPassword`.
    pub fn verify(
        &mut self,
        now: u64,
        method: &str,
        authorization_value: &str,
        lookup: impl Fn(&str, Algorithm) -> Option<String>,
    ) -> Result<Verified, AuthError> {
        let params = parse_digest(authorization_value)?;

        if params.get("username*").is_some() {
            return Err(AuthError::Malformed(
                "username* (RFC 7616 §3.4.4) is not supported",
            ));
        }
        if params
            .get("userhash")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err(AuthError::Malformed(
                "userhash (RFC 7616 §3.4.4) is not supported",
            ));
        }
        let username = params.require("username")?;
        let realm = params.require("realm")?;
        let nonce_str = params.require("nonce")?;
        let uri = params.require("uri")?;
        let response = params.require("response")?;
        // RFC 3261 §22.4 / RFC 7616 §3.4: absent algorithm means MD5.
        let alg = match params.get("algorithm") {
            Some(token) => Algorithm::parse(token)?,
            None => Algorithm::Md5,
        };
        if !self.algorithms.contains(&alg) {
            return Err(AuthError::UnsupportedAlgorithm(alg.to_string()));
        }
        if realm != self.realm {
            return Err(AuthError::RealmMismatch);
        }

        // We only ever offer qop="auth"; RFC 2069-style credentials (no
        // qop) carry no nc, so replay protection would be impossible.
        let (nc_str, nc, cnonce) = match params.get("qop") {
            None => return Err(AuthError::QopRequired),
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc_str = params.require("nc")?;
                let cnonce = params.require("cnonce")?;
                (nc_str, parse_nc(nc_str)?, cnonce)
            }
            Some(other) => return Err(AuthError::UnsupportedQop(other.chars().take(32).collect())),
        };

        let id = nonce::open(&self.key, &self.realm, nonce_str)?;

        let stored = lookup(username, alg).ok_or(AuthError::UnknownUser)?;
        // RFC 7616 §3.4.1 hashes HA1 as lowercase hex; tolerate a DB that
        // stored uppercase.
        let ha1 = stored.to_ascii_lowercase();
        let expected = algorithm::response(
            alg,
            &ha1,
            nonce_str,
            method,
            uri,
            QopInput::Auth { nc: nc_str, cnonce },
        );
        let given = response.to_ascii_lowercase();
        if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            return Err(AuthError::WrongPassword);
        }

        // `abs_diff`: a nonce from slightly in the future is one of ours
        // minted by a node whose clock runs ahead; treat skew symmetrically.
        if now.abs_diff(id.issued) >= self.nonce_lifetime_secs {
            return Err(AuthError::Stale);
        }
        self.counts
            .purge_issued_before(now.saturating_sub(self.nonce_lifetime_secs));
        self.counts.check_and_record(id, nc)?;

        Ok(Verified {
            username: username.to_owned(),
            algorithm: alg,
            uri: uri.to_owned(),
        })
    }
}

/// Compares two byte strings in time that depends only on their lengths
/// (which are public: the hex length of the algorithm), so the comparison
/// does not leak how many leading characters of a guessed response were
/// right. `black_box` keeps the optimiser from adding an early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// RFC 7616 §3.4: nc is 8 hex digits. We accept 1–8 (some stacks drop
/// leading zeros; the hash uses the string as sent, so this is safe) and
/// refuse 0, since counting starts at 1.
fn parse_nc(s: &str) -> Result<u32, AuthError> {
    if s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::Malformed("nc must be 1-8 hex digits"));
    }
    match u32::from_str_radix(s, 16) {
        Ok(0) | Err(_) => Err(AuthError::Malformed("nc must be a positive hex number")),
        Ok(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_ordered_and_well_formed() {
        let mut s = DigestServer::new("pbx.example".into(), [1; 32], 300).with_rng_seed(1);
        let h = s.challenge_headers(1_000, false);
        assert_eq!(h.len(), 2);
        assert!(h[0].contains("algorithm=SHA-256"), "{}", h[0]);
        assert!(h[1].contains("algorithm=MD5"), "{}", h[1]);
        for v in &h {
            assert!(v.starts_with("Digest realm=\"pbx.example\", nonce=\""));
            assert!(v.contains("qop=\"auth\""));
            assert!(v.contains("opaque=\""));
            assert!(!v.contains("stale"));
        }
        let h2 = s.challenge_headers(1_000, true);
        assert!(h2.iter().all(|v| v.ends_with(", stale=true")));
        assert_ne!(h, h2, "each challenge gets a fresh nonce");
    }

    #[test]
    fn debug_hides_key() {
        let s = DigestServer::new("r".into(), [0xAB; 32], 300);
        let d = format!("{s:?}");
        assert!(
            !d.contains("171") && !d.contains("ab, ab") && !d.contains("key"),
            "{d}"
        );
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn nc_parsing() {
        assert_eq!(parse_nc("00000001"), Ok(1));
        assert_eq!(parse_nc("1"), Ok(1));
        assert_eq!(parse_nc("ffffffff"), Ok(u32::MAX));
        for bad in ["", "00000000", "000000001", "+1", "0x1", "g", "1 "] {
            assert!(parse_nc(bad).is_err(), "{bad}");
        }
    }
}

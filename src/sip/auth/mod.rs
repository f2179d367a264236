//! SIP digest authentication, sans-IO (RFC 3261 §22, RFC 7616, RFC 8760).
//!
//! Owns: challenge/credential header *values* (the text after
//! `WWW-Authenticate:`, `Authorization:`, `Proxy-Authenticate:`,
//! `Proxy-Authorization:`), HA1/response hashing, stateless nonces, nonce-count
//! replay memory, and failure throttling. Must not touch SIP message types,
//! sockets, clocks or storage: callers pass `now` (unix seconds), header
//! values, and an HA1 lookup, and decide which status to send
//! ([`AuthError::sip_status`] suggests one).
//!
//! Layout, one purpose per file:
//! - `error.rs`     — [`AuthError`]
//! - `algorithm.rs` — [`Algorithm`], [`ha1`], response arithmetic
//! - `params.rs`    — `Digest k=v, ...` parsing and quoting
//! - `nonce.rs`     — HMAC-authenticated stateless nonces
//! - `replay.rs`    — bounded per-nonce nc memory
//! - `server.rs`    — [`DigestServer`], [`Verified`]
//! - `client.rs`    — [`Challenge`], [`parse_challenge`], [`select_challenge`]
//! - `failures.rs`  — [`FailureTracker`]
//!
//! Typical server flow: no credentials → 401/407 with every value from
//! [`DigestServer::challenge_headers`]; credentials → [`DigestServer::verify`];
//! `Err(Stale)` → re-challenge with `stale=true`; other errors → record in
//! [`FailureTracker`] (see [`AuthError::counts_as_failure`]) and re-challenge,
//! or 403 once [`FailureTracker::is_blocked`].

#![forbid(unsafe_code)]

mod algorithm;
mod client;
mod error;
mod failures;
mod nonce;
mod params;
mod replay;
mod server;

#[cfg(test)]
mod tests;

pub use algorithm::{ha1, Algorithm};
pub use client::{parse_challenge, select_challenge, Challenge};
pub use error::AuthError;
pub use failures::{FailureTracker, DEFAULT_MAX_KEYS, DEFAULT_THRESHOLD, DEFAULT_WINDOW_SECS};
pub use server::{DigestServer, Verified, DEFAULT_MAX_TRACKED_NONCES};

/// The `username` parameter (unescaped) of an `Authorization` /
/// `Proxy-Authorization` value, if the value parses. Lets the caller fetch
/// the HA1 of the account the credentials name before calling
/// [`DigestServer::verify`], and throttle failures per that account.
pub fn credentials_username(authorization_value: &str) -> Option<String> {
    params::parse_digest(authorization_value)
        .ok()?
        .get("username")
        .map(str::to_owned)
}

/// Fuzzing entry point (for a future cargo-fuzz target): parses arbitrary
/// bytes as credentials (through a full `verify`, with a lookup that knows
/// every user) and as a challenge, ignoring results. Must never panic.
pub fn fuzz_parse(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let mut server = DigestServer::new("fuzz".to_owned(), [0; 32], 300).with_rng_seed(0);
    let _ = server.verify(0, "INVITE", &text, |_, alg| {
        Some(ha1(alg, "u", "fuzz", "p"))
    });
    let _ = parse_challenge(&text);
    let _ = select_challenge(&[&text, &text]);
}

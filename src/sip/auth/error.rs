//! Owns `AuthError`, the one error type of the digest module, and the SIP
//! status each error should be answered with. Must not touch parsing or
//! crypto; it only names outcomes.

use thiserror::Error;

/// Why a digest credential or challenge was refused.
///
/// The SIP layer answers most of these with a fresh challenge (401 for
/// `Authorization`, 407 for `Proxy-Authorization`, RFC 3261 §22.2/§22.3);
/// see [`AuthError::sip_status`]. `UnknownUser` and `WrongPassword` are kept
/// apart for logging only: answer them identically on the wire, or the
/// difference becomes a username oracle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// The header value is not syntactically valid (the reason is a static description).
    #[error("malformed digest header: {0}")]
    Malformed(&'static str),
    /// A parameter required by RFC 7616 §3.4 / RFC 3261 §22.4 is absent.
    #[error("missing digest parameter `{0}`")]
    MissingParam(&'static str),
    /// The auth-scheme is not `Digest` (e.g. `Basic`), RFC 7235 §2.1.
    #[error("auth scheme is not Digest")]
    NotDigest,
    /// The algorithm token is unknown or not implemented here (e.g. `-sess`, SHA-512-256).
    #[error("unsupported digest algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The qop value is not `auth` (we never offer `auth-int`, RFC 7616 §3.3).
    #[error("unsupported qop `{0}`")]
    UnsupportedQop(String),
    /// The credentials omit qop (RFC 2069 style); we require qop=auth for nc replay protection.
    #[error("qop is required (RFC 2069 style credentials are refused)")]
    QopRequired,
    /// The realm in the credentials is not ours (RFC 3261 §22.4).
    #[error("realm does not match")]
    RealmMismatch,
    /// The nonce was not minted by this server's key (forged, tampered or another realm's).
    #[error("nonce is not ours or was tampered with")]
    BadNonce,
    /// The nonce is authentic but too old (or evicted); re-challenge with `stale=true`, RFC 7616 §3.3.
    #[error("nonce is stale")]
    Stale,
    /// The nonce-count was not greater than the highest already accepted for this nonce, RFC 7616 §3.4.
    #[error("nonce-count replayed")]
    Replay,
    /// The credential lookup knows no HA1 for this username and algorithm.
    #[error("unknown user")]
    UnknownUser,
    /// The response hash does not match: wrong password (or wrong method/uri/HA1).
    #[error("wrong password")]
    WrongPassword,
}

impl AuthError {
    /// SIP status to answer a request whose credentials failed this way.
    ///
    /// `proxy` is true when the credentials came in `Proxy-Authorization`
    /// (answer 407 with `Proxy-Authenticate`), false for `Authorization`
    /// (401 with `WWW-Authenticate`). Syntax errors get 400 (RFC 3261
    /// §21.4.1). Blocking after repeated failures (403) is the caller's
    /// decision via `FailureTracker`, not an error kind here.
    pub fn sip_status(&self, proxy: bool) -> u16 {
        match self {
            AuthError::Malformed(_) | AuthError::MissingParam(_) => 400,
            _ if proxy => 407,
            _ => 401,
        }
    }

    /// True when the re-challenge should carry `stale=true`, telling the
    /// client its password was fine and it may retry without prompting the
    /// user (RFC 7616 §3.3).
    pub fn is_stale(&self) -> bool {
        matches!(self, AuthError::Stale)
    }

    /// True when the failure says something about the credentials (and so
    /// should count towards `FailureTracker`), as opposed to protocol noise
    /// like an expired nonce that an honest client hits routinely.
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self,
            AuthError::UnknownUser
                | AuthError::WrongPassword
                | AuthError::BadNonce
                | AuthError::Replay
        )
    }
}

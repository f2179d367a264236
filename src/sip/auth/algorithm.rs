//! Owns the digest algorithms (RFC 7616 §3.2, RFC 8760 §2) and the hash
//! arithmetic: HA1, HA2 and the `response` value (RFC 7616 §3.4.1–3.4.3,
//! RFC 3261 §22.4). Must not touch header syntax, nonces or policy.

use md5::Md5;
use sha2::{Digest, Sha256};

use super::error::AuthError;

/// A digest hash algorithm we implement.
///
/// RFC 8760 adds SHA-256 and SHA-512-256 to SIP; we implement MD5 (for old
/// phones) and SHA-256. The `-sess` variants are parsed only to be refused
/// with a clear error: they need per-session HA1 state we do not keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, RFC 2617 / RFC 3261 default when `algorithm` is absent.
    Md5,
    /// `SHA-256`, RFC 7616 §3.2, RFC 8760 §2.2.
    Sha256,
}

impl Algorithm {
    /// Every algorithm we implement, in order of preference (RFC 8760 §2.4:
    /// the preferred challenge goes first).
    pub const PREFERENCE: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

    /// The token as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses an `algorithm` token, case-insensitively (RFC 7616 §3.3 says
    /// tokens are case-insensitive). Known-but-unimplemented tokens get a
    /// specific error so logs say why a phone could not authenticate.
    ///
    /// # Errors
    ///
    /// `UnsupportedAlgorithm` for anything but MD5 and SHA-256.
    pub fn parse(token: &str) -> Result<Algorithm, AuthError> {
        if token.eq_ignore_ascii_case("MD5") {
            Ok(Algorithm::Md5)
        } else if token.eq_ignore_ascii_case("SHA-256") {
            Ok(Algorithm::Sha256)
        } else if token
            .len()
            .checked_sub(5)
            // `get` (not indexing) because the cut may fall inside a UTF-8 char.
            .and_then(|cut| token.get(cut..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case("-sess"))
        {
            Err(AuthError::UnsupportedAlgorithm(format!(
                "{} (session variants are not implemented)",
                truncate_for_log(token)
            )))
        } else {
            Err(AuthError::UnsupportedAlgorithm(truncate_for_log(token)))
        }
    }

    /// Length in hex characters of this algorithm's digest; used to sanity
    /// check HA1s from the database and responses from the wire.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 => 64,
        }
    }

    /// `H(data)` as lowercase hex, RFC 7616 §3.4.
    pub(crate) fn hex_digest(self, parts: &[&[u8]]) -> String {
        match self {
            Algorithm::Md5 => {
                let mut h = Md5::new();
                for p in parts {
                    h.update(p);
                }
                to_hex(&h.finalize())
            }
            Algorithm::Sha256 => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                to_hex(&h.finalize())
            }
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HA1 = H(username ":" realm ":" password), lowercase hex (RFC 7616 §3.4.2).
///
/// This is what the database stores per extension and algorithm, so the
/// plaintext password never needs to be kept.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hex_digest(&[
        username.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ])
}

/// The qop-dependent inputs to the response hash.
pub(crate) enum QopInput<'a> {
    /// qop=auth: nc (verbatim, as sent) and cnonce, RFC 7616 §3.4.1.
    Auth { nc: &'a str, cnonce: &'a str },
    /// No qop: RFC 2069 compatibility form, RFC 3261 §22.4 rule 8.
    None,
}

/// `response` = H(HA1 ":" nonce ":" nc ":" cnonce ":" "auth" ":" HA2) with
/// HA2 = H(method ":" uri), or the RFC 2069 form H(HA1 ":" nonce ":" HA2).
/// `ha1_hex` must already be lowercase hex.
pub(crate) fn response(
    alg: Algorithm,
    ha1_hex: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: QopInput<'_>,
) -> String {
    let ha2 = alg.hex_digest(&[method.as_bytes(), b":", uri.as_bytes()]);
    match qop {
        QopInput::Auth { nc, cnonce } => alg.hex_digest(&[
            ha1_hex.as_bytes(),
            b":",
            nonce.as_bytes(),
            b":",
            nc.as_bytes(),
            b":",
            cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]),
        QopInput::None => alg.hex_digest(&[
            ha1_hex.as_bytes(),
            b":",
            nonce.as_bytes(),
            b":",
            ha2.as_bytes(),
        ]),
    }
}

/// Lowercase hex encoding; tiny enough not to warrant a dependency.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    // `b >> 4` and `b & 0x0f` are both < 16, so the indexing cannot panic.
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Attacker-supplied tokens end up in error messages and logs; keep them short.
fn truncate_for_log(s: &str) -> String {
    s.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 §3.9.1 inputs. Expected responses were cross-checked against
    // the RFC text as quoted by several independent test suites and
    // recomputed with python3 hashlib.
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616_response(alg: Algorithm) -> String {
        let h = ha1(alg, "Mufasa", "http-auth@example.org", "Circle of Life");
        response(
            alg,
            &h,
            NONCE,
            "GET",
            "/dir/index.html",
            QopInput::Auth {
                nc: "00000001",
                cnonce: CNONCE,
            },
        )
    }

    #[test]
    fn rfc7616_3_9_1_md5() {
        assert_eq!(
            rfc7616_response(Algorithm::Md5),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }

    #[test]
    fn rfc7616_3_9_1_sha256() {
        assert_eq!(
            rfc7616_response(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn parse_tokens() {
        assert_eq!(Algorithm::parse("md5"), Ok(Algorithm::Md5));
        assert_eq!(Algorithm::parse("SHA-256"), Ok(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("sha-256"), Ok(Algorithm::Sha256));
        let err = Algorithm::parse("MD5-sess").unwrap_err();
        assert!(err.to_string().contains("session variants"), "{err}");
        assert!(matches!(
            Algorithm::parse("SHA-512-256"),
            Err(AuthError::UnsupportedAlgorithm(_))
        ));
        // Multi-byte chars near the end must not panic the suffix check.
        assert!(Algorithm::parse("ab€€").is_err());
        assert!(Algorithm::parse("").is_err());
    }

    #[test]
    fn hex_lengths() {
        for alg in Algorithm::PREFERENCE {
            assert_eq!(ha1(alg, "a", "b", "c").len(), alg.hex_len());
        }
    }
}

//! Owns the stateless nonce format: minting a nonce that carries its own
//! issue time and proves (by MAC) that we issued it, and opening one to
//! recover that time. Must not touch expiry policy or replay memory (see
//! `replay.rs` and `server.rs`); this file knows nothing about `now`.
//!
//! RFC 7616 §3.3 suggests `time-stamp H(time-stamp ":" ETag ":" secret)`;
//! we use the same idea with HMAC-SHA256 so nonces need no server state and
//! survive a restart as long as the key does:
//!
//! ```text
//! nonce = base64url( issued_be64 || salt_be64 || HMAC-SHA256(key, label || issued || salt || realm)[..16] )
//! ```
//!
//! 32 bytes → 43 base64url characters, all legal inside a quoted-string.
//! The realm is under the MAC so a nonce from one realm (tenant) cannot be
//! replayed into another that happens to share the key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::AuthError;

type HmacSha256 = Hmac<Sha256>;

/// Domain-separation labels: the same key also derives `opaque`.
const NONCE_LABEL: &[u8] = b"switchboard/digest-nonce/v1\0";
const OPAQUE_LABEL: &[u8] = b"switchboard/digest-opaque/v1\0";

/// Truncated MAC length. 128 bits is far beyond what an online forger can
/// search, and keeps the nonce short for UDP-sized SIP messages.
const MAC_LEN: usize = 16;
const RAW_LEN: usize = 8 + 8 + MAC_LEN;
/// base64url without padding of `RAW_LEN` bytes.
const ENCODED_LEN: usize = (RAW_LEN * 4).div_ceil(3);

/// What an authentic nonce tells us. Ordered by issue time first, which is
/// what the replay tracker uses to evict the oldest entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NonceId {
    /// Unix seconds at which we minted it.
    pub issued: u64,
    /// Random per-challenge value making each nonce unique.
    pub salt: u64,
}

fn mac_for(key: &[u8; 32], realm: &str, id: NonceId) -> HmacSha256 {
    // `new_from_slice` only fails for invalid key lengths, and HMAC accepts
    // any length; a fixed 32-byte key can never hit that path.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(NONCE_LABEL);
    mac.update(&id.issued.to_be_bytes());
    mac.update(&id.salt.to_be_bytes());
    mac.update(realm.as_bytes());
    mac
}

/// Mints the nonce string for `id`.
pub(crate) fn mint(key: &[u8; 32], realm: &str, id: NonceId) -> String {
    // HMAC-SHA256 output is 32 bytes, so `..MAC_LEN` (16) is in bounds.
    let tag = mac_for(key, realm, id).finalize().into_bytes();
    let mut raw = [0u8; RAW_LEN];
    raw[..8].copy_from_slice(&id.issued.to_be_bytes());
    raw[8..16].copy_from_slice(&id.salt.to_be_bytes());
    raw[16..].copy_from_slice(&tag[..MAC_LEN]);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Checks that `nonce` was minted by us for `realm` and returns its id.
/// Any failure (length, encoding, MAC) is `BadNonce`; the MAC comparison is
/// constant-time (`verify_truncated_left` compares via the `subtle` crate).
pub(crate) fn open(key: &[u8; 32], realm: &str, nonce: &str) -> Result<NonceId, AuthError> {
    // Length check first: bounds the decoder's work on hostile input.
    if nonce.len() != ENCODED_LEN {
        return Err(AuthError::BadNonce);
    }
    let mut raw = [0u8; RAW_LEN];
    match URL_SAFE_NO_PAD.decode_slice(nonce, &mut raw) {
        Ok(RAW_LEN) => {}
        _ => return Err(AuthError::BadNonce),
    }
    let (issued, salt, tag) = (&raw[..8], &raw[8..16], &raw[16..]);
    let id = NonceId {
        issued: u64::from_be_bytes(issued.try_into().map_err(|_| AuthError::BadNonce)?),
        salt: u64::from_be_bytes(salt.try_into().map_err(|_| AuthError::BadNonce)?),
    };
    mac_for(key, realm, id)
        .verify_truncated_left(tag)
        .map_err(|_| AuthError::BadNonce)?;
    // The decoder rejects non-canonical trailing bits (base64 0.22 default),
    // so each id has exactly one accepted spelling. Replay tracking is keyed
    // by the id, not the string, so this is belt and braces.
    Ok(id)
}

/// The `opaque` value for a realm: stable per key and realm, carrying no
/// state. RFC 7616 §3.3 says clients must echo it; we do not rely on it.
pub(crate) fn opaque(key: &[u8; 32], realm: &str) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(OPAQUE_LABEL);
    mac.update(realm.as_bytes());
    let tag = mac.finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(&tag[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn round_trip() {
        let id = NonceId {
            issued: 1_700_000_000,
            salt: 0xdead_beef_0bad_f00d,
        };
        let n = mint(&KEY, "pbx", id);
        assert_eq!(n.len(), ENCODED_LEN);
        assert!(n
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(open(&KEY, "pbx", &n), Ok(id));
    }

    #[test]
    fn rejects_wrong_key_realm_and_tampering() {
        let id = NonceId {
            issued: 42,
            salt: 1,
        };
        let n = mint(&KEY, "pbx", id);
        assert_eq!(open(&[8; 32], "pbx", &n), Err(AuthError::BadNonce));
        assert_eq!(open(&KEY, "other", &n), Err(AuthError::BadNonce));
        // Flip every character in turn to every other base64url character.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in 0..n.len() {
            for c in alphabet.chars() {
                let mut t: Vec<char> = n.chars().collect();
                if t[i] == c {
                    continue;
                }
                t[i] = c;
                let t: String = t.into_iter().collect();
                assert_eq!(
                    open(&KEY, "pbx", &t),
                    Err(AuthError::BadNonce),
                    "accepted {t}"
                );
            }
        }
        assert_eq!(open(&KEY, "pbx", ""), Err(AuthError::BadNonce));
        assert_eq!(
            open(&KEY, "pbx", &format!("{n}A")),
            Err(AuthError::BadNonce)
        );
        assert_eq!(
            open(&KEY, "pbx", &format!("{}a", "€".repeat(14))),
            Err(AuthError::BadNonce)
        );
    }

    #[test]
    fn opaque_is_stable_and_keyed() {
        assert_eq!(opaque(&KEY, "pbx"), opaque(&KEY, "pbx"));
        assert_ne!(opaque(&KEY, "pbx"), opaque(&[9; 32], "pbx"));
    }
}

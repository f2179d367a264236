//! Checking a certificate chain and its key before they are served: the
//! PEM parses, every certificate reads, each one is followed by its issuer
//! (leaf first), the key is the leaf's (public keys compared), and, for a
//! replacement, every certificate is valid now. Each refusal is a
//! [`TlsError`] that says what to fix.

use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::Digest;

use super::{x509, CertInfo, TlsError};

/// Longest chain accepted (leaf, intermediates, perhaps the root).
const MAX_CHAIN: usize = 8;
/// Clock skew tolerated on a certificate's start of validity.
const SKEW_SECS: i64 = 300;

/// A chain and key ready to serve, and what the leaf says.
#[derive(Debug)]
pub struct Checked {
    pub key: Arc<CertifiedKey>,
    pub info: CertInfo,
}

/// Whether the validity dates are checked (replacements) or only reported
/// (the files found at start: an expired certificate still serves, with a
/// warning, rather than leaving the appliance without TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dates {
    Enforce,
    Report,
}

/// Checks PEM text: `certs` (leaf first, then intermediates) and `key`
/// (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted), at Unix time `now`.
pub fn check(certs: &str, key: &str, now: i64, dates: Dates) -> Result<Checked, TlsError> {
    let chain = read_certs(certs)?;
    let parsed = chain
        .iter()
        .enumerate()
        .map(|(i, c)| x509::parse(c).map_err(|e| TlsError::BadCertificate { index: i + 1, reason: e.to_string() }))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, pair) in parsed.windows(2).enumerate() {
        if pair[0].issuer_der != pair[1].subject_der {
            return Err(TlsError::ChainOrder { index: i + 2, issuer: pair[0].issuer.clone(), found: pair[1].subject.clone() });
        }
    }
    if dates == Dates::Enforce {
        for (i, p) in parsed.iter().enumerate() {
            if p.not_after < now {
                return Err(TlsError::Expired { index: i + 1, subject: p.subject.clone(), at: CertInfo::date(p.not_after) });
            }
            if p.not_before > now + SKEW_SECS {
                return Err(TlsError::NotYetValid { index: i + 1, subject: p.subject.clone(), at: CertInfo::date(p.not_before) });
            }
        }
    }
    let signing = read_key(key)?;
    let leaf = &parsed[0];
    let info = CertInfo {
        subject: leaf.subject.clone(),
        issuer: leaf.issuer.clone(),
        sans: leaf.sans.clone(),
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        serial: leaf.serial.clone(),
        fingerprint_sha256: fingerprint(&chain[0]),
        self_signed: leaf.subject_der == leaf.issuer_der,
        chain_len: chain.len(),
    };
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(Checked { key: Arc::new(certified), info }),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err(TlsError::KeyMismatch),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::BadKey("its public key cannot be compared with the certificate's".into())),
        Err(e) => Err(TlsError::BadCertificate { index: 1, reason: e.to_string() }),
    }
}

fn read_certs(text: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { what: "certificate", reason: e.to_string() })?;
    match chain.len() {
        0 => Err(TlsError::NoCertificate),
        n if n > MAX_CHAIN => Err(TlsError::ChainTooLong(n, MAX_CHAIN)),
        _ => Ok(chain),
    }
}

fn read_key(text: &str) -> Result<Arc<dyn rustls::sign::SigningKey>, TlsError> {
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsError::EncryptedKey);
    }
    let der = match PrivateKeyDer::from_pem_slice(text.as_bytes()) {
        Ok(k) => k,
        Err(pem::Error::NoItemsFound) => return Err(TlsError::NoKey),
        Err(e) => return Err(TlsError::Pem { what: "private key", reason: e.to_string() }),
    };
    rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| TlsError::BadKey(e.to_string()))
}

/// SHA-256 of the DER, as colon-separated upper-case hex (openssl's form).
pub fn fingerprint(der: &[u8]) -> String {
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: &str = include_str!("../../tests/tls/localhost.pem");
    const LEAF_KEY: &str = include_str!("../../tests/tls/localhost.key");
    const CA: &str = include_str!("../../tests/tls/ca.pem");
    /// 2030-01-01: inside the test certificates' validity.
    const NOW: i64 = 1_893_456_000;

    #[test]
    fn a_leaf_with_its_key_and_issuer_is_accepted() {
        let c = check(&format!("{LEAF}{CA}"), LEAF_KEY, NOW, Dates::Enforce).unwrap();
        assert_eq!((c.info.chain_len, c.info.self_signed), (2, false));
        assert_eq!(c.info.subject, "CN=localhost");
        assert_eq!(c.info.fingerprint_sha256.len(), 32 * 3 - 1);
        assert_eq!(c.key.cert.len(), 2);
        assert!(check(LEAF, LEAF_KEY, NOW, Dates::Enforce).is_ok(), "the leaf alone");
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let generated = super::super::generate::self_signed(NOW).unwrap();
        let e = check(LEAF, &generated.key, NOW, Dates::Enforce).unwrap_err();
        assert!(matches!(e, TlsError::KeyMismatch), "{e}");
        assert!(e.to_string().contains("does not belong"), "{e}");
        let e = check(&format!("{CA}{LEAF}"), LEAF_KEY, NOW, Dates::Enforce).unwrap_err();
        assert!(matches!(e, TlsError::ChainOrder { index: 2, .. }), "{e}");
        let e = check(LEAF, LEAF_KEY, 5_000_000_000, Dates::Enforce).unwrap_err();
        assert!(matches!(e, TlsError::Expired { index: 1, .. }) && e.to_string().contains("2126-11-02"), "{e}");
        assert!(check(LEAF, LEAF_KEY, 5_000_000_000, Dates::Report).is_ok(), "dates only reported");
        let e = check(LEAF, LEAF_KEY, 1_700_000_000, Dates::Enforce).unwrap_err();
        assert!(matches!(e, TlsError::NotYetValid { .. }), "{e}");
        assert!(matches!(check("", LEAF_KEY, NOW, Dates::Enforce), Err(TlsError::NoCertificate)));
        assert!(matches!(check(LEAF, "", NOW, Dates::Enforce), Err(TlsError::NoKey)));
        assert!(matches!(check(LEAF, LEAF, NOW, Dates::Enforce), Err(TlsError::NoKey)), "a certificate is no key");
        let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(check(LEAF, enc, NOW, Dates::Enforce), Err(TlsError::EncryptedKey)));
        let broken = LEAF.replace("MII", "MI!");
        assert!(matches!(check(&broken, LEAF_KEY, NOW, Dates::Enforce), Err(TlsError::Pem { .. })), "bad base64");
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(check(garbage, LEAF_KEY, NOW, Dates::Enforce), Err(TlsError::BadCertificate { index: 1, .. })));
        let long = LEAF.repeat(MAX_CHAIN + 1);
        assert!(matches!(check(&long, LEAF_KEY, NOW, Dates::Enforce), Err(TlsError::ChainTooLong(9, 8))));
    }

    #[test]
    fn the_generated_certificate_is_self_signed_p256_for_ten_years() {
        let g = super::super::generate::self_signed(NOW).unwrap();
        let c = check(&g.cert, &g.key, NOW, Dates::Enforce).unwrap();
        assert!(c.info.self_signed);
        assert!(c.info.sans.iter().any(|s| s == "DNS:localhost"), "{:?}", c.info.sans);
        assert!(c.info.sans.iter().any(|s| s == "IP:127.0.0.1") && c.info.sans.iter().any(|s| s == "IP:::1"), "{:?}", c.info.sans);
        // 2030-01-01 00:00 UTC to 2040-01-01.
        assert_eq!((c.info.not_before, c.info.not_after), (NOW, 2_208_988_800));
        assert!(g.key.starts_with("-----BEGIN PRIVATE KEY-----\n") && g.cert.lines().all(|l| l.len() <= 64));
        // ECDSA P-256: id-ecPublicKey with prime256v1 in the key info.
        let der = CertificateDer::from_pem_slice(g.cert.as_bytes()).unwrap();
        let spki = x509::parse(&der).unwrap().spki.to_vec();
        let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        assert!(spki.windows(p256.len()).any(|w| w == p256), "prime256v1");
    }
}

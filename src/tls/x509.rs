//! The few X.509 (RFC 5280) fields the appliance shows and checks: subject
//! and issuer (as text and as their DER, for chain order), validity,
//! subject alternative names, serial number and the public key info.
//! Reads, never verifies: signatures are the TLS clients' business.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::der::{self, DerError, Reader, Tlv};

/// subjectAltName (2.5.29.17).
const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];

/// What one certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub subject: String,
    pub issuer: String,
    /// The Names' DER, compared for chain order and self-signedness.
    pub subject_der: &'a [u8],
    pub issuer_der: &'a [u8],
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// `DNS:name`, `IP:address`, `email:…`, `URI:…`.
    pub sans: Vec<String>,
    /// Hex, as openssl prints it (without colons).
    pub serial: String,
    /// The SubjectPublicKeyInfo's DER.
    pub spki: &'a [u8],
}

/// Reads a DER certificate.
pub fn parse(cert: &[u8]) -> Result<Parsed<'_>, DerError> {
    let mut outer = Reader::new(cert);
    let certificate = outer.expect(der::SEQUENCE)?;
    if !outer.is_empty() {
        return Err(DerError::Malformed("certificate (trailing data)"));
    }
    let mut c = certificate.reader();
    let mut tbs = c.expect(der::SEQUENCE)?.reader();
    // version [0] EXPLICIT, optional (v1 certificates leave it out).
    tbs.optional(0xa0)?;
    let serial = tbs.expect(der::INTEGER)?;
    tbs.expect(der::SEQUENCE)?; // signature algorithm
    let issuer = tbs.expect(der::SEQUENCE)?;
    let mut validity = tbs.expect(der::SEQUENCE)?.reader();
    let not_before = der::time(&validity.next()?)?;
    let not_after = der::time(&validity.next()?)?;
    let subject = tbs.expect(der::SEQUENCE)?;
    let spki = tbs.expect(der::SEQUENCE)?;
    let mut sans = Vec::new();
    while !tbs.is_empty() {
        let t = tbs.next()?;
        // [1] issuerUniqueID and [2] subjectUniqueID are skipped; [3] holds the extensions.
        if t.tag == 0xa3 {
            let mut list = t.reader().expect(der::SEQUENCE)?.reader();
            while !list.is_empty() {
                let mut ext = list.expect(der::SEQUENCE)?.reader();
                let oid = ext.expect(der::OID)?;
                ext.optional(der::BOOLEAN)?;
                let value = ext.expect(der::OCTET_STRING)?;
                if oid.body == SAN_OID {
                    sans = alt_names(value.body)?;
                }
            }
        }
    }
    Ok(Parsed {
        subject: name(&subject)?,
        issuer: name(&issuer)?,
        subject_der: subject.raw,
        issuer_der: issuer.raw,
        not_before,
        not_after,
        sans,
        serial: serial.body.iter().skip_while(|b| **b == 0).map(|b| format!("{b:02X}")).collect(),
        spki: spki.raw,
    })
}

/// A Name as `CN=…, O=…` in the order written.
fn name(n: &Tlv<'_>) -> Result<String, DerError> {
    let mut parts = Vec::new();
    let mut rdns = n.reader();
    while !rdns.is_empty() {
        let mut set = rdns.expect(der::SET)?.reader();
        while !set.is_empty() {
            let mut atv = set.expect(der::SEQUENCE)?.reader();
            let oid = der::oid_string(atv.expect(der::OID)?.body)?;
            let value = atv.next()?;
            let label = match oid.as_str() {
                "2.5.4.3" => "CN".to_string(),
                "2.5.4.6" => "C".into(),
                "2.5.4.7" => "L".into(),
                "2.5.4.8" => "ST".into(),
                "2.5.4.10" => "O".into(),
                "2.5.4.11" => "OU".into(),
                "2.5.4.5" => "serialNumber".into(),
                "1.2.840.113549.1.9.1" => "emailAddress".into(),
                other => other.to_string(),
            };
            parts.push(format!("{label}={}", string_value(&value)));
        }
    }
    Ok(parts.join(", "))
}

/// A directory string's text (UTF-8, printable, IA5, BMP; others lossily).
fn string_value(v: &Tlv<'_>) -> String {
    match v.tag {
        // BMPString: UTF-16 big-endian.
        0x1e => {
            let units: Vec<u16> = v.body.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(v.body).into_owned(),
    }
}

/// GeneralNames (RFC 5280 §4.2.1.6) of a subjectAltName extension.
fn alt_names(ext_value: &[u8]) -> Result<Vec<String>, DerError> {
    let mut out = Vec::new();
    let mut names = Reader::new(ext_value).expect(der::SEQUENCE)?.reader();
    while !names.is_empty() {
        let n = names.next()?;
        let text = String::from_utf8_lossy(n.body);
        match n.tag {
            0x81 => out.push(format!("email:{text}")),
            0x82 => out.push(format!("DNS:{text}")),
            0x86 => out.push(format!("URI:{text}")),
            0x87 => match n.body.len() {
                4 => out.push(format!("IP:{}", Ipv4Addr::new(n.body[0], n.body[1], n.body[2], n.body[3]))),
                16 => {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(n.body);
                    out.push(format!("IP:{}", Ipv6Addr::from(b)));
                }
                _ => return Err(DerError::Malformed("IP address in subjectAltName")),
            },
            // otherName, x400Address, directoryName, ediPartyName, registeredID.
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    use super::*;

    const LOCALHOST: &[u8] = include_bytes!("../../tests/tls/localhost.pem");
    const CA: &[u8] = include_bytes!("../../tests/tls/ca.pem");

    #[test]
    fn reads_the_test_certificates() {
        let leaf = CertificateDer::from_pem_slice(LOCALHOST).unwrap();
        let ca = CertificateDer::from_pem_slice(CA).unwrap();
        let p = parse(&leaf).unwrap();
        assert_eq!(p.subject, "CN=localhost");
        assert_eq!(p.issuer, "CN=switchboard test CA");
        assert_eq!(p.sans, ["DNS:localhost"]);
        assert_eq!((p.not_before, p.not_after), (1_795_719_192, 4_949_319_192));
        assert!(p.serial.starts_with("760CD074"), "{}", p.serial);
        let c = parse(&ca).unwrap();
        assert_eq!(c.subject_der, p.issuer_der, "the CA issued the leaf");
        assert_eq!(c.subject_der, c.issuer_der, "the CA is self-signed");
        assert_ne!(p.subject_der, p.issuer_der);
        assert_eq!(p.spki.first(), Some(&der::SEQUENCE));
    }

    #[test]
    fn damaged_certificates_are_errors_not_panics() {
        let leaf = CertificateDer::from_pem_slice(LOCALHOST).unwrap();
        let bytes: &[u8] = &leaf;
        for cut in [0, 1, 4, 10, 50, 200, bytes.len() - 1] {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert!(parse(&trailing).is_err());
        // Flip every byte once: whatever comes out, nothing panics.
        for i in 0..bytes.len() {
            let mut m = bytes.to_vec();
            m[i] ^= 0xff;
            let _ = parse(&m);
        }
    }
}

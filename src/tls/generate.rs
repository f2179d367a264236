//! The self-signed certificate made at first start and by "regenerate":
//! ECDSA P-256 with SHA-256, ten years from today, for the host name,
//! `localhost`, 127.0.0.1, ::1 and the machine's other addresses, usable
//! for TLS servers only (digitalSignature, serverAuth). Through rcgen on
//! ring; PEM is written here (rcgen's `pem` feature is left out).

use std::net::IpAddr;

use base64::Engine;
use rand::RngCore;
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber};

use super::{host, TlsError};

/// How long a generated certificate is valid.
pub const VALID_YEARS: i32 = 10;

/// A certificate and its key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct PemPair {
    pub cert: String,
    pub key: String,
}

/// A new self-signed certificate valid from today (`now`, Unix seconds,
/// at 00:00 UTC) for ten years.
pub fn self_signed(now: i64) -> Result<PemPair, TlsError> {
    let err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let host = host::host_name().filter(|h| h != "localhost");
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, host.clone().unwrap_or_else(|| "switchboard".into()));
    dn.push(DnType::OrganizationName, "switchboard appliance (self-signed)");
    params.distinguished_name = dn;
    let mut names: Vec<SanType> = Vec::new();
    for dns in host.iter().map(String::as_str).chain(["localhost"]) {
        names.push(SanType::DnsName(dns.try_into().map_err(err)?));
    }
    let mut ips: Vec<IpAddr> = vec![IpAddr::from([127, 0, 0, 1]), IpAddr::from(std::net::Ipv6Addr::LOCALHOST)];
    for a in host::addresses() {
        if !ips.contains(&a) {
            ips.push(a);
        }
    }
    names.extend(ips.into_iter().map(SanType::IpAddress));
    params.subject_alt_names = names;
    let (y, m, d) = utc_date(now);
    if !(1970..=9000).contains(&y) {
        return Err(TlsError::Generate(format!("the system clock says year {y}")));
    }
    params.not_before = rcgen::date_time_ymd(y, m, d);
    // 28 February when the 29th does not exist that year.
    params.not_after = rcgen::date_time_ymd(y + VALID_YEARS, m, if m == 2 && d == 29 { 28 } else { d });
    // 16 random bytes, positive (RFC 5280 §4.1.2.2).
    let mut serial = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let cert = params.self_signed(&key).map_err(err)?;
    Ok(PemPair { cert: pem("CERTIFICATE", cert.der()), key: pem("PRIVATE KEY", &key.serialize_der()) })
}

/// The UTC calendar date of Unix time `now` (year, month 1-12, day 1-31).
fn utc_date(now: i64) -> (i32, u8, u8) {
    let date = jiff::Timestamp::from_second(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH).to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    // jiff's ranges: month 1..=12, day 1..=31, so the casts are exact.
    (i32::from(date.year()), date.month() as u8, date.day() as u8)
}

/// One PEM block (RFC 7468): base64 in lines of 64.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

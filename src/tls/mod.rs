//! The appliance's server certificate: generation, loading, validation and
//! hot replacement. One certificate (with its chain) and key serve every
//! TLS listener; they live in `<data>/tls/server.pem` and `server.key`
//! (mode 0600). At start a missing pair is generated self-signed
//! (`generate`); a pair that no longer reads is moved aside and replaced
//! the same way, so the appliance always starts. [`ServerCert`] is the
//! rustls certificate resolver: a replacement (`replace`, `regenerate`) is
//! checked first (`chain`), written, then served to new connections
//! without a restart. Must not know SIP or HTTP: the listeners ask for a
//! `rustls::ServerConfig` and bring their own ALPN.

mod chain;
mod der;
mod files;
mod generate;
mod host;
mod x509;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub use chain::fingerprint;
pub use generate::VALID_YEARS;

/// The certificate chain file in the TLS folder.
pub const CERT_FILE: &str = "server.pem";
/// The private key file in the TLS folder (mode 0600).
pub const KEY_FILE: &str = "server.key";

/// Why a certificate or key was refused, or could not be made or stored.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("no certificate found: paste the PEM text starting with -----BEGIN CERTIFICATE-----")]
    NoCertificate,
    #[error("no private key found: paste the PEM text starting with -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY)")]
    NoKey,
    #[error("the {what} is not valid PEM: {reason}")]
    Pem { what: &'static str, reason: String },
    #[error("the private key is encrypted: remove its passphrase first (openssl pkey -in KEY -out PLAIN.key)")]
    EncryptedKey,
    #[error("the private key cannot be used: {0}")]
    BadKey(String),
    #[error("certificate {index} of the chain cannot be read: {reason}")]
    BadCertificate { index: usize, reason: String },
    #[error("the private key does not belong to the certificate (their public keys differ)")]
    KeyMismatch,
    #[error("certificate {index} ({subject}) expired on {at}")]
    Expired { index: usize, subject: String, at: String },
    #[error("certificate {index} ({subject}) is not valid before {at}")]
    NotYetValid { index: usize, subject: String, at: String },
    #[error("the chain is out of order: certificate {index} should be the issuer of the one before it ({issuer}), but is {found}; put the server certificate first, then each issuer")]
    ChainOrder { index: usize, issuer: String, found: String },
    #[error("the chain has {0} certificates; at most {1} are accepted")]
    ChainTooLong(usize, usize),
    #[error("generating a certificate failed: {0}")]
    Generate(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("TLS setup: {0}")]
    Setup(String),
}

/// What the served certificate says (the leaf's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// `DNS:name`, `IP:address`, ...
    pub sans: Vec<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Hex.
    pub serial: String,
    /// Of the leaf's DER, `AB:CD:…`.
    pub fingerprint_sha256: String,
    /// Subject and issuer are the same name.
    pub self_signed: bool,
    /// Certificates served: the leaf and its intermediates.
    pub chain_len: usize,
}

impl CertInfo {
    /// Unix seconds as an RFC 3339 UTC time, `2036-11-27T00:00:00Z`.
    pub fn date(unix: i64) -> String {
        jiff::Timestamp::from_second(unix).map(|t| t.to_string()).unwrap_or_else(|_| unix.to_string())
    }

    pub fn expired(&self, now: i64) -> bool {
        self.not_after < now
    }
}

/// What [`ServerCert::open`] did with the files it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// There were none: a self-signed certificate was made.
    Generated,
    /// The files were read and serve as they are.
    Loaded,
    /// The files did not read (the reason): they were renamed to
    /// `*.invalid` and a self-signed certificate was made.
    Replaced(String),
}

struct Current {
    key: Arc<CertifiedKey>,
    info: CertInfo,
}

/// The served certificate, swappable while connections come and go.
pub struct ServerCert {
    dir: PathBuf,
    current: RwLock<Arc<Current>>,
    /// One replacement at a time (check, write, swap).
    writes: Mutex<()>,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert").field("dir", &self.dir).field("fingerprint", &self.info().fingerprint_sha256).finish()
    }
}

impl ServerCert {
    /// Loads the pair in `dir` (created 0700 if needed), generating one
    /// when there is none or it does not read. Blocking file I/O.
    pub fn open(dir: &Path) -> Result<(Arc<ServerCert>, Opened), TlsError> {
        files::ensure_dir(dir)?;
        let now = crate::store::unix_time();
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        let (opened, checked) = match files::read_pair(&cert_path, &key_path)? {
            None => (Opened::Generated, new_self_signed(dir, now)?),
            Some((cert, key)) => match chain::check(&cert, &key, now, chain::Dates::Report) {
                Ok(c) => {
                    files::restrict_key(&key_path)?;
                    (Opened::Loaded, c)
                }
                Err(e) => {
                    tracing::error!("TLS certificate in {} not usable: {e}; moving it aside and generating a new one", dir.display());
                    files::move_aside(&cert_path)?;
                    files::move_aside(&key_path)?;
                    (Opened::Replaced(e.to_string()), new_self_signed(dir, now)?)
                }
            },
        };
        let info = checked.info.clone();
        let action = match &opened {
            Opened::Loaded => "loaded",
            _ => "generated",
        };
        tracing::info!(subject = %info.subject, not_after = %CertInfo::date(info.not_after), "TLS certificate {action}, SHA-256 fingerprint {}", info.fingerprint_sha256);
        if info.expired(now) {
            tracing::warn!("the TLS certificate expired on {}: replace it on the console's settings page", CertInfo::date(info.not_after));
        }
        let cert = ServerCert { dir: dir.to_path_buf(), current: RwLock::new(Arc::new(Current { key: checked.key, info: checked.info })), writes: Mutex::new(()) };
        Ok((Arc::new(cert), opened))
    }

    /// The folder holding the pair.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn current(&self) -> Arc<Current> {
        // A poisoned lock still holds a complete pair (it is only ever replaced whole).
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the served certificate says.
    pub fn info(&self) -> CertInfo {
        self.current().info.clone()
    }

    /// Checks `cert_pem` (leaf first, then intermediates) and `key_pem`,
    /// stores them and serves them to new connections. Blocking file I/O.
    pub fn replace(&self, cert_pem: &str, key_pem: &str) -> Result<CertInfo, TlsError> {
        let _one = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let checked = chain::check(cert_pem, key_pem, crate::store::unix_time(), chain::Dates::Enforce)?;
        files::write_pair(&self.dir, cert_pem, key_pem)?;
        tracing::info!(subject = %checked.info.subject, "TLS certificate replaced, SHA-256 fingerprint {}", checked.info.fingerprint_sha256);
        Ok(self.swap(checked))
    }

    /// Replaces the pair with a new self-signed one. Blocking file I/O.
    pub fn regenerate(&self) -> Result<CertInfo, TlsError> {
        let _one = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let checked = new_self_signed(&self.dir, crate::store::unix_time())?;
        tracing::info!("TLS certificate regenerated (self-signed), SHA-256 fingerprint {}", checked.info.fingerprint_sha256);
        Ok(self.swap(checked))
    }

    fn swap(&self, checked: chain::Checked) -> CertInfo {
        let info = checked.info.clone();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Current { key: checked.key, info: checked.info });
        info
    }

    /// A TLS server configuration (TLS 1.2 and 1.3, ring, no client
    /// certificates) serving this certificate, offering `alpn`.
    pub fn server_config(self: &Arc<Self>, alpn: &[&[u8]]) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current().key.clone())
    }
}

/// Generates, writes and checks a self-signed pair.
fn new_self_signed(dir: &Path, now: i64) -> Result<chain::Checked, TlsError> {
    let pair = generate::self_signed(now)?;
    let checked = chain::check(&pair.cert, &pair.key, now, chain::Dates::Enforce)?;
    files::write_pair(dir, &pair.cert, &pair.key)?;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn first_open_generates_then_loads_and_replacements_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("tls");
        let (cert, opened) = ServerCert::open(&tls).unwrap();
        assert_eq!(opened, Opened::Generated);
        let first = cert.info();
        assert!(first.self_signed && first.sans.iter().any(|s| s == "DNS:localhost"));
        let mode = |f: &str| std::fs::metadata(tls.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(KEY_FILE), 0o600);
        assert_eq!(std::fs::metadata(&tls).unwrap().permissions().mode() & 0o777, 0o700);

        let (again, opened) = ServerCert::open(&tls).unwrap();
        assert_eq!((opened, again.info()), (Opened::Loaded, first.clone()), "the same pair is read back");

        let leaf = include_str!("../../tests/tls/localhost.pem");
        let key = include_str!("../../tests/tls/localhost.key");
        let other_key = std::fs::read_to_string(tls.join(KEY_FILE)).unwrap();
        assert!(matches!(cert.replace(leaf, &other_key), Err(TlsError::KeyMismatch)));
        assert_eq!(cert.info(), first, "a refused pair changes nothing");
        let info = cert.replace(leaf, key).unwrap();
        assert_eq!((info.subject.as_str(), info.self_signed), ("CN=localhost", false));
        assert_eq!(std::fs::read_to_string(tls.join(CERT_FILE)).unwrap(), leaf);
        assert_eq!(mode(KEY_FILE), 0o600);
        let served = cert.resolve_for_test();
        assert_eq!(fingerprint(&served.cert[0]), info.fingerprint_sha256, "new connections get the new pair");

        let regenerated = cert.regenerate().unwrap();
        assert!(regenerated.self_signed && regenerated.fingerprint_sha256 != first.fingerprint_sha256);
    }

    #[test]
    fn unreadable_files_are_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CERT_FILE), "not a certificate").unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let (cert, opened) = ServerCert::open(dir.path()).unwrap();
        assert!(matches!(&opened, Opened::Replaced(why) if why.contains("no certificate")), "{opened:?}");
        assert_eq!(std::fs::read_to_string(dir.path().join("server.pem.invalid")).unwrap(), "not a certificate");
        assert!(cert.info().self_signed);
    }

    impl ServerCert {
        fn resolve_for_test(&self) -> Arc<CertifiedKey> {
            self.current().key.clone()
        }
    }
}

//! TLS clients for the tests of the console's HTTPS and of SIP over TLS:
//! rustls (ring) trusting exactly the roots a test gives, so a handshake
//! proves which certificate the appliance serves. Blocking, one
//! connection per call.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::http::{parse_response, request_head, Resp};

pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// Every certificate of a PEM file.
pub fn pem_certs(path: &Path) -> Vec<CertificateDer<'static>> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    CertificateDer::pem_slice_iter(&text).collect::<Result<Vec<_>, _>>().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config(roots: &[CertificateDer<'static>]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).expect("a usable root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let c = ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().expect("protocol versions").with_root_certificates(store).with_no_client_auth();
    Arc::new(c)
}

/// A TLS connection to 127.0.0.1:`port` verified against `roots` for
/// `name` (a DNS name or an IP address), handshake done; the error is
/// rustls' (an untrusted certificate, a wrong name, ...).
pub fn connect(port: u16, roots: &[CertificateDer<'static>], name: &str) -> Result<TlsStream, String> {
    let server = ServerName::try_from(name.to_string()).map_err(|e| format!("{name}: {e}"))?;
    let conn = ClientConnection::new(config(roots), server).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect {port}: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(20))).map_err(|e| e.to_string())?;
    let mut s = StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// The certificate chain the server presented on `s`.
pub fn presented(s: &TlsStream) -> Vec<CertificateDer<'static>> {
    s.conn.peer_certificates().map(|c| c.iter().map(|c| c.clone().into_owned()).collect()).unwrap_or_default()
}

/// One HTTPS request (`Connection: close`) trusting `roots` for `name`:
/// the answer and the chain the server presented.
pub fn https(port: u16, roots: &[CertificateDer<'static>], name: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<(Resp, Vec<CertificateDer<'static>>), String> {
    let mut s = connect(port, roots, name)?;
    let chain = presented(&s);
    let head = request_head(&format!("{name}:{port}"), method, path, headers, body.len());
    s.write_all(head.as_bytes()).and_then(|_| s.write_all(body)).and_then(|_| s.flush()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    // The server closes after answering; an unclean close still leaves the answer read.
    let _ = s.read_to_end(&mut raw);
    Ok((parse_response(&raw), chain))
}

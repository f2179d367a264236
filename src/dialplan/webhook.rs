//! The HTTP client behind the `http` app: the call driver hands it the
//! interpreter's [`HttpRequest`] and feeds the result back as
//! `Event::Http`. Owns the wire format of webhooks (JSON body / query
//! string, response flattening, limits); knows nothing about calls.
//!
//! Built on hyper 1's low-level HTTP/1 client (`hyper::client::conn`), which
//! the tree already compiles for axum: one connection per request, no pool
//! (a webhook per IVR step is rare). `https://` runs the same exchange over
//! rustls (ring provider, the Mozilla roots of `webpki-roots`, SNI = the
//! URL's host, ALPN `http/1.1`): the TLS stack lettre already brings, so
//! hosted CRMs work without a second TLS library. Roots are compiled in, not
//! read from the host, for the same reason the tz database is: behaviour must
//! not depend on what the appliance image happens to ship.
//!
//! Everything the server sends is input: a non-2xx status, a body over
//! [`MAX_BODY`], a body that is not a JSON object, or the timeout are all
//! `Err(message)`, never a panic.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use super::interp::{HttpMethod, HttpRequest};

/// Response bodies larger than this are an error (a webhook answers a few
/// fields; a huge body is a misconfigured URL).
pub const MAX_BODY: usize = 64 * 1024;
/// At most this many variables are taken from a response.
pub const MAX_FIELDS: usize = 64;

#[derive(Debug, thiserror::Error)]
enum WebhookError {
    #[error("bad url {0:?} (expected http[s]://host[:port]/path)")]
    Url(String),
    #[error("connect {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("tls setup: {0}")]
    TlsSetup(rustls::Error),
    #[error("tls setup: extra root certificate {0} is not usable: {1:?}")]
    BadRoot(usize, rustls::Error),
    #[error("tls: {0:?} is not a valid server name")]
    TlsName(String),
    /// Handshake failures, certificate verification included: rustls'
    /// words (e.g. "certificate not valid for name ...") plus a hint where
    /// rustls' are terse; see [`tls_failure`].
    #[error("tls handshake with {0}: {1}")]
    Tls(String, String),
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("building request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("status {0}")]
    Status(u16),
    #[error("response body over {MAX_BODY} bytes")]
    TooLarge,
    #[error("response is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("response JSON is not an object")]
    NotObject,
}

/// Where a webhook URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query, never empty (`/` at least).
    path: String,
}

/// `http[s]://host[:port]/path?query` -> [`Target`] (port 80 or 443 by
/// default).
fn split_url(url: &str) -> Option<Target> {
    let (tls, rest) = match url.strip_prefix("https://") {
        Some(r) => (true, r),
        None => (false, url.strip_prefix("http://")?),
    };
    let default_port = if tls { 443 } else { 80 };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, p.parse().ok()?),
        _ => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(Target { tls, host: host.to_string(), port, path })
}

/// RFC 3986 percent-encoding of a query component.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k2=v2` of the request variables (GET).
pub fn query_string(vars: &BTreeMap<String, String>) -> String {
    vars.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Top-level scalars of a JSON object as strings: strings as-is, numbers
/// and booleans in JSON notation, null as "". Nested objects and arrays are
/// skipped (a variable holds one value).
pub fn flatten(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    flatten_inner(body).map_err(|e| e.to_string())
}

fn flatten_inner(body: &[u8]) -> Result<BTreeMap<String, String>, WebhookError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(WebhookError::NotJson)?;
    let serde_json::Value::Object(obj) = v else { return Err(WebhookError::NotObject) };
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let s = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => String::new(),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => continue,
        };
        if out.len() == MAX_FIELDS {
            break;
        }
        out.insert(k, s);
    }
    Ok(out)
}

/// Performs the webhook within `req.timeout_ms` (connect, TLS handshake,
/// send and read included) and returns the response's top-level scalars.
/// `https://` servers must present a certificate for the URL's host that
/// chains to a `webpki-roots` (Mozilla) root.
pub async fn call(req: &HttpRequest) -> Result<BTreeMap<String, String>, String> {
    call_with(req, None).await
}

/// [`call`], also trusting `extra_roots` (DER certificates) for
/// `https://`: for a CRM behind an in-house CA, and for tests with a
/// throwaway CA. The Mozilla roots stay trusted.
pub async fn call_with_roots(req: &HttpRequest, extra_roots: &[CertificateDer<'static>]) -> Result<BTreeMap<String, String>, String> {
    call_with(req, Some(extra_roots)).await
}

async fn call_with(req: &HttpRequest, extra_roots: Option<&[CertificateDer<'static>]>) -> Result<BTreeMap<String, String>, String> {
    let limit = Duration::from_millis(req.timeout_ms.max(1));
    match tokio::time::timeout(limit, call_inner(req, extra_roots)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(WebhookError::Timeout(req.timeout_ms).to_string()),
    }
}

/// rustls client config: ring, TLS 1.2 and 1.3, webpki roots plus
/// `extra_roots`, ALPN `http/1.1` (the only protocol this client speaks).
fn tls_config(extra_roots: &[CertificateDer<'static>]) -> Result<Arc<rustls::ClientConfig>, WebhookError> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for (i, cert) in extra_roots.iter().enumerate() {
        roots.add(cert.clone()).map_err(|e| WebhookError::BadRoot(i + 1, e))?;
    }
    // The provider is named, not taken from the process default: that
    // default is whatever another crate installed first (or none).
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(WebhookError::TlsSetup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The config for plain [`call`], built once: it also carries the session
/// cache, so repeated webhooks to one CRM resume instead of a full handshake.
fn default_tls_config() -> Result<Arc<rustls::ClientConfig>, WebhookError> {
    static DEFAULT: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(c) = DEFAULT.get() {
        return Ok(c.clone());
    }
    let c = tls_config(&[])?;
    Ok(DEFAULT.get_or_init(|| c).clone())
}

async fn call_inner(req: &HttpRequest, extra_roots: Option<&[CertificateDer<'static>]>) -> Result<BTreeMap<String, String>, WebhookError> {
    let target = split_url(&req.url).ok_or_else(|| WebhookError::Url(req.url.clone()))?;
    let addr = format!("{}:{}", target.host, target.port);
    let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port)).await.map_err(|e| WebhookError::Connect(addr.clone(), e))?;
    if !target.tls {
        return exchange(stream, req, target).await;
    }
    let config = match extra_roots {
        Some(extra) => tls_config(extra)?,
        None => default_tls_config()?,
    };
    // An IP literal becomes an IP server name: no SNI is sent for it and
    // the certificate must list the address (rustls' rules).
    let name = ServerName::try_from(target.host.clone()).map_err(|_| WebhookError::TlsName(target.host.clone()))?;
    let tls = tokio_rustls::TlsConnector::from(config).connect(name, stream).await.map_err(|e| WebhookError::Tls(addr, tls_failure(&e)))?;
    exchange(tls, req, target).await
}

/// The handshake error for `${http_error}` and the log. "UnknownIssuer" is
/// what an admin sees for the common mistake of a self-signed or in-house
/// CA certificate on the CRM, so it gets a plain-words hint.
fn tls_failure(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    let hint = match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => " (not issued by a trusted public CA: self-signed or in-house?)",
        _ => "",
    };
    format!("{e}{hint}")
}

/// One HTTP/1.1 request and response over an established stream.
async fn exchange<S>(stream: S, req: &HttpRequest, target: Target) -> Result<BTreeMap<String, String>, WebhookError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Target { tls, host, port, mut path } = target;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection future does the IO; it ends when the response is read
    // or the sender is dropped. Aborted on every exit path via the guard.
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    struct Abort(tokio::task::JoinHandle<()>);
    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _guard = Abort(conn);

    let default_port = if tls { 443 } else { 80 };
    // An IPv6 literal goes back in brackets.
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    let host_header = if port == default_port { host } else { format!("{host}:{port}") };
    let builder = hyper::Request::builder().header(hyper::header::HOST, host_header).header(hyper::header::ACCEPT, "application/json");
    let request = match req.method {
        HttpMethod::Get => {
            if !req.vars.is_empty() {
                path.push(if path.contains('?') { '&' } else { '?' });
                path.push_str(&query_string(&req.vars));
            }
            builder.method(hyper::Method::GET).uri(path).body(Full::new(Bytes::new()))?
        }
        HttpMethod::Post => {
            let body = serde_json::to_vec(&req.vars).unwrap_or_else(|_| b"{}".to_vec());
            builder
                .method(hyper::Method::POST)
                .uri(path)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))?
        }
    };
    let resp = sender.send_request(request).await?;
    let status = resp.status();
    if !status.is_success() {
        return Err(WebhookError::Status(status.as_u16()));
    }
    let body = Limited::new(resp.into_body(), MAX_BODY).collect().await.map_err(|e| match e.downcast::<hyper::Error>() {
        Ok(h) => WebhookError::Http(*h),
        Err(_) => WebhookError::TooLarge,
    })?;
    flatten_inner(&body.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};

    #[test]
    fn url_splitting() {
        let t = |tls: bool, host: &str, port: u16, path: &str| Some(Target { tls, host: host.into(), port, path: path.into() });
        assert_eq!(split_url("http://crm.lan/api/x?a=1"), t(false, "crm.lan", 80, "/api/x?a=1"));
        assert_eq!(split_url("http://127.0.0.1:8080"), t(false, "127.0.0.1", 8080, "/"));
        assert_eq!(split_url("http://h:1?q"), t(false, "h", 1, "/?q"));
        assert_eq!(split_url("http://[::1]:81/p"), t(false, "::1", 81, "/p"));
        assert_eq!(split_url("https://crm.example.com/hook"), t(true, "crm.example.com", 443, "/hook"));
        assert_eq!(split_url("https://h:8443"), t(true, "h", 8443, "/"));
        assert_eq!(split_url("http://h:99999/"), None);
        assert_eq!(split_url("https:///x"), None);
        assert_eq!(split_url("HTTPS://h/"), None);
        assert_eq!(split_url("http:///x"), None);
        assert_eq!(split_url("http://u:p@h/"), None);
    }

    #[test]
    fn flattening_and_encoding() {
        let m = flatten(br#"{"balance": 42.17, "name": "Ann", "vip": true, "x": null, "list": [1], "o": {"a": 1}}"#).unwrap();
        assert_eq!(m.get("balance").map(String::as_str), Some("42.17"));
        assert_eq!(m.get("name").map(String::as_str), Some("Ann"));
        assert_eq!(m.get("vip").map(String::as_str), Some("true"));
        assert_eq!(m.get("x").map(String::as_str), Some(""));
        assert_eq!(m.len(), 4);
        assert!(flatten(b"[1,2]").unwrap_err().contains("not an object"));
        assert!(flatten(b"<html>").unwrap_err().contains("not JSON"));
        let vars = BTreeMap::from([("a b".to_string(), "x&y=é".to_string())]);
        assert_eq!(query_string(&vars), "a%20b=x%26y%3D%C3%A9");
    }

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    fn req(method: HttpMethod, url: String, timeout_ms: u64) -> HttpRequest {
        let vars = BTreeMap::from([("account".to_string(), "1234".to_string()), ("caller".to_string(), "+1 555".to_string())]);
        HttpRequest { method, url, vars, timeout_ms }
    }

    #[tokio::test]
    async fn post_get_errors_and_timeout() {
        let app = axum::Router::new()
            .route(
                "/balance",
                post(|body: String| async move {
                    // Echo what was sent so the test sees the JSON body.
                    let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let acct = sent["account"].as_str().unwrap_or("?").to_string();
                    format!(r#"{{"balance": "42.17", "account": "{acct}", "n": 3}}"#)
                }),
            )
            .route("/q", get(|q: axum::extract::RawQuery| async move { format!(r#"{{"query": {:?}}}"#, q.0.unwrap_or_default()) }))
            .route("/fail", post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "{}") }))
            .route("/html", post(|| async { "<html>oops</html>" }))
            .route("/big", post(|| async { format!(r#"{{"a": "{}"}}"#, "x".repeat(MAX_BODY)) }))
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "{}"
                }),
            );
        let base = serve(app).await;

        let ok = call(&req(HttpMethod::Post, format!("{base}/balance"), 2000)).await.unwrap();
        assert_eq!(ok.get("balance").map(String::as_str), Some("42.17"));
        assert_eq!(ok.get("account").map(String::as_str), Some("1234"));
        assert_eq!(ok.get("n").map(String::as_str), Some("3"));

        let q = call(&req(HttpMethod::Get, format!("{base}/q?x=1"), 2000)).await.unwrap();
        assert_eq!(q.get("query").map(String::as_str), Some("x=1&account=1234&caller=%2B1%20555"));

        let e = call(&req(HttpMethod::Post, format!("{base}/fail"), 2000)).await.unwrap_err();
        assert_eq!(e, "status 500");
        let e = call(&req(HttpMethod::Post, format!("{base}/html"), 2000)).await.unwrap_err();
        assert!(e.contains("not JSON"), "{e}");
        let e = call(&req(HttpMethod::Post, format!("{base}/big"), 2000)).await.unwrap_err();
        assert!(e.contains("over 65536 bytes"), "{e}");

        let started = std::time::Instant::now();
        let e = call(&req(HttpMethod::Post, format!("{base}/slow"), 200)).await.unwrap_err();
        assert_eq!(e, "timed out after 200 ms");
        assert!(started.elapsed() < Duration::from_secs(2));

        let e = call(&req(HttpMethod::Post, "http://127.0.0.1:1/x".into(), 2000)).await.unwrap_err();
        assert!(e.starts_with("connect 127.0.0.1:1"), "{e}");
        let e = call(&req(HttpMethod::Post, "ftp://x".into(), 2000)).await.unwrap_err();
        assert!(e.starts_with("bad url"), "{e}");
    }

    // --- https: a local TLS server with a throwaway CA (tests/tls/). ---

    const CA: &str = include_str!("../../tests/tls/ca.pem");
    const LEAF: &str = include_str!("../../tests/tls/localhost.pem");
    const LEAF_KEY: &str = include_str!("../../tests/tls/localhost.key");

    fn test_ca() -> Vec<CertificateDer<'static>> {
        use rustls::pki_types::pem::PemObject;
        vec![CertificateDer::from_pem_slice(CA.as_bytes()).unwrap()]
    }

    /// A TLS server for `localhost` only, answering each request with JSON
    /// that reports what it saw: SNI, ALPN, request line, Host and body.
    async fn serve_tls() -> u16 {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::PrivateKeyDer;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let chain = vec![CertificateDer::from_pem_slice(LEAF.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(LEAF_KEY.as_bytes()).unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake (the wrong-name test) just ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let sni = tls.get_ref().1.server_name().unwrap_or("").to_string();
                    let alpn = String::from_utf8_lossy(tls.get_ref().1.alpn_protocol().unwrap_or(b"")).to_string();
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let header = |name: &str| {
                        head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
                    };
                    let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    while buf.len() < head_end + len {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
                    let json = serde_json::json!({
                        "sni": sni,
                        "alpn": alpn,
                        "line": head.lines().next().unwrap_or(""),
                        "host": header("host").unwrap_or_default(),
                        "body": body,
                    })
                    .to_string();
                    let resp = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}", json.len());
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn https_post_and_get_over_tls() {
        let port = serve_tls().await;
        let roots = test_ca();

        let ok = call_with_roots(&req(HttpMethod::Post, format!("https://localhost:{port}/hook"), 5000), &roots).await.unwrap();
        assert_eq!(ok.get("sni").map(String::as_str), Some("localhost"));
        assert_eq!(ok.get("alpn").map(String::as_str), Some("http/1.1"));
        assert_eq!(ok.get("line").map(String::as_str), Some("POST /hook HTTP/1.1"));
        assert_eq!(ok.get("host").map(String::as_str), Some(format!("localhost:{port}").as_str()));
        assert_eq!(ok.get("body").map(String::as_str), Some(r#"{"account":"1234","caller":"+1 555"}"#));

        let q = call_with_roots(&req(HttpMethod::Get, format!("https://localhost:{port}/q?x=1"), 5000), &roots).await.unwrap();
        assert_eq!(q.get("line").map(String::as_str), Some("GET /q?x=1&account=1234&caller=%2B1%20555 HTTP/1.1"));
    }

    #[tokio::test]
    async fn https_rejects_wrong_name_and_unknown_ca() {
        let port = serve_tls().await;
        let roots = test_ca();

        // The certificate is for "localhost" only; 127.0.0.1 is the same
        // server under a name the certificate does not cover.
        let e = call_with_roots(&req(HttpMethod::Post, format!("https://127.0.0.1:{port}/hook"), 5000), &roots).await.unwrap_err();
        assert!(e.starts_with(&format!("tls handshake with 127.0.0.1:{port}: ")), "{e}");
        assert!(e.contains("certificate not valid for name \"127.0.0.1\""), "{e}");

        // Without the test CA, only the Mozilla roots are trusted.
        let e = call(&req(HttpMethod::Post, format!("https://localhost:{port}/hook"), 5000)).await.unwrap_err();
        assert!(e.starts_with(&format!("tls handshake with localhost:{port}: ")), "{e}");
        assert!(e.ends_with("UnknownIssuer (not issued by a trusted public CA: self-signed or in-house?)"), "{e}");

        // https to a plain-http server fails the handshake, within the timeout.
        let base = serve(axum::Router::new().route("/x", post(|| async { "{}" }))).await;
        let plain = base.replacen("http://", "https://", 1);
        let e = call(&req(HttpMethod::Post, format!("{plain}/x"), 2000)).await.unwrap_err();
        assert!(e.starts_with("tls handshake with 127.0.0.1:"), "{e}");
        // A garbage extra root is a setup error, not a panic.
        let e = call_with_roots(&req(HttpMethod::Post, format!("https://localhost:{port}/hook"), 2000), &[CertificateDer::from(vec![1u8, 2, 3])]).await.unwrap_err();
        assert!(e.starts_with("tls setup: extra root certificate 1 is not usable: "), "{e}");
    }
}

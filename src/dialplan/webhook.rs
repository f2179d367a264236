//! The HTTP client behind the `http` app: the call driver hands it the
//! interpreter's [`HttpRequest`] and feeds the result back as
//! `Event::Http`. Owns the wire format of webhooks (JSON body / query
//! string, response flattening, limits); knows nothing about calls.
//!
//! Built on hyper 1's low-level HTTP/1 client (`hyper::client::conn`), which
//! the tree already compiles for axum: one connection per request, no pool
//! (a webhook per IVR step is rare), plain `http://` only (no TLS stack on
//! the appliance; webhooks go to CRM services on the LAN).
//!
//! Everything the server sends is input: a non-2xx status, a body over
//! [`MAX_BODY`], a body that is not a JSON object, or the timeout are all
//! `Err(message)`, never a panic.

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::interp::{HttpMethod, HttpRequest};

/// Response bodies larger than this are an error (a webhook answers a few
/// fields; a huge body is a misconfigured URL).
pub const MAX_BODY: usize = 64 * 1024;
/// At most this many variables are taken from a response.
pub const MAX_FIELDS: usize = 64;

#[derive(Debug, thiserror::Error)]
enum WebhookError {
    #[error("bad url {0:?} (expected http://host[:port]/path)")]
    Url(String),
    #[error("connect {0}: {1}")]
    Connect(String, std::io::Error),
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

/// `http://host[:port]/path?query` -> (host, port, path-and-query).
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
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
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some((host.to_string(), port, path))
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

/// Performs the webhook within `req.timeout_ms` (connect, send and read
/// included) and returns the response's top-level scalars.
pub async fn call(req: &HttpRequest) -> Result<BTreeMap<String, String>, String> {
    let limit = Duration::from_millis(req.timeout_ms.max(1));
    match tokio::time::timeout(limit, call_inner(req)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(WebhookError::Timeout(req.timeout_ms).to_string()),
    }
}

async fn call_inner(req: &HttpRequest) -> Result<BTreeMap<String, String>, WebhookError> {
    let (host, port, mut path) = split_url(&req.url).ok_or_else(|| WebhookError::Url(req.url.clone()))?;
    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| WebhookError::Connect(format!("{host}:{port}"), e))?;
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

    let host_header = if port == 80 { host.clone() } else { format!("{host}:{port}") };
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
        assert_eq!(split_url("http://crm.lan/api/x?a=1"), Some(("crm.lan".into(), 80, "/api/x?a=1".into())));
        assert_eq!(split_url("http://127.0.0.1:8080"), Some(("127.0.0.1".into(), 8080, "/".into())));
        assert_eq!(split_url("http://h:1?q"), Some(("h".into(), 1, "/?q".into())));
        assert_eq!(split_url("http://[::1]:81/p"), Some(("::1".into(), 81, "/p".into())));
        assert_eq!(split_url("http://h:99999/"), None);
        assert_eq!(split_url("https://h/"), None);
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
}

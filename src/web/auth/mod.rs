//! Console authentication and authorization: the session cookie (named and
//! flagged by the listener a request came through, see [`Scheme`]), which
//! API scopes a console role carries, the login rate limiter and the CSRF
//! guard.
//! Users, password hashes and sessions themselves live in the store
//! (`store::users`); this module owns only their HTTP side. Must not render
//! pages.

mod csrf;
pub mod limiter;

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::http::{header, HeaderMap, HeaderValue};

use crate::store::{Role, Session, Store};

pub use csrf::csrf_guard;

/// The session cookie over plain HTTP (`[http] listen`).
pub const SESSION_COOKIE: &str = "sb_session";
/// The session cookie over HTTPS (`[http] tls_listen`): the `__Host-`
/// prefix makes browsers insist on `Secure`, `Path=/` and no `Domain`, so
/// a plain-HTTP page cannot set or overwrite it.
pub const SESSION_COOKIE_TLS: &str = "__Host-sb_session";
/// The header `https::mark_scheme` carries a request's listener in. The
/// server sets it on every request and removes any copy a client sent.
const SCHEME_MARK: &str = "x-switchboard-listener";
/// A session ends this long after login, whatever happens.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;
/// ... or after this long without a request.
pub const SESSION_IDLE_SECS: i64 = 2 * 3600;
/// Header htmx and the panel scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field carrying the CSRF token in plain HTML forms.
pub const CSRF_FIELD: &str = "_csrf";

/// Per-server authentication state shared by all requests.
#[derive(Debug, Default)]
pub struct AuthState {
    pub limiter: Mutex<LoginLimiter>,
}

pub use limiter::LoginLimiter;

/// The API scopes a console role carries (same names as API key scopes).
pub fn scopes_for(role: Role) -> Vec<String> {
    let s: &[&str] = match role {
        Role::Admin => &["admin"],
        Role::Supervisor => &["events", "stats", "calls", "fax"],
        // `fax`: agents send faxes and see only the jobs they queued.
        Role::Agent => &["events", "calls", "fax"],
    };
    s.iter().map(|s| s.to_string()).collect()
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The listener a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `[http] listen`, plain HTTP (perhaps behind a TLS-terminating proxy).
    Http,
    /// `[http] tls_listen`: TLS terminated by the appliance itself.
    Https,
}

/// Records `scheme` in the request's headers, replacing whatever a client sent.
pub fn set_scheme(headers: &mut HeaderMap, scheme: Scheme) {
    headers.remove(SCHEME_MARK);
    if scheme == Scheme::Https {
        headers.insert(SCHEME_MARK, HeaderValue::from_static("https"));
    }
}

/// Whether the request came through the appliance's own HTTPS listener.
pub fn direct_tls(headers: &HeaderMap) -> bool {
    headers.get(SCHEME_MARK).is_some_and(|v| v == "https")
}

/// The session cookie's name for this request's listener: a cookie set
/// over HTTPS is read over HTTPS, one set over HTTP over HTTP.
pub fn session_cookie_name(headers: &HeaderMap) -> &'static str {
    if direct_tls(headers) {
        SESSION_COOKIE_TLS
    } else {
        SESSION_COOKIE
    }
}

/// The session token the request's cookie carries.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, session_cookie_name(headers))
}

/// The live session behind the request's cookie, if any.
pub async fn session(store: &Store, headers: &HeaderMap) -> Option<Session> {
    let token = session_token(headers)?;
    match store.session(&token, crate::store::unix_time(), SESSION_IDLE_SECS).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("session lookup failed: {e}");
            None
        }
    }
}

/// Whether the browser reached us over HTTPS (directly or through a
/// reverse proxy that says so): only then may the cookie be `Secure`,
/// or a console on plain HTTP in a LAN could never log in.
pub fn over_https(headers: &HeaderMap) -> bool {
    direct_tls(headers) || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for a new session: HttpOnly (no script can read it),
/// SameSite=Strict (no other site's page can send it), Secure over HTTPS,
/// and named `__Host-sb_session` over the appliance's own HTTPS.
pub fn session_cookie(token: &str, headers: &HeaderMap) -> HeaderValue {
    let secure = if over_https(headers) { "; Secure" } else { "" };
    let name = session_cookie_name(headers);
    let v = format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_SECS}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("sb_session=; Path=/"))
}

/// `Set-Cookie` ending the session cookie of this request's listener.
pub fn clear_cookie(headers: &HeaderMap) -> HeaderValue {
    if direct_tls(headers) {
        HeaderValue::from_static("__Host-sb_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure")
    } else {
        HeaderValue::from_static("sb_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

/// The client's address for rate limiting and the audit log: the TCP peer.
/// `X-Forwarded-For` is not trusted (anyone can send it).
pub fn client_ip(peer: &SocketAddr) -> IpAddr {
    peer.ip()
}

/// Compares without an early exit (tokens are secrets).
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_set_strict() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; sb_session=tok123 ; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok123"));
        assert_eq!(cookie(&h, "c"), None);
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let set = session_cookie("abc", &proxied);
        let s = set.to_str().unwrap();
        for part in ["sb_session=abc", "HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(s.contains(part), "{s}");
        }
        let plain = session_cookie("abc", &HeaderMap::new());
        assert!(plain.to_str().unwrap().starts_with("sb_session=abc;") && !plain.to_str().unwrap().contains("Secure"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }

    #[test]
    fn the_https_listener_names_the_cookie_and_a_client_cannot_claim_it() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("sb_session=plain; __Host-sb_session=secure"));
        h.insert(SCHEME_MARK, HeaderValue::from_static("https"));
        set_scheme(&mut h, Scheme::Http);
        assert!(!direct_tls(&h), "a client's mark is removed on plain HTTP");
        assert_eq!(session_token(&h).as_deref(), Some("plain"));
        set_scheme(&mut h, Scheme::Https);
        assert!(direct_tls(&h) && over_https(&h));
        assert_eq!(session_token(&h).as_deref(), Some("secure"), "HTTPS reads only the __Host- cookie");
        let set = session_cookie("tok", &h);
        let s = set.to_str().unwrap();
        assert!(s.starts_with("__Host-sb_session=tok;") && s.contains("; Secure") && s.contains("Path=/") && !s.contains("Domain"), "{s}");
        assert!(clear_cookie(&h).to_str().unwrap().starts_with("__Host-sb_session=;"));
        assert!(clear_cookie(&HeaderMap::new()).to_str().unwrap().starts_with("sb_session=;"));
    }
}

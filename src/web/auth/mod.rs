//! Console authentication and authorization: the session cookie, which API
//! scopes a console role carries, the login rate limiter and the CSRF guard.
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

pub const SESSION_COOKIE: &str = "sb_session";
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
        Role::Supervisor => &["events", "stats", "calls"],
        Role::Agent => &["events", "calls"],
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

/// The live session behind the request's cookie, if any.
pub async fn session(store: &Store, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, SESSION_COOKIE)?;
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
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for a new session: HttpOnly (no script can read it),
/// SameSite=Strict (no other site's page can send it), Secure over HTTPS.
pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_SECS}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("sb_session=; Path=/"))
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("sb_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
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
        let set = session_cookie("abc", true);
        let s = set.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(s.contains(part), "{s}");
        }
        assert!(!session_cookie("abc", false).to_str().unwrap().contains("Secure"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}

//! The CSRF guard, a middleware in front of every route. A state-changing
//! request (POST, PUT, PATCH, DELETE) from another origin is refused; one
//! authenticated by the session cookie must also carry the session's CSRF
//! token, in the `X-CSRF-Token` header (htmx, panel scripts) or the `_csrf`
//! field of a urlencoded form. Requests without a live session cookie (API
//! keys, which are no ambient authority) pass, and the route answers 401 or
//! shows the login page when it needs a login. The public
//! contact page (`/contact...`) never reads the session, so after the
//! origin check its forms pass whether or not the browser is logged in.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::{same_token, CSRF_FIELD, CSRF_HEADER};
use crate::web::api::json_error;
use crate::web::CoreApi;

/// Forms larger than this are not searched for a token (uploads use the header).
const MAX_FORM: usize = 1 << 20;

pub async fn csrf_guard<C: CoreApi>(State(core): State<Arc<C>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin_host != host {
            tracing::warn!(%origin, %host, "cross-origin request refused");
            return json_error(StatusCode::FORBIDDEN, "cross-origin request refused");
        }
    }
    if req.uri().path() == "/contact" || req.uri().path().starts_with("/contact/") {
        return next.run(req).await;
    }
    // No shortcut for requests that also carry an API key: whoever sends the
    // session cookie must send its token too (a cross-site form could add
    // `?key=x` to any URL). Key-only clients send no cookie and pass below.
    let Some(store) = core.console_store() else { return next.run(req).await };
    let Some(session) = super::session(&store, headers).await else { return next.run(req).await };
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|t| same_token(t, &session.csrf)) {
        return next.run(req).await;
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
            return json_error(StatusCode::PAYLOAD_TOO_LARGE, "form too large");
        };
        let token = form_urlencoded_field(&bytes, CSRF_FIELD);
        if token.is_some_and(|t| same_token(&t, &session.csrf)) {
            return next.run(Request::from_parts(parts, Body::from(bytes))).await;
        }
    }
    tracing::warn!(user = %session.user.username, "request without a valid CSRF token refused");
    json_error(StatusCode::FORBIDDEN, "missing or wrong CSRF token (reload the page)")
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode() {
        let body = b"name=Ann+Lee&_csrf=ab%2Dc_d&bad=%zz";
        assert_eq!(form_urlencoded_field(body, "_csrf").as_deref(), Some("ab-c_d"));
        assert_eq!(form_urlencoded_field(body, "name").as_deref(), Some("Ann Lee"));
        assert_eq!(form_urlencoded_field(b"\xff\xfe=%%%", "_csrf"), None);
        assert_eq!(form_urlencoded_field(b"", "_csrf"), None);
    }
}

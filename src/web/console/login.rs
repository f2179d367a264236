//! Login, logout and the one-time first-admin setup. Failed logins are
//! rate limited per address (`auth::limiter`) and lock the account after
//! several in a row (`store::users`); the answer never tells whether a
//! username exists.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;

use super::layout::{bare, field};
use super::{see_other, Peer};
use crate::store::{LoginRefused, Role, Store, StoreError};
use crate::web::auth::{self, AuthState};
use crate::web::CoreApi;

#[derive(Debug, Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only local paths: `next` must not send the user to another site.
fn safe_next(next: &str, role: Role) -> String {
    // Browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil"):
    // no control characters at all.
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.bytes().any(|b| b < 0x20 || b == 0x7f)
        && !next.starts_with("/login");
    if local {
        next.to_string()
    } else if role == Role::Agent {
        "/agent".into()
    } else {
        "/".into()
    }
}

fn login_page(status: StatusCode, username: &str, next: &str, error: Option<&str>, not_set_up: bool) -> Response {
    let body = html! {
        @if not_set_up {
            p.flash { "This appliance has no administrator yet. Open the one-time setup link printed on its console (or run "
                code { "switchboard setup-link" } ")." }
        }
        @if let Some(e) = error { div.flash.error role="alert" id="login-error" { (e) } }
        form.stack method="post" action="/login" {
            (field("Username", "username", "text", username, None))
            (field("Password", "password", "password", "", None))
            input type="hidden" name="next" value=(next);
            button type="submit" id="login" { "Log in" }
        }
    };
    (status, Html(bare("Log in", body).into_string())).into_response()
}

async fn not_set_up(store: &Store) -> bool {
    store.admin_count().await.map(|n| n == 0).unwrap_or(false)
}

pub async fn form<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let Some(store) = core.console_store() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    if let Some(s) = auth::session(&store, &headers).await {
        return see_other(&safe_next(&q.next, s.user.role));
    }
    login_page(StatusCode::OK, "", &q.next, None, not_set_up(&store).await)
}

pub async fn submit<C: CoreApi>(
    State(core): State<Arc<C>>,
    Extension(state): Extension<Arc<AuthState>>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let Some(store) = core.console_store() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    let ip = auth::client_ip(&peer);
    let now = crate::store::unix_time();
    let limited = state.limiter.lock().map(|mut l| l.check(ip, now)).unwrap_or(Ok(()));
    if let Err(wait) = limited {
        tracing::warn!(%ip, "login refused: too many failed attempts from this address");
        let mut r = login_page(StatusCode::TOO_MANY_REQUESTS, &f.username, &f.next, Some(&format!("Too many failed logins from your address. Try again in {} minutes.", (wait + 59) / 60)), false);
        if let Ok(v) = header::HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    // Count the attempt before the (slow) password check, so parallel
    // guesses from one address cannot all slip under the limit; a good
    // login clears it below.
    if let Ok(mut l) = state.limiter.lock() {
        l.failed(ip, now);
    }
    let outcome = match store.check_login(&f.username, &f.password, now).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("login check failed: {e}");
            return login_page(StatusCode::INTERNAL_SERVER_ERROR, &f.username, &f.next, Some("The login could not be checked; see the appliance log."), false);
        }
    };
    let user = match outcome {
        Ok(u) => u,
        Err(why) => {
            tracing::warn!(%ip, username = %f.username, reason = ?why, "console login failed");
            let msg = match why {
                LoginRefused::Locked { until } => format!("Too many failed logins for this account. Try again in {} minutes.", ((until - now).max(1) + 59) / 60),
                LoginRefused::BadCredentials | LoginRefused::Disabled => "Wrong username or password.".into(),
            };
            return login_page(StatusCode::UNAUTHORIZED, &f.username, &f.next, Some(&msg), false);
        }
    };
    if let Ok(mut l) = state.limiter.lock() {
        l.succeeded(ip);
    }
    let session = match store.create_session(user.id, &ip.to_string(), auth::SESSION_TTL_SECS).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("creating a session failed: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    tracing::info!(%ip, user = %user.username, "console login");
    let mut r = see_other(&safe_next(&f.next, user.role));
    r.headers_mut().insert(header::SET_COOKIE, auth::session_cookie(&session.token, &headers));
    r
}

pub async fn logout<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap) -> Response {
    if let (Some(store), Some(token)) = (core.console_store(), auth::session_token(&headers)) {
        if let Err(e) = store.end_session(&token).await {
            tracing::warn!("ending a session failed: {e}");
        }
    }
    let mut r = see_other("/login");
    r.headers_mut().insert(header::SET_COOKIE, auth::clear_cookie(&headers));
    r
}

#[derive(Debug, Deserialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Default)]
struct SetupErrors {
    username: Option<String>,
    password: Option<String>,
    confirm: Option<String>,
    general: Option<String>,
}

fn setup_page(status: StatusCode, token: &str, f: &SetupForm, e: &SetupErrors) -> Response {
    let body = html! {
        h2 { "Create the first administrator" }
        p.muted { "This one-time link stops working once the account exists. Passwords need at least "
            (crate::store::MIN_PASSWORD_LEN) " characters." }
        @if let Some(g) = &e.general { div.flash.error role="alert" { (g) } }
        form.stack method="post" action={ "/setup/" (token) } {
            (field("Username", "username", "text", &f.username, e.username.as_deref()))
            (field("Full name", "display_name", "text", &f.display_name, None))
            (field("Password", "password", "password", "", e.password.as_deref()))
            (field("Repeat password", "confirm", "password", "", e.confirm.as_deref()))
            button type="submit" id="create-admin" { "Create administrator" }
        }
    };
    (status, Html(bare("Set up", body).into_string())).into_response()
}

fn link_gone() -> Response {
    let body = html! {
        p { "This setup link is not valid: it was used already, it expired, or it was mistyped." }
        p { a href="/login" { "Go to the login page" } }
    };
    (StatusCode::NOT_FOUND, Html(bare("Setup link not valid", body).into_string())).into_response()
}

pub async fn setup_form<C: CoreApi>(State(core): State<Arc<C>>, Path(token): Path<String>) -> Response {
    let Some(store) = core.console_store() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    match store.setup_token_valid(&token, crate::store::unix_time()).await {
        Ok(true) => setup_page(StatusCode::OK, &token, &SetupForm::default(), &SetupErrors::default()),
        _ => link_gone(),
    }
}

pub async fn setup_submit<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, Path(token): Path<String>, Form(f): Form<SetupForm>) -> Response {
    let Some(store) = core.console_store() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    if !store.setup_token_valid(&token, crate::store::unix_time()).await.unwrap_or(false) {
        return link_gone();
    }
    let mut errors = SetupErrors::default();
    if let Err(StoreError::Invalid(m)) = crate::store::normalize_username(&f.username) {
        errors.username = Some(m);
    }
    if let Err(StoreError::Invalid(m)) = crate::store::check_password(&f.password, f.username.trim()) {
        errors.password = Some(m);
    } else if f.password != f.confirm {
        errors.confirm = Some("the two passwords differ".into());
    }
    if errors.username.is_some() || errors.password.is_some() || errors.confirm.is_some() {
        return setup_page(StatusCode::UNPROCESSABLE_ENTITY, &token, &f, &errors);
    }
    let ip = auth::client_ip(&peer).to_string();
    let user = match store.create_first_admin(&token, &f.username, &f.display_name, &f.password).await {
        Ok(u) => u,
        Err(e) => {
            errors.general = Some(e.to_string());
            return setup_page(StatusCode::UNPROCESSABLE_ENTITY, &token, &f, &errors);
        }
    };
    if let Err(e) = store.audit(&user.username, "setup.first_admin", &user.username, "first administrator created with the setup link", &ip).await {
        tracing::error!("audit log write failed: {e}");
    }
    tracing::info!(%ip, user = %user.username, "first administrator created");
    let Ok(session) = store.create_session(user.id, &ip, auth::SESSION_TTL_SECS).await else {
        return see_other("/login");
    };
    let mut r = see_other("/");
    r.headers_mut().insert(header::SET_COOKIE, auth::session_cookie(&session.token, &headers));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/extensions?x=1", Role::Admin), "/extensions?x=1");
        for evil in ["//evil.example/", "https://evil.example/", "/\\evil", "", "/login?next=/", "/\t/evil.example", "/\n/x"] {
            assert_eq!(safe_next(evil, Role::Admin), "/", "{evil}");
        }
        assert_eq!(safe_next("", Role::Agent), "/agent");
    }
}

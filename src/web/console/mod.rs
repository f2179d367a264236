//! The web console: server-rendered pages (maud) with htmx for partial
//! updates, behind console logins. Owns page routes, who may see them and
//! how they look; reads and changes data through the store (users,
//! extensions, audit) and `CoreApi` (live state), never through SIP, media
//! or the call layer. Every page checks the role it needs; every form
//! change is CSRF-checked by `auth::csrf_guard` before it gets here and
//! written to the audit log.

mod agent;
mod dashboard;
mod extensions;
pub mod layout;
mod login;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use crate::store::{Role, Store, User};

use super::auth;
use super::CoreApi;

/// The logged-in user behind a page request.
pub struct Viewer {
    pub user: User,
    pub csrf: String,
    pub ip: String,
    pub store: Store,
}

impl Viewer {
    /// 403 page unless the user's role is at least `least`.
    pub fn require(&self, least: Role) -> Result<(), Response> {
        if self.user.role >= least {
            Ok(())
        } else {
            tracing::warn!(user = %self.user.username, role = self.user.role.as_str(), "page needs role {}", least.as_str());
            let body = html! { p { "Your role (" (self.user.role.as_str()) ") may not open this page." } p { a href="/" { "Back" } } };
            Err((StatusCode::FORBIDDEN, Html(layout::page(self, "", "Not allowed", None, body).into_string())).into_response())
        }
    }

    /// Records an admin change; a failure to record is logged, not fatal.
    pub async fn audit(&self, action: &str, target: &str, detail: &str) {
        if let Err(e) = self.store.audit(&self.user.username, action, target, detail, &self.ip).await {
            tracing::error!("audit log write failed: {e}");
        }
        tracing::info!(user = %self.user.username, %action, %target, "{detail}");
    }
}

/// The viewer, or the response to send instead: the login page (with a
/// way back here) for nobody logged in.
pub async fn viewer<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &SocketAddr) -> Result<Viewer, Response> {
    let Some(store) = core.console_store() else {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "the console is not available\n").into_response());
    };
    match auth::session(&store, headers).await {
        Some(s) => Ok(Viewer { user: s.user, csrf: s.csrf, ip: auth::client_ip(peer).to_string(), store }),
        None => {
            let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            // htmx polling after a session ended: make the browser reload into the login page.
            if headers.contains_key("hx-request") {
                return Err((StatusCode::UNAUTHORIZED, [("hx-redirect", "/login")]).into_response());
            }
            Err(Redirect::to(&format!("/login?next={}", urlencode(next))).into_response())
        }
    }
}

/// Renders a full page for `viewer`.
pub fn render(viewer: &Viewer, active: &str, title: &str, flash: Option<&layout::Flash>, body: Markup) -> Response {
    Html(layout::page(viewer, active, title, flash, body).into_string()).into_response()
}

/// A redirect after a successful POST (so a reload does not repeat it).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Console page routes (the API routes are elsewhere).
pub fn routes<C: CoreApi>() -> Router<Arc<C>> {
    Router::new()
        .route("/", get(dashboard::page::<C>))
        .route("/console/dashboard/live", get(dashboard::live::<C>))
        .route("/agent", get(agent::page::<C>))
        .route("/agent/history", get(agent::history::<C>))
        .route("/agent/chats/{id}", get(agent::chat_transcript::<C>))
        .route("/login", get(login::form::<C>).post(login::submit::<C>))
        .route("/logout", post(login::logout::<C>))
        .route("/setup/{token}", get(login::setup_form::<C>).post(login::setup_submit::<C>))
        .route("/extensions", get(extensions::list::<C>).post(extensions::create::<C>))
        .route("/extensions/{number}", post(extensions::update::<C>))
        .route("/extensions/{number}/secret", post(extensions::reset_secret::<C>))
        .route("/extensions/{number}/delete", post(extensions::delete::<C>))
        .route("/users", get(users::list::<C>).post(users::create::<C>))
        .route("/users/{id}", post(users::update::<C>))
        .route("/users/{id}/password", post(users::password::<C>))
        .route("/users/{id}/delete", post(users::delete::<C>))
        .route("/audit", get(users::audit::<C>))
}

/// The peer address of a request (for handlers that need it).
pub type Peer = ConnectInfo<SocketAddr>;

//! The web console: server-rendered pages (maud) with htmx for partial
//! updates, behind console logins. Owns page routes, who may see them and
//! how they look; reads and changes data through the store (users,
//! extensions, audit, call records, voicemail, faxes, API keys) and `CoreApi`
//! (live state; the configuration and data folders for the settings and
//! backup pages), never through SIP, media
//! or the call layer. Every page checks the role it needs; every form
//! change is CSRF-checked by `auth::csrf_guard` before it gets here and
//! written to the audit log.

mod acd_live;
mod agent;
mod agent_callbacks;
mod apikeys;
pub(super) mod audio;
pub(super) mod backup;
pub(super) mod calls;
pub(super) mod calls_csv;
mod chart;
mod agent_edit;
mod agents;
mod customer_import;
mod customers;
pub(super) mod dashboard;
pub(super) mod dialplan_files;
pub(super) mod dialplan_sim;
pub(super) mod dialplans;
mod extensions;
pub(super) mod fax;
pub(super) mod fax_detail;
mod forms;
pub mod layout;
mod login;
mod queue;
mod queues;
pub(super) mod prompts;
pub(super) mod restart;
pub(super) mod settings;
pub(super) mod settings_file;
mod tls;
mod trunk_edit;
mod trunks;
pub(super) mod update;
mod users;
mod voicemail;

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
        .route("/agent/callbacks", get(agent_callbacks::fragment::<C>))
        .route("/agent/chats/{id}", get(agent::chat_transcript::<C>))
        .route("/login", get(login::form::<C>).post(login::submit::<C>))
        .route("/logout", post(login::logout::<C>))
        .route("/setup/{token}", get(login::setup_form::<C>).post(login::setup_submit::<C>))
        .route("/extensions", get(extensions::list::<C>).post(extensions::create::<C>))
        .route("/extensions/{number}", post(extensions::update::<C>))
        .route("/extensions/{number}/secret", post(extensions::reset_secret::<C>))
        .route("/extensions/{number}/delete", post(extensions::delete::<C>))
        .route("/calls", get(calls::list::<C>))
        .route("/calls.csv", get(calls_csv::export::<C>))
        .route("/recordings/{id}/audio", get(calls::audio::<C>))
        .route("/voicemail", get(voicemail::list::<C>).post(voicemail::create::<C>))
        .route("/voicemail/{number}", get(voicemail::messages::<C>))
        .route("/voicemail/{number}/delete", post(voicemail::delete::<C>))
        .route("/voicemail/messages/{id}/heard", post(voicemail::mark_heard::<C>))
        .route("/voicemail/messages/{id}/delete", post(voicemail::delete_message::<C>))
        .route("/voicemail/messages/{id}/audio", get(voicemail::audio::<C>))
        .route("/fax", get(fax::list::<C>))
        .route("/fax/rows", get(fax::rows::<C>))
        .route("/fax/send", post(fax::send::<C>))
        .route("/fax/{id}", get(fax_detail::show::<C>))
        .route("/fax/{id}/pdf", get(fax_detail::pdf::<C>))
        .route("/fax/{id}/tiff", get(fax_detail::tiff::<C>))
        .route("/fax/{id}/cancel", post(fax_detail::cancel::<C>))
        .route("/apikeys", get(apikeys::list::<C>).post(apikeys::create::<C>))
        .route("/apikeys/delete", post(apikeys::delete::<C>))
        .route("/queues", get(queues::list::<C>).post(queues::create::<C>))
        .route("/queues/{name}", get(queue::show::<C>).post(queue::update::<C>))
        .route("/queues/{name}/delete", post(queues::delete::<C>))
        .route("/queues/{name}/members", post(queue::set_member::<C>))
        .route("/queues/{name}/members/{agent}/delete", post(queue::remove_member::<C>))
        .route("/agents", get(agents::list::<C>).post(agents::create::<C>))
        .route("/agents/{id}", get(agent_edit::show::<C>).post(agent_edit::update::<C>))
        .route("/agents/{id}/state", post(agents::state::<C>))
        .route("/agents/{id}/delete", post(agent_edit::delete::<C>))
        .route("/agents/{id}/skills", post(agent_edit::set_skill::<C>))
        .route("/agents/{id}/skills/{skill}/delete", post(agent_edit::remove_skill::<C>))
        .route("/customers", get(customers::list::<C>).post(customers::create::<C>))
        .route("/customers/import", post(customer_import::import::<C>))
        .route("/customers/{id}", get(customers::show::<C>).post(customers::update::<C>))
        .route("/customers/{id}/delete", post(customers::delete::<C>))
        .route("/trunks", get(trunks::list::<C>).post(trunks::create::<C>))
        .route("/trunks/{name}", get(trunk_edit::show::<C>).post(trunk_edit::update::<C>))
        .route("/trunks/{name}/delete", post(trunks::delete::<C>))
        .route("/dialplans", get(dialplans::list::<C>).post(dialplans::create::<C>))
        .route("/dialplans/simulate", get(dialplan_sim::run::<C>))
        .route("/dialplans/{file}", get(dialplans::edit::<C>).post(dialplans::save::<C>))
        .route("/dialplans/{file}/delete", post(dialplans::delete::<C>))
        .route("/prompts", get(prompts::list::<C>))
        .route("/prompts/upload", post(prompts::upload::<C>))
        .route("/prompts/{lang}/{file}", get(prompts::file::<C>))
        .route("/prompts/{lang}/{file}/delete", post(prompts::delete::<C>))
        .route("/users", get(users::list::<C>).post(users::create::<C>))
        .route("/users/{id}", post(users::update::<C>))
        .route("/users/{id}/password", post(users::password::<C>))
        .route("/users/{id}/delete", post(users::delete::<C>))
        .route("/audit", get(users::audit::<C>))
        .route("/settings", get(settings::show::<C>).post(settings::save::<C>))
        .route("/settings/restart", post(restart::submit::<C>))
        .route("/settings/tls", post(tls::replace::<C>))
        .route("/settings/tls/regenerate", post(tls::regenerate::<C>))
        .route("/settings/update", post(update::upload::<C>))
        .route("/backup", get(backup::page::<C>))
        .route("/backup/download", get(backup::download::<C>))
        .route("/backup/restore", post(backup::restore::<C>))
        .route("/backup/restore/cancel", post(backup::cancel::<C>))
}

/// The peer address of a request (for handlers that need it).
pub type Peer = ConnectInfo<SocketAddr>;

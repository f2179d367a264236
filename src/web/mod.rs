//! The web side of the appliance: the console (`console`: server-rendered
//! pages behind logins, with `auth` for sessions, roles and CSRF, `assets`
//! for embedded files), the CTI event WebSocket and ACD statistics (`api`),
//! REST call and agent control (`control`), the admin API for queues,
//! agents, skills and customers with CSV import (`admin`, `admin_acd`,
//! `admin_customers`; scope `admin`), the API for the rest of what the
//! console does (`admin_ext` extensions, `admin_trunks`, `admin_users`
//! users and audit log, `admin_keys`, `admin_plans` dialplans,
//! `admin_prompts`, `admin_voicemail`, `admin_settings` settings and
//! restart, `admin_backup`, `admin_update` system updates; scope `admin`; `admin_records` call records and
//! recordings, `admin_live` the dashboard; scope `stats`; `admin_fax` the
//! fax inbox and send jobs, scope `fax`), sharing the
//! caller check and audit of `caller`, the OpenAPI document of `/api/v1`
//! (`openapi`; made with the routes in `api_v1`, from the handlers'
//! `#[utoipa::path]`), Prometheus metrics (`metrics`), the public contact
//! page with its lookup, callback form and visitor chat (`contact`, no
//! login) and the agents' side of chats (`chat_api`), the served TLS
//! certificate (`admin_tls`), SIP bans (`admin_security`, scope `admin`)
//! and the console over HTTPS (`https`).
//! Live state and domain changes go through `CoreApi`; the console's own
//! tables (users, sessions, audit log) and plain data pages use the store
//! handle `CoreApi::console_store` gives. Never SIP, media or the call
//! layer. The unversioned `/api/calls` endpoints need an API key with the
//! `calls` scope (or a console session) like `/api/v1`; `/healthz` and
//! `/metrics` are open to whoever reaches `[http] listen` (or `tls_listen`).

mod admin;
mod admin_acd;
mod admin_backup;
mod admin_customers;
mod admin_ext;
mod admin_fax;
mod admin_keys;
mod admin_live;
mod admin_plans;
mod admin_prompts;
mod admin_records;
mod admin_security;
mod admin_settings;
mod admin_tls;
mod admin_trunks;
mod admin_update;
mod admin_users;
mod admin_voicemail;
mod api;
mod assets;
pub mod auth;
mod caller;
mod chat_api;
mod console;
mod contact;
mod control;
pub mod https;
pub mod metrics;
mod openapi;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Why the core refused an API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Unknown call, agent, action (404).
    NotFound(String),
    /// The request cannot apply now or is malformed (409/400).
    Invalid(String),
    /// Not allowed for who is asked about (403), e.g. not a supervisor.
    Forbidden(String),
}

/// The parts of the configuration the console's file pages work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// `[dialplan] dir`: the `*.toml` files the hot reload watches.
    pub dialplan_dir: std::path::PathBuf,
    /// `[media] prompts_dir`: one folder of prompt files per language.
    pub prompts_dir: std::path::PathBuf,
    /// `[media] language`: the folder calls play prompts from.
    pub language: String,
    /// Whether trunks are probed with OPTIONS (`[trunks] options_interval_secs` > 0).
    pub trunk_options: bool,
    /// `[site] timezone`: where "today" starts on the dashboard.
    pub timezone: String,
}

/// What the settings and backup pages work from.
#[derive(Debug, Clone)]
pub struct SettingsContext {
    /// The configuration in force (command-line overrides applied).
    pub running: crate::config::Config,
    /// The file it came from and the console writes.
    pub source: crate::config::ConfigSource,
    /// `--data`: database, recordings, staged restores.
    pub data_dir: std::path::PathBuf,
}

/// A banned SIP source address (times in unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipBan {
    pub address: std::net::IpAddr,
    pub since: i64,
    pub until: i64,
    /// Why, for people: "authentication failures", "SIP scanner".
    pub reason: String,
    pub failures: u32,
}

/// An address with SIP authentication failures in the ban window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipOffender {
    pub address: std::net::IpAddr,
    pub failures: u32,
    /// The last failure, unix seconds.
    pub last: i64,
}

/// The SIP attack guard's state, for `/api/v1/security/bans`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SipBans {
    /// Newest first.
    pub bans: Vec<SipBan>,
    /// Most failures first.
    pub offenders: Vec<SipOffender>,
}

/// What the web may ask the core. Kept small on purpose.
pub trait CoreApi: Send + Sync + 'static {
    fn status_lines(&self) -> Vec<String>;
    /// Call-IDs of live calls.
    fn live_calls(&self) -> Vec<String>;
    /// Recording control: `action` is start, stop, pause or resume.
    fn recording(&self, call_id: String, action: String) -> BoxFuture<Result<(), String>>;
    /// Conference control of one party: mute, unmute, deaf, undeaf, listen,
    /// barge, or whisper to the call `to`.
    fn conference(&self, call_id: String, action: String, to: Option<String>) -> BoxFuture<Result<(), String>>;
    /// A new subscription to the CTI event bus (one per WebSocket client).
    fn events(&self) -> tokio::sync::broadcast::Receiver<Arc<crate::cti::CtiEvent>>;
    /// The name and scopes of a valid API key, noting its use; `None` for
    /// an unknown key (or when the store cannot say).
    fn verify_api_key(&self, key: String) -> BoxFuture<Option<(String, Vec<String>)>>;
    /// The ACD's real-time statistics as JSON; `None` when it is not running.
    fn acd_stats(&self) -> BoxFuture<Option<serde_json::Value>>;
    /// Core gauges for `/metrics`.
    fn gauges(&self) -> metrics::Gauges;
    /// Call control of a live call: hangup, hold, unhold, transfer (`to`).
    fn call_control(&self, call_id: String, action: String, to: Option<String>) -> BoxFuture<Result<(), ApiError>>;
    /// The agent's disposition code and notes for a call.
    fn disposition(&self, call_id: String, code: String, notes: String) -> BoxFuture<Result<(), ApiError>>;
    /// login, logout, pause (with `reason`), unpause for agent `agent` (id or extension).
    fn agent_op(&self, agent: String, op: String, reason: Option<String>) -> BoxFuture<Result<(), ApiError>>;
    /// The database holding console users, sessions and the audit log;
    /// `None` where no console runs (unit tests of the API alone): then
    /// only API keys authenticate.
    fn console_store(&self) -> Option<crate::store::Store> {
        None
    }
    /// The call agent `agent` is talking on (`last`: or last talked on, for
    /// wrap-up); agent sessions may act on that call only.
    fn agent_call(&self, _agent: String, _last: bool) -> Option<String> {
        None
    }
    /// The public contact channel (`/contact`): its settings, web callback
    /// requests and live chats. `None`: the page is off (404).
    fn contact(&self) -> Option<crate::chat::ChatHub> {
        None
    }
    /// The SIP digest realm (extension secrets are hashed with it).
    fn sip_realm(&self) -> String {
        "switchboard".into()
    }
    /// The data directory (database, `recordings/`); `None` where no
    /// console runs. The console plays recordings only from below it.
    fn data_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// The `[voicemail]` settings: the message folder (the only place the
    /// console plays messages from) and the default message limit.
    fn voicemail_config(&self) -> crate::config::VoicemailConfig {
        crate::config::VoicemailConfig::default()
    }
    /// Folders and switches of the configuration the console's dialplan,
    /// prompt and trunk pages need; `None` where there is none (unit tests).
    fn console_config(&self) -> Option<ConsoleConfig> {
        None
    }
    /// A prompt file of `language` was replaced or removed: calls must stop
    /// playing the copy decoded before.
    fn prompt_changed(&self, _language: String, _name: String) {}
    /// ACD configuration: queues, members, agents, skills (what
    /// `switchboard queue|agent …` do).
    fn acd_admin(&self, req: crate::admin::AcdRequest) -> BoxFuture<Result<crate::admin::Reply, crate::admin::AdminError>>;
    /// The customer table, CSV import included (what `switchboard customer …` do).
    fn customer_admin(&self, req: crate::admin::CustomerRequest) -> BoxFuture<Result<crate::admin::Reply, crate::admin::AdminError>>;
    /// Rings `supervisor`'s extension and links it to `agent`'s call in
    /// `mode` (listen, whisper, barge); again for the same agent: new mode.
    fn supervise(&self, agent: String, mode: String, supervisor: String) -> BoxFuture<Result<(), ApiError>>;
    /// The running configuration and its file, for the settings and
    /// backup pages; `None` where there is none (unit tests).
    fn settings(&self) -> Option<SettingsContext> {
        None
    }
    /// Ends the process soon with `crate::app::RESTART_EXIT_CODE` (for its
    /// supervisor to start it again); false where that is not possible.
    fn restart(&self) -> bool {
        false
    }
    /// Queues an uploaded document (TIFF, PDF or PNG, told by its bytes) as
    /// an outbound fax job to `upload.to` and wakes the job runner: the
    /// job's id. Checked, kept and converted by `crate::fax::library`.
    fn fax_send(&self, _upload: crate::fax::library::Upload) -> BoxFuture<Result<i64, crate::fax::library::SendError>> {
        Box::pin(async { Err(crate::fax::library::SendError::Storage("fax sending is not available here".into())) })
    }
    /// The served TLS certificate (console HTTPS, SIP over TLS), shown and
    /// replaced on the settings page and `/api/v1/tls`; `None` where there
    /// is none (unit tests).
    fn tls(&self) -> Option<Arc<crate::tls::ServerCert>> {
        None
    }
    /// Banned SIP addresses and the `top` addresses by recent
    /// authentication failures; `None` where SIP does not run.
    fn sip_bans(&self, _top: usize) -> Option<SipBans> {
        None
    }
    /// Lifts the SIP ban of `address`: whether there was one; `None`
    /// where SIP does not run.
    fn lift_sip_ban(&self, _address: std::net::IpAddr) -> Option<bool> {
        None
    }
}

/// Serves the console over plain HTTP only.
pub async fn serve<C: CoreApi>(listener: tokio::net::TcpListener, core: C) -> std::io::Result<()> {
    serve_all(listener, None, core).await
}

/// Serves the console on `listener` (HTTP) and, when given, on `https`:
/// one router, so both share sessions' rate limits and state; each
/// listener marks its requests (`auth::Scheme`), HTTPS answers carry HSTS.
pub async fn serve_all<C: CoreApi>(listener: tokio::net::TcpListener, https: Option<https::TlsListener>, core: C) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let base = router(core);
    let plain = base.clone().layer(axum::middleware::from_fn_with_state(auth::Scheme::Http, https::mark_scheme));
    let plain = axum::serve(listener, plain.into_make_service_with_connect_info::<SocketAddr>());
    let Some(tls) = https else { return plain.await };
    let secure = base.layer(axum::middleware::from_fn_with_state(auth::Scheme::Https, https::mark_scheme));
    // `tap_io` only to get axum's `ConnectInfo<SocketAddr>` for a custom listener.
    let secure = axum::serve(tls.tap_io(|_| {}), secure.into_make_service_with_connect_info::<SocketAddr>());
    tokio::select! {
        r = plain => r,
        r = secure => r,
    }
}

fn router<C: CoreApi>(core: C) -> Router {
    let core = Arc::new(core);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics_text::<C>))
        .route("/status", get(index::<C>))
        .route("/assets/{name}", get(assets::serve))
        .route("/api/calls", get(live_calls::<C>))
        .route("/api/calls/{call_id}/recording/{action}", post(recording::<C>))
        .route("/api/calls/{call_id}/conference/{action}", post(conference::<C>))
        .merge(api_v1::<C>())
        .merge(console::routes::<C>())
        .merge(contact::routes::<C>())
        .layer(axum::Extension(Arc::new(contact::Limits::new(core.contact().as_ref().map(|h| h.config())))))
        .layer(axum::middleware::from_fn_with_state(core.clone(), auth::csrf_guard::<C>))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::Extension(Arc::new(auth::AuthState::default())))
        .with_state(core)
}

/// The `/api/v1` routes and their OpenAPI document, made from one list:
/// each `routes!` entry registers its handler(s) under the method and path
/// of their `#[utoipa::path]` attribute and adds the operation to the
/// document served at `/api/v1/openapi.json`. One `routes!` per path
/// (utoipa-axum gives every handler of a call all the call's paths).
/// Register API routes here, never with `.route`: tests/api_openapi.rs
/// fails on an `/api/v1` route outside this list.
fn api_v1<C: CoreApi>() -> Router<Arc<C>> {
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(openapi::document))
        .routes(routes!(api::events))
        .routes(routes!(api::stats))
        .routes(routes!(control::disposition))
        .routes(routes!(control::recording))
        .routes(routes!(control::consult_step))
        .routes(routes!(control::call))
        .routes(routes!(admin_acd::list_queues, admin_acd::create_queue))
        .routes(routes!(admin_acd::get_queue, admin_acd::update_queue, admin_acd::delete_queue))
        .routes(routes!(admin_acd::set_member, admin_acd::remove_member))
        .routes(routes!(admin_acd::list_agents, admin_acd::create_agent))
        .routes(routes!(admin_acd::get_agent, admin_acd::update_agent, admin_acd::delete_agent))
        // A static `skills` segment beside `{action}`: the router prefers it,
        // and the two differ in length anyway. Every agent route names its
        // parameter `agent` (the router wants one name per position).
        .routes(routes!(admin_acd::set_skill, admin_acd::remove_skill))
        .routes(routes!(control::agent))
        .routes(routes!(admin_acd::list_skills))
        .routes(routes!(admin_customers::search, admin_customers::create))
        .routes(routes!(admin_customers::import))
        .routes(routes!(admin_customers::get, admin_customers::update, admin_customers::delete))
        .routes(routes!(admin_tls::get_certificate, admin_tls::put_certificate))
        .routes(routes!(admin_tls::regenerate_certificate))
        .routes(routes!(admin_security::list))
        .routes(routes!(admin_security::lift))
        .routes(routes!(chat_api::transcript))
        .routes(routes!(chat_api::action))
        // What the console does, beside it (`caller` checks the scope).
        .routes(routes!(admin_ext::list, admin_ext::create))
        .routes(routes!(admin_ext::get, admin_ext::update, admin_ext::delete))
        .routes(routes!(admin_ext::reset_secret))
        .routes(routes!(admin_trunks::list, admin_trunks::create))
        .routes(routes!(admin_trunks::get, admin_trunks::update, admin_trunks::delete))
        .routes(routes!(admin_users::list, admin_users::create))
        .routes(routes!(admin_users::get, admin_users::update, admin_users::delete))
        .routes(routes!(admin_users::password))
        .routes(routes!(admin_users::audit))
        .routes(routes!(admin_keys::list, admin_keys::create))
        .routes(routes!(admin_keys::revoke))
        .routes(routes!(admin_plans::list))
        // A static `simulate` segment beside `{file}` (file names end in `.toml`).
        .routes(routes!(admin_plans::simulate_call))
        .routes(routes!(admin_plans::get, admin_plans::save, admin_plans::delete))
        .routes(routes!(admin_plans::validate))
        .routes(routes!(admin_prompts::list))
        .routes(routes!(admin_prompts::get, admin_prompts::upload, admin_prompts::delete))
        .routes(routes!(admin_records::list))
        .routes(routes!(admin_records::export))
        .routes(routes!(admin_records::audio))
        .routes(routes!(admin_voicemail::mailboxes, admin_voicemail::create_mailbox))
        .routes(routes!(admin_voicemail::delete_mailbox))
        .routes(routes!(admin_voicemail::messages))
        .routes(routes!(admin_voicemail::audio))
        .routes(routes!(admin_voicemail::heard))
        .routes(routes!(admin_voicemail::delete))
        .routes(routes!(admin_settings::get, admin_settings::update))
        .routes(routes!(admin_settings::restart))
        .routes(routes!(admin_backup::download))
        .routes(routes!(admin_backup::restore, admin_backup::pending, admin_backup::cancel))
        .routes(routes!(admin_update::status, admin_update::upload))
        .routes(routes!(admin_live::dashboard))
        .routes(routes!(admin_fax::list, admin_fax::send))
        .routes(routes!(admin_fax::get, admin_fax::cancel))
        .routes(routes!(admin_fax::pdf))
        .routes(routes!(admin_fax::tiff))
        .split_for_parts();
    openapi::finish(&mut doc);
    router.layer(axum::Extension(openapi::Served::new(&doc)))
}

/// Headers every answer carries: no framing (clickjacking), no MIME
/// sniffing, no referrer to other sites, and a CSP allowing only this
/// origin's scripts, styles and frames (the console uses no inline
/// script; `default-src 'self'` lets a fax page frame its PDF). The one exception: an answer its
/// handler marked `X-Frame-Options: SAMEORIGIN` (a fax PDF shown inline,
/// `console::fax_detail`) may be framed by this origin's pages.
async fn security_headers(mut r: Response) -> Response {
    use axum::http::header::{HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
    let h = r.headers_mut();
    let same_origin = h.get(X_FRAME_OPTIONS).is_some_and(|v| v == "SAMEORIGIN");
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static(if same_origin { "SAMEORIGIN" } else { "DENY" }));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if same_origin {
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
        } else {
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        }),
    );
    r
}

/// `GET /metrics`: unauthenticated like `/healthz` (counts only, no names
/// of callers); scrape it where `[http] listen` binds.
async fn metrics_text<C: CoreApi>(State(core): State<Arc<C>>) -> Response {
    let stats = core.acd_stats().await;
    let body = metrics::render(&core.gauges(), stats.as_ref());
    ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

async fn index<C: CoreApi>(State(core): State<Arc<C>>) -> Html<String> {
    let mut body = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>switchboard</title></head><body>\
         <h1>switchboard</h1><p>The web console arrives in a later release. Status:</p><ul>",
    );
    for line in core.status_lines() {
        body.push_str("<li>");
        body.push_str(&html_escape(&line));
        body.push_str("</li>");
    }
    body.push_str("</ul></body></html>");
    Html(body)
}

async fn live_calls<C: CoreApi>(State(core): State<Arc<C>>, headers: axum::http::HeaderMap, uri: axum::http::Uri) -> Response {
    if let Err(r) = api::authorize_request(&*core, &headers, &uri, "calls").await {
        return r;
    }
    let items: Vec<String> = core.live_calls().iter().map(|c| format!("\"{}\"", json_escape(c))).collect();
    ([("content-type", "application/json")], format!("{{\"calls\":[{}]}}", items.join(","))).into_response()
}

async fn recording<C: CoreApi>(State(core): State<Arc<C>>, Path((call_id, action)): Path<(String, String)>, headers: axum::http::HeaderMap, uri: axum::http::Uri) -> Response {
    if let Err(r) = api::authorize_request(&*core, &headers, &uri, "calls").await {
        return r;
    }
    command_response(core.recording(call_id, action).await)
}

async fn conference<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path((call_id, action)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if let Err(r) = api::authorize_request(&*core, &headers, &uri, "calls").await {
        return r;
    }
    command_response(core.conference(call_id, action, query.get("to").cloned()).await)
}

/// 204 on success; 404 for an unknown call, 400 for an unknown action,
/// 409 when the call cannot do it now.
fn command_response(r: Result<(), String>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) if e.starts_with("no live call") => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
        Err(e) if e.starts_with("unknown ") => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::CONFLICT, format!("{e}\n")).into_response(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Binds the console listener early so a port clash is reported at start.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::cti::{CtiKind, EventBus};

    /// A core with a real event bus, keys `sb_testkey1` (scope events),
    /// `sb_callskey` (calls) and `sb_adminkey` (admin), and, when given, a
    /// real store behind the admin requests.
    pub(super) struct Fake {
        pub(super) bus: EventBus,
        pub(super) store: Option<crate::store::Store>,
    }

    impl super::CoreApi for Fake {
        fn status_lines(&self) -> Vec<String> {
            Vec::new()
        }
        fn live_calls(&self) -> Vec<String> {
            vec!["c1".to_string()]
        }
        fn recording(&self, call_id: String, action: String) -> super::BoxFuture<Result<(), String>> {
            Box::pin(async move { if call_id == "c1" && action != "stop" { Ok(()) } else { Err("not recording".into()) } })
        }
        fn conference(&self, _: String, _: String, _: Option<String>) -> super::BoxFuture<Result<(), String>> {
            Box::pin(async { Err("no".into()) })
        }
        fn events(&self) -> tokio::sync::broadcast::Receiver<Arc<crate::cti::CtiEvent>> {
            self.bus.subscribe()
        }
        fn verify_api_key(&self, key: String) -> super::BoxFuture<Option<(String, Vec<String>)>> {
            Box::pin(async move {
                match key.as_str() {
                    "sb_testkey1" => Some(("t".to_string(), vec!["events".to_string()])),
                    "sb_callskey" => Some(("c".to_string(), vec!["calls".to_string()])),
                    "sb_adminkey" => Some(("a".to_string(), vec!["admin".to_string()])),
                    _ => None,
                }
            })
        }
        fn call_control(&self, call_id: String, action: String, to: Option<String>) -> super::BoxFuture<Result<(), super::ApiError>> {
            Box::pin(async move {
                match (call_id.as_str(), action.as_str(), to) {
                    ("c1", "transfer" | "consult", None) => Err(super::ApiError::Invalid("needs a target".into())),
                    ("c1", "complete" | "cancel", Some(_)) => Err(super::ApiError::Invalid("no target expected".into())),
                    ("c1", "conference", Some(t)) if t != "2403" => Err(super::ApiError::Invalid("wrong party".into())),
                    ("c1", _, _) => Ok(()),
                    _ => Err(super::ApiError::NotFound(format!("no live call {call_id}"))),
                }
            })
        }
        fn disposition(&self, call_id: String, _: String, _: String) -> super::BoxFuture<Result<(), super::ApiError>> {
            Box::pin(async move { if call_id == "c1" { Ok(()) } else { Err(super::ApiError::NotFound("no call".into())) } })
        }
        fn agent_op(&self, agent: String, _: String, _: Option<String>) -> super::BoxFuture<Result<(), super::ApiError>> {
            Box::pin(async move { if agent == "alice" { Ok(()) } else { Err(super::ApiError::NotFound("no agent".into())) } })
        }
        fn supervise(&self, agent: String, mode: String, supervisor: String) -> super::BoxFuture<Result<(), super::ApiError>> {
            Box::pin(async move {
                match (agent.as_str(), mode.as_str(), supervisor.as_str()) {
                    (_, _, s) if s != "2502" => Err(super::ApiError::Forbidden(format!("{s} is not a supervisor"))),
                    ("alice", "listen" | "whisper" | "barge", _) => Ok(()),
                    ("alice", m, _) => Err(super::ApiError::Invalid(format!("unknown mode {m}"))),
                    _ => Err(super::ApiError::NotFound("no live call".into())),
                }
            })
        }
        fn acd_stats(&self) -> super::BoxFuture<Option<serde_json::Value>> {
            Box::pin(async { None })
        }
        fn gauges(&self) -> super::metrics::Gauges {
            super::metrics::Gauges::default()
        }
        fn acd_admin(&self, req: crate::admin::AcdRequest) -> super::BoxFuture<Result<crate::admin::Reply, crate::admin::AdminError>> {
            let store = self.store.clone();
            Box::pin(async move {
                match store {
                    Some(s) => crate::admin::acd(&s, req).await,
                    None => Err(crate::admin::AdminError::NotFound("store".into())),
                }
            })
        }
        fn customer_admin(&self, req: crate::admin::CustomerRequest) -> super::BoxFuture<Result<crate::admin::Reply, crate::admin::AdminError>> {
            let store = self.store.clone();
            Box::pin(async move {
                match store {
                    Some(s) => crate::admin::customer(&s, req).await,
                    None => Err(crate::admin::AdminError::NotFound("store".into())),
                }
            })
        }
    }

    /// One HTTP/1.1 request to the test server: (status, headers, body).
    pub(super) async fn request(port: u16, method: &str, path: &str, key: Option<&str>, extra: &str, body: &[u8]) -> (u16, String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
        let length = if extra.contains("Content-Length") { String::new() } else { format!("Content-Length: {}\r\n", body.len()) };
        let head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}{extra}{length}Connection: close\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        // The server may answer (and close) before taking a refused body.
        let _ = s.write_all(body).await;
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw).await;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
        (status, head.to_string(), body.to_string())
    }

    /// Status of a POST to the test server.
    async fn post(port: u16, path: &str, key: Option<&str>) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
        s.write_all(format!("POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp).await;
        resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    }

    #[tokio::test]
    async fn call_and_agent_control_routes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(super::serve(listener, Fake { bus: EventBus::default(), store: None }));
        let k = Some("sb_callskey");
        assert_eq!(post(port, "/api/v1/calls/c1/hold", None).await, 401);
        assert_eq!(post(port, "/api/v1/calls/c1/hold", Some("sb_testkey1")).await, 403, "events scope is not enough");
        assert_eq!(post(port, "/api/v1/calls/c1/hold", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/transfer?to=2402", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/transfer", k).await, 409);
        assert_eq!(post(port, "/api/v1/calls/c1/fly", k).await, 404);
        assert_eq!(post(port, "/api/v1/calls/c9/hangup", k).await, 404);
        assert_eq!(post(port, "/api/v1/calls/c1/disposition?code=sale&notes=ok", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/disposition", k).await, 400, "code required");
        assert_eq!(post(port, "/api/v1/calls/c9/disposition?code=x", k).await, 404);
        assert_eq!(post(port, "/api/v1/agents/alice/pause?reason=lunch", k).await, 204);
        assert_eq!(post(port, "/api/v1/agents/zed/login", k).await, 404);
        assert_eq!(post(port, "/api/v1/agents/alice/dance", k).await, 404);
        assert_eq!(post(port, "/api/v1/calls/c1/recording/start", None).await, 401);
        assert_eq!(post(port, "/api/v1/calls/c1/recording/start", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/recording/stop", k).await, 409, "refused by the call");
        assert_eq!(post(port, "/api/v1/calls/c9/recording/start", k).await, 404);
        assert_eq!(post(port, "/api/v1/calls/c1/recording/rewind", k).await, 404);
        // Attended transfer, three-way, supervision.
        assert_eq!(post(port, "/api/v1/calls/c1/consult?to=2402", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/consult", k).await, 409, "consult needs a target");
        assert_eq!(post(port, "/api/v1/calls/c1/consult/complete", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/consult/cancel", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/consult/rewind", k).await, 404);
        assert_eq!(post(port, "/api/v1/calls/c1/consult/cancel", None).await, 401);
        assert_eq!(post(port, "/api/v1/calls/c1/transfer?attended=1", k).await, 204, "attended: no target, the consultation's");
        assert_eq!(post(port, "/api/v1/calls/c1/transfer?attended=1&to=2402", k).await, 409, "attended takes no target");
        assert_eq!(post(port, "/api/v1/calls/c1/conference?add=2403", k).await, 204);
        assert_eq!(post(port, "/api/v1/calls/c1/conference?add=2404", k).await, 409);
        assert_eq!(post(port, "/api/v1/agents/alice/supervise?mode=listen&supervisor=2502", k).await, 204);
        assert_eq!(post(port, "/api/v1/agents/alice/supervise?mode=listen&supervisor=2502", Some("sb_testkey1")).await, 403, "scope");
        assert_eq!(post(port, "/api/v1/agents/alice/supervise?mode=listen&supervisor=3000", k).await, 403);
        assert_eq!(post(port, "/api/v1/agents/zed/supervise?mode=listen&supervisor=2502", k).await, 404);
        assert_eq!(post(port, "/api/v1/agents/alice/supervise?mode=sing&supervisor=2502", k).await, 409);
        assert_eq!(post(port, "/api/v1/agents/alice/supervise?mode=listen", k).await, 400, "supervisor required");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn event_stream_over_a_real_socket() {
        let bus = EventBus::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(super::serve(listener, Fake { bus: bus.clone(), store: None }));
        let connect = move |q: &'static str| {
            tokio::task::spawn_blocking(move || {
                let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
                match tungstenite::client(format!("ws://127.0.0.1:{port}/api/v1/events{q}"), s) {
                    Ok((ws, _)) => Ok(ws),
                    Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => Err(r.status().as_u16()),
                    Err(e) => panic!("{e}"),
                }
            })
        };
        assert_eq!(connect("").await.unwrap().err(), Some(401));
        assert_eq!(connect("?key=sb_nope").await.unwrap().err(), Some(401));
        let mut ws = connect("?key=sb_testkey1&agent=alice").await.unwrap().expect("upgraded");
        // Subscribed before the 101, so these cannot be missed.
        bus.publish(CtiKind::AgentState { agent: "bob".into(), state: "available".into(), reason: None });
        bus.publish(CtiKind::AgentState { agent: "alice".into(), state: "paused".into(), reason: Some("lunch".into()) });
        let text = tokio::task::spawn_blocking(move || loop {
            if let tungstenite::Message::Text(t) = ws.read().expect("message") {
                let _ = ws.close(None);
                return t.to_string();
            }
        })
        .await
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "agent_state", "{text}");
        assert_eq!(v["agent"], "alice", "bob's event filtered out: {text}");
        assert_eq!(v["reason"], "lunch");
    }

    #[test]
    fn escaping() {
        assert_eq!(super::json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
        assert_eq!(super::html_escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}

//! The web console and the core API over HTTP. In this release: a status
//! page and the call-control endpoints (list live calls, recording
//! start/stop/pause/resume). It talks to the core only through `CoreApi`
//! and must never reach into SIP or media directly. Until console
//! authentication exists, the API answers loopback clients only.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use std::collections::HashMap;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

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
}

pub async fn serve<C: CoreApi>(listener: tokio::net::TcpListener, core: C) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index::<C>))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/calls", get(live_calls::<C>))
        .route("/api/calls/{call_id}/recording/{action}", post(recording::<C>))
        .route("/api/calls/{call_id}/conference/{action}", post(conference::<C>))
        .with_state(Arc::new(core));
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
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

fn loopback_only(peer: &SocketAddr) -> Result<(), Response> {
    if peer.ip().is_loopback() {
        Ok(())
    } else {
        Err((StatusCode::FORBIDDEN, "the API is limited to this machine until console login exists\n").into_response())
    }
}

async fn live_calls<C: CoreApi>(ConnectInfo(peer): ConnectInfo<SocketAddr>, State(core): State<Arc<C>>) -> Response {
    if let Err(r) = loopback_only(&peer) {
        return r;
    }
    let items: Vec<String> = core.live_calls().iter().map(|c| format!("\"{}\"", json_escape(c))).collect();
    ([("content-type", "application/json")], format!("{{\"calls\":[{}]}}", items.join(","))).into_response()
}

async fn recording<C: CoreApi>(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(core): State<Arc<C>>,
    Path((call_id, action)): Path<(String, String)>,
) -> Response {
    if let Err(r) = loopback_only(&peer) {
        return r;
    }
    command_response(core.recording(call_id, action).await)
}

async fn conference<C: CoreApi>(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(core): State<Arc<C>>,
    Path((call_id, action)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = loopback_only(&peer) {
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
    #[test]
    fn escaping() {
        assert_eq!(super::json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\u000a");
        assert_eq!(super::html_escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}

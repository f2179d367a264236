//! The versioned program API (`/api/v1/...`): the CTI event stream over a
//! WebSocket and the ACD statistics, both behind API keys with scopes.
//! Owns key extraction and scope checks, event filtering and the socket
//! loop; must not know where keys are stored or how events are made (both
//! come through `CoreApi`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

use crate::cti::{CtiEvent, CtiKind};

use super::CoreApi;

/// A send the client does not take within this long ends the stream: the
/// client is gone or stuck, and the broadcast backlog protects nobody then.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Server pings keep NAT state alive and find dead peers on a quiet bus.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Call-IDs remembered per subscriber for the `queue` filter.
const TRACKED_CALLS: usize = 4096;

pub(crate) fn json_error(status: StatusCode, msg: &str) -> Response {
    let body = serde_json::json!({ "error": msg }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn unauthorized(msg: &str) -> Response {
    let mut r = json_error(StatusCode::UNAUTHORIZED, msg);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

/// The query string as a map. Malformed input is a 400, never a panic.
pub(super) fn query(uri: &Uri) -> Result<HashMap<String, String>, String> {
    Query::<HashMap<String, String>>::try_from_uri(uri).map(|Query(q)| q).map_err(|e| format!("query string: {e}"))
}

/// The presented key: `Authorization: Bearer <key>` first, else `?key=`
/// (browsers cannot set headers on a WebSocket).
fn presented_key(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim().to_string());
    bearer.or_else(|| query.get("key").cloned()).filter(|k| !k.is_empty())
}

/// Who is calling: an API key or a console user.
#[derive(Debug, Clone)]
pub(super) struct Principal {
    pub name: String,
    /// Who the audit log names: the console username, or `apikey:NAME`.
    pub actor: String,
    /// The console user behind a session (none for an API key).
    pub user_id: Option<i64>,
    /// The ACD agent a console agent works as: their event stream and
    /// calls are limited to it.
    pub agent: Option<String>,
    /// The console user's role (none for an API key).
    pub role: Option<crate::store::Role>,
}

/// Checks the API key, or else the console session cookie, and that it
/// carries `scope` (or `admin`); the error is the response to send (401,
/// or 403 for a valid credential lacking the scope).
pub(super) async fn authorize_principal<C: CoreApi>(core: &C, headers: &HeaderMap, query: &HashMap<String, String>, scope: &str) -> Result<Principal, Response> {
    let (principal, scopes) = if let Some(key) = presented_key(headers, query) {
        let Some((name, scopes)) = core.verify_api_key(key).await else {
            return Err(unauthorized("invalid API key"));
        };
        (Principal { name: format!("API key {name}"), actor: format!("apikey:{name}"), user_id: None, agent: None, role: None }, scopes)
    } else {
        // A page of another site must not ride on the console cookie (a
        // WebSocket handshake carries no CSRF token; the Origin tells).
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            if origin.split_once("://").map(|(_, h)| h) != Some(host) {
                return Err(json_error(StatusCode::FORBIDDEN, "cross-origin request refused"));
            }
        }
        let session = match core.console_store() {
            Some(store) => super::auth::session(&store, headers).await,
            None => None,
        };
        let Some(s) = session else {
            return Err(unauthorized("an API key is required (Authorization: Bearer <key> or ?key=<key>), or a console login"));
        };
        let agent = s.user.agent_id.clone().filter(|_| s.user.role == crate::store::Role::Agent);
        // An agent user not linked to an ACD agent has nothing of their own to see or control.
        let scopes = if s.user.role == crate::store::Role::Agent && agent.is_none() { Vec::new() } else { super::auth::scopes_for(s.user.role) };
        let role = Some(s.user.role);
        (Principal { name: format!("user {}", s.user.username), actor: s.user.username.clone(), user_id: Some(s.user.id), agent, role }, scopes)
    };
    if scopes.iter().any(|s| s == scope || s == "admin") {
        Ok(principal)
    } else {
        Err(json_error(StatusCode::FORBIDDEN, &format!("{} lacks the '{scope}' scope", principal.name)))
    }
}

async fn authorize<C: CoreApi>(core: &C, headers: &HeaderMap, query: &HashMap<String, String>, scope: &str) -> Result<String, Response> {
    authorize_principal(core, headers, query, scope).await.map(|p| p.name)
}

/// What an agent session may act on: its own agent, its own call.
pub(super) enum Owned<'a> {
    Agent(&'a str),
    /// The agent's live call.
    Call(&'a str),
    /// The agent's live or last call (wrap-up).
    LastCall(&'a str),
    /// Nothing an agent may do (supervision).
    NotForAgents,
}

/// [`authorize_request`], and for a console agent also that the target is
/// their own (403 otherwise). API keys and supervisors act on anything
/// their scope allows.
pub(super) async fn authorize_owned<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, scope: &str, owned: Owned<'_>) -> Result<HashMap<String, String>, Response> {
    let q = query(uri).map_err(|e| json_error(StatusCode::BAD_REQUEST, &e))?;
    let p = authorize_principal(core, headers, &q, scope).await?;
    if let Some(me) = p.agent {
        let mine = match owned {
            Owned::Agent(a) => a == me,
            Owned::Call(c) => core.agent_call(me.clone(), false).as_deref() == Some(c),
            Owned::LastCall(c) => core.agent_call(me.clone(), true).as_deref() == Some(c),
            Owned::NotForAgents => false,
        };
        if !mine {
            return Err(json_error(StatusCode::FORBIDDEN, "an agent may act on their own state and calls only"));
        }
    }
    Ok(q)
}

/// Parses the query and checks the key for `scope`; the query on success,
/// the response to send otherwise.
pub(super) async fn authorize_request<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, scope: &str) -> Result<HashMap<String, String>, Response> {
    let q = query(uri).map_err(|e| json_error(StatusCode::BAD_REQUEST, &e))?;
    authorize(core, headers, &q, scope).await?;
    Ok(q)
}

/// `GET /api/v1/stats`: the ACD statistics JSON.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    operation_id = "get_stats",
    tag = "stats",
    summary = "ACD statistics",
    description = "A snapshot of every queue (waiting callers, agents by state, counters since midnight: joined, \
answered, abandoned, service level, average speed of answer, average handle time, ...) and every agent (state, calls, \
talk and pause time).",
    responses(
        (status = 200, description = "The statistics.", body = crate::acd::Stats),
        (status = 503, description = "The ACD is not running.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("stats"))),
)]
pub(super) async fn stats<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Response {
    let q = match query(&uri) {
        Ok(q) => q,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
    };
    if let Err(r) = authorize(&*core, &headers, &q, "stats").await {
        return r;
    }
    match core.acd_stats().await {
        Some(v) => ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response(),
        None => json_error(StatusCode::SERVICE_UNAVAILABLE, "the ACD is not running"),
    }
}

/// Which events a subscriber wants. Every given filter must match:
/// - `agent`: events naming that agent (offers, ringing, answered, ended,
///   agent state, chat offers and messages); queue joins and leaves name no
///   agent and never match.
/// - `queue`: joins, leaves and offers of that queue, and the ringing /
///   answered / ended events of calls offered from it (remembered by
///   Call-ID), likewise for chats (remembered by chat id). Agent state names no queue (an agent may serve several), so
///   it never matches: a per-agent panel uses `agent` alone.
#[derive(Debug, Default)]
pub(super) struct Filter {
    agent: Option<String>,
    queue: Option<String>,
    /// Call-IDs offered from `queue`, oldest first, bounded.
    calls: HashSet<String>,
    order: VecDeque<String>,
}

impl Filter {
    pub(super) fn new(agent: Option<String>, queue: Option<String>) -> Filter {
        Filter { agent: agent.filter(|a| !a.is_empty()), queue: queue.filter(|q| !q.is_empty()), ..Filter::default() }
    }

    fn remember(&mut self, call_id: &str) {
        if self.calls.insert(call_id.to_string()) {
            self.order.push_back(call_id.to_string());
            if self.order.len() > TRACKED_CALLS {
                if let Some(old) = self.order.pop_front() {
                    self.calls.remove(&old);
                }
            }
        }
    }

    pub(super) fn matches(&mut self, ev: &CtiEvent) -> bool {
        let agent = match &ev.kind {
            CtiKind::CallOffered { agent, .. }
            | CtiKind::CallRinging { agent, .. }
            | CtiKind::CallAnswered { agent, .. }
            | CtiKind::CallEnded { agent, .. }
            | CtiKind::AgentState { agent, .. }
            | CtiKind::ChatOffered { agent, .. }
            | CtiKind::ChatOfferCancelled { agent, .. }
            | CtiKind::ChatAnswered { agent, .. }
            | CtiKind::ChatMessage { agent, .. }
            | CtiKind::ChatEnded { agent, .. } => Some(agent.as_str()),
            CtiKind::QueueJoined { .. } | CtiKind::QueueLeft { .. } => None,
        };
        if let Some(want) = &self.agent {
            if agent != Some(want.as_str()) {
                return false;
            }
        }
        let Some(want) = self.queue.clone() else {
            return true;
        };
        match &ev.kind {
            CtiKind::QueueJoined { call } => call.queue == want,
            CtiKind::QueueLeft { queue, .. } => *queue == want,
            CtiKind::CallOffered { call, .. } => {
                let mine = call.queue == want;
                if mine {
                    self.remember(&call.call_id);
                }
                mine
            }
            CtiKind::ChatOffered { chat, .. } => {
                let mine = chat.queue == want;
                if mine {
                    self.remember(&chat.chat_id);
                }
                mine
            }
            CtiKind::CallRinging { call_id, .. }
            | CtiKind::CallAnswered { call_id, .. }
            | CtiKind::CallEnded { call_id, .. }
            | CtiKind::ChatOfferCancelled { chat_id: call_id, .. }
            | CtiKind::ChatAnswered { chat_id: call_id, .. }
            | CtiKind::ChatMessage { chat_id: call_id, .. }
            | CtiKind::ChatEnded { chat_id: call_id, .. } => self.calls.contains(call_id),
            CtiKind::AgentState { .. } => false,
        }
    }
}

/// `GET /api/v1/events`: authenticates before the upgrade (401 as JSON),
/// then streams the CTI bus as one JSON text message per event.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    operation_id = "event_stream",
    tag = "events",
    summary = "The CTI event stream (WebSocket)",
    description = "A WebSocket (`ws://` or `wss://` to this path): one JSON text message per event, `{\"type\": ..., \
\"at_ms\": ...}` with `type` one of `queue_joined`, `queue_left`, `call_offered` (the screen pop, with the caller's \
customer record), `call_ringing`, `call_answered`, `call_ended`, `agent_state` (the `CtiEvent` schema); and \
`{\"type\": \"lagged\", \
\"missed\": N}` when the client fell behind and events were dropped. The server pings every 30 s. Credentials are \
checked before the upgrade; browsers pass the key as `?key=` or use the console cookie. A console agent only sees \
their own agent's events.",
    params(
        ("agent" = Option<String>, Query, description = "Only events naming this agent (offers, ringing, answered, ended, agent state)."),
        ("queue" = Option<String>, Query, description = "Only joins, leaves and offers of this queue, and the later events of calls offered from it."),
    ),
    responses(
        (status = 101, description = "Switching Protocols: the event stream follows."),
        (status = 400, description = "Not a WebSocket handshake (plain-text body), or a malformed query string."),
    ),
    extensions(("x-scope" = json!("events"))),
)]
pub(super) async fn events<C: CoreApi>(
    State(core): State<Arc<C>>,
    headers: HeaderMap,
    uri: Uri,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let q = match query(&uri) {
        Ok(q) => q,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
    };
    let (name, own_agent) = match authorize_principal(&*core, &headers, &q, "events").await {
        Ok(p) => (p.name, p.agent),
        Err(r) => return r,
    };
    // Authenticated but not a WebSocket handshake: axum's own answer (426/400).
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    // A console agent sees their own calls and state, nobody else's.
    let agent = own_agent.or_else(|| q.get("agent").cloned());
    let filter = Filter::new(agent, q.get("queue").cloned());
    // Subscribe now, not in the upgraded task: events published between the
    // 101 and the task's start reach the client too.
    let rx = core.events();
    ws.on_upgrade(move |socket| async move {
        tracing::debug!(key = %name, "CTI event stream opened");
        stream_events(socket, rx, filter).await;
        tracing::debug!(key = %name, "CTI event stream closed");
    })
}

async fn send(socket: &mut WebSocket, msg: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)).await, Ok(Ok(())))
}

pub(super) async fn stream_events(mut socket: WebSocket, mut rx: tokio::sync::broadcast::Receiver<Arc<CtiEvent>>, mut filter: Filter) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let msg = match ev {
                    Ok(ev) => {
                        if !filter.matches(&ev) {
                            continue;
                        }
                        match serde_json::to_string(&*ev) {
                            Ok(text) => text,
                            Err(e) => {
                                tracing::warn!("CTI event not serialisable: {e}");
                                continue;
                            }
                        }
                    }
                    // Told, not silently dropped: a screen can resynchronise
                    // (e.g. from /api/v1/stats) when it knows it missed some.
                    Err(RecvError::Lagged(n)) => serde_json::json!({ "type": "lagged", "missed": n }).to_string(),
                    Err(RecvError::Closed) => {
                        let _ = send(&mut socket, Message::Close(None)).await;
                        return;
                    }
                };
                if !send(&mut socket, Message::Text(msg.into())).await {
                    return;
                }
            }
            msg = socket.recv() => match msg {
                // Pings are answered by the WebSocket layer itself; text and
                // binary from the client mean nothing here and are ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cti::CallInfo;

    fn ev(kind: CtiKind) -> CtiEvent {
        CtiEvent { at_ms: 1, kind }
    }

    fn offered(agent: &str, call: &str, queue: &str) -> CtiEvent {
        ev(CtiKind::CallOffered {
            agent: agent.into(),
            call: CallInfo { call_id: call.into(), queue: queue.into(), ..CallInfo::default() },
        })
    }

    fn state(agent: &str) -> CtiEvent {
        ev(CtiKind::AgentState { agent: agent.into(), state: "available".into(), reason: None })
    }

    #[test]
    fn filters_by_agent_and_queue() {
        let mut all = Filter::new(None, Some(String::new()));
        assert!(all.matches(&state("alice")) && all.matches(&offered("bob", "c", "q")), "empty filters match all");

        let mut alice = Filter::new(Some("alice".into()), None);
        assert!(alice.matches(&state("alice")));
        assert!(!alice.matches(&state("bob")));
        assert!(alice.matches(&offered("alice", "c1", "sales")));
        assert!(!alice.matches(&ev(CtiKind::QueueLeft { call_id: "c1".into(), queue: "sales".into(), outcome: "answered".into() })));

        let mut sales = Filter::new(None, Some("sales".into()));
        let joined = |q: &str| ev(CtiKind::QueueJoined { call: CallInfo { call_id: "c1".into(), queue: q.into(), ..CallInfo::default() } });
        assert!(sales.matches(&joined("sales")));
        assert!(!sales.matches(&joined("support")));
        assert!(!sales.matches(&state("alice")), "agent state names no queue");
        // Ringing of a call is only known to be sales' after its offer.
        let ringing = ev(CtiKind::CallRinging { agent: "alice".into(), call_id: "c1".into() });
        assert!(!sales.matches(&ringing));
        assert!(sales.matches(&offered("alice", "c1", "sales")));
        assert!(sales.matches(&ringing));
        assert!(!sales.matches(&offered("bob", "c2", "support")));
        assert!(!sales.matches(&ev(CtiKind::CallEnded { agent: "bob".into(), call_id: "c2".into() })));

        let mut both = Filter::new(Some("alice".into()), Some("sales".into()));
        assert!(both.matches(&offered("alice", "c3", "sales")));
        assert!(!both.matches(&offered("bob", "c4", "sales")));
        assert!(!both.matches(&offered("alice", "c5", "support")));
    }

    #[test]
    fn remembered_calls_are_bounded() {
        let mut f = Filter::new(None, Some("q".into()));
        for i in 0..TRACKED_CALLS + 10 {
            assert!(f.matches(&offered("a", &format!("c{i}"), "q")));
        }
        assert_eq!(f.calls.len(), TRACKED_CALLS);
        assert_eq!(f.order.len(), TRACKED_CALLS);
        assert!(!f.matches(&ev(CtiKind::CallEnded { agent: "a".into(), call_id: "c0".into() })), "oldest forgotten");
        assert!(f.matches(&ev(CtiKind::CallEnded { agent: "a".into(), call_id: format!("c{}", TRACKED_CALLS + 9) })));
    }

    #[test]
    fn key_from_bearer_header_or_query() {
        let mut h = HeaderMap::new();
        let mut q = HashMap::new();
        assert_eq!(presented_key(&h, &q), None);
        q.insert("key".to_string(), "sb_q".to_string());
        assert_eq!(presented_key(&h, &q).as_deref(), Some("sb_q"));
        h.insert(header::AUTHORIZATION, "bearer sb_h".parse().unwrap());
        assert_eq!(presented_key(&h, &q).as_deref(), Some("sb_h"), "the header wins");
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(presented_key(&h, &q).as_deref(), Some("sb_q"), "other schemes ignored");
        h.insert(header::AUTHORIZATION, header::HeaderValue::from_bytes(b"Bearer \xff").unwrap());
        q.clear();
        assert_eq!(presented_key(&h, &q), None, "non-UTF-8 header is no key");
        q.insert("key".to_string(), String::new());
        assert_eq!(presented_key(&HeaderMap::new(), &q), None);
    }

    #[test]
    fn malformed_query_is_a_400() {
        let uri: Uri = "/api/v1/events?key=%ZZ&agent=%".parse().unwrap();
        // serde_urlencoded decodes bad escapes leniently; either way no panic
        // and a usable answer.
        match query(&uri) {
            Ok(q) => assert!(q.contains_key("key")),
            Err(e) => assert!(e.starts_with("query string"), "{e}"),
        }
    }
}

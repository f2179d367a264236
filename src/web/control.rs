//! REST control of live calls and agents for panels and integrations:
//! `POST /api/v1/calls/{id}/{hangup|hold|unhold|transfer?to=}`,
//! attended transfer `POST /api/v1/calls/{id}/consult?to=` then
//! `.../consult/complete` (or `transfer?attended=1`) or `.../consult/cancel`,
//! three-way `POST /api/v1/calls/{id}/conference?add=` (without `add`: the
//! consulted party joins),
//! `POST /api/v1/agents/{id}/supervise?mode=listen|whisper|barge&supervisor=EXT`,
//! `POST /api/v1/calls/{id}/disposition?code=&notes=`,
//! `POST /api/v1/calls/{id}/recording/{start|stop|pause|resume}`,
//! `POST /api/v1/agents/{id}/{login|logout|pause?reason=|unpause}`. All need
//! an API key with the `calls` scope. Owns request parsing and status codes;
//! the core does the work.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::api::{authorize_owned, json_error, Owned};
use super::{ApiError, CoreApi};

fn answer(r: Result<(), ApiError>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(ApiError::NotFound(m)) => json_error(StatusCode::NOT_FOUND, &m),
        Err(ApiError::Invalid(m)) => json_error(StatusCode::CONFLICT, &m),
        Err(ApiError::Forbidden(m)) => json_error(StatusCode::FORBIDDEN, &m),
    }
}

pub(super) async fn call<C: CoreApi>(State(core): State<Arc<C>>, Path((call_id, action)): Path<(String, String)>, headers: HeaderMap, uri: Uri) -> Response {
    let q = match authorize_owned(&*core, &headers, &uri, "calls", Owned::Call(&call_id)).await {
        Ok(q) => q,
        Err(r) => return r,
    };
    let flag = |name: &str| q.get(name).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
    let (action, to) = match action.as_str() {
        // Attended: the consultation's party, no target of its own.
        "transfer" if flag("attended") => ("complete".to_string(), q.get("to").cloned()),
        "hangup" | "hold" | "unhold" | "transfer" | "consult" => (action, q.get("to").cloned()),
        "conference" => (action, q.get("add").cloned()),
        _ => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("unknown call action '{action}' (hangup, hold, unhold, transfer, consult, conference)"),
            )
        }
    };
    if action == "complete" && to.is_some() {
        return json_error(StatusCode::CONFLICT, "an attended transfer goes to the consulted party: no ?to=");
    }
    answer(core.call_control(call_id, action, to).await)
}

/// `POST /api/v1/calls/{id}/consult/{complete|cancel}`.
pub(super) async fn consult_step<C: CoreApi>(State(core): State<Arc<C>>, Path((call_id, step)): Path<(String, String)>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = authorize_owned(&*core, &headers, &uri, "calls", Owned::Call(&call_id)).await {
        return r;
    }
    if !matches!(step.as_str(), "complete" | "cancel") {
        return json_error(StatusCode::NOT_FOUND, &format!("unknown consultation step '{step}' (complete, cancel)"));
    }
    answer(core.call_control(call_id, step, None).await)
}

/// `POST /api/v1/calls/{id}/recording/{start|stop|pause|resume}`.
pub(super) async fn recording<C: CoreApi>(State(core): State<Arc<C>>, Path((call_id, action)): Path<(String, String)>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = authorize_owned(&*core, &headers, &uri, "calls", Owned::Call(&call_id)).await {
        return r;
    }
    if !matches!(action.as_str(), "start" | "stop" | "pause" | "resume") {
        return json_error(StatusCode::NOT_FOUND, &format!("unknown recording action '{action}' (start, stop, pause, resume)"));
    }
    let known = core.live_calls().contains(&call_id);
    match core.recording(call_id.clone(), action).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(m) if !known => json_error(StatusCode::NOT_FOUND, &m),
        Err(m) => json_error(StatusCode::CONFLICT, &m),
    }
}

pub(super) async fn disposition<C: CoreApi>(State(core): State<Arc<C>>, Path(call_id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let q = match authorize_owned(&*core, &headers, &uri, "calls", Owned::LastCall(&call_id)).await {
        Ok(q) => q,
        Err(r) => return r,
    };
    let code = q.get("code").cloned().unwrap_or_default();
    if code.is_empty() || code.len() > 64 {
        return json_error(StatusCode::BAD_REQUEST, "code must be 1 to 64 characters");
    }
    let notes = q.get("notes").cloned().unwrap_or_default();
    if notes.len() > 4096 {
        return json_error(StatusCode::BAD_REQUEST, "notes are limited to 4096 bytes");
    }
    answer(core.disposition(call_id, code, notes).await)
}

pub(super) async fn agent<C: CoreApi>(State(core): State<Arc<C>>, Path((agent, action)): Path<(String, String)>, headers: HeaderMap, uri: Uri) -> Response {
    let owned = if action == "supervise" { Owned::NotForAgents } else { Owned::Agent(&agent) };
    let q = match authorize_owned(&*core, &headers, &uri, "calls", owned).await {
        Ok(q) => q,
        Err(r) => return r,
    };
    if action == "supervise" {
        let Some(supervisor) = q.get("supervisor").filter(|s| !s.is_empty()).cloned() else {
            return json_error(StatusCode::BAD_REQUEST, "supervise needs ?supervisor=<extension>");
        };
        let mode = q.get("mode").cloned().unwrap_or_else(|| "listen".to_string());
        return answer(core.supervise(agent, mode, supervisor).await);
    }
    if !matches!(action.as_str(), "login" | "logout" | "pause" | "unpause") {
        return json_error(StatusCode::NOT_FOUND, &format!("unknown agent action '{action}' (login, logout, pause, unpause, supervise)"));
    }
    answer(core.agent_op(agent, action, q.get("reason").cloned()).await)
}

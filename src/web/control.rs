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

#[utoipa::path(
    post,
    path = "/api/v1/calls/{call_id}/{action}",
    operation_id = "control_call",
    tag = "calls",
    summary = "Control a live call",
    description = "`hangup`, `hold`, `unhold`; `transfer?to=` (blind), `transfer?attended=1` (to the party being \
consulted: no `to`); `consult?to=` starts an attended transfer's consultation (then `consult/complete` or \
`consult/cancel`); `conference?add=` makes a three-way call (without `add`: the consulted party joins). A console \
agent may control their own live call only.",
    params(
        ("call_id" = String, Path, description = "The caller's SIP Call-ID (`call_id` in the events)."),
        ("action" = inline(super::openapi::CallAction), Path),
        ("to" = Option<String>, Query, description = "`transfer` and `consult`: the extension or number to go to."),
        ("attended" = Option<bool>, Query, description = "`transfer`: `1` completes the consultation started with `consult`."),
        ("add" = Option<String>, Query, description = "`conference`: the extension or number to add."),
    ),
    responses(
        (status = 204, description = "Done."),
        (status = 404, description = "No such live call, or an unknown action.", body = super::openapi::ErrorBody),
        (status = 409, description = "The call cannot do it now, or the target is missing, not wanted or wrong.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("calls"))),
)]
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
#[utoipa::path(
    post,
    path = "/api/v1/calls/{call_id}/consult/{step}",
    tag = "calls",
    summary = "Complete or cancel an attended transfer",
    description = "`complete` transfers the caller to the party consulted with `consult?to=`; `cancel` hangs up on \
that party and takes the caller back.",
    params(
        ("call_id" = String, Path, description = "The caller's SIP Call-ID."),
        ("step" = inline(super::openapi::ConsultStep), Path),
    ),
    responses(
        (status = 204, description = "Done."),
        (status = 404, description = "No such live call, or an unknown step.", body = super::openapi::ErrorBody),
        (status = 409, description = "No consultation in progress.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("calls"))),
)]
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
#[utoipa::path(
    post,
    path = "/api/v1/calls/{call_id}/recording/{action}",
    operation_id = "record_call",
    tag = "calls",
    summary = "Record a live call",
    description = "Starts, stops, pauses or resumes the recording of a live call (the file goes to the data \
directory's `recordings/`, listed with the call record).",
    params(
        ("call_id" = String, Path, description = "The caller's SIP Call-ID."),
        ("action" = inline(super::openapi::RecordingAction), Path),
    ),
    responses(
        (status = 204, description = "Done."),
        (status = 404, description = "No such live call, or an unknown action.", body = super::openapi::ErrorBody),
        (status = 409, description = "The call refused (e.g. `stop` while not recording).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("calls"))),
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/calls/{call_id}/disposition",
    operation_id = "set_disposition",
    tag = "calls",
    summary = "Set a call's disposition",
    description = "The agent's disposition code and notes, kept with the call record; during the call or its \
wrap-up. A console agent may set it on their live or last call only.",
    params(
        ("call_id" = String, Path, description = "The caller's SIP Call-ID."),
        ("code" = String, Query, description = "Disposition code, 1 to 64 characters."),
        ("notes" = Option<String>, Query, description = "Free text, up to 4096 bytes."),
    ),
    responses(
        (status = 204, description = "Recorded."),
        (status = 400, description = "`code` missing or too long, `notes` too long, or a malformed query string.", body = super::openapi::ErrorBody),
        (status = 404, description = "No call record with that Call-ID.", body = super::openapi::ErrorBody),
        (status = 409, description = "The call record cannot take it.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("calls"))),
)]
pub(super) async fn disposition<C: CoreApi>(State(core): State<Arc<C>>, Path(call_id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let q = match authorize_owned(&*core, &headers, &uri, "calls", Owned::LastCall(&call_id)).await {
        Ok(q) => q,
        Err(r) => return r,
    };
    let (code, notes) = match wrap_up(&q) {
        Ok(w) => w,
        Err(r) => return r,
    };
    answer(core.disposition(call_id, code, notes).await)
}

/// The wrap-up's `code` (1 to 64 characters) and `notes` (up to 4096 bytes)
/// from the query, for calls and chats alike; a 400 otherwise.
pub(super) fn wrap_up(q: &std::collections::HashMap<String, String>) -> Result<(String, String), Response> {
    let code = q.get("code").cloned().unwrap_or_default();
    if code.is_empty() || code.len() > 64 {
        return Err(json_error(StatusCode::BAD_REQUEST, "code must be 1 to 64 characters"));
    }
    let notes = q.get("notes").cloned().unwrap_or_default();
    if notes.len() > 4096 {
        return Err(json_error(StatusCode::BAD_REQUEST, "notes are limited to 4096 bytes"));
    }
    Ok((code, notes))
}

#[utoipa::path(
    post,
    path = "/api/v1/agents/{agent}/{action}",
    operation_id = "agent_action",
    tag = "agents",
    summary = "Change an agent's state, or supervise their call",
    description = "`login`, `logout`, `pause` (with an optional `reason`), `unpause`, as the agent's phone codes do; \
`supervise?supervisor=EXT&mode=` rings the supervisor's extension and joins it to the agent's call (again for the \
same agent: changes the mode). A console agent may change their own state only, and cannot supervise.",
    params(
        ("agent" = String, Path, description = "Agent id (login name) or extension."),
        ("action" = inline(super::openapi::AgentAction), Path),
        ("reason" = Option<String>, Query, description = "`pause`: why (shown on wallboards and in statistics)."),
        ("supervisor" = Option<String>, Query, description = "`supervise`: the supervisor's extension (required)."),
        ("mode" = inline(Option<super::openapi::SuperviseMode>), Query, description = "`supervise`: default `listen`."),
    ),
    responses(
        (status = 204, description = "Done."),
        (status = 400, description = "`supervise` without `supervisor`, or a malformed query string.", body = super::openapi::ErrorBody),
        (status = 403, description = "`supervisor` is not a supervisor's extension; or the credential lacks the scope, a console agent acts on another agent or supervises, a console session sent no valid `X-CSRF-Token`.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such agent (or, to supervise, the agent has no call), or an unknown action.", body = super::openapi::ErrorBody),
        (status = 409, description = "Not possible now: the ACD is not running, an unknown mode, the supervisor is busy or unreachable.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("calls"))),
)]
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

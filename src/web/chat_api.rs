//! The agents' side of web chats, for the agent panel and integrations:
//! `POST /api/v1/chats/{id}/{accept|decline|end}`,
//! `POST /api/v1/chats/{id}/message` with `{"text": "..."}`,
//! `POST /api/v1/chats/{id}/disposition?code=&notes=` (wrap-up), and
//! `GET /api/v1/chats/{id}` (the transcript). Scope `calls`. A console
//! agent acts as their own agent and only on chats offered to them or
//! theirs; an API key or a supervisor names the agent with `?agent=`.
//! Owns request parsing and status codes; `crate::chat` does the work.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::api::{authorize_principal, json_error};
use super::CoreApi;
use crate::chat::{ChatError, ChatHub};

fn chat_error(e: ChatError) -> Response {
    let status = match &e {
        ChatError::NotFound => StatusCode::NOT_FOUND,
        ChatError::Forbidden(_) => StatusCode::FORBIDDEN,
        ChatError::Invalid(_) => StatusCode::CONFLICT,
        ChatError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    json_error(status, &e.to_string())
}

/// The query, the hub and the agent acting: a console agent is always
/// themselves, whatever the query says; others name one with `?agent=`.
async fn authorize<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri) -> Result<(HashMap<String, String>, ChatHub, String), Response> {
    let q = axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|axum::extract::Query(q)| q)
        .map_err(|e| json_error(StatusCode::BAD_REQUEST, &format!("query string: {e}")))?;
    let p = authorize_principal(core, headers, &q, "calls").await?;
    let Some(hub) = core.contact() else {
        return Err(json_error(StatusCode::NOT_FOUND, "web chat is not enabled"));
    };
    match p.agent.or_else(|| q.get("agent").filter(|a| !a.is_empty()).cloned()) {
        Some(agent) => Ok((q, hub, agent)),
        None => Err(json_error(StatusCode::BAD_REQUEST, "name the agent: ?agent=<id>")),
    }
}

/// `POST /api/v1/chats/{id}/{action}`.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/{action}",
    operation_id = "chat_action",
    tag = "chats",
    summary = "Act on a web chat",
    description = "`accept` or `decline` an offered chat; `message` sends the JSON body `{\"text\": \"...\"}` to the \
visitor; `end` closes it (the agent goes to wrap-up); `disposition?code=&notes=` saves the wrap-up. A console agent \
always acts as themselves; an API key names the agent with `?agent=`.",
    params(
        ("chat_id" = String, Path, description = "The chat's id."),
        ("action" = inline(super::openapi::ChatAction), Path),
        ("agent" = Option<String>, Query, description = "API keys: the agent acting."),
        ("code" = Option<String>, Query, description = "`disposition`: the code (1 to 64 characters)."),
        ("notes" = Option<String>, Query, description = "`disposition`: notes (up to 4096 bytes)."),
    ),
    responses(
        (status = 204, description = "Done."),
        (status = 404, description = "No such chat, an unknown action, or web chat is not enabled.", body = super::openapi::ErrorBody),
        (status = 409, description = "The chat cannot do it now (not offered to this agent, ended, message too long).", body = super::openapi::ErrorBody),
        (status = 503, description = "The chat service is not available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("calls"))),
)]
pub(super) async fn action<C: CoreApi>(State(core): State<Arc<C>>, Path((chat_id, action)): Path<(String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let (q, hub, agent) = match authorize(&*core, &headers, &uri).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let done = match action.as_str() {
        "accept" => hub.accept(&chat_id, &agent).await,
        "decline" => hub.decline(&chat_id, &agent).await,
        "end" => hub.end(&chat_id, &agent).await,
        "message" => {
            let text = match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v) => v.get("text").and_then(|t| t.as_str()).map(str::to_string),
                Err(_) => None,
            };
            let Some(text) = text else {
                return json_error(StatusCode::BAD_REQUEST, "the body must be JSON {\"text\": \"...\"}");
            };
            hub.say(&chat_id, &agent, &text).await
        }
        "disposition" => return disposition(&hub, &chat_id, &agent, &q).await,
        _ => return json_error(StatusCode::NOT_FOUND, &format!("unknown chat action '{action}' (accept, decline, message, end, disposition)")),
    };
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => chat_error(e),
    }
}

/// Wrap-up of a chat the agent took: code and notes on the chat's row.
async fn disposition(hub: &ChatHub, chat_id: &str, agent: &str, q: &HashMap<String, String>) -> Response {
    let (code, notes) = match super::control::wrap_up(q) {
        Ok(w) => w,
        Err(r) => return r,
    };
    match hub.store().chat(chat_id).await {
        Ok(Some(c)) if c.agent.as_deref() == Some(agent) => {}
        Ok(Some(_)) => return json_error(StatusCode::FORBIDDEN, "this chat was not yours"),
        Ok(None) => return chat_error(ChatError::NotFound),
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
    match hub.store().set_chat_disposition(chat_id, &code, &notes).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => json_error(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// A chat and its transcript, as `GET /api/v1/chats/{id}` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct ChatTranscript {
    id: String,
    queue: String,
    visitor_name: String,
    visitor_phone: String,
    visitor_email: String,
    customer_id: Option<i64>,
    agent: Option<String>,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    ended_by: Option<String>,
    disposition: Option<String>,
    notes: Option<String>,
    messages: Vec<crate::store::ChatMessage>,
}

/// `GET /api/v1/chats/{id}`: the chat and its transcript. A console agent
/// sees chats offered to them or taken by them.
#[utoipa::path(
    get,
    path = "/api/v1/chats/{chat_id}",
    operation_id = "get_chat",
    tag = "chats",
    summary = "A web chat and its transcript",
    description = "A console agent may read chats offered to them or taken by them.",
    params(
        ("chat_id" = String, Path, description = "The chat's id (`chat_id` in the chat events)."),
    ),
    responses(
        (status = 200, description = "The chat.", body = ChatTranscript),
        (status = 404, description = "No such chat, or web chat is not enabled.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("calls"))),
)]
pub(super) async fn transcript<C: CoreApi>(State(core): State<Arc<C>>, Path(chat_id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let q = match axum::extract::Query::<HashMap<String, String>>::try_from_uri(&uri) {
        Ok(axum::extract::Query(q)) => q,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("query string: {e}")),
    };
    let p = match authorize_principal(&*core, &headers, &q, "calls").await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(hub) = core.contact() else {
        return json_error(StatusCode::NOT_FOUND, "web chat is not enabled");
    };
    let chat = match hub.store().chat(&chat_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return chat_error(ChatError::NotFound),
        Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if let Some(me) = &p.agent {
        if chat.agent.as_deref() != Some(me.as_str()) && !hub.involves(&chat_id, me) {
            return json_error(StatusCode::FORBIDDEN, "an agent may read chats offered to them or theirs only");
        }
    }
    let messages = hub.store().chat_messages(&chat_id).await.unwrap_or_default();
    let body = ChatTranscript {
        id: chat.id,
        queue: chat.queue,
        visitor_name: chat.visitor_name,
        visitor_phone: chat.visitor_phone,
        visitor_email: chat.visitor_email,
        customer_id: chat.customer_id,
        agent: chat.agent,
        started_at_ms: chat.started_at_ms,
        answered_at_ms: chat.answered_at_ms,
        ended_at_ms: chat.ended_at_ms,
        ended_by: chat.ended_by,
        disposition: chat.disposition,
        notes: chat.notes,
        messages,
    };
    let body = serde_json::to_string(&body).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

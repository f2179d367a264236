//! Voicemail over HTTP, scope `admin` (as the console's voicemail pages):
//! `GET /api/v1/mailboxes` (with message counts),
//! `GET /api/v1/mailboxes/{mailbox}/messages`, and per message
//! `GET /api/v1/voicemail/{id}/audio` (from the `[voicemail]` folder only,
//! with byte ranges), `POST .../heard` and `DELETE /api/v1/voicemail/{id}`
//! (the row and its audio, the store's removal). Changes are audited like
//! the page's; `POST /api/v1/mailboxes` and `DELETE
//! /api/v1/mailboxes/{mailbox}` create and remove mailboxes with the
//! console's checks (`admin::mailboxes`). Owns request parsing and routes
//! only; must not change greetings, PINs of existing mailboxes or call flow.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::admin::{json, Answer, Refused};
use super::api::json_error;
use super::admin::json_body;
use super::caller::{fields_error, json_refusal, refuse, store, AdminCaller};
use super::CoreApi;
use crate::store::{Store, VoicemailMessage};

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MailboxView {
    number: String,
    name: String,
    /// `extension` or `group`.
    kind: String,
    /// Group members (extensions).
    members: Vec<String>,
    /// Where new messages are e-mailed.
    email: Option<String>,
    /// Whether a greeting is recorded (else the spoken default plays).
    greeting: bool,
    max_message_secs: i64,
    new_messages: i64,
    heard_messages: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MailboxList {
    mailboxes: Vec<MailboxView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MessageView {
    id: i64,
    mailbox: String,
    caller: String,
    caller_name: String,
    call_id: String,
    /// Unix seconds.
    created_at: i64,
    duration_ms: i64,
    heard: bool,
    emailed: bool,
    /// Where it is played from (this API).
    audio: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MessageList {
    mailbox: String,
    /// Newest first.
    messages: Vec<MessageView>,
}

impl From<VoicemailMessage> for MessageView {
    fn from(m: VoicemailMessage) -> MessageView {
        MessageView {
            audio: format!("/api/v1/voicemail/{}/audio", m.id),
            id: m.id,
            mailbox: m.mailbox,
            caller: m.caller,
            caller_name: m.caller_name,
            call_id: m.call_id,
            created_at: m.created_at,
            duration_ms: m.duration_ms,
            heard: m.heard,
            emailed: m.emailed,
        }
    }
}

/// Message `raw` (an id in the path), or 404.
async fn message(store: &Store, raw: &str) -> Result<VoicemailMessage, Refused> {
    let missing = || Refused::from(json_error(StatusCode::NOT_FOUND, &format!("voicemail message {raw} not found")));
    let id: i64 = raw.parse().map_err(|_| missing())?;
    store.message(id).await.map_err(refuse)?.ok_or_else(missing)
}

#[utoipa::path(
    get,
    path = "/api/v1/mailboxes",
    operation_id = "list_mailboxes",
    tag = "voicemail",
    summary = "List voicemail mailboxes",
    description = "Every mailbox with its new and heard message counts. Never a PIN.",
    responses((status = 200, description = "The mailboxes.", body = MailboxList)),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn mailboxes<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let store = store(&*core)?;
    let mut mailboxes = Vec::new();
    for m in store.list_mailboxes().await.map_err(refuse)? {
        let (new, heard) = store.message_counts(&m.number).await.map_err(refuse)?;
        mailboxes.push(MailboxView {
            kind: m.kind.as_str().to_string(),
            greeting: m.greeting_path.is_some(),
            number: m.number,
            name: m.name,
            members: m.members,
            email: m.email,
            max_message_secs: m.max_message_secs,
            new_messages: new,
            heard_messages: heard,
        });
    }
    Ok(json(StatusCode::OK, &MailboxList { mailboxes }))
}

#[utoipa::path(
    get,
    path = "/api/v1/mailboxes/{mailbox}/messages",
    operation_id = "list_voicemail_messages",
    tag = "voicemail",
    summary = "List a mailbox's messages",
    params(("mailbox" = String, Path, description = "Mailbox number.")),
    responses(
        (status = 200, description = "The messages, newest first.", body = MessageList),
        (status = 404, description = "No such mailbox.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn messages<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path(mailbox): Path<String>) -> Answer {
    let store = store(&*core)?;
    if store.mailbox(&mailbox).await.map_err(refuse)?.is_none() {
        return Err(json_error(StatusCode::NOT_FOUND, &format!("mailbox {mailbox} not found")).into());
    }
    let mut list = store.messages(&mailbox).await.map_err(refuse)?;
    list.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    Ok(json(StatusCode::OK, &MessageList { mailbox, messages: list.into_iter().map(MessageView::from).collect() }))
}

#[utoipa::path(
    get,
    path = "/api/v1/voicemail/{id}/audio",
    operation_id = "get_voicemail_audio",
    tag = "voicemail",
    summary = "Download a voicemail message",
    description = "Only from the `[voicemail]` folder (whatever the row says), with a single byte `Range` honoured (206).",
    params(("id" = i64, Path, description = "Message id.")),
    responses(
        (status = 200, description = "The message audio.", content_type = "audio/*"),
        (status = 206, description = "The byte range asked for.", content_type = "audio/*"),
        (status = 404, description = "No such message, or its file is missing or outside the voicemail folder.", body = super::openapi::ErrorBody),
        (status = 416, description = "The range is past the end of the file.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn audio<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path(raw): Path<String>, headers: HeaderMap) -> Answer {
    let store = store(&*core)?;
    let m = message(&store, &raw).await?;
    let Some(data) = core.data_dir() else { return Err(json_error(StatusCode::NOT_FOUND, "no such message").into()) };
    Ok(json_refusal(super::console::audio::serve(&m.path, &core.voicemail_config().dir_in(&data), &headers), "message"))
}

#[utoipa::path(
    post,
    path = "/api/v1/voicemail/{id}/heard",
    operation_id = "mark_voicemail_heard",
    tag = "voicemail",
    summary = "Mark a message heard",
    params(("id" = i64, Path, description = "Message id.")),
    responses(
        (status = 204, description = "Marked."),
        (status = 404, description = "No such message.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn heard<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(raw): Path<String>) -> Answer {
    let store = store(&*core)?;
    let m = message(&store, &raw).await?;
    store.mark_heard(m.id).await.map_err(refuse)?;
    who.audit(&store, "voicemail.heard", &m.mailbox, &format!("message {} from {}", m.id, m.caller)).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/voicemail/{id}",
    operation_id = "delete_voicemail",
    tag = "voicemail",
    summary = "Delete a message",
    description = "The row and its audio file.",
    params(("id" = i64, Path, description = "Message id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such message.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(raw): Path<String>) -> Answer {
    let store = store(&*core)?;
    let m = message(&store, &raw).await?;
    store.delete_message(m.id).await.map_err(refuse)?;
    who.audit(&store, "voicemail.delete", &m.mailbox, &format!("message {} from {}", m.id, m.caller)).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A new mailbox, as the console's form takes it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewMailbox {
    /// Digits; an extension's number, or any free number for a group.
    number: String,
    #[serde(default)]
    name: String,
    /// 4 to 10 digits.
    pin: String,
    email: Option<String>,
    /// A shared mailbox whose messages `members` are told about.
    #[serde(default)]
    group: bool,
    #[serde(default)]
    members: Vec<String>,
    /// Longest message; the `[voicemail]` default when absent.
    max_message_secs: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/mailboxes",
    operation_id = "create_mailbox",
    tag = "voicemail",
    summary = "Create a mailbox",
    description = "Like the console's form and `switchboard mailbox add`: the same checks, errors naming the field. The PIN is stored salted and hashed; it is never returned.",
    request_body = NewMailbox,
    responses(
        (status = 201, description = "Created.", body = MailboxView),
        (status = 409, description = "The number has a mailbox.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names the first).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create_mailbox<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let f: NewMailbox = json_body(&headers, body).await?;
    let input = crate::admin::MailboxInput {
        number: f.number,
        name: f.name,
        pin: f.pin.clone(),
        email: f.email,
        group: f.group,
        members: f.members,
        max_secs: f.max_message_secs,
    };
    let mailbox = crate::admin::check_mailbox(&input, core.voicemail_config().max_message_secs).map_err(|e| fields_error(&e))?;
    if let Ok(Some(_)) = store.mailbox(&mailbox.number).await {
        return Err(json_error(StatusCode::CONFLICT, &format!("mailbox {} exists", mailbox.number)).into());
    }
    store.create_mailbox(&mailbox, &f.pin).await.map_err(refuse)?;
    let detail = format!("{} '{}', max {} s", mailbox.kind.as_str(), mailbox.name, mailbox.max_message_secs);
    who.audit(&store, "mailbox.create", &mailbox.number, &detail).await;
    let view = MailboxView {
        kind: mailbox.kind.as_str().to_string(),
        greeting: false,
        number: mailbox.number,
        name: mailbox.name,
        members: mailbox.members,
        email: mailbox.email,
        max_message_secs: mailbox.max_message_secs,
        new_messages: 0,
        heard_messages: 0,
    };
    Ok(json(StatusCode::CREATED, &view))
}

#[utoipa::path(
    delete,
    path = "/api/v1/mailboxes/{mailbox}",
    operation_id = "delete_mailbox",
    tag = "voicemail",
    summary = "Delete a mailbox",
    description = "The mailbox with its messages and their audio, as the console's delete.",
    params(("mailbox" = String, Path, description = "Mailbox number.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such mailbox.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete_mailbox<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(number): Path<String>) -> Answer {
    let store = store(&*core)?;
    if !matches!(store.mailbox(&number).await, Ok(Some(_))) {
        return Err(json_error(StatusCode::NOT_FOUND, "no such mailbox").into());
    }
    let (new, old) = store.message_counts(&number).await.unwrap_or((0, 0));
    store.delete_mailbox(&number).await.map_err(refuse)?;
    who.audit(&store, "mailbox.delete", &number, &format!("with {} messages", new + old)).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

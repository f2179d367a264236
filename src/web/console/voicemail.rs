//! Voicemail, admin only: mailboxes (list with message counts, create,
//! delete with their messages) and each mailbox's messages (listen in the
//! browser, mark heard, delete). Mailbox rules are `crate::admin`'s, shared
//! with `switchboard mailbox add`; rows and files are the store's (deleting
//! a row removes its audio). Audio is streamed by `audio` from the
//! `[voicemail]` folder only. Must not change greetings or PINs of existing
//! mailboxes, nor touch call flow.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::extensions::{flash_of, FlashQuery};
use super::layout::{duration, field, Flash};
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::admin::{check_mailbox, MailboxInput};
use crate::store::{InvalidField, Role, StoreError};
use crate::web::CoreApi;

async fn admin<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Admin)?;
    Ok(v)
}

fn utc(secs: i64) -> String {
    super::calls::utc_ms(secs.saturating_mul(1000))
}

#[derive(Debug, Deserialize, Default)]
pub struct NewMailbox {
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    members: String,
    #[serde(default)]
    max_secs: String,
}

async fn page(v: &Viewer, default_secs: u32, flash: Option<Flash>, f: &NewMailbox, errors: &[InvalidField], status: StatusCode) -> Response {
    let err = |name: &str| errors.iter().find(|e| e.field == name).map(|e| e.message.as_str());
    let boxes = v.store.list_mailboxes().await.unwrap_or_default();
    let mut rows = Vec::new();
    for m in boxes {
        let counts = v.store.message_counts(&m.number).await.unwrap_or((0, 0));
        rows.push((m, counts));
    }
    let max_secs = if f.max_secs.is_empty() { default_secs.to_string() } else { f.max_secs.clone() };
    let body = html! {
        div.card {
            h2 { "New mailbox" }
            form.inline id="new-mailbox" method="post" action="/voicemail" {
                input type="hidden" name="_csrf" value=(v.csrf);
                (field("Number", "number", "text", &f.number, err("number")))
                (field("Name", "name", "text", &f.name, None))
                (field("PIN (4 to 10 digits)", "pin", "password", "", err("pin")))
                (field("E-mail new messages to (optional)", "email", "email", &f.email, err("email")))
                label { "Kind" select name="kind" id="kind" {
                    option value="extension" selected[f.kind != "group"] { "extension" }
                    option value="group" selected[f.kind == "group"] { "group" }
                } }
                (field("Members (groups; comma separated)", "members", "text", &f.members, err("members")))
                (field("Longest message (seconds)", "max_secs", "number", &max_secs, err("max_secs")))
                button type="submit" id="create-mailbox" { "Add mailbox" }
            }
            p.muted { "Owners listen to their messages with *97. Greetings and PINs are changed by phone or with " code { "switchboard mailbox" } "." }
        }
        div.card {
            h2 { "Mailboxes" }
            @if rows.is_empty() { div.empty { "No mailboxes yet. Callers reaching an extension without one hear no voicemail prompt." } } @else {
                input.filter type="search" placeholder="Filter…" data-filter="mailboxes-table" aria-label="Filter mailboxes";
                table id="mailboxes-table" {
                    thead { tr { th data-sort { "Number" } th data-sort { "Name" } th data-sort { "Kind" } th data-sort { "New" } th data-sort { "Heard" } th data-sort { "E-mail" } th data-sort { "Greeting" } th data-sort { "Max" } th { "" } } }
                    tbody { @for (m, (new, old)) in &rows {
                        tr data-mailbox=(m.number) {
                            td { a href={ "/voicemail/" (m.number) } { (m.number) } }
                            td { (m.name) }
                            td { (m.kind.as_str()) @if !m.members.is_empty() { div.muted { (m.members.join(", ")) } } }
                            td data-value=(new) { @if *new > 0 { span.badge.warn { (new) } } @else { "0" } }
                            td { (old) }
                            td { (m.email.as_deref().unwrap_or("–")) }
                            td { @if m.greeting_path.is_some() { "recorded" } @else { span.muted { "default" } } }
                            td data-value=(m.max_message_secs) { (duration(m.max_message_secs)) }
                            td {
                                a.button.secondary href={ "/voicemail/" (m.number) } { "Messages" }
                                form method="post" action={ "/voicemail/" (m.number) "/delete" } data-confirm={ "Delete mailbox " (m.number) " and all its messages?" } {
                                    input type="hidden" name="_csrf" value=(v.csrf);
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    } }
                }
            }
        }
        script src=(crate::web::assets::url("records.js")) defer {}
    };
    let mut r = render(v, "/voicemail", "Voicemail", flash.as_ref(), body);
    *r.status_mut() = status;
    r
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    page(&v, core.voicemail_config().max_message_secs, flash_of(&q), &NewMailbox::default(), &[], StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<NewMailbox>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let default_secs = core.voicemail_config().max_message_secs;
    let mut errors = Vec::new();
    let max_secs = match f.max_secs.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(InvalidField { field: "max_secs", message: format!("'{s}' is not a number of seconds") });
                None
            }
        },
    };
    let input = MailboxInput {
        number: f.number.clone(),
        name: f.name.clone(),
        pin: f.pin.clone(),
        email: Some(f.email.clone()),
        group: f.kind == "group",
        members: f.members.split(',').map(str::to_string).collect(),
        max_secs,
    };
    match check_mailbox(&input, default_secs) {
        Ok(mailbox) if errors.is_empty() => match v.store.create_mailbox(&mailbox, &f.pin).await {
            Ok(()) => {
                let detail = format!("{} '{}', max {} s", mailbox.kind.as_str(), mailbox.name, mailbox.max_message_secs);
                v.audit("mailbox.create", &mailbox.number, &detail).await;
                return see_other(&format!("/voicemail?ok={}", urlencode(&format!("Mailbox {} added.", mailbox.number))));
            }
            // A taken number (or a failed write) is reported at the number.
            Err(e) => errors.push(InvalidField { field: "number", message: e.to_string() }),
        },
        Ok(_) => {}
        Err(mut found) => errors.append(&mut found),
    }
    let flash = Flash::error("The mailbox was not added: see the marked fields.");
    page(&v, default_secs, Some(flash), &f, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(number): Path<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (new, old) = v.store.message_counts(&number).await.unwrap_or((0, 0));
    match v.store.delete_mailbox(&number).await {
        Ok(()) => {
            v.audit("mailbox.delete", &number, &format!("with {} messages", new + old)).await;
            see_other(&format!("/voicemail?ok={}", urlencode(&format!("Mailbox {number} deleted with its messages."))))
        }
        Err(e) => see_other(&format!("/voicemail?err={}", urlencode(&e.to_string()))),
    }
}

/// `GET /voicemail/{number}`: one mailbox's messages, newest first.
pub async fn messages<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(number): Path<String>, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mailbox = match v.store.mailbox(&number).await {
        Ok(Some(m)) => m,
        Ok(None) => return see_other(&format!("/voicemail?err={}", urlencode(&format!("Mailbox {number} not found.")))),
        Err(e) => return see_other(&format!("/voicemail?err={}", urlencode(&e.to_string()))),
    };
    let mut list = v.store.messages(&number).await.unwrap_or_default();
    list.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    let title = if mailbox.name.is_empty() { format!("Voicemail {}", mailbox.number) } else { format!("Voicemail {} · {}", mailbox.number, mailbox.name) };
    let body = html! {
        p { a href="/voicemail" { "← All mailboxes" } }
        div.card {
            h2 { "Messages" }
            @if list.is_empty() { div.empty { "No messages in this mailbox." } } @else {
                input.filter type="search" placeholder="Filter…" data-filter="messages-table" aria-label="Filter messages";
                table id="messages-table" {
                    thead { tr { th data-sort { "Received (UTC)" } th data-sort { "From" } th data-sort { "Length" } th data-sort { "Status" } th { "Listen" } th { "" } } }
                    tbody { @for m in &list {
                        tr data-message=(m.id) {
                            td data-value=(m.created_at) { (utc(m.created_at)) }
                            td { @if !m.caller_name.is_empty() { (m.caller_name) " " } span.mono { (m.caller) } }
                            td data-value=(m.duration_ms) { (duration((m.duration_ms + 500) / 1000)) }
                            td { @if m.heard { span.badge { "heard" } } @else { span.badge.warn { "new" } } @if m.emailed { " " span.muted { "e-mailed" } } }
                            td { audio controls preload="none" src={ "/voicemail/messages/" (m.id) "/audio" } aria-label={ "Message " (m.id) } {} }
                            td {
                                @if !m.heard {
                                    form method="post" action={ "/voicemail/messages/" (m.id) "/heard" } {
                                        input type="hidden" name="_csrf" value=(v.csrf);
                                        button.secondary type="submit" { "Mark heard" }
                                    }
                                }
                                form method="post" action={ "/voicemail/messages/" (m.id) "/delete" } data-confirm="Delete this message?" {
                                    input type="hidden" name="_csrf" value=(v.csrf);
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    } }
                }
            }
        }
        script src=(crate::web::assets::url("records.js")) defer {}
    };
    render(&v, "/voicemail", &title, flash_of(&q).as_ref(), body)
}

/// After a message action: back to its mailbox's page with a notice.
fn back_to(mailbox: &str, r: Result<String, StoreError>) -> Response {
    match r {
        Ok(m) => see_other(&format!("/voicemail/{}?ok={}", urlencode(mailbox), urlencode(&m))),
        Err(e) => see_other(&format!("/voicemail/{}?err={}", urlencode(mailbox), urlencode(&e.to_string()))),
    }
}

/// The message `id` (as the URL gave it), or where to go instead.
async fn message_of(v: &Viewer, id: &str) -> Result<crate::store::VoicemailMessage, Response> {
    let not_found = || see_other(&format!("/voicemail?err={}", urlencode("That message no longer exists.")));
    let Ok(id) = id.parse::<i64>() else { return Err(not_found()) };
    match v.store.message(id).await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(not_found()),
        Err(e) => Err(see_other(&format!("/voicemail?err={}", urlencode(&e.to_string())))),
    }
}

pub async fn mark_heard<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let m = match message_of(&v, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let r = async {
        v.store.mark_heard(m.id).await?;
        v.audit("voicemail.heard", &m.mailbox, &format!("message {} from {}", m.id, m.caller)).await;
        Ok("Message marked as heard.".to_string())
    }
    .await;
    back_to(&m.mailbox, r)
}

pub async fn delete_message<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let m = match message_of(&v, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let r = async {
        v.store.delete_message(m.id).await?;
        v.audit("voicemail.delete", &m.mailbox, &format!("message {} from {}", m.id, m.caller)).await;
        Ok("Message deleted.".to_string())
    }
    .await;
    back_to(&m.mailbox, r)
}

/// `GET /voicemail/messages/{id}/audio`: from the `[voicemail]` folder only.
pub async fn audio<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let missing = || (StatusCode::NOT_FOUND, "no such message\n").into_response();
    let (Ok(id), Some(data)) = (id.parse::<i64>(), core.data_dir()) else { return missing() };
    match v.store.message(id).await {
        Ok(Some(m)) => super::audio::serve(&m.path, &core.voicemail_config().dir_in(&data), &headers),
        Ok(None) => missing(),
        Err(e) => {
            tracing::error!("voicemail message {id}: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the message could not be read\n").into_response()
        }
    }
}

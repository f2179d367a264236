//! The agent panel: the agent's state with ready / pause / log in / log out,
//! the screen pop (customer record, previous calls and notes) as soon as
//! the phone rings, call controls while talking (hold, blind transfer,
//! attended transfer — consult, then complete or cancel —, adding a party
//! for a three-way call, recording, hang-up), and the wrap-up form
//! (disposition and notes), and web chats from `/contact`: the offer with
//! Accept / Decline, the conversation, ending it, then the same wrap-up.
//! The page is a shell; `assets/panel.js` fills it from the CTI event
//! stream (`/api/v1/events`, which limits an agent session to its own
//! agent) and acts through the REST call, agent and chat control routes.
//! The caller's history (calls and chats) is a server-rendered fragment;
//! a chat's transcript is a page of its own (`/agent/chats/{id}`); the
//! callbacks waiting in the agent's queues are `agent_callbacks`' card.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::duration;
use super::{agent_callbacks, render, viewer, Peer};
use crate::store::Role;
use crate::web::{assets, CoreApi};

/// Pause reasons offered on the panel (any code is accepted by the API).
const PAUSE_REASONS: &[&str] = &["break", "lunch", "meeting", "training", "after-call-work"];

pub async fn page<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(agent) = v.user.agent_id.clone() else {
        let body = html! { div.card { p { "Your user is not linked to an ACD agent. An administrator can set the agent id on the Users page." } } };
        return render(&v, "/agent", "Agent panel", None, body);
    };
    let state = core
        .acd_stats()
        .await
        .and_then(|s| s["agents"].as_array().and_then(|a| a.iter().find(|x| x["id"] == agent.as_str()).map(|x| x["state"].clone())))
        .map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string()))
        .unwrap_or_else(|| "unknown".into());
    let body = html! {
        div #panel data-agent=(agent) {
            div.grid {
                div.card {
                    h2 { "My state" }
                    div.stat id="agent-state" { (state) }
                    div.inline {
                        button id="ready" data-action="unpause" { "Ready" }
                        select id="pause-reason" aria-label="Pause reason" { @for r in PAUSE_REASONS { option value=(r) { (r) } } }
                        button.secondary id="pause" data-action="pause" { "Pause" }
                        button.secondary id="login" data-action="login" { "Log in" }
                        button.secondary id="logout-agent" data-action="logout" { "Log out" }
                    }
                    div.muted id="panel-status" role="status" {}
                }
                div.card id="call-card" hidden {
                    h2 { "Call" }
                    div id="call-summary" {}
                    div id="call-controls" data-mode="talking" hidden {
                        div.inline {
                            button.secondary data-call="hold" { "Hold" }
                            button.secondary data-call="unhold" { "Resume" }
                            button.secondary data-rec="start" { "Record" }
                            button.secondary data-rec="stop" { "Stop recording" }
                            button.danger data-call="hangup" { "Hang up" }
                        }
                        // One number for the blind transfer, the consultation and the added party.
                        div.inline {
                            input type="text" id="transfer-to" placeholder="Number or extension" aria-label="Number or extension" maxlength="64";
                            button.secondary data-call="transfer" title="The caller goes there now; you are released" { "Transfer" }
                            button.secondary data-party="consult" title="The caller hears music while you talk to the number" { "Consult" }
                            button.secondary data-party="add" title="The number joins you and the caller" { "Add to call" }
                        }
                        div.inline id="party-controls" {
                            span.badge id="party-state" role="status" hidden {}
                            button data-party="complete" disabled { "Complete transfer" }
                            button.secondary data-party="merge" disabled title="The consulted party joins you and the caller" { "Join all three" }
                            button.secondary data-party="cancel" disabled { "Cancel (back to caller)" }
                        }
                    }
                }
            }
            div.card id="chat-card" hidden {
                h2 { "Web chat" }
                div id="chat-summary" {}
                div.inline id="chat-offer-actions" hidden {
                    button id="chat-accept" { "Accept" }
                    button.secondary id="chat-decline" { "Decline" }
                }
                ol.chat-log id="chat-log" aria-live="polite" {}
                form.chat-form id="chat-form" hidden {
                    label.grow { "Reply" textarea id="chat-text" rows="2" maxlength="20000" {} }
                    div.inline {
                        button type="submit" id="chat-send" { "Send" }
                        button.danger type="button" id="chat-end" { "End chat" }
                    }
                }
            }
            div.card id="pop" hidden {
                h2 { "Caller" }
                div id="customer" {}
                h2 { "Previous calls and chats" }
                div id="history" {}
            }
            div.card id="wrapup" hidden {
                h2 { "Wrap-up" }
                form.stack id="wrapup-form" {
                    label { "Disposition" input type="text" name="code" id="disposition" required maxlength="64" list="dispositions"; }
                    datalist id="dispositions" { @for d in ["sale", "support", "complaint", "callback", "no-action"] { option value=(d) {} } }
                    label { "Notes" textarea name="notes" id="notes" rows="4" maxlength="4096" {} }
                    button type="submit" id="save-wrapup" { "Save" }
                }
            }
            (agent_callbacks::card(&*core, &v.store, &agent).await)
        }
        script src=(assets::url("panel.js")) defer {}
    };
    render(&v, "/agent", "Agent panel", None, body)
}

#[derive(Debug, Deserialize, Default)]
pub struct HistoryQuery {
    #[serde(default)]
    number: String,
    /// The chat whose visitor this is (agents looking up a chat's visitor).
    #[serde(default)]
    chat: String,
}

/// Whether an agent-role viewer may see `number`'s history: the caller of
/// the call last offered to or taken by them, or the visitor of a chat of
/// theirs. Supervisors and admins see any.
async fn may_see_number<C: CoreApi>(core: &C, v: &super::Viewer, number: &str, chat: &str) -> bool {
    if v.user.role >= Role::Supervisor {
        return true;
    }
    let Some(me) = v.user.agent_id.clone() else { return false };
    if let Some(call) = core.agent_call(me.clone(), true) {
        if v.store.caller_of_call(&call).await.ok().flatten().as_deref() == Some(number) {
            return true;
        }
    }
    if !chat.is_empty() && core.contact().is_some_and(|hub| hub.involves(chat, &me)) {
        return v.store.chat(chat).await.ok().flatten().is_some_and(|c| c.visitor_phone == number);
    }
    // A visitor this agent chatted with (after the chat ended, for wrap-up).
    v.store.chats_of(None, number, 20).await.unwrap_or_default().iter().any(|c| c.agent.as_deref() == Some(me.as_str()) && c.visitor_phone == number)
}

/// `GET /agent/history?number=`: the caller's last calls with dispositions and notes.
pub async fn history<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<HistoryQuery>) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = v.require(Role::Agent) {
        return r;
    }
    if !q.number.is_empty() && !may_see_number(&*core, &v, &q.number, &q.chat).await {
        return (axum::http::StatusCode::FORBIDDEN, Html("<p class=\"muted\">Not a caller of yours.</p>".to_string())).into_response();
    }
    let calls = if q.number.is_empty() { Vec::new() } else { v.store.calls_of_number(&q.number, 10).await.unwrap_or_default() };
    // Chats of the same customer (matched by this number), or from it.
    let customer = if q.number.is_empty() { None } else { v.store.customer_by_phone(&q.number).await.ok().flatten().map(|c| c.id) };
    let chats = v.store.chats_of(customer, &q.number, 10).await.unwrap_or_default();
    let now_ms = crate::store::unix_ms();
    Html(
        html! {
            @if calls.is_empty() { div.empty { "No earlier calls." } } @else {
                table id="history-table" {
                    thead { tr { th { "When" } th { "Queue / IVR" } th { "Talk" } th { "Disposition" } th { "Notes" } } }
                    tbody { @for c in &calls {
                        tr {
                            td { (duration((now_ms - c.started_at) / 1000)) " ago" }
                            td { (c.ivr_path.as_deref().unwrap_or("")) }
                            td { (c.answered_at.zip(c.ended_at).map(|(a, e)| duration((e - a) / 1000)).unwrap_or_else(|| "–".into())) }
                            td { (c.disposition.as_deref().unwrap_or("")) }
                            td { (c.notes.as_deref().unwrap_or("")) }
                        }
                    } }
                }
            }
            @if !chats.is_empty() {
                table id="chat-history" {
                    thead { tr { th { "Chat" } th { "Agent" } th { "Ended by" } th { "Disposition" } th { "Notes" } } }
                    tbody { @for c in &chats {
                        tr {
                            td { a href={"/agent/chats/" (c.id)} { (duration((now_ms - c.started_at_ms) / 1000)) " ago" } }
                            td { (c.agent.as_deref().unwrap_or("–")) }
                            td { (c.ended_by.as_deref().unwrap_or("live")) }
                            td { (c.disposition.as_deref().unwrap_or("")) }
                            td { (c.notes.as_deref().unwrap_or("")) }
                        }
                    } }
                }
            }
        }
        .into_string(),
    )
    .into_response()
}

/// `GET /agent/chats/{id}`: a chat's transcript, as history (agents see
/// the earlier chats of the customers they serve, as they see their calls).
pub async fn chat_transcript<C: CoreApi>(
    State(core): State<Arc<C>>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    uri: Uri,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = v.require(Role::Agent) {
        return r;
    }
    let mine = |chat: &crate::store::ChatRecord| {
        v.user.role >= Role::Supervisor
            || v.user.agent_id.as_deref().is_some_and(|me| chat.agent.as_deref() == Some(me) || core.contact().is_some_and(|h| h.involves(&id, me)))
    };
    let Some(chat) = v.store.chat(&id).await.ok().flatten().filter(|c| mine(c)) else {
        let body = html! { div.card { p.empty { "No chat of yours with that id." } p { a href="/agent" { "Back to the panel" } } } };
        let mut r = render(&v, "/agent", "Chat transcript", None, body);
        *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
        return r;
    };
    let lines = v.store.chat_messages(&id).await.unwrap_or_default();
    let customer = match chat.customer_id {
        Some(cid) => v.store.customer(cid).await.ok().flatten().map(|c| c.name),
        None => None,
    };
    let now_ms = crate::store::unix_ms();
    let body = html! {
        div.card {
            table id="chat-meta" { tbody {
                tr { th { "Visitor" } td { (chat.visitor_name) } }
                tr { th { "Phone / e-mail" } td { (chat.visitor_phone) " " (chat.visitor_email) } }
                tr { th { "Customer" } td { (customer.as_deref().unwrap_or("not matched")) } }
                tr { th { "Queue" } td { (chat.queue) } }
                tr { th { "Agent" } td { (chat.agent.as_deref().unwrap_or("–")) } }
                tr { th { "Started" } td { (duration((now_ms - chat.started_at_ms) / 1000)) " ago" } }
                tr { th { "Ended by" } td { (chat.ended_by.as_deref().unwrap_or("still live")) } }
                tr { th { "Disposition" } td { (chat.disposition.as_deref().unwrap_or("")) " " (chat.notes.as_deref().unwrap_or("")) } }
            } }
        }
        div.card.chat {
            @if lines.is_empty() { p.empty { "No messages." } }
            ol.chat-log id="transcript" {
                @for m in &lines {
                    li class={"msg " (m.sender)} data-id=(m.id) {
                        span.who { (match m.sender.as_str() { "visitor" => chat.visitor_name.as_str(), "agent" => m.agent.as_deref().unwrap_or("agent"), _ => "" }) }
                        span.text { (m.body) }
                    }
                }
            }
            p { a href="/agent" { "Back to the panel" } }
        }
    };
    render(&v, "/agent", "Chat transcript", None, body)
}

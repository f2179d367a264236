//! The agent panel: the agent's state with ready / pause / log in / log out,
//! the screen pop (customer record, previous calls and notes) as soon as
//! the phone rings, call controls while talking, and the wrap-up form
//! (disposition and notes). The page is a shell; `assets/panel.js` fills
//! it from the CTI event stream (`/api/v1/events`, which limits an agent
//! session to its own agent) and acts through the REST call and agent
//! control routes. The caller's history is a server-rendered fragment.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::duration;
use super::{render, viewer, Peer};
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
                    div.inline id="call-controls" hidden {
                        button.secondary data-call="hold" { "Hold" }
                        button.secondary data-call="unhold" { "Resume" }
                        input type="text" id="transfer-to" placeholder="Transfer to" aria-label="Transfer to";
                        button.secondary data-call="transfer" { "Transfer" }
                        button.secondary data-rec="start" { "Record" }
                        button.secondary data-rec="stop" { "Stop recording" }
                        button.danger data-call="hangup" { "Hang up" }
                    }
                }
            }
            div.card id="pop" hidden {
                h2 { "Caller" }
                div id="customer" {}
                h2 { "Previous calls" }
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
        }
        script src=(assets::url("panel.js")) defer {}
    };
    render(&v, "/agent", "Agent panel", None, body)
}

#[derive(Debug, Deserialize, Default)]
pub struct HistoryQuery {
    #[serde(default)]
    number: String,
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
    let calls = if q.number.is_empty() { Vec::new() } else { v.store.calls_of_number(&q.number, 10).await.unwrap_or_default() };
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
        }
        .into_string(),
    )
    .into_response()
}

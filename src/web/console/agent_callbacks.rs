//! The agent panel's callback list: the callbacks waiting in the queues the
//! agent is a member of (`queue_members`), asked for on the phone (the
//! queue's callback key) or on the web (`/contact`), with number, name,
//! queue, when it was asked for (in `[site] timezone`), the customer's note,
//! its state and its position among its queue's callbacks (the ACD's order:
//! higher priority first, then earlier join). The panel embeds the list in a
//! card that htmx reloads every few seconds from `GET /agent/callbacks`.
//! Reads the store only (`Store::pending_callbacks_for_agent`); never
//! another queue's requests, and never which other agent dials one.

use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};

use super::fax::{local_time, site_zone};
use super::{viewer, Peer};
use crate::store::{Callback, CallbackState, Store};
use crate::web::CoreApi;

/// Most rows the list shows.
const MAX_ROWS: i64 = 200;
/// How often the panel reloads the list.
const REFRESH: &str = "every 5s";

/// The card for `agent`'s panel: the list now, reloaded by htmx.
pub(super) async fn card<C: CoreApi>(core: &C, store: &Store, agent: &str) -> Markup {
    html! {
        div.card id="callbacks-card" {
            h2 { "Callbacks" }
            div id="callbacks" hx-get="/agent/callbacks" hx-trigger=(REFRESH) hx-swap="innerHTML" {
                (list(core, store, agent).await)
            }
        }
    }
}

/// `GET /agent/callbacks`: the list of the viewer's own queues (a fragment);
/// 403 for a user not linked to an agent.
pub async fn fragment<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(agent) = v.user.agent_id.as_deref() else {
        return (StatusCode::FORBIDDEN, Html("<p class=\"muted\">Your user is not linked to an ACD agent.</p>".to_string())).into_response();
    };
    Html(list(&*core, &v.store, agent).await.into_string()).into_response()
}

/// Each request with its position among its queue's requests (1 = next);
/// `rows` come grouped by queue in serving order.
fn positions(rows: &[Callback]) -> Vec<usize> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let same = i > 0 && rows[i - 1].queue == r.queue;
        out.push(if same { out[i - 1] + 1 } else { 1 });
    }
    out
}

/// The state as `agent` may see it: whether a dial is on, and whether it
/// is theirs (another agent's name is not shown).
fn state_badge(cb: &Callback, agent: &str) -> Markup {
    match cb.state {
        CallbackState::Dialing => {
            let mine = cb.agent.as_deref() == Some(agent);
            html! { span.badge.ok { "dialing" @if mine { " (you)" } } }
        }
        _ => html! { span.badge.warn { "waiting" } },
    }
}

async fn list<C: CoreApi>(core: &C, store: &Store, agent: &str) -> Markup {
    let rows = match store.pending_callbacks_for_agent(agent, MAX_ROWS).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("callbacks of agent {agent}: {e}");
            return html! { div.empty { "The callbacks could not be read (see the log)." } };
        }
    };
    if rows.is_empty() {
        return html! { div.empty id="no-callbacks" { "No callbacks waiting in your queues." } };
    }
    let (zone, zone_name) = site_zone(core);
    let pos = positions(&rows);
    html! {
        p.muted id="callbacks-count" { (rows.len()) " waiting in your queues; the ACD offers each to an agent when its turn comes." }
        table id="callbacks-table" {
            thead { tr {
                th { "Position" } th { "Number" } th { "Name" } th { "Queue" } th { "Requested (" (zone_name) ")" } th { "Note" } th { "State" } th { "From" }
            } }
            tbody { @for (cb, p) in rows.iter().zip(&pos) {
                tr data-callback=(cb.id) data-queue=(cb.queue) {
                    td data-field="position" { (p) }
                    td.mono data-field="number" { (cb.number) }
                    td data-field="name" { (cb.name) }
                    td data-field="queue" { (cb.queue) }
                    td data-field="requested" { (local_time(&zone, cb.requested_at_ms)) }
                    td data-field="note" { (cb.note) }
                    td data-field="state" {
                        (state_badge(cb, agent))
                        @if cb.attempts > 0 { div.muted { (cb.attempts) " attempt" @if cb.attempts != 1 { "s" } } }
                    }
                    td data-field="source" { @if cb.source == "web" { "web form" } @else { "phone" } }
                }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cb(queue: &str, state: CallbackState, agent: Option<&str>) -> Callback {
        Callback { queue: queue.into(), state, agent: agent.map(str::to_string), ..Callback::default() }
    }

    #[test]
    fn positions_restart_per_queue() {
        let rows: Vec<Callback> = ["a", "a", "b", "c", "c"].into_iter().map(|q| cb(q, CallbackState::Waiting, None)).collect();
        assert_eq!(positions(&rows), [1, 2, 1, 1, 2]);
        assert_eq!(positions(&[]), Vec::<usize>::new());
    }

    #[test]
    fn another_agents_dial_does_not_name_them() {
        let theirs = state_badge(&cb("a", CallbackState::Dialing, Some("bob")), "alice").into_string();
        assert!(theirs.contains("dialing") && !theirs.contains("bob") && !theirs.contains("you"), "{theirs}");
        let mine = state_badge(&cb("a", CallbackState::Dialing, Some("alice")), "alice").into_string();
        assert!(mine.contains("dialing (you)"), "{mine}");
        assert!(state_badge(&cb("a", CallbackState::Waiting, None), "alice").into_string().contains("waiting"));
    }
}

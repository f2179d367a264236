//! Agents, list and creation: `/agents` shows every ACD agent with its
//! extensions, live state (from `CoreApi::acd_stats`), queues and skills.
//! Admins create agents here (editing, skills and deletion are on the
//! agent's page, `agent_edit.rs`); supervisors and admins log an agent
//! out or pause / unpause it through `CoreApi::agent_op`, the same as
//! `POST /api/v1/agents/{id}/{action}`. Configuration goes through
//! `crate::admin` (as `switchboard agent add`); never writes agent state
//! to the store (the running ACD owns it).

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::acd_live::{state_badge, Live};
use super::extensions::{flash_of, FlashQuery};
use super::forms::{csrf, hinted, number, render_status, viewer_at_least, Errors};
use super::layout::{field, Flash};
use super::{see_other, urlencode, Peer, Viewer};
use crate::admin::{self, AgentInput, AgentView};
use crate::store::Role;
use crate::web::{assets, ApiError, CoreApi};

/// Pause reasons offered (the agent panel offers the same; any is accepted).
pub const PAUSE_REASONS: &[&str] = &["break", "lunch", "meeting", "training", "after-call-work"];

/// The agent form as posted (creation and the agent's page).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct AgentForm {
    pub id: String,
    pub name: String,
    /// Separated by commas or spaces.
    pub extensions: String,
    pub no_answer_limit: String,
}

impl AgentForm {
    pub fn of(a: &AgentView) -> AgentForm {
        AgentForm { id: a.id.clone(), name: a.name.clone(), extensions: a.extensions.join(", "), no_answer_limit: a.no_answer_limit.to_string() }
    }

    /// The shared input; a blank limit keeps it (3 for a new agent).
    pub fn input(&self, errors: &mut Errors) -> AgentInput {
        let exts = self.extensions.split([',', ' ', ';']).map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect();
        AgentInput {
            id: Some(self.id.trim().to_string()).filter(|i| !i.is_empty()),
            name: Some(self.name.trim().to_string()),
            extensions: Some(exts),
            no_answer_limit: number(errors, "no_answer_limit", &self.no_answer_limit),
        }
    }
}

/// Name, extensions and no-answer limit, with inline errors.
pub fn agent_fields(f: &AgentForm, e: &Errors) -> Markup {
    html! {
        (field("Name", "name", "text", &f.name, e.get("name")))
        (hinted("Extensions", "extensions", "text", &f.extensions, "the phones the ACD rings, e.g. 1001, 1002", e.get("extensions")))
        (hinted("No-answer limit", "no_answer_limit", "number", &f.no_answer_limit, "unanswered offers in a row before the agent is made unavailable; 0 = never", e.get("no_answer_limit")))
    }
}

/// The live state, or the one the ACD last stored.
pub fn state_of(live: &Live, a: &AgentView) -> (String, Option<String>) {
    live.agent_state(&a.id).unwrap_or_else(|| (a.state.clone(), a.pause_reason.clone()))
}

/// Log out / pause / unpause buttons fitting the agent's state.
/// `back` is "agent" on the agent's page (the answer returns there).
/// A pause for "unregistered" (no phone registered) is the ACD's: it ends
/// when the phone registers, so no Unpause is offered for it.
pub fn state_controls(v: &Viewer, id: &str, (state, reason): (&str, Option<&str>), back: &str) -> Markup {
    let s = state.replace('_', "-");
    let unpause = s == "paused" && reason != Some("unregistered");
    let action = format!("/agents/{}/state", urlencode(id));
    html! {
        @if s != "logged-out" {
            div.controls.state {
                @if unpause {
                    form.inline method="post" action=(action) { (csrf(v)) input type="hidden" name="back" value=(back); input type="hidden" name="op" value="unpause"; button.secondary type="submit" { "Unpause" } }
                } @else {
                    form.inline method="post" action=(action) {
                        (csrf(v)) input type="hidden" name="back" value=(back); input type="hidden" name="op" value="pause";
                        select name="reason" aria-label={ "Pause reason for " (id) } { @for r in PAUSE_REASONS { option value=(r) { (r) } } }
                        button.secondary type="submit" { "Pause" }
                    }
                }
                form.inline method="post" action=(action) data-confirm={ "Log " (id) " out of all queues?" } { (csrf(v)) input type="hidden" name="back" value=(back); input type="hidden" name="op" value="logout"; button.danger type="submit" { "Log out" } }
            }
        }
    }
}

async fn page<C: CoreApi>(core: &C, v: &Viewer, flash: Option<Flash>, f: &AgentForm, e: &Errors, status: StatusCode) -> Response {
    let admin = v.user.role >= Role::Admin;
    let (agents, load_error) = match admin::list_agents(&v.store).await {
        Ok(l) => (l.agents, None),
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    let live = Live::read(core).await;
    let body = html! {
        @if let Some(m) = load_error { div.flash.error role="alert" { "The agents could not be read: " (m) } }
        @if admin {
            details.card open[!e.is_empty()] {
                summary { h2 { "New agent" } }
                form.settings id="new-agent" method="post" action="/agents" {
                    (csrf(v))
                    div.form-grid {
                        (hinted("Agent id", "id", "text", &f.id, "login name: letters, digits, '.', '-', '_'", e.get("id")))
                        (agent_fields(f, e))
                    }
                    button type="submit" id="create-agent" { "Add agent" }
                }
                p.muted { "A new agent is logged out until they log in from their phone or the agent panel. Give them a console user (role agent) on the Users page to use the panel." }
            }
        }
        div.card {
            h2 { "Agents" }
            @if !live.running() { p.muted { "The ACD is not running: states are the last ones stored." } }
            input.filter type="search" placeholder="Filter…" data-filter="agents-table" aria-label="Filter agents";
            @if agents.is_empty() {
                div.empty { "No agents yet." @if admin { " Add one above, then add it to queues." } }
            } @else {
                table id="agents-table" {
                    thead { tr { th data-sort { "Agent" } th data-sort { "Name" } th data-sort { "Extensions" } th data-sort { "State" } th data-sort { "Queues" } th data-sort { "Skills" } th { "" } } }
                    tbody { @for a in &agents {
                        @let (state, reason) = state_of(&live, a);
                        tr data-agent=(a.id) {
                            td { @if admin { a href={ "/agents/" (urlencode(&a.id)) } { (a.id) } } @else { (a.id) } }
                            td { (a.name) }
                            td.mono { (a.extensions.join(", ")) }
                            td data-value=(state) { (state_badge(&state, reason.as_deref())) }
                            td { @for q in &a.queues { span.badge title={ "penalty " (q.penalty) } { (q.queue) } " " } }
                            td { @for (s, p) in &a.skills { span.badge.skill data-skill=(s) { (s) " " (p) } " " } }
                            td {
                                div.controls {
                                    (state_controls(v, &a.id, (&state, reason.as_deref()), ""))
                                    @if admin { a.button.secondary href={ "/agents/" (urlencode(&a.id)) } { "Edit" } }
                                }
                            }
                        }
                    } }
                }
            }
        }
        script src=(assets::url("admin-forms.js")) defer {}
    };
    render_status(v, "/agents", "Agents and skills", flash.as_ref(), body, status)
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Supervisor).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = AgentForm { no_answer_limit: "3".into(), ..AgentForm::default() };
    page(&*core, &v, flash_of(&q), &f, &Errors::default(), StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<AgentForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut e = Errors::default();
    let input = f.input(&mut e);
    if e.is_empty() {
        match admin::create_agent(&v.store, input).await {
            Ok(a) => {
                v.audit("agent.create", &a.id, &format!("extensions {}", a.extensions.join(","))).await;
                return see_other(&format!("/agents?ok={}", urlencode(&format!("Agent {} added.", a.id))));
            }
            // A clash is a taken id or an extension another agent has.
            Err(crate::admin::AdminError::Conflict(m)) if m.starts_with("extension") => e.set("extensions", m),
            Err(err) => e.admin(err, "id"),
        }
    }
    let flash = Flash::error(e.summary("The agent was not added"));
    page(&*core, &v, Some(flash), &f, &e, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct StateForm {
    op: String,
    reason: String,
    /// Where to go back to (the agents page or an agent's page).
    back: String,
}

/// Log out, pause or unpause an agent (supervisors and admins).
pub async fn state<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>, Form(f): Form<StateForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Supervisor).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let back = if f.back == "agent" { format!("/agents/{}", urlencode(&id)) } else { "/agents".to_string() };
    let (done, reason) = match f.op.as_str() {
        "logout" => ("logged out", None),
        "pause" => ("paused", Some(Some(f.reason.trim().to_string()).filter(|r| !r.is_empty()).unwrap_or_else(|| "break".into()))),
        "unpause" => ("unpaused", None),
        other => return see_other(&format!("{back}?err={}", urlencode(&format!("unknown action '{other}'")))),
    };
    // Only agents that exist (agent_op would also take any extension).
    let agent = match admin::get_agent(&v.store, &id).await {
        Ok(a) => a,
        Err(e) => return see_other(&format!("{back}?err={}", urlencode(&e.to_string()))),
    };
    match core.agent_op(agent.id.clone(), f.op.clone(), reason.clone()).await {
        Ok(()) => {
            let detail = reason.map(|r| format!("reason {r}")).unwrap_or_default();
            v.audit(&format!("agent.{}", f.op), &id, &detail).await;
            see_other(&format!("{back}?ok={}", urlencode(&format!("Agent {id} {done}."))))
        }
        Err(ApiError::NotFound(m) | ApiError::Invalid(m) | ApiError::Forbidden(m)) => see_other(&format!("{back}?err={}", urlencode(&m))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_split_and_limits_parse() {
        let mut e = Errors::default();
        let f = AgentForm { id: " ann ".into(), name: "Ann".into(), extensions: "1001, 1002;1003  1004".into(), no_answer_limit: String::new() };
        let i = f.input(&mut e);
        assert!(e.is_empty());
        assert_eq!(i.id.as_deref(), Some("ann"));
        assert_eq!(i.extensions.as_deref(), Some(&["1001".to_string(), "1002".into(), "1003".into(), "1004".into()][..]));
        assert_eq!(i.no_answer_limit, None);
        let i = AgentForm { no_answer_limit: "x".into(), ..f }.input(&mut e);
        assert_eq!(i.no_answer_limit, None);
        assert!(e.get("no_answer_limit").is_some());
    }
}

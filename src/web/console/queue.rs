//! One queue's page, `/queues/{name}`: its live figures, its settings
//! (admins change them; supervisors see them) and its members — admins add
//! an agent or change its penalty, and remove members. The same
//! `crate::admin` calls as `switchboard queue set|member …` and
//! `PUT /api/v1/queues/{name}`; errors are shown at the field. Must not
//! touch agent state (that is the agents page's, through `CoreApi`).

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::acd_live::{busy, ms, pct, state_badge, Live};
use super::extensions::{flash_of, FlashQuery};
use super::forms::{csrf, number, render_status, viewer_at_least, Errors};
use super::layout::{field, Flash};
use super::queues::{settings_form, QueueForm};
use super::{see_other, urlencode, Peer, Viewer};
use crate::admin::{self, AdminError, MemberInput, QueueView};
use crate::store::Role;
use crate::web::{assets, CoreApi};

/// The member form as posted.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct MemberForm {
    agent: String,
    penalty: String,
}

/// What a re-rendered page keeps of a refused form.
#[derive(Default)]
struct Refused {
    settings: Option<QueueForm>,
    member: MemberForm,
    errors: Errors,
}

fn here(name: &str) -> String {
    format!("/queues/{}", urlencode(name))
}

async fn page<C: CoreApi>(core: &C, v: &Viewer, q: QueueView, flash: Option<Flash>, refused: &Refused, status: StatusCode) -> Response {
    let admin = v.user.role >= Role::Admin;
    let live = Live::read(core).await;
    let l = live.queue(&q.name);
    let agents = admin::list_agents(&v.store).await.map(|a| a.agents).unwrap_or_default();
    let name_of = |id: &str| agents.iter().find(|a| a.id == id);
    let candidates: Vec<_> = agents.iter().filter(|a| !q.members.iter().any(|m| m.agent == a.id)).collect();
    let settings = refused.settings.clone().unwrap_or_else(|| QueueForm::of(&q));
    let e = &refused.errors;
    let action = here(&q.name);
    let body = html! {
        p { a href="/queues" { "← All queues" } }
        div.grid {
            div.card { h2 { "Waiting" } div.stat id="waiting" { (l.map(|l| l["waiting"].to_string()).unwrap_or_else(|| "–".into())) } div.muted { "longest " (ms(l.and_then(|l| l["longest_wait_ms"].as_u64()))) } }
            div.card { h2 { "Agents free / busy / paused" } div.stat {
                @if let Some(l) = l { (l["agents"]["available"].as_u64().unwrap_or(0)) " / " (busy(l)) " / " (l["agents"]["paused"].as_u64().unwrap_or(0)) } @else { "–" }
            } }
            div.card { h2 { "Service level" } div.stat { (pct(l.and_then(|l| l["service_level_pct"].as_f64()))) } div.muted { "answered within " (q.service_level_secs) "s" } }
            div.card { h2 { "Answered / abandoned" } div.stat {
                @if let Some(l) = l { (l["answered"].as_u64().unwrap_or(0)) " / " (l["abandoned"].as_u64().unwrap_or(0)) } @else { "–" }
            } div.muted { "ASA " (ms(l.and_then(|l| l["asa_ms"].as_u64()))) } }
        }
        @if !live.running() { p.muted { "The ACD is not running: live figures are not available." } }
        div.card {
            h2 { "Members" }
            @if q.members.is_empty() {
                div.empty { "No agents in this queue yet: callers would wait for nobody." }
            } @else {
                table id="members-table" {
                    thead { tr { th data-sort { "Agent" } th data-sort { "Name" } th data-sort { "State" } th data-sort { "Penalty" } th { "" } } }
                    tbody { @for m in &q.members {
                        @let a = name_of(&m.agent);
                        @let st = live.agent_state(&m.agent).or_else(|| a.map(|a| (a.state.clone(), a.pause_reason.clone())));
                        tr data-agent=(m.agent) {
                            td { (m.agent) }
                            td { (a.map(|a| a.name.as_str()).unwrap_or("")) }
                            td { @if let Some((s, r)) = &st { (state_badge(s, r.as_deref())) } }
                            td data-value=(m.penalty) {
                                @if admin {
                                    form.inline method="post" action={ (action) "/members" } {
                                        (csrf(v))
                                        input type="hidden" name="agent" value=(m.agent);
                                        input.narrow type="number" name="penalty" value=(m.penalty) min="0" max="1000" aria-label={ "Penalty of " (m.agent) };
                                        button.secondary type="submit" { "Set" }
                                    }
                                } @else { (m.penalty) }
                            }
                            td { @if admin {
                                form method="post" action={ (action) "/members/" (urlencode(&m.agent)) "/delete" } {
                                    (csrf(v)) button.danger type="submit" { "Remove" }
                                }
                            } }
                        }
                    } }
                }
                p.muted { "Lower penalty is offered calls first; a higher penalty gets calls only when no lower one is free." }
            }
            @if admin {
                h3 { "Add an agent" }
                @if candidates.is_empty() && e.get("agent").is_none() {
                    p.muted { "Every agent is a member already. " a href="/agents" { "Add agents" } " first." }
                } @else {
                    form.inline id="add-member" method="post" action={ (action) "/members" } {
                        (csrf(v))
                        label { "Agent"
                            select name="agent" id="agent" aria-invalid=[e.get("agent").map(|_| "true")] {
                                @for a in &candidates { option value=(a.id) selected[a.id == refused.member.agent] { (a.id) @if !a.name.is_empty() { " — " (a.name) } } }
                            }
                            @if let Some(m) = e.get("agent") { span.field-error id="agent-error" { (m) } }
                        }
                        (field("Penalty (0–1000)", "penalty", "number", if refused.member.penalty.is_empty() { "0" } else { &refused.member.penalty }, e.get("penalty")))
                        button type="submit" id="add-member-button" { "Add to queue" }
                    }
                }
            }
        }
        div.card {
            h2 { "Settings" }
            @if !admin { p.muted { "Only an administrator can change these." } }
            (settings_form(v, &settings, e, &action, false, !admin))
        }
        @if admin {
            div.card {
                h2 { "Delete" }
                form method="post" action={ (action) "/delete" } data-confirm={ "Delete queue " (q.name) " and its memberships?" } {
                    (csrf(v))
                    p.muted { "Callers already waiting stay until they leave; pending callbacks of this queue fail." }
                    button.danger type="submit" id="delete-queue" { "Delete queue " (q.name) }
                }
            }
        }
        script src=(assets::url("admin-forms.js")) defer {}
    };
    render_status(v, "/queues", &format!("Queue {}", q.name), flash.as_ref(), body, status)
}

/// The settings that differ, as "wrapup_secs 10 → 30, overflow null → …".
fn changes(before: &QueueView, after: &QueueView) -> String {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) = (serde_json::to_value(before), serde_json::to_value(after)) else {
        return String::new();
    };
    let changed: Vec<String> = a
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "members" | "created_at"))
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k} {} → {v}", b.get(k).cloned().unwrap_or_default()))
        .collect();
    if changed.is_empty() { "no change".into() } else { changed.join(", ") }
}

/// The queue, or a 404 page.
async fn load(v: &Viewer, name: &str) -> Result<QueueView, Response> {
    match admin::get_queue(&v.store, name).await {
        Ok(q) => Ok(q),
        Err(e) => {
            let status = if matches!(e, AdminError::NotFound(_)) { StatusCode::NOT_FOUND } else { StatusCode::INTERNAL_SERVER_ERROR };
            let body = html! { div.card { p { (e.to_string()) } p { a href="/queues" { "All queues" } } } };
            Err(render_status(v, "/queues", "Queue", None, body, status))
        }
    }
}

pub async fn show<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(name): Path<String>, Query(fq): Query<FlashQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Supervisor).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match load(&v, &name).await {
        Ok(q) => page(&*core, &v, q, flash_of(&fq), &Refused::default(), StatusCode::OK).await,
        Err(r) => r,
    }
}

pub async fn update<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(name): Path<String>, Form(f): Form<QueueForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let mut input = f.input(&mut errors);
    // The page's form has no name field: this queue is meant.
    input.name = None;
    let before = admin::get_queue(&v.store, &name).await.ok();
    if errors.is_empty() {
        match admin::update_queue(&v.store, &name, input).await {
            Ok(q) => {
                let detail = before.map(|b| changes(&b, &q)).unwrap_or_default();
                v.audit("queue.update", &name, &detail).await;
                return see_other(&format!("{}?ok={}", here(&name), urlencode("Settings saved.")));
            }
            Err(e) => errors.admin(e, ""),
        }
    }
    match load(&v, &name).await {
        Ok(q) => {
            let flash = Flash::error(errors.summary("The settings were not saved"));
            page(&*core, &v, q, Some(flash), &Refused { settings: Some(f), errors, ..Refused::default() }, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(r) => r,
    }
}

pub async fn set_member<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(name): Path<String>, Form(f): Form<MemberForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let agent = f.agent.trim().to_string();
    if agent.is_empty() {
        errors.set("agent", "choose an agent");
    }
    let penalty = number(&mut errors, "penalty", &f.penalty);
    if errors.is_empty() {
        match admin::set_member(&v.store, &name, &agent, MemberInput { penalty }).await {
            Ok(_) => {
                let penalty = penalty.unwrap_or(0);
                v.audit("queue.member.set", &name, &format!("agent {agent}, penalty {penalty}")).await;
                let ok = format!("{agent} is a member of {name} with penalty {penalty}.");
                return see_other(&format!("{}?ok={}", here(&name), urlencode(&ok)));
            }
            // The queue exists (this page); a missing row is the agent.
            Err(AdminError::NotFound(m)) if m.starts_with("agent") => errors.set("agent", format!("{m} not found")),
            Err(e) => errors.admin(e, "agent"),
        }
    }
    match load(&v, &name).await {
        Ok(q) => {
            let flash = Flash::error(errors.summary("The member was not saved"));
            page(&*core, &v, q, Some(flash), &Refused { member: f, errors, ..Refused::default() }, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(r) => r,
    }
}

pub async fn remove_member<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path((name, agent)): Path<(String, String)>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match admin::remove_member(&v.store, &name, &agent).await {
        Ok(()) => {
            v.audit("queue.member.remove", &name, &format!("agent {agent}")).await;
            see_other(&format!("{}?ok={}", here(&name), urlencode(&format!("{agent} removed from {name}."))))
        }
        Err(e) => see_other(&format!("{}?err={}", here(&name), urlencode(&e.to_string()))),
    }
}

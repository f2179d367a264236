//! One agent's page, `/agents/{id}` (admins): change name, extensions and
//! no-answer limit, give or change skills (1–10) and take them away,
//! delete the agent; its state with the supervisor controls of the agents
//! page. The same `crate::admin` calls as `switchboard agent …` and
//! `/api/v1/agents/{id}[/skills/{skill}]`, errors shown at the field.
//! Never writes agent state (that is the ACD's, through `CoreApi`).

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::acd_live::{state_badge, Live};
use super::agents::{agent_fields, state_controls, state_of, AgentForm};
use super::extensions::{flash_of, FlashQuery};
use super::forms::{csrf, number, render_status, viewer_at_least, Errors};
use super::layout::{duration, Flash};
use super::{see_other, urlencode, Peer, Viewer};
use crate::admin::{self, AdminError, AgentView, SkillInput};
use crate::store::Role;
use crate::web::{assets, CoreApi};

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct SkillForm {
    skill: String,
    proficiency: String,
}

#[derive(Default)]
struct Refused {
    agent: Option<AgentForm>,
    skill: SkillForm,
    errors: Errors,
}

fn here(id: &str) -> String {
    format!("/agents/{}", urlencode(id))
}

async fn page<C: CoreApi>(core: &C, v: &Viewer, a: AgentView, flash: Option<Flash>, refused: &Refused, status: StatusCode) -> Response {
    let live = Live::read(core).await;
    let (state, reason) = state_of(&live, &a);
    let known: Vec<String> = admin::list_skills(&v.store).await.map(|l| l.skills.into_iter().map(|s| s.skill).collect()).unwrap_or_default();
    let f = refused.agent.clone().unwrap_or_else(|| AgentForm::of(&a));
    let e = &refused.errors;
    let action = here(&a.id);
    let since = (crate::store::unix_ms() - a.state_since_ms) / 1000;
    let body = html! {
        p { a href="/agents" { "← All agents" } }
        div.grid {
            div.card {
                h2 { "State" }
                div.stat id="agent-state" { (state_badge(&state, reason.as_deref())) }
                @if a.state_since_ms > 0 && !live.running() { div.muted { "stored " (duration(since)) " ago" } }
                (state_controls(v, &a.id, (&state, reason.as_deref()), "agent"))
            }
            div.card {
                h2 { "Queues" }
                @if a.queues.is_empty() { div.empty { "In no queue: add the agent on a queue's page." } }
                @for q in &a.queues { div { a href={ "/queues/" (urlencode(&q.queue)) } { (q.queue) } span.muted { " penalty " (q.penalty) } } }
            }
        }
        div.card {
            h2 { "Agent" }
            form.settings id="agent-form" method="post" action=(action) {
                (csrf(v))
                div.form-grid { (agent_fields(&f, e)) }
                button type="submit" id="save-agent" { "Save" }
            }
        }
        div.card {
            h2 { "Skills" }
            @if a.skills.is_empty() { div.empty { "No skills yet. Queues with the skills strategy offer calls to the best-skilled free agent." } } @else {
                table id="skills-table" {
                    thead { tr { th data-sort { "Skill" } th data-sort { "Proficiency" } th { "" } } }
                    tbody { @for (s, p) in &a.skills {
                        tr data-skill=(s) {
                            td { (s) }
                            td data-value=(p) {
                                form.inline method="post" action={ (action) "/skills" } {
                                    (csrf(v))
                                    input type="hidden" name="skill" value=(s);
                                    input.narrow type="number" name="proficiency" value=(p) min="1" max="10" aria-label={ "Proficiency in " (s) };
                                    button.secondary type="submit" { "Set" }
                                }
                            }
                            td { form method="post" action={ (action) "/skills/" (urlencode(s)) "/delete" } { (csrf(v)) button.danger type="submit" { "Remove" } } }
                        }
                    } }
                }
            }
            h3 { "Give a skill" }
            form.inline id="add-skill" method="post" action={ (action) "/skills" } {
                (csrf(v))
                label { "Skill"
                    input type="text" name="skill" id="skill" value=(refused.skill.skill) list="known-skills" aria-invalid=[e.get("skill").map(|_| "true")];
                    @if let Some(m) = e.get("skill") { span.field-error id="skill-error" { (m) } }
                }
                datalist id="known-skills" { @for s in &known { option value=(s) {} } }
                label { "Proficiency (1 novice – 10 expert)"
                    input type="number" name="proficiency" id="proficiency" min="1" max="10" value=(if refused.skill.proficiency.is_empty() { "5" } else { &refused.skill.proficiency }) aria-invalid=[e.get("proficiency").map(|_| "true")];
                    @if let Some(m) = e.get("proficiency") { span.field-error id="proficiency-error" { (m) } }
                }
                button type="submit" id="add-skill-button" { "Set skill" }
            }
        }
        div.card {
            h2 { "Delete" }
            form method="post" action={ (action) "/delete" } data-confirm={ "Delete agent " (a.id) " with its skills and queue memberships?" } {
                (csrf(v))
                p.muted { "Removes the agent with its skills and queue memberships. Console users linked to it keep their login." }
                button.danger type="submit" id="delete-agent" { "Delete agent " (a.id) }
            }
        }
        script src=(assets::url("admin-forms.js")) defer {}
    };
    render_status(v, "/agents", &format!("Agent {}", a.id), flash.as_ref(), body, status)
}

async fn load(v: &Viewer, id: &str) -> Result<AgentView, Response> {
    match admin::get_agent(&v.store, id).await {
        Ok(a) => Ok(a),
        Err(e) => {
            let status = if matches!(e, AdminError::NotFound(_)) { StatusCode::NOT_FOUND } else { StatusCode::INTERNAL_SERVER_ERROR };
            let body = html! { div.card { p { (e.to_string()) } p { a href="/agents" { "All agents" } } } };
            Err(render_status(v, "/agents", "Agent", None, body, status))
        }
    }
}

/// The page again, 422, with the refused form and its errors.
async fn refused<C: CoreApi>(core: &C, v: &Viewer, id: &str, what: &str, r: Refused) -> Response {
    match load(v, id).await {
        Ok(a) => page(core, v, a, Some(Flash::error(r.errors.summary(what))), &r, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(resp) => resp,
    }
}

async fn admin_viewer<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    viewer_at_least(core, headers, uri, peer, Role::Admin).await
}

pub async fn show<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin_viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match load(&v, &id).await {
        Ok(a) => page(&*core, &v, a, flash_of(&q), &Refused::default(), StatusCode::OK).await,
        Err(r) => r,
    }
}

pub async fn update<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>, Form(f): Form<AgentForm>) -> Response {
    let v = match admin_viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let mut input = f.input(&mut errors);
    input.id = None; // this agent; the form has no id field
    if errors.is_empty() {
        match admin::update_agent(&v.store, &id, input).await {
            Ok(a) => {
                let detail = format!("name '{}', extensions {}, no-answer limit {}", a.name, a.extensions.join(","), a.no_answer_limit);
                v.audit("agent.update", &id, &detail).await;
                return see_other(&format!("{}?ok={}", here(&id), urlencode("Agent saved.")));
            }
            Err(AdminError::Conflict(m)) => errors.set("extensions", m),
            Err(e) => errors.admin(e, ""),
        }
    }
    refused(&*core, &v, &id, "The agent was not saved", Refused { agent: Some(f), errors, ..Refused::default() }).await
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let v = match admin_viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match admin::delete_agent(&v.store, &id).await {
        Ok(()) => {
            v.audit("agent.delete", &id, "with its skills and memberships").await;
            see_other(&format!("/agents?ok={}", urlencode(&format!("Agent {id} deleted."))))
        }
        Err(e) => see_other(&format!("{}?err={}", here(&id), urlencode(&e.to_string()))),
    }
}

pub async fn set_skill<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>, Form(f): Form<SkillForm>) -> Response {
    let v = match admin_viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let skill = f.skill.trim().to_string();
    let level = number(&mut errors, "proficiency", &f.proficiency);
    if level.is_none() && errors.get("proficiency").is_none() {
        errors.set("proficiency", "give a proficiency from 1 to 10");
    }
    if let (Some(proficiency), true) = (level, errors.is_empty()) {
        match admin::set_skill(&v.store, &id, &skill, SkillInput { proficiency }).await {
            Ok(_) => {
                v.audit("agent.skill.set", &id, &format!("{skill} {proficiency}")).await;
                return see_other(&format!("{}?ok={}", here(&id), urlencode(&format!("Skill {skill} set to {proficiency}."))));
            }
            Err(e) => errors.admin(e, "skill"),
        }
    }
    refused(&*core, &v, &id, "The skill was not set", Refused { skill: f, errors, ..Refused::default() }).await
}

pub async fn remove_skill<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path((id, skill)): Path<(String, String)>) -> Response {
    let v = match admin_viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match admin::remove_skill(&v.store, &id, &skill).await {
        Ok(()) => {
            v.audit("agent.skill.remove", &id, &skill).await;
            see_other(&format!("{}?ok={}", here(&id), urlencode(&format!("Skill {skill} removed."))))
        }
        Err(e) => see_other(&format!("{}?err={}", here(&id), urlencode(&e.to_string()))),
    }
}

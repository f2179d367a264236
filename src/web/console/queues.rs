//! Queues, list and creation: `/queues` shows every queue with its
//! strategy, members and the ACD's live figures (supervisors and admins);
//! admins create queues with every setting the admin API knows, and delete
//! them. The settings form is shared with the queue's own page
//! (`queue.rs`, editing and members). Validation is `crate::admin`'s (the
//! same as `switchboard queue add` and `POST /api/v1/queues`); this file
//! only turns form fields into a `QueueInput` and errors into inline
//! messages. Must not touch agent state or the running ACD.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::acd_live::{busy, ms, pct, Live};
use super::extensions::{flash_of, FlashQuery};
use super::forms::{checkbox, csrf, hinted, number, render_status, select, viewer_at_least, Errors};
use super::layout::{field, Flash};
use super::{see_other, urlencode, Peer, Viewer};
use crate::admin::{self, QueueInput, QueueView};
use crate::store::{format_skill_relax, Queue, Role, Strategy};
use crate::web::{assets, CoreApi};

/// The settings form as posted: every value as typed.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct QueueForm {
    pub name: String,
    pub strategy: String,
    pub ring_timeout_secs: String,
    pub retry_delay_secs: String,
    pub wrapup_secs: String,
    pub max_wait_secs: String,
    pub max_callers: String,
    pub join_empty: Option<String>,
    pub leave_when_empty: Option<String>,
    pub moh_class: String,
    pub announce_every_secs: String,
    pub service_level_secs: String,
    pub overflow: String,
    pub skill_relax: String,
    pub callback_key: String,
    pub callback_attempts: String,
    pub callback_retry_secs: String,
}

fn on(b: bool) -> Option<String> {
    b.then(|| "1".to_string())
}

fn limit(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl QueueForm {
    /// A new queue's form, filled with the defaults the store gives.
    pub fn defaults() -> QueueForm {
        let q = Queue::default();
        QueueForm {
            name: String::new(),
            strategy: q.strategy.as_str().into(),
            ring_timeout_secs: q.ring_timeout_secs.to_string(),
            retry_delay_secs: q.retry_delay_secs.to_string(),
            wrapup_secs: q.wrapup_secs.to_string(),
            max_wait_secs: limit(q.max_wait_secs),
            max_callers: limit(q.max_callers),
            join_empty: on(q.join_empty),
            leave_when_empty: on(q.leave_when_empty),
            moh_class: q.moh_class,
            announce_every_secs: q.announce_every_secs.to_string(),
            service_level_secs: q.service_level_secs.to_string(),
            overflow: q.overflow.map(|o| o.to_string()).unwrap_or_default(),
            skill_relax: format_skill_relax(&q.skill_relax),
            callback_key: q.callback_key.map(String::from).unwrap_or_default(),
            callback_attempts: q.callback_attempts.to_string(),
            callback_retry_secs: q.callback_retry_secs.to_string(),
        }
    }

    /// A stored queue's form.
    pub fn of(q: &QueueView) -> QueueForm {
        QueueForm {
            name: q.name.clone(),
            strategy: q.strategy.clone(),
            ring_timeout_secs: q.ring_timeout_secs.to_string(),
            retry_delay_secs: q.retry_delay_secs.to_string(),
            wrapup_secs: q.wrapup_secs.to_string(),
            max_wait_secs: limit(q.max_wait_secs),
            max_callers: limit(q.max_callers),
            join_empty: on(q.join_empty),
            leave_when_empty: on(q.leave_when_empty),
            moh_class: q.moh_class.clone(),
            announce_every_secs: q.announce_every_secs.to_string(),
            service_level_secs: q.service_level_secs.to_string(),
            overflow: q.overflow.clone().unwrap_or_default(),
            skill_relax: q.skill_relax.clone().unwrap_or_default(),
            callback_key: q.callback_key.clone().unwrap_or_default(),
            callback_attempts: q.callback_attempts.to_string(),
            callback_retry_secs: q.callback_retry_secs.to_string(),
        }
    }

    /// The shared partial update. The form always holds every setting: a
    /// blank required number keeps its value, a blank limit, overflow,
    /// relaxation or callback key clears it, an unchecked box is "no".
    /// Numbers that do not parse are marked in `errors`.
    pub fn input(&self, errors: &mut Errors) -> QueueInput {
        let mut n = |field: &str, raw: &str| number(errors, field, raw);
        QueueInput {
            name: Some(self.name.trim().to_string()).filter(|n| !n.is_empty()),
            strategy: Some(self.strategy.trim().to_string()).filter(|s| !s.is_empty()),
            ring_timeout_secs: n("ring_timeout_secs", &self.ring_timeout_secs),
            retry_delay_secs: n("retry_delay_secs", &self.retry_delay_secs),
            wrapup_secs: n("wrapup_secs", &self.wrapup_secs),
            max_wait_secs: Some(n("max_wait_secs", &self.max_wait_secs)),
            max_callers: Some(n("max_callers", &self.max_callers)),
            join_empty: Some(self.join_empty.is_some()),
            leave_when_empty: Some(self.leave_when_empty.is_some()),
            moh_class: Some(self.moh_class.trim().to_string()),
            announce_every_secs: n("announce_every_secs", &self.announce_every_secs),
            service_level_secs: n("service_level_secs", &self.service_level_secs),
            overflow: Some(Some(self.overflow.trim().to_string())),
            skill_relax: Some(Some(self.skill_relax.trim().to_string())),
            callback_key: Some(Some(self.callback_key.trim().to_string())),
            callback_attempts: n("callback_attempts", &self.callback_attempts),
            callback_retry_secs: n("callback_retry_secs", &self.callback_retry_secs),
        }
    }
}

/// What each strategy does, for the select.
fn strategies() -> Vec<(&'static str, &'static str)> {
    Strategy::ALL
        .iter()
        .map(|s| {
            let text = match s {
                Strategy::RingAll => "ring_all: every free agent at once",
                Strategy::LongestIdle => "longest_idle: the agent idle the longest",
                Strategy::RoundRobin => "round_robin: agents in turn",
                Strategy::FewestCalls => "fewest_calls: the agent with the fewest calls",
                Strategy::Random => "random",
                Strategy::Linear => "linear: in penalty order, always from the first",
                Strategy::Skills => "skills: the best-skilled free agent",
            };
            (s.as_str(), text)
        })
        .collect()
}

/// The settings form: for a new queue (`new`: the name is asked) or an
/// existing one; `readonly` shows the settings without a way to change them.
pub fn settings_form(v: &Viewer, f: &QueueForm, e: &Errors, action: &str, new: bool, readonly: bool) -> Markup {
    let num = |label: &str, name: &str, value: &str, hint: &str| hinted(label, name, "number", value, hint, e.get(name));
    let text = |label: &str, name: &str, value: &str, hint: &str| hinted(label, name, "text", value, hint, e.get(name));
    html! {
        form.settings id=(if new { "new-queue" } else { "queue-settings" }) method="post" action=(action) {
            (csrf(v))
            fieldset disabled[readonly] {
                @if new {
                    div.form-grid {
                        (field("Name (letters, digits, '-', '_')", "name", "text", &f.name, e.get("name")))
                        (select("Strategy", "strategy", &strategies(), &f.strategy, e.get("strategy")))
                    }
                } @else {
                    @if let Some(m) = e.get("name") { p.field-error id="name-error" { (m) } }
                    div.form-grid { (select("Strategy", "strategy", &strategies(), &f.strategy, e.get("strategy"))) }
                }
                h3 { "Ringing agents" }
                div.form-grid {
                    (num("Ring timeout (s)", "ring_timeout_secs", &f.ring_timeout_secs, "how long one offer rings, 1–600"))
                    (num("Retry delay (s)", "retry_delay_secs", &f.retry_delay_secs, "pause between unanswered offers"))
                    (num("Wrap-up (s)", "wrapup_secs", &f.wrapup_secs, "after each call, before the next"))
                    (text("Skill relaxation", "skill_relax", &f.skill_relax, "e.g. 30:1,60:2 (seconds:levels); blank = none"))
                }
                h3 { "Limits and overflow" }
                div.form-grid {
                    (num("Max wait (s)", "max_wait_secs", &f.max_wait_secs, "blank or 0 = no limit"))
                    (num("Max callers", "max_callers", &f.max_callers, "blank or 0 = no limit"))
                    (text("Overflow destination", "overflow", &f.overflow, "queue:NAME, voicemail:BOX or context:NAME; blank = hang up"))
                }
                div.checks {
                    (checkbox("Callers may join while no agent is logged in", "join_empty", f.join_empty.is_some(), readonly))
                    (checkbox("Send waiting callers to overflow when the last agent logs out", "leave_when_empty", f.leave_when_empty.is_some(), readonly))
                }
                @if let Some(m) = e.get("join_empty").or(e.get("leave_when_empty")) { p.field-error { (m) } }
                h3 { "Caller experience" }
                div.form-grid {
                    (text("Music-on-hold class", "moh_class", &f.moh_class, "e.g. default"))
                    (num("Announce position every (s)", "announce_every_secs", &f.announce_every_secs, "0 = no announcements"))
                    (num("Service-level target (s)", "service_level_secs", &f.service_level_secs, "answered within this counts as in service level"))
                }
                h3 { "Callbacks" }
                div.form-grid {
                    (text("Callback key", "callback_key", &f.callback_key, "0-9, * or #; blank = callbacks off"))
                    (num("Attempts", "callback_attempts", &f.callback_attempts, "dial attempts per request, 1–20"))
                    (num("Retry after (s)", "callback_retry_secs", &f.callback_retry_secs, "between attempts"))
                }
                @if !readonly {
                    button type="submit" id=(if new { "create-queue" } else { "save-queue" }) { (if new { "Add queue" } else { "Save settings" }) }
                }
            }
        }
    }
}

async fn page<C: CoreApi>(core: &C, v: &Viewer, flash: Option<Flash>, f: &QueueForm, e: &Errors, status: StatusCode) -> Response {
    let admin = v.user.role >= Role::Admin;
    let (queues, load_error) = match admin::list_queues(&v.store).await {
        Ok(l) => (l.queues, None),
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    let live = Live::read(core).await;
    let body = html! {
        @if let Some(m) = load_error { div.flash.error role="alert" { "The queues could not be read: " (m) } }
        @if admin {
            details.card open[!e.is_empty()] {
                summary { h2 { "New queue" } }
                (settings_form(v, f, e, "/queues", true, false))
            }
        }
        div.card {
            h2 { "Queues" }
            @if !live.running() { p.muted { "The ACD is not running: live figures are not available." } }
            input.filter type="search" placeholder="Filter…" data-filter="queues-table" aria-label="Filter queues";
            @if queues.is_empty() {
                div.empty { "No queues yet." @if admin { " Add one above; then add agents to it on its page." } }
            } @else {
                table id="queues-table" {
                    thead { tr {
                        th data-sort { "Queue" } th data-sort { "Strategy" } th data-sort { "Members" }
                        th data-sort { "Waiting" } th data-sort { "Longest wait" } th data-sort { "Agents free / busy / paused / out" }
                        th data-sort { "Service level" } th data-sort { "Overflow" } th { "" }
                    } }
                    tbody { @for q in &queues {
                        @let l = live.queue(&q.name);
                        tr data-queue=(q.name) {
                            td { a href={ "/queues/" (urlencode(&q.name)) } { (q.name) } }
                            td.mono { (q.strategy) }
                            td { (q.members.len()) }
                            td data-value=(l.and_then(|l| l["waiting"].as_u64()).unwrap_or(0)) { (l.map(|l| l["waiting"].to_string()).unwrap_or_else(|| "–".into())) }
                            td data-value=(l.and_then(|l| l["longest_wait_ms"].as_u64()).unwrap_or(0)) { (ms(l.and_then(|l| l["longest_wait_ms"].as_u64()))) }
                            td {
                                @if let Some(l) = l {
                                    @let a = &l["agents"];
                                    (a["available"].as_u64().unwrap_or(0)) " / " (busy(l)) " / " (a["paused"].as_u64().unwrap_or(0)) " / " (a["logged_out"].as_u64().unwrap_or(0))
                                } @else { "–" }
                            }
                            td { (pct(l.and_then(|l| l["service_level_pct"].as_f64()))) span.muted { " within " (q.service_level_secs) "s" } }
                            td.mono { (q.overflow.as_deref().unwrap_or("–")) }
                            td { div.controls {
                                a.button.secondary href={ "/queues/" (urlencode(&q.name)) } { @if admin { "Edit" } @else { "View" } }
                                @if admin {
                                    form.inline method="post" action={ "/queues/" (urlencode(&q.name)) "/delete" } data-confirm={ "Delete queue " (q.name) " and its memberships?" } {
                                        (csrf(v)) button.danger type="submit" { "Delete" }
                                    }
                                }
                            } }
                        }
                    } }
                }
            }
        }
        script src=(assets::url("admin-forms.js")) defer {}
    };
    render_status(v, "/queues", "Queues", flash.as_ref(), body, status)
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Supervisor).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    page(&*core, &v, flash_of(&q), &QueueForm::defaults(), &Errors::default(), StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<QueueForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut e = Errors::default();
    let input = f.input(&mut e);
    if e.is_empty() {
        match admin::create_queue(&v.store, input).await {
            Ok(q) => {
                v.audit("queue.create", &q.name, &format!("strategy {}", q.strategy)).await;
                let ok = format!("Queue {} added. Add agents to it below.", q.name);
                return see_other(&format!("/queues/{}?ok={}", urlencode(&q.name), urlencode(&ok)));
            }
            Err(err) => e.admin(err, "name"),
        }
    }
    let flash = Flash::error(e.summary("The queue was not added"));
    page(&*core, &v, Some(flash), &f, &e, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(name): Path<String>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match admin::delete_queue(&v.store, &name).await {
        Ok(()) => {
            v.audit("queue.delete", &name, "with its memberships").await;
            see_other(&format!("/queues?ok={}", urlencode(&format!("Queue {name} deleted."))))
        }
        Err(e) => see_other(&format!("/queues?err={}", urlencode(&e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_the_shared_partial_update() {
        let mut e = Errors::default();
        let mut f = QueueForm::defaults();
        f.name = " sales ".into();
        let i = f.input(&mut e);
        assert!(e.is_empty());
        assert_eq!((i.name.as_deref(), i.strategy.as_deref(), i.ring_timeout_secs, i.max_wait_secs), (Some("sales"), Some("ring_all"), Some(20), Some(None)));
        assert_eq!((i.join_empty, i.leave_when_empty, i.callback_key.clone()), (Some(false), Some(true), Some(Some(String::new()))));
        let mut q = Queue::new("sales", Strategy::RingAll);
        admin::apply_queue(&mut q, i).expect("the defaults are valid");
        assert_eq!(q, Queue::new("sales", Strategy::RingAll), "the defaults form changes nothing");

        f.wrapup_secs = "ten".into();
        f.max_callers = "0".into();
        let i = f.input(&mut e);
        assert!(e.get("wrapup_secs").is_some_and(|m| m.contains("'ten'")));
        assert_eq!((i.wrapup_secs, i.max_callers), (None, Some(Some(0))));
    }
}

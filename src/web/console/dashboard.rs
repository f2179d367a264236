//! The dashboard: live calls, phone registrations, trunk health, the queue
//! wallboard (service level, ASA, abandon rate) and system health. The page
//! is a frame; its body is a fragment htmx reloads every two seconds. The
//! snapshot (`gather`) is shared with `GET /api/v1/dashboard`.

use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};

use super::layout::duration;
use super::{render, viewer, Peer};
use crate::store::{unix_time, Role};
use crate::web::CoreApi;

pub async fn page<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.user.role == Role::Agent {
        return super::see_other("/agent");
    }
    let body = html! {
        div id="live" hx-get="/console/dashboard/live" hx-trigger="every 2s" hx-swap="innerHTML" {
            (live_body(&*core, &v.store).await)
        }
    };
    render(&v, "/", "Dashboard", None, body)
}

pub async fn live<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = v.require(Role::Supervisor) {
        return r;
    }
    Html(live_body(&*core, &v.store).await.into_string()).into_response()
}

fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.0}%")).unwrap_or_else(|| "–".into())
}

fn ms(v: Option<u64>) -> String {
    v.map(|m| duration((m / 1000) as i64)).unwrap_or_else(|| "–".into())
}

/// The figures the dashboard shows (shared with `GET /api/v1/dashboard`).
pub(in crate::web) struct Live {
    /// Unix seconds and ms of the snapshot.
    pub now: i64,
    pub now_ms: i64,
    /// Open call records of calls the core still has.
    pub calls: Vec<crate::store::CallRecord>,
    pub bindings: Vec<crate::store::Binding>,
    pub trunks: Vec<(crate::store::Trunk, Option<crate::store::TrunkStatus>)>,
    /// The ACD's queues (`/api/v1/stats`), empty when it is not running.
    pub queues: Vec<serde_json::Value>,
    /// Health lines of the core.
    pub status: Vec<String>,
}

impl Live {
    /// Callers waiting in all queues.
    pub(in crate::web) fn waiting(&self) -> u64 {
        self.queues.iter().filter_map(|q| q["waiting"].as_u64()).sum()
    }
}

/// Takes the dashboard's snapshot.
pub(in crate::web) async fn gather<C: CoreApi>(core: &C, store: &crate::store::Store) -> Live {
    let now = unix_time();
    let live: std::collections::HashSet<String> = core.live_calls().into_iter().collect();
    let calls: Vec<_> = store.open_call_records(200).await.unwrap_or_default().into_iter().filter(|c| live.contains(&c.call_id)).collect();
    let bindings = store.all_bindings(now).await.unwrap_or_default();
    let mut trunks = Vec::new();
    for t in store.list_trunks().await.unwrap_or_default() {
        let st = store.trunk_status(&t.name).await.ok().flatten();
        trunks.push((t, st));
    }
    let stats = core.acd_stats().await;
    let queues = stats.as_ref().and_then(|s| s.get("queues")).and_then(|q| q.as_array()).cloned().unwrap_or_default();
    Live { now, now_ms: crate::store::unix_ms(), calls, bindings, trunks, queues, status: core.status_lines() }
}

async fn live_body<C: CoreApi>(core: &C, store: &crate::store::Store) -> Markup {
    let live = gather(core, store).await;
    let (now, now_ms) = (live.now, live.now_ms);
    let hours = hourly(core, store, now).await;
    let waiting = live.waiting();
    let Live { calls, bindings, trunks: trunk_rows, queues, status, .. } = live;
    html! {
        div.grid {
            div.card { h2 { "Live calls" } div.stat id="live-count" { (calls.len()) } }
            div.card { h2 { "Registered phones" } div.stat id="reg-count" { (bindings.len()) } }
            div.card { h2 { "Waiting in queues" } div.stat { (waiting) } }
            div.card { h2 { "System" } @for l in &status { div.muted { (l) } } }
        }
        div.card {
            h2 { "Live calls" }
            @if calls.is_empty() { div.empty { "No calls right now." } } @else {
                table id="calls-table" {
                    thead { tr { th data-sort { "From" } th data-sort { "To" } th data-sort { "Direction" } th data-sort { "Trunk" } th data-sort { "State" } th data-sort { "Duration" } } }
                    tbody { @for c in &calls {
                        tr data-call-id=(c.call_id) {
                            td { (c.caller) } td { (c.callee) } td { (c.direction) } td { (c.trunk.as_deref().unwrap_or("")) }
                            td { @if c.answered_at.is_some() { span.badge.ok { "talking" } } @else { span.badge.warn { "ringing" } } }
                            td data-value=(now_ms - c.started_at) { (duration((now_ms - c.started_at) / 1000)) }
                        }
                    } }
                }
            }
        }
        div.card {
            h2 { "Calls today" }
            (super::chart::calls_by_hour(&hours.0, hours.1))
        }
        @if !queues.is_empty() {
            div.card {
                h2 { "Queues" }
                table id="queues-table" {
                    thead { tr { th data-sort { "Queue" } th data-sort { "Waiting" } th data-sort { "Longest wait" } th data-sort { "Agents free / busy / paused" }
                        th data-sort { "Offered" } th data-sort { "Answered" } th data-sort { "Abandoned" } th data-sort { "Service level" } th data-sort { "ASA" } th data-sort { "Abandon rate" } } }
                    tbody { @for q in &queues {
                        @let a = &q["agents"];
                        tr {
                            td { (q["name"].as_str().unwrap_or("")) }
                            td { (q["waiting"]) }
                            td { (ms(q["longest_wait_ms"].as_u64())) }
                            td { (a["available"]) " / " (a["on_call"].as_u64().unwrap_or(0) + a["ringing"].as_u64().unwrap_or(0) + a["wrap_up"].as_u64().unwrap_or(0)) " / " (a["paused"]) }
                            td { (q["joined"]) } td { (q["answered"]) } td { (q["abandoned"]) }
                            td {
                                (pct(q["service_level_pct"].as_f64()))
                                " " meter min="0" max="100" low="70" optimum="100" value=(q["service_level_pct"].as_f64().unwrap_or(0.0).clamp(0.0, 100.0)) {}
                            }
                            td { (ms(q["asa_ms"].as_u64())) }
                            td { (pct(q["abandon_rate_pct"].as_f64())) }
                        }
                    } }
                }
            }
        }
        div.card {
            h2 { "Registrations" }
            @if bindings.is_empty() { div.empty { "No phone is registered." } } @else {
                table id="registrations-table" {
                    thead { tr { th data-sort { "Extension" } th data-sort { "Contact" } th data-sort { "From" } th data-sort { "Phone" } th data-sort { "Expires in" } } }
                    tbody { @for b in &bindings {
                        tr data-aor=(b.aor) { td { (b.aor) } td.mono { (b.contact) } td.mono { (b.source) " " (b.transport) } td { (b.user_agent) } td { (duration(b.expires_at - now)) } }
                    } }
                }
            }
        }
        div.card {
            h2 { "Trunks" }
            @if trunk_rows.is_empty() { div.empty { "No trunks configured." } } @else {
                table id="trunks-table" {
                    thead { tr { th { "Trunk" } th { "Host" } th { "Reachable (OPTIONS)" } th { "Registered" } th { "Detail" } } }
                    tbody { @for (t, st) in &trunk_rows {
                        tr {
                            td { (t.name) } td.mono { (t.host) "/" (t.transport) }
                            td { (yes_no(st.as_ref().and_then(|s| s.options_ok))) }
                            td { @if t.register { (yes_no(st.as_ref().and_then(|s| s.registered))) } @else { span.muted { "not used" } } }
                            td.muted { (st.as_ref().map(|s| s.detail.as_str()).unwrap_or("")) }
                        }
                    } }
                }
            }
        }
    }
}

/// Offered and answered calls per local hour of today (`[site] timezone`),
/// and the current local hour.
async fn hourly<C: CoreApi>(core: &C, store: &crate::store::Store, now: i64) -> ([(u32, u32); 24], usize) {
    let zone = core.console_config().and_then(|c| crate::dialplan::Zone::parse(&c.timezone).ok()).unwrap_or_default();
    let local = |t: i64| t + zone.offset_at(t);
    let midnight = now - local(now).rem_euclid(86_400);
    let mut hours = [(0u32, 0u32); 24];
    for (started_ms, answered) in store.call_starts_since(midnight * 1000).await.unwrap_or_default() {
        let h = (local(started_ms / 1000).rem_euclid(86_400) / 3600) as usize;
        if let Some(slot) = hours.get_mut(h) {
            slot.0 += 1;
            slot.1 += u32::from(answered);
        }
    }
    (hours, (local(now).rem_euclid(86_400) / 3600) as usize)
}

fn yes_no(v: Option<bool>) -> Markup {
    html! {
        @match v {
            Some(true) => span.badge.ok { "yes" },
            Some(false) => span.badge.bad { "no" },
            None => span.badge { "unknown" },
        }
    }
}

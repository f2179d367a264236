//! The dashboard's live figures over HTTP, scope `stats` (the console
//! shows them to supervisors): `GET /api/v1/dashboard` with live calls,
//! phone registrations, trunk health, callers waiting and the core's
//! health lines, from the console's snapshot (`console::dashboard::gather`).
//! Queue and agent figures are `GET /api/v1/stats`'. Reads only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::admin::{json, Answer};
use super::caller::{store, StatsCaller};
use super::CoreApi;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LiveCall {
    call_id: String,
    caller: String,
    callee: String,
    /// `inbound`, `outbound` or `internal`.
    direction: String,
    trunk: Option<String>,
    /// Whether it was answered (talking) or still rings.
    answered: bool,
    /// Unix milliseconds.
    started_at: i64,
    duration_secs: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Registration {
    /// The extension.
    extension: String,
    contact: String,
    source: String,
    transport: String,
    user_agent: String,
    expires_in_secs: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TrunkHealth {
    name: String,
    host: String,
    transport: String,
    /// The last OPTIONS probe answered; null: not probed yet or probes off.
    reachable: Option<bool>,
    /// Null when the trunk does not register (or not yet known).
    registered: Option<bool>,
    detail: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Dashboard {
    live_calls: Vec<LiveCall>,
    registrations: Vec<Registration>,
    trunks: Vec<TrunkHealth>,
    /// Callers waiting in all queues (0 when the ACD is not running).
    waiting_in_queues: u64,
    /// The core's status lines (listeners, uptime, ...).
    health: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboard",
    operation_id = "get_dashboard",
    tag = "stats",
    summary = "The dashboard's live figures",
    description = "What the console's dashboard shows besides the queue wallboard (that is `GET /api/v1/stats`): calls in progress, registered phones, trunk reachability and registration, callers waiting, system health.",
    responses((status = 200, description = "A snapshot.", body = Dashboard)),
    extensions(("x-scope" = json!("stats"))),
)]
pub(super) async fn dashboard<C: CoreApi>(State(core): State<Arc<C>>, StatsCaller(_who): StatsCaller) -> Answer {
    let store = store(&*core)?;
    let live = super::console::dashboard::gather(&*core, &store).await;
    let waiting_in_queues = live.waiting();
    let (now, now_ms) = (live.now, live.now_ms);
    let live_calls = live
        .calls
        .into_iter()
        .map(|c| LiveCall {
            duration_secs: (now_ms - c.started_at).max(0) / 1000,
            answered: c.answered_at.is_some(),
            call_id: c.call_id,
            caller: c.caller,
            callee: c.callee,
            direction: c.direction,
            trunk: c.trunk,
            started_at: c.started_at,
        })
        .collect();
    let registrations = live
        .bindings
        .into_iter()
        .map(|b| Registration { extension: b.aor, contact: b.contact, source: b.source, transport: b.transport, user_agent: b.user_agent, expires_in_secs: b.expires_at - now })
        .collect();
    let trunks = live
        .trunks
        .into_iter()
        .map(|(t, st)| TrunkHealth {
            reachable: st.as_ref().and_then(|s| s.options_ok),
            registered: if t.register { st.as_ref().and_then(|s| s.registered) } else { None },
            detail: st.map(|s| s.detail).unwrap_or_default(),
            name: t.name,
            host: t.host,
            transport: t.transport,
        })
        .collect();
    Ok(json(StatusCode::OK, &Dashboard { live_calls, registrations, trunks, waiting_in_queues, health: live.status }))
}

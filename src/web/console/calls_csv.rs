//! `GET /calls.csv`: the call records a `/calls` filter matches, as CSV
//! (RFC 4180 quoting, spreadsheet formulas defused by `crate::csv`), for
//! supervisors and admins; every export is audited with its filter and row
//! count. Reads only; the filter and columns mirror the page (`calls`).

use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::calls::{secs_between, supervisor, utc_ms, CallsQuery};
use super::Peer;
use crate::store::CallRecord;
use crate::web::CoreApi;

/// Most rows one export holds (newest first; built in memory).
pub(in crate::web) const MAX_ROWS: i64 = 100_000;

fn csv_row(c: &CallRecord) -> Vec<String> {
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mos = |m: Option<f64>| m.map(|m| format!("{m:.2}")).unwrap_or_default();
    vec![
        utc_ms(c.started_at),
        c.call_id.clone(),
        c.direction.clone(),
        c.caller.clone(),
        c.callee.clone(),
        c.trunk.clone().unwrap_or_default(),
        c.answered_at.map(utc_ms).unwrap_or_default(),
        c.ended_at.map(utc_ms).unwrap_or_default(),
        opt(secs_between(Some(c.started_at), c.ended_at)),
        opt(secs_between(c.answered_at, c.ended_at)),
        opt(c.status),
        c.hangup_by.clone().unwrap_or_default(),
        c.ivr_path.clone().unwrap_or_default(),
        c.disposition.clone().unwrap_or_default(),
        c.notes.clone().unwrap_or_default(),
        mos(c.a_mos),
        mos(c.b_mos),
    ]
}

const CSV_HEADER: &[&str] = &[
    "start_utc", "call_id", "direction", "caller", "callee", "trunk", "answered_utc", "end_utc", "duration_secs", "talk_secs",
    "status", "hangup_by", "ivr_path", "disposition", "notes", "mos_caller_leg", "mos_callee_leg",
];

/// The records as CSV, a header row first (shared with
/// `GET /api/v1/call-records/export`).
pub(in crate::web) fn render(calls: &[CallRecord]) -> String {
    let mut out = String::with_capacity(200 * (calls.len() + 1));
    crate::csv::write_record(&mut out, CSV_HEADER);
    for c in calls {
        crate::csv::write_record(&mut out, &csv_row(c));
    }
    out
}

/// `GET /calls.csv`: every record the filter matches (up to `MAX_ROWS`,
/// newest first) as CSV; audited (it takes data away).
pub async fn export<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<CallsQuery>) -> Response {
    let v = match supervisor(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (filter, _, errors) = q.parse();
    if let Some((name, message)) = errors.first() {
        return (StatusCode::BAD_REQUEST, format!("{name}: {message}\n")).into_response();
    }
    let calls = match v.store.search_call_records(&filter, MAX_ROWS, 0).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("call records export failed: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the call records could not be read\n").into_response();
        }
    };
    let out = render(&calls);
    let filter_text = q.encoded();
    v.audit("calls.export", "call records", &format!("{} rows; filter '{}'", calls.len(), filter_text)).await;
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"calls-{stamp}.csv\"")),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        out,
    )
        .into_response()
}

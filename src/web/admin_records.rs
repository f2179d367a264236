//! Call records over HTTP, scope `stats` (the console shows them to
//! supervisors): `GET /api/v1/call-records` (filtered, paged, newest
//! first, with each call's recordings), `GET /api/v1/call-records/export`
//! (the same filter as CSV, formulas defused, audited) and
//! `GET /api/v1/recordings/{id}/audio` (from below `<data>/recordings`
//! only, with byte ranges). The filter parsing, the CSV writer and the
//! confined audio streamer are the console's (`console::calls`,
//! `console::calls_csv`, `console::audio`); every filter value is bound as
//! data by the store. Reads only: must not change records or recordings.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde::Serialize;

use super::admin::{field_error, json, Answer, Refused};
use super::api::json_error;
use super::caller::{json_refusal, refuse, store, StatsCaller};
use super::console::calls::{secs_between, CallsQuery, PAGE_SIZE};
use super::console::calls_csv::{render, MAX_ROWS};
use super::CoreApi;
use crate::store::{CallFilter, CallRecord, RecordingRow};

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RecordingView {
    id: i64,
    /// `done`, `recording` or `failed`.
    status: String,
    format: String,
    duration_ms: Option<i64>,
    /// Where a finished recording is played from (this API).
    audio: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CallRecordView {
    id: i64,
    call_id: String,
    /// `inbound`, `outbound` or `internal`.
    direction: String,
    caller: String,
    callee: String,
    trunk: Option<String>,
    /// Unix milliseconds.
    started_at: i64,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    duration_secs: Option<i64>,
    talk_secs: Option<i64>,
    /// The final SIP status.
    status: Option<i64>,
    hangup_by: Option<String>,
    /// Contexts and menu choices, `" > "`-separated.
    ivr_path: Option<String>,
    disposition: Option<String>,
    notes: Option<String>,
    #[schema(value_type = Option<f64>)]
    mos_caller_leg: Option<f64>,
    #[schema(value_type = Option<f64>)]
    mos_callee_leg: Option<f64>,
    recordings: Vec<RecordingView>,
}

/// One page of call records, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CallRecordPage {
    /// Records the filter matches, on every page.
    total: i64,
    /// 1-based.
    page: i64,
    limit: i64,
    records: Vec<CallRecordView>,
}

fn view(c: CallRecord, recs: &[RecordingRow]) -> CallRecordView {
    let recordings = recs
        .iter()
        .filter(|r| r.call_id == c.call_id)
        .map(|r| RecordingView {
            id: r.id,
            status: r.status.clone(),
            format: r.format.clone(),
            duration_ms: r.duration_ms,
            audio: (r.status == "done").then(|| format!("/api/v1/recordings/{}/audio", r.id)),
        })
        .collect();
    CallRecordView {
        duration_secs: secs_between(Some(c.started_at), c.ended_at),
        talk_secs: secs_between(c.answered_at, c.ended_at),
        id: c.id,
        call_id: c.call_id,
        direction: c.direction,
        caller: c.caller,
        callee: c.callee,
        trunk: c.trunk,
        started_at: c.started_at,
        answered_at: c.answered_at,
        ended_at: c.ended_at,
        status: c.status,
        hangup_by: c.hangup_by,
        ivr_path: c.ivr_path,
        disposition: c.disposition,
        notes: c.notes,
        mos_caller_leg: c.a_mos,
        mos_callee_leg: c.b_mos,
        recordings,
    }
}

/// The console's filter from the query string: the store filter, the
/// page, the query as given; a field at fault is a 422 naming it.
fn filter(uri: &Uri) -> Result<(CallFilter, i64, CallsQuery), Refused> {
    let q: CallsQuery = serde_urlencoded::from_str(uri.query().unwrap_or("")).map_err(|e| Refused::from(json_error(StatusCode::BAD_REQUEST, &format!("query string: {e}"))))?;
    let (f, page, errors) = q.parse();
    if let Some((field, msg)) = errors.first() {
        return Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, field, msg).into());
    }
    Ok((f, page, q))
}

#[utoipa::path(
    get,
    path = "/api/v1/call-records",
    operation_id = "list_call_records",
    tag = "call records",
    summary = "Search call records",
    description = "The console's call records filter: every parameter narrows the result; text is matched as data (substrings, case-insensitive), never as SQL. Newest first, paged.",
    params(
        ("from" = Option<String>, Query, description = "Started on or after this day (`YYYY-MM-DD`, UTC)."),
        ("to" = Option<String>, Query, description = "Started up to the end of this day (`YYYY-MM-DD`, UTC)."),
        ("direction" = Option<String>, Query, description = "`inbound`, `outbound` or `internal`."),
        ("caller" = Option<String>, Query, description = "Caller number contains this."),
        ("callee" = Option<String>, Query, description = "Callee number contains this."),
        ("trunk" = Option<String>, Query, description = "Exactly this trunk."),
        ("answered" = Option<String>, Query, description = "`yes` or `no`."),
        ("disposition" = Option<String>, Query, description = "Exactly this disposition code (case-insensitive)."),
        ("q" = Option<String>, Query, description = "Text in call-ID, numbers, trunk, IVR path, disposition or notes."),
        ("page" = Option<i64>, Query, description = "1-based page (default 1)."),
        ("limit" = Option<i64>, Query, description = "Records per page, 1 to 1000 (default 50)."),
    ),
    responses(
        (status = 200, description = "One page of records.", body = CallRecordPage),
        (status = 400, description = "`limit` is not a whole number, or a malformed query string.", body = super::openapi::ErrorBody),
        (status = 422, description = "A filter value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("stats"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, StatsCaller(who): StatsCaller, uri: Uri) -> Answer {
    let store = store(&*core)?;
    let limit = who.number("limit", PAGE_SIZE, 1..=1000)?;
    let (f, page, _) = filter(&uri)?;
    let calls = store.search_call_records(&f, limit, (page - 1) * limit).await.map_err(refuse)?;
    let total = store.count_call_records(&f).await.map_err(refuse)?;
    let ids: Vec<String> = calls.iter().map(|c| c.call_id.clone()).collect();
    let recs = store.recordings_of_calls(&ids).await.map_err(refuse)?;
    let records = calls.into_iter().map(|c| view(c, &recs)).collect();
    Ok(json(StatusCode::OK, &CallRecordPage { total, page, limit, records }))
}

#[utoipa::path(
    get,
    path = "/api/v1/call-records/export",
    operation_id = "export_call_records",
    tag = "call records",
    summary = "Export call records as CSV",
    description = "Every record the filter matches (the parameters of `GET /api/v1/call-records`; at most the newest 100 000), as the console's CSV export writes it: RFC 4180 quoting, values that a spreadsheet would run as formulas defused. Audited.",
    params(
        ("from" = Option<String>, Query, description = "`YYYY-MM-DD`, UTC."),
        ("to" = Option<String>, Query, description = "`YYYY-MM-DD`, UTC."),
        ("direction" = Option<String>, Query, description = "`inbound`, `outbound` or `internal`."),
        ("caller" = Option<String>, Query, description = "Caller number contains this."),
        ("callee" = Option<String>, Query, description = "Callee number contains this."),
        ("trunk" = Option<String>, Query, description = "Exactly this trunk."),
        ("answered" = Option<String>, Query, description = "`yes` or `no`."),
        ("disposition" = Option<String>, Query, description = "Exactly this disposition code."),
        ("q" = Option<String>, Query, description = "Text anywhere in the record."),
    ),
    responses(
        (status = 200, description = "The CSV, a header row first.", content_type = "text/csv"),
        (status = 422, description = "A filter value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("stats"))),
)]
pub(super) async fn export<C: CoreApi>(State(core): State<Arc<C>>, StatsCaller(who): StatsCaller, uri: Uri) -> Answer {
    let store = store(&*core)?;
    let (f, _, q) = filter(&uri)?;
    let calls = store.search_call_records(&f, MAX_ROWS, 0).await.map_err(refuse)?;
    let out = render(&calls);
    who.audit(&store, "calls.export", "call records", &format!("{} rows; filter '{}'", calls.len(), q.encoded())).await;
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"calls-{stamp}.csv\"")),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        out,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/recordings/{id}/audio",
    operation_id = "get_recording_audio",
    tag = "call records",
    summary = "Download a call recording",
    description = "A finished recording, only from below `<data>/recordings` (whatever its row says), with a single byte `Range` honoured (206) as the console's player uses it.",
    params(("id" = i64, Path, description = "Recording id (`recordings[].id` of a call record).")),
    responses(
        (status = 200, description = "The whole file (`audio/wav`, `audio/ogg`, ...).", content_type = "audio/*"),
        (status = 206, description = "The byte range asked for, with `Content-Range`.", content_type = "audio/*"),
        (status = 404, description = "No such finished recording, or its file is missing or outside the recordings folder.", body = super::openapi::ErrorBody),
        (status = 416, description = "The range is past the end of the file.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("stats"))),
)]
pub(super) async fn audio<C: CoreApi>(State(core): State<Arc<C>>, StatsCaller(_who): StatsCaller, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let store = store(&*core)?;
    let not_found = || Refused::from(json_error(StatusCode::NOT_FOUND, "no such recording"));
    let (Ok(id), Some(data)) = (id.parse::<i64>(), core.data_dir()) else { return Err(not_found()) };
    match store.recording(id).await.map_err(refuse)? {
        Some(r) if r.status == "done" => Ok(json_refusal(super::console::audio::serve(&r.path, &data.join("recordings"), &headers), "recording")),
        _ => Err(not_found()),
    }
}

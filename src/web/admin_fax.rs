//! Faxes over HTTP, scope `fax` (supervisors and agents have it; a console
//! agent sees and cancels only the jobs they queued): `GET /api/v1/faxes`
//! (received faxes and outbound jobs, filtered, newest first),
//! `GET /api/v1/faxes/{id}` (the record with its T.30 outcome),
//! `GET /api/v1/faxes/{id}/pdf` and `.../tiff` (from below the data
//! directory only, with byte ranges), `POST /api/v1/faxes?to=...` (the
//! document as the raw body; 202 with the queued job) and
//! `DELETE /api/v1/faxes/{id}` (cancels a queued job). Sending and
//! cancelling are audited. The filter check, the upload's refusals and
//! the file streamer are the console's (`console::fax`,
//! `console::fax_detail`); queuing is `CoreApi::fax_send`'s. Owns request
//! parsing and routes only: must not dial, convert or change faxes itself.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use serde::Serialize;

use super::admin::{field_error, json, media_type, Answer, Refused};
use super::api::json_error;
use super::caller::{json_refusal, refuse, store, FaxCaller};
use super::console::fax::{check_filter, refusal};
use super::console::fax_detail::{serve_file, FaxFile};
use super::CoreApi;
use crate::fax::library::{check_fields, Kind, Upload, MAX_UPLOAD, UPLOAD_TYPES};
use crate::store::{FaxRecord, Store};

/// A received fax or an outbound job.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct FaxView {
    id: i64,
    /// `in` (received) or `out` (a send job).
    direction: String,
    /// in: `receiving`, `received`, `failed`; out: `queued`, `sending`,
    /// `retry`, `sent`, `failed`, `cancelled`.
    status: String,
    /// The other machine's number (caller of a received fax, destination of a job).
    remote_number: String,
    /// Our number a received fax was sent to.
    local_number: String,
    /// The other machine's T.30 station id (TSI/CSI).
    remote_ident: String,
    local_ident: String,
    /// The header line printed on pages we send.
    header: String,
    /// What a job sends (the uploaded file's or library document's name).
    document: String,
    pages: i64,
    /// bit/s of the last page (e.g. 14400).
    bit_rate: i64,
    /// Whether error correction mode was used.
    ecm: bool,
    /// `t38` or `g711`, once a session ran.
    transport: Option<String>,
    /// e.g. `204x196`.
    resolution: String,
    /// spandsp's T.30 completion code (0: success; -1: no session, see the reason).
    t30_code: Option<i64>,
    /// Why it failed (or `OK`): the T.30 reason, or the call's (busy, no answer, SIP status).
    t30_reason: String,
    attempts: i64,
    max_attempts: i64,
    /// When a job waiting for a retry is tried again (unix ms).
    next_attempt_at: Option<i64>,
    /// `user:<name>`, `api:<key>` or `dialplan`.
    requested_by: String,
    /// Unix milliseconds.
    created_at: i64,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    /// Where a received fax was e-mailed (empty: nowhere).
    email: String,
    emailed_at: Option<i64>,
    email_error: Option<String>,
    /// Where its PDF is downloaded from (this API), when there is one.
    pdf: Option<String>,
    /// Where its TIFF is downloaded from (this API), when there is one.
    tiff: Option<String>,
}

impl From<FaxRecord> for FaxView {
    fn from(f: FaxRecord) -> FaxView {
        FaxView {
            pdf: f.pdf_path.as_ref().map(|_| format!("/api/v1/faxes/{}/pdf", f.id)),
            tiff: f.tiff_path.as_ref().map(|_| format!("/api/v1/faxes/{}/tiff", f.id)),
            id: f.id,
            direction: f.direction,
            status: f.status,
            remote_number: f.remote_number,
            local_number: f.local_number,
            remote_ident: f.remote_ident,
            local_ident: f.local_ident,
            header: f.header,
            document: f.document,
            pages: f.pages,
            bit_rate: f.bit_rate,
            ecm: f.ecm,
            transport: f.transport,
            resolution: f.resolution,
            t30_code: f.t30_code,
            t30_reason: f.t30_reason,
            attempts: f.attempts,
            max_attempts: f.max_attempts,
            next_attempt_at: f.next_attempt_ms,
            requested_by: f.requested_by,
            created_at: f.created_at_ms,
            started_at: f.started_at_ms,
            ended_at: f.ended_at_ms,
            email: f.email,
            emailed_at: f.emailed_at_ms,
            email_error: f.email_error,
        }
    }
}

/// One page of faxes, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct FaxList {
    limit: i64,
    offset: i64,
    faxes: Vec<FaxView>,
}

/// Fax `raw` (an id in the path) if the caller may see it; else 404 (an
/// agent is not told that another's job exists).
async fn visible(store: &Store, who: &FaxCaller, raw: &str) -> Result<FaxRecord, Refused> {
    let missing = || Refused::from(json_error(StatusCode::NOT_FOUND, &format!("fax {raw} not found")));
    let id: i64 = raw.parse().map_err(|_| missing())?;
    match store.get_fax(id).await.map_err(refuse)? {
        Some(f) if who.may_see(&f.requested_by) => Ok(f),
        _ => Err(missing()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/faxes",
    operation_id = "list_faxes",
    tag = "faxes",
    summary = "List received faxes and send jobs",
    description = "Newest first. Text is matched as data (substrings of the remote number, remote station id or document name), never as SQL. A console agent sees only the jobs they queued.",
    params(
        ("direction" = Option<String>, Query, description = "`in` (received) or `out` (send jobs)."),
        ("status" = Option<String>, Query, description = "Exactly this status: `receiving`, `received`, `queued`, `sending`, `retry`, `sent`, `failed` or `cancelled`."),
        ("q" = Option<String>, Query, description = "Text in the remote number, remote station id or document name (at most 100 characters)."),
        ("limit" = Option<i64>, Query, description = "Faxes per page, 1 to 1000 (default 50)."),
        ("offset" = Option<i64>, Query, description = "Faxes to skip (default 0)."),
    ),
    responses(
        (status = 200, description = "One page of faxes.", body = FaxList),
        (status = 400, description = "`limit` or `offset` is not a whole number, or a malformed query string.", body = super::openapi::ErrorBody),
        (status = 422, description = "A filter value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("fax"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, who: FaxCaller) -> Answer {
    let store = store(&*core)?;
    let limit = who.who.number("limit", 50, 1..=1000)?;
    let offset = who.who.number("offset", 0, 0..=10_000_000)?;
    let p = |name: &str| who.who.query.get(name).map(String::as_str).unwrap_or("");
    let mut filter = match check_filter(p("direction"), p("status"), p("q")) {
        Ok(f) => f,
        Err(errors) => return Err(errors.first().map(|(f, m)| field_error(StatusCode::UNPROCESSABLE_ENTITY, f, m)).unwrap_or_else(|| json_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid filter")).into()),
    };
    filter.requested_by = who.own.clone();
    filter.limit = limit as u32;
    filter.offset = offset as u32;
    let faxes = store.list_faxes(&filter).await.map_err(refuse)?;
    Ok(json(StatusCode::OK, &FaxList { limit, offset, faxes: faxes.into_iter().map(FaxView::from).collect() }))
}

#[utoipa::path(
    get,
    path = "/api/v1/faxes/{id}",
    operation_id = "get_fax",
    tag = "faxes",
    summary = "One fax or send job",
    description = "Its status, pages, the remote station id, bit rate, ECM, transport, resolution, the T.30 completion code and reason (also why a job failed or waits for a retry), attempts and times.",
    params(("id" = i64, Path, description = "Fax id.")),
    responses(
        (status = 200, description = "The fax.", body = FaxView),
        (status = 404, description = "No such fax (or, for a console agent, not one of theirs).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("fax"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, who: FaxCaller, Path(raw): Path<String>) -> Answer {
    let store = store(&*core)?;
    let f = visible(&store, &who, &raw).await?;
    Ok(json(StatusCode::OK, &FaxView::from(f)))
}

async fn file<C: CoreApi>(core: &C, who: &FaxCaller, raw: &str, which: FaxFile, headers: &HeaderMap) -> Answer {
    let store = store(core)?;
    let f = visible(&store, who, raw).await?;
    let Some(data) = core.data_dir() else { return Err(json_error(StatusCode::NOT_FOUND, "no fax files here").into()) };
    let what = match which {
        FaxFile::Pdf => "fax PDF",
        FaxFile::Tiff => "fax TIFF",
    };
    Ok(json_refusal(serve_file(&data, &f, which, true, headers), what))
}

#[utoipa::path(
    get,
    path = "/api/v1/faxes/{id}/pdf",
    operation_id = "get_fax_pdf",
    tag = "faxes",
    summary = "Download a fax as PDF",
    description = "A received fax's PDF, or the document of a send job (an uploaded PDF as sent; a PNG's or CCITT TIFF's pages). Only from below the data directory (whatever the row says), as an attachment, with a single byte `Range` honoured (206).",
    params(("id" = i64, Path, description = "Fax id.")),
    responses(
        (status = 200, description = "The PDF.", content_type = "application/pdf"),
        (status = 206, description = "The byte range asked for, with `Content-Range`.", content_type = "application/pdf"),
        (status = 404, description = "No such fax, or it has no PDF (a fax still arriving, a TIFF that is not CCITT-coded).", body = super::openapi::ErrorBody),
        (status = 416, description = "The range is past the end of the file.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("fax"))),
)]
pub(super) async fn pdf<C: CoreApi>(State(core): State<Arc<C>>, who: FaxCaller, Path(raw): Path<String>, headers: HeaderMap) -> Answer {
    file(&*core, &who, &raw, FaxFile::Pdf, &headers).await
}

#[utoipa::path(
    get,
    path = "/api/v1/faxes/{id}/tiff",
    operation_id = "get_fax_tiff",
    tag = "faxes",
    summary = "Download a fax as TIFF",
    description = "The TIFF received, or the one a job sends. Only from below the data directory, as an attachment, with a single byte `Range` honoured (206).",
    params(("id" = i64, Path, description = "Fax id.")),
    responses(
        (status = 200, description = "The TIFF.", content_type = "image/tiff"),
        (status = 206, description = "The byte range asked for, with `Content-Range`.", content_type = "image/tiff"),
        (status = 404, description = "No such fax, or its file is missing or outside the data directory.", body = super::openapi::ErrorBody),
        (status = 416, description = "The range is past the end of the file.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("fax"))),
)]
pub(super) async fn tiff<C: CoreApi>(State(core): State<Arc<C>>, who: FaxCaller, Path(raw): Path<String>, headers: HeaderMap) -> Answer {
    file(&*core, &who, &raw, FaxFile::Tiff, &headers).await
}

#[utoipa::path(
    post,
    path = "/api/v1/faxes",
    operation_id = "send_fax",
    tag = "faxes",
    summary = "Send a document as a fax",
    description = "Queues a send job: the document is the raw body (at most 20 MiB), a TIFF (sent as it is), a PDF (rasterised at 204 x 196 dpi) or a PNG (scaled to 1728 dots, dithered); its type is told by its bytes, not by the Content-Type. The job dials `to` like a call (trunk or extension), retries busy and unanswered numbers (`[fax] attempts`, `retry_secs`), and records the outcome: poll `GET /api/v1/faxes/{id}` for `status` and `t30_reason`. Audited.",
    params(
        ("to" = String, Query, description = "The number to fax: digits with an optional leading `+`; spaces, dots, dashes and brackets are ignored.", example = "+15550100199"),
        ("header" = Option<String>, Query, description = "Page header, at most 50 printable ASCII characters (default `[fax] header`)."),
        ("ident" = Option<String>, Query, description = "Our station id, at most 20 printable ASCII characters (default `[fax] ident`)."),
        ("name" = Option<String>, Query, description = "The document's name as lists show it (default `upload.pdf` etc.)."),
    ),
    request_body(description = "The document.", content(("application/pdf"), ("image/tiff"), ("image/png"), ("application/octet-stream"))),
    responses(
        (status = 202, description = "Queued: the job, `status` `queued`.", body = FaxView),
        (status = 413, description = "The document is over 20 MiB.", body = super::openapi::ErrorBody),
        (status = 415, description = "The body is no TIFF, PDF or PNG, or its Content-Type is none of the listed ones.", body = super::openapi::ErrorBody),
        (status = 422, description = "A bad `to`, `header`, `ident` or `name`, an empty document, or one that cannot be converted (`field`: the parameter, or `document`).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("fax"))),
)]
pub(super) async fn send<C: CoreApi>(State(core): State<Arc<C>>, who: FaxCaller, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let p = |name: &str| who.who.query.get(name).cloned();
    let (to, name) = (p("to").unwrap_or_default(), p("name").unwrap_or_default());
    let (head, ident) = (p("header"), p("ident"));
    // The parameters first: a bad number is named before the body is read.
    if let Err(errors) = check_fields(&to, head.as_deref(), ident.as_deref(), &name, None) {
        let e = &errors[0];
        return Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, e.field, &e.message).into());
    }
    if let Some(t) = media_type(&headers) {
        if !UPLOAD_TYPES.contains(&t.as_str()) {
            return Err(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("expected {}, got {t}", UPLOAD_TYPES.join(", "))).into());
        }
    }
    let too_big = || Refused::from(json_error(StatusCode::PAYLOAD_TOO_LARGE, &format!("the document is larger than {} MiB", MAX_UPLOAD >> 20)));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD as u64) {
        return Err(too_big());
    }
    let bytes = axum::body::to_bytes(body, MAX_UPLOAD).await.map_err(|_| too_big())?;
    if bytes.is_empty() {
        return Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, "document", "the body is empty").into());
    }
    let Some(kind) = Kind::sniff(&bytes) else {
        return Err(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the body is no TIFF, PDF or PNG document").into());
    };
    let size = bytes.len();
    let upload = Upload { bytes: bytes.to_vec(), name: name.clone(), to: to.clone(), header: head, ident, requested_by: who.requested_by() };
    let id = match core.fax_send(upload).await {
        Ok(id) => id,
        Err(e) => {
            let (status, field, message) = refusal(&e);
            let field = if field == "file" { "document" } else { field };
            return Err(if status == StatusCode::UNPROCESSABLE_ENTITY { field_error(status, field, &message) } else { json_error(status, &message) }.into());
        }
    };
    who.who.audit(&store, "fax.send", to.trim(), &format!("job {id}: '{}', {size} bytes ({})", name.trim(), kind.extension())).await;
    let f = store.get_fax(id).await.map_err(refuse)?.ok_or_else(|| Refused::from(json_error(StatusCode::INTERNAL_SERVER_ERROR, "the queued job vanished")))?;
    Ok(json(StatusCode::ACCEPTED, &FaxView::from(f)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/faxes/{id}",
    operation_id = "cancel_fax",
    tag = "faxes",
    summary = "Cancel a send job",
    description = "A job that is `queued` or waiting for a `retry` is cancelled (a call in progress is not cut). Audited.",
    params(("id" = i64, Path, description = "Fax id.")),
    responses(
        (status = 200, description = "Cancelled: the job, `status` `cancelled`.", body = FaxView),
        (status = 404, description = "No such fax (or, for a console agent, not one of theirs).", body = super::openapi::ErrorBody),
        (status = 409, description = "Not a job that can be cancelled now (received, sending, sent, failed or already cancelled).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("fax"))),
)]
pub(super) async fn cancel<C: CoreApi>(State(core): State<Arc<C>>, who: FaxCaller, Path(raw): Path<String>) -> Answer {
    let store = store(&*core)?;
    let f = visible(&store, &who, &raw).await?;
    if !store.cancel_fax_job(f.id).await.map_err(refuse)? {
        return Err(json_error(StatusCode::CONFLICT, &format!("fax {} is {} ({}): only a queued job or one waiting for a retry can be cancelled", f.id, f.status, f.direction)).into());
    }
    who.who.audit(&store, "fax.cancel", &f.remote_number, &format!("job {}: '{}'", f.id, f.document)).await;
    let f = store.get_fax(f.id).await.map_err(refuse)?.unwrap_or(f);
    Ok(json(StatusCode::OK, &FaxView::from(f)))
}

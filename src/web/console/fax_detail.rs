//! One fax: every field of its row (the T.30 outcome and reason, attempts,
//! times in `[site] timezone`), its PDF shown in the page (an `<iframe>`
//! of `/fax/{id}/pdf`, the only console answer that may be framed, by this
//! origin only), downloads of the PDF and TIFF, and cancelling a job that
//! is queued or waiting for a retry. Files are served from below the data
//! directory only, whatever the row says ([`serve_file`], shared with
//! `/api/v1/faxes/{id}/pdf|tiff`). Agents reach only the jobs they queued
//! (anything else is "not found"). Must not change a fax other than by
//! cancelling a job, nor dial.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::extensions::{flash_of, FlashQuery};
use super::fax::{local_time, own, site_zone, status_badge};
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::store::FaxRecord;
use crate::web::CoreApi;

/// A fax's two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::web) enum FaxFile {
    Pdf,
    Tiff,
}

impl FaxFile {
    fn mime(self) -> &'static str {
        match self {
            FaxFile::Pdf => "application/pdf",
            FaxFile::Tiff => "image/tiff",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FaxFile::Pdf => "pdf",
            FaxFile::Tiff => "tif",
        }
    }

    fn accepts(self, p: &Path) -> bool {
        let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match self {
            FaxFile::Pdf => ext.as_deref() == Some("pdf"),
            FaxFile::Tiff => matches!(ext.as_deref(), Some("tif" | "tiff")),
        }
    }
}

/// Fax `f`'s PDF or TIFF, when it lies below `data` (the data directory)
/// and has its type's extension: 200, 206 for a byte range, 416 past the
/// end, a plain 404 otherwise. `attachment`: a download; else shown
/// inline, and a PDF may then be framed by this origin's pages.
pub(in crate::web) fn serve_file(data: &Path, f: &FaxRecord, which: FaxFile, attachment: bool, headers: &HeaderMap) -> Response {
    let missing = || (StatusCode::NOT_FOUND, format!("fax {} has no {}\n", f.id, which.extension())).into_response();
    let stored = match which {
        FaxFile::Pdf => f.pdf_path.as_deref(),
        FaxFile::Tiff => f.tiff_path.as_deref(),
    };
    let Some(stored) = stored.filter(|p| !p.is_empty()) else { return missing() };
    let full = if Path::new(stored).is_absolute() { Path::new(stored).to_path_buf() } else { data.join(stored) };
    let Some(file) = super::audio::confined_file(&full, data, |p| which.accepts(p)) else {
        tracing::warn!(id = f.id, path = stored, "refused to serve a fax file outside the data directory or missing");
        return missing();
    };
    let mut r = super::audio::send_file(&file, which.mime(), headers);
    if r.status().is_success() {
        let how = if attachment { "attachment" } else { "inline" };
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("{how}; filename=\"fax-{}.{}\"", f.id, which.extension())) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        if which == FaxFile::Pdf && !attachment {
            // Read by `crate::web::security_headers`: framed by our own pages only.
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        }
    }
    r
}

/// Fax `raw` (an id in the URL) if the viewer may see it.
async fn fax_of(v: &Viewer, raw: &str) -> Result<FaxRecord, Response> {
    let not_found = || see_other(&format!("/fax?err={}", urlencode("That fax does not exist.")));
    let Ok(id) = raw.parse::<i64>() else { return Err(not_found()) };
    match v.store.get_fax(id).await {
        Ok(Some(f)) if own(v).is_none_or(|me| me == f.requested_by) => Ok(f),
        Ok(_) => Err(not_found()),
        Err(e) => {
            tracing::error!("fax {id}: {e}");
            Err(see_other(&format!("/fax?err={}", urlencode("The fax could not be read (see the log)."))))
        }
    }
}

/// `GET /fax/{id}`.
pub async fn show<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath(raw): UrlPath<String>, Query(q): Query<FlashQuery>) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = match fax_of(&v, &raw).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (zone, zone_name) = site_zone(&*core);
    let time = |ms: Option<i64>| ms.map(|m| local_time(&zone, m)).unwrap_or_else(|| "–".into());
    let sent = f.direction == "out";
    let cancellable = sent && matches!(f.status.as_str(), "queued" | "retry");
    let failed = matches!(f.status.as_str(), "failed" | "retry");
    let title = format!("Fax {} {} {}", f.id, if sent { "to" } else { "from" }, if f.remote_number.is_empty() { "unknown" } else { &f.remote_number });
    let body = html! {
        p { a href="/fax" { "← All faxes" } }
        @if failed && !f.t30_reason.is_empty() {
            div.flash.error id="t30-reason" role="status" {
                @if f.status == "retry" { "Not sent yet: " } @else { "Failed: " }
                (f.t30_reason)
                @if let Some(c) = f.t30_code { " (T.30 code " (c) ")" }
            }
        }
        div.grid.top {
            div.card {
                h2 { "Details" }
                table.kv id="fax-fields" { tbody {
                    tr { th { "Status" } td { (status_badge(&f.status)) } }
                    tr { th { "Direction" } td { @if sent { "sent (outbound job)" } @else { "received" } } }
                    tr { th { @if sent { "To" } @else { "From" } } td.mono { (f.remote_number) } }
                    @if !f.local_number.is_empty() { tr { th { "Our number" } td.mono { (f.local_number) } } }
                    tr { th { "Remote station id" } td { (f.remote_ident) } }
                    tr { th { "Our station id" } td { (f.local_ident) } }
                    @if sent { tr { th { "Page header" } td { (f.header) } } tr { th { "Document" } td { (f.document) } } }
                    tr { th { "Pages" } td { (f.pages) } }
                    tr { th { "Bit rate" } td { @if f.bit_rate > 0 { (f.bit_rate) " bit/s" } @else { "–" } } }
                    tr { th { "Error correction (ECM)" } td { @if f.ecm { "yes" } @else { "no" } } }
                    tr { th { "Transport" } td { (f.transport.as_deref().unwrap_or("–")) } }
                    tr { th { "Resolution" } td { @if f.resolution.is_empty() { "–" } @else { (f.resolution) " dpi" } } }
                    tr { th { "T.30 result" } td { @if let Some(c) = f.t30_code { (c) " · " } (f.t30_reason) } }
                    @if sent {
                        tr { th { "Attempts" } td { (f.attempts) " of " (f.max_attempts) } }
                        @if f.status == "retry" { tr { th { "Next attempt" } td { (time(f.next_attempt_ms)) } } }
                        tr { th { "Requested by" } td { (f.requested_by) } }
                    }
                    tr { th { "Created (" (zone_name) ")" } td { (time(Some(f.created_at_ms))) } }
                    tr { th { "Started" } td { (time(f.started_at_ms)) } }
                    tr { th { "Ended" } td { (time(f.ended_at_ms)) } }
                    @if !f.email.is_empty() {
                        tr { th { "E-mailed to" } td { (f.email) @if f.emailed_at_ms.is_some() { " · " (time(f.emailed_at_ms)) } @if let Some(e) = &f.email_error { div.field-error { (e) } } } }
                    }
                } }
                p {
                    @if f.pdf_path.is_some() { a.button.secondary id="download-pdf" href={ "/fax/" (f.id) "/pdf?download=1" } { "Download PDF" } " " }
                    @if f.tiff_path.is_some() { a.button.secondary id="download-tiff" href={ "/fax/" (f.id) "/tiff" } { "Download TIFF" } }
                }
                @if cancellable {
                    form method="post" action={ "/fax/" (f.id) "/cancel" } data-confirm="Cancel this fax job?" {
                        input type="hidden" name="_csrf" value=(v.csrf);
                        button.danger type="submit" id="cancel-fax" { "Cancel job" }
                    }
                }
            }
            div.card {
                h2 { "Document" }
                @if f.pdf_path.is_some() {
                    iframe.fax-pdf id="fax-pdf" src={ "/fax/" (f.id) "/pdf" } title={ "Fax " (f.id) " as PDF" } {}
                } @else {
                    div.empty { @if f.status == "receiving" { "The fax is still arriving; its PDF is made when it ends." } @else { "No PDF of this fax." } }
                }
            }
        }
        script src=(crate::web::assets::url("records.js")) defer {}
    };
    render(&v, "/fax", &title, flash_of(&q).as_ref(), body)
}

#[derive(Debug, Deserialize, Default)]
pub struct FileQuery {
    #[serde(default)]
    download: String,
}

async fn file<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr, raw: &str, which: FaxFile, download: bool) -> Response {
    let v = match viewer(core, headers, uri, peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(data) = core.data_dir() else { return StatusCode::NOT_FOUND.into_response() };
    match fax_of(&v, raw).await {
        Ok(f) => serve_file(&data, &f, which, download, headers),
        Err(_) => (StatusCode::NOT_FOUND, "no such fax\n").into_response(),
    }
}

/// `GET /fax/{id}/pdf[?download=1]`.
pub async fn pdf<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath(raw): UrlPath<String>, Query(q): Query<FileQuery>) -> Response {
    file(&*core, &headers, &uri, &peer, &raw, FaxFile::Pdf, !q.download.is_empty()).await
}

/// `GET /fax/{id}/tiff`: always a download.
pub async fn tiff<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath(raw): UrlPath<String>) -> Response {
    file(&*core, &headers, &uri, &peer, &raw, FaxFile::Tiff, true).await
}

/// `POST /fax/{id}/cancel`.
pub async fn cancel<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath(raw): UrlPath<String>) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = match fax_of(&v, &raw).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let back = |k: &str, m: &str| see_other(&format!("/fax/{}?{k}={}", f.id, urlencode(m)));
    match v.store.cancel_fax_job(f.id).await {
        Ok(true) => {
            v.audit("fax.cancel", &f.remote_number, &format!("job {}: '{}'", f.id, f.document)).await;
            back("ok", "The job is cancelled.")
        }
        Ok(false) => back("err", "Only a queued job, or one waiting for a retry, can be cancelled."),
        Err(e) => {
            tracing::error!("fax {} cancel: {e}", f.id);
            back("err", "The job could not be cancelled (see the log).")
        }
    }
}

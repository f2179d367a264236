//! CSV import of customers on `/customers` (supervisors and admins). A
//! file chosen in the browser is read by `assets/admin-forms.js` and sent
//! as a `text/csv` body with the `X-CSRF-Token` header; the answer is the
//! import report as an HTML fragment. Without script (or for pasted text)
//! the form posts the CSV in a text area and the whole page comes back
//! with the report. Either way the import is `crate::admin::import_customers`
//! (as `switchboard customer import` and `POST /api/v1/customers/import`),
//! and the report lists refused rows by line number.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::customers::{page, Extra, LEAST};
use super::forms::{csrf, viewer_at_least};
use super::layout::Flash;
use super::{Peer, Viewer};
use crate::admin::{self, ImportResult};
use crate::web::CoreApi;

/// The largest CSV taken (as the admin API).
const LIMIT: usize = 10 * 1024 * 1024;

/// The import form: a file (sent by script) or pasted text.
pub fn import_form(v: &Viewer, csv: &str, error: Option<&str>) -> Markup {
    html! {
        form.stack id="import-form" method="post" action="/customers/import" {
            (csrf(v))
            label { "CSV file" input type="file" id="import-file" accept=".csv,text/csv,text/plain"; }
            label {
                "…or paste CSV text"
                textarea name="csv" id="csv" rows="4" placeholder="name,account,phones,tags,notes" aria-invalid=[error.map(|_| "true")] { (csv) }
                @if let Some(e) = error { span.field-error id="csv-error" { (e) } }
            }
            p.muted {
                "The first line names the columns: " code { "name" } " (required), " code { "account" } ", " code { "phones" }
                " (separated by ';'), " code { "tags" } ", " code { "notes" } "; any other column becomes an extra field. A row whose account exists replaces that customer."
            }
            button type="submit" id="import-button" { "Import" }
        }
    }
}

/// The report: counts, then the refused rows by line of the file.
pub fn report(r: &ImportResult) -> Markup {
    html! {
        div.report id="import-result" data-imported=(r.imported) data-updated=(r.updated) data-rejected=(r.rejected) {
            p {
                span.badge.ok { (r.imported) " new" } " "
                span.badge { (r.updated) " updated" } " "
                @if r.rejected > 0 { span.badge.bad { (r.rejected) " rejected" } } @else { span.badge { "0 rejected" } }
                @if r.nothing_imported() { " " strong { "Nothing was imported." } }
            }
            @if !r.errors.is_empty() {
                table id="import-errors" {
                    thead { tr { th data-sort { "Line" } th { "Why it was refused" } } }
                    tbody { @for e in &r.errors { tr data-line=(e.line) { td data-value=(e.line) { (e.line) } td { (e.error) } } } }
                }
            }
            @if r.imported + r.updated > 0 { p { a href="/customers" { "Show the updated list" } } }
        }
    }
}

/// Runs the import and notes it in the audit log.
async fn run(v: &Viewer, csv: &str) -> Result<ImportResult, String> {
    match admin::import_customers(&v.store, csv).await {
        Ok(r) => {
            v.audit("customer.import", "csv", &format!("{} new, {} updated, {} rejected", r.imported, r.updated, r.rejected)).await;
            Ok(r)
        }
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Pasted {
    csv: String,
}

fn fragment(status: StatusCode, body: Markup) -> Response {
    (status, Html(body.into_string())).into_response()
}

/// `POST /customers/import`: a `text/csv` body (script) gets the report
/// fragment; a form with pasted text gets the page.
pub async fn import<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, LEAST).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let media = headers.get(header::CONTENT_TYPE).and_then(|h| h.to_str().ok()).map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let bytes = match axum::body::to_bytes(body, LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            let m = html! { p.field-error { "The file is larger than " (LIMIT / 1024 / 1024) " MB: split it." } };
            return fragment(StatusCode::PAYLOAD_TOO_LARGE, m);
        }
    };
    match media.as_deref() {
        Some("text/csv") | Some("text/plain") => {
            let text = match String::from_utf8(bytes.to_vec()) {
                Ok(t) => t,
                Err(e) => {
                    let line = 1 + bytes[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count();
                    let m = html! { p.field-error { "Line " (line) ": the file is not UTF-8 text. Save it as CSV UTF-8 and try again." } };
                    return fragment(StatusCode::BAD_REQUEST, m);
                }
            };
            match run(&v, &text).await {
                Ok(r) => fragment(if r.nothing_imported() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK }, report(&r)),
                Err(m) => fragment(StatusCode::INTERNAL_SERVER_ERROR, html! { p.field-error { "The import failed: " (m) } }),
            }
        }
        Some("application/x-www-form-urlencoded") => {
            let pasted: Pasted = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
            if pasted.csv.trim().is_empty() {
                let x = Extra {
                    flash: Some(Flash::error("Nothing to import: choose a file or paste CSV text.")),
                    csv_error: Some("choose a file or paste CSV text".into()),
                    ..Extra::default()
                };
                return page(&v, "", 0, x, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
            match run(&v, &pasted.csv).await {
                Ok(r) => {
                    let (flash, status) = if r.nothing_imported() {
                        (Flash::error("Nothing was imported: see the refused lines."), StatusCode::UNPROCESSABLE_ENTITY)
                    } else {
                        (Flash::ok(format!("Import done: {} new, {} updated, {} rejected.", r.imported, r.updated, r.rejected)), StatusCode::OK)
                    };
                    // The text stays in the box when lines were refused, to fix and retry.
                    let csv = if r.errors.is_empty() { String::new() } else { pasted.csv };
                    page(&v, "", 0, Extra { flash: Some(flash), csv, report: Some(report(&r)), ..Extra::default() }, status).await
                }
                Err(m) => page(&v, "", 0, Extra { flash: Some(Flash::error(format!("The import failed: {m}"))), csv: pasted.csv, ..Extra::default() }, StatusCode::INTERNAL_SERVER_ERROR).await,
            }
        }
        other => {
            let m = html! { p.field-error { "Expected a text/csv file, got " (other.unwrap_or("no content type")) "." } };
            fragment(StatusCode::UNSUPPORTED_MEDIA_TYPE, m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::LineError;

    #[test]
    fn the_report_names_refused_lines() {
        let r = ImportResult { imported: 1, updated: 0, rejected: 1, errors: vec![LineError { line: 3, error: "customer name must not be <empty>".into() }] };
        let h = report(&r).into_string();
        assert!(h.contains("data-line=\"3\"") && h.contains("&lt;empty&gt;") && h.contains("1 new"), "{h}");
        let none = ImportResult { imported: 0, updated: 0, rejected: 1, errors: vec![LineError { line: 1, error: "x".into() }] };
        assert!(report(&none).into_string().contains("Nothing was imported"));
    }
}

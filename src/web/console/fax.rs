//! The fax page, for every console role: the "send a fax" form (number,
//! optional page header, a TIFF, PDF or PNG sent as the raw body by
//! `assets/fax.js` with the CSRF header, no multipart; errors shown at
//! their field) and the inbox/outbox table (filter by direction, status
//! and text; sorted by a column's link; paged, newest first), whose body
//! htmx reloads every few seconds (`/fax/rows`) so a new fax shows up by
//! itself. Times are in `[site] timezone`. Agents see only the jobs they
//! queued; supervisors and admins see every fax. The detail page, files
//! and cancelling are `fax_detail`'s. The filter check and the refusal of
//! an upload are shared with `/api/v1/faxes` (`admin_fax`). Jobs are
//! queued through `CoreApi::fax_send` (checked, converted and woken by the
//! core); rows are read from the store. Must not dial, convert documents
//! or change jobs other than through those.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::calls::utc_ms;
use super::layout::{field, Flash};
use super::{render, urlencode, viewer, Peer, Viewer};
use crate::fax::library::{check_fields, Kind, SendError, Upload, MAX_UPLOAD};
use crate::store::{FaxFilter, FaxRecord, Role};
use crate::web::CoreApi;

/// Rows on one page.
const PAGE_SIZE: u32 = 50;
/// Longest search text.
const MAX_TEXT: usize = 100;
/// Every status a fax row takes (received faxes and outbound jobs).
pub(in crate::web) const STATUSES: &[&str] = &["receiving", "received", "queued", "sending", "retry", "sent", "failed", "cancelled"];
/// Columns the table sorts by (`sort=`), with their labels.
const COLUMNS: &[(&str, &str)] = &[("time", "Time"), ("direction", "Direction"), ("status", "Status"), ("number", "Number"), ("ident", "Remote station"), ("pages", "Pages"), ("transport", "Transport")];

/// Problems of a filter, at their field.
pub(in crate::web) type FieldErrors = Vec<(&'static str, String)>;

/// The store filter for `direction` (`in`, `out`), `status` and text `q`,
/// or the fields at fault. Every value is bound as data by the store.
pub(in crate::web) fn check_filter(direction: &str, status: &str, q: &str) -> Result<FaxFilter, FieldErrors> {
    let mut f = FaxFilter::default();
    let mut errors = FieldErrors::new();
    match direction.trim() {
        "" => {}
        d @ ("in" | "out") => f.direction = Some(d.to_string()),
        d => errors.push(("direction", format!("'{d}' is neither in nor out"))),
    }
    match status.trim() {
        "" => {}
        s if STATUSES.contains(&s) => f.status = Some(s.to_string()),
        s => errors.push(("status", format!("unknown status '{s}' (one of {})", STATUSES.join(", ")))),
    }
    let q = q.trim();
    if q.chars().count() > MAX_TEXT {
        errors.push(("q", format!("at most {MAX_TEXT} characters")));
    }
    f.text = Some(q.to_string()).filter(|q| !q.is_empty());
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(errors)
    }
}

/// What a refused upload answers: status, the field at fault (`file` is
/// the document itself; the API calls it `document`) and why.
pub(in crate::web) fn refusal(e: &SendError) -> (StatusCode, &'static str, String) {
    match e {
        SendError::Invalid(f) => (StatusCode::UNPROCESSABLE_ENTITY, f.field, f.message.clone()),
        SendError::Unsupported => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "file", "not a TIFF, PDF or PNG document".into()),
        SendError::Empty => (StatusCode::UNPROCESSABLE_ENTITY, "file", e.to_string()),
        SendError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "file", e.to_string()),
        SendError::Document(d) => (StatusCode::UNPROCESSABLE_ENTITY, "file", d.to_string()),
        SendError::Storage(s) => {
            tracing::error!("fax upload: {s}");
            (StatusCode::INTERNAL_SERVER_ERROR, "file", "the fax could not be queued (see the log)".into())
        }
    }
}

/// The `requested_by` mark of the viewer's own jobs when they may see
/// only those (agents); `None`: every fax.
pub(super) fn own(v: &Viewer) -> Option<String> {
    (v.user.role == Role::Agent).then(|| format!("user:{}", v.user.username))
}

/// Unix ms in the site's time zone, `2026-11-26 21:04:05`.
pub(super) fn local_time(zone: &crate::dialplan::Zone, ms: i64) -> String {
    utc_ms(ms.saturating_add(zone.offset_at(ms / 1000).saturating_mul(1000)))
}

/// `[site] timezone` (UTC when unset or unknown) and how to name it.
pub(super) fn site_zone<C: CoreApi>(core: &C) -> (crate::dialplan::Zone, String) {
    let name = core.console_config().map(|c| c.timezone).filter(|t| !t.is_empty()).unwrap_or_else(|| "UTC".into());
    match crate::dialplan::Zone::parse(&name) {
        Ok(z) => (z, name),
        Err(_) => (crate::dialplan::Zone::utc(), "UTC".into()),
    }
}

/// A status as a badge: good, in progress or bad.
pub(super) fn status_badge(status: &str) -> Markup {
    let class = match status {
        "received" | "sent" => "badge ok",
        "receiving" | "queued" | "sending" | "retry" => "badge warn",
        "failed" => "badge bad",
        _ => "badge",
    };
    html! { span class=(class) { (status) } }
}

/// The list's query: filter, page and sort, all text (a bad value is shown
/// at its field, not a failed request).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct FaxQuery {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    #[serde(default)]
    ok: String,
    #[serde(default)]
    err: String,
}

impl FaxQuery {
    fn page(&self) -> u32 {
        self.page.trim().parse::<u32>().unwrap_or(1).clamp(1, 100_000)
    }

    fn sort(&self) -> (&str, bool) {
        let col = COLUMNS.iter().map(|(c, _)| *c).find(|c| *c == self.sort.trim()).unwrap_or("time");
        // Newest first unless asked otherwise.
        (col, self.dir.trim() != "asc")
    }

    /// The query string of the filter and sort (no page), for links.
    fn encoded(&self, sort: Option<(&str, bool)>) -> String {
        let (col, desc) = sort.unwrap_or_else(|| self.sort());
        let dir = if desc { "desc" } else { "asc" };
        [("direction", self.direction.trim()), ("status", self.status.trim()), ("q", self.q.trim()), ("sort", col), ("dir", dir)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Sorts one page of rows in place by a column.
fn sort_rows(rows: &mut [FaxRecord], col: &str, desc: bool) {
    rows.sort_by(|a, b| {
        let o = match col {
            "direction" => a.direction.cmp(&b.direction),
            "status" => a.status.cmp(&b.status),
            "number" => a.remote_number.cmp(&b.remote_number),
            "ident" => a.remote_ident.cmp(&b.remote_ident),
            "pages" => a.pages.cmp(&b.pages),
            "transport" => a.transport.cmp(&b.transport),
            _ => a.created_at_ms.cmp(&b.created_at_ms),
        };
        let o = o.then(a.id.cmp(&b.id));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
}

/// The table (or why there is none) for the viewer and query: what
/// `/fax/rows` answers and the page embeds.
async fn rows_fragment<C: CoreApi>(core: &C, v: &Viewer, q: &FaxQuery) -> Markup {
    let mut filter = match check_filter(&q.direction, &q.status, &q.q) {
        Ok(f) => f,
        Err(_) => return html! { div.empty { "Fix the marked filter fields to see faxes." } },
    };
    let page = q.page();
    filter.requested_by = own(v);
    filter.limit = PAGE_SIZE + 1;
    filter.offset = (page - 1).saturating_mul(PAGE_SIZE);
    let mut rows = match v.store.list_faxes(&filter).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("fax list: {e}");
            return html! { div.empty { "The faxes could not be read (see the log)." } };
        }
    };
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let (col, desc) = q.sort();
    sort_rows(&mut rows, col, desc);
    let (zone, zone_name) = site_zone(core);
    let link = |p: u32| format!("/fax?{}&page={p}", q.encoded(None));
    let all = own(v).is_none();
    html! {
        @if rows.is_empty() {
            div.empty {
                @if page > 1 { "No faxes on this page. " a href=(link(1)) { "Back to the newest" } }
                @else if filter.direction.is_some() || filter.status.is_some() || filter.text.is_some() { "No faxes match this filter. " a href="/fax" { "Show all faxes" } }
                @else if all { "No faxes yet. Received faxes and sent jobs appear here by themselves." }
                @else { "You have not sent any faxes yet." }
            }
        } @else {
            table id="fax-table" {
                thead { tr {
                    @for (c, label) in COLUMNS {
                        @let next_desc = if *c == col { !desc } else { *c == "time" || *c == "pages" };
                        th.sorted[*c == col] aria-sort=[(*c == col).then_some(if desc { "descending" } else { "ascending" })] {
                            a href={ "/fax?" (q.encoded(Some((c, next_desc)))) } { (label) @if *c == "time" { " (" (zone_name) ")" } @if *c == col { @if desc { " ↓" } @else { " ↑" } } }
                        }
                    }
                    th { "Document" }
                    @if all { th { "Requested by" } }
                } }
                tbody { @for f in &rows {
                    tr data-fax=(f.id) {
                        td { a href={ "/fax/" (f.id) } { (local_time(&zone, f.created_at_ms)) } }
                        td { @if f.direction == "in" { "in" } @else { "out" } }
                        td { (status_badge(&f.status)) @if f.status == "retry" || f.status == "failed" { div.muted { (f.t30_reason) } } }
                        td.mono { (f.remote_number) }
                        td { (f.remote_ident) }
                        td { (f.pages) }
                        td { (f.transport.as_deref().unwrap_or("–")) }
                        td { (f.document) }
                        @if all { td.muted { (f.requested_by) } }
                    }
                } }
            }
            nav.pager {
                @if page > 1 { a.button.secondary id="newer" href=(link(page - 1)) { "← Newer" } }
                @if more { a.button.secondary id="older" href=(link(page + 1)) { "Older →" } }
            }
        }
    }
}

fn select(label: &str, name: &str, options: &[(&str, &str)], value: &str, error: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            select name=(name) id=(name) aria-invalid=[error.map(|_| "true")] {
                @for (v, l) in options { option value=(v) selected[*v == value] { (l) } }
            }
            @if let Some(e) = error { span.field-error id={(name) "-error"} { (e) } }
        }
    }
}

/// `GET /fax`: the send form, the filter and the live table.
pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FaxQuery>) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let errors = check_filter(&q.direction, &q.status, &q.q).err().unwrap_or_default();
    let err = |name: &str| errors.iter().find(|(n, _)| *n == name).map(|(_, m)| m.as_str());
    let mut statuses: Vec<(&str, &str)> = vec![("", "any")];
    statuses.extend(STATUSES.iter().map(|s| (*s, *s)));
    let flash = if !q.err.is_empty() { Some(Flash::error(q.err.clone())) } else if !q.ok.is_empty() { Some(Flash::ok(q.ok.clone())) } else { None };
    let refresh = format!("/fax/rows?{}&page={}", q.encoded(None), q.page());
    let body = html! {
        div.card {
            h2 { "Send a fax" }
            form.inline id="fax-send" method="post" action="/fax/send" data-max=(MAX_UPLOAD) {
                (field("Fax number", "to", "tel", "", None))
                (field("Page header (optional)", "header", "text", "", None))
                label { "Document (TIFF, PDF or PNG; up to 20 MiB)" input type="file" name="file" id="file" accept=".tif,.tiff,.pdf,.png,image/tiff,application/pdf,image/png" required; }
                button type="submit" id="send-fax" { "Send" }
            }
            p.upload-status id="fax-status" role="status" {}
            p.muted { "The document is converted to fax pages (1728 dots wide, fine resolution) and dialled like a call; busy or unanswered numbers are tried again. Follow the job in the table below." }
        }
        div.card {
            h2 { @if own(&v).is_some() { "My faxes" } @else { "Inbox and outbox" } }
            form.inline id="fax-filter" method="get" action="/fax" {
                (select("Direction", "direction", &[("", "both"), ("in", "received"), ("out", "sent")], q.direction.trim(), err("direction")))
                (select("Status", "status", &statuses, q.status.trim(), err("status")))
                (field("Search", "q", "search", &q.q, err("q")))
                input type="hidden" name="sort" value=(q.sort().0);
                input type="hidden" name="dir" value=(if q.sort().1 { "desc" } else { "asc" });
                button type="submit" id="apply-filter" { "Apply" }
                a.button.secondary href="/fax" { "Reset" }
            }
            div id="fax-rows" hx-get=(refresh) hx-trigger="every 5s" hx-swap="innerHTML" {
                (rows_fragment(&*core, &v, &q).await)
            }
        }
        script src=(crate::web::assets::url("fax.js")) defer {}
    };
    let mut r = render(&v, "/fax", "Fax", flash.as_ref(), body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// `GET /fax/rows`: the table alone, for htmx's refresh.
pub async fn rows<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FaxQuery>) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    Html(rows_fragment(&*core, &v, &q).await.into_string()).into_response()
}

#[derive(Debug, Deserialize, Default)]
pub struct SendQuery {
    #[serde(default)]
    to: String,
    #[serde(default)]
    header: String,
    /// The uploaded file's own name (shown as the document).
    #[serde(default)]
    name: String,
}

/// `{"ok": text, "id": n, "url": detail}`, or `{"error": first, "field":
/// its field, "errors": [{"field", "error"}, ...]}` for the script.
fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn refused(status: StatusCode, errors: &[(&str, String)]) -> Response {
    let list: Vec<_> = errors.iter().map(|(f, e)| serde_json::json!({ "field": f, "error": e })).collect();
    let (field, error) = errors.first().map(|(f, e)| (*f, e.as_str())).unwrap_or(("file", "refused"));
    reply(status, serde_json::json!({ "error": error, "field": field, "errors": list }))
}

/// `POST /fax/send?to=&header=&name=` with the document as the body.
pub async fn send<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<SendQuery>, body: Body) -> Response {
    let v = match viewer(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let header = Some(q.header.as_str());
    if let Err(errors) = check_fields(&q.to, header, None, &q.name, None) {
        let list: Vec<(&str, String)> = errors.into_iter().map(|e| (e.field, e.message)).collect();
        return refused(StatusCode::UNPROCESSABLE_ENTITY, &list);
    }
    let too_big = || refused(StatusCode::PAYLOAD_TOO_LARGE, &[("file", SendError::TooLarge.to_string())]);
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD as u64) {
        return too_big();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_UPLOAD).await else { return too_big() };
    let kind = Kind::sniff(&bytes);
    let size = bytes.len();
    let upload = Upload { bytes: bytes.to_vec(), name: q.name.clone(), to: q.to.clone(), header: header.map(str::to_string), ident: None, requested_by: format!("user:{}", v.user.username) };
    match core.fax_send(upload).await {
        Ok(id) => {
            let what = kind.map(|k| k.extension()).unwrap_or("?");
            v.audit("fax.send", q.to.trim(), &format!("job {id}: '{}', {size} bytes ({what})", q.name.trim())).await;
            reply(StatusCode::ACCEPTED, serde_json::json!({ "ok": format!("Fax to {} queued.", q.to.trim()), "id": id, "url": format!("/fax/{id}") }))
        }
        Err(e) => {
            let (status, field, message) = refusal(&e);
            refused(status, &[(field, message)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_and_links_keep_them() {
        let f = check_filter("in", "received", " x ").unwrap();
        assert_eq!((f.direction.as_deref(), f.status.as_deref(), f.text.as_deref()), (Some("in"), Some("received"), Some("x")));
        let fields: Vec<_> = check_filter("sideways", "lost", &"q".repeat(101)).unwrap_err().iter().map(|e| e.0).collect();
        assert_eq!(fields, ["direction", "status", "q"]);
        let q: FaxQuery = serde_urlencoded::from_str("q=a%26b&sort=pages&dir=asc&page=3").unwrap();
        assert_eq!((q.encoded(None), q.page(), q.sort()), ("q=a%26b&sort=pages&dir=asc".to_string(), 3, ("pages", false)));
        let bad: FaxQuery = serde_urlencoded::from_str("sort=id;drop&page=-1").unwrap();
        assert_eq!((bad.sort(), bad.page()), (("time", true), 1));
    }

    #[test]
    fn local_times_follow_the_zone() {
        let berlin = crate::dialplan::Zone::parse("Europe/Berlin").unwrap();
        // 2026-01-31 00:00 UTC is 01:00 in Berlin (CET).
        assert_eq!(local_time(&berlin, 1_769_817_600_000), "2026-01-31 01:00:00");
        assert_eq!(status_badge("<b>").into_string(), "<span class=\"badge\">&lt;b&gt;</span>");
    }
}

//! Call records (CDRs) for supervisors and admins: the filter form (date
//! range, direction, caller, callee, trunk, answered, disposition, free
//! text), the paged table (newest first) with each call's recordings in an
//! `<audio>` player, and the recording stream (`/recordings/{id}/audio`);
//! the CSV export of the same filter is `calls_csv`. Reads
//! only: the records are the call layer's, written as calls happen; the
//! filter is the store's `CallFilter` (bound parameters only). The filter
//! parsing (`CallsQuery::parse`) is shared with `/api/v1/call-records`.
//! Must not change records or recordings.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{duration, field};
use super::{render, urlencode, viewer, Peer, Viewer};
use crate::store::{CallFilter, CallRecord, RecordingRow, Role};
use crate::web::CoreApi;

/// Records on one page.
pub(in crate::web) const PAGE_SIZE: i64 = 50;
/// Longest text a filter field takes.
const MAX_FILTER_LEN: usize = 100;
const DIRECTIONS: &[&str] = &["inbound", "outbound", "internal"];

/// The filter as the form sends it (every field text, so a bad value is
/// shown at its field instead of failing the whole request).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct CallsQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    caller: String,
    #[serde(default)]
    callee: String,
    #[serde(default)]
    trunk: String,
    #[serde(default)]
    answered: String,
    #[serde(default)]
    disposition: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

type FieldErrors = Vec<(&'static str, String)>;

/// Midnight UTC starting `YYYY-MM-DD`, in unix ms.
pub(in crate::web) fn day_start_ms(s: &str) -> Option<i64> {
    let d: jiff::civil::Date = s.parse().ok()?;
    Some(d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_millisecond())
}

/// Unix ms as `2026-11-26 21:04:05` (UTC).
pub(in crate::web) fn utc_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

impl CallsQuery {
    /// The store filter and the page (1-based), or the fields at fault.
    pub(in crate::web) fn parse(&self) -> (CallFilter, i64, FieldErrors) {
        let mut f = CallFilter::default();
        let mut errors = FieldErrors::new();
        let text = |name: &'static str, v: &str, errors: &mut FieldErrors| -> Option<String> {
            let v = v.trim();
            if v.chars().count() > MAX_FILTER_LEN {
                errors.push((name, format!("at most {MAX_FILTER_LEN} characters")));
                return None;
            }
            Some(v.to_string()).filter(|v| !v.is_empty())
        };
        let from = self.from.trim();
        if !from.is_empty() {
            match day_start_ms(from) {
                Some(ms) => f.since_ms = Some(ms),
                None => errors.push(("from", format!("'{from}' is not a date (YYYY-MM-DD)"))),
            }
        }
        let to = self.to.trim();
        if !to.is_empty() {
            match day_start_ms(to) {
                // Inclusive: up to the end of that day.
                Some(ms) => f.until_ms = Some(ms + 86_400_000),
                None => errors.push(("to", format!("'{to}' is not a date (YYYY-MM-DD)"))),
            }
        }
        if let (Some(a), Some(b)) = (f.since_ms, f.until_ms) {
            if b <= a {
                errors.push(("to", "the end date is before the start date".into()));
            }
        }
        match self.direction.trim() {
            "" => {}
            d if DIRECTIONS.contains(&d) => f.direction = Some(d.to_string()),
            d => errors.push(("direction", format!("unknown direction '{d}'"))),
        }
        match self.answered.trim() {
            "" => {}
            "yes" => f.answered = Some(true),
            "no" => f.answered = Some(false),
            a => errors.push(("answered", format!("'{a}' is neither yes nor no"))),
        }
        f.caller = text("caller", &self.caller, &mut errors);
        f.callee = text("callee", &self.callee, &mut errors);
        f.trunk = text("trunk", &self.trunk, &mut errors);
        f.disposition = text("disposition", &self.disposition, &mut errors);
        f.text = text("q", &self.q, &mut errors);
        let page = self.page.trim().parse::<i64>().unwrap_or(1).clamp(1, 1_000_000);
        (f, page, errors)
    }

    /// The query string of this filter (without the page), for links.
    pub(in crate::web) fn encoded(&self) -> String {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("direction", &self.direction),
            ("caller", &self.caller),
            ("callee", &self.callee),
            ("trunk", &self.trunk),
            ("answered", &self.answered),
            ("disposition", &self.disposition),
            ("q", &self.q),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

pub(super) async fn supervisor<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Supervisor)?;
    Ok(v)
}

/// A labelled select with its inline error; `options` are (value, label).
fn select(label: &str, name: &str, options: &[(&str, &str)], value: &str, error: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            select name=(name) id=(name) aria-invalid=[error.map(|_| "true")] {
                @for (v, l) in options { option value=(v) selected[*v == value] { (l) } }
                @if !value.is_empty() && !options.iter().any(|(v, _)| *v == value) { option value=(value) selected { (value) } }
            }
            @if let Some(e) = error { span.field-error id={(name) "-error"} { (e) } }
        }
    }
}

fn filter_form(q: &CallsQuery, errors: &FieldErrors, trunks: &[String], codes: &[String]) -> Markup {
    let err = |name: &str| errors.iter().find(|(n, _)| *n == name).map(|(_, m)| m.as_str());
    let mut trunk_options: Vec<(&str, &str)> = vec![("", "any")];
    trunk_options.extend(trunks.iter().map(|t| (t.as_str(), t.as_str())));
    let export = match q.encoded() {
        e if e.is_empty() => "/calls.csv".to_string(),
        e => format!("/calls.csv?{e}"),
    };
    html! {
        form.inline id="call-filter" method="get" action="/calls" {
            (field("From (UTC)", "from", "date", &q.from, err("from")))
            (field("To (UTC)", "to", "date", &q.to, err("to")))
            (select("Direction", "direction", &[("", "any"), ("inbound", "inbound"), ("outbound", "outbound"), ("internal", "internal")], q.direction.trim(), err("direction")))
            (field("Caller contains", "caller", "text", &q.caller, err("caller")))
            (field("Callee contains", "callee", "text", &q.callee, err("callee")))
            (select("Trunk", "trunk", &trunk_options, q.trunk.trim(), err("trunk")))
            (select("Answered", "answered", &[("", "any"), ("yes", "answered"), ("no", "unanswered")], q.answered.trim(), err("answered")))
            label {
                "Disposition"
                input type="text" name="disposition" id="disposition" value=(q.disposition) list="disposition-codes" aria-invalid=[err("disposition").map(|_| "true")];
                @if let Some(e) = err("disposition") { span.field-error id="disposition-error" { (e) } }
            }
            datalist id="disposition-codes" { @for c in codes { option value=(c) {} } }
            (field("Search", "q", "search", &q.q, err("q")))
            button type="submit" id="apply-filter" { "Apply" }
            a.button.secondary href="/calls" { "Reset" }
            a.button.secondary id="export-csv" href=(export) { "Export CSV" }
        }
    }
}

/// Short reason for a final status the caller got.
fn outcome(status: Option<i64>) -> &'static str {
    match status {
        Some(486) | Some(600) => "busy",
        Some(487) => "cancelled",
        Some(408) | Some(480) => "no answer",
        Some(404) | Some(604) => "not found",
        Some(403) | Some(401) | Some(407) => "refused",
        Some(503) | Some(502) | Some(500) => "failed",
        Some(_) => "not answered",
        None => "ended",
    }
}

fn status_cell(c: &CallRecord) -> Markup {
    html! {
        @if c.ended_at.is_none() {
            span.badge.warn { "in progress" }
        } @else if c.answered_at.is_some() {
            span.badge.ok { "answered" }
        } @else {
            span.badge.bad { (outcome(c.status)) }
        }
        @if let Some(s) = c.status { " " span.muted.mono { (s) } }
        @if let Some(h) = &c.hangup_by { div.muted { "hung up by " (h) } }
    }
}

/// The worse leg's MOS, when any leg measured one.
fn mos(c: &CallRecord) -> Option<f64> {
    [c.a_mos, c.b_mos].into_iter().flatten().filter(|m| *m > 0.0).reduce(f64::min)
}

fn mos_cell(c: &CallRecord) -> Markup {
    let legs = |m: Option<f64>| m.filter(|m| *m > 0.0).map(|m| format!("{m:.2}")).unwrap_or_else(|| "–".into());
    html! {
        @match mos(c) {
            Some(m) => {
                @let class = if m >= 4.0 { "ok" } else if m >= 3.6 { "warn" } else { "bad" };
                span class={ "badge " (class) } title={ "caller leg " (legs(c.a_mos)) ", callee leg " (legs(c.b_mos)) } { (format!("{m:.1}")) }
            }
            None => span.muted { "–" },
        }
    }
}

fn recordings_cell(recs: &[&RecordingRow]) -> Markup {
    html! {
        @for r in recs {
            div.recording {
                @match r.status.as_str() {
                    "done" => {
                        audio controls preload="none" src={ "/recordings/" (r.id) "/audio" } aria-label={ "Recording " (r.id) } {}
                        a.muted href={ "/recordings/" (r.id) "/audio" } download { "download" }
                    }
                    "recording" => span.badge.warn { "recording…" },
                    _ => span.badge.bad { "recording failed" },
                }
            }
        }
    }
}

pub(in crate::web) fn secs_between(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.zip(b).map(|(a, b)| (b - a).max(0) / 1000)
}

fn table(calls: &[CallRecord], recs: &[RecordingRow]) -> Markup {
    html! {
        table id="calls-table" {
            thead { tr {
                th data-sort { "Start (UTC)" } th data-sort { "Caller" } th data-sort { "Callee" } th data-sort { "Direction" }
                th data-sort { "Trunk" } th data-sort { "Duration" } th data-sort { "Talk" } th data-sort { "Status" }
                th { "IVR path" } th data-sort { "Disposition and notes" } th data-sort { "MOS" } th { "Recording" }
            } }
            tbody { @for c in calls {
                @let total = secs_between(Some(c.started_at), c.ended_at);
                @let talk = secs_between(c.answered_at, c.ended_at);
                @let mine: Vec<&RecordingRow> = recs.iter().filter(|r| r.call_id == c.call_id).collect();
                tr data-call=(c.call_id) {
                    td data-value=(c.started_at) { (utc_ms(c.started_at)) }
                    td.mono { (c.caller) }
                    td.mono { (c.callee) }
                    td { (c.direction) }
                    td { (c.trunk.as_deref().unwrap_or("–")) }
                    td data-value=(total.unwrap_or(-1)) { (total.map(duration).unwrap_or_else(|| "–".into())) }
                    td data-value=(talk.unwrap_or(-1)) { (talk.map(duration).unwrap_or_else(|| "–".into())) }
                    td { (status_cell(c)) }
                    td.muted { (c.ivr_path.as_deref().unwrap_or("")) }
                    td {
                        @if let Some(d) = &c.disposition { span.badge { (d) } }
                        @if let Some(n) = c.notes.as_deref().filter(|n| !n.is_empty()) { div.notes { (n) } }
                    }
                    td data-value=(mos(c).unwrap_or(0.0)) { (mos_cell(c)) }
                    td { (recordings_cell(&mine)) }
                }
            } }
        }
    }
}

/// `GET /calls`: the filtered, paged records.
pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<CallsQuery>) -> Response {
    let v = match supervisor(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (filter, page, errors) = q.parse();
    let (trunks, codes) = v.store.recent_call_choices().await.unwrap_or_default();
    let (calls, total) = if errors.is_empty() {
        let offset = (page - 1) * PAGE_SIZE;
        let calls = v.store.search_call_records(&filter, PAGE_SIZE, offset).await;
        let total = v.store.count_call_records(&filter).await;
        match (calls, total) {
            (Ok(c), Ok(t)) => (c, t),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!("call records query failed: {e}");
                (Vec::new(), 0)
            }
        }
    } else {
        (Vec::new(), 0)
    };
    let ids: Vec<String> = calls.iter().map(|c| c.call_id.clone()).collect();
    let recs = v.store.recordings_of_calls(&ids).await.unwrap_or_default();
    let base = q.encoded();
    let link = |p: i64| if base.is_empty() { format!("/calls?page={p}") } else { format!("/calls?{base}&page={p}") };
    let first = (page - 1) * PAGE_SIZE + 1;
    let last = (page - 1) * PAGE_SIZE + calls.len() as i64;
    let filtered = !base.is_empty();
    let body = html! {
        div.card { h2 { "Filter" } (filter_form(&q, &errors, &trunks, &codes)) }
        div.card {
            h2 { "Calls" }
            @if !errors.is_empty() {
                div.empty { "Fix the marked filter fields to see calls." }
            } @else if calls.is_empty() {
                div.empty {
                    @if page > 1 && total > 0 { "No calls on this page. " a href=(link(1)) { "Back to the newest" } }
                    @else if filtered { "No calls match this filter. " a href="/calls" { "Show all calls" } }
                    @else { "No calls recorded yet. Calls appear here as soon as the appliance routes them." }
                }
            } @else {
                p.muted id="calls-count" {
                    "Showing " (first) "–" (last) " of " (total) " calls, newest first."
                    @if total > super::calls_csv::MAX_ROWS { " The CSV export holds the newest " (super::calls_csv::MAX_ROWS) " of them." }
                }
                input.filter type="search" placeholder="Filter this page…" data-filter="calls-table" aria-label="Filter this page";
                (table(&calls, &recs))
                nav.pager {
                    @if page > 1 { a.button.secondary id="newer" href=(link(page - 1)) { "← Newer" } }
                    @if last < total { a.button.secondary id="older" href=(link(page + 1)) { "Older →" } }
                }
            }
        }
    };
    let mut r = render(&v, "/calls", "Call records", None, body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// `GET /recordings/{id}/audio`: a finished recording, from below
/// `<data>/recordings` only.
pub async fn audio<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let v = match supervisor(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (Ok(id), Some(data)) = (id.parse::<i64>(), core.data_dir()) else {
        return (StatusCode::NOT_FOUND, "no such recording\n").into_response();
    };
    match v.store.recording(id).await {
        Ok(Some(r)) if r.status == "done" => super::audio::serve(&r.path, &data.join("recordings"), &headers),
        Ok(_) => (StatusCode::NOT_FOUND, "no such recording\n").into_response(),
        Err(e) => {
            tracing::error!("recording {id}: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the recording could not be read\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> CallsQuery {
        let text = pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
        serde_urlencoded::from_str(&text).unwrap()
    }

    #[test]
    fn filter_parsing_and_links() {
        let (f, page, errors) = q(&[("from", "2026-01-31"), ("to", "2026-01-31"), ("direction", "inbound"), ("answered", "no"), ("q", " x "), ("page", "3")]).parse();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((f.since_ms, f.until_ms), (Some(1_769_817_600_000), Some(1_769_817_600_000 + 86_400_000)));
        assert_eq!((f.direction.as_deref(), f.answered, f.text.as_deref(), page), (Some("inbound"), Some(false), Some("x"), 3));
        let (_, page, errors) = q(&[("from", "2026-02-30"), ("to", "yesterday"), ("direction", "up"), ("answered", "1"), ("page", "x")]).parse();
        let fields: Vec<_> = errors.iter().map(|e| e.0).collect();
        assert_eq!((fields, page), (vec!["from", "to", "direction", "answered"], 1));
        let (_, _, errors) = q(&[("from", "2026-02-02"), ("to", "2026-02-01")]).parse();
        assert_eq!(errors[0].0, "to");
        assert_eq!(q(&[("caller", "a&b=c"), ("page", "2")]).encoded(), "caller=a%26b%3Dc");
        assert_eq!(utc_ms(1_769_817_600_000), "2026-01-31 00:00:00");
    }

    #[test]
    fn hostile_values_are_escaped() {
        let query = q(&[("caller", "\"><script>alert(1)</script>")]);
        let html = filter_form(&query, &Vec::new(), &["<b>".into()], &[]).into_string();
        assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
    }
}

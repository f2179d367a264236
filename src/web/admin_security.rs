//! SIP attack protection over HTTP, scope `admin`:
//! `GET /api/v1/security/bans` (banned addresses and the addresses with
//! the most recent authentication failures) and
//! `DELETE /api/v1/security/bans/{address}` (lift a ban, audited). The
//! bans themselves are `sip::guard`'s, reached through `CoreApi::sip_bans`
//! and `CoreApi::lift_sip_ban`; this file owns the JSON shapes, the status
//! codes and the audit entry only.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::admin::{field_error, json, Answer};
use super::api::json_error;
use super::caller::AdminCaller;
use super::CoreApi;

/// How many addresses with recent failures the list shows.
const TOP_OFFENDERS: usize = 20;

/// A banned address.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BanView {
    #[schema(example = "203.0.113.7")]
    address: String,
    /// RFC 3339, UTC.
    #[schema(example = "2026-11-27T04:00:00Z")]
    since: String,
    /// When the ban ends by itself (`[sip] ban_secs` after `since`).
    #[schema(example = "2026-11-27T05:00:00Z")]
    until: String,
    /// `authentication failures` or `SIP scanner`.
    #[schema(example = "authentication failures")]
    reason: String,
    /// Failures counted in the window when the ban started (a scanner's request counts 10).
    failures: u32,
}

/// An address with authentication failures inside `[sip] ban_window_secs`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct OffenderView {
    #[schema(example = "198.51.100.20")]
    address: String,
    failures: u32,
    /// RFC 3339, UTC.
    last_failure: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BanList {
    /// Current bans, newest first.
    bans: Vec<BanView>,
    /// Up to 20 addresses, most failures first (not yet banned, or below the threshold).
    recent_failures: Vec<OffenderView>,
}

fn date(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map(|t| t.to_string()).unwrap_or_else(|_| unix.to_string())
}

fn no_guard() -> super::admin::Refused {
    json_error(StatusCode::SERVICE_UNAVAILABLE, "SIP is not running here").into()
}

#[utoipa::path(
    get,
    path = "/api/v1/security/bans",
    tag = "security",
    summary = "Banned SIP addresses",
    description = "Addresses whose SIP requests are dropped unanswered: too many authentication failures \
(`[sip] ban_after_failures` within `ban_window_secs`, all usernames together) or SIP scanners. Also the addresses \
with the most failures in the window so far.",
    responses(
        (status = 200, description = "The bans.", body = BanList),
        (status = 503, description = "SIP is not running.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let report = core.sip_bans(TOP_OFFENDERS).ok_or_else(no_guard)?;
    let bans = report
        .bans
        .into_iter()
        .map(|b| BanView { address: b.address.to_string(), since: date(b.since), until: date(b.until), reason: b.reason, failures: b.failures })
        .collect();
    let recent_failures = report
        .offenders
        .into_iter()
        .map(|o| OffenderView { address: o.address.to_string(), failures: o.failures, last_failure: date(o.last) })
        .collect();
    Ok(json(StatusCode::OK, &BanList { bans, recent_failures }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/security/bans/{address}",
    tag = "security",
    summary = "Lift a ban",
    description = "The address is answered again at once, and its failure count starts from zero. Audited.",
    params(("address" = String, Path, description = "The banned IPv4 or IPv6 address.")),
    responses(
        (status = 204, description = "Lifted."),
        (status = 404, description = "The address is not banned.", body = super::openapi::ErrorBody),
        (status = 422, description = "Not an IP address (`field`: `address`).", body = super::openapi::ErrorBody),
        (status = 503, description = "SIP is not running.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn lift<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(address): Path<String>) -> Answer {
    let Ok(ip) = address.trim().parse::<IpAddr>() else {
        return Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, "address", &format!("\"{address}\" is not an IP address")).into());
    };
    match core.lift_sip_ban(ip) {
        None => Err(no_guard()),
        Some(false) => Err(json_error(StatusCode::NOT_FOUND, &format!("{ip} is not banned")).into()),
        Some(true) => {
            if let Some(store) = core.console_store() {
                who.audit(&store, "sip.unban", &ip.to_string(), "SIP ban lifted").await;
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

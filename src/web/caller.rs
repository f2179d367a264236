//! Who makes a request to the console-parity API (`admin_ext`,
//! `admin_trunks`, `admin_users`, `admin_plans`, `admin_prompts`,
//! `admin_records`, `admin_settings`, `admin_fax`): extractors that check the credential
//! for a scope before anything else runs (401/403 as JSON, through
//! `api::authorize_principal`, the same check every `/api/v1` route makes),
//! the audit log entry of a change (actor: the console username or
//! `apikey:NAME`, and the client address, as the console's pages write it),
//! the store handle, and the answers these handlers share (field errors,
//! `no-store`, JSON bodies for the plain-text refusals of the console's
//! file streamers). Owns no validation of values and no routes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::admin::{admin_error, field_error, Refused};
use super::api::{authorize_principal, json_error, query};
use super::CoreApi;
use crate::admin::AdminError;
use crate::store::{InvalidField, Store};

/// A caller whose credential carries the scope its extractor asked for.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    /// For the audit log: the console username, or `apikey:NAME`.
    pub actor: String,
    /// The console user of a session (none for an API key).
    pub user_id: Option<i64>,
    /// The TCP peer, as the console's audit entries give it.
    pub ip: String,
    /// The query string (already parsed: a malformed one is a 400).
    pub query: HashMap<String, String>,
    /// The console user's role (none for an API key).
    pub role: Option<crate::store::Role>,
}

impl Caller {
    async fn check<C: CoreApi>(core: &C, parts: &Parts, scope: &str) -> Result<Caller, Refused> {
        let q = query(&parts.uri).map_err(|e| json_error(StatusCode::BAD_REQUEST, &e))?;
        let p = authorize_principal(core, &parts.headers, &q, scope).await?;
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| super::auth::client_ip(&c.0).to_string()).unwrap_or_default();
        Ok(Caller { actor: p.actor, user_id: p.user_id, ip, query: q, role: p.role })
    }

    /// Records a change made through the API, like `Viewer::audit` for a
    /// page; a failure to record is logged, not fatal.
    pub(super) async fn audit(&self, store: &Store, action: &str, target: &str, detail: &str) {
        if let Err(e) = store.audit(&self.actor, action, target, detail, &self.ip).await {
            tracing::error!("audit log write failed: {e}");
        }
        tracing::info!(actor = %self.actor, %action, %target, "API: {detail}");
    }

    /// A query parameter, trimmed; `None` when absent or blank.
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A whole-number query parameter in `range` (400 when not a number,
    /// 422 when out of range, both naming it); `default` when absent.
    pub(super) fn number(&self, name: &'static str, default: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, Refused> {
        let Some(raw) = self.param(name) else { return Ok(default) };
        let n: i64 = raw.parse().map_err(|_| Refused::from(field_error(StatusCode::BAD_REQUEST, name, &format!("'{raw}' is not a whole number"))))?;
        if !range.contains(&n) {
            let msg = format!("must be {} to {}, got {n}", range.start(), range.end());
            return Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, name, &msg).into());
        }
        Ok(n)
    }
}

/// `answer`, audited as `action` on `target` by `who` when it is a
/// success (the ACD and customer writes, whose work is `CoreApi`'s).
pub(super) async fn audited<C: CoreApi>(core: &C, who: &Caller, answer: super::admin::Answer, action: &str, target: &str, detail: &str) -> super::admin::Answer {
    // Decided before the await: a response body is not `Sync`.
    let success = matches!(&answer, Ok(r) if r.status().is_success());
    if let (true, Some(store)) = (success, core.console_store()) {
        who.audit(&store, action, target, detail).await;
    }
    answer
}

/// A request body for the audit log's detail (no secrets in these).
pub(super) fn detail_of(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A caller with the `fax` scope (supervisors and agents; keys given it).
/// `own`: a console agent's `requested_by` mark; they see and change only
/// the fax jobs that carry it. Everyone else sees every fax.
pub(super) struct FaxCaller {
    pub who: Caller,
    pub own: Option<String>,
}

impl FaxCaller {
    /// What a job this caller queues records as its requester:
    /// `user:<name>` for a console user, `api:<key name>` for a key.
    pub(super) fn requested_by(&self) -> String {
        match self.who.actor.strip_prefix("apikey:") {
            Some(key) if self.who.role.is_none() => format!("api:{key}"),
            _ => format!("user:{}", self.who.actor),
        }
    }

    /// Whether this caller may see a fax queued by `requested_by`.
    pub(super) fn may_see(&self, requested_by: &str) -> bool {
        self.own.as_deref().is_none_or(|me| me == requested_by)
    }
}

impl<C: CoreApi> FromRequestParts<Arc<C>> for FaxCaller {
    type Rejection = Refused;
    async fn from_request_parts(parts: &mut Parts, core: &Arc<C>) -> Result<Self, Refused> {
        let who = Caller::check(&**core, parts, "fax").await?;
        let mut caller = FaxCaller { who, own: None };
        if caller.who.role == Some(crate::store::Role::Agent) {
            caller.own = Some(caller.requested_by());
        }
        Ok(caller)
    }
}

/// A caller with the `admin` scope (admin keys and admin sessions).
pub(super) struct AdminCaller(pub Caller);

/// A caller with the `stats` scope (supervisors; what the console shows
/// supervisors: call records, recordings, the dashboard).
pub(super) struct StatsCaller(pub Caller);

impl<C: CoreApi> FromRequestParts<Arc<C>> for AdminCaller {
    type Rejection = Refused;
    async fn from_request_parts(parts: &mut Parts, core: &Arc<C>) -> Result<Self, Refused> {
        Caller::check(&**core, parts, "admin").await.map(AdminCaller)
    }
}

impl<C: CoreApi> FromRequestParts<Arc<C>> for StatsCaller {
    type Rejection = Refused;
    async fn from_request_parts(parts: &mut Parts, core: &Arc<C>) -> Result<Self, Refused> {
        Caller::check(&**core, parts, "stats").await.map(StatsCaller)
    }
}

/// A refusal of `crate::admin` (or the store) as its answer: 404 unknown,
/// 409 conflict, 422 invalid (naming the field), 500 database.
pub(super) fn refuse(e: impl Into<AdminError>) -> Refused {
    admin_error(e.into()).into()
}

/// The database, or 503 where none is open (the API alone in unit tests).
pub(super) fn store<C: CoreApi>(core: &C) -> Result<Store, Refused> {
    core.console_store().ok_or_else(|| json_error(StatusCode::SERVICE_UNAVAILABLE, "no database is available").into())
}

/// 422 for the problems a check found, all of them in `error` (one
/// `field: message` each, `;`-separated) and the first one's field in
/// `field`.
pub(super) fn fields_error(errors: &[InvalidField]) -> Refused {
    let Some(first) = errors.first() else { return json_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid request").into() };
    let text: Vec<String> = errors.iter().map(|e| if e.field.is_empty() { e.message.clone() } else { format!("{}: {}", e.field, e.message) }).collect();
    if first.field.is_empty() {
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, &text.join("; ")).into();
    }
    let body = serde_json::json!({ "error": text.join("; "), "field": first.field }).to_string();
    (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/json")], body).into_response().into()
}

/// Marks an answer that carries a secret shown once: never cached.
pub(super) fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The console's file streamers refuse in plain text; the API answers
/// JSON. A 2xx passes unchanged; a refusal keeps its status and headers
/// (`Content-Range` of a 416) and gets `{"error": what}`.
pub(super) fn json_refusal(r: Response, what: &str) -> Response {
    if r.status().is_success() {
        return r;
    }
    let (mut parts, _) = r.into_parts();
    let msg = match parts.status {
        StatusCode::NOT_FOUND => format!("no such {what}"),
        StatusCode::RANGE_NOT_SATISFIABLE => "the range is outside the file".to_string(),
        s => format!("the {what} could not be read ({s})"),
    };
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = serde_json::json!({ "error": msg }).to_string();
    Response::from_parts(parts, axum::body::Body::from(body))
}

//! Console users and the audit log over HTTP, scope `admin`:
//! `/api/v1/users[/{id}]`, `PUT /api/v1/users/{id}/password` and
//! `GET /api/v1/audit`, what the console's users and audit pages do. The
//! rules are `crate::admin`'s and the store's, as the pages use them (an
//! agent user needs an agent id, the last admin stays, nobody removes
//! themselves); every change is audited like the page's. Never returns a
//! password or its hash. Owns request parsing and routes only.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::admin::{field_error, json, json_body, Answer, Refused};
use super::api::json_error;
use super::caller::{refuse, store, AdminCaller};
use super::CoreApi;
use crate::admin::{UserChange, UserInput, UserView};
use crate::store::AuditFilter;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UserList {
    /// By username.
    users: Vec<UserView>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPassword {
    /// 10 to 128 characters, not the username.
    password: String,
}

/// An audit log entry.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct AuditEntryView {
    /// Unix seconds.
    at: i64,
    /// A console username, or `apikey:NAME` for a change made with an API key.
    actor: String,
    /// What was done, e.g. `extension.create`.
    action: String,
    target: String,
    detail: String,
    /// The client's address.
    ip: String,
}

/// One page of the audit log, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct AuditPage {
    /// Entries the filter matches, on every page.
    total: i64,
    limit: i64,
    offset: i64,
    entries: Vec<AuditEntryView>,
}

/// An id in the path; anything else names no user (404).
fn id(raw: &str) -> Result<i64, Refused> {
    raw.parse().map_err(|_| json_error(StatusCode::NOT_FOUND, &format!("user {raw} not found")).into())
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "users",
    summary = "List console users",
    description = "Every user with their role, agent link, state and last login. Never a password or its hash.",
    responses((status = 200, description = "The users.", body = UserList)),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let store = store(&*core)?;
    let users = store.list_users().await.map_err(refuse)?.into_iter().map(UserView::from).collect();
    Ok(json(StatusCode::OK, &UserList { users }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "create_user",
    tag = "users",
    summary = "Create a console user",
    description = "Like the console's form: an `agent` user needs `agent_id`. The `Location` header names the new user.",
    request_body = UserInput,
    responses(
        (status = 201, description = "Created.", body = UserView),
        (status = 409, description = "The username is taken.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field`: `username`, `role`, `agent_id` or `password`).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let input: UserInput = json_body(&headers, body).await?;
    let u = crate::admin::create_user(&store, &input).await.map_err(refuse)?;
    who.audit(&store, "user.create", &u.username, &format!("role {}", u.role.as_str())).await;
    let id = u.id;
    let mut r = json(StatusCode::CREATED, &UserView::from(u));
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/users/{id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    operation_id = "get_user",
    tag = "users",
    summary = "Get a console user",
    params(("id" = i64, Path, description = "User id.")),
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path(raw): Path<String>) -> Answer {
    let store = store(&*core)?;
    let u = store.user(id(&raw)?).await.map_err(refuse)?;
    Ok(json(StatusCode::OK, &UserView::from(u)))
}

#[utoipa::path(
    put,
    path = "/api/v1/users/{id}",
    operation_id = "update_user",
    tag = "users",
    summary = "Change a user's role, name, agent link or state",
    description = "The fields given change, the others keep their values. Disabling a user ends their sessions. The last enabled admin cannot be demoted or disabled (422).",
    params(("id" = i64, Path, description = "User id.")),
    request_body = UserChange,
    responses(
        (status = 200, description = "The user as changed.", body = UserView),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
        (status = 422, description = "An unknown role, or the last admin would go.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn update<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(raw): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let id = id(&raw)?;
    let change: UserChange = json_body(&headers, body).await?;
    let u = crate::admin::update_user(&store, id, &change).await.map_err(refuse)?;
    let detail = format!("role {}, agent '{}', disabled {}", u.role.as_str(), u.agent_id.as_deref().unwrap_or(""), u.disabled);
    who.audit(&store, "user.update", &u.username, &detail).await;
    Ok(json(StatusCode::OK, &UserView::from(u)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    operation_id = "delete_user",
    tag = "users",
    summary = "Remove a console user",
    description = "Their sessions end. Nobody removes themselves, and the last enabled admin stays (422).",
    params(("id" = i64, Path, description = "User id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
        (status = 422, description = "The caller's own user, or the last admin.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(raw): Path<String>) -> Answer {
    let store = store(&*core)?;
    let u = crate::admin::delete_user(&store, id(&raw)?, who.user_id).await.map_err(refuse)?;
    who.audit(&store, "user.delete", &u.username, "").await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/password",
    operation_id = "set_user_password",
    tag = "users",
    summary = "Set a user's password",
    description = "Lifts a lockout and ends the user's sessions.",
    params(("id" = i64, Path, description = "User id.")),
    request_body = NewPassword,
    responses(
        (status = 204, description = "Set."),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
        (status = 422, description = "The password is too short, too long or the username (`field`: `password`).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn password<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(raw): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let id = id(&raw)?;
    let p: NewPassword = json_body(&headers, body).await?;
    let u = crate::admin::set_password(&store, id, &p.password).await.map_err(refuse)?;
    who.audit(&store, "user.password", &u.username, "password set; sessions ended").await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Midnight UTC starting a `YYYY-MM-DD` query parameter, in unix seconds.
fn day(who: &super::caller::Caller, name: &'static str) -> Result<Option<i64>, Refused> {
    let Some(raw) = who.param(name) else { return Ok(None) };
    match super::console::calls::day_start_ms(raw) {
        Some(ms) => Ok(Some(ms / 1000)),
        None => Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, name, &format!("'{raw}' is not a date (YYYY-MM-DD)")).into()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit",
    tag = "users",
    summary = "The audit log",
    description = "Every admin change, made in the console or through the API (actor `apikey:NAME` for a key), newest first. Filters combine; values are matched as data, never as SQL.",
    params(
        ("actor" = Option<String>, Query, description = "Exactly this actor."),
        ("action" = Option<String>, Query, description = "Actions starting with this, e.g. `user.` or `extension.create`."),
        ("target" = Option<String>, Query, description = "Exactly this target."),
        ("q" = Option<String>, Query, description = "Text in actor, action, target or detail (case-insensitive)."),
        ("from" = Option<String>, Query, description = "From this day on (`YYYY-MM-DD`, UTC)."),
        ("to" = Option<String>, Query, description = "Up to the end of this day (`YYYY-MM-DD`, UTC)."),
        ("limit" = Option<i64>, Query, description = "Entries per page, 1 to 1000 (default 100)."),
        ("offset" = Option<i64>, Query, description = "Entries to skip (default 0)."),
    ),
    responses(
        (status = 200, description = "One page of entries.", body = AuditPage),
        (status = 400, description = "`limit` or `offset` is not a whole number, or a malformed query string.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value out of range or not a date (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn audit<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller) -> Answer {
    let store = store(&*core)?;
    let limit = who.number("limit", 100, 1..=1000)?;
    let offset = who.number("offset", 0, 0..=i64::from(i32::MAX))?;
    let text = |name: &str| who.param(name).map(str::to_string);
    let filter = AuditFilter {
        actor: text("actor"),
        action: text("action"),
        target: text("target"),
        text: text("q"),
        since: day(&who, "from")?,
        until: day(&who, "to")?.map(|d| d + 86_400),
    };
    let total = store.count_audit(&filter).await.map_err(refuse)?;
    let entries = store
        .search_audit(&filter, limit, offset)
        .await
        .map_err(refuse)?
        .into_iter()
        .map(|e| AuditEntryView { at: e.at, actor: e.actor, action: e.action, target: e.target, detail: e.detail, ip: e.ip })
        .collect();
    Ok(json(StatusCode::OK, &AuditPage { total, limit, offset, entries }))
}

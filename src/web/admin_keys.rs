//! API keys over HTTP, scope `admin`: `/api/v1/apikeys[/{name}]`, what the
//! console's API keys page does (list, create, revoke). The rules are
//! `crate::admin`'s and the store's, as the page and `switchboard apikey`
//! use them. A new key is in the creating answer only (`Cache-Control:
//! no-store`), never listed, logged or audited (the audit log gets the
//! name and scopes). Owns request parsing and routes only.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;

use super::admin::{json, json_body, Answer};
use super::caller::{no_store, refuse, store, AdminCaller};
use super::CoreApi;
use crate::admin::{ApiKeyInput, ApiKeyView};

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ApiKeyList {
    /// By name.
    keys: Vec<ApiKeyView>,
}

/// A new key and its clear text, shown only in this answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CreatedApiKey {
    name: String,
    scopes: Vec<String>,
    /// `sb_...`: send it as `Authorization: Bearer <key>`. It cannot be
    /// recovered (only a hash is kept).
    key: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/apikeys",
    operation_id = "list_api_keys",
    tag = "api keys",
    summary = "List API keys",
    description = "Name, prefix, scopes, creation and last use of every key. Never a key.",
    responses((status = 200, description = "The keys.", body = ApiKeyList)),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let store = store(&*core)?;
    let keys = crate::admin::list_api_keys(&store).await.map_err(refuse)?;
    Ok(json(StatusCode::OK, &ApiKeyList { keys }))
}

#[utoipa::path(
    post,
    path = "/api/v1/apikeys",
    operation_id = "create_api_key",
    tag = "api keys",
    summary = "Create an API key",
    description = "The key is in this answer only (`Cache-Control: no-store`): store it now.",
    request_body = ApiKeyInput,
    responses(
        (status = 201, description = "Created.", body = CreatedApiKey),
        (status = 409, description = "A key of that name exists.", body = super::openapi::ErrorBody),
        (status = 422, description = "The name or a scope is invalid (`field`: `name` or `scopes`).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let input: ApiKeyInput = json_body(&headers, body).await?;
    let key = crate::admin::create_api_key(&store, &input).await.map_err(refuse)?;
    let name = input.name.trim().to_string();
    who.audit(&store, "apikey.create", &name, &format!("scopes {}", input.scopes.join(","))).await;
    Ok(no_store(json(StatusCode::CREATED, &CreatedApiKey { name, scopes: input.scopes, key })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/apikeys/{name}",
    operation_id = "revoke_api_key",
    tag = "api keys",
    summary = "Revoke an API key",
    description = "Programs using it are refused from the next request on.",
    params(("name" = String, Path, description = "Key name.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No such key.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn revoke<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(name): Path<String>) -> Answer {
    let store = store(&*core)?;
    crate::admin::revoke_api_key(&store, &name).await.map_err(refuse)?;
    who.audit(&store, "apikey.delete", &name, "").await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

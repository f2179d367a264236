//! Extensions over HTTP, scope `admin`: `/api/v1/extensions[/{number}]`
//! and `POST /api/v1/extensions/{number}/secret`, what the console's
//! extensions page does (list with registrations, create, rename and
//! codecs, new random secret, delete). The checks and writes are
//! `crate::admin`'s, the same functions the page calls; every change is
//! audited like the page's. A secret made here is returned once, with
//! `Cache-Control: no-store`. Owns request parsing and routes only; must
//! not touch registrations or SIP.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::admin::{json, json_body, Answer};
use super::caller::{fields_error, no_store, refuse, store, AdminCaller};
use super::CoreApi;
use crate::admin::ExtensionView;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ExtensionList {
    /// By number.
    extensions: Vec<ExtensionView>,
}

/// A new extension.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewExtension {
    /// 1 to 20 digits.
    number: String,
    #[serde(default)]
    name: String,
    /// 8 to 128 characters; left out, a random one is made and returned.
    #[serde(default)]
    secret: Option<String>,
    /// Codec preference, e.g. `PCMA,PCMU`; left out or "": `[media] codecs`.
    #[serde(default)]
    codecs: Option<String>,
    /// Outbound class of service: `internal`, `national` (left out),
    /// `international` or `premium`.
    #[serde(default)]
    dial_class: Option<String>,
}

/// A change: the fields given change, the others keep their values.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExtensionChange {
    #[serde(default)]
    name: Option<String>,
    /// null or "": back to `[media] codecs`.
    #[serde(default, deserialize_with = "crate::admin::nullable")]
    #[schema(value_type = Option<String>)]
    codecs: Option<Option<String>>,
    /// Outbound class of service: `internal`, `national`, `international`
    /// or `premium`.
    #[serde(default)]
    dial_class: Option<String>,
}

/// A created extension, and the secret the server made (null when the
/// request gave one).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CreatedExtension {
    extension: ExtensionView,
    /// Shown only in this answer: enter it in the phone.
    secret: Option<String>,
}

/// A new secret, shown only in this answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct NewSecret {
    number: String,
    secret: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/extensions",
    operation_id = "list_extensions",
    tag = "extensions",
    summary = "List extensions",
    description = "Every extension with the phones registered to it now (contact, source address, user agent, expiry). Never a secret.",
    responses((status = 200, description = "The extensions.", body = ExtensionList)),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let store = store(&*core)?;
    let extensions = crate::admin::list_extensions(&store, crate::store::unix_time()).await.map_err(refuse)?;
    Ok(json(StatusCode::OK, &ExtensionList { extensions }))
}

/// `POST /api/v1/extensions`: 201, the secret made when none was given.
#[utoipa::path(
    post,
    path = "/api/v1/extensions",
    operation_id = "create_extension",
    tag = "extensions",
    summary = "Create an extension",
    description = "Like the console's form and `switchboard extension add`. Without `secret` the server makes a random one and returns it in this answer only (`Cache-Control: no-store`); only digests are kept. The `Location` header names the new extension.",
    request_body = NewExtension,
    responses(
        (status = 201, description = "Created.", body = CreatedExtension),
        (status = 409, description = "The number exists.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names the first; `error` lists all).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let input: NewExtension = json_body(&headers, body).await?;
    let made = input.secret.is_none().then(crate::admin::random_secret);
    let secret = input.secret.clone().or_else(|| made.clone()).unwrap_or_default();
    let (number, codecs) = crate::admin::check_new_extension(&input.number, &secret, input.codecs.as_deref().unwrap_or("")).map_err(|e| fields_error(&e))?;
    let class = input.dial_class.as_deref().map(crate::admin::check_dial_class).transpose().map_err(refuse)?;
    crate::admin::create_extension(&store, &core.sip_realm(), &number, &input.name, &secret, codecs).await.map_err(refuse)?;
    if let Some(class) = class {
        crate::admin::set_dial_class(&store, &number, class).await.map_err(refuse)?;
    }
    let class = class.map_or("national", |c| c.as_str());
    who.audit(&store, "extension.create", &number, &format!("name '{}', class {class}", input.name.trim())).await;
    let extension = crate::admin::get_extension(&store, &number, crate::store::unix_time()).await.map_err(refuse)?;
    let mut r = json(StatusCode::CREATED, &CreatedExtension { extension, secret: made });
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/extensions/{number}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(no_store(r))
}

#[utoipa::path(
    get,
    path = "/api/v1/extensions/{number}",
    operation_id = "get_extension",
    tag = "extensions",
    summary = "Get an extension",
    params(("number" = String, Path, description = "Extension number.")),
    responses(
        (status = 200, description = "The extension and its registrations.", body = ExtensionView),
        (status = 404, description = "No such extension.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path(number): Path<String>) -> Answer {
    let store = store(&*core)?;
    let x = crate::admin::get_extension(&store, &number, crate::store::unix_time()).await.map_err(refuse)?;
    Ok(json(StatusCode::OK, &x))
}

#[utoipa::path(
    put,
    path = "/api/v1/extensions/{number}",
    operation_id = "update_extension",
    tag = "extensions",
    summary = "Change an extension's name, codecs or class of service",
    description = "The fields given change, the others keep their values. The secret is changed with `POST .../secret`.",
    params(("number" = String, Path, description = "Extension number.")),
    request_body = ExtensionChange,
    responses(
        (status = 200, description = "The extension as changed.", body = ExtensionView),
        (status = 404, description = "No such extension.", body = super::openapi::ErrorBody),
        (status = 422, description = "The codec list or the class of service is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn update<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(number): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let change: ExtensionChange = json_body(&headers, body).await?;
    let now = crate::store::unix_time();
    let before = crate::admin::get_extension(&store, &number, now).await.map_err(refuse)?;
    let name = change.name.unwrap_or(before.name);
    let codecs = change.codecs.unwrap_or(before.codecs);
    let codecs = codecs.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let class = change.dial_class.as_deref().map(crate::admin::check_dial_class).transpose().map_err(refuse)?;
    crate::admin::update_extension(&store, &number, &name, codecs).await.map_err(refuse)?;
    if let Some(class) = class {
        crate::admin::set_dial_class(&store, &number, class).await.map_err(refuse)?;
    }
    let class = class.map_or(before.dial_class.clone(), |c| c.as_str().to_string());
    who.audit(&store, "extension.update", &number, &format!("name '{}', codecs '{}', class {class}", name.trim(), codecs.unwrap_or("default"))).await;
    let x = crate::admin::get_extension(&store, &number, now).await.map_err(refuse)?;
    Ok(json(StatusCode::OK, &x))
}

#[utoipa::path(
    delete,
    path = "/api/v1/extensions/{number}",
    operation_id = "delete_extension",
    tag = "extensions",
    summary = "Remove an extension",
    description = "With its registrations: its phones can no longer register or call.",
    params(("number" = String, Path, description = "Extension number.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such extension.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(number): Path<String>) -> Answer {
    let store = store(&*core)?;
    crate::admin::delete_extension(&store, &number).await.map_err(refuse)?;
    who.audit(&store, "extension.delete", &number, "").await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/extensions/{number}/secret`: a new random secret.
#[utoipa::path(
    post,
    path = "/api/v1/extensions/{number}/secret",
    operation_id = "reset_extension_secret",
    tag = "extensions",
    summary = "Give an extension a new random secret",
    description = "The console's \"New secret\": the old secret stops working (registered phones must re-register with the new one). The secret is in this answer only (`Cache-Control: no-store`).",
    params(("number" = String, Path, description = "Extension number.")),
    responses(
        (status = 200, description = "The new secret.", body = NewSecret),
        (status = 404, description = "No such extension.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn reset_secret<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(number): Path<String>) -> Answer {
    let store = store(&*core)?;
    let secret = crate::admin::reset_secret(&store, &core.sip_realm(), &number).await.map_err(refuse)?;
    who.audit(&store, "extension.reset_secret", &number, "new random secret").await;
    Ok(no_store(json(StatusCode::OK, &NewSecret { number, secret })))
}

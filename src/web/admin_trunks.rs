//! SIP trunks over HTTP, scope `admin`: `/api/v1/trunks[/{trunk}]`, what
//! the console's trunks page does (the list with DIDs and the last
//! OPTIONS / registration probe, add, change, delete). Validation and the
//! writes are `admin::create_trunk` and `admin::update_trunk`, as the
//! pages and `switchboard trunk add|set` use them; a change keeps the
//! fields not given (the secret too) and the DIDs. Every change is
//! audited. Secrets are write-only. Owns request parsing and routes only;
//! must not talk to the trunk supervisor (it sees changed rows within
//! seconds and re-registers when the line changed).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::admin::{json, json_body, Answer};
use super::caller::{fields_error, refuse, store, AdminCaller};
use super::CoreApi;
use crate::admin::{nullable, TrunkChange, TrunkInput, TrunkRefused, TrunkView};

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TrunkList {
    /// Whether the supervisor probes trunks with OPTIONS
    /// (`[trunks] options_interval_secs` > 0); when not, `options_ok` stays null.
    options_probes: bool,
    /// By name.
    trunks: Vec<TrunkView>,
}

/// A new trunk, with the options of `switchboard trunk add`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTrunk {
    /// Letters, digits, `-`, `_`; 1 to 64.
    name: String,
    /// The carrier's SIP server, `HOST:PORT`; must resolve.
    host: String,
    /// `udp` (default) or `tcp`.
    #[serde(default)]
    transport: String,
    /// Register to the carrier (needs `username` and `secret`).
    #[serde(default)]
    register: bool,
    #[serde(default)]
    username: Option<String>,
    /// Write-only: never shown again.
    #[serde(default)]
    secret: Option<String>,
    /// Inbound numbers, `DID` or `DID=EXTENSION`.
    #[serde(default)]
    dids: Vec<String>,
    /// Use it for outbound calls (the first trunk is the default anyway).
    #[serde(default)]
    is_default: bool,
    /// Codec preference toward the carrier; left out: `[media] codecs`.
    #[serde(default)]
    codecs: Option<String>,
}

/// A change to a trunk: the fields given change, the others (and the DIDs)
/// keep their values. The name cannot change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TrunkChangeBody {
    /// The carrier's SIP server, `HOST:PORT`; must resolve.
    #[serde(default)]
    host: Option<String>,
    /// `udp` or `tcp`.
    #[serde(default)]
    transport: Option<String>,
    /// Register to the carrier (needs `username` and `secret`, given or stored).
    #[serde(default)]
    register: Option<bool>,
    /// Null or "" removes the username and the stored secret.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    /// Write-only: a new secret; left out (or "") keeps the stored one.
    #[serde(default)]
    secret: Option<String>,
    /// Use it for outbound calls; false leaves the oldest trunk as the default.
    #[serde(default)]
    is_default: Option<bool>,
    /// Codec preference; null or "" goes back to `[media] codecs`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    codecs: Option<Option<String>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/trunks",
    operation_id = "list_trunks",
    tag = "trunks",
    summary = "List trunks",
    description = "Every trunk with its DIDs, codecs and the trunk supervisor's last probe (OPTIONS reachability, registration). Never a secret.",
    responses((status = 200, description = "The trunks.", body = TrunkList)),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let store = store(&*core)?;
    let trunks = crate::admin::list_trunks(&store).await.map_err(refuse)?;
    let options_probes = core.console_config().is_some_and(|c| c.trunk_options);
    Ok(json(StatusCode::OK, &TrunkList { options_probes, trunks }))
}

#[utoipa::path(
    post,
    path = "/api/v1/trunks",
    operation_id = "create_trunk",
    tag = "trunks",
    summary = "Add a trunk",
    description = "Like the console's form and `switchboard trunk add`; every field is checked and all problems are reported (`field` names the first). The host must resolve. The trunk supervisor starts probing (and registering) within seconds. `PUT /api/v1/trunks/{trunk}` changes it later. The `Location` header names the new trunk.",
    request_body = NewTrunk,
    responses(
        (status = 201, description = "Added.", body = TrunkView),
        (status = 409, description = "The name, or a DID, is taken.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let t: NewTrunk = json_body(&headers, body).await?;
    let input = TrunkInput {
        name: t.name.trim().to_string(),
        host: t.host.trim().to_string(),
        transport: t.transport,
        register: t.register,
        username: t.username,
        secret: t.secret,
        dids: t.dids,
        is_default: t.is_default,
        codecs: t.codecs,
    };
    let checked = match crate::admin::create_trunk(&store, input).await {
        Ok(c) => c,
        Err(TrunkRefused::Invalid(errors)) => return Err(fields_error(&errors)),
        Err(TrunkRefused::Store(e)) => return Err(refuse(e)),
    };
    let name = checked.trunk().name.clone();
    who.audit(&store, "trunk.create", &name, &checked.summary()).await;
    let view = crate::admin::get_trunk(&store, &name).await.map_err(refuse)?;
    let mut r = json(StatusCode::CREATED, &view);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/trunks/{name}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/api/v1/trunks/{trunk}",
    operation_id = "get_trunk",
    tag = "trunks",
    summary = "Get a trunk",
    params(("trunk" = String, Path, description = "Trunk name.")),
    responses(
        (status = 200, description = "The trunk with its DIDs and status.", body = TrunkView),
        (status = 404, description = "No such trunk.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path(trunk): Path<String>) -> Answer {
    let store = store(&*core)?;
    Ok(json(StatusCode::OK, &crate::admin::get_trunk(&store, &trunk).await.map_err(refuse)?))
}

#[utoipa::path(
    put,
    path = "/api/v1/trunks/{trunk}",
    operation_id = "update_trunk",
    tag = "trunks",
    summary = "Change a trunk",
    description = "Like the console's trunk form and `switchboard trunk set`: the fields given change, the others keep their values (the stored secret too, unless a new one is given); the DIDs stay. Every field is checked and all problems are reported (`field` names the first); a changed host must resolve. When the host, transport, credentials or registration change, the trunk supervisor restarts the trunk within seconds: it removes the old registration (when the host or user changed, or registering stops) and registers with the new values. Audited without the secret.",
    params(("trunk" = String, Path, description = "Trunk name.")),
    request_body = TrunkChangeBody,
    responses(
        (status = 200, description = "The trunk as changed (or as it was, when nothing changed).", body = TrunkView),
        (status = 404, description = "No such trunk.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn update<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(trunk): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let c: TrunkChangeBody = json_body(&headers, body).await?;
    let change = TrunkChange {
        host: c.host,
        transport: c.transport,
        register: c.register,
        username: c.username.map(Option::unwrap_or_default),
        secret: c.secret,
        is_default: c.is_default,
        codecs: c.codecs.map(Option::unwrap_or_default),
    };
    let done = match crate::admin::update_trunk(&store, &trunk, change).await {
        Ok(d) => d,
        Err(TrunkRefused::Invalid(errors)) => return Err(fields_error(&errors)),
        Err(TrunkRefused::Store(e)) => return Err(refuse(e)),
    };
    if !done.summary.is_empty() {
        who.audit(&store, "trunk.update", &trunk, &done.summary).await;
    }
    Ok(json(StatusCode::OK, &crate::admin::get_trunk(&store, &trunk).await.map_err(refuse)?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/trunks/{trunk}",
    operation_id = "delete_trunk",
    tag = "trunks",
    summary = "Remove a trunk",
    description = "With its DIDs; the trunk supervisor stops probing and unregisters.",
    params(("trunk" = String, Path, description = "Trunk name.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such trunk.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(trunk): Path<String>) -> Answer {
    let store = store(&*core)?;
    crate::admin::delete_trunk(&store, &trunk).await.map_err(refuse)?;
    who.audit(&store, "trunk.delete", &trunk, "").await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

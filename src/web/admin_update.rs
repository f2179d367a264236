//! System updates over HTTP, scope `admin`: `GET /api/v1/system/update`
//! (the running version, root slot and last update status) and `POST
//! /api/v1/system/update` (an `.update` file as the raw body, streamed to
//! disk, its header checked, staged for the appliance image's root-owned
//! applier, which writes the other slot and reboots). Receiving and
//! staging are the console's settings card's (`console::update`, on
//! `crate::update`); every staged or refused update is audited. Owns
//! request parsing and routes only; must not write a disk or the boot
//! loader (nothing here can).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::admin::{json, media_type, Answer, Refused};
use super::api::json_error;
use super::caller::{store, AdminCaller};
use super::console::update::stage_upload;
use super::{CoreApi, SettingsContext};
use crate::update::UpdateStatus;

/// An update file checked and staged.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UpdateStaged {
    /// The switchboard version inside.
    #[schema(example = "0.2.0")]
    version: String,
    /// The uncompressed root filesystem, in bytes.
    rootfs_size: u64,
    /// Its SHA-256, which the applier checks on the written slot before switching to it.
    rootfs_sha256: String,
    /// Whether this machine's applier takes it from here (false: staged
    /// only, off the appliance image with `SWITCHBOARD_UPDATE_ALWAYS_STAGE=1`).
    applies: bool,
}

fn context<C: CoreApi>(core: &C) -> Result<SettingsContext, Refused> {
    core.settings().ok_or_else(|| json_error(StatusCode::SERVICE_UNAVAILABLE, "no data directory is available").into())
}

#[utoipa::path(
    get,
    path = "/api/v1/system/update",
    operation_id = "get_update_status",
    tag = "system",
    summary = "The system update status",
    description = "The running version, the root slot the appliance booted from (`A` or `B`; null off the appliance image), the last status line of an update (`staged: ...`, `writing: ...`, `rebooting: ...`, `failed: ...`, `ok: ...`) and whether this machine is the appliance image (updates apply only there).",
    responses(
        (status = 200, description = "The status.", body = UpdateStatus),
        (status = 503, description = "No data directory is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn status<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let ctx = context(&*core)?;
    let s = tokio::task::spawn_blocking(move || crate::update::status(&ctx.data_dir))
        .await
        .map_err(|e| Refused::from(json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("reading the update status failed: {e}"))))?;
    Ok(json(StatusCode::OK, &s))
}

#[utoipa::path(
    post,
    path = "/api/v1/system/update",
    operation_id = "stage_update",
    tag = "system",
    summary = "Upload a system update",
    description = "An update file (`switchboard-<version>.update`: a `SWITCHBOARD-UPDATE 1` header, then the zstd-compressed root filesystem) as the raw body, at most 2 GiB, written to disk as it arrives. Its header is checked (format, version, size, SHA-256, zstd payload); the file is then staged for the appliance image, which writes it to the root slot not running, checks the SHA-256 and reboots into it on trial (going back when it does not come up healthy). Calls in progress are cut off by the reboot. Follow it with `GET`. Audited, refusals too.",
    request_body(description = "An update file.", content(("application/octet-stream"))),
    responses(
        (status = 202, description = "Checked and staged: the appliance applies it now.", body = UpdateStaged),
        (status = 409, description = "An update is already waiting, being written or being uploaded.", body = super::openapi::ErrorBody),
        (status = 413, description = "The file is over 2 GiB.", body = super::openapi::ErrorBody),
        (status = 422, description = "Not a valid update file; `error` says what is wrong (nothing staged).", body = super::openapi::ErrorBody),
        (status = 500, description = "The data directory could not take the file (full or not writable; nothing staged).", body = super::openapi::ErrorBody),
        (status = 503, description = "Not the appliance image (`updates apply only on the appliance image`), or no data directory is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn upload<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let ctx = context(&*core)?;
    let store = store(&*core)?;
    if let Some(t) = media_type(&headers) {
        if t != "application/octet-stream" {
            return Err(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("expected an application/octet-stream body, got {t}")).into());
        }
    }
    match stage_upload(&ctx, &headers, body).await {
        Ok(s) => {
            who.audit(&store, "system.update", &s.header.version, &s.detail()).await;
            let h = s.header;
            Ok(json(StatusCode::ACCEPTED, &UpdateStaged { version: h.version, rootfs_size: h.rootfs_size, rootfs_sha256: h.rootfs_sha256, applies: s.applies }))
        }
        Err(r) => {
            who.audit(&store, "system.update_refused", "", &r.message).await;
            Err(json_error(r.status, &r.message).into())
        }
    }
}

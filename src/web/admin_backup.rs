//! Backup and restore over HTTP, scope `admin`: `GET /api/v1/backup` (a
//! `.tar.gz` snapshot streamed from disk), `POST /api/v1/backup/restore`
//! (an archive as the raw body, checked and staged for the next start),
//! `GET` and `DELETE /api/v1/backup/restore` (the staged restore, and
//! dropping it). Making, checking, staging and dropping are the console's
//! backup page's functions (`console::backup`, on `crate::backup`), one at
//! a time; every download, staged or refused restore and cancellation is
//! audited. Owns request parsing and routes only; must not touch the live
//! database or folders.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;

use super::admin::{json, media_type, Answer, Refused};
use super::api::json_error;
use super::caller::{store, AdminCaller};
use super::console::backup::{cancel_restore, make_backup, stage_restore, BackupRefused, StageRefused};
use super::{CoreApi, SettingsContext};

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RestoreStaged {
    /// When the backup was made.
    created_at: String,
    /// What it holds.
    summary: String,
}

/// The restore waiting for the next start.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PendingRestore {
    /// Whether one is staged; the fields below are null when not.
    staged: bool,
    created_at: Option<String>,
    app_version: Option<String>,
    /// The parts it holds (`db`, `config`, `prompts`, ...).
    includes: Vec<String>,
    files: usize,
}

fn context<C: CoreApi>(core: &C) -> Result<SettingsContext, Refused> {
    core.settings().ok_or_else(|| json_error(StatusCode::SERVICE_UNAVAILABLE, "no data directory is available").into())
}

#[utoipa::path(
    get,
    path = "/api/v1/backup",
    operation_id = "download_backup",
    tag = "backup",
    summary = "Download a backup",
    description = "One `.tar.gz`, as the console's download makes it: a consistent snapshot of the database (taken while the appliance runs), the configuration file, the prompt and dialplan folders, and `manifest.json` with the SHA-256 of every file; recordings and voicemail audio with `audio=1`. It holds secrets (password hashes, the SMTP password). Audited.",
    params(("audio" = Option<String>, Query, description = "`1`: include recordings and voicemail audio.")),
    responses(
        (status = 200, description = "The archive (`Content-Disposition` names it).", content_type = "application/gzip"),
        (status = 409, description = "Another backup or restore is in progress.", body = super::openapi::ErrorBody),
        (status = 503, description = "No data directory is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn download<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller) -> Answer {
    let ctx = context(&*core)?;
    let store = store(&*core)?;
    let audio = who.param("audio").is_some_and(|a| a != "0");
    match make_backup(&store, &ctx, audio).await {
        Ok(d) => {
            who.audit(&store, "backup.download", &d.name, &d.detail).await;
            Ok(d.into_response())
        }
        Err(BackupRefused::Busy) => Err(json_error(StatusCode::CONFLICT, "another backup or restore is in progress; try again in a moment").into()),
        Err(BackupRefused::Failed(e)) => Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the backup failed: {e}")).into()),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/backup/restore",
    operation_id = "stage_restore",
    tag = "backup",
    summary = "Upload a backup to restore",
    description = "The archive is the raw body (at most 2 GiB), written to disk as it arrives, then checked as the console checks it (manifest and checksums, plain files only, a database passing its integrity check) and staged: nothing changes until the next start (`POST /api/v1/restart`), when the current data is moved aside and the backup's put in its place. Audited, refusals too.",
    request_body(description = "A backup archive.", content(("application/gzip"), ("application/octet-stream"))),
    responses(
        (status = 200, description = "Checked and staged.", body = RestoreStaged),
        (status = 413, description = "The archive is over 2 GiB.", body = super::openapi::ErrorBody),
        (status = 409, description = "Another backup or restore is in progress.", body = super::openapi::ErrorBody),
        (status = 422, description = "The archive is empty or failed the checks (nothing staged).", body = super::openapi::ErrorBody),
        (status = 503, description = "No data directory is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn restore<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let ctx = context(&*core)?;
    let store = store(&*core)?;
    if let Some(t) = media_type(&headers) {
        if !matches!(t.as_str(), "application/gzip" | "application/x-gzip" | "application/octet-stream") {
            return Err(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("expected an application/gzip body, got {t}")).into());
        }
    }
    match stage_restore(&ctx, &headers, body).await {
        Ok(s) => {
            who.audit(&store, "backup.restore", &s.created_at, &format!("staged for the next start: {}", s.what)).await;
            Ok(json(StatusCode::OK, &RestoreStaged { created_at: s.created_at, summary: s.what }))
        }
        Err(StageRefused::Refused(why)) => {
            who.audit(&store, "backup.restore_refused", "", &why).await;
            Err(json_error(StatusCode::UNPROCESSABLE_ENTITY, &format!("not restored: {why}")).into())
        }
        Err(StageRefused::Failed(status, msg)) => Err(json_error(status, &msg).into()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/backup/restore",
    operation_id = "get_staged_restore",
    tag = "backup",
    summary = "The staged restore",
    responses(
        (status = 200, description = "The restore waiting for the next start, if any.", body = PendingRestore),
        (status = 503, description = "No data directory is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn pending<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let ctx = context(&*core)?;
    let m = tokio::task::spawn_blocking(move || crate::backup::pending(&ctx.data_dir)).await.ok().flatten();
    let view = match m {
        Some(m) => PendingRestore { staged: true, files: m.files.len(), created_at: Some(m.created_at), app_version: Some(m.app_version), includes: m.includes },
        None => PendingRestore { staged: false, created_at: None, app_version: None, includes: Vec::new(), files: 0 },
    };
    Ok(json(StatusCode::OK, &view))
}

#[utoipa::path(
    delete,
    path = "/api/v1/backup/restore",
    operation_id = "cancel_restore",
    tag = "backup",
    summary = "Drop the staged restore",
    responses(
        (status = 204, description = "Dropped: nothing changes at the next start."),
        (status = 404, description = "No restore is staged.", body = super::openapi::ErrorBody),
        (status = 503, description = "No data directory is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn cancel<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller) -> Answer {
    let ctx = context(&*core)?;
    let store = store(&*core)?;
    match cancel_restore(&ctx).await {
        Ok(Some(created_at)) => {
            who.audit(&store, "backup.restore_cancel", &created_at, "staged restore dropped").await;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Ok(None) => Err(json_error(StatusCode::NOT_FOUND, "no restore is staged").into()),
        Err(e) => Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot drop the staged restore: {e}")).into()),
    }
}

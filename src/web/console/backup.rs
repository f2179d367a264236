//! Backup and restore, admin only (a tab of the settings). The download
//! is one `.tar.gz` made by `crate::backup` in a work folder of the data
//! directory and streamed from there (never held in memory); recordings
//! and voicemail audio only when asked. A restore is uploaded as a raw
//! body by `assets/settings.js` (CSRF header, at most
//! `backup::MAX_ARCHIVE`, 413 beyond), written to disk as it arrives,
//! checked and staged by `crate::backup`, and applied at the next start;
//! the page shows a staged restore, lets the admin cancel it or restart
//! now, and lists the data earlier restores moved aside. Every download,
//! staged or refused restore and cancellation is audited. Making,
//! staging and cancelling (`make_backup`, `stage_restore`,
//! `cancel_restore`) are shared with `/api/v1/backup`. Must not touch
//! the live database or folders itself.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use maud::html;
use serde::Deserialize;

use super::extensions::{flash_of, FlashQuery};
use super::forms::{checkbox, csrf, render_status, viewer_at_least};
use super::settings::tabs;
use super::{see_other, urlencode, Peer};
use crate::backup::{self, Layout, RestoreError, WorkDir, MAX_ARCHIVE};
use crate::store::Role;
use crate::web::{CoreApi, SettingsContext};

/// One backup or restore at a time (each needs disk room for a copy).
static BUSY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// How long a request waits for the one before it (a download still streaming).
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn layout(ctx: &SettingsContext) -> Layout {
    Layout::new(&ctx.data_dir, &ctx.running, &ctx.source)
}

/// (files, bytes) below `dir`.
fn usage(dir: &Path) -> (u64, u64) {
    let Ok(rd) = std::fs::read_dir(dir) else { return (0, 0) };
    rd.flatten().fold((0, 0), |(n, b), e| match e.file_type() {
        Ok(t) if t.is_dir() => {
            let (n2, b2) = usage(&e.path());
            (n + n2, b + b2)
        }
        Ok(t) if t.is_file() => (n + 1, b + e.metadata().map(|m| m.len()).unwrap_or(0)),
        _ => (n, b),
    })
}

fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
        _ => format!("{:.2} GiB", bytes as f64 / 1_073_741_824.0),
    }
}

/// "1 file", "3 files".
fn count(n: i64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Earlier restores' `pre-restore-*` folders, newest first.
fn asides(data: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(data)
        .map(|rd| rd.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).filter(|n| n.starts_with(backup::ASIDE_PREFIX)).collect())
        .unwrap_or_default();
    out.sort();
    out.reverse();
    out
}

pub async fn page<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ctx) = core.settings() else { return (StatusCode::SERVICE_UNAVAILABLE, "no data directory available\n").into_response() };
    let l = layout(&ctx);
    let data = ctx.data_dir.clone();
    let l2 = l.clone();
    let (parts, pending, kept) = tokio::task::spawn_blocking(move || {
        let parts: Vec<(&'static str, PathBuf, (u64, u64), bool)> = vec![
            ("Database", l2.data.join("switchboard.db"), (1, ["switchboard.db", "switchboard.db-wal"].iter().map(|f| std::fs::metadata(l2.data.join(f)).map(|m| m.len()).unwrap_or(0)).sum()), false),
            ("Configuration file", l2.config_file.clone(), if l2.config_file.is_file() { (1, std::fs::metadata(&l2.config_file).map(|m| m.len()).unwrap_or(0)) } else { (0, 0) }, false),
            ("Prompts", l2.prompts.clone(), usage(&l2.prompts), false),
            ("Dialplans", l2.dialplans.clone(), usage(&l2.dialplans), false),
            ("Recordings", l2.recordings.clone(), usage(&l2.recordings), true),
            ("Voicemail audio", l2.voicemail.clone(), usage(&l2.voicemail), true),
        ];
        (parts, backup::pending(&data), asides(&data))
    })
    .await
    .unwrap_or_default();
    let audio: (u64, u64) = parts.iter().filter(|p| p.3).fold((0, 0), |(n, b), p| (n + p.2 .0, b + p.2 .1));
    let body = html! {
        (tabs("/backup"))
        @if let Some(m) = &pending {
            div.card id="pending-restore" {
                h2 { "Restore waiting for the next start " span.badge.warn { "staged" } }
                p { "Backup of " strong { (m.created_at) } " (switchboard " (m.app_version) "): " (m.includes.join(", ")) ", " (m.files.len()) " files, " (size(m.total_size())) "." }
                p.muted { "At the next start the current database and folders are moved to " code { (ctx.data_dir.join(format!("{}<time>", backup::ASIDE_PREFIX)).display()) } " and the backup's put in their place. Console sessions end: log in with an account of the backup." }
                div.controls {
                    (super::restart::form(&v, core.live_calls().len()))
                    form.inline method="post" action="/backup/restore/cancel" data-confirm="Drop the staged restore?" {
                        (csrf(&v))
                        button.secondary type="submit" id="cancel-restore" { "Cancel the restore" }
                    }
                }
            }
        }
        div.grid.top {
            div.card {
                h2 { "Download a backup" }
                form.stack id="backup-form" method="get" action="/backup/download" {
                    (checkbox(&format!("Include recordings and voicemail audio ({} files, {})", audio.0, size(audio.1)), "audio", false, false))
                    button type="submit" id="download-backup" { "Download backup" }
                }
                p.muted { "One .tar.gz: a consistent snapshot of the database (taken while the appliance runs), the configuration file, the prompt and dialplan folders, and manifest.json with the SHA-256 of every file. It holds secrets (password hashes, the SMTP password): keep it safe." }
            }
            div.card {
                h2 { "Restore a backup" }
                form.stack id="restore-upload" method="post" action="/backup/restore" data-upload="application/gzip" data-return="/backup"
                    data-max=(MAX_ARCHIVE) data-too-big="the archive is larger than 2 GiB" {
                    label { "Backup archive (.tar.gz, up to 2 GiB)" input type="file" name="file" id="file" accept=".gz,.tgz,application/gzip" required; }
                    button type="submit" id="upload-restore" { "Upload and check" }
                }
                p.upload-status id="upload-status" role="status" {}
                p.muted { "The archive is checked first (its manifest and checksums, plain files only, a database passing its integrity check). Nothing changes until the next start; the data it replaces is kept in the data directory." }
            }
        }
        div.card {
            h2 { "What a backup holds" }
            table id="backup-parts" {
                thead { tr { th data-sort { "Part" } th data-sort { "Where" } th data-sort { "Files" } th data-sort { "Size" } } }
                tbody { @for (name, path, (files, bytes), optional) in &parts {
                    tr {
                        td { (name) @if *optional { " " span.badge { "optional" } } }
                        td.mono { (path.display()) }
                        td data-value=(files) { (files) }
                        td data-value=(bytes) { (size(*bytes)) }
                    }
                } }
            }
        }
        div.card {
            h2 { "Data replaced by earlier restores" }
            @if kept.is_empty() { div.empty { "None: no backup has been restored here." } } @else {
                p.muted { "In " code { (ctx.data_dir.display()) } "; remove a folder when it is no longer needed." }
                ul id="asides" { @for k in &kept { li.mono { (k) } } }
            }
        }
        script src=(crate::web::assets::url("settings.js")) defer {}
    };
    render_status(&v, "/settings", "Backup and restore", flash_of(&q).as_ref(), body, StatusCode::OK)
}

#[derive(Debug, Deserialize, Default)]
pub struct DownloadQuery {
    #[serde(default)]
    audio: Option<String>,
}

/// `GET /backup/download[?audio=1]`: the archive, streamed from its work folder.
pub async fn download<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<DownloadQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ctx) = core.settings() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    let audio = q.audio.is_some_and(|a| !a.is_empty() && a != "0");
    match make_backup(&v.store, &ctx, audio).await {
        Ok(d) => {
            v.audit("backup.download", &d.name, &d.detail).await;
            d.into_response()
        }
        Err(BackupRefused::Busy) => see_other(&format!("/backup?err={}", urlencode("Another backup or restore is in progress; try again in a moment."))),
        Err(BackupRefused::Failed(e)) => see_other(&format!("/backup?err={}", urlencode(&format!("The backup failed: {e}")))),
    }
}

/// A backup made and ready to stream: its file name, what the audit log
/// says about it, its length and the stream (the work folder goes when
/// the last byte is sent or the client leaves).
pub(in crate::web) struct Download {
    pub name: String,
    pub detail: String,
    length: u64,
    body: Body,
}

impl IntoResponse for Download {
    fn into_response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "application/gzip".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", self.name)),
                (header::CONTENT_LENGTH, self.length.to_string()),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            self.body,
        )
            .into_response()
    }
}

pub(in crate::web) enum BackupRefused {
    /// Another backup or restore runs (waited [`BUSY_WAIT`]).
    Busy,
    Failed(String),
}

/// Makes a backup (the page's download and `GET /api/v1/backup`): a
/// consistent database snapshot, the configuration file, prompts and
/// dialplans, recordings and voicemail audio with `audio`.
pub(in crate::web) async fn make_backup(store: &crate::store::Store, ctx: &SettingsContext, audio: bool) -> Result<Download, BackupRefused> {
    let Ok(busy) = tokio::time::timeout(BUSY_WAIT, BUSY.lock()).await else { return Err(BackupRefused::Busy) };
    let made = backup::create(store, &layout(ctx), audio).await.map_err(|e| BackupRefused::Failed(e.to_string()))?;
    let name = format!("switchboard-backup-{}.tar.gz", made.stamp);
    let m = &made.manifest;
    let mut detail = format!("{}; {} files, {}", m.includes.join(", "), m.files.len(), size(made.size));
    if !made.skipped.is_empty() {
        detail.push_str(&format!("; skipped (links or special files): {}", made.skipped.join(", ")));
    }
    let length = made.size;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        for part in &made.parts {
            let mut f = match std::fs::File::open(part) {
                Ok(f) => f,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        }
        drop(made);
    });
    Ok(Download { name, detail, length, body: Body::new(Chunks(rx)) })
}

/// A response body fed by a channel of chunks.
struct Chunks(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl HttpBody for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|c| c.map(|r| r.map(http_body::Frame::data)))
    }
}

/// A JSON answer to the upload script: `{"ok": text}` or `{"error": text, "field": "file"}`.
pub(super) fn reply(status: StatusCode, ok: bool, text: &str) -> Response {
    let body = if ok { serde_json::json!({ "ok": text }) } else { serde_json::json!({ "error": text, "field": "file" }) };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// `POST /backup/restore` with the archive as the body.
pub async fn restore<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ctx) = core.settings() else { return reply(StatusCode::SERVICE_UNAVAILABLE, false, "no data directory available") };
    match stage_restore(&ctx, &headers, body).await {
        Ok(s) => {
            v.audit("backup.restore", &s.created_at, &format!("staged for the next start: {}", s.what)).await;
            reply(StatusCode::OK, true, &format!("Checked and staged: {}. It replaces the current data at the next start.", s.what))
        }
        Err(StageRefused::Refused(why)) => {
            v.audit("backup.restore_refused", "", &why).await;
            reply(StatusCode::UNPROCESSABLE_ENTITY, false, &format!("Not restored: {why}"))
        }
        Err(StageRefused::Failed(status, msg)) => reply(status, false, &msg),
    }
}

/// A restore checked and staged for the next start.
pub(in crate::web) struct StagedRestore {
    /// When the backup was made.
    pub created_at: String,
    /// What it holds, for people and the audit log.
    pub what: String,
}

pub(in crate::web) enum StageRefused {
    /// The archive failed the checks (audit it).
    Refused(String),
    /// Nothing was checked: too large (413), empty (422), busy (409), ...
    Failed(StatusCode, String),
}

/// Receives an archive (written to disk as it arrives, at most
/// `MAX_ARCHIVE`), checks it and stages it (the page's and the API's
/// restore).
pub(in crate::web) async fn stage_restore(ctx: &SettingsContext, headers: &HeaderMap, body: Body) -> Result<StagedRestore, StageRefused> {
    let too_big = format!("the archive is larger than {} GiB", MAX_ARCHIVE >> 30);
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_ARCHIVE) {
        return Err(StageRefused::Failed(StatusCode::PAYLOAD_TOO_LARGE, too_big));
    }
    let Ok(_busy) = tokio::time::timeout(BUSY_WAIT, BUSY.lock()).await else {
        return Err(StageRefused::Failed(StatusCode::CONFLICT, "another backup or restore is in progress; try again in a moment".into()));
    };
    let work = WorkDir::new(&ctx.data_dir, "restore-upload").map_err(|e| StageRefused::Failed(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot store the upload: {e}")))?;
    let file = work.path().join("upload.tar.gz");
    match receive(body, &file).await {
        Ok(0) => return Err(StageRefused::Failed(StatusCode::UNPROCESSABLE_ENTITY, "the file is empty".into())),
        Ok(_) => {}
        Err(Upload::TooBig) => return Err(StageRefused::Failed(StatusCode::PAYLOAD_TOO_LARGE, too_big)),
        Err(Upload::Io(e)) => return Err(StageRefused::Failed(StatusCode::BAD_REQUEST, format!("the upload failed: {e}"))),
    }
    match backup::stage(&file, &ctx.data_dir).await {
        Ok(s) => {
            let m = &s.manifest;
            let d = &s.database;
            let what = format!(
                "backup of {} (switchboard {}): {}; {}, {}; database: {}, {}, {}",
                m.created_at,
                m.app_version,
                m.includes.join(", "),
                count(m.files.len() as i64, "file"),
                size(m.total_size()),
                count(d.extensions, "extension"),
                count(d.users, "console user"),
                count(d.call_records, "call record")
            );
            Ok(StagedRestore { created_at: m.created_at.clone(), what })
        }
        Err(RestoreError::Refused(why)) => Err(StageRefused::Refused(why)),
        Err(e) => Err(StageRefused::Failed(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

enum Upload {
    TooBig,
    Io(String),
}

/// Writes the request body to `to` as it arrives; its length.
async fn receive(mut body: Body, to: &Path) -> Result<u64, Upload> {
    use tokio::io::AsyncWriteExt;
    let mut out = tokio::fs::File::create(to).await.map_err(|e| Upload::Io(e.to_string()))?;
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Upload::Io(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            n += data.len() as u64;
            if n > MAX_ARCHIVE {
                return Err(Upload::TooBig);
            }
            out.write_all(&data).await.map_err(|e| Upload::Io(e.to_string()))?;
        }
    }
    out.sync_all().await.map_err(|e| Upload::Io(e.to_string()))?;
    Ok(n)
}

/// `POST /backup/restore/cancel`.
pub async fn cancel<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ctx) = core.settings() else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    match cancel_restore(&ctx).await {
        Ok(Some(created_at)) => {
            v.audit("backup.restore_cancel", &created_at, "staged restore dropped").await;
            see_other(&format!("/backup?ok={}", urlencode("The staged restore was dropped; nothing changes at the next start.")))
        }
        Ok(None) => see_other(&format!("/backup?err={}", urlencode("No restore is staged."))),
        Err(e) => see_other(&format!("/backup?err={}", urlencode(&format!("Cannot drop the staged restore: {e}")))),
    }
}

/// Drops a staged restore: when the dropped backup was made (`None`: none
/// was staged).
pub(in crate::web) async fn cancel_restore(ctx: &SettingsContext) -> std::io::Result<Option<String>> {
    let _busy = BUSY.lock().await;
    let staged = backup::pending(&ctx.data_dir);
    Ok(backup::cancel_pending(&ctx.data_dir)?.then(|| staged.map(|m| m.created_at).unwrap_or_default()))
}

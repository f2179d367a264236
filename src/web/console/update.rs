//! The settings page's "System update" card, admin only: the running
//! version, the root slot, the last update status line, and an upload of an
//! `.update` file (a raw body sent by `assets/settings.js` with the CSRF
//! header, like the restore upload) to `POST /settings/update`. Receiving
//! and staging (`stage_upload`) are shared with `POST /api/v1/system/update`:
//! `crate::update` checks the header and streams the file to the data
//! directory, and the image's root-owned applier does the rest. Every
//! staged or refused update is audited. Must not write a disk, the boot
//! loader or anything outside `crate::update`'s folder.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};
use tokio::io::{AsyncRead, ReadBuf};

use super::backup::reply;
use super::forms::viewer_at_least;
use super::Peer;
use crate::store::Role;
use crate::update::{self, UpdateError, UpdateHeader, APPLIER, MAX_UPDATE};
use crate::web::{CoreApi, SettingsContext};

/// The card, with what `crate::update::status` tells about this machine.
pub(super) fn card(data: &Path) -> Markup {
    let s = update::status(data);
    html! {
        div.card id="system-update" {
            h2 {
                "System update "
                @if s.supported { span.badge.ok { "appliance image" } } @else { span.badge.warn { "not the appliance image" } }
            }
            table.kv { tbody {
                tr { th scope="row" { "Running version" } td { span.mono id="update-version" { (s.running_version) } } }
                tr { th scope="row" { "Root slot" } td {
                    @if let Some(slot) = s.slot { span.mono id="update-slot" { (slot) } }
                    @else { span.muted id="update-slot" { "unknown (not started from the appliance image)" } }
                } }
                tr { th scope="row" { "Last update" } td {
                    @if let Some(last) = &s.last { span.mono id="update-last" { (last) } }
                    @else { span.muted id="update-last" { "none yet" } }
                } }
            } }
            @if s.supported || update::always_stage() {
                form.stack id="update-upload" method="post" action="/settings/update" data-upload="application/octet-stream" data-return="/settings"
                    data-max=(MAX_UPDATE) data-too-big="the update file is larger than 2 GiB"
                    data-upload-confirm="Apply this update? The appliance restarts into it: calls in progress are cut off." {
                    label { "Update file (switchboard-<version>.update, up to 2 GiB)" input type="file" name="file" id="update-file" accept=".update" required; }
                    button type="submit" id="upload-update" { "Upload and apply" }
                }
                p.upload-status id="update-upload-status" role="status" {}
                p.muted {
                    "The file's header is checked as it arrives. The appliance then writes it to the other root slot, checks its SHA-256 "
                    "and restarts into it on trial; if the new version does not come up healthy, it goes back to this one. "
                    "Calls in progress are cut off."
                }
                @if !s.supported {
                    p.hint id="update-stage-only" { "Not the appliance image: an upload is only staged here (SWITCHBOARD_UPDATE_ALWAYS_STAGE, for tests); nothing applies it." }
                }
            } @else {
                p.muted id="update-unsupported" { "Updates apply only on the appliance image: this machine has no " code { (APPLIER) } "." }
            }
        }
    }
}

/// `POST /settings/update` with the update file as the body.
pub async fn upload<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, body: Body) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ctx) = core.settings() else { return reply(StatusCode::SERVICE_UNAVAILABLE, false, "no data directory available") };
    match stage_upload(&ctx, &headers, body).await {
        Ok(s) => {
            v.audit("system.update", &s.header.version, &s.detail()).await;
            let next = if s.applies {
                "the appliance now writes it to the other root slot and restarts into it (a few minutes; calls in progress are cut off)."
            } else {
                "this machine is not the appliance image, so nothing applies it."
            };
            reply(StatusCode::OK, true, &format!("Version {} staged: {next}", s.header.version))
        }
        Err(r) => {
            v.audit("system.update_refused", "", &r.message).await;
            reply(r.status, false, &format!("Not staged: {}", r.message))
        }
    }
}

/// An update file checked and staged.
pub(in crate::web) struct StagedUpdate {
    pub header: UpdateHeader,
    /// This is the appliance image: its applier takes it from here.
    pub applies: bool,
}

impl StagedUpdate {
    /// For the audit log.
    pub fn detail(&self) -> String {
        let h = &self.header;
        let tail = if self.applies { "" } else { " (staged only: not the appliance image)" };
        format!("staged version {}: root filesystem of {} bytes, sha256 {}{tail}", h.version, h.rootfs_size, h.rootfs_sha256)
    }
}

/// Why an upload was not staged: the answer's status and the message.
pub(in crate::web) struct UpdateRefused {
    pub status: StatusCode,
    pub message: String,
}

/// Receives an update file (streamed to disk as it arrives, at most
/// `MAX_UPDATE`) and stages it for the image's applier (the page's and
/// the API's upload). 503 off the appliance image unless
/// `SWITCHBOARD_UPDATE_ALWAYS_STAGE=1`.
pub(in crate::web) async fn stage_upload(ctx: &SettingsContext, headers: &HeaderMap, body: Body) -> Result<StagedUpdate, UpdateRefused> {
    let refused = |status, message: String| Err(UpdateRefused { status, message });
    let data = ctx.data_dir.clone();
    let applies = tokio::task::spawn_blocking(move || update::status(&data).supported).await.unwrap_or(false);
    if !applies && !update::always_stage() {
        return refused(StatusCode::SERVICE_UNAVAILABLE, format!("updates apply only on the appliance image (this machine has no {APPLIER})"));
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPDATE) {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, UpdateError::TooLarge(MAX_UPDATE).to_string());
    }
    match update::stage_update(&ctx.data_dir, BodyReader { body, chunk: Bytes::new() }, MAX_UPDATE).await {
        Ok(header) => Ok(StagedUpdate { header, applies }),
        Err(e) => {
            let status = match &e {
                e if e.is_bad_file() => StatusCode::UNPROCESSABLE_ENTITY,
                UpdateError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                UpdateError::InProgress(_) => StatusCode::CONFLICT,
                UpdateError::Read(_) => StatusCode::BAD_REQUEST,
                _ => {
                    tracing::error!("update upload: {e}");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            refused(status, e.to_string())
        }
    }
}

/// A request body as a byte stream for `crate::update` (which knows no HTTP).
struct BodyReader {
    body: Body,
    /// What is left of the last frame.
    chunk: Bytes,
}

impl AsyncRead for BodyReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        while self.chunk.is_empty() {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                // The end of the body (trailers carry no data).
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(std::io::Error::other(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
            }
        }
        let n = self.chunk.len().min(buf.remaining());
        let part = self.chunk.split_to(n);
        buf.put_slice(&part);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use tokio::io::AsyncReadExt;

    /// A body of the given frames (an error ends it as a broken upload would).
    struct Frames(VecDeque<Result<Bytes, std::io::Error>>);

    impl HttpBody for Frames {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(self.0.pop_front().map(|r| r.map(http_body::Frame::data)))
        }
    }

    async fn read(frames: Vec<Result<Bytes, std::io::Error>>) -> (Vec<u8>, std::io::Result<usize>) {
        let mut out = Vec::new();
        let r = BodyReader { body: Body::new(Frames(frames.into())), chunk: Bytes::new() }.read_to_end(&mut out).await;
        (out, r)
    }

    #[tokio::test]
    async fn a_body_reads_as_its_bytes_across_frames() {
        let (out, r) = read(vec![Ok(Bytes::from_static(b"SWITCH")), Ok(Bytes::new()), Ok(Bytes::from(vec![b'B'; 100_000]))]).await;
        assert_eq!(r.unwrap(), 100_006);
        assert!(out.starts_with(b"SWITCHBB") && out.len() == 100_006);
        let (out, r) = read(vec![Ok(Bytes::from_static(b"abc")), Err(std::io::Error::other("connection reset"))]).await;
        assert!(r.unwrap_err().to_string().contains("connection reset"));
        assert_eq!(out, b"abc");
    }
}

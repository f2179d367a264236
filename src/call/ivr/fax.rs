//! The dialplan's fax steps on the caller's leg (`fax_receive`, and
//! `fax_send` on this call for fax-on-demand). A session starts as G.711
//! audio fax on the leg's media port and moves to T.38 when the peer
//! re-INVITEs to it, or when we hear a fax tone and the peer accepts our
//! re-INVITE (`[fax] t38`); a 488 keeps the audio terminal. The outcome is
//! a `faxes` row (plus a PDF and an e-mail for received faxes). Owns the
//! switch-over and the session loop; the protocols are `crate::fax`'s.

use std::path::PathBuf;

use super::port::{Feed, SharedIvr, IVR_RATE};
use super::Driver;
use crate::call::fax_session::{self, AudioSlot, SessionEnd};
use crate::dialplan::FaxResult;
use crate::fax::engine::{Document, FaxConfig};
use crate::media::MediaPort;

/// The IVR's caller port plays whatever `Feed::Port` holds.
struct IvrSlot(SharedIvr);

impl AudioSlot for IvrSlot {
    fn rate(&self) -> u32 {
        IVR_RATE
    }
    fn set(&self, port: Option<Box<dyn MediaPort + Send>>) {
        if let Ok(mut s) = self.0.lock() {
            s.feed = match port {
                Some(p) => Feed::Port(p),
                None => Feed::Prompts,
            };
        }
    }
}

impl Driver<'_> {
    /// `fax_receive`: answer (if not yet), receive, store the TIFF and PDF,
    /// mail the PDF when asked.
    pub(super) async fn fax_receive(&mut self, email: Option<String>, ident: Option<String>) -> FaxResult {
        let failed = |reason: &str| FaxResult { status: "failed".into(), pages: 0, reason: reason.into(), id: None };
        if !self.ensure_answered().await {
            return failed("call not answered");
        }
        let ctx = self.ctx.clone();
        let call_id = self.caller.invite.call_id().unwrap_or_default().to_string();
        let stamp = crate::store::unix_ms();
        let safe_id: String = call_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(64).collect();
        let rel = format!("fax/in/{stamp}-{safe_id}.tif");
        let abs = ctx.data_dir.join(&rel);
        if let Some(dir) = abs.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), "cannot create the fax folder: {e}");
                return failed("cannot store faxes");
            }
        }
        let local_ident = ident.unwrap_or_else(|| ctx.config.fax.ident.clone());
        let new = crate::store::NewIncomingFax {
            call_id: call_id.clone(),
            remote_number: self.caller_number(),
            local_number: self.caller.invite.uri.user().unwrap_or_default().to_string(),
            local_ident: local_ident.clone(),
            email: email.clone().unwrap_or_default(),
            tiff_path: rel.clone(),
        };
        let id = match ctx.store.create_incoming_fax(&new).await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!("fax row not created: {e}");
                return failed("database error");
            }
        };
        tracing::info!(id, file = %rel, "receiving a fax");
        let config = FaxConfig { document: Document::Receive { tiff: abs.clone() }, calling_party: false, local_ident, ecm: ctx.config.fax.ecm };
        let end = self.fax_session(config).await;
        let result = end.result();
        // The PDF, even of a partial fax: the pages that arrived are worth
        // keeping.
        let pdf = if result.pages > 0 { make_pdf(&abs).await } else { None };
        let pdf_rel = pdf.as_ref().map(|_| rel.replace(".tif", ".pdf"));
        if let Err(e) = ctx.store.finish_incoming_fax(id, &result, pdf_rel.as_deref()).await {
            tracing::warn!(id, "fax row not updated: {e}");
        }
        tracing::info!(id, ok = result.success, pages = result.pages, transport = result.transport, reason = %result.t30_reason, "fax received");
        if let (Some(to), Some(pdf)) = (email.filter(|e| !e.is_empty()), pdf) {
            crate::fax::mail::send_received(ctx.clone(), id, to, pdf);
        }
        FaxResult {
            status: if result.success { "ok" } else { "failed" }.into(),
            pages: result.pages,
            reason: result.t30_reason,
            id: Some(id),
        }
    }

    /// `fax_send`: a library document on this call (`to` None: the caller's
    /// machine receives it, fax-on-demand), or a queued job to `to`.
    pub(super) async fn fax_send(&mut self, document: String, to: Option<String>, ident: Option<String>, header: Option<String>) -> FaxResult {
        let ctx = self.ctx.clone();
        let failed = |reason: String| FaxResult { status: "failed".into(), pages: 0, reason, id: None };
        let tiff = match crate::fax::library::prepare(&ctx.data_dir, &ctx.config.fax, &document).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(%document, "fax document: {e}");
                return failed(e.to_string());
            }
        };
        let local_ident = ident.unwrap_or_else(|| ctx.config.fax.ident.clone());
        let header = header.unwrap_or_else(|| ctx.config.fax.header.clone());
        if let Some(number) = to.filter(|t| !t.is_empty()) {
            if !crate::fax::library::number_allowed(&ctx.store, &ctx.config.fax, &number).await {
                tracing::warn!(%number, "fax job refused: the number is not in [fax] destinations");
                return failed(format!("number {number} may not be dialled for fax"));
            }
            let job = crate::store::NewFaxJob {
                remote_number: number.clone(),
                local_ident,
                header,
                document: document.clone(),
                tiff_path: tiff.relative.clone(),
            pdf_path: tiff.pdf.clone(),
                max_attempts: ctx.config.fax.attempts,
                requested_by: "dialplan".into(),
            };
            return match ctx.store.create_fax_job(&job).await {
                Ok(id) => {
                    tracing::info!(id, %number, %document, "fax job queued");
                    ctx.fax_jobs.wake();
                    FaxResult { status: "queued".into(), pages: 0, reason: String::new(), id: Some(id) }
                }
                Err(e) => failed(format!("database error: {e}")),
            };
        }
        if !self.ensure_answered().await {
            return failed("call not answered".into());
        }
        let config = FaxConfig {
            document: Document::Send { tiff: tiff.absolute.clone(), header: (!header.is_empty()).then_some(header.clone()) },
            calling_party: false,
            local_ident: local_ident.clone(),
            ecm: ctx.config.fax.ecm,
        };
        let job = crate::store::NewFaxJob {
            remote_number: self.caller_number(),
            local_ident,
            header,
            document: document.clone(),
            tiff_path: tiff.relative.clone(),
            pdf_path: tiff.pdf.clone(),
            max_attempts: 1,
            requested_by: "dialplan".into(),
        };
        let call_id = self.caller.invite.call_id().unwrap_or_default().to_string();
        // Created already in progress: a queued row could be claimed by
        // the job runner and dialled out before this call starts it.
        let id = ctx.store.create_fax_on_call(&job, &call_id).await.ok();
        tracing::info!(?id, %document, "sending a fax on this call");
        let end = self.fax_session(config).await;
        let result = end.result();
        if let Some(id) = id {
            if let Err(e) = ctx.store.finish_fax_attempt(id, &result, None).await {
                tracing::warn!(id, "fax row not updated: {e}");
            }
        }
        tracing::info!(?id, ok = result.success, pages = result.pages, transport = result.transport, reason = %result.t30_reason, "fax sent on the call");
        FaxResult { status: if result.success { "ok" } else { "failed" }.into(), pages: result.pages, reason: result.t30_reason, id }
    }

    /// One session on the caller's leg; a hang-up during it ends the call.
    async fn fax_session(&mut self, config: FaxConfig) -> SessionEnd {
        let ctx = self.ctx.clone();
        let slot = IvrSlot(self.shared.clone());
        let Some(a) = self.a.as_mut() else {
            return SessionEnd { report: None, transport: "g711", leg_gone: true };
        };
        let end = fax_session::run(&ctx, a, self.rx, &slot, &config).await;
        if end.leg_gone {
            self.caller_gone = true;
            self.hangup_by = "caller";
        }
        end
    }
}

/// Writes the PDF beside the TIFF; `None` (logged) when it cannot.
async fn make_pdf(tiff: &std::path::Path) -> Option<Vec<u8>> {
    let tiff = tiff.to_path_buf();
    let pdf_path: PathBuf = tiff.with_extension("pdf");
    let made = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let data = std::fs::read(&tiff).map_err(|e| e.to_string())?;
        let pdf = crate::fax::pdf::tiff_to_pdf(&data).map_err(|e| e.to_string())?;
        std::fs::write(&pdf_path, &pdf).map_err(|e| e.to_string())?;
        Ok(pdf)
    })
    .await;
    match made {
        Ok(Ok(pdf)) => Some(pdf),
        Ok(Err(e)) => {
            tracing::warn!("fax PDF not made: {e}");
            None
        }
        Err(e) => {
            tracing::warn!("fax PDF task failed: {e}");
            None
        }
    }
}

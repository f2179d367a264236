//! E-mail of a received fax: the PDF attached, the sender's number and
//! station id, pages and result in the body. Sent beside the call (the
//! caller has usually hung up by then); the outcome lands on the fax row.

use std::sync::Arc;

use crate::call::Ctx;
use crate::mail::{Attachment, Email, Mailer};

/// Mails fax `id`'s PDF to `to` in the background.
pub fn send_received(ctx: Arc<Ctx>, id: i64, to: String, pdf: Vec<u8>) {
    if ctx.config.smtp.host.is_empty() {
        tracing::warn!(id, %to, "fax e-mail wanted but [smtp] is not configured");
        return;
    }
    tokio::spawn(async move {
        let fax = match ctx.store.get_fax(id).await {
            Ok(Some(f)) => f,
            _ => return,
        };
        let email = received_email(&fax, pdf);
        let sent = match Mailer::new(ctx.config.smtp.clone()) {
            Ok(m) => m.send_email(&to, email).await,
            Err(e) => Err(e),
        };
        let error = sent.as_ref().err().map(|e| e.to_string());
        match &error {
            None => tracing::info!(id, %to, "fax e-mailed"),
            Some(e) => tracing::warn!(id, %to, "fax e-mail failed: {e}"),
        }
        let _ = ctx.store.set_fax_emailed(id, error.as_deref()).await;
    });
}

pub fn received_email(fax: &crate::store::FaxRecord, pdf: Vec<u8>) -> Email {
    let from = if fax.remote_number.is_empty() { "an unknown number" } else { fax.remote_number.as_str() };
    let subject = format!("Fax from {from} ({} page{})", fax.pages, if fax.pages == 1 { "" } else { "s" });
    let mut body = format!("A fax arrived for {}.\n\n", if fax.local_number.is_empty() { "this appliance" } else { &fax.local_number });
    body.push_str(&format!("From number:  {from}\n"));
    if !fax.remote_ident.is_empty() {
        body.push_str(&format!("Station id:   {}\n", fax.remote_ident));
    }
    body.push_str(&format!("Pages:        {}\n", fax.pages));
    body.push_str(&format!("Result:       {}\n", if fax.status == "received" { "complete" } else { "incomplete" }));
    if !fax.t30_reason.is_empty() && fax.status != "received" {
        body.push_str(&format!("Reason:       {}\n", fax.t30_reason));
    }
    body.push_str(&format!("Fax id:       {}\n", fax.id));
    Email {
        subject,
        body,
        attachments: vec![Attachment { filename: format!("fax-{}.pdf", fax.id), mime: "application/pdf".into(), bytes: pdf }],
    }
}

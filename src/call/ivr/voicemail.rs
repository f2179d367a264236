//! Voicemail on a live call: runs the sans-IO `voicemail::Deposit` and
//! `voicemail::Retrieval` machines on the caller's leg, stores messages
//! (file + row), e-mails them and updates the message-waiting lamps.

use std::path::PathBuf;

use super::Driver;
use crate::store::{Mailbox, NewVoicemail};
use crate::voicemail::{Deposit, DepositOutcome, DepositStep, Effect, MailboxInfo, MessageInfo, Query, Retrieval, RetrievalStep};

impl Driver<'_> {
    /// A caller leaves a message in `number`'s mailbox.
    pub(super) async fn voicemail(&mut self, number: &str) {
        let ctx = self.ctx.clone();
        let mailbox = match ctx.store.mailbox(number).await {
            Ok(Some(m)) => Some(m),
            // Every extension has a mailbox with the defaults.
            _ => match ctx.store.extension(number).await {
                Ok(Some(_)) => Some(Mailbox::extension(number)),
                _ => None,
            },
        };
        let Some(mailbox) = mailbox else {
            tracing::warn!(mailbox = number, "no such mailbox");
            let _ = self.play(&[crate::dialplan::ops::Media::prompt("vm-unavailable")]).await;
            self.hangup(1).await;
            return;
        };
        let dir = self.voicemail_dir().join(&mailbox.number);
        let path = dir.join(format!("msg-{}.wav", crate::store::unix_ms()));
        let info = MailboxInfo {
            number: mailbox.number.clone(),
            greeting_path: mailbox.greeting_path.as_ref().map(PathBuf::from),
            max_message_secs: u32::try_from(mailbox.max_message_secs).unwrap_or(ctx.config.voicemail.max_message_secs),
        };
        tracing::info!(mailbox = %mailbox.number, "voicemail deposit");
        let mut deposit = Deposit::with_limits(&info, path.clone(), (&ctx.config.voicemail).into());
        let outcome = loop {
            match deposit.poll() {
                DepositStep::Op(op) => {
                    let r = self.op(op).await;
                    deposit.input(r);
                }
                DepositStep::Done(o) => break o,
            }
        };
        match outcome {
            DepositOutcome::Left { duration_ms } => self.store_message(&mailbox, path, duration_ms).await,
            DepositOutcome::NotLeft => {
                let _ = std::fs::remove_file(&path);
                tracing::info!(mailbox = %mailbox.number, "no message left");
            }
        }
        self.hangup(16).await;
    }

    fn voicemail_dir(&self) -> PathBuf {
        let d = &self.ctx.config.voicemail.dir;
        if d.is_absolute() {
            d.clone()
        } else {
            self.ctx.data_dir.join(d)
        }
    }

    async fn store_message(&mut self, mailbox: &Mailbox, path: PathBuf, duration_ms: u64) {
        let ctx = self.ctx.clone();
        let from = self.caller.invite.headers.from_addr().ok();
        let caller = from.as_ref().and_then(|f| f.uri.user().map(str::to_string)).unwrap_or_default();
        let caller_name = from.and_then(|f| f.display_name).unwrap_or_default();
        let msg = NewVoicemail {
            mailbox: mailbox.number.clone(),
            caller: caller.clone(),
            caller_name: caller_name.clone(),
            call_id: self.caller.invite.call_id().unwrap_or_default().to_string(),
            duration_ms: duration_ms as i64,
            path: path.display().to_string(),
        };
        let id = match ctx.store.insert_message(&msg).await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(path = %path.display(), "voicemail row not written (the audio file stays): {e}");
                return;
            }
        };
        tracing::info!(mailbox = %mailbox.number, id, duration_ms, path = %path.display(), "voicemail saved");
        crate::call::mwi::mailbox_changed(&ctx, &mailbox.number).await;
        for member in &mailbox.members {
            crate::call::mwi::mailbox_changed(&ctx, member).await;
        }
        if let Some(to) = mailbox.email.clone().filter(|_| !ctx.config.smtp.host.is_empty()) {
            let number = mailbox.number.clone();
            // The caller's call goes on (hang-up); the mail is sent beside it.
            tokio::spawn(async move {
                let wav = if ctx.config.voicemail.email_attach { tokio::fs::read(&path).await.ok() } else { None };
                let notice = crate::mail::VoicemailNotice {
                    mailbox: &number,
                    caller: &caller,
                    caller_name: &caller_name,
                    duration_ms,
                    received_at: crate::store::unix_time(),
                    message_id: id,
                };
                let email = crate::mail::voicemail_email(&notice, wav);
                let sent = match crate::mail::Mailer::new(ctx.config.smtp.clone()) {
                    Ok(m) => m.send_email(&to, email).await,
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(()) => {
                        tracing::info!(mailbox = %number, id, %to, "voicemail e-mailed");
                        let _ = ctx.store.mark_emailed(id).await;
                    }
                    Err(e) => tracing::warn!(mailbox = %number, id, %to, "voicemail e-mail failed: {e}"),
                }
            });
        }
    }

    /// `*97`: the owner listens to their messages after the PIN.
    pub(super) async fn voicemail_main(&mut self, mailbox: Option<String>) {
        let ctx = self.ctx.clone();
        let mut r = Retrieval::new(mailbox);
        let mut touched: Option<String> = None;
        loop {
            match r.poll() {
                RetrievalStep::Op(op) => {
                    let res = self.op(op).await;
                    r.input(res);
                }
                RetrievalStep::Need(Query::VerifyPin { mailbox, pin }) => {
                    let ok = ctx.store.verify_pin(&mailbox, &pin).await.unwrap_or(false);
                    tracing::info!(mailbox, ok, "voicemail PIN checked");
                    r.answer_pin(ok);
                }
                RetrievalStep::Need(Query::Messages { mailbox }) => {
                    let msgs = ctx.store.messages(&mailbox).await.unwrap_or_default();
                    tracing::info!(mailbox, count = msgs.len(), "voicemail retrieval");
                    r.answer_messages(msgs.into_iter().map(|m| MessageInfo { id: m.id, path: PathBuf::from(m.path), heard: m.heard }).collect());
                    touched = Some(mailbox);
                }
                RetrievalStep::Effect(Effect::MarkHeard(id)) => {
                    tracing::info!(id, "voicemail heard");
                    let _ = ctx.store.mark_heard(id).await;
                }
                RetrievalStep::Effect(Effect::Delete(id)) => {
                    tracing::info!(id, "voicemail deleted");
                    let _ = ctx.store.delete_message(id).await;
                }
                RetrievalStep::Need(Query::GreetingPath { mailbox }) => {
                    // A fresh name per take: the current greeting must survive
                    // until the new one is accepted.
                    let dir = self.voicemail_dir().join(&mailbox);
                    let _ = std::fs::create_dir_all(&dir);
                    r.answer_greeting_path(dir.join(format!("greeting-{}.wav", crate::store::unix_ms())));
                }
                RetrievalStep::Effect(Effect::SetGreeting { mailbox, path }) => {
                    let path = path.display().to_string();
                    match ctx.store.set_greeting(&mailbox, Some(&path)).await {
                        Ok(()) => tracing::info!(mailbox, path, "voicemail greeting recorded"),
                        Err(e) => tracing::warn!(mailbox, path, "voicemail greeting not saved: {e}"),
                    }
                }
                RetrievalStep::Effect(Effect::ClearGreeting { mailbox }) => match ctx.store.set_greeting(&mailbox, None).await {
                    Ok(()) => tracing::info!(mailbox, "voicemail greeting erased"),
                    Err(e) => tracing::warn!(mailbox, "voicemail greeting not erased: {e}"),
                },
                RetrievalStep::Effect(Effect::SetPin { mailbox, pin }) => match ctx.store.set_mailbox_pin(&mailbox, &pin).await {
                    Ok(()) => tracing::info!(mailbox, "voicemail PIN changed"),
                    Err(e) => tracing::warn!(mailbox, "voicemail PIN not changed: {e}"),
                },
                RetrievalStep::Effect(Effect::DiscardRecording(path)) => {
                    let _ = std::fs::remove_file(&path);
                }
                RetrievalStep::Done => break,
            }
        }
        if let Some(m) = touched {
            crate::call::mwi::mailbox_changed(&ctx, &m).await;
        }
        self.hangup(16).await;
    }
}

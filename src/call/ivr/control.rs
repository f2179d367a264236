//! Commands from the core API to a dialplan call (recording, supervision,
//! hold, transfers, consultation, three-way) and from other calls (a
//! REFER with Replaces taking our callee). Each is answered on its reply
//! channel; what must change the call's course comes back as a `Wake` for
//! the loop that waits. Owns no state of its own.

use super::consult::Purpose;
use super::port::{Feed, IVR_RATE};
use super::run::Wake;
use super::Driver;
use crate::call::{CallCommand, CallControl as C};
use crate::media::moh::StartAt;

impl Driver<'_> {
    pub(super) async fn on_command(&mut self, cmd: CallCommand) -> Wake {
        match cmd {
            CallCommand::Recording { action, reply } => {
                let r = self.recording_command(action).await;
                tracing::info!(?action, ok = r.is_ok(), "recording control");
                let _ = reply.send(r);
            }
            CallCommand::Conference { reply, .. } => {
                let _ = reply.send(Err("the call is not in a conference".to_string()));
            }
            CallCommand::Supervise { link, reply } => {
                let r = if self.b.is_some() {
                    if let Ok(mut s) = self.shared.lock() {
                        s.supervisor = Some(link);
                    }
                    Ok(())
                } else {
                    Err("the call is not bridged to an agent".to_string())
                };
                tracing::info!(ok = r.is_ok(), "supervisor joins");
                let _ = reply.send(r);
            }
            CallCommand::HandOver { replaces, by, reply } => {
                let r = self.give_dialog(&replaces, &by).await;
                let given = r.is_ok();
                tracing::info!(given, "hand-over of the callee asked by another call");
                if let Err(Ok(h)) = reply.send(r) {
                    // The asking call gave up waiting and the callee's
                    // media is already gone: nobody is left to talk to it.
                    tracing::warn!("hand-over not taken: hanging the callee up");
                    self.bye_dialog(h.dialog, h.dest).await;
                }
                if given {
                    self.hangup_by = "transfer";
                    self.hangup(16).await;
                    return Wake::Hangup;
                }
            }
            CallCommand::Control { action, reply } => {
                tracing::info!(?action, "call control");
                let (r, wake) = self.control(action).await;
                let _ = reply.send(r);
                return wake;
            }
        }
        Wake::Nothing
    }

    async fn control(&mut self, action: C) -> (Result<(), String>, Wake) {
        let ok = |r: Result<(), super::consult::SecondError>| (r.map_err(|e| e.to_string()), Wake::Nothing);
        match action {
            C::Hangup => {
                self.hangup_by = "api";
                self.hangup(16).await;
                return (Ok(()), Wake::Hangup);
            }
            // These act on the second party and may apply after the agent left.
            C::CompleteTransfer => return ok(self.complete_transfer().await),
            C::CancelConsult => return ok(self.cancel_second().await),
            C::Merge => return ok(self.merge_second()),
            _ if self.b.is_none() => return (Err("the call is not bridged to an agent".to_string()), Wake::Nothing),
            C::Consult(target) => return ok(self.start_second(&target, Purpose::Consult).await),
            C::AddParty(target) => return ok(self.start_second(&target, Purpose::Conference).await),
            _ if self.has_second() => {
                return (Err("a consultation or conference is in progress: complete or cancel it first".to_string()), Wake::Nothing)
            }
            C::Hold | C::Unhold => {
                let on = action == C::Hold;
                let moh = on.then(|| self.ctx.moh.listener(&self.ctx.config.media.moh_class, IVR_RATE, StartAt::Global));
                if let Ok(mut s) = self.shared.lock() {
                    s.feed = match moh {
                        Some(m) => Feed::Music(m),
                        None => Feed::Bridge,
                    };
                    s.callee_muted = on;
                }
            }
            C::Transfer(target) => return (Ok(()), Wake::Transfer(target)),
        }
        (Ok(()), Wake::Nothing)
    }
}

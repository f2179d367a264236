//! Calls that run a dialplan: the driver around the sans-IO interpreter
//! (`dialplan::Session`). It answers the caller, performs each action on
//! the caller's leg (prompts, digit collection with type-ahead and
//! barge-in, recording), places `dial`/`queue` calls and bridges the
//! winner, hands over to voicemail and conference rooms, and hangs up with
//! the plan's cause. Owns the call's legs for its whole life; the
//! interpreter never sees a socket or a clock. Files: `run` (the wait loop,
//! dial, bridge), `control` (API commands), `consult` (a bridged call's
//! second party: consultation, three-way, attended transfers), `queue`,
//! `record`, `voicemail`, `port` (the media routing).

pub mod port;
mod consult;
mod fax;
mod control;
mod voicemail;
mod queue;
mod record;
mod run;

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::local_leg::{LegSignal, LocalLeg};
use super::originate::Originator;
use super::uas::{Caller, Outcome};
use super::Ctx;
use crate::dialplan::Session;
use crate::sip::endpoint::SipEvent;
use port::{IvrMedia, SharedIvr};

/// How a dialplan call ended, for its call record.
pub struct IvrOutcome {
    pub outcome: Outcome,
    /// Contexts entered and choices taken (`main`, `choice=1`, `sales`).
    pub path: Vec<String>,
}

/// SIP status for a Q.850 cause when the call is refused before answer
/// (RFC 3398 §8.2.6.1, the common ones).
pub fn status_for_cause(cause: u16) -> (u16, &'static str) {
    match cause {
        1 => (404, "Not Found"),
        17 => (486, "Busy Here"),
        18 => (408, "Request Timeout"),
        19 => (480, "Temporarily Unavailable"),
        21 => (403, "Forbidden"),
        27 => (502, "Bad Gateway"),
        28 => (484, "Address Incomplete"),
        34 | 38 | 41 | 42 | 47 => (503, "Service Unavailable"),
        127 => (500, "Server Internal Error"),
        _ => (480, "Temporarily Unavailable"),
    }
}

/// Everything the driver touches while the call lives.
pub(crate) struct Driver<'a> {
    ctx: Arc<Ctx>,
    caller: Caller<'a>,
    rx: &'a mut mpsc::UnboundedReceiver<SipEvent>,
    control: &'a mut mpsc::UnboundedReceiver<super::CallCommand>,
    shared: SharedIvr,
    /// The caller's leg, once answered.
    a: Option<LocalLeg>,
    /// The callee's leg of a `dial` that was answered.
    b: Option<LocalLeg>,
    /// Outgoing calls in progress, by tag (0: a `dial` step; ACD offers use
    /// their offer id).
    originators: Vec<(u64, Originator)>,
    /// Directives from the ACD while the caller waits in a queue.
    queue_rx: Option<mpsc::UnboundedReceiver<super::acd::CallerDirective>>,
    /// Digits typed while nothing was collecting (callers who know the menu).
    typeahead: String,
    /// Set once the caller has gone (BYE, RTP timeout, unacknowledged 2xx).
    caller_gone: bool,
    hangup_by: &'static str,
    final_status: u16,
    /// Recording of the bridged call, when one runs.
    recording: Option<super::bridge::Recording>,
    /// Where a transferred call goes next.
    transfer_to: Option<String>,
    /// Names (agent id, extension) under which the bridged call can be
    /// found by supervisors.
    peers: Vec<String>,
    /// The callee is one of our extensions (may transfer the caller).
    b_local: bool,
    /// The second party's leg (consulted or added), once it answered.
    c: Option<LocalLeg>,
    /// The second party of the bridged call, from ringing to hand-over.
    second: Option<consult::Second>,
    /// The ACD offer whose agent is the callee: the ACD hears the agent's
    /// call ended when their leg goes, even if the caller stays on.
    agent_offer: Option<u64>,
    /// Dialogs taken over from other calls (REFER with Replaces).
    adopted: Vec<consult::Adopted>,
    /// Notified when the caller's audio carries a fax calling tone, while
    /// the plan plays prompts (`[fax] detect`); `None` when not listening.
    fax_tone: Option<Arc<tokio::sync::Notify>>,
}

pub async fn serve(
    ctx: &Arc<Ctx>,
    caller: Caller<'_>,
    rx: &mut mpsc::UnboundedReceiver<SipEvent>,
    control: &mut mpsc::UnboundedReceiver<super::CallCommand>,
    session: Session,
) -> IvrOutcome {
    let mut d = Driver {
        ctx: ctx.clone(),
        caller,
        rx,
        control,
        shared: Arc::new(Mutex::new(IvrMedia::new())),
        a: None,
        b: None,
        originators: Vec::new(),
        queue_rx: None,
        typeahead: String::new(),
        caller_gone: false,
        hangup_by: "system",
        final_status: 0,
        recording: None,
        transfer_to: None,
        peers: Vec::new(),
        b_local: true,
        c: None,
        second: None,
        agent_offer: None,
        adopted: Vec::new(),
        fax_tone: None,
    };
    let mut session = session;
    d.run(&mut session).await;
    for line in session.trace() {
        tracing::debug!(%line, "dialplan");
    }
    d.end_second().await;
    d.stop_recording().await;
    d.end_supervision();
    d.clear_peers();
    d.agent_released();
    d.release_adopted();
    for (_, o) in d.originators.drain(..) {
        o.release(ctx);
    }
    if let Some(b) = d.b.take() {
        let _ = b.shutdown().await;
    }
    let quality = match d.a.take() {
        Some(a) => a.shutdown().await,
        None => None,
    };
    let path = session.path().to_vec();
    tracing::info!(path = %path.join(" > "), "dialplan finished");
    IvrOutcome { outcome: Outcome { status: d.final_status, hangup_by: d.hangup_by, quality }, path }
}

impl Driver<'_> {
    /// Answers the caller if not done yet; false when that failed (the
    /// caller got an error response).
    async fn ensure_answered(&mut self) -> bool {
        if self.a.is_some() {
            return true;
        }
        if self.caller_gone {
            return false;
        }
        let shared = self.shared.clone();
        // Boxed: answering builds the 24 KB `LegMedia`, which inline would
        // stay in the IVR's future for the whole call.
        match Box::pin(LocalLeg::answer(&self.ctx, &self.caller, move |_| Ok(Box::new(port::CallerPort(shared))))).await {
            Ok(leg) => {
                self.a = Some(leg);
                self.final_status = 200;
                true
            }
            Err(status) => {
                self.final_status = status;
                self.caller_gone = true;
                false
            }
        }
    }

    /// Ends the call from our side with a Q.850 cause.
    async fn hangup(&mut self, cause: u16) {
        if let Some(b) = self.b.as_mut() {
            b.bye(&self.ctx, Some(cause)).await;
        }
        if self.caller_gone {
            return;
        }
        self.caller_gone = true;
        match self.a.as_mut() {
            Some(a) => {
                tracing::info!(cause, "hanging up");
                a.bye(&self.ctx, Some(cause)).await;
            }
            None => {
                let (status, reason) = status_for_cause(cause);
                tracing::info!(cause, status, "refusing the call");
                let mut r = super::build::response(&self.ctx, self.caller.invite, status, reason);
                super::build::tag_to(&mut r, self.caller.local_tag);
                r.headers.push(crate::sip::message::HeaderName::Extension("Reason".into()), format!("Q.850;cause={cause}"));
                self.ctx.endpoint.respond(self.caller.key, r);
                self.final_status = status;
            }
        }
    }

    /// Makes the bridged call findable under these names (supervisors).
    pub(super) fn set_peers(&mut self, names: &[String]) {
        let call_id = self.caller.invite.call_id().unwrap_or_default().to_string();
        for n in names {
            self.ctx.calls.set_peer(n, &call_id);
            self.peers.push(n.clone());
        }
    }

    pub(super) fn clear_peers(&mut self) {
        let call_id = self.caller.invite.call_id().unwrap_or_default().to_string();
        for n in self.peers.drain(..) {
            self.ctx.calls.clear_peer(&n, &call_id);
        }
    }

    /// Starts recording the bridged call.
    pub(super) async fn start_recording(&mut self) -> Result<(), String> {
        if self.b.is_none() {
            return Err("recording applies to bridged calls".into());
        }
        if self.recording.is_some() {
            return Err("already recording".into());
        }
        let call_id = self.caller.invite.call_id().unwrap_or_default().to_string();
        let (tap, rec) = super::bridge::Recording::start(&self.ctx, &call_id).await?;
        if let Ok(mut s) = self.shared.lock() {
            s.call_tap = Some(tap);
        }
        self.recording = Some(rec);
        Ok(())
    }

    async fn stop_recording(&mut self) -> bool {
        let Some(rec) = self.recording.take() else { return false };
        if let Ok(mut s) = self.shared.lock() {
            s.call_tap = None;
        }
        rec.finish(&self.ctx).await;
        true
    }

    /// A recording command from the core API.
    async fn recording_command(&mut self, action: super::RecordingAction) -> Result<(), String> {
        use super::RecordingAction as R;
        match action {
            R::Start => self.start_recording().await,
            R::Stop => self.stop_recording().await.then_some(()).ok_or_else(|| "not recording".to_string()),
            R::Pause | R::Resume => {
                if self.recording.is_none() {
                    return Err("not recording".into());
                }
                let mut s = self.shared.lock().map_err(|_| "media state poisoned".to_string())?;
                if let Some(t) = s.call_tap.as_mut() {
                    if action == R::Pause {
                        t.pause();
                    } else {
                        t.resume();
                    }
                }
                Ok(())
            }
        }
    }

    fn on_a_signal(&mut self, s: Option<LegSignal>) {
        match s {
            Some(LegSignal::Hangup) => {
                tracing::info!("hangup side=A");
                self.caller_gone = true;
                self.hangup_by = "caller";
            }
            Some(LegSignal::Unacked) => self.caller_gone = true,
            Some(LegSignal::Refer { target, .. }) => {
                // Callers do not transfer the agent; the REFER was accepted
                // (202), so say it failed.
                tracing::info!(%target, "REFER from the caller ignored");
            }
            Some(LegSignal::Hold(held)) => {
                tracing::info!(held, "caller hold state");
                if self.b.is_some() {
                    let moh = held.then(|| self.ctx.moh.listener(&self.ctx.config.media.moh_class, port::IVR_RATE, crate::media::moh::StartAt::Global));
                    if let Ok(mut s) = self.shared.lock() {
                        s.moh_for_callee = moh;
                    }
                }
            }
            None => {}
        }
    }
}

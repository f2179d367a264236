//! A bridged call's second party: the agent's consultation before an
//! attended transfer, a party added for a three-way conference, and the far
//! end of another call taken over by a REFER with Replaces (a phone's
//! attended transfer, RFC 5589 §7). Owns the second leg's life — placing
//! it, its answer, failure and hang-up — and the handover of the caller to
//! it (the agent's leg is released and the ACD told, so the agent goes to
//! wrap-up). What each leg hears is `port`'s business (`Side`,
//! `callee_slot`); this only switches it. Must not touch the caller's leg
//! except to end the call when nobody is left for the caller.
//!
//! Edge cases, decided here: the consulted party busy, not answering or
//! hanging up puts agent and caller back together; the agent hanging up
//! while the consulted party talks completes the transfer (as phones do),
//! while it still rings makes it a transfer on answer; the caller hanging
//! up ends everything (agent and second party get BYE/CANCEL); the added
//! party leaving a three-way returns to the two-party call; the agent
//! leaving it keeps caller and added party together.

use std::time::Duration;

use tokio::time::Instant;

use super::port::{CalleePort, Feed, Side, ThreeWay, IVR_RATE};
use super::Driver;
use crate::call::originate::{self, Originator, Progress};
use crate::call::HandedDialog;
use crate::media::moh::StartAt;
use crate::media::tone::{Country, ToneGenerator, ToneKind};
use crate::media::PortPair;
use crate::sdp::negotiate::CodecPrefs;
use crate::sdp::SessionDescription;
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::SipEvent;
use crate::sip::message::{HeaderName, Message, Method, Request, Response};
use crate::sip::replaces::Replaces;
use crate::sip::transaction::{Peer, TransactionKey};

/// Originator tag of the second party's outgoing call (ACD offers use
/// small ids, a `dial` step 0).
pub(super) const SECOND_TAG: u64 = u64::MAX;
/// Tag of a second party's originator once it is no longer the current
/// one (handed over, cancelled, hung up): kept until the call ends, so its
/// Call-ID still routes here (a handed-over callee's requests, a 2xx that
/// crossed our CANCEL, which it ACKs and hangs up).
const RETIRED_TAG: u64 = u64::MAX - 1;
/// How long another call may take to give up a dialog we take over.
const HAND_OVER_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// The agent talks to the second party; the caller hears music.
    Consult,
    /// Everyone hears everyone.
    Conference,
    /// A dialog of another call, taken over for the agent's phone's
    /// attended transfer; the caller goes to it once it answers our offer.
    Replaces,
}

enum State {
    /// Our INVITE rings the target.
    Ringing { pair: PortPair, offer: SessionDescription, prefs: CodecPrefs },
    /// Our re-INVITE (new media) on a taken-over dialog awaits its answer.
    Reinviting { key: TransactionKey, dialog: Box<Dialog>, dest: Peer, pair: PortPair, offer: SessionDescription, prefs: CodecPrefs },
    /// Connected: the leg is `Driver::c`.
    Up,
}

pub(super) struct Second {
    target: String,
    purpose: Purpose,
    state: State,
    /// Past this the second party has not answered: given up.
    give_up: Instant,
    /// The agent is gone (transfer completed or agent hung up before the
    /// answer): the caller goes to the second party when it answers.
    hand_over_on_answer: bool,
}

/// A dialog taken over from another call, bound to this call's task.
pub(super) struct Adopted {
    call_id: String,
    /// The ACK of our re-INVITE's 2xx, sent again if the 2xx is.
    ack: Option<(Request, Peer)>,
}

/// Why a second-party request was refused (the API answers 409 with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum SecondError {
    #[error("another party is already on the line (consultation or conference in progress)")]
    Busy,
    #[error("no consultation or added party on this call")]
    NoneInProgress,
    #[error("the agent has already left: the caller waits for {0}")]
    AgentGone(String),
    #[error("the consulted party has not answered yet")]
    NotAnswered,
    #[error("the transfer is being completed by the phone")]
    PhoneTransfer,
    #[error("{target} is unavailable (SIP {status})")]
    Unavailable { target: String, status: u16 },
    #[error("no media ports left")]
    NoPorts,
}

impl Driver<'_> {
    /// When a ringing second party (or a re-INVITE) is given up.
    pub(super) fn second_deadline(&self) -> Option<Instant> {
        self.second.as_ref().filter(|s| !matches!(s.state, State::Up)).map(|s| s.give_up)
    }

    /// Whether a second party is on the line or on its way.
    pub(super) fn has_second(&self) -> bool {
        self.second.is_some()
    }

    /// Rings `target` as the second party. The agent keeps the line: for a
    /// consultation the caller hears music and the agent ringback; for a
    /// conference caller and agent go on talking until the party answers.
    pub(super) async fn start_second(&mut self, target: &str, purpose: Purpose) -> Result<(), SecondError> {
        if self.second.is_some() {
            return Err(SecondError::Busy);
        }
        let ctx = self.ctx.clone();
        let resolved = originate::resolve(&ctx, target).await.map_err(|status| SecondError::Unavailable { target: target.to_string(), status })?;
        let pair = ctx.ports.allocate().await.map_err(|_| SecondError::NoPorts)?;
        let our_ip = ctx.config.rtp.advertise.unwrap_or_else(|| crate::call::build::local_for(&ctx, resolved[0].dest.addr).ip());
        let prefs = ctx.config.media.prefs_or_default(resolved[0].trunk.as_ref().and_then(|t| t.codecs.as_deref()));
        let offer = crate::sdp::negotiate::offer(&prefs, &crate::sdp::negotiate::LocalMedia::new(our_ip, pair.rtp_port()));
        // The second party sees the agent calling (the number we reach
        // the agent at), not the customer.
        let agent = self.b.as_ref().and_then(|b| b.dialog.remote_uri.uri.user().map(str::to_string)).unwrap_or_default();
        let o = Originator::start(&ctx, resolved, (&agent, None), &offer, self.caller.tx.clone())
            .await
            .map_err(|status| SecondError::Unavailable { target: target.to_string(), status })?;
        self.originators.push((SECOND_TAG, o));
        let give_up = Instant::now() + Duration::from_secs(ctx.config.sip.no_answer_timeout_secs);
        self.second = Some(Second { target: target.to_string(), purpose, state: State::Ringing { pair, offer, prefs }, give_up, hand_over_on_answer: false });
        if purpose == Purpose::Consult {
            let moh = ctx.moh.listener(&ctx.config.media.moh_class, IVR_RATE, StartAt::Global);
            if let Ok(mut s) = self.shared.lock() {
                s.side = Side::ConsultRinging(ToneGenerator::for_country(Country::Us, ToneKind::Ringback, IVR_RATE));
                s.feed = Feed::Music(moh);
            }
        }
        tracing::info!(target, ?purpose, "calling a second party");
        Ok(())
    }

    /// Progress of the second party's outgoing call.
    pub(super) async fn on_second_progress(&mut self, p: Progress) {
        match p {
            Progress::Ringing => tracing::info!("second party ringing"),
            Progress::Failed(status) => {
                tracing::info!(status, "second party did not answer");
                self.second_failed(status).await;
            }
            Progress::Answered { dialog, dest, answer } => {
                let Some(sec) = self.second.as_mut() else { return };
                let State::Ringing { pair, offer, prefs } = std::mem::replace(&mut sec.state, State::Up) else { return };
                self.connect_second(*dialog, dest, pair, offer, &answer, prefs).await;
            }
        }
    }

    /// The second party answered `offer` with `answer`: its leg starts in
    /// the slot the callee does not hold.
    async fn connect_second(&mut self, dialog: Dialog, dest: Peer, pair: PortPair, offer: SessionDescription, answer: &SessionDescription, prefs: CodecPrefs) {
        let slot = self.shared.lock().map(|s| s.callee_slot.other()).unwrap_or(super::port::Slot::Second);
        let port = CalleePort::in_slot(self.shared.clone(), slot);
        let (spare, spare_dest) = (dialog.clone(), dest.clone());
        match crate::call::local_leg::LocalLeg::dialled(&self.ctx, dialog, dest, self.caller.tx.clone(), pair, offer, answer, prefs, port) {
            Ok(leg) => self.c = Some(leg),
            Err((status, reason)) => {
                tracing::warn!(status, reason, "second party's answer unusable: hanging it up");
                self.bye_dialog(spare, spare_dest).await;
                self.second_failed(status).await;
                return;
            }
        }
        let Some(sec) = self.second.as_ref() else { return };
        let (purpose, target, hand_over) = (sec.purpose, sec.target.clone(), sec.hand_over_on_answer);
        if purpose == Purpose::Replaces {
            // The phone that sent the REFER hears how it went (RFC 3515
            // §2.4.5), then its leg is released.
            if let Some(b) = self.b.as_mut() {
                b.notify_refer(&self.ctx, 200, "OK").await;
            }
            self.hand_over_to_second().await;
            return;
        }
        if hand_over {
            self.hand_over_to_second().await;
            return;
        }
        tracing::info!(%target, ?purpose, "second party answered");
        match purpose {
            Purpose::Consult => {
                if let Ok(mut s) = self.shared.lock() {
                    s.side = Side::Consult;
                }
            }
            _ => self.join_three_way(),
        }
    }

    /// Caller, callee and second party into one mixer.
    fn join_three_way(&mut self) {
        let Some([caller, callee, second]) = crate::call::apps::three_way_room() else {
            tracing::warn!("three-way room not created: the agent keeps the second party on a consultation");
            if let Ok(mut s) = self.shared.lock() {
                s.side = Side::Consult;
            }
            return;
        };
        if let Some(sec) = self.second.as_mut() {
            sec.purpose = Purpose::Conference;
        }
        if let Ok(mut s) = self.shared.lock() {
            s.side = Side::Conference(ThreeWay { callee, second });
            s.feed = Feed::Port(Box::new(caller));
            s.callee_muted = false;
        }
        tracing::info!("three-way conference");
    }

    /// The second party could not be reached (busy, no answer, refused,
    /// re-INVITE failed): agent and caller talk again, or, if the agent
    /// already left, the caller is hung up (nobody is left for them).
    pub(super) async fn second_failed(&mut self, status: u16) {
        let Some(sec) = self.second.as_ref() else { return };
        let (purpose, hand_over) = (sec.purpose, sec.hand_over_on_answer);
        self.end_second().await;
        if purpose == Purpose::Replaces {
            if let Some(b) = self.b.as_mut() {
                b.notify_refer(&self.ctx, 503, "Service Unavailable").await;
            }
        }
        if hand_over && self.b.is_none() {
            tracing::info!(status, "transfer target unreachable and the agent gone: hanging up the caller");
            let cause = match status {
                486 | 600 => 17,
                408 | 480 | 487 => 19,
                _ => 31,
            };
            self.hangup_by = "system";
            self.hangup(cause).await;
            return;
        }
        self.reconnect(purpose);
    }

    /// Agent and caller back together after the second party went. A phone
    /// transfer leaves the feed alone: the phone still holds the caller and
    /// takes them back with its own re-INVITE.
    fn reconnect(&mut self, purpose: Purpose) {
        if let Ok(mut s) = self.shared.lock() {
            s.side = Side::None;
            if purpose != Purpose::Replaces {
                s.feed = Feed::Bridge;
                s.callee_muted = false;
            }
        }
        tracing::info!(?purpose, "agent and caller reconnected");
    }

    /// Hangs the second party up (CANCEL while it rings, BYE once up) and
    /// frees its media; the caller's routing goes back to the callee.
    pub(super) async fn end_second(&mut self) {
        let Some(sec) = self.second.take() else { return };
        match sec.state {
            State::Ringing { .. } => self.cancel_originator(SECOND_TAG).await,
            State::Reinviting { dialog, dest, .. } => {
                // A 2xx crossing this BYE is hung up by the dialog's peer
                // logic; the target is released either way.
                self.bye_dialog(*dialog, dest).await;
            }
            State::Up => {}
        }
        if let Some(mut c) = self.c.take() {
            c.bye(&self.ctx, None).await;
            let _ = c.shutdown().await;
        }
        self.retire_second_originator();
        if let Ok(mut s) = self.shared.lock() {
            s.side = Side::None;
        }
    }

    fn retire_second_originator(&mut self) {
        for (t, _) in self.originators.iter_mut().filter(|(t, _)| *t == SECOND_TAG) {
            *t = RETIRED_TAG;
        }
    }

    /// The caller now talks to the second party; the agent's leg (if still
    /// there) is released and the ACD told. The second party becomes the
    /// call's callee: hold, transfer and supervision apply to it from now.
    pub(super) async fn hand_over_to_second(&mut self) {
        let Some(sec) = self.second.take() else { return };
        let Some(c) = self.c.take() else {
            self.second = Some(sec);
            return;
        };
        self.release_agent_leg().await;
        self.b = Some(c);
        self.retire_second_originator();
        if let Ok(mut s) = self.shared.lock() {
            s.callee_slot = s.callee_slot.other();
            s.side = Side::None;
            s.feed = Feed::Bridge;
            s.callee_muted = false;
            s.moh_for_callee = None;
        }
        if !sec.target.is_empty() {
            self.set_peers(std::slice::from_ref(&sec.target));
        }
        tracing::info!(target = %sec.target, purpose = ?sec.purpose, "caller handed over: transfer complete");
        if self.ctx.config.recording.mode == crate::config::RecordingMode::Always {
            if let Err(e) = self.start_recording().await {
                tracing::warn!("recording not started: {e}");
            }
        }
    }

    /// `transfer?attended=1` / `consult/complete`: the caller goes to the
    /// consulted (or added) party and the agent is released — now if it
    /// answered, else once it does (the caller hears ringback meanwhile).
    pub(super) async fn complete_transfer(&mut self) -> Result<(), SecondError> {
        let Some(sec) = self.second.as_mut() else { return Err(SecondError::NoneInProgress) };
        if sec.purpose == Purpose::Replaces {
            return Err(SecondError::PhoneTransfer);
        }
        if sec.hand_over_on_answer {
            return Err(SecondError::AgentGone(sec.target.clone()));
        }
        match sec.state {
            State::Up => self.hand_over_to_second().await,
            _ => {
                sec.hand_over_on_answer = true;
                tracing::info!(target = %sec.target, "transfer completed while the target rings: the caller waits for the answer");
                self.release_agent_leg().await;
                if let Ok(mut s) = self.shared.lock() {
                    s.side = Side::None;
                    s.feed = Feed::Ringback(ToneGenerator::for_country(Country::Us, ToneKind::Ringback, IVR_RATE));
                }
            }
        }
        Ok(())
    }

    /// `consult/cancel`: the second party is hung up; agent and caller
    /// talk again.
    pub(super) async fn cancel_second(&mut self) -> Result<(), SecondError> {
        let Some(sec) = self.second.as_ref() else { return Err(SecondError::NoneInProgress) };
        if sec.purpose == Purpose::Replaces {
            return Err(SecondError::PhoneTransfer);
        }
        if sec.hand_over_on_answer {
            return Err(SecondError::AgentGone(sec.target.clone()));
        }
        let purpose = sec.purpose;
        self.end_second().await;
        self.reconnect(purpose);
        Ok(())
    }

    /// `conference` without a target: the consulted party joins agent and caller.
    pub(super) fn merge_second(&mut self) -> Result<(), SecondError> {
        let Some(sec) = self.second.as_ref() else { return Err(SecondError::NoneInProgress) };
        match (sec.purpose, &sec.state, sec.hand_over_on_answer) {
            (_, _, true) => Err(SecondError::AgentGone(sec.target.clone())),
            (Purpose::Replaces, _, _) => Err(SecondError::PhoneTransfer),
            (_, State::Up, _) => {
                self.join_three_way();
                Ok(())
            }
            _ => Err(SecondError::NotAnswered),
        }
    }

    /// The second party hung up (or its media stopped).
    pub(super) async fn on_second_hangup(&mut self) {
        let Some(sec) = self.second.as_ref() else { return };
        let purpose = sec.purpose;
        tracing::info!(target = %sec.target, ?purpose, "second party hung up");
        // BYE only if it went silent (after its own BYE the leg sends none).
        self.end_second().await;
        self.reconnect(purpose);
    }

    /// The agent hung up while a second party exists. True when the call
    /// goes on without the agent (a transfer as phones do it).
    pub(super) async fn on_agent_hangup(&mut self) -> bool {
        let Some(sec) = self.second.as_mut() else { return false };
        match (sec.purpose, &sec.state) {
            (Purpose::Conference, State::Ringing { .. }) => {
                // The party was not added yet: the call ends as any other.
                self.end_second().await;
                false
            }
            (_, State::Up) => {
                tracing::info!(target = %sec.target, "the agent left: the caller stays with the second party");
                self.hand_over_to_second().await;
                true
            }
            _ => {
                sec.hand_over_on_answer = true;
                tracing::info!(target = %sec.target, "the agent left while the target rings: transfer on answer");
                let phone = sec.purpose == Purpose::Replaces;
                self.release_agent_leg().await;
                if !phone {
                    if let Ok(mut s) = self.shared.lock() {
                        s.side = Side::None;
                        s.feed = Feed::Ringback(ToneGenerator::for_country(Country::Us, ToneKind::Ringback, IVR_RATE));
                    }
                }
                true
            }
        }
    }

    /// The agent's phone sent REFER with Replaces: the caller goes to the
    /// party at the other end of the named dialog, which another call (the
    /// phone's consultation through us) owns. That call gives the dialog up;
    /// we re-INVITE its far end with our own media and, when it answers,
    /// hand the caller over (NOTIFY 200, then BYE, to the phone). An
    /// unknown dialog gets a NOTIFY 481 and the call goes on.
    pub(super) async fn refer_with_replaces(&mut self, r: Replaces) {
        let ctx = self.ctx.clone();
        if self.second.is_some() {
            tracing::info!("REFER with Replaces while a second party is on the line: declined");
            if let Some(b) = self.b.as_mut() {
                b.notify_refer(&ctx, 491, "Request Pending").await;
            }
            return;
        }
        // Only the phone's own consultation may be taken (RFC 3891 §6): the
        // replaced call must come from the extension we reach the agent at.
        let by = self.b.as_ref().and_then(|b| b.dialog.remote_uri.uri.user().map(str::to_string)).unwrap_or_default();
        let own = self.caller.invite.call_id() == Some(r.call_id.as_str());
        let asked = if own || by.is_empty() {
            Ok(Err("not another call of the transferring phone".to_string()))
        } else {
            tokio::time::timeout(HAND_OVER_WAIT, ctx.calls.hand_over(&r.call_id, r.clone(), &by)).await
        };
        let handed: HandedDialog = match asked {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                tracing::info!(call_id = %r.call_id, "REFER with Replaces for an unknown dialog: {e}");
                if let Some(b) = self.b.as_mut() {
                    b.notify_refer(&ctx, 481, "Call/Transaction Does Not Exist").await;
                }
                return;
            }
            Err(_) => {
                tracing::warn!(call_id = %r.call_id, "the call owning the replaced dialog did not answer");
                if let Some(b) = self.b.as_mut() {
                    b.notify_refer(&ctx, 481, "Call/Transaction Does Not Exist").await;
                }
                return;
            }
        };
        let HandedDialog { mut dialog, dest, last_sdp, target } = handed;
        // Its requests come here from now on.
        ctx.endpoint.bind_dialog(&dialog.call_id, self.caller.tx.clone());
        self.adopted.push(Adopted { call_id: dialog.call_id.clone(), ack: None });
        let reinvite = async {
            let pair = ctx.ports.allocate().await.ok()?;
            let our_ip = ctx.config.rtp.advertise.unwrap_or_else(|| crate::call::build::local_for(&ctx, dest.addr).ip());
            let prefs = ctx.config.media.prefs_or_default(None);
            let mut offer = crate::sdp::negotiate::offer(&prefs, &crate::sdp::negotiate::LocalMedia::new(our_ip, pair.rtp_port()));
            // Same session, next version (RFC 3264 §8): the far end sees a
            // new offer in its dialog, not a new session.
            if let Some(prev) = last_sdp {
                offer.origin.username = prev.origin.username;
                offer.origin.session_id = prev.origin.session_id;
                offer.origin.session_version = prev.origin.session_version.wrapping_add(1);
            }
            let mut req = dialog.request(Method::Invite, &crate::call::build::via(&ctx, &dest), &crate::call::build::contact(&ctx, &dest), None);
            req.headers.push(HeaderName::Allow, crate::call::ALLOW);
            req.headers.push(HeaderName::ContentType, "application/sdp");
            req.body = offer.to_bytes();
            let key = ctx.endpoint.send_request(req, dest.clone(), self.caller.tx.clone()).await.ok()?;
            Some((key, pair, offer, prefs))
        };
        let Some((key, pair, offer, prefs)) = reinvite.await else {
            tracing::warn!("re-INVITE of the transfer target not sent");
            self.bye_dialog(dialog, dest).await;
            if let Some(b) = self.b.as_mut() {
                b.notify_refer(&ctx, 500, "Server Internal Error").await;
            }
            return;
        };
        tracing::info!(call_id = %dialog.call_id, "took over the replaced dialog's far end: re-INVITE");
        let give_up = Instant::now() + Duration::from_secs(ctx.config.sip.no_answer_timeout_secs);
        self.second = Some(Second {
            target,
            purpose: Purpose::Replaces,
            state: State::Reinviting { key, dialog: Box::new(dialog), dest, pair, offer, prefs },
            give_up,
            hand_over_on_answer: true,
        });
    }

    /// SIP for our re-INVITE of a taken-over dialog; `Err` gives the event
    /// back when it is not ours.
    #[allow(clippy::result_large_err)] // the event moves on; boxing would allocate per event
    pub(super) async fn on_adopted_sip(&mut self, ev: SipEvent) -> Result<(), SipEvent> {
        let reinvite_key = match self.second.as_ref().map(|s| &s.state) {
            Some(State::Reinviting { key, .. }) => Some(key.clone()),
            _ => None,
        };
        match ev {
            SipEvent::Response { key, response } if Some(&key) == reinvite_key.as_ref() => {
                self.on_reinvite_response(response).await;
                Ok(())
            }
            SipEvent::Timeout { key } | SipEvent::TransportError { key } if Some(&key) == reinvite_key.as_ref() => {
                tracing::info!("transfer target did not answer the re-INVITE");
                self.second_failed(408).await;
                Ok(())
            }
            SipEvent::StrayResponse { response, .. } if self.adopted.iter().any(|a| response.call_id() == Some(a.call_id.as_str())) => {
                // A retransmitted 2xx of our re-INVITE: ACK it again.
                let cid = response.call_id().unwrap_or_default();
                if let Some((ack, dest)) = self.adopted.iter().find(|a| a.call_id == cid).and_then(|a| a.ack.clone()) {
                    if (200..300).contains(&response.status) {
                        self.ctx.endpoint.send_stateless(Message::Request(ack), dest);
                    }
                }
                Ok(())
            }
            other => Err(other),
        }
    }

    async fn on_reinvite_response(&mut self, resp: Response) {
        if resp.status < 200 {
            return;
        }
        let Some(sec) = self.second.as_mut() else { return };
        if resp.status >= 300 {
            tracing::info!(status = resp.status, "transfer target refused the re-INVITE");
            self.second_failed(resp.status).await;
            return;
        }
        let State::Reinviting { mut dialog, dest, pair, offer, prefs, .. } = std::mem::replace(&mut sec.state, State::Up) else { return };
        let seq = resp.headers.cseq().map(|c| c.seq).unwrap_or(dialog.local_seq);
        let ack = dialog.request(Method::Ack, &crate::call::build::via(&self.ctx, &dest), &crate::call::build::contact(&self.ctx, &dest), Some(seq));
        self.ctx.endpoint.send_stateless(Message::Request(ack.clone()), dest.clone());
        if let Some(a) = self.adopted.iter_mut().find(|a| a.call_id == dialog.call_id) {
            a.ack = Some((ack, dest.clone()));
        }
        dialog.on_refresh_response(&resp);
        match crate::sdp::parse(&resp.body) {
            Ok(answer) => self.connect_second(*dialog, dest, pair, offer, &answer, prefs).await,
            Err(e) => {
                tracing::warn!("transfer target answered without usable SDP: {e}");
                self.bye_dialog(*dialog, dest).await;
                self.second_failed(502).await;
            }
        }
    }

    /// Stops routing taken-over dialogs here (the call is over).
    pub(super) fn release_adopted(&mut self) {
        for a in self.adopted.drain(..) {
            self.ctx.endpoint.unbind_dialog(&a.call_id, &self.caller.tx);
        }
    }

    /// Another call asks for our callee's dialog (REFER with Replaces naming
    /// our caller's dialog): the callee leg is handed over without BYE and
    /// the caller (the phone that consulted through us) is released.
    pub(super) async fn give_dialog(&mut self, r: &Replaces, by: &str) -> Result<HandedDialog, String> {
        let ours = self.a.as_ref().is_some_and(|a| r.names(&a.dialog));
        if !ours {
            return Err("the dialog is not this call's".into());
        }
        // Only the transferring phone's own call: its caller is `by` and
        // came from one of `by`'s registered contacts (not a trunk caller
        // that merely claims the number).
        let from_phone = match self.ctx.store.bindings(by, crate::store::unix_time()).await {
            Ok(bs) => bs.iter().any(|b| b.source.parse::<std::net::SocketAddr>().ok() == Some(self.caller.peer.addr)),
            Err(_) => false,
        };
        if self.caller_number() != by || !from_phone {
            return Err(format!("the call is not {by}'s"));
        }
        if r.early_only {
            return Err("the dialog is confirmed (early-only)".into());
        }
        if self.second.is_some() {
            return Err("the call has a second party".into());
        }
        let Some(b) = self.b.take() else { return Err("the call is not bridged".into()) };
        let target = b.dialog.remote_uri.uri.user().unwrap_or_default().to_string();
        let (dialog, dest, sdp) = b.hand_over().await;
        self.stop_recording().await;
        self.end_supervision();
        self.clear_peers();
        self.agent_released();
        Ok(HandedDialog { dialog, dest, last_sdp: Some(sdp), target })
    }
}

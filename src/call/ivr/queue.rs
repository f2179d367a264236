//! A caller waiting in an ACD queue: music on hold, position and estimated
//! wait announcements, the callback key, and the offers the ACD makes —
//! ringing an agent's phones (several at once for ring-all), reporting
//! ringing/answer/failure back, and bridging when the ACD says which
//! answer won. The ACD core decides; this only carries out its directives.

use std::collections::HashMap;
use tokio::time::Instant;

use super::port::{Feed, IVR_RATE};
use super::run::Wake;
use super::Driver;
use crate::call::acd::{CallerDirective, JoinRequest, OfferFailure};
use crate::call::local_leg::LocalLeg;
use crate::call::originate::{self, Originator, Progress};
use crate::dialplan::ops::Media;
use crate::dialplan::DialOutcome;
use crate::media::moh::StartAt;
use crate::sdp::SessionDescription;
use crate::sip::dialog::Dialog;
use crate::sip::transaction::Peer;

/// An agent who answered, waiting for the ACD's verdict.
struct Answered {
    dialog: Box<Dialog>,
    dest: Peer,
    answer: Box<SessionDescription>,
    pair: crate::media::PortPair,
    offer_sdp: SessionDescription,
    prefs: crate::sdp::negotiate::CodecPrefs,
}

/// Where the caller goes when the queue lets them go.
pub(super) enum QueueExit {
    /// Talked to an agent (or asked for a callback): the dialplan ends.
    Done,
    /// Left without an agent: the dialplan continues (`destination` from
    /// the queue's overflow setting, if any).
    Left { reason: String, destination: Option<String> },
    /// The caller hung up.
    Gone,
}

impl Driver<'_> {
    /// Waits in `queue` until an agent answers, the queue lets the caller
    /// go, or the caller hangs up / asks for a callback.
    pub(super) async fn wait_in_queue(&mut self, mut req: JoinRequest) -> QueueExit {
        let ctx = self.ctx.clone();
        let Some(acd) = ctx.acd.as_ref() else {
            return QueueExit::Left { reason: "no ACD".into(), destination: None };
        };
        // Before answering: a slow CRM keeps the caller hearing ringback, not silence.
        req.customer = crate::call::acd::crm::customer_for(&ctx, &req.number, &req.did, &req.queue).await;
        if !self.ensure_answered().await {
            return QueueExit::Gone;
        }
        let caller = req.caller.clone();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let info = match acd.join(req, tx).await {
            Ok(i) => i,
            Err(r) => {
                tracing::info!(reason = %r.reason, destination = ?r.destination, "queue refused the caller");
                return QueueExit::Left { reason: r.reason, destination: r.destination };
            }
        };
        self.queue_rx = Some(rx);
        let moh = |ctx: &crate::call::Ctx| Feed::Music(ctx.moh.listener(&info.moh_class, IVR_RATE, StartAt::Random));
        if let Ok(mut s) = self.shared.lock() {
            s.player.clear();
            s.feed = moh(&ctx);
        }
        tracing::info!(queue = %info.queue, "waiting in queue");
        let mut answered: HashMap<u64, Answered> = HashMap::new();
        // Agent id and extensions per offer: the bridged call's names for supervisors.
        let mut offer_names: HashMap<u64, Vec<String>> = HashMap::new();
        let mut offers: HashMap<u64, (String, crate::media::PortPair, SessionDescription, crate::sdp::negotiate::CodecPrefs)> = HashMap::new();
        // While an announcement plays the music pauses; this is when it ends.
        let mut announcing: Option<Instant> = None;
        let exit = loop {
            let wake = self.wait(announcing).await;
            match wake {
                Wake::Hangup => {
                    acd.abandon(&caller);
                    break QueueExit::Gone;
                }
                Wake::Deadline => {
                    if announcing.is_some() && !self.playing() {
                        announcing = None;
                        if let Ok(mut s) = self.shared.lock() {
                            if matches!(s.feed, Feed::Prompts) {
                                s.feed = moh(&ctx);
                            }
                        }
                    } else if announcing.is_some() {
                        announcing = Some(self.play_end());
                    }
                }
                Wake::Digit(d) if Some(d) == info.callback_key && offers.is_empty() => {
                    let number = self.caller_number();
                    tracing::info!(%number, "callback requested");
                    acd.request_callback(&caller, &number);
                    self.queue_rx = None;
                    // The key barges in: an announcement still playing is cut,
                    // not played out before the confirmation.
                    if let Ok(mut s) = self.shared.lock() {
                        s.player.clear();
                    }
                    let _ = self.play(&[Media::prompt("queue-callback-confirm")]).await;
                    self.hangup(16).await;
                    break QueueExit::Done;
                }
                Wake::Queue(CallerDirective::Announce { position, ewt_ms }) => {
                    let mut items = vec![Media::prompt("you-are-caller-number")];
                    items.extend(crate::dialplan::interp::number_to_prompts(position as u64).into_iter().map(Media::Prompt));
                    let minutes = ewt_ms.div_ceil(60_000);
                    if ewt_ms > 0 {
                        items.push(Media::prompt("estimated-wait"));
                        items.extend(crate::dialplan::interp::number_to_prompts(minutes).into_iter().map(Media::Prompt));
                        items.push(Media::prompt(if minutes == 1 { "minute" } else { "minutes" }));
                    }
                    if let Some(k) = info.callback_key {
                        items.push(Media::prompt("queue-callback-offer"));
                        items.extend(crate::dialplan::interp::digits_to_prompts(&k.to_string()).into_iter().map(Media::Prompt));
                    }
                    tracing::info!(position, ewt_ms, "queue announcement");
                    if offers.is_empty() {
                        self.enqueue(&items);
                        announcing = Some(self.play_end());
                    }
                }
                Wake::Queue(CallerDirective::Offer { offer, agent, extensions }) => {
                    match self.start_offer(offer, &extensions).await {
                        Ok((pair, sdp, prefs)) => {
                            tracing::info!(offer, %agent, "offering the caller to an agent");
                            offer_names.insert(offer, std::iter::once(agent.clone()).chain(extensions.iter().cloned()).collect::<Vec<_>>());
                            offers.insert(offer, (agent, pair, sdp, prefs));
                        }
                        Err(status) => {
                            tracing::info!(offer, %agent, status, "agent unreachable");
                            acd.offer_failed(offer, OfferFailure::from_status(status));
                        }
                    }
                }
                Wake::Dial(offer, Progress::Ringing) => acd.offer_ringing(offer),
                Wake::Dial(offer, Progress::Failed(status)) => {
                    offers.remove(&offer);
                    self.drop_originator(offer);
                    acd.offer_failed(offer, OfferFailure::from_status(status));
                }
                Wake::Dial(offer, Progress::Answered { dialog, dest, answer }) => {
                    if let Some((_, pair, offer_sdp, prefs)) = offers.remove(&offer) {
                        answered.insert(offer, Answered { dialog, dest, answer, pair, offer_sdp, prefs });
                    }
                    acd.offer_answered(offer);
                }
                Wake::Queue(CallerDirective::CancelOffer { offer }) => {
                    self.cancel_originator(offer).await;
                    offers.remove(&offer);
                    // It may have answered as the ACD withdrew it.
                    if let Some(a) = answered.remove(&offer) {
                        self.bye_answered(a).await;
                    }
                }
                Wake::Queue(CallerDirective::RejectLate { offer }) => {
                    if let Some(a) = answered.remove(&offer) {
                        self.bye_answered(a).await;
                    }
                }
                Wake::Queue(CallerDirective::Connect { offer, agent }) => {
                    let Some(a) = answered.remove(&offer) else {
                        acd.call_ended(offer);
                        continue;
                    };
                    for (o, _) in offers.drain() {
                        self.cancel_originator(o).await;
                    }
                    for (_, other) in answered.drain() {
                        self.bye_answered(other).await;
                    }
                    self.queue_rx = None;
                    let port = super::port::CalleePort::new(self.shared.clone());
                    let (spare, spare_dest) = (a.dialog.clone(), a.dest.clone());
                    match LocalLeg::dialled(&ctx, *a.dialog, a.dest, self.caller.tx.clone(), a.pair, a.offer_sdp, &a.answer, a.prefs, port) {
                        Ok(b) => {
                            tracing::info!(%agent, "agent answered: bridged");
                            self.b = Some(b);
                            self.b_local = true;
                            self.agent_offer = Some(offer);
                            let names = offer_names.remove(&offer).unwrap_or_else(|| vec![agent.clone()]);
                            self.set_peers(&names);
                            if let Ok(mut s) = self.shared.lock() {
                                s.feed = Feed::Bridge;
                            }
                            if ctx.config.recording.mode == crate::config::RecordingMode::Always {
                                if let Err(e) = self.start_recording().await {
                                    tracing::warn!("recording not started: {e}");
                                }
                            }
                            let end = self.bridged().await;
                            // The agent's call ends here, if an attended
                            // transfer did not release them already.
                            self.agent_released();
                            if let super::run::BridgeEnd::Transfer(target) = end {
                                // The caller goes on.
                                let id = (self.caller_number(), self.caller_display());
                                tracing::info!(%target, "transferring the caller");
                                self.dial(&[target], std::time::Duration::from_secs(30), None, id).await;
                            }
                        }
                        Err((status, reason)) => {
                            tracing::warn!(status, reason, "agent's answer unusable: hanging the agent up");
                            self.bye_dialog(*spare, spare_dest).await;
                            acd.call_ended(offer);
                        }
                    }
                    break QueueExit::Done;
                }
                Wake::Queue(CallerDirective::Leave { reason, destination }) => {
                    tracing::info!(%reason, ?destination, "leaving the queue");
                    break QueueExit::Left { reason, destination };
                }
                Wake::Queue(CallerDirective::Gone) => break QueueExit::Left { reason: "queue removed".into(), destination: None },
                _ => {}
            }
        };
        self.queue_rx = None;
        for (o, _) in offers.drain() {
            self.cancel_originator(o).await;
        }
        // An answer the ACD may have connected before the caller left: the
        // agent's call ends here (a no-op for answers it had rejected).
        for (o, a) in answered.drain() {
            acd.call_ended(o);
            self.bye_answered(a).await;
        }
        if let Ok(mut s) = self.shared.lock() {
            if !matches!(s.feed, Feed::Bridge) {
                s.feed = Feed::Prompts;
            }
        }
        exit
    }

    /// Rings every live contact of the agent's extensions under tag `offer`.
    async fn start_offer(
        &mut self,
        offer: u64,
        extensions: &[String],
    ) -> Result<(crate::media::PortPair, SessionDescription, crate::sdp::negotiate::CodecPrefs), u16> {
        let ctx = self.ctx.clone();
        let mut targets = Vec::new();
        for e in extensions {
            if let Ok(mut t) = originate::resolve(&ctx, e).await {
                targets.append(&mut t);
            }
        }
        if targets.is_empty() {
            return Err(480);
        }
        let pair = ctx.ports.allocate().await.map_err(|_| 503u16)?;
        let our_ip = ctx.config.rtp.advertise.unwrap_or_else(|| crate::call::build::local_for(&ctx, targets[0].dest.addr).ip());
        let prefs = ctx.config.media.prefs_or_default(None);
        let sdp = crate::sdp::negotiate::offer(&prefs, &crate::sdp::negotiate::LocalMedia::new(our_ip, pair.rtp_port()));
        let (number, name) = (self.caller_number(), self.caller_display());
        let o = Originator::start(&ctx, targets, (&number, name.as_deref()), &sdp, self.caller.tx.clone()).await?;
        self.originators.push((offer, o));
        Ok((pair, sdp, prefs))
    }

    async fn bye_answered(&self, a: Answered) {
        self.bye_dialog(*a.dialog, a.dest).await;
    }

    pub(super) fn caller_number(&self) -> String {
        self.caller.invite.headers.from_addr().ok().and_then(|f| f.uri.user().map(str::to_string)).unwrap_or_default()
    }

    fn caller_display(&self) -> Option<String> {
        self.caller.invite.headers.from_addr().ok().and_then(|f| f.display_name)
    }

    /// The outcome the interpreter gets for a queue step.
    pub(super) fn queue_outcome(exit: &QueueExit) -> DialOutcome {
        match exit {
            QueueExit::Done => DialOutcome::Answered,
            QueueExit::Left { .. } => DialOutcome::NoAnswer,
            QueueExit::Gone => DialOutcome::Failed,
        }
    }
}

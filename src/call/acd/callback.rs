//! A callback call: the appliance rings the agent first (the ACD's offer);
//! when the agent answers and the ACD says so, it dials the customer and
//! bridges the two. The agent hears ringback meanwhile. Reports every step
//! to the ACD through its handle, like a waiting caller's task would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::{AcdHandle, CallerDirective, OfferFailure};
use crate::call::ivr::port::{CalleePort, CallerPort, Feed, IvrMedia, IVR_RATE};
use crate::call::local_leg::{route_event, LegSignal, LocalLeg};
use crate::call::originate::{self, Originator, Progress};
use crate::call::Ctx;
use crate::media::endpoint::EndpointEvent;
use crate::media::tone::{Country, ToneGenerator, ToneKind};
use crate::sdp::SessionDescription;
use crate::sip::endpoint::SipEvent;

/// Tags of the two outgoing calls.
const AGENT: u64 = 1;
const CUSTOMER: u64 = 2;

pub struct CallbackCall {
    pub ctx: Arc<Ctx>,
    pub acd: AcdHandle,
    pub offer: u64,
    pub caller: String,
    pub agent_extensions: Vec<String>,
    pub customer: String,
    pub directives: mpsc::UnboundedReceiver<CallerDirective>,
}

struct Pending {
    pair: crate::media::PortPair,
    sdp: SessionDescription,
    prefs: crate::sdp::negotiate::CodecPrefs,
}

impl CallbackCall {
    pub async fn run(mut self) {
        let ctx = self.ctx.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<SipEvent>();
        let shared = Arc::new(Mutex::new(IvrMedia::new()));
        let mut originators: HashMap<u64, Originator> = HashMap::new();
        let mut pending: HashMap<u64, Pending> = HashMap::new();
        let mut agent: Option<LocalLeg> = None;
        let mut customer: Option<LocalLeg> = None;
        let number = self.customer.clone();
        tracing::info!(offer = self.offer, %number, "callback: ringing the agent");
        match start(&ctx, &self.agent_extensions, (&number, Some("Callback")), &tx).await {
            Ok((o, p)) => {
                originators.insert(AGENT, o);
                pending.insert(AGENT, p);
            }
            Err(s) => {
                self.acd.offer_failed(self.offer, OfferFailure::from_status(s));
                return;
            }
        }
        let mut connected = false;
        // The ACD drops our directive channel once the caller is finished
        // (called back); the call itself goes on.
        let mut directives_open = true;
        loop {
            let directives = &mut self.directives;
            let directive = async {
                if directives_open {
                    directives.recv().await
                } else {
                    std::future::pending().await
                }
            };
            let a_media = async {
                match agent.as_mut() {
                    Some(l) => l.next_media().await,
                    None => std::future::pending().await,
                }
            };
            let c_media = async {
                match customer.as_mut() {
                    Some(l) => l.next_media().await,
                    None => std::future::pending().await,
                }
            };
            let done = tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    let owner = originators.iter().find(|(_, o)| o.owns(&ev)).map(|(t, _)| *t);
                    match owner {
                        Some(tag) => {
                            let progress = match originators.get_mut(&tag) {
                                Some(o) => o.on_event(&ctx, ev).await,
                                None => None,
                            };
                            match (tag, progress) {
                                (AGENT, Some(Progress::Ringing)) => { self.acd.offer_ringing(self.offer); false }
                                (AGENT, Some(Progress::Failed(s))) => { self.acd.offer_failed(self.offer, OfferFailure::from_status(s)); true }
                                (AGENT, Some(Progress::Answered { dialog, dest, answer })) => {
                                    let Some(p) = pending.remove(&AGENT) else { break };
                                    match LocalLeg::dialled(&ctx, *dialog, dest, tx.clone(), p.pair, p.sdp, &answer, p.prefs, CallerPort(shared.clone())) {
                                        Ok(l) => {
                                            agent = Some(l);
                                            self.acd.offer_answered(self.offer);
                                            false
                                        }
                                        Err(_) => { self.acd.offer_failed(self.offer, OfferFailure::Unreachable); true }
                                    }
                                }
                                (CUSTOMER, Some(Progress::Ringing)) => false,
                                (CUSTOMER, Some(Progress::Failed(s))) => {
                                    tracing::info!(status = s, "callback: the customer did not answer");
                                    self.acd.customer_failed(&self.caller);
                                    true
                                }
                                (CUSTOMER, Some(Progress::Answered { dialog, dest, answer })) => {
                                    let Some(p) = pending.remove(&CUSTOMER) else { break };
                                    match LocalLeg::dialled(&ctx, *dialog, dest, tx.clone(), p.pair, p.sdp, &answer, p.prefs, CalleePort::new(shared.clone())) {
                                        Ok(l) => {
                                            customer = Some(l);
                                            if let Ok(mut s) = shared.lock() {
                                                s.feed = Feed::Bridge;
                                            }
                                            tracing::info!("callback: customer answered, bridged");
                                            self.acd.customer_answered(&self.caller);
                                            connected = true;
                                            false
                                        }
                                        Err(_) => { self.acd.customer_failed(&self.caller); true }
                                    }
                                }
                                _ => false,
                            }
                        }
                        None => {
                            let mut ended = false;
                            let mut ev = Some(ev);
                            for leg in [agent.as_mut(), customer.as_mut()].into_iter().flatten() {
                                let Some(e) = ev.take() else { break };
                                match route_event(&ctx, leg, e) {
                                    Ok(Some(LegSignal::Hangup | LegSignal::Unacked)) => ended = true,
                                    // No transfers on callback calls; the 202 went out, so say no.
                                    Ok(Some(LegSignal::Refer { .. })) => leg.notify_refer(&ctx, 603, "Declined").await,
                                    Ok(_) => {}
                                    Err(e) => ev = Some(e),
                                }
                            }
                            ended
                        }
                    }
                }
                d = directive => match d {
                    Some(CallerDirective::DialCustomer { number }) => {
                        tracing::info!(%number, "callback: dialling the customer");
                        if let Ok(mut s) = shared.lock() {
                            s.feed = Feed::Ringback(ToneGenerator::for_country(Country::Us, ToneKind::Ringback, IVR_RATE));
                        }
                        match start(&ctx, std::slice::from_ref(&number), ("", None), &tx).await {
                            Ok((o, p)) => {
                                originators.insert(CUSTOMER, o);
                                pending.insert(CUSTOMER, p);
                                false
                            }
                            Err(_) => { self.acd.customer_failed(&self.caller); true }
                        }
                    }
                    Some(CallerDirective::CancelOffer { .. }) | Some(CallerDirective::RejectLate { .. }) | Some(CallerDirective::Gone) => true,
                    None => {
                        directives_open = false;
                        // Before the customer answered, a closed channel means the ACD gave up on us.
                        !connected
                    }
                    Some(_) => false,
                },
                ev = a_media => matches!(ev, Some(EndpointEvent::Timeout) | None),
                ev = c_media => matches!(ev, Some(EndpointEvent::Timeout) | None),
            };
            if done {
                break;
            }
        }
        for o in originators.values_mut() {
            o.cancel(&ctx).await;
        }
        for leg in [agent.as_mut(), customer.as_mut()].into_iter().flatten() {
            leg.bye(&ctx, None).await;
        }
        if connected || agent.is_some() {
            self.acd.call_ended(self.offer);
        }
        for l in [agent, customer].into_iter().flatten() {
            let _ = l.shutdown().await;
        }
        for o in originators.values() {
            o.release(&ctx);
        }
        tracing::info!(offer = self.offer, connected, "callback call finished");
    }
}

/// Rings `targets` with our own offer; `Err` is a SIP status.
async fn start(
    ctx: &Ctx,
    targets: &[String],
    caller: (&str, Option<&str>),
    tx: &mpsc::UnboundedSender<SipEvent>,
) -> Result<(Originator, Pending), u16> {
    let mut resolved = Vec::new();
    // Callback numbers come from the public web form: the same class as
    // the dialplan's own dialling.
    let class = ctx.config.dialing.dialplan_class();
    for t in targets {
        if let Ok(mut v) = originate::resolve_guarded(ctx, t, class).await {
            resolved.append(&mut v);
        }
    }
    if resolved.is_empty() {
        return Err(480);
    }
    let pair = ctx.ports.allocate().await.map_err(|_| 503u16)?;
    let our_ip = ctx.config.rtp.advertise.unwrap_or_else(|| crate::call::build::local_for(ctx, resolved[0].dest.addr).ip());
    let prefs = ctx.config.media.prefs_or_default(resolved[0].trunk.as_ref().and_then(|t| t.codecs.as_deref()));
    let sdp = crate::sdp::negotiate::offer(&prefs, &crate::sdp::negotiate::LocalMedia::new(our_ip, pair.rtp_port()));
    let o = Originator::start(ctx, resolved, caller, &sdp, tx.clone()).await?;
    Ok((o, Pending { pair, sdp, prefs }))
}

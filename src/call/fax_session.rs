//! One fax session on one SIP leg we terminate: the caller of a dialplan
//! (`fax_receive`, fax-on-demand) or the callee of an outbound fax job. It
//! starts as G.711 audio fax on the leg's media port and moves to T.38
//! when the peer re-INVITEs to it, or when we hear the far end's fax tone
//! and the peer accepts our re-INVITE (`[fax] t38`); a 488 (or no answer)
//! keeps the audio terminal. Ends at T.30 phase E, hang-up, RTP silence or
//! `[fax] max_session_secs`. Owns the switch-over only: T.30 is
//! `fax::engine`'s, UDPTL `fax::udptl`'s, the SDP `fax_sdp`'s.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::fax_sdp::{self, T38Answer};
use super::local_leg::{route_event, LegSignal, LocalLeg};
use super::Ctx;
use crate::fax::audio::{AudioFaxEvent, FaxAudioPort};
use crate::fax::engine::{FaxConfig, FaxEvent, FaxReport, T38Settings, T38Terminal};
use crate::fax::t38::T38Session;
use crate::fax::udptl::{Udptl, UdptlConfig};
use crate::media::{MediaPort, PortPair};
use crate::sip::endpoint::SipEvent;
use crate::sip::message::{Method, Response};
use crate::sip::transaction::TransactionKey;
use crate::store::FaxSessionResult;

/// How long our T.38 re-INVITE may take before we stay on audio.
const REOFFER_TIMEOUT: Duration = Duration::from_secs(8);

/// Where the audio terminal plugs into the leg's media: the owner's port
/// delegates to whatever is set here.
pub trait AudioSlot: Send + Sync {
    /// The rate the slot's port runs at.
    fn rate(&self) -> u32;
    /// `Some`: this port now makes and hears the leg's audio; `None`: back
    /// to the owner's normal audio (silence or prompts).
    fn set(&self, port: Option<Box<dyn MediaPort + Send>>);
}

/// How one fax session ended.
pub struct SessionEnd {
    pub report: Option<FaxReport>,
    /// `t38` or `g711`.
    pub transport: &'static str,
    /// The peer hung up (or stopped sending RTP, or never ACKed): the leg
    /// is over.
    pub leg_gone: bool,
}

impl SessionEnd {
    pub fn result(&self) -> FaxSessionResult {
        match &self.report {
            Some(r) => FaxSessionResult {
                success: r.success(),
                remote_ident: r.remote_ident.clone(),
                pages: r.pages,
                bit_rate: r.bit_rate,
                ecm: r.ecm,
                transport: self.transport,
                resolution: resolution(r),
                t30_code: r.code,
                t30_reason: r.reason.clone(),
            },
            None => FaxSessionResult { transport: self.transport, t30_code: -1, t30_reason: "no fax session".into(), ..Default::default() },
        }
    }
}

/// spandsp reports pixels per metre; fax people say dpi.
fn resolution(r: &FaxReport) -> String {
    if r.x_resolution == 0 {
        return String::new();
    }
    let dpi = |ppm: u32| (ppm as f32 * 0.0254).round() as u32;
    format!("{}x{}", dpi(r.x_resolution), dpi(r.y_resolution))
}

enum Mode {
    Audio(mpsc::UnboundedReceiver<AudioFaxEvent>),
    T38(T38Session),
}

/// Our own re-INVITE to T.38, until its final response.
struct Reoffer {
    key: TransactionKey,
    sdp: crate::sdp::SessionDescription,
    pair: PortPair,
    sent_at: Instant,
}

struct Run<'a> {
    ctx: &'a Ctx,
    leg: &'a mut LocalLeg,
    slot: &'a dyn AudioSlot,
    config: &'a FaxConfig,
    mode: Mode,
    transport: &'static str,
}

/// Runs `config` on `leg` (already answered/connected); SIP events of the
/// leg's call arrive on `rx`.
pub async fn run(ctx: &Ctx, leg: &mut LocalLeg, rx: &mut mpsc::UnboundedReceiver<SipEvent>, slot: &dyn AudioSlot, config: &FaxConfig) -> SessionEnd {
    let fax_cfg = &ctx.config.fax;
    let mode = match FaxAudioPort::new(config, slot.rate()) {
        Ok((port, events)) => {
            // Off the media shard: spandsp writes received pages to disk
            // (libtiff) inside the port's calls, and a slow disk must not
            // stall the other calls on that shard.
            slot.set(Some(Box::new(crate::media::offload::Offloaded::spawn(port))));
            Mode::Audio(events)
        }
        Err(e) => {
            tracing::warn!("fax terminal: {e}");
            return SessionEnd { report: None, transport: "g711", leg_gone: false };
        }
    };
    let mut run = Run { ctx, leg, slot, config, mode, transport: "g711" };
    let deadline = Instant::now() + Duration::from_secs(fax_cfg.max_session_secs);
    let mut reoffer: Option<Reoffer> = None;
    let mut asked_t38 = false;
    let mut report = None;
    let mut leg_gone = false;
    loop {
        let reoffer_deadline = reoffer.as_ref().map(|r| r.sent_at + REOFFER_TIMEOUT);
        let wake = [Some(deadline), run.leg.next_wake(), reoffer_deadline].into_iter().flatten().min().unwrap_or(deadline);
        // Media events (a late digit, the RTP timeout) mean nothing once
        // the call is on T.38.
        let on_t38 = matches!(run.mode, Mode::T38(_));
        let fax_event = async {
            match &mut run.mode {
                Mode::Audio(rx) => rx.recv().await.map(|e| match e {
                    AudioFaxEvent::Fax(f) => Some(f),
                    AudioFaxEvent::ToneHeard => None,
                }),
                Mode::T38(s) => s.events.recv().await.map(Some),
            }
        };
        let media = async {
            if on_t38 {
                std::future::pending().await
            } else {
                run.leg.next_media().await
            }
        };
        enum Got {
            Sip(Option<SipEvent>),
            Fax(Option<Option<FaxEvent>>),
            Media(bool),
            Timer,
        }
        let got = tokio::select! {
            ev = rx.recv() => Got::Sip(ev),
            ev = fax_event => Got::Fax(ev),
            ev = media => Got::Media(matches!(ev, Some(crate::media::endpoint::EndpointEvent::Dtmf(_)))),
            _ = tokio::time::sleep_until(wake) => Got::Timer,
        };
        match got {
            Got::Sip(None) => {
                leg_gone = true;
                break;
            }
            Got::Sip(Some(ev)) => {
                let ev = match run.t38_request(ev).await {
                    Ok(()) => continue,
                    Err(ev) => ev,
                };
                if let SipEvent::Response { key, response } = &ev {
                    if reoffer.as_ref().is_some_and(|r| &r.key == key) {
                        if response.status >= 200 {
                            if let Some(r) = reoffer.take() {
                                run.reoffer_answered(r, response);
                            }
                        }
                        continue;
                    }
                }
                match route_event(ctx, run.leg, ev) {
                    Ok(Some(LegSignal::Hangup | LegSignal::Unacked)) => {
                        leg_gone = true;
                        break;
                    }
                    Ok(Some(LegSignal::Refer { .. })) => run.leg.notify_refer(ctx, 603, "Declined").await,
                    Ok(_) => {}
                    Err(SipEvent::Request { key, request, .. }) => {
                        let mut r = super::build::response(ctx, &request, 481, "Call/Transaction Does Not Exist");
                        super::build::ensure_to_tag(&mut r);
                        ctx.endpoint.respond(&key, r);
                    }
                    Err(_) => {}
                }
            }
            Got::Fax(None) => break,
            Got::Fax(Some(None)) => {
                // The far end's fax tone: offer T.38 once, if allowed.
                if fax_cfg.t38 && !asked_t38 && matches!(run.mode, Mode::Audio(_)) {
                    asked_t38 = true;
                    reoffer = run.send_t38_reoffer().await;
                }
            }
            Got::Fax(Some(Some(FaxEvent::Finished(r)))) => {
                report = Some(r);
                break;
            }
            Got::Fax(Some(Some(ev))) => tracing::debug!(?ev, "fax"),
            Got::Media(is_digit) => {
                // Digits are noise during a fax; a closed or silent stream
                // is the end.
                if !is_digit {
                    tracing::warn!("no RTP during the fax: hanging up");
                    run.leg.bye(ctx, Some(41)).await;
                    leg_gone = true;
                    break;
                }
            }
            Got::Timer => {
                if let Some(LegSignal::Unacked) = run.leg.on_timer(ctx).await {
                    leg_gone = true;
                    break;
                }
                if reoffer.as_ref().is_some_and(|r| Instant::now() >= r.sent_at + REOFFER_TIMEOUT) {
                    tracing::info!("no answer to our T.38 re-INVITE: staying on audio");
                    reoffer = None;
                }
                if Instant::now() >= deadline {
                    tracing::warn!("fax session too long: ending it");
                    break;
                }
            }
        }
    }
    // Stop whichever terminal runs: phase E (call dropped) if it had not
    // finished, so there is always a report.
    let transport = run.transport;
    match run.mode {
        Mode::Audio(mut events) => {
            slot.set(None);
            while report.is_none() {
                match events.recv().await {
                    Some(AudioFaxEvent::Fax(FaxEvent::Finished(r))) => report = Some(r),
                    Some(_) => {}
                    None => break,
                }
            }
        }
        Mode::T38(mut session) => {
            let (_, closed) = mpsc::unbounded_channel();
            let mut events = std::mem::replace(&mut session.events, closed);
            let stats = session.stop().await;
            while report.is_none() {
                match events.recv().await {
                    Some(FaxEvent::Finished(r)) => report = Some(r),
                    Some(_) => {}
                    None => break,
                }
            }
            tracing::info!(?stats, "T.38 session ended");
        }
    }
    SessionEnd { report, transport, leg_gone }
}

impl Run<'_> {
    /// Takes the peer's re-INVITE to T.38 on our leg; other events are
    /// handed back.
    async fn t38_request(&mut self, ev: SipEvent) -> Result<(), SipEvent> {
        let SipEvent::Request { key, request, .. } = &ev else { return Err(ev) };
        if request.method != Method::Invite || !self.leg.owns(request) {
            return Err(ev);
        }
        let Ok(offer) = crate::sdp::parse(&request.body) else { return Err(ev) };
        if !fax_sdp::has_image(&offer) {
            return Err(ev);
        }
        let fax_cfg = &self.ctx.config.fax;
        if !fax_cfg.t38 || matches!(self.mode, Mode::T38(_)) {
            tracing::info!("T.38 re-INVITE refused ([fax] t38 = false, or already on T.38)");
            self.leg.refuse_reoffer(self.ctx, key, request);
            return Ok(());
        }
        let Ok(pair) = self.ctx.ports.allocate().await else {
            self.leg.refuse_reoffer(self.ctx, key, request);
            return Ok(());
        };
        let T38Answer { sdp, remote, udptl, settings } = match fax_sdp::answer(self.leg.local_sdp(), &offer, pair.rtp_addr(), fax_cfg) {
            Ok(a) => a,
            Err(e) => {
                tracing::info!("T.38 offer not usable: {e}");
                self.leg.refuse_reoffer(self.ctx, key, request);
                return Ok(());
            }
        };
        if self.leg.answer_reoffer(self.ctx, key, request, sdp).is_err() {
            return Ok(());
        }
        tracing::info!(%remote, "the peer switched the call to T.38");
        self.start_t38(pair, remote, udptl, settings);
        Ok(())
    }

    async fn send_t38_reoffer(&mut self) -> Option<Reoffer> {
        let pair = self.ctx.ports.allocate().await.ok()?;
        let sdp = fax_sdp::offer(self.leg.local_sdp(), pair.rtp_addr(), &self.ctx.config.fax);
        let key = self.leg.send_reoffer(self.ctx, &sdp).await?;
        tracing::info!("fax tone heard: offering T.38");
        Some(Reoffer { key, sdp, pair, sent_at: Instant::now() })
    }

    fn reoffer_answered(&mut self, r: Reoffer, response: &Response) {
        let Some(body) = self.leg.on_reoffer_response(self.ctx, response, r.sdp.clone()) else {
            tracing::info!(status = response.status, "the peer refused T.38: staying on audio fax");
            return;
        };
        let parsed = crate::sdp::parse(&body).map_err(|e| e.to_string());
        match parsed.and_then(|ans| fax_sdp::from_answer(&r.sdp, &ans, &self.ctx.config.fax)) {
            Ok((remote, udptl, settings)) => {
                tracing::info!(%remote, "the peer accepted T.38");
                self.start_t38(r.pair, remote, udptl, settings);
            }
            Err(e) => tracing::warn!("T.38 answer not usable ({e}): staying on audio fax"),
        }
    }

    /// Replaces the audio terminal with a fresh T.38 one (T.30 starts
    /// over, as the far end's gateway does on the switch).
    fn start_t38(&mut self, pair: PortPair, remote: std::net::SocketAddr, udptl: UdptlConfig, settings: T38Settings) {
        let terminal = match T38Terminal::new(self.config, &settings) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("T.38 terminal: {e}");
                return;
            }
        };
        self.slot.set(None);
        self.mode = Mode::T38(T38Session::spawn(pair, remote, terminal, Udptl::new(udptl)));
        self.transport = "t38";
    }
}

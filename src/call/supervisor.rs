//! A supervisor's call placed by the core API: the appliance rings the
//! supervisor's extension and, once answered, joins the agent's bridged
//! call in the asked mode through the same `SupervisorLink` the `*45`-`*47`
//! feature codes use (what each party hears is `ivr::port`'s business; no
//! mixing here). A second request by the same supervisor for the same agent
//! changes the mode in place. Ends when the supervisor hangs up or the
//! supervised call ends. Must not touch the supervised call's legs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::ivr::port::{supervisor_link, SupervisorLink, SupervisorPort, IVR_RATE};
use super::local_leg::{route_event, LegSignal, LocalLeg};
use super::originate::{self, Originator, Progress};
use super::Ctx;
use crate::dialplan::SuperviseMode;
use crate::media::endpoint::EndpointEvent;
use crate::media::PortPair;
use crate::sdp::negotiate::CodecPrefs;
use crate::sdp::SessionDescription;
use crate::sip::endpoint::SipEvent;

/// Why a supervision was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuperviseError {
    #[error("{0} is not a supervisor ([apps] supervisors)")]
    NotSupervisor(String),
    #[error("agent {0} has no live call")]
    NoCall(String),
    #[error("{supervisor} already supervises {agent}")]
    Busy { supervisor: String, agent: String },
    #[error("the supervisor's extension {extension} is unavailable (SIP {status})")]
    Unreachable { extension: String, status: u16 },
    #[error("no media ports left")]
    NoPorts,
}

/// Starts (or re-moded) `supervisor`'s supervision of `agent`'s call. `Ok`
/// once the supervisor's phone is being rung (or the mode changed).
pub async fn start(ctx: &Arc<Ctx>, agent: &str, mode: SuperviseMode, supervisor: &str) -> Result<(), SuperviseError> {
    if !ctx.config.apps.supervisors.iter().any(|s| s.as_str() == supervisor) {
        return Err(SuperviseError::NotSupervisor(supervisor.to_string()));
    }
    let call = ctx.calls.peer(agent).ok_or_else(|| SuperviseError::NoCall(agent.to_string()))?;
    if let Some((who, link)) = ctx.calls.supervision(supervisor) {
        if who != agent {
            return Err(SuperviseError::Busy { supervisor: supervisor.to_string(), agent: who });
        }
        if let Ok(mut l) = link.lock() {
            l.mode = mode;
        }
        tracing::info!(supervisor, agent, ?mode, "supervision mode changed");
        return Ok(());
    }
    let unreachable = |status| SuperviseError::Unreachable { extension: supervisor.to_string(), status };
    let targets = originate::resolve(ctx, supervisor).await.map_err(unreachable)?;
    let pair = ctx.ports.allocate().await.map_err(|_| SuperviseError::NoPorts)?;
    let our_ip = ctx.config.rtp.advertise.unwrap_or_else(|| super::build::local_for(ctx, targets[0].dest.addr).ip());
    let prefs = ctx.config.media.prefs_or_default(None);
    let offer = crate::sdp::negotiate::offer(&prefs, &crate::sdp::negotiate::LocalMedia::new(our_ip, pair.rtp_port()));
    let (tx, rx) = mpsc::unbounded_channel();
    // The supervisor's phone shows whom they are about to monitor.
    let o = Originator::start(ctx, targets, (agent, Some("Supervise")), &offer, tx.clone()).await.map_err(unreachable)?;
    let link = supervisor_link(mode);
    ctx.calls.set_supervision(supervisor, agent, link.clone());
    tracing::info!(supervisor, agent, ?mode, %call, "ringing the supervisor");
    let job = SupervisorCall {
        ctx: ctx.clone(),
        call,
        supervisor: supervisor.to_string(),
        link,
        originator: o,
        tx,
        rx,
        pending: Some((pair, offer, prefs)),
    };
    let span = tracing::info_span!("supervise", supervisor, agent);
    tokio::spawn(job.run().instrument(span));
    Ok(())
}

struct SupervisorCall {
    ctx: Arc<Ctx>,
    /// The supervised call (its caller's Call-ID).
    call: String,
    supervisor: String,
    link: SupervisorLink,
    originator: Originator,
    tx: mpsc::UnboundedSender<SipEvent>,
    rx: mpsc::UnboundedReceiver<SipEvent>,
    /// Our media for the supervisor's leg until it answers.
    pending: Option<(PortPair, SessionDescription, CodecPrefs)>,
}

impl SupervisorCall {
    async fn run(mut self) {
        let ctx = self.ctx.clone();
        let give_up = Instant::now() + Duration::from_secs(ctx.config.sip.no_answer_timeout_secs);
        let mut leg: Option<LocalLeg> = None;
        loop {
            let media = async {
                match leg.as_mut() {
                    Some(l) => l.next_media().await,
                    None => std::future::pending().await,
                }
            };
            let done = tokio::select! {
                ev = self.rx.recv() => match ev {
                    None => true,
                    Some(ev) if self.originator.owns(&ev) => match self.originator.on_event(&ctx, ev).await {
                        Some(Progress::Answered { dialog, dest, answer }) => match self.answered(*dialog, dest, &answer).await {
                            Some(l) => {
                                leg = Some(l);
                                false
                            }
                            None => true,
                        },
                        Some(Progress::Failed(status)) => {
                            tracing::info!(status, "the supervisor did not answer");
                            true
                        }
                        _ => false,
                    },
                    Some(ev) => match leg.as_mut() {
                        Some(l) => match route_event(&ctx, l, ev) {
                            Ok(Some(LegSignal::Hangup | LegSignal::Unacked)) => {
                                tracing::info!("the supervisor hung up");
                                true
                            }
                            Ok(Some(LegSignal::Refer { .. })) => {
                                // Supervisors transfer nobody; the 202 went out.
                                l.notify_refer(&ctx, 603, "Declined").await;
                                false
                            }
                            _ => false,
                        },
                        None => false,
                    },
                },
                ev = media => matches!(ev, Some(EndpointEvent::Timeout) | None),
                _ = tokio::time::sleep(Duration::from_millis(250)) => {
                    let active = self.link.lock().map(|l| l.active).unwrap_or(false);
                    match leg.as_mut() {
                        Some(l) => !active || matches!(l.on_timer(&ctx).await, Some(LegSignal::Unacked)),
                        None if Instant::now() >= give_up => {
                            tracing::info!("the supervisor did not answer in time");
                            true
                        }
                        None => false,
                    }
                },
            };
            if done {
                break;
            }
        }
        if let Ok(mut l) = self.link.lock() {
            l.active = false;
        }
        ctx.calls.clear_supervision(&self.supervisor, &self.link);
        self.originator.cancel(&ctx).await;
        if let Some(mut l) = leg {
            l.bye(&ctx, None).await;
            let _ = l.shutdown().await;
        }
        self.originator.release(&ctx);
        tracing::info!("supervision over");
    }

    /// The supervisor answered: their leg hears the supervised call and is
    /// linked into it. `None` when that cannot be (the leg is hung up).
    async fn answered(&mut self, dialog: crate::sip::dialog::Dialog, dest: crate::sip::transaction::Peer, answer: &SessionDescription) -> Option<LocalLeg> {
        let ctx = self.ctx.clone();
        let (pair, offer, prefs) = self.pending.take()?;
        let (spare, spare_dest) = (dialog.clone(), dest.clone());
        let port = SupervisorPort(self.link.clone());
        debug_assert_eq!(super::bridge_rate(), IVR_RATE);
        let mut leg = match LocalLeg::dialled(&ctx, dialog, dest, self.tx.clone(), pair, offer, answer, prefs, port) {
            Ok(l) => l,
            Err((status, reason)) => {
                tracing::warn!(status, reason, "supervisor's answer unusable: hanging up");
                let mut d = spare;
                let bye = d.request(crate::sip::message::Method::Bye, &super::build::via(&ctx, &spare_dest), &super::build::contact(&ctx, &spare_dest), None);
                let _ = ctx.endpoint.send_request(bye, spare_dest, self.tx.clone()).await;
                return None;
            }
        };
        if let Err(e) = ctx.calls.supervise(&self.call, self.link.clone()).await {
            tracing::info!("the supervised call is gone: {e}");
            leg.bye(&ctx, None).await;
            let _ = leg.shutdown().await;
            return None;
        }
        let mode = self.link.lock().map(|l| l.mode).ok();
        tracing::info!(?mode, call = %self.call, "supervising");
        Some(leg)
    }
}

impl std::str::FromStr for SuperviseMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "listen" => Ok(SuperviseMode::Listen),
            "whisper" => Ok(SuperviseMode::Whisper),
            "barge" => Ok(SuperviseMode::Barge),
            other => Err(format!("unknown supervision mode \"{other}\" (listen, whisper, barge)")),
        }
    }
}

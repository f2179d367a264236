//! Calls the appliance answers itself: negotiates the caller's offer
//! against our codec preferences (RFC 3264), runs a terminated media leg
//! attached to the application's port, and serves the dialog (ACK, BYE,
//! re-INVITE with a local answer, INFO digits) until someone hangs up.
//! Must not bridge to another party; that is `b2bua`'s job.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::apps::{AppKind, IvrTest};
use super::local_leg::{route_event, LegSignal, LocalLeg};
use super::{build, Ctx};
use crate::media::endpoint::EndpointEvent;
use crate::media::quality::LegQuality;
use crate::media::MediaPort;
use crate::sip::endpoint::{EventSender, SipEvent};
use crate::sip::message::Request;
use crate::sip::transaction::{Peer, TransactionKey};

/// The caller's side of a call we answer.
pub struct Caller<'a> {
    pub key: &'a TransactionKey,
    pub invite: &'a Request,
    pub peer: &'a Peer,
    pub local_tag: &'a str,
    pub our_ip: IpAddr,
    pub tx: EventSender,
    /// Call record to mark answered when the 200 goes out.
    pub record: Option<i64>,
    /// The caller's codec preferences (its extension's or trunk's list).
    pub prefs: crate::sdp::negotiate::CodecPrefs,
}

/// How the call ended.
pub struct Outcome {
    pub status: u16,
    pub hangup_by: &'static str,
    pub quality: Option<LegQuality>,
}

/// The application running on the leg.
enum App {
    Ivr(IvrTest),
    Conference(super::apps::ConferencePort),
}

pub async fn serve(
    ctx: &Arc<Ctx>,
    c: Caller<'_>,
    rx: &mut mpsc::UnboundedReceiver<SipEvent>,
    control: &mut mpsc::UnboundedReceiver<super::CallCommand>,
    kind: AppKind,
) -> Outcome {
    let mut app = None;
    let made = &mut app;
    let answered = LocalLeg::answer(ctx, &c, |codec| -> Result<Box<dyn MediaPort + Send>, (u16, &'static str)> {
        match &kind {
            AppKind::IvrTest => {
                let (ivr, port) = IvrTest::start(ctx.prompts.clone(), codec);
                *made = Some(App::Ivr(ivr));
                Ok(Box::new(port))
            }
            AppKind::Conference(room) => match ctx.rooms.join(room, c.invite.call_id().unwrap_or_default()) {
                Some(p) => {
                    *made = Some(App::Conference(p.clone()));
                    Ok(Box::new(p))
                }
                None => Err((500, "Server Internal Error - Conference unavailable")),
            },
            AppKind::Dialplan => Err((500, "Server Internal Error - Dialplan calls run in the IVR driver")),
        }
    })
    .await;
    let mut leg = match answered {
        Ok(l) => l,
        Err(status) => {
            if let Some(App::Conference(p)) = &app {
                ctx.rooms.leave(p);
            }
            return Outcome { status, hangup_by: "system", quality: None };
        }
    };
    let Some(mut app) = app else {
        let _ = leg.shutdown().await;
        return Outcome { status: 500, hangup_by: "system", quality: None };
    };
    tracing::info!(app = ?kind, "application running");
    let inactivity = ctx.config.rtp.inactivity_timeout();
    let mut hangup_by = "system";
    loop {
        // Recomputed each turn: a fixed far deadline would turn into a busy loop
        // once a long call outlived it.
        let wake = leg.next_wake().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            ev = rx.recv() => match ev {
                None => break,
                Some(ev) => match route_event(ctx, &mut leg, ev) {
                    Ok(Some(LegSignal::Hangup)) => {
                        hangup_by = "caller";
                        tracing::info!("hangup side=A");
                        break;
                    }
                    Ok(Some(LegSignal::Unacked)) => break,
                    Ok(_) => {}
                    Err(SipEvent::Request { key, request, .. }) => {
                        let mut r = build::response(ctx, &request, 481, "Call/Transaction Does Not Exist");
                        build::ensure_to_tag(&mut r);
                        ctx.endpoint.respond(&key, r);
                    }
                    Err(_) => {}
                },
            },
            Some(cmd) = control.recv() => match cmd {
                super::CallCommand::Conference { action, reply } => {
                    let r = match &app {
                        App::Conference(p) => ctx.rooms.control(p, &action),
                        App::Ivr(_) => Err("the call is not in a conference".to_string()),
                    };
                    tracing::info!(?action, ok = r.is_ok(), "conference control");
                    let _ = reply.send(r);
                }
                super::CallCommand::Recording { reply, .. } => {
                    let _ = reply.send(Err("recording applies to bridged calls".to_string()));
                }
                super::CallCommand::Control { reply, .. } | super::CallCommand::Supervise { reply, .. } => {
                    let _ = reply.send(Err("call control applies to calls bridged by a dialplan".to_string()));
                }
                super::CallCommand::HandOver { reply, .. } => {
                    let _ = reply.send(Err("the call has no callee to hand over".to_string()));
                }
            },
            ev = leg.next_media() => match ev {
                Some(EndpointEvent::Dtmf(d)) => {
                    let digit = d.digit.to_char();
                    tracing::info!(%digit, source = ?d.source, "dtmf");
                    if let App::Ivr(ivr) = &mut app {
                        if let Some(entered) = ivr.on_digit(digit) {
                            tracing::info!(entered, "ivr entry complete");
                        }
                    }
                }
                Some(EndpointEvent::Timeout) | None => {
                    tracing::warn!("no RTP for {inactivity:?}: hanging up");
                    leg.bye(ctx, None).await;
                    break;
                }
            },
            _ = tokio::time::sleep_until(wake) => {
                if let Some(LegSignal::Unacked) = leg.on_timer(ctx).await {
                    break;
                }
            }
        }
    }
    let quality = leg.shutdown().await;
    tracing::info!(?quality, "media released");
    if let App::Conference(p) = &app {
        ctx.rooms.leave(p);
    }
    Outcome { status: 200, hangup_by, quality }
}

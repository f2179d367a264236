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
use super::{build, Ctx};
use crate::media::codec::CodecKind;
use crate::media::dtmf::{parse_info, DtmfEvent};
use crate::media::endpoint::{self, EndpointEvent, EndpointHandle, LegConfig, LegMedia};
use crate::media::quality::LegQuality;
use crate::media::MediaPort;
use crate::sdp::negotiate::{answer, answer_update, LocalMedia, Negotiated};
use crate::sdp::{self, SessionDescription};
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{EventSender, SipEvent};
use crate::sip::message::{HeaderName, Message, Method, Request, Response};
use crate::sip::transaction::{Peer, TransactionKey};

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
const SDP: &str = "application/sdp";

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

struct Retransmit {
    resp: Response,
    cseq: u32,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

pub async fn serve(
    ctx: &Arc<Ctx>,
    c: Caller<'_>,
    rx: &mut mpsc::UnboundedReceiver<SipEvent>,
    control: &mut mpsc::UnboundedReceiver<super::CallCommand>,
    kind: AppKind,
) -> Outcome {
    let fail = |status: u16, reason: &str| {
        let mut r = build::response(ctx, c.invite, status, reason);
        build::tag_to(&mut r, c.local_tag);
        ctx.endpoint.respond(c.key, r);
        Outcome { status, hangup_by: "system", quality: None }
    };
    let offer = match sdp::parse(&c.invite.body) {
        Ok(o) => o,
        Err(e) => return fail(488, &format!("Not Acceptable Here - {e}")),
    };
    let pair = match ctx.ports.allocate().await {
        Ok(p) => p,
        Err(_) => return fail(503, "Service Unavailable - No media ports"),
    };
    let local = LocalMedia::new(c.our_ip, pair.rtp_port());
    let prefs = c.prefs.clone();
    let neg: Negotiated = match answer(&offer, &prefs, &local) {
        Ok(n) => n,
        Err(e) => return fail(e.sip_status().unwrap_or(488), "Not Acceptable Here - No common codec"),
    };
    let Some(m) = neg.media.first() else { return fail(488, "Not Acceptable Here - No audio stream") };
    let Some(codec) = CodecKind::from_rtpmap(&m.codec.name, m.codec.clock_rate) else {
        return fail(488, "Not Acceptable Here - Codec not implemented");
    };
    let (app, port): (App, Box<dyn MediaPort + Send>) = match &kind {
        AppKind::IvrTest => {
            let (ivr, port) = IvrTest::start(ctx.prompts.clone(), codec);
            (App::Ivr(ivr), Box::new(port))
        }
        AppKind::Conference(room) => match ctx.rooms.join(room, c.invite.call_id().unwrap_or_default()) {
            Some(p) => (App::Conference(p.clone()), Box::new(p)),
            None => return fail(500, "Server Internal Error - Conference unavailable"),
        },
    };
    let port_rate = port.rate();
    let leg_cfg = LegConfig {
        codec,
        pt: m.pt,
        dtmf_pt: m.dtmf_pt,
        dtmf_clock: m.dtmf_clock_rate,
        inband_dtmf: ctx.config.media.inband_dtmf,
        cname: format!("switchboard@{}", c.our_ip),
    };
    let leg = match LegMedia::new(leg_cfg, port_rate, std::time::Instant::now()) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("media leg: {e}");
            return fail(500, "Server Internal Error - Media");
        }
    };
    let remote = m.remote_rtp.map(|r| (r, m.remote_rtcp));
    let inactivity = ctx.config.rtp.inactivity_timeout();
    let (media, mut media_events): (EndpointHandle, _) = endpoint::spawn(pair, leg, port, remote, inactivity);
    tracing::info!(app = ?kind, codec = codec.encoding_name(), pt = m.pt, dtmf_pt = ?m.dtmf_pt, "answering");

    // 200 OK with our answer; our side of the dialog.
    let mut ok = build::response(ctx, c.invite, 200, "OK");
    build::tag_to(&mut ok, c.local_tag);
    ok.headers.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, c.peer)));
    ok.headers.push(HeaderName::Allow, super::ALLOW);
    ok.headers.push(HeaderName::ContentType, SDP);
    ok.body = neg.answer_sdp.to_bytes();
    let mut last_answer: SessionDescription = neg.answer_sdp.clone();
    let mut dialog = match Dialog::uas(c.invite, c.local_tag) {
        Ok(d) => d,
        Err(e) => {
            let _ = media.shutdown().await;
            return fail(400, &e.reason);
        }
    };
    ctx.endpoint.respond(c.key, ok.clone());
    if let Some(id) = c.record {
        if let Err(e) = ctx.store.answer_call_record(id).await {
            tracing::warn!("call record not updated: {e}");
        }
    }
    let now = Instant::now();
    let cseq = c.invite.headers.cseq().map(|s| s.seq).unwrap_or(0);
    let mut pending = Some(Retransmit { resp: ok, cseq, next: now + T1, interval: T1, give_up: now + T1 * 64 });
    let mut app = app;
    let mut hangup_by = "system";

    loop {
        // Recomputed each turn: a fixed far deadline would turn into a busy loop
        // once a long call outlived it.
        let wake = pending.as_ref().map(|p| p.next.min(p.give_up)).unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            ev = rx.recv() => match ev {
                None => break,
                Some(SipEvent::Ack { request, .. }) => {
                    let seq = request.headers.cseq().map(|s| s.seq).ok();
                    if pending.as_ref().map(|p| Some(p.cseq) == seq).unwrap_or(false) {
                        pending = None;
                    }
                }
                Some(SipEvent::Request { key, request, .. }) => {
                    let reply = |status: u16, reason: &str| {
                        let mut r = build::response(ctx, &request, status, reason);
                        build::ensure_to_tag(&mut r);
                        ctx.endpoint.respond(&key, r);
                    };
                    if !dialog.matches_request(&request) {
                        reply(481, "Call/Transaction Does Not Exist");
                        continue;
                    }
                    if let Err(e) = dialog.on_request(&request) {
                        reply(e.status(), &e.to_string());
                        continue;
                    }
                    match request.method {
                        Method::Bye => {
                            reply(200, "OK");
                            hangup_by = "caller";
                            tracing::info!("hangup side=A");
                            break;
                        }
                        Method::Invite => {
                            // A re-INVITE (hold, resume, address change) is
                            // answered here; the application keeps running.
                            let reoffer = sdp::parse(&request.body);
                            let local = LocalMedia::new(c.our_ip, media.local_rtp().port());
                            match reoffer.map_err(|_| ()).and_then(|o| answer_update(&o, &prefs, &local, &last_answer).map_err(|_| ())) {
                                Ok(n) => {
                                    if let Some(m) = n.media.first() {
                                        if let Some(r) = m.remote_rtp {
                                            media.set_remote(r, m.remote_rtcp);
                                        }
                                    }
                                    let mut r = build::response(ctx, &request, 200, "OK");
                                    r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, c.peer)));
                                    r.headers.push(HeaderName::ContentType, SDP);
                                    r.body = n.answer_sdp.to_bytes();
                                    last_answer = n.answer_sdp;
                                    let seq = request.headers.cseq().map(|s| s.seq).unwrap_or(0);
                                    let now = Instant::now();
                                    pending = Some(Retransmit { resp: r.clone(), cseq: seq, next: now + T1, interval: T1, give_up: now + T1 * 64 });
                                    ctx.endpoint.respond(&key, r);
                                }
                                Err(()) => reply(488, "Not Acceptable Here"),
                            }
                        }
                        Method::Info => {
                            let ct = request.headers.get(&HeaderName::ContentType).unwrap_or("");
                            match parse_info(ct, &request.body) {
                                Ok(d) => {
                                    media.info_dtmf(DtmfEvent::info(d.digit, d.duration_ms));
                                    reply(200, "OK");
                                }
                                Err(e) => reply(415, &format!("Unsupported Media Type - {e}")),
                            }
                        }
                        _ => reply(200, "OK"),
                    }
                }
                Some(_) => {}
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
            },
            ev = media_events.recv() => match ev {
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
                    send_bye(ctx, &mut dialog, c.peer, &c.tx).await;
                    break;
                }
            },
            _ = tokio::time::sleep_until(wake) => {
                if let Some(p) = pending.as_mut() {
                    let now = Instant::now();
                    if now >= p.give_up {
                        tracing::warn!("2xx never acknowledged: hanging up");
                        send_bye(ctx, &mut dialog, c.peer, &c.tx).await;
                        break;
                    }
                    ctx.endpoint.send_stateless(Message::Response(p.resp.clone()), c.peer.clone());
                    p.interval = (p.interval * 2).min(T2);
                    p.next = now + p.interval;
                }
            }
        }
    }
    let quality = media.shutdown().await;
    tracing::info!(?quality, "media released");
    if let App::Conference(p) = &app {
        ctx.rooms.leave(p);
    }
    Outcome { status: 200, hangup_by, quality }
}

async fn send_bye(ctx: &Ctx, dialog: &mut Dialog, peer: &Peer, tx: &EventSender) {
    let bye = dialog.request(Method::Bye, &build::via(ctx, peer), &build::contact(ctx, peer), None);
    let _ = ctx.endpoint.send_request(bye, peer.clone(), tx.clone()).await;
}

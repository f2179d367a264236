//! One SIP leg the appliance terminates itself, in either role: the caller
//! we answered (UAS) or a callee we dialled (UAC). Owns the leg's dialog,
//! its media endpoint and the 2xx retransmissions; answers in-dialog
//! requests (BYE, re-INVITE/UPDATE with a local SDP answer, INFO digits).
//! What the leg's media port plays is the owner's business.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::uas::Caller;
use super::{build, Ctx};
use crate::media::codec::CodecKind;
use crate::media::dtmf::{parse_info, DtmfEvent};
use crate::media::endpoint::{self, EndpointEvent, EndpointHandle, LegConfig, LegMedia};
use crate::media::quality::LegQuality;
use crate::media::{MediaPort, PortPair};
use crate::sdp::negotiate::{answer, answer_update, CodecPrefs, LocalMedia, NegotiatedMedia};
use crate::sdp::SessionDescription;
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{EventSender, SipEvent};
use crate::sip::message::{HeaderName, Message, Method, Request, Response};
use crate::sip::transaction::{Peer, TransactionKey};

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
const SDP: &str = "application/sdp";

struct Retransmit {
    resp: Response,
    cseq: u32,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

impl Retransmit {
    fn new(resp: Response, cseq: u32) -> Retransmit {
        let now = Instant::now();
        Retransmit { resp, cseq, next: now + T1, interval: T1, give_up: now + T1 * 64 }
    }
}

/// What a SIP event or timer meant for the leg's owner.
#[derive(Debug)]
pub enum LegSignal {
    /// The peer hung up (BYE answered).
    Hangup,
    /// Our 2xx was never acknowledged: the leg is dead (BYE sent).
    Unacked,
    /// A re-INVITE changed the peer's hold state (`true` = on hold).
    Hold(bool),
    /// The peer asked to transfer the other party (REFER, RFC 3515) to
    /// this dial target (the Refer-To user part), or, with `replaces`, to
    /// whoever the named dialog is talking to (attended transfer, RFC 5589).
    Refer { target: String, replaces: Option<crate::sip::replaces::Replaces> },
}

pub struct LocalLeg {
    pub media: EndpointHandle,
    events: mpsc::UnboundedReceiver<EndpointEvent>,
    pub dialog: Dialog,
    peer: Peer,
    tx: EventSender,
    our_ip: IpAddr,
    prefs: CodecPrefs,
    /// Our last SDP on this leg (answers to re-offers must keep its origin).
    local_sdp: SessionDescription,
    pending: Option<Retransmit>,
    pub codec: CodecKind,
    /// The dialog is over (BYE sent or received): no second BYE.
    ended: bool,
}

/// The media configuration of a negotiated stream, for a leg at `app_rate`.
pub fn leg_media(ctx: &Ctx, m: &NegotiatedMedia, our_ip: IpAddr, app_rate: u32, inband_dtmf: bool) -> Result<(CodecKind, LegMedia), (u16, &'static str)> {
    let codec = CodecKind::from_rtpmap(&m.codec.name, m.codec.clock_rate).ok_or((488, "Not Acceptable Here - Codec not implemented"))?;
    let cfg = LegConfig {
        codec,
        pt: m.pt,
        dtmf_pt: m.dtmf_pt,
        dtmf_clock: m.dtmf_clock_rate,
        inband_dtmf,
        cname: format!("switchboard@{our_ip}"),
        opus_complexity: ctx.config.media.opus_complexity,
    };
    let leg = LegMedia::new(cfg, app_rate, std::time::Instant::now()).map_err(|e| {
        tracing::warn!("media leg: {e}");
        (500, "Server Internal Error - Media")
    })?;
    Ok((codec, leg))
}

impl LocalLeg {
    /// Answers the caller's INVITE: negotiates its offer against `prefs`,
    /// builds the port for the chosen codec, starts the media and sends the
    /// 200. On failure the caller got the final response already and the
    /// returned status says which.
    pub async fn answer<F>(ctx: &Ctx, c: &Caller<'_>, make_port: F) -> Result<LocalLeg, u16>
    where
        F: FnOnce(CodecKind) -> Result<Box<dyn MediaPort + Send>, (u16, &'static str)>,
    {
        let fail = |status: u16, reason: &str| {
            let mut r = build::response(ctx, c.invite, status, reason);
            build::tag_to(&mut r, c.local_tag);
            ctx.endpoint.respond(c.key, r);
            status
        };
        let offer = match crate::sdp::parse(&c.invite.body) {
            Ok(o) => o,
            Err(e) => return Err(fail(488, &format!("Not Acceptable Here - {e}"))),
        };
        let Ok(pair) = ctx.ports.allocate().await else { return Err(fail(503, "Service Unavailable - No media ports")) };
        let neg = match answer(&offer, &c.prefs, &LocalMedia::new(c.our_ip, pair.rtp_port())) {
            Ok(n) => n,
            Err(e) => return Err(fail(e.sip_status().unwrap_or(488), "Not Acceptable Here - No common codec")),
        };
        let Some(m) = neg.media.first() else { return Err(fail(488, "Not Acceptable Here - No audio stream")) };
        let Some(codec) = CodecKind::from_rtpmap(&m.codec.name, m.codec.clock_rate) else {
            return Err(fail(488, "Not Acceptable Here - Codec not implemented"));
        };
        let port = match make_port(codec) {
            Ok(p) => p,
            Err((s, r)) => return Err(fail(s, r)),
        };
        let (codec, leg) = match leg_media(ctx, m, c.our_ip, port.rate(), ctx.config.media.inband_dtmf) {
            Ok(l) => l,
            Err((s, r)) => return Err(fail(s, r)),
        };
        let dialog = match Dialog::uas(c.invite, c.local_tag) {
            Ok(d) => d,
            Err(e) => return Err(fail(400, &e.reason)),
        };
        let (media, events) = endpoint::spawn(pair, leg, port, m.remote_rtp.map(|r| (r, m.remote_rtcp)), ctx.config.rtp.inactivity_timeout());
        tracing::info!(codec = codec.encoding_name(), pt = m.pt, dtmf_pt = ?m.dtmf_pt, "answering");
        let mut ok = build::response(ctx, c.invite, 200, "OK");
        build::tag_to(&mut ok, c.local_tag);
        ok.headers.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, c.peer)));
        ok.headers.push(HeaderName::Allow, super::ALLOW);
        ok.headers.push(HeaderName::ContentType, SDP);
        ok.body = neg.answer_sdp.to_bytes();
        ctx.endpoint.respond(c.key, ok.clone());
        if let Some(id) = c.record {
            if let Err(e) = ctx.store.answer_call_record(id).await {
                tracing::warn!("call record not updated: {e}");
            }
        }
        let cseq = c.invite.headers.cseq().map(|s| s.seq).unwrap_or(0);
        Ok(LocalLeg {
            media,
            events,
            dialog,
            peer: c.peer.clone(),
            tx: c.tx.clone(),
            our_ip: c.our_ip,
            prefs: c.prefs.clone(),
            local_sdp: neg.answer_sdp,
            pending: Some(Retransmit::new(ok, cseq)),
            codec,
            ended: false,
        })
    }

    /// A callee we dialled answered `offer` (sent from `pair`) with `answer`:
    /// starts its media on `port`.
    #[allow(clippy::too_many_arguments)]
    pub fn dialled<P: MediaPort + Send + 'static>(
        ctx: &Ctx,
        dialog: Dialog,
        peer: Peer,
        tx: EventSender,
        pair: PortPair,
        offer: SessionDescription,
        answer_sdp: &SessionDescription,
        prefs: CodecPrefs,
        port: P,
    ) -> Result<LocalLeg, (u16, &'static str)> {
        let our_ip = offer.connection_for(0).unwrap_or_else(|| build::local_for(ctx, peer.addr).ip());
        let m = crate::sdp::negotiate::process_answer(&offer, answer_sdp).map_err(|_| (502, "Bad Gateway - Unusable SDP answer"))?;
        let m = m.into_iter().next().ok_or((502, "Bad Gateway - No audio answered"))?;
        let (codec, leg) = leg_media(ctx, &m, our_ip, port.rate(), false)?;
        let (media, events) = endpoint::spawn(pair, leg, port, m.remote_rtp.map(|r| (r, m.remote_rtcp)), ctx.config.rtp.inactivity_timeout());
        Ok(LocalLeg { media, events, dialog, peer, tx, our_ip, prefs, local_sdp: offer, pending: None, codec, ended: false })
    }

    /// True when `req` belongs to this leg's dialog.
    pub fn owns(&self, req: &Request) -> bool {
        req.call_id() == Some(self.dialog.call_id.as_str())
    }

    /// The next media event (digits, RTP timeout).
    pub async fn next_media(&mut self) -> Option<EndpointEvent> {
        self.events.recv().await
    }

    /// When `on_timer` wants to run next.
    pub fn next_wake(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.next.min(p.give_up))
    }

    /// Retransmits our 2xx; gives up (and hangs up) after 64*T1.
    pub async fn on_timer(&mut self, ctx: &Ctx) -> Option<LegSignal> {
        let p = self.pending.as_mut()?;
        let now = Instant::now();
        if now >= p.give_up {
            tracing::warn!("2xx never acknowledged: hanging up");
            self.pending = None;
            self.bye(ctx, None).await;
            return Some(LegSignal::Unacked);
        }
        if now >= p.next {
            ctx.endpoint.send_stateless(Message::Response(p.resp.clone()), self.peer.clone());
            p.interval = (p.interval * 2).min(T2);
            p.next = now + p.interval;
        }
        None
    }

    /// An ACK for this dialog.
    pub fn on_ack(&mut self, req: &Request) {
        let seq = req.headers.cseq().map(|s| s.seq).ok();
        if self.pending.as_ref().is_some_and(|p| Some(p.cseq) == seq) {
            self.pending = None;
        }
    }

    /// An in-dialog request for this leg.
    pub fn on_request(&mut self, ctx: &Ctx, key: &TransactionKey, request: &Request) -> Option<LegSignal> {
        let reply = |status: u16, reason: &str| {
            let mut r = build::response(ctx, request, status, reason);
            build::ensure_to_tag(&mut r);
            ctx.endpoint.respond(key, r);
        };
        if !self.dialog.matches_request(request) {
            reply(481, "Call/Transaction Does Not Exist");
            return None;
        }
        if let Err(e) = self.dialog.on_request(request) {
            reply(e.status(), &e.to_string());
            return None;
        }
        match request.method {
            Method::Bye => {
                reply(200, "OK");
                self.ended = true;
                Some(LegSignal::Hangup)
            }
            Method::Invite | Method::Update if !request.body.is_empty() => {
                let offer = crate::sdp::parse(&request.body);
                let local = LocalMedia::new(self.our_ip, self.media.local_rtp().port());
                let n = offer.as_ref().map_err(|_| ()).and_then(|o| answer_update(o, &self.prefs, &local, &self.local_sdp).map_err(|_| ()));
                let Ok(n) = n else {
                    reply(488, "Not Acceptable Here");
                    return None;
                };
                if let Some(r) = n.media.first().and_then(|m| m.remote_rtp.map(|r| (r, m.remote_rtcp))) {
                    self.media.set_remote(r.0, r.1);
                }
                let held = offer.ok().and_then(|o| o.media.iter().position(|m| m.media == "audio").and_then(|i| o.direction(i))).is_some_and(|d| d.is_hold());
                let mut r = build::response(ctx, request, 200, "OK");
                r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, &self.peer)));
                r.headers.push(HeaderName::ContentType, SDP);
                r.body = n.answer_sdp.to_bytes();
                self.local_sdp = n.answer_sdp;
                if request.method == Method::Invite {
                    let seq = request.headers.cseq().map(|s| s.seq).unwrap_or(0);
                    self.pending = Some(Retransmit::new(r.clone(), seq));
                }
                ctx.endpoint.respond(key, r);
                Some(LegSignal::Hold(held))
            }
            Method::Refer => {
                let refer_to = request.headers.get(&HeaderName::ReferTo).unwrap_or("");
                let replaces = match crate::sip::replaces::Replaces::from_refer_to(refer_to) {
                    None => None,
                    Some(Ok(r)) => Some(r),
                    Some(Err(e)) => {
                        reply(400, &format!("Bad Request - {e}"));
                        return None;
                    }
                };
                let target = crate::sip::message::parse_name_addr(refer_to)
                    .ok()
                    .and_then(|a| a.uri.user().map(str::to_string))
                    .unwrap_or_default();
                if target.is_empty() && replaces.is_none() {
                    reply(400, "Bad Request - Refer-To without a user");
                    return None;
                }
                reply(202, "Accepted");
                Some(LegSignal::Refer { target, replaces })
            }
            Method::Invite => {
                // No offer (RFC 3261 §14.2): our 2xx carries one — the
                // session as it is — and the peer answers in its ACK.
                let mut r = build::response(ctx, request, 200, "OK");
                r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, &self.peer)));
                r.headers.push(HeaderName::ContentType, SDP);
                r.body = self.local_sdp.to_bytes();
                let seq = request.headers.cseq().map(|s| s.seq).unwrap_or(0);
                self.pending = Some(Retransmit::new(r.clone(), seq));
                ctx.endpoint.respond(key, r);
                None
            }
            Method::Info => {
                let ct = request.headers.get(&HeaderName::ContentType).unwrap_or("");
                match parse_info(ct, &request.body) {
                    Ok(d) => {
                        self.media.info_dtmf(DtmfEvent::info(d.digit, d.duration_ms));
                        reply(200, "OK");
                    }
                    Err(e) => reply(415, &format!("Unsupported Media Type - {e}")),
                }
                None
            }
            _ => {
                reply(200, "OK");
                None
            }
        }
    }

    /// Answers an in-dialog re-INVITE the owner handles itself (a switch to
    /// T.38) with 200 and `sdp`, retransmitted until ACKed; `Err` with the
    /// status already sent when the request does not fit the dialog.
    pub fn answer_reoffer(&mut self, ctx: &Ctx, key: &TransactionKey, request: &Request, sdp: SessionDescription) -> Result<(), u16> {
        let reply = |status: u16, reason: &str| {
            let mut r = build::response(ctx, request, status, reason);
            build::ensure_to_tag(&mut r);
            ctx.endpoint.respond(key, r);
            status
        };
        if !self.dialog.matches_request(request) {
            return Err(reply(481, "Call/Transaction Does Not Exist"));
        }
        if let Err(e) = self.dialog.on_request(request) {
            return Err(reply(e.status(), &e.to_string()));
        }
        let mut r = build::response(ctx, request, 200, "OK");
        r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, &self.peer)));
        r.headers.push(HeaderName::ContentType, SDP);
        r.body = sdp.to_bytes();
        self.local_sdp = sdp;
        let seq = request.headers.cseq().map(|s| s.seq).unwrap_or(0);
        self.pending = Some(Retransmit::new(r.clone(), seq));
        ctx.endpoint.respond(key, r);
        Ok(())
    }

    /// Refuses an in-dialog re-offer the owner does not take (e.g. T.38
    /// switched off): 488, the session stays as it was.
    pub fn refuse_reoffer(&mut self, ctx: &Ctx, key: &TransactionKey, request: &Request) {
        let status = if self.dialog.matches_request(request) && self.dialog.on_request(request).is_ok() { 488 } else { 481 };
        let mut r = build::response(ctx, request, status, if status == 488 { "Not Acceptable Here" } else { "Call/Transaction Does Not Exist" });
        build::ensure_to_tag(&mut r);
        ctx.endpoint.respond(key, r);
    }

    /// Our SDP as last sent on this leg.
    pub fn local_sdp(&self) -> &SessionDescription {
        &self.local_sdp
    }

    /// Sends a re-INVITE offering `sdp`; its responses come back to the
    /// owner as `SipEvent::Response` with the returned key.
    pub async fn send_reoffer(&mut self, ctx: &Ctx, sdp: &SessionDescription) -> Option<TransactionKey> {
        let mut req = self.dialog.request(Method::Invite, &build::via(ctx, &self.peer), &build::contact(ctx, &self.peer), None);
        req.headers.push(HeaderName::ContentType, SDP);
        req.body = sdp.to_bytes();
        ctx.endpoint.send_request(req, self.peer.clone(), self.tx.clone()).await.ok()
    }

    /// A final response to our re-INVITE: 2xx is ACKed (RFC 3261 13.2.2.4)
    /// and `sent` becomes our session; returns the answer for a 2xx.
    pub fn on_reoffer_response(&mut self, ctx: &Ctx, response: &Response, sent: SessionDescription) -> Option<Vec<u8>> {
        if !(200..300).contains(&response.status) {
            return None;
        }
        let seq = response.headers.cseq().map(|c| c.seq).ok();
        let ack = self.dialog.request(Method::Ack, &build::via(ctx, &self.peer), &build::contact(ctx, &self.peer), seq);
        ctx.endpoint.send_stateless(Message::Request(ack), self.peer.clone());
        self.local_sdp = sent;
        Some(response.body.clone())
    }

    /// Reports a REFER's outcome (RFC 3515 §2.4.5): one final NOTIFY with a
    /// sipfrag status line, ending the implicit subscription.
    pub async fn notify_refer(&mut self, ctx: &Ctx, status: u16, reason: &str) {
        let mut n = self.dialog.request(Method::Notify, &build::via(ctx, &self.peer), &build::contact(ctx, &self.peer), None);
        n.headers.push(HeaderName::Extension("Event".into()), "refer");
        n.headers.push(HeaderName::Extension("Subscription-State".into()), "terminated;reason=noresource");
        n.headers.push(HeaderName::ContentType, "message/sipfrag;version=2.0");
        n.body = format!("SIP/2.0 {status} {reason}\r\n").into_bytes();
        let _ = ctx.endpoint.send_request(n, self.peer.clone(), self.tx.clone()).await;
    }

    /// Sends BYE, with a Q.850 `Reason` (RFC 3326) when given.
    pub async fn bye(&mut self, ctx: &Ctx, q850: Option<u16>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let mut bye = self.dialog.request(Method::Bye, &build::via(ctx, &self.peer), &build::contact(ctx, &self.peer), None);
        if let Some(cause) = q850 {
            bye.headers.push(HeaderName::Extension("Reason".into()), format!("Q.850;cause={cause}"));
        }
        let _ = ctx.endpoint.send_request(bye, self.peer.clone(), self.tx.clone()).await;
    }

    /// Stops the media; returns its receive quality.
    pub async fn shutdown(self) -> Option<LegQuality> {
        self.media.shutdown().await
    }

    /// Gives the dialog away (another call takes the peer over, RFC 3891):
    /// stops the media and returns the dialog, where its requests go and
    /// the SDP we last sent on it (the new owner's offer continues its
    /// origin). No BYE: the dialog lives on.
    pub async fn hand_over(self) -> (Dialog, Peer, SessionDescription) {
        let _ = self.media.shutdown().await;
        (self.dialog, self.peer, self.local_sdp)
    }
}

/// Dispatches one SIP event to the leg when it is its own: ACKs and
/// in-dialog requests. Returns the event back when it is someone else's.
#[allow(clippy::result_large_err)] // the event moves on to its owner; boxing would allocate per event
pub fn route_event(ctx: &Ctx, leg: &mut LocalLeg, ev: SipEvent) -> Result<Option<LegSignal>, SipEvent> {
    match ev {
        SipEvent::Ack { request, .. } if leg.owns(&request) => {
            leg.on_ack(&request);
            Ok(None)
        }
        SipEvent::Request { key, request, .. } if leg.owns(&request) => Ok(leg.on_request(ctx, &key, &request)),
        other => Err(other),
    }
}

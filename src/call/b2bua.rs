//! One call: a back-to-back user agent with the caller's leg (A) on one side
//! and one or more forked INVITEs toward the callee (B) on the other; the
//! first 2xx wins. Media is anchored through a relay session. Every path out
//! of `run` releases the relay ports and unbinds both Call-IDs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::auth::{authenticate, AuthOutcome};
use super::route::{self, Refusal, Target};
use super::sdp_anchor::anchor;
use super::{build, Ctx};
use crate::media::{Leg, RelayConfig, RelayEvent, RelayHandle, RelaySession};
use crate::sip::auth::select_challenge;
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{EventSender, SipEvent};
use crate::sip::message::{CSeq, HeaderName, Headers, Message, Method, Request, Response, Uri};
use crate::sip::transaction::{cancel_request, new_tag, Peer, TransactionKey};
use crate::store::Trunk;

const SDP: &str = "application/sdp";
/// How long a failed or cancelled call lingers to ACK and BYE late 2xx
/// answers from forks (64*T1).
const DRAIN: Duration = Duration::from_secs(32);
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

/// Entry point, spawned per new INVITE.
pub async fn run(ctx: Arc<Ctx>, key: TransactionKey, invite: Request, source: Peer) {
    let (tx, rx) = mpsc::unbounded_channel();
    let a_call_id = invite.call_id().unwrap_or_default().to_string();
    ctx.endpoint.bind_dialog(&a_call_id, tx.clone());
    ctx.active_calls.fetch_add(1, Ordering::SeqCst);
    let local_tag = new_tag();
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let control_owner = control_tx.clone();
    ctx.calls.register(&a_call_id, control_tx);
    let mut call = Call {
        ctx: ctx.clone(),
        tx,
        rx,
        a: ALeg { key, invite, peer: source, local_tag, dialog: None, final_sent: false, pending_2xx: None },
        b_call_id: format!("{}-b", new_tag()),
        forks: Vec::new(),
        b: None,
        relay: None,
        relay_events: None,
        forwards: HashMap::new(),
        b_ok_ack: None,
        trunk: None,
        record: None,
        final_status: 0,
        hangup_by: "system",
        local_quality: None,
        bridge_mode: ctx.config.recording.mode != crate::config::RecordingMode::Off,
        bridge_pairs: None,
        b_offer: None,
        bridge: None,
        local_sdp: [None, None],
        control: control_rx,
        codecs: [None, None],
    };
    call.run().await;
    ctx.endpoint.unbind_dialog(&a_call_id, &call.tx);
    ctx.endpoint.unbind_dialog(&call.b_call_id, &call.tx);
    ctx.calls.unregister(&a_call_id, &control_owner);
    if let Some(bridge) = call.bridge.take() {
        let (a, b) = bridge.shutdown(&ctx).await;
        tracing::info!(?a, ?b, "media released");
        call.local_quality = a;
    }
    let stats = match call.relay.take() {
        Some(relay) => {
            let stats = relay.shutdown().await;
            tracing::info!(?stats, "media released");
            Some(stats)
        }
        None => None,
    };
    if let Some(id) = call.record {
        // Packets: everything the leg's peer sent (RTP + RTCP); loss, jitter, round trip and
        // MOS: the relay's RTP receive quality of that leg (no MOS without RTP to judge).
        let leg = |l: &crate::media::LegStats, q: &crate::media::quality::LegQuality| crate::store::LegQualityRow {
            packets: l.packets_in as i64,
            lost: q.lost,
            jitter_ms: q.jitter_ms,
            rtt_ms: q.rtt_ms,
            mos: (q.packets > 0).then_some(q.mos),
        };
        let (a, b) = match (&stats, &call.local_quality) {
            (Some(s), _) => (Some(leg(&s.a, &s.a_quality)), Some(leg(&s.b, &s.b_quality))),
            (None, Some(q)) => (
                Some(crate::store::LegQualityRow {
                    packets: q.packets as i64,
                    lost: q.lost,
                    jitter_ms: q.jitter_ms,
                    rtt_ms: q.rtt_ms,
                    mos: Some(q.mos),
                }),
                None,
            ),
            (None, None) => (None, None),
        };
        if let Err(e) = ctx.store.close_call_record(id, call.final_status, call.hangup_by, a, b).await {
            tracing::warn!("call record not closed: {e}");
        }
    }
    ctx.active_calls.fetch_sub(1, Ordering::SeqCst);
}

struct ALeg {
    key: TransactionKey,
    invite: Request,
    peer: Peer,
    local_tag: String,
    dialog: Option<Dialog>,
    final_sent: bool,
    /// Our 2xx to an INVITE from this side, retransmitted until ACKed
    /// (RFC 3261 §13.3.1.4): (response, INVITE CSeq, next send, interval, give-up).
    pending_2xx: Option<Pending2xx>,
}

struct Pending2xx {
    resp: Response,
    cseq: u32,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

struct Fork {
    key: TransactionKey,
    invite: Request,
    dest: Peer,
    done: bool,
    status: u16,
    auth_tried: bool,
}

struct BLeg {
    dialog: Dialog,
    dest: Peer,
    pending_2xx: Option<Pending2xx>,
}

/// An in-dialog request we forwarded to the other leg.
struct Forward {
    from: Side,
    server_key: TransactionKey,
    request: Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
    fn leg(self) -> Leg {
        match self {
            Side::A => Leg::A,
            Side::B => Leg::B,
        }
    }
}

enum Phase {
    Continue,
    End,
}

struct Call {
    ctx: Arc<Ctx>,
    tx: EventSender,
    rx: mpsc::UnboundedReceiver<SipEvent>,
    a: ALeg,
    b_call_id: String,
    forks: Vec<Fork>,
    b: Option<BLeg>,
    relay: Option<RelayHandle>,
    relay_events: Option<mpsc::Receiver<RelayEvent>>,
    forwards: HashMap<TransactionKey, Forward>,
    /// The ACK we sent for the winning 2xx, re-sent on its retransmissions.
    b_ok_ack: Option<(String, Request)>,
    trunk: Option<Trunk>,
    /// The call record (CDR) row, once the call is routed.
    record: Option<i64>,
    /// Final status the caller got, and who ended the call.
    final_status: u16,
    hangup_by: &'static str,
    /// Receive quality of a leg the appliance terminated itself.
    local_quality: Option<crate::media::quality::LegQuality>,
    /// Bridged through the media engine (recording, transcoding) instead of
    /// the packet relay; the media starts when the callee answers.
    bridge_mode: bool,
    bridge_pairs: Option<(crate::media::PortPair, crate::media::PortPair)>,
    /// Our offer toward the callee, to check its answer against.
    b_offer: Option<crate::sdp::SessionDescription>,
    bridge: Option<super::bridge::MediaBridge>,
    /// The last SDP we answered on each side (for re-INVITE answers).
    local_sdp: [Option<crate::sdp::SessionDescription>; 2],
    /// Commands from the core API (recording control).
    control: mpsc::UnboundedReceiver<super::CallCommand>,
    /// Codec preference lists of the caller's and the callee's side
    /// (extension or trunk; `None` = the appliance default).
    codecs: [Option<String>; 2],
}

impl Call {
    async fn run(&mut self) {
        match self.setup().await {
            Err(Refusal(status, reason)) => {
                if !self.a.final_sent {
                    self.final_to_a(status, &reason);
                }
                return;
            }
            Ok(Some(kind)) => return self.serve_locally(kind).await,
            Ok(None) => {}
        }
        let no_answer = Instant::now() + Duration::from_secs(self.ctx.config.sip.no_answer_timeout_secs);
        let mut drain_until: Option<Instant> = None;
        loop {
            let answered = self.b.is_some();
            let wake = self.next_wake(answered.then_some(()).map_or(Some(no_answer), |_| None), drain_until);
            let relay_ev = async {
                match self.relay_events.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let bridge_ev = async {
                match self.bridge.as_mut() {
                    Some(b) => b.next_event().await,
                    None => std::future::pending().await,
                }
            };
            let phase = tokio::select! {
                ev = self.rx.recv() => match ev {
                    Some(ev) => self.on_event(ev).await,
                    None => Phase::End,
                },
                ev = relay_ev => self.on_relay(ev),
                ev = bridge_ev => self.on_bridge_event(ev),
                Some(cmd) = self.control.recv() => self.on_command(cmd).await,
                _ = tokio::time::sleep_until(wake) => self.on_timer(no_answer, drain_until),
            };
            if let Phase::End = phase {
                return;
            }
            // A failed or cancelled call drains until every fork has ended.
            if self.a.final_sent && self.b.is_none() {
                if self.forks.iter().all(|f| f.done) {
                    return;
                }
                drain_until.get_or_insert(Instant::now() + DRAIN);
            }
        }
    }

    fn next_wake(&self, no_answer: Option<Instant>, drain: Option<Instant>) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        let retrans = [self.a.pending_2xx.as_ref(), self.b.as_ref().and_then(|b| b.pending_2xx.as_ref())]
            .into_iter()
            .flatten()
            .map(|p| p.next.min(p.give_up))
            .min();
        [no_answer.filter(|_| !self.a.final_sent), drain, retrans].into_iter().flatten().min().unwrap_or(far)
    }

    // ----- setup -----------------------------------------------------------

    /// Routes the call: `Ok(Some(app))` when the appliance answers it
    /// itself, `Ok(None)` once the forks toward the callee are out.
    async fn setup(&mut self) -> Result<Option<super::apps::AppKind>, Refusal> {
        let ctx = self.ctx.clone();
        let invite = self.a.invite.clone();
        let dialed = invite.uri.user().unwrap_or_default().to_string();
        let trunk = route::trunk_of(&ctx, self.a.peer.addr, &invite).await;
        let caller = invite.headers.from_addr().ok().and_then(|f| f.uri.user().map(str::to_string)).unwrap_or_default();
        let routed = match &trunk {
            Some(t) => {
                tracing::info!(trunk = %t.name, dialed, "inbound call from trunk");
                route::from_trunk(&ctx, &dialed).await
            }
            None => {
                match authenticate(&ctx, &invite, &self.a.peer, &caller, true).await {
                    AuthOutcome::Ok(_) => {}
                    AuthOutcome::Reject(resp) => {
                        self.a.final_sent = true;
                        ctx.endpoint.respond(&self.a.key, resp);
                        return Err(Refusal::already_answered());
                    }
                }
                tracing::info!(caller, dialed, "call from extension");
                route::from_extension(&ctx, &dialed).await
            }
        };
        // Every routed attempt gets a call record, failed ones too; digest
        // challenges do not (the retry with credentials is the attempt).
        let (direction, callee, trunk_name) = match (&trunk, &routed) {
            (_, Ok(Target::Trunk { trunk: t, number, .. })) => ("outbound", number.clone(), Some(t.name.clone())),
            (Some(t), Ok(Target::Extension { number, .. })) => ("inbound", number.clone(), Some(t.name.clone())),
            (Some(t), Err(_)) => ("inbound", dialed.clone(), Some(t.name.clone())),
            (None, Ok(Target::Extension { number, .. })) => ("internal", number.clone(), None),
            (None, Err(_)) => ("internal", dialed.clone(), None),
            (Some(t), Ok(Target::App(_))) => ("inbound", dialed.clone(), Some(t.name.clone())),
            (None, Ok(Target::App(_))) => ("internal", dialed.clone(), None),
        };
        match ctx.store.open_call_record(invite.call_id().unwrap_or_default(), direction, &caller, &callee, trunk_name.as_deref()).await {
            Ok(id) => self.record = Some(id),
            Err(e) => tracing::warn!("call record not opened: {e}"),
        }
        let target = routed?;
        self.codecs[0] = match &trunk {
            Some(t) => t.codecs.clone(),
            None => ctx.store.extension(&caller).await.ok().flatten().and_then(|e| e.codecs),
        };
        self.codecs[1] = match &target {
            Target::Extension { number, .. } => ctx.store.extension(number).await.ok().flatten().and_then(|e| e.codecs),
            Target::Trunk { trunk: t, .. } => t.codecs.clone(),
            Target::App(_) => None,
        };
        if let Target::App(kind) = target {
            if invite.body.is_empty() {
                return Err(Refusal::new(488, "Not Acceptable Here - INVITE without SDP offer is not supported"));
            }
            return Ok(Some(kind));
        }
        if invite.body.is_empty() {
            return Err(Refusal::new(488, "Not Acceptable Here - INVITE without SDP offer is not supported"));
        }
        let a_pair = ctx.ports.allocate().await.map_err(|_| Refusal::new(503, "Service Unavailable - No media ports"))?;
        let b_pair = ctx.ports.allocate().await.map_err(|_| Refusal::new(503, "Service Unavailable - No media ports"))?;
        if self.bridge_mode {
            self.bridge_pairs = Some((a_pair, b_pair));
            return self.send_forks(target).await;
        }
        let cfg = RelayConfig { inactivity: ctx.config.rtp.inactivity_timeout(), ..RelayConfig::default() };
        let (relay, events) = RelaySession::start(a_pair, b_pair, cfg);
        // The caller's offer tells where A receives media.
        if let Ok(offer) = anchor(&invite.body, self.our_ip_toward(self.a.peer.addr), relay.local_rtp(Leg::A).port()) {
            if let Some(rtp) = offer.remote_rtp {
                relay.set_remote(Leg::A, rtp, offer.remote_rtcp);
            }
        }
        self.relay = Some(relay);
        self.relay_events = Some(events);

        self.send_forks(target).await
    }

    /// Builds and sends the INVITE toward every target.
    async fn send_forks(&mut self, target: Target) -> Result<Option<super::apps::AppKind>, Refusal> {
        let ctx = self.ctx.clone();
        // Targets: every live contact of an extension, or the trunk.
        let mut targets: Vec<(Uri, Peer, String)> = Vec::new();
        match target {
            Target::Extension { number, bindings } => {
                for b in bindings {
                    let Ok(uri) = crate::sip::message::parse_uri(&b.contact) else { continue };
                    let Ok(addr) = b.source.parse::<SocketAddr>() else { continue };
                    let peer = match b.transport.as_str() {
                        "tcp" => Peer::tcp(addr, None),
                        _ => Peer::udp(addr),
                    };
                    targets.push((uri, peer, number.clone()));
                }
            }
            Target::App(_) => unreachable_app(),
            Target::Trunk { trunk: t, addr, number } => {
                let host = t.host.clone();
                let uri = crate::sip::message::parse_uri(&format!("sip:{number}@{host}"))
                    .map_err(|_| Refusal::new(484, "Address Incomplete"))?;
                let peer = if t.transport == "tcp" { Peer::tcp(addr, None) } else { Peer::udp(addr) };
                targets.push((uri, peer, number));
                self.trunk = Some(t);
            }
        }
        if targets.is_empty() {
            return Err(Refusal::new(480, "Temporarily Unavailable"));
        }
        self.ctx.endpoint.bind_dialog(&self.b_call_id, self.tx.clone());
        for (uri, dest, number) in targets {
            let req = self.b_invite(uri, &dest, &number)?;
            match ctx.endpoint.send_request(req.clone(), dest.clone(), self.tx.clone()).await {
                Ok(key) => self.forks.push(Fork { key, invite: req, dest, done: false, status: 0, auth_tried: false }),
                Err(e) => tracing::warn!("fork not sent: {e}"),
            }
        }
        if self.forks.is_empty() {
            return Err(Refusal::new(503, "Service Unavailable"));
        }
        Ok(None)
    }

    /// The appliance answers the call itself (IVR, conference).
    async fn serve_locally(&mut self, kind: super::apps::AppKind) {
        let ctx = self.ctx.clone();
        let caller = super::uas::Caller {
            key: &self.a.key,
            invite: &self.a.invite,
            peer: &self.a.peer,
            local_tag: &self.a.local_tag,
            our_ip: self.our_ip_toward(self.a.peer.addr),
            tx: self.tx.clone(),
            record: self.record,
            prefs: self.prefs(Side::A),
        };
        let outcome = super::uas::serve(&ctx, caller, &mut self.rx, &mut self.control, kind).await;
        self.a.final_sent = true;
        self.final_status = outcome.status;
        self.hangup_by = outcome.hangup_by;
        self.local_quality = outcome.quality;
    }

    /// Codec preferences of one side: its extension's or trunk's list, else the default.
    fn prefs(&self, side: Side) -> crate::sdp::negotiate::CodecPrefs {
        let own = match side {
            Side::A => self.codecs[0].as_deref(),
            Side::B => self.codecs[1].as_deref(),
        };
        self.ctx.config.media.prefs_or_default(own)
    }

    fn our_ip_toward(&self, peer: SocketAddr) -> IpAddr {
        self.ctx.config.rtp.advertise.unwrap_or_else(|| build::local_for(&self.ctx, peer).ip())
    }

    fn relay_port(&self, side: Side) -> u16 {
        self.relay.as_ref().map(|r| r.local_rtp(side.leg()).port()).unwrap_or(0)
    }

    /// The INVITE toward one B target, carrying the caller's offer anchored
    /// on our B-side port.
    fn b_invite(&mut self, uri: Uri, dest: &Peer, number: &str) -> Result<Request, Refusal> {
        let a = &self.a.invite;
        let from = a.headers.from_addr().map_err(|_| Refusal::new(400, "Bad From"))?;
        let caller = from.uri.user().unwrap_or("anonymous").to_string();
        let display = from.display_name.clone().map(|d| format!("\"{}\" ", d.replace('"', ""))).unwrap_or_default();
        let host = match &self.trunk {
            Some(t) => t.host.split(':').next().unwrap_or(&t.host).to_string(),
            None => build::host_for(&self.ctx, dest),
        };
        let mf = a.headers.max_forwards().ok().flatten().unwrap_or(70).saturating_sub(1);
        let offer_body = if self.bridge_mode {
            // Our own offer: the callee may pick any codec we implement and
            // the bridge transcodes.
            let port = self.bridge_pairs.as_ref().map(|(_, b)| b.rtp_port()).unwrap_or(0);
            let local = crate::sdp::negotiate::LocalMedia::new(self.our_ip_toward(dest.addr), port);
            let offer = crate::sdp::negotiate::offer(&self.prefs(Side::B), &local);
            let body = offer.to_bytes();
            self.b_offer = Some(offer);
            body
        } else {
            anchor(&a.body, self.our_ip_toward(dest.addr), self.relay_port(Side::B))
                .map_err(|e| Refusal::new(488, format!("Not Acceptable Here - {e}")))?
                .body
        };
        let mut h = Headers::default();
        h.push(HeaderName::Via, build::via(&self.ctx, dest));
        h.push(HeaderName::MaxForwards, mf.to_string());
        h.push(HeaderName::From, format!("{display}<sip:{caller}@{host}>;tag={}", self.b_from_tag()));
        h.push(HeaderName::To, format!("<sip:{number}@{host}>"));
        h.push(HeaderName::CallId, self.b_call_id.clone());
        h.push(HeaderName::CSeq, "1 INVITE");
        h.push(HeaderName::Contact, format!("<{}>", build::contact(&self.ctx, dest)));
        h.push(HeaderName::Allow, super::ALLOW);
        h.push(HeaderName::UserAgent, self.ctx.config.sip.user_agent.clone());
        h.push(HeaderName::ContentType, SDP);
        Ok(Request { method: Method::Invite, uri, headers: h, body: offer_body })
    }

    /// One From tag for all forks: together they are one forked request.
    fn b_from_tag(&self) -> String {
        format!("sb{}", &self.b_call_id[..self.b_call_id.len().min(8)])
    }

    // ----- events ----------------------------------------------------------

    async fn on_event(&mut self, ev: SipEvent) -> Phase {
        match ev {
            SipEvent::Response { key, response } => {
                if let Some(i) = self.forks.iter().position(|f| f.key == key) {
                    return self.on_fork_response(i, response).await;
                }
                if let Some(fwd) = self.forwards.remove(&key) {
                    return self.on_forward_response(key, fwd, response);
                }
                Phase::Continue
            }
            SipEvent::Timeout { key } | SipEvent::TransportError { key } => {
                if let Some(f) = self.forks.iter_mut().find(|f| f.key == key) {
                    if !f.done {
                        f.done = true;
                        f.status = 408;
                    }
                    return self.maybe_all_failed();
                }
                if let Some(fwd) = self.forwards.remove(&key) {
                    let resp = self.response_for(&fwd.request, fwd.from, 408, "Request Timeout");
                    self.ctx.endpoint.respond(&fwd.server_key, resp);
                }
                Phase::Continue
            }
            SipEvent::Cancel { invite_key, .. } => {
                if invite_key == self.a.key && !self.a.final_sent {
                    tracing::info!("caller cancelled");
                    self.hangup_by = "caller";
                    self.cancel_forks().await;
                    self.final_to_a(487, "Request Terminated");
                }
                Phase::Continue
            }
            SipEvent::Request { key, request, source } => self.on_in_dialog(key, request, source).await,
            SipEvent::Ack { request, .. } => {
                self.on_ack(request);
                Phase::Continue
            }
            SipEvent::StrayResponse { response, .. } => {
                self.on_late_2xx(response).await;
                Phase::Continue
            }
        }
    }

    async fn on_fork_response(&mut self, i: usize, resp: Response) -> Phase {
        let status = resp.status;
        if status < 200 {
            if status > 100 && self.b.is_none() && !self.a.final_sent {
                self.provisional_to_a(&resp);
            }
            return Phase::Continue;
        }
        if (200..300).contains(&status) {
            if self.b.is_some() || self.a.final_sent {
                self.on_late_2xx(resp).await;
                return Phase::Continue;
            }
            self.forks[i].done = true;
            return self.on_answer(i, resp).await;
        }
        // 401/407 from a trunk: answer the carrier's challenge once.
        if matches!(status, 401 | 407) && !self.forks[i].auth_tried {
            if let Some(req) = self.authorized_retry(i, &resp) {
                let dest = self.forks[i].dest.clone();
                if let Ok(key) = self.ctx.endpoint.send_request(req.clone(), dest, self.tx.clone()).await {
                    let f = &mut self.forks[i];
                    f.key = key;
                    f.invite = req;
                    f.auth_tried = true;
                    return Phase::Continue;
                }
            }
        }
        let f = &mut self.forks[i];
        f.done = true;
        f.status = status;
        self.hangup_by = "callee";
        tracing::info!(status, "fork failed");
        // A 6xx ends the whole search (RFC 3261 §16.7 step 5).
        if (600..700).contains(&status) && !self.a.final_sent {
            self.cancel_forks().await;
            let reason = resp.reason.clone();
            self.final_to_a(status, &reason);
            return Phase::Continue;
        }
        self.maybe_all_failed()
    }

    fn authorized_retry(&self, i: usize, resp: &Response) -> Option<Request> {
        let trunk = self.trunk.as_ref()?;
        let (user, secret) = (trunk.username.as_deref()?, trunk.secret.as_deref()?);
        let (challenge_hdr, cred_hdr) = if resp.status == 407 {
            (HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization)
        } else {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        };
        let values: Vec<&str> = resp.headers.get_all(&challenge_hdr).collect();
        let challenge = select_challenge(&values)?;
        let f = &self.forks[i];
        let mut req = f.invite.clone();
        let cseq = req.headers.cseq().ok()?;
        req.headers.set(HeaderName::CSeq, CSeq { seq: cseq.seq + 1, method: Method::Invite }.to_string());
        req.headers.set(HeaderName::Via, build::via(&self.ctx, &f.dest));
        let cnonce = new_tag();
        req.headers.push(cred_hdr, challenge.authorization("INVITE", &req.uri.to_string(), user, secret, &cnonce, 1));
        Some(req)
    }

    fn maybe_all_failed(&mut self) -> Phase {
        if self.b.is_some() || self.a.final_sent || !self.forks.iter().all(|f| f.done) {
            return Phase::Continue;
        }
        let statuses: Vec<u16> = self.forks.iter().map(|f| f.status).collect();
        let (status, reason) = best_failure(&statuses);
        self.final_to_a(status, reason);
        Phase::Continue
    }

    async fn on_answer(&mut self, i: usize, resp: Response) -> Phase {
        let fork_invite = self.forks[i].invite.clone();
        let dest = self.forks[i].dest.clone();
        let mut dialog = match Dialog::uac(&fork_invite, &resp) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("unusable 2xx: {e}");
                return Phase::Continue;
            }
        };
        // ACK the 2xx ourselves (§13.2.2.4), then stop the other forks.
        let invite_seq = fork_invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = dialog.request(Method::Ack, &build::via(&self.ctx, &dest), &build::contact(&self.ctx, &dest), Some(invite_seq));
        self.ctx.endpoint.send_stateless(Message::Request(ack.clone()), dest.clone());
        self.b_ok_ack = Some((dialog.remote_tag.clone(), ack));
        self.cancel_forks().await;

        if self.bridge_mode {
            return self.on_answer_bridged(dialog, dest, resp).await;
        }
        let answer = match anchor(&resp.body, self.our_ip_toward(self.a.peer.addr), self.relay_port(Side::A)) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("callee answered without usable SDP: {e}");
                self.b = Some(BLeg { dialog, dest, pending_2xx: None });
                self.bye(Side::B).await;
                self.final_to_a(502, "Bad Gateway - Unusable SDP answer");
                return Phase::End;
            }
        };
        if let (Some(relay), Some(rtp)) = (&self.relay, answer.remote_rtp) {
            relay.set_remote(Leg::B, rtp, answer.remote_rtcp);
        }
        self.b = Some(BLeg { dialog, dest, pending_2xx: None });
        // 200 to the caller, and our side of the A dialog.
        let mut ok = self.a_response(resp.status, &resp.reason);
        ok.headers.push(HeaderName::ContentType, SDP);
        ok.body = answer.body;
        self.answer_caller(ok).await;
        Phase::Continue
    }

    /// Sends the 2xx to the caller: our side of the A dialog, the call
    /// record, and retransmissions until the ACK (§13.3.1.4).
    async fn answer_caller(&mut self, ok: Response) {
        match Dialog::uas(&self.a.invite, &self.a.local_tag) {
            Ok(d) => self.a.dialog = Some(d),
            Err(e) => tracing::warn!("caller dialog: {e}"),
        }
        self.ctx.endpoint.respond(&self.a.key, ok.clone());
        self.a.final_sent = true;
        self.final_status = ok.status;
        if let Some(id) = self.record {
            if let Err(e) = self.ctx.store.answer_call_record(id).await {
                tracing::warn!("call record not updated: {e}");
            }
        }
        let cseq = self.a.invite.headers.cseq().map(|c| c.seq).unwrap_or(0);
        self.a.pending_2xx = Some(Pending2xx::new(ok, cseq));
        tracing::info!("call answered");
    }

    /// The callee answered our own offer: negotiate the caller's offer,
    /// start both terminated legs and the bridge between them.
    async fn on_answer_bridged(&mut self, dialog: Dialog, dest: Peer, resp: Response) -> Phase {
        use super::bridge::{BridgeLeg, MediaBridge, BRIDGE_RATE};
        use crate::media::codec::CodecKind;
        use crate::media::endpoint::{LegConfig, LegMedia};
        use crate::sdp::negotiate::{answer, process_answer, LocalMedia, NegotiatedMedia};
        self.b = Some(BLeg { dialog, dest, pending_2xx: None });
        let ctx = self.ctx.clone();
        let prefs = self.prefs(Side::A);
        let a_ip = self.our_ip_toward(self.a.peer.addr);
        let negotiated = (|| -> Result<_, (u16, &'static str)> {
            let (a_pair, b_pair) = self.bridge_pairs.take().ok_or((500, "Server Internal Error"))?;
            let b_offer = self.b_offer.as_ref().ok_or((500, "Server Internal Error"))?;
            let b_answer = crate::sdp::parse(&resp.body).map_err(|_| (502, "Bad Gateway - Unusable SDP answer"))?;
            let bm = process_answer(b_offer, &b_answer).map_err(|_| (502, "Bad Gateway - Unusable SDP answer"))?;
            let bm = bm.into_iter().next().ok_or((502, "Bad Gateway - No audio answered"))?;
            let a_offer = crate::sdp::parse(&self.a.invite.body).map_err(|_| (488, "Not Acceptable Here"))?;
            let a_neg = answer(&a_offer, &prefs, &LocalMedia::new(a_ip, a_pair.rtp_port()))
                .map_err(|_| (488, "Not Acceptable Here - No common codec"))?;
            let am = a_neg.media.first().cloned().ok_or((488, "Not Acceptable Here"))?;
            Ok((a_pair, b_pair, am, bm, a_neg.answer_sdp))
        })();
        let (a_pair, b_pair, am, bm, a_answer) = match negotiated {
            Ok(n) => n,
            Err((status, reason)) => {
                self.bye(Side::B).await;
                self.final_to_a(status, reason);
                return Phase::End;
            }
        };
        let now = std::time::Instant::now();
        let leg = |m: &NegotiatedMedia| -> Option<LegMedia> {
            let codec = CodecKind::from_rtpmap(&m.codec.name, m.codec.clock_rate)?;
            let cfg = LegConfig {
                codec,
                pt: m.pt,
                dtmf_pt: m.dtmf_pt,
                dtmf_clock: m.dtmf_clock_rate,
                inband_dtmf: false,
                cname: format!("switchboard@{a_ip}"),
            };
            LegMedia::new(cfg, BRIDGE_RATE, now).map_err(|e| tracing::warn!("bridge leg: {e}")).ok()
        };
        let (Some(a_leg), Some(b_leg)) = (leg(&am), leg(&bm)) else {
            self.bye(Side::B).await;
            self.final_to_a(500, "Server Internal Error - Media");
            return Phase::End;
        };
        tracing::info!(caller_codec = %am.codec.name, callee_codec = %bm.codec.name, "bridging through the media engine");
        let bridge = MediaBridge::start(
            BridgeLeg { pair: a_pair, media: a_leg, remote: am.remote_rtp.map(|r| (r, am.remote_rtcp)) },
            BridgeLeg { pair: b_pair, media: b_leg, remote: bm.remote_rtp.map(|r| (r, bm.remote_rtcp)) },
            ctx.config.rtp.inactivity_timeout(),
        );
        self.bridge = Some(bridge);
        let mut ok = self.a_response(resp.status, &resp.reason);
        ok.headers.push(HeaderName::ContentType, SDP);
        ok.body = a_answer.to_bytes();
        self.local_sdp = [Some(a_answer), self.b_offer.clone()];
        self.answer_caller(ok).await;
        if ctx.config.recording.mode == crate::config::RecordingMode::Always {
            let call_id = self.a.invite.call_id().unwrap_or_default().to_string();
            if let Some(b) = self.bridge.as_mut() {
                if let Err(e) = b.start_recording(&ctx, &call_id).await {
                    tracing::warn!("recording not started: {e}");
                }
            }
        }
        Phase::Continue
    }

    /// A re-INVITE or UPDATE with SDP on a bridged call is answered here:
    /// each leg's media is ours, so the other party needs no new offer.
    fn answer_locally(&mut self, from: Side, key: TransactionKey, req: Request) {
        let idx = match from {
            Side::A => 0,
            Side::B => 1,
        };
        let ip = self.dest(from).map(|d| self.our_ip_toward(d.addr));
        let port = self.bridge.as_ref().map(|b| match from {
            Side::A => b.a.local_rtp().port(),
            Side::B => b.b.local_rtp().port(),
        });
        let answered = match (ip, port, self.local_sdp[idx].as_ref(), crate::sdp::parse(&req.body)) {
            (Some(ip), Some(port), Some(prev), Ok(offer)) => crate::sdp::negotiate::answer_update(
                &offer,
                &self.prefs(from),
                &crate::sdp::negotiate::LocalMedia::new(ip, port),
                prev,
            )
            .ok(),
            _ => None,
        };
        let Some(n) = answered else {
            let r = self.response_for(&req, from, 488, "Not Acceptable Here");
            self.ctx.endpoint.respond(&key, r);
            return;
        };
        // A sendonly/inactive offer (or c=0.0.0.0) puts the other party on hold.
        let held = crate::sdp::parse(&req.body)
            .ok()
            .and_then(|o| o.media.iter().position(|m| m.media == "audio").and_then(|i| o.direction(i)))
            .map(|d| d.is_hold())
            .unwrap_or(false);
        if let Some(b) = self.bridge.as_ref() {
            b.set_hold(&self.ctx, from == Side::A, held);
        }
        if let (Some(b), Some(m)) = (self.bridge.as_ref(), n.media.first()) {
            if let Some(rtp) = m.remote_rtp {
                match from {
                    Side::A => b.a.set_remote(rtp, m.remote_rtcp),
                    Side::B => b.b.set_remote(rtp, m.remote_rtcp),
                }
            }
        }
        let mut r = build::response(&self.ctx, &req, 200, "OK");
        if let Some(dest) = self.dest(from) {
            r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(&self.ctx, &dest)));
        }
        r.headers.push(HeaderName::ContentType, SDP);
        r.body = n.answer_sdp.to_bytes();
        self.local_sdp[idx] = Some(n.answer_sdp);
        if req.method == Method::Invite {
            let cseq = req.headers.cseq().map(|c| c.seq).unwrap_or(0);
            let pend = Some(Pending2xx::new(r.clone(), cseq));
            match from {
                Side::A => self.a.pending_2xx = pend,
                Side::B => {
                    if let Some(b) = self.b.as_mut() {
                        b.pending_2xx = pend;
                    }
                }
            }
        }
        self.ctx.endpoint.respond(&key, r);
    }

    /// Digits cross the bridge as RFC 4733; a silent leg ends the call.
    fn on_bridge_event(&mut self, ev: Option<(bool, crate::media::endpoint::EndpointEvent)>) -> Phase {
        use crate::media::endpoint::EndpointEvent;
        match ev {
            Some((from_a, EndpointEvent::Dtmf(d))) => {
                tracing::info!(digit = %d.digit.to_char(), source = ?d.source, from_caller = from_a, "dtmf");
                if let Some(b) = self.bridge.as_ref() {
                    if from_a {
                        b.b.send_dtmf(d.digit);
                    } else {
                        b.a.send_dtmf(d.digit);
                    }
                }
                Phase::Continue
            }
            Some((_, EndpointEvent::Timeout)) | None => {
                self.hangup_by = "system";
                self.on_relay(None)
            }
        }
    }

    /// A command from the core API.
    async fn on_command(&mut self, cmd: super::CallCommand) -> Phase {
        let (action, reply) = match cmd {
            super::CallCommand::Recording { action, reply } => (action, reply),
            super::CallCommand::Conference { reply, .. } => {
                let _ = reply.send(Err("the call is not in a conference".to_string()));
                return Phase::Continue;
            }
        };
        let ctx = self.ctx.clone();
        let call_id = self.a.invite.call_id().unwrap_or_default().to_string();
        let result = match self.bridge.as_mut() {
            None if !self.bridge_mode => Err("recording is off ([recording] mode = \"off\")".to_string()),
            None => Err("the call is not answered yet".to_string()),
            Some(b) => match action {
                super::RecordingAction::Start => b.start_recording(&ctx, &call_id).await,
                super::RecordingAction::Stop => b.stop_recording(&ctx).await,
                super::RecordingAction::Pause => b.pause_recording(true),
                super::RecordingAction::Resume => b.pause_recording(false),
            },
        };
        let _ = reply.send(result);
        Phase::Continue
    }

    /// A 2xx after the call was decided: retransmission of the winner's
    /// (re-ACK), or another fork also answering (ACK and BYE it).
    async fn on_late_2xx(&mut self, resp: Response) {
        if !(200..300).contains(&resp.status) || resp.call_id() != Some(self.b_call_id.as_str()) {
            return;
        }
        let Ok(to) = resp.headers.to_addr() else { return };
        let tag = to.tag().unwrap_or_default().to_string();
        if let Some((winner, ack)) = &self.b_ok_ack {
            if *winner == tag {
                if let Some(b) = &self.b {
                    self.ctx.endpoint.send_stateless(Message::Request(ack.clone()), b.dest.clone());
                }
                return;
            }
        }
        let Some(fork) = self.forks.iter().find(|f| {
            f.invite.headers.cseq().ok().map(|c| c.seq) == resp.headers.cseq().ok().map(|c| c.seq)
        }) else {
            return;
        };
        let (invite, dest) = (fork.invite.clone(), fork.dest.clone());
        let Ok(mut d) = Dialog::uac(&invite, &resp) else { return };
        let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = d.request(Method::Ack, &build::via(&self.ctx, &dest), &build::contact(&self.ctx, &dest), Some(seq));
        self.ctx.endpoint.send_stateless(Message::Request(ack), dest.clone());
        let bye = d.request(Method::Bye, &build::via(&self.ctx, &dest), &build::contact(&self.ctx, &dest), None);
        let _ = self.ctx.endpoint.send_request(bye, dest, self.tx.clone()).await;
    }

    async fn cancel_forks(&mut self) {
        for f in self.forks.iter().filter(|f| !f.done) {
            if let Ok(cancel) = cancel_request(&f.invite) {
                let _ = self.ctx.endpoint.send_request(cancel, f.dest.clone(), self.tx.clone()).await;
            }
        }
    }

    fn provisional_to_a(&mut self, resp: &Response) {
        let mut p = self.a_response(resp.status, &resp.reason);
        if !resp.body.is_empty() && !self.bridge_mode {
            if let Ok(early) = anchor(&resp.body, self.our_ip_toward(self.a.peer.addr), self.relay_port(Side::A)) {
                if let (Some(relay), Some(rtp)) = (&self.relay, early.remote_rtp) {
                    relay.set_remote(Leg::B, rtp, early.remote_rtcp);
                }
                p.headers.push(HeaderName::ContentType, SDP);
                p.body = early.body;
            }
        }
        self.ctx.endpoint.respond(&self.a.key, p);
    }

    /// A response on the A leg's INVITE with our tag and Contact.
    fn a_response(&self, status: u16, reason: &str) -> Response {
        let mut r = build::response(&self.ctx, &self.a.invite, status, reason);
        build::tag_to(&mut r, &self.a.local_tag);
        if status < 300 {
            r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(&self.ctx, &self.a.peer)));
            r.headers.push(HeaderName::Allow, super::ALLOW);
        }
        r
    }

    fn final_to_a(&mut self, status: u16, reason: &str) {
        if self.a.final_sent || status == 0 {
            return;
        }
        self.a.final_sent = true;
        self.final_status = status;
        tracing::info!(status, reason, "call failed");
        let r = self.a_response(status, reason);
        self.ctx.endpoint.respond(&self.a.key, r);
    }

    fn on_relay(&mut self, ev: Option<RelayEvent>) -> Phase {
        match ev {
            Some(RelayEvent::Latched { leg, addr }) => {
                tracing::debug!(?leg, %addr, "media latched");
                Phase::Continue
            }
            Some(RelayEvent::Timeout) | None => {
                self.relay_events = None;
                if self.b.is_some() {
                    tracing::warn!("no RTP for {:?}: hanging up", self.ctx.config.rtp.inactivity_timeout());
                    let ctx = self.ctx.clone();
                    // BYE both ways; sent from a short task so this stays sync.
                    let (a_req, a_dest) = self.bye_request(Side::A);
                    let (b_req, b_dest) = self.bye_request(Side::B);
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        for (r, d) in [(a_req, a_dest), (b_req, b_dest)] {
                            if let (Some(r), Some(d)) = (r, d) {
                                let _ = ctx.endpoint.send_request(r, d, tx.clone()).await;
                            }
                        }
                    });
                    Phase::End
                } else {
                    Phase::Continue
                }
            }
        }
    }

    fn on_timer(&mut self, no_answer: Instant, drain_until: Option<Instant>) -> Phase {
        let now = Instant::now();
        if !self.a.final_sent && now >= no_answer {
            tracing::info!("no answer");
            for f in self.forks.iter().filter(|f| !f.done) {
                if let Ok(cancel) = cancel_request(&f.invite) {
                    let (ctx, dest, tx) = (self.ctx.clone(), f.dest.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let _ = ctx.endpoint.send_request(cancel, dest, tx).await;
                    });
                }
            }
            self.final_to_a(480, "Temporarily Unavailable");
        }
        if let Some(d) = drain_until {
            if now >= d && self.b.is_none() {
                return Phase::End;
            }
        }
        // 2xx retransmissions toward either side (§13.3.1.4).
        let mut give_up = false;
        let a_peer = self.a.peer.clone();
        let b_dest = self.b.as_ref().map(|b| b.dest.clone());
        let ctx = self.ctx.clone();
        let mut tick = |p: &mut Option<Pending2xx>, dest: &Peer| {
            if let Some(pend) = p {
                if now >= pend.give_up {
                    *p = None;
                    give_up = true;
                } else if now >= pend.next {
                    ctx.endpoint.send_stateless(Message::Response(pend.resp.clone()), dest.clone());
                    pend.interval = (pend.interval * 2).min(T2);
                    pend.next = now + pend.interval;
                }
            }
        };
        tick(&mut self.a.pending_2xx, &a_peer);
        if let (Some(b), Some(dest)) = (self.b.as_mut(), b_dest) {
            tick(&mut b.pending_2xx, &dest);
        }
        if give_up {
            tracing::warn!("2xx never acknowledged: hanging up");
            return self.on_relay(None);
        }
        Phase::Continue
    }

    // ----- established dialog ------------------------------------------------

    fn side_of(&self, req: &Request) -> Option<Side> {
        let cid = req.call_id()?;
        if cid == self.b_call_id {
            Some(Side::B)
        } else if Some(cid) == self.a.invite.call_id() {
            Some(Side::A)
        } else {
            None
        }
    }

    fn dialog_mut(&mut self, side: Side) -> Option<&mut Dialog> {
        match side {
            Side::A => self.a.dialog.as_mut(),
            Side::B => self.b.as_mut().map(|b| &mut b.dialog),
        }
    }

    fn dest(&self, side: Side) -> Option<Peer> {
        match side {
            Side::A => Some(self.a.peer.clone()),
            Side::B => self.b.as_ref().map(|b| b.dest.clone()),
        }
    }

    fn response_for(&self, req: &Request, _side: Side, status: u16, reason: &str) -> Response {
        let mut r = build::response(&self.ctx, req, status, reason);
        build::ensure_to_tag(&mut r);
        r
    }

    async fn on_in_dialog(&mut self, key: TransactionKey, req: Request, _source: Peer) -> Phase {
        let Some(side) = self.side_of(&req) else {
            let r = self.response_for(&req, Side::A, 481, "Call/Transaction Does Not Exist");
            self.ctx.endpoint.respond(&key, r);
            return Phase::Continue;
        };
        // Requests in the A dialog before we answered (e.g. UPDATE) or on a
        // B dialog that is not the winner.
        let matches = self.dialog_mut(side).map(|d| d.matches_request(&req)).unwrap_or(false);
        if !matches {
            let r = self.response_for(&req, side, 481, "Call/Transaction Does Not Exist");
            self.ctx.endpoint.respond(&key, r);
            return Phase::Continue;
        }
        if let Some(d) = self.dialog_mut(side) {
            if let Err(e) = d.on_request(&req) {
                let r = self.response_for(&req, side, e.status(), &e.to_string());
                self.ctx.endpoint.respond(&key, r);
                return Phase::Continue;
            }
        }
        if req.method == Method::Bye {
            tracing::info!(?side, "hangup");
            self.hangup_by = match side {
                Side::A => "caller",
                Side::B => "callee",
            };
            let r = self.response_for(&req, side, 200, "OK");
            self.ctx.endpoint.respond(&key, r);
            self.bye(side.other()).await;
            return Phase::End;
        }
        self.forward(side, key, req).await;
        Phase::Continue
    }

    /// Forwards an in-dialog request (re-INVITE, UPDATE, INFO, ...) to the
    /// other leg, anchoring any SDP.
    async fn forward(&mut self, from: Side, server_key: TransactionKey, req: Request) {
        if self.bridge_mode && matches!(req.method, Method::Invite | Method::Update) && !req.body.is_empty() {
            return self.answer_locally(from, server_key, req);
        }
        let to = from.other();
        let Some(dest) = self.dest(to) else { return };
        let via = build::via(&self.ctx, &dest);
        let contact = build::contact(&self.ctx, &dest);
        let our_ip = self.our_ip_toward(dest.addr);
        let port = self.relay_port(to);
        let Some(dialog) = self.dialog_mut(to) else { return };
        let mut out = dialog.request(req.method.clone(), &via, &contact, None);
        if !req.body.is_empty() {
            let is_sdp = req.headers.get(&HeaderName::ContentType).map(|c| c.to_ascii_lowercase().starts_with(SDP)).unwrap_or(false);
            if is_sdp {
                match anchor(&req.body, our_ip, port) {
                    Ok(a) => {
                        if let (Some(relay), Some(rtp)) = (&self.relay, a.remote_rtp) {
                            relay.set_remote(from.leg(), rtp, a.remote_rtcp);
                        }
                        out.body = a.body;
                    }
                    Err(e) => {
                        let r = self.response_for(&req, from, 488, &format!("Not Acceptable Here - {e}"));
                        self.ctx.endpoint.respond(&server_key, r);
                        return;
                    }
                }
            } else {
                out.body = req.body.clone();
            }
            if let Some(ct) = req.headers.get(&HeaderName::ContentType) {
                out.headers.push(HeaderName::ContentType, ct.to_string());
            }
        }
        match self.ctx.endpoint.send_request(out, dest, self.tx.clone()).await {
            Ok(key) => {
                self.forwards.insert(key, Forward { from, server_key, request: req });
            }
            Err(e) => {
                tracing::warn!("forward failed: {e}");
                let r = self.response_for(&req, from, 500, "Server Internal Error");
                self.ctx.endpoint.respond(&server_key, r);
            }
        }
    }

    fn on_forward_response(&mut self, key: TransactionKey, fwd: Forward, resp: Response) -> Phase {
        if resp.status < 200 {
            // Keep waiting for the final response.
            if resp.status > 100 {
                let r = self.relay_response(&fwd, &resp);
                self.ctx.endpoint.respond(&fwd.server_key, r);
            }
            self.forwards.insert(key, fwd);
            return Phase::Continue;
        }
        let to = fwd.from.other();
        if fwd.request.method == Method::Invite && (200..300).contains(&resp.status) {
            // ACK the target side's 2xx at once; the legs are independent.
            if let Some(dest) = self.dest(to) {
                let via = build::via(&self.ctx, &dest);
                let contact = build::contact(&self.ctx, &dest);
                if let Some(d) = self.dialog_mut(to) {
                    d.on_refresh_response(&resp);
                    let seq = resp.headers.cseq().map(|c| c.seq).unwrap_or(d.local_seq);
                    let ack = d.request(Method::Ack, &via, &contact, Some(seq));
                    self.ctx.endpoint.send_stateless(Message::Request(ack), dest);
                }
            }
        }
        let r = self.relay_response(&fwd, &resp);
        if fwd.request.method == Method::Invite && (200..300).contains(&resp.status) {
            let cseq = fwd.request.headers.cseq().map(|c| c.seq).unwrap_or(0);
            let pend = Some(Pending2xx::new(r.clone(), cseq));
            match fwd.from {
                Side::A => self.a.pending_2xx = pend,
                Side::B => {
                    if let Some(b) = self.b.as_mut() {
                        b.pending_2xx = pend;
                    }
                }
            }
        }
        self.ctx.endpoint.respond(&fwd.server_key, r);
        Phase::Continue
    }

    /// The other leg's response, rebuilt for the originator's transaction.
    fn relay_response(&self, fwd: &Forward, resp: &Response) -> Response {
        let mut r = build::response(&self.ctx, &fwd.request, resp.status, &resp.reason);
        if resp.status < 300 {
            if let Some(dest) = self.dest(fwd.from) {
                r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(&self.ctx, &dest)));
            }
        }
        if !resp.body.is_empty() {
            let is_sdp = resp.headers.get(&HeaderName::ContentType).map(|c| c.to_ascii_lowercase().starts_with(SDP)).unwrap_or(false);
            if is_sdp {
                let ours = self.our_ip_toward(fwd_peer_addr(self, fwd.from));
                if let Ok(a) = anchor(&resp.body, ours, self.relay_port(fwd.from)) {
                    if let (Some(relay), Some(rtp)) = (&self.relay, a.remote_rtp) {
                        relay.set_remote(fwd.from.other().leg(), rtp, a.remote_rtcp);
                    }
                    r.headers.push(HeaderName::ContentType, SDP);
                    r.body = a.body;
                }
            } else {
                if let Some(ct) = resp.headers.get(&HeaderName::ContentType) {
                    r.headers.push(HeaderName::ContentType, ct.to_string());
                }
                r.body = resp.body.clone();
            }
        }
        r
    }

    fn on_ack(&mut self, req: Request) {
        let Some(side) = self.side_of(&req) else { return };
        let seq = req.headers.cseq().map(|c| c.seq).ok();
        let pend = match side {
            Side::A => &mut self.a.pending_2xx,
            Side::B => match self.b.as_mut() {
                Some(b) => &mut b.pending_2xx,
                None => return,
            },
        };
        if pend.as_ref().map(|p| Some(p.cseq) == seq).unwrap_or(false) {
            *pend = None;
        }
    }

    fn bye_request(&mut self, side: Side) -> (Option<Request>, Option<Peer>) {
        let Some(dest) = self.dest(side) else { return (None, None) };
        let via = build::via(&self.ctx, &dest);
        let contact = build::contact(&self.ctx, &dest);
        let req = self.dialog_mut(side).map(|d| d.request(Method::Bye, &via, &contact, None));
        (req, Some(dest))
    }

    async fn bye(&mut self, side: Side) {
        if let (Some(req), Some(dest)) = self.bye_request(side) {
            let _ = self.ctx.endpoint.send_request(req, dest, self.tx.clone()).await;
        }
    }
}

/// `setup` returns before building forks for application targets.
fn unreachable_app() {
    tracing::error!("application target reached the fork builder");
}

fn fwd_peer_addr(call: &Call, side: Side) -> SocketAddr {
    call.dest(side).map(|p| p.addr).unwrap_or(call.a.peer.addr)
}

impl Pending2xx {
    fn new(resp: Response, cseq: u32) -> Self {
        let now = Instant::now();
        Pending2xx { resp, cseq, next: now + T1, interval: T1, give_up: now + T1 * 64 }
    }
}

/// The response the caller gets when every fork failed (RFC 3261 §16.7
/// step 6, simplified): busy beats unavailable beats not found; timeouts
/// read as no answer.
fn best_failure(statuses: &[u16]) -> (u16, &'static str) {
    let pick = |s: u16| statuses.contains(&s);
    if let Some(s) = statuses.iter().find(|s| (600..700).contains(*s)) {
        return (*s, "Busy Everywhere");
    }
    if pick(486) {
        return (486, "Busy Here");
    }
    if pick(487) {
        return (487, "Request Terminated");
    }
    if statuses.iter().all(|s| *s == 408 || *s == 480) {
        return (480, "Temporarily Unavailable");
    }
    if pick(404) {
        return (404, "Not Found");
    }
    if pick(603) {
        return (603, "Decline");
    }
    let s = statuses.iter().copied().filter(|s| *s >= 300).min().unwrap_or(500);
    match s {
        403 => (403, "Forbidden"),
        488 => (488, "Not Acceptable Here"),
        503 => (503, "Service Unavailable"),
        s if s < 500 => (480, "Temporarily Unavailable"),
        _ => (502, "Bad Gateway"),
    }
}

#[cfg(test)]
mod tests {
    use super::best_failure;

    #[test]
    fn failure_mapping() {
        assert_eq!(best_failure(&[486, 480]).0, 486);
        assert_eq!(best_failure(&[408, 480]).0, 480);
        assert_eq!(best_failure(&[404]).0, 404);
        assert_eq!(best_failure(&[600, 486]).0, 600);
        assert_eq!(best_failure(&[503]).0, 503);
    }
}

//! Outgoing calls placed by the appliance for a call it already answered
//! (a `dial` or `queue` step of a dialplan): forked INVITEs with our own
//! SDP offer toward extensions' contacts or a trunk, the first 2xx wins, the
//! others are CANCELled, late 2xx are ACKed and BYEd, a trunk's digest
//! challenge is answered once. Event-driven: the owning call task feeds it
//! the SIP events of its Call-ID. Knows nothing about media.

use std::net::SocketAddr;

use super::{build, Ctx};
use crate::config::DialClass;
use crate::sdp::SessionDescription;
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{EventSender, SipEvent};
use crate::sip::message::{HeaderName, Headers, Message, Method, Request, Response, Uri};
use crate::sip::resolve_host_port;
use crate::sip::transaction::{cancel_request, new_tag, Peer, TransactionKey};
use crate::store::{unix_time, Trunk};

/// One place to ring.
#[derive(Debug, Clone)]
pub struct DialTarget {
    pub uri: Uri,
    pub dest: Peer,
    pub number: String,
    pub trunk: Option<Trunk>,
}

/// Resolves a dialplan target: `number@trunk` out through that trunk, an
/// extension (every live contact), else a number out through the default
/// trunk. `Err` carries the SIP status that explains the failure (404
/// unknown, 480 not registered, 503 no trunk).
pub async fn resolve(ctx: &Ctx, target: &str) -> Result<Vec<DialTarget>, u16> {
    if let Some((number, trunk_name)) = target.rsplit_once('@') {
        let trunk = match ctx.store.trunk(trunk_name).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                tracing::warn!(trunk = trunk_name, "dial: no such trunk");
                return Err(404);
            }
            Err(_) => return Err(500),
        };
        return via_trunk(trunk, number);
    }
    if let Ok(Some(_)) = ctx.store.extension(target).await {
        let bindings = ctx.store.bindings(target, unix_time()).await.map_err(|_| 500u16)?;
        let targets: Vec<DialTarget> = bindings
            .into_iter()
            .filter_map(|b| {
                let uri = crate::sip::message::parse_uri(&b.contact).ok()?;
                let addr = b.source.parse::<SocketAddr>().ok()?;
                let dest = Peer::registered(&b.transport, addr);
                Some(DialTarget { uri, dest, number: target.to_string(), trunk: None })
            })
            .collect();
        return if targets.is_empty() { Err(480) } else { Ok(targets) };
    }
    let dialable = !target.is_empty() && target.bytes().all(|b| b.is_ascii_digit() || b == b'+' || b == b'*' || b == b'#');
    if !dialable {
        return Err(404);
    }
    match ctx.store.default_trunk().await {
        Ok(Some(t)) => via_trunk(t, target),
        Ok(None) => Err(404),
        Err(_) => Err(500),
    }
}

/// `resolve` for numbers a caller can choose (the dialplan's `dial`, web
/// callbacks): a number that leaves through a trunk must be allowed for
/// `class` by `[dialing]`, else 403 (the toll-fraud guard; emergency
/// numbers always pass). Our own extensions are never restricted.
pub async fn resolve_guarded(ctx: &Ctx, target: &str, class: DialClass) -> Result<Vec<DialTarget>, u16> {
    let targets = resolve(ctx, target).await?;
    for t in targets.iter().filter(|t| t.trunk.is_some()) {
        if let Err(need) = ctx.config.dialing.allows(class, &t.number) {
            tracing::warn!(number = %t.number, %class, %need, "dial refused: the class of service does not reach this number");
            return Err(403);
        }
    }
    Ok(targets)
}

fn via_trunk(trunk: Trunk, target: &str) -> Result<Vec<DialTarget>, u16> {
    let dialable = !target.is_empty() && target.bytes().all(|b| b.is_ascii_digit() || b == b'+' || b == b'*' || b == b'#');
    if !dialable {
        return Err(484);
    }
    let addr = resolve_host_port(&trunk.host).map_err(|_| 503u16)?;
    let uri = crate::sip::message::parse_uri(&format!("sip:{target}@{}", trunk.host)).map_err(|_| 484u16)?;
    let dest = if trunk.transport == "tcp" { Peer::tcp(addr, None) } else { Peer::udp(addr) };
    Ok(vec![DialTarget { uri, dest, number: target.to_string(), trunk: Some(trunk) }])
}

struct Fork {
    key: TransactionKey,
    invite: Request,
    target: DialTarget,
    done: bool,
    status: u16,
    auth_tried: bool,
}

/// What an event meant for the outgoing call.
#[derive(Debug)]
pub enum Progress {
    /// A 180/183 arrived (first one only).
    Ringing,
    /// The winning 2xx, already ACKed; the losers are being cancelled.
    Answered { dialog: Box<Dialog>, dest: Peer, answer: Box<SessionDescription> },
    /// Every fork failed; the best status to report.
    Failed(u16),
}

pub struct Originator {
    pub call_id: String,
    forks: Vec<Fork>,
    tx: EventSender,
    ringing: bool,
    winner: Option<(String, Request, Peer)>,
    /// Cancelled by the owner: any answer from now on is hung up.
    cancelled: bool,
}

impl Originator {
    /// Sends one INVITE per target, all with `offer` and the caller's
    /// identity (`caller` user, optional display name).
    pub async fn start(
        ctx: &Ctx,
        targets: Vec<DialTarget>,
        caller: (&str, Option<&str>),
        offer: &SessionDescription,
        tx: EventSender,
    ) -> Result<Originator, u16> {
        let call_id = format!("{}-o", new_tag());
        ctx.endpoint.bind_dialog(&call_id, tx.clone());
        let from_tag = new_tag();
        let mut o = Originator { call_id, forks: Vec::new(), tx, ringing: false, winner: None, cancelled: false };
        for t in targets {
            let req = o.invite(ctx, &t, caller, &from_tag, offer);
            match ctx.endpoint.send_request(req.clone(), t.dest.clone(), o.tx.clone()).await {
                Ok(key) => o.forks.push(Fork { key, invite: req, target: t, done: false, status: 0, auth_tried: false }),
                Err(e) => tracing::warn!("dial fork not sent: {e}"),
            }
        }
        if o.forks.is_empty() {
            ctx.endpoint.unbind_dialog(&o.call_id, &o.tx);
            return Err(503);
        }
        Ok(o)
    }

    fn invite(&self, ctx: &Ctx, t: &DialTarget, caller: (&str, Option<&str>), from_tag: &str, offer: &SessionDescription) -> Request {
        let host = match &t.trunk {
            Some(tr) => tr.host.split(':').next().unwrap_or(&tr.host).to_string(),
            None => build::host_for(ctx, &t.dest),
        };
        let display = caller.1.map(|d| format!("\"{}\" ", d.replace('"', ""))).unwrap_or_default();
        let user = if caller.0.is_empty() { "anonymous" } else { caller.0 };
        let mut h = Headers::default();
        h.push(HeaderName::Via, build::via(ctx, &t.dest));
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, format!("{display}<sip:{user}@{host}>;tag={from_tag}"));
        h.push(HeaderName::To, format!("<sip:{}@{host}>", t.number));
        h.push(HeaderName::CallId, self.call_id.clone());
        h.push(HeaderName::CSeq, "1 INVITE");
        h.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, &t.dest)));
        h.push(HeaderName::Allow, super::ALLOW);
        h.push(HeaderName::UserAgent, ctx.config.sip.user_agent.clone());
        h.push(HeaderName::ContentType, "application/sdp");
        Request { method: Method::Invite, uri: t.uri.clone(), headers: h, body: offer.to_bytes() }
    }

    /// True when the event belongs to this outgoing call.
    pub fn owns(&self, ev: &SipEvent) -> bool {
        match ev {
            SipEvent::Response { key, .. } | SipEvent::Timeout { key } | SipEvent::TransportError { key } => {
                self.forks.iter().any(|f| &f.key == key)
            }
            SipEvent::StrayResponse { response, .. } => response.call_id() == Some(self.call_id.as_str()),
            _ => false,
        }
    }

    pub async fn on_event(&mut self, ctx: &Ctx, ev: SipEvent) -> Option<Progress> {
        match ev {
            SipEvent::Response { key, response } => {
                let i = self.forks.iter().position(|f| f.key == key)?;
                self.on_response(ctx, i, response).await
            }
            SipEvent::Timeout { key } | SipEvent::TransportError { key } => {
                let f = self.forks.iter_mut().find(|f| f.key == key)?;
                if !f.done {
                    f.done = true;
                    f.status = 408;
                }
                self.all_failed()
            }
            SipEvent::StrayResponse { response, .. } => {
                self.on_late_2xx(ctx, response, None).await;
                None
            }
            _ => None,
        }
    }

    async fn on_response(&mut self, ctx: &Ctx, i: usize, resp: Response) -> Option<Progress> {
        let status = resp.status;
        if status < 200 {
            if status > 100 && !self.ringing && self.winner.is_none() {
                self.ringing = true;
                return Some(Progress::Ringing);
            }
            return None;
        }
        if (200..300).contains(&status) {
            if self.winner.is_some() || self.cancelled {
                self.on_late_2xx(ctx, resp, Some(i)).await;
                return None;
            }
            self.forks[i].done = true;
            let (invite, dest) = (self.forks[i].invite.clone(), self.forks[i].target.dest.clone());
            let mut dialog = match Dialog::uac(&invite, &resp) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!("unusable 2xx: {e}");
                    self.forks[i].status = 502;
                    return self.all_failed();
                }
            };
            let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
            let ack = dialog.request(Method::Ack, &build::via(ctx, &dest), &build::contact(ctx, &dest), Some(seq));
            ctx.endpoint.send_stateless(Message::Request(ack.clone()), dest.clone());
            self.winner = Some((dialog.remote_tag.clone(), ack, dest.clone()));
            self.cancel(ctx).await;
            return match crate::sdp::parse(&resp.body) {
                Ok(answer) => Some(Progress::Answered { dialog: Box::new(dialog), dest, answer: Box::new(answer) }),
                Err(e) => {
                    tracing::warn!("callee answered without usable SDP: {e}");
                    let bye = dialog.request(Method::Bye, &build::via(ctx, &dest), &build::contact(ctx, &dest), None);
                    let _ = ctx.endpoint.send_request(bye, dest, self.tx.clone()).await;
                    Some(Progress::Failed(502))
                }
            };
        }
        if matches!(status, 401 | 407) && !self.forks[i].auth_tried {
            if let Some(req) = self.authorized_retry(ctx, i, &resp) {
                let dest = self.forks[i].target.dest.clone();
                if let Ok(key) = ctx.endpoint.send_request(req.clone(), dest, self.tx.clone()).await {
                    let f = &mut self.forks[i];
                    f.key = key;
                    f.invite = req;
                    f.auth_tried = true;
                    return None;
                }
            }
        }
        let f = &mut self.forks[i];
        f.done = true;
        f.status = status;
        tracing::info!(status, number = %f.target.number, "dial fork failed");
        if (600..700).contains(&status) {
            self.cancel(ctx).await;
            return Some(Progress::Failed(status));
        }
        self.all_failed()
    }

    fn authorized_retry(&self, ctx: &Ctx, i: usize, resp: &Response) -> Option<Request> {
        let f = &self.forks[i];
        super::auth::invite_with_credentials(ctx, &f.invite, &f.target.dest, resp, f.target.trunk.as_ref()?)
    }

    fn all_failed(&self) -> Option<Progress> {
        if self.winner.is_some() || !self.forks.iter().all(|f| f.done) {
            return None;
        }
        let statuses: Vec<u16> = self.forks.iter().map(|f| f.status).collect();
        Some(Progress::Failed(super::b2bua_best_failure(&statuses)))
    }

    /// Cancels every fork still ringing (no answer, caller gone); an answer
    /// that crosses the CANCEL is acknowledged and hung up.
    pub async fn cancel(&mut self, ctx: &Ctx) {
        self.cancelled = true;
        for f in self.forks.iter_mut().filter(|f| !f.done) {
            if let Ok(cancel) = cancel_request(&f.invite) {
                let _ = ctx.endpoint.send_request(cancel, f.target.dest.clone(), self.tx.clone()).await;
            }
            f.done = true;
            f.status = 487;
        }
    }

    /// A 2xx after the decision: the winner's retransmission is re-ACKed,
    /// another fork's answer is ACKed and hung up.
    /// `fork`: the fork whose transaction got it, when known (else matched by CSeq).
    async fn on_late_2xx(&mut self, ctx: &Ctx, resp: Response, fork: Option<usize>) {
        if !(200..300).contains(&resp.status) || resp.call_id() != Some(self.call_id.as_str()) {
            return;
        }
        let tag = resp.headers.to_addr().ok().and_then(|t| t.tag().map(str::to_string)).unwrap_or_default();
        if let Some((winner, ack, dest)) = &self.winner {
            if *winner == tag {
                ctx.endpoint.send_stateless(Message::Request(ack.clone()), dest.clone());
                return;
            }
        }
        let seq = resp.headers.cseq().ok().map(|c| c.seq);
        let found = match fork {
            Some(i) => self.forks.get(i),
            None => self.forks.iter().find(|f| f.invite.headers.cseq().ok().map(|c| c.seq) == seq),
        };
        let Some(f) = found else { return };
        tracing::info!(number = %f.target.number, "answer after the decision: hanging it up");
        let (invite, dest) = (f.invite.clone(), f.target.dest.clone());
        let Ok(mut d) = Dialog::uac(&invite, &resp) else { return };
        let n = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = d.request(Method::Ack, &build::via(ctx, &dest), &build::contact(ctx, &dest), Some(n));
        ctx.endpoint.send_stateless(Message::Request(ack), dest.clone());
        let bye = d.request(Method::Bye, &build::via(ctx, &dest), &build::contact(ctx, &dest), None);
        let _ = ctx.endpoint.send_request(bye, dest, self.tx.clone()).await;
    }

    /// Stops listening for this call's events (after the call ends).
    pub fn release(&self, ctx: &Ctx) {
        ctx.endpoint.unbind_dialog(&self.call_id, &self.tx);
    }
}

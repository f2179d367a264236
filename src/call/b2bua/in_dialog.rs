//! The established call: in-dialog requests forwarded (or answered),
//! BYE, ACK, 2xx retransmission timers and the media-inactivity hangup.

use super::*;

impl Call {
    pub(super) fn on_relay(&mut self, ev: Option<RelayEvent>) -> Phase {
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

    pub(super) fn on_timer(&mut self, no_answer: Instant, drain_until: Option<Instant>) -> Phase {
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

    pub(super) fn side_of(&self, req: &Request) -> Option<Side> {
        let cid = req.call_id()?;
        if cid == self.b_call_id {
            Some(Side::B)
        } else if Some(cid) == self.a.invite.call_id() {
            Some(Side::A)
        } else {
            None
        }
    }

    pub(super) fn dialog_mut(&mut self, side: Side) -> Option<&mut Dialog> {
        match side {
            Side::A => self.a.dialog.as_mut(),
            Side::B => self.b.as_mut().map(|b| &mut b.dialog),
        }
    }

    pub(super) fn dest(&self, side: Side) -> Option<Peer> {
        match side {
            Side::A => Some(self.a.peer.clone()),
            Side::B => self.b.as_ref().map(|b| b.dest.clone()),
        }
    }

    pub(super) fn response_for(&self, req: &Request, _side: Side, status: u16, reason: &str) -> Response {
        let mut r = build::response(&self.ctx, req, status, reason);
        build::ensure_to_tag(&mut r);
        r
    }

    pub(super) async fn on_in_dialog(&mut self, key: TransactionKey, req: Request, _source: Peer) -> Phase {
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
    pub(super) async fn forward(&mut self, from: Side, server_key: TransactionKey, req: Request) {
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
                // A re-INVITE's or UPDATE's offer keeps only codecs the
                // callee's list allows; other requests' SDP passes as it is.
                let is_offer = matches!(req.method, Method::Invite | Method::Update);
                let allowed = if is_offer { &self.relay_allowed[..] } else { &[] };
                match anchor_offer(&req.body, our_ip, port, allowed) {
                    Ok(a) if !allowed.is_empty() && a.voice_codecs == Some(0) => {
                        // The session stays as it was (RFC 3261 §14.2).
                        tracing::info!(side = ?from, method = %req.method, "re-offer refused: no offered codec is allowed by the callee's codec list");
                        let mut r = self.response_for(&req, from, 488, "Not Acceptable Here - No offered codec is allowed");
                        r.headers.push(HeaderName::Extension("Warning".into()), "305 switchboard \"Incompatible media format\"");
                        self.ctx.endpoint.respond(&server_key, r);
                        return;
                    }
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

    pub(super) fn on_forward_response(&mut self, key: TransactionKey, fwd: Forward, resp: Response) -> Phase {
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
    pub(super) fn relay_response(&self, fwd: &Forward, resp: &Response) -> Response {
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
                let port = self.relay_port(fwd.from);
                // A 2xx to a re-INVITE without SDP carries the offer: held to
                // the callee's codec list like any offer. It cannot be
                // refused, so an offer with nothing allowed goes on as it is.
                let offer = resp.status < 300 && fwd.request.method == Method::Invite && fwd.request.body.is_empty();
                let allowed = if offer { &self.relay_allowed[..] } else { &[] };
                let anchored = match anchor_offer(&resp.body, ours, port, allowed) {
                    Ok(a) if !allowed.is_empty() && a.voice_codecs == Some(0) => {
                        tracing::warn!("the offer in a 2xx names no codec the callee's list allows: passed on unrestricted");
                        anchor(&resp.body, ours, port)
                    }
                    other => other,
                };
                if let Ok(a) = anchored {
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

    pub(super) fn on_ack(&mut self, req: Request) {
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

    pub(super) fn bye_request(&mut self, side: Side) -> (Option<Request>, Option<Peer>) {
        let Some(dest) = self.dest(side) else { return (None, None) };
        let via = build::via(&self.ctx, &dest);
        let contact = build::contact(&self.ctx, &dest);
        let req = self.dialog_mut(side).map(|d| d.request(Method::Bye, &via, &contact, None));
        (req, Some(dest))
    }

    pub(super) async fn bye(&mut self, side: Side) {
        if let (Some(req), Some(dest)) = self.bye_request(side) {
            let _ = self.ctx.endpoint.send_request(req, dest, self.tx.clone()).await;
        }
    }
}

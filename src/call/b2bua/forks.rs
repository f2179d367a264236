//! The ringing phase: responses from the forks, the winning answer, the
//! caller's provisional and final responses, CANCEL of the losers.

use super::*;

impl Call {
    pub(super) async fn on_event(&mut self, ev: SipEvent) -> Phase {
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
            SipEvent::Request { key, request, source } => self.on_in_dialog(key, *request, source).await,
            SipEvent::Ack { request, .. } => {
                self.on_ack(*request);
                Phase::Continue
            }
            SipEvent::StrayResponse { response, .. } => {
                self.on_late_2xx(response).await;
                Phase::Continue
            }
        }
    }

    pub(super) async fn on_fork_response(&mut self, i: usize, resp: Response) -> Phase {
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

    pub(super) fn authorized_retry(&self, i: usize, resp: &Response) -> Option<Request> {
        let f = &self.forks[i];
        crate::call::auth::invite_with_credentials(&self.ctx, &f.invite, &f.dest, resp, self.trunk.as_ref()?)
    }

    pub(super) fn maybe_all_failed(&mut self) -> Phase {
        if self.b.is_some() || self.a.final_sent || !self.forks.iter().all(|f| f.done) {
            return Phase::Continue;
        }
        let statuses: Vec<u16> = self.forks.iter().map(|f| f.status).collect();
        let (status, reason) = best_failure(&statuses);
        self.final_to_a(status, reason);
        Phase::Continue
    }

    pub(super) async fn on_answer(&mut self, i: usize, resp: Response) -> Phase {
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
    pub(super) async fn answer_caller(&mut self, ok: Response) {
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

    /// A 2xx after the call was decided: retransmission of the winner's
    /// (re-ACK), or another fork also answering (ACK and BYE it).
    pub(super) async fn on_late_2xx(&mut self, resp: Response) {
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

    pub(super) async fn cancel_forks(&mut self) {
        for f in self.forks.iter().filter(|f| !f.done) {
            if let Ok(cancel) = cancel_request(&f.invite) {
                let _ = self.ctx.endpoint.send_request(cancel, f.dest.clone(), self.tx.clone()).await;
            }
        }
    }

    pub(super) fn provisional_to_a(&mut self, resp: &Response) {
        // Through the media engine, media starts at the answer, so early
        // media cannot reach the caller: a 183 with SDP goes on as 180, and
        // the caller's phone plays its own ringback instead of silence.
        let mut p = if self.bridge_mode && resp.status == 183 && !resp.body.is_empty() {
            self.a_response(180, "Ringing")
        } else {
            self.a_response(resp.status, &resp.reason)
        };
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
    pub(super) fn a_response(&self, status: u16, reason: &str) -> Response {
        let mut r = build::response(&self.ctx, &self.a.invite, status, reason);
        build::tag_to(&mut r, &self.a.local_tag);
        if status < 300 {
            r.headers.push(HeaderName::Contact, format!("<{}>", build::contact(&self.ctx, &self.a.peer)));
            r.headers.push(HeaderName::Allow, crate::call::ALLOW);
        }
        if status == 503 {
            // Out of media ports or every fork unavailable: tell the caller
            // when to try again, as for an admission refusal.
            r.headers.push(crate::call::retry_after(), self.ctx.config.limits.retry_after_secs.to_string());
        }
        r
    }

    pub(super) fn final_to_a(&mut self, status: u16, reason: &str) {
        if self.a.final_sent || status == 0 {
            return;
        }
        self.a.final_sent = true;
        self.final_status = status;
        tracing::info!(status, reason, "call failed");
        let r = self.a_response(status, reason);
        self.ctx.endpoint.respond(&self.a.key, r);
    }
}

//! Calls bridged through the media engine (recording, transcoding, music
//! on hold) and commands from the core API.

use super::*;

impl Call {
    /// The callee answered our own offer: negotiate the caller's offer,
    /// start both terminated legs and the bridge between them.
    pub(super) async fn on_answer_bridged(&mut self, dialog: Dialog, dest: Peer, resp: Response) -> Phase {
        use crate::call::bridge::{BridgeLeg, MediaBridge, BRIDGE_RATE};
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
                opus_complexity: ctx.config.media.opus_complexity,
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
    pub(super) fn answer_locally(&mut self, from: Side, key: TransactionKey, req: Request) {
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
    pub(super) fn on_bridge_event(&mut self, ev: Option<(bool, crate::media::endpoint::EndpointEvent)>) -> Phase {
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
    pub(super) async fn on_command(&mut self, cmd: crate::call::CallCommand) -> Phase {
        let (action, reply) = match cmd {
            crate::call::CallCommand::Recording { action, reply } => (action, reply),
            crate::call::CallCommand::Conference { reply, .. } => {
                let _ = reply.send(Err("the call is not in a conference".to_string()));
                return Phase::Continue;
            }
            crate::call::CallCommand::Control { reply, .. } | crate::call::CallCommand::Supervise { reply, .. } => {
                let _ = reply.send(Err("call control applies to calls bridged by a dialplan".to_string()));
                return Phase::Continue;
            }
            crate::call::CallCommand::HandOver { replaces, by, reply } => return self.hand_over(&replaces, &by, reply).await,
        };
        let ctx = self.ctx.clone();
        let call_id = self.a.invite.call_id().unwrap_or_default().to_string();
        // A call can run through the engine only to transcode: recording
        // still follows the configured mode.
        let recording_off = ctx.config.recording.mode == crate::config::RecordingMode::Off;
        let result = match self.bridge.as_mut() {
            _ if recording_off => Err("recording is off ([recording] mode = \"off\")".to_string()),
            None => Err("the call is not answered yet".to_string()),
            Some(b) => match action {
                crate::call::RecordingAction::Start => b.start_recording(&ctx, &call_id).await,
                crate::call::RecordingAction::Stop => b.stop_recording(&ctx).await,
                crate::call::RecordingAction::Pause => b.pause_recording(true),
                crate::call::RecordingAction::Resume => b.pause_recording(false),
            },
        };
        let _ = reply.send(result);
        Phase::Continue
    }

    /// Another call got a REFER with Replaces naming our caller's dialog
    /// (the phone consulted through this call and now transfers): our
    /// callee's dialog goes to that call without a BYE (it re-INVITEs the
    /// callee with its own media) and our caller's leg is released.
    async fn hand_over(
        &mut self,
        r: &crate::sip::replaces::Replaces,
        by: &str,
        reply: tokio::sync::oneshot::Sender<Result<crate::call::HandedDialog, String>>,
    ) -> Phase {
        let ours = self.a.dialog.as_ref().is_some_and(|d| r.names(d));
        if !ours || r.early_only {
            let _ = reply.send(Err("the dialog is not this call's (or not confirmed)".to_string()));
            return Phase::Continue;
        }
        // Only the transferring phone's own call (RFC 3891 §6): our caller
        // (authenticated) must be the extension that sent the REFER.
        let caller = self.a.invite.headers.from_addr().ok().and_then(|f| f.uri.user().map(str::to_string));
        if caller.as_deref() != Some(by) || self.trunk_in.is_some() {
            let _ = reply.send(Err(format!("the call is not {by}'s")));
            return Phase::Continue;
        }
        let Some(b) = self.b.take() else {
            let _ = reply.send(Err("the call is not answered".to_string()));
            return Phase::Continue;
        };
        // What the callee last got from us: our own offer (media engine) or
        // the caller's, anchored (relay).
        let last_sdp = self.local_sdp[1].clone().or_else(|| self.forks.first().and_then(|f| crate::sdp::parse(&f.invite.body).ok()));
        let target = b.dialog.remote_uri.uri.user().unwrap_or_default().to_string();
        let handed = crate::call::HandedDialog { dialog: b.dialog, dest: b.dest, last_sdp, target };
        if let Err(Ok(h)) = reply.send(Ok(handed)) {
            // The asking call gave up waiting: the call goes on as it was.
            tracing::warn!("hand-over not taken: keeping the callee");
            self.b = Some(BLeg { dialog: h.dialog, dest: h.dest, pending_2xx: None });
            return Phase::Continue;
        }
        tracing::info!("callee handed over to another call (REFER with Replaces): releasing the caller");
        self.hangup_by = "transfer";
        self.bye(Side::A).await;
        Phase::End
    }
}

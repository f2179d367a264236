//! Routing a new call and sending the INVITEs toward the callee (or
//! handing the call to a local application).

use super::*;
use crate::call::sdp_anchor::allowed_voice_codecs;

impl Call {
    /// Routes the call: `Ok(Some(app))` when the appliance answers it
    /// itself, `Ok(None)` once the forks toward the callee are out.
    pub(super) async fn setup(&mut self) -> Result<Option<crate::call::apps::AppKind>, Refusal> {
        let ctx = self.ctx.clone();
        let invite = self.a.invite.clone();
        let dialed = invite.uri.user().unwrap_or_default().to_string();
        let trunk = route::trunk_of(&ctx, self.a.peer.addr, &invite).await;
        let caller = invite.headers.from_addr().ok().and_then(|f| f.uri.user().map(str::to_string)).unwrap_or_default();
        let routed = match &trunk {
            Some(t) => {
                tracing::info!(trunk = %t.name, dialed, "inbound call from trunk");
                route::from_trunk(&ctx, &t.name, &dialed).await
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
                route::from_extension(&ctx, &caller, &dialed).await
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
        self.trunk_in = trunk.as_ref().map(|t| t.name.clone());
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
        // An extension with no phone registered gets its 480 from
        // `send_forks`, not a codec verdict.
        let unreachable = matches!(&target, Target::Extension { bindings, .. } if bindings.is_empty());
        if !self.bridge_mode && !unreachable {
            self.relay_allowed = self.callee_codec_list();
            self.bridge_mode = self.needs_transcoding(&invite.body)?;
        }
        let a_pair = ctx.ports.allocate().await.map_err(|_| Refusal::new(503, "Service Unavailable - No media ports"))?;
        let b_pair = ctx.ports.allocate().await.map_err(|_| Refusal::new(503, "Service Unavailable - No media ports"))?;
        if self.bridge_mode {
            self.bridge_pairs = Some((a_pair, b_pair));
            return self.send_forks(target).await;
        }
        let cfg = RelayConfig { inactivity: ctx.config.rtp.inactivity_timeout(), ..RelayConfig::default() };
        let (relay, events) = RelaySession::start_sharded(a_pair, b_pair, cfg, crate::media::shard::MediaShards::global());
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

    /// Whether the relay cannot carry this call because no codec the caller
    /// offers is allowed toward the callee (`relay_allowed`), so the media
    /// engine must transcode. A 488 when the caller's own side allows none
    /// of its offer either: the engine could not answer the caller.
    fn needs_transcoding(&self, offer: &[u8]) -> Result<bool, Refusal> {
        if self.relay_allowed.is_empty() {
            return Ok(false);
        }
        let desc = crate::sdp::parse(offer).map_err(|e| Refusal::new(488, format!("Not Acceptable Here - {e}")))?;
        let Some(audio) = desc.media.iter().find(|m| m.media == "audio" && m.port != 0) else {
            return Ok(false);
        };
        if !allowed_voice_codecs(audio, &self.relay_allowed).is_empty() {
            return Ok(false);
        }
        let names = |codecs: Vec<crate::sdp::negotiate::CodecSpec>| codecs.into_iter().map(|c| c.name).collect::<Vec<_>>().join(",");
        let offered = names(allowed_voice_codecs(audio, &[]));
        let caller_codecs = self.codecs[0].as_deref().unwrap_or("[media] codecs");
        let callee_codecs = self.codecs[1].as_deref().unwrap_or("any");
        if allowed_voice_codecs(audio, &[self.prefs(Side::A)]).is_empty() {
            tracing::info!(offered, caller_codecs, "refused: no offered codec is allowed on the caller's side");
            return Err(Refusal::new(488, "Not Acceptable Here - No offered codec is allowed"));
        }
        tracing::info!(offered, caller_codecs, callee_codecs, "no offered codec is allowed toward the callee: transcoding");
        Ok(true)
    }

    /// The `codecs` list set on the callee's extension or trunk, if any.
    /// Only the callee's: a caller's list says what its phone should use,
    /// and holding the callee to it would fail calls the callee could take
    /// (a phone listing "G722" calling a PCMA-only carrier); it applies
    /// where the media engine answers the caller. A stored list that no
    /// longer parses (e.g. it names a codec since dropped) is logged and
    /// ignored, as `prefs_or_default` ignores it for the engine's legs.
    fn callee_codec_list(&self) -> Vec<crate::sdp::negotiate::CodecPrefs> {
        self.codecs[1]
            .iter()
            .filter_map(|list| match list.parse() {
                Ok(prefs) => Some(prefs),
                Err(e) => {
                    tracing::warn!(list, "codec list not understood, ignored: {e}");
                    None
                }
            })
            .collect()
    }

    /// Builds and sends the INVITE toward every target.
    pub(super) async fn send_forks(&mut self, target: Target) -> Result<Option<crate::call::apps::AppKind>, Refusal> {
        let ctx = self.ctx.clone();
        // Targets: every live contact of an extension, or the trunk.
        let mut targets: Vec<(Uri, Peer, String)> = Vec::new();
        match target {
            Target::Extension { number, bindings } => {
                for b in bindings {
                    let Ok(uri) = crate::sip::message::parse_uri(&b.contact) else { continue };
                    let Ok(addr) = b.source.parse::<SocketAddr>() else { continue };
                    let peer = Peer::registered(&b.transport, addr);
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
    pub(super) async fn serve_locally(&mut self, kind: crate::call::apps::AppKind) {
        let ctx = self.ctx.clone();
        let caller = crate::call::uas::Caller {
            key: &self.a.key,
            invite: &self.a.invite,
            peer: &self.a.peer,
            local_tag: &self.a.local_tag,
            our_ip: self.our_ip_toward(self.a.peer.addr),
            tx: self.tx.clone(),
            record: self.record,
            prefs: self.prefs(Side::A),
        };
        let outcome = if kind == crate::call::apps::AppKind::Dialplan {
            let invite = &self.a.invite;
            let info = crate::dialplan::CallInfo {
                did: invite.uri.user().unwrap_or_default().to_string(),
                caller: invite.headers.from_addr().ok().and_then(|f| f.uri.user().map(str::to_string)).unwrap_or_default(),
                trunk: self.trunk_in.clone().unwrap_or_default(),
                now: ctx.config.dialplan.now(),
            };
            let mut session = crate::dialplan::Session::start(ctx.dialplan.get(), info);
            let name = invite.headers.from_addr().ok().and_then(|f| f.display_name).unwrap_or_default();
            session.set_var("caller_name", &name);
            let r = crate::call::ivr::serve(&ctx, caller, &mut self.rx, &mut self.control, session).await;
            if let Some(id) = self.record {
                if let Err(e) = ctx.store.set_call_path(id, &r.path.join(" > ")).await {
                    tracing::warn!("call path not saved: {e}");
                }
            }
            r.outcome
        } else {
            crate::call::uas::serve(&ctx, caller, &mut self.rx, &mut self.control, kind).await
        };
        self.a.final_sent = true;
        self.final_status = outcome.status;
        self.hangup_by = outcome.hangup_by;
        self.local_quality = outcome.quality;
    }

    /// Codec preferences of one side: its extension's or trunk's list, else the default.
    pub(super) fn prefs(&self, side: Side) -> crate::sdp::negotiate::CodecPrefs {
        let own = match side {
            Side::A => self.codecs[0].as_deref(),
            Side::B => self.codecs[1].as_deref(),
        };
        self.ctx.config.media.prefs_or_default(own)
    }

    pub(super) fn our_ip_toward(&self, peer: SocketAddr) -> IpAddr {
        self.ctx.config.rtp.advertise.unwrap_or_else(|| build::local_for(&self.ctx, peer).ip())
    }

    pub(super) fn relay_port(&self, side: Side) -> u16 {
        self.relay.as_ref().map(|r| r.local_rtp(side.leg()).port()).unwrap_or(0)
    }

    /// The INVITE toward one B target, carrying the caller's offer anchored
    /// on our B-side port.
    pub(super) fn b_invite(&mut self, uri: Uri, dest: &Peer, number: &str) -> Result<Request, Refusal> {
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
            anchor_offer(&a.body, self.our_ip_toward(dest.addr), self.relay_port(Side::B), &self.relay_allowed)
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
        h.push(HeaderName::Allow, crate::call::ALLOW);
        h.push(HeaderName::UserAgent, self.ctx.config.sip.user_agent.clone());
        h.push(HeaderName::ContentType, SDP);
        Ok(Request { method: Method::Invite, uri, headers: h, body: offer_body })
    }

    /// One From tag for all forks: together they are one forked request.
    pub(super) fn b_from_tag(&self) -> String {
        format!("sb{}", &self.b_call_id[..self.b_call_id.len().min(8)])
    }

    // ----- events ----------------------------------------------------------
}

//! The driver's loop: one wait primitive over every input of the call (SIP
//! of both legs, API commands, digits, media timeouts, timers), the media
//! operations built on it, and the interpreter's actions mapped onto them.

use std::time::Duration;

use tokio::time::Instant;

use super::port::{beep, silence, Feed, IVR_RATE};
use super::queue::QueueExit;
use super::Driver;
use crate::call::acd::JoinRequest;
use crate::call::local_leg::{route_event, LegSignal, LocalLeg};
use crate::call::originate::{self, Originator, Progress};
use crate::dialplan::ops::{Media, Op, OpResult};
use crate::dialplan::{Action, DialOutcome, Event, LookupBy, Ringback, Session};
use crate::media::endpoint::EndpointEvent;
use crate::media::moh::StartAt;
use crate::media::tone::{Country, ToneGenerator, ToneKind};
use crate::sip::endpoint::SipEvent;

/// How a bridged call ended.
pub(super) enum BridgeEnd {
    /// Someone hung up.
    Done,
    /// The caller goes on to this target (the callee is released).
    Transfer(String),
}

/// What woke the driver.
pub(super) enum Wake {
    Digit(char),
    Deadline,
    /// The caller is gone.
    Hangup,
    /// Progress of the outgoing call with this tag.
    Dial(u64, Progress),
    /// Transfer the caller to this target (API or the callee's REFER).
    Transfer(String),
    /// A directive from the ACD (queued callers).
    Queue(crate::call::acd::CallerDirective),
    /// The bridged callee hung up.
    CalleeHangup,
    /// The callee's phone transfers the caller to the far end of another
    /// of its calls (REFER with Replaces).
    ReferReplaces(crate::sip::replaces::Replaces),
    /// The second party (consulted, added) hung up or went silent.
    SecondHangup,
    /// The second party did not answer in time.
    SecondTimeout,
    /// A fax machine's calling tone on the caller's audio.
    FaxTone,
    /// Something irrelevant to the current operation.
    Nothing,
}

impl Driver<'_> {
    /// Runs the session to its end.
    pub(super) async fn run(&mut self, session: &mut Session) {
        let fax = &self.ctx.config.fax;
        if fax.detect && session.has_context(&fax.detect_context) {
            let heard = std::sync::Arc::new(tokio::sync::Notify::new());
            if let Some(l) = super::port::FaxListen::new(heard.clone()) {
                if let Ok(mut s) = self.shared.lock() {
                    s.fax_listen = Some(l);
                }
                self.fax_tone = Some(heard);
            }
        }
        loop {
            if self.caller_gone {
                return;
            }
            let action = session.poll();
            tracing::debug!(?action, "dialplan action");
            match action {
                Action::Answer => {
                    if !self.ensure_answered().await {
                        return;
                    }
                }
                Action::Play(names) => {
                    let media = names.into_iter().map(Media::Prompt).collect();
                    match self.op(Op::Play(media)).await {
                        OpResult::Hangup => return,
                        OpResult::FaxTone if self.to_fax_context(session) => {}
                        _ => session.input(Event::PlayDone),
                    }
                }
                Action::Collect { prompts, min, max, terminator, first_timeout_ms, inter_timeout_ms } => {
                    let prompts = prompts.into_iter().map(Media::Prompt).collect();
                    let op = Op::Collect { prompts, min, max, terminator, first_timeout_ms, inter_timeout_ms };
                    match self.op(op).await {
                        OpResult::Digits(d) => session.input(Event::Digits(d)),
                        OpResult::Hangup => return,
                        OpResult::FaxTone if self.to_fax_context(session) => {}
                        _ => session.input(Event::Timeout),
                    }
                }
                Action::Dial { targets, timeout_s, ringback } => {
                    self.stop_fax_listen();
                    let music = match ringback {
                        Ringback::Tone => None,
                        Ringback::Music(class) => Some(class.unwrap_or_else(|| self.ctx.config.media.moh_class.clone())),
                    };
                    let id = self.caller_id(session);
                    let r = Box::pin(self.dial(&targets, Duration::from_secs(timeout_s), music, id)).await;
                    session.input(Event::DialResult(r));
                }
                Action::Queue { name, members, priority, skills } => {
                    self.stop_fax_listen();
                    let mut queue = name;
                    // Overflow to another queue follows at most a few hops.
                    let mut settled = false;
                    for _ in 0..4 {
                        let req = JoinRequest {
                            caller: self.caller.invite.call_id().unwrap_or_default().to_string(),
                            queue: queue.clone(),
                            priority,
                            skills: skills.clone(),
                            number: self.caller_number(),
                            name: session.vars().get("caller_name").cloned().unwrap_or_default(),
                            did: session.vars().get("did").cloned().unwrap_or_default(),
                            ivr_path: session.path().join(" > "),
                            customer: None,
                            chat: false,
                        };
                        match Box::pin(self.wait_in_queue(req)).await {
                            QueueExit::Left { reason, .. } if reason == "unknown queue" && !members.is_empty() => {
                                tracing::info!(queue = %queue, "no ACD queue of that name: ringing its members");
                                let class = self.ctx.config.media.moh_class.clone();
                                let id = self.caller_id(session);
                                let r = Box::pin(self.dial(&members, Duration::from_secs(self.ctx.config.sip.no_answer_timeout_secs), Some(class), id)).await;
                                session.input(Event::DialResult(r));
                            }
                            QueueExit::Left { destination: Some(d), reason } => {
                                session.set_var("queue_result", &reason);
                                match d.split_once(':') {
                                    Some(("queue", q)) => {
                                        queue = q.to_string();
                                        continue;
                                    }
                                    Some(("voicemail", b)) => {
                                        Box::pin(self.voicemail(b)).await;
                                        return;
                                    }
                                    Some(("context", c)) if session.divert(c) => {}
                                    _ => {
                                        tracing::warn!(destination = %d, "unusable overflow destination");
                                        session.input(Event::DialResult(DialOutcome::NoAnswer));
                                    }
                                }
                            }
                            exit => {
                                if let QueueExit::Left { reason, .. } = &exit {
                                    session.set_var("queue_result", reason);
                                }
                                if matches!(exit, QueueExit::Gone) {
                                    return;
                                }
                                session.input(Event::DialResult(Self::queue_outcome(&exit)));
                            }
                        }
                        settled = true;
                        break;
                    }
                    if !settled && !self.caller_gone {
                        tracing::warn!("queue overflow chain too long (a loop?): continuing the dialplan");
                        session.set_var("queue_result", "overflow loop");
                        session.input(Event::DialResult(DialOutcome::NoAnswer));
                    }
                }
                Action::Supervise { mode, agent } => {
                    Box::pin(self.supervise(mode, &agent)).await;
                    return;
                }
                Action::Agent { op, reason } => {
                    let ext = self.caller_number();
                    let r = match self.ctx.acd.as_ref() {
                        Some(acd) => acd.agent(&ext, op, reason).await.map(|agent| tracing::info!(%agent, ?op, "agent operation")),
                        None => Err("the ACD is not running".to_string()),
                    };
                    if let Err(e) = &r {
                        tracing::info!(extension = %ext, ?op, "agent operation refused: {e}");
                    }
                    session.input(Event::Agent(r));
                }
                Action::Voicemail { mailbox } => {
                    Box::pin(self.voicemail(&mailbox)).await;
                    return;
                }
                Action::VoicemailMain { mailbox } => {
                    Box::pin(self.voicemail_main(mailbox)).await;
                    return;
                }
                Action::Lookup { by, value } => {
                    let found = match by {
                        LookupBy::Caller => self.ctx.store.customer_by_phone(&value).await,
                        LookupBy::Account => self.ctx.store.customer_by_account(&value).await,
                    };
                    let found = match found {
                        Ok(c) => c.map(|c| c.vars()),
                        Err(e) => {
                            tracing::warn!("customer lookup failed: {e}");
                            None
                        }
                    };
                    tracing::info!(?by, %value, found = found.is_some(), "customer lookup");
                    session.input(Event::Lookup(found));
                }
                Action::Http(req) => {
                    // The caller hears silence meanwhile; the request has its own timeout.
                    let r = Box::pin(crate::dialplan::webhook::call(&req)).await;
                    match &r {
                        Ok(v) => tracing::info!(url = %req.url, fields = v.len(), "webhook answered"),
                        Err(e) => tracing::warn!(url = %req.url, "webhook failed: {e}"),
                    }
                    session.input(Event::Http(r));
                }
                Action::Record { max_ms, silence_ms, beep, terminators } => {
                    let call_id = self.caller.invite.call_id().unwrap_or_default().replace(['/', '\\'], "_");
                    let path = self.ctx.data_dir.join("recordings").join("ivr").join(format!("{call_id}-{}.wav", crate::store::unix_ms()));
                    let duration_ms = match self.op(Op::Record { path: path.clone(), max_ms, silence_ms, beep, terminators }).await {
                        OpResult::Recorded { duration_ms, .. } => duration_ms,
                        _ => 0,
                    };
                    if duration_ms > 0 {
                        self.index_recording(&path, duration_ms).await;
                    }
                    if self.caller_gone && duration_ms == 0 {
                        return;
                    }
                    session.input(Event::Recorded { path: path.display().to_string(), duration_ms });
                }
                Action::Conference { room } => {
                    self.stop_fax_listen();
                    Box::pin(self.conference(&room)).await;
                    return;
                }
                Action::FaxReceive { email, ident } => {
                    self.stop_fax_listen();
                    let r = Box::pin(self.fax_receive(email, ident)).await;
                    if self.caller_gone {
                        return;
                    }
                    session.input(Event::Fax(r));
                }
                Action::FaxSend { document, to, ident, header } => {
                    self.stop_fax_listen();
                    let r = Box::pin(self.fax_send(document, to, ident, header)).await;
                    if self.caller_gone {
                        return;
                    }
                    session.input(Event::Fax(r));
                }
                Action::Hangup(cause) => {
                    self.hangup(cause).await;
                    return;
                }
                Action::Done => {
                    self.hangup(16).await;
                    return;
                }
            }
        }
    }

    /// Waits for the next relevant input, or `deadline`.
    pub(super) async fn wait(&mut self, deadline: Option<Instant>) -> Wake {
        let far = Instant::now() + Duration::from_secs(3600);
        let a_wake = self.a.as_ref().and_then(|a| a.next_wake());
        let b_wake = self.b.as_ref().and_then(|b| b.next_wake());
        let c_wake = self.c.as_ref().and_then(|c| c.next_wake());
        let wake = [deadline, a_wake, b_wake, c_wake, self.second_deadline()].into_iter().flatten().min().unwrap_or(far);
        let a_media = async {
            match self.a.as_mut() {
                Some(a) => a.next_media().await,
                None => std::future::pending().await,
            }
        };
        let b_media = async {
            match self.b.as_mut() {
                Some(b) => b.next_media().await,
                None => std::future::pending().await,
            }
        };
        let c_media = async {
            match self.c.as_mut() {
                Some(c) => c.next_media().await,
                None => std::future::pending().await,
            }
        };
        #[allow(clippy::large_enum_variant)] // lives for one select, on the stack
        enum Got {
            Sip(Option<SipEvent>),
            Cmd(crate::call::CallCommand),
            AMedia(Option<EndpointEvent>),
            BMedia(Option<EndpointEvent>),
            CMedia(Option<EndpointEvent>),
            Queue(Option<crate::call::acd::CallerDirective>),
            FaxTone,
            Timer,
        }
        let queue = async {
            match self.queue_rx.as_mut() {
                Some(q) => q.recv().await,
                None => std::future::pending().await,
            }
        };
        let fax_tone = self.fax_tone.clone();
        let fax_heard = async {
            match fax_tone {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        let got = tokio::select! {
            ev = self.rx.recv() => Got::Sip(ev),
            _ = fax_heard => Got::FaxTone,
            Some(cmd) = self.control.recv() => Got::Cmd(cmd),
            ev = a_media => Got::AMedia(ev),
            ev = b_media => Got::BMedia(ev),
            ev = c_media => Got::CMedia(ev),
            d = queue => Got::Queue(d),
            _ = tokio::time::sleep_until(wake) => Got::Timer,
        };
        match got {
            Got::Sip(None) => {
                self.caller_gone = true;
                Wake::Hangup
            }
            // Boxed, like the rarer operations in `run`: handlers for transfers
            // and the like are large futures, and inline they would size every
            // IVR call for its whole life.
            Got::Sip(Some(ev)) => Box::pin(self.on_sip(ev)).await,
            Got::Cmd(cmd) => Box::pin(self.on_command(cmd)).await,
            Got::AMedia(Some(EndpointEvent::Dtmf(d))) => {
                // Fax machines press no keys: someone who does is a person
                // (perhaps about to press a machine's start button for
                // fax-on-demand, whose CNG must not divert the call).
                if self.fax_tone.is_some() {
                    self.stop_fax_listen();
                }
                let digit = d.digit.to_char();
                tracing::info!(%digit, source = ?d.source, "dtmf");
                Wake::Digit(digit)
            }
            Got::AMedia(_) => {
                tracing::warn!("no RTP from the caller: hanging up");
                self.hangup(41).await;
                Wake::Hangup
            }
            Got::BMedia(Some(EndpointEvent::Dtmf(d))) => {
                // The callee's digits go to whoever they talk to, as RFC 4733.
                let consulting = self.shared.lock().map(|s| matches!(s.side, super::port::Side::Consult)).unwrap_or(false);
                if let Some(to) = if consulting { self.c.as_ref() } else { self.a.as_ref() } {
                    to.media.send_dtmf(d.digit);
                }
                Wake::Nothing
            }
            Got::BMedia(_) => {
                tracing::warn!("no RTP from the callee: hanging up");
                Wake::CalleeHangup
            }
            Got::CMedia(Some(EndpointEvent::Dtmf(_))) => Wake::Nothing,
            Got::CMedia(_) => {
                tracing::warn!("no RTP from the second party: hanging it up");
                Wake::SecondHangup
            }
            Got::Queue(Some(d)) => Wake::Queue(d),
            Got::FaxTone => Wake::FaxTone,
            Got::Queue(None) => {
                // The ACD went away: the caller is no longer queued.
                self.queue_rx = None;
                Wake::Queue(crate::call::acd::CallerDirective::Gone)
            }
            Got::Timer => {
                if let Some(a) = self.a.as_mut() {
                    if let Some(LegSignal::Unacked) = a.on_timer(&self.ctx).await {
                        self.caller_gone = true;
                        return Wake::Hangup;
                    }
                }
                if let Some(b) = self.b.as_mut() {
                    if let Some(LegSignal::Unacked) = b.on_timer(&self.ctx).await {
                        return Wake::CalleeHangup;
                    }
                }
                if let Some(c) = self.c.as_mut() {
                    if let Some(LegSignal::Unacked) = c.on_timer(&self.ctx).await {
                        return Wake::SecondHangup;
                    }
                }
                if self.second_deadline().is_some_and(|d| Instant::now() >= d) {
                    return Wake::SecondTimeout;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    Wake::Deadline
                } else {
                    Wake::Nothing
                }
            }
        }
    }

    async fn on_sip(&mut self, ev: SipEvent) -> Wake {
        let ctx = self.ctx.clone();
        if let Some((tag, o)) = self.originators.iter_mut().find(|(_, o)| o.owns(&ev)) {
            let tag = *tag;
            return match o.on_event(&ctx, ev).await {
                Some(p) => Wake::Dial(tag, p),
                None => Wake::Nothing,
            };
        }
        let ev = match self.on_adopted_sip(ev).await {
            Ok(()) => return Wake::Nothing,
            Err(ev) => ev,
        };
        // CANCEL of the caller's INVITE before we answered.
        if let SipEvent::Cancel { invite_key, .. } = &ev {
            if invite_key == self.caller.key && self.a.is_none() {
                tracing::info!("caller cancelled");
                let mut r = crate::call::build::response(&ctx, self.caller.invite, 487, "Request Terminated");
                crate::call::build::tag_to(&mut r, self.caller.local_tag);
                ctx.endpoint.respond(self.caller.key, r);
                self.final_status = 487;
                self.hangup_by = "caller";
                self.caller_gone = true;
                return Wake::Hangup;
            }
        }
        let ev = match self.b.as_mut() {
            Some(b) => match route_event(&ctx, b, ev) {
                Ok(Some(LegSignal::Hangup)) | Ok(Some(LegSignal::Unacked)) => {
                    tracing::info!("hangup side=B");
                    return Wake::CalleeHangup;
                }
                Ok(Some(LegSignal::Refer { target, replaces })) => {
                    // Only our own phones may send callers elsewhere: a party
                    // reached through a trunk must not make us dial out.
                    if !self.b_local {
                        tracing::warn!(%target, "REFER from an outside party refused");
                        if let Some(b) = self.b.as_mut() {
                            b.notify_refer(&ctx, 603, "Declined").await;
                        }
                        return Wake::Nothing;
                    }
                    if let Some(r) = replaces {
                        tracing::info!(call_id = %r.call_id, "the callee transfers the caller to another of its calls (REFER with Replaces)");
                        return Wake::ReferReplaces(r);
                    }
                    if self.has_second() {
                        tracing::info!(%target, "REFER while a second party is on the line: declined");
                        if let Some(b) = self.b.as_mut() {
                            b.notify_refer(&ctx, 491, "Request Pending").await;
                        }
                        return Wake::Nothing;
                    }
                    tracing::info!(%target, "the callee transfers the caller (REFER)");
                    if let Some(b) = self.b.as_mut() {
                        b.notify_refer(&ctx, 200, "OK").await;
                    }
                    return Wake::Transfer(target);
                }
                Ok(Some(LegSignal::Hold(held))) => {
                    tracing::info!(held, "callee hold state");
                    if let Ok(mut s) = self.shared.lock() {
                        // A consultation or conference routes the caller's
                        // audio: the phone's hold changes nothing then.
                        if !matches!(s.side, super::port::Side::None) {
                            return Wake::Nothing;
                        }
                        s.feed = if held {
                            Feed::Music(ctx.moh.listener(&ctx.config.media.moh_class, IVR_RATE, StartAt::Global))
                        } else {
                            Feed::Bridge
                        };
                    }
                    return Wake::Nothing;
                }
                Ok(_) => return Wake::Nothing,
                Err(ev) => ev,
            },
            None => ev,
        };
        let ev = match self.c.as_mut() {
            Some(c) => match route_event(&ctx, c, ev) {
                Ok(Some(LegSignal::Hangup | LegSignal::Unacked)) => return Wake::SecondHangup,
                Ok(Some(LegSignal::Refer { target, .. })) => {
                    // The second party does not transfer anybody; the 202 went out.
                    tracing::info!(%target, "REFER from the second party declined");
                    c.notify_refer(&ctx, 603, "Declined").await;
                    return Wake::Nothing;
                }
                Ok(_) => return Wake::Nothing,
                Err(ev) => ev,
            },
            None => ev,
        };
        let ev = match self.a.as_mut() {
            Some(a) => match route_event(&ctx, a, ev) {
                Ok(Some(LegSignal::Refer { target, .. })) => {
                    // Callers do not transfer; the 202 went out, so say no (RFC 3515).
                    tracing::info!(%target, "REFER from the caller declined");
                    a.notify_refer(&ctx, 603, "Declined").await;
                    return Wake::Nothing;
                }
                Ok(s) => {
                    self.on_a_signal(s);
                    return if self.caller_gone { Wake::Hangup } else { Wake::Nothing };
                }
                Err(ev) => ev,
            },
            None => ev,
        };
        match ev {
            // BYE (or anything) for the caller's dialog before we answered.
            SipEvent::Request { key, request, .. } => {
                let mut r = crate::call::build::response(&ctx, &request, 481, "Call/Transaction Does Not Exist");
                crate::call::build::ensure_to_tag(&mut r);
                ctx.endpoint.respond(&key, r);
                Wake::Nothing
            }
            // Responses to our BYEs and other finished transactions.
            _ => Wake::Nothing,
        }
    }

    pub(super) fn enqueue(&self, media: &[Media]) {
        let mut files = Vec::new();
        for m in media {
            if let Media::File(p) = m {
                files.push((p.clone(), crate::media::decode::decode_file(p, IVR_RATE)));
            }
        }
        let Ok(mut s) = self.shared.lock() else { return };
        s.feed = Feed::Prompts;
        let mut files = files.into_iter();
        for m in media {
            match m {
                Media::Prompt(name) => {
                    let pcm = self.ctx.prompts.get(name, IVR_RATE);
                    if pcm.is_empty() {
                        tracing::warn!(prompt = %name, "prompt missing: playing nothing");
                    }
                    s.player.enqueue(pcm);
                }
                Media::File(_) => match files.next() {
                    Some((_, Ok(pcm))) => s.player.enqueue(pcm.into()),
                    Some((p, Err(e))) => tracing::warn!(file = %p.display(), "cannot play: {e}"),
                    None => {}
                },
                Media::Beep => s.player.enqueue(beep()),
                Media::Silence { ms } => s.player.enqueue(silence(*ms)),
            }
        }
    }

    fn stop_playing(&self) {
        if let Ok(mut s) = self.shared.lock() {
            s.player.clear();
        }
    }

    /// When what is queued will have been played.
    pub(super) fn play_end(&self) -> Instant {
        let left = self.shared.lock().map(|s| s.player.remaining_samples()).unwrap_or(0);
        Instant::now() + Duration::from_millis((left as u64 * 1000) / IVR_RATE as u64 + 20)
    }

    pub(super) fn playing(&self) -> bool {
        self.shared.lock().map(|s| !s.player.is_done()).unwrap_or(false)
    }

    /// Performs one media operation on the caller's leg (answering first).
    pub(crate) async fn op(&mut self, op: Op) -> OpResult {
        if self.caller_gone || !self.ensure_answered().await {
            return OpResult::Hangup;
        }
        match op {
            Op::Play(media) => self.play(&media).await,
            Op::Collect { prompts, min, max, terminator, first_timeout_ms, inter_timeout_ms } => {
                // Type-ahead feeds this collect up to what it takes (its max,
                // or through its terminator); the rest waits for the next one.
                let mut got = String::new();
                while let Some(c) = self.typeahead.chars().next() {
                    let digits = got.chars().filter(|d| Some(*d) != terminator).count();
                    if terminator.is_some_and(|t| got.contains(t)) || digits >= max.max(1) as usize {
                        break;
                    }
                    got.push(c);
                    self.typeahead.remove(0);
                }
                let done = |got: &str| {
                    terminator.is_some_and(|t| got.contains(t)) || got.chars().filter(|c| Some(*c) != terminator).count() >= max.max(1) as usize
                };
                if got.is_empty() {
                    self.enqueue(&prompts);
                }
                let mut deadline: Option<Instant> = None;
                loop {
                    if done(&got) {
                        self.stop_playing();
                        return OpResult::Digits(got);
                    }
                    if deadline.is_none() && !self.playing() {
                        let ms = if got.is_empty() { first_timeout_ms } else { inter_timeout_ms };
                        deadline = Some(Instant::now() + Duration::from_millis(ms));
                    }
                    let until = deadline.unwrap_or_else(|| self.play_end());
                    match self.wait(Some(until)).await {
                        Wake::Hangup => return OpResult::Hangup,
                        Wake::FaxTone => {
                            self.stop_playing();
                            return OpResult::FaxTone;
                        }
                        Wake::Digit(d) => {
                            self.stop_playing();
                            got.push(d);
                            deadline = Some(Instant::now() + Duration::from_millis(inter_timeout_ms));
                        }
                        Wake::Deadline if deadline.is_some_and(|d| Instant::now() >= d) => {
                            let _ = min;
                            return if got.is_empty() { OpResult::Timeout } else { OpResult::Digits(got) };
                        }
                        _ => {}
                    }
                }
            }
            Op::Record { path, max_ms, silence_ms, beep, terminators } => self.record(path, max_ms, silence_ms, beep, &terminators).await,
        }
    }

    /// The caller is a fax machine: the plan's fax context takes over.
    /// False (the step ends as if nothing happened) when the plan cannot
    /// jump there.
    fn to_fax_context(&mut self, session: &mut Session) -> bool {
        self.stop_fax_listen();
        let context = self.ctx.config.fax.detect_context.clone();
        let jumped = session.jump(&context);
        if jumped {
            tracing::info!(%context, "fax calling tone heard: the fax context takes the call");
        }
        jumped
    }

    /// Stops listening for CNG (the call goes to people, or to fax).
    pub(super) fn stop_fax_listen(&mut self) {
        self.fax_tone = None;
        if let Ok(mut s) = self.shared.lock() {
            s.fax_listen = None;
        }
    }

    /// Plays to the end; digits typed meanwhile are kept for the next collect.
    pub(super) async fn play(&mut self, media: &[Media]) -> OpResult {
        if self.caller_gone {
            return OpResult::Hangup;
        }
        self.enqueue(media);
        loop {
            if !self.playing() {
                return OpResult::PlayDone;
            }
            let end = self.play_end();
            match self.wait(Some(end)).await {
                Wake::Hangup => return OpResult::Hangup,
                Wake::FaxTone => {
                    self.stop_playing();
                    return OpResult::FaxTone;
                }
                Wake::Digit(d) if self.typeahead.len() < 32 => self.typeahead.push(d),
                _ => {}
            }
        }
    }

    /// Rings `targets` (all at once) with ringback tone or music; bridges
    /// the first to answer and stays bridged until either side hangs up.
    /// `caller_id`: the number and name the callee sees (the plan's
    /// `caller_id_number`/`caller_id_name`, else the caller's own). A caller
    /// not answered yet hears the callee ring (180) and is answered only
    /// when the callee answers.
    pub(super) async fn dial(&mut self, targets: &[String], timeout: Duration, music: Option<String>, caller_id: (String, Option<String>)) -> DialOutcome {
        let mut targets = targets.to_vec();
        // A transfer of the bridged call dials again, from this call.
        for _ in 0..8 {
            match self.dial_once(&targets, timeout, music.clone(), caller_id.clone()).await {
                (r, None) => return r,
                (_, Some(next)) => {
                    tracing::info!(target = %next, "transferring the caller");
                    targets = vec![next];
                }
            }
        }
        DialOutcome::Answered
    }

    /// One dial; `Some(target)` when the answered call was transferred.
    async fn dial_once(&mut self, targets: &[String], timeout: Duration, music: Option<String>, caller_id: (String, Option<String>)) -> (DialOutcome, Option<String>) {
        let r = self.dial_inner(targets, timeout, music, caller_id).await;
        (r, self.transfer_to.take())
    }

    async fn dial_inner(&mut self, targets: &[String], timeout: Duration, music: Option<String>, caller_id: (String, Option<String>)) -> DialOutcome {
        if self.caller_gone {
            return DialOutcome::Failed;
        }
        let ctx = self.ctx.clone();
        let mut resolved = Vec::new();
        let mut statuses = Vec::new();
        // Whoever the caller, the plan dials within `[dialing] dialplan_class`:
        // a number typed into a menu must not reach abroad or premium lines.
        let class = ctx.config.dialing.dialplan_class();
        for t in targets {
            match originate::resolve_guarded(&ctx, t, class).await {
                Ok(mut v) => resolved.append(&mut v),
                Err(s) => {
                    tracing::info!(target = %t, status = s, "dial target unavailable");
                    statuses.push(s);
                }
            }
        }
        if resolved.is_empty() {
            return outcome_for(statuses.iter().copied().min().unwrap_or(404));
        }
        let Ok(pair) = ctx.ports.allocate().await else { return DialOutcome::Failed };
        let our_ip = ctx.config.rtp.advertise.unwrap_or_else(|| crate::call::build::local_for(&ctx, resolved[0].dest.addr).ip());
        let prefs = ctx.config.media.prefs_or_default(resolved[0].trunk.as_ref().and_then(|t| t.codecs.as_deref()));
        let offer = crate::sdp::negotiate::offer(&prefs, &crate::sdp::negotiate::LocalMedia::new(our_ip, pair.rtp_port()));
        self.b_local = resolved.iter().all(|t| t.trunk.is_none());
        let originator = match Originator::start(&ctx, resolved, (&caller_id.0, caller_id.1.as_deref()), &offer, self.caller.tx.clone()).await {
            Ok(o) => o,
            Err(s) => return outcome_for(s),
        };
        self.drop_originator(0);
        self.originators.push((0, originator));
        if self.a.is_none() {
            self.ring_caller();
        }
        if let Ok(mut s) = self.shared.lock() {
            s.player.clear();
            s.feed = if let Some(class) = &music {
                Feed::Music(ctx.moh.listener(class, IVR_RATE, StartAt::Random))
            } else {
                Feed::Ringback(ToneGenerator::for_country(Country::Us, ToneKind::Ringback, IVR_RATE))
            };
        }
        let give_up = Instant::now() + timeout;
        let mut pair = Some(pair);
        let result = loop {
            match self.wait(Some(give_up)).await {
                Wake::Hangup => {
                    self.cancel_originator(0).await;
                    break DialOutcome::Failed;
                }
                Wake::Deadline => {
                    tracing::info!("no answer: cancelling");
                    self.cancel_originator(0).await;
                    break DialOutcome::NoAnswer;
                }
                Wake::Dial(0, Progress::Ringing) => tracing::info!("callee ringing"),
                Wake::Dial(0, Progress::Failed(s)) => break outcome_for(s),
                Wake::Dial(0, Progress::Answered { dialog, dest, answer }) => {
                    let Some(p) = pair.take() else { break DialOutcome::Failed };
                    if !self.ensure_answered().await {
                        // The caller could not be answered: the callee goes too.
                        self.bye_dialog(*dialog, dest).await;
                        break DialOutcome::Failed;
                    }
                    let port = super::port::CalleePort::new(self.shared.clone());
                    let (spare, spare_dest) = (dialog.clone(), dest.clone());
                    match LocalLeg::dialled(&ctx, *dialog, dest, self.caller.tx.clone(), p, offer.clone(), &answer, prefs.clone(), port) {
                        Ok(b) => {
                            tracing::info!(codec = b.codec.encoding_name(), "callee answered: bridged");
                            self.b = Some(b);
                            if targets.len() == 1 {
                                self.set_peers(targets);
                            }
                            if let Ok(mut s) = self.shared.lock() {
                                s.feed = Feed::Bridge;
                            }
                            if ctx.config.recording.mode == crate::config::RecordingMode::Always {
                                if let Err(e) = self.start_recording().await {
                                    tracing::warn!("recording not started: {e}");
                                }
                            }
                            if let BridgeEnd::Transfer(t) = self.bridged().await {
                                self.transfer_to = Some(t);
                            }
                            break DialOutcome::Answered;
                        }
                        Err((status, reason)) => {
                            tracing::warn!(status, reason, "callee's answer unusable: hanging the callee up");
                            self.bye_dialog(*spare, spare_dest).await;
                            break DialOutcome::Failed;
                        }
                    }
                }
                _ => {}
            }
        };
        if result != DialOutcome::Answered {
            if let Ok(mut s) = self.shared.lock() {
                s.feed = Feed::Prompts;
            }
        }
        result
    }

    /// Stops listening for the outgoing call `tag` (its transactions finish
    /// on their own).
    pub(super) fn drop_originator(&mut self, tag: u64) {
        let ctx = self.ctx.clone();
        self.originators.retain(|(t, o)| {
            if *t == tag {
                o.release(&ctx);
            }
            *t != tag
        });
    }

    /// Cancels the outgoing call `tag` if it still rings.
    pub(super) async fn cancel_originator(&mut self, tag: u64) {
        let ctx = self.ctx.clone();
        if let Some((_, o)) = self.originators.iter_mut().find(|(t, _)| *t == tag) {
            o.cancel(&ctx).await;
        }
    }

    /// A `record` step's file joins the call recordings (console, CLI).
    async fn index_recording(&self, path: &std::path::Path, duration_ms: u64) {
        let call_id = self.caller.invite.call_id().unwrap_or_default();
        let store = &self.ctx.store;
        match store.start_recording_row(call_id, &path.display().to_string(), "wav", "mono", IVR_RATE).await {
            Ok(row) => {
                let bytes = std::fs::metadata(path).map(|m| m.len() as i64).unwrap_or(0);
                let summary = crate::store::RecordingSummary { duration_ms: duration_ms as i64, bytes, paused_ms: 0, pauses: Vec::new(), dropped_ms: 0 };
                if let Err(e) = store.finish_recording_row(row, Some(&summary)).await {
                    tracing::warn!("recording row not completed: {e}");
                }
            }
            Err(e) => tracing::warn!("recording row not written: {e}"),
        }
    }

    /// Hangs up an outgoing call that was answered (and ACKed) but will not
    /// be bridged: a crossed answer, an unusable SDP, a caller already gone.
    pub(super) async fn bye_dialog(&self, mut dialog: crate::sip::dialog::Dialog, dest: crate::sip::transaction::Peer) {
        use crate::call::build;
        let bye = dialog.request(crate::sip::message::Method::Bye, &build::via(&self.ctx, &dest), &build::contact(&self.ctx, &dest), None);
        let _ = self.ctx.endpoint.send_request(bye, dest, self.caller.tx.clone()).await;
    }

    /// 180 Ringing to the caller we have not answered.
    fn ring_caller(&self) {
        let mut r = crate::call::build::response(&self.ctx, self.caller.invite, 180, "Ringing");
        crate::call::build::tag_to(&mut r, self.caller.local_tag);
        r.headers.push(crate::sip::message::HeaderName::Contact, format!("<{}>", crate::call::build::contact(&self.ctx, self.caller.peer)));
        self.ctx.endpoint.respond(self.caller.key, r);
    }

    /// The identity callees see: the plan's override or the caller's own.
    fn caller_id(&self, session: &Session) -> (String, Option<String>) {
        let from = self.caller.invite.headers.from_addr().ok();
        let number = session
            .vars()
            .get("caller_id_number")
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| from.as_ref().and_then(|f| f.uri.user().map(str::to_string)))
            .unwrap_or_default();
        let name = session.vars().get("caller_id_name").filter(|v| !v.is_empty()).cloned().or_else(|| from.and_then(|f| f.display_name));
        (number, name)
    }

    /// A bridged call: until either side hangs up. The callee may change on
    /// the way (attended transfers hand the caller to a second party).
    pub(super) async fn bridged(&mut self) -> BridgeEnd {
        loop {
            match self.wait(None).await {
                Wake::Hangup => {
                    self.end_second().await;
                    if let Some(b) = self.b.as_mut() {
                        b.bye(&self.ctx, None).await;
                    }
                    self.stop_recording().await;
                    return BridgeEnd::Done;
                }
                Wake::CalleeHangup => {
                    if self.on_agent_hangup().await {
                        continue;
                    }
                    self.hangup_by = "callee";
                    if !self.caller_gone {
                        self.caller_gone = true;
                        if let Some(a) = self.a.as_mut() {
                            a.bye(&self.ctx, None).await;
                        }
                    }
                    return BridgeEnd::Done;
                }
                Wake::Transfer(target) => {
                    self.release_callee().await;
                    return BridgeEnd::Transfer(target);
                }
                Wake::Dial(super::consult::SECOND_TAG, p) => self.on_second_progress(p).await,
                Wake::SecondHangup => self.on_second_hangup().await,
                Wake::SecondTimeout => {
                    tracing::info!("second party: no answer, giving up");
                    self.cancel_originator(super::consult::SECOND_TAG).await;
                    self.second_failed(408).await;
                }
                Wake::ReferReplaces(r) => self.refer_with_replaces(r).await,
                Wake::Digit(d) => {
                    if let (Some(b), Some(digit)) = (self.b.as_ref(), crate::media::dtmf::Digit::from_char(d)) {
                        b.media.send_dtmf(digit);
                    }
                }
                _ => {}
            }
            if self.caller_gone {
                // Hung up from inside (nobody left for the caller).
                self.end_second().await;
                return BridgeEnd::Done;
            }
        }
    }

    /// A supervisor (this caller) joins the call bridged to `agent`.
    async fn supervise(&mut self, mode: crate::dialplan::SuperviseMode, agent: &str) {
        let me = self.caller_number();
        if !self.ctx.config.apps.supervisors.contains(&me) {
            tracing::warn!(extension = %me, "not a supervisor ([apps] supervisors)");
            self.hangup(21).await;
            return;
        }
        let Some(target) = self.ctx.calls.peer(agent) else {
            tracing::info!(agent, "no call to supervise");
            let _ = self.play(&[Media::prompt("agent-error")]).await;
            self.hangup(16).await;
            return;
        };
        if !self.ensure_answered().await {
            return;
        }
        let link = super::port::supervisor_link(mode);
        if let Err(e) = self.ctx.calls.supervise(&target, link.clone()).await {
            tracing::info!(agent, "cannot supervise: {e}");
            self.hangup(16).await;
            return;
        }
        tracing::info!(agent, ?mode, call = %target, "supervising");
        if let Ok(mut s) = self.shared.lock() {
            s.player.clear();
            s.feed = Feed::Port(Box::new(super::port::SupervisorPort(link.clone())));
        }
        // Until the supervisor hangs up or the supervised call ends.
        loop {
            let check = Instant::now() + Duration::from_millis(250);
            if matches!(self.wait(Some(check)).await, Wake::Hangup) {
                break;
            }
            if !link.lock().map(|l| l.active).unwrap_or(false) {
                self.hangup(16).await;
                break;
            }
        }
        if let Ok(mut l) = link.lock() {
            l.active = false;
        };
    }

    /// Lets the callee go (transfer): BYE, media down, the caller back to
    /// the prompt feed.
    pub(super) async fn release_callee(&mut self) {
        self.release_agent_leg().await;
        if let Ok(mut s) = self.shared.lock() {
            s.feed = Feed::Prompts;
            s.callee_muted = false;
            s.moh_for_callee = None;
        }
    }

    /// Releases the callee's (agent's) leg, its recording and supervision;
    /// the ACD hears the agent's call ended. The caller is not touched.
    pub(super) async fn release_agent_leg(&mut self) {
        self.stop_recording().await;
        if let Some(mut b) = self.b.take() {
            b.bye(&self.ctx, None).await;
            let _ = b.shutdown().await;
        }
        self.end_supervision();
        self.clear_peers();
        self.agent_released();
    }

    /// Tells the ACD the agent's call is over (wrap-up), once.
    pub(super) fn agent_released(&mut self) {
        if let (Some(offer), Some(acd)) = (self.agent_offer.take(), self.ctx.acd.as_ref()) {
            acd.call_ended(offer);
        }
    }

    /// Lets a supervisor of this call know it is over.
    pub(super) fn end_supervision(&self) {
        if let Some(link) = self.shared.lock().ok().and_then(|mut s| s.supervisor.take()) {
            if let Ok(mut l) = link.lock() {
                l.active = false;
            }
        }
    }

    /// Joins a conference room until the caller leaves.
    async fn conference(&mut self, room: &str) {
        if !self.ensure_answered().await {
            return;
        }
        let call_id = self.caller.invite.call_id().unwrap_or_default().to_string();
        let Some(p) = self.ctx.rooms.join(room, &call_id) else {
            self.hangup(34).await;
            return;
        };
        if let Ok(mut s) = self.shared.lock() {
            s.player.clear();
            s.feed = Feed::Port(Box::new(p.clone()));
        }
        tracing::info!(room, "joined conference");
        while !matches!(self.wait(None).await, Wake::Hangup) {}
        if let Ok(mut s) = self.shared.lock() {
            s.feed = Feed::Prompts;
        }
        self.ctx.rooms.leave(&p);
    }
}

fn outcome_for(status: u16) -> DialOutcome {
    match status {
        486 | 600 => DialOutcome::Busy,
        408 | 480 | 487 => DialOutcome::NoAnswer,
        _ => DialOutcome::Failed,
    }
}

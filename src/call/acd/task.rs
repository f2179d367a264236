//! The task around the ACD core: the clock (Unix milliseconds, so queue-log
//! times are real), configuration synchronised from the store every few
//! seconds (queues, agents, skills, members, phone registrations), agent
//! state restored at start and persisted on every change, and each output
//! routed to the call task it concerns.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{AgentOp, CallerDirective, Msg, OfferFailure, QueueInfo};
use crate::acd::{self, Acd, AgentConfig, CallerKey, Input, LeaveReason, OfferId, Output, QueueConfig};
use crate::call::Ctx;
use crate::cti::{CallInfo, CtiKind};
use crate::store::{self, unix_ms, unix_time};

/// How often configuration and registrations are re-read.
const SYNC_EVERY: Duration = Duration::from_secs(3);

pub fn spawn(ctx: Arc<Ctx>, rx: mpsc::UnboundedReceiver<Msg>) {
    let Some(handle) = ctx.acd.clone() else { return };
    tokio::spawn(async move {
        let mut t = Task::new(ctx, handle);
        t.run(rx).await;
    });
}

fn now_ms() -> u64 {
    unix_ms().max(0) as u64
}

struct Task {
    ctx: Arc<Ctx>,
    /// Our own handle, for the call tasks we start (callbacks).
    handle: super::AcdHandle,
    acd: Acd,
    /// Waiting callers' call tasks.
    callers: HashMap<CallerKey, mpsc::UnboundedSender<CallerDirective>>,
    /// Which caller and agent each live offer is for.
    offers: HashMap<OfferId, (CallerKey, String)>,
    /// What screens are told about each queued caller (customer record included).
    info: HashMap<CallerKey, CallInfo>,
    /// Join time and priority of live callers (a callback keeps its place).
    joined: HashMap<CallerKey, (u64, i64)>,
    /// Callback entries: DB row, number, attempts so far.
    callbacks: HashMap<CallerKey, (i64, String, i64)>,
    /// Web chats among the callers (until their answered offer ends): the
    /// chat session publishes their events, not this task.
    chats: std::collections::HashSet<CallerKey>,
    /// What was last applied, to send only changes.
    queues: BTreeMap<String, QueueConfig>,
    queue_rows: BTreeMap<String, store::Queue>,
    agents: BTreeMap<String, AgentConfig>,
    agent_rows: BTreeMap<String, store::Agent>,
    members: BTreeMap<(String, String), u32>,
    registered: BTreeMap<String, bool>,
    /// The local day the statistics count from (reset at local midnight).
    stats_day: i64,
}

fn strategy(s: store::Strategy) -> acd::Strategy {
    match s {
        store::Strategy::RingAll => acd::Strategy::RingAll,
        store::Strategy::LongestIdle => acd::Strategy::LongestIdle,
        store::Strategy::RoundRobin => acd::Strategy::RoundRobin,
        store::Strategy::FewestCalls => acd::Strategy::FewestCalls,
        store::Strategy::Random => acd::Strategy::Random,
        store::Strategy::Linear => acd::Strategy::Linear,
        store::Strategy::Skills => acd::Strategy::SkillsBased,
    }
}

/// The store's queue row as the core's configuration.
fn queue_config(q: &store::Queue) -> QueueConfig {
    let secs = |s: i64| (s.max(0) as u64) * 1000;
    // The store's relax steps are cumulative levels; the core's add up.
    let mut prev = 0i64;
    let skill_relax = q
        .skill_relax
        .iter()
        .map(|r| {
            let step = acd::SkillRelax { after_ms: secs(r.after_secs), lower_by: (r.lower_by - prev).clamp(0, 10) as u8 };
            prev = r.lower_by;
            step
        })
        .collect();
    QueueConfig {
        name: q.name.clone(),
        strategy: strategy(q.strategy),
        ring_timeout_ms: secs(q.ring_timeout_secs),
        retry_ms: secs(q.retry_delay_secs),
        wrap_up_ms: secs(q.wrapup_secs),
        max_wait_ms: q.max_wait_secs.map(secs),
        max_callers: q.max_callers.map(|m| m.max(0) as usize),
        join_empty: q.join_empty,
        leave_when_empty: q.leave_when_empty,
        announce_period_ms: (q.announce_every_secs > 0).then(|| secs(q.announce_every_secs)),
        service_level_ms: secs(q.service_level_secs),
        overflow: q.overflow.as_ref().map(|o| o.to_string()),
        skill_relax,
        callback: acd::CallbackConfig {
            max_attempts: q.callback_attempts.max(1) as u32,
            retry_delay_ms: secs(q.callback_retry_secs),
            max_age_ms: None,
        },
        ..QueueConfig::default()
    }
}

fn reason_text(r: LeaveReason) -> &'static str {
    match r {
        LeaveReason::Timeout => "timeout",
        LeaveReason::Full => "full",
        LeaveReason::Empty => "no agents",
        LeaveReason::UnknownQueue => "unknown queue",
        LeaveReason::QueueRemoved => "queue removed",
    }
}

/// The store's view of a core agent state: (state, pause reason).
fn stored_state(s: &acd::AgentState) -> (store::AgentState, Option<String>) {
    match s {
        acd::AgentState::LoggedOut => (store::AgentState::LoggedOut, None),
        acd::AgentState::Available => (store::AgentState::Available, None),
        acd::AgentState::Ringing { .. } => (store::AgentState::Ringing, None),
        acd::AgentState::OnCall { .. } => (store::AgentState::OnCall, None),
        acd::AgentState::WrapUp { .. } => (store::AgentState::WrapUp, None),
        acd::AgentState::Paused { reason } if reason == acd::PAUSE_UNREGISTERED => (store::AgentState::Unavailable, Some(reason.clone())),
        acd::AgentState::Paused { reason } => (store::AgentState::Paused, Some(reason.clone())),
    }
}

impl Task {
    fn new(ctx: Arc<Ctx>, handle: super::AcdHandle) -> Task {
        let stats_day = ctx.config.site.local_day(&ctx.config.site.zone(), unix_time());
        Task {
            ctx,
            handle,
            acd: Acd::new(unix_time().max(0) as u64),
            callers: HashMap::new(),
            offers: HashMap::new(),
            info: HashMap::new(),
            joined: HashMap::new(),
            callbacks: HashMap::new(),
            chats: Default::default(),
            queues: BTreeMap::new(),
            queue_rows: BTreeMap::new(),
            agents: BTreeMap::new(),
            agent_rows: BTreeMap::new(),
            members: BTreeMap::new(),
            registered: BTreeMap::new(),
            stats_day,
        }
    }

    async fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        self.sync().await;
        self.restore_agents().await;
        self.restore_callbacks().await;
        self.drain().await;
        let mut tick = tokio::time::interval(SYNC_EVERY);
        tick.tick().await;
        loop {
            let wake = self.acd.poll_timeout().map(|at| {
                let ms = at.saturating_sub(now_ms());
                tokio::time::Instant::now() + Duration::from_millis(ms)
            });
            let timer = async {
                match wake {
                    Some(w) => tokio::time::sleep_until(w).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => self.on_msg(m).await,
                    None => return,
                },
                _ = timer => self.acd.handle_timeout(now_ms()),
                _ = tick.tick() => self.sync().await,
            }
            self.drain().await;
        }
    }

    fn input(&mut self, i: Input) {
        self.acd.handle(now_ms(), i);
    }

    /// Agents logged in before a restart are logged in again (paused ones
    /// keep their reason); calls in progress did not survive, so nobody is
    /// restored as ringing or on a call.
    async fn restore_agents(&mut self) {
        let rows: Vec<store::Agent> = self.agent_rows.values().cloned().collect();
        for a in rows {
            match a.state {
                store::AgentState::LoggedOut => {}
                store::AgentState::Paused => {
                    self.input(Input::Login { agent: a.id.clone() });
                    self.input(Input::Pause { agent: a.id.clone(), reason: a.pause_reason.clone().unwrap_or_else(|| "break".into()) });
                }
                _ => self.input(Input::Login { agent: a.id.clone() }),
            }
        }
    }

    /// Callback requests survive a restart with their place in line.
    async fn restore_callbacks(&mut self) {
        let Ok(pending) = self.ctx.store.list_pending_callbacks(None).await else { return };
        for cb in pending {
            let key = format!("cb-{}", cb.id);
            self.callbacks.insert(key.clone(), (cb.id, cb.number.clone(), cb.attempts));
            // The CRM is not asked here: a restart must not wait on it.
            let customer = self.ctx.store.customer_by_phone(&cb.number).await.ok().flatten().map(|c| c.vars());
            self.info.insert(key.clone(), CallInfo { call_id: cb.call_id.clone(), caller: cb.number.clone(), caller_name: cb.name.clone(), queue: cb.queue.clone(), customer, ..CallInfo::default() });
            tracing::info!(id = cb.id, queue = %cb.queue, number = %cb.number, "callback restored");
            self.input(Input::RestoreCallback {
                caller: key,
                queue: cb.queue,
                priority: cb.priority.clamp(-1000, 1000) as i32,
                skills: Vec::new(),
                number: cb.number,
                joined_ms: cb.joined_at_ms.max(0) as u64,
                attempts_made: cb.attempts.max(0) as u32,
            });
        }
    }

    /// Applies what changed in the store since the last look.
    async fn sync(&mut self) {
        // "Today's" statistics start at local midnight (`[site] timezone`).
        let site = &self.ctx.config.site;
        let day = site.local_day(&site.zone(), unix_time());
        if day != self.stats_day {
            self.stats_day = day;
            self.input(Input::ResetStats);
        }
        let store = self.ctx.store.clone();
        let Ok(queues) = store.list_queues().await else { return };
        let Ok(agents) = store.list_agents().await else { return };
        let mut seen_q = BTreeMap::new();
        for q in &queues {
            let cfg = queue_config(q);
            if self.queues.get(&q.name) != Some(&cfg) {
                self.input(Input::UpsertQueue(cfg.clone()));
            }
            seen_q.insert(q.name.clone(), cfg);
        }
        for gone in self.queues.keys().filter(|k| !seen_q.contains_key(*k)).cloned().collect::<Vec<_>>() {
            self.input(Input::RemoveQueue(gone));
        }
        self.queues = seen_q;
        self.queue_rows = queues.into_iter().map(|q| (q.name.clone(), q)).collect();

        let mut seen_a = BTreeMap::new();
        for a in &agents {
            let skills = store.skills(&a.id).await.unwrap_or_default();
            let cfg = AgentConfig {
                id: a.id.clone(),
                skills: skills.into_iter().map(|s| (s.skill, s.proficiency.clamp(1, 10) as u8)).collect(),
                max_no_answer: Some(a.no_answer_limit.max(0) as u32),
            };
            if self.agents.get(&a.id) != Some(&cfg) {
                self.input(Input::UpsertAgent(cfg.clone()));
            }
            seen_a.insert(a.id.clone(), cfg);
        }
        for gone in self.agents.keys().filter(|k| !seen_a.contains_key(*k)).cloned().collect::<Vec<_>>() {
            self.input(Input::RemoveAgent(gone.clone()));
            self.registered.remove(&gone);
        }
        self.agents = seen_a;
        self.agent_rows = agents.into_iter().map(|a| (a.id.clone(), a)).collect();

        let mut members = BTreeMap::new();
        for q in self.queues.keys().cloned().collect::<Vec<_>>() {
            for m in store.members(&q).await.unwrap_or_default() {
                members.insert((m.queue, m.agent), m.penalty.max(0) as u32);
            }
        }
        for ((q, a), p) in &members {
            if self.members.get(&(q.clone(), a.clone())) != Some(p) {
                self.acd.handle(now_ms(), Input::SetMember { queue: q.clone(), agent: a.clone(), penalty: *p });
            }
        }
        for (q, a) in self.members.keys().filter(|k| !members.contains_key(*k)).cloned().collect::<Vec<_>>() {
            self.input(Input::RemoveMember { queue: q, agent: a });
        }
        self.members = members;

        // A phone that stopped registering makes its agent unavailable.
        let now = unix_time();
        for (id, a) in self.agent_rows.clone() {
            let mut reg = false;
            for e in &a.extensions {
                if store.bindings(e, now).await.map(|b| !b.is_empty()).unwrap_or(false) {
                    reg = true;
                    break;
                }
            }
            if self.registered.get(&id) != Some(&reg) {
                self.registered.insert(id.clone(), reg);
                self.input(Input::Registration { agent: id, registered: reg });
            }
        }
    }

    async fn on_msg(&mut self, m: Msg) {
        match m {
            Msg::Join { req, directives, reply } => self.join(req, directives, reply).await,
            Msg::Abandon { caller } => {
                self.callers.remove(&caller);
                self.input(Input::Abandon { caller });
            }
            Msg::RequestCallback { caller, number } => {
                self.callers.remove(&caller);
                let (joined_ms, priority) = self.joined.get(&caller).copied().unwrap_or((now_ms(), 0));
                let info = self.info.get(&caller).cloned().unwrap_or_default();
                let row = store::Callback {
                    queue: info.queue.clone(),
                    number: number.clone(),
                    name: info.caller_name.clone(),
                    call_id: caller.clone(),
                    priority,
                    joined_at_ms: joined_ms as i64,
                    requested_at_ms: unix_ms(),
                    ..store::Callback::default()
                };
                match self.ctx.store.insert_callback(&row).await {
                    Ok(id) => {
                        tracing::info!(id, %number, queue = %info.queue, "callback requested");
                        self.callbacks.insert(caller.clone(), (id, number.clone(), 0));
                    }
                    Err(e) => {
                        // Served anyway while the appliance runs (row id 0: nothing to update).
                        tracing::warn!("callback not saved (it is served while the appliance runs, but not after a restart): {e}");
                        self.callbacks.insert(caller.clone(), (0, number.clone(), 0));
                    }
                }
                self.input(Input::RequestCallback { caller, number });
            }
            Msg::WebCallback { req, reply } => self.web_callback(req, reply).await,
            Msg::OfferRinging { offer } => {
                if let Some((caller, agent)) = self.offers.get(&OfferId(offer)) {
                    if !self.chats.contains(caller) {
                        self.ctx.events.publish(CtiKind::CallRinging { agent: agent.clone(), call_id: caller.clone() });
                    }
                }
                self.input(Input::OfferRinging { offer: OfferId(offer) });
            }
            Msg::OfferAnswered { offer } => self.input(Input::OfferAnswered { offer: OfferId(offer) }),
            Msg::OfferFailed { offer, why } => {
                let reason = match why {
                    OfferFailure::NoAnswer => "no-answer",
                    OfferFailure::Busy => "busy",
                    OfferFailure::Rejected => "rejected",
                    OfferFailure::Unreachable => "unreachable",
                };
                self.input(Input::OfferFailed { offer: OfferId(offer), reason: reason.into() });
            }
            Msg::CallEnded { offer } => {
                if let Some((caller, agent)) = self.offers.remove(&OfferId(offer)) {
                    if !self.chats.remove(&caller) {
                        self.ctx.events.publish(CtiKind::CallEnded { agent, call_id: caller });
                    }
                }
                self.input(Input::CallEnded { offer: OfferId(offer) });
            }
            Msg::CustomerAnswered { caller } => self.input(Input::CustomerAnswered { caller }),
            Msg::CustomerFailed { caller } => {
                if let Some((id, _, attempts)) = self.callbacks.get(&caller).cloned() {
                    if id > 0 {
                        let _ = self.ctx.store.update_callback(id, store::CallbackState::Waiting, attempts, unix_ms(), None).await;
                    }
                }
                self.callers.remove(&caller);
                self.input(Input::CustomerFailed { caller });
            }
            Msg::Agent { extension, op, reason, reply } => {
                // An agent created moments ago (CLI, API, console) may not
                // have reached us through the periodic sync yet.
                if !self.agent_rows.contains_key(&extension) {
                    self.sync().await;
                }
                let agent = match self.ctx.store.agent_by_extension(&extension).await {
                    Ok(Some(a)) => a.id,
                    // The API names agents by id.
                    Ok(None) if self.agent_rows.contains_key(&extension) => extension.clone(),
                    Ok(None) => {
                        let _ = reply.send(Err(format!("{extension} is neither an agent id nor an agent's extension")));
                        return;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.to_string()));
                        return;
                    }
                };
                // An agent added a moment ago may not be synced yet.
                if !self.agents.contains_key(&agent) {
                    self.sync().await;
                }
                let input = match op {
                    AgentOp::Login => Input::Login { agent: agent.clone() },
                    AgentOp::Logout => Input::Logout { agent: agent.clone() },
                    AgentOp::Pause => Input::Pause { agent: agent.clone(), reason: reason.filter(|r| !r.is_empty()).unwrap_or_else(|| "break".into()) },
                    AgentOp::Unpause => Input::Unpause { agent: agent.clone() },
                };
                self.input(input);
                // Write the new state through before acknowledging: a 204
                // (or a phone's confirmation tone) must mean it survives a crash.
                self.drain().await;
                let _ = reply.send(Ok(agent));
            }
            Msg::Stats { reply } => {
                let s = self.acd.stats(now_ms());
                let _ = reply.send(serde_json::to_value(&s).unwrap_or(serde_json::Value::Null));
            }
        }
    }

    async fn join(&mut self, req: super::JoinRequest, directives: mpsc::UnboundedSender<CallerDirective>, reply: oneshot::Sender<Result<QueueInfo, super::Refused>>) {
        if !self.queues.contains_key(&req.queue) {
            self.sync().await;
        }
        let Some(row) = self.queue_rows.get(&req.queue).cloned() else {
            let _ = reply.send(Err(super::Refused { reason: "unknown queue".into(), destination: None }));
            return;
        };
        let caller = req.caller.clone();
        self.callers.insert(caller.clone(), directives);
        let info = CallInfo {
            call_id: caller.clone(),
            caller: req.number.clone(),
            caller_name: req.name.clone(),
            did: req.did.clone(),
            ivr_path: req.ivr_path.clone(),
            queue: req.queue.clone(),
            customer: req.customer.clone(),
            channel: if req.chat { "chat".into() } else { String::new() },
        };
        let chat = req.chat;
        let skills = req.skills.into_iter().collect();
        self.joined.insert(caller.clone(), (now_ms(), req.priority));
        self.acd.handle(now_ms(), Input::Join { caller: caller.clone(), queue: req.queue.clone(), priority: req.priority.clamp(-1000, 1000) as i32, skills });
        // A refusal comes out right away, for this caller.
        let mut refused = None;
        let mut rest = Vec::new();
        while let Some(o) = self.acd.poll_output() {
            match &o {
                Output::Leave { caller: c, reason, destination } if *c == caller && refused.is_none() => {
                    refused = Some(super::Refused { reason: reason_text(*reason).to_string(), destination: destination.clone() })
                }
                _ => {}
            }
            rest.push(o);
        }
        match refused {
            Some(r) => {
                self.callers.remove(&caller);
                let _ = reply.send(Err(r));
            }
            None => {
                self.ctx.events.publish(CtiKind::QueueJoined { call: info.clone() });
                self.info.insert(caller.clone(), info);
                if chat {
                    self.chats.insert(caller.clone());
                }
                let _ = reply.send(Ok(QueueInfo { queue: row.name.clone(), moh_class: row.moh_class.clone(), callback_key: row.callback_key }));
            }
        }
        for o in rest {
            self.route(o).await;
        }
    }

    /// A web callback request: the row first (it must survive a restart),
    /// then the core's `JoinCallback`; a refusal marks the row failed.
    async fn web_callback(&mut self, req: super::WebCallback, reply: oneshot::Sender<Result<i64, super::Refused>>) {
        if !self.queues.contains_key(&req.queue) {
            self.sync().await;
        }
        if !self.queue_rows.contains_key(&req.queue) {
            let _ = reply.send(Err(super::Refused { reason: "unknown queue".into(), destination: None }));
            return;
        }
        let Some(number) = store::normalize_phone(&req.number) else {
            let _ = reply.send(Err(super::Refused { reason: "invalid number".into(), destination: None }));
            return;
        };
        let caller = format!("web-cb-{:016x}", rand::random::<u64>());
        let now = now_ms();
        let row = store::Callback {
            queue: req.queue.clone(),
            number: number.clone(),
            name: req.name.clone(),
            call_id: caller.clone(),
            joined_at_ms: now as i64,
            requested_at_ms: now as i64,
            note: req.note.clone(),
            source: "web".into(),
            ..store::Callback::default()
        };
        let id = match self.ctx.store.insert_callback(&row).await {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!("web callback not saved: {e}");
                let _ = reply.send(Err(super::Refused { reason: e.to_string(), destination: None }));
                return;
            }
        };
        self.acd.handle(now, Input::JoinCallback { caller: caller.clone(), queue: req.queue.clone(), priority: 0, skills: Vec::new(), number: number.clone() });
        let mut refused = None;
        let mut rest = Vec::new();
        while let Some(o) = self.acd.poll_output() {
            if let Output::Leave { caller: c, reason, destination } = &o {
                if *c == caller && refused.is_none() {
                    refused = Some(super::Refused { reason: reason_text(*reason).to_string(), destination: destination.clone() });
                }
            }
            rest.push(o);
        }
        match refused {
            Some(r) => {
                let _ = self.ctx.store.update_callback(id, store::CallbackState::Failed, 0, unix_ms(), None).await;
                let _ = reply.send(Err(r));
            }
            None => {
                tracing::info!(id, %number, queue = %req.queue, "callback requested on the web");
                self.callbacks.insert(caller.clone(), (id, number.clone(), 0));
                self.joined.insert(caller.clone(), (now, 0));
                let customer = self.ctx.store.customer_by_phone(&number).await.ok().flatten().map(|c| c.vars());
                let info = CallInfo { call_id: caller.clone(), caller: number, caller_name: req.name, queue: req.queue, customer, ..CallInfo::default() };
                self.ctx.events.publish(CtiKind::QueueJoined { call: info.clone() });
                self.info.insert(caller, info);
                let _ = reply.send(Ok(id));
            }
        }
        for o in rest {
            self.route(o).await;
        }
    }

    /// The offer a finished caller is still connected through, if any.
    fn acd_current_offer(&self, caller: &str) -> Option<OfferId> {
        self.offers
            .iter()
            .filter(|(_, (c, _))| c == caller)
            .map(|(o, (_, a))| (o, a))
            .find(|(o, a)| matches!(self.acd.agent_state(a), Some(acd::AgentState::OnCall { offer }) if offer == *o))
            .map(|(o, _)| *o)
    }

    async fn drain(&mut self) {
        while let Some(o) = self.acd.poll_output() {
            self.route(o).await;
        }
    }

    fn tell(&self, caller: &str, d: CallerDirective) {
        if let Some(tx) = self.callers.get(caller) {
            let _ = tx.send(d);
        }
    }

    async fn route(&mut self, o: Output) {
        match o {
            Output::Offer { offer, caller, agent, queue } => {
                let extensions = self.agent_rows.get(&agent).map(|a| a.extensions.clone()).unwrap_or_default();
                self.offers.insert(offer, (caller.clone(), agent.clone()));
                if let Some(info) = self.info.get(&caller).filter(|_| !self.chats.contains(&caller)) {
                    // The agent's screen may look this caller up from now on.
                    self.ctx.calls.note_offer(&agent, &info.call_id);
                    self.ctx.events.publish(CtiKind::CallOffered { agent: agent.clone(), call: info.clone() });
                }
                // A callback's call task ends with its offer; its channel is then closed.
                let live = self.callers.get(&caller).is_some_and(|t| !t.is_closed());
                if !live && self.callbacks.contains_key(&caller) {
                    self.callers.remove(&caller);
                }
                if live {
                    if let Some(tx) = self.callers.get(&caller) {
                        if tx.send(CallerDirective::Offer { offer: offer.0, agent, extensions }).is_err() {
                            self.acd.handle(now_ms(), Input::OfferFailed { offer, reason: "unreachable".into() });
                        }
                    }
                } else if let Some((_, number, _)) = self.callbacks.get(&caller).cloned() {
                    // A callback's turn: its own call task rings the agent, then the customer.
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.callers.insert(caller.clone(), tx);
                    tracing::info!(queue, %agent, %number, "callback: offering to an agent");
                    let call = super::callback::CallbackCall {
                        ctx: self.ctx.clone(),
                        acd: self.handle.clone(),
                        offer: offer.0,
                        caller,
                        agent_extensions: extensions,
                        customer: number,
                        directives: rx,
                    };
                    tokio::spawn(call.run());
                } else {
                    self.acd.handle(now_ms(), Input::OfferFailed { offer, reason: "unreachable".into() });
                }
            }
            Output::CancelOffer { offer } => {
                // Kept until the caller finishes: a late answer still needs routing.
                if let Some((c, _)) = self.offers.get(&offer).cloned() {
                    self.tell(&c, CallerDirective::CancelOffer { offer: offer.0 });
                }
            }
            Output::Connect { offer, caller, agent } => {
                if !self.chats.contains(&caller) {
                    self.ctx.events.publish(CtiKind::CallAnswered { agent: agent.clone(), call_id: caller.clone() });
                }
                self.tell(&caller, CallerDirective::Connect { offer: offer.0, agent });
            }
            Output::RejectLateAnswer { offer } => {
                if let Some((c, _)) = self.offers.get(&offer).cloned() {
                    self.tell(&c, CallerDirective::RejectLate { offer: offer.0 });
                }
            }
            Output::Announce { caller, position, ewt_ms } => self.tell(&caller, CallerDirective::Announce { position, ewt_ms: ewt_ms.unwrap_or(0) }),
            Output::Leave { caller, reason, destination } => {
                self.tell(&caller, CallerDirective::Leave { reason: reason_text(reason).into(), destination });
                self.callers.remove(&caller);
            }
            Output::DialCustomer { caller, agent, number, .. } => {
                if let Some(entry) = self.callbacks.get_mut(&caller) {
                    entry.2 += 1;
                    let (id, attempts) = (entry.0, entry.2);
                    if id > 0 {
                        let _ = self.ctx.store.update_callback(id, store::CallbackState::Dialing, attempts, unix_ms(), Some(&agent)).await;
                    }
                }
                self.tell(&caller, CallerDirective::DialCustomer { number });
            }
            Output::AgentState { agent, state } => {
                let (s, reason) = stored_state(&state);
                tracing::info!(%agent, state = s.as_str(), reason = reason.as_deref().unwrap_or(""), "agent state");
                if let Err(e) = self.ctx.store.set_agent_state(&agent, s, reason.as_deref(), unix_ms()).await {
                    tracing::warn!(%agent, "agent state not saved: {e}");
                }
                self.ctx.events.publish(CtiKind::AgentState { agent, state: s.as_str().to_string(), reason });
            }
            Output::Finished { caller, outcome } => {
                tracing::info!(%caller, ?outcome, "queue caller finished");
                self.callers.remove(&caller);
                // The answered offer stays until its call ends (CallEnded); the
                // caller's other offers (failed, cancelled, rejected) go now.
                let keep = self.acd_current_offer(&caller);
                self.offers.retain(|o, (c, _)| *c != caller || Some(*o) == keep);
                // An answered chat stays known until its CallEnded.
                if keep.is_none() {
                    self.chats.remove(&caller);
                }
                let queue = self.info.remove(&caller).map(|i| i.queue).unwrap_or_default();
                self.joined.remove(&caller);
                if let Some((id, _, attempts)) = self.callbacks.remove(&caller) {
                    let state = if outcome == acd::Outcome::CalledBack { store::CallbackState::Done } else { store::CallbackState::Failed };
                    if id > 0 {
                        let _ = self.ctx.store.update_callback(id, state, attempts, unix_ms(), None).await;
                    }
                }
                let outcome = serde_json::to_value(outcome).ok().map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                });
                self.ctx.events.publish(CtiKind::QueueLeft { call_id: caller, queue, outcome: outcome.unwrap_or_default() });
            }
            Output::Log(ev) => {
                let data = serde_json::to_value(&ev.kind).unwrap_or_default();
                let event = data.get("event").and_then(|e| e.as_str()).unwrap_or("event").to_string();
                let entry = store::QueueLogEntry {
                    id: 0,
                    at_ms: ev.at_ms as i64,
                    queue: ev.queue.unwrap_or_default(),
                    call_id: ev.caller.unwrap_or_default(),
                    agent: ev.agent,
                    event,
                    data: data.to_string(),
                };
                if let Err(e) = self.ctx.store.append_queue_log(&entry).await {
                    tracing::warn!("queue log not written: {e}");
                }
            }
        }
    }
}

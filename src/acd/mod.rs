//! ACD core: queues, agents and the matching of waiting callers to agents, as
//! a sans-IO state machine.
//!
//! Owns: queue and agent state, caller ordering (priority, then FIFO), the
//! distribution strategies and penalty tiers, offers (ring timeout, retry
//! delay, ring-all races, late answers), wrap-up, auto-pause on no-answer,
//! overflow/refusal rules, position/EWT announcements, the callback entry
//! life cycle, the queue log and real-time statistics.
//!
//! Must not touch: SIP, media, sockets, tokio, the DB or the wall clock. The
//! driver (src/call/) feeds `handle(now_ms, Input)` and `handle_timeout(now_ms)`
//! with a monotonic millisecond clock, sleeps until `poll_timeout()`, and
//! performs every `poll_output()` (ring, cancel, bridge, announce, dial, log).
//! Stale ids (unknown caller, agent, queue or offer) are silent no-ops, except
//! an answer for an offer that is no longer current, which the driver must
//! hang up (`Output::RejectLateAnswer`).
//!
//! Each `handle`/`handle_timeout` first fires every timer due at `now`, then
//! applies the input, then flushes queues left empty and distributes: the
//! outputs of one call are complete and ordered.
//!
//! Terminology: a *caller* is a queue entry (a live call, or a callback entry
//! whose line is gone); an *offer* is one caller rung on one agent.

mod agent;
mod callback;
mod offer;
mod queue;
mod stats;
mod strategy;
mod types;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

use rand::rngs::StdRng;
use rand::SeedableRng;

pub use stats::{AgentStats, AgentsByState, QueueStats, Stats};
pub use types::{
    AcdSettings, AgentConfig, AgentState, CallbackConfig, CallerKey, EventKind, Input, LeaveReason,
    OfferId, Outcome, Output, QueueConfig, QueueEvent, SkillRelax, Strategy, PAUSE_NO_ANSWER,
    PAUSE_UNREGISTERED,
};

use agent::Agent;
use offer::Offer;
use queue::{Caller, Queue};

/// The ACD engine. One per process; all queues and agents live here so that
/// an agent in several queues is reserved atomically.
pub struct Acd {
    settings: AcdSettings,
    rng: StdRng,
    /// Latest clock value seen (the driver's clock is monotonic).
    now: u64,
    queues: BTreeMap<String, Queue>,
    agents: BTreeMap<String, Agent>,
    callers: BTreeMap<CallerKey, Caller>,
    /// Pending offers and answered offers whose call has not ended yet.
    offers: BTreeMap<OfferId, Offer>,
    next_offer: u64,
    next_seq: u64,
    stats_since_ms: u64,
    out: VecDeque<Output>,
}

impl Acd {
    pub fn new(seed: u64) -> Acd {
        Acd::with_settings(AcdSettings {
            seed,
            ..AcdSettings::default()
        })
    }

    pub fn with_settings(settings: AcdSettings) -> Acd {
        Acd {
            rng: StdRng::seed_from_u64(settings.seed),
            settings,
            now: 0,
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            callers: BTreeMap::new(),
            offers: BTreeMap::new(),
            next_offer: 1,
            next_seq: 0,
            stats_since_ms: 0,
            out: VecDeque::new(),
        }
    }

    pub fn handle(&mut self, now_ms: u64, input: Input) {
        let now = self.clock(now_ms);
        self.fire_timers(now);
        self.apply(now, input);
        self.settle(now);
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        let now = self.clock(now_ms);
        self.fire_timers(now);
        self.settle(now);
    }

    /// Earliest instant at which `handle_timeout` has something to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.next_deadline()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The agent's current state (None: unknown agent).
    pub fn agent_state(&self, agent: &str) -> Option<&AgentState> {
        self.agents.get(agent).map(|a| &a.state)
    }

    /// A clock that went backwards is held at the latest value seen, so no
    /// deadline is ever computed from the past.
    fn clock(&mut self, now_ms: u64) -> u64 {
        self.now = self.now.max(now_ms);
        self.now
    }

    fn apply(&mut self, now: u64, input: Input) {
        match input {
            Input::UpsertQueue(cfg) => self.upsert_queue(cfg),
            Input::RemoveQueue(name) => self.remove_queue(now, &name),
            Input::UpsertAgent(cfg) => self.upsert_agent(now, cfg),
            Input::RemoveAgent(id) => self.remove_agent(now, &id),
            Input::SetMember {
                queue,
                agent,
                penalty,
            } => self.set_member(&queue, &agent, penalty),
            Input::RemoveMember { queue, agent } => self.remove_member(now, &queue, &agent),
            Input::Login { agent } => self.login(now, &agent),
            Input::Logout { agent } => self.logout(now, &agent),
            Input::Pause { agent, reason } => self.pause(now, &agent, reason),
            Input::Unpause { agent } => self.unpause(now, &agent),
            Input::Registration { agent, registered } => self.registration(now, &agent, registered),
            Input::Join {
                caller,
                queue,
                priority,
                skills,
            } => self.join(now, caller, queue, priority, skills),
            Input::Abandon { caller } => self.abandon(now, &caller),
            Input::RequestCallback { caller, number } => {
                self.request_callback(now, &caller, number)
            }
            Input::JoinCallback {
                caller,
                queue,
                priority,
                skills,
                number,
            } => {
                self.join_entry(now, caller.clone(), queue, priority, skills, true);
                self.request_callback(now, &caller, number);
            }
            Input::RestoreCallback {
                caller,
                queue,
                priority,
                skills,
                number,
                joined_ms,
                attempts_made,
            } => self.restore_callback(
                now,
                callback::Restore {
                    caller,
                    queue,
                    priority,
                    skills,
                    number,
                    joined_ms,
                    attempts_made,
                },
            ),
            Input::OfferRinging { offer } => self.offer_ringing(now, offer),
            Input::OfferAnswered { offer } => self.offer_answered(now, offer),
            Input::OfferFailed { offer, reason } => {
                self.end_offer(now, offer, offer::OfferEnd::Failed(reason))
            }
            Input::CallEnded { offer } => self.call_ended(now, offer),
            Input::CustomerAnswered { caller } => self.customer_answered(now, &caller),
            Input::CustomerFailed { caller } => self.customer_failed(now, &caller),
            Input::ResetStats => self.reset_stats(now),
        }
    }

    /// Every timer due at `now`, oldest kind first: offers, wrap-ups, caller
    /// deadlines, announcements.
    fn fire_timers(&mut self, now: u64) {
        self.expire_offers(now);
        self.end_wrap_ups(now);
        self.caller_deadlines(now);
        self.announce_due(now);
    }

    fn settle(&mut self, now: u64) {
        self.flush_empty_queues(now);
        self.dispatch(now);
    }

    fn next_deadline(&self) -> Option<u64> {
        let now = self.now;
        let offers = self
            .offers
            .values()
            .filter(|o| o.answered_ms.is_none())
            .map(|o| o.expires_ms);
        let wraps = self.agents.values().filter_map(|a| match a.state {
            AgentState::WrapUp { until_ms } => Some(until_ms),
            _ => None,
        });
        // Agents held by a retry delay only matter when someone waits.
        let blocked = self
            .agents
            .values()
            .map(|a| a.blocked_until_ms)
            .filter(|t| *t > now && !self.callers.is_empty());
        let callers = self
            .callers
            .values()
            .flat_map(|c| self.caller_deadlines_of(c, now));
        offers.chain(wraps).chain(blocked).chain(callers).min()
    }

    fn emit(&mut self, output: Output) {
        self.out.push_back(output);
    }

    fn log(
        &mut self,
        now: u64,
        queue: Option<&str>,
        caller: Option<&str>,
        agent: Option<&str>,
        kind: EventKind,
    ) {
        self.out.push_back(Output::Log(QueueEvent {
            at_ms: now,
            queue: queue.map(str::to_string),
            caller: caller.map(str::to_string),
            agent: agent.map(str::to_string),
            kind,
        }));
    }
}

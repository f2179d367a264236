//! Agent life cycle: login/logout, pause, registration, wrap-up, and where an
//! agent goes once an offer or a call lets go of it.
//!
//! Registration loss is modelled as `Paused { reason: "unregistered" }`
//! rather than a separate state: for distribution and statistics it is a
//! pause (pause time is counted under "unregistered"). An agent already
//! paused for another reason keeps that reason; when it unpauses while still
//! unregistered it lands in "unregistered"; re-registering ends only the
//! "unregistered" pause.
//!
//! Requests that cannot apply at once are remembered and applied when the
//! agent is next released: logout or pause while on a call (the call goes
//! on), and while ringing (the offer is withdrawn first, without counting as
//! a no-answer). Precedence on release: logout, then pause, then wrap-up,
//! then "unregistered", then Available.

use std::collections::BTreeMap;

use super::offer::OfferEnd;
use super::types::{
    AgentConfig, AgentState, EventKind, Output, PAUSE_NO_ANSWER, PAUSE_UNREGISTERED,
};
use super::Acd;

pub(super) struct Agent {
    pub(super) cfg: AgentConfig,
    pub(super) state: AgentState,
    pub(super) state_since_ms: u64,
    /// SIP registration as last reported; true until told otherwise.
    pub(super) registered: bool,
    /// Last call end, or login: the "idle" of longest-idle.
    pub(super) idle_since_ms: u64,
    /// Retry delay after an unanswered offer: not offered before this.
    pub(super) blocked_until_ms: u64,
    pub(super) consecutive_no_answer: u32,
    pub(super) pending_logout: bool,
    pub(super) pending_pause: Option<String>,
    /// Removed by config: deleted once logged out.
    pub(super) removed: bool,
    /// Start of the pause being counted (reset by `ResetStats`).
    pub(super) pause_started_ms: u64,
    pub(super) counters: AgentCounters,
}

#[derive(Default, Clone)]
pub(super) struct AgentCounters {
    /// Calls answered (callbacks: customer answered) since the reset point.
    pub(super) calls: u64,
    pub(super) talk_ms: u64,
    pub(super) no_answers: u64,
    pub(super) pause_ms: BTreeMap<String, u64>,
}

impl Agent {
    pub(super) fn logged_in(&self) -> bool {
        self.state != AgentState::LoggedOut
    }

    /// Logged in and not paused: counts as staffed for EWT.
    pub(super) fn staffed(&self) -> bool {
        !matches!(
            self.state,
            AgentState::LoggedOut | AgentState::Paused { .. }
        )
    }
}

impl Acd {
    pub(super) fn upsert_agent(&mut self, now: u64, cfg: AgentConfig) {
        if let Some(a) = self.agents.get_mut(&cfg.id) {
            a.cfg = cfg;
            a.removed = false;
            return;
        }
        let agent = Agent {
            state: AgentState::LoggedOut,
            state_since_ms: now,
            registered: true,
            idle_since_ms: now,
            blocked_until_ms: 0,
            consecutive_no_answer: 0,
            pending_logout: false,
            pending_pause: None,
            removed: false,
            pause_started_ms: now,
            counters: AgentCounters::default(),
            cfg,
        };
        self.agents.insert(agent.cfg.id.clone(), agent);
    }

    pub(super) fn remove_agent(&mut self, now: u64, id: &str) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        a.removed = true;
        for q in self.queues.values_mut() {
            q.members.retain(|m| m.agent != id);
        }
        if self
            .agents
            .get(id)
            .is_some_and(|a| a.state == AgentState::LoggedOut)
        {
            self.agents.remove(id);
        } else {
            self.logout(now, id);
        }
    }

    pub(super) fn login(&mut self, now: u64, id: &str) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        if a.logged_in() {
            // Logging back in before a pending logout took effect cancels it.
            a.pending_logout = false;
            return;
        }
        a.idle_since_ms = now;
        a.consecutive_no_answer = 0;
        a.blocked_until_ms = 0;
        a.pending_pause = None;
        self.become_ready(now, id);
    }

    pub(super) fn logout(&mut self, now: u64, id: &str) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        match a.state.clone() {
            AgentState::LoggedOut => {}
            AgentState::OnCall { .. } => a.pending_logout = true,
            AgentState::Ringing { offer } => {
                a.pending_logout = true;
                self.end_offer(now, offer, OfferEnd::Cancelled);
            }
            _ => {
                a.pending_logout = true;
                self.become_ready(now, id);
            }
        }
    }

    pub(super) fn pause(&mut self, now: u64, id: &str, reason: String) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        match a.state.clone() {
            AgentState::LoggedOut => {}
            AgentState::OnCall { .. } => a.pending_pause = Some(reason),
            AgentState::Ringing { offer } => {
                a.pending_pause = Some(reason);
                self.end_offer(now, offer, OfferEnd::Cancelled);
            }
            _ => self.set_agent_state(now, id, AgentState::Paused { reason }),
        }
    }

    pub(super) fn unpause(&mut self, now: u64, id: &str) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        a.pending_pause = None;
        a.consecutive_no_answer = 0;
        let paused = match &a.state {
            AgentState::Paused { reason } => reason != PAUSE_UNREGISTERED || a.registered,
            _ => false,
        };
        if paused {
            self.become_ready(now, id);
        }
    }

    pub(super) fn registration(&mut self, now: u64, id: &str, registered: bool) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        a.registered = registered;
        match a.state.clone() {
            AgentState::Available if !registered => self.become_ready(now, id),
            AgentState::Ringing { offer } if !registered => {
                self.end_offer(now, offer, OfferEnd::Cancelled)
            }
            AgentState::Paused { reason } if registered && reason == PAUSE_UNREGISTERED => {
                self.become_ready(now, id)
            }
            _ => {}
        }
    }

    /// The agent is free of offers and calls: apply what was pending.
    pub(super) fn become_ready(&mut self, now: u64, id: &str) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        let next = if a.pending_logout {
            a.pending_logout = false;
            a.pending_pause = None;
            AgentState::LoggedOut
        } else if let Some(reason) = a.pending_pause.take() {
            AgentState::Paused { reason }
        } else if !a.registered {
            AgentState::Paused {
                reason: PAUSE_UNREGISTERED.to_string(),
            }
        } else {
            AgentState::Available
        };
        self.set_agent_state(now, id, next);
        if self
            .agents
            .get(id)
            .is_some_and(|a| a.removed && a.state == AgentState::LoggedOut)
        {
            self.agents.remove(id);
        }
    }

    /// A call ended: wrap-up unless something pending takes precedence.
    pub(super) fn release_after_call(&mut self, now: u64, id: &str, wrap_ms: u64) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        a.idle_since_ms = now;
        if a.pending_logout || a.pending_pause.is_some() || wrap_ms == 0 {
            self.become_ready(now, id);
        } else {
            self.set_agent_state(
                now,
                id,
                AgentState::WrapUp {
                    until_ms: now + wrap_ms,
                },
            );
        }
    }

    /// An offer to this agent went unanswered (timeout or failure).
    pub(super) fn agent_no_answer(&mut self, now: u64, id: &str, retry_ms: u64) {
        let default_limit = self.settings.max_no_answer;
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        a.counters.no_answers += 1;
        a.consecutive_no_answer += 1;
        a.blocked_until_ms = now + retry_ms;
        let limit = a.cfg.max_no_answer.unwrap_or(default_limit);
        if limit > 0 && a.consecutive_no_answer >= limit {
            let n = a.consecutive_no_answer;
            a.consecutive_no_answer = 0;
            if a.pending_pause.is_none() {
                a.pending_pause = Some(PAUSE_NO_ANSWER.to_string());
            }
            self.log(
                now,
                None,
                None,
                Some(id),
                EventKind::AutoPause { no_answers: n },
            );
        }
        self.become_ready(now, id);
    }

    pub(super) fn end_wrap_ups(&mut self, now: u64) {
        let done: Vec<String> = self
            .agents
            .values()
            .filter(|a| matches!(a.state, AgentState::WrapUp { until_ms } if until_ms <= now))
            .map(|a| a.cfg.id.clone())
            .collect();
        for id in done {
            self.become_ready(now, &id);
        }
    }

    /// The only place agent state changes: pause accounting, output, log.
    pub(super) fn set_agent_state(&mut self, now: u64, id: &str, state: AgentState) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        if a.state == state {
            return;
        }
        if let AgentState::Paused { reason } = &a.state {
            let spent = now.saturating_sub(a.pause_started_ms);
            *a.counters.pause_ms.entry(reason.clone()).or_default() += spent;
        }
        if matches!(state, AgentState::Paused { .. }) {
            a.pause_started_ms = now;
        }
        a.state = state.clone();
        a.state_since_ms = now;
        self.emit(Output::AgentState {
            agent: id.to_string(),
            state: state.clone(),
        });
        self.log(now, None, None, Some(id), EventKind::AgentState { state });
    }
}

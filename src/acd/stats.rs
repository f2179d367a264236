//! Real-time statistics: a serializable snapshot of the counters kept since
//! the last `ResetStats` (the driver sends it at midnight) plus live state.
//!
//! Definitions (per queue, since the reset point):
//! - `joined`: callers accepted into the queue (refusals and restored
//!   callbacks excluded); `answered`: live callers connected to an agent.
//! - `service_level_pct` = 100 × answered within `service_level_ms` /
//!   (answered + abandoned); None when that denominator is 0.
//! - `asa_ms` (average speed of answer) = total wait of answered callers /
//!   answered.
//! - `aht_ms` (average handle time) = total (talk + configured wrap-up) of
//!   calls ended (callbacks included) / calls ended.
//! - `abandon_rate_pct` = 100 × abandoned / (answered + abandoned).
//! - `waiting` / `longest_wait_ms`: live callers still in the queue (being
//!   rung included); callback entries are counted apart.
//!
//! Per agent: `calls` answered (callbacks: customer answered), `talk_ms` of
//! ended calls, `no_answers`, pause time by reason (running pause included).

use std::collections::BTreeMap;

use serde::Serialize;

use super::queue::CallerState;
use super::types::AgentState;
use super::Acd;

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub at_ms: u64,
    /// The reset point the counters start from.
    pub since_ms: u64,
    pub queues: Vec<QueueStats>,
    pub agents: Vec<AgentStats>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgentsByState {
    pub logged_out: usize,
    pub available: usize,
    pub ringing: usize,
    pub on_call: usize,
    pub wrap_up: usize,
    pub paused: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueStats {
    pub name: String,
    pub waiting: usize,
    pub callbacks_waiting: usize,
    pub longest_wait_ms: u64,
    pub agents: AgentsByState,
    pub joined: u64,
    pub answered: u64,
    pub answered_within_sl: u64,
    pub abandoned: u64,
    pub overflowed: u64,
    pub refused: u64,
    pub callbacks_requested: u64,
    pub called_back: u64,
    pub callback_failed: u64,
    pub service_level_pct: Option<f64>,
    pub asa_ms: Option<u64>,
    pub aht_ms: Option<u64>,
    pub abandon_rate_pct: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgentStats {
    pub id: String,
    pub state: AgentState,
    pub state_since_ms: u64,
    pub calls: u64,
    pub talk_ms: u64,
    pub no_answers: u64,
    pub pause_ms: BTreeMap<String, u64>,
}

fn pct(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| 100.0 * num as f64 / den as f64)
}

impl Acd {
    pub fn stats(&self, now_ms: u64) -> Stats {
        let now = now_ms.max(self.now);
        let queues = self
            .queues
            .values()
            .map(|q| {
                let mut by_state = AgentsByState::default();
                for m in &q.members {
                    let Some(a) = self.agents.get(&m.agent) else {
                        continue;
                    };
                    match a.state {
                        AgentState::LoggedOut => by_state.logged_out += 1,
                        AgentState::Available => by_state.available += 1,
                        AgentState::Ringing { .. } => by_state.ringing += 1,
                        AgentState::OnCall { .. } => by_state.on_call += 1,
                        AgentState::WrapUp { .. } => by_state.wrap_up += 1,
                        AgentState::Paused { .. } => by_state.paused += 1,
                    }
                }
                let mine = || self.callers.values().filter(|c| c.queue == q.cfg.name);
                let live = || mine().filter(|c| c.is_live());
                let k = &q.counters;
                QueueStats {
                    name: q.cfg.name.clone(),
                    waiting: live().count(),
                    callbacks_waiting: mine()
                        .filter(|c| !c.is_live() && !matches!(c.state, CallerState::Dialing(_)))
                        .count(),
                    longest_wait_ms: live()
                        .map(|c| now.saturating_sub(c.joined_ms))
                        .max()
                        .unwrap_or(0),
                    agents: by_state,
                    joined: k.joined,
                    answered: k.answered,
                    answered_within_sl: k.answered_within_sl,
                    abandoned: k.abandoned,
                    overflowed: k.overflowed,
                    refused: k.refused,
                    callbacks_requested: k.callbacks_requested,
                    called_back: k.called_back,
                    callback_failed: k.callback_failed,
                    service_level_pct: pct(k.answered_within_sl, k.answered + k.abandoned),
                    asa_ms: (k.answered > 0).then(|| k.answered_wait_ms / k.answered),
                    aht_ms: (k.handled > 0).then(|| k.handle_ms / k.handled),
                    abandon_rate_pct: pct(k.abandoned, k.answered + k.abandoned),
                }
            })
            .collect();
        let agents = self
            .agents
            .values()
            .map(|a| {
                let mut pause_ms = a.counters.pause_ms.clone();
                if let AgentState::Paused { reason } = &a.state {
                    *pause_ms.entry(reason.clone()).or_default() +=
                        now.saturating_sub(a.pause_started_ms);
                }
                AgentStats {
                    id: a.cfg.id.clone(),
                    state: a.state.clone(),
                    state_since_ms: a.state_since_ms,
                    calls: a.counters.calls,
                    talk_ms: a.counters.talk_ms,
                    no_answers: a.counters.no_answers,
                    pause_ms,
                }
            })
            .collect();
        Stats {
            at_ms: now,
            since_ms: self.stats_since_ms,
            queues,
            agents,
        }
    }

    pub(super) fn reset_stats(&mut self, now: u64) {
        self.stats_since_ms = now;
        for q in self.queues.values_mut() {
            q.counters = Default::default();
        }
        for a in self.agents.values_mut() {
            a.counters = Default::default();
            // A running pause counts from the reset point on.
            a.pause_started_ms = now;
        }
    }
}

//! Distribution: which waiting caller gets which available agent.
//!
//! Fairness: waiting callers of all queues are served in one global order
//! (priority desc, join asc), each taking its pick among the agents still
//! free; so an agent freed while members of several queues gets the
//! longest-waiting, priority-adjusted caller among them. Agents are marked
//! Ringing as they are picked, so no agent gets two offers.
//!
//! Candidates for a caller: members of its queue that are Available, past
//! their retry delay and meet the caller's skill minimums (relaxed by the
//! queue's steps; this filter applies to every strategy). Only the
//! lowest-penalty tier among candidates is used. Within it, agents that
//! already let this caller's offer go unanswered come last, so a ring
//! timeout moves to the next agent whatever the strategy; then the
//! strategy's own order, then agent id.

use rand::Rng;

use super::queue::{Caller, CallerState, Queue};
use super::types::{AgentState, CallerKey, Strategy};
use super::Acd;

struct Candidate {
    agent: String,
    penalty: u32,
    tried: bool,
    /// Strategy order, lower first.
    rank: (u64, u64),
}

/// Effective minimums after relaxation; 0 means the skill is no longer
/// required.
fn relaxed_minimums(q: &Queue, c: &Caller, now: u64) -> Vec<(String, u8)> {
    let waited = now.saturating_sub(c.joined_ms);
    let relax: u32 = q
        .cfg
        .skill_relax
        .iter()
        .filter(|s| s.after_ms <= waited)
        .map(|s| u32::from(s.lower_by))
        .sum();
    let relax = relax.min(u32::from(u8::MAX)) as u8;
    c.skills
        .iter()
        .map(|(s, min)| (s.clone(), min.saturating_sub(relax)))
        .collect()
}

fn proficiency(skills: &[(String, u8)], name: &str) -> u8 {
    skills
        .iter()
        .find(|(s, _)| s == name)
        .map_or(0, |(_, p)| *p)
}

impl Acd {
    pub(super) fn dispatch(&mut self, now: u64) {
        let mut order: Vec<(_, CallerKey)> = self
            .callers
            .values()
            .filter(|c| c.state == CallerState::Waiting && c.not_before_ms <= now)
            .map(|c| (c.order_key(), c.key.clone()))
            .collect();
        order.sort();
        for (_, key) in order {
            for agent in self.pick_agents(now, &key) {
                self.make_offer(now, &key, &agent);
            }
        }
    }

    fn pick_agents(&mut self, now: u64, key: &str) -> Vec<String> {
        let Some(c) = self.callers.get(key) else {
            return Vec::new();
        };
        let Some(q) = self.queues.get(&c.queue) else {
            return Vec::new();
        };
        let minimums = relaxed_minimums(q, c, now);
        let n = q.members.len() as u64;
        let rr_start = q
            .rr_last
            .as_ref()
            .and_then(|last| q.members.iter().position(|m| &m.agent == last))
            .map_or(0, |i| i as u64 + 1);
        let mut cands: Vec<Candidate> = Vec::new();
        for (i, m) in q.members.iter().enumerate() {
            let Some(a) = self.agents.get(&m.agent) else {
                continue;
            };
            if a.state != AgentState::Available || a.blocked_until_ms > now {
                continue;
            }
            let qualified = minimums
                .iter()
                .all(|(s, min)| *min == 0 || proficiency(&a.cfg.skills, s) >= *min);
            if !qualified {
                continue;
            }
            let score: u64 = c
                .skills
                .iter()
                .map(|(s, _)| u64::from(proficiency(&a.cfg.skills, s)))
                .sum();
            let i = i as u64;
            let rank = match q.cfg.strategy {
                Strategy::RingAll | Strategy::Linear | Strategy::Random => (i, 0),
                Strategy::LongestIdle => (a.idle_since_ms, 0),
                Strategy::RoundRobin => ((i + n - rr_start % n.max(1)) % n.max(1), 0),
                Strategy::FewestCalls => (a.counters.calls, a.idle_since_ms),
                Strategy::SkillsBased => (u64::MAX - score, a.idle_since_ms),
            };
            cands.push(Candidate {
                agent: m.agent.clone(),
                penalty: m.penalty,
                tried: c.tried.contains(&m.agent),
                rank,
            });
        }
        let Some(tier) = cands.iter().map(|c| c.penalty).min() else {
            return Vec::new();
        };
        cands.retain(|c| c.penalty == tier);
        let strategy = q.cfg.strategy;
        match strategy {
            Strategy::RingAll => cands.into_iter().map(|c| c.agent).collect(),
            Strategy::Random => {
                // Untried agents first, uniformly among them.
                let untried: Vec<&Candidate> = cands.iter().filter(|c| !c.tried).collect();
                let pool: Vec<&Candidate> = if untried.is_empty() {
                    cands.iter().collect()
                } else {
                    untried
                };
                let pick = self.rng.gen_range(0..pool.len());
                vec![pool[pick].agent.clone()]
            }
            _ => {
                cands.sort_by(|a, b| (a.tried, a.rank, &a.agent).cmp(&(b.tried, b.rank, &b.agent)));
                cands.into_iter().take(1).map(|c| c.agent).collect()
            }
        }
    }
}

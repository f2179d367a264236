//! Queues and their callers: configuration, membership, join/refuse,
//! abandon, max-wait overflow, leave-when-empty, announcements with EWT, and
//! `finish_caller`, the single exit through which every caller leaves.
//!
//! Caller order (position, fairness across queues): higher priority first,
//! then earlier join, then arrival sequence.
//!
//! EWT = ceil(position / max(1, staffed)) × average handle time, where
//! staffed = members logged in and not paused (Available, Ringing, OnCall,
//! WrapUp) and the average handle time is the mean of the queue's last
//! `handle_window` handled calls' talk + wrap-up. No history yet: `None`.

use std::collections::VecDeque;

use super::offer::OfferEnd;
use super::types::{CallerKey, EventKind, LeaveReason, OfferId, Outcome, Output, QueueConfig};
use super::Acd;

pub(super) struct Member {
    pub(super) agent: String,
    /// Lower is tried first (tiers).
    pub(super) penalty: u32,
}

pub(super) struct Queue {
    pub(super) cfg: QueueConfig,
    /// In configuration order (linear and round-robin follow it).
    pub(super) members: Vec<Member>,
    /// Round-robin memory: the member last offered.
    pub(super) rr_last: Option<String>,
    /// Last `handle_window` talk + wrap times, ms.
    pub(super) handle_times: VecDeque<u64>,
    pub(super) counters: QueueCounters,
}

/// Counts since the last `ResetStats`.
#[derive(Default, Clone)]
pub(super) struct QueueCounters {
    pub(super) joined: u64,
    pub(super) answered: u64,
    pub(super) answered_within_sl: u64,
    pub(super) answered_wait_ms: u64,
    pub(super) abandoned: u64,
    pub(super) overflowed: u64,
    pub(super) refused: u64,
    pub(super) callbacks_requested: u64,
    pub(super) called_back: u64,
    pub(super) callback_failed: u64,
    pub(super) handled: u64,
    pub(super) handle_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CallerState {
    Waiting,
    /// Offers out (several only in ring-all).
    Offering(Vec<OfferId>),
    /// Callback: the agent answered, the customer is being dialed.
    Dialing(OfferId),
}

pub(super) struct CallbackEntry {
    pub(super) number: String,
    pub(super) attempts_made: u32,
}

pub(super) struct Caller {
    pub(super) key: CallerKey,
    pub(super) queue: String,
    pub(super) priority: i32,
    pub(super) skills: Vec<(String, u8)>,
    pub(super) joined_ms: u64,
    pub(super) seq: u64,
    pub(super) state: CallerState,
    /// Retry delay: not offered before this.
    pub(super) not_before_ms: u64,
    /// Agents that let this caller's offer go unanswered (tried last).
    pub(super) tried: Vec<String>,
    pub(super) next_announce_ms: Option<u64>,
    pub(super) callback: Option<CallbackEntry>,
}

impl Caller {
    /// Sort key: priority desc, join asc, sequence asc.
    pub(super) fn order_key(&self) -> (std::cmp::Reverse<i32>, u64, u64) {
        (std::cmp::Reverse(self.priority), self.joined_ms, self.seq)
    }

    pub(super) fn is_live(&self) -> bool {
        self.callback.is_none()
    }
}

impl Queue {
    pub(super) fn avg_handle_ms(&self) -> Option<u64> {
        let n = self.handle_times.len() as u64;
        (n > 0).then(|| self.handle_times.iter().sum::<u64>() / n)
    }

    pub(super) fn record_handle(&mut self, ms: u64) {
        self.counters.handled += 1;
        self.counters.handle_ms += ms;
        self.handle_times.push_back(ms);
        while self.handle_times.len() > self.cfg.handle_window.max(1) {
            self.handle_times.pop_front();
        }
    }
}

impl Acd {
    pub(super) fn upsert_queue(&mut self, cfg: QueueConfig) {
        if let Some(q) = self.queues.get_mut(&cfg.name) {
            q.cfg = cfg;
            return;
        }
        let q = Queue {
            cfg,
            members: Vec::new(),
            rr_last: None,
            handle_times: VecDeque::new(),
            counters: QueueCounters::default(),
        };
        self.queues.insert(q.cfg.name.clone(), q);
    }

    pub(super) fn remove_queue(&mut self, now: u64, name: &str) {
        if !self.queues.contains_key(name) {
            return;
        }
        let keys: Vec<CallerKey> = self.callers_of(name);
        for key in keys {
            let outcome = match self.callers.get(&key) {
                Some(c) if c.is_live() => Outcome::Overflowed(LeaveReason::QueueRemoved),
                Some(_) => Outcome::CallbackFailed,
                None => continue,
            };
            self.finish_caller(now, &key, outcome);
        }
        // Answered calls of this queue go on; their wrap-up becomes 0.
        self.queues.remove(name);
    }

    pub(super) fn set_member(&mut self, queue: &str, agent: &str, penalty: u32) {
        if !self.agents.contains_key(agent) {
            return;
        }
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        match q.members.iter_mut().find(|m| m.agent == agent) {
            Some(m) => m.penalty = penalty,
            None => {
                // Members stay sorted by agent id: linear and round-robin
                // then ring in the same order whatever order the store
                // delivered them in, before and after a restart.
                let at = q.members.partition_point(|m| m.agent.as_str() < agent);
                q.members.insert(
                    at,
                    Member {
                        agent: agent.to_string(),
                        penalty,
                    },
                );
            }
        }
    }

    pub(super) fn remove_member(&mut self, now: u64, queue: &str, agent: &str) {
        let Some(q) = self.queues.get_mut(queue) else {
            return;
        };
        q.members.retain(|m| m.agent != agent);
        let ringing_here: Vec<OfferId> = self
            .offers
            .values()
            .filter(|o| o.agent == agent && o.queue == queue && o.answered_ms.is_none())
            .map(|o| o.id)
            .collect();
        for id in ringing_here {
            self.end_offer(now, id, OfferEnd::Cancelled);
        }
    }

    pub(super) fn callers_of(&self, queue: &str) -> Vec<CallerKey> {
        self.callers
            .values()
            .filter(|c| c.queue == queue)
            .map(|c| c.key.clone())
            .collect()
    }

    fn any_member_logged_in(&self, queue: &str) -> bool {
        self.queues.get(queue).is_some_and(|q| {
            q.members
                .iter()
                .any(|m| self.agents.get(&m.agent).is_some_and(|a| a.logged_in()))
        })
    }

    pub(super) fn join(
        &mut self,
        now: u64,
        key: CallerKey,
        queue: String,
        priority: i32,
        skills: Vec<(String, u8)>,
    ) {
        self.join_entry(now, key, queue, priority, skills, false);
    }

    /// A join; `callback`: the entry becomes a callback at once
    /// (`JoinCallback`), so like every callback entry it may wait for
    /// agents to log in (`join_empty` does not apply; `max_callers` does).
    pub(super) fn join_entry(
        &mut self,
        now: u64,
        key: CallerKey,
        queue: String,
        priority: i32,
        skills: Vec<(String, u8)>,
        callback: bool,
    ) {
        if self.callers.contains_key(&key) {
            return; // duplicate key: the first entry stands
        }
        let Some(q) = self.queues.get(&queue) else {
            self.refuse(now, &key, None, LeaveReason::UnknownQueue);
            return;
        };
        let entries = self.callers.values().filter(|c| c.queue == queue).count();
        if q.cfg.max_callers.is_some_and(|max| entries >= max) {
            self.refuse(now, &key, Some(&queue), LeaveReason::Full);
            return;
        }
        if !callback && !q.cfg.join_empty && !self.any_member_logged_in(&queue) {
            self.refuse(now, &key, Some(&queue), LeaveReason::Empty);
            return;
        }
        let next_announce_ms = q.cfg.announce_period_ms.filter(|p| *p > 0).map(|p| now + p);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.callers.insert(
            key.clone(),
            Caller {
                key: key.clone(),
                queue: queue.clone(),
                priority,
                skills,
                joined_ms: now,
                seq,
                state: CallerState::Waiting,
                not_before_ms: 0,
                tried: Vec::new(),
                next_announce_ms,
                callback: None,
            },
        );
        if let Some(q) = self.queues.get_mut(&queue) {
            q.counters.joined += 1;
        }
        let position = self.position(&key).unwrap_or(0);
        self.log(
            now,
            Some(&queue),
            Some(&key),
            None,
            EventKind::Join { priority, position },
        );
    }

    fn refuse(&mut self, now: u64, key: &str, queue: Option<&str>, reason: LeaveReason) {
        let destination = queue.and_then(|q| self.queues.get_mut(q)).and_then(|q| {
            q.counters.refused += 1;
            q.cfg.overflow.clone()
        });
        self.log(now, queue, Some(key), None, EventKind::Refused { reason });
        self.emit(Output::Leave {
            caller: key.to_string(),
            reason,
            destination,
        });
        self.emit(Output::Finished {
            caller: key.to_string(),
            outcome: Outcome::Refused(reason),
        });
    }

    pub(super) fn abandon(&mut self, now: u64, key: &str) {
        let Some(c) = self.callers.get(key) else {
            return;
        };
        if matches!(c.state, CallerState::Dialing(_)) {
            return; // the customer dial reports its own result
        }
        let wait_ms = now.saturating_sub(c.joined_ms);
        let queue = c.queue.clone();
        let position = self.position(key).unwrap_or(0);
        self.log(
            now,
            Some(&queue),
            Some(key),
            None,
            EventKind::Abandon { wait_ms, position },
        );
        self.finish_caller(now, key, Outcome::Abandoned);
    }

    /// Make a caller leave to the overflow destination (live callers only).
    pub(super) fn overflow(&mut self, now: u64, key: &str, reason: LeaveReason) {
        let Some(c) = self.callers.get(key) else {
            return;
        };
        let wait_ms = now.saturating_sub(c.joined_ms);
        let queue = c.queue.clone();
        self.log(
            now,
            Some(&queue),
            Some(key),
            None,
            EventKind::Overflow { reason, wait_ms },
        );
        self.finish_caller(now, key, Outcome::Overflowed(reason));
    }

    /// The one exit of every caller: withdraws its pending offers, counts
    /// the outcome, tells the driver.
    pub(super) fn finish_caller(&mut self, now: u64, key: &str, outcome: Outcome) {
        let Some(c) = self.callers.get(key) else {
            return;
        };
        let pending: Vec<OfferId> = match &c.state {
            CallerState::Offering(list) => list.clone(),
            _ => Vec::new(),
        };
        for id in pending {
            self.end_offer(now, id, OfferEnd::Cancelled);
        }
        let Some(c) = self.callers.remove(key) else {
            return;
        };
        if let Some(q) = self.queues.get_mut(&c.queue) {
            let k = &mut q.counters;
            match outcome {
                Outcome::Answered => {
                    let wait = now.saturating_sub(c.joined_ms);
                    k.answered += 1;
                    k.answered_wait_ms += wait;
                    if wait <= q.cfg.service_level_ms {
                        k.answered_within_sl += 1;
                    }
                }
                Outcome::Abandoned => k.abandoned += 1,
                Outcome::Overflowed(_) => k.overflowed += 1,
                Outcome::CalledBack => k.called_back += 1,
                Outcome::CallbackFailed => k.callback_failed += 1,
                Outcome::Refused(_) => k.refused += 1,
            }
            if let Outcome::Overflowed(reason) = outcome {
                let destination = q.cfg.overflow.clone();
                self.emit(Output::Leave {
                    caller: key.to_string(),
                    reason,
                    destination,
                });
            }
        } else if let Outcome::Overflowed(reason) = outcome {
            self.emit(Output::Leave {
                caller: key.to_string(),
                reason,
                destination: None,
            });
        }
        self.emit(Output::Finished {
            caller: key.to_string(),
            outcome,
        });
    }

    /// 1-based position among the queue's entries not yet being served
    /// (callback entries keep their place and count).
    pub(super) fn position(&self, key: &str) -> Option<usize> {
        let c = self.callers.get(key)?;
        let mine = c.order_key();
        let ahead = self
            .callers
            .values()
            .filter(|o| o.queue == c.queue && !matches!(o.state, CallerState::Dialing(_)))
            .filter(|o| o.order_key() < mine)
            .count();
        Some(ahead + 1)
    }

    pub(super) fn ewt_ms(&self, queue: &str, position: usize) -> Option<u64> {
        let q = self.queues.get(queue)?;
        let avg = q.avg_handle_ms()?;
        let staffed = q
            .members
            .iter()
            .filter(|m| self.agents.get(&m.agent).is_some_and(|a| a.staffed()))
            .count();
        let rounds = position.div_ceil(staffed.max(1)) as u64;
        Some(rounds * avg)
    }

    pub(super) fn announce_due(&mut self, now: u64) {
        let due: Vec<CallerKey> = self
            .callers
            .values()
            .filter(|c| c.is_live() && c.next_announce_ms.is_some_and(|t| t <= now))
            .map(|c| c.key.clone())
            .collect();
        for key in due {
            let Some(c) = self.callers.get_mut(&key) else {
                continue;
            };
            let period = self
                .queues
                .get(&c.queue)
                .and_then(|q| q.cfg.announce_period_ms)
                .filter(|p| *p > 0);
            let (Some(period), Some(mut next)) = (period, c.next_announce_ms) else {
                c.next_announce_ms = None;
                continue;
            };
            while next <= now {
                next += period;
            }
            c.next_announce_ms = Some(next);
            // Someone is ringing for this caller: skip this round.
            if c.state != CallerState::Waiting {
                continue;
            }
            let queue = c.queue.clone();
            let position = self.position(&key).unwrap_or(1);
            let ewt_ms = self.ewt_ms(&queue, position);
            self.emit(Output::Announce {
                caller: key.clone(),
                position,
                ewt_ms,
            });
            self.log(
                now,
                Some(&queue),
                Some(&key),
                None,
                EventKind::Announce { position, ewt_ms },
            );
        }
    }

    /// Max wait for live callers; max age for callback entries.
    pub(super) fn caller_deadlines(&mut self, now: u64) {
        let mut timeouts = Vec::new();
        let mut expired_callbacks = Vec::new();
        for c in self.callers.values() {
            if matches!(c.state, CallerState::Dialing(_)) {
                continue;
            }
            let Some(q) = self.queues.get(&c.queue) else {
                continue;
            };
            let limit = if c.is_live() {
                q.cfg.max_wait_ms
            } else {
                q.cfg.callback.max_age_ms
            };
            if limit.is_some_and(|l| c.joined_ms + l <= now) {
                if c.is_live() {
                    timeouts.push(c.key.clone());
                } else {
                    expired_callbacks.push(c.key.clone());
                }
            }
        }
        for key in timeouts {
            self.overflow(now, &key, LeaveReason::Timeout);
        }
        for key in expired_callbacks {
            self.callback_give_up(now, &key);
        }
    }

    /// Future instants at which this caller needs the engine: deadlines,
    /// announcements, end of retry delay, skill relaxation steps.
    pub(super) fn caller_deadlines_of(&self, c: &Caller, now: u64) -> Vec<u64> {
        let mut at = Vec::new();
        let Some(q) = self.queues.get(&c.queue) else {
            return at;
        };
        if matches!(c.state, CallerState::Dialing(_)) {
            return at;
        }
        let limit = if c.is_live() {
            q.cfg.max_wait_ms
        } else {
            q.cfg.callback.max_age_ms
        };
        at.extend(limit.map(|l| c.joined_ms + l));
        if c.is_live() {
            at.extend(c.next_announce_ms);
        }
        if c.state == CallerState::Waiting {
            if c.not_before_ms > now {
                at.push(c.not_before_ms);
            }
            if !c.skills.is_empty() {
                at.extend(
                    q.cfg
                        .skill_relax
                        .iter()
                        .map(|s| c.joined_ms + s.after_ms)
                        .filter(|t| *t > now),
                );
            }
        }
        at
    }

    /// leave_when_empty: once no member is logged in, live callers leave.
    pub(super) fn flush_empty_queues(&mut self, now: u64) {
        let empty: Vec<String> = self
            .queues
            .values()
            .filter(|q| q.cfg.leave_when_empty && !self.any_member_logged_in(&q.cfg.name))
            .map(|q| q.cfg.name.clone())
            .collect();
        for queue in empty {
            let live: Vec<CallerKey> = self
                .callers
                .values()
                .filter(|c| c.queue == queue && c.is_live())
                .map(|c| c.key.clone())
                .collect();
            for key in live {
                self.overflow(now, &key, LeaveReason::Empty);
            }
        }
    }
}

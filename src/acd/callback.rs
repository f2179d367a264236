//! Callback entries: a waiting caller hands its place to a callback request.
//!
//! Sequence: `RequestCallback` (the caller's line goes away, the entry keeps
//! its join time and priority) → when its turn comes an agent is offered first
//! (`Offer`) → on `OfferAnswered` the core emits `DialCustomer` → the driver
//! reports `CustomerAnswered` (outcome `CalledBack`; the agent's call then
//! runs until `CallEnded { offer }`) or `CustomerFailed` (the agent is
//! released at once, without wrap-up; after `callback.max_attempts` failed
//! dials the entry ends `CallbackFailed`, otherwise it is offered again after
//! `callback.retry_delay_ms`, keeping its place). `RestoreCallback` re-creates
//! an entry after a restart with its original join time and priority.
//! `JoinCallback` is a request with no call before it (a web form): a join
//! and a request in one step, counted and logged like that pair; being a
//! callback from the start, it is accepted while no agent is logged in.
//! Callback entries are exempt from max wait, announcements and
//! leave-when-empty; `callback.max_age_ms` bounds them instead.

use super::queue::{CallbackEntry, Caller, CallerState};
use super::types::{AgentState, CallerKey, EventKind, Outcome, Output};
use super::Acd;

pub(super) struct Restore {
    pub(super) caller: CallerKey,
    pub(super) queue: String,
    pub(super) priority: i32,
    pub(super) skills: Vec<(String, u8)>,
    pub(super) number: String,
    pub(super) joined_ms: u64,
    pub(super) attempts_made: u32,
}

impl Acd {
    pub(super) fn request_callback(&mut self, now: u64, key: &str, number: String) {
        let Some(c) = self.callers.get(key) else {
            return;
        };
        if c.callback.is_some() || matches!(c.state, CallerState::Dialing(_)) {
            return;
        }
        // The caller's line is going away: withdraw whatever rings for it.
        if let CallerState::Offering(list) = &c.state {
            for id in list.clone() {
                self.end_offer(now, id, super::offer::OfferEnd::Cancelled);
            }
        }
        let Some(c) = self.callers.get_mut(key) else {
            return;
        };
        c.callback = Some(CallbackEntry {
            number: number.clone(),
            attempts_made: 0,
        });
        c.next_announce_ms = None;
        let queue = c.queue.clone();
        if let Some(q) = self.queues.get_mut(&queue) {
            q.counters.callbacks_requested += 1;
        }
        self.log(
            now,
            Some(&queue),
            Some(key),
            None,
            EventKind::CallbackRequested { number },
        );
    }

    pub(super) fn restore_callback(&mut self, now: u64, r: Restore) {
        if self.callers.contains_key(&r.caller) {
            return;
        }
        let Some(q) = self.queues.get(&r.queue) else {
            self.log(
                now,
                None,
                Some(&r.caller),
                None,
                EventKind::CallbackFailed {
                    attempts: r.attempts_made,
                },
            );
            self.emit(Output::Finished {
                caller: r.caller,
                outcome: Outcome::CallbackFailed,
            });
            return;
        };
        let max_attempts = q.cfg.callback.max_attempts;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.callers.insert(
            r.caller.clone(),
            Caller {
                key: r.caller.clone(),
                queue: r.queue.clone(),
                priority: r.priority,
                skills: r.skills,
                joined_ms: r.joined_ms,
                seq,
                state: CallerState::Waiting,
                not_before_ms: 0,
                tried: Vec::new(),
                next_announce_ms: None,
                callback: Some(CallbackEntry {
                    number: r.number,
                    attempts_made: r.attempts_made,
                }),
            },
        );
        self.log(
            now,
            Some(&r.queue),
            Some(&r.caller),
            None,
            EventKind::CallbackRestored {
                attempts_made: r.attempts_made,
            },
        );
        if r.attempts_made >= max_attempts {
            self.callback_give_up(now, &r.caller);
        }
    }

    pub(super) fn customer_answered(&mut self, now: u64, key: &str) {
        let Some(c) = self.callers.get(key) else {
            return;
        };
        let CallerState::Dialing(id) = c.state else {
            return;
        };
        let wait_ms = now.saturating_sub(c.joined_ms);
        let queue = c.queue.clone();
        let Some(o) = self.offers.get_mut(&id) else {
            return;
        };
        o.talk_start_ms = Some(now);
        let agent = o.agent.clone();
        if let Some(a) = self.agents.get_mut(&agent) {
            a.counters.calls += 1;
        }
        self.log(
            now,
            Some(&queue),
            Some(key),
            Some(&agent),
            EventKind::CallbackAnswered { offer: id, wait_ms },
        );
        self.finish_caller(now, key, Outcome::CalledBack);
    }

    pub(super) fn customer_failed(&mut self, now: u64, key: &str) {
        let Some(c) = self.callers.get_mut(key) else {
            return;
        };
        let CallerState::Dialing(id) = c.state else {
            return;
        };
        let Some(cb) = c.callback.as_mut() else {
            return;
        };
        cb.attempts_made += 1;
        let attempt = cb.attempts_made;
        c.state = CallerState::Waiting;
        let queue = c.queue.clone();
        let (max_attempts, retry) = self.queues.get(&queue).map_or((0, 0), |q| {
            (q.cfg.callback.max_attempts, q.cfg.callback.retry_delay_ms)
        });
        c.not_before_ms = now + retry;
        // The agent leg is released at once: no call happened, no wrap-up.
        if let Some(o) = self.offers.remove(&id) {
            let on_this = self
                .agents
                .get(&o.agent)
                .is_some_and(|a| a.state == AgentState::OnCall { offer: id });
            if on_this {
                if let Some(a) = self.agents.get_mut(&o.agent) {
                    a.idle_since_ms = now;
                }
                self.become_ready(now, &o.agent);
            }
        }
        self.log(
            now,
            Some(&queue),
            Some(key),
            None,
            EventKind::CallbackAttemptFailed { attempt },
        );
        if attempt >= max_attempts {
            self.callback_give_up(now, key);
        }
    }

    pub(super) fn callback_give_up(&mut self, now: u64, key: &str) {
        let Some(c) = self.callers.get(key) else {
            return;
        };
        let attempts = c.callback.as_ref().map_or(0, |cb| cb.attempts_made);
        let queue = c.queue.clone();
        self.log(
            now,
            Some(&queue),
            Some(key),
            None,
            EventKind::CallbackFailed { attempts },
        );
        self.finish_caller(now, key, Outcome::CallbackFailed);
    }
}

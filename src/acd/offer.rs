//! Offers: one caller rung on one agent, from `Output::Offer` until it is
//! answered (then it carries the call until `CallEnded`) or ends unanswered.
//!
//! Late answers: an `OfferAnswered` for an offer id that was issued but is no
//! longer current (withdrawn by timeout, lost ring-all race, caller gone) gets
//! `Output::RejectLateAnswer`; the driver hangs that agent leg up. The agent
//! state is not touched: it was already released when the offer ended
//! (Available, or its next offer/pause), so no wrap-up is charged for a call
//! that never happened.

use super::queue::CallerState;
use super::types::{AgentState, CallerKey, EventKind, OfferId, Outcome, Output};
use super::Acd;

pub(super) struct Offer {
    pub(super) id: OfferId,
    pub(super) caller: CallerKey,
    pub(super) agent: String,
    pub(super) queue: String,
    pub(super) created_ms: u64,
    pub(super) expires_ms: u64,
    /// Set when the agent answered: the offer is now a call.
    pub(super) answered_ms: Option<u64>,
    /// Talk starts at answer (callbacks: when the customer answers).
    pub(super) talk_start_ms: Option<u64>,
}

/// How an unanswered offer ended.
pub(super) enum OfferEnd {
    /// Withdrawn for reasons not the agent's fault (caller left, another
    /// agent won, agent logged out/paused): no no-answer counted.
    Cancelled,
    /// Ring timeout: counts as a no-answer.
    NoAnswer,
    /// The driver reported the agent leg failed (busy, rejected,
    /// unreachable): counts as a no-answer.
    Failed(String),
}

impl Acd {
    pub(super) fn make_offer(&mut self, now: u64, caller: &str, agent: &str) {
        let Some(c) = self.callers.get_mut(caller) else {
            return;
        };
        let Some(q) = self.queues.get_mut(&c.queue) else {
            return;
        };
        let id = OfferId(self.next_offer);
        self.next_offer += 1;
        match &mut c.state {
            CallerState::Offering(list) => list.push(id),
            state => *state = CallerState::Offering(vec![id]),
        }
        q.rr_last = Some(agent.to_string());
        let queue = c.queue.clone();
        let offer = Offer {
            id,
            caller: caller.to_string(),
            agent: agent.to_string(),
            queue: queue.clone(),
            created_ms: now,
            expires_ms: now + q.cfg.ring_timeout_ms,
            answered_ms: None,
            talk_start_ms: None,
        };
        self.offers.insert(id, offer);
        self.set_agent_state(now, agent, AgentState::Ringing { offer: id });
        self.emit(Output::Offer {
            offer: id,
            caller: caller.to_string(),
            agent: agent.to_string(),
            queue: queue.clone(),
        });
        self.log(
            now,
            Some(&queue),
            Some(caller),
            Some(agent),
            EventKind::Offer { offer: id },
        );
    }

    pub(super) fn offer_ringing(&mut self, now: u64, id: OfferId) {
        let Some(o) = self.offers.get(&id) else {
            return;
        };
        if o.answered_ms.is_some() {
            return;
        }
        let (q, c, a) = (o.queue.clone(), o.caller.clone(), o.agent.clone());
        self.log(
            now,
            Some(&q),
            Some(&c),
            Some(&a),
            EventKind::Ringing { offer: id },
        );
    }

    pub(super) fn offer_answered(&mut self, now: u64, id: OfferId) {
        let Some(o) = self.offers.get_mut(&id) else {
            if id.0 < self.next_offer {
                self.emit(Output::RejectLateAnswer { offer: id });
                self.log(now, None, None, None, EventKind::LateAnswer { offer: id });
            }
            return;
        };
        if o.answered_ms.is_some() {
            return; // duplicate answer of the running call
        }
        o.answered_ms = Some(now);
        let (caller, agent, queue) = (o.caller.clone(), o.agent.clone(), o.queue.clone());
        let ring_ms = now.saturating_sub(o.created_ms);
        if let Some(a) = self.agents.get_mut(&agent) {
            a.consecutive_no_answer = 0;
        }
        self.set_agent_state(now, &agent, AgentState::OnCall { offer: id });
        // Ring-all: the first answer wins, the others are withdrawn.
        let others: Vec<OfferId> = match self.callers.get(&caller).map(|c| &c.state) {
            Some(CallerState::Offering(list)) => {
                list.iter().copied().filter(|o| *o != id).collect()
            }
            _ => Vec::new(),
        };
        for other in others {
            self.end_offer(now, other, OfferEnd::Cancelled);
        }
        let Some(c) = self.callers.get_mut(&caller) else {
            return;
        };
        let wait_ms = now.saturating_sub(c.joined_ms);
        if let Some(cb) = &c.callback {
            let (number, attempt) = (cb.number.clone(), cb.attempts_made + 1);
            c.state = CallerState::Dialing(id);
            self.emit(Output::DialCustomer {
                offer: id,
                caller: caller.clone(),
                agent: agent.clone(),
                number,
            });
            self.log(
                now,
                Some(&queue),
                Some(&caller),
                Some(&agent),
                EventKind::CallbackDial { offer: id, attempt },
            );
            return;
        }
        c.state = CallerState::Offering(vec![id]);
        if let Some(o) = self.offers.get_mut(&id) {
            o.talk_start_ms = Some(now);
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.counters.calls += 1;
        }
        self.emit(Output::Connect {
            offer: id,
            caller: caller.clone(),
            agent: agent.clone(),
        });
        self.log(
            now,
            Some(&queue),
            Some(&caller),
            Some(&agent),
            EventKind::Answer {
                offer: id,
                wait_ms,
                ring_ms,
            },
        );
        // The answered offer is not withdrawn by finish_caller (answered).
        self.finish_caller(now, &caller, Outcome::Answered);
    }

    /// End an unanswered offer; answered offers end with `call_ended`.
    pub(super) fn end_offer(&mut self, now: u64, id: OfferId, how: OfferEnd) {
        match self.offers.get(&id) {
            Some(o) if o.answered_ms.is_none() => {}
            _ => return,
        }
        let Some(o) = self.offers.remove(&id) else {
            return;
        };
        let ring_ms = now.saturating_sub(o.created_ms);
        let (penalize, kind) = match how {
            OfferEnd::Cancelled => (false, EventKind::OfferCancelled { offer: id }),
            OfferEnd::NoAnswer => (true, EventKind::NoAnswer { offer: id, ring_ms }),
            OfferEnd::Failed(reason) => (true, EventKind::OfferFailed { offer: id, reason }),
        };
        if !matches!(kind, EventKind::OfferFailed { .. }) {
            self.emit(Output::CancelOffer { offer: id });
        }
        self.log(now, Some(&o.queue), Some(&o.caller), Some(&o.agent), kind);
        let retry_ms = self.queues.get(&o.queue).map_or(0, |q| q.cfg.retry_ms);
        if let Some(c) = self.callers.get_mut(&o.caller) {
            if let CallerState::Offering(list) = &mut c.state {
                list.retain(|x| *x != id);
                if list.is_empty() {
                    c.state = CallerState::Waiting;
                    if penalize {
                        c.not_before_ms = now + retry_ms;
                    }
                }
            }
            if penalize && !c.tried.contains(&o.agent) {
                c.tried.push(o.agent.clone());
            }
        }
        let ringing_this = self
            .agents
            .get(&o.agent)
            .is_some_and(|a| a.state == AgentState::Ringing { offer: id });
        if ringing_this {
            if penalize {
                self.agent_no_answer(now, &o.agent, retry_ms);
            } else {
                self.become_ready(now, &o.agent);
            }
        }
    }

    pub(super) fn expire_offers(&mut self, now: u64) {
        let expired: Vec<OfferId> = self
            .offers
            .values()
            .filter(|o| o.answered_ms.is_none() && o.expires_ms <= now)
            .map(|o| o.id)
            .collect();
        for id in expired {
            self.end_offer(now, id, OfferEnd::NoAnswer);
        }
    }

    pub(super) fn call_ended(&mut self, now: u64, id: OfferId) {
        match self.offers.get(&id) {
            Some(o) if o.answered_ms.is_some() => {}
            _ => return,
        }
        // Agent hung up while the customer was still being dialed.
        let caller = self
            .offers
            .get(&id)
            .map(|o| o.caller.clone())
            .unwrap_or_default();
        if self
            .callers
            .get(&caller)
            .is_some_and(|c| c.state == CallerState::Dialing(id))
        {
            self.customer_failed(now, &caller);
        }
        let Some(o) = self.offers.remove(&id) else {
            return;
        };
        let talk_ms = o.talk_start_ms.map(|t| now.saturating_sub(t));
        let wrap_ms = match talk_ms {
            Some(_) => self.queues.get(&o.queue).map_or(0, |q| q.cfg.wrap_up_ms),
            None => 0,
        };
        if let Some(talk) = talk_ms {
            if let Some(a) = self.agents.get_mut(&o.agent) {
                a.counters.talk_ms += talk;
            }
            if let Some(q) = self.queues.get_mut(&o.queue) {
                q.record_handle(talk + wrap_ms);
            }
        }
        self.log(
            now,
            Some(&o.queue),
            Some(&o.caller),
            Some(&o.agent),
            EventKind::CallEnded {
                offer: id,
                talk_ms: talk_ms.unwrap_or(0),
            },
        );
        let on_this = self
            .agents
            .get(&o.agent)
            .is_some_and(|a| a.state == AgentState::OnCall { offer: id });
        if on_this {
            self.release_after_call(now, &o.agent, wrap_ms);
        }
    }
}

//! RFC 3261 §17.1.1 INVITE client transaction, with the Accepted state of
//! RFC 6026 §7.2. Owns its request, retransmissions (Timer A), timeouts
//! (B, D, M, §9.1 CANCEL guard) and the ACK for non-2xx finals. Must not ACK
//! a 2xx: that ACK is end-to-end and belongs to the TU (§13.2.2.4).

use std::time::{Duration, Instant};

use super::event::TxEvent;
use super::helpers::ack_for_non_2xx;
use super::key::TransactionKey;
use super::outbox::Outbox;
use super::peer::Peer;
use super::timers::{due, earliest, TimerConfig};
use crate::sip::message::{Message, Request, Response};

/// States of Figure 5 (plus RFC 6026 Accepted), named by what they await.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    /// Request sent, retransmitting over UDP (Timer A); awaiting any response.
    Calling,
    /// A provisional arrived; no more retransmissions, awaiting a final.
    Proceeding,
    /// A 2xx arrived (RFC 6026); awaiting 2xx retransmissions from other
    /// forks or lost ACKs, passed up for 64*T1 (Timer M).
    Accepted,
    /// A 300-699 arrived and was ACKed; absorbing its retransmissions (Timer D).
    Completed,
    Terminated,
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    A,
    B,
    D,
    M,
    CancelGuard,
}

/// One INVITE client transaction. Created by `TransactionLayer::send_request`.
#[derive(Debug)]
pub struct ClientInviteTransaction {
    key: TransactionKey,
    request: Request,
    dest: Peer,
    config: TimerConfig,
    state: ClientInviteState,
    ack: Option<Request>,
    timer_a: Option<Instant>,
    a_interval: Duration,
    timer_b: Option<Instant>,
    timer_d: Option<Instant>,
    timer_m: Option<Instant>,
    cancel_guard: Option<Instant>,
}

impl ClientInviteTransaction {
    /// §17.1.1.2: send the request, start Timer A (UDP only) and Timer B.
    pub(crate) fn start(
        now: Instant,
        key: TransactionKey,
        request: Request,
        dest: Peer,
        config: TimerConfig,
        out: &mut Outbox,
    ) -> Self {
        out.send(&dest, Message::Request(request.clone()), Some(&key));
        let reliable = dest.is_reliable();
        ClientInviteTransaction {
            timer_a: (!reliable).then(|| now + config.t1),
            a_interval: config.t1,
            timer_b: Some(now + config.transaction_timeout()),
            timer_d: None,
            timer_m: None,
            cancel_guard: None,
            key,
            request,
            dest,
            config,
            state: ClientInviteState::Calling,
            ack: None,
        }
    }

    pub fn state(&self) -> ClientInviteState {
        self.state
    }
    pub fn key(&self) -> &TransactionKey {
        &self.key
    }
    pub fn request(&self) -> &Request {
        &self.request
    }
    pub fn is_terminated(&self) -> bool {
        self.state == ClientInviteState::Terminated
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_a,
            self.timer_b,
            self.timer_d,
            self.timer_m,
            self.cancel_guard,
        ])
    }

    /// §17.1.1.2 response handling, Figure 5 plus RFC 6026 §7.2.
    pub(crate) fn on_response(&mut self, now: Instant, resp: Response, out: &mut Outbox) {
        use ClientInviteState::*;
        let status = resp.status;
        match self.state {
            Calling | Proceeding if (100..200).contains(&status) => {
                self.state = Proceeding;
                // Retransmissions stop; Timer B only guards the Calling state.
                self.timer_a = None;
                self.timer_b = None;
                self.pass_up(resp, out);
            }
            Calling | Proceeding if (200..300).contains(&status) => {
                self.clear_timers();
                self.state = Accepted;
                self.timer_m = Some(now + self.config.transaction_timeout());
                self.pass_up(resp, out);
            }
            Calling | Proceeding if status >= 300 => {
                self.clear_timers();
                match ack_for_non_2xx(&self.request, &resp) {
                    Ok(ack) => {
                        out.send(&self.dest, Message::Request(ack.clone()), Some(&self.key));
                        self.ack = Some(ack);
                    }
                    // Only a response without To gets here; the peer will
                    // retransmit and eventually give up — nothing better to do.
                    Err(e) => tracing::debug!(key = %self.key, error = %e, "cannot build ACK"),
                }
                self.pass_up(resp, out);
                self.state = Completed;
                let d = self.config.timer_d(self.dest.is_reliable());
                if d.is_zero() {
                    self.state = Terminated;
                } else {
                    self.timer_d = Some(now + d);
                }
            }
            // RFC 6026 §7.2: every 2xx in Accepted goes up (other forks, or
            // a retransmission because our ACK was lost).
            Accepted if (200..300).contains(&status) => self.pass_up(resp, out),
            // §17.1.1.2: retransmitted final → ACK again, do not pass up.
            Completed if status >= 300 => {
                if let Some(ack) = &self.ack {
                    out.send(&self.dest, Message::Request(ack.clone()), Some(&self.key));
                }
            }
            _ => tracing::trace!(key = %self.key, status, state = ?self.state, "response absorbed"),
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Outbox) {
        let slots = [
            (Timer::A, self.timer_a),
            (Timer::B, self.timer_b),
            (Timer::D, self.timer_d),
            (Timer::M, self.timer_m),
            (Timer::CancelGuard, self.cancel_guard),
        ];
        for timer in due(now, &slots) {
            if self.is_terminated() {
                break;
            }
            match timer {
                // Timer A: retransmit, double the interval (no T2 cap for INVITE).
                Timer::A => {
                    out.send(
                        &self.dest,
                        Message::Request(self.request.clone()),
                        Some(&self.key),
                    );
                    self.a_interval *= 2;
                    self.timer_a = Some(now + self.a_interval);
                }
                Timer::B => self.time_out(out),
                Timer::D | Timer::M => {
                    self.clear_timers();
                    self.state = ClientInviteState::Terminated;
                }
                // §9.1: no final response 64*T1 after our CANCEL → give up.
                Timer::CancelGuard => self.time_out(out),
            }
        }
    }

    /// §9.1: the TU sent a CANCEL for this INVITE. If no final response
    /// arrives within 64*T1 the transaction is destroyed; without this an
    /// INVITE stuck in Proceeding would live forever.
    pub(crate) fn on_cancel_sent(&mut self, now: Instant) {
        if matches!(
            self.state,
            ClientInviteState::Calling | ClientInviteState::Proceeding
        ) && self.cancel_guard.is_none()
        {
            self.cancel_guard = Some(now + self.config.transaction_timeout());
        }
    }

    /// §17.1.4: a transport failure ends the transaction and tells the TU.
    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if !self.is_terminated() {
            out.event(TxEvent::TransportError {
                key: self.key.clone(),
            });
            self.clear_timers();
            self.state = ClientInviteState::Terminated;
        }
    }

    fn time_out(&mut self, out: &mut Outbox) {
        out.event(TxEvent::Timeout {
            key: self.key.clone(),
        });
        self.clear_timers();
        self.state = ClientInviteState::Terminated;
    }

    fn pass_up(&self, response: Response, out: &mut Outbox) {
        out.event(TxEvent::Response {
            key: self.key.clone(),
            response,
        });
    }

    fn clear_timers(&mut self) {
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        self.timer_m = None;
        self.cancel_guard = None;
    }
}

//! RFC 3261 §17.1.2 non-INVITE client transaction (Figure 6). Owns its
//! request, retransmissions (Timer E, capped at T2) and Timers F and K.

use std::time::{Duration, Instant};

use super::event::TxEvent;
use super::key::TransactionKey;
use super::outbox::Outbox;
use super::peer::Peer;
use super::timers::{due, earliest, TimerConfig};
use crate::sip::message::{Message, Request, Response};

/// States of Figure 6, named by what they await.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// A CANCEL not yet sent: its INVITE has had no provisional response
    /// (§9.1 "MUST NOT be sent"). Nothing on the wire, no timers.
    Held,
    /// Request sent, retransmitting (Timer E) while awaiting any response.
    Trying,
    /// A provisional arrived; still retransmitting every T2, awaiting a final.
    Proceeding,
    /// Final received; absorbing its retransmissions (Timer K).
    Completed,
    Terminated,
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    E,
    F,
    K,
}

/// One non-INVITE client transaction (also CANCEL). Created by
/// `TransactionLayer::send_request`.
#[derive(Debug)]
pub struct ClientNonInviteTransaction {
    key: TransactionKey,
    request: Request,
    dest: Peer,
    config: TimerConfig,
    state: ClientNonInviteState,
    timer_e: Option<Instant>,
    e_interval: Duration,
    timer_f: Option<Instant>,
    timer_k: Option<Instant>,
}

impl ClientNonInviteTransaction {
    /// §17.1.2.2: send, start Timer E (UDP only) and Timer F.
    pub(crate) fn start(
        now: Instant,
        key: TransactionKey,
        request: Request,
        dest: Peer,
        config: TimerConfig,
        out: &mut Outbox,
    ) -> Self {
        let mut t = Self::held(key, request, dest, config);
        t.release(now, out);
        t
    }

    /// A transaction whose request is not sent yet (a CANCEL waiting for
    /// its INVITE's provisional response, §9.1).
    pub(crate) fn held(
        key: TransactionKey,
        request: Request,
        dest: Peer,
        config: TimerConfig,
    ) -> Self {
        ClientNonInviteTransaction {
            timer_e: None,
            e_interval: config.t1,
            timer_f: None,
            timer_k: None,
            key,
            request,
            dest,
            config,
            state: ClientNonInviteState::Held,
        }
    }

    /// Send the held request and start Timers E (UDP only) and F.
    pub(crate) fn release(&mut self, now: Instant, out: &mut Outbox) {
        if self.state != ClientNonInviteState::Held {
            return;
        }
        out.send(
            &self.dest,
            Message::Request(self.request.clone()),
            Some(&self.key),
        );
        if !self.dest.is_reliable() {
            self.timer_e = Some(now + self.config.t1);
        }
        self.timer_f = Some(now + self.config.transaction_timeout());
        self.state = ClientNonInviteState::Trying;
    }

    /// Drop a held request that became pointless (its INVITE got a final
    /// response or died before any provisional).
    pub(crate) fn abandon(&mut self) {
        if self.state == ClientNonInviteState::Held {
            self.terminate();
        }
    }

    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }
    pub fn key(&self) -> &TransactionKey {
        &self.key
    }
    pub fn request(&self) -> &Request {
        &self.request
    }
    pub fn is_terminated(&self) -> bool {
        self.state == ClientNonInviteState::Terminated
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        earliest(&[self.timer_e, self.timer_f, self.timer_k])
    }

    pub(crate) fn on_response(&mut self, now: Instant, resp: Response, out: &mut Outbox) {
        use ClientNonInviteState::*;
        let status = resp.status;
        match self.state {
            Trying | Proceeding if status < 200 => {
                self.state = Proceeding;
                out.event(TxEvent::Response {
                    key: self.key.clone(),
                    response: resp,
                });
            }
            Trying | Proceeding => {
                self.timer_e = None;
                self.timer_f = None;
                out.event(TxEvent::Response {
                    key: self.key.clone(),
                    response: resp,
                });
                let k = self.config.timer_i_k(self.dest.is_reliable());
                if k.is_zero() {
                    self.state = Terminated;
                } else {
                    self.state = Completed;
                    self.timer_k = Some(now + k);
                }
            }
            // Completed: retransmitted finals are absorbed (Figure 6).
            _ => tracing::trace!(key = %self.key, status, state = ?self.state, "response absorbed"),
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Outbox) {
        let slots = [
            (Timer::E, self.timer_e),
            (Timer::F, self.timer_f),
            (Timer::K, self.timer_k),
        ];
        for timer in due(now, &slots) {
            if self.is_terminated() {
                break;
            }
            match timer {
                // Timer E: doubling up to T2 in Trying; §17.1.2.2 resets to T2
                // once Proceeding (the server is alive but slow).
                Timer::E => {
                    out.send(
                        &self.dest,
                        Message::Request(self.request.clone()),
                        Some(&self.key),
                    );
                    self.e_interval = match self.state {
                        ClientNonInviteState::Proceeding => self.config.t2,
                        _ => (self.e_interval * 2).min(self.config.t2),
                    };
                    self.timer_e = Some(now + self.e_interval);
                }
                Timer::F => {
                    out.event(TxEvent::Timeout {
                        key: self.key.clone(),
                    });
                    self.terminate();
                }
                Timer::K => self.terminate(),
            }
        }
    }

    /// §17.1.4.
    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if !self.is_terminated() {
            out.event(TxEvent::TransportError {
                key: self.key.clone(),
            });
            self.terminate();
        }
    }

    fn terminate(&mut self) {
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
        self.state = ClientNonInviteState::Terminated;
    }
}

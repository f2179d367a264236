//! RFC 3261 §17.2.1 INVITE server transaction (Figure 7) with the Accepted
//! state of RFC 6026 §7.1. Owns the received INVITE, the last response, the
//! automatic 100 Trying, Timers G, H, I, L. Must not retransmit 2xx on its
//! own: that is the TU's job (§13.3.1.4); in Accepted it only forwards the
//! TU's retransmissions and absorbs INVITE retransmissions.

use std::time::{Duration, Instant};

use super::error::TransactionError;
use super::event::TxEvent;
use super::helpers::{to_tag, trying_response};
use super::key::TransactionKey;
use super::outbox::Outbox;
use super::peer::Peer;
use super::timers::{due, earliest, TimerConfig};
use crate::sip::message::{Message, Request, Response};

/// States of Figure 7 (plus RFC 6026 Accepted), named by what they await.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    /// Awaiting the TU's responses; re-sends the last provisional when the
    /// INVITE is retransmitted.
    Proceeding,
    /// TU sent 2xx (RFC 6026); awaiting the TU's 2xx retransmissions,
    /// absorbing INVITE retransmissions, for 64*T1 (Timer L).
    Accepted,
    /// Non-2xx final sent; awaiting the ACK, retransmitting the final over
    /// UDP (Timer G) until Timer H.
    Completed,
    /// ACK received; absorbing ACK retransmissions (Timer I).
    Confirmed,
    Terminated,
}

impl ServerInviteState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServerInviteState::Proceeding => "Proceeding",
            ServerInviteState::Accepted => "Accepted",
            ServerInviteState::Completed => "Completed",
            ServerInviteState::Confirmed => "Confirmed",
            ServerInviteState::Terminated => "Terminated",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    Trying,
    G,
    H,
    I,
    L,
}

/// One INVITE server transaction, created when a new INVITE arrives.
#[derive(Debug)]
pub struct ServerInviteTransaction {
    key: TransactionKey,
    request: Request,
    source: Peer,
    config: TimerConfig,
    state: ServerInviteState,
    last_response: Option<Response>,
    timer_trying: Option<Instant>,
    timer_g: Option<Instant>,
    g_interval: Duration,
    timer_h: Option<Instant>,
    timer_i: Option<Instant>,
    timer_l: Option<Instant>,
}

impl ServerInviteTransaction {
    /// §17.2.1: the 100 Trying goes out after `trying_delay` unless the TU
    /// responds first. Waiting (200 ms by default, as the RFC allows) saves a
    /// datagram on every INVITE the B2BUA answers at once (407 challenges,
    /// 404, 486, fast 180) and still beats the client's first retransmission
    /// at T1 = 500 ms.
    pub(crate) fn start(
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
        config: TimerConfig,
        out: &mut Outbox,
    ) -> Self {
        let mut t = ServerInviteTransaction {
            key,
            request,
            source,
            config,
            state: ServerInviteState::Proceeding,
            last_response: None,
            timer_trying: None,
            timer_g: None,
            g_interval: config.t1,
            timer_h: None,
            timer_i: None,
            timer_l: None,
        };
        if config.trying_delay.is_zero() {
            t.send_trying(out);
        } else {
            t.timer_trying = Some(now + config.trying_delay);
        }
        t
    }

    pub fn state(&self) -> ServerInviteState {
        self.state
    }
    pub fn key(&self) -> &TransactionKey {
        &self.key
    }
    pub fn request(&self) -> &Request {
        &self.request
    }
    pub fn source(&self) -> &Peer {
        &self.source
    }
    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }
    /// The To tag of the last response sent, if any (reused for the 200 to a
    /// CANCEL, §9.2, and to verify RFC 2543 ACKs).
    pub(crate) fn response_to_tag(&self) -> Option<String> {
        self.last_response.as_ref().and_then(|r| to_tag(&r.headers))
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_trying,
            self.timer_g,
            self.timer_h,
            self.timer_i,
            self.timer_l,
        ])
    }

    /// §17.2.1: the INVITE arrived again.
    pub(crate) fn on_request_retransmit(&mut self, out: &mut Outbox) {
        match self.state {
            ServerInviteState::Proceeding => match &self.last_response {
                Some(resp) => out.send(
                    &self.source,
                    Message::Response(resp.clone()),
                    Some(&self.key),
                ),
                // The client already retransmits and we have said nothing:
                // tell it we are alive now rather than at the Trying timer.
                None => self.send_trying(out),
            },
            ServerInviteState::Completed => self.resend_last(out),
            // Accepted: RFC 6026 §7.1 absorbs; Confirmed: nothing to say.
            _ => {
                tracing::trace!(key = %self.key, state = ?self.state, "INVITE retransmission absorbed")
            }
        }
    }

    /// §17.2.1 ACK handling; RFC 6026 §7.1 passes ACKs in Accepted up.
    pub(crate) fn on_ack(&mut self, now: Instant, ack: Request, source: Peer, out: &mut Outbox) {
        match self.state {
            ServerInviteState::Completed => {
                self.timer_g = None;
                self.timer_h = None;
                let i = self.config.timer_i_k(self.source.is_reliable());
                if i.is_zero() {
                    self.state = ServerInviteState::Terminated;
                } else {
                    self.state = ServerInviteState::Confirmed;
                    self.timer_i = Some(now + i);
                }
            }
            ServerInviteState::Accepted => {
                out.event(TxEvent::Ack {
                    key: Some(self.key.clone()),
                    request: ack,
                    source,
                });
            }
            _ => tracing::trace!(key = %self.key, state = ?self.state, "ACK absorbed"),
        }
    }

    /// The TU answers (§17.2.1, RFC 6026 §7.1).
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        resp: Response,
        out: &mut Outbox,
    ) -> Result<(), TransactionError> {
        let status = resp.status;
        match self.state {
            ServerInviteState::Proceeding => {
                self.timer_trying = None;
                out.send(
                    &self.source,
                    Message::Response(resp.clone()),
                    Some(&self.key),
                );
                self.last_response = Some(resp);
                if (200..300).contains(&status) {
                    self.state = ServerInviteState::Accepted;
                    self.timer_l = Some(now + self.config.transaction_timeout());
                } else if status >= 300 {
                    self.state = ServerInviteState::Completed;
                    if !self.source.is_reliable() {
                        self.timer_g = Some(now + self.g_interval);
                    }
                    self.timer_h = Some(now + self.config.transaction_timeout());
                }
                Ok(())
            }
            // The TU retransmits its 2xx (§13.3.1.4) or a 2xx from a second
            // fork's answer; both pass through.
            ServerInviteState::Accepted if (200..300).contains(&status) => {
                out.send(&self.source, Message::Response(resp), Some(&self.key));
                Ok(())
            }
            state => Err(TransactionError::WrongState {
                key: self.key.clone(),
                status,
                state: state.name(),
            }),
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Outbox) {
        let slots = [
            (Timer::Trying, self.timer_trying),
            (Timer::G, self.timer_g),
            (Timer::H, self.timer_h),
            (Timer::I, self.timer_i),
            (Timer::L, self.timer_l),
        ];
        for timer in due(now, &slots) {
            if self.is_terminated() {
                break;
            }
            match timer {
                Timer::Trying => {
                    self.timer_trying = None;
                    if self.state == ServerInviteState::Proceeding && self.last_response.is_none() {
                        self.send_trying(out);
                    }
                }
                // Timer G: retransmit the final, doubling up to T2.
                Timer::G => {
                    self.resend_last(out);
                    self.g_interval = (self.g_interval * 2).min(self.config.t2);
                    self.timer_g = Some(now + self.g_interval);
                }
                // Timer H: the ACK never came.
                Timer::H => {
                    out.event(TxEvent::Timeout {
                        key: self.key.clone(),
                    });
                    self.terminate();
                }
                Timer::I | Timer::L => self.terminate(),
            }
        }
    }

    /// §17.2.4.
    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if !self.is_terminated() {
            out.event(TxEvent::TransportError {
                key: self.key.clone(),
            });
            self.terminate();
        }
    }

    fn send_trying(&mut self, out: &mut Outbox) {
        self.timer_trying = None;
        let trying = trying_response(&self.request);
        out.send(
            &self.source,
            Message::Response(trying.clone()),
            Some(&self.key),
        );
        self.last_response = Some(trying);
    }

    fn resend_last(&self, out: &mut Outbox) {
        if let Some(resp) = &self.last_response {
            out.send(
                &self.source,
                Message::Response(resp.clone()),
                Some(&self.key),
            );
        }
    }

    fn terminate(&mut self) {
        self.timer_trying = None;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        self.timer_l = None;
        self.state = ServerInviteState::Terminated;
    }
}

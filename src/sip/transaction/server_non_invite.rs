//! RFC 3261 §17.2.2 non-INVITE server transaction (Figure 8). Owns the
//! received request, the last response and Timer J. Also carries the
//! layer's own answers (200 to CANCEL, 481, 482) so their retransmissions
//! are absorbed like any other.

use std::time::Instant;

use super::error::TransactionError;
use super::key::TransactionKey;
use super::outbox::Outbox;
use super::peer::Peer;
use super::timers::{earliest, TimerConfig};
use crate::sip::message::{Message, Request, Response};

/// States of Figure 8, named by what they await.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Awaiting the TU's first response; request retransmissions are absorbed.
    Trying,
    /// Provisional sent; re-sent on each request retransmission.
    Proceeding,
    /// Final sent; re-sent on each request retransmission until Timer J.
    Completed,
    Terminated,
}

impl ServerNonInviteState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ServerNonInviteState::Trying => "Trying",
            ServerNonInviteState::Proceeding => "Proceeding",
            ServerNonInviteState::Completed => "Completed",
            ServerNonInviteState::Terminated => "Terminated",
        }
    }
}

/// One non-INVITE server transaction (CANCEL included).
#[derive(Debug)]
pub struct ServerNonInviteTransaction {
    key: TransactionKey,
    request: Request,
    source: Peer,
    config: TimerConfig,
    state: ServerNonInviteState,
    last_response: Option<Response>,
    timer_j: Option<Instant>,
}

impl ServerNonInviteTransaction {
    /// §17.2.2: no automatic 100 here — RFC 4320 advises against it for
    /// non-INVITE, and the TU usually answers at once.
    pub(crate) fn start(
        key: TransactionKey,
        request: Request,
        source: Peer,
        config: TimerConfig,
    ) -> Self {
        ServerNonInviteTransaction {
            key,
            request,
            source,
            config,
            state: ServerNonInviteState::Trying,
            last_response: None,
            timer_j: None,
        }
    }

    pub fn state(&self) -> ServerNonInviteState {
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
        self.state == ServerNonInviteState::Terminated
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        earliest(&[self.timer_j])
    }

    pub(crate) fn on_request_retransmit(&mut self, out: &mut Outbox) {
        match (&self.state, &self.last_response) {
            (ServerNonInviteState::Proceeding | ServerNonInviteState::Completed, Some(resp)) => out
                .send(
                    &self.source,
                    Message::Response(resp.clone()),
                    Some(&self.key),
                ),
            _ => {
                tracing::trace!(key = %self.key, state = ?self.state, "request retransmission absorbed")
            }
        }
    }

    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        resp: Response,
        out: &mut Outbox,
    ) -> Result<(), TransactionError> {
        let status = resp.status;
        match self.state {
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding => {
                out.send(
                    &self.source,
                    Message::Response(resp.clone()),
                    Some(&self.key),
                );
                self.last_response = Some(resp);
                if status < 200 {
                    self.state = ServerNonInviteState::Proceeding;
                } else {
                    let j = self.config.timer_j(self.source.is_reliable());
                    if j.is_zero() {
                        self.state = ServerNonInviteState::Terminated;
                    } else {
                        self.state = ServerNonInviteState::Completed;
                        self.timer_j = Some(now + j);
                    }
                }
                Ok(())
            }
            state => Err(TransactionError::WrongState {
                key: self.key.clone(),
                status,
                state: state.name(),
            }),
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        if self.timer_j.is_some_and(|j| j <= now) {
            self.timer_j = None;
            self.state = ServerNonInviteState::Terminated;
        }
    }

    /// §17.2.4.
    pub(crate) fn on_transport_error(&mut self, out: &mut Outbox) {
        if !self.is_terminated() {
            out.event(super::event::TxEvent::TransportError {
                key: self.key.clone(),
            });
            self.timer_j = None;
            self.state = ServerNonInviteState::Terminated;
        }
    }
}

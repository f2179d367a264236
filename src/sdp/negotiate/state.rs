//! Offer/answer sequencing for one session: at most one offer outstanding at a time.
//!
//! Owns: the [`OfferAnswerState`] machine and glare detection (RFC 3264 §4, RFC 3261 §14).
//! Must not touch: SDP contents (answer/offer do that), SIP messages, timers (the 491 back-off
//! of RFC 3261 §14.1 is the dialog layer's).

use super::error::NegotiationError;

/// Where the session's offer/answer exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferAnswerState {
    /// No SDP exchanged yet.
    Idle,
    /// We sent an offer and expect the answer.
    OfferSent,
    /// We received an offer and owe the answer.
    OfferReceived,
    /// An exchange completed; either side may offer again (RFC 3264 §8).
    Stable,
}

/// Sans-IO tracker: the call layer reports what it sends and receives; the tracker refuses what
/// RFC 3261 §14 forbids and says which status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferAnswer {
    state: OfferAnswerState,
    /// Whether an exchange ever completed, so a failed offer returns to `Stable`, not `Idle`.
    established: bool,
}

impl Default for OfferAnswer {
    fn default() -> Self {
        Self::new()
    }
}

impl OfferAnswer {
    pub fn new() -> Self {
        OfferAnswer {
            state: OfferAnswerState::Idle,
            established: false,
        }
    }

    pub fn state(&self) -> OfferAnswerState {
        self.state
    }

    /// We are about to send an offer. Refused while any offer is outstanding (RFC 3261 §14.1:
    /// no new re-INVITE while one is in progress in either direction).
    pub fn send_offer(&mut self) -> Result<(), NegotiationError> {
        match self.state {
            OfferAnswerState::Idle | OfferAnswerState::Stable => {
                self.state = OfferAnswerState::OfferSent;
                Ok(())
            }
            OfferAnswerState::OfferSent | OfferAnswerState::OfferReceived => {
                Err(NegotiationError::OfferPending)
            }
        }
    }

    /// An offer arrived. While ours is outstanding that is glare: answer 491 (RFC 3261 §14.2).
    /// While we still owe an answer to an earlier one: answer 500 with Retry-After (same
    /// section). The state is unchanged when refused.
    pub fn receive_offer(&mut self) -> Result<(), NegotiationError> {
        match self.state {
            OfferAnswerState::Idle | OfferAnswerState::Stable => {
                self.state = OfferAnswerState::OfferReceived;
                Ok(())
            }
            OfferAnswerState::OfferSent => Err(NegotiationError::Glare),
            OfferAnswerState::OfferReceived => Err(NegotiationError::OfferInProgress),
        }
    }

    /// We are sending the answer to the offer we received.
    pub fn send_answer(&mut self) -> Result<(), NegotiationError> {
        self.complete(OfferAnswerState::OfferReceived)
    }

    /// The answer to our offer arrived.
    pub fn receive_answer(&mut self) -> Result<(), NegotiationError> {
        self.complete(OfferAnswerState::OfferSent)
    }

    /// The outstanding offer failed: we rejected theirs (488, 491, 500) or ours got a failure
    /// response. The session stays as it was before the offer (RFC 3261 §14.1).
    pub fn rollback(&mut self) {
        self.state = if self.established {
            OfferAnswerState::Stable
        } else {
            OfferAnswerState::Idle
        };
    }

    fn complete(&mut self, expected: OfferAnswerState) -> Result<(), NegotiationError> {
        if self.state != expected {
            return Err(NegotiationError::NoOfferPending);
        }
        self.state = OfferAnswerState::Stable;
        self.established = true;
        Ok(())
    }
}

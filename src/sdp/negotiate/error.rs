//! Errors of offer/answer negotiation and of codec preference lists.
//!
//! Owns: [`NegotiationError`] (with the SIP status the call layer should answer) and
//! [`CodecPrefsError`] (config validation). Must not touch: SIP messages themselves.
//!
//! Like [`crate::sdp::SdpError`], `NegotiationError`'s `Display` is built only from static text
//! and numbers, so it can go into a SIP reason phrase; `CodecPrefsError` quotes the config token
//! because it is shown to the administrator, never sent on the wire.

use thiserror::Error;

use crate::sdp::SdpError;

/// Why an offer could not be answered, an answer not accepted, or an offer not sent now.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NegotiationError {
    /// No offered stream could be accepted: no codec in common, only media types or transports
    /// we do not terminate, or no streams at all (RFC 3264 §6). Answer 488.
    #[error("no common codec")]
    NoCommonCodec,
    /// The answer does not have exactly one `m=` line per offered one (RFC 3264 §6).
    #[error("answer has {answered} media lines, offer had {offered}")]
    MediaCountMismatch { offered: usize, answered: usize },
    /// Answer `m=` line `index` has another media type than the offer's (RFC 3264 §6).
    #[error("answer media {index} changes the media type")]
    MediaTypeMismatch { index: usize },
    /// Answer `m=` line `index` is accepted but names no codec we offered (RFC 3264 §7).
    #[error("answer media {index} names no offered codec")]
    NotInOffer { index: usize },
    /// An offer arrived while our own offer is outstanding: glare (RFC 3261 §14.2). Answer 491.
    #[error("offer while our offer is pending")]
    Glare,
    /// A second offer arrived before we answered the first (RFC 3261 §14.2). Answer 500 with
    /// Retry-After.
    #[error("offer while an offer is being answered")]
    OfferInProgress,
    /// We tried to send an offer while one is outstanding in either direction; wait for it to
    /// complete (RFC 3261 §14.1) and retry.
    #[error("an offer is already pending")]
    OfferPending,
    /// An answer was sent or received with no offer outstanding (RFC 3264 §4).
    #[error("no offer is pending")]
    NoOfferPending,
    /// A rewrite of the description failed.
    #[error(transparent)]
    Sdp(#[from] SdpError),
}

impl NegotiationError {
    /// The SIP final response to send for an offer we could not take, or `None` when the error
    /// is about an answer we received or our own sequencing (the call layer then ends or retries
    /// the exchange rather than responding).
    pub fn sip_status(&self) -> Option<u16> {
        match self {
            NegotiationError::NoCommonCodec => Some(488),
            NegotiationError::Glare => Some(491),
            NegotiationError::OfferInProgress => Some(500),
            _ => None,
        }
    }
}

/// Why a codec preference list (a config value) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecPrefsError {
    /// The list names no codec.
    #[error("codec list is empty")]
    Empty,
    /// A bare name we do not know; write it as `name/clock[/channels]`.
    #[error("unknown codec {token:?} (known: PCMU, PCMA, G722, G729, GSM, opus; or name/clock[/channels])")]
    Unknown { token: String },
    /// A `name/clock[/channels]` entry that does not parse.
    #[error("invalid codec {token:?} (expected name/clock[/channels])")]
    Invalid { token: String },
    /// The same codec listed twice.
    #[error("codec {codec} listed twice")]
    Duplicate { codec: String },
    /// telephone-event is not a voice codec; it is switched on separately.
    #[error("telephone-event is not a codec; enable RFC 4733 DTMF with its own setting")]
    TelephoneEvent,
}

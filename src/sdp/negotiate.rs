//! SDP offer/answer (RFC 3264) for legs whose media the appliance terminates: IVR, queue,
//! conference, recorder. Sans-IO: descriptions in, descriptions and decisions out.
//!
//! Owns: codec preference lists, answering offers, building offers and re-offers, checking
//! answers, and the offer/answer sequencing state of a session.
//! Must not touch: SIP (the call layer maps [`NegotiationError::sip_status`] to a response),
//! sockets and RTP (the `media` module acts on [`NegotiatedMedia`]), the B2BUA's pass-through
//! rewriting (`call::sdp_anchor`, which does not negotiate).
//!
//! Files: `codec` (codec names, preferences, reading formats), `answer` (§6), `offer` (§5, §7,
//! §8), `state` (§4 sequencing, glare), `build` (shared construction), `types`, `error`.

mod answer;
mod build;
mod codec;
mod error;
mod offer;
mod state;
mod types;

pub use answer::{answer, answer_update};
pub use codec::{CodecPrefs, CodecSpec};
/// Reading an `m=` line's formats, for the relay's codec restriction (`call::sdp_anchor`).
pub(crate) use codec::formats;
pub use error::{CodecPrefsError, NegotiationError};
pub use offer::{
    offer, process_answer, reoffer, DirectionChange, ReofferChanges, TELEPHONE_EVENT_PT,
};
pub use state::{OfferAnswer, OfferAnswerState};
pub use types::{LocalMedia, Negotiated, NegotiatedMedia};

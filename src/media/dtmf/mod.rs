//! DTMF: three ways in, one event stream per leg.
//!
//! Owns: RFC 4733 telephone-event receive/send (`rfc4733`), SIP INFO DTMF bodies (`info`),
//! in-band detection per ITU-T Q.24 (`bins`, `detector`), and de-duplication of the three
//! sources (`merge`). All sans-IO (DESIGN §2): callers pass bytes, PCM and time in (as sample
//! counts or milliseconds), and poll events out; nothing allocates per packet or frame once
//! constructed.
//! Must not touch: sockets, RTP headers (built/parsed by the relay), SIP messages (the call
//! layer hands us the INFO body and Content-Type), resampling/decoding of audio files.

mod bins;
pub mod detector;
mod event;
pub mod info;
pub mod merge;
pub mod rfc4733;

pub use detector::{detect_pcm, DetectorError, DtmfDetector};
pub use event::{Digit, DtmfEvent, DtmfSource};
pub use info::{parse_info, InfoDigit, InfoError};
pub use merge::{DtmfMerger, MergedDigit};
pub use rfc4733::{
    fuzz_parse, TelephoneEvent, TelephoneEventError, TelephoneEventPacket, TelephoneEventReceiver,
    TelephoneEventSender,
};

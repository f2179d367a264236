//! SDP: parse, serialize and rewrite session descriptions (RFC 4566, with the RFC 3264
//! offer/answer and RFC 3605 bits a B2BUA needs).
//!
//! Owns: the SDP model, its parser/serializer, and address/direction helpers; `t38` reads and
//! writes T.38 `m=image` sections and negotiates them.
//! Must not touch: sockets or any I/O (sans-IO: bytes in, bytes out), SIP (the call layer maps
//! [`SdpError`] to 400/488), media relaying (the `media` module consumes the addresses we return).

mod direction;
mod error;
mod model;
pub mod negotiate;
mod parse;
mod query;
mod rewrite;
pub mod t38;
mod write;

#[cfg(test)]
mod tests;

pub use direction::Direction;
pub use error::SdpError;
pub use model::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, RawLine, SessionDescription, Timing,
};
pub use parse::{parse, MAX_SDP_LEN};

/// Fuzz entry point: any input must either be rejected or survive serialize → parse unchanged.
///
/// Panics (on purpose, so the fuzzer reports it) when a parsed description does not round-trip.
pub fn fuzz_parse(data: &[u8]) {
    if let Ok(sdp) = parse(data) {
        let bytes = sdp.to_bytes();
        match parse::parse_unbounded(&bytes) {
            Ok(again) => assert_eq!(sdp, again, "SDP did not round-trip"),
            Err(e) => panic!("re-parse of serialized SDP failed: {e}"),
        }
    }
}

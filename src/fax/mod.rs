//! Fax: T.38 over UDPTL and G.711 audio fax. The T.30 engine is spandsp,
//! behind the safe sans-IO seam in `engine` (the only `unsafe` in the
//! crate); UDPTL framing (`udptl`: PER codec, sequence numbers, redundancy
//! and parity-FEC recovery, sans-IO) and the SDP side (`crate::sdp::t38`)
//! are ours, in Rust.
//! Must not know the web or the database schema beyond the store calls the
//! fax drivers make.

#[allow(unsafe_code)]
pub mod engine;
pub mod udptl;

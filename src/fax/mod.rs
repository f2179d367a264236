//! fax: T.38/UDPTL transport and SDP in Rust; the spandsp engine seam lives in engine.rs (lead).
//!
//! Owns: the UDPTL transport of T.38 IFP packets (`udptl`: PER codec, sequence numbers,
//! redundancy and parity-FEC error recovery, all sans-IO). The SDP side of T.38 (`m=image ...
//! udptl t38` and its attributes) lives in `crate::sdp::t38`.
//! Must not touch: sockets, timers, SIP, the T.30/T.4 fax engine (spandsp, behind engine.rs).

pub mod udptl;

//! Fax: T.38 over UDPTL and G.711 audio fax. The T.30 engine is spandsp,
//! behind the safe sans-IO seam in `engine` (the only `unsafe` in the
//! crate); UDPTL framing (`udptl`: PER codec, sequence numbers, redundancy
//! and parity-FEC recovery, sans-IO) and the SDP side (`crate::sdp::t38`)
//! are ours, in Rust. `audio` and `t38` run a session on a call's media;
//! `tiff` and `pdf` turn what arrived into the PDF people open; `library`
//! and `png` turn
//! documents to send (TIFF, PDF, PNG) into TIFFs spandsp reads; `mail`
//! sends received faxes on.
//! Must not know SIP dialogs or the web: the call drivers own those.

pub mod audio;
#[allow(unsafe_code)]
pub mod engine;
pub mod library;
pub mod mail;
pub mod pdf;
pub mod png;
pub mod t38;
pub mod tiff;
pub mod udptl;

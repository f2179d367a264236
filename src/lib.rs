//! switchboard: a contact-center appliance in one binary. The library holds
//! every subsystem; `main.rs` is only the command line around it.
//! See docs/ARCHITECTURE.md for how the modules fit together.
//!
//! No `unsafe` anywhere but `fax::engine`, the spandsp seam, which opts
//! out explicitly (`forbid` could not be lifted for it; `deny` can, once).
#![deny(unsafe_code)]

pub mod acd;
pub mod admin;
pub mod app;
pub mod backup;
pub mod call;
pub mod chat;
pub mod config;
pub mod cti;
pub mod csv;
pub mod dialplan;
pub mod fax;
pub mod mail;
pub mod media;
pub mod sdp;
pub mod sip;
pub mod store;
pub mod tls;
pub mod update;
pub mod voicemail;
pub mod web;

//! SIP transaction layer (RFC 3261 §17, with the INVITE fixes of RFC 6026).
//!
//! Owns: the four transaction state machines, request/response matching
//! (§17.1.3, §17.2.3, with the RFC 2543 fallback), timers A–M, the automatic
//! 100 Trying, ACK for non-2xx finals (§17.1.1.3), CANCEL answering (§9.2),
//! holding an outgoing CANCEL until its INVITE has a provisional response
//! (§9.1), and merged-request detection (§8.2.2.2).
//!
//! Must not touch: sockets, tokio, the wall clock (sans-IO: the driver passes
//! `now` in and drains `poll_transmit` / `poll_event` / `poll_timeout`), the
//! wire format (it reads the typed views of `sip::message`), dialogs, 2xx
//! retransmission and ACK-for-2xx (the dialog layer / UA core's job, §13.3.1.4,
//! §13.2.2.4), and Via-based response routing (§18.2.2, the transport's job:
//! responses here simply go back to the `Peer` the request came from).

mod client_invite;
mod client_non_invite;
mod error;
mod event;
mod helpers;
mod key;
mod layer;
mod outbox;
mod peer;
mod server_invite;
mod server_non_invite;
mod timers;

#[cfg(test)]
mod tests;

pub use client_invite::{ClientInviteState, ClientInviteTransaction};
pub use client_non_invite::{ClientNonInviteState, ClientNonInviteTransaction};
pub use error::TransactionError;
pub use event::TxEvent;
pub use helpers::{cancel_request, new_branch, new_tag};
pub use key::{Role, TransactionKey, BRANCH_MAGIC_COOKIE};
pub use layer::{TransactionLayer, TransactionState};
pub use peer::{ConnectionId, Peer, Transmit, Transport};
pub use server_invite::{ServerInviteState, ServerInviteTransaction};
pub use server_non_invite::{ServerNonInviteState, ServerNonInviteTransaction};
pub use timers::TimerConfig;

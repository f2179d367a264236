//! UDPTL (ITU-T T.38 clause 9.1 and Annex A): the UDP transport of T.38 IFP packets, sans-IO.
//!
//! Owns: the `UDPTLPacket` codec in ASN.1 PER *aligned basic* (as spandsp, Asterisk, FreeSWITCH
//! and carrier gateways encode it), and the [`Udptl`] session: sequence numbers, redundancy on
//! transmit (configurable depth, trimmed to the far end's T38FaxMaxDatagram), recovery on receive
//! from redundancy and from parity FEC, in-order delivery with gaps left visible, counters.
//! Must not touch: sockets or clocks (datagrams in, datagrams out), the IFP contents (the T.38
//! core in spandsp decodes IFPs; to us they are opaque octets), SDP (`crate::sdp::t38` maps the
//! negotiated attributes to a [`UdptlConfig`]).
//!
//! The ASN.1 (T.38 Annex A) this module implements:
//!
//! ```text
//! UDPTLPacket ::= SEQUENCE {
//!     seq-number          INTEGER (0..65535),
//!     primary-ifp-packet  TYPE-IDENTIFIER.&Type(IFPPacket),        -- open type
//!     error-recovery      CHOICE {
//!         secondary-ifp-packets  SEQUENCE OF TYPE-IDENTIFIER.&Type(IFPPacket),
//!         fec-info               SEQUENCE {
//!             fec-npackets  INTEGER,
//!             fec-data      SEQUENCE OF OCTET STRING
//!         }
//!     }
//! }
//! ```
//!
//! Files: `error` (the typed errors), `codec` (PER encode/decode of one datagram), `session`
//! (the [`Udptl`] state machine), `tests` (unit and property tests).

mod codec;
mod error;
mod session;

#[cfg(test)]
mod tests;

pub use codec::{
    decode, encode, encoded_len, Entries, EntriesIter, ErrorRecovery, UdptlPacket,
    MAX_UNFRAGMENTED_LEN,
};
pub use error::{Field, UdptlError};
pub use session::{
    Delivered, ErrorCorrection, Udptl, UdptlConfig, UdptlStats, DEFAULT_FEC_ENTRIES,
    DEFAULT_FEC_SPAN, DEFAULT_MAX_DATAGRAM, DEFAULT_REDUNDANCY_DEPTH, MAX_FEC_ENTRIES,
    MAX_FEC_SPAN, MAX_REDUNDANCY_DEPTH,
};

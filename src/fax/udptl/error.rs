//! UDPTL errors.
//!
//! Owns: the one error type of the `udptl` module and the names of the packet's fields.
//! Must not touch: logging or counters (the session counts malformed datagrams itself).
//!
//! Every message is built from static names and numbers only, never from datagram contents, so
//! it can be logged as is whatever a peer sends.

use std::fmt;

use thiserror::Error;

/// A field of `UDPTLPacket` (T.38 Annex A), named as in the ASN.1, to say *what* was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `seq-number INTEGER (0..65535)`: two octets.
    SeqNumber,
    /// `primary-ifp-packet`: an open type (length determinant + octets).
    PrimaryIfp,
    /// The `error-recovery` CHOICE index octet.
    ErrorRecovery,
    /// The element count of `secondary-ifp-packets`.
    SecondaryCount,
    /// Element `n` of `secondary-ifp-packets` (0 = the newest, seq-number - 1).
    SecondaryIfp(usize),
    /// `fec-npackets` (an unconstrained INTEGER: length octet + two's complement).
    FecNpackets,
    /// The element count of `fec-data`.
    FecCount,
    /// Element `n` of `fec-data`.
    FecData(usize),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::SeqNumber => f.write_str("seq-number"),
            Field::PrimaryIfp => f.write_str("primary-ifp-packet"),
            Field::ErrorRecovery => f.write_str("error-recovery"),
            Field::SecondaryCount => f.write_str("secondary-ifp-packets count"),
            Field::SecondaryIfp(n) => write!(f, "secondary-ifp-packets[{n}]"),
            Field::FecNpackets => f.write_str("fec-npackets"),
            Field::FecCount => f.write_str("fec-data count"),
            Field::FecData(n) => write!(f, "fec-data[{n}]"),
        }
    }
}

/// Why a datagram could not be decoded, or a packet could not be encoded or sent.
///
/// Decode errors carry the octet offset in the datagram where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UdptlError {
    /// The datagram ends inside `field`.
    #[error(
        "UDPTL datagram truncated in {field} at offset {offset}: {needed} more octet(s) needed"
    )]
    Truncated {
        field: Field,
        offset: usize,
        needed: usize,
    },
    /// A length determinant of the fragmented form (first octet `11xxxxxx`, X.691 10.9.3.8:
    /// 16K-octet fragments), which no T.38 implementation sends for an IFP; refused rather than
    /// reassembled so that every IFP stays one contiguous slice of the datagram.
    #[error(
        "fragmented length determinant (>= 16384) in {field} at offset {offset} is not supported"
    )]
    FragmentedLength { field: Field, offset: usize },
    /// An open type of zero octets: X.691 10.2 replaces an empty encoding with one zero octet, so
    /// a zero length never comes from a correct encoder (and an IFP is never empty).
    #[error("empty open type in {field} at offset {offset}")]
    EmptyOpenType { field: Field, offset: usize },
    /// `fec-npackets` is zero octets long, negative, or does not fit 32 bits.
    #[error("invalid INTEGER in {field} at offset {offset}")]
    InvalidInteger { field: Field, offset: usize },
    /// Octets after a complete `UDPTLPacket` (spandsp refuses these too: it is how garbage shows).
    #[error("{extra} trailing octet(s) after the UDPTL packet at offset {offset}")]
    TrailingOctets { offset: usize, extra: usize },
    /// Encoding: `field` is `len` octets (or elements) long, which would need a fragmented
    /// length determinant (>= 16384); we never produce those.
    #[error("{field} of length {len} needs a fragmented length determinant")]
    LengthTooLarge { field: Field, len: usize },
    /// Encoding: an empty IFP in `field` (open types may not be empty, see [`Self::EmptyOpenType`]).
    #[error("empty IFP in {field}")]
    EmptyIfp { field: Field },
    /// Encoding: the caller's buffer is too small.
    #[error("output buffer of {available} octets too small for a {needed}-octet UDPTL packet")]
    BufferTooSmall { needed: usize, available: usize },
    /// Sending: the IFP alone (with the UDPTL header) exceeds the far end's T38FaxMaxDatagram.
    #[error("IFP of {len} octets does not fit the maximum datagram of {max_datagram} octets")]
    IfpTooLarge { len: usize, max_datagram: usize },
}

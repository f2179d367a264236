//! Media direction attributes (RFC 4566 §6, RFC 3264 §5.1, §8.4).
//!
//! Owns: the `Direction` enum and its attribute names. Must not touch: I/O, SIP.

/// Which way media flows, from the point of view of the SDP's author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`, also the default when no direction attribute is present (RFC 3264 §5.1).
    SendRecv,
    /// `a=sendonly`: the author sends but will not receive (the usual "hold" offer).
    SendOnly,
    /// `a=recvonly`: the author receives but will not send.
    RecvOnly,
    /// `a=inactive`: no media either way.
    Inactive,
}

impl Direction {
    /// The attribute name, e.g. "sendonly".
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction for an attribute name, if it is one of the four.
    pub fn from_attr(name: &str) -> Option<Self> {
        match name.trim() {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction an answerer mirrors back (RFC 3264 §6.1): sendonly ↔ recvonly.
    pub fn reversed(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// The author will not receive media: a hold in the RFC 3264 §8.4 sense.
    pub fn is_hold(self) -> bool {
        matches!(self, Direction::SendOnly | Direction::Inactive)
    }

    /// The author does not want to receive: what an RFC 2543-style `c=0.0.0.0` also means.
    pub(crate) fn without_receive(self) -> Self {
        match self {
            Direction::SendRecv => Direction::SendOnly,
            Direction::RecvOnly => Direction::Inactive,
            d => d,
        }
    }
}

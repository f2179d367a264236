//! Symmetric RTP latching (sans-IO).
//!
//! Owns: the decision whether a packet's source is our peer, and where to send to that peer.
//! Must not touch: sockets, clocks, SDP parsing (it is handed the SDP address).
//!
//! A NAT'd phone's SDP advertises its private address, but its packets arrive from the NAT's
//! public one. Symmetric RTP (RFC 4961) lets us learn that source from the first packet and send
//! back to it. After latching only that source is accepted, so a third party cannot hijack or
//! inject into the stream; a re-INVITE that changes the SDP address resets the latch.
//!
//! Used by the relay (`relay_task`), terminated legs (`endpoint::LegMedia`) and T.38 sessions
//! (`fax::t38::SourceCheck`).

use std::net::SocketAddr;

/// What to do with a packet from some source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchDecision {
    /// From the latched source: relay it.
    Accept,
    /// First packet since the last reset: relay it, and from now on only this source counts.
    Latched(SocketAddr),
    /// From a different source than the latched one: drop it.
    Reject,
}

/// Latch state for one stream (one leg's RTP, or one leg's RTCP).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latch {
    /// The address the peer's SDP advertised, if any.
    expected: Option<SocketAddr>,
    /// The source we learned from the first valid packet.
    latched: Option<SocketAddr>,
}

impl Latch {
    /// A latch that will learn its source from the first packet.
    pub fn new(expected: Option<SocketAddr>) -> Self {
        Latch {
            expected,
            latched: None,
        }
    }

    /// Forget the learned source (a re-INVITE changed the remote) and take a new SDP address.
    pub fn reset(&mut self, expected: Option<SocketAddr>) {
        *self = Latch::new(expected);
    }

    /// Decide on a packet that already passed validation (never latch onto junk).
    pub fn on_packet(&mut self, src: SocketAddr) -> LatchDecision {
        match self.latched {
            Some(l) if l == src => LatchDecision::Accept,
            Some(_) => LatchDecision::Reject,
            None => {
                self.latched = Some(src);
                LatchDecision::Latched(src)
            }
        }
    }

    /// Where to send to this peer: the learned source wins over the SDP address.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.expected)
    }

    /// The learned source, if latched.
    pub fn latched(&self) -> Option<SocketAddr> {
        self.latched
    }

    /// The SDP address currently configured.
    pub fn expected(&self) -> Option<SocketAddr> {
        self.expected
    }
}

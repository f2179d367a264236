//! The inputs and results of a negotiation.
//!
//! Owns: [`LocalMedia`] (what our media port offers), [`NegotiatedMedia`] and [`Negotiated`]
//! (what the media layer is told to do). Must not touch: the rules that produce them.

use std::net::{IpAddr, SocketAddr};

use super::codec::CodecSpec;
use crate::sdp::{Direction, SessionDescription};

/// Our end of the media: the RTP port pair the `media` module allocated, and per-extension /
/// per-trunk policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address we receive RTP on; goes into `c=` and `o=`.
    pub ip: IpAddr,
    /// RTP port; RTCP is on `port + 1` (RFC 3550 §11) unless `rtcp_port` says otherwise.
    pub port: u16,
    /// An RTCP port that is not `port + 1`, announced with `a=rtcp` (RFC 3605 §2.1).
    pub rtcp_port: Option<u16>,
    /// Packetization we would like to receive, in ms, when the peer expresses no preference.
    pub ptime_pref: u32,
    /// The directions we are willing to use: `SendRecv` normally, `SendOnly` to hold the peer
    /// (RFC 3264 §8.4). The answer is the intersection with what the offer allows.
    pub direction_pref: Direction,
    /// Whether we send and receive RFC 4733 telephone-event (DTMF).
    pub telephone_event: bool,
}

impl LocalMedia {
    /// Defaults: 20 ms, sendrecv, telephone-event on, RTCP on `port + 1`.
    pub fn new(ip: IpAddr, port: u16) -> Self {
        LocalMedia {
            ip,
            port,
            rtcp_port: None,
            ptime_pref: DEFAULT_PTIME,
            direction_pref: Direction::SendRecv,
            telephone_event: true,
        }
    }
}

/// RFC 3551 §4.5: 20 ms is the default packetization for the audio codecs we use.
pub(crate) const DEFAULT_PTIME: u32 = 20;

/// What was agreed for one accepted media stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Index of the `m=` line in both offer and answer (RFC 3264 §6).
    pub index: usize,
    /// The codec to send and expect; `fmtp` is the *peer's* (parameters our encoder honours).
    pub codec: CodecSpec,
    /// Payload type for `codec`, as both sides will use it.
    pub pt: u8,
    /// Payload type of RFC 4733 telephone-event, when both sides support it.
    pub dtmf_pt: Option<u8>,
    /// Clock rate of that telephone-event payload (8000, or 48000 next to opus); meaningless
    /// when `dtmf_pt` is `None`.
    pub dtmf_clock_rate: u32,
    /// Packetization in ms we send with (the peer's `a=ptime`, capped by its `a=maxptime`).
    pub ptime: u32,
    /// Our direction: whether we may send and whether we should expect to receive.
    pub direction: Direction,
    /// Where to send RTP; `None` for an old-style hold (`c=0.0.0.0`, RFC 3264 §8.4) or an
    /// address we cannot use (a host name).
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP (`a=rtcp`, RFC 3605; else RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
}

/// The outcome of answering an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The answer to send, one `m=` line per offered one.
    pub answer_sdp: SessionDescription,
    /// The accepted streams (rejected ones are absent), in `m=` order.
    pub media: Vec<NegotiatedMedia>,
}

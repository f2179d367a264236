//! Pieces shared by offers and answers: a fresh description skeleton, the attribute lines of an
//! audio stream, direction algebra, ptime choice, remote addresses.
//!
//! Owns: construction details. Must not touch: which codec is chosen (answer/offer do that).

use std::net::SocketAddr;

use rand::Rng;

use super::codec::CodecSpec;
use super::types::DEFAULT_PTIME;
use crate::sdp::model::addrtype_of;
use crate::sdp::{
    Attribute, Connection, Direction, MediaDescription, Origin, SessionDescription, Timing,
};

use super::types::LocalMedia;

/// The transports we terminate. RTP/AVPF is accepted because an AVPF endpoint that sends no
/// feedback messages behaves as AVP (RFC 4585 §3.1); SRTP profiles are not, as we have no keys.
pub(crate) const RTP_PROTOS: &[&str] = &["RTP/AVP", "RTP/AVPF"];

/// Events we receive: the 16 DTMF digits (RFC 4733 §3.2). Flash (16) has no use in an IVR.
pub(crate) const DTMF_EVENTS: &str = "0-15";

/// A description with our origin and address and no media yet.
///
/// RFC 4566 §5.2: the session id only needs to be unique for this host; a random 62-bit number
/// also keeps it from being guessable. The version starts at 1 and is bumped per new SDP.
pub(crate) fn skeleton(local: &LocalMedia) -> SessionDescription {
    let session_id: u64 = rand::thread_rng().gen_range(1..(1u64 << 62));
    SessionDescription {
        version: 0,
        origin: Origin {
            username: "-".to_owned(),
            session_id: session_id.to_string(),
            session_version: 1,
            nettype: "IN".to_owned(),
            addrtype: addrtype_of(local.ip).to_owned(),
            address: local.ip.to_string(),
        },
        // RFC 3264 §5: "s=" carries nothing useful in offer/answer; "-" is the usual filler.
        name: "-".to_owned(),
        info: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: Some(Connection::for_ip(local.ip)),
        bandwidths: Vec::new(),
        timings: vec![Timing {
            start: 0,
            stop: 0,
            repeats: Vec::new(),
        }],
        zone: None,
        key: None,
        attributes: Vec::new(),
        other: Vec::new(),
        media: Vec::new(),
    }
}

/// An empty `m=` section.
pub(crate) fn media_line(
    media: &str,
    port: u16,
    proto: &str,
    formats: Vec<String>,
) -> MediaDescription {
    MediaDescription {
        media: media.to_owned(),
        port,
        port_count: None,
        proto: proto.to_owned(),
        formats,
        info: None,
        connection: None,
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
        other: Vec::new(),
    }
}

/// `a=rtpmap` (always, even for static PTs: RFC 4566 §6 allows it and it spares peers the
/// table lookup) and `a=fmtp` when there are parameters.
pub(crate) fn push_codec_attrs(m: &mut MediaDescription, pt: u8, codec: &CodecSpec) {
    m.attributes.push(Attribute::value(
        "rtpmap",
        &format!("{pt} {}", codec.rtpmap_value()),
    ));
    if let Some(f) = &codec.fmtp {
        m.attributes
            .push(Attribute::value("fmtp", &format!("{pt} {f}")));
    }
}

/// `a=ptime`, `a=rtcp` when not the default, and an explicit direction (explicit even for
/// sendrecv: some phones only leave hold when they see it).
pub(crate) fn push_stream_attrs(
    m: &mut MediaDescription,
    local: &LocalMedia,
    ptime: u32,
    dir: Direction,
) {
    m.attributes
        .push(Attribute::value("ptime", &ptime.to_string()));
    if let Some(rtcp) = local
        .rtcp_port
        .filter(|p| Some(*p) != local.port.checked_add(1))
    {
        m.attributes
            .push(Attribute::value("rtcp", &rtcp.to_string()));
    }
    m.attributes.push(Attribute::property(dir.as_str()));
}

/// (may send, may receive) for a direction from its author's point of view.
fn flags(d: Direction) -> (bool, bool) {
    match d {
        Direction::SendRecv => (true, true),
        Direction::SendOnly => (true, false),
        Direction::RecvOnly => (false, true),
        Direction::Inactive => (false, false),
    }
}

fn from_flags(send: bool, recv: bool) -> Direction {
    match (send, recv) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

/// Our direction given the peer's and our own wishes: we send only if the peer receives and we
/// want to send, and likewise for receiving (RFC 3264 §6.1: sendonly ↔ recvonly, inactive stays
/// inactive, sendrecv becomes whatever we prefer).
pub(crate) fn our_direction(peer: Direction, ours: Direction) -> Direction {
    let (peer_send, peer_recv) = flags(peer);
    let (our_send, our_recv) = flags(ours);
    from_flags(peer_recv && our_send, peer_send && our_recv)
}

/// Our direction resumed from a hold: receive again (RFC 3264 §8.4 in reverse).
pub(crate) fn with_receive(d: Direction) -> Direction {
    let (send, _) = flags(d);
    from_flags(send, true)
}

/// The packetization to send with: the peer's `a=ptime` if sane, else ours, never above its
/// `a=maxptime` (RFC 4566 §6). Values outside 10–120 ms are ignored as nonsense.
pub(crate) fn choose_ptime(m: &MediaDescription, ours: u32) -> u32 {
    let read = |name: &str| -> Option<u32> {
        let v = m.attribute(name)?.value.as_deref()?.trim();
        // Some stacks write "a=ptime:20.0" (RFC 4566 allows fractions); whole ms suffice.
        let whole = v.split('.').next()?;
        whole.parse().ok().filter(|p| (10..=120).contains(p))
    };
    let ours = if (10..=120).contains(&ours) {
        ours
    } else {
        DEFAULT_PTIME
    };
    let want = read("ptime").unwrap_or(ours);
    match read("maxptime") {
        Some(max) if want > max => max,
        _ => want,
    }
}

/// Remote RTP and RTCP addresses of `index`, except an unspecified address (`c=0.0.0.0`,
/// RFC 3264 §8.4 hold) which means "do not send to me".
pub(crate) fn remote_addrs(
    sdp: &SessionDescription,
    index: usize,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let usable = |a: Option<SocketAddr>| a.filter(|a| !a.ip().is_unspecified() && a.port() != 0);
    (
        usable(sdp.rtp_endpoint(index)),
        usable(sdp.rtcp_endpoint(index)),
    )
}

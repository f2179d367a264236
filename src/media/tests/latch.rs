//! Requirements: the first packet latches, later packets only from that source are accepted,
//! the destination prefers the latched source over SDP, reset allows re-latching.

use std::net::SocketAddr;

use crate::media::{Latch, LatchDecision};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

#[test]
fn latches_first_source_and_rejects_others() {
    let sdp = addr("192.0.2.10:4000");
    let nat = addr("198.51.100.1:61000");
    let mut l = Latch::new(Some(sdp));
    assert_eq!(
        l.destination(),
        Some(sdp),
        "before latching, send where SDP says"
    );
    assert_eq!(l.on_packet(nat), LatchDecision::Latched(nat));
    assert_eq!(
        l.destination(),
        Some(nat),
        "after latching, send to the real source"
    );
    assert_eq!(l.on_packet(nat), LatchDecision::Accept);
    assert_eq!(l.on_packet(sdp), LatchDecision::Reject);
    assert_eq!(
        l.on_packet(addr("203.0.113.66:5000")),
        LatchDecision::Reject
    );
    assert_eq!(l.latched(), Some(nat));
}

#[test]
fn reset_allows_relatch() {
    let mut l = Latch::new(None);
    assert_eq!(l.destination(), None);
    let first = addr("198.51.100.1:61000");
    let second = addr("198.51.100.2:62000");
    l.on_packet(first);
    l.reset(Some(addr("192.0.2.11:4002")));
    assert_eq!(l.latched(), None);
    assert_eq!(l.expected(), Some(addr("192.0.2.11:4002")));
    assert_eq!(l.on_packet(second), LatchDecision::Latched(second));
    assert_eq!(l.on_packet(first), LatchDecision::Reject);
}

//! Requirements: direction resolution (media overrides session, default sendrecv, c=0.0.0.0 is
//! hold per RFC 3264 §8.4), RTCP endpoint rules (RFC 3605, RFC 3550 §11), out-of-range indexes.

use crate::sdp::{parse, Direction, SessionDescription};

fn sdp(session_attrs: &str, conn: &str, media_attrs: &str) -> SessionDescription {
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 {conn}\r\nt=0 0\r\n{session_attrs}\
         m=audio 4000 RTP/AVP 0\r\n{media_attrs}"
    );
    parse(text.as_bytes()).expect("test SDP parses")
}

#[test]
fn direction_default_and_overrides() {
    use Direction::*;
    let cases = [
        ("", "192.0.2.1", "", SendRecv),
        ("", "192.0.2.1", "a=sendonly\r\n", SendOnly),
        ("", "192.0.2.1", "a=recvonly\r\n", RecvOnly),
        ("", "192.0.2.1", "a=inactive\r\n", Inactive),
        ("a=sendonly\r\n", "192.0.2.1", "", SendOnly),
        ("a=inactive\r\n", "192.0.2.1", "a=sendrecv\r\n", SendRecv),
        // RFC 3264 §8.4 old-style hold: 0.0.0.0 means "do not send to me".
        ("", "0.0.0.0", "", SendOnly),
        ("", "0.0.0.0", "a=sendonly\r\n", SendOnly),
        ("", "0.0.0.0", "a=recvonly\r\n", Inactive),
        ("", "0.0.0.0", "a=inactive\r\n", Inactive),
    ];
    for (s, c, m, want) in cases {
        assert_eq!(
            sdp(s, c, m).direction(0),
            Some(want),
            "session {s:?} c={c} media {m:?}"
        );
    }
}

#[test]
fn hold_helpers() {
    assert!(Direction::SendOnly.is_hold());
    assert!(Direction::Inactive.is_hold());
    assert!(!Direction::RecvOnly.is_hold());
    assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
    assert_eq!(Direction::Inactive.reversed(), Direction::Inactive);
}

#[test]
fn rtcp_endpoint_rules() {
    let plain = sdp("", "192.0.2.1", "");
    assert_eq!(
        plain.rtcp_endpoint(0),
        Some("192.0.2.1:4001".parse().expect("addr"))
    );
    let port_only = sdp("", "192.0.2.1", "a=rtcp:5555\r\n");
    assert_eq!(
        port_only.rtcp_endpoint(0),
        Some("192.0.2.1:5555".parse().expect("addr"))
    );
    let with_addr = sdp("", "192.0.2.1", "a=rtcp:5555 IN IP4 198.51.100.3\r\n");
    assert_eq!(
        with_addr.rtcp_endpoint(0),
        Some("198.51.100.3:5555".parse().expect("addr"))
    );
    // Malformed a=rtcp is ignored like an unknown attribute.
    let bad = sdp("", "192.0.2.1", "a=rtcp:99999\r\n");
    assert_eq!(
        bad.rtcp_endpoint(0),
        Some("192.0.2.1:4001".parse().expect("addr"))
    );
    let mux = sdp("", "192.0.2.1", "a=rtcp-mux\r\n");
    assert!(mux.rtcp_mux(0));
    assert!(!plain.rtcp_mux(0));
}

#[test]
fn ipv6_endpoints() {
    let text = "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let s = parse(text.as_bytes()).expect("parse");
    assert_eq!(
        s.rtp_endpoint(0),
        Some("[2001:db8::1]:4000".parse().expect("addr"))
    );
}

#[test]
fn out_of_range_index() {
    let s = sdp("", "192.0.2.1", "");
    assert_eq!(s.connection_for(1), None);
    assert_eq!(s.rtp_endpoint(1), None);
    assert_eq!(s.rtcp_endpoint(1), None);
    assert_eq!(s.direction(1), None);
    assert!(!s.rtcp_mux(1));
}

//! Requirements: anchoring a media section on the relay rewrites c= at the right scope, the m=
//! port and a=rtcp, leaves everything else verbatim; direction and version helpers.

use std::net::IpAddr;

use super::vectors::*;
use crate::sdp::{parse, Connection, Direction, SdpError};

fn relay_ip() -> IpAddr {
    "192.0.2.200".parse().expect("ip")
}

#[test]
fn single_media_rewrites_session_c() {
    let mut s = parse(CARRIER_OFFER.as_bytes()).expect("parse");
    s.set_media_endpoint(0, relay_ip(), 30000).expect("rewrite");
    assert_eq!(s.connection, Some(Connection::for_ip(relay_ip())));
    assert_eq!(s.media[0].connection, None, "no redundant media-level c=");
    assert_eq!(
        s.rtp_endpoint(0),
        Some("192.0.2.200:30000".parse().expect("addr"))
    );
    assert_eq!(
        s.rtcp_endpoint(0),
        Some("192.0.2.200:30001".parse().expect("addr"))
    );
    // Everything else untouched.
    let text = s.to_string();
    let expected = CARRIER_OFFER
        .replace("c=IN IP4 203.0.113.10", "c=IN IP4 192.0.2.200")
        .replace("m=audio 20500", "m=audio 30000");
    assert_eq!(text, expected);
}

#[test]
fn two_media_sharing_session_c_keep_their_scope() {
    let mut s = parse(RFC3264_ANSWER.as_bytes()).expect("parse");
    let original = s.connection_for(2);
    s.set_media_endpoint(0, relay_ip(), 30000).expect("rewrite");
    // Media 2 still depends on the session c=, so media 0 got its own.
    assert_eq!(s.connection_for(2), original);
    assert_eq!(
        s.rtp_endpoint(0),
        Some("192.0.2.200:30000".parse().expect("addr"))
    );
    s.set_media_endpoint(1, relay_ip(), 30002).expect("rewrite");
    s.set_media_endpoint(2, relay_ip(), 30004).expect("rewrite");
    for (i, port) in [(0, 30000), (1, 30002), (2, 30004)] {
        assert_eq!(
            s.rtp_endpoint(i),
            Some(std::net::SocketAddr::new(relay_ip(), port))
        );
    }
    assert_eq!(parse(&s.to_bytes()).expect("re-parse"), s);
}

#[test]
fn media_level_c_and_rtcp_attr_rewritten() {
    let mut s = parse(LINPHONE_OFFER.as_bytes()).expect("parse");
    s.set_media_endpoint(0, relay_ip(), 30010).expect("rewrite");
    assert_eq!(s.media[0].connection, Some(Connection::for_ip(relay_ip())));
    assert_eq!(
        s.media[0]
            .attribute("rtcp")
            .and_then(|a| a.value.as_deref()),
        Some("30011 IN IP4 192.0.2.200")
    );
    assert_eq!(
        s.rtcp_endpoint(0),
        Some("192.0.2.200:30011".parse().expect("addr"))
    );
    // Video still points at the original session address.
    assert_eq!(
        s.rtp_endpoint(1),
        Some("192.0.2.20:9078".parse().expect("addr"))
    );
}

#[test]
fn port_only_rtcp_attr_stays_port_only() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4001\r\n";
    let mut s = parse(text.as_bytes()).expect("parse");
    s.set_media_endpoint(0, "2001:db8::5".parse().expect("ip"), 30020)
        .expect("rewrite");
    assert_eq!(
        s.media[0]
            .attribute("rtcp")
            .and_then(|a| a.value.as_deref()),
        Some("30021")
    );
    assert_eq!(
        s.connection.as_ref().map(|c| c.addrtype.as_str()),
        Some("IP6")
    );
    assert_eq!(
        s.rtcp_endpoint(0),
        Some("[2001:db8::5]:30021".parse().expect("addr"))
    );
}

#[test]
fn hold_survives_rewrite_when_caller_reapplies_direction() {
    let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
    let mut s = parse(text.as_bytes()).expect("parse");
    let dir = s.direction(0).expect("media 0");
    assert_eq!(dir, Direction::SendOnly);
    s.set_media_endpoint(0, relay_ip(), 30030).expect("rewrite");
    s.set_direction(0, dir).expect("direction");
    assert_eq!(s.direction(0), Some(Direction::SendOnly));
    // The old attribute was replaced in place, not duplicated.
    assert_eq!(s.media[0].attributes.len(), 1);
}

#[test]
fn set_direction_replaces_all_media_level_directions() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\na=ptime:20\r\na=recvonly\r\n";
    let mut s = parse(text.as_bytes()).expect("parse");
    s.set_direction(0, Direction::Inactive).expect("direction");
    let names: Vec<&str> = s.media[0]
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, vec!["inactive", "ptime"]);
    let mut t = parse(CARRIER_OFFER.as_bytes()).expect("parse");
    t.media[0].remove_attributes("sendrecv");
    t.set_direction(0, Direction::RecvOnly).expect("direction");
    assert_eq!(
        t.media[0].attributes.last().map(|a| a.name.as_str()),
        Some("recvonly")
    );
}

#[test]
fn bump_version_and_errors() {
    let mut s = parse(BARESIP_OFFER.as_bytes()).expect("parse");
    s.bump_version();
    assert_eq!(s.origin.session_version, 3862183004);
    assert!(s
        .to_string()
        .contains("o=- 1187312402 3862183004 IN IP4 192.0.2.5\r\n"));
    assert_eq!(
        s.set_media_endpoint(1, relay_ip(), 1),
        Err(SdpError::NoSuchMedia { index: 1 })
    );
    assert_eq!(
        s.set_direction(7, Direction::Inactive),
        Err(SdpError::NoSuchMedia { index: 7 })
    );
}

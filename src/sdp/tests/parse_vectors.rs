//! Requirements: the RFC and real-world vectors parse into the expected model; unknown lines and
//! attributes survive verbatim; serialization uses CRLF and round-trips.

use super::vectors::*;
use crate::sdp::{parse, Attribute, Bandwidth, RawLine};

#[test]
fn all_vectors_round_trip_with_crlf() {
    for v in ALL {
        let sdp = parse(v.as_bytes()).expect(v);
        let text = sdp.to_string();
        assert!(text.ends_with("\r\n"));
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in output"
        );
        assert_eq!(parse(text.as_bytes()).expect("re-parse"), sdp);
        crate::sdp::fuzz_parse(v.as_bytes());
    }
}

#[test]
fn crlf_vectors_serialize_byte_identical() {
    // Vectors already in canonical order and CRLF must come back unchanged: what a B2BUA forwards
    // without rewriting is exactly what it received.
    for v in [
        RFC4566_EXAMPLE,
        RFC4317_OFFER,
        RFC3264_ANSWER,
        BARESIP_OFFER,
        CARRIER_OFFER,
        T38_OFFER,
    ] {
        assert_eq!(parse(v.as_bytes()).expect(v).to_string(), *v);
    }
}

#[test]
fn lf_only_becomes_crlf() {
    let out = parse(LINPHONE_OFFER.as_bytes())
        .expect("linphone")
        .to_string();
    assert_eq!(out, LINPHONE_OFFER.replace('\n', "\r\n"));
}

#[test]
fn rfc4566_example_fields() {
    let s = parse(RFC4566_EXAMPLE.as_bytes()).expect("parse");
    assert_eq!(s.version, 0);
    assert_eq!(s.origin.username, "jdoe");
    assert_eq!(s.origin.session_id, "2890844526");
    assert_eq!(s.origin.session_version, 2890842807);
    assert_eq!(s.origin.address, "10.47.16.5");
    assert_eq!(s.name, "SDP Seminar");
    assert_eq!(
        s.info.as_deref(),
        Some("A Seminar on the session description protocol")
    );
    assert_eq!(
        s.uri.as_deref(),
        Some("http://www.example.com/seminars/sdp.pdf")
    );
    assert_eq!(s.emails, vec!["j.doe@example.com (Jane Doe)".to_owned()]);
    assert_eq!(
        s.connection.as_ref().map(|c| c.address.as_str()),
        Some("224.2.17.12/127")
    );
    assert_eq!(
        (s.timings[0].start, s.timings[0].stop),
        (2873397496, 2873404696)
    );
    assert_eq!(s.attributes, vec![Attribute::property("recvonly")]);
    assert_eq!(s.media.len(), 2);
    assert_eq!(s.media[1].formats, vec!["99"]);
    assert_eq!(
        s.connection_for(0),
        Some("224.2.17.12".parse().expect("ip"))
    );
}

#[test]
fn rfc4317_offer_with_host_name() {
    let s = parse(RFC4317_OFFER.as_bytes()).expect("parse");
    assert_eq!(s.name, "");
    assert_eq!(s.media[0].formats, vec!["0", "8", "97"]);
    assert_eq!(s.media[1].media, "video");
    assert_eq!(s.media[1].port, 51372);
    assert_eq!(s.media[0].payload_type_for("ilbc"), Some(97));
    // A host name is kept but gives no IP: the call layer must resolve or reject it.
    assert_eq!(s.connection_for(0), None);
    assert_eq!(s.rtp_endpoint(0), None);
}

#[test]
fn rfc3264_rejected_stream() {
    let s = parse(RFC3264_ANSWER.as_bytes()).expect("parse");
    assert_eq!(s.name, " ");
    assert_eq!(s.media[1].port, 0);
    assert_eq!(s.rtp_endpoint(1), None);
    assert_eq!(
        s.rtp_endpoint(2),
        Some("192.0.2.2:53000".parse().expect("addr"))
    );
}

#[test]
fn linphone_offer() {
    let s = parse(LINPHONE_OFFER.as_bytes()).expect("parse");
    assert_eq!(s.attributes.len(), 2);
    assert_eq!(
        s.attributes[0].value.as_deref(),
        Some("rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics")
    );
    let a = &s.media[0];
    assert_eq!(a.formats.len(), 8);
    assert_eq!(a.payload_type_for("opus"), Some(96));
    assert_eq!(a.payload_type_for("telephone-event"), Some(101));
    // Media-level c= overrides session-level; a=rtcp with an address wins over port+1.
    assert_eq!(
        s.rtp_endpoint(0),
        Some("198.51.100.7:7078".parse().expect("addr"))
    );
    assert_eq!(
        s.rtcp_endpoint(0),
        Some("198.51.100.7:7079".parse().expect("addr"))
    );
    assert_eq!(
        s.rtp_endpoint(1),
        Some("192.0.2.20:9078".parse().expect("addr"))
    );
    assert_eq!(
        s.rtcp_endpoint(1),
        Some("192.0.2.20:9079".parse().expect("addr"))
    );
}

#[test]
fn baresip_offer() {
    let s = parse(BARESIP_OFFER.as_bytes()).expect("parse");
    let m = &s.media[0];
    assert_eq!(
        m.bandwidths,
        vec![Bandwidth {
            bwtype: "AS".into(),
            bandwidth: 64
        }]
    );
    assert_eq!(
        m.attribute("ptime").and_then(|a| a.value.as_deref()),
        Some("20")
    );
    assert_eq!(
        m.attribute("rtcp-rsize"),
        Some(&Attribute::property("rtcp-rsize"))
    );
    // The trailing space is kept verbatim but still recognised as a direction.
    assert_eq!(m.attributes[4].name, "sendrecv ");
    assert_eq!(s.direction(0), Some(crate::sdp::Direction::SendRecv));
}

#[test]
fn carrier_offer() {
    let s = parse(CARRIER_OFFER.as_bytes()).expect("parse");
    assert_eq!(s.bandwidths[0].bwtype, "CT");
    let m = &s.media[0];
    assert_eq!(m.formats, vec!["18", "0", "8", "101"]);
    assert_eq!(m.payload_type_for("G729"), Some(18));
    assert_eq!(m.payload_type_for("telephone-event"), Some(101));
    assert_eq!(
        m.attribute("maxptime").and_then(|a| a.value.as_deref()),
        Some("40")
    );
    assert_eq!(
        s.rtcp_endpoint(0),
        Some("203.0.113.10:20501".parse().expect("addr"))
    );
}

#[test]
fn t38_image_stream() {
    let s = parse(T38_OFFER.as_bytes()).expect("parse");
    assert_eq!(s.media[0].media, "image");
    assert_eq!(s.media[0].proto, "udptl");
    assert_eq!(s.media[0].formats, vec!["t38"]);
    assert_eq!(s.media[0].attributes.len(), 6);
}

#[test]
fn unknown_lines_and_extras_are_kept() {
    let input = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
r=7d 1h 0 25h\r\nz=2882844526 -1h\r\nk=prompt\r\ny=session-extension\r\na=foo:\r\n\
m=audio 5004/2 RTP/AVP 0\r\nc=IN IP4 233.252.0.1/127\r\nk=clear:abc\r\n\
c=IN IP4 233.252.0.2/127\r\nx=media-extension\r\na=x-vendor:1 2 3\r\n";
    let s = parse(input.as_bytes()).expect("parse");
    assert_eq!(s.timings[0].repeats, vec!["7d 1h 0 25h"]);
    assert_eq!(s.zone.as_deref(), Some("2882844526 -1h"));
    assert_eq!(s.key.as_deref(), Some("prompt"));
    assert_eq!(
        s.other,
        vec![RawLine {
            kind: 'y',
            value: "session-extension".into()
        }]
    );
    assert_eq!(s.attributes, vec![Attribute::value("foo", "")]);
    let m = &s.media[0];
    assert_eq!(m.port_count, Some(2));
    assert_eq!(
        m.other[0],
        RawLine {
            kind: 'c',
            value: "IN IP4 233.252.0.2/127".into()
        }
    );
    assert_eq!(
        m.other[1],
        RawLine {
            kind: 'x',
            value: "media-extension".into()
        }
    );
    assert_eq!(s.to_string(), input);
}

#[test]
fn tolerant_of_blank_lines_and_extra_spaces() {
    let input = "v=0\n\no=-  1   1 IN IP4 192.0.2.1\ns=-\nt=0  0\nm=audio  4000 RTP/AVP 0\nc=IN IP4 192.0.2.9\n\n";
    let s = parse(input.as_bytes()).expect("parse");
    assert_eq!(s.media[0].port, 4000);
    assert_eq!(
        s.rtp_endpoint(0),
        Some("192.0.2.9:4000".parse().expect("addr"))
    );
}

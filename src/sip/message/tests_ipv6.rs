//! IPv6 in SIP messages: one case per section of RFC 5118 ("SIP Torture
//! Test Messages for IPv6", §4.1-§4.10), written for this crate from the
//! RFC's descriptions (our own messages, documentation prefix 2001:db8::/32),
//! with the outcome the RFC asks for. The SDP cases (§4.6, §4.8) go through
//! `crate::sdp::parse`.

use super::*;

/// A REGISTER (or INVITE with `body`) with the given Request-URI, Via host
/// and Contact URI; everything else well formed.
fn request(method: &str, ruri: &str, via_host: &str, contact: &str, body: &str) -> Vec<u8> {
    let ctype = if body.is_empty() { String::new() } else { "Content-Type: application/sdp\r\n".to_string() };
    format!(
        "{method} {ruri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {via_host};branch=z9hG4bKv6test\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag=v6t\r\n\
         To: <sip:alice@example.com>\r\n\
         Call-ID: v6-torture@example.com\r\n\
         CSeq: 1 {method}\r\n\
         Contact: {contact}\r\n\
         {ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn valid_request(bytes: &[u8], label: &str) -> Request {
    match parse_message(bytes) {
        Ok(Message::Request(r)) => {
            validate_request(&r).unwrap_or_else(|e| panic!("{label}: {e}"));
            super::tests_rfc4475::assert_round_trip(&Message::Request(r.clone()), label);
            r
        }
        other => panic!("{label}: {other:?}"),
    }
}

fn sip_host_port(uri: &Uri) -> (Host, Option<u16>) {
    match uri {
        Uri::Sip(u) => (u.host.clone(), u.port),
        other => panic!("not a SIP URI: {other:?}"),
    }
}

fn v6(s: &str) -> Host {
    Host::V6(s.parse().expect("test address"))
}

/// §4.1: IPv6 references in the Request-URI, Via and Contact are valid.
#[test]
fn ipv6_references_are_valid() {
    let r = valid_request(
        &request("REGISTER", "sip:[2001:db8::10]", "[2001:db8::9:1]", "<sip:alice@[2001:db8::9:1]>", ""),
        "4.1",
    );
    assert_eq!(sip_host_port(&r.uri), (v6("2001:db8::10"), None));
    let via = r.headers.top_via().expect("via");
    assert_eq!((via.host, via.port), (v6("2001:db8::9:1"), None));
    match &r.headers.contacts().expect("contact")[0] {
        Contact::Addr(a) => assert_eq!(sip_host_port(&a.uri).0, v6("2001:db8::9:1")),
        Contact::Star => panic!("star"),
    }
}

/// §4.2: an IPv6 address without brackets in the Request-URI is a syntax
/// error (the colons read as a port); a server answers 400.
#[test]
fn ipv6_address_without_brackets_is_refused() {
    let e = parse_message(&request("REGISTER", "sip:2001:db8::10", "[2001:db8::9:1]", "<sip:alice@[2001:db8::9:1]>", ""))
        .expect_err("unbracketed IPv6 in the Request-URI");
    assert_eq!(e.status, 400, "{e}");
}

/// §4.3 and §4.4: inside the brackets everything is address (no port);
/// a port follows the closing bracket.
#[test]
fn port_inside_and_outside_the_reference() {
    let r = valid_request(&request("REGISTER", "sip:[2001:db8::10:5070]", "[2001:db8::9:1]", "<sip:a@[2001:db8::9:1]>", ""), "4.3");
    assert_eq!(sip_host_port(&r.uri), (v6("2001:db8::10:5070"), None));
    let r = valid_request(&request("REGISTER", "sip:[2001:db8::10]:5070", "[2001:db8::9:1]:5070", "<sip:a@[2001:db8::9:1]:5070>", ""), "4.4");
    assert_eq!(sip_host_port(&r.uri), (v6("2001:db8::10"), Some(5070)));
    assert_eq!(r.headers.top_via().expect("via").port, Some(5070));
}

/// §4.5: the Via `received` parameter holds an IPv6 address; implementations
/// must accept it with and without brackets (RFC 3261's ABNF says without,
/// deployed stacks send both).
#[test]
fn via_received_with_and_without_brackets() {
    for received in ["2001:db8::9:255", "[2001:db8::9:255]"] {
        let bytes = request("OPTIONS", "sip:[2001:db8::10]", &format!("[2001:db8::9:1];received={received}"), "<sip:a@[2001:db8::9:1]>", "");
        let r = valid_request(&bytes, received);
        let via = r.headers.top_via().expect("via");
        assert!(via.params.iter().any(|p| p.name.eq_ignore_ascii_case("received")), "{received}: {via:?}");
    }
}

/// §4.6 and §4.8: IPv6 in SDP, alone and mixed with IPv4 per media line.
#[test]
fn ipv6_in_sdp() {
    let sdp = "v=0\r\no=bob 1 1 IN IP6 2001:db8::20\r\ns=-\r\nc=IN IP6 2001:db8::20\r\nt=0 0\r\n\
               m=audio 6000 RTP/AVP 0\r\nm=audio 6002 RTP/AVP 0\r\nc=IN IP4 192.0.2.5\r\n";
    let r = valid_request(&request("INVITE", "sip:bob@[2001:db8::10]", "[2001:db8::9:1]", "<sip:a@[2001:db8::9:1]>", sdp), "4.6");
    let s = crate::sdp::parse(&r.body).expect("sdp");
    let c = s.connection.as_ref().expect("session c=");
    assert_eq!((c.addrtype.as_str(), c.address.as_str()), ("IP6", "2001:db8::20"));
    assert_eq!(s.media.len(), 2);
    let m2 = s.media[1].connection.as_ref().expect("media c=");
    assert_eq!((m2.addrtype.as_str(), m2.address.as_str()), ("IP4", "192.0.2.5"));
}

/// §4.7: IPv4 and IPv6 side by side in Via and Contact lists.
#[test]
fn mixed_address_families_in_headers() {
    let bytes = request(
        "REGISTER",
        "sip:[2001:db8::10]",
        "[2001:db8::9:1];branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.1",
        "<sip:a@[2001:db8::9:1]>, <sip:a@192.0.2.1>",
        "",
    );
    let r = valid_request(&bytes, "4.7");
    let vias = r.headers.vias().expect("vias");
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[1].host, Host::V4("192.0.2.1".parse().expect("v4")));
    assert_eq!(r.headers.contacts().expect("contacts").len(), 2);
}

/// §4.9: IPv4-mapped IPv6 addresses are IPv6 references like any other.
#[test]
fn ipv4_mapped_ipv6() {
    let r = valid_request(&request("REGISTER", "sip:[::ffff:192.0.2.10]", "[::ffff:192.0.2.1]", "<sip:a@[::ffff:192.0.2.1]>", ""), "4.9");
    assert_eq!(sip_host_port(&r.uri).0, v6("::ffff:192.0.2.10"));
}

/// §4.10: RFC 3261's IPv6 ABNF lets a stray extra colon through; an
/// address with `:::` is not an IPv6 address and must be refused, while an
/// embedded IPv4 tail is fine.
#[test]
fn malformed_ipv6_reference_is_refused() {
    valid_request(&request("REGISTER", "sip:[2001:db8::192.0.2.1]", "[2001:db8::9:1]", "<sip:a@[2001:db8::9:1]>", ""), "4.10 valid");
    for bad in ["sip:[2001:db8:::192.0.2.1]", "sip:[2001:db8::10", "sip:[2001:db8::g]"] {
        let e = parse_message(&request("REGISTER", bad, "[2001:db8::9:1]", "<sip:a@[2001:db8::9:1]>", ""))
            .expect_err(bad);
        assert_eq!(e.status, 400, "{bad}: {e}");
    }
    let bytes = request("REGISTER", "sip:[2001:db8::10]", "[2001:db8:::9:1]", "<sip:a@[2001:db8::9:1]>", "");
    let refused = match parse_message(&bytes) {
        Err(e) => e.status == 400,
        Ok(Message::Request(r)) => validate_request(&r).is_err(),
        Ok(_) => false,
    };
    assert!(refused, "a Via host with ':::' must not pass");
}

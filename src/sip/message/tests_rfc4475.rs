//! RFC 4475 torture vectors (tests/vectors/rfc4475, see README there): each
//! file's expected outcome with the RFC section that decides it, plus detail
//! checks on the valid ones and the round-trip property on all that parse.

use super::*;

/// What a server must conclude about a vector.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Request that parses and passes `validate_request`.
    Valid,
    /// Response that parses and whose transaction-layer views parse.
    ValidResponse,
    /// `parse_message` fails with this status; reason contains the text.
    ParseErr(u16, &'static str),
    /// Parses, but `validate_request` fails with this status / reason text.
    Invalid(u16, &'static str),
}
use Expect::*;

/// `(name, bytes)` of one vector, read at compile time relative to this file
/// so the path works in the main crate and in a scratch crate alike.
macro_rules! vector {
    ($name:literal) => {
        ($name, &include_bytes!(concat!("../../../tests/vectors/rfc4475/", $name, ".dat"))[..])
    };
}

macro_rules! v {
    ($name:literal, $expect:expr) => {
        (vector!($name).0, vector!($name).1, $expect)
    };
}

/// (file, bytes, expectation); comments cite RFC 4475.
fn vectors() -> Vec<(&'static str, &'static [u8], Expect)> {
    vec![
        // §3.1.1 Valid messages.
        v!("wsinv", Valid), // §3.1.1.1
        v!("intmeth", Valid), // §3.1.1.2
        v!("esc01", Valid), // §3.1.1.3
        v!("escnull", Valid), // §3.1.1.4
        v!("esc02", Valid), // §3.1.1.5
        v!("lwsdisp", Valid), // §3.1.1.6
        v!("longreq", Valid), // §3.1.1.7
        v!("dblreq", Valid), // §3.1.1.8
        v!("semiuri", Valid), // §3.1.1.9
        v!("transports", Valid), // §3.1.1.10
        v!("mpart01", Valid), // §3.1.1.11
        v!("unreason", ValidResponse), // §3.1.1.12
        v!("noreason", ValidResponse), // §3.1.1.13
        // §3.1.2 Invalid messages.
        // §3.1.2.1: empty Via/Contact params; found by the typed Via view.
        v!("badinv01", Invalid(400, "Via")),
        // §3.1.2.2: Content-Length 9999 > body.
        v!("clerr", ParseErr(400, "Content-Length")),
        // §3.1.2.3: Content-Length -999.
        v!("ncl", ParseErr(400, "Content-Length")),
        // §3.1.2.4: CSeq beyond 2^32 (also Max-Forwards 300, huge Expires).
        v!("scalar02", ParseErr(400, "CSeq")),
        // §3.1.2.5: response with overlarge CSeq: dropped.
        v!("scalarlg", ParseErr(400, "CSeq")),
        // §3.1.2.6: unterminated quoted display name in To.
        v!("quotbal", Invalid(400, "To")),
        // §3.1.2.7: <> around the Request-URI.
        v!("ltgtruri", ParseErr(400, "Request-URI")),
        // §3.1.2.8: LWS inside the Request-URI.
        v!("lwsruri", ParseErr(400, "Request-Line")),
        // §3.1.2.9: several SP between Request-Line elements.
        v!("lwsstart", ParseErr(400, "Request-Line")),
        // §3.1.2.10: SP after SIP-Version.
        v!("trws", ParseErr(400, "Request-Line")),
        // §3.1.2.11: URI headers in the Request-URI (RFC 3261 §19.1.5).
        v!("escruri", Invalid(400, "Request-URI")),
        // §3.1.2.12: Date in EST instead of GMT.
        v!("baddate", Invalid(400, "Date")),
        // §3.1.2.13: Contact URI with `?` not in <>.
        v!("regbadct", Invalid(400, "Contact")),
        // §3.1.2.14: spaces inside <> in To.
        v!("badaspec", Invalid(400, "To")),
        // §3.1.2.15: comma in an unquoted display name (From checked first).
        v!("baddn", Invalid(400, "From")),
        // §3.1.2.16: SIP/7.0.
        v!("badvers", ParseErr(505, "Version Not Supported")),
        // §3.1.2.17: OPTIONS with CSeq INVITE.
        v!("mismatch01", ParseErr(400, "CSeq method mismatch")),
        // §3.1.2.18: NEWMETHOD with CSeq INVITE; the RFC allows 400 or 501.
        v!("mismatch02", ParseErr(400, "CSeq method mismatch")),
        // §3.1.2.19: status code 4294967301.
        v!("bigcode", ParseErr(400, "Status-Line")),
        // §3.2.1: branch is only the magic cookie; still a parsable request
        // (the transaction layer treats it as RFC 2543 style).
        v!("badbranch", Valid),
        // §3.3.1: no From, To, Call-ID, Max-Forwards.
        v!("insuf", ParseErr(400, "Missing From")),
        // §3.3.2 / §3.3.3: Request-URI schemes we do not serve -> 416.
        v!("unkscm", Invalid(416, "Unsupported URI Scheme")),
        v!("novelsc", Invalid(416, "Unsupported URI Scheme")),
        // §3.3.4: unknown schemes in To/From/Contact are syntactically fine;
        // whether to register them is the registrar's decision.
        v!("unksm2", Valid),
        // §3.3.5 Require/Proxy-Require (420 is for higher layers), §3.3.6
        // unknown Content-Type (415), §3.3.7 unknown auth scheme (401).
        v!("bext01", Valid),
        v!("invut", Valid),
        v!("regaut01", Valid),
        // §3.3.8: two CSeq, Call-ID, To, From, Max-Forwards values.
        v!("multi01", ParseErr(400, "Multiple")),
        // §3.3.9: two Content-Length values.
        v!("mcl01", ParseErr(400, "Multiple Content-Length")),
        // §3.3.10: broadcast Via in a response is the transport's problem.
        v!("bcast", ValidResponse),
        // §3.3.11 Max-Forwards 0 (483 is for the proxy), §3.3.12-14 Contact
        // params / URI params / escaped URI headers in <>, §3.3.15 Accept.
        v!("zeromf", Valid),
        v!("cparam01", Valid),
        v!("cparam02", Valid),
        v!("regescrt", Valid),
        v!("sdp01", Valid),
        // §3.4.1: RFC 2543 syntax (no branch, no Max-Forwards, no C-L).
        v!("inv2543", Valid),
        // Not from RFC 4475 (sipsorcery extra): no SIP-Version in the
        // Request-Line, a header line without colon.
        v!("test", ParseErr(400, "Request-Line")),
    ]
}

/// The round-trip contract of `serialize`: reparsing the serialization gives
/// the same message with Content-Length set to the body length.
pub(super) fn assert_round_trip(m: &Message, label: &str) {
    let bytes = m.to_bytes();
    let again = parse_message(&bytes).unwrap_or_else(|e| {
        panic!("{label}: reparse failed: {e}\n{}", String::from_utf8_lossy(&bytes))
    });
    let mut expected = m.clone();
    let len = match &expected {
        Message::Request(r) => r.body.len(),
        Message::Response(r) => r.body.len(),
    };
    expected.headers_mut().set(HeaderName::ContentLength, len.to_string());
    assert_eq!(again, expected, "{label}: round trip differs");
    assert_eq!(again.to_bytes(), bytes, "{label}: serialization not stable");
}

#[test]
fn every_vector_has_its_expected_outcome() {
    let all = vectors();
    assert_eq!(all.len(), 50, "one entry per .dat file");
    for (name, bytes, expect) in all {
        let parsed = parse_message(bytes);
        match (expect, &parsed) {
            (ParseErr(status, text), Err(e)) => {
                assert_eq!(e.status, status, "{name}: {e}");
                assert!(e.reason.contains(text), "{name}: reason {:?} lacks {text:?}", e.reason);
            }
            (ParseErr(..), Ok(_)) => panic!("{name}: parsed but should not"),
            (_, Err(e)) => panic!("{name}: {e}"),
            (Valid | Invalid(..), Ok(Message::Request(req))) => {
                let v = validate_request(req);
                match expect {
                    Valid => assert!(v.is_ok(), "{name}: {v:?}"),
                    Invalid(status, text) => {
                        let e = v.expect_err(name);
                        assert_eq!(e.status, status, "{name}: {e}");
                        assert!(e.reason.contains(text), "{name}: reason {:?} lacks {text:?}", e.reason);
                    }
                    _ => unreachable!(),
                }
            }
            (ValidResponse, Ok(Message::Response(r))) => {
                r.headers.top_via().expect(name);
                r.headers.from_addr().expect(name);
                r.headers.to_addr().expect(name);
                r.headers.cseq().expect(name);
            }
            (_, Ok(m)) => panic!("{name}: wrong message kind {m:?}"),
        }
        if let Ok(m) = &parsed {
            assert_round_trip(m, name);
        }
    }
}

fn request(bytes: &[u8]) -> Request {
    match parse_message(bytes) {
        Ok(Message::Request(r)) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn wsinv_details() {
    // §3.1.1.1
    let r = request(vector!("wsinv").1);
    assert_eq!(r.headers.to_addr().unwrap().tag(), Some("1918181833n"));
    let from = r.headers.from_addr().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(r.headers.max_forwards().unwrap(), Some(68));
    assert_eq!(r.headers.cseq().unwrap(), CSeq { seq: 9, method: Method::Invite });
    let vias = r.headers.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host, Host::V4("192.0.2.2".parse().unwrap()));
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].transport, "UDP");
    assert_eq!(r.headers.get(&HeaderName::Subject), Some(""));
    assert_eq!(
        r.headers.get(&HeaderName::Extension("newfangledheader".into())),
        Some("newfangled value continued newfangled value")
    );
    let c = r.headers.contacts().unwrap();
    let Contact::Addr(c) = &c[0] else { panic!() };
    assert_eq!(c.display_name.as_deref(), Some("Quoted string \"\""));
    assert_eq!(c.param("q"), Some(Some("0.33")));
    assert_eq!(c.param("secondparam"), Some(None));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn intmeth_and_escapes() {
    // §3.1.1.2
    let r = request(vector!("intmeth").1);
    assert_eq!(r.method, Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into()));
    let u = r.uri.as_sip().unwrap();
    assert_eq!(u.user.as_deref(), Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
    assert_eq!(u.password.as_deref(), Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
    let to = r.headers.to_addr().unwrap();
    assert_eq!(to.display_name.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    let from = r.headers.from_addr().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("token1~` token2'+_ token3*%!.-"));
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    // §3.1.1.3
    let r = request(vector!("esc01").1);
    assert_eq!(r.uri.user(), Some("sips:user@example.com"));
    assert_eq!(r.headers.to_addr().unwrap().uri.user(), Some("user"));
    assert_eq!(r.headers.from_addr().unwrap().uri.user(), Some("I have spaces"));
    let Contact::Addr(c) = &r.headers.contacts().unwrap()[0] else { panic!() };
    let cu = c.uri.as_sip().unwrap();
    assert_eq!(cu.user.as_deref(), Some("caller"));
    assert_eq!(cu.param("lr"), Some(None));
    assert_eq!(cu.param("name"), Some(Some("value%41")));
    // §3.1.1.4
    let r = request(vector!("escnull").1);
    assert_eq!(r.headers.to_addr().unwrap().uri.user(), Some("null-\0-null"));
    assert_eq!(r.headers.contacts().unwrap().len(), 2);
    // §3.1.1.5: nothing here is an escape; C%6Fntact is an extension header.
    let r = request(vector!("esc02").1);
    assert_eq!(r.method, Method::Extension("RE%47IST%45R".into()));
    assert_eq!(r.headers.contacts().unwrap().len(), 2);
    assert_eq!(r.headers.to_addr().unwrap().display_name.as_deref(), Some("%Z%45"));
    assert_eq!(r.headers.top_via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
}

#[test]
fn framing_and_misc_valid_vectors() {
    // §3.1.1.6
    let r = request(vector!("lwsdisp").1);
    assert_eq!(r.headers.from_addr().unwrap().display_name.as_deref(), Some("caller"));
    // §3.1.1.7
    let r = request(vector!("longreq").1);
    assert_eq!(r.headers.vias().unwrap().len(), 34);
    assert_eq!(r.body.len(), 150);
    // §3.1.1.8: only the REGISTER, trailing INVITE dropped.
    let r = request(vector!("dblreq").1);
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
    // §3.1.1.9
    let r = request(vector!("semiuri").1);
    assert_eq!(r.uri.user(), Some("user;par=u@example.net"));
    assert!(r.uri.as_sip().unwrap().params.is_empty());
    // §3.1.1.10
    let r = request(vector!("transports").1);
    let t: Vec<String> = r.headers.vias().unwrap().into_iter().map(|v| v.transport).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    // §3.1.1.11: binary body kept intact.
    let r = request(vector!("mpart01").1);
    assert_eq!(r.body.len(), 553);
    // §3.1.1.12 / §3.1.1.13
    let Ok(Message::Response(u)) = parse_message(vector!("unreason").1) else { panic!() };
    assert_eq!(u.status, 200);
    assert!(u.reason.starts_with("= 2**3 * 5**2 но"));
    let Ok(Message::Response(n)) = parse_message(vector!("noreason").1) else { panic!() };
    assert_eq!((n.status, n.reason.as_str()), (100, ""));
    // §3.3.12 / §3.3.13 / §3.3.14
    let r = request(vector!("cparam01").1);
    let Contact::Addr(c) = &r.headers.contacts().unwrap()[0] else { panic!() };
    assert_eq!(c.param("unknownparam"), Some(None));
    let r = request(vector!("cparam02").1);
    let Contact::Addr(c) = &r.headers.contacts().unwrap()[0] else { panic!() };
    assert!(c.params.is_empty());
    assert_eq!(c.uri.as_sip().unwrap().param("unknownparam"), Some(None));
    let r = request(vector!("regescrt").1);
    let Contact::Addr(c) = &r.headers.contacts().unwrap()[0] else { panic!() };
    assert_eq!(c.uri.as_sip().unwrap().headers, vec![("Route".into(), "<sip:sip.example.com>".into())]);
    // §3.4.1
    let r = request(vector!("inv2543").1);
    assert_eq!(r.headers.top_via().unwrap().branch(), None);
    assert_eq!(r.body.len(), 105);
}

#[test]
fn stream_framing_of_vectors() {
    for (name, bytes, expect) in vectors() {
        let has_cl = parse_message(bytes)
            .map(|m| m.headers().get(&HeaderName::ContentLength).is_some())
            .unwrap_or(false);
        if matches!(expect, Valid | ValidResponse) && has_cl && name != "dblreq" {
            assert_eq!(frame_stream(bytes), Framing::Complete(bytes.len()), "{name}");
        }
    }
    // dblreq over a stream is two messages (the second with a short body).
    let d = vector!("dblreq").1;
    let Framing::Complete(n) = frame_stream(d) else { panic!() };
    assert!(parse_message(&d[..n]).is_ok());
    assert_eq!(frame_stream(&d[n..]), Framing::KeepAlive(2));
    // inv2543 has no Content-Length: fine on UDP, fatal on a stream.
    assert!(matches!(frame_stream(vector!("inv2543").1), Framing::Error(_)));
    assert!(matches!(frame_stream(vector!("ncl").1), Framing::Error(_)));
    assert!(matches!(frame_stream(vector!("mcl01").1), Framing::Error(_)));
}

//! End-to-end through the real parser and serializer: messages as bytes,
//! compact header forms, several Via values on one line, sent-by compared
//! case-insensitively, and the ACK/CANCEL we build surviving a round trip.

use super::*;
use crate::sip::message::parse_message;

fn parse(text: &str) -> Message {
    parse_message(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
}

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds, SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKlower
Max-Forwards: 70
Route: <sip:p1.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Length: 0

";

#[test]
fn client_ack_for_486_round_trips_through_the_serializer() {
    let mut h = Harness::new();
    let Message::Request(inv) = parse(INVITE) else {
        panic!("request")
    };
    h.send_request(0, inv, udp_peer());
    h.take_sent();
    let busy = parse(
        "SIP/2.0 486 Busy Here
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds, SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKlower
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Content-Length: 0

",
    );
    h.incoming(50, busy, udp_peer());
    let sent = h.take_sent();
    let [(_, t)] = &sent[..] else {
        panic!("one ACK expected: {sent:?}")
    };
    let Message::Request(ack) = parse_message(&t.message.to_bytes()).expect("ACK reparses") else {
        panic!("request")
    };
    assert_eq!(ack.method, Method::Ack);
    let vias = ack.headers.vias().expect("Via");
    assert_eq!(vias.len(), 1, "only the top Via (§17.1.1.3)");
    assert_eq!(vias[0].branch(), Some("z9hG4bK776asdhds"));
    assert_eq!(ack.headers.to_addr().expect("To").tag(), Some("a6c85cf"));
    assert_eq!(ack.headers.cseq().expect("CSeq").to_string(), "314159 ACK");
    assert_eq!(
        ack.headers.get(&HeaderName::Route),
        Some("<sip:p1.example.com;lr>")
    );
}

#[test]
fn cancel_round_trips_and_matches_the_server_invite() {
    // UAC side builds the CANCEL; UAS side (another layer) receives both.
    let Message::Request(inv) = parse(INVITE) else {
        panic!("request")
    };
    let cancel = cancel_request(&inv).expect("cancel");
    let wire_cancel = parse_message(&cancel.to_bytes()).expect("CANCEL reparses");

    let mut uas = Harness::new();
    uas.incoming(0, Message::Request(inv), udp_peer());
    let key = match &uas.take_events()[..] {
        [(_, TxEvent::NewRequest { key, .. })] => key.clone(),
        other => panic!("{other:?}"),
    };
    uas.incoming(10, wire_cancel, udp_peer());
    assert!(
        matches!(&uas.take_events()[..], [(_, TxEvent::Cancel { invite_key, .. })] if invite_key == &key)
    );
    assert_eq!(Harness::response_times(&uas.take_sent(), 200), vec![10]);
}

#[test]
fn compact_forms_and_sent_by_case_match_retransmissions() {
    let mut h = Harness::new();
    let first = parse(
        "OPTIONS sip:bob@biloxi.example.com SIP/2.0
v: SIP/2.0/UDP PC33.Atlanta.Example.COM:5060;branch=z9hG4bKcase
Max-Forwards: 70
t: <sip:bob@biloxi.example.com>
f: <sip:alice@atlanta.example.com>;tag=88
i: opt-1@pc33
CSeq: 1 OPTIONS
l: 0

",
    );
    let again = parse(
        "OPTIONS sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKcase
Max-Forwards: 70
To: <sip:bob@biloxi.example.com>
From: <sip:alice@atlanta.example.com>;tag=88
Call-ID: opt-1@pc33
CSeq: 1 OPTIONS
Content-Length: 0

",
    );
    h.incoming(0, first, udp_peer());
    assert!(matches!(
        &h.take_events()[..],
        [(_, TxEvent::NewRequest { .. })]
    ));
    h.incoming(500, again, udp_peer());
    assert!(
        h.take_events().is_empty(),
        "same transaction despite case and compact forms"
    );
    assert_eq!(h.layer.len(), 1);
}

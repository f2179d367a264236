//! Layer-level matching and the layer's own answers. Checks: §9.2 CANCEL →
//! 200 (same To tag as the INVITE's responses) + Cancel event, then 487 and
//! ACK; CANCEL after a final → 200 without event; unmatched CANCEL → 481;
//! §8.2.2.2 merged request → 482 without reaching the TU; §17.2.3 sent-by
//! distinguishes transactions; RFC 2543 fallback matching (retransmission,
//! ACK with our To tag, CANCEL); §17.1.3 stray responses surfaced;
//! malformed requests → 400; the map and the timer heap drain to empty.

use super::*;

fn new_request(h: &mut Harness, ms: u64, req: &Request) -> TransactionKey {
    h.incoming(ms, req_msg(req), udp_peer());
    match &h.take_events()[..] {
        [(_, TxEvent::NewRequest { key, .. })] => key.clone(),
        other => panic!("expected NewRequest, got {other:?}"),
    }
}

fn only_response(sent: &[(u64, Transmit)]) -> Response {
    match sent {
        [(
            _,
            Transmit {
                message: Message::Response(r),
                ..
            },
        )] => r.clone(),
        other => panic!("expected one response, got {other:?}"),
    }
}

#[test]
fn cancel_answered_200_and_tu_told_to_send_487() {
    let mut h = Harness::new();
    let inv = request(Method::Invite, "z9hG4bKc1");
    let key = new_request(&mut h, 0, &inv);
    h.send_response(100, &key, response(&inv, 180, Some("uas")));
    h.take_sent();

    let cancel = cancel_request(&inv).expect("cancel");
    h.incoming(2_000, req_msg(&cancel), udp_peer());
    let ok = only_response(&h.take_sent());
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers.cseq().expect("CSeq").method, Method::Cancel);
    assert_eq!(
        ok.headers.to_addr().expect("To").tag(),
        Some("uas"),
        "§9.2: same To tag"
    );
    let events = h.take_events();
    assert_eq!(
        events,
        vec![(
            2_000,
            TxEvent::Cancel {
                invite_key: key.clone(),
                request: cancel.clone(),
                to_tag: "uas".into()
            }
        )]
    );
    // CANCEL retransmission: 200 again, no second event.
    h.incoming(2_500, req_msg(&cancel), udp_peer());
    assert_eq!(only_response(&h.take_sent()).status, 200);
    assert!(h.take_events().is_empty());

    // TU answers the INVITE 487, the UAC ACKs it in the INVITE transaction.
    let original = h.layer.request(&key).expect("invite").clone();
    let terminated = response(&original, 487, Some("uas"));
    h.send_response(2_100 + 500, &key, terminated.clone());
    h.incoming(2_700, req_msg(&ack_for(&inv, &terminated)), udp_peer());
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ServerInvite(ServerInviteState::Confirmed))
    );
    assert!(h.take_events().is_empty());
    h.run_until(60_000);
    assert_eq!(
        count_terminated(&h.take_events()),
        2,
        "INVITE and CANCEL transactions"
    );
    assert!(h.layer.is_empty());
}

#[test]
fn cancel_before_any_tagged_response_gets_a_fresh_tag_reported_to_tu() {
    let mut h = Harness::new();
    let inv = request(Method::Invite, "z9hG4bKc2");
    let key = new_request(&mut h, 0, &inv);
    h.incoming(
        10,
        req_msg(&cancel_request(&inv).expect("cancel")),
        udp_peer(),
    );
    let ok = only_response(&h.take_sent());
    let tag = ok
        .headers
        .to_addr()
        .expect("To")
        .tag()
        .expect("tag")
        .to_string();
    match &h.take_events()[..] {
        [(
            _,
            TxEvent::Cancel {
                invite_key, to_tag, ..
            },
        )] => {
            assert_eq!(invite_key, &key);
            assert_eq!(to_tag, &tag);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_after_final_gets_200_but_no_event() {
    let mut h = Harness::new();
    let inv = request(Method::Invite, "z9hG4bKc3");
    let key = new_request(&mut h, 0, &inv);
    h.send_response(10, &key, response(&inv, 200, Some("u")));
    h.take_sent();
    h.incoming(
        20,
        req_msg(&cancel_request(&inv).expect("cancel")),
        udp_peer(),
    );
    assert_eq!(only_response(&h.take_sent()).status, 200);
    assert!(h.take_events().is_empty());
}

#[test]
fn cancel_of_non_invite_gets_200() {
    let mut h = Harness::new();
    let opt = request(Method::Options, "z9hG4bKc4");
    new_request(&mut h, 0, &opt);
    let mut cancel = opt.clone();
    cancel.method = Method::Cancel;
    cancel.headers.set(HeaderName::CSeq, "1 CANCEL");
    h.incoming(10, req_msg(&cancel), udp_peer());
    assert_eq!(only_response(&h.take_sent()).status, 200);
    assert!(h.take_events().is_empty());
}

#[test]
fn unmatched_cancel_gets_481() {
    let mut h = Harness::new();
    let inv = request(Method::Invite, "z9hG4bKc5");
    h.incoming(
        0,
        req_msg(&cancel_request(&inv).expect("cancel")),
        udp_peer(),
    );
    let resp = only_response(&h.take_sent());
    assert_eq!(resp.status, 481);
    assert!(resp.headers.to_addr().expect("To").tag().is_some());
    assert!(h.take_events().is_empty());
    // Its CANCEL transaction ends by Timer J.
    h.run_until(32_000);
    assert_eq!(count_terminated(&h.take_events()), 1);
    assert!(h.layer.is_empty());
}

#[test]
fn merged_request_gets_482() {
    let mut h = Harness::new();
    let first = request(Method::Invite, "z9hG4bKm1");
    new_request(&mut h, 0, &first);
    // Same From tag, Call-ID, CSeq; different branch (forked and looped back
    // through another proxy); no To tag.
    let mut second = first.clone();
    second.headers.set(
        HeaderName::Via,
        via_value("UDP", "192.0.2.99:5060", "z9hG4bKm2"),
    );
    h.incoming(50, req_msg(&second), udp_peer());
    assert!(
        h.take_events().is_empty(),
        "the TU never sees the merged copy"
    );
    let resp = only_response(&h.take_sent());
    assert_eq!(resp.status, 482);
    assert!(resp.headers.to_addr().expect("To").tag().is_some());
    assert_eq!(
        resp.headers.top_via().expect("Via").branch(),
        Some("z9hG4bKm2")
    );
    // Retransmission of the merged copy: 482 again (its own transaction,
    // which also runs Timer G like any INVITE server transaction).
    h.incoming(520, req_msg(&second), udp_peer());
    assert_eq!(Harness::response_times(&h.take_sent(), 482), vec![520]);
    assert_eq!(h.layer.len(), 2);

    // With a To tag (in-dialog), no merge check applies.
    let mut in_dialog = first.clone();
    in_dialog.headers.set(
        HeaderName::Via,
        via_value("UDP", "192.0.2.99:5060", "z9hG4bKm3"),
    );
    in_dialog
        .headers
        .set(HeaderName::To, "<sip:bob@b.example>;tag=x");
    new_request(&mut h, 600, &in_dialog);
}

#[test]
fn sent_by_is_part_of_the_server_key() {
    let mut h = Harness::new();
    let a = request_via(
        Method::Options,
        &via_value("UDP", "192.0.2.10:5060", "z9hG4bKsame"),
    );
    let mut b = request_via(
        Method::Options,
        &via_value("UDP", "192.0.2.11:5060", "z9hG4bKsame"),
    );
    b.headers.set(HeaderName::CallId, "other-call");
    let ka = new_request(&mut h, 0, &a);
    let kb = new_request(&mut h, 0, &b);
    assert_ne!(ka, kb);
    assert_eq!(ka.branch(), Some("z9hG4bKsame"));
}

#[test]
fn rfc2543_fallback_matching() {
    let mut h = Harness::new();
    // No magic cookie: old-style branch, and no branch at all.
    for (i, branch) in ["1234", ""].into_iter().enumerate() {
        let mut inv = request(Method::Invite, branch);
        inv.headers.set(HeaderName::CallId, format!("legacy-{i}"));
        let key = new_request(&mut h, 0, &inv);
        assert!(key.is_rfc2543());
        // Identical retransmission matches, not a new request.
        h.incoming(100, req_msg(&inv), udp_peer());
        assert!(h.take_events().is_empty());
        let busy = response(&inv, 486, Some("legacy-tag"));
        h.send_response(200, &key, busy.clone());
        // ACK carries our To tag, which the INVITE did not have.
        h.incoming(300, req_msg(&ack_for(&inv, &busy)), udp_peer());
        assert!(
            h.take_events().is_empty(),
            "ACK matched the transaction, not stray"
        );
        assert_eq!(
            h.layer.state(&key),
            Some(TransactionState::ServerInvite(ServerInviteState::Confirmed))
        );
        // An ACK with a different To tag is not ours: stray.
        let mut other = ack_for(&inv, &busy);
        other
            .headers
            .set(HeaderName::To, "<sip:bob@b.example>;tag=other");
        h.incoming(400, req_msg(&other), udp_peer());
        assert!(matches!(
            &h.take_events()[..],
            [(_, TxEvent::Ack { key: None, .. })]
        ));
    }
    // CANCEL for a legacy INVITE matches on everything but the method.
    let mut inv = request(Method::Invite, "");
    inv.headers.set(HeaderName::CallId, "legacy-cancel");
    let key = new_request(&mut h, 500, &inv);
    h.take_sent();
    let mut cancel = inv.clone();
    cancel.method = Method::Cancel;
    cancel.headers.set(HeaderName::CSeq, "1 CANCEL");
    h.incoming(600, req_msg(&cancel), udp_peer());
    assert!(
        matches!(&h.take_events()[..], [(_, TxEvent::Cancel { invite_key, .. })] if invite_key == &key)
    );
    // A different CSeq is a different legacy transaction.
    let mut next = inv.clone();
    next.headers.set(HeaderName::CSeq, "2 INVITE");
    next.headers
        .set(HeaderName::To, "<sip:bob@b.example>;tag=t");
    new_request(&mut h, 700, &next);
}

#[test]
fn stray_response_is_surfaced() {
    let mut h = Harness::new();
    let never_sent = request(Method::Invite, "z9hG4bKnever");
    let ok = response(&never_sent, 200, Some("u"));
    h.incoming(0, resp_msg(&ok), udp_peer());
    assert_eq!(
        h.take_events(),
        vec![(
            0,
            TxEvent::StrayResponse {
                response: ok,
                source: udp_peer()
            }
        )]
    );
    // Same branch but another method is also no match (§17.1.3).
    let key = h.send_request(10, request(Method::Options, "z9hG4bKopt"), udp_peer());
    let mut wrong = response(&request(Method::Options, "z9hG4bKopt"), 200, Some("u"));
    wrong.headers.set(HeaderName::CSeq, "1 INFO");
    h.incoming(20, resp_msg(&wrong), udp_peer());
    assert!(matches!(
        &h.take_events()[..],
        [(_, TxEvent::StrayResponse { .. })]
    ));
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ClientNonInvite(
            ClientNonInviteState::Trying
        ))
    );
}

#[test]
fn malformed_request_gets_400_and_malformed_response_is_dropped() {
    let mut h = Harness::new();
    let mut req = request(Method::Options, "z9hG4bKbad");
    req.headers.remove(&HeaderName::CSeq);
    h.incoming(0, req_msg(&req), udp_peer());
    assert_eq!(only_response(&h.take_sent()).status, 400);
    assert!(h.take_events().is_empty());
    let mut resp = response(&request(Method::Options, "z9hG4bKbad"), 200, None);
    resp.headers.remove(&HeaderName::Via);
    h.incoming(0, resp_msg(&resp), udp_peer());
    assert!(h.take_events().is_empty());
    assert!(h.layer.is_empty());
}

#[test]
fn everything_drains_to_zero() {
    let mut h = Harness::new();
    for i in 0..50u64 {
        let b = format!("z9hG4bKload{i}");
        let peer = if i % 2 == 0 { udp_peer() } else { tcp_peer() };
        // Client INVITE answered 486, client INVITE that times out, client
        // OPTIONS answered 200, server INVITE answered 2xx, server BYE.
        let inv = request(Method::Invite, &format!("{b}ci"));
        h.send_request(i, inv.clone(), peer.clone());
        h.incoming(
            i + 1,
            resp_msg(&response(&inv, 486, Some("t"))),
            peer.clone(),
        );
        h.send_request(i, request(Method::Invite, &format!("{b}to")), peer.clone());
        let opt = request(Method::Options, &format!("{b}co"));
        h.send_request(i, opt.clone(), peer.clone());
        h.incoming(
            i + 2,
            resp_msg(&response(&opt, 200, Some("t"))),
            peer.clone(),
        );
        let mut sinv = request(Method::Invite, &format!("{b}si"));
        sinv.headers.set(HeaderName::CallId, format!("s-{i}"));
        h.incoming(i + 3, req_msg(&sinv), peer.clone());
        let mut bye = request(Method::Bye, &format!("{b}sb"));
        bye.headers.set(HeaderName::CallId, format!("b-{i}"));
        h.incoming(i + 3, req_msg(&bye), peer.clone());
    }
    let early = h.take_events();
    let early_terminated = count_terminated(&early);
    let keys: Vec<(TransactionKey, Request)> = early
        .into_iter()
        .filter_map(|(_, e)| match e {
            TxEvent::NewRequest { key, request, .. } => Some((key, request)),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 100);
    for (key, req) in &keys {
        h.send_response(100, key, response(req, 200, Some("t")));
    }
    assert!(!h.layer.is_empty());
    h.run_until(120_000);
    let events = h.take_events();
    assert_eq!(early_terminated + count_terminated(&events), 250);
    assert_eq!(h.layer.len(), 0);
    assert_eq!(h.layer.poll_timeout(), None, "no stale timers left behind");
}

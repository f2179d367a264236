//! INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2). Checks:
//! Timer A doubling 0.5,1,2,4,8,16 s until Timer B at 64*T1; no
//! retransmission on reliable transports; provisional stops A and B; ACK for
//! 300-699 built per §17.1.1.3 and re-sent for retransmitted finals; Timer D
//! 32 s / 0; 2xx passed up without ACK, retransmitted 2xx passed up in
//! Accepted, Timer M; §9.1 CANCEL guard; transport error.

use super::*;

fn invite(branch: &str) -> Request {
    let mut r = request(Method::Invite, branch);
    r.headers.push(HeaderName::Route, "<sip:p1.example;lr>");
    r.headers.push(HeaderName::Route, "<sip:p2.example;lr>");
    r
}

#[test]
fn timer_a_doubles_until_timer_b_fires_at_64_t1() {
    let mut h = Harness::new();
    let key = h.send_request(0, invite("z9hG4bKa1"), udp_peer());
    h.run_until(40_000);
    let sent = h.take_sent();
    // Intervals 0.5, 1, 2, 4, 8, 16 s; the next (32 s) would land after B.
    assert_eq!(
        Harness::request_times(&sent, Method::Invite),
        vec![0, 500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    let events = h.take_events();
    assert_eq!(events[0], (32_000, TxEvent::Timeout { key: key.clone() }));
    assert_eq!(events[1], (32_000, TxEvent::Terminated { key }));
    assert_eq!(events.len(), 2);
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.poll_timeout(), None);
}

#[test]
fn reliable_transport_never_retransmits() {
    let mut h = Harness::new();
    let key = h.send_request(0, invite("z9hG4bKa2"), tcp_peer());
    h.run_until(40_000);
    let sent = h.take_sent();
    assert_eq!(Harness::request_times(&sent, Method::Invite), vec![0]);
    assert_eq!(sent[0].1.dest, tcp_peer());
    assert_eq!(sent[0].1.key.as_ref(), Some(&key));
    assert_eq!(h.take_events()[0], (32_000, TxEvent::Timeout { key }));
    assert!(h.layer.is_empty());
}

#[test]
fn provisional_stops_retransmission_and_timer_b() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKa3");
    let key = h.send_request(0, inv.clone(), udp_peer());
    h.incoming(700, resp_msg(&response(&inv, 180, Some("t1"))), udp_peer());
    h.run_until(100_000);
    let sent = h.take_sent();
    assert_eq!(Harness::request_times(&sent, Method::Invite), vec![0, 500]);
    let events = h.take_events();
    assert_eq!(events.len(), 1, "only the 180: {events:?}");
    assert!(matches!(&events[0].1, TxEvent::Response { response, .. } if response.status == 180));
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ClientInvite(
            ClientInviteState::Proceeding
        ))
    );
    assert_eq!(
        h.layer.poll_timeout(),
        None,
        "Proceeding waits for the TU, no timer"
    );
}

#[test]
fn non_2xx_final_is_acked_inside_the_transaction() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKa4");
    let key = h.send_request(0, inv.clone(), udp_peer());
    let busy = response(&inv, 486, Some("uas-tag"));
    h.incoming(100, resp_msg(&busy), udp_peer());

    let sent = h.take_sent();
    let acks: Vec<&Request> = sent
        .iter()
        .filter_map(|(_, t)| match &t.message {
            Message::Request(r) if r.method == Method::Ack => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(acks.len(), 1);
    let ack = acks[0];
    // §17.1.1.3: same Request-URI, Call-ID, From, CSeq number; To from the
    // response; a single Via equal to the INVITE's top Via; Route copied.
    assert_eq!(ack.uri, inv.uri);
    assert_eq!(ack.headers.call_id(), inv.headers.call_id());
    assert_eq!(
        ack.headers.get(&HeaderName::From),
        inv.headers.get(&HeaderName::From)
    );
    assert_eq!(ack.headers.to_addr().expect("To").tag(), Some("uas-tag"));
    let cseq = ack.headers.cseq().expect("CSeq");
    assert_eq!((cseq.seq, cseq.method), (1, Method::Ack));
    assert_eq!(
        ack.headers.vias().expect("Via"),
        vec![inv.headers.top_via().expect("Via")]
    );
    assert_eq!(
        ack.headers.top_via().expect("Via").branch(),
        Some("z9hG4bKa4")
    );
    let routes: Vec<&str> = ack.headers.get_all(&HeaderName::Route).collect();
    assert_eq!(routes, vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]);
    assert!(ack.headers.max_forwards().expect("Max-Forwards").is_some());

    let events = h.take_events();
    assert!(
        matches!(&events[..], [(100, TxEvent::Response { response, .. })] if response.status == 486)
    );
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ClientInvite(ClientInviteState::Completed))
    );

    // Retransmitted final: ACK again, nothing passed up.
    h.incoming(600, resp_msg(&busy), udp_peer());
    assert_eq!(
        Harness::request_times(&h.take_sent(), Method::Ack),
        vec![600]
    );
    assert!(h.take_events().is_empty());
    // No more INVITE retransmissions after the final.
    h.run_until(32_099);
    assert!(h.take_sent().is_empty());
    assert!(h.take_events().is_empty());
    // Timer D = 32 s from the final.
    h.run_until(32_100);
    assert_eq!(h.take_events(), vec![(32_100, TxEvent::Terminated { key })]);
    assert!(h.layer.is_empty());
}

#[test]
fn non_2xx_final_over_tcp_terminates_at_once() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKa5");
    let key = h.send_request(0, inv.clone(), tcp_peer());
    h.incoming(100, resp_msg(&response(&inv, 404, Some("x"))), tcp_peer());
    assert_eq!(
        Harness::request_times(&h.take_sent(), Method::Ack),
        vec![100]
    );
    let events = h.take_events();
    assert!(matches!(&events[0].1, TxEvent::Response { response, .. } if response.status == 404));
    assert_eq!(events[1], (100, TxEvent::Terminated { key }));
    assert!(h.layer.is_empty());
}

#[test]
fn two_xx_passes_up_without_ack_and_retransmissions_too() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKa6");
    let key = h.send_request(0, inv.clone(), udp_peer());
    let ok = response(&inv, 200, Some("uas"));
    h.take_sent();
    h.incoming(200, resp_msg(&ok), udp_peer());
    assert!(h.take_sent().is_empty(), "ACK for 2xx is the TU's job");
    assert_eq!(
        h.take_events(),
        vec![(
            200,
            TxEvent::Response {
                key: key.clone(),
                response: ok.clone()
            }
        )]
    );
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ClientInvite(ClientInviteState::Accepted))
    );

    // Retransmitted 2xx (our ACK was lost) and a 2xx from another fork.
    h.incoming(700, resp_msg(&ok), udp_peer());
    let fork = response(&inv, 200, Some("fork2"));
    h.incoming(800, resp_msg(&fork), udp_peer());
    let events = h.take_events();
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|(_, e)| matches!(e, TxEvent::Response { response, .. } if response.status == 200)));
    assert!(h.take_sent().is_empty());
    // Non-2xx in Accepted is absorbed.
    h.incoming(900, resp_msg(&response(&inv, 500, Some("x"))), udp_peer());
    assert!(h.take_events().is_empty());

    // Timer M = 64*T1 after the first 2xx.
    h.run_until(200 + 32_000);
    assert_eq!(h.take_events(), vec![(32_200, TxEvent::Terminated { key })]);
    // After the transaction, a 2xx retransmission is a stray response.
    h.incoming(40_000, resp_msg(&ok), udp_peer());
    assert!(matches!(
        &h.take_events()[..],
        [(_, TxEvent::StrayResponse { .. })]
    ));
    assert!(h.layer.is_empty());
}

#[test]
fn cancel_builder_and_guard_per_9_1() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKa7");
    let key = h.send_request(0, inv.clone(), udp_peer());
    h.incoming(100, resp_msg(&response(&inv, 180, Some("t"))), udp_peer());

    let cancel = cancel_request(&inv).expect("cancel");
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, inv.uri);
    assert_eq!(cancel.headers.call_id(), inv.headers.call_id());
    assert_eq!(
        cancel.headers.get(&HeaderName::To),
        inv.headers.get(&HeaderName::To)
    );
    assert_eq!(
        cancel.headers.get(&HeaderName::From),
        inv.headers.get(&HeaderName::From)
    );
    let cseq = cancel.headers.cseq().expect("CSeq");
    assert_eq!((cseq.seq, cseq.method), (1, Method::Cancel));
    assert_eq!(
        cancel.headers.vias().expect("Via"),
        vec![inv.headers.top_via().expect("Via")]
    );
    assert_eq!(cancel.headers.get_all(&HeaderName::Route).count(), 2);

    let ckey = h.send_request(1_000, cancel.clone(), udp_peer());
    assert_ne!(ckey, key, "CANCEL is its own transaction");
    h.incoming(
        1_100,
        resp_msg(&response(&cancel, 200, Some("t"))),
        udp_peer(),
    );
    h.take_events();
    // The UAS never sends 487: the INVITE is given up 64*T1 after the CANCEL.
    h.run_until(40_000);
    let events = h.take_events();
    assert!(
        events.contains(&(33_000, TxEvent::Timeout { key: key.clone() })),
        "{events:?}"
    );
    assert!(events.contains(&(33_000, TxEvent::Terminated { key })));
    assert!(h.layer.is_empty());
}

#[test]
fn transport_error_ends_the_transaction() {
    let mut h = Harness::new();
    let key = h.send_request(0, invite("z9hG4bKa8"), tcp_peer());
    h.layer.handle_transport_error(h.now, &key);
    h.drain();
    assert_eq!(
        h.take_events(),
        vec![
            (0, TxEvent::TransportError { key: key.clone() }),
            (0, TxEvent::Terminated { key })
        ]
    );
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.poll_timeout(), None);
}

#[test]
fn send_request_refuses_bad_input() {
    let mut layer = TransactionLayer::default();
    let now = Instant::now();
    let ack = request(Method::Ack, "z9hG4bKx");
    assert!(matches!(
        layer.send_request(now, ack, udp_peer()),
        Err(TransactionError::MethodNotAllowed(_))
    ));
    let legacy = request(Method::Invite, "1234");
    assert_eq!(
        layer.send_request(now, legacy, udp_peer()),
        Err(TransactionError::MissingBranch)
    );
    let ok = request(Method::Invite, "z9hG4bKdup");
    let key = layer
        .send_request(now, ok.clone(), udp_peer())
        .expect("first");
    assert_eq!(
        layer.send_request(now, ok, udp_peer()),
        Err(TransactionError::Duplicate(key))
    );
}

#[test]
fn new_branch_has_magic_cookie_and_is_unique() {
    let a = new_branch();
    let b = new_branch();
    assert!(a.starts_with(BRANCH_MAGIC_COOKIE));
    assert!(a.len() >= BRANCH_MAGIC_COOKIE.len() + 16);
    assert_ne!(a, b);
    assert_ne!(new_tag(), new_tag());
}

#[test]
fn late_wakeup_fires_due_timers_once_in_order() {
    let mut h = Harness::new();
    let key = h.send_request(0, invite("z9hG4bKa9"), udp_peer());
    h.take_sent();
    // The driver oversleeps past both Timer A and Timer B.
    h.now = h.at(40_000);
    h.layer.handle_timeout(h.now);
    h.drain();
    assert_eq!(
        h.take_sent().len(),
        1,
        "one catch-up retransmission, not a burst"
    );
    assert_eq!(
        h.take_events(),
        vec![
            (40_000, TxEvent::Timeout { key: key.clone() }),
            (40_000, TxEvent::Terminated { key })
        ]
    );
}

#[test]
fn zero_timers_are_floored() {
    let cfg = TimerConfig {
        t1: Duration::ZERO,
        t2: Duration::ZERO,
        ..TimerConfig::default()
    };
    let mut h = Harness::with_config(cfg);
    h.send_request(0, invite("z9hG4bKa10"), udp_peer());
    h.run_until(1_000);
    assert!(h.layer.is_empty(), "64*T1 = 64 ms");
}

#[test]
fn cancel_held_until_a_provisional_arrives() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKa11");
    h.send_request(0, inv.clone(), udp_peer());
    let ckey = h.send_request(100, cancel_request(&inv).expect("cancel"), udp_peer());
    h.run_until(1_000);
    let sent = h.take_sent();
    assert!(
        Harness::request_times(&sent, Method::Cancel).is_empty(),
        "§9.1: not before a 1xx"
    );
    assert_eq!(
        h.layer.state(&ckey),
        Some(TransactionState::ClientNonInvite(
            ClientNonInviteState::Held
        ))
    );
    h.incoming(1_200, resp_msg(&response(&inv, 100, None)), udp_peer());
    h.run_until(2_000);
    // Released at the 100, then retransmitted by Timer E from that moment.
    assert_eq!(
        Harness::request_times(&h.take_sent(), Method::Cancel),
        vec![1_200, 1_700]
    );
}

#[test]
fn held_cancel_dropped_when_invite_fails_first() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bKa12");
    let ikey = h.send_request(0, inv.clone(), tcp_peer());
    let ckey = h.send_request(100, cancel_request(&inv).expect("cancel"), tcp_peer());
    h.incoming(200, resp_msg(&response(&inv, 503, Some("x"))), tcp_peer());
    assert!(Harness::request_times(&h.take_sent(), Method::Cancel).is_empty());
    let events = h.take_events();
    assert!(events.contains(&(200, TxEvent::Terminated { key: ckey })));
    assert!(events.contains(&(200, TxEvent::Terminated { key: ikey })));
    assert!(h.layer.is_empty());
}

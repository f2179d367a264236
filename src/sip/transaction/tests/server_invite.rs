//! INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). Checks:
//! 100 Trying after 200 ms unless the TU answers first (or at once when
//! configured); INVITE retransmissions absorbed with the last response
//! re-sent; Timer G doubling capped at T2 until Timer H → Timeout; ACK →
//! Confirmed, Timer I = T4 / 0; no G on reliable transports; 2xx → Accepted,
//! retransmissions absorbed, TU 2xx retransmissions passed, Timer L; stray
//! ACK for 2xx delivered; a second final refused.

use super::*;

fn new_invite(h: &mut Harness, branch: &str, peer: Peer) -> (Request, TransactionKey) {
    let inv = request(Method::Invite, branch);
    h.incoming(0, req_msg(&inv), peer.clone());
    let events = h.take_events();
    let key = match &events[..] {
        [(
            0,
            TxEvent::NewRequest {
                key,
                request,
                source,
            },
        )] => {
            assert_eq!(request, &inv);
            assert_eq!(source, &peer);
            key.clone()
        }
        other => panic!("expected NewRequest, got {other:?}"),
    };
    (inv, key)
}

#[test]
fn trying_sent_after_200ms_without_to_tag() {
    let mut h = Harness::new();
    let (_inv, key) = new_invite(&mut h, "z9hG4bKs1", udp_peer());
    assert!(h.take_sent().is_empty(), "no 100 before 200 ms");
    h.run_until(199);
    assert!(h.take_sent().is_empty());
    h.run_until(200);
    let sent = h.take_sent();
    assert_eq!(Harness::response_times(&sent, 100), vec![200]);
    let Message::Response(trying) = &sent[0].1.message else {
        panic!("not a response")
    };
    assert_eq!(trying.headers.to_addr().expect("To").tag(), None);
    assert_eq!(sent[0].1.dest, udp_peer());
    assert_eq!(sent[0].1.key.as_ref(), Some(&key));
}

#[test]
fn no_trying_when_tu_answers_first() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs2", udp_peer());
    h.send_response(50, &key, response(&inv, 180, Some("u")));
    h.run_until(1_000);
    let sent = h.take_sent();
    assert_eq!(Harness::response_times(&sent, 180), vec![50]);
    assert!(Harness::response_times(&sent, 100).is_empty());
}

#[test]
fn trying_at_once_when_configured() {
    let cfg = TimerConfig {
        trying_delay: Duration::ZERO,
        ..TimerConfig::default()
    };
    let mut h = Harness::with_config(cfg);
    new_invite(&mut h, "z9hG4bKs3", udp_peer());
    assert_eq!(Harness::response_times(&h.take_sent(), 100), vec![0]);
}

#[test]
fn retransmitted_invite_absorbed_and_last_provisional_resent() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs4", udp_peer());
    h.send_response(100, &key, response(&inv, 180, Some("u")));
    h.incoming(500, req_msg(&inv), udp_peer());
    h.incoming(1_500, req_msg(&inv), udp_peer());
    assert!(
        h.take_events().is_empty(),
        "retransmissions never reach the TU"
    );
    assert_eq!(
        Harness::response_times(&h.take_sent(), 180),
        vec![100, 500, 1_500]
    );
}

#[test]
fn early_retransmission_gets_trying_immediately() {
    let mut h = Harness::new();
    let (inv, _key) = new_invite(&mut h, "z9hG4bKs5", udp_peer());
    h.incoming(150, req_msg(&inv), udp_peer());
    h.run_until(1_000);
    assert_eq!(Harness::response_times(&h.take_sent(), 100), vec![150]);
}

#[test]
fn timer_g_capped_at_t2_until_timer_h_times_out() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs6", udp_peer());
    h.send_response(1_000, &key, response(&inv, 486, Some("u")));
    h.run_until(40_000);
    let sent = h.take_sent();
    // 100 Trying at 200 ms, then 486 at 1 s and every 0.5, 1, 2, 4, 4, ... s.
    assert_eq!(
        Harness::response_times(&sent, 486),
        vec![1_000, 1_500, 2_500, 4_500, 8_500, 12_500, 16_500, 20_500, 24_500, 28_500, 32_500]
    );
    assert_eq!(
        h.take_events(),
        vec![
            (33_000, TxEvent::Timeout { key: key.clone() }),
            (33_000, TxEvent::Terminated { key })
        ]
    );
    assert!(h.layer.is_empty());
}

#[test]
fn ack_confirms_then_timer_i() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs7", udp_peer());
    let busy = response(&inv, 486, Some("u"));
    h.send_response(100, &key, busy.clone());
    // A retransmitted INVITE in Completed gets the final again.
    h.incoming(300, req_msg(&inv), udp_peer());
    h.incoming(400, req_msg(&ack_for(&inv, &busy)), udp_peer());
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ServerInvite(ServerInviteState::Confirmed))
    );
    h.incoming(900, req_msg(&ack_for(&inv, &busy)), udp_peer()); // ACK retransmission absorbed
    h.run_until(5_399);
    assert!(
        h.take_events().is_empty(),
        "ACK for non-2xx is not passed up"
    );
    assert_eq!(
        Harness::response_times(&h.take_sent(), 486),
        vec![100, 300],
        "Timer G stopped by ACK"
    );
    h.run_until(5_400); // Timer I = T4
    assert_eq!(h.take_events(), vec![(5_400, TxEvent::Terminated { key })]);
    assert!(h.layer.is_empty());
}

#[test]
fn reliable_no_timer_g_and_ack_terminates_at_once() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs8", tcp_peer());
    let busy = response(&inv, 603, Some("u"));
    h.send_response(100, &key, busy.clone());
    h.run_until(10_000);
    assert_eq!(Harness::response_times(&h.take_sent(), 603), vec![100]);
    h.incoming(10_000, req_msg(&ack_for(&inv, &busy)), tcp_peer());
    assert_eq!(h.take_events(), vec![(10_000, TxEvent::Terminated { key })]);
    assert!(h.layer.is_empty());
}

#[test]
fn timer_h_over_tcp() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs9", tcp_peer());
    h.send_response(0, &key, response(&inv, 480, Some("u")));
    h.run_until(40_000);
    assert_eq!(h.take_events()[0], (32_000, TxEvent::Timeout { key }));
}

#[test]
fn two_xx_accepted_state_per_rfc6026() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs10", udp_peer());
    let ok = response(&inv, 200, Some("u"));
    h.send_response(100, &key, ok.clone());
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ServerInvite(ServerInviteState::Accepted))
    );
    // INVITE retransmission absorbed without a response; TU's own 2xx
    // retransmission passes through.
    h.incoming(500, req_msg(&inv), udp_peer());
    h.send_response(600, &key, ok.clone());
    assert_eq!(Harness::response_times(&h.take_sent(), 200), vec![100, 600]);
    // A non-2xx now is a TU bug.
    let err = h
        .layer
        .send_response(h.now, &key, response(&inv, 500, Some("u")));
    assert!(matches!(
        err,
        Err(TransactionError::WrongState { status: 500, .. })
    ));

    // ACK for 2xx has its own branch: stray, for the dialog layer.
    let mut ack = ack_for(&inv, &ok);
    ack.headers.set(
        HeaderName::Via,
        via_value("UDP", "192.0.2.10:5060", "z9hG4bKack"),
    );
    h.incoming(700, req_msg(&ack), udp_peer());
    // An ACK reusing the INVITE branch matches the Accepted transaction.
    let same_branch_ack = ack_for(&inv, &ok);
    h.incoming(800, req_msg(&same_branch_ack), udp_peer());
    let events = h.take_events();
    assert_eq!(
        events,
        vec![
            (
                700,
                TxEvent::Ack {
                    key: None,
                    request: ack,
                    source: udp_peer()
                }
            ),
            (
                800,
                TxEvent::Ack {
                    key: Some(key.clone()),
                    request: same_branch_ack,
                    source: udp_peer()
                }
            ),
        ]
    );
    // Timer L = 64*T1 after the 2xx.
    h.run_until(32_100);
    assert_eq!(h.take_events(), vec![(32_100, TxEvent::Terminated { key })]);
    assert!(h.layer.is_empty());
}

#[test]
fn second_final_refused_and_bad_status_refused() {
    let mut h = Harness::new();
    let (inv, key) = new_invite(&mut h, "z9hG4bKs11", udp_peer());
    h.send_response(0, &key, response(&inv, 404, Some("u")));
    let again = h
        .layer
        .send_response(h.now, &key, response(&inv, 486, Some("u")));
    assert!(matches!(
        again,
        Err(TransactionError::WrongState { status: 486, .. })
    ));
    let bad = h.layer.send_response(h.now, &key, response(&inv, 99, None));
    assert_eq!(bad, Err(TransactionError::InvalidStatus(99)));
    let client = h
        .layer
        .send_request(h.now, request(Method::Options, "z9hG4bKcl"), udp_peer())
        .expect("send");
    let wrong = h
        .layer
        .send_response(h.now, &client, response(&inv, 200, None));
    assert_eq!(wrong, Err(TransactionError::WrongRole(client)));
}

//! Non-INVITE server transaction (RFC 3261 §17.2.2). Checks: request
//! retransmissions absorbed in Trying, answered with the last provisional
//! in Proceeding and the final in Completed; Timer J 64*T1 UDP / 0 reliable.

use super::*;

#[test]
fn retransmissions_and_timer_j() {
    let mut h = Harness::new();
    let req = request(Method::Register, "z9hG4bKn1");
    h.incoming(0, req_msg(&req), udp_peer());
    let key = match &h.take_events()[..] {
        [(0, TxEvent::NewRequest { key, .. })] => key.clone(),
        other => panic!("{other:?}"),
    };
    // Trying: absorbed silently (no automatic 100 for non-INVITE).
    h.incoming(500, req_msg(&req), udp_peer());
    assert!(h.take_sent().is_empty());
    h.send_response(600, &key, response(&req, 100, None));
    h.incoming(1_500, req_msg(&req), udp_peer());
    assert_eq!(
        Harness::response_times(&h.take_sent(), 100),
        vec![600, 1_500]
    );
    h.send_response(2_000, &key, response(&req, 200, Some("u")));
    h.incoming(3_500, req_msg(&req), udp_peer());
    assert_eq!(
        Harness::response_times(&h.take_sent(), 200),
        vec![2_000, 3_500]
    );
    assert!(h.take_events().is_empty());
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ServerNonInvite(
            ServerNonInviteState::Completed
        ))
    );
    h.run_until(33_999);
    assert!(h.take_events().is_empty());
    h.run_until(34_000);
    assert_eq!(h.take_events(), vec![(34_000, TxEvent::Terminated { key })]);
    // After J the same request is new again.
    h.incoming(35_000, req_msg(&req), udp_peer());
    assert!(matches!(
        &h.take_events()[..],
        [(_, TxEvent::NewRequest { .. })]
    ));
}

#[test]
fn reliable_final_terminates_at_once() {
    let mut h = Harness::new();
    let req = request(Method::Options, "z9hG4bKn2");
    h.incoming(0, req_msg(&req), tcp_peer());
    let key = match &h.take_events()[..] {
        [(0, TxEvent::NewRequest { key, .. })] => key.clone(),
        other => panic!("{other:?}"),
    };
    h.send_response(10, &key, response(&req, 200, Some("u")));
    assert_eq!(
        h.take_events(),
        vec![(10, TxEvent::Terminated { key: key.clone() })]
    );
    assert!(h.layer.is_empty());
    let late = h
        .layer
        .send_response(h.now, &key, response(&req, 200, Some("u")));
    assert_eq!(late, Err(TransactionError::NoSuchTransaction(key)));
}

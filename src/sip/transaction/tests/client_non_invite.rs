//! Non-INVITE client transaction (RFC 3261 §17.1.2). Checks: Timer E
//! doubling capped at T2 until Timer F at 64*T1; E reset to T2 in
//! Proceeding; none on reliable transports; finals passed up once, their
//! retransmissions absorbed; Timer K = T4 UDP / 0 reliable.

use super::*;

#[test]
fn timer_e_doubles_capped_at_t2_until_timer_f() {
    let mut h = Harness::new();
    let key = h.send_request(0, request(Method::Options, "z9hG4bKe1"), udp_peer());
    h.run_until(40_000);
    let sent = h.take_sent();
    // Intervals 0.5, 1, 2, 4, 4, 4, ... (T2 = 4 s).
    assert_eq!(
        Harness::request_times(&sent, Method::Options),
        vec![0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert_eq!(
        h.take_events(),
        vec![
            (32_000, TxEvent::Timeout { key: key.clone() }),
            (32_000, TxEvent::Terminated { key })
        ]
    );
    assert!(h.layer.is_empty());
}

#[test]
fn provisional_resets_timer_e_to_t2() {
    let mut h = Harness::new();
    let req = request(Method::Register, "z9hG4bKe2");
    let key = h.send_request(0, req.clone(), udp_peer());
    h.incoming(600, resp_msg(&response(&req, 100, None)), udp_peer());
    h.run_until(14_000);
    // E was armed for 1.5 s; once it fires in Proceeding it repeats every T2.
    assert_eq!(
        Harness::request_times(&h.take_sent(), Method::Register),
        vec![0, 500, 1_500, 5_500, 9_500, 13_500]
    );
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ClientNonInvite(
            ClientNonInviteState::Proceeding
        ))
    );
}

#[test]
fn final_then_timer_k_over_udp() {
    let mut h = Harness::new();
    let req = request(Method::Bye, "z9hG4bKe3");
    let key = h.send_request(0, req.clone(), udp_peer());
    let ok = response(&req, 200, Some("t"));
    h.incoming(300, resp_msg(&ok), udp_peer());
    h.incoming(900, resp_msg(&ok), udp_peer()); // retransmission: absorbed
    h.run_until(5_299);
    let events = h.take_events();
    assert_eq!(
        events,
        vec![(
            300,
            TxEvent::Response {
                key: key.clone(),
                response: ok
            }
        )]
    );
    assert_eq!(
        h.layer.state(&key),
        Some(TransactionState::ClientNonInvite(
            ClientNonInviteState::Completed
        ))
    );
    h.run_until(5_300); // Timer K = T4 = 5 s
    assert_eq!(h.take_events(), vec![(5_300, TxEvent::Terminated { key })]);
    assert_eq!(Harness::request_times(&h.take_sent(), Method::Bye), vec![0]);
    assert!(h.layer.is_empty());
}

#[test]
fn reliable_transport_no_retransmit_and_zero_timer_k() {
    let mut h = Harness::new();
    let req = request(Method::Options, "z9hG4bKe4");
    let key = h.send_request(0, req.clone(), tcp_peer());
    h.run_until(10_000);
    assert_eq!(h.take_sent().len(), 1);
    h.incoming(
        10_000,
        resp_msg(&response(&req, 200, Some("t"))),
        tcp_peer(),
    );
    let events = h.take_events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], (10_000, TxEvent::Terminated { key }));
    assert!(h.layer.is_empty());
}

#[test]
fn timer_f_over_tcp() {
    let mut h = Harness::new();
    let key = h.send_request(0, request(Method::Options, "z9hG4bKe5"), tcp_peer());
    h.run_until(40_000);
    assert_eq!(h.take_events()[0], (32_000, TxEvent::Timeout { key }));
}

#[test]
fn configurable_timers() {
    let cfg = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        ..TimerConfig::default()
    };
    let mut h = Harness::with_config(cfg);
    let key = h.send_request(0, request(Method::Options, "z9hG4bKe6"), udp_peer());
    h.run_until(10_000);
    assert_eq!(
        Harness::request_times(&h.take_sent(), Method::Options),
        vec![
            0, 100, 300, 700, 1_100, 1_500, 1_900, 2_300, 2_700, 3_100, 3_500, 3_900, 4_300, 4_700,
            5_100, 5_500, 5_900, 6_300
        ]
    );
    assert_eq!(h.take_events()[0], (6_400, TxEvent::Timeout { key }));
}

//! Queue and agent rules over time: wrap-up, pause, timeouts, retry,
//! auto-pause, overflow, refusal, empty queues, priority, fairness,
//! announcements, registration, stale ids.

use super::harness::{finished, offered_agents, H};
use crate::acd::{
    AgentConfig, AgentState, Input, LeaveReason, Outcome, Output, Strategy, PAUSE_NO_ANSWER,
    PAUSE_UNREGISTERED,
};

#[test]
fn wrap_up_and_pause_are_respected() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| q.wrap_up_ms = 10_000);
    h.agents("q", &["a", "b"]);
    h.input(Input::Pause {
        agent: "b".into(),
        reason: "lunch".into(),
    });
    h.join("c1", "q");
    let offer = h.answer("a");
    h.advance(30_000);
    h.input(Input::CallEnded { offer });
    assert!(matches!(h.state("a"), AgentState::WrapUp { until_ms } if until_ms == h.now + 10_000));
    assert!(
        offered_agents(&h.join("c2", "q")).is_empty(),
        "a wraps up, b paused"
    );
    assert!(offered_agents(&h.advance(9_999)).is_empty());
    assert_eq!(offered_agents(&h.advance(1)), ["a"]);
}

#[test]
fn ring_timeout_moves_to_next_agent_after_retry_delay() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.ring_timeout_ms = 10_000;
        q.retry_ms = 5_000;
    });
    h.agents("q", &["a", "b"]);
    let t0 = h.now;
    let AgentState::Ringing { offer } = ({
        h.join("c1", "q");
        h.state("a")
    }) else {
        panic!()
    };
    let outs = h.at(t0 + 10_000);
    assert_eq!(outs.first(), Some(&Output::CancelOffer { offer }));
    assert!(offered_agents(&outs).is_empty(), "retry delay first");
    assert_eq!(h.state("a"), AgentState::Available);
    assert!(offered_agents(&h.at(t0 + 14_999)).is_empty());
    // Linear would pick a again; a already let this caller ring out.
    assert_eq!(offered_agents(&h.at(t0 + 15_000)), ["b"]);
}

#[test]
fn offer_failed_counts_as_no_answer_and_auto_pauses() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| q.retry_ms = 1_000);
    h.agent_with(
        "q",
        AgentConfig {
            max_no_answer: Some(2),
            ..AgentConfig::new("a")
        },
        0,
    );
    h.login("a");
    h.join("c1", "q");
    let AgentState::Ringing { offer } = h.state("a") else {
        panic!()
    };
    h.input(Input::OfferFailed {
        offer,
        reason: "busy".into(),
    });
    assert_eq!(h.state("a"), AgentState::Available);
    // Same agent again after the retry delay (the only one), then timeout.
    assert_eq!(offered_agents(&h.advance(1_000)), ["a"]);
    h.advance(15_000);
    assert_eq!(
        h.state("a"),
        AgentState::Paused {
            reason: PAUSE_NO_ANSWER.into()
        }
    );
    assert_eq!(h.acd.stats(h.now).agents[0].no_answers, 2);
    // Unpause: offered again once the caller's retry delay is over.
    assert!(offered_agents(&h.input(Input::Unpause { agent: "a".into() })).is_empty());
    assert_eq!(offered_agents(&h.advance(1_000)), ["a"]);
    h.answer("a");
}

#[test]
fn global_default_is_three_no_answers() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| q.retry_ms = 0);
    h.agents("q", &["a"]);
    h.join("c1", "q");
    h.advance(15_000);
    h.advance(15_000);
    assert_eq!(
        h.state("a"),
        AgentState::Ringing {
            offer: crate::acd::OfferId(3)
        }
    );
    h.advance(15_000);
    assert_eq!(
        h.state("a"),
        AgentState::Paused {
            reason: PAUSE_NO_ANSWER.into()
        }
    );
}

#[test]
fn max_wait_overflows_to_destination() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.max_wait_ms = Some(60_000);
        q.overflow = Some("vm:100".into());
    });
    h.agents("q", &["a"]);
    h.input(Input::Pause {
        agent: "a".into(),
        reason: "x".into(),
    });
    let t0 = h.now;
    h.join("c1", "q");
    assert!(h.at(t0 + 59_999).is_empty());
    let outs = h.at(t0 + 60_000);
    assert_eq!(
        outs,
        [
            Output::Leave {
                caller: "c1".into(),
                reason: LeaveReason::Timeout,
                destination: Some("vm:100".into())
            },
            Output::Finished {
                caller: "c1".into(),
                outcome: Outcome::Overflowed(LeaveReason::Timeout)
            },
        ]
    );
    // Ringing at the deadline: the offer is withdrawn, no no-answer counted.
    h.input(Input::Unpause { agent: "a".into() });
    h.input(Input::Pause {
        agent: "a".into(),
        reason: "x".into(),
    });
    h.join("c2", "q");
    h.advance(59_000);
    h.input(Input::Unpause { agent: "a".into() });
    assert!(matches!(h.state("a"), AgentState::Ringing { .. }));
    let outs = h.advance(1_000);
    assert_eq!(
        finished(&outs, "c2"),
        [Outcome::Overflowed(LeaveReason::Timeout)]
    );
    assert_eq!(h.state("a"), AgentState::Available);
}

#[test]
fn max_callers_refuses_full() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.max_callers = Some(2);
        q.overflow = Some("busy".into());
    });
    h.join("c1", "q");
    h.join("c2", "q");
    let outs = h.join("c3", "q");
    assert_eq!(
        outs,
        [
            Output::Leave {
                caller: "c3".into(),
                reason: LeaveReason::Full,
                destination: Some("busy".into())
            },
            Output::Finished {
                caller: "c3".into(),
                outcome: Outcome::Refused(LeaveReason::Full)
            },
        ]
    );
    let outs = h.join("c4", "nope");
    assert_eq!(
        finished(&outs, "c4"),
        [Outcome::Refused(LeaveReason::UnknownQueue)]
    );
}

#[test]
fn join_empty_and_leave_when_empty() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.join_empty = false;
        q.leave_when_empty = true;
    });
    h.agent_with("q", AgentConfig::new("a"), 0);
    h.agent_with("q", AgentConfig::new("b"), 0);
    assert_eq!(
        finished(&h.join("c1", "q"), "c1"),
        [Outcome::Refused(LeaveReason::Empty)]
    );
    h.login("a");
    h.login("b");
    h.input(Input::Pause {
        agent: "a".into(),
        reason: "x".into(),
    });
    h.input(Input::Pause {
        agent: "b".into(),
        reason: "x".into(),
    });
    // Paused agents are logged in: the join is accepted and waits.
    assert!(finished(&h.join("c2", "q"), "c2").is_empty());
    h.input(Input::Logout { agent: "a".into() });
    assert!(finished(&h.all, "c2").is_empty());
    let outs = h.input(Input::Logout { agent: "b".into() });
    assert_eq!(
        finished(&outs, "c2"),
        [Outcome::Overflowed(LeaveReason::Empty)]
    );
}

#[test]
fn priority_first_then_fifo() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    h.agent_with("q", AgentConfig::new("a"), 0);
    h.join_prio("low1", "q", 0, vec![]);
    h.advance(1);
    h.join_prio("low2", "q", 0, vec![]);
    h.advance(1);
    h.join_prio("vip", "q", 5, vec![]);
    let mut order = Vec::new();
    let mut outs = h.login("a");
    for _ in 0..3 {
        let (caller, _) = super::harness::offers(&outs)[0].clone();
        order.push(caller);
        let offer = h.answer("a");
        outs = h.input(Input::CallEnded { offer });
    }
    assert_eq!(order, ["vip", "low1", "low2"]);
}

#[test]
fn fairness_across_queues_longest_waiting_first() {
    let mut h = H::with_queue("q1", Strategy::Linear, |_| {});
    h.queue("q2", Strategy::Linear, |_| {});
    h.agent_with("q1", AgentConfig::new("a"), 0);
    h.input(Input::SetMember {
        queue: "q2".into(),
        agent: "a".into(),
        penalty: 0,
    });
    h.join("old", "q2");
    h.advance(1_000);
    h.join("new", "q1");
    let outs = h.login("a");
    assert_eq!(
        super::harness::offers(&outs),
        [("old".to_string(), "a".to_string())]
    );
    h.answer_and_end("a");
    assert_eq!(super::harness::offers(&h.all).last().unwrap().0, "new");
}

#[test]
fn announcements_carry_position_and_ewt() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.announce_period_ms = Some(30_000);
        q.handle_window = 2;
    });
    h.agents("q", &["a", "b"]);
    // Handle history: 60 s, 120 s, 180 s -> window of 2 keeps 120 and 180.
    for talk in [60_000, 120_000, 180_000] {
        h.join("h", "q");
        let offer = h.answer("a");
        h.advance(talk);
        h.input(Input::CallEnded { offer });
    }
    h.input(Input::Pause {
        agent: "b".into(),
        reason: "x".into(),
    });
    h.join("busy", "q");
    h.answer("a");
    let t0 = h.now;
    h.join("c1", "q");
    h.join("c2", "q");
    h.join("c3", "q");
    assert!(h
        .at(t0 + 29_999)
        .iter()
        .all(|o| !matches!(o, Output::Announce { .. })));
    let outs = h.at(t0 + 30_000);
    // 1 staffed agent (a; b paused), avg handle 150 s: EWT = position × 150 s.
    assert!(outs.contains(&Output::Announce {
        caller: "c1".into(),
        position: 1,
        ewt_ms: Some(150_000)
    }));
    assert!(outs.contains(&Output::Announce {
        caller: "c3".into(),
        position: 3,
        ewt_ms: Some(450_000)
    }));
    // b back: 2 staffed, c3 at position 3 -> ceil(3/2) = 2 rounds.
    h.input(Input::Unpause { agent: "b".into() });
    let AgentState::Ringing { offer } = h.state("b") else {
        panic!()
    };
    let outs = h.at(t0 + 60_000);
    assert!(outs.contains(&Output::Announce {
        caller: "c3".into(),
        position: 3,
        ewt_ms: Some(300_000)
    }));
    // c1 is being rung: it is skipped this round.
    assert!(!outs
        .iter()
        .any(|o| matches!(o, Output::Announce { caller, .. } if caller == "c1")));
    let _ = offer;
}

#[test]
fn registration_loss_pauses_and_recovers() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    h.agents("q", &["a"]);
    h.join("c1", "q");
    let AgentState::Ringing { offer } = h.state("a") else {
        panic!()
    };
    let outs = h.input(Input::Registration {
        agent: "a".into(),
        registered: false,
    });
    assert!(outs.contains(&Output::CancelOffer { offer }));
    assert_eq!(
        h.state("a"),
        AgentState::Paused {
            reason: PAUSE_UNREGISTERED.into()
        }
    );
    // Unpause does not override a lost registration.
    h.input(Input::Unpause { agent: "a".into() });
    assert_eq!(
        h.state("a"),
        AgentState::Paused {
            reason: PAUSE_UNREGISTERED.into()
        }
    );
    let outs = h.input(Input::Registration {
        agent: "a".into(),
        registered: true,
    });
    assert_eq!(
        offered_agents(&outs),
        ["a"],
        "no retry delay: the cancel was not a no-answer"
    );
    assert_eq!(h.acd.stats(h.now).agents[0].no_answers, 0);
}

#[test]
fn logout_and_pause_during_a_call_apply_after_it() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| q.wrap_up_ms = 5_000);
    h.agents("q", &["a", "b"]);
    h.join("c1", "q");
    let oa = h.answer("a");
    h.join("c2", "q");
    let ob = h.answer("b");
    h.input(Input::Logout { agent: "a".into() });
    h.input(Input::Pause {
        agent: "b".into(),
        reason: "tea".into(),
    });
    assert_eq!(h.state("a"), AgentState::OnCall { offer: oa });
    h.input(Input::CallEnded { offer: oa });
    h.input(Input::CallEnded { offer: ob });
    assert_eq!(h.state("a"), AgentState::LoggedOut);
    assert_eq!(
        h.state("b"),
        AgentState::Paused {
            reason: "tea".into()
        }
    );
}

#[test]
fn stale_ids_are_silent_no_ops() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    for i in [
        Input::Login {
            agent: "ghost".into(),
        },
        Input::Abandon {
            caller: "ghost".into(),
        },
        Input::CallEnded {
            offer: crate::acd::OfferId(77),
        },
        Input::OfferFailed {
            offer: crate::acd::OfferId(77),
            reason: "x".into(),
        },
        Input::CustomerAnswered {
            caller: "ghost".into(),
        },
        Input::RemoveMember {
            queue: "nope".into(),
            agent: "ghost".into(),
        },
        Input::SetMember {
            queue: "q".into(),
            agent: "ghost".into(),
            penalty: 0,
        },
    ] {
        assert!(h.input(i).is_empty());
    }
    assert!(h.logs.is_empty());
}

#[test]
fn abandon_while_ringing_withdraws_the_offer() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    h.agents("q", &["a"]);
    h.join("c1", "q");
    let AgentState::Ringing { offer } = h.state("a") else {
        panic!()
    };
    let outs = h.input(Input::Abandon {
        caller: "c1".into(),
    });
    assert!(outs.contains(&Output::CancelOffer { offer }));
    assert_eq!(finished(&outs, "c1"), [Outcome::Abandoned]);
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(
        h.input(Input::OfferAnswered { offer }),
        [Output::RejectLateAnswer { offer }]
    );
}

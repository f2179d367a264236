//! Callback entries: request, keep place, agent first, customer result,
//! retries, restore after restart.

use super::harness::{finished, offers, H};
use crate::acd::{AgentState, CallbackConfig, Input, Outcome, Output, Strategy};

fn queue() -> H {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.wrap_up_ms = 1_000;
        q.max_wait_ms = Some(10_000);
        q.callback = CallbackConfig {
            max_attempts: 2,
            retry_delay_ms: 30_000,
            max_age_ms: None,
        };
    });
    h.agent_with("q", crate::acd::AgentConfig::new("a"), 0);
    h
}

#[test]
fn callback_keeps_place_and_offers_agent_first() {
    let mut h = queue();
    h.join("first", "q");
    h.advance(1);
    h.join("second", "q");
    h.advance(1);
    h.input(Input::RequestCallback {
        caller: "first".into(),
        number: "+3312345".into(),
    });
    // Callback entries are not subject to max wait.
    h.advance(20_000);
    assert_eq!(
        finished(&h.all, "second"),
        [Outcome::Overflowed(crate::acd::LeaveReason::Timeout)]
    );
    assert!(finished(&h.all, "first").is_empty());
    h.join("third", "q");
    let outs = h.login("a");
    assert_eq!(offers(&outs), [("first".to_string(), "a".to_string())]);
    let AgentState::Ringing { offer } = h.state("a") else {
        panic!()
    };
    let outs = h.input(Input::OfferAnswered { offer });
    assert_eq!(
        outs,
        [
            Output::AgentState {
                agent: "a".into(),
                state: AgentState::OnCall { offer }
            },
            Output::DialCustomer {
                offer,
                caller: "first".into(),
                agent: "a".into(),
                number: "+3312345".into()
            },
        ]
    );
    h.advance(5_000);
    let outs = h.input(Input::CustomerAnswered {
        caller: "first".into(),
    });
    assert_eq!(finished(&outs, "first"), [Outcome::CalledBack]);
    h.advance(60_000);
    h.input(Input::CallEnded { offer });
    assert!(matches!(h.state("a"), AgentState::WrapUp { .. }));
    let st = h.acd.stats(h.now);
    assert_eq!(
        (st.queues[0].called_back, st.queues[0].callbacks_requested),
        (1, 1)
    );
    assert_eq!(
        st.queues[0].aht_ms,
        Some(61_000),
        "talk from customer answer + wrap-up"
    );
    assert_eq!(st.agents[0].calls, 1);
}

#[test]
fn customer_failures_retry_then_fail() {
    let mut h = queue();
    h.join("cb", "q");
    h.input(Input::RequestCallback {
        caller: "cb".into(),
        number: "1".into(),
    });
    h.login("a");
    let offer = h.answer("a");
    h.input(Input::CustomerFailed {
        caller: "cb".into(),
    });
    // No call happened: no wrap-up, and the agent leg's late CallEnded is a no-op.
    assert_eq!(h.state("a"), AgentState::Available);
    assert!(h.input(Input::CallEnded { offer }).is_empty());
    assert!(offers(&h.advance(29_999)).is_empty(), "retry delay");
    assert_eq!(offers(&h.advance(1)), [("cb".to_string(), "a".to_string())]);
    h.answer("a");
    let outs = h.input(Input::CustomerFailed {
        caller: "cb".into(),
    });
    assert_eq!(finished(&outs, "cb"), [Outcome::CallbackFailed]);
    assert_eq!(h.acd.stats(h.now).queues[0].callback_failed, 1);
}

#[test]
fn agent_no_answer_on_a_callback_keeps_the_entry() {
    let mut h = queue();
    h.join("cb", "q");
    h.input(Input::RequestCallback {
        caller: "cb".into(),
        number: "1".into(),
    });
    h.login("a");
    h.advance(15_000);
    assert!(finished(&h.all, "cb").is_empty());
    assert_eq!(
        offers(&h.advance(5_000)).len(),
        1,
        "offered again after the retry delay"
    );
}

#[test]
fn restore_after_restart_keeps_join_time_and_priority() {
    let mut h = queue();
    h.at(1_000_000);
    h.join("fresh", "q");
    h.input(Input::RestoreCallback {
        caller: "db-17".into(),
        queue: "q".into(),
        priority: 0,
        skills: vec![],
        number: "2".into(),
        joined_ms: 400_000,
        attempts_made: 1,
    });
    let outs = h.login("a");
    assert_eq!(offers(&outs)[0].0, "db-17", "older join time goes first");
    h.answer("a");
    // One attempt left before the restart: this failure ends it.
    let outs = h.input(Input::CustomerFailed {
        caller: "db-17".into(),
    });
    assert_eq!(finished(&outs, "db-17"), [Outcome::CallbackFailed]);
    // A restore for an unknown queue ends at once.
    let outs = h.input(Input::RestoreCallback {
        caller: "db-18".into(),
        queue: "gone".into(),
        priority: 0,
        skills: vec![],
        number: "2".into(),
        joined_ms: 0,
        attempts_made: 0,
    });
    assert_eq!(finished(&outs, "db-18"), [Outcome::CallbackFailed]);
}

#[test]
fn callback_max_age_ends_the_entry() {
    let mut h = H::with_queue("q", Strategy::Linear, |q| {
        q.callback = CallbackConfig {
            max_attempts: 3,
            retry_delay_ms: 0,
            max_age_ms: Some(3_600_000),
        };
    });
    h.join("cb", "q");
    h.input(Input::RequestCallback {
        caller: "cb".into(),
        number: "1".into(),
    });
    assert!(finished(&h.advance(3_599_999), "cb").is_empty());
    assert_eq!(finished(&h.advance(1), "cb"), [Outcome::CallbackFailed]);
}

#[test]
fn join_callback_is_a_join_and_a_request_in_one_step() {
    let mut h = queue();
    h.login("a");
    // An agent is free, yet the entry is offered as a callback (the agent
    // first, then DialCustomer), never as a live caller in between.
    let outs = h.input(Input::JoinCallback {
        caller: "web".into(),
        queue: "q".into(),
        priority: 0,
        skills: vec![],
        number: "+4930123".into(),
    });
    assert_eq!(offers(&outs), [("web".to_string(), "a".to_string())]);
    assert!(
        !outs.iter().any(|o| matches!(o, Output::CancelOffer { .. })),
        "no live offer withdrawn: {outs:?}"
    );
    let st = h.acd.stats(h.now);
    assert_eq!(
        (st.queues[0].joined, st.queues[0].callbacks_requested, st.queues[0].waiting),
        (1, 1, 0),
        "counted like a join plus a request; not a live caller"
    );
    let events: Vec<String> = h
        .logs
        .iter()
        .filter_map(|o| match o {
            Output::Log(e) => Some(serde_json::to_value(&e.kind).unwrap()["event"].as_str().unwrap().to_string()),
            _ => None,
        })
        .filter(|e| e.starts_with("join") || e.starts_with("callback"))
        .collect();
    assert_eq!(events, ["join", "callback-requested"]);
    let offer = h.answer("a");
    assert!(h.all.iter().any(|o| matches!(o, Output::DialCustomer { caller, number, .. } if caller == "web" && number == "+4930123")));
    let outs = h.input(Input::CustomerAnswered { caller: "web".into() });
    assert_eq!(finished(&outs, "web"), [Outcome::CalledBack]);
    h.input(Input::CallEnded { offer });
}

#[test]
fn join_callback_waits_as_a_callback_and_is_refused_like_a_join() {
    let mut h = queue();
    // Nobody logged in: the entry waits, exempt from max wait.
    h.input(Input::JoinCallback {
        caller: "web".into(),
        queue: "q".into(),
        priority: 0,
        skills: vec![],
        number: "555".into(),
    });
    h.advance(60_000);
    assert!(finished(&h.all, "web").is_empty(), "no max-wait overflow for a callback");
    assert_eq!(h.acd.stats(h.now).queues[0].callbacks_waiting, 1);
    // An unknown queue refuses it, with nothing left behind.
    let outs = h.input(Input::JoinCallback {
        caller: "lost".into(),
        queue: "nope".into(),
        priority: 0,
        skills: vec![],
        number: "555".into(),
    });
    assert_eq!(finished(&outs, "lost"), [Outcome::Refused(crate::acd::LeaveReason::UnknownQueue)]);
    // A full queue refuses it too.
    let mut full = H::with_queue("f", Strategy::Linear, |q| q.max_callers = Some(1));
    full.join("c1", "f");
    let outs = full.input(Input::JoinCallback {
        caller: "web".into(),
        queue: "f".into(),
        priority: 0,
        skills: vec![],
        number: "555".into(),
    });
    assert_eq!(finished(&outs, "web"), [Outcome::Refused(crate::acd::LeaveReason::Full)]);
    assert_eq!(full.acd.stats(full.now).queues[0].callbacks_requested, 0);
    // Nobody logged in and join_empty off: a caller is refused, a callback waits.
    let mut closed = H::with_queue("c", Strategy::Linear, |q| q.join_empty = false);
    let outs = closed.join("caller", "c");
    assert_eq!(finished(&outs, "caller"), [Outcome::Refused(crate::acd::LeaveReason::Empty)]);
    let outs = closed.input(Input::JoinCallback {
        caller: "web".into(),
        queue: "c".into(),
        priority: 0,
        skills: vec![],
        number: "555".into(),
    });
    assert!(finished(&outs, "web").is_empty(), "{outs:?}");
    assert_eq!(closed.acd.stats(closed.now).queues[0].callbacks_waiting, 1);
}

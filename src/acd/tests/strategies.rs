//! Distribution order of each strategy, tiers, ring-all races.

use super::harness::{finished, offered_agents, offers, skills, H};
use crate::acd::{AgentConfig, AgentState, Input, Outcome, Output, SkillRelax, Strategy};

/// Serve `n` callers one after the other, each answered and ended at once;
/// returns the agent chosen for each.
fn serve_sequence(h: &mut H, n: usize) -> Vec<String> {
    let mut picked = Vec::new();
    for i in 0..n {
        let outs = h.join(&format!("c{i}"), "q");
        let agents = offered_agents(&outs);
        assert_eq!(agents.len(), 1, "one offer per caller: {outs:?}");
        h.advance(1);
        h.answer_and_end(&agents[0]);
        h.advance(1);
        picked.push(agents[0].clone());
    }
    picked
}

#[test]
fn longest_idle_rotates_by_last_call_end() {
    let mut h = H::with_queue("q", Strategy::LongestIdle, |_| {});
    h.agents("q", &["a", "b", "c"]);
    assert_eq!(serve_sequence(&mut h, 5), ["a", "b", "c", "a", "b"]);
}

#[test]
fn round_robin_remembers_the_last_member() {
    let mut h = H::with_queue("q", Strategy::RoundRobin, |_| {});
    h.agents("q", &["a", "b", "c"]);
    assert_eq!(serve_sequence(&mut h, 4), ["a", "b", "c", "a"]);
    // b pauses: the rotation skips it and keeps its memory.
    h.input(Input::Pause {
        agent: "b".into(),
        reason: "lunch".into(),
    });
    assert_eq!(serve_sequence(&mut h, 3), ["c", "a", "c"]);
}

#[test]
fn linear_always_starts_with_the_first_member() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    h.agents("q", &["a", "b", "c"]);
    assert_eq!(serve_sequence(&mut h, 3), ["a", "a", "a"]);
    // a busy: the second caller goes to b, the third to c.
    let o1 = h.join("x1", "q");
    assert_eq!(offered_agents(&o1), ["a"]);
    h.answer("a");
    assert_eq!(offered_agents(&h.join("x2", "q")), ["b"]);
    h.answer("b");
    assert_eq!(offered_agents(&h.join("x3", "q")), ["c"]);
}

#[test]
fn linear_order_is_by_agent_id_whatever_order_members_were_added_in() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    // Added c, a, b (as a store sync might deliver them).
    h.agents("q", &["c", "a", "b"]);
    assert_eq!(serve_sequence(&mut h, 2), ["a", "a"]);
    let first = offered_agents(&h.join("x1", "q"));
    assert_eq!(first, ["a"]);
    h.answer("a");
    assert_eq!(offered_agents(&h.join("x2", "q")), ["b"]);
}

#[test]
fn fewest_calls_prefers_the_least_loaded() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    h.agents("q", &["a", "b", "c"]);
    // Linear gives a two calls; then b gets one while a is busy.
    serve_sequence(&mut h, 2);
    h.join("x", "q");
    h.answer("a");
    h.join("y", "q");
    h.answer_and_end("b");
    let AgentState::OnCall { offer } = h.state("a") else {
        panic!()
    };
    h.input(Input::CallEnded { offer });
    h.queue("q", Strategy::FewestCalls, |_| {});
    // calls: a=3, b=1, c=0.
    assert_eq!(serve_sequence(&mut h, 3), ["c", "b", "c"]);
}

#[test]
fn random_is_seeded_and_reaches_everyone() {
    let run = |seed: u64| {
        let mut h = H::with_queue("q", Strategy::Random, |_| {});
        h.acd = crate::acd::Acd::new(seed);
        h.queue("q", Strategy::Random, |_| {});
        h.agents("q", &["a", "b", "c", "d"]);
        serve_sequence(&mut h, 40)
    };
    let first = run(42);
    assert_eq!(first, run(42), "same seed, same order");
    for agent in ["a", "b", "c", "d"] {
        assert!(
            first.iter().any(|p| p == agent),
            "{agent} never picked: {first:?}"
        );
    }
}

#[test]
fn penalty_tiers_lower_first() {
    let mut h = H::with_queue("q", Strategy::Linear, |_| {});
    h.agent_with("q", AgentConfig::new("senior"), 1);
    h.agent_with("q", AgentConfig::new("junior"), 0);
    h.login("senior");
    h.login("junior");
    assert_eq!(offered_agents(&h.join("c1", "q")), ["junior"]);
    h.answer("junior");
    assert_eq!(offered_agents(&h.join("c2", "q")), ["senior"]);
}

#[test]
fn skills_based_picks_best_match_then_relaxes() {
    let mut h = H::with_queue("q", Strategy::SkillsBased, |q| {
        q.skill_relax = vec![
            SkillRelax {
                after_ms: 10_000,
                lower_by: 2,
            },
            SkillRelax {
                after_ms: 20_000,
                lower_by: 2,
            },
        ];
    });
    let agent = |id: &str, s: &[(&str, u8)]| AgentConfig {
        skills: skills(s),
        ..AgentConfig::new(id)
    };
    h.agent_with("q", agent("low", &[("sales", 3), ("fr", 9)]), 0);
    h.agent_with("q", agent("mid", &[("sales", 6)]), 0);
    h.agent_with("q", agent("top", &[("sales", 6), ("fr", 4)]), 0);
    for id in ["low", "mid", "top"] {
        h.login(id);
    }
    // sales>=5: mid (6) and top (6+4=10 over sales+fr) qualify; top scores higher.
    let outs = h.join_prio("c1", "q", 0, skills(&[("sales", 5), ("fr", 1)]));
    assert_eq!(offered_agents(&outs), ["top"]);
    h.answer("top");
    // Equal scores: longest idle wins. Nobody qualifies for sales>=7 at first.
    let outs = h.join_prio("c2", "q", 0, skills(&[("sales", 7)]));
    assert!(offered_agents(&outs).is_empty());
    // After 10 s the minimum is 5: mid qualifies (low, sales 3, does not).
    let outs = h.advance(10_000);
    assert_eq!(offered_agents(&outs), ["mid"]);
    h.answer("mid");
    let outs = h.join_prio("c3", "q", 0, skills(&[("sales", 7)]));
    assert!(offered_agents(&outs).is_empty());
    assert!(offered_agents(&h.advance(19_999)).is_empty());
    // 20 s: minimum 3, low qualifies.
    assert_eq!(offered_agents(&h.advance(1)), ["low"]);
}

#[test]
fn ring_all_first_answer_wins_and_late_answer_is_rejected() {
    let mut h = H::with_queue("q", Strategy::RingAll, |_| {});
    h.agents("q", &["a", "b", "c"]);
    let outs = h.join("c1", "q");
    let offered = offers(&outs);
    assert_eq!(offered.len(), 3);
    let ids: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|a| match h.state(a) {
            AgentState::Ringing { offer } => offer,
            s => panic!("{a} {s:?}"),
        })
        .collect();
    let outs = h.input(Input::OfferAnswered { offer: ids[1] });
    assert!(outs.contains(&Output::Connect {
        offer: ids[1],
        caller: "c1".into(),
        agent: "b".into()
    }));
    assert!(outs.contains(&Output::CancelOffer { offer: ids[0] }));
    assert!(outs.contains(&Output::CancelOffer { offer: ids[2] }));
    assert_eq!(finished(&outs, "c1"), [Outcome::Answered]);
    assert_eq!(h.state("a"), AgentState::Available);
    assert_eq!(h.state("b"), AgentState::OnCall { offer: ids[1] });
    // a's phone answered anyway: the driver reports it, the core rejects it.
    let outs = h.input(Input::OfferAnswered { offer: ids[0] });
    assert_eq!(outs, [Output::RejectLateAnswer { offer: ids[0] }]);
    assert_eq!(h.state("a"), AgentState::Available);
    // Losing a ring-all race is no no-answer.
    let st = h.acd.stats(h.now);
    assert!(st.agents.iter().all(|a| a.no_answers == 0));
    // An offer id never issued is ignored.
    assert!(h
        .input(Input::OfferAnswered {
            offer: crate::acd::OfferId(999)
        })
        .is_empty());
}

#[test]
fn ring_all_rings_only_the_best_tier() {
    let mut h = H::with_queue("q", Strategy::RingAll, |_| {});
    h.agent_with("q", AgentConfig::new("a"), 0);
    h.agent_with("q", AgentConfig::new("b"), 0);
    h.agent_with("q", AgentConfig::new("z"), 5);
    for id in ["a", "b", "z"] {
        h.login(id);
    }
    let mut got = offered_agents(&h.join("c1", "q"));
    got.sort();
    assert_eq!(got, ["a", "b"]);
}

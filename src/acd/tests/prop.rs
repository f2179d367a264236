//! Property tests: random event scripts, invariants after every step, and
//! a drain at the end after which every caller has exactly one outcome.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::harness::H;
use crate::acd::queue::CallerState;
use crate::acd::{
    Acd, AgentState, CallbackConfig, Input, OfferId, Output, QueueConfig, Strategy as Dist,
};

const AGENTS: [&str; 4] = ["a0", "a1", "a2", "a3"];

#[derive(Clone, Debug)]
enum Op {
    Join {
        queue: usize,
        priority: i32,
    },
    Restore {
        queue: usize,
        priority: i32,
        age_ms: u64,
    },
    Abandon(usize),
    Callback(usize),
    Login(usize),
    Logout(usize),
    Pause(usize),
    Unpause(usize),
    Registration(usize, bool),
    Ringing(usize),
    Answer(usize),
    Fail(usize),
    CallEnded(usize),
    CustomerAnswered(usize),
    CustomerFailed(usize),
    Advance(u64),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 0..3i32).prop_map(|(queue, priority)| Op::Join { queue, priority }),
        1 => (0..2usize, 0..3i32, 0..100_000u64).prop_map(|(queue, priority, age_ms)| Op::Restore { queue, priority, age_ms }),
        1 => any::<usize>().prop_map(Op::Abandon),
        1 => any::<usize>().prop_map(Op::Callback),
        2 => (0..4usize).prop_map(Op::Login),
        1 => (0..4usize).prop_map(Op::Logout),
        1 => (0..4usize).prop_map(Op::Pause),
        1 => (0..4usize).prop_map(Op::Unpause),
        1 => (0..4usize, any::<bool>()).prop_map(|(a, r)| Op::Registration(a, r)),
        1 => any::<usize>().prop_map(Op::Ringing),
        4 => any::<usize>().prop_map(Op::Answer),
        1 => any::<usize>().prop_map(Op::Fail),
        3 => any::<usize>().prop_map(Op::CallEnded),
        1 => any::<usize>().prop_map(Op::CustomerAnswered),
        1 => any::<usize>().prop_map(Op::CustomerFailed),
        4 => (0..12_000u64).prop_map(Op::Advance),
    ]
}

fn strategy() -> impl proptest::strategy::Strategy<Value = Dist> {
    prop_oneof![
        Just(Dist::RingAll),
        Just(Dist::LongestIdle),
        Just(Dist::RoundRobin),
        Just(Dist::FewestCalls),
        Just(Dist::Random),
        Just(Dist::Linear),
        Just(Dist::SkillsBased),
    ]
}

/// Structural invariants, checked on the engine's private state.
pub(super) fn check_invariants(acd: &Acd) -> Result<(), String> {
    for (id, a) in &acd.agents {
        match &a.state {
            AgentState::Ringing { offer } => {
                let o = acd
                    .offers
                    .get(offer)
                    .ok_or(format!("{id} rings for a gone offer {offer:?}"))?;
                if o.answered_ms.is_some() || &o.agent != id {
                    return Err(format!("{id} rings for a foreign/answered offer {offer:?}"));
                }
                let c = acd
                    .callers
                    .get(&o.caller)
                    .ok_or(format!("{id} rings for a gone caller"))?;
                match &c.state {
                    CallerState::Offering(list) if list.contains(offer) => {}
                    s => return Err(format!("{id} rings for {} in state {s:?}", c.key)),
                }
            }
            AgentState::OnCall { offer } => {
                let o = acd
                    .offers
                    .get(offer)
                    .ok_or(format!("{id} on a gone call {offer:?}"))?;
                if o.answered_ms.is_none() || &o.agent != id {
                    return Err(format!("{id} on a foreign/unanswered offer {offer:?}"));
                }
            }
            _ => {}
        }
    }
    for (oid, o) in &acd.offers {
        let want = if o.answered_ms.is_some() {
            AgentState::OnCall { offer: *oid }
        } else {
            AgentState::Ringing { offer: *oid }
        };
        if acd.agents.get(&o.agent).map(|a| &a.state) != Some(&want) {
            return Err(format!("offer {oid:?} not held by its agent {}", o.agent));
        }
    }
    for (key, c) in &acd.callers {
        match &c.state {
            CallerState::Waiting => {}
            CallerState::Offering(list) => {
                if list.is_empty() {
                    return Err(format!("{key} offering nothing"));
                }
                let ring_all = acd
                    .queues
                    .get(&c.queue)
                    .is_some_and(|q| q.cfg.strategy == Dist::RingAll);
                if list.len() > 1 && !ring_all {
                    return Err(format!("{key} offered to {} agents at once", list.len()));
                }
                for id in list {
                    match acd.offers.get(id) {
                        Some(o) if &o.caller == key && o.answered_ms.is_none() => {}
                        _ => return Err(format!("{key} lists a bad offer {id:?}")),
                    }
                }
            }
            CallerState::Dialing(id) => {
                if c.callback.is_none() {
                    return Err(format!("{key} dialing without callback"));
                }
                match acd.offers.get(id) {
                    Some(o) if &o.caller == key && o.answered_ms.is_some() => {}
                    _ => return Err(format!("{key} dialing on a bad offer {id:?}")),
                }
            }
        }
    }
    Ok(())
}

struct Script {
    h: H,
    keys: Vec<String>,
    offers: Vec<OfferId>,
    seen: usize,
}

impl Script {
    fn new(s1: Dist, s2: Dist, leave_when_empty: bool, join_empty: bool) -> Script {
        let mut h = H::new();
        for (name, strategy) in [("q0", s1), ("q1", s2)] {
            let cfg = QueueConfig {
                ring_timeout_ms: 5_000,
                retry_ms: 1_000,
                wrap_up_ms: 2_000,
                max_wait_ms: Some(60_000),
                max_callers: Some(6),
                announce_period_ms: Some(7_000),
                leave_when_empty: leave_when_empty && name == "q1",
                join_empty: join_empty || name == "q0",
                overflow: Some("voicemail".into()),
                callback: CallbackConfig {
                    max_attempts: 2,
                    retry_delay_ms: 3_000,
                    max_age_ms: Some(120_000),
                },
                ..QueueConfig::new(name, strategy)
            };
            h.input(Input::UpsertQueue(cfg));
        }
        for (i, id) in AGENTS.iter().enumerate() {
            h.input(Input::UpsertAgent(crate::acd::AgentConfig::new(id)));
            if i != 2 {
                h.input(Input::SetMember {
                    queue: "q0".into(),
                    agent: id.to_string(),
                    penalty: 0,
                });
            }
            if i >= 2 {
                h.input(Input::SetMember {
                    queue: "q1".into(),
                    agent: id.to_string(),
                    penalty: (i == 3) as u32,
                });
            }
        }
        Script {
            h,
            keys: Vec::new(),
            offers: Vec::new(),
            seen: 0,
        }
    }

    fn pick<T: Clone>(list: &[T], i: usize) -> Option<T> {
        (!list.is_empty()).then(|| list[i % list.len()].clone())
    }

    fn step(&mut self, op: &Op) {
        let agent = |i: usize| AGENTS[i].to_string();
        match op.clone() {
            Op::Join { queue, priority } => {
                let key = format!("c{}", self.keys.len());
                self.keys.push(key.clone());
                let skills = if priority == 2 {
                    vec![("sales".to_string(), 3)]
                } else {
                    vec![]
                };
                self.h.input(Input::Join {
                    caller: key,
                    queue: format!("q{queue}"),
                    priority,
                    skills,
                });
            }
            Op::Restore {
                queue,
                priority,
                age_ms,
            } => {
                let key = format!("c{}", self.keys.len());
                self.keys.push(key.clone());
                self.h.input(Input::RestoreCallback {
                    caller: key,
                    queue: format!("q{queue}"),
                    priority,
                    skills: vec![],
                    number: "100".into(),
                    joined_ms: self.h.now.saturating_sub(age_ms),
                    attempts_made: (age_ms % 3) as u32,
                });
            }
            Op::Abandon(i) => {
                if let Some(caller) = Self::pick(&self.keys, i) {
                    self.h.input(Input::Abandon { caller });
                }
            }
            Op::Callback(i) => {
                if let Some(caller) = Self::pick(&self.keys, i) {
                    self.h.input(Input::RequestCallback {
                        caller,
                        number: "555".into(),
                    });
                }
            }
            Op::Login(a) => drop(self.h.input(Input::Login { agent: agent(a) })),
            Op::Logout(a) => drop(self.h.input(Input::Logout { agent: agent(a) })),
            Op::Pause(a) => drop(self.h.input(Input::Pause {
                agent: agent(a),
                reason: "break".into(),
            })),
            Op::Unpause(a) => drop(self.h.input(Input::Unpause { agent: agent(a) })),
            Op::Registration(a, registered) => drop(self.h.input(Input::Registration {
                agent: agent(a),
                registered,
            })),
            Op::Ringing(i) => {
                if let Some(offer) = Self::pick(&self.offers, i) {
                    self.h.input(Input::OfferRinging { offer });
                }
            }
            Op::Answer(i) => {
                if let Some(offer) = Self::pick(&self.offers, i) {
                    // Gone offers are late answers (rejected); live ones never are.
                    let live = self.h.acd.offers.contains_key(&offer);
                    let outs = self.h.input(Input::OfferAnswered { offer });
                    let rejected = outs.contains(&Output::RejectLateAnswer { offer });
                    assert_eq!(
                        live, !rejected,
                        "offer {offer:?}: live {live}, rejected {rejected}"
                    );
                }
            }
            Op::Fail(i) => {
                if let Some(offer) = Self::pick(&self.offers, i) {
                    self.h.input(Input::OfferFailed {
                        offer,
                        reason: "busy".into(),
                    });
                }
            }
            Op::CallEnded(i) => {
                if let Some(offer) = Self::pick(&self.offers, i) {
                    self.h.input(Input::CallEnded { offer });
                }
            }
            Op::CustomerAnswered(i) => {
                if let Some(caller) = Self::pick(&self.keys, i) {
                    self.h.input(Input::CustomerAnswered { caller });
                }
            }
            Op::CustomerFailed(i) => {
                if let Some(caller) = Self::pick(&self.keys, i) {
                    self.h.input(Input::CustomerFailed { caller });
                }
            }
            Op::Advance(ms) => drop(self.h.advance(ms)),
        }
        self.collect_offers();
    }

    fn collect_offers(&mut self) {
        for o in &self.h.all[self.seen..] {
            if let Output::Offer { offer, .. } = o {
                self.offers.push(*offer);
            }
        }
        self.seen = self.h.all.len();
    }

    fn finished_counts(&self) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for o in &self.h.all {
            if let Output::Finished { caller, .. } = o {
                *n.entry(caller.clone()).or_insert(0) += 1;
            }
        }
        n
    }

    /// Every submitted caller is either in the engine or finished, once.
    fn check_accounting(&self) -> Result<(), String> {
        let done = self.finished_counts();
        for key in &self.keys {
            let live = self.h.acd.callers.contains_key(key) as usize;
            let fin = done.get(key).copied().unwrap_or(0);
            if live + fin != 1 {
                return Err(format!("{key}: live {live}, finished {fin} times"));
            }
        }
        Ok(())
    }

    /// End of script: the driver ends calls, fails dials, logs everyone out
    /// and lets the clock run.
    fn drain(&mut self) {
        for _ in 0..4 {
            let calls: Vec<OfferId> = self.h.acd.offers.keys().copied().collect();
            for offer in calls {
                self.h.input(Input::CallEnded { offer });
            }
            for key in self.keys.clone() {
                self.h.input(Input::CustomerFailed { caller: key });
            }
            for a in AGENTS {
                self.h.input(Input::Logout { agent: a.into() });
            }
            self.h.advance(200_000);
            self.collect_offers();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_scripts_keep_invariants(
        s1 in strategy(),
        s2 in strategy(),
        leave_when_empty in any::<bool>(),
        join_empty in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut s = Script::new(s1, s2, leave_when_empty, join_empty);
        for op in &ops {
            s.step(op);
            if let Err(e) = check_invariants(&s.h.acd).and_then(|_| s.check_accounting()) {
                prop_assert!(false, "after {:?}: {}", op, e);
            }
        }
        s.drain();
        prop_assert!(check_invariants(&s.h.acd).is_ok());
        prop_assert!(s.h.acd.callers.is_empty(), "callers left: {:?}", s.h.acd.callers.keys().collect::<Vec<_>>());
        prop_assert!(s.h.acd.offers.is_empty());
        let counts = s.finished_counts();
        for key in &s.keys {
            prop_assert_eq!(counts.get(key).copied(), Some(1), "{} outcomes", key);
        }
        for a in AGENTS {
            prop_assert_eq!(s.h.state(a), AgentState::LoggedOut);
        }
    }
}

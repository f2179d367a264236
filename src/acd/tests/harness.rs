//! A scripted driver: feeds inputs at a virtual clock and collects outputs.

use crate::acd::{Acd, AgentConfig, AgentState, Input, OfferId, Output, QueueConfig, Strategy};

pub(super) struct H {
    pub(super) acd: Acd,
    pub(super) now: u64,
    /// Every non-log output so far.
    pub(super) all: Vec<Output>,
    /// Every log output so far.
    pub(super) logs: Vec<Output>,
}

impl H {
    pub(super) fn new() -> H {
        H {
            acd: Acd::new(7),
            now: 0,
            all: Vec::new(),
            logs: Vec::new(),
        }
    }

    pub(super) fn with_queue(
        name: &str,
        strategy: Strategy,
        f: impl FnOnce(&mut QueueConfig),
    ) -> H {
        let mut h = H::new();
        h.queue(name, strategy, f);
        h
    }

    pub(super) fn queue(
        &mut self,
        name: &str,
        strategy: Strategy,
        f: impl FnOnce(&mut QueueConfig),
    ) {
        let mut cfg = QueueConfig::new(name, strategy);
        f(&mut cfg);
        self.input(Input::UpsertQueue(cfg));
    }

    /// Create, add (penalty 0) and log in agents, one ms apart.
    pub(super) fn agents(&mut self, queue: &str, ids: &[&str]) {
        for id in ids {
            self.agent_with(queue, AgentConfig::new(id), 0);
            self.login(id);
            self.at(self.now + 1);
        }
    }

    pub(super) fn agent_with(&mut self, queue: &str, cfg: AgentConfig, penalty: u32) {
        let id = cfg.id.clone();
        self.input(Input::UpsertAgent(cfg));
        self.input(Input::SetMember {
            queue: queue.into(),
            agent: id,
            penalty,
        });
    }

    pub(super) fn login(&mut self, id: &str) -> Vec<Output> {
        self.input(Input::Login { agent: id.into() })
    }

    pub(super) fn input(&mut self, i: Input) -> Vec<Output> {
        self.acd.handle(self.now, i);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Output> {
        let mut got = Vec::new();
        while let Some(o) = self.acd.poll_output() {
            if matches!(o, Output::Log(_)) {
                self.logs.push(o);
            } else {
                self.all.push(o.clone());
                got.push(o);
            }
        }
        got
    }

    /// Advance the clock to `t`, firing every timer on the way at its time.
    pub(super) fn at(&mut self, t: u64) -> Vec<Output> {
        let mut got = Vec::new();
        let mut guard = 0;
        while let Some(d) = self.acd.poll_timeout() {
            if d > t {
                break;
            }
            guard += 1;
            assert!(
                guard < 100_000,
                "poll_timeout stuck at {d} (now {})",
                self.now
            );
            self.now = self.now.max(d);
            self.acd.handle_timeout(self.now);
            got.extend(self.drain());
        }
        self.now = self.now.max(t);
        self.acd.handle_timeout(self.now);
        got.extend(self.drain());
        got
    }

    pub(super) fn advance(&mut self, ms: u64) -> Vec<Output> {
        self.at(self.now + ms)
    }

    pub(super) fn join(&mut self, caller: &str, queue: &str) -> Vec<Output> {
        self.join_prio(caller, queue, 0, vec![])
    }

    pub(super) fn join_prio(
        &mut self,
        caller: &str,
        queue: &str,
        priority: i32,
        skills: Vec<(String, u8)>,
    ) -> Vec<Output> {
        self.input(Input::Join {
            caller: caller.into(),
            queue: queue.into(),
            priority,
            skills,
        })
    }

    pub(super) fn state(&self, agent: &str) -> AgentState {
        self.acd
            .agent_state(agent)
            .cloned()
            .unwrap_or(AgentState::LoggedOut)
    }

    /// Answer the current offer of `agent`; returns the offer id.
    pub(super) fn answer(&mut self, agent: &str) -> OfferId {
        let AgentState::Ringing { offer } = self.state(agent) else {
            panic!("{agent} is not ringing: {:?}", self.state(agent));
        };
        self.input(Input::OfferAnswered { offer });
        offer
    }

    /// Answer and immediately end the call.
    pub(super) fn answer_and_end(&mut self, agent: &str) {
        let offer = self.answer(agent);
        self.input(Input::CallEnded { offer });
    }
}

pub(super) fn offers(outs: &[Output]) -> Vec<(String, String)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Offer { caller, agent, .. } => Some((caller.clone(), agent.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn offered_agents(outs: &[Output]) -> Vec<String> {
    offers(outs).into_iter().map(|(_, a)| a).collect()
}

pub(super) fn finished(outs: &[Output], caller: &str) -> Vec<crate::acd::Outcome> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Finished { caller: c, outcome } if c == caller => Some(*outcome),
            _ => None,
        })
        .collect()
}

pub(super) fn skills(list: &[(&str, u8)]) -> Vec<(String, u8)> {
    list.iter().map(|(s, p)| (s.to_string(), *p)).collect()
}

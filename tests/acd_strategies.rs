//! Distribution order of the ACD strategies with real SIP peers (issue 5):
//! agents are SIPp UAS instances registered as extensions (each answers,
//! talks a moment and hangs up itself), logged in and paused through the
//! REST API; callers are SIPp UACs through the dialplan's `queue` step, one
//! after the other where the order matters and twenty at once for the load
//! rules. Which agent got which call is read from what each agent's SIPp
//! received, not from the appliance's own account (its queue log only
//! dates the offer in the relaxation test). Checked:
//! - round-robin: member order starting after the member offered last,
//!   skipping a paused member and carrying on where it left off;
//! - fewest-calls: fewest answered calls first, ties to the longest idle;
//! - random: spreads serial calls over more than one agent and not in a
//!   fixed rotation, and never offers a paused or logged-out member, neither
//!   one by one nor under twenty callers at once;
//! - skills: only agents meeting every minimum set by the `queue` step,
//!   highest summed proficiency first, ties to the longest idle; never an
//!   unqualified agent under load; a minimum relaxed by the queue's
//!   `skill_relax` only once the caller has waited that long.
//!
//! A serial caller's SIPp (`call_ext_uac_wait_bye.xml`) ends only when the
//! appliance hangs it up, which happens when the agent hangs up: no caller
//! leaves before an agent took its call, so no sleeps decide the order.

mod common;

use std::time::{Duration, Instant};

use common::ports;
use common::sipp::{Sipp, SippProcess};
use common::switchboard::Switchboard;
use serde_json::Value;

const T: Duration = Duration::from_secs(20);
/// How long an agent's phone keeps a call before hanging up.
const TALK: Duration = Duration::from_millis(300);
const BURST: u32 = 20;

const PLAN: &str = r#"
[[entry]]
match = { did = "5000" }
context = "plain"
[[entry]]
match = { did = "5100" }
context = "spanish"
[[entry]]
match = { did = "5101" }
context = "spanish_billing"
[[entry]]
match = { did = "5102" }
context = "vip"
[context.plain]
steps = [{ app = "answer" }, { app = "queue", name = "q" }, { app = "hangup", cause = 16 }]
[context.spanish]
steps = [{ app = "answer" }, { app = "queue", name = "q", skills = { spanish = 6 } }, { app = "hangup", cause = 16 }]
[context.spanish_billing]
steps = [{ app = "answer" }, { app = "queue", name = "q", skills = { spanish = 6, billing = 1 } }, { app = "hangup", cause = 16 }]
[context.vip]
steps = [{ app = "answer" }, { app = "queue", name = "vip", skills = { spanish = 6 } }, { app = "hangup", cause = 16 }]
"#;

struct Appliance {
    sb: Switchboard,
    key: String,
}

/// An agent and its phone.
struct Agent {
    id: String,
    phone: SippProcess,
}

impl Agent {
    /// Call-IDs of the INVITEs the agent's phone received, oldest first.
    fn calls(&self) -> Vec<String> {
        self.phone.received_requests("INVITE")
    }
}

const CALLER: &str = "3001";

fn appliance() -> Appliance {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    std::fs::write(sb.dialplan_dir().join("acd.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    sb.add_extension(CALLER, &format!("secret-of-{CALLER}"));
    let key = sb.admin_api_key("strategies");
    Appliance { sb, key }
}

impl Appliance {
    /// Agent `id` on extension `ext`, whose phone is a SIPp UAS behind a
    /// registration of `ext`; a logged-out member of `queues`.
    fn agent(&self, id: &str, ext: &str, queues: &[&str], skills: &[(&str, u8)]) -> Agent {
        let sb = &self.sb;
        let secret = format!("secret-of-{ext}");
        sb.add_extension(ext, &secret);
        let p = ports::alloc_sipp();
        let reg = Sipp::scenario("register_auth.xml").remote(&sb.sip_addr()).ports(p).service(ext).auth(ext, &secret).calls(1).run().expect("register");
        reg.expect_success(1).expect("agent phone registered");
        let mut phone = Sipp::scenario("uas_answer_hangup.xml").ports(p).pause(TALK).calls(1000).timeout(Duration::from_secs(300)).spawn().expect("agent phone");
        phone.wait_bound(T).expect("agent phone listening");
        sb.admin_ok(&["agent", "add", id, "--name", id, "--ext", ext]);
        for (skill, level) in skills {
            sb.admin_ok(&["agent", "skill", id, skill, &level.to_string()]);
        }
        for q in queues {
            sb.admin_ok(&["queue", "member", "add", q, id]);
        }
        Agent { id: id.to_string(), phone }
    }

    /// `POST /api/v1/agents/{id}/{action}`. The ACD learns of agents added
    /// by the CLI at its next store sync, so an unknown agent is retried.
    fn agent_op(&self, id: &str, action: &str) {
        let deadline = Instant::now() + T;
        loop {
            let (status, body) = self.sb.api("POST", &format!("/api/v1/agents/{id}/{action}"), &self.key);
            if status == 204 {
                return;
            }
            assert!(Instant::now() < deadline, "{action} {id}: {status} {body}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stats(&self) -> Value {
        let (status, body) = self.sb.api("GET", "/api/v1/stats", &self.key);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("stats JSON")
    }

    /// Waits until the ACD core knows `members` members of queue `queue` and
    /// every agent listed is in the given state (`available`, `paused`,
    /// `logged-out` ...). Synchronisation only, so that the next caller
    /// meets the intended situation.
    fn wait_core(&self, queue: &str, members: u64, states: &[(&str, &str)]) {
        let deadline = Instant::now() + T;
        loop {
            let s = self.stats();
            let known = s["queues"].as_array().and_then(|qs| qs.iter().find(|q| q["name"] == queue)).map_or(0, |q| {
                q["agents"].as_object().map_or(0, |by| by.values().filter_map(Value::as_u64).sum())
            });
            let in_state = states.iter().all(|(id, want)| agent_stats(&s, id)["state"]["state"] == *want);
            if known == members && in_state {
                return;
            }
            assert!(Instant::now() < deadline, "ACD never reached {members} members of {queue} and {states:?}:\n{s:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until nobody waits, rings or talks in any queue: the previous
    /// call is over for the ACD too, not only for the SIP peers.
    fn wait_idle(&self) {
        let deadline = Instant::now() + T;
        loop {
            let s = self.stats();
            let busy = s["queues"].as_array().is_none_or(|qs| {
                qs.iter().any(|q| q["waiting"] != 0 || q["agents"]["ringing"] != 0 || q["agents"]["on_call"] != 0)
            });
            if !busy {
                return;
            }
            assert!(Instant::now() < deadline, "the ACD never settled:\n{s:#}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn caller(&self, did: &str) -> Sipp {
        Sipp::scenario("call_ext_uac_wait_bye.xml")
            .remote(&self.sb.sip_addr())
            .service(did)
            .key("caller", CALLER)
            .auth(CALLER, &format!("secret-of-{CALLER}"))
    }

    /// One caller to `did`; returns the id of the agent whose phone got the
    /// call. Exactly one phone must have received exactly one INVITE.
    fn call(&self, did: &str, agents: &[&Agent]) -> String {
        let before: Vec<usize> = agents.iter().map(|a| a.calls().len()).collect();
        let run = self.caller(did).calls(1).timeout(T).run().expect("caller");
        run.expect_success(1).unwrap_or_else(|e| panic!("{e:?}\n{}", self.sb.log()));
        let got: Vec<(&str, usize)> = agents
            .iter()
            .zip(before)
            .map(|(a, b)| (a.id.as_str(), a.calls().len() - b))
            .filter(|(_, n)| *n > 0)
            .collect();
        assert!(got.len() == 1 && got[0].1 == 1, "one call must reach one agent's phone once, got {got:?}\n{}", self.sb.log());
        self.wait_idle();
        got[0].0.to_string()
    }

    /// `BURST` callers to `did` at once; returns how many calls each agent's
    /// phone received meanwhile.
    fn burst(&self, did: &str, agents: &[&Agent]) -> Vec<(String, usize)> {
        let before: Vec<usize> = agents.iter().map(|a| a.calls().len()).collect();
        let run = self
            .caller(did)
            .calls(BURST)
            .rate(f64::from(BURST))
            .limit(BURST)
            .timeout(Duration::from_secs(60))
            .no_trace_msg()
            .run()
            .expect("callers");
        run.expect_success(u64::from(BURST)).unwrap_or_else(|e| panic!("{e:?}\n{}", self.sb.log()));
        self.wait_idle();
        agents.iter().zip(before).map(|(a, b)| (a.id.clone(), a.calls().len() - b)).collect()
    }
}

fn agent_stats<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["agents"].as_array().and_then(|a| a.iter().find(|a| a["id"] == id)).unwrap_or(&Value::Null)
}

#[test]
fn round_robin_remembers_where_it_left_off() {
    let app = appliance();
    app.sb.admin_ok(&["queue", "add", "q", "--strategy", "round_robin", "--wrapup", "0"]);
    // Ids sort in the order the members are added: the ACD takes members in
    // the order its store syncs deliver them, by id within one sync.
    let r1 = app.agent("r1", "2101", &["q"], &[]);
    let r2 = app.agent("r2", "2102", &["q"], &[]);
    let r3 = app.agent("r3", "2103", &["q"], &[]);
    for id in ["r1", "r2", "r3"] {
        app.agent_op(id, "login");
    }
    app.wait_core("q", 3, &[("r1", "available"), ("r2", "available"), ("r3", "available")]);
    let all = [&r1, &r2, &r3];

    let mut order = vec![app.call("5000", &all)];
    // r2, next in turn, is paused: the turn passes to r3 and, with r2 back,
    // goes on after r3 (so back to r1), not to the skipped r2.
    app.agent_op("r2", "pause?reason=lunch");
    app.wait_core("q", 3, &[("r2", "paused")]);
    order.push(app.call("5000", &all));
    app.agent_op("r2", "unpause");
    app.wait_core("q", 3, &[("r2", "available")]);
    for _ in 0..4 {
        order.push(app.call("5000", &all));
    }
    // Linear would give r1 every time, longest-idle and fewest-calls r1 r3 r2 ...
    assert_eq!(order, ["r1", "r3", "r1", "r2", "r3", "r1"], "round-robin order at the agents' phones");
}

#[test]
fn fewest_calls_goes_to_the_agent_with_fewest_answered_calls_then_longest_idle() {
    let app = appliance();
    app.sb.admin_ok(&["queue", "add", "q", "--strategy", "fewest_calls", "--wrapup", "0"]);
    let f1 = app.agent("f1", "2201", &["q"], &[]);
    let f2 = app.agent("f2", "2202", &["q"], &[]);
    let f3 = app.agent("f3", "2203", &["q"], &[]);
    let all = [&f1, &f2, &f3];
    app.agent_op("f1", "login");
    app.wait_core("q", 3, &[("f1", "available"), ("f2", "logged-out"), ("f3", "logged-out")]);

    // f1 alone takes two calls, then f3 and f2 log in (in that order, so
    // that idle time and agent id disagree on ties): f1 is now the longest
    // idle but has the most calls.
    let mut order = vec![app.call("5000", &all), app.call("5000", &all)];
    app.agent_op("f3", "login");
    app.wait_core("q", 3, &[("f3", "available")]);
    app.agent_op("f2", "login");
    app.wait_core("q", 3, &[("f2", "available")]);
    for _ in 0..5 {
        order.push(app.call("5000", &all));
    }
    // Calls 3-6 alternate f3/f2 (fewest calls; on a tie the one idle longer,
    // not the lower id); at 2-2-2 the tie goes to f1, idle since call 2.
    // Longest-idle would give f1 at call 3, round-robin f2 at call 3.
    assert_eq!(order, ["f1", "f1", "f3", "f2", "f3", "f2", "f1"], "fewest-calls order at the agents' phones");

    // The rule ran on the same counts the phones saw.
    let s = app.stats();
    for a in all {
        assert_eq!(agent_stats(&s, &a.id)["calls"].as_u64(), Some(a.calls().len() as u64), "answered calls of {} in the ACD vs at the phone:\n{s:#}", a.id);
    }
}

#[test]
fn random_spreads_calls_and_never_offers_a_paused_or_logged_out_agent() {
    let app = appliance();
    app.sb.admin_ok(&["queue", "add", "q", "--strategy", "random", "--wrapup", "0"]);
    let ids = ["x1", "x2", "x3", "x4", "x5"];
    let agents: Vec<Agent> = ids.iter().enumerate().map(|(i, id)| app.agent(id, &format!("230{}", i + 1), &["q"], &[])).collect();
    let all: Vec<&Agent> = agents.iter().collect();
    for id in ["x1", "x2", "x3", "x4"] {
        app.agent_op(id, "login");
    }
    // x4 pauses; x5 stays logged out. Both phones are registered and answer
    // anything they get, so an offer to them would show.
    app.agent_op("x4", "pause?reason=lunch");
    app.wait_core("q", 5, &[("x1", "available"), ("x2", "available"), ("x3", "available"), ("x4", "paused"), ("x5", "logged-out")]);

    let order: Vec<String> = (0..12).map(|_| app.call("5000", &all)).collect();
    assert!(order.iter().all(|a| ["x1", "x2", "x3"].contains(&a.as_str())), "only available agents: {order:?}");
    let mut distinct = order.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 2, "12 calls over 3 free agents reach more than one (all on one: p = 3^-11): {order:?}");
    // Round-robin, longest-idle and fewest-calls would all rotate x1 x2 x3
    // here; a random pick does so 12 times in a row with p ~ 1e-5.
    let rotation = order[..3].iter().collect::<std::collections::BTreeSet<_>>().len() == 3 && order.iter().enumerate().all(|(i, a)| *a == order[i % 3]);
    assert!(!rotation, "a fixed rotation is not random: {order:?}");

    // Twenty callers at once: still nothing for x4 and x5, and one offer per call.
    let got = app.burst("5000", &all);
    let total: usize = got.iter().map(|(_, n)| n).sum();
    assert_eq!(total, BURST as usize, "one agent call per caller: {got:?}");
    for a in &agents[3..] {
        assert!(a.calls().is_empty(), "{} is not available but its phone got {:?}", a.id, a.calls());
    }
}

#[test]
fn skills_based_takes_the_best_qualified_agent_then_the_longest_idle() {
    let app = appliance();
    app.sb.admin_ok(&["queue", "add", "q", "--strategy", "skills", "--wrapup", "0"]);
    // k1 lacks the Spanish minimum (6) although it is idle the longest and
    // has the highest Spanish + billing sum; k2 and k3 tie on Spanish; k4 is
    // the best Spanish speaker but knows no billing.
    let k1 = app.agent("k1", "2401", &["q"], &[("spanish", 5), ("billing", 9)]);
    let k2 = app.agent("k2", "2402", &["q"], &[("spanish", 7), ("billing", 2)]);
    let k3 = app.agent("k3", "2403", &["q"], &[("spanish", 7), ("billing", 4)]);
    let k4 = app.agent("k4", "2404", &["q"], &[("spanish", 9)]);
    let all = [&k1, &k2, &k3, &k4];
    for id in ["k1", "k2", "k3", "k4"] {
        app.agent_op(id, "login");
    }
    let available = [("k1", "available"), ("k2", "available"), ("k3", "available"), ("k4", "available")];
    app.wait_core("q", 4, &available);

    // 5100 needs spanish >= 6, 5101 spanish >= 6 and billing >= 1. k4 takes
    // the second call too: the best match wins over the longest idle.
    let mut order = vec![app.call("5100", &all), app.call("5100", &all)];
    app.agent_op("k4", "pause?reason=lunch");
    app.wait_core("q", 4, &[("k4", "paused")]);
    order.push(app.call("5100", &all));
    order.push(app.call("5100", &all));
    // k2 is idle longer, but k3's Spanish + billing (11) beats k2's (9).
    order.push(app.call("5101", &all));
    order.push(app.call("5100", &all));
    assert_eq!(order, ["k4", "k4", "k2", "k3", "k3", "k2"], "skills-based order at the agents' phones");

    // Twenty Spanish callers at once: k1 never gets one, however long they wait.
    app.agent_op("k4", "unpause");
    app.wait_core("q", 4, &available);
    let got = app.burst("5100", &all);
    let total: usize = got.iter().map(|(_, n)| n).sum();
    assert_eq!(total, BURST as usize, "one agent call per caller: {got:?}");
    assert!(k1.calls().is_empty(), "k1 does not meet the Spanish minimum but got {:?}", k1.calls());
}

#[test]
fn a_skill_minimum_is_relaxed_only_after_the_configured_wait() {
    let app = appliance();
    // After 3 s of waiting every minimum drops by one level; a caller who
    // never reaches an agent leaves after 10 s.
    app.sb.admin_ok(&["queue", "add", "vip", "--strategy", "skills", "--wrapup", "0", "--skill-relax", "3:1", "--max-wait", "10"]);
    let v1 = app.agent("v1", "2501", &["vip"], &[("spanish", 5)]);
    let v2 = app.agent("v2", "2502", &["vip"], &[("spanish", 8)]);
    app.agent_op("v1", "login");
    app.agent_op("v2", "login");
    // The only agent meeting spanish >= 6 is away.
    app.agent_op("v2", "pause?reason=lunch");
    app.wait_core("vip", 2, &[("v1", "available"), ("v2", "paused")]);

    let got = app.call("5102", &[&v1, &v2]);
    assert_eq!(got, "v1", "after the relaxation the spanish-5 agent takes the call");

    // The queue log (the appliance's clock) says when the offer went out.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let log = rt.block_on(async {
        let store = switchboard::store::Store::open(&app.sb.data_dir()).await.expect("open store");
        store.queue_log("vip", 0, 1000).await.expect("queue log")
    });
    let at = |event: &str| log.iter().filter(|e| e.event == event).map(|e| (e.at_ms, e.agent.clone())).collect::<Vec<_>>();
    let joins = at("join");
    let offers = at("offer");
    assert_eq!(joins.len(), 1, "{log:#?}");
    assert_eq!(offers.len(), 1, "one offer, to v1: {log:#?}");
    assert_eq!(offers[0].1.as_deref(), Some("v1"));
    let waited = offers[0].0 - joins[0].0;
    assert!(waited >= 3000, "offered to v1 after {waited} ms of waiting, before the 3 s relaxation");
}

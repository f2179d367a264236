//! Agent call control beyond hold and blind transfer, with real phones:
//! attended transfer through the API (consult, complete, cancel, a target
//! that never answers), the phone's own attended transfer (REFER with
//! Replaces from a SIPp agent), three-way conferences, and supervision
//! placed through the API. Every party is a baresip phone sending its own
//! tone, so who hears whom is read off what each phone recorded: the
//! caller 700 Hz, the agent 1300 Hz, the third party 2100 Hz.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::sipp::Sipp;
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(15);
const CALLER_HZ: f64 = 700.0;
const AGENT_HZ: f64 = 1300.0;
const THIRD_HZ: f64 = 2100.0;
/// Share of a block's energy at a frequency that counts as hearing it, and
/// below which it counts as not hearing it.
const HEARD: f64 = 0.05;
const NOT_HEARD: f64 = 0.01;

const PLAN: &str = r#"
[[entry]]
match = { feature = "*41" }
context = "login"
[[entry]]
match = { did = "5000" }
context = "sales"
[context.login]
steps = [{ app = "answer" }, { app = "agent", action = "login" }, { app = "hangup", cause = 16 }]
[context.sales]
steps = [{ app = "answer" }, { app = "queue", name = "sales" }, { app = "hangup", cause = 16 }]
"#;

/// The appliance with the queue plan, a `sales` queue (30 s wrap-up, so
/// the agent's release shows) and extension 2909 as the only supervisor.
/// Unanswered calls are given up after 5 s.
fn appliance() -> Switchboard {
    let cfg = format!(
        "[media]\nprompts_dir = \"{}/prompts\"\n[apps]\nsupervisors = [\"2909\"]\n[sip]\nno_answer_timeout_secs = 5\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut sb = Switchboard::start_with(&cfg).expect("start");
    std::fs::write(sb.dialplan_dir().join("acd.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "linear", "--wrapup", "30"]);
    sb
}

/// A registered phone sending a steady tone.
fn phone(sb: &Switchboard, user: &str, hz: f64, mode: AnswerMode) -> Baresip {
    let secret = format!("secret-of-{user}");
    sb.add_extension(user, &secret);
    let wav = sb.dir().join(format!("tone-{user}.wav"));
    common::audio::write_tone(&wav, hz, 60.0, 0.25).unwrap();
    let mut b = Baresip::start(BaresipConfig::new(user).registrar(&sb.sip_addr(), user, &secret).answermode(mode).audio_source(&wav)).expect("baresip");
    b.wait_registered(T).expect("registered");
    b
}

/// Agent `id` on phone `ext` (answering on its own), logged in from it.
fn agent(sb: &Switchboard, id: &str, ext: &str) -> Baresip {
    let mut p = phone(sb, ext, AGENT_HZ, AnswerMode::Auto);
    sb.admin_ok(&["agent", "add", id, "--name", id, "--ext", ext]);
    sb.admin_ok(&["queue", "member", "add", "sales", id]);
    p.dial(&format!("sip:*41@{}", sb.sip_addr())).expect("dial *41");
    p.wait_event("CALL_CLOSED", T).expect("login call ends");
    wait_agent_state(sb, id, "available");
    p
}

fn wait_agent_state(sb: &Switchboard, id: &str, state: &str) {
    let deadline = Instant::now() + T;
    loop {
        let list = sb.admin_ok(&["agent", "list"]);
        if list.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.first() == Some(&id) && cols.get(3) == Some(&state)
        }) {
            return;
        }
        assert!(Instant::now() < deadline, "agent {id} never {state}:\n{list}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until `pat` is in the log `n` times (waits scan from the start).
fn wait_log_n(sb: &Switchboard, pat: &str, n: usize) {
    let deadline = Instant::now() + T;
    while sb.log().matches(pat).count() < n {
        assert!(Instant::now() < deadline, "never saw \"{pat}\" {n} time(s)\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn calls_key(sb: &Switchboard) -> String {
    let out = sb.admin_ok(&["apikey", "add", "panel", "--scope", "calls"]);
    out.split_whitespace().find(|w| w.starts_with("sb_")).expect("key printed").to_string()
}

/// POST without a body: (status, body).
fn post(sb: &Switchboard, path: &str, key: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", sb.http_port)).expect("connect console");
    s.set_read_timeout(Some(T)).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn post_ok(sb: &Switchboard, path: &str, key: &str) {
    let (status, body) = post(sb, path, key);
    assert_eq!(status, 204, "POST {path}: {body}\n{}", sb.log());
}

/// The one live call (the caller's), from the console's call list.
fn live_call(sb: &Switchboard) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", sb.http_port)).expect("connect console");
    s.set_read_timeout(Some(T)).unwrap();
    write!(s, "GET /api/calls HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", sb.key()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {raw}"));
    let calls = v["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "one live call: {v}");
    calls[0].as_str().unwrap().to_string()
}

fn closed(p: &Baresip) -> usize {
    p.event_kinds().iter().filter(|e| *e == "CALL_CLOSED").count()
}

/// Waits until the phone saw `n` CALL_CLOSED events in all.
fn wait_closed(p: &Baresip, n: usize, sb: &Switchboard, what: &str) {
    let deadline = Instant::now() + T;
    while closed(p) < n {
        assert!(Instant::now() < deadline, "{what}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a phone heard on its latest call, with the time its recording
/// started (its CALL_ESTABLISHED).
struct Heard {
    samples: Vec<f64>,
    rate: u32,
    start: Instant,
}

impl Heard {
    fn of(p: &Baresip) -> Heard {
        let start = p.events().iter().rev().find(|e| e.kind == "CALL_ESTABLISHED").expect("an established call").at;
        let audio = common::audio::read_wav(&p.wait_received_recording(2.0, T).expect("recording")).unwrap();
        Heard { samples: audio.samples, rate: audio.rate, start }
    }
    /// Share of energy at `hz` between two moments (clamped to the recording).
    fn ratio(&self, hz: f64, from: Instant, to: Instant) -> f64 {
        let at = |t: Instant| ((t.saturating_duration_since(self.start).as_secs_f64() * f64::from(self.rate)) as usize).min(self.samples.len());
        let (a, b) = (at(from), at(to));
        assert!(b > a + self.rate as usize, "window of at least a second ({a}..{b} of {})", self.samples.len());
        let r = common::audio::tone_power_ratio_samples(&self.samples[a..b], self.rate, hz);
        eprintln!("{hz} Hz in {:.1}..{:.1} s: {r:.3}", a as f64 / f64::from(self.rate), b as f64 / f64::from(self.rate));
        r
    }
    /// The last `secs` seconds.
    fn tail(&self, hz: f64, secs: f64) -> f64 {
        let n = self.samples.len();
        common::audio::tone_power_ratio_samples(&self.samples[n.saturating_sub((secs * f64::from(self.rate)) as usize)..], self.rate, hz)
    }
}

/// A caller in the queue, bridged to the agent; returns the caller's phone
/// and the call's id.
fn queue_call(sb: &mut Switchboard, caller: &str, agent_id: &str) -> (Baresip, String) {
    let c = phone(sb, caller, CALLER_HZ, AnswerMode::Manual);
    c.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial the queue");
    sb.wait_log(&format!("bridged agent={agent_id}"), T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let id = live_call(sb);
    (c, id)
}

#[test]
fn api_attended_transfer_joins_caller_and_target_and_releases_the_agent() {
    let mut sb = appliance();
    let key = calls_key(&sb);
    let alice = agent(&sb, "alice", "2601");
    let mut target = phone(&sb, "2602", THIRD_HZ, AnswerMode::Auto);
    let (caller, call) = queue_call(&mut sb, "3601", "alice");
    wait_agent_state(&sb, "alice", "on_call");
    let agent_closed = closed(&alice);

    post_ok(&sb, &format!("/api/v1/calls/{call}/consult?to=2602"), &key);
    target.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("second party answered", T).expect("consulting");
    let consult_from = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let consult_to = Instant::now();
    assert_eq!(post(&sb, &format!("/api/v1/calls/{call}/consult?to=2602"), &key).0, 409, "one consultation at a time");
    assert_eq!(post(&sb, &format!("/api/v1/calls/{call}/hold"), &key).0, 409, "no hold while consulting");

    post_ok(&sb, &format!("/api/v1/calls/{call}/transfer?attended=1"), &key);
    wait_closed(&alice, agent_closed + 1, &sb, "the agent's leg gets BYE");
    sb.wait_log("transfer complete", T).expect("handed over");
    wait_agent_state(&sb, "alice", "wrap_up");
    let joined = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(closed(&target), 0, "the target stays on the line");
    assert_eq!(post(&sb, &format!("/api/v1/calls/{call}/consult/complete"), &key).0, 409, "nothing left to complete");
    caller.hangup().expect("caller hangs up");
    target.wait_event("CALL_CLOSED", T).expect("the target's call ends with the caller");
    let done = Instant::now();

    let caller_heard = Heard::of(&caller);
    let target_heard = Heard::of(&target);
    let agent_heard = Heard::of(&alice);
    let settle = Duration::from_millis(600);
    // Consulting: the agent hears the target, the caller hears neither.
    let r = agent_heard.ratio(THIRD_HZ, consult_from + settle, consult_to);
    assert!(r > HEARD, "the agent hears the consulted party: {r:.3}");
    let r = caller_heard.ratio(AGENT_HZ, consult_from + settle, consult_to);
    assert!(r < NOT_HEARD, "the caller does not hear the consultation: {r:.3}");
    let r = caller_heard.ratio(THIRD_HZ, consult_from + settle, consult_to);
    assert!(r < NOT_HEARD, "nor the consulted party: {r:.3}");
    // Transferred: caller and target hear each other.
    let r = caller_heard.ratio(THIRD_HZ, joined + settle, done - settle);
    assert!(r > HEARD, "the caller hears the target: {r:.3}");
    let r = target_heard.ratio(CALLER_HZ, joined + settle, done - settle);
    assert!(r > HEARD, "the target hears the caller: {r:.3}");
    let r = target_heard.ratio(AGENT_HZ, joined + settle, done - settle);
    assert!(r < NOT_HEARD, "and no longer the agent: {r:.3}");
    wait_ports_free(&sb);
}

/// Waits until the appliance holds no RTP port (after every call ended):
/// no leg of a transfer or conference is left behind.
fn wait_ports_free(sb: &Switchboard) {
    let deadline = Instant::now() + T;
    loop {
        let used = sb.rtp_ports_in_use();
        if used.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "RTP ports still bound: {used:?}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn consult_cancel_and_a_target_that_never_answers_reconnect_agent_and_caller() {
    let mut sb = appliance();
    let key = calls_key(&sb);
    let alice = agent(&sb, "alice", "2611");
    let mut answers = phone(&sb, "2612", THIRD_HZ, AnswerMode::Auto);
    let mut never = phone(&sb, "2613", THIRD_HZ, AnswerMode::Manual);
    let (caller, call) = queue_call(&mut sb, "3611", "alice");
    assert_eq!(post(&sb, &format!("/api/v1/calls/{call}/consult/cancel"), &key).0, 409, "nothing to cancel");
    assert_eq!(post(&sb, &format!("/api/v1/calls/{call}/consult?to=7777"), &key).0, 409, "unknown target");

    // Consult, then cancel: the consulted party is hung up.
    post_ok(&sb, &format!("/api/v1/calls/{call}/consult?to=2612"), &key);
    answers.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("second party answered", T).expect("consulting");
    std::thread::sleep(Duration::from_secs(1));
    post_ok(&sb, &format!("/api/v1/calls/{call}/consult/cancel"), &key);
    answers.wait_event("CALL_CLOSED", T).expect("the consulted party is hung up");
    wait_log_n(&sb, "agent and caller reconnected", 1);

    // A target that rings and rings: given up after 5 s, back together.
    post_ok(&sb, &format!("/api/v1/calls/{call}/consult?to=2613"), &key);
    never.wait_event("CALL_INCOMING", T).expect("the target rings");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(post(&sb, &format!("/api/v1/calls/{call}/conference"), &key).0, 409, "nothing answered to merge");
    wait_log_n(&sb, "second party: no answer", 1);
    wait_log_n(&sb, "agent and caller reconnected", 2);
    never.wait_event("CALL_CLOSED", T).expect("the ringing stops");
    let back = Instant::now();
    wait_agent_state(&sb, "alice", "on_call");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(closed(&alice), 1, "the agent's call (after the login call) is still up");
    caller.hangup().expect("caller hangs up");
    wait_closed(&alice, 2, &sb, "the agent's leg ends with the caller");
    let done = Instant::now();
    wait_agent_state(&sb, "alice", "wrap_up");

    let settle = Duration::from_millis(600);
    let r = Heard::of(&caller).ratio(AGENT_HZ, back + settle, done - settle);
    assert!(r > HEARD, "the caller hears the agent again: {r:.3}");
    let agent_heard = Heard::of(&alice);
    let r = agent_heard.ratio(CALLER_HZ, back + settle, done - settle);
    assert!(r > HEARD, "the agent hears the caller again: {r:.3}");
    wait_ports_free(&sb);
}

#[test]
fn three_way_conference_then_the_added_party_leaves_then_the_agent_leaves() {
    let mut sb = appliance();
    let key = calls_key(&sb);
    let alice = agent(&sb, "alice", "2621");
    let mut third = phone(&sb, "2622", THIRD_HZ, AnswerMode::Auto);
    let (caller, call) = queue_call(&mut sb, "3621", "alice");

    post_ok(&sb, &format!("/api/v1/calls/{call}/conference?add=2622"), &key);
    third.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("three-way conference", T).expect("three-way");
    let conf_from = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let conf_to = Instant::now();
    third.hangup().expect("the added party leaves");
    sb.wait_log("second party hung up", T).expect("noticed");
    let two_from = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let two_to = Instant::now();
    let third_heard = Heard::of(&third);

    // Again, and this time the agent leaves: caller and added party stay.
    post_ok(&sb, &format!("/api/v1/calls/{call}/conference?add=2622"), &key);
    wait_log_n(&sb, "three-way conference", 2);
    std::thread::sleep(Duration::from_secs(1));
    alice.hangup().expect("the agent leaves");
    sb.wait_log("caller handed over", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    wait_agent_state(&sb, "alice", "wrap_up");
    let pair_from = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(closed(&third), 1, "the added party stays with the caller");
    caller.hangup().expect("caller hangs up");
    wait_closed(&third, 2, &sb, "the added party's call ends with the caller");
    let pair_to = Instant::now();

    let settle = Duration::from_millis(600);
    let caller_heard = Heard::of(&caller);
    // The caller's one call spans all three phases.
    for (hz, who) in [(AGENT_HZ, "agent"), (THIRD_HZ, "added party")] {
        let r = caller_heard.ratio(hz, conf_from + settle, conf_to);
        assert!(r > HEARD, "in the three-way the caller hears the {who}: {r:.3}");
    }
    for (hz, who) in [(CALLER_HZ, "caller"), (AGENT_HZ, "agent")] {
        let r = third_heard.tail(hz, 2.5);
        assert!(r > HEARD, "the added party hears the {who}: {r:.3}");
    }
    let r = caller_heard.ratio(THIRD_HZ, two_from + settle, two_to);
    assert!(r < NOT_HEARD, "after it left, the caller no longer hears it: {r:.3}");
    let r = caller_heard.ratio(AGENT_HZ, two_from + settle, two_to);
    assert!(r > HEARD, "but still the agent: {r:.3}");
    let r = caller_heard.ratio(THIRD_HZ, pair_from + settle, pair_to - settle);
    assert!(r > HEARD, "the agent gone, the caller hears the added party: {r:.3}");
    let r = caller_heard.ratio(AGENT_HZ, pair_from + settle, pair_to - settle);
    assert!(r < NOT_HEARD, "and not the agent: {r:.3}");
    let r = Heard::of(&third).ratio(CALLER_HZ, pair_from + settle, pair_to - settle);
    assert!(r > HEARD, "the added party hears the caller: {r:.3}");
    // The agent heard both while it lasted (its call ended at the handover).
    let agent_heard = Heard::of(&alice);
    for (hz, who) in [(CALLER_HZ, "caller"), (THIRD_HZ, "added party")] {
        let r = agent_heard.ratio(hz, conf_from + settle, conf_to);
        assert!(r > HEARD, "in the three-way the agent hears the {who}: {r:.3}");
    }
    wait_ports_free(&sb);
}

#[test]
fn supervisor_api_listens_then_whispers_and_the_caller_hears_neither() {
    let mut sb = appliance();
    let key = calls_key(&sb);
    let alice = agent(&sb, "alice", "2631");
    let mut sup = phone(&sb, "2909", THIRD_HZ, AnswerMode::Auto);
    sb.add_extension("2639", "secret-of-2639");
    assert_eq!(post(&sb, "/api/v1/agents/alice/supervise?mode=listen&supervisor=2909", &key).0, 404, "no live call yet");
    let (caller, _call) = queue_call(&mut sb, "3631", "alice");
    assert_eq!(post(&sb, "/api/v1/agents/alice/supervise?mode=listen&supervisor=2639", &key).0, 403, "not in [apps] supervisors");
    assert_eq!(post(&sb, "/api/v1/agents/nobody/supervise?mode=listen&supervisor=2909", &key).0, 404);
    assert_eq!(post(&sb, "/api/v1/agents/alice/supervise?mode=shout&supervisor=2909", &key).0, 409);

    post_ok(&sb, "/api/v1/agents/alice/supervise?mode=listen&supervisor=2909", &key);
    sup.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("supervising", T).expect("linked");
    let listen_from = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let listen_to = Instant::now();
    // Same supervisor, same agent: the mode changes on the same call.
    post_ok(&sb, "/api/v1/agents/alice/supervise?mode=whisper&supervisor=2909", &key);
    sb.wait_log("supervision mode changed", T).expect("mode changed");
    let whisper_from = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let whisper_to = Instant::now();
    assert_eq!(sup.event_kinds().iter().filter(|e| *e == "CALL_ESTABLISHED").count(), 1, "one supervisor call for both modes");
    caller.hangup().expect("caller hangs up");
    sup.wait_event("CALL_CLOSED", T).expect("the supervisor is released when the call ends");
    wait_closed(&alice, 2, &sb, "the agent's leg ends");

    let settle = Duration::from_millis(600);
    let sup_heard = Heard::of(&sup);
    for (hz, who) in [(CALLER_HZ, "caller"), (AGENT_HZ, "agent")] {
        let r = sup_heard.ratio(hz, listen_from + settle, listen_to);
        assert!(r > HEARD, "listening, the supervisor hears the {who}: {r:.3}");
    }
    let agent_heard = Heard::of(&alice);
    let r = agent_heard.ratio(THIRD_HZ, listen_from + settle, listen_to);
    assert!(r < NOT_HEARD, "listening, the agent does not hear the supervisor: {r:.3}");
    let r = agent_heard.ratio(THIRD_HZ, whisper_from + settle, whisper_to);
    assert!(r > HEARD, "whispering, the agent hears the supervisor: {r:.3}");
    let caller_heard = Heard::of(&caller);
    let r = caller_heard.ratio(THIRD_HZ, listen_from + settle, whisper_to);
    assert!(r < NOT_HEARD, "the caller never hears the supervisor: {r:.3}");
    let r = caller_heard.ratio(AGENT_HZ, listen_from + settle, whisper_to);
    assert!(r > HEARD, "the caller still hears the agent: {r:.3}");
    wait_ports_free(&sb);
}

#[test]
fn the_agent_phone_transfers_with_refer_replaces() {
    let mut sb = appliance();
    let key = {
        let out = sb.admin_ok(&["apikey", "add", "ops", "--scope", "calls"]);
        out.split_whitespace().find(|w| w.starts_with("sb_")).expect("key printed").to_string()
    };
    // The agent's phone: SIPp registered as 2641, then answering on the same port.
    sb.add_extension("2641", "secret-of-2641");
    let p = common::ports::alloc_sipp();
    Sipp::scenario("register_auth.xml")
        .remote(&sb.sip_addr())
        .ports(p)
        .service("2641")
        .auth("2641", "secret-of-2641")
        .calls(1)
        .run()
        .expect("register")
        .expect_success(1)
        .expect("agent phone registered");
    let first = Sipp::scenario("agent_xfer_uas.xml").ports(p).service("2642").calls(1).timeout(Duration::from_secs(60)).spawn().expect("agent UAS");
    sb.admin_ok(&["agent", "add", "alice", "--name", "alice", "--ext", "2641"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "alice"]);
    let deadline = Instant::now() + T;
    while post(&sb, "/api/v1/agents/alice/login", &key).0 != 204 {
        assert!(Instant::now() < deadline, "login\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_agent_state(&sb, "alice", "available");
    let mut target = phone(&sb, "2642", THIRD_HZ, AnswerMode::Auto);
    let (caller, _call) = queue_call(&mut sb, "3641", "alice");

    // The phone holds the caller and tries a Replaces nobody has first.
    sb.wait_log("REFER with Replaces for an unknown dialog", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let d1_file = first.dir().join("d1.txt");
    let d1 = std::fs::read_to_string(&d1_file).unwrap_or_else(|e| panic!("{}: {e}\n{}", d1_file.display(), first.diagnostics()));
    let mut d1 = d1.split_whitespace();
    let (d1_call, d1_tag) = (d1.next().expect("D1 Call-ID").to_string(), d1.next().expect("switch tag").to_string());
    assert_eq!(closed(&caller), 0, "the call goes on after the failed REFER");

    // The consultation through the switch, then REFER with Replaces in D1.
    let consult = Sipp::scenario("agent_xfer_consult.xml")
        .remote(&sb.sip_addr())
        .service("2642")
        .key("caller", "2641")
        .key("d1", &d1_call)
        .key("d1_tag", &d1_tag)
        .key("d1_contact", &first.addr())
        .auth("2641", "secret-of-2641")
        .arg("-cid_str")
        .arg("consult-%u-%p")
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn()
        .expect("consultation");
    target.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("caller handed over", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    wait_agent_state(&sb, "alice", "wrap_up");
    let consult_run = consult.wait(T).expect("consultation ran");
    consult_run.expect_success(1).unwrap_or_else(|e| panic!("the consultation is released (BYE): {e:?}\n{}", sb.log()));
    let first_run = first.wait(T).expect("first leg ran");
    first_run.expect_success(1).unwrap_or_else(|e| panic!("NOTIFY 481, NOTIFY 200, BYE on the first leg: {e:?}\n{}", sb.log()));
    let msgs = first_run.messages();
    assert!(msgs.contains("SIP/2.0 481"), "NOTIFY sipfrag 481 for the unknown dialog");
    let joined = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(closed(&target), 0, "the target stays with the caller");
    caller.hangup().expect("caller hangs up");
    target.wait_event("CALL_CLOSED", T).expect("the target's call ends with the caller");
    let done = Instant::now();

    let settle = Duration::from_millis(600);
    let r = Heard::of(&caller).ratio(THIRD_HZ, joined + settle, done - settle);
    assert!(r > HEARD, "the caller hears the target: {r:.3}\n{}", sb.log());
    // The target got no RTP while it talked to the SIPp phone (whose media
    // the switch relays), so its recording holds little before the
    // transfer: its last seconds are after it.
    let r = Heard::of(&target).tail(CALLER_HZ, 2.0);
    assert!(r > HEARD, "the target hears the caller: {r:.3}");
    wait_ports_free(&sb);
}

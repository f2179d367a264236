//! The ACD with real phones (issue 5): agents are baresip phones registered
//! as extensions that log in with `*41` and pause with `*43<code>`; callers
//! reach a queue through the dialplan. Checked: the distribution order of
//! a linear queue, pause respected, ring-all with every agent answering at
//! once connects exactly one, position announcements, agent state in the
//! store and the queue log.

mod common;

use std::time::{Duration, Instant};

use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(15);

const PLAN: &str = r#"
[[entry]]
match = { feature = "*41" }
context = "login"
[[entry]]
match = { pattern = "_*43." }
context = "pause"
[[entry]]
match = { did = "5000" }
context = "sales"
[context.login]
steps = [{ app = "answer" }, { app = "agent", action = "login" }, { app = "hangup", cause = 16 }]
[context.pause]
steps = [{ app = "answer" }, { app = "agent", action = "pause", reason = "${dialed:3}" }, { app = "hangup", cause = 16 }]
[context.sales]
steps = [{ app = "answer" }, { app = "queue", name = "sales" }, { app = "hangup", cause = 17 }]
"#;

fn appliance() -> Switchboard {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    std::fs::write(sb.dialplan_dir().join("acd.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    sb
}

fn phone(sb: &Switchboard, user: &str, mode: AnswerMode) -> Baresip {
    let secret = format!("secret-of-{user}");
    sb.add_extension(user, &secret);
    let wav = sb.dir().join(format!("talk-{user}.wav"));
    common::audio::write_tone(&wav, 500.0, 60.0, 0.2).unwrap();
    let mut b = Baresip::start(BaresipConfig::new(user).registrar(&sb.sip_addr(), user, &secret).answermode(mode).audio_source(&wav)).expect("baresip");
    b.wait_registered(T).expect("registered");
    b
}

/// An agent on `ext` who logs in from the phone.
fn agent(sb: &mut Switchboard, id: &str, ext: &str, mode: AnswerMode) -> Baresip {
    let mut p = phone(sb, ext, mode);
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
        // Columns: ID NAME EXTENSIONS STATE ... (test agents have one-word names).
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

#[test]
fn linear_queue_offers_in_member_order_and_skips_a_paused_agent() {
    let mut sb = appliance();
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "linear", "--ring-timeout", "5", "--wrapup", "0"]);
    let mut alice = agent(&mut sb, "alice", "2001", AnswerMode::Auto);
    let mut bob = agent(&mut sb, "bob", "2002", AnswerMode::Auto);

    // First caller: alice is first in member order.
    let c1 = phone(&sb, "3001", AnswerMode::Manual);
    c1.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    alice.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("agent=alice", T).expect("bridged to alice");
    wait_agent_state(&sb, "alice", "on_call");
    c1.hangup().expect("hang up");
    alice.wait_event("CALL_CLOSED", T).expect("agent leg ends with the caller");
    wait_agent_state(&sb, "alice", "available");

    // alice pauses (*432: reason 2); the next caller goes to bob.
    alice.dial(&format!("sip:*432@{}", sb.sip_addr())).expect("dial *432");
    wait_agent_state(&sb, "alice", "paused");
    let list = sb.admin_ok(&["agent", "list"]);
    assert!(list.lines().any(|l| l.starts_with("alice") && l.contains(" 2 ")), "reason code kept: {list}");
    let c2 = phone(&sb, "3002", AnswerMode::Manual);
    c2.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    bob.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("bridged agent=bob", T).expect("bridged to bob");
    c2.hangup().expect("hang up");
    bob.wait_event("CALL_CLOSED", T).expect("closed");
    wait_agent_state(&sb, "bob", "available");

    // The queue log tells the story.
    let log = sb.log();
    assert_eq!(log.matches("agent answered: bridged").count(), 2, "{log}");
}

#[test]
fn ring_all_with_every_agent_answering_connects_exactly_one() {
    let mut sb = appliance();
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all", "--ring-timeout", "10"]);
    let mut a = agent(&mut sb, "ann", "2101", AnswerMode::Auto);
    let mut b = agent(&mut sb, "ben", "2102", AnswerMode::Auto);
    let caller = phone(&sb, "3101", AnswerMode::Manual);
    let closed_before = |p: &Baresip| p.event_kinds().iter().filter(|e| *e == "CALL_CLOSED").count();
    let before = [closed_before(&a), closed_before(&b)];
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    // Both phones answer at once; one wins, the other is hung up.
    a.wait_event("CALL_ESTABLISHED", T).expect("ann's phone answered");
    b.wait_event("CALL_ESTABLISHED", T).expect("ben's phone answered");
    sb.wait_log("agent answered: bridged", T).expect("bridged");
    std::thread::sleep(Duration::from_secs(2));
    let closed = [closed_before(&a) - before[0], closed_before(&b) - before[1]].iter().filter(|n| **n > 0).count();
    assert_eq!(closed, 1, "exactly one agent leg was hung up\n{}", sb.log());
    assert_eq!(sb.log().matches("agent answered: bridged").count(), 1);
    let list = sb.admin_ok(&["agent", "list"]);
    assert_eq!(list.matches("on_call").count(), 1, "one agent on the call: {list}");
    caller.hangup().expect("hang up");
}

#[test]
fn waiting_callers_hear_their_position() {
    let mut sb = appliance();
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "longest_idle", "--join-empty", "--no-leave-when-empty", "--announce-every", "2"]);
    let mut caller = phone(&sb, "3201", AnswerMode::Manual);
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    caller.wait_event("CALL_ESTABLISHED", T).expect("answered into the queue");
    let line = sb.wait_log("queue announcement", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    assert!(line.contains("position=1"), "{line}");
    caller.hangup().expect("hang up");
    sb.wait_log("queue caller finished", T).expect("abandon recorded");
    assert!(sb.log().contains("Abandoned"), "{}", sb.log());
}

#[test]
fn callback_keeps_its_place_survives_a_restart_and_rings_the_agent_first() {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\ninband_dtmf = true\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    std::fs::write(sb.dialplan_dir().join("acd.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "longest_idle", "--join-empty", "--no-leave-when-empty", "--announce-every", "2", "--callback-key", "1"]);

    // The customer's phone presses 1 (in-band) after the first announcement
    // and answers the callback later on its own.
    let secret = "secret-of-3301";
    sb.add_extension("3301", secret);
    let wav = sb.dir().join("press1.wav");
    common::audio::write_dtmf(&wav, "1", 4.5, 0.15, 0.2, 40.0);
    let mut customer = Baresip::start(BaresipConfig::new("3301").registrar(&sb.sip_addr(), "3301", secret).answermode(AnswerMode::Auto).audio_source(&wav)).expect("baresip");
    customer.wait_registered(T).expect("registered");
    customer.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    sb.wait_log("callback requested", Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    customer.wait_event("CALL_CLOSED", T).expect("the appliance hangs up after the confirmation");
    let list = sb.admin_ok(&["callbacks"]);
    assert!(list.lines().any(|l| l.contains("3301") && l.contains("waiting")), "{list}");

    // A restart in the middle: the request is still there.
    sb.stop();
    sb.start().expect("restart");
    sb.wait_log("callback restored", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));

    // An agent logs in: their phone rings first, then the customer's.
    let alice = phone(&sb, "2301", AnswerMode::Auto);
    sb.admin_ok(&["agent", "add", "alice", "--name", "alice", "--ext", "2301"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "alice"]);
    alice.dial(&format!("sip:*41@{}", sb.sip_addr())).expect("dial *41");
    sb.wait_log("callback: customer answered, bridged", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let agent_rang = sb.log().find("callback: offering to an agent").expect("agent offered");
    let customer_dialled = sb.log().find("callback: dialling the customer").expect("customer dialled");
    assert!(agent_rang < customer_dialled, "agent first, then the customer");
    alice.hangup().expect("agent hangs up");
    let deadline = Instant::now() + T;
    loop {
        let all = sb.admin_ok(&["callbacks", "--all"]);
        if all.lines().any(|l| l.contains("3301") && l.contains("done")) {
            break;
        }
        assert!(Instant::now() < deadline, "callback not marked done: {all}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_agent_transfers_the_caller_with_refer() {
    let mut sb = appliance();
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "linear"]);
    let mut alice = agent(&mut sb, "alice", "2401", AnswerMode::Auto);
    let mut expert = phone(&sb, "2402", AnswerMode::Auto);
    let caller = phone(&sb, "3401", AnswerMode::Manual);
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    alice.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    sb.wait_log("bridged agent=alice", T).expect("bridged");
    let closed_before = alice.event_kinds().iter().filter(|e| *e == "CALL_CLOSED").count();
    // The agent's phone sends REFER (blind transfer) to extension 2402.
    alice.command("transfer", &format!("sip:2402@{}", sb.sip_addr())).expect("transfer command");
    expert.wait_event("CALL_ESTABLISHED", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let deadline = Instant::now() + T;
    while alice.event_kinds().iter().filter(|e| *e == "CALL_CLOSED").count() == closed_before {
        assert!(Instant::now() < deadline, "the agent's leg is released\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sb.log().contains("the callee transfers the caller (REFER)"), "{}", sb.log());
    wait_agent_state(&sb, "alice", "available");
    caller.hangup().expect("hang up");
    expert.wait_event("CALL_CLOSED", T).expect("the transferred call ends with the caller");
}

/// A phone that sends a steady tone of `hz`.
fn tone_phone(sb: &Switchboard, user: &str, hz: f64) -> Baresip {
    let secret = format!("secret-of-{user}");
    sb.add_extension(user, &secret);
    let wav = sb.dir().join(format!("tone-{user}.wav"));
    common::audio::write_tone(&wav, hz, 60.0, 0.25).unwrap();
    let mut b = Baresip::start(BaresipConfig::new(user).registrar(&sb.sip_addr(), user, &secret).answermode(AnswerMode::Auto).audio_source(&wav)).expect("baresip");
    b.wait_registered(T).expect("registered");
    b
}

const SUP_PLAN: &str = r#"
[[entry]]
match = { pattern = "_*46." }
context = "whisper"
[context.whisper]
steps = [{ app = "supervise", mode = "whisper", agent = "${dialed:3}" }]
"#;

#[test]
fn a_supervisor_whispers_to_the_agent_and_the_caller_does_not_hear_it() {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\n[apps]\nsupervisors = [\"2502\"]\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    std::fs::write(sb.dialplan_dir().join("acd.toml"), PLAN).unwrap();
    std::fs::write(sb.dialplan_dir().join("sup.toml"), SUP_PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "linear"]);
    // Agent 2501 sends 1300 Hz, the caller 700 Hz, the supervisor 2100 Hz.
    let mut alice = tone_phone(&sb, "2501", 1300.0);
    sb.admin_ok(&["agent", "add", "alice", "--name", "alice", "--ext", "2501"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "alice"]);
    alice.dial(&format!("sip:*41@{}", sb.sip_addr())).expect("login");
    alice.wait_event("CALL_CLOSED", T).expect("login call ends");
    wait_agent_state(&sb, "alice", "available");
    let caller = tone_phone(&sb, "3501", 700.0);
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    sb.wait_log("bridged agent=alice", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));

    // Somebody who is not a supervisor is refused.
    let mut intruder = tone_phone(&sb, "3502", 400.0);
    intruder.dial(&format!("sip:*462501@{}", sb.sip_addr())).expect("dial");
    intruder.wait_event("CALL_CLOSED", T).expect("refused");
    assert!(sb.log().contains("not a supervisor"), "{}", sb.log());

    let mut sup = tone_phone(&sb, "2502", 2100.0);
    sup.dial(&format!("sip:*462501@{}", sb.sip_addr())).expect("dial *46");
    sup.wait_event("CALL_ESTABLISHED", T).expect("supervisor joined");
    sb.wait_log("supervising", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    std::thread::sleep(Duration::from_secs(4));
    caller.hangup().expect("caller hangs up");
    sup.wait_event("CALL_CLOSED", T).expect("the supervisor is released when the call ends");
    alice.wait_event("CALL_CLOSED", T).ok();

    let tail = |p: &Baresip| {
        let audio = common::audio::read_wav(&p.wait_received_recording(3.0, T).expect("recording")).unwrap();
        let n = audio.samples.len();
        (audio.samples[n.saturating_sub(audio.rate as usize * 3)..].to_vec(), audio.rate)
    };
    let ratio = |(s, r): &(Vec<f64>, u32), hz| common::audio::tone_power_ratio_samples(s, *r, hz);
    let agent_heard = tail(&alice);
    let caller_heard = tail(&caller);
    let sup_heard = tail(&sup);
    assert!(ratio(&agent_heard, 2100.0) > 0.05, "the agent hears the whisper: {:.3}", ratio(&agent_heard, 2100.0));
    assert!(ratio(&caller_heard, 2100.0) < 0.01, "the caller does not: {:.3}", ratio(&caller_heard, 2100.0));
    assert!(ratio(&sup_heard, 700.0) > 0.05 && ratio(&sup_heard, 1300.0) > 0.05, "the supervisor hears both: {:.3} {:.3}", ratio(&sup_heard, 700.0), ratio(&sup_heard, 1300.0));
}

#[test]
fn a_queue_with_nobody_logged_in_sends_callers_to_its_overflow() {
    let mut sb = appliance();
    // join_empty is off by default: no agent logged in → refused → overflow.
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all", "--overflow", "voicemail:1001"]);
    sb.add_extension("1001", "secret-of-1001");
    let caller = phone(&sb, "3701", AnswerMode::Manual);
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial");
    let line = sb.wait_log("queue refused the caller", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    assert!(line.contains("no agents") && line.contains("voicemail:1001"), "{line}");
    sb.wait_log("voicemail deposit", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    caller.hangup().expect("hang up");
}

//! Phone-to-phone calls through the appliance with two real SIP phones
//! (baresip, headless): digest registration, the B2BUA, anchored media in
//! both directions, RFC 4733 digits passing through, and a hangup that tears
//! down both legs and frees the media ports.

mod common;

use std::time::Duration;

use common::audio::{tone_power_ratio, write_tone};
use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(10);

fn phone(sb: &Switchboard, user: &str, secret: &str, tone: Option<f64>, mode: AnswerMode) -> Baresip {
    phone_on(sb, user, secret, tone, mode, "udp")
}

fn phone_on(sb: &Switchboard, user: &str, secret: &str, tone: Option<f64>, mode: AnswerMode, transport: &str) -> Baresip {
    let mut cfg = BaresipConfig::new(user).registrar(&sb.sip_addr(), user, secret).answermode(mode);
    cfg.transport = transport.to_owned();
    if let Some(freq) = tone {
        let wav = sb.dir().join(format!("tone-{user}-{freq}.wav"));
        // Long enough to outlast every call: baresip hangs up when its aufile source ends.
        write_tone(&wav, freq, 30.0, 0.5).expect("write tone");
        cfg = cfg.audio_source(wav);
    }
    let mut b = Baresip::start(cfg).expect("start baresip");
    b.wait_registered(T).expect("phone registers with digest");
    b
}

#[test]
fn two_phones_talk_through_the_appliance() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");
    let mut a = phone(&sb, "1001", "secret-one-1001", Some(440.0), AnswerMode::Auto);
    let mut b = phone(&sb, "1002", "secret-two-1002", Some(1000.0), AnswerMode::Auto);
    let list = sb.admin_ok(&["extension", "list"]);
    assert_eq!(list.matches("via 127.0.0.1").count(), 2, "both phones registered: {list}");

    a.dial(&format!("sip:1002@{}", sb.sip_addr())).expect("dial");
    a.wait_event("CALL_ESTABLISHED", T).expect("caller connected");
    b.wait_event("CALL_ESTABLISHED", T).expect("callee connected");
    assert!(!sb.rtp_ports_in_use().is_empty(), "media is anchored on the appliance's ports");

    std::thread::sleep(Duration::from_millis(1500));
    a.send_dtmf("5#").expect("send DTMF");
    let d1 = b.wait_event("CALL_DTMF_START", T).expect("first digit arrives");
    let d2 = b.wait_event("CALL_DTMF_START", T).expect("second digit arrives");
    assert_eq!((d1.param.as_str(), d2.param.as_str()), ("5", "#"), "RFC 4733 digits pass through");
    std::thread::sleep(Duration::from_millis(500));

    a.hangup().expect("hang up");
    a.wait_event("CALL_CLOSED", T).expect("caller leg closed");
    let closed = b.wait_event("CALL_CLOSED", T).expect("callee leg torn down by the appliance");
    assert!(closed.param.to_lowercase().contains("peer") || !closed.param.is_empty(), "{closed:?}");

    // Each side heard the other's tone, not its own.
    let heard_by_a = a.wait_received_recording(1.0, T).expect("caller recording");
    let heard_by_b = b.wait_received_recording(1.0, T).expect("callee recording");
    let a1000 = tone_power_ratio(&heard_by_a, 1000.0).unwrap();
    let a440 = tone_power_ratio(&heard_by_a, 440.0).unwrap();
    let b440 = tone_power_ratio(&heard_by_b, 440.0).unwrap();
    let b1000 = tone_power_ratio(&heard_by_b, 1000.0).unwrap();
    assert!(a1000 > 0.5 && a440 < 0.1, "caller hears 1000 Hz: {a1000:.3} vs own 440 Hz: {a440:.3}");
    assert!(b440 > 0.5 && b1000 < 0.1, "callee hears 440 Hz: {b440:.3} vs own 1000 Hz: {b1000:.3}");

    // Both legs gone: every media port is free again.
    let deadline = std::time::Instant::now() + T;
    while !sb.rtp_ports_in_use().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sb.rtp_ports_in_use(), Vec::<u16>::new(), "media ports released after hangup");
    assert!(sb.log().contains("hangup"), "hangup logged");

    // The call record: internal, answered, hung up by the caller, media counted.
    let deadline = std::time::Instant::now() + T;
    let cdr = loop {
        let cdr = sb.admin_ok(&["calls"]);
        if cdr.lines().nth(1).is_some_and(|l| l.contains(" caller ")) || std::time::Instant::now() > deadline {
            break cdr;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let row = cdr.lines().nth(1).unwrap_or_default().to_string();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[1..6], ["internal", "1001", "1002", "200", "caller"], "{cdr}");
    let pkts: u64 = cols[7].split('/').next().unwrap().parse().unwrap();
    assert!(pkts > 50, "caller leg RTP counted in the record: {cdr}");
    // pkts/lost/jitter/mos: the relay measured the caller's stream (loopback: clean).
    let quality: Vec<&str> = cols[7].split('/').collect();
    assert!(quality[2].ends_with("ms"), "caller leg jitter recorded: {cdr}");
    let mos: f64 = quality[3].parse().unwrap_or_else(|_| panic!("caller leg MOS recorded: {cdr}"));
    assert!(mos > 3.5, "caller leg MOS on loopback: {cdr}");
}

#[test]
fn forked_call_first_answer_wins_and_the_other_phone_stops_ringing() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");
    let mut a = phone(&sb, "1001", "secret-one-1001", None, AnswerMode::Auto);
    let mut desk = phone(&sb, "1002", "secret-two-1002", None, AnswerMode::Manual);
    let mut soft = phone(&sb, "1002", "secret-two-1002", None, AnswerMode::Auto);
    let list = sb.admin_ok(&["extension", "list"]);
    assert_eq!(list.matches("via 127.0.0.1").count(), 3, "1002 has two contacts: {list}");

    a.dial(&format!("sip:1002@{}", sb.sip_addr())).expect("dial");
    desk.wait_event("CALL_INCOMING", T).expect("the desk phone rings too (parallel fork)");
    soft.wait_event("CALL_ESTABLISHED", T).expect("the softphone answers");
    a.wait_event("CALL_ESTABLISHED", T).expect("caller connected to the winner");
    desk.wait_event("CALL_CLOSED", T).expect("the losing fork is cancelled");

    a.hangup().expect("hang up");
    soft.wait_event("CALL_CLOSED", T).expect("winner's leg torn down");
}

#[test]
fn caller_cancel_no_answer_and_busy() {
    let sb = Switchboard::start_with("[sip]\nno_answer_timeout_secs = 2\n").expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");
    let mut a = phone(&sb, "1001", "secret-one-1001", None, AnswerMode::Auto);
    let mut b = phone(&sb, "1002", "secret-two-1002", None, AnswerMode::Manual);
    let target = format!("sip:1002@{}", sb.sip_addr());

    // The caller gives up while it rings: CANCEL reaches the callee.
    a.dial(&target).expect("dial");
    b.wait_event("CALL_INCOMING", T).expect("rings");
    a.hangup().expect("caller cancels");
    b.wait_event("CALL_CLOSED", T).expect("callee stops ringing");
    a.wait_event("CALL_CLOSED", T).expect("caller side closed");

    // Nobody answers: after no_answer_timeout_secs the caller gets 480.
    std::thread::sleep(Duration::from_millis(1100)); // baresip names recordings per second
    a.dial(&target).expect("dial again");
    b.wait_event("CALL_INCOMING", T).expect("rings again");
    let closed = a.wait_event("CALL_CLOSED", T).expect("caller gets a final response");
    assert!(closed.param.contains("480"), "no answer maps to 480: {closed:?}");
    b.wait_event("CALL_CLOSED", T).expect("callee cancelled after the timeout");

    // The callee rejects: its 486 reaches the caller.
    std::thread::sleep(Duration::from_millis(1100));
    a.dial(&target).expect("dial a third time");
    b.wait_event("CALL_INCOMING", T).expect("rings a third time");
    b.hangup().expect("callee rejects");
    let closed = a.wait_event("CALL_CLOSED", T).expect("caller sees the rejection");
    assert!(closed.param.contains("486"), "busy maps to 486: {closed:?}");
    // Three call records, newest first: busy, no answer, cancelled.
    let deadline = std::time::Instant::now() + T;
    let cdr = loop {
        let cdr = sb.admin_ok(&["calls"]);
        let closed = cdr.lines().skip(1).filter(|l| l.split_whitespace().nth(4).is_some_and(|s| s != "-")).count();
        if closed == 3 || std::time::Instant::now() > deadline {
            break cdr;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let statuses: Vec<&str> = cdr.lines().skip(1).map(|l| l.split_whitespace().nth(4).unwrap_or("")).collect();
    assert_eq!(statuses, ["486", "480", "487"], "{cdr}");

    // No media ports stay behind from any of the three failed calls.
    let deadline = std::time::Instant::now() + T;
    while !sb.rtp_ports_in_use().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sb.rtp_ports_in_use(), Vec::<u16>::new());
}

#[test]
fn hold_and_resume_reinvites_cross_the_b2bua() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");
    let mut a = phone(&sb, "1001", "secret-one-1001", Some(440.0), AnswerMode::Auto);
    let mut b = phone(&sb, "1002", "secret-two-1002", Some(1000.0), AnswerMode::Auto);
    a.dial(&format!("sip:1002@{}", sb.sip_addr())).expect("dial");
    a.wait_event("CALL_ESTABLISHED", T).expect("caller connected");
    b.wait_event("CALL_ESTABLISHED", T).expect("callee connected");

    a.command("hold", "").expect("hold");
    // The callee's phone receives the re-INVITE with a hold direction and answers it.
    b.wait_for_log("a=sendonly", T).expect("callee got the hold offer (sendonly)");
    a.wait_for_log("a=recvonly", T).expect("caller got the callee's recvonly answer back");
    a.command("resume", "").expect("resume");
    // The third INVITE the callee sees (call, hold, resume) offers sendrecv again.
    let deadline = std::time::Instant::now() + T;
    let resumed = loop {
        let log = std::fs::read_to_string(b.log_path()).unwrap_or_default();
        let invites: Vec<&str> = log.split("INVITE sip:").skip(1).collect();
        if invites.len() >= 3 {
            break invites[2].split("\n\n").take(2).collect::<Vec<_>>().join("\n");
        }
        assert!(std::time::Instant::now() < deadline, "no resume re-INVITE reached the callee:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(resumed.contains("a=sendrecv"), "resume offer is sendrecv: {resumed}");
    assert!(!sb.log().contains("hangup"), "the call survived hold and resume");
    a.hangup().expect("hang up");
    b.wait_event("CALL_CLOSED", T).expect("closed");
    sb.wait_log("hangup", T).expect("hangup logged");
}

#[test]
fn tcp_phone_calls_udp_phone() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");
    let mut a = phone_on(&sb, "1001", "secret-one-1001", Some(440.0), AnswerMode::Auto, "tcp");
    let mut b = phone(&sb, "1002", "secret-two-1002", Some(1000.0), AnswerMode::Auto);
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(list.contains("transport=tcp"), "1001 registered over TCP: {list}");
    a.dial(&format!("sip:1002@{};transport=tcp", sb.sip_addr())).expect("dial");
    a.wait_event("CALL_ESTABLISHED", T).expect("caller (TCP) connected");
    b.wait_event("CALL_ESTABLISHED", T).expect("callee (UDP) connected");
    std::thread::sleep(Duration::from_millis(1200));
    b.hangup().expect("callee hangs up");
    a.wait_event("CALL_CLOSED", T).expect("BYE reached the TCP phone over its connection");
    let heard_by_a = a.wait_received_recording(0.5, T).expect("caller recording");
    let ratio = tone_power_ratio(&heard_by_a, 1000.0).unwrap();
    assert!(ratio > 0.5, "TCP-signalled caller hears the callee: {ratio:.3}");
}

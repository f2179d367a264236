//! Overload protection (issue 9) against the real binary with small
//! `[limits]`: new calls beyond `max_calls` or `max_cps` get a final 503
//! with `Retry-After`, while REGISTER, OPTIONS and the established calls'
//! in-dialog requests and relayed RTP go on; once the load drops, new
//! calls get through again.
//!
//! Callers come in over a trunk whose host is loopback (DIDs map numbers to
//! the IVR test app, a conference room or an extension), so no digest
//! round trip muddles the admission counts. Held calls are relayed
//! between two small Rust UAs (tests/common/sip_ua.rs) that send and count
//! RTP themselves, so "clean RTP" is packets received against packets sent.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::ports;
use common::sip_trace::{traced, Traced};
use common::relayed::{count_stream, relayed_call, send_stream, Relayed};
use common::sip_ua::{audio_sdp, Msg, Ua};
use common::sipp::Sipp;
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(20);
const RETRY_AFTER: &str = "7";

fn config(max_calls: u32, max_cps: u32) -> String {
    format!(
        "[media]\nprompts_dir = \"{}/prompts\"\n[trunks]\noptions_interval_secs = 0\n\
         [limits]\nmax_calls = {max_calls}\nmax_cps = {max_cps}\nburst = {max_cps}\nretry_after_secs = {RETRY_AFTER}\n",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn sip_addr(sb: &Switchboard) -> SocketAddr {
    sb.sip_addr().parse().unwrap()
}

/// A trunk at loopback whose DIDs reach the IVR test (7000), conference
/// room 8000 and extensions 1001..=1003.
fn add_trunk(sb: &Switchboard) {
    let host = format!("127.0.0.1:{}", ports::alloc());
    sb.admin_ok(&[
        "trunk", "add", "carrier", "--host", &host, "--did", "7000", "--did", "8000", "--did", "1001", "--did", "1002", "--did", "1003",
    ]);
}

fn metric(sb: &Switchboard, name: &str, labels: &str) -> Option<f64> {
    let (status, body) = sb.api("GET", "/metrics", "");
    assert_eq!(status, 200, "/metrics: {body}");
    let prefix = if labels.is_empty() { format!("{name} ") } else { format!("{name}{{{labels}}} ") };
    body.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok())
}

/// Waits until `/metrics` reports `n` active calls.
fn wait_active(sb: &Switchboard, n: f64) {
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        if metric(sb, "switchboard_active_calls", "") == Some(n) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("active calls never reached {n} (last {:?})", metric(sb, "switchboard_active_calls", ""));
}

/// One request from a fresh UDP socket, returning the first final response.
fn one_shot(sb: &Switchboard, method: &str, user: &str, extra: &str) -> Msg {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = sock.local_addr().unwrap();
    let server = sip_addr(sb);
    let msg = format!(
        "{method} sip:{user}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{method}{}\r\nMax-Forwards: 70\r\n\
From: <sip:{user}@{server}>;tag=os1\r\nTo: <sip:{user}@{server}>\r\nCall-ID: {method}-{}@127.0.0.1\r\nCSeq: 1 {method}\r\n\
Contact: <sip:{user}@{local}>\r\n{extra}Content-Length: 0\r\n\r\n",
        local.port(),
        local.port()
    );
    sock.send_to(msg.as_bytes(), server).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = vec![0u8; 65536];
    for _ in 0..20 {
        let Ok((n, _)) = sock.recv_from(&mut buf) else { continue };
        let Some(m) = Msg::parse(&buf[..n]) else { continue };
        if m.status().is_some_and(|s| s >= 200) {
            return m;
        }
    }
    panic!("no final response to {method}");
}

/// A call from the trunk to a local app that stays up (conference room).
fn hold_app_call(sb: &Switchboard) -> Ua {
    let mut ua = Ua::new(0, sip_addr(sb), "5551000", "8000");
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let r = ua.invite(&audio_sdp(rtp));
    assert_eq!(r.status(), Some(200), "held call answered: {}", r.first);
    ua
}

#[test]
fn at_max_calls_invites_get_503_but_register_and_options_are_answered() {
    let mut sb = Switchboard::start_with(&config(2, 20)).expect("start");
    sb.add_extension("1001", "secret-1001-x");
    add_trunk(&sb);
    let mut held = [hold_app_call(&sb), hold_app_call(&sb)];
    wait_active(&sb, 2.0);

    let mut third = Ua::new(0, sip_addr(&sb), "5551000", "8000");
    let r = third.invite(&audio_sdp(40000));
    assert_eq!(r.status(), Some(503), "a third call is refused: {}", r.first);
    assert_eq!(r.header("retry-after"), Some(RETRY_AFTER), "503 says when to retry");
    assert!(r.first.contains("Too Many Calls"), "reason phrase says why: {}", r.first);

    // Not new calls: answered as usual while at the limit.
    let options = one_shot(&sb, "OPTIONS", "1001", "");
    assert_eq!(options.status(), Some(200), "OPTIONS at max_calls: {}", options.first);
    let register = one_shot(&sb, "REGISTER", "1001", "Expires: 60\r\n");
    assert_eq!(register.status(), Some(401), "REGISTER at max_calls is challenged, not refused: {}", register.first);
    assert!(register.header("www-authenticate").is_some());

    assert_eq!(metric(&sb, "switchboard_calls_refused_overload_total", "limit=\"max_calls\""), Some(1.0));
    assert_eq!(metric(&sb, "switchboard_calls_refused_overload_total", "limit=\"max_cps\""), Some(0.0));

    // In-dialog requests of the established calls are never refused.
    for ua in held.iter_mut() {
        assert_eq!(ua.bye().status(), Some(200), "held call hangs up cleanly");
    }
    wait_active(&sb, 0.0);
    let mut again = hold_app_call(&sb);
    assert_eq!(again.bye().status(), Some(200));
    assert!(sb.is_running());
}

/// A relayed call between two UAs: A calls extension `ext` over the
/// trunk, B (registered for `ext` by SIPp on B's port) answers.
fn is_invite_response(m: &Traced, status: u16) -> bool {
    m.received && m.first_line().starts_with(&format!("SIP/2.0 {status} ")) && m.header("cseq").is_some_and(|c| c.ends_with("INVITE"))
}

#[test]
fn burst_above_the_limits_is_refused_while_established_calls_keep_their_media() {
    const MAX_CALLS: u32 = 12;
    const HELD: usize = 3;
    const PACKETS: u16 = 400; // 8 s per direction per call, covering the burst
    let mut sb = Switchboard::start_with(&config(MAX_CALLS, 20)).expect("start");
    add_trunk(&sb);
    let mut held: Vec<Relayed> = (1..=HELD).map(|i| relayed_call(&sb, &format!("100{i}"))).collect();
    wait_active(&sb, HELD as f64);
    let rss = |sb: &Switchboard| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", sb.pid().expect("pid"))).unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
    };
    let rss_before = rss(&sb);

    // RTP both ways on every held call, through the whole burst.
    let until = Instant::now() + Duration::from_millis(20 * u64::from(PACKETS) + 1500);
    let mut streams = Vec::new();
    for (i, call) in held.iter().enumerate() {
        let (sa, sb_) = (0xA000 + i as u32, 0xB000 + i as u32);
        streams.push((
            send_stream(call.a_rtp.try_clone().unwrap(), call.to_a_side, PACKETS, sa),
            count_stream(call.b_rtp.try_clone().unwrap(), sa, until),
            send_stream(call.b_rtp.try_clone().unwrap(), call.to_b_side, PACKETS, sb_),
            count_stream(call.a_rtp.try_clone().unwrap(), sb_, until),
        ));
    }
    std::thread::sleep(Duration::from_millis(500));

    // 300 new calls at 100 cps: five times max_cps, and far more than
    // max_calls would hold for a second each.
    let burst = Sipp::scenario("overload_uac.xml")
        .remote(&sb.sip_addr())
        .service("7000")
        .key("caller", "5552000")
        .calls(300)
        .rate(100.0)
        .timeout(Duration::from_secs(90))
        .run()
        .expect("burst");

    for (i, (sa, ra, sb_, rb)) in streams.into_iter().enumerate() {
        let (sent_ab, got_ab, sent_ba, got_ba) = (sa.join().unwrap(), ra.join().unwrap(), sb_.join().unwrap(), rb.join().unwrap());
        // Loopback loses nothing; allow the relay's latching of the first
        // packets and 2 % for scheduling on a busy test machine.
        for (dir, sent, got) in [("A→B", sent_ab, got_ab), ("B→A", sent_ba, got_ba)] {
            let floor = (u32::from(sent) * 98 / 100).saturating_sub(5);
            eprintln!("held call {i} {dir}: {got} of {sent} RTP packets");
            assert!(got >= floor, "held call {i} {dir}: {got} of {sent} RTP packets arrived during the burst");
            assert!(got <= u32::from(sent), "held call {i} {dir}: {got} > {sent}");
        }
    }

    let msgs = traced(&burst);
    let refused: Vec<&Traced> = msgs.iter().filter(|m| is_invite_response(m, 503)).collect();
    let answered = msgs.iter().filter(|m| is_invite_response(m, 200)).count();
    eprintln!("burst: {answered} answered, {} refused (503 received)", refused.len());
    assert!(!refused.is_empty(), "a burst at 5× max_cps got no 503\n{}", burst.diagnostics());
    assert!(answered > 0, "some calls of the burst were taken");
    for m in &refused {
        assert_eq!(m.header("retry-after"), Some(RETRY_AFTER), "every 503 carries Retry-After: {}", m.text);
    }
    assert_eq!(burst.failed(), 0, "every call either answered or refused with 503\n{}", burst.errors());
    let counted: f64 = ["max_calls", "max_cps", "backlog"]
        .iter()
        .filter_map(|l| metric(&sb, "switchboard_calls_refused_overload_total", &format!("limit=\"{l}\"")))
        .sum();
    // SIPp may see a retransmitted 503 twice; each refusal is one INVITE.
    let distinct: std::collections::HashSet<&str> = refused.iter().filter_map(|m| m.header("call-id")).collect();
    assert_eq!(counted as usize, distinct.len(), "/metrics counts every refused call once");

    // Memory: the refused calls left nothing behind worth mentioning.
    let rss_after = rss(&sb);
    eprintln!("RSS {rss_before} kB before the burst, {rss_after} kB after");
    assert!(rss_after < rss_before + 64 * 1024, "RSS grew from {rss_before} kB to {rss_after} kB over the burst");

    // The established calls are still there: their BYE is answered.
    assert!(sb.is_running());
    for (i, call) in held.iter_mut().enumerate() {
        let r = call.a.bye();
        assert_eq!(r.status(), Some(200), "held call {i} survived the burst: {}", r.first);
        let bye = call.b.wait_request("BYE", T).expect("the hangup reaches B");
        call.b.respond(&bye, 200, "OK", "");
    }

    // Recovery: the load is gone, a new call is taken.
    wait_active(&sb, 0.0);
    std::thread::sleep(Duration::from_millis(1100));
    let after = Sipp::scenario("overload_uac.xml").remote(&sb.sip_addr()).service("7000").key("caller", "5552000").calls(1).run().expect("call after");
    let msgs = traced(&after);
    assert!(msgs.iter().any(|m| is_invite_response(m, 200)), "a call after the burst is answered\n{}", after.diagnostics());
    assert!(!msgs.iter().any(|m| is_invite_response(m, 503)), "and not refused");
    assert!(sb.log().contains("overload: new calls refused with 503"), "a summary line was logged");
}

//! Tens of callers at once against the ACD (issue 5): 20 SIPp callers
//! (authenticated extension, RFC 3261 digest) hit a queue served by three
//! agents that are SIPp UAS instances registered as extensions and logged
//! in through the REST API. Every caller hangs up 3 s after the IVR answers,
//! so most abandon while a few are answered. Checked: every SIPp call
//! completes, the queue's statistics account for every caller exactly once
//! (answered + abandoned = joined = 20), each bridge is one agent call, no
//! agent is left ringing or on a call, and all media ports come back.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::ports;
use common::sipp::Sipp;
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(20);
const CALLERS: u32 = 20;

const PLAN: &str = r#"
[[entry]]
match = { did = "5000" }
context = "sales"
[context.sales]
steps = [{ app = "answer" }, { app = "queue", name = "sales" }, { app = "hangup", cause = 17 }]
"#;

fn http(port: u16, method: &str, path: &str, key: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(T)).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn twenty_callers_at_once_are_each_accounted_for_once() {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    std::fs::write(sb.dialplan_dir().join("acd.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    let out = sb.admin_ok(&["apikey", "add", "load", "--scope", "admin"]);
    let key = out.split_whitespace().find(|w| w.starts_with("sb_")).expect("key printed").to_string();
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "longest_idle", "--wrapup", "0", "--join-empty", "--no-leave-when-empty"]);

    // Three agents: SIPp UAS behind a registration of their extension.
    let mut uas = Vec::new();
    for i in 1..=3 {
        let ext = format!("280{i}");
        let secret = format!("secret-of-{ext}");
        sb.add_extension(&ext, &secret);
        let p = ports::alloc_sipp();
        let run = Sipp::scenario("register_auth.xml").remote(&sb.sip_addr()).ports(p).service(&ext).auth(&ext, &secret).calls(1).run().expect("register");
        run.expect_success(1).expect("agent phone registered");
        uas.push(Sipp::scenario("uas_carrier.xml").ports(p).calls(200).timeout(Duration::from_secs(120)).no_trace_msg().spawn().expect("agent UAS"));
        let id = format!("a{i}");
        sb.admin_ok(&["agent", "add", &id, "--name", &id, "--ext", &ext]);
        sb.admin_ok(&["queue", "member", "add", "sales", &id]);
    }
    // Logged in through the API once the ACD has synced the agents.
    let deadline = Instant::now() + T;
    for i in 1..=3 {
        loop {
            let (status, body) = http(sb.http_port, "POST", &format!("/api/v1/agents/a{i}/login"), &key);
            if status == 204 {
                break;
            }
            assert!(Instant::now() < deadline, "login a{i}: {status} {body}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    sb.add_extension("3801", "secret-of-3801");
    let callers = Sipp::scenario("call_ext_uac.xml")
        .ports(ports::alloc_sipp())
        .remote(&sb.sip_addr())
        .service("5000")
        .key("caller", "3801")
        .auth("3801", "secret-of-3801")
        .pause(Duration::from_secs(3))
        .calls(CALLERS)
        .rate(20.0)
        .limit(CALLERS)
        .timeout(Duration::from_secs(90))
        .no_trace_msg()
        .run()
        .expect("callers");
    callers.expect_success(u64::from(CALLERS)).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));

    // Every caller accounted for exactly once.
    let deadline = Instant::now() + T;
    let sales = loop {
        let (status, body) = http(sb.http_port, "GET", "/api/v1/stats", &key);
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let q = v["queues"].as_array().and_then(|q| q.iter().find(|q| q["name"] == "sales")).cloned().expect("sales");
        let settled = q["waiting"] == 0 && q["agents"]["on_call"] == 0 && q["agents"]["ringing"] == 0;
        if settled || Instant::now() > deadline {
            break q;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let n = |k: &str| sales[k].as_u64().unwrap_or(u64::MAX);
    assert_eq!(n("joined"), u64::from(CALLERS), "{sales}");
    assert_eq!(n("answered") + n("abandoned"), u64::from(CALLERS), "answered + abandoned = joined: {sales}");
    assert!(n("answered") >= 3, "every agent took calls: {sales}");
    assert_eq!(sales["waiting"], 0, "nobody left waiting: {sales}");
    assert_eq!(sales["agents"]["available"], 3, "no agent stuck ringing or on a call: {sales}");
    let bridged = sb.log().matches("agent answered: bridged").count() as u64;
    assert_eq!(bridged, n("answered"), "one bridge per answered caller");

    let deadline = Instant::now() + T;
    while !sb.rtp_ports_in_use().is_empty() {
        assert!(Instant::now() < deadline, "media ports still in use: {:?}", sb.rtp_ports_in_use());
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(uas);
}

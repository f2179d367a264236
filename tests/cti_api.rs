//! The program API of issue 5 against the real binary: API keys made with
//! the CLI guard `/api/v1/events` (WebSocket) and `/api/v1/stats`; an agent
//! logging in from a baresip phone shows up on the event stream (filtered
//! per agent), in the statistics and in `/metrics`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::switchboard::Switchboard;
use tungstenite::Message;

const T: Duration = Duration::from_secs(15);

const PLAN: &str = r#"
[[entry]]
match = { feature = "*41" }
context = "login"
[context.login]
steps = [{ app = "answer" }, { app = "agent", action = "login" }, { app = "hangup", cause = 16 }]
"#;

/// One HTTP/1.1 GET: (status, body).
fn http_get(port: u16, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect console");
    s.set_read_timeout(Some(T)).unwrap();
    let auth = bearer.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// One HTTP/1.1 POST without a body: the status.
fn http_post(port: u16, path: &str, bearer: Option<&str>) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect console");
    s.set_read_timeout(Some(T)).unwrap();
    let auth = bearer.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    write!(s, "POST {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

type Ws = tungstenite::WebSocket<TcpStream>;

/// Opens the event stream; the HTTP status on a refused handshake.
fn ws_connect(port: u16, query: &str) -> Result<Ws, u16> {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect console");
    match tungstenite::client(format!("ws://127.0.0.1:{port}/api/v1/events{query}"), s) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => Err(r.status().as_u16()),
        Err(e) => panic!("websocket handshake: {e}"),
    }
}

/// Text messages (parsed) received until `until` returns true or `wait`
/// passes.
fn ws_read_until(ws: &mut Ws, wait: Duration, until: impl Fn(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        ws.get_mut().set_read_timeout(Some(Duration::from_millis(250))).unwrap();
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_else(|e| panic!("event is JSON ({e}): {t}"));
                let done = until(&v);
                got.push(v);
                if done {
                    break;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("event stream broke: {e}"),
        }
    }
    got
}

/// The key printed by `apikey add` (the line after the note).
fn add_key(sb: &Switchboard, name: &str, scopes: &[&str]) -> String {
    let mut args = vec!["apikey", "add", name];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let out = sb.admin_ok(&args);
    assert!(out.contains("cannot be shown again"), "{out}");
    let key = out.lines().find(|l| l.starts_with("sb_")).unwrap_or_else(|| panic!("no key in: {out}")).trim().to_string();
    assert!(key.len() > 40, "{key}");
    key
}

/// Polls `/metrics` until it has `line` (the ACD syncs config every 3 s).
fn wait_metric(sb: &Switchboard, line: &str) -> String {
    let deadline = Instant::now() + T;
    loop {
        let (status, body) = http_get(sb.http_port, "/metrics", None);
        assert_eq!(status, 200, "{body}");
        if body.lines().any(|l| l == line) {
            return body;
        }
        assert!(Instant::now() < deadline, "never saw `{line}` in /metrics:\n{body}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn api_keys_guard_the_event_stream_and_stats() {
    let sb = Switchboard::start_with("").expect("start");
    assert!(sb.admin_ok(&["apikey", "list"]).lines().count() <= 1, "no default keys");
    let events = add_key(&sb, "screen", &["events"]);
    let stats = add_key(&sb, "wallboard", &["stats"]);
    let list = sb.admin_ok(&["apikey", "list"]);
    assert!(list.contains("screen") && list.contains(&events[..8]) && list.contains("wallboard"), "{list}");
    assert!(!list.contains(&events) && !list.contains(&stats), "keys are never listed: {list}");
    let bad = sb.admin(&["apikey", "add", "x", "--scope", "root"]);
    assert!(!bad.status.success(), "unknown scope refused");

    // No key, a wrong key, the wrong scope: refused before any upgrade.
    let (status, body) = http_get(sb.http_port, "/api/v1/events", None);
    assert_eq!(status, 401, "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).expect("JSON error")["error"].is_string(), "{body}");
    assert_eq!(ws_connect(sb.http_port, "").err(), Some(401));
    let mut wrong = events.clone();
    wrong.replace_range(10..12, if &events[10..12] == "AA" { "BB" } else { "AA" });
    assert_eq!(ws_connect(sb.http_port, &format!("?key={wrong}")).err(), Some(401));
    assert_eq!(ws_connect(sb.http_port, &format!("?key={stats}")).err(), Some(403));
    assert_eq!(http_get(sb.http_port, "/api/v1/stats", Some(&events)).0, 403);
    assert_eq!(http_get(sb.http_port, "/api/v1/stats", Some(&wrong)).0, 401);

    // The right key works, by query and by header.
    let mut ws = ws_connect(sb.http_port, &format!("?key={events}")).expect("events key accepted");
    ws.close(None).unwrap();
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all"]);
    let deadline = Instant::now() + T;
    let stats_json = loop {
        let (status, body) = http_get(sb.http_port, "/api/v1/stats", Some(&stats));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("stats JSON");
        if v["queues"].as_array().is_some_and(|q| q.iter().any(|q| q["name"] == "sales")) {
            break v;
        }
        assert!(Instant::now() < deadline, "queue never in stats: {body}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(stats_json["queues"][0]["waiting"], 0, "{stats_json}");
    assert!(stats_json["queues"][0]["agents"]["available"].is_u64(), "{stats_json}");
    let metrics = wait_metric(&sb, "switchboard_queue_waiting{queue=\"sales\"} 0");
    assert!(metrics.contains("# TYPE switchboard_active_calls gauge"), "{metrics}");
    assert!(metrics.lines().any(|l| l == "switchboard_acd_up 1"), "{metrics}");

    // `last used` is recorded; a removed key stops working.
    assert!(!sb.admin_ok(&["apikey", "list"]).lines().any(|l| l.starts_with("wallboard") && l.ends_with("never")));
    sb.admin_ok(&["apikey", "rm", "wallboard"]);
    assert_eq!(http_get(sb.http_port, "/api/v1/stats", Some(&stats)).0, 401);
}

#[test]
fn agent_login_is_streamed_per_agent_and_counted() {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    std::fs::write(sb.dialplan_dir().join("acd.toml"), PLAN).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    let key = add_key(&sb, "ops", &["admin"]);
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all"]);
    sb.add_extension("2001", "secret-of-2001");
    sb.admin_ok(&["agent", "add", "alice", "--ext", "2001"]);
    sb.admin_ok(&["agent", "add", "bob", "--ext", "2002"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "alice"]);
    // Both agents known to the ACD before the login (config sync: 3 s).
    wait_metric(&sb, "switchboard_agent_state{agent=\"bob\",state=\"logged_out\"} 1");

    let mut for_alice = ws_connect(sb.http_port, &format!("?key={key}&agent=alice")).expect("alice stream");
    let mut for_bob = ws_connect(sb.http_port, &format!("?key={key}&agent=bob")).expect("bob stream");

    let mut phone = Baresip::start(BaresipConfig::new("2001").registrar(&sb.sip_addr(), "2001", "secret-of-2001").answermode(AnswerMode::Auto))
        .expect("baresip");
    phone.wait_registered(T).expect("registered");
    phone.dial(&format!("sip:*41@{}", sb.sip_addr())).expect("dial *41");
    phone.wait_event("CALL_CLOSED", T).expect("login call ends");

    let metrics = wait_metric(&sb, "switchboard_agent_state{agent=\"alice\",state=\"available\"} 1");
    assert!(metrics.lines().any(|l| l == "switchboard_queue_agents{queue=\"sales\",state=\"available\"} 1"), "{metrics}");
    let (status, body) = http_get(sb.http_port, "/api/v1/stats", Some(&key));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("stats JSON");
    let sales = v["queues"].as_array().and_then(|q| q.iter().find(|q| q["name"] == "sales")).expect("sales in stats");
    assert_eq!(sales["agents"]["available"], 1, "{body}");
    // The stream is checked last: the ACD publishing agent state on the
    // CTI bus is the call layer's part.
    let is_alice_available = |v: &serde_json::Value| v["type"] == "agent_state" && v["agent"] == "alice" && v["state"] == "available";
    let got = ws_read_until(&mut for_alice, T, is_alice_available);
    assert!(got.iter().any(is_alice_available), "alice's stream: {got:?}\n{}", sb.log());
    assert!(got.iter().all(|v| v["agent"] == "alice"), "only alice's events: {got:?}");
    // bob's stream had the same time (and more) to receive alice's event.
    let other = ws_read_until(&mut for_bob, Duration::from_secs(2), |_| false);
    assert!(other.iter().all(|v| v["agent"] == "bob"), "bob's stream got others' events: {other:?}");

    let _ = for_alice.close(None);
    let _ = for_bob.close(None);
}

#[test]
fn the_agent_screen_pops_the_customer_record_while_the_phone_rings() {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    let queue_entry = "[[entry]]\nmatch = { did = \"5000\" }\ncontext = \"sales\"\n[context.sales]\nsteps = [{ app = \"answer\" }, { app = \"queue\", name = \"sales\" }]\n";
    std::fs::write(sb.dialplan_dir().join("acd.toml"), format!("{PLAN}{queue_entry}")).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    let key = add_key(&sb, "panel", &["events"]);
    sb.admin_ok(&["customer", "add", "--name", "Ann Lee", "--account", "778899", "--phone", "3601", "--field", "tier=gold"]);
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all"]);
    sb.add_extension("2601", "secret-of-2601");
    sb.admin_ok(&["agent", "add", "alice", "--ext", "2601"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "alice"]);
    // The agent answers by hand: the record must arrive while it rings.
    let mut agent = Baresip::start(BaresipConfig::new("2601").registrar(&sb.sip_addr(), "2601", "secret-of-2601").answermode(AnswerMode::Manual))
        .expect("baresip");
    agent.wait_registered(T).expect("registered");
    agent.dial(&format!("sip:*41@{}", sb.sip_addr())).expect("dial *41");
    agent.wait_event("CALL_CLOSED", T).expect("login call ends");
    wait_metric(&sb, "switchboard_agent_state{agent=\"alice\",state=\"available\"} 1");
    let mut panel = ws_connect(sb.http_port, &format!("?key={key}&agent=alice")).expect("panel stream");

    sb.add_extension("3601", "secret-of-3601");
    let mut caller = Baresip::start(BaresipConfig::new("3601").registrar(&sb.sip_addr(), "3601", "secret-of-3601").answermode(AnswerMode::Manual))
        .expect("baresip");
    caller.wait_registered(T).expect("registered");
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial the queue");
    let offered = |v: &serde_json::Value| v["type"] == "call_offered";
    let got = ws_read_until(&mut panel, T, offered);
    let pop = got.iter().find(|v| offered(v)).unwrap_or_else(|| panic!("no screen pop: {got:?}\n{}", sb.log()));
    assert_eq!(pop["call"]["customer"]["name"], "Ann Lee", "{pop}");
    assert_eq!(pop["call"]["customer"]["account"], "778899", "{pop}");
    assert_eq!(pop["call"]["customer"]["tier"], "gold", "{pop}");
    assert_eq!(pop["call"]["caller"], "3601");
    assert_eq!(pop["call"]["queue"], "sales");
    // Still ringing: the phone has not answered.
    agent.wait_event("CALL_INCOMING", T).expect("the agent's phone rings");
    agent.answer().expect("answer");
    let answered = |v: &serde_json::Value| v["type"] == "call_answered";
    let got = ws_read_until(&mut panel, T, answered);
    assert!(got.iter().any(answered), "answered event: {got:?}");
    // The agent's panel controls the call over REST (scope `calls`).
    let ops = add_key(&sb, "ops", &["calls"]);
    let call_id = pop["call"]["call_id"].as_str().expect("call id").to_string();
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/hold"), Some(&key)), 403, "events scope cannot control calls");
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/hold"), Some(&ops)), 204);
    sb.wait_log("call control action=Hold", T).expect("hold reached the call");
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/unhold"), Some(&ops)), 204);
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/recording/start"), Some(&ops)), 204);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/recording/stop"), Some(&ops)), 204);
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/recording/stop"), Some(&ops)), 409, "not recording any more");
    let recs = sb.admin_ok(&["recordings"]);
    assert!(recs.contains(&call_id), "the recording is listed with the call: {recs}");
    assert_eq!(http_post(sb.http_port, "/api/v1/calls/no-such-call/hangup", Some(&ops)), 404);
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/hangup"), Some(&ops)), 204);
    caller.wait_event("CALL_CLOSED", T).expect("the API hung the caller up");
    let ended = |v: &serde_json::Value| v["type"] == "call_ended";
    let got = ws_read_until(&mut panel, T, ended);
    assert!(got.iter().any(ended), "ended event: {got:?}");
    // Wrap-up: disposition and notes on the call record; the agent pauses from the panel.
    assert_eq!(http_post(sb.http_port, &format!("/api/v1/calls/{call_id}/disposition?code=sale&notes=renewed%20contract"), Some(&ops)), 204);
    assert_eq!(http_post(sb.http_port, "/api/v1/calls/unknown/disposition?code=sale", Some(&ops)), 404);
    assert_eq!(http_post(sb.http_port, "/api/v1/agents/alice/pause?reason=coffee", Some(&ops)), 204);
    wait_metric(&sb, "switchboard_agent_state{agent=\"alice\",state=\"paused\"} 1");
    let _ = panel.close(None);
}

/// A one-shot CRM on loopback: answers the first request with `body` and
/// hands back the request line it got.
fn fake_crm(body: &'static str) -> (u16, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else { return };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string();
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        let _ = tx.send(head);
    });
    (port, rx)
}

#[test]
fn an_unknown_caller_pops_the_record_the_crm_webhook_returns() {
    let (crm_port, asked) = fake_crm(r#"{"name":"Bo Crm","account":"A-17","vip":true}"#);
    let mut sb = Switchboard::start_with(&format!(
        "[media]\nprompts_dir = \"{}/prompts\"\n[cti]\ncrm_url = \"http://127.0.0.1:{crm_port}/lookup\"\n",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("start");
    let queue_entry = "[[entry]]\nmatch = { did = \"5000\" }\ncontext = \"sales\"\n[context.sales]\nsteps = [{ app = \"answer\" }, { app = \"queue\", name = \"sales\" }]\n";
    std::fs::write(sb.dialplan_dir().join("acd.toml"), format!("{PLAN}{queue_entry}")).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    let key = add_key(&sb, "panel", &["events"]);
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all"]);
    sb.add_extension("2602", "secret-of-2602");
    sb.admin_ok(&["agent", "add", "bob", "--ext", "2602"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "bob"]);
    let mut agent = Baresip::start(BaresipConfig::new("2602").registrar(&sb.sip_addr(), "2602", "secret-of-2602").answermode(AnswerMode::Manual))
        .expect("baresip");
    agent.wait_registered(T).expect("registered");
    agent.dial(&format!("sip:*41@{}", sb.sip_addr())).expect("dial *41");
    agent.wait_event("CALL_CLOSED", T).expect("login call ends");
    wait_metric(&sb, "switchboard_agent_state{agent=\"bob\",state=\"available\"} 1");
    let mut panel = ws_connect(sb.http_port, &format!("?key={key}&agent=bob")).expect("panel stream");

    // 3602 is in no customers table: only the CRM knows it.
    sb.add_extension("3602", "secret-of-3602");
    let mut caller = Baresip::start(BaresipConfig::new("3602").registrar(&sb.sip_addr(), "3602", "secret-of-3602").answermode(AnswerMode::Manual))
        .expect("baresip");
    caller.wait_registered(T).expect("registered");
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial the queue");
    let request = asked.recv_timeout(T).unwrap_or_else(|_| panic!("the CRM was never asked\n{}", sb.log()));
    assert!(request.starts_with("GET /lookup?"), "{request}");
    for part in ["caller=3602", "did=5000", "queue=sales"] {
        assert!(request.contains(part), "{part} missing from {request}");
    }
    let offered = |v: &serde_json::Value| v["type"] == "call_offered";
    let got = ws_read_until(&mut panel, T, offered);
    let pop = got.iter().find(|v| offered(v)).unwrap_or_else(|| panic!("no screen pop: {got:?}\n{}", sb.log()));
    assert_eq!(pop["call"]["customer"]["name"], "Bo Crm", "{pop}");
    assert_eq!(pop["call"]["customer"]["account"], "A-17", "{pop}");
    assert_eq!(pop["call"]["customer"]["source"], "crm", "{pop}");
    agent.wait_event("CALL_INCOMING", T).expect("the agent's phone rings");
    caller.hangup().expect("hang up");
    let _ = panel.close(None);
}

//! The admin API (`/api/v1/queues`, `/agents`, `/skills`, `/customers`)
//! against the real binary: what the API writes the CLI lists and the other
//! way round, the running ACD picks up API-made queues and members (seen
//! in `/api/v1/stats`), CSV import reports bad lines by number, and keys,
//! unknown ids and bad fields get 401/403, 404 and 4xx naming the field.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::switchboard::Switchboard;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(15);

/// One HTTP/1.1 request: (status, body). `body` is sent with `ctype`.
fn http(port: u16, method: &str, path: &str, key: Option<&str>, ctype: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect console");
    s.set_read_timeout(Some(T)).unwrap();
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let ctype = if body.is_empty() { String::new() } else { format!("Content-Type: {ctype}\r\n") };
    write!(s, "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}{ctype}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A JSON request that must answer `want`; the parsed body (null if empty).
fn call(sb: &Switchboard, key: &str, method: &str, path: &str, body: Option<Value>, want: u16) -> Value {
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, resp) = http(sb.http_port, method, path, Some(key), "application/json", &text);
    assert_eq!(status, want, "{method} {path} {text}: {resp}");
    if resp.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&resp).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {resp}"))
    }
}

/// The key printed by `apikey add`.
fn add_key(sb: &Switchboard, name: &str, scope: &str) -> String {
    let out = sb.admin_ok(&["apikey", "add", name, "--scope", scope]);
    out.lines().find(|l| l.starts_with("sb_")).unwrap_or_else(|| panic!("no key in: {out}")).trim().to_string()
}

/// The table row of a CLI listing whose first column is `key`.
fn row(list: &str, key: &str) -> Option<String> {
    list.lines().find(|l| l.split_whitespace().next() == Some(key)).map(String::from)
}

/// Polls `/api/v1/stats` until `check` holds for the queue `name` (or its
/// absence); the ACD re-reads the store every 3 s.
fn wait_stats(sb: &Switchboard, key: &str, name: &str, check: impl Fn(Option<&Value>) -> bool) {
    let deadline = Instant::now() + T;
    loop {
        let (status, body) = http(sb.http_port, "GET", "/api/v1/stats", Some(key), "", "");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("stats JSON");
        let q = v["queues"].as_array().and_then(|qs| qs.iter().find(|q| q["name"] == name));
        if check(q) {
            return;
        }
        assert!(Instant::now() < deadline, "stats never matched for queue {name}: {body}\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn queues_agents_skills_members_through_api_and_cli() {
    let sb = Switchboard::start_with("").expect("start");
    let admin = add_key(&sb, "provisioning", "admin");
    let wall = add_key(&sb, "wallboard", "stats");
    let port = sb.http_port;

    // Keys: none, wrong scope, right scope.
    assert_eq!(http(port, "GET", "/api/v1/queues", None, "", "").0, 401);
    assert_eq!(http(port, "GET", "/api/v1/queues", Some(&wall), "", "").0, 403);
    assert_eq!(http(port, "POST", "/api/v1/agents", Some(&wall), "application/json", r#"{"id":"x"}"#).0, 403);

    // A queue made through the API, every option the CLI has.
    let q = call(&sb, &admin, "POST", "/api/v1/queues", Some(json!({
        "name": "sales", "strategy": "skills", "ring_timeout_secs": 15, "retry_delay_secs": 0, "wrapup_secs": 30,
        "max_wait_secs": 600, "max_callers": 25, "join_empty": true, "leave_when_empty": false, "moh_class": "jazz",
        "announce_every_secs": 0, "service_level_secs": 45, "overflow": "voicemail:600", "skill_relax": "30:1,60:2",
        "callback_key": "*", "callback_attempts": 5, "callback_retry_secs": 300
    })), 201);
    assert_eq!((q["strategy"].as_str(), q["max_callers"].as_i64(), q["callback_key"].as_str()), (Some("skills"), Some(25), Some("*")), "{q}");
    let list = sb.admin_ok(&["queue", "list"]);
    let sales = row(&list, "sales").unwrap_or_else(|| panic!("CLI sees the API's queue: {list}"));
    for want in ["skills", " 600 ", " 25 ", "jazz", "voicemail:600", "30:1,60:2", "key *, 5 x 300s"] {
        assert!(sales.contains(want), "{want:?} in {sales}");
    }
    call(&sb, &admin, "POST", "/api/v1/queues", Some(json!({"name": "sales", "strategy": "ring_all"})), 409);

    // The ACD picks the new queue up (its sync from the store).
    wait_stats(&sb, &wall, "sales", |q| q.is_some());

    // `PUT` is `queue set`: given fields change, null/0/"none" clear.
    let q = call(&sb, &admin, "PUT", "/api/v1/queues/sales", Some(json!({"strategy": "round_robin", "max_wait_secs": null, "overflow": "none"})), 200);
    assert_eq!((q["strategy"].as_str(), &q["max_wait_secs"], &q["overflow"], q["wrapup_secs"].as_i64()), (Some("round_robin"), &Value::Null, &Value::Null, Some(30)), "{q}");
    let sales = row(&sb.admin_ok(&["queue", "list"]), "sales").unwrap_or_default();
    assert!(sales.contains("round_robin") && !sales.contains("voicemail:600"), "{sales}");
    let e = call(&sb, &admin, "PUT", "/api/v1/queues/sales", Some(json!({"ring_timeout_secs": 0})), 422);
    assert_eq!(e["field"], "ring_timeout_secs", "{e}");
    assert!(e["error"].as_str().is_some_and(|m| m.contains("ring timeout must be 1 to 600")), "the CLI's message: {e}");
    let e = call(&sb, &admin, "PUT", "/api/v1/queues/sales", Some(json!({"wrapup_secs": "long"})), 400);
    assert_eq!(e["field"], "wrapup_secs", "{e}");
    let e = call(&sb, &admin, "PUT", "/api/v1/queues/sales", Some(json!({"ringtimeout": 5})), 400);
    assert!(e["error"].as_str().is_some_and(|m| m.contains("ringtimeout")), "{e}");
    call(&sb, &admin, "GET", "/api/v1/queues/nope", None, 404);
    call(&sb, &admin, "PUT", "/api/v1/queues/nope", Some(json!({})), 404);

    // CLI-made rows show in the API.
    sb.admin_ok(&["queue", "add", "support", "--strategy", "linear", "--max-wait", "90"]);
    sb.admin_ok(&["agent", "add", "bob", "--name", "Bob", "--ext", "2001"]);
    sb.admin_ok(&["agent", "skill", "bob", "billing", "4"]);
    sb.admin_ok(&["queue", "member", "add", "support", "bob", "--penalty", "2"]);
    let support = call(&sb, &admin, "GET", "/api/v1/queues/support", None, 200);
    assert_eq!((support["strategy"].as_str(), support["max_wait_secs"].as_i64()), (Some("linear"), Some(90)), "{support}");
    assert_eq!(support["members"], json!([{"agent": "bob", "penalty": 2}]));
    let names: Vec<Value> = call(&sb, &admin, "GET", "/api/v1/queues", None, 200)["queues"].as_array().unwrap().iter().map(|q| q["name"].clone()).collect();
    assert_eq!(names, [json!("sales"), json!("support")]);
    let bob = call(&sb, &admin, "GET", "/api/v1/agents/bob", None, 200);
    assert_eq!((bob["name"].as_str(), &bob["skills"], &bob["queues"]), (Some("Bob"), &json!({"billing": 4}), &json!([{"queue": "support", "penalty": 2}])), "{bob}");

    // An agent, a skill and a membership through the API; the CLI sees them.
    let e = call(&sb, &admin, "POST", "/api/v1/agents", Some(json!({"id": "alice", "extensions": ["2001"]})), 409);
    assert!(e["error"].as_str().is_some_and(|m| m.contains("already belongs to agent bob")), "{e}");
    let e = call(&sb, &admin, "POST", "/api/v1/agents", Some(json!({"id": "alice", "extensions": ["10a"]})), 422);
    assert_eq!(e["field"], "extensions", "{e}");
    let a = call(&sb, &admin, "POST", "/api/v1/agents", Some(json!({"id": "alice", "name": "Alice Liddell", "extensions": ["1001", "1002"]})), 201);
    assert_eq!((a["state"].as_str(), a["no_answer_limit"].as_i64()), (Some("logged_out"), Some(3)), "{a}");
    call(&sb, &admin, "PUT", "/api/v1/agents/alice/skills/spanish", Some(json!({"proficiency": 8})), 200);
    let e = call(&sb, &admin, "PUT", "/api/v1/agents/alice/skills/spanish", Some(json!({"proficiency": 11})), 422);
    assert_eq!(e["field"], "proficiency", "{e}");
    call(&sb, &admin, "PUT", "/api/v1/agents/nobody/skills/spanish", Some(json!({"proficiency": 5})), 404);
    call(&sb, &admin, "POST", "/api/v1/queues/sales/members/alice", Some(json!({"penalty": 1})), 200);
    call(&sb, &admin, "POST", "/api/v1/queues/sales/members/carol", None, 404);
    let a = call(&sb, &admin, "PUT", "/api/v1/agents/alice", Some(json!({"extensions": ["1003"], "no_answer_limit": 0})), 200);
    assert_eq!((&a["extensions"], a["name"].as_str()), (&json!(["1003"]), Some("Alice Liddell")), "{a}");
    let alice = row(&sb.admin_ok(&["agent", "list"]), "alice").unwrap_or_default();
    for want in ["Alice Liddell", "1003", "logged_out", "sales(1)", "spanish=8"] {
        assert!(alice.contains(want), "{want:?} in {alice}");
    }
    let members = sb.admin_ok(&["queue", "members", "sales"]);
    assert!(row(&members, "alice").is_some_and(|r| r.contains(" 1 ")), "{members}");
    let skills = call(&sb, &admin, "GET", "/api/v1/skills", None, 200);
    assert_eq!(skills["skills"].as_array().map(|s| s.iter().map(|s| s["skill"].clone()).collect::<Vec<_>>()), Some(vec![json!("billing"), json!("spanish")]), "{skills}");

    // The ACD sees the API-made member (logged out, so not available).
    wait_stats(&sb, &wall, "sales", |q| q.is_some_and(|q| q["agents"]["logged_out"] == 1));
    // Agent state stays on its own route, beside the configuration ones.
    let (status, body) = http(port, "POST", "/api/v1/agents/alice/dance", Some(&admin), "", "");
    assert_eq!(status, 404, "{body}");

    // Removal through the API, seen by the CLI and the ACD; and the CLI's
    // removal of what the API made.
    call(&sb, &admin, "DELETE", "/api/v1/agents/alice/skills/spanish", None, 204);
    call(&sb, &admin, "DELETE", "/api/v1/agents/alice/skills/spanish", None, 404);
    call(&sb, &admin, "DELETE", "/api/v1/queues/sales/members/alice", None, 204);
    assert!(row(&sb.admin_ok(&["queue", "members", "sales"]), "alice").is_none());
    call(&sb, &admin, "DELETE", "/api/v1/agents/alice", None, 204);
    call(&sb, &admin, "GET", "/api/v1/agents/alice", None, 404);
    assert!(row(&sb.admin_ok(&["agent", "list"]), "alice").is_none());
    call(&sb, &admin, "DELETE", "/api/v1/queues/sales", None, 204);
    call(&sb, &admin, "DELETE", "/api/v1/queues/sales", None, 404);
    assert!(row(&sb.admin_ok(&["queue", "list"]), "sales").is_none());
    wait_stats(&sb, &wall, "sales", |q| q.is_none());
    sb.admin_ok(&["agent", "rm", "bob"]);
    call(&sb, &admin, "GET", "/api/v1/agents/bob", None, 404);
    assert_eq!(call(&sb, &admin, "GET", "/api/v1/queues/support", None, 200)["members"], json!([]));
}

#[test]
fn customers_and_csv_import_through_api_and_cli() {
    let sb = Switchboard::start_with("").expect("start");
    let admin = add_key(&sb, "crm", "admin");
    let calls = add_key(&sb, "panel", "calls");
    let port = sb.http_port;
    let csv = "name,account,phones,tags,notes,balance\n\
               Ann Example,1234,+1 (555) 123-4567;1001,vip,\"likes \"\"email\"\"\",42.17\n\
               ,999,,,,\n\
               Bob,,555 0100,,,\n\
               Cy,12 34,,,,\n";
    assert_eq!(http(port, "POST", "/api/v1/customers/import", None, "text/csv", csv).0, 401);
    assert_eq!(http(port, "POST", "/api/v1/customers/import", Some(&calls), "text/csv", csv).0, 403);
    assert_eq!(http(port, "POST", "/api/v1/customers/import", Some(&admin), "application/json", csv).0, 415);
    let (status, body) = http(port, "POST", "/api/v1/customers/import", Some(&admin), "text/csv", csv);
    assert_eq!(status, 200, "{body}");
    let r: Value = serde_json::from_str(&body).expect("import JSON");
    assert_eq!((r["imported"].as_u64(), r["updated"].as_u64(), r["rejected"].as_u64()), (Some(2), Some(0), Some(2)), "{body}");
    let lines: Vec<u64> = r["errors"].as_array().unwrap().iter().filter_map(|e| e["line"].as_u64()).collect();
    assert_eq!(lines, [3, 5], "{body}");
    assert!(r["errors"][1]["error"].as_str().is_some_and(|e| e.contains("account")), "{body}");
    let (status, body) = http(port, "POST", "/api/v1/customers/import", Some(&admin), "text/csv", "account\n1\n");
    assert!(status == 422 && body.contains("nothing imported"), "{body}");

    // The CLI lists what the API imported; the API finds what the CLI adds.
    let list = sb.admin_ok(&["customer", "list"]);
    assert!(list.contains("Ann Example") && list.contains("+15551234567") && list.contains("balance=42.17"), "{list}");
    sb.admin_ok(&["customer", "add", "--name", "Dee", "--account", "D-1", "--phone", "555 0199", "--field", "plan=gold"]);
    let page = call(&sb, &admin, "GET", "/api/v1/customers?q=dee", None, 200);
    assert_eq!((page["total"].as_i64(), page["customers"][0]["fields"]["plan"].as_str()), (Some(1), Some("gold")), "{page}");
    let page = call(&sb, &admin, "GET", "/api/v1/customers?phone=%2B44%20555%20123%204567", None, 200);
    assert_eq!(page["customers"][0]["name"], "Ann Example", "same last 10 digits: {page}");
    let page = call(&sb, &admin, "GET", "/api/v1/customers?limit=2&offset=1", None, 200);
    assert_eq!((page["total"].as_i64(), page["customers"].as_array().map(Vec::len)), (Some(3), Some(2)), "{page}");
    let e = call(&sb, &admin, "GET", "/api/v1/customers?limit=5000", None, 422);
    assert_eq!(e["field"], "limit", "{e}");

    // Create, change, remove through the API.
    let c = call(&sb, &admin, "POST", "/api/v1/customers", Some(json!({"name": "Eve", "phones": ["555-0142"], "tags": "new"})), 201);
    let id = c["id"].as_i64().expect("id");
    call(&sb, &admin, "POST", "/api/v1/customers", Some(json!({"name": "Dup", "account": "1234"})), 409);
    let e = call(&sb, &admin, "POST", "/api/v1/customers", Some(json!({"name": "X", "phones": ["none"]})), 422);
    assert_eq!(e["field"], "phones", "{e}");
    let e = call(&sb, &admin, "POST", "/api/v1/customers", Some(json!({"phones": ["5550000"]})), 422);
    assert_eq!(e["field"], "name", "{e}");
    let c = call(&sb, &admin, "PUT", &format!("/api/v1/customers/{id}"), Some(json!({"account": "E-5", "notes": "prefers mornings"})), 200);
    assert_eq!((c["tags"].as_str(), c["phones"][0].as_str()), (Some("new"), Some("5550142")), "kept: {c}");
    assert!(row(&sb.admin_ok(&["customer", "list"]), &id.to_string()).is_some_and(|r| r.contains("E-5")));
    call(&sb, &admin, "GET", "/api/v1/customers/9999", None, 404);
    call(&sb, &admin, "PUT", "/api/v1/customers/9999", Some(json!({"notes": "x"})), 404);
    call(&sb, &admin, "DELETE", &format!("/api/v1/customers/{id}"), None, 204);
    call(&sb, &admin, "GET", &format!("/api/v1/customers/{id}"), None, 404);
    assert!(row(&sb.admin_ok(&["customer", "list"]), &id.to_string()).is_none());
}

//! The REST API for what the console does (extensions, trunks, users and
//! the audit log, API keys, dialplans, prompts, call records and
//! recordings, voicemail, settings, restart, backup and restore, the
//! dashboard) against the real binary: every route refuses no credential
//! (401), a key or session without its scope (403: agents, supervisors on
//! admin routes, keys of another scope) and a session write without the
//! CSRF token (403); malformed JSON is a 400 saying why, a bad value a 422
//! naming its field; each change shows where the console, the CLI or the
//! file system see it and lands in the audit log with the key as actor;
//! hostile filter text matches nothing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::http::{form, request};
use common::switchboard::Switchboard;
use serde_json::{json, Value};
use switchboard::store::{LegQualityRow, NewVoicemail, RecordingSummary, Store};

const PW: &str = "a long passphrase";

/// An answer with its body as bytes (audio, archives).
struct R {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl R {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The `field` of an error body.
    fn field(&self) -> String {
        self.json()["field"].as_str().unwrap_or_default().to_string()
    }
}

/// One HTTP/1.1 request (bodies are never chunked here).
fn send(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> R {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("{method} {path}: no answer"));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    R { status, headers, body: raw[split + 4..].to_vec() }
}

/// Who sends a request: an API key, or a console session (with or
/// without its CSRF token).
#[derive(Clone)]
enum Who {
    Nobody,
    Key(String),
    Session { cookie: String, csrf: Option<String> },
}

struct App {
    sb: Switchboard,
    /// The `admin` key `prov` (audit actor `apikey:prov`).
    key: String,
    root: Who,
    sam: Who,
    ann: Who,
    prompts: tempfile::TempDir,
}

impl App {
    /// An appliance with admin `root`, supervisor `sam`, agent `ann`, the
    /// admin key `prov` and prompts in a folder of the test's own.
    fn start() -> App {
        let prompts = tempfile::tempdir().unwrap();
        let sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}\"\nlanguage = \"en\"\n", prompts.path().display())).expect("start");
        let out = sb.admin_ok(&["setup-link"]);
        let link = out[out.find("/setup/").expect("setup link")..].trim().to_string();
        let made = request(sb.http_port, "POST", &link, &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", "root"), ("password", PW), ("confirm", PW)]));
        assert_eq!(made.status, 303, "{made:?}");
        for args in [&["user", "add", "sam", "--role", "supervisor"][..], &["user", "add", "ann", "--role", "agent", "--agent", "ann"]] {
            let out = sb.admin_stdin(args, &format!("{PW}\n"));
            assert!(out.status.success(), "{out:?}");
        }
        let key = sb.admin_api_key("prov");
        let login = |user: &str, page: &str| {
            let r = request(sb.http_port, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", user), ("password", PW), ("next", "")]));
            assert_eq!(r.status, 303, "login {user}: {r:?}");
            let cookie = format!("sb_session={}", r.set_cookie("sb_session").expect("cookie").0);
            let csrf = request(sb.http_port, "GET", page, &[("Cookie", &cookie)], b"").csrf_token();
            Who::Session { cookie, csrf: Some(csrf) }
        };
        let (root, sam, ann) = (login("root", "/"), login("sam", "/"), login("ann", "/agent"));
        App { sb, key, root, sam, ann, prompts }
    }

    fn req(&self, who: &Who, method: &str, path: &str, ctype: &str, body: &[u8]) -> R {
        let mut h: Vec<(&str, String)> = Vec::new();
        match who {
            Who::Nobody => {}
            Who::Key(k) => h.push(("Authorization", format!("Bearer {k}"))),
            Who::Session { cookie, csrf } => {
                h.push(("Cookie", cookie.clone()));
                if let Some(t) = csrf {
                    h.push(("X-CSRF-Token", t.clone()));
                }
            }
        }
        if !ctype.is_empty() {
            h.push(("Content-Type", ctype.to_string()));
        }
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        send(self.sb.http_port, method, path, &h, body)
    }

    /// A request with the admin key and a JSON body (none for `Null`).
    fn api(&self, method: &str, path: &str, body: Value) -> R {
        let text = if body.is_null() { String::new() } else { body.to_string() };
        self.req(&Who::Key(self.key.clone()), method, path, "application/json", text.as_bytes())
    }

    /// `api`, insisting on `want`.
    fn ok(&self, method: &str, path: &str, body: Value, want: u16) -> R {
        let r = self.api(method, path, body);
        assert_eq!(r.status, want, "{method} {path}: {}", r.text());
        r
    }

    fn key_with(&self, name: &str, scope: &str) -> Who {
        let out = self.sb.admin_ok(&["apikey", "add", name, "--scope", scope]);
        Who::Key(out.split_whitespace().find(|w| w.starts_with("sb_")).expect("key printed").to_string())
    }

    /// The audit log's entries (newest first) for `query`.
    fn audit(&self, query: &str) -> Value {
        self.ok("GET", &format!("/api/v1/audit?{query}"), Value::Null, 200).json()
    }
}

fn without_token(who: &Who) -> Who {
    match who {
        Who::Session { cookie, .. } => Who::Session { cookie: cookie.clone(), csrf: None },
        other => other.clone(),
    }
}

const ADMIN: &[(&str, &str)] = &[
    ("GET", "/api/v1/extensions"),
    ("POST", "/api/v1/extensions"),
    ("GET", "/api/v1/extensions/2001"),
    ("PUT", "/api/v1/extensions/2001"),
    ("DELETE", "/api/v1/extensions/2001"),
    ("POST", "/api/v1/extensions/2001/secret"),
    ("GET", "/api/v1/trunks"),
    ("POST", "/api/v1/trunks"),
    ("GET", "/api/v1/trunks/carrier"),
    ("PUT", "/api/v1/trunks/carrier"),
    ("DELETE", "/api/v1/trunks/carrier"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/1"),
    ("PUT", "/api/v1/users/1"),
    ("DELETE", "/api/v1/users/1"),
    ("PUT", "/api/v1/users/1/password"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/apikeys"),
    ("POST", "/api/v1/apikeys"),
    ("DELETE", "/api/v1/apikeys/nokey"),
    ("GET", "/api/v1/dialplans"),
    ("GET", "/api/v1/dialplans/simulate?did=100"),
    ("GET", "/api/v1/dialplans/main.toml"),
    ("PUT", "/api/v1/dialplans/main.toml"),
    ("DELETE", "/api/v1/dialplans/main.toml"),
    ("POST", "/api/v1/dialplans/main.toml/validate"),
    ("GET", "/api/v1/prompts"),
    ("GET", "/api/v1/prompts/en/x.wav"),
    ("PUT", "/api/v1/prompts/en/x.wav"),
    ("DELETE", "/api/v1/prompts/en/x.wav"),
    ("GET", "/api/v1/mailboxes"),
    ("POST", "/api/v1/mailboxes"),
    ("DELETE", "/api/v1/mailboxes/600"),
    ("GET", "/api/v1/mailboxes/600/messages"),
    ("GET", "/api/v1/voicemail/1/audio"),
    ("POST", "/api/v1/voicemail/1/heard"),
    ("DELETE", "/api/v1/voicemail/1"),
    ("GET", "/api/v1/settings"),
    ("PUT", "/api/v1/settings"),
    ("POST", "/api/v1/restart"),
    ("GET", "/api/v1/backup/restore"),
    ("POST", "/api/v1/backup/restore"),
    ("DELETE", "/api/v1/backup/restore"),
    ("GET", "/api/v1/backup"),
];

/// What the console shows supervisors.
const STATS: &[(&str, &str)] = &[("GET", "/api/v1/call-records"), ("GET", "/api/v1/call-records/export"), ("GET", "/api/v1/recordings/1/audio"), ("GET", "/api/v1/dashboard")];

#[test]
fn every_route_checks_credential_scope_and_csrf() {
    let app = App::start();
    let calls = app.key_with("panel", "calls");
    let stats = app.key_with("wall", "stats");
    let lacks = |r: &R| r.status == 403 && r.text().contains("lacks the");
    for (method, path) in ADMIN.iter().chain(STATS) {
        let what = format!("{method} {path}");
        let admin_route = ADMIN.contains(&(method, path));
        let r = app.req(&Who::Nobody, method, path, "", b"");
        assert_eq!(r.status, 401, "{what}: {}", r.text());
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{what}");
        assert!(lacks(&app.req(&calls, method, path, "", b"")), "{what}: a calls key");
        assert!(lacks(&app.req(&app.ann, method, path, "", b"")), "{what}: an agent's session");
        let r = app.req(&stats, method, path, "", b"");
        assert_eq!(lacks(&r), admin_route, "{what}: a stats key: {} {}", r.status, r.text());
        let r = app.req(&app.sam, method, path, "", b"");
        assert_eq!(lacks(&r), admin_route, "{what}: a supervisor: {} {}", r.status, r.text());
        if *method != "GET" {
            let r = app.req(&without_token(&app.root), method, path, "", b"");
            assert!(r.status == 403 && r.text().contains("CSRF"), "{what}: a session without the CSRF token: {} {}", r.status, r.text());
            let r = app.req(&app.root, method, path, "", b"");
            assert!(![401, 403].contains(&r.status), "{what}: the admin's session with its token: {} {}", r.status, r.text());
        }
        // Refusals are JSON with `error`.
        assert!(app.req(&Who::Nobody, method, path, "", b"").json()["error"].is_string(), "{what}");
    }
    // A session with its token works like a key; nobody removes themselves.
    let me = app.req(&app.root, "DELETE", "/api/v1/users/1", "", b"");
    assert!(me.status == 422 && me.text().contains("yourself"), "{}", me.text());
    let r = app.req(&app.root, "POST", "/api/v1/extensions", "application/json", br#"{"number":"3001","name":"Lobby"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(app.audit("action=extension.create")["entries"][0]["actor"], "root", "a session's user is the actor");
    // Supervisors read what the console shows them.
    for path in ["/api/v1/call-records", "/api/v1/dashboard"] {
        assert_eq!(app.req(&app.sam, "GET", path, "", b"").status, 200, "{path}");
    }

    // Malformed JSON says why; a wrong type or unknown field is named.
    for (method, path) in [("POST", "/api/v1/extensions"), ("POST", "/api/v1/users"), ("PUT", "/api/v1/settings"), ("POST", "/api/v1/trunks"), ("PUT", "/api/v1/trunks/x"), ("PUT", "/api/v1/dialplans/x.toml")] {
        let r = app.req(&Who::Key(app.key.clone()), method, path, "application/json", b"{");
        assert!(r.status == 400 && r.json()["error"].as_str().is_some_and(|e| e.contains("EOF")), "{method} {path}: {} {}", r.status, r.text());
        let r = app.req(&Who::Key(app.key.clone()), method, path, "application/json", br#"{"bogus_field": 1}"#);
        assert!(r.status == 400 && r.text().contains("unknown field `bogus_field`"), "{method} {path}: {}", r.text());
        let r = app.req(&Who::Key(app.key.clone()), method, path, "text/plain", b"{}");
        assert_eq!(r.status, 415, "{method} {path}");
    }
    let r = app.api("PUT", "/api/v1/settings", json!({"rtp_port_min": "low"}));
    assert_eq!((r.status, r.field().as_str()), (400, "rtp_port_min"), "{}", r.text());
    let r = app.api("PUT", "/api/v1/extensions/3001", json!({"name": 5}));
    assert_eq!((r.status, r.field().as_str()), (400, "name"), "{}", r.text());
}

#[test]
fn extensions_trunks_users_and_keys() {
    let app = App::start();

    // Extensions: a made secret returned once, the CLI sees the row.
    let r = app.ok("POST", "/api/v1/extensions", json!({"number": "2001", "name": "Front desk"}), 201);
    assert_eq!((r.header("cache-control"), r.header("location")), (Some("no-store"), Some("/api/v1/extensions/2001")));
    let v = r.json();
    let secret = v["secret"].as_str().expect("a made secret").to_string();
    assert!(secret.len() >= 16 && v["extension"]["registrations"] == json!([]), "{v}");
    let list = app.sb.admin_ok(&["extension", "list"]);
    assert!(list.lines().any(|l| l.starts_with("2001") && l.contains("Front desk")), "{list}");
    let given = app.ok("POST", "/api/v1/extensions", json!({"number": "2002", "secret": "a good secret"}), 201).json();
    assert_eq!(given["secret"], Value::Null, "a given secret is not echoed");
    assert!(app.api("POST", "/api/v1/extensions", json!({"number": "2001"})).status == 409);
    let r = app.api("POST", "/api/v1/extensions", json!({"number": "20a1", "secret": "short", "codecs": "PCMU,NOPE"}));
    assert_eq!((r.status, r.field().as_str()), (422, "number"), "{}", r.text());
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains("secret:") && e.contains("codecs:"), "every problem: {e}");
    let x = app.ok("PUT", "/api/v1/extensions/2001", json!({"codecs": "PCMA"}), 200).json();
    assert_eq!((x["name"].as_str(), x["codecs"].as_str()), (Some("Front desk"), Some("PCMA")), "name kept: {x}");
    assert_eq!(app.api("PUT", "/api/v1/extensions/2001", json!({"codecs": "NOPE"})).field(), "codecs");
    assert_eq!(app.ok("PUT", "/api/v1/extensions/2001", json!({"codecs": null}), 200).json()["codecs"], Value::Null);
    assert_eq!(app.api("PUT", "/api/v1/extensions/2999", json!({})).status, 404);
    let r = app.ok("POST", "/api/v1/extensions/2001/secret", Value::Null, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_ne!(r.json()["secret"].as_str(), Some(secret.as_str()));
    assert_eq!(app.api("POST", "/api/v1/extensions/2999/secret", Value::Null).status, 404);
    assert!(!app.ok("GET", "/api/v1/extensions", Value::Null, 200).text().contains("ha1"), "no digests");
    app.ok("DELETE", "/api/v1/extensions/2001", Value::Null, 204);
    app.ok("GET", "/api/v1/extensions/2001", Value::Null, 404);
    assert!(!app.sb.admin_ok(&["extension", "list"]).lines().any(|l| l.starts_with("2001")));

    // Trunks: every problem reported; the secret never comes back.
    let r = app.api("POST", "/api/v1/trunks", json!({"name": "no spaces", "host": "", "transport": "sctp"}));
    assert_eq!((r.status, r.field().as_str()), (422, "name"), "{}", r.text());
    assert!(r.text().contains("host:") && r.text().contains("transport:"), "{}", r.text());
    let t = json!({"name": "carrier", "host": "127.0.0.1:5090", "register": true, "username": "acct", "secret": "s3cr3t-trunk", "dids": ["5550100=2002", "5550101"]});
    let r = app.ok("POST", "/api/v1/trunks", t.clone(), 201);
    let v = r.json();
    assert_eq!((v["secret_set"].as_bool(), v["dids"][0]["extension"].as_str(), v["is_default"].as_bool()), (Some(true), Some("2002"), Some(true)), "{v}");
    assert!(!r.text().contains("s3cr3t-trunk"));
    assert!(app.sb.admin_ok(&["trunk", "list"]).contains("carrier"));
    assert_eq!(app.api("POST", "/api/v1/trunks", t).status, 409);
    let r = app.api("POST", "/api/v1/trunks", json!({"name": "other", "host": "127.0.0.1:5091", "dids": ["5550100"]}));
    assert!(r.status == 409 && r.text().contains("DID 5550100"), "{}", r.text());
    let list = app.ok("GET", "/api/v1/trunks", Value::Null, 200);
    assert!(list.json()["trunks"].as_array().is_some_and(|t| t.len() == 1) && !list.text().contains("s3cr3t"), "{}", list.text());
    // A change: every problem named, nothing written; then the fields given change, the rest (secret, DIDs) stay.
    let r = app.api("PUT", "/api/v1/trunks/carrier", json!({"host": "127.0.0.1:notaport", "transport": "sctp", "username": null, "codecs": "NOPE"}));
    assert_eq!((r.status, r.field().as_str()), (422, "host"), "{}", r.text());
    assert!(r.text().contains("transport:") && r.text().contains("username: registering needs") && r.text().contains("codecs:"), "{}", r.text());
    let v = app.ok("PUT", "/api/v1/trunks/carrier", json!({"host": "127.0.0.1:5092", "transport": "tcp", "codecs": "PCMA"}), 200).json();
    assert_eq!((v["host"].as_str(), v["transport"].as_str(), v["codecs"].as_str()), (Some("127.0.0.1:5092"), Some("tcp"), Some("PCMA")), "{v}");
    assert_eq!((v["secret_set"].as_bool(), v["username"].as_str(), v["dids"].as_array().map(Vec::len)), (Some(true), Some("acct"), Some(2)), "kept: {v}");
    let line = app.sb.admin_ok(&["trunk", "list"]).lines().find(|l| l.starts_with("carrier")).map(str::to_string).unwrap_or_default();
    assert!(line.contains("127.0.0.1:5092") && line.contains(" tcp ") && line.contains("PCMA"), "the CLI sees the change: {line}");
    let v = app.ok("PUT", "/api/v1/trunks/carrier", json!({"register": false, "username": null, "codecs": null}), 200).json();
    assert_eq!((v["register"].as_bool(), &v["username"], v["secret_set"].as_bool(), &v["codecs"]), (Some(false), &Value::Null, Some(false), &Value::Null), "{v}");
    assert_eq!(app.api("PUT", "/api/v1/trunks/nope", json!({})).status, 404);
    assert!(app.api("PUT", "/api/v1/trunks/carrier", json!({"name": "renamed"})).text().contains("unknown field `name`"));
    app.ok("DELETE", "/api/v1/trunks/carrier", Value::Null, 204);
    app.ok("GET", "/api/v1/trunks/carrier", Value::Null, 404);

    // Users: the console's rules, no password or hash anywhere.
    let r = app.api("POST", "/api/v1/users", json!({"username": "bob", "role": "agent", "password": PW}));
    assert_eq!((r.status, r.field().as_str()), (422, "agent_id"), "{}", r.text());
    assert_eq!(app.api("POST", "/api/v1/users", json!({"username": "bob", "role": "boss", "password": PW})).field(), "role");
    assert_eq!(app.api("POST", "/api/v1/users", json!({"username": "bob", "role": "admin", "password": "short"})).field(), "password");
    assert_eq!(app.api("POST", "/api/v1/users", json!({"username": "b b", "role": "admin", "password": PW})).field(), "username");
    let r = app.ok("POST", "/api/v1/users", json!({"username": "bob", "display_name": "Bob", "role": "agent", "agent_id": "bob", "password": PW}), 201);
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.header("location"), Some(format!("/api/v1/users/{id}").as_str()));
    assert_eq!(app.api("POST", "/api/v1/users", json!({"username": "bob", "role": "supervisor", "password": PW})).status, 409);
    let all = app.ok("GET", "/api/v1/users", Value::Null, 200).text();
    assert!(all.contains("\"bob\"") && !all.contains("argon") && !all.contains("password"), "{all}");
    assert!(app.sb.admin_ok(&["user", "list"]).contains("bob"));
    let u = app.ok("PUT", &format!("/api/v1/users/{id}"), json!({"role": "supervisor", "agent_id": null}), 200).json();
    assert_eq!((u["role"].as_str(), &u["agent_id"], u["display_name"].as_str()), (Some("supervisor"), &Value::Null, Some("Bob")), "{u}");
    assert_eq!(app.api("PUT", &format!("/api/v1/users/{id}"), json!({"role": "boss"})).field(), "role");
    let last = app.api("PUT", "/api/v1/users/1", json!({"role": "agent"}));
    assert!(last.status == 422 && last.text().contains("last admin"), "{}", last.text());
    assert_eq!(app.api("PUT", &format!("/api/v1/users/{id}/password"), json!({"password": "short"})).field(), "password");
    app.ok("PUT", &format!("/api/v1/users/{id}/password"), json!({"password": "another long passphrase"}), 204);
    let login = request(app.sb.http_port, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &form(&[("username", "bob"), ("password", "another long passphrase"), ("next", "")]));
    assert_eq!(login.status, 303, "the new password logs in");
    app.ok("DELETE", &format!("/api/v1/users/{id}"), Value::Null, 204);
    app.ok("GET", &format!("/api/v1/users/{id}"), Value::Null, 404);
    app.ok("GET", "/api/v1/users/x", Value::Null, 404);

    // API keys: the key once, never listed; revoked at once.
    let r = app.ok("POST", "/api/v1/apikeys", json!({"name": "board", "scopes": ["stats"]}), 201);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let key = r.json()["key"].as_str().unwrap().to_string();
    assert_eq!(app.req(&Who::Key(key.clone()), "GET", "/api/v1/dashboard", "", b"").status, 200);
    let listed = app.ok("GET", "/api/v1/apikeys", Value::Null, 200);
    assert!(listed.text().contains("\"board\"") && !listed.text().contains(&key), "{}", listed.text());
    assert_eq!(app.api("POST", "/api/v1/apikeys", json!({"name": "x", "scopes": []})).field(), "scopes");
    assert_eq!(app.api("POST", "/api/v1/apikeys", json!({"name": "x", "scopes": ["root"]})).field(), "scopes");
    assert_eq!(app.api("POST", "/api/v1/apikeys", json!({"name": "a b", "scopes": ["stats"]})).field(), "name");
    assert_eq!(app.api("POST", "/api/v1/apikeys", json!({"name": "board", "scopes": ["stats"]})).status, 409);
    app.ok("DELETE", "/api/v1/apikeys/board", Value::Null, 204);
    assert_eq!(app.req(&Who::Key(key), "GET", "/api/v1/dashboard", "", b"").status, 401);

    // The audit log: every change, the key as actor, filters as data.
    let mine = app.audit("actor=apikey:prov&limit=1000");
    let actions: Vec<&str> = mine["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for want in ["extension.create", "extension.update", "extension.reset_secret", "extension.delete", "trunk.create", "trunk.update", "trunk.delete", "user.create", "user.update", "user.password", "user.delete", "apikey.create", "apikey.delete"] {
        assert!(actions.contains(&want), "{want} audited: {actions:?}");
    }
    assert!(!mine.to_string().contains("s3cr3t") && !mine.to_string().contains(PW), "no secrets in the log");
    // Two made, two changed (the refused change is not), a new secret, a removal.
    let ext = app.audit("action=extension.");
    assert_eq!(ext["total"], 6, "{ext}");
    let page = app.audit("action=extension.&limit=2&offset=1");
    assert_eq!((page["entries"].as_array().map(Vec::len), &page["total"]), (Some(2), &json!(6)), "{page}");
    assert_eq!(page["entries"][0]["action"], "extension.reset_secret", "newest first: {page}");
    assert_eq!(app.audit("q=front+desk&action=extension.create")["total"], 1);
    assert_eq!(app.audit("target=2002")["total"], 1);
    for hostile in ["%27%20OR%201%3D1%20--", "x%27%29%20OR%20%271%27%3D%271", "%25"] {
        for field in ["actor", "action", "target", "q"] {
            let r = app.audit(&format!("{field}={hostile}"));
            assert_eq!(r["total"], 0, "{field}={hostile}: {r}");
        }
    }
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    assert!(app.audit(&format!("from=2000-01-01&to={today}"))["total"].as_i64() >= mine["total"].as_i64());
    assert_eq!(app.audit("from=2099-01-01")["total"], 0);
    assert_eq!(app.api("GET", "/api/v1/audit?limit=x", Value::Null).field(), "limit");
    assert_eq!(app.api("GET", "/api/v1/audit?limit=0", Value::Null).status, 422);
    assert_eq!(app.api("GET", "/api/v1/audit?from=yesterday", Value::Null).field(), "from");
    // The ACD and customer API's changes are audited too.
    app.ok("POST", "/api/v1/queues", json!({"name": "sales", "strategy": "ring_all"}), 201);
    app.ok("DELETE", "/api/v1/queues/sales", Value::Null, 204);
    let c = app.ok("POST", "/api/v1/customers", json!({"name": "Ann", "account": "A-1"}), 201).json();
    let acd = app.audit("actor=apikey:prov&action=queue.")["entries"].to_string();
    assert!(acd.contains("queue.create") && acd.contains("queue.delete") && acd.contains("ring_all"), "{acd}");
    assert_eq!(app.audit("action=customer.create")["entries"][0]["target"], c["id"].to_string());

    // The console's audit page shows the API's changes.
    let Who::Session { cookie, .. } = &app.root else { unreachable!() };
    let page = request(app.sb.http_port, "GET", "/audit", &[("Cookie", cookie)], b"");
    assert!(page.body.contains("apikey:prov") && page.body.contains("trunk.create"), "{}", page.body);
}

/// A short WAV (16 kHz mono, 0.5 s).
fn wav() -> Vec<u8> {
    let mut out = Vec::new();
    let spec = hound::WavSpec { channels: 1, sample_rate: 16000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::new(std::io::Cursor::new(&mut out), spec).unwrap();
    for i in 0..8000 {
        w.write_sample(((i % 40) as i16 - 20) * 500).unwrap();
    }
    w.finalize().unwrap();
    out
}

#[test]
fn dialplans_prompts_settings_backup_and_restart() {
    let mut app = App::start();
    let dir = app.sb.dialplan_dir();

    // Dialplans: saved only when the plan loads; errors at file:line:col.
    let main = "[[entry]]\nmatch = { did = \"5550100\" }\ncontext = \"main\"\n\n[context.main]\nsteps = [{ app = \"answer\" }, { app = \"hangup\" }]\n";
    let saved = app.ok("PUT", "/api/v1/dialplans/main.toml", json!({"text": main}), 201).json();
    assert_eq!(saved["created"], true);
    assert_eq!(std::fs::read_to_string(dir.join("main.toml")).unwrap(), main);
    let got = app.ok("GET", "/api/v1/dialplans/main.toml", Value::Null, 200).json();
    let base = got["fingerprint"].as_str().unwrap().to_string();
    assert_eq!((got["text"].as_str(), saved["fingerprint"].as_str()), (Some(main), Some(base.as_str())));
    let broken = main.replace("\"hangup\"", "\"nope\"");
    let check = app.ok("POST", "/api/v1/dialplans/main.toml/validate", json!({"text": broken}), 200).json();
    assert_eq!((check["valid"].as_bool(), check["errors"][0]["file"].as_str(), check["errors"][0]["line"].as_u64()), (Some(false), Some("main.toml"), Some(6)), "{check}");
    assert!(check["errors"][0]["col"].as_u64().is_some_and(|c| c > 0), "{check}");
    assert_eq!(app.ok("POST", "/api/v1/dialplans/main.toml/validate", json!({"text": main}), 200).json()["valid"], true);
    let r = app.api("PUT", "/api/v1/dialplans/main.toml", json!({"text": broken, "base": base}));
    assert_eq!((r.status, r.field().as_str(), r.json()["errors"][0]["line"].as_u64()), (422, "text", Some(6)), "{}", r.text());
    assert_eq!(std::fs::read_to_string(dir.join("main.toml")).unwrap(), main, "not saved");
    let r = app.api("PUT", "/api/v1/dialplans/main.toml", json!({"text": main, "base": "0123456789ab"}));
    assert_eq!((r.status, r.field().as_str()), (409, "base"), "{}", r.text());
    let edited = format!("# edited through the API\n{main}");
    assert_eq!(app.ok("PUT", "/api/v1/dialplans/main.toml", json!({"text": edited, "base": base}), 200).json()["created"], false);
    let r = app.api("PUT", "/api/v1/dialplans/..%2Fevil.toml", json!({"text": main}));
    assert_eq!((r.status, r.field().as_str()), (422, "file"), "{}", r.text());
    assert!(!dir.join("../evil.toml").exists());
    let sim = app.ok("GET", "/api/v1/dialplans/simulate?did=5550100&caller=2001", Value::Null, 200).json();
    assert!(sim["steps"].as_array().is_some_and(|s| s.iter().any(|l| l.as_str().is_some_and(|l| l.contains("hangup")))), "{sim}");
    assert_eq!(app.api("GET", "/api/v1/dialplans/simulate?caller=1", Value::Null).field(), "did");
    assert_eq!(app.api("GET", "/api/v1/dialplans/simulate?did=1&at=noon", Value::Null).field(), "at");
    let other = "[[entry]]\nmatch = { did = \"5550199\" }\ncontext = \"main\"\n";
    app.ok("PUT", "/api/v1/dialplans/other.toml", json!({"text": other}), 201);
    let listing = app.ok("GET", "/api/v1/dialplans", Value::Null, 200).json();
    assert_eq!((listing["loads"].as_bool(), listing["files"].as_array().map(Vec::len)), (Some(true), Some(2)), "{listing}");
    let r = app.api("DELETE", "/api/v1/dialplans/main.toml", Value::Null);
    assert!(r.status == 409 && r.json()["errors"][0]["file"] == "other.toml", "{}", r.text());
    app.ok("DELETE", "/api/v1/dialplans/other.toml", Value::Null, 204);
    app.ok("DELETE", "/api/v1/dialplans/other.toml", Value::Null, 404);
    assert!(!dir.join("other.toml").exists());

    // Prompts: decoded before kept, downloadable, removable.
    let audio = wav();
    let up = |path: &str, ctype: &str, body: &[u8]| app.req(&Who::Key(app.key.clone()), "PUT", path, ctype, body);
    let r = up("/api/v1/prompts/en/welcome.wav", "audio/wav", &audio);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!((r.json()["duration_ms"].as_u64(), r.json()["rate"].as_u64()), (Some(500), Some(16000)));
    assert_eq!(std::fs::read(app.prompts.path().join("en/welcome.wav")).unwrap(), audio);
    let list = app.ok("GET", "/api/v1/prompts", Value::Null, 200).json();
    assert_eq!((list["in_use"].as_str(), list["languages"][0]["files"][0]["file"].as_str()), (Some("en"), Some("welcome.wav")), "{list}");
    let got = app.ok("GET", "/api/v1/prompts/en/welcome.wav", Value::Null, 200);
    assert_eq!((got.header("content-type"), got.body == audio), (Some("audio/wav"), true));
    let r = up("/api/v1/prompts/en/broken.wav", "audio/wav", b"RIFF not really");
    assert_eq!((r.status, r.field().as_str()), (422, "file"), "{}", r.text());
    assert!(!app.prompts.path().join("en/broken.wav").exists());
    assert_eq!(up("/api/v1/prompts/en/bad%20name.wav", "audio/wav", &audio).field(), "name");
    assert_eq!(up("/api/v1/prompts/en/x.exe", "audio/wav", &audio).field(), "file");
    assert_eq!(up("/api/v1/prompts/en/x.wav", "text/html", &audio).status, 415);
    assert_eq!(app.api("GET", "/api/v1/prompts/en/..%2F..%2Fswitchboard.toml", Value::Null).status, 404);
    app.ok("DELETE", "/api/v1/prompts/en/welcome.wav", Value::Null, 204);
    app.ok("DELETE", "/api/v1/prompts/en/welcome.wav", Value::Null, 404);
    assert!(!app.prompts.path().join("en/welcome.wav").exists());

    // Settings: in place, checked, field named, the password write-only.
    let config = app.sb.dir().join("switchboard.toml");
    let before = app.ok("GET", "/api/v1/settings", Value::Null, 200).json();
    assert_eq!((before["exists"].as_bool(), before["settings"]["smtp_password_set"].as_bool()), (Some(true), Some(false)), "{before}");
    let r = app.ok("PUT", "/api/v1/settings", json!({"timezone": "Europe/Berlin", "codecs": "G722,PCMU"}), 200).json();
    let keys: Vec<&str> = r["changes"].as_array().unwrap().iter().filter_map(|c| c["key"].as_str()).collect();
    assert_eq!((r["changed"].as_bool(), keys), (Some(true), vec!["media.codecs", "site.timezone"]), "{r}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("timezone = \"Europe/Berlin\"") && text.contains("[dialplan]"), "edited in place: {text}");
    assert_eq!(app.ok("PUT", "/api/v1/settings", json!({"timezone": "Europe/Berlin"}), 200).json()["changed"], false);
    let refused = [
        (json!({"rtp_port_min": 30001}), "rtp_port_min"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"smtp_tls": "ssl"}), "smtp_tls"),
        (json!({"rtp_port_min": 40000, "rtp_port_max": 30000}), "rtp_port_max"),
        (json!({"sip_listen": "127.0.0.1:0"}), "sip_listen"),
        (json!({"sip_listen": "127.0.0.1:70000"}), "sip_listen"),
        (json!({"http_tls_listen": "8443"}), "http_tls_listen"),
        (json!({"sip_listen": "127.0.0.1:5070", "sip_tls_listen": "0.0.0.0:5070"}), "sip_tls_listen"),
        (json!({"http_listen": "127.0.0.1:5060"}), "http_listen"),
    ];
    for (body, field) in refused {
        let r = app.api("PUT", "/api/v1/settings", body.clone());
        assert_eq!((r.status, r.field().as_str()), (422, field), "{body}: {}", r.text());
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text, "refused edits write nothing");
    // The SIP port through the API: written in place, waiting for a restart (--sip pins it here).
    let r = app.ok("PUT", "/api/v1/settings", json!({"sip_listen": "127.0.0.1:5999", "sip_tls_listen": ""}), 200).json();
    let keys: Vec<&str> = r["changes"].as_array().unwrap().iter().filter_map(|c| c["key"].as_str()).collect();
    assert_eq!(keys, ["sip.listen", "sip.tls_listen"], "{r}");
    assert_eq!((r["settings"]["settings"]["sip_listen"].as_str(), r["settings"]["settings"]["sip_tls_listen"].as_str()), (Some("127.0.0.1:5999"), Some("")), "{r}");
    assert!(r["settings"]["overrides"].as_array().is_some_and(|o| o.contains(&json!("sip.listen"))), "{r}");
    assert!(r["settings"]["pending"].as_array().is_some_and(|p| !p.iter().any(|c| c["key"] == "sip.listen")), "--sip wins, nothing waits: {r}");
    let listened = std::fs::read_to_string(&config).unwrap();
    assert!(listened.contains("[sip]") && listened.contains("listen = \"127.0.0.1:5999\"") && listened.contains("tls_listen = \"\"") && listened.contains("[dialplan]"), "{listened}");
    let smtp = json!({"smtp_host": "mail.example.org", "smtp_port": 587, "smtp_tls": "starttls", "smtp_from": "pbx@example.org", "smtp_username": "pbx", "smtp_password": "hunter2-smtp"});
    let r = app.ok("PUT", "/api/v1/settings", smtp, 200);
    assert!(!r.text().contains("hunter2-smtp") && r.json()["settings"]["settings"]["smtp_password_set"] == true, "{}", r.text());
    assert!(std::fs::read_to_string(&config).unwrap().contains("hunter2-smtp"));
    let after = app.ok("GET", "/api/v1/settings", Value::Null, 200);
    assert!(!after.text().contains("hunter2-smtp"), "{}", after.text());
    assert!(after.json()["pending"].as_array().is_some_and(|p| p.iter().any(|c| c["key"] == "site.timezone")), "waits for a restart");
    assert!(!app.audit("action=settings.").to_string().contains("hunter2"), "not audited");

    // Backup: download, stage it as a restore, look, cancel.
    let backup = app.ok("GET", "/api/v1/backup", Value::Null, 200);
    assert_eq!((backup.header("content-type"), &backup.body[..2]), (Some("application/gzip"), &[0x1f, 0x8b][..]));
    assert!(backup.header("content-disposition").is_some_and(|d| d.contains("switchboard-backup-")));
    assert_eq!(app.ok("GET", "/api/v1/backup/restore", Value::Null, 200).json()["staged"], false);
    let r = app.req(&Who::Key(app.key.clone()), "POST", "/api/v1/backup/restore", "application/gzip", b"not an archive");
    assert_eq!(r.status, 422, "{}", r.text());
    let r = app.req(&Who::Key(app.key.clone()), "POST", "/api/v1/backup/restore", "application/gzip", &backup.body);
    assert_eq!(r.status, 200, "{}", r.text());
    let staged = app.ok("GET", "/api/v1/backup/restore", Value::Null, 200).json();
    assert!(staged["staged"] == true && staged["includes"].as_array().is_some_and(|i| i.contains(&json!("db"))), "{staged}");
    app.ok("DELETE", "/api/v1/backup/restore", Value::Null, 204);
    app.ok("DELETE", "/api/v1/backup/restore", Value::Null, 404);
    let actions = app.audit("actor=apikey:prov&limit=1000").to_string();
    for want in ["dialplan.create", "dialplan.update", "dialplan.delete", "prompt.upload", "prompt.delete", "settings.save", "backup.download", "backup.restore_refused", "backup.restore\"", "backup.restore_cancel"] {
        assert!(actions.contains(want), "{want} audited");
    }

    // Restart: only when confirmed; the process ends for its supervisor.
    assert_eq!(app.api("POST", "/api/v1/restart", json!({})).field(), "confirm");
    let r = app.ok("POST", "/api/v1/restart", json!({"confirm": true}), 202).json();
    assert_eq!((r["exit_code"].as_u64(), r["live_calls"].as_u64()), (Some(75), Some(0)));
    app.sb.wait_log("exit code 75", Duration::from_secs(10)).expect("the appliance stops to restart");
}

#[test]
fn call_records_recordings_voicemail_and_dashboard() {
    let app = App::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&app.sb.data_dir())).unwrap();
    let q = LegQualityRow { packets: 500, lost: 1, jitter_ms: 2.0, rtt_ms: Some(20.0), mos: Some(4.31) };
    let a = rt.block_on(store.open_call_record("call-a", "inbound", "+4930111", "2001", Some("carrier"))).unwrap();
    rt.block_on(store.answer_call_record(a)).unwrap();
    rt.block_on(store.close_call_record(a, 200, "caller", Some(q), Some(q))).unwrap();
    rt.block_on(store.set_disposition("call-a", "sale", "=HYPERLINK(\"http://evil\",\"x\")")).unwrap();
    let b = rt.block_on(store.open_call_record("call-b", "outbound", "2001", "0049301", Some("carrier"))).unwrap();
    rt.block_on(store.close_call_record(b, 486, "callee", None, None)).unwrap();
    let c = rt.block_on(store.open_call_record("call-c", "internal", "2002", "2003", None)).unwrap();
    rt.block_on(store.close_call_record(c, 200, "callee", None, None)).unwrap();
    let data = app.sb.data_dir();
    std::fs::create_dir_all(data.join("recordings")).unwrap();
    let audio = b"RIFF0123456789-recorded".to_vec();
    std::fs::write(data.join("recordings/call-a.wav"), &audio).unwrap();
    std::fs::write(app.sb.dir().join("secret.wav"), b"TOPSECRET").unwrap();
    let done = RecordingSummary { duration_ms: 1000, bytes: audio.len() as i64, ..Default::default() };
    let rec = |call: &str, path: String| {
        let id = rt.block_on(store.start_recording_row(call, &path, "wav", "stereo", 16000)).unwrap();
        rt.block_on(store.finish_recording_row(id, Some(&done))).unwrap();
        id
    };
    let good = rec("call-a", data.join("recordings/call-a.wav").display().to_string());
    let outside = rec("call-b", app.sb.dir().join("secret.wav").display().to_string());
    let stats = app.key_with("wall", "stats");
    let Who::Key(stats_key) = stats.clone() else { unreachable!() };
    let get = |path: &str| {
        let r = app.req(&stats, "GET", path, "", b"");
        assert!(r.status == 200 || r.status == 206, "{path}: {} {}", r.status, r.text());
        r
    };
    let ids = |path: &str| -> Vec<String> { get(path).json()["records"].as_array().unwrap().iter().map(|r| r["call_id"].as_str().unwrap().to_string()).collect() };

    // The console's filters, newest first, paged; hostile text matches nothing.
    let page = get("/api/v1/call-records").json();
    assert_eq!((page["total"].as_i64(), page["records"][0]["call_id"].as_str()), (Some(3), Some("call-c")), "{page}");
    let first = &page["records"][2];
    assert_eq!((first["recordings"][0]["id"].as_i64(), first["recordings"][0]["audio"].as_str()), (Some(good), Some(format!("/api/v1/recordings/{good}/audio").as_str())), "{first}");
    assert_eq!(ids("/api/v1/call-records?direction=inbound"), ["call-a"]);
    assert_eq!(ids("/api/v1/call-records?trunk=carrier&answered=no"), ["call-b"]);
    assert_eq!(ids("/api/v1/call-records?disposition=SALE"), ["call-a"]);
    assert_eq!(ids("/api/v1/call-records?caller=2001"), ["call-b"]);
    assert_eq!(ids("/api/v1/call-records?q=0049"), ["call-b"]);
    assert_eq!(ids("/api/v1/call-records?limit=2&page=2"), ["call-a"]);
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    assert_eq!(ids(&format!("/api/v1/call-records?from={today}&to={today}")).len(), 3);
    for hostile in ["%27%20OR%201%3D1%20--", "%22%20OR%20%22%22%3D%22", "%25", "carrier%27%20OR%20%271%27%3D%271"] {
        for field in ["caller", "callee", "trunk", "disposition", "q"] {
            let r = get(&format!("/api/v1/call-records?{field}={hostile}")).json();
            assert_eq!(r["total"], 0, "{field}={hostile}: {r}");
        }
    }
    for (query, field) in [("from=2026-02-30", "from"), ("direction=up", "direction"), ("answered=maybe", "answered"), ("limit=0", "limit")] {
        let r = app.req(&stats, "GET", &format!("/api/v1/call-records?{query}"), "", b"");
        assert_eq!((r.status, r.field().as_str()), (422, field), "{query}: {}", r.text());
    }
    assert_eq!(app.req(&stats, "GET", "/api/v1/call-records?limit=ten", "", b"").field(), "limit");

    // CSV: the console's writer (formulas defused), audited.
    let csv = get("/api/v1/call-records/export?direction=inbound");
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("start_utc,call_id,") && lines.len() == 2, "{text}");
    assert!(lines[1].contains(",sale,\"'=HYPERLINK(") && lines[1].contains(",call-a,"), "{text}");
    assert!(app.audit("action=calls.export")["entries"][0]["actor"].as_str().is_some_and(|a| a == "apikey:wall"));

    // Recordings: ranges, nothing outside the folder, JSON refusals.
    let whole = get(&format!("/api/v1/recordings/{good}/audio"));
    assert_eq!((whole.header("content-type"), whole.body == audio), (Some("audio/wav"), true));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let bearer = format!("Bearer {stats_key}");
    let audio_path = format!("/api/v1/recordings/{good}/audio");
    let part = send(app.sb.http_port, "GET", &audio_path, &[("Authorization", &bearer), ("Range", "bytes=4-9")], b"");
    assert_eq!((part.status, part.text().as_str(), part.header("content-range")), (206, "012345", Some("bytes 4-9/23")));
    let past = send(app.sb.http_port, "GET", &audio_path, &[("Authorization", &bearer), ("Range", "bytes=100-")], b"");
    assert!(past.status == 416 && past.json()["error"].is_string() && past.header("content-range") == Some("bytes */23"), "{}", past.text());
    let escaped = app.req(&stats, "GET", &format!("/api/v1/recordings/{outside}/audio"), "", b"");
    assert!(escaped.status == 404 && !escaped.text().contains("TOPSECRET") && escaped.json()["error"].is_string(), "{}", escaped.text());
    assert_eq!(app.req(&stats, "GET", "/api/v1/recordings/999/audio", "", b"").status, 404);

    // Voicemail (admin): mailboxes, messages, audio, heard, delete.
    app.sb.admin_ok(&["mailbox", "add", "600", "--pin", "1234", "--name", "Sales"]);
    let dir = data.join("voicemail/600");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m1.wav"), b"RIFF-message-one").unwrap();
    let m = NewVoicemail { mailbox: "600".into(), caller: "2002".into(), caller_name: "Carol".into(), call_id: "vm-1".into(), duration_ms: 7_400, path: dir.join("m1.wav").display().to_string() };
    let id = rt.block_on(store.insert_message(&m)).unwrap();
    assert_eq!(app.req(&stats, "GET", "/api/v1/mailboxes", "", b"").status, 403, "voicemail is the admin's");
    let boxes = app.ok("GET", "/api/v1/mailboxes", Value::Null, 200).json();
    assert_eq!((boxes["mailboxes"][0]["number"].as_str(), boxes["mailboxes"][0]["new_messages"].as_i64()), (Some("600"), Some(1)), "{boxes}");
    assert!(!boxes.to_string().contains("1234"), "no PIN");
    let msgs = app.ok("GET", "/api/v1/mailboxes/600/messages", Value::Null, 200).json();
    assert_eq!((msgs["messages"][0]["id"].as_i64(), msgs["messages"][0]["caller_name"].as_str()), (Some(id), Some("Carol")), "{msgs}");
    app.ok("GET", "/api/v1/mailboxes/601/messages", Value::Null, 404);
    assert_eq!(app.ok("GET", &format!("/api/v1/voicemail/{id}/audio"), Value::Null, 200).text(), "RIFF-message-one");
    app.ok("POST", &format!("/api/v1/voicemail/{id}/heard"), Value::Null, 204);
    assert!(app.sb.admin_ok(&["voicemail", "list", "600"]).lines().any(|l| l.starts_with(&format!("{id} ")) && l.trim_end().ends_with("yes")));
    app.ok("DELETE", &format!("/api/v1/voicemail/{id}"), Value::Null, 204);
    assert!(!dir.join("m1.wav").exists(), "the audio goes with the message");
    app.ok("DELETE", &format!("/api/v1/voicemail/{id}"), Value::Null, 404);
    app.ok("GET", &format!("/api/v1/voicemail/{id}/audio"), Value::Null, 404);
    let actions = app.audit("action=voicemail.")["entries"].to_string();
    assert!(actions.contains("voicemail.heard") && actions.contains("voicemail.delete"), "{actions}");
    // Mailboxes themselves, as the console's form: the same checks and errors by field.
    let created = app.ok("POST", "/api/v1/mailboxes", json!({"number": "610", "name": "Support", "pin": "4321", "group": true, "members": ["2002"]}), 201).json();
    assert_eq!((created["number"].as_str(), created["kind"].as_str()), (Some("610"), Some("group")), "{created}");
    assert!(!created.to_string().contains("4321"), "no PIN in the answer");
    assert!(app.sb.admin_ok(&["mailbox", "list"]).lines().any(|l| l.starts_with("610 ")), "visible to the CLI");
    app.ok("POST", "/api/v1/mailboxes", json!({"number": "610", "pin": "4321"}), 409);
    let bad = app.ok("POST", "/api/v1/mailboxes", json!({"number": "611", "pin": "12"}), 422).json();
    assert_eq!(bad["field"].as_str(), Some("pin"), "{bad}");
    app.ok("POST", "/api/v1/mailboxes", json!({"number": "612", "pin": "1234", "colour": "red"}), 400);
    app.ok("DELETE", "/api/v1/mailboxes/610", Value::Null, 204);
    app.ok("DELETE", "/api/v1/mailboxes/610", Value::Null, 404);
    assert!(!app.sb.admin_ok(&["mailbox", "list"]).lines().any(|l| l.starts_with("610 ")));
    let actions = app.audit("action=mailbox.")["entries"].to_string();
    assert!(actions.contains("mailbox.create") && actions.contains("mailbox.delete"), "{actions}");

    // The dashboard: registrations and trunks as the console shows them.
    app.ok("POST", "/api/v1/trunks", json!({"name": "carrier", "host": "127.0.0.1:5090"}), 201);
    let dash = get("/api/v1/dashboard").json();
    assert_eq!((dash["live_calls"].as_array().map(Vec::len), dash["trunks"][0]["name"].as_str(), dash["waiting_in_queues"].as_u64()), (Some(0), Some("carrier"), Some(0)), "{dash}");
    assert!(dash["health"].as_array().is_some_and(|h| !h.is_empty()), "{dash}");
}

//! The public contact channel (`/contact`, no login) against the real
//! binary over HTTP and WebSockets:
//! - the account lookup shows only the `[contact] lookup_fields`, answers
//!   an unknown account in the same shape, ignores a filled honeypot and
//!   is rate limited per address (429 with Retry-After);
//! - the callback form validates at the field, offers only queues with
//!   callbacks, refuses other origins, queues a callback that shows in
//!   `switchboard callbacks` and in `/api/v1/stats` (callbacks waiting and
//!   requested), survives a restart, and is rate limited;
//! - a chat is offered (CTI `chat_offered` with the customer record) to the
//!   agent with the chat skill and not to the one without, who may not
//!   take it; accepted through the API, messages flow both ways (visitor
//!   WebSocket authorised by the chat's cookie, agent REST + CTI), the
//!   agent ends it and goes to wrap-up, and the transcript is stored with
//!   the customer and the disposition; chats per address are limited.
//!
//! Agents need a registered phone to be available (the ACD pauses
//! unregistered agents): SIPp registers their extensions once; a chat
//! never rings them.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::http::{form, request, Resp};
use common::ports;
use common::sipp::Sipp;
use common::switchboard::Switchboard;
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

const T: Duration = Duration::from_secs(15);

fn post_form(sb: &Switchboard, path: &str, extra: &[(&str, &str)], fields: &[(&str, &str)]) -> Resp {
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/x-www-form-urlencoded")];
    h.extend_from_slice(extra);
    request(sb.http_port, "POST", path, &h, &form(fields))
}

fn get(sb: &Switchboard, path: &str, cookie: Option<&str>) -> Resp {
    let h: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", *c)).collect();
    request(sb.http_port, "GET", path, &h, b"")
}

fn stats(sb: &Switchboard, key: &str) -> Value {
    let (status, body) = sb.api("GET", "/api/v1/stats", key);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("stats JSON")
}

fn queue_stats(sb: &Switchboard, key: &str, queue: &str) -> Value {
    stats(sb, key)["queues"].as_array().expect("queues").iter().find(|q| q["name"] == queue).cloned().unwrap_or_else(|| panic!("no queue {queue} in stats"))
}

/// Waits until `f` holds, polling.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn lookup_shows_allowed_fields_and_callbacks_enter_the_acd() {
    let mut sb = Switchboard::start_with(
        "[contact]\nlookup_fields = [\"name\", \"balance\"]\nlookups_per_window = 3\ncallbacks_per_window = 2\n",
    )
    .expect("start");
    sb.admin_ok(&["customer", "add", "--name", "Grace Hopper", "--account", "A-1906", "--phone", "2704", "--field", "balance=12.50", "--field", "tier=gold"]);
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "longest_idle", "--callback-key", "5"]);
    sb.admin_ok(&["queue", "add", "support", "--strategy", "longest_idle"]);
    let key = sb.admin_api_key("contact");

    let page = get(&sb, "/contact", None);
    assert_eq!(page.status, 200, "{page:?}");
    for id in ["lookup-form", "callback-form", "chat-start-form"] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(page.body.contains("<option value=\"sales\""), "a queue with a callback key is offered");
    assert!(!page.body.contains("<option value=\"support\""), "a queue without callbacks is not");

    // Lookup: only the allowed fields.
    let known = post_form(&sb, "/contact/lookup", &[], &[("account", "A-1906")]);
    assert_eq!(known.status, 200);
    assert!(known.body.contains("Grace Hopper") && known.body.contains("12.50"), "{}", known.body);
    assert!(!known.body.contains("gold") && !known.body.contains("2704"), "fields not allowed leak: {}", known.body);
    // An unknown account: same status, same result block, nothing of anyone.
    let unknown = post_form(&sb, "/contact/lookup", &[], &[("account", "Z-0000")]);
    assert_eq!(unknown.status, known.status);
    assert!(unknown.body.contains("id=\"lookup-result\"") && known.body.contains("id=\"lookup-result\""));
    assert!(!unknown.body.contains("id=\"lookup-fields\"") && !unknown.body.contains("12.50"));
    // The field error is shown at the field, and costs nothing.
    let empty = post_form(&sb, "/contact/lookup", &[], &[("account", "  ")]);
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("id=\"account-error\""), "{}", empty.body);
    // A bot filling the honeypot learns nothing.
    let bot = post_form(&sb, "/contact/lookup", &[], &[("account", "A-1906"), ("website", "http://spam")]);
    assert_eq!(bot.status, 200);
    assert!(!bot.body.contains("Grace Hopper"), "honeypot answered like an unknown account");
    // Three lookups so far count (the invalid one did not): the fourth waits.
    let next = post_form(&sb, "/contact/lookup", &[], &[("account", "A-1906")]);
    assert_eq!(next.status, 429, "{}", next.body);
    assert!(next.header("retry-after").and_then(|s| s.parse::<i64>().ok()).is_some_and(|s| s > 0 && s <= 600));
    assert!(!next.body.contains("Grace Hopper"), "no answer over the limit");

    // Callback form: errors at the field.
    let bad = post_form(&sb, "/contact/callback", &[], &[("cb_name", "Ada"), ("cb_phone", "call me"), ("cb_queue", "sales")]);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"cb_phone-error\"") && bad.body.contains("value=\"call me\""), "{}", bad.body);
    let wrong_queue = post_form(&sb, "/contact/callback", &[], &[("cb_name", "Ada"), ("cb_phone", "5550100"), ("cb_queue", "support")]);
    assert_eq!(wrong_queue.status, 422);
    assert!(wrong_queue.body.contains("id=\"cb_queue-error\""));
    // Another site's page cannot post it.
    let forged = post_form(&sb, "/contact/callback", &[("Origin", "http://evil.example")], &[("cb_name", "Eve"), ("cb_phone", "5550666"), ("cb_queue", "sales")]);
    assert_eq!(forged.status, 403);

    let fields = [("cb_name", "Ada Lovelace"), ("cb_phone", "+1 (555) 010-0200"), ("cb_queue", "sales"), ("cb_note", "about my invoice")];
    let ok = post_form(&sb, "/contact/callback", &[("Origin", &format!("http://127.0.0.1:{}", sb.http_port))], &fields);
    assert_eq!(ok.status, 303, "{}", ok.body);
    let location = ok.header("location").expect("redirect").to_string();
    let id: i64 = location.strip_prefix("/contact?booked=").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{location}"));
    assert!(get(&sb, &location, None).body.contains(&format!("request #{id} is booked")));
    let list = sb.admin_ok(&["callbacks"]);
    let row = list.lines().find(|l| l.starts_with(&format!("{id} "))).unwrap_or_else(|| panic!("request {id} not listed: {list}"));
    for part in ["sales", "+15550100200", "Ada Lovelace", "waiting", "web", "about my invoice"] {
        assert!(row.contains(part), "{part} missing: {row}");
    }
    assert!(!list.contains("Eve"), "the forged request was not queued");
    let q = queue_stats(&sb, &key, "sales");
    assert_eq!((q["callbacks_waiting"].as_u64(), q["callbacks_requested"].as_u64(), q["joined"].as_u64()), (Some(1), Some(1), Some(1)), "{q}");
    assert_eq!(q["waiting"].as_u64(), Some(0), "a callback is not a live caller");

    // Two requests per window from one address.
    let second = post_form(&sb, "/contact/callback", &[], &[("cb_name", "Bea"), ("cb_phone", "5550201"), ("cb_queue", "sales")]);
    assert_eq!(second.status, 303);
    let third = post_form(&sb, "/contact/callback", &[], &[("cb_name", "Cy"), ("cb_phone", "5550202"), ("cb_queue", "sales")]);
    assert_eq!(third.status, 429);
    assert!(!sb.admin_ok(&["callbacks"]).contains("5550202"));

    // Both survive a restart and wait in the ACD again.
    sb.stop();
    sb.start().expect("restart");
    let after = sb.admin_ok(&["callbacks"]);
    assert!(after.contains("Ada Lovelace") && after.contains("+15550100200") && after.contains("5550201"), "{after}");
    eventually("restored callbacks in the ACD statistics", || queue_stats(&sb, &key, "sales")["callbacks_waiting"].as_u64() == Some(2));
}

type Ws = tungstenite::WebSocket<TcpStream>;

/// A WebSocket to `path` with extra headers; the HTTP status when refused.
fn ws(port: u16, path: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    let mut req = format!("ws://127.0.0.1:{port}{path}").into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    match tungstenite::client(req, s) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => Err(r.status().as_u16()),
        Err(e) => panic!("websocket handshake: {e}"),
    }
}

/// The next JSON message matching `want` within `within` (others skipped).
fn next_json(ws: &mut Ws, within: Duration, want: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("JSON");
                if want(&v) {
                    return Some(v);
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("websocket: {e}"),
        }
    }
    None
}

fn api_post(sb: &Switchboard, path: &str, key: &str, body: &str) -> Resp {
    let auth = format!("Bearer {key}");
    request(sb.http_port, "POST", path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes())
}

/// Registers `ext` from a SIPp instance (the binding outlives it).
fn register(sb: &Switchboard, ext: &str) {
    let secret = format!("secret-of-{ext}");
    sb.add_extension(ext, &secret);
    let reg = Sipp::scenario("register_auth.xml").remote(&sb.sip_addr()).ports(ports::alloc_sipp()).service(ext).auth(ext, &secret).calls(1).run().expect("register");
    reg.expect_success(1).expect("phone registered");
}

#[test]
fn chat_reaches_the_skilled_agent_and_the_transcript_is_kept() {
    let sb = Switchboard::start_with("[contact]\nmax_message_chars = 200\nchats_per_window = 2\n").expect("start");
    sb.admin_ok(&["queue", "add", "chat", "--strategy", "ring_all", "--wrapup", "30"]);
    sb.admin_ok(&["customer", "add", "--name", "Grace Hopper", "--account", "A-1906", "--phone", "2704", "--field", "tier=gold"]);
    for (agent, ext) in [("alice", "2801"), ("bob", "2802")] {
        register(&sb, ext);
        sb.admin_ok(&["agent", "add", agent, "--name", agent, "--ext", ext]);
        sb.admin_ok(&["queue", "member", "add", "chat", agent]);
    }
    sb.admin_ok(&["agent", "skill", "alice", "chat", "5"]);
    sb.admin_ok(&["agent", "skill", "bob", "billing", "9"]);
    let key = sb.admin_api_key("chat");
    for agent in ["alice", "bob"] {
        eventually(&format!("{agent} logged in"), || sb.api("POST", &format!("/api/v1/agents/{agent}/login"), &key).0 == 204);
    }
    let state = |agent: &str| stats(&sb, &key)["agents"].as_array().unwrap().iter().find(|a| a["id"] == agent).map(|a| a["state"]["state"].clone());
    eventually("both agents available", || state("alice") == Some("available".into()) && state("bob") == Some("available".into()));
    let mut alice = ws(sb.http_port, &format!("/api/v1/events?key={key}&agent=alice"), &[]).expect("alice's events");
    let mut bob = ws(sb.http_port, &format!("/api/v1/events?key={key}&agent=bob"), &[]).expect("bob's events");

    // The visitor starts a chat; the token comes back in a cookie for that chat's page only.
    let start = post_form(&sb, "/contact/chat", &[], &[("chat_name", "Vera"), ("chat_phone", "2704"), ("chat_message", "Hello, my router is down")]);
    assert_eq!(start.status, 303, "{}", start.body);
    let page = start.header("location").expect("to the chat page").to_string();
    let chat_id = page.strip_prefix("/contact/chat/").expect("chat page").to_string();
    assert!(chat_id.len() >= 32, "unguessable id: {chat_id}");
    let (token, set_cookie) = start.set_cookie("sb_chat").expect("chat cookie");
    assert!(token.len() >= 64);
    for part in ["HttpOnly", "SameSite=Strict", &format!("Path={page}")] {
        assert!(set_cookie.contains(part), "{part}: {set_cookie}");
    }
    let cookie = format!("sb_chat={token}");
    assert_eq!(get(&sb, &page, None).status, 404, "no page without the token");
    assert_eq!(get(&sb, &page, Some("sb_chat=0000")).status, 404, "nor with a wrong one");
    let shown = get(&sb, &page, Some(&cookie));
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("Hello, my router is down"));
    assert_eq!(ws(sb.http_port, &format!("{page}/ws"), &[]).err(), Some(404));
    assert_eq!(ws(sb.http_port, &format!("{page}/ws"), &[("Cookie", &cookie), ("Origin", "http://evil.example")]).err(), Some(403));
    let mut visitor = ws(sb.http_port, &format!("{page}/ws"), &[("Cookie", &cookie)]).expect("visitor socket");
    assert!(next_json(&mut visitor, T, |v| v["type"] == "message" && v["text"] == "Hello, my router is down").is_some(), "transcript sent on connect");

    // Offered to alice, with the customer matched by phone; not to bob.
    let offer = next_json(&mut alice, T, |v| v["type"] == "chat_offered").expect("alice is offered the chat");
    assert_eq!(offer["chat"]["chat_id"], chat_id.as_str());
    assert_eq!(offer["chat"]["visitor_name"], "Vera");
    assert_eq!(offer["chat"]["first_message"], "Hello, my router is down");
    assert_eq!(offer["chat"]["customer"]["name"], "Grace Hopper");
    assert!(next_json(&mut bob, Duration::from_secs(2), |v| v["type"] == "chat_offered").is_none(), "bob has no chat skill");
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/accept?agent=bob"), &key, "").status, 403);
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/message?agent=alice"), &key, r#"{"text":"early"}"#).status, 403, "not before accepting");

    // alice accepts.
    let r = api_post(&sb, &format!("/api/v1/chats/{chat_id}/accept?agent=alice"), &key, "");
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(next_json(&mut alice, T, |v| v["type"] == "chat_answered").is_some());
    assert!(next_json(&mut visitor, T, |v| v["type"] == "status" && v["state"] == "connected").is_some());
    assert_eq!(state("alice"), Some("on-call".into()));

    // Messages both ways.
    let r = api_post(&sb, &format!("/api/v1/chats/{chat_id}/message?agent=alice"), &key, r#"{"text":"Hi Vera, let me check <b>that</b>."}"#);
    assert_eq!(r.status, 204, "{}", r.body);
    let got = next_json(&mut visitor, T, |v| v["type"] == "message" && v["from"] == "agent").expect("the visitor gets the agent's line");
    assert_eq!(got["text"], "Hi Vera, let me check <b>that</b>.");
    visitor.send(Message::Text(r#"{"type":"say","text":"Thanks!"}"#.into())).unwrap();
    let got = next_json(&mut alice, T, |v| v["type"] == "chat_message" && v["from"] == "visitor").expect("the agent gets the visitor's line");
    assert_eq!((got["text"].as_str(), got["chat_id"].as_str()), (Some("Thanks!"), Some(chat_id.as_str())));
    let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(201));
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/message?agent=alice"), &key, &long).status, 409, "over max_message_chars");
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/message?agent=alice"), &key, "not json").status, 400);

    // alice ends it: the visitor is told, alice goes to wrap-up.
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/end?agent=alice"), &key, "").status, 204);
    assert!(next_json(&mut visitor, T, |v| v["type"] == "status" && v["state"] == "ended").is_some());
    let ended = next_json(&mut alice, T, |v| v["type"] == "chat_ended").expect("chat_ended");
    assert_eq!(ended["by"], "agent");
    eventually("alice in wrap-up", || state("alice") == Some("wrap-up".into()));
    assert_eq!(get(&sb, &page, Some(&cookie)).status, 404, "the page is gone with the chat");
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/message?agent=alice"), &key, r#"{"text":"late"}"#).status, 404);

    // Wrap-up on the chat, by its agent only.
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/disposition?agent=bob&code=x"), &key, "").status, 403);
    assert_eq!(api_post(&sb, &format!("/api/v1/chats/{chat_id}/disposition?agent=alice&code=support&notes=router+reset"), &key, "").status, 204);

    // The transcript, in order, linked to the customer.
    let (status, body) = sb.api("GET", &format!("/api/v1/chats/{chat_id}"), &key);
    assert_eq!(status, 200, "{body}");
    let t: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((t["agent"].as_str(), t["ended_by"].as_str(), t["disposition"].as_str()), (Some("alice"), Some("agent"), Some("support")));
    assert!(t["customer_id"].as_i64().is_some(), "linked to Grace Hopper: {t}");
    let lines: Vec<(String, String)> =
        t["messages"].as_array().unwrap().iter().map(|m| (m["sender"].as_str().unwrap().to_string(), m["body"].as_str().unwrap().to_string())).collect();
    let senders: Vec<&str> = lines.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(senders, ["visitor", "system", "agent", "visitor", "system"], "{lines:?}");
    assert_eq!(lines[2].1, "Hi Vera, let me check <b>that</b>.");
    assert_eq!(lines[3].1, "Thanks!");
    let q = queue_stats(&sb, &key, "chat");
    assert_eq!((q["joined"].as_u64(), q["answered"].as_u64()), (Some(1), Some(1)), "the ACD counted the chat: {q}");

    // Chats per address: the second starts, the third waits.
    let again = post_form(&sb, "/contact/chat", &[], &[("chat_name", "Vera"), ("chat_message", "One more thing")]);
    assert_eq!(again.status, 303);
    let third = post_form(&sb, "/contact/chat", &[], &[("chat_name", "Vera"), ("chat_message", "And another")]);
    assert_eq!(third.status, 429);
    let invalid = post_form(&sb, "/contact/chat", &[], &[("chat_name", ""), ("chat_message", "x")]);
    assert_eq!(invalid.status, 422);
    assert!(invalid.body.contains("id=\"chat_name-error\""));
}

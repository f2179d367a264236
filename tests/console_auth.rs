//! Console security against the real binary over HTTP (issue 6): no default
//! password (the one-time setup link creates the first admin and then
//! stops working), session cookies (HttpOnly, SameSite=Strict), CSRF on
//! every state change, cross-origin refusal, roles on pages and on the API
//! (console sessions authenticate the API too), login lockout per account
//! and rate limiting per address, the audit log, and hostile strings in
//! filters and bodies.

mod common;

use common::http::{form, request, Resp};
use common::switchboard::Switchboard;

const PW: &str = "a long passphrase";

fn get(sb: &Switchboard, path: &str, cookie: Option<&str>) -> Resp {
    let c = cookie.map(|c| format!("sb_session={c}"));
    let h: Vec<(&str, &str)> = c.iter().map(|c| ("Cookie", c.as_str())).collect();
    request(sb.http_port, "GET", path, &h, b"")
}

fn post_form(sb: &Switchboard, path: &str, cookie: Option<&str>, extra: &[(&str, &str)], fields: &[(&str, &str)]) -> Resp {
    let c = cookie.map(|c| format!("sb_session={c}"));
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(c) = &c {
        h.push(("Cookie", c.as_str()));
    }
    h.extend_from_slice(extra);
    request(sb.http_port, "POST", path, &h, &form(fields))
}

/// The link `setup-link` prints (path part).
fn setup_path(sb: &Switchboard) -> String {
    let out = sb.admin_ok(&["setup-link"]);
    let at = out.find("/setup/").unwrap_or_else(|| panic!("no link in {out}"));
    out[at..].trim().to_string()
}

/// The status line of a request whose answer never ends (a WebSocket).
fn head_status(port: u16, path: &str, headers: &[(&str, &str)]) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn login(sb: &Switchboard, user: &str, pw: &str) -> Resp {
    post_form(sb, "/login", None, &[], &[("username", user), ("password", pw), ("next", "")])
}

#[test]
fn first_admin_comes_from_a_one_time_link_and_sessions_are_guarded() {
    let mut sb = Switchboard::start_with("").expect("start");
    // The start prints a link; nobody can log in before it is used.
    sb.wait_log("/setup/", std::time::Duration::from_secs(10)).expect("setup link printed at start");
    let start_link = {
        let log = sb.log();
        let at = log.find("/setup/").expect("link");
        log[at..].split_whitespace().next().expect("path").to_string()
    };
    let r = get(&sb, "/", None);
    assert_eq!((r.status, r.header("location")), (303, Some("/login?next=/")), "{r:?}");
    assert!(get(&sb, "/login", None).body.contains("no administrator yet"));
    assert_eq!(login(&sb, "admin", "admin").status, 401, "no default account");

    // A new link replaces the printed one.
    let link = setup_path(&sb);
    assert_eq!(get(&sb, &start_link, None).status, 404, "the older link stopped working");
    assert_eq!(get(&sb, &link, None).status, 200);
    let short = post_form(&sb, &link, None, &[], &[("username", "root"), ("password", "short"), ("confirm", "short")]);
    assert_eq!(short.status, 422);
    assert!(short.body.contains("password must be at least 10 characters"), "{}", short.body);
    let ok = post_form(&sb, &link, None, &[], &[("username", "root"), ("display_name", "Root"), ("password", PW), ("confirm", PW)]);
    assert_eq!(ok.status, 303, "{ok:?}");
    let (cookie, set) = ok.set_cookie("sb_session").expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{flag} missing: {set}");
    }
    assert_eq!(get(&sb, &link, None).status, 404, "the link is spent");
    assert!(!sb.admin(&["setup-link"]).status.success(), "no new link once an admin exists");

    // Pages need the session; changes need its CSRF token and this origin.
    let dash = get(&sb, "/", Some(&cookie));
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("Dashboard"));
    assert_eq!(dash.header("x-frame-options"), Some("DENY"));
    assert!(dash.header("content-security-policy").is_some_and(|c| c.contains("script-src 'self'")));
    let csrf = dash.csrf_token();
    let ext = [("number", "1001"), ("name", "Front desk"), ("secret", "secret-1001")];
    assert_eq!(post_form(&sb, "/extensions", Some(&cookie), &[], &ext).status, 403, "no CSRF token");
    let mut with_token = ext.to_vec();
    with_token.push(("_csrf", "forged"));
    assert_eq!(post_form(&sb, "/extensions", Some(&cookie), &[], &with_token).status, 403, "wrong CSRF token");
    with_token.pop();
    with_token.push(("_csrf", &csrf));
    let cross = post_form(&sb, "/extensions", Some(&cookie), &[("Origin", "http://evil.example")], &with_token);
    assert_eq!(cross.status, 403, "cross-origin");
    assert!(!sb.admin_ok(&["extension", "list"]).contains("1001"), "nothing refused was written");
    let made = post_form(&sb, "/extensions", Some(&cookie), &[], &with_token);
    assert_eq!(made.status, 303, "{made:?}");
    assert!(sb.admin_ok(&["extension", "list"]).contains("Front desk"));
    // Inline validation: the field is named on the page.
    let bad = post_form(&sb, "/extensions", Some(&cookie), &[("X-CSRF-Token", &csrf)], &[("number", "12ab"), ("secret", "x")]);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"number-error\"") && bad.body.contains("id=\"secret-error\""), "{}", bad.body);
    // Hostile text is shown, escaped, never run.
    let xss = post_form(&sb, "/extensions", Some(&cookie), &[("X-CSRF-Token", &csrf)], &[("number", "1002"), ("name", "<script>alert(1)</script>"), ("secret", "secret-1002")]);
    assert_eq!(xss.status, 303);
    let list = get(&sb, "/extensions", Some(&cookie));
    assert!(list.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !list.body.contains("<script>alert(1)"), "escaped");
    let audit = get(&sb, "/audit", Some(&cookie));
    assert!(audit.body.contains("extension.create") && audit.body.contains("setup.first_admin"), "{}", audit.body);

    // The console session authenticates the API too, CSRF included.
    let q = request(sb.http_port, "GET", "/api/v1/customers?q=%27%20OR%201%3D1%20--", &[("Cookie", &format!("sb_session={cookie}"))], b"");
    assert_eq!(q.status, 200, "{q:?}");
    let v: serde_json::Value = serde_json::from_str(&q.body).expect("json");
    assert_eq!(v["total"], 0, "an SQL-looking filter is just text: {v}");
    let c = format!("sb_session={cookie}");
    let json_post = |csrf: Option<&str>, body: &[u8]| {
        let mut h = vec![("Cookie", c.as_str()), ("Content-Type", "application/json")];
        if let Some(t) = csrf {
            h.push(("X-CSRF-Token", t));
        }
        request(sb.http_port, "POST", "/api/v1/queues", &h, body)
    };
    assert_eq!(json_post(None, br#"{"name":"sales"}"#).status, 403, "API with a session needs the CSRF token");
    let malformed = json_post(Some(&csrf), b"{\"name\": ");
    assert_eq!(malformed.status, 400, "{malformed:?}");
    assert!(malformed.body.contains("error"), "{}", malformed.body);
    assert_eq!(json_post(Some(&csrf), br#"{"name":"sales","strategy":"ring_all"}"#).status, 201);

    // The event WebSocket takes the cookie from this origin only.
    let ws = |origin: &str| {
        let port = sb.http_port;
        let o = if origin.is_empty() { format!("http://127.0.0.1:{port}") } else { origin.to_string() };
        let h = [("Cookie", c.as_str()), ("Origin", o.as_str()), ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")];
        head_status(port, "/api/v1/events", &h)
    };
    assert_eq!(ws("http://evil.example"), 403, "cross-site WebSocket hijacking");
    assert_eq!(ws(""), 101, "same origin");

    // Logout ends the session on the server, not only in the browser.
    let out = post_form(&sb, "/logout", Some(&cookie), &[], &[("_csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert!(out.set_cookie("sb_session").is_some_and(|(v, _)| v.is_empty()));
    assert_eq!(get(&sb, "/", Some(&cookie)).status, 303, "old cookie no longer works");
    assert_eq!(request(sb.http_port, "GET", "/api/v1/queues", &[("Cookie", &c)], b"").status, 401);
}

#[test]
fn roles_lockout_and_rate_limits() {
    let sb = Switchboard::start_with("").expect("start");
    let link = setup_path(&sb);
    assert_eq!(post_form(&sb, &link, None, &[], &[("username", "root"), ("password", PW), ("confirm", PW)]).status, 303);
    let made = sb.admin_stdin(&["user", "add", "ann", "--role", "agent", "--agent", "ann"], &format!("{PW}\n"));
    assert!(made.status.success(), "{made:?}");
    let made = sb.admin_stdin(&["user", "add", "sam", "--role", "supervisor"], &format!("{PW}\n"));
    assert!(made.status.success(), "{made:?}");
    assert!(!sb.admin_stdin(&["user", "add", "bob", "--role", "agent"], &format!("{PW}\n")).status.success(), "agent without --agent");

    // An agent lands on the agent panel; admin pages and admin API refuse it.
    let r = login(&sb, "ann", PW);
    assert_eq!((r.status, r.header("location")), (303, Some("/agent")));
    let agent = r.set_cookie("sb_session").expect("cookie").0;
    assert_eq!(get(&sb, "/extensions", Some(&agent)).status, 403);
    assert_eq!(get(&sb, "/users", Some(&agent)).status, 403);
    let c = format!("sb_session={agent}");
    assert_eq!(request(sb.http_port, "GET", "/api/v1/queues", &[("Cookie", &c)], b"").status, 403, "admin API");
    assert_eq!(request(sb.http_port, "GET", "/api/v1/stats", &[("Cookie", &c)], b"").status, 403, "agents have no stats scope");
    assert_eq!(request(sb.http_port, "GET", "/api/v1/queues", &[], b"").status, 401, "nobody");
    // An agent acts on their own agent and calls only.
    let panel = get(&sb, "/agent", Some(&agent));
    assert_eq!(panel.status, 200);
    let token = panel.csrf_token();
    let act = |path: &str| request(sb.http_port, "POST", path, &[("Cookie", c.as_str()), ("X-CSRF-Token", token.as_str())], b"").status;
    assert_eq!(act("/api/v1/agents/bob/pause?reason=x"), 403, "someone else's state");
    assert_eq!(act("/api/v1/calls/some-call/hangup"), 403, "not their call");
    assert_eq!(act("/api/v1/calls/some-call/disposition?code=sale"), 403, "not their last call");
    assert_eq!(act("/api/v1/agents/alice/supervise?supervisor=2001"), 403, "agents do not supervise");
    assert_ne!(act("/api/v1/agents/ann/login"), 403, "their own state");
    assert_eq!(get(&sb, "/agent/history?number=5551234", Some(&agent)).status, 403, "not a caller of theirs");
    // A supervisor sees the dashboard but not user management.
    let sup = login(&sb, "SAM", PW).set_cookie("sb_session").expect("usernames are case-insensitive").0;
    assert_eq!(get(&sb, "/agent/history?number=5551234", Some(&sup)).status, 200, "supervisors see any caller's history");
    assert_eq!(get(&sb, "/", Some(&sup)).status, 200);
    assert_eq!(get(&sb, "/users", Some(&sup)).status, 403);

    // Five wrong passwords lock the account; the right one then waits too.
    for _ in 0..5 {
        assert_eq!(login(&sb, "sam", "wrong password!").status, 401);
    }
    let locked = login(&sb, "sam", PW);
    assert_eq!(locked.status, 401);
    assert!(locked.body.contains("Too many failed logins for this account"), "{}", locked.body);
    assert!(sb.log().contains("console login failed"), "failures are logged");
    // Unknown users fail the same way, and the address is throttled after ten.
    let mut last = login(&sb, "nobody", "x");
    for _ in 0..10 {
        if last.status == 429 {
            break;
        }
        last = login(&sb, "nobody", "x");
    }
    assert_eq!(last.status, 429, "{last:?}");
    assert!(last.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s > 0 && s <= 600));
    assert_eq!(login(&sb, "root", PW).status, 429, "even good passwords wait at the address limit");
}

/// Console brute force (issue 9, "console brute force locked out"): the
/// account lockout seen from the admin's side. The wrong guesses and the
/// lockout are logged; the lock shows in the API (`locked_until`) and on
/// the console's user list; a correct password is refused while it lasts;
/// an admin lifts it by setting a new password (audited), after which the
/// user logs in again. The lockout is 15 minutes, so nothing here waits.
#[test]
fn a_locked_account_is_visible_to_an_admin_and_a_new_password_lifts_it() {
    let sb = Switchboard::start_with("").expect("start");
    let link = setup_path(&sb);
    assert_eq!(post_form(&sb, &link, None, &[], &[("username", "root"), ("password", PW), ("confirm", PW)]).status, 303);
    let made = sb.admin_stdin(&["user", "add", "sam", "--role", "supervisor"], &format!("{PW}\n"));
    assert!(made.status.success(), "{made:?}");
    let bearer = format!("Bearer {}", sb.key());
    let users = || {
        let r = request(sb.http_port, "GET", "/api/v1/users", &[("Authorization", bearer.as_str())], b"");
        assert_eq!(r.status, 200, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        v["users"].as_array().expect("users").iter().find(|u| u["username"] == "sam").expect("sam is listed").clone()
    };
    assert!(users()["locked_until"].is_null(), "not locked yet");

    // Four wrong guesses are only wrong; the fifth locks the account (and
    // says so), and then the right password is refused the same way.
    for _ in 0..4 {
        let r = login(&sb, "sam", "wrong password!");
        assert_eq!(r.status, 401);
        assert!(r.body.contains("Wrong username or password."), "{}", r.body);
    }
    let fifth = login(&sb, "sam", "wrong password!");
    assert_eq!(fifth.status, 401);
    assert!(fifth.body.contains("Too many failed logins for this account. Try again in 15 minutes."), "{}", fifth.body);
    let right = login(&sb, "sam", PW);
    assert_eq!(right.status, 401, "the right password during the lockout");
    assert!(right.set_cookie("sb_session").is_none(), "no session during the lockout");
    assert!(right.body.contains("Too many failed logins for this account"), "{}", right.body);
    let log = sb.log();
    let failures = log.lines().filter(|l| l.contains("console login failed") && l.contains("username=sam")).collect::<Vec<_>>();
    assert_eq!(failures.len(), 6, "every refused attempt is logged:\n{log}");
    assert_eq!(failures.iter().filter(|l| l.contains("BadCredentials")).count(), 4, "{failures:#?}");
    assert_eq!(failures.iter().filter(|l| l.contains("Locked")).count(), 2, "the lockout is logged: {failures:#?}");

    // The admin sees it: in the API, until when, and on the user list.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let until = users()["locked_until"].as_i64().expect("locked_until is set");
    assert!(until > now && until <= now + 15 * 60 + 5, "locked for about 15 minutes: {until} vs now {now}");
    let root = login(&sb, "root", PW);
    assert_eq!(root.status, 303, "another account is not affected");
    let cookie = root.set_cookie("sb_session").expect("cookie").0;
    let page = get(&sb, "/users", Some(&cookie));
    assert_eq!(page.status, 200);
    let row = page.body.split("<tr").find(|r| r.contains(">sam")).unwrap_or_else(|| panic!("sam's row: {}", page.body));
    assert!(row.contains("locked"), "the user list marks sam locked: {row}");

    // The admin lifts it by setting a new password: audited, unlocked, and
    // the new password logs in.
    let id = users()["id"].as_i64().expect("id");
    let body = serde_json::json!({ "password": "a brand new passphrase" }).to_string();
    let set = request(sb.http_port, "PUT", &format!("/api/v1/users/{id}/password"), &[("Authorization", bearer.as_str()), ("Content-Type", "application/json")], body.as_bytes());
    assert_eq!(set.status, 204, "{set:?}");
    assert!(users()["locked_until"].is_null(), "the lockout is lifted");
    let audit = request(sb.http_port, "GET", "/api/v1/audit?target=sam", &[("Authorization", bearer.as_str())], b"");
    assert!(audit.status == 200 && audit.body.contains("user.password"), "the reset is audited: {audit:?}");
    let again = login(&sb, "sam", "a brand new passphrase");
    assert_eq!(again.status, 303, "sam logs in after the admin's reset: {}", again.body);
    assert!(again.set_cookie("sb_session").is_some());
    let page = get(&sb, "/users", Some(&cookie));
    let row = page.body.split("<tr").find(|r| r.contains(">sam")).expect("sam's row");
    assert!(!row.contains("locked"), "no longer marked locked: {row}");
}

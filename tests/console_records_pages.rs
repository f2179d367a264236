//! The console's call records, voicemail and API key pages against the
//! real binary over HTTP: who may open them (403 for a lower role), the
//! call record filters (hostile text included), paging and CSV export
//! (quoting, formula defusing, audited), recordings and voicemail played
//! through authenticated audio routes (ranges; nothing outside their
//! folders), mailbox and API key forms with CSRF, inline validation
//! errors, the effect seen through the CLI and API, and the audit log.
//! Call records, recordings and messages are written through the
//! library's store, as the call layer writes them.

mod common;

use common::http::{form, request, Resp};
use common::switchboard::Switchboard;
use switchboard::store::{LegQualityRow, NewVoicemail, RecordingSummary, Store};

const PW: &str = "a long passphrase";

fn get(sb: &Switchboard, path: &str, cookie: &str) -> Resp {
    get_with(sb, path, cookie, &[])
}

fn get_with(sb: &Switchboard, path: &str, cookie: &str, extra: &[(&str, &str)]) -> Resp {
    let c = format!("sb_session={cookie}");
    let mut h = vec![("Cookie", c.as_str())];
    h.extend_from_slice(extra);
    request(sb.http_port, "GET", path, &h, b"")
}

fn post(sb: &Switchboard, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Resp {
    let c = format!("sb_session={cookie}");
    let h = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", c.as_str())];
    request(sb.http_port, "POST", path, &h, &form(fields))
}

fn login(sb: &Switchboard, user: &str) -> String {
    let r = request(
        sb.http_port,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("username", user), ("password", PW), ("next", "")]),
    );
    assert_eq!(r.status, 303, "login {user}: {r:?}");
    r.set_cookie("sb_session").expect("session cookie").0
}

/// An appliance with admin `root`, supervisor `sam` and agent `ann`;
/// their session cookies in that order.
fn appliance() -> (Switchboard, [String; 3]) {
    let sb = Switchboard::start_with("").expect("start");
    let out = sb.admin_ok(&["setup-link"]);
    let link = out[out.find("/setup/").expect("setup link")..].trim().to_string();
    let made = request(
        sb.http_port,
        "POST",
        &link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(&[("username", "root"), ("password", PW), ("confirm", PW)]),
    );
    assert_eq!(made.status, 303, "{made:?}");
    for args in [&["user", "add", "sam", "--role", "supervisor"][..], &["user", "add", "ann", "--role", "agent", "--agent", "ann"]] {
        let out = sb.admin_stdin(args, &format!("{PW}\n"));
        assert!(out.status.success(), "{out:?}");
    }
    let cookies = [login(&sb, "root"), login(&sb, "sam"), login(&sb, "ann")];
    (sb, cookies)
}

/// Unix ms of `YYYY-MM-DD HH:MM` UTC.
fn at(date: &str, hm: &str) -> i64 {
    let s = format!("{date}T{hm}:00Z");
    s.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).unwrap_or_else(|_| panic!("{s}"))
}

/// `<tr data-call="…">` rows of a calls page.
fn call_rows(body: &str) -> Vec<String> {
    body.split("data-call=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
}

#[test]
fn call_records_filter_page_export_and_play() {
    let (sb, [admin, sup, agent]) = appliance();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    let times = |id: i64, start: i64, answered: Option<i64>, end: i64| {
        rt.block_on(
            sqlx::query("UPDATE call_records SET started_at = ?, answered_at = ?, ended_at = ? WHERE id = ?")
                .bind(start)
                .bind(answered)
                .bind(end)
                .bind(id)
                .execute(store.pool()),
        )
        .unwrap();
    };
    // Old filler calls for paging, then three distinct ones.
    for i in 0..55 {
        let id = rt.block_on(store.open_call_record(&format!("fill-{i}"), "internal", "3000", "3001", None)).unwrap();
        rt.block_on(store.close_call_record(id, 487, "caller", None, None)).unwrap();
        times(id, at("2025-12-01", "08:00") + i * 60_000, None, at("2025-12-01", "08:00") + i * 60_000 + 5_000);
    }
    let q = LegQualityRow { packets: 500, lost: 1, jitter_ms: 2.0, rtt_ms: Some(20.0), mos: Some(4.31) };
    let a = rt.block_on(store.open_call_record("call-a", "inbound", "+4930111", "2001", Some("carrier"))).unwrap();
    rt.block_on(store.close_call_record(a, 200, "caller", Some(q), Some(q))).unwrap();
    times(a, at("2026-01-10", "10:00"), Some(at("2026-01-10", "10:00") + 4_000), at("2026-01-10", "10:02") + 4_000);
    rt.block_on(store.set_disposition("call-a", "sale", "=HYPERLINK(\"http://evil\",\"x\"), said \"hi\"")).unwrap();
    let b = rt.block_on(store.open_call_record("call-b", "outbound", "2001", "0049301", Some("carrier"))).unwrap();
    rt.block_on(store.close_call_record(b, 486, "callee", None, None)).unwrap();
    times(b, at("2026-01-11", "09:00"), None, at("2026-01-11", "09:00") + 3_000);
    let c = rt.block_on(store.open_call_record("call-c", "internal", "2002", "<img src=x>", None)).unwrap();
    rt.block_on(store.close_call_record(c, 200, "callee", None, None)).unwrap();
    times(c, at("2026-01-12", "12:00"), Some(at("2026-01-12", "12:00")), at("2026-01-12", "12:01"));

    // Recordings: one real, three whose rows point outside `recordings/`.
    let data = sb.data_dir();
    std::fs::create_dir_all(data.join("recordings")).unwrap();
    let audio = b"RIFF0123456789-recorded-conversation".to_vec();
    std::fs::write(data.join("recordings/call-a.wav"), &audio).unwrap();
    std::fs::write(sb.dir().join("secret.wav"), b"TOPSECRET").unwrap();
    std::fs::write(data.join("outside.wav"), b"TOPSECRET").unwrap();
    let done = RecordingSummary { duration_ms: 120_000, bytes: audio.len() as i64, ..Default::default() };
    let rec = |call: &str, path: String| {
        let id = rt.block_on(store.start_recording_row(call, &path, "wav", "stereo", 16000)).unwrap();
        rt.block_on(store.finish_recording_row(id, Some(&done))).unwrap();
        id
    };
    let good = rec("call-a", data.join("recordings/call-a.wav").display().to_string());
    let escapes = [
        rec("call-b", sb.dir().join("secret.wav").display().to_string()),
        rec("call-b", data.join("recordings/../outside.wav").display().to_string()),
        rec("call-b", data.join("switchboard.db").display().to_string()),
    ];

    // Roles: supervisors and admins; agents get 403, nobody the login page.
    assert_eq!(get(&sb, "/calls", &agent).status, 403);
    assert_eq!(get(&sb, "/calls.csv", &agent).status, 403);
    assert_eq!(get(&sb, &format!("/recordings/{good}/audio"), &agent).status, 403);
    let anon = request(sb.http_port, "GET", &format!("/recordings/{good}/audio"), &[], b"");
    assert_eq!((anon.status, anon.header("location")), (303, Some(format!("/login?next=/recordings/{good}/audio").as_str())));
    assert_eq!(get(&sb, "/calls", &admin).status, 200);
    let page = get(&sb, "/calls", &sup);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains(">Call records<") && !page.body.contains(">API keys<"), "supervisor navigation");
    assert!(page.body.contains("Showing 1–50 of 58 calls"), "{}", page.body);
    assert_eq!(&call_rows(&page.body)[..3], ["call-c", "call-b", "call-a"], "newest first");
    assert!(page.body.contains(&format!("<audio controls preload=\"none\" src=\"/recordings/{good}/audio\"")), "player");
    assert!(page.body.contains("&lt;img src=x&gt;") && !page.body.contains("<img src=x>"), "escaped");
    assert!(page.body.contains("4.3") && page.body.contains("busy"), "MOS and outcome shown");
    let older = get(&sb, "/calls?page=2", &sup);
    assert!(older.body.contains("Showing 51–58 of 58 calls"), "{}", older.body);
    assert_eq!(call_rows(&older.body).len(), 8);

    // Filters, each narrowing to what it should.
    let only = |query: &str| {
        let r = get(&sb, &format!("/calls?{query}"), &sup);
        assert_eq!(r.status, 200, "{query}: {r:?}");
        call_rows(&r.body)
    };
    assert_eq!(only("direction=inbound"), ["call-a"]);
    assert_eq!(only("caller=4930"), ["call-a"], "substring");
    assert_eq!(only("from=2026-01-11&to=2026-01-11"), ["call-b"], "date range, inclusive");
    assert_eq!(only("from=2026-01-01&answered=no"), ["call-b"]);
    assert_eq!(only("from=2026-01-01&answered=yes"), ["call-c", "call-a"]);
    assert_eq!(only("disposition=SALE"), ["call-a"]);
    assert_eq!(only("trunk=carrier"), ["call-b", "call-a"]);
    assert_eq!(only("q=hyperlink"), ["call-a"], "free text in notes");
    assert_eq!(only("callee=0049&direction=outbound"), ["call-b"]);
    for hostile in ["caller=%27%20OR%201%3D1%20--", "q=%27%20OR%201%3D1%20--", "trunk=x%27%20OR%20%271%27%3D%271", "q=%25"] {
        let r = get(&sb, &format!("/calls?{hostile}"), &sup);
        assert_eq!(r.status, 200, "{hostile}");
        assert!(call_rows(&r.body).is_empty() && r.body.contains("No calls match this filter"), "{hostile}: {}", r.body);
    }
    let bad = get(&sb, "/calls?from=2026-02-30&direction=sideways", &sup);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"from-error\"") && bad.body.contains("id=\"direction-error\""), "{}", bad.body);
    assert!(bad.body.contains("value=\"2026-02-30\""), "the typed value stays");

    // CSV of the filtered set: quoted, formulas defused, audited.
    let csv = get(&sb, "/calls.csv?trunk=carrier", &sup);
    assert_eq!(csv.status, 200, "{csv:?}");
    assert!(csv.header("content-type").is_some_and(|t| t.starts_with("text/csv")));
    assert!(csv.header("content-disposition").is_some_and(|d| d.starts_with("attachment; filename=\"calls-")));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "header and two calls: {}", csv.body);
    assert!(lines[0].starts_with("start_utc,call_id,direction,caller,callee,trunk,"), "{}", lines[0]);
    assert!(lines[1].starts_with("2026-01-11 09:00:00,call-b,outbound,2001,0049301,carrier,,"), "{}", lines[1]);
    assert!(lines[2].contains(",'+4930111,2001,carrier,"), "caller defused: {}", lines[2]);
    assert!(lines[2].contains(",sale,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\"), said \"\"hi\"\"\",4.31,4.31"), "{}", lines[2]);
    assert!(lines[2].contains(",124,120,200,caller,,sale,"), "duration, talk time, status: {}", lines[2]);
    assert_eq!(get(&sb, "/calls.csv?from=nope", &sup).status, 400);
    let audit = get(&sb, "/audit", &admin);
    assert!(audit.body.contains("calls.export") && audit.body.contains("2 rows; filter"), "{}", audit.body);

    // The recording plays, whole or by range; nothing else does.
    let path = format!("/recordings/{good}/audio");
    let whole = get(&sb, &path, &sup);
    assert_eq!((whole.status, whole.header("content-type"), whole.header("accept-ranges")), (200, Some("audio/wav"), Some("bytes")));
    assert_eq!(whole.body.as_bytes(), &audio[..]);
    let part = get_with(&sb, &path, &sup, &[("Range", "bytes=4-9")]);
    assert_eq!((part.status, part.header("content-range"), part.body.as_str()), (206, Some(format!("bytes 4-9/{}", audio.len()).as_str()), "012345"));
    let tail = get_with(&sb, &path, &sup, &[("Range", "bytes=-12")]);
    assert_eq!((tail.status, tail.body.as_str()), (206, "conversation"));
    let past = get_with(&sb, &path, &sup, &[("Range", "bytes=1000-")]);
    assert_eq!((past.status, past.header("content-range")), (416, Some(format!("bytes */{}", audio.len()).as_str())));
    for id in escapes {
        let r = get(&sb, &format!("/recordings/{id}/audio"), &sup);
        assert_eq!(r.status, 404, "recording {id}: {r:?}");
        assert!(!r.body.contains("TOPSECRET") && !r.body.contains("SQLite"));
    }
    for other in ["/recordings/9999/audio", "/recordings/..%2F..%2Fetc%2Fpasswd/audio", "/recordings/-1/audio"] {
        assert_eq!(get(&sb, other, &sup).status, 404, "{other}");
    }
}

#[test]
fn voicemail_page_manages_mailboxes_and_messages() {
    let (sb, [admin, sup, agent]) = appliance();
    assert_eq!(get(&sb, "/voicemail", &sup).status, 403);
    assert_eq!(get(&sb, "/voicemail", &agent).status, 403);
    let page = get(&sb, "/voicemail", &admin);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No mailboxes yet"), "empty state");
    let csrf = page.csrf_token();
    let alice = [("number", "1001"), ("name", "Alice"), ("pin", "4321"), ("email", "alice@example.org"), ("kind", "extension"), ("members", ""), ("max_secs", "")];
    assert_eq!(post(&sb, "/voicemail", &admin, &alice).status, 403, "no CSRF token");
    assert!(!sb.admin_ok(&["mailbox", "list"]).contains("Alice"));
    let mut with = alice.to_vec();
    with.push(("_csrf", &csrf));
    let made = post(&sb, "/voicemail", &admin, &with);
    assert_eq!((made.status, made.header("location").map(|l| l.starts_with("/voicemail?ok="))), (303, Some(true)), "{made:?}");
    let list = sb.admin_ok(&["mailbox", "list"]);
    let line = list.lines().find(|l| l.starts_with("1001 ")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("Alice") && line.contains("extension") && line.contains(" 180 ") && line.contains("alice@example.org"), "{line}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    assert!(rt.block_on(store.verify_pin("1001", "4321")).unwrap(), "PIN set (hashed)");

    // Validation at the fields, the CLI's rules.
    let bad = post(&sb, "/voicemail", &admin, &[("number", "10x"), ("pin", "12"), ("email", "nope"), ("_csrf", &csrf)]);
    assert_eq!(bad.status, 422);
    for id in ["number-error", "pin-error", "email-error"] {
        assert!(bad.body.contains(&format!("id=\"{id}\"")), "{id}: {}", bad.body);
    }
    assert!(bad.body.contains("must be 4 to 10 digits") && bad.body.contains("value=\"10x\""), "{}", bad.body);
    let dup = post(&sb, "/voicemail", &admin, &with);
    assert_eq!(dup.status, 422);
    assert!(dup.body.contains("id=\"number-error\">mailbox 1001 already exists"), "{}", dup.body);
    let lonely = post(&sb, "/voicemail", &admin, &[("number", "600"), ("pin", "1234"), ("kind", "group"), ("_csrf", &csrf)]);
    assert!(lonely.status == 422 && lonely.body.contains("id=\"members-error\""), "{}", lonely.body);
    let group = [("number", "600"), ("pin", "1234"), ("kind", "group"), ("members", "1001, 1002"), ("max_secs", "30"), ("_csrf", &csrf)];
    assert_eq!(post(&sb, "/voicemail", &admin, &group).status, 303);
    let list = sb.admin_ok(&["mailbox", "list"]);
    assert!(list.lines().any(|l| l.starts_with("600 ") && l.contains("group") && l.contains(" 30 ") && l.ends_with("1001,1002")), "{list}");
    assert!(!list.contains("10x"));

    // Messages: listen, mark heard, delete (the file goes with the row).
    let dir = sb.data_dir().join("voicemail/1001");
    std::fs::create_dir_all(&dir).unwrap();
    let msg = |name: &str, path: &std::path::Path, body: &[u8]| {
        std::fs::write(path, body).unwrap();
        let m = NewVoicemail { mailbox: "1001".into(), caller: "2002".into(), caller_name: name.into(), call_id: format!("vm-{name}"), duration_ms: 7_400, path: path.display().to_string() };
        rt.block_on(store.insert_message(&m)).unwrap()
    };
    let first = msg("Bob <b>", &dir.join("m1.wav"), b"RIFF-message-one");
    let second = msg("Carol", &dir.join("m2.wav"), b"RIFF-message-two");
    let outside = msg("Mallory", &sb.dir().join("m3.wav"), b"TOPSECRET");
    let msgs = get(&sb, "/voicemail/1001", &admin);
    assert_eq!(msgs.status, 200);
    assert!(msgs.body.contains("Bob &lt;b&gt;") && msgs.body.contains("Carol"), "{}", msgs.body);
    assert!(msgs.body.contains(&format!("src=\"/voicemail/messages/{first}/audio\"")), "player");
    assert_eq!(get(&sb, "/voicemail/1001", &sup).status, 403);
    let play = get(&sb, &format!("/voicemail/messages/{first}/audio"), &admin);
    assert_eq!((play.status, play.header("content-type"), play.body.as_str()), (200, Some("audio/wav"), "RIFF-message-one"));
    let part = get_with(&sb, &format!("/voicemail/messages/{second}/audio"), &admin, &[("Range", "bytes=5-")]);
    assert_eq!((part.status, part.body.as_str()), (206, "message-two"));
    let escaped = get(&sb, &format!("/voicemail/messages/{outside}/audio"), &admin);
    assert!(escaped.status == 404 && !escaped.body.contains("TOPSECRET"), "{escaped:?}");
    assert_eq!(get(&sb, &format!("/voicemail/messages/{first}/audio"), &sup).status, 403);

    let heard = post(&sb, &format!("/voicemail/messages/{first}/heard"), &admin, &[("_csrf", &csrf)]);
    assert_eq!((heard.status, heard.header("location").map(|l| l.starts_with("/voicemail/1001?ok="))), (303, Some(true)), "{heard:?}");
    let cli = sb.admin_ok(&["voicemail", "list", "1001"]);
    let heard_of = |id: i64| cli.lines().find(|l| l.starts_with(&format!("{id} "))).map(|l| l.trim_end().ends_with("yes"));
    assert_eq!((heard_of(first), heard_of(second)), (Some(true), Some(false)), "{cli}");
    assert_eq!(post(&sb, &format!("/voicemail/messages/{second}/delete"), &admin, &[]).status, 403, "no CSRF token");
    let gone = post(&sb, &format!("/voicemail/messages/{second}/delete"), &admin, &[("_csrf", &csrf)]);
    assert_eq!(gone.status, 303);
    assert!(!dir.join("m2.wav").exists(), "file removed with the message");
    assert!(!sb.admin_ok(&["voicemail", "list", "1001"]).lines().any(|l| l.starts_with(&format!("{second} "))));

    let removed = post(&sb, "/voicemail/1001/delete", &admin, &[("_csrf", &csrf)]);
    assert_eq!(removed.status, 303);
    assert!(!sb.admin_ok(&["mailbox", "list"]).lines().any(|l| l.starts_with("1001 ")), "mailbox gone");
    assert!(!dir.join("m1.wav").exists(), "its messages' files too");
    let audit = get(&sb, "/audit", &admin).body;
    for action in ["mailbox.create", "voicemail.heard", "voicemail.delete", "mailbox.delete"] {
        assert!(audit.contains(action), "{action} audited: {audit}");
    }
}

#[test]
fn api_keys_page_creates_shows_once_and_deletes() {
    let (sb, [admin, sup, _agent]) = appliance();
    assert_eq!(get(&sb, "/apikeys", &sup).status, 403);
    let page = get(&sb, "/apikeys", &admin);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No API keys yet"), "empty state");
    let nav = &page.body;
    let pos = |label: &str| nav.find(&format!(">{label}</a>")).unwrap_or_else(|| panic!("{label} in nav"));
    assert!(pos("Extensions") < pos("Call records") && pos("Call records") < pos("Voicemail") && pos("Voicemail") < pos("API keys") && pos("API keys") < pos("Users and roles"));
    let csrf = page.csrf_token();

    let made = post(&sb, "/apikeys", &admin, &[("name", "wallboard"), ("scopes", "stats"), ("scopes", "events"), ("_csrf", &csrf)]);
    assert_eq!(made.status, 200, "{made:?}");
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let at = made.body.find("id=\"new-api-key\">").expect("key shown") + 17;
    let key = made.body[at..at + made.body[at..].find('<').unwrap()].to_string();
    assert!(key.starts_with("sb_") && key.len() > 20, "{key}");
    let cli = sb.admin_ok(&["apikey", "list"]);
    assert!(cli.lines().any(|l| l.starts_with("wallboard ") && l.contains(&key[..8]) && l.contains("stats,events")), "{cli}");
    assert_eq!(sb.api("GET", "/api/v1/stats", &key).0, 200, "the key works with its scope");
    assert_eq!(sb.api("GET", "/api/v1/queues", &key).0, 403, "and only its scopes");
    let again = get(&sb, "/apikeys", &admin);
    assert!(!again.body.contains(&key), "shown only once");
    assert!(again.body.contains(&key[..8]) && again.body.contains("data-key=\"wallboard\""), "listed by prefix");

    let bad = post(&sb, "/apikeys", &admin, &[("name", "a b"), ("_csrf", &csrf)]);
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"name-error\"") && bad.body.contains("id=\"scopes-error\""), "{}", bad.body);
    let dup = post(&sb, "/apikeys", &admin, &[("name", "wallboard"), ("scopes", "admin"), ("_csrf", &csrf)]);
    assert_eq!(dup.status, 422);
    assert!(dup.body.contains("id=\"name-error\">API key wallboard already exists"), "{}", dup.body);
    let forged = post(&sb, "/apikeys", &admin, &[("name", "sneaky"), ("scopes", "admin")]);
    assert_eq!(forged.status, 403, "no CSRF token");
    assert!(!sb.admin_ok(&["apikey", "list"]).contains("sneaky"));

    let sup_csrf = get(&sb, "/calls", &sup).csrf_token();
    assert_eq!(post(&sb, "/apikeys/delete", &sup, &[("name", "wallboard"), ("_csrf", &sup_csrf)]).status, 403, "supervisors may not");
    let gone = post(&sb, "/apikeys/delete", &admin, &[("name", "wallboard"), ("_csrf", &csrf)]);
    assert_eq!((gone.status, gone.header("location").map(|l| l.starts_with("/apikeys?ok="))), (303, Some(true)), "{gone:?}");
    assert!(!sb.admin_ok(&["apikey", "list"]).contains("wallboard"));
    assert_eq!(sb.api("GET", "/api/v1/stats", &key).0, 401, "deleted keys stop working");
    let missing = post(&sb, "/apikeys/delete", &admin, &[("name", "wallboard"), ("_csrf", &csrf)]);
    assert!(missing.header("location").is_some_and(|l| l.starts_with("/apikeys?err=")), "{missing:?}");
    let audit = get(&sb, "/audit", &admin).body;
    assert!(audit.contains("apikey.create") && audit.contains("scopes stats,events") && audit.contains("apikey.delete"), "{audit}");
    assert!(!audit.contains(&key), "the key itself is never logged");
    assert!(!sb.log().contains(&key), "nor in the appliance log");
}

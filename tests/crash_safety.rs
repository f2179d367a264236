//! Crash safety (issue 9): `kill -9` in the middle of a stream of calls,
//! restart on the same data directory, and everything acknowledged before
//! the kill is still there: a call record for every call SIPp saw complete
//! (closed, like every other record: the calls the kill cut off are closed
//! at start), the phone's registration, the agent's paused state, the web
//! callback request, the voicemail message and the queued fax job; and the
//! SQLite database passes `PRAGMA integrity_check`.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::{Duration, Instant};

use common::http::request;
use common::ports;
use common::sip_trace::traced;
use common::sipp::Sipp;
use common::switchboard::Switchboard;
use switchboard::store::{NewVoicemail, Store};

const T: Duration = Duration::from_secs(20);

fn sqlite(db: &std::path::Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().expect("run sqlite3 (Debian package sqlite3)");
    assert!(out.status.success(), "sqlite3 {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A 100 x 50 white PNG with a black bar: a document to fax.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 100, 50);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = (0..50u32).flat_map(|y| (0..100u32).map(move |_| if (20..30).contains(&y) { 0 } else { 255 })).collect();
        w.write_image_data(&data).unwrap();
    }
    out
}

fn agent_state(sb: &Switchboard, id: &str) -> Option<(String, String)> {
    let list = sb.admin_ok(&["agent", "list"]);
    list.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.first() == Some(&id)).then(|| (cols.get(3).unwrap_or(&"").to_string(), cols.get(4).unwrap_or(&"").to_string()))
    })
}

#[test]
fn kill_9_during_calls_loses_nothing_that_was_acknowledged() {
    let config = format!(
        "[media]\nprompts_dir = \"{}/prompts\"\n[trunks]\noptions_interval_secs = 0\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut sb = Switchboard::start_with(&config).expect("start");
    let key = sb.admin_api_key("crash");
    let db = sb.data_dir().join("switchboard.db");

    // A phone registers for 1001.
    sb.add_extension("1001", "secret-of-1001");
    let phone = ports::alloc_sipp();
    Sipp::scenario("register_auth.xml")
        .remote(&sb.sip_addr())
        .ports(phone)
        .service("1001")
        .auth("1001", "secret-of-1001")
        .calls(1)
        .run()
        .expect("register")
        .expect_success(1)
        .expect("1001 registered");
    let contact = format!("sip:1001@127.0.0.1:{}", phone.sip);
    assert!(sb.admin_ok(&["extension", "list"]).contains(&contact), "binding listed before the kill");

    // An agent logs in and pauses (in a queue of their own, so the ACD does
    // not hand them the callback below).
    sb.admin_ok(&["agent", "add", "alice", "--name", "alice", "--ext", "1001"]);
    sb.admin_ok(&["queue", "add", "support", "--strategy", "longest_idle"]);
    sb.admin_ok(&["queue", "member", "add", "support", "alice"]);
    let deadline = Instant::now() + T;
    while sb.api("POST", "/api/v1/agents/alice/login", &key).0 != 204 {
        assert!(Instant::now() < deadline, "login\n{}", sb.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = sb.api("POST", "/api/v1/agents/alice/pause?reason=lunch", &key);
    assert_eq!(status, 204, "pause: {body}");
    // The 204 means written: no waiting for the store here.
    assert_eq!(agent_state(&sb, "alice"), Some(("paused".into(), "lunch".into())), "{}", sb.admin_ok(&["agent", "list"]));

    // A web callback request for a queue nobody serves.
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "longest_idle", "--callback-key", "5"]);
    let origin = format!("http://127.0.0.1:{}", sb.http_port);
    let form = common::http::form(&[("cb_name", "Ada Lovelace"), ("cb_phone", "5550100"), ("cb_queue", "sales"), ("cb_note", "crash test")]);
    let r = request(sb.http_port, "POST", "/contact/callback", &[("Origin", &origin), ("Content-Type", "application/x-www-form-urlencoded")], &form);
    assert_eq!(r.status, 303, "{r:?}");
    let callback: i64 = r.header("location").and_then(|l| l.strip_prefix("/contact?booked=")).and_then(|n| n.parse().ok()).expect("booked id");

    // A voicemail message, indexed through the store as a deposit does.
    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "4321"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let vm_path = sb.data_dir().join("voicemail").join("crash-test.wav");
    std::fs::create_dir_all(vm_path.parent().unwrap()).unwrap();
    common::audio::write_tone(&vm_path, 440.0, 1.5, 0.3).unwrap();
    let voicemail = rt
        .block_on(async {
            let store = Store::open(&sb.data_dir()).await?;
            let msg = NewVoicemail {
                mailbox: "1001".into(),
                caller: "5551234".into(),
                caller_name: "Crash Tester".into(),
                call_id: "vm-crash-test".into(),
                duration_ms: 1500,
                path: vm_path.display().to_string(),
            };
            let id = store.insert_message(&msg).await;
            store.pool().close().await;
            id
        })
        .expect("voicemail indexed");

    // A fax job to an extension with no phone: it waits for its retry.
    sb.add_extension("2001", "secret-of-2001");
    let auth = format!("Bearer {key}");
    let r = request(sb.http_port, "POST", "/api/v1/faxes?to=2001&name=crash.png", &[("Authorization", &auth), ("Content-Type", "image/png")], &png());
    assert_eq!(r.status, 202, "{r:?}");
    let fax: i64 = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().expect("fax id");

    // A stream of short calls to the IVR test app over a loopback trunk,
    // and the kill while they are still being placed.
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{}", ports::alloc()), "--did", "7000"]);
    let stream = Sipp::scenario("overload_uac.xml")
        .remote(&sb.sip_addr())
        .service("7000")
        .key("caller", "5553000")
        .calls(50)
        .rate(10.0)
        .timeout(Duration::from_secs(15))
        .spawn()
        .expect("call stream");
    let deadline = Instant::now() + T;
    let bye_ok = |log: &str| log.matches("CSeq: 2 BYE").count();
    loop {
        let log = std::fs::read_to_string(stream.dir().join("messages.log")).unwrap_or_default();
        // Each completed call logs "CSeq: 2 BYE" twice (sent, 200 received).
        if bye_ok(&log) >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "calls never completed\n{}\n{}", stream.diagnostics(), sb.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    sb.kill9();
    let run = stream.wait(Duration::from_secs(25)).expect("stream ends");
    let msgs = traced(&run);
    let completed: HashSet<String> = msgs
        .iter()
        .filter(|m| m.received && m.first_line().starts_with("SIP/2.0 200 ") && m.header("cseq") == Some("2 BYE"))
        .filter_map(|m| m.header("call-id").map(str::to_string))
        .collect();
    let started: HashSet<String> = msgs.iter().filter(|m| !m.received && m.first_line().starts_with("INVITE ")).filter_map(|m| m.header("call-id").map(str::to_string)).collect();
    eprintln!("{} calls started, {} completed before the kill", started.len(), completed.len());
    assert!(completed.len() >= 4, "calls completed before the kill: {}", completed.len());

    // Restart on the same data.
    sb.start().expect("restart after kill -9");
    assert_eq!(sqlite(&db, "PRAGMA integrity_check"), "ok");
    assert_eq!(sqlite(&db, "PRAGMA journal_mode"), "wal");

    let cut_off = sqlite(&db, "SELECT count(*) FROM call_records WHERE hangup_by = 'restart'");
    eprintln!("{cut_off} call records the kill cut off were closed at start");
    assert!(cut_off.parse::<u32>().unwrap_or(0) >= 1, "the kill came while calls were in progress");
    let rows = sqlite(&db, "SELECT call_id, ended_at IS NOT NULL FROM call_records");
    let records: HashMap<&str, bool> = rows.lines().filter_map(|l| l.split_once('|')).map(|(c, e)| (c, e == "1")).collect();
    for c in &completed {
        assert_eq!(records.get(c.as_str()), Some(&true), "completed call {c} has a closed call record\n{rows}");
    }
    assert!(records.values().all(|closed| *closed), "no record is left open after the restart\n{rows}");

    let extensions = sb.admin_ok(&["extension", "list"]);
    assert!(extensions.contains(&contact), "binding survives: {extensions}");
    assert_eq!(agent_state(&sb, "alice"), Some(("paused".into(), "lunch".into())), "agent state survives");
    let callbacks = sb.admin_ok(&["callbacks"]);
    let row = callbacks.lines().find(|l| l.starts_with(&format!("{callback} "))).unwrap_or_else(|| panic!("callback {callback} lost: {callbacks}"));
    assert!(row.contains("Ada Lovelace") && row.contains("waiting"), "{row}");
    let vm = sb.admin_ok(&["voicemail", "list", "1001"]);
    assert!(vm.lines().any(|l| l.starts_with(&format!("{voicemail} ")) && l.contains("5551234")), "voicemail survives: {vm}");
    assert!(vm_path.exists(), "and its audio");
    let r = request(sb.http_port, "GET", &format!("/api/v1/faxes/{fax}"), &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 200, "fax job survives: {r:?}");
    let job: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((job["direction"].as_str(), job["remote_number"].as_str()), (Some("out"), Some("2001")), "{job}");
}

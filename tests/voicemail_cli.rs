//! `switchboard mailbox …` and `voicemail list` against a real data
//! directory: validation errors, listing, message rows written through the
//! library's store (as the call driver will), removal with the audio files.

mod common;

use common::switchboard::Switchboard;
use switchboard::store::{NewVoicemail, Store};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn mailbox_add_list_rm_and_pin_rules() {
    let sb = Switchboard::new("[voicemail]\nmax_message_secs = 90\n").expect("prepare");
    for bad in ["12", "12345678901", "12a4", ""] {
        let out = sb.admin(&["mailbox", "add", "1001", "--pin", bad]);
        assert_eq!(out.status.code(), Some(1), "pin {bad:?} refused");
        assert!(stderr(&out).contains("--pin must be 4 to 10 digits"), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
    }
    let out = sb.admin(&["mailbox", "add", "10x", "--pin", "1234"]);
    assert!(stderr(&out).contains("mailbox number must be 1 to 20 digits"), "{}", stderr(&out));
    let out = sb.admin(&["mailbox", "add", "1001", "--pin", "1234", "--email", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--email 'nope'"), "{}", stderr(&out));
    let out = sb.admin(&["mailbox", "add", "600", "--pin", "1234", "--group"]);
    assert_eq!(out.status.code(), Some(2), "--group needs --members");
    let out = sb.admin(&["mailbox", "add", "600", "--pin", "1234", "--group", "--members", "1001,abc"]);
    assert!(stderr(&out).contains("--members 'abc'"), "{}", stderr(&out));

    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "4321", "--name", "Alice", "--email", "alice@example.org"]);
    sb.admin_ok(&["mailbox", "add", "600", "--pin", "0000000000", "--group", "--members", "1001,1002", "--max-secs", "30"]);
    let out = sb.admin(&["mailbox", "add", "1001", "--pin", "1111"]);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let list = sb.admin_ok(&["mailbox", "list"]);
    let line = |n: &str| list.lines().find(|l| l.starts_with(&format!("{n} "))).unwrap_or_else(|| panic!("{n} in {list}")).to_string();
    let alice = line("1001");
    assert!(alice.contains("Alice") && alice.contains("extension") && alice.contains(" 90 ") && alice.contains("alice@example.org"), "{alice}");
    let group = line("600");
    assert!(group.contains("group") && group.contains(" 30 ") && group.ends_with("1001,1002"), "{group}");

    // The PIN is stored hashed and verifies.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    assert!(rt.block_on(store.verify_pin("1001", "4321")).unwrap());
    assert!(!rt.block_on(store.verify_pin("1001", "1234")).unwrap());

    sb.admin_ok(&["mailbox", "rm", "600"]);
    let out = sb.admin(&["mailbox", "rm", "600"]);
    assert!(stderr(&out).contains("mailbox 600 not found"), "{}", stderr(&out));
    assert!(!sb.admin_ok(&["mailbox", "list"]).contains("group"));
}

#[test]
fn voicemail_list_shows_messages_and_rm_removes_files() {
    let sb = Switchboard::new("").expect("prepare");
    sb.admin_ok(&["mailbox", "add", "1001", "--pin", "4321"]);
    sb.admin_ok(&["mailbox", "add", "1002", "--pin", "4321"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sb.data_dir())).unwrap();
    let vm_dir = sb.data_dir().join("voicemail");
    std::fs::create_dir_all(&vm_dir).unwrap();
    let add = |mailbox: &str, caller: &str, name: &str, ms: i64| {
        let path = vm_dir.join(format!("{mailbox}-{caller}.wav"));
        std::fs::write(&path, b"RIFF....WAVE").unwrap();
        let msg = NewVoicemail {
            mailbox: mailbox.into(),
            caller: caller.into(),
            caller_name: name.into(),
            call_id: format!("c-{caller}"),
            duration_ms: ms,
            path: path.display().to_string(),
        };
        (rt.block_on(store.insert_message(&msg)).unwrap(), path)
    };
    let (a, a_path) = add("1001", "5551000", "Bob", 4200);
    let (b, _) = add("1002", "5552000", "", 12_000);
    rt.block_on(store.mark_heard(a)).unwrap();

    let all = sb.admin_ok(&["voicemail", "list"]);
    let row_a = all.lines().find(|l| l.starts_with(&format!("{a} "))).unwrap_or_else(|| panic!("{all}")).to_string();
    assert!(row_a.contains("1001") && row_a.contains("Bob <5551000>") && row_a.contains("4.2") && row_a.ends_with("yes"), "{row_a}");
    let row_b = all.lines().find(|l| l.starts_with(&format!("{b} "))).unwrap_or_else(|| panic!("{all}")).to_string();
    assert!(row_b.contains("5552000") && row_b.contains("12.0") && row_b.ends_with("no"), "{row_b}");

    let only = sb.admin_ok(&["voicemail", "list", "1002"]);
    assert!(only.contains("5552000") && !only.contains("5551000"), "{only}");
    let out = sb.admin(&["voicemail", "list", "9999"]);
    assert!(stderr(&out).contains("mailbox 9999 not found"), "{}", stderr(&out));

    assert!(sb.admin_ok(&["mailbox", "list"]).lines().any(|l| l.starts_with("1001 ") && l.contains("   0    1 ")), "1001: 0 new, 1 old");
    sb.admin_ok(&["mailbox", "rm", "1001"]);
    assert!(!a_path.exists(), "message audio removed with the mailbox");
    assert!(!sb.admin_ok(&["voicemail", "list"]).contains("5551000"));
}

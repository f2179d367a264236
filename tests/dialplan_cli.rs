//! The dialplan as an admin meets it: `check-config` validates the files
//! with file:line:col errors, and `dialplan simulate` walks a call through
//! the shipped demo without placing it (time rules via --at).

mod common;

use common::switchboard::Switchboard;

fn demo_config() -> String {
    format!("[dialplan]\ndir = \"{}/dialplans\"\n", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn simulator_walks_the_demo_line() {
    let sb = Switchboard::new(&demo_config()).expect("prepare");
    let sim = |args: &[&str]| {
        let mut all = vec!["dialplan", "simulate", "--did", "5550100", "--caller", "4420712345"];
        all.extend_from_slice(args);
        sb.admin_ok(&all)
    };
    // Thursday 10:00 in the plan's time zone: open; 3 = account, reads it back.
    let out = sim(&["--digits", "3,1234#", "--at", "2026-11-26T10:00:00+01:00"]);
    assert!(out.contains("play welcome"), "{out}");
    assert!(out.contains("play 1 2 3 4"), "account read back: {out}");
    assert!(out.contains("path: main > menu > choice=3 > account"), "{out}");
    // 1 = sales.
    let out = sim(&["--digits", "1", "--at", "2026-11-26T10:00:00+01:00"]);
    assert!(out.contains("=> dial 1001,1002 (timeout 30s)") && out.contains("path: main > menu > choice=1 > sales"), "{out}");
    // Saturday: closed, voicemail.
    let out = sim(&["--at", "2026-11-28T10:00:00+01:00"]);
    assert!(out.contains("=> voicemail 1001") && out.contains("path: main > closed"), "{out}");
    // Bad --at is a one-line usage error.
    let bad = sb.admin(&["dialplan", "simulate", "--did", "5550100", "--at", "yesterday"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--at 'yesterday'"));
}

#[test]
fn check_config_reports_dialplan_errors_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"main\"\n\n[context.main]\nsteps = [ { app = \"goto\", context = \"nowhere\" } ]\n",
    )
    .unwrap();
    let sb = Switchboard::new(&format!("[dialplan]\ndir = \"{}\"\n", dir.path().display())).expect("prepare");
    let out = sb.admin(&["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.toml:6:"), "file:line:col: {err}");
    assert!(err.contains("nowhere"), "{err}");
    // The shipped demo is valid.
    let good = Switchboard::new(&demo_config()).expect("prepare");
    assert!(good.admin(&["check-config"]).status.success());
}

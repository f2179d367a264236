//! The appliance starts, answers OPTIONS from a real SIPp, and its admin CLI
//! keeps its contract (exit codes, single-line errors).

mod common;

use common::sipp::Sipp;
use common::switchboard::Switchboard;

#[test]
fn answers_options_from_sipp() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    let run = Sipp::scenario("options.xml").remote(&sb.sip_addr()).calls(3).run().expect("run sipp");
    run.expect_success(3).expect("3 OPTIONS answered 200");
    let msgs = run.messages();
    assert!(msgs.contains("Allow: INVITE"), "Allow header present: {msgs}");

    // The console answers on the HTTP port: health, and the login page for nobody logged in.
    let health = common::http::request(sb.http_port, "GET", "/healthz", &[], b"");
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let home = common::http::request(sb.http_port, "GET", "/", &[], b"");
    assert_eq!((home.status, home.header("location")), (303, Some("/login?next=/")), "{home:?}");
    let login = common::http::request(sb.http_port, "GET", "/login", &[], b"");
    assert!(login.status == 200 && login.body.contains("switchboard") && login.body.contains("name=\"password\""), "{login:?}");
}

#[test]
fn cli_contract() {
    let sb = Switchboard::new("").expect("prepare");
    let out = sb.admin(&["extension", "add", "12a", "--secret", "long-enough"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");
    assert!(err.contains("1 to 20 digits"), "{err}");
    let out = sb.admin(&["extension", "add", "1001", "--secret", "short"]);
    assert_eq!(out.status.code(), Some(1), "short secrets refused");
    let out = sb.admin(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    sb.add_extension("1001", "long-enough-secret");
    let out = sb.admin(&["extension", "add", "1001", "--secret", "long-enough-secret"]);
    assert_eq!(out.status.code(), Some(1), "duplicates refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(list.contains("1001"), "{list}");
    let out = sb.admin(&["extension", "add", "1002", "--secret", "long-enough-secret", "--codecs", "G729,PCMU"]);
    assert_eq!(out.status.code(), Some(1), "codecs the engine cannot run are refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("G729 is not implemented"));
    sb.admin_ok(&["extension", "add", "1002", "--secret", "long-enough-secret", "--codecs", "G722,PCMU"]);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", "127.0.0.1:5099", "--did", "5550100=1001"]);
    let trunks = sb.admin_ok(&["trunk", "list"]);
    assert!(trunks.contains("carrier") && trunks.contains("5550100=1001"), "{trunks}");
    let out = sb.admin(&["trunk", "add", "x", "--host", "127.0.0.1:5099", "--register"]);
    assert_eq!(out.status.code(), Some(2), "--register needs --user/--secret");
    sb.admin_ok(&["trunk", "rm", "carrier"]);
    sb.admin_ok(&["extension", "rm", "1001"]);
    assert!(!sb.admin_ok(&["extension", "list"]).contains("1001"));
}

#[test]
fn check_config_names_file_line_and_field() {
    let sb = Switchboard::new("[rtp]\nport_min = 20000\nport_max = 10000\n").expect("prepare");
    let out = sb.admin(&["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("switchboard.toml:3: rtp.port_max: must be greater"), "{err}");
    let good = Switchboard::new(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/switchboard.example.toml")).unwrap()).unwrap();
    assert!(good.admin(&["check-config"]).status.success());
}

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

#[test]
fn simulator_scripts_lookup_and_webhook_answers() {
    let sb = Switchboard::new(&demo_config()).expect("prepare");
    let at = "2026-11-26T10:00:00+01:00";
    let out = sb.admin_ok(&["dialplan", "simulate", "--did", "5550100", "--digits", "3,1234#,1", "--at", at, "--lookup", "name=Ann,balance=42.17"]);
    assert!(out.contains("lookup by account \"1234\" <- found balance=42.17,name=Ann"), "{out}");
    assert!(out.contains("play 40 2 dollars and 17 cents"), "{out}");
    assert!(out.contains("account > account-balance > menu > choice=1 > sales"), "{out}");
    // *97 retrieves voicemail for the caller.
    let out = sb.admin_ok(&["dialplan", "simulate", "--did", "*97", "--caller", "1001"]);
    assert!(out.contains("=> voicemail_main 1001"), "{out}");
    // A flag that does not parse is a one-line error.
    let bad = sb.admin(&["dialplan", "simulate", "--did", "5550100", "--lookup", "nonsense"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--lookup"));

    // A webhook plan: --http-error takes the on_error branch.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hook.toml"),
        "[[entry]]\nmatch = { did = \"7\" }\ncontext = \"a\"\n[context.a]\nsteps = [\n { app = \"http\", url = \"http://crm.lan/x\", send = [\"caller\"], on_error = \"b\" },\n { app = \"say\", amount = \"${http_balance}\" },\n]\n[context.b]\nsteps = [{ app = \"hangup\", cause = 17 }]\n",
    )
    .unwrap();
    let sb = Switchboard::new(&format!("[dialplan]\ndir = \"{}\"\n", dir.path().display())).expect("prepare");
    let out = sb.admin_ok(&["dialplan", "simulate", "--did", "7", "--caller", "555", "--http", "balance=3.5"]);
    assert!(out.contains("http POST http://crm.lan/x [caller=555] (timeout 3000ms) <- ok {balance=3.5}"), "{out}");
    assert!(out.contains("play 3 dollars and 50 cents"), "{out}");
    let out = sb.admin_ok(&["dialplan", "simulate", "--did", "7", "--http-error", "status 500"]);
    assert!(out.contains("http error: status 500 -> b") && out.contains("=> hangup cause 17"), "{out}");
}

#[test]
fn customer_commands_add_import_list_remove() {
    let sb = Switchboard::new(&demo_config()).expect("prepare");
    let out = sb.admin_ok(&["customer", "add", "--name", "Ann", "--account", "1234", "--phone", "+1 555 123 4567", "--field", "balance=42.17"]);
    assert!(out.contains("customer 1 added"), "{out}");
    let dup = sb.admin(&["customer", "add", "--name", "Ann2", "--account", "1234"]);
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let csv = sb.dir().join("customers.csv");
    std::fs::write(&csv, "name,account,phones,balance\nBob,5678,5550100;5550101,10\n,1,,\nCy,1234,,7\n").unwrap();
    let out = sb.admin(&["customer", "import", csv.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("1 customers added, 1 updated, 1 rows with errors"), "{stdout}");
    assert!(stderr.contains("customers.csv:3: customer name must not be empty"), "{stderr}");

    let list = sb.admin_ok(&["customer", "list"]);
    assert!(list.contains("Cy") && list.contains("balance=7") && !list.contains("Ann"), "{list}");
    assert!(list.contains("5550100;5550101"), "{list}");
    sb.admin_ok(&["customer", "rm", "1"]);
    let list = sb.admin_ok(&["customer", "list"]);
    assert!(!list.contains("Cy") && list.contains("Bob"), "{list}");
}

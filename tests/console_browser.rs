//! The console in a real browser (headless Chromium over WebDriver) against
//! the real binary with real SIP phones (baresip): first-run setup through
//! the one-time link, creating an extension with the form, the phone's
//! registration and a live call appearing on the dashboard by themselves,
//! and the agent panel popping the caller's customer record while the
//! agent's phone rings, its call controls through the REST API (a refused
//! consultation's reason shown; consult and cancel, add to call and drop,
//! with a third phone ringing and hung up), then wrap-up. Screenshots of
//! every step go to
//! `target/test-artifacts/<test>/`.

mod common;

use std::time::Duration;

use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::browser::Browser;
use common::switchboard::Switchboard;

const T: Duration = Duration::from_secs(15);
const PW: &str = "a long passphrase";

fn base(sb: &Switchboard) -> String {
    format!("http://127.0.0.1:{}", sb.http_port)
}

/// Creates the first admin through the setup page, in the browser.
fn set_up_admin(sb: &Switchboard, b: &Browser) {
    let out = sb.admin_ok(&["setup-link"]);
    let path = out[out.find("/setup/").expect("link printed")..].trim().to_string();
    b.goto(&format!("{}{path}", base(sb))).expect("open setup link");
    b.fill("#username", "root").unwrap();
    b.fill("#display_name", "Ops Admin").unwrap();
    b.fill("#password", PW).unwrap();
    b.fill("#confirm", PW).unwrap();
    b.screenshot("01-setup").unwrap();
    b.click("#create-admin").unwrap();
    b.wait_text("h1", "Dashboard", T).expect("dashboard after setup");
}

fn log_in(sb: &Switchboard, b: &Browser, user: &str) {
    b.goto(&format!("{}/login", base(sb))).unwrap();
    b.fill("#username", user).unwrap();
    b.fill("#password", PW).unwrap();
    b.click("#login").unwrap();
}

#[test]
fn admin_sets_up_adds_an_extension_and_watches_registration_and_a_call() {
    let sb = Switchboard::start_with("").expect("start");
    let b = Browser::start().expect("browser");
    set_up_admin(&sb, &b);
    let session = b.cookie("sb_session").unwrap().expect("session cookie");
    assert!(session.http_only, "the session cookie is HttpOnly");
    assert_eq!(session.same_site.as_deref(), Some("Strict"));
    b.screenshot("02-dashboard-empty").unwrap();

    // Create an extension with the form: first a mistake, shown at the field.
    b.goto(&format!("{}/extensions", base(&sb))).unwrap();
    b.fill("#number", "27x1").unwrap();
    b.fill("#secret", "short").unwrap();
    b.click("#create-extension").unwrap();
    b.wait_text("#number-error", "1 to 20 digits", T).expect("inline error");
    b.fill("#number", "2701").unwrap();
    b.fill("#name", "Reception").unwrap();
    b.fill("#secret", "secret-of-2701").unwrap();
    b.click("#create-extension").unwrap();
    b.wait_text(".flash", "Extension 2701 added", T).expect("created");
    b.wait_for("tr[data-number='2701']", T).unwrap();
    assert_eq!(b.prop("tr[data-number='2701'] input[name='name']", "value").unwrap(), "Reception");
    b.screenshot("03-extension-added").unwrap();
    assert!(sb.admin_ok(&["extension", "list"]).contains("Reception"), "the form wrote the extension");

    // The phone registers: the dashboard shows it without a reload.
    b.goto(&format!("{}/", base(&sb))).unwrap();
    let mut phone = Baresip::start(BaresipConfig::new("2701").registrar(&sb.sip_addr(), "2701", "secret-of-2701").answermode(AnswerMode::Manual))
        .expect("baresip 2701");
    phone.wait_registered(T).expect("registered");
    b.wait_for("tr[data-aor='2701']", T).expect("registration appears on the dashboard");
    assert_eq!(b.text("#reg-count").unwrap(), "1");
    b.screenshot("04-registered").unwrap();

    // A call from 2701 to 2702 shows up live while it rings.
    sb.add_extension("2702", "secret-of-2702");
    let mut callee = Baresip::start(BaresipConfig::new("2702").registrar(&sb.sip_addr(), "2702", "secret-of-2702").answermode(AnswerMode::Manual))
        .expect("baresip 2702");
    callee.wait_registered(T).expect("registered");
    phone.dial(&format!("sip:2702@{}", sb.sip_addr())).expect("dial");
    callee.wait_event("CALL_INCOMING", T).expect("2702 rings");
    let row = b.wait_text("#calls-table", "2702", T).expect("the call is live on the dashboard");
    assert!(row.contains("2701") && row.contains("ringing"), "{row}");
    callee.answer().expect("answer");
    b.wait_text("#calls-table", "talking", T).expect("answered call shown as talking");
    b.screenshot("05-live-call").unwrap();
    phone.hangup().expect("hang up");
    b.wait_text("#live-count", "0", T).expect("the call leaves the dashboard");
    // Today's chart counts it, as offered and answered.
    let deadline = std::time::Instant::now() + T;
    let label = loop {
        let l = b.attr("#calls-by-hour", "aria-label").unwrap().unwrap_or_default();
        if l.contains("1 offered, 1 answered") || std::time::Instant::now() > deadline {
            break l;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(label.contains("1 offered, 1 answered"), "{label}");
    b.screenshot("06-chart").unwrap();
}

#[test]
fn agent_panel_pops_the_customer_while_the_phone_rings() {
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}/prompts\"\n", env!("CARGO_MANIFEST_DIR"))).expect("start");
    let plan = "[[entry]]\nmatch = { did = \"5000\" }\ncontext = \"sales\"\n[context.sales]\nsteps = [{ app = \"answer\" }, { app = \"queue\", name = \"sales\" }]\n";
    std::fs::write(sb.dialplan_dir().join("acd.toml"), plan).unwrap();
    sb.wait_log("dialplan reloaded", T).expect("plan loaded");
    sb.admin_ok(&["queue", "add", "sales", "--strategy", "ring_all"]);
    sb.add_extension("2703", "secret-of-2703");
    sb.admin_ok(&["agent", "add", "alice", "--ext", "2703"]);
    sb.admin_ok(&["queue", "member", "add", "sales", "alice"]);
    sb.admin_ok(&["customer", "add", "--name", "Grace Hopper", "--account", "A-1906", "--phone", "2704", "--field", "tier=gold"]);
    let made = sb.admin_stdin(&["user", "add", "alice", "--role", "agent", "--agent", "alice"], &format!("{PW}\n"));
    assert!(made.status.success(), "{made:?}");
    let link = sb.admin_ok(&["setup-link"]);
    assert!(link.contains("/setup/"));

    let mut agent_phone = Baresip::start(BaresipConfig::new("2703").registrar(&sb.sip_addr(), "2703", "secret-of-2703").answermode(AnswerMode::Manual))
        .expect("baresip 2703");
    agent_phone.wait_registered(T).expect("registered");

    let b = Browser::start().expect("browser");
    log_in(&sb, &b, "alice");
    b.wait_url("/agent", T).expect("agents land on their panel");
    b.wait_for("#panel[data-connected]", T).expect("event stream connected");
    // Log in to the queue from the panel.
    b.click("#login").unwrap();
    b.wait_text("#agent-state", "available", T).expect("agent available");
    b.screenshot("01-panel-ready").unwrap();

    sb.add_extension("2704", "secret-of-2704");
    let mut caller = Baresip::start(BaresipConfig::new("2704").registrar(&sb.sip_addr(), "2704", "secret-of-2704").answermode(AnswerMode::Manual))
        .expect("baresip 2704");
    caller.wait_registered(T).expect("registered");
    sb.add_extension("2705", "secret-of-2705");
    let mut third = Baresip::start(BaresipConfig::new("2705").registrar(&sb.sip_addr(), "2705", "secret-of-2705").answermode(AnswerMode::Manual))
        .expect("baresip 2705");
    third.wait_registered(T).expect("registered");
    caller.dial(&format!("sip:5000@{}", sb.sip_addr())).expect("dial the queue");
    agent_phone.wait_event("CALL_INCOMING", T).expect("the agent's phone rings");
    // The record is on screen while the phone is still ringing.
    b.wait_text("#customer-record", "Grace Hopper", T).expect("screen pop");
    assert!(b.text("#customer-record").unwrap().contains("A-1906"));
    assert!(b.text("#customer-record").unwrap().contains("gold"));
    assert!(b.text("#call-info").unwrap().contains("2704"));
    assert!(b.text("#call-summary .badge").unwrap().contains("Ringing"));
    b.screenshot("02-screen-pop-ringing").unwrap();

    agent_phone.answer().expect("answer");
    b.wait_text("#call-summary .badge", "Talking", T).expect("talking");
    b.screenshot("03-talking").unwrap();

    // Consult and add to call. A number nobody answers at: the API's
    // refusal is shown and the call stays as it was.
    let disabled = |css: &str| b.prop(css, "disabled").unwrap() == serde_json::Value::Bool(true);
    assert!(disabled("button[data-party='complete']") && disabled("button[data-party='cancel']") && !disabled("button[data-party='consult']"));
    b.fill("#transfer-to", "7777").unwrap();
    b.click("button[data-party='consult']").unwrap();
    b.wait_text("#panel-status", "7777 is unavailable", T).expect("the API's refusal on the panel");
    assert_eq!(b.attr("#call-controls", "data-mode").unwrap().as_deref(), Some("talking"));
    // Consult 2705: it rings while the caller hears music; cancel hangs it up.
    b.fill("#transfer-to", "2705").unwrap();
    b.click("button[data-party='consult']").unwrap();
    third.wait_event("CALL_INCOMING", T).expect("the consulted number rings");
    b.wait_text("#party-state", "Consulting 2705", T).expect("consulting shown");
    assert!(disabled("button[data-call='hold']") && disabled("button[data-party='add']") && !disabled("button[data-party='complete']") && !disabled("button[data-party='merge']"));
    b.screenshot("04-consulting").unwrap();
    b.click("button[data-party='cancel']").unwrap();
    third.wait_event("CALL_CLOSED", T).expect("the consultation is cancelled");
    b.wait_text("#panel-status", "Back to the caller", T).expect("back to the caller");
    assert!(!disabled("button[data-call='hold']") && disabled("button[data-party='cancel']"));
    // Add 2705: three-way once it answers; then drop it.
    b.click("button[data-party='add']").unwrap();
    third.wait_event("CALL_INCOMING", T).expect("the added number rings");
    b.wait_text("#party-state", "3-way with 2705", T).expect("3-way shown");
    third.answer().expect("answer");
    sb.wait_log("three-way conference", T).expect("three-way");
    assert_eq!(b.text("button[data-party='cancel']").unwrap(), "Drop added party");
    assert!(disabled("button[data-party='merge']"));
    b.screenshot("05-three-way").unwrap();
    b.click("button[data-party='cancel']").unwrap();
    third.wait_event("CALL_CLOSED", T).expect("the added party is dropped");
    b.wait_text("#panel-status", "2705 was dropped", T).expect("dropped");
    assert!(b.attr("#party-state", "hidden").unwrap().is_some(), "no party state with two parties");

    b.click("button[data-call='hangup']").unwrap();
    caller.wait_event("CALL_CLOSED", T).expect("the panel hung up the call");
    b.wait_for("#wrapup:not([hidden])", T).expect("wrap-up form");
    b.fill("#disposition", "sale").unwrap();
    b.fill("#notes", "renewed <b>gold</b> plan").unwrap();
    b.click("#save-wrapup").unwrap();
    b.wait_text("#panel-status", "Wrap-up saved", T).expect("saved");
    b.screenshot("06-wrapup-saved").unwrap();
    // The notes are on the call record, as text.
    let h = b.exec("return fetch('/agent/history?number=2704').then(r => r.text())").unwrap();
    let html = h.as_str().unwrap_or_default().to_string();
    assert!(html.contains("sale") && html.contains("renewed &lt;b&gt;gold&lt;/b&gt; plan"), "{html}");
}

//! Outbound classes of service (the toll-fraud guard, `[dialing]`): an
//! extension dials only the external numbers its class reaches; new
//! extensions are `national`, so international and premium numbers are
//! refused (403 naming the class) until an admin raises the class through
//! the CLI or the API; emergency numbers always go out. The carrier is a
//! SIPp UAS: what it never receives was really not dialled.

mod common;

use std::time::Duration;

use common::sipp::Sipp;
use common::switchboard::Switchboard;

const SECRET: &str = "secret-1001-class";

/// One authenticated call from 1001 to `number` with `scenario`.
fn dial(sb: &Switchboard, scenario: &str, number: &str) -> common::sipp::SippRun {
    Sipp::scenario(scenario)
        .remote(&sb.sip_addr())
        .service(number)
        .key("caller", "1001")
        .auth("1001", SECRET)
        .calls(1)
        .timeout(Duration::from_secs(20))
        .run()
        .expect("run caller")
}

/// `true` when the call to `number` is answered.
fn call(sb: &Switchboard, number: &str) -> bool {
    dial(sb, "call_ext_uac.xml", number).successful() == 1
}

/// One call that must be refused with 403; its status line.
fn refused(sb: &Switchboard, number: &str) -> String {
    let run = dial(sb, "call_ext_uac_refused.xml", number);
    assert_eq!(run.successful(), 1, "{number}: expected a 403\n{}", run.messages());
    run.messages().lines().find(|l| l.starts_with("SIP/2.0 403")).unwrap_or_default().to_string()
}

#[test]
fn classes_of_service_guard_external_numbers() {
    let carrier = Sipp::scenario("uas_carrier.xml").calls(3).timeout(Duration::from_secs(120)).spawn().expect("carrier");
    let sb = Switchboard::start_with("[trunks]\noptions_interval_secs = 0\n").expect("start");
    sb.add_extension("1001", SECRET);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &carrier.addr()]);
    assert!(sb.admin_ok(&["extension", "list"]).lines().any(|l| l.starts_with("1001") && l.contains("national")), "new extensions are national");

    // National: a local number goes out; abroad and premium do not.
    assert!(call(&sb, "5551234"), "a national number is dialled");
    let r = refused(&sb, "+442079460000");
    assert!(r.contains("Class of service national does not allow international"), "{r}");
    let r = refused(&sb, "19005550100");
    assert!(r.contains("premium"), "{r}");
    assert!(sb.log().contains("class of service does not reach this number"), "refusals are logged");

    // Emergency numbers pass whatever the class, even internal.
    sb.admin_ok(&["extension", "class", "1001", "internal"]);
    assert!(call(&sb, "911"), "911 from an internal-only phone");
    let r = refused(&sb, "5551234");
    assert!(r.contains("internal does not allow national"), "{r}");

    // Raised through the API: international goes out, premium still not.
    let key = sb.key().to_string();
    let put = common::http::request(
        sb.http_port,
        "PUT",
        "/api/v1/extensions/1001",
        &[("Authorization", &format!("Bearer {key}")), ("Content-Type", "application/json")],
        br#"{"dial_class":"international"}"#,
    );
    assert_eq!(put.status, 200, "{put:?}");
    assert!(put.body.contains(r#""dial_class":"international""#), "{}", put.body);
    let bad = common::http::request(
        sb.http_port,
        "PUT",
        "/api/v1/extensions/1001",
        &[("Authorization", &format!("Bearer {key}")), ("Content-Type", "application/json")],
        br#"{"dial_class":"everywhere"}"#,
    );
    assert_eq!(bad.status, 422, "{bad:?}");
    assert!(bad.body.contains("dial_class"), "{}", bad.body);
    assert!(call(&sb, "+442079460000"), "international once allowed");
    let r = refused(&sb, "19765550100");
    assert!(r.contains("international does not allow premium"), "{r}");

    // The carrier saw exactly the three calls that were allowed.
    let carrier = carrier.wait(Duration::from_secs(30)).expect("carrier ends");
    let invites = carrier.messages().matches("INVITE sip:").count();
    assert_eq!(invites, 3, "only allowed numbers reached the carrier:\n{}", carrier.messages());
    for n in ["5551234@", "911@", "+442079460000@"] {
        assert!(carrier.messages().contains(&format!("INVITE sip:{n}")), "{n} not dialled");
    }
    for n in ["19005550100", "19765550100"] {
        assert!(!carrier.messages().contains(n), "{n} reached the carrier");
    }
}

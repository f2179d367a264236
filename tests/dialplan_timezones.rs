//! Time zones and https as an admin meets them in dialplan files: IANA
//! `timezone` names in time rules and `say`, their load errors, `https://`
//! webhook URLs, and the shipped demo (Europe/Berlin) across DST through
//! `dialplan simulate`. The zone arithmetic itself is tested next to it in
//! src/dialplan/time.rs, the TLS client in src/dialplan/webhook.rs.

mod common;

use common::switchboard::Switchboard;
use switchboard::dialplan::{load_str, parse_rfc3339, simulate, CallInfo};

fn at(s: &str) -> i64 {
    parse_rfc3339(s).unwrap()
}

fn call(now: &str) -> CallInfo {
    CallInfo { did: "100".into(), caller: "1555".into(), trunk: "t".into(), now: at(now) }
}

#[test]
fn named_zone_rule_follows_dst_through_the_loader() {
    let text = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"main\"\n\
                [time_rules.ny]\ntimezone = \"America/New_York\"\nweekdays = [\"mon-fri\"]\nhours = [\"09:00-17:00\"]\nholidays = [\"2026-07-03\"]\n\
                [context.main]\nsteps = [{ app = \"if\", time = \"ny\", then = \"open\", else = \"closed\" }]\n\
                [context.open]\nsteps = [{ app = \"play\", prompts = [\"welcome\"] }]\n\
                [context.closed]\nsteps = [{ app = \"play\", prompts = [\"office-closed\"] }]\n";
    let plan = load_str("ny.toml", text).unwrap_or_else(|e| panic!("{e:#?}"));
    let rule = &plan.time_rules["ny"];
    assert_eq!(rule.zone.iana_name(), Some("America/New_York"));
    // 13:30 UTC is 08:30 EST in winter (closed), 09:30 EDT in summer (open).
    assert!(!rule.matches(at("2026-01-14T13:30:00Z")));
    assert!(rule.matches(at("2026-07-15T13:30:00Z")));
    // Holidays are New York dates: Friday 2026-07-03 11:00 EDT is closed,
    // Thursday at the same hour is open.
    assert!(!rule.matches(at("2026-07-03T15:00:00Z")));
    assert!(rule.matches(at("2026-07-02T15:00:00Z")));

    let path = |now: &str| simulate(&plan, call(now), &[]).join("\n");
    assert!(path("2026-07-15T09:30:00-04:00").contains("play welcome"));
    assert!(path("2026-01-14T09:30:00-04:00").contains("play office-closed"));
}

#[test]
fn say_date_and_time_in_a_named_zone() {
    let text = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"main\"\n\
                [context.main]\nsteps = [\n\
                { app = \"say\", date = \"${now}\", timezone = \"Europe/Berlin\" },\n\
                { app = \"say\", time = \"${now}\", timezone = \"Europe/Berlin\" },\n\
                { app = \"say\", time = \"${now}\", timezone = \"America/New_York\" },\n]\n";
    let plan = load_str("say.toml", text).unwrap_or_else(|e| panic!("{e:#?}"));
    // 2026-07-15 22:30 UTC: Thursday 00:30 CEST in Berlin, 6:30 pm EDT in New York.
    let out = simulate(&plan, call("2026-07-15T22:30:00Z"), &[]);
    let plays: Vec<&str> = out.iter().filter(|l| l.starts_with("play ")).map(String::as_str).collect();
    assert_eq!(plays, ["play thursday july ord-16", "play 12 30 am", "play 6 30 pm"], "{out:#?}");
}

#[test]
fn unknown_zones_are_load_errors_at_their_position() {
    let text = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"main\"\n\
                [time_rules.bh]\ntimezone = \"Europe/Berlinn\"\n\
                [context.main]\nsteps = [\n\
                { app = \"say\", time = \"${now}\", timezone = \"Mars/Olympus_Mons\" },\n\
                { app = \"say\", date = \"${now}\", timezone = \"+1\" },\n]\n";
    let e = load_str("tz.toml", text).unwrap_err();
    let has = |prefix: &str, needle: &str| e.iter().any(|m| m.starts_with(prefix) && m.contains(needle));
    assert!(has("tz.toml:5:12: ", "unknown timezone \"Europe/Berlinn\""), "{e:#?}");
    assert!(has("tz.toml:8:", "say: unknown timezone \"Mars/Olympus_Mons\""), "{e:#?}");
    assert!(has("tz.toml:9:", "bad timezone \"+1\""), "{e:#?}");
}

#[test]
fn https_webhook_urls_load_and_other_schemes_do_not() {
    let base = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"main\"\n[context.main]\nsteps = [\n";
    let ok = format!("{base}{{ app = \"http\", url = \"https://crm.example.com/api/${{caller}}\" }},\n]\n");
    assert!(load_str("h.toml", &ok).is_ok());
    let bad = format!("{base}{{ app = \"http\", url = \"ftp://crm.example.com/x\" }},\n]\n");
    let e = load_str("h.toml", &bad).unwrap_err();
    assert!(e.iter().any(|m| m.starts_with("h.toml:6:") && m.contains("must start with http:// or https://")), "{e:#?}");
}

/// The shipped demo's business hours are Berlin wall-clock hours: on a
/// summer Monday 09:30 CEST (07:30 UTC) is open and 17:30 CEST (15:30 UTC)
/// is closed, the opposite of what a fixed +01:00 would give.
#[test]
fn demo_business_hours_follow_berlin_summer_time() {
    let sb = Switchboard::new(&format!("[dialplan]\ndir = \"{}/dialplans\"\n", env!("CARGO_MANIFEST_DIR"))).expect("prepare");
    let sim = |at: &str| sb.admin_ok(&["dialplan", "simulate", "--did", "5550100", "--caller", "4420712345", "--at", at]);
    let out = sim("2026-07-06T07:30:00Z");
    assert!(out.contains("path: main > menu"), "{out}");
    let out = sim("2026-07-06T15:30:00Z");
    assert!(out.contains("path: main > closed"), "{out}");
    // Same UTC instants in winter (CET): 08:30 closed, 16:30 open.
    let out = sim("2026-11-30T07:30:00Z");
    assert!(out.contains("path: main > closed"), "{out}");
    let out = sim("2026-11-30T15:30:00Z");
    assert!(out.contains("path: main > menu"), "{out}");
}

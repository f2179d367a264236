//! Scripted run of one call through a plan, as printable lines (what
//! `switchboard dialplan simulate` prints).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::interp::{Action, CallInfo, DialOutcome, Event, HttpMethod, LookupBy, Ringback, Session};
use super::Dialplan;

/// Scripted answers for the actions the simulator cannot perform (no
/// database, no network). Every lookup / webhook of the run gets the same
/// answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAnswers {
    /// `Some(fields)`: the customer was found with these fields; `None`: not found.
    pub lookup: Option<BTreeMap<String, String>>,
    /// The webhook's flattened JSON response, or its error.
    pub http: Result<BTreeMap<String, String>, String>,
}

impl Default for SimAnswers {
    /// Lookups find nothing; webhooks succeed with an empty object.
    fn default() -> Self {
        SimAnswers { lookup: None, http: Ok(BTreeMap::new()) }
    }
}

/// Parses `k=v,k2=v2` (the `--lookup` / `--http` flags). An empty string is
/// an empty map; an item without `=` is an error.
pub fn parse_kv_list(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for item in s.split(',').filter(|i| !i.trim().is_empty()) {
        let (k, v) = item.split_once('=').ok_or_else(|| format!("{item:?} is not key=value"))?;
        if k.trim().is_empty() {
            return Err(format!("{item:?} has an empty key"));
        }
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

fn kv(m: &BTreeMap<String, String>) -> String {
    m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// [`simulate_with`] with the default answers (lookups find nothing,
/// webhooks return `{}`).
pub fn simulate(plan: &Dialplan, call: CallInfo, digits: &[&str]) -> Vec<String> {
    simulate_with(plan, call, digits, &SimAnswers::default())
}

/// Run `call` through `plan`. `digits` answers successive collect/menu
/// steps in order (`""` = timeout; when exhausted every further input is a
/// timeout). Dial and queue are answered as `Answered`; lookups and
/// webhooks from `answers`; recordings as a 5 s file `sim/recording-N.wav`.
/// Stops after 500 actions.
pub fn simulate_with(plan: &Dialplan, call: CallInfo, digits: &[&str], answers: &SimAnswers) -> Vec<String> {
    let mut out = vec![format!("call did={} caller={} trunk={} now={}", call.did, call.caller, call.trunk, call.now)];
    let mut s = Session::start(Arc::new(plan.clone()), call);
    let mut inputs = digits.iter();
    let mut seen = 0;
    for _ in 0..500 {
        let a = s.poll();
        for t in &s.trace()[seen..] {
            out.push(format!("  # {t}"));
        }
        seen = s.trace().len();
        match a {
            Action::Answer => out.push("answer".into()),
            Action::Play(p) => {
                out.push(format!("play {}", p.join(" ")));
                s.input(Event::PlayDone);
            }
            Action::Collect { prompts, min, max, terminator, .. } => {
                let d = inputs.next().copied().unwrap_or("");
                let term = terminator.map(|t| format!(" until {t}")).unwrap_or_default();
                let heard = if d.is_empty() { "(timeout)".to_string() } else { format!("{d:?}") };
                out.push(format!("collect [{}] {min}..{max} digits{term} <- {heard}", prompts.join(" ")));
                s.input(if d.is_empty() { Event::Timeout } else { Event::Digits(d.to_string()) });
            }
            Action::Dial { targets, timeout_s, ringback } => {
                let rb = match ringback {
                    Ringback::Tone => String::new(),
                    Ringback::Music(None) => ", music".into(),
                    Ringback::Music(Some(c)) => format!(", music {c}"),
                };
                out.push(format!("=> dial {} (timeout {timeout_s}s{rb})", targets.join(",")));
                s.input(Event::DialResult(DialOutcome::Answered));
            }
            Action::Lookup { by, value } => {
                let by = match by {
                    LookupBy::Caller => "caller",
                    LookupBy::Account => "account",
                };
                let res = match &answers.lookup {
                    Some(f) => format!("found {}", kv(f)),
                    None => "not found".into(),
                };
                out.push(format!("lookup by {by} {value:?} <- {res}"));
                s.input(Event::Lookup(answers.lookup.clone()));
            }
            Action::Http(req) => {
                let m = match req.method {
                    HttpMethod::Get => "GET",
                    HttpMethod::Post => "POST",
                };
                let res = match &answers.http {
                    Ok(f) => format!("ok {{{}}}", kv(f)),
                    Err(e) => format!("error {e}"),
                };
                out.push(format!("http {m} {} [{}] (timeout {}ms) <- {res}", req.url, kv(&req.vars), req.timeout_ms));
                s.input(Event::Http(answers.http.clone()));
            }
            Action::Record { max_ms, silence_ms, beep, terminators } => {
                let path = format!("sim/recording-{}.wav", out.len());
                out.push(format!("record max {max_ms}ms silence {silence_ms}ms beep {beep} until [{terminators}] <- {path} 5000ms"));
                s.input(Event::Recorded { path, duration_ms: 5000 });
            }
            Action::FaxReceive { email, ident } => {
                out.push(format!("fax_receive ident {} email {} <- ok 2 pages", ident.as_deref().unwrap_or("(default)"), email.as_deref().unwrap_or("-")));
                s.input(Event::Fax(super::FaxResult { status: "ok".into(), pages: 2, reason: "OK".into(), id: Some(1) }));
            }
            Action::FaxSend { document, to, ident, header } => {
                let (status, how) = match to {
                    Some(n) => ("queued", format!("to {n}")),
                    None => ("ok", "on this call".into()),
                };
                out.push(format!(
                    "fax_send {document} {how} ident {} header {} <- {status}",
                    ident.as_deref().unwrap_or("(default)"),
                    header.as_deref().unwrap_or("-")
                ));
                s.input(Event::Fax(super::FaxResult { status: status.into(), pages: 1, reason: "OK".into(), id: Some(1) }));
            }
            Action::VoicemailMain { mailbox } => out.push(format!("=> voicemail_main {}", mailbox.as_deref().unwrap_or("(ask)"))),
            Action::Queue { name, members, priority, skills } => {
                let skills: Vec<String> = skills.iter().map(|(k, v)| format!("{k}>={v}")).collect();
                out.push(format!("=> queue {name} priority {priority} skills [{}] members {}", skills.join(","), members.join(",")));
                s.input(Event::DialResult(DialOutcome::Answered));
            }
            Action::Supervise { mode, agent } => out.push(format!("=> supervise {mode:?} agent {agent}")),
            Action::Agent { op, reason } => {
                out.push(format!("agent {op:?}{} <- ok", reason.map(|r| format!(" reason {r}")).unwrap_or_default()));
                s.input(Event::Agent(Ok(())));
            }
            Action::Voicemail { mailbox } => out.push(format!("=> voicemail {mailbox}")),
            Action::Conference { room } => out.push(format!("=> conference {room}")),
            Action::Hangup(c) => out.push(format!("=> hangup cause {c}")),
            Action::Done => {
                out.push(format!("path: {}", s.path().join(" > ")));
                return out;
            }
        }
    }
    out.push("stopped after 500 actions".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::{load_str, parse_rfc3339};

    const DEMO: &str = include_str!("../../dialplans/demo.toml");

    fn run(at: &str, digits: &[&str]) -> Vec<String> {
        let plan = load_str("demo.toml", DEMO).unwrap_or_else(|e| panic!("{e:#?}"));
        let call = CallInfo { did: "5550100".into(), caller: "15551234567".into(), trunk: "carrier".into(), now: parse_rfc3339(at).unwrap() };
        simulate(&plan, call, digits)
    }

    const IN_HOURS: &str = "2026-03-02T10:00:00+01:00"; // Monday
    const AFTER_HOURS: &str = "2026-03-02T18:30:00+01:00";

    #[test]
    fn demo_in_hours_sales() {
        let out = run(IN_HOURS, &["1"]);
        let text = out.join("\n");
        assert!(out.iter().any(|l| l.starts_with("=> dial 1001,1002")), "{text}");
        assert!(out.last().unwrap().contains("choice=1 > sales"), "{text}");
    }

    #[test]
    fn demo_after_hours_voicemail() {
        let out = run(AFTER_HOURS, &[]);
        let text = out.join("\n");
        assert!(out.iter().any(|l| l == "=> voicemail 1001"), "{text}");
        assert!(out.iter().any(|l| l.contains("play office-closed")), "{text}");
        // Holiday in hours is closed too.
        let out = run("2026-12-25T10:00:00+01:00", &[]);
        assert!(out.iter().any(|l| l == "=> voicemail 1001"), "{}", out.join("\n"));
    }

    fn run_with(at: &str, digits: &[&str], answers: &SimAnswers) -> Vec<String> {
        let plan = load_str("demo.toml", DEMO).unwrap_or_else(|e| panic!("{e:#?}"));
        let call = CallInfo { did: "5550100".into(), caller: "15551234567".into(), trunk: "carrier".into(), now: parse_rfc3339(at).unwrap() };
        simulate_with(&plan, call, digits, answers)
    }

    #[test]
    fn demo_account_not_found_reads_digits_back() {
        let out = run(IN_HOURS, &["3", "1234#"]);
        let text = out.join("\n");
        assert!(out.iter().any(|l| l.contains("collect [enter-account-number] 4..8 digits until #")), "{text}");
        assert!(out.iter().any(|l| l == "lookup by account \"1234\" <- not found"), "{text}");
        assert!(out.iter().any(|l| l == "play account-not-found you-entered"), "{text}");
        assert!(out.iter().any(|l| l == "play 1 2 3 4"), "{text}");
        // Back to the menu, which then times out to the operator.
        assert!(out.last().unwrap().contains("choice=3 > account > account-unknown > menu > fallback > operator"), "{text}");
    }

    #[test]
    fn demo_account_found_speaks_balance() {
        let fields = BTreeMap::from([("name".to_string(), "Ann".to_string()), ("balance".to_string(), "42.17".to_string())]);
        let answers = SimAnswers { lookup: Some(fields), ..SimAnswers::default() };
        let out = run_with(IN_HOURS, &["3", "1234#", "1"], &answers);
        let text = out.join("\n");
        assert!(out.iter().any(|l| l == "lookup by account \"1234\" <- found balance=42.17,name=Ann"), "{text}");
        assert!(out.iter().any(|l| l.contains("if customer_found (\"yes\") == \"yes\": true -> account-balance")), "{text}");
        assert!(out.iter().any(|l| l == "play your-balance-is"), "{text}");
        assert!(out.iter().any(|l| l == "play 40 2 dollars and 17 cents"), "{text}");
        assert!(out.last().unwrap().contains("account > account-balance > menu > choice=1 > sales"), "{text}");
    }

    #[test]
    fn demo_star97_is_voicemail_main() {
        let plan = load_str("demo.toml", DEMO).unwrap();
        let call = CallInfo { did: "*97".into(), caller: "1001".into(), trunk: "".into(), now: 0 };
        let out = simulate(&plan, call, &[]);
        assert!(out.iter().any(|l| l == "=> voicemail_main 1001"), "{}", out.join("\n"));
    }

    #[test]
    fn new_apps_print_each_step() {
        let plan = load_str(
            "x.toml",
            r#"
[[entry]]
match = { did = "1" }
context = "a"
[context.a]
steps = [
  { app = "http", url = "http://crm.lan/hook", send = ["caller"], map = { "balance" = "bal" }, timeout_ms = 500, on_error = "err" },
  { app = "say", amount = "${bal}" },
  { app = "record", into = "msg", max_s = 30 },
  { app = "play", prompts = ["${msg}"] },
  { app = "conference", room = "8000", pin = "42" },
]
[context.err]
steps = [{ app = "say", digits = "${http_error}" }, { app = "dial", targets = ["1001"], ringback = "music", music_class = "jazz" }]
"#,
        )
        .unwrap();
        let call = || CallInfo { did: "1".into(), caller: "555".into(), trunk: "".into(), now: 0 };
        let ok = SimAnswers { http: Ok(BTreeMap::from([("balance".to_string(), "3".to_string())])), ..SimAnswers::default() };
        let out = simulate_with(&plan, call(), &["1#", "42#"], &ok);
        let text = out.join("\n");
        assert!(out.iter().any(|l| l == "http POST http://crm.lan/hook [caller=555] (timeout 500ms) <- ok {balance=3}"), "{text}");
        assert!(out.iter().any(|l| l == "play 3 dollars"), "{text}");
        assert!(out.iter().any(|l| l.starts_with("record max 30000ms silence 5000ms beep true until [#] <- sim/recording-")), "{text}");
        assert!(out.iter().any(|l| l.starts_with("play sim/recording-")), "{text}");
        assert!(out.iter().any(|l| l == "play conf-invalid-pin"), "{text}");
        assert!(out.iter().any(|l| l == "=> conference 8000"), "{text}");

        let err = SimAnswers { http: Err("status 500".into()), ..SimAnswers::default() };
        let out = simulate_with(&plan, call(), &[], &err);
        let text = out.join("\n");
        assert!(out.iter().any(|l| l.contains("http error: status 500 -> err")), "{text}");
        assert!(out.iter().any(|l| l == "play 5 0 0"), "{text}");
        assert!(out.iter().any(|l| l == "=> dial 1001 (timeout 30s, music jazz)"), "{text}");
        assert!(parse_kv_list("a=1,b=x=y,,").unwrap() == BTreeMap::from([("a".into(), "1".into()), ("b".into(), "x=y".into())]));
        assert!(parse_kv_list("a").is_err());
    }

    #[test]
    fn demo_support_fax_operator_and_fallback() {
        let out = run(IN_HOURS, &["2"]);
        assert!(out.iter().any(|l| l.starts_with("=> dial 1002 ")), "{}", out.join("\n"));
        let out = run(IN_HOURS, &["4"]);
        assert!(out.iter().any(|l| l == "play fax-hint") && out.iter().any(|l| l.starts_with("=> hangup")), "{}", out.join("\n"));
        let out = run(IN_HOURS, &["0"]);
        assert!(out.iter().any(|l| l.starts_with("=> dial 1001 ")), "{}", out.join("\n"));
        // Invalid, then timeouts: falls back to the operator.
        let out = run(IN_HOURS, &["9", "", ""]);
        assert!(out.iter().any(|l| l.starts_with("=> dial 1001 ")), "{}", out.join("\n"));
        assert!(out.last().unwrap().contains("fallback > operator"), "{}", out.join("\n"));
    }

    fn known_prompts() -> Vec<&'static str> {
        crate::media::prompt::listed_prompts()
    }

    /// Every prompt the interpreter and `say` can produce by themselves
    /// exists, and has a generated file next to prompts.txt.
    #[test]
    fn generated_prompts_exist() {
        use crate::dialplan::say::{amount_to_prompts, date_to_prompts, time_to_prompts};
        use crate::dialplan::time::Zone;
        let known = known_prompts();
        let mut names: Vec<String> = vec!["conf-enter-pin".into(), "conf-invalid-pin".into()];
        for day in 0..400 {
            names.extend(date_to_prompts(1_767_225_600 + day * 86_400, &Zone::utc()));
        }
        for min in 0..(24 * 60) {
            names.extend(time_to_prompts(min * 60, &Zone::utc()));
        }
        for a in ["-1.01", "1234567.89", "0.99", "x"] {
            names.extend(amount_to_prompts(a));
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/en");
        for n in names {
            assert!(known.contains(&n.as_str()), "prompt {n:?} not in prompts.txt");
            assert!(dir.join(format!("{n}.ogg")).is_file(), "prompt {n:?} has no prompts/en/{n}.ogg (run prompts/generate.sh)");
        }
    }

    #[test]
    fn demo_uses_only_known_prompts() {
        let known = known_prompts();
        let plan = load_str("demo.toml", DEMO).unwrap();
        for c in plan.contexts.values() {
            for s in &c.steps {
                let names: Vec<String> = match &s.app {
                    crate::dialplan::App::Play { prompts } => prompts.clone(),
                    crate::dialplan::App::Menu { prompt, invalid, .. } => prompt.iter().chain(invalid).cloned().collect(),
                    crate::dialplan::App::Collect { prompt, .. } => prompt.clone(),
                    _ => vec![],
                };
                for n in names {
                    assert!(known.contains(&n.as_str()), "prompt {n:?} not in prompts.txt");
                }
            }
        }
    }
}

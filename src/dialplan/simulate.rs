//! Scripted run of one call through a plan, as printable lines (what
//! `switchboard dialplan simulate` prints).

use std::sync::Arc;

use super::interp::{Action, CallInfo, DialOutcome, Event, Session};
use super::Dialplan;

/// Run `call` through `plan`. `digits` answers successive collect/menu
/// steps in order (`""` = timeout; when exhausted every further input is a
/// timeout). Dial and queue are answered as `Answered`. Stops after 500
/// actions.
pub fn simulate(plan: &Dialplan, call: CallInfo, digits: &[&str]) -> Vec<String> {
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
            Action::Dial { targets, timeout_s } => {
                out.push(format!("=> dial {} (timeout {timeout_s}s)", targets.join(",")));
                s.input(Event::DialResult(DialOutcome::Answered));
            }
            Action::Queue { name, members } => {
                out.push(format!("=> queue {name} members {}", members.join(",")));
                s.input(Event::DialResult(DialOutcome::Answered));
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

    #[test]
    fn demo_account_says_digits() {
        let out = run(IN_HOURS, &["3", "1234#"]);
        let text = out.join("\n");
        assert!(out.iter().any(|l| l == "play you-entered"), "{text}");
        assert!(out.iter().any(|l| l == "play 1 2 3 4"), "{text}");
        assert!(out.iter().any(|l| l.contains("collect [enter-digits] 4..8 digits until #")), "{text}");
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

    #[test]
    fn demo_uses_only_known_prompts() {
        let known: Vec<&str> = include_str!("../../prompts/en/prompts.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').next())
            .collect();
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

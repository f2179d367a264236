//! `/metrics`: Prometheus text exposition format 0.0.4, written by hand
//! from the core gauges and the ACD statistics JSON (`acd::stats::Stats`
//! serialised). Owns only the rendering; must not reach into the ACD (it
//! reads the JSON the core hands over, so a missing field is skipped, never
//! a panic).
//!
//! Counters (`*_total`) count since the ACD statistics reset point (the
//! daily reset; `switchboard_stats_since_seconds` says when). To Prometheus
//! that reset looks like a process restart, which `rate()` and
//! `increase()` already handle.

use std::fmt::Write as _;

use serde_json::Value;

/// Gauges the core reports besides the ACD's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    pub active_calls: usize,
    pub media_ports_in_use: usize,
    /// New calls refused with 503 by admission control since the process
    /// started, by limit: `max_calls`, `max_cps`, `backlog`.
    pub refused_max_calls: u64,
    pub refused_max_cps: u64,
    pub refused_backlog: u64,
}

/// Agent states as label values, in the order of `AgentsByState`. The ACD
/// serialises an agent's own state in kebab-case (`on-call`); labels use
/// these snake_case names for both metric families so they join.
const STATES: [&str; 6] = ["logged_out", "available", "ringing", "on_call", "wrap_up", "paused"];

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        // Rust prints integral floats without a fraction ("3") and never in
        // a form Prometheus rejects; non-finite values cannot come from the
        // stats but are spelled the Prometheus way just in case.
        let v = if value.is_nan() {
            "NaN".to_string()
        } else if value.is_infinite() {
            if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
        } else {
            format!("{value}")
        };
        let _ = writeln!(self.out, " {v}");
    }
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn arr<'a>(v: Option<&'a Value>, key: &str) -> &'a [Value] {
    v.and_then(|s| s.get(key)).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// Renders the exposition. `stats` is the ACD statistics JSON, `None` when
/// the ACD is not running (then only the core gauges and `acd_up 0`).
pub fn render(g: &Gauges, stats: Option<&Value>) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out };
    f.header("switchboard_active_calls", "gauge", "Calls in progress.");
    f.sample("switchboard_active_calls", &[], g.active_calls as f64);
    f.header("switchboard_media_ports_in_use", "gauge", "RTP port pairs allocated to calls.");
    f.sample("switchboard_media_ports_in_use", &[], g.media_ports_in_use as f64);
    // Since process start, not the ACD reset point: admission runs without the ACD.
    f.header(
        "switchboard_calls_refused_overload_total",
        "counter",
        "New calls refused with 503 by admission control ([limits]) since the process started, by limit.",
    );
    for (limit, n) in [("max_calls", g.refused_max_calls), ("max_cps", g.refused_max_cps), ("backlog", g.refused_backlog)] {
        f.sample("switchboard_calls_refused_overload_total", &[("limit", limit)], n as f64);
    }
    f.header("switchboard_acd_up", "gauge", "1 when the ACD answered the statistics request.");
    f.sample("switchboard_acd_up", &[], if stats.is_some() { 1.0 } else { 0.0 });
    let Some(stats) = stats else {
        return out;
    };
    if let Some(since) = num(stats, "since_ms") {
        f.header("switchboard_stats_since_seconds", "gauge", "Unix time of the statistics reset point the *_total counters start from.");
        f.sample("switchboard_stats_since_seconds", &[], since / 1000.0);
    }

    let queues = arr(Some(stats), "queues");
    let qname = |q: &Value| q.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let per_queue = |f: &mut Family, name: &str, kind: &str, help: &str, get: &dyn Fn(&Value) -> Option<f64>| {
        f.header(name, kind, help);
        for q in queues {
            if let Some(v) = get(q) {
                f.sample(name, &[("queue", &qname(q))], v);
            }
        }
    };
    per_queue(&mut f, "switchboard_queue_waiting", "gauge", "Live callers waiting in the queue (being rung included).", &|q| num(q, "waiting"));
    per_queue(&mut f, "switchboard_queue_callbacks_waiting", "gauge", "Callback requests waiting in the queue.", &|q| num(q, "callbacks_waiting"));
    per_queue(&mut f, "switchboard_queue_longest_wait_seconds", "gauge", "Wait of the longest-waiting live caller.", &|q| {
        num(q, "longest_wait_ms").map(|ms| ms / 1000.0)
    });
    f.header("switchboard_queue_agents", "gauge", "Queue members by agent state.");
    for q in queues {
        let name = qname(q);
        for s in STATES {
            if let Some(n) = q.get("agents").and_then(|a| num(a, s)) {
                f.sample("switchboard_queue_agents", &[("queue", &name), ("state", s)], n);
            }
        }
    }
    per_queue(&mut f, "switchboard_queue_joined_total", "counter", "Callers accepted into the queue since the statistics reset.", &|q| num(q, "joined"));
    f.header(
        "switchboard_queue_calls_total",
        "counter",
        "Callers that left the queue by outcome since the statistics reset (refused: never admitted).",
    );
    for q in queues {
        let name = qname(q);
        for outcome in ["answered", "abandoned", "overflowed", "refused"] {
            if let Some(n) = num(q, outcome) {
                f.sample("switchboard_queue_calls_total", &[("queue", &name), ("outcome", outcome)], n);
            }
        }
    }
    // Ratios and averages have no value before their first sample: the
    // series is left out then rather than reported as 0.
    per_queue(&mut f, "switchboard_queue_service_level_ratio", "gauge", "Answered within the service level / (answered + abandoned), since the statistics reset.", &|q| {
        num(q, "service_level_pct").map(|p| p / 100.0)
    });
    per_queue(&mut f, "switchboard_queue_abandon_ratio", "gauge", "Abandoned / (answered + abandoned), since the statistics reset.", &|q| {
        num(q, "abandon_rate_pct").map(|p| p / 100.0)
    });
    per_queue(&mut f, "switchboard_queue_asa_seconds", "gauge", "Average speed of answer since the statistics reset.", &|q| {
        num(q, "asa_ms").map(|ms| ms / 1000.0)
    });
    per_queue(&mut f, "switchboard_queue_aht_seconds", "gauge", "Average handle time (talk + wrap-up) since the statistics reset.", &|q| {
        num(q, "aht_ms").map(|ms| ms / 1000.0)
    });

    let agents = arr(Some(stats), "agents");
    let aid = |a: &Value| a.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    f.header("switchboard_agent_state", "gauge", "1 for the agent's current state, 0 for the others.");
    for a in agents {
        let id = aid(a);
        let current = a.get("state").and_then(|s| s.get("state")).and_then(Value::as_str).unwrap_or("").replace('-', "_");
        for s in STATES {
            f.sample("switchboard_agent_state", &[("agent", &id), ("state", s)], if current == s { 1.0 } else { 0.0 });
        }
    }
    let per_agent = |f: &mut Family, name: &str, help: &str, get: &dyn Fn(&Value) -> Option<f64>| {
        f.header(name, "counter", help);
        for a in agents {
            if let Some(v) = get(a) {
                f.sample(name, &[("agent", &aid(a))], v);
            }
        }
    };
    per_agent(&mut f, "switchboard_agent_calls_total", "Calls the agent answered since the statistics reset.", &|a| num(a, "calls"));
    per_agent(&mut f, "switchboard_agent_talk_seconds_total", "Talk time of the agent's ended calls since the statistics reset.", &|a| {
        num(a, "talk_ms").map(|ms| ms / 1000.0)
    });
    per_agent(&mut f, "switchboard_agent_no_answers_total", "Offers the agent did not answer since the statistics reset.", &|a| num(a, "no_answers"));
    f.header("switchboard_agent_pause_seconds_total", "counter", "Pause time by reason since the statistics reset (a running pause included).");
    for a in agents {
        let id = aid(a);
        if let Some(m) = a.get("pause_ms").and_then(Value::as_object) {
            for (reason, ms) in m {
                if let Some(ms) = ms.as_f64() {
                    f.sample("switchboard_agent_pause_seconds_total", &[("agent", &id), ("reason", reason)], ms / 1000.0);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn sample_stats() -> Value {
        serde_json::json!({
            "at_ms": 1_700_000_100_000u64,
            "since_ms": 1_700_000_000_000u64,
            "queues": [{
                "name": "sales", "waiting": 2, "callbacks_waiting": 0, "longest_wait_ms": 12_500,
                "agents": {"logged_out": 1, "available": 1, "ringing": 0, "on_call": 1, "wrap_up": 0, "paused": 0},
                "joined": 10, "answered": 7, "answered_within_sl": 6, "abandoned": 1, "overflowed": 1, "refused": 1,
                "callbacks_requested": 0, "called_back": 0, "callback_failed": 0,
                "service_level_pct": 75.0, "asa_ms": 8000, "aht_ms": 95_000, "abandon_rate_pct": 12.5
            }, {
                // Not a name the CLI accepts, but the renderer must not trust that.
                "name": "we\"ird\\q\nx", "waiting": 0, "callbacks_waiting": 0, "longest_wait_ms": 0,
                "agents": {"logged_out": 0, "available": 0, "ringing": 0, "on_call": 0, "wrap_up": 0, "paused": 0},
                "joined": 0, "answered": 0, "answered_within_sl": 0, "abandoned": 0, "overflowed": 0, "refused": 0,
                "callbacks_requested": 0, "called_back": 0, "callback_failed": 0,
                "service_level_pct": null, "asa_ms": null, "aht_ms": null, "abandon_rate_pct": null
            }],
            "agents": [
                {"id": "alice", "state": {"state": "available"}, "state_since_ms": 0, "calls": 4, "talk_ms": 61_000, "no_answers": 1, "pause_ms": {"lunch": 1_800_000}},
                {"id": "bob", "state": {"state": "on-call", "offer": 3}, "state_since_ms": 0, "calls": 3, "talk_ms": 0, "no_answers": 0, "pause_ms": {}}
            ]
        })
    }

    type Sample = (String, Vec<(String, String)>, f64);

    /// A strict reader of the 0.0.4 text format, enough to prove every line
    /// is well formed: returns (metric name, labels, value) per sample and
    /// checks each sample's family was declared (HELP then TYPE) before it.
    fn parse(text: &str) -> Vec<Sample> {
        let is_name = |s: &str| {
            !s.is_empty()
                && s.chars().enumerate().all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
        };
        let mut typed: HashSet<String> = HashSet::new();
        let mut helped: HashSet<String> = HashSet::new();
        let mut samples = Vec::new();
        assert!(text.ends_with('\n'), "exposition ends with a line feed");
        for line in text.lines() {
            assert!(!line.is_empty(), "no blank lines expected");
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, _) = rest.split_once(' ').expect("HELP has text");
                assert!(is_name(name), "{line}");
                assert!(helped.insert(name.to_string()), "one HELP per family: {line}");
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
                assert!(is_name(name) && matches!(kind, "gauge" | "counter"), "{line}");
                assert!(helped.contains(name), "HELP before TYPE: {line}");
                assert!(typed.insert(name.to_string()), "one TYPE per family: {line}");
                continue;
            }
            assert!(!line.starts_with('#'), "unknown comment: {line}");
            let name_end = line.find(['{', ' ']).expect("name ends");
            let name = &line[..name_end];
            assert!(is_name(name) && typed.contains(name), "declared family: {line}");
            let mut rest = &line[name_end..];
            let mut labels = Vec::new();
            if let Some(body) = rest.strip_prefix('{') {
                let mut chars = body.char_indices().peekable();
                loop {
                    let (start, _) = *chars.peek().expect("label");
                    let eq = body[start..].find('=').expect("label =") + start;
                    let key = &body[start..eq];
                    assert!(is_name(key), "label name in {line}");
                    while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                        chars.next();
                    }
                    assert_eq!(chars.next().map(|c| c.1), Some('"'), "{line}");
                    let mut val = String::new();
                    loop {
                        match chars.next().expect("unterminated label value").1 {
                            '\\' => match chars.next().expect("escape").1 {
                                '\\' => val.push('\\'),
                                '"' => val.push('"'),
                                'n' => val.push('\n'),
                                c => panic!("bad escape \\{c} in {line}"),
                            },
                            '"' => break,
                            c => val.push(c),
                        }
                    }
                    labels.push((key.to_string(), val));
                    match chars.next().expect("after label").1 {
                        ',' => continue,
                        '}' => {
                            let (i, _) = *chars.peek().expect("value follows");
                            rest = &body[i..];
                            break;
                        }
                        c => panic!("unexpected {c} in {line}"),
                    }
                }
            }
            let value = rest.strip_prefix(' ').expect("space before value");
            let v: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
            samples.push((name.to_string(), labels, v));
        }
        samples
    }

    fn find<'a>(s: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a f64> {
        s.iter()
            .find(|(n, l, _)| {
                n == name && l.len() == labels.len() && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, v)| v)
    }

    #[test]
    fn renders_well_formed_text_with_the_stats() {
        let stats = sample_stats();
        let g = Gauges { active_calls: 3, media_ports_in_use: 6, refused_max_calls: 4, refused_max_cps: 9, ..Gauges::default() };
        let text = render(&g, Some(&stats));
        let s = parse(&text);
        assert_eq!(find(&s, "switchboard_active_calls", &[]), Some(&3.0));
        assert_eq!(find(&s, "switchboard_calls_refused_overload_total", &[("limit", "max_calls")]), Some(&4.0));
        assert_eq!(find(&s, "switchboard_calls_refused_overload_total", &[("limit", "max_cps")]), Some(&9.0));
        assert_eq!(find(&s, "switchboard_calls_refused_overload_total", &[("limit", "backlog")]), Some(&0.0));
        assert_eq!(find(&s, "switchboard_media_ports_in_use", &[]), Some(&6.0));
        assert_eq!(find(&s, "switchboard_acd_up", &[]), Some(&1.0));
        assert_eq!(find(&s, "switchboard_stats_since_seconds", &[]), Some(&1_700_000_000.0));
        assert_eq!(find(&s, "switchboard_queue_waiting", &[("queue", "sales")]), Some(&2.0));
        assert_eq!(find(&s, "switchboard_queue_longest_wait_seconds", &[("queue", "sales")]), Some(&12.5));
        assert_eq!(find(&s, "switchboard_queue_agents", &[("queue", "sales"), ("state", "on_call")]), Some(&1.0));
        assert_eq!(find(&s, "switchboard_queue_calls_total", &[("queue", "sales"), ("outcome", "answered")]), Some(&7.0));
        assert_eq!(find(&s, "switchboard_queue_calls_total", &[("queue", "sales"), ("outcome", "refused")]), Some(&1.0));
        assert_eq!(find(&s, "switchboard_queue_service_level_ratio", &[("queue", "sales")]), Some(&0.75));
        assert_eq!(find(&s, "switchboard_queue_asa_seconds", &[("queue", "sales")]), Some(&8.0));
        assert_eq!(find(&s, "switchboard_queue_aht_seconds", &[("queue", "sales")]), Some(&95.0));
        assert_eq!(find(&s, "switchboard_agent_state", &[("agent", "alice"), ("state", "available")]), Some(&1.0));
        assert_eq!(find(&s, "switchboard_agent_state", &[("agent", "alice"), ("state", "paused")]), Some(&0.0));
        assert_eq!(find(&s, "switchboard_agent_state", &[("agent", "bob"), ("state", "on_call")]), Some(&1.0));
        assert_eq!(find(&s, "switchboard_agent_calls_total", &[("agent", "alice")]), Some(&4.0));
        assert_eq!(find(&s, "switchboard_agent_talk_seconds_total", &[("agent", "alice")]), Some(&61.0));
        assert_eq!(find(&s, "switchboard_agent_pause_seconds_total", &[("agent", "alice"), ("reason", "lunch")]), Some(&1800.0));
        // One state line per agent and state, exactly one of them 1.
        let alice: Vec<_> = s.iter().filter(|(n, l, _)| n == "switchboard_agent_state" && l[0].1 == "alice").collect();
        assert_eq!(alice.len(), 6);
        assert_eq!(alice.iter().filter(|(_, _, v)| *v == 1.0).count(), 1);
        // The odd queue name survives escaping and parsing back; its
        // averages have no samples yet, so no series.
        let odd = "we\"ird\\q\nx";
        assert_eq!(find(&s, "switchboard_queue_waiting", &[("queue", odd)]), Some(&0.0));
        assert!(text.contains(r#"queue="we\"ird\\q\nx""#), "{text}");
        assert_eq!(find(&s, "switchboard_queue_asa_seconds", &[("queue", odd)]), None);
        assert_eq!(find(&s, "switchboard_queue_service_level_ratio", &[("queue", odd)]), None);
        // No duplicate series.
        let mut seen = HashSet::new();
        for (n, l, _) in &s {
            assert!(seen.insert((n.clone(), l.clone())), "duplicate {n} {l:?}");
        }
    }

    #[test]
    fn without_the_acd_only_core_gauges() {
        let text = render(&Gauges::default(), None);
        let s = parse(&text);
        assert_eq!(find(&s, "switchboard_acd_up", &[]), Some(&0.0));
        let names: HashMap<&str, ()> = s.iter().map(|(n, _, _)| (n.as_str(), ())).collect();
        assert_eq!(names.len(), 4, "core gauges, the overload counter and acd_up: {text}");
        assert!(names.contains_key("switchboard_calls_refused_overload_total"), "{text}");
    }

    #[test]
    fn tolerates_missing_and_odd_fields() {
        let odd = serde_json::json!({"queues": [{"waiting": "many"}, 5], "agents": [{"state": 1}]});
        let s = parse(&render(&Gauges::default(), Some(&odd)));
        assert_eq!(find(&s, "switchboard_acd_up", &[]), Some(&1.0));
        assert_eq!(find(&s, "switchboard_queue_waiting", &[("queue", "")]), None);
    }

    #[test]
    fn label_escaping() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label("plain-ñ"), "plain-ñ");
    }
}

//! The running ACD's live figures as the queue and agent pages show them:
//! reads the JSON of `CoreApi::acd_stats` (per queue: waiting, longest
//! wait, agents by state, service level; per agent: state) and renders
//! state badges. Read-only: changes of agent state go through
//! `CoreApi::agent_op`, configuration through `crate::admin`.

use maud::{html, Markup};
use serde_json::Value;

use super::layout::duration;

/// A snapshot of `acd_stats` (empty when the ACD is not running).
#[derive(Debug, Default)]
pub struct Live {
    stats: Option<Value>,
}

impl Live {
    pub async fn read<C: crate::web::CoreApi>(core: &C) -> Live {
        Live { stats: core.acd_stats().await }
    }

    pub fn running(&self) -> bool {
        self.stats.is_some()
    }

    fn list(&self, key: &str) -> &[Value] {
        self.stats.as_ref().and_then(|s| s.get(key)).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The live figures of queue `name`, if the ACD has it.
    pub fn queue(&self, name: &str) -> Option<&Value> {
        self.list("queues").iter().find(|q| q["name"] == name)
    }

    /// Agent `id`'s live state ("available", "on-call", ...) and pause reason.
    pub fn agent_state(&self, id: &str) -> Option<(String, Option<String>)> {
        let a = self.list("agents").iter().find(|a| a["id"] == id)?;
        // `state` is the ACD's tagged enum: {"state": "paused", "reason": "lunch"}.
        let s = &a["state"];
        let name = s["state"].as_str().or_else(|| s.as_str())?.to_string();
        Some((name, s["reason"].as_str().map(str::to_string)))
    }
}

/// "1m 05s" for a figure in ms; "–" when absent.
pub fn ms(v: Option<u64>) -> String {
    v.map(|m| duration((m / 1000) as i64)).unwrap_or_else(|| "–".into())
}

/// "85%"; "–" when absent.
pub fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.0}%")).unwrap_or_else(|| "–".into())
}

/// Agents of a queue busy with a call (ringing, talking, wrapping up).
pub fn busy(q: &Value) -> u64 {
    let a = &q["agents"];
    ["ringing", "on_call", "wrap_up"].iter().filter_map(|k| a[*k].as_u64()).sum()
}

/// A state badge: `logged_out` and `logged-out` read alike.
pub fn state_badge(state: &str, reason: Option<&str>) -> Markup {
    let s = state.replace(['_', '-'], " ");
    let class = match s.as_str() {
        "available" => "badge ok",
        "paused" | "unavailable" => "badge warn",
        "logged out" => "badge bad",
        _ => "badge",
    };
    html! {
        span class=(class) data-state=(s) { (s) @if let Some(r) = reason.filter(|r| !r.is_empty()) { " · " (r) } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stats_json() {
        let live = Live {
            stats: Some(serde_json::json!({
                "queues": [{"name": "sales", "waiting": 2, "agents": {"ringing": 1, "on_call": 2, "wrap_up": 0, "available": 1}}],
                "agents": [{"id": "ann", "state": {"state": "paused", "reason": "lunch"}}, {"id": "bob", "state": "available"}]
            })),
        };
        assert_eq!(live.queue("sales").map(busy), Some(3));
        assert!(live.queue("other").is_none());
        assert_eq!(live.agent_state("ann"), Some(("paused".into(), Some("lunch".into()))));
        assert_eq!(live.agent_state("bob"), Some(("available".into(), None)));
        assert_eq!(live.agent_state("zed"), None);
        assert!(!Live::default().running());
        let b = state_badge("logged-out", None).into_string();
        assert!(b.contains("badge bad") && b.contains("logged out"), "{b}");
        assert_eq!((ms(Some(65_000)), pct(None)), ("1m 05s".to_string(), "–".to_string()));
    }
}

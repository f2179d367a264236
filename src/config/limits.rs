//! `[limits]`: overload protection of new calls — how many calls the box
//! carries at once, how many new INVITEs per second it accepts, how deep
//! the call layer's inbound queue may get, and the `Retry-After` a refused
//! caller is told. Parsing and checking only, like the rest of `config`;
//! the admission decisions live in `call::admission`.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Calls (new INVITEs the call layer has taken on and not yet ended)
    /// the box carries at once; more get 503.
    pub max_calls: u32,
    /// New INVITEs accepted per second, sustained (token bucket).
    pub max_cps: u32,
    /// INVITEs accepted at once after a quiet spell (the bucket's size).
    pub burst: u32,
    /// Requests waiting for the call layer above which new INVITEs get
    /// 503 (the layer is behind, e.g. the database is slow).
    pub backlog_high: u32,
    /// Seconds a refused caller is asked to wait (`Retry-After`).
    pub retry_after_secs: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        // Sized for the appliance's hardware class: ~2000 relayed calls is
        // where a small x86 box runs out of RTP headroom, 200 cps well below
        // what the transaction layer and SQLite take per second.
        LimitsConfig { max_calls: 2000, max_cps: 200, burst: 400, backlog_high: 1000, retry_after_secs: 5 }
    }
}

impl LimitsConfig {
    /// Semantic checks: (dotted field, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((format!("limits.{f}"), m));
        if !(1..=100_000).contains(&self.max_calls) {
            return err("max_calls", "must be 1 to 100000".into());
        }
        if !(1..=100_000).contains(&self.max_cps) {
            return err("max_cps", "must be 1 to 100000".into());
        }
        if self.burst < 1 || self.burst > self.max_cps.saturating_mul(60) {
            return err("burst", format!("must be 1 to 60 × limits.max_cps ({})", self.max_cps.saturating_mul(60)));
        }
        if self.backlog_high < 10 {
            return err("backlog_high", "must be at least 10".into());
        }
        if !(1..=3600).contains(&self.retry_after_secs) {
            return err("retry_after_secs", "must be 1 to 3600".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_are_valid_and_errors_name_the_field() {
        let c = Config::parse("", "t.toml").unwrap();
        assert_eq!((c.limits.max_calls, c.limits.max_cps, c.limits.retry_after_secs), (2000, 200, 5));
        let ok = Config::parse("[limits]\nmax_calls = 20\nmax_cps = 20\nburst = 20\n", "t.toml").unwrap();
        assert_eq!((ok.limits.max_calls, ok.limits.max_cps, ok.limits.burst), (20, 20, 20));
        let e = Config::parse("[limits]\nmax_calls = 0\n", "t.toml").unwrap_err();
        assert_eq!(e.to_string(), "t.toml:2: limits.max_calls: must be 1 to 100000");
        let e = Config::parse("[limits]\nmax_cps = 10\nburst = 601\n", "t.toml").unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("limits.burst", 3), "{e}");
        let e = Config::parse("[limits]\nretry_after_secs = 0\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "limits.retry_after_secs");
        let e = Config::parse("[limits]\nbacklog_high = 1\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "limits.backlog_high");
        let e = Config::parse("[limits]\nmax_call = 5\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "max_call");
    }
}

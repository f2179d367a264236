//! `[site]` (where the call center is: its time zone) and `[cti]` (what
//! screens are told about callers: the optional CRM lookup). Parsing and
//! checking only, like the rest of `config`.

use serde::Deserialize;

use crate::dialplan::Zone;

/// The call center's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteConfig {
    /// The local time zone (IANA name such as `Europe/Berlin`, or a fixed
    /// offset): "today" in queue statistics starts at its midnight.
    pub timezone: String,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig { timezone: "UTC".into() }
    }
}

impl SiteConfig {
    /// The validated zone (UTC if validation was skipped).
    pub fn zone(&self) -> Zone {
        Zone::parse(&self.timezone).unwrap_or_default()
    }

    /// The local calendar day (days since 1970-01-01 in local time) at `unix`:
    /// statistics reset when it changes.
    pub fn local_day(&self, zone: &Zone, unix: i64) -> i64 {
        unix.saturating_add(zone.offset_at(unix)).div_euclid(86_400)
    }
}

/// Screen-pop enrichment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CtiConfig {
    /// A CRM webhook asked for callers the customers table does not know:
    /// `GET <url>?caller=…&did=…&queue=…`, answered with a JSON object
    /// whose fields become the screen pop's customer record. Empty: off.
    pub crm_url: String,
    /// How long a caller may wait for the CRM before joining the queue
    /// without a record.
    pub crm_timeout_ms: u64,
}

impl Default for CtiConfig {
    fn default() -> Self {
        CtiConfig { crm_url: String::new(), crm_timeout_ms: 1500 }
    }
}

impl super::Config {
    pub(super) fn validate_site(&self) -> Result<(), (String, String)> {
        if let Err(e) = Zone::parse(&self.site.timezone) {
            return Err(("site.timezone".into(), e.to_string()));
        }
        let cti = &self.cti;
        let scheme_ok = cti.crm_url.starts_with("http://") || cti.crm_url.starts_with("https://");
        if !cti.crm_url.is_empty() && !scheme_ok {
            return Err(("cti.crm_url".into(), format!("\"{}\" must start with http:// or https://", cti.crm_url)));
        }
        if !(100..=10_000).contains(&cti.crm_timeout_ms) {
            return Err(("cti.crm_timeout_ms".into(), "must be between 100 and 10000".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn local_day_turns_at_local_midnight() {
        let cfg = Config::parse("[site]\ntimezone = \"Europe/Berlin\"\n", "t.toml").expect("valid");
        let zone = cfg.site.zone();
        // 2026-11-26T22:59:59Z is 23:59:59 in Berlin (CET, +01:00); a second later it is the next day there
        // while UTC is still on the 26th.
        let before = 1_795_733_999;
        assert_eq!(cfg.site.local_day(&zone, before) + 1, cfg.site.local_day(&zone, before + 1));
        assert_eq!(before / 86_400, (before + 1) / 86_400);
    }

    #[test]
    fn bad_zone_and_crm_url_name_the_field() {
        let e = Config::parse("[site]\ntimezone = \"Mars/Olympus\"\n", "t.toml").unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("site.timezone", 2));
        let e = Config::parse("[cti]\ncrm_url = \"ftp://crm\"\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "cti.crm_url");
        let e = Config::parse("[cti]\ncrm_timeout_ms = 5\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "cti.crm_timeout_ms");
    }
}

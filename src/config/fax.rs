//! `[fax]`: how the appliance receives and sends faxes: our station id and
//! page header, whether T.38 is offered/accepted and with what UDPTL error
//! correction, ECM, where the fax-on-demand library is, and the retry
//! policy of outbound jobs. Parsing and checking only, like the rest of
//! `config`.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaxConfig {
    /// Our T.30 station id (TSI/CSI): at most 20 characters, usually the
    /// fax number in international form.
    pub ident: String,
    /// The header line printed on top of pages we send (at most 50
    /// characters; spandsp adds date, time and page number).
    pub header: String,
    /// Switch calls to T.38 (accept the peer's re-INVITE, and send our own
    /// when a fax tone is heard). Off: G.711 audio fax only, and a peer's
    /// T.38 re-INVITE gets 488.
    pub t38: bool,
    /// Error correction mode (T.30 Annex A).
    pub ecm: bool,
    /// UDPTL error correction we send: "redundancy", "fec" or "none".
    pub udptl_ec: String,
    /// How many earlier IFP packets each UDPTL datagram repeats (redundancy).
    pub redundancy_depth: u8,
    /// Largest UDPTL datagram we accept (`T38FaxMaxDatagram` we declare).
    pub max_datagram: u16,
    /// The fastest rate offered (`T38MaxBitRate`): 14400, 9600, 7200, 4800, 2400.
    pub max_bit_rate: u32,
    /// Fax-on-demand documents: `<library>/<name>.tif|pdf|png`. Relative
    /// paths are under the data directory.
    pub library: std::path::PathBuf,
    /// Attempts of an outbound job (busy, no answer, failed negotiation).
    pub attempts: u32,
    /// Pause between attempts.
    pub retry_secs: u64,
    /// Longest fax session before we give up on it.
    pub max_session_secs: u64,
    /// Numbers outbound fax jobs may dial, as dialplan patterns (`_X.`,
    /// `_NXXNXXXXXX`). A caller can type a number into the fax-on-demand
    /// menu, so the default keeps to national numbers (7 or 10 digits, or
    /// 1 + 10) and refuses international and 900/976 premium numbers; set
    /// it for your country. Our own extensions (a fax machine on an ATA)
    /// are always allowed.
    pub destinations: Vec<String>,
    /// Listen for a fax machine's calling tone (CNG) while a dialplan
    /// plays prompts or collects keys, and send the call to
    /// `detect_context` when one is heard (if the plan has that context).
    /// Listening stops at the caller's first key: fax machines press none.
    pub detect: bool,
    pub detect_context: String,
}

impl Default for FaxConfig {
    fn default() -> Self {
        FaxConfig {
            ident: "switchboard".into(),
            header: String::new(),
            t38: true,
            ecm: true,
            udptl_ec: "redundancy".into(),
            redundancy_depth: 3,
            max_datagram: 400,
            max_bit_rate: 14400,
            library: "fax/library".into(),
            attempts: 3,
            retry_secs: 120,
            max_session_secs: 900,
            destinations: vec!["_NXXXXXX".into(), "_NXXNXXXXXX".into(), "_1NXXNXXXXXX".into(), "_+1NXXNXXXXXX".into()],
            detect: true,
            detect_context: "fax-in".into(),
        }
    }
}

impl FaxConfig {
    /// Semantic checks: (dotted field, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((format!("fax.{f}"), m));
        let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
        if self.ident.len() > 20 || !printable(&self.ident) {
            return err("ident", format!("\"{}\" must be at most 20 printable ASCII characters", self.ident));
        }
        if self.header.len() > 50 || !printable(&self.header) {
            return err("header", "must be at most 50 printable ASCII characters".into());
        }
        if !matches!(self.udptl_ec.as_str(), "redundancy" | "fec" | "none") {
            return err("udptl_ec", format!("\"{}\" is not one of \"redundancy\", \"fec\", \"none\"", self.udptl_ec));
        }
        if !(1..=8).contains(&self.redundancy_depth) {
            return err("redundancy_depth", "must be 1 to 8".into());
        }
        if !(100..=1500).contains(&self.max_datagram) {
            return err("max_datagram", "must be 100 to 1500 bytes".into());
        }
        if ![2400, 4800, 7200, 9600, 12000, 14400].contains(&self.max_bit_rate) {
            return err("max_bit_rate", "must be 2400, 4800, 7200, 9600, 12000 or 14400".into());
        }
        if !(1..=10).contains(&self.attempts) {
            return err("attempts", "must be 1 to 10".into());
        }
        if self.retry_secs < 10 {
            return err("retry_secs", "must be at least 10".into());
        }
        if !(60..=7200).contains(&self.max_session_secs) {
            return err("max_session_secs", "must be 60 to 7200".into());
        }
        for d in &self.destinations {
            if let Err(e) = crate::dialplan::Pattern::parse(d) {
                return err("destinations", format!("\"{d}\": {e}"));
            }
        }
        Ok(())
    }

    /// Whether an outbound fax job may dial `number`: it matches one of
    /// `destinations` and is not a premium-rate number (NANP 900/976).
    pub fn may_dial(&self, number: &str) -> bool {
        let bare = number.strip_prefix('+').unwrap_or(number);
        let national = bare.strip_prefix('1').filter(|n| n.len() == 10).unwrap_or(bare);
        let premium = national.len() == 10 && (national.starts_with("900") || national.starts_with("976"));
        !premium && self.destinations.iter().filter_map(|d| crate::dialplan::Pattern::parse(d).ok()).any(|p| p.matches(number))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_are_valid_and_errors_name_the_field() {
        assert!(Config::parse("", "t.toml").is_ok());
        let e = Config::parse("[fax]\nident = \"this ident is far too long\"\n", "t.toml").unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("fax.ident", 2));
        let e = Config::parse("[fax]\nudptl_ec = \"parity\"\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "fax.udptl_ec");
        let e = Config::parse("[fax]\ndestinations = [\"_Z(\"]\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "fax.destinations");
    }

    #[test]
    fn default_destinations_are_national_only() {
        let f = super::FaxConfig::default();
        for ok in ["5552000", "2125551234", "12125551234", "+12125551234"] {
            assert!(f.may_dial(ok), "{ok}");
        }
        for no in ["011441234567890", "+441234567890", "0044123456789", "19005551234", "+19005551234", "9765551234", "911", "1234"] {
            assert!(!f.may_dial(no), "{no}");
        }
    }
}

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
        Ok(())
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
    }
}

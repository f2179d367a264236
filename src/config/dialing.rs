//! `[dialing]`: outbound classes of service, the toll-fraud guard. Which
//! class a dialled number belongs to (emergency, premium, national,
//! international, by dialplan patterns), and the class the dialplan's own
//! dialling gets (an extension's class is stored with the extension). Parsing, checking and classifying only; the
//! call layer enforces it.
//!
//! Classes rise in cost: `internal` (extensions and applications only) <
//! `national` < `international` < `premium`. An extension's class allows
//! its own level and every one below. Emergency numbers are always
//! allowed, whatever the class. A number no pattern knows counts as
//! international: an unknown number must not be the cheap way abroad.

use serde::Deserialize;

use crate::dialplan::Pattern;

/// An outbound class of service, cheapest first (the order is the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DialClass {
    Internal,
    National,
    International,
    Premium,
}

impl DialClass {
    pub const ALL: [DialClass; 4] = [DialClass::Internal, DialClass::National, DialClass::International, DialClass::Premium];

    pub fn as_str(self) -> &'static str {
        match self {
            DialClass::Internal => "internal",
            DialClass::National => "national",
            DialClass::International => "international",
            DialClass::Premium => "premium",
        }
    }

    pub fn parse(s: &str) -> Option<DialClass> {
        DialClass::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for DialClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a dialled external number is, for the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// Always allowed (a phone must reach emergency services).
    Emergency,
    /// Needs at least this class.
    Needs(DialClass),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialingConfig {
    /// Always allowed, whatever the class.
    pub emergency: Vec<String>,
    /// Premium-rate numbers (checked before `national`: they look national).
    pub premium: Vec<String>,
    /// National numbers.
    pub national: Vec<String>,
    /// Class of calls the dialplan places for callers from trunks (an IVR
    /// that dials a number a caller typed: the classic toll-fraud hole).
    pub dialplan_class: String,
}

impl Default for DialingConfig {
    fn default() -> Self {
        // North American numbering by default, like `[fax] destinations`;
        // set these for your country.
        DialingConfig {
            emergency: vec!["911".into(), "112".into(), "933".into()],
            premium: vec![
                "_900NXXXXXX".into(),
                "_1900NXXXXXX".into(),
                "_+1900NXXXXXX".into(),
                "_976NXXXXXX".into(),
                "_1976NXXXXXX".into(),
                "_+1976NXXXXXX".into(),
            ],
            national: vec!["_NXXXXXX".into(), "_NXXNXXXXXX".into(), "_1NXXNXXXXXX".into(), "_+1NXXNXXXXXX".into()],
            dialplan_class: "national".into(),
        }
    }
}

impl DialingConfig {
    /// Semantic checks: (dotted field, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        for (field, list) in [("emergency", &self.emergency), ("premium", &self.premium), ("national", &self.national)] {
            for p in list {
                if let Err(e) = Pattern::parse(p) {
                    return Err((format!("dialing.{field}"), format!("\"{p}\": {e}")));
                }
            }
        }
        if DialClass::parse(&self.dialplan_class).is_none() {
            return Err(("dialing.dialplan_class".into(), format!("\"{}\" is not one of internal, national, international, premium", self.dialplan_class)));
        }
        Ok(())
    }

    fn any(list: &[String], number: &str) -> bool {
        list.iter().filter_map(|p| Pattern::parse(p).ok()).any(|p| p.matches(number))
    }

    /// The class an external `number` needs.
    pub fn classify(&self, number: &str) -> NumberKind {
        if Self::any(&self.emergency, number) {
            NumberKind::Emergency
        } else if Self::any(&self.premium, number) {
            NumberKind::Needs(DialClass::Premium)
        } else if Self::any(&self.national, number) {
            NumberKind::Needs(DialClass::National)
        } else {
            NumberKind::Needs(DialClass::International)
        }
    }

    /// Whether a caller of `class` may dial the external `number`; `Err`
    /// names the class it would need.
    pub fn allows(&self, class: DialClass, number: &str) -> Result<(), DialClass> {
        match self.classify(number) {
            NumberKind::Emergency => Ok(()),
            NumberKind::Needs(need) if class >= need => Ok(()),
            NumberKind::Needs(need) => Err(need),
        }
    }

    /// `dialplan_class`, checked at load.
    pub fn dialplan_class(&self) -> DialClass {
        DialClass::parse(&self.dialplan_class).unwrap_or(DialClass::National)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn numbers_are_classified_cheapest_rule_last() {
        let d = DialingConfig::default();
        assert_eq!(d.classify("911"), NumberKind::Emergency);
        assert_eq!(d.classify("5551234"), NumberKind::Needs(DialClass::National));
        assert_eq!(d.classify("2125550100"), NumberKind::Needs(DialClass::National));
        assert_eq!(d.classify("+12125550100"), NumberKind::Needs(DialClass::National));
        assert_eq!(d.classify("19005550100"), NumberKind::Needs(DialClass::Premium));
        assert_eq!(d.classify("9765550100"), NumberKind::Needs(DialClass::Premium));
        assert_eq!(d.classify("011442079460000"), NumberKind::Needs(DialClass::International));
        assert_eq!(d.classify("+442079460000"), NumberKind::Needs(DialClass::International));
        // Unknown shapes are international, never cheaper.
        assert_eq!(d.classify("12"), NumberKind::Needs(DialClass::International));
    }

    #[test]
    fn a_class_allows_its_level_and_below_and_emergency_always() {
        let d = DialingConfig::default();
        assert_eq!(d.allows(DialClass::Internal, "911"), Ok(()));
        assert_eq!(d.allows(DialClass::Internal, "5551234"), Err(DialClass::National));
        assert_eq!(d.allows(DialClass::National, "5551234"), Ok(()));
        assert_eq!(d.allows(DialClass::National, "+442079460000"), Err(DialClass::International));
        assert_eq!(d.allows(DialClass::International, "+442079460000"), Ok(()));
        assert_eq!(d.allows(DialClass::International, "19005550100"), Err(DialClass::Premium));
        assert_eq!(d.allows(DialClass::Premium, "19005550100"), Ok(()));
    }

    #[test]
    fn config_errors_name_the_field() {
        assert!(Config::parse("", "t.toml").is_ok());
        let e = Config::parse("[dialing]\ndialplan_class = \"everything\"\n", "t.toml").unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("dialing.dialplan_class", 2));
        let e = Config::parse("[dialing]\nnational = [\"_X.X\"]\n", "t.toml").unwrap_err();
        assert_eq!(e.field, "dialing.national");
    }
}

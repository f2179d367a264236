//! Owns recognising SIP scanners by their User-Agent. Must not decide what
//! happens to them (the guard drops them and counts them towards a ban).
//!
//! The list is of tools that only ever probe or brute-force (SIPVicious
//! and its `friendly-scanner` default, sipcli, sip-scan, sundayddr, iWar,
//! VaxSIPUserAgent, pplsip, smap). Admin tools that are also used
//! legitimately (sipsak, SIPp) are deliberately not on it.

/// Case-insensitive substrings of scanner User-Agents.
pub const SCANNER_AGENTS: &[&str] = &["friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sundayddr", "iwar", "vaxsipuseragent", "pplsip", "smap"];

/// Whether a User-Agent value names a known scanner. Allocates nothing:
/// it runs for every out-of-dialog request.
pub fn is_scanner(user_agent: &str) -> bool {
    SCANNER_AGENTS.iter().any(|needle| contains_ignore_ascii_case(user_agent.as_bytes(), needle.as_bytes()))
}

fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scanners_in_any_case() {
        for ua in ["friendly-scanner", "SIPVicious 0.3.4", "sipcli/v1.8", "sip-scan", "sundayddr", "iWar", "VaxSIPUserAgent/3.1", "PPLSIP", "smap 0.6"] {
            assert!(is_scanner(ua), "{ua}");
        }
    }

    #[test]
    fn phones_and_admin_tools_pass() {
        for ua in ["baresip v1.0.0 (x86_64/linux)", "sipsak 0.9.8", "SIPp", "Yealink SIP-T46S 66.86.0.15", "Grandstream GXP2170", "", "Linphone/5.2"] {
            assert!(!is_scanner(ua), "{ua}");
        }
    }
}

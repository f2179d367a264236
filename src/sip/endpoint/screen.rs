//! Asking the attack guard (`sip::guard`) about a parsed request: its
//! User-Agent and whether it is out-of-dialog, read from the raw header
//! values without allocating (this runs for every request). Must not
//! decide bans or limits.

use std::net::SocketAddr;

use crate::sip::guard::SharedGuard;
use crate::sip::message::{HeaderName, Request};

/// Whether `req` from `source` may go on to the transaction layer.
/// In-dialog requests (a To tag and a Call-ID a call task bound, as
/// `bound` tells) belong to calls the appliance already admitted and are
/// never charged; everything else is, a To tag alone too: it is the
/// sender's claim, and would let a flood of tagged OPTIONS through.
pub fn admit(guard: &SharedGuard, req: &Request, source: SocketAddr, bound: impl Fn(&str) -> bool) -> bool {
    let user_agent = req.headers.get(&HeaderName::UserAgent);
    let in_dialog = req.headers.get(&HeaderName::To).is_some_and(has_tag) && req.call_id().is_some_and(bound);
    guard.admit_request(source, user_agent, !in_dialog)
}

/// Whether a To/From value carries a `tag` parameter. Header parameters
/// follow the `>` of a name-addr, or the URI of a bare addr-spec (whose
/// own `;` parameters are then header parameters, RFC 3261 §20.10), so
/// every `;` piece after the last `>` is looked at.
pub fn has_tag(value: &str) -> bool {
    let params = value.rfind('>').map_or(value, |i| &value[i + 1..]);
    params.split(';').any(|p| p.split('=').next().is_some_and(|name| name.trim().eq_ignore_ascii_case("tag")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::guard::GuardConfig;
    use crate::sip::message::{parse_message, Message};

    fn options(to: &str, ua: &str) -> Request {
        let raw = format!(
            "OPTIONS sip:x@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: {to}\r\n\
             Call-ID: call-1\r\nCSeq: 1 OPTIONS\r\nUser-Agent: {ua}\r\nContent-Length: 0\r\n\r\n"
        );
        match parse_message(raw.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_bound_dialogs_escape_the_rate_limit() {
        let cfg = GuardConfig { exempt: vec![], rate_limit_per_sec: 1, rate_limit_burst: 1, ..GuardConfig::default() };
        let guard = SharedGuard::new(&cfg);
        let src: SocketAddr = "192.0.2.9:5060".parse().unwrap();
        let (untagged, tagged) = (options("<sip:x@y>", "phone"), options("<sip:x@y>;tag=9", "phone"));
        assert!(admit(&guard, &untagged, src, |_| false), "the burst");
        assert!(!admit(&guard, &untagged, src, |_| false), "over the limit");
        assert!(!admit(&guard, &tagged, src, |_| false), "a To tag without a dialog is charged");
        assert!(admit(&guard, &tagged, src, |c| c == "call-1"), "a bound dialog is not");
        assert!(!admit(&guard, &untagged, src, |c| c == "call-1"), "an untagged request is out-of-dialog whatever its Call-ID");
        assert!(!admit(&guard, &options("<sip:x@y>;tag=9", "friendly-scanner"), "192.0.2.10:5060".parse().unwrap(), |_| true), "scanners are dropped in dialogs too");
    }

    #[test]
    fn to_tags() {
        assert!(has_tag("<sip:1001@example.com>;tag=abc"));
        assert!(has_tag("\"Ann\" <sip:1001@example.com;transport=udp> ; TAG = x"));
        assert!(has_tag("sip:1001@example.com;tag=abc"));
        assert!(!has_tag("<sip:1001@example.com>"));
        assert!(!has_tag("<sip:1001@example.com;tag=inside-the-uri>"));
        assert!(!has_tag("\"tag\" <sip:tag@example.com>;tagx=1"));
        assert!(!has_tag(""));
    }
}

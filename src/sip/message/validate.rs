//! Request validation a server runs right after `parse_message`: every typed
//! view the transaction, dialog and registrar layers rely on must parse, so
//! that a broken header is answered with 400 once, here, instead of failing
//! somewhere deep in a call. Owns no policy beyond RFC 3261 §8.2 / §16.3
//! syntax checks (Require, Content-Type, auth schemes are for higher layers).

use super::error::ParseError;
use super::scanner::{is_word_char, malformed};
use super::types::{Contact, HeaderName, Method, Request, Uri};

/// Check a parsed request (RFC 3261 §8.2.1–§8.2.2, RFC 4475 §3.1.2, §3.3).
///
/// Returns the error to answer with: 400 for malformed or contradictory
/// headers, 416 for a Request-URI scheme we cannot serve (only sip, sips and
/// tel are accepted).
pub fn validate_request(req: &Request) -> Result<(), ParseError> {
    check_request_uri(&req.uri)?;
    // RFC 3261 §8.1.1: the transaction and dialog layers read these.
    let vias = req.headers.vias()?;
    if vias.is_empty() {
        return Err(ParseError::semantic("Missing Via"));
    }
    req.headers.from_addr().map_err(|e| relabel(e, "From"))?;
    req.headers.to_addr().map_err(|e| relabel(e, "To"))?;
    let cseq = req.headers.cseq()?;
    if cseq.method != req.method {
        return Err(ParseError::semantic("CSeq method mismatch"));
    }
    check_call_id(req.headers.call_id())?;
    for name in [HeaderName::MaxForwards, HeaderName::ContentType, HeaderName::Expires] {
        if req.headers.get_all(&name).nth(1).is_some() {
            // RFC 4475 §3.3.8 multi01: single-valued fields given twice.
            return Err(ParseError::semantic(format!("Bad Request - Multiple {} values", name.as_str())));
        }
    }
    check_max_forwards(req)?;
    check_contacts(req)?;
    check_content_length(req)?;
    if let Some(date) = req.headers.get(&HeaderName::Extension("Date".into())) {
        if !is_sip_date(date) {
            // RFC 4475 §3.1.2.12 baddate.
            return Err(malformed("Date"));
        }
    }
    Ok(())
}

/// Replace the reason of a name-addr failure with the header it came from.
fn relabel(e: ParseError, header: &str) -> ParseError {
    if e.reason.starts_with("Missing") {
        e
    } else {
        malformed(header)
    }
}

/// RFC 3261 §19.1.5: a Request-URI must not carry URI headers
/// (RFC 4475 §3.1.2.11 escruri); unknown schemes get 416 (§3.3.2 unkscm,
/// §3.3.3 novelsc).
fn check_request_uri(uri: &Uri) -> Result<(), ParseError> {
    match uri {
        Uri::Sip(u) if !u.headers.is_empty() => {
            Err(ParseError::semantic("Bad Request - Headers not allowed in Request-URI"))
        }
        Uri::Sip(_) => Ok(()),
        Uri::Other { scheme, .. } if scheme.eq_ignore_ascii_case("tel") => Ok(()),
        Uri::Other { .. } => Err(ParseError::unsupported_uri_scheme()),
    }
}

/// RFC 3261 §25.1 callid = word ["@" word].
fn check_call_id(id: Option<&str>) -> Result<(), ParseError> {
    let id = id.ok_or_else(|| ParseError::semantic("Missing Call-ID"))?;
    let mut parts = id.splitn(2, '@');
    let ok = parts.all(|w| !w.is_empty() && w.chars().all(is_word_char));
    if ok {
        Ok(())
    } else {
        Err(malformed("Call-ID"))
    }
}

/// RFC 3261 §20.22: 1*DIGIT; values above 255 are not meaningful
/// (RFC 4475 §3.1.2.4 scalar02 lists 300 as out of range).
fn check_max_forwards(req: &Request) -> Result<(), ParseError> {
    match req.headers.max_forwards() {
        Ok(None) => Ok(()),
        Ok(Some(n)) if n <= 255 => Ok(()),
        _ => Err(malformed("Max-Forwards")),
    }
}

/// Every Contact must parse (RFC 4475 §3.1.2.1 badinv01, §3.1.2.13
/// regbadct); `*` only alone, only in REGISTER, and only with `Expires: 0`
/// (RFC 3261 §10.2.2, §10.3 step 6).
fn check_contacts(req: &Request) -> Result<(), ParseError> {
    let contacts = req.headers.contacts()?;
    if contacts.iter().any(|c| matches!(c, Contact::Star)) {
        let star_ok = contacts.len() == 1
            && req.method == Method::Register
            && matches!(req.headers.expires(), Ok(Some(0)));
        if !star_ok {
            return Err(malformed("Contact"));
        }
    }
    Ok(())
}

/// A Content-Length present must equal the body we hold.
fn check_content_length(req: &Request) -> Result<(), ParseError> {
    let mut values = req.headers.get_all(&HeaderName::ContentLength);
    match (values.next(), values.next()) {
        (None, _) => Ok(()),
        (Some(v), None) if v.trim().parse::<usize>().ok() == Some(req.body.len()) => Ok(()),
        _ => Err(malformed("Content-Length")),
    }
}

/// RFC 3261 §20.17 SIP-date = rfc1123-date:
/// `wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"`.
/// Only GMT is allowed; "EST" and numeric offsets are not.
fn is_sip_date(s: &str) -> bool {
    const WKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let num = |t: &str, len: usize, max: u32| {
        t.len() == len && t.bytes().all(|b| b.is_ascii_digit()) && t.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let parts: Vec<&str> = s.split(' ').collect();
    let [wk, day, mon, year, time, zone] = parts.as_slice() else { return false };
    let time_ok = {
        let t: Vec<&str> = time.split(':').collect();
        matches!(t.as_slice(), [h, m, sec] if num(h, 2, 23) && num(m, 2, 59) && num(sec, 2, 60))
    };
    wk.strip_suffix(',').is_some_and(|w| WKDAYS.contains(&w))
        && num(day, 2, 31)
        && MONTHS.contains(mon)
        && num(year, 4, 9999)
        && time_ok
        && *zone == "GMT"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_dates() {
        assert!(is_sip_date("Sat, 15 Oct 2005 04:44:56 GMT"));
        assert!(!is_sip_date("Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!is_sip_date("Fri, 01 Jan 2010 16:00:00 +0000"));
        assert!(!is_sip_date("Fri, 1 Jan 2010 16:00:00 GMT"));
        assert!(!is_sip_date("Fri, 01 Jan 2010 24:00:00 GMT"));
        assert!(!is_sip_date(""));
    }

    #[test]
    fn call_ids() {
        assert!(check_call_id(Some("a@b")).is_ok());
        assert!(check_call_id(Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")).is_ok());
        assert!(check_call_id(Some("a@")).is_err());
        assert!(check_call_id(Some("a b")).is_err());
        assert!(check_call_id(Some("a@b@c")).is_err());
    }
}

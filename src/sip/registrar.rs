//! Registrar rules (RFC 3261 §10.3) as a pure function: given a REGISTER,
//! the current bindings of its address of record and the clock, decide the
//! new binding set or the error to answer. Storage and authentication are
//! the caller's; this file must not touch the database or sockets.

use super::message::{Contact, HeaderName, Request};

/// Expiry limits from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ExpiresPolicy {
    pub min: u32,
    pub max: u32,
    pub default: u32,
}

/// Bound on contacts per address of record, so one account cannot fill the table.
pub const MAX_CONTACTS_PER_AOR: usize = 10;

/// A binding as the registrar reasons about it (times in unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct BindingView {
    pub contact: String,
    pub call_id: String,
    pub cseq: u32,
    pub expires_at: i64,
    pub q: Option<f64>,
}

/// What to do with the store.
#[derive(Debug, Clone, PartialEq)]
pub enum BindingOp {
    Upsert(BindingView),
    Remove(String),
    RemoveAll,
}

/// A REGISTER the registrar refuses, with the status to answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegisterError {
    /// §10.3 step 6: expiry below our minimum; answer 423 with Min-Expires.
    #[error("Interval Too Brief")]
    IntervalTooBrief { min: u32 },
    /// Malformed Contact or Expires, or `*` misused (§10.3 step 6).
    #[error("{0}")]
    Bad(String),
    /// §10.3 step 7: same Call-ID with a CSeq not above the stored one.
    #[error("Out of order REGISTER for {0}")]
    OutOfOrder(String),
    /// More contacts than MAX_CONTACTS_PER_AOR.
    #[error("Too many contacts (max {MAX_CONTACTS_PER_AOR})")]
    TooMany,
}

impl RegisterError {
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::Bad(_) => 400,
            RegisterError::OutOfOrder(_) => 500,
            RegisterError::TooMany => 403,
        }
    }
}

/// Plans the binding changes for `req` against `existing` (live bindings).
pub fn plan_register(
    req: &Request,
    existing: &[BindingView],
    now: i64,
    policy: ExpiresPolicy,
) -> Result<Vec<BindingOp>, RegisterError> {
    let bad = |m: &str| RegisterError::Bad(m.to_string());
    let contacts = req.headers.contacts().map_err(|e| RegisterError::Bad(e.reason))?;
    let header_expires = req.headers.expires().map_err(|_| bad("Bad Expires header"))?;
    let call_id = req.headers.call_id().ok_or_else(|| bad("Missing Call-ID"))?.to_string();
    let cseq = req.headers.cseq().map_err(|e| RegisterError::Bad(e.reason))?.seq;

    if contacts.iter().any(|c| matches!(c, Contact::Star)) {
        // §10.3 step 6: `*` only alone and only with Expires: 0.
        if contacts.len() != 1 || header_expires != Some(0) {
            return Err(bad("Contact: * requires Expires: 0 and no other contacts"));
        }
        for b in existing {
            if b.call_id == call_id && cseq <= b.cseq {
                return Err(RegisterError::OutOfOrder(b.contact.clone()));
            }
        }
        return Ok(vec![BindingOp::RemoveAll]);
    }

    let mut ops = Vec::new();
    let mut live: Vec<String> = existing.iter().map(|b| b.contact.clone()).collect();
    for c in &contacts {
        let Contact::Addr(addr) = c else { continue };
        let expires = match addr.param("expires") {
            Some(Some(v)) => v.trim().parse::<u32>().map_err(|_| bad("Bad expires parameter"))?,
            Some(None) => return Err(bad("Bad expires parameter")),
            None => header_expires.unwrap_or(policy.default),
        };
        if expires != 0 && expires < policy.min {
            return Err(RegisterError::IntervalTooBrief { min: policy.min });
        }
        let expires = expires.min(policy.max);
        let q = match addr.param("q") {
            Some(Some(v)) => Some(v.trim().parse::<f64>().ok().filter(|q| (0.0..=1.0).contains(q)).ok_or_else(|| bad("Bad q parameter"))?),
            _ => None,
        };
        let contact = addr.uri.to_string();
        if let Some(old) = existing.iter().find(|b| b.contact == contact) {
            if old.call_id == call_id && cseq <= old.cseq {
                return Err(RegisterError::OutOfOrder(contact));
            }
        }
        if expires == 0 {
            live.retain(|c| *c != contact);
            ops.push(BindingOp::Remove(contact));
        } else {
            if !live.contains(&contact) {
                live.push(contact.clone());
            }
            ops.push(BindingOp::Upsert(BindingView {
                contact,
                call_id: call_id.clone(),
                cseq,
                expires_at: now + i64::from(expires),
                q,
            }));
        }
    }
    if live.len() > MAX_CONTACTS_PER_AOR {
        return Err(RegisterError::TooMany);
    }
    Ok(ops)
}

/// Whether the request names a Contact at all (a query when none, §10.3 step 8).
pub fn is_query(req: &Request) -> bool {
    req.headers.get(&HeaderName::Contact).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{parse_message, Message};

    const POLICY: ExpiresPolicy = ExpiresPolicy { min: 60, max: 3600, default: 3600 };

    fn reg(extra: &str, cseq: u32) -> Request {
        let raw = format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{cseq}\r\nFrom: <sip:1001@127.0.0.1>;tag=a\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: reg1\r\nCSeq: {cseq} REGISTER\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_message(raw.as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    fn view(contact: &str, call_id: &str, cseq: u32) -> BindingView {
        BindingView { contact: contact.into(), call_id: call_id.into(), cseq, expires_at: 500, q: None }
    }

    #[test]
    fn multiple_contacts_with_param_and_header_expiry() {
        let r = reg("Contact: <sip:1001@127.0.0.1:5070>;expires=120, <sip:1001@127.0.0.1:5072>\r\nExpires: 300\r\n", 1);
        let ops = plan_register(&r, &[], 1000, POLICY).unwrap();
        assert_eq!(ops.len(), 2);
        let BindingOp::Upsert(a) = &ops[0] else { panic!() };
        let BindingOp::Upsert(b) = &ops[1] else { panic!() };
        assert_eq!((a.expires_at, b.expires_at), (1120, 1300));
    }

    #[test]
    fn too_brief_and_capped() {
        let r = reg("Contact: <sip:1001@h>\r\nExpires: 10\r\n", 1);
        assert_eq!(plan_register(&r, &[], 0, POLICY), Err(RegisterError::IntervalTooBrief { min: 60 }));
        let r = reg("Contact: <sip:1001@h>;expires=99999\r\n", 1);
        let ops = plan_register(&r, &[], 0, POLICY).unwrap();
        assert!(matches!(&ops[0], BindingOp::Upsert(v) if v.expires_at == 3600));
    }

    #[test]
    fn star_unregisters_only_with_expires_zero() {
        let r = reg("Contact: *\r\nExpires: 0\r\n", 5);
        assert_eq!(plan_register(&r, &[view("sip:1001@h", "other", 9)], 0, POLICY).unwrap(), vec![BindingOp::RemoveAll]);
        let r = reg("Contact: *\r\n", 5);
        assert_eq!(plan_register(&r, &[], 0, POLICY).unwrap_err().status(), 400);
        let r = reg("Contact: *, <sip:a@b>\r\nExpires: 0\r\n", 5);
        assert_eq!(plan_register(&r, &[], 0, POLICY).unwrap_err().status(), 400);
    }

    #[test]
    fn expires_zero_removes_and_out_of_order_is_refused() {
        let r = reg("Contact: <sip:1001@h>;expires=0\r\n", 3);
        assert_eq!(
            plan_register(&r, &[view("sip:1001@h", "reg1", 2)], 0, POLICY).unwrap(),
            vec![BindingOp::Remove("sip:1001@h".into())]
        );
        let r = reg("Contact: <sip:1001@h>\r\n", 2);
        assert_eq!(plan_register(&r, &[view("sip:1001@h", "reg1", 2)], 0, POLICY).unwrap_err().status(), 500);
        // A different Call-ID (phone rebooted) replaces the binding whatever its CSeq.
        assert!(plan_register(&r, &[view("sip:1001@h", "old", 99)], 0, POLICY).is_ok());
    }

    #[test]
    fn contact_limit() {
        let existing: Vec<_> = (0..MAX_CONTACTS_PER_AOR).map(|i| view(&format!("sip:1001@h{i}"), "x", 1)).collect();
        let r = reg("Contact: <sip:1001@new>\r\n", 1);
        assert_eq!(plan_register(&r, &existing, 0, POLICY), Err(RegisterError::TooMany));
        assert!(is_query(&reg("", 1)));
    }
}

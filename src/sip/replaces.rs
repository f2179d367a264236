//! The `Replaces` header (RFC 3891) as phones put it in a REFER's Refer-To
//! URI for an attended transfer (RFC 5589 §7): which dialog the transfer
//! target's call replaces. Sans-IO: parsing and dialog matching only; the
//! call layer finds the call that owns the dialog.

use super::dialog::Dialog;

/// The dialog a `Replaces` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    /// The tag of the UA that receives the replacing INVITE (for a REFER
    /// through us: our tag in that dialog).
    pub to_tag: String,
    /// The other party's tag (the transferor's).
    pub from_tag: String,
    /// `early-only`: replace only a dialog that is not confirmed yet.
    pub early_only: bool,
}

/// Why a Replaces could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplacesError {
    #[error("Replaces without a Call-ID")]
    NoCallId,
    #[error("Replaces without to-tag and from-tag")]
    NoTags,
    #[error("Replaces is not valid percent-encoded UTF-8")]
    Encoding,
}

impl Replaces {
    /// Parses a header value: `callid;to-tag=x;from-tag=y[;early-only]`.
    pub fn parse(value: &str) -> Result<Replaces, ReplacesError> {
        let mut parts = value.split(';').map(str::trim);
        let call_id = parts.next().filter(|c| !c.is_empty()).ok_or(ReplacesError::NoCallId)?.to_string();
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for p in parts {
            let (name, v) = p.split_once('=').map(|(n, v)| (n.trim(), v.trim())).unwrap_or((p, ""));
            if name.eq_ignore_ascii_case("to-tag") {
                to_tag = Some(v.to_string());
            } else if name.eq_ignore_ascii_case("from-tag") {
                from_tag = Some(v.to_string());
            } else if name.eq_ignore_ascii_case("early-only") {
                early_only = true;
            }
        }
        match (to_tag, from_tag) {
            (Some(t), Some(f)) if !t.is_empty() && !f.is_empty() => Ok(Replaces { call_id, to_tag: t, from_tag: f, early_only }),
            _ => Err(ReplacesError::NoTags),
        }
    }

    /// The `Replaces` URI header of a Refer-To value (`<sip:x@h?Replaces=...>`),
    /// when it has one. Read from the raw text rather than the parsed URI:
    /// phones differ in how much of the Call-ID they escape (a raw `@` is
    /// common), and the URI grammar would refuse the whole Refer-To.
    pub fn from_refer_to(refer_to: &str) -> Option<Result<Replaces, ReplacesError>> {
        let uri = match (refer_to.find('<'), refer_to.rfind('>')) {
            (Some(a), Some(b)) if a < b => &refer_to[a + 1..b],
            _ => refer_to,
        };
        let (_, headers) = uri.split_once('?')?;
        let value = headers.split('&').find_map(|h| {
            let (n, v) = h.split_once('=')?;
            n.trim().eq_ignore_ascii_case("replaces").then_some(v)
        })?;
        Some(percent_decode(value).ok_or(ReplacesError::Encoding).and_then(|v| Replaces::parse(&v)))
    }

    /// Whether this names `dialog`, one of ours. RFC 3891 §3 puts our tag
    /// in `to-tag`; the reverse order is accepted too, since the two tags
    /// of one Call-ID identify the dialog either way and some phones swap
    /// them when they build the Refer-To.
    pub fn names(&self, dialog: &Dialog) -> bool {
        dialog.call_id == self.call_id
            && ((dialog.local_tag == self.to_tag && dialog.remote_tag == self.from_tag)
                || (dialog.local_tag == self.from_tag && dialog.remote_tag == self.to_tag))
    }
}

/// `%XX` decoding; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_with_an_escaped_replaces() {
        let r = Replaces::from_refer_to("<sip:2402@10.0.0.1?Replaces=abc%40host%3Bto-tag%3Dsw1%3Bfrom-tag%3Dph1>").unwrap().unwrap();
        assert_eq!(r, Replaces { call_id: "abc@host".into(), to_tag: "sw1".into(), from_tag: "ph1".into(), early_only: false });
        let raw = Replaces::from_refer_to("\"X\" <sip:2402@h?Subject=x&replaces=a@b%3Bfrom-tag%3Df%3Bto-tag%3Dt%3Bearly-only>;foo=bar").unwrap().unwrap();
        assert_eq!((raw.call_id.as_str(), raw.to_tag.as_str(), raw.from_tag.as_str(), raw.early_only), ("a@b", "t", "f", true));
    }

    #[test]
    fn a_blind_refer_has_no_replaces_and_broken_ones_are_errors() {
        assert_eq!(Replaces::from_refer_to("<sip:2402@h>"), None);
        assert_eq!(Replaces::from_refer_to("<sip:2402@h?Subject=hi>"), None);
        assert_eq!(Replaces::from_refer_to("<sip:2402@h?Replaces=abc%3Bto-tag%3Dx>"), Some(Err(ReplacesError::NoTags)));
        assert_eq!(Replaces::from_refer_to("<sip:2402@h?Replaces=%3Bto-tag%3Dx%3Bfrom-tag%3Dy>"), Some(Err(ReplacesError::NoCallId)));
        assert_eq!(Replaces::from_refer_to("<sip:2402@h?Replaces=a%ZZb>"), Some(Err(ReplacesError::Encoding)));
    }

    #[test]
    fn matches_our_dialog_in_either_tag_order() {
        use crate::sip::message::{parse_message, Message};
        let text = "INVITE sip:2402@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=ph1\r\nTo: <sip:2402@h>\r\nCall-ID: abc@host\r\nCSeq: 1 INVITE\r\nContact: <sip:a@1.2.3.4>\r\nContent-Length: 0\r\n\r\n";
        let Ok(Message::Request(req)) = parse_message(text.as_bytes()) else { panic!("parse") };
        let d = Dialog::uas(&req, "sw1").unwrap();
        let r = |cid: &str, to: &str, from: &str| Replaces { call_id: cid.into(), to_tag: to.into(), from_tag: from.into(), early_only: false };
        assert!(r("abc@host", "sw1", "ph1").names(&d));
        assert!(r("abc@host", "ph1", "sw1").names(&d), "swapped tags");
        assert!(!r("abc@host", "sw1", "other").names(&d));
        assert!(!r("xyz@host", "sw1", "ph1").names(&d));
    }
}

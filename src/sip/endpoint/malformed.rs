//! Answering requests the parser refused. RFC 3261 §8.2 wants a 400 with a
//! reason phrase, but a message that failed to parse has no typed headers,
//! so the response copies the raw Via/From/To/Call-ID/CSeq lines that can
//! still be found. Responses (start line `SIP/`) are never answered.

use crate::sip::message::{Header, HeaderName, Headers, Response};
use crate::sip::transaction::new_tag;

/// A 4xx/5xx for the raw bytes of a refused request, or `None` if the bytes
/// look like a response or lack the headers a response must echo.
pub fn bad_request_for(bytes: &[u8], status: u16, reason: &str) -> Option<Response> {
    let text = String::from_utf8_lossy(bytes.get(..bytes.len().min(16 * 1024))?);
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let start = lines.by_ref().find(|l| !l.trim().is_empty())?;
    if start.starts_with("SIP/") {
        return None;
    }
    let mut headers = Headers::default();
    for line in lines.take_while(|l| !l.trim().is_empty()) {
        let Some((name, value)) = line.split_once(':') else { continue };
        let name = HeaderName::parse(name.trim());
        if matches!(name, HeaderName::Via | HeaderName::From | HeaderName::To | HeaderName::CallId | HeaderName::CSeq) {
            headers.0.push(Header { name, value: value.trim().to_string() });
        }
    }
    // Without a Via nobody can match the response to anything.
    headers.get(&HeaderName::Via)?;
    let reason = sanitize_reason(reason, status);
    let mut resp = Response { status, reason, headers, body: Vec::new() };
    ensure_to_tag(&mut resp);
    Some(resp)
}

/// §8.2.6.2: a final response needs a To tag if the request had none.
pub fn ensure_to_tag(resp: &mut Response) {
    if let Some(to) = resp.headers.get(&HeaderName::To) {
        if !to.to_ascii_lowercase().contains(";tag=") {
            let tagged = format!("{to};tag={}", new_tag());
            resp.headers.set(HeaderName::To, tagged);
        }
    }
}

/// Reason phrases are TEXT-UTF8 without CR/LF; keep them short and printable.
fn sanitize_reason(reason: &str, status: u16) -> String {
    let clean: String = reason.chars().filter(|c| !c.is_control()).take(120).collect();
    if clean.trim().is_empty() {
        match status {
            505 => "Version Not Supported".into(),
            513 => "Message Too Large".into(),
            _ => "Bad Request".into(),
        }
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_what_it_can_and_tags_to() {
        let raw = b"INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\nTo: <sip:x@y>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: zz\r\n\r\n";
        let r = bad_request_for(raw, 400, "Bad Request - Malformed Content-Length").unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.reason, "Bad Request - Malformed Content-Length");
        assert!(r.headers.get(&HeaderName::To).unwrap().contains(";tag="));
        assert_eq!(r.headers.get(&HeaderName::CallId), Some("abc"));
    }

    #[test]
    fn responses_and_garbage_are_not_answered() {
        assert!(bad_request_for(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", 400, "x").is_none());
        assert!(bad_request_for(b"\x00\x01garbage", 400, "x").is_none());
        assert!(bad_request_for(b"", 400, "x").is_none());
    }
}

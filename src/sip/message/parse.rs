//! Whole-message parsing (RFC 3261 §7, §18.3): datagram parsing with
//! `parse_message` and check-then-parse framing of stream transports with
//! `frame_stream`. Owns start lines, header-line splitting/unfolding,
//! Content-Length framing and the mandatory-header checks; header value
//! grammars live in `header`. Never panics: all slicing uses `get`.

use super::error::ParseError;
use super::header::{is_token, parse_uri};
use super::scanner::malformed;
use super::types::{Header, HeaderName, Headers, Message, Method, Request, Response};
use super::MAX_MESSAGE_SIZE;

/// Result of looking for one message at the front of a stream buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// A whole message occupies the first `n` bytes; hand them to `parse_message`.
    Complete(usize),
    /// Need more bytes.
    Incomplete,
    /// The first `n` bytes are CRLF keep-alives (RFC 5626 §3.5.1: CRLFCRLF
    /// ping, CRLF pong); skip them. `n >= 4` means a ping that wants a pong.
    KeepAlive(usize),
    /// The stream cannot be framed (no or bad Content-Length, oversize
    /// headers); the connection should be closed.
    Error(ParseError),
}

/// Frame the next message of a TCP/TLS/WS byte stream (RFC 3261 §18.3:
/// Content-Length is mandatory on streams).
pub fn frame_stream(buf: &[u8]) -> Framing {
    let lead = buf.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    if lead > 0 {
        // Do not split a CRLF whose LF has not arrived yet.
        if lead == buf.len() && buf.last() == Some(&b'\r') {
            return if lead == 1 { Framing::Incomplete } else { Framing::KeepAlive(lead - 1) };
        }
        return Framing::KeepAlive(lead);
    }
    let Some((head_len, body_start)) = find_head_end(buf) else {
        return if buf.len() > MAX_MESSAGE_SIZE {
            Framing::Error(ParseError::too_large())
        } else {
            Framing::Incomplete
        };
    };
    if body_start > MAX_MESSAGE_SIZE {
        return Framing::Error(ParseError::too_large());
    }
    let head = buf.get(..head_len).unwrap_or(&[]);
    let headers = match split_headers(head) {
        Ok((_, Ok(h))) => h,
        Ok((_, Err(e))) | Err(e) => return Framing::Error(e),
    };
    let cl = match content_length(&headers) {
        Ok(Some(n)) => n,
        Ok(None) => return Framing::Error(ParseError::semantic("Missing Content-Length")),
        Err(e) => return Framing::Error(e),
    };
    match body_start.checked_add(cl) {
        Some(total) if total <= MAX_MESSAGE_SIZE => {
            if buf.len() >= total {
                Framing::Complete(total)
            } else {
                Framing::Incomplete
            }
        }
        _ => Framing::Error(ParseError::too_large()),
    }
}

/// Parse one datagram (or one framed stream message) into a `Message`.
///
/// Framing per RFC 3261 §18.3: a body longer than Content-Length is cut
/// (RFC 4475 §3.1.1.8 dblreq), a shorter one is a 400 (§3.1.2.2 clerr);
/// without Content-Length the body is the rest of the datagram. Requests and
/// responses must carry Via, From, To, Call-ID and CSeq once each
/// (RFC 3261 §8.1.1; Max-Forwards may be absent for RFC 2543 peers, RFC 4475
/// §3.4.1); a request's CSeq method must equal its method (§8.1.1.5,
/// RFC 4475 §3.1.2.17).
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(ParseError::too_large());
    }
    // RFC 3261 §7.5: ignore CRLFs before the start line.
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .ok_or_else(|| ParseError::syntax("Bad Request - Empty message"))?;
    let data = bytes.get(start..).unwrap_or(&[]);
    // A datagram that ends after its last header line without the empty line
    // is accepted with an empty body (lenient, see module README).
    let (head, rest) = match find_head_end(data) {
        Some((h, b)) => (data.get(..h).unwrap_or(&[]), data.get(b..).unwrap_or(&[])),
        None => (data, &[][..]),
    };
    let (start_line, headers) = split_headers(head)?;
    // The start line decides first: a wrong version is 505 whatever follows.
    let start = if starts_with_ignore_case(&start_line, "SIP/") {
        StartLine::Status(parse_status_line(&start_line)?)
    } else {
        StartLine::Request(parse_request_line(&start_line)?)
    };
    let headers = headers?;
    let body = match content_length(&headers)? {
        None => rest.to_vec(),
        Some(n) if n <= rest.len() => rest.get(..n).unwrap_or(&[]).to_vec(),
        Some(_) => return Err(ParseError::semantic("Bad Request - Content-Length larger than message")),
    };
    let headers = Headers(headers);

    let msg = match start {
        StartLine::Status((status, reason)) => Message::Response(Response { status, reason, headers, body }),
        StartLine::Request((method, uri)) => Message::Request(Request { method, uri, headers, body }),
    };
    check_mandatory(&msg)?;
    Ok(msg)
}

enum StartLine {
    Request((Method, super::types::Uri)),
    Status((u16, String)),
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Locate the empty line ending the header section. Returns the length of
/// the head (through the last header line's LF) and where the body starts.
/// Bare LF line ends are tolerated alongside CRLF.
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < buf.len() {
        let lf = i + buf.get(i..)?.iter().position(|b| *b == b'\n')?;
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => return Some((lf + 1, lf + 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((lf + 1, lf + 3)),
            _ => i = lf + 1,
        }
    }
    None
}

/// Split the head into the start line and unfolded headers (RFC 3261 §7.3.1:
/// a line starting with SP/HT continues the previous one; whitespace before
/// the colon is allowed). Non-UTF-8 octets become U+FFFD.
/// The start line comes back even when a header line is broken so that the
/// caller can judge it first.
fn split_headers(head: &[u8]) -> Result<(String, Result<Vec<Header>, ParseError>), ParseError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().unwrap_or("").to_string();
    if start_line.contains('\r') {
        return Err(malformed("start line"));
    }
    Ok((start_line, unfold(lines)))
}

fn unfold<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Vec<Header>, ParseError> {
    let mut headers: Vec<Header> = Vec::new();
    let mut pending: Option<(String, String)> = None;
    for line in lines {
        // A stray CR that is not part of CRLF would let a re-serialized
        // message differ from what we parsed; RFC 3261 §25 does not allow it.
        if line.contains('\r') {
            return Err(malformed("header line"));
        }
        if line.is_empty() {
            continue; // only the final "line" after the last LF can be empty
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = pending.as_mut().ok_or_else(|| malformed("header line"))?;
            value.push(' ');
            value.push_str(line.trim_start_matches([' ', '\t']));
            continue;
        }
        if let Some((name, value)) = pending.take() {
            headers.push(make_header(&name, &value));
        }
        let (name, value) = line.split_once(':').ok_or_else(|| malformed("header line"))?;
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return Err(malformed("header name"));
        }
        pending = Some((name.to_string(), value.to_string()));
    }
    if let Some((name, value)) = pending {
        headers.push(make_header(&name, &value));
    }
    Ok(headers)
}

fn make_header(name: &str, value: &str) -> Header {
    Header { name: HeaderName::parse(name), value: value.trim_matches([' ', '\t']).to_string() }
}

/// The single Content-Length value, if any (RFC 3261 §20.14). Several lines
/// are refused outright (RFC 4475 §3.3.9 mcl01), as is anything but digits
/// (§3.1.2.3 ncl).
fn content_length(headers: &[Header]) -> Result<Option<usize>, ParseError> {
    let mut values = headers.iter().filter(|h| h.name == HeaderName::ContentLength);
    let Some(first) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ParseError::semantic("Bad Request - Multiple Content-Length values"));
    }
    let v = first.value.as_str();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("Content-Length"));
    }
    // Anything beyond usize is certainly beyond the message.
    v.parse::<usize>()
        .map(Some)
        .map_err(|_| ParseError::semantic("Bad Request - Content-Length larger than message"))
}

/// RFC 3261 §7.1 Request-Line = Method SP Request-URI SP SIP-Version, single
/// spaces only (RFC 4475 §3.1.2.8 lwsruri, §3.1.2.9 lwsstart, §3.1.2.10 trws).
fn parse_request_line(line: &str) -> Result<(Method, super::types::Uri), ParseError> {
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, uri, version] = parts.as_slice() else {
        return Err(malformed("Request-Line"));
    };
    check_version(version)?;
    if !is_token(method) {
        return Err(malformed("Request-Line"));
    }
    let uri = parse_uri(uri).map_err(|_| malformed("Request-URI"))?;
    Ok((Method::parse(method), uri))
}

/// RFC 3261 §7.2 Status-Line = SIP-Version SP Status-Code SP Reason-Phrase.
/// The code is exactly three digits (RFC 4475 §3.1.2.19 bigcode); an empty
/// reason is fine (§3.1.1.13 noreason), so is a missing final SP.
fn parse_status_line(line: &str) -> Result<(u16, String), ParseError> {
    let mut parts = line.splitn(3, ' ');
    check_version(parts.next().unwrap_or(""))?;
    let code = parts.next().unwrap_or("");
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("Status-Line"));
    }
    let status = code.parse::<u16>().map_err(|_| malformed("Status-Line"))?;
    if !(100..=699).contains(&status) {
        return Err(malformed("Status-Line"));
    }
    Ok((status, parts.next().unwrap_or("").to_string()))
}

/// `SIP/2.0` is accepted ("SIP" case-insensitively, RFC 3261 §7.1); any other
/// well-formed `SIP/x.y` gets 505, anything else 400.
fn check_version(v: &str) -> Result<(), ParseError> {
    if !starts_with_ignore_case(v, "SIP/") {
        return Err(malformed("SIP-Version"));
    }
    let num = v.get(4..).unwrap_or("");
    let well_formed = num
        .split_once('.')
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit()));
    match (well_formed, num) {
        (true, "2.0") => Ok(()),
        (true, _) => Err(ParseError::version_not_supported()),
        (false, _) => Err(malformed("SIP-Version")),
    }
}

/// Mandatory headers present exactly once (Via: at least once), CSeq valid
/// and matching the request method.
fn check_mandatory(msg: &Message) -> Result<(), ParseError> {
    let headers = msg.headers();
    let count = |n: &HeaderName| headers.0.iter().filter(|h| &h.name == n).count();
    if count(&HeaderName::Via) == 0 {
        return Err(ParseError::semantic("Missing Via"));
    }
    for (name, label) in [
        (HeaderName::From, "From"),
        (HeaderName::To, "To"),
        (HeaderName::CallId, "Call-ID"),
        (HeaderName::CSeq, "CSeq"),
    ] {
        match count(&name) {
            0 => return Err(ParseError::semantic(format!("Missing {label}"))),
            1 => {}
            // RFC 4475 §3.3.8 multi01.
            _ => return Err(ParseError::semantic(format!("Bad Request - Multiple {label} values"))),
        }
    }
    if headers.call_id().is_none_or(str::is_empty) {
        return Err(malformed("Call-ID"));
    }
    let cseq = headers.cseq()?;
    if let Message::Request(req) = msg {
        if cseq.method != req.method {
            return Err(ParseError::semantic("CSeq method mismatch"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn minimal_request() {
        let Message::Request(r) = parse_message(OPTIONS).unwrap() else { panic!() };
        assert_eq!(r.method, Method::Options);
        assert_eq!(r.body, b"abc");
        assert_eq!(r.headers.0.len(), 6);
    }

    #[test]
    fn leading_crlf_and_bare_lf() {
        let with_lf: Vec<u8> = OPTIONS.iter().copied().filter(|b| *b != b'\r').collect();
        let mut v = b"\r\n\r\n".to_vec();
        v.extend_from_slice(&with_lf);
        assert!(parse_message(&v).is_ok());
    }

    #[test]
    fn size_limit() {
        let big = vec![b'a'; MAX_MESSAGE_SIZE + 1];
        assert_eq!(parse_message(&big).unwrap_err().status, 513);
        assert!(matches!(frame_stream(&big), Framing::Error(e) if e.status == 513));
    }

    #[test]
    fn versions() {
        assert_eq!(check_version("SIP/2.0"), Ok(()));
        assert_eq!(check_version("sip/2.0"), Ok(()));
        assert_eq!(check_version("SIP/7.0").unwrap_err().status, 505);
        assert_eq!(check_version("SIP/2.0 ").unwrap_err().status, 400);
        assert_eq!(check_version("HTTP/1.1").unwrap_err().status, 400);
    }

    #[test]
    fn missing_headers_and_mismatch() {
        let no_callid = String::from_utf8_lossy(OPTIONS).replace("Call-ID: x\r\n", "");
        let e = parse_message(no_callid.as_bytes()).unwrap_err();
        assert_eq!((e.status, e.reason.as_str()), (400, "Missing Call-ID"));
        let mism = String::from_utf8_lossy(OPTIONS).replace("1 OPTIONS", "1 INVITE");
        assert_eq!(parse_message(mism.as_bytes()).unwrap_err().reason, "CSeq method mismatch");
        let short = String::from_utf8_lossy(OPTIONS).replace("Length: 3", "Length: 4");
        assert_eq!(parse_message(short.as_bytes()).unwrap_err().status, 400);
        let stray_cr = String::from_utf8_lossy(OPTIONS).replace("Call-ID: x", "Call-ID: x\ry");
        assert!(parse_message(stray_cr.as_bytes()).is_err());
    }

    #[test]
    fn stream_framing() {
        assert_eq!(frame_stream(b""), Framing::Incomplete);
        assert_eq!(frame_stream(b"\r"), Framing::Incomplete);
        assert_eq!(frame_stream(b"\r\n\r\n"), Framing::KeepAlive(4));
        assert_eq!(frame_stream(b"\r\n\r"), Framing::KeepAlive(2));
        assert_eq!(frame_stream(b"\r\nOPT"), Framing::KeepAlive(2));
        assert_eq!(frame_stream(&OPTIONS[..20]), Framing::Incomplete);
        assert_eq!(frame_stream(&OPTIONS[..OPTIONS.len() - 1]), Framing::Incomplete);
        assert_eq!(frame_stream(OPTIONS), Framing::Complete(OPTIONS.len()));
        let mut two = OPTIONS.to_vec();
        two.extend_from_slice(OPTIONS);
        assert_eq!(frame_stream(&two), Framing::Complete(OPTIONS.len()));
        let no_cl = String::from_utf8_lossy(OPTIONS).replace("Content-Length: 3\r\n", "");
        assert!(matches!(frame_stream(no_cl.as_bytes()), Framing::Error(e) if e.reason == "Missing Content-Length"));
        let huge_cl = String::from_utf8_lossy(OPTIONS).replace("Length: 3", "Length: 99999999999999999999999");
        assert!(matches!(frame_stream(huge_cl.as_bytes()), Framing::Error(_)));
    }
}

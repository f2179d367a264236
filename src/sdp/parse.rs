//! SDP parser (RFC 4566 §5).
//!
//! Owns: bytes → [`SessionDescription`]. Must not touch: I/O, SIP, offer/answer policy.
//!
//! Tolerant where real peers deviate harmlessly (LF-only line ends, blank lines, lines out of the
//! RFC's order, extra whitespace between fields, unknown line types), strict where a mistake would
//! make us send media to the wrong place (missing v/o/s/t, missing c=, malformed numbers, ports
//! above 65535). Never panics: every index is checked and every number goes through `digits`.

use super::error::SdpError;
use super::model::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, RawLine, SessionDescription, Timing,
};

/// Largest body we parse. SIP over UDP keeps SDP well under this; anything bigger is abuse.
pub const MAX_SDP_LEN: usize = 64 * 1024;

/// Parse an SDP body of at most [`MAX_SDP_LEN`] bytes.
pub fn parse(input: &[u8]) -> Result<SessionDescription, SdpError> {
    if input.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge { len: input.len() });
    }
    parse_unbounded(input)
}

/// Parse without the size cap. Only for re-parsing our own output (the fuzz round trip), which
/// may legitimately grow past the cap when LF line ends become CRLF.
pub(crate) fn parse_unbounded(input: &[u8]) -> Result<SessionDescription, SdpError> {
    let mut b = Builder::default();
    let mut seen_any = false;
    for (idx, raw) in input.split(|&c| c == b'\n').enumerate() {
        let line = idx + 1;
        // RFC 4566 §5 says CRLF, but also that parsers SHOULD accept a bare LF.
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let (kind, value) = split_line(raw, line)?;
        if !seen_any {
            seen_any = true;
            if kind != 'v' {
                return Err(SdpError::VersionNotFirst);
            }
        }
        b.line(line, kind, value)?;
    }
    if !seen_any {
        return Err(SdpError::Empty);
    }
    b.finish()
}

/// Split `x=value` into its type letter and value, rejecting control characters that could not
/// survive re-serialization (RFC 4566 §5: no CR, LF or NUL inside a field).
fn split_line(raw: &[u8], line: usize) -> Result<(char, &str), SdpError> {
    let (kind, rest) = match raw {
        [k, b'=', rest @ ..] if k.is_ascii_lowercase() => (char::from(*k), rest),
        _ => return Err(SdpError::MalformedLine { line }),
    };
    let value = std::str::from_utf8(rest).map_err(|_| SdpError::InvalidUtf8 { line })?;
    if value.contains(['\r', '\0']) {
        return Err(SdpError::MalformedLine { line });
    }
    Ok((kind, value))
}

/// A strictly decimal number: no sign, no spaces, no overflow.
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Accumulates lines; session-level fields are `Option` until `finish` checks the mandatory ones.
#[derive(Default)]
struct Builder {
    version_seen: bool,
    origin: Option<Origin>,
    name: Option<String>,
    info: Option<String>,
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    timings: Vec<Timing>,
    zone: Option<String>,
    key: Option<String>,
    attributes: Vec<Attribute>,
    other: Vec<RawLine>,
    media: Vec<MediaDescription>,
}

/// Set a once-only field, or report the duplicate.
fn set_once<T>(slot: &mut Option<T>, v: T, line: usize, kind: char) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(SdpError::Duplicate { line, kind });
    }
    *slot = Some(v);
    Ok(())
}

impl Builder {
    fn line(&mut self, line: usize, kind: char, value: &str) -> Result<(), SdpError> {
        if kind == 'm' {
            let m = parse_media(line, value)?;
            self.media.push(m);
            return Ok(());
        }
        // Once the first m= is seen, every line belongs to the latest media section (§5).
        if let Some(m) = self.media.last_mut() {
            return media_line(m, line, kind, value);
        }
        match kind {
            'v' => {
                if self.version_seen {
                    return Err(SdpError::Duplicate { line, kind });
                }
                self.version_seen = true;
                if digits::<u32>(value) != Some(0) {
                    return Err(SdpError::UnsupportedVersion { line });
                }
            }
            'o' => set_once(&mut self.origin, parse_origin(line, value)?, line, kind)?,
            's' => set_once(&mut self.name, value.to_owned(), line, kind)?,
            'i' => set_once(&mut self.info, value.to_owned(), line, kind)?,
            'u' => set_once(&mut self.uri, value.to_owned(), line, kind)?,
            'e' => self.emails.push(value.to_owned()),
            'p' => self.phones.push(value.to_owned()),
            'c' => set_once(
                &mut self.connection,
                parse_connection(line, value)?,
                line,
                kind,
            )?,
            'b' => self.bandwidths.push(parse_bandwidth(line, value)?),
            't' => self.timings.push(parse_timing(line, value)?),
            'r' => match self.timings.last_mut() {
                Some(t) => t.repeats.push(value.to_owned()),
                None => return Err(SdpError::Misplaced { line, kind }),
            },
            'z' => set_once(&mut self.zone, value.to_owned(), line, kind)?,
            'k' => set_once(&mut self.key, value.to_owned(), line, kind)?,
            'a' => self.attributes.push(parse_attribute(line, value)?),
            _ => self.other.push(RawLine {
                kind,
                value: value.to_owned(),
            }),
        }
        Ok(())
    }

    fn finish(self) -> Result<SessionDescription, SdpError> {
        let origin = self.origin.ok_or(SdpError::Missing { kind: 'o' })?;
        let name = self.name.ok_or(SdpError::Missing { kind: 's' })?;
        if self.timings.is_empty() {
            return Err(SdpError::Missing { kind: 't' });
        }
        // RFC 4566 §5.7: c= at session level or in every media description.
        if self.connection.is_none() {
            if let Some(media) = self.media.iter().position(|m| m.connection.is_none()) {
                return Err(SdpError::MissingConnection { media });
            }
        }
        Ok(SessionDescription {
            version: 0,
            origin,
            name,
            info: self.info,
            uri: self.uri,
            emails: self.emails,
            phones: self.phones,
            connection: self.connection,
            bandwidths: self.bandwidths,
            timings: self.timings,
            zone: self.zone,
            key: self.key,
            attributes: self.attributes,
            other: self.other,
            media: self.media,
        })
    }
}

fn media_line(
    m: &mut MediaDescription,
    line: usize,
    kind: char,
    value: &str,
) -> Result<(), SdpError> {
    match kind {
        'i' => set_once(&mut m.info, value.to_owned(), line, kind)?,
        'c' => {
            let c = parse_connection(line, value)?;
            if m.connection.is_none() {
                m.connection = Some(c);
            } else {
                // Layered multicast may list several c= (§5.7); we only use the first.
                m.other.push(RawLine {
                    kind,
                    value: value.to_owned(),
                });
            }
        }
        'b' => m.bandwidths.push(parse_bandwidth(line, value)?),
        'k' => set_once(&mut m.key, value.to_owned(), line, kind)?,
        'a' => m.attributes.push(parse_attribute(line, value)?),
        'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
            return Err(SdpError::Misplaced { line, kind })
        }
        _ => m.other.push(RawLine {
            kind,
            value: value.to_owned(),
        }),
    }
    Ok(())
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (§5.2).
fn parse_origin(line: usize, value: &str) -> Result<Origin, SdpError> {
    let bad = SdpError::InvalidField { line, kind: 'o' };
    let f: Vec<&str> = value.split_ascii_whitespace().collect();
    let [username, session_id, version, nettype, addrtype, address] = f.as_slice() else {
        return Err(bad);
    };
    let session_version = digits(version).ok_or(SdpError::InvalidNumber { line, kind: 'o' })?;
    Ok(Origin {
        username: (*username).to_owned(),
        session_id: (*session_id).to_owned(),
        session_version,
        nettype: (*nettype).to_owned(),
        addrtype: (*addrtype).to_owned(),
        address: (*address).to_owned(),
    })
}

/// `c=<nettype> <addrtype> <connection-address>` (§5.7).
fn parse_connection(line: usize, value: &str) -> Result<Connection, SdpError> {
    let f: Vec<&str> = value.split_ascii_whitespace().collect();
    let [nettype, addrtype, address] = f.as_slice() else {
        return Err(SdpError::InvalidField { line, kind: 'c' });
    };
    Ok(Connection {
        nettype: (*nettype).to_owned(),
        addrtype: (*addrtype).to_owned(),
        address: (*address).to_owned(),
    })
}

/// `b=<bwtype>:<bandwidth>` (§5.8).
fn parse_bandwidth(line: usize, value: &str) -> Result<Bandwidth, SdpError> {
    let (bwtype, bw) = value
        .split_once(':')
        .ok_or(SdpError::InvalidField { line, kind: 'b' })?;
    if bwtype.is_empty() {
        return Err(SdpError::InvalidField { line, kind: 'b' });
    }
    let bandwidth = digits(bw).ok_or(SdpError::InvalidNumber { line, kind: 'b' })?;
    Ok(Bandwidth {
        bwtype: bwtype.to_owned(),
        bandwidth,
    })
}

/// `t=<start-time> <stop-time>` (§5.9); NTP seconds, 0 meaning unbounded.
fn parse_timing(line: usize, value: &str) -> Result<Timing, SdpError> {
    let f: Vec<&str> = value.split_ascii_whitespace().collect();
    let [start, stop] = f.as_slice() else {
        return Err(SdpError::InvalidField { line, kind: 't' });
    };
    let num = |s: &str| digits(s).ok_or(SdpError::InvalidNumber { line, kind: 't' });
    Ok(Timing {
        start: num(start)?,
        stop: num(stop)?,
        repeats: Vec::new(),
    })
}

/// `a=<attribute>` or `a=<attribute>:<value>` (§5.13); the name must be non-empty.
fn parse_attribute(line: usize, value: &str) -> Result<Attribute, SdpError> {
    let (name, v) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (value, None),
    };
    if name.trim().is_empty() {
        return Err(SdpError::MalformedLine { line });
    }
    Ok(Attribute {
        name: name.to_owned(),
        value: v,
    })
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (§5.14).
///
/// An empty format list is tolerated (some stacks send it when rejecting a stream with port 0).
fn parse_media(line: usize, value: &str) -> Result<MediaDescription, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let (Some(media), Some(port_field), Some(proto)) = (f.next(), f.next(), f.next()) else {
        return Err(SdpError::InvalidField { line, kind: 'm' });
    };
    let num = |s: &str| digits::<u16>(s).ok_or(SdpError::InvalidNumber { line, kind: 'm' });
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, n)) => (num(p)?, Some(num(n)?)),
        None => (num(port_field)?, None),
    };
    Ok(MediaDescription {
        media: media.to_owned(),
        port,
        port_count,
        proto: proto.to_owned(),
        formats: f.map(str::to_owned).collect(),
        info: None,
        connection: None,
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

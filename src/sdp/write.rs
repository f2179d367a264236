//! SDP serializer.
//!
//! Owns: [`SessionDescription`] → text with CRLF line ends, in the line order of RFC 4566 §5.
//! Must not touch: I/O, SIP.
//!
//! Lines we keep verbatim but do not interpret (`other`) go just before the `a=` lines of their
//! section, which is where RFC 4566 §5 would put most extension lines and where a re-parse puts
//! them back into `other`.

use std::fmt::{self, Write};

use super::model::{
    Attribute, Bandwidth, Connection, MediaDescription, RawLine, SessionDescription,
};

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v={}\r\n", self.version)?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.nettype, o.addrtype, o.address
        )?;
        write!(f, "s={}\r\n", self.name)?;
        opt_line(f, 'i', self.info.as_deref())?;
        opt_line(f, 'u', self.uri.as_deref())?;
        for e in &self.emails {
            write!(f, "e={e}\r\n")?;
        }
        for p in &self.phones {
            write!(f, "p={p}\r\n")?;
        }
        if let Some(c) = &self.connection {
            connection(f, c)?;
        }
        bandwidths(f, &self.bandwidths)?;
        for t in &self.timings {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                write!(f, "r={r}\r\n")?;
            }
        }
        opt_line(f, 'z', self.zone.as_deref())?;
        opt_line(f, 'k', self.key.as_deref())?;
        raw_lines(f, &self.other)?;
        attributes(f, &self.attributes)?;
        for m in &self.media {
            media(f, m)?;
        }
        Ok(())
    }
}

impl SessionDescription {
    /// The wire form, CRLF line ends, ready to be a SIP body.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

fn media(f: &mut impl Write, m: &MediaDescription) -> fmt::Result {
    write!(f, "m={} {}", m.media, m.port)?;
    if let Some(n) = m.port_count {
        write!(f, "/{n}")?;
    }
    write!(f, " {}", m.proto)?;
    for fmt in &m.formats {
        write!(f, " {fmt}")?;
    }
    f.write_str("\r\n")?;
    opt_line(f, 'i', m.info.as_deref())?;
    if let Some(c) = &m.connection {
        connection(f, c)?;
    }
    bandwidths(f, &m.bandwidths)?;
    opt_line(f, 'k', m.key.as_deref())?;
    raw_lines(f, &m.other)?;
    attributes(f, &m.attributes)
}

fn opt_line(f: &mut impl Write, kind: char, v: Option<&str>) -> fmt::Result {
    match v {
        Some(v) => write!(f, "{kind}={v}\r\n"),
        None => Ok(()),
    }
}

fn connection(f: &mut impl Write, c: &Connection) -> fmt::Result {
    write!(f, "c={} {} {}\r\n", c.nettype, c.addrtype, c.address)
}

fn bandwidths(f: &mut impl Write, bs: &[Bandwidth]) -> fmt::Result {
    bs.iter()
        .try_for_each(|b| write!(f, "b={}:{}\r\n", b.bwtype, b.bandwidth))
}

fn raw_lines(f: &mut impl Write, lines: &[RawLine]) -> fmt::Result {
    lines
        .iter()
        .try_for_each(|l| write!(f, "{}={}\r\n", l.kind, l.value))
}

fn attributes(f: &mut impl Write, attrs: &[Attribute]) -> fmt::Result {
    attrs.iter().try_for_each(|a| match &a.value {
        Some(v) => write!(f, "a={}:{}\r\n", a.name, v),
        None => write!(f, "a={}\r\n", a.name),
    })
}

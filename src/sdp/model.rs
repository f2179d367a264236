//! The SDP data model (RFC 4566 §5).
//!
//! Owns: plain data types for a session description. Must not touch: parsing, I/O, SIP.
//!
//! The model keeps everything it does not interpret (attributes, unknown line types, `r=`, `z=`,
//! `k=`) verbatim and in order, so that a B2BUA can parse an offer, rewrite the addresses and
//! forward the rest unchanged.

use std::net::IpAddr;

/// A whole session description: session-level lines followed by zero or more media sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `v=` protocol version; always 0 (RFC 4566 §5.1).
    pub version: u32,
    /// `o=` origin (RFC 4566 §5.2).
    pub origin: Origin,
    /// `s=` session name, verbatim (RFC 4566 §5.3; may be a single space).
    pub name: String,
    /// `i=` session information (RFC 4566 §5.4).
    pub info: Option<String>,
    /// `u=` URI (RFC 4566 §5.5).
    pub uri: Option<String>,
    /// `e=` lines (RFC 4566 §5.6).
    pub emails: Vec<String>,
    /// `p=` lines (RFC 4566 §5.6).
    pub phones: Vec<String>,
    /// Session-level `c=` (RFC 4566 §5.7).
    pub connection: Option<Connection>,
    /// Session-level `b=` lines (RFC 4566 §5.8).
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines, each with its `r=` lines; at least one (RFC 4566 §5.9, §5.10).
    pub timings: Vec<Timing>,
    /// `z=` line, verbatim (RFC 4566 §5.11).
    pub zone: Option<String>,
    /// `k=` line, verbatim (RFC 4566 §5.12; obsolete but must survive a rewrite).
    pub key: Option<String>,
    /// Session-level `a=` lines in order (RFC 4566 §5.13).
    pub attributes: Vec<Attribute>,
    /// Session-level lines of a type letter we do not know, in order.
    pub other: Vec<RawLine>,
    /// `m=` sections in order; the index is the media index used by offer/answer (RFC 3264 §6).
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 4566 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    /// Kept as text: it is an opaque identifier for us, and some stacks exceed 64 bits.
    pub session_id: String,
    /// Numeric because RFC 3264 §8 requires us to increment it on every new offer.
    pub session_version: u64,
    pub nettype: String,
    pub addrtype: String,
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 4566 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub nettype: String,
    pub addrtype: String,
    /// Verbatim, including any multicast `/ttl/count` suffix, or a host name.
    pub address: String,
}

impl Connection {
    /// A unicast `IN IP4`/`IN IP6` connection line for `ip`.
    pub fn for_ip(ip: IpAddr) -> Self {
        Connection {
            nettype: "IN".to_owned(),
            addrtype: addrtype_of(ip).to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, ignoring a multicast `/ttl` suffix; `None` for a host name.
    pub fn ip(&self) -> Option<IpAddr> {
        let host = self.address.split('/').next().unwrap_or("");
        host.parse().ok()
    }
}

/// The SDP `addrtype` token for an IP address.
pub(crate) fn addrtype_of(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 4566 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    pub bwtype: String,
    pub bandwidth: u64,
}

/// `t=<start-time> <stop-time>` plus the `r=` lines that follow it (RFC 4566 §5.9, §5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
    /// `r=` lines, verbatim.
    pub repeats: Vec<String>,
}

/// `a=<name>` or `a=<name>:<value>` (RFC 4566 §5.13), verbatim.
///
/// `value` is `None` for a property attribute (`a=sendrecv`) and `Some("")` for `a=foo:` so the
/// two survive a round trip distinctly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute such as `a=sendonly`.
    pub fn property(name: &str) -> Self {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A value attribute such as `a=ptime:20`.
    pub fn value(name: &str, value: &str) -> Self {
        Attribute {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }
    }
}

/// A line of a type we do not interpret (or a second media-level `c=`), kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    /// The type letter, `a`..=`z`.
    pub kind: char,
    pub value: String,
}

/// One `m=` section (RFC 4566 §5.14) with its media-level lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// "audio", "video", "image", "application", ...
    pub media: String,
    /// Transport port; 0 means the stream is rejected or disabled (RFC 3264 §6).
    pub port: u16,
    /// The `/<number of ports>` suffix, if any.
    pub port_count: Option<u16>,
    /// "RTP/AVP", "RTP/SAVP", "udptl", ...
    pub proto: String,
    /// Format list: RTP payload types, or e.g. "t38" for udptl.
    pub formats: Vec<String>,
    /// Media-level `i=`.
    pub info: Option<String>,
    /// First media-level `c=`; further ones (layered multicast) are kept in `other`.
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `k=`, verbatim.
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
    pub other: Vec<RawLine>,
}

/// Helpers shared by session and media attribute lists.
pub(crate) fn find_attr<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    // Names are compared trimmed: real stacks send "a=sendrecv " with a trailing space.
    attrs.iter().find(|a| a.name.trim() == name)
}

impl MediaDescription {
    /// The first attribute called `name`, if any.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find_attr(&self.attributes, name)
    }

    /// Remove every attribute called `name`; returns how many were removed.
    pub fn remove_attributes(&mut self, name: &str) -> usize {
        let before = self.attributes.len();
        self.attributes.retain(|a| a.name.trim() != name);
        before - self.attributes.len()
    }

    /// RTP payload type of the `a=rtpmap` whose encoding name matches `encoding`
    /// (case-insensitive, e.g. "telephone-event"); RFC 4566 §6.
    pub fn payload_type_for(&self, encoding: &str) -> Option<u8> {
        self.attributes
            .iter()
            .filter(|a| a.name.trim() == "rtpmap")
            .find_map(|a| {
                let value = a.value.as_deref()?;
                let (pt, rest) = value.split_once(' ')?;
                let name = rest.trim().split('/').next()?;
                if name.eq_ignore_ascii_case(encoding) {
                    pt.trim().parse().ok()
                } else {
                    None
                }
            })
    }
}

impl SessionDescription {
    /// The first session-level attribute called `name`, if any.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find_attr(&self.attributes, name)
    }
}

//! Codecs as SDP names them, the ordered preference list an extension or trunk is configured
//! with, and the reading of an offered `m=` line's formats.
//!
//! Owns: [`CodecSpec`], [`CodecPrefs`] (and its config-string parser), the RFC 3551 static
//! payload type table, `a=rtpmap`/`a=fmtp` interpretation for negotiation.
//! Must not touch: building SDP (see `build`), offer/answer rules, codec implementations (the
//! `media` module encodes and decodes; we only agree on names).

use std::fmt;
use std::str::FromStr;

use super::error::CodecPrefsError;
use crate::sdp::MediaDescription;

/// One codec as SDP identifies it: `a=rtpmap:<pt> <name>/<clock_rate>[/<channels>]`
/// (RFC 4566 §6) plus the `a=fmtp` parameters that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecSpec {
    /// Encoding name, compared case-insensitively (RFC 4566 §6: "PCMU", "opus", ...).
    pub name: String,
    /// RTP clock rate as written in `a=rtpmap` (not always the sampling rate: G.722 says 8000,
    /// RFC 3551 §4.5.2).
    pub clock_rate: u32,
    /// Channel count from `a=rtpmap`; 1 when absent (RFC 4566 §6).
    pub channels: u8,
    /// `a=fmtp` parameters. In our preferences: what we declare about our receiver. In a
    /// negotiated result: what the *peer* declared, which our encoder must honour.
    pub fmtp: Option<String>,
}

impl CodecSpec {
    fn new(name: &str, clock_rate: u32, channels: u8, fmtp: Option<&str>) -> Self {
        CodecSpec {
            name: name.to_owned(),
            clock_rate,
            channels,
            fmtp: fmtp.map(str::to_owned),
        }
    }

    /// G.711 µ-law, static PT 0 (RFC 3551 §4.5.14).
    pub fn pcmu() -> Self {
        Self::new("PCMU", 8000, 1, None)
    }

    /// G.711 A-law, static PT 8 (RFC 3551 §4.5.14).
    pub fn pcma() -> Self {
        Self::new("PCMA", 8000, 1, None)
    }

    /// G.722, static PT 9; rtpmap clock 8000 although it samples at 16 kHz (RFC 3551 §4.5.2).
    pub fn g722() -> Self {
        Self::new("G722", 8000, 1, None)
    }

    /// G.729, static PT 18 (RFC 3551 §4.5.6). No fmtp of our own: the offerer's `annexb` is
    /// echoed so both sides agree on VAD (RFC 4856 §2.1.9).
    pub fn g729() -> Self {
        Self::new("G729", 8000, 1, None)
    }

    /// GSM 06.10, static PT 3 (RFC 3551 §4.5.8).
    pub fn gsm() -> Self {
        Self::new("GSM", 8000, 1, None)
    }

    /// Opus, always `opus/48000/2` on the wire (RFC 7587 §7). Our receiver parameters:
    /// in-band FEC helps on lossy Wi-Fi phones; 16 kHz playback is all speech prompts,
    /// recordings and agents need, and lets the peer's encoder spend fewer bits (RFC 7587 §6.1).
    pub fn opus() -> Self {
        Self::new(
            "opus",
            48000,
            2,
            Some("maxplaybackrate=16000;useinbandfec=1"),
        )
    }

    /// Named-event payload for DTMF (RFC 4733 §7.1.1) at `clock_rate`.
    pub fn telephone_event(clock_rate: u32) -> Self {
        Self::new(TELEPHONE_EVENT, clock_rate, 1, None)
    }

    /// Same codec as `other`: name (case-insensitive), clock rate and channels. `fmtp` is not
    /// compared: it carries per-direction parameters, not identity.
    pub fn same_codec(&self, other: &CodecSpec) -> bool {
        if !self.name.eq_ignore_ascii_case(&other.name) || self.clock_rate != other.clock_rate {
            return false;
        }
        // RFC 7587 §7 makes opus "/2" mandatory, but some stacks write "opus/48000"; the
        // channel count carries no information for opus, so it is not compared.
        self.is_opus() || self.channels == other.channels
    }

    /// Whether this is RFC 7587 opus.
    pub fn is_opus(&self) -> bool {
        self.name.eq_ignore_ascii_case("opus")
    }

    /// Whether this is RFC 4733 telephone-event.
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case(TELEPHONE_EVENT)
    }

    /// The RFC 3551 Table 4 static payload type for this codec, if it has one.
    pub fn static_pt(&self) -> Option<u8> {
        STATIC_PTS
            .iter()
            .find(|(_, name, clock)| {
                self.name.eq_ignore_ascii_case(name)
                    && self.clock_rate == *clock
                    && self.channels == 1
            })
            .map(|(pt, ..)| *pt)
    }

    /// The `a=rtpmap` value after the payload type: `name/clock[/channels]`.
    pub fn rtpmap_value(&self) -> String {
        if self.channels > 1 {
            format!("{}/{}/{}", self.name, self.clock_rate, self.channels)
        } else {
            format!("{}/{}", self.name, self.clock_rate)
        }
    }
}

impl fmt::Display for CodecSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rtpmap_value())
    }
}

pub(crate) const TELEPHONE_EVENT: &str = "telephone-event";

/// RFC 3551 Table 4: the static audio payload types we can recognise without an `a=rtpmap`.
const STATIC_PTS: &[(u8, &str, u32)] = &[
    (0, "PCMU", 8000),
    (3, "GSM", 8000),
    (4, "G723", 8000),
    (8, "PCMA", 8000),
    (9, "G722", 8000),
    (18, "G729", 8000),
];

/// The codec a static payload type stands for when the SDP has no `a=rtpmap` for it.
fn static_codec(pt: u8) -> Option<CodecSpec> {
    STATIC_PTS
        .iter()
        .find(|(p, ..)| *p == pt)
        .map(|(_, name, clock)| CodecSpec::new(name, *clock, 1, None))
}

/// An ordered codec preference list, most preferred first; never empty (checked by the
/// constructors) so an offer always has at least one format (RFC 4566 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecPrefs(Vec<CodecSpec>);

impl CodecPrefs {
    /// A preference list from codecs in order. Rejects an empty list, duplicates, and
    /// telephone-event (a capability flag in [`super::LocalMedia`], not a voice codec).
    pub fn new(codecs: Vec<CodecSpec>) -> Result<Self, CodecPrefsError> {
        if codecs.is_empty() {
            return Err(CodecPrefsError::Empty);
        }
        for (i, c) in codecs.iter().enumerate() {
            if c.is_telephone_event() {
                return Err(CodecPrefsError::TelephoneEvent);
            }
            if codecs[..i].iter().any(|earlier| earlier.same_codec(c)) {
                return Err(CodecPrefsError::Duplicate {
                    codec: c.to_string(),
                });
            }
        }
        Ok(CodecPrefs(codecs))
    }

    /// The codecs, most preferred first.
    pub fn codecs(&self) -> &[CodecSpec] {
        &self.0
    }
}

impl FromStr for CodecPrefs {
    type Err = CodecPrefsError;

    /// Parse a config value such as `"opus,G722,PCMU,PCMA"`. Known names (case-insensitive:
    /// PCMU, PCMA, G722, G729, GSM, opus) get their standard rtpmap and our fmtp; anything
    /// else must be spelled out as `name/clock[/channels]`, e.g. `iLBC/8000`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let codecs = s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(parse_token)
            .collect::<Result<Vec<_>, _>>()?;
        CodecPrefs::new(codecs)
    }
}

fn parse_token(token: &str) -> Result<CodecSpec, CodecPrefsError> {
    let known = match token.to_ascii_lowercase().as_str() {
        "pcmu" => Some(CodecSpec::pcmu()),
        "pcma" => Some(CodecSpec::pcma()),
        "g722" => Some(CodecSpec::g722()),
        "g729" => Some(CodecSpec::g729()),
        "gsm" => Some(CodecSpec::gsm()),
        "opus" => Some(CodecSpec::opus()),
        "telephone-event" => return Err(CodecPrefsError::TelephoneEvent),
        _ => None,
    };
    if let Some(c) = known {
        return Ok(c);
    }
    if !token.contains('/') {
        return Err(CodecPrefsError::Unknown {
            token: token.to_owned(),
        });
    }
    parse_rtpmap_encoding(token).ok_or_else(|| CodecPrefsError::Invalid {
        token: token.to_owned(),
    })
}

/// `name/clock[/channels]` as in `a=rtpmap` (RFC 4566 §6). `None` if malformed.
fn parse_rtpmap_encoding(s: &str) -> Option<CodecSpec> {
    let mut parts = s.trim().split('/');
    let name = parts.next().filter(|n| is_token(n))?;
    let clock_rate: u32 = digits(parts.next()?)?;
    let channels: u8 = match parts.next() {
        Some(c) => digits(c)?,
        None => 1,
    };
    if parts.next().is_some() || clock_rate == 0 || channels == 0 {
        return None;
    }
    Some(CodecSpec::new(name, clock_rate, channels, None))
}

/// RFC 4566 §9 `token`-ish: printable ASCII without separators. Keeps config typos and hostile
/// SDP out of the rtpmap lines we write.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!%*+`'~".contains(&b))
}

fn digits<T: FromStr>(s: &str) -> Option<T> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One format of an offered (or answered) `m=` line, resolved to a codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Format {
    pub pt: u8,
    /// `fmtp` here is the SDP author's `a=fmtp` for this payload type.
    pub codec: CodecSpec,
}

/// The formats of an RTP `m=` line in the author's order, each resolved through its
/// `a=rtpmap`, or the static table for PTs 0–34 without one (RFC 3551 §6). Formats we cannot
/// identify (dynamic without rtpmap, non-numeric) are skipped: they cannot be chosen.
pub(crate) fn formats(m: &MediaDescription) -> Vec<Format> {
    m.formats
        .iter()
        .filter_map(|f| digits::<u8>(f).filter(|pt| *pt <= 127))
        .filter_map(|pt| {
            let mut codec = rtpmap(m, pt).or_else(|| static_codec(pt))?;
            codec.fmtp = fmtp(m, pt);
            Some(Format { pt, codec })
        })
        .collect()
}

/// The `a=rtpmap` for `pt`, if present and well formed.
fn rtpmap(m: &MediaDescription, pt: u8) -> Option<CodecSpec> {
    attr_for_pt(m, "rtpmap", pt).and_then(parse_rtpmap_encoding)
}

/// The `a=fmtp` parameters for `pt`, trimmed; `None` when absent or empty.
pub(crate) fn fmtp(m: &MediaDescription, pt: u8) -> Option<String> {
    attr_for_pt(m, "fmtp", pt)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The value after `<pt> ` of the first `a=<name>:<pt> ...` attribute.
fn attr_for_pt<'a>(m: &'a MediaDescription, name: &str, pt: u8) -> Option<&'a str> {
    m.attributes
        .iter()
        .filter(|a| a.name.trim() == name)
        .find_map(|a| {
            let v = a.value.as_deref()?.trim_start();
            let (p, rest) = v
                .split_once(|c: char| c.is_ascii_whitespace())
                .unwrap_or((v, ""));
            (digits::<u8>(p) == Some(pt)).then_some(rest)
        })
}

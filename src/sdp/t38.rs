//! T.38 fax over UDPTL in SDP: `m=image <port> udptl t38` sections and their attributes
//! (ITU-T T.38 Annex D.2.3, registered by RFC 3362; RFC 4612 practice), offer/answer per T.38
//! Annex D, and the mapping of the result to a [`UdptlConfig`].
//!
//! Owns: [`T38Params`] (parse from / write to a media section), our [`T38Capabilities`], the
//! answer rules ([`answer_t38`]), building our offer's and answer's image sections, and
//! [`udptl_config`]. Must not touch: SIP (the call layer sends the re-INVITE and maps
//! [`T38Error`] to 488), sockets, the UDPTL session itself (`crate::fax::udptl`), audio
//! negotiation (`sdp::negotiate`, which rejects `m=image` streams with port 0 on its own).
//!
//! Real gear is loose with these attributes, so parsing is too where it costs nothing: names are
//! matched case-insensitively (`T38FaxUdpEC`, `t38faxudpec`, `T38MaxBitrate`, `T38FaxUdpEc`),
//! values of the enumerated ones too, flags come bare (`a=T38FaxFillBitRemoval`) or as `:1`/`:0`
//! (Cisco), and a repeated attribute is fine when it repeats the same value. Numbers must be
//! numbers and a repeated attribute must not contradict itself: those are errors.
//!
//! `Display` of [`T38Error`] is built from static names and numbers only, as for `SdpError`.

use thiserror::Error;

use super::model::{Attribute, MediaDescription, SessionDescription};
use crate::fax::udptl::{
    ErrorCorrection, UdptlConfig, DEFAULT_FEC_ENTRIES, DEFAULT_FEC_SPAN, DEFAULT_MAX_DATAGRAM,
    DEFAULT_REDUNDANCY_DEPTH,
};

/// `T38FaxRateManagement` (T.38 D.2.3): how TCF training is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateManagement {
    /// `localTCF`: each gateway generates TCF locally (required over TCP).
    LocalTcf,
    /// `transferredTCF`: TCF is carried end to end (the recommended method over UDPTL).
    TransferredTcf,
}

impl RateManagement {
    pub fn as_str(self) -> &'static str {
        match self {
            RateManagement::LocalTcf => "localTCF",
            RateManagement::TransferredTcf => "transferredTCF",
        }
    }
}

/// `T38FaxUdpEC` (T.38 D.2.3): the UDPTL error recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UdpEc {
    /// `t38UDPNoEC`: not in T.38 itself but sent by some gateways to say "none".
    NoEc,
    /// `t38UDPRedundancy`.
    Redundancy,
    /// `t38UDPFEC`.
    Fec,
}

impl UdpEc {
    pub fn as_str(self) -> &'static str {
        match self {
            UdpEc::NoEc => "t38UDPNoEC",
            UdpEc::Redundancy => "t38UDPRedundancy",
            UdpEc::Fec => "t38UDPFEC",
        }
    }
}

/// The T.38 attributes of one `m=image ... udptl t38` section.
///
/// Defaults when an attribute is absent (T.38 D.2.3, RFC 3362, and what Asterisk/FreeSWITCH do):
/// version 0; bit rate unstated; `transferredTCF` (the UDPTL method; the attribute is mandatory
/// but often missing); buffer and datagram sizes unstated; no `T38FaxUdpEC` (meaning no error
/// correction, as Asterisk reads it); flags false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct T38Params {
    /// `T38FaxVersion`.
    pub version: u8,
    /// `T38MaxBitRate`, bit/s.
    pub max_bit_rate: Option<u32>,
    /// `T38FaxRateManagement`.
    pub rate_management: RateManagement,
    /// `T38FaxMaxBuffer`: the author's receive buffer, octets (declarative).
    pub max_buffer: Option<u32>,
    /// `T38FaxMaxDatagram`: the largest UDPTL datagram the author accepts (declarative).
    pub max_datagram: Option<u32>,
    /// `T38FaxUdpEC`.
    pub udp_ec: Option<UdpEc>,
    /// `T38FaxFillBitRemoval`.
    pub fill_bit_removal: bool,
    /// `T38FaxTranscodingMMR`.
    pub transcoding_mmr: bool,
    /// `T38FaxTranscodingJBIG`.
    pub transcoding_jbig: bool,
}

impl Default for T38Params {
    fn default() -> Self {
        T38Params {
            version: 0,
            max_bit_rate: None,
            rate_management: RateManagement::TransferredTcf,
            max_buffer: None,
            max_datagram: None,
            udp_ec: None,
            fill_bit_removal: false,
            transcoding_mmr: false,
            transcoding_jbig: false,
        }
    }
}

/// What our fax endpoint (spandsp behind `crate::fax`) can do, for offers and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct T38Capabilities {
    /// Highest T38FaxVersion we speak.
    pub max_version: u8,
    /// Highest rate: 14400 (V.17); V.34 rates over T.38 need version 3 and a V.34 engine.
    pub max_bit_rate: u32,
    /// Our T38FaxMaxBuffer.
    pub max_buffer: u32,
    /// Our T38FaxMaxDatagram: what we accept (the receiver takes any size; this only steers how
    /// much redundancy the far end packs).
    pub max_datagram: u32,
    /// We send redundancy.
    pub redundancy: bool,
    /// We send parity FEC. Off by default: redundancy interoperates better and costs little at
    /// fax rates (SIP Forum FoIP task group findings).
    pub fec_tx: bool,
    pub fill_bit_removal: bool,
    pub transcoding_mmr: bool,
    pub transcoding_jbig: bool,
}

impl Default for T38Capabilities {
    fn default() -> Self {
        T38Capabilities {
            // Version 0 is what Asterisk and FreeSWITCH offer and what everything answers.
            max_version: 0,
            max_bit_rate: 14_400,
            // 3GPP TS 29.163 Table K.2.1's recommended value.
            max_buffer: 1800,
            max_datagram: DEFAULT_MAX_DATAGRAM as u32,
            redundancy: true,
            fec_tx: false,
            fill_bit_removal: false,
            transcoding_mmr: false,
            transcoding_jbig: false,
        }
    }
}

/// Why T.38 parameters or a T.38 section could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum T38Error {
    /// No `m=image ... udptl t38` section at all.
    #[error("no m=image udptl t38 media section")]
    NoT38Media,
    /// The only T.38 sections have port 0: the far end refused or disabled T.38.
    #[error("T.38 media section {media} is rejected (port 0)")]
    Rejected { media: usize },
    /// The value of `attribute` is not what T.38 Annex D allows (not a number, out of range,
    /// unknown token).
    #[error("invalid value of a={attribute}")]
    InvalidValue { attribute: &'static str },
    /// `attribute` appears twice with different values.
    #[error("conflicting a={attribute} lines")]
    Conflicting { attribute: &'static str },
}

/// The T.38 attributes, canonical spelling as T.38 Annex D writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Version,
    MaxBitRate,
    RateManagement,
    MaxBuffer,
    MaxDatagram,
    UdpEc,
    FillBitRemoval,
    TranscodingMmr,
    TranscodingJbig,
}

const NAMES: [(Name, &str); 9] = [
    (Name::Version, "T38FaxVersion"),
    (Name::MaxBitRate, "T38MaxBitRate"),
    (Name::RateManagement, "T38FaxRateManagement"),
    (Name::MaxBuffer, "T38FaxMaxBuffer"),
    (Name::MaxDatagram, "T38FaxMaxDatagram"),
    (Name::UdpEc, "T38FaxUdpEC"),
    (Name::FillBitRemoval, "T38FaxFillBitRemoval"),
    (Name::TranscodingMmr, "T38FaxTranscodingMMR"),
    (Name::TranscodingJbig, "T38FaxTranscodingJBIG"),
];

fn lookup(name: &str) -> Option<(usize, Name, &'static str)> {
    let name = name.trim();
    NAMES
        .iter()
        .enumerate()
        .find(|(_, (_, n))| n.eq_ignore_ascii_case(name))
        .map(|(i, (k, n))| (i, *k, *n))
}

/// Whether `name` is one of the T.38 attributes this module reads and writes.
pub fn is_t38_attribute(name: &str) -> bool {
    lookup(name).is_some()
}

/// One parsed value, kept to compare repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Number(u32),
    Rate(RateManagement),
    Ec(UdpEc),
    Flag(bool),
}

fn parse_value(
    kind: Name,
    attribute: &'static str,
    value: Option<&str>,
) -> Result<Value, T38Error> {
    let bad = T38Error::InvalidValue { attribute };
    let text = value.map(str::trim);
    match kind {
        Name::Version | Name::MaxBitRate | Name::MaxBuffer | Name::MaxDatagram => {
            let t = text.ok_or(bad)?;
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad);
            }
            let n: u32 = t.parse().map_err(|_| bad)?;
            if kind == Name::Version && n > u32::from(u8::MAX) {
                return Err(bad);
            }
            Ok(Value::Number(n))
        }
        Name::RateManagement => {
            let t = text.ok_or(bad)?;
            [RateManagement::LocalTcf, RateManagement::TransferredTcf]
                .into_iter()
                .find(|r| r.as_str().eq_ignore_ascii_case(t))
                .map(Value::Rate)
                .ok_or(bad)
        }
        Name::UdpEc => {
            let t = text.ok_or(bad)?;
            [UdpEc::NoEc, UdpEc::Redundancy, UdpEc::Fec]
                .into_iter()
                .find(|e| e.as_str().eq_ignore_ascii_case(t))
                .map(Value::Ec)
                .ok_or(bad)
        }
        // A bare flag (and the odd `a=T38FaxFillBitRemoval:`) means true.
        Name::FillBitRemoval | Name::TranscodingMmr | Name::TranscodingJbig => match text {
            None | Some("" | "1") => Ok(Value::Flag(true)),
            Some("0") => Ok(Value::Flag(false)),
            Some(_) => Err(bad),
        },
    }
}

impl T38Params {
    /// Read the T.38 attributes from a list of media-level attributes; others are ignored.
    pub fn from_attributes(attributes: &[Attribute]) -> Result<T38Params, T38Error> {
        let mut seen: [Option<Value>; NAMES.len()] = [None; NAMES.len()];
        for a in attributes {
            let Some((slot, kind, attribute)) = lookup(&a.name) else {
                continue;
            };
            let v = parse_value(kind, attribute, a.value.as_deref())?;
            match seen.get_mut(slot) {
                Some(Some(prev)) if *prev != v => return Err(T38Error::Conflicting { attribute }),
                Some(s) => *s = Some(v),
                None => {}
            }
        }
        let mut p = T38Params::default();
        for ((kind, _), v) in NAMES.iter().zip(seen) {
            match (kind, v) {
                // The range of the version was checked by parse_value.
                (Name::Version, Some(Value::Number(n))) => {
                    p.version = u8::try_from(n).unwrap_or(u8::MAX)
                }
                (Name::MaxBitRate, Some(Value::Number(n))) => p.max_bit_rate = Some(n),
                (Name::MaxBuffer, Some(Value::Number(n))) => p.max_buffer = Some(n),
                (Name::MaxDatagram, Some(Value::Number(n))) => p.max_datagram = Some(n),
                (Name::RateManagement, Some(Value::Rate(r))) => p.rate_management = r,
                (Name::UdpEc, Some(Value::Ec(e))) => p.udp_ec = Some(e),
                (Name::FillBitRemoval, Some(Value::Flag(f))) => p.fill_bit_removal = f,
                (Name::TranscodingMmr, Some(Value::Flag(f))) => p.transcoding_mmr = f,
                (Name::TranscodingJbig, Some(Value::Flag(f))) => p.transcoding_jbig = f,
                _ => {}
            }
        }
        Ok(p)
    }

    /// The attribute lines, in the order Asterisk writes them. Flags are written bare when true
    /// and left out when false; absent optional values are left out.
    pub fn to_attributes(&self) -> Vec<Attribute> {
        let mut a = vec![Attribute::value("T38FaxVersion", &self.version.to_string())];
        if let Some(r) = self.max_bit_rate {
            a.push(Attribute::value("T38MaxBitRate", &r.to_string()));
        }
        for (on, name) in [
            (self.fill_bit_removal, "T38FaxFillBitRemoval"),
            (self.transcoding_mmr, "T38FaxTranscodingMMR"),
            (self.transcoding_jbig, "T38FaxTranscodingJBIG"),
        ] {
            if on {
                a.push(Attribute::property(name));
            }
        }
        a.push(Attribute::value(
            "T38FaxRateManagement",
            self.rate_management.as_str(),
        ));
        if let Some(n) = self.max_buffer {
            a.push(Attribute::value("T38FaxMaxBuffer", &n.to_string()));
        }
        if let Some(n) = self.max_datagram {
            a.push(Attribute::value("T38FaxMaxDatagram", &n.to_string()));
        }
        if let Some(e) = self.udp_ec {
            a.push(Attribute::value("T38FaxUdpEC", e.as_str()));
        }
        a
    }

    /// Replace the T.38 attributes of `m` with ours, keeping every other attribute.
    pub fn apply_to(&self, m: &mut MediaDescription) {
        m.attributes.retain(|a| !is_t38_attribute(&a.name));
        m.attributes.extend(self.to_attributes());
    }

    /// What we offer: our maxima, transferredTCF, our preferred error correction.
    pub fn offer(ours: &T38Capabilities) -> T38Params {
        T38Params {
            version: ours.max_version,
            max_bit_rate: Some(ours.max_bit_rate),
            rate_management: RateManagement::TransferredTcf,
            max_buffer: Some(ours.max_buffer),
            max_datagram: Some(ours.max_datagram),
            udp_ec: Some(if ours.fec_tx {
                UdpEc::Fec
            } else if ours.redundancy {
                UdpEc::Redundancy
            } else {
                UdpEc::NoEc
            }),
            fill_bit_removal: ours.fill_bit_removal,
            transcoding_mmr: ours.transcoding_mmr,
            transcoding_jbig: ours.transcoding_jbig,
        }
    }
}

/// Answer a T.38 offer (T.38 Annex D.2.3 offer/answer rules):
/// - version and bit rate: the lower of the offer's and ours (an absent bit rate: ours);
/// - rate management: the offer's, echoed (the answerer may not change it);
/// - fill bit removal, MMR and JBIG transcoding: only if offered and supported;
/// - error correction: what was offered if we can send it, else the next best we can (FEC
///   offered, no FEC transmit: redundancy; nothing we can: none); no `T38FaxUdpEC` in the offer
///   is answered with none either;
/// - buffer and datagram sizes: ours (they describe the author's receiver).
pub fn answer_t38(offer: &T38Params, ours: &T38Capabilities) -> T38Params {
    let fallback = if ours.redundancy {
        UdpEc::Redundancy
    } else {
        UdpEc::NoEc
    };
    let udp_ec = offer.udp_ec.map(|ec| match ec {
        UdpEc::Fec if ours.fec_tx => UdpEc::Fec,
        UdpEc::Fec => fallback,
        UdpEc::Redundancy => fallback,
        UdpEc::NoEc => UdpEc::NoEc,
    });
    T38Params {
        version: offer.version.min(ours.max_version),
        max_bit_rate: Some(
            offer
                .max_bit_rate
                .map_or(ours.max_bit_rate, |r| r.min(ours.max_bit_rate)),
        ),
        rate_management: offer.rate_management,
        max_buffer: Some(ours.max_buffer),
        max_datagram: Some(ours.max_datagram),
        udp_ec,
        fill_bit_removal: offer.fill_bit_removal && ours.fill_bit_removal,
        transcoding_mmr: offer.transcoding_mmr && ours.transcoding_mmr,
        transcoding_jbig: offer.transcoding_jbig && ours.transcoding_jbig,
    }
}

/// Largest T38FaxMaxDatagram we honour: above it datagrams would fragment on the usual path
/// MTU (Asterisk's `FAX_MAX_DATAGRAM_LIMIT`).
pub const MAX_FAR_MAX_DATAGRAM: usize = 1400;
/// Smallest T38FaxMaxDatagram we honour: some far ends declare bogus tiny values (Asterisk's
/// udptl.c says so too and never sizes IFPs under 60 octets); 65 fits a 60-octet IFP with the
/// five octets of UDPTL framing, without redundancy.
pub const MIN_FAR_MAX_DATAGRAM: usize = 65;

/// The UDPTL session configuration once T.38 is agreed. `answer` is the SDP answer's T.38
/// parameters (whoever wrote it: the answer fixes the error correction for both directions);
/// `far` is the far end's own (the offer when we answered, the answer when we offered), whose
/// T38FaxMaxDatagram bounds what we send (absent or 0: 400, as Asterisk assumes; otherwise
/// clamped to [`MIN_FAR_MAX_DATAGRAM`]..=[`MAX_FAR_MAX_DATAGRAM`]).
pub fn udptl_config(answer: &T38Params, far: &T38Params) -> UdptlConfig {
    let max_datagram = match far.max_datagram {
        None | Some(0) => DEFAULT_MAX_DATAGRAM,
        Some(n) => usize::try_from(n)
            .unwrap_or(usize::MAX)
            .clamp(MIN_FAR_MAX_DATAGRAM, MAX_FAR_MAX_DATAGRAM),
    };
    let error_correction = match answer.udp_ec {
        Some(UdpEc::Redundancy) => ErrorCorrection::Redundancy {
            depth: DEFAULT_REDUNDANCY_DEPTH,
        },
        Some(UdpEc::Fec) => ErrorCorrection::Fec {
            span: DEFAULT_FEC_SPAN,
            entries: DEFAULT_FEC_ENTRIES,
        },
        Some(UdpEc::NoEc) | None => ErrorCorrection::None,
    };
    UdptlConfig {
        error_correction,
        max_datagram,
    }
}

impl MediaDescription {
    /// `m=image <port> udptl t38` (RFC 3362 §3; proto and format matched case-insensitively).
    pub fn is_t38_udptl(&self) -> bool {
        self.media.trim().eq_ignore_ascii_case("image")
            && self.proto.trim().eq_ignore_ascii_case("udptl")
            && self
                .formats
                .iter()
                .any(|f| f.trim().eq_ignore_ascii_case("t38"))
    }

    /// The T.38 parameters of this section (see [`T38Params::from_attributes`]).
    pub fn t38_params(&self) -> Result<T38Params, T38Error> {
        T38Params::from_attributes(&self.attributes)
    }
}

impl SessionDescription {
    /// The first T.38-over-UDPTL section that is not disabled, with its parameters.
    /// `Rejected` when every such section has port 0, `NoT38Media` when there is none.
    pub fn t38(&self) -> Result<(usize, T38Params), T38Error> {
        let mut rejected = None;
        for (i, m) in self
            .media
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_t38_udptl())
        {
            if m.port == 0 {
                rejected.get_or_insert(i);
                continue;
            }
            return Ok((i, m.t38_params()?));
        }
        Err(rejected.map_or(T38Error::NoT38Media, |media| T38Error::Rejected { media }))
    }
}

/// Our offer's image section: `m=image <port> udptl t38` with [`T38Params::offer`]. No `c=`:
/// the session-level one (our address) applies.
pub fn t38_offer_media(port: u16, ours: &T38Capabilities) -> MediaDescription {
    let mut m = image_line(port);
    T38Params::offer(ours).apply_to(&mut m);
    m
}

/// The result of T.38 offer/answer, for the fax layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct T38Negotiated {
    /// The `m=` index of the T.38 stream in offer and answer.
    pub index: usize,
    /// The far end's parameters.
    pub far: T38Params,
    /// The answer's parameters: what both ends use.
    pub agreed: T38Params,
    /// The UDPTL session to run ([`udptl_config`]).
    pub udptl: UdptlConfig,
}

/// Answer an offer that contains T.38: the answer's media list has one `m=` line per offered
/// one (RFC 3264 §6), the first active T.38 section accepted on `port` with [`answer_t38`],
/// every other stream (audio included: a T.38 re-INVITE replaces it) rejected with port 0 and
/// its formats kept. Put the list into a description with our `o=` and `c=`.
pub fn answer_t38_media(
    offer: &SessionDescription,
    port: u16,
    ours: &T38Capabilities,
) -> Result<(Vec<MediaDescription>, T38Negotiated), T38Error> {
    let (index, far) = offer.t38()?;
    let agreed = answer_t38(&far, ours);
    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == index {
                let mut line = image_line(port);
                agreed.apply_to(&mut line);
                line
            } else {
                let mut line = image_line(0);
                line.media.clone_from(&m.media);
                line.proto.clone_from(&m.proto);
                line.formats.clone_from(&m.formats);
                line
            }
        })
        .collect();
    Ok((
        media,
        T38Negotiated {
            index,
            far,
            agreed,
            udptl: udptl_config(&agreed, &far),
        },
    ))
}

/// Take the answer to our T.38 offer (`offered` is what [`t38_offer_media`] put in it).
/// `Rejected` means the far end declined T.38 (stay on audio). An answer that raises the
/// version or the bit rate above the offer, or turns on an option we did not offer, is brought
/// back within the offer rather than refused.
pub fn process_t38_answer(
    answer: &SessionDescription,
    offered: &T38Params,
) -> Result<T38Negotiated, T38Error> {
    let (index, far) = answer.t38()?;
    let mut agreed = far;
    agreed.version = far.version.min(offered.version);
    agreed.max_bit_rate = match (far.max_bit_rate, offered.max_bit_rate) {
        (Some(a), Some(o)) => Some(a.min(o)),
        (a, o) => a.or(o),
    };
    agreed.fill_bit_removal &= offered.fill_bit_removal;
    agreed.transcoding_mmr &= offered.transcoding_mmr;
    agreed.transcoding_jbig &= offered.transcoding_jbig;
    Ok(T38Negotiated {
        index,
        far,
        agreed,
        udptl: udptl_config(&agreed, &far),
    })
}

fn image_line(port: u16) -> MediaDescription {
    MediaDescription {
        media: "image".to_owned(),
        port,
        port_count: None,
        proto: "udptl".to_owned(),
        formats: vec!["t38".to_owned()],
        info: None,
        connection: None,
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
        other: Vec::new(),
    }
}

//! RTCP wire format, parse side (RFC 3550 §6.4–§6.6): SR, RR, SDES, BYE, and a walker over
//! compound packets (§6.1).
//!
//! Owns: zero-copy views over received RTCP bytes. Must not touch: session state, sockets.
//!
//! Each packet is validated completely when it is yielded (lengths, counts, SDES chunk
//! structure, BYE reason), so the iterators on the views can be infallible; they still index
//! with `get` so a logic slip here can never turn into a panic on hostile input.

use super::RtcpError;

/// RFC 3550 §12.1 packet types.
pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;
pub const PT_APP: u8 = 204;

/// RFC 3550 §6.5: SDES item types we name (others are carried through as numbers).
pub const SDES_END: u8 = 0;
pub const SDES_CNAME: u8 = 1;

/// Bytes of one report block (RFC 3550 §6.4.1).
pub const REPORT_BLOCK_LEN: usize = 24;
/// Bytes of the sender info section of an SR (§6.4.1): NTP (8), RTP ts, packets, octets.
pub const SENDER_INFO_LEN: usize = 20;

/// Reception report about one source (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// SSRC_n: the source this block is about.
    pub ssrc: u32,
    /// Fraction lost since the previous report, fixed point /256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, a 24-bit signed value on the wire (duplicates make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | max seq).
    pub ext_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR from this source, 0 if none.
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

impl ReportBlock {
    fn read(b: &[u8]) -> Option<ReportBlock> {
        let b: &[u8; REPORT_BLOCK_LEN] = b.get(..REPORT_BLOCK_LEN)?.try_into().ok()?;
        // Sign-extend the 24-bit cumulative loss by shifting it into the top of an i32.
        let lost = i32::from_be_bytes([b[5], b[6], b[7], 0]) >> 8;
        Some(ReportBlock {
            ssrc: be32(&b[0..4]),
            fraction_lost: b[4],
            cumulative_lost: lost,
            ext_highest_seq: be32(&b[8..12]),
            jitter: be32(&b[12..16]),
            lsr: be32(&b[16..20]),
            dlsr: be32(&b[20..24]),
        })
    }
}

/// SR sender info (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (seconds since 1900 << 32 | fraction).
    pub ntp: u64,
    /// RTP timestamp for the same instant.
    pub rtp_ts: u32,
    pub packet_count: u32,
    pub octet_count: u32,
}

/// The report blocks of an SR or RR, validated to be whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a> {
    raw: &'a [u8],
}

impl<'a> ReportBlocks<'a> {
    pub fn len(&self) -> usize {
        self.raw.len() / REPORT_BLOCK_LEN
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = ReportBlock> + 'a {
        self.raw.chunks_exact(REPORT_BLOCK_LEN).filter_map(ReportBlock::read)
    }
}

/// RFC 3550 §6.4.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    pub ssrc: u32,
    pub info: SenderInfo,
    pub reports: ReportBlocks<'a>,
}

/// RFC 3550 §6.4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    pub ssrc: u32,
    pub reports: ReportBlocks<'a>,
}

/// One SDES item (RFC 3550 §6.5): type and raw value (UTF-8 by the RFC, not checked here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    pub kind: u8,
    pub value: &'a [u8],
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    pub fn items(&self) -> impl Iterator<Item = SdesItem<'a>> + 'a {
        let mut rest = self.items;
        std::iter::from_fn(move || {
            let (&kind, tail) = rest.split_first()?;
            if kind == SDES_END {
                return None;
            }
            let (&len, tail) = tail.split_first()?;
            let value = tail.get(..usize::from(len))?;
            rest = tail.get(usize::from(len)..)?;
            Some(SdesItem { kind, value })
        })
    }
    /// The CNAME item, if present (§6.5.1).
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items().find(|i| i.kind == SDES_CNAME).map(|i| i.value)
    }
}

/// RFC 3550 §6.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    count: u8,
    raw: &'a [u8],
}

impl<'a> Sdes<'a> {
    pub fn chunks(&self) -> impl Iterator<Item = SdesChunk<'a>> + 'a {
        let mut rest = self.raw;
        let mut left = self.count;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let (chunk, len) = split_chunk(rest).ok()?;
            rest = rest.get(len..)?;
            Some(chunk)
        })
    }
}

/// Splits the first SDES chunk off `b`, returning it and its padded length. The item list
/// ends at a null octet; the chunk then pads with nulls to a 32-bit boundary (§6.5).
fn split_chunk(b: &[u8]) -> Result<(SdesChunk<'_>, usize), RtcpError> {
    let bad = |what| RtcpError::Malformed { packet_type: PT_SDES, what };
    let ssrc_bytes = b.get(..4).ok_or(bad("chunk shorter than its SSRC"))?;
    let mut i = 4;
    loop {
        match b.get(i) {
            None => return Err(bad("chunk without terminating null item")),
            Some(&SDES_END) => break,
            Some(_) => {
                let len = *b.get(i + 1).ok_or(bad("item without length"))?;
                i += 2 + usize::from(len);
                if i > b.len() {
                    return Err(bad("item runs past the packet"));
                }
            }
        }
    }
    // i is at the null octet; the chunk ends at the next multiple of 4 after it.
    let end = (i + 1).div_ceil(4) * 4;
    if end > b.len() {
        return Err(bad("chunk padding runs past the packet"));
    }
    Ok((SdesChunk { ssrc: be32(ssrc_bytes), items: &b[4..i] }, end))
}

/// RFC 3550 §6.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    sources: &'a [u8],
    /// "Reason for leaving", if present.
    pub reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    pub fn sources(&self) -> impl Iterator<Item = u32> + 'a {
        self.sources.chunks_exact(4).map(be32)
    }
}

/// One packet of a compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    SenderReport(SenderReport<'a>),
    ReceiverReport(ReceiverReport<'a>),
    Sdes(Sdes<'a>),
    Bye(Bye<'a>),
    /// APP, XR, feedback (RFC 4585) and anything newer: skipped by length, body without padding.
    Other {
        packet_type: u8,
        count: u8,
        body: &'a [u8],
    },
}

impl RtcpPacket<'_> {
    pub fn packet_type(&self) -> u8 {
        match self {
            RtcpPacket::SenderReport(_) => PT_SR,
            RtcpPacket::ReceiverReport(_) => PT_RR,
            RtcpPacket::Sdes(_) => PT_SDES,
            RtcpPacket::Bye(_) => PT_BYE,
            RtcpPacket::Other { packet_type, .. } => *packet_type,
        }
    }
}

/// Walks the packets of a compound (RFC 3550 §6.1), stopping after the first error. Each item
/// also says whether that packet had the padding bit set (the validity check of Appendix A.2
/// allows it only on the last packet).
#[derive(Debug, Clone)]
pub struct Compound<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Iterates the packets of `buf` leniently (no compound rules beyond framing); use
/// [`validate_compound`] first when the datagram must be a well-formed compound.
pub fn parse_compound(buf: &[u8]) -> Compound<'_> {
    Compound { rest: buf, failed: false }
}

impl<'a> Iterator for Compound<'a> {
    type Item = Result<(RtcpPacket<'a>, bool), RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match parse_one(self.rest) {
            Ok((pkt, len, padded)) => {
                self.rest = self.rest.get(len..).unwrap_or(&[]);
                Some(Ok((pkt, padded)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// RFC 3550 Appendix A.2 header validity check of a whole compound: every packet version 2
/// and well-formed, the first an SR or RR without padding, padding only on the last, lengths
/// adding up to the datagram.
pub fn validate_compound(buf: &[u8]) -> Result<(), RtcpError> {
    let mut first = true;
    let mut padded_before = false;
    for item in parse_compound(buf) {
        let (pkt, padded) = item?;
        if padded_before {
            return Err(RtcpError::PaddingNotLast);
        }
        if first && !matches!(pkt, RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)) {
            return Err(RtcpError::FirstNotReport(pkt.packet_type()));
        }
        first = false;
        padded_before = padded;
    }
    if first {
        return Err(RtcpError::TooShort(buf.len()));
    }
    Ok(())
}

/// Parses the packet at the start of `b`: (packet, its length in bytes, padding bit).
fn parse_one(b: &[u8]) -> Result<(RtcpPacket<'_>, usize, bool), RtcpError> {
    let [b0, pt, l0, l1, ..] = *b else {
        return Err(RtcpError::TooShort(b.len()));
    };
    if b0 >> 6 != 2 {
        return Err(RtcpError::BadVersion(b0 >> 6));
    }
    let padded = b0 & 0x20 != 0;
    let count = b0 & 0x1f;
    // §6.4.1: length is in 32-bit words minus one, header included.
    let len = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
    let whole = b.get(..len).ok_or(RtcpError::LengthOverrun { declared: len, available: b.len() })?;
    let mut body = &whole[4..];
    if padded {
        // §6.4.1 P bit: the last octet counts the padding, itself included.
        let pad = usize::from(*body.last().ok_or(RtcpError::BadPadding(0))?);
        if pad == 0 || pad > body.len() {
            return Err(RtcpError::BadPadding(pad.min(255) as u8));
        }
        body = &body[..body.len() - pad];
    }
    let bad = |what| RtcpError::Malformed { packet_type: pt, what };
    let pkt = match pt {
        PT_SR => {
            let need = 4 + SENDER_INFO_LEN + usize::from(count) * REPORT_BLOCK_LEN;
            if body.len() < need {
                return Err(bad("shorter than its report count"));
            }
            // Bytes past the blocks are a profile-specific extension (§6.4.1): ignored.
            RtcpPacket::SenderReport(SenderReport {
                ssrc: be32(&body[0..4]),
                info: SenderInfo {
                    ntp: u64::from(be32(&body[4..8])) << 32 | u64::from(be32(&body[8..12])),
                    rtp_ts: be32(&body[12..16]),
                    packet_count: be32(&body[16..20]),
                    octet_count: be32(&body[20..24]),
                },
                reports: ReportBlocks { raw: &body[24..need] },
            })
        }
        PT_RR => {
            let need = 4 + usize::from(count) * REPORT_BLOCK_LEN;
            if body.len() < need {
                return Err(bad("shorter than its report count"));
            }
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: be32(&body[0..4]),
                reports: ReportBlocks { raw: &body[4..need] },
            })
        }
        PT_SDES => {
            let mut rest = body;
            for _ in 0..count {
                let (_, n) = split_chunk(rest)?;
                rest = &rest[n..];
            }
            RtcpPacket::Sdes(Sdes { count, raw: body })
        }
        PT_BYE => {
            let n = usize::from(count) * 4;
            let sources = body.get(..n).ok_or(bad("shorter than its source count"))?;
            let reason = match body.get(n..) {
                Some([len, tail @ ..]) => {
                    Some(tail.get(..usize::from(*len)).ok_or(bad("reason runs past the packet"))?)
                }
                _ => None,
            };
            RtcpPacket::Bye(Bye { sources, reason })
        }
        _ => RtcpPacket::Other { packet_type: pt, count, body },
    };
    Ok((pkt, len, padded))
}

pub(crate) fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

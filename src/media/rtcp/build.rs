//! RTCP wire format, build side (RFC 3550 §6.4–§6.6): appends SR, RR, SDES (CNAME) and BYE
//! packets to a caller-provided buffer to form a compound (§6.1).
//!
//! Owns: serialization. Must not touch: session state (what to report is decided in
//! `session`), sockets. Writes never allocate; running out of room is an error, not a panic.

use super::packet::{ReportBlock, SenderInfo, PT_BYE, PT_RR, PT_SDES, PT_SR, REPORT_BLOCK_LEN, SDES_CNAME};
use super::RtcpError;

/// §6.4.1: the 5-bit report count caps one SR/RR at 31 blocks.
pub const MAX_REPORT_BLOCKS: usize = 31;

/// Appends RTCP packets to `buf`. Every method either writes a whole packet or nothing.
pub struct RtcpWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> RtcpWriter<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        RtcpWriter { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The compound written so far.
    pub fn finish(self) -> usize {
        self.len
    }

    /// SR (§6.4.1): sender info plus up to 31 report blocks.
    pub fn sender_report(&mut self, ssrc: u32, info: &SenderInfo, blocks: &[ReportBlock]) -> Result<(), RtcpError> {
        let count = block_count(blocks)?;
        let body = 4 + 20 + blocks.len() * REPORT_BLOCK_LEN;
        let out = self.reserve(PT_SR, count, body)?;
        out[0..4].copy_from_slice(&ssrc.to_be_bytes());
        out[4..12].copy_from_slice(&info.ntp.to_be_bytes());
        out[12..16].copy_from_slice(&info.rtp_ts.to_be_bytes());
        out[16..20].copy_from_slice(&info.packet_count.to_be_bytes());
        out[20..24].copy_from_slice(&info.octet_count.to_be_bytes());
        write_blocks(&mut out[24..], blocks);
        Ok(())
    }

    /// RR (§6.4.2): up to 31 report blocks (none is valid: "I receive nothing").
    pub fn receiver_report(&mut self, ssrc: u32, blocks: &[ReportBlock]) -> Result<(), RtcpError> {
        let count = block_count(blocks)?;
        let out = self.reserve(PT_RR, count, 4 + blocks.len() * REPORT_BLOCK_LEN)?;
        out[0..4].copy_from_slice(&ssrc.to_be_bytes());
        write_blocks(&mut out[4..], blocks);
        Ok(())
    }

    /// SDES (§6.5) with one chunk carrying a CNAME item (§6.5.1, mandatory in every compound).
    pub fn sdes_cname(&mut self, ssrc: u32, cname: &[u8]) -> Result<(), RtcpError> {
        let n = u8::try_from(cname.len()).map_err(|_| RtcpError::ItemTooLong(cname.len()))?;
        // SSRC, type, length, value, then at least one null octet padded to a word (§6.5).
        let chunk = (4 + 2 + cname.len() + 1).div_ceil(4) * 4;
        let out = self.reserve(PT_SDES, 1, chunk)?;
        out[0..4].copy_from_slice(&ssrc.to_be_bytes());
        out[4] = SDES_CNAME;
        out[5] = n;
        out[6..6 + cname.len()].copy_from_slice(cname);
        out[6 + cname.len()..].fill(0);
        Ok(())
    }

    /// BYE (§6.6) for up to 31 sources, with an optional reason (at most 255 bytes).
    pub fn bye(&mut self, sources: &[u32], reason: Option<&[u8]>) -> Result<(), RtcpError> {
        let count = u8::try_from(sources.len())
            .ok()
            .filter(|&c| usize::from(c) <= MAX_REPORT_BLOCKS)
            .ok_or(RtcpError::TooManyEntries(sources.len()))?;
        let reason_len = match reason {
            Some(r) => Some(u8::try_from(r.len()).map_err(|_| RtcpError::ItemTooLong(r.len()))?),
            None => None,
        };
        let text = reason.map_or(0, |r| 1 + r.len());
        let body = (sources.len() * 4 + text).div_ceil(4) * 4;
        let out = self.reserve(PT_BYE, count, body)?;
        for (i, s) in sources.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&s.to_be_bytes());
        }
        let mut at = sources.len() * 4;
        if let (Some(r), Some(n)) = (reason, reason_len) {
            out[at] = n;
            out[at + 1..at + 1 + r.len()].copy_from_slice(r);
            at += 1 + r.len();
        }
        out[at..].fill(0);
        Ok(())
    }

    /// Writes the common header (§6.4.1: V=2, P=0, count, PT, length in words minus one) and
    /// returns the body to fill, of exactly `body` bytes (a multiple of 4).
    fn reserve(&mut self, pt: u8, count: u8, body: usize) -> Result<&mut [u8], RtcpError> {
        debug_assert_eq!(body & 3, 0, "RTCP bodies are whole 32-bit words");
        let total = 4 + body;
        let words = u16::try_from(total / 4 - 1).map_err(|_| RtcpError::BufferTooSmall)?;
        let start = self.len;
        let pkt = self.buf.get_mut(start..start + total).ok_or(RtcpError::BufferTooSmall)?;
        pkt[0] = 0x80 | count;
        pkt[1] = pt;
        pkt[2..4].copy_from_slice(&words.to_be_bytes());
        self.len += total;
        Ok(&mut pkt[4..])
    }
}

fn block_count(blocks: &[ReportBlock]) -> Result<u8, RtcpError> {
    if blocks.len() > MAX_REPORT_BLOCKS {
        return Err(RtcpError::TooManyEntries(blocks.len()));
    }
    Ok(blocks.len() as u8)
}

fn write_blocks(out: &mut [u8], blocks: &[ReportBlock]) {
    for (b, o) in blocks.iter().zip(out.chunks_exact_mut(REPORT_BLOCK_LEN)) {
        o[0..4].copy_from_slice(&b.ssrc.to_be_bytes());
        o[4] = b.fraction_lost;
        // 24-bit signed field: clamp (A.3 says to clamp rather than wrap), then take the low
        // three bytes of the two's complement.
        let lost = b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff).to_be_bytes();
        o[5..8].copy_from_slice(&lost[1..4]);
        o[8..12].copy_from_slice(&b.ext_highest_seq.to_be_bytes());
        o[12..16].copy_from_slice(&b.jitter.to_be_bytes());
        o[16..20].copy_from_slice(&b.lsr.to_be_bytes());
        o[20..24].copy_from_slice(&b.dlsr.to_be_bytes());
    }
}

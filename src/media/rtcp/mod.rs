//! RTCP (RFC 3550 §6): wire format of SR, RR, SDES and BYE, compound packets, and the per-leg
//! sans-IO session that decides when to report and what.
//!
//! Owns: RTCP bytes in and out, report scheduling (§6.2/§6.3), SR/RR choice (§6.4), LSR/DLSR
//! bookkeeping and the round trip from the peer's reports. Must not touch: sockets and timers
//! (the relay/endpoint driver feeds bytes and the time in, and sends what `poll_transmit`
//! returns), RTP payloads, SIP/SDP.
//!
//! Layout: `packet` (parse, zero-copy views), `build` (writer into a caller buffer),
//! `session` (the state machine), `interval` (the §6.3.1 transmission interval).

mod build;
mod interval;
mod packet;
mod session;

pub use build::{RtcpWriter, MAX_REPORT_BLOCKS};
pub use interval::{report_interval, IntervalInput, RTCP_MIN_INTERVAL};
pub use packet::{
    parse_compound, validate_compound, Bye, Compound, ReceiverReport, ReportBlock, ReportBlocks, RtcpPacket, Sdes,
    SdesChunk, SdesItem, SenderInfo, SenderReport, PT_APP, PT_BYE, PT_RR, PT_SDES, PT_SR, SDES_CNAME, SDES_END,
};
pub use session::{ntp_mid32, RtcpConfig, RtcpSession, MAX_COMPOUND_LEN};

/// Why RTCP bytes were refused or could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// Fewer bytes than an RTCP header (or an empty compound).
    #[error("RTCP packet too short: {0} bytes")]
    TooShort(usize),
    /// Version field is not 2 (§6.4.1).
    #[error("RTCP version {0} is not 2")]
    BadVersion(u8),
    /// The length field claims more bytes than the datagram has left.
    #[error("RTCP length {declared} exceeds the {available} bytes left")]
    LengthOverrun { declared: usize, available: usize },
    /// Padding count 0 or larger than the packet body (§6.4.1 P bit).
    #[error("RTCP padding length {0} invalid")]
    BadPadding(u8),
    /// A packet of a known type whose body contradicts its header.
    #[error("malformed RTCP packet type {packet_type}: {what}")]
    Malformed { packet_type: u8, what: &'static str },
    /// A compound must start with SR or RR (§6.1, Appendix A.2).
    #[error("RTCP compound starts with packet type {0}, not SR/RR")]
    FirstNotReport(u8),
    /// Only the last packet of a compound may be padded (Appendix A.2).
    #[error("RTCP padding on a packet that is not the last of the compound")]
    PaddingNotLast,
    /// The output buffer has no room for the packet.
    #[error("buffer too small for RTCP packet")]
    BufferTooSmall,
    /// More than 31 report blocks or BYE sources: the count field has 5 bits.
    #[error("{0} RTCP entries exceed the 31 a packet can carry")]
    TooManyEntries(usize),
    /// SDES item or BYE reason longer than 255 bytes (8-bit length field).
    #[error("RTCP text of {0} bytes exceeds 255")]
    ItemTooLong(usize),
}

/// Fuzz entry: arbitrary bytes through the compound walker, the A.2 validity check, a
/// build→parse round trip of every SR, RR, BYE and CNAME-only SDES, and a session's
/// `handle_rtcp`. Panics only when a property breaks.
pub fn fuzz_parse(data: &[u8]) {
    let mut total = 0usize;
    for item in parse_compound(data) {
        let Ok((pkt, _)) = item else { break };
        total += 1;
        round_trip(&pkt);
    }
    if validate_compound(data).is_ok() {
        assert!(total > 0, "a valid compound has at least one packet");
        assert!(parse_compound(data).all(|r| r.is_ok()), "valid compound with a bad packet");
    }
    let now = std::time::Instant::now();
    let cfg = RtcpConfig {
        ssrc: 0x1234_5678,
        cname: b"fuzz@switchboard".to_vec(),
        clock_rate: 8000,
        session_bandwidth_bps: 64_000,
    };
    let mut s = RtcpSession::new(cfg, now, 0xe000_0000_0000_0000, 1);
    let accepted = s.handle_rtcp(now, data).is_ok();
    assert_eq!(accepted, validate_compound(data).is_ok(), "session and validator disagree");
    s.close();
    let out = s.poll_transmit(now).map(<[u8]>::to_vec).expect("BYE compound after close");
    validate_compound(&out).unwrap_or_else(|e| panic!("own compound invalid: {e}"));
}

/// Rebuilds one parsed packet with our writer and checks it parses back to the same view.
fn round_trip(pkt: &RtcpPacket<'_>) {
    let mut buf = [0u8; 2048];
    let mut blocks = [ReportBlock::default(); MAX_REPORT_BLOCKS];
    let mut w = RtcpWriter::new(&mut buf);
    let wrote = match pkt {
        RtcpPacket::SenderReport(sr) => {
            let n = copy_blocks(&sr.reports, &mut blocks);
            w.sender_report(sr.ssrc, &sr.info, &blocks[..n])
        }
        RtcpPacket::ReceiverReport(rr) => {
            let n = copy_blocks(&rr.reports, &mut blocks);
            w.receiver_report(rr.ssrc, &blocks[..n])
        }
        RtcpPacket::Bye(bye) => {
            let mut ssrcs = [0u32; 31];
            let mut n = 0;
            for (slot, s) in ssrcs.iter_mut().zip(bye.sources()) {
                *slot = s;
                n += 1;
            }
            w.bye(&ssrcs[..n], bye.reason)
        }
        RtcpPacket::Sdes(sdes) => {
            let mut chunks = sdes.chunks();
            match (chunks.next(), chunks.next()) {
                (Some(c), None) if c.items().count() == 1 && c.cname().is_some() => {
                    w.sdes_cname(c.ssrc, c.cname().unwrap_or_default())
                }
                _ => return,
            }
        }
        RtcpPacket::Other { .. } => return,
    };
    wrote.unwrap_or_else(|e| panic!("parsed packet does not rebuild: {e}"));
    let n = w.finish();
    let back = parse_compound(&buf[..n]).next().and_then(Result::ok).map(|(p, _)| p);
    let same = match (pkt, back) {
        (RtcpPacket::SenderReport(a), Some(RtcpPacket::SenderReport(b))) => {
            a.ssrc == b.ssrc && a.info == b.info && a.reports.iter().eq(b.reports.iter())
        }
        (RtcpPacket::ReceiverReport(a), Some(RtcpPacket::ReceiverReport(b))) => {
            a.ssrc == b.ssrc && a.reports.iter().eq(b.reports.iter())
        }
        (RtcpPacket::Bye(a), Some(RtcpPacket::Bye(b))) => a.sources().eq(b.sources()) && a.reason == b.reason,
        (RtcpPacket::Sdes(a), Some(RtcpPacket::Sdes(b))) => {
            a.chunks().map(|c| (c.ssrc, c.cname())).eq(b.chunks().map(|c| (c.ssrc, c.cname())))
        }
        _ => false,
    };
    assert!(same, "RTCP round trip differs: {pkt:?}");
}

fn copy_blocks(from: &ReportBlocks<'_>, to: &mut [ReportBlock; MAX_REPORT_BLOCKS]) -> usize {
    let mut n = 0;
    for (slot, b) in to.iter_mut().zip(from.iter()) {
        *slot = b;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests;

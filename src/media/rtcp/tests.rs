//! RTCP tests: hand-built vectors from the RFC 3550 §6.4–§6.6 layouts, compound rules
//! (Appendix A.2), the session driven by a virtual clock, and a deterministic mutation loop.

use std::time::{Duration, Instant};

use super::*;

/// SR, RC=1 (§6.4.1): header, SSRC, NTP (0xe0000000.8), RTP ts 1000, 10 packets, 1600 octets,
/// one report block about 0x55667788: 25 % lost, cumulative −2, ext seq 0x00010005,
/// jitter 32, LSR 0x12345678, DLSR 1.5 s (0x00018000).
const SR: [u8; 52] = [
    0x81, 0xc8, 0x00, 0x0c, 0x11, 0x22, 0x33, 0x44, //
    0xe0, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, // NTP
    0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x06, 0x40, // rtp ts, counts
    0x55, 0x66, 0x77, 0x88, 0x40, 0xff, 0xff, 0xfe, // block: ssrc, fraction, lost
    0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x20, // ext seq, jitter
    0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x80, 0x00, // LSR, DLSR
];
/// RR, RC=0 (§6.4.2): "I receive nothing".
const RR_EMPTY: [u8; 8] = [0x80, 0xc9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44];
/// SDES, SC=1 (§6.5): CNAME "alice@host", null terminator padded to the word.
const SDES: [u8; 24] = [
    0x81, 0xca, 0x00, 0x05, 0x11, 0x22, 0x33, 0x44, 0x01, 0x0a, b'a', b'l', b'i', b'c', b'e', b'@', b'h', b'o', b's',
    b't', 0, 0, 0, 0,
];
/// BYE, SC=1 (§6.6) with reason "gone".
const BYE: [u8; 16] = [0x81, 0xcb, 0x00, 0x03, 0x11, 0x22, 0x33, 0x44, 0x04, b'g', b'o', b'n', b'e', 0, 0, 0];

fn compound(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn block() -> ReportBlock {
    ReportBlock {
        ssrc: 0x5566_7788,
        fraction_lost: 0x40,
        cumulative_lost: -2,
        ext_highest_seq: 0x0001_0005,
        jitter: 32,
        lsr: 0x1234_5678,
        dlsr: 0x0001_8000,
    }
}

#[test]
fn parses_hand_built_sr() {
    let mut it = parse_compound(&SR);
    let Some(Ok((RtcpPacket::SenderReport(sr), false))) = it.next() else { panic!("not an SR") };
    assert!(it.next().is_none());
    assert_eq!(sr.ssrc, 0x1122_3344);
    assert_eq!(sr.info, SenderInfo { ntp: 0xe000_0000_8000_0000, rtp_ts: 1000, packet_count: 10, octet_count: 1600 });
    assert_eq!(sr.reports.iter().collect::<Vec<_>>(), [block()]);
}

#[test]
fn parses_sdes_and_bye() {
    let c = compound(&[&RR_EMPTY, &SDES, &BYE]);
    validate_compound(&c).unwrap();
    let pkts: Vec<_> = parse_compound(&c).map(|r| r.unwrap().0).collect();
    let RtcpPacket::ReceiverReport(rr) = pkts[0] else { panic!() };
    assert!(rr.reports.is_empty());
    let RtcpPacket::Sdes(sdes) = pkts[1] else { panic!() };
    let chunk = sdes.chunks().next().unwrap();
    assert_eq!((chunk.ssrc, chunk.cname()), (0x1122_3344, Some(&b"alice@host"[..])));
    let RtcpPacket::Bye(bye) = pkts[2] else { panic!() };
    assert_eq!(bye.sources().collect::<Vec<_>>(), [0x1122_3344]);
    assert_eq!(bye.reason, Some(&b"gone"[..]));
}

#[test]
fn writer_produces_the_same_bytes() {
    let mut buf = [0u8; 256];
    let mut w = RtcpWriter::new(&mut buf);
    let info = SenderInfo { ntp: 0xe000_0000_8000_0000, rtp_ts: 1000, packet_count: 10, octet_count: 1600 };
    w.sender_report(0x1122_3344, &info, &[block()]).unwrap();
    w.receiver_report(0x1122_3344, &[]).unwrap();
    w.sdes_cname(0x1122_3344, b"alice@host").unwrap();
    w.bye(&[0x1122_3344], Some(b"gone")).unwrap();
    let n = w.finish();
    assert_eq!(&buf[..n], compound(&[&SR, &RR_EMPTY, &SDES, &BYE]).as_slice());
}

#[test]
fn writer_limits() {
    let mut small = [0u8; 30];
    let mut w = RtcpWriter::new(&mut small);
    assert_eq!(w.sender_report(1, &SenderInfo::default(), &[block()]), Err(RtcpError::BufferTooSmall));
    assert!(w.is_empty(), "a failed write leaves nothing behind");
    w.receiver_report(1, &[]).unwrap();
    let mut buf = [0u8; 2048];
    let mut w = RtcpWriter::new(&mut buf);
    assert_eq!(w.receiver_report(1, &[block(); 32]), Err(RtcpError::TooManyEntries(32)));
    assert_eq!(w.sdes_cname(1, &[b'x'; 256]), Err(RtcpError::ItemTooLong(256)));
    assert_eq!(w.bye(&[0; 32], None), Err(RtcpError::TooManyEntries(32)));
    // Cumulative loss beyond 24 bits is clamped (A.3), not wrapped.
    w.receiver_report(1, &[ReportBlock { cumulative_lost: -10_000_000, ..block() }]).unwrap();
    let n = w.finish();
    let Some(Ok((RtcpPacket::ReceiverReport(rr), _))) = parse_compound(&buf[..n]).next() else { panic!() };
    assert_eq!(rr.reports.iter().next().unwrap().cumulative_lost, -0x80_0000);
}

#[test]
fn sdes_chunk_ending_on_a_word_needs_four_nulls() {
    // CNAME of 2 bytes: SSRC 4 + type/len 2 + 2 = 8, then a whole word of nulls.
    let mut buf = [0u8; 64];
    let mut w = RtcpWriter::new(&mut buf);
    w.sdes_cname(7, b"ab").unwrap();
    let n = w.finish();
    assert_eq!(&buf[..n], &[0x81, 0xca, 0, 3, 0, 0, 0, 7, 1, 2, b'a', b'b', 0, 0, 0, 0]);
    // Without the null word the chunk is unterminated.
    let mut bad = buf[..12].to_vec();
    bad[3] = 2;
    assert!(matches!(parse_compound(&bad).next(), Some(Err(RtcpError::Malformed { .. }))));
}

#[test]
fn compound_rules_of_appendix_a2() {
    assert_eq!(validate_compound(&SDES), Err(RtcpError::FirstNotReport(PT_SDES)));
    assert_eq!(validate_compound(&[]), Err(RtcpError::TooShort(0)));
    // Padding on the first of two packets.
    let mut padded = compound(&[&[0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4], &SDES]);
    assert_eq!(validate_compound(&padded), Err(RtcpError::PaddingNotLast));
    // The same padded RR alone is fine, and its padding is stripped.
    padded.truncate(12);
    validate_compound(&padded).unwrap();
    // Length beyond the datagram.
    assert_eq!(validate_compound(&SR[..40]), Err(RtcpError::LengthOverrun { declared: 52, available: 40 }));
    // Trailing garbage shorter than a header.
    assert_eq!(validate_compound(&compound(&[&RR_EMPTY, &[0x80, 0xc9]])), Err(RtcpError::TooShort(2)));
    // Version 1.
    let mut v1 = RR_EMPTY;
    v1[0] = 0x40;
    assert_eq!(validate_compound(&v1), Err(RtcpError::BadVersion(1)));
    // Report count larger than the packet.
    let mut rc = RR_EMPTY;
    rc[0] = 0x81;
    assert!(matches!(validate_compound(&rc), Err(RtcpError::Malformed { packet_type: PT_RR, .. })));
    // Unknown types after the report are skipped by length.
    let app = [0x80, 0xcc, 0x00, 0x02, 0, 0, 0, 1, b'n', b'a', b'm', b'e'];
    let c = compound(&[&RR_EMPTY, &app]);
    validate_compound(&c).unwrap();
    assert!(matches!(parse_compound(&c).nth(1), Some(Ok((RtcpPacket::Other { packet_type: PT_APP, .. }, _)))));
}

// ---------------------------------------------------------------------------------------------
// Session, virtual clock
// ---------------------------------------------------------------------------------------------

const NTP_A: u64 = 0xe900_0000_0000_0000;
const NTP_B: u64 = 0xe900_1234_4000_0000; // another wallclock: RTT must not depend on it

fn cfg(ssrc: u32, cname: &[u8]) -> RtcpConfig {
    RtcpConfig { ssrc, cname: cname.to_vec(), clock_rate: 8000, session_bandwidth_bps: 64_000 }
}

fn types(c: &[u8]) -> Vec<u8> {
    parse_compound(c).map(|r| r.unwrap().0.packet_type()).collect()
}

#[test]
fn receiver_only_sends_rr_at_randomized_intervals() {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(cfg(1, b"us@sb"), t0, NTP_A, 7);
    let mut sent_at = Vec::new();
    let mut seq = 0u16;
    for tick in 0..3000u64 {
        // 30 s of 10 ms ticks; peer RTP every 20 ms.
        let now = t0 + Duration::from_millis(10 * tick);
        if tick % 2 == 0 {
            s.on_rtp_received(0xabc, seq, u32::from(seq) * 160, now);
            seq = seq.wrapping_add(1);
        }
        assert!(s.poll_timeout().unwrap() > now - Duration::from_millis(10));
        if let Some(c) = s.poll_transmit(now) {
            validate_compound(c).unwrap();
            assert_eq!(types(c), [PT_RR, PT_SDES]);
            let Some(Ok((RtcpPacket::ReceiverReport(rr), _))) = parse_compound(c).next() else { panic!() };
            let b = rr.reports.iter().next().expect("block about the peer");
            assert_eq!((b.ssrc, b.fraction_lost, b.cumulative_lost, b.lsr), (0xabc, 0, 0, 0));
            sent_at.push(now);
        }
    }
    // §6.2: first report after 2.5 s × [0.5, 1.5], then 5 s × [0.5, 1.5].
    let first = sent_at[0] - t0;
    assert!(first >= Duration::from_millis(1250) && first <= Duration::from_millis(3760), "{first:?}");
    let gaps: Vec<Duration> = sent_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 3, "{gaps:?}");
    for g in &gaps {
        assert!(*g >= Duration::from_millis(2500) && *g <= Duration::from_millis(7510), "{g:?}");
    }
    assert!(gaps.windows(2).any(|w| w[0] != w[1]), "intervals are randomized: {gaps:?}");
}

#[test]
fn sender_report_while_sending_then_rr() {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(cfg(1, b"us@sb"), t0, NTP_A, 3);
    let mut reports = Vec::new();
    for tick in 0..2500u64 {
        let now = t0 + Duration::from_millis(10 * tick);
        // We send for the first 5 s only.
        if tick % 2 == 0 && tick < 500 {
            s.on_rtp_sent((tick as u32 / 2) * 160, 160, now);
        }
        if let Some(c) = s.poll_transmit(now) {
            reports.push((now, c.to_vec()));
        }
    }
    let (at, first) = &reports[0];
    let Some(Ok((RtcpPacket::SenderReport(sr), _))) = parse_compound(first).next() else { panic!("SR first") };
    assert!(sr.reports.is_empty(), "nothing received: no blocks");
    let sent = ((at.duration_since(t0).as_millis() as u32) / 20 + 1).min(250);
    assert_eq!((sr.info.packet_count, sr.info.octet_count), (sent, sent * 160));
    // NTP: wallclock at start + elapsed.
    let elapsed = at.duration_since(t0);
    let expect_ntp = NTP_A + (elapsed.as_secs() << 32) + ((u64::from(elapsed.subsec_nanos()) << 32) / 1_000_000_000);
    assert_eq!(sr.info.ntp, expect_ntp);
    // The RTP timestamp is extrapolated to the report instant: 8 units per ms.
    assert_eq!(sr.info.rtp_ts, elapsed.as_millis() as u32 * 8);
    // Once we stopped for two intervals, reports are RRs.
    let last = &reports.last().unwrap().1;
    assert_eq!(types(last), [PT_RR, PT_SDES]);
}

/// Two sessions wired back to back with a 30 ms one-way delay each way, exchanging RTP and
/// RTCP on a virtual clock: each side's round trip converges on 60 ms.
#[test]
fn round_trip_between_two_sessions() {
    let t0 = Instant::now();
    let delay = Duration::from_millis(30);
    let mut a = RtcpSession::new(cfg(0xa, b"a@x"), t0, NTP_A, 1);
    let mut b = RtcpSession::new(cfg(0xb, b"b@y"), t0, NTP_B, 2);
    let mut in_flight: Vec<(Instant, bool, Vec<u8>)> = Vec::new(); // (deliver at, to_a, bytes)
    for tick in 0..2000u64 {
        let now = t0 + Duration::from_millis(10 * tick);
        if tick % 2 == 0 {
            let seq = (tick / 2) as u16;
            let ts = u32::from(seq) * 160;
            a.on_rtp_sent(ts, 160, now);
            b.on_rtp_sent(ts, 160, now);
            a.on_rtp_received(0xb, seq, ts, now + delay);
            b.on_rtp_received(0xa, seq, ts, now + delay);
        }
        if let Some(c) = a.poll_transmit(now) {
            in_flight.push((now + delay, false, c.to_vec()));
        }
        if let Some(c) = b.poll_transmit(now) {
            in_flight.push((now + delay, true, c.to_vec()));
        }
        for (at, to_a, bytes) in std::mem::take(&mut in_flight) {
            if at <= now {
                let s = if to_a { &mut a } else { &mut b };
                s.handle_rtcp(at, &bytes).unwrap();
            } else {
                in_flight.push((at, to_a, bytes));
            }
        }
    }
    for s in [&a, &b] {
        let rtt = s.rtt().expect("round trip measured").as_secs_f64() * 1000.0;
        // 1/65536 s resolution of LSR/DLSR.
        assert!((rtt - 60.0).abs() < 0.1, "{rtt}");
        let q = s.quality(crate::media::quality::Codec::G711, 40.0);
        assert_eq!((q.lost, q.rtt_ms.map(|r| r.round())), (0, Some(60.0)));
        assert!(q.mos > 4.3, "{}", q.mos);
    }
}

#[test]
fn bye_on_close_and_remote_bye() {
    let t0 = Instant::now();
    let mut a = RtcpSession::new(cfg(0xa, b"a@x"), t0, NTP_A, 1);
    let mut b = RtcpSession::new(cfg(0xb, b"b@y"), t0, NTP_B, 2);
    b.on_rtp_received(0xa, 1, 0, t0);
    a.close();
    assert!(a.poll_timeout().unwrap() <= t0, "BYE is due at once");
    let bye = a.poll_transmit(t0).expect("BYE compound").to_vec();
    assert_eq!(types(&bye), [PT_RR, PT_SDES, PT_BYE]);
    assert!(a.poll_transmit(t0 + Duration::from_secs(60)).is_none());
    assert_eq!(a.poll_timeout(), None);
    b.handle_rtcp(t0, &bye).unwrap();
    assert!(b.remote_bye());
}

#[test]
fn session_refuses_invalid_compounds_and_tracks_ssrc_change() {
    let t0 = Instant::now();
    let mut s = RtcpSession::new(cfg(1, b"us"), t0, NTP_A, 1);
    assert_eq!(s.handle_rtcp(t0, &SDES), Err(RtcpError::FirstNotReport(PT_SDES)));
    assert!(s.handle_rtcp(t0, &SR[..20]).is_err());
    for i in 0..50u16 {
        s.on_rtp_received(0x10, i, u32::from(i) * 160, t0);
    }
    assert_eq!(s.stats().received(), 49);
    s.on_rtp_received(0x20, 9000, 0, t0);
    assert_eq!((s.remote_ssrc(), s.stats().received()), (Some(0x20), 0));
}

// ---------------------------------------------------------------------------------------------
// No panics on arbitrary bytes
// ---------------------------------------------------------------------------------------------

/// xorshift64: a deterministic byte source, so a failure reproduces exactly.
pub(crate) struct Mutator(pub u64);

impl Mutator {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// One random edit: flip a bit, set a byte, truncate, duplicate a slice, or append junk.
    pub fn mutate(&mut self, v: &mut Vec<u8>) {
        let r = self.next();
        let at = if v.is_empty() { 0 } else { (r >> 8) as usize % v.len() };
        match r % 5 {
            0 if !v.is_empty() => v[at] ^= 1 << ((r >> 40) % 8),
            1 if !v.is_empty() => v[at] = (r >> 32) as u8,
            2 => v.truncate(at),
            3 if v.len() < 1500 => {
                let tail = v[at..].to_vec();
                v.extend_from_slice(&tail[..tail.len().min(64)]);
            }
            _ => v.extend((0..(r >> 56) % 9).map(|i| (r >> i) as u8)),
        }
    }
}

#[test]
fn mutation_loop_never_panics() {
    let seeds = [compound(&[&SR, &SDES]), compound(&[&RR_EMPTY, &SDES, &BYE]), SR.to_vec(), BYE.to_vec()];
    let mut m = Mutator(0x9e37_79b9_7f4a_7c15);
    for seed in &seeds {
        fuzz_parse(seed);
        let mut v = seed.clone();
        for i in 0..5000 {
            if i % 50 == 0 {
                v = seed.clone();
            }
            m.mutate(&mut v);
            fuzz_parse(&v);
        }
    }
}

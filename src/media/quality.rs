//! Per-leg receive quality: RFC 3550 receiver statistics (sequence tracking with wrap and
//! restart detection, loss, interarrival jitter), round-trip time from RTCP report blocks, and an
//! E-model MOS estimate.
//!
//! Owns: the arithmetic of RFC 3550 §6.4 / Appendix A.1, A.3, A.8 and of a simplified ITU-T
//! G.107 E-model. Must not touch: wire formats (`rtcp` turns a [`LossReport`] into a report
//! block), sockets, clocks (every time comes in as an argument).
//!
//! Nothing here allocates; `ReceiverStats::on_rtp` runs once per received packet.

use std::time::{Duration, Instant};

/// A.1: a jump of at most this many is a gap (loss), not a restart.
const MAX_DROPOUT: u16 = 3000;
/// A.1: a step back of at most this many is reordering/duplication.
const MAX_MISORDER: u16 = 100;
/// A.1: sequential packets needed before a new source is believed.
const MIN_SEQUENTIAL: u32 = 2;
const SEQ_MOD: u32 = 1 << 16;

/// What `on_rtp` made of a packet (RFC 3550 Appendix A.1 `update_seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Counted: in order, a gap, a late/duplicate within MAX_MISORDER, or the packet that
    /// completed probation / confirmed a restart.
    Valid,
    /// Source still on probation (not yet MIN_SEQUENTIAL in a row): not counted.
    Probation,
    /// A large jump, not yet confirmed by the next packet: not counted.
    BadJump,
}

/// Reception statistics of one source (RFC 3550 Appendix A.1 `source` plus A.8 jitter).
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    started: bool,
    probation: u32,
    max_seq: u16,
    /// Shifted count of wraps (cycles << 16 as in A.1).
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// A.8: the arrival time origin; arrival times are taken relative to it in clock units.
    epoch: Option<Instant>,
    last_transit: Option<u32>,
    /// A.8 estimate, in timestamp units (kept as f64; the wire field is its integer part).
    jitter: f64,
}

/// The loss/jitter fields of one report block (RFC 3550 §6.4.1), from [`ReceiverStats::report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossReport {
    pub fraction_lost: u8,
    pub cumulative_lost: i32,
    pub ext_highest_seq: u32,
    pub jitter: u32,
}

impl ReceiverStats {
    /// `clock_rate`: the RTP clock of the payload (8000 for G.711, 8000 for G.722 too by
    /// RFC 3551 §4.5.2's historical quirk, 48000 for Opus).
    pub fn new(clock_rate: u32) -> Self {
        ReceiverStats {
            clock_rate: clock_rate.max(1),
            started: false,
            probation: MIN_SEQUENTIAL,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            epoch: None,
            last_transit: None,
            jitter: 0.0,
        }
    }

    /// A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Feeds one received RTP packet: sequence bookkeeping (A.1) and, for counted packets,
    /// the interarrival jitter (A.8).
    pub fn on_rtp(&mut self, seq: u16, ts: u32, arrival: Instant) -> SeqCheck {
        let check = self.update_seq(seq);
        if check == SeqCheck::Valid {
            self.update_jitter(ts, arrival);
        }
        check
    }

    fn update_seq(&mut self, seq: u16) -> SeqCheck {
        if !self.started {
            // A.1: "max_seq = seq - 1" so the first packet looks in-order to probation.
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqCheck::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SeqCheck::Probation;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                // Wrapped: count another 64K cycle.
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump. Two in a row means the sender restarted (new sequence space);
            // a single one is a stray packet and is ignored.
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
                // Jitter history belongs to the old stream.
                self.last_transit = None;
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return SeqCheck::BadJump;
            }
        }
        // else: duplicate or reordered within MAX_MISORDER: counted, max_seq unchanged.
        self.received = self.received.wrapping_add(1);
        SeqCheck::Valid
    }

    /// A.8: J += (|D| - J) / 16, with D the change in relative transit time between this
    /// packet and the previous one. Transit is computed modulo 2^32 so timestamp wrap and an
    /// arbitrary initial timestamp cancel out in the difference.
    fn update_jitter(&mut self, ts: u32, arrival: Instant) {
        let epoch = *self.epoch.get_or_insert(arrival);
        let elapsed = arrival.saturating_duration_since(epoch);
        let arrival_units = (elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        let transit = arrival_units.wrapping_sub(ts);
        if let Some(last) = self.last_transit {
            let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// Packets counted as received (duplicates included, as A.3 notes).
    pub fn received(&self) -> u32 {
        self.received
    }
    /// Extended highest sequence number received (A.3).
    pub fn ext_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }
    /// A.3: expected = extended max − base + 1 (0 before the source is validated).
    pub fn expected(&self) -> i64 {
        if !self.started || self.probation > 0 {
            return 0;
        }
        i64::from(self.ext_highest_seq()) - i64::from(self.base_seq) + 1
    }
    /// A.3: cumulative lost = expected − received; negative when duplicates arrived.
    pub fn lost(&self) -> i64 {
        self.expected() - i64::from(self.received)
    }
    /// A.8 estimate in timestamp units.
    pub fn jitter_ts(&self) -> f64 {
        self.jitter
    }
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate)
    }

    /// The fields of a report block (A.3), advancing the "prior" counters so the next call's
    /// fraction covers the next interval. Call once per report sent.
    pub fn report(&mut self) -> LossReport {
        let expected = self.expected();
        let received = i64::from(self.received);
        let expected_interval = expected - i64::from(self.expected_prior);
        let received_interval = received - i64::from(self.received_prior);
        self.expected_prior = expected as u32;
        self.received_prior = self.received;
        let lost_interval = expected_interval - received_interval;
        let fraction = if expected_interval <= 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval).min(255) as u8
        };
        LossReport {
            fraction_lost: fraction,
            // 24-bit signed field: clamp, as A.3 recommends, rather than wrap.
            cumulative_lost: (expected - received).clamp(-0x80_0000, 0x7f_ffff) as i32,
            ext_highest_seq: self.ext_highest_seq(),
            jitter: self.jitter as u32,
        }
    }

    /// Snapshot for metrics: loss as a cumulative fraction (not the last interval's), the
    /// given round trip, and an E-model MOS for `codec` assuming one-way delay = RTT/2 plus
    /// `local_delay_ms` (packetization + jitter buffer on our side).
    pub fn quality(&self, rtt: Option<Duration>, codec: Codec, local_delay_ms: f64) -> LegQuality {
        let expected = self.expected();
        let lost = self.lost();
        let loss_fraction = if expected > 0 { (lost.max(0) as f64 / expected as f64).min(1.0) } else { 0.0 };
        let rtt_ms = rtt.map(|d| d.as_secs_f64() * 1000.0);
        let delay = rtt_ms.unwrap_or(0.0) / 2.0 + local_delay_ms.max(0.0);
        LegQuality {
            packets: u64::from(self.received),
            lost,
            loss_fraction,
            jitter_ms: self.jitter_ms(),
            rtt_ms,
            mos: mos(codec, delay, loss_fraction * 100.0),
        }
    }
}

/// One leg's receive quality, for the console and call records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegQuality {
    /// Packets received (A.3 counts duplicates too).
    pub packets: u64,
    /// Cumulative lost (expected − received), negative with duplicates.
    pub lost: i64,
    /// lost / expected over the whole call, 0..=1.
    pub loss_fraction: f64,
    /// Interarrival jitter (A.8) in milliseconds.
    pub jitter_ms: f64,
    /// Round trip from the peer's report blocks (§6.4.1), once one arrived.
    pub rtt_ms: Option<f64>,
    /// E-model estimate, 1.0..=4.5.
    pub mos: f64,
}

/// RFC 3550 §6.4.1 round trip: A − LSR − DLSR, all in 1/65536 s (middle 32 bits of NTP time).
/// `arrival_ntp_mid` is our NTP clock when the report block arrived. `None` when the peer has
/// not had an SR from us (LSR = 0) or the numbers are inconsistent (clock steps).
pub fn rtt_from_report(arrival_ntp_mid: u32, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let since_sr = arrival_ntp_mid.wrapping_sub(lsr);
    let rtt = since_sr.checked_sub(dlsr)?;
    // 1/65536 s units: seconds in the high 16 bits, fraction in the low.
    Some(Duration::from_nanos(u64::from(rtt) * 1_000_000_000 / 65_536))
}

/// Codecs with E-model parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 with packet loss concealment (G.711 Appendix I), which our playout path runs.
    G711,
    /// G.711 without concealment (a relay leg whose far end we do not know): for comparison.
    G711NoPlc,
    G722,
    Opus,
}

impl Codec {
    /// (Ie, Bpl): equipment impairment and packet-loss robustness factors.
    ///
    /// - G.711: Ie = 0 (the reference codec); Bpl = 25.1 with the G.711 Appendix I PLC and 4.3
    ///   without, the random-loss values of ITU-T G.113 Appendix I (Table I.3, 11/2007 edition).
    /// - G.722 and Opus: G.113 Appendix I (the narrowband table) lists neither: G.722's
    ///   values are wideband (Ie,wb, G.113 Appendix IV, for the G.107.1 wideband model) and
    ///   Opus has no ITU-T values at all. On the narrowband scale used here a wideband codec is
    ///   at least as good as G.711, so we use Ie = 0, and Bpl = 25.1 as for G.711 with PLC
    ///   (both codecs conceal loss). These two are engineering assumptions, not ITU values:
    ///   the model cannot tell the three codecs apart until it moves to G.107.1 / G.107.2.
    pub fn impairment(self) -> (f64, f64) {
        match self {
            Codec::G711 => (0.0, 25.1),
            Codec::G711NoPlc => (0.0, 4.3),
            Codec::G722 | Codec::Opus => (0.0, 25.1),
        }
    }
}

/// G.107 default R for a connection with no delay, loss or codec impairment
/// (Ro − Is with every other parameter at its default; §7.7 Table 3 defaults).
const R_DEFAULT: f64 = 93.2;

/// Simplified E-model (ITU-T G.107): R = 93.2 − Id − Ie,eff (advantage factor A = 0).
///
/// - Id, delay impairment: the widely used linear approximation of G.107's Idd/Idte curves for
///   default echo parameters (Cole & Rosenbluth, 2001): Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3),
///   d the one-way mouth-to-ear delay in ms, H the unit step. Within a couple of R points of the
///   full model below 400 ms.
/// - Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl), G.107 §7.6 (eq. 7-29), with BurstR = 1
///   (random loss: RFC 3550 reports cannot tell bursty loss apart) and Ppl in percent.
pub fn r_factor(codec: Codec, one_way_delay_ms: f64, loss_percent: f64) -> f64 {
    let d = one_way_delay_ms.max(0.0);
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let (ie, bpl) = codec.impairment();
    let ppl = loss_percent.clamp(0.0, 100.0);
    let ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl);
    R_DEFAULT - id - ie_eff
}

/// MOS (conversational quality estimate) from R, G.107 Annex B (eq. B-4), clamped below at 1:
/// the cubic dips a hair under 1 for 0 < R < 6.5, which would break monotonicity.
pub fn mos_from_r(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6).max(1.0)
    }
}

/// MOS estimate for `codec` at a one-way delay and loss percentage.
pub fn mos(codec: Codec, one_way_delay_ms: f64, loss_percent: f64) -> f64 {
    mos_from_r(r_factor(codec, one_way_delay_ms, loss_percent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(st: &mut ReceiverStats, t0: Instant, seqs: impl IntoIterator<Item = u16>) {
        for (i, s) in seqs.into_iter().enumerate() {
            st.on_rtp(s, u32::from(s).wrapping_mul(160), t0 + Duration::from_millis(20 * i as u64));
        }
    }

    #[test]
    fn probation_then_counting() {
        let t0 = Instant::now();
        let mut st = ReceiverStats::new(8000);
        assert_eq!(st.on_rtp(10, 0, t0), SeqCheck::Probation);
        assert_eq!(st.expected(), 0);
        assert_eq!(st.on_rtp(11, 160, t0), SeqCheck::Valid);
        // A.1: the packet that ends probation becomes the base.
        assert_eq!((st.expected(), st.received(), st.lost()), (1, 1, 0));
        // A non-consecutive second packet restarts probation.
        let mut st = ReceiverStats::new(8000);
        st.on_rtp(10, 0, t0);
        assert_eq!(st.on_rtp(50, 0, t0), SeqCheck::Probation);
        assert_eq!(st.on_rtp(51, 0, t0), SeqCheck::Valid);
    }

    #[test]
    fn sequence_wrap_counts_cycles() {
        let mut st = ReceiverStats::new(8000);
        feed(&mut st, Instant::now(), (0..40u16).map(|i| 65_520u16.wrapping_add(i)));
        // Base 65521 (second packet); highest 65520+39 = 65559 -> cycle 1, seq 23.
        assert_eq!(st.ext_highest_seq(), 65_536 + 23);
        assert_eq!((st.expected(), st.received(), st.lost()), (39, 39, 0));
    }

    #[test]
    fn loss_duplicates_and_fraction_per_interval() {
        let mut st = ReceiverStats::new(8000);
        let t0 = Instant::now();
        // 0..=20 with 5 lost (3, 7, 8, 12, 19): base 1, highest 20 -> expected 20, received 15.
        feed(&mut st, t0, (0..=20u16).filter(|s| ![3, 7, 8, 12, 19].contains(s)));
        assert_eq!((st.expected(), st.received() as i64, st.lost()), (20, 15, 5));
        let r = st.report();
        assert_eq!(r.fraction_lost, 64); // (5 << 8) / 20: 25 %
        assert_eq!((r.cumulative_lost, r.ext_highest_seq), (5, 20));
        // Next interval: 21..=30 plus a duplicate of 30 and a late 19: nothing lost this time.
        feed(&mut st, t0, (21..=30u16).chain([30, 19]));
        let r = st.report();
        assert_eq!((r.fraction_lost, r.cumulative_lost), (0, 3));
        // Duplicates can make cumulative loss negative (A.3).
        feed(&mut st, t0, [30, 30, 30, 30]);
        assert_eq!(st.lost(), -1);
    }

    #[test]
    fn restart_needs_two_sequential_packets() {
        let mut st = ReceiverStats::new(8000);
        let t0 = Instant::now();
        feed(&mut st, t0, 100..110u16);
        // One stray far jump is ignored ...
        assert_eq!(st.on_rtp(40_000, 0, t0), SeqCheck::BadJump);
        assert_eq!(st.ext_highest_seq(), 109);
        // ... the next one in sequence confirms a restart: new base.
        assert_eq!(st.on_rtp(40_001, 0, t0), SeqCheck::Valid);
        assert_eq!((st.expected(), st.received(), st.ext_highest_seq()), (1, 1, 40_001));
    }

    #[test]
    fn jitter_matches_hand_computation() {
        // 8 kHz, 20 ms packets (160 units). Arrivals 0, 20, 40, 65, 80 ms. The first packet is
        // on probation (not counted); transits from the second on: 0, 0, +40, 0 (units of
        // 1/8000 s, relative to the second packet). D: 0, 40, -40.
        // J: 0 -> 0 + (0-0)/16 = 0 -> 0 + (40-0)/16 = 2.5 -> 2.5 + (40-2.5)/16 = 4.84375.
        let t0 = Instant::now();
        let mut st = ReceiverStats::new(8000);
        for (i, ms) in [0u64, 20, 40, 65, 80].into_iter().enumerate() {
            st.on_rtp(i as u16, 1000 + 160 * i as u32, t0 + Duration::from_millis(ms));
        }
        assert!((st.jitter_ts() - 4.84375).abs() < 1e-9, "{}", st.jitter_ts());
        assert!((st.jitter_ms() - 0.60546875).abs() < 1e-9);
        assert_eq!(st.report().jitter, 4);
    }

    #[test]
    fn jitter_survives_timestamp_wrap() {
        let t0 = Instant::now();
        let mut st = ReceiverStats::new(8000);
        for i in 0..100u32 {
            let ts = (u32::MAX - 5_000).wrapping_add(160 * i);
            st.on_rtp(i as u16, ts, t0 + Duration::from_millis(20 * u64::from(i)));
        }
        assert!(st.jitter_ts() < 1e-9, "{}", st.jitter_ts());
    }

    #[test]
    fn rtt_from_rfc3550_example() {
        // RFC 3550 §6.4.1 Figure 2: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000
        // -> delay 0x0006:2000 = 6.125 s.
        let rtt = rtt_from_report(0xb710_8000, 0xb705_2000, 0x0005_4000).unwrap();
        assert_eq!(rtt, Duration::from_millis(6125));
        assert_eq!(rtt_from_report(0xb710_8000, 0, 0x10), None);
        // DLSR larger than the time since the SR: inconsistent, no estimate.
        assert_eq!(rtt_from_report(0x0001_0000, 0x0000_8000, 0x0001_0000), None);
        // Wrap of the middle 32 bits.
        let rtt = rtt_from_report(0x0000_1000, 0xffff_f000, 0).unwrap();
        assert_eq!(rtt, Duration::from_nanos(0x2000 * 1_000_000_000 / 65_536));
    }

    #[test]
    fn mos_sanity() {
        let m = mos(Codec::G711, 20.0, 0.0);
        assert!((m - 4.4).abs() < 0.05, "{m}");
        assert!(mos(Codec::G711, 20.0, 5.0) < m - 0.3);
        assert!(mos(Codec::G711NoPlc, 20.0, 5.0) < mos(Codec::G711, 20.0, 5.0));
        for codec in [Codec::G711, Codec::G711NoPlc, Codec::G722, Codec::Opus] {
            let mut prev = f64::INFINITY;
            for loss in 0..=100 {
                let v = mos(codec, 50.0, f64::from(loss));
                assert!(v <= prev && (1.0..=4.5).contains(&v), "{codec:?} loss {loss}: {v}");
                prev = v;
            }
            let mut prev = f64::INFINITY;
            for delay in (0..=1000).step_by(10) {
                let v = mos(codec, f64::from(delay), 1.0);
                assert!(v <= prev && (1.0..=4.5).contains(&v), "{codec:?} delay {delay}: {v}");
                prev = v;
            }
        }
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
    }

    #[test]
    fn leg_quality_snapshot() {
        let mut st = ReceiverStats::new(8000);
        feed(&mut st, Instant::now(), (0..=100u16).filter(|s| s % 20 != 5));
        let q = st.quality(Some(Duration::from_millis(40)), Codec::G711, 40.0);
        assert_eq!((q.packets, q.lost), (95, 5));
        assert!((q.loss_fraction - 0.05).abs() < 1e-9);
        assert_eq!(q.rtt_ms, Some(40.0));
        assert!(q.mos > 3.5 && q.mos < 4.2, "{}", q.mos);
    }
}

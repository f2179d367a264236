//! Relay counters and per-leg receive quality.
//!
//! Owns: per-leg packet/byte counters shared between one relay task and its handle, and the
//! receive-quality state of each leg ([`LegRx`]: RFC 3550 receiver statistics of the stream the
//! leg's peer sends, the round trip between the relay and that peer, the peer's own reports).
//! Must not touch: sockets, wire formats (the task hands in parsed header fields and report
//! blocks), anything shared between calls (each session has its own state, so there is no
//! cross-call contention).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::quality::{mos, rtt_from_report, Codec, LegQuality, ReceiverStats};
use super::rtcp::{ntp_mid32, ReportBlock};

/// Counters of one leg, updated by the relay task. Relaxed ordering: they are independent
/// monotonic tallies read for metrics, nothing synchronises on them.
#[derive(Debug, Default)]
pub(crate) struct LegCounters {
    pub packets_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub dropped_malformed: AtomicU64,
    pub dropped_foreign: AtomicU64,
    pub dropped_no_remote: AtomicU64,
    pub dropped_send: AtomicU64,
}

impl LegCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn snapshot(&self) -> LegStats {
        LegStats {
            packets_in: self.packets_in.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            packets_out: self.packets_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            dropped_malformed: self.dropped_malformed.load(Relaxed),
            dropped_foreign: self.dropped_foreign.load(Relaxed),
            dropped_no_remote: self.dropped_no_remote.load(Relaxed),
            dropped_send: self.dropped_send.load(Relaxed),
        }
    }
}

/// A snapshot of one leg's counters (RTP and RTCP together).
///
/// "In" is what this leg's peer sent us; "out" is what we sent to this leg's peer. Drops are
/// counted on the leg the packet arrived on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegStats {
    /// Valid packets accepted from this leg's peer.
    pub packets_in: u64,
    pub bytes_in: u64,
    /// Packets sent to this leg's peer.
    pub packets_out: u64,
    pub bytes_out: u64,
    /// Not RTP/RTCP, or too large for the buffer.
    pub dropped_malformed: u64,
    /// From a source other than the latched one.
    pub dropped_foreign: u64,
    /// Nowhere to send: the other leg has no remote address yet.
    pub dropped_no_remote: u64,
    /// The send failed (socket buffer full, unreachable).
    pub dropped_send: u64,
}

impl LegStats {
    /// All drops on this leg.
    pub fn dropped(&self) -> u64 {
        self.dropped_malformed + self.dropped_foreign + self.dropped_no_remote + self.dropped_send
    }
}

/// Counters and receive quality of both legs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelayStats {
    pub a: LegStats,
    pub b: LegStats,
    /// Quality of the RTP A's peer sends us (see [`LegRx::quality`]).
    pub a_quality: LegQuality,
    pub b_quality: LegQuality,
}

impl Default for RelayStats {
    fn default() -> Self {
        let q = LegRx::new(DEFAULT_CLOCK_RATE).quality();
        RelayStats {
            a: LegStats::default(),
            b: LegStats::default(),
            a_quality: q,
            b_quality: q,
        }
    }
}

/// RTP clock assumed until the call layer says otherwise: G.711 (and G.722, RFC 3551 §4.5.2).
pub const DEFAULT_CLOCK_RATE: u32 = 8000;

/// The relay does not decode and does not know the listener's concealment, so the E-model runs
/// with the conservative G.711-without-PLC loss robustness (see [`Codec::G711NoPlc`]).
const RELAY_CODEC: Codec = Codec::G711NoPlc;
/// Packetization assumed in the mouth-to-ear delay (one 20 ms frame).
const PACKETIZATION_MS: f64 = 20.0;
/// SRs of one peer remembered for matching the LSR of the other peer's report blocks: a report
/// normally cites the latest SR, but may cite an older one if reports crossed.
const SR_HISTORY: usize = 4;
/// Consecutive packets of a new SSRC before the leg's source is believed to have changed; a
/// stray or interleaved second source never gets there.
const SSRC_SWITCH: u8 = 3;
/// Payload types whose last timestamp is remembered (audio, telephone-event, CN, spare).
const TS_TRACKED_PTS: usize = 4;

/// One SR a peer sent, as the relay saw it pass.
#[derive(Debug, Clone, Copy)]
struct SeenSr {
    ssrc: u32,
    /// Middle 32 bits of its NTP timestamp: what the other peer will cite as LSR.
    lsr: u32,
    at: Instant,
}

/// Receive quality of one leg: what its peer sends us. Fixed size, `Clone` without allocation
/// (the task copies it into the handle's snapshot).
///
/// - Loss and jitter: every valid RTP packet of the current source goes through
///   [`ReceiverStats`] (RFC 3550 A.1, A.3, A.8). A new SSRC (after [`SSRC_SWITCH`] packets) or
///   clock rate starts fresh statistics; the earlier source's counts are kept in `prior_*` so
///   the call record covers the whole call.
/// - Round trip between the relay and this leg's peer, RFC 3550 §6.4.1 applied at the relay:
///   the other leg's peer sends an SR (we note its NTP middle 32 bits and when it passed us);
///   this leg's peer later reports on that source with LSR = those bits and DLSR = how long it
///   held the SR. `now − seen − DLSR` is the time the SR took from us to the peer plus the time
///   the report took back: this leg's network round trip (our own forwarding is microseconds).
/// - The peer's latest report block about the other leg's source (its fraction lost and
///   jitter: how the far direction sounds at this peer), kept as an extra signal.
#[derive(Debug, Clone)]
pub(crate) struct LegRx {
    clock_rate: u32,
    ssrc: Option<u32>,
    candidate: Option<(u32, u8)>,
    stats: ReceiverStats,
    /// Per payload type: the last timestamp and when it first arrived (for RFC 4733 repeats).
    last_ts: [Option<(u8, u32, Instant)>; TS_TRACKED_PTS],
    last_ts_next: usize,
    prior_received: u64,
    prior_expected: i64,
    prior_lost: i64,
    srs: [Option<SeenSr>; SR_HISTORY],
    sr_next: usize,
    rtt: Option<Duration>,
    peer_report: Option<ReportBlock>,
}

impl LegRx {
    pub fn new(clock_rate: u32) -> Self {
        let clock_rate = clock_rate.max(1);
        LegRx {
            clock_rate,
            ssrc: None,
            candidate: None,
            stats: ReceiverStats::new(clock_rate),
            last_ts: [None; TS_TRACKED_PTS],
            last_ts_next: 0,
            prior_received: 0,
            prior_expected: 0,
            prior_lost: 0,
            srs: [None; SR_HISTORY],
            sr_next: 0,
            rtt: None,
            peer_report: None,
        }
    }

    /// Moves the current source's counts into the totals and starts fresh statistics.
    fn restart(&mut self) {
        self.prior_received += u64::from(self.stats.received());
        self.prior_expected += self.stats.expected();
        self.prior_lost += self.stats.lost();
        self.stats = ReceiverStats::new(self.clock_rate);
        self.last_ts = [None; TS_TRACKED_PTS];
    }

    /// The payload's RTP clock (from SDP). A change restarts the statistics (jitter is kept in
    /// timestamp units).
    pub fn set_clock_rate(&mut self, rate: u32) {
        let rate = rate.max(1);
        if rate != self.clock_rate {
            self.restart();
            self.clock_rate = rate;
            self.stats = ReceiverStats::new(rate);
        }
    }

    /// One valid RTP packet from this leg's peer.
    pub fn on_rtp(&mut self, ssrc: u32, pt: u8, seq: u16, ts: u32, arrival: Instant) {
        match self.ssrc {
            Some(s) if s == ssrc => self.candidate = None,
            None => self.ssrc = Some(ssrc),
            Some(_) => {
                let n = match self.candidate {
                    Some((c, n)) if c == ssrc => n.saturating_add(1),
                    _ => 1,
                };
                if n < SSRC_SWITCH {
                    self.candidate = Some((ssrc, n));
                    return;
                }
                self.candidate = None;
                self.restart();
                self.ssrc = Some(ssrc);
            }
        }
        // RFC 4733 §2.5.1.2: every packet of a telephone event carries the event's start
        // timestamp (phones such as baresip interleave them with the audio). Taken literally,
        // each one looks 20–50 ms later than the last and the A.8 estimate climbs by tens of
        // ms per digit. Audio never repeats a timestamp within its payload type, so a repeat
        // is judged as if on time (timestamp extrapolated from the first packet carrying it):
        // sequence accounting unchanged, no jitter contribution.
        let slot = self.last_ts.iter().position(|e| matches!(e, Some((p, _, _)) if *p == pt));
        let ts = match slot.and_then(|i| self.last_ts[i].map(|e| (i, e))) {
            Some((_, (_, last, at))) if last == ts => {
                let units = arrival.saturating_duration_since(at).as_nanos() * u128::from(self.clock_rate) / 1_000_000_000;
                last.wrapping_add(units as u32)
            }
            found => {
                let i = found.map(|(i, _)| i).unwrap_or_else(|| {
                    let i = self.last_ts_next % TS_TRACKED_PTS;
                    self.last_ts_next = self.last_ts_next.wrapping_add(1);
                    i
                });
                self.last_ts[i] = Some((pt, ts, arrival));
                ts
            }
        };
        self.stats.on_rtp(seq, ts, arrival);
    }

    /// This leg's peer sent an SR (for its own source `ssrc`) at `at`.
    pub fn on_sender_report(&mut self, ssrc: u32, ntp: u64, at: Instant) {
        self.srs[self.sr_next % SR_HISTORY] = Some(SeenSr { ssrc, lsr: ntp_mid32(ntp), at });
        self.sr_next = self.sr_next.wrapping_add(1);
    }

    /// Whether `ssrc` is a source this leg's peer sends (RTP or SR sender).
    fn sends(&self, ssrc: u32) -> bool {
        self.ssrc == Some(ssrc) || self.srs.iter().flatten().any(|s| s.ssrc == ssrc)
    }

    /// A report block this leg's peer sent (in an SR or RR) at `now`; `other` is the other
    /// leg, whose peer's source the block must be about to count.
    pub fn on_report_block(&mut self, block: &ReportBlock, other: &LegRx, now: Instant) {
        if !other.sends(block.ssrc) {
            // About some other source, or ciphertext (SRTCP encrypts past the first 8 bytes).
            return;
        }
        self.peer_report = Some(*block);
        let seen = other.srs.iter().flatten().find(|s| s.ssrc == block.ssrc && s.lsr == block.lsr && block.lsr != 0);
        if let Some(sr) = seen {
            // §6.4.1 arithmetic in 1/65536 s: A − LSR − DLSR, with A = LSR + time since the SR
            // passed us, so neither peer's wallclock is compared with ours.
            let since = now.saturating_duration_since(sr.at);
            let since_units = u32::try_from(since.as_nanos() * 65_536 / 1_000_000_000).unwrap_or(u32::MAX);
            if let Some(rtt) = rtt_from_report(sr.lsr.wrapping_add(since_units), sr.lsr, block.dlsr) {
                self.rtt = Some(rtt);
            }
        }
    }

    /// The peer's latest report block about the other leg's source.
    pub fn peer_report(&self) -> Option<ReportBlock> {
        self.peer_report
    }

    /// Snapshot over the whole call. MOS: E-model for [`RELAY_CODEC`] with the cumulative loss,
    /// one-way delay = RTT/2 (0 until measured) + one packet of packetization + twice the
    /// jitter (the playout buffer a receiver needs to absorb it).
    pub fn quality(&self) -> LegQuality {
        let expected = self.prior_expected + self.stats.expected();
        let lost = self.prior_lost + self.stats.lost();
        let loss_fraction = if expected > 0 { (lost.max(0) as f64 / expected as f64).min(1.0) } else { 0.0 };
        let jitter_ms = self.stats.jitter_ms();
        let rtt_ms = self.rtt.map(|d| d.as_secs_f64() * 1000.0);
        let delay = rtt_ms.unwrap_or(0.0) / 2.0 + PACKETIZATION_MS + 2.0 * jitter_ms;
        LegQuality {
            packets: self.prior_received + u64::from(self.stats.received()),
            lost,
            loss_fraction,
            jitter_ms,
            rtt_ms,
            mos: mos(RELAY_CODEC, delay, loss_fraction * 100.0),
        }
    }
}

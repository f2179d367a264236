//! Adaptive jitter buffer for one received RTP stream, sans-IO and clock driven.
//!
//! Owns: reordering, duplicate and late-packet drop, sequence/timestamp wrap, DTX gaps, and the
//! playout delay (20–200 ms by default) adapted to the measured jitter. Must not touch:
//! sockets, codecs (payloads are opaque bytes; the caller decodes a `Frame` and runs its PLC on
//! `Lost`), RTCP statistics (`quality::ReceiverStats` counts loss for reports).
//!
//! Model. The owner calls `pop(now)` once per packet time (ptime, 20 ms) and `push` for every
//! packet as it arrives. Packets live in a preallocated ring of `capacity` slots indexed by
//! extended sequence number, payload bytes in one preallocated arena: no allocation per packet.
//! The arena is a byte ring written in arrival order, so it can be smaller than `capacity`
//! largest payloads (an Opus leg's frames are mostly far below the 1275-byte maximum); a packet
//! whose bytes are overwritten before it is played is lost (`overwritten`).
//! Playout follows sequence numbers; timestamps place talkspurts in time (a DTX gap shows as a
//! timestamp jump with no sequence gap) and the arrival clock sets the delay:
//! - a new stream, or one coming back after an underrun (DTX pause, outage), is buffered until
//!   its first packet has waited the target delay;
//! - a missing packet whose successor is already here is declared `Lost` when due;
//! - when nothing is buffered, up to `MAX_CONCEAL` pops say `Lost` (a late packet may still
//!   come; playing it then grows the delay by what it was late), then the buffer rebuffers;
//! - the target delay is ptime + max(4 × RFC 3550 A.8 jitter, decaying peak of the per-packet
//!   delay above the fastest), clamped to [min, max];
//! - when the buffered audio exceeds the target by more than two packets the oldest packet is
//!   dropped, at most one per `SHRINK_EVERY` pops, so the delay comes back down smoothly.

use std::time::{Duration, Instant};

/// Pops that may conceal an underrun before the buffer falls back to rebuffering.
const MAX_CONCEAL: u32 = 3;
/// At most one shrink drop per this many pops (200 ms at 20 ms ptime).
const SHRINK_EVERY: u32 = 10;
/// A packet this far behind the playout point is a restart candidate rather than late.
const MAX_MISORDER: i64 = 100;
/// Per-packet decay of the delay peak (half-life ≈ 140 packets, about 3 s at 20 ms).
const PEAK_DECAY: f64 = 0.995;
/// Per-packet rise (ms) of the "fastest transit" floor, so it follows clock drift and route
/// changes instead of remembering one lucky packet forever.
const FLOOR_RISE_MS: f64 = 0.02;

/// Buffer parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate of the payload.
    pub clock_rate: u32,
    /// Media time per packet (SDP `ptime`), which is also the `pop` period.
    pub ptime_ms: u32,
    pub min_delay_ms: u32,
    pub max_delay_ms: u32,
    /// Ring slots; bounds reordering depth and the largest delay in packets.
    pub capacity: usize,
    /// Largest payload kept; bigger packets are refused.
    pub max_payload: usize,
    /// Bytes of payload arena; 0 (or less than `max_payload`) means `capacity * max_payload`.
    /// The ring wraps early when a payload does not fit before its end, so with mixed sizes
    /// even that can give up an old unplayed packet (`overwritten`); an in-order stream of
    /// equal sizes never does.
    pub arena_bytes: usize,
}

impl JitterConfig {
    /// The arena size `arena_bytes` asks for (at least one largest payload).
    pub fn arena_len(&self) -> usize {
        if self.arena_bytes >= self.max_payload {
            self.arena_bytes
        } else {
            self.capacity.max(4) * self.max_payload
        }
    }
}

impl Default for JitterConfig {
    fn default() -> Self {
        // 64 slots hold 1.28 s of 20 ms packets: the 200 ms maximum plus reordering headroom.
        // 1280 bytes fits a 20 ms Opus frame at its highest rate (1275 bytes, RFC 6716 §3.2.1).
        JitterConfig {
            clock_rate: 8000,
            ptime_ms: 20,
            min_delay_ms: 20,
            max_delay_ms: 200,
            capacity: 64,
            max_payload: 1280,
            arena_bytes: 0,
        }
    }
}

/// What `pop` hands the decoder for this packet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The payload to decode.
    Frame(&'a [u8]),
    /// A packet is missing here: run packet loss concealment.
    Lost,
    /// Nothing to play (not started, buffering, or a silence gap): play silence / comfort noise.
    Empty,
}

/// What `push` did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Stored,
    /// Same sequence number already buffered.
    Duplicate,
    /// Its playout time has passed.
    Late,
    /// Payload larger than `max_payload`.
    TooLarge,
    /// Far outside the window and not (yet) confirmed as a restart by the next packet.
    Stray,
    /// Confirmed sequence restart (or a jump past the ring): buffer flushed, stored as the first
    /// packet of a new stream.
    Restarted,
}

/// Counters for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub stored: u64,
    pub played: u64,
    /// `Lost` returned (missing packets and concealed underruns).
    pub concealed: u64,
    pub late: u64,
    pub duplicates: u64,
    /// Dropped to shrink the delay.
    pub discarded: u64,
    pub too_large: u64,
    /// Packets whose bytes newer packets overwrote in the arena before they were played.
    pub overwritten: u64,
    pub stray: u64,
    pub restarts: u64,
    pub underruns: u64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    used: bool,
    ext_seq: i64,
    ext_ts: i64,
    arrival: Option<Instant>,
    /// Payload bytes at `arena[at..at + len]`.
    at: usize,
    len: usize,
}

const EMPTY_SLOT: Slot = Slot { used: false, ext_seq: 0, ext_ts: 0, arrival: None, at: 0, len: 0 };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No packet yet.
    Idle,
    /// Waiting for the first packet (since its arrival) to have waited the target.
    Buffering {
        since: Option<Instant>,
    },
    Playing,
}

/// The jitter buffer of one stream.
pub struct JitterBuffer {
    cfg: JitterConfig,
    /// Clock units per packet.
    spp: i64,
    slots: Box<[Slot]>,
    arena: Box<[u8]>,
    /// Where the next payload goes in `arena`.
    write_at: usize,
    state: State,
    /// Extension reference: the highest sequence number stored and its extended values.
    ref_seq: u16,
    ref_ts: u32,
    ref_ext_seq: i64,
    ref_ext_ts: i64,
    have_ref: bool,
    /// Next extended sequence number to play; before the first playout, the lowest buffered.
    base: i64,
    played_any: bool,
    /// Clock time of the next frame to play.
    play_ts: i64,
    underrun_pops: u32,
    pops_since_shrink: u32,
    /// Next sequence number that would confirm a restart (after a stray packet).
    restart_candidate: Option<u16>,
    // Delay estimator.
    epoch: Option<Instant>,
    last_transit_ms: Option<f64>,
    floor_ms: Option<f64>,
    jitter_ms: f64,
    peak_ms: f64,
    stats: JitterStats,
}

impl JitterBuffer {
    /// Allocates the ring and arena once.
    pub fn new(cfg: JitterConfig) -> Self {
        let cfg = JitterConfig {
            clock_rate: cfg.clock_rate.max(1),
            ptime_ms: cfg.ptime_ms.max(1),
            capacity: cfg.capacity.max(4),
            max_delay_ms: cfg.max_delay_ms.max(cfg.min_delay_ms),
            ..cfg
        };
        let spp = (i64::from(cfg.clock_rate) * i64::from(cfg.ptime_ms) / 1000).max(1);
        JitterBuffer {
            spp,
            slots: vec![EMPTY_SLOT; cfg.capacity].into_boxed_slice(),
            arena: vec![0u8; cfg.arena_len()].into_boxed_slice(),
            write_at: 0,
            state: State::Idle,
            ref_seq: 0,
            ref_ts: 0,
            ref_ext_seq: 0,
            ref_ext_ts: 0,
            have_ref: false,
            base: 0,
            played_any: false,
            play_ts: 0,
            underrun_pops: 0,
            pops_since_shrink: 0,
            restart_candidate: None,
            epoch: None,
            last_transit_ms: None,
            floor_ms: None,
            jitter_ms: 0.0,
            peak_ms: 0.0,
            stats: JitterStats::default(),
            cfg,
        }
    }

    /// Takes one received packet. `payload` is copied into the ring.
    pub fn push(&mut self, seq: u16, ts: u32, payload: &[u8], arrival: Instant) -> PushOutcome {
        if payload.len() > self.cfg.max_payload {
            self.stats.too_large += 1;
            return PushOutcome::TooLarge;
        }
        let cap = self.slots.len() as i64;
        let (ext_seq, ext_ts) = self.extend(seq, ts);
        let behind = self.base - ext_seq;
        let far = ext_seq - self.base >= cap || behind > MAX_MISORDER;
        let mut outcome = PushOutcome::Stored;
        if self.have_ref && far {
            // A.1-style confirmation: one far packet is a stray; the next in sequence means a
            // restart (or an outage longer than the ring), so start over from it.
            if self.restart_candidate != Some(seq) {
                self.restart_candidate = Some(seq.wrapping_add(1));
                self.stats.stray += 1;
                return PushOutcome::Stray;
            }
            self.reset();
            self.stats.restarts += 1;
            outcome = PushOutcome::Restarted;
        } else if self.have_ref && behind > 0 {
            let highest_fits = self.ref_ext_seq - ext_seq < cap;
            if self.played_any || !highest_fits {
                self.stats.late += 1;
                self.observe(ext_ts, arrival);
                return PushOutcome::Late;
            }
        }
        self.restart_candidate = None;
        let (ext_seq, ext_ts) =
            if outcome == PushOutcome::Restarted { self.extend(seq, ts) } else { (ext_seq, ext_ts) };

        let idx = ext_seq.rem_euclid(cap) as usize;
        let slot = self.slots[idx];
        if slot.used && slot.ext_seq == ext_seq {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        let at = self.reserve(payload.len());
        self.arena[at..at + payload.len()].copy_from_slice(payload);
        self.slots[idx] = Slot { used: true, ext_seq, ext_ts, arrival: Some(arrival), at, len: payload.len() };
        self.stats.stored += 1;

        if !self.have_ref || ext_seq > self.ref_ext_seq {
            (self.ref_seq, self.ref_ts, self.ref_ext_seq, self.ref_ext_ts) = (seq, ts, ext_seq, ext_ts);
        }
        if !self.have_ref || (!self.played_any && ext_seq < self.base) {
            self.base = ext_seq;
        }
        self.have_ref = true;
        self.observe(ext_ts, arrival);
        match self.state {
            State::Idle | State::Buffering { since: None } => self.state = State::Buffering { since: Some(arrival) },
            _ => {}
        }
        outcome
    }

    /// Extends a 16-bit sequence number and 32-bit timestamp against the highest stored packet.
    fn extend(&self, seq: u16, ts: u32) -> (i64, i64) {
        if !self.have_ref {
            return (i64::from(seq), i64::from(ts));
        }
        let ext_seq = self.ref_ext_seq + i64::from(seq.wrapping_sub(self.ref_seq) as i16);
        let ext_ts = self.ref_ext_ts + i64::from(ts.wrapping_sub(self.ref_ts) as i32);
        (ext_seq, ext_ts)
    }

    /// Delay estimator: RFC 3550 A.8 jitter (in ms) and the decaying peak of how much later
    /// than the fastest packet each one arrived.
    fn observe(&mut self, ext_ts: i64, arrival: Instant) {
        let epoch = *self.epoch.get_or_insert(arrival);
        let arrival_ms = arrival.saturating_duration_since(epoch).as_secs_f64() * 1000.0;
        let transit = arrival_ms - ext_ts as f64 * 1000.0 / f64::from(self.cfg.clock_rate);
        if let Some(last) = self.last_transit_ms {
            self.jitter_ms += ((transit - last).abs() - self.jitter_ms) / 16.0;
        }
        self.last_transit_ms = Some(transit);
        let floor = match self.floor_ms {
            Some(f) => (f + FLOOR_RISE_MS).min(transit),
            None => transit,
        };
        self.floor_ms = Some(floor);
        self.peak_ms = (transit - floor).max(self.peak_ms * PEAK_DECAY);
    }

    /// Flushes everything for a new stream (the estimator keeps its history: the path is the
    /// same even if the sender restarted).
    fn reset(&mut self) {
        self.slots.fill(EMPTY_SLOT);
        self.have_ref = false;
        self.played_any = false;
        self.state = State::Idle;
        self.underrun_pops = 0;
        // Transit of the new stream is measured against its own timestamps.
        self.last_transit_ms = None;
        self.floor_ms = None;
        self.epoch = None;
    }

    /// The playout delay aimed at, in ms: ptime plus the larger of 4 × jitter and the recent
    /// delay peak, clamped to [min, max].
    pub fn target_ms(&self) -> u32 {
        let want = f64::from(self.cfg.ptime_ms) + (4.0 * self.jitter_ms).max(self.peak_ms);
        // The epsilon keeps float noise (1e-12 ms on a perfectly steady stream) from rounding
        // up a whole millisecond.
        let ms = (want - 1e-6).ceil().min(f64::from(u32::MAX)) as u32;
        ms.clamp(self.cfg.min_delay_ms, self.cfg.max_delay_ms)
    }

    /// Audio buffered ahead of the playout point, in ms.
    pub fn depth_ms(&self) -> u32 {
        if self.state != State::Playing || !self.have_ref {
            return 0;
        }
        let units = (self.ref_ext_ts + self.spp - self.play_ts).max(0);
        (units * 1000 / i64::from(self.cfg.clock_rate)).min(i64::from(u32::MAX)) as u32
    }

    /// RFC 3550 A.8 interarrival jitter as this buffer measures it, in ms.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The lowest buffered packet at or after `from`: its slot index.
    fn head(&self, from: i64) -> Option<usize> {
        let cap = self.slots.len() as i64;
        (0..cap).map(|i| from + i).find_map(|e| {
            let idx = e.rem_euclid(cap) as usize;
            let s = &self.slots[idx];
            (s.used && s.ext_seq == e).then_some(idx)
        })
    }

    fn target(&self) -> Duration {
        Duration::from_millis(u64::from(self.target_ms()))
    }

    /// The next packet time's worth of playout.
    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        match self.state {
            State::Idle | State::Buffering { since: None } => return Playout::Empty,
            State::Buffering { since: Some(since) } => {
                if now < since + self.target() {
                    return Playout::Empty;
                }
                let Some(idx) = self.head(self.base) else {
                    self.state = State::Buffering { since: None };
                    return Playout::Empty;
                };
                // Sequence numbers skipped here went missing during the pause: nothing to conceal.
                self.base = self.slots[idx].ext_seq;
                self.play_ts = self.slots[idx].ext_ts;
                self.state = State::Playing;
                self.underrun_pops = 0;
            }
            State::Playing => {}
        }
        self.pops_since_shrink = self.pops_since_shrink.saturating_add(1);
        self.maybe_shrink();

        let Some(idx) = self.head(self.base) else {
            // Underrun: conceal a little (a late packet may still make it), then rebuffer.
            self.stats.underruns += 1;
            self.underrun_pops += 1;
            self.play_ts += self.spp;
            if self.underrun_pops <= MAX_CONCEAL {
                self.stats.concealed += 1;
                return Playout::Lost;
            }
            self.state = State::Buffering { since: None };
            return Playout::Empty;
        };
        let head = self.slots[idx];
        let missing = head.ext_seq - self.base;
        let expected_ts = head.ext_ts - missing * self.spp;
        if expected_ts > self.play_ts + self.spp / 2 {
            // The next packet belongs later in time (DTX gap). Wait for it, but no longer than
            // the target delay after it arrived: that re-anchors a timestamp jump.
            let waited = head.arrival.is_some_and(|a| now >= a + self.target());
            if !waited {
                self.play_ts += self.spp;
                return Playout::Empty;
            }
            self.play_ts = expected_ts;
        }
        self.underrun_pops = 0;
        self.base += 1;
        if missing > 0 {
            self.play_ts += self.spp;
            self.stats.concealed += 1;
            return Playout::Lost;
        }
        self.play_ts = head.ext_ts + self.spp;
        self.slots[idx].used = false;
        self.played_any = true;
        self.stats.played += 1;
        Playout::Frame(&self.arena[head.at..head.at + head.len])
    }

    /// Room for `len` payload bytes at the arena's write point (wrapping to the start when the
    /// end is too short); packets still stored there are given up. Writes go in arrival order,
    /// so what is overwritten is the oldest data, normally played long ago.
    fn reserve(&mut self, len: usize) -> usize {
        let at = if self.write_at + len > self.arena.len() { 0 } else { self.write_at };
        let base = self.base;
        for s in self.slots.iter_mut().filter(|s| s.used && s.at < at + len && at < s.at + s.len) {
            s.used = false;
            // A slot behind the playout point was skipped, not lost here.
            if s.ext_seq >= base {
                self.stats.overwritten += 1;
            }
        }
        self.write_at = at + len;
        at
    }

    /// Drops the oldest packet when the buffered audio is well above the target.
    fn maybe_shrink(&mut self) {
        let excess = i64::from(self.depth_ms()) - i64::from(self.target_ms()) - 2 * i64::from(self.cfg.ptime_ms);
        if excess <= 0 || self.pops_since_shrink < SHRINK_EVERY {
            return;
        }
        let cap = self.slots.len() as i64;
        let idx = self.base.rem_euclid(cap) as usize;
        let next = (self.base + 1).rem_euclid(cap) as usize;
        // Only drop a packet that is here and has a successor, so the drop is not followed by
        // a concealment.
        let here = |i: usize, e: i64| self.slots[i].used && self.slots[i].ext_seq == e;
        if here(idx, self.base) && here(next, self.base + 1) {
            self.slots[idx].used = false;
            self.base += 1;
            self.play_ts = self.slots[next].ext_ts;
            self.stats.discarded += 1;
            self.pops_since_shrink = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Out {
        F(u16),
        L,
        E,
    }

    fn out(p: Playout<'_>) -> Out {
        match p {
            Playout::Frame(b) => Out::F(u16::from_be_bytes([b[0], b[1]])),
            Playout::Lost => Out::L,
            Playout::Empty => Out::E,
        }
    }

    /// A packet: (seq, ts, arrival ms).
    type Pkt = (u16, u32, u64);

    /// Delivers packets at their arrival ms and pops every 20 ms at phase 10 ms, on a virtual
    /// clock. Returns (pop time ms, output) for every pop before `until_ms`.
    fn run(jb: &mut JitterBuffer, t0: Instant, pkts: &[Pkt], until_ms: u64) -> Vec<(u64, Out)> {
        let mut pkts = pkts.to_vec();
        pkts.sort_by_key(|p| p.2); // stable: same-ms packets keep their order
        let mut next = 0;
        let mut outs = Vec::new();
        for ms in 0..until_ms {
            let now = t0 + Duration::from_millis(ms);
            while next < pkts.len() && pkts[next].2 == ms {
                let (seq, ts, _) = pkts[next];
                jb.push(seq, ts, &seq.to_be_bytes(), now);
                next += 1;
            }
            if ms % 20 == 10 {
                outs.push((ms, out(jb.pop(now))));
            }
        }
        outs
    }

    /// Packet i sent at 20·i ms with seq/ts starting at (seq0, ts0), arriving `delay(i)` later.
    fn stream(n: u16, seq0: u16, ts0: u32, delay: impl Fn(u16) -> u64) -> Vec<Pkt> {
        (0..n)
            .map(|i| (seq0.wrapping_add(i), ts0.wrapping_add(160 * u32::from(i)), 20 * u64::from(i) + delay(i)))
            .collect()
    }

    /// The non-empty outputs up to the last frame (the concealment after the stream ends is
    /// not interesting).
    fn outputs(o: &[(u64, Out)]) -> Vec<Out> {
        let mut v: Vec<Out> = o.iter().map(|x| x.1).filter(|x| *x != Out::E).collect();
        while v.last() == Some(&Out::L) {
            v.pop();
        }
        v
    }

    fn frames(range: std::ops::Range<u16>) -> Vec<Out> {
        range.map(Out::F).collect()
    }

    #[test]
    fn in_order_stream_plays_after_target_delay() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let o = run(&mut jb, Instant::now(), &stream(100, 0, 0, |_| 5), 2030);
        assert_eq!(outputs(&o), frames(0..100));
        // First packet arrives at 5 ms; 20 ms target -> first pop at or after 25 ms is 30.
        assert_eq!(o.iter().find(|x| x.1 != Out::E).map(|x| x.0), Some(30));
        assert_eq!((jb.stats().concealed, jb.stats().late, jb.target_ms()), (0, 0, 20));
    }

    #[test]
    fn reordered_packets_play_in_order_and_duplicates_drop() {
        // Every even packet arrives 5 ms after its odd successor.
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let o = run(&mut jb, Instant::now(), &stream(100, 0, 0, |i| if i % 2 == 0 { 25 } else { 5 }), 2100);
        assert_eq!(outputs(&o), frames(0..100));
        assert_eq!(jb.stats().late, 0);

        let mut jb = JitterBuffer::new(JitterConfig::default());
        let t0 = Instant::now();
        for s in [1u16, 0, 3, 2, 4] {
            assert_eq!(jb.push(s, 160 * u32::from(s), &s.to_be_bytes(), t0), PushOutcome::Stored);
        }
        assert_eq!(jb.push(3, 480, &3u16.to_be_bytes(), t0), PushOutcome::Duplicate);
        assert_eq!(out(jb.pop(t0)), Out::E, "still buffering");
        let got: Vec<Out> = (1..=10).map(|k| out(jb.pop(t0 + Duration::from_millis(20 * k)))).collect();
        assert_eq!(got.into_iter().filter(|x| matches!(x, Out::F(_))).collect::<Vec<_>>(), frames(0..5));
        assert_eq!(jb.stats().duplicates, 1);
    }

    #[test]
    /// A single loss is concealed once its successor is here. A burst longer than the delay
    /// empties the buffer: MAX_CONCEAL pops conceal it, then the buffer rebuffers on the next
    /// packet rather than concealing an outage of unknown length.
    fn single_loss_and_burst_are_concealed() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let mut pkts = stream(60, 0, 0, |_| 5);
        pkts.retain(|p| p.0 != 5 && !(20..25).contains(&p.0));
        let o = outputs(&run(&mut jb, Instant::now(), &pkts, 1230));
        let mut want = frames(0..5);
        want.push(Out::L);
        want.extend(frames(6..20));
        want.extend([Out::L; MAX_CONCEAL as usize]);
        want.extend(frames(25..60));
        assert_eq!(o, want);
        assert_eq!(jb.stats().concealed, 1 + u64::from(MAX_CONCEAL));

        // A burst inside the delay (the packet after it already buffered) is concealed whole.
        let mut jb = JitterBuffer::new(JitterConfig { min_delay_ms: 120, ..JitterConfig::default() });
        let mut pkts = stream(60, 0, 0, |_| 5);
        pkts.retain(|p| !(20..25).contains(&p.0));
        let o = outputs(&run(&mut jb, Instant::now(), &pkts, 1400));
        let mut want = frames(0..20);
        want.extend([Out::L; 5]);
        want.extend(frames(25..60));
        assert_eq!(o, want);
    }

    #[test]
    fn late_packet_is_concealed_then_dropped() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let pkts = stream(40, 0, 0, |i| if i == 7 { 205 } else { 5 });
        let o = outputs(&run(&mut jb, Instant::now(), &pkts, 830));
        assert_eq!(o[7], Out::L);
        assert_eq!(&o[..7], frames(0..7).as_slice());
        assert_eq!(&o[8..39], frames(8..39).as_slice());
        assert_eq!(jb.stats().late, 1);
        // The spike registers in the target delay.
        assert!(jb.target_ms() >= 100, "{}", jb.target_ms());
    }

    #[test]
    fn sequence_and_timestamp_wrap() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let pkts = stream(100, 65_500, u32::MAX - 1000, |i| if i % 7 == 3 { 12 } else { 5 });
        let o = outputs(&run(&mut jb, Instant::now(), &pkts, 2100));
        let want: Vec<Out> = (0..100u16).map(|i| Out::F(65_500u16.wrapping_add(i))).collect();
        assert_eq!(o, want);
    }

    #[test]
    fn dtx_gap_rebuffers_and_resumes() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        // 1 s talkspurt, 1 s of silence (timestamps jump, sequence numbers do not), talkspurt.
        let mut pkts = stream(50, 0, 0, |_| 5);
        pkts.extend((50..100u16).map(|s| (s, 160 * (u32::from(s) + 50), 20 * (u64::from(s) + 50) + 5)));
        let o = run(&mut jb, Instant::now(), &pkts, 3030);
        let outs = outputs(&o);
        assert_eq!(&outs[..50], frames(0..50).as_slice());
        let lost_at_end = outs[50..].iter().take_while(|x| **x == Out::L).count();
        assert!(lost_at_end <= MAX_CONCEAL as usize, "{lost_at_end}");
        assert_eq!(&outs[50 + lost_at_end..], frames(50..100).as_slice());
        // The second talkspurt waits the target delay again: seq 50 arrives at 2005 ms.
        let resume = o.iter().find(|x| x.1 == Out::F(50)).unwrap().0;
        assert!((2025..=2030).contains(&resume), "{resume}");
    }

    #[test]
    fn restart_is_confirmed_by_the_next_packet() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let t0 = Instant::now();
        let mut o = run(&mut jb, t0, &stream(20, 100, 0, |_| 5), 400);
        let now = t0 + Duration::from_millis(400);
        assert_eq!(jb.push(40_000, 9_999, &40_000u16.to_be_bytes(), now), PushOutcome::Stray);
        assert_eq!(jb.push(40_001, 10_159, &40_001u16.to_be_bytes(), now), PushOutcome::Restarted);
        assert_eq!(jb.push(40_002, 10_319, &40_002u16.to_be_bytes(), now), PushOutcome::Stored);
        for k in 1..=4 {
            o.push((0, out(jb.pop(now + Duration::from_millis(20 * k)))));
        }
        let outs = outputs(&o);
        assert!(outs.windows(2).any(|w| w == [Out::F(40_001), Out::F(40_002)]), "{outs:?}");
        assert_eq!(jb.stats().restarts, 1);
    }

    #[test]
    fn too_large_payload_is_refused() {
        let mut jb = JitterBuffer::new(JitterConfig { max_payload: 4, ..JitterConfig::default() });
        assert_eq!(jb.push(1, 0, &[0; 5], Instant::now()), PushOutcome::TooLarge);
    }

    #[test]
    fn small_arena_holds_small_payloads_and_gives_up_overwritten_ones() {
        let cfg = JitterConfig { capacity: 16, max_payload: 100, arena_bytes: 300, ..JitterConfig::default() };
        let t0 = Instant::now();
        let play = |jb: &mut JitterBuffer| -> Vec<Option<Vec<u8>>> {
            (1..=12)
                .filter_map(|k| match jb.pop(t0 + Duration::from_millis(20 * k)) {
                    Playout::Frame(b) => Some(Some(b.to_vec())),
                    Playout::Lost => Some(None),
                    Playout::Empty => None,
                })
                .collect()
        };
        // Five 60-byte packets fit the 300-byte arena: all play, intact.
        let mut jb = JitterBuffer::new(cfg);
        for s in 0..5u16 {
            assert_eq!(jb.push(s, 160 * u32::from(s), &[s as u8 + 1; 60], t0), PushOutcome::Stored);
        }
        let got = play(&mut jb);
        assert_eq!(got[..5], (0..5u8).map(|s| Some(vec![s + 1; 60])).collect::<Vec<_>>()[..]);
        assert_eq!(jb.stats().overwritten, 0);
        // Five 100-byte packets do not: the two oldest are overwritten and never play (not
        // even as another packet's bytes); playout starts at the oldest one still held.
        let mut jb = JitterBuffer::new(cfg);
        for s in 0..5u16 {
            jb.push(s, 160 * u32::from(s), &[s as u8 + 1; 100], t0);
        }
        let got = play(&mut jb);
        assert_eq!(got[..3], [Some(vec![3; 100]), Some(vec![4; 100]), Some(vec![5; 100])]);
        assert_eq!(jb.stats().overwritten, 2);
        // Mid-stream, an overwritten packet is a gap the decoder conceals.
        let mut jb = JitterBuffer::new(cfg);
        jb.push(0, 0, &[1; 100], t0);
        assert!(matches!(jb.pop(t0 + Duration::from_millis(40)), Playout::Frame(_)));
        for s in 1..5u16 {
            jb.push(s, 160 * u32::from(s), &[s as u8 + 1; 100], t0 + Duration::from_millis(40));
        }
        let got: Vec<Option<Vec<u8>>> = (3..7)
            .map(|k| match jb.pop(t0 + Duration::from_millis(20 * k)) {
                Playout::Frame(b) => Some(b.to_vec()),
                _ => None,
            })
            .collect();
        assert_eq!(got, [None, Some(vec![3; 100]), Some(vec![4; 100]), Some(vec![5; 100])]);
        assert_eq!(jb.stats().overwritten, 1);
        assert_eq!(cfg.arena_len(), 300);
        assert_eq!(JitterConfig { arena_bytes: 0, ..cfg }.arena_len(), 1600, "0: one largest payload per slot");
    }

    #[test]
    fn delay_grows_with_jitter_and_shrinks_after() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // 0-2 s calm (5 ms), 2-6 s jittery (5..85 ms), 6-30 s calm again.
        let delays: Vec<u64> = (0..1500u16).map(|i| if (100..300).contains(&i) { 5 + rnd() % 80 } else { 5 }).collect();
        let pkts = stream(1500, 0, 0, |i| delays[usize::from(i)]);
        let t0 = Instant::now();
        let latency = |o: &[(u64, Out)]| -> Vec<u64> {
            o.iter()
                .filter_map(|(ms, x)| if let Out::F(s) = x { Some(ms - 20 * u64::from(*s)) } else { None })
                .collect()
        };

        let calm = run(&mut jb, t0, &pkts[..100], 2000);
        assert_eq!(jb.target_ms(), 20);
        assert!(latency(&calm).iter().all(|l| *l <= 30));

        // At the end of the jittery phase the target has grown with it.
        let mut grown = JitterBuffer::new(JitterConfig::default());
        run(&mut grown, t0, &pkts[..300], 6000);
        assert!(grown.target_ms() >= 80, "{}", grown.target_ms());

        // Replay everything on a fresh buffer and inspect per phase.
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let o = run(&mut jb, t0, &pkts, 30_000);
        let phase =
            |from: u64, to: u64| -> Vec<(u64, Out)> { o.iter().copied().filter(|x| x.0 >= from && x.0 < to).collect() };
        // Late in the jittery phase the delay has grown to cover most of the spread.
        let jittery_end = phase(5000, 6000);
        let lat = latency(&jittery_end);
        assert!(lat.iter().sum::<u64>() / lat.len() as u64 >= 60, "{lat:?}");
        let lost = jittery_end.iter().filter(|x| x.1 == Out::L).count();
        assert!(lost <= 5, "{lost} of {} lost once adapted", jittery_end.len());
        // Long after it, target and delay are back down (by discarding, not by concealing).
        assert!(jb.target_ms() <= 21, "{} {} {:?}", jb.target_ms(), jb.peak_ms, jb.stats());
        let lat = latency(&phase(28_000, 30_000));
        assert!(lat.iter().all(|l| *l <= 70), "{lat:?}");
        assert!(jb.stats().discarded > 0);
        assert_eq!(phase(20_000, 30_000).iter().filter(|x| x.1 == Out::L).count(), 0);
    }

    #[test]
    fn arbitrary_push_pop_sequences_never_panic() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let t0 = Instant::now();
        for round in 0..20 {
            let mut jb =
                JitterBuffer::new(JitterConfig {
                    capacity: 4 + round,
                    max_payload: 32,
                    // Odd rounds: a byte ring smaller than the slots, so payloads get overwritten.
                    arena_bytes: if round % 2 == 1 { 32 + 9 * round } else { 0 },
                    ..JitterConfig::default()
                });
            let mut now = t0;
            let mut seq = rnd() as u16;
            let mut ts = rnd() as u32;
            for _ in 0..3000 {
                let r = rnd();
                match r % 6 {
                    0 => now += Duration::from_millis(r >> 50),
                    1 | 2 => {
                        // Mostly near the stream, sometimes anywhere.
                        let s = if r % 11 == 0 {
                            (r >> 16) as u16
                        } else {
                            seq.wrapping_add(((r >> 20) % 9) as u16).wrapping_sub(4)
                        };
                        let t = if r % 13 == 0 { (r >> 24) as u32 } else { ts.wrapping_add(((r >> 30) % 2000) as u32) };
                        let len = ((r >> 40) % 40) as usize;
                        // Every byte of a payload is its sequence number's low byte, so a
                        // frame made of two packets' bytes shows.
                        jb.push(s, t, &[s as u8; 40][..len], now);
                        seq = seq.wrapping_add(1);
                        ts = ts.wrapping_add(160);
                    }
                    _ => {
                        if let Playout::Frame(b) = jb.pop(now) {
                            assert!(b.len() <= 32);
                            assert!(b.iter().all(|&x| x == b[0]), "one packet's bytes: {b:?}");
                        }
                        let t = jb.target_ms();
                        assert!((20..=200).contains(&t), "{t}");
                    }
                }
            }
        }
    }
}

//! The RTP generator and meter: one thread, one socket per side.
//!
//! Every caller leg sends from the one "caller" socket and every carrier leg
//! from the one "carrier" socket; switchboard latches each of its media
//! ports to the source of the first packet (symmetric RTP), so its answers
//! come back to the same socket, and the receiving leg is told apart by the
//! packet's *source port* (one switchboard port per leg). Packets are sent
//! with `sendmmsg` and drained with `recvmmsg` in batches of 64; the
//! arrival time of each packet is the kernel's (`SO_TIMESTAMPNS`), so the
//! tool's own scheduling delay does not count as jitter.
//!
//! Pacing: legs are spread over ten 2 ms buckets (leg id mod 10), so the
//! packets of one 20 ms period arrive in ten small bursts, as independent
//! phones would send them, rather than in one burst of every leg at once
//! (which would measure queueing behind our own burst, not switchboard).
//!
//! Relayed G.711 packets carry a stamp in their payload (magic, sender leg
//! id, send time in ns): the relay passes payloads through, so per flow we
//! know exactly what was sent and received in the window and the one-way
//! transit of each packet. "Added jitter" is the p99 over all packets of
//! (transit - that flow's minimum transit), from a 10 µs histogram; the
//! minimum is learnt during warm-up and kept up to date in the window.
//! Transcoded or IVR streams lose the stamp, so there the receiving leg
//! counts packets per window and keeps the RFC 3550 interarrival jitter.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::mmsg::{now_ns, sockaddr, RecvBatch, SendBatch, BATCH, PKT};

pub const CALLER: usize = 0;
pub const CARRIER: usize = 1;
const BUCKETS: usize = 10;
const TICK_NS: u64 = 2_000_000;
const PERIOD_NS: u64 = 20_000_000;
const MAGIC: [u8; 4] = *b"SBLD";
const STAMP_LEN: usize = 16;
/// Added-jitter histogram: 10 µs bins up to 500 ms.
const BIN_NS: i64 = 10_000;
const BINS: usize = 50_000;

/// What a leg sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PCMU (PT 0) whose payload carries the stamp; relayed unchanged.
    Stamped,
    /// The caller's Opus frame (PT 111, 48 kHz clock).
    Opus,
    /// PCMU low-level noise with an in-band DTMF "1" every 10 s (IVR caller).
    Ivr,
}

pub struct LegSpec {
    pub side: usize,
    /// Where this leg sends: switchboard's media port for it (or the floor relay's).
    pub dest_port: u16,
    pub kind: Kind,
    /// Whether packets from `dest_port` belong to this leg alone (a
    /// switchboard port). The floor relay sends every leg's packets from
    /// one port, so there only the stamp tells flows apart.
    pub own_port: bool,
}

/// The window, shared with the orchestrator: realtime ns, 0 = not yet.
#[derive(Default)]
pub struct Window {
    pub t0: AtomicU64,
    pub t1: AtomicU64,
    pub stop: AtomicBool,
}

/// Prepared payloads, encoded once at startup.
pub struct Payloads {
    pub opus: Vec<u8>,
    pub noise: Vec<u8>,
    /// Five consecutive 20 ms frames of the digit (100 ms).
    pub dtmf: Vec<Vec<u8>>,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct MediaResult {
    pub window_secs: f64,
    /// Legs per side [caller, carrier].
    pub legs: [usize; 2],
    /// Packets sent in the window, by sending side.
    pub sent: [u64; 2],
    /// Stamped packets sent in the window that arrived (any time up to the
    /// end of the run), by sending side.
    pub stamped_received: [u64; 2],
    /// Packets that arrived in the window, by receiving side.
    pub received: [u64; 2],
    /// Receiving legs that got nothing at all in the window.
    pub silent_legs: [usize; 2],
    /// For streams without the stamp: packets a steady 20 ms stream delivers
    /// in the window (legs x window / 20 ms), and the sum over legs of how
    /// many fewer than that (minus one for the window's edges) arrived.
    pub rx_expected: [u64; 2],
    pub rx_deficit: [u64; 2],
    /// Packets missing from the RTP sequence numbers received in the window,
    /// by receiving side: drops on the way. A deficit without sequence gaps
    /// means the sender emitted fewer than 50 packets/s (its clock fell
    /// behind), not that packets were lost.
    pub seq_gaps: [u64; 2],
    pub added_jitter_p50_ms: Option<f64>,
    pub added_jitter_p99_ms: Option<f64>,
    pub added_jitter_max_ms: Option<f64>,
    /// RFC 3550 interarrival jitter at the end of the window, p99 over the
    /// receiving legs of each side (for streams without the stamp).
    pub rfc3550_jitter_p99_ms: [Option<f64>; 2],
    pub rtcp_received: u64,
    pub unknown_received: u64,
    pub send_errors: u64,
    /// How late the tool's send ticks were (its own saturation shows here).
    pub tick_late_max_ms: f64,
    pub ticks_late_over_2ms: u64,
}

struct Leg {
    side: usize,
    dest: libc::sockaddr_in,
    kind: Kind,
    ssrc: u32,
    seq: u16,
    ts: u32,
    packets: u32,
    sent_win: u64,
    // As a sender (stamped flows): arrivals of its packets elsewhere.
    flow_rx_win: u64,
    min_transit: i64,
    // As a receiver.
    rx_win: u64,
    last_arr: u64,
    last_ts: u32,
    last_seq: u16,
    jitter: f64,
    /// RTP clock of what this leg receives (from the payload type).
    rate: f64,
    have_last: bool,
}

pub struct Engine {
    socks: [UdpSocket; 2],
    rtcp: [UdpSocket; 2],
    payloads: Payloads,
    window: Arc<Window>,
    rx: Receiver<LegSpec>,
    legs: Vec<Leg>,
    buckets: [Vec<Vec<u32>>; 2],
    /// Source port -> receiving leg id + 1, per side.
    by_port: [Vec<u32>; 2],
    hist: Vec<u64>,
    res: MediaResult,
    noise_seed: u32,
}

impl Engine {
    pub fn new(socks: [UdpSocket; 2], rtcp: [UdpSocket; 2], payloads: Payloads, window: Arc<Window>, rx: Receiver<LegSpec>) -> Engine {
        Engine {
            socks,
            rtcp,
            payloads,
            window,
            rx,
            legs: Vec::new(),
            buckets: [vec![Vec::new(); BUCKETS], vec![Vec::new(); BUCKETS]],
            by_port: [vec![0; 65536], vec![0; 65536]],
            hist: vec![0; BINS + 1],
            res: MediaResult::default(),
            noise_seed: 0x1234_5678,
        }
    }

    fn add(&mut self, s: LegSpec) {
        let id = self.legs.len() as u32;
        self.noise_seed = self.noise_seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.buckets[s.side][id as usize % BUCKETS].push(id);
        if s.own_port {
            self.by_port[s.side][s.dest_port as usize] = id + 1;
        }
        self.res.legs[s.side] += 1;
        self.legs.push(Leg {
            side: s.side,
            dest: sockaddr(s.dest_port),
            kind: s.kind,
            ssrc: self.noise_seed,
            seq: (self.noise_seed >> 16) as u16,
            ts: self.noise_seed.rotate_left(7),
            packets: 0,
            sent_win: 0,
            flow_rx_win: 0,
            min_transit: i64::MAX,
            rx_win: 0,
            last_arr: 0,
            last_ts: 0,
            last_seq: 0,
            jitter: 0.0,
            rate: 8000.0,
            have_last: false,
        });
    }

    /// Runs until `window.stop`; returns the figures of the window.
    pub fn run(mut self, nice: i32) -> MediaResult {
        if nice != 0 {
            // SAFETY: setpriority on this thread's own id.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, super::procstat::gettid() as libc::id_t, nice) };
        }
        let mut send = [SendBatch::new(), SendBatch::new()];
        let mut recv = RecvBatch::new();
        let start = now_ns();
        let mut next_tick = start - start % TICK_NS + TICK_NS;
        let mut bucket = ((next_tick / TICK_NS) % BUCKETS as u64) as usize;
        while !self.window.stop.load(Ordering::Relaxed) {
            while let Ok(s) = self.rx.try_recv() {
                self.add(s);
            }
            let now = now_ns();
            if now >= next_tick {
                self.note_lateness(now - next_tick);
                self.send_bucket(bucket, now, &mut send);
                bucket = (bucket + 1) % BUCKETS;
                next_tick += TICK_NS;
                if now > next_tick + PERIOD_NS {
                    // Far behind (machine overloaded): skip rather than burst.
                    next_tick = now - now % TICK_NS + TICK_NS;
                    bucket = ((next_tick / TICK_NS) % BUCKETS as u64) as usize;
                }
            }
            // Drain after every bucket, even when catching up: a generator
            // that only sends while behind would overflow its own sockets.
            self.drain(&mut recv);
            let now = now_ns();
            if now < next_tick {
                std::thread::sleep(std::time::Duration::from_nanos(next_tick - now));
            }
        }
        self.drain(&mut recv);
        self.finish()
    }

    fn in_window(&self, t: u64) -> bool {
        let t0 = self.window.t0.load(Ordering::Relaxed);
        let t1 = self.window.t1.load(Ordering::Relaxed);
        t0 != 0 && t >= t0 && (t1 == 0 || t <= t1)
    }

    fn note_lateness(&mut self, late: u64) {
        let now = now_ns();
        if self.in_window(now) {
            let ms = late as f64 / 1e6;
            if ms > self.res.tick_late_max_ms {
                self.res.tick_late_max_ms = ms;
            }
            if late > 2_000_000 {
                self.res.ticks_late_over_2ms += 1;
            }
        }
    }

    fn send_bucket(&mut self, bucket: usize, now: u64, send: &mut [Box<SendBatch>; 2]) {
        let win = self.in_window(now);
        for (side, b) in send.iter_mut().enumerate() {
            let fd = self.socks[side].as_raw_fd();
            for k in 0..self.buckets[side][bucket].len() {
                let id = self.buckets[side][bucket][k] as usize;
                let i = b.n;
                let len = self.build(id, now, &mut b.bufs[i]);
                b.iov[i].iov_len = len;
                let leg = &mut self.legs[id];
                let h = &mut b.hdrs[i].msg_hdr;
                h.msg_name = (&mut leg.dest as *mut libc::sockaddr_in).cast();
                h.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
                h.msg_iov = &mut b.iov[i];
                h.msg_iovlen = 1;
                if win {
                    leg.sent_win += 1;
                    self.res.sent[side] += 1;
                }
                b.n += 1;
                if b.n == BATCH {
                    let (_, failed) = b.flush(fd);
                    self.res.send_errors += failed as u64;
                }
            }
            let (_, failed) = b.flush(fd);
            self.res.send_errors += failed as u64;
        }
    }

    /// Writes leg `id`'s next packet into `buf`; returns its length.
    fn build(&mut self, id: usize, now: u64, buf: &mut [u8; PKT]) -> usize {
        let leg = &mut self.legs[id];
        let (pt, step) = match leg.kind {
            Kind::Opus => (111u8, 960u32),
            _ => (0u8, 160u32),
        };
        let marker = if leg.packets == 0 { 0x80 } else { 0 };
        buf[0] = 0x80;
        buf[1] = marker | pt;
        buf[2..4].copy_from_slice(&leg.seq.to_be_bytes());
        buf[4..8].copy_from_slice(&leg.ts.to_be_bytes());
        buf[8..12].copy_from_slice(&leg.ssrc.to_be_bytes());
        let payload: &[u8] = match leg.kind {
            Kind::Opus => &self.payloads.opus,
            Kind::Stamped => &self.payloads.noise,
            Kind::Ivr => {
                // 100 ms of "1" every 10 s, phase spread by leg id.
                let frame = (leg.packets as usize + id * 37) % 500;
                if frame < self.payloads.dtmf.len() {
                    &self.payloads.dtmf[frame]
                } else {
                    &self.payloads.noise
                }
            }
        };
        buf[12..12 + payload.len()].copy_from_slice(payload);
        if leg.kind == Kind::Stamped {
            buf[12..16].copy_from_slice(&MAGIC);
            buf[16..20].copy_from_slice(&(id as u32).to_be_bytes());
            buf[20..28].copy_from_slice(&now.to_be_bytes());
        }
        leg.seq = leg.seq.wrapping_add(1);
        leg.ts = leg.ts.wrapping_add(step);
        leg.packets += 1;
        12 + payload.len()
    }

    fn drain(&mut self, recv: &mut RecvBatch) {
        for side in 0..2 {
            let fd = self.socks[side].as_raw_fd();
            // Bounded: at most 64 batches per side per drain.
            for _ in 0..64 {
                let n = recv.recv(fd);
                let fallback = now_ns();
                for i in 0..n {
                    let (data, port, at) = recv.packet(i, fallback);
                    self.on_packet(side, data, port, at);
                }
                if n < BATCH {
                    break;
                }
            }
            // RTCP from the media engine lands on the sink beside each RTP
            // socket; count it, do not let it fill the buffer.
            let rfd = self.rtcp[side].as_raw_fd();
            for _ in 0..8 {
                let n = recv.recv(rfd);
                self.res.rtcp_received += n as u64;
                if n < BATCH {
                    break;
                }
            }
        }
    }

    fn on_packet(&mut self, side: usize, data: &[u8], port: u16, at: u64) {
        if data.len() < 12 || data[0] >> 6 != 2 {
            self.res.unknown_received += 1;
            return;
        }
        if (200..=204).contains(&data[1]) {
            self.res.rtcp_received += 1;
            return;
        }
        let t0 = self.window.t0.load(Ordering::Relaxed);
        let t1 = self.window.t1.load(Ordering::Relaxed);
        let mut stamped = false;
        if data.len() >= 12 + STAMP_LEN && data[12..16] == MAGIC {
            let sender = u32::from_be_bytes(data[16..20].try_into().unwrap()) as usize;
            let sent = u64::from_be_bytes(data[20..28].try_into().unwrap());
            if let Some(leg) = self.legs.get_mut(sender) {
                stamped = true;
                let transit = at as i64 - sent as i64;
                if transit < leg.min_transit {
                    leg.min_transit = transit;
                }
                if t0 != 0 && sent >= t0 && (t1 == 0 || sent <= t1) {
                    leg.flow_rx_win += 1;
                    self.res.stamped_received[leg.side] += 1;
                    let bin = ((transit - leg.min_transit) / BIN_NS).clamp(0, BINS as i64) as usize;
                    self.hist[bin] += 1;
                }
            }
        }
        let recv_leg = self.by_port[side][port as usize];
        if recv_leg == 0 {
            if !stamped {
                self.res.unknown_received += 1;
            }
            return;
        }
        let in_win = t0 != 0 && at >= t0 && (t1 == 0 || at <= t1);
        if !in_win {
            return;
        }
        let leg = &mut self.legs[recv_leg as usize - 1];
        leg.rx_win += 1;
        self.res.received[side] += 1;
        // RFC 3550 §6.4.1 interarrival jitter, in RTP clock units.
        let ts = u32::from_be_bytes(data[4..8].try_into().unwrap());
        let seq = u16::from_be_bytes([data[2], data[3]]);
        if leg.have_last {
            let gap = seq.wrapping_sub(leg.last_seq).wrapping_sub(1);
            if gap < 1000 {
                self.res.seq_gaps[side] += u64::from(gap);
            }
        }
        leg.last_seq = seq;
        let rate = if data[1] & 0x7f == 0 { 8000.0 } else { 48000.0 };
        if leg.have_last {
            let d_arr = (at as f64 - leg.last_arr as f64) * rate / 1e9;
            let d_ts = f64::from(ts.wrapping_sub(leg.last_ts) as i32);
            let d = (d_arr - d_ts).abs();
            leg.jitter += (d - leg.jitter) / 16.0;
        }
        leg.rate = rate;
        leg.last_arr = at;
        leg.last_ts = ts;
        leg.have_last = true;
    }

    fn finish(mut self) -> MediaResult {
        let t0 = self.window.t0.load(Ordering::Relaxed);
        let t1 = self.window.t1.load(Ordering::Relaxed);
        self.res.window_secs = if t1 > t0 { (t1 - t0) as f64 / 1e9 } else { 0.0 };
        let total: u64 = self.hist.iter().sum();
        if total > 0 {
            let pct = |p: f64| {
                let want = ((total as f64) * p).ceil().max(1.0) as u64;
                let mut acc = 0;
                for (i, c) in self.hist.iter().enumerate() {
                    acc += c;
                    if acc >= want {
                        return (i as f64 + 1.0) * BIN_NS as f64 / 1e6;
                    }
                }
                BINS as f64 * BIN_NS as f64 / 1e6
            };
            self.res.added_jitter_p50_ms = Some(pct(0.50));
            self.res.added_jitter_p99_ms = Some(pct(0.99));
            self.res.added_jitter_max_ms = Some(pct(1.0));
        }
        for side in 0..2 {
            let legs: Vec<&Leg> = self.legs.iter().filter(|l| l.side == side).collect();
            self.res.silent_legs[side] = legs.iter().filter(|l| l.rx_win == 0).count();
            let per_leg = (self.res.window_secs / 0.020).floor() as u64;
            self.res.rx_expected[side] = per_leg * legs.len() as u64;
            self.res.rx_deficit[side] = legs.iter().map(|l| per_leg.saturating_sub(1).saturating_sub(l.rx_win)).sum();
            let mut j: Vec<f64> = legs.iter().filter(|l| l.have_last).map(|l| l.jitter_ms()).collect();
            if !j.is_empty() {
                j.sort_by(|a, b| a.total_cmp(b));
                let i = ((j.len() as f64 * 0.99).ceil() as usize).clamp(1, j.len()) - 1;
                self.res.rfc3550_jitter_p99_ms[side] = Some(j[i]);
            }
        }
        self.res
    }
}

impl Leg {
    fn jitter_ms(&self) -> f64 {
        self.jitter / self.rate * 1000.0
    }
}

/// The prepared payloads: an Opus 20 ms frame of a 440 Hz tone (through
/// the lib's libopus encoder, as switchboard would produce it), PCMU
/// low-level noise, and PCMU DTMF "1" (697 + 1209 Hz, about -10 dBm0 each).
pub fn payloads() -> Payloads {
    use switchboard::media::codec::{CodecKind, Encoder};
    use switchboard::media::AudioFrame;
    let mut out = [0u8; 1500];
    let mut opus = Vec::new();
    let mut enc = CodecKind::Opus.new_encoder().expect("opus encoder");
    let mut phase = 0.0f64;
    let rate = CodecKind::Opus.sample_rate();
    for _ in 0..5 {
        let mut f = AudioFrame::silence(rate);
        for s in f.pcm_mut() {
            *s = (6000.0 * phase.sin()) as i16;
            phase += std::f64::consts::TAU * 440.0 / f64::from(rate);
        }
        let n = enc.encode(&f, &mut out).expect("opus encode");
        opus = out[..n].to_vec();
    }
    assert!(opus.len() + 12 <= PKT, "opus frame too big");
    let mut pcmu = CodecKind::Pcmu.new_encoder().expect("pcmu");
    let mut f = AudioFrame::silence(8000);
    let mut seed = 7u32;
    for s in f.pcm_mut() {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *s = ((seed >> 16) % 64) as i16 - 32;
    }
    let n = pcmu.encode(&f, &mut out).expect("pcmu");
    let noise = out[..n].to_vec();
    let mut dtmf = Vec::new();
    for k in 0..5 {
        let mut f = AudioFrame::silence(8000);
        for (i, s) in f.pcm_mut().iter_mut().enumerate() {
            let t = (k * 160 + i) as f64 / 8000.0;
            let tau = std::f64::consts::TAU;
            *s = (7000.0 * (tau * 697.0 * t).sin() + 7000.0 * (tau * 1209.0 * t).sin()) as i16;
        }
        let n = pcmu.encode(&f, &mut out).expect("pcmu");
        dtmf.push(out[..n].to_vec());
    }
    Payloads { opus, noise, dtmf }
}

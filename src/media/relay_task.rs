//! The relay task: one `select!` loop per call over four sockets, the control channel and the
//! inactivity timer.
//!
//! Owns: moving datagrams between legs, latching, counters, ending on stop/timeout/handle drop.
//! Must not touch: SIP, SDP, codecs.
//!
//! Hot path: readiness (`readable()`) is awaited, then datagrams are drained with
//! `try_recv_from` into the one preallocated buffer and forwarded with `try_send_to` from the
//! same slice: no allocation, no lock, no await per packet. A send that would block is dropped
//! rather than awaited: late audio is useless, and stalling would delay the other direction too.
//!
//! Quality: each accepted RTP packet's header (zero-copy `rtp::depacketize`) feeds its leg's
//! `LegRx`; each accepted RTCP compound is walked with `rtcp::parse_compound` (zero-copy views)
//! for SRs and report blocks. Both are fixed-size updates. The handle sees a copy published
//! under a mutex at most every [`PUBLISH_EVERY`] while traffic flows (a timer armed by the first
//! packet after a publish) and once when the task ends, never per packet.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};
use tracing::{debug, trace};

use super::latch::{Latch, LatchDecision};
use super::ports::PortPair;
use super::relay::{Control, Leg, RelayConfig, RelayEvent, Remote, SharedQuality};
use super::rtcp::{parse_compound, RtcpPacket};
use super::rtp::depacketize;
use super::stats::{LegCounters, LegRx, DEFAULT_CLOCK_RATE};
use super::validate::{is_valid_rtcp, is_valid_rtp};

/// Receive buffer size. A datagram that fills it completely may have been truncated by the
/// kernel, so such packets are dropped; RTP over a 1500-byte MTU never comes close.
const BUF_LEN: usize = 2048;

/// Datagrams drained per wake-up before yielding to the other sockets (fairness under flood).
const MAX_BATCH: usize = 64;

/// Longest delay between a packet updating a leg's quality and the handle seeing it.
pub(crate) const PUBLISH_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Rtp,
    Rtcp,
}

/// One leg's sockets and latches.
struct LegIo {
    ports: PortPair,
    rtp_latch: Latch,
    rtcp_latch: Latch,
}

impl LegIo {
    fn socket(&self, s: Stream) -> &UdpSocket {
        match s {
            Stream::Rtp => &self.ports.rtp,
            Stream::Rtcp => &self.ports.rtcp,
        }
    }

    fn latch(&mut self, s: Stream) -> &mut Latch {
        match s {
            Stream::Rtp => &mut self.rtp_latch,
            Stream::Rtcp => &mut self.rtcp_latch,
        }
    }

    fn destination(&self, s: Stream) -> Option<SocketAddr> {
        match s {
            Stream::Rtp => self.rtp_latch.destination(),
            Stream::Rtcp => self.rtcp_latch.destination(),
        }
    }
}

pub(crate) struct RelayTask {
    /// Declared first so it is dropped first: the ports are free before `events` closes, so a
    /// consumer that sees the channel end can rely on the ports being released.
    legs: [LegIo; 2],
    cfg: RelayConfig,
    control: watch::Receiver<Control>,
    /// The remotes last applied, to reset latches only for a leg whose remote changed.
    applied: [Remote; 2],
    events: mpsc::Sender<RelayEvent>,
    counters: Arc<[LegCounters; 2]>,
    /// Receive quality per leg, owned by the task; copied to `shared` by `publish`.
    rx: [LegRx; 2],
    shared: SharedQuality,
    /// `rx` changed since the last publish.
    dirty: bool,
    last_rtp: Instant,
    buf: [u8; BUF_LEN],
}

impl RelayTask {
    pub(crate) fn new(
        ports: [PortPair; 2],
        cfg: RelayConfig,
        control: watch::Receiver<Control>,
        events: mpsc::Sender<RelayEvent>,
        counters: Arc<[LegCounters; 2]>,
        shared: SharedQuality,
    ) -> Self {
        let legs = ports.map(|ports| LegIo {
            ports,
            rtp_latch: Latch::default(),
            rtcp_latch: Latch::default(),
        });
        RelayTask {
            legs,
            cfg,
            control,
            applied: [Remote::default(); 2],
            events,
            counters,
            rx: [LegRx::new(DEFAULT_CLOCK_RATE), LegRx::new(DEFAULT_CLOCK_RATE)],
            shared,
            dirty: false,
            last_rtp: Instant::now(),
            buf: [0; BUF_LEN],
        }
    }

    /// Run until stopped, timed out, or the handle is dropped. `self` (and with it both
    /// PortPairs) is dropped on return, which releases the ports; the final quality is
    /// published before that, so `shutdown()` (which waits for the task) reads final values.
    pub(crate) async fn run(mut self) {
        self.run_loop().await;
        self.publish();
    }

    /// Copies both legs' quality state to the handle's snapshot (no allocation: `LegRx` is
    /// fixed-size).
    fn publish(&mut self) {
        for (shared, rx) in self.shared.iter().zip(&self.rx) {
            shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone_from(rx);
        }
        self.dirty = false;
    }

    async fn run_loop(&mut self) {
        // Reserve the slot for the final event now, while the channel is surely empty, so a
        // slow consumer can lose Latched events but never the Timeout.
        let final_slot = self.events.clone().try_reserve_owned().ok();
        let timer = sleep_until(self.last_rtp + self.cfg.inactivity);
        tokio::pin!(timer);
        let publish = sleep_until(Instant::now());
        tokio::pin!(publish);
        let mut publish_armed = false;
        debug!(a = %self.legs[0].ports.rtp_addr(), b = %self.legs[1].ports.rtp_addr(), "relay started");
        loop {
            // Futures below borrow sockets only until a branch wins; select! drops them before
            // running the handler, which is what lets the handlers take `&mut self`.
            tokio::select! {
                biased;
                changed = self.control.changed() => {
                    if changed.is_err() || !self.apply_control() {
                        debug!("relay stopped");
                        return;
                    }
                }
                r = self.legs[0].ports.rtp.readable() => self.on_readable(r, Leg::A, Stream::Rtp),
                r = self.legs[1].ports.rtp.readable() => self.on_readable(r, Leg::B, Stream::Rtp),
                r = self.legs[0].ports.rtcp.readable() => self.on_readable(r, Leg::A, Stream::Rtcp),
                r = self.legs[1].ports.rtcp.readable() => self.on_readable(r, Leg::B, Stream::Rtcp),
                () = &mut publish, if publish_armed => {
                    self.publish();
                    publish_armed = false;
                }
                () = &mut timer => {
                    // The timer is not pushed back on every packet (that would touch the timer
                    // wheel per packet); it fires at the old deadline and is re-armed from
                    // `last_rtp` if RTP arrived since.
                    let deadline = self.last_rtp + self.cfg.inactivity;
                    if Instant::now() >= deadline {
                        debug!("relay inactivity timeout");
                        // Publish before the event, so a consumer reacting to Timeout with
                        // `quality()` sees final values.
                        self.publish();
                        if let Some(slot) = final_slot {
                            slot.send(RelayEvent::Timeout);
                        }
                        return;
                    }
                    timer.as_mut().reset(deadline);
                }
            }
            if self.dirty && !publish_armed {
                // First change since the last publish: publish it (and whatever follows) soon.
                publish.as_mut().reset(Instant::now() + PUBLISH_EVERY);
                publish_armed = true;
            }
        }
    }

    /// Apply the latest control value; false means stop.
    fn apply_control(&mut self) -> bool {
        let c = *self.control.borrow_and_update();
        if c.stop {
            return false;
        }
        for leg in [Leg::A, Leg::B] {
            let i = leg.index();
            let new = c.remotes[i];
            let rate = match c.clock_rates[i] {
                0 => DEFAULT_CLOCK_RATE,
                r => r,
            };
            self.rx[i].set_clock_rate(rate);
            if new != self.applied[i] {
                // A new SDP address (re-INVITE): forget the learned sources so the peer can
                // re-latch from wherever it now sends.
                debug!(?leg, rtp = ?new.rtp, rtcp = ?new.rtcp, "relay remote set");
                self.legs[i].rtp_latch.reset(new.rtp);
                self.legs[i].rtcp_latch.reset(new.rtcp);
                self.applied[i] = new;
            }
        }
        true
    }

    fn on_readable(&mut self, ready: io::Result<()>, from: Leg, stream: Stream) {
        if let Err(e) = ready {
            // readable() only fails if the reactor is gone (runtime shutting down).
            trace!(?from, ?stream, error = %e, "readable failed");
            return;
        }
        let now = Instant::now();
        for _ in 0..MAX_BATCH {
            let recv = self.legs[from.index()]
                .socket(stream)
                .try_recv_from(&mut self.buf);
            match recv {
                Ok((n, src)) => self.forward(from, stream, n, src, now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // Unconnected UDP sockets report little (e.g. a stray ICMP error); keep going,
                // the batch bound prevents spinning on a persistent error.
                Err(e) => trace!(?from, ?stream, error = %e, "recv failed"),
            }
        }
    }

    /// Handle one datagram of `n` bytes in `self.buf` from `src`, received on leg `from`.
    fn forward(&mut self, from: Leg, stream: Stream, n: usize, src: SocketAddr, now: Instant) {
        let counters = &self.counters[from.index()];
        let pkt = match self.buf.get(..n) {
            Some(p) if n < BUF_LEN => p,
            _ => {
                LegCounters::add(&counters.dropped_malformed, 1);
                return;
            }
        };
        let valid = match stream {
            Stream::Rtp => is_valid_rtp(pkt),
            Stream::Rtcp => is_valid_rtcp(pkt),
        };
        if !valid {
            LegCounters::add(&counters.dropped_malformed, 1);
            return;
        }
        let [a, b] = &mut self.legs;
        let (rx, tx) = match from {
            Leg::A => (a, &*b),
            Leg::B => (b, &*a),
        };
        match rx.latch(stream).on_packet(src) {
            LatchDecision::Accept => {}
            LatchDecision::Latched(addr) => {
                debug!(leg = ?from, ?stream, %addr, "latched");
                if stream == Stream::Rtp {
                    // Informational; a full channel only loses this notice.
                    let _ = self
                        .events
                        .try_send(RelayEvent::Latched { leg: from, addr });
                }
            }
            LatchDecision::Reject => {
                LegCounters::add(&counters.dropped_foreign, 1);
                return;
            }
        }
        LegCounters::add(&counters.packets_in, 1);
        LegCounters::add(&counters.bytes_in, n as u64);
        if stream == Stream::Rtp {
            self.last_rtp = now;
        }
        observe(&mut self.rx, from, stream, pkt);
        self.dirty = true;
        let Some(dest) = tx.destination(stream) else {
            LegCounters::add(&counters.dropped_no_remote, 1);
            return;
        };
        match tx.socket(stream).try_send_to(pkt, dest) {
            Ok(_) => {
                let out = &self.counters[from.other().index()];
                LegCounters::add(&out.packets_out, 1);
                LegCounters::add(&out.bytes_out, n as u64);
            }
            Err(e) => {
                trace!(to = %dest, error = %e, "send failed");
                LegCounters::add(&counters.dropped_send, 1);
            }
        }
    }
}

/// Feeds one accepted datagram to the quality state: RTP headers to the arriving leg's
/// statistics; RTCP SRs and report blocks to the SR history and round trip. Zero-copy views,
/// fixed-size updates. On the RTP port, packet types 192..=223 are RTCP multiplexed with RTP
/// (RFC 5761 §4) and are read as RTCP rather than counted as RTP.
fn observe(rx: &mut [LegRx; 2], from: Leg, stream: Stream, pkt: &[u8]) {
    // The arrival time of this packet (not of its batch): jitter is measured on it.
    let arrival = std::time::Instant::now();
    let muxed_rtcp = matches!(pkt.get(1), Some(192..=223));
    if stream == Stream::Rtp && !muxed_rtcp {
        if let Ok(p) = depacketize(pkt) {
            let h = p.header;
            rx[from.index()].on_rtp(h.ssrc, h.payload_type, h.seq, h.timestamp, arrival);
        }
        return;
    }
    let [a, b] = rx;
    let (this, other) = match from {
        Leg::A => (a, &*b),
        Leg::B => (b, &*a),
    };
    // Lenient walk: stop at the first packet that does not parse (SRTCP ciphertext, trailer).
    for item in parse_compound(pkt) {
        let Ok((p, _)) = item else { break };
        match p {
            RtcpPacket::SenderReport(sr) => {
                for block in sr.reports.iter() {
                    this.on_report_block(&block, other, arrival);
                }
                this.on_sender_report(sr.ssrc, sr.info.ntp, arrival);
            }
            RtcpPacket::ReceiverReport(rr) => {
                for block in rr.reports.iter() {
                    this.on_report_block(&block, other, arrival);
                }
            }
            _ => {}
        }
    }
}

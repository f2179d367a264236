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

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};
use tracing::{debug, trace};

use super::latch::{Latch, LatchDecision};
use super::ports::PortPair;
use super::relay::{Control, Leg, RelayConfig, RelayEvent, Remote};
use super::stats::LegCounters;
use super::validate::{is_valid_rtcp, is_valid_rtp};

/// Receive buffer size. A datagram that fills it completely may have been truncated by the
/// kernel, so such packets are dropped; RTP over a 1500-byte MTU never comes close.
const BUF_LEN: usize = 2048;

/// Datagrams drained per wake-up before yielding to the other sockets (fairness under flood).
const MAX_BATCH: usize = 64;

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
            last_rtp: Instant::now(),
            buf: [0; BUF_LEN],
        }
    }

    /// Run until stopped, timed out, or the handle is dropped. `self` (and with it both
    /// PortPairs) is dropped on return, which releases the ports.
    pub(crate) async fn run(mut self) {
        // Reserve the slot for the final event now, while the channel is surely empty, so a
        // slow consumer can lose Latched events but never the Timeout.
        let final_slot = self.events.clone().try_reserve_owned().ok();
        let timer = sleep_until(self.last_rtp + self.cfg.inactivity);
        tokio::pin!(timer);
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
                () = &mut timer => {
                    // The timer is not pushed back on every packet (that would touch the timer
                    // wheel per packet); it fires at the old deadline and is re-armed from
                    // `last_rtp` if RTP arrived since.
                    let deadline = self.last_rtp + self.cfg.inactivity;
                    if Instant::now() >= deadline {
                        debug!("relay inactivity timeout");
                        if let Some(slot) = final_slot {
                            slot.send(RelayEvent::Timeout);
                        }
                        return;
                    }
                    timer.as_mut().reset(deadline);
                }
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

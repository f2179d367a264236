//! Anchored RTP/RTCP relay: public API (session start, handle, config, events).
//!
//! Owns: the contract between the call layer and one relay task. Must not touch: SIP or SDP
//! (the caller turns SDP into socket addresses), codecs (relay-only: bytes are not changed).
//!
//! One task per call (see `relay_task.rs`); the handle talks to it through a `watch` channel
//! (latest remote addresses win, which is exactly the re-INVITE semantics) and reads its
//! counters through atomics. Dropping the handle stops the task and frees the ports.
//!
//! Receive quality (loss, jitter, round trip, MOS per leg; see `stats::LegRx`) is measured by
//! the task and published to the handle through a mutex per leg, at most every
//! `relay_task::PUBLISH_EVERY` while packets flow and once more when the task ends, so
//! [`RelayHandle::quality`] may lag by that much and the value [`RelayHandle::shutdown`]
//! returns is exact. The packet path itself never locks.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::ports::PortPair;
use super::shard::MediaShards;
use super::relay_task::RelayTask;
use super::quality::LegQuality;
use super::rtcp::ReportBlock;
use super::stats::{LegCounters, LegRx, RelayStats, DEFAULT_CLOCK_RATE};

/// Per-leg quality snapshots, written by the task, read by the handle.
pub(crate) type SharedQuality = Arc<[Mutex<LegRx>; 2]>;

/// One side of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    A,
    B,
}

impl Leg {
    /// The other side: where packets arriving on this leg are sent.
    pub fn other(self) -> Leg {
        match self {
            Leg::A => Leg::B,
            Leg::B => Leg::A,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Leg::A => 0,
            Leg::B => 1,
        }
    }
}

/// Relay settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// End the session (with [`RelayEvent::Timeout`]) when no valid RTP arrived on either leg for
    /// this long. RTCP does not count: a peer that only sends RTCP is not carrying a call.
    pub inactivity: Duration,
    /// Capacity of the event channel (at least 2; one slot is kept for the final event).
    pub event_capacity: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            inactivity: Duration::from_secs(60),
            event_capacity: 16,
        }
    }
}

/// What the relay reports to the call layer. The channel closes when the task has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEvent {
    /// The first valid RTP on `leg` came from `addr`; media for that leg now goes there.
    /// Best effort: dropped if the channel is full (it is informational).
    Latched { leg: Leg, addr: SocketAddr },
    /// No RTP on either leg for [`RelayConfig::inactivity`]; the session has ended and its ports
    /// are released. Always delivered (a channel slot is reserved for it).
    Timeout,
}

/// Where one leg's peer receives media, as its SDP says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Remote {
    pub rtp: Option<SocketAddr>,
    pub rtcp: Option<SocketAddr>,
}

/// Everything the handle can change, sent as one value through `watch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Control {
    pub remotes: [Remote; 2],
    /// RTP clock rate per leg; 0 means [`DEFAULT_CLOCK_RATE`].
    pub clock_rates: [u32; 2],
    pub stop: bool,
}

/// Entry point: `RelaySession::start`.
pub struct RelaySession;

impl RelaySession {
    /// Spawn the relay task for a call between legs `a` and `b`. Packets from A's peer arriving
    /// on A's sockets leave through B's sockets to B's peer, and vice versa. Nothing is sent
    /// until a remote is known, from [`RelayHandle::set_remote`] or from latching.
    ///
    /// Must be called inside a tokio runtime.
    pub fn start(
        a: PortPair,
        b: PortPair,
        cfg: RelayConfig,
    ) -> (RelayHandle, mpsc::Receiver<RelayEvent>) {
        let local = [(a.rtp_addr(), a.rtcp_addr()), (b.rtp_addr(), b.rtcp_addr())];
        let (parts, handle_parts) = Parts::new(cfg);
        let join = tokio::spawn(parts.task([a, b]).run());
        handle_parts.into_handle(join, local)
    }

    /// Like [`RelaySession::start`], but the relay runs on a media shard
    /// (`media::shard`), where a packet's wake-up stays on one thread. The
    /// call layer uses this; tests that drive time use `start`.
    pub fn start_sharded(
        a: PortPair,
        b: PortPair,
        cfg: RelayConfig,
        shards: &MediaShards,
    ) -> (RelayHandle, mpsc::Receiver<RelayEvent>) {
        let local = [(a.rtp_addr(), a.rtcp_addr()), (b.rtp_addr(), b.rtcp_addr())];
        let (parts, handle_parts) = Parts::new(cfg);
        let detached = a.detach().and_then(|a| Ok([a, b.detach()?]));
        let join = shards.spawn(async move {
            // Registered from inside the shard, so readiness comes from its reactor.
            match detached.and_then(|[a, b]| Ok([a.attach()?, b.attach()?])) {
                Ok(ports) => parts.task(ports).run().await,
                // The ports are released. Timeout, as for a relay without
                // traffic: the call layer ends the call rather than keep one
                // with no media path.
                Err(e) => {
                    tracing::warn!("relay sockets not moved to a media shard: {e}");
                    let _ = parts.events.try_send(RelayEvent::Timeout);
                }
            }
        });
        handle_parts.into_handle(join, local)
    }
}

/// What the task side of a session needs, made before its sockets are placed.
struct Parts {
    cfg: RelayConfig,
    control: watch::Receiver<Control>,
    events: mpsc::Sender<RelayEvent>,
    counters: Arc<[LegCounters; 2]>,
    quality: SharedQuality,
}

/// What the handle side keeps.
struct HandleParts {
    control: watch::Sender<Control>,
    counters: Arc<[LegCounters; 2]>,
    quality: SharedQuality,
    events: mpsc::Receiver<RelayEvent>,
}

impl Parts {
    fn new(cfg: RelayConfig) -> (Parts, HandleParts) {
        let (event_tx, event_rx) = mpsc::channel(cfg.event_capacity.max(2));
        let (control_tx, control_rx) = watch::channel(Control::default());
        let counters: Arc<[LegCounters; 2]> = Arc::default();
        let quality: SharedQuality = Arc::new([
            Mutex::new(LegRx::new(DEFAULT_CLOCK_RATE)),
            Mutex::new(LegRx::new(DEFAULT_CLOCK_RATE)),
        ]);
        let parts = Parts { cfg, control: control_rx, events: event_tx, counters: Arc::clone(&counters), quality: Arc::clone(&quality) };
        (parts, HandleParts { control: control_tx, counters, quality, events: event_rx })
    }

    fn task(self, ports: [PortPair; 2]) -> RelayTask {
        RelayTask::new(ports, self.cfg, self.control, self.events, self.counters, self.quality)
    }
}

impl HandleParts {
    fn into_handle(self, join: JoinHandle<()>, local: [(SocketAddr, SocketAddr); 2]) -> (RelayHandle, mpsc::Receiver<RelayEvent>) {
        let HandleParts { control, counters, quality, events } = self;
        (RelayHandle { control, counters, quality, join, local }, events)
    }
}

/// The call layer's grip on a relay session. Dropping it stops the session.
#[derive(Debug)]
pub struct RelayHandle {
    control: watch::Sender<Control>,
    counters: Arc<[LegCounters; 2]>,
    quality: SharedQuality,
    join: JoinHandle<()>,
    local: [(SocketAddr, SocketAddr); 2],
}

fn snapshot(counters: &[LegCounters; 2], quality: &SharedQuality) -> RelayStats {
    let q = |i: usize| {
        quality[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .quality()
    };
    RelayStats {
        a: counters[0].snapshot(),
        b: counters[1].snapshot(),
        a_quality: q(0),
        b_quality: q(1),
    }
}

impl RelayHandle {
    /// Set (or change, on re-INVITE) where `leg`'s peer receives media. `rtcp` defaults to RTP
    /// port + 1 (RFC 3550 §11). A change resets that leg's latches so it can re-latch.
    pub fn set_remote(&self, leg: Leg, rtp: SocketAddr, rtcp: Option<SocketAddr>) {
        let rtcp = rtcp.or_else(|| Some(SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?)));
        self.control.send_if_modified(|c| {
            let new = Remote {
                rtp: Some(rtp),
                rtcp,
            };
            let changed = c.remotes[leg.index()] != new;
            c.remotes[leg.index()] = new;
            changed
        });
    }

    /// The RTP clock rate of what `leg`'s peer sends (from the SDP's rtpmap), for jitter in
    /// milliseconds. Defaults to 8000 (G.711, G.722). A change restarts that leg's statistics.
    pub fn set_clock_rate(&self, leg: Leg, rate: u32) {
        self.control.send_if_modified(|c| {
            let changed = c.clock_rates[leg.index()] != rate;
            c.clock_rates[leg.index()] = rate;
            changed
        });
    }

    /// Receive quality of what `leg`'s peer sends: loss and jitter (RFC 3550 A.3/A.8), the
    /// round trip between the relay and that peer (from RTCP passing through, once both an SR
    /// and a report citing it were seen), and an E-model MOS. May lag the packets by up to
    /// 200 ms; the value in [`RelayHandle::shutdown`]'s result is final.
    pub fn quality(&self, leg: Leg) -> LegQuality {
        self.quality[leg.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .quality()
    }

    /// The latest RTCP report block `leg`'s peer sent about the other leg's source: how that
    /// direction arrives at the peer (its fraction lost, cumulative loss, jitter).
    pub fn peer_report(&self, leg: Leg) -> Option<ReportBlock> {
        self.quality[leg.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peer_report()
    }

    /// Ask the task to end. Idempotent; returns at once (see [`RelayHandle::shutdown`]).
    pub fn stop(&self) {
        self.control
            .send_if_modified(|c| !std::mem::replace(&mut c.stop, true));
    }

    /// Stop and wait until the task has ended and both port pairs are released; returns the
    /// final counters and quality.
    pub async fn shutdown(self) -> RelayStats {
        self.stop();
        let RelayHandle {
            control,
            counters,
            quality,
            join,
            ..
        } = self;
        // Err means the task panicked; unwinding dropped its PortPairs, so ports are free anyway.
        let _ = join.await;
        drop(control);
        snapshot(&counters, &quality)
    }

    /// Current counters and quality (quality as of the last publish, see [`RelayHandle::quality`]).
    pub fn stats(&self) -> RelayStats {
        snapshot(&self.counters, &self.quality)
    }

    /// The task has ended (stopped, timed out, or panicked).
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Our RTP address for `leg`, to put into the SDP sent to that leg's peer.
    pub fn local_rtp(&self, leg: Leg) -> SocketAddr {
        self.local[leg.index()].0
    }

    /// Our RTCP address for `leg`.
    pub fn local_rtcp(&self, leg: Leg) -> SocketAddr {
        self.local[leg.index()].1
    }
}

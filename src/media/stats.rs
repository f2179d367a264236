//! Relay counters.
//!
//! Owns: per-leg packet/byte counters shared between one relay task and its handle.
//! Must not touch: sockets, anything shared between calls (each session has its own counters,
//! so there is no cross-call contention).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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

/// Counters of both legs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    pub a: LegStats,
    pub b: LegStats,
}

//! RFC 3261 §17 timer values (Table 4 of Appendix A) and the small helpers the
//! state machines share to pick the next due timer. Owns no clock.

use std::time::{Duration, Instant};

/// Base timer values. Every other timer derives from these, as the RFC does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; first retransmit interval (Timers A, E, G).
    pub t1: Duration,
    /// Cap on non-INVITE request and INVITE response retransmit intervals.
    pub t2: Duration,
    /// Maximum time a message stays in the network (Timers I, K).
    pub t4: Duration,
    /// Timer D: how long a client INVITE absorbs final-response retransmits
    /// over UDP; the RFC demands more than 32 s regardless of T1.
    pub timer_d: Duration,
    /// How long the server INVITE transaction waits for the TU before it
    /// sends 100 Trying itself (§17.2.1: "within 200 ms"). Zero = at once.
    pub trying_delay: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Duration::from_millis(200),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F, H, J (UDP), L, M and the CANCEL guard of §9.1.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }
    /// Timer D (§17.1.1.2): 0 on reliable transports.
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.timer_d
        }
    }
    /// Timers I and K: T4 on UDP, 0 on reliable transports.
    pub fn timer_i_k(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }
    /// Timer J (§17.2.2): 64*T1 on UDP, 0 on reliable transports.
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.transaction_timeout()
        }
    }
}

/// The earliest armed deadline among `slots`.
pub(crate) fn earliest(slots: &[Option<Instant>]) -> Option<Instant> {
    slots.iter().flatten().min().copied()
}

/// The timers among `slots` that are due at `now`, earliest first, so a late
/// wake-up still fires them in the order the RFC expects (e.g. a last
/// retransmission before the timeout).
pub(crate) fn due<T: Copy>(now: Instant, slots: &[(T, Option<Instant>)]) -> Vec<T> {
    let mut v: Vec<(Instant, T)> = slots
        .iter()
        .filter_map(|(n, t)| t.filter(|t| *t <= now).map(|t| (t, *n)))
        .collect();
    v.sort_by_key(|(t, _)| *t);
    v.into_iter().map(|(_, n)| n).collect()
}

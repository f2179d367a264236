//! Admission control of new calls (overload protection, `[limits]`): decides
//! whether an initial INVITE may start a call, from the calls in progress,
//! a token bucket of new calls per second and the call layer's inbound
//! backlog, and counts what it refused. Sans-IO: the caller passes the time
//! (milliseconds on any monotonic clock) and the current load; answering
//! the refused INVITE, logging and metrics are the caller's. Must not touch
//! SIP messages, sockets or the clock.
//!
//! Why refuse early and cheaply: a refused INVITE costs one 503 and the
//! transaction layer's normal state, nothing here grows per call, so 3×
//! the sustainable load cannot take memory or the established calls'
//! media down with it.

use crate::config::LimitsConfig;

/// Why a new call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_calls` calls are in progress.
    MaxCalls,
    /// More than `max_cps` new calls per second (the bucket is empty).
    Rate,
    /// The call layer's inbound queue is above `backlog_high`.
    Backlog,
}

impl Refused {
    pub const ALL: [Refused; 3] = [Refused::MaxCalls, Refused::Rate, Refused::Backlog];

    /// Label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::MaxCalls => "max_calls",
            Refused::Rate => "max_cps",
            Refused::Backlog => "backlog",
        }
    }

    fn index(self) -> usize {
        match self {
            Refused::MaxCalls => 0,
            Refused::Rate => 1,
            Refused::Backlog => 2,
        }
    }

    /// The reason phrase of the 503 (RFC 3261 §21.5.4), so a trace says why.
    pub fn reason_phrase(self) -> &'static str {
        match self {
            Refused::MaxCalls => "Service Unavailable - Too Many Calls",
            Refused::Rate => "Service Unavailable - Call Rate Limit",
            Refused::Backlog => "Service Unavailable - Overloaded",
        }
    }
}

/// Refusals by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefusedCounts(pub [u64; 3]);

impl RefusedCounts {
    pub fn get(&self, r: Refused) -> u64 {
        self.0[r.index()]
    }
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// What the once-a-second log line says: refusals since the last summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub refused: RefusedCounts,
    /// Milliseconds the summary covers.
    pub over_ms: u64,
}

/// Tokens are kept in thousandths so the refill is exact integer arithmetic
/// at any rate (`max_cps` thousandths per millisecond).
const MILLI: u64 = 1000;
/// At most one summary per this many milliseconds.
const SUMMARY_EVERY_MS: u64 = 1000;

#[derive(Debug)]
pub struct Admission {
    max_calls: usize,
    max_cps: u64,
    capacity: u64,
    backlog_high: usize,
    /// Thousandths of a token.
    tokens: u64,
    refilled_at: u64,
    totals: RefusedCounts,
    pending: RefusedCounts,
    summary_at: u64,
}

impl Admission {
    /// A full bucket at `now_ms`.
    pub fn new(limits: &LimitsConfig, now_ms: u64) -> Admission {
        let capacity = u64::from(limits.burst.max(1)) * MILLI;
        Admission {
            max_calls: limits.max_calls as usize,
            max_cps: u64::from(limits.max_cps.max(1)),
            capacity,
            backlog_high: limits.backlog_high as usize,
            tokens: capacity,
            refilled_at: now_ms,
            totals: RefusedCounts::default(),
            pending: RefusedCounts::default(),
            summary_at: now_ms,
        }
    }

    /// Decides on one initial INVITE at `now_ms` with `active` calls in
    /// progress and `backlog` requests queued behind it. Admitting takes a
    /// token; a refusal takes none, so refused traffic does not starve the
    /// bucket for the calls after it.
    pub fn check(&mut self, now_ms: u64, active: usize, backlog: usize) -> Result<(), Refused> {
        self.refill(now_ms);
        let verdict = if active >= self.max_calls {
            Err(Refused::MaxCalls)
        } else if backlog > self.backlog_high {
            Err(Refused::Backlog)
        } else if self.tokens < MILLI {
            Err(Refused::Rate)
        } else {
            self.tokens -= MILLI;
            Ok(())
        };
        if let Err(r) = verdict {
            self.totals.0[r.index()] += 1;
            self.pending.0[r.index()] += 1;
        }
        verdict
    }

    fn refill(&mut self, now_ms: u64) {
        // A clock that steps back (it should not) refills nothing.
        let elapsed = now_ms.saturating_sub(self.refilled_at);
        self.tokens = self.tokens.saturating_add(elapsed.saturating_mul(self.max_cps)).min(self.capacity);
        self.refilled_at = self.refilled_at.max(now_ms);
    }

    /// Refusals since the start.
    pub fn totals(&self) -> RefusedCounts {
        self.totals
    }

    /// The refusals since the last summary, at most once per second and
    /// only when there were some.
    pub fn poll_summary(&mut self, now_ms: u64) -> Option<Summary> {
        if self.pending.total() == 0 || now_ms.saturating_sub(self.summary_at) < SUMMARY_EVERY_MS {
            return None;
        }
        let s = Summary { refused: self.pending, over_ms: now_ms - self.summary_at };
        self.pending = RefusedCounts::default();
        self.summary_at = now_ms;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_calls: u32, max_cps: u32, burst: u32) -> LimitsConfig {
        LimitsConfig { max_calls, max_cps, burst, backlog_high: 100, retry_after_secs: 5 }
    }

    #[test]
    fn bucket_admits_the_burst_then_the_rate() {
        let mut a = Admission::new(&limits(1000, 10, 5), 0);
        let admitted = (0..20).filter(|_| a.check(0, 0, 0).is_ok()).count();
        assert_eq!(admitted, 5, "the burst, then nothing at the same instant");
        assert_eq!(a.check(50, 0, 0), Err(Refused::Rate), "half a token after 50 ms");
        assert_eq!(a.check(100, 0, 0), Ok(()), "one token per 100 ms at 10 cps");
        assert_eq!(a.check(100, 0, 0), Err(Refused::Rate));
        // Ten virtual seconds offered at 100 cps: about 10 cps get through.
        let mut ok = 0;
        for i in 1..=1000u64 {
            if a.check(100 + i * 10, 0, 0).is_ok() {
                ok += 1;
            }
        }
        assert!((99..=101).contains(&ok), "{ok} admitted over 10 s at max_cps 10");
        assert_eq!(a.totals().get(Refused::Rate), 15 + 1 + 1 + (1000 - ok));
    }

    #[test]
    fn bucket_never_holds_more_than_the_burst() {
        let mut a = Admission::new(&limits(1000, 10, 3), 0);
        let admitted = (0..10).filter(|_| a.check(3_600_000, 0, 0).is_ok()).count();
        assert_eq!(admitted, 3, "an hour of quiet still allows only the burst");
    }

    #[test]
    fn max_calls_refuses_without_spending_tokens() {
        let mut a = Admission::new(&limits(2, 1, 1), 0);
        assert_eq!(a.check(0, 2, 0), Err(Refused::MaxCalls));
        assert_eq!(a.check(0, 5, 0), Err(Refused::MaxCalls));
        assert_eq!(a.check(0, 1, 0), Ok(()), "the token was still there");
        assert_eq!(a.totals().get(Refused::MaxCalls), 2);
    }

    #[test]
    fn backlog_above_the_high_water_mark_refuses() {
        let mut a = Admission::new(&limits(10, 100, 100), 0);
        assert_eq!(a.check(0, 0, 101), Err(Refused::Backlog));
        assert_eq!(a.check(0, 0, 100), Ok(()), "at the mark is still fine");
        assert_eq!(a.totals(), RefusedCounts([0, 0, 1]));
    }

    #[test]
    fn recovers_when_load_drops() {
        let mut a = Admission::new(&limits(3, 2, 2), 0);
        assert!(a.check(0, 0, 0).is_ok() && a.check(0, 1, 0).is_ok());
        assert_eq!(a.check(0, 2, 0), Err(Refused::Rate));
        assert_eq!(a.check(0, 3, 0), Err(Refused::MaxCalls));
        // Calls end, time passes: new calls get in again.
        assert_eq!(a.check(1000, 0, 0), Ok(()));
    }

    #[test]
    fn clock_going_back_refills_nothing() {
        let mut a = Admission::new(&limits(10, 1, 1), 5000);
        assert_eq!(a.check(5000, 0, 0), Ok(()));
        assert_eq!(a.check(1000, 0, 0), Err(Refused::Rate));
        assert_eq!(a.check(5999, 0, 0), Err(Refused::Rate));
        assert_eq!(a.check(6000, 0, 0), Ok(()));
    }

    #[test]
    fn summary_at_most_once_a_second_and_only_with_refusals() {
        let mut a = Admission::new(&limits(1, 1, 1), 0);
        assert_eq!(a.poll_summary(5000), None, "nothing refused, nothing to say");
        let _ = a.check(5000, 1, 0);
        let _ = a.check(5100, 1, 0);
        let s = a.poll_summary(5200).expect("a summary after refusals");
        assert_eq!((s.refused.get(Refused::MaxCalls), s.over_ms), (2, 5200));
        let _ = a.check(5300, 1, 0);
        assert_eq!(a.poll_summary(5900), None, "less than a second since the last one");
        let s = a.poll_summary(6200).expect("next second");
        assert_eq!((s.refused.total(), s.over_ms), (1, 1000));
        assert_eq!(a.poll_summary(9000), None);
        assert_eq!(a.totals().total(), 3);
    }
}

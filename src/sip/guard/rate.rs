//! Owns the per-address request rate limit: one token bucket per source IP
//! (`rate_limit_per_sec` refill, `rate_limit_burst` capacity), and when a
//! drop deserves a log line (once per address per minute). Sans-IO:
//! `now_ms` is unix milliseconds from the caller. Must not decide which
//! requests are charged (the guard charges out-of-dialog requests only).
//!
//! Tokens are kept in thousandths so integer arithmetic refills exactly
//! (`per_sec` thousandths per millisecond). A full bucket is the same as
//! no bucket, which is what makes room at the address cap.

use std::collections::HashMap;
use std::net::IpAddr;

/// How long a throttled address stays quiet in the log.
const LOG_EVERY_MS: u64 = 60_000;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateVerdict {
    Pass,
    /// Over the limit; `log` on the first drop of a minute.
    Drop { log: bool },
}

#[derive(Debug, Clone)]
struct Bucket {
    milli_tokens: u64,
    last_ms: u64,
    logged_ms: Option<u64>,
}

/// Token buckets per source address.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    per_sec: u64,
    capacity: u64,
    max_addresses: usize,
    buckets: HashMap<IpAddr, Bucket>,
}

impl RateLimiter {
    /// `per_sec` requests per second with bursts of `burst` (at least 1);
    /// `per_sec` 0 turns the limit off.
    pub fn new(per_sec: u32, burst: u32, max_addresses: usize) -> RateLimiter {
        RateLimiter {
            per_sec: u64::from(per_sec),
            capacity: u64::from(burst.max(1)) * 1000,
            max_addresses: max_addresses.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Charges one request of `ip` at `now_ms`.
    pub fn check(&mut self, now_ms: u64, ip: IpAddr) -> RateVerdict {
        if self.per_sec == 0 {
            return RateVerdict::Pass;
        }
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= self.max_addresses {
            self.make_room(now_ms);
        }
        let (per_sec, capacity) = (self.per_sec, self.capacity);
        let b = self.buckets.entry(ip).or_insert(Bucket { milli_tokens: capacity, last_ms: now_ms, logged_ms: None });
        // A clock that went back refills nothing.
        let elapsed = now_ms.saturating_sub(b.last_ms);
        b.milli_tokens = b.milli_tokens.saturating_add(elapsed.saturating_mul(per_sec)).min(capacity);
        b.last_ms = b.last_ms.max(now_ms);
        if b.milli_tokens >= 1000 {
            b.milli_tokens -= 1000;
            return RateVerdict::Pass;
        }
        let log = b.logged_ms.is_none_or(|t| now_ms.saturating_sub(t) >= LOG_EVERY_MS);
        if log {
            b.logged_ms = Some(now_ms);
        }
        RateVerdict::Drop { log }
    }

    /// Addresses tracked, for tests and metrics.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Buckets full again are forgotten; if every one is in use (a flood
    /// from many addresses), the tenth idle longest goes, in bulk.
    fn make_room(&mut self, now_ms: u64) {
        let (per_sec, capacity) = (self.per_sec, self.capacity);
        self.buckets.retain(|_, b| b.milli_tokens.saturating_add(now_ms.saturating_sub(b.last_ms).saturating_mul(per_sec)) < capacity);
        if self.buckets.len() < self.max_addresses {
            return;
        }
        let mut last: Vec<u64> = self.buckets.values().map(|b| b.last_ms).collect();
        let idx = last.len() / 10;
        let (_, cutoff, _) = last.select_nth_unstable(idx);
        let cutoff = *cutoff;
        self.buckets.retain(|_, b| b.last_ms > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn passes(r: &mut RateLimiter, now_ms: u64, a: IpAddr, n: usize) -> usize {
        (0..n).filter(|_| r.check(now_ms, a) == RateVerdict::Pass).count()
    }

    #[test]
    fn burst_then_rate() {
        let mut r = RateLimiter::new(50, 200, 100);
        let a = ip("192.0.2.1");
        assert_eq!(passes(&mut r, 0, a, 1000), 200, "the burst, then nothing");
        assert_eq!(passes(&mut r, 1000, a, 1000), 50, "one second refills 50");
        assert_eq!(passes(&mut r, 1010, a, 10), 0, "10 ms refill half a token");
        assert_eq!(passes(&mut r, 1020, a, 10), 1);
        assert_eq!(passes(&mut r, 1_000_000, a, 1000), 200, "refill stops at the burst");
        assert_eq!(passes(&mut r, 1_000_000, ip("192.0.2.2"), 5), 5, "other addresses have their own bucket");
        // A steady 50/s never drops.
        let mut s = RateLimiter::new(50, 200, 100);
        for i in 0..10_000 {
            assert_eq!(s.check(i * 20, a), RateVerdict::Pass, "request {i}");
        }
    }

    #[test]
    fn logs_once_a_minute() {
        let mut r = RateLimiter::new(1, 1, 10);
        let a = ip("192.0.2.1");
        assert_eq!(r.check(0, a), RateVerdict::Pass);
        assert_eq!(r.check(0, a), RateVerdict::Drop { log: true });
        assert_eq!(r.check(10, a), RateVerdict::Drop { log: false });
        assert_eq!(r.check(1000, a), RateVerdict::Pass);
        assert_eq!(r.check(59_999, a), RateVerdict::Pass);
        assert_eq!(r.check(59_999, a), RateVerdict::Drop { log: false });
        assert_eq!(r.check(61_000, a), RateVerdict::Pass);
        assert_eq!(r.check(61_000, a), RateVerdict::Drop { log: true }, "a minute after the last line");
        // Back in time: no refill, no panic.
        assert_eq!(r.check(0, a), RateVerdict::Drop { log: false });
    }

    #[test]
    fn off_and_bounded() {
        let mut off = RateLimiter::new(0, 200, 10);
        let a = ip("192.0.2.1");
        assert_eq!(passes(&mut off, 0, a, 10_000), 10_000);
        assert!(off.is_empty(), "no state when off");
        let mut r = RateLimiter::new(50, 200, 1000);
        for i in 0..50_000u32 {
            r.check(u64::from(i / 10), IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            assert!(r.len() <= 1000);
        }
        assert_eq!(passes(&mut r, 5000, a, 300), 200, "a new address gets its full burst after the spray");
    }
}

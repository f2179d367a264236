//! Rate limiting per client address: a sliding window of counted events.
//! The login form counts failed attempts (the default limits); the public
//! contact page counts every lookup, callback request and chat started,
//! with its own limits (`with_limits`). Sans-IO (the caller passes the
//! time), so the rules are tested without waiting. Per-account lockout
//! lives with the accounts, in the store; this guards against one address
//! spraying many usernames (or account numbers).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Failed logins one address may make per window.
pub const MAX_FAILURES: usize = 10;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 600;
/// Addresses tracked at most; beyond it the oldest entries go (a flood of
/// spoofed-looking sources must not grow memory without bound).
const MAX_TRACKED: usize = 10_000;

#[derive(Debug)]
pub struct LoginLimiter {
    failures: HashMap<IpAddr, VecDeque<i64>>,
    /// Events one address may have in a window.
    max: usize,
    window: i64,
}

impl Default for LoginLimiter {
    /// The login limits.
    fn default() -> Self {
        LoginLimiter::with_limits(MAX_FAILURES, WINDOW_SECS)
    }
}

impl LoginLimiter {
    /// `max` events per address in any `window_secs` (both at least 1).
    pub fn with_limits(max: usize, window_secs: i64) -> LoginLimiter {
        LoginLimiter { failures: HashMap::new(), max: max.max(1), window: window_secs.max(1) }
    }

    /// `Err(seconds to wait)` while `ip` is over the limit at `now`.
    pub fn check(&mut self, ip: IpAddr, now: i64) -> Result<(), i64> {
        let Some(q) = self.failures.get_mut(&ip) else { return Ok(()) };
        while q.front().is_some_and(|t| *t + self.window <= now) {
            q.pop_front();
        }
        if q.len() >= self.max {
            let oldest = q.front().copied().unwrap_or(now);
            return Err((oldest + self.window - now).max(1));
        }
        if q.is_empty() {
            self.failures.remove(&ip);
        }
        Ok(())
    }

    /// Counts one event (a failed login) for `ip` at `now`.
    pub fn failed(&mut self, ip: IpAddr, now: i64) {
        if self.failures.len() >= MAX_TRACKED && !self.failures.contains_key(&ip) {
            let window = self.window;
            self.failures.retain(|_, q| q.back().is_some_and(|t| *t + window > now));
            if self.failures.len() >= MAX_TRACKED {
                return;
            }
        }
        let q = self.failures.entry(ip).or_default();
        q.push_back(now);
        if q.len() > self.max {
            q.pop_front();
        }
    }

    /// `check`, and when allowed, counts the event: one call per request
    /// for limits that count every request, not only failures.
    pub fn take(&mut self, ip: IpAddr, now: i64) -> Result<(), i64> {
        self.check(ip, now)?;
        self.failed(ip, now);
        Ok(())
    }

    /// A good login clears the address's record.
    pub fn succeeded(&mut self, ip: IpAddr) {
        self.failures.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_too_many_failures_then_may_try_again() {
        let mut l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for i in 0..MAX_FAILURES as i64 {
            assert_eq!(l.check(ip, 100 + i), Ok(()));
            l.failed(ip, 100 + i);
        }
        assert_eq!(l.check(ip, 110), Err(WINDOW_SECS - 10));
        assert_eq!(l.check(other, 110), Ok(()), "other addresses are not affected");
        // The first failure leaves the window at 100 + WINDOW_SECS.
        assert_eq!(l.check(ip, 100 + WINDOW_SECS), Ok(()));
        l.succeeded(ip);
        assert!(l.failures.is_empty());
    }

    #[test]
    fn own_limits_count_every_request() {
        let mut l = LoginLimiter::with_limits(3, 60);
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!((l.take(ip, 0), l.take(ip, 1), l.take(ip, 2)), (Ok(()), Ok(()), Ok(())));
        assert_eq!(l.take(ip, 3), Err(57), "the fourth in a minute waits for the first to leave the window");
        assert_eq!(l.take(ip, 59), Err(1));
        assert_eq!(l.take(ip, 60), Ok(()), "the first left the window");
        assert_eq!(l.take(ip, 60), Err(1));
    }
}

//! Login rate limiting per client address: a sliding window of failed
//! attempts. Sans-IO (the caller passes the time), so the rules are tested
//! without waiting. Per-account lockout lives with the accounts, in the
//! store; this guards against one address spraying many usernames.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Failed logins one address may make per window.
pub const MAX_FAILURES: usize = 10;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 600;
/// Addresses tracked at most; beyond it the oldest entries go (a flood of
/// spoofed-looking sources must not grow memory without bound).
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: HashMap<IpAddr, VecDeque<i64>>,
}

impl LoginLimiter {
    /// `Err(seconds to wait)` while `ip` is over the limit at `now`.
    pub fn check(&mut self, ip: IpAddr, now: i64) -> Result<(), i64> {
        let Some(q) = self.failures.get_mut(&ip) else { return Ok(()) };
        while q.front().is_some_and(|t| *t + WINDOW_SECS <= now) {
            q.pop_front();
        }
        if q.len() >= MAX_FAILURES {
            let oldest = q.front().copied().unwrap_or(now);
            return Err((oldest + WINDOW_SECS - now).max(1));
        }
        if q.is_empty() {
            self.failures.remove(&ip);
        }
        Ok(())
    }

    pub fn failed(&mut self, ip: IpAddr, now: i64) {
        if self.failures.len() >= MAX_TRACKED && !self.failures.contains_key(&ip) {
            self.failures.retain(|_, q| q.back().is_some_and(|t| *t + WINDOW_SECS > now));
            if self.failures.len() >= MAX_TRACKED {
                return;
            }
        }
        let q = self.failures.entry(ip).or_default();
        q.push_back(now);
        if q.len() > MAX_FAILURES {
            q.pop_front();
        }
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
}

//! Owns brute-force throttling: counting authentication failures per key
//! (the caller uses "source-ip/username") and saying when a key is blocked.
//! Sans-IO: `now` is unix seconds from the caller. Must not touch digest
//! verification or decide responses; the SIP layer answers 401/407 while a
//! key is under the threshold and 403 once `is_blocked` (and logs it).
//!
//! A key is blocked while at least `threshold` failures fall inside the last
//! `window_secs`, so the block lifts by itself `window_secs` after the
//! `threshold`-th most recent failure; an attacker gets at most `threshold`
//! guesses per window per key. Each key stores at most `threshold`
//! timestamps, and the number of keys is capped, so memory is bounded even
//! when an attacker varies usernames or source addresses.

use std::collections::{HashMap, VecDeque};

/// Default number of failures that blocks a key.
pub const DEFAULT_THRESHOLD: u32 = 3;
/// Default window, in seconds, over which failures are counted.
pub const DEFAULT_WINDOW_SECS: u64 = 60;
/// Default bound on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Per-key failure counter with a sliding window.
#[derive(Debug, Clone)]
pub struct FailureTracker {
    threshold: u32,
    window_secs: u64,
    max_keys: usize,
    /// Recent failure times per key, oldest first, at most `threshold` long.
    recent: HashMap<String, VecDeque<u64>>,
}

impl Default for FailureTracker {
    fn default() -> Self {
        FailureTracker::new(DEFAULT_THRESHOLD, DEFAULT_WINDOW_SECS)
    }
}

impl FailureTracker {
    /// Blocks a key after `threshold` (at least 1) failures within
    /// `window_secs`.
    pub fn new(threshold: u32, window_secs: u64) -> Self {
        FailureTracker {
            threshold: threshold.max(1),
            window_secs,
            max_keys: DEFAULT_MAX_KEYS,
            recent: HashMap::new(),
        }
    }

    /// Changes the bound on tracked keys (default [`DEFAULT_MAX_KEYS`]).
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// Number of keys currently tracked (for metrics/tests).
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }

    /// Records a failure for `key` at `now`; returns how many failures
    /// `key` now has inside the window (saturating at `threshold`).
    pub fn record_failure(&mut self, now: u64, key: &str) -> u32 {
        if !self.recent.contains_key(key) && self.recent.len() >= self.max_keys {
            self.make_room(now);
        }
        let window = self.window_secs;
        let cap = self.threshold as usize;
        let times = self.recent.entry(key.to_owned()).or_default();
        times.retain(|&t| now.saturating_sub(t) < window);
        times.push_back(now);
        while times.len() > cap {
            times.pop_front();
        }
        // Length is at most `threshold`, a u32, so this cannot truncate.
        u32::try_from(times.len()).unwrap_or(u32::MAX)
    }

    /// True when `key` has `threshold` failures inside the window ending at
    /// `now`.
    pub fn is_blocked(&self, now: u64, key: &str) -> bool {
        self.recent
            .get(key)
            .is_some_and(|times| self.in_window(now, times) >= self.threshold as usize)
    }

    /// Forgets `key`'s failures after a successful authentication.
    pub fn record_success(&mut self, key: &str) {
        self.recent.remove(key);
    }

    /// Drops keys with no failure inside the window. Called automatically
    /// when the key cap is reached; callers may also call it on a timer.
    pub fn purge(&mut self, now: u64) {
        let window = self.window_secs;
        self.recent.retain(|_, times| {
            times
                .back()
                .is_some_and(|&t| now.saturating_sub(t) < window)
        });
    }

    fn in_window(&self, now: u64, times: &VecDeque<u64>) -> usize {
        times
            .iter()
            .filter(|&&t| now.saturating_sub(t) < self.window_secs)
            .count()
    }

    /// Frees space at the key cap: first drop expired keys; if everything is
    /// live (an attack spraying keys), evict the tenth with the oldest last
    /// failure. Evicting in bulk keeps the cost amortised O(1) per insert,
    /// rather than an O(n) scan on every new key.
    fn make_room(&mut self, now: u64) {
        self.purge(now);
        if self.recent.len() < self.max_keys {
            return;
        }
        let mut newest: Vec<u64> = self
            .recent
            .values()
            .filter_map(|t| t.back().copied())
            .collect();
        let idx = newest.len() / 10;
        let (_, cutoff, _) = newest.select_nth_unstable(idx);
        let cutoff = *cutoff;
        self.recent
            .retain(|_, times| times.back().is_some_and(|&t| t > cutoff));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_at_threshold_and_success_resets() {
        let mut f = FailureTracker::default();
        let k = "192.0.2.1/1000";
        assert!(!f.is_blocked(0, k));
        assert_eq!(f.record_failure(0, k), 1);
        assert_eq!(f.record_failure(10, k), 2);
        assert!(!f.is_blocked(10, k));
        assert_eq!(f.record_failure(20, k), 3);
        assert!(f.is_blocked(20, k));
        assert!(!f.is_blocked(20, "192.0.2.2/1000"), "other keys unaffected");
        f.record_success(k);
        assert!(!f.is_blocked(20, k));
        assert_eq!(f.record_failure(21, k), 1);
    }

    #[test]
    fn window_expiry() {
        let mut f = FailureTracker::new(3, 60);
        let k = "k";
        f.record_failure(0, k);
        f.record_failure(30, k);
        f.record_failure(59, k);
        assert!(f.is_blocked(59, k));
        // The oldest of the three leaves the window at t=60.
        assert!(!f.is_blocked(60, k));
        // Spread-out failures never block: 0, 61, 122 ...
        let mut g = FailureTracker::new(3, 60);
        for i in 0..10 {
            assert_eq!(g.record_failure(i * 61, "s"), 1);
            assert!(!g.is_blocked(i * 61, "s"));
        }
        // Failures at 100, 130, then 161 (100 expired) count 2, not 3.
        let mut h = FailureTracker::new(3, 60);
        h.record_failure(100, "h");
        h.record_failure(130, "h");
        assert_eq!(h.record_failure(161, "h"), 2);
        assert!(!h.is_blocked(161, "h"));
    }

    #[test]
    fn keys_are_bounded() {
        let mut f = FailureTracker::new(3, 60).with_max_keys(1_000);
        for i in 0..50_000u64 {
            f.record_failure(i / 100, &format!("10.0.{}.{}/u", i / 256, i % 256));
            assert!(f.len() <= 1_000);
        }
        // A fresh key is still tracked after the flood.
        f.record_failure(500, "victim");
        f.record_failure(500, "victim");
        f.record_failure(500, "victim");
        assert!(f.is_blocked(500, "victim"));
        f.purge(10_000);
        assert!(f.is_empty());
    }
}

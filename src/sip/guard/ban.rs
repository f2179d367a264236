//! Owns per-address bans: counting authentication failures (and scanner
//! hits, weighted) per source IP across all usernames, and banning an
//! address that reaches the threshold inside the window. Sans-IO: `now_ms`
//! is unix milliseconds from the caller. Must not touch sockets, logging
//! or the exemption list (the guard applies that first).
//!
//! The window is sliding in `SLOTS` steps: failures are summed per
//! `window / SLOTS` slot, so a failure is forgotten between
//! `window * (SLOTS-1)/SLOTS` and `window` after it happened. That keeps
//! each address at a fixed 48 bytes whatever the threshold (a list of
//! timestamps would be 100 per address), and the number of addresses is
//! capped, so memory is bounded however many sources an attacker uses.

use std::collections::HashMap;
use std::net::IpAddr;

/// Slots per window.
const SLOTS: usize = 10;

/// What tipped an address into its ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanReason {
    /// Wrong passwords or unknown users (digest failures).
    AuthFailures,
    /// A request with a scanner's User-Agent.
    Scanner,
}

impl BanReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BanReason::AuthFailures => "authentication failures",
            BanReason::Scanner => "SIP scanner",
        }
    }
}

/// One banned address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub address: IpAddr,
    pub since_ms: u64,
    pub until_ms: u64,
    pub reason: BanReason,
    /// Failures inside the window when the ban started.
    pub failures: u32,
}

/// An address with failures in the window (not banned, or banned too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offender {
    pub address: IpAddr,
    pub failures: u32,
    pub last_ms: u64,
}

#[derive(Debug, Clone)]
struct Window {
    counts: [u32; SLOTS],
    /// Slot number (`now_ms / slot_ms`) of the newest slot.
    newest: u64,
    last_ms: u64,
}

impl Window {
    fn new(slot: u64, now_ms: u64) -> Window {
        Window { counts: [0; SLOTS], newest: slot, last_ms: now_ms }
    }

    fn add(&mut self, slot: u64, n: u32, now_ms: u64) {
        if slot > self.newest {
            // Clear the slots skipped over (all of them after a long gap).
            let gap = (slot - self.newest).min(SLOTS as u64);
            for s in (slot + 1 - gap)..=slot {
                self.counts[(s % SLOTS as u64) as usize] = 0;
            }
            self.newest = slot;
        }
        // A clock that went back adds to the newest slot.
        let at = (slot.min(self.newest) % SLOTS as u64) as usize;
        self.counts[at] = self.counts[at].saturating_add(n);
        self.last_ms = self.last_ms.max(now_ms);
    }

    fn total(&self, slot: u64) -> u32 {
        (0..SLOTS as u64)
            .filter_map(|i| self.newest.checked_sub(i))
            .filter(|s| s + SLOTS as u64 > slot)
            .map(|s| self.counts[(s % SLOTS as u64) as usize])
            .fold(0u32, u32::saturating_add)
    }
}

/// Failure windows and bans per source address.
#[derive(Debug, Clone)]
pub struct BanList {
    threshold: u32,
    slot_ms: u64,
    ban_ms: u64,
    max_addresses: usize,
    windows: HashMap<IpAddr, Window>,
    bans: HashMap<IpAddr, Ban>,
}

impl BanList {
    /// Bans for `ban_secs` (0: never) an address with `threshold` (at
    /// least 1) failures within `window_secs`.
    pub fn new(threshold: u32, window_secs: u64, ban_secs: u64, max_addresses: usize) -> BanList {
        BanList {
            threshold: threshold.max(1),
            slot_ms: (window_secs.saturating_mul(1000) / SLOTS as u64).max(1),
            ban_ms: ban_secs.saturating_mul(1000),
            max_addresses: max_addresses.max(1),
            windows: HashMap::new(),
            bans: HashMap::new(),
        }
    }

    /// Whether `ip` is banned at `now_ms`.
    pub fn is_banned(&self, now_ms: u64, ip: IpAddr) -> bool {
        self.bans.get(&ip).is_some_and(|b| now_ms < b.until_ms)
    }

    /// Counts `n` failures of `ip`; the ban when this starts one.
    pub fn record(&mut self, now_ms: u64, ip: IpAddr, n: u32, reason: BanReason) -> Option<Ban> {
        if self.is_banned(now_ms, ip) {
            // In-flight work finishing after the ban: nothing new to count.
            return None;
        }
        let slot = now_ms / self.slot_ms;
        if !self.windows.contains_key(&ip) && self.windows.len() >= self.max_addresses {
            self.make_room(now_ms);
        }
        let window = self.windows.entry(ip).or_insert_with(|| Window::new(slot, now_ms));
        window.add(slot, n, now_ms);
        let failures = window.total(slot);
        if failures < self.threshold || self.ban_ms == 0 {
            return None;
        }
        // Banned: the count starts again when the ban ends.
        self.windows.remove(&ip);
        if self.bans.len() >= self.max_addresses {
            self.purge_bans(now_ms);
        }
        let ban = Ban { address: ip, since_ms: now_ms, until_ms: now_ms.saturating_add(self.ban_ms), reason, failures };
        self.bans.insert(ip, ban.clone());
        Some(ban)
    }

    /// Lifts `ip`'s ban and forgets its failures; whether it was banned.
    pub fn lift(&mut self, now_ms: u64, ip: IpAddr) -> bool {
        self.windows.remove(&ip);
        self.bans.remove(&ip).is_some_and(|b| now_ms < b.until_ms)
    }

    /// Current bans, newest first.
    pub fn bans(&self, now_ms: u64) -> Vec<Ban> {
        let mut v: Vec<Ban> = self.bans.values().filter(|b| now_ms < b.until_ms).cloned().collect();
        v.sort_by(|a, b| b.since_ms.cmp(&a.since_ms).then(a.address.cmp(&b.address)));
        v
    }

    /// Up to `top` addresses with failures in the window, most first.
    pub fn offenders(&self, now_ms: u64, top: usize) -> Vec<Offender> {
        let slot = now_ms / self.slot_ms;
        let mut v: Vec<Offender> = self
            .windows
            .iter()
            .map(|(ip, w)| Offender { address: *ip, failures: w.total(slot), last_ms: w.last_ms })
            .filter(|o| o.failures > 0)
            .collect();
        v.sort_by(|a, b| b.failures.cmp(&a.failures).then(b.last_ms.cmp(&a.last_ms)).then(a.address.cmp(&b.address)));
        v.truncate(top);
        v
    }

    /// Addresses tracked (windows and bans), for tests and metrics.
    pub fn len(&self) -> usize {
        self.windows.len() + self.bans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops windows without failures left and ended bans.
    pub fn purge(&mut self, now_ms: u64) {
        let slot = now_ms / self.slot_ms;
        self.windows.retain(|_, w| w.total(slot) > 0);
        self.purge_bans(now_ms);
    }

    /// Ended bans go; at the cap still (a ban per address of a large
    /// botnet), the ban ending soonest makes room.
    fn purge_bans(&mut self, now_ms: u64) {
        self.bans.retain(|_, b| now_ms < b.until_ms);
        if self.bans.len() >= self.max_addresses {
            if let Some(ip) = self.bans.values().min_by_key(|b| b.until_ms).map(|b| b.address) {
                self.bans.remove(&ip);
            }
        }
    }

    /// Frees window space at the cap like `FailureTracker`: expired ones
    /// first, else the tenth with the oldest last failure, in bulk so the
    /// cost stays amortised O(1) per new address.
    fn make_room(&mut self, now_ms: u64) {
        let slot = now_ms / self.slot_ms;
        self.windows.retain(|_, w| w.total(slot) > 0);
        if self.windows.len() < self.max_addresses {
            return;
        }
        let mut last: Vec<u64> = self.windows.values().map(|w| w.last_ms).collect();
        let idx = last.len() / 10;
        let (_, cutoff, _) = last.select_nth_unstable(idx);
        let cutoff = *cutoff;
        self.windows.retain(|_, w| w.last_ms > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bans_at_threshold_for_ban_secs() {
        let mut b = BanList::new(100, 600, 3600, 1000);
        let a = ip("192.0.2.1");
        for i in 0..99 {
            assert_eq!(b.record(i * S, a, 1, BanReason::AuthFailures), None, "failure {i}");
        }
        assert!(!b.is_banned(99 * S, a));
        assert_eq!(b.offenders(99 * S, 10), vec![Offender { address: a, failures: 99, last_ms: 98 * S }]);
        let ban = b.record(99 * S, a, 1, BanReason::AuthFailures).expect("the 100th failure bans");
        assert_eq!((ban.since_ms, ban.until_ms, ban.failures, ban.reason), (99 * S, 3699 * S, 100, BanReason::AuthFailures));
        assert!(b.is_banned(99 * S, a) && b.is_banned(3698 * S, a));
        assert!(!b.is_banned(3699 * S, a), "the ban ends by itself");
        assert!(!b.is_banned(99 * S, ip("192.0.2.2")), "other addresses unaffected");
        // Counting is off while banned (no second ban, no second log).
        assert_eq!(b.record(100 * S, a, 50, BanReason::AuthFailures), None);
        assert_eq!(b.bans(100 * S), vec![ban]);
        assert!(b.offenders(100 * S, 10).is_empty(), "the count restarts with the ban");
        // After the ban: another 100 are needed.
        assert_eq!(b.record(3700 * S, a, 99, BanReason::AuthFailures), None);
        assert!(b.record(3701 * S, a, 1, BanReason::AuthFailures).is_some());
    }

    #[test]
    fn old_failures_leave_the_window() {
        let mut b = BanList::new(10, 600, 3600, 1000);
        let a = ip("192.0.2.1");
        // 9 failures long ago, 9 more after the window: never 10 at once.
        b.record(0, a, 9, BanReason::AuthFailures);
        assert_eq!(b.record(601 * S, a, 9, BanReason::AuthFailures), None);
        assert_eq!(b.offenders(601 * S, 1)[0].failures, 9);
        // Spread evenly below the rate: one every 67 s never bans (at most 9 in any 600 s).
        let mut c = BanList::new(10, 600, 3600, 1000);
        for i in 0..100 {
            assert_eq!(c.record(i * 67 * S, a, 1, BanReason::AuthFailures), None);
        }
        // Within the window they add up, across slots.
        let mut d = BanList::new(10, 600, 3600, 1000);
        for i in 0..9 {
            d.record(i * 59 * S, a, 1, BanReason::AuthFailures);
        }
        assert!(d.record(540 * S, a, 1, BanReason::AuthFailures).is_some());
        // A clock going back does not panic and still counts.
        let mut e = BanList::new(3, 60, 60, 10);
        e.record(100 * S, a, 1, BanReason::AuthFailures);
        e.record(50 * S, a, 1, BanReason::AuthFailures);
        assert!(e.record(0, a, 1, BanReason::AuthFailures).is_some());
    }

    #[test]
    fn weighted_scanner_hits_and_lifting() {
        let mut b = BanList::new(100, 600, 3600, 1000);
        let a = ip("2001:db8::7");
        for _ in 0..9 {
            assert_eq!(b.record(0, a, 10, BanReason::Scanner), None);
        }
        let ban = b.record(0, a, 10, BanReason::Scanner).unwrap();
        assert_eq!((ban.reason, ban.failures), (BanReason::Scanner, 100));
        assert!(b.lift(1, a));
        assert!(!b.is_banned(1, a));
        assert!(!b.lift(1, a), "nothing left to lift");
        assert_eq!(b.record(2, a, 10, BanReason::Scanner), None, "a lifted address starts from zero");
    }

    #[test]
    fn zero_ban_secs_counts_but_never_bans() {
        let mut b = BanList::new(3, 60, 0, 100);
        let a = ip("192.0.2.9");
        for _ in 0..10 {
            assert_eq!(b.record(0, a, 1, BanReason::AuthFailures), None);
        }
        assert!(!b.is_banned(0, a));
        assert_eq!(b.offenders(0, 5)[0].failures, 10);
    }

    #[test]
    fn addresses_are_bounded() {
        let mut b = BanList::new(5, 600, 3600, 500);
        for i in 0..20_000u32 {
            let a = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            // Every fifth address gets banned: bans are capped too.
            let n = if i % 5 == 0 { 5 } else { 1 };
            b.record(u64::from(i), a, n, BanReason::AuthFailures);
            assert!(b.windows.len() <= 500 && b.bans.len() <= 500, "at {i}: {}", b.len());
        }
        let victim = ip("192.0.2.1");
        assert!(b.record(30_000, victim, 5, BanReason::AuthFailures).is_some(), "a fresh address still bans after the flood");
        assert!(b.is_banned(30_000, victim));
        b.purge(10_000_000 * S);
        assert!(b.is_empty());
    }
}

//! SIP attack guard, sans-IO: per-address bans after repeated
//! authentication failures, dropping known scanners, and a per-address
//! rate limit on out-of-dialog requests. Everything it refuses is dropped
//! without an answer: a response tells a scanner there is a SIP server and
//! tells a guesser how fast it may go.
//!
//! Owns the decisions only; must not touch sockets, clocks, logging or
//! storage (`shared::SharedGuard` adds the clock, the lock and the log
//! lines; `sip::endpoint` asks it about every packet before parsing and
//! every request after; `call::auth` reports digest failures).
//!
//! Layout, one purpose per file:
//! - `exempt.rs`  — [`Cidr`], the `[sip] ban_exempt` blocks
//! - `scanner.rs` — [`is_scanner`] by User-Agent
//! - `ban.rs`     — [`BanList`]: failure windows and bans per address
//! - `rate.rs`    — [`RateLimiter`]: token buckets per address
//! - `shared.rs`  — [`SharedGuard`], the handle the endpoint, the call
//!   layer and the API share

#![forbid(unsafe_code)]

mod ban;
mod exempt;
mod rate;
mod scanner;
mod shared;

use std::net::IpAddr;

pub use ban::{Ban, BanList, BanReason, Offender};
pub use exempt::{Cidr, CidrError};
pub use rate::{RateLimiter, RateVerdict};
pub use scanner::{is_scanner, SCANNER_AGENTS};
pub use shared::SharedGuard;

/// What one request from a scanner counts as, in failures.
pub const SCANNER_FAILURES: u32 = 10;
/// Bound on addresses tracked by each table (failure windows, bans, rate
/// buckets).
pub const DEFAULT_MAX_ADDRESSES: usize = 50_000;

/// The `[sip]` settings the guard runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardConfig {
    pub ban_after_failures: u32,
    pub ban_window_secs: u64,
    /// 0: failures are counted (and reported) but never ban.
    pub ban_secs: u64,
    /// Never banned, throttled or dropped as scanners.
    pub exempt: Vec<Cidr>,
    /// 0: no rate limit.
    pub rate_limit_per_sec: u32,
    pub rate_limit_burst: u32,
    pub max_addresses: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            ban_after_failures: 100,
            ban_window_secs: 600,
            ban_secs: 3600,
            exempt: ["127.0.0.0/8", "::1"].iter().filter_map(|c| c.parse().ok()).collect(),
            rate_limit_per_sec: 50,
            rate_limit_burst: 200,
            max_addresses: DEFAULT_MAX_ADDRESSES,
        }
    }
}

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    Pass,
    /// A scanner's User-Agent: dropped, counted; `ban` when that started one.
    Scanner { ban: Option<Ban> },
    /// Over the rate limit: dropped; `log` on the first drop of a minute.
    RateLimited { log: bool },
}

/// What the API shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Newest first.
    pub bans: Vec<Ban>,
    /// Most failures first.
    pub offenders: Vec<Offender>,
}

/// Bans, scanner detection and rate limits for all sources.
#[derive(Debug, Clone)]
pub struct Guard {
    exempt: Vec<Cidr>,
    bans: BanList,
    rate: RateLimiter,
}

impl Guard {
    pub fn new(cfg: &GuardConfig) -> Guard {
        Guard {
            exempt: cfg.exempt.clone(),
            bans: BanList::new(cfg.ban_after_failures, cfg.ban_window_secs, cfg.ban_secs, cfg.max_addresses),
            rate: RateLimiter::new(cfg.rate_limit_per_sec, cfg.rate_limit_burst, cfg.max_addresses),
        }
    }

    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|c| c.contains(ip))
    }

    /// Whether a packet from `ip` may be looked at at all (before parsing).
    pub fn admit_packet(&self, now_ms: u64, ip: IpAddr) -> bool {
        !self.bans.is_banned(now_ms, ip) || self.is_exempt(ip)
    }

    /// The verdict on a parsed request from `ip`: scanners are dropped
    /// whatever they send, and out-of-dialog requests are charged to the
    /// rate limit (in-dialog ones belong to calls already admitted).
    pub fn admit_request(&mut self, now_ms: u64, ip: IpAddr, user_agent: Option<&str>, out_of_dialog: bool) -> Admit {
        if self.is_exempt(ip) {
            return Admit::Pass;
        }
        if user_agent.is_some_and(is_scanner) {
            let ban = self.bans.record(now_ms, ip, SCANNER_FAILURES, BanReason::Scanner);
            return Admit::Scanner { ban };
        }
        if !out_of_dialog {
            return Admit::Pass;
        }
        match self.rate.check(now_ms, ip) {
            RateVerdict::Pass => Admit::Pass,
            RateVerdict::Drop { log } => Admit::RateLimited { log },
        }
    }

    /// Counts `n` authentication failures of `ip`; the ban when this
    /// starts one. Exempt addresses are not counted.
    pub fn record_failures(&mut self, now_ms: u64, ip: IpAddr, n: u32) -> Option<Ban> {
        if self.is_exempt(ip) {
            return None;
        }
        self.bans.record(now_ms, ip, n, BanReason::AuthFailures)
    }

    /// Lifts `ip`'s ban (and forgets its failures); whether there was one.
    pub fn lift(&mut self, now_ms: u64, ip: IpAddr) -> bool {
        self.bans.lift(now_ms, ip)
    }

    /// Current bans and the `top` addresses by failures in the window.
    pub fn report(&self, now_ms: u64, top: usize) -> Report {
        Report { bans: self.bans.bans(now_ms), offenders: self.bans.offenders(now_ms, top) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn strict() -> GuardConfig {
        GuardConfig { exempt: vec![], ..GuardConfig::default() }
    }

    #[test]
    fn banned_addresses_are_dropped_before_parsing() {
        let mut g = Guard::new(&strict());
        let a = ip("192.0.2.1");
        assert!(g.admit_packet(0, a));
        for i in 0..99 {
            assert_eq!(g.record_failures(i, a, 1), None);
        }
        let ban = g.record_failures(100, a, 1).expect("banned at 100");
        assert_eq!(ban.until_ms, 100 + 3_600_000);
        assert!(!g.admit_packet(101, a));
        assert!(g.admit_packet(101, ip("192.0.2.2")));
        assert!(g.admit_packet(100 + 3_600_000, a), "ban_secs later");
        let r = g.report(101, 10);
        assert_eq!(r.bans.len(), 1);
        assert!(g.lift(102, a));
        assert!(g.admit_packet(102, a));
    }

    #[test]
    fn scanners_are_dropped_and_ten_of_them_ban() {
        let mut g = Guard::new(&strict());
        let a = ip("198.51.100.4");
        for i in 0..9 {
            assert_eq!(g.admit_request(i, a, Some("friendly-scanner"), true), Admit::Scanner { ban: None });
        }
        // In-dialog or not, a scanner is a scanner.
        let Admit::Scanner { ban: Some(ban) } = g.admit_request(9, a, Some("SIPVicious"), false) else { panic!("tenth scanner request bans") };
        assert_eq!((ban.reason, ban.failures), (BanReason::Scanner, 100));
        assert!(!g.admit_packet(10, a));
        assert_eq!(g.admit_request(0, ip("198.51.100.5"), Some("Yealink"), true), Admit::Pass);
    }

    #[test]
    fn rate_limit_charges_out_of_dialog_only() {
        let mut g = Guard::new(&strict());
        let a = ip("203.0.113.1");
        let passed = (0..1000).filter(|_| g.admit_request(0, a, None, true) == Admit::Pass).count();
        assert_eq!(passed, 200);
        assert_eq!(g.admit_request(0, a, None, true), Admit::RateLimited { log: false });
        assert_eq!(g.admit_request(0, a, None, false), Admit::Pass, "in-dialog requests are never limited");
        assert_eq!(g.admit_request(0, ip("203.0.113.2"), None, true), Admit::Pass);
        assert_eq!(g.admit_request(1000, a, None, true), Admit::Pass, "refilled");
        assert!(g.report(0, 10).bans.is_empty(), "throttling is not a failure");
    }

    #[test]
    fn exempt_addresses_are_never_touched() {
        let mut g = Guard::new(&GuardConfig::default());
        for lo in [ip("127.0.0.1"), ip("127.0.0.2"), ip("::1")] {
            for i in 0..500 {
                assert_eq!(g.record_failures(i, lo, 1), None);
                assert_eq!(g.admit_request(i, lo, Some("friendly-scanner"), true), Admit::Pass);
            }
            assert!(g.admit_packet(500, lo));
        }
        assert!(g.report(500, 10).offenders.is_empty());
    }
}

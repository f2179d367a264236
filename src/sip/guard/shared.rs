//! Owns the guard handle the endpoint (every packet), the call layer
//! (digest failures) and the app (the API) share: the lock, the wall clock
//! and the log lines (a ban is logged once, when it starts; a throttled
//! address at most once a minute). Must not make decisions: those are
//! `Guard`'s.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Admit, Ban, Guard, GuardConfig, Report};

/// A cheaply cloned handle to one [`Guard`].
#[derive(Clone)]
pub struct SharedGuard {
    inner: Arc<Mutex<Guard>>,
}

/// Unix milliseconds (0 if the clock is before 1970).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 (UTC) of unix milliseconds, for log lines.
pub(crate) fn rfc3339(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    jiff::Timestamp::from_second(secs).map(|t| t.to_string()).unwrap_or_else(|_| secs.to_string())
}

fn log_ban(b: &Ban) {
    tracing::warn!(
        address = %b.address,
        failures = b.failures,
        reason = b.reason.as_str(),
        until = %rfc3339(b.until_ms),
        "SIP address banned: its requests are dropped unanswered"
    );
}

impl SharedGuard {
    pub fn new(cfg: &GuardConfig) -> SharedGuard {
        SharedGuard { inner: Arc::new(Mutex::new(Guard::new(cfg))) }
    }

    /// The guard, even if a holder panicked: its tables stay consistent
    /// between calls (every method finishes its updates before returning),
    /// and refusing all SIP because of one panic would be worse.
    fn lock(&self) -> MutexGuard<'_, Guard> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a packet from `ip` may be parsed at all.
    pub fn admit_packet(&self, ip: IpAddr) -> bool {
        self.lock().admit_packet(now_ms(), ip)
    }

    /// Whether a parsed request may go on; logs what it drops.
    pub fn admit_request(&self, source: SocketAddr, user_agent: Option<&str>, out_of_dialog: bool) -> bool {
        let verdict = self.lock().admit_request(now_ms(), source.ip(), user_agent, out_of_dialog);
        match verdict {
            Admit::Pass => true,
            Admit::Scanner { ban } => {
                tracing::debug!(src = %source, user_agent = user_agent.unwrap_or(""), "SIP scanner dropped");
                if let Some(b) = ban {
                    log_ban(&b);
                }
                false
            }
            Admit::RateLimited { log } => {
                if log {
                    tracing::warn!(address = %source.ip(), "SIP rate limit exceeded: dropping out-of-dialog requests (logged once a minute)");
                }
                false
            }
        }
    }

    /// Counts one authentication failure of `ip` (across all usernames).
    pub fn auth_failure(&self, ip: IpAddr) {
        let ban = self.lock().record_failures(now_ms(), ip, 1);
        if let Some(b) = ban {
            log_ban(&b);
        }
    }

    /// Lifts `ip`'s ban; whether there was one.
    pub fn lift(&self, ip: IpAddr) -> bool {
        let lifted = self.lock().lift(now_ms(), ip);
        if lifted {
            tracing::info!(address = %ip, "SIP ban lifted");
        }
        lifted
    }

    /// Current bans and the `top` addresses by recent failures.
    pub fn report(&self, top: usize) -> Report {
        self.lock().report(now_ms(), top)
    }
}

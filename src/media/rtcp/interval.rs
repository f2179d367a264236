//! The RTCP transmission interval, RFC 3550 §6.2 and §6.3.1 (Appendix A.7 `rtcp_interval`).
//!
//! Owns: the arithmetic only. Must not touch: clocks or the random source (the session passes
//! a uniform draw in), so the function is deterministic and testable.

use std::time::Duration;

/// §6.2: recommended minimum interval between reports.
pub const RTCP_MIN_INTERVAL: Duration = Duration::from_secs(5);

/// What the interval depends on (§6.3.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalInput {
    /// Session members including us (2 on a two-party leg once the peer was heard).
    pub members: u32,
    /// Members that sent RTP in the last two intervals, us included.
    pub senders: u32,
    /// Whether we are one of those senders.
    pub we_sent: bool,
    /// RTCP share of the session bandwidth, bytes per second (§6.2: 5 % of the session).
    pub rtcp_bytes_per_sec: f64,
    /// §6.3.2 avg_rtcp_size, bytes including UDP/IP headers.
    pub avg_rtcp_size: f64,
    /// Before our first report §6.2 halves the minimum, so a new member is heard quickly.
    pub initial: bool,
}

/// §6.3.1: deterministic interval Td = max(Tmin, n·C) (senders get a quarter of the RTCP
/// bandwidth when they are at most a quarter of the members), then randomized by
/// `uniform` ∈ [0, 1) into [0.5, 1.5]·Td.
///
/// The RFC then divides by e − 3/2 to offset the bias of *timer reconsideration*. We do not
/// reconsider (membership of a two-party leg does not change during an interval), so there is
/// no bias to offset and the division is left out: reports stay at the 5 s × [0.5, 1.5] the
/// RFC's minimum implies, rather than about 2–6 s.
pub fn report_interval(i: &IntervalInput, uniform: f64) -> Duration {
    let tmin = if i.initial { RTCP_MIN_INTERVAL.as_secs_f64() / 2.0 } else { RTCP_MIN_INTERVAL.as_secs_f64() };
    let members = f64::from(i.members.max(1));
    let senders = f64::from(i.senders.min(i.members));
    let bw = i.rtcp_bytes_per_sec.max(1.0);
    // §6.3.1 step 1: bandwidth split between senders (25 %) and receivers (75 %).
    let (n, share) = if senders > 0.0 && senders <= members * 0.25 {
        if i.we_sent {
            (senders, bw * 0.25)
        } else {
            (members - senders, bw * 0.75)
        }
    } else {
        (members, bw)
    };
    let c = i.avg_rtcp_size.max(1.0) / share;
    let td = (n * c).max(tmin);
    Duration::from_secs_f64(td * (0.5 + uniform.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_party(initial: bool) -> IntervalInput {
        IntervalInput {
            members: 2,
            senders: 2,
            we_sent: true,
            // 64 kbit/s G.711 session -> 5 % = 400 bytes/s of RTCP.
            rtcp_bytes_per_sec: 400.0,
            avg_rtcp_size: 120.0,
            initial,
        }
    }

    #[test]
    fn minimum_dominates_two_party_session() {
        let i = two_party(false);
        assert_eq!(report_interval(&i, 0.0), Duration::from_millis(2500));
        assert_eq!(report_interval(&i, 0.5), Duration::from_secs(5));
        assert_eq!(report_interval(&i, 1.0), Duration::from_millis(7500));
        // §6.2: half the minimum before the first report.
        assert_eq!(report_interval(&two_party(true), 0.5), Duration::from_millis(2500));
    }

    #[test]
    fn large_sessions_scale_with_members() {
        // 1000 receivers, 1 sender (not us), 400 B/s: receivers share 300 B/s ->
        // Td = 999 * 120 / 300 = 399.6 s.
        let i = IntervalInput { members: 1000, senders: 1, we_sent: false, ..two_party(false) };
        let t = report_interval(&i, 0.5).as_secs_f64();
        assert!((t - 399.6).abs() < 1e-6, "{t}");
        // The sender gets its quarter: Td = 1 * 120 / 100 = 1.2 s -> minimum 5 s.
        let i = IntervalInput { we_sent: true, ..i };
        assert_eq!(report_interval(&i, 0.5), Duration::from_secs(5));
    }
}

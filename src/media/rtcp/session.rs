//! Per-leg RTCP session (RFC 3550 §6), sans-IO: the driver feeds received RTP headers,
//! received RTCP datagrams and what it sent, and sends whatever `poll_transmit` returns when
//! `poll_timeout` comes due.
//!
//! Owns: report scheduling, SR vs RR, report blocks (via `quality::ReceiverStats`), LSR/DLSR,
//! round trip, BYE on close. Must not touch: sockets, the system clock (time comes in as
//! `Instant`, wallclock as an NTP value given once at creation), other legs.
//!
//! Scope: one local source and one remote source, which is what a leg of the B2BUA is. A new
//! remote SSRC replaces the old one (the peer re-INVITEd to another source, or was
//! transferred); its statistics start over.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::build::RtcpWriter;
use super::interval::{report_interval, IntervalInput};
use super::packet::{parse_compound, validate_compound, ReportBlock, RtcpPacket, SenderInfo};
use super::RtcpError;
use crate::media::quality::{rtt_from_report, Codec, LegQuality, ReceiverStats};

/// Largest compound we build: SR with one block (52) + SDES with a 255-byte CNAME (268) + BYE.
pub const MAX_COMPOUND_LEN: usize = 512;
/// §6.2: lower-layer (IPv4 + UDP) overhead counted in the average RTCP size.
const UDP_IP_OVERHEAD: f64 = 28.0;
/// §6.2: RTCP gets 5 % of the session bandwidth.
const RTCP_BANDWIDTH_FRACTION: f64 = 0.05;

/// Static parameters of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpConfig {
    /// Our SSRC (the one our RTP carries).
    pub ssrc: u32,
    /// §6.5.1 canonical name, e.g. `user@host`; at most 255 bytes (longer is cut).
    pub cname: Vec<u8>,
    /// RTP clock rate of what we send, for the SR's RTP timestamp.
    pub clock_rate: u32,
    /// Session bandwidth in bit/s (SDP `b=AS`, or the codec's rate with headers).
    pub session_bandwidth_bps: u32,
}

/// The middle 32 bits of a 64-bit NTP timestamp, the unit of LSR and DLSR (§6.4.1).
pub fn ntp_mid32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

fn ntp_from_duration(d: Duration) -> u64 {
    (d.as_secs() << 32) + ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

fn units_65536(d: Duration) -> u32 {
    // DLSR is 16.16 fixed-point seconds; saturate rather than wrap for an absurd delay.
    u32::try_from(d.as_nanos() * 65_536 / 1_000_000_000).unwrap_or(u32::MAX)
}

/// RTCP state of one leg.
pub struct RtcpSession {
    cfg: RtcpConfig,
    rng: StdRng,
    /// `Instant` ↔ NTP mapping: `ntp_at_start` is the wallclock at `start`.
    start: Instant,
    ntp_at_start: u64,
    next_report: Instant,
    initial: bool,
    avg_rtcp_size: f64,
    // What we sent.
    sent_packets: u32,
    sent_octets: u32,
    last_sent: Option<(u32, Instant)>,
    /// Whether we sent RTP during the current / the previous report interval (§6.4: an SR is
    /// due if we sent during either).
    sent_this_interval: bool,
    sent_prev_interval: bool,
    // What we received.
    remote_ssrc: Option<u32>,
    stats: ReceiverStats,
    received_this_interval: bool,
    remote_sent_recently: bool,
    /// (LSR, local arrival) of the last SR from the remote source.
    last_sr: Option<(u32, Instant)>,
    rtt: Option<Duration>,
    remote_bye: bool,
    closing: bool,
    done: bool,
    buf: [u8; MAX_COMPOUND_LEN],
}

impl RtcpSession {
    /// `ntp_now`: the wallclock at `now` as a 64-bit NTP timestamp (the driver reads the
    /// system clock once). `rng_seed` seeds the interval randomization (§6.3.1).
    pub fn new(mut cfg: RtcpConfig, now: Instant, ntp_now: u64, rng_seed: u64) -> Self {
        cfg.cname.truncate(255);
        let clock_rate = cfg.clock_rate.max(1);
        let mut s = RtcpSession {
            cfg,
            rng: StdRng::seed_from_u64(rng_seed),
            start: now,
            ntp_at_start: ntp_now,
            next_report: now,
            initial: true,
            // §6.3.2: start from the probable size of our first compound (RR + SDES) plus UDP/IP.
            avg_rtcp_size: 60.0 + UDP_IP_OVERHEAD,
            sent_packets: 0,
            sent_octets: 0,
            last_sent: None,
            sent_this_interval: false,
            sent_prev_interval: false,
            remote_ssrc: None,
            stats: ReceiverStats::new(clock_rate),
            received_this_interval: false,
            remote_sent_recently: false,
            last_sr: None,
            rtt: None,
            remote_bye: false,
            closing: false,
            done: false,
            buf: [0; MAX_COMPOUND_LEN],
        };
        s.next_report = now + s.interval();
        s
    }

    /// An RTP packet from the peer arrived (header fields only).
    pub fn on_rtp_received(&mut self, ssrc: u32, seq: u16, ts: u32, arrival: Instant) {
        if self.remote_ssrc != Some(ssrc) {
            if self.remote_ssrc.is_some() {
                tracing::debug!(old = ?self.remote_ssrc, new = ssrc, "remote SSRC changed, statistics restart");
            }
            self.remote_ssrc = Some(ssrc);
            self.stats = ReceiverStats::new(self.cfg.clock_rate);
            self.last_sr = None;
        }
        self.stats.on_rtp(seq, ts, arrival);
        self.received_this_interval = true;
        self.remote_sent_recently = true;
    }

    /// We sent an RTP packet with this timestamp and payload size (§6.4.1 counts payload
    /// octets only).
    pub fn on_rtp_sent(&mut self, rtp_ts: u32, payload_len: usize, now: Instant) {
        self.sent_packets = self.sent_packets.wrapping_add(1);
        self.sent_octets = self.sent_octets.wrapping_add(payload_len as u32);
        self.last_sent = Some((rtp_ts, now));
        self.sent_this_interval = true;
    }

    /// A received RTCP datagram. Refused (and ignored) unless it is a valid compound
    /// (Appendix A.2). Learns LSR from the peer's SR, the round trip from a report block about
    /// us, and BYE.
    pub fn handle_rtcp(&mut self, now: Instant, data: &[u8]) -> Result<(), RtcpError> {
        validate_compound(data)?;
        // §6.3.3: the average includes received compounds.
        self.update_avg(data.len());
        for item in parse_compound(data) {
            let (pkt, _) = item?;
            match pkt {
                RtcpPacket::SenderReport(sr) => {
                    if self.is_remote(sr.ssrc) {
                        self.last_sr = Some((ntp_mid32(sr.info.ntp), now));
                    }
                    self.reports_about_us(now, sr.reports.iter());
                }
                RtcpPacket::ReceiverReport(rr) => self.reports_about_us(now, rr.reports.iter()),
                RtcpPacket::Bye(bye) => {
                    if bye.sources().any(|s| self.is_remote(s)) {
                        self.remote_bye = true;
                    }
                }
                RtcpPacket::Sdes(_) | RtcpPacket::Other { .. } => {}
            }
        }
        Ok(())
    }

    /// Before any RTP arrived we accept RTCP from whoever the relay latched.
    fn is_remote(&self, ssrc: u32) -> bool {
        self.remote_ssrc.is_none_or(|r| r == ssrc)
    }

    fn reports_about_us(&mut self, now: Instant, blocks: impl Iterator<Item = ReportBlock>) {
        for b in blocks.filter(|b| b.ssrc == self.cfg.ssrc) {
            if let Some(rtt) = rtt_from_report(ntp_mid32(self.ntp_at(now)), b.lsr, b.dlsr) {
                self.rtt = Some(rtt);
            }
        }
    }

    /// Sends a BYE (in a compound with a final report, §6.1) at the next `poll_transmit`, then
    /// nothing more. §6.3.7 lets a session with fewer than 50 members send BYE at once.
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// When `poll_transmit` next has something: the next report, or now once closing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            None
        } else if self.closing {
            // Any instant not after now means "due": the session start always is.
            Some(self.start)
        } else {
            Some(self.next_report)
        }
    }

    /// The compound to send now, if one is due: SR if we sent RTP in this or the previous
    /// interval (§6.4), else RR; then SDES CNAME (§6.1 requires it in every compound); then BYE
    /// once closing.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<&[u8]> {
        if self.done || (!self.closing && now < self.next_report) {
            return None;
        }
        let n = match self.build_compound(now) {
            Ok(n) => n,
            Err(e) => {
                // Unreachable by construction (the buffer fits the largest compound); skip the
                // report rather than take the leg down.
                tracing::warn!(error = %e, "RTCP compound did not fit");
                return None;
            }
        };
        self.update_avg(n);
        if self.closing {
            self.done = true;
        } else {
            self.initial = false;
            self.sent_prev_interval = self.sent_this_interval;
            self.sent_this_interval = false;
            self.remote_sent_recently = self.received_this_interval;
            self.received_this_interval = false;
            self.next_report = now + self.interval();
        }
        self.buf.get(..n)
    }

    fn build_compound(&mut self, now: Instant) -> Result<usize, RtcpError> {
        let mut block = [ReportBlock::default(); 1];
        let blocks: &[ReportBlock] = match self.report_block(now) {
            Some(b) => {
                block[0] = b;
                &block
            }
            None => &[],
        };
        let ntp = self.ntp_at(now);
        let sender = self.we_sent().then(|| self.sender_info(now, ntp));
        let mut w = RtcpWriter::new(&mut self.buf);
        match sender {
            Some(info) => w.sender_report(self.cfg.ssrc, &info, blocks)?,
            None => w.receiver_report(self.cfg.ssrc, blocks)?,
        }
        w.sdes_cname(self.cfg.ssrc, &self.cfg.cname)?;
        if self.closing {
            w.bye(&[self.cfg.ssrc], None)?;
        }
        Ok(w.finish())
    }

    /// §6.4.1 sender info: the RTP timestamp is extrapolated from the last packet sent to the
    /// instant of the NTP timestamp, so the peer can line the two clocks up.
    fn sender_info(&self, now: Instant, ntp: u64) -> SenderInfo {
        let rtp_ts = match self.last_sent {
            Some((ts, at)) => {
                let elapsed = now.saturating_duration_since(at);
                let units = elapsed.as_nanos() * u128::from(self.cfg.clock_rate) / 1_000_000_000;
                ts.wrapping_add(units as u32)
            }
            None => 0,
        };
        SenderInfo { ntp, rtp_ts, packet_count: self.sent_packets, octet_count: self.sent_octets }
    }

    /// A report block about the remote source if it sent since our last report (§6.4).
    fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        let ssrc = self.remote_ssrc?;
        if !self.received_this_interval || self.stats.expected() == 0 {
            return None;
        }
        let r = self.stats.report();
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => (lsr, units_65536(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost: r.fraction_lost,
            cumulative_lost: r.cumulative_lost,
            ext_highest_seq: r.ext_highest_seq,
            jitter: r.jitter,
            lsr,
            dlsr,
        })
    }

    fn we_sent(&self) -> bool {
        self.sent_this_interval || self.sent_prev_interval
    }

    fn interval(&mut self) -> Duration {
        let members = if self.remote_ssrc.is_some() { 2 } else { 1 };
        let senders = u32::from(self.we_sent()) + u32::from(self.remote_sent_recently || self.received_this_interval);
        let input = IntervalInput {
            members,
            senders,
            we_sent: self.we_sent(),
            rtcp_bytes_per_sec: f64::from(self.cfg.session_bandwidth_bps) * RTCP_BANDWIDTH_FRACTION / 8.0,
            avg_rtcp_size: self.avg_rtcp_size,
            initial: self.initial,
        };
        report_interval(&input, self.rng.gen::<f64>())
    }

    /// §6.3.3: avg_rtcp_size = 1/16 · packet_size + 15/16 · avg_rtcp_size.
    fn update_avg(&mut self, len: usize) {
        self.avg_rtcp_size += (len as f64 + UDP_IP_OVERHEAD - self.avg_rtcp_size) / 16.0;
    }

    fn ntp_at(&self, now: Instant) -> u64 {
        self.ntp_at_start.wrapping_add(ntp_from_duration(now.saturating_duration_since(self.start)))
    }

    /// Round trip from the peer's last report about us (§6.4.1).
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }
    /// The source we are receiving, once RTP arrived.
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.remote_ssrc
    }
    /// The peer said BYE for its source.
    pub fn remote_bye(&self) -> bool {
        self.remote_bye
    }
    /// Receive statistics of the current remote source.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }
    /// Quality snapshot; `local_delay_ms` is our packetization + jitter-buffer delay.
    pub fn quality(&self, codec: Codec, local_delay_ms: f64) -> LegQuality {
        self.stats.quality(self.rtt, codec, local_delay_ms)
    }
}

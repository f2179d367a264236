//! Terminated media legs: the appliance itself is the RTP peer (IVR,
//! conference, recorder bridge), unlike `relay`, which only forwards. The
//! sans-IO `LegMedia` does the work; `spawn` runs it in a tokio task with
//! the leg's two sockets and a 20 ms tick, attached to an application
//! `MediaPort`. Must not touch SIP; the call layer hands in the negotiated
//! codec and remote address and receives digits and a timeout.
//!
//! Source check: the driver only hands each datagram's source address to
//! `LegMedia`, whose latches decide (symmetric RTP, see `leg`); it sends
//! to the destinations `LegMedia` names and logs what was dropped.

mod leg;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub use leg::{ForeignDrops, LegConfig, LegError, LegMedia, RxVerdict};

use crate::media::dtmf::{Digit, DtmfEvent, MergedDigit};
use crate::media::quality::LegQuality;
use crate::media::{MediaPort, PortPair};

/// What a running leg reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EndpointEvent {
    /// A de-duplicated digit (RFC 4733, SIP INFO or in-band).
    Dtmf(MergedDigit),
    /// No RTP for the configured inactivity time.
    Timeout,
}

enum Command {
    SetRemote(SocketAddr, Option<SocketAddr>),
    InfoDtmf(DtmfEvent),
    SendDtmf(Digit),
    Stop,
}

/// The call layer's grip on a running leg. Dropping it stops the leg.
pub struct EndpointHandle {
    cmd: mpsc::UnboundedSender<Command>,
    /// `None` when the sockets could not be moved to the media shard.
    join: JoinHandle<Option<LegQuality>>,
    local_rtp: SocketAddr,
}

impl EndpointHandle {
    pub fn local_rtp(&self) -> SocketAddr {
        self.local_rtp
    }
    /// The peer's media address (SDP); updated by re-INVITEs.
    pub fn set_remote(&self, rtp: SocketAddr, rtcp: Option<SocketAddr>) {
        let _ = self.cmd.send(Command::SetRemote(rtp, rtcp));
    }
    /// A digit that arrived by SIP INFO on this leg's dialog.
    pub fn info_dtmf(&self, ev: DtmfEvent) {
        let _ = self.cmd.send(Command::InfoDtmf(ev));
    }
    /// Sends a digit to the peer as RFC 4733 telephone-events.
    pub fn send_dtmf(&self, digit: Digit) {
        let _ = self.cmd.send(Command::SendDtmf(digit));
    }
    /// Stops the leg (sending RTCP BYE), waits for it and returns its
    /// receive quality; the ports are free when this returns.
    pub async fn shutdown(self) -> Option<LegQuality> {
        let _ = self.cmd.send(Command::Stop);
        self.join.await.ok().flatten()
    }
}

/// Runs `leg` on `pair`'s sockets, feeding `port` every 20 ms, on a media
/// shard (`media::shard`: the socket's wake-ups and the 20 ms tick stay on
/// one thread).
pub fn spawn<P: MediaPort + Send + 'static>(
    pair: PortPair,
    leg: LegMedia,
    port: P,
    remote: Option<(SocketAddr, Option<SocketAddr>)>,
    inactivity: Duration,
) -> (EndpointHandle, mpsc::UnboundedReceiver<EndpointEvent>) {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let local_rtp = pair.rtp_addr();
    // `run` itself attaches the sockets: an async block around it would hold
    // the 23 KB `LegMedia` twice (its capture and the inner future's). Boxed
    // for the same reason: an async fn keeps a by-value argument both as
    // the argument and as the body's local (51 KB futures before).
    let join = crate::media::shard::MediaShards::global().spawn(run(pair.detach(), Box::new(leg), port, remote, inactivity, cmd_rx, ev_tx));
    (EndpointHandle { cmd: cmd_tx, join, local_rtp }, ev_rx)
}

async fn run<P: MediaPort>(
    detached: std::io::Result<crate::media::ports::DetachedPair>,
    mut leg: Box<LegMedia>,
    mut port: P,
    remote: Option<(SocketAddr, Option<SocketAddr>)>,
    inactivity: Duration,
    mut cmds: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<EndpointEvent>,
) -> Option<LegQuality> {
    // Registered from inside the shard, so readiness comes from its reactor.
    let pair = match detached.and_then(|p| p.attach()) {
        Ok(pair) => pair,
        Err(e) => {
            // The ports are released; the call ends as on an RTP timeout.
            tracing::warn!("media sockets not moved to a media shard: {e}");
            let _ = events.send(EndpointEvent::Timeout);
            return None;
        }
    };
    let mut rtp_buf = [0u8; 2048];
    let mut rtcp_buf = [0u8; 2048];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    // A late tick must not be followed by a burst: the jitter buffer and the
    // peer expect one packet per 20 ms.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let started = Instant::now();
    let local = pair.rtp_addr();
    leg.set_remote(remote.map(|r| r.0), remote.and_then(|r| r.1));
    loop {
        tokio::select! {
            r = pair.rtp.recv_from(&mut rtp_buf) => {
                if let Ok((n, src)) = r {
                    let v = leg.on_rtp(Instant::now().into_std(), src, &rtp_buf[..n]);
                    on_verdict(v, &leg, local, "rtp", src);
                }
            }
            r = pair.rtcp.recv_from(&mut rtcp_buf) => {
                if let Ok((n, src)) = r {
                    let v = leg.on_rtcp(Instant::now().into_std(), src, &rtcp_buf[..n]);
                    on_verdict(v, &leg, local, "rtcp", src);
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(Command::SetRemote(rtp, rtcp)) => {
                    if leg.set_remote(Some(rtp), rtcp) {
                        tracing::debug!(%local, %rtp, ?rtcp, "remote media address changed: latches reset");
                    }
                }
                Some(Command::InfoDtmf(ev)) => leg.on_info_dtmf(Instant::now().into_std(), &ev),
                Some(Command::SendDtmf(d)) => {
                    if !leg.send_dtmf(d) {
                        tracing::debug!("digit not sent: no telephone-event negotiated");
                    }
                }
                Some(Command::Stop) | None => break,
            },
            _ = tick.tick() => {
                let now = Instant::now().into_std();
                // Symmetric RTP: answer where the peer really sends from.
                let dest = leg.rtp_destination();
                if let Some(pkt) = leg.tick(now, &mut port) {
                    if let Some(d) = dest {
                        let _ = pair.rtp.try_send_to(pkt, d);
                    }
                }
                let rtcp_dest = leg.rtcp_destination();
                if let Some(pkt) = leg.poll_rtcp(now) {
                    if let Some(d) = rtcp_dest {
                        let _ = pair.rtcp.try_send_to(pkt, d);
                    }
                }
                while let Some(d) = leg.poll_dtmf() {
                    let _ = events.send(EndpointEvent::Dtmf(d));
                }
                let last = leg.last_rtp().unwrap_or(started.into_std());
                if now.saturating_duration_since(last) >= inactivity {
                    let _ = events.send(EndpointEvent::Timeout);
                    break;
                }
            }
        }
    }
    leg.close();
    let now = Instant::now().into_std();
    let dest = leg.rtcp_destination();
    if let (Some(pkt), Some(d)) = (leg.poll_rtcp(now), dest) {
        let _ = pair.rtcp.try_send_to(pkt, d);
    }
    let dropped = leg.dropped_foreign();
    if dropped.total() > 0 {
        tracing::info!(%local, peer = ?leg.rtp_source(), dropped_foreign_rtp = dropped.rtp, dropped_foreign_rtcp = dropped.rtcp, "media from foreign sources dropped");
    }
    Some(leg.quality())
}

/// Logs latching, and the first datagram dropped as foreign (the count is
/// logged when the leg ends). Nothing is formatted for the common verdicts.
fn on_verdict(v: RxVerdict, leg: &LegMedia, local: SocketAddr, stream: &'static str, src: SocketAddr) {
    match v {
        RxVerdict::Accepted | RxVerdict::Malformed => {}
        RxVerdict::Latched(addr) => tracing::debug!(%local, stream, %addr, "latched"),
        RxVerdict::Foreign => {
            if leg.dropped_foreign().total() == 1 {
                let peer = if stream == "rtp" { leg.rtp_source() } else { leg.rtcp_source() };
                tracing::warn!(%local, stream, %src, ?peer, "media from a foreign source dropped (after latching)");
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::CodecKind;
    use crate::media::AudioFrame;

    struct Silent;
    impl MediaPort for Silent {
        fn rate(&self) -> u32 {
            16000
        }
        fn put_frame(&mut self, _: &AudioFrame) {}
        fn get_frame(&mut self, _: &mut AudioFrame) -> bool {
            false
        }
    }

    #[test]
    fn a_legs_task_future_does_not_hold_the_leg_inline() {
        // Memory per call: the task future lives as long as the call. With
        // `LegMedia` (23 KB) by value it was 51 KB (the argument and the
        // body's copy); boxed it is a few KB.
        let (_cmd, cmds) = mpsc::unbounded_channel();
        let (events, _ev) = mpsc::unbounded_channel();
        let cfg = LegConfig { codec: CodecKind::Pcmu, pt: 0, dtmf_pt: Some(101), dtmf_clock: 8000, inband_dtmf: true, cname: "t@x".into(), opus_complexity: 5 };
        let leg = LegMedia::new(cfg, 16000, std::time::Instant::now()).expect("leg");
        assert!(std::mem::size_of::<LegMedia>() > 16 * 1024, "the leg is big enough for this to matter");
        let f = run(Err(std::io::Error::other("not started")), Box::new(leg), Silent, None, Duration::from_secs(1), cmds, events);
        assert!(std::mem::size_of_val(&f) < 8 * 1024, "task future {} bytes", std::mem::size_of_val(&f));
    }
}

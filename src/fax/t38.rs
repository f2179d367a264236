//! The T.38 driver: one task per fax session that moves IFP packets between
//! the spandsp T.38 terminal and a UDP socket, framed by our `Udptl`, and
//! runs the terminal's clock every 20 ms. Thin by design: the protocol is
//! in `engine` (T.30/T.38) and `udptl` (framing, redundancy, recovery).
//!
//! Source policy (issue 9, as the RTP relay and terminated RTP legs): a
//! `media::latch::Latch` in the sans-IO `SourceCheck`. We send to the SDP
//! address until the first *valid* UDPTL datagram arrives; its source (a
//! NAT's public address, say) becomes the peer and where we send, and
//! datagrams from any other source are dropped unparsed and counted
//! (`T38Stats::foreign`). Malformed datagrams are counted and dropped (the
//! first one logged) and never latched onto. A session's remote never
//! changes (a re-INVITE on T.38 is refused), so the latch is never reset.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::engine::{FaxEvent, T38Terminal};
use super::udptl::{self, Udptl, UdptlError, UdptlStats};
use crate::media::{Latch, LatchDecision};
use crate::media::PortPair;

/// spandsp's clock step: 20 ms at 8 kHz.
const TICK: Duration = Duration::from_millis(20);
const TICK_SAMPLES: u32 = 160;
/// After phase E, keep sending what spandsp still queued (the final DCN
/// and its repeats) for this long.
const DRAIN: Duration = Duration::from_millis(300);

/// A running T.38 session.
pub struct T38Session {
    pub events: mpsc::UnboundedReceiver<FaxEvent>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<T38Stats>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct T38Stats {
    pub udptl: UdptlStats,
    pub malformed: u64,
    pub foreign: u64,
}

impl T38Session {
    /// Starts moving packets on `pair`'s RTP socket (UDPTL takes the place
    /// of the audio); the port stays leased until the session ends.
    pub fn spawn(pair: PortPair, remote: SocketAddr, terminal: T38Terminal, udptl: Udptl) -> T38Session {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let done = tokio::spawn(run(pair, remote, terminal, udptl, tx, stop_rx));
        T38Session { events: rx, stop: Some(stop_tx), done }
    }

    /// Ends the session (hang-up): spandsp reports phase E (call dropped)
    /// unless it finished. Returns the transport counters.
    pub async fn stop(mut self) -> T38Stats {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.done).await.unwrap_or_default()
    }
}

/// What the source check makes of one received datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// From the latched peer: take it.
    Take,
    /// The first valid datagram: take it; its source is the peer from now on.
    Latched(SocketAddr),
    /// From another source than the latched peer: dropped.
    Foreign,
    /// Not a UDPTL datagram: dropped, never latched onto.
    Malformed(UdptlError),
}

/// The UDPTL socket's source check (sans-IO): symmetric latching on the
/// first valid datagram, as `media::latch` does for RTP.
#[derive(Debug, Clone)]
pub struct SourceCheck {
    latch: Latch,
    foreign: u64,
}

impl SourceCheck {
    /// `remote`: the UDPTL address the peer's SDP named.
    pub fn new(remote: SocketAddr) -> Self {
        SourceCheck { latch: Latch::new(Some(remote)), foreign: 0 }
    }

    /// Decides on `datagram` from `from` (validated before the latch sees it).
    pub fn admit(&mut self, from: SocketAddr, datagram: &[u8]) -> Admit {
        if let Err(e) = udptl::decode(datagram) {
            return Admit::Malformed(e);
        }
        match self.latch.on_packet(from) {
            LatchDecision::Accept => Admit::Take,
            LatchDecision::Latched(a) => Admit::Latched(a),
            LatchDecision::Reject => {
                self.foreign += 1;
                Admit::Foreign
            }
        }
    }

    /// Where we send: the latched source, else the SDP address.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.latch.destination()
    }

    /// The peer's source, once latched.
    pub fn latched(&self) -> Option<SocketAddr> {
        self.latch.latched()
    }

    /// Datagrams dropped because they came from someone other than the peer.
    pub fn foreign(&self) -> u64 {
        self.foreign
    }
}

async fn run(
    pair: PortPair,
    remote: SocketAddr,
    mut terminal: T38Terminal,
    mut udptl: Udptl,
    events: mpsc::UnboundedSender<FaxEvent>,
    mut stop: oneshot::Receiver<()>,
) -> T38Stats {
    let socket: &UdpSocket = &pair.rtp;
    let mut stats = T38Stats::default();
    let mut source = SourceCheck::new(remote);
    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut drain_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                terminal.advance(TICK_SAMPLES);
            }
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                match source.admit(from, &buf[..n]) {
                    Admit::Take => {}
                    Admit::Latched(addr) => tracing::debug!(%addr, sdp = %remote, "UDPTL latched"),
                    Admit::Foreign => {
                        if source.foreign() == 1 {
                            tracing::warn!(%from, peer = ?source.latched(), "UDPTL from a foreign source dropped (after latching)");
                        }
                        continue;
                    }
                    Admit::Malformed(e) => {
                        stats.malformed += 1;
                        if stats.malformed == 1 {
                            tracing::warn!(%from, "malformed UDPTL datagram dropped: {e}");
                        }
                        continue;
                    }
                }
                match udptl.receive(&buf[..n]) {
                    Ok(delivered) => {
                        for (seq, ifp) in delivered {
                            terminal.receive_ifp(seq, ifp);
                        }
                    }
                    Err(e) => {
                        stats.malformed += 1;
                        if stats.malformed == 1 {
                            tracing::warn!(%from, "malformed UDPTL datagram dropped: {e}");
                        }
                    }
                }
            }
            _ = &mut stop, if drain_until.is_none() => {
                terminal.terminate();
                drain_until = Some(tokio::time::Instant::now());
            }
        }
        while let Some((ifp, count)) = terminal.poll_ifp() {
            for _ in 0..repeats(&ifp, count) {
                match udptl.send(&ifp) {
                    Ok(datagram) => {
                        let _ = socket.send_to(datagram, source.destination().unwrap_or(remote)).await;
                    }
                    Err(e) => tracing::warn!("IFP not sent: {e}"),
                }
            }
        }
        while let Some(ev) = terminal.poll_event() {
            let _ = events.send(ev);
        }
        if terminal.finished() && drain_until.is_none() {
            drain_until = Some(tokio::time::Instant::now() + DRAIN);
        }
        if drain_until.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
    }
    stats.udptl = udptl.stats();
    stats.foreign = source.foreign();
    if stats.foreign > 0 {
        tracing::info!(foreign = stats.foreign, peer = ?source.latched(), "UDPTL from foreign sources dropped");
    }
    stats
}

/// How many copies of an IFP go out. spandsp asks for repeats of
/// indicators and of the last data packet of a signal; indicators are
/// repeated as asked (there is no earlier packet whose redundancy could
/// carry them), data packets are sent once because every later datagram
/// repeats them anyway (redundancy), and a repeated end-of-signal data
/// packet reads as a broken fragment to receivers that reassemble
/// (Wireshark flags it malformed). In PER, the IFP's first bit is the
/// data-field presence and the second the type-of-msg choice: 0 is
/// t30-indicator.
fn repeats(ifp: &[u8], count: u8) -> u8 {
    match ifp.first() {
        Some(b) if b & 0x40 == 0 => count.max(1),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::{Admit, SourceCheck};
    use crate::fax::udptl::{encode, Entries, ErrorRecovery, UdptlPacket};
    use std::net::SocketAddr;

    fn datagram(seq: u16) -> Vec<u8> {
        let primary = [0x02u8];
        let p = UdptlPacket { seq, primary: &primary, recovery: ErrorRecovery::Secondary(Entries::from_slices(&[])) };
        let mut out = vec![0u8; 64];
        let n = encode(&p, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn udptl_latches_on_the_first_valid_source_and_drops_the_rest() {
        // A NAT'd gateway: SDP names a private address, it sends from a public one.
        let sdp: SocketAddr = "10.0.0.5:5000".parse().unwrap();
        let public: SocketAddr = "203.0.113.7:31000".parse().unwrap();
        let evil: SocketAddr = "127.0.0.66:5000".parse().unwrap();
        let mut check = SourceCheck::new(sdp);
        assert_eq!(check.destination(), Some(sdp), "before latching we send to the SDP address");
        // Junk does not latch.
        assert!(matches!(check.admit(evil, &[0xff]), Admit::Malformed(_)));
        assert_eq!(check.latched(), None);
        // The first valid datagram does, from wherever it comes (NAT).
        assert_eq!(check.admit(public, &datagram(0)), Admit::Latched(public));
        assert_eq!(check.destination(), Some(public));
        assert_eq!(check.admit(public, &datagram(1)), Admit::Take);
        // A third party's valid datagrams are dropped and counted, even from the SDP address.
        assert_eq!(check.admit(evil, &datagram(2)), Admit::Foreign);
        assert_eq!(check.admit(sdp, &datagram(2)), Admit::Foreign);
        assert_eq!(check.foreign(), 2);
        assert_eq!(check.admit(public, &datagram(2)), Admit::Take);
        assert_eq!(check.destination(), Some(public));
    }

    #[test]
    fn indicators_repeat_data_does_not() {
        // t30-indicator CNG (no data field): 0b0000_0010 << 1 in PER.
        assert_eq!(super::repeats(&[0x02], 3), 3);
        // t30-data v17-14400 with a data field: presence 1, choice 1.
        assert_eq!(super::repeats(&[0xc0 | 0x08, 0x01], 3), 1);
        assert_eq!(super::repeats(&[], 3), 1);
    }
}

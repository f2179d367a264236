//! The T.38 driver: one task per fax session that moves IFP packets between
//! the spandsp T.38 terminal and a UDP socket, framed by our `Udptl`, and
//! runs the terminal's clock every 20 ms. Thin by design: the protocol is
//! in `engine` (T.30/T.38) and `udptl` (framing, redundancy, recovery).
//!
//! Source policy: datagrams are accepted only from the address the SDP
//! named, by IP; the first one fixes the port we answer to (NAT), after
//! which others from a different port are ignored too. Malformed
//! datagrams are counted and dropped, the first one logged.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::engine::{FaxEvent, T38Terminal};
use super::udptl::{Udptl, UdptlStats};
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

async fn run(
    pair: PortPair,
    mut remote: SocketAddr,
    mut terminal: T38Terminal,
    mut udptl: Udptl,
    events: mpsc::UnboundedSender<FaxEvent>,
    mut stop: oneshot::Receiver<()>,
) -> T38Stats {
    let socket: &UdpSocket = &pair.rtp;
    let mut stats = T38Stats::default();
    let mut latched = false;
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
                if from.ip() != remote.ip() || (latched && from != remote) {
                    stats.foreign += 1;
                    continue;
                }
                if !latched {
                    latched = true;
                    remote = from;
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
                        let _ = socket.send_to(datagram, remote).await;
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
    #[test]
    fn indicators_repeat_data_does_not() {
        // t30-indicator CNG (no data field): 0b0000_0010 << 1 in PER.
        assert_eq!(super::repeats(&[0x02], 3), 3);
        // t30-data v17-14400 with a data field: presence 1, choice 1.
        assert_eq!(super::repeats(&[0xc0 | 0x08, 0x01], 3), 1);
        assert_eq!(super::repeats(&[], 3), 1);
    }
}

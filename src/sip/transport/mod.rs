//! SIP transports (RFC 3261 §18): one UDP socket and one TCP listener on the
//! same address, plus outgoing TCP connections that are reused for later
//! requests to the same peer, and optionally a TLS listener (`tls`) whose
//! connections share TCP's stream handling. Owns sockets and framing only;
//! everything that arrives goes up as raw bytes with its source, and
//! parsing happens above. WebSocket would slot in as a further
//! `TransportKind` with its own connection tasks feeding the same
//! `Inbound` channel.

mod tcp;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Receive buffer asked for on the SIP UDP socket. The kernel's default
/// (208 KB) overflowed at 2000 calls/s in bursts, and every datagram lost
/// there costs a retransmission timer (500 ms and up) and often a call.
/// Linux caps the request at `net.core.rmem_max`.
const UDP_RECEIVE_BUFFER: usize = 4 * 1024 * 1024;
/// Below this the log says how to raise the cap.
const UDP_RECEIVE_BUFFER_LOW: usize = 1024 * 1024;

/// Largest datagram we accept; bigger ones are truncated by the kernel and
/// then refused by the parser's size limit.
const MAX_DATAGRAM: usize = 65_535;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    Udp,
    Tcp,
    Tls,
}

impl TransportKind {
    /// Upper-case token used in Via (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
        }
    }
    /// Lower-case token used in URI `transport=` params and the database.
    pub fn param(self) -> &'static str {
        match self {
            TransportKind::Udp => "udp",
            TransportKind::Tcp => "tcp",
            TransportKind::Tls => "tls",
        }
    }
    pub fn parse(s: &str) -> Option<TransportKind> {
        match s.to_ascii_lowercase().as_str() {
            "udp" => Some(TransportKind::Udp),
            "tcp" => Some(TransportKind::Tcp),
            "tls" => Some(TransportKind::Tls),
            _ => None,
        }
    }
    pub fn is_reliable(self) -> bool {
        matches!(self, TransportKind::Tcp | TransportKind::Tls)
    }
}

/// One message's bytes as received, before parsing.
#[derive(Debug)]
pub struct Inbound {
    pub bytes: Vec<u8>,
    pub source: SocketAddr,
    pub transport: TransportKind,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The listening sockets could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    /// Sending failed (UDP error, TCP connect or write failure).
    #[error("sending to {dest} over {kind:?}: {source}")]
    Send { dest: SocketAddr, kind: TransportKind, source: std::io::Error },
}

/// Where SIP over TLS listens, the server configuration (certificate
/// resolver) its handshakes use, and how long a connection may be silent:
/// a phone is reachable only over its own connection, so this should
/// outlast its registration interval.
#[derive(Clone)]
pub struct TlsListen {
    pub addr: SocketAddr,
    pub config: Arc<rustls::ServerConfig>,
    pub idle: std::time::Duration,
}

/// Handle to the transports; cheap to clone.
#[derive(Clone)]
pub struct Transports {
    udp: Arc<UdpSocket>,
    local: SocketAddr,
    tcp: tcp::Connections,
    /// The TLS listener's bound address and its connections.
    tls: Option<(SocketAddr, tcp::Connections)>,
}

impl Transports {
    /// Binds UDP and TCP on `addr` (and TLS on `tls.addr`) and starts
    /// receiving; every message goes to `inbound`.
    pub async fn bind(addr: SocketAddr, tls: Option<TlsListen>, inbound: mpsc::Sender<Inbound>) -> Result<Transports, TransportError> {
        let bind_err = |source| TransportError::Bind { addr, source };
        let udp = Arc::new(UdpSocket::bind(addr).await.map_err(bind_err)?);
        let local = udp.local_addr().map_err(bind_err)?;
        grow_receive_buffer(&udp, local);
        // TCP on the very port UDP got, so `:0` in tests yields one port for both.
        let listener = tokio::net::TcpListener::bind(local).await.map_err(bind_err)?;
        let tls = match tls {
            None => None,
            Some(t) => {
                let tls_err = |source| TransportError::Bind { addr: t.addr, source };
                let listener = tls::bind(t.addr).await.map_err(tls_err)?;
                let bound = listener.local_addr().map_err(tls_err)?;
                let conns = tcp::Connections::new(inbound.clone(), TransportKind::Tls, t.idle);
                tokio::spawn(tls::accept_loop(conns.clone(), listener, t.config));
                Some((bound, conns))
            }
        };
        let tcp = tcp::Connections::new(inbound.clone(), TransportKind::Tcp, tcp::IDLE_TIMEOUT);
        tokio::spawn(udp_receive(udp.clone(), inbound));
        tokio::spawn(tcp.clone().accept_loop(listener));
        Ok(Transports { udp, local, tcp, tls })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The TLS listener's bound address, when it runs.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(a, _)| *a)
    }

    pub async fn send(&self, kind: TransportKind, dest: SocketAddr, bytes: &[u8]) -> Result<(), TransportError> {
        match kind {
            TransportKind::Udp => {
                self.udp.send_to(bytes, dest).await.map(|_| ()).map_err(|source| TransportError::Send { dest, kind, source })
            }
            TransportKind::Tcp => self.tcp.send(dest, bytes.to_vec()).await.map_err(|source| TransportError::Send { dest, kind, source }),
            TransportKind::Tls => match &self.tls {
                Some((_, conns)) => conns.send(dest, bytes.to_vec()).await.map_err(|source| TransportError::Send { dest, kind, source }),
                None => Err(TransportError::Send { dest, kind, source: std::io::Error::new(std::io::ErrorKind::NotConnected, "SIP over TLS is off") }),
            },
        }
    }

    /// Open TCP connections, for diagnostics and tests.
    pub fn tcp_connection_count(&self) -> usize {
        self.tcp.count()
    }

    /// Open TLS connections, for diagnostics and tests.
    pub fn tls_connection_count(&self) -> usize {
        self.tls.as_ref().map(|(_, c)| c.count()).unwrap_or(0)
    }
}

/// Asks for [`UDP_RECEIVE_BUFFER`]; a smaller buffer works, so failing to
/// grow it is logged, not fatal.
fn grow_receive_buffer(udp: &UdpSocket, local: SocketAddr) {
    let sock = socket2::SockRef::from(udp);
    if let Err(e) = sock.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        tracing::warn!(%local, "SIP UDP receive buffer not grown: {e}");
    }
    match sock.recv_buffer_size() {
        // Linux reports twice the usable size (the other half is bookkeeping).
        Ok(got) if got / 2 < UDP_RECEIVE_BUFFER_LOW => tracing::warn!(
            %local,
            bytes = got / 2,
            "SIP UDP receive buffer is small: bursts of requests may be dropped; raise the sysctl net.core.rmem_max to {UDP_RECEIVE_BUFFER}"
        ),
        Ok(got) => tracing::debug!(%local, bytes = got / 2, "SIP UDP receive buffer"),
        Err(e) => tracing::debug!(%local, "SIP UDP receive buffer size unknown: {e}"),
    }
}

async fn udp_receive(sock: Arc<UdpSocket>, inbound: mpsc::Sender<Inbound>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, source)) => {
                // A lone CRLF (RFC 5626 keepalive) carries no message.
                let data = &buf[..n];
                if data.iter().all(|b| *b == b'\r' || *b == b'\n') {
                    continue;
                }
                let msg = Inbound { bytes: data.to_vec(), source, transport: TransportKind::Udp };
                if inbound.send(msg).await.is_err() {
                    return;
                }
            }
            // ICMP port unreachable surfaces here on Linux; it must not stop
            // the socket.
            Err(e) => tracing::debug!("udp receive: {e}"),
        }
    }
}

/// Shared map type for TCP connections, keyed by the remote address.
type ConnMap = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIP socket gets the buffer asked for, up to what the kernel
    /// allows (`net.core.rmem_max`); Linux reports twice the usable size.
    #[tokio::test]
    async fn the_udp_socket_asks_for_a_large_receive_buffer() {
        let (tx, _rx) = mpsc::channel(1);
        let t = Transports::bind("127.0.0.1:0".parse().unwrap(), None, tx).await.unwrap();
        let cap: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max").unwrap().trim().parse().unwrap();
        let got = socket2::SockRef::from(&*t.udp).recv_buffer_size().unwrap();
        assert!(got >= 2 * UDP_RECEIVE_BUFFER.min(cap), "receive buffer {got} bytes (rmem_max {cap})");
    }
}

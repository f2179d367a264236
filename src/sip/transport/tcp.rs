//! SIP over stream connections: accepted and outgoing TCP connections and
//! accepted TLS ones (`tls`), framed by Content-Length (RFC 3261 §18.3),
//! with CRLF keepalives (RFC 5626 §3.5.1) answered. Generic over the byte
//! stream: one [`Connections`] per transport keeps its connections in a
//! map by remote address so a response or a later request to the same peer
//! reuses them (for TLS, the only way to reach a phone: no outgoing TLS).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{ConnMap, Inbound, TransportKind};
use crate::sip::message::{frame_stream, Framing, MAX_MESSAGE_SIZE};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A TCP connection with no traffic for this long is closed (TLS ones get
/// their own, see `TlsListen::idle`).
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Bound on simultaneous connections of one transport, accepted plus outgoing.
pub(super) const MAX_CONNECTIONS: usize = 4096;

#[derive(Clone)]
pub(super) struct Connections {
    map: ConnMap,
    inbound: mpsc::Sender<Inbound>,
    /// What arriving messages are marked with; only `Tcp` dials out.
    kind: TransportKind,
    /// Silence after which a connection is closed.
    idle: Duration,
}

impl Connections {
    pub(super) fn new(inbound: mpsc::Sender<Inbound>, kind: TransportKind, idle: Duration) -> Self {
        Connections { map: Default::default(), inbound, kind, idle }
    }

    pub(super) fn count(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub(super) async fn accept_loop(self, listener: tokio::net::TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    if self.count() >= MAX_CONNECTIONS {
                        tracing::warn!(%peer, "tcp connection refused: limit of {MAX_CONNECTIONS} reached");
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    self.start(stream, peer);
                }
                Err(e) => {
                    tracing::warn!("tcp accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    pub(super) async fn send(&self, dest: SocketAddr, bytes: Vec<u8>) -> std::io::Result<()> {
        let existing = self.map.lock().ok().and_then(|m| m.get(&dest).cloned());
        let tx = match existing {
            Some(tx) => tx,
            None if self.kind != TransportKind::Tcp => {
                return Err(std::io::Error::new(std::io::ErrorKind::NotConnected, "no open connection from that peer (outgoing TLS is not supported)"));
            }
            None => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(dest))
                    .await
                    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
                let _ = stream.set_nodelay(true);
                self.start(stream, dest)
            }
        };
        tx.send(bytes).await.map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "connection closed"))
    }

    /// Serves an established connection (a TLS one after its handshake).
    pub(super) fn start<S>(&self, stream: S, peer: SocketAddr) -> mpsc::Sender<Vec<u8>>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(64);
        if let Ok(mut m) = self.map.lock() {
            m.insert(peer, tx.clone());
        }
        let this = self.clone();
        let keepalive_tx = tx.clone();
        tokio::spawn(async move {
            let (read, write) = tokio::io::split(stream);
            let writer = tokio::spawn(write_loop(write, rx));
            if let Err(e) = read_loop(read, peer, (this.kind, this.idle), &this.inbound, keepalive_tx).await {
                tracing::debug!(%peer, transport = this.kind.param(), "connection closed: {e}");
            }
            writer.abort();
            if let Ok(mut m) = this.map.lock() {
                m.remove(&peer);
            }
        });
        tx
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(mut write: W, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        // TLS buffers records: flush each message out.
        if write.write_all(&bytes).await.is_err() || write.flush().await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("idle for {0:?}")]
    Idle(Duration),
    #[error("unframeable stream: {0}")]
    Framing(String),
    #[error("peer closed")]
    Eof,
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut read: R,
    peer: SocketAddr,
    (transport, idle): (TransportKind, Duration),
    inbound: &mpsc::Sender<Inbound>,
    reply: mpsc::Sender<Vec<u8>>,
) -> Result<(), ReadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // Take every complete message out of the buffer before reading more.
        loop {
            match frame_stream(&buf) {
                Framing::Complete(n) => {
                    let bytes: Vec<u8> = buf.drain(..n).collect();
                    if inbound.send(Inbound { bytes, source: peer, transport }).await.is_err() {
                        return Ok(());
                    }
                }
                Framing::KeepAlive(n) => {
                    // A double-CRLF ping is answered with a single CRLF pong.
                    let ping = buf.get(..n).map(|b| b.windows(4).any(|w| w == b"\r\n\r\n")).unwrap_or(false);
                    buf.drain(..n);
                    if ping {
                        let _ = reply.send(b"\r\n".to_vec()).await;
                    }
                }
                Framing::Incomplete => break,
                // Framing is lost for good once a stream misparses: close it.
                Framing::Error(e) => return Err(ReadError::Framing(e.reason)),
            }
        }
        if buf.len() > MAX_MESSAGE_SIZE {
            return Err(ReadError::Framing("message exceeds size limit".into()));
        }
        let n = match tokio::time::timeout(idle, read.read(&mut chunk)).await {
            Err(_) => return Err(ReadError::Idle(idle)),
            Ok(r) => r?,
        };
        if n == 0 {
            return Err(ReadError::Eof);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

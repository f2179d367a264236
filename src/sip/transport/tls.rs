//! SIP over TLS (RFC 3261 §26.2.1, `SIP/2.0/TLS`): a TCP listener whose
//! connections are handed, after the TLS handshake, to the same stream
//! handling as TCP (`tcp::Connections`, framing and keepalives included).
//! Handshakes run in their own tasks with a deadline so a slow or silent
//! client holds up nobody. Server side only: the certificate comes with the
//! `rustls::ServerConfig` the caller gives; requests to a phone go back over
//! the connection it opened (no outgoing TLS, so no trunks over TLS).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::tcp::{Connections, MAX_CONNECTIONS};

/// A client must finish its handshake within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more connections wait in the backlog.
const MAX_HANDSHAKES: usize = 64;

pub(super) async fn accept_loop(conns: Connections, listener: TcpListener, config: Arc<rustls::ServerConfig>) {
    let acceptor = TlsAcceptor::from(config);
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("tls accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if conns.count() >= MAX_CONNECTIONS {
            tracing::warn!(%peer, "tls connection refused: limit of {MAX_CONNECTIONS} reached");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (acceptor, conns) = (acceptor.clone(), conns.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    tracing::debug!(%peer, "tls connection established");
                    conns.start(tls, peer);
                }
                Ok(Err(e)) => tracing::info!(%peer, "tls handshake failed: {e}"),
                Err(_) => tracing::info!(%peer, "tls handshake timed out"),
            }
        });
    }
}

/// Binds the TLS listener (the caller reports a clash at start).
pub(super) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

//! The console over HTTPS (`[http] tls_listen`): a TLS listener for
//! `axum::serve` whose handshakes run in their own tasks (with a deadline)
//! so one slow client never holds up the accept loop, and the middleware
//! that tells the routes which listener a request came through (the
//! session cookie's name and flags and HSTS depend on it, see
//! `auth::Scheme`). The certificate is the `tls` module's, swapped there
//! without a restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::auth::{self, Scheme};

/// A client must finish its handshake within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; later connections wait in the backlog.
const MAX_HANDSHAKES: usize = 64;
/// HSTS lifetime: short, because it binds the host name on every port,
/// the plain console on `[http] listen` included; no preload, no subdomains.
pub const HSTS: &str = "max-age=300";

/// Accepted, handshaken connections for `axum::serve`.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts handshaking connections of `listener` with `config`.
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(MAX_HANDSHAKES);
        tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(TlsListener { rx, local })
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("https accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                // Browsers that do not (yet) trust a self-signed certificate end here.
                Ok(Err(e)) => tracing::debug!(%peer, "https handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "https handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop ended (its listener failed for good): no more connections.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Marks each request with the listener it came through (removing any
/// mark a client sent), and adds HSTS to answers given over HTTPS.
pub async fn mark_scheme(State(scheme): State<Scheme>, mut req: Request, next: Next) -> Response {
    auth::set_scheme(req.headers_mut(), scheme);
    let mut resp = next.run(req).await;
    if scheme == Scheme::Https {
        resp.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    resp
}

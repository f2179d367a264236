//! The SIP stack (RFC 3261 and friends). Layers, bottom up: `message` (wire
//! format), `transport` (sockets), `transaction` (§17 state machines),
//! `endpoint` (the tokio driver joining them), `dialog` (§12), `auth`
//! (digest), `registrar` (§10 rules), `replaces` (RFC 3891), `guard` (bans,
//! scanners and rate limits at the endpoint). Knows nothing about calls, media or
//! the web; the call layer uses it through `Endpoint`.

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod guard;
pub mod message;
pub mod registrar;
pub mod replaces;
pub mod transaction;
pub mod transport;

use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `host:port` (name or address) to the first socket address.
pub fn resolve_host_port(s: &str) -> std::io::Result<SocketAddr> {
    s.to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("no address for {s}")))
}

//! Addresses and the "please send this" record exchanged with the driver.
//! Owns no sockets: the driver maps `Peer` onto a socket or connection.

use std::net::SocketAddr;

use super::key::TransactionKey;
use crate::sip::message::Message;

/// The transport a message travelled over. Only reliability matters here:
/// RFC 3261 §17 skips retransmissions and zeroes wait timers on reliable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
    Sctp,
}

impl Transport {
    /// Everything but UDP delivers in order or reports failure (§18).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

/// Opaque id the transport gives a stream connection, so responses go back
/// on the connection the request arrived on (§18.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionId(pub u64);

/// The remote end of a message: where it came from or where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Peer {
    pub addr: SocketAddr,
    pub transport: Transport,
    pub connection: Option<ConnectionId>,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Self {
        Peer {
            addr,
            transport: Transport::Udp,
            connection: None,
        }
    }
    pub fn tcp(addr: SocketAddr, connection: Option<ConnectionId>) -> Self {
        Peer {
            addr,
            transport: Transport::Tcp,
            connection,
        }
    }
    /// A peer reached over the TLS connection it opened.
    pub fn tls(addr: SocketAddr) -> Self {
        Peer {
            addr,
            transport: Transport::Tls,
            connection: None,
        }
    }
    /// The peer of a registration: its source address and the transport
    /// named as stored ("udp", "tcp", "tls"; anything else is UDP).
    pub fn registered(transport: &str, addr: SocketAddr) -> Self {
        match transport {
            "tcp" => Peer::tcp(addr, None),
            "tls" => Peer::tls(addr),
            _ => Peer::udp(addr),
        }
    }
    pub fn is_reliable(&self) -> bool {
        self.transport.is_reliable()
    }
}

/// One message for the driver to serialize and send. `key` names the
/// transaction that sent it, so a send failure can be reported back with
/// `TransactionLayer::handle_transport_error`; `None` for stateless sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Transmit {
    pub dest: Peer,
    pub message: Message,
    pub key: Option<TransactionKey>,
}

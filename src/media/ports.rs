//! RTP/RTCP port allocation.
//!
//! Owns: the set of relay port pairs in use, binding their UDP sockets, and freeing them (RAII).
//! Must not touch: SIP or SDP (callers put the port into SDP themselves), packet handling.
//!
//! RFC 3550 §11: RTP on an even port, RTCP on the next (odd) one. We bind both for real, without
//! SO_REUSEADDR, so a port some other process holds is skipped rather than shared.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;
use tokio::net::UdpSocket;

/// Default relay range, as in most softswitch configs.
pub const DEFAULT_PORT_RANGE: RangeInclusive<u16> = 10000..=20000;

/// Why no port pair could be had.
#[derive(Debug, Error)]
pub enum PortError {
    /// The range holds no even port with an odd successor inside the range.
    #[error("port range {start}-{end} holds no RTP/RTCP pair")]
    EmptyRange { start: u16, end: u16 },
    /// Every pair in the range is in use by us or by another process.
    #[error("no free RTP/RTCP port pair in {start}-{end}")]
    Exhausted { start: u16, end: u16 },
    /// Registering a bound socket with the tokio reactor failed (not "port in use").
    #[error("cannot register relay socket: {0}")]
    Io(#[from] io::Error),
}

/// Hands out [`PortPair`]s from a range on one bind address. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct PortAllocator {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    ip: IpAddr,
    /// First and last even RTP port of the range.
    first: u16,
    last: u16,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// RTP ports currently handed out by us.
    in_use: HashSet<u16>,
    /// Where the next search starts. Round-robin rather than lowest-free so a port just freed is
    /// not reused at once: late packets of the old call would otherwise leak into the new one.
    next: u16,
}

impl Shared {
    /// The lock is held only for set bookkeeping and non-blocking binds, never across an await;
    /// a panic while holding it cannot leave the set inconsistent, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PortAllocator {
    /// An allocator for `range` on `ip`. The range is trimmed to whole even/odd pairs.
    pub fn new(ip: IpAddr, range: RangeInclusive<u16>) -> Result<Self, PortError> {
        let (start, end) = (*range.start(), *range.end());
        // First even port >= start (port 0 is not a port); last even port whose odd partner is
        // still <= end. Both bounds keep rtp + 1 <= 65535, which PortPair::rtcp_port relies on.
        let lo = start.max(1);
        let first = if lo % 2 == 0 {
            Some(lo)
        } else {
            lo.checked_add(1)
        };
        let last = if end % 2 == 1 {
            Some(end - 1)
        } else {
            end.checked_sub(2)
        };
        let (first, last) = match (first, last) {
            (Some(f), Some(l)) if f <= l => (f, l),
            _ => return Err(PortError::EmptyRange { start, end }),
        };
        let state = State {
            in_use: HashSet::new(),
            next: first,
        };
        Ok(PortAllocator {
            shared: Arc::new(Shared {
                ip,
                first,
                last,
                state: Mutex::new(state),
            }),
        })
    }

    /// An allocator on `ip` with the default range 10000–20000.
    pub fn with_default_range(ip: IpAddr) -> Result<Self, PortError> {
        Self::new(ip, DEFAULT_PORT_RANGE)
    }

    /// The bind address.
    pub fn ip(&self) -> IpAddr {
        self.shared.ip
    }

    /// How many pairs are handed out right now.
    pub fn in_use(&self) -> usize {
        self.shared.lock().in_use.len()
    }

    /// Bind the next free even/odd pair. Must run inside a tokio runtime (the sockets are
    /// registered with its reactor).
    pub async fn allocate(&self) -> Result<PortPair, PortError> {
        let sh = &self.shared;
        let pairs = usize::from((sh.last - sh.first) / 2) + 1;
        let mut st = sh.lock();
        let mut port = st.next;
        for _ in 0..pairs {
            let candidate = port;
            port = if port >= sh.last { sh.first } else { port + 2 };
            if st.in_use.contains(&candidate) {
                continue;
            }
            // std binds are non-blocking syscalls, so holding the lock here is fine and keeps
            // concurrent allocations from racing for the same candidate.
            let Some((rtp, rtcp)) = bind_pair(sh.ip, candidate)? else {
                continue;
            };
            st.in_use.insert(candidate);
            st.next = port;
            drop(st);
            // The lease is created first so that an error below still frees the reservation.
            let lease = PortLease {
                rtp_port: candidate,
                owner: Arc::clone(sh),
            };
            let pair = PortPair {
                rtp: UdpSocket::from_std(rtp)?,
                rtcp: UdpSocket::from_std(rtcp)?,
                lease,
            };
            return Ok(pair);
        }
        Err(PortError::Exhausted {
            start: sh.first,
            end: sh.last + 1,
        })
    }
}

/// Bind RTP on `port` and RTCP on `port + 1`. `Ok(None)` when either port is taken (by another
/// process, or privileged); any other error (e.g. `ip` is not local) would fail for every port,
/// so it is returned instead of scanning the whole range.
fn bind_pair(
    ip: IpAddr,
    port: u16,
) -> io::Result<Option<(std::net::UdpSocket, std::net::UdpSocket)>> {
    let rtp = match try_bind(ip, port)? {
        Some(s) => s,
        None => return Ok(None),
    };
    let Some(rtcp_port) = port.checked_add(1) else {
        return Ok(None);
    };
    let rtcp = match try_bind(ip, rtcp_port)? {
        Some(s) => s,
        None => return Ok(None), // rtp socket closes here
    };
    Ok(Some((rtp, rtcp)))
}

fn try_bind(ip: IpAddr, port: u16) -> io::Result<Option<std::net::UdpSocket>> {
    match std::net::UdpSocket::bind(SocketAddr::new(ip, port)) {
        Ok(s) => {
            s.set_nonblocking(true)?; // tokio's from_std needs non-blocking sockets
            Ok(Some(s))
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A bound RTP/RTCP socket pair. Dropping it closes both sockets and returns the port to the
/// allocator, on every path (normal hang-up, error, panic unwinding, task cancellation).
#[derive(Debug)]
pub struct PortPair {
    // Field order matters: Rust drops fields in declaration order, so both sockets are closed
    // before the lease hands the port number back and someone else tries to bind it.
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    lease: PortLease,
}

/// The reservation of one RTP port number in the allocator's set.
#[derive(Debug)]
struct PortLease {
    rtp_port: u16,
    owner: Arc<Shared>,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.owner.lock().in_use.remove(&self.rtp_port);
    }
}

/// A [`PortPair`] on its way to another runtime: its sockets taken off
/// the reactor they were registered with, its lease still held.
#[derive(Debug)]
pub(crate) struct DetachedPair {
    rtp: std::net::UdpSocket,
    rtcp: std::net::UdpSocket,
    lease: PortLease,
}

impl DetachedPair {
    /// Registers the sockets with the current runtime's reactor. On error
    /// the sockets close and the lease returns the port.
    pub(crate) fn attach(self) -> io::Result<PortPair> {
        let DetachedPair { rtp, rtcp, lease } = self;
        Ok(PortPair { rtp: UdpSocket::from_std(rtp)?, rtcp: UdpSocket::from_std(rtcp)?, lease })
    }
}

impl PortPair {
    /// Takes the sockets off this runtime's reactor, to [`DetachedPair::attach`]
    /// them in another (a media shard). They stay bound and non-blocking.
    pub(crate) fn detach(self) -> io::Result<DetachedPair> {
        let PortPair { rtp, rtcp, lease } = self;
        Ok(DetachedPair { rtp: rtp.into_std()?, rtcp: rtcp.into_std()?, lease })
    }

    /// The even RTP port (RTCP is this + 1).
    pub fn rtp_port(&self) -> u16 {
        self.lease.rtp_port
    }

    /// The odd RTCP port.
    pub fn rtcp_port(&self) -> u16 {
        // rtp_port <= last <= 65534, established in PortAllocator::new: no overflow.
        self.lease.rtp_port + 1
    }

    /// The bind address.
    pub fn ip(&self) -> IpAddr {
        self.lease.owner.ip
    }

    /// Local RTP address, to put into SDP.
    pub fn rtp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip(), self.rtp_port())
    }

    /// Local RTCP address.
    pub fn rtcp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip(), self.rtcp_port())
    }
}

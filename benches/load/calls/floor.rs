//! The machine's floor: the cheapest possible relay of the same packets.
//!
//! Two sockets, no logic: what arrives on `a` (sent by the caller legs) is
//! forwarded with `sendmmsg` from `b` to the carrier socket, and what
//! arrives on `b` goes from `a` to the caller socket, in `recvmmsg` batches
//! of 64 woken by `poll`. It runs as a thread of this process; its CPU is
//! read from /proc/self/task/<tid>/stat, so it is measured apart from the
//! load generator. Its cost per packet is the kernel's UDP path plus a
//! syscall share: what any relay on this machine must at least pay.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::mmsg::{prepare_socket, RecvBatch};
use super::procstat::gettid;

pub struct Floor {
    pub a_port: u16,
    pub b_port: u16,
    pub tid: Arc<AtomicI64>,
    pub forwarded: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

fn addr(port: u16) -> libc::sockaddr_in {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut a: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    a.sin_port = port.to_be();
    a.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
    a
}

impl Floor {
    /// Starts the relay toward the caller and carrier media sockets.
    pub fn start(caller_port: u16, carrier_port: u16) -> std::io::Result<Floor> {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        prepare_socket(&a);
        prepare_socket(&b);
        let (a_port, b_port) = (a.local_addr()?.port(), b.local_addr()?.port());
        let tid = Arc::new(AtomicI64::new(0));
        let forwarded = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, f, s) = (tid.clone(), forwarded.clone(), stop.clone());
        let handle = std::thread::Builder::new().name("floor-relay".into()).spawn(move || {
            t.store(gettid(), Ordering::Relaxed);
            let to_carrier = addr(carrier_port);
            let to_caller = addr(caller_port);
            let mut batch = RecvBatch::new();
            let mut fds = [
                libc::pollfd { fd: a.as_raw_fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: b.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            ];
            while !s.load(Ordering::Relaxed) {
                // SAFETY: two valid pollfds.
                unsafe { libc::poll(fds.as_mut_ptr(), 2, 50) };
                for (from, out, dest) in [(&a, &b, &to_carrier), (&b, &a, &to_caller)] {
                    for _ in 0..64 {
                        let n = batch.recv(from.as_raw_fd());
                        if n == 0 {
                            break;
                        }
                        let sent = batch.forward(out.as_raw_fd(), n, dest);
                        f.fetch_add(sent as u64, Ordering::Relaxed);
                    }
                }
            }
        })?;
        Ok(Floor { a_port, b_port, tid, forwarded, stop, handle: Some(handle) })
    }

    /// `/proc` path of the relay thread, for its CPU time.
    pub fn proc_path(&self) -> String {
        format!("self/task/{}", self.tid.load(Ordering::Relaxed))
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

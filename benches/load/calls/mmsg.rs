//! Batched UDP syscalls for the load tool: `recvmmsg` with the kernel's
//! receive timestamps (`SO_TIMESTAMPNS`) and `sendmmsg`, 64 datagrams per
//! call, over preallocated buffers so the packet path never allocates.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

pub const BATCH: usize = 64;
/// Buffer per datagram: RTP header plus the largest payload we send or expect.
pub const PKT: usize = 512;

pub fn sockaddr(port: u16) -> libc::sockaddr_in {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut a: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    a.sin_port = port.to_be();
    a.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
    a
}

pub fn now_ns() -> u64 {
    // SAFETY: a valid timespec out-pointer.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn setsockopt_int(fd: i32, level: i32, name: i32, v: i32) -> bool {
    // SAFETY: a valid fd and a pointer to an int of the stated size.
    unsafe { libc::setsockopt(fd, level, name, (&v as *const i32).cast(), std::mem::size_of::<i32>() as u32) == 0 }
}

/// Big buffers (the 2 ms between drains can hold hundreds of packets) and
/// kernel receive timestamps. SO_RCVBUFFORCE needs CAP_NET_ADMIN; without
/// it the size is capped at net.core.rmem_max.
pub fn prepare_socket(sock: &UdpSocket) {
    let fd = sock.as_raw_fd();
    for (force, plain) in [(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF), (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)] {
        if !setsockopt_int(fd, libc::SOL_SOCKET, force, 16 << 20) {
            setsockopt_int(fd, libc::SOL_SOCKET, plain, 16 << 20);
        }
    }
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
    let _ = sock.set_nonblocking(true);
}

/// Batched receive state: buffers, iovecs, addresses and control space.
pub struct RecvBatch {
    bufs: Vec<[u8; PKT]>,
    iov: Vec<libc::iovec>,
    addrs: Vec<libc::sockaddr_in>,
    ctrl: Vec<[u64; 8]>,
    hdrs: Vec<libc::mmsghdr>,
    /// Send side of `forward` (the floor relay), preallocated.
    out: Vec<libc::mmsghdr>,
    out_iov: Vec<libc::iovec>,
}

impl RecvBatch {
    pub fn new() -> Box<RecvBatch> {
        // Boxed so the self-referencing pointers set in `prepare` stay valid.
        let mut b = Box::new(RecvBatch {
            bufs: vec![[0u8; PKT]; BATCH],
            iov: Vec::with_capacity(BATCH),
            // SAFETY: plain C structs, all-zero is valid.
            addrs: vec![unsafe { std::mem::zeroed() }; BATCH],
            ctrl: vec![[0u64; 8]; BATCH],
            hdrs: Vec::with_capacity(BATCH),
            // SAFETY: plain C structs, all-zero is valid.
            out: vec![unsafe { std::mem::zeroed() }; BATCH],
            out_iov: vec![libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; BATCH],
        });
        for i in 0..BATCH {
            let p = b.bufs[i].as_mut_ptr();
            b.iov.push(libc::iovec { iov_base: p.cast(), iov_len: PKT });
        }
        for _ in 0..BATCH {
            // SAFETY: plain C struct.
            b.hdrs.push(unsafe { std::mem::zeroed() });
        }
        b
    }

    /// One non-blocking `recvmmsg`; returns how many arrived (0 on EAGAIN).
    pub fn recv(&mut self, fd: i32) -> usize {
        for i in 0..BATCH {
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_in).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
            h.msg_iov = &mut self.iov[i];
            h.msg_iovlen = 1;
            h.msg_control = self.ctrl[i].as_mut_ptr().cast();
            h.msg_controllen = std::mem::size_of::<[u64; 8]>();
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: every header points into buffers owned by self, sized as stated.
        let n = unsafe { libc::recvmmsg(fd, self.hdrs.as_mut_ptr(), BATCH as u32, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
        n.max(0) as usize
    }

    /// Packet `i` of the last batch: (data, source port, kernel arrival ns).
    pub fn packet(&self, i: usize, fallback_ns: u64) -> (&[u8], u16, u64) {
        let len = self.hdrs[i].msg_len as usize;
        let port = u16::from_be(self.addrs[i].sin_port);
        let mut at = fallback_ns;
        let h = &self.hdrs[i].msg_hdr;
        // SAFETY: walking the control buffer the kernel filled, with the libc macros.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(h);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                    at = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
                }
                c = libc::CMSG_NXTHDR(h, c);
            }
        }
        (&self.bufs[i][..len.min(PKT)], port, at)
    }

    /// Sends packet `i..i+n` of this batch's buffers, lengths from the last
    /// receive, all to `dest` (the floor relay's forwarding).
    pub fn forward(&mut self, fd: i32, n: usize, dest: &libc::sockaddr_in) -> usize {
        for i in 0..n {
            self.out_iov[i] = libc::iovec { iov_base: self.bufs[i].as_mut_ptr().cast(), iov_len: self.hdrs[i].msg_len as usize };
            let h = &mut self.out[i].msg_hdr;
            h.msg_name = (dest as *const libc::sockaddr_in).cast_mut().cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
            h.msg_iov = &mut self.out_iov[i];
            h.msg_iovlen = 1;
        }
        send_all(fd, &mut self.out[..n])
    }
}

/// `sendmmsg` until all went or the socket refuses; returns how many went.
fn send_all(fd: i32, hdrs: &mut [libc::mmsghdr]) -> usize {
    let mut done = 0;
    while done < hdrs.len() {
        // SAFETY: headers point to live buffers and addresses.
        let r = unsafe { libc::sendmmsg(fd, hdrs[done..].as_mut_ptr(), (hdrs.len() - done) as u32, libc::MSG_DONTWAIT) };
        if r <= 0 {
            break;
        }
        done += r as usize;
    }
    done
}

/// Send-side batch: packet buffers and headers, filled per bucket.
pub struct SendBatch {
    pub bufs: Vec<[u8; PKT]>,
    pub iov: Vec<libc::iovec>,
    pub hdrs: Vec<libc::mmsghdr>,
    pub n: usize,
}

impl SendBatch {
    pub fn new() -> Box<SendBatch> {
        let mut b = Box::new(SendBatch { bufs: vec![[0u8; PKT]; BATCH], iov: Vec::with_capacity(BATCH), hdrs: Vec::with_capacity(BATCH), n: 0 });
        for i in 0..BATCH {
            let p = b.bufs[i].as_mut_ptr();
            b.iov.push(libc::iovec { iov_base: p.cast(), iov_len: 0 });
            // SAFETY: plain C struct.
            b.hdrs.push(unsafe { std::mem::zeroed() });
        }
        b
    }

    /// Sends what is queued; returns (sent, refused).
    pub fn flush(&mut self, fd: i32) -> (usize, usize) {
        let n = self.n;
        self.n = 0;
        if n == 0 {
            return (0, 0);
        }
        let sent = send_all(fd, &mut self.hdrs[..n]);
        (sent, n - sent)
    }
}

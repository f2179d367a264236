//! Free-port allocation on 127.0.0.1.
//!
//! Every allocation hands out a *block* of consecutive ports that were each
//! bind-tested for both UDP and TCP on 127.0.0.1 at the moment of allocation.
//! Blocks never overlap within one process (an atomic cursor only moves
//! forward), and each process starts at an offset derived from its pid, so
//! test binaries run in parallel (and other agents on the host) rarely meet.
//! A bind test cannot reserve a port, so there is still a small race with
//! unrelated programs; callers that fail to bind should just allocate again.
//!
//! Ports come from 20000..=59999. Linux's default ephemeral range starts at
//! 32768, so the lower part of our window is the quiet one; we wrap inside
//! the window if a process allocates a lot.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

const LOW: u32 = 20_000;
const HIGH: u32 = 60_000; // exclusive
/// Distance between two processes' starting points.
const PROCESS_STRIDE: u32 = 160;

static CURSOR: AtomicU32 = AtomicU32::new(0);

fn start_offset() -> u32 {
    // Spread processes over the window; 250 slots of 160 ports.
    (std::process::id() % ((HIGH - LOW) / PROCESS_STRIDE)) * PROCESS_STRIDE
}

/// True when `port` can be bound right now on 127.0.0.1 for UDP *and* TCP.
pub fn is_free(port: u16) -> bool {
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    UdpSocket::bind(addr).is_ok() && TcpListener::bind(addr).is_ok()
}

/// Allocate `count` consecutive ports, all free for UDP and TCP on 127.0.0.1.
/// Returns the first port. Panics after scanning the whole window (never
/// happens on a sane host).
pub fn alloc_block(count: u16) -> u16 {
    assert!(
        count > 0 && count <= 64,
        "alloc_block: count {count} out of range"
    );
    let count = u32::from(count);
    let window = HIGH - LOW;
    let base = start_offset();
    // Leave a one-port gap between blocks so neighbours never touch.
    let step = count + 1;
    for _ in 0..(window / step + 1) {
        let rel = CURSOR.fetch_add(step, Ordering::Relaxed);
        let first = LOW + (base + rel) % window;
        if first + count > HIGH {
            continue;
        }
        if (first..first + count).all(|p| is_free(p as u16)) {
            return first as u16;
        }
    }
    panic!("ports: no free block of {count} ports on 127.0.0.1 in {LOW}..{HIGH}");
}

/// One free port (UDP+TCP).
pub fn alloc() -> u16 {
    alloc_block(1)
}

/// Ports for one baresip instance. baresip binds SIP on `sip` (UDP+TCP) and
/// TLS on `sip + 1` even without a certificate; `ctrl` is its ctrl_tcp port.
/// Allocated as one block of four, so two instances are always >= 5 apart.
#[derive(Debug, Clone, Copy)]
pub struct BaresipPorts {
    pub sip: u16,
    pub ctrl: u16,
}

pub fn alloc_baresip() -> BaresipPorts {
    let b = alloc_block(4);
    BaresipPorts {
        sip: b,
        ctrl: b + 2,
    }
}

/// Ports for one SIPp instance: signalling, media (`-mp`: SIPp binds mp and
/// mp+2 for audio/video RTP, RTCP on +1/+3), control (`-cp`, default 8888).
#[derive(Debug, Clone, Copy)]
pub struct SippPorts {
    pub sip: u16,
    pub media: u16,
    pub control: u16,
}

pub fn alloc_sipp() -> SippPorts {
    let b = alloc_block(6);
    SippPorts {
        sip: b,
        media: b + 1,
        control: b + 5,
    }
}

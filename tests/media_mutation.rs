//! Random mutations of valid RTP, RTCP and UDPTL over the wire (issue 9,
//! "Malformed input"), sent from each party's own latched media socket so
//! that they pass the source check and reach the parsers:
//!
//! - a **relayed** call (B2BUA between two small UAs): every datagram a party
//!   receives passes `switchboard::media::is_valid_rtp` / `is_valid_rtcp`
//!   and is byte for byte one the other party sent (the relay drops what is
//!   invalid and never alters what it forwards); afterwards both directions
//!   carry a clean burst nearly whole and BYE gets 200;
//! - a call **terminated by the media engine** (an IVR menu: jitter buffer,
//!   decoder, in-band and RFC 4733 DTMF, RTCP): the storm includes mutated
//!   telephone-events with the negotiated payload type; the call stays up,
//!   the appliance keeps sending media, and afterwards one valid RFC 4733
//!   `#` moves the menu on (the only key that leaves it), which hangs up;
//! - a **T.38 fax** reception: mutated UDPTL datagrams (broken lengths,
//!   secondary and FEC sections, sequence jumps, truncation) into the
//!   appliance's fax receiver; the call ends cleanly, the fax record is
//!   finished (not left "receiving"), a fresh OPTIONS gets 200, and a new
//!   call receives a real one-page fax from the spandsp peer (tests/fax/).
//!
//! Each test checks that the process is alive and that nothing panicked
//! (stdout log and stderr, where a panic caught by tokio still prints).
//! The PRNG is seeded (`MUTATION_SEED` overrides; the seed is printed), so
//! a failure reproduces. Every loop is bounded in count and time.

mod common;

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::mutation::{Rng, IVR_DID, IVR_PLAN};
use common::faxpeer::{make_document, FaxPeer};
use common::relayed::{count_stream, relayed_call_on, send_stream};
use common::sip_ua::{audio_sdp, media_port, t38_sdp, Msg, Ua};
use common::switchboard::Switchboard;
use switchboard::fax::udptl::{self, Entries, ErrorRecovery, UdptlPacket};
use switchboard::media::rtp::depacketize;
use switchboard::media::{is_valid_rtcp, is_valid_rtp};


fn seed() -> u64 {
    let seed = std::env::var("MUTATION_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_cafe_u64);
    println!("MUTATION_SEED={seed}");
    seed
}

const T: Duration = Duration::from_secs(20);
const PT_PCMU: u8 = 0;
/// The telephone-event payload type of `audio_sdp` (and so negotiated).
const PT_TE: u8 = 101;
/// The `#` key's RFC 4733 event code.
const EVENT_HASH: u8 = 11;

fn repo(p: &str) -> String {
    format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))
}

/// The process is alive and nothing panicked, on stdout (tracing) or stderr
/// (Rust's panic hook, also for panics tokio catches inside a task).
fn assert_healthy(sb: &mut Switchboard, seed: u64, when: &str) {
    assert!(sb.is_running(), "switchboard died {when} (MUTATION_SEED={seed}):\n{}\n{}", sb.log(), sb.stderr());
    let (out, err) = (sb.log(), sb.stderr());
    assert!(!out.contains("panicked") && !err.contains("panicked"), "a panic {when} (MUTATION_SEED={seed}):\n{err}\n{out}");
}

/// An RTP socket with a free RTCP socket beside it on port + 1 (where the
/// appliance sends RTCP by default, RFC 3550 §11).
fn rtp_pair() -> (UdpSocket, UdpSocket) {
    for _ in 0..200 {
        let rtp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = rtp.local_addr().unwrap().port();
        if port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1)) {
            return (rtp, rtcp);
        }
    }
    panic!("no two adjacent free UDP ports");
}

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn plus_one(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip(), a.port() + 1)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------- RTP / RTCP

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, (u8::from(marker) << 7) | pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A telephone-event payload (RFC 4733 §2.3).
fn te(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let d = duration.to_be_bytes();
    [event, (u8::from(end) << 7) | 10, d[0], d[1]]
}

/// A valid RTP packet of one of the shapes a peer may send: PCMU audio
/// (plain, with CSRCs, with a header extension, with padding) or a
/// telephone-event.
fn rtp_seed(rng: &mut Rng, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let audio = [0xffu8; 160];
    match rng.below(6) {
        0 | 1 => rtp(PT_PCMU, false, seq, ts, ssrc, &audio),
        2 => {
            let mut p = rtp(PT_PCMU, false, seq, ts, ssrc, &[]);
            p[0] |= 2;
            p.extend_from_slice(&0x1111_1111u32.to_be_bytes());
            p.extend_from_slice(&0x2222_2222u32.to_be_bytes());
            p.extend_from_slice(&audio);
            p
        }
        3 => {
            // RFC 8285 one-byte header extension, one word.
            let mut p = rtp(PT_PCMU, false, seq, ts, ssrc, &[0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00]);
            p[0] |= 0x10;
            p.extend_from_slice(&audio);
            p
        }
        4 => {
            let mut p = rtp(PT_PCMU, false, seq, ts, ssrc, &audio);
            p[0] |= 0x20;
            p.extend_from_slice(&[0, 0, 0, 4]);
            p
        }
        _ => {
            let event = rng.below(16) as u8;
            rtp(PT_TE, rng.below(4) == 0, seq, ts, ssrc, &te(event, rng.below(3) == 0, rng.below(2000) as u16))
        }
    }
}

/// Where the payload starts (after CSRCs), clamped to the packet.
fn csrc_end(p: &[u8]) -> usize {
    (12 + 4 * usize::from(p.first().map_or(0, |b| b & 0x0f))).min(p.len())
}

/// One to three mutations of `p` of the kinds malformed RTP takes.
fn mutate_rtp(rng: &mut Rng, p: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        if p.len() < 12 {
            p.resize(12, 0);
        }
        match rng.below(14) {
            // Bit flips anywhere, then in the fixed header.
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(p.len());
                    p[at] ^= 1 << rng.below(8);
                }
            }
            1 => {
                let at = rng.below(12);
                p[at] ^= 1 << rng.below(8);
            }
            // CSRC count with a body too short for the CSRCs.
            2 => {
                p[0] = (p[0] & 0xf0) | (1 + rng.below(15)) as u8;
                p.truncate(12 + rng.below(8));
            }
            // Extension bit with no room for the extension header.
            3 => {
                p[0] |= 0x10;
                p.truncate(csrc_end(p) + rng.below(4));
            }
            // Extension header claiming a huge length.
            4 => {
                p[0] |= 0x10;
                let at = csrc_end(p);
                p.resize(p.len().max(at + 4), 0);
                let words = [0xffffu16, 0x8000, 0x0400, 1 + rng.below(64) as u16][rng.below(4)];
                p[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
            }
            // Padding longer than the payload, or a padding count of 0.
            5 => {
                p[0] |= 0x20;
                let last = p.len() - 1;
                p[last] = [0, 255, 200, (p.len() - 11).min(255) as u8][rng.below(4)];
            }
            // Padding bit with no body at all.
            6 => {
                p[0] |= 0x20;
                p.truncate(12);
            }
            // Truncated to 0..=12 bytes.
            7 => p.truncate(rng.below(13)),
            // Version 0, 1 or 3.
            8 => p[0] = (p[0] & 0x3f) | ([0u8, 1, 3][rng.below(3)] << 6),
            // A telephone-event with an odd payload length.
            9 => {
                p[1] = (p[1] & 0x80) | PT_TE;
                let at = csrc_end(p);
                p.truncate(at);
                let n = [0usize, 1, 2, 3, 5, 6, 7, 9, 13][rng.below(9)];
                let mut body = rng.bytes(n);
                if let Some(b) = body.first_mut() {
                    *b %= 20;
                }
                p.extend_from_slice(&body);
            }
            // Sequence, timestamp or SSRC jumps (still well-formed).
            10 => {
                let at = [2usize, 4, 8][rng.below(3)];
                let r = rng.next().to_be_bytes();
                let n = if at == 2 { 2 } else { 4 };
                p[at..at + n].copy_from_slice(&r[..n]);
            }
            // Payload types 72..=95: with the marker bit they read as RTCP
            // packet types 200..=223 (RFC 5761 §4's ambiguity).
            11 => p[1] = 0x80 | (72 + rng.below(24)) as u8,
            // A random payload type.
            12 => p[1] = rng.byte(),
            // Trailing garbage.
            _ => {
                let n = 1 + rng.below(64);
                let junk = rng.bytes(n);
                p.extend_from_slice(&junk);
            }
        }
    }
}

/// A valid RTCP compound (RFC 3550 §6.1): SR or RR first, then SDES CNAME,
/// sometimes an APP or a BYE.
fn rtcp_seed(rng: &mut Rng, ssrc: u32) -> Vec<u8> {
    let s = ssrc.to_be_bytes();
    let mut c = Vec::new();
    let block = |c: &mut Vec<u8>| {
        c.extend_from_slice(&0x0b0b_0b0bu32.to_be_bytes());
        c.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 100, 0, 0, 0, 20, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x10, 0]);
    };
    if rng.below(2) == 0 {
        c.extend_from_slice(&[0x81, 200, 0, 12]);
        c.extend_from_slice(&s);
        c.extend_from_slice(&[0xe0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x10, 0, 0, 0, 0, 50, 0, 0, 0x1f, 0x40]);
        block(&mut c);
    } else {
        c.extend_from_slice(&[0x81, 201, 0, 7]);
        c.extend_from_slice(&s);
        block(&mut c);
    }
    // SDES: one chunk, CNAME "ua@127.0.0.1" (12 octets), END, padded to a word.
    c.extend_from_slice(&[0x81, 202, 0, 5]);
    c.extend_from_slice(&s);
    c.extend_from_slice(&[1, 12]);
    c.extend_from_slice(b"ua@127.0.0.1");
    c.extend_from_slice(&[0, 0]);
    match rng.below(3) {
        0 => {
            c.extend_from_slice(&[0x80, 204, 0, 3]);
            c.extend_from_slice(&s);
            c.extend_from_slice(b"TEST");
            c.extend_from_slice(&[1, 2, 3, 4]);
        }
        1 => {
            c.extend_from_slice(&[0x81, 203, 0, 3]);
            c.extend_from_slice(&s);
            c.extend_from_slice(&[4]);
            c.extend_from_slice(b"bye");
            c.extend_from_slice(&[0, 0, 0, 0]);
        }
        _ => {}
    }
    c
}

/// Offsets of the packets of a (still walkable) compound.
fn rtcp_offsets(c: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= c.len() && out.len() < 16 {
        out.push(at);
        at += 4 * (usize::from(u16::from_be_bytes([c[at + 2], c[at + 3]])) + 1);
    }
    out
}

/// One to three mutations of an RTCP compound: bad lengths and counts.
fn mutate_rtcp(rng: &mut Rng, c: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        if c.len() < 8 {
            c.resize(8, 0);
        }
        let offs = rtcp_offsets(c);
        let at = offs.get(rng.below(offs.len())).copied().unwrap_or(0);
        match rng.below(10) {
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(c.len());
                    c[i] ^= 1 << rng.below(8);
                }
            }
            // A length field too long, too short, zero, or huge.
            1 => {
                let len = u16::from_be_bytes([c[at + 2], c[at + 3]]);
                let bad = [0, 1, 0xffff, len.wrapping_add(1), len.wrapping_sub(1), len.wrapping_add(100)][rng.below(6)];
                c[at + 2..at + 4].copy_from_slice(&bad.to_be_bytes());
            }
            // Report / source count beyond what the packet holds.
            2 => c[at] = (c[at] & 0xe0) | (1 + rng.below(31)) as u8,
            3 => c.truncate(rng.below(c.len() + 1)),
            // An SDES item (or anything at that spot) with a length of 255.
            4 => {
                if let Some(pos) = c.windows(2).position(|w| w == [1, 12]) {
                    c[pos + 1] = [255, 13, 0, 200][rng.below(4)];
                }
            }
            5 => {
                if rng.below(2) == 0 {
                    // A BYE claiming up to 31 sources, with room for one.
                    c.extend_from_slice(&[0x80 | (2 + rng.below(30)) as u8, 203, 0, 1, 1, 2, 3, 4]);
                } else {
                    // A BYE whose reason is longer than the packet.
                    c.extend_from_slice(&[0x81, 203, 0, 2, 1, 2, 3, 4, 200, b'x', b'y', 0]);
                }
            }
            // A trailing header announcing more than is there.
            6 => {
                c.extend_from_slice(&[0x80, 200 + rng.below(10) as u8, 0x00, 0x40]);
                let n = rng.below(12);
                let junk = rng.bytes(n);
                c.extend_from_slice(&junk);
            }
            // Version other than 2 in a later packet, or a non-RTCP type.
            7 => {
                if rng.below(2) == 0 {
                    c[at] &= 0x3f;
                } else {
                    c[at + 1] = rng.byte();
                }
            }
            // Zero-length packets and padding bits where they do not belong.
            8 => {
                c[at] |= 0x20;
                if rng.below(2) == 0 {
                    c.extend_from_slice(&[0x80, 201, 0, 0]);
                }
            }
            _ => {
                let n = 1 + rng.below(40);
                let junk = rng.bytes(n);
                c.extend_from_slice(&junk);
            }
        }
    }
}

/// One side of a call as the storm sees it.
struct Side {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    /// Where this side sends: the appliance's RTP and RTCP ports for it.
    to_rtp: SocketAddr,
    to_rtcp: SocketAddr,
    ssrc: u32,
    seq: u16,
    ts: u32,
}

impl Side {
    fn step(&mut self) -> (u16, u32) {
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        (self.seq, self.ts)
    }
}

/// Everything waiting on `sock` (non-blocking).
fn drain(sock: &UdpSocket, mut each: impl FnMut(&[u8])) -> u32 {
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while let Ok(len) = sock.recv(&mut buf) {
        each(&buf[..len]);
        n += 1;
    }
    n
}

// ------------------------------------------------------------ relayed call

const SSRC_A: u32 = 0x0a0a_0a0a;
const SSRC_B: u32 = 0x0b0b_0b0b;
const CLEAN_A: u32 = 0x0a0a_c1ea;
const CLEAN_B: u32 = 0x0b0b_c1ea;
/// Mutated datagrams per direction.
const RELAY_STORM: usize = 1500;

/// What one side was sent (by the other, through the relay) that is fit to
/// be forwarded as-is, i.e. passes the relay's validation.
#[derive(Default)]
struct Expect {
    rtp: HashSet<Vec<u8>>,
    rtcp: HashSet<Vec<u8>>,
}

#[derive(Default, Debug)]
struct Tally {
    rtp: u32,
    rtcp: u32,
}

/// Checks all that arrived at `side`: only packets the other side sent and
/// that pass validation.
fn check_arrivals(side: &Side, expect: &Expect, tally: &mut Tally, seed: u64) {
    tally.rtp += drain(&side.rtp, |d| {
        assert!(is_valid_rtp(d), "MUTATION_SEED={seed}: the relay forwarded invalid RTP: {}", hex(d));
        assert!(expect.rtp.contains(d), "MUTATION_SEED={seed}: an RTP packet arrived that the other party did not send as such: {}", hex(d));
    });
    tally.rtcp += drain(&side.rtcp, |d| {
        assert!(is_valid_rtcp(d), "MUTATION_SEED={seed}: the relay forwarded invalid RTCP: {}", hex(d));
        assert!(expect.rtcp.contains(d), "MUTATION_SEED={seed}: an RTCP packet arrived that the other party did not send as such: {}", hex(d));
    });
}

#[test]
fn mutated_rtp_and_rtcp_into_a_relayed_call() {
    let seed = seed();
    let mut rng = Rng(seed | 1);
    let mut sb = Switchboard::start_with(&format!("[media]\nprompts_dir = \"{}\"\n[trunks]\noptions_interval_secs = 0\n", repo("prompts"))).expect("start");
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{}", common::ports::alloc()), "--did", "1001"]);
    let ((a_rtp, a_rtcp), (b_rtp, b_rtcp)) = (rtp_pair(), rtp_pair());
    let call = relayed_call_on(&sb, "1001", a_rtp, b_rtp);
    let common::relayed::Relayed { mut a, b, a_rtp, b_rtp, to_a_side, to_b_side } = call;
    let mut sides = [
        Side { rtp: a_rtp, rtcp: a_rtcp, to_rtp: to_a_side, to_rtcp: plus_one(to_a_side), ssrc: SSRC_A, seq: 1000, ts: 160_000 },
        Side { rtp: b_rtp, rtcp: b_rtcp, to_rtp: to_b_side, to_rtcp: plus_one(to_b_side), ssrc: SSRC_B, seq: 2000, ts: 320_000 },
    ];
    for s in &sides {
        s.rtp.set_nonblocking(true).unwrap();
        s.rtcp.set_nonblocking(true).unwrap();
    }
    // What each side may receive: index 0 is what A may get (B sent it).
    let mut expect = [Expect::default(), Expect::default()];
    let mut tally = [Tally::default(), Tally::default()];

    // Latch RTP and RTCP on both legs with valid packets first.
    for (i, s) in sides.iter_mut().enumerate() {
        for _ in 0..3 {
            let (seq, ts) = s.step();
            let p = rtp(PT_PCMU, false, seq, ts, s.ssrc, &[0xff; 160]);
            s.rtp.send_to(&p, s.to_rtp).unwrap();
            expect[1 - i].rtp.insert(p);
            let c = rtcp_seed(&mut rng, s.ssrc);
            s.rtcp.send_to(&c, s.to_rtcp).unwrap();
            expect[1 - i].rtcp.insert(c);
        }
    }
    std::thread::sleep(Duration::from_millis(200));

    let (mut sent, mut invalid, mut valid_mutants) = (0u32, 0u32, 0u32);
    // Valid datagrams sent towards each side (index as `expect`): RTP, RTCP.
    let mut fit = [(3u32, 3u32); 2];
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 0..2 * RELAY_STORM {
        assert!(Instant::now() < deadline, "the storm took too long");
        let i = n % 2;
        let s = &mut sides[i];
        let (seq, ts) = s.step();
        if n % 20 < 2 {
            // The party's own stream goes on meanwhile.
            let p = rtp(PT_PCMU, false, seq, ts, s.ssrc, &[0xff; 160]);
            let _ = s.rtp.send_to(&p, s.to_rtp);
            expect[1 - i].rtp.insert(p);
            fit[1 - i].0 += 1;
            continue;
        }
        let (pkt, rtcp, valid) = if rng.below(4) == 0 {
            let mut c = rtcp_seed(&mut rng, s.ssrc);
            if rng.below(10) != 0 {
                mutate_rtcp(&mut rng, &mut c);
            }
            let valid = is_valid_rtcp(&c);
            if valid {
                expect[1 - i].rtcp.insert(c.clone());
            }
            (c, true, valid)
        } else {
            let mut p = rtp_seed(&mut rng, seq, ts, s.ssrc);
            if rng.below(10) != 0 {
                mutate_rtp(&mut rng, &mut p);
            }
            let valid = is_valid_rtp(&p);
            if valid {
                expect[1 - i].rtp.insert(p.clone());
            }
            (p, false, valid)
        };
        // RTCP from the party's RTCP socket: it has a latch of its own.
        let r = if rtcp { s.rtcp.send_to(&pkt, s.to_rtcp) } else { s.rtp.send_to(&pkt, s.to_rtp) };
        sent += u32::from(r.is_ok());
        if valid {
            if rtcp {
                fit[1 - i].1 += 1;
            } else {
                fit[1 - i].0 += 1;
            }
        }
        invalid += u32::from(!valid);
        valid_mutants += u32::from(valid);
        if n % 16 == 15 {
            std::thread::sleep(Duration::from_millis(2));
            for (j, side) in sides.iter().enumerate() {
                check_arrivals(side, &expect[j], &mut tally[j], seed);
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    for (j, side) in sides.iter().enumerate() {
        check_arrivals(side, &expect[j], &mut tally[j], seed);
    }
    println!("sent {sent} ({invalid} invalid, {valid_mutants} still valid); valid towards A, B (RTP, RTCP): {fit:?}; A got {:?}, B got {:?}", tally[0], tally[1]);
    assert!(invalid >= 1000, "only {invalid} invalid packets: the storm is too tame");
    // What is valid is relayed (loopback loses next to nothing): the check
    // above is not vacuous, and the relay drops no more than it should.
    for (j, t) in tally.iter().enumerate() {
        assert!(t.rtp * 100 >= fit[j].0 * 95 && t.rtcp * 100 >= fit[j].1 * 95, "MUTATION_SEED={seed}: valid packets went missing: side {j} got {t:?} of {:?}", fit[j]);
    }
    assert_healthy(&mut sb, seed, "after the RTP/RTCP storm on a relayed call");

    // A clean burst each way arrives (nearly) whole.
    for s in &sides {
        s.rtp.set_nonblocking(false).unwrap();
    }
    let until = Instant::now() + Duration::from_millis(100 * 20 + 1000);
    let got_b = count_stream(sides[1].rtp.try_clone().unwrap(), CLEAN_A, until);
    let got_a = count_stream(sides[0].rtp.try_clone().unwrap(), CLEAN_B, until);
    let sa = send_stream(sides[0].rtp.try_clone().unwrap(), sides[0].to_rtp, 100, CLEAN_A);
    let sbb = send_stream(sides[1].rtp.try_clone().unwrap(), sides[1].to_rtp, 100, CLEAN_B);
    let (sent_a, sent_b) = (sa.join().unwrap(), sbb.join().unwrap());
    let (got_b, got_a) = (got_b.join().unwrap(), got_a.join().unwrap());
    println!("clean burst after the storm: A->B {got_b}/{sent_a}, B->A {got_a}/{sent_b}");
    assert!(got_b >= 98 && got_a >= 98, "MUTATION_SEED={seed}: the parties' media after the storm (A->B {got_b}/{sent_a}, B->A {got_a}/{sent_b})");

    // The call ends normally: BYE from A gets 200, B is hung up too.
    let callee = std::thread::spawn(move || {
        let bye = b.wait_request("BYE", T);
        if let Some(m) = &bye {
            b.respond(m, 200, "OK", "");
        }
        bye.is_some()
    });
    let r = a.bye();
    assert_eq!(r.status(), Some(200), "BYE after the storm: {}", r.first);
    assert!(callee.join().unwrap(), "B got the BYE");
    assert_healthy(&mut sb, seed, "after the relayed call ended");
}

// ------------------------------------------------------------- IVR call

const IVR_STORM: usize = 2500;

/// Whether `p` reads as a telephone-event for the `#` key.
fn is_hash_event(p: &[u8]) -> bool {
    depacketize(p).is_ok_and(|r| r.header.payload_type == PT_TE && r.payload.first() == Some(&EVENT_HASH))
}

/// A BYE from the appliance, if one is waiting (answered 200).
fn bye_waiting(ua: &Ua) -> Option<Msg> {
    while let Some(m) = ua.recv(Duration::from_millis(1)) {
        if m.method() == Some("BYE") {
            ua.respond(&m, 200, "OK", "");
            return Some(m);
        }
    }
    None
}

#[test]
fn mutated_rtp_and_telephone_events_into_an_ivr_call() {
    let seed = seed();
    let mut rng = Rng(seed.rotate_left(17) | 1);
    let ua_port = free_udp();
    let mut sb = Switchboard::new(&format!(
        "[media]\nprompts_dir = \"{}\"\ninband_dtmf = true\n[trunks]\noptions_interval_secs = 0\n",
        repo("prompts")
    ))
    .expect("prepare");
    std::fs::write(sb.dialplan_dir().join("storm.toml"), IVR_PLAN).unwrap();
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{ua_port}")]);
    sb.start().expect("start");
    let server: SocketAddr = sb.sip_addr().parse().unwrap();
    let (rtp_sock, rtcp_sock) = rtp_pair();
    let mut ua = Ua::new(ua_port, server, "5551000", IVR_DID);
    let r = ua.invite(&audio_sdp(rtp_sock.local_addr().unwrap().port()));
    assert_eq!(r.status(), Some(200), "the IVR answers: {}\n{}", r.first, sb.log());
    let to = SocketAddr::from(([127, 0, 0, 1], media_port(&r.body, "audio").expect("audio port in the answer")));
    let mut side = Side { rtp: rtp_sock, rtcp: rtcp_sock, to_rtp: to, to_rtcp: plus_one(to), ssrc: SSRC_A, seq: 0, ts: 0 };
    side.rtp.set_nonblocking(true).unwrap();
    side.rtcp.set_nonblocking(true).unwrap();

    let (mut sent, mut invalid, mut heard) = (0u32, 0u32, 0u32);
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 0..IVR_STORM {
        assert!(Instant::now() < deadline, "the storm took too long");
        let (seq, ts) = side.step();
        if n % 10 == 0 {
            let _ = side.rtp.send_to(&rtp(PT_PCMU, false, seq, ts, side.ssrc, &[0xff; 160]), side.to_rtp);
            continue;
        }
        if rng.below(5) == 0 {
            let mut c = rtcp_seed(&mut rng, side.ssrc);
            mutate_rtcp(&mut rng, &mut c);
            invalid += u32::from(!is_valid_rtcp(&c));
            let _ = side.rtcp.send_to(&c, side.to_rtcp);
        } else {
            let mut p = rtp_seed(&mut rng, seq, ts, side.ssrc);
            // Half the storm are telephone-events with the negotiated type.
            if rng.below(2) == 0 {
                p = rtp(PT_TE, rng.below(3) == 0, seq, ts, side.ssrc, &te(rng.below(17) as u8, rng.below(2) == 0, rng.below(4000) as u16));
            }
            mutate_rtp(&mut rng, &mut p);
            // Only the test's own `#` may leave the menu.
            if is_hash_event(&p) {
                continue;
            }
            invalid += u32::from(!is_valid_rtp(&p));
            let _ = side.rtp.send_to(&p, side.to_rtp);
        }
        sent += 1;
        if n % 16 == 15 {
            std::thread::sleep(Duration::from_millis(3));
            heard += drain(&side.rtp, |_| {});
            drain(&side.rtcp, |_| {});
            if let Some(bye) = bye_waiting(&ua) {
                panic!("MUTATION_SEED={seed}: the IVR hung up during the storm: {bye:?}\n{}", sb.log());
            }
        }
    }
    println!("sent {sent} mutated RTP/RTCP datagrams to the IVR ({invalid} invalid); heard {heard} packets meanwhile");
    assert!(invalid >= 500, "only {invalid} invalid packets: the storm is too tame");
    // Events end by timeout (500 ms), digits are merged (250 ms), and an
    // older timestamp counts as a late packet for 1 s after the newest
    // telephone-event (rfc4733.rs LATE_HORIZON_MS): let the storm settle.
    let settle = Instant::now() + Duration::from_millis(1300);
    let mut after = 0;
    while Instant::now() < settle {
        let (seq, ts) = side.step();
        let _ = side.rtp.send_to(&rtp(PT_PCMU, false, seq, ts, side.ssrc, &[0xff; 160]), side.to_rtp);
        std::thread::sleep(Duration::from_millis(20));
        after += drain(&side.rtp, |d| assert!(is_valid_rtp(d), "the appliance sent invalid RTP: {}", hex(d)));
    }
    assert_healthy(&mut sb, seed, "after the storm on an IVR call");
    assert!(bye_waiting(&ua).is_none(), "MUTATION_SEED={seed}: the IVR hung up after the storm\n{}", sb.log());
    assert!(after >= 30, "the media engine still sends RTP after the storm ({after} packets in 1.3 s)");
    assert!(sb.log().contains("source=Rfc4733"), "the storm's telephone-events reached the digit detector");

    // One valid `#` (RFC 4733 §2.5: marker on the first packet, duration
    // updates, three end packets, all with the press's start timestamp).
    let (_, start) = side.step();
    let mut digit = Vec::new();
    for (k, dur) in [160u16, 480, 800, 1120].into_iter().enumerate() {
        let (seq, _) = side.step();
        digit.push(rtp(PT_TE, k == 0, seq, start, side.ssrc, &te(EVENT_HASH, false, dur)));
    }
    for _ in 0..3 {
        let (seq, _) = side.step();
        digit.push(rtp(PT_TE, false, seq, start, side.ssrc, &te(EVENT_HASH, true, 1280)));
    }
    for p in &digit {
        side.rtp.send_to(p, side.to_rtp).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Audio goes on until the menu reacts: `#` is the only way to "done",
    // which hangs up.
    let until = Instant::now() + T;
    let bye = loop {
        if let Some(b) = bye_waiting(&ua) {
            break Some(b);
        }
        if Instant::now() > until {
            break None;
        }
        let (seq, ts) = side.step();
        let _ = side.rtp.send_to(&rtp(PT_PCMU, false, seq, ts, side.ssrc, &[0xff; 160]), side.to_rtp);
        drain(&side.rtp, |_| {});
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = sb.log();
    assert!(log.contains("digit=# source=Rfc4733"), "MUTATION_SEED={seed}: the valid # after the storm was not detected\n{log}");
    assert!(bye.is_some(), "MUTATION_SEED={seed}: the menu did not move on after a valid # (no BYE from context \"done\")\n{log}");
    assert_healthy(&mut sb, seed, "after the IVR call ended");
}

// ---------------------------------------------------------------- T.38

const FAX_DID: &str = "5550300";
const FAX_STORM: usize = 2000;

/// IFPs (T.38 clause 7, PER) to wrap: indicators (no signal, CNG, CED,
/// V.21 preamble), a V.21 HDLC data fragment and its end, and random
/// octets (opaque to UDPTL, but spandsp's IFP decoder gets them).
fn ifp(rng: &mut Rng) -> Vec<u8> {
    match rng.below(7) {
        0 => vec![0x00],
        1 => vec![0x02],
        2 => vec![0x04],
        3 => vec![0x06],
        4 => vec![0xc0, 0x01, 0x80, 0x00, 0x08, 0xff, 0x13, 0xc8, 0x00, 0x00, 0x00, 0x00, 0x00],
        5 => vec![0xc0, 0x01, 0x20, 0x00],
        _ => {
            let n = 1 + rng.below(40);
            rng.bytes(n)
        }
    }
}

/// A valid UDPTL datagram: `seq`, a primary IFP, and either redundancy
/// (the previous primaries, newest first) or parity FEC over them.
fn udptl_seed(rng: &mut Rng, seq: u16, history: &[Vec<u8>]) -> Vec<u8> {
    let primary = ifp(rng);
    let depth = rng.below(history.len().min(4) + 1);
    let older: Vec<&[u8]> = history.iter().rev().take(depth).map(Vec::as_slice).collect();
    let fec: Vec<u8>;
    let fec_slices: Vec<&[u8]>;
    let recovery = if rng.below(3) == 0 && !older.is_empty() {
        let longest = older.iter().map(|s| s.len()).max().unwrap_or(1);
        fec = (0..longest).map(|i| older.iter().fold(0u8, |x, s| x ^ s.get(i).copied().unwrap_or(0))).collect();
        fec_slices = vec![fec.as_slice()];
        ErrorRecovery::Fec { npackets: older.len() as u32, data: Entries::from_slices(&fec_slices) }
    } else {
        ErrorRecovery::Secondary(Entries::from_slices(&older))
    };
    let packet = UdptlPacket { seq, primary: &primary, recovery };
    let mut out = vec![0u8; 2048];
    let n = udptl::encode(&packet, &mut out).expect("a valid UDPTL packet encodes");
    out.truncate(n);
    out
}

/// One to three mutations of a UDPTL datagram.
fn mutate_udptl(rng: &mut Rng, d: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        if d.len() < 4 {
            d.resize(4, 0);
        }
        match rng.below(11) {
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(d.len());
                    d[i] ^= 1 << rng.below(8);
                }
            }
            // Sequence jumps: far ahead, just behind, wrapped, random.
            1 => {
                let s = u16::from_be_bytes([d[0], d[1]]);
                let j = [s.wrapping_add(30_000), s.wrapping_sub(1), s.wrapping_add(1000), 65535, 0, rng.next() as u16][rng.below(6)];
                d[..2].copy_from_slice(&j.to_be_bytes());
            }
            // Primary length: 0, 127, or a two-octet / fragmented determinant.
            2 => {
                let b = [0x00u8, 0x7f, 0x80, 0xbf, 0xc0, 0xc4, 0xff][rng.below(7)];
                d[2] = b;
            }
            3 => d.truncate(rng.below(d.len() + 1)),
            // The error-recovery choice flipped (secondary <-> FEC) in place.
            4 => {
                let at = 3 + usize::from(d[2] & 0x7f);
                if let Some(b) = d.get_mut(at) {
                    *b ^= 0x80;
                }
            }
            // A huge secondary / FEC count.
            5 => {
                let at = 4 + usize::from(d[2] & 0x7f);
                if at < d.len() {
                    let v = [0x7fu8, 0x80, 0xbf, 0xff, 0xc1][rng.below(5)];
                    d[at] = v;
                }
            }
            // FEC npackets with a length octet of 0, 5 or 255.
            6 => {
                let at = 3 + usize::from(d[2] & 0x7f);
                if at + 1 < d.len() {
                    d[at] = 0x80;
                    d[at + 1] = [0u8, 5, 255, 4][rng.below(4)];
                }
            }
            // An element length pointing past the end.
            7 => {
                let at = 2 + rng.below(d.len() - 2);
                d[at] = 0x40 | rng.byte() & 0x3f;
            }
            8 => {
                let n = 1 + rng.below(32);
                let junk = rng.bytes(n);
                d.extend_from_slice(&junk);
            }
            // A datagram of nothing but a sequence number and zeros.
            9 => {
                d.truncate(2);
                let z = rng.below(6);
                d.resize(2 + z, 0);
            }
            _ => {
                let at = rng.below(d.len());
                d.insert(at, rng.byte());
            }
        }
    }
}

/// The appliance's view of its received faxes (API JSON).
fn faxes_in(sb: &Switchboard) -> serde_json::Value {
    let (status, body) = sb.api("GET", "/api/v1/faxes?direction=in", sb.key());
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

/// A call to the fax line switched to T.38; returns the UA, the peer's
/// UDPTL socket and the appliance's UDPTL address.
fn t38_call(sb: &Switchboard, ua_port: u16) -> (Ua, UdpSocket, SocketAddr) {
    let mut ua = Ua::new(ua_port, sb.sip_addr().parse().unwrap(), "5551000", FAX_DID);
    let r = ua.invite(&audio_sdp(free_udp()));
    assert_eq!(r.status(), Some(200), "the fax line answers: {}\n{}", r.first, sb.log());
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let r = ua.reinvite(&t38_sdp(peer.local_addr().unwrap().port(), 0, "t38UDPRedundancy"));
    assert_eq!(r.status(), Some(200), "T.38 re-INVITE: {}\n{}", r.first, sb.log());
    let ours = media_port(&r.body, "image").expect("our answer has an image line");
    (ua, peer, SocketAddr::from(([127, 0, 0, 1], ours)))
}

/// Ends the call from our side, or answers the appliance's BYE if it hung
/// up first; either way with a 200.
fn end_call(ua: &mut Ua) -> &'static str {
    if bye_waiting(ua).is_some() {
        return "the appliance hung up";
    }
    let r = ua.bye();
    assert_eq!(r.status(), Some(200), "BYE: {}", r.first);
    "we hung up"
}

#[test]
fn mutated_udptl_into_a_t38_fax_reception() {
    let seed = seed();
    let mut rng = Rng(seed.rotate_left(31) | 1);
    let ua_port = free_udp();
    let mut sb = Switchboard::new("[trunks]\noptions_interval_secs = 0\n").expect("prepare");
    std::fs::write(
        sb.dialplan_dir().join("fax.toml"),
        format!("[[entry]]\nmatch = {{ did = \"{FAX_DID}\" }}\ncontext = \"fax\"\n[context.fax]\nsteps = [{{ app = \"fax_receive\" }}, {{ app = \"hangup\" }}]\n"),
    )
    .unwrap();
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{ua_port}")]);
    sb.start().expect("start");
    let (mut ua, peer, ours) = t38_call(&sb, ua_port);
    peer.set_nonblocking(true).unwrap();

    let mut history: Vec<Vec<u8>> = Vec::new();
    let (mut sent, mut invalid, mut heard) = (0u32, 0u32, 0u32);
    let mut seq: u16 = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 0..FAX_STORM {
        assert!(Instant::now() < deadline, "the storm took too long");
        let mut d = udptl_seed(&mut rng, seq, &history);
        history.push(udptl::decode(&d).expect("the seed decodes").primary.to_vec());
        if history.len() > 8 {
            history.remove(0);
        }
        seq = seq.wrapping_add(1);
        // One in eight goes out as it is: valid datagrams keep the session's
        // sequence moving, so mutated ones land in every state.
        if rng.below(8) != 0 {
            mutate_udptl(&mut rng, &mut d);
        }
        invalid += u32::from(udptl::decode(&d).is_err());
        if peer.send_to(&d, ours).is_ok() {
            sent += 1;
        }
        // Paced over about 5 s, so the receiver's T.30 timers run while
        // mutated datagrams keep coming (the storm's V.21 indicators make it
        // take us for a sender: it waits in phase B, receiving).
        if n % 16 == 15 {
            std::thread::sleep(Duration::from_millis(40));
            heard += drain(&peer, |d| assert!(udptl::decode(d).is_ok(), "the appliance sent malformed UDPTL: {}", hex(d)));
        }
    }
    println!("sent {sent} UDPTL datagrams ({invalid} malformed); the appliance sent {heard} meanwhile");
    assert!(invalid >= 500, "only {invalid} malformed datagrams: the storm is too tame");
    std::thread::sleep(Duration::from_millis(300));
    assert_healthy(&mut sb, seed, "after the UDPTL storm");
    assert!(sb.log().contains("malformed UDPTL datagram dropped"), "the storm reached the UDPTL decoder");

    // The call ends cleanly and the fax record is finished, not left
    // "receiving": a failed reception is recorded as such.
    let how = end_call(&mut ua);
    sb.wait_log("fax received", T).unwrap_or_else(|e| panic!("MUTATION_SEED={seed}: {e:?}\n{}", sb.log()));
    let list = faxes_in(&sb);
    let faxes = list["faxes"].as_array().expect("faxes");
    assert_eq!(faxes.len(), 1, "one fax record: {list}");
    let status = faxes[0]["status"].as_str().unwrap_or_default();
    println!("{how}; fax record: status {status}, reason {}", faxes[0]["t30_reason"]);
    assert!(status == "failed" || status == "received", "the fax record is finished: {list}");
    assert!(faxes[0]["ended_at"].is_i64(), "the fax record has its end time: {list}");

    // The appliance still answers: OPTIONS 200 from a fresh address, then a
    // new call to the fax line receives a real one-page fax over T.38 from
    // the spandsp peer, recorded as received.
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let local = probe.local_addr().unwrap();
    let server = sb.sip_addr();
    let options = format!(
        "OPTIONS sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKmedia1;rport\r\nMax-Forwards: 70\r\n\
         From: <sip:probe@{local}>;tag=p1\r\nTo: <sip:{server}>\r\nCall-ID: media-probe@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    probe.send_to(options.as_bytes(), &server).unwrap();
    let mut buf = [0u8; 4096];
    let (len, _) = probe.recv_from(&mut buf).expect("an answer to OPTIONS");
    assert!(buf[..len].starts_with(b"SIP/2.0 200 "), "OPTIONS after the storm: {}", String::from_utf8_lossy(&buf[..len]));
    let ua2_port = free_udp();
    sb.admin_ok(&["trunk", "add", "carrier2", "--host", &format!("127.0.0.1:{ua2_port}")]);
    let (ua2, peer2, ours2) = t38_call(&sb, ua2_port);
    let peer2_port = peer2.local_addr().unwrap().port();
    drop(peer2);
    let work = tempfile::tempdir().unwrap();
    let doc = make_document(work.path(), 1);
    let started = Instant::now();
    let result = FaxPeer::send(&doc).t38().local_port(peer2_port).remote(ours2).calling(true).spawn().wait(Duration::from_secs(90));
    result.assert_ok("a real fax after the storm");
    println!("the fax after the storm took {:?}", started.elapsed());
    assert_eq!(result.pages, 1);
    assert!(ua2.wait_request("BYE", T).map(|m| ua2.respond(&m, 200, "OK", "")).is_some(), "the dialplan hangs up after the fax");
    let list = faxes_in(&sb);
    let newest = &list["faxes"][0];
    assert_eq!((newest["status"].as_str(), newest["pages"].as_i64()), (Some("received"), Some(1)), "{list}");
    assert_healthy(&mut sb, seed, "after the fax that followed the storm");
}

//! Self-test of the independent fax peer (tests/fax/peer.c, Debian libspandsp 0.0.6):
//! two faxpeer processes against each other on 127.0.0.1, no switchboard involved.
//!
//! Owns: evidence that the peer works before it is used as the far end of the fax
//! interop tests. Must not touch: switchboard itself.
//!
//! 1. T.38 send -> receive, 2 pages, no ECM: both succeed, pages pixel-identical.
//! 2. T.38 with ECM, 5 % loss on both sides, redundancy 3, the receiver latching
//!    (`--remote 0.0.0.0:0 --wait-first`): both succeed, lost IFPs were recovered
//!    from the redundancy, pages identical.
//! 3. G.711 audio send -> receive (the receiver latching): success, pages identical.
//! 4. Crafted datagrams against a lone peer: UDPTL redundancy recovery, FEC
//!    skipping, duplicates and malformed datagrams counted exactly; RTP likewise.
//!
//! Needs gcc, libspandsp-dev, libtiff-dev, imagemagick. Each call runs in real
//! time (about 20-25 s for 2 pages); with `--nocapture` the results are printed.
//! The `caseN_` names make libtest (which runs tests in name order) start the two
//! long T.38 calls first: about 45 s in all with 2 test threads.

#[path = "common/faxpeer.rs"]
mod faxpeer;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

use faxpeer::{FaxPeer, PeerResult};

/// A scratch directory, removed unless the test panics (or SB_KEEP_TEST_DIRS=1).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d =
            std::env::temp_dir().join(format!("faxpeer-selftest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        Scratch(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("SB_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const CALL: Duration = Duration::from_secs(90);

fn report(name: &str, s: &PeerResult, r: &PeerResult) {
    eprintln!("{name}: sender   {}", s.summary());
    eprintln!("{name}: receiver {}", r.summary());
}

#[test]
fn case1_t38_two_pages_no_ecm() {
    let dir = Scratch::new("t38");
    let doc = faxpeer::make_document(dir.path(), 2);
    let rx = dir.path().join("rx.tif");
    let (ps, pr) = faxpeer::udp_port_pair();
    let sender = FaxPeer::send(&doc)
        .t38()
        .local_port(ps)
        .remote_port(pr)
        .calling(true)
        .ident("SENDER 1")
        .timeout(CALL);
    let receiver = FaxPeer::receive(&rx)
        .t38()
        .local_port(pr)
        .remote_port(ps)
        .ident("RECEIVER 1")
        .timeout(CALL);
    let (s, r) = faxpeer::run_pair(&sender, &receiver, CALL + Duration::from_secs(10));
    report("t38", &s, &r);
    s.assert_ok("sender");
    r.assert_ok("receiver");
    assert_eq!((s.pages, r.pages), (2, 2), "{s:?}\n{r:?}");
    assert_eq!(s.remote_ident, "RECEIVER 1");
    assert_eq!(r.remote_ident, "SENDER 1");
    assert!(!s.ecm && !r.ecm, "ECM was not offered");
    assert_eq!(s.transport, "t38");
    assert_eq!(r.page_lines().len(), 2, "{r:?}");
    let (us, ur) = (
        s.udptl.expect("sender stats"),
        r.udptl.expect("receiver stats"),
    );
    assert!(us.tx > 0 && ur.rx > 0 && us.malformed == 0 && ur.malformed == 0);
    assert_eq!((us.dropped_by_loss, ur.dropped_by_loss), (0, 0));
    assert_eq!(ur.lost, 0, "nothing may be lost on loopback without --loss");
    faxpeer::pages_identical(&doc, &rx).expect("received pages equal the sent ones");
}

#[test]
fn case2_t38_ecm_with_loss_and_redundancy() {
    let dir = Scratch::new("t38-ecm-loss");
    let doc = faxpeer::make_document(dir.path(), 2);
    let rx = dir.path().join("rx.tif");
    let (ps, pr) = faxpeer::udp_port_pair();
    let sender = FaxPeer::send(&doc)
        .t38()
        .local_port(ps)
        .remote_port(pr)
        .calling(true)
        .ecm(true)
        .loss(5.0)
        .seed(11)
        .redundancy(3)
        .timeout(CALL);
    // The receiver does not know its peer: it latches on the first datagram.
    let receiver = FaxPeer::receive(&rx)
        .t38()
        .local_port(pr)
        .latch()
        .wait_first(true)
        .ecm(true)
        .loss(5.0)
        .seed(12)
        .redundancy(3)
        .timeout(CALL);
    let (s, r) = faxpeer::run_pair(&sender, &receiver, CALL + Duration::from_secs(10));
    report("t38-ecm-loss", &s, &r);
    s.assert_ok("sender");
    r.assert_ok("receiver");
    assert_eq!((s.pages, r.pages), (2, 2));
    assert!(s.ecm && r.ecm, "ECM negotiated: {s:?}\n{r:?}");
    let (us, ur) = (
        s.udptl.expect("sender stats"),
        r.udptl.expect("receiver stats"),
    );
    assert!(
        us.dropped_by_loss > 0 && ur.dropped_by_loss > 0,
        "--loss dropped packets"
    );
    assert!(
        ur.recovered > 0,
        "receiver recovered lost IFPs from redundancy: {ur:?}"
    );
    assert!(us.recovered + ur.recovered > 0);
    faxpeer::pages_identical(&doc, &rx).expect("received pages equal the sent ones");
}

#[test]
fn case3_audio_g711_one_page() {
    let dir = Scratch::new("audio");
    let doc = faxpeer::make_document(dir.path(), 1);
    let rx = dir.path().join("rx.tif");
    let (ps, pr) = faxpeer::udp_port_pair();
    let sender = FaxPeer::send(&doc)
        .audio()
        .local_port(ps)
        .remote_port(pr)
        .calling(true)
        .ident("AUDIO TX")
        .timeout(CALL);
    let receiver = FaxPeer::receive(&rx)
        .audio()
        .local_port(pr)
        .latch()
        .wait_first(true)
        .ident("AUDIO RX")
        .timeout(CALL);
    let (s, r) = faxpeer::run_pair(&sender, &receiver, CALL + Duration::from_secs(10));
    report("audio", &s, &r);
    s.assert_ok("sender");
    r.assert_ok("receiver");
    assert_eq!((s.pages, r.pages), (1, 1));
    assert_eq!(r.transport, "audio");
    assert_eq!(r.remote_ident, "AUDIO TX");
    assert!(s.udptl.is_none());
    let (rs, rr) = (s.rtp.expect("sender stats"), r.rtp.expect("receiver stats"));
    assert!(rs.tx > 100 && rr.rx > 100, "{rs:?} {rr:?}");
    assert_eq!(rr.lost, 0);
    faxpeer::pages_identical(&doc, &rx).expect("received pages equal the sent ones");
}

/// UDPTL packet: seq, primary IFP, redundancy with `secondaries` (most recent first).
fn udptl(seq: u16, primary: &[u8], secondaries: &[&[u8]]) -> Vec<u8> {
    let mut p = vec![(seq >> 8) as u8, seq as u8, primary.len() as u8];
    p.extend_from_slice(primary);
    p.push(0x00);
    p.push(secondaries.len() as u8);
    for s in secondaries {
        p.push(s.len() as u8);
        p.extend_from_slice(s);
    }
    p
}

fn rtp(pt: u8, seq: u16, samples: usize) -> Vec<u8> {
    let mut p = vec![
        0x80,
        pt,
        (seq >> 8) as u8,
        seq as u8,
        0,
        0,
        0,
        0,
        1,
        2,
        3,
        4,
    ];
    p.extend(std::iter::repeat(0xFFu8).take(samples));
    p
}

#[test]
fn case4_crafted_datagrams_are_counted() {
    let dir = Scratch::new("crafted");
    let ports = faxpeer::udp_ports(2);
    let short = Duration::from_secs(3);
    let t38 = FaxPeer::receive(dir.path().join("t38.tif"))
        .t38()
        .local_port(ports[0])
        .latch()
        .timeout(short)
        .spawn();
    let audio = FaxPeer::receive(dir.path().join("audio.tif"))
        .audio()
        .local_port(ports[1])
        .latch()
        .timeout(short)
        .spawn();
    std::thread::sleep(Duration::from_millis(400));
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let send = |port: u16, p: &[u8]| {
        sock.send_to(p, faxpeer::loopback(port)).expect("send");
        std::thread::sleep(Duration::from_millis(5));
    };

    // T.38 indicators: no-signal (0x00) and CNG (0x02) are harmless IFPs.
    let (ns, cng): (&[u8], &[u8]) = (&[0x00], &[0x02]);
    let t = ports[0];
    send(t, &udptl(0, ns, &[])); // rx 1
    send(t, &udptl(3, cng, &[ns, cng])); // rx 2, recovers 2 and 1
    send(t, &udptl(10, ns, &[cng, ns])); // rx 3, recovers 9 and 8, loses 4..=7
    send(t, &udptl(5, ns, &[])); // rx 4, duplicate (late)
                                 // FEC error recovery: fec-npackets 1 (INTEGER: len 1, value 3), 2 fec-data entries.
    let mut fec = vec![
        0x00, 11, 0x01, 0x00, 0x80, 0x01, 0x03, 0x02, 0x01, 0xAA, 0x02, 0xBB, 0xCC,
    ];
    send(t, &fec); // rx 5, in sequence
                   // A 200-octet secondary IFP: the two-octet length form (already-seen seq 11).
    let mut long = vec![0x00, 12, 0x01, 0x00, 0x00, 0x01, 0x80, 200];
    long.extend(std::iter::repeat(0u8).take(200));
    send(t, &long); // rx 6, in sequence
                    // Malformed: too short; primary longer than the datagram; fragmented length
                    // form; no error-recovery octet; secondary count beyond the end; truncated FEC.
    send(t, &[0x00, 0x0C]);
    send(t, &[0x00, 0x0C, 0x40, 0x00, 0x00, 0x00]);
    send(t, &[0x00, 0x0C, 0xC1, 0x00, 0x00, 0x00]);
    send(t, &[0x00, 0x0C, 0x01, 0x00]);
    send(t, &[0x00, 0x0C, 0x01, 0x00, 0x00, 0x05, 0x01, 0x00]);
    fec.truncate(9);
    send(t, &fec);
    send(t, &[]);

    let a = ports[1];
    send(a, &rtp(0, 100, 160)); // rx 1
    send(a, &rtp(0, 101, 160)); // rx 2
    send(a, &rtp(8, 104, 160)); // rx 3 (A-law), 2 lost
    send(a, &rtp(0, 102, 160)); // rx 4, late: dup
    send(a, &rtp(13, 105, 1)); // comfort noise: other
    send(a, &rtp(101, 106, 4)); // telephone-event: other
    let mut v1 = rtp(0, 107, 160);
    v1[0] = 0x40; // RTP version 1
    send(a, &v1);
    send(a, &[0x80, 0x00, 0x00]); // short
    let mut ext = rtp(0, 108, 2);
    ext[0] = 0x90; // extension header claimed, not there
    send(a, &ext);

    let t = t38.wait(Duration::from_secs(15));
    let a = audio.wait(Duration::from_secs(15));
    eprintln!("crafted t38: {}", t.summary());
    eprintln!("crafted audio: {}", a.summary());
    assert_eq!(
        (t.code, t.exit_code, t.reason.as_str()),
        (-1, Some(2), "timeout"),
        "{t:?}"
    );
    assert_eq!(
        (a.code, a.exit_code, a.reason.as_str()),
        (-1, Some(2), "timeout"),
        "{a:?}"
    );
    let u = t.udptl.expect("udptl stats");
    assert_eq!(
        (u.rx, u.recovered, u.lost, u.dup, u.malformed),
        (6, 4, 4, 1, 7),
        "{t:?}"
    );
    let r = a.rtp.expect("rtp stats");
    assert_eq!(
        (r.rx, r.lost, r.dup, r.other, r.malformed),
        (4, 2, 1, 2, 3),
        "{a:?}"
    );
}

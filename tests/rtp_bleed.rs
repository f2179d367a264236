//! RTP bleed (issue 9): once a call's media has latched onto the party's
//! source address, media sent to the appliance's media ports from any other
//! address is dropped:
//!
//! - a **relayed** call: never relayed to either party, while the parties'
//!   own streams keep flowing. The attacker sprays the same ports the
//!   parties use, with its own SSRC, so what arrives is told apart by SSRC;
//! - a call **terminated by the media engine** (an IVR menu): a third
//!   address's valid RFC 4733 `#` (the caller's SSRC and payload type,
//!   seq/timestamps continuing the caller's stream) does not move the menu
//!   on, while the caller's own `#` does; the appliance answers the caller's
//!   real source, not its SDP address (symmetric RTP, NAT);
//! - a **T.38** session: valid UDPTL from a third address (and from the SDP
//!   address, once the peer latched elsewhere) is dropped and counted, and
//!   the appliance sends only to the latched peer.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::mutation::{IVR_DID, IVR_PLAN};
use common::ports;
use common::relayed::{relayed_call, rtp_packet, send_stream};
use common::sip_ua::{audio_sdp, media_port, t38_sdp, Msg, Ua};
use common::switchboard::Switchboard;

const SSRC_A: u32 = 0x0a0a_0a0a;
const SSRC_B: u32 = 0x0b0b_0b0b;
const SSRC_EVIL: u32 = 0x0e0e_0e0e;
const PACKETS: u16 = 150;

/// One reader per party's socket: packets of the expected SSRC, and
/// packets of any other SSRC (the attacker's, if bled through).
fn tally(sock: UdpSocket, expected: u32, until: Instant) -> std::thread::JoinHandle<(u32, u32)> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let (mut ours, mut other) = (0, 0);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).ok();
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                if len >= 12 && buf[8..12] == expected.to_be_bytes() {
                    ours += 1;
                } else {
                    other += 1;
                }
            }
        }
        (ours, other)
    })
}

#[test]
fn rtp_from_a_third_address_is_not_relayed() {
    let sb = Switchboard::start_with(&format!(
        "[media]\nprompts_dir = \"{}/prompts\"\n[trunks]\noptions_interval_secs = 0\n",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("start");
    let host = format!("127.0.0.1:{}", ports::alloc());
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &host, "--did", "1001"]);
    let mut call = relayed_call(&sb, "1001");

    // The parties start their streams; once they have latched (after their
    // first packets), the attacker (another loopback address) sprays both
    // media ports for the rest of the call.
    let until = Instant::now() + Duration::from_millis(20 * u64::from(PACKETS) + 1500);
    let evil = UdpSocket::bind("127.0.0.66:0").expect("bind 127.0.0.66");
    let (to_a, to_b) = (call.to_a_side, call.to_b_side);
    let attacker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut sent = 0u32;
        for seq in 0..PACKETS {
            for to in [to_a, to_b] {
                if evil.send_to(&rtp_packet(seq, SSRC_EVIL), to).is_ok() {
                    sent += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        sent
    });
    let a_send = send_stream(call.a_rtp.try_clone().unwrap(), call.to_a_side, PACKETS, SSRC_A);
    let b_send = send_stream(call.b_rtp.try_clone().unwrap(), call.to_b_side, PACKETS, SSRC_B);
    let b_tally = tally(call.b_rtp.try_clone().unwrap(), SSRC_A, until);
    let a_tally = tally(call.a_rtp.try_clone().unwrap(), SSRC_B, until);
    let evil_sent = attacker.join().unwrap();
    let (sent_a, sent_b) = (a_send.join().unwrap(), b_send.join().unwrap());
    let (got_b, evil_at_b) = b_tally.join().unwrap();
    let (got_a, evil_at_a) = a_tally.join().unwrap();
    println!("A->B {got_b}/{sent_a}, B->A {got_a}/{sent_b}, attacker sent {evil_sent}, bled {evil_at_a} to A and {evil_at_b} to B");
    assert!(evil_sent > 100, "the attacker really sent");
    assert_eq!((evil_at_a, evil_at_b), (0, 0), "no injected packet reached either party");
    // Loopback loses nothing: the parties' streams arrive nearly whole.
    assert!(got_b * 10 >= u32::from(sent_a) * 9 && got_a * 10 >= u32::from(sent_b) * 9, "the parties' own media kept flowing (A->B {got_b}/{sent_a}, B->A {got_a}/{sent_b})");
    call.a.bye();
    let _ = call.b.wait_request("BYE", Duration::from_secs(10));
}

// ------------------------------------------------------------- IVR call

const T: Duration = Duration::from_secs(15);
const PT_PCMU: u8 = 0;
/// The telephone-event payload type of `audio_sdp` (and so negotiated).
const PT_TE: u8 = 101;
/// The `#` key's RFC 4733 event code.
const EVENT_HASH: u8 = 11;

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, (u8::from(marker) << 7) | pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A telephone-event payload (RFC 4733 §2.3), volume 10.
fn te(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let d = duration.to_be_bytes();
    [event, (u8::from(end) << 7) | 10, d[0], d[1]]
}

/// The caller's RTP stream numbering (one SSRC, seq and timestamp per 20 ms).
struct Stream {
    ssrc: u32,
    seq: u16,
    ts: u32,
}

impl Stream {
    fn step(&mut self) -> (u16, u32) {
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        (self.seq, self.ts)
    }

    fn audio(&mut self) -> Vec<u8> {
        let (seq, ts) = self.step();
        rtp(PT_PCMU, false, seq, ts, self.ssrc, &[0xff; 160])
    }

    /// One `#` press as RFC 4733 §2.5 sends it (marker on the first packet,
    /// duration updates, three end packets, all with the press's start
    /// timestamp), taking the place of 7 audio packets of this stream.
    fn hash_press(&mut self) -> Vec<Vec<u8>> {
        let start = self.ts.wrapping_add(160);
        let mut out = Vec::new();
        for (k, dur) in [160u16, 480, 800, 1120].into_iter().enumerate() {
            let (seq, _) = self.step();
            out.push(rtp(PT_TE, k == 0, seq, start, self.ssrc, &te(EVENT_HASH, false, dur)));
        }
        for _ in 0..3 {
            let (seq, _) = self.step();
            out.push(rtp(PT_TE, false, seq, start, self.ssrc, &te(EVENT_HASH, true, 1280)));
        }
        out
    }
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

/// Datagrams waiting on a non-blocking socket.
fn drain(sock: &UdpSocket) -> u32 {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while sock.recv(&mut buf).is_ok() {
        n += 1;
    }
    n
}

#[test]
fn telephone_events_from_a_third_address_do_not_drive_an_ivr() {
    let ua_port = free_udp();
    let mut sb = Switchboard::new(&format!(
        "[media]\nprompts_dir = \"{}/prompts\"\n[trunks]\noptions_interval_secs = 0\n",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("prepare");
    std::fs::write(sb.dialplan_dir().join("ivr.toml"), IVR_PLAN).unwrap();
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{ua_port}")]);
    sb.start().expect("start");

    // The caller is "behind a NAT": its SDP names one port, it sends (and
    // must be answered) from another.
    let advertised = UdpSocket::bind("127.0.0.1:0").unwrap();
    advertised.set_nonblocking(true).unwrap();
    let caller = UdpSocket::bind("127.0.0.1:0").unwrap();
    caller.set_nonblocking(true).unwrap();
    let mut ua = Ua::new(ua_port, sb.sip_addr().parse().unwrap(), "5551000", IVR_DID);
    let r = ua.invite(&audio_sdp(advertised.local_addr().unwrap().port()));
    assert_eq!(r.status(), Some(200), "the IVR answers: {}\n{}", r.first, sb.log());
    let to = SocketAddr::from(([127, 0, 0, 1], media_port(&r.body, "audio").expect("audio port in the answer")));
    let mut stream = Stream { ssrc: 0x0a0a_0a0a, seq: 1000, ts: 160_000 };

    // The caller's first packets latch its source.
    for _ in 0..15 {
        caller.send_to(&stream.audio(), to).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    drain(&advertised);
    drain(&caller);

    // The attacker (another loopback address) presses `#` twice, each packet
    // exactly as the caller would send it (its SSRC, the telephone-event
    // payload type, seq and timestamp continuing its stream), in the place
    // of the caller's audio; the caller's audio goes on around the presses.
    let evil = UdpSocket::bind("127.0.0.66:0").expect("bind 127.0.0.66");
    evil.set_nonblocking(true).unwrap();
    let mut injected = 0u32;
    for press in 0..2 {
        for p in stream.hash_press() {
            evil.send_to(&p, to).unwrap();
            injected += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        if press == 0 {
            for _ in 0..15 {
                caller.send_to(&stream.audio(), to).unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    // The menu must not move on: the call stays up (give the digit merger,
    // the menu and the hang-up plenty of time).
    let (mut heard, mut at_sdp, mut at_evil) = (0u32, 0u32, 0u32);
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        caller.send_to(&stream.audio(), to).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        heard += drain(&caller);
        at_sdp += drain(&advertised);
        at_evil += drain(&evil);
        if let Some(bye) = bye_waiting(&ua) {
            panic!("the IVR hung up: a third party's `#` moved the menu on: {bye:?}\n{}", sb.log());
        }
    }
    let log = sb.log();
    println!("injected {injected} telephone-events from 127.0.0.66; the caller heard {heard} packets, its SDP address {at_sdp}, the attacker {at_evil}");
    assert!(!log.contains("digit=#"), "a third party's `#` reached the digit detector\n{log}");
    assert!(log.contains("media from a foreign source dropped"), "the injection was seen and dropped\n{log}");
    assert_eq!(at_evil, 0, "the appliance sent media to the attacker");
    // Symmetric RTP: the appliance answers where the caller sends from.
    assert!(heard >= 50, "the caller's real source gets the IVR's media ({heard} packets in 1.5 s)");
    assert_eq!(at_sdp, 0, "after latching, nothing goes to the SDP address");

    // The caller's own `#` moves the menu on, which hangs up.
    for p in stream.hash_press() {
        caller.send_to(&p, to).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let until = Instant::now() + T;
    let bye = loop {
        if let Some(b) = bye_waiting(&ua) {
            break Some(b);
        }
        if Instant::now() > until {
            break None;
        }
        caller.send_to(&stream.audio(), to).unwrap();
        drain(&caller);
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = sb.log();
    assert!(log.contains("digit=# source=Rfc4733"), "the caller's `#` was not detected\n{log}");
    assert!(bye.is_some(), "the menu did not move on after the caller's `#` (no BYE)\n{log}");
    // The leg's end reports what it dropped: the two injected presses.
    let line = sb.wait_log("media from foreign sources dropped", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let line = line.lines().find(|l| l.contains("media from foreign sources dropped")).unwrap_or(&line).to_string();
    assert!(line.contains(&format!("dropped_foreign_rtp={injected}")), "{line}");
}

// ---------------------------------------------------------------- T.38

const FAX_DID: &str = "5550300";

/// A valid UDPTL datagram carrying a t30-indicator IFP `no-signal`, with
/// no redundancy.
fn udptl_no_signal(seq: u16) -> Vec<u8> {
    use switchboard::fax::udptl::{encode, Entries, ErrorRecovery, UdptlPacket};
    let packet = UdptlPacket { seq, primary: &[0x00], recovery: ErrorRecovery::Secondary(Entries::from_slices(&[])) };
    let mut out = vec![0u8; 64];
    let n = encode(&packet, &mut out).expect("a valid UDPTL packet encodes");
    out.truncate(n);
    out
}

#[test]
fn udptl_from_a_third_address_is_ignored() {
    let ua_port = free_udp();
    let mut sb = Switchboard::new("[trunks]\noptions_interval_secs = 0\n").expect("prepare");
    std::fs::write(
        sb.dialplan_dir().join("fax.toml"),
        format!("[[entry]]\nmatch = {{ did = \"{FAX_DID}\" }}\ncontext = \"fax\"\n[context.fax]\nsteps = [{{ app = \"fax_receive\" }}, {{ app = \"hangup\" }}]\n"),
    )
    .unwrap();
    sb.admin_ok(&["trunk", "add", "carrier", "--host", &format!("127.0.0.1:{ua_port}")]);
    sb.start().expect("start");

    // The gateway is "behind a NAT": its SDP names 127.0.0.1:<port>, it
    // sends from 127.0.0.77.
    let advertised = UdpSocket::bind("127.0.0.1:0").unwrap();
    advertised.set_nonblocking(true).unwrap();
    let peer = UdpSocket::bind("127.0.0.77:0").expect("bind 127.0.0.77");
    peer.set_nonblocking(true).unwrap();
    let evil = UdpSocket::bind("127.0.0.66:0").expect("bind 127.0.0.66");
    evil.set_nonblocking(true).unwrap();
    let mut ua = Ua::new(ua_port, sb.sip_addr().parse().unwrap(), "5551000", FAX_DID);
    let r = ua.invite(&audio_sdp(free_udp()));
    assert_eq!(r.status(), Some(200), "the fax line answers: {}\n{}", r.first, sb.log());
    let r = ua.reinvite(&t38_sdp(advertised.local_addr().unwrap().port(), 0, "t38UDPRedundancy"));
    assert_eq!(r.status(), Some(200), "T.38 re-INVITE: {}\n{}", r.first, sb.log());
    let ours = SocketAddr::from(([127, 0, 0, 1], media_port(&r.body, "image").expect("our answer has an image line")));

    let (mut seq, mut foreign, mut own) = (0u16, 0u32, 0u32);
    let (mut at_peer, mut at_evil, mut at_sdp_after) = (0u32, 0u32, 0u32);
    let until = Instant::now() + Duration::from_millis(2000);
    let mut n = 0u32;
    while Instant::now() < until {
        // The gateway's own stream (it latches with its first datagram).
        peer.send_to(&udptl_no_signal(seq), ours).unwrap();
        own += 1;
        seq = seq.wrapping_add(1);
        if n >= 10 && n.is_multiple_of(2) {
            // Valid datagrams with plausible sequence numbers from a third
            // address, and from the SDP address the gateway does not use.
            let from = if n.is_multiple_of(4) { &evil } else { &advertised };
            from.send_to(&udptl_no_signal(seq), ours).unwrap();
            foreign += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
        at_peer += drain(&peer);
        at_evil += drain(&evil);
        let sdp = drain(&advertised);
        if n >= 10 {
            at_sdp_after += sdp;
        }
        n += 1;
    }
    println!("the gateway sent {own} UDPTL datagrams, others {foreign}; the gateway heard {at_peer}, the attacker {at_evil}, the SDP address (after latching) {at_sdp_after}");
    assert_eq!(at_evil, 0, "the appliance sent UDPTL to the attacker");
    assert!(at_peer > 0, "the appliance answers the gateway's real source (NAT)\n{}", sb.log());
    assert_eq!(at_sdp_after, 0, "after latching, nothing goes to the SDP address");

    // The session's UDPTL layer saw exactly the gateway's datagrams; the
    // others were counted as foreign.
    let r = ua.bye();
    assert_eq!(r.status(), Some(200), "BYE: {}", r.first);
    let line = sb.wait_log("T.38 session ended", T).unwrap_or_else(|e| panic!("{e:?}\n{}", sb.log()));
    let line = line.lines().find(|l| l.contains("T.38 session ended")).unwrap_or(&line).to_string();
    println!("{line}");
    assert!(line.contains(&format!("received: {own},")), "only the gateway's datagrams reached the UDPTL session: {line}");
    assert!(line.contains(&format!("foreign: {foreign}")), "every foreign datagram counted: {line}");
    assert!(line.contains("malformed: 0"), "{line}");
    assert!(sb.log().contains("UDPTL from a foreign source dropped"), "{}", sb.log());
}

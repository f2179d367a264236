//! Random mutations of valid SIP (with SDP bodies) over the wire, for a
//! bounded count: bit flips, byte insertions and deletions, truncation,
//! duplicated and dropped lines, broken line ends, spliced numbers. The
//! appliance must never send something that is not a SIP response, must
//! answer malformed requests that carry a usable Via with 400 (or a proper
//! answer when the mutation left a valid request), must keep running, and
//! must answer normal requests correctly afterwards. The PRNG is seeded, so
//! a failure reproduces; the seed is printed.
//!
//! Senders rotate over 40 loopback addresses (127.0.1.x) so that the per-
//! address rate limit sees an ordinary client, not a flood.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::mutation::Rng;
use common::switchboard::Switchboard;
use switchboard::sip::message::{parse_message, Message};


fn seeds(server: SocketAddr, local: SocketAddr, n: u64) -> Vec<Vec<u8>> {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";
    let head = |method: &str, ruri: &str, extra: &str, body: &str| {
        // A REGISTER's To is the address of record; other requests address
        // their Request-URI.
        let to = if method == "REGISTER" { format!("sip:1001@{server}") } else { ruri.to_string() };
        format!(
            "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKmut{n};rport\r\nMax-Forwards: 70\r\n\
             From: \"Mutant\" <sip:1001@{server}>;tag=m{n}\r\nTo: <{to}>\r\nCall-ID: mut-{n}@127.0.0.1\r\n\
             CSeq: {n} {method}\r\nContact: <sip:1001@{local}>\r\nUser-Agent: mutation-test\r\n{extra}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    vec![
        // An INVITE from a stranger is challenged, so no call (and no media)
        // is set up however many survive their mutation.
        head("OPTIONS", &format!("sip:{server}"), "Accept: application/sdp\r\n", ""),
        head("REGISTER", &format!("sip:{server}"), "Expires: 60\r\n", ""),
        head("INVITE", &format!("sip:9999@{server}"), "Content-Type: application/sdp\r\nAllow: INVITE, ACK, BYE, CANCEL\r\n", sdp),
        head("MESSAGE", &format!("sip:1002@{server}"), "Content-Type: text/plain\r\n", "hello"),
        head("SUBSCRIBE", &format!("sip:1001@{server}"), "Event: message-summary\r\nExpires: 60\r\n", ""),
    ]
}

fn mutate(rng: &mut Rng, msg: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        if msg.is_empty() {
            msg.push(b'A');
        }
        let at = rng.below(msg.len());
        match rng.below(9) {
            0 => msg[at] ^= 1 << rng.below(8),
            1 => msg.insert(at, rng.next() as u8),
            2 => {
                msg.remove(at);
            }
            3 => msg.truncate(at),
            4 => {
                // Duplicate a line.
                let start = msg[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                let end = msg[at..].iter().position(|&b| b == b'\n').map_or(msg.len(), |p| at + p + 1);
                let line = msg[start..end].to_vec();
                msg.splice(end..end, line);
            }
            5 => {
                // Drop a line.
                let start = msg[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                let end = msg[at..].iter().position(|&b| b == b'\n').map_or(msg.len(), |p| at + p + 1);
                msg.drain(start..end);
            }
            6 => {
                // A bare LF or CR where CRLF was.
                if let Some(p) = msg[at..].windows(2).position(|w| w == b"\r\n") {
                    msg.remove(at + p + rng.below(2));
                }
            }
            7 => {
                // A huge or negative number.
                let n: &[&[u8]] = &[b"4294967296", b"-1", b"99999999999999999999", b"0"];
                let pick = n[rng.below(n.len())].to_vec();
                msg.splice(at..at, pick);
            }
            _ => {
                // Special characters SIP parsers trip over.
                let c = [b'\0', b'<', b'>', b'"', b';', b',', b':', b'[', b']', b'%', 0xff, b' '];
                msg.insert(at, c[rng.below(c.len())]);
            }
        }
    }
}

/// An error answer (4xx/5xx) with a reason phrase and proper framing.
fn is_framed_error(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let first = text.lines().next().unwrap_or_default();
    let mut parts = first.splitn(3, ' ');
    let (version, code, reason) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
    version == Some("SIP/2.0")
        && code.and_then(|c| c.parse::<u16>().ok()).is_some_and(|c| (400..600).contains(&c))
        && !reason.trim().is_empty()
        && text.ends_with("Content-Length: 0\r\n\r\n")
}

#[test]
fn mutated_sip_over_udp_never_breaks_the_appliance() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "secret-1001-mutation");
    let server: SocketAddr = sb.sip_addr().parse().expect("sip addr");
    let seed = std::env::var("MUTATION_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_cafe_u64);
    println!("MUTATION_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let socks: Vec<UdpSocket> = (0..40u8)
        .map(|i| {
            let s = UdpSocket::bind(("127.0.1.".to_string() + &(i + 10).to_string(), 0)).expect("bind 127.0.1.x");
            s.set_nonblocking(true).expect("nonblocking");
            s
        })
        .collect();
    let (mut sent, mut answered, mut refused400) = (0u32, 0u32, 0u32);
    let mut buf = vec![0u8; 65_535];
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in 0..4000u64 {
        if Instant::now() > deadline {
            break;
        }
        let sock = &socks[(n % socks.len() as u64) as usize];
        let local = sock.local_addr().expect("local");
        let mut msgs = seeds(server, local, n);
        let mut msg = msgs.swap_remove(rng.below(msgs.len()));
        mutate(&mut rng, &mut msg);
        if sock.send_to(&msg, server).is_ok() {
            sent += 1;
        }
        // Collect whatever came back on every socket so far.
        if n % 50 == 49 {
            std::thread::sleep(Duration::from_millis(20));
        }
        for s in &socks {
            while let Ok((len, from)) = s.recv_from(&mut buf) {
                assert_eq!(from, server, "datagram from a stranger");
                match parse_message(&buf[..len]) {
                    Ok(Message::Response(r)) => {
                        answered += 1;
                        if r.status == 400 {
                            refused400 += 1;
                            assert!(!r.reason.trim().is_empty(), "seed {seed}: 400 without a reason phrase");
                        }
                    }
                    // Requests (e.g. an INVITE leg's BYE) are fine to receive.
                    Ok(Message::Request(_)) => {}
                    // An error answer copies the request's Via, From, To, Call-ID and
                    // CSeq (RFC 3261 §8.2.6.2), broken as they may be (two
                    // Call-IDs, no To): then only its status line, reason
                    // phrase and framing are ours to check.
                    Err(_) if is_framed_error(&buf[..len]) => {
                        answered += 1;
                        refused400 += u32::from(buf[..len].starts_with(b"SIP/2.0 400 "));
                    }
                    Err(e) => panic!("seed {seed}: the appliance sent something unparsable ({e}): {:?}", String::from_utf8_lossy(&buf[..len])),
                }
            }
        }
    }
    println!("sent {sent} mutated messages; {answered} responses, {refused400} of them 400");
    assert!(sent >= 1000, "only {sent} sent");
    assert!(refused400 > 0, "no mutation produced a 400: the test does not reach the parser");
    assert!(sb.is_running(), "switchboard died (seed {seed}):\n{}", sb.log());
    // stderr too: Rust's panic hook prints there, also for a panic tokio
    // catches in a task (the process then survives).
    assert!(!sb.log().contains("panicked") && !sb.stderr().contains("panicked"), "a panic was logged (seed {seed}):\n{}", sb.stderr());

    // Still a working registrar and OPTIONS responder from a fresh address.
    let probe = UdpSocket::bind("127.0.0.1:0").expect("bind");
    probe.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
    let local = probe.local_addr().expect("local");
    for (i, expect) in [(0usize, 200u16), (1, 401)] {
        let msg = &seeds(server, local, 900_000 + i as u64)[i];
        probe.send_to(msg, server).expect("send");
        let status = loop {
            let (len, _) = probe.recv_from(&mut buf).expect("an answer after the mutation run");
            if let Ok(Message::Response(r)) = parse_message(&buf[..len]) {
                if r.status >= 200 {
                    break r.status;
                }
            }
        };
        assert_eq!(status, expect, "{} after the mutation run", if i == 0 { "OPTIONS" } else { "REGISTER" });
    }
}

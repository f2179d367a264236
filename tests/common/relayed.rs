//! A call relayed through the appliance between two small UAs that send and
//! count RTP themselves: A comes in over a loopback trunk (its number a
//! DID of extension `ext`), B is a registered extension. What arrives is
//! counted by SSRC, so a test can tell the legitimate stream from anything
//! else. Used by the overload, RTP-bleed and media-mutation tests.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::ports;
use super::sip_ua::{audio_sdp, media_port, Ua};
use super::sipp::Sipp;
use super::switchboard::Switchboard;

const T: Duration = Duration::from_secs(20);

fn sip_addr(sb: &Switchboard) -> SocketAddr {
    sb.sip_addr().parse().expect("sip addr")
}

pub struct Relayed {
    pub a: Ua,
    pub b: Ua,
    pub a_rtp: UdpSocket,
    pub b_rtp: UdpSocket,
    /// Where A and B send RTP: the appliance's ports from their SDP.
    pub to_a_side: SocketAddr,
    pub to_b_side: SocketAddr,
}

pub fn relayed_call(sb: &Switchboard, ext: &str) -> Relayed {
    relayed_call_on(sb, ext, UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap())
}

/// `relayed_call` with the parties' RTP sockets given (e.g. with RTCP
/// sockets bound beside them on port + 1, where the relay sends RTCP).
pub fn relayed_call_on(sb: &Switchboard, ext: &str, a_rtp: UdpSocket, b_rtp: UdpSocket) -> Relayed {
    let secret = format!("secret-of-{ext}");
    sb.add_extension(ext, &secret);
    let p = ports::alloc_sipp();
    let run = Sipp::scenario("register_auth.xml").remote(&sb.sip_addr()).ports(p).service(ext).auth(ext, &secret).calls(1).run().expect("register");
    run.expect_success(1).expect("B registered");
    let mut b = Ua::new(p.sip, sip_addr(sb), ext, "5551000");
    let a_port = a_rtp.local_addr().unwrap().port();
    let b_port = b_rtp.local_addr().unwrap().port();
    let server = sip_addr(sb);
    // The caller's INVITE blocks until the final answer: run it beside B.
    let ext_owned = ext.to_string();
    let caller = std::thread::spawn(move || {
        let mut a = Ua::new(0, server, "5551000", &ext_owned);
        let r = a.invite(&audio_sdp(a_port));
        (a, r)
    });
    let invite = b.wait_request("INVITE", T).expect("the appliance rings B");
    let to_b_side = media_port(&invite.body, "audio").expect("B-side RTP port in the INVITE");
    b.accept(&invite, &audio_sdp(b_port));
    let (a, r) = caller.join().expect("caller thread");
    assert_eq!(r.status(), Some(200), "relayed call answered: {}", r.first);
    let to_a_side = media_port(&r.body, "audio").expect("A-side RTP port in the 200");
    Relayed {
        a,
        b,
        a_rtp,
        b_rtp,
        to_a_side: SocketAddr::from(([127, 0, 0, 1], to_a_side)),
        to_b_side: SocketAddr::from(([127, 0, 0, 1], to_b_side)),
    }
}

pub fn rtp_packet(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(std::iter::repeat_n(0xffu8, 160));
    p
}

/// Sends `count` packets every 20 ms from `sock` to `to`.
pub fn send_stream(sock: UdpSocket, to: SocketAddr, count: u16, ssrc: u32) -> std::thread::JoinHandle<u16> {
    std::thread::spawn(move || {
        let start = Instant::now();
        for seq in 0..count {
            let due = start + Duration::from_millis(20 * u64::from(seq));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let _ = sock.send_to(&rtp_packet(seq, ssrc), to);
        }
        count
    })
}

/// Counts RTP packets with `ssrc` arriving on `sock` until `until`.
pub fn count_stream(sock: UdpSocket, ssrc: u32, until: Instant) -> std::thread::JoinHandle<u32> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).ok();
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                if len >= 12 && buf[8..12] == ssrc.to_be_bytes() {
                    n += 1;
                }
            }
        }
        n
    })
}


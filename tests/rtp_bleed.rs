//! RTP bleed (issue 9): once a relayed call's media has latched onto each
//! party's source address, RTP sent to the appliance's media ports from any
//! other address is dropped, never relayed to either party, while the
//! parties' own streams keep flowing. The attacker sprays the same ports
//! the parties use, with its own SSRC, so what arrives is told apart by
//! SSRC.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::ports;
use common::relayed::{relayed_call, rtp_packet, send_stream};
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

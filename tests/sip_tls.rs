//! SIP over TLS against the real binary: baresip (Debian's, built with
//! TLS; SIPp there is not) registers over TLS with digest auth, receives a
//! call over its own TLS connection (switchboard has no outgoing TLS) and
//! places one; a rustls client verifying the generated certificate gets
//! answers with its `SIP/2.0/TLS` Via intact, `openssl s_client` verifies
//! the handshake, and a client speaking plain text to the TLS port harms
//! nothing.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::baresip::{AnswerMode, Baresip, BaresipConfig};
use common::switchboard::Switchboard;
use common::tls::{connect, pem_certs, TlsStream};

const T: Duration = Duration::from_secs(10);

fn tls_phone(sb: &Switchboard, user: &str, secret: &str) -> Baresip {
    let cafile = sb.data_dir().join("tls/server.pem");
    let mut cfg = BaresipConfig::new(user).registrar(&format!("127.0.0.1:{}", sb.sip_tls_port), user, secret).answermode(AnswerMode::Auto);
    cfg.transport = "tls".into();
    cfg.extra_config.push(format!("sip_cafile\t\t{}", cafile.display()));
    let mut b = Baresip::start(cfg).expect("start baresip");
    b.wait_registered(T).expect("registers over TLS with digest");
    b
}

fn udp_phone(sb: &Switchboard, user: &str, secret: &str) -> Baresip {
    let mut b = Baresip::start(BaresipConfig::new(user).registrar(&sb.sip_addr(), user, secret).answermode(AnswerMode::Auto)).expect("start baresip");
    b.wait_registered(T).expect("registers over UDP");
    b
}

#[test]
fn a_phone_registers_over_tls_and_calls_reach_it_over_its_connection() {
    let sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "secret-one-1001");
    sb.add_extension("1002", "secret-two-1002");
    let mut alice = tls_phone(&sb, "1001", "secret-one-1001");
    let trace = std::fs::read_to_string(alice.log_path()).unwrap();
    assert!(trace.contains("/TLS/v4} 200 OK"), "the 200 to REGISTER came over TLS: {trace}");
    assert!(trace.contains("401 Unauthorized"), "digest challenged first");
    let list = sb.admin_ok(&["extension", "list"]);
    assert!(list.contains("transport=tls"), "1001 registered its TLS contact: {list}");
    let mut bob = udp_phone(&sb, "1002", "secret-two-1002");

    // Bob (UDP) calls Alice: the INVITE can only reach her over the TLS connection she opened.
    bob.dial(&format!("sip:1001@{}", sb.sip_addr())).expect("dial");
    bob.wait_event("CALL_ESTABLISHED", T).expect("caller connected");
    alice.wait_event("CALL_ESTABLISHED", T).expect("the TLS phone answered");
    let trace = std::fs::read_to_string(alice.log_path()).unwrap();
    let via = format!("Via: SIP/2.0/TLS 127.0.0.1:{};branch=", sb.sip_tls_port);
    let invite = trace.find("INVITE sip:").and_then(|at| trace[at..].find(&via).map(|v| v + at));
    assert!(invite.is_some(), "switchboard's INVITE carries its TLS Via ({via}): {trace}");
    assert!(trace.contains(&format!("<sip:switchboard@127.0.0.1:{};transport=tls>", sb.sip_tls_port)), "and a TLS Contact: {trace}");
    bob.hangup().expect("hang up");
    alice.wait_event("CALL_CLOSED", T).expect("the BYE reached the TLS phone");
    bob.wait_event("CALL_CLOSED", T).expect("caller closed");

    // Alice calls Bob over TLS (digest-challenged INVITE included).
    alice.dial(&format!("sip:1002@127.0.0.1:{};transport=tls", sb.sip_tls_port)).expect("dial over TLS");
    alice.wait_event("CALL_ESTABLISHED", T).expect("the TLS caller connected");
    bob.wait_event("CALL_ESTABLISHED", T).expect("callee connected");
    alice.hangup().expect("hang up");
    bob.wait_event("CALL_CLOSED", T).expect("callee closed");
    alice.wait_event("CALL_CLOSED", T).expect("caller closed");
}

/// One SIP request over `s`; the first response's text.
fn sip_exchange(s: &mut TlsStream, request: &str) -> String {
    s.write_all(request.as_bytes()).and_then(|_| s.flush()).expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn options(port: u16, local: u16, n: u32) -> String {
    format!(
        "OPTIONS sip:switchboard@127.0.0.1:{port};transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:{local};branch=z9hG4bK-tls-{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=t{n}\r\nTo: <sip:switchboard@127.0.0.1>\r\nCall-ID: tls-probe-{n}\r\n\
         CSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

#[test]
fn the_tls_port_serves_the_generated_certificate_and_survives_bad_clients() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");
    let pem = sb.data_dir().join("tls/server.pem");
    let roots = pem_certs(&pem);
    assert!(sb.log().contains(&format!("SIP TLS  127.0.0.1:{}", sb.sip_tls_port)), "{}", sb.log());

    // Verified for the address phones use; a stranger's root does not verify it.
    let mut s = connect(sb.sip_tls_port, &roots, "127.0.0.1").expect("TLS handshake, certificate verified");
    let local = s.sock.local_addr().unwrap().port();
    let answer = sip_exchange(&mut s, &options(sb.sip_tls_port, local, 1));
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(answer.contains(&format!("Via: SIP/2.0/TLS 127.0.0.1:{local};branch=z9hG4bK-tls-1;rport={local}")), "{answer}");
    // A CRLF ping gets its pong on the same connection (RFC 5626), then more requests.
    s.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    s.read_exact(&mut pong).expect("pong");
    assert_eq!(&pong, b"\r\n");
    assert!(sip_exchange(&mut s, &options(sb.sip_tls_port, local, 2)).starts_with("SIP/2.0 200"));
    let stranger = pem_certs(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/ca.pem"));
    assert!(connect(sb.sip_tls_port, &stranger, "127.0.0.1").is_err());

    // Plain SIP to the TLS port: the handshake fails, the appliance goes on.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", sb.sip_tls_port)).unwrap();
    plain.set_read_timeout(Some(T)).unwrap();
    let _ = plain.write_all(options(sb.sip_tls_port, 9, 3).as_bytes());
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest);
    assert!(!String::from_utf8_lossy(&rest).contains("SIP/2.0 200"), "no SIP without TLS");
    // A client that connects and says nothing holds up nobody.
    let _silent = std::net::TcpStream::connect(("127.0.0.1", sb.sip_tls_port)).unwrap();
    let mut again = connect(sb.sip_tls_port, &roots, "localhost").expect("new handshakes still work");
    let local = again.sock.local_addr().unwrap().port();
    assert!(sip_exchange(&mut again, &options(sb.sip_tls_port, local, 4)).starts_with("SIP/2.0 200"));
    assert!(sb.is_running());

    // OpenSSL agrees: the chain verifies against the generated certificate.
    let out = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{}", sb.sip_tls_port), "-CAfile"])
        .arg(&pem)
        .args(["-verify_return_error", "-verify_ip", "127.0.0.1", "-brief"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl (Debian package openssl, in the Makefile's TEST_DEBS)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("Verification: OK"), "{text}");
    assert!(text.contains("Signature type: ECDSA") && text.contains("O = switchboard appliance (self-signed)"), "{text}");
    sb.wait_log("tls handshake failed", T).expect("the plain client's failed handshake is logged");
}

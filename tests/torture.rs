//! Robustness over the wire: every RFC 4475 torture vector sent to a running
//! appliance over UDP, the out-of-dialog error answers (405/483/501/400),
//! stream framing over TCP (pipelining, split writes, CRLF keepalive,
//! oversize), and SIPp over TCP. Afterwards the process must still be alive
//! and answering.
//!
//! "No answer" is proven without sleeping: after the message that must go
//! unanswered, the same socket sends an OPTIONS probe, and the first thing
//! that comes back must be the probe's 200 (the endpoint handles datagrams
//! of one socket in order, and answers malformed input synchronously).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::sipp::Sipp;
use common::switchboard::Switchboard;
use switchboard::sip::message::{frame_stream, parse_message, Framing, Message, Response};

const WAIT: Duration = Duration::from_secs(2);

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc4475")
}

fn uniq() -> String {
    format!("{:x}", rand::random::<u64>())
}

/// An OPTIONS request from `local` (UDP or TCP) with Call-ID `cid`.
fn options(transport: &str, local: SocketAddr, server: SocketAddr, cid: &str) -> String {
    format!(
        "OPTIONS sip:ping@{server} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK-{b};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{local}>;tag={b}\r\n\
         To: <sip:ping@{server}>\r\n\
         Call-ID: {cid}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n",
        b = uniq()
    )
}

/// A request of `method` with the usual headers plus `extra`.
fn request(method: &str, local: SocketAddr, server: SocketAddr, cid: &str, extra: &str) -> String {
    format!(
        "{method} sip:1001@{server} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-{b};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{local}>;tag={b}\r\n\
         To: <sip:1001@{server}>\r\n\
         Call-ID: {cid}\r\n\
         CSeq: 1 {method}\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n",
        b = uniq()
    )
}

/// A response read leniently: 400s to broken requests echo the broken
/// headers (or lack From/To altogether), so the strict parser would refuse
/// some of them. Status line and header lines are split by hand.
#[derive(Debug)]
struct Resp {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

impl Resp {
    fn parse(bytes: &[u8]) -> Result<Resp, String> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap_or("");
        let mut parts = start.splitn(3, ' ');
        let (Some("SIP/2.0"), Some(code)) = (parts.next(), parts.next()) else { return Err(text) };
        let Ok(status) = code.parse::<u16>() else { return Err(text) };
        let reason = parts.next().unwrap_or("").to_string();
        let headers = lines
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_string(), v.trim().to_string())))
            .collect();
        Ok(Resp { status, reason, headers })
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn call_id(&self) -> Option<&str> {
        self.get("Call-ID").or_else(|| self.get("i"))
    }
    fn cseq_method(&self) -> String {
        self.get("CSeq").and_then(|c| c.split_whitespace().nth(1)).unwrap_or("").to_string()
    }
}

struct Udp {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Udp {
    fn new(sb: &Switchboard) -> Udp {
        Udp { sock: UdpSocket::bind("127.0.0.1:0").unwrap(), server: sb.sip_addr().parse().unwrap() }
    }
    fn local(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }
    fn send(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).expect("udp send");
    }
    /// Next datagram within `wait`, parsed (raw text if it does not parse).
    fn recv(&self, wait: Duration) -> Option<Result<Resp, String>> {
        let mut buf = vec![0u8; 65_535];
        self.sock.set_read_timeout(Some(wait)).unwrap();
        let (n, _) = self.sock.recv_from(&mut buf).ok()?;
        Some(Resp::parse(&buf[..n]))
    }
    /// Responses until a final one or `WAIT` (at most 20).
    fn until_final(&self) -> Vec<Resp> {
        let deadline = Instant::now() + WAIT;
        let mut out = Vec::new();
        for _ in 0..20 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
            match self.recv(left.max(Duration::from_millis(1))) {
                Some(Ok(r)) => {
                    let fin = r.status >= 200;
                    out.push(r);
                    if fin {
                        break;
                    }
                }
                Some(Err(raw)) => panic!("unparsable datagram from the appliance: {raw}"),
                None => break,
            }
        }
        out
    }
    /// Sends an OPTIONS probe and asserts that the very next datagram is its
    /// 200: nothing else was sent to this socket before it.
    fn assert_silent_then_probe(&self, what: &str) {
        let cid = format!("probe-{}", uniq());
        self.send(options("UDP", self.local(), self.server, &cid).as_bytes());
        match self.recv(WAIT) {
            Some(Ok(r)) if r.call_id() == Some(cid.as_str()) => {
                assert_eq!(r.status, 200, "probe after {what}");
            }
            Some(Ok(r)) => panic!("{what}: expected no answer, got {} {} (Call-ID {:?})", r.status, r.reason, r.call_id()),
            Some(Err(raw)) => panic!("{what}: unexpected datagram {raw}"),
            None => panic!("{what}: OPTIONS probe unanswered within {WAIT:?}"),
        }
    }
}

fn assert_alive(sb: &mut Switchboard) {
    assert!(sb.is_running(), "switchboard died:\n{}", sb.log());
    let u = Udp::new(sb);
    u.assert_silent_then_probe("liveness check");
}

// ---------------------------------------------------------------------------
// RFC 4475 over UDP.

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Refused with this status; the reason phrase must contain the text.
    Reject(u16, &'static str),
    /// A response: dropped silently.
    Silent,
    /// A valid request: answered, and not as malformed.
    Answered,
    /// Refused, but without a Via there is nowhere to send a response: no
    /// answer, and the log names the source.
    LoggedOnly,
}

/// Expected outcomes from tests/vectors/rfc4475/README.md.
const VECTORS: &[(&str, Expect)] = &[
    ("wsinv.dat", Expect::Answered),
    ("intmeth.dat", Expect::Answered),
    ("esc01.dat", Expect::Answered),
    ("escnull.dat", Expect::Answered),
    ("esc02.dat", Expect::Answered),
    ("lwsdisp.dat", Expect::Answered),
    ("longreq.dat", Expect::Answered),
    ("dblreq.dat", Expect::Answered),
    ("semiuri.dat", Expect::Answered),
    ("transports.dat", Expect::Answered),
    ("mpart01.dat", Expect::Answered),
    ("unreason.dat", Expect::Silent),
    ("noreason.dat", Expect::Silent),
    ("badinv01.dat", Expect::Reject(400, "Via")),
    ("clerr.dat", Expect::Reject(400, "Content-Length")),
    ("ncl.dat", Expect::Reject(400, "Content-Length")),
    ("scalar02.dat", Expect::Reject(400, "CSeq")),
    ("scalarlg.dat", Expect::Silent),
    ("quotbal.dat", Expect::Reject(400, "To")),
    ("ltgtruri.dat", Expect::Reject(400, "Request-URI")),
    ("lwsruri.dat", Expect::Reject(400, "Request-Line")),
    ("lwsstart.dat", Expect::Reject(400, "Request-Line")),
    ("trws.dat", Expect::Reject(400, "")),
    ("escruri.dat", Expect::Reject(400, "Request-URI")),
    ("baddate.dat", Expect::Reject(400, "Date")),
    ("regbadct.dat", Expect::Reject(400, "Contact")),
    ("badaspec.dat", Expect::Reject(400, "To")),
    ("baddn.dat", Expect::Reject(400, "From")),
    ("badvers.dat", Expect::Reject(505, "Version")),
    ("mismatch01.dat", Expect::Reject(400, "CSeq")),
    ("mismatch02.dat", Expect::Reject(400, "CSeq")),
    ("bigcode.dat", Expect::Silent),
    ("badbranch.dat", Expect::Answered),
    ("insuf.dat", Expect::Reject(400, "Missing")),
    ("unkscm.dat", Expect::Reject(416, "Scheme")),
    ("novelsc.dat", Expect::Reject(416, "Scheme")),
    ("unksm2.dat", Expect::Answered),
    // §3.3.5: Require with an unknown option tag → 420 (RFC 3261 §8.2.2.3).
    ("bext01.dat", Expect::Reject(420, "Extension")),
    ("invut.dat", Expect::Answered),
    ("regaut01.dat", Expect::Answered),
    ("multi01.dat", Expect::Reject(400, "Multiple")),
    ("mcl01.dat", Expect::Reject(400, "Content-Length")),
    ("bcast.dat", Expect::Silent),
    ("zeromf.dat", Expect::Answered),
    ("cparam01.dat", Expect::Answered),
    ("cparam02.dat", Expect::Answered),
    ("regescrt.dat", Expect::Answered),
    ("sdp01.dat", Expect::Answered),
    ("inv2543.dat", Expect::Answered),
    ("test.dat", Expect::LoggedOnly),
];

/// RFC 4475's messages are independent tests, yet many share
/// `branch=z9hG4bKkdjuw`, and some also the sent-by host and method (escnull
/// and regescrt, cparam01 and cparam02): sent one after another they are one
/// transaction to RFC 3261 §17.2.3 matching, and the second would be absorbed
/// as a retransmission of the first, answered to the first one's socket.
/// So the branch is made unique per file, in the header section only; every
/// other byte stays as in the RFC.
fn unique_branch(bytes: &[u8], file: &str) -> Vec<u8> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(bytes.len());
    let needle = b"branch=z9hG4bKkdjuw";
    let mut out = Vec::with_capacity(bytes.len() + 32);
    let mut i = 0;
    while i < bytes.len() {
        let at_token_end = |j: usize| bytes.get(j).is_none_or(|b| !(b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(b)));
        if i < head_end && bytes[i..].starts_with(needle) && at_token_end(i + needle.len()) {
            out.extend_from_slice(needle);
            out.extend_from_slice(format!(".{}", file.trim_end_matches(".dat")).as_bytes());
            i += needle.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The Call-ID line of a raw vector (long or compact form), if any.
fn raw_call_id(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            let name = name.trim();
            (name.eq_ignore_ascii_case("Call-ID") || name.eq_ignore_ascii_case("i")).then(|| value.trim().to_string())
        })
}

#[test]
fn rfc4475_vectors_over_udp() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");
    sb.add_extension("1001", "torture-secret-1001");

    // Every .dat file is covered by the table, and vice versa.
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".dat"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = VECTORS.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "table matches the vector directory");

    let mut failures = Vec::new();
    for (file, expect) in VECTORS {
        let bytes = unique_branch(&std::fs::read(vectors_dir().join(file)).unwrap(), file);
        assert!(bytes.len() < 65_000, "{file} fits a datagram");
        let u = Udp::new(&sb);
        u.send(&bytes);
        match expect {
            Expect::Silent => u.assert_silent_then_probe(file),
            Expect::LoggedOnly => {
                u.assert_silent_then_probe(file);
                let src = format!("src={}", u.local());
                let logged = sb.log().lines().any(|l| l.contains("malformed SIP message") && l.contains(&src));
                if !logged {
                    failures.push(format!("{file}: refusal from {src} not logged"));
                }
            }
            Expect::Reject(status, text) => {
                let got = u.until_final();
                let Some(r) = got.first() else {
                    failures.push(format!("{file}: no answer, want {status}"));
                    continue;
                };
                let reason_ok = !r.reason.trim().is_empty() && r.reason.contains(text);
                if r.status != *status || !reason_ok || got.len() != 1 {
                    failures.push(format!("{file}: got {} {:?} ({} responses), want {status} with reason containing {text:?}", r.status, r.reason, got.len()));
                }
                // Matchable by the sender: Call-ID echoed when there was one.
                if let (Some(cid), Some(echo)) = (raw_call_id(&bytes), r.call_id()) {
                    if cid != echo {
                        failures.push(format!("{file}: Call-ID {echo:?} is not the request's {cid:?}"));
                    }
                }
            }
            Expect::Answered => {
                let got = u.until_final();
                if got.is_empty() {
                    failures.push(format!("{file}: valid request left unanswered"));
                    continue;
                }
                for r in &got {
                    if matches!(r.status, 400 | 416 | 500 | 505 | 513) {
                        failures.push(format!("{file}: valid request answered {} {:?}", r.status, r.reason));
                    }
                }
                if *file == "dblreq.dat" {
                    // Only the REGISTER counts; the trailing INVITE is dropped.
                    for r in &got {
                        let m = r.cseq_method();
                        if m != "REGISTER" {
                            failures.push(format!("dblreq.dat: response to {m}"));
                        }
                    }
                    u.assert_silent_then_probe("dblreq.dat trailing INVITE");
                }
                eprintln!("{file}: {}", got.iter().map(|r| format!("{} {}", r.status, r.reason)).collect::<Vec<_>>().join(", "));
            }
        }
        assert!(sb.is_running(), "switchboard died on {file}:\n{}", sb.log());
    }
    assert!(failures.is_empty(), "RFC 4475 vectors:\n{}", failures.join("\n"));
    assert_alive(&mut sb);
}

// ---------------------------------------------------------------------------
// Out-of-dialog answers.

#[test]
fn method_and_error_answers() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");
    let u = Udp::new(&sb);
    let (local, server) = (u.local(), u.server);

    let one = |text: String| -> Resp {
        u.send(text.as_bytes());
        let got = u.until_final();
        got.into_iter().rfind(|r| r.status >= 200).unwrap_or_else(|| panic!("no final answer to:\n{text}"))
    };
    let allow_has = |r: &Resp, m: &str| r.get("Allow").is_some_and(|a| a.split(',').any(|x| x.trim() == m));

    let r = one(options("UDP", local, server, &uniq()));
    assert_eq!(r.status, 200);
    assert!(allow_has(&r, "INVITE") && allow_has(&r, "REGISTER") && allow_has(&r, "OPTIONS"), "{:?}", r.headers);
    assert_eq!(r.get("Accept"), Some("application/sdp"));
    assert!(r.get("Supported").is_some(), "Supported present: {:?}", r.headers);

    let r = one(request("FOO", local, server, &uniq(), ""));
    assert_eq!((r.status, r.reason.as_str()), (501, "Not Implemented"));
    assert!(allow_has(&r, "INVITE"), "501 lists Allow: {:?}", r.headers);
    assert!(!allow_has(&r, "FOO"));

    for m in ["PUBLISH", "MESSAGE"] {
        let r = one(request(m, local, server, &uniq(), ""));
        assert_eq!(r.status, 405, "{m}: {} {}", r.status, r.reason);
        assert!(allow_has(&r, "INVITE") && !allow_has(&r, m), "{m}: Allow {:?}", r.get("Allow"));
    }
    // SUBSCRIBE is for message-summary (RFC 3842) only: without Event 400,
    // another package 489 naming the one we serve (RFC 6665 §8.2.1).
    let r = one(request("SUBSCRIBE", local, server, &uniq(), ""));
    assert_eq!(r.status, 400, "{} {}", r.status, r.reason);
    assert!(r.reason.contains("Event"), "{}", r.reason);
    let r = one(request("SUBSCRIBE", local, server, &uniq(), "").replace("Max-Forwards: 70", "Max-Forwards: 70\r\nEvent: presence"));
    assert_eq!((r.status, r.get("Allow-Events")), (489, Some("message-summary")), "{} {}", r.status, r.reason);

    // Max-Forwards: 0 on an INVITE: 483 (then ACK it, RFC 3261 §17.1.1.3).
    let cid = uniq();
    let invite = request("INVITE", local, server, &cid, "").replace("Max-Forwards: 70", "Max-Forwards: 0");
    let r = one(invite.clone());
    assert_eq!(r.status, 483, "{} {}", r.status, r.reason);
    let to = r.get("To").unwrap().to_string();
    let via = invite.lines().find(|l| l.starts_with("Via:")).unwrap();
    let from = invite.lines().find(|l| l.starts_with("From:")).unwrap();
    u.send(
        format!("ACK sip:1001@{server} SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\n{from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    );

    // Malformed requests: 400 naming the problem.
    let bad_cl = options("UDP", local, server, &uniq()).replace("Content-Length: 0", "Content-Length: zz");
    let r = one(bad_cl);
    assert_eq!(r.status, 400);
    assert!(r.reason.contains("Content-Length"), "{}", r.reason);
    let cid = uniq();
    let no_from = options("UDP", local, server, &cid).lines().filter(|l| !l.starts_with("From:")).collect::<Vec<_>>().join("\r\n");
    let r = one(no_from);
    assert_eq!(r.status, 400);
    assert!(r.reason.contains("From"), "{}", r.reason);
    assert_eq!(r.call_id(), Some(cid.as_str()));

    // An ACK matching nothing is absorbed silently (never answered).
    u.send(request("ACK", local, server, &uniq(), "").as_bytes());
    u.assert_silent_then_probe("stray ACK");

    // Malformed responses are dropped without an answer.
    let bad_resp = format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: {}\r\nCSeq: banana\r\nContent-Length: 0\r\n\r\n",
        uniq()
    );
    u.send(bad_resp.as_bytes());
    u.assert_silent_then_probe("malformed response");
    u.send(b"SIP/2.0 99999 Nope\r\n\r\n");
    u.assert_silent_then_probe("garbage status line");
    u.send(b"\x00\x01\x02 not sip at all \xff\xfe");
    u.assert_silent_then_probe("binary garbage");
    assert_alive(&mut sb);
}

// ---------------------------------------------------------------------------
// TCP.

struct Tcp {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Tcp {
    fn connect(sb: &Switchboard) -> Tcp {
        let s = TcpStream::connect_timeout(&sb.sip_addr().parse().unwrap(), WAIT).expect("tcp connect");
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_nodelay(true).unwrap();
        Tcp { s, buf: Vec::new() }
    }
    fn local(&self) -> SocketAddr {
        self.s.local_addr().unwrap()
    }
    fn server(&self) -> SocketAddr {
        self.s.peer_addr().unwrap()
    }
    /// The next framed response within `WAIT`.
    fn response(&mut self) -> Response {
        let deadline = Instant::now() + WAIT;
        let mut chunk = [0u8; 8192];
        for _ in 0..100 {
            match frame_stream(&self.buf) {
                Framing::Complete(n) => {
                    let bytes: Vec<u8> = self.buf.drain(..n).collect();
                    match parse_message(&bytes) {
                        Ok(Message::Response(r)) => return r,
                        other => panic!("not a response: {other:?}"),
                    }
                }
                Framing::KeepAlive(n) => {
                    self.buf.drain(..n);
                    continue;
                }
                Framing::Error(e) => panic!("unframeable answer: {e}"),
                Framing::Incomplete => {}
            }
            let left = deadline.checked_duration_since(Instant::now()).expect("tcp response within 2 s");
            self.s.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
            let n = self.s.read(&mut chunk).expect("tcp read");
            assert!(n > 0, "connection closed while waiting for a response");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        panic!("no response in 100 reads");
    }
    /// Whether the server closes the connection within `WAIT`.
    fn closed_by_server(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        let mut chunk = [0u8; 8192];
        for _ in 0..1000 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return false };
            self.s.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
            match self.s.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return false,
                Err(_) => return true, // reset
            }
        }
        false
    }
}

#[test]
fn tcp_framing_keepalive_and_size_limit() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");

    // CRLFCRLF ping is answered with exactly one CRLF pong.
    let mut t = Tcp::connect(&sb);
    t.s.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    t.s.read_exact(&mut pong).expect("pong");
    assert_eq!(&pong, b"\r\n");

    // Two messages in one write: two answers, in order.
    let (c1, c2) = (uniq(), uniq());
    let two = format!("{}{}", options("TCP", t.local(), t.server(), &c1), options("TCP", t.local(), t.server(), &c2));
    t.s.write_all(two.as_bytes()).unwrap();
    let r1 = t.response();
    let r2 = t.response();
    assert_eq!((r1.status, r1.headers.call_id()), (200, Some(c1.as_str())));
    assert_eq!((r2.status, r2.headers.call_id()), (200, Some(c2.as_str())));

    // One message split across writes (mid-header, then mid-body).
    let c3 = uniq();
    let body = "v=0\r\n";
    let msg = options("TCP", t.local(), t.server(), &c3).replace("Content-Length: 0\r\n\r\n", &format!("Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    let (a, rest) = msg.split_at(25);
    let (b, c) = rest.split_at(rest.len() - 2);
    for part in [a, b, c] {
        t.s.write_all(part.as_bytes()).unwrap();
        t.s.flush().unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    let r3 = t.response();
    assert_eq!((r3.status, r3.headers.call_id()), (200, Some(c3.as_str())));

    // A header section beyond the size limit closes the connection.
    let mut big = Tcp::connect(&sb);
    let mut head = options("TCP", big.local(), big.server(), &uniq()).replace("Content-Length: 0\r\n\r\n", "X-Filler: ");
    head.push_str(&"a".repeat(70_000));
    let _ = big.s.write_all(head.as_bytes()); // may fail once the server closes
    assert!(big.closed_by_server(), "oversize headers close the connection");

    // So does a Content-Length beyond the limit.
    let mut big = Tcp::connect(&sb);
    let msg = options("TCP", big.local(), big.server(), &uniq()).replace("Content-Length: 0", "Content-Length: 100000");
    big.s.write_all(msg.as_bytes()).unwrap();
    assert!(big.closed_by_server(), "oversize Content-Length closes the connection");

    // The first connection and the server are unaffected.
    let c4 = uniq();
    t.s.write_all(options("TCP", t.local(), t.server(), &c4).as_bytes()).unwrap();
    let r4 = t.response();
    assert_eq!((r4.status, r4.headers.call_id()), (200, Some(c4.as_str())));
    let mut fresh = Tcp::connect(&sb);
    let c5 = uniq();
    fresh.s.write_all(options("TCP", fresh.local(), fresh.server(), &c5).as_bytes()).unwrap();
    assert_eq!(fresh.response().status, 200);
    assert_alive(&mut sb);
}

#[test]
fn sipp_options_over_tcp() {
    let mut sb = Switchboard::start_with("").expect("start switchboard");
    let run = Sipp::scenario("options.xml").remote(&sb.sip_addr()).transport("t1").calls(3).run().expect("run sipp");
    run.expect_success(3).expect("3 OPTIONS over TCP answered 200");
    let msgs = run.messages();
    assert!(msgs.contains("SIP/2.0/TCP"), "went over TCP: {msgs}");
    assert!(msgs.contains("Allow: "), "{msgs}");
    assert_alive(&mut sb);
}

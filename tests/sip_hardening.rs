//! SIP attack protection against the real binary (`sip::guard`, issue 9):
//! an address that guesses passwords is banned (no answer at all, a
//! correct password included) while another address registers; the ban
//! shows in the API, is logged and lifted by the API; scanner User-Agents
//! get no answer and ban after ten requests; an OPTIONS flood is rate
//! limited per address; and an INVITE from a stranger cannot tell an
//! extension from a nonexistent number (or a DID).
//!
//! Every client is a raw UDP socket on a loopback address of its own
//! (Linux routes all of 127.0.0.0/8 to `lo`), so the appliance sees
//! different sources. The default `ban_exempt` covers loopback, so the
//! tests that need the guard set `ban_exempt = []`.
//!
//! "No answer" is shown like in tests/torture.rs where it can be: a later
//! probe from the same socket must be the first thing answered (the
//! endpoint handles one socket's datagrams in order); where the address
//! is banned outright, by a bounded wait.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::switchboard::Switchboard;
use serde_json::Value;
use switchboard::sip::auth::parse_challenge;
use switchboard::sip::message::{parse_message, HeaderName, Message, Response};

const WAIT: Duration = Duration::from_secs(2);
/// How long silence must last to count as "no answer".
const SILENCE: Duration = Duration::from_millis(1500);
const PASS: &str = "correct-horse-1001";

fn uniq() -> String {
    format!("{:x}", rand::random::<u64>())
}

/// A UDP client on one loopback address.
struct Client {
    sock: UdpSocket,
    local: SocketAddr,
    server: SocketAddr,
    cseq: u32,
}

impl Client {
    fn on(ip: &str, sb: &Switchboard) -> Client {
        let sock = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}: {e}"));
        let local = sock.local_addr().unwrap();
        Client { sock, local, server: sb.sip_addr().parse().unwrap(), cseq: 0 }
    }

    fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.server).expect("send");
    }

    /// An OPTIONS with Call-ID `cid` and, when given, a User-Agent.
    fn options(&self, cid: &str, user_agent: Option<&str>) -> String {
        let ua = user_agent.map(|u| format!("User-Agent: {u}\r\n")).unwrap_or_default();
        format!(
            "OPTIONS sip:{srv} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{b};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:probe@{local}>;tag={b}\r\n\
             To: <sip:{srv}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 OPTIONS\r\n\
             {ua}\
             Content-Length: 0\r\n\r\n",
            srv = self.server,
            local = self.local,
            b = uniq(),
        )
    }

    /// A REGISTER of `user` for its own address, with `authorization`.
    fn register_text(&mut self, cid: &str, user: &str, authorization: Option<&str>) -> String {
        self.cseq += 1;
        let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        format!(
            "REGISTER sip:{srv} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{b};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{srv}>;tag=f{cid}\r\n\
             To: <sip:{user}@{srv}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{user}@{local}>\r\n\
             Expires: 60\r\n\
             {auth}\
             Content-Length: 0\r\n\r\n",
            srv = self.server,
            local = self.local,
            b = uniq(),
            cseq = self.cseq,
        )
    }

    /// The next final response with Call-ID `cid` within `wait`; others
    /// are skipped.
    fn final_for(&self, cid: &str, wait: Duration) -> Option<Response> {
        let deadline = Instant::now() + wait;
        let mut buf = vec![0u8; 65_535];
        for _ in 0..2000 {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else { return None };
            let Ok(Message::Response(r)) = parse_message(&buf[..n]) else { continue };
            if r.headers.call_id() == Some(cid) && r.status >= 200 {
                return Some(r);
            }
        }
        None
    }

    /// The first final response to arrive within `wait`, whoever's.
    fn next_final(&self, wait: Duration) -> Option<Response> {
        let deadline = Instant::now() + wait;
        let mut buf = vec![0u8; 65_535];
        for _ in 0..2000 {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else { return None };
            if let Ok(Message::Response(r)) = parse_message(&buf[..n]) {
                if r.status >= 200 {
                    return Some(r);
                }
            }
        }
        None
    }

    /// OPTIONS answered 200 within `wait`?
    fn pings(&self, wait: Duration) -> bool {
        let cid = format!("ping-{}", uniq());
        self.send(&self.options(&cid, None));
        self.final_for(&cid, wait).is_some_and(|r| r.status == 200)
    }

    /// A REGISTER round: unauthenticated, then the answer to the challenge
    /// with `pass`. `None` as soon as a request goes unanswered.
    fn register(&mut self, user: &str, pass: &str, wait: Duration) -> Option<Response> {
        let cid = format!("reg-{}", uniq());
        let text = self.register_text(&cid, user, None);
        self.send(&text);
        let r = self.final_for(&cid, wait)?;
        assert_eq!(r.status, 401, "challenge for {user}: {} {}", r.status, r.reason);
        let value = r.headers.get(&HeaderName::WwwAuthenticate).expect("WWW-Authenticate");
        let ch = parse_challenge(value).expect("challenge parses");
        let authorization = ch.authorization("REGISTER", &format!("sip:{}", self.server), user, pass, "cn0nce", 1);
        let text = self.register_text(&cid, user, Some(&authorization));
        self.send(&text);
        self.final_for(&cid, wait)
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// (i) 100 wrong passwords (one per username, so the per-user block never
/// applies) ban the address: nothing it sends is answered, a correct
/// REGISTER included, while 127.0.0.2 registers; the API shows the ban and
/// lifts it (audited), the log names the address.
#[test]
fn brute_force_bans_the_address_until_lifted() {
    // A high rate limit: this test is about failures, not request rates.
    let config = "[sip]\nban_exempt = []\nrate_limit_per_sec = 10000\nrate_limit_burst = 10000\n";
    let mut sb = Switchboard::start_with(config).expect("start switchboard");
    sb.add_extension("1001", PASS);
    let key = sb.key().to_string();
    let mut attacker = Client::on("127.0.0.1", &sb);

    // Generous waits while answers are due (a loaded machine is slow);
    // the short one only where silence is expected.
    for i in 0..100 {
        let user = format!("9{i:03}");
        let r = attacker.register(&user, "guess", Duration::from_secs(10)).unwrap_or_else(|| panic!("failure {} went unanswered", i + 1));
        assert_eq!(r.status, 401, "a wrong password for {user} is challenged again: {} {}", r.status, r.reason);
    }
    assert!(attacker.register("9100", "guess", SILENCE).is_none(), "the 100th failure is the last one answered");
    let line = sb.wait_log("SIP address banned", WAIT).expect("the ban is logged");
    assert!(line.contains("127.0.0.1") && line.contains("failures=100"), "{line}");
    assert_eq!(sb.log().matches("SIP address banned").count(), 1, "logged once");

    // Banned: not even the right password is answered, nor an OPTIONS.
    assert!(attacker.register("1001", PASS, SILENCE).is_none(), "a banned address gets no answer");
    assert!(!attacker.pings(SILENCE));
    // Another address is unaffected.
    let mut phone = Client::on("127.0.0.2", &sb);
    let r = phone.register("1001", PASS, WAIT).expect("127.0.0.2 is answered");
    assert_eq!(r.status, 200, "{} {}", r.status, r.reason);

    let (status, body) = sb.api("GET", "/api/v1/security/bans", &key);
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    let bans = v["bans"].as_array().expect("bans");
    assert_eq!(bans.len(), 1, "{body}");
    assert_eq!(bans[0]["address"], "127.0.0.1");
    assert_eq!(bans[0]["failures"], 100);
    assert_eq!(bans[0]["reason"], "authentication failures");
    assert!(bans[0]["until"].as_str().is_some_and(|u| u > bans[0]["since"].as_str().unwrap_or("")), "{body}");

    let (status, body) = sb.api("DELETE", "/api/v1/security/bans/127.0.0.2", &key);
    assert_eq!(status, 404, "not banned: {body}");
    let (status, body) = sb.api("DELETE", "/api/v1/security/bans/not-an-ip", &key);
    assert_eq!(status, 422, "{body}");
    let (status, body) = sb.api("DELETE", "/api/v1/security/bans/127.0.0.1", &key);
    assert_eq!(status, 204, "{body}");
    let (_, body) = sb.api("GET", "/api/v1/security/bans", &key);
    assert_eq!(json(&body)["bans"], serde_json::json!([]), "{body}");
    let (_, audit) = sb.api("GET", "/api/v1/audit", &key);
    assert!(audit.contains("sip.unban") && audit.contains("127.0.0.1"), "{audit}");

    // Lifted: answered again at once, and the right password registers.
    let r = attacker.register("1001", PASS, WAIT).expect("answered after the ban is lifted");
    assert_eq!(r.status, 200, "{} {}", r.status, r.reason);
    assert!(sb.is_running());
}

/// (ii) A scanner's User-Agent gets no answer (in any case), another
/// address's OPTIONS does, and ten scanner requests ban the address.
#[test]
fn scanner_user_agents_are_dropped_and_banned() {
    let sb = Switchboard::start_with("[sip]\nban_exempt = []\n").expect("start switchboard");
    let key = sb.key().to_string();
    let scanner = Client::on("127.0.0.1", &sb);
    let other = Client::on("127.0.0.2", &sb);

    scanner.send(&scanner.options("scan-1", Some("friendly-scanner")));
    scanner.send(&scanner.options("probe-1", None));
    let first = scanner.next_final(WAIT).expect("the probe is answered");
    assert_eq!(first.headers.call_id(), Some("probe-1"), "the scanner's OPTIONS must go unanswered");
    assert!(other.pings(WAIT), "another address is answered");

    // Nine more (ten in all, 10 failures each) ban the address.
    for (i, ua) in ["sipvicious", "SIPVicious 0.3.4", "sipcli/v1.8", "sip-scan", "sundayddr", "iWar", "VaxSIPUserAgent/3.1", "PPLSIP", "smap 0.6"].iter().enumerate() {
        scanner.send(&scanner.options(&format!("scan-{}", i + 2), Some(ua)));
    }
    // Answers to a scanner request would arrive before this probe's.
    scanner.send(&scanner.options("probe-2", None));
    assert!(scanner.next_final(SILENCE).is_none(), "neither the scanners nor the banned address are answered");
    assert!(other.pings(WAIT));
    let (status, body) = sb.api("GET", "/api/v1/security/bans", &key);
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["bans"][0]["address"], "127.0.0.1", "{body}");
    assert_eq!(v["bans"][0]["reason"], "SIP scanner", "{body}");
}

/// (iii) 1000 OPTIONS at once from one address: about the burst is
/// answered (the rest dropped and logged once), another address is
/// answered during the flood, and the flooder is answered again after a
/// pause; throttling does not ban. The flood goes over TCP so that every
/// request reaches the appliance (over UDP the socket buffer would drop
/// some under load, and the count would say nothing); the guard is the
/// same for every transport.
#[test]
fn options_flood_is_rate_limited_per_address() {
    use std::io::{Read, Write};
    let mut sb = Switchboard::start_with("[sip]\nban_exempt = []\n").expect("start switchboard");
    let key = sb.key().to_string();
    let (burst, rate) = (200.0, 50.0);
    let mut flood = std::net::TcpStream::connect(sb.sip_addr()).expect("TCP connect");
    let flooder = flood.local_addr().unwrap();
    assert_eq!(flooder.ip().to_string(), "127.0.0.1");
    let other = Client::on("127.0.0.2", &sb);
    let other_options = other.options("other-during-flood", None);

    let start = Instant::now();
    for i in 0..1000 {
        let text = format!(
            "OPTIONS sip:{srv} SIP/2.0\r\nVia: SIP/2.0/TCP {flooder};branch=z9hG4bK-f{i}-{u}\r\nMax-Forwards: 70\r\n\
             From: <sip:flood@{flooder}>;tag=f{i}\r\nTo: <sip:{srv}>\r\nCall-ID: flood-{i}-{u}\r\nCSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n",
            srv = sb.sip_addr(),
            u = uniq(),
        );
        flood.write_all(text.as_bytes()).expect("write the flood");
        if i == 500 {
            other.send(&other_options);
        }
    }
    // Answers until the connection has been quiet for a while.
    flood.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let mut received = Vec::new();
    let mut buf = vec![0u8; 65_536];
    let mut last = start;
    for _ in 0..100_000 {
        match flood.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                received.extend_from_slice(&buf[..n]);
                last = Instant::now();
            }
        }
    }
    let text = String::from_utf8_lossy(&received);
    let answered = text.matches("SIP/2.0 200 OK\r\n").count() as f64;
    assert_eq!(text.matches("SIP/2.0 ").count() as f64, answered, "only 200s: {text:.500}");
    // Tokens refill while the flood is being handled: allow the rate for
    // that time, plus a little.
    let took = last.duration_since(start).as_secs_f64();
    let allowed = burst + rate * took + 10.0;
    eprintln!("{answered} of 1000 answered in {took:.2} s (at most {allowed:.0} allowed)");
    assert!(answered <= allowed, "{answered} answered, at most {allowed:.0} allowed");
    assert!(answered >= burst, "the burst is answered: {answered}");

    // The flood may overflow the appliance's UDP socket buffer, which
    // loses datagrams of every source alike: retransmit like Timer E would.
    let mut r = None;
    for _ in 0..4 {
        r = other.final_for("other-during-flood", Duration::from_millis(500));
        if r.is_some() {
            break;
        }
        other.send(&other_options);
    }
    assert_eq!(r.expect("another address is answered during the flood").status, 200);

    sb.wait_log("SIP rate limit exceeded", WAIT).expect("the throttling is logged");
    let lines = sb.log().lines().filter(|l| l.contains("SIP rate limit exceeded")).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(lines.len(), 1, "once a minute per address: {lines:?}");
    assert!(lines[0].contains("127.0.0.1"), "{}", lines[0]);

    std::thread::sleep(Duration::from_millis(1500));
    let again = Client::on("127.0.0.1", &sb);
    assert!(again.pings(WAIT), "answered again after a pause");
    let (_, body) = sb.api("GET", "/api/v1/security/bans", &key);
    assert_eq!(json(&body)["bans"], serde_json::json!([]), "throttling is not a ban: {body}");
}

/// An INVITE from `client` to `number` by a stranger; its final response
/// (ACKed).
fn stranger_invite(client: &Client, number: &str) -> Response {
    let cid = format!("inv-{}", uniq());
    let via = format!("SIP/2.0/UDP {};branch=z9hG4bK-{};rport", client.local, uniq());
    let from = format!("<sip:stranger@{}>;tag=s{}", client.local, uniq());
    let to = format!("<sip:{number}@{}>", client.server);
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        ip = client.local.ip()
    );
    client.send(&format!(
        "INVITE sip:{number}@{srv} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\n\
         Call-ID: {cid}\r\nCSeq: 1 INVITE\r\nContact: <sip:stranger@{local}>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {len}\r\n\r\n{sdp}",
        srv = client.server,
        local = client.local,
        len = sdp.len(),
    ));
    let r = client.final_for(&cid, WAIT).unwrap_or_else(|| panic!("no final response to the INVITE to {number}"));
    let to_tagged = r.headers.get(&HeaderName::To).unwrap_or_default().to_string();
    client.send(&format!(
        "ACK sip:{number}@{srv} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to_tagged}\r\n\
         Call-ID: {cid}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        srv = client.server,
    ));
    r
}

/// A response with what differs per request taken out: tags, Call-ID,
/// branch, the challenge's nonce and opaque.
fn shape(r: &Response) -> Vec<String> {
    let mut lines = vec![format!("{} {}", r.status, r.reason)];
    for h in &r.headers.0 {
        let name = h.name.as_str().to_string();
        let value = match h.name {
            HeaderName::Via | HeaderName::From | HeaderName::To | HeaderName::CallId => String::from("<varies>"),
            HeaderName::ProxyAuthenticate | HeaderName::WwwAuthenticate => {
                let re = regex::Regex::new(r#"(nonce|opaque)="[^"]*""#).unwrap();
                re.replace_all(&h.value, "$1=<varies>").into_owned()
            }
            _ => h.value.clone(),
        };
        lines.push(format!("{name}: {value}"));
    }
    lines.push(format!("body: {}", String::from_utf8_lossy(&r.body)));
    lines
}

/// (iv) A stranger (no trunk's address, no credentials) gets the same
/// answer for an extension, a nonexistent number and a DID: the 407
/// challenge of a call from an extension. The DID is not routed as a
/// call from the trunk.
#[test]
fn unknown_callers_cannot_tell_extensions_apart() {
    let sb = Switchboard::start_with("[trunks]\noptions_interval_secs = 0\n").expect("start switchboard");
    sb.add_extension("1001", PASS);
    sb.admin_ok(&["trunk", "add", "carrier", "--host", "192.0.2.1:5060", "--did", "5550100=1001"]);
    let stranger = Client::on("127.0.0.1", &sb);

    let existing = stranger_invite(&stranger, "1001");
    let missing = stranger_invite(&stranger, "1999");
    let did = stranger_invite(&stranger, "5550100");
    assert_eq!((existing.status, existing.reason.as_str()), (407, "Proxy Authentication Required"));
    assert!(existing.headers.get(&HeaderName::ProxyAuthenticate).is_some());
    assert_eq!(shape(&existing), shape(&missing), "an extension and a nonexistent number must look alike");
    assert_eq!(shape(&existing), shape(&did), "a DID from a non-trunk address is a call from an extension");
    assert!(!sb.log().contains("inbound call from trunk"), "the DID was routed as a trunk call");
}

//! A minimal SIP user agent for tests that must steer a call step by step
//! (re-INVITEs with a chosen SDP, answering the appliance's re-INVITE with
//! a chosen status), which SIPp scenarios make awkward when the next step
//! depends on a port learnt from an SDP answer. UDP on 127.0.0.1 only;
//! one dialog at a time; retransmits requests like RFC 3261 Timer A
//! (500 ms doubling) until a final response.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// A parsed incoming message: the first line, headers (name lowercased)
/// and body.
#[derive(Debug, Clone)]
pub struct Msg {
    pub first: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Msg {
    pub fn parse(data: &[u8]) -> Option<Msg> {
        let text = String::from_utf8_lossy(data);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let first = lines.next()?.to_string();
        let headers = lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
        Some(Msg { first, headers, body: body.to_string() })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().filter(|(n, _)| *n == name).map(|(_, v)| v.as_str()).collect()
    }
    pub fn status(&self) -> Option<u16> {
        self.first.strip_prefix("SIP/2.0 ")?.split(' ').next()?.parse().ok()
    }
    pub fn method(&self) -> Option<&str> {
        (!self.first.starts_with("SIP/")).then(|| self.first.split(' ').next()).flatten()
    }
    pub fn cseq(&self) -> (u32, String) {
        let v = self.header("cseq").unwrap_or("0 X");
        let (n, m) = v.split_once(' ').unwrap_or(("0", "X"));
        (n.trim().parse().unwrap_or(0), m.trim().to_string())
    }
}

/// The call's dialog state, UAC side.
pub struct Ua {
    sock: UdpSocket,
    pub local: SocketAddr,
    server: SocketAddr,
    call_id: String,
    from_tag: String,
    to_tag: String,
    cseq: u32,
    /// Where in-dialog requests go (the 2xx's Contact).
    target: String,
    from: String,
    to: String,
}

fn tag() -> String {
    format!("{:x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// The `<...>` URI of a Contact/To/From value.
fn uri_of(v: &str) -> String {
    match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if a < b => v[a + 1..b].to_string(),
        _ => v.split(';').next().unwrap_or(v).trim().to_string(),
    }
}

impl Ua {
    /// A UA on `local_port` (0: any) talking to the appliance at `server`,
    /// calling `to_user` as `from_user`.
    pub fn new(local_port: u16, server: SocketAddr, from_user: &str, to_user: &str) -> Ua {
        let sock = UdpSocket::bind(("127.0.0.1", local_port)).expect("bind UA socket");
        let local = sock.local_addr().unwrap();
        Ua {
            sock,
            local,
            server,
            call_id: format!("{}@127.0.0.1", tag()),
            from_tag: tag(),
            to_tag: String::new(),
            cseq: 0,
            target: format!("sip:{to_user}@{server}"),
            from: format!("<sip:{from_user}@{local}>"),
            to: format!("<sip:{to_user}@{server}>"),
        }
    }

    fn request(&mut self, method: &str, body: &str, cseq: Option<u32>) -> (String, String) {
        let ctype = if method == "INFO" { "application/dtmf-relay" } else { "application/sdp" };
        self.request_typed(method, ctype, body, cseq)
    }

    fn request_typed(&mut self, method: &str, content_type: &str, body: &str, cseq: Option<u32>) -> (String, String) {
        let seq = cseq.unwrap_or_else(|| {
            self.cseq += 1;
            self.cseq
        });
        let branch = format!("z9hG4bK{}", tag());
        let to = if self.to_tag.is_empty() { self.to.clone() } else { format!("{};tag={}", self.to, self.to_tag) };
        let ctype = if body.is_empty() { String::new() } else { format!("Content-Type: {content_type}\r\n") };
        let msg = format!(
            "{method} {} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: {};tag={}\r\nTo: {to}\r\n\
Call-ID: {}\r\nCSeq: {seq} {method}\r\nContact: <sip:ua@{}>\r\n{ctype}Content-Length: {}\r\n\r\n{body}",
            self.target,
            self.local,
            self.from,
            self.from_tag,
            self.call_id,
            self.local,
            body.len()
        );
        (msg, branch)
    }

    fn send(&self, msg: &str) {
        self.sock.send_to(msg.as_bytes(), self.server).expect("send");
    }

    /// The next message, or None after `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).ok()?;
            match self.sock.recv_from(&mut buf) {
                Ok((n, _)) => {
                    if let Some(m) = Msg::parse(&buf[..n]) {
                        return Some(m);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Sends a request and waits for its final response (provisionals and
    /// retransmitted finals of other requests are skipped; requests from
    /// the appliance meanwhile are answered 200 when they are BYE-less
    /// housekeeping such as OPTIONS, else handed back by `pending`).
    fn transact(&mut self, method: &str, body: &str) -> Msg {
        let (msg, _) = self.request(method, body, None);
        let seq = self.cseq;
        let mut interval = Duration::from_millis(500);
        let deadline = Instant::now() + Duration::from_secs(32);
        self.send(&msg);
        let mut next = Instant::now() + interval;
        loop {
            assert!(Instant::now() < deadline, "no final response to {method}");
            if let Some(m) = self.recv(next.saturating_duration_since(Instant::now())) {
                if m.status().is_some() && m.cseq() == (seq, method.to_string()) && m.status().unwrap() >= 200 {
                    return m;
                }
                if m.status().is_some() && m.cseq() == (seq, method.to_string()) {
                    // Provisional: stop retransmitting (INVITE), keep waiting.
                    next = deadline;
                }
                continue;
            }
            if next < deadline {
                self.send(&msg);
                interval = (interval * 2).min(Duration::from_secs(4));
                next = Instant::now() + interval;
            }
        }
    }

    fn ack(&mut self, seq: u32) {
        let (ack, _) = self.request("ACK", "", Some(seq));
        let ack = ack.replace(&format!("CSeq: {seq} ACK"), &format!("CSeq: {seq} ACK"));
        self.send(&ack);
    }

    /// INVITE with `sdp`; returns the final response (2xx is ACKed and
    /// the dialog set up).
    pub fn invite(&mut self, sdp: &str) -> Msg {
        let r = self.transact("INVITE", sdp);
        if (200..300).contains(&r.status().unwrap_or(0)) {
            self.to_tag = r.header("to").and_then(|t| t.split(";tag=").nth(1)).map(|t| t.split(';').next().unwrap_or(t).to_string()).unwrap_or_default();
            if let Some(c) = r.header("contact") {
                self.target = uri_of(c);
            }
            self.ack(self.cseq);
        }
        r
    }

    /// A re-INVITE in the dialog; 2xx is ACKed.
    pub fn reinvite(&mut self, sdp: &str) -> Msg {
        let r = self.transact("INVITE", sdp);
        if (200..300).contains(&r.status().unwrap_or(0)) {
            self.ack(self.cseq);
        }
        r
    }

    /// One key by SIP INFO (application/dtmf-relay, as many phones send).
    pub fn info_digit(&mut self, key: char) -> Msg {
        self.transact("INFO", &format!("Signal={key}\r\nDuration=160\r\n"))
    }

    pub fn bye(&mut self) -> Msg {
        self.transact("BYE", "")
    }

    /// Waits for a request `method` from the appliance (skipping anything
    /// else, such as 2xx retransmissions).
    pub fn wait_request(&self, method: &str, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let m = self.recv(left)?;
            if m.method() == Some(method) {
                return Some(m);
            }
        }
        None
    }

    /// Answers the appliance's INVITE with 200 and `sdp`, taking the
    /// dialog over as its UAS (our tag, their Contact as target), then
    /// waits for the ACK. In-dialog requests we send later (`reinvite`,
    /// `bye`) go the other way.
    pub fn accept(&mut self, invite: &Msg, sdp: &str) {
        self.call_id = invite.header("call-id").unwrap_or("").to_string();
        let from = invite.header("from").unwrap_or("");
        let (from_uri, their_tag) = from.split_once(";tag=").unwrap_or((from, ""));
        let to = invite.header("to").unwrap_or("");
        self.to = from_uri.to_string();
        self.to_tag = their_tag.split(';').next().unwrap_or("").to_string();
        self.from = to.split(";tag=").next().unwrap_or(to).to_string();
        self.from_tag = tag();
        if let Some(c) = invite.header("contact") {
            self.target = uri_of(c);
        }
        self.cseq = 100;
        self.respond(invite, 200, "OK", sdp);
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.recv(left) {
                Some(m) if m.method() == Some("ACK") => return,
                Some(m) if m.method() == Some("INVITE") => self.respond(invite, 200, "OK", sdp),
                Some(_) => {}
                None => break,
            }
        }
        panic!("no ACK for our 200");
    }

    /// Answers a request from the appliance (mirroring its Via, From, To
    /// with our tag, Call-ID, CSeq).
    pub fn respond(&self, req: &Msg, status: u16, reason: &str, sdp: &str) {
        let mut out = format!("SIP/2.0 {status} {reason}\r\n");
        for v in req.all("via") {
            out.push_str(&format!("Via: {v}\r\n"));
        }
        let to = req.header("to").unwrap_or("");
        let to = if to.contains(";tag=") || self.from_tag.is_empty() { to.to_string() } else { format!("{to};tag={}", self.from_tag) };
        out.push_str(&format!(
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:ua@{}>\r\n",
            req.header("from").unwrap_or(""),
            req.header("call-id").unwrap_or(""),
            req.header("cseq").unwrap_or(""),
            self.local
        ));
        if !sdp.is_empty() {
            out.push_str("Content-Type: application/sdp\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n{sdp}", sdp.len()));
        self.send(&out);
    }
}

/// The port of the first `m=<media>` line of an SDP body.
pub fn media_port(sdp: &str, media: &str) -> Option<u16> {
    sdp.lines().find_map(|l| l.strip_prefix(&format!("m={media} ")).and_then(|r| r.split(' ').next()).and_then(|p| p.trim().parse().ok()))
}

/// An audio offer (PCMU + telephone-event) on `port`.
pub fn audio_sdp(port: u16) -> String {
    format!(
        "v=0\r\no=ua 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
    )
}

/// A T.38 offer or answer on `port`, as a gateway sends it.
pub fn t38_sdp(port: u16, version: u32, ec: &str) -> String {
    format!(
        "v=0\r\no=ua 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=image {port} udptl t38\r\n\
a=T38FaxVersion:{version}\r\na=T38MaxBitRate:14400\r\na=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxBuffer:2000\r\n\
a=T38FaxMaxDatagram:400\r\na=T38FaxUdpEC:{ec}\r\n"
    )
}

//! Minimal SIP over UDP for many calls at once: the caller (extension 1001,
//! digest-authenticated) and the carrier behind switchboard's trunk. One
//! non-blocking socket per role; messages are parsed and written with
//! switchboard's own `sip::message` and credentials computed by its digest
//! client, so the tool speaks exactly the SIP the appliance expects.
//!
//! Caller flow (as tests/sipp/call_ext_uac.xml): INVITE -> 407 -> ACK ->
//! INVITE with Proxy-Authorization -> 200 -> ACK ... BYE -> 200. Carrier:
//! every INVITE is answered 200 with our SDP (retransmitted until the ACK
//! like RFC 3261 Timer G), BYE answered 200. Calls are found by Call-ID.
//! Requests are retransmitted with Timer A (500 ms doubling, 4 s cap) and
//! given up after 32 s (Timer B).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use switchboard::sip::auth::select_challenge;
use switchboard::sip::message::{parse_message, parse_uri, HeaderName, Headers, Message, Method, Request, Response};

use super::media::{LegSpec, Kind, CALLER, CARRIER};

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
const TIMER_B: Duration = Duration::from_secs(32);

/// What the caller offers and which number it dials.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Offer {
    /// PCMU + telephone-event; `Kind` is what the leg will send.
    Pcmu(Kind),
    /// Opus only (PT 111, opus/48000/2, RFC 7587).
    Opus,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum State {
    /// First INVITE out, waiting for the 407.
    Challenge,
    /// Authenticated INVITE out, waiting for the 200.
    Invite,
    Up,
    Bye,
    Done,
    Failed,
}

struct OutCall {
    state: State,
    from_tag: String,
    to: String,
    target: String,
    request: Vec<u8>,
    ack: Vec<u8>,
    next: Instant,
    interval: Duration,
    deadline: Instant,
    provisional: bool,
    /// Switchboard hung up on us (BYE) while we held the call.
    dropped: bool,
}

struct InCall {
    response: Vec<u8>,
    acked: bool,
    next: Instant,
    interval: Duration,
    deadline: Instant,
    ended: bool,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SipCounters {
    pub placed: u64,
    pub established: u64,
    pub failed: u64,
    /// Final statuses of failed setups (status -> count; 0 = timeout).
    pub fail_status: std::collections::BTreeMap<u16, u64>,
    pub carrier_invites: u64,
    pub carrier_byes: u64,
    /// Calls switchboard hung up before our BYE.
    pub dropped_by_switchboard: u64,
    pub bye_sent: u64,
    pub bye_ok: u64,
    pub bye_failed: u64,
    pub retransmissions: u64,
    pub unparsable: u64,
}

pub struct Sip {
    caller: UdpSocket,
    carrier: UdpSocket,
    caller_addr: SocketAddr,
    carrier_addr: SocketAddr,
    sb: SocketAddr,
    secret: String,
    dial: String,
    offer: Offer,
    caller_rtp: u16,
    carrier_rtp: u16,
    calls: HashMap<String, OutCall>,
    inbound: HashMap<String, InCall>,
    seq: u64,
    /// Legs whose media can start (handed to the media thread by the caller of `pump`).
    pub legs_up: Vec<LegSpec>,
    pub counters: SipCounters,
    buf: Vec<u8>,
}

fn token(seq: u64) -> String {
    format!("{:x}{:x}", rand::random::<u32>(), seq)
}

fn request(method: Method, uri: &str, headers: Headers, body: &[u8]) -> Vec<u8> {
    let uri = parse_uri(uri).expect("request URI");
    Request { method, uri, headers, body: body.to_vec() }.to_bytes()
}

/// The `<...>` URI of a name-addr value (Contact, To).
fn uri_of(v: &str) -> String {
    match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if a < b => v[a + 1..b].to_string(),
        _ => v.split(';').next().unwrap_or(v).trim().to_string(),
    }
}

/// RTP port and whether `encoding` is among the formats of the first m= line.
fn sdp_port(body: &[u8], encoding: &str) -> Option<(u16, bool)> {
    let sdp = switchboard::sdp::parse(body).ok()?;
    let m = sdp.media.first()?;
    let has = m.payload_type_for(encoding).is_some_and(|pt| m.formats.iter().any(|f| f == &pt.to_string()))
        || (encoding.eq_ignore_ascii_case("PCMU") && m.formats.iter().any(|f| f == "0"));
    Some((sdp.rtp_endpoint(0)?.port(), has))
}

impl Sip {
    #[allow(clippy::too_many_arguments)]
    pub fn new(caller: UdpSocket, carrier: UdpSocket, sb: SocketAddr, secret: &str, dial: &str, offer: Offer, caller_rtp: u16, carrier_rtp: u16) -> Sip {
        caller.set_nonblocking(true).expect("nonblocking");
        carrier.set_nonblocking(true).expect("nonblocking");
        Sip {
            caller_addr: caller.local_addr().expect("addr"),
            carrier_addr: carrier.local_addr().expect("addr"),
            caller,
            carrier,
            sb,
            secret: secret.to_string(),
            dial: dial.to_string(),
            offer,
            caller_rtp,
            carrier_rtp,
            calls: HashMap::new(),
            inbound: HashMap::new(),
            seq: 0,
            legs_up: Vec::new(),
            counters: SipCounters::default(),
            buf: vec![0u8; 65536],
        }
    }

    fn offer_sdp(&self) -> String {
        let p = self.caller_rtp;
        match self.offer {
            Offer::Pcmu(_) => format!(
                "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {p} RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
            ),
            Offer::Opus => format!(
                "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {p} RTP/AVP 111\r\n\
a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=ptime:20\r\na=sendrecv\r\n"
            ),
        }
    }

    fn answer_sdp(&self) -> String {
        let p = self.carrier_rtp;
        format!("v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {p} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n")
    }

    fn invite_uri(&self) -> String {
        format!("sip:{}@{}", self.dial, self.sb)
    }

    fn caller_headers(&self, call_id: &str, from_tag: &str, to: &str, cseq: &str, branch: &str) -> Headers {
        let mut h = Headers::default();
        h.push(HeaderName::Via, format!("SIP/2.0/UDP {};branch={branch};rport", self.caller_addr));
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, format!("<sip:1001@{}>;tag={from_tag}", self.caller_addr));
        h.push(HeaderName::To, to.to_string());
        h.push(HeaderName::CallId, call_id.to_string());
        h.push(HeaderName::CSeq, cseq.to_string());
        h
    }

    /// Places one call: the unauthenticated INVITE.
    pub fn place(&mut self) {
        self.seq += 1;
        let call_id = format!("{}@bench", token(self.seq));
        let from_tag = token(self.seq);
        let to = format!("<{}>", self.invite_uri());
        let branch = format!("z9hG4bK{}", token(self.seq));
        let mut h = self.caller_headers(&call_id, &from_tag, &to, "1 INVITE", &branch);
        h.push(HeaderName::Contact, format!("<sip:1001@{}>", self.caller_addr));
        h.push(HeaderName::ContentType, "application/sdp");
        let msg = request(Method::Invite, &self.invite_uri(), h, self.offer_sdp().as_bytes());
        let now = Instant::now();
        let _ = self.caller.send_to(&msg, self.sb);
        self.counters.placed += 1;
        self.calls.insert(
            call_id,
            OutCall {
                state: State::Challenge,
                from_tag,
                to,
                target: self.invite_uri(),
                request: msg,
                ack: Vec::new(),
                next: now + T1,
                interval: T1,
                deadline: now + TIMER_B,
                provisional: false,
                dropped: false,
            },
        );
    }

    /// Calls still being set up.
    pub fn pending(&self) -> usize {
        self.calls.values().filter(|c| matches!(c.state, State::Challenge | State::Invite)).count()
    }

    /// Calls waiting for the 200 to their BYE.
    pub fn closing(&self) -> usize {
        self.calls.values().filter(|c| c.state == State::Bye).count()
    }

    /// BYE for up to `max` established calls; returns how many were sent.
    pub fn hang_up(&mut self, max: usize) -> usize {
        let ids: Vec<String> = self.calls.iter().filter(|(_, c)| c.state == State::Up).take(max).map(|(k, _)| k.clone()).collect();
        let now = Instant::now();
        for id in &ids {
            self.seq += 1;
            let branch = format!("z9hG4bK{}", token(self.seq));
            let c = &self.calls[id];
            let h = self.caller_headers(id, &c.from_tag, &c.to, "3 BYE", &branch);
            let msg = request(Method::Bye, &c.target, h, b"");
            let _ = self.caller.send_to(&msg, self.sb);
            let c = self.calls.get_mut(id).expect("call");
            c.state = State::Bye;
            c.request = msg;
            c.next = now + T1;
            c.interval = T1;
            c.deadline = now + TIMER_B;
            c.provisional = false;
            self.counters.bye_sent += 1;
        }
        ids.len()
    }

    /// Handles traffic and timers until `until` (at most 10 ms per poll).
    pub fn pump(&mut self, until: Instant) {
        let mut last_timers = Instant::now();
        loop {
            let now = Instant::now();
            let left = until.saturating_duration_since(now).min(Duration::from_millis(10));
            let mut fds = [
                libc::pollfd { fd: self.caller.as_raw_fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: self.carrier.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: two valid pollfds.
            unsafe { libc::poll(fds.as_mut_ptr(), 2, left.as_millis() as i32) };
            self.drain();
            if last_timers.elapsed() >= Duration::from_millis(50) {
                self.timers();
                last_timers = Instant::now();
            }
            if Instant::now() >= until {
                self.timers();
                return;
            }
        }
    }

    fn drain(&mut self) {
        // Bounded per call so neither socket starves the other.
        for _ in 0..256 {
            let mut any = false;
            if let Ok((n, _)) = self.caller.recv_from(&mut self.buf) {
                any = true;
                let data = self.buf[..n].to_vec();
                match parse_message(&data) {
                    Ok(m) => self.on_caller(m),
                    Err(_) => self.counters.unparsable += 1,
                }
            }
            if let Ok((n, from)) = self.carrier.recv_from(&mut self.buf) {
                any = true;
                let data = self.buf[..n].to_vec();
                match parse_message(&data) {
                    Ok(Message::Request(r)) => self.on_carrier(r, from),
                    Ok(Message::Response(_)) => {}
                    Err(_) => self.counters.unparsable += 1,
                }
            }
            if !any {
                return;
            }
        }
    }

    /// Answers `req` with `(status, reason)`, adding our To tag (if it has
    /// none), `extra` headers and `body`; returns the bytes sent.
    fn respond(sock: &UdpSocket, to: SocketAddr, req: &Request, (status, reason): (u16, &str), tag: Option<&str>, extra: Vec<(HeaderName, String)>, body: &[u8]) -> Vec<u8> {
        let mut r = Response::for_request(req, status, reason);
        if let Some(tag) = tag {
            if let Some(to_v) = req.headers.get(&HeaderName::To) {
                if !to_v.contains(";tag=") {
                    r.headers.set(HeaderName::To, format!("{to_v};tag={tag}"));
                }
            }
        }
        for (n, v) in extra {
            r.headers.push(n, v);
        }
        r.body = body.to_vec();
        let bytes = r.to_bytes();
        let _ = sock.send_to(&bytes, to);
        bytes
    }

    fn on_caller(&mut self, m: Message) {
        match m {
            Message::Request(r) => {
                // Switchboard hanging up (or probing): answer 200.
                let id = r.call_id().unwrap_or_default().to_string();
                if r.method == Method::Bye {
                    if let Some(c) = self.calls.get_mut(&id) {
                        if c.state == State::Up && !c.dropped {
                            c.dropped = true;
                            c.state = State::Done;
                            self.counters.dropped_by_switchboard += 1;
                        }
                    }
                }
                if r.method != Method::Ack {
                    Self::respond(&self.caller, self.sb, &r, (200, "OK"), Some("bench"), Vec::new(), b"");
                }
            }
            Message::Response(resp) => self.on_caller_response(resp),
        }
    }

    fn on_caller_response(&mut self, resp: Response) {
        let id = resp.call_id().unwrap_or_default().to_string();
        let Ok(cseq) = resp.headers.cseq() else { return };
        let status = resp.status;
        let to_hdr = resp.headers.get(&HeaderName::To).unwrap_or_default().to_string();
        let Some(c) = self.calls.get(&id) else { return };
        let state = c.state;
        if cseq.method == Method::Invite && status < 200 {
            self.calls.get_mut(&id).expect("call").provisional = true;
            return;
        }
        // A response to an INVITE we have moved past (a retransmitted 407 to
        // the first INVITE arriving after the authenticated one went out, or
        // a late 200) is not about the current transaction.
        let current = match state {
            State::Challenge => 1,
            _ => 2,
        };
        if cseq.method == Method::Invite && cseq.seq != current {
            return;
        }
        match (cseq.method, cseq.seq, state) {
            (Method::Invite, 1, State::Challenge) if status == 407 || status == 401 => {
                // ACK the challenge (same branch as the INVITE), then INVITE with credentials.
                let c = &self.calls[&id];
                let via = resp.headers.get(&HeaderName::Via).unwrap_or_default().to_string();
                let mut h = Headers::default();
                h.push(HeaderName::Via, via);
                h.push(HeaderName::MaxForwards, "70");
                h.push(HeaderName::From, format!("<sip:1001@{}>;tag={}", self.caller_addr, c.from_tag));
                h.push(HeaderName::To, to_hdr);
                h.push(HeaderName::CallId, id.clone());
                h.push(HeaderName::CSeq, "1 ACK");
                let ack = request(Method::Ack, &self.invite_uri(), h, b"");
                let _ = self.caller.send_to(&ack, self.sb);
                let (name, auth_name) = if status == 407 {
                    (HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization)
                } else {
                    (HeaderName::WwwAuthenticate, HeaderName::Authorization)
                };
                let values: Vec<&str> = resp.headers.get_all(&name).collect();
                let Some(ch) = select_challenge(&values) else {
                    self.fail(&id, status);
                    return;
                };
                self.seq += 1;
                let cnonce = token(self.seq);
                let uri = self.invite_uri();
                let cred = ch.authorization("INVITE", &uri, "1001", &self.secret, &cnonce, 1);
                let branch = format!("z9hG4bK{}", token(self.seq));
                let c = &self.calls[&id];
                let mut h = self.caller_headers(&id, &c.from_tag, &c.to, "2 INVITE", &branch);
                h.push(HeaderName::Contact, format!("<sip:1001@{}>", self.caller_addr));
                h.push(auth_name, cred);
                h.push(HeaderName::ContentType, "application/sdp");
                let msg = request(Method::Invite, &uri, h, self.offer_sdp().as_bytes());
                let _ = self.caller.send_to(&msg, self.sb);
                let now = Instant::now();
                let c = self.calls.get_mut(&id).expect("call");
                c.state = State::Invite;
                c.request = msg;
                c.next = now + T1;
                c.interval = T1;
                c.provisional = false;
            }
            (Method::Invite, 2, State::Invite | State::Up | State::Bye | State::Done) if (200..300).contains(&status) => {
                if state == State::Invite {
                    let target = resp.headers.get(&HeaderName::Contact).map(uri_of).unwrap_or_else(|| self.invite_uri());
                    let encoding = if self.offer == Offer::Opus { "opus" } else { "PCMU" };
                    let media = sdp_port(&resp.body, encoding);
                    self.seq += 1;
                    let branch = format!("z9hG4bK{}", token(self.seq));
                    let c = &self.calls[&id];
                    let h = self.caller_headers(&id, &c.from_tag, &to_hdr, "2 ACK", &branch);
                    let ack = request(Method::Ack, &target, h, b"");
                    let _ = self.caller.send_to(&ack, self.sb);
                    let c = self.calls.get_mut(&id).expect("call");
                    c.ack = ack;
                    c.target = target;
                    c.to = to_hdr;
                    match media {
                        Some((port, true)) if port != 0 => {
                            c.state = State::Up;
                            self.counters.established += 1;
                            let kind = match self.offer {
                                Offer::Pcmu(k) => k,
                                Offer::Opus => Kind::Opus,
                            };
                            self.legs_up.push(LegSpec { side: CALLER, dest_port: port, kind, own_port: true });
                        }
                        _ => {
                            // Answered without the codec we offered: counted as
                            // a failed setup (status 606 marks it).
                            self.fail(&id, 606);
                        }
                    }
                } else {
                    // Retransmitted 200: our ACK was lost or late.
                    let ack = self.calls[&id].ack.clone();
                    let _ = self.caller.send_to(&ack, self.sb);
                }
            }
            (Method::Invite, _, State::Challenge | State::Invite) if status >= 300 => {
                let c = &self.calls[&id];
                let via = resp.headers.get(&HeaderName::Via).unwrap_or_default().to_string();
                let mut h = Headers::default();
                h.push(HeaderName::Via, via);
                h.push(HeaderName::MaxForwards, "70");
                h.push(HeaderName::From, format!("<sip:1001@{}>;tag={}", self.caller_addr, c.from_tag));
                h.push(HeaderName::To, to_hdr);
                h.push(HeaderName::CallId, id.clone());
                h.push(HeaderName::CSeq, format!("{} ACK", cseq.seq));
                let ack = request(Method::Ack, &self.invite_uri(), h, b"");
                let _ = self.caller.send_to(&ack, self.sb);
                self.fail(&id, status);
            }
            (Method::Bye, _, State::Bye) if status >= 200 => {
                self.calls.get_mut(&id).expect("call").state = State::Done;
                if (200..300).contains(&status) {
                    self.counters.bye_ok += 1;
                } else {
                    self.counters.bye_failed += 1;
                }
            }
            _ => {}
        }
    }

    fn fail(&mut self, id: &str, status: u16) {
        if let Some(c) = self.calls.get_mut(id) {
            c.state = State::Failed;
            self.counters.failed += 1;
            *self.counters.fail_status.entry(status).or_default() += 1;
        }
    }

    fn on_carrier(&mut self, r: Request, from: SocketAddr) {
        let id = r.call_id().unwrap_or_default().to_string();
        match r.method {
            Method::Invite => {
                if let Some(c) = self.inbound.get(&id) {
                    // Retransmitted INVITE: resend our answer.
                    let _ = self.carrier.send_to(&c.response, from);
                    return;
                }
                self.counters.carrier_invites += 1;
                let media = sdp_port(&r.body, "PCMU");
                let Some((port, true)) = media else {
                    Self::respond(&self.carrier, from, &r, (488, "Not Acceptable Here"), Some("carrier"), Vec::new(), b"");
                    return;
                };
                let contact = vec![
                    (HeaderName::Contact, format!("<sip:carrier@{}>", self.carrier_addr)),
                    (HeaderName::ContentType, "application/sdp".to_string()),
                ];
                self.seq += 1;
                let tag = token(self.seq);
                let response = Self::respond(&self.carrier, from, &r, (200, "OK"), Some(&tag), contact, self.answer_sdp().as_bytes());
                let now = Instant::now();
                self.inbound.insert(id, InCall { response, acked: false, next: now + T1, interval: T1, deadline: now + TIMER_B, ended: false });
                // The carrier's media starts with the answer (switchboard knows
                // where to send from our SDP; it latches on our first packet).
                self.legs_up.push(LegSpec { side: CARRIER, dest_port: port, kind: Kind::Stamped, own_port: true });
            }
            Method::Ack => {
                if let Some(c) = self.inbound.get_mut(&id) {
                    c.acked = true;
                }
            }
            Method::Bye => {
                self.counters.carrier_byes += 1;
                if let Some(c) = self.inbound.get_mut(&id) {
                    c.ended = true;
                }
                Self::respond(&self.carrier, from, &r, (200, "OK"), None, Vec::new(), b"");
            }
            Method::Cancel => {
                Self::respond(&self.carrier, from, &r, (200, "OK"), None, Vec::new(), b"");
            }
            _ => {
                Self::respond(&self.carrier, from, &r, (200, "OK"), Some("carrier"), Vec::new(), b"");
            }
        }
    }

    fn timers(&mut self) {
        let now = Instant::now();
        let mut timed_out = Vec::new();
        for (id, c) in self.calls.iter_mut() {
            if !matches!(c.state, State::Challenge | State::Invite | State::Bye) {
                continue;
            }
            if now >= c.deadline {
                timed_out.push(id.clone());
                continue;
            }
            if !c.provisional && now >= c.next {
                let _ = self.caller.send_to(&c.request, self.sb);
                self.counters.retransmissions += 1;
                c.interval = (c.interval * 2).min(T2);
                c.next = now + c.interval;
            }
        }
        for id in timed_out {
            if self.calls[&id].state == State::Bye {
                self.calls.get_mut(&id).expect("call").state = State::Done;
                self.counters.bye_failed += 1;
            } else {
                self.fail(&id, 0);
            }
        }
        for c in self.inbound.values_mut() {
            if c.acked || c.ended || now >= c.deadline {
                continue;
            }
            if now >= c.next {
                let _ = self.carrier.send_to(&c.response, self.sb);
                self.counters.retransmissions += 1;
                c.interval = (c.interval * 2).min(T2);
                c.next = now + c.interval;
            }
        }
    }
}

//! Transaction-layer tests, driven by a virtual clock: `t0` plus offsets in
//! milliseconds; the harness plays the driver (calls `handle_timeout` at each
//! `poll_timeout`) and records when every transmit and event happened.
//! Requirements checked are listed at the top of each file.

mod client_invite;
mod client_non_invite;
mod matching;
mod server_invite;
mod server_non_invite;
mod wire;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::sip::message::{
    HeaderName, Headers, Host, Message, Method, Request, Response, SipUri, Uri,
};

pub(super) struct Harness {
    pub layer: TransactionLayer,
    pub t0: Instant,
    pub now: Instant,
    /// (ms since t0, transmit)
    pub sent: Vec<(u64, Transmit)>,
    /// (ms since t0, event)
    pub events: Vec<(u64, TxEvent)>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(TimerConfig::default())
    }
    pub fn with_config(config: TimerConfig) -> Self {
        let t0 = Instant::now();
        Harness {
            layer: TransactionLayer::new(config),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }
    pub fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }
    fn ms(&self) -> u64 {
        (self.now - self.t0).as_millis() as u64
    }
    /// Collect whatever the layer produced at the current instant.
    pub fn drain(&mut self) {
        let ms = self.ms();
        while let Some(t) = self.layer.poll_transmit() {
            self.sent.push((ms, t));
        }
        while let Some(e) = self.layer.poll_event() {
            self.events.push((ms, e));
        }
    }
    /// Advance the virtual clock to `ms`, firing every timer on the way at
    /// its exact deadline, as a perfect driver would.
    pub fn run_until(&mut self, ms: u64) {
        let target = self.at(ms);
        while let Some(t) = self.layer.poll_timeout() {
            if t > target {
                break;
            }
            assert!(t >= self.now, "timer in the past");
            self.now = t;
            self.layer.handle_timeout(t);
            self.drain();
        }
        self.now = target;
    }
    pub fn incoming(&mut self, ms: u64, msg: Message, source: Peer) {
        self.run_until(ms);
        self.layer.handle_incoming(self.now, msg, source);
        self.drain();
    }
    pub fn send_request(&mut self, ms: u64, req: Request, dest: Peer) -> TransactionKey {
        self.run_until(ms);
        let key = self
            .layer
            .send_request(self.now, req, dest)
            .expect("send_request");
        self.drain();
        key
    }
    pub fn send_response(&mut self, ms: u64, key: &TransactionKey, resp: Response) {
        self.run_until(ms);
        self.layer
            .send_response(self.now, key, resp)
            .expect("send_response");
        self.drain();
    }
    pub fn take_sent(&mut self) -> Vec<(u64, Transmit)> {
        std::mem::take(&mut self.sent)
    }
    pub fn take_events(&mut self) -> Vec<(u64, TxEvent)> {
        std::mem::take(&mut self.events)
    }
    /// Times (ms) at which requests of `method` were sent.
    pub fn request_times(sent: &[(u64, Transmit)], method: Method) -> Vec<u64> {
        sent.iter()
            .filter(|(_, t)| matches!(&t.message, Message::Request(r) if r.method == method))
            .map(|(ms, _)| *ms)
            .collect()
    }
    /// Times (ms) at which responses with `status` were sent.
    pub fn response_times(sent: &[(u64, Transmit)], status: u16) -> Vec<u64> {
        sent.iter()
            .filter(|(_, t)| matches!(&t.message, Message::Response(r) if r.status == status))
            .map(|(ms, _)| *ms)
            .collect()
    }
}

pub(super) fn udp_peer() -> Peer {
    Peer::udp(addr())
}
pub(super) fn tcp_peer() -> Peer {
    Peer::tcp(addr(), Some(ConnectionId(7)))
}
fn addr() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 10], 5060))
}

pub(super) fn sip_uri(user: &str, host: &str) -> Uri {
    Uri::Sip(SipUri {
        secure: false,
        user: Some(user.to_string()),
        password: None,
        host: Host::Domain(host.to_string()),
        port: None,
        params: Vec::new(),
        headers: Vec::new(),
    })
}

/// A request as a UAC at 192.0.2.10 would send it. `branch` goes verbatim
/// into the top Via (pass "" for an RFC 2543 Via without branch).
pub(super) fn request(method: Method, branch: &str) -> Request {
    request_via(method, &via_value("UDP", "192.0.2.10:5060", branch))
}

pub(super) fn via_value(transport: &str, sent_by: &str, branch: &str) -> String {
    if branch.is_empty() {
        format!("SIP/2.0/{transport} {sent_by}")
    } else {
        format!("SIP/2.0/{transport} {sent_by};branch={branch}")
    }
}

pub(super) fn request_via(method: Method, via: &str) -> Request {
    let mut h = Headers::default();
    h.push(HeaderName::Via, via);
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, "\"Alice\" <sip:alice@a.example>;tag=fa1");
    h.push(HeaderName::To, "<sip:bob@b.example>");
    h.push(HeaderName::CallId, "call-1@a.example");
    h.push(HeaderName::CSeq, format!("1 {method}"));
    h.push(HeaderName::Contact, "<sip:alice@192.0.2.10:5060>");
    h.push(HeaderName::ContentLength, "0");
    Request {
        method,
        uri: sip_uri("bob", "b.example"),
        headers: h,
        body: Vec::new(),
    }
}

/// A response to `req` with an optional To tag, as the far end would send it.
pub(super) fn response(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    let mut r = Response::for_request(req, status, "Whatever");
    if let Some(tag) = to_tag {
        let to = r
            .headers
            .get(&HeaderName::To)
            .unwrap_or_default()
            .to_string();
        r.headers.set(HeaderName::To, format!("{to};tag={tag}"));
    }
    r
}

/// The ACK a UAC sends for a non-2xx: same branch as the INVITE (§17.1.1.3).
pub(super) fn ack_for(invite: &Request, resp: &Response) -> Request {
    let mut ack = invite.clone();
    ack.method = Method::Ack;
    ack.headers.set(
        HeaderName::To,
        resp.headers.get(&HeaderName::To).unwrap_or_default(),
    );
    ack.headers.set(HeaderName::CSeq, "1 ACK");
    ack
}

pub(super) fn req_msg(r: &Request) -> Message {
    Message::Request(r.clone())
}
pub(super) fn resp_msg(r: &Response) -> Message {
    Message::Response(r.clone())
}

pub(super) fn count_terminated(events: &[(u64, TxEvent)]) -> usize {
    events
        .iter()
        .filter(|(_, e)| matches!(e, TxEvent::Terminated { .. }))
        .count()
}

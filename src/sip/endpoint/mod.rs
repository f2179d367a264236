//! The SIP endpoint driver: the tokio task that owns the transaction layer
//! and the transports and shuttles between them (DESIGN §2). It parses what
//! arrives, answers malformed requests with 400 itself, applies RFC 3581
//! `received`/`rport`, drops what the attack guard refuses (`screen`: banned
//! sources before parsing, scanners and rate-limited requests after), and
//! routes every transaction event to whoever asked for it: client-transaction events to the task that sent the request,
//! in-dialog traffic to the task that bound the Call-ID, everything else to
//! the application core. It knows nothing about registrars or calls.

mod malformed;
mod route;
mod screen;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::guard::SharedGuard;
use super::message::{parse_message, validate_request, Message, Request, Response};
use super::transaction::{Peer, TimerConfig, TransactionError, TransactionKey, TransactionLayer, Transmit, Transport, TxEvent};
use super::transport::{Inbound, TransportKind, Transports};

pub use super::transport::TlsListen;

pub use route::local_ip_for;

/// Everything the endpoint reports to a task (application core or call).
///
/// Requests are boxed: a call task's event channel allocates its queue in
/// blocks of 32 events, and an inline `Request` (200 bytes) made each block
/// about 11 KB, held for the whole call.
#[derive(Debug)]
pub enum SipEvent {
    /// A request that opened a server transaction; answer via `respond`.
    Request { key: TransactionKey, request: Box<Request>, source: Peer },
    /// ACK for a 2xx (outside transactions).
    Ack { request: Box<Request>, source: Peer },
    /// CANCEL matched a pending INVITE; the CANCEL is already answered 200.
    Cancel { invite_key: TransactionKey, request: Box<Request>, to_tag: String },
    /// A response to a request this task sent.
    Response { key: TransactionKey, response: Response },
    /// A response no transaction wanted (2xx retransmissions after the
    /// client INVITE transaction ended).
    StrayResponse { response: Response, source: Peer },
    /// No final response in time (Timer B/F) or no ACK (Timer H).
    Timeout { key: TransactionKey },
    /// The request could not be sent.
    TransportError { key: TransactionKey },
}

pub type EventSender = mpsc::UnboundedSender<SipEvent>;

enum Command {
    Send { req: Request, dest: Peer, reply: EventSender, done: oneshot::Sender<Result<TransactionKey, TransactionError>> },
    Respond { key: TransactionKey, resp: Response },
    Stateless { msg: Message, dest: Peer },
    BindDialog { call_id: String, reply: EventSender },
    UnbindDialog { call_id: String, owner: EventSender },
}

/// Handle to the endpoint task; cheap to clone.
#[derive(Clone)]
pub struct Endpoint {
    cmd: mpsc::UnboundedSender<Command>,
    local: SocketAddr,
    transports: Transports,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The endpoint task has stopped (shutdown).
    #[error("SIP endpoint stopped")]
    Stopped,
    /// The transaction layer refused the request.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// Binding the transports failed.
    #[error(transparent)]
    Transport(#[from] super::transport::TransportError),
}

impl Endpoint {
    /// Binds UDP+TCP on `listen` and starts the driver. Out-of-dialog
    /// requests and anything unrouted go to `core`.
    pub async fn start(listen: SocketAddr, timers: TimerConfig, core: EventSender) -> Result<Endpoint, EndpointError> {
        Endpoint::start_with_tls(listen, None, timers, core, None).await
    }

    /// [`Endpoint::start`], plus SIP over TLS when `tls` is given, and
    /// screening by `guard` when given.
    pub async fn start_with_tls(
        listen: SocketAddr,
        tls: Option<TlsListen>,
        timers: TimerConfig,
        core: EventSender,
        guard: Option<SharedGuard>,
    ) -> Result<Endpoint, EndpointError> {
        let (in_tx, in_rx) = mpsc::channel(1024);
        let transports = Transports::bind(listen, tls, in_tx).await?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            layer: TransactionLayer::new(timers),
            transports: transports.clone(),
            core,
            clients: HashMap::new(),
            dialogs: HashMap::new(),
            guard,
        };
        tokio::spawn(driver.run(in_rx, cmd_rx));
        Ok(Endpoint { cmd: cmd_tx, local: transports.local_addr(), transports })
    }

    /// The bound address (port resolved when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The TLS listener's bound address, when SIP over TLS runs.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.transports.tls_local_addr()
    }

    /// The address to put in Via/Contact toward `dest`: the local IP that
    /// routes there (or the bound IP if specific) with our SIP port.
    pub fn via_addr_for(&self, dest: SocketAddr) -> SocketAddr {
        let ip = if self.local.ip().is_unspecified() { local_ip_for(dest) } else { self.local.ip() };
        SocketAddr::new(ip, self.local.port())
    }

    /// [`Endpoint::via_addr_for`] for the transport `dest` is reached
    /// over: with the TLS listener's address and port for TLS.
    pub fn via_addr_for_peer(&self, dest: &Peer) -> SocketAddr {
        match (dest.transport, self.tls_local_addr()) {
            (Transport::Tls, Some(tls)) => {
                let ip = if tls.ip().is_unspecified() { local_ip_for(dest.addr) } else { tls.ip() };
                SocketAddr::new(ip, tls.port())
            }
            _ => self.via_addr_for(dest.addr),
        }
    }

    /// Starts a client transaction; its events go to `reply`.
    pub async fn send_request(&self, req: Request, dest: Peer, reply: EventSender) -> Result<TransactionKey, EndpointError> {
        let (done, rx) = oneshot::channel();
        self.cmd.send(Command::Send { req, dest, reply, done }).map_err(|_| EndpointError::Stopped)?;
        Ok(rx.await.map_err(|_| EndpointError::Stopped)??)
    }

    pub fn respond(&self, key: &TransactionKey, resp: Response) {
        let _ = self.cmd.send(Command::Respond { key: key.clone(), resp });
    }

    /// ACK for 2xx and 2xx retransmissions: outside any transaction.
    pub fn send_stateless(&self, msg: Message, dest: Peer) {
        let _ = self.cmd.send(Command::Stateless { msg, dest });
    }

    /// Routes later requests, ACKs, CANCELs and stray responses carrying
    /// `call_id` to `reply`.
    pub fn bind_dialog(&self, call_id: &str, reply: EventSender) {
        let _ = self.cmd.send(Command::BindDialog { call_id: call_id.to_string(), reply });
    }

    /// Removes the route for `call_id` if `owner` still holds it: a call
    /// task that ends late must not remove the binding a newer task made
    /// for the same Call-ID (a retried INVITE after a 407 reuses it).
    pub fn unbind_dialog(&self, call_id: &str, owner: &EventSender) {
        let _ = self.cmd.send(Command::UnbindDialog { call_id: call_id.to_string(), owner: owner.clone() });
    }

    pub fn tcp_connection_count(&self) -> usize {
        self.transports.tcp_connection_count()
    }

    pub fn tls_connection_count(&self) -> usize {
        self.transports.tls_connection_count()
    }
}

struct Driver {
    layer: TransactionLayer,
    transports: Transports,
    core: EventSender,
    clients: HashMap<TransactionKey, EventSender>,
    dialogs: HashMap<String, EventSender>,
    guard: Option<SharedGuard>,
}

impl Driver {
    async fn run(mut self, mut inbound: mpsc::Receiver<Inbound>, mut cmds: mpsc::UnboundedReceiver<Command>) {
        loop {
            let deadline = self.layer.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                Some(msg) = inbound.recv() => self.on_inbound(msg).await,
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => return,
                },
                _ = sleep_until(deadline) => self.layer.handle_timeout(Instant::now()),
            }
            self.flush().await;
        }
    }

    async fn on_inbound(&mut self, inb: Inbound) {
        // A banned source costs no parsing: checked on the raw packet.
        if self.guard.as_ref().is_some_and(|g| !g.admit_packet(inb.source.ip())) {
            return;
        }
        let source = peer_of(inb.source, inb.transport);
        let msg = match parse_message(&inb.bytes) {
            Ok(m) => m,
            Err(e) => {
                let resp = malformed::bad_request_for(&inb.bytes, e.status, &e.reason);
                // Garbage that would be answered is throttled like requests
                // (and kept out of the log when over the limit).
                if resp.is_some() && self.guard.as_ref().is_some_and(|g| !g.admit_request(inb.source, None, true)) {
                    return;
                }
                tracing::warn!(src = %inb.source, "malformed SIP message: {}", e.reason);
                if let Some(resp) = resp {
                    self.send_now(Message::Response(resp), &source).await;
                }
                return;
            }
        };
        let msg = match msg {
            Message::Request(mut req) => {
                if self.guard.as_ref().is_some_and(|g| !screen::admit(g, &req, inb.source, |cid| self.dialogs.contains_key(cid))) {
                    return;
                }
                if let Err(e) = validate_request(&req) {
                    tracing::warn!(src = %inb.source, method = %req.method, "invalid SIP request: {}", e.reason);
                    let mut resp = Response::for_request(&req, e.status, e.reason.clone());
                    malformed::ensure_to_tag(&mut resp);
                    self.send_now(Message::Response(resp), &source).await;
                    return;
                }
                route::stamp_received(&mut req, inb.source);
                Message::Request(req)
            }
            resp => resp,
        };
        self.layer.handle_incoming(Instant::now(), msg, source);
    }

    fn on_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Send { req, dest, reply, done } => {
                let result = self.layer.send_request(now, req, dest);
                if let Ok(key) = &result {
                    self.clients.insert(key.clone(), reply);
                }
                let _ = done.send(result);
            }
            Command::Respond { key, resp } => {
                if let Err(e) = self.layer.send_response(now, &key, resp) {
                    tracing::debug!("response not sent: {e}");
                }
            }
            Command::Stateless { msg, dest } => self.layer.send_stateless(msg, dest),
            Command::BindDialog { call_id, reply } => {
                self.dialogs.insert(call_id, reply);
            }
            Command::UnbindDialog { call_id, owner } => {
                if self.dialogs.get(&call_id).is_some_and(|s| s.same_channel(&owner)) {
                    self.dialogs.remove(&call_id);
                }
            }
        }
    }

    /// Sends what the layer queued and routes its events.
    async fn flush(&mut self) {
        while let Some(t) = self.layer.poll_transmit() {
            self.transmit(t).await;
        }
        while let Some(ev) = self.layer.poll_event() {
            self.dispatch(ev);
        }
    }

    async fn transmit(&mut self, t: Transmit) {
        let Some(kind) = kind_of(t.dest.transport) else {
            if let Some(key) = t.key {
                self.layer.handle_transport_error(Instant::now(), &key);
            }
            return;
        };
        let bytes = t.message.to_bytes();
        if let Err(e) = self.transports.send(kind, t.dest.addr, &bytes).await {
            tracing::warn!("{e}");
            if let Some(key) = t.key {
                self.layer.handle_transport_error(Instant::now(), &key);
            }
        }
    }

    async fn send_now(&mut self, msg: Message, dest: &Peer) {
        if let Some(kind) = kind_of(dest.transport) {
            if let Err(e) = self.transports.send(kind, dest.addr, &msg.to_bytes()).await {
                tracing::debug!("{e}");
            }
        }
    }

    fn by_call_id(&self, call_id: Option<&str>) -> Option<&EventSender> {
        call_id.and_then(|c| self.dialogs.get(c))
    }

    fn dispatch(&mut self, ev: TxEvent) {
        match ev {
            TxEvent::NewRequest { key, request, source } => {
                let to_tagged = request.headers.to_addr().ok().map(|a| a.tag().is_some()).unwrap_or(false);
                let target = if to_tagged { self.by_call_id(request.call_id()) } else { None };
                let target = target.unwrap_or(&self.core).clone();
                let _ = target.send(SipEvent::Request { key, request: Box::new(request), source });
            }
            TxEvent::Ack { request, source, .. } => {
                if let Some(t) = self.by_call_id(request.call_id()) {
                    let _ = t.send(SipEvent::Ack { request: Box::new(request), source });
                }
            }
            TxEvent::Cancel { invite_key, request, to_tag } => {
                let target = self.by_call_id(request.call_id()).unwrap_or(&self.core).clone();
                let _ = target.send(SipEvent::Cancel { invite_key, request: Box::new(request), to_tag });
            }
            TxEvent::Response { key, response } => {
                if let Some(t) = self.clients.get(&key) {
                    let _ = t.send(SipEvent::Response { key, response });
                }
            }
            TxEvent::StrayResponse { response, source } => {
                if let Some(t) = self.by_call_id(response.call_id()) {
                    let _ = t.send(SipEvent::StrayResponse { response, source });
                }
            }
            TxEvent::Timeout { key } => {
                if let Some(t) = self.clients.get(&key) {
                    let _ = t.send(SipEvent::Timeout { key });
                } else {
                    // Timer H: our final response was never ACKed.
                    let _ = self.core.send(SipEvent::Timeout { key });
                }
            }
            TxEvent::TransportError { key } => {
                if let Some(t) = self.clients.get(&key) {
                    let _ = t.send(SipEvent::TransportError { key });
                }
            }
            TxEvent::Terminated { key } => {
                self.clients.remove(&key);
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

pub fn peer_of(addr: SocketAddr, kind: TransportKind) -> Peer {
    match kind {
        TransportKind::Udp => Peer::udp(addr),
        TransportKind::Tcp => Peer::tcp(addr, None),
        TransportKind::Tls => Peer::tls(addr),
    }
}

fn kind_of(t: Transport) -> Option<TransportKind> {
    match t {
        Transport::Udp => Some(TransportKind::Udp),
        Transport::Tcp => Some(TransportKind::Tcp),
        Transport::Tls => Some(TransportKind::Tls),
        _ => None,
    }
}

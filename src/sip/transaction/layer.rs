//! The transaction layer (RFC 3261 §17): routes incoming messages to the
//! four state machines, creates server transactions, answers CANCEL (§9.2)
//! and merged requests (§8.2.2.2) itself, and schedules every timer on one
//! heap. Sans-IO: the driver feeds `handle_incoming` / `handle_timeout` and
//! drains `poll_transmit` / `poll_event` / `poll_timeout`.
//! Must not: parse bytes, own sockets or clocks, or make dialog decisions.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use super::client_invite::{ClientInviteState, ClientInviteTransaction};
use super::client_non_invite::{ClientNonInviteState, ClientNonInviteTransaction};
use super::error::TransactionError;
use super::event::TxEvent;
use super::helpers::{check_request, layer_response, new_tag, to_tag};
use super::key::{MergeKey, Role, TransactionKey};
use super::outbox::Outbox;
use super::peer::{Peer, Transmit};
use super::server_invite::{ServerInviteState, ServerInviteTransaction};
use super::server_non_invite::{ServerNonInviteState, ServerNonInviteTransaction};
use super::timers::TimerConfig;
use crate::sip::message::{Message, Method, Request, Response};

/// A snapshot of one transaction's state, for the TU and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    ClientInvite(ClientInviteState),
    ClientNonInvite(ClientNonInviteState),
    ServerInvite(ServerInviteState),
    ServerNonInvite(ServerNonInviteState),
}

// Variant names mirror the RFC's four transaction types.
#[allow(clippy::enum_variant_names)]
#[derive(Debug)]
enum Machine {
    ClientInvite(ClientInviteTransaction),
    ClientNonInvite(ClientNonInviteTransaction),
    ServerInvite(ServerInviteTransaction),
    ServerNonInvite(ServerNonInviteTransaction),
}

impl Machine {
    fn next_timeout(&self) -> Option<Instant> {
        match self {
            Machine::ClientInvite(t) => t.next_timeout(),
            Machine::ClientNonInvite(t) => t.next_timeout(),
            Machine::ServerInvite(t) => t.next_timeout(),
            Machine::ServerNonInvite(t) => t.next_timeout(),
        }
    }
    fn is_terminated(&self) -> bool {
        match self {
            Machine::ClientInvite(t) => t.is_terminated(),
            Machine::ClientNonInvite(t) => t.is_terminated(),
            Machine::ServerInvite(t) => t.is_terminated(),
            Machine::ServerNonInvite(t) => t.is_terminated(),
        }
    }
    fn on_timeout(&mut self, now: Instant, out: &mut Outbox) {
        match self {
            Machine::ClientInvite(t) => t.on_timeout(now, out),
            Machine::ClientNonInvite(t) => t.on_timeout(now, out),
            Machine::ServerInvite(t) => t.on_timeout(now, out),
            Machine::ServerNonInvite(t) => t.on_timeout(now),
        }
    }
    fn on_transport_error(&mut self, out: &mut Outbox) {
        match self {
            Machine::ClientInvite(t) => t.on_transport_error(out),
            Machine::ClientNonInvite(t) => t.on_transport_error(out),
            Machine::ServerInvite(t) => t.on_transport_error(out),
            Machine::ServerNonInvite(t) => t.on_transport_error(out),
        }
    }
    fn state(&self) -> TransactionState {
        match self {
            Machine::ClientInvite(t) => TransactionState::ClientInvite(t.state()),
            Machine::ClientNonInvite(t) => TransactionState::ClientNonInvite(t.state()),
            Machine::ServerInvite(t) => TransactionState::ServerInvite(t.state()),
            Machine::ServerNonInvite(t) => TransactionState::ServerNonInvite(t.state()),
        }
    }
    fn request(&self) -> &Request {
        match self {
            Machine::ClientInvite(t) => t.request(),
            Machine::ClientNonInvite(t) => t.request(),
            Machine::ServerInvite(t) => t.request(),
            Machine::ServerNonInvite(t) => t.request(),
        }
    }
}

#[derive(Debug)]
struct Slot {
    machine: Machine,
    /// The deadline currently on the heap for this slot; heap entries with
    /// another instant are stale and skipped (lazy deletion).
    scheduled: Option<Instant>,
    /// Registered in `merge_index` under this key (§8.2.2.2).
    merge_key: Option<MergeKey>,
}

/// What a CANCEL found (§9.2).
enum CancelTarget {
    /// An INVITE server transaction; `proceeding` = no final response yet.
    Invite {
        key: TransactionKey,
        proceeding: bool,
        to_tag: Option<String>,
    },
    NonInvite,
    None,
}

/// All live transactions of one SIP endpoint. See the module comment.
#[derive(Debug)]
pub struct TransactionLayer {
    config: TimerConfig,
    transactions: HashMap<TransactionKey, Slot>,
    merge_index: HashMap<MergeKey, TransactionKey>,
    /// INVITE client key → CANCEL client key held until the INVITE gets a
    /// provisional response (§9.1).
    held_cancels: HashMap<TransactionKey, TransactionKey>,
    timers: BinaryHeap<Reverse<(Instant, TransactionKey)>>,
    out: Outbox,
}

impl Default for TransactionLayer {
    fn default() -> Self {
        TransactionLayer::new(TimerConfig::default())
    }
}

impl TransactionLayer {
    /// Zero base timers are raised to 1 ms: a zero retransmit interval
    /// would re-arm at `now` forever and make the driver spin.
    pub fn new(mut config: TimerConfig) -> Self {
        let floor = Duration::from_millis(1);
        config.t1 = config.t1.max(floor);
        config.t2 = config.t2.max(config.t1);
        config.t4 = config.t4.max(floor);
        TransactionLayer {
            config,
            transactions: HashMap::new(),
            merge_index: HashMap::new(),
            held_cancels: HashMap::new(),
            timers: BinaryHeap::new(),
            out: Outbox::default(),
        }
    }

    pub fn config(&self) -> &TimerConfig {
        &self.config
    }

    /// Number of live transactions (terminated ones are removed at once).
    pub fn len(&self) -> usize {
        self.transactions.len()
    }
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    pub fn state(&self, key: &TransactionKey) -> Option<TransactionState> {
        self.transactions.get(key).map(|s| s.machine.state())
    }

    /// The request that created the transaction (e.g. the INVITE a `Cancel`
    /// event refers to, to build the 487).
    pub fn request(&self, key: &TransactionKey) -> Option<&Request> {
        self.transactions.get(key).map(|s| s.machine.request())
    }

    // ----- driver side ---------------------------------------------------

    /// A parsed message arrived from `source`.
    pub fn handle_incoming(&mut self, now: Instant, msg: Message, source: Peer) {
        match msg {
            Message::Response(resp) => self.incoming_response(now, resp, source),
            Message::Request(req) => self.incoming_request(now, req, source),
        }
        self.prune_heap();
    }

    /// Fire every timer due at `now`. Each due transaction fires once per
    /// call, so a zero interval cannot spin here.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((at, key))) = self.timers.pop() {
                due.push((at, key));
            }
        }
        for (at, key) in due {
            let Some(slot) = self.transactions.get_mut(&key) else {
                continue;
            };
            if slot.scheduled != Some(at) {
                continue; // stale entry: the slot was rescheduled since
            }
            slot.scheduled = None;
            slot.machine.on_timeout(now, &mut self.out);
            self.check_held_cancel(now, &key);
            self.settle(&key);
        }
        self.prune_heap();
    }

    /// The driver could not send a `Transmit` carrying `key` (§17.1.4, §17.2.4).
    pub fn handle_transport_error(&mut self, now: Instant, key: &TransactionKey) {
        if let Some(slot) = self.transactions.get_mut(key) {
            slot.machine.on_transport_error(&mut self.out);
            self.check_held_cancel(now, key);
            self.settle(key);
            self.prune_heap();
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.out.events.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    // ----- TU side ---------------------------------------------------------

    /// Start a client transaction for `req` (§17.1). The request goes out
    /// unchanged: the caller builds the Via with a `new_branch()`. Sending a
    /// CANCEL also arms the §9.1 guard on the INVITE it cancels.
    pub fn send_request(
        &mut self,
        now: Instant,
        req: Request,
        dest: Peer,
    ) -> Result<TransactionKey, TransactionError> {
        if req.method == Method::Ack {
            return Err(TransactionError::MethodNotAllowed(req.method.to_string()));
        }
        let key = TransactionKey::for_client_request(&req)?;
        if self.transactions.contains_key(&key) {
            return Err(TransactionError::Duplicate(key));
        }
        // Validate what the state machines will need later (ACK building).
        req.headers
            .cseq()
            .map_err(|e| TransactionError::Unmatchable(e.to_string()))?;

        let mut hold = false;
        if req.method == Method::Cancel {
            let invite_key = key.with_method(&Method::Invite);
            if let Some(Slot {
                machine: Machine::ClientInvite(t),
                ..
            }) = self.transactions.get_mut(&invite_key)
            {
                t.on_cancel_sent(now);
                // §9.1: no provisional yet → the CANCEL waits for one.
                hold = t.state() == ClientInviteState::Calling;
                if hold {
                    self.held_cancels.insert(invite_key.clone(), key.clone());
                }
                self.settle(&invite_key);
            }
        }
        let machine = if req.method == Method::Invite {
            Machine::ClientInvite(ClientInviteTransaction::start(
                now,
                key.clone(),
                req,
                dest,
                self.config,
                &mut self.out,
            ))
        } else if hold {
            Machine::ClientNonInvite(ClientNonInviteTransaction::held(
                key.clone(),
                req,
                dest,
                self.config,
            ))
        } else {
            Machine::ClientNonInvite(ClientNonInviteTransaction::start(
                now,
                key.clone(),
                req,
                dest,
                self.config,
                &mut self.out,
            ))
        };
        self.insert(key.clone(), machine, None);
        self.prune_heap();
        Ok(key)
    }

    /// Answer the request of server transaction `key` (§17.2).
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        resp: Response,
    ) -> Result<(), TransactionError> {
        if !(100..=699).contains(&resp.status) {
            return Err(TransactionError::InvalidStatus(resp.status));
        }
        let slot = self
            .transactions
            .get_mut(key)
            .ok_or_else(|| TransactionError::NoSuchTransaction(key.clone()))?;
        match &mut slot.machine {
            Machine::ServerInvite(t) => t.send_response(now, resp, &mut self.out)?,
            Machine::ServerNonInvite(t) => t.send_response(now, resp, &mut self.out)?,
            _ => return Err(TransactionError::WrongRole(key.clone())),
        }
        self.settle(key);
        self.prune_heap();
        Ok(())
    }

    /// Send outside any transaction: ACK for 2xx (§13.2.2.4) and 2xx
    /// retransmissions after the server transaction has ended (§13.3.1.4).
    pub fn send_stateless(&mut self, msg: Message, dest: Peer) {
        self.out.send(&dest, msg, None);
    }

    // ----- incoming --------------------------------------------------------

    /// §17.1.3; §18.1.2 discards responses that cannot be matched at all.
    fn incoming_response(&mut self, now: Instant, resp: Response, source: Peer) {
        let key = match TransactionKey::for_response(&resp) {
            Ok(k) => k,
            Err(e) => {
                tracing::debug!(error = %e, "unmatchable response dropped");
                return;
            }
        };
        match self.transactions.get_mut(&key).map(|s| &mut s.machine) {
            Some(Machine::ClientInvite(t)) => {
                t.on_response(now, resp, &mut self.out);
                self.check_held_cancel(now, &key);
            }
            Some(Machine::ClientNonInvite(t)) => t.on_response(now, resp, &mut self.out),
            // Client keys never map to server machines; treat as stray.
            Some(_) | None => {
                self.out.event(TxEvent::StrayResponse {
                    response: resp,
                    source,
                });
                return;
            }
        }
        self.settle(&key);
    }

    /// §17.2.3 request matching and server transaction creation.
    fn incoming_request(&mut self, now: Instant, req: Request, source: Peer) {
        let key = match check_request(&req)
            .and_then(|()| TransactionKey::for_server_request(&req).map_err(|e| e.to_string()))
        {
            Ok(k) => k,
            Err(reason) => {
                // §8.2 / §21.4.1: a request we cannot build a transaction
                // around is malformed. ACKs get no response; without a Via
                // there is nowhere to send one.
                tracing::debug!(%reason, method = %req.method, "malformed request rejected");
                if req.method != Method::Ack && req.headers.top_via().is_ok() {
                    let resp = layer_response(&req, 400, &reason, None);
                    self.out.send(&source, Message::Response(resp), None);
                }
                return;
            }
        };
        match req.method {
            Method::Ack => self.incoming_ack(now, key, req, source),
            Method::Cancel => self.incoming_cancel(now, key, req, source),
            _ => self.incoming_other(now, key, req, source),
        }
    }

    fn incoming_other(&mut self, now: Instant, key: TransactionKey, req: Request, source: Peer) {
        if let Some(slot) = self.transactions.get_mut(&key) {
            match &mut slot.machine {
                Machine::ServerInvite(t) => t.on_request_retransmit(&mut self.out),
                Machine::ServerNonInvite(t) => t.on_request_retransmit(&mut self.out),
                _ => {}
            }
            self.settle(&key);
            return;
        }
        let merge_key = MergeKey::of(&req);
        if let Some(mk) = &merge_key {
            if self.merge_index.contains_key(mk) {
                // §8.2.2.2: same request by another path (a fork looping
                // back). Answer 482 in a transaction of its own so its
                // retransmissions are absorbed; the TU never sees it.
                let resp = layer_response(&req, 482, "Loop Detected", None);
                self.create_server(now, key.clone(), req, source, None);
                self.respond_internal(now, &key, resp);
                return;
            }
        }
        self.create_server(now, key.clone(), req.clone(), source.clone(), merge_key);
        self.out.event(TxEvent::NewRequest {
            key,
            request: req,
            source,
        });
    }

    /// §17.2.3: ACK for a non-2xx matches the INVITE transaction; anything
    /// else is the end-to-end ACK for a 2xx and goes to the dialog layer.
    fn incoming_ack(&mut self, now: Instant, key: TransactionKey, req: Request, source: Peer) {
        let mut target = self.transactions.contains_key(&key).then(|| key.clone());
        if target.is_none() {
            // RFC 2543: the ACK carries our response's To tag, the INVITE had none.
            if let Some(k) = key.without_to_tag() {
                let ack_tag = to_tag(&req.headers);
                if let Some(Slot {
                    machine: Machine::ServerInvite(t),
                    ..
                }) = self.transactions.get(&k)
                {
                    if t.response_to_tag() == ack_tag {
                        target = Some(k);
                    }
                }
            }
        }
        if let Some(k) = target {
            if let Some(Slot {
                machine: Machine::ServerInvite(t),
                ..
            }) = self.transactions.get_mut(&k)
            {
                t.on_ack(now, req, source, &mut self.out);
                self.settle(&k);
                return;
            }
        }
        self.out.event(TxEvent::Ack {
            key: None,
            request: req,
            source,
        });
    }

    /// §9.2: CANCEL is its own transaction; the layer answers it.
    fn incoming_cancel(&mut self, now: Instant, key: TransactionKey, req: Request, source: Peer) {
        if let Some(Slot {
            machine: Machine::ServerNonInvite(t),
            ..
        }) = self.transactions.get_mut(&key)
        {
            t.on_request_retransmit(&mut self.out);
            self.settle(&key);
            return;
        }
        let target = self.cancel_target(&key);
        let resp = match &target {
            CancelTarget::Invite { to_tag, .. } => {
                layer_response(&req, 200, "OK", to_tag.as_deref())
            }
            CancelTarget::NonInvite => layer_response(&req, 200, "OK", None),
            CancelTarget::None => {
                layer_response(&req, 481, "Call/Transaction Does Not Exist", None)
            }
        };
        let used_tag = to_tag(&resp.headers).unwrap_or_else(new_tag);
        self.create_server(now, key.clone(), req.clone(), source, None);
        self.respond_internal(now, &key, resp);
        if let CancelTarget::Invite {
            key: invite_key,
            proceeding: true,
            ..
        } = target
        {
            self.out.event(TxEvent::Cancel {
                invite_key,
                request: req,
                to_tag: used_tag,
            });
        }
    }

    fn cancel_target(&self, cancel_key: &TransactionKey) -> CancelTarget {
        let invite_key = cancel_key.with_method(&Method::Invite);
        if let Some(Slot {
            machine: Machine::ServerInvite(t),
            ..
        }) = self.transactions.get(&invite_key)
        {
            return CancelTarget::Invite {
                key: invite_key,
                proceeding: t.state() == ServerInviteState::Proceeding,
                to_tag: t.response_to_tag(),
            };
        }
        // Cancelling a non-INVITE is legal but pointless (§9.2); it is rare,
        // so a scan beats keeping another index.
        let found = self.transactions.iter().any(|(k, s)| {
            matches!(s.machine, Machine::ServerNonInvite(_))
                && k.method() != Method::Cancel.as_str()
                && k.same_but_method(cancel_key)
        });
        if found {
            CancelTarget::NonInvite
        } else {
            CancelTarget::None
        }
    }

    // ----- bookkeeping -----------------------------------------------------

    fn create_server(
        &mut self,
        now: Instant,
        key: TransactionKey,
        req: Request,
        source: Peer,
        merge_key: Option<MergeKey>,
    ) {
        let machine = if req.method == Method::Invite {
            Machine::ServerInvite(ServerInviteTransaction::start(
                now,
                key.clone(),
                req,
                source,
                self.config,
                &mut self.out,
            ))
        } else {
            Machine::ServerNonInvite(ServerNonInviteTransaction::start(
                key.clone(),
                req,
                source,
                self.config,
            ))
        };
        self.insert(key, machine, merge_key);
    }

    /// A response the layer itself generates through a fresh server
    /// transaction; it cannot be refused in the Trying/Proceeding state.
    fn respond_internal(&mut self, now: Instant, key: &TransactionKey, resp: Response) {
        if let Err(e) = self.send_response(now, key, resp) {
            tracing::warn!(error = %e, "layer-generated response refused");
        }
    }

    fn insert(&mut self, key: TransactionKey, machine: Machine, merge_key: Option<MergeKey>) {
        debug_assert!(
            key.role() == Role::Client
                || matches!(
                    machine,
                    Machine::ServerInvite(_) | Machine::ServerNonInvite(_)
                )
        );
        if let Some(mk) = &merge_key {
            self.merge_index.insert(mk.clone(), key.clone());
        }
        self.transactions.insert(
            key.clone(),
            Slot {
                machine,
                scheduled: None,
                merge_key,
            },
        );
        self.settle(&key);
    }

    /// §9.1: once the INVITE `invite_key` is Proceeding its held CANCEL goes
    /// out; if it ended or got a final response first, the CANCEL is moot.
    fn check_held_cancel(&mut self, now: Instant, invite_key: &TransactionKey) {
        let Some(cancel_key) = self.held_cancels.get(invite_key).cloned() else {
            return;
        };
        let invite_state = match self.transactions.get(invite_key).map(|s| &s.machine) {
            Some(Machine::ClientInvite(t)) => t.state(),
            _ => ClientInviteState::Terminated,
        };
        if invite_state == ClientInviteState::Calling {
            return;
        }
        self.held_cancels.remove(invite_key);
        if let Some(Slot {
            machine: Machine::ClientNonInvite(c),
            ..
        }) = self.transactions.get_mut(&cancel_key)
        {
            if invite_state == ClientInviteState::Proceeding {
                c.release(now, &mut self.out);
            } else {
                c.abandon();
            }
            self.settle(&cancel_key);
        }
    }

    /// After any input to `key`'s machine: drop it if terminated (announcing
    /// `Terminated`), otherwise put its next deadline on the heap.
    fn settle(&mut self, key: &TransactionKey) {
        let Some(slot) = self.transactions.get_mut(key) else {
            return;
        };
        if slot.machine.is_terminated() {
            if let Some(slot) = self.transactions.remove(key) {
                if let Some(mk) = slot.merge_key {
                    // Only unregister if the index still points at us.
                    if self.merge_index.get(&mk) == Some(key) {
                        self.merge_index.remove(&mk);
                    }
                }
            }
            self.out.event(TxEvent::Terminated { key: key.clone() });
            return;
        }
        let next = slot.machine.next_timeout();
        if next != slot.scheduled {
            slot.scheduled = next;
            if let Some(at) = next {
                self.timers.push(Reverse((at, key.clone())));
            }
        }
    }

    /// Pop stale heap heads so `poll_timeout` reports a real deadline.
    fn prune_heap(&mut self) {
        while let Some(Reverse((at, key))) = self.timers.peek() {
            let live = self
                .transactions
                .get(key)
                .is_some_and(|s| s.scheduled == Some(*at));
            if live {
                break;
            }
            self.timers.pop();
        }
    }
}

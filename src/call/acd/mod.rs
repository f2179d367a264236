//! The ACD driver: one tokio task owns the sans-IO `acd::Acd` core, feeds it
//! the clock, the configuration from the store and what call tasks report,
//! and routes its outputs — directives to the waiting callers' call tasks,
//! agent state and the queue log to the store, callbacks to their own call
//! tasks. Call tasks talk to it through [`AcdHandle`]. Owns no SIP and no
//! media; it never blocks on a call. Web chats (`crate::chat`) wait in
//! queues through the same handle, as callers whose offers ring no phone;
//! web callback requests enter through [`AcdHandle::web_callback`].

mod callback;
pub mod crm;
mod task;

use std::collections::BTreeMap;

use tokio::sync::{mpsc, oneshot};

pub use task::spawn;

/// What the ACD tells a waiting caller's call task to do.
#[derive(Debug)]
pub enum CallerDirective {
    /// Play position and estimated wait over the music.
    Announce { position: usize, ewt_ms: u64 },
    /// Ring this agent's phones; report ringing, answer or failure under `offer`.
    Offer { offer: u64, agent: String, extensions: Vec<String> },
    /// Stop ringing that agent.
    CancelOffer { offer: u64 },
    /// That agent's answer won: bridge, and report `call_ended` afterwards.
    Connect { offer: u64, agent: String },
    /// That agent answered too late: hang their leg up.
    RejectLate { offer: u64 },
    /// Leave the queue without an agent (timeout, full, nobody logged in).
    Leave { reason: String, destination: Option<String> },
    /// The ACD is gone (shutdown, queue removed).
    Gone,
    /// A callback's agent answered: dial the customer now.
    DialCustomer { number: String },
}

/// Why ringing an agent failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferFailure {
    NoAnswer,
    Busy,
    Rejected,
    Unreachable,
}

impl OfferFailure {
    pub fn from_status(status: u16) -> OfferFailure {
        match status {
            408 | 480 | 487 => OfferFailure::NoAnswer,
            486 | 600 => OfferFailure::Busy,
            603 => OfferFailure::Rejected,
            _ => OfferFailure::Unreachable,
        }
    }
}

/// Why a queue did not take a caller, and where the queue sends them.
#[derive(Debug, Clone)]
pub struct Refused {
    pub reason: String,
    /// The queue's overflow destination (`queue:`, `voicemail:`, `context:`).
    pub destination: Option<String>,
}

impl Refused {
    fn gone() -> Refused {
        Refused { reason: "the ACD is not running".into(), destination: None }
    }
}

/// A caller entering a queue.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The caller's key (its Call-ID).
    pub caller: String,
    pub queue: String,
    pub priority: i64,
    pub skills: BTreeMap<String, u8>,
    pub number: String,
    pub name: String,
    pub did: String,
    pub ivr_path: String,
    /// The screen pop's customer record (`crm::customer_for`).
    pub customer: Option<BTreeMap<String, String>>,
    /// A web chat, not a call: its session publishes chat events itself, so
    /// the ACD publishes no call offered/ringing/answered/ended for it.
    pub chat: bool,
}

/// A callback asked for on the web (no call before it).
#[derive(Debug, Clone)]
pub struct WebCallback {
    pub queue: String,
    /// Any notation; normalized (and refused without digits) on insert.
    pub number: String,
    pub name: String,
    /// The customer's message.
    pub note: String,
}

/// What the caller's task needs to know about the queue it joined.
#[derive(Debug, Clone)]
pub struct QueueInfo {
    pub queue: String,
    pub moh_class: String,
    /// The DTMF key that asks for a callback, when the queue offers one.
    pub callback_key: Option<char>,
}

/// Agent operations from feature codes.
pub use crate::dialplan::AgentOp;

pub enum Msg {
    Join { req: JoinRequest, directives: mpsc::UnboundedSender<CallerDirective>, reply: oneshot::Sender<Result<QueueInfo, Refused>> },
    Abandon { caller: String },
    RequestCallback { caller: String, number: String },
    WebCallback { req: WebCallback, reply: oneshot::Sender<Result<i64, Refused>> },
    OfferRinging { offer: u64 },
    OfferAnswered { offer: u64 },
    OfferFailed { offer: u64, why: OfferFailure },
    CallEnded { offer: u64 },
    Agent { extension: String, op: AgentOp, reason: Option<String>, reply: oneshot::Sender<Result<String, String>> },
    /// Callback call results (from the callback call task).
    CustomerAnswered { caller: String },
    CustomerFailed { caller: String },
    Stats { reply: oneshot::Sender<serde_json::Value> },
}

/// The handle for `Ctx` and the receiving end for [`spawn`].
pub fn channel() -> (AcdHandle, mpsc::UnboundedReceiver<Msg>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (AcdHandle { tx }, rx)
}

/// How call tasks reach the ACD. Cheap to clone.
#[derive(Clone)]
pub struct AcdHandle {
    tx: mpsc::UnboundedSender<Msg>,
}

impl AcdHandle {
    /// Enters a queue; `Err` says why the queue refused (unknown, full, no
    /// agents) and where its overflow goes.
    pub async fn join(&self, req: JoinRequest, directives: mpsc::UnboundedSender<CallerDirective>) -> Result<QueueInfo, Refused> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Msg::Join { req, directives, reply }).map_err(|_| Refused::gone())?;
        rx.await.map_err(|_| Refused::gone())?
    }
    pub fn abandon(&self, caller: &str) {
        let _ = self.tx.send(Msg::Abandon { caller: caller.to_string() });
    }
    pub fn request_callback(&self, caller: &str, number: &str) {
        let _ = self.tx.send(Msg::RequestCallback { caller: caller.to_string(), number: number.to_string() });
    }
    /// A callback request from the web form: persisted (it survives a
    /// restart), then queued exactly like a caller who pressed the queue's
    /// callback key. `Ok` is the callbacks row id.
    pub async fn web_callback(&self, req: WebCallback) -> Result<i64, Refused> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Msg::WebCallback { req, reply }).map_err(|_| Refused::gone())?;
        rx.await.map_err(|_| Refused::gone())?
    }
    pub fn offer_ringing(&self, offer: u64) {
        let _ = self.tx.send(Msg::OfferRinging { offer });
    }
    pub fn offer_answered(&self, offer: u64) {
        let _ = self.tx.send(Msg::OfferAnswered { offer });
    }
    pub fn offer_failed(&self, offer: u64, why: OfferFailure) {
        let _ = self.tx.send(Msg::OfferFailed { offer, why });
    }
    /// The bridged call of `offer` ended (the agent goes to wrap-up).
    pub fn call_ended(&self, offer: u64) {
        let _ = self.tx.send(Msg::CallEnded { offer });
    }
    pub fn customer_answered(&self, caller: &str) {
        let _ = self.tx.send(Msg::CustomerAnswered { caller: caller.to_string() });
    }
    pub fn customer_failed(&self, caller: &str) {
        let _ = self.tx.send(Msg::CustomerFailed { caller: caller.to_string() });
    }
    /// Login/logout/pause/unpause for the agent of `extension`; `Ok` names the agent.
    pub async fn agent(&self, extension: &str, op: AgentOp, reason: Option<String>) -> Result<String, String> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Msg::Agent { extension: extension.to_string(), op, reason, reply }).map_err(|_| "the ACD is not running".to_string())?;
        rx.await.map_err(|_| "the ACD is not running".to_string())?
    }
    /// Real-time statistics (queues and agents) as JSON.
    pub async fn stats(&self) -> Option<serde_json::Value> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Msg::Stats { reply }).ok()?;
        rx.await.ok()
    }
}

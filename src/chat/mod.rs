//! Live web chats from the public contact page, routed by the ACD.
//!
//! A visitor's chat is a caller of the `[contact] chat_queue` queue with the
//! required skill `[contact] chat_skill` (proficiency 1 or more), so the
//! queue's strategy, fairness, reservation, ring timeout, wrap-up and
//! statistics apply to chats as they do to calls. Each chat has a session
//! task (`session.rs`), the chat's counterpart of a waiting caller's call
//! task: it carries out the ACD's directives — an offer publishes a CTI
//! `chat_offered` to that agent instead of ringing phones, the agent's
//! accept reports the offer answered, a decline or the ring timeout lets
//! the ACD offer the next agent — and relays the messages both ways,
//! storing the transcript (`store::chats`).
//!
//! [`ChatHub`] is what the web holds: start a chat, the visitor's side
//! (authorised by the chat's secret token) and the agent's side (accept,
//! decline, say, end; the session checks that the agent is the one
//! offered or connected). Owns no sockets and no pages; knows the ACD only
//! through its handle, never blocks its task.
//!
//! Bounds: chats open at once, message size, messages per chat, visitor
//! pages per chat, an idle timeout, and a chat whose visitor has had no
//! page open for a while ends. Per-address limits on starting chats are
//! the web layer's.
//!
//! The hub is also the contact page's way to book a web callback
//! ([`ChatHub::request_callback`]): one handle for the public channel.

mod session;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::call::acd::AcdHandle;
use crate::config::ContactConfig;
use crate::cti::EventBus;
use crate::store::Store;

/// Updates buffered per visitor page before the oldest are dropped (the
/// page then reloads the transcript).
const VISITOR_BACKLOG: usize = 256;
/// Visitor pages (sockets) open at once on one chat.
const MAX_PAGES: usize = 4;

/// Why a chat request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatError {
    /// No such live chat (or it ended).
    NotFound,
    /// Not this agent's chat.
    Forbidden(String),
    /// Malformed or not possible now (empty message, not connected yet).
    Invalid(String),
    /// A limit was reached (chats open, messages per chat) or chat is off.
    Unavailable(String),
}

impl std::fmt::Display for ChatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatError::NotFound => f.write_str("no such chat (it may have ended)"),
            ChatError::Forbidden(m) | ChatError::Invalid(m) | ChatError::Unavailable(m) => f.write_str(m),
        }
    }
}

/// What a visitor gives to start a chat (already trimmed by the form).
#[derive(Debug, Clone, Default)]
pub struct NewVisitor {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub message: String,
    pub ip: String,
}

/// A started chat: its id and the visitor's secret.
#[derive(Debug, Clone)]
pub struct Started {
    pub id: String,
    pub token: String,
}

/// What the visitor's page is sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Update {
    /// A transcript line (`from`: visitor, agent or system); `id` orders
    /// lines and lets a page skip those it already has.
    Message { id: i64, from: String, text: String, at_ms: i64 },
    /// Where the chat stands: `waiting` (with `position` when known),
    /// `connected`, `ended`.
    Status { state: String, position: Option<usize> },
}

/// What the web asks of a chat's session.
enum Control {
    Accept { agent: String, reply: oneshot::Sender<Result<(), ChatError>> },
    Decline { agent: String, reply: oneshot::Sender<Result<(), ChatError>> },
    /// `agent`: None for the visitor.
    Say { agent: Option<String>, text: String, reply: oneshot::Sender<Result<(), ChatError>> },
    End { agent: Option<String>, reply: oneshot::Sender<Result<(), ChatError>> },
}

/// Where a live chat stands, as the web may read it.
#[derive(Debug, Clone, Default)]
struct Standing {
    /// Agents it is offered to right now.
    offered: Vec<String>,
    /// The agent talking, once accepted.
    agent: Option<String>,
    state: String,
}

/// One live chat, shared by its session task and the web.
struct Live {
    id: String,
    token: String,
    ctl: mpsc::UnboundedSender<Control>,
    updates: broadcast::Sender<Update>,
    standing: Mutex<Standing>,
    /// Visitor pages connected now (the session ends a chat nobody watches).
    watchers: AtomicUsize,
}

struct Inner {
    cfg: ContactConfig,
    store: Store,
    events: EventBus,
    acd: Option<AcdHandle>,
    live: Mutex<HashMap<String, Arc<Live>>>,
}

/// The web's handle on live chats. Cheap to clone.
#[derive(Clone)]
pub struct ChatHub {
    inner: Arc<Inner>,
}

fn random_hex(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

impl ChatHub {
    pub fn new(cfg: ContactConfig, store: Store, events: EventBus, acd: Option<AcdHandle>) -> ChatHub {
        ChatHub { inner: Arc::new(Inner { cfg, store, events, acd, live: Mutex::new(HashMap::new()) }) }
    }

    pub fn config(&self) -> &ContactConfig {
        &self.inner.cfg
    }

    /// The store the transcripts are in (for reading them).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Chats open right now.
    pub fn live_count(&self) -> usize {
        self.inner.live.lock().map(|m| m.len()).unwrap_or(0)
    }

    fn get(&self, id: &str) -> Option<Arc<Live>> {
        self.inner.live.lock().ok()?.get(id).cloned()
    }

    /// Starts a chat: stores it with the first message, looks the visitor
    /// up (phone, then e-mail) and starts its session, which joins the
    /// chat queue.
    pub async fn start(&self, v: NewVisitor) -> Result<Started, ChatError> {
        let cfg = &self.inner.cfg;
        let Some(acd) = self.inner.acd.clone() else {
            return Err(ChatError::Unavailable("chat is not available right now".into()));
        };
        check_text(&v.message, cfg.max_message_chars)?;
        if self.live_count() >= cfg.max_live_chats {
            return Err(ChatError::Unavailable("all chat lines are busy; please try again in a few minutes".into()));
        }
        let store = &self.inner.store;
        if !matches!(store.queue(&cfg.chat_queue).await, Ok(Some(_))) {
            return Err(ChatError::Unavailable("chat is not available right now".into()));
        }
        let phone = crate::store::normalize_phone(&v.phone).unwrap_or_default();
        let mut customer = match phone.is_empty() {
            true => None,
            false => store.customer_by_phone(&phone).await.ok().flatten(),
        };
        if customer.is_none() && !v.email.is_empty() {
            customer = store.customer_by_email(&v.email).await.ok().flatten();
        }
        let id = random_hex(16);
        let token = random_hex(32);
        let now = crate::store::unix_ms();
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let live = Arc::new(Live {
            id: id.clone(),
            token: token.clone(),
            ctl,
            updates: broadcast::channel(VISITOR_BACKLOG).0,
            standing: Mutex::new(Standing { state: "waiting".into(), ..Standing::default() }),
            watchers: AtomicUsize::new(0),
        });
        // The slot is taken before anything is written: the bound holds under load.
        {
            let Ok(mut map) = self.inner.live.lock() else { return Err(ChatError::Unavailable("chat is not available right now".into())) };
            if map.len() >= cfg.max_live_chats {
                return Err(ChatError::Unavailable("all chat lines are busy; please try again in a few minutes".into()));
            }
            map.insert(id.clone(), live.clone());
        }
        let row = crate::store::NewChat {
            id: id.clone(),
            queue: cfg.chat_queue.clone(),
            visitor_name: v.name.clone(),
            visitor_phone: phone.clone(),
            visitor_email: v.email.clone(),
            customer_id: customer.as_ref().map(|c| c.id),
            ip: v.ip.clone(),
            started_at_ms: now,
        };
        let stored = match store.create_chat(&row).await {
            Ok(()) => store.add_chat_message(&id, now, "visitor", None, &v.message).await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            self.remove(&id);
            let _ = store.end_chat(&id, now, "error").await;
            return Err(ChatError::Unavailable(format!("chat not started: {e}")));
        }
        let info = crate::cti::ChatInfo {
            chat_id: id.clone(),
            queue: cfg.chat_queue.clone(),
            visitor_name: v.name,
            visitor_phone: phone,
            visitor_email: v.email,
            first_message: v.message,
            customer: customer.map(|c| c.vars()),
        };
        tracing::info!(chat = %id, queue = %cfg.chat_queue, known = info.customer.is_some(), "web chat started");
        let s = session::Session::new(self.clone(), live, acd, info);
        tokio::spawn(s.run(ctl_rx));
        Ok(Started { id, token })
    }

    /// The visitor's side of chat `id`, when `token` is its secret.
    pub fn visitor(&self, id: &str, token: &str) -> Option<Visitor> {
        let live = self.get(id)?;
        same_secret(&live.token, token).then(|| Visitor { live })
    }

    async fn ask(&self, id: &str, make: impl FnOnce(oneshot::Sender<Result<(), ChatError>>) -> Control) -> Result<(), ChatError> {
        let live = self.get(id).ok_or(ChatError::NotFound)?;
        ask(&live, make).await
    }

    /// The agent takes a chat offered to them; `Ok` once the ACD connected it.
    pub async fn accept(&self, id: &str, agent: &str) -> Result<(), ChatError> {
        let agent = agent.to_string();
        self.ask(id, |reply| Control::Accept { agent, reply }).await
    }

    /// The agent turns a chat down: the ACD offers it to the next agent.
    pub async fn decline(&self, id: &str, agent: &str) -> Result<(), ChatError> {
        let agent = agent.to_string();
        self.ask(id, |reply| Control::Decline { agent, reply }).await
    }

    pub async fn say(&self, id: &str, agent: &str, text: &str) -> Result<(), ChatError> {
        check_text(text, self.inner.cfg.max_message_chars)?;
        let (agent, text) = (Some(agent.to_string()), text.to_string());
        self.ask(id, |reply| Control::Say { agent, text, reply }).await
    }

    pub async fn end(&self, id: &str, agent: &str) -> Result<(), ChatError> {
        let agent = Some(agent.to_string());
        self.ask(id, |reply| Control::End { agent, reply }).await
    }

    /// A callback request from the contact form, queued like a caller who
    /// pressed the queue's callback key (`AcdHandle::web_callback`); `Ok`
    /// is the request's number.
    pub async fn request_callback(&self, queue: &str, number: &str, name: &str, note: &str) -> Result<i64, ChatError> {
        let Some(acd) = self.inner.acd.as_ref() else {
            return Err(ChatError::Unavailable("callbacks are not available right now".into()));
        };
        let req = crate::call::acd::WebCallback { queue: queue.into(), number: number.into(), name: name.into(), note: note.into() };
        acd.web_callback(req).await.map_err(|r| ChatError::Unavailable(format!("the callback could not be booked ({})", r.reason)))
    }

    /// Whether `agent` is offered or talking on live chat `id`.
    pub fn involves(&self, id: &str, agent: &str) -> bool {
        self.get(id).and_then(|l| l.standing.lock().ok().map(|s| s.agent.as_deref() == Some(agent) || s.offered.iter().any(|a| a == agent))).unwrap_or(false)
    }

    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.inner.live.lock() {
            m.remove(id);
        }
    }
}

async fn ask(live: &Live, make: impl FnOnce(oneshot::Sender<Result<(), ChatError>>) -> Control) -> Result<(), ChatError> {
    let (reply, rx) = oneshot::channel();
    live.ctl.send(make(reply)).map_err(|_| ChatError::NotFound)?;
    rx.await.map_err(|_| ChatError::NotFound)?
}

/// Compares without an early exit (the token is a secret).
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A message must have text and fit the limit.
fn check_text(text: &str, max_chars: usize) -> Result<(), ChatError> {
    if text.trim().is_empty() {
        return Err(ChatError::Invalid("the message is empty".into()));
    }
    if text.chars().count() > max_chars {
        return Err(ChatError::Invalid(format!("messages are limited to {max_chars} characters")));
    }
    Ok(())
}

/// The visitor's side of one chat (the token was checked).
pub struct Visitor {
    live: Arc<Live>,
}

impl Visitor {
    pub fn id(&self) -> &str {
        &self.live.id
    }

    /// Updates from now on; take it before reading the stored transcript
    /// so nothing falls between the two (`Update::Message::id` dedupes).
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.live.updates.subscribe()
    }

    /// Where the chat stands now (`waiting`, `connected`, `ended`).
    pub fn state(&self) -> String {
        self.live.standing.lock().map(|s| s.state.clone()).unwrap_or_default()
    }

    /// Counts a visitor page as open until the guard drops; `None` when
    /// `MAX_PAGES` are open already (a token is no licence for a flood).
    pub fn watch(&self) -> Option<WatchGuard> {
        let before = self.live.watchers.fetch_add(1, Ordering::SeqCst);
        let guard = WatchGuard { live: self.live.clone() };
        (before < MAX_PAGES).then_some(guard)
    }

    pub async fn say(&self, text: &str, max_chars: usize) -> Result<(), ChatError> {
        check_text(text, max_chars)?;
        let text = text.to_string();
        ask(&self.live, |reply| Control::Say { agent: None, text, reply }).await
    }

    pub async fn end(&self) -> Result<(), ChatError> {
        ask(&self.live, |reply| Control::End { agent: None, reply }).await
    }
}

pub struct WatchGuard {
    live: Arc<Live>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.live.watchers.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests;

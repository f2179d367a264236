//! One chat's session task: the chat's counterpart of a waiting caller's
//! call task (`call::ivr::queue`). It joins the chat queue, carries out the
//! ACD's directives without ringing any phone (an offer becomes a CTI
//! `chat_offered` for that agent; the agent's accept reports the offer
//! answered; a decline reports it failed; the ring timeout is the ACD's),
//! relays messages both ways and stores them, and ends the chat — on
//! either side's word, when nobody answers, when it idles, or when the
//! visitor's page has been gone a while — reporting `call_ended` so the
//! agent goes to wrap-up like after a call. The ACD decides; this only
//! carries out its directives, and never makes the ACD task wait.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{ChatError, ChatHub, Control, Live, Update};
use crate::call::acd::{AcdHandle, CallerDirective, JoinRequest, OfferFailure};
use crate::cti::{ChatInfo, CtiKind};

/// How often the session looks whether the visitor's page is still open.
const WATCH_EVERY: Duration = Duration::from_secs(5);
/// A chat whose visitor has had no page open this long ends.
const VISITOR_GONE: Duration = Duration::from_secs(90);

type Reply = oneshot::Sender<Result<(), ChatError>>;

pub(super) struct Session {
    hub: ChatHub,
    live: Arc<Live>,
    acd: AcdHandle,
    info: ChatInfo,
    /// Visitor and agent messages stored so far.
    messages: usize,
    /// Offers out: offer → agent.
    pending: HashMap<u64, String>,
    /// Accepts waiting for the ACD's verdict, by offer.
    accepting: HashMap<u64, Reply>,
    /// The answered offer and its agent.
    connected: Option<(u64, String)>,
    /// Still a caller of the ACD (not yet let go by it).
    in_queue: bool,
    last_activity: Instant,
    unwatched_since: Option<Instant>,
}

impl Session {
    pub(super) fn new(hub: ChatHub, live: Arc<Live>, acd: AcdHandle, info: ChatInfo) -> Session {
        Session {
            hub,
            live,
            acd,
            info,
            messages: 1,
            pending: HashMap::new(),
            accepting: HashMap::new(),
            connected: None,
            in_queue: false,
            last_activity: Instant::now(),
            unwatched_since: None,
        }
    }

    fn cfg(&self) -> &crate::config::ContactConfig {
        self.hub.config()
    }

    pub(super) async fn run(mut self, mut ctl: mpsc::UnboundedReceiver<Control>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let skills = BTreeMap::from([(self.cfg().chat_skill.clone(), 1u8)]);
        let req = JoinRequest {
            caller: self.info.chat_id.clone(),
            queue: self.info.queue.clone(),
            priority: 0,
            skills,
            number: self.info.visitor_phone.clone(),
            name: self.info.visitor_name.clone(),
            did: String::new(),
            ivr_path: "web chat".into(),
            customer: self.info.customer.clone(),
            chat: true,
        };
        if let Err(r) = self.acd.join(req, tx).await {
            tracing::info!(chat = %self.info.chat_id, reason = %r.reason, "chat queue refused the chat");
            self.system("No agent is available right now. Please try again later, or leave your number on the callback form.").await;
            self.finish("no-agent").await;
            return;
        }
        self.in_queue = true;
        self.status("waiting", None);
        let mut directives_open = true;
        let mut watch = tokio::time::interval(WATCH_EVERY);
        watch.tick().await;
        let idle = Duration::from_secs(self.cfg().idle_timeout_secs);
        loop {
            let directive = async {
                if directives_open {
                    rx.recv().await
                } else {
                    std::future::pending().await
                }
            };
            let idle_at = self.last_activity + idle;
            let end = tokio::select! {
                d = directive => match d {
                    Some(d) => self.on_directive(d).await,
                    None => {
                        directives_open = false;
                        // Closed before an agent connected: the ACD let the chat go.
                        if self.connected.is_none() {
                            self.in_queue = false;
                            Some("shutdown")
                        } else {
                            None
                        }
                    }
                },
                c = ctl.recv() => match c {
                    Some(c) => self.on_control(c).await,
                    None => Some("shutdown"),
                },
                _ = tokio::time::sleep_until(idle_at) => {
                    self.system("The chat ended after a long silence.").await;
                    Some("idle")
                }
                _ = watch.tick() => {
                    if self.live.watchers.load(Ordering::SeqCst) > 0 {
                        self.unwatched_since = None;
                        None
                    } else if self.unwatched_since.get_or_insert_with(Instant::now).elapsed() >= VISITOR_GONE {
                        Some("visitor-left")
                    } else {
                        None
                    }
                }
            };
            if let Some(by) = end {
                self.finish(by).await;
                return;
            }
        }
    }

    /// Carries out one ACD directive; `Some(reason)` ends the chat.
    async fn on_directive(&mut self, d: CallerDirective) -> Option<&'static str> {
        let id = self.info.chat_id.clone();
        match d {
            CallerDirective::Announce { position, .. } => self.status("waiting", Some(position)),
            CallerDirective::Offer { offer, agent, .. } => {
                tracing::info!(chat = %id, offer, %agent, "chat offered to an agent");
                self.pending.insert(offer, agent.clone());
                self.standing();
                self.hub.inner.events.publish(CtiKind::ChatOffered { agent, chat: self.info.clone() });
                // Nothing rings: the panel shows it at once.
                self.acd.offer_ringing(offer);
            }
            CallerDirective::CancelOffer { offer } | CallerDirective::RejectLate { offer } => {
                if let Some(agent) = self.pending.remove(&offer) {
                    self.standing();
                    self.hub.inner.events.publish(CtiKind::ChatOfferCancelled { agent, chat_id: id });
                }
                if let Some(reply) = self.accepting.remove(&offer) {
                    let _ = reply.send(Err(ChatError::Invalid("the chat is no longer offered to you".into())));
                }
            }
            CallerDirective::Connect { offer, agent } => {
                self.pending.remove(&offer);
                self.in_queue = false;
                self.connected = Some((offer, agent.clone()));
                self.standing();
                tracing::info!(chat = %id, %agent, "chat answered");
                let now = crate::store::unix_ms();
                if let Err(e) = self.hub.inner.store.chat_answered(&id, &agent, now).await {
                    tracing::warn!(chat = %id, "chat answer not saved: {e}");
                }
                self.hub.inner.events.publish(CtiKind::ChatAnswered { agent: agent.clone(), chat_id: id });
                if let Some(reply) = self.accepting.remove(&offer) {
                    let _ = reply.send(Ok(()));
                }
                let name = match self.hub.inner.store.agent(&agent).await {
                    Ok(Some(a)) if !a.name.is_empty() => a.name,
                    _ => agent,
                };
                self.system(&format!("{name} joined the chat.")).await;
                self.status("connected", None);
            }
            CallerDirective::Leave { reason, .. } => {
                tracing::info!(chat = %id, %reason, "chat left the queue without an agent");
                self.in_queue = false;
                self.system("No agent is available right now. Please try again later, or leave your number on the callback form.").await;
                return Some("no-agent");
            }
            CallerDirective::Gone => {
                self.in_queue = false;
                return Some("shutdown");
            }
            CallerDirective::DialCustomer { .. } => {}
        }
        None
    }

    /// Carries out what the web asked; `Some(reason)` ends the chat.
    async fn on_control(&mut self, c: Control) -> Option<&'static str> {
        match c {
            Control::Accept { agent, reply } => {
                if self.connected.as_ref().is_some_and(|(_, a)| *a == agent) {
                    let _ = reply.send(Ok(()));
                    return None;
                }
                match self.pending.iter().find(|(_, a)| **a == agent).map(|(o, _)| *o) {
                    Some(offer) => {
                        self.acd.offer_answered(offer);
                        self.accepting.insert(offer, reply);
                    }
                    None => {
                        let _ = reply.send(Err(ChatError::Forbidden("this chat is not offered to you".into())));
                    }
                }
                None
            }
            Control::Decline { agent, reply } => {
                match self.pending.iter().find(|(_, a)| **a == agent).map(|(o, _)| *o) {
                    Some(offer) => {
                        self.pending.remove(&offer);
                        self.standing();
                        self.acd.offer_failed(offer, OfferFailure::Rejected);
                        self.hub.inner.events.publish(CtiKind::ChatOfferCancelled { agent, chat_id: self.info.chat_id.clone() });
                        let _ = reply.send(Ok(()));
                    }
                    None => {
                        let _ = reply.send(Err(ChatError::Forbidden("this chat is not offered to you".into())));
                    }
                }
                None
            }
            Control::Say { agent, text, reply } => {
                if let Some(a) = &agent {
                    if self.connected.as_ref().map(|(_, c)| c) != Some(a) {
                        let _ = reply.send(Err(ChatError::Forbidden("you are not talking on this chat".into())));
                        return None;
                    }
                }
                if self.messages >= self.cfg().max_messages {
                    let _ = reply.send(Err(ChatError::Unavailable("this chat reached its message limit".into())));
                    self.system("This chat reached its message limit and has ended.").await;
                    return Some("limit");
                }
                let from = if agent.is_some() { "agent" } else { "visitor" };
                match self.store_message(from, agent.as_deref(), &text).await {
                    Ok(()) => {
                        self.messages += 1;
                        self.last_activity = Instant::now();
                        let _ = reply.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
                None
            }
            Control::End { agent, reply } => {
                if let Some(a) = &agent {
                    if self.connected.as_ref().map(|(_, c)| c) != Some(a) {
                        let _ = reply.send(Err(ChatError::Forbidden("you are not talking on this chat".into())));
                        return None;
                    }
                }
                let _ = reply.send(Ok(()));
                let by = if agent.is_some() { "agent" } else { "visitor" };
                self.system(if by == "agent" { "The agent ended the chat." } else { "The visitor ended the chat." }).await;
                Some(by)
            }
        }
    }

    /// Stores a line and sends it to the visitor's page and, while
    /// connected, to the agent's panel.
    async fn store_message(&mut self, from: &str, agent: Option<&str>, text: &str) -> Result<(), ChatError> {
        let id = self.info.chat_id.clone();
        let now = crate::store::unix_ms();
        let row = self.hub.inner.store.add_chat_message(&id, now, from, agent, text).await.map_err(|e| {
            tracing::warn!(chat = %id, "chat message not saved: {e}");
            ChatError::Unavailable("the message could not be saved".into())
        })?;
        let _ = self.live.updates.send(Update::Message { id: row, from: from.into(), text: text.into(), at_ms: now });
        if let Some((_, a)) = &self.connected {
            self.hub.inner.events.publish(CtiKind::ChatMessage { agent: a.clone(), chat_id: id, id: row, from: from.into(), text: text.into() });
        }
        Ok(())
    }

    async fn system(&mut self, text: &str) {
        let _ = self.store_message("system", None, text).await;
    }

    fn status(&self, state: &str, position: Option<usize>) {
        if let Ok(mut s) = self.live.standing.lock() {
            s.state = state.to_string();
        }
        let _ = self.live.updates.send(super::Update::Status { state: state.into(), position });
    }

    /// Copies offers and the connected agent where the web can read them.
    fn standing(&self) {
        if let Ok(mut s) = self.live.standing.lock() {
            s.offered = self.pending.values().cloned().collect();
            s.agent = self.connected.as_ref().map(|(_, a)| a.clone());
        }
    }

    /// Ends the chat: no more requests reach it, the ACD hears the end
    /// (wrap-up, or an abandon while waiting), the row is closed, and only
    /// then are the screens told, so what they read next is final.
    async fn finish(&mut self, by: &'static str) {
        let id = self.info.chat_id.clone();
        self.hub.remove(&id);
        let connected = self.connected.take();
        match &connected {
            Some((offer, _)) => self.acd.call_ended(*offer),
            None if self.in_queue => self.acd.abandon(&id),
            None => {}
        }
        if let Err(e) = self.hub.inner.store.end_chat(&id, crate::store::unix_ms(), by).await {
            tracing::warn!(chat = %id, "chat end not saved: {e}");
        }
        if let Some((_, agent)) = connected {
            self.hub.inner.events.publish(CtiKind::ChatEnded { agent, chat_id: id.clone(), by: by.into() });
        }
        for (_, agent) in self.pending.drain() {
            self.hub.inner.events.publish(CtiKind::ChatOfferCancelled { agent, chat_id: id.clone() });
        }
        for (_, reply) in self.accepting.drain() {
            let _ = reply.send(Err(ChatError::NotFound));
        }
        self.standing();
        self.status("ended", None);
        tracing::info!(chat = %id, %by, messages = self.messages, "web chat ended");
    }
}

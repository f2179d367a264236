//! Computer-telephony integration: the events the call layer publishes for
//! screens (agent panels, wallboards, CRMs) — call offered/ringing/answered/
//! ended with the caller's customer record, queue joins and leaves, agent
//! state, and web chats (offered, withdrawn, answered, each message, ended). A broadcast bus: publishers never wait, a slow subscriber loses
//! the oldest events (and is told so). Owns no sockets; the web module
//! serves the bus as a WebSocket.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

/// Events buffered per subscriber before the oldest are dropped.
const BACKLOG: usize = 1024;

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CtiEvent {
    /// Unix milliseconds.
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: CtiKind,
}

/// What a call looks like to a screen.
#[derive(Debug, Clone, Serialize, PartialEq, Default, utoipa::ToSchema)]
pub struct CallInfo {
    /// The caller's SIP Call-ID (the key the REST API uses).
    pub call_id: String,
    pub caller: String,
    pub caller_name: String,
    pub did: String,
    /// Dialplan path so far (`main > menu > choice=1 > sales`).
    pub ivr_path: String,
    pub queue: String,
    /// The caller's customer record (`Customer::vars()`), when known.
    pub customer: Option<BTreeMap<String, String>>,
    /// `chat` for a web chat waiting in the queue; empty (and left out of
    /// the JSON) for a phone call.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
}

/// What a web chat looks like to a screen.
#[derive(Debug, Clone, Serialize, PartialEq, Default, utoipa::ToSchema)]
pub struct ChatInfo {
    /// The chat's id (the key of `/api/v1/chats/{id}/...`).
    pub chat_id: String,
    pub queue: String,
    pub visitor_name: String,
    pub visitor_phone: String,
    pub visitor_email: String,
    /// What the visitor wrote to start the chat.
    pub first_message: String,
    /// The customer record matched by phone or e-mail, when one did.
    pub customer: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CtiKind {
    /// A caller entered a queue.
    QueueJoined { call: CallInfo },
    /// A caller left a queue: answered, abandoned, overflowed, refused.
    QueueLeft { call_id: String, queue: String, outcome: String },
    /// An agent's phone starts ringing for this call (the screen pop).
    CallOffered { agent: String, call: CallInfo },
    /// The agent's phone rings (180 from the phone).
    CallRinging { agent: String, call_id: String },
    /// The agent answered and is connected.
    CallAnswered { agent: String, call_id: String },
    /// The agent's call ended.
    CallEnded { agent: String, call_id: String },
    AgentState { agent: String, state: String, reason: Option<String> },
    /// A web chat is offered to this agent: the panel shows it with Accept.
    ChatOffered { agent: String, chat: ChatInfo },
    /// That offer was withdrawn (ring timeout, declined, visitor left, taken).
    ChatOfferCancelled { agent: String, chat_id: String },
    /// The agent accepted: the chat is live.
    ChatAnswered { agent: String, chat_id: String },
    /// A line in a live chat; `from` is `visitor`, `agent` or `system`;
    /// `id` orders the transcript (`GET /api/v1/chats/{id}` has the same ids).
    ChatMessage { agent: String, chat_id: String, id: i64, from: String, text: String },
    /// The chat ended (`by`: visitor, agent, idle, limit, shutdown); the
    /// agent goes to wrap-up.
    ChatEnded { agent: String, chat_id: String, by: String },
}

/// The bus; clones share it.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<CtiEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus { tx: broadcast::channel(BACKLOG).0 }
    }
}

impl EventBus {
    /// Publishes now; nobody listening is fine.
    pub fn publish(&self, kind: CtiKind) {
        let ev = CtiEvent { at_ms: crate::store::unix_ms(), kind };
        let _ = self.tx.send(Arc::new(ev));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CtiEvent>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_events_as_tagged_json() {
        let bus = EventBus::default();
        let mut rx = bus.subscribe();
        bus.publish(CtiKind::CallOffered {
            agent: "alice".into(),
            call: CallInfo { call_id: "c1".into(), caller: "5551234".into(), customer: Some([("name".to_string(), "Ann".to_string())].into()), ..CallInfo::default() },
        });
        let ev = rx.recv().await.unwrap();
        let json = serde_json::to_value(&*ev).unwrap();
        assert_eq!(json["type"], "call_offered");
        assert_eq!(json["agent"], "alice");
        assert_eq!(json["call"]["customer"]["name"], "Ann");
        assert!(json["at_ms"].as_i64().unwrap() > 0);
    }
}

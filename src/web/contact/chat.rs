//! The visitor's side of a live chat: the start form's handler, the chat
//! page (`/contact/chat/{id}`) and its WebSocket (`.../ws`). The chat's
//! secret token travels in a cookie scoped to that chat's path (HttpOnly,
//! SameSite=Strict), so it is never in a URL, a log line or reach of a
//! script; the socket also refuses other origins. Over the socket the page
//! gets the transcript, each new line and status changes, and sends
//! `{"type":"say","text":…}` or `{"type":"end"}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::{html_response, minutes, not_enabled, public_page, render, take, too_many, Limits, View, MAX_NAME};
use crate::chat::{ChatError, NewVisitor, Update, Visitor};
use crate::web::api::json_error;
use crate::web::{auth, CoreApi};

/// The cookie holding a chat's token.
const CHAT_COOKIE: &str = "sb_chat";
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize, Default)]
pub struct StartForm {
    #[serde(default)]
    chat_name: String,
    #[serde(default)]
    chat_phone: String,
    #[serde(default)]
    chat_email: String,
    #[serde(default)]
    chat_message: String,
    #[serde(default)]
    website: String,
}

/// `POST /contact/chat`: starts a chat and sends the visitor to its page
/// with the token in a cookie for that page only.
pub async fn start<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Extension(limits): Extension<Arc<Limits>>, Form(f): Form<StartForm>) -> Response {
    let Some(hub) = core.contact().filter(|h| h.config().enabled) else { return not_enabled() };
    let mut view = View::default();
    let (name, phone, email, message) = (f.chat_name.trim().to_string(), f.chat_phone.trim().to_string(), f.chat_email.trim().to_string(), f.chat_message.trim().to_string());
    for (k, v) in [("chat_name", &name), ("chat_phone", &phone), ("chat_email", &email), ("chat_message", &message)] {
        view.chat.values.insert(k, v.clone());
    }
    let max = hub.config().max_message_chars;
    if name.is_empty() || name.chars().count() > MAX_NAME {
        view.chat.errors.insert("chat_name", format!("Enter your name (up to {MAX_NAME} characters)."));
    }
    if !phone.is_empty() && (crate::store::normalize_phone(&phone).is_none() || phone.len() > 32) {
        view.chat.errors.insert("chat_phone", "Enter a phone number, or leave it empty.".into());
    }
    let email_ok = email.len() <= 254 && email.split_once('@').is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !email.contains(char::is_whitespace));
    if !email.is_empty() && !email_ok {
        view.chat.errors.insert("chat_email", "Enter an e-mail address, or leave it empty.".into());
    }
    if message.is_empty() || message.chars().count() > max {
        view.chat.errors.insert("chat_message", format!("Write your question (up to {max} characters)."));
    }
    if !view.chat.errors.is_empty() {
        return html_response(StatusCode::UNPROCESSABLE_ENTITY, render(&hub, &view).await);
    }
    if let Err(secs) = take(&limits.chats, &peer) {
        tracing::warn!(ip = %peer.ip(), "contact chats over the limit");
        view.chat.flash = Some((false, format!("Too many chats from your address. Please try again in {} minutes.", minutes(secs))));
        return too_many(secs, render(&hub, &view).await);
    }
    if !f.website.is_empty() {
        tracing::info!(ip = %peer.ip(), "contact chat honeypot filled: ignored");
        return super::super::console::see_other("/contact");
    }
    let visitor = NewVisitor { name, phone, email, message, ip: auth::client_ip(&peer).to_string() };
    match hub.start(visitor).await {
        Ok(s) => {
            let secure = if auth::over_https(&headers) { "; Secure" } else { "" };
            let path = format!("/contact/chat/{}", s.id);
            let cookie = format!("{CHAT_COOKIE}={}; Path={path}; HttpOnly; SameSite=Strict{secure}", s.token);
            let mut r = super::super::console::see_other(&path);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let status = if matches!(e, ChatError::Invalid(_)) { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::SERVICE_UNAVAILABLE };
            view.chat.flash = Some((false, format!("Sorry: {e}.")));
            html_response(status, render(&hub, &view).await)
        }
    }
}

/// The visitor behind the request's chat cookie, if it is that chat's.
fn visitor<C: CoreApi>(core: &C, id: &str, headers: &HeaderMap) -> Option<Visitor> {
    let hub = core.contact().filter(|h| h.config().enabled)?;
    let token = auth::cookie(headers, CHAT_COOKIE)?;
    hub.visitor(id, &token)
}

/// `GET /contact/chat/{id}`: the chat page (its lines so far, rendered
/// here; `contact.js` keeps it live over the socket).
pub async fn page<C: CoreApi>(State(core): State<Arc<C>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(hub) = core.contact().filter(|h| h.config().enabled) else { return not_enabled() };
    let Some(v) = visitor(&*core, &id, &headers) else {
        let body = html! {
            div.card {
                h2 { "This chat has ended" }
                p { "The chat is over (or no agent was free to take it), or this link belongs to another browser. " a href="/contact" { "Start a new chat" } " or ask for a callback." }
            }
        };
        return html_response(StatusCode::NOT_FOUND, public_page("Chat", body));
    };
    let lines = hub.store().chat_messages(v.id()).await.unwrap_or_default();
    let max = hub.config().max_message_chars;
    let body = html! {
        div.card.chat id="chat" data-chat=(v.id()) {
            div.chat-head {
                h2 { "Chat" }
                span.badge.warn id="chat-status" role="status" { (status_text(&v.state(), None)) }
            }
            ol.chat-log id="chat-log" aria-live="polite" {
                @for m in &lines {
                    li class={"msg " (m.sender)} data-id=(m.id) { span.who { (who(&m.sender)) } span.text { (m.body) } }
                }
            }
            form.chat-form id="chat-form" {
                label.grow { "Message" textarea id="chat-text" name="text" rows="2" maxlength=(max) required {} }
                div.inline {
                    button type="submit" id="chat-send" { "Send" }
                    button.secondary type="button" id="chat-end" { "End chat" }
                }
            }
            p.muted id="chat-error" role="alert" {}
        }
    };
    let mut r = html_response(StatusCode::OK, public_page("Chat", body));
    // The page shows a conversation: never from a cache.
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn who(sender: &str) -> &'static str {
    match sender {
        "visitor" => "You",
        "agent" => "Agent",
        _ => "",
    }
}

fn status_text(state: &str, position: Option<usize>) -> String {
    match (state, position) {
        ("waiting", Some(p)) => format!("Waiting for an agent (you are number {p})"),
        ("waiting", None) => "Waiting for an agent".into(),
        ("connected", _) => "Connected".into(),
        _ => "Ended".into(),
    }
}

/// `GET /contact/chat/{id}/ws`: the chat's live socket (cookie-authorised,
/// same origin only).
pub async fn socket<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        if origin.split_once("://").map(|(_, h)| h) != Some(host) {
            return json_error(StatusCode::FORBIDDEN, "cross-origin request refused");
        }
    }
    let Some(hub) = core.contact().filter(|h| h.config().enabled) else { return not_enabled() };
    let Some(v) = visitor(&*core, &id, &headers) else {
        return json_error(StatusCode::NOT_FOUND, "no such chat (it may have ended)");
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    let max_chars = hub.config().max_message_chars;
    // A message is JSON around the text: 4 bytes a character at most, plus room.
    let ws = ws.max_message_size(max_chars * 4 + 256).max_frame_size(max_chars * 4 + 256);
    // Subscribed before the transcript is read: nothing falls in between.
    let rx = v.subscribe();
    ws.on_upgrade(move |socket| async move {
        let lines = hub.store().chat_messages(v.id()).await.unwrap_or_default();
        run_socket(socket, v, rx, lines, max_chars).await;
    })
}

async fn send(socket: &mut WebSocket, value: &impl serde::Serialize) -> bool {
    let Ok(text) = serde_json::to_string(value) else { return true };
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await, Ok(Ok(())))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FromPage {
    Say { text: String },
    End,
}

async fn run_socket(mut socket: WebSocket, v: Visitor, mut rx: tokio::sync::broadcast::Receiver<Update>, lines: Vec<crate::store::ChatMessage>, max_chars: usize) {
    let Some(_watching) = v.watch() else {
        let _ = send(&mut socket, &serde_json::json!({ "type": "error", "error": "this chat is open in too many windows" })).await;
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    for m in lines {
        if !send(&mut socket, &Update::Message { id: m.id, from: m.sender, text: m.body, at_ms: m.at_ms }).await {
            return;
        }
    }
    let state = v.state();
    if !send(&mut socket, &Update::Status { state: state.clone(), position: None }).await || state == "ended" {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            u = rx.recv() => match u {
                Ok(u) => {
                    let ended = matches!(&u, Update::Status { state, .. } if state == "ended");
                    if !send(&mut socket, &u).await || ended {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
                // The page missed lines: it reloads them.
                Err(RecvError::Lagged(_)) => {
                    if !send(&mut socket, &serde_json::json!({ "type": "reload" })).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let outcome = match serde_json::from_str::<FromPage>(t.as_str()) {
                        Ok(FromPage::Say { text }) => v.say(text.trim(), max_chars).await,
                        Ok(FromPage::End) => v.end().await,
                        Err(_) => Err(ChatError::Invalid("unknown message".into())),
                    };
                    if let Err(e) = outcome {
                        if !send(&mut socket, &serde_json::json!({ "type": "error", "error": e.to_string() })).await {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default()))).await.map(|r| r.is_err()).unwrap_or(true) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statuses_read_well() {
        assert_eq!(super::status_text("waiting", Some(2)), "Waiting for an agent (you are number 2)");
        assert_eq!(super::status_text("connected", None), "Connected");
        assert_eq!(super::status_text("ended", None), "Ended");
    }
}

//! The public contact page, `/contact` (no login): a self-service account
//! lookup showing only the customer fields `[contact] lookup_fields`
//! allows, a callback request form that queues a callback in the ACD like
//! the IVR's callback key, and the start of a live chat (`chat.rs`: the
//! visitor's chat page and its WebSocket).
//!
//! Public input is bounded: each form is rate limited per client address
//! (the sliding window of `auth::limiter`, with the `[contact]` limits),
//! an unknown account gets an answer of the same shape as a known one, a
//! hidden honeypot field turns bots away quietly, and state-changing posts
//! from another origin are refused by `auth::csrf_guard` (these forms need
//! no session, so they carry no CSRF token). Owns these pages and their
//! validation; never reads the console session, never touches SIP or
//! media; talks to the ACD and the chats through `CoreApi::contact`.

mod chat;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::auth::{self, LoginLimiter};
use super::{assets, CoreApi};
use crate::chat::ChatHub;
use crate::config::ContactConfig;

/// Longest visitor name and callback message accepted.
const MAX_NAME: usize = 80;
const MAX_NOTE: usize = 1000;

/// Per-address rate limits of the three forms.
pub struct Limits {
    lookups: Mutex<LoginLimiter>,
    callbacks: Mutex<LoginLimiter>,
    chats: Mutex<LoginLimiter>,
}

impl Limits {
    pub fn new(cfg: Option<&ContactConfig>) -> Limits {
        let c = cfg.cloned().unwrap_or_default();
        let l = |n| Mutex::new(LoginLimiter::with_limits(n, c.window_secs));
        Limits { lookups: l(c.lookups_per_window), callbacks: l(c.callbacks_per_window), chats: l(c.chats_per_window) }
    }
}

/// Counts one request of `peer` against `limiter`; `Err(seconds)` when over.
fn take(limiter: &Mutex<LoginLimiter>, peer: &SocketAddr) -> Result<(), i64> {
    match limiter.lock() {
        Ok(mut l) => l.take(auth::client_ip(peer), crate::store::unix_time()),
        Err(_) => Ok(()),
    }
}

pub fn routes<C: CoreApi>() -> Router<Arc<C>> {
    Router::new()
        .route("/contact", get(page::<C>))
        .route("/contact/lookup", post(lookup::<C>))
        .route("/contact/callback", post(callback::<C>))
        .route("/contact/chat", post(chat::start::<C>))
        .route("/contact/chat/{id}", get(chat::page::<C>))
        .route("/contact/chat/{id}/ws", get(chat::socket::<C>))
}

/// The public page shell: no navigation, no session, the console's look.
fn public_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("contact.js")) defer {}
            }
            body {
                div.public {
                    header.public-head { a.brand href="/contact" { "Contact us" } }
                    (body)
                }
            }
        }
    }
}

fn html_response(status: StatusCode, m: Markup) -> Response {
    (status, Html(m.into_string())).into_response()
}

fn too_many(secs: i64, m: Markup) -> Response {
    let mut r = html_response(StatusCode::TOO_MANY_REQUESTS, m);
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Whole minutes to wait, rounded up.
fn minutes(secs: i64) -> i64 {
    (secs.max(1) + 59) / 60
}

fn not_enabled() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// One input of a public form.
struct Input {
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    required: bool,
    max: usize,
    autocomplete: &'static str,
}

impl Input {
    /// Labelled, with its inline error (as the console's `layout::field`,
    /// plus the attributes public forms want), filled from `form`.
    fn render(&self, form: &Filled) -> Markup {
        let (name, error) = (self.name, form.e(self.name));
        html! {
            label {
                (self.label)
                input type=(self.kind) name=(name) id=(name) value=(form.v(name)) required[self.required] maxlength=(self.max) autocomplete=(self.autocomplete) aria-invalid=[error.map(|_| "true")];
                @if let Some(e) = error { span.field-error id={(name) "-error"} { (e) } }
            }
        }
    }
}

const fn field(label: &'static str, name: &'static str, kind: &'static str, required: bool, max: usize, autocomplete: &'static str) -> Input {
    Input { label, name, kind, required, max, autocomplete }
}

/// The hidden field bots fill in and people never see.
fn honeypot() -> Markup {
    html! { label.hp aria-hidden="true" { "Leave this empty" input type="text" name="website" tabindex="-1" autocomplete="off"; } }
}

/// Field values and errors of one form, for a re-render.
#[derive(Default)]
struct Filled {
    values: std::collections::HashMap<&'static str, String>,
    errors: std::collections::HashMap<&'static str, String>,
    flash: Option<(bool, String)>,
}

impl Filled {
    fn v(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }
    fn e(&self, k: &str) -> Option<&str> {
        self.errors.get(k).map(String::as_str)
    }
}

/// A lookup's answer: the account asked for and, when found, the allowed
/// fields (name, value) in the configured order.
type LookupAnswer = (String, Option<Vec<(String, String)>>);

/// What one rendering of the page shows.
#[derive(Default)]
struct View {
    lookup: Filled,
    result: Option<LookupAnswer>,
    callback: Filled,
    chat: Filled,
}

/// Queues the callback form offers: the configured list, or every queue with a callback key.
async fn callback_queues(hub: &ChatHub) -> Vec<String> {
    let cfg = hub.config();
    if !cfg.callback_queues.is_empty() {
        return cfg.callback_queues.clone();
    }
    hub.store().list_queues().await.unwrap_or_default().into_iter().filter(|q| q.callback_key.is_some()).map(|q| q.name).collect()
}

fn flash(f: &Filled) -> Markup {
    html! {
        @if let Some((ok, text)) = &f.flash {
            div.flash.error[!ok] role="status" { (text) }
        }
    }
}

async fn render(hub: &ChatHub, view: &View) -> Markup {
    let queues = callback_queues(hub).await;
    let max_msg = hub.config().max_message_chars;
    let body = html! {
        p.muted { "Look up your account, ask us to call you back, or chat with an agent now." }
        div.grid.contact {
            div.card id="lookup-card" {
                h2 { "Your account" }
                (flash(&view.lookup))
                form.stack method="post" action="/contact/lookup" id="lookup-form" {
                    (field("Account number", "account", "text", true, 32, "off").render(&view.lookup))
                    (honeypot())
                    button type="submit" id="lookup" { "Look up" }
                }
                @if let Some((account, found)) = &view.result {
                    div.result id="lookup-result" {
                        h3 { "Account " (account) }
                        @match found {
                            Some(fields) => {
                                table id="lookup-fields" { tbody { @for (k, v) in fields { tr { th { (k) } td data-field=(k) { (v) } } } } }
                            }
                            None => { p.muted { "No account matches that number. Check it and try again, or contact us below." } }
                        }
                    }
                }
            }
            div.card id="callback-card" {
                h2 { "Call me back" }
                (flash(&view.callback))
                @if queues.is_empty() {
                    p.empty { "Callbacks are not offered at the moment." }
                } @else {
                    form.stack method="post" action="/contact/callback" id="callback-form" {
                        (field("Your name", "cb_name", "text", true, MAX_NAME, "name").render(&view.callback))
                        (field("Phone number", "cb_phone", "tel", true, 32, "tel").render(&view.callback))
                        label {
                            "Topic"
                            select name="cb_queue" id="cb_queue" aria-invalid=[view.callback.e("cb_queue").map(|_| "true")] {
                                @for q in &queues { option value=(q) selected[view.callback.v("cb_queue") == q.as_str()] { (q) } }
                            }
                            @if let Some(e) = view.callback.e("cb_queue") { span.field-error id="cb_queue-error" { (e) } }
                        }
                        label {
                            "Message (optional)"
                            textarea name="cb_note" id="cb_note" rows="3" maxlength=(MAX_NOTE) aria-invalid=[view.callback.e("cb_note").map(|_| "true")] { (view.callback.v("cb_note")) }
                            @if let Some(e) = view.callback.e("cb_note") { span.field-error id="cb_note-error" { (e) } }
                        }
                        (honeypot())
                        button type="submit" id="request-callback" { "Request a callback" }
                    }
                }
            }
            div.card id="chat-start-card" {
                h2 { "Chat with us" }
                (flash(&view.chat))
                form.stack method="post" action="/contact/chat" id="chat-start-form" {
                    (field("Your name", "chat_name", "text", true, MAX_NAME, "name").render(&view.chat))
                    (field("Phone (optional)", "chat_phone", "tel", false, 32, "tel").render(&view.chat))
                    (field("E-mail (optional)", "chat_email", "email", false, 254, "email").render(&view.chat))
                    label {
                        "How can we help?"
                        textarea name="chat_message" id="chat_message" rows="3" required maxlength=(max_msg) aria-invalid=[view.chat.e("chat_message").map(|_| "true")] { (view.chat.v("chat_message")) }
                        @if let Some(e) = view.chat.e("chat_message") { span.field-error id="chat_message-error" { (e) } }
                    }
                    (honeypot())
                    button type="submit" id="start-chat" { "Start chat" }
                }
            }
        }
    };
    public_page("Contact us", body)
}

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    /// A callback just booked (its number), after the redirect.
    #[serde(default)]
    booked: Option<i64>,
}

/// `GET /contact`.
pub async fn page<C: CoreApi>(State(core): State<Arc<C>>, Query(q): Query<PageQuery>) -> Response {
    let Some(hub) = core.contact().filter(|h| h.config().enabled) else { return not_enabled() };
    let mut view = View::default();
    if let Some(id) = q.booked {
        // A fixed text with a number: nothing from the query is echoed.
        view.callback.flash = Some((true, format!("Thank you: your callback request #{id} is booked. We will call you as soon as an agent is free.")));
    }
    html_response(StatusCode::OK, render(&hub, &view).await)
}

#[derive(Debug, Deserialize, Default)]
pub struct LookupForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    website: String,
}

/// `POST /contact/lookup`: the allowed fields of the account, or the same
/// answer without them. Every lookup counts against the address's limit.
pub async fn lookup<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Extension(limits): Extension<Arc<Limits>>, Form(f): Form<LookupForm>) -> Response {
    let Some(hub) = core.contact().filter(|h| h.config().enabled) else { return not_enabled() };
    let mut view = View::default();
    let account = f.account.trim().to_string();
    view.lookup.values.insert("account", account.clone());
    if account.is_empty() {
        view.lookup.errors.insert("account", "Enter your account number.".into());
        return html_response(StatusCode::UNPROCESSABLE_ENTITY, render(&hub, &view).await);
    }
    if let Err(secs) = take(&limits.lookups, &peer) {
        tracing::warn!(ip = %peer.ip(), "contact lookups over the limit");
        view.lookup.flash = Some((false, format!("Too many lookups from your address. Please try again in {} minutes.", minutes(secs))));
        return too_many(secs, render(&hub, &view).await);
    }
    // Bots get the not-found answer and nothing is looked up.
    let found = if !f.website.is_empty() || account.len() > 32 {
        None
    } else {
        match hub.store().customer_by_account(&account).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("contact lookup failed: {e}");
                None
            }
        }
    };
    let fields = found.map(|c| {
        let vars = c.vars();
        hub.config().lookup_fields.iter().map(|k| (k.clone(), vars.get(k).filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| "–".into()))).collect()
    });
    view.result = Some((account, fields));
    html_response(StatusCode::OK, render(&hub, &view).await)
}

#[derive(Debug, Deserialize, Default)]
pub struct CallbackForm {
    #[serde(default)]
    cb_name: String,
    #[serde(default)]
    cb_phone: String,
    #[serde(default)]
    cb_queue: String,
    #[serde(default)]
    cb_note: String,
    #[serde(default)]
    website: String,
}

/// `POST /contact/callback`: validated, rate limited, then queued in the
/// ACD; post-redirect-get to the page with the request's number.
pub async fn callback<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Extension(limits): Extension<Arc<Limits>>, Form(f): Form<CallbackForm>) -> Response {
    let Some(hub) = core.contact().filter(|h| h.config().enabled) else { return not_enabled() };
    let mut view = View::default();
    let (name, phone, queue, note) = (f.cb_name.trim().to_string(), f.cb_phone.trim().to_string(), f.cb_queue.trim().to_string(), f.cb_note.trim().to_string());
    for (k, v) in [("cb_name", &name), ("cb_phone", &phone), ("cb_queue", &queue), ("cb_note", &note)] {
        view.callback.values.insert(k, v.clone());
    }
    if name.is_empty() || name.chars().count() > MAX_NAME {
        view.callback.errors.insert("cb_name", format!("Enter your name (up to {MAX_NAME} characters)."));
    }
    if crate::store::normalize_phone(&phone).is_none() || phone.len() > 32 || !phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
        view.callback.errors.insert("cb_phone", "Enter a phone number: digits, optionally with +, spaces, dashes or brackets.".into());
    }
    if !callback_queues(&hub).await.contains(&queue) {
        view.callback.errors.insert("cb_queue", "Choose one of the topics offered.".into());
    }
    if note.chars().count() > MAX_NOTE {
        view.callback.errors.insert("cb_note", format!("The message is limited to {MAX_NOTE} characters."));
    }
    if !view.callback.errors.is_empty() {
        return html_response(StatusCode::UNPROCESSABLE_ENTITY, render(&hub, &view).await);
    }
    if let Err(secs) = take(&limits.callbacks, &peer) {
        tracing::warn!(ip = %peer.ip(), "contact callback requests over the limit");
        view.callback.flash = Some((false, format!("Too many requests from your address. Please try again in {} minutes.", minutes(secs))));
        return too_many(secs, render(&hub, &view).await);
    }
    if !f.website.is_empty() {
        tracing::info!(ip = %peer.ip(), "contact callback honeypot filled: ignored");
        return super::console::see_other("/contact?booked=0");
    }
    match hub.request_callback(&queue, &phone, &name, &note).await {
        Ok(id) => super::console::see_other(&format!("/contact?booked={id}")),
        Err(e) => {
            view.callback.flash = Some((false, format!("Sorry, {e}. Please try again later.")));
            html_response(StatusCode::SERVICE_UNAVAILABLE, render(&hub, &view).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_inputs_are_escaped() {
        let mut f = Filled::default();
        f.values.insert("n", "<script>x</script>".into());
        f.errors.insert("n", "<b>bad</b>".into());
        let m = field("Name", "n", "text", true, 10, "name").render(&f).into_string();
        assert!(!m.contains("<script>") && !m.contains("<b>"), "{m}");
        assert!(m.contains("aria-invalid=\"true\"") && m.contains("maxlength=\"10\""), "{m}");
        assert!(honeypot().into_string().contains("name=\"website\""));
    }
}

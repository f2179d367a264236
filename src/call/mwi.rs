//! Message-waiting indication (RFC 3842 over RFC 6665 events): a phone
//! SUBSCRIBEs to `message-summary` for its own mailbox (digest
//! authenticated as that extension); it gets a NOTIFY with the counts at
//! once and whenever the mailbox changes. Phones that never subscribe get
//! unsolicited NOTIFYs at their registered contacts, which most desk
//! phones honour. Owns the subscriptions; the counts come from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::auth::{authenticate, AuthOutcome};
use super::{build, Ctx};
use crate::sip::dialog::Dialog;
use crate::sip::message::{HeaderName, Headers, Method, Request};
use crate::sip::transaction::{new_tag, Peer, TransactionKey};

const EVENT: &str = "message-summary";
const BODY_TYPE: &str = "application/simple-message-summary";
const DEFAULT_EXPIRES: u64 = 3600;
const MIN_EXPIRES: u64 = 60;
const MAX_EXPIRES: u64 = 86_400;

struct Subscription {
    mailbox: String,
    dialog: Dialog,
    peer: Peer,
    expires: Instant,
}

/// Live subscriptions by Call-ID.
#[derive(Default)]
pub struct Subscriptions(Mutex<HashMap<String, Subscription>>);

/// The RFC 3842 §5.2 body.
pub fn summary_body(account: &str, new: i64, old: i64) -> String {
    format!(
        "Messages-Waiting: {}\r\nMessage-Account: {account}\r\nVoice-Message: {new}/{old} (0/0)\r\n",
        if new > 0 { "yes" } else { "no" }
    )
}

fn expires_of(req: &Request) -> u64 {
    req.headers
        .get(&HeaderName::Expires)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_EXPIRES)
        .min(MAX_EXPIRES)
}

/// A SUBSCRIBE, new or refreshing.
pub async fn on_subscribe(ctx: &Arc<Ctx>, key: TransactionKey, req: Request, source: Peer) {
    let reply = |status: u16, reason: &str, extra: &[(HeaderName, String)]| {
        let mut r = build::response(ctx, &req, status, reason);
        for (h, v) in extra {
            r.headers.push(h.clone(), v.clone());
        }
        build::ensure_to_tag(&mut r);
        ctx.endpoint.respond(&key, r);
    };
    let event = req.headers.get(&HeaderName::Extension("Event".into())).map(|e| e.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let Some(event) = event else {
        // RFC 6665 §8.2.1: Event is mandatory in SUBSCRIBE.
        reply(400, "Bad Request - Missing Event header", &[]);
        return;
    };
    if event != EVENT {
        reply(489, "Bad Event", &[(HeaderName::Extension("Allow-Events".into()), EVENT.into())]);
        return;
    }
    let user = req.headers.from_addr().ok().and_then(|f| f.uri.user().map(str::to_string)).unwrap_or_default();
    let who = match authenticate(ctx, &req, &source, &user, false).await {
        AuthOutcome::Ok(u) => u,
        AuthOutcome::Reject(resp) => {
            ctx.endpoint.respond(&key, resp);
            return;
        }
    };
    // A refresh is addressed to our Contact: its mailbox is the subscription's.
    let call_id_now = req.call_id().unwrap_or_default().to_string();
    let has_tag = req.headers.to_addr().ok().and_then(|t| t.tag().map(str::to_string)).is_some();
    let stored = if has_tag {
        ctx.mwi.0.lock().unwrap_or_else(|p| p.into_inner()).get(&call_id_now).map(|s| s.mailbox.clone())
    } else {
        None
    };
    let mailbox = stored.unwrap_or_else(|| req.uri.user().unwrap_or_default().to_string());
    if mailbox != who {
        tracing::info!(who, mailbox, "message-summary subscription for another mailbox refused");
        reply(403, "Forbidden - Not your mailbox", &[]);
        return;
    }
    let mut expires = expires_of(&req);
    if expires > 0 && expires < MIN_EXPIRES {
        reply(423, "Interval Too Brief", &[(HeaderName::MinExpires, MIN_EXPIRES.to_string())]);
        return;
    }
    let call_id = req.call_id().unwrap_or_default().to_string();
    let in_dialog = req.headers.to_addr().ok().and_then(|t| t.tag().map(str::to_string));
    let (dialog, local_tag) = {
        let mut subs = ctx.mwi.0.lock().unwrap_or_else(|p| p.into_inner());
        match (&in_dialog, subs.get_mut(&call_id)) {
            (Some(_), Some(s)) => {
                s.expires = Instant::now() + Duration::from_secs(expires);
                (s.dialog.clone(), s.dialog.local_tag.clone())
            }
            (Some(_), None) => {
                drop(subs);
                reply(481, "Subscription Does Not Exist", &[]);
                return;
            }
            (None, _) => {
                let tag = new_tag();
                let Ok(d) = Dialog::uas(&req, &tag) else {
                    drop(subs);
                    reply(400, "Bad Request - Unusable SUBSCRIBE", &[]);
                    return;
                };
                subs.insert(
                    call_id.clone(),
                    Subscription { mailbox: mailbox.clone(), dialog: d.clone(), peer: source.clone(), expires: Instant::now() + Duration::from_secs(expires) },
                );
                (d, tag)
            }
        }
    };
    if expires == 0 {
        expires = 0;
    }
    let mut ok = build::response(ctx, &req, 200, "OK");
    build::tag_to(&mut ok, &local_tag);
    ok.headers.push(HeaderName::Expires, expires.to_string());
    ok.headers.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, &source)));
    ctx.endpoint.respond(&key, ok);
    tracing::info!(mailbox, expires, "message-summary subscription");
    let _ = dialog;
    notify_subscription(ctx, &call_id, expires == 0).await;
    if expires == 0 {
        ctx.mwi.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&call_id);
    }
}

async fn counts(ctx: &Ctx, mailbox: &str) -> (i64, i64) {
    ctx.store.message_counts(mailbox).await.unwrap_or((0, 0))
}

fn account(ctx: &Ctx, mailbox: &str) -> String {
    format!("sip:{mailbox}@{}", ctx.config.sip.realm)
}

/// Sends the NOTIFY of one subscription (final when `terminated`).
async fn notify_subscription(ctx: &Ctx, call_id: &str, terminated: bool) {
    let (mailbox, remaining) = {
        let subs = ctx.mwi.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = subs.get(call_id) else { return };
        (s.mailbox.clone(), s.expires.saturating_duration_since(Instant::now()).as_secs())
    };
    let (new, old) = counts(ctx, &mailbox).await;
    let req = {
        let mut subs = ctx.mwi.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = subs.get_mut(call_id) else { return };
        let mut n = s.dialog.request(Method::Notify, &build::via(ctx, &s.peer), &build::contact(ctx, &s.peer), None);
        n.headers.push(HeaderName::Extension("Event".into()), EVENT.to_string());
        let state = if terminated || remaining == 0 { "terminated;reason=timeout".to_string() } else { format!("active;expires={remaining}") };
        n.headers.push(HeaderName::Extension("Subscription-State".into()), state);
        n.headers.push(HeaderName::ContentType, BODY_TYPE.to_string());
        n.body = summary_body(&account(ctx, &mailbox), new, old).into_bytes();
        (n, s.peer.clone())
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let _ = ctx.endpoint.send_request(req.0, req.1, tx).await;
}

/// The mailbox's counts changed: NOTIFY its subscribers, or its phones.
pub async fn mailbox_changed(ctx: &Ctx, mailbox: &str) {
    let ids: Vec<String> = {
        let mut subs = ctx.mwi.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        subs.retain(|_, s| s.expires > now);
        subs.iter().filter(|(_, s)| s.mailbox == mailbox).map(|(k, _)| k.clone()).collect()
    };
    if !ids.is_empty() {
        for id in ids {
            notify_subscription(ctx, &id, false).await;
        }
        return;
    }
    // Unsolicited NOTIFY (no subscription) to every registered contact.
    let (new, old) = counts(ctx, mailbox).await;
    let Ok(bindings) = ctx.store.bindings(mailbox, crate::store::unix_time()).await else { return };
    for b in bindings {
        let (Ok(uri), Ok(addr)) = (crate::sip::message::parse_uri(&b.contact), b.source.parse()) else { continue };
        let peer = Peer::registered(&b.transport, addr);
        let host = build::host_for(ctx, &peer);
        let mut h = Headers::default();
        h.push(HeaderName::Via, build::via(ctx, &peer));
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, format!("<sip:{mailbox}@{host}>;tag={}", new_tag()));
        h.push(HeaderName::To, format!("<sip:{mailbox}@{host}>"));
        h.push(HeaderName::CallId, format!("{}-mwi", new_tag()));
        h.push(HeaderName::CSeq, "1 NOTIFY");
        h.push(HeaderName::Contact, format!("<{}>", build::contact(ctx, &peer)));
        h.push(HeaderName::Extension("Event".into()), EVENT);
        h.push(HeaderName::Extension("Subscription-State".into()), "active");
        h.push(HeaderName::ContentType, BODY_TYPE);
        let req = Request { method: Method::Notify, uri, headers: h, body: summary_body(&account(ctx, mailbox), new, old).into_bytes() };
        let (tx, _rx) = mpsc::unbounded_channel();
        let _ = ctx.endpoint.send_request(req, peer, tx).await;
    }
    tracing::info!(mailbox, new, old, "message waiting indication sent");
}

#[cfg(test)]
mod tests {
    #[test]
    fn body_follows_rfc3842() {
        assert_eq!(
            super::summary_body("sip:1001@sb", 2, 8),
            "Messages-Waiting: yes\r\nMessage-Account: sip:1001@sb\r\nVoice-Message: 2/8 (0/0)\r\n"
        );
        assert!(super::summary_body("sip:1001@sb", 0, 3).starts_with("Messages-Waiting: no\r\n"));
    }
}

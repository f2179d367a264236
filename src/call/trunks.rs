//! Trunk supervision: one task per configured trunk that keeps the carrier
//! registration alive (REGISTER with digest, refresh at half the granted
//! lifetime, exponential backoff on failure) and probes the carrier with
//! OPTIONS. Results go to the store, where `trunk list` shows them. The
//! store is re-read every few seconds: a new trunk gets a task, a removed
//! one loses it, and a trunk whose line changed (host, transport,
//! credentials, registration; not codecs or the default flag) gets a new
//! task after the old one removed its registration (REGISTER with
//! `Expires: 0`) wherever the new line no longer refreshes it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, Instant};

use super::{build, Ctx};
use crate::sip::auth::{select_challenge, Challenge};
use crate::sip::endpoint::SipEvent;
use crate::sip::message::{parse_uri, Contact, HeaderName, Headers, Method, NameAddr, Request, Response, SipUri};
use crate::sip::resolve_host_port;
use crate::sip::transaction::{new_tag, Peer};
use crate::store::{unix_time, Trunk, TrunkStatus};

/// How often the set of trunks is re-read from the store.
const RESCAN: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longer than Timer F (32 s): the transaction layer reports the timeout first.
/// A carrier's Min-Expires above a day is treated as a misconfiguration.
const MAX_REGISTER_EXPIRES: u32 = 86_400;
const REQUEST_WAIT: Duration = Duration::from_secs(40);

/// How long a stopped trunk may take to remove its registration.
const UNREGISTER_WAIT: Duration = Duration::from_secs(10);

/// A running trunk task: the row it works from and how to stop it.
struct Running {
    trunk: Trunk,
    /// `true`: remove the registration before stopping.
    stop: oneshot::Sender<bool>,
}

/// Starts and stops per-trunk tasks as trunks are added, changed and removed.
pub async fn supervise(ctx: Arc<Ctx>) {
    let mut tasks: HashMap<String, Running> = HashMap::new();
    loop {
        if let Ok(trunks) = ctx.store.list_trunks().await {
            let stale: Vec<String> = tasks
                .iter()
                .filter(|(name, r)| !trunks.iter().any(|t| &t.name == *name && t.same_line(&r.trunk)))
                .map(|(name, _)| name.clone())
                .collect();
            for name in stale {
                let Some(r) = tasks.remove(&name) else { continue };
                let now = trunks.iter().find(|t| t.name == name);
                let unregister = needs_unregister(&r.trunk, now);
                match now {
                    Some(_) => tracing::info!(trunk = %name, unregister, "trunk changed: supervision restarts"),
                    None => tracing::info!(trunk = %name, unregister, "trunk supervision stopped"),
                }
                // A task that already ended (unresolvable host) has no receiver.
                let _ = r.stop.send(unregister);
            }
            for t in trunks {
                if !tasks.contains_key(&t.name) {
                    let (stop, stopped) = oneshot::channel();
                    // Detached: a stopped task ends by itself (within UNREGISTER_WAIT).
                    drop(tokio::spawn(run_trunk(ctx.clone(), t.clone(), stopped)));
                    tasks.insert(t.name.clone(), Running { trunk: t, stop });
                }
            }
        }
        tokio::time::sleep(RESCAN).await;
    }
}

/// Whether the registration of `old` must be removed when its task stops
/// because the trunk became `now` (`None`: deleted). Not when the new line
/// registers the same user at the same place: its REGISTER replaces the
/// binding (RFC 3261 §10.3), and removing it first would only open a gap.
fn needs_unregister(old: &Trunk, now: Option<&Trunk>) -> bool {
    old.register && now.is_none_or(|t| !t.register || (&t.host, &t.transport, &t.username) != (&old.host, &old.transport, &old.username))
}

/// Health and registration state of one trunk, shared by its two loops.
#[derive(Default)]
struct Shared {
    options_ok: Option<bool>,
    registered: Option<bool>,
    detail: String,
}

/// The OPTIONS probe and the registration run as two independent loops so
/// that neither waits for the other: an OPTIONS the carrier ignores takes
/// Timer F (32 s) to fail, longer than a refresh may be late (a carrier
/// granting 60 s expects the refresh within 30 s), and a slow registration
/// round must not stall the health probe either.
struct TrunkTask {
    ctx: Arc<Ctx>,
    trunk: Trunk,
    shared: Mutex<Shared>,
}

/// One request stream toward the carrier: its own event channel and CSeq
/// (and, for the registration, its Call-ID and From tag).
struct Link {
    ctx: Arc<Ctx>,
    trunk: Trunk,
    dest: Peer,
    tx: mpsc::UnboundedSender<SipEvent>,
    rx: mpsc::UnboundedReceiver<SipEvent>,
    cseq: u32,
    call_id: String,
    tag: String,
    /// Registration lifetime we ask for; raised by a 423's Min-Expires.
    expires: u32,
}

/// Runs one trunk until `stop` fires (or its sender is gone); then, when
/// told to and registered, removes the registration.
async fn run_trunk(ctx: Arc<Ctx>, trunk: Trunk, mut stop: oneshot::Receiver<bool>) {
    let addr = match resolve_host_port(&trunk.host) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(trunk = %trunk.name, "cannot resolve {}: {e}", trunk.host);
            let _ = ctx
                .store
                .set_trunk_status(&TrunkStatus {
                    trunk: trunk.name.clone(),
                    options_ok: Some(false),
                    registered: trunk.register.then_some(false),
                    detail: format!("unresolvable host: {e}"),
                    updated_at: unix_time(),
                })
                .await;
            return;
        }
    };
    let dest = if trunk.transport == "tcp" { Peer::tcp(addr, None) } else { Peer::udp(addr) };
    let link = || {
        let (tx, rx) = mpsc::unbounded_channel();
        let expires = ctx.config.trunks.register_expires;
        let (call_id, tag) = (format!("{}-reg", new_tag()), new_tag());
        Link { ctx: ctx.clone(), trunk: trunk.clone(), dest: dest.clone(), tx, rx, cseq: 0, call_id, tag, expires }
    };
    let (mut probe, mut reg) = (link(), link());
    let task = TrunkTask { ctx: ctx.clone(), trunk: trunk.clone(), shared: Mutex::new(Shared::default()) };
    // options_interval_secs = 0 turns health probes off (carriers that
    // ignore OPTIONS would otherwise always show "down").
    let probing = ctx.config.trunks.options_interval_secs > 0;
    let unregister = {
        let work = async {
            match (trunk.register, probing) {
                (true, true) => {
                    tokio::join!(task.options_loop(&mut probe), task.register_loop(&mut reg));
                }
                (true, false) => task.register_loop(&mut reg).await,
                (false, true) => task.options_loop(&mut probe).await,
                (false, false) => {}
            }
        };
        tokio::select! {
            () = work => return,
            told = &mut stop => told.unwrap_or(false),
        }
    };
    if unregister && task.update(|s| s.registered == Some(true)) {
        match timeout(UNREGISTER_WAIT, reg.unregister()).await {
            Ok(Ok(())) => tracing::info!(trunk = %trunk.name, host = %trunk.host, "trunk unregistered"),
            Ok(Err(why)) => tracing::warn!(trunk = %trunk.name, host = %trunk.host, "unregistering failed: {why}"),
            Err(_) => tracing::warn!(trunk = %trunk.name, host = %trunk.host, "unregistering timed out"),
        }
    }
}

impl TrunkTask {
    async fn options_loop(&self, link: &mut Link) {
        let every = Duration::from_secs(self.ctx.config.trunks.options_interval_secs);
        loop {
            let next = Instant::now() + every;
            let up = link.options().await;
            let changed = self.update(|s| s.options_ok.replace(up) != Some(up));
            if changed {
                tracing::info!(trunk = %self.trunk.name, up, "trunk OPTIONS health changed");
            }
            self.save().await;
            tokio::time::sleep_until(next).await;
        }
    }

    async fn register_loop(&self, link: &mut Link) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let wait = match link.register().await {
                Ok(granted) => {
                    let was = self.update(|s| {
                        s.detail.clear();
                        s.registered.replace(true)
                    });
                    if was != Some(true) {
                        tracing::info!(trunk = %self.trunk.name, granted, "trunk registered");
                    }
                    backoff = MIN_BACKOFF;
                    Duration::from_secs(u64::from(granted.max(2) / 2))
                }
                Err(why) => {
                    tracing::warn!(trunk = %self.trunk.name, "registration failed: {why}; retry in {backoff:?}");
                    // Whatever the cause (refusal, timeout, bad challenge),
                    // we cannot claim to be registered any more.
                    self.update(|s| {
                        s.registered = Some(false);
                        s.detail = why;
                    });
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            self.save().await;
            tokio::time::sleep(wait).await;
        }
    }

    fn update<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        let mut s = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    async fn save(&self) {
        let status = self.update(|s| TrunkStatus {
            trunk: self.trunk.name.clone(),
            options_ok: s.options_ok,
            registered: if self.trunk.register { s.registered } else { None },
            detail: s.detail.clone(),
            updated_at: unix_time(),
        });
        let _ = self.ctx.store.set_trunk_status(&status).await;
    }
}

impl Link {
    fn host(&self) -> &str {
        self.trunk.host.as_str()
    }

    fn base_request(&mut self, method: Method, call_id: &str, from_tag: &str) -> Option<Request> {
        self.cseq += 1;
        let user = self.trunk.username.clone().unwrap_or_else(|| "switchboard".into());
        let uri = parse_uri(&format!("sip:{}", self.host())).ok()?;
        let mut h = Headers::default();
        h.push(HeaderName::Via, build::via(&self.ctx, &self.dest));
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, format!("<sip:{user}@{}>;tag={from_tag}", self.host()));
        h.push(HeaderName::To, format!("<sip:{user}@{}>", self.host()));
        h.push(HeaderName::CallId, call_id.to_string());
        h.push(HeaderName::CSeq, format!("{} {}", self.cseq, method));
        h.push(HeaderName::UserAgent, self.ctx.config.sip.user_agent.clone());
        Some(Request { method, uri, headers: h, body: Vec::new() })
    }

    /// Sends `req` and waits for its final response; `None` on timeout.
    async fn transact(&mut self, req: Request) -> Option<Response> {
        let key = self.ctx.endpoint.send_request(req, self.dest.clone(), self.tx.clone()).await.ok()?;
        let deadline = Instant::now() + REQUEST_WAIT;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match timeout(left, self.rx.recv()).await.ok()?? {
                SipEvent::Response { key: k, response } if k == key && response.status >= 200 => return Some(response),
                SipEvent::Timeout { key: k } | SipEvent::TransportError { key: k } if k == key => return None,
                _ => {}
            }
        }
    }

    /// Any response proves the carrier is alive (RFC 3261 §11 allows 405/404 too).
    async fn options(&mut self) -> bool {
        let call_id = format!("{}-opt", new_tag());
        let tag = new_tag();
        let Some(req) = self.base_request(Method::Options, &call_id, &tag) else { return false };
        self.transact(req).await.is_some()
    }

    /// One registration round: answers one digest challenge and a 423
    /// Interval Too Brief (RFC 3261 §10.2.8) by asking again with the
    /// registrar's Min-Expires. Returns the granted lifetime in seconds.
    async fn register(&mut self) -> Result<u32, String> {
        self.register_round(false).await
    }

    /// Removes our binding (`Expires: 0`, same Call-ID, next CSeq,
    /// answering one digest challenge).
    async fn unregister(&mut self) -> Result<(), String> {
        self.register_round(true).await.map(|_| ())
    }

    async fn register_round(&mut self, remove: bool) -> Result<u32, String> {
        let (call_id, tag) = (self.call_id.clone(), self.tag.clone());
        let contact_uri = build::contact(&self.ctx, &self.dest)
            .replace("sip:switchboard@", &format!("sip:{}@", self.trunk.username.as_deref().unwrap_or("switchboard")));
        let contact = format!("<{contact_uri}>");
        let user = self.trunk.username.clone().unwrap_or_default();
        let secret = self.trunk.secret.clone().unwrap_or_default();
        let mut credentials: Option<(HeaderName, Challenge)> = None;
        let mut nc = 0;
        for _ in 0..4 {
            let expires = if remove { 0 } else { self.expires };
            let mut req = self.base_request(Method::Register, &call_id, &tag).ok_or("bad trunk host")?;
            req.headers.push(HeaderName::Contact, contact.clone());
            req.headers.push(HeaderName::Expires, expires.to_string());
            if let Some((header, challenge)) = &credentials {
                nc += 1;
                let auth = challenge.authorization("REGISTER", &req.uri.to_string(), &user, &secret, &new_tag(), nc);
                req.headers.push(header.clone(), auth);
            }
            let resp = self.transact(req).await.ok_or("no response")?;
            match resp.status {
                200..=299 if remove => return Ok(0),
                200..=299 => return Ok(granted_lifetime(&resp, &contact_uri).unwrap_or(expires)),
                401 | 407 if credentials.is_none() => {
                    let (challenge_hdr, cred_hdr) = if resp.status == 407 {
                        (HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization)
                    } else {
                        (HeaderName::WwwAuthenticate, HeaderName::Authorization)
                    };
                    let values: Vec<&str> = resp.headers.get_all(&challenge_hdr).collect();
                    let challenge = select_challenge(&values).ok_or("unusable challenge")?;
                    credentials = Some((cred_hdr, challenge));
                }
                423 if !remove => {
                    let min = resp.headers.get(&HeaderName::MinExpires).and_then(|v| v.trim().parse::<u32>().ok());
                    match min {
                        Some(m) if m > expires && m <= MAX_REGISTER_EXPIRES => {
                            tracing::info!(trunk = %self.trunk.name, min = m, "carrier wants a longer registration");
                            self.expires = m;
                        }
                        _ => return Err(format!("423 {} without a usable Min-Expires", resp.reason)),
                    }
                }
                _ => return Err(format!("{} {}", resp.status, resp.reason)),
            }
        }
        Err("registration did not complete after 4 attempts".into())
    }
}

/// The lifetime the registrar granted to our binding. A 200 to REGISTER lists
/// every binding of the AOR (RFC 3261 §10.3 step 8), other devices' too, so
/// take the `expires` of the Contact that is ours (same user, host and port);
/// failing that, of the only Contact; else the Expires header.
fn granted_lifetime(resp: &Response, our_contact: &str) -> Option<u32> {
    let ours = parse_uri(our_contact).ok();
    let ours = ours.as_ref().and_then(|u| u.as_sip());
    let key = |u: &SipUri| (u.user.clone(), u.host.to_string().to_ascii_lowercase(), u.port.unwrap_or(5060));
    let addrs: Vec<NameAddr> = resp
        .headers
        .contacts()
        .ok()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| match c {
            Contact::Addr(a) => Some(a),
            Contact::Star => None,
        })
        .collect();
    let expires_of = |a: &NameAddr| a.param("expires").flatten().and_then(|v| v.trim().parse::<u32>().ok());
    let mine = ours.and_then(|o| addrs.iter().find(|a| a.uri.as_sip().map(key) == Some(key(o))));
    let from_contact = match (mine, addrs.as_slice()) {
        (Some(a), _) => expires_of(a),
        (None, [only]) => expires_of(only),
        _ => None,
    };
    from_contact.or(resp.headers.expires().ok().flatten())
}

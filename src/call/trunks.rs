//! Trunk supervision: one task per configured trunk that keeps the carrier
//! registration alive (REGISTER with digest, refresh at half the granted
//! lifetime, exponential backoff on failure) and probes the carrier with
//! OPTIONS. Results go to the store, where `trunk list` shows them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

use super::{build, Ctx};
use crate::sip::auth::select_challenge;
use crate::sip::endpoint::SipEvent;
use crate::sip::message::{parse_uri, HeaderName, Headers, Method, Request, Response};
use crate::sip::resolve_host_port;
use crate::sip::transaction::{new_tag, Peer};
use crate::store::{unix_time, Trunk, TrunkStatus};

/// How often the set of trunks is re-read from the store.
const RESCAN: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longer than Timer F (32 s): the transaction layer reports the timeout first.
const REQUEST_WAIT: Duration = Duration::from_secs(40);

/// Starts and stops per-trunk tasks as trunks are added and removed.
pub async fn supervise(ctx: Arc<Ctx>) {
    let mut tasks: HashMap<String, (Trunk, JoinHandle<()>)> = HashMap::new();
    loop {
        if let Ok(trunks) = ctx.store.list_trunks().await {
            tasks.retain(|name, (old, handle)| {
                let keep = trunks.iter().any(|t| t == old);
                if !keep {
                    tracing::info!(trunk = %name, "trunk supervision stopped");
                    handle.abort();
                }
                keep
            });
            for t in trunks {
                if !tasks.contains_key(&t.name) {
                    let handle = tokio::spawn(run_trunk(ctx.clone(), t.clone()));
                    tasks.insert(t.name.clone(), (t, handle));
                }
            }
        }
        tokio::time::sleep(RESCAN).await;
    }
}

struct TrunkTask {
    ctx: Arc<Ctx>,
    trunk: Trunk,
    dest: Peer,
    tx: mpsc::UnboundedSender<SipEvent>,
    rx: mpsc::UnboundedReceiver<SipEvent>,
    reg_call_id: String,
    reg_tag: String,
    cseq: u32,
    options_ok: Option<bool>,
    registered: Option<bool>,
    detail: String,
}

async fn run_trunk(ctx: Arc<Ctx>, trunk: Trunk) {
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
    let (tx, rx) = mpsc::unbounded_channel();
    let mut t = TrunkTask {
        ctx,
        trunk,
        dest,
        tx,
        rx,
        reg_call_id: format!("{}-reg", new_tag()),
        reg_tag: new_tag(),
        cseq: 0,
        options_ok: None,
        registered: None,
        detail: String::new(),
    };
    t.run().await;
}

impl TrunkTask {
    async fn run(&mut self) {
        let options_every = Duration::from_secs(self.ctx.config.trunks.options_interval_secs);
        let mut next_options = Instant::now();
        let mut next_register = Instant::now();
        let mut backoff = MIN_BACKOFF;
        loop {
            let now = Instant::now();
            if now >= next_options {
                self.options().await;
                next_options = Instant::now() + options_every;
            }
            if self.trunk.register && now >= next_register {
                match self.register().await {
                    Ok(granted) => {
                        backoff = MIN_BACKOFF;
                        next_register = Instant::now() + Duration::from_secs(u64::from(granted.max(2) / 2));
                    }
                    Err(why) => {
                        tracing::warn!(trunk = %self.trunk.name, "registration failed: {why}; retry in {backoff:?}");
                        self.detail = why;
                        next_register = Instant::now() + backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
            self.save().await;
            let wake = if self.trunk.register { next_options.min(next_register) } else { next_options };
            tokio::time::sleep_until(wake).await;
        }
    }

    async fn save(&self) {
        let _ = self
            .ctx
            .store
            .set_trunk_status(&TrunkStatus {
                trunk: self.trunk.name.clone(),
                options_ok: self.options_ok,
                registered: self.registered,
                detail: self.detail.clone(),
                updated_at: unix_time(),
            })
            .await;
    }

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
    async fn options(&mut self) {
        let call_id = format!("{}-opt", new_tag());
        let tag = new_tag();
        let Some(req) = self.base_request(Method::Options, &call_id, &tag) else { return };
        let up = self.transact(req).await.is_some();
        if self.options_ok != Some(up) {
            tracing::info!(trunk = %self.trunk.name, up, "trunk OPTIONS health changed");
        }
        self.options_ok = Some(up);
    }

    /// One registration round, answering one digest challenge. Returns the
    /// granted lifetime in seconds.
    async fn register(&mut self) -> Result<u32, String> {
        let expires = self.ctx.config.trunks.register_expires;
        let (call_id, tag) = (self.reg_call_id.clone(), self.reg_tag.clone());
        let contact = format!("<{}>", build::contact(&self.ctx, &self.dest))
            .replace("sip:switchboard@", &format!("sip:{}@", self.trunk.username.as_deref().unwrap_or("switchboard")));
        let mut req = self.base_request(Method::Register, &call_id, &tag).ok_or("bad trunk host")?;
        req.headers.push(HeaderName::Contact, contact.clone());
        req.headers.push(HeaderName::Expires, expires.to_string());
        let mut resp = self.transact(req.clone()).await.ok_or("no response")?;
        if matches!(resp.status, 401 | 407) {
            let (challenge_hdr, cred_hdr) = if resp.status == 407 {
                (HeaderName::ProxyAuthenticate, HeaderName::ProxyAuthorization)
            } else {
                (HeaderName::WwwAuthenticate, HeaderName::Authorization)
            };
            let values: Vec<&str> = resp.headers.get_all(&challenge_hdr).collect();
            let challenge = select_challenge(&values).ok_or("unusable challenge")?;
            let user = self.trunk.username.clone().unwrap_or_default();
            let secret = self.trunk.secret.clone().unwrap_or_default();
            let mut retry = self.base_request(Method::Register, &call_id, &tag).ok_or("bad trunk host")?;
            retry.headers.push(HeaderName::Contact, contact);
            retry.headers.push(HeaderName::Expires, expires.to_string());
            let auth = challenge.authorization("REGISTER", &retry.uri.to_string(), &user, &secret, &new_tag(), 1);
            retry.headers.push(cred_hdr, auth);
            resp = self.transact(retry).await.ok_or("no response")?;
        }
        if !(200..300).contains(&resp.status) {
            self.registered = Some(false);
            return Err(format!("{} {}", resp.status, resp.reason));
        }
        // The lifetime the carrier granted: our Contact's expires, else Expires.
        let granted = resp
            .headers
            .contacts()
            .ok()
            .and_then(|cs| {
                cs.into_iter().find_map(|c| match c {
                    crate::sip::message::Contact::Addr(a) => a.param("expires").flatten().and_then(|v| v.parse().ok()),
                    _ => None,
                })
            })
            .or(resp.headers.expires().ok().flatten())
            .unwrap_or(expires);
        if self.registered != Some(true) {
            tracing::info!(trunk = %self.trunk.name, granted, "trunk registered");
        }
        self.registered = Some(true);
        self.detail.clear();
        Ok(granted)
    }
}

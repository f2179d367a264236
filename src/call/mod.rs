//! The call layer: the application core that answers out-of-dialog requests
//! (REGISTER, OPTIONS, INVITE, the error cases) and runs one B2BUA task per
//! call. Owns routing and call state; must not touch sockets directly (it
//! talks SIP through `sip::endpoint::Endpoint` and media through
//! `media::relay`) and knows nothing about the web.

pub mod admission;
pub mod apps;
mod auth;
mod b2bua;
mod bridge;
mod build;
mod register;
mod route;
mod sdp_anchor;
pub mod trunks;
mod uas;
pub mod mwi;
pub mod acd;
mod local_leg;
pub mod fax_session;
pub mod fax_job;
mod fax_sdp;
mod originate;
pub(crate) mod ivr;
pub mod supervisor;

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tracing::Instrument;

use crate::config::Config;
use crate::media::PortAllocator;
use crate::sip::auth::{DigestServer, FailureTracker};
use crate::sip::endpoint::{Endpoint, SipEvent};
use crate::sip::message::{HeaderName, Method, Request, Response};
use crate::sip::transaction::{Peer, TransactionKey};
use crate::store::Store;

pub use build::ALLOW;

/// What every handler needs; one per appliance, shared by reference.
pub struct Ctx {
    pub config: Config,
    pub endpoint: Endpoint,
    pub store: Store,
    pub ports: PortAllocator,
    pub digest: Mutex<DigestServer>,
    pub failures: Mutex<FailureTracker>,
    /// Bans, scanners and rate limits; shared with the endpoint, which
    /// drops what it refuses.
    pub guard: crate::sip::guard::SharedGuard,
    /// Live calls, for status and tests.
    pub active_calls: std::sync::atomic::AtomicUsize,
    /// Decoded prompts, shared by every call.
    pub prompts: Arc<crate::media::prompt::PromptStore>,
    /// Music-on-hold classes, decoded once and shared by every listener.
    pub moh: Arc<crate::media::moh::MohRegistry>,
    /// Conference rooms in use.
    pub rooms: apps::Rooms,
    /// Live calls by the caller's Call-ID, for the core API.
    pub calls: CallRegistry,
    /// The data directory (recordings go below it).
    pub data_dir: std::path::PathBuf,
    /// The dialplan in force (hot-reloaded).
    pub dialplan: crate::dialplan::live::LivePlan,
    /// Message-waiting subscriptions.
    pub mwi: mwi::Subscriptions,
    /// The ACD (queues and agents), when running.
    pub acd: Option<acd::AcdHandle>,
    /// CTI events for screens (agent panels, CRMs).
    pub events: crate::cti::EventBus,
    /// Nudges the outbound fax job runner (`fax_job`).
    pub fax_jobs: fax_job::FaxJobs,
    /// New calls refused by admission control since the start, for `/metrics`.
    pub refused: Mutex<admission::RefusedCounts>,
}

/// Rate bridged audio (and music on hold) runs at.
pub fn bridge_rate() -> u32 {
    bridge::BRIDGE_RATE
}

/// What the core API can ask of a running call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingAction {
    Start,
    Stop,
    Pause,
    Resume,
}

impl std::str::FromStr for RecordingAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "start" => Ok(RecordingAction::Start),
            "stop" => Ok(RecordingAction::Stop),
            "pause" => Ok(RecordingAction::Pause),
            "resume" => Ok(RecordingAction::Resume),
            other => Err(format!("unknown recording action \"{other}\" (start, stop, pause, resume)")),
        }
    }
}

/// Per-party conference controls, including the supervisor modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConferenceAction {
    Mute,
    Unmute,
    Deaf,
    Undeaf,
    /// Hear everyone, be heard by nobody (silent monitoring).
    Listen,
    /// Be heard only by the party of call `to` (coaching).
    Whisper { to: String },
    /// Join the conversation (heard by all).
    Barge,
}

impl ConferenceAction {
    /// Parses an API action; `whisper` needs the target call.
    pub fn parse(action: &str, to: Option<&str>) -> Result<Self, String> {
        match (action, to) {
            ("whisper", Some(t)) if !t.is_empty() => Ok(ConferenceAction::Whisper { to: t.to_string() }),
            ("whisper", _) => Err("unknown whisper target: pass ?to=<call id>".to_string()),
            _ => action.parse(),
        }
    }
}

impl std::str::FromStr for ConferenceAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mute" => Ok(ConferenceAction::Mute),
            "unmute" => Ok(ConferenceAction::Unmute),
            "deaf" => Ok(ConferenceAction::Deaf),
            "undeaf" => Ok(ConferenceAction::Undeaf),
            "listen" => Ok(ConferenceAction::Listen),
            "barge" => Ok(ConferenceAction::Barge),
            other => Err(format!(
                "unknown conference action \"{other}\" (mute, unmute, deaf, undeaf, listen, whisper, barge)"
            )),
        }
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<(), String>>;

/// Call control of an agent's call (calls a dialplan bridged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallControl {
    Hangup,
    /// The caller hears music, the agent silence.
    Hold,
    Unhold,
    /// Blind transfer of the caller to a dial target (extension, number,
    /// `number@trunk`); the agent's leg is released.
    Transfer(String),
    /// Attended transfer, first step: the caller hears music while the
    /// agent talks to a new call to this dial target.
    Consult(String),
    /// Attended transfer, second step: the caller and the consulted party
    /// are joined and the agent's leg is released.
    CompleteTransfer,
    /// Hangs up the consulted (or still ringing added) party; agent and
    /// caller talk again.
    CancelConsult,
    /// Adds a party: when it answers, caller, agent and party all hear
    /// each other.
    AddParty(String),
    /// The consulted party joins agent and caller (three-way).
    Merge,
}

impl CallControl {
    /// Parses an API action; `transfer` and `consult` need the target,
    /// `conference` takes one to add a party (without: merge the consultation).
    pub fn parse(action: &str, to: Option<&str>) -> Result<CallControl, String> {
        let to = to.filter(|t| !t.is_empty());
        match (action, to) {
            ("hangup", _) => Ok(CallControl::Hangup),
            ("hold", _) => Ok(CallControl::Hold),
            ("unhold", _) => Ok(CallControl::Unhold),
            ("transfer", Some(t)) => Ok(CallControl::Transfer(t.to_string())),
            ("transfer", _) => Err("transfer needs a target: ?to=<extension or number>".to_string()),
            ("consult", Some(t)) => Ok(CallControl::Consult(t.to_string())),
            ("consult", _) => Err("consult needs a target: ?to=<extension or number>".to_string()),
            ("complete", _) => Ok(CallControl::CompleteTransfer),
            ("cancel", _) => Ok(CallControl::CancelConsult),
            ("conference", Some(t)) => Ok(CallControl::AddParty(t.to_string())),
            ("conference", None) => Ok(CallControl::Merge),
            (other, _) => Err(format!(
                "unknown call action \"{other}\" (hangup, hold, unhold, transfer, consult, complete, cancel, conference)"
            )),
        }
    }
}

/// A dialog another call takes over (REFER with Replaces, RFC 3891): the
/// far end keeps its dialog, the new owner re-INVITEs it with its media.
#[derive(Debug)]
pub struct HandedDialog {
    pub dialog: crate::sip::dialog::Dialog,
    pub dest: crate::sip::transaction::Peer,
    /// The SDP the far end last got from us (the next offer continues its origin).
    pub last_sdp: Option<crate::sdp::SessionDescription>,
    /// Who the far end is (its number), for the call's records.
    pub target: String,
}

#[derive(Debug)]
pub enum CallCommand {
    Recording { action: RecordingAction, reply: Reply },
    Conference { action: ConferenceAction, reply: Reply },
    Control { action: CallControl, reply: Reply },
    /// A supervisor joins the bridged call through this link.
    Supervise { link: ivr::port::SupervisorLink, reply: Reply },
    /// Another call's REFER with Replaces names this call's caller dialog:
    /// give up the callee's dialog (no BYE) and release the caller — only if
    /// the caller is `by`, the extension that sent the REFER.
    HandOver {
        replaces: crate::sip::replaces::Replaces,
        by: String,
        reply: tokio::sync::oneshot::Sender<Result<HandedDialog, String>>,
    },
}

/// Command channels of live calls, keyed by the caller's Call-ID.
#[derive(Default)]
pub struct CallRegistry {
    calls: Mutex<std::collections::HashMap<String, mpsc::UnboundedSender<CallCommand>>>,
    /// Who each bridged call is talking to (agent id and extension) → the
    /// caller's Call-ID, for supervisors.
    peers: Mutex<std::collections::HashMap<String, String>>,
    /// Supervisions placed through the API: supervisor's extension →
    /// (agent, link), so a second request changes the mode in place.
    supervisions: Mutex<std::collections::HashMap<String, (String, ivr::port::SupervisorLink)>>,
    /// The last call each agent or extension was bridged to, kept after it
    /// ends (wrap-up: the agent's disposition belongs to that call). One
    /// entry per agent/extension, so bounded by their number.
    last_peers: Mutex<std::collections::HashMap<String, String>>,
}

impl CallRegistry {
    pub fn register(&self, call_id: &str, tx: mpsc::UnboundedSender<CallCommand>) {
        if let Ok(mut c) = self.calls.lock() {
            c.insert(call_id.to_string(), tx);
        }
    }
    /// Removes `call_id` if `owner` still holds it (see `Endpoint::unbind_dialog`).
    pub fn unregister(&self, call_id: &str, owner: &mpsc::UnboundedSender<CallCommand>) {
        if let Ok(mut c) = self.calls.lock() {
            if c.get(call_id).is_some_and(|s| s.same_channel(owner)) {
                c.remove(call_id);
            }
        }
    }
    /// Notes that call `call_id` is bridged to `who` (an agent or extension).
    pub fn set_peer(&self, who: &str, call_id: &str) {
        if let Ok(mut p) = self.peers.lock() {
            p.insert(who.to_string(), call_id.to_string());
        }
        if let Ok(mut p) = self.last_peers.lock() {
            p.insert(who.to_string(), call_id.to_string());
        }
    }
    /// Forgets `who` if it still points at `call_id`.
    pub fn clear_peer(&self, who: &str, call_id: &str) {
        if let Ok(mut p) = self.peers.lock() {
            if p.get(who).is_some_and(|c| c == call_id) {
                p.remove(who);
            }
        }
    }
    /// The call bridged to `who`, if any.
    pub fn peer(&self, who: &str) -> Option<String> {
        self.peers.lock().ok()?.get(who).cloned()
    }

    /// Call `call_id` is being offered to agent `who`: their screen may look
    /// its caller up (history, wrap-up) from now on.
    pub fn note_offer(&self, who: &str, call_id: &str) {
        if let Ok(mut p) = self.last_peers.lock() {
            p.insert(who.to_string(), call_id.to_string());
        }
    }

    /// The call `who` is or was last bridged to (or offered).
    pub fn last_peer(&self, who: &str) -> Option<String> {
        self.last_peers.lock().ok()?.get(who).cloned()
    }

    /// The live API supervision of `supervisor`, if any.
    pub fn supervision(&self, supervisor: &str) -> Option<(String, ivr::port::SupervisorLink)> {
        let (agent, link) = self.supervisions.lock().ok()?.get(supervisor).cloned()?;
        let active = link.lock().map(|l| l.active).unwrap_or(false);
        active.then_some((agent, link))
    }
    pub fn set_supervision(&self, supervisor: &str, agent: &str, link: ivr::port::SupervisorLink) {
        if let Ok(mut s) = self.supervisions.lock() {
            s.insert(supervisor.to_string(), (agent.to_string(), link));
        }
    }
    /// Forgets `supervisor`'s supervision if it is still `link`.
    pub fn clear_supervision(&self, supervisor: &str, link: &ivr::port::SupervisorLink) {
        if let Ok(mut s) = self.supervisions.lock() {
            if s.get(supervisor).is_some_and(|(_, l)| Arc::ptr_eq(l, link)) {
                s.remove(supervisor);
            }
        }
    }

    /// Asks the call whose caller dialog `replaces` names for its callee's
    /// dialog (the transfer target of a phone's attended transfer), on
    /// behalf of extension `by`.
    pub async fn hand_over(&self, call_id: &str, replaces: crate::sip::replaces::Replaces, by: &str) -> Result<HandedDialog, String> {
        let tx = self.calls.lock().ok().and_then(|c| c.get(call_id).cloned()).ok_or_else(|| format!("no live call {call_id}"))?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        tx.send(CallCommand::HandOver { replaces, by: by.to_string(), reply }).map_err(|_| "the call has ended".to_string())?;
        rx.await.map_err(|_| "the call has ended".to_string())?
    }

    /// Asks call `call_id` to take a supervisor.
    pub async fn supervise(&self, call_id: &str, link: ivr::port::SupervisorLink) -> Result<(), String> {
        self.ask(call_id, |reply| CallCommand::Supervise { link, reply }).await
    }

    /// Call-IDs of live calls, sorted.
    pub fn list(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.calls.lock().map(|c| c.keys().cloned().collect()).unwrap_or_default();
        ids.sort();
        ids
    }
    /// Sends a recording command and waits for the call's answer.
    pub async fn recording(&self, call_id: &str, action: RecordingAction) -> Result<(), String> {
        self.ask(call_id, |reply| CallCommand::Recording { action, reply }).await
    }

    /// Sends a call control (hangup, hold, transfer) and waits for the answer.
    pub async fn control(&self, call_id: &str, action: CallControl) -> Result<(), String> {
        self.ask(call_id, |reply| CallCommand::Control { action, reply }).await
    }

    /// Sends a conference control and waits for the call's answer.
    pub async fn conference(&self, call_id: &str, action: ConferenceAction) -> Result<(), String> {
        self.ask(call_id, |reply| CallCommand::Conference { action, reply }).await
    }

    async fn ask(&self, call_id: &str, cmd: impl FnOnce(Reply) -> CallCommand) -> Result<(), String> {
        let tx = self.calls.lock().ok().and_then(|c| c.get(call_id).cloned()).ok_or_else(|| format!("no live call {call_id}"))?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        tx.send(cmd(reply)).map_err(|_| "the call has ended".to_string())?;
        rx.await.map_err(|_| "the call has ended".to_string())?
    }
}

/// Runs the application core: every out-of-dialog event from the endpoint.
/// Initial INVITEs pass admission control first (`admission`, `[limits]`);
/// everything else (REGISTER, OPTIONS, in-dialog requests) never does.
pub async fn run_core(ctx: Arc<Ctx>, mut events: mpsc::UnboundedReceiver<SipEvent>) {
    let start = tokio::time::Instant::now();
    let mut admission = admission::Admission::new(&ctx.config.limits, 0);
    while let Some(ev) = events.recv().await {
        // What is still queued behind this event: the call layer's backlog.
        let backlog = events.len();
        let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        match ev {
            SipEvent::Request { key, request, source } => {
                if needs_admission(&request) {
                    let active = ctx.active_calls.load(std::sync::atomic::Ordering::SeqCst);
                    if let Err(why) = admission.check(now_ms, active, backlog) {
                        refuse_overload(&ctx, &key, &request, why);
                        if let Ok(mut r) = ctx.refused.lock() {
                            *r = admission.totals();
                        }
                    } else {
                        on_request(&ctx, key, *request, source);
                    }
                } else {
                    on_request(&ctx, key, *request, source);
                }
            }
            SipEvent::Cancel { invite_key, request, to_tag } => {
                // A CANCEL for an INVITE no call task has claimed yet.
                let mut resp = Response::for_request(&request, 487, "Request Terminated");
                build::tag_to(&mut resp, &to_tag);
                ctx.endpoint.respond(&invite_key, resp);
            }
            // Timer H and stray traffic for finished calls need no action.
            _ => {}
        }
        if let Some(s) = admission.poll_summary(now_ms) {
            use admission::Refused;
            tracing::warn!(
                max_calls = s.refused.get(Refused::MaxCalls),
                max_cps = s.refused.get(Refused::Rate),
                backlog = s.refused.get(Refused::Backlog),
                over_ms = s.over_ms,
                "overload: new calls refused with 503"
            );
        }
    }
}

/// Whether `req` would start a new call: an INVITE outside any dialog.
/// Re-INVITEs, BYE, ACK, REGISTER, OPTIONS and the rest are never refused
/// for load: established calls and registrations must keep working.
fn needs_admission(req: &Request) -> bool {
    req.method == Method::Invite && !req.headers.to_addr().map(|a| a.tag().is_some()).unwrap_or(false)
}

/// 503 with `Retry-After` (RFC 3261 §21.5.4, §20.33) for a new call the
/// box cannot take; nothing is kept beyond the server transaction.
fn refuse_overload(ctx: &Ctx, key: &TransactionKey, req: &Request, why: admission::Refused) {
    tracing::debug!(call_id = req.call_id().unwrap_or("-"), reason = why.as_str(), "new call refused: overload");
    let mut resp = build::response(ctx, req, 503, why.reason_phrase());
    resp.headers.push(retry_after(), ctx.config.limits.retry_after_secs.to_string());
    build::ensure_to_tag(&mut resp);
    ctx.endpoint.respond(key, resp);
}

/// The `Retry-After` header name (not one the message layer knows by name).
pub(crate) fn retry_after() -> HeaderName {
    HeaderName::Extension("Retry-After".to_string())
}

fn on_request(ctx: &Arc<Ctx>, key: TransactionKey, req: Request, source: Peer) {
    let reply = |status: u16, reason: &str| {
        let mut resp = build::response(ctx, &req, status, reason);
        build::ensure_to_tag(&mut resp);
        ctx.endpoint.respond(&key, resp);
    };
    // RFC 3261 §8.2.1-§8.2.2 checks that come before any method logic.
    if let Method::Extension(m) = &req.method {
        tracing::info!(src = %source.addr, method = %m, "unsupported method");
        let mut resp = build::response(ctx, &req, 501, "Not Implemented");
        resp.headers.push(HeaderName::Allow, ALLOW);
        build::ensure_to_tag(&mut resp);
        ctx.endpoint.respond(&key, resp);
        return;
    }
    if req.method != Method::Options && matches!(req.headers.max_forwards(), Ok(Some(0))) {
        reply(483, "Too Many Hops");
        return;
    }
    // §8.2.2.3: we implement no SIP extensions that could be required.
    if !matches!(req.method, Method::Cancel | Method::Ack) {
        let required: Vec<&str> = req
            .headers
            .get_all(&HeaderName::Require)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if !required.is_empty() {
            let mut resp = build::response(ctx, &req, 420, "Bad Extension");
            resp.headers.push(HeaderName::Unsupported, required.join(", "));
            build::ensure_to_tag(&mut resp);
            ctx.endpoint.respond(&key, resp);
            return;
        }
    }
    let in_dialog = req.headers.to_addr().map(|a| a.tag().is_some()).unwrap_or(false);
    match req.method {
        Method::Options => {
            let mut resp = build::response(ctx, &req, 200, "OK");
            resp.headers.push(HeaderName::Allow, ALLOW);
            resp.headers.push(HeaderName::Accept, "application/sdp");
            resp.headers.push(HeaderName::Supported, "");
            build::ensure_to_tag(&mut resp);
            ctx.endpoint.respond(&key, resp);
        }
        Method::Register => {
            let ctx = ctx.clone();
            let span = tracing::info_span!("register", call_id = req.call_id().unwrap_or("-"));
            tokio::spawn(async move { register::handle(&ctx, key, req, source).await }.instrument(span));
        }
        Method::Subscribe => {
            let ctx = ctx.clone();
            let span = tracing::info_span!("subscribe", call_id = req.call_id().unwrap_or("-"));
            tokio::spawn(async move { mwi::on_subscribe(&ctx, key, req, source).await }.instrument(span));
        }
        Method::Invite if !in_dialog => {
            // Counted here, not in the call task: admission control reads
            // the count for the next INVITE before this task has run.
            ctx.active_calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let ctx = ctx.clone();
            let span = tracing::info_span!("call", call_id = req.call_id().unwrap_or("-"));
            tokio::spawn(async move { b2bua::run(ctx, key, req, source).await }.instrument(span));
        }
        // In-dialog requests whose dialog is unknown (the call ended).
        Method::Bye | Method::Invite | Method::Info | Method::Update | Method::Prack | Method::Notify | Method::Refer
            if in_dialog =>
        {
            reply(481, "Call/Transaction Does Not Exist")
        }
        _ => {
            let mut resp = build::response(ctx, &req, 405, "Method Not Allowed");
            resp.headers.push(HeaderName::Allow, ALLOW);
            build::ensure_to_tag(&mut resp);
            ctx.endpoint.respond(&key, resp);
        }
    }
}

/// The status a caller gets when every fork of a call failed.
fn b2bua_best_failure(statuses: &[u16]) -> u16 {
    b2bua::best_failure(statuses).0
}

#[cfg(test)]
mod tests {
    use super::needs_admission;
    use crate::sip::message::{parse_message, Message, Request};

    fn request(method: &str, to_tag: &str) -> Request {
        let text = format!(
            "{method} sip:7000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
From: <sip:a@127.0.0.1>;tag=f1\r\nTo: <sip:7000@127.0.0.1>{to_tag}\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        match parse_message(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn only_new_invites_pass_admission_control() {
        assert!(needs_admission(&request("INVITE", "")), "a new call");
        assert!(!needs_admission(&request("INVITE", ";tag=t9")), "a re-INVITE of an established call");
        for method in ["REGISTER", "OPTIONS", "SUBSCRIBE", "CANCEL"] {
            assert!(!needs_admission(&request(method, "")), "{method} is never refused for load");
        }
        for method in ["BYE", "ACK", "INFO", "UPDATE"] {
            assert!(!needs_admission(&request(method, ";tag=t9")), "{method} in a dialog is never refused for load");
        }
    }
}

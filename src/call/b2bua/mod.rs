//! One call: a back-to-back user agent with the caller's leg (A) on one side
//! and one or more forked INVITEs toward the callee (B) on the other; the
//! first 2xx wins. Media is anchored through a relay session. Every path out
//! of `run` releases the relay ports and unbinds both Call-IDs.
//!
//! Files: this one holds the call's state and its event loop; `setup`
//! routes and sends the forks, `forks` handles the ringing phase and the
//! answer, `in_dialog` the established call, `engine` calls bridged through
//! the media engine and core-API commands.

mod engine;
mod forks;
mod in_dialog;
mod setup;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::auth::{authenticate, AuthOutcome};
use super::route::{self, Refusal, Target};
use super::sdp_anchor::{anchor, anchor_offer};
use super::{build, Ctx};
use crate::media::{Leg, RelayConfig, RelayEvent, RelayHandle, RelaySession};
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{EventSender, SipEvent};
use crate::sip::message::{HeaderName, Headers, Message, Method, Request, Response, Uri};
use crate::sip::transaction::{cancel_request, new_tag, Peer, TransactionKey};
use crate::store::Trunk;

const SDP: &str = "application/sdp";
/// How long a failed or cancelled call lingers to ACK and BYE late 2xx
/// answers from forks (64*T1).
const DRAIN: Duration = Duration::from_secs(32);
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

/// Entry point, spawned per new INVITE.
pub async fn run(ctx: Arc<Ctx>, key: TransactionKey, invite: Request, source: Peer) {
    let (tx, rx) = mpsc::unbounded_channel();
    let a_call_id = invite.call_id().unwrap_or_default().to_string();
    ctx.endpoint.bind_dialog(&a_call_id, tx.clone());
    // `active_calls` was counted up by `call::on_request` before spawning us.
    let local_tag = new_tag();
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let control_owner = control_tx.clone();
    ctx.calls.register(&a_call_id, control_tx);
    let mut call = Call {
        ctx: ctx.clone(),
        tx,
        rx,
        a: ALeg { key, invite, peer: source, local_tag, dialog: None, final_sent: false, pending_2xx: None },
        b_call_id: format!("{}-b", new_tag()),
        forks: Vec::new(),
        b: None,
        relay: None,
        relay_events: None,
        forwards: HashMap::new(),
        b_ok_ack: None,
        trunk: None,
        trunk_in: None,
        record: None,
        final_status: 0,
        hangup_by: "system",
        local_quality: None,
        bridge_mode: ctx.config.recording.mode != crate::config::RecordingMode::Off,
        relay_allowed: Vec::new(),
        bridge_pairs: None,
        b_offer: None,
        bridge: None,
        local_sdp: [None, None],
        control: control_rx,
        codecs: [None, None],
    };
    call.run().await;
    ctx.endpoint.unbind_dialog(&a_call_id, &call.tx);
    ctx.endpoint.unbind_dialog(&call.b_call_id, &call.tx);
    ctx.calls.unregister(&a_call_id, &control_owner);
    if let Some(bridge) = call.bridge.take() {
        let (a, b) = bridge.shutdown(&ctx).await;
        tracing::info!(?a, ?b, "media released");
        call.local_quality = a;
    }
    let stats = match call.relay.take() {
        Some(relay) => {
            let stats = relay.shutdown().await;
            tracing::info!(?stats, "media released");
            Some(stats)
        }
        None => None,
    };
    if let Some(id) = call.record {
        // Packets: everything the leg's peer sent (RTP + RTCP); loss, jitter, round trip and
        // MOS: the relay's RTP receive quality of that leg (no MOS without RTP to judge).
        let leg = |l: &crate::media::LegStats, q: &crate::media::quality::LegQuality| crate::store::LegQualityRow {
            packets: l.packets_in as i64,
            lost: q.lost,
            jitter_ms: q.jitter_ms,
            rtt_ms: q.rtt_ms,
            mos: (q.packets > 0).then_some(q.mos),
        };
        let (a, b) = match (&stats, &call.local_quality) {
            (Some(s), _) => (Some(leg(&s.a, &s.a_quality)), Some(leg(&s.b, &s.b_quality))),
            (None, Some(q)) => (
                Some(crate::store::LegQualityRow {
                    packets: q.packets as i64,
                    lost: q.lost,
                    jitter_ms: q.jitter_ms,
                    rtt_ms: q.rtt_ms,
                    mos: Some(q.mos),
                }),
                None,
            ),
            (None, None) => (None, None),
        };
        if let Err(e) = ctx.store.close_call_record(id, call.final_status, call.hangup_by, a, b).await {
            tracing::warn!("call record not closed: {e}");
        }
    }
    ctx.active_calls.fetch_sub(1, Ordering::SeqCst);
}

struct ALeg {
    key: TransactionKey,
    invite: Request,
    peer: Peer,
    local_tag: String,
    dialog: Option<Dialog>,
    final_sent: bool,
    /// Our 2xx to an INVITE from this side, retransmitted until ACKed
    /// (RFC 3261 §13.3.1.4): (response, INVITE CSeq, next send, interval, give-up).
    pending_2xx: Option<Pending2xx>,
}

struct Pending2xx {
    resp: Response,
    cseq: u32,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

struct Fork {
    key: TransactionKey,
    invite: Request,
    dest: Peer,
    done: bool,
    status: u16,
    auth_tried: bool,
}

struct BLeg {
    dialog: Dialog,
    dest: Peer,
    pending_2xx: Option<Pending2xx>,
}

/// An in-dialog request we forwarded to the other leg.
struct Forward {
    from: Side,
    server_key: TransactionKey,
    request: Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
    fn leg(self) -> Leg {
        match self {
            Side::A => Leg::A,
            Side::B => Leg::B,
        }
    }
}

enum Phase {
    Continue,
    End,
}

struct Call {
    ctx: Arc<Ctx>,
    tx: EventSender,
    rx: mpsc::UnboundedReceiver<SipEvent>,
    a: ALeg,
    b_call_id: String,
    forks: Vec<Fork>,
    b: Option<BLeg>,
    relay: Option<RelayHandle>,
    relay_events: Option<mpsc::Receiver<RelayEvent>>,
    forwards: HashMap<TransactionKey, Forward>,
    /// The ACK we sent for the winning 2xx, re-sent on its retransmissions.
    b_ok_ack: Option<(String, Request)>,
    trunk: Option<Trunk>,
    /// The trunk the call came in on, by name.
    trunk_in: Option<String>,
    /// The call record (CDR) row, once the call is routed.
    record: Option<i64>,
    /// Final status the caller got, and who ended the call.
    final_status: u16,
    hangup_by: &'static str,
    /// Receive quality of a leg the appliance terminated itself.
    local_quality: Option<crate::media::quality::LegQuality>,
    /// Bridged through the media engine instead of the packet relay: when
    /// recording is on, or when the caller offers no codec the callee's
    /// side allows (transcoding); the media starts when the callee answers.
    bridge_mode: bool,
    /// The `codecs` list set on the callee's extension or trunk (none or
    /// one): offers the relay passes on keep only codecs it allows.
    relay_allowed: Vec<crate::sdp::negotiate::CodecPrefs>,
    bridge_pairs: Option<(crate::media::PortPair, crate::media::PortPair)>,
    /// Our offer toward the callee, to check its answer against.
    b_offer: Option<crate::sdp::SessionDescription>,
    bridge: Option<super::bridge::MediaBridge>,
    /// The last SDP we answered on each side (for re-INVITE answers).
    local_sdp: [Option<crate::sdp::SessionDescription>; 2],
    /// Commands from the core API (recording control).
    control: mpsc::UnboundedReceiver<super::CallCommand>,
    /// Codec preference lists of the caller's and the callee's side
    /// (extension or trunk; `None` = the appliance default).
    codecs: [Option<String>; 2],
}

impl Call {
    async fn run(&mut self) {
        match Box::pin(self.setup()).await {
            Err(Refusal(status, reason)) => {
                if !self.a.final_sent {
                    self.final_to_a(status, &reason);
                }
                return;
            }
            // Boxed: the IVR's and the apps' futures are large, and inline
            // they would size every call's task, bridged ones too.
            Ok(Some(kind)) => return Box::pin(self.serve_locally(kind)).await,
            Ok(None) => {}
        }
        let no_answer = Instant::now() + Duration::from_secs(self.ctx.config.sip.no_answer_timeout_secs);
        let mut drain_until: Option<Instant> = None;
        loop {
            let answered = self.b.is_some();
            let wake = self.next_wake(answered.then_some(()).map_or(Some(no_answer), |_| None), drain_until);
            let relay_ev = async {
                match self.relay_events.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let bridge_ev = async {
                match self.bridge.as_mut() {
                    Some(b) => b.next_event().await,
                    None => std::future::pending().await,
                }
            };
            let phase = tokio::select! {
                ev = self.rx.recv() => match ev {
                    Some(ev) => Box::pin(self.on_event(ev)).await,
                    None => Phase::End,
                },
                ev = relay_ev => self.on_relay(ev),
                ev = bridge_ev => self.on_bridge_event(ev),
                Some(cmd) = self.control.recv() => Box::pin(self.on_command(cmd)).await,
                _ = tokio::time::sleep_until(wake) => self.on_timer(no_answer, drain_until),
            };
            if let Phase::End = phase {
                return;
            }
            // A failed or cancelled call drains until every fork has ended.
            if self.a.final_sent && self.b.is_none() {
                if self.forks.iter().all(|f| f.done) {
                    return;
                }
                drain_until.get_or_insert(Instant::now() + DRAIN);
            }
        }
    }

    fn next_wake(&self, no_answer: Option<Instant>, drain: Option<Instant>) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        let retrans = [self.a.pending_2xx.as_ref(), self.b.as_ref().and_then(|b| b.pending_2xx.as_ref())]
            .into_iter()
            .flatten()
            .map(|p| p.next.min(p.give_up))
            .min();
        [no_answer.filter(|_| !self.a.final_sent), drain, retrans].into_iter().flatten().min().unwrap_or(far)
    }

    // ----- setup -----------------------------------------------------------

}

/// `setup` returns before building forks for application targets.
fn unreachable_app() {
    tracing::error!("application target reached the fork builder");
}

fn fwd_peer_addr(call: &Call, side: Side) -> SocketAddr {
    call.dest(side).map(|p| p.addr).unwrap_or(call.a.peer.addr)
}

impl Pending2xx {
    fn new(resp: Response, cseq: u32) -> Self {
        let now = Instant::now();
        Pending2xx { resp, cseq, next: now + T1, interval: T1, give_up: now + T1 * 64 }
    }
}

/// The response the caller gets when every fork failed (RFC 3261 §16.7
/// step 6, simplified): busy beats unavailable beats not found; timeouts
/// read as no answer.
pub(super) fn best_failure(statuses: &[u16]) -> (u16, &'static str) {
    let pick = |s: u16| statuses.contains(&s);
    if let Some(s) = statuses.iter().find(|s| (600..700).contains(*s)) {
        return (*s, "Busy Everywhere");
    }
    if pick(486) {
        return (486, "Busy Here");
    }
    if pick(487) {
        return (487, "Request Terminated");
    }
    if statuses.iter().all(|s| *s == 408 || *s == 480) {
        return (480, "Temporarily Unavailable");
    }
    if pick(404) {
        return (404, "Not Found");
    }
    if pick(603) {
        return (603, "Decline");
    }
    let s = statuses.iter().copied().filter(|s| *s >= 300).min().unwrap_or(500);
    match s {
        403 => (403, "Forbidden"),
        488 => (488, "Not Acceptable Here"),
        503 => (503, "Service Unavailable"),
        s if s < 500 => (480, "Temporarily Unavailable"),
        _ => (502, "Bad Gateway"),
    }
}

#[cfg(test)]
mod tests {
    use super::best_failure;

    #[test]
    fn failure_mapping() {
        assert_eq!(best_failure(&[486, 480]).0, 486);
        assert_eq!(best_failure(&[408, 480]).0, 480);
        assert_eq!(best_failure(&[404]).0, 404);
        assert_eq!(best_failure(&[600, 486]).0, 600);
        assert_eq!(best_failure(&[503]).0, 503);
    }
}

//! Outbound fax jobs: a task that takes due jobs from the `faxes` table
//! (queued by `fax_send ... to=`, the API or the console), dials the number
//! the way a `dial` step would (trunk or extension) with a G.711-only
//! offer, runs one fax session as the calling terminal, and records the
//! outcome. Busy, no answer, an unreachable number or a failed T.30
//! session are retried after `[fax] retry_secs`, up to the job's attempts;
//! a number that does not exist or a document that cannot be read fail at
//! once. Every failure carries its reason (SIP status or T.30 result).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use super::fax_session::{self, AudioSlot};
use super::local_leg::LocalLeg;
use super::originate::{self, Originator, Progress};
use super::Ctx;
use crate::fax::engine::{Document, FaxConfig};
use crate::media::{AudioFrame, MediaPort};
use crate::store::{FaxRecord, FaxSessionResult};

/// How often the runner looks for due jobs when nobody nudges it.
const POLL: Duration = Duration::from_secs(2);
/// Jobs dialled at once.
const PARALLEL: usize = 4;
/// How long the far end may ring.
const RING: Duration = Duration::from_secs(60);

/// Wakes the runner early (a job was just queued).
#[derive(Clone, Default)]
pub struct FaxJobs(Arc<Notify>);

impl FaxJobs {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Runs forever: due jobs, at most `PARALLEL` at a time.
pub async fn run(ctx: Arc<Ctx>) {
    match ctx.store.requeue_interrupted_fax_jobs().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "fax work interrupted by the last stop: requeued or failed"),
        Err(e) => tracing::warn!("fax jobs not requeued: {e}"),
    }
    let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let free = PARALLEL.saturating_sub(busy.load(std::sync::atomic::Ordering::Relaxed));
        if free > 0 {
            match ctx.store.due_fax_jobs(crate::store::unix_ms(), free as u32).await {
                Ok(jobs) => {
                    for job in jobs {
                        let call_id = format!("{}-fax", crate::sip::transaction::new_tag());
                        if !matches!(ctx.store.start_fax_attempt(job.id, &call_id).await, Ok(true)) {
                            continue;
                        }
                        busy.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let (ctx, busy) = (ctx.clone(), busy.clone());
                        tokio::spawn(async move {
                            attempt(&ctx, job).await;
                            busy.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                            ctx.fax_jobs.wake();
                        });
                    }
                }
                Err(e) => tracing::warn!("fax jobs: {e}"),
            }
        }
        tokio::select! {
            _ = ctx.fax_jobs.0.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Whether a failure is worth another attempt.
enum Verdict {
    Retry,
    Final,
}

async fn attempt(ctx: &Arc<Ctx>, job: FaxRecord) {
    let span = tracing::info_span!("fax_job", id = job.id, to = %job.remote_number);
    let (result, verdict) = tracing::Instrument::instrument(send(ctx, &job), span.clone()).await;
    let attempts_left = job.attempts + 1 < job.max_attempts;
    let retry_at = match verdict {
        Verdict::Retry if !result.success && attempts_left => Some(crate::store::unix_ms() + ctx.config.fax.retry_secs as i64 * 1000),
        _ => None,
    };
    span.in_scope(|| {
        if result.success {
            tracing::info!(pages = result.pages, transport = result.transport, "fax sent");
        } else {
            tracing::info!(reason = %result.t30_reason, retry = retry_at.is_some(), "fax not sent");
        }
    });
    if let Err(e) = ctx.store.finish_fax_attempt(job.id, &result, retry_at).await {
        tracing::warn!(id = job.id, "fax job not updated: {e}");
    }
}

fn failed(reason: impl Into<String>) -> FaxSessionResult {
    FaxSessionResult { t30_code: -1, t30_reason: reason.into(), ..Default::default() }
}

/// SIP statuses that another attempt may fix (busy, no answer, the far
/// end or our trunk temporarily unavailable).
fn retryable(status: u16) -> bool {
    matches!(status, 408 | 480 | 486 | 487 | 500 | 502 | 503 | 504 | 600 | 603)
}

async fn send(ctx: &Arc<Ctx>, job: &FaxRecord) -> (FaxSessionResult, Verdict) {
    let tiff = match job.tiff_path.as_deref() {
        Some(p) => ctx.data_dir.join(p),
        None => return (failed("no document"), Verdict::Final),
    };
    if !tiff.is_file() {
        return (failed(format!("document {} is missing", tiff.display())), Verdict::Final);
    }
    if !crate::fax::library::number_allowed(&ctx.store, &ctx.config.fax, &job.remote_number).await {
        return (failed(format!("number {} is not in [fax] destinations", job.remote_number)), Verdict::Final);
    }
    let targets = match originate::resolve(ctx, &job.remote_number).await {
        Ok(t) => t,
        Err(s) => return (failed(format!("SIP {s}: cannot reach {}", job.remote_number)), if retryable(s) { Verdict::Retry } else { Verdict::Final }),
    };
    let Ok(pair) = ctx.ports.allocate().await else { return (failed("no media port free"), Verdict::Retry) };
    let our_ip = ctx.config.rtp.advertise.unwrap_or_else(|| super::build::local_for(ctx, targets[0].dest.addr).ip());
    // Modems survive G.711 only; never offer a compressing codec for fax.
    let prefs: crate::sdp::negotiate::CodecPrefs = "PCMU,PCMA".parse().expect("G.711 preference list parses");
    let offer = crate::sdp::negotiate::offer(&prefs, &crate::sdp::negotiate::LocalMedia::new(our_ip, pair.rtp_port()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let caller = ctx.config.fax.ident.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect::<String>();
    let mut o = match Originator::start(ctx, targets, (&caller, None), &offer, tx.clone()).await {
        Ok(o) => o,
        Err(s) => return (failed(format!("SIP {s}")), Verdict::Retry),
    };
    let ring_until = tokio::time::Instant::now() + RING;
    let answered = loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = tokio::time::sleep_until(ring_until) => None,
        };
        let Some(ev) = ev else {
            o.cancel(ctx).await;
            o.release(ctx);
            return (failed("no answer"), Verdict::Retry);
        };
        if !o.owns(&ev) {
            continue;
        }
        match o.on_event(ctx, ev).await {
            Some(Progress::Answered { dialog, dest, answer }) => break (dialog, dest, answer),
            Some(Progress::Failed(s)) => {
                o.release(ctx);
                let why = match s {
                    486 | 600 => "busy".to_string(),
                    408 | 480 | 487 => "no answer".to_string(),
                    s => format!("SIP {s}"),
                };
                return (failed(why), if retryable(s) { Verdict::Retry } else { Verdict::Final });
            }
            _ => {}
        }
    };
    let (dialog, dest, answer) = answered;
    let slot = SlotPort::default();
    // Kept to hang up the far end when its answer cannot be used: it has
    // answered, and without a BYE it would wait for media that never comes.
    let (mut answered_dialog, answered_dest) = ((*dialog).clone(), dest.clone());
    let mut leg = match LocalLeg::dialled(ctx, *dialog, dest, tx.clone(), pair, offer, &answer, prefs, slot.clone()) {
        Ok(l) => l,
        Err((s, why)) => {
            let via = super::build::via(ctx, &answered_dest);
            let bye = answered_dialog.request(crate::sip::message::Method::Bye, &via, &super::build::contact(ctx, &answered_dest), None);
            let _ = ctx.endpoint.send_request(bye, answered_dest, tx).await;
            o.release(ctx);
            return (failed(format!("SIP {s}: {why}")), Verdict::Retry);
        }
    };
    let config = FaxConfig {
        document: Document::Send { tiff, header: (!job.header.is_empty()).then(|| job.header.clone()) },
        calling_party: true,
        local_ident: if job.local_ident.is_empty() { ctx.config.fax.ident.clone() } else { job.local_ident.clone() },
        ecm: ctx.config.fax.ecm,
    };
    let end = fax_session::run(ctx, &mut leg, &mut rx, &slot, &config).await;
    if !end.leg_gone {
        leg.bye(ctx, None).await;
    }
    let _ = leg.shutdown().await;
    o.release(ctx);
    let result = end.result();
    // A session that ran and failed may succeed next time (line noise, the
    // machine out of paper); one that could not read our file will not.
    let verdict = if matches!(result.t30_code, 41..=47) { Verdict::Final } else { Verdict::Retry };
    (result, verdict)
}

/// The dialled leg's media port: silence until the fax session plugs its
/// audio terminal in (8 kHz, so the modems see G.711 unresampled).
#[derive(Clone, Default)]
struct SlotPort(Arc<Mutex<Option<Box<dyn MediaPort + Send>>>>);

const SLOT_RATE: u32 = 8000;

impl MediaPort for SlotPort {
    fn rate(&self) -> u32 {
        SLOT_RATE
    }
    fn put_frame(&mut self, frame: &AudioFrame) {
        if let Ok(mut p) = self.0.lock() {
            if let Some(p) = p.as_mut() {
                p.put_frame(frame);
            }
        }
    }
    fn get_frame(&mut self, frame: &mut AudioFrame) -> bool {
        match self.0.lock() {
            Ok(mut p) => match p.as_mut() {
                Some(p) => p.get_frame(frame),
                None => false,
            },
            Err(_) => false,
        }
    }
}

impl AudioSlot for SlotPort {
    fn rate(&self) -> u32 {
        SLOT_RATE
    }
    fn set(&self, port: Option<Box<dyn MediaPort + Send>>) {
        if let Ok(mut p) = self.0.lock() {
            *p = port;
        }
    }
}

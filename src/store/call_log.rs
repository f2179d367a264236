//! Group commit for call records: the writes every call makes (open,
//! IVR path, answer, close) go to one writer task, which folds whatever
//! has queued up into one SQL statement per kind of write.
//!
//! Why: each write on its own cost about 80 µs of CPU at 1000 calls/s,
//! nearly all of it in hand-offs (sqlx's worker thread wakes for the
//! statement, the runtime wakes for its result, the pool's release task),
//! not in SQLite. Three of them were a third of a call's setup cost. A
//! batch pays the hand-offs once for all of its writes, and batches grow
//! by themselves with load: what arrives while one is written is the next.
//!
//! Writes other than opens wait up to `LINGER` for others to share their
//! batch: at 1000 calls/s batches of lone writes saved little.
//!
//! Every write is still awaited: `Store::open_call_record` and the rest
//! return once their statement has committed, exactly as before, so
//! nothing acknowledged is lost to a crash.
//!
//! Owns: the writer task and the batch statements. Must not touch: any
//! table but `call_records`, or the record's other columns (disposition,
//! notes: written directly, they are not on the call path).
//!
//! The batch travels as one JSON array bound to one parameter and unpacked
//! by SQLite's `json_each` (values stay bound, never spliced into SQL).
//! Inserted rows get consecutive ids: one statement on the single writer
//! connection, `AUTOINCREMENT`, rows in array order, so the new ids are the
//! `n` ending at `last_insert_rowid()`.

use serde_json::{json, Value};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::calls::LegQualityRow;
use super::StoreError;

/// Most writes folded into one statement (bounds the JSON parameter).
const MAX_BATCH: usize = 512;
/// How long an answer, IVR path or close may wait for company. An open
/// never waits: the call's INVITE goes on only when it has its record.
/// The others are awaited by a call task that has already sent what the
/// far ends need, so the wait delays no signalling.
const LINGER: std::time::Duration = std::time::Duration::from_millis(5);

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One write, with the time it happened (not the time it is written).
pub(super) enum Op {
    Open { row: OpenRow, reply: Reply<i64> },
    Path { id: i64, path: String, reply: Reply<()> },
    Answer { id: i64, at_ms: i64, reply: Reply<()> },
    Close { id: i64, close: CloseRow, reply: Reply<()> },
}

pub(super) struct OpenRow {
    pub call_id: String,
    pub direction: String,
    pub caller: String,
    pub callee: String,
    pub trunk: Option<String>,
    pub started_at: i64,
}

pub(super) struct CloseRow {
    pub ended_at: i64,
    pub status: u16,
    pub hangup_by: String,
    pub a: LegQualityRow,
    pub b: LegQualityRow,
}

/// The sending side, shared by every clone of the `Store`. The task is
/// started on first use, on the runtime of that use; should that runtime
/// be gone (a test that opened the store in one runtime and calls in
/// another), the next write starts a new one.
#[derive(Debug)]
pub(super) struct CallLog {
    writer: SqlitePool,
    tx: std::sync::Mutex<Option<mpsc::UnboundedSender<Op>>>,
    /// Batches written so far (for tests: that writes do share them).
    batches: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl CallLog {
    pub(super) fn new(writer: SqlitePool) -> CallLog {
        CallLog { writer, tx: std::sync::Mutex::new(None), batches: Default::default() }
    }

    #[cfg(test)]
    fn batches(&self) -> u64 {
        self.batches.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) async fn submit<T>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<T, StoreError> {
        let stopped = || StoreError::CallLog("the writer stopped".to_string());
        let (reply, rx) = oneshot::channel();
        let mut op = op(reply);
        {
            let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
            let mut sent = false;
            for _ in 0..2 {
                let sender = tx.get_or_insert_with(|| {
                    let (sender, rx) = mpsc::unbounded_channel();
                    tokio::spawn(run(self.writer.clone(), rx, self.batches.clone()));
                    sender
                });
                match sender.send(op) {
                    Ok(()) => {
                        sent = true;
                        break;
                    }
                    Err(mpsc::error::SendError(back)) => {
                        op = back;
                        *tx = None;
                    }
                }
            }
            // A runtime shutting down drops new tasks at once: the op (and
            // its reply sender) would otherwise be held while we wait.
            if !sent {
                return Err(stopped());
            }
        }
        rx.await.map_err(|_| stopped())?
    }
}

async fn run(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Op>, batches: std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let mut batch = Batch::default();
    let mut open = true;
    while open {
        let Some(op) = rx.recv().await else { break };
        batch.push(op);
        let deadline = tokio::time::Instant::now() + LINGER;
        loop {
            while batch.len < MAX_BATCH {
                match rx.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            if !batch.opens.is_empty() || batch.len >= MAX_BATCH {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(op)) => batch.push(op),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        batch.write(&pool).await;
        batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Queued writes by kind, in arrival order within each kind.
#[derive(Default)]
struct Batch {
    opens: Vec<(OpenRow, Reply<i64>)>,
    paths: Vec<(Value, Reply<()>)>,
    answers: Vec<(Value, Reply<()>)>,
    closes: Vec<(Value, Reply<()>)>,
    len: usize,
}

impl Batch {
    fn push(&mut self, op: Op) {
        self.len += 1;
        match op {
            Op::Open { row, reply } => self.opens.push((row, reply)),
            Op::Path { id, path, reply } => self.paths.push((json!({"id": id, "path": path}), reply)),
            Op::Answer { id, at_ms, reply } => self.answers.push((json!({"id": id, "at": at_ms}), reply)),
            Op::Close { id, close: c, reply } => self.closes.push((
                json!({
                    "id": id, "at": c.ended_at, "status": c.status, "by": c.hangup_by,
                    "ap": c.a.packets, "al": c.a.lost, "aj": c.a.jitter_ms, "ar": c.a.rtt_ms, "am": c.a.mos,
                    "bp": c.b.packets, "bl": c.b.lost, "bj": c.b.jitter_ms, "br": c.b.rtt_ms, "bm": c.b.mos,
                }),
                reply,
            )),
        }
    }

    /// Writes and answers everything queued. Opens go first: a later write
    /// names an id its caller got from an earlier, already committed open.
    async fn write(&mut self, pool: &SqlitePool) {
        self.len = 0;
        if !self.opens.is_empty() {
            let opens = std::mem::take(&mut self.opens);
            let rows: Vec<Value> = opens
                .iter()
                .map(|(r, _)| {
                    json!({"call_id": r.call_id, "dir": r.direction, "caller": r.caller, "callee": r.callee,
                           "trunk": r.trunk, "at": r.started_at})
                })
                .collect();
            let n = rows.len() as i64;
            let done = sqlx::query(INSERT).bind(Value::Array(rows).to_string()).execute(pool).await;
            match done {
                Ok(d) if d.rows_affected() == n as u64 => {
                    let first = d.last_insert_rowid() - n + 1;
                    for (id, (_, reply)) in (first..).zip(opens) {
                        let _ = reply.send(Ok(id));
                    }
                }
                other => {
                    let why = match other {
                        Ok(d) => format!("{} of {n} call records inserted", d.rows_affected()),
                        Err(e) => e.to_string(),
                    };
                    tracing::error!(records = n, "call records not opened: {why}");
                    for (_, reply) in opens {
                        let _ = reply.send(Err(StoreError::CallLog(format!("not opened: {why}"))));
                    }
                }
            }
        }
        for (sql, list) in [(PATH, &mut self.paths), (ANSWER, &mut self.answers), (CLOSE, &mut self.closes)] {
            if list.is_empty() {
                continue;
            }
            let list = std::mem::take(list);
            let rows = Value::Array(list.iter().map(|(v, _)| v.clone()).collect());
            let done = sqlx::query(sql).bind(rows.to_string()).execute(pool).await.map(|_| ());
            if let Err(e) = &done {
                tracing::error!(records = list.len(), "call records not updated: {e}");
            }
            for (_, reply) in list {
                let _ = reply.send(done.as_ref().map(|_| ()).map_err(|e| StoreError::CallLog(format!("not updated: {e}"))));
            }
        }
    }
}

/// `ORDER BY key`: rows are inserted, and numbered, in array order.
const INSERT: &str = "INSERT INTO call_records (call_id, direction, caller, callee, trunk, started_at) \
     SELECT value->>'call_id', value->>'dir', value->>'caller', value->>'callee', value->>'trunk', value->>'at' \
     FROM json_each(?) ORDER BY key";

const PATH: &str = "UPDATE call_records SET ivr_path = j.value->>'path' \
     FROM json_each(?) AS j WHERE call_records.id = j.value->>'id'";

const ANSWER: &str = "UPDATE call_records SET answered_at = j.value->>'at' \
     FROM json_each(?) AS j WHERE call_records.id = j.value->>'id'";

const CLOSE: &str = "UPDATE call_records SET ended_at = j.value->>'at', status = j.value->>'status', hangup_by = j.value->>'by', \
     a_packets = j.value->>'ap', a_lost = j.value->>'al', a_jitter_ms = j.value->>'aj', a_rtt_ms = j.value->>'ar', a_mos = j.value->>'am', \
     b_packets = j.value->>'bp', b_lost = j.value->>'bl', b_jitter_ms = j.value->>'bj', b_rtt_ms = j.value->>'br', b_mos = j.value->>'bm' \
     FROM json_each(?) AS j WHERE call_records.id = j.value->>'id'";

#[cfg(test)]
mod tests {
    use crate::store::{CallRecord, LegQualityRow, Store};

    async fn record(store: &Store, id: i64) -> CallRecord {
        sqlx::query_as("SELECT * FROM call_records WHERE id = ?").bind(id).fetch_one(store.pool()).await.unwrap()
    }

    /// Many calls at once: the writes queue up behind each other and are
    /// folded into batches; every caller must get its own row's id.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_batched_and_each_lands_on_its_own_row() {
        let (_d, store) = crate::store::test_store().await;
        // Ids do not start at 1 and have a gap (AUTOINCREMENT never reuses one).
        let old = store.open_call_record("old", "internal", "1", "2", None).await.unwrap();
        sqlx::query("DELETE FROM call_records").execute(&store.writer).await.unwrap();
        let calls: Vec<_> = (0..300)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let call_id = format!("call-{i}");
                    let id = store.open_call_record(&call_id, "inbound", &format!("caller-{i}"), "100", Some("t")).await.unwrap();
                    store.set_call_path(id, &format!("menu > {i}")).await.unwrap();
                    if i % 2 == 0 {
                        store.answer_call_record(id).await.unwrap();
                    }
                    let q = LegQualityRow { packets: i, lost: i % 7, jitter_ms: i as f64 / 4.0, rtt_ms: None, mos: Some(4.0) };
                    store.close_call_record(id, 200 + (i % 300) as u16, "caller", Some(q), None).await.unwrap();
                    (i, id)
                })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        for c in calls {
            let (i, id) = c.await.unwrap();
            assert!(id > old && ids.insert(id), "call {i}: id {id} is new and its own");
            let r = record(&store, id).await;
            assert_eq!((r.call_id.as_str(), r.caller.as_str()), (format!("call-{i}").as_str(), format!("caller-{i}").as_str()));
            assert_eq!(r.ivr_path, Some(format!("menu > {i}")));
            assert_eq!(r.answered_at.is_some(), i % 2 == 0, "call {i}");
            assert_eq!((r.status, r.a_packets, r.a_lost, r.a_jitter_ms), (Some(200 + i % 300), Some(i), Some(i % 7), Some(i as f64 / 4.0)));
            assert_eq!((r.hangup_by.as_deref(), r.a_rtt_ms, r.a_mos, r.b_packets), (Some("caller"), None, Some(4.0), Some(0)));
            assert!(r.ended_at.unwrap() >= r.started_at);
        }
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM call_records").fetch_one(store.pool()).await.unwrap();
        assert_eq!(rows, 300);
        // 1201 writes (the first open included): far fewer batches.
        let batches = store.call_log.batches();
        assert!(batches < 600, "{batches} batches for 1201 writes");
    }

    /// A failed batch answers each of its writes with the error, and the
    /// writer goes on with the next one.
    #[tokio::test]
    async fn a_failed_batch_reports_to_every_caller_and_the_writer_goes_on() {
        let (_d, store) = crate::store::test_store().await;
        let id = store.open_call_record("a", "internal", "1", "2", None).await.unwrap();
        sqlx::query("ALTER TABLE call_records RENAME TO parked").execute(&store.writer).await.unwrap();
        let err = store.open_call_record("b", "internal", "1", "2", None).await.unwrap_err();
        assert!(err.to_string().contains("no such table"), "{err}");
        assert!(store.answer_call_record(id).await.is_err());
        sqlx::query("ALTER TABLE parked RENAME TO call_records").execute(&store.writer).await.unwrap();
        store.answer_call_record(id).await.unwrap();
        assert!(record(&store, id).await.answered_at.is_some());
        let next = store.open_call_record("c", "internal", "1", "2", None).await.unwrap();
        assert_eq!(record(&store, next).await.call_id, "c");
    }

    /// A store opened on one runtime and used on another (the first one
    /// gone) starts a new writer rather than failing every write.
    #[test]
    fn the_writer_follows_the_runtime_that_uses_it() {
        let rt = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (dir, store) = rt().block_on(crate::store::test_store());
        rt().block_on(async { store.open_call_record("a", "internal", "1", "2", None).await.unwrap() });
        let id = rt().block_on(async { store.open_call_record("b", "internal", "1", "2", None).await.unwrap() });
        assert_eq!(rt().block_on(record(&store, id)).call_id, "b");
        drop(dir);
    }
}

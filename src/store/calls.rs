//! Call records (CDRs): one row per call attempt, opened when the INVITE is
//! routed, updated on answer and closed with the outcome and media quality.

use sqlx::{QueryBuilder, Sqlite};

use super::call_log::{CloseRow, Op, OpenRow};
use super::{Store, StoreError};

/// What the call records page and its CSV export filter on. Every value is
/// bound as a query parameter (never spliced into the SQL); text matches
/// are plain substrings (`instr`, not `LIKE`: `%` and `_` mean themselves),
/// case-insensitive for ASCII.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// Started at or after (unix ms).
    pub since_ms: Option<i64>,
    /// Started before (unix ms).
    pub until_ms: Option<i64>,
    /// internal, inbound or outbound.
    pub direction: Option<String>,
    /// Substring of the caller.
    pub caller: Option<String>,
    /// Substring of the callee.
    pub callee: Option<String>,
    /// Trunk name (exact).
    pub trunk: Option<String>,
    /// Answered (`true`) or never answered (`false`).
    pub answered: Option<bool>,
    /// Disposition code (exact, case-insensitive).
    pub disposition: Option<String>,
    /// Substring of any of call-ID, caller, callee, trunk, IVR path,
    /// disposition or notes.
    pub text: Option<String>,
}

/// Columns the free-text search looks in.
const TEXT_COLUMNS: &[&str] = &["call_id", "caller", "callee", "trunk", "ivr_path", "disposition", "notes"];

/// Appends the `WHERE` clause of `f` (nothing for an empty filter). Only
/// the literals above become SQL; values go through `push_bind`.
fn push_where(qb: &mut QueryBuilder<'_, Sqlite>, f: &CallFilter) {
    let mut first = true;
    let mut next = |qb: &mut QueryBuilder<'_, Sqlite>| {
        qb.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    if let Some(v) = f.since_ms {
        next(qb);
        qb.push("started_at >= ").push_bind(v);
    }
    if let Some(v) = f.until_ms {
        next(qb);
        qb.push("started_at < ").push_bind(v);
    }
    if let Some(v) = &f.direction {
        next(qb);
        qb.push("direction = ").push_bind(v.clone());
    }
    for (column, value) in [("caller", &f.caller), ("callee", &f.callee)] {
        if let Some(v) = value {
            next(qb);
            qb.push("instr(lower(").push(column).push("), lower(").push_bind(v.clone()).push(")) > 0");
        }
    }
    if let Some(v) = &f.trunk {
        next(qb);
        qb.push("trunk = ").push_bind(v.clone());
    }
    match f.answered {
        Some(true) => {
            next(qb);
            qb.push("answered_at IS NOT NULL");
        }
        Some(false) => {
            next(qb);
            qb.push("answered_at IS NULL");
        }
        None => {}
    }
    if let Some(v) = &f.disposition {
        next(qb);
        qb.push("lower(disposition) = lower(").push_bind(v.clone()).push(")");
    }
    if let Some(v) = &f.text {
        next(qb);
        qb.push("(");
        for (i, column) in TEXT_COLUMNS.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("instr(lower(COALESCE(").push(*column).push(", '')), lower(").push_bind(v.clone()).push(")) > 0");
        }
        qb.push(")");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegQualityRow {
    pub packets: i64,
    pub lost: i64,
    pub jitter_ms: f64,
    pub rtt_ms: Option<f64>,
    pub mos: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallRecord {
    pub id: i64,
    pub call_id: String,
    pub direction: String,
    pub caller: String,
    pub callee: String,
    pub trunk: Option<String>,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub status: Option<i64>,
    pub hangup_by: Option<String>,
    pub a_packets: Option<i64>,
    pub a_lost: Option<i64>,
    pub a_jitter_ms: Option<f64>,
    pub a_rtt_ms: Option<f64>,
    pub a_mos: Option<f64>,
    pub b_packets: Option<i64>,
    pub b_lost: Option<i64>,
    pub b_jitter_ms: Option<f64>,
    pub b_rtt_ms: Option<f64>,
    pub b_mos: Option<f64>,
    /// Contexts and menu choices, `" > "`-separated (dialplan calls only).
    pub ivr_path: Option<String>,
    /// The agent's disposition code and notes, saved after the call.
    pub disposition: Option<String>,
    pub notes: Option<String>,
}

pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Opens a record; returns its id once committed (group-committed
    /// with other calls' writes, see `call_log`).
    pub async fn open_call_record(
        &self,
        call_id: &str,
        direction: &str,
        caller: &str,
        callee: &str,
        trunk: Option<&str>,
    ) -> Result<i64, StoreError> {
        let row = OpenRow {
            call_id: call_id.to_string(),
            direction: direction.to_string(),
            caller: caller.to_string(),
            callee: callee.to_string(),
            trunk: trunk.map(str::to_string),
            started_at: unix_ms(),
        };
        self.call_log.submit(|reply| Op::Open { row, reply }).await
    }

    /// Saves the agent's disposition code and notes on the newest record of
    /// `call_id`; `NotFound` when there is none.
    pub async fn set_disposition(&self, call_id: &str, code: &str, notes: &str) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE call_records SET disposition = ?, notes = ? WHERE id = (SELECT MAX(id) FROM call_records WHERE call_id = ?)")
            .bind(code)
            .bind(notes)
            .bind(call_id)
            .execute(&self.writer)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("call {call_id}")));
        }
        Ok(())
    }

    /// Saves the dialplan path the call took.
    pub async fn set_call_path(&self, id: i64, path: &str) -> Result<(), StoreError> {
        let path = path.to_string();
        self.call_log.submit(|reply| Op::Path { id, path, reply }).await
    }

    pub async fn answer_call_record(&self, id: i64) -> Result<(), StoreError> {
        let at_ms = unix_ms();
        self.call_log.submit(|reply| Op::Answer { id, at_ms, reply }).await
    }

    /// Closes a record with the final status, who hung up and per-leg quality.
    pub async fn close_call_record(
        &self,
        id: i64,
        status: u16,
        hangup_by: &str,
        a: Option<LegQualityRow>,
        b: Option<LegQualityRow>,
    ) -> Result<(), StoreError> {
        let close = CloseRow {
            ended_at: unix_ms(),
            status,
            hangup_by: hangup_by.to_string(),
            a: a.unwrap_or_default(),
            b: b.unwrap_or_default(),
        };
        self.call_log.submit(|reply| Op::Close { id, close, reply }).await
    }

    /// Closes the records a crash or power cut left open (the process died
    /// before the call's end was written): called at start, before any call
    /// can open one. The real end is unknown, so the record ends when it was
    /// last known alive (answer, else start) and says `hangup_by = restart`;
    /// an answered call gets status 200. Returns how many were closed.
    pub async fn close_call_records_left_open(&self) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE call_records SET ended_at = COALESCE(answered_at, started_at), hangup_by = 'restart', \
             status = COALESCE(status, CASE WHEN answered_at IS NOT NULL THEN 200 END) WHERE ended_at IS NULL",
        )
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected())
    }

    /// Most recent records first.
    /// Records of calls not ended yet, newest first (live calls, plus any a
    /// crash left open: the caller intersects with the calls it knows).
    pub async fn open_call_records(&self, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM call_records WHERE ended_at IS NULL ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(&self.pool).await?)
    }

    /// (started_at ms, answered) of every call since `since_ms`, for charts.
    pub async fn call_starts_since(&self, since_ms: i64) -> Result<Vec<(i64, bool)>, StoreError> {
        let rows: Vec<(i64, bool)> = sqlx::query_as("SELECT started_at, answered_at IS NOT NULL FROM call_records WHERE started_at >= ? ORDER BY id LIMIT 200000")
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    /// The caller number of the latest record of `call_id`.
    pub async fn caller_of_call(&self, call_id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT caller FROM call_records WHERE call_id = ? ORDER BY id DESC LIMIT 1").bind(call_id).fetch_optional(&self.pool).await?;
        Ok(row.map(|(c,)| c))
    }

    /// Finished calls from or to `number`, newest first (the agent panel's history).
    pub async fn calls_of_number(&self, number: &str, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM call_records WHERE (caller = ? OR callee = ?) AND ended_at IS NOT NULL ORDER BY id DESC LIMIT ?")
            .bind(number)
            .bind(number)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn list_call_records(&self, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM call_records ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(&self.pool).await?)
    }

    /// Records matching `f`, newest first, `limit` from `offset`.
    pub async fn search_call_records(&self, f: &CallFilter, limit: i64, offset: i64) -> Result<Vec<CallRecord>, StoreError> {
        let mut qb = QueryBuilder::new("SELECT * FROM call_records");
        push_where(&mut qb, f);
        qb.push(" ORDER BY started_at DESC, id DESC LIMIT ").push_bind(limit.max(0)).push(" OFFSET ").push_bind(offset.max(0));
        Ok(qb.build_query_as().fetch_all(&self.pool).await?)
    }

    /// How many records match `f`.
    pub async fn count_call_records(&self, f: &CallFilter) -> Result<i64, StoreError> {
        let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM call_records");
        push_where(&mut qb, f);
        let (n,): (i64,) = qb.build_query_as().fetch_one(&self.pool).await?;
        Ok(n)
    }

    /// Trunk names and disposition codes seen in the latest 10,000 records,
    /// sorted (choices for filters).
    pub async fn recent_call_choices(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let trunks: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT trunk FROM (SELECT trunk FROM call_records ORDER BY id DESC LIMIT 10000) WHERE trunk IS NOT NULL AND trunk != '' ORDER BY trunk",
        )
        .fetch_all(&self.pool)
        .await?;
        let codes: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT disposition FROM (SELECT disposition FROM call_records ORDER BY id DESC LIMIT 10000) WHERE disposition IS NOT NULL AND disposition != '' ORDER BY disposition",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok((trunks.into_iter().map(|t| t.0).collect(), codes.into_iter().map(|c| c.0).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn record_lifecycle() {
        let (_d, store) = crate::store::test_store().await;
        let id = store.open_call_record("c1", "internal", "1001", "1002", None).await.unwrap();
        store.answer_call_record(id).await.unwrap();
        let q = LegQualityRow { packets: 100, lost: 2, jitter_ms: 3.5, rtt_ms: Some(12.0), mos: Some(4.2) };
        store.close_call_record(id, 200, "caller", Some(q), None).await.unwrap();
        let r = &store.list_call_records(10).await.unwrap()[0];
        assert_eq!((r.status, r.hangup_by.as_deref(), r.a_lost, r.a_mos), (Some(200), Some("caller"), Some(2), Some(4.2)));
        assert!(r.answered_at.is_some() && r.ended_at.unwrap() >= r.started_at);
        assert_eq!(r.b_packets, Some(0));
    }

    #[tokio::test]
    async fn records_a_crash_left_open_are_closed_at_start() {
        let (_d, store) = crate::store::test_store().await;
        let done = store.open_call_record("done", "internal", "1001", "1002", None).await.unwrap();
        store.close_call_record(done, 486, "system", None, None).await.unwrap();
        let talking = store.open_call_record("talking", "internal", "1001", "1002", None).await.unwrap();
        store.answer_call_record(talking).await.unwrap();
        let _ringing = store.open_call_record("ringing", "internal", "1001", "1002", None).await.unwrap();
        assert_eq!(store.close_call_records_left_open().await.unwrap(), 2);
        assert!(store.open_call_records(10).await.unwrap().is_empty());
        let all = store.list_call_records(10).await.unwrap();
        let get = |c: &str| all.iter().find(|r| r.call_id == c).unwrap();
        assert_eq!((get("done").status, get("done").hangup_by.as_deref()), (Some(486), Some("system")), "closed ones untouched");
        assert_eq!((get("talking").status, get("talking").hangup_by.as_deref()), (Some(200), Some("restart")));
        assert_eq!(get("talking").ended_at, get("talking").answered_at);
        assert_eq!((get("ringing").status, get("ringing").ended_at), (None, Some(get("ringing").started_at)));
        assert_eq!(store.close_call_records_left_open().await.unwrap(), 0, "idempotent");
    }

    async fn record_at(store: &Store, call_id: &str, direction: &str, caller: &str, callee: &str, trunk: Option<&str>, at: i64) -> i64 {
        let id = store.open_call_record(call_id, direction, caller, callee, trunk).await.unwrap();
        sqlx::query("UPDATE call_records SET started_at = ? WHERE id = ?").bind(at).bind(id).execute(store.pool()).await.unwrap();
        id
    }

    #[tokio::test]
    async fn search_filters_bind_their_values() {
        let (_d, store) = crate::store::test_store().await;
        let a = record_at(&store, "c-a", "inbound", "+4930123", "2001", Some("carrier"), 1_000).await;
        let b = record_at(&store, "c-b", "outbound", "2001", "0049301", Some("carrier"), 2_000).await;
        let c = record_at(&store, "c-c", "internal", "2001", "2002", None, 3_000).await;
        store.answer_call_record(a).await.unwrap();
        store.set_disposition("c-a", "Sale", "100% happy_customer").await.unwrap();
        store.set_call_path(c, "main > 1 > sales").await.unwrap();
        let ids = |v: Vec<CallRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let find = |f: CallFilter| {
            let store = store.clone();
            async move { (ids(store.search_call_records(&f, 50, 0).await.unwrap()), store.count_call_records(&f).await.unwrap()) }
        };
        assert_eq!(find(CallFilter::default()).await, (vec![c, b, a], 3), "newest first");
        assert_eq!(find(CallFilter { direction: Some("inbound".into()), ..Default::default() }).await.0, vec![a]);
        assert_eq!(find(CallFilter { since_ms: Some(2_000), until_ms: Some(3_000), ..Default::default() }).await.0, vec![b]);
        assert_eq!(find(CallFilter { caller: Some("4930".into()), ..Default::default() }).await.0, vec![a]);
        assert_eq!(find(CallFilter { callee: Some("200".into()), ..Default::default() }).await.0, vec![c, a]);
        assert_eq!(find(CallFilter { trunk: Some("carrier".into()), answered: Some(false), ..Default::default() }).await.0, vec![b]);
        assert_eq!(find(CallFilter { answered: Some(true), ..Default::default() }).await.0, vec![a]);
        assert_eq!(find(CallFilter { disposition: Some("sale".into()), ..Default::default() }).await.0, vec![a]);
        assert_eq!(find(CallFilter { text: Some("SALES".into()), ..Default::default() }).await.0, vec![c], "IVR path, any case");
        assert_eq!(find(CallFilter { text: Some("happy".into()), ..Default::default() }).await.0, vec![a], "notes");
        // SQL and LIKE syntax are plain text.
        for hostile in ["' OR 1=1 --", "%", "_", "\"", "2001') OR ('1'='1"] {
            let f = CallFilter { caller: Some(hostile.into()), text: Some(hostile.into()), ..Default::default() };
            assert_eq!(find(f).await, (vec![], 0), "{hostile}");
        }
        assert_eq!(find(CallFilter { text: Some("100%".into()), ..Default::default() }).await.0, vec![a], "% matches itself");
        assert_eq!(ids(store.search_call_records(&CallFilter::default(), 1, 1).await.unwrap()), vec![b], "paged");
        let (trunks, codes) = store.recent_call_choices().await.unwrap();
        assert_eq!((trunks, codes), (vec!["carrier".to_string()], vec!["Sale".to_string()]));
    }
}

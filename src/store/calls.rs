//! Call records (CDRs): one row per call attempt, opened when the INVITE is
//! routed, updated on answer and closed with the outcome and media quality.

use super::{Store, StoreError};

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
    /// Opens a record; returns its id.
    pub async fn open_call_record(
        &self,
        call_id: &str,
        direction: &str,
        caller: &str,
        callee: &str,
        trunk: Option<&str>,
    ) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO call_records (call_id, direction, caller, callee, trunk, started_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(call_id)
        .bind(direction)
        .bind(caller)
        .bind(callee)
        .bind(trunk)
        .bind(unix_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// Saves the agent's disposition code and notes on the newest record of
    /// `call_id`; `NotFound` when there is none.
    pub async fn set_disposition(&self, call_id: &str, code: &str, notes: &str) -> Result<(), StoreError> {
        let r = sqlx::query("UPDATE call_records SET disposition = ?, notes = ? WHERE id = (SELECT MAX(id) FROM call_records WHERE call_id = ?)")
            .bind(code)
            .bind(notes)
            .bind(call_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("call {call_id}")));
        }
        Ok(())
    }

    /// Saves the dialplan path the call took.
    pub async fn set_call_path(&self, id: i64, path: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE call_records SET ivr_path = ? WHERE id = ?").bind(path).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn answer_call_record(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE call_records SET answered_at = ? WHERE id = ?").bind(unix_ms()).bind(id).execute(&self.pool).await?;
        Ok(())
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
        let a = a.unwrap_or_default();
        let b = b.unwrap_or_default();
        sqlx::query(
            "UPDATE call_records SET ended_at = ?, status = ?, hangup_by = ?, \
             a_packets = ?, a_lost = ?, a_jitter_ms = ?, a_rtt_ms = ?, a_mos = ?, \
             b_packets = ?, b_lost = ?, b_jitter_ms = ?, b_rtt_ms = ?, b_mos = ? WHERE id = ?",
        )
        .bind(unix_ms())
        .bind(i64::from(status))
        .bind(hangup_by)
        .bind(a.packets)
        .bind(a.lost)
        .bind(a.jitter_ms)
        .bind(a.rtt_ms)
        .bind(a.mos)
        .bind(b.packets)
        .bind(b.lost)
        .bind(b.jitter_ms)
        .bind(b.rtt_ms)
        .bind(b.mos)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Most recent records first.
    /// Records of calls not ended yet, newest first (live calls, plus any a
    /// crash left open: the caller intersects with the calls it knows).
    pub async fn open_call_records(&self, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM call_records WHERE ended_at IS NULL ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(&self.pool).await?)
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
}

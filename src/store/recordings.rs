//! Recording rows: created when a recording starts, completed at its end.

use super::{unix_ms, Store, StoreError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecordingRow {
    pub id: i64,
    pub call_id: String,
    pub path: String,
    pub format: String,
    pub layout: String,
    pub rate: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub bytes: Option<i64>,
    pub paused_ms: i64,
    pub pauses: Option<String>,
    pub dropped_ms: i64,
    pub status: String,
}

/// What the writer reported when the recording ended.
#[derive(Debug, Clone, Default)]
pub struct RecordingSummary {
    pub duration_ms: i64,
    pub bytes: i64,
    pub paused_ms: i64,
    /// `[start_ms, end_ms]` pairs.
    pub pauses: Vec<(i64, i64)>,
    pub dropped_ms: i64,
}

impl Store {
    pub async fn start_recording_row(&self, call_id: &str, path: &str, format: &str, layout: &str, rate: u32) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO recordings (call_id, path, format, layout, rate, started_at, status) VALUES (?, ?, ?, ?, ?, ?, 'recording')",
        )
        .bind(call_id)
        .bind(path)
        .bind(format)
        .bind(layout)
        .bind(i64::from(rate))
        .bind(unix_ms())
        .execute(&self.writer)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// Completes a row; `summary: None` marks it failed.
    pub async fn finish_recording_row(&self, id: i64, summary: Option<&RecordingSummary>) -> Result<(), StoreError> {
        match summary {
            Some(s) => {
                let pauses: Vec<String> = s.pauses.iter().map(|(a, b)| format!("[{a},{b}]")).collect();
                sqlx::query(
                    "UPDATE recordings SET ended_at = ?, duration_ms = ?, bytes = ?, paused_ms = ?, pauses = ?, \
                     dropped_ms = ?, status = 'done' WHERE id = ?",
                )
                .bind(unix_ms())
                .bind(s.duration_ms)
                .bind(s.bytes)
                .bind(s.paused_ms)
                .bind(format!("[{}]", pauses.join(",")))
                .bind(s.dropped_ms)
                .bind(id)
                .execute(&self.writer)
                .await?;
            }
            None => {
                sqlx::query("UPDATE recordings SET ended_at = ?, status = 'failed' WHERE id = ?")
                    .bind(unix_ms())
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn list_recordings(&self, limit: i64) -> Result<Vec<RecordingRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM recordings ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(&self.pool).await?)
    }

    pub async fn recording(&self, id: i64) -> Result<Option<RecordingRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM recordings WHERE id = ?").bind(id).fetch_optional(&self.pool).await?)
    }

    /// The recordings of these calls, oldest first (each call-ID bound).
    pub async fn recordings_of_calls(&self, call_ids: &[String]) -> Result<Vec<RecordingRow>, StoreError> {
        if call_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = sqlx::QueryBuilder::new("SELECT * FROM recordings WHERE call_id IN (");
        let mut list = qb.separated(", ");
        for id in call_ids {
            list.push_bind(id.clone());
        }
        qb.push(") ORDER BY id");
        Ok(qb.build_query_as().fetch_all(&self.pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recording_rows() {
        let (_d, store) = crate::store::test_store().await;
        let id = store.start_recording_row("c1", "/x/c1.wav", "wav", "stereo", 16000).await.unwrap();
        let s = RecordingSummary { duration_ms: 5000, bytes: 320_044, paused_ms: 1000, pauses: vec![(1000, 2000)], dropped_ms: 0 };
        store.finish_recording_row(id, Some(&s)).await.unwrap();
        let r = &store.list_recordings(5).await.unwrap()[0];
        assert_eq!((r.status.as_str(), r.duration_ms, r.pauses.as_deref()), ("done", Some(5000), Some("[[1000,2000]]")));
        let id2 = store.start_recording_row("c2", "/x/c2.wav", "wav", "mono", 16000).await.unwrap();
        store.finish_recording_row(id2, None).await.unwrap();
        assert_eq!(store.list_recordings(5).await.unwrap()[0].status, "failed");
        assert_eq!(store.recording(id).await.unwrap().map(|r| r.call_id), Some("c1".to_string()));
        assert_eq!(store.recording(999).await.unwrap(), None);
        let of = store.recordings_of_calls(&["c2".into(), "c1".into(), "') OR 1=1 --".into()]).await.unwrap();
        assert_eq!(of.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id, id2]);
        assert!(store.recordings_of_calls(&[]).await.unwrap().is_empty());
    }
}

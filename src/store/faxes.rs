//! Fax rows (migration 0014): received faxes and outbound send jobs, their
//! T.30 outcome and files. Owns the SQL only; the fax drivers are
//! `crate::call::fax` and the job runner `crate::fax::jobs`.

use super::{unix_ms, Store, StoreError};

/// A fax as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct FaxRecord {
    pub id: i64,
    /// `in` or `out`.
    pub direction: String,
    /// in: receiving, received, failed; out: queued, sending, retry, sent,
    /// failed, cancelled.
    pub status: String,
    pub call_id: Option<String>,
    pub remote_number: String,
    pub local_number: String,
    pub remote_ident: String,
    pub local_ident: String,
    pub header: String,
    pub pages: i64,
    pub bit_rate: i64,
    pub ecm: bool,
    /// `t38` or `g711`, once a session ran.
    pub transport: Option<String>,
    pub resolution: String,
    pub t30_code: Option<i64>,
    pub t30_reason: String,
    /// Relative to the data directory.
    pub tiff_path: Option<String>,
    pub pdf_path: Option<String>,
    pub document: String,
    pub email: String,
    pub emailed_at_ms: Option<i64>,
    pub email_error: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_attempt_ms: Option<i64>,
    pub requested_by: String,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, direction, status, call_id, remote_number, local_number, remote_ident, local_ident, header, \
     pages, bit_rate, ecm, transport, resolution, t30_code, t30_reason, tiff_path, pdf_path, document, email, \
     emailed_at_ms, email_error, attempts, max_attempts, next_attempt_ms, requested_by, created_at_ms, started_at_ms, \
     ended_at_ms";

/// An incoming fax as it starts.
#[derive(Debug, Clone, Default)]
pub struct NewIncomingFax {
    pub call_id: String,
    pub remote_number: String,
    pub local_number: String,
    pub local_ident: String,
    pub email: String,
    pub tiff_path: String,
}

/// An outbound job.
#[derive(Debug, Clone, Default)]
pub struct NewFaxJob {
    pub remote_number: String,
    pub local_ident: String,
    pub header: String,
    /// What was asked for (library name or uploaded file name).
    pub document: String,
    /// The TIFF to send, relative to the data directory.
    pub tiff_path: String,
    /// A PDF of the document for people to view, relative to the data
    /// directory (uploads; none for most library documents).
    pub pdf_path: Option<String>,
    pub max_attempts: u32,
    pub requested_by: String,
}

/// The outcome of one T.30 session.
#[derive(Debug, Clone, Default)]
pub struct FaxSessionResult {
    pub success: bool,
    pub remote_ident: String,
    pub pages: u32,
    pub bit_rate: u32,
    pub ecm: bool,
    /// `t38` or `g711`.
    pub transport: &'static str,
    pub resolution: String,
    pub t30_code: i32,
    pub t30_reason: String,
}

/// Filters of the fax list.
#[derive(Debug, Clone, Default)]
pub struct FaxFilter {
    pub direction: Option<String>,
    pub status: Option<String>,
    /// Matches remote number, remote ident, document.
    pub text: Option<String>,
    /// Only rows of this requester (`user:<name>`: a console agent's own jobs).
    pub requested_by: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

impl Store {
    pub async fn create_incoming_fax(&self, f: &NewIncomingFax) -> Result<i64, StoreError> {
        let now = unix_ms();
        let done = sqlx::query(
            "INSERT INTO faxes (direction, status, call_id, remote_number, local_number, local_ident, email, tiff_path, \
             requested_by, created_at_ms, started_at_ms) VALUES ('in', 'receiving', ?, ?, ?, ?, ?, ?, 'dialplan', ?, ?)",
        )
        .bind(&f.call_id)
        .bind(&f.remote_number)
        .bind(&f.local_number)
        .bind(&f.local_ident)
        .bind(&f.email)
        .bind(&f.tiff_path)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// An incoming fax ended; `pdf_path` when the PDF was made.
    pub async fn finish_incoming_fax(&self, id: i64, r: &FaxSessionResult, pdf_path: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE faxes SET status = ?, remote_ident = ?, pages = ?, bit_rate = ?, ecm = ?, transport = ?, resolution = ?, \
             t30_code = ?, t30_reason = ?, pdf_path = ?, ended_at_ms = ? WHERE id = ? AND direction = 'in'",
        )
        .bind(if r.success { "received" } else { "failed" })
        .bind(&r.remote_ident)
        .bind(i64::from(r.pages))
        .bind(i64::from(r.bit_rate))
        .bind(r.ecm)
        .bind(r.transport)
        .bind(&r.resolution)
        .bind(i64::from(r.t30_code))
        .bind(&r.t30_reason)
        .bind(pdf_path)
        .bind(unix_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn set_fax_emailed(&self, id: i64, error: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE faxes SET emailed_at_ms = ?, email_error = ? WHERE id = ?")
            .bind(error.is_none().then(unix_ms))
            .bind(error)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn create_fax_job(&self, j: &NewFaxJob) -> Result<i64, StoreError> {
        let now = unix_ms();
        let done = sqlx::query(
            "INSERT INTO faxes (direction, status, remote_number, local_ident, header, document, tiff_path, pdf_path, max_attempts, \
             requested_by, created_at_ms, next_attempt_ms) VALUES ('out', 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&j.remote_number)
        .bind(&j.local_ident)
        .bind(&j.header)
        .bind(&j.document)
        .bind(&j.tiff_path)
        .bind(&j.pdf_path)
        .bind(i64::from(j.max_attempts.max(1)))
        .bind(&j.requested_by)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// A document sent on a live call (fax-on-demand): born `sending`, one
    /// attempt, never seen by the job runner.
    pub async fn create_fax_on_call(&self, j: &NewFaxJob, call_id: &str) -> Result<i64, StoreError> {
        let now = unix_ms();
        let done = sqlx::query(
            "INSERT INTO faxes (direction, status, call_id, remote_number, local_ident, header, document, tiff_path, pdf_path, \
             attempts, max_attempts, requested_by, created_at_ms, started_at_ms) \
             VALUES ('out', 'sending', ?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?)",
        )
        .bind(call_id)
        .bind(&j.remote_number)
        .bind(&j.local_ident)
        .bind(&j.header)
        .bind(&j.document)
        .bind(&j.tiff_path)
        .bind(&j.pdf_path)
        .bind(&j.requested_by)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// Jobs whose next attempt is due at `now`, oldest first.
    pub async fn due_fax_jobs(&self, now: i64, limit: u32) -> Result<Vec<FaxRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM faxes WHERE direction = 'out' AND status IN ('queued', 'retry') \
             AND next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT ?"
        );
        Ok(sqlx::query_as(&sql).bind(now).bind(i64::from(limit)).fetch_all(&self.pool).await?)
    }

    /// Claims a due job for an attempt: only one runner wins.
    pub async fn start_fax_attempt(&self, id: i64, call_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE faxes SET status = 'sending', attempts = attempts + 1, call_id = ?, started_at_ms = ? \
             WHERE id = ? AND status IN ('queued', 'retry')",
        )
        .bind(call_id)
        .bind(unix_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An attempt ended. `retry_at`: try again then (busy, no answer);
    /// otherwise the job is final (`sent` or `failed`).
    pub async fn finish_fax_attempt(&self, id: i64, r: &FaxSessionResult, retry_at: Option<i64>) -> Result<(), StoreError> {
        let status = match (r.success, retry_at) {
            (true, _) => "sent",
            (false, Some(_)) => "retry",
            (false, None) => "failed",
        };
        sqlx::query(
            "UPDATE faxes SET status = ?, remote_ident = ?, pages = ?, bit_rate = ?, ecm = ?, transport = ?, resolution = ?, \
             t30_code = ?, t30_reason = ?, next_attempt_ms = ?, ended_at_ms = ? WHERE id = ? AND direction = 'out'",
        )
        .bind(status)
        .bind(&r.remote_ident)
        .bind(i64::from(r.pages))
        .bind(i64::from(r.bit_rate))
        .bind(r.ecm)
        .bind((!r.transport.is_empty()).then_some(r.transport))
        .bind(&r.resolution)
        .bind(i64::from(r.t30_code))
        .bind(&r.t30_reason)
        .bind(retry_at)
        .bind(unix_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Cancels a job that has not finished; false when there was none.
    pub async fn cancel_fax_job(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE faxes SET status = 'cancelled', next_attempt_ms = NULL, ended_at_ms = ? \
             WHERE id = ? AND direction = 'out' AND status IN ('queued', 'retry')",
        )
        .bind(unix_ms())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Jobs left `sending` by a crash go back to `retry` at start-up.
    pub async fn requeue_interrupted_fax_jobs(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE faxes SET status = CASE WHEN attempts < max_attempts THEN 'retry' ELSE 'failed' END, \
             next_attempt_ms = ?, t30_reason = CASE WHEN t30_reason = '' THEN 'interrupted by a restart' ELSE t30_reason END \
             WHERE direction = 'out' AND status = 'sending'",
        )
        .bind(unix_ms())
        .execute(&self.writer)
        .await?;
        let received = sqlx::query(
            "UPDATE faxes SET status = 'failed', t30_reason = 'interrupted by a restart', ended_at_ms = ? \
             WHERE direction = 'in' AND status = 'receiving'",
        )
        .bind(unix_ms())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() + received.rows_affected())
    }

    pub async fn get_fax(&self, id: i64) -> Result<Option<FaxRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM faxes WHERE id = ?");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Newest first. Text is matched with bound LIKE patterns (no SQL
    /// from input).
    pub async fn list_faxes(&self, f: &FaxFilter) -> Result<Vec<FaxRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM faxes WHERE (?1 IS NULL OR direction = ?1) AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR remote_number LIKE ?3 ESCAPE '\\' OR remote_ident LIKE ?3 ESCAPE '\\' \
             OR document LIKE ?3 ESCAPE '\\') AND (?6 IS NULL OR requested_by = ?6) ORDER BY id DESC LIMIT ?4 OFFSET ?5"
        );
        let like = f.text.as_deref().filter(|t| !t.is_empty()).map(|t| {
            let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let limit = if f.limit == 0 { 100 } else { f.limit.min(1000) };
        Ok(sqlx::query_as(&sql)
            .bind(f.direction.as_deref())
            .bind(f.status.as_deref())
            .bind(like)
            .bind(i64::from(limit))
            .bind(i64::from(f.offset))
            .bind(f.requested_by.as_deref())
            .fetch_all(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).await.unwrap();
        (dir, s)
    }

    fn ok(pages: u32) -> FaxSessionResult {
        FaxSessionResult {
            success: true,
            remote_ident: "+1 555 0100".into(),
            pages,
            bit_rate: 14400,
            ecm: true,
            transport: "t38",
            resolution: "204x98".into(),
            t30_code: 0,
            t30_reason: "OK".into(),
        }
    }

    #[tokio::test]
    async fn incoming_fax_lifecycle() {
        let (_d, s) = store().await;
        let id = s
            .create_incoming_fax(&NewIncomingFax {
                call_id: "c1".into(),
                remote_number: "5551000".into(),
                local_number: "5550199".into(),
                local_ident: "switchboard".into(),
                email: "fax@example.com".into(),
                tiff_path: "fax/in/1.tif".into(),
            })
            .await
            .unwrap();
        assert_eq!(s.get_fax(id).await.unwrap().unwrap().status, "receiving");
        s.finish_incoming_fax(id, &ok(2), Some("fax/in/1.pdf")).await.unwrap();
        s.set_fax_emailed(id, None).await.unwrap();
        let f = s.get_fax(id).await.unwrap().unwrap();
        assert_eq!((f.status.as_str(), f.pages, f.transport.as_deref(), f.pdf_path.as_deref()), ("received", 2, Some("t38"), Some("fax/in/1.pdf")));
        assert!(f.emailed_at_ms.is_some() && f.ecm);
    }

    #[tokio::test]
    async fn jobs_are_claimed_once_retried_and_finished() {
        let (_d, s) = store().await;
        let id = s
            .create_fax_job(&NewFaxJob { remote_number: "5552000".into(), tiff_path: "fax/out/1.tif".into(), max_attempts: 3, ..Default::default() })
            .await
            .unwrap();
        let due = s.due_fax_jobs(unix_ms() + 1, 10).await.unwrap();
        assert_eq!(due.iter().map(|f| f.id).collect::<Vec<_>>(), [id]);
        assert!(s.start_fax_attempt(id, "call-1").await.unwrap());
        assert!(!s.start_fax_attempt(id, "call-2").await.unwrap(), "a job in progress is not claimed again");
        let busy = FaxSessionResult { t30_reason: "busy".into(), ..Default::default() };
        let later = unix_ms() + 60_000;
        s.finish_fax_attempt(id, &busy, Some(later)).await.unwrap();
        assert!(s.due_fax_jobs(unix_ms(), 10).await.unwrap().is_empty(), "not due before its retry time");
        assert_eq!(s.due_fax_jobs(later, 10).await.unwrap().len(), 1);
        assert!(s.start_fax_attempt(id, "call-3").await.unwrap());
        s.finish_fax_attempt(id, &ok(1), None).await.unwrap();
        let f = s.get_fax(id).await.unwrap().unwrap();
        assert_eq!((f.status.as_str(), f.attempts), ("sent", 2));
        assert!(!s.cancel_fax_job(id).await.unwrap(), "a sent job cannot be cancelled");
    }

    #[tokio::test]
    async fn a_fax_on_the_call_is_never_due_for_the_runner() {
        let (_d, s) = store().await;
        let id = s.create_fax_on_call(&NewFaxJob { remote_number: "5551000".into(), ..Default::default() }, "c1").await.unwrap();
        assert!(s.due_fax_jobs(unix_ms() + 60_000, 10).await.unwrap().is_empty());
        let f = s.get_fax(id).await.unwrap().unwrap();
        assert_eq!((f.status.as_str(), f.attempts, f.call_id.as_deref()), ("sending", 1, Some("c1")));
        s.finish_fax_attempt(id, &ok(1), None).await.unwrap();
        assert_eq!(s.get_fax(id).await.unwrap().unwrap().status, "sent");
    }

    #[tokio::test]
    async fn interrupted_work_is_requeued_or_failed() {
        let (_d, s) = store().await;
        let job = s.create_fax_job(&NewFaxJob { max_attempts: 2, ..Default::default() }).await.unwrap();
        s.start_fax_attempt(job, "c").await.unwrap();
        let rx = s.create_incoming_fax(&NewIncomingFax::default()).await.unwrap();
        assert_eq!(s.requeue_interrupted_fax_jobs().await.unwrap(), 2);
        assert_eq!(s.get_fax(job).await.unwrap().unwrap().status, "retry");
        assert_eq!(s.get_fax(rx).await.unwrap().unwrap().status, "failed");
    }

    #[tokio::test]
    async fn list_filters_and_escapes_like() {
        let (_d, s) = store().await;
        for n in ["5551000", "5552000", "55%"] {
            s.create_fax_job(&NewFaxJob { remote_number: n.into(), ..Default::default() }).await.unwrap();
        }
        let hits = |t: &str| FaxFilter { text: Some(t.into()), ..Default::default() };
        assert_eq!(s.list_faxes(&hits("2000")).await.unwrap().len(), 1);
        assert_eq!(s.list_faxes(&hits("%")).await.unwrap().len(), 1, "% is literal");
        assert_eq!(s.list_faxes(&hits("' OR 1=1 --")).await.unwrap().len(), 0);
        assert_eq!(s.list_faxes(&FaxFilter { direction: Some("in".into()), ..Default::default() }).await.unwrap().len(), 0);
        assert_eq!(s.list_faxes(&FaxFilter::default()).await.unwrap().len(), 3);
        let mine = s.create_fax_job(&NewFaxJob { remote_number: "5553000".into(), requested_by: "user:ann".into(), pdf_path: Some("fax/out/x.pdf".into()), ..Default::default() }).await.unwrap();
        let own = s.list_faxes(&FaxFilter { requested_by: Some("user:ann".into()), ..Default::default() }).await.unwrap();
        assert_eq!(own.iter().map(|f| (f.id, f.pdf_path.as_deref())).collect::<Vec<_>>(), [(mine, Some("fax/out/x.pdf"))]);
    }
}

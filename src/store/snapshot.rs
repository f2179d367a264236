//! Whole-database copies for backup and restore: a consistent snapshot of
//! the live database (`VACUUM INTO`, safe while calls and the console
//! write), and the checks a database file from a backup must pass before
//! it may replace the live one (SQLite's integrity check, and migrations
//! this build knows). SQL only; where the files go is `crate::backup`'s.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{Store, StoreError, MIGRATOR};

/// What a checked database holds, for the admin's confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    pub extensions: i64,
    pub users: i64,
    pub call_records: i64,
}

impl Store {
    /// Writes a consistent copy of the whole database to `to` (which must
    /// not exist): one read transaction, so concurrent writes are either
    /// wholly in it or not at all; the copy is compact and self-contained
    /// (no `-wal` file beside it).
    pub async fn snapshot_into(&self, to: &Path) -> Result<(), StoreError> {
        let path = to.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not a UTF-8 path", to.display())))?;
        sqlx::query("VACUUM INTO ?").bind(path).execute(&self.pool).await?;
        Ok(())
    }

    /// Ends every console session (after a restore: sessions copied from
    /// another appliance, or from the past, must not log anyone in).
    pub async fn end_all_sessions(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions").execute(&self.writer).await?.rows_affected())
    }
}

/// Checks the database file `path` (a copy nobody else uses) before it
/// replaces the live one: it must be an SQLite database passing
/// `PRAGMA integrity_check`, made by this appliance (its migrations
/// table), with no migration this build does not know (a backup from a
/// newer version would not open). The refusal says why, for the admin.
pub async fn check_snapshot(path: &Path) -> Result<SnapshotSummary, String> {
    let opts = SqliteConnectOptions::new().filename(path).create_if_missing(false);
    let mut conn = opts.connect().await.map_err(|e| format!("the database does not open: {e}"))?;
    let result = check(&mut conn).await;
    let _ = conn.close().await;
    result
}

async fn check(conn: &mut sqlx::SqliteConnection) -> Result<SnapshotSummary, String> {
    let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| format!("the database cannot be read: {e}"))?;
    if rows.len() != 1 || rows[0].0 != "ok" {
        let first: Vec<&str> = rows.iter().take(3).map(|r| r.0.as_str()).collect();
        return Err(format!("the database fails its integrity check: {}", first.join("; ")));
    }
    let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success = 1")
        .fetch_all(&mut *conn)
        .await
        .map_err(|_| "the database is not a switchboard database (it has no migrations table)".to_string())?;
    for (version, checksum) in &applied {
        match MIGRATOR.iter().find(|m| m.version == *version) {
            None => return Err(format!("the database was made by a newer switchboard (migration {version} is unknown to {})", env!("CARGO_PKG_VERSION"))),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(format!("the database's migration {version} differs from this build's"));
            }
            Some(_) => {}
        }
    }
    let mut counts = [0i64; 3];
    for (n, table) in counts.iter_mut().zip(["extensions", "users", "call_records"]) {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        *n = sqlx::query_as::<_, (i64,)>(&sql).fetch_one(&mut *conn).await.map(|r| r.0).unwrap_or(0);
    }
    let [extensions, users, call_records] = counts;
    Ok(SnapshotSummary { extensions, users, call_records })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_snapshot_holds_the_data_and_passes_the_checks() {
        let (dir, store) = crate::store::test_store().await;
        let ext = crate::store::Extension::with_secret("1001", "Desk", "switchboard", "secret-1001", None).unwrap();
        store.add_extension(&ext).await.unwrap();
        let copy = dir.path().join("copy.db");
        store.snapshot_into(&copy).await.unwrap();
        let s = check_snapshot(&copy).await.unwrap();
        assert_eq!(s.extensions, 1);
        assert!(store.snapshot_into(&copy).await.is_err(), "never overwrites");

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![7u8; 8192]).unwrap();
        assert!(check_snapshot(&junk).await.unwrap_err().contains("database"));
        let missing = check_snapshot(&dir.path().join("none.db")).await.unwrap_err();
        assert!(missing.contains("does not open"), "{missing}");
    }
}

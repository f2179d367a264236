//! Persistence: the sqlx pool, in-tree migrations and one repository module
//! per aggregate. Owns SQL only; must not know about SIP messages or the web.
//! Queries are runtime-checked (`query_as`), never `query!` macros, so no
//! database is needed at build time.

mod acd;
mod api_keys;
mod call_log;
mod calls;
mod chats;
mod customers;
mod directory;
mod extensions;
mod faxes;
mod recordings;
mod registrations;
mod snapshot;
mod trunks;
mod users;
mod voicemail;

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use acd::{
    check_agent_id, check_dtmf_key, check_queue_name, check_skill_name, format_skill_relax, parse_skill_relax, validate_agent,
    validate_queue, Agent, AgentSkill, AgentState, Callback, CallbackState, Member, Overflow, Queue, QueueLogEntry, SkillRelax, Strategy,
};
pub use api_keys::{check_api_key_name, ApiKey, API_SCOPES};
pub use calls::{unix_ms, CallFilter, CallRecord, LegQualityRow};
pub use chats::{ChatMessage, ChatRecord, NewChat};
pub use customers::{normalize_phone, validate_customer, Customer, ImportReport, NewCustomer};
pub use extensions::{check_codec_list, check_extension_number, check_extension_secret, Extension};
pub use faxes::{FaxFilter, FaxRecord, FaxSessionResult, NewFaxJob, NewIncomingFax};
pub use recordings::{RecordingRow, RecordingSummary};
pub use registrations::Binding;
pub use snapshot::{check_snapshot, SnapshotSummary};
pub use trunks::{Did, Trunk, TrunkStatus};
pub use users::{check_password, MIN_PASSWORD_LEN, SETUP_LINK_SECS, normalize_username, AuditEntry, AuditFilter, LoginRefused, NewSession, Role, Session, User};
pub use voicemail::{Mailbox, MailboxKind, NewVoicemail, VoicemailMessage};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, created or migrated.
    #[error("database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    /// Migrations failed; the database is left as it was.
    #[error("migrating database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query: {0}")]
    Query(#[from] sqlx::Error),
    /// A batched call-record write failed (the batch's error, as text: one
    /// error answers every write in the batch).
    #[error("call record: {0}")]
    CallLog(String),
    /// A row the command relies on does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique key is taken.
    #[error("{0} already exists")]
    Exists(String),
    /// The write clashes with another row in a way `Exists` cannot say
    /// (e.g. an extension already belonging to another agent).
    #[error("{0}")]
    Conflict(String),
    /// A file the database indexes (a voicemail message) could not be removed.
    #[error("{path}: {source}")]
    File { path: String, source: std::io::Error },
    /// A value failed validation before reaching the database.
    #[error("{0}")]
    Invalid(String),
}

/// A value that failed validation and the setting it belongs to, named as
/// the row's field (`ring_timeout_secs`, `extensions`; a customer's extra
/// `data` is `fields`, as the CLI's `--field` and the admin API call it),
/// so an API can point at it. Becomes `StoreError::Invalid` (the message
/// alone) where only the message matters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

impl InvalidField {
    /// Tags a validation error with its field.
    pub(crate) fn tag(field: &'static str) -> impl Fn(StoreError) -> InvalidField {
        move |e| InvalidField { field, message: e.to_string() }
    }
}

impl From<InvalidField> for StoreError {
    fn from(e: InvalidField) -> StoreError {
        StoreError::Invalid(e.message)
    }
}

/// Handle to the appliance database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads (WAL readers never wait for the writer).
    pool: SqlitePool,
    /// Every write, on one connection: SQLite admits one writer at a time,
    /// and writers on several pooled connections wait for each other in its
    /// busy handler, which sleeps (1, 2, 5, 10 ms...) instead of queueing.
    /// Under call load that was most of the setup time's tail.
    writer: SqlitePool,
    /// Extensions, trunks and DIDs for the call path (see `directory`).
    directory: std::sync::Arc<directory::DirectoryCache>,
    /// Call-record writes, group-committed on `writer` (see `call_log`).
    call_log: std::sync::Arc<call_log::CallLog>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Opens (creating if needed) `dir/switchboard.db` in WAL mode and
    /// applies pending migrations.
    pub async fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("switchboard.db");
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(|e| open_err(sqlx::Error::Io(e)))?;
        let url = format!("sqlite://{}", path.display());
        let opts = SqliteConnectOptions::from_str(&url)
            .map_err(open_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts.clone()).await.map_err(open_err)?;
        MIGRATOR.run(&pool).await?;
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.map_err(open_err)?;
        let call_log = std::sync::Arc::new(call_log::CallLog::new(writer.clone()));
        Ok(Store { pool, writer, directory: std::sync::Arc::new(directory::DirectoryCache::new(dir)), call_log })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Current journal mode, for diagnostics and tests.
    pub async fn journal_mode(&self) -> Result<String, StoreError> {
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&self.pool).await?;
        Ok(mode)
    }
}

pub fn unix_time() -> i64 { unix_now() }

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Maps a unique-constraint violation to `Exists(what)`.
pub(crate) fn map_unique(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Exists(what.to_string()),
        _ => StoreError::Query(e),
    }
}

#[cfg(test)]
pub(crate) async fn test_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).await.expect("open store");
    (dir, store)
}

/// The 32-byte key that signs digest nonces, created on first use.
pub async fn server_key(store: &Store) -> Result<[u8; 32], StoreError> {
    let existing: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE name = 'nonce_key'")
        .fetch_optional(&store.pool)
        .await?;
    let decode = |hex: &str| -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        if hex.len() != 64 {
            return None;
        }
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(out)
    };
    if let Some(key) = existing.and_then(|(v,)| decode(&v)) {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT OR REPLACE INTO settings (name, value) VALUES ('nonce_key', ?)")
        .bind(hex)
        .execute(&store.writer)
        .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn opens_in_wal_mode_and_migrates_twice() {
        let (dir, store) = super::test_store().await;
        assert_eq!(store.journal_mode().await.unwrap().to_lowercase(), "wal");
        drop(store);
        // Reopening must not re-run or fail migrations.
        let again = super::Store::open(dir.path()).await.unwrap();
        assert!(again.list_extensions().await.unwrap().is_empty());
    }
}

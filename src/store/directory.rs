//! The routing directory (extensions, trunks, DIDs) held in memory, so a
//! call's lookups (digest, class of service, codecs, trunk and DID) cost a
//! map probe instead of a SQL round trip through sqlx's worker thread each.
//!
//! Owns: the snapshot, when it is stale, and the change stamp other
//! processes see. Must not touch: anything but those three tables (every
//! other read still goes to SQL), and it never writes them.
//!
//! Freshness. A write through any `Store` calls [`DirectoryCache::changed`]
//! after it commits: that bumps an in-process generation and rewrites the
//! stamp file beside the database. The CLI (`switchboard extension add`
//! while the appliance runs) is another process with its own `Store`, so
//! the running one sees the stamp change on its next lookup (one `stat`).
//! A stamp can in theory repeat (inode reused within one clock tick), and
//! a hand edit with the sqlite3 shell writes no stamp, so a snapshot also
//! expires after [`MAX_AGE`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sqlx::SqlitePool;

use super::extensions::EXTENSION_COLS;
use super::trunks::TRUNK_COLS;
use super::{Did, Extension, StoreError, Trunk};

/// Longest a snapshot is trusted without a stamp change.
pub const MAX_AGE: Duration = Duration::from_secs(5);
/// Beside `switchboard.db`; its content is irrelevant, its identity is the stamp.
const STAMP_FILE: &str = "directory.stamp";

/// One consistent copy of the three tables.
#[derive(Default)]
pub struct Directory {
    extensions: HashMap<String, Extension>,
    /// Ordered by name, as `list_trunks` always returned them.
    trunks: Vec<Trunk>,
    /// The trunk outbound calls take (`is_default`, else the oldest).
    default_trunk: Option<Trunk>,
    dids: HashMap<String, Did>,
}

impl Directory {
    pub fn extension(&self, number: &str) -> Option<&Extension> {
        self.extensions.get(number)
    }
    pub fn trunks(&self) -> &[Trunk] {
        &self.trunks
    }
    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }
    pub fn default_trunk(&self) -> Option<&Trunk> {
        self.default_trunk.as_ref()
    }
    pub fn did(&self, did: &str) -> Option<&Did> {
        self.dids.get(did)
    }
}

/// What identifies one write of the stamp file: rewritten by rename, so
/// each write is a new inode with its own modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    mtime: Option<SystemTime>,
}

struct Held {
    directory: Arc<Directory>,
    generation: u64,
    stamp: Option<Stamp>,
    loaded: Instant,
}

pub struct DirectoryCache {
    stamp_path: PathBuf,
    generation: AtomicU64,
    held: Mutex<Option<Held>>,
    /// One reload at a time: the calls that find the snapshot stale while
    /// it reloads wait for that one instead of each querying.
    reload: tokio::sync::Mutex<()>,
    max_age: Duration,
}

/// Not the directory itself: it holds digest HA1s and trunk secrets.
impl std::fmt::Debug for DirectoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryCache").field("stamp_path", &self.stamp_path).field("generation", &self.generation).finish()
    }
}

impl DirectoryCache {
    /// The cache for the database in `dir`.
    pub fn new(dir: &Path) -> DirectoryCache {
        DirectoryCache {
            stamp_path: dir.join(STAMP_FILE),
            generation: AtomicU64::new(0),
            held: Mutex::new(None),
            reload: tokio::sync::Mutex::new(()),
            max_age: MAX_AGE,
        }
    }

    #[cfg(test)]
    pub fn with_max_age(mut self, max_age: Duration) -> DirectoryCache {
        self.max_age = max_age;
        self
    }

    /// The three tables changed (called after the commit): this process
    /// reloads on its next lookup, other processes on their next stamp check.
    pub fn changed(&self) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        // A name of its own per write: two writers sharing one temporary
        // file would rename it from under each other.
        let tmp = self.stamp_path.with_file_name(format!("{STAMP_FILE}.{}.{generation}.tmp", std::process::id()));
        let written = std::fs::write(&tmp, std::process::id().to_string()).and_then(|()| std::fs::rename(&tmp, &self.stamp_path));
        if let Err(e) = written {
            // This process still sees the change; another one (the CLI beside
            // the running appliance) sees it after MAX_AGE.
            tracing::warn!(path = %self.stamp_path.display(), "directory change stamp not written: {e}");
        }
    }

    /// A guard that calls [`DirectoryCache::changed`] when dropped: made at
    /// the start of a write, it fires when the write returns, fails or is
    /// cancelled (a dropped future's statement can still commit in sqlx's
    /// worker thread). A write that changed nothing costs one reload.
    pub fn changes(&self) -> ChangeGuard<'_> {
        ChangeGuard(self)
    }

    fn stamp(&self) -> Option<Stamp> {
        let meta = std::fs::metadata(&self.stamp_path).ok()?;
        Some(Stamp { ino: std::os::unix::fs::MetadataExt::ino(&meta), mtime: meta.modified().ok() })
    }

    fn fresh(&self, stamp: Option<Stamp>) -> Option<Arc<Directory>> {
        let held = self.held.lock().ok()?;
        let h = held.as_ref()?;
        let fresh = h.generation == self.generation.load(Ordering::SeqCst) && h.stamp == stamp && h.loaded.elapsed() < self.max_age;
        fresh.then(|| h.directory.clone())
    }

    /// The current directory, reloaded from `pool` when stale.
    pub async fn get(&self, pool: &SqlitePool) -> Result<Arc<Directory>, StoreError> {
        if let Some(d) = self.fresh(self.stamp()) {
            return Ok(d);
        }
        let _one = self.reload.lock().await;
        // Generation and stamp are read before the load: a write committed
        // while it runs leaves them behind, so the next lookup reloads again.
        let generation = self.generation.load(Ordering::SeqCst);
        let stamp = self.stamp();
        if let Some(d) = self.fresh(stamp) {
            return Ok(d);
        }
        let directory = Arc::new(load(pool).await?);
        if let Ok(mut held) = self.held.lock() {
            *held = Some(Held { directory: directory.clone(), generation, stamp, loaded: Instant::now() });
        }
        Ok(directory)
    }
}

/// See [`DirectoryCache::changes`].
pub struct ChangeGuard<'a>(&'a DirectoryCache);

impl Drop for ChangeGuard<'_> {
    fn drop(&mut self) {
        self.0.changed();
    }
}

/// Reads the three tables in one read transaction (one consistent view).
async fn load(pool: &SqlitePool) -> Result<Directory, StoreError> {
    let mut tx = pool.begin().await?;
    let extensions: Vec<Extension> =
        sqlx::query_as(&format!("SELECT {EXTENSION_COLS} FROM extensions")).fetch_all(&mut *tx).await?;
    let trunks: Vec<Trunk> = sqlx::query_as(&format!("SELECT {TRUNK_COLS} FROM trunks ORDER BY name")).fetch_all(&mut *tx).await?;
    let default_trunk: Option<Trunk> = sqlx::query_as(&format!("SELECT {TRUNK_COLS} FROM trunks ORDER BY is_default DESC, created_at LIMIT 1"))
        .fetch_optional(&mut *tx)
        .await?;
    let dids: Vec<Did> = sqlx::query_as("SELECT did, trunk, extension FROM trunk_dids").fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(Directory {
        extensions: extensions.into_iter().map(|e| (e.number.clone(), e)).collect(),
        trunks,
        default_trunk,
        dids: dids.into_iter().map(|d| (d.did.clone(), d)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{test_store, Store};

    fn ext(n: &str) -> Extension {
        Extension::with_secret(n, "Agent", "switchboard", "a-long-secret-1", None).expect("extension")
    }

    fn trunk(name: &str, is_default: bool) -> Trunk {
        Trunk { is_default, ..crate::store::trunks::tests::trunk(name) }
    }

    #[tokio::test]
    async fn writes_through_the_store_are_seen_at_once() {
        let (_dir, store) = test_store().await;
        assert_eq!(store.extension("1001").await.unwrap(), None, "a miss is cached too");
        store.add_extension(&ext("1001")).await.unwrap();
        assert_eq!(store.extension("1001").await.unwrap().map(|e| e.name), Some("Agent".into()));
        store.update_extension("1001", "Renamed", Some("PCMA")).await.unwrap();
        let e = store.extension("1001").await.unwrap().unwrap();
        assert_eq!((e.name.as_str(), e.codecs.as_deref()), ("Renamed", Some("PCMA")));
        store.set_extension_dial_class("1001", crate::config::DialClass::International).await.unwrap();
        assert_eq!(store.extension("1001").await.unwrap().unwrap().dial_class, "international");
        let old_ha1 = e.ha1_md5;
        store.set_extension_secret("1001", "switchboard", "another-secret-22").await.unwrap();
        assert_ne!(store.extension("1001").await.unwrap().unwrap().ha1_md5, old_ha1, "a new secret replaces the cached HA1");
        store.remove_extension("1001").await.unwrap();
        assert_eq!(store.extension("1001").await.unwrap(), None);

        assert_eq!(store.default_trunk().await.unwrap(), None);
        store.add_trunk(&trunk("b-carrier", false), &[("5550100".into(), "1001".into())]).await.unwrap();
        store.add_trunk(&trunk("a-carrier", false), &[]).await.unwrap();
        let names: Vec<String> = store.list_trunks().await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["a-carrier", "b-carrier"], "ordered by name");
        assert_eq!(store.default_trunk().await.unwrap().unwrap().name, "b-carrier", "the first trunk is the default");
        assert_eq!(store.did("5550100").await.unwrap().unwrap().trunk, "b-carrier");
        store.update_trunk(&trunk("a-carrier", true)).await.unwrap();
        assert_eq!(store.default_trunk().await.unwrap().unwrap().name, "a-carrier");
        assert!(store.trunk("a-carrier").await.unwrap().unwrap().is_default);
        store.remove_trunk("b-carrier").await.unwrap();
        assert_eq!(store.did("5550100").await.unwrap(), None, "its DIDs went with it");
        assert_eq!(store.trunk("b-carrier").await.unwrap(), None);
    }

    #[tokio::test]
    async fn another_process_store_is_seen_through_the_stamp() {
        // The CLI run beside the appliance opens its own Store on the same directory.
        let (dir, appliance) = test_store().await;
        assert_eq!(appliance.extension("2002").await.unwrap(), None);
        let cli = Store::open(dir.path()).await.unwrap();
        cli.add_extension(&ext("2002")).await.unwrap();
        assert!(appliance.extension("2002").await.unwrap().is_some(), "seen on the next lookup, not after MAX_AGE");
        cli.remove_extension("2002").await.unwrap();
        assert_eq!(appliance.extension("2002").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_write_outside_any_store_is_seen_after_max_age() {
        let (dir, mut store) = test_store().await;
        store.directory = Arc::new(DirectoryCache::new(dir.path()).with_max_age(Duration::from_secs(1)));
        store.add_trunk(&trunk("carrier", false), &[]).await.unwrap();
        assert_eq!(store.did("5559999").await.unwrap(), None);
        // As with the sqlite3 shell: no stamp is written.
        sqlx::query("INSERT INTO trunk_dids (did, trunk, extension) VALUES ('5559999', 'carrier', '1001')")
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(store.did("5559999").await.unwrap(), None, "the snapshot is trusted until it is old");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(store.did("5559999").await.unwrap().map(|d| d.extension), Some("1001".into()));
    }
}

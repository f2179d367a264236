//! Backup and restore of the appliance's state as one `.tar.gz` archive:
//! a consistent database snapshot, the configuration file, the prompt and
//! dialplan folders and, on request, recordings and voicemail audio, with a
//! `manifest.json` (first in the archive) listing every file's size and
//! SHA-256.
//!
//! - `pack`: making an archive in a work folder of the data directory
//!   (never all in memory), for the console to stream.
//! - `unpack`: checking an uploaded archive (ours, intact, no absolute
//!   paths, `..`, links or devices, a database passing its integrity check)
//!   and staging it as `<data>/restore-pending/`.
//! - `apply`: at the next start, before the store is opened, moving the
//!   current database and folders aside to `<data>/pre-restore-<time>/`
//!   and the staged ones in place.
//!
//! Owns these files and folders only: SQL is the store's, the config file
//! format the config module's, and who may do it the console's.

mod apply;
mod pack;
mod unpack;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigSource};

pub use apply::{apply_pending, Applied};
pub use pack::{create, Backup};
pub use unpack::{cancel_pending, pending, stage, RestoreError, Staged};

/// `manifest.json`'s `format`.
pub const FORMAT: &str = "switchboard-backup";
/// The archive layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
/// Staged restore, applied at the next start.
pub const PENDING_DIR: &str = "restore-pending";
/// `<data>/pre-restore-<time>/`: what a restore replaced.
pub const ASIDE_PREFIX: &str = "pre-restore-";
/// Largest archive the console accepts (413 beyond).
pub const MAX_ARCHIVE: u64 = 2 << 30;
/// Largest total the files of one archive may unpack to.
pub const MAX_UNPACKED: u64 = 32 << 30;
/// The database inside an archive.
pub const DB_ENTRY: &str = "db/switchboard.db";
/// The configuration file inside an archive.
pub const CONFIG_ENTRY: &str = "config/switchboard.toml";

/// The parts an archive may hold (the first path component of every file).
pub const PARTS: &[&str] = &["db", "config", "prompts", "dialplans", "recordings", "voicemail"];

/// What an archive says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The switchboard version that made it.
    pub app_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Parts backed up (a folder part may hold no files: it was empty).
    pub includes: Vec<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// `/`-separated, relative, e.g. `prompts/en/welcome.wav`.
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

impl Manifest {
    /// The sum of the listed sizes; `u64::MAX` when it overflows (a hostile
    /// manifest), which every size limit then refuses.
    pub fn total_size(&self) -> u64 {
        self.files.iter().try_fold(0u64, |acc, f| acc.checked_add(f.size)).unwrap_or(u64::MAX)
    }
}

/// Where each part lives on this appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub data: PathBuf,
    /// The configuration file (may not exist: defaults).
    pub config_file: PathBuf,
    pub prompts: PathBuf,
    pub dialplans: PathBuf,
    pub recordings: PathBuf,
    pub voicemail: PathBuf,
}

impl Layout {
    pub fn new(data: &Path, config: &Config, source: &ConfigSource) -> Layout {
        Layout {
            data: data.to_path_buf(),
            config_file: source.path.clone(),
            prompts: config.media.prompts_dir.clone(),
            dialplans: config.dialplan.dir.clone(),
            recordings: data.join("recordings"),
            voicemail: config.voicemail.dir_in(data),
        }
    }

    /// The live folder of a folder part.
    pub fn folder(&self, part: &str) -> Option<&Path> {
        match part {
            "prompts" => Some(&self.prompts),
            "dialplans" => Some(&self.dialplans),
            "recordings" => Some(&self.recordings),
            "voicemail" => Some(&self.voicemail),
            _ => None,
        }
    }
}

/// Lower-case hex of a digest.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now as RFC 3339 (UTC, seconds) and as a folder-name stamp.
fn now_stamps() -> (String, String) {
    let now = jiff::Timestamp::now();
    let secs = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
    (secs.to_string(), secs.strftime("%Y%m%d-%H%M%S").to_string())
}

/// A work folder of the data directory, removed with everything in it when dropped.
#[derive(Debug)]
pub struct WorkDir(PathBuf);

impl WorkDir {
    /// `<data>/.<prefix>-<random>/`, created.
    pub fn new(data: &Path, prefix: &str) -> std::io::Result<WorkDir> {
        std::fs::create_dir_all(data)?;
        let dir = data.join(format!(".{prefix}-{:016x}", rand::random::<u64>()));
        std::fs::create_dir(&dir)?;
        Ok(WorkDir(dir))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Hidden work folders a crash left behind (`.backup-*`, `.restore-*`).
fn clean_leftovers(data: &Path) {
    let Ok(rd) = std::fs::read_dir(data) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".backup-") || name.starts_with(".restore-") {
            let p = e.path();
            let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A backup made from a live store is staged by the restore side, and an
    /// altered copy of it is refused.
    #[tokio::test]
    async fn an_archive_round_trips_and_an_altered_one_is_refused() {
        let (dir, store) = crate::store::test_store().await;
        let ext = crate::store::Extension::with_secret("1001", "Desk", "switchboard", "secret-1001", None).unwrap();
        store.add_extension(&ext).await.unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("plans/sub")).unwrap();
        std::fs::write(root.join("plans/sub/a.toml"), "# plan").unwrap();
        std::fs::write(root.join("plans/.hidden.tmp"), "half written").unwrap();
        let cfg = format!("[dialplan]\ndir = \"{}\"\n[media]\nprompts_dir = \"{}\"\n", root.join("plans").display(), root.join("none").display());
        let source = ConfigSource::locate(None, root);
        std::fs::write(&source.path, &cfg).unwrap();
        let layout = Layout::new(root, &Config::parse(&cfg, "t").unwrap(), &source);

        let b = create(&store, &layout, false).await.unwrap();
        let names: Vec<&str> = b.manifest.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, [DB_ENTRY, CONFIG_ENTRY, "dialplans/sub/a.toml"], "hidden files stay out");
        assert_eq!(b.manifest.includes, ["db", "config", "prompts", "dialplans"]);
        let mut archive = Vec::new();
        for p in &b.parts {
            archive.extend(std::fs::read(p).unwrap());
        }
        assert_eq!(archive.len() as u64, b.size);
        let work = b.work.path().to_path_buf();
        drop(b);
        assert!(!work.exists(), "the work folder goes with the backup");

        let other = tempfile::tempdir().unwrap();
        let file = other.path().join("upload.tar.gz");
        std::fs::write(&file, &archive).unwrap();
        let staged = stage(&file, other.path()).await.unwrap();
        assert_eq!(staged.database.extensions, 1);
        let pending = other.path().join(PENDING_DIR);
        assert_eq!(std::fs::read_to_string(pending.join("dialplans/sub/a.toml")).unwrap(), "# plan");
        assert_eq!(unpack::pending(other.path()).unwrap().files.len(), 3);

        // The last file's bytes flipped inside the gzip stream: a checksum refusal, nothing staged.
        cancel_pending(other.path()).unwrap();
        let mut raw = Vec::new();
        flate2::read::MultiGzDecoder::new(&archive[..]).read_to_end(&mut raw).unwrap();
        let at = raw.windows(6).position(|w| w == b"# plan").unwrap();
        raw[at] = b'!';
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        std::fs::write(&file, gz.finish().unwrap()).unwrap();
        match stage(&file, other.path()).await {
            Err(RestoreError::Refused(m)) => assert!(m.contains("does not match its checksum"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(!pending.exists());
        let left: Vec<_> = std::fs::read_dir(other.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["upload.tar.gz"], "no work folder left");
    }
}

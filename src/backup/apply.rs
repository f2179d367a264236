//! Applying a staged restore at start, before the store is opened: the
//! configuration file first (it says where the folders are), then the
//! database (with its `-wal`/`-shm` files, which must never meet another
//! database) and each folder part the backup includes. Everything current
//! is moved aside to `<data>/pre-restore-<time>/` before anything restored
//! is moved in; when any step fails, every move made is undone, the staged
//! restore stays, and the start is refused with the reason.

use std::io;
use std::path::{Path, PathBuf};

use super::unpack::staged_path;
use super::{clean_leftovers, now_stamps, Layout, Manifest, ASIDE_PREFIX, CONFIG_ENTRY, MANIFEST, PENDING_DIR};
use crate::config::ConfigSource;

/// A restore that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub manifest: Manifest,
    /// Where the replaced data went.
    pub aside: PathBuf,
}

impl Applied {
    /// One line for the log and the audit entry.
    pub fn describe(&self) -> String {
        format!(
            "restored the backup of {} (switchboard {}: {}); the data it replaced is in {}",
            self.manifest.created_at,
            self.manifest.app_version,
            self.manifest.includes.join(", "),
            self.aside.display()
        )
    }
}

/// Applies `<data>/restore-pending/` if there is one. Also removes work
/// folders an interrupted backup or upload left. Call before the store
/// and the configuration are loaded.
pub fn apply_pending(data: &Path, source: &ConfigSource) -> Result<Option<Applied>, String> {
    clean_leftovers(data);
    let pending = data.join(PENDING_DIR);
    if !pending.exists() {
        return Ok(None);
    }
    let keep = format!("(remove {} to start without restoring)", pending.display());
    let manifest = super::unpack::pending(data).ok_or_else(|| format!("the staged restore has no readable manifest {keep}"))?;
    let (_, stamp) = now_stamps();
    let aside = data.join(format!("{ASIDE_PREFIX}{stamp}"));
    let mut moves = Moves::default();
    match apply(&pending, &aside, data, source, &manifest, &mut moves) {
        Ok(()) => {
            let _ = std::fs::rename(pending.join(MANIFEST), aside.join("restored-manifest.json"));
            let _ = std::fs::remove_dir_all(&pending);
            Ok(Some(Applied { manifest, aside }))
        }
        Err(e) => {
            let undone = moves.undo();
            if undone {
                // Only the empty folders the moves made are left in it.
                let _ = std::fs::remove_dir_all(&aside);
            }
            let state = if undone { "nothing was changed" } else { "some moves could not be undone: see the folders named above" };
            Err(format!("restore failed: {e}; {state} {keep}"))
        }
    }
}

fn apply(pending: &Path, aside: &Path, data: &Path, source: &ConfigSource, manifest: &Manifest, moves: &mut Moves) -> io::Result<()> {
    std::fs::create_dir(aside)?;
    let has = |part: &str| manifest.includes.iter().any(|p| p == part);
    // Where this appliance keeps its folders now: a restored config must
    // not move them (an archive naming, say, a home directory as its
    // prompts folder would have that directory replaced).
    let current = source.load().map_err(|e| io::Error::other(e.to_string()))?;
    let current_layout = Layout::new(data, &current, source);
    // The configuration goes first: it is checked against the folders below.
    if has("config") {
        if source.path.exists() {
            let name = source.path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "switchboard.toml".into());
            moves.mv(&source.path, &aside.join("config").join(name))?;
        }
        moves.mv(&staged_path(pending, CONFIG_ENTRY), &source.path)?;
    }
    let config = source.load().map_err(|e| io::Error::other(e.to_string()))?;
    let layout = Layout::new(data, &config, source);
    let data_real = std::fs::canonicalize(data)?;
    // Everything current aside first...
    let db = data.join("switchboard.db");
    for side in ["", "-wal", "-shm", "-journal"] {
        let live = PathBuf::from(format!("{}{side}", db.display()));
        if live.exists() {
            moves.mv(&live, &aside.join("db").join(format!("switchboard.db{side}")))?;
        }
    }
    // Only names `Layout::folder` maps, so its `expect`s below cannot fire.
    let folders: Vec<&str> = ["prompts", "dialplans", "recordings", "voicemail"].into_iter().filter(|p| has(p)).collect();
    for part in &folders {
        if layout.folder(part) != current_layout.folder(part) {
            return Err(io::Error::other(format!(
                "the backup's configuration keeps {part} in {} but this appliance in {}: restore refused (change the configuration first, or restore a backup made with the same folders)",
                layout.folder(part).map(|p| p.display().to_string()).unwrap_or_default(),
                current_layout.folder(part).map(|p| p.display().to_string()).unwrap_or_default()
            )));
        }
    }
    for part in &folders {
        let live = layout.folder(part).expect("a folder part");
        if let Ok(real) = std::fs::canonicalize(live) {
            if data_real.starts_with(&real) {
                return Err(io::Error::other(format!("the {part} folder {} contains the data directory", live.display())));
            }
            moves.mv(live, &aside.join(part))?;
        }
    }
    // ...then the restored parts in.
    moves.mv(&staged_path(pending, super::DB_ENTRY), &db)?;
    for part in &folders {
        let live = layout.folder(part).expect("a folder part");
        let staged = pending.join(part);
        if staged.is_dir() {
            moves.mv(&staged, live)?;
        } else {
            // The folder was backed up empty.
            std::fs::create_dir_all(live)?;
        }
    }
    Ok(())
}

/// Moves made so far, to undo on failure.
#[derive(Default)]
struct Moves(Vec<(PathBuf, PathBuf)>);

impl Moves {
    fn mv(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        move_path(from, to).map_err(|e| io::Error::new(e.kind(), format!("moving {} to {}: {e}", from.display(), to.display())))?;
        self.0.push((from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }
    /// Reverses every move, newest first; false if one could not be.
    fn undo(&mut self) -> bool {
        let mut all = true;
        while let Some((from, to)) = self.0.pop() {
            if let Err(e) = move_path(&to, &from) {
                tracing::error!("undoing a restore: moving {} back to {}: {e}", to.display(), from.display());
                eprintln!("switchboard: undoing a restore: moving {} back to {}: {e}", to.display(), from.display());
                all = false;
            }
        }
        all
    }
}

/// `rename`, or copy and remove across file systems.
fn move_path(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    if to.exists() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", to.display())));
    }
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            copy_all(from, to)?;
            if from.is_dir() {
                std::fs::remove_dir_all(from)
            } else {
                std::fs::remove_file(from)
            }
        }
        other => other,
    }
}

fn copy_all(from: &Path, to: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_all(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from)?;
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(target, to)
        }
        #[cfg(not(unix))]
        {
            std::fs::copy(target, to).map(drop)
        }
    } else {
        std::fs::copy(from, to).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{FileEntry, FORMAT, FORMAT_VERSION};

    fn manifest(includes: &[&str]) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            app_version: "0".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            includes: includes.iter().map(|s| s.to_string()).collect(),
            files: vec![FileEntry { path: "db/switchboard.db".into(), size: 2, sha256: "0".repeat(64) }],
        }
    }

    #[test]
    fn a_staged_restore_swaps_the_parts_and_keeps_the_old_ones_aside() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("var");
        let plans = root.path().join("plans");
        let prompts = root.path().join("prompts");
        std::fs::create_dir_all(&plans).unwrap();
        std::fs::create_dir_all(&prompts).unwrap();
        std::fs::write(plans.join("old.toml"), "old").unwrap();
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("switchboard.db"), "old-db").unwrap();
        std::fs::write(data.join("switchboard.db-wal"), "old-wal").unwrap();
        let cfg = format!("[dialplan]\ndir = \"{}\"\n[media]\nprompts_dir = \"{}\"\n", plans.display(), prompts.display());
        let source = ConfigSource::locate(None, &data);
        std::fs::write(&source.path, &cfg).unwrap();
        assert_eq!(apply_pending(&data, &source).unwrap(), None, "nothing staged");

        let pending = data.join(PENDING_DIR);
        std::fs::create_dir_all(pending.join("db")).unwrap();
        std::fs::create_dir_all(pending.join("config")).unwrap();
        std::fs::create_dir_all(pending.join("dialplans")).unwrap();
        std::fs::write(pending.join("db/switchboard.db"), "new-db").unwrap();
        std::fs::write(pending.join("config/switchboard.toml"), format!("{cfg}[site]\ntimezone = \"Europe/Berlin\"\n")).unwrap();
        std::fs::write(pending.join("dialplans/new.toml"), "new").unwrap();
        std::fs::write(pending.join(MANIFEST), serde_json::to_vec(&manifest(&["db", "config", "dialplans", "prompts"])).unwrap()).unwrap();

        let applied = apply_pending(&data, &source).unwrap().expect("applied");
        assert_eq!(std::fs::read_to_string(data.join("switchboard.db")).unwrap(), "new-db");
        assert!(!data.join("switchboard.db-wal").exists(), "the old WAL never meets the restored database");
        assert!(source.load().unwrap().site.timezone == "Europe/Berlin");
        assert!(plans.join("new.toml").exists() && !plans.join("old.toml").exists());
        assert!(prompts.is_dir(), "an included empty folder is recreated");
        assert!(!pending.exists());
        let aside = &applied.aside;
        assert_eq!(std::fs::read_to_string(aside.join("db/switchboard.db-wal")).unwrap(), "old-wal");
        assert!(aside.join("dialplans/old.toml").exists() && aside.join("config/switchboard.toml").exists());
        assert!(aside.join("restored-manifest.json").exists());
    }

    #[test]
    fn a_failing_restore_changes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("var");
        std::fs::create_dir_all(data.join(PENDING_DIR).join("config")).unwrap();
        std::fs::write(data.join("switchboard.db"), "old-db").unwrap();
        let source = ConfigSource::locate(None, &data);
        std::fs::write(&source.path, "[site]\ntimezone = \"UTC\"\n").unwrap();
        // No database staged: the last move fails.
        std::fs::write(data.join(PENDING_DIR).join("config/switchboard.toml"), "[site]\ntimezone = \"Europe/Paris\"\n").unwrap();
        std::fs::write(data.join(PENDING_DIR).join(MANIFEST), serde_json::to_vec(&manifest(&["db", "config"])).unwrap()).unwrap();
        let err = apply_pending(&data, &source).unwrap_err();
        assert!(err.contains("nothing was changed"), "{err}");
        assert_eq!(std::fs::read_to_string(data.join("switchboard.db")).unwrap(), "old-db");
        assert_eq!(source.load().unwrap().site.timezone, "UTC");
        assert!(data.join(PENDING_DIR).join("config/switchboard.toml").exists(), "the staged restore stays");
        assert!(!std::fs::read_dir(&data).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with(ASIDE_PREFIX)));
    }
}

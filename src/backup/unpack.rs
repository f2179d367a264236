//! Checking an uploaded archive and staging it for the next start. The
//! archive must be ours: `manifest.json` first (format, version, the parts
//! and files it lists), then only files it lists with their size and
//! SHA-256, under the known parts; no absolute path, no `..`, no links,
//! devices or other special entries; the database must pass SQLite's
//! integrity check and the configuration file [`Config::parse`]. Files are
//! written by this code (never by the tar crate's unpacker) below a fresh
//! work folder, which becomes `<data>/restore-pending/` only when
//! everything checked out.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use super::{hex, Manifest, WorkDir, CONFIG_ENTRY, DB_ENTRY, FORMAT, FORMAT_VERSION, MANIFEST, MAX_UNPACKED, PARTS, PENDING_DIR};
use crate::config::Config;
use crate::store::SnapshotSummary;

/// Why an archive was not staged.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// Not a backup of ours, damaged, or unsafe: the admin's archive is at fault.
    #[error("{0}")]
    Refused(String),
    /// Disk trouble on this side.
    #[error("cannot stage the restore: {0}")]
    Failed(String),
}

fn refuse<T>(why: impl Into<String>) -> Result<T, RestoreError> {
    Err(RestoreError::Refused(why.into()))
}

/// A verified archive waiting in `<data>/restore-pending/`.
#[derive(Debug, Clone)]
pub struct Staged {
    pub manifest: Manifest,
    pub database: SnapshotSummary,
}

/// The staged restore's manifest, if one waits for the next start.
pub fn pending(data: &Path) -> Option<Manifest> {
    let text = std::fs::read(data.join(PENDING_DIR).join(MANIFEST)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Drops the staged restore; false when there was none.
pub fn cancel_pending(data: &Path) -> io::Result<bool> {
    let dir = data.join(PENDING_DIR);
    if !dir.exists() {
        return Ok(false);
    }
    // Renamed first, so a half-removed folder is never taken for a restore.
    let trash = WorkDir::new(data, "restore-cancelled")?;
    std::fs::rename(&dir, trash.path().join("x"))?;
    Ok(true)
}

/// Checks the archive at `upload` and stages it in `data`, replacing a
/// restore staged before.
pub async fn stage(upload: &Path, data: &Path) -> Result<Staged, RestoreError> {
    let failed = |e: io::Error| RestoreError::Failed(e.to_string());
    let work = WorkDir::new(data, "restore-staging").map_err(failed)?;
    let (archive, into) = (upload.to_path_buf(), work.path().join("x"));
    let manifest = tokio::task::spawn_blocking(move || unpack(&archive, &into))
        .await
        .map_err(|e| RestoreError::Failed(e.to_string()))??;
    let staged = work.path().join("x");
    let database = crate::store::check_snapshot(&staged.join(DB_ENTRY)).await.map_err(RestoreError::Refused)?;
    // check_snapshot may leave SQLite's side files; the restore moves only the database.
    for side in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(staged.join(format!("{DB_ENTRY}{side}")));
    }
    if manifest.includes.iter().any(|p| p == "config") {
        let text = std::fs::read_to_string(staged.join(CONFIG_ENTRY)).map_err(failed)?;
        if let Err(e) = Config::parse(&text, "the backup's switchboard.toml") {
            return refuse(format!("{e} (the appliance would not start with it)"));
        }
    }
    let pending = data.join(PENDING_DIR);
    cancel_pending(data).map_err(failed)?;
    std::fs::rename(&staged, &pending).map_err(failed)?;
    Ok(Staged { manifest, database })
}

/// A relative `/`-separated path of plain names below a known part, or why not.
fn safe_path(raw: &[u8]) -> Result<String, String> {
    let shown = String::from_utf8_lossy(raw).into_owned();
    let Ok(text) = std::str::from_utf8(raw) else { return Err(format!("\"{shown}\" is not UTF-8")) };
    let text = text.strip_suffix('/').unwrap_or(text);
    if text.is_empty() || text.starts_with('/') || text.contains(['\\', '\0']) || text.len() > 4096 {
        return Err(format!("\"{shown}\" is not a relative path"));
    }
    if text.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(format!("\"{shown}\" leaves its folder"));
    }
    Ok(text.to_string())
}

/// The manifest, checked on its own.
fn read_manifest(bytes: &[u8]) -> Result<Manifest, RestoreError> {
    let m: Manifest = match serde_json::from_slice(bytes) {
        Ok(m) => m,
        Err(e) => return refuse(format!("manifest.json is not a switchboard manifest: {e}")),
    };
    if m.format != FORMAT {
        return refuse(format!("manifest.json says format \"{}\", not \"{FORMAT}\"", m.format));
    }
    if m.format_version != FORMAT_VERSION {
        return refuse(format!("the backup has layout version {} (this switchboard reads {FORMAT_VERSION})", m.format_version));
    }
    if let Some(p) = m.includes.iter().find(|p| !PARTS.contains(&p.as_str())) {
        return refuse(format!("manifest.json includes an unknown part \"{p}\""));
    }
    if !m.files.iter().any(|f| f.path == DB_ENTRY) {
        return refuse("the backup holds no database");
    }
    if m.total_size() > MAX_UNPACKED {
        return refuse(format!("the backup unpacks to more than {} GiB", MAX_UNPACKED >> 30));
    }
    for f in &m.files {
        let path = safe_path(f.path.as_bytes()).or_else(refuse)?;
        let part = path.split('/').next().unwrap_or("");
        let placed = match part {
            "db" => path == DB_ENTRY,
            "config" => path == CONFIG_ENTRY,
            _ => path.contains('/'),
        };
        if !placed || !m.includes.iter().any(|p| p == part) {
            return refuse(format!("manifest.json lists \"{path}\" outside the parts it includes"));
        }
        if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return refuse(format!("manifest.json has no SHA-256 for \"{path}\""));
        }
    }
    Ok(m)
}

/// Unpacks `archive` into `into` (created), checking every entry.
fn unpack(archive: &Path, into: &Path) -> Result<Manifest, RestoreError> {
    let failed = |e: io::Error| RestoreError::Failed(e.to_string());
    let file = File::open(archive).map_err(failed)?;
    let mut tar = tar::Archive::new(MultiGzDecoder::new(BufReader::new(file)));
    let damaged = |e: io::Error| RestoreError::Refused(format!("not a readable .tar.gz archive: {e}"));
    let mut entries = tar.entries().map_err(damaged)?;
    let manifest = match entries.next() {
        None => return refuse("the archive is empty"),
        Some(e) => {
            let mut e = e.map_err(damaged)?;
            let regular = e.header().entry_type() == tar::EntryType::Regular;
            if !regular || e.path_bytes().as_ref() != MANIFEST.as_bytes() {
                return refuse("not a switchboard backup: manifest.json is not its first entry");
            }
            if e.size() > 1 << 20 {
                return refuse("manifest.json is too large");
            }
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).map_err(damaged)?;
            read_manifest(&bytes)?
        }
    };
    std::fs::create_dir_all(into).map_err(failed)?;
    // path -> (size, sha256, seen)
    let mut listed: HashMap<String, (u64, String, bool)> =
        manifest.files.iter().map(|f| (f.path.clone(), (f.size, f.sha256.to_ascii_lowercase(), false))).collect();
    for entry in entries {
        let mut e = entry.map_err(damaged)?;
        let kind = e.header().entry_type();
        let raw = e.path_bytes().into_owned();
        let path = safe_path(&raw).or_else(refuse)?;
        if e.link_name_bytes().is_some_and(|l| !l.is_empty()) || kind.is_symlink() || kind.is_hard_link() {
            return refuse(format!("\"{path}\" is a link; backups hold plain files only"));
        }
        if kind.is_dir() {
            if !PARTS.contains(&path.split('/').next().unwrap_or("")) {
                return refuse(format!("\"{path}\" is not part of a switchboard backup"));
            }
            std::fs::create_dir_all(into.join(&path)).map_err(failed)?;
            continue;
        }
        if kind != tar::EntryType::Regular {
            return refuse(format!("\"{path}\" is not a plain file (tar type {:?})", kind.as_byte() as char));
        }
        let Some((size, sha, seen)) = listed.get_mut(&path) else {
            return refuse(format!("\"{path}\" is not listed in manifest.json"));
        };
        if *seen {
            return refuse(format!("\"{path}\" appears twice"));
        }
        if e.size() != *size {
            return refuse(format!("\"{path}\" has {} bytes, manifest.json says {size}", e.size()));
        }
        let target = into.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let mut out = std::fs::OpenOptions::new().write(true).create_new(true).open(&target).map_err(failed)?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut n_total = 0u64;
        loop {
            let n = e.read(&mut buf).map_err(damaged)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(failed)?;
            n_total += n as u64;
        }
        out.sync_all().map_err(failed)?;
        if n_total != *size || hex(&hash.finalize()) != *sha {
            return refuse(format!("\"{path}\" does not match its checksum: the archive is damaged or was altered"));
        }
        *seen = true;
    }
    if let Some(missing) = listed.iter().find(|(_, (_, _, seen))| !seen).map(|(p, _)| p) {
        return refuse(format!("\"{missing}\" is listed in manifest.json but missing from the archive"));
    }
    std::fs::write(into.join(MANIFEST), serde_json::to_vec_pretty(&manifest).unwrap_or_default()).map_err(failed)?;
    Ok(manifest)
}

/// The staged file for an archive path.
pub(super) fn staged_path(pending: &Path, entry: &str) -> PathBuf {
    entry.split('/').fold(pending.to_path_buf(), |p, c| p.join(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_pass() {
        assert_eq!(safe_path(b"prompts/en/a.wav").unwrap(), "prompts/en/a.wav");
        assert_eq!(safe_path(b"prompts/en/").unwrap(), "prompts/en");
        for bad in [&b"/etc/passwd"[..], b"../x", b"prompts/../../x", b"prompts//x", b"./prompts/x", b"a\\b", b"", b"\xff"] {
            assert!(safe_path(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}

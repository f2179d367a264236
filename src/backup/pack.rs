//! Making an archive. The database is snapshotted with `VACUUM INTO`
//! (consistent while the appliance runs); files are streamed into a
//! gzip'd tar in a work folder while their SHA-256 is computed, then the
//! manifest is written as a first, separate gzip member: the download is
//! `head.gz` followed by `body.tar.gz`, one valid `.tar.gz` whose first
//! entry is `manifest.json`. Nothing is held in memory but buffers.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

use super::{hex, now_stamps, FileEntry, Layout, Manifest, WorkDir, CONFIG_ENTRY, DB_ENTRY, FORMAT, FORMAT_VERSION, MANIFEST};
use crate::store::Store;

/// A finished archive in its work folder (removed when dropped).
#[derive(Debug)]
pub struct Backup {
    pub manifest: Manifest,
    /// Concatenated, these files are the archive.
    pub parts: Vec<PathBuf>,
    /// Archive size in bytes.
    pub size: u64,
    /// Files left out (links, special or non-UTF-8 names).
    pub skipped: Vec<String>,
    /// The stamp for the download's name (`20260301-101500`).
    pub stamp: String,
    pub work: WorkDir,
}

/// Makes an archive of the appliance laid out as `layout`; recordings and
/// voicemail audio only with `audio`.
pub async fn create(store: &Store, layout: &Layout, audio: bool) -> io::Result<Backup> {
    let work = WorkDir::new(&layout.data, "backup")?;
    let db = work.path().join("switchboard.db");
    store.snapshot_into(&db).await.map_err(|e| io::Error::other(format!("database snapshot: {e}")))?;
    let layout = layout.clone();
    let dir = work.path().to_path_buf();
    let (manifest, skipped, stamp) = tokio::task::spawn_blocking(move || write_archive(&dir, &db, &layout, audio))
        .await
        .map_err(|e| io::Error::other(e.to_string()))??;
    let parts = vec![work.path().join("head.gz"), work.path().join("body.tar.gz")];
    let size = parts.iter().map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)).sum();
    Ok(Backup { manifest, parts, size, skipped, stamp, work })
}

/// What goes in: (path in the archive, file on disk).
fn collect(db: &Path, layout: &Layout, audio: bool, skipped: &mut Vec<String>) -> (Vec<String>, Vec<(String, PathBuf)>) {
    let mut includes = vec!["db".to_string()];
    let mut files = vec![(DB_ENTRY.to_string(), db.to_path_buf())];
    if layout.config_file.is_file() {
        includes.push("config".into());
        files.push((CONFIG_ENTRY.to_string(), layout.config_file.clone()));
    }
    let mut folders = vec!["prompts", "dialplans"];
    if audio {
        folders.extend(["recordings", "voicemail"]);
    }
    let data = std::fs::canonicalize(&layout.data).ok();
    for part in folders {
        let Some(dir) = layout.folder(part) else { continue };
        includes.push(part.to_string());
        walk(dir, part, data.as_deref(), &mut files, skipped);
    }
    (includes, files)
}

/// Regular files below `dir`, sorted, as (`prefix/relative/path`, file).
/// Hidden names (editor and upload temporaries), links and the data
/// directory itself (were a folder to contain it) are left out.
fn walk(dir: &Path, prefix: &str, data: Option<&Path>, out: &mut Vec<(String, PathBuf)>, skipped: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            skipped.push(path.display().to_string());
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        let rel = format!("{prefix}/{name}");
        if ft.is_dir() {
            if data.is_some_and(|d| std::fs::canonicalize(&path).is_ok_and(|p| p == d)) {
                continue;
            }
            walk(&path, &rel, data, out, skipped);
        } else if ft.is_file() {
            out.push((rel, path));
        } else {
            skipped.push(path.display().to_string());
        }
    }
}

fn write_archive(dir: &Path, db: &Path, layout: &Layout, audio: bool) -> io::Result<(Manifest, Vec<String>, String)> {
    let mut skipped = Vec::new();
    let (includes, files) = collect(db, layout, audio, &mut skipped);
    let (created_at, stamp) = now_stamps();
    let body = BufWriter::new(File::create(dir.join("body.tar.gz"))?);
    let mut tar = tar::Builder::new(GzEncoder::new(body, Compression::default()));
    let mut entries = Vec::with_capacity(files.len());
    for (name, path) in files {
        let mut f = match File::open(&path) {
            Ok(f) => f,
            // Deleted since it was listed (a prompt replaced meanwhile).
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        };
        let meta = f.metadata()?;
        let size = meta.len();
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(meta.modified().ok().and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs()).unwrap_or(0));
        let mut reader = Exact { inner: &mut f, left: size, hash: Sha256::new() };
        tar.append_data(&mut header, &name, &mut reader)?;
        entries.push(FileEntry { path: name, size, sha256: hex(&reader.hash.finalize()) });
    }
    tar.into_inner()?.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        app_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        includes,
        files: entries,
    };
    write_head(&dir.join("head.gz"), &manifest)?;
    Ok((manifest, skipped, stamp))
}

/// The manifest as a tar entry (no end-of-archive blocks: the body follows) in its own gzip member.
fn write_head(path: &Path, manifest: &Manifest) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
    let mut header = tar::Header::new_gnu();
    header.set_path(MANIFEST)?;
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(crate::store::unix_time().max(0) as u64);
    header.set_cksum();
    let mut gz = GzEncoder::new(File::create(path)?, Compression::default());
    gz.write_all(header.as_bytes())?;
    gz.write_all(&json)?;
    let pad = (512 - json.len() % 512) % 512;
    gz.write_all(&vec![0u8; pad])?;
    gz.finish()?.sync_all()
}

/// Reads exactly `left` bytes of a file whose size was taken when it was
/// opened (a file that shrinks meanwhile is padded with zeros, so the
/// entry matches its header), hashing what it hands out.
struct Exact<R> {
    inner: R,
    left: u64,
    hash: Sha256,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.left -= n as u64;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

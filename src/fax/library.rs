//! Documents to send: the fax-on-demand library (`[fax] library`, files
//! named `<name>.tif|tiff|pdf`) and uploads. A TIFF is sent as it is
//! (spandsp re-encodes it for the line); a PDF is rasterised to a fax
//! TIFF (204x196 dpi, T.4) with ghostscript, the standard tool the image
//! ships. Names are checked so a caller's digits can never reach outside
//! the library.

use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DocumentError {
    #[error("document name {0:?}: letters, digits, '-' and '_' only")]
    BadName(String),
    #[error("no document {0:?} in the fax library")]
    NotFound(String),
    #[error("cannot convert {0}: {1}")]
    Convert(String, String),
}

/// A TIFF ready for the fax engine.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub absolute: PathBuf,
    /// Relative to the data directory when inside it (for the DB row).
    pub relative: String,
}

pub fn library_dir(data_dir: &Path, cfg: &crate::config::FaxConfig) -> PathBuf {
    if cfg.library.is_absolute() {
        cfg.library.clone()
    } else {
        data_dir.join(&cfg.library)
    }
}

fn relative(data_dir: &Path, p: &Path) -> String {
    p.strip_prefix(data_dir).unwrap_or(p).display().to_string()
}

/// Finds library document `name` and makes it sendable.
pub async fn prepare(data_dir: &Path, cfg: &crate::config::FaxConfig, name: &str) -> Result<Prepared, DocumentError> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(DocumentError::BadName(name.into()));
    }
    let dir = library_dir(data_dir, cfg);
    for ext in ["tif", "tiff", "pdf"] {
        let p = dir.join(format!("{name}.{ext}"));
        if p.is_file() {
            return prepare_file(data_dir, &p).await;
        }
    }
    Err(DocumentError::NotFound(name.into()))
}

/// Makes any supported file sendable: TIFF as is, PDF rasterised into
/// `<data>/fax/out/`.
pub async fn prepare_file(data_dir: &Path, path: &Path) -> Result<Prepared, DocumentError> {
    let head = tokio::fs::read(path).await.map_err(|e| DocumentError::Convert(path.display().to_string(), e.to_string()))?;
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Ok(Prepared { absolute: path.to_path_buf(), relative: relative(data_dir, path) });
    }
    if head.starts_with(b"%PDF-") {
        let out_dir = data_dir.join("fax/out");
        tokio::fs::create_dir_all(&out_dir).await.map_err(|e| DocumentError::Convert(out_dir.display().to_string(), e.to_string()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("document");
        let out = out_dir.join(format!("{}-{stem}.tif", crate::store::unix_ms()));
        rasterise_pdf(path, &out).await?;
        return Ok(Prepared { relative: relative(data_dir, &out), absolute: out });
    }
    Err(DocumentError::Convert(path.display().to_string(), "not a TIFF or PDF file".into()))
}

/// ghostscript's `tiffg3` device: T.4 2-D at fine resolution, pages scaled
/// to A4 width as fax machines print them. `-dSAFER`: the PDF may come
/// from anyone.
async fn rasterise_pdf(pdf: &Path, out: &Path) -> Result<(), DocumentError> {
    let mut cmd = tokio::process::Command::new("gs");
    cmd.args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=tiffg32d", "-r204x196", "-sPAPERSIZE=a4", "-dFIXEDMEDIA", "-dPDFFitPage"])
        .arg(format!("-sOutputFile={}", out.display()))
        .arg(pdf)
        .kill_on_drop(true);
    let run = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output()).await;
    let fail = |m: String| DocumentError::Convert(pdf.display().to_string(), m);
    match run {
        Err(_) => Err(fail("ghostscript took longer than 120 s".into())),
        Ok(Err(e)) => Err(fail(format!("ghostscript (gs) not available: {e}"))),
        Ok(Ok(o)) if !o.status.success() => Err(fail(format!("ghostscript: {}", String::from_utf8_lossy(&o.stderr).trim()))),
        Ok(Ok(_)) => Ok(()),
    }
}

/// At first start the library is empty: copy the demo documents that ship
/// beside the dialplans (`<dialplans>/fax-library/`) into it, so the demo
/// menu's fax-on-demand works out of the box. An existing library is
/// never touched.
pub fn seed(data_dir: &Path, cfg: &crate::config::FaxConfig, dialplans: &Path) {
    let dir = library_dir(data_dir, cfg);
    if dir.exists() {
        return;
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), "fax library not created: {e}");
        return;
    }
    let Ok(entries) = std::fs::read_dir(dialplans.join("fax-library")) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let sendable = p.extension().and_then(|x| x.to_str()).is_some_and(|x| matches!(x, "tif" | "tiff" | "pdf"));
        if sendable {
            if let Some(name) = p.file_name() {
                if let Err(err) = std::fs::copy(&p, dir.join(name)) {
                    tracing::warn!(file = %p.display(), "fax library seed: {err}");
                }
            }
        }
    }
    tracing::info!(dir = %dir.display(), "fax library created from the demo documents");
}

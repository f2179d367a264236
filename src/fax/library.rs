//! Documents to send: the fax-on-demand library (`[fax] library`, files
//! named `<name>.tif|tiff|pdf|png`) and uploads (the console and the API,
//! through `CoreApi::fax_send`). A TIFF is sent as it is (spandsp
//! re-encodes it for the line); a PDF is rasterised to a fax TIFF
//! (204x196 dpi, T.4) with ghostscript, the standard tool the image ships;
//! a PNG is scaled and dithered by `super::png`. An upload's type is
//! sniffed from its bytes (never from what the client says), it is kept
//! under `<data>/fax/out/` with a PDF for people to view, and the job's
//! fields (number, header, ident) are checked here for both doors. Names
//! are checked so a caller's digits can never reach outside the library.

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
    /// A PDF of the same pages, when one exists or was made on the way
    /// (the PDF itself; a PNG's rendering), in the form of `relative`.
    pub pdf: Option<String>,
}

/// The PNG signature (PNG spec 5.2).
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

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
    for ext in ["tif", "tiff", "pdf", "png"] {
        let p = dir.join(format!("{name}.{ext}"));
        if p.is_file() {
            return prepare_file(data_dir, &p).await;
        }
    }
    Err(DocumentError::NotFound(name.into()))
}

/// Makes any supported file sendable: TIFF as is, PDF rasterised and PNG
/// converted into `<data>/fax/out/`.
pub async fn prepare_file(data_dir: &Path, path: &Path) -> Result<Prepared, DocumentError> {
    let head = tokio::fs::read(path).await.map_err(|e| DocumentError::Convert(path.display().to_string(), e.to_string()))?;
    let out_dir = data_dir.join("fax/out");
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("document");
    let out = out_dir.join(format!("{}-{stem}.tif", crate::store::unix_ms()));
    let fail = |e: std::io::Error| DocumentError::Convert(out_dir.display().to_string(), e.to_string());
    match Kind::sniff(&head) {
        Some(Kind::Tiff) => Ok(Prepared { absolute: path.to_path_buf(), relative: relative(data_dir, path), pdf: None }),
        Some(Kind::Pdf) => {
            tokio::fs::create_dir_all(&out_dir).await.map_err(fail)?;
            rasterise_pdf(path, &out).await?;
            Ok(Prepared { relative: relative(data_dir, &out), absolute: out, pdf: Some(relative(data_dir, path)) })
        }
        Some(Kind::Png) => {
            tokio::fs::create_dir_all(&out_dir).await.map_err(fail)?;
            let (tiff, pdf) = (out.clone(), out.with_extension("pdf"));
            let shown = path.display().to_string();
            let made = tokio::task::spawn_blocking(move || -> Result<(), String> {
                let doc = super::png::convert(&head).map_err(|e| e.to_string())?;
                std::fs::write(&tiff, super::png::to_tiff(&doc)).map_err(|e| e.to_string())?;
                std::fs::write(&pdf, super::pdf::bilevel_to_pdf(&doc)).map_err(|e| e.to_string())
            })
            .await;
            match made {
                Ok(Ok(())) => Ok(Prepared { relative: relative(data_dir, &out), pdf: Some(relative(data_dir, &out.with_extension("pdf"))), absolute: out }),
                Ok(Err(e)) => Err(DocumentError::Convert(shown, e)),
                Err(e) => Err(DocumentError::Convert(shown, e.to_string())),
            }
        }
        None => Err(DocumentError::Convert(path.display().to_string(), "not a TIFF, PDF or PNG file".into())),
    }
}

/// A document type we send, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tiff,
    Pdf,
    Png,
}

impl Kind {
    pub fn sniff(bytes: &[u8]) -> Option<Kind> {
        if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Kind::Tiff)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Kind::Pdf)
        } else if bytes.starts_with(PNG_SIGNATURE) {
            Some(Kind::Png)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Tiff => "tif",
            Kind::Pdf => "pdf",
            Kind::Png => "png",
        }
    }
}

/// Media types an upload may be declared as (the bytes decide the type;
/// `application/octet-stream` is what browsers send for "unknown").
pub const UPLOAD_TYPES: &[&str] = &["application/pdf", "image/tiff", "image/png", "application/octet-stream"];

/// The largest document accepted for sending.
pub const MAX_UPLOAD: usize = 20 * 1024 * 1024;

/// An uploaded document to send to a number (the console's form and
/// `POST /api/v1/faxes`).
#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub bytes: Vec<u8>,
    /// What people see as the document (the uploaded file's name).
    pub name: String,
    pub to: String,
    /// Page header; `None`: `[fax] header`.
    pub header: Option<String>,
    /// Our station id; `None`: `[fax] ident`.
    pub ident: Option<String>,
    /// `user:<name>` or `api:<key>`.
    pub requested_by: String,
}

/// Why an upload was not queued.
#[derive(Debug, Error)]
pub enum SendError {
    /// A job field is invalid (`field` names it: `to`, `header`, `ident`, `name`).
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(crate::store::InvalidField),
    /// The bytes are no TIFF, PDF or PNG.
    #[error("not a TIFF, PDF or PNG document")]
    Unsupported,
    #[error("the document is empty")]
    Empty,
    #[error("the document is larger than {} MiB", MAX_UPLOAD >> 20)]
    TooLarge,
    /// It is one, but cannot be made into fax pages.
    #[error("{0}")]
    Document(#[from] DocumentError),
    /// Writing it or its job failed (disk, database).
    #[error("cannot queue the fax: {0}")]
    Storage(String),
}

/// A job's checked fields: the number in dialable form, the header, the
/// ident and the document's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFields {
    pub to: String,
    pub header: Option<String>,
    pub ident: Option<String>,
    pub name: String,
}

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Checks a job's fields, every problem at its field. The number may be
/// written with spaces, dots, dashes and brackets (`+1 (555) 010-0199`);
/// what is dialled is `+` and 1 to 32 digits.
pub fn check_fields(to: &str, header: Option<&str>, ident: Option<&str>, name: &str, kind: Option<Kind>) -> Result<JobFields, Vec<crate::store::InvalidField>> {
    use crate::store::InvalidField;
    let mut errors = Vec::new();
    let number: String = to.trim().chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
    let digits = number.strip_prefix('+').unwrap_or(&number);
    if to.trim().is_empty() {
        errors.push(InvalidField { field: "to", message: "a fax number is required".into() });
    } else if digits.is_empty() || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(InvalidField { field: "to", message: format!("'{}' is not a dialable number: digits, optionally a leading +", to.trim()) });
    }
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    if header.is_some_and(|h| h.len() > 50 || !printable(h)) {
        errors.push(InvalidField { field: "header", message: "at most 50 printable ASCII characters".into() });
    }
    let ident = ident.map(str::trim).filter(|i| !i.is_empty());
    if ident.is_some_and(|i| i.len() > 20 || !printable(i)) {
        errors.push(InvalidField { field: "ident", message: "at most 20 printable ASCII characters".into() });
    }
    let name = name.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(InvalidField { field: "name", message: "at most 100 characters, no control characters".into() });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let name = match (name, kind) {
        ("", Some(k)) => format!("upload.{}", k.extension()),
        ("", None) => "upload".to_string(),
        (n, _) => n.to_string(),
    };
    Ok(JobFields { to: number, header: header.map(str::to_string), ident: ident.map(str::to_string), name })
}

/// Keeps an upload under `<data>/fax/out/` and makes it sendable, with a
/// PDF to view: a PDF is its own, a PNG's is drawn from its pages, a
/// CCITT TIFF's is made like a received fax's (other TIFFs get none).
/// The upload is removed again when it cannot be converted.
pub async fn prepare_upload(data_dir: &Path, bytes: &[u8]) -> Result<(Kind, Prepared), SendError> {
    if bytes.is_empty() {
        return Err(SendError::Empty);
    }
    if bytes.len() > MAX_UPLOAD {
        return Err(SendError::TooLarge);
    }
    let kind = Kind::sniff(bytes).ok_or(SendError::Unsupported)?;
    let out_dir = data_dir.join("fax/out");
    let storage = |e: std::io::Error| SendError::Storage(e.to_string());
    tokio::fs::create_dir_all(&out_dir).await.map_err(storage)?;
    let file = out_dir.join(format!("{}-{:08x}-upload.{}", crate::store::unix_ms(), rand::random::<u32>(), kind.extension()));
    tokio::fs::write(&file, bytes).await.map_err(storage)?;
    let mut prepared = match prepare_file(data_dir, &file).await {
        Ok(p) => p,
        Err(e) => {
            let _ = tokio::fs::remove_file(&file).await;
            return Err(e.into());
        }
    };
    if kind == Kind::Tiff {
        let pdf = file.with_extension("pdf");
        let data = bytes.to_vec();
        let target = pdf.clone();
        let made = tokio::task::spawn_blocking(move || super::pdf::tiff_to_pdf(&data).map_err(|e| e.to_string()).and_then(|p| std::fs::write(&target, p).map_err(|e| e.to_string()))).await;
        match made {
            Ok(Ok(())) => prepared.pdf = Some(relative(data_dir, &pdf)),
            Ok(Err(e)) => tracing::debug!("no PDF view of the uploaded TIFF: {e}"),
            Err(e) => tracing::warn!("PDF view task failed: {e}"),
        }
    }
    Ok((kind, prepared))
}

/// Checks an upload, keeps and converts it ([`prepare_upload`]) and
/// queues its job with `[fax]`'s ident, header and attempts where the
/// upload gives none: the job's id. The caller wakes the job runner.
pub async fn queue_upload(store: &crate::store::Store, data_dir: &Path, cfg: &crate::config::FaxConfig, upload: Upload) -> Result<i64, SendError> {
    let fields = check_fields(&upload.to, upload.header.as_deref(), upload.ident.as_deref(), &upload.name, Kind::sniff(&upload.bytes))
        .map_err(|mut e| SendError::Invalid(e.remove(0)))?;
    if !number_allowed(store, cfg, &fields.to).await {
        let message = format!("{} may not be dialled for fax (see [fax] destinations: national numbers by default)", fields.to);
        return Err(SendError::Invalid(crate::store::InvalidField { field: "to", message }));
    }
    let (_, doc) = prepare_upload(data_dir, &upload.bytes).await?;
    let job = crate::store::NewFaxJob {
        remote_number: fields.to,
        local_ident: fields.ident.unwrap_or_else(|| cfg.ident.clone()),
        header: fields.header.unwrap_or_else(|| cfg.header.clone()),
        document: fields.name,
        tiff_path: doc.relative,
        pdf_path: doc.pdf,
        max_attempts: cfg.attempts,
        requested_by: upload.requested_by,
    };
    let id = store.create_fax_job(&job).await.map_err(|e| SendError::Storage(e.to_string()))?;
    tracing::info!(id, to = %job.remote_number, document = %job.document, by = %job.requested_by, "fax job queued");
    Ok(id)
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

/// Whether a fax job may dial `number`: one of our extensions, or a
/// number `[fax] destinations` allows.
pub async fn number_allowed(store: &crate::store::Store, cfg: &crate::config::FaxConfig, number: &str) -> bool {
    cfg.may_dial(number) || matches!(store.extension(number).await, Ok(Some(_)))
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
        let sendable = p.extension().and_then(|x| x.to_str()).is_some_and(|x| matches!(x, "tif" | "tiff" | "pdf" | "png"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sniffed_from_the_bytes() {
        assert_eq!(Kind::sniff(b"II*\0rest"), Some(Kind::Tiff));
        assert_eq!(Kind::sniff(b"MM\0*rest"), Some(Kind::Tiff));
        assert_eq!(Kind::sniff(b"%PDF-1.7"), Some(Kind::Pdf));
        assert_eq!(Kind::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Kind::Png));
        for other in [&b"GIF89a"[..], b"<html>", b"", b"%PD"] {
            assert_eq!(Kind::sniff(other), None);
        }
    }

    #[test]
    fn job_fields_are_checked_at_their_field() {
        let ok = check_fields(" +1 (555) 010-0199 ", Some(" Acme "), None, "", Some(Kind::Pdf)).unwrap();
        assert_eq!(ok, JobFields { to: "+15550100199".into(), header: Some("Acme".into()), ident: None, name: "upload.pdf".into() });
        let fields = |r: Result<JobFields, Vec<crate::store::InvalidField>>| r.unwrap_err().iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(check_fields("", None, None, "x", None)), ["to"]);
        assert_eq!(fields(check_fields("12ab", None, None, "x", None)), ["to"]);
        assert_eq!(fields(check_fields("+", None, None, "x", None)), ["to"]);
        assert_eq!(fields(check_fields("1'; DROP TABLE faxes;--", None, None, "x", None)), ["to"]);
        assert_eq!(fields(check_fields(&"1".repeat(33), None, None, "x", None)), ["to"]);
        assert_eq!(fields(check_fields("100", Some(&"h".repeat(51)), Some("ident that is far too long"), "a\nb", None)), ["header", "ident", "name"]);
    }

    #[tokio::test]
    async fn an_upload_is_kept_converted_and_viewable() {
        let dir = tempfile::tempdir().unwrap();
        let png = super::super::png::tests::sample_png();
        let (kind, p) = prepare_upload(dir.path(), &png).await.unwrap();
        assert_eq!(kind, Kind::Png);
        assert!(p.relative.starts_with("fax/out/") && p.relative.ends_with(".tif"), "{p:?}");
        assert!(std::fs::read(dir.path().join(&p.relative)).unwrap().starts_with(b"II*\0"));
        assert!(std::fs::read(dir.path().join(p.pdf.as_deref().unwrap())).unwrap().starts_with(b"%PDF-"));
        // A CCITT TIFF is sent as uploaded and gets a PDF view.
        let tiff = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/fax/two-pages.tif")).unwrap();
        let (_, t) = prepare_upload(dir.path(), &tiff).await.unwrap();
        assert!(t.relative.ends_with("-upload.tif") && t.pdf.as_deref().is_some_and(|p| p.ends_with("-upload.pdf")), "{t:?}");
        assert!(matches!(prepare_upload(dir.path(), b"GIF89a").await, Err(SendError::Unsupported)));
        assert!(matches!(prepare_upload(dir.path(), b"").await, Err(SendError::Empty)));
        // A broken PNG is refused and not kept.
        let before = std::fs::read_dir(dir.path().join("fax/out")).unwrap().count();
        assert!(matches!(prepare_upload(dir.path(), b"\x89PNG\r\n\x1a\nbroken").await, Err(SendError::Document(_))));
        assert_eq!(std::fs::read_dir(dir.path().join("fax/out")).unwrap().count(), before);
    }

    #[tokio::test]
    async fn a_queued_upload_takes_the_defaults_of_fax_config() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).await.unwrap();
        let cfg = crate::config::FaxConfig { ident: "+1 555 0100".into(), header: "Acme".into(), attempts: 2, ..Default::default() };
        let upload = Upload { bytes: super::super::png::tests::sample_png(), name: "plan.png".into(), to: "555 0199".into(), requested_by: "user:ann".into(), ..Default::default() };
        let id = queue_upload(&store, dir.path(), &cfg, upload.clone()).await.unwrap();
        let f = store.get_fax(id).await.unwrap().unwrap();
        assert_eq!(
            (f.direction.as_str(), f.status.as_str(), f.remote_number.as_str(), f.local_ident.as_str(), f.header.as_str(), f.document.as_str(), f.max_attempts, f.requested_by.as_str()),
            ("out", "queued", "5550199", "+1 555 0100", "Acme", "plan.png", 2, "user:ann")
        );
        assert!(f.pdf_path.is_some() && f.tiff_path.is_some());
        let bad = Upload { to: "call me".into(), ..upload };
        assert!(matches!(queue_upload(&store, dir.path(), &cfg, bad).await, Err(SendError::Invalid(e)) if e.field == "to"));
    }
}

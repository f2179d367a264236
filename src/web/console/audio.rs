//! Streams a call recording or voicemail message to the browser's
//! `<audio>` player, with single byte ranges (seeking), and other stored
//! files the same way (fax PDFs and TIFFs, [`send_file`]). Owns the path
//! check: a file is served only when its canonical path (symlinks and `..`
//! resolved) lies below the canonical folder it belongs to, is a regular
//! file and has an audio extension (or, through [`confined_file`], the
//! extension its caller wants); anything else is a plain 404, whatever
//! the database row says. Callers check the viewer's role and look the row
//! up by id (the URL never carries a path). Must not write or remove files.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// Bytes read and sent at a time.
const CHUNK: usize = 64 * 1024;

/// The content type for a file name's extension; `None`: not audio we serve.
fn content_type(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "wav" => Some("audio/wav"),
        "opus" | "ogg" | "oga" => Some("audio/ogg"),
        "mp3" => Some("audio/mpeg"),
        "flac" => Some("audio/flac"),
        _ => None,
    }
}

/// `path` resolved, when it is an audio file below `root`.
pub fn confined(path: &str, root: &Path) -> Option<PathBuf> {
    confined_file(path, root, |f| content_type(f).is_some())
}

/// `path` resolved, when it is a regular file below `root` that `wanted`
/// accepts (by its resolved name, e.g. its extension).
pub fn confined_file(path: impl AsRef<Path>, root: &Path, wanted: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let root = std::fs::canonicalize(root).ok()?;
    let file = std::fs::canonicalize(path).ok()?;
    (file.starts_with(&root) && file != root && file.is_file() && wanted(&file)).then_some(file)
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// No usable range (none, another unit, several ranges, malformed):
    /// the whole file, 200.
    All,
    /// First and last byte (inclusive), 206.
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

fn wanted(range: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    let num = |s: &str| if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    match (first.trim(), last.trim()) {
        ("", suffix) => match num(suffix) {
            Some(0) => Wanted::Unsatisfiable,
            Some(_) if size == 0 => Wanted::Unsatisfiable,
            Some(n) => Wanted::Part(size - n.min(size), size - 1),
            None => Wanted::All,
        },
        (a, "") => match num(a) {
            Some(a) if a < size => Wanted::Part(a, size - 1),
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::All,
        },
        (a, b) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a > b => Wanted::All,
            (Some(a), Some(_)) if a >= size => Wanted::Unsatisfiable,
            (Some(a), Some(b)) => Wanted::Part(a, b.min(size - 1)),
            _ => Wanted::All,
        },
    }
}

/// A response body fed by a blocking reader thread, chunk by chunk; the
/// reader stops when the client goes away (the channel closes).
struct FileBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    left: u64,
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.left = self.left.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

fn stream(mut file: std::fs::File, start: u64, len: u64) -> Body {
    let (tx, rx) = mpsc::channel(4);
    if len > 0 {
        tokio::task::spawn_blocking(move || {
            if let Err(e) = file.seek(SeekFrom::Start(start)) {
                let _ = tx.blocking_send(Err(e));
                return;
            }
            let mut left = len;
            while left > 0 {
                let mut buf = vec![0u8; CHUNK.min(left as usize)];
                let chunk = match file.read(&mut buf) {
                    Ok(0) => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "file shrank while being sent")),
                    Ok(n) => {
                        buf.truncate(n);
                        left -= n as u64;
                        Ok(Bytes::from(buf))
                    }
                    Err(e) => Err(e),
                };
                let failed = chunk.is_err();
                if tx.blocking_send(chunk).is_err() || failed {
                    return;
                }
            }
        });
    }
    Body::new(FileBody { rx, left: len })
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such recording\n").into_response()
}

/// The file at `path` (a database row's) if it is audio below `root`: 200
/// with the whole file, 206 with the one range asked for, 416 for a range
/// past its end, 404 for anything else.
pub fn serve(path: &str, root: &Path, headers: &HeaderMap) -> Response {
    let Some(file) = confined(path, root) else {
        tracing::warn!(path, root = %root.display(), "refused to serve an audio file outside its folder or missing");
        return not_found();
    };
    let Some(mime) = content_type(&file) else { return not_found() };
    let mut r = send_file(&file, mime, headers);
    if r.status().is_success() {
        // Played in the page's <audio>.
        r.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    }
    r
}

/// An already confined `file` as `mime`: 200 with the whole file, 206
/// with the one range asked for, 416 for a range past its end, 404 when
/// it cannot be opened. Never cached (`private, no-store`); the caller
/// adds `Content-Disposition`.
pub fn send_file(file: &Path, mime: &'static str, headers: &HeaderMap) -> Response {
    let Ok(f) = std::fs::File::open(file) else { return not_found() };
    let Ok(size) = f.metadata().map(|m| m.len()) else { return not_found() };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, len) = match wanted(range, size) {
        Wanted::All => (StatusCode::OK, 0, size),
        Wanted::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Wanted::Unsatisfiable => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}")), (header::ACCEPT_RANGES, "bytes".into())],
            )
                .into_response();
        }
    };
    let mut r = Response::new(stream(f, start, len));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Conversations and documents: kept out of shared and disk caches.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use Wanted::*;
        assert_eq!(wanted(None, 100), All);
        assert_eq!(wanted(Some("bytes=0-"), 100), Part(0, 99));
        assert_eq!(wanted(Some("bytes=10-19"), 100), Part(10, 19));
        assert_eq!(wanted(Some("bytes=90-500"), 100), Part(90, 99));
        assert_eq!(wanted(Some("bytes=-10"), 100), Part(90, 99));
        assert_eq!(wanted(Some("bytes=-500"), 100), Part(0, 99));
        assert_eq!(wanted(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(wanted(Some("bytes=100-120"), 100), Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-"), 0), Unsatisfiable);
        for ignored in ["items=0-1", "bytes=0-1,5-6", "bytes=5-1", "bytes=a-b", "bytes=", "bytes=--1", "bytes=+1-2"] {
            assert_eq!(wanted(Some(ignored), 100), All, "{ignored}");
        }
    }

    #[test]
    fn only_audio_files_below_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("recordings");
        std::fs::create_dir_all(root.join("ivr")).unwrap();
        std::fs::write(root.join("ivr/a.wav"), b"RIFF").unwrap();
        std::fs::write(root.join("notes.txt"), b"x").unwrap();
        std::fs::write(d.path().join("outside.wav"), b"RIFF").unwrap();
        let p = |s: &str| d.path().join(s).display().to_string();
        assert!(confined(&p("recordings/ivr/a.wav"), &root).is_some());
        assert!(confined(&p("recordings/ivr/../ivr/a.wav"), &root).is_some());
        assert!(confined(&p("recordings/../outside.wav"), &root).is_none(), "dot-dot out");
        assert!(confined(&p("outside.wav"), &root).is_none());
        assert!(confined(&p("recordings/notes.txt"), &root).is_none(), "not audio");
        assert!(confined(&p("recordings/ivr"), &root).is_none(), "a folder");
        assert!(confined(&p("recordings/missing.wav"), &root).is_none());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.path().join("outside.wav"), root.join("link.wav")).unwrap();
            assert!(confined(&p("recordings/link.wav"), &root).is_none(), "symlink out");
        }
        assert!(confined("/etc/passwd", &root).is_none());
    }
}

//! Prompt files, admin only: the audio files of `[media] prompts_dir`, one
//! folder per language, each with a player (served by an authenticated
//! route with its content type); uploading a file (WAV, MP3, Ogg/Vorbis,
//! FLAC: decoded with the media decoder first, so only playable audio is
//! kept, stored as uploaded: the prompt store reads all four) and deleting
//! one. The upload is a raw body sent by `assets/prompts.js` with the CSRF
//! header (no multipart), at most [`MAX_UPLOAD`]. Names are plain (no
//! path); nothing outside `prompts_dir/<language>/` is read or written.
//! After a change the core drops its decoded copy (`prompt_changed`).
//! Upload, removal and reading (`upload_prompt`, `delete_prompt`,
//! `read_prompt`) are shared with `/api/v1/prompts`.
//! Must not decode on page views (a folder holds hundreds of prompts).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::Flash;
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::media::prompt::EXTENSIONS;
use crate::store::Role;
use crate::web::CoreApi;

/// Largest upload (413 beyond).
pub const MAX_UPLOAD: usize = 20 * 1024 * 1024;

static WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A language folder name: `en`, `de-CH`, `fr_ca`.
pub fn valid_language(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A prompt name (the file stem the dialplan names): letters, digits, `-`, `_`.
pub fn valid_prompt_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `name.ext` of a prompt file the console may serve or delete: (stem, ext).
fn split_file(file: &str) -> Option<(&str, &str)> {
    let (stem, ext) = file.rsplit_once('.')?;
    (valid_prompt_name(stem) && EXTENSIONS.contains(&ext)).then_some((stem, ext))
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "flac" => "audio/flac",
        _ => "application/octet-stream",
    }
}

/// The stored extension for an uploaded file's name (by its extension).
fn upload_ext(file_name: &str) -> Option<&'static str> {
    let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "wav" | "wave" => Some("wav"),
        "mp3" => Some("mp3"),
        "ogg" | "oga" => Some("ogg"),
        "flac" => Some("flac"),
        _ => None,
    }
}

pub(in crate::web) struct Dirs {
    pub root: PathBuf,
    pub language: String,
}

pub(in crate::web) fn dirs<C: CoreApi>(core: &C) -> Option<Dirs> {
    core.console_config().map(|c| Dirs { root: c.prompts_dir, language: c.language })
}

async fn admin<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Admin)?;
    Ok(v)
}

/// Language folders holding prompt files, plus the one calls use.
pub(in crate::web) fn languages(root: &Path, in_use: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| valid_language(n) && !prompt_files(&root.join(n)).is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !out.iter().any(|l| l == in_use) {
        out.push(in_use.to_string());
    }
    out.sort();
    out
}

/// (stem, ext, size, seconds since changed) of the prompt files in `dir`.
pub(in crate::web) fn prompt_files(dir: &Path) -> Vec<(String, String, u64, Option<u64>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_string();
                    let (stem, ext) = split_file(&name)?;
                    let md = e.metadata().ok().filter(|m| m.is_file())?;
                    let ago = md.modified().ok().and_then(|m| m.elapsed().ok()).map(|d| d.as_secs());
                    Some((stem.to_string(), ext.to_string(), md.len(), ago))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    ok: String,
    #[serde(default)]
    err: String,
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<ListQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(d) = dirs(&*core) else { return (StatusCode::SERVICE_UNAVAILABLE, "no prompt folder configured\n").into_response() };
    let lang = if valid_language(&q.lang) { q.lang.clone() } else { d.language.clone() };
    let (root, in_use, l) = (d.root.clone(), d.language.clone(), lang.clone());
    let (langs, files) = tokio::task::spawn_blocking(move || (languages(&root, &in_use), prompt_files(&root.join(&l)))).await.unwrap_or_default();
    let flash = if !q.err.is_empty() { Some(Flash::error(q.err.clone())) } else { (!q.ok.is_empty()).then(|| Flash::ok(q.ok.clone())) };
    // The extension the prompt store tries first wins when a name has several files.
    let played = |stem: &str, ext: &str| EXTENSIONS.iter().find(|x| files.iter().any(|(s, e, _, _)| s == stem && e == *x)).is_some_and(|x| *x == ext);
    let body = html! {
        div.card {
            h2 { "Upload a prompt" }
            form.inline id="prompt-upload" method="post" action="/prompts/upload" data-max=(MAX_UPLOAD) {
                label { "Language" input type="text" name="lang" id="lang" value=(lang) list="languages" required; }
                datalist id="languages" { @for l in &langs { option value=(l) {} } }
                label { "Prompt name (as the dialplan names it)" input type="text" name="name" id="name" placeholder="e.g. welcome" required; }
                label { "Audio file (WAV, MP3, Ogg, FLAC; up to 20 MiB)" input type="file" name="file" id="file" accept=".wav,.mp3,.ogg,.oga,.flac,audio/*" required; }
                button type="submit" id="upload-prompt" { "Upload" }
            }
            p.muted { "The file is decoded before it is kept, so only playable audio is stored. A file with the name of an existing prompt replaces it; calls play the new one from their next prompt." }
            p.upload-status id="upload-status" role="status" {}
        }
        div.card {
            h2 { "Prompts" }
            p.tabs {
                @for l in &langs {
                    a.tab.active[*l == lang] href={ "/prompts?lang=" (urlencode(l)) } { (l) @if *l == d.language { " (calls)" } }
                }
            }
            p.muted { "Folder " code { (d.root.join(&lang).display()) } "." }
            input.filter type="search" placeholder="Filter…" data-filter="prompts-table" aria-label="Filter prompts";
            @if files.is_empty() { div.empty { "No prompts in this language yet." } } @else {
                table id="prompts-table" {
                    thead { tr { th data-sort { "Name" } th data-sort { "Format" } th data-sort { "Size" } th data-sort { "Changed" } th { "Listen" } th { "" } } }
                    tbody { @for (stem, ext, size, ago) in &files {
                        tr data-prompt={ (stem) "." (ext) } {
                            td.mono { (stem) @if !played(stem, ext) { " " span.badge.warn title="another file of this name is played first" { "not played" } } }
                            td { (ext.to_uppercase()) }
                            td data-value=(size) { (format!("{:.1} KiB", *size as f64 / 1024.0)) }
                            td data-value=(ago.unwrap_or(0)) { (ago.map(|a| format!("{} ago", super::layout::duration(a as i64))).unwrap_or_default()) }
                            td { audio controls preload="none" src={ "/prompts/" (urlencode(&lang)) "/" (stem) "." (ext) } {} }
                            td {
                                form method="post" action={ "/prompts/" (urlencode(&lang)) "/" (stem) "." (ext) "/delete" } {
                                    input type="hidden" name="_csrf" value=(v.csrf);
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    } }
                }
            }
        }
        script src=(crate::web::assets::url("prompts.js")) defer {}
    };
    render(&v, "/prompts", "Prompts", flash.as_ref(), body)
}

/// `GET /prompts/{lang}/{file}`: the file itself, for the page's player.
pub async fn file<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath((lang, file)): UrlPath<(String, String)>) -> Response {
    if let Err(r) = admin(&*core, &headers, &uri, &peer).await {
        return r;
    }
    match read_prompt(&*core, &lang, &file).await {
        Ok((bytes, ctype)) => ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "private, no-cache")], bytes).into_response(),
        Err(PromptMissing::BadName) => (StatusCode::BAD_REQUEST, "not a prompt file name\n").into_response(),
        Err(PromptMissing::NoFolder) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such prompt\n").into_response(),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct UploadQuery {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    name: String,
    /// The uploaded file's own name (its extension says the format).
    #[serde(default)]
    file: String,
}

/// A JSON answer to the upload script: `{"ok": text}` or `{"error": text, "field": name}`.
fn reply(status: StatusCode, field: Option<&str>, text: &str) -> Response {
    let body = match field {
        None => serde_json::json!({ "ok": text }),
        Some(f) => serde_json::json!({ "error": text, "field": f }),
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// `POST /prompts/upload?lang=&name=&file=` with the file as the body.
pub async fn upload<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<UploadQuery>, body: Body) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match upload_prompt(&*core, &q.lang, &q.name, &q.file, &headers, body).await {
        Ok(u) => {
            let what = format!("{:.1} s at {} Hz", u.info.duration_ms as f64 / 1000.0, u.info.rate);
            v.audit("prompt.upload", &format!("{}/{}.{}", u.lang, u.name, u.ext), &format!("{what}, from {}", q.file)).await;
            reply(StatusCode::OK, None, &format!("Prompt {}/{} saved as {}.{}: {what}.", u.lang, u.name, u.name, u.ext))
        }
        Err(e) => reply(e.status, Some(e.field), &e.message),
    }
}

/// A stored upload: where it went and what it holds.
pub(in crate::web) struct Uploaded {
    pub lang: String,
    pub name: String,
    pub ext: &'static str,
    pub info: crate::media::decode::AudioInfo,
}

/// A refused upload: its status (413, 422, 500, 503), the field at fault
/// (`lang`, `name`, `file`) and why.
pub(in crate::web) struct UploadRefused {
    pub status: StatusCode,
    pub field: &'static str,
    pub message: String,
}

/// Checks and stores an uploaded prompt (the page's and the API's): a
/// language folder name, a prompt name, a supported format (by `file`, the
/// uploaded file's own name), at most [`MAX_UPLOAD`] bytes, and audio that
/// decodes; then calls stop playing the old copy.
pub(in crate::web) async fn upload_prompt<C: CoreApi>(core: &C, lang: &str, name: &str, file: &str, headers: &HeaderMap, body: Body) -> Result<Uploaded, UploadRefused> {
    let refuse = |status: StatusCode, field: &'static str, message: &str| UploadRefused { status, field, message: message.to_string() };
    let Some(d) = dirs(core) else { return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "file", "no prompt folder is configured")) };
    let too_big = format!("the file is larger than {} MiB", MAX_UPLOAD >> 20);
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD as u64) {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "file", &too_big));
    }
    let (lang, name) = (lang.trim().to_string(), name.trim().to_string());
    if !valid_language(&lang) {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "lang", "a language is a folder name of letters, digits, '-' or '_' (e.g. en)"));
    }
    if !valid_prompt_name(&name) {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "name", "a prompt name is 1 to 64 letters, digits, '-' or '_' (no extension, no folders)"));
    }
    let Some(ext) = upload_ext(file) else {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "file", "not a supported audio file: upload WAV, MP3, Ogg/Vorbis or FLAC"));
    };
    let bytes = match axum::body::to_bytes(body, MAX_UPLOAD).await {
        Ok(b) => b,
        Err(_) => return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "file", &too_big)),
    };
    if bytes.is_empty() {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "file", "the file is empty"));
    }
    let _w = WRITES.lock().await;
    let dir = d.root.join(&lang);
    let (n, shown) = (name.clone(), file.to_string());
    match tokio::task::spawn_blocking(move || store_upload(&dir, &n, ext, &bytes, &shown)).await {
        Ok(Ok(info)) => {
            core.prompt_changed(lang.clone(), name.clone());
            Ok(Uploaded { lang, name, ext, info })
        }
        Ok(Err((status, message))) => Err(UploadRefused { status, field: "file", message }),
        Err(e) => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "file", &e.to_string())),
    }
}

/// Writes the upload beside its final place, decodes it, then renames it
/// in and removes the prompt's files in other formats (so this one plays).
fn store_upload(dir: &Path, name: &str, ext: &str, bytes: &[u8], shown: &str) -> Result<crate::media::decode::AudioInfo, (StatusCode, String)> {
    let fail = |e: std::io::Error| (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot store the file: {e}"));
    std::fs::create_dir_all(dir).map_err(fail)?;
    // A hidden name: the prompt store never lists it.
    let tmp = dir.join(format!(".upload-{:016x}.{ext}", rand::random::<u64>()));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    let info = match crate::media::decode::inspect_file(&tmp) {
        Ok(i) => i,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            let why = e.to_string().replace(&tmp.display().to_string(), shown);
            return Err((StatusCode::UNPROCESSABLE_ENTITY, format!("not playable audio ({why})")));
        }
    };
    if let Err(e) = std::fs::rename(&tmp, dir.join(format!("{name}.{ext}"))) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    for other in EXTENSIONS.iter().filter(|x| **x != ext) {
        let _ = std::fs::remove_file(dir.join(format!("{name}.{other}")));
    }
    Ok(info)
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath((lang, file)): UrlPath<(String, String)>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let back = |k: &str, m: &str| see_other(&format!("/prompts?lang={}&{k}={}", urlencode(&lang), urlencode(m)));
    match delete_prompt(&*core, &lang, &file).await {
        Ok(()) => {
            v.audit("prompt.delete", &format!("{lang}/{file}"), "").await;
            back("ok", &format!("Prompt {lang}/{file} deleted."))
        }
        Err(PromptMissing::NoFolder) => StatusCode::NOT_FOUND.into_response(),
        Err(PromptMissing::BadName) => (StatusCode::BAD_REQUEST, "not a prompt file name\n").into_response(),
        Err(PromptMissing::NotFound) => back("err", &format!("{lang}/{file} does not exist.")),
        Err(PromptMissing::Io(e)) => back("err", &format!("cannot delete {lang}/{file}: {e}")),
    }
}

/// Why a prompt file could not be read or removed.
pub(in crate::web) enum PromptMissing {
    NoFolder,
    /// Not `name.ext` of a known format, or not a language folder name.
    BadName,
    NotFound,
    Io(String),
}

/// Removes `lang/file` (`name.ext`); calls stop playing their copy.
pub(in crate::web) async fn delete_prompt<C: CoreApi>(core: &C, lang: &str, file: &str) -> Result<(), PromptMissing> {
    let d = dirs(core).ok_or(PromptMissing::NoFolder)?;
    let (stem, _) = split_file(file).filter(|_| valid_language(lang)).ok_or(PromptMissing::BadName)?;
    let _w = WRITES.lock().await;
    match std::fs::remove_file(d.root.join(lang).join(file)) {
        Ok(()) => {
            core.prompt_changed(lang.to_string(), stem.to_string());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(PromptMissing::NotFound),
        Err(e) => Err(PromptMissing::Io(e.to_string())),
    }
}

/// The bytes and content type of `lang/file` (`name.ext`).
pub(in crate::web) async fn read_prompt<C: CoreApi>(core: &C, lang: &str, file: &str) -> Result<(Vec<u8>, &'static str), PromptMissing> {
    let d = dirs(core).ok_or(PromptMissing::NoFolder)?;
    let (_, ext) = split_file(file).filter(|_| valid_language(lang)).ok_or(PromptMissing::BadName)?;
    match tokio::fs::read(d.root.join(lang).join(file)).await {
        Ok(bytes) => Ok((bytes, content_type(ext))),
        Err(_) => Err(PromptMissing::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_language_folder() {
        assert_eq!(split_file("welcome.ogg"), Some(("welcome", "ogg")));
        for bad in ["../x.wav", "a/b.wav", ".x.wav", "x.exe", "x", "x.WAV.txt", "..wav", "a b.wav"] {
            assert_eq!(split_file(bad), None, "{bad}");
        }
        assert!(valid_language("de-CH") && !valid_language("..") && !valid_language("a/b") && !valid_language(""));
        assert_eq!((upload_ext("A.WAV"), upload_ext("x.oga"), upload_ext("x.m4a"), upload_ext("noext")), (Some("wav"), Some("ogg"), None, None));
    }

    #[test]
    fn an_upload_is_kept_only_when_it_decodes_and_replaces_other_formats() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello.ogg"), b"old").unwrap();
        let err = store_upload(dir.path(), "hello", "wav", b"RIFF but not really", "mine.wav").unwrap_err();
        assert_eq!(err.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.1.contains("mine.wav") && !err.1.contains(".upload-"), "{}", err.1);
        let mut wav = Vec::new();
        {
            let spec = hound::WavSpec { channels: 1, sample_rate: 16000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
            let mut w = hound::WavWriter::new(std::io::Cursor::new(&mut wav), spec).unwrap();
            for i in 0..8000 {
                w.write_sample(((i % 40) as i16 - 20) * 500).unwrap();
            }
            w.finalize().unwrap();
        }
        let info = store_upload(dir.path(), "hello", "wav", &wav, "mine.wav").unwrap();
        assert_eq!((info.rate, info.duration_ms), (16000, 500));
        let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["hello.wav"], "the Ogg is replaced and no temporary file is left");
    }
}

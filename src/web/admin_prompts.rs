//! Prompt files over HTTP, scope `admin`: `GET /api/v1/prompts` (every
//! language folder of `[media] prompts_dir` and its files) and
//! `/api/v1/prompts/{lang}/{file}` (download, upload as a raw body,
//! delete), what the console's prompts page does. Names, the size limit,
//! decoding (only playable audio is kept) and dropping the calls' decoded
//! copy are the page's functions (`console::prompts`); every change is
//! audited. Owns request parsing and routes only; nothing outside
//! `prompts_dir/<lang>/` is read or written.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;

use super::admin::{field_error, json, media_type, Answer, Refused};
use super::api::json_error;
use super::caller::{store, AdminCaller};
use super::console::prompts::{delete_prompt, dirs, languages, prompt_files, read_prompt, upload_prompt, PromptMissing};
use super::CoreApi;
use crate::media::prompt::EXTENSIONS;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PromptFile {
    /// The prompt's name, as the dialplan names it.
    name: String,
    /// `wav`, `mp3`, `ogg` or `flac`.
    format: String,
    /// `name.format`: the path segment of this file.
    file: String,
    size: u64,
    /// Seconds since the last change.
    changed_secs_ago: Option<u64>,
    /// False when another file of this name is played first.
    played: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PromptLanguage {
    lang: String,
    files: Vec<PromptFile>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PromptList {
    /// `[media] language`: the folder calls play prompts from.
    in_use: String,
    languages: Vec<PromptLanguage>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PromptStored {
    lang: String,
    name: String,
    /// `name.format` as stored (files of this name in other formats are removed).
    file: String,
    duration_ms: u64,
    /// The file's own sample rate.
    rate: u32,
}

fn missing(e: PromptMissing, lang: &str, file: &str) -> Refused {
    match e {
        PromptMissing::NoFolder => json_error(StatusCode::SERVICE_UNAVAILABLE, "no prompt folder is configured"),
        PromptMissing::BadName | PromptMissing::NotFound => json_error(StatusCode::NOT_FOUND, &format!("no prompt file {lang}/{file}")),
        PromptMissing::Io(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{lang}/{file}: {e}")),
    }
    .into()
}

#[utoipa::path(
    get,
    path = "/api/v1/prompts",
    operation_id = "list_prompts",
    tag = "prompts",
    summary = "List prompt files",
    description = "Every language folder holding prompts (and the one calls use), with its files.",
    responses(
        (status = 200, description = "The prompts by language.", body = PromptList),
        (status = 503, description = "No prompt folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let d = dirs(&*core).ok_or_else(|| Refused::from(json_error(StatusCode::SERVICE_UNAVAILABLE, "no prompt folder is configured")))?;
    let in_use = d.language.clone();
    let list = tokio::task::spawn_blocking(move || {
        languages(&d.root, &d.language).into_iter().map(|l| (prompt_files(&d.root.join(&l)), l)).collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let languages = list
        .into_iter()
        .map(|(files, lang)| {
            // The format the prompt store tries first wins.
            let played = |stem: &str, ext: &str| EXTENSIONS.iter().find(|x| files.iter().any(|(s, e, _, _)| s == stem && e == *x)).is_some_and(|x| *x == ext);
            let files = files
                .iter()
                .map(|(stem, ext, size, ago)| PromptFile {
                    file: format!("{stem}.{ext}"),
                    played: played(stem, ext),
                    name: stem.clone(),
                    format: ext.clone(),
                    size: *size,
                    changed_secs_ago: *ago,
                })
                .collect();
            PromptLanguage { lang, files }
        })
        .collect();
    Ok(json(StatusCode::OK, &PromptList { in_use, languages }))
}

#[utoipa::path(
    get,
    path = "/api/v1/prompts/{lang}/{file}",
    operation_id = "get_prompt",
    tag = "prompts",
    summary = "Download a prompt file",
    params(
        ("lang" = String, Path, description = "Language folder, e.g. `en`.", example = "en"),
        ("file" = String, Path, description = "`name.format`, e.g. `welcome.wav`.", example = "welcome.wav"),
    ),
    responses(
        (status = 200, description = "The file as stored (`audio/wav`, `audio/mpeg`, `audio/ogg` or `audio/flac`).", content_type = "audio/*"),
        (status = 404, description = "No such prompt file.", body = super::openapi::ErrorBody),
        (status = 503, description = "No prompt folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path((lang, file)): Path<(String, String)>) -> Answer {
    let (bytes, ctype) = read_prompt(&*core, &lang, &file).await.map_err(|e| missing(e, &lang, &file))?;
    Ok(([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "private, no-cache")], bytes).into_response())
}

#[utoipa::path(
    put,
    path = "/api/v1/prompts/{lang}/{file}",
    operation_id = "upload_prompt",
    tag = "prompts",
    summary = "Upload a prompt file",
    description = "The file is the raw body (at most 20 MiB), as the console's upload sends it; its format is the extension of `{file}` (`.wav`/`.wave`, `.mp3`, `.ogg`/`.oga`, `.flac`). It is decoded first and kept only when it plays; it replaces the prompt of that name in any format, and calls play the new one from their next prompt.",
    params(
        ("lang" = String, Path, description = "Language folder, e.g. `en` (created when new).", example = "en"),
        ("file" = String, Path, description = "`name.format`, e.g. `welcome.wav`.", example = "welcome.wav"),
    ),
    request_body(description = "The audio file.", content(("audio/wav"), ("audio/mpeg"), ("audio/ogg"), ("audio/flac"), ("application/octet-stream"))),
    responses(
        (status = 200, description = "Stored.", body = PromptStored),
        (status = 413, description = "The file is over 20 MiB.", body = super::openapi::ErrorBody),
        (status = 422, description = "A bad language or prompt name, an unsupported format, an empty file or audio that does not decode (`field`: `lang`, `name` or `file`).", body = super::openapi::ErrorBody),
        (status = 503, description = "No prompt folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn upload<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path((lang, file)): Path<(String, String)>, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    if let Some(t) = media_type(&headers) {
        if !t.starts_with("audio/") && t != "application/octet-stream" {
            return Err(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("expected an audio/* or application/octet-stream body, got {t}")).into());
        }
    }
    let name = file.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(&file).to_string();
    let u = match upload_prompt(&*core, &lang, &name, &file, &headers, body).await {
        Ok(u) => u,
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => return Err(field_error(e.status, e.field, &e.message).into()),
        Err(e) => return Err(json_error(e.status, &e.message).into()),
    };
    let stored = format!("{}.{}", u.name, u.ext);
    let what = format!("{:.1} s at {} Hz", u.info.duration_ms as f64 / 1000.0, u.info.rate);
    who.audit(&store, "prompt.upload", &format!("{}/{stored}", u.lang), &format!("{what}, from {file}")).await;
    Ok(json(StatusCode::OK, &PromptStored { lang: u.lang, name: u.name, file: stored, duration_ms: u.info.duration_ms, rate: u.info.rate }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/prompts/{lang}/{file}",
    operation_id = "delete_prompt",
    tag = "prompts",
    summary = "Remove a prompt file",
    params(
        ("lang" = String, Path, description = "Language folder.", example = "en"),
        ("file" = String, Path, description = "`name.format`.", example = "welcome.wav"),
    ),
    responses(
        (status = 204, description = "Removed; calls stop playing it from their next prompt."),
        (status = 404, description = "No such prompt file.", body = super::openapi::ErrorBody),
        (status = 503, description = "No prompt folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path((lang, file)): Path<(String, String)>) -> Answer {
    let store = store(&*core)?;
    delete_prompt(&*core, &lang, &file).await.map_err(|e| missing(e, &lang, &file))?;
    who.audit(&store, "prompt.delete", &format!("{lang}/{file}"), "").await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

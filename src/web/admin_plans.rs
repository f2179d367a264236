//! Dialplan files over HTTP, scope `admin`: `/api/v1/dialplans` (the
//! files and whether the plan loads), `/api/v1/dialplans/{file}` (text,
//! save, delete), `POST /api/v1/dialplans/{file}/validate` (the same check
//! without saving) and `GET /api/v1/dialplans/simulate`, what the
//! console's dialplan pages do. Checks, the atomic save, removal and the
//! simulator are the console's (`console::dialplan_files`,
//! `console::dialplan_sim`): the same loader and validator the hot reload
//! uses, errors at `file:line:col`. Every write is audited. Owns request
//! parsing and routes only; must not touch the plan in force (the hot
//! reload swaps it) nor any path outside `[dialplan] dir`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::admin::{field_error, json, json_body, Answer, Refused};
use super::api::json_error;
use super::caller::{store, AdminCaller};
use super::console::dialplan_files::{check_change, delete_file, fingerprint, read_folder, save_file, valid_file_name, DeleteRefused, PlanError, SaveRefused, MAX_TEXT};
use super::console::dialplan_sim::{simulate, SimForm};
use super::CoreApi;

/// A loader error, at its place.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PlanErrorView {
    file: String,
    /// 1-based; 0 when the loader names no place.
    line: usize,
    col: usize,
    message: String,
}

impl From<PlanError> for PlanErrorView {
    fn from(e: PlanError) -> PlanErrorView {
        PlanErrorView { file: e.file, line: e.line, col: e.col, message: e.message }
    }
}

fn views(errors: Vec<PlanError>) -> Vec<PlanErrorView> {
    errors.into_iter().map(PlanErrorView::from).collect()
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PlanFile {
    name: String,
    size: u64,
    /// Seconds since the last change.
    changed_secs_ago: Option<u64>,
}

/// The folder and the state of the plan made of its files.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PlanFolder {
    folder: String,
    /// Whether the files load as one plan (the appliance keeps its last
    /// good plan while they do not).
    loads: bool,
    errors: Vec<PlanErrorView>,
    files: Vec<PlanFile>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PlanText {
    name: String,
    text: String,
    /// Of this version: send it back as `base` to save over exactly it.
    fingerprint: String,
    /// The loader's errors in this file (empty: none).
    errors: Vec<PlanErrorView>,
}

/// A file's new text.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanSave {
    text: String,
    /// The `fingerprint` the text was edited from ("" for a new file); when
    /// given and the file changed since, the save is refused (409).
    #[serde(default)]
    base: Option<String>,
}

/// The outcome of a check: the errors the text causes (in it or new in
/// other files), and the ones other files had already.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PlanCheck {
    /// Whether it may be saved (no errors of its own).
    valid: bool,
    errors: Vec<PlanErrorView>,
    others: Vec<PlanErrorView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PlanSaved {
    name: String,
    fingerprint: String,
    /// Whether the file is new.
    created: bool,
    /// Errors other files still have: the appliance keeps its last good
    /// plan until they are fixed.
    others: Vec<PlanErrorView>,
}

/// A refused save or removal: `error` and `field` as everywhere, and the
/// loader's errors at their lines.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PlanRefused {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    errors: Vec<PlanErrorView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SimulationSteps {
    /// What `switchboard dialplan simulate` prints, line by line.
    steps: Vec<String>,
}

fn plan_dir<C: CoreApi>(core: &C) -> Result<PathBuf, Refused> {
    super::console::dialplans::plan_dir(core).ok_or_else(|| json_error(StatusCode::SERVICE_UNAVAILABLE, "no dialplan folder is configured").into())
}

fn plan_refused(status: StatusCode, error: String, field: Option<&str>, errors: Vec<PlanError>) -> Refused {
    json(status, &PlanRefused { error, field: field.map(str::to_string), errors: views(errors) }).into()
}

/// A file name in the path: `NAME.toml` (404 otherwise: it names no file).
fn file_name(name: &str) -> Result<(), Refused> {
    if valid_file_name(name) {
        Ok(())
    } else {
        Err(json_error(StatusCode::NOT_FOUND, &format!("no dialplan file {name} (names are NAME.toml: letters, digits, '-', '_')")).into())
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/dialplans",
    operation_id = "list_dialplans",
    tag = "dialplans",
    summary = "List dialplan files",
    description = "The `*.toml` files of `[dialplan] dir` and whether they load as one plan (with the loader's errors at `file:line:col`).",
    responses(
        (status = 200, description = "The files and the plan's state.", body = PlanFolder),
        (status = 503, description = "No dialplan folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let dir = plan_dir(&*core)?;
    let d = dir.clone();
    let files = tokio::task::spawn_blocking(move || super::console::dialplans::listing(&d)).await.ok().and_then(Result::ok).unwrap_or_default();
    let texts = read_folder(&dir).await.map_err(|e| Refused::from(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e)))?;
    let errors: Vec<PlanError> = crate::dialplan::load_files(&texts).err().unwrap_or_default().iter().map(|e| PlanError::parse(e)).collect();
    let files = files.into_iter().map(|(name, size, changed_secs_ago)| PlanFile { name, size, changed_secs_ago }).collect();
    Ok(json(StatusCode::OK, &PlanFolder { folder: dir.display().to_string(), loads: errors.is_empty(), errors: views(errors), files }))
}

#[utoipa::path(
    get,
    path = "/api/v1/dialplans/{file}",
    operation_id = "get_dialplan",
    tag = "dialplans",
    summary = "Get a dialplan file's text",
    params(("file" = String, Path, description = "File name, `NAME.toml`.", example = "main.toml")),
    responses(
        (status = 200, description = "The text, its fingerprint and its errors.", body = PlanText),
        (status = 404, description = "No such file.", body = super::openapi::ErrorBody),
        (status = 503, description = "No dialplan folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path(name): Path<String>) -> Answer {
    let dir = plan_dir(&*core)?;
    file_name(&name)?;
    let texts = read_folder(&dir).await.map_err(|e| Refused::from(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e)))?;
    let Some(text) = texts.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone()) else {
        return Err(json_error(StatusCode::NOT_FOUND, &format!("no dialplan file {name}")).into());
    };
    let errors = crate::dialplan::load_files(&texts).err().unwrap_or_default().iter().map(|e| PlanError::parse(e)).filter(|e| e.file == name).collect();
    Ok(json(StatusCode::OK, &PlanText { fingerprint: fingerprint(&text), name, text, errors: views(errors) }))
}

#[utoipa::path(
    post,
    path = "/api/v1/dialplans/{file}/validate",
    operation_id = "validate_dialplan",
    tag = "dialplans",
    summary = "Check a dialplan file's text without saving it",
    description = "Loads the folder with this text in place of the file (or added, for a new name), as a save would: `valid` is false when the text causes errors, in it or in other files.",
    params(("file" = String, Path, description = "File name, `NAME.toml`.", example = "main.toml")),
    request_body = PlanSave,
    responses(
        (status = 200, description = "The check's outcome (`base` is ignored).", body = PlanCheck),
        (status = 422, description = "Not a file name (`field`: `file`) or the text is too large (`field`: `text`).", body = super::openapi::ErrorBody),
        (status = 503, description = "No dialplan folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn validate<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, Path(name): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let dir = plan_dir(&*core)?;
    let input: PlanSave = json_body(&headers, body).await?;
    writable(&name, &input.text).map_err(|(field, msg)| Refused::from(field_error(StatusCode::UNPROCESSABLE_ENTITY, field, &msg)))?;
    let texts = read_folder(&dir).await.map_err(|e| Refused::from(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e)))?;
    let (errors, others) = check_change(&texts, &name, Some(&input.text.replace("\r\n", "\n")));
    Ok(json(StatusCode::OK, &PlanCheck { valid: errors.is_empty(), errors: views(errors), others: views(others) }))
}

/// A name a file may be saved as, and a text not too large for it; the
/// field at fault and why otherwise.
fn writable(name: &str, text: &str) -> Result<(), (&'static str, String)> {
    if !valid_file_name(name) {
        return Err(("file", "a file name is 1 to 64 letters, digits, '-' or '_', ending in .toml (no folders)".into()));
    }
    if text.len() > MAX_TEXT {
        return Err(("text", format!("the file is larger than {} KiB", MAX_TEXT / 1024)));
    }
    Ok(())
}

#[utoipa::path(
    put,
    path = "/api/v1/dialplans/{file}",
    operation_id = "save_dialplan",
    tag = "dialplans",
    summary = "Save (or create) a dialplan file",
    description = "Saved only when the whole plan still loads with it, as the console's editor saves: written atomically (the hot reload never reads half a file), then loaded by the appliance within a few seconds. Errors other files already had do not block the save (they are listed in `others`).",
    params(("file" = String, Path, description = "File name, `NAME.toml`.", example = "main.toml")),
    request_body = PlanSave,
    responses(
        (status = 200, description = "Saved over an existing file.", body = PlanSaved),
        (status = 201, description = "Saved as a new file.", body = PlanSaved),
        (status = 409, description = "The file changed since the version `base` names.", body = PlanRefused),
        (status = 422, description = "The plan would not load (`errors` at their lines), or not a file name, or too large.", body = PlanRefused),
        (status = 503, description = "No dialplan folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn save<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(name): Path<String>, headers: HeaderMap, body: Body) -> Answer {
    let dir = plan_dir(&*core)?;
    let store = store(&*core)?;
    let input: PlanSave = json_body(&headers, body).await?;
    writable(&name, &input.text).map_err(|(field, msg)| plan_refused(StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: {msg}"), Some(field), Vec::new()))?;
    let attempt = save_file(&dir, &name, &input.text, input.base.as_deref()).await;
    let created = attempt.base.is_empty();
    let text = attempt.text;
    let others = match attempt.result {
        Ok(others) => others,
        Err(SaveRefused::Folder(e) | SaveRefused::Write(e)) => return Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("not saved: {e}")).into()),
        Err(SaveRefused::TooLarge) => return Err(plan_refused(StatusCode::UNPROCESSABLE_ENTITY, "text: the file is too large".into(), Some("text"), Vec::new())),
        Err(SaveRefused::Stale) => {
            let msg = "the file changed on disk since the version `base` names: fetch it again and merge".to_string();
            return Err(plan_refused(StatusCode::CONFLICT, msg, Some("base"), Vec::new()));
        }
        Err(SaveRefused::Invalid { blocking, .. }) => {
            let first = blocking.first().map(|e| format!("{}:{}:{}: {}", e.file, e.line, e.col, e.message)).unwrap_or_default();
            let msg = format!("text: not saved, the plan would not load ({} error{}; first {first})", blocking.len(), if blocking.len() == 1 { "" } else { "s" });
            return Err(plan_refused(StatusCode::UNPROCESSABLE_ENTITY, msg, Some("text"), blocking));
        }
    };
    let action = if created { "dialplan.create" } else { "dialplan.update" };
    who.audit(&store, action, &name, &format!("{} bytes, {} lines", text.len(), text.lines().count())).await;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(json(status, &PlanSaved { fingerprint: fingerprint(&text), name, created, others: views(others) }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/dialplans/{file}",
    operation_id = "delete_dialplan",
    tag = "dialplans",
    summary = "Remove a dialplan file",
    description = "Refused (409) while the other files need it (an entry naming one of its contexts, ...).",
    params(("file" = String, Path, description = "File name, `NAME.toml`.", example = "main.toml")),
    responses(
        (status = 204, description = "Removed; the appliance reloads the plan within a few seconds."),
        (status = 404, description = "No such file.", body = super::openapi::ErrorBody),
        (status = 409, description = "The other files need it (`errors`: what its removal would break).", body = PlanRefused),
        (status = 503, description = "No dialplan folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(name): Path<String>) -> Answer {
    let dir = plan_dir(&*core)?;
    let store = store(&*core)?;
    file_name(&name)?;
    match delete_file(&dir, &name).await {
        Ok(()) => {
            who.audit(&store, "dialplan.delete", &name, "").await;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(DeleteRefused::NotFound) => Err(json_error(StatusCode::NOT_FOUND, &format!("no dialplan file {name}")).into()),
        Err(DeleteRefused::Needed(e)) => {
            let msg = format!("{name} was not deleted: the other files need it ({}:{}: {})", e.file, e.line, e.message);
            Err(plan_refused(StatusCode::CONFLICT, msg, None, vec![e]))
        }
        Err(DeleteRefused::Folder(e) | DeleteRefused::Io(e)) => Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e).into()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/dialplans/simulate",
    operation_id = "simulate_dialplan",
    tag = "dialplans",
    summary = "Simulate a call through the saved plan",
    description = "What the console's simulator and `switchboard dialplan simulate` do: runs a call through the files as saved, without placing it, with scripted answers to menus, digit collections, customer lookups and webhooks.",
    params(
        ("did" = String, Query, description = "The dialled number.", example = "5550100"),
        ("caller" = Option<String>, Query, description = "Caller number (default `anonymous`)."),
        ("trunk" = Option<String>, Query, description = "The trunk the call came in on."),
        ("at" = Option<String>, Query, description = "The call's time, RFC 3339 (default: now)."),
        ("digits" = Option<String>, Query, description = "DTMF answers to successive menus and collections, comma separated; an empty one is a timeout (`1,,2345#`)."),
        ("lookup" = Option<String>, Query, description = "`k=v,...`: every customer lookup finds a customer with these fields."),
        ("http" = Option<String>, Query, description = "`k=v,...`: every webhook answers these fields."),
    ),
    responses(
        (status = 200, description = "The steps.", body = SimulationSteps),
        (status = 409, description = "The saved files do not load (`errors` at their lines).", body = PlanRefused),
        (status = 422, description = "An input is invalid (`field`: `did`, `at`, `lookup` or `http`).", body = super::openapi::ErrorBody),
        (status = 503, description = "No dialplan folder is configured.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn simulate_call<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller, uri: Uri) -> Answer {
    let dir = plan_dir(&*core)?;
    let form: SimForm = serde_urlencoded::from_str(uri.query().unwrap_or("")).map_err(|e| Refused::from(json_error(StatusCode::BAD_REQUEST, &format!("query string: {e}"))))?;
    let call = form.prepare().map_err(|e| {
        let (field, msg) = e.first().unwrap_or(("did", "invalid"));
        Refused::from(field_error(StatusCode::UNPROCESSABLE_ENTITY, field, msg))
    })?;
    match simulate(&dir, call).await {
        Some(Ok(steps)) => Ok(json(StatusCode::OK, &SimulationSteps { steps })),
        Some(Err(errors)) => {
            let errors: Vec<PlanError> = errors.iter().map(|e| PlanError::parse(e)).collect();
            Err(plan_refused(StatusCode::CONFLICT, format!("the saved files do not load ({} errors)", errors.len()), None, errors))
        }
        None => Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, "the simulation failed").into()),
    }
}

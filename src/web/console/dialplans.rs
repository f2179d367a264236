//! Dialplan files, admin only: the `*.toml` files of `[dialplan] dir`,
//! listed with the state of the whole plan; a file opened in an editor and
//! saved only when the plan still loads with it (the same loader and
//! validator the hot reload uses, errors shown at their line); a new file;
//! deleting one (refused when the rest needs it). Writes are atomic (a
//! temporary file renamed over the old one in the same folder), so the
//! running appliance's hot reload (`dialplan::live`, every 2 s) never reads
//! half a file. File names are plain `name.toml`; nothing outside the
//! folder is read or written. File handling is `dialplan_files`, the call
//! simulator `dialplan_sim`. Must not touch the plan in force: the hot
//! reload swaps it. The save and removal themselves are
//! `dialplan_files`' (shared with `/api/v1/dialplans`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::dialplan_files::{delete_file, errors_of, fingerprint, read_folder, save_file, valid_file_name, write_atomic, DeleteRefused, PlanError, SaveAttempt, SaveRefused, MAX_TEXT, WRITES};
use super::extensions::{flash_of, FlashQuery};
use super::layout::{field, Flash};
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::store::Role;
use crate::web::CoreApi;


/// The dialplan folder from the config.
pub(in crate::web) fn plan_dir<C: CoreApi>(core: &C) -> Option<PathBuf> {
    core.console_config().map(|c| c.dialplan_dir)
}


pub(super) async fn admin<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Admin)?;
    Ok(v)
}

/// A refused request (bad file name, no folder configured).
fn refused(v: &Viewer, status: StatusCode, text: &str) -> Response {
    let body = html! { div.card { p { (text) } p { a href="/dialplans" { "Back to the dialplans" } } } };
    let mut r = render(v, "/dialplans", "Dialplans", None, body);
    *r.status_mut() = status;
    r
}

/// Errors as a list; each names its line (a click selects it in the editor).
fn error_list(errors: &[PlanError], texts: &[(String, String)], link: bool) -> Markup {
    let line_of = |e: &PlanError| {
        texts.iter().find(|(n, _)| *n == e.file).and_then(|(_, t)| t.lines().nth(e.line.wrapping_sub(1))).map(str::to_string)
    };
    html! {
        ul.plan-errors {
            @for e in errors {
                li data-line=[(e.line > 0).then_some(e.line)] data-col=[(e.col > 0).then_some(e.col)] {
                    @if link && valid_file_name(&e.file) { a href={ "/dialplans/" (e.file) } { (e.file) } } @else { span.mono { (e.file) } }
                    @if e.line > 0 { " " strong.where { "line " (e.line) ", column " (e.col) } }
                    ": " (e.message)
                    @if let Some(src) = line_of(e) { pre.excerpt { span.muted { (e.line) " | " } (src) } }
                }
            }
        }
    }
}

/// "1 entry", "3 entries".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// (name, size, modified seconds ago) of the files the loader reads.
pub(in crate::web) fn listing(dir: &Path) -> std::io::Result<Vec<(String, u64, Option<u64>)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
            let md = e.metadata()?;
            let ago = md.modified().ok().and_then(|m| m.elapsed().ok()).map(|d| d.as_secs());
            out.push((e.file_name().to_string_lossy().into_owned(), md.len(), ago));
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Debug, Deserialize, Default)]
pub struct NewFile {
    #[serde(default)]
    name: String,
}

/// The list page: files, plan state, a new file, the simulator (`extra`).
pub(super) async fn list_page(v: &Viewer, dir: &Path, flash: Option<Flash>, new: (&str, Option<&str>), extra: Markup, status: StatusCode) -> Response {
    let d = dir.to_path_buf();
    let files = tokio::task::spawn_blocking(move || listing(&d)).await.unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    let (plan, texts) = match read_folder(dir).await {
        Ok(texts) => (crate::dialplan::load_files(&texts), texts),
        Err(e) => (Err(vec![e]), Vec::new()),
    };
    let body = html! {
        div.card {
            h2 { "Dialplan files" }
            p.muted { "Folder " code { (dir.display()) } ". The appliance reloads the plan a few seconds after a file changes; calls in progress keep the plan they started with." }
            @match &files {
                Err(e) => div.empty { "The folder cannot be read (" (e) "). Creating a file creates it." },
                Ok(f) if f.is_empty() => div.empty { "No dialplan files yet: calls are routed without a plan. Create one below." },
                Ok(f) => {
                    @match &plan {
                        Ok(loaded) => p.status { span.badge.ok { "loads" } " " (count(loaded.entries.len(), "entry", "entries")) ", " (count(loaded.contexts.len(), "context", "contexts")) ", " (count(loaded.time_rules.len(), "time rule", "time rules")) "." },
                        Err(errs) => div.status {
                            p { span.badge.bad { "does not load" } " The appliance keeps the last plan that loaded until these are fixed:" }
                            (error_list(&errs.iter().map(|e| PlanError::parse(e)).collect::<Vec<_>>(), &texts, true))
                        },
                    }
                    input.filter type="search" placeholder="Filter…" data-filter="dialplans-table" aria-label="Filter files";
                    table id="dialplans-table" {
                        thead { tr { th data-sort { "File" } th data-sort { "Size" } th data-sort { "Changed" } th { "" } } }
                        tbody { @for (name, size, ago) in f {
                            tr data-file=(name) {
                                td.mono { @if valid_file_name(name) { a href={ "/dialplans/" (name) } { (name) } } @else { (name) " " span.muted { "(rename to edit here)" } } }
                                td data-value=(size) { (size) " bytes" }
                                td data-value=(ago.unwrap_or(0)) { (ago.map(|a| format!("{} ago", super::layout::duration(a as i64))).unwrap_or_default()) }
                                td { @if valid_file_name(name) {
                                    a.button.secondary href={ "/dialplans/" (name) } { "Edit" } " "
                                    form.inline-block method="post" action={ "/dialplans/" (name) "/delete" } {
                                        input type="hidden" name="_csrf" value=(v.csrf);
                                        button.danger type="submit" { "Delete" }
                                    }
                                } }
                            }
                        } }
                    }
                },
            }
        }
        div.card {
            h2 { "New file" }
            form.inline id="new-dialplan" method="post" action="/dialplans" {
                input type="hidden" name="_csrf" value=(v.csrf);
                (field("File name (e.g. support.toml)", "name", "text", new.0, new.1))
                button type="submit" id="create-dialplan" { "Create" }
            }
        }
        (extra)
    };
    let mut r = render(v, "/dialplans", "Dialplans", flash.as_ref(), body);
    *r.status_mut() = status;
    r
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(dir) = plan_dir(&*core) else { return refused(&v, StatusCode::SERVICE_UNAVAILABLE, "No dialplan folder is configured.") };
    let sim = super::dialplan_sim::form(&super::dialplan_sim::SimForm::default(), &Default::default(), None);
    list_page(&v, &dir, flash_of(&q), ("", None), sim, StatusCode::OK).await
}

const STARTER: &str = "# Entries route dialled numbers to contexts; a context is a list of steps.\n\
# Every app is described in dialplans/README.md. For example:\n\
#\n\
# [[entry]]\n\
# match = { did = \"5550100\" }\n\
# context = \"main\"\n\
#\n\
# [context.main]\n\
# steps = [{ app = \"answer\" }, { app = \"play\", prompts = [\"welcome\"] }, { app = \"hangup\" }]\n";

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<NewFile>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(dir) = plan_dir(&*core) else { return refused(&v, StatusCode::SERVICE_UNAVAILABLE, "No dialplan folder is configured.") };
    let raw = f.name.trim();
    let name = if raw.ends_with(".toml") { raw.to_string() } else { format!("{raw}.toml") };
    let error = if !valid_file_name(&name) {
        Some("a file name is 1 to 64 letters, digits, '-' or '_', ending in .toml (no folders)".to_string())
    } else if dir.join(&name).exists() {
        Some(format!("{name} already exists"))
    } else {
        let _w = WRITES.lock().await;
        let (d, n) = (dir.clone(), name.clone());
        match tokio::task::spawn_blocking(move || write_atomic(&d, &n, STARTER)).await {
            Ok(Ok(())) => {
                v.audit("dialplan.create", &name, "").await;
                return see_other(&format!("/dialplans/{name}?ok={}", urlencode(&format!("{name} created."))));
            }
            Ok(Err(e)) => Some(format!("cannot write {name}: {e}")),
            Err(e) => Some(e.to_string()),
        }
    };
    let sim = super::dialplan_sim::form(&super::dialplan_sim::SimForm::default(), &Default::default(), None);
    let flash = Flash::error("The file was not created: see the marked field.");
    list_page(&v, &dir, Some(flash), (raw, error.as_deref()), sim, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// What the editor shows: the file's name, the text in the editor, the
/// fingerprint of the version it started from, and every file's text
/// (for the lines errors name).
struct Draft<'a> {
    name: &'a str,
    text: &'a str,
    base: &'a str,
    texts: &'a [(String, String)],
}

/// The editor page.
fn editor(v: &Viewer, d: &Draft, errors: &[PlanError], others: &[PlanError], flash: Option<Flash>) -> Response {
    let Draft { name, text, base, texts } = *d;
    let body = html! {
        div.editor-grid {
            div.card {
                form.stack.editor id="dialplan-editor" method="post" action={ "/dialplans/" (name) } {
                    input type="hidden" name="_csrf" value=(v.csrf);
                    input type="hidden" name="base" value=(base);
                    h2 { "Contents of " code { (name) } }
                    textarea.code id="plan-text" name="text" rows="30" spellcheck="false" autocapitalize="off" aria-label={ "Contents of " (name) }
                        aria-invalid=[(!errors.is_empty()).then_some("true")] aria-describedby="plan-errors" { (text) }
                    div.actions {
                        button type="submit" id="save-dialplan" { "Validate and save" }
                        " " a href="/dialplans" { "Back to the list" }
                    }
                }
            }
            aside.card id="plan-errors" {
                @if errors.is_empty() {
                    h2 { "Checks" }
                    p.muted { "On save the file is checked with the rest of the folder, as the appliance will load it. Nothing is saved while it has errors." }
                } @else {
                    h2 { "Not saved: " (errors.len()) " error" @if errors.len() != 1 { "s" } }
                    (error_list(errors, texts, false))
                }
                @if !others.is_empty() {
                    h2 { "Other files have errors" }
                    p.muted { "Until they are fixed the appliance keeps its last good plan." }
                    (error_list(others, texts, true))
                }
                h2 { "Delete" }
                form method="post" action={ "/dialplans/" (name) "/delete" } {
                    input type="hidden" name="_csrf" value=(v.csrf);
                    button.danger type="submit" id="delete-dialplan" { "Delete " (name) }
                }
            }
        }
        script src=(crate::web::assets::url("dialplans.js")) defer {}
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut r = render(v, "/dialplans", &format!("Dialplan {name}"), flash.as_ref(), body);
    *r.status_mut() = status;
    r
}

pub async fn edit<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath(name): UrlPath<String>, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(dir) = plan_dir(&*core) else { return refused(&v, StatusCode::SERVICE_UNAVAILABLE, "No dialplan folder is configured.") };
    if !valid_file_name(&name) {
        return refused(&v, StatusCode::BAD_REQUEST, "Not a dialplan file name (name.toml, no folders).");
    }
    let texts = match read_folder(&dir).await {
        Ok(t) => t,
        Err(e) => return see_other(&format!("/dialplans?err={}", urlencode(&e))),
    };
    let Some(text) = texts.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone()) else {
        return see_other(&format!("/dialplans?err={}", urlencode(&format!("{name} does not exist."))));
    };
    let mut others: Vec<PlanError> = errors_of(&texts).iter().map(|e| PlanError::parse(e)).collect();
    others.sort_by_key(|e| (e.file.clone(), e.line, e.col));
    let (mine, others): (Vec<PlanError>, Vec<PlanError>) = others.into_iter().partition(|e| e.file == name);
    let flash = flash_of(&q).or_else(|| (!mine.is_empty()).then(|| Flash::error("This file has errors: the appliance does not load it as it is.")));
    let mut r = editor(&v, &Draft { name: &name, text: &text, base: &fingerprint(&text), texts: &texts }, &mine, &others, flash);
    *r.status_mut() = StatusCode::OK;
    r
}

#[derive(Debug, Deserialize, Default)]
pub struct Save {
    #[serde(default)]
    text: String,
    #[serde(default)]
    base: String,
}

pub async fn save<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath(name): UrlPath<String>, Form(f): Form<Save>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(dir) = plan_dir(&*core) else { return refused(&v, StatusCode::SERVICE_UNAVAILABLE, "No dialplan folder is configured.") };
    if !valid_file_name(&name) {
        return refused(&v, StatusCode::BAD_REQUEST, "Not a dialplan file name (name.toml, no folders).");
    }
    let attempt = save_file(&dir, &name, &f.text, Some(&f.base)).await;
    let SaveAttempt { texts: shown, base, text, result } = attempt;
    let one = |message: String| vec![PlanError { file: name.clone(), line: 0, col: 0, message }];
    match result {
        Ok(others) => {
            v.audit("dialplan.update", &name, &format!("{} bytes, {} lines", text.len(), text.lines().count())).await;
            let msg = if others.is_empty() {
                format!("{name} saved; the appliance loads it within a few seconds.")
            } else {
                format!("{name} saved, but other files still have errors: the appliance keeps its last good plan until they are fixed.")
            };
            let which = if others.is_empty() { "ok" } else { "err" };
            see_other(&format!("/dialplans/{name}?{which}={}", urlencode(&msg)))
        }
        Err(SaveRefused::Folder(e)) => editor(&v, &Draft { name: &name, text: &text, base: &f.base, texts: &shown }, &one(e), &[], Some(Flash::error("Not saved."))),
        Err(SaveRefused::TooLarge) => {
            let e = one(format!("the file is larger than {} KiB", MAX_TEXT / 1024));
            editor(&v, &Draft { name: &name, text: &text, base: &f.base, texts: &shown }, &e, &[], Some(Flash::error("Not saved.")))
        }
        Err(SaveRefused::Stale) => {
            let e = one("the file changed on disk since you opened it; your text is below — copy it, reload the page and merge".into());
            let mut r = editor(&v, &Draft { name: &name, text: &text, base: &f.base, texts: &shown }, &e, &[], Some(Flash::error("Not saved: someone else changed the file.")));
            *r.status_mut() = StatusCode::CONFLICT;
            r
        }
        Err(SaveRefused::Invalid { blocking, others }) => {
            let flash = Flash::error(format!("Not saved: {} error{} (see the lines named).", blocking.len(), if blocking.len() == 1 { "" } else { "s" }));
            editor(&v, &Draft { name: &name, text: &text, base: &base, texts: &shown }, &blocking, &others, Some(flash))
        }
        Err(SaveRefused::Write(e)) => {
            let others: Vec<PlanError> = errors_of(&shown).iter().map(|e| PlanError::parse(e)).filter(|e| e.file != name).collect();
            editor(&v, &Draft { name: &name, text: &text, base: &base, texts: &shown }, &[], &others, Some(Flash::error(format!("Not saved: {e}"))))
        }
    }
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, UrlPath(name): UrlPath<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(dir) = plan_dir(&*core) else { return refused(&v, StatusCode::SERVICE_UNAVAILABLE, "No dialplan folder is configured.") };
    if !valid_file_name(&name) {
        return refused(&v, StatusCode::BAD_REQUEST, "Not a dialplan file name (name.toml, no folders).");
    }
    match delete_file(&dir, &name).await {
        Ok(()) => {
            v.audit("dialplan.delete", &name, "").await;
            see_other(&format!("/dialplans?ok={}", urlencode(&format!("{name} deleted; the appliance reloads the plan within a few seconds."))))
        }
        Err(DeleteRefused::Folder(e) | DeleteRefused::Io(e)) => see_other(&format!("/dialplans?err={}", urlencode(&e))),
        Err(DeleteRefused::NotFound) => see_other(&format!("/dialplans?err={}", urlencode(&format!("{name} does not exist.")))),
        Err(DeleteRefused::Needed(e)) => {
            let msg = format!("{name} was not deleted: the other files need it ({}:{}: {}).", e.file, e.line, e.message);
            see_other(&format!("/dialplans?err={}", urlencode(&msg)))
        }
    }
}

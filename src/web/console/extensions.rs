//! Extensions (SIP accounts of phones), admin only: list with current
//! registrations and user agents, create, rename / change codecs, reset
//! the secret (a new random one, shown once), delete. Validation and the
//! writes are `crate::admin`'s (shared with `/api/v1/extensions`; the value
//! rules are the store's, as the CLI uses them); errors are shown at the
//! field.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{csrf, duration, field, Flash};
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::store::Role;
use crate::web::CoreApi;

#[derive(Debug, Deserialize, Default)]
pub struct NewExtension {
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    codecs: String,
}

#[derive(Default)]
struct Errors {
    number: Option<String>,
    secret: Option<String>,
    codecs: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct FlashQuery {
    #[serde(default)]
    ok: String,
    #[serde(default)]
    err: String,
}

pub(super) fn flash_of(q: &FlashQuery) -> Option<Flash> {
    if !q.err.is_empty() {
        Some(Flash::error(q.err.clone()))
    } else if !q.ok.is_empty() {
        Some(Flash::ok(q.ok.clone()))
    } else {
        None
    }
}

fn new_form(v: &Viewer, f: &NewExtension, e: &Errors) -> Markup {
    html! {
        form.inline id="new-extension" method="post" action="/extensions" { (csrf(v))
            (field("Number", "number", "text", &f.number, e.number.as_deref()))
            (field("Name", "name", "text", &f.name, None))
            (field("SIP secret (8+ characters)", "secret", "password", "", e.secret.as_deref()))
            (field("Codecs (optional)", "codecs", "text", &f.codecs, e.codecs.as_deref()))
            button type="submit" id="create-extension" { "Add extension" }
        }
    }
}

async fn page(v: &Viewer, realm_hint: &str, flash: Option<Flash>, f: &NewExtension, e: &Errors, status: StatusCode) -> Response {
    let now = crate::store::unix_time();
    let exts = v.store.list_extensions().await.unwrap_or_default();
    let mut rows = Vec::new();
    for x in exts {
        let b = v.store.bindings(&x.number, now).await.unwrap_or_default();
        rows.push((x, b));
    }
    let body = html! {
        div.card { h2 { "New extension" } (new_form(v, f, e)) p.muted { "Phones register as " code { "<number>@<this appliance>" } " in realm " code { (realm_hint) } "." } }
        div.card {
            h2 { "Extensions" }
            input.filter type="search" placeholder="Filter…" data-filter="extensions-table" aria-label="Filter extensions";
            @if rows.is_empty() { div.empty { "No extensions yet." } } @else {
                table id="extensions-table" {
                    thead { tr { th data-sort { "Number" } th data-sort { "Name" } th data-sort { "Codecs" } th data-sort { "Class" } th data-sort { "Registered" } th { "" } } }
                    tbody { @for (x, b) in &rows {
                        tr data-number=(x.number) {
                            td { (x.number) }
                            td {
                                form.inline method="post" action={ "/extensions/" (x.number) } { (csrf(v))
                                    input type="text" name="name" value=(x.name) aria-label="Name";
                                    input type="text" name="codecs" value=(x.codecs.as_deref().unwrap_or("")) placeholder="default" aria-label="Codecs";
                                    select name="dial_class" aria-label="Class of service" title="Which external numbers this phone may dial" {
                                        @for c in crate::config::DialClass::ALL {
                                            option value=(c.as_str()) selected[c.as_str() == x.dial_class] { (c.as_str()) }
                                        }
                                    }
                                    button.secondary type="submit" { "Save" }
                                }
                            }
                            td { (x.codecs.as_deref().unwrap_or("default")) }
                            td { (x.dial_class) }
                            td {
                                @if b.is_empty() { span.badge.bad { "offline" } }
                                @for r in b { div { span.badge.ok { "online" } " " span.muted { (r.user_agent) " · " (r.source) " · " (duration(r.expires_at - now)) } } }
                            }
                            td {
                                form method="post" action={ "/extensions/" (x.number) "/secret" } { (csrf(v)) button.secondary type="submit" { "New secret" } }
                                form method="post" action={ "/extensions/" (x.number) "/delete" } { (csrf(v)) button.danger type="submit" { "Delete" } }
                            }
                        }
                    } }
                }
            }
        }
    };
    let mut r = render(v, "/extensions", "Extensions", flash.as_ref(), body);
    *r.status_mut() = status;
    r
}

async fn admin<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Admin)?;
    Ok(v)
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    page(&v, &core.sip_realm(), flash_of(&q), &NewExtension::default(), &Errors::default(), StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<NewExtension>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut e = Errors::default();
    match crate::admin::check_new_extension(&f.number, &f.secret, &f.codecs) {
        Ok((number, codecs)) => match crate::admin::create_extension(&v.store, &core.sip_realm(), &number, &f.name, &f.secret, codecs).await {
            Ok(()) => {
                v.audit("extension.create", &number, &format!("name '{}'", f.name.trim())).await;
                return see_other(&format!("/extensions?ok={}", urlencode(&format!("Extension {number} added."))));
            }
            Err(err) => e.number = Some(err.to_string()),
        },
        Err(found) => {
            for x in found {
                let slot = match x.field {
                    "secret" => &mut e.secret,
                    "codecs" => &mut e.codecs,
                    _ => &mut e.number,
                };
                slot.get_or_insert(x.message);
            }
        }
    }
    page(&v, &core.sip_realm(), Some(Flash::error("The extension was not added: see the marked fields.")), &f, &e, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Debug, Deserialize, Default)]
pub struct EditExtension {
    #[serde(default)]
    name: String,
    #[serde(default)]
    codecs: String,
    /// Empty: unchanged.
    #[serde(default)]
    dial_class: String,
}

pub async fn update<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(number): Path<String>, Form(f): Form<EditExtension>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let codecs = Some(f.codecs.trim()).filter(|c| !c.is_empty());
    let class = match Some(f.dial_class.trim()).filter(|c| !c.is_empty()).map(crate::admin::check_dial_class).transpose() {
        Ok(c) => c,
        Err(e) => return see_other(&format!("/extensions?err={}", urlencode(&e.to_string()))),
    };
    let saved = match crate::admin::update_extension(&v.store, &number, &f.name, codecs).await {
        Ok(()) => match class {
            Some(c) => crate::admin::set_dial_class(&v.store, &number, c).await,
            None => Ok(()),
        },
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => {
            let class = class.map_or("unchanged", |c| c.as_str());
            v.audit("extension.update", &number, &format!("name '{}', codecs '{}', class {class}", f.name.trim(), codecs.unwrap_or("default"))).await;
            see_other(&format!("/extensions?ok={}", urlencode(&format!("Extension {number} saved."))))
        }
        Err(e) => see_other(&format!("/extensions?err={}", urlencode(&e.to_string()))),
    }
}

/// A new random secret, shown once on the page that follows.
pub async fn reset_secret<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(number): Path<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match crate::admin::reset_secret(&v.store, &core.sip_realm(), &number).await {
        Ok(secret) => {
            v.audit("extension.reset_secret", &number, "new random secret").await;
            let flash = Flash::ok(format!("New secret for {number}: {secret} (shown only now; enter it in the phone)."));
            let mut r = page(&v, &core.sip_realm(), Some(flash), &NewExtension::default(), &Errors::default(), StatusCode::OK).await;
            // The secret must not stay in the browser's cache.
            r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => see_other(&format!("/extensions?err={}", urlencode(&e.to_string()))),
    }
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(number): Path<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match crate::admin::delete_extension(&v.store, &number).await {
        Ok(()) => {
            v.audit("extension.delete", &number, "").await;
            see_other(&format!("/extensions?ok={}", urlencode(&format!("Extension {number} deleted."))))
        }
        Err(e) => see_other(&format!("/extensions?err={}", urlencode(&e.to_string()))),
    }
}

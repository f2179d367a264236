//! API keys for programs using the HTTP API, admin only: list (name,
//! prefix, scopes, created, last used), create with scopes (the clear key
//! is shown once, on the answer to the create form, and never stored or
//! logged), delete. What a key needs is `crate::admin`'s (shared with
//! `/api/v1/apikeys`), keys and their rules the store's, shared with
//! `switchboard apikey`; the audit log gets names and scopes, never keys.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::html;

use super::extensions::{flash_of, FlashQuery};
use super::layout::{field, Flash};
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::admin::{check_api_key_input, AdminError, ApiKeyInput};
use crate::store::{Role, API_SCOPES};
use crate::web::CoreApi;

/// What each scope lets a key do (shown beside its checkbox).
fn scope_help(scope: &str) -> &'static str {
    match scope {
        "events" => "CTI event stream (WebSocket)",
        "stats" => "ACD statistics",
        "calls" => "call and agent control, dispositions",
        "admin" => "everything, including queue, agent and customer administration",
        _ => "",
    }
}

async fn admin<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Admin)?;
    Ok(v)
}

fn utc(secs: i64) -> String {
    super::calls::utc_ms(secs.saturating_mul(1000))
}

/// The create form as sent (checkboxes repeat `scopes`).
#[derive(Default)]
struct NewKey {
    name: String,
    scopes: Vec<String>,
}

impl NewKey {
    fn from_pairs(pairs: &[(String, String)]) -> NewKey {
        let mut k = NewKey::default();
        for (name, value) in pairs {
            match name.as_str() {
                "name" => k.name = value.trim().to_string(),
                "scopes" => k.scopes.push(value.clone()),
                _ => {}
            }
        }
        k
    }
}

#[derive(Default)]
struct Errors {
    name: Option<String>,
    scopes: Option<String>,
}

/// The page; `created` is a new key's name and clear text, shown once.
async fn page(v: &Viewer, flash: Option<Flash>, f: &NewKey, e: &Errors, created: Option<(&str, &str)>, status: StatusCode) -> Response {
    let keys = v.store.list_api_keys().await.unwrap_or_default();
    let body = html! {
        @if let Some((name, key)) = created {
            div.card.new-key id="new-key-card" {
                h2 { "Key " (name) " created" }
                p { "Copy it now: it is shown only this once and cannot be recovered (only a hash is kept)." }
                p { code.secret id="new-api-key" { (key) } }
                p.muted { "Programs send it as " code { "Authorization: Bearer <key>" } "." }
            }
        }
        div.card {
            h2 { "New API key" }
            form.stack id="new-api-key-form" method="post" action="/apikeys" {
                input type="hidden" name="_csrf" value=(v.csrf);
                (field("Name (letters, digits, '-', '_', '.')", "name", "text", &f.name, e.name.as_deref()))
                fieldset id="scopes" aria-invalid=[e.scopes.as_ref().map(|_| "true")] {
                    legend { "Scopes" }
                    @for s in API_SCOPES {
                        label.check {
                            input type="checkbox" name="scopes" value=(s) checked[f.scopes.iter().any(|x| x == s)];
                            span { strong { (s) } " – " (scope_help(s)) }
                        }
                    }
                    @if let Some(err) = &e.scopes { span.field-error id="scopes-error" { (err) } }
                }
                div { button type="submit" id="create-api-key" { "Create key" } }
            }
        }
        div.card {
            h2 { "API keys" }
            @if keys.is_empty() { div.empty { "No API keys yet. Wallboards, CRMs and scripts each get their own key, with only the scopes they need." } } @else {
                input.filter type="search" placeholder="Filter…" data-filter="apikeys-table" aria-label="Filter API keys";
                table id="apikeys-table" {
                    thead { tr { th data-sort { "Name" } th data-sort { "Prefix" } th data-sort { "Scopes" } th data-sort { "Created (UTC)" } th data-sort { "Last used (UTC)" } th { "" } } }
                    tbody { @for k in &keys {
                        tr data-key=(k.name) {
                            td { (k.name) }
                            td.mono { (k.prefix) "…" }
                            td { @for s in &k.scopes { span.badge { (s) } " " } }
                            td data-value=(k.created_at) { (utc(k.created_at)) }
                            td data-value=(k.last_used_at.unwrap_or(0)) { (k.last_used_at.map(utc).unwrap_or_else(|| "never".into())) }
                            td {
                                form method="post" action="/apikeys/delete" data-confirm={ "Delete API key " (k.name) "? Programs using it stop working at once." } {
                                    input type="hidden" name="_csrf" value=(v.csrf);
                                    input type="hidden" name="name" value=(k.name);
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    } }
                }
            }
        }
        script src=(crate::web::assets::url("records.js")) defer {}
    };
    let mut r = render(v, "/apikeys", "API keys", flash.as_ref(), body);
    *r.status_mut() = status;
    // The page may carry a clear key: never cached.
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    page(&v, flash_of(&q), &NewKey::default(), &Errors::default(), None, StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let f = NewKey::from_pairs(&pairs);
    let mut e = Errors::default();
    let input = ApiKeyInput { name: f.name.clone(), scopes: f.scopes.clone() };
    let problems = check_api_key_input(&input);
    if problems.is_empty() {
        match crate::admin::create_api_key(&v.store, &input).await {
            Ok(key) => {
                v.audit("apikey.create", &f.name, &format!("scopes {}", f.scopes.join(","))).await;
                let flash = Flash::ok(format!("API key {} created.", f.name));
                return page(&v, Some(flash), &NewKey::default(), &Errors::default(), Some((&f.name, &key)), StatusCode::OK).await;
            }
            Err(AdminError::Invalid { field: "scopes", message }) => e.scopes = Some(message),
            Err(err) => e.name = Some(err.to_string()),
        }
    }
    for p in problems {
        let slot = if p.field == "scopes" { &mut e.scopes } else { &mut e.name };
        slot.get_or_insert(p.message);
    }
    page(&v, Some(Flash::error("The key was not created: see the marked fields.")), &f, &e, None, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct KeyName {
    #[serde(default)]
    name: String,
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(k): Form<KeyName>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match crate::admin::revoke_api_key(&v.store, &k.name).await {
        Ok(()) => {
            v.audit("apikey.delete", &k.name, "").await;
            see_other(&format!("/apikeys?ok={}", urlencode(&format!("API key {} deleted.", k.name))))
        }
        Err(e) => see_other(&format!("/apikeys?err={}", urlencode(&e.to_string()))),
    }
}

//! SIP trunks, admin only: the list with each trunk's last OPTIONS probe
//! and registration state (written by the trunk supervisor to the store),
//! its DIDs and codecs; adding a trunk with the options of `switchboard
//! trunk add` and deleting one (changing one is `trunk_edit`'s page).
//! Validation and the write are `admin::create_trunk`, shared with the CLI
//! and `/api/v1/trunks`; errors are shown at the field. Secrets are never
//! shown.
//! Must not talk to the trunk supervisor: it picks rows up by itself.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::extensions::{flash_of, FlashQuery};
use super::layout::{duration, field, Flash};
use super::{render, see_other, urlencode, viewer, Peer, Viewer};
use crate::admin::{AdminError, TrunkInput, TrunkRefused};
use crate::store::{InvalidField, Role, TrunkStatus};
use crate::web::CoreApi;

/// The add form as posted (checkboxes are absent when off).
#[derive(Debug, Deserialize, Default)]
pub struct NewTrunk {
    #[serde(default)]
    name: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    transport: String,
    #[serde(default)]
    register: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
    /// `NUM[=EXT]` items separated by commas, spaces or lines.
    #[serde(default)]
    dids: String,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    codecs: String,
}

impl NewTrunk {
    fn input(&self) -> TrunkInput {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        TrunkInput {
            name: self.name.trim().to_string(),
            host: self.host.trim().to_string(),
            transport: self.transport.clone(),
            register: self.register.is_some(),
            username: opt(&self.username),
            secret: opt(&self.secret),
            dids: self.dids.split([',', ' ', '\n', '\r', '\t']).filter(|d| !d.is_empty()).map(str::to_string).collect(),
            is_default: self.default.is_some(),
            codecs: opt(&self.codecs),
        }
    }
}

async fn admin<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, peer: &std::net::SocketAddr) -> Result<Viewer, Response> {
    let v = viewer(core, headers, uri, peer).await?;
    v.require(Role::Admin)?;
    Ok(v)
}

/// Errors of one field, joined.
fn err_of(errors: &[InvalidField], name: &str) -> Option<String> {
    let m: Vec<&str> = errors.iter().filter(|e| e.field == name).map(|e| e.message.as_str()).collect();
    (!m.is_empty()).then(|| m.join("; "))
}

fn new_form(v: &Viewer, f: &NewTrunk, errors: &[InvalidField]) -> Markup {
    let e = |n: &str| err_of(errors, n);
    html! {
        form.inline id="new-trunk" method="post" action="/trunks" {
            input type="hidden" name="_csrf" value=(v.csrf);
            (field("Name", "name", "text", &f.name, e("name").as_deref()))
            (field("Carrier host (HOST:PORT)", "host", "text", &f.host, e("host").as_deref()))
            label {
                "Transport"
                select name="transport" id="transport" aria-invalid=[e("transport").map(|_| "true")] {
                    @for t in ["udp", "tcp"] { option value=(t) selected[f.transport == t] { (t.to_uppercase()) } }
                }
                @if let Some(m) = e("transport") { span.field-error id="transport-error" { (m) } }
            }
            (field("Username", "username", "text", &f.username, e("username").as_deref()))
            (field("Secret", "secret", "password", "", e("secret").as_deref()))
            label.check { input type="checkbox" name="register" id="register" value="1" checked[f.register.is_some()]; "Register" }
            (field("DIDs (NUM or NUM=EXT, comma separated)", "dids", "text", &f.dids, e("dids").as_deref()))
            (field("Codecs (optional, e.g. PCMA,PCMU)", "codecs", "text", &f.codecs, e("codecs").as_deref()))
            label.check { input type="checkbox" name="default" id="default" value="1" checked[f.default.is_some()]; "Default outbound" }
            button type="submit" id="create-trunk" { "Add trunk" }
        }
    }
}

/// A probe result as a badge.
fn state(v: Option<bool>, up: &str, down: &str) -> Markup {
    html! {
        @match v {
            Some(true) => span.badge.ok { (up) },
            Some(false) => span.badge.bad { (down) },
            None => span.badge.warn { "unknown" },
        }
    }
}

async fn page(v: &Viewer, probes: bool, flash: Option<Flash>, f: &NewTrunk, errors: &[InvalidField], status: StatusCode) -> Response {
    let now = crate::store::unix_time();
    let mut rows = Vec::new();
    for t in v.store.list_trunks().await.unwrap_or_default() {
        let st: Option<TrunkStatus> = v.store.trunk_status(&t.name).await.unwrap_or_default();
        let dids = v.store.dids(&t.name).await.unwrap_or_default();
        rows.push((t, st, dids));
    }
    let body = html! {
        div.card { h2 { "New trunk" } (new_form(v, f, errors))
            p.muted { "Calls from the carrier are accepted from the host's address; registration keeps a dynamic line reachable. The first trunk is the default for outbound calls." }
        }
        div.card {
            h2 { "Trunks" }
            input.filter type="search" placeholder="Filter…" data-filter="trunks-table" aria-label="Filter trunks";
            @if rows.is_empty() { div.empty { "No trunks yet: calls stay inside the appliance." } } @else {
                table id="trunks-table" {
                    thead { tr {
                        th data-sort { "Name" } th data-sort { "Host" } th data-sort { "Transport" } th data-sort { "OPTIONS" }
                        th data-sort { "Registration" } th { "DIDs" } th data-sort { "Codecs" } th { "" }
                    } }
                    tbody { @for (t, st, dids) in &rows {
                        tr data-trunk=(t.name) {
                            td { (t.name) @if t.is_default { " " span.badge { "default" } } }
                            td.mono { (t.host) }
                            td { (t.transport.to_uppercase()) }
                            td.options {
                                @if probes { (state(st.as_ref().and_then(|s| s.options_ok), "up", "down")) } @else { span.muted { "off" } }
                            }
                            td.registration {
                                @if t.register { (state(st.as_ref().and_then(|s| s.registered), "registered", "failed")) } @else { span.muted { "n/a" } }
                                @if let Some(s) = st {
                                    div.muted { @if !s.detail.is_empty() { (s.detail) " · " } (duration(now - s.updated_at)) " ago" }
                                }
                            }
                            td.mono {
                                @if dids.is_empty() { span.muted { "none" } }
                                @for d in dids { div { (d.did) @if d.did != d.extension { " → " (d.extension) } } }
                            }
                            td { (t.codecs.as_deref().unwrap_or("default")) }
                            td {
                                a.button.secondary href={ "/trunks/" (urlencode(&t.name)) } { "Edit" }
                                form.inline method="post" action={ "/trunks/" (urlencode(&t.name)) "/delete" } {
                                    input type="hidden" name="_csrf" value=(v.csrf);
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    } }
                }
            }
        }
    };
    let mut r = render(v, "/trunks", "Trunks", flash.as_ref(), body);
    *r.status_mut() = status;
    r
}

fn probes<C: CoreApi>(core: &C) -> bool {
    core.console_config().is_some_and(|c| c.trunk_options)
}

pub async fn list<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    page(&v, probes(&*core), flash_of(&q), &NewTrunk::default(), &[], StatusCode::OK).await
}

pub async fn create<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<NewTrunk>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let errors = match crate::admin::create_trunk(&v.store, f.input()).await {
        Ok(t) => {
            v.audit("trunk.create", &t.trunk().name, &t.summary()).await;
            return see_other(&format!("/trunks?ok={}", urlencode(&format!("Trunk {} added.", t.trunk().name))));
        }
        Err(TrunkRefused::Invalid(errors)) => errors,
        Err(TrunkRefused::Store(AdminError::Conflict(m))) if m.starts_with("DID") => vec![InvalidField { field: "dids", message: m }],
        Err(TrunkRefused::Store(AdminError::Conflict(m))) => vec![InvalidField { field: "name", message: m }],
        Err(TrunkRefused::Store(e)) => vec![InvalidField { field: "name", message: e.to_string() }],
    };
    let flash = Flash::error("The trunk was not added: see the marked fields.");
    page(&v, probes(&*core), Some(flash), &f, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn delete<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(name): Path<String>) -> Response {
    let v = match admin(&*core, &headers, &uri, &peer).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match crate::admin::delete_trunk(&v.store, &name).await {
        Ok(()) => {
            v.audit("trunk.delete", &name, "").await;
            see_other(&format!("/trunks?ok={}", urlencode(&format!("Trunk {name} deleted."))))
        }
        Err(e) => see_other(&format!("/trunks?err={}", urlencode(&e.to_string()))),
    }
}

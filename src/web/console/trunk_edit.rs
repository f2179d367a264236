//! One trunk's page, `/trunks/{name}` (admins): its DIDs and last probe,
//! and a form changing its host, transport, credentials, registration,
//! codecs and default flag (the DIDs stay: delete and add the trunk to
//! change them). The same `admin::update_trunk` as `switchboard trunk set`
//! and `PUT /api/v1/trunks/{trunk}`: fields keep their value unless
//! changed, the secret is write-only (empty keeps it), errors are shown at
//! the field, a save is audited (never the secret) and redirects with a
//! flash. Must not talk to the trunk supervisor: it sees the changed row
//! within seconds and re-registers when the line changed.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::extensions::{flash_of, FlashQuery};
use super::forms::{checkbox, csrf, hinted, render_status, select, viewer_at_least, Errors};
use super::layout::{duration, Flash};
use super::{see_other, urlencode, Peer, Viewer};
use crate::admin::{AdminError, TrunkChange, TrunkRefused};
use crate::store::{Role, Trunk};
use crate::web::CoreApi;

/// The form as posted (checkboxes are absent when off).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct TrunkForm {
    host: String,
    transport: String,
    username: String,
    /// Write-only: empty keeps the stored one.
    secret: String,
    register: Option<String>,
    default: Option<String>,
    codecs: String,
}

impl TrunkForm {
    fn of(t: &Trunk) -> TrunkForm {
        TrunkForm {
            host: t.host.clone(),
            transport: t.transport.clone(),
            username: t.username.clone().unwrap_or_default(),
            secret: String::new(),
            register: t.register.then(|| "1".into()),
            default: t.is_default.then(|| "1".into()),
            codecs: t.codecs.clone().unwrap_or_default(),
        }
    }

    /// Every field of the form is a value (a blank username removes the
    /// credentials, blank codecs mean the default); only a blank secret
    /// keeps what is stored.
    fn change(&self) -> TrunkChange {
        TrunkChange {
            host: Some(self.host.clone()),
            transport: Some(self.transport.clone()),
            register: Some(self.register.is_some()),
            username: Some(self.username.clone()),
            secret: Some(self.secret.clone()),
            is_default: Some(self.default.is_some()),
            codecs: Some(self.codecs.clone()),
        }
    }
}

fn here(name: &str) -> String {
    format!("/trunks/{}", urlencode(name))
}

async fn page(v: &Viewer, t: &Trunk, f: &TrunkForm, e: &Errors, flash: Option<Flash>, status: StatusCode) -> Response {
    let dids = v.store.dids(&t.name).await.unwrap_or_default();
    let st = v.store.trunk_status(&t.name).await.unwrap_or_default();
    let now = crate::store::unix_time();
    let transports = [("udp", "UDP"), ("tcp", "TCP")];
    let body = html! {
        p { a href="/trunks" { "← All trunks" } }
        div.grid {
            div.card {
                h2 { "DIDs" }
                @if dids.is_empty() { div.empty { "None." } }
                @for d in &dids { div.mono { (d.did) @if d.did != d.extension { " → " (d.extension) } } }
                p.muted { "DIDs are not changed here: delete the trunk and add it again to change them." }
            }
            div.card {
                h2 { "Last probe" }
                @match &st {
                    None => div.muted id="trunk-status" { "None since the last change: the supervisor probes within seconds." },
                    Some(s) => div id="trunk-status" {
                        "OPTIONS " (match s.options_ok { Some(true) => "up", Some(false) => "down", None => "unknown" })
                        @if t.register { ", registration " (match s.registered { Some(true) => "registered", Some(false) => "failed", None => "unknown" }) }
                        @if !s.detail.is_empty() { " · " (s.detail) }
                        span.muted { " · " (duration(now - s.updated_at)) " ago" }
                    },
                }
            }
        }
        div.card {
            h2 { "Trunk " (t.name) }
            form.settings id="trunk-form" method="post" action=(here(&t.name)) {
                (csrf(v))
                div.form-grid {
                    (hinted("Carrier host (HOST:PORT)", "host", "text", &f.host, "Must resolve; calls from this address are the trunk's", e.get("host")))
                    (select("Transport", "transport", &transports, &f.transport, e.get("transport")))
                    (hinted("Username", "username", "text", &f.username, "Empty: no credentials (the secret is removed too)", e.get("username")))
                    label {
                        "Secret"
                        input type="password" name="secret" id="secret" value="" autocomplete="new-password"
                            placeholder=(if t.secret.is_some() { "(unchanged)" } else { "" }) aria-invalid=[e.get("secret").map(|_| "true")];
                        @if let Some(m) = e.get("secret") { span.field-error id="secret-error" { (m) } }
                        @else { span.hint id="secret-state" { @if t.secret.is_some() { "A secret is set; leave empty to keep it." } @else { "No secret set." } } }
                    }
                    (hinted("Codecs", "codecs", "text", &f.codecs, "e.g. PCMA,PCMU; empty: [media] codecs", e.get("codecs")))
                }
                div.checks {
                    (checkbox("Register", "register", f.register.is_some(), false))
                    (checkbox("Default outbound", "default", f.default.is_some(), false))
                }
                button type="submit" id="save-trunk" { "Save" }
                span.muted { " A changed host, transport or credentials: the trunk re-registers within seconds." }
            }
        }
    };
    render_status(v, "/trunks", &format!("Trunk {}", t.name), flash.as_ref(), body, status)
}

async fn load(v: &Viewer, name: &str) -> Result<Trunk, Response> {
    match v.store.trunk(name).await {
        Ok(Some(t)) => Ok(t),
        other => {
            let (status, text) = match other {
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                _ => (StatusCode::NOT_FOUND, format!("trunk {name} not found")),
            };
            let body = html! { div.card { p { (text) } p { a href="/trunks" { "All trunks" } } } };
            Err(render_status(v, "/trunks", "Trunk", None, body, status))
        }
    }
}

pub async fn show<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(name): Path<String>, Query(q): Query<FlashQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match load(&v, &name).await {
        Ok(t) => page(&v, &t, &TrunkForm::of(&t), &Errors::default(), flash_of(&q), StatusCode::OK).await,
        Err(r) => r,
    }
}

pub async fn update<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Path(name): Path<String>, Form(mut f): Form<TrunkForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut e = Errors::default();
    match crate::admin::update_trunk(&v.store, &name, f.change()).await {
        Ok(done) if done.summary.is_empty() => return see_other(&format!("{}?ok={}", here(&name), urlencode("Nothing changed."))),
        Ok(done) => {
            v.audit("trunk.update", &name, &done.summary).await;
            return see_other(&format!("/trunks?ok={}", urlencode(&format!("Trunk {name} changed: {}.", done.summary))));
        }
        Err(TrunkRefused::Invalid(errors)) => {
            for x in errors {
                if x.field.is_empty() {
                    e.form = Some(x.message);
                } else {
                    e.set(x.field, x.message);
                }
            }
        }
        Err(TrunkRefused::Store(AdminError::NotFound(m))) => return see_other(&format!("/trunks?err={}", urlencode(&format!("{m} not found")))),
        Err(TrunkRefused::Store(other)) => e.admin(other, ""),
    }
    // Never echoed back.
    f.secret.clear();
    match load(&v, &name).await {
        Ok(t) => page(&v, &t, &f, &e, Some(Flash::error(e.summary("The trunk was not changed"))), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(r) => r,
    }
}

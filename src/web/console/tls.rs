//! The settings page's "TLS certificate" section, admin only: what the
//! console's HTTPS and SIP over TLS serve (subject, names, issuer,
//! validity, SHA-256 fingerprint, self-signed or not) and where, a form to
//! replace it with a PEM chain and key (pasted, or read from files by
//! settings.js), and "Generate a new self-signed certificate". Both
//! changes are checked and applied live by `crate::tls` (through
//! `admin_tls`, shared with the API), audited, and reported as the page's
//! flash. The key is never shown, logged or echoed back.

use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::forms::{csrf, viewer_at_least};
use super::{see_other, urlencode, Peer, Viewer};
use crate::config::Config;
use crate::store::Role;
use crate::tls::{CertInfo, ServerCert};
use crate::web::admin_tls;
use crate::web::CoreApi;

/// The replacement form as posted.
#[derive(Deserialize)]
pub struct TlsForm {
    #[serde(default)]
    certificate: String,
    #[serde(default)]
    key: String,
}

/// A listener's address, or "off".
fn listener(addr: Option<std::net::SocketAddr>) -> String {
    addr.map(|a| a.to_string()).unwrap_or_else(|| "off".into())
}

fn kv(label: &str, value: Markup) -> Markup {
    html! { tr { th scope="row" { (label) } td { (value) } } }
}

/// The section: the served certificate and the two ways to change it.
pub(super) fn card(v: &Viewer, run: &Config, cert: Option<&ServerCert>) -> Markup {
    let now = crate::store::unix_time();
    html! {
        div.card id="tls" {
            @match cert {
                None => {
                    h2 { "TLS certificate " span.badge.warn { "not available" } }
                    p.muted { "This appliance has no certificate store." }
                }
                Some(cert) => {
                    @let info = cert.info();
                    h2 {
                        "TLS certificate "
                        @if info.expired(now) { span.badge.bad id="tls-state" { "expired" } }
                        @else if info.self_signed { span.badge.warn id="tls-state" { "self-signed" } }
                        @else { span.badge.ok id="tls-state" { "issued by " (info.issuer) } }
                    }
                    p.muted {
                        "Served by the console over HTTPS (" code { (listener(run.http.tls_listen)) } ") and by SIP over TLS ("
                        code { (listener(run.sip.tls_listen)) } "). A replacement applies to new connections at once; open ones keep the old certificate."
                    }
                    (details(&info, cert))
                    @if info.self_signed {
                        p.hint { "Browsers and phones warn about a self-signed certificate until it is trusted: compare the fingerprint above, or upload one issued by your CA." }
                    }
                    (forms(v))
                }
            }
        }
    }
}

fn details(info: &CertInfo, cert: &ServerCert) -> Markup {
    html! {
        table.kv id="tls-certificate" { tbody {
            (kv("Subject", html! { span.mono id="tls-subject" { (info.subject) } }))
            (kv("Names", html! { span.mono id="tls-sans" { (info.sans.join(", ")) } }))
            (kv("Issuer", html! { span.mono id="tls-issuer" { (info.issuer) } " " @if info.self_signed { span.muted { "(self-signed)" } } }))
            (kv("Valid", html! { span.mono id="tls-validity" { (CertInfo::date(info.not_before)) " to " (CertInfo::date(info.not_after)) } }))
            (kv("SHA-256 fingerprint", html! { span.mono id="tls-fingerprint" { (info.fingerprint_sha256) } }))
            (kv("Chain", html! { (info.chain_len) " certificate" @if info.chain_len != 1 { "s" } }))
            (kv("Files", html! { span.mono { (cert.dir().join(crate::tls::CERT_FILE).display()) ", " (cert.dir().join(crate::tls::KEY_FILE).display()) } }))
        } }
    }
}

fn forms(v: &Viewer) -> Markup {
    html! {
        h3 { "Replace" }
        form.stack id="tls-form" method="post" action="/settings/tls" {
            (csrf(v))
            label {
                "Certificate (PEM): the server's first, then each intermediate"
                input type="file" accept=".pem,.crt,.cer" data-fill="tls-certificate-text";
                textarea name="certificate" id="tls-certificate-text" rows="6" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----" {}
            }
            label {
                "Private key (PEM, unencrypted)"
                input type="file" accept=".pem,.key" data-fill="tls-key-text";
                textarea name="key" id="tls-key-text" rows="4" spellcheck="false" autocomplete="off" placeholder="-----BEGIN PRIVATE KEY-----" {}
            }
            button type="submit" id="tls-upload" { "Check and use" }
        }
        form.inline method="post" action="/settings/tls/regenerate" data-confirm="Replace the served certificate with a new self-signed one? Browsers and phones that trusted the old one must trust the new one." {
            (csrf(v))
            button.danger type="submit" id="tls-regenerate" { "Generate a new self-signed certificate" }
        }
    }
}

/// `POST /settings/tls`: checks, stores and serves the pasted pair.
pub async fn replace<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(f): Form<TlsForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(cert) = core.tls() else { return back(Err("this appliance has no certificate store".into())) };
    match admin_tls::replace(cert, f.certificate, f.key).await {
        Ok(info) => {
            v.audit("tls.replace", "tls certificate", &admin_tls::describe(&info)).await;
            back(Ok(format!("Certificate replaced: {} is served to new connections.", info.subject)))
        }
        Err(e) => {
            if admin_tls::is_internal(&e) {
                tracing::error!("TLS certificate not replaced: {e}");
            }
            back(Err(format!("Certificate not replaced ({}): {e}", admin_tls::field_of(&e))))
        }
    }
}

/// `POST /settings/tls/regenerate`: a new self-signed pair, served at once.
pub async fn regenerate<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(cert) = core.tls() else { return back(Err("this appliance has no certificate store".into())) };
    match admin_tls::regenerate(cert).await {
        Ok(info) => {
            v.audit("tls.regenerate", "tls certificate", &admin_tls::describe(&info)).await;
            back(Ok(format!("New self-signed certificate served, SHA-256 {}.", info.fingerprint_sha256)))
        }
        Err(e) => {
            tracing::error!("TLS certificate not regenerated: {e}");
            back(Err(format!("No new certificate: {e}")))
        }
    }
}

/// Back to the settings page with the outcome as its flash (at the top, where it is seen).
fn back(outcome: Result<String, String>) -> Response {
    match outcome {
        Ok(m) => see_other(&format!("/settings?ok={}", urlencode(&m))),
        Err(m) => see_other(&format!("/settings?err={}", urlencode(&m))),
    }
}

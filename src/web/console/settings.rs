//! Settings, admin only: the configuration in force, grouped (SIP, RTP,
//! codecs, e-mail, site time zone), the TLS certificate (`tls`), the system
//! update card (`update`: version, slot, last status, upload), and a form for the keys
//! the console edits (listen addresses, codecs, RTP port range, SMTP, time
//! zone); a saved console address other than the one the admin is using
//! is pointed out before they restart. A save
//! edits the configuration file in place through `crate::config`
//! (validated with `Config::parse` first, errors at the field, written
//! atomically, comments kept), is audited without the SMTP password, and
//! applies at the next start: the page lists what waits for it and offers
//! "Restart now" (`restart`). Reading and saving the file are
//! `settings_file`'s (shared with `PUT /api/v1/settings`). The password is write-only: never
//! rendered, never logged. Must not change the running configuration nor
//! touch any other file.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::extensions::{flash_of, FlashQuery};
use super::forms::{checkbox, csrf, hinted, render_status, select, viewer_at_least, Errors};
use super::layout::Flash;
use super::{see_other, urlencode, Peer, Viewer};
use super::settings_file::{console_move, listen_field, read_saved, save_settings, smtp_tls, Saved, SettingsRefused};
use crate::config::{differences, listen_shown, tls_name, Secret, SettingsEdit};
use crate::store::Role;
use crate::web::{CoreApi, SettingsContext};

/// The form as posted (all text: numbers are checked here, at their field).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    codecs: String,
    #[serde(default)]
    rtp_port_min: String,
    #[serde(default)]
    rtp_port_max: String,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    smtp_tls: String,
    #[serde(default)]
    smtp_from: String,
    #[serde(default)]
    smtp_username: String,
    /// Write-only: empty keeps the stored one.
    #[serde(default)]
    smtp_password: String,
    #[serde(default)]
    smtp_password_clear: Option<String>,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    sip_listen: String,
    /// "": off.
    #[serde(default)]
    sip_tls_listen: String,
    #[serde(default)]
    http_listen: String,
    /// "": off.
    #[serde(default)]
    http_tls_listen: String,
}

impl SettingsForm {
    fn of(e: &SettingsEdit) -> SettingsForm {
        SettingsForm {
            codecs: e.codecs.clone(),
            rtp_port_min: e.rtp_port_min.to_string(),
            rtp_port_max: e.rtp_port_max.to_string(),
            smtp_host: e.smtp_host.clone(),
            smtp_port: e.smtp_port.to_string(),
            smtp_tls: tls_name(e.smtp_tls).into(),
            smtp_from: e.smtp_from.clone(),
            smtp_username: e.smtp_username.clone(),
            smtp_password: String::new(),
            smtp_password_clear: None,
            timezone: e.timezone.clone(),
            sip_listen: e.sip_listen.to_string(),
            sip_tls_listen: e.sip_tls_listen.map(|a| a.to_string()).unwrap_or_default(),
            http_listen: e.http_listen.to_string(),
            http_tls_listen: e.http_tls_listen.map(|a| a.to_string()).unwrap_or_default(),
        }
    }
}

pub(super) fn tabs(active: &str) -> Markup {
    html! {
        p.tabs {
            a.tab.active[active == "/settings"] href="/settings" { "Configuration" }
            a.tab.active[active == "/backup"] href="/backup" { "Backup and restore" }
        }
    }
}

/// A value, or a muted "(none)" for an empty one.
fn shown(value: &str) -> Markup {
    html! { @if value.is_empty() { span.muted { "(none)" } } @else { (value) } }
}

fn row(label: &str, value: impl std::fmt::Display, note: Option<&str>) -> Markup {
    html! {
        tr {
            th scope="row" { (label) }
            td { span.mono { (value.to_string()) } @if let Some(n) = note { br; span.hint { (n) } } }
        }
    }
}

/// The page with form `f` and its errors `e`.
/// `https`: the request came through the appliance's own HTTPS listener.
fn page(v: &Viewer, core: &impl CoreApi, ctx: &SettingsContext, saved: &Saved, (f, e): (&SettingsForm, &Errors), https: bool, flash: Option<Flash>, status: StatusCode) -> Response {
    let run = &ctx.running;
    let src = &ctx.source;
    let overridden = |k: &str| src.overrides.iter().any(|o| o == k);
    // A saved key the command line overrides does not wait for a restart:
    // it stays overridden (until the appliance starts without the option).
    let (pinned, pending): (Vec<_>, Vec<_>) = saved.config.as_ref().map(|s| differences(run, s)).unwrap_or_default().into_iter().partition(|(k, _, _)| overridden(k));
    let pinned: Vec<&str> = pinned.iter().map(|(k, _, _)| *k).collect();
    let saved_cfg = saved.config.as_ref().ok();
    let moves = saved_cfg.and_then(|s| console_move(ctx, s, https));
    let password_set = saved_cfg.map(|c| c.smtp.password.is_some()).unwrap_or(false);
    let zones: Vec<String> = {
        let mut z: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        z.sort();
        z
    };
    let tls_options = [("none", "none (plain, a trusted relay)"), ("starttls", "starttls (port 587)"), ("tls", "tls (port 465)")];
    let body = html! {
        (tabs("/settings"))
        div.card {
            h2 { "Configuration file" }
            p {
                code id="config-path" { (src.path.display()) } " "
                @if saved.exists { span.badge.ok { "in use" } } @else { span.badge.warn { "not created yet" } }
            }
            p.muted {
                @if src.explicit { "Given with --config. " } @else { "The data directory's file, read at start when no --config is given. " }
                @if !saved.exists { "The appliance runs on the built-in defaults; saving below creates the file with just the changed keys. " }
                "Saving edits the keys of the form in place: comments, key order and every other key are kept. "
                "Changes apply at the next start; other keys are edited in the file (every key is documented in switchboard.example.toml)."
            }
            @if let Err(msg) = &saved.config { p.field-error id="config-file-error" { "The file does not validate: " (msg) } }
            @if !src.overrides.is_empty() {
                p.muted { "Set on the command line, over the file: " code { (src.overrides.join(", ")) } "." }
            }
            @if !pinned.is_empty() {
                p.muted id="pinned" { "Saved in the file but overridden on the command line, so not applied at a restart either: " code { (pinned.join(", ")) } "." }
            }
        }
        @if !pending.is_empty() {
            div.card id="pending-changes" {
                h2 { "Waiting for a restart " span.badge.warn { (pending.len()) } }
                table {
                    thead { tr { th { "Setting" } th { "In force" } th { "Saved, applied at the next start" } } }
                    tbody { @for (key, now, next) in &pending { tr { td.mono { (key) } td { (shown(now)) } td { (shown(next)) } } } }
                }
                @if let Some(m) = &moves { p.field-error id="console-moves" { (m) } }
                (super::restart::form(v, core.live_calls().len()))
            }
        }
        div.grid.top.settings-grid {
            div.card {
                h2 { "SIP" }
                table.kv { tbody {
                    (row("Listen (UDP and TCP)", run.sip.listen, overridden("sip.listen").then_some("set with --sip")))
                    (row("Realm", &run.sip.realm, Some("changing it needs every extension secret set again")))
                    (row("Digest algorithms", run.sip.digest_algorithms.join(", "), None))
                    (row("Registration expiry", format!("{}–{} s (default {})", run.sip.min_expires, run.sip.max_expires, run.sip.default_expires), None))
                    (row("Console (HTTP)", run.http.listen, overridden("http.listen").then_some("set with --http")))
                    (row("Console (HTTPS)", listen_shown(run.http.tls_listen), overridden("http.tls_listen").then_some("set with --https")))
                    (row("SIP over TLS", listen_shown(run.sip.tls_listen), overridden("sip.tls_listen").then_some("set with --sip-tls")))
                } }
            }
            div.card {
                h2 { "Media" }
                table.kv { tbody {
                    (row("RTP ports", format!("{}–{}", run.rtp.port_min, run.rtp.port_max), overridden("rtp.port_min").then_some("set with --rtp-ports")))
                    (row("RTP bind", run.rtp.bind, None))
                    (row("Advertised address", run.rtp.advertise.map(|a| a.to_string()).unwrap_or_else(|| "(the route to each peer)".into()), None))
                    (row("Codecs", &run.media.codecs, Some("most preferred first")))
                    (row("Recording", format!("{:?}", run.recording.mode).to_lowercase(), None))
                } }
            }
            div.card {
                h2 { "E-mail and site" }
                table.kv { tbody {
                    (row("SMTP", if run.smtp.enabled() { format!("{}:{} ({})", run.smtp.host, run.smtp.port, tls_name(run.smtp.tls)) } else { "off".into() }, None))
                    (row("Sender", &run.smtp.from, None))
                    (row("Login", run.smtp.username.as_deref().map(|u| format!("{u} (password {})", if run.smtp.password.is_some() { "set" } else { "not set" })).unwrap_or_else(|| "none".into()), None))
                    (row("Time zone", &run.site.timezone, Some("\"today\" in queue statistics")))
                } }
            }
        }
        (super::tls::card(v, run, core.tls().as_deref()))
        (super::update::card(&ctx.data_dir))
        div.card {
            h2 { "Change settings" }
            form.settings id="settings-form" method="post" action="/settings" {
                (csrf(v))
                h3 { "Listen addresses" }
                div.form-grid {
                    (hinted("SIP (UDP and TCP)", "sip_listen", "text", &f.sip_listen, "ADDR:PORT, e.g. 0.0.0.0:5060", e.get("sip_listen")))
                    (hinted("SIP over TLS", "sip_tls_listen", "text", &f.sip_tls_listen, "e.g. 0.0.0.0:5061; empty turns it off", e.get("sip_tls_listen")))
                    (hinted("Console (HTTP)", "http_listen", "text", &f.http_listen, "e.g. 0.0.0.0:8080", e.get("http_listen")))
                    (hinted("Console (HTTPS)", "http_tls_listen", "text", &f.http_tls_listen, "e.g. 0.0.0.0:8443; empty turns it off", e.get("http_tls_listen")))
                }
                p.muted { "Phones, carriers and your browser follow a moved address only after the restart: the console says so when it moves away from the address you are using." }
                h3 { "Codecs" }
                div.form-grid {
                    (hinted("Codec preference", "codecs", "text", &f.codecs, "For calls the appliance answers itself (IVR, conference): PCMU, PCMA, G722, opus; most preferred first", e.get("codecs")))
                }
                h3 { "RTP port range" }
                div.form-grid {
                    (hinted("Lowest port", "rtp_port_min", "number", &f.rtp_port_min, "Even, 1024 or above", e.get("rtp_port_min")))
                    (hinted("Highest port", "rtp_port_max", "number", &f.rtp_port_max, "Each call leg uses two ports", e.get("rtp_port_max")))
                }
                h3 { "E-mail (SMTP)" }
                div.form-grid {
                    (hinted("Server", "smtp_host", "text", &f.smtp_host, "Host name or address; empty turns e-mail off", e.get("smtp_host")))
                    (hinted("Port", "smtp_port", "number", &f.smtp_port, "25 relay, 587 starttls, 465 tls", e.get("smtp_port")))
                    (select("Security", "smtp_tls", &tls_options, &f.smtp_tls, e.get("smtp_tls")))
                    (hinted("Sender", "smtp_from", "text", &f.smtp_from, "pbx@example.org or PBX <pbx@example.org>", e.get("smtp_from")))
                    (hinted("Username", "smtp_username", "text", &f.smtp_username, "Empty: no login (the password is removed too)", e.get("smtp_username")))
                    label {
                        "Password"
                        input type="password" name="smtp_password" id="smtp_password" value="" autocomplete="new-password"
                            placeholder=(if password_set { "(unchanged)" } else { "" }) aria-invalid=[e.get("smtp_password").map(|_| "true")];
                        @if let Some(err) = e.get("smtp_password") { span.field-error id="smtp_password-error" { (err) } }
                        @else { span.hint id="smtp_password-state" { @if password_set { "A password is set; leave empty to keep it." } @else { "No password set." } } }
                    }
                }
                @if password_set { div.checks { (checkbox("Remove the stored password", "smtp_password_clear", false, false)) } }
                h3 { "Site" }
                div.form-grid {
                    label {
                        "Time zone"
                        input type="text" name="timezone" id="timezone" value=(f.timezone) list="zones" aria-invalid=[e.get("timezone").map(|_| "true")];
                        @if let Some(err) = e.get("timezone") { span.field-error id="timezone-error" { (err) } }
                        @else { span.hint { "IANA name (Europe/Berlin) or offset (+01:00)" } }
                    }
                    datalist id="zones" { @for z in &zones { option value=(z) {} } }
                }
                button type="submit" id="save-settings" { "Save" }
                span.muted { " Saved settings apply at the next start." }
            }
        }
        @if pending.is_empty() {
            div.card {
                h2 { "Restart" }
                p.muted { "Restarting applies saved settings and a staged restore. Under systemd the appliance is back in a few seconds; started by hand (make run) it stops." }
                (super::restart::form(v, core.live_calls().len()))
            }
        }
        script src=(crate::web::assets::url("settings.js")) defer {}
    };
    render_status(v, "/settings", "Settings", flash.as_ref(), body, status)
}

pub async fn show<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Query(q): Query<FlashQuery>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ctx) = core.settings() else { return (StatusCode::SERVICE_UNAVAILABLE, "no configuration available\n").into_response() };
    let saved = read_saved(&ctx);
    let form = SettingsForm::of(&SettingsEdit::from_config(saved.config.as_ref().unwrap_or(&ctx.running)));
    let https = crate::web::auth::direct_tls(&headers);
    page(&v, &*core, &ctx, &saved, (&form, &Errors::default()), https, flash_of(&q), StatusCode::OK)
}

/// The form as an edit, or the fields at fault.
fn parse_form(f: &SettingsForm, e: &mut Errors) -> Option<SettingsEdit> {
    let port = |e: &mut Errors, field: &str, raw: &str| match raw.trim().parse::<u16>() {
        Ok(p) => Some(p),
        Err(_) => {
            e.set(field, format!("'{}' is not a port number (1 to 65535)", raw.trim()));
            None
        }
    };
    let (lo, hi, sp) = (port(e, "rtp_port_min", &f.rtp_port_min), port(e, "rtp_port_max", &f.rtp_port_max), port(e, "smtp_port", &f.smtp_port));
    let tls = smtp_tls(&f.smtp_tls);
    if tls.is_none() {
        e.set("smtp_tls", format!("'{}' is not one of none, starttls, tls", f.smtp_tls));
    }
    let mut listen = |field: &'static str, text: &str| match listen_field(field, text) {
        Ok(a) => Some(a),
        Err(SettingsRefused::Field { field, message }) => {
            e.set(field, message);
            None
        }
        Err(_) => None,
    };
    let (sip, sip_tls) = (listen("sip_listen", &f.sip_listen), listen("sip_tls_listen", &f.sip_tls_listen));
    let (http, http_tls) = (listen("http_listen", &f.http_listen), listen("http_tls_listen", &f.http_tls_listen));
    let password = if f.smtp_password_clear.is_some() {
        Secret::Clear
    } else if f.smtp_password.is_empty() {
        Secret::Keep
    } else {
        Secret::Set(f.smtp_password.clone())
    };
    Some(SettingsEdit {
        codecs: f.codecs.trim().to_string(),
        rtp_port_min: lo?,
        rtp_port_max: hi?,
        smtp_host: f.smtp_host.trim().to_string(),
        smtp_port: sp?,
        smtp_tls: tls?,
        smtp_from: f.smtp_from.trim().to_string(),
        smtp_username: f.smtp_username.trim().to_string(),
        smtp_password: password,
        timezone: f.timezone.trim().to_string(),
        sip_listen: sip??,
        sip_tls_listen: sip_tls?,
        http_listen: http??,
        http_tls_listen: http_tls?,
    })
}

pub async fn save<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): Peer, headers: HeaderMap, uri: Uri, Form(mut f): Form<SettingsForm>) -> Response {
    let v = match viewer_at_least(&*core, &headers, &uri, &peer, Role::Admin).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ctx) = core.settings() else { return (StatusCode::SERVICE_UNAVAILABLE, "no configuration available\n").into_response() };
    let https = crate::web::auth::direct_tls(&headers);
    let mut e = Errors::default();
    let parsed = parse_form(&f, &mut e);
    // Never echoed back, even on a refusal.
    f.smtp_password.clear();
    let Some(edit) = parsed else {
        let saved = read_saved(&ctx);
        return page(&v, &*core, &ctx, &saved, (&f, &e), https, Some(Flash::error("Not saved: see the marked fields.")), StatusCode::UNPROCESSABLE_ENTITY);
    };
    let done = match save_settings(&ctx, |_| edit).await {
        Ok(done) => done,
        Err(SettingsRefused::Write(msg)) => return see_other(&format!("/settings?err={}", urlencode(&format!("Not saved: {msg}")))),
        Err(refused) => {
            let flash = match refused {
                SettingsRefused::Field { field, message } => {
                    e.set(field, message);
                    Flash::error("Not saved: see the marked field.")
                }
                SettingsRefused::File(msg) | SettingsRefused::Write(msg) => Flash::error(format!("Not saved: {msg}")),
            };
            let saved = read_saved(&ctx);
            return page(&v, &*core, &ctx, &saved, (&f, &e), https, Some(flash), StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    if !done.changed {
        return see_other(&format!("/settings?ok={}", urlencode("Nothing changed.")));
    }
    v.audit("settings.save", &done.label, &done.detail()).await;
    let keys: Vec<&str> = done.changes.iter().map(|c| c.0).collect();
    let msg = if keys.is_empty() {
        format!("Saved to {}.", done.label)
    } else {
        format!("Saved to {}: {}. These apply at the next start.", done.label, keys.join(", "))
    };
    see_other(&format!("/settings?ok={}", urlencode(&msg)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn form_numbers_are_checked_at_their_field() {
        let mut f = SettingsForm::of(&SettingsEdit::from_config(&Config::default()));
        f.rtp_port_min = "ten".into();
        f.smtp_tls = "ssl".into();
        let mut e = Errors::default();
        assert!(parse_form(&f, &mut e).is_none());
        assert!(e.get("rtp_port_min").is_some_and(|m| m.contains("'ten'")) && e.get("smtp_tls").is_some());
        let mut f = SettingsForm::of(&SettingsEdit::from_config(&Config::default()));
        f.smtp_password = "pw".into();
        let edit = parse_form(&f, &mut Errors::default()).unwrap();
        assert_eq!(edit.smtp_password, Secret::Set("pw".into()));
        f.smtp_password_clear = Some("1".into());
        assert_eq!(parse_form(&f, &mut Errors::default()).unwrap().smtp_password, Secret::Clear);
        f.sip_listen = "127.0.0.1:70000".into();
        f.http_tls_listen = String::new();
        let mut e = Errors::default();
        assert!(parse_form(&f, &mut e).is_none());
        assert!(e.get("sip_listen").is_some_and(|m| m.contains("1 to 65535")) && e.get("http_tls_listen").is_none(), "{e:?}");
        f.sip_listen = "127.0.0.1:5070".into();
        let edit = parse_form(&f, &mut Errors::default()).unwrap();
        assert_eq!((edit.sip_listen.port(), edit.http_tls_listen), (5070, None));
    }
}

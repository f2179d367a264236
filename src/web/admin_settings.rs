//! Settings and restart over HTTP, scope `admin`: `GET`/`PUT
//! /api/v1/settings` (the keys the console's settings page edits: listen
//! addresses, codecs, RTP port range, SMTP, time zone) and `POST
//! /api/v1/restart`. A save is
//! the page's (`console::settings_file::save_settings`): checked with
//! `Config::parse` (errors name the field), written in place with
//! `toml_edit` (comments kept) atomically, applied at the next start. The
//! SMTP password is write-only: never returned, logged or audited. Owns
//! request parsing and routes only; must not change the running
//! configuration nor touch any other file.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::admin::{field_error, json, json_body, Answer, Refused};
use super::api::json_error;
use super::caller::{store, AdminCaller};
use super::console::settings_file::{listen_field, read_saved, save_settings, smtp_tls, SettingsRefused};
use super::{CoreApi, SettingsContext};
use crate::config::{differences, tls_name, Secret, SettingsEdit};

/// The editable settings as the file says them (the running ones where it
/// says nothing).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct EditableSettings {
    /// `[media] codecs`: PCMU, PCMA, G722, opus; most preferred first.
    codecs: String,
    rtp_port_min: u16,
    rtp_port_max: u16,
    /// Empty: e-mail off.
    smtp_host: String,
    smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    smtp_tls: String,
    smtp_from: String,
    smtp_username: String,
    /// Whether a password is stored (it is never shown).
    smtp_password_set: bool,
    /// `[site] timezone`: an IANA name or an offset.
    timezone: String,
    /// `[sip] listen`: SIP over UDP and TCP, `ADDR:PORT`.
    sip_listen: String,
    /// `[sip] tls_listen`: SIP over TLS; "" when off.
    sip_tls_listen: String,
    /// `[http] listen`: the console over HTTP.
    http_listen: String,
    /// `[http] tls_listen`: the console over HTTPS; "" when off.
    http_tls_listen: String,
}

/// A setting whose saved value waits for a restart.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SettingChange {
    /// Dotted key, e.g. `rtp.port_min`.
    key: String,
    before: String,
    after: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SettingsView {
    /// The configuration file the appliance reads and this API writes.
    file: String,
    /// Whether it exists yet (the appliance runs on defaults until saved).
    exists: bool,
    /// Why the file does not validate, when it does not.
    file_error: Option<String>,
    settings: EditableSettings,
    /// Saved but not in force until the next start (`before`: in force);
    /// not the keys given on the command line (`overrides`), which stay.
    pending: Vec<SettingChange>,
    /// Keys given on the command line, over the file.
    overrides: Vec<String>,
}

/// A change: the fields given change, the others keep their values.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsInput {
    #[serde(default)]
    codecs: Option<String>,
    #[serde(default)]
    rtp_port_min: Option<u16>,
    #[serde(default)]
    rtp_port_max: Option<u16>,
    #[serde(default)]
    smtp_host: Option<String>,
    #[serde(default)]
    smtp_port: Option<u16>,
    /// `none`, `starttls` or `tls`.
    #[serde(default)]
    smtp_tls: Option<String>,
    #[serde(default)]
    smtp_from: Option<String>,
    /// "": no login (the password is removed too).
    #[serde(default)]
    smtp_username: Option<String>,
    /// Write-only: a string sets it, null removes it; left out (or "") keeps it.
    #[serde(default, deserialize_with = "crate::admin::nullable")]
    #[schema(value_type = Option<String>)]
    smtp_password: Option<Option<String>>,
    #[serde(default)]
    timezone: Option<String>,
    /// `ADDR:PORT`, port 1 to 65535.
    #[serde(default)]
    sip_listen: Option<String>,
    /// `ADDR:PORT` on another port than `sip_listen`; "" turns SIP over TLS off.
    #[serde(default)]
    sip_tls_listen: Option<String>,
    /// `ADDR:PORT`: where the console (and this API) answers after the restart.
    #[serde(default)]
    http_listen: Option<String>,
    /// `ADDR:PORT` on another port than `http_listen`; "" turns HTTPS off.
    #[serde(default)]
    http_tls_listen: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SettingsSavedView {
    /// False when the file already said all this (nothing was written).
    changed: bool,
    /// What differs from before the save (the password only as set / not set).
    changes: Vec<SettingChange>,
    /// The settings after the save; they apply at the next start.
    settings: SettingsView,
}

/// `{"confirm": true}`: a restart cuts off every call in progress.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RestartInput {
    #[serde(default)]
    confirm: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Restarting {
    /// Calls in progress, cut off by the restart.
    live_calls: usize,
    /// The process's exit status (its supervisor starts it again).
    exit_code: u8,
}

fn changes(list: Vec<(&'static str, String, String)>) -> Vec<SettingChange> {
    list.into_iter().map(|(key, before, after)| SettingChange { key: key.to_string(), before, after }).collect()
}

fn context<C: CoreApi>(core: &C) -> Result<SettingsContext, Refused> {
    core.settings().ok_or_else(|| json_error(StatusCode::SERVICE_UNAVAILABLE, "no configuration is available").into())
}

fn view(ctx: &SettingsContext) -> SettingsView {
    let saved = read_saved(ctx);
    let config = saved.config.as_ref().unwrap_or(&ctx.running);
    let e = SettingsEdit::from_config(config);
    SettingsView {
        file: ctx.source.path.display().to_string(),
        exists: saved.exists,
        file_error: saved.config.as_ref().err().cloned(),
        settings: EditableSettings {
            codecs: e.codecs,
            rtp_port_min: e.rtp_port_min,
            rtp_port_max: e.rtp_port_max,
            smtp_host: e.smtp_host,
            smtp_port: e.smtp_port,
            smtp_tls: tls_name(e.smtp_tls).to_string(),
            smtp_from: e.smtp_from,
            smtp_username: e.smtp_username,
            smtp_password_set: config.smtp.password.is_some(),
            timezone: e.timezone,
            sip_listen: e.sip_listen.to_string(),
            sip_tls_listen: e.sip_tls_listen.map(|a| a.to_string()).unwrap_or_default(),
            http_listen: e.http_listen.to_string(),
            http_tls_listen: e.http_tls_listen.map(|a| a.to_string()).unwrap_or_default(),
        },
        // Keys the command line overrides do not wait for a restart.
        pending: saved.config.as_ref().map(|s| changes(differences(&ctx.running, s).into_iter().filter(|(k, _, _)| !ctx.source.overrides.iter().any(|o| o == k)).collect())).unwrap_or_default(),
        overrides: ctx.source.overrides.clone(),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/settings",
    operation_id = "get_settings",
    tag = "settings",
    summary = "The editable settings",
    description = "The keys the console's settings page edits, as the configuration file says them, and what waits for a restart. The SMTP password is never returned.",
    responses(
        (status = 200, description = "The settings.", body = SettingsView),
        (status = 503, description = "No configuration is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(_who): AdminCaller) -> Answer {
    let ctx = context(&*core)?;
    Ok(json(StatusCode::OK, &tokio::task::spawn_blocking(move || view(&ctx)).await.map_err(|e| Refused::from(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())))?))
}

#[utoipa::path(
    put,
    path = "/api/v1/settings",
    operation_id = "update_settings",
    tag = "settings",
    summary = "Change settings",
    description = "The fields given change, the others keep their values. Listen addresses are `ADDR:PORT` (port 1 to 65535; a TLS one on another port than its plain sibling, \"\" turns it off); a moved `http_listen` moves this API too at the restart. The file is edited in place (comments and other keys kept), checked as the appliance will load it, written atomically and audited (never the password). Changes apply at the next start (`POST /api/v1/restart`).",
    request_body = SettingsInput,
    responses(
        (status = 200, description = "Saved (or nothing to change).", body = SettingsSavedView),
        (status = 422, description = "A value is invalid: `field` names it (`rtp_port_max`, `timezone`, `sip_listen`, ...); or the file itself does not validate elsewhere.", body = super::openapi::ErrorBody),
        (status = 503, description = "No configuration is available.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn update<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let ctx = context(&*core)?;
    let store = store(&*core)?;
    let input: SettingsInput = json_body(&headers, body).await?;
    let tls = match input.smtp_tls.as_deref().map(str::trim) {
        None => None,
        Some(word) => Some(smtp_tls(word).ok_or_else(|| Refused::from(field_error(StatusCode::UNPROCESSABLE_ENTITY, "smtp_tls", &format!("'{word}' is not one of none, starttls, tls"))))?),
    };
    let refused = |r: SettingsRefused| match r {
        SettingsRefused::Field { field, message } => Refused::from(field_error(StatusCode::UNPROCESSABLE_ENTITY, field, &message)),
        SettingsRefused::File(m) | SettingsRefused::Write(m) => Refused::from(json_error(StatusCode::UNPROCESSABLE_ENTITY, &m)),
    };
    let listen = |field: &'static str, text: Option<&String>| text.map(|t| listen_field(field, t)).transpose().map_err(refused);
    let sip = listen("sip_listen", input.sip_listen.as_ref())?.flatten();
    let sip_tls = listen("sip_tls_listen", input.sip_tls_listen.as_ref())?;
    let http = listen("http_listen", input.http_listen.as_ref())?.flatten();
    let http_tls = listen("http_tls_listen", input.http_tls_listen.as_ref())?;
    let edit = move |mut e: SettingsEdit| {
        let text = |v: Option<String>, old: String| v.map(|s| s.trim().to_string()).unwrap_or(old);
        e.codecs = text(input.codecs, e.codecs);
        e.rtp_port_min = input.rtp_port_min.unwrap_or(e.rtp_port_min);
        e.rtp_port_max = input.rtp_port_max.unwrap_or(e.rtp_port_max);
        e.smtp_host = text(input.smtp_host, e.smtp_host);
        e.smtp_port = input.smtp_port.unwrap_or(e.smtp_port);
        e.smtp_tls = tls.unwrap_or(e.smtp_tls);
        e.smtp_from = text(input.smtp_from, e.smtp_from);
        e.smtp_username = text(input.smtp_username, e.smtp_username);
        e.smtp_password = match input.smtp_password {
            None => Secret::Keep,
            Some(None) => Secret::Clear,
            Some(Some(p)) if p.is_empty() => Secret::Keep,
            Some(Some(p)) => Secret::Set(p),
        };
        e.timezone = text(input.timezone, e.timezone);
        e.sip_listen = sip.unwrap_or(e.sip_listen);
        e.sip_tls_listen = sip_tls.unwrap_or(e.sip_tls_listen);
        e.http_listen = http.unwrap_or(e.http_listen);
        e.http_tls_listen = http_tls.unwrap_or(e.http_tls_listen);
        e
    };
    let done = match save_settings(&ctx, edit).await {
        Ok(d) => d,
        Err(SettingsRefused::Field { field, message }) => return Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, field, &message).into()),
        Err(SettingsRefused::File(m)) => return Err(json_error(StatusCode::UNPROCESSABLE_ENTITY, &m).into()),
        Err(SettingsRefused::Write(m)) => return Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("not saved: {m}")).into()),
    };
    if done.changed {
        who.audit(&store, "settings.save", &done.label, &done.detail()).await;
    }
    let settings = tokio::task::spawn_blocking(move || view(&ctx)).await.map_err(|e| Refused::from(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())))?;
    Ok(json(StatusCode::OK, &SettingsSavedView { changed: done.changed, changes: changes(done.changes), settings }))
}

#[utoipa::path(
    post,
    path = "/api/v1/restart",
    operation_id = "restart_appliance",
    tag = "settings",
    summary = "Restart the appliance",
    description = "The console's \"Restart now\": the process ends with exit status 75 for its supervisor (systemd) to start it again, applying saved settings and a staged restore. Every call in progress is cut off, so the body must say `{\"confirm\": true}`. Audited.",
    request_body = RestartInput,
    responses(
        (status = 202, description = "Restarting in a moment.", body = Restarting),
        (status = 409, description = "This appliance cannot restart itself.", body = super::openapi::ErrorBody),
        (status = 422, description = "`confirm` is not true.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn restart<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let store = store(&*core)?;
    let input: RestartInput = json_body(&headers, body).await?;
    if !input.confirm {
        return Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, "confirm", "must be true: a restart cuts off every call in progress").into());
    }
    let live_calls = core.live_calls().len();
    who.audit(&store, "appliance.restart", "", &format!("through the API; {live_calls} calls in progress")).await;
    if !core.restart() {
        return Err(json_error(StatusCode::CONFLICT, "this appliance cannot restart itself").into());
    }
    Ok(json(StatusCode::ACCEPTED, &Restarting { live_calls, exit_code: crate::app::RESTART_EXIT_CODE }))
}

//! The OpenAPI 3.1 document of the REST API, served at
//! `GET /api/v1/openapi.json`. The paths come from the `#[utoipa::path]`
//! attribute on each handler, through `super::api_v1`, which registers the
//! same handlers in the router: a route and its documentation are one
//! entry, so they cannot drift. This file owns the document's frame (info,
//! tags, security schemes, the shared error body) and what every operation
//! gets from its `x-scope` extension (the accepted credentials, the 400,
//! 401 and 403 answers, the scope in its description), plus doc-only types
//! for path segments that are a fixed set of words. It must not hold
//! handler logic beyond serving the document, or check credentials (`api`
//! does).

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Serialize;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

/// How long clients and proxies may keep the document: it changes only
/// with the binary, but an upgrade should show within minutes.
const CACHE_CONTROL: &str = "public, max-age=300";

/// Security scheme names, as operations refer to them.
const BEARER: &str = "bearer";
const QUERY_KEY: &str = "query_key";
const SESSION: &str = "session";
const CSRF: &str = "csrf";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "switchboard REST API",
        description = "Call and agent control, the CTI event stream, ACD statistics, the ACD and customer \
administration, and the rest of what the web console does (extensions, trunks, users and the audit log, API keys, \
dialplans, prompts, call records and recordings, voicemail, faxes, settings, backup and restore, system updates) of a switchboard \
appliance. Changes made here are audited like the console's, with the key's name (`apikey:NAME`) or the user as \
the actor.\n\n\
Authentication: an API key (`switchboard apikey add NAME --scope SCOPE`, or the console's API keys page) as \
`Authorization: Bearer <key>` or, where headers cannot be set (browser WebSockets), `?key=<key>`; or the console \
session cookie `sb_session` (`__Host-sb_session` over the appliance's own HTTPS), which then also needs the `X-CSRF-Token` header (the page's `csrf-token` meta) on \
POST, PUT and DELETE. Each operation names the scope it needs in `x-scope`; a key with the `admin` scope may do \
everything. Console users get scopes from their role: admins `admin`; supervisors `events`, `stats`, `calls`, `fax`; \
agents `events` and `calls`, for their own agent and calls only, and `fax`, for the fax jobs they queued only. What \
the console shows supervisors (call records, recordings, the dashboard) needs `stats`; received faxes and send jobs \
`fax`; everything else of the console `admin`.\n\n\
Errors are JSON: `{\"error\": \"...\"}`, with `field` naming the request field at fault when there is one.",
        license(name = "LGPL-2.1-or-later"),
    ),
    // `CtiEvent`: the WebSocket messages of `/api/v1/events` (no HTTP body refers to it).
    components(schemas(ErrorBody, crate::cti::CtiEvent)),
    tags(
        (name = "events", description = "The CTI event stream (WebSocket)."),
        (name = "stats", description = "Real-time ACD statistics and the dashboard's live figures."),
        (name = "calls", description = "Control of live calls: hold, transfer, consultation, conference, recording, disposition."),
        (name = "agents", description = "Agent state (login, pause, ...) and supervision (listen, whisper, barge)."),
        (name = "queues", description = "ACD queues and their members (what `switchboard queue` does)."),
        (name = "agent admin", description = "ACD agents and their skills (what `switchboard agent` does)."),
        (name = "customers", description = "The customer table and its CSV import (what `switchboard customer` does)."),
        (name = "tls", description = "The certificate the console's HTTPS and SIP over TLS present: show, replace, regenerate."),
        (name = "security", description = "SIP attack protection: addresses banned after repeated authentication failures or as scanners, and lifting a ban."),
        (name = "chats", description = "Web chats from the public `/contact` page: accept, messages, end, wrap-up, transcripts."),
        (name = "extensions", description = "Extensions (phones' SIP accounts) and their registrations: the console's extensions page."),
        (name = "trunks", description = "SIP trunks, their DIDs and health: the console's trunks page. A change keeps the DIDs; the trunk supervisor re-registers a changed trunk within seconds."),
        (name = "users", description = "Console users and roles, and the audit log of admin changes (console and API alike)."),
        (name = "api keys", description = "API keys: the console's API keys page and `switchboard apikey`."),
        (name = "dialplans", description = "Dialplan files: read, check, save (only when the plan still loads), remove, and the call simulator."),
        (name = "prompts", description = "Prompt audio files by language: list, download, upload, remove."),
        (name = "call records", description = "Call records (CDRs) with the console's filters, their CSV export, and recordings."),
        (name = "voicemail", description = "Voicemail mailboxes and messages."),
        (name = "faxes", description = "Received faxes and send jobs: list, details with the T.30 outcome, PDF and TIFF, sending an uploaded TIFF, PDF or PNG, cancelling."),
        (name = "settings", description = "The settings the console edits (applied at the next start) and restarting the appliance."),
        (name = "backup", description = "Backup download, and restores staged for the next start."),
        (name = "system", description = "System updates of the appliance image: the running version and root slot, and uploading an update for the other slot."),
        (name = "meta", description = "This document."),
    ),
)]
pub(super) struct ApiDoc;

/// Every refusal's body. `field` is there when one request field is at
/// fault (a JSON body's or a query parameter's); `error` then starts with
/// the field's name.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // Only a schema: the handlers build the same JSON (`api::json_error`, `admin::field_error`).
pub(super) struct ErrorBody {
    /// What went wrong, for people.
    #[schema(example = "ring_timeout_secs: must be 1 to 600, got 0")]
    error: String,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "ring_timeout_secs")]
    field: Option<String>,
}

/// A CSV import that wrote nothing (422): the report of `ImportResult`
/// and `error`. Spelt out rather than flattened: `ImportResult` admits no
/// other property, so an `allOf` of the two would match nothing.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // Only a schema: `admin_customers::import` builds it as JSON.
pub(super) struct ImportRefused {
    /// 0.
    imported: usize,
    /// 0.
    updated: usize,
    rejected: usize,
    /// Why, by line of the file (1 is the header).
    errors: Vec<crate::admin::LineError>,
    /// `nothing imported`.
    error: String,
}

// Path segments that are one of a fixed set of words. Doc-only: the
// handlers match the words themselves (tests/api_openapi.rs checks that
// every word listed here is accepted and another is not).

/// What to do with a live call.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum CallAction {
    Hangup,
    Hold,
    Unhold,
    Transfer,
    Consult,
    Conference,
}

/// The end of an attended transfer's consultation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum ConsultStep {
    Complete,
    Cancel,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum RecordingAction {
    Start,
    Stop,
    Pause,
    Resume,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum AgentAction {
    Login,
    Logout,
    Pause,
    Unpause,
    Supervise,
}

/// What an agent does with a web chat.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum ChatAction {
    Accept,
    Decline,
    Message,
    End,
    Disposition,
}

/// How a supervisor joins an agent's call.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum SuperviseMode {
    /// Hears both parties, heard by nobody.
    Listen,
    /// Heard by the agent only.
    Whisper,
    /// Heard by both.
    Barge,
}

/// Completes the document once the routes added their operations: the
/// security schemes, and for each operation with an `x-scope` the
/// credentials it accepts, the answers every such operation can give (400,
/// 401, 403) and its scope in the description.
pub(super) fn finish(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key (`sb_...`) as `Authorization: Bearer <key>`."))
                .build(),
        ),
    );
    components.add_security_scheme(
        QUERY_KEY,
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "key",
            "The same API key as `?key=<key>`, for clients that cannot set headers (browser WebSockets). It ends up in logs: prefer the header.",
        ))),
    );
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            super::auth::SESSION_COOKIE,
            "A console login's session cookie; the user's role gives the scopes (admin: `admin`; supervisor: `events`, `stats`, `calls`, `fax`; agent: `events`, `calls` on their own agent and calls, `fax` on their own fax jobs).",
        ))),
    );
    components.add_security_scheme(
        CSRF,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-CSRF-Token",
            "With the session cookie on POST, PUT and DELETE: the token of the console page's `csrf-token` meta.",
        ))),
    );
    for (_, item) in doc.paths.paths.iter_mut() {
        for (unsafe_method, op) in operations(item) {
            add_scope(op, unsafe_method);
        }
    }
}

/// The operations of a path item, each with whether its method changes
/// state (POST, PUT, DELETE, PATCH: the session cookie needs the CSRF token).
fn operations(item: &mut PathItem) -> Vec<(bool, &mut Operation)> {
    let mut ops = Vec::new();
    for (unsafe_method, op) in [
        (false, &mut item.get),
        (true, &mut item.put),
        (true, &mut item.post),
        (true, &mut item.delete),
        (true, &mut item.patch),
        (false, &mut item.head),
        (false, &mut item.options),
        (false, &mut item.trace),
    ] {
        if let Some(op) = op.as_mut() {
            ops.push((unsafe_method, op));
        }
    }
    ops
}

fn add_scope(op: &mut Operation, unsafe_method: bool) {
    let Some(scope) = op.extensions.as_ref().and_then(|e| e.get("x-scope")).and_then(|s| s.as_str()).map(String::from) else {
        return;
    };
    let none: [&str; 0] = [];
    let session = if unsafe_method {
        SecurityRequirement::new(SESSION, none).add(CSRF, none)
    } else {
        SecurityRequirement::new(SESSION, none)
    };
    op.security = Some(vec![SecurityRequirement::new(BEARER, none), SecurityRequirement::new(QUERY_KEY, none), session]);
    let note = if scope == "admin" {
        "Scope: `admin`.".to_string()
    } else {
        format!("Scope: `{scope}` (or `admin`).")
    };
    op.description = Some(match op.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{note}"),
        _ => note,
    });
    let error = |text: &str| {
        ResponseBuilder::new()
            .description(text)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build()
    };
    let body_types: Vec<String> = op.request_body.as_ref().map(|b| b.content.keys().cloned().collect()).unwrap_or_default();
    let responses = &mut op.responses.responses;
    if !body_types.is_empty() {
        let json = body_types.iter().any(|t| t == "application/json");
        if json {
            responses.entry("400".into()).or_insert_with(|| {
                error("Malformed JSON, a value of the wrong type or an unknown field (`field` names it where it can), or a malformed query string.").into()
            });
        }
        responses.entry("413".into()).or_insert_with(|| error(if json { "The body is over 64 KiB." } else { "The body is over 10 MiB." }).into());
        responses.entry("415".into()).or_insert_with(|| error(&format!("The Content-Type is not {}.", body_types.join(" or "))).into());
    }
    responses.entry("400".into()).or_insert_with(|| error("The query string is malformed.").into());
    responses.entry("401".into()).or_insert_with(|| {
        error("No credential, or an unknown API key (with `WWW-Authenticate: Bearer`).").into()
    });
    responses.entry("403".into()).or_insert_with(|| {
        error(&format!(
            "The credential lacks the `{scope}` scope; a console agent acting on another agent or call; a console session's \
             POST/PUT/DELETE without a valid `X-CSRF-Token`; or an `Origin` other than this host."
        ))
        .into()
    });
}

/// The document as served: compact JSON, made once (clones share it).
#[derive(Clone)]
pub(super) struct Served(Bytes);

impl Served {
    pub(super) fn new(doc: &Document) -> Served {
        // Serialising plain data cannot fail; an empty object would still be JSON.
        Served(Bytes::from(doc.to_json().unwrap_or_else(|_| "{}".to_string())))
    }
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi_document",
    tag = "meta",
    summary = "This document",
    description = "The OpenAPI 3.1 description of `/api/v1`, generated from the routes the server registers. Public \
(it holds no data) and cacheable for five minutes.",
    responses((status = 200, description = "The document.", content_type = "application/json", body = Object)),
)]
pub(super) async fn document(Extension(doc): Extension<Served>) -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, CACHE_CONTROL)], doc.0).into_response()
}

//! The server certificate over HTTP, scope `admin`:
//! `GET|PUT /api/v1/tls/certificate` (what is served; a new PEM chain and
//! key) and `POST /api/v1/tls/certificate/regenerate` (a new self-signed
//! one). Checking, storing and serving are `crate::tls`'s (through
//! `CoreApi::tls`); this file owns the JSON shapes, the status codes, the
//! audit entries and running the blocking work off the runtime, which the
//! console's settings page (`console::tls`) shares.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::{authorize, field_error, json, json_body, Answer, Refused};
use super::api::{authorize_principal, json_error};
use super::CoreApi;
use crate::tls::{CertInfo, ServerCert, TlsError, CERT_FILE, KEY_FILE};

/// The served certificate (its leaf).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CertificateView {
    /// `CN=…, O=…`.
    #[schema(example = "CN=pbx.example.org")]
    subject: String,
    issuer: String,
    /// `DNS:name` and `IP:address` entries.
    #[schema(example = json!(["DNS:pbx.example.org", "DNS:localhost", "IP:127.0.0.1"]))]
    subject_alt_names: Vec<String>,
    /// RFC 3339, UTC.
    #[schema(example = "2026-11-27T00:00:00Z")]
    not_before: String,
    #[schema(example = "2036-11-27T00:00:00Z")]
    not_after: String,
    expired: bool,
    /// Hex.
    serial: String,
    /// SHA-256 of the certificate, colon-separated hex (what browsers and phones show).
    fingerprint_sha256: String,
    /// Issued by itself (the generated one, or an uploaded self-signed one).
    self_signed: bool,
    /// Certificates served: the server's and its intermediates.
    #[schema(minimum = 1)]
    chain_length: usize,
    /// The chain file on the appliance.
    certificate_file: String,
    /// The key file (mode 0600).
    key_file: String,
}

impl CertificateView {
    pub(super) fn new(info: &CertInfo, cert: &ServerCert) -> CertificateView {
        CertificateView {
            subject: info.subject.clone(),
            issuer: info.issuer.clone(),
            subject_alt_names: info.sans.clone(),
            not_before: CertInfo::date(info.not_before),
            not_after: CertInfo::date(info.not_after),
            expired: info.expired(crate::store::unix_time()),
            serial: info.serial.clone(),
            fingerprint_sha256: info.fingerprint_sha256.clone(),
            self_signed: info.self_signed,
            chain_length: info.chain_len,
            certificate_file: cert.dir().join(CERT_FILE).display().to_string(),
            key_file: cert.dir().join(KEY_FILE).display().to_string(),
        }
    }
}

/// A new certificate and key, PEM text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CertificateInput {
    /// The server's certificate first, then each intermediate (`-----BEGIN CERTIFICATE-----` blocks).
    certificate: String,
    /// Its private key, unencrypted (PKCS#8, or RSA/EC `PRIVATE KEY`).
    key: String,
}

/// The request field a refusal is about.
pub(super) fn field_of(e: &TlsError) -> &'static str {
    match e {
        TlsError::NoKey | TlsError::EncryptedKey | TlsError::BadKey(_) | TlsError::KeyMismatch => "key",
        TlsError::Pem { what, .. } if *what == "private key" => "key",
        _ => "certificate",
    }
}

/// Whether the error is the appliance's (disk, generation) rather than the input's.
pub(super) fn is_internal(e: &TlsError) -> bool {
    matches!(e, TlsError::Io { .. } | TlsError::Generate(_) | TlsError::Setup(_))
}

/// Checks, stores and serves a new pair, off the runtime's threads.
pub(super) async fn replace(cert: Arc<ServerCert>, pem: String, key: String) -> Result<CertInfo, TlsError> {
    tokio::task::spawn_blocking(move || cert.replace(&pem, &key)).await.unwrap_or_else(|e| Err(TlsError::Setup(e.to_string())))
}

/// A new self-signed pair, off the runtime's threads.
pub(super) async fn regenerate(cert: Arc<ServerCert>) -> Result<CertInfo, TlsError> {
    tokio::task::spawn_blocking(move || cert.regenerate()).await.unwrap_or_else(|e| Err(TlsError::Setup(e.to_string())))
}

/// The audit entry's detail for a served certificate.
pub(super) fn describe(info: &CertInfo) -> String {
    format!("{} (issuer {}), until {}, SHA-256 {}", info.subject, info.issuer, CertInfo::date(info.not_after), info.fingerprint_sha256)
}

/// The certificate store, or 503.
fn store_of<C: CoreApi>(core: &C) -> Result<Arc<ServerCert>, Refused> {
    core.tls().ok_or_else(|| json_error(StatusCode::SERVICE_UNAVAILABLE, "no certificate store on this appliance").into())
}

/// Who asked (for the audit log), after the `admin` check.
async fn caller<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri) -> Result<String, Refused> {
    let query = super::api::query(uri).map_err(|e| json_error(StatusCode::BAD_REQUEST, &e))?;
    Ok(authorize_principal(core, headers, &query, "admin").await?.name)
}

async fn audit<C: CoreApi>(core: &C, actor: &str, action: &str, detail: &str, peer: &SocketAddr) {
    if let Some(store) = core.console_store() {
        if let Err(e) = store.audit(actor, action, "tls certificate", detail, &super::auth::client_ip(peer).to_string()).await {
            tracing::error!("audit log write failed: {e}");
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/tls/certificate",
    tag = "tls",
    summary = "The served certificate",
    description = "What the console's HTTPS and SIP over TLS present: subject, names, validity, SHA-256 fingerprint.",
    responses(
        (status = 200, description = "The certificate.", body = CertificateView),
        (status = 503, description = "No certificate store.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get_certificate<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let cert = store_of(&*core)?;
    Ok(json(StatusCode::OK, &CertificateView::new(&cert.info(), &cert)))
}

/// `PUT /api/v1/tls/certificate`: checked, stored, served to new connections.
#[utoipa::path(
    put,
    path = "/api/v1/tls/certificate",
    tag = "tls",
    summary = "Replace the certificate",
    description = "A PEM chain (the server's certificate first, then its intermediates) and its unencrypted private key. \
Both are checked (they parse, the key is the certificate's, each certificate is followed by its issuer, all are valid \
now), written to the data directory and served to new HTTPS and SIP over TLS connections at once, without a restart; \
connections already open keep the old one. Audited.",
    request_body = CertificateInput,
    responses(
        (status = 200, description = "Now served.", body = CertificateView),
        (status = 413, description = "The body is too large.", body = super::openapi::ErrorBody),
        (status = 415, description = "Not JSON.", body = super::openapi::ErrorBody),
        (status = 422, description = "Refused: `field` is `certificate` or `key`, `error` says why (e.g. the key does not belong to the certificate).", body = super::openapi::ErrorBody),
        (status = 500, description = "The files could not be written.", body = super::openapi::ErrorBody),
        (status = 503, description = "No certificate store.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn put_certificate<C: CoreApi>(
    State(core): State<Arc<C>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Answer {
    let who = caller(&*core, &headers, &uri).await?;
    let input: CertificateInput = json_body(&headers, body).await?;
    let cert = store_of(&*core)?;
    match replace(cert.clone(), input.certificate, input.key).await {
        Ok(info) => {
            audit(&*core, &who, "tls.replace", &describe(&info), &peer).await;
            Ok(json(StatusCode::OK, &CertificateView::new(&info, &cert)))
        }
        Err(e) if is_internal(&e) => {
            tracing::error!("TLS certificate not replaced: {e}");
            Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()).into())
        }
        Err(e) => Err(field_error(StatusCode::UNPROCESSABLE_ENTITY, field_of(&e), &e.to_string()).into()),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/tls/certificate/regenerate",
    tag = "tls",
    summary = "Make a new self-signed certificate",
    description = "Like the one made at first start: ECDSA P-256, ten years, for the host name, `localhost`, the loopback \
addresses and the machine's addresses. Replaces the served certificate (an uploaded one too) for new connections. Audited.",
    responses(
        (status = 200, description = "Now served.", body = CertificateView),
        (status = 500, description = "It could not be made or written.", body = super::openapi::ErrorBody),
        (status = 503, description = "No certificate store.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn regenerate_certificate<C: CoreApi>(State(core): State<Arc<C>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, uri: Uri) -> Answer {
    let who = caller(&*core, &headers, &uri).await?;
    let cert = store_of(&*core)?;
    match regenerate(cert.clone()).await {
        Ok(info) => {
            audit(&*core, &who, "tls.regenerate", &describe(&info), &peer).await;
            Ok(json(StatusCode::OK, &CertificateView::new(&info, &cert)))
        }
        Err(e) => {
            tracing::error!("TLS certificate not regenerated: {e}");
            Err(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()).into())
        }
    }
}

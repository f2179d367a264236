//! SIP trunk administration shared by `switchboard trunk add|set|rm`, the
//! console's trunk pages and `/api/v1/trunks`: what a new trunk may look
//! like (name, carrier host, transport, registration credentials, DID map,
//! codecs), writing it, and the list with each trunk's DIDs and last probe
//! (never its secret). Changing a trunk in place is `trunk_change`'s.
//! Every problem is reported with its field, all at once. Must not print
//! or know HTTP; the running appliance's trunk supervisor picks new,
//! changed and removed rows up by itself.

use serde::Serialize;

use crate::store::{check_codec_list, check_extension_number, InvalidField, Store, StoreError, Trunk};

use super::AdminError;

/// A trunk as an administrator describes it (CLI flags or form fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrunkInput {
    pub name: String,
    /// The carrier's SIP server, `HOST:PORT`; must resolve.
    pub host: String,
    /// "udp" (also for an empty value) or "tcp".
    pub transport: String,
    /// Register to the carrier (needs `username` and `secret`).
    pub register: bool,
    pub username: Option<String>,
    pub secret: Option<String>,
    /// Inbound numbers, `DID` or `DID=EXTENSION` (the former routes to the
    /// extension with the same number).
    pub dids: Vec<String>,
    /// Use it for outbound calls (the first trunk is the default anyway).
    pub is_default: bool,
    /// Codec preference toward the carrier; `None` uses `[media] codecs`.
    pub codecs: Option<String>,
}

/// A trunk that passed [`check_trunk`], ready for [`add_trunk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTrunk {
    trunk: Trunk,
    dids: Vec<(String, String)>,
}

impl CheckedTrunk {
    pub fn trunk(&self) -> &Trunk {
        &self.trunk
    }
    /// (DID, extension) pairs.
    pub fn dids(&self) -> &[(String, String)] {
        &self.dids
    }
    /// What the audit log says about a new trunk (no secret).
    pub fn summary(&self) -> String {
        let t = &self.trunk;
        let dids: Vec<String> = self.dids.iter().map(|(d, e)| if d == e { d.clone() } else { format!("{d}={e}") }).collect();
        format!(
            "host {} {}, register {}, dids [{}], default {}, codecs {}",
            t.host,
            t.transport,
            t.register,
            dids.join(","),
            t.is_default,
            t.codecs.as_deref().unwrap_or("default")
        )
    }
}

/// Why a trunk was not added or changed: the fields at fault, or the
/// store's refusal (a taken name or DID is a conflict naming it; a trunk
/// that is not there is `NotFound`).
#[derive(Debug)]
pub enum TrunkRefused {
    Invalid(Vec<InvalidField>),
    Store(AdminError),
}

/// [`check_trunk`] (off the async workers: it resolves the host) and
/// [`add_trunk`]: the trunk as written.
pub async fn create_trunk(store: &Store, input: TrunkInput) -> Result<CheckedTrunk, TrunkRefused> {
    let checked = match tokio::task::spawn_blocking(move || check_trunk(&input)).await {
        Ok(Ok(t)) => t,
        Ok(Err(errors)) => return Err(TrunkRefused::Invalid(errors)),
        Err(e) => return Err(TrunkRefused::Invalid(vec![InvalidField { field: "", message: format!("the check failed: {e}") }])),
    };
    add_trunk(store, &checked).await.map_err(TrunkRefused::Store)?;
    Ok(checked)
}

/// A trunk as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TrunkView {
    pub name: String,
    /// The carrier's SIP server, `HOST:PORT`.
    pub host: String,
    /// `udp` or `tcp`.
    pub transport: String,
    pub register: bool,
    pub username: Option<String>,
    /// Whether registration credentials are stored (the secret is never shown).
    pub secret_set: bool,
    /// Used for outbound calls.
    pub is_default: bool,
    /// Codec preference; null uses `[media] codecs`.
    pub codecs: Option<String>,
    pub dids: Vec<DidView>,
    /// The trunk supervisor's last probe; null before the first.
    pub status: Option<TrunkStatusView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DidView {
    pub did: String,
    /// The extension (or dialplan number) calls to the DID go to.
    pub extension: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TrunkStatusView {
    /// The last OPTIONS probe answered; null: not probed (probes off, or not yet).
    pub options_ok: Option<bool>,
    /// Registered with the carrier; null: not registering, or not yet.
    pub registered: Option<bool>,
    pub detail: String,
    /// Unix seconds.
    pub updated_at: i64,
}

/// One trunk with its DIDs and status.
pub async fn trunk_view(store: &Store, t: Trunk) -> Result<TrunkView, StoreError> {
    let dids = store.dids(&t.name).await?.into_iter().map(|d| DidView { did: d.did, extension: d.extension }).collect();
    let status = store.trunk_status(&t.name).await?.map(|s| TrunkStatusView { options_ok: s.options_ok, registered: s.registered, detail: s.detail, updated_at: s.updated_at });
    Ok(TrunkView {
        secret_set: t.secret.is_some(),
        name: t.name,
        host: t.host,
        transport: t.transport,
        register: t.register,
        username: t.username,
        is_default: t.is_default,
        codecs: t.codecs,
        dids,
        status,
    })
}

/// Every trunk, by name.
pub async fn list_trunks(store: &Store) -> Result<Vec<TrunkView>, StoreError> {
    let mut out = Vec::new();
    for t in store.list_trunks().await? {
        out.push(trunk_view(store, t).await?);
    }
    Ok(out)
}

/// One trunk, or `NotFound`.
pub async fn get_trunk(store: &Store, name: &str) -> Result<TrunkView, AdminError> {
    let t = store.trunk(name).await?.ok_or_else(|| AdminError::NotFound(format!("trunk {name}")))?;
    Ok(trunk_view(store, t).await?)
}

/// Trunk names: letters, digits, `-`, `_` (they appear in dialplan
/// `match = { trunk = ... }` and in logs).
pub fn check_trunk_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!("trunk name must be 1 to 64 letters, digits, '-' or '_', got '{name}'"));
    }
    Ok(())
}

/// Checks every field of `input`; on failure every problem, tagged with
/// its field (`name`, `host`, `transport`, `username`, `secret`, `dids`,
/// `codecs`). Resolves the host name: blocking (DNS), so async callers
/// run it on a blocking thread.
pub fn check_trunk(input: &TrunkInput) -> Result<CheckedTrunk, Vec<InvalidField>> {
    let mut errors = Vec::new();
    let mut bad = |field: &'static str, message: String| errors.push(InvalidField { field, message });
    let name = input.name.trim();
    if let Err(m) = check_trunk_name(name) {
        bad("name", m);
    }
    let host = input.host.trim();
    if let Err(m) = check_host(host) {
        bad("host", m);
    }
    let transport = check_transport(&input.transport).unwrap_or_else(|m| {
        bad("transport", m);
        "udp"
    });
    let (username, secret) = (text(&input.username), text(&input.secret));
    check_credentials(input.register, username.as_deref(), secret.as_deref(), &mut bad);
    let mut dids: Vec<(String, String)> = Vec::new();
    for d in input.dids.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
        let (did, ext) = d.split_once('=').map(|(a, b)| (a.trim(), b.trim())).unwrap_or((d, d));
        if let Err(e) = check_extension_number(did).and_then(|()| check_extension_number(ext)) {
            bad("dids", format!("DID '{d}': {e}"));
        } else if dids.iter().any(|(x, _)| x == did) {
            bad("dids", format!("DID {did} is listed twice"));
        } else {
            dids.push((did.to_string(), ext.to_string()));
        }
    }
    let codecs = text(&input.codecs);
    if let Some(c) = &codecs {
        if let Err(e) = check_codec_list(c) {
            bad("codecs", e.to_string());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let trunk = Trunk {
        name: name.to_string(),
        host: host.to_string(),
        transport: transport.into(),
        register: input.register,
        username,
        secret,
        is_default: input.is_default,
        codecs,
    };
    Ok(CheckedTrunk { trunk, dids })
}

/// A trimmed text, `None` when absent or blank.
pub(super) fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The carrier's `HOST:PORT`: required, and it must resolve (blocking).
pub(super) fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the carrier's SIP server is required, as HOST:PORT".into());
    }
    crate::sip::resolve_host_port(host).map(|_| ()).map_err(|e| format!("'{host}' is not a reachable HOST:PORT ({e})"))
}

/// `udp` (also for an empty value) or `tcp`, any case.
pub(super) fn check_transport(t: &str) -> Result<&'static str, String> {
    match t.trim().to_ascii_lowercase().as_str() {
        "" | "udp" => Ok("udp"),
        "tcp" => Ok("tcp"),
        other => Err(format!("transport must be udp or tcp, got '{other}'")),
    }
}

/// Username and secret go together, and registering needs both.
pub(super) fn check_credentials(register: bool, username: Option<&str>, secret: Option<&str>, bad: &mut impl FnMut(&'static str, String)) {
    match (username, secret) {
        (Some(_), None) => bad("secret", "a username needs its secret (they go together)".into()),
        (None, Some(_)) => bad("username", "a secret needs its username (they go together)".into()),
        (None, None) if register => bad("username", "registering needs a username and a secret".into()),
        _ => {}
    }
}

/// Writes a checked trunk and its DIDs (one transaction). A taken name or
/// DID is a [`AdminError::Conflict`] naming it ("trunk x …", "DID y …").
pub async fn add_trunk(store: &Store, t: &CheckedTrunk) -> Result<(), AdminError> {
    Ok(store.add_trunk(&t.trunk, &t.dids).await?)
}

/// Removes a trunk with its DIDs.
pub async fn delete_trunk(store: &Store, name: &str) -> Result<(), AdminError> {
    Ok(store.remove_trunk(name).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TrunkInput {
        TrunkInput { name: "carrier".into(), host: "127.0.0.1:5080".into(), ..TrunkInput::default() }
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let ok = check_trunk(&TrunkInput { dids: vec!["5550100=1002".into(), " 5550101 ".into()], ..input() }).unwrap();
        assert_eq!(ok.trunk().transport, "udp");
        assert_eq!(ok.dids(), &[("5550100".to_string(), "1002".to_string()), ("5550101".to_string(), "5550101".to_string())]);

        let bad = TrunkInput {
            name: "no spaces".into(),
            host: "127.0.0.1:notaport".into(),
            transport: "sctp".into(),
            register: true,
            dids: vec!["55x".into(), "1=2".into(), "1".into()],
            codecs: Some("PCMU,NOPE".into()),
            ..TrunkInput::default()
        };
        let errs = check_trunk(&bad).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "host", "transport", "username", "dids", "dids", "codecs"], "{errs:?}");
        assert!(errs[5].message.contains("listed twice"), "{errs:?}");

        let half = check_trunk(&TrunkInput { username: Some("u".into()), ..input() }).unwrap_err();
        assert_eq!((half.len(), half[0].field), (1, "secret"));
        assert!(check_trunk(&TrunkInput { register: true, username: Some("u".into()), secret: Some("s".into()), ..input() }).is_ok());
    }

    #[tokio::test]
    async fn add_and_delete_share_the_store_rules() {
        let (_d, store) = crate::store::test_store().await;
        let t = check_trunk(&TrunkInput { dids: vec!["5550100".into()], ..input() }).unwrap();
        add_trunk(&store, &t).await.unwrap();
        let again = add_trunk(&store, &t).await.unwrap_err();
        assert!(matches!(&again, AdminError::Conflict(m) if m.starts_with("trunk carrier")), "{again:?}");
        let other = check_trunk(&TrunkInput { name: "b".into(), dids: vec!["5550100".into()], ..input() }).unwrap();
        let clash = add_trunk(&store, &other).await.unwrap_err();
        assert!(matches!(&clash, AdminError::Conflict(m) if m.starts_with("DID 5550100")), "{clash:?}");
        delete_trunk(&store, "carrier").await.unwrap();
        assert!(matches!(delete_trunk(&store, "carrier").await, Err(AdminError::NotFound(_))));
    }
}

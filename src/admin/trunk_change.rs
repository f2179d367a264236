//! Changing a trunk in place, shared by `switchboard trunk set`, the
//! console's trunk form and `PUT /api/v1/trunks/{trunk}`: a partial change
//! (a field not given keeps its value, the stored secret included) checked
//! with the rules of a new trunk (`trunks`), every problem reported with
//! its field; the name and the DIDs are not changed here. The audit
//! summary never holds the secret. Must not print or know HTTP; the trunk
//! supervisor sees the changed row on its next scan and, when the line
//! changed (host, transport, credentials, registration), stops the old
//! probes (unregistering from the old host) and starts new ones.

use super::trunks::{check_credentials, check_host, check_transport, TrunkRefused};
use super::{cleared, AdminError};
use crate::store::{check_codec_list, InvalidField, Store, Trunk};

/// What to change on a trunk; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrunkChange {
    /// The carrier's SIP server, `HOST:PORT`; must resolve when it changes.
    pub host: Option<String>,
    /// `udp` or `tcp`.
    pub transport: Option<String>,
    /// Register to the carrier (needs a username and a secret).
    pub register: Option<bool>,
    /// A new username; `""` or `none` removes the username and the secret
    /// (registration must then be off).
    pub username: Option<String>,
    /// A new secret; `""` keeps the stored one (it is never shown).
    pub secret: Option<String>,
    /// Use it for outbound calls; unmarking the default leaves the oldest
    /// trunk as the default.
    pub is_default: Option<bool>,
    /// A codec list; `""` or `none` goes back to `[media] codecs`.
    pub codecs: Option<String>,
}

/// A change as written: the trunk and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkChanged {
    pub trunk: Trunk,
    /// For the audit log ("host a → b, secret changed"); never the secret;
    /// empty when nothing changed (and nothing was written).
    pub summary: String,
}

/// `old` with `change` applied and checked; on failure every problem,
/// tagged with its field (`host`, `transport`, `username`, `secret`,
/// `codecs`). Resolves a changed host name: blocking (DNS).
pub fn apply_trunk_change(old: &Trunk, change: &TrunkChange) -> Result<Trunk, Vec<InvalidField>> {
    let mut errors = Vec::new();
    let mut bad = |field: &'static str, message: String| errors.push(InvalidField { field, message });
    let mut t = old.clone();
    if let Some(host) = change.host.as_deref().map(str::trim).filter(|h| *h != old.host) {
        match check_host(host) {
            Ok(()) => t.host = host.to_string(),
            Err(m) => bad("host", m),
        }
    }
    if let Some(transport) = &change.transport {
        match check_transport(transport) {
            Ok(tr) => t.transport = tr.to_string(),
            Err(m) => bad("transport", m),
        }
    }
    if let Some(user) = change.username.as_deref().map(str::trim) {
        if cleared(user) {
            t.username = None;
            t.secret = None;
        } else {
            t.username = Some(user.to_string());
        }
    }
    if let Some(secret) = change.secret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        t.secret = Some(secret.to_string());
    }
    if let Some(r) = change.register {
        t.register = r;
    }
    check_credentials(t.register, t.username.as_deref(), t.secret.as_deref(), &mut bad);
    if let Some(codecs) = change.codecs.as_deref().map(str::trim) {
        if cleared(codecs) {
            t.codecs = None;
        } else if let Err(e) = check_codec_list(codecs) {
            bad("codecs", e.to_string());
        } else {
            t.codecs = Some(codecs.to_string());
        }
    }
    if let Some(d) = change.is_default {
        t.is_default = d;
    }
    if errors.is_empty() {
        Ok(t)
    } else {
        Err(errors)
    }
}

/// What differs between `old` and `new`, for the audit log (the secret
/// only as changed or removed).
pub fn change_summary(old: &Trunk, new: &Trunk) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cmp = |what: &str, a: String, b: String| {
        if a != b {
            parts.push(format!("{what} {a} → {b}"));
        }
    };
    let or = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.to_string());
    cmp("host", old.host.clone(), new.host.clone());
    cmp("transport", old.transport.clone(), new.transport.clone());
    cmp("register", old.register.to_string(), new.register.to_string());
    cmp("username", or(&old.username, "none"), or(&new.username, "none"));
    cmp("default", old.is_default.to_string(), new.is_default.to_string());
    cmp("codecs", or(&old.codecs, "default"), or(&new.codecs, "default"));
    if old.secret != new.secret {
        parts.push(if new.secret.is_some() { "secret changed" } else { "secret removed" }.to_string());
    }
    parts.join(", ")
}

/// Changes trunk `name` (`trunk set`): the given fields change, the others
/// stay. No such trunk is `Store(NotFound)`; nothing to change writes
/// nothing (an empty summary).
pub async fn update_trunk(store: &Store, name: &str, change: TrunkChange) -> Result<TrunkChanged, TrunkRefused> {
    let old = store
        .trunk(name)
        .await
        .map_err(|e| TrunkRefused::Store(e.into()))?
        .ok_or_else(|| TrunkRefused::Store(AdminError::NotFound(format!("trunk {name}"))))?;
    let before = old.clone();
    let new = match tokio::task::spawn_blocking(move || apply_trunk_change(&before, &change)).await {
        Ok(Ok(t)) => t,
        Ok(Err(errors)) => return Err(TrunkRefused::Invalid(errors)),
        Err(e) => return Err(TrunkRefused::Invalid(vec![InvalidField { field: "", message: format!("the check failed: {e}") }])),
    };
    let summary = change_summary(&old, &new);
    if !summary.is_empty() {
        store.update_trunk(&new).await.map_err(|e| TrunkRefused::Store(e.into()))?;
    }
    Ok(TrunkChanged { trunk: new, summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old() -> Trunk {
        Trunk {
            name: "carrier".into(),
            host: "127.0.0.1:5080".into(),
            transport: "udp".into(),
            register: true,
            username: Some("acct".into()),
            secret: Some("s3cret".into()),
            is_default: true,
            codecs: Some("PCMA".into()),
        }
    }

    fn fields(r: Result<Trunk, Vec<InvalidField>>) -> Vec<&'static str> {
        r.unwrap_err().iter().map(|e| e.field).collect()
    }

    #[test]
    fn fields_not_given_keep_their_values_the_secret_too() {
        let same = apply_trunk_change(&old(), &TrunkChange::default()).unwrap();
        assert_eq!(same, old());
        let c = TrunkChange { host: Some(" 127.0.0.2:5090 ".into()), username: Some("other".into()), secret: Some("".into()), ..Default::default() };
        let t = apply_trunk_change(&old(), &c).unwrap();
        assert_eq!((t.host.as_str(), t.username.as_deref(), t.secret.as_deref()), ("127.0.0.2:5090", Some("other"), Some("s3cret")));
        let s = change_summary(&old(), &t);
        assert_eq!(s, "host 127.0.0.1:5080 → 127.0.0.2:5090, username acct → other");
        let t = apply_trunk_change(&old(), &TrunkChange { secret: Some("new-one".into()), codecs: Some("none".into()), ..Default::default() }).unwrap();
        assert_eq!((t.secret.as_deref(), t.codecs.as_deref()), (Some("new-one"), None));
        let s = change_summary(&old(), &t);
        assert!(s.contains("codecs PCMA → default") && s.contains("secret changed") && !s.contains("new-one"), "{s}");
        assert_eq!(change_summary(&old(), &old()), "");
    }

    #[test]
    fn problems_are_reported_at_their_fields() {
        // Removing the credentials of a registering trunk.
        let off = TrunkChange { username: Some("".into()), ..Default::default() };
        assert_eq!(fields(apply_trunk_change(&old(), &off)), ["username"]);
        let t = apply_trunk_change(&old(), &TrunkChange { register: Some(false), ..off }).unwrap();
        assert_eq!((t.username, t.secret, t.register), (None, None, false));
        let c = TrunkChange {
            host: Some("127.0.0.1:notaport".into()),
            transport: Some("sctp".into()),
            codecs: Some("PCMU,NOPE".into()),
            username: Some("none".into()),
            secret: Some("lonely".into()),
            ..Default::default()
        };
        assert_eq!(fields(apply_trunk_change(&old(), &c)), ["host", "transport", "username", "codecs"]);
        let mut plain = old();
        (plain.username, plain.secret, plain.register) = (None, None, false);
        assert_eq!(fields(apply_trunk_change(&plain, &TrunkChange { username: Some("u".into()), ..Default::default() })), ["secret"]);
        assert_eq!(fields(apply_trunk_change(&plain, &TrunkChange { register: Some(true), ..Default::default() })), ["username"]);
    }

    #[tokio::test]
    async fn a_change_is_written_and_nothing_to_change_writes_nothing() {
        let (_d, store) = crate::store::test_store().await;
        store.add_trunk(&old(), &[("5550100".into(), "1001".into())]).await.unwrap();
        let done = update_trunk(&store, "carrier", TrunkChange { transport: Some("TCP".into()), ..Default::default() }).await.unwrap();
        assert_eq!(done.summary, "transport udp → tcp");
        assert_eq!(store.trunk("carrier").await.unwrap().unwrap().transport, "tcp");
        assert_eq!(store.dids("carrier").await.unwrap().len(), 1, "DIDs stay");
        let none = update_trunk(&store, "carrier", TrunkChange { transport: Some("tcp".into()), ..Default::default() }).await.unwrap();
        assert_eq!(none.summary, "");
        let missing = update_trunk(&store, "nope", TrunkChange::default()).await.unwrap_err();
        assert!(matches!(missing, TrunkRefused::Store(AdminError::NotFound(m)) if m == "trunk nope"));
        let bad = update_trunk(&store, "carrier", TrunkChange { codecs: Some("NOPE".into()), ..Default::default() }).await.unwrap_err();
        assert!(matches!(&bad, TrunkRefused::Invalid(e) if e[0].field == "codecs"), "{bad:?}");
    }
}

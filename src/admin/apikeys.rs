//! API keys shared by the console's API keys page and `/api/v1/apikeys`:
//! what a new key needs (a plain name, at least one known scope; errors at
//! their field), creating it (the clear key is returned once and never
//! kept: the store keeps its hash), the list (never a key) and revoking.
//! Must not know HTTP, log or audit keys.

use serde::{Deserialize, Serialize};

use super::AdminError;
use crate::store::{check_api_key_name, ApiKey, InvalidField, Store, StoreError};

/// An API key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub name: String,
    /// The key's first characters (`sb_` and 5 more), to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(k: ApiKey) -> ApiKeyView {
        ApiKeyView { name: k.name, prefix: k.prefix, scopes: k.scopes, created_at: k.created_at, last_used_at: k.last_used_at }
    }
}

/// A new key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// Letters, digits, `-`, `_`, `.`; 1 to 64.
    pub name: String,
    /// Some of `events`, `stats`, `calls`, `admin` (admin may do everything).
    pub scopes: Vec<String>,
}

/// The problems of a new key's name and scopes, all of them (the store
/// checks each scope's name when it writes).
pub fn check_api_key_input(input: &ApiKeyInput) -> Vec<InvalidField> {
    let mut errors = Vec::new();
    if let Err(e) = check_api_key_name(input.name.trim()) {
        errors.push(InvalidField { field: "name", message: e.to_string() });
    }
    if input.scopes.is_empty() {
        errors.push(InvalidField { field: "scopes", message: "choose at least one scope".into() });
    }
    errors
}

/// Creates a key; the clear key, shown only this once.
pub async fn create_api_key(store: &Store, input: &ApiKeyInput) -> Result<String, AdminError> {
    if let Some(e) = check_api_key_input(input).into_iter().next() {
        return Err(e.into());
    }
    let name = input.name.trim();
    store.create_api_key(name, &input.scopes).await.map_err(|e| match e {
        StoreError::Invalid(m) if m.contains("scope") => AdminError::Invalid { field: "scopes", message: m },
        StoreError::Invalid(m) => AdminError::Invalid { field: "name", message: m },
        other => other.into(),
    })
}

/// Every key, by name.
pub async fn list_api_keys(store: &Store) -> Result<Vec<ApiKeyView>, AdminError> {
    Ok(store.list_api_keys().await?.into_iter().map(ApiKeyView::from).collect())
}

/// Revokes a key: programs using it are refused at once.
pub async fn revoke_api_key(store: &Store, name: &str) -> Result<(), AdminError> {
    Ok(store.remove_api_key(name).await?)
}

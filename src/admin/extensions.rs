//! Extensions (SIP accounts of phones) shared by the console's extensions
//! page and `/api/v1/extensions`: what a new extension needs (number,
//! secret, codecs; every problem with its field), writing it, a new random
//! secret, and the list with current registrations. The rules of each
//! value are the store's (`check_extension_number`, ...), as the CLI uses
//! them. Secrets are never kept in clear (the store keeps HA1 digests) and
//! never returned except the random one just made. Must not know HTTP.

use base64::Engine as _;
use serde::Serialize;

use super::AdminError;
use crate::config::DialClass;
use crate::store::{check_codec_list, check_extension_number, check_extension_secret, Extension, InvalidField, Store, StoreError};

/// An extension as listed: never its secret or digests.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExtensionView {
    pub number: String,
    pub name: String,
    /// Codec preference; null uses `[media] codecs`.
    pub codecs: Option<String>,
    /// The SIP realm its digests were made for.
    pub realm: String,
    /// Outbound class of service: `internal`, `national`, `international`
    /// or `premium` (see `[dialing]`); new extensions get `national`.
    pub dial_class: String,
    /// Phones registered now (none: offline).
    pub registrations: Vec<RegistrationView>,
}

/// A live registration of a phone.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    pub contact: String,
    /// `ip:port` the REGISTER came from.
    pub source: String,
    pub transport: String,
    pub user_agent: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A random secret of 16 URL-safe characters (96 bits), as the console's
/// "New secret" button and an API creation without a secret make.
pub fn random_secret() -> String {
    let bytes: [u8; 12] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks a new extension's fields, all at once: `number` (1 to 20
/// digits), `secret` (8 to 128 characters), `codecs` (empty: the default).
/// The trimmed number and the codec list on success.
pub fn check_new_extension(number: &str, secret: &str, codecs: &str) -> Result<(String, Option<String>), Vec<InvalidField>> {
    let mut errors = Vec::new();
    let number = number.trim();
    if let Err(e) = check_extension_number(number) {
        errors.push(InvalidField { field: "number", message: e.to_string() });
    }
    if let Err(e) = check_extension_secret(secret) {
        errors.push(InvalidField { field: "secret", message: e.to_string() });
    }
    let codecs = Some(codecs.trim().to_string()).filter(|c| !c.is_empty());
    if let Some(c) = &codecs {
        if let Err(e) = check_codec_list(c) {
            errors.push(InvalidField { field: "codecs", message: e.to_string() });
        }
    }
    if errors.is_empty() {
        Ok((number.to_string(), codecs))
    } else {
        Err(errors)
    }
}

/// Writes a checked extension (its digests for `realm`); a taken number
/// is a conflict.
pub async fn create_extension(store: &Store, realm: &str, number: &str, name: &str, secret: &str, codecs: Option<String>) -> Result<(), AdminError> {
    let x = Extension::with_secret(number, name, realm, secret, codecs).map_err(AdminError::for_field("number"))?;
    Ok(store.add_extension(&x).await?)
}

/// Changes the name and codecs (`None` or blank: the default list).
pub async fn update_extension(store: &Store, number: &str, name: &str, codecs: Option<&str>) -> Result<(), AdminError> {
    store.update_extension(number, name, codecs).await.map_err(AdminError::for_field("codecs"))
}

/// A class of service by name, or the field error naming `dial_class`.
pub fn check_dial_class(value: &str) -> Result<DialClass, AdminError> {
    DialClass::parse(value).ok_or_else(|| AdminError::Invalid {
        field: "dial_class",
        message: format!("\"{value}\" is not one of internal, national, international, premium"),
    })
}

/// Sets the outbound class of service.
pub async fn set_dial_class(store: &Store, number: &str, class: DialClass) -> Result<(), AdminError> {
    Ok(store.set_extension_dial_class(number, class).await?)
}

/// Gives the extension a new random secret; the secret (shown once).
pub async fn reset_secret(store: &Store, realm: &str, number: &str) -> Result<String, AdminError> {
    if store.extension(number).await?.is_none() {
        return Err(AdminError::NotFound(format!("extension {number}")));
    }
    let secret = random_secret();
    store.set_extension_secret(number, realm, &secret).await?;
    Ok(secret)
}

/// Removes the extension and its registrations.
pub async fn delete_extension(store: &Store, number: &str) -> Result<(), AdminError> {
    Ok(store.remove_extension(number).await?)
}

/// One extension with its registrations at `now` (unix seconds).
pub async fn extension_view(store: &Store, x: Extension, now: i64) -> Result<ExtensionView, StoreError> {
    let registrations = store
        .bindings(&x.number, now)
        .await?
        .into_iter()
        .map(|b| RegistrationView { contact: b.contact, source: b.source, transport: b.transport, user_agent: b.user_agent, expires_at: b.expires_at })
        .collect();
    Ok(ExtensionView { number: x.number, name: x.name, codecs: x.codecs, realm: x.realm, dial_class: x.dial_class, registrations })
}

/// Every extension (by number) with its registrations.
pub async fn list_extensions(store: &Store, now: i64) -> Result<Vec<ExtensionView>, StoreError> {
    let mut out = Vec::new();
    for x in store.list_extensions().await? {
        out.push(extension_view(store, x, now).await?);
    }
    Ok(out)
}

/// One extension, or `NotFound`.
pub async fn get_extension(store: &Store, number: &str, now: i64) -> Result<ExtensionView, AdminError> {
    let x = store.extension(number).await?.ok_or_else(|| AdminError::NotFound(format!("extension {number}")))?;
    Ok(extension_view(store, x, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_by_its_field() {
        let errs = check_new_extension("12a", "short", "PCMU,NOPE").unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["number", "secret", "codecs"]);
        assert_eq!(check_new_extension(" 2001 ", "long enough", " ").unwrap(), ("2001".to_string(), None));
        assert_eq!(random_secret().len(), 16);
    }
}

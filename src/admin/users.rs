//! Console users shared by the console's users page and `/api/v1/users`:
//! what creating one needs (a role, an agent id for agent users), the
//! partial change of name, role, agent link and the disabled flag, setting
//! a password, and removal (nobody removes themselves). Password and
//! username rules, hashing and "the last admin stays" are the store's.
//! Views never carry a password hash. Must not know HTTP.

use serde::{Deserialize, Serialize};

use super::{nullable, AdminError};
use crate::store::{Role, Store, StoreError, User};

/// A console user as listed (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// `admin`, `supervisor` or `agent`.
    pub role: String,
    /// The ACD agent an agent user works as.
    pub agent_id: Option<String>,
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// Locked after failed logins until then (unix seconds).
    pub locked_until: Option<i64>,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role.as_str().to_string(),
            agent_id: u.agent_id,
            disabled: u.disabled,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
            locked_until: u.locked_until,
        }
    }
}

/// A new console user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Lowercase letters, digits, `.`, `-`, `_`, `@`; 1 to 64.
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// `admin`, `supervisor` or `agent`.
    pub role: String,
    /// Required for agents: the ACD agent id they work as.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// 10 to 128 characters, not the username.
    pub password: String,
}

/// A change of a user: the fields given change, the others keep their
/// values; `agent_id: null` (or "") removes the agent link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[serde(default)]
    pub display_name: Option<String>,
    /// `admin`, `supervisor` or `agent`.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<Option<String>>,
    /// A disabled user cannot log in; their sessions end.
    #[serde(default)]
    pub disabled: Option<bool>,
}

fn role(s: &str) -> Result<Role, AdminError> {
    Role::parse(s.trim()).map_err(AdminError::for_field("role"))
}

/// A store refusal of a password or username, at its field.
fn credential_error(e: StoreError) -> AdminError {
    match e {
        StoreError::Invalid(m) if m.contains("password") => AdminError::Invalid { field: "password", message: m },
        StoreError::Invalid(m) => AdminError::Invalid { field: "username", message: m },
        other => other.into(),
    }
}

/// Creates a user; an agent user needs the ACD agent id it works as.
pub async fn create_user(store: &Store, input: &UserInput) -> Result<User, AdminError> {
    let role = role(&input.role)?;
    let agent = input.agent_id.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if role == Role::Agent && agent.is_none() {
        return Err(AdminError::invalid("agent_id", "an agent user needs the ACD agent id it works as"));
    }
    store.create_user(&input.username, &input.display_name, &input.password, role, agent).await.map_err(credential_error)
}

/// Applies `change` to user `id`; the user as changed. Demoting or
/// disabling the last admin is refused (the store's rule).
pub async fn update_user(store: &Store, id: i64, change: &UserChange) -> Result<User, AdminError> {
    let before = store.user(id).await?;
    let role = match &change.role {
        Some(r) => role(r)?,
        None => before.role,
    };
    let name = change.display_name.clone().unwrap_or(before.display_name);
    let agent = match &change.agent_id {
        Some(a) => a.as_deref().map(str::trim).map(str::to_string),
        None => before.agent_id,
    };
    let disabled = change.disabled.unwrap_or(before.disabled);
    Ok(store.update_user(id, &name, role, agent.as_deref(), disabled).await?)
}

/// Sets a new password (the user's sessions end); the user.
pub async fn set_password(store: &Store, id: i64, password: &str) -> Result<User, AdminError> {
    store.set_password(id, password).await.map_err(credential_error)?;
    Ok(store.user(id).await?)
}

/// Removes user `id`; `me` is the user asking (nobody removes themselves).
pub async fn delete_user(store: &Store, id: i64, me: Option<i64>) -> Result<User, AdminError> {
    if me == Some(id) {
        return Err(AdminError::invalid("", "you cannot delete yourself"));
    }
    Ok(store.remove_user(id).await?)
}

//! ACD, customer, trunk, extension, console user and API key
//! administration, shared by the `queue`, `agent`, `customer` and `trunk`
//! commands, the admin HTTP API (`/api/v1/queues`, `/api/v1/extensions`,
//! ...) and the console pages: the
//! JSON shapes (serde), what a partial update means (fields not given keep
//! their values, as `queue set` does), which fields creation requires, and
//! running a request against the store. Errors name the field at fault.
//! Must not know HTTP (routes, status codes) or print, and must not touch
//! agent state: that is the running ACD's, which picks up the rows written
//! here on its next sync from the store (every few seconds). Voicemail
//! mailbox rules (`mailboxes`) are shared the same way by the `mailbox`
//! command and the console.

mod agents;
mod apikeys;
mod customers;
mod extensions;
mod mailboxes;
mod queues;
mod trunk_change;
mod trunks;
mod users;

use serde::{Deserialize, Deserializer, Serialize};

use crate::store::{InvalidField, Store, StoreError};

pub use agents::{
    create_agent, delete_agent, get_agent, list_agents, list_skills, remove_skill, set_skill, update_agent, AgentInput, AgentList,
    AgentQueue, AgentView, SkillHolder, SkillInput, SkillList, SkillUse,
};
pub use customers::{
    create_customer, delete_customer, get_customer, import_customers, search_customers, update_customer, CustomerInput,
    CustomerPage, CustomerQuery, CustomerView, ImportResult, LineError, DEFAULT_LIMIT, MAX_LIMIT,
};
pub use mailboxes::{check_mailbox, check_mailbox_number, check_pin, MailboxInput, MAX_MESSAGE_SECS};
pub use queues::{
    apply_queue, create_queue, delete_queue, get_queue, list_queues, remove_member, set_member, update_queue, MemberInput,
    MemberView, QueueInput, QueueList, QueueView,
};
pub use apikeys::{check_api_key_input, create_api_key, list_api_keys, revoke_api_key, ApiKeyInput, ApiKeyView};
pub use extensions::{
    check_dial_class, check_new_extension, create_extension, delete_extension, get_extension, list_extensions, random_secret, reset_secret, set_dial_class,
    update_extension,
    ExtensionView, RegistrationView,
};
pub use trunk_change::{apply_trunk_change, change_summary, update_trunk, TrunkChange, TrunkChanged};
pub use trunks::{
    add_trunk, check_trunk, check_trunk_name, create_trunk, delete_trunk, get_trunk, list_trunks, CheckedTrunk, DidView, TrunkInput,
    TrunkRefused, TrunkStatusView, TrunkView,
};
pub use users::{create_user, delete_user, set_password, update_user, UserChange, UserInput, UserView};

/// Why an administration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A value failed validation. `field` is its JSON field name (empty
    /// when no single field is at fault); the message is the one the CLI
    /// prints.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// No such queue, agent, member, skill or customer (the text names it).
    #[error("{0} not found")]
    NotFound(String),
    /// A duplicate, or a clash with another row (an extension another
    /// agent has).
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl AdminError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> AdminError {
        AdminError::Invalid { field, message: message.into() }
    }

    /// Turns a store error into a field error for `field` when it is a
    /// validation error (for store calls that check one value).
    fn for_field(field: &'static str) -> impl Fn(StoreError) -> AdminError {
        move |e| match e {
            StoreError::Invalid(message) => AdminError::Invalid { field, message },
            other => other.into(),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> AdminError {
        match e {
            StoreError::NotFound(what) => AdminError::NotFound(what),
            StoreError::Exists(what) => AdminError::Conflict(format!("{what} already exists")),
            StoreError::Conflict(m) => AdminError::Conflict(m),
            StoreError::Invalid(message) => AdminError::Invalid { field: "", message },
            other => AdminError::Store(other),
        }
    }
}

impl From<InvalidField> for AdminError {
    fn from(e: InvalidField) -> AdminError {
        AdminError::Invalid { field: e.field, message: e.message }
    }
}

/// For `Option<Option<T>>` fields (with `#[serde(default)]`): absent is
/// `None` (keep the value), `null` is `Some(None)` (clear it).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The OpenAPI schema of `strategy`: a string, one of the store's
/// strategies (so the document lists exactly what the API accepts).
fn strategy_schema() -> utoipa::openapi::Object {
    text_enum("How the queue picks an agent.", crate::store::Strategy::ALL.iter().map(|s| s.as_str()))
}

/// The OpenAPI schema of an agent's `state`: one of the store's states.
fn agent_state_schema() -> utoipa::openapi::Object {
    text_enum("As the ACD last stored it.", crate::store::AgentState::ALL.iter().map(|s| s.as_str()))
}

fn text_enum<'a>(description: &str, values: impl Iterator<Item = &'a str>) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .build()
}

/// `''` and `none` both clear an optional text setting (an empty argument
/// is awkward to type in some shells and scripts; JSON may also use null).
pub fn cleared(s: &str) -> bool {
    s.is_empty() || s.eq_ignore_ascii_case("none")
}

/// A request on the ACD configuration (queues, members, agents, skills).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdRequest {
    ListQueues,
    GetQueue(String),
    CreateQueue(QueueInput),
    UpdateQueue(String, QueueInput),
    DeleteQueue(String),
    SetMember { queue: String, agent: String, input: MemberInput },
    RemoveMember { queue: String, agent: String },
    ListAgents,
    GetAgent(String),
    CreateAgent(AgentInput),
    UpdateAgent(String, AgentInput),
    DeleteAgent(String),
    SetSkill { agent: String, skill: String, input: SkillInput },
    RemoveSkill { agent: String, skill: String },
    ListSkills,
}

/// A request on the customer table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRequest {
    Search(CustomerQuery),
    Get(i64),
    Create(CustomerInput),
    Update(i64, CustomerInput),
    Delete(i64),
    /// CSV text, as `customer import` reads it from a file.
    Import(String),
}

/// The answer to a request: the row(s) it read or wrote, or `Done` after a
/// removal. Serialises as the inner value (`Done` as null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Reply {
    Done,
    Queue(QueueView),
    Queues(QueueList),
    Agent(AgentView),
    Agents(AgentList),
    Skills(SkillList),
    Customer(CustomerView),
    Customers(CustomerPage),
    Import(ImportResult),
}

/// Runs an ACD configuration request.
pub async fn acd(store: &Store, req: AcdRequest) -> Result<Reply, AdminError> {
    Ok(match req {
        AcdRequest::ListQueues => Reply::Queues(list_queues(store).await?),
        AcdRequest::GetQueue(name) => Reply::Queue(get_queue(store, &name).await?),
        AcdRequest::CreateQueue(input) => Reply::Queue(create_queue(store, input).await?),
        AcdRequest::UpdateQueue(name, input) => Reply::Queue(update_queue(store, &name, input).await?),
        AcdRequest::DeleteQueue(name) => delete_queue(store, &name).await.map(|()| Reply::Done)?,
        AcdRequest::SetMember { queue, agent, input } => Reply::Queue(set_member(store, &queue, &agent, input).await?),
        AcdRequest::RemoveMember { queue, agent } => remove_member(store, &queue, &agent).await.map(|()| Reply::Done)?,
        AcdRequest::ListAgents => Reply::Agents(list_agents(store).await?),
        AcdRequest::GetAgent(id) => Reply::Agent(get_agent(store, &id).await?),
        AcdRequest::CreateAgent(input) => Reply::Agent(create_agent(store, input).await?),
        AcdRequest::UpdateAgent(id, input) => Reply::Agent(update_agent(store, &id, input).await?),
        AcdRequest::DeleteAgent(id) => delete_agent(store, &id).await.map(|()| Reply::Done)?,
        AcdRequest::SetSkill { agent, skill, input } => Reply::Agent(set_skill(store, &agent, &skill, input).await?),
        AcdRequest::RemoveSkill { agent, skill } => remove_skill(store, &agent, &skill).await.map(|()| Reply::Done)?,
        AcdRequest::ListSkills => Reply::Skills(list_skills(store).await?),
    })
}

/// Runs a customer table request.
pub async fn customer(store: &Store, req: CustomerRequest) -> Result<Reply, AdminError> {
    Ok(match req {
        CustomerRequest::Search(q) => Reply::Customers(search_customers(store, q).await?),
        CustomerRequest::Get(id) => Reply::Customer(get_customer(store, id).await?),
        CustomerRequest::Create(input) => Reply::Customer(create_customer(store, input).await?),
        CustomerRequest::Update(id, input) => Reply::Customer(update_customer(store, id, input).await?),
        CustomerRequest::Delete(id) => delete_customer(store, id).await.map(|()| Reply::Done)?,
        CustomerRequest::Import(text) => Reply::Import(import_customers(store, &text).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_admin_errors() {
        let m = |e: StoreError| AdminError::from(e).to_string();
        assert_eq!(m(StoreError::NotFound("queue x".into())), "queue x not found");
        assert_eq!(m(StoreError::Exists("queue x".into())), "queue x already exists", "the CLI's wording");
        assert!(matches!(AdminError::from(StoreError::Conflict("c".into())), AdminError::Conflict(_)));
        let e = AdminError::for_field("penalty")(StoreError::Invalid("penalty must be 0 to 1000, got -1".into()));
        assert!(matches!(e, AdminError::Invalid { field: "penalty", .. }), "{e:?}");
        assert!(cleared("") && cleared("None") && !cleared("queue:x"));
    }
}

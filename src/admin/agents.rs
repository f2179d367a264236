//! Agents and their skills: the JSON shapes, what `agent add` and
//! `POST`/`PUT /api/v1/agents` require, and the store calls behind them.
//! Never writes agent state (logged in, paused, ...): the running ACD owns
//! it; an agent is created logged out, as from the CLI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::AdminError;
use crate::store::{check_skill_name, unix_ms, validate_agent, Agent, Store};

/// An agent as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub extensions: Vec<String>,
    /// Unanswered offers in a row before the ACD makes the agent unavailable; 0 = never.
    pub no_answer_limit: i64,
    /// As the ACD last stored it: logged_out, available, paused, ...
    #[schema(schema_with = super::agent_state_schema)]
    pub state: String,
    pub pause_reason: Option<String>,
    /// When `state` was entered, unix ms.
    pub state_since_ms: i64,
    /// By queue name.
    pub queues: Vec<AgentQueue>,
    /// Skill name to proficiency (1 to 10).
    pub skills: BTreeMap<String, i64>,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentQueue {
    pub queue: String,
    pub penalty: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentList {
    pub agents: Vec<AgentView>,
}

/// What creating or changing an agent takes. Creation needs `id` and at
/// least one extension (the phone the ACD rings), like `agent add --ext`;
/// `name` defaults to "" and `no_answer_limit` to 3. A change keeps the
/// fields not given and may repeat the id but not alter it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    /// Login name (letters, digits, `.`, `-`, `_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Extensions the agent's phones register as; replaced whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<String>>,
    /// Unanswered offers in a row before the agent is made unavailable;
    /// 0 = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_answer_limit: Option<i64>,
}

/// Giving an agent a skill, or changing its level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillInput {
    /// 1 (novice) to 10 (expert).
    pub proficiency: i64,
}

/// A skill some agent has, and who has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillUse {
    pub skill: String,
    /// By agent id.
    pub agents: Vec<SkillHolder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillHolder {
    pub agent: String,
    pub proficiency: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillList {
    pub skills: Vec<SkillUse>,
}

async fn view(store: &Store, a: Agent) -> Result<AgentView, AdminError> {
    let queues = store.queues_of(&a.id).await?.into_iter().map(|m| AgentQueue { queue: m.queue, penalty: m.penalty }).collect();
    let skills = store.skills(&a.id).await?.into_iter().map(|s| (s.skill, s.proficiency)).collect();
    Ok(AgentView {
        name: a.name,
        extensions: a.extensions,
        no_answer_limit: a.no_answer_limit,
        state: a.state.as_str().to_string(),
        pause_reason: a.pause_reason,
        state_since_ms: a.state_since,
        queues,
        skills,
        created_at: a.created_at,
        id: a.id,
    })
}

/// An agent no phone can reach would never be offered a call.
fn check_extensions(exts: &[String]) -> Result<(), AdminError> {
    if exts.is_empty() {
        return Err(AdminError::invalid("extensions", "an agent needs at least one extension (the phone the ACD rings)"));
    }
    Ok(())
}

pub async fn list_agents(store: &Store) -> Result<AgentList, AdminError> {
    let mut agents = Vec::new();
    for a in store.list_agents().await? {
        agents.push(view(store, a).await?);
    }
    Ok(AgentList { agents })
}

pub async fn get_agent(store: &Store, id: &str) -> Result<AgentView, AdminError> {
    let a = store.agent(id).await?.ok_or_else(|| AdminError::NotFound(format!("agent {id}")))?;
    view(store, a).await
}

/// `agent add`: a logged-out agent.
pub async fn create_agent(store: &Store, i: AgentInput) -> Result<AgentView, AdminError> {
    let id = i.id.ok_or_else(|| AdminError::invalid("id", "an agent needs an id (its login name)"))?;
    let mut a = Agent::new(&id);
    a.name = i.name.unwrap_or_default();
    a.extensions = i.extensions.unwrap_or_default();
    check_extensions(&a.extensions)?;
    if let Some(n) = i.no_answer_limit {
        a.no_answer_limit = n;
    }
    a.state_since = unix_ms();
    validate_agent(&a)?;
    store.add_agent(&a).await?;
    get_agent(store, &id).await
}

/// Changes name, extensions or no-answer limit; the state stays the ACD's.
pub async fn update_agent(store: &Store, id: &str, i: AgentInput) -> Result<AgentView, AdminError> {
    if let Some(other) = i.id.filter(|other| other != id) {
        return Err(AdminError::invalid("id", format!("agent {id} cannot be renamed to {other} (remove it and add a new one)")));
    }
    let mut a = store.agent(id).await?.ok_or_else(|| AdminError::NotFound(format!("agent {id}")))?;
    if let Some(n) = i.name {
        a.name = n;
    }
    if let Some(e) = i.extensions {
        check_extensions(&e)?;
        a.extensions = e;
    }
    if let Some(n) = i.no_answer_limit {
        a.no_answer_limit = n;
    }
    validate_agent(&a)?;
    store.update_agent(&a).await?;
    get_agent(store, id).await
}

/// Removes the agent with its skills and memberships.
pub async fn delete_agent(store: &Store, id: &str) -> Result<(), AdminError> {
    Ok(store.remove_agent(id).await?)
}

/// `agent skill ID SKILL LEVEL`: adds the skill or changes its level.
pub async fn set_skill(store: &Store, agent: &str, skill: &str, i: SkillInput) -> Result<AgentView, AdminError> {
    check_skill_name(skill).map_err(AdminError::for_field("skill"))?;
    // The name is good, so a validation error from here is the level's.
    store.set_skill(agent, skill, i.proficiency).await.map_err(AdminError::for_field("proficiency"))?;
    get_agent(store, agent).await
}

pub async fn remove_skill(store: &Store, agent: &str, skill: &str) -> Result<(), AdminError> {
    Ok(store.remove_skill(agent, skill).await?)
}

/// Every skill at least one agent has.
pub async fn list_skills(store: &Store) -> Result<SkillList, AdminError> {
    let mut skills: Vec<SkillUse> = Vec::new();
    // Sorted by skill, so each skill's holders are consecutive.
    for s in store.all_skills().await? {
        let holder = SkillHolder { agent: s.agent, proficiency: s.proficiency };
        match skills.last_mut() {
            Some(last) if last.skill == s.skill => last.agents.push(holder),
            _ => skills.push(SkillUse { skill: s.skill, agents: vec![holder] }),
        }
    }
    Ok(SkillList { skills })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(id: &str, exts: &[&str]) -> AgentInput {
        AgentInput { id: Some(id.into()), extensions: Some(exts.iter().map(|e| e.to_string()).collect()), ..AgentInput::default() }
    }

    fn field<T: std::fmt::Debug>(r: Result<T, AdminError>) -> &'static str {
        match r {
            Err(AdminError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn agents_and_skills() {
        let (_d, store) = crate::store::test_store().await;
        assert_eq!(field(create_agent(&store, AgentInput::default()).await), "id");
        assert_eq!(field(create_agent(&store, input("alice", &[])).await), "extensions", "like agent add --ext");
        assert_eq!(field(create_agent(&store, input("a b", &["1"])).await), "id");
        assert_eq!(field(create_agent(&store, input("alice", &["1x"])).await), "extensions");
        let v = create_agent(&store, AgentInput { name: Some("Alice".into()), ..input("alice", &["1001"]) }).await.unwrap();
        assert_eq!((v.state.as_str(), v.no_answer_limit, v.name.as_str()), ("logged_out", 3, "Alice"));
        assert!(v.state_since_ms > 0);
        assert!(matches!(create_agent(&store, input("alice", &["1002"])).await, Err(AdminError::Conflict(_))));
        let taken = create_agent(&store, input("bob", &["1001"])).await;
        assert!(matches!(&taken, Err(AdminError::Conflict(m)) if m == "extension 1001 already belongs to agent alice"), "{taken:?}");
        create_agent(&store, input("bob", &["2001"])).await.unwrap();

        let v = update_agent(&store, "alice", AgentInput { no_answer_limit: Some(0), ..AgentInput::default() }).await.unwrap();
        assert_eq!((v.no_answer_limit, v.name.as_str(), v.extensions.clone()), (0, "Alice", vec!["1001".to_string()]), "others kept");
        assert_eq!(field(update_agent(&store, "alice", AgentInput { extensions: Some(vec![]), ..AgentInput::default() }).await), "extensions");
        assert_eq!(field(update_agent(&store, "alice", input("carol", &["1"])).await), "id");
        assert_eq!(field(update_agent(&store, "alice", AgentInput { no_answer_limit: Some(-1), ..AgentInput::default() }).await), "no_answer_limit");
        assert!(matches!(update_agent(&store, "zed", AgentInput::default()).await, Err(AdminError::NotFound(_))));

        let v = set_skill(&store, "alice", "spanish", SkillInput { proficiency: 8 }).await.unwrap();
        assert_eq!(v.skills, BTreeMap::from([("spanish".to_string(), 8)]));
        set_skill(&store, "bob", "spanish", SkillInput { proficiency: 2 }).await.unwrap();
        set_skill(&store, "bob", "billing", SkillInput { proficiency: 5 }).await.unwrap();
        assert_eq!(field(set_skill(&store, "alice", "spanish", SkillInput { proficiency: 11 }).await), "proficiency");
        assert_eq!(field(set_skill(&store, "alice", "bad skill", SkillInput { proficiency: 1 }).await), "skill");
        assert!(matches!(set_skill(&store, "zed", "x", SkillInput { proficiency: 1 }).await, Err(AdminError::NotFound(_))));
        let skills = list_skills(&store).await.unwrap().skills;
        let names: Vec<(&str, usize)> = skills.iter().map(|s| (s.skill.as_str(), s.agents.len())).collect();
        assert_eq!(names, [("billing", 1), ("spanish", 2)]);
        remove_skill(&store, "bob", "billing").await.unwrap();
        assert!(matches!(remove_skill(&store, "bob", "billing").await, Err(AdminError::NotFound(_))));

        assert_eq!(list_agents(&store).await.unwrap().agents.len(), 2);
        delete_agent(&store, "bob").await.unwrap();
        assert!(matches!(get_agent(&store, "bob").await, Err(AdminError::NotFound(_))));
        assert_eq!(list_skills(&store).await.unwrap().skills.len(), 1, "bob's skills went with him");
    }
}

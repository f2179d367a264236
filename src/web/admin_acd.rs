//! ACD configuration over HTTP, scope `admin`: `/api/v1/queues[/{queue}]`,
//! `/api/v1/queues/{queue}/members/{agent}`, `/api/v1/agents[/{agent}]`,
//! `/api/v1/agents/{agent}/skills/{skill}` and `/api/v1/skills`. The same
//! requests as `switchboard queue|agent …` (`crate::admin`); the running ACD
//! picks the changes up on its next sync from the store. Agent *state*
//! (login, pause) is `control`'s `POST /api/v1/agents/{agent}/{action}`,
//! not this file's. Changes are audited like the console's (actor: the
//! key's `apikey:NAME` or the user). Owns only request parsing and routes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};

use super::admin::{answer, authorize, created, json_body, Answer};
use super::caller::{audited, detail_of, AdminCaller};
use super::CoreApi;
use crate::admin::{AcdRequest, AgentInput, MemberInput, QueueInput, SkillInput};

/// Runs an ACD request after the `admin` check.
async fn run<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, req: AcdRequest) -> Answer {
    authorize(core, headers, uri).await?;
    answer(core.acd_admin(req).await)
}

/// Runs a change (the caller is checked already) and audits it.
async fn change<C: CoreApi>(core: &C, who: &super::caller::Caller, req: AcdRequest, (action, target, detail): (&str, &str, String)) -> Answer {
    let creates = matches!(req, AcdRequest::CreateQueue(_) | AcdRequest::CreateAgent(_));
    let r = core.acd_admin(req).await;
    let r = if creates { created(r) } else { answer(r) };
    audited(core, who, r, action, target, &detail).await
}

#[utoipa::path(
    get,
    path = "/api/v1/queues",
    tag = "queues",
    summary = "List queues",
    description = "Every queue with its settings and members, by name.",
    responses(
        (status = 200, description = "The queues.", body = crate::admin::QueueList),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list_queues<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::ListQueues).await
}

/// `POST /api/v1/queues`: 201 with the queue (its defaults filled in).
#[utoipa::path(
    post,
    path = "/api/v1/queues",
    tag = "queues",
    summary = "Create a queue",
    description = "Like `switchboard queue add`: `name` and `strategy` are required, other settings default. The `Location` header names the new queue.",
    request_body = crate::admin::QueueInput,
    responses(
        (status = 201, description = "Created: the queue with its defaults filled in.", body = crate::admin::QueueView),
        (status = 409, description = "A queue of that name exists.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create_queue<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let input: QueueInput = json_body(&headers, body).await?;
    let name = input.name.clone().unwrap_or_default();
    change(&*core, &who, AcdRequest::CreateQueue(input.clone()), ("queue.create", &name, detail_of(&input))).await
}

#[utoipa::path(
    get,
    path = "/api/v1/queues/{queue}",
    tag = "queues",
    summary = "Get a queue",
    params(("queue" = String, Path, description = "Queue name.")),
    responses(
        (status = 200, description = "The queue.", body = crate::admin::QueueView),
        (status = 404, description = "No such queue.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get_queue<C: CoreApi>(State(core): State<Arc<C>>, Path(queue): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::GetQueue(queue)).await
}

/// `PUT /api/v1/queues/{queue}`: like `queue set`, fields not given keep
/// their values.
#[utoipa::path(
    put,
    path = "/api/v1/queues/{queue}",
    tag = "queues",
    summary = "Change a queue",
    description = "Like `switchboard queue set`: the fields given change, the others keep their values; `name`, if given, must be the queue's.",
    params(("queue" = String, Path, description = "Queue name.")),
    request_body = crate::admin::QueueInput,
    responses(
        (status = 200, description = "The queue as changed.", body = crate::admin::QueueView),
        (status = 404, description = "No such queue.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn update_queue<C: CoreApi>(
    State(core): State<Arc<C>>,
    AdminCaller(who): AdminCaller,
    Path(queue): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let input: QueueInput = json_body(&headers, body).await?;
    let detail = detail_of(&input);
    change(&*core, &who, AcdRequest::UpdateQueue(queue.clone(), input), ("queue.update", &queue, detail)).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/queues/{queue}",
    tag = "queues",
    summary = "Remove a queue",
    description = "With its memberships; its pending callbacks fail.",
    params(("queue" = String, Path, description = "Queue name.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such queue.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete_queue<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(queue): Path<String>) -> Answer {
    change(&*core, &who, AcdRequest::DeleteQueue(queue.clone()), ("queue.delete", &queue, "with its memberships".into())).await
}

/// `POST /api/v1/queues/{queue}/members/{agent}` with an optional
/// `{"penalty": N}`: adds the member or changes its penalty; the queue back.
#[utoipa::path(
    post,
    path = "/api/v1/queues/{queue}/members/{agent}",
    tag = "queues",
    summary = "Add a member, or change its penalty",
    description = "The body may be empty (penalty 0).",
    params(("queue" = String, Path, description = "Queue name."), ("agent" = String, Path, description = "Agent id (login name).")),
    request_body(content = crate::admin::MemberInput, description = "`{}` or an empty body: penalty 0."),
    responses(
        (status = 200, description = "The queue with its members.", body = crate::admin::QueueView),
        (status = 404, description = "No such queue or agent.", body = super::openapi::ErrorBody),
        (status = 422, description = "`penalty` is out of range.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn set_member<C: CoreApi>(
    State(core): State<Arc<C>>,
    AdminCaller(who): AdminCaller,
    Path((queue, agent)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let input: MemberInput = json_body(&headers, body).await?;
    let detail = format!("agent {agent}, {}", detail_of(&input));
    change(&*core, &who, AcdRequest::SetMember { queue: queue.clone(), agent, input }, ("queue.member.set", &queue, detail)).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/queues/{queue}/members/{agent}",
    tag = "queues",
    summary = "Remove a member",
    params(("queue" = String, Path, description = "Queue name."), ("agent" = String, Path, description = "Agent id (login name).")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such queue, or the agent is not a member.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn remove_member<C: CoreApi>(
    State(core): State<Arc<C>>,
    AdminCaller(who): AdminCaller,
    Path((queue, agent)): Path<(String, String)>,
) -> Answer {
    let detail = format!("agent {agent}");
    change(&*core, &who, AcdRequest::RemoveMember { queue: queue.clone(), agent }, ("queue.member.remove", &queue, detail)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/agents",
    tag = "agent admin",
    summary = "List agents",
    description = "Every agent with their last stored state, queues and skills, by id.",
    responses(
        (status = 200, description = "The agents.", body = crate::admin::AgentList),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list_agents<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::ListAgents).await
}

/// `POST /api/v1/agents`: 201 with the (logged-out) agent.
#[utoipa::path(
    post,
    path = "/api/v1/agents",
    tag = "agent admin",
    summary = "Create an agent",
    description = "Like `switchboard agent add`: `id` and at least one extension are required. The agent starts logged out. The `Location` header names the new agent.",
    request_body = crate::admin::AgentInput,
    responses(
        (status = 201, description = "Created.", body = crate::admin::AgentView),
        (status = 409, description = "The id exists, or an extension belongs to another agent.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn create_agent<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, headers: HeaderMap, body: Body) -> Answer {
    let input: AgentInput = json_body(&headers, body).await?;
    let id = input.id.clone().unwrap_or_default();
    change(&*core, &who, AcdRequest::CreateAgent(input.clone()), ("agent.create", &id, detail_of(&input))).await
}

#[utoipa::path(
    get,
    path = "/api/v1/agents/{agent}",
    tag = "agent admin",
    summary = "Get an agent",
    params(("agent" = String, Path, description = "Agent id (login name).")),
    responses(
        (status = 200, description = "The agent.", body = crate::admin::AgentView),
        (status = 404, description = "No such agent.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn get_agent<C: CoreApi>(State(core): State<Arc<C>>, Path(agent): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::GetAgent(agent)).await
}

/// `PUT /api/v1/agents/{agent}`: name, extensions, no-answer limit; fields
/// not given keep their values.
#[utoipa::path(
    put,
    path = "/api/v1/agents/{agent}",
    tag = "agent admin",
    summary = "Change an agent",
    description = "Name, extensions (replaced whole), no-answer limit; the fields not given keep their values. State is changed with `POST /api/v1/agents/{agent}/{action}`.",
    params(("agent" = String, Path, description = "Agent id (login name).")),
    request_body = crate::admin::AgentInput,
    responses(
        (status = 200, description = "The agent as changed.", body = crate::admin::AgentView),
        (status = 404, description = "No such agent.", body = super::openapi::ErrorBody),
        (status = 409, description = "An extension belongs to another agent.", body = super::openapi::ErrorBody),
        (status = 422, description = "A value is invalid (`field` names it).", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn update_agent<C: CoreApi>(
    State(core): State<Arc<C>>,
    AdminCaller(who): AdminCaller,
    Path(agent): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let input: AgentInput = json_body(&headers, body).await?;
    let detail = detail_of(&input);
    change(&*core, &who, AcdRequest::UpdateAgent(agent.clone(), input), ("agent.update", &agent, detail)).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/agents/{agent}",
    tag = "agent admin",
    summary = "Remove an agent",
    description = "With their skills and queue memberships.",
    params(("agent" = String, Path, description = "Agent id (login name).")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such agent.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn delete_agent<C: CoreApi>(State(core): State<Arc<C>>, AdminCaller(who): AdminCaller, Path(agent): Path<String>) -> Answer {
    change(&*core, &who, AcdRequest::DeleteAgent(agent.clone()), ("agent.delete", &agent, "with its skills and memberships".into())).await
}

/// `PUT /api/v1/agents/{agent}/skills/{skill}` with `{"proficiency": 1-10}`;
/// the agent back.
#[utoipa::path(
    put,
    path = "/api/v1/agents/{agent}/skills/{skill}",
    tag = "agent admin",
    summary = "Give an agent a skill, or change its level",
    params(("agent" = String, Path, description = "Agent id (login name)."), ("skill" = String, Path, description = "Skill name (letters, digits, `.`, `-`, `_`).")),
    request_body = crate::admin::SkillInput,
    responses(
        (status = 200, description = "The agent with their skills.", body = crate::admin::AgentView),
        (status = 404, description = "No such agent.", body = super::openapi::ErrorBody),
        (status = 422, description = "`proficiency` is out of range or the skill name is invalid.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn set_skill<C: CoreApi>(
    State(core): State<Arc<C>>,
    AdminCaller(who): AdminCaller,
    Path((agent, skill)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let input: SkillInput = json_body(&headers, body).await?;
    let detail = format!("{skill} {}", detail_of(&input));
    change(&*core, &who, AcdRequest::SetSkill { agent: agent.clone(), skill, input }, ("agent.skill.set", &agent, detail)).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/agents/{agent}/skills/{skill}",
    tag = "agent admin",
    summary = "Take a skill from an agent",
    params(("agent" = String, Path, description = "Agent id (login name)."), ("skill" = String, Path, description = "Skill name (letters, digits, `.`, `-`, `_`).")),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No such agent, or the agent lacks the skill.", body = super::openapi::ErrorBody),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn remove_skill<C: CoreApi>(
    State(core): State<Arc<C>>,
    AdminCaller(who): AdminCaller,
    Path((agent, skill)): Path<(String, String)>,
) -> Answer {
    let detail = skill.clone();
    change(&*core, &who, AcdRequest::RemoveSkill { agent: agent.clone(), skill }, ("agent.skill.remove", &agent, detail)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/skills",
    tag = "agent admin",
    summary = "List skills",
    description = "Every skill some agent has, with who has it and how well.",
    responses(
        (status = 200, description = "The skills.", body = crate::admin::SkillList),
    ),
    extensions(("x-scope" = json!("admin"))),
)]
pub(super) async fn list_skills<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::ListSkills).await
}

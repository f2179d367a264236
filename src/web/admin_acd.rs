//! ACD configuration over HTTP, scope `admin`: `/api/v1/queues[/{queue}]`,
//! `/api/v1/queues/{queue}/members/{agent}`, `/api/v1/agents[/{agent}]`,
//! `/api/v1/agents/{agent}/skills/{skill}` and `/api/v1/skills`. The same
//! requests as `switchboard queue|agent …` (`crate::admin`); the running ACD
//! picks the changes up on its next sync from the store. Agent *state*
//! (login, pause) is `control`'s `POST /api/v1/agents/{agent}/{action}`,
//! not this file's. Owns only request parsing and routes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};

use super::admin::{answer, authorize, created, json_body, Answer};
use super::CoreApi;
use crate::admin::AcdRequest;

/// Runs an ACD request after the `admin` check.
async fn run<C: CoreApi>(core: &C, headers: &HeaderMap, uri: &Uri, req: AcdRequest) -> Answer {
    authorize(core, headers, uri).await?;
    answer(core.acd_admin(req).await)
}

pub(super) async fn list_queues<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::ListQueues).await
}

/// `POST /api/v1/queues`: 201 with the queue (its defaults filled in).
pub(super) async fn create_queue<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let input = json_body(&headers, body).await?;
    created(core.acd_admin(AcdRequest::CreateQueue(input)).await)
}

pub(super) async fn get_queue<C: CoreApi>(State(core): State<Arc<C>>, Path(queue): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::GetQueue(queue)).await
}

/// `PUT /api/v1/queues/{queue}`: like `queue set`, fields not given keep
/// their values.
pub(super) async fn update_queue<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path(queue): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let input = json_body(&headers, body).await?;
    answer(core.acd_admin(AcdRequest::UpdateQueue(queue, input)).await)
}

pub(super) async fn delete_queue<C: CoreApi>(State(core): State<Arc<C>>, Path(queue): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::DeleteQueue(queue)).await
}

/// `POST /api/v1/queues/{queue}/members/{agent}` with an optional
/// `{"penalty": N}`: adds the member or changes its penalty; the queue back.
pub(super) async fn set_member<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path((queue, agent)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let input = json_body(&headers, body).await?;
    answer(core.acd_admin(AcdRequest::SetMember { queue, agent, input }).await)
}

pub(super) async fn remove_member<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path((queue, agent)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::RemoveMember { queue, agent }).await
}

pub(super) async fn list_agents<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::ListAgents).await
}

/// `POST /api/v1/agents`: 201 with the (logged-out) agent.
pub(super) async fn create_agent<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri, body: Body) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let input = json_body(&headers, body).await?;
    created(core.acd_admin(AcdRequest::CreateAgent(input)).await)
}

pub(super) async fn get_agent<C: CoreApi>(State(core): State<Arc<C>>, Path(agent): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::GetAgent(agent)).await
}

/// `PUT /api/v1/agents/{agent}`: name, extensions, no-answer limit; fields
/// not given keep their values.
pub(super) async fn update_agent<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path(agent): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let input = json_body(&headers, body).await?;
    answer(core.acd_admin(AcdRequest::UpdateAgent(agent, input)).await)
}

pub(super) async fn delete_agent<C: CoreApi>(State(core): State<Arc<C>>, Path(agent): Path<String>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::DeleteAgent(agent)).await
}

/// `PUT /api/v1/agents/{agent}/skills/{skill}` with `{"proficiency": 1-10}`;
/// the agent back.
pub(super) async fn set_skill<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path((agent, skill)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Answer {
    authorize(&*core, &headers, &uri).await?;
    let input = json_body(&headers, body).await?;
    answer(core.acd_admin(AcdRequest::SetSkill { agent, skill, input }).await)
}

pub(super) async fn remove_skill<C: CoreApi>(
    State(core): State<Arc<C>>,
    Path((agent, skill)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::RemoveSkill { agent, skill }).await
}

pub(super) async fn list_skills<C: CoreApi>(State(core): State<Arc<C>>, headers: HeaderMap, uri: Uri) -> Answer {
    run(&*core, &headers, &uri, AcdRequest::ListSkills).await
}

//! Queues and their members: the JSON shapes, the partial update that
//! `queue add`/`queue set` and `POST`/`PUT /api/v1/queues` share, and the
//! store calls behind them. The syntax of each value is the store's
//! (`crate::store::validate_queue`); this file owns only what "given",
//! "not given" and "cleared" mean.

use serde::{Deserialize, Serialize};

use super::{cleared, nullable, AdminError};
use crate::store::{check_dtmf_key, format_skill_relax, parse_skill_relax, validate_queue, Member, Queue, Store, Strategy};

/// A queue as the API shows it. Field names are the stored settings' (so
/// times carry their unit); `null` means no limit / not set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueView {
    pub name: String,
    #[schema(schema_with = super::strategy_schema)]
    pub strategy: String,
    /// Seconds one offer rings an agent.
    pub ring_timeout_secs: i64,
    /// Seconds between unanswered offers.
    pub retry_delay_secs: i64,
    /// Seconds of wrap-up after each call.
    pub wrapup_secs: i64,
    /// Longest wait before overflow.
    pub max_wait_secs: Option<i64>,
    /// Callers allowed to wait at once.
    pub max_callers: Option<i64>,
    /// Whether callers are accepted while no agent is logged in.
    pub join_empty: bool,
    /// Whether waiting callers go to overflow when the last agent logs out.
    pub leave_when_empty: bool,
    /// Music-on-hold class for waiting callers.
    pub moh_class: String,
    /// 0 = no announcements.
    pub announce_every_secs: i64,
    /// Answer-time target of the service level.
    pub service_level_secs: i64,
    /// `queue:NAME`, `voicemail:BOX` or `context:NAME`.
    pub overflow: Option<String>,
    /// Relaxation steps as typed on the CLI, e.g. "30:1,60:2".
    pub skill_relax: Option<String>,
    /// The DTMF key that asks for a callback; null = callbacks off.
    pub callback_key: Option<String>,
    /// Dial attempts per callback.
    pub callback_attempts: i64,
    /// Seconds between callback attempts.
    pub callback_retry_secs: i64,
    /// Lowest penalty first.
    pub members: Vec<MemberView>,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberView {
    pub agent: String,
    pub penalty: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueList {
    pub queues: Vec<QueueView>,
}

/// What creating or changing a queue takes: every field of [`QueueView`]
/// but the read-only ones. A field not given keeps its value (its default
/// on creation). `max_wait_secs` and `max_callers` lift their limit with
/// null or 0; `overflow`, `skill_relax` and `callback_key` clear with
/// null, "" or "none". Creation needs `name` and `strategy`; a change may
/// repeat the name but not alter it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueInput {
    /// Letters, digits, `.`, `-`, `_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::strategy_schema)]
    pub strategy: Option<String>,
    /// Seconds one offer rings an agent (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_timeout_secs: Option<i64>,
    /// Seconds between unanswered offers (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_secs: Option<i64>,
    /// Seconds of wrap-up after each call (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapup_secs: Option<i64>,
    /// Longest wait before overflow; null or 0: no limit (the default).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub max_wait_secs: Option<Option<i64>>,
    /// Callers allowed to wait at once; null or 0: no limit (the default).
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub max_callers: Option<Option<i64>>,
    /// Accept callers while no agent is logged in (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_empty: Option<bool>,
    /// Send waiting callers to overflow when the last agent logs out (default
    /// true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave_when_empty: Option<bool>,
    /// Music-on-hold class for waiting callers (default "default").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moh_class: Option<String>,
    /// Seconds between position announcements; 0 = off (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce_every_secs: Option<i64>,
    /// Answer-time target of the service level (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level_secs: Option<i64>,
    /// Where callers go when the queue gives up: `queue:NAME`, `voicemail:BOX`,
    /// `context:NAME`, or none.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub overflow: Option<Option<String>>,
    /// Skill-minimum relaxation, e.g. "30:1,60:2" (after 30 s lower by 1, after
    /// 60 s by 2), or none.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub skill_relax: Option<Option<String>>,
    /// DTMF key a caller presses to be called back (0-9, `*`, `#`), or none.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub callback_key: Option<Option<String>>,
    /// Dial attempts per callback (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_attempts: Option<i64>,
    /// Seconds between callback attempts (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_retry_secs: Option<i64>,
}

/// Adding an agent to a queue, or changing its penalty (default 0; lower
/// is offered calls first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<i64>,
}

/// A cleared text (null, "" or "none") is `None`.
fn text(v: Option<String>) -> Option<String> {
    v.filter(|s| !cleared(s))
}

/// Applies the given fields of `i` to `q` (not its name) and checks the
/// result; the error names the field at fault.
pub fn apply_queue(q: &mut Queue, i: QueueInput) -> Result<(), AdminError> {
    if let Some(s) = i.strategy {
        q.strategy = s.parse::<Strategy>().map_err(AdminError::for_field("strategy"))?;
    }
    let set = |dst: &mut i64, v: Option<i64>| {
        if let Some(v) = v {
            *dst = v;
        }
    };
    set(&mut q.ring_timeout_secs, i.ring_timeout_secs);
    set(&mut q.retry_delay_secs, i.retry_delay_secs);
    set(&mut q.wrapup_secs, i.wrapup_secs);
    set(&mut q.announce_every_secs, i.announce_every_secs);
    set(&mut q.service_level_secs, i.service_level_secs);
    set(&mut q.callback_attempts, i.callback_attempts);
    set(&mut q.callback_retry_secs, i.callback_retry_secs);
    // 0 reads as "no limit" so `queue set --max-wait 0` can lift a limit again.
    if let Some(w) = i.max_wait_secs {
        q.max_wait_secs = w.filter(|w| *w != 0);
    }
    if let Some(c) = i.max_callers {
        q.max_callers = c.filter(|c| *c != 0);
    }
    if let Some(b) = i.join_empty {
        q.join_empty = b;
    }
    if let Some(b) = i.leave_when_empty {
        q.leave_when_empty = b;
    }
    if let Some(m) = i.moh_class {
        q.moh_class = m;
    }
    if let Some(d) = i.overflow {
        q.overflow = text(d).map(|d| d.parse()).transpose().map_err(AdminError::for_field("overflow"))?;
    }
    if let Some(r) = i.skill_relax {
        q.skill_relax = match text(r) {
            Some(r) => parse_skill_relax(&r).map_err(AdminError::for_field("skill_relax"))?,
            None => Vec::new(),
        };
    }
    if let Some(k) = i.callback_key {
        q.callback_key = match text(k) {
            None => None,
            Some(k) => {
                let mut chars = k.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        check_dtmf_key(c).map_err(AdminError::for_field("callback_key"))?;
                        Some(c)
                    }
                    _ => return Err(AdminError::invalid("callback_key", format!("callback key must be one key (0-9, * or #), got '{k}'"))),
                }
            }
        };
    }
    Ok(validate_queue(q)?)
}

fn view(q: Queue, members: Vec<Member>) -> QueueView {
    let relax = format_skill_relax(&q.skill_relax);
    QueueView {
        strategy: q.strategy.as_str().to_string(),
        ring_timeout_secs: q.ring_timeout_secs,
        retry_delay_secs: q.retry_delay_secs,
        wrapup_secs: q.wrapup_secs,
        max_wait_secs: q.max_wait_secs,
        max_callers: q.max_callers,
        join_empty: q.join_empty,
        leave_when_empty: q.leave_when_empty,
        moh_class: q.moh_class,
        announce_every_secs: q.announce_every_secs,
        service_level_secs: q.service_level_secs,
        overflow: q.overflow.map(|o| o.to_string()),
        skill_relax: (!relax.is_empty()).then_some(relax),
        callback_key: q.callback_key.map(String::from),
        callback_attempts: q.callback_attempts,
        callback_retry_secs: q.callback_retry_secs,
        members: members.into_iter().map(|m| MemberView { agent: m.agent, penalty: m.penalty }).collect(),
        created_at: q.created_at,
        name: q.name,
    }
}

pub async fn list_queues(store: &Store) -> Result<QueueList, AdminError> {
    let mut queues = Vec::new();
    for q in store.list_queues().await? {
        let members = store.members(&q.name).await?;
        queues.push(view(q, members));
    }
    Ok(QueueList { queues })
}

pub async fn get_queue(store: &Store, name: &str) -> Result<QueueView, AdminError> {
    let q = store.queue(name).await?.ok_or_else(|| AdminError::NotFound(format!("queue {name}")))?;
    // A member removed between the two reads just does not show.
    let members = store.members(name).await?;
    Ok(view(q, members))
}

/// `queue add`: the name and strategy are required.
pub async fn create_queue(store: &Store, mut i: QueueInput) -> Result<QueueView, AdminError> {
    let name = i.name.take().ok_or_else(|| AdminError::invalid("name", "a queue needs a name"))?;
    let strategy = i.strategy.take().ok_or_else(|| AdminError::invalid("strategy", "a queue needs a strategy"))?;
    let strategy = strategy.parse::<Strategy>().map_err(AdminError::for_field("strategy"))?;
    let mut q = Queue::new(&name, strategy);
    apply_queue(&mut q, i)?;
    store.add_queue(&q).await?;
    get_queue(store, &name).await
}

/// `queue set`: the given fields change, the others stay.
pub async fn update_queue(store: &Store, name: &str, mut i: QueueInput) -> Result<QueueView, AdminError> {
    if let Some(n) = i.name.take().filter(|n| n != name) {
        return Err(AdminError::invalid("name", format!("queue {name} cannot be renamed to {n} (remove it and add a new one)")));
    }
    let mut q = store.queue(name).await?.ok_or_else(|| AdminError::NotFound(format!("queue {name}")))?;
    apply_queue(&mut q, i)?;
    store.update_queue(&q).await?;
    get_queue(store, name).await
}

/// Removes the queue with its memberships; its pending callbacks fail.
pub async fn delete_queue(store: &Store, name: &str) -> Result<(), AdminError> {
    Ok(store.remove_queue(name).await?)
}

/// `queue member add`: adds the agent or changes its penalty.
pub async fn set_member(store: &Store, queue: &str, agent: &str, i: MemberInput) -> Result<QueueView, AdminError> {
    store.set_member(queue, agent, i.penalty.unwrap_or(0)).await.map_err(AdminError::for_field("penalty"))?;
    get_queue(store, queue).await
}

pub async fn remove_member(store: &Store, queue: &str, agent: &str) -> Result<(), AdminError> {
    Ok(store.remove_member(queue, agent).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Overflow;

    fn field(r: Result<(), AdminError>) -> &'static str {
        match r {
            Err(AdminError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn absent_keeps_null_zero_and_none_clear() {
        let mut q = Queue { max_wait_secs: Some(60), max_callers: Some(5), overflow: Some(Overflow::Voicemail("1".into())), callback_key: Some('1'), ..Queue::new("q", Strategy::Linear) };
        q.skill_relax = parse_skill_relax("30:1").unwrap();
        let before = q.clone();
        apply_queue(&mut q, QueueInput::default()).unwrap();
        assert_eq!(q, before, "nothing given, nothing changed");

        let json = r#"{"max_wait_secs": null, "max_callers": 0, "overflow": "none", "skill_relax": null, "callback_key": "", "join_empty": true}"#;
        apply_queue(&mut q, serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!((q.max_wait_secs, q.max_callers, q.overflow.clone(), q.skill_relax.len(), q.callback_key), (None, None, None, 0, None));
        assert!(q.join_empty);
        assert_eq!((q.strategy, q.wrapup_secs), (Strategy::Linear, 10), "untouched");

        let json = r#"{"strategy": "skills", "max_wait_secs": 600, "overflow": "queue:other", "skill_relax": "30:1,60:2", "callback_key": "*"}"#;
        apply_queue(&mut q, serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!((q.strategy, q.max_wait_secs, q.callback_key), (Strategy::Skills, Some(600), Some('*')));
        assert_eq!(q.overflow, Some(Overflow::Queue("other".into())));
    }

    #[test]
    fn errors_name_the_field() {
        let q = || Queue::new("q", Strategy::RingAll);
        let try_json = |json: &str| apply_queue(&mut q(), serde_json::from_str(json).unwrap());
        assert_eq!(field(try_json(r#"{"strategy": "fifo"}"#)), "strategy");
        assert_eq!(field(try_json(r#"{"ring_timeout_secs": 0}"#)), "ring_timeout_secs");
        assert_eq!(field(try_json(r#"{"max_callers": -1}"#)), "max_callers");
        assert_eq!(field(try_json(r#"{"overflow": "dial:1"}"#)), "overflow");
        assert_eq!(field(try_json(r#"{"overflow": "queue:q"}"#)), "overflow");
        assert_eq!(field(try_json(r#"{"skill_relax": "60:1,30:2"}"#)), "skill_relax");
        assert_eq!(field(try_json(r#"{"callback_key": "12"}"#)), "callback_key");
        assert_eq!(field(try_json(r#"{"callback_key": "A"}"#)), "callback_key");
        assert_eq!(field(try_json(r#"{"moh_class": ""}"#)), "moh_class");
        let e = serde_json::from_str::<QueueInput>(r#"{"ringtimeout": 5}"#).unwrap_err().to_string();
        assert!(e.contains("unknown field `ringtimeout`"), "{e}");
    }

    #[tokio::test]
    async fn create_update_members_and_errors() {
        let (_d, store) = crate::store::test_store().await;
        let missing = create_queue(&store, QueueInput { name: Some("s".into()), ..QueueInput::default() }).await;
        assert!(matches!(missing, Err(AdminError::Invalid { field: "strategy", .. })), "{missing:?}");
        let input = QueueInput { name: Some("sales".into()), strategy: Some("round_robin".into()), wrapup_secs: Some(30), ..QueueInput::default() };
        let v = create_queue(&store, input.clone()).await.unwrap();
        assert_eq!((v.strategy.as_str(), v.wrapup_secs, v.ring_timeout_secs, v.max_wait_secs), ("round_robin", 30, 20, None));
        assert!(matches!(create_queue(&store, input).await, Err(AdminError::Conflict(m)) if m == "queue sales already exists"));

        let v = update_queue(&store, "sales", QueueInput { name: Some("sales".into()), max_callers: Some(Some(3)), ..QueueInput::default() }).await.unwrap();
        assert_eq!((v.max_callers, v.wrapup_secs), (Some(3), 30));
        let renamed = update_queue(&store, "sales", QueueInput { name: Some("other".into()), ..QueueInput::default() }).await;
        assert!(matches!(renamed, Err(AdminError::Invalid { field: "name", .. })), "{renamed:?}");
        assert!(matches!(update_queue(&store, "nope", QueueInput::default()).await, Err(AdminError::NotFound(_))));

        store.add_agent(&crate::store::Agent::new("alice")).await.unwrap();
        let v = set_member(&store, "sales", "alice", MemberInput { penalty: Some(2) }).await.unwrap();
        assert_eq!(v.members, [MemberView { agent: "alice".into(), penalty: 2 }]);
        let bad = set_member(&store, "sales", "alice", MemberInput { penalty: Some(1001) }).await;
        assert!(matches!(bad, Err(AdminError::Invalid { field: "penalty", .. })), "{bad:?}");
        assert!(matches!(set_member(&store, "sales", "bob", MemberInput::default()).await, Err(AdminError::NotFound(m)) if m == "agent bob"));
        remove_member(&store, "sales", "alice").await.unwrap();
        assert!(matches!(remove_member(&store, "sales", "alice").await, Err(AdminError::NotFound(_))));
        assert_eq!(list_queues(&store).await.unwrap().queues.len(), 1);
        delete_queue(&store, "sales").await.unwrap();
        assert!(matches!(get_queue(&store, "sales").await, Err(AdminError::NotFound(_))));
    }
}

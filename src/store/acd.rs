//! ACD persistence: agents and their skills, queues and their members, the
//! queue event log and callback requests (the tables of migration 0009).
//! Owns that SQL and the syntax of what is stored (names, overflow
//! destinations, skill relaxation steps), so the admin CLI and the running
//! ACD share one validation. Must not route calls, pick agents or keep
//! timers: that is `crate::acd`, which only reads and writes rows here.

use std::fmt;
use std::str::FromStr;

use super::{map_unique, unix_now, InvalidField, Store, StoreError};

// ---------------------------------------------------------------- enums ---

/// Where an agent is, as the ACD last persisted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum AgentState {
    /// Not taking calls (the state of a new agent).
    #[default]
    LoggedOut,
    Available,
    /// Logged in but not taking calls; see `Agent::pause_reason`.
    Paused,
    OnCall,
    /// After a call, for the queue's `wrapup_secs`.
    WrapUp,
    /// A queue call is being offered to the agent's phones.
    Ringing,
    /// Taken out by the ACD (e.g. `no_answer_limit` offers unanswered).
    Unavailable,
}

impl AgentState {
    pub const ALL: [AgentState; 7] = [
        AgentState::LoggedOut,
        AgentState::Available,
        AgentState::Paused,
        AgentState::OnCall,
        AgentState::WrapUp,
        AgentState::Ringing,
        AgentState::Unavailable,
    ];

    /// The text stored in `agents.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Available => "available",
            AgentState::Paused => "paused",
            AgentState::OnCall => "on_call",
            AgentState::WrapUp => "wrap_up",
            AgentState::Ringing => "ringing",
            AgentState::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<AgentState, StoreError> {
        AgentState::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("unknown agent state '{s}' (one of {})", names(&AgentState::ALL))))
    }
}

/// How a queue picks the agent(s) to offer a call to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Strategy {
    /// Every free member at once; the first to answer takes it.
    #[default]
    RingAll,
    /// The free member idle the longest.
    LongestIdle,
    /// Members in turn, starting after the one offered last.
    RoundRobin,
    /// The free member who took the fewest calls.
    FewestCalls,
    Random,
    /// Members in a fixed order (penalty, then name), always from the first.
    Linear,
    /// The best-skilled free member, with minimums relaxed over time (`skill_relax`).
    Skills,
}

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::RingAll,
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::FewestCalls,
        Strategy::Random,
        Strategy::Linear,
        Strategy::Skills,
    ];

    /// The text stored in `queues.strategy` and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RingAll => "ring_all",
            Strategy::LongestIdle => "longest_idle",
            Strategy::RoundRobin => "round_robin",
            Strategy::FewestCalls => "fewest_calls",
            Strategy::Random => "random",
            Strategy::Linear => "linear",
            Strategy::Skills => "skills",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Strategy, StoreError> {
        Strategy::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("unknown strategy '{s}' (one of {})", names(&Strategy::ALL))))
    }
}

/// Progress of a callback request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CallbackState {
    /// Holding its place in the queue.
    #[default]
    Waiting,
    /// Being dialled (an attempt is in progress).
    Dialing,
    /// Connected to an agent.
    Done,
    /// Out of attempts, or its queue was removed.
    Failed,
}

impl CallbackState {
    pub const ALL: [CallbackState; 4] = [CallbackState::Waiting, CallbackState::Dialing, CallbackState::Done, CallbackState::Failed];

    /// The text stored in `callbacks.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Waiting => "waiting",
            CallbackState::Dialing => "dialing",
            CallbackState::Done => "done",
            CallbackState::Failed => "failed",
        }
    }

    /// Done and failed requests are history; the others are pending.
    pub fn is_finished(self) -> bool {
        matches!(self, CallbackState::Done | CallbackState::Failed)
    }
}

impl fmt::Display for CallbackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CallbackState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<CallbackState, StoreError> {
        CallbackState::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("unknown callback state '{s}' (one of {})", names(&CallbackState::ALL))))
    }
}

fn names<T: fmt::Display>(all: &[T]) -> String {
    all.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Where a queue sends callers it gives up on (max wait, max callers, or no
/// agents): `queue:NAME`, `voicemail:BOX` or `context:NAME` (a dialplan context).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Overflow {
    Queue(String),
    Voicemail(String),
    Context(String),
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Overflow::Queue(n) => write!(f, "queue:{n}"),
            Overflow::Voicemail(b) => write!(f, "voicemail:{b}"),
            Overflow::Context(c) => write!(f, "context:{c}"),
        }
    }
}

impl FromStr for Overflow {
    type Err = StoreError;
    /// Checks syntax only: the target may be created later, and a dialplan
    /// context is only known to the running appliance.
    fn from_str(s: &str) -> Result<Overflow, StoreError> {
        let bad = |why: &str| StoreError::Invalid(format!("overflow '{s}': {why}"));
        let (kind, target) = s.split_once(':').ok_or_else(|| bad("expected queue:NAME, voicemail:BOX or context:NAME"))?;
        match kind {
            "queue" => {
                check_queue_name(target).map_err(|_| bad("queue name must be 1 to 32 letters, digits, '-' or '_'"))?;
                Ok(Overflow::Queue(target.to_string()))
            }
            "voicemail" => {
                if !is_digits(target, 20) {
                    return Err(bad("mailbox must be 1 to 20 digits"));
                }
                Ok(Overflow::Voicemail(target.to_string()))
            }
            "context" => {
                let ok = !target.is_empty()
                    && target.len() <= 64
                    && target.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
                if !ok {
                    return Err(bad("context must be 1 to 64 letters, digits, '_', '-' or '.'"));
                }
                Ok(Overflow::Context(target.to_string()))
            }
            _ => Err(bad("expected queue:NAME, voicemail:BOX or context:NAME")),
        }
    }
}

/// One step of skill relaxation: once a caller has waited `after_secs`,
/// every skill minimum of the queue is lowered by `lower_by` (not
/// cumulative with earlier steps: the latest step reached applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SkillRelax {
    pub after_secs: i64,
    pub lower_by: i64,
}

/// Parses "30:1,60:2" (empty = no relaxation). Steps must grow in both
/// time and amount, or a later step would be shadowed or undo an earlier one.
pub fn parse_skill_relax(s: &str) -> Result<Vec<SkillRelax>, StoreError> {
    let bad = |why: String| StoreError::Invalid(format!("skill relax '{s}': {why}"));
    let mut out: Vec<SkillRelax> = Vec::new();
    if s.trim().is_empty() {
        return Ok(out);
    }
    for item in s.split(',') {
        let item = item.trim();
        let (secs, by) = item.split_once(':').ok_or_else(|| bad(format!("'{item}' is not SECS:LEVELS")))?;
        let after_secs: i64 = secs.trim().parse().map_err(|_| bad(format!("'{secs}' is not a number of seconds")))?;
        let lower_by: i64 = by.trim().parse().map_err(|_| bad(format!("'{by}' is not a number of levels")))?;
        if !(1..=86_400).contains(&after_secs) {
            return Err(bad(format!("{after_secs} s must be 1 to 86400")));
        }
        if !(1..=9).contains(&lower_by) {
            return Err(bad(format!("lowering by {lower_by} must be 1 to 9 levels")));
        }
        if let Some(prev) = out.last() {
            if after_secs <= prev.after_secs || lower_by <= prev.lower_by {
                return Err(bad("steps must increase in both seconds and levels".into()));
            }
        }
        out.push(SkillRelax { after_secs, lower_by });
    }
    Ok(out)
}

/// The stored form of [`parse_skill_relax`]'s input.
pub fn format_skill_relax(steps: &[SkillRelax]) -> String {
    steps.iter().map(|s| format!("{}:{}", s.after_secs, s.lower_by)).collect::<Vec<_>>().join(",")
}

// ------------------------------------------------------------ validation ---

fn is_digits(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_name(s: &str, extra: &[u8]) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Queue names: 1 to 32 letters, digits, '-' or '_' (they appear in
/// dialplans and in `queue:NAME` overflow targets).
pub fn check_queue_name(name: &str) -> Result<(), StoreError> {
    if !is_name(name, b"-_") {
        return Err(StoreError::Invalid(format!("queue name must be 1 to 32 letters, digits, '-' or '_', got '{name}'")));
    }
    Ok(())
}

/// Agent ids (login names): 1 to 32 letters, digits, '.', '-' or '_'.
pub fn check_agent_id(id: &str) -> Result<(), StoreError> {
    if !is_name(id, b".-_") {
        return Err(StoreError::Invalid(format!("agent id must be 1 to 32 letters, digits, '.', '-' or '_', got '{id}'")));
    }
    Ok(())
}

/// Skill names: 1 to 32 letters, digits, '-' or '_'.
pub fn check_skill_name(skill: &str) -> Result<(), StoreError> {
    if !is_name(skill, b"-_") {
        return Err(StoreError::Invalid(format!("skill must be 1 to 32 letters, digits, '-' or '_', got '{skill}'")));
    }
    Ok(())
}

fn check_range(what: &str, v: i64, lo: i64, hi: i64) -> Result<(), StoreError> {
    if !(lo..=hi).contains(&v) {
        return Err(StoreError::Invalid(format!("{what} must be {lo} to {hi}, got {v}")));
    }
    Ok(())
}

/// Checks an agent's settings; the error names the field at fault.
pub fn validate_agent(a: &Agent) -> Result<(), InvalidField> {
    check_agent_id(&a.id).map_err(InvalidField::tag("id"))?;
    let bad = |field: &'static str, message: String| InvalidField { field, message };
    if a.name.chars().count() > 64 {
        return Err(bad("name", "agent name must be at most 64 characters".into()));
    }
    for (i, e) in a.extensions.iter().enumerate() {
        if !is_digits(e, 20) {
            return Err(bad("extensions", format!("extension must be 1 to 20 digits, got '{e}'")));
        }
        if a.extensions[..i].contains(e) {
            return Err(bad("extensions", format!("extension {e} listed twice")));
        }
    }
    check_range("no-answer limit", a.no_answer_limit, 0, 100).map_err(InvalidField::tag("no_answer_limit"))
}

/// Checks every setting of a queue; the error names the field at fault.
pub fn validate_queue(q: &Queue) -> Result<(), InvalidField> {
    let t = InvalidField::tag;
    check_queue_name(&q.name).map_err(t("name"))?;
    check_range("ring timeout", q.ring_timeout_secs, 1, 600).map_err(t("ring_timeout_secs"))?;
    check_range("retry delay", q.retry_delay_secs, 0, 3600).map_err(t("retry_delay_secs"))?;
    check_range("wrap-up time", q.wrapup_secs, 0, 3600).map_err(t("wrapup_secs"))?;
    if let Some(w) = q.max_wait_secs {
        check_range("max wait", w, 1, 86_400).map_err(t("max_wait_secs"))?;
    }
    if let Some(c) = q.max_callers {
        check_range("max callers", c, 1, 100_000).map_err(t("max_callers"))?;
    }
    if !is_name(&q.moh_class, b"-_") {
        return Err(InvalidField {
            field: "moh_class",
            message: format!("music-on-hold class must be 1 to 32 letters, digits, '-' or '_', got '{}'", q.moh_class),
        });
    }
    check_range("announce interval", q.announce_every_secs, 0, 3600).map_err(t("announce_every_secs"))?;
    check_range("service level", q.service_level_secs, 1, 3600).map_err(t("service_level_secs"))?;
    if q.overflow == Some(Overflow::Queue(q.name.clone())) {
        return Err(InvalidField { field: "overflow", message: format!("queue {} cannot overflow to itself", q.name) });
    }
    // Re-parse the formatted steps: a hand-built Vec gets the same checks as typed text.
    parse_skill_relax(&format_skill_relax(&q.skill_relax)).map_err(t("skill_relax"))?;
    if let Some(k) = q.callback_key {
        check_dtmf_key(k).map_err(t("callback_key"))?;
    }
    check_range("callback attempts", q.callback_attempts, 1, 20).map_err(t("callback_attempts"))?;
    check_range("callback retry", q.callback_retry_secs, 1, 86_400).map_err(t("callback_retry_secs"))
}

/// A key callers can press: 0-9, '*' or '#' (A-D are not on phones).
pub fn check_dtmf_key(k: char) -> Result<(), StoreError> {
    if !(k.is_ascii_digit() || k == '*' || k == '#') {
        return Err(StoreError::Invalid(format!("callback key must be one of 0-9, * or #, got '{k}'")));
    }
    Ok(())
}

// ----------------------------------------------------------------- rows ---

/// An agent as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Agent {
    /// Login name, e.g. "alice".
    pub id: String,
    pub name: String,
    /// Extension numbers the agent's phones register as; an extension
    /// belongs to at most one agent.
    pub extensions: Vec<String>,
    pub state: AgentState,
    /// Why the agent is paused (or made unavailable); `None` if not given.
    pub pause_reason: Option<String>,
    /// When `state` was entered, unix ms.
    pub state_since: i64,
    /// Unanswered offers in a row after which the ACD makes the agent
    /// unavailable; 0 = never.
    pub no_answer_limit: i64,
    /// Unix seconds; ignored by add/update.
    pub created_at: i64,
}

impl Agent {
    /// A logged-out agent with the migration's defaults.
    pub fn new(id: &str) -> Agent {
        Agent { id: id.to_string(), no_answer_limit: 3, ..Agent::default() }
    }
}

/// One skill of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct AgentSkill {
    pub agent: String,
    pub skill: String,
    /// 1 (novice) to 10 (expert).
    pub proficiency: i64,
}

/// A queue's configuration as stored. `Default` is the migration's defaults
/// with an empty name and `ring_all`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    pub strategy: Strategy,
    /// How long one offer rings an agent.
    pub ring_timeout_secs: i64,
    /// Pause between unanswered offers.
    pub retry_delay_secs: i64,
    /// Wrap-up time after each call before the agent gets the next one.
    pub wrapup_secs: i64,
    /// Longest wait before overflow; `None` = no limit.
    pub max_wait_secs: Option<i64>,
    /// Callers allowed to wait at once; `None` = no limit.
    pub max_callers: Option<i64>,
    /// Accept callers when no member is logged in.
    pub join_empty: bool,
    /// Send waiting callers to overflow when the last member logs out.
    pub leave_when_empty: bool,
    /// Music-on-hold class callers hear while waiting.
    pub moh_class: String,
    /// Position/wait announcement interval; 0 = off.
    pub announce_every_secs: i64,
    /// Answer-time target for the service-level figure.
    pub service_level_secs: i64,
    /// Where callers go when the queue gives up on them; `None` = hang up.
    pub overflow: Option<Overflow>,
    /// Skill-minimum relaxation steps (`skills` strategy), in time order.
    pub skill_relax: Vec<SkillRelax>,
    /// DTMF key that requests a callback; `None` = callbacks off.
    pub callback_key: Option<char>,
    /// Dial attempts per callback request.
    pub callback_attempts: i64,
    /// Pause between callback attempts.
    pub callback_retry_secs: i64,
    /// Unix seconds; ignored by add/update.
    pub created_at: i64,
}

impl Default for Queue {
    fn default() -> Queue {
        Queue {
            name: String::new(),
            strategy: Strategy::RingAll,
            ring_timeout_secs: 20,
            retry_delay_secs: 5,
            wrapup_secs: 10,
            max_wait_secs: None,
            max_callers: None,
            join_empty: false,
            leave_when_empty: true,
            moh_class: "default".into(),
            announce_every_secs: 30,
            service_level_secs: 20,
            overflow: None,
            skill_relax: Vec::new(),
            callback_key: None,
            callback_attempts: 3,
            callback_retry_secs: 120,
            created_at: 0,
        }
    }
}

impl Queue {
    /// A queue with the migration's defaults.
    pub fn new(name: &str, strategy: Strategy) -> Queue {
        Queue { name: name.to_string(), strategy, ..Queue::default() }
    }
}

/// An agent's membership in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct Member {
    pub queue: String,
    pub agent: String,
    /// Lower is offered first; members with a higher penalty get calls only
    /// when no lower-penalty member is free.
    pub penalty: i64,
}

/// One queue event (joined, offered, answered, abandoned, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct QueueLogEntry {
    /// Assigned on append; ignored by `append_queue_log`.
    pub id: i64,
    /// Unix ms.
    pub at_ms: i64,
    pub queue: String,
    pub call_id: String,
    pub agent: Option<String>,
    /// Event name, e.g. "join", "answer", "abandon"; chosen by the ACD.
    pub event: String,
    /// A JSON document, or empty.
    pub data: String,
}

/// A callback request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Callback {
    /// Assigned on insert; ignored by `insert_callback`.
    pub id: i64,
    pub queue: String,
    /// Number to dial back (normalized on insert: digits, optional leading '+').
    pub number: String,
    /// Caller name, if known.
    pub name: String,
    /// The call that asked for it.
    pub call_id: String,
    pub priority: i64,
    /// When the original call joined the queue, unix ms: its place in line.
    pub joined_at_ms: i64,
    /// When the caller asked for the callback, unix ms.
    pub requested_at_ms: i64,
    pub state: CallbackState,
    /// Dial attempts made so far.
    pub attempts: i64,
    pub last_attempt_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    /// The agent who took (or is taking) it.
    pub agent: Option<String>,
    /// The customer's message (web requests).
    pub note: String,
    /// Where it was asked for: `phone` (the queue's callback key) or `web`
    /// (the contact form).
    pub source: String,
}

// ------------------------------------------------------------ row codecs ---

#[derive(sqlx::FromRow)]
struct AgentRow {
    id: String,
    name: String,
    extensions: String,
    state: String,
    pause_reason: Option<String>,
    state_since: i64,
    no_answer_limit: i64,
    created_at: i64,
}

const AGENT_COLUMNS: &str = "id, name, extensions, state, pause_reason, state_since, no_answer_limit, created_at";

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|m| !m.is_empty()).map(String::from).collect()
}

impl From<AgentRow> for Agent {
    fn from(r: AgentRow) -> Agent {
        Agent {
            id: r.id,
            name: r.name,
            extensions: split_list(&r.extensions),
            // The CHECK constraint allows nothing else; a hand edit reads as logged out.
            state: r.state.parse().unwrap_or_default(),
            pause_reason: r.pause_reason,
            state_since: r.state_since,
            no_answer_limit: r.no_answer_limit,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct QueueRow {
    name: String,
    strategy: String,
    ring_timeout_secs: i64,
    retry_delay_secs: i64,
    wrapup_secs: i64,
    max_wait_secs: Option<i64>,
    max_callers: Option<i64>,
    join_empty: bool,
    leave_when_empty: bool,
    moh_class: String,
    announce_every_secs: i64,
    service_level_secs: i64,
    overflow: Option<String>,
    skill_relax: String,
    callback_key: String,
    callback_attempts: i64,
    callback_retry_secs: i64,
    created_at: i64,
}

const QUEUE_COLUMNS: &str = "name, strategy, ring_timeout_secs, retry_delay_secs, wrapup_secs, max_wait_secs, max_callers, \
     join_empty, leave_when_empty, moh_class, announce_every_secs, service_level_secs, overflow, skill_relax, \
     callback_key, callback_attempts, callback_retry_secs, created_at";

impl From<QueueRow> for Queue {
    /// Values that no longer parse (a hand edit) read leniently: a queue
    /// must stay loadable so that it can be fixed with `queue set`.
    fn from(r: QueueRow) -> Queue {
        Queue {
            name: r.name,
            strategy: r.strategy.parse().unwrap_or_default(),
            ring_timeout_secs: r.ring_timeout_secs,
            retry_delay_secs: r.retry_delay_secs,
            wrapup_secs: r.wrapup_secs,
            max_wait_secs: r.max_wait_secs,
            max_callers: r.max_callers,
            join_empty: r.join_empty,
            leave_when_empty: r.leave_when_empty,
            moh_class: r.moh_class,
            announce_every_secs: r.announce_every_secs,
            service_level_secs: r.service_level_secs,
            overflow: r.overflow.and_then(|o| o.parse().ok()),
            skill_relax: parse_skill_relax(&r.skill_relax).unwrap_or_default(),
            callback_key: r.callback_key.chars().next(),
            callback_attempts: r.callback_attempts,
            callback_retry_secs: r.callback_retry_secs,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CallbackRow {
    id: i64,
    queue: String,
    number: String,
    name: String,
    call_id: String,
    priority: i64,
    joined_at_ms: i64,
    requested_at_ms: i64,
    state: String,
    attempts: i64,
    last_attempt_at_ms: Option<i64>,
    finished_at_ms: Option<i64>,
    agent: Option<String>,
    note: String,
    source: String,
}

const CALLBACK_COLUMNS: &str = "id, queue, number, name, call_id, priority, joined_at_ms, requested_at_ms, state, attempts, \
     last_attempt_at_ms, finished_at_ms, agent, note, source";

impl From<CallbackRow> for Callback {
    fn from(r: CallbackRow) -> Callback {
        Callback {
            id: r.id,
            queue: r.queue,
            number: r.number,
            name: r.name,
            call_id: r.call_id,
            priority: r.priority,
            joined_at_ms: r.joined_at_ms,
            requested_at_ms: r.requested_at_ms,
            // A hand-edited state reads as failed: it is never dialled.
            state: r.state.parse().unwrap_or(CallbackState::Failed),
            attempts: r.attempts,
            last_attempt_at_ms: r.last_attempt_at_ms,
            finished_at_ms: r.finished_at_ms,
            agent: r.agent,
            note: r.note,
            source: r.source,
        }
    }
}

/// The agent (other than `except`) already claiming one of `extensions`.
async fn extension_owner(
    conn: &mut sqlx::SqliteConnection,
    extensions: &[String],
    except: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, extensions FROM agents WHERE id <> ?").bind(except).fetch_all(&mut *conn).await?;
    for (id, list) in rows {
        if let Some(e) = split_list(&list).into_iter().find(|e| extensions.contains(e)) {
            return Ok(Some((e, id)));
        }
    }
    Ok(None)
}

fn owner_err((ext, id): (String, String)) -> StoreError {
    StoreError::Conflict(format!("extension {ext} already belongs to agent {id}"))
}

impl Store {
    // ------------------------------------------------------------ agents ---

    /// Adds an agent in the state it carries (normally logged out).
    /// `Exists` if the id is taken; `Invalid` if an extension belongs to
    /// another agent (the ACD must know whose phone is ringing).
    pub async fn add_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        validate_agent(agent)?;
        let mut tx = self.writer.begin().await?;
        if let Some(owner) = extension_owner(&mut tx, &agent.extensions, &agent.id).await? {
            return Err(owner_err(owner));
        }
        sqlx::query(
            "INSERT INTO agents (id, name, extensions, state, pause_reason, state_since, no_answer_limit, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&agent.id)
        .bind(&agent.name)
        .bind(agent.extensions.join(","))
        .bind(agent.state.as_str())
        .bind(&agent.pause_reason)
        .bind(agent.state_since)
        .bind(agent.no_answer_limit)
        .bind(unix_now())
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &format!("agent {}", agent.id)))?;
        tx.commit().await?;
        Ok(())
    }

    /// Updates name, extensions and no-answer limit; state is the ACD's
    /// (see [`Store::set_agent_state`]).
    pub async fn update_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        validate_agent(agent)?;
        let mut tx = self.writer.begin().await?;
        if let Some(owner) = extension_owner(&mut tx, &agent.extensions, &agent.id).await? {
            return Err(owner_err(owner));
        }
        let done = sqlx::query("UPDATE agents SET name = ?, extensions = ?, no_answer_limit = ? WHERE id = ?")
            .bind(&agent.name)
            .bind(agent.extensions.join(","))
            .bind(agent.no_answer_limit)
            .bind(&agent.id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agent {}", agent.id)));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Persists the state the running ACD moved the agent to, so a restart
    /// resumes it. `reason` is kept as given (a pause reason, or why the
    /// ACD made the agent unavailable).
    pub async fn set_agent_state(&self, id: &str, state: AgentState, reason: Option<&str>, since_ms: i64) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE agents SET state = ?, pause_reason = ?, state_since = ? WHERE id = ?")
            .bind(state.as_str())
            .bind(reason)
            .bind(since_ms)
            .bind(id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agent {id}")));
        }
        Ok(())
    }

    pub async fn agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        let row: Option<AgentRow> = sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Agent::from))
    }

    /// All agents by id.
    pub async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        let rows: Vec<AgentRow> =
            sqlx::query_as(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY id")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Agent::from).collect())
    }

    /// The agent whose phones include `extension`, if any.
    pub async fn agent_by_extension(&self, extension: &str) -> Result<Option<Agent>, StoreError> {
        // The list is a comma separated column (no index); agents are few.
        Ok(self.list_agents().await?.into_iter().find(|a| a.extensions.iter().any(|e| e == extension)))
    }

    /// Removes the agent with its skills and queue memberships (log and
    /// callback rows naming it stay as history).
    pub async fn remove_agent(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM agents WHERE id = ?").bind(id).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agent {id}")));
        }
        Ok(())
    }

    // ------------------------------------------------------------ skills ---

    /// Adds or changes a skill (proficiency 1 to 10).
    pub async fn set_skill(&self, agent: &str, skill: &str, proficiency: i64) -> Result<(), StoreError> {
        check_skill_name(skill)?;
        check_range("skill level", proficiency, 1, 10)?;
        sqlx::query(
            "INSERT INTO agent_skills (agent, skill, proficiency) VALUES (?, ?, ?) \
             ON CONFLICT (agent, skill) DO UPDATE SET proficiency = excluded.proficiency",
        )
        .bind(agent)
        .bind(skill)
        .bind(proficiency)
        .execute(&self.writer)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound(format!("agent {agent}")),
            _ => StoreError::Query(e),
        })?;
        Ok(())
    }

    pub async fn remove_skill(&self, agent: &str, skill: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("DELETE FROM agent_skills WHERE agent = ? AND skill = ?").bind(agent).bind(skill).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("skill {skill} of agent {agent}")));
        }
        Ok(())
    }

    /// An agent's skills by name.
    pub async fn skills(&self, agent: &str) -> Result<Vec<AgentSkill>, StoreError> {
        Ok(sqlx::query_as("SELECT agent, skill, proficiency FROM agent_skills WHERE agent = ? ORDER BY skill")
            .bind(agent)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every agent's skills, by skill then agent: the skills in use.
    pub async fn all_skills(&self) -> Result<Vec<AgentSkill>, StoreError> {
        Ok(sqlx::query_as("SELECT agent, skill, proficiency FROM agent_skills ORDER BY skill, agent").fetch_all(&self.pool).await?)
    }

    // ------------------------------------------------------------ queues ---

    /// Adds a queue; `Exists` if the name is taken.
    pub async fn add_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        self.write_queue(queue, "").await.map_err(|e| match e {
            StoreError::Query(e) => map_unique(e, &format!("queue {}", queue.name)),
            other => other,
        })
    }

    /// Updates every setting of an existing queue; `NotFound` if there is none.
    pub async fn update_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        validate_queue(queue)?;
        let sql = format!(
            "UPDATE queues SET {} WHERE name = ?",
            QUEUE_SETTERS.iter().map(|c| format!("{c} = ?")).collect::<Vec<_>>().join(", ")
        );
        let done = bind_queue(sqlx::query(&sql), queue).bind(&queue.name).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("queue {}", queue.name)));
        }
        Ok(())
    }

    /// Adds the queue or replaces its settings (keeping its creation time
    /// and members).
    pub async fn upsert_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        let update = QUEUE_SETTERS.iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
        self.write_queue(queue, &format!(" ON CONFLICT (name) DO UPDATE SET {update}")).await
    }

    async fn write_queue(&self, queue: &Queue, on_conflict: &str) -> Result<(), StoreError> {
        validate_queue(queue)?;
        let sql = format!(
            "INSERT INTO queues (name, {}, created_at) VALUES (?, {}, ?){on_conflict}",
            QUEUE_SETTERS.join(", "),
            vec!["?"; QUEUE_SETTERS.len()].join(", ")
        );
        let q = bind_queue(sqlx::query(&sql).bind(&queue.name), queue).bind(unix_now());
        q.execute(&self.writer).await?;
        Ok(())
    }

    pub async fn queue(&self, name: &str) -> Result<Option<Queue>, StoreError> {
        let row: Option<QueueRow> = sqlx::query_as(&format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Queue::from))
    }

    /// All queues by name.
    pub async fn list_queues(&self) -> Result<Vec<Queue>, StoreError> {
        let rows: Vec<QueueRow> =
            sqlx::query_as(&format!("SELECT {QUEUE_COLUMNS} FROM queues ORDER BY name")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Queue::from).collect())
    }

    /// Removes the queue and its memberships, and fails its pending
    /// callbacks (nobody would call them back); the log stays.
    pub async fn remove_queue(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM queues WHERE name = ?").bind(name).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("queue {name}")));
        }
        sqlx::query("UPDATE callbacks SET state = 'failed', finished_at_ms = ? WHERE queue = ? AND state IN ('waiting', 'dialing')")
            .bind(super::unix_ms())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----------------------------------------------------------- members ---

    /// Adds `agent` to `queue`, or changes its penalty (0 to 1000).
    pub async fn set_member(&self, queue: &str, agent: &str, penalty: i64) -> Result<(), StoreError> {
        check_range("penalty", penalty, 0, 1000)?;
        let mut tx = self.writer.begin().await?;
        // Checked one by one so the error names what is missing (a foreign
        // key violation does not say which key).
        let q: Option<(String,)> = sqlx::query_as("SELECT name FROM queues WHERE name = ?").bind(queue).fetch_optional(&mut *tx).await?;
        if q.is_none() {
            return Err(StoreError::NotFound(format!("queue {queue}")));
        }
        let a: Option<(String,)> = sqlx::query_as("SELECT id FROM agents WHERE id = ?").bind(agent).fetch_optional(&mut *tx).await?;
        if a.is_none() {
            return Err(StoreError::NotFound(format!("agent {agent}")));
        }
        sqlx::query(
            "INSERT INTO queue_members (queue, agent, penalty) VALUES (?, ?, ?) \
             ON CONFLICT (queue, agent) DO UPDATE SET penalty = excluded.penalty",
        )
        .bind(queue)
        .bind(agent)
        .bind(penalty)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_member(&self, queue: &str, agent: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("DELETE FROM queue_members WHERE queue = ? AND agent = ?").bind(queue).bind(agent).execute(&self.writer).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("agent {agent} in queue {queue}")));
        }
        Ok(())
    }

    /// A queue's members, lowest penalty first, then by agent id.
    pub async fn members(&self, queue: &str) -> Result<Vec<Member>, StoreError> {
        Ok(sqlx::query_as("SELECT queue, agent, penalty FROM queue_members WHERE queue = ? ORDER BY penalty, agent")
            .bind(queue)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The queues an agent belongs to, by queue name.
    pub async fn queues_of(&self, agent: &str) -> Result<Vec<Member>, StoreError> {
        Ok(sqlx::query_as("SELECT queue, agent, penalty FROM queue_members WHERE agent = ? ORDER BY queue")
            .bind(agent)
            .fetch_all(&self.pool)
            .await?)
    }

    // --------------------------------------------------------- queue log ---

    /// Appends one event; returns its id. `data` must be empty or JSON.
    pub async fn append_queue_log(&self, entry: &QueueLogEntry) -> Result<i64, StoreError> {
        if entry.event.is_empty() || entry.event.len() > 32 {
            return Err(StoreError::Invalid("queue log event must be 1 to 32 characters".into()));
        }
        if !entry.data.is_empty() && serde_json::from_str::<serde_json::Value>(&entry.data).is_err() {
            return Err(StoreError::Invalid(format!("queue log data for {} is not JSON", entry.event)));
        }
        let done = sqlx::query("INSERT INTO queue_log (at_ms, queue, call_id, agent, event, data) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(entry.at_ms)
            .bind(&entry.queue)
            .bind(&entry.call_id)
            .bind(&entry.agent)
            .bind(&entry.event)
            .bind(&entry.data)
            .execute(&self.writer)
            .await?;
        Ok(done.last_insert_rowid())
    }

    /// A queue's events at or after `since_ms`, oldest first, at most `limit`.
    pub async fn queue_log(&self, queue: &str, since_ms: i64, limit: i64) -> Result<Vec<QueueLogEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at_ms, queue, call_id, agent, event, data FROM queue_log \
             WHERE queue = ? AND at_ms >= ? ORDER BY at_ms, id LIMIT ?",
        )
        .bind(queue)
        .bind(since_ms)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?)
    }

    // --------------------------------------------------------- callbacks ---

    /// Stores a callback request as given (normally `Waiting`, 0 attempts);
    /// returns its id. The number is normalized; the queue must exist.
    pub async fn insert_callback(&self, cb: &Callback) -> Result<i64, StoreError> {
        let number = super::normalize_phone(&cb.number)
            .ok_or_else(|| StoreError::Invalid(format!("callback number '{}' has no digits (or over 20)", cb.number)))?;
        let mut tx = self.writer.begin().await?;
        let q: Option<(String,)> =
            sqlx::query_as("SELECT name FROM queues WHERE name = ?").bind(&cb.queue).fetch_optional(&mut *tx).await?;
        if q.is_none() {
            return Err(StoreError::NotFound(format!("queue {}", cb.queue)));
        }
        let done = sqlx::query(
            "INSERT INTO callbacks (queue, number, name, call_id, priority, joined_at_ms, requested_at_ms, state, attempts, \
             last_attempt_at_ms, finished_at_ms, agent, note, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&cb.queue)
        .bind(number)
        .bind(&cb.name)
        .bind(&cb.call_id)
        .bind(cb.priority)
        .bind(cb.joined_at_ms)
        .bind(cb.requested_at_ms)
        .bind(cb.state.as_str())
        .bind(cb.attempts)
        .bind(cb.last_attempt_at_ms)
        .bind(cb.finished_at_ms)
        .bind(&cb.agent)
        .bind(&cb.note)
        .bind(if cb.source == "web" { "web" } else { "phone" })
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.last_insert_rowid())
    }

    pub async fn callback(&self, id: i64) -> Result<Option<Callback>, StoreError> {
        let row: Option<CallbackRow> = sqlx::query_as(&format!("SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Callback::from))
    }

    /// Waiting and dialing requests (of one queue, or all) in the order
    /// their callers joined the queue; priority is left to the ACD.
    pub async fn list_pending_callbacks(&self, queue: Option<&str>) -> Result<Vec<Callback>, StoreError> {
        let rows: Vec<CallbackRow> = sqlx::query_as(&format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE state IN ('waiting', 'dialing') AND (? IS NULL OR queue = ?) \
             ORDER BY joined_at_ms, id"
        ))
        .bind(queue)
        .bind(queue)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Callback::from).collect())
    }

    /// Every request (of one queue, or all), newest request first, at most `limit`.
    pub async fn list_callbacks(&self, queue: Option<&str>, limit: i64) -> Result<Vec<Callback>, StoreError> {
        let rows: Vec<CallbackRow> = sqlx::query_as(&format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE (? IS NULL OR queue = ?) ORDER BY requested_at_ms DESC, id DESC LIMIT ?"
        ))
        .bind(queue)
        .bind(queue)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Callback::from).collect())
    }

    /// The pending (waiting and dialing) requests of the queues `agent` is
    /// a member of, at most `limit`: by queue, then in the order the ACD
    /// serves callers (higher priority first, then earlier join, then id),
    /// so a row's place among its queue's rows is its position among that
    /// queue's callbacks. Requests of other queues are never read.
    pub async fn pending_callbacks_for_agent(&self, agent: &str, limit: i64) -> Result<Vec<Callback>, StoreError> {
        let rows: Vec<CallbackRow> = sqlx::query_as(&format!(
            "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE state IN ('waiting', 'dialing') \
             AND queue IN (SELECT queue FROM queue_members WHERE agent = ?) \
             ORDER BY queue, priority DESC, joined_at_ms, id LIMIT ?"
        ))
        .bind(agent)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Callback::from).collect())
    }

    /// Records progress: the new state and attempt count at `at_ms`.
    /// Entering `Dialing` sets `last_attempt_at_ms`; entering `Done` or
    /// `Failed` sets `finished_at_ms`; `agent`, when given, is recorded.
    pub async fn update_callback(
        &self,
        id: i64,
        state: CallbackState,
        attempts: i64,
        at_ms: i64,
        agent: Option<&str>,
    ) -> Result<(), StoreError> {
        if attempts < 0 {
            return Err(StoreError::Invalid(format!("callback attempts must not be negative, got {attempts}")));
        }
        let done = sqlx::query(
            "UPDATE callbacks SET state = ?, attempts = ?, \
             last_attempt_at_ms = CASE WHEN ? = 'dialing' THEN ? ELSE last_attempt_at_ms END, \
             finished_at_ms = CASE WHEN ? IN ('done', 'failed') THEN ? ELSE finished_at_ms END, \
             agent = COALESCE(?, agent) WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(attempts)
        .bind(state.as_str())
        .bind(at_ms)
        .bind(state.as_str())
        .bind(at_ms)
        .bind(agent)
        .bind(id)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("callback {id}")));
        }
        Ok(())
    }
}

/// Queue columns written by add/update/upsert, in `bind_queue` order.
const QUEUE_SETTERS: [&str; 16] = [
    "strategy",
    "ring_timeout_secs",
    "retry_delay_secs",
    "wrapup_secs",
    "max_wait_secs",
    "max_callers",
    "join_empty",
    "leave_when_empty",
    "moh_class",
    "announce_every_secs",
    "service_level_secs",
    "overflow",
    "skill_relax",
    "callback_key",
    "callback_attempts",
    "callback_retry_secs",
];

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_queue<'q>(q: Query<'q>, queue: &'q Queue) -> Query<'q> {
    q.bind(queue.strategy.as_str())
        .bind(queue.ring_timeout_secs)
        .bind(queue.retry_delay_secs)
        .bind(queue.wrapup_secs)
        .bind(queue.max_wait_secs)
        .bind(queue.max_callers)
        .bind(queue.join_empty)
        .bind(queue.leave_when_empty)
        .bind(&queue.moh_class)
        .bind(queue.announce_every_secs)
        .bind(queue.service_level_secs)
        .bind(queue.overflow.as_ref().map(ToString::to_string))
        .bind(format_skill_relax(&queue.skill_relax))
        .bind(queue.callback_key.map(String::from).unwrap_or_default())
        .bind(queue.callback_attempts)
        .bind(queue.callback_retry_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, exts: &[&str]) -> Agent {
        Agent { name: format!("Agent {id}"), extensions: exts.iter().map(|e| e.to_string()).collect(), ..Agent::new(id) }
    }

    #[test]
    fn enums_round_trip_and_refuse_unknown_text() {
        for s in AgentState::ALL {
            assert_eq!(s.as_str().parse::<AgentState>().unwrap(), s);
        }
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
        }
        for s in CallbackState::ALL {
            assert_eq!(s.as_str().parse::<CallbackState>().unwrap(), s);
        }
        let e = "roundrobin".parse::<Strategy>().unwrap_err().to_string();
        assert!(e.contains("unknown strategy 'roundrobin'") && e.contains("round_robin"), "{e}");
        assert!("busy".parse::<AgentState>().is_err());
    }

    #[test]
    fn overflow_and_skill_relax_syntax() {
        assert_eq!("queue:sales-2".parse::<Overflow>().unwrap(), Overflow::Queue("sales-2".into()));
        assert_eq!("voicemail:600".parse::<Overflow>().unwrap(), Overflow::Voicemail("600".into()));
        assert_eq!("context:after_hours".parse::<Overflow>().unwrap(), Overflow::Context("after_hours".into()));
        assert_eq!(Overflow::Voicemail("600".into()).to_string(), "voicemail:600");
        for bad in ["", "queue", "queue:", "queue:a b", "voicemail:12a", "context:", "dial:1001", "Queue:x"] {
            let e = bad.parse::<Overflow>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("overflow '{bad}'")), "{bad}: {e}");
        }

        let steps = parse_skill_relax("30:1, 60:2").unwrap();
        assert_eq!(steps, [SkillRelax { after_secs: 30, lower_by: 1 }, SkillRelax { after_secs: 60, lower_by: 2 }]);
        assert_eq!(format_skill_relax(&steps), "30:1,60:2");
        assert_eq!(parse_skill_relax("").unwrap(), []);
        for bad in ["30", "30:x", "x:1", "0:1", "30:0", "30:10", "60:1,30:2", "30:2,60:1", "30:1,30:2", "30:1,"] {
            let e = parse_skill_relax(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("skill relax '{bad}'")), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn agents_crud_state_and_extension_ownership() {
        let (_d, store) = crate::store::test_store().await;
        store.add_agent(&agent("alice", &["1001", "1002"])).await.unwrap();
        assert!(matches!(store.add_agent(&agent("alice", &[])).await, Err(StoreError::Exists(_))));
        let e = store.add_agent(&agent("bob", &["2001", "1002"])).await.unwrap_err().to_string();
        assert_eq!(e, "extension 1002 already belongs to agent alice");
        for bad in [agent("a b", &[]), agent("bob", &["10x"]), agent("bob", &["2001", "2001"]), Agent { no_answer_limit: -1, ..agent("bob", &[]) }] {
            assert!(matches!(store.add_agent(&bad).await, Err(StoreError::Invalid(_))), "{bad:?}");
        }
        store.add_agent(&agent("bob", &["2001"])).await.unwrap();

        let a = store.agent("alice").await.unwrap().unwrap();
        assert_eq!((a.name.as_str(), a.extensions.clone(), a.state, a.no_answer_limit), ("Agent alice", vec!["1001".to_string(), "1002".into()], AgentState::LoggedOut, 3));
        assert!(a.created_at > 0);
        assert_eq!(store.agent_by_extension("2001").await.unwrap().map(|a| a.id), Some("bob".into()));
        assert_eq!(store.agent_by_extension("100").await.unwrap(), None, "whole numbers only");

        store.set_agent_state("alice", AgentState::Paused, Some("lunch"), 1_700_000_000_123).await.unwrap();
        let a = store.agent("alice").await.unwrap().unwrap();
        assert_eq!((a.state, a.pause_reason.as_deref(), a.state_since), (AgentState::Paused, Some("lunch"), 1_700_000_000_123));
        assert!(matches!(store.set_agent_state("nobody", AgentState::Available, None, 1).await, Err(StoreError::NotFound(_))));

        // Updating keeps the state; an agent may keep its own extensions.
        let mut upd = agent("alice", &["1002", "1003"]);
        upd.no_answer_limit = 0;
        store.update_agent(&upd).await.unwrap();
        let a = store.agent("alice").await.unwrap().unwrap();
        assert_eq!((a.extensions.len(), a.no_answer_limit, a.state), (2, 0, AgentState::Paused));
        assert!(matches!(store.update_agent(&agent("bob", &["1003"])).await, Err(StoreError::Conflict(_))), "alice's extension");
        assert!(matches!(store.update_agent(&agent("carol", &[])).await, Err(StoreError::NotFound(_))));

        let ids: Vec<String> = store.list_agents().await.unwrap().into_iter().map(|a| a.id).collect();
        assert_eq!(ids, ["alice", "bob"]);
        store.remove_agent("bob").await.unwrap();
        assert!(matches!(store.remove_agent("bob").await, Err(StoreError::NotFound(_))));
        assert_eq!(store.agent("bob").await.unwrap(), None);
    }

    #[test]
    fn validation_names_the_field() {
        let field = |q: Queue| validate_queue(&q).unwrap_err().field;
        let q = || Queue::new("q", Strategy::RingAll);
        assert_eq!(validate_queue(&q()), Ok(()));
        assert_eq!(field(Queue { name: "a b".into(), ..q() }), "name");
        assert_eq!(field(Queue { ring_timeout_secs: 0, ..q() }), "ring_timeout_secs");
        assert_eq!(field(Queue { max_wait_secs: Some(0), ..q() }), "max_wait_secs");
        assert_eq!(field(Queue { moh_class: "a/b".into(), ..q() }), "moh_class");
        assert_eq!(field(Queue { overflow: Some(Overflow::Queue("q".into())), ..q() }), "overflow");
        assert_eq!(field(Queue { callback_key: Some('A'), ..q() }), "callback_key");
        assert_eq!(field(Queue { callback_retry_secs: 0, ..q() }), "callback_retry_secs");
        let e = validate_queue(&Queue { service_level_secs: 0, ..q() }).unwrap_err();
        assert_eq!((e.field, e.to_string().as_str()), ("service_level_secs", "service level must be 1 to 3600, got 0"), "message unchanged");

        let field = |a: Agent| validate_agent(&a).unwrap_err().field;
        assert_eq!(validate_agent(&agent("a", &["1"])), Ok(()));
        assert_eq!(field(agent("a b", &[])), "id");
        assert_eq!(field(Agent { name: "x".repeat(65), ..agent("a", &[]) }), "name");
        assert_eq!(field(agent("a", &["1", "1"])), "extensions");
        assert_eq!(field(Agent { no_answer_limit: 101, ..agent("a", &[]) }), "no_answer_limit");
    }

    #[tokio::test]
    async fn skills_set_update_remove_and_validate() {
        let (_d, store) = crate::store::test_store().await;
        store.add_agent(&agent("alice", &["1001"])).await.unwrap();
        store.set_skill("alice", "spanish", 7).await.unwrap();
        store.set_skill("alice", "billing", 3).await.unwrap();
        store.set_skill("alice", "spanish", 9).await.unwrap();
        let got: Vec<(String, i64)> = store.skills("alice").await.unwrap().into_iter().map(|s| (s.skill, s.proficiency)).collect();
        assert_eq!(got, [("billing".to_string(), 3), ("spanish".to_string(), 9)]);
        for level in [0, 11] {
            assert!(matches!(store.set_skill("alice", "x", level).await, Err(StoreError::Invalid(_))), "{level}");
        }
        assert!(matches!(store.set_skill("alice", "bad skill", 5).await, Err(StoreError::Invalid(_))));
        assert!(matches!(store.set_skill("nobody", "x", 5).await, Err(StoreError::NotFound(_))));
        store.add_agent(&agent("bob", &["1002"])).await.unwrap();
        store.set_skill("bob", "spanish", 2).await.unwrap();
        let all: Vec<(String, String)> = store.all_skills().await.unwrap().into_iter().map(|s| (s.skill, s.agent)).collect();
        let pair = |s: &str, a: &str| (s.to_string(), a.to_string());
        assert_eq!(all, [pair("billing", "alice"), pair("spanish", "alice"), pair("spanish", "bob")], "by skill, then agent");
        store.remove_agent("bob").await.unwrap();
        store.remove_skill("alice", "billing").await.unwrap();
        assert!(matches!(store.remove_skill("alice", "billing").await, Err(StoreError::NotFound(_))));
        assert_eq!(store.skills("alice").await.unwrap().len(), 1);
        store.remove_agent("alice").await.unwrap();
        assert!(store.skills("alice").await.unwrap().is_empty(), "skills go with the agent");
    }

    #[tokio::test]
    async fn queues_round_trip_every_field_and_validate() {
        let (_d, store) = crate::store::test_store().await;
        let plain = Queue::new("support", Strategy::LongestIdle);
        store.add_queue(&plain).await.unwrap();
        let got = store.queue("support").await.unwrap().unwrap();
        assert!(got.created_at > 0);
        assert_eq!(Queue { created_at: 0, ..got }, plain, "defaults round-trip");
        assert!(matches!(store.add_queue(&plain).await, Err(StoreError::Exists(_))));

        let full = Queue {
            name: "sales".into(),
            strategy: Strategy::Skills,
            ring_timeout_secs: 15,
            retry_delay_secs: 0,
            wrapup_secs: 30,
            max_wait_secs: Some(600),
            max_callers: Some(25),
            join_empty: true,
            leave_when_empty: false,
            moh_class: "jazz".into(),
            announce_every_secs: 0,
            service_level_secs: 45,
            overflow: Some(Overflow::Voicemail("600".into())),
            skill_relax: parse_skill_relax("30:1,60:2").unwrap(),
            callback_key: Some('*'),
            callback_attempts: 5,
            callback_retry_secs: 300,
            created_at: 0,
        };
        store.upsert_queue(&full).await.unwrap();
        let got = store.queue("sales").await.unwrap().unwrap();
        let created = got.created_at;
        assert_eq!(Queue { created_at: 0, ..got }, full);

        let changed = Queue { strategy: Strategy::Random, overflow: Some(Overflow::Queue("support".into())), callback_key: None, ..full.clone() };
        store.upsert_queue(&changed).await.unwrap();
        let got = store.queue("sales").await.unwrap().unwrap();
        assert_eq!((got.strategy, got.overflow.clone(), got.callback_key, got.created_at), (Strategy::Random, changed.overflow.clone(), None, created));
        store.update_queue(&Queue { max_wait_secs: None, ..changed.clone() }).await.unwrap();
        assert_eq!(store.queue("sales").await.unwrap().unwrap().max_wait_secs, None);
        assert!(matches!(store.update_queue(&Queue::new("nope", Strategy::Linear)).await, Err(StoreError::NotFound(_))));

        let bad = [
            Queue::new("has space", Strategy::RingAll),
            Queue { ring_timeout_secs: 0, ..Queue::new("q", Strategy::RingAll) },
            Queue { max_callers: Some(0), ..Queue::new("q", Strategy::RingAll) },
            Queue { moh_class: String::new(), ..Queue::new("q", Strategy::RingAll) },
            Queue { callback_key: Some('A'), ..Queue::new("q", Strategy::RingAll) },
            Queue { overflow: Some(Overflow::Queue("q".into())), ..Queue::new("q", Strategy::RingAll) },
            Queue { skill_relax: vec![SkillRelax { after_secs: 60, lower_by: 1 }, SkillRelax { after_secs: 30, lower_by: 2 }], ..Queue::new("q", Strategy::Skills) },
        ];
        for q in bad {
            assert!(matches!(store.upsert_queue(&q).await, Err(StoreError::Invalid(_))), "{q:?}");
        }
        let names: Vec<String> = store.list_queues().await.unwrap().into_iter().map(|q| q.name).collect();
        assert_eq!(names, ["sales", "support"]);
    }

    #[tokio::test]
    async fn members_and_cascades() {
        let (_d, store) = crate::store::test_store().await;
        store.add_queue(&Queue::new("sales", Strategy::RingAll)).await.unwrap();
        store.add_queue(&Queue::new("support", Strategy::Linear)).await.unwrap();
        store.add_agent(&agent("alice", &["1001"])).await.unwrap();
        store.add_agent(&agent("bob", &["1002"])).await.unwrap();
        store.set_member("sales", "bob", 0).await.unwrap();
        store.set_member("sales", "alice", 2).await.unwrap();
        store.set_member("support", "alice", 0).await.unwrap();
        store.set_member("sales", "bob", 5).await.unwrap();
        let m: Vec<(String, i64)> = store.members("sales").await.unwrap().into_iter().map(|m| (m.agent, m.penalty)).collect();
        assert_eq!(m, [("alice".to_string(), 2), ("bob".to_string(), 5)], "penalty order, penalty updated");
        let q: Vec<String> = store.queues_of("alice").await.unwrap().into_iter().map(|m| m.queue).collect();
        assert_eq!(q, ["sales", "support"]);
        assert_eq!(store.set_member("nope", "alice", 0).await.unwrap_err().to_string(), "queue nope not found");
        assert_eq!(store.set_member("sales", "carol", 0).await.unwrap_err().to_string(), "agent carol not found");
        assert!(matches!(store.set_member("sales", "alice", -1).await, Err(StoreError::Invalid(_))));

        store.remove_member("sales", "bob").await.unwrap();
        assert!(matches!(store.remove_member("sales", "bob").await, Err(StoreError::NotFound(_))));
        store.remove_queue("sales").await.unwrap();
        assert!(store.members("sales").await.unwrap().is_empty());
        assert_eq!(store.queues_of("alice").await.unwrap().len(), 1, "support membership stays");
        store.remove_agent("alice").await.unwrap();
        assert!(store.members("support").await.unwrap().is_empty(), "memberships go with the agent");
        assert!(matches!(store.remove_queue("sales").await, Err(StoreError::NotFound(_))));
    }

    #[tokio::test]
    async fn queue_log_appends_and_reads_in_time_order() {
        let (_d, store) = crate::store::test_store().await;
        let entry = |at_ms: i64, queue: &str, event: &str, data: &str| QueueLogEntry {
            at_ms,
            queue: queue.into(),
            call_id: format!("c{at_ms}"),
            agent: (event == "answer").then(|| "alice".to_string()),
            event: event.into(),
            data: data.into(),
            ..QueueLogEntry::default()
        };
        store.append_queue_log(&entry(2000, "sales", "answer", r#"{"wait_ms":1000}"#)).await.unwrap();
        store.append_queue_log(&entry(1000, "sales", "join", "")).await.unwrap();
        store.append_queue_log(&entry(1500, "support", "join", "")).await.unwrap();
        store.append_queue_log(&entry(3000, "sales", "hangup", "")).await.unwrap();
        assert!(matches!(store.append_queue_log(&entry(1, "sales", "join", "{not json")).await, Err(StoreError::Invalid(_))));
        assert!(matches!(store.append_queue_log(&entry(1, "sales", "", "")).await, Err(StoreError::Invalid(_))));

        let all = store.queue_log("sales", 0, 100).await.unwrap();
        let events: Vec<(i64, &str)> = all.iter().map(|e| (e.at_ms, e.event.as_str())).collect();
        assert_eq!(events, [(1000, "join"), (2000, "answer"), (3000, "hangup")]);
        assert_eq!((all[1].agent.as_deref(), all[1].data.as_str()), (Some("alice"), r#"{"wait_ms":1000}"#));
        let later: Vec<i64> = store.queue_log("sales", 2000, 1).await.unwrap().into_iter().map(|e| e.at_ms).collect();
        assert_eq!(later, [2000], "since is inclusive, limit applies");
    }

    #[tokio::test]
    async fn callbacks_insert_pending_order_and_progress() {
        let (_d, store) = crate::store::test_store().await;
        store.add_queue(&Queue::new("sales", Strategy::RingAll)).await.unwrap();
        store.add_queue(&Queue::new("support", Strategy::RingAll)).await.unwrap();
        let cb = |queue: &str, number: &str, joined: i64| Callback {
            queue: queue.into(),
            number: number.into(),
            name: "Caller".into(),
            call_id: format!("call-{joined}"),
            joined_at_ms: joined,
            requested_at_ms: joined + 500,
            ..Callback::default()
        };
        let late = store.insert_callback(&cb("sales", "+1 (555) 123-4567", 2000)).await.unwrap();
        let early = store.insert_callback(&cb("sales", "5550001", 1000)).await.unwrap();
        let other = store.insert_callback(&cb("support", "5550002", 1500)).await.unwrap();
        assert!(matches!(store.insert_callback(&cb("nope", "5550003", 1)).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.insert_callback(&cb("sales", "anonymous", 1)).await, Err(StoreError::Invalid(_))));

        let got = store.callback(late).await.unwrap().unwrap();
        assert_eq!((got.number.as_str(), got.state, got.attempts, got.requested_at_ms), ("+15551234567", CallbackState::Waiting, 0, 2500));
        let ids = |v: Vec<Callback>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(store.list_pending_callbacks(None).await.unwrap()), [early, other, late], "joined order");
        assert_eq!(ids(store.list_pending_callbacks(Some("sales")).await.unwrap()), [early, late]);

        store.update_callback(early, CallbackState::Dialing, 1, 5000, None).await.unwrap();
        let got = store.callback(early).await.unwrap().unwrap();
        assert_eq!((got.state, got.attempts, got.last_attempt_at_ms, got.finished_at_ms), (CallbackState::Dialing, 1, Some(5000), None));
        assert_eq!(ids(store.list_pending_callbacks(Some("sales")).await.unwrap()), [early, late], "dialing is still pending");
        store.update_callback(early, CallbackState::Done, 1, 9000, Some("alice")).await.unwrap();
        let got = store.callback(early).await.unwrap().unwrap();
        assert_eq!((got.state, got.last_attempt_at_ms, got.finished_at_ms, got.agent.as_deref()), (CallbackState::Done, Some(5000), Some(9000), Some("alice")));
        assert_eq!(ids(store.list_pending_callbacks(Some("sales")).await.unwrap()), [late]);
        assert!(matches!(store.update_callback(999, CallbackState::Failed, 0, 1, None).await, Err(StoreError::NotFound(_))));

        // Removing a queue fails its pending requests but keeps the history.
        store.remove_queue("sales").await.unwrap();
        let got = store.callback(late).await.unwrap().unwrap();
        assert_eq!(got.state, CallbackState::Failed);
        assert!(got.finished_at_ms.is_some());
        assert_eq!(store.callback(early).await.unwrap().unwrap().state, CallbackState::Done, "finished ones untouched");
        assert_eq!(ids(store.list_pending_callbacks(None).await.unwrap()), [other]);
        assert_eq!(ids(store.list_callbacks(None, 10).await.unwrap()), [late, other, early], "newest request first");
    }

    #[tokio::test]
    async fn pending_callbacks_for_agent_only_in_member_queues_in_serving_order() {
        let (_d, store) = crate::store::test_store().await;
        for q in ["billing", "sales", "support"] {
            store.add_queue(&Queue::new(q, Strategy::RingAll)).await.unwrap();
        }
        for a in ["alice", "bob", "carol"] {
            store.add_agent(&agent(a, &[])).await.unwrap();
        }
        for (q, a) in [("sales", "alice"), ("support", "alice"), ("billing", "bob")] {
            store.set_member(q, a, 0).await.unwrap();
        }
        let cb = |queue: &str, number: &str, joined: i64, priority: i64| Callback {
            queue: queue.into(),
            number: number.into(),
            call_id: format!("call-{number}"),
            priority,
            joined_at_ms: joined,
            requested_at_ms: joined,
            ..Callback::default()
        };
        let sales_early = store.insert_callback(&cb("sales", "5550001", 1000, 0)).await.unwrap();
        let sales_vip = store.insert_callback(&cb("sales", "5550002", 3000, 5)).await.unwrap();
        let sales_late = store.insert_callback(&cb("sales", "5550003", 2000, 0)).await.unwrap();
        let support = store.insert_callback(&cb("support", "5550004", 500, 0)).await.unwrap();
        let billing = store.insert_callback(&cb("billing", "5550005", 100, 0)).await.unwrap();
        let done = store.insert_callback(&cb("sales", "5550006", 10, 0)).await.unwrap();
        store.update_callback(done, CallbackState::Done, 1, 5000, Some("alice")).await.unwrap();
        store.update_callback(sales_late, CallbackState::Dialing, 1, 5000, None).await.unwrap();

        let ids = |v: Vec<Callback>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(store.pending_callbacks_for_agent("alice", 100).await.unwrap()), [sales_vip, sales_early, sales_late, support]);
        assert_eq!(ids(store.pending_callbacks_for_agent("bob", 100).await.unwrap()), [billing]);
        assert_eq!(ids(store.pending_callbacks_for_agent("carol", 100).await.unwrap()), Vec::<i64>::new(), "no queue, no callbacks");
        assert_eq!(ids(store.pending_callbacks_for_agent("nobody", 100).await.unwrap()), Vec::<i64>::new());
        assert_eq!(ids(store.pending_callbacks_for_agent("alice", 2).await.unwrap()), [sales_vip, sales_early], "limit");
        store.remove_member("support", "alice").await.unwrap();
        assert_eq!(ids(store.pending_callbacks_for_agent("alice", 100).await.unwrap()), [sales_vip, sales_early, sales_late]);
    }
}

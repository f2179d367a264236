//! The ACD's vocabulary: configuration, inputs, outputs, states, outcomes and
//! queue-log events. Plain data; the behaviour lives in the sibling modules.

use serde::{Deserialize, Serialize};

/// Caller identity chosen by the driver: the caller's SIP Call-ID, or a DB
/// callback id for restored callbacks. Unique among live callers.
pub type CallerKey = String;

/// One offer of one caller to one agent. Ids are never reused, so a late
/// answer for an old offer can always be told apart from the current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfferId(pub u64);

/// How a queue picks agents among the available members of the best
/// (lowest-penalty) tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Offer to every candidate at once; first answer wins.
    RingAll,
    /// The agent idle the longest (last call end, or login).
    LongestIdle,
    /// Member order, starting after the member last offered (memory per queue).
    RoundRobin,
    /// Fewest answered calls since the last stats reset, then longest idle.
    FewestCalls,
    /// Uniformly random, from the seeded RNG given to `Acd::new`.
    Random,
    /// Always member order (first member first).
    Linear,
    /// Highest summed proficiency over the caller's required skills, then
    /// longest idle.
    SkillsBased,
}

/// After the caller has waited `after_ms`, every required minimum is lowered
/// by `lower_by` (steps add up; a minimum of 0 means "skill not required").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRelax {
    pub after_ms: u64,
    pub lower_by: u8,
}

/// Callback retry policy of a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallbackConfig {
    /// Customer dial attempts before the callback ends as `CallbackFailed`.
    pub max_attempts: u32,
    /// Wait after a failed customer dial before the entry is offered again.
    pub retry_delay_ms: u64,
    /// A callback entry older than this (since its original join) ends as
    /// `CallbackFailed`. `None`: kept until served.
    pub max_age_ms: Option<u64>,
}

impl Default for CallbackConfig {
    fn default() -> Self {
        CallbackConfig {
            max_attempts: 3,
            retry_delay_ms: 60_000,
            max_age_ms: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueConfig {
    pub name: String,
    pub strategy: Strategy,
    /// An unanswered offer is withdrawn (`CancelOffer`) after this.
    pub ring_timeout_ms: u64,
    /// After an offer ends unanswered, neither that caller nor that agent is
    /// offered again before this delay.
    pub retry_ms: u64,
    /// Wrap-up after each call of this queue (agent unavailable).
    pub wrap_up_ms: u64,
    /// Callers waiting longer leave with `Timeout` to `overflow`.
    pub max_wait_ms: Option<u64>,
    /// Joins beyond this many entries (callbacks included) are refused `Full`.
    pub max_callers: Option<usize>,
    /// Accept joins while no member is logged in.
    pub join_empty: bool,
    /// When the last member logs out, live callers leave with `Empty`.
    pub leave_when_empty: bool,
    /// Position/EWT announcement period, first one `period` after join.
    pub announce_period_ms: Option<u64>,
    /// Rolling window (calls) for the average handle time used by EWT.
    pub handle_window: usize,
    /// Answered within this wait counts toward the service level.
    pub service_level_ms: u64,
    /// Opaque destination for callers leaving the queue (another queue,
    /// a voicemail box, a dialplan context): the driver interprets it.
    pub overflow: Option<String>,
    /// Relaxation steps for skill minimums (any order; sorted on use).
    pub skill_relax: Vec<SkillRelax>,
    pub callback: CallbackConfig,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            name: String::new(),
            strategy: Strategy::LongestIdle,
            ring_timeout_ms: 15_000,
            retry_ms: 5_000,
            wrap_up_ms: 0,
            max_wait_ms: None,
            max_callers: None,
            join_empty: true,
            leave_when_empty: false,
            announce_period_ms: None,
            handle_window: 20,
            service_level_ms: 20_000,
            overflow: None,
            skill_relax: Vec::new(),
            callback: CallbackConfig::default(),
        }
    }
}

impl QueueConfig {
    pub fn new(name: &str, strategy: Strategy) -> QueueConfig {
        QueueConfig {
            name: name.to_string(),
            strategy,
            ..QueueConfig::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentConfig {
    pub id: String,
    /// (skill, proficiency 1–10).
    pub skills: Vec<(String, u8)>,
    /// Consecutive unanswered offers before auto-pause "no-answer";
    /// `None`: the global `AcdSettings::max_no_answer`; 0: never.
    pub max_no_answer: Option<u32>,
}

impl AgentConfig {
    pub fn new(id: &str) -> AgentConfig {
        AgentConfig {
            id: id.to_string(),
            ..AgentConfig::default()
        }
    }
}

/// Engine-wide settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcdSettings {
    /// Seed of the RNG behind `Strategy::Random`.
    pub seed: u64,
    /// Default consecutive no-answers before auto-pause (0: never).
    pub max_no_answer: u32,
}

impl Default for AcdSettings {
    fn default() -> Self {
        AcdSettings {
            seed: 0,
            max_no_answer: 3,
        }
    }
}

/// Pause reasons set by the core itself.
pub const PAUSE_NO_ANSWER: &str = "no-answer";
pub const PAUSE_UNREGISTERED: &str = "unregistered";

/// Agent state. Losing SIP registration is `Paused { reason: "unregistered" }`
/// (see `agent.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum AgentState {
    LoggedOut,
    Available,
    /// One offer pending (never more than one).
    Ringing {
        offer: OfferId,
    },
    /// Bridged (or, for a callback, dialing the customer) on this offer.
    OnCall {
        offer: OfferId,
    },
    WrapUp {
        until_ms: u64,
    },
    Paused {
        reason: String,
    },
}

/// Why a caller left (or was refused) without being answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeaveReason {
    /// `max_wait_ms` reached.
    Timeout,
    /// `max_callers` reached (at join).
    Full,
    /// No member logged in (join_empty = false, or leave_when_empty).
    Empty,
    /// Joined a queue the core does not know.
    UnknownQueue,
    /// The queue was removed while the caller waited.
    QueueRemoved,
}

/// The one terminal outcome of every caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Answered,
    Abandoned,
    Overflowed(LeaveReason),
    CalledBack,
    CallbackFailed,
    Refused(LeaveReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    UpsertQueue(QueueConfig),
    RemoveQueue(String),
    UpsertAgent(AgentConfig),
    RemoveAgent(String),
    SetMember {
        queue: String,
        agent: String,
        penalty: u32,
    },
    RemoveMember {
        queue: String,
        agent: String,
    },
    Login {
        agent: String,
    },
    Logout {
        agent: String,
    },
    Pause {
        agent: String,
        reason: String,
    },
    Unpause {
        agent: String,
    },
    Registration {
        agent: String,
        registered: bool,
    },
    Join {
        caller: CallerKey,
        queue: String,
        priority: i32,
        skills: Vec<(String, u8)>,
    },
    Abandon {
        caller: CallerKey,
    },
    RequestCallback {
        caller: CallerKey,
        number: String,
    },
    /// A callback requested without a waiting call (the web contact form):
    /// exactly `Join` followed by `RequestCallback` in one step, so the entry
    /// is never offered as a live caller in between. Refused like a join
    /// (unknown queue, full), except that it may wait for agents to log in
    /// whatever `join_empty` says, as every callback entry may.
    JoinCallback {
        caller: CallerKey,
        queue: String,
        priority: i32,
        skills: Vec<(String, u8)>,
        number: String,
    },
    RestoreCallback {
        caller: CallerKey,
        queue: String,
        priority: i32,
        skills: Vec<(String, u8)>,
        number: String,
        joined_ms: u64,
        attempts_made: u32,
    },
    OfferRinging {
        offer: OfferId,
    },
    OfferAnswered {
        offer: OfferId,
    },
    OfferFailed {
        offer: OfferId,
        reason: String,
    },
    CallEnded {
        offer: OfferId,
    },
    CustomerAnswered {
        caller: CallerKey,
    },
    CustomerFailed {
        caller: CallerKey,
    },
    ResetStats,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Ring `agent` for `caller`; report `OfferRinging`/`OfferAnswered`/`OfferFailed`.
    Offer {
        offer: OfferId,
        caller: CallerKey,
        agent: String,
        queue: String,
    },
    /// Stop ringing that agent leg (timeout, lost ring-all race, caller gone).
    CancelOffer {
        offer: OfferId,
    },
    /// Bridge caller and agent; report `CallEnded` when the call ends.
    Connect {
        offer: OfferId,
        caller: CallerKey,
        agent: String,
    },
    /// That agent leg answered an offer that is no longer current: hang it up.
    RejectLateAnswer {
        offer: OfferId,
    },
    /// Tell the caller its position (1-based) and estimated wait (None: no history yet).
    Announce {
        caller: CallerKey,
        position: usize,
        ewt_ms: Option<u64>,
    },
    /// Take the caller out of the queue to `destination` (None: driver default / hang up).
    Leave {
        caller: CallerKey,
        reason: LeaveReason,
        destination: Option<String>,
    },
    /// Agent answered a callback offer: dial the customer, then report
    /// `CustomerAnswered`/`CustomerFailed`, later `CallEnded { offer }`.
    DialCustomer {
        offer: OfferId,
        caller: CallerKey,
        agent: String,
        number: String,
    },
    AgentState {
        agent: String,
        state: AgentState,
    },
    Finished {
        caller: CallerKey,
        outcome: Outcome,
    },
    Log(QueueEvent),
}

/// One queue-log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEvent {
    pub at_ms: u64,
    pub queue: Option<String>,
    pub caller: Option<CallerKey>,
    pub agent: Option<String>,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    Join {
        priority: i32,
        position: usize,
    },
    Refused {
        reason: LeaveReason,
    },
    Offer {
        offer: OfferId,
    },
    Ringing {
        offer: OfferId,
    },
    Answer {
        offer: OfferId,
        wait_ms: u64,
        ring_ms: u64,
    },
    NoAnswer {
        offer: OfferId,
        ring_ms: u64,
    },
    OfferFailed {
        offer: OfferId,
        reason: String,
    },
    OfferCancelled {
        offer: OfferId,
    },
    LateAnswer {
        offer: OfferId,
    },
    Abandon {
        wait_ms: u64,
        position: usize,
    },
    Overflow {
        reason: LeaveReason,
        wait_ms: u64,
    },
    Announce {
        position: usize,
        ewt_ms: Option<u64>,
    },
    CallbackRequested {
        number: String,
    },
    CallbackRestored {
        attempts_made: u32,
    },
    CallbackDial {
        offer: OfferId,
        attempt: u32,
    },
    CallbackAnswered {
        offer: OfferId,
        wait_ms: u64,
    },
    CallbackAttemptFailed {
        attempt: u32,
    },
    CallbackFailed {
        attempts: u32,
    },
    CallEnded {
        offer: OfferId,
        talk_ms: u64,
    },
    AgentState {
        state: AgentState,
    },
    AutoPause {
        no_answers: u32,
    },
}

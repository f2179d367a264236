//! Dialplan engine: TOML model, loader, validator, sans-IO interpreter and
//! simulator (issue 4).
//!
//! * `load` parses every `*.toml` file of a directory into a [`Dialplan`];
//!   every error is a `file:line:col: message` string.
//! * `validate` checks cross references (contexts, time rules) and limits.
//! * `interp` runs one call: [`Session::poll`] returns the next [`Action`],
//!   the driver answers with [`Session::input`]. No IO, no clock: the call's
//!   time is given in [`CallInfo::now`].
//! * `simulate` drives a session with scripted digits (and scripted lookup /
//!   webhook answers) and prints each step.
//! * `say` turns numbers, amounts, dates and times into prompt names.
//! * `webhook` is the one piece with IO: the HTTP client the call driver uses
//!   to answer [`Action::Http`]. The interpreter never calls it.
//!
//! This module owns the dialplan language; it must not touch calls, media or
//! the database (the driver in `src/call/` executes actions, `store` answers
//! lookups).
//!
//! ## Adding an app (the extension point; fax and callback come this way)
//!
//! 1. a variant in [`App`] (+ its name in [`App::name`] and [`KNOWN_APPS`]);
//! 2. a loader arm in `load::convert_step` (field checks, file:line:col
//!    errors) and, if it names contexts or variables, a check in `validate`;
//! 3. an interpreter arm in `interp::Session::poll` returning a new
//!    [`Action`] variant (and, if the driver answers, an [`Event`] variant
//!    handled in `Session::input`), plus a line in `simulate`.
//!
//! The compiler points at every `match` that needs the new arm.

pub mod interp;
pub mod live;
pub mod load;
pub mod ops;
pub mod pattern;
pub mod say;
pub mod simulate;
pub mod time;
pub mod validate;
pub mod webhook;

use std::collections::BTreeMap;
use std::fmt;

pub use interp::{Action, CallInfo, DialOutcome, Event, FaxResult, HttpMethod, HttpRequest, LookupBy, Ringback, Session};
pub use load::{fuzz_load, load_dir, load_files, load_str};
pub use pattern::Pattern;
pub use simulate::{simulate, simulate_with, SimAnswers};
pub use time::{parse_rfc3339, Civil, TimeRule, Zone};
pub use validate::validate;

/// A source position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loc {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// The whole dialplan, merged from all files.
#[derive(Debug, Clone, Default)]
pub struct Dialplan {
    /// Entries in file (then declaration) order.
    pub entries: Vec<Entry>,
    pub contexts: BTreeMap<String, Context>,
    pub time_rules: BTreeMap<String, TimeRule>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub matcher: Match,
    /// Only for calls from this trunk.
    pub trunk: Option<String>,
    pub context: String,
    pub loc: Loc,
    /// Location of the `context = ...` value.
    pub context_loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Exact dialed number.
    Did(String),
    /// Asterisk-like pattern (`_1XXX`).
    Pattern(Pattern),
    /// Feature code such as `*97` (exact match on the dialed string).
    Feature(String),
}

impl Entry {
    /// The matcher's key, qualified by the trunk when there is one.
    pub fn key(&self) -> String {
        match &self.trunk {
            Some(t) => format!("{} from trunk {t}", self.matcher.key()),
            None => self.matcher.key(),
        }
    }
}

impl Match {
    /// A stable key for duplicate detection and printing.
    pub fn key(&self) -> String {
        match self {
            Match::Did(d) => format!("did {d}"),
            Match::Pattern(p) => format!("pattern {}", p.source()),
            Match::Feature(f) => format!("feature {f}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Context {
    pub name: String,
    pub steps: Vec<Step>,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub app: App,
    /// Location of the step's `app = ...` value.
    pub loc: Loc,
    /// Location of each field's value, by field name.
    pub field_locs: BTreeMap<String, Loc>,
}

impl Step {
    /// Location of a field's value, or the step's location.
    pub fn loc_of(&self, field: &str) -> &Loc {
        self.field_locs.get(field).unwrap_or(&self.loc)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum App {
    Answer,
    Play {
        prompts: Vec<String>,
    },
    Menu {
        prompt: Vec<String>,
        choices: BTreeMap<String, String>,
        invalid: Vec<String>,
        timeout_ms: u64,
        /// Re-prompts after the first failed attempt (total attempts = 1 + retries).
        retries: u32,
        fallback: Option<String>,
    },
    Goto {
        context: String,
    },
    If {
        cond: Cond,
        then: String,
        else_: String,
    },
    Collect {
        into: String,
        min: u32,
        max: u32,
        terminator: Option<char>,
        first_timeout_ms: u64,
        inter_timeout_ms: u64,
        prompt: Vec<String>,
    },
    Set {
        var: String,
        value: String,
    },
    Say {
        kind: SayKind,
        /// Expanded at run time (`${account}`).
        value: String,
        /// Local time zone for `date` / `time` (fixed offset or IANA).
        zone: time::Zone,
    },
    Dial {
        targets: Vec<String>,
        timeout_s: u64,
        ringback: interp::Ringback,
    },
    Queue {
        name: String,
        /// Ring-group fallback when no ACD queue of that name exists.
        members: Vec<String>,
        /// Higher is served first (0 = normal).
        priority: i64,
        /// Required skills with minimum proficiency (1-10), for skills-based queues.
        skills: BTreeMap<String, u8>,
    },
    /// Listen to, whisper to or barge into an agent's call.
    Supervise {
        mode: SuperviseMode,
        /// The agent (id or extension) whose call to join.
        agent: String,
    },
    /// Agent sign-in/out and pause from the phone (feature codes).
    Agent {
        op: AgentOp,
        /// Pause reason code (`${dialed:3}` for `*43<code>`).
        reason: Option<String>,
    },
    Voicemail {
        mailbox: String,
    },
    Conference {
        room: String,
        /// Collected by the interpreter before joining (3 attempts).
        pin: Option<String>,
    },
    VoicemailMain {
        mailbox: Option<String>,
    },
    Lookup {
        by: interp::LookupBy,
        value: String,
        prefix: String,
        found: Option<String>,
        not_found: Option<String>,
    },
    Http {
        method: interp::HttpMethod,
        url: String,
        /// Variables sent; `None` = every call variable.
        send: Option<Vec<String>>,
        /// JSON key -> variable; `None` = every scalar as `${prefix}_<key>`.
        map: Option<BTreeMap<String, String>>,
        prefix: String,
        timeout_ms: u64,
        on_error: Option<String>,
    },
    Record {
        into: String,
        max_ms: u64,
        silence_ms: u64,
        beep: bool,
        terminators: String,
    },
    Hangup {
        cause: u16,
    },
    /// Receive a fax on this call (T.38 when the peer or we switch to it,
    /// else G.711 audio). Sets `${fax_status}` (ok/failed), `${fax_pages}`,
    /// `${fax_reason}` and `${fax_id}`.
    FaxReceive {
        /// Mail the PDF here (may use `${var}`).
        email: Option<String>,
        /// Our station id (CSI); default `[fax] ident`.
        ident: Option<String>,
    },
    /// Send a document: on this call (`to` = None; fax-on-demand) or as an
    /// outbound job to a number (queued, retried on busy/no answer). Sets
    /// the same variables as `FaxReceive` (`${fax_status}` is `queued` for
    /// a job).
    FaxSend {
        /// A file under the fax library (`[fax] library`), or a `${var}`
        /// expanding to one, e.g. `${doc}` for a collected document number.
        document: String,
        to: Option<String>,
        ident: Option<String>,
        header: Option<String>,
    },
}

/// The test of an `if` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// A named time rule matches the call's time.
    Time(String),
    /// A variable test.
    Var { var: String, test: VarTest },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarTest {
    /// Equal to the (expanded) string.
    Equals(String),
    /// `not_empty = true` (or `false`: is empty). Unset variables are empty.
    NotEmpty(bool),
    /// Starts with the (expanded) string.
    Prefix(String),
}

/// What a `say` step speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SayKind {
    Digits,
    Number,
    /// Money, "42.17" -> 42 dollars and 17 cents.
    Amount,
    /// Unix seconds -> weekday, month, day ordinal.
    Date,
    /// Unix seconds -> hour, minute, am/pm.
    Time,
}

impl App {
    pub fn name(&self) -> &'static str {
        match self {
            App::Answer => "answer",
            App::Play { .. } => "play",
            App::Menu { .. } => "menu",
            App::Goto { .. } => "goto",
            App::If { .. } => "if",
            App::Collect { .. } => "collect",
            App::Set { .. } => "set",
            App::Say { .. } => "say",
            App::Dial { .. } => "dial",
            App::Queue { .. } => "queue",
            App::Agent { .. } => "agent",
            App::Supervise { .. } => "supervise",
            App::Voicemail { .. } => "voicemail",
            App::Conference { .. } => "conference",
            App::VoicemailMain { .. } => "voicemail_main",
            App::Lookup { .. } => "lookup",
            App::Http { .. } => "http",
            App::Record { .. } => "record",
            App::Hangup { .. } => "hangup",
            App::FaxReceive { .. } => "fax_receive",
            App::FaxSend { .. } => "fax_send",
        }
    }
}

/// How a supervisor joins an agent's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuperviseMode {
    /// Hears both, heard by nobody.
    Listen,
    /// Hears both, heard by the agent only (coaching).
    Whisper,
    /// Hears both, heard by both.
    Barge,
}

/// What an `agent` step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOp {
    Login,
    Logout,
    Pause,
    Unpause,
}

/// Apps the loader recognises.
pub const KNOWN_APPS: &[&str] = &[
    "answer", "play", "menu", "goto", "if", "collect", "set", "say", "dial", "queue", "agent", "supervise", "voicemail",
    "conference", "voicemail_main", "lookup", "http", "record", "hangup", "fax_receive", "fax_send",
];

/// Apps that are planned but not implemented yet; the loader rejects them
/// with a clear message (`fax` is the old name of `fax_receive`/`fax_send`;
/// callbacks come from the web channel, not the dialplan, for now).
pub const PLANNED_APPS: &[&str] = &["fax", "callback"];

impl Dialplan {
    /// The entry for a dialed number arriving from `trunk` (None: from an
    /// extension): exact `did`, then `feature`, then the first matching
    /// `pattern` in declaration order; within each kind an entry for this
    /// very trunk wins over one for any source.
    pub fn find_entry(&self, dialed: &str, trunk: Option<&str>) -> Option<&Entry> {
        let kinds: [&dyn Fn(&Match) -> bool; 3] = [
            &|m| matches!(m, Match::Did(d) if d == dialed),
            &|m| matches!(m, Match::Feature(f) if f == dialed) && trunk.is_none(),
            &|m| matches!(m, Match::Pattern(p) if p.matches(dialed)),
        ];
        kinds.iter().find_map(|hit| {
            let mut candidates = self.entries.iter().filter(|e| hit(&e.matcher));
            let own = self.entries.iter().filter(|e| hit(&e.matcher)).find(|e| e.trunk.is_some() && e.trunk.as_deref() == trunk);
            own.or_else(|| candidates.find(|e| e.trunk.is_none()))
        })
    }
}

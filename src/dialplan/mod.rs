//! Dialplan engine: TOML model, loader, validator, sans-IO interpreter and
//! simulator (issue 4).
//!
//! * `load` parses every `*.toml` file of a directory into a [`Dialplan`];
//!   every error is a `file:line:col: message` string.
//! * `validate` checks cross references (contexts, time rules) and limits.
//! * `interp` runs one call: [`Session::poll`] returns the next [`Action`],
//!   the driver answers with [`Session::input`]. No IO, no clock: the call's
//!   time is given in [`CallInfo::now`].
//! * `simulate` drives a session with scripted digits and prints each step.

pub mod interp;
pub mod live;
pub mod load;
pub mod ops;
pub mod pattern;
pub mod simulate;
pub mod time;
pub mod validate;

use std::collections::BTreeMap;
use std::fmt;

pub use interp::{Action, CallInfo, DialOutcome, Event, Session};
pub use load::{fuzz_load, load_dir, load_files, load_str};
pub use pattern::Pattern;
pub use simulate::simulate;
pub use time::{parse_rfc3339, Civil, TimeRule};
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
        time: String,
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
        digits: Option<String>,
        number: Option<String>,
    },
    Dial {
        targets: Vec<String>,
        timeout_s: u64,
    },
    Queue {
        name: String,
        members: Vec<String>,
    },
    Voicemail {
        mailbox: String,
    },
    Conference {
        room: String,
    },
    Hangup {
        cause: u16,
    },
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
            App::Voicemail { .. } => "voicemail",
            App::Conference { .. } => "conference",
            App::Hangup { .. } => "hangup",
        }
    }
}

/// Apps the loader recognises.
pub const KNOWN_APPS: &[&str] = &[
    "answer", "play", "menu", "goto", "if", "collect", "set", "say", "dial", "queue", "voicemail",
    "conference", "hangup",
];

/// Apps that are planned but not implemented yet; the loader rejects them
/// with a clear message.
pub const PLANNED_APPS: &[&str] = &["http", "lookup", "record"];

impl Dialplan {
    /// The entry for a dialed number: exact `did`, then `feature`, then the
    /// first matching `pattern` in declaration order.
    pub fn find_entry(&self, dialed: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| matches!(&e.matcher, Match::Did(d) if d == dialed))
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|e| matches!(&e.matcher, Match::Feature(f) if f == dialed))
            })
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|e| matches!(&e.matcher, Match::Pattern(p) if p.matches(dialed)))
            })
    }
}

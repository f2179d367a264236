//! Command-line definitions (clap). The binary edge: errors here are
//! `anyhow`, printed as one line, exit code 1; usage errors exit 2.

pub mod acd;
pub mod admin;
pub mod apikey;
pub mod health;
pub mod trunks;
pub mod update;
pub mod users;
pub mod voicemail;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use trunks::TrunkCmd;

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "Contact-center appliance: softswitch, IVR, ACD, fax, web console")]
pub struct Cli {
    /// Data directory (SQLite database, recordings).
    #[arg(long, global = true, default_value = "./var", value_name = "DIR")]
    pub data: PathBuf,
    /// Configuration file (TOML). Without it: `<data>/switchboard.toml` when
    /// it exists (the console writes it there), else the embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the appliance (SIP, media, web console).
    Run(RunArgs),
    /// Validate the configuration file and exit.
    CheckConfig,
    /// Manage extensions (SIP phones).
    #[command(subcommand)]
    Extension(ExtensionCmd),
    /// Manage SIP trunks toward carriers.
    #[command(subcommand)]
    Trunk(TrunkCmd),
    /// Detect DTMF digits in an audio file (WAV, MP3, Ogg, FLAC; any rate):
    /// prints `<start seconds> <digit>` per digit.
    Dtmf {
        file: PathBuf,
    },
    /// Work with dialplans.
    #[command(subcommand)]
    Dialplan(DialplanCmd),
    /// Manage the customer table the dialplan `lookup` app reads.
    #[command(subcommand)]
    Customer(CustomerCmd),
    /// Show recent call recordings, newest first.
    Recordings {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Manage voicemail boxes (per extension or per group).
    #[command(subcommand)]
    Mailbox(MailboxCmd),
    /// Voicemail messages.
    #[command(subcommand)]
    Voicemail(VoicemailCmd),
    /// Manage ACD queues and their members.
    #[command(subcommand)]
    Queue(QueueCmd),
    /// Manage ACD agents and their skills.
    #[command(subcommand)]
    Agent(AgentCmd),
    /// List queue callback requests: pending ones in queue order, or all
    /// (newest first) with --all.
    Callbacks {
        /// Only this queue.
        #[arg(long)]
        queue: Option<String>,
        /// Include finished (done and failed) requests.
        #[arg(long)]
        all: bool,
        /// How many requests with --all.
        #[arg(long, default_value_t = 50, requires = "all")]
        limit: i64,
    },
    /// Manage API keys for programs (CTI event stream, statistics).
    #[command(subcommand)]
    Apikey(ApiKeyCmd),
    /// Manage console users (admin, supervisor, agent).
    #[command(subcommand)]
    User(UserCmd),
    /// Print a new one-time link that creates the first console admin
    /// (only while no admin exists).
    SetupLink,
    /// Check that the running appliance answers on its console address
    /// (exit status 0 when healthy); for scripts and service managers.
    Health {
        /// Only print the configured listen ports (`http=8080`, ...).
        #[arg(long)]
        ports: bool,
    },
    /// Show recent call records (CDRs), newest first.
    Calls {
        /// How many records.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// System updates of the appliance image (root slots A and B).
    #[command(subcommand)]
    Update(UpdateCmd),
}

#[derive(Debug, Subcommand)]
pub enum UpdateCmd {
    /// Stage an update file (switchboard-<version>.update): the appliance
    /// image writes it to the root slot not running, checks it and reboots
    /// into it. Calls in progress are cut off.
    Apply {
        file: PathBuf,
        /// Only check and stage the file, also where nothing applies it
        /// (not the appliance image): for tests.
        #[arg(long)]
        stage_only: bool,
    },
    /// Show the running version, the root slot and the last update's status.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Add a user; the password is read from standard input.
    Add {
        username: String,
        /// admin, supervisor or agent.
        #[arg(long)]
        role: String,
        /// The ACD agent id an agent user works as.
        #[arg(long)]
        agent: Option<String>,
        /// Full name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List users (never passwords).
    List,
    /// Set a user's password (read from standard input); ends their sessions.
    Passwd { username: String },
    /// Remove a user (not the last admin).
    Rm { username: String },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// SIP address (UDP and TCP), overrides sip.listen.
    #[arg(long, value_name = "ADDR:PORT")]
    pub sip: Option<SocketAddr>,
    /// Web console address, overrides http.listen.
    #[arg(long, value_name = "ADDR:PORT")]
    pub http: Option<SocketAddr>,
    /// RTP port range, overrides rtp.port_min/port_max.
    #[arg(long, value_name = "LO-HI", value_parser = parse_port_range)]
    pub rtp_ports: Option<(u16, u16)>,
    /// SIP over TLS address, overrides sip.tls_listen ("" turns it off).
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub sip_tls: Option<Listen>,
    /// Web console HTTPS address, overrides http.tls_listen ("" turns it off).
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub https: Option<Listen>,
}

/// An optional listener given on the command line: an address, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

fn parse_listen(s: &str) -> Result<Listen, String> {
    switchboard::config::parse_optional_listen(s).map(Listen)
}

#[derive(Debug, Subcommand)]
pub enum ExtensionCmd {
    /// Add an extension a phone can register as.
    Add {
        /// Extension number (digits).
        number: String,
        /// SIP password (at least 8 characters; stored only as digest hashes).
        #[arg(long)]
        secret: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Codecs this phone may use, most preferred first, e.g. "G722,PCMU".
        /// Relayed offers toward it are held to them; a caller offering none
        /// of them is transcoded. Its own calls use them where the media
        /// engine answers (otherwise the callee's list applies). Without a
        /// list: any codec when relayed, [media] codecs in the engine.
        #[arg(long)]
        codecs: Option<String>,
        /// Outbound class of service: internal, national, international or
        /// premium (which external numbers it may dial; see [dialing]).
        #[arg(long = "class", default_value = "national")]
        dial_class: String,
    },
    /// Set an extension's outbound class of service (internal, national,
    /// international, premium).
    Class { number: String, class: String },
    /// List extensions and their live registrations.
    List,
    /// Remove an extension and its registrations.
    Rm { number: String },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCmd {
    /// Create a key; it is printed once and cannot be shown again.
    Add {
        /// Key name (letters, digits, '-', '_', '.').
        name: String,
        /// What the key may use: events, stats, calls, fax or admin (all);
        /// repeat or comma separate.
        #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// List keys: name, prefix, scopes, created, last used (never the key).
    List,
    /// Remove a key; programs using it are refused from then on.
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum MailboxCmd {
    /// Add a mailbox.
    Add {
        /// Mailbox number (digits; an extension's number for its own box).
        number: String,
        /// PIN for listening with *97: 4 to 10 digits (stored only hashed).
        #[arg(long)]
        pin: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Send new messages to this address (needs [smtp] configured).
        #[arg(long)]
        email: Option<String>,
        /// A shared mailbox for a group of extensions (needs --members).
        #[arg(long, requires = "members")]
        group: bool,
        /// Group members, comma separated extensions (e.g. 1001,1002).
        #[arg(long, value_delimiter = ',', requires = "group")]
        members: Vec<String>,
        /// Longest message in seconds (default: [voicemail] max_message_secs).
        #[arg(long)]
        max_secs: Option<u32>,
    },
    /// List mailboxes with their message counts.
    List,
    /// Remove a mailbox, its messages and their audio files.
    Rm { number: String },
    /// Set the greeting callers hear from an audio file (WAV, MP3, Ogg, FLAC;
    /// any rate), or go back to the spoken default with --clear.
    Greeting {
        number: String,
        /// The recording; converted to 16 kHz mono WAV in the voicemail folder.
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        file: Option<PathBuf>,
        /// Remove the recorded greeting (and its file).
        #[arg(long)]
        clear: bool,
    },
    /// Set a new PIN (4 to 10 digits).
    Pin { number: String, pin: String },
}

#[derive(Debug, Subcommand)]
pub enum VoicemailCmd {
    /// List messages, newest first (all mailboxes, or one).
    List {
        /// Only this mailbox.
        mailbox: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueCmd {
    /// Add a queue.
    Add {
        /// Queue name (letters, digits, '-', '_').
        name: String,
        /// ring_all, longest_idle, round_robin, fewest_calls, random, linear or skills.
        #[arg(long, value_name = "S")]
        strategy: String,
        #[command(flatten)]
        opts: QueueOpts,
    },
    /// Change settings of a queue; options not given keep their values.
    Set {
        name: String,
        /// ring_all, longest_idle, round_robin, fewest_calls, random, linear or skills.
        #[arg(long, value_name = "S")]
        strategy: Option<String>,
        #[command(flatten)]
        opts: QueueOpts,
    },
    /// List queues with their settings.
    List,
    /// Remove a queue and its memberships (pending callbacks fail).
    Rm { name: String },
    /// Add or remove queue members.
    #[command(subcommand)]
    Member(MemberCmd),
    /// List a queue's members, lowest penalty first.
    Members { queue: String },
}

/// Queue settings shared by `queue add` and `queue set`.
#[derive(Debug, Args)]
pub struct QueueOpts {
    /// Seconds one offer rings an agent (default 20).
    #[arg(long, value_name = "SECS")]
    pub ring_timeout: Option<u32>,
    /// Seconds between unanswered offers (default 5).
    #[arg(long, value_name = "SECS")]
    pub retry_delay: Option<u32>,
    /// Seconds of wrap-up after each call (default 10).
    #[arg(long, value_name = "SECS")]
    pub wrapup: Option<u32>,
    /// Longest wait before overflow; 0 = no limit (the default).
    #[arg(long, value_name = "SECS")]
    pub max_wait: Option<u32>,
    /// Callers allowed to wait at once; 0 = no limit (the default).
    #[arg(long, value_name = "N")]
    pub max_callers: Option<u32>,
    /// Accept callers while no agent is logged in.
    #[arg(long, conflicts_with = "no_join_empty")]
    pub join_empty: bool,
    /// Refuse callers while no agent is logged in (the default).
    #[arg(long)]
    pub no_join_empty: bool,
    /// Keep waiting callers when the last agent logs out.
    #[arg(long, conflicts_with = "leave_when_empty")]
    pub no_leave_when_empty: bool,
    /// Send waiting callers to overflow when the last agent logs out (the default).
    #[arg(long)]
    pub leave_when_empty: bool,
    /// Music-on-hold class for waiting callers (default "default").
    #[arg(long, value_name = "CLASS")]
    pub moh: Option<String>,
    /// Seconds between position announcements; 0 = off (default 30).
    #[arg(long, value_name = "SECS")]
    pub announce_every: Option<u32>,
    /// Answer-time target for the service level (default 20).
    #[arg(long, value_name = "SECS")]
    pub service_level: Option<u32>,
    /// Where callers go when the queue gives up: queue:NAME, voicemail:BOX,
    /// context:NAME, or none.
    #[arg(long, value_name = "DEST")]
    pub overflow: Option<String>,
    /// Skill-minimum relaxation, e.g. "30:1,60:2" (after 30 s lower by 1,
    /// after 60 s by 2), or none.
    #[arg(long, value_name = "SECS:LEVELS,...")]
    pub skill_relax: Option<String>,
    /// DTMF key a caller presses to be called back (0-9, *, #), or none.
    #[arg(long, value_name = "KEY")]
    pub callback_key: Option<String>,
    /// Dial attempts per callback (default 3).
    #[arg(long, value_name = "N")]
    pub callback_attempts: Option<u32>,
    /// Seconds between callback attempts (default 120).
    #[arg(long, value_name = "SECS")]
    pub callback_retry: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    /// Add an agent to a queue, or change its penalty.
    Add {
        queue: String,
        agent: String,
        /// Members with a lower penalty are offered calls first (0 to 1000).
        #[arg(long, default_value_t = 0)]
        penalty: u32,
    },
    /// Remove an agent from a queue.
    Rm { queue: String, agent: String },
}

#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Add an agent (logged out until they log in from a phone).
    Add {
        /// Login name (letters, digits, '.', '-', '_').
        id: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Extension the agent's phone registers as (repeatable).
        #[arg(long = "ext", value_name = "NUMBER", required = true)]
        exts: Vec<String>,
        /// Unanswered offers in a row before the agent is made unavailable;
        /// 0 = never (default 3).
        #[arg(long, value_name = "N")]
        no_answer_limit: Option<u32>,
    },
    /// List agents with their state, queues and skills.
    List,
    /// Remove an agent with its skills and queue memberships.
    Rm { id: String },
    /// Give an agent a skill at LEVEL 1 to 10, or take it away with --remove.
    Skill {
        id: String,
        skill: String,
        #[arg(required_unless_present = "remove", conflicts_with = "remove")]
        level: Option<i64>,
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DialplanCmd {
    /// Print the path a call would take through the dialplan, without placing it.
    Simulate {
        /// Dialled number (DID) of the inbound call.
        #[arg(long)]
        did: String,
        /// Caller's number.
        #[arg(long, default_value = "anonymous")]
        caller: String,
        /// Trunk the call arrives on.
        #[arg(long, default_value = "")]
        trunk: String,
        /// Input for successive menus and digit collections, comma separated;
        /// an empty item is a timeout (e.g. "1,,2345#").
        #[arg(long, default_value = "")]
        digits: String,
        /// Time of the call, RFC 3339 (default: now).
        #[arg(long)]
        at: Option<String>,
        /// Pretend every `lookup` finds a customer with these fields, e.g.
        /// "name=Ann,balance=42.17" (default: not found).
        #[arg(long, value_name = "K=V,...")]
        lookup: Option<String>,
        /// Pretend every `http` webhook answers these top-level JSON fields
        /// (default: an empty object).
        #[arg(long, value_name = "K=V,...", conflicts_with = "http_error")]
        http: Option<String>,
        /// Pretend every `http` webhook fails with this error.
        #[arg(long, value_name = "MESSAGE", num_args = 0..=1, default_missing_value = "simulated error")]
        http_error: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomerCmd {
    /// Add a customer.
    Add {
        #[arg(long)]
        name: String,
        /// Account number (letters, digits, '-'; unique).
        #[arg(long)]
        account: Option<String>,
        /// Phone number, any notation (repeatable).
        #[arg(long = "phone", value_name = "NUMBER")]
        phones: Vec<String>,
        #[arg(long, default_value = "")]
        tags: String,
        #[arg(long, default_value = "")]
        notes: String,
        /// Extra field, e.g. balance=42.17 (repeatable); read in the dialplan
        /// as ${customer_balance}.
        #[arg(long = "field", value_name = "K=V")]
        fields: Vec<String>,
    },
    /// List customers.
    List,
    /// Import a CSV file: header name,account,phones,tags,notes (phones
    /// ';'-separated); further columns become fields. Existing accounts are updated.
    Import { file: PathBuf },
    /// Remove a customer by id (see `customer list`).
    Rm { id: i64 },
}

fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = s.split_once('-').ok_or_else(|| format!("expected LO-HI, got '{s}'"))?;
    let lo: u16 = lo.trim().parse().map_err(|_| format!("bad port '{lo}'"))?;
    let hi: u16 = hi.trim().parse().map_err(|_| format!("bad port '{hi}'"))?;
    if lo >= hi {
        return Err(format!("LO must be below HI in '{s}'"));
    }
    Ok((lo, hi))
}

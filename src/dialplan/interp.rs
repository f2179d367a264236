//! Sans-IO dialplan interpreter. [`Session::poll`] returns the next
//! [`Action`]; actions that need an answer (Play, Collect, Dial, Queue,
//! Lookup, Http, Record) are returned again by `poll` until
//! [`Session::input`] delivers the event. Answer needs no answer; Voicemail,
//! VoicemailMain, Conference and Hangup end the session (the next poll
//! returns [`Action::Done`]). A conference PIN is collected here, with
//! ordinary Collect/Play actions, before `Conference` is returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{App, Cond, Dialplan, SayKind, VarTest};

/// Everything the plan may know about the call. `now` is Unix seconds (UTC);
/// time rules convert it to local time in their own zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub did: String,
    pub caller: String,
    pub trunk: String,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Answer,
    /// Play prompts in order; answer with `Event::PlayDone`.
    Play(Vec<String>),
    /// Play prompts (interruptible) and collect digits; answer with
    /// `Event::Digits` (terminator included or not) or `Event::Timeout`.
    Collect { prompts: Vec<String>, min: u32, max: u32, terminator: Option<char>, first_timeout_ms: u64, inter_timeout_ms: u64 },
    /// Answer with `Event::DialResult`. The caller hears `ringback` while
    /// the targets ring.
    Dial { targets: Vec<String>, timeout_s: u64, ringback: Ringback },
    /// Wait in the ACD queue `name` (or ring `members` when no such
    /// queue exists). Answer with `Event::DialResult`.
    Queue { name: String, members: Vec<String>, priority: i64, skills: BTreeMap<String, u8> },
    /// Join the agent's current call as a supervisor; ends the session.
    Supervise { mode: super::SuperviseMode, agent: String },
    /// Agent sign-in/out or pause for the calling extension's agent.
    /// Answer with `Event::Agent`; sets `${agent_status}` (ok/error) and `${agent_error}`.
    Agent { op: super::AgentOp, reason: Option<String> },
    Voicemail { mailbox: String },
    /// Voicemail retrieval (the `*97` feature). `None`: ask for the mailbox.
    VoicemailMain { mailbox: Option<String> },
    Conference { room: String },
    /// Customer table lookup; answer with `Event::Lookup`.
    Lookup { by: LookupBy, value: String },
    /// Webhook call (see `dialplan::webhook::call`); answer with `Event::Http`.
    Http(HttpRequest),
    /// Record the caller into a file the driver picks under the data dir,
    /// beep first if `beep`, stop on a key in `terminators`, `silence_ms`
    /// of silence (0 = off) or `max_ms`. Answer with `Event::Recorded`.
    Record { max_ms: u64, silence_ms: u64, beep: bool, terminators: String },
    /// Receive a fax (see `App::FaxReceive`); answer with `Event::Fax`.
    FaxReceive { email: Option<String>, ident: Option<String> },
    /// Send a library document on this call or as a job to `to`; answer
    /// with `Event::Fax`.
    FaxSend { document: String, to: Option<String>, ident: Option<String>, header: Option<String> },
    Hangup(u16),
    Done,
}

/// What the caller hears while a dial rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ringback {
    /// The ringing tone (or the callee's early media).
    Tone,
    /// Music on hold; `None` = the default class.
    Music(Option<String>),
}

/// Which customer key a lookup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupBy {
    /// A phone number (normally `${caller}`); see `store::customers`.
    Caller,
    /// An account number (normally collected digits).
    Account,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

/// A webhook request: POST sends `vars` as a JSON object body, GET as the
/// query string. The answer is the response's top-level JSON scalars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: HttpMethod,
    pub url: String,
    pub vars: BTreeMap<String, String>,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    Answered,
    NoAnswer,
    Busy,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    PlayDone,
    Digits(String),
    Timeout,
    DialResult(DialOutcome),
    /// The customer's fields (`Customer::vars()`), or `None` = not found.
    Lookup(Option<BTreeMap<String, String>>),
    /// Top-level scalars of the JSON response, or why the call failed
    /// (connect error, timeout, non-2xx, not JSON).
    Http(Result<BTreeMap<String, String>, String>),
    /// The recording's file and the audio kept (0 = nothing usable).
    Recorded { path: String, duration_ms: u64 },
    /// The agent operation's result.
    Agent(Result<(), String>),
    /// How a fax step ended.
    Fax(FaxResult),
}

/// A fax step's outcome, as `${fax_status}` and friends show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaxResult {
    /// `ok`, `failed`, or `queued` (an outbound job was created).
    pub status: String,
    pub pages: u32,
    /// The T.30 result in words ("OK", "Far end is not able to receive").
    pub reason: String,
    /// The fax record (received fax or send job).
    pub id: Option<i64>,
}

/// Conference PIN attempts before hanging up.
const PIN_ATTEMPTS: u32 = 3;

/// Steps executed without waiting for input before the session gives up
/// (protects against `goto` loops).
const STEP_BUDGET: usize = 1000;

#[derive(Debug, Clone)]
enum State {
    Run,
    AwaitPlay,
    AwaitCollect { into: String, terminator: Option<char>, max: u32 },
    /// Menu step at the current pc; `attempt` starts at 0.
    MenuCollect { attempt: u32 },
    /// Playing the invalid prompt; then re-collect with `attempt`.
    MenuInvalid { attempt: u32 },
    AwaitDial,
    AwaitAgent,
    AwaitLookup { prefix: String, found: Option<String>, not_found: Option<String> },
    AwaitHttp { map: Option<BTreeMap<String, String>>, prefix: String, on_error: Option<String> },
    AwaitRecord { into: String },
    AwaitFax,
    /// Collecting a conference PIN; `attempt` failures so far.
    ConfPin { room: String, pin: String, attempt: u32 },
    /// Playing "conf-invalid-pin" after `attempt` failures.
    ConfInvalid { room: String, pin: String, attempt: u32 },
    Finished,
}

/// A JSON key or customer field as a variable-name suffix: other characters
/// become `_` (keys are input; `${...}` names must stay `[A-Za-z0-9_]`).
fn var_suffix(key: &str) -> String {
    key.chars().take(48).map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn pin_collect() -> Action {
    Action::Collect { prompts: vec!["conf-enter-pin".into()], min: 1, max: 16, terminator: Some('#'), first_timeout_ms: 10_000, inter_timeout_ms: 5_000 }
}

pub struct Session {
    plan: Arc<Dialplan>,
    call: CallInfo,
    vars: BTreeMap<String, String>,
    ctx: String,
    pc: usize,
    state: State,
    outstanding: Option<Action>,
    path: Vec<String>,
    trace: Vec<String>,
    steps_since_input: usize,
}

/// Prompt names for a digit string: 0-9, `star`, `pound`; others skipped.
pub fn digits_to_prompts(s: &str) -> Vec<String> {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c.to_string()),
            '*' => Some("star".into()),
            '#' => Some("pound".into()),
            _ => None,
        })
        .collect()
}

/// Prompt names for a non-negative number ("1", "hundred", "20", "3", ...).
pub fn number_to_prompts(n: u64) -> Vec<String> {
    fn below_thousand(n: u64, out: &mut Vec<String>) {
        if n >= 100 {
            out.push((n / 100).to_string());
            out.push("hundred".into());
        }
        let r = n % 100;
        if r >= 20 {
            out.push((r / 10 * 10).to_string());
            if !r.is_multiple_of(10) {
                out.push((r % 10).to_string());
            }
        } else if r > 0 {
            out.push(r.to_string());
        }
    }
    if n == 0 {
        return vec!["0".into()];
    }
    let mut out = Vec::new();
    let groups = [(1_000_000_000u64, Some("billion")), (1_000_000, Some("million")), (1_000, Some("thousand")), (1, None)];
    let mut rest = n;
    for (unit, name) in groups {
        let g = rest / unit;
        rest %= unit;
        if g > 0 {
            if g >= 1000 {
                // Only for billions above 999: "18 billion billion ..." style.
                out.extend(number_to_prompts(g));
            } else {
                below_thousand(g, &mut out);
            }
            if let Some(name) = name {
                out.push(name.into());
            }
        }
    }
    out
}

/// `${var:offset}` / `${var:offset:length}` (Asterisk style): a negative
/// offset counts from the end, a negative length leaves that many off the
/// end. `${dialed:1}` strips an outside-line prefix, `${dialed:-4}` keeps
/// the last four digits. A malformed range yields the whole value.
fn substring(value: &str, range: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len() as i64;
    let mut parts = range.splitn(2, ':');
    let Some(Ok(offset)) = parts.next().map(|o| o.trim().parse::<i64>()) else { return value.to_string() };
    let start = if offset < 0 { n.saturating_add(offset).max(0) } else { offset.min(n) };
    let end = match parts.next().map(|l| l.trim().parse::<i64>()) {
        None => n,
        Some(Ok(len)) if len < 0 => n.saturating_add(len).max(start),
        Some(Ok(len)) => start.saturating_add(len).min(n),
        Some(Err(_)) => return value.to_string(),
    };
    chars[start as usize..end as usize].iter().collect()
}

impl Session {
    /// Start a call: picks the entry for `call.did`; with no entry the
    /// session hangs up with cause 1 (unallocated number).
    pub fn start(plan: Arc<Dialplan>, call: CallInfo) -> Session {
        let mut vars = BTreeMap::new();
        vars.insert("caller".to_string(), call.caller.clone());
        vars.insert("did".to_string(), call.did.clone());
        vars.insert("dialed".to_string(), call.did.clone());
        vars.insert("trunk".to_string(), call.trunk.clone());
        vars.insert("now".to_string(), call.now.to_string());
        let mut s = Session {
            plan: plan.clone(),
            call,
            vars,
            ctx: String::new(),
            pc: 0,
            state: State::Run,
            outstanding: None,
            path: Vec::new(),
            trace: Vec::new(),
            steps_since_input: 0,
        };
        let trunk = Some(s.call.trunk.as_str()).filter(|t| !t.is_empty());
        match plan.find_entry(&s.call.did, trunk) {
            Some(e) => {
                s.trace.push(format!("entry {} -> context {}", e.key(), e.context));
                s.enter(&e.context.clone());
            }
            None => {
                s.trace.push(format!("no entry matches {:?}", s.call.did));
                s.state = State::Finished;
                s.outstanding = Some(Action::Hangup(1));
            }
        }
        s
    }

    /// Sets a variable before the first poll (the driver's caller name,
    /// for example); later steps can overwrite it.
    pub fn set_var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    /// Continues in `context` instead of after the outstanding `dial`/`queue`
    /// step (a queue's overflow destination). False when no such step waits
    /// or the context does not exist.
    pub fn divert(&mut self, context: &str) -> bool {
        if !matches!(self.state, State::AwaitDial) || !self.plan.contexts.contains_key(context) {
            return false;
        }
        self.outstanding = None;
        self.state = State::Run;
        self.steps_since_input = 0;
        self.trace.push(format!("diverted to {context}"));
        self.enter(context);
        true
    }

    /// Leaves whatever step waits for the caller (a play, collect or menu)
    /// for `context`: a fax machine was heard, and the plan's fax context
    /// takes the call. False when the context does not exist or the
    /// session waits on something other than the caller.
    pub fn jump(&mut self, context: &str) -> bool {
        let waiting_on_caller = matches!(
            self.state,
            State::Run | State::AwaitPlay | State::AwaitCollect { .. } | State::MenuCollect { .. } | State::MenuInvalid { .. }
        );
        if !waiting_on_caller || !self.plan.contexts.contains_key(context) {
            return false;
        }
        self.outstanding = None;
        self.state = State::Run;
        self.steps_since_input = 0;
        self.trace.push(format!("jumped to {context}"));
        self.enter(context);
        true
    }

    /// Whether the plan has a context of that name.
    pub fn has_context(&self, name: &str) -> bool {
        self.plan.contexts.contains_key(name)
    }

    /// Contexts entered and menu choices taken (`choice=1`, `fallback`).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Human-readable notes (entries, branches, variables) so far.
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Finished) && self.outstanding.is_none()
    }

    fn enter(&mut self, ctx: &str) {
        self.ctx = ctx.to_string();
        self.pc = 0;
        self.path.push(ctx.to_string());
    }

    /// Expand `${name}`; unknown variables expand to "".
    pub fn expand(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            match rest[i + 2..].find('}') {
                Some(j) => {
                    let inner = &rest[i + 2..i + 2 + j];
                    let (name, range) = inner.split_once(':').map_or((inner, None), |(n, r)| (n, Some(r)));
                    let value = self.vars.get(name).map_or("", |v| v.as_str());
                    match range {
                        Some(r) => out.push_str(&substring(value, r)),
                        None => out.push_str(value),
                    }
                    rest = &rest[i + 3 + j..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn finish(&mut self, a: Action) -> Action {
        self.state = State::Finished;
        self.outstanding = None;
        a
    }

    fn menu_collect_action(&self) -> Action {
        match &self.plan.contexts[&self.ctx].steps[self.pc].app {
            App::Menu { prompt, timeout_ms, .. } => Action::Collect {
                prompts: prompt.clone(),
                min: 1,
                max: 1,
                terminator: None,
                first_timeout_ms: *timeout_ms,
                inter_timeout_ms: *timeout_ms,
            },
            _ => unreachable!("menu state on a menu step"),
        }
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> Action {
        if let Some(a) = &self.outstanding {
            let a = a.clone();
            if matches!(self.state, State::Finished) {
                self.outstanding = None;
            }
            return a;
        }
        loop {
            match self.state.clone() {
                State::Finished => return Action::Done,
                State::MenuCollect { .. } => {
                    let a = self.menu_collect_action();
                    self.outstanding = Some(a.clone());
                    return a;
                }
                State::AwaitPlay
                | State::AwaitCollect { .. }
                | State::MenuInvalid { .. }
                | State::AwaitDial
                | State::AwaitAgent
                | State::AwaitLookup { .. }
                | State::AwaitHttp { .. }
                | State::AwaitRecord { .. }
                | State::AwaitFax
                | State::ConfPin { .. }
                | State::ConfInvalid { .. } => {
                    // Waiting states always have an outstanding action; an
                    // inconsistency ends the call rather than the process.
                    self.trace.push("internal: waiting without an action".into());
                    return self.finish(Action::Hangup(41));
                }
                State::Run => {}
            }
            self.steps_since_input += 1;
            if self.steps_since_input > STEP_BUDGET {
                self.trace.push(format!("step budget exceeded in context {} (goto loop?)", self.ctx));
                return self.finish(Action::Hangup(41));
            }
            let plan = self.plan.clone();
            let Some(ctx) = plan.contexts.get(&self.ctx) else {
                self.trace.push(format!("unknown context {}", self.ctx));
                return self.finish(Action::Hangup(41));
            };
            let Some(step) = ctx.steps.get(self.pc) else {
                self.trace.push(format!("end of context {}", self.ctx));
                return self.finish(Action::Hangup(16));
            };
            self.pc += 1;
            let wait = |s: &mut Session, st: State, a: Action| {
                s.state = st;
                s.outstanding = Some(a.clone());
                a
            };
            match &step.app {
                App::Answer => return Action::Answer,
                App::Play { prompts } => {
                    let p = prompts.iter().map(|p| self.expand(p)).collect();
                    return wait(self, State::AwaitPlay, Action::Play(p));
                }
                App::Say { kind, value, zone } => {
                    let v = self.expand(value);
                    let p = match kind {
                        SayKind::Digits => digits_to_prompts(&v),
                        SayKind::Number => match v.trim().parse::<u64>() {
                            Ok(n) => number_to_prompts(n),
                            Err(_) => digits_to_prompts(&v),
                        },
                        SayKind::Amount => super::say::amount_to_prompts(&v),
                        SayKind::Date | SayKind::Time => match super::say::parse_unix(&v) {
                            Some(t) if *kind == SayKind::Date => super::say::date_to_prompts(t, zone),
                            Some(t) => super::say::time_to_prompts(t, zone),
                            None => {
                                self.trace.push(format!("say: {v:?} is not unix seconds"));
                                Vec::new()
                            }
                        },
                    };
                    if p.is_empty() {
                        self.trace.push("say: nothing to say".into());
                        continue;
                    }
                    return wait(self, State::AwaitPlay, Action::Play(p));
                }
                App::Menu { .. } => {
                    self.pc -= 1; // the menu stays current while it runs
                    self.state = State::MenuCollect { attempt: 0 };
                }
                App::Goto { context } => {
                    self.trace.push(format!("goto {context}"));
                    self.enter(context);
                }
                App::If { cond: Cond::Time(time), then, else_ } => {
                    let (ok, local) = match plan.time_rules.get(time) {
                        Some(r) => {
                            let c = r.local(self.call.now);
                            (r.matches(self.call.now), format!("{} {:04}-{:02}-{:02} {:02}:{:02}", c.weekday_name(), c.year, c.month, c.day, c.hour, c.minute))
                        }
                        None => (false, "unknown rule".into()),
                    };
                    let target = if ok { then } else { else_ };
                    self.trace.push(format!("if {time} ({local}): {ok} -> {target}"));
                    self.enter(target);
                }
                App::If { cond: Cond::Var { var, test }, then, else_ } => {
                    let value = self.vars.get(var).cloned().unwrap_or_default();
                    let (ok, what) = match test {
                        VarTest::Equals(e) => {
                            let e = self.expand(e);
                            (value == e, format!("== {e:?}"))
                        }
                        VarTest::Prefix(p) => {
                            let p = self.expand(p);
                            (value.starts_with(&p), format!("starts with {p:?}"))
                        }
                        VarTest::NotEmpty(want) => (value.is_empty() != *want, if *want { "not empty".into() } else { "empty".into() }),
                    };
                    let target = if ok { then } else { else_ };
                    self.trace.push(format!("if {var} ({value:?}) {what}: {ok} -> {target}"));
                    self.enter(target);
                }
                App::Collect { into, min, max, terminator, first_timeout_ms, inter_timeout_ms, prompt } => {
                    let a = Action::Collect {
                        prompts: prompt.iter().map(|p| self.expand(p)).collect(),
                        min: *min,
                        max: *max,
                        terminator: *terminator,
                        first_timeout_ms: *first_timeout_ms,
                        inter_timeout_ms: *inter_timeout_ms,
                    };
                    return wait(self, State::AwaitCollect { into: into.clone(), terminator: *terminator, max: *max }, a);
                }
                App::Set { var, value } => {
                    let v = self.expand(value);
                    self.trace.push(format!("set {var} = {v:?}"));
                    self.vars.insert(var.clone(), v);
                }
                App::Dial { targets, timeout_s, ringback } => {
                    let t = targets.iter().map(|t| self.expand(t)).collect();
                    let ringback = match ringback {
                        Ringback::Music(Some(c)) => Ringback::Music(Some(self.expand(c))),
                        r => r.clone(),
                    };
                    return wait(self, State::AwaitDial, Action::Dial { targets: t, timeout_s: *timeout_s, ringback });
                }
                App::Queue { name, members, priority, skills } => {
                    let m = members.iter().map(|t| self.expand(t)).collect();
                    let a = Action::Queue { name: self.expand(name), members: m, priority: *priority, skills: skills.clone() };
                    return wait(self, State::AwaitDial, a);
                }
                App::Supervise { mode, agent } => {
                    let a = Action::Supervise { mode: *mode, agent: self.expand(agent) };
                    return self.finish(a);
                }
                App::Agent { op, reason } => {
                    let a = Action::Agent { op: *op, reason: reason.as_ref().map(|r| self.expand(r)) };
                    return wait(self, State::AwaitAgent, a);
                }
                App::Voicemail { mailbox } => {
                    let a = Action::Voicemail { mailbox: self.expand(mailbox) };
                    return self.finish(a);
                }
                App::Conference { room, pin: None } => {
                    let a = Action::Conference { room: self.expand(room) };
                    return self.finish(a);
                }
                App::Conference { room, pin: Some(pin) } => {
                    let (room, pin) = (self.expand(room), self.expand(pin));
                    if pin.is_empty() {
                        // A `${var}` PIN that expanded to nothing: fail closed.
                        self.trace.push(format!("conference {room}: pin is empty, refusing"));
                        return self.finish(Action::Hangup(21));
                    }
                    return wait(self, State::ConfPin { room, pin, attempt: 0 }, pin_collect());
                }
                App::VoicemailMain { mailbox } => {
                    let a = Action::VoicemailMain { mailbox: mailbox.as_ref().map(|m| self.expand(m)) };
                    return self.finish(a);
                }
                App::Lookup { by, value, prefix, found, not_found } => {
                    let a = Action::Lookup { by: *by, value: self.expand(value) };
                    let st = State::AwaitLookup { prefix: prefix.clone(), found: found.clone(), not_found: not_found.clone() };
                    return wait(self, st, a);
                }
                App::Http { method, url, send, map, prefix, timeout_ms, on_error } => {
                    let vars = match send {
                        Some(names) => names.iter().map(|n| (n.clone(), self.vars.get(n).cloned().unwrap_or_default())).collect(),
                        None => self.vars.clone(),
                    };
                    let a = Action::Http(HttpRequest { method: *method, url: self.expand(url), vars, timeout_ms: *timeout_ms });
                    let st = State::AwaitHttp { map: map.clone(), prefix: prefix.clone(), on_error: on_error.clone() };
                    return wait(self, st, a);
                }
                App::Record { into, max_ms, silence_ms, beep, terminators } => {
                    let a = Action::Record { max_ms: *max_ms, silence_ms: *silence_ms, beep: *beep, terminators: terminators.clone() };
                    return wait(self, State::AwaitRecord { into: into.clone() }, a);
                }
                App::FaxReceive { email, ident } => {
                    let a = Action::FaxReceive { email: email.as_ref().map(|e| self.expand(e)), ident: ident.as_ref().map(|i| self.expand(i)) };
                    return wait(self, State::AwaitFax, a);
                }
                App::FaxSend { document, to, ident, header } => {
                    let a = Action::FaxSend {
                        document: self.expand(document),
                        to: to.as_ref().map(|t| self.expand(t)),
                        ident: ident.as_ref().map(|i| self.expand(i)),
                        header: header.as_ref().map(|h| self.expand(h)),
                    };
                    return wait(self, State::AwaitFax, a);
                }
                App::Hangup { cause } => return self.finish(Action::Hangup(*cause)),
            }
        }
    }

    /// Deliver the answer to the outstanding action. Events that do not fit
    /// the current state are ignored (and noted in the trace).
    pub fn input(&mut self, ev: Event) {
        self.steps_since_input = 0;
        let state = self.state.clone();
        match (state, ev) {
            (State::AwaitPlay, Event::PlayDone) => {
                self.state = State::Run;
                self.outstanding = None;
            }
            (State::AwaitCollect { into, terminator, max }, ev) if matches!(ev, Event::Digits(_) | Event::Timeout) => {
                let mut d = match ev {
                    Event::Digits(d) => d,
                    _ => String::new(),
                };
                if let Some(t) = terminator {
                    if let Some(i) = d.find(t) {
                        d.truncate(i);
                    }
                }
                d = d.chars().take(max as usize).collect();
                self.trace.push(format!("collected {into} = {d:?}"));
                self.vars.insert(into, d);
                self.state = State::Run;
                self.outstanding = None;
            }
            (State::MenuCollect { attempt }, ev) if matches!(ev, Event::Digits(_) | Event::Timeout) => {
                self.outstanding = None;
                let plan = self.plan.clone();
                let App::Menu { choices, invalid, retries, fallback, .. } = &plan.contexts[&self.ctx].steps[self.pc].app else {
                    unreachable!("menu state on a menu step")
                };
                let digit = match &ev {
                    Event::Digits(d) => d.chars().next().map(|c| c.to_string()),
                    _ => None,
                };
                if let Some(target) = digit.as_ref().and_then(|d| choices.get(d)) {
                    let d = digit.clone().unwrap_or_default();
                    self.trace.push(format!("menu choice {d} -> {target}"));
                    self.path.push(format!("choice={d}"));
                    self.state = State::Run;
                    self.enter(target);
                    return;
                }
                let what = match &digit {
                    Some(d) => format!("invalid choice {d}"),
                    None => "timeout".to_string(),
                };
                let attempt = attempt + 1;
                if attempt > *retries {
                    self.state = State::Run;
                    self.path.push("fallback".into());
                    match fallback {
                        Some(f) => {
                            self.trace.push(format!("menu {what}; attempts exhausted -> fallback {f}"));
                            self.enter(f);
                        }
                        None => {
                            self.trace.push(format!("menu {what}; attempts exhausted -> hangup"));
                            self.state = State::Finished;
                            self.outstanding = Some(Action::Hangup(16));
                        }
                    }
                    return;
                }
                self.trace.push(format!("menu {what} (attempt {attempt} of {})", retries + 1));
                if digit.is_some() && !invalid.is_empty() {
                    self.state = State::MenuInvalid { attempt };
                    self.outstanding = Some(Action::Play(invalid.clone()));
                } else {
                    self.state = State::MenuCollect { attempt };
                }
            }
            (State::MenuInvalid { attempt }, Event::PlayDone) => {
                self.outstanding = None;
                self.state = State::MenuCollect { attempt };
            }
            (State::AwaitAgent, Event::Agent(r)) => {
                self.outstanding = None;
                self.state = State::Run;
                let (status, error) = match r {
                    Ok(()) => ("ok", String::new()),
                    Err(e) => ("error", e),
                };
                self.trace.push(format!("agent: {status} {error}"));
                self.vars.insert("agent_status".into(), status.into());
                self.vars.insert("agent_error".into(), error);
            }
            (State::AwaitDial, Event::DialResult(r)) => {
                self.outstanding = None;
                if r == DialOutcome::Answered {
                    self.trace.push("answered".into());
                    self.state = State::Finished;
                } else {
                    self.trace.push(format!("dial result {r:?}, continuing"));
                    self.state = State::Run;
                }
            }
            (State::AwaitLookup { prefix, found, not_found }, Event::Lookup(res)) => {
                self.outstanding = None;
                self.state = State::Run;
                let target = match res {
                    Some(fields) => {
                        self.trace.push(format!("lookup: found ({} fields)", fields.len()));
                        for (k, v) in fields {
                            self.vars.insert(format!("{prefix}_{}", var_suffix(&k)), v);
                        }
                        self.vars.insert(format!("{prefix}_found"), "yes".into());
                        found
                    }
                    None => {
                        self.trace.push("lookup: not found".into());
                        self.vars.insert(format!("{prefix}_found"), "no".into());
                        not_found
                    }
                };
                if let Some(t) = target {
                    self.trace.push(format!("goto {t}"));
                    self.enter(&t);
                }
            }
            (State::AwaitHttp { map, prefix, on_error }, Event::Http(res)) => {
                self.outstanding = None;
                self.state = State::Run;
                match res {
                    Ok(fields) => {
                        let mut set = Vec::new();
                        match &map {
                            Some(map) => {
                                for (key, var) in map {
                                    if let Some(v) = fields.get(key) {
                                        self.vars.insert(var.clone(), v.clone());
                                        set.push(var.clone());
                                    }
                                }
                            }
                            None => {
                                for (k, v) in fields {
                                    let var = format!("{prefix}_{}", var_suffix(&k));
                                    self.vars.insert(var.clone(), v);
                                    set.push(var);
                                }
                            }
                        }
                        self.vars.insert(format!("{prefix}_status"), "ok".into());
                        self.trace.push(format!("http ok; set {}", if set.is_empty() { "nothing".to_string() } else { set.join(", ") }));
                    }
                    Err(e) => {
                        self.vars.insert(format!("{prefix}_status"), "error".into());
                        self.vars.insert(format!("{prefix}_error"), e.clone());
                        match on_error {
                            Some(t) => {
                                self.trace.push(format!("http error: {e} -> {t}"));
                                self.enter(&t);
                            }
                            None => self.trace.push(format!("http error: {e}, continuing")),
                        }
                    }
                }
            }
            (State::AwaitFax, Event::Fax(r)) => {
                self.outstanding = None;
                self.state = State::Run;
                self.trace.push(format!("fax {} ({} pages, {})", r.status, r.pages, r.reason));
                self.vars.insert("fax_status".into(), r.status);
                self.vars.insert("fax_pages".into(), r.pages.to_string());
                self.vars.insert("fax_reason".into(), r.reason);
                self.vars.insert("fax_id".into(), r.id.map(|i| i.to_string()).unwrap_or_default());
            }
            (State::AwaitRecord { into }, Event::Recorded { path, duration_ms }) => {
                self.outstanding = None;
                self.state = State::Run;
                self.trace.push(format!("recorded {into} = {path:?} ({duration_ms} ms)"));
                self.vars.insert(format!("{into}_ms"), duration_ms.to_string());
                self.vars.insert(into, path);
            }
            (State::ConfPin { room, pin, attempt }, ev) if matches!(ev, Event::Digits(_) | Event::Timeout) => {
                let mut d = match ev {
                    Event::Digits(d) => d,
                    _ => String::new(),
                };
                if let Some(i) = d.find('#') {
                    d.truncate(i);
                }
                if !d.is_empty() && d == pin {
                    self.trace.push(format!("conference {room}: pin ok"));
                    self.state = State::Finished;
                    self.outstanding = Some(Action::Conference { room });
                    return;
                }
                let attempt = attempt + 1;
                self.trace.push(format!("conference {room}: wrong pin (attempt {attempt} of {PIN_ATTEMPTS})"));
                self.state = State::ConfInvalid { room, pin, attempt };
                self.outstanding = Some(Action::Play(vec!["conf-invalid-pin".into()]));
            }
            (State::ConfInvalid { room, pin, attempt }, Event::PlayDone) => {
                if attempt >= PIN_ATTEMPTS {
                    self.trace.push(format!("conference {room}: attempts exhausted -> hangup"));
                    self.state = State::Finished;
                    self.outstanding = Some(Action::Hangup(16));
                } else {
                    self.state = State::ConfPin { room, pin, attempt };
                    self.outstanding = Some(pin_collect());
                }
            }
            (st, ev) => self.trace.push(format!("ignored event {ev:?} in state {st:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::load_str;

    const PLAN: &str = r#"
[[entry]]
match = { did = "100" }
context = "main"
[context.main]
steps = [
  { app = "answer" },
  { app = "menu", prompt = ["main-menu"], choices = { "1" = "sales", "2" = "support" }, invalid = ["invalid"], timeout_ms = 4000, retries = 2, fallback = "operator" },
]
[context.sales]
steps = [{ app = "dial", targets = ["1001"] }]
[context.support]
steps = [{ app = "set", var = "who", value = "${caller}@${did}" }, { app = "dial", targets = ["${who}"], timeout_s = 5 }, { app = "voicemail", mailbox = "1002" }]
[context.operator]
steps = [{ app = "hangup", cause = 17 }]
"#;

    fn start() -> Session {
        let plan = Arc::new(load_str("p.toml", PLAN).unwrap());
        Session::start(plan, CallInfo { did: "100".into(), caller: "555".into(), trunk: "t1".into(), now: 0 })
    }

    fn menu_action() -> Action {
        Action::Collect { prompts: vec!["main-menu".into()], min: 1, max: 1, terminator: None, first_timeout_ms: 4000, inter_timeout_ms: 4000 }
    }

    #[test]
    fn valid_choice() {
        let mut s = start();
        assert_eq!(s.poll(), Action::Answer);
        assert_eq!(s.poll(), menu_action());
        assert_eq!(s.poll(), menu_action(), "outstanding action repeats");
        s.input(Event::Digits("1".into()));
        assert_eq!(s.poll(), Action::Dial { targets: vec!["1001".into()], timeout_s: 30, ringback: Ringback::Tone });
        s.input(Event::DialResult(DialOutcome::Answered));
        assert_eq!(s.poll(), Action::Done);
        assert_eq!(s.path(), ["main", "choice=1", "sales"]);
    }

    #[test]
    fn invalid_then_valid_and_vars_and_dial_failover() {
        let mut s = start();
        s.poll();
        assert_eq!(s.poll(), menu_action());
        s.input(Event::Digits("7".into()));
        assert_eq!(s.poll(), Action::Play(vec!["invalid".into()]));
        s.input(Event::PlayDone);
        assert_eq!(s.poll(), menu_action());
        s.input(Event::Digits("2".into()));
        assert_eq!(s.poll(), Action::Dial { targets: vec!["555@100".into()], timeout_s: 5, ringback: Ringback::Tone });
        s.input(Event::DialResult(DialOutcome::NoAnswer));
        assert_eq!(s.poll(), Action::Voicemail { mailbox: "1002".into() });
        assert_eq!(s.poll(), Action::Done);
        assert_eq!(s.path(), ["main", "choice=2", "support"]);
    }

    #[test]
    fn timeouts_exhaust_retries_then_fallback() {
        let mut s = start();
        s.poll();
        for _ in 0..3 {
            assert_eq!(s.poll(), menu_action());
            s.input(Event::Timeout);
        }
        assert_eq!(s.poll(), Action::Hangup(17));
        assert_eq!(s.poll(), Action::Done);
        assert_eq!(s.path(), ["main", "fallback", "operator"]);
    }

    #[test]
    fn no_entry_and_goto_loop() {
        let plan = Arc::new(load_str("p.toml", "[[entry]]\nmatch = { pattern = \"_9X\" }\ncontext = \"a\"\n[context.a]\nsteps = [{ app = \"goto\", context = \"a\" }]\n").unwrap());
        let mut s = Session::start(plan.clone(), CallInfo { did: "1".into(), caller: "".into(), trunk: "".into(), now: 0 });
        assert_eq!(s.poll(), Action::Hangup(1));
        assert_eq!(s.poll(), Action::Done);
        let mut s = Session::start(plan, CallInfo { did: "91".into(), caller: "".into(), trunk: "".into(), now: 0 });
        assert_eq!(s.poll(), Action::Hangup(41));
        assert_eq!(s.poll(), Action::Done);
    }

    fn session(plan: &str, caller: &str) -> Session {
        let plan = Arc::new(load_str("p.toml", plan).unwrap_or_else(|e| panic!("{e:?}")));
        Session::start(plan, CallInfo { did: "1".into(), caller: caller.into(), trunk: "t".into(), now: 1_772_442_000 })
    }

    const NEW: &str = r#"
[[entry]]
match = { did = "1" }
context = "a"
[context.a]
steps = [
  { app = "lookup", by = "caller", found = "known" },
  { app = "if", var = "caller", prefix = "+1", then = "us", else = "other" },
]
[context.known]
steps = [
  { app = "http", method = "GET", url = "http://crm/${customer_name}", send = ["caller", "customer_name"] },
  { app = "if", var = "http_vip", equals = "true", then = "vip", else = "rec" },
]
[context.vip]
steps = [{ app = "conference", room = "vip-${customer_name}", pin = "${http_pin}" }]
[context.rec]
steps = [{ app = "record", into = "msg", silence_s = 0, beep = false, terminators = "*#" }, { app = "voicemail_main" }]
[context.us]
steps = [{ app = "say", date = "${now}", timezone = "-05:00" }, { app = "hangup" }]
[context.other]
steps = [{ app = "if", var = "customer_found", not_empty = true, then = "us", else = "a" }]
"#;

    #[test]
    fn lookup_not_found_continues_and_if_var_branches() {
        let mut s = session(NEW, "+15551234567");
        assert_eq!(s.poll(), Action::Lookup { by: LookupBy::Caller, value: "+15551234567".into() });
        s.input(Event::Lookup(None));
        assert_eq!(s.vars()["customer_found"], "no");
        // 2026-03-02 09:00 UTC is Monday 04:00 at -05:00.
        assert_eq!(s.poll(), Action::Play(vec!["monday".into(), "march".into(), "ord-2".into()]));
        assert_eq!(s.path(), ["a", "us"]);
        let mut s = session(NEW, "4420");
        s.poll();
        s.input(Event::Lookup(None));
        // customer_found = "no" is not empty -> us.
        assert!(matches!(s.poll(), Action::Play(_)));
        assert_eq!(s.path(), ["a", "other", "us"]);
    }

    #[test]
    fn lookup_found_http_get_and_pin_conference() {
        let mut s = session(NEW, "555");
        s.poll();
        s.input(Event::Lookup(Some(BTreeMap::from([("name".to_string(), "Ann".to_string()), ("odd key".to_string(), "1".to_string())]))));
        assert_eq!(s.vars()["customer_odd_key"], "1");
        let vars = BTreeMap::from([("caller".to_string(), "555".to_string()), ("customer_name".to_string(), "Ann".to_string())]);
        let req = HttpRequest { method: HttpMethod::Get, url: "http://crm/Ann".into(), vars, timeout_ms: 3000 };
        assert_eq!(s.poll(), Action::Http(req.clone()));
        assert_eq!(s.poll(), Action::Http(req), "outstanding action repeats");
        s.input(Event::Http(Ok(BTreeMap::from([("vip".to_string(), "true".to_string()), ("pin".to_string(), "77".to_string())]))));
        assert_eq!(s.vars()["http_status"], "ok");
        // PIN: two wrong tries (one a timeout), then right.
        assert_eq!(s.poll(), pin_collect());
        s.input(Event::Digits("1#".into()));
        assert_eq!(s.poll(), Action::Play(vec!["conf-invalid-pin".into()]));
        s.input(Event::PlayDone);
        assert_eq!(s.poll(), pin_collect());
        s.input(Event::Timeout);
        s.poll();
        s.input(Event::PlayDone);
        s.input(Event::Digits("77#".into()));
        assert_eq!(s.poll(), Action::Conference { room: "vip-Ann".into() });
        assert_eq!(s.poll(), Action::Done);
    }

    #[test]
    fn pin_attempts_exhausted_hang_up() {
        let mut s = session(NEW, "555");
        s.poll();
        s.input(Event::Lookup(Some(BTreeMap::new())));
        s.poll();
        s.input(Event::Http(Ok(BTreeMap::from([("vip".to_string(), "true".to_string()), ("pin".to_string(), "77".to_string())]))));
        for _ in 0..3 {
            assert_eq!(s.poll(), pin_collect());
            s.input(Event::Digits("9".into()));
            assert_eq!(s.poll(), Action::Play(vec!["conf-invalid-pin".into()]));
            s.input(Event::PlayDone);
        }
        assert_eq!(s.poll(), Action::Hangup(16));
        assert_eq!(s.poll(), Action::Done);
    }

    #[test]
    fn http_error_continues_record_and_voicemail_main() {
        let mut s = session(NEW, "555");
        s.poll();
        s.input(Event::Lookup(Some(BTreeMap::new())));
        s.poll();
        s.input(Event::Http(Err("timed out after 3000 ms".into())));
        assert_eq!(s.vars()["http_error"], "timed out after 3000 ms");
        // No on_error: continue; http_vip is unset -> rec.
        assert_eq!(s.poll(), Action::Record { max_ms: 60_000, silence_ms: 0, beep: false, terminators: "*#".into() });
        s.input(Event::PlayDone);
        assert!(matches!(s.poll(), Action::Record { .. }), "wrong event is ignored");
        s.input(Event::Recorded { path: "/var/rec/1.wav".into(), duration_ms: 1234 });
        assert_eq!((s.vars()["msg"].as_str(), s.vars()["msg_ms"].as_str()), ("/var/rec/1.wav", "1234"));
        assert_eq!(s.poll(), Action::VoicemailMain { mailbox: None });
        assert_eq!(s.poll(), Action::Done);
    }

    #[test]
    fn empty_pin_fails_closed() {
        let mut s = session(NEW, "555");
        s.poll();
        s.input(Event::Lookup(Some(BTreeMap::new())));
        s.poll();
        s.input(Event::Http(Ok(BTreeMap::from([("vip".to_string(), "true".to_string())]))));
        assert_eq!(s.poll(), Action::Hangup(21));
    }

    #[test]
    fn substrings() {
        assert_eq!(substring("912125550100", "1"), "12125550100");
        assert_eq!(substring("912125550100", "-4"), "0100");
        assert_eq!(substring("912125550100", "1:3"), "121");
        assert_eq!(substring("912125550100", "0:-4"), "91212555");
        assert_eq!(substring("12", "5"), "");
        assert_eq!(substring("12", "-9:1"), "1");
        assert_eq!(substring("12", "x"), "12");
        assert_eq!(substring("", "1:2"), "");
        assert_eq!(substring("123", "-9223372036854775808:9223372036854775807"), "123", "no overflow at the limits");
        let plan = Arc::new(load_str("p.toml", "[[entry]]\nmatch = { pattern = \"_9.\" }\ncontext = \"out\"\n[context.out]\nsteps = [{ app = \"dial\", targets = [\"${dialed:1}@carrier\"] }]\n").unwrap());
        let mut s = Session::start(plan, CallInfo { did: "95551234".into(), caller: "1001".into(), trunk: "".into(), now: 0 });
        assert!(matches!(s.poll(), Action::Dial { targets, .. } if targets == ["5551234@carrier"]));
    }

    #[test]
    fn entries_for_a_trunk_win_over_any_source() {
        let text = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"any\"\n[[entry]]\nmatch = { did = \"100\", trunk = \"b\" }\ncontext = \"from_b\"\n[[entry]]\nmatch = { trunk = \"c\" }\ncontext = \"from_c\"\n[context.any]\nsteps = [{ app = \"hangup\" }]\n[context.from_b]\nsteps = [{ app = \"hangup\" }]\n[context.from_c]\nsteps = [{ app = \"hangup\" }]\n";
        let plan = load_str("p.toml", text).unwrap();
        let ctx = |d: &str, t: Option<&str>| plan.find_entry(d, t).map(|e| e.context.clone());
        assert_eq!(ctx("100", Some("a")).as_deref(), Some("any"));
        assert_eq!(ctx("100", Some("b")).as_deref(), Some("from_b"));
        assert_eq!(ctx("100", None).as_deref(), Some("any"));
        assert_eq!(ctx("555", Some("c")).as_deref(), Some("from_c"));
        assert_eq!(ctx("555", Some("a")), None);
        assert_eq!(ctx("100", Some("c")).as_deref(), Some("any"), "an exact DID beats the trunk's catch-all");
    }

    #[test]
    fn say_mappings() {
        assert_eq!(digits_to_prompts("12*#a"), ["1", "2", "star", "pound"]);
        assert_eq!(number_to_prompts(0), ["0"]);
        assert_eq!(number_to_prompts(15), ["15"]);
        assert_eq!(number_to_prompts(42), ["40", "2"]);
        assert_eq!(number_to_prompts(300), ["3", "hundred"]);
        assert_eq!(number_to_prompts(1_234_017), ["1", "million", "2", "hundred", "30", "4", "thousand", "17"]);
        assert_eq!(number_to_prompts(u64::MAX).first().map(String::as_str), Some("18"));
    }
}

//! Loading dialplan TOML files into a [`Dialplan`]. Every error is a string
//! `file:line:col: message`; all errors of all files are returned at once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Spanned, Value};

use super::interp::{HttpMethod, LookupBy, Ringback};
use super::time::Zone;
use super::{AgentOp, App, SuperviseMode, Cond, Context, Dialplan, Entry, Loc, Match, Pattern, SayKind, Step, TimeRule, VarTest, KNOWN_APPS, PLANNED_APPS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    entry: Vec<RawEntry>,
    #[serde(default)]
    context: BTreeMap<String, RawContext>,
    #[serde(default)]
    time_rules: BTreeMap<String, RawTimeRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(rename = "match")]
    matcher: Spanned<RawMatch>,
    context: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    did: Option<Spanned<String>>,
    pattern: Option<Spanned<String>>,
    feature: Option<Spanned<String>>,
    /// Only calls from this trunk (alone: every call from it).
    trunk: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    steps: Spanned<Vec<Spanned<RawStep>>>,
}

type RawStep = BTreeMap<String, Spanned<Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRule {
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    weekdays: Vec<Spanned<String>>,
    #[serde(default)]
    hours: Vec<Spanned<String>>,
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
}

/// One file being converted.
struct Cx<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<String>,
}

impl Cx<'_> {
    fn loc(&self, offset: usize) -> Loc {
        let offset = offset.min(self.text.len());
        let mut off = offset;
        while !self.text.is_char_boundary(off) {
            off -= 1;
        }
        let before = &self.text[..off];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Loc { file: self.file.to_string(), line, col }
    }

    fn err(&mut self, loc: &Loc, msg: impl std::fmt::Display) {
        self.errors.push(format!("{loc}: {msg}"));
    }
}

/// Parse one file's text (no cross-file validation) into `plan`.
fn parse_into(plan: &mut Dialplan, file: &str, text: &str, errors: &mut Vec<String>) {
    let mut cx = Cx { file, text, errors: Vec::new() };
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let loc = cx.loc(e.span().map_or(0, |s| s.start));
            let msg = e.message().trim().to_string();
            cx.err(&loc, msg);
            errors.append(&mut cx.errors);
            return;
        }
    };

    for e in raw.entry {
        let loc = cx.loc(e.matcher.span().start);
        let m = e.matcher.into_inner();
        let trunk = match m.trunk {
            Some(t) if t.get_ref().trim().is_empty() => {
                cx.err(&cx.loc(t.span().start), "entry match: trunk must name a trunk");
                continue;
            }
            Some(t) if m.feature.is_some() => {
                cx.err(&cx.loc(t.span().start), "entry match: feature codes come from extensions, not trunks");
                continue;
            }
            Some(t) => Some(t.into_inner()),
            None => None,
        };
        let mut given: Vec<_> = [("did", m.did), ("pattern", m.pattern), ("feature", m.feature)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if given.is_empty() && trunk.is_some() {
            // `match = { trunk = "x" }`: every number that trunk delivers.
            given.push(("pattern", Spanned::new(0..0, "_.".to_string())));
        }
        if given.len() != 1 {
            cx.err(&loc, "entry match needs exactly one of did, pattern, feature (optionally with trunk)");
            continue;
        }
        let Some((kind, v)) = given.into_iter().next() else { continue };
        let vloc = cx.loc(v.span().start);
        let v = v.into_inner();
        let matcher = match kind {
            "pattern" => match Pattern::parse(&v) {
                Ok(p) => Match::Pattern(p),
                Err(msg) => {
                    cx.err(&vloc, msg);
                    continue;
                }
            },
            _ if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit() || "*#+".contains(c)) => {
                cx.err(&vloc, format!("bad {kind} {v:?}: digits, *, # and + only"));
                continue;
            }
            "did" => Match::Did(v),
            _ => Match::Feature(v),
        };
        let context_loc = cx.loc(e.context.span().start);
        plan.entries.push(Entry { matcher, trunk, context: e.context.into_inner(), loc, context_loc });
    }

    for (name, c) in raw.context {
        let loc = cx.loc(c.steps.span().start);
        if plan.contexts.contains_key(&name) {
            cx.err(&loc, format!("context {name:?} defined twice (also at {})", plan.contexts[&name].loc));
            continue;
        }
        let mut steps = Vec::new();
        let raw_steps = c.steps.into_inner();
        let declared = raw_steps.len();
        for s in raw_steps {
            let sloc = cx.loc(s.span().start);
            if let Some(step) = convert_step(&mut cx, sloc, s.into_inner()) {
                steps.push(step);
            }
        }
        if declared == 0 {
            cx.err(&loc, format!("context {name:?} has no steps"));
        }
        plan.contexts.insert(name.clone(), Context { name, steps, loc });
    }

    for (name, r) in raw.time_rules {
        let mut rule = TimeRule::new(&name);
        if plan.time_rules.contains_key(&name) {
            let l = r.timezone.as_ref().map(|t| cx.loc(t.span().start)).unwrap_or_else(|| cx.loc(0));
            cx.err(&l, format!("time rule {name:?} defined twice"));
            continue;
        }
        if let Some(tz) = &r.timezone {
            if let Err(m) = rule.set_timezone(tz.get_ref()) {
                let l = cx.loc(tz.span().start);
                cx.err(&l, m);
            }
        }
        for w in &r.weekdays {
            if let Err(m) = rule.set_weekdays(std::slice::from_ref(w.get_ref())) {
                let l = cx.loc(w.span().start);
                cx.err(&l, m);
            }
        }
        // set_weekdays replaces; union the items.
        if !r.weekdays.is_empty() {
            let mut days = [false; 7];
            for w in &r.weekdays {
                let mut one = TimeRule::new("");
                if one.set_weekdays(std::slice::from_ref(w.get_ref())).is_ok() {
                    for (d, o) in days.iter_mut().zip(one.weekdays) {
                        *d |= o;
                    }
                }
            }
            rule.weekdays = days;
        }
        for h in &r.hours {
            if let Err(m) = rule.set_hours(std::slice::from_ref(h.get_ref())) {
                let l = cx.loc(h.span().start);
                cx.err(&l, m);
            }
        }
        for d in &r.holidays {
            if let Err(m) = rule.add_holiday(d.get_ref()) {
                let l = cx.loc(d.span().start);
                cx.err(&l, m);
            }
        }
        plan.time_rules.insert(name, rule);
    }
    errors.append(&mut cx.errors);
}

/// Field access on one step table; removes fields as they are read so the
/// leftovers can be reported as unknown.
struct Fields<'c, 'a> {
    cx: &'c mut Cx<'a>,
    app: String,
    map: BTreeMap<String, Spanned<Value>>,
    locs: BTreeMap<String, Loc>,
    step_loc: Loc,
    failed: bool,
}

impl Fields<'_, '_> {
    fn take(&mut self, k: &str) -> Option<(Value, Loc)> {
        let v = self.map.remove(k)?;
        let loc = self.cx.loc(v.span().start);
        self.locs.insert(k.to_string(), loc.clone());
        Some((v.into_inner(), loc))
    }

    fn fail(&mut self, loc: &Loc, msg: String) {
        self.cx.err(loc, msg);
        self.failed = true;
    }

    fn opt_str(&mut self, k: &str) -> Option<String> {
        match self.take(k)? {
            (Value::String(s), _) => Some(s),
            (Value::Integer(i), _) => Some(i.to_string()),
            (v, loc) => {
                self.fail(&loc, format!("{}: {k} must be a string, not {}", self.app, v.type_str()));
                None
            }
        }
    }

    fn str(&mut self, k: &str) -> String {
        let r = self.opt_str(k);
        if r.is_none() && !self.failed {
            let loc = self.step_loc.clone();
            self.fail(&loc, format!("{}: missing {k}", self.app));
        }
        r.unwrap_or_default()
    }

    /// A string or an array of strings; absent = empty.
    fn list(&mut self, k: &str) -> Vec<String> {
        match self.take(k) {
            None => Vec::new(),
            Some((Value::String(s), _)) => vec![s],
            Some((Value::Array(a), loc)) => {
                let mut out = Vec::new();
                for v in a {
                    match v {
                        Value::String(s) => out.push(s),
                        Value::Integer(i) => out.push(i.to_string()),
                        other => {
                            self.fail(&loc, format!("{}: {k} items must be strings, not {}", self.app, other.type_str()));
                        }
                    }
                }
                out
            }
            Some((v, loc)) => {
                self.fail(&loc, format!("{}: {k} must be a string or array of strings, not {}", self.app, v.type_str()));
                Vec::new()
            }
        }
    }

    fn req_list(&mut self, k: &str) -> Vec<String> {
        let l = self.list(k);
        if l.is_empty() && !self.failed {
            let loc = self.locs.get(k).cloned().unwrap_or_else(|| self.step_loc.clone());
            self.fail(&loc, format!("{}: {k} must not be empty", self.app));
        }
        l
    }

    fn int(&mut self, k: &str, default: u64, max: u64) -> u64 {
        match self.take(k) {
            None => default,
            Some((Value::Integer(i), loc)) => {
                if i < 0 || i as u64 > max {
                    self.fail(&loc, format!("{}: {k} = {i} out of range 0..={max}", self.app));
                    default
                } else {
                    i as u64
                }
            }
            Some((v, loc)) => {
                self.fail(&loc, format!("{}: {k} must be an integer, not {}", self.app, v.type_str()));
                default
            }
        }
    }

    fn opt_bool(&mut self, k: &str) -> Option<bool> {
        match self.take(k)? {
            (Value::Boolean(b), _) => Some(b),
            (v, loc) => {
                self.fail(&loc, format!("{}: {k} must be true or false, not {}", self.app, v.type_str()));
                None
            }
        }
    }

    /// Location of field `k` if given, else of the step.
    fn loc_of(&self, k: &str) -> Loc {
        self.locs.get(k).cloned().unwrap_or_else(|| self.step_loc.clone())
    }

    /// A variable name field: `[A-Za-z0-9_]+`.
    fn var_name(&mut self, k: &str, default: Option<&str>) -> String {
        let v = match (self.opt_str(k), default) {
            (Some(v), _) => v,
            (None, Some(d)) => return d.to_string(),
            (None, None) => {
                if !self.failed {
                    let l = self.step_loc.clone();
                    self.fail(&l, format!("{}: missing {k}", self.app));
                }
                return String::new();
            }
        };
        if !is_var_name(&v) {
            let l = self.loc_of(k);
            self.fail(&l, format!("{}: {k} {v:?} must be a variable name [A-Za-z0-9_]+", self.app));
        }
        v
    }

    /// A table of string -> variable name (`map = { "balance" = "acct_balance" }`).
    fn var_map(&mut self, k: &str) -> Option<BTreeMap<String, String>> {
        let (v, loc) = self.take(k)?;
        let Value::Table(t) = v else {
            self.fail(&loc, format!("{}: {k} must be a table, not {}", self.app, v.type_str()));
            return None;
        };
        let mut out = BTreeMap::new();
        for (key, v) in t {
            match v {
                Value::String(var) if is_var_name(&var) => {
                    out.insert(key, var);
                }
                Value::String(var) => self.fail(&loc, format!("{}: {k}: {var:?} must be a variable name [A-Za-z0-9_]+", self.app)),
                other => self.fail(&loc, format!("{}: {k}: {key:?} must map to a variable name, not {}", self.app, other.type_str())),
            }
        }
        if out.is_empty() && !self.failed {
            self.fail(&loc, format!("{}: {k} must not be empty", self.app));
        }
        Some(out)
    }

    /// `{ skill = level }` with levels 1-10; absent = none.
    fn skills(&mut self, k: &str) -> BTreeMap<String, u8> {
        let mut out = BTreeMap::new();
        match self.take(k) {
            None => {}
            Some((Value::Table(t), loc)) => {
                for (skill, v) in t {
                    match v {
                        Value::Integer(l) if (1..=10).contains(&l) => {
                            out.insert(skill, l as u8);
                        }
                        other => self.fail(&loc, format!("{}: skill {skill:?} needs a level 1 to 10, not {other}", self.app)),
                    }
                }
            }
            Some((v, loc)) => self.fail(&loc, format!("{}: {k} must be a table like {{ billing = 5 }}, not {}", self.app, v.type_str())),
        }
        out
    }

    fn choices(&mut self, k: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match self.take(k) {
            None => {
                let loc = self.step_loc.clone();
                self.fail(&loc, format!("{}: missing {k}", self.app));
            }
            Some((Value::Table(t), loc)) => {
                for (key, v) in t {
                    let ok_key = key.len() == 1 && key.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#');
                    if !ok_key {
                        self.fail(&loc, format!("{}: choice key {key:?} must be one digit, * or #", self.app));
                        continue;
                    }
                    match v {
                        Value::String(s) => {
                            out.insert(key, s);
                        }
                        other => self.fail(&loc, format!("{}: choice {key:?} must name a context, not {}", self.app, other.type_str())),
                    }
                }
                if out.is_empty() && !self.failed {
                    self.fail(&loc, format!("{}: {k} must not be empty", self.app));
                }
            }
            Some((v, loc)) => self.fail(&loc, format!("{}: {k} must be a table, not {}", self.app, v.type_str())),
        }
        out
    }
}

/// Variable names: what `${...}` can name and the store's field keys map to.
pub(crate) fn is_var_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `if`: either `time = "rule"` or `var = "x"` with exactly one test.
fn convert_if(f: &mut Fields<'_, '_>) -> App {
    let time = f.opt_str("time");
    let var = f.opt_str("var");
    let equals = f.opt_str("equals");
    let not_empty = f.opt_bool("not_empty");
    let prefix = f.opt_str("prefix");
    let tests = usize::from(equals.is_some()) + usize::from(not_empty.is_some()) + usize::from(prefix.is_some());
    let cond = match (time, var) {
        (Some(t), None) => {
            if tests > 0 && !f.failed {
                let l = f.step_loc.clone();
                f.fail(&l, "if: equals, not_empty and prefix go with var, not time".into());
            }
            Cond::Time(t)
        }
        (None, Some(v)) => {
            if !is_var_name(&v) {
                let l = f.loc_of("var");
                f.fail(&l, format!("if: var {v:?} must be a variable name [A-Za-z0-9_]+ (no ${{}})"));
            }
            if tests != 1 && !f.failed {
                let l = f.step_loc.clone();
                f.fail(&l, "if: var needs exactly one of equals, not_empty, prefix".into());
            }
            let test = match (equals, not_empty, prefix) {
                (Some(e), _, _) => VarTest::Equals(e),
                (_, Some(b), _) => VarTest::NotEmpty(b),
                (_, _, Some(p)) => VarTest::Prefix(p),
                _ => VarTest::NotEmpty(true),
            };
            Cond::Var { var: v, test }
        }
        _ => {
            if !f.failed {
                let l = f.step_loc.clone();
                f.fail(&l, "if: needs exactly one of time, var".into());
            }
            Cond::Time(String::new())
        }
    };
    App::If { cond, then: f.str("then"), else_: f.str("else") }
}

fn convert_say(f: &mut Fields<'_, '_>) -> App {
    let kinds = [("digits", SayKind::Digits), ("number", SayKind::Number), ("amount", SayKind::Amount), ("date", SayKind::Date), ("time", SayKind::Time)];
    let given: Vec<(SayKind, String)> = kinds.iter().filter_map(|(k, kind)| f.opt_str(k).map(|v| (*kind, v))).collect();
    let tz = f.opt_str("timezone");
    if given.len() != 1 && !f.failed {
        let l = f.step_loc.clone();
        f.fail(&l, "say: needs exactly one of digits, number, amount, date, time".into());
    }
    let (kind, value) = given.into_iter().next().unwrap_or((SayKind::Digits, String::new()));
    let zone = match tz {
        None => Zone::utc(),
        Some(_) if !matches!(kind, SayKind::Date | SayKind::Time) => {
            let l = f.loc_of("timezone");
            f.fail(&l, "say: timezone goes with date or time".into());
            Zone::utc()
        }
        Some(t) => Zone::parse(&t).unwrap_or_else(|e| {
            let l = f.loc_of("timezone");
            f.fail(&l, format!("say: {e}"));
            Zone::utc()
        }),
    };
    App::Say { kind, value, zone }
}

fn convert_dial(f: &mut Fields<'_, '_>) -> App {
    let targets = f.req_list("targets");
    let timeout_s = f.int("timeout_s", 30, 3600);
    let class = f.opt_str("music_class");
    let ringback = match f.opt_str("ringback").as_deref() {
        None | Some("tone") => {
            if class.is_some() {
                let l = f.loc_of("music_class");
                f.fail(&l, "dial: music_class needs ringback = \"music\"".into());
            }
            Ringback::Tone
        }
        Some("music") => Ringback::Music(class),
        Some(other) => {
            let l = f.loc_of("ringback");
            f.fail(&l, format!("dial: ringback {other:?} must be \"tone\" or \"music\""));
            Ringback::Tone
        }
    };
    App::Dial { targets, timeout_s, ringback }
}

fn convert_lookup(f: &mut Fields<'_, '_>) -> App {
    let by = match f.opt_str("by").as_deref() {
        Some("caller") => LookupBy::Caller,
        Some("account") => LookupBy::Account,
        Some(other) => {
            let l = f.loc_of("by");
            f.fail(&l, format!("lookup: by {other:?} must be \"caller\" or \"account\""));
            LookupBy::Caller
        }
        None => {
            let l = f.step_loc.clone();
            f.fail(&l, "lookup: missing by (\"caller\" or \"account\")".into());
            LookupBy::Caller
        }
    };
    let value = match (f.opt_str("value"), by) {
        (Some(v), _) => v,
        (None, LookupBy::Caller) => "${caller}".to_string(),
        (None, LookupBy::Account) => {
            if !f.failed {
                let l = f.step_loc.clone();
                f.fail(&l, "lookup: by = \"account\" needs value (e.g. \"${account}\")".into());
            }
            String::new()
        }
    };
    App::Lookup { by, value, prefix: f.var_name("prefix", Some("customer")), found: f.opt_str("found"), not_found: f.opt_str("not_found") }
}

fn convert_http(f: &mut Fields<'_, '_>) -> App {
    let url = f.str("url");
    // Variables in the host part are allowed (`http://${crm}/x`); only the
    // scheme is checked here (webhook.rs speaks https through rustls).
    if !f.failed && !url.starts_with("http://") && !url.starts_with("https://") {
        let l = f.loc_of("url");
        f.fail(&l, format!("http: url {url:?}: must start with http:// or https://"));
    }
    let method = match f.opt_str("method").map(|m| m.to_ascii_uppercase()).as_deref() {
        None | Some("POST") => HttpMethod::Post,
        Some("GET") => HttpMethod::Get,
        Some(other) => {
            let l = f.loc_of("method");
            f.fail(&l, format!("http: method {other:?} must be GET or POST"));
            HttpMethod::Post
        }
    };
    let send = if f.map.contains_key("send") {
        let l = f.list("send");
        for v in &l {
            if !is_var_name(v) {
                let loc = f.loc_of("send");
                f.fail(&loc, format!("http: send: {v:?} must be a variable name [A-Za-z0-9_]+"));
            }
        }
        Some(l)
    } else {
        None
    };
    let map = f.var_map("map");
    let prefix = f.var_name("prefix", Some("http"));
    let timeout_ms = f.int("timeout_ms", 3000, 60_000).max(1);
    App::Http { method, url, send, map, prefix, timeout_ms, on_error: f.opt_str("on_error") }
}

fn convert_record(f: &mut Fields<'_, '_>) -> App {
    let into = f.var_name("into", None);
    let max_ms = f.int("max_s", 60, 3600) * 1000;
    let silence_ms = f.int("silence_s", 5, 3600) * 1000;
    let beep = f.opt_bool("beep").unwrap_or(true);
    let terminators = f.opt_str("terminators").unwrap_or_else(|| "#".into());
    if !terminators.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
        let l = f.loc_of("terminators");
        f.fail(&l, format!("record: terminators {terminators:?} may hold only digits, * and #"));
    }
    if max_ms == 0 {
        let l = f.loc_of("max_s");
        f.fail(&l, "record: max_s must be at least 1".into());
    }
    App::Record { into, max_ms, silence_ms, beep, terminators }
}

/// A T.30 station id (TSI/CSI, T.30 5.3.6.2.4): 20 characters of digits,
/// `+` and space in practice; we allow printable ASCII, as spandsp does.
fn fax_ident(f: &mut Fields<'_, '_>) -> Option<String> {
    let ident = f.opt_str("ident");
    if let Some(i) = &ident {
        if !i.contains("${") && (i.len() > 20 || !i.bytes().all(|b| (0x20..0x7f).contains(&b))) {
            let l = f.loc_of("ident");
            f.fail(&l, format!("{}: ident {i:?} must be at most 20 printable ASCII characters", f.app));
        }
    }
    ident
}

fn convert_step(cx: &mut Cx<'_>, loc: Loc, mut map: BTreeMap<String, Spanned<Value>>) -> Option<Step> {
    let Some(app_v) = map.remove("app") else {
        cx.err(&loc, "step has no app");
        return None;
    };
    let step_loc = cx.loc(app_v.span().start);
    let app = match app_v.into_inner() {
        Value::String(s) => s,
        v => {
            cx.err(&step_loc, format!("app must be a string, not {}", v.type_str()));
            return None;
        }
    };
    if PLANNED_APPS.contains(&app.as_str()) {
        cx.err(&step_loc, format!("app {app:?} is known but not implemented yet"));
        return None;
    }
    if !KNOWN_APPS.contains(&app.as_str()) {
        cx.err(&step_loc, format!("unknown app {app:?} (known: {})", KNOWN_APPS.join(", ")));
        return None;
    }
    let mut f = Fields { cx, app: app.clone(), map, locs: BTreeMap::new(), step_loc: step_loc.clone(), failed: false };
    let a = match app.as_str() {
        "answer" => App::Answer,
        "play" => App::Play { prompts: f.req_list("prompts") },
        "menu" => App::Menu {
            prompt: f.req_list("prompt"),
            choices: f.choices("choices"),
            invalid: f.list("invalid"),
            timeout_ms: f.int("timeout_ms", 5000, 600_000),
            retries: f.int("retries", 2, 20) as u32,
            fallback: f.opt_str("fallback"),
        },
        "goto" => App::Goto { context: f.str("context") },
        "if" => convert_if(&mut f),
        "collect" => {
            let into = f.str("into");
            let min = f.int("min", 1, 64) as u32;
            let max = f.int("max", 20, 64) as u32;
            let terminator = match f.opt_str("terminator") {
                None => None,
                Some(t) if t.chars().count() == 1 && "0123456789*#".contains(t.as_str()) => t.chars().next(),
                Some(t) => {
                    let l = f.locs["terminator"].clone();
                    f.fail(&l, format!("collect: terminator {t:?} must be one digit, * or #"));
                    None
                }
            };
            App::Collect {
                into,
                min,
                max,
                terminator,
                first_timeout_ms: f.int("first_timeout_ms", 5000, 600_000),
                inter_timeout_ms: f.int("inter_timeout_ms", 3000, 600_000),
                prompt: f.list("prompt"),
            }
        }
        "set" => App::Set { var: f.str("var"), value: f.str("value") },
        "say" => convert_say(&mut f),
        "dial" => convert_dial(&mut f),
        "queue" => {
            let name = f.str("name");
            let members = f.list("members");
            let priority = f.int("priority", 0, 100) as i64;
            let skills = f.skills("skills");
            App::Queue { name, members, priority, skills }
        }
        "supervise" => {
            let mode = match f.opt_str("mode").as_deref().unwrap_or("listen") {
                "listen" => SuperviseMode::Listen,
                "whisper" => SuperviseMode::Whisper,
                "barge" => SuperviseMode::Barge,
                other => {
                    let l = f.loc_of("mode");
                    f.fail(&l, format!("supervise: mode {other:?} must be listen, whisper or barge"));
                    SuperviseMode::Listen
                }
            };
            App::Supervise { mode, agent: f.str("agent") }
        }
        "agent" => {
            let op = match f.str("action").as_str() {
                "login" => Some(AgentOp::Login),
                "logout" => Some(AgentOp::Logout),
                "pause" => Some(AgentOp::Pause),
                "unpause" => Some(AgentOp::Unpause),
                other => {
                    if !f.failed {
                        let l = f.loc_of("action");
                        f.fail(&l, format!("agent: action {other:?} must be login, logout, pause or unpause"));
                    }
                    None
                }
            };
            let reason = f.opt_str("reason");
            if reason.is_some() && op != Some(AgentOp::Pause) {
                let l = f.loc_of("reason");
                f.fail(&l, "agent: reason goes with action = \"pause\"".into());
            }
            App::Agent { op: op.unwrap_or(AgentOp::Login), reason }
        }
        "voicemail" => App::Voicemail { mailbox: f.str("mailbox") },
        "conference" => {
            let room = f.str("room");
            let pin = f.opt_str("pin");
            if let Some(p) = &pin {
                // A literal PIN must be typeable; `${var}` PINs are checked at run time.
                if !p.contains("${") && (p.is_empty() || p.len() > 16 || !p.bytes().all(|b| b.is_ascii_digit())) {
                    let l = f.loc_of("pin");
                    f.fail(&l, format!("conference: pin {p:?} must be 1 to 16 digits"));
                }
            }
            App::Conference { room, pin }
        }
        "voicemail_main" => App::VoicemailMain { mailbox: f.opt_str("mailbox") },
        "lookup" => convert_lookup(&mut f),
        "http" => convert_http(&mut f),
        "record" => convert_record(&mut f),
        "hangup" => App::Hangup { cause: f.int("cause", 16, 127) as u16 },
        "fax_receive" => App::FaxReceive { email: f.opt_str("email"), ident: fax_ident(&mut f) },
        "fax_send" => {
            let document = f.str("document");
            if !document.contains("${") && (document.contains("..") || document.starts_with('/')) {
                let l = f.loc_of("document");
                f.fail(&l, format!("fax_send: document {document:?} must be a name inside the fax library"));
            }
            let to = f.opt_str("to");
            let header = f.opt_str("header");
            if let Some(h) = &header {
                if !h.contains("${") && (h.len() > 50 || !h.bytes().all(|b| (0x20..0x7f).contains(&b))) {
                    let l = f.loc_of("header");
                    f.fail(&l, format!("fax_send: header {h:?} must be at most 50 printable ASCII characters"));
                }
            }
            App::FaxSend { document, to, ident: fax_ident(&mut f), header }
        }
        _ => unreachable!("checked against KNOWN_APPS"),
    };
    let leftovers: Vec<(String, Loc)> = std::mem::take(&mut f.map)
        .into_iter()
        .map(|(k, v)| (k, f.cx.loc(v.span().start)))
        .collect();
    for (k, l) in leftovers {
        f.fail(&l, format!("{app}: unknown field {k:?}"));
    }
    if f.failed {
        return None;
    }
    Some(Step { app: a, loc: step_loc, field_locs: f.locs })
}

/// Parse and validate in-memory files `(name, text)`.
pub fn load_files(files: &[(String, String)]) -> Result<Dialplan, Vec<String>> {
    let mut plan = Dialplan::default();
    let mut errors = Vec::new();
    for (name, text) in files {
        parse_into(&mut plan, name, text, &mut errors);
    }
    errors.extend(super::validate(&plan));
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// Parse and validate one in-memory file.
pub fn load_str(file: &str, text: &str) -> Result<Dialplan, Vec<String>> {
    load_files(&[(file.to_string(), text.to_string())])
}

/// Load every `*.toml` file in `dir` (sorted by name). File names in errors
/// are the paths as joined onto `dir`.
pub fn load_dir(dir: &Path) -> Result<Dialplan, Vec<String>> {
    let rd = std::fs::read_dir(dir).map_err(|e| vec![format!("{}: {e}", dir.display())])?;
    let mut paths: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    paths.sort();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::read_to_string(&p) {
            Ok(t) => files.push((p.display().to_string(), t)),
            Err(e) => errors.push(format!("{}: {e}", p.display())),
        }
    }
    if files.is_empty() && errors.is_empty() {
        errors.push(format!("{}: no *.toml dialplan files", dir.display()));
    }
    match load_files(&files) {
        Ok(p) if errors.is_empty() => Ok(p),
        Ok(_) => Err(errors),
        Err(mut e) => {
            errors.append(&mut e);
            Err(errors)
        }
    }
}

/// Fuzz entry point: must never panic. Loads the input and, if it is a valid
/// plan, simulates a call to every literal entry with a few digit scripts.
pub fn fuzz_load(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(plan) = load_str("fuzz.toml", text) {
        let dids: Vec<String> = plan
            .entries
            .iter()
            .filter_map(|e| match &e.matcher {
                Match::Did(d) | Match::Feature(d) => Some(d.clone()),
                Match::Pattern(_) => None,
            })
            .collect();
        for did in dids {
            for (i, digits) in [&["1"][..], &["9", "", "3", "1234#"][..]].iter().enumerate() {
                let call = super::CallInfo { did: did.clone(), caller: "100".into(), trunk: "t".into(), now: 1_772_442_000 + i as i64 * 43_200 };
                // Alternate the scripted answers so both lookup/webhook
                // branches run.
                let answers = if i == 0 {
                    super::SimAnswers::default()
                } else {
                    let fields: BTreeMap<String, String> = [("balance", "-12.5"), ("name", "x"), ("pin", "1234")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                    super::SimAnswers { lookup: Some(fields), http: Err("fuzz".into()) }
                };
                let _ = super::simulate_with(&plan, call, digits, &answers);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<String> {
        load_str("t.toml", text).expect_err("should fail")
    }

    #[test]
    fn toml_syntax_error_has_line_col() {
        let e = errs("[[entry]]\nmatch = { did = \"1\" }\ncontext = \n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("t.toml:3:"), "{e:?}");
    }

    #[test]
    fn unknown_app_and_field_have_line_col() {
        let text = "[context.main]\nsteps = [\n  { app = \"answer\" },\n  { app = \"dance\" },\n  { app = \"play\", prompts = [\"welcome\"], volume = 3 },\n]\n";
        let e = errs(text);
        assert!(e.iter().any(|m| m.starts_with("t.toml:4:11: unknown app \"dance\"")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:5:") && m.contains("unknown field \"volume\"")), "{e:?}");
    }

    #[test]
    fn planned_apps_are_rejected_clearly() {
        let e = errs("[context.main]\nsteps = [ { app = \"fax\" } ]\n");
        assert!(e[0].contains("known but not implemented yet"), "{e:?}");
    }

    #[test]
    fn new_apps_report_positions() {
        let text = concat!(
            "[context.main]\nsteps = [\n",
            " { app = \"lookup\", by = \"email\" },\n",
            " { app = \"lookup\", by = \"account\" },\n",
            " { app = \"http\", url = \"ftp://crm/x\" },\n",
            " { app = \"http\", url = \"http://crm/x\", method = \"PUT\", map = { \"a\" = \"b-c\" } },\n",
            " { app = \"record\", into = \"${x}\", terminators = \"a\" },\n",
            " { app = \"dial\", targets = [\"1\"], ringback = \"bells\" },\n",
            " { app = \"conference\", room = \"1\", pin = \"12ab\" },\n",
            " { app = \"if\", var = \"x\", then = \"main\", else = \"main\" },\n",
            " { app = \"if\", time = \"t\", var = \"x\", equals = \"1\", then = \"main\", else = \"main\" },\n",
            " { app = \"say\", amount = \"1\", timezone = \"+01:00\" },\n",
            " { app = \"say\", time = \"${now}\", timezone = \"Paris\" },\n",
            "]\n"
        );
        let e = errs(text);
        let has = |prefix: &str, needle: &str| e.iter().any(|m| m.starts_with(prefix) && m.contains(needle));
        assert!(has("t.toml:3:25:", "by \"email\""), "{e:?}");
        assert!(has("t.toml:4:", "needs value"), "{e:?}");
        assert!(has("t.toml:5:24:", "must start with http:// or https://"), "{e:?}");
        assert!(has("t.toml:6:", "method \"PUT\""), "{e:?}");
        assert!(has("t.toml:6:", "\"b-c\" must be a variable name"), "{e:?}");
        assert!(has("t.toml:7:", "into \"${x}\""), "{e:?}");
        assert!(has("t.toml:7:", "terminators \"a\""), "{e:?}");
        assert!(has("t.toml:8:", "ringback \"bells\""), "{e:?}");
        assert!(has("t.toml:9:", "pin \"12ab\""), "{e:?}");
        assert!(has("t.toml:10:", "exactly one of equals, not_empty, prefix"), "{e:?}");
        assert!(has("t.toml:11:", "exactly one of time, var"), "{e:?}");
        assert!(has("t.toml:12:", "timezone goes with date or time"), "{e:?}");
        assert!(has("t.toml:13:", "timezone \"Paris\""), "{e:?}");
    }

    #[test]
    fn wrong_type_points_at_value() {
        let e = errs("[context.main]\nsteps = [\n { app = \"dial\", targets = [\"1\"], timeout_s = \"x\" },\n]\n");
        assert!(e[0].starts_with("t.toml:3:47: dial: timeout_s must be an integer"), "{e:?}");
    }

    #[test]
    fn bad_match_and_time_rule_fields() {
        let text = "[[entry]]\nmatch = { pattern = \"_1Q\" }\ncontext = \"m\"\n[[entry]]\nmatch = { did = \"1\", feature = \"*9\" }\ncontext = \"m\"\n[context.m]\nsteps = [{ app = \"answer\" }]\n[time_rules.bh]\ntimezone = \"Europe/Pariss\"\nweekdays = [\"mon-fry\"]\nhours = [\"9-5\"]\nholidays = [\"2026-02-30\"]\n";
        let e = errs(text);
        assert!(e.iter().any(|m| m.starts_with("t.toml:2:21:") && m.contains("bad character")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:5:") && m.contains("exactly one")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:10:12:") && m.contains("unknown timezone \"Europe/Pariss\"")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:11:") && m.contains("weekday")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:12:") && m.contains("hours")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:13:") && m.contains("holiday")), "{e:?}");
    }

    #[test]
    fn load_dir_reads_toml_files_and_reports_paths() {
        let dir = std::env::temp_dir().join(format!("dialplan-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.toml"), "[[entry]]\nmatch = { did = \"1\" }\ncontext = \"m\"\n").unwrap();
        std::fs::write(dir.join("b.toml"), "[context.m]\nsteps = [{ app = \"hangup\" }]\n").unwrap();
        std::fs::write(dir.join("ignored.txt"), "junk").unwrap();
        let plan = load_dir(&dir).expect("loads");
        assert_eq!(plan.entries.len(), 1);
        std::fs::write(dir.join("c.toml"), "[context.m]\nsteps = [{ app = \"hangup\" }]\n").unwrap();
        let e = load_dir(&dir).unwrap_err();
        assert!(e[0].contains("c.toml:2:") && e[0].contains("defined twice"), "{e:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Deterministic mutation loop over the demo file: the loader (and the
    /// simulator on whatever still loads) never panics.
    #[test]
    fn mutated_demo_never_panics() {
        let demo = include_str!("../../dialplans/demo.toml");
        fuzz_load(demo.as_bytes());
        let mut seed: u64 = 0x5eed_1234_abcd_0001;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let tokens: &[&[u8]] = &[b"\"", b"[", b"]", b"{", b"}", b"=", b",", b"\n", b"#", b"app = \"goto\"", b"-1", b"99999999999999999999", b"\xff", b"[[entry]]", b"_X.", b"\"main\"", b"0"];
        for _ in 0..1500 {
            let mut d = demo.as_bytes().to_vec();
            for _ in 0..(1 + next() % 4) {
                let pos = (next() as usize) % (d.len() + 1);
                match next() % 4 {
                    0 if pos < d.len() => {
                        d.remove(pos);
                    }
                    1 => {
                        let t = tokens[(next() as usize) % tokens.len()];
                        d.splice(pos..pos, t.iter().copied());
                    }
                    2 if pos < d.len() => d[pos] = (next() % 128) as u8,
                    _ => {
                        let end = (pos + (next() as usize) % 40).min(d.len());
                        let chunk = d[pos..end].to_vec();
                        d.splice(pos..pos, chunk);
                    }
                }
            }
            fuzz_load(&d);
        }
    }
}

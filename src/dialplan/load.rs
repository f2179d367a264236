//! Loading dialplan TOML files into a [`Dialplan`]. Every error is a string
//! `file:line:col: message`; all errors of all files are returned at once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Spanned, Value};

use super::{App, Context, Dialplan, Entry, Loc, Match, Pattern, Step, TimeRule, KNOWN_APPS, PLANNED_APPS};

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
        let given: Vec<_> = [("did", m.did), ("pattern", m.pattern), ("feature", m.feature)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if given.len() != 1 {
            cx.err(&loc, "entry match needs exactly one of did, pattern, feature");
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
        plan.entries.push(Entry { matcher, context: e.context.into_inner(), loc, context_loc });
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
        "if" => App::If { time: f.str("time"), then: f.str("then"), else_: f.str("else") },
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
        "say" => {
            let digits = f.opt_str("digits");
            let number = f.opt_str("number");
            if digits.is_some() == number.is_some() && !f.failed {
                let l = step_loc.clone();
                f.fail(&l, "say: needs exactly one of digits, number".into());
            }
            App::Say { digits, number }
        }
        "dial" => App::Dial { targets: f.req_list("targets"), timeout_s: f.int("timeout_s", 30, 3600) },
        "queue" => App::Queue { name: f.str("name"), members: f.req_list("members") },
        "voicemail" => App::Voicemail { mailbox: f.str("mailbox") },
        "conference" => App::Conference { room: f.str("room") },
        "hangup" => App::Hangup { cause: f.int("cause", 16, 127) as u16 },
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
                let _ = super::simulate(&plan, call, digits);
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
        let e = errs("[context.main]\nsteps = [ { app = \"lookup\" } ]\n");
        assert!(e[0].contains("known but not implemented yet"), "{e:?}");
    }

    #[test]
    fn wrong_type_points_at_value() {
        let e = errs("[context.main]\nsteps = [\n { app = \"dial\", targets = [\"1\"], timeout_s = \"x\" },\n]\n");
        assert!(e[0].starts_with("t.toml:3:47: dial: timeout_s must be an integer"), "{e:?}");
    }

    #[test]
    fn bad_match_and_time_rule_fields() {
        let text = "[[entry]]\nmatch = { pattern = \"_1Q\" }\ncontext = \"m\"\n[[entry]]\nmatch = { did = \"1\", feature = \"*9\" }\ncontext = \"m\"\n[context.m]\nsteps = [{ app = \"answer\" }]\n[time_rules.bh]\ntimezone = \"Europe/Paris\"\nweekdays = [\"mon-fry\"]\nhours = [\"9-5\"]\nholidays = [\"2026-02-30\"]\n";
        let e = errs(text);
        assert!(e.iter().any(|m| m.starts_with("t.toml:2:21:") && m.contains("bad character")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:5:") && m.contains("exactly one")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("t.toml:10:") && m.contains("timezone")), "{e:?}");
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

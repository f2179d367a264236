//! Cross-reference validation of a parsed [`Dialplan`]. Per-field checks
//! (unknown apps, types, patterns, time formats) happen in `load`; this pass
//! checks names that must exist and limits, and returns every error.

use std::collections::BTreeMap;

use super::{App, Cond, Dialplan, Loc};

pub fn validate(plan: &Dialplan) -> Vec<String> {
    let mut errors = Vec::new();
    let need_ctx = |errors: &mut Vec<String>, loc: &Loc, what: &str, name: &str| {
        if !plan.contexts.contains_key(name) {
            errors.push(format!("{loc}: {what}: unknown context {name:?}"));
        }
    };

    let mut seen: BTreeMap<String, &Loc> = BTreeMap::new();
    for e in &plan.entries {
        let key = e.key();
        if let Some(first) = seen.get(&key) {
            errors.push(format!("{}: duplicate entry {key} (first at {first})", e.loc));
        } else {
            seen.insert(key, &e.loc);
        }
        need_ctx(&mut errors, &e.context_loc, "entry", &e.context);
    }

    for c in plan.contexts.values() {
        for s in &c.steps {
            match &s.app {
                App::Goto { context } => need_ctx(&mut errors, s.loc_of("context"), "goto", context),
                App::Menu { choices, fallback, retries, .. } => {
                    for (k, target) in choices {
                        need_ctx(&mut errors, s.loc_of("choices"), &format!("menu choice {k}"), target);
                    }
                    if let Some(f) = fallback {
                        need_ctx(&mut errors, s.loc_of("fallback"), "menu fallback", f);
                    }
                    let _ = retries;
                }
                App::If { cond, then, else_ } => {
                    if let Cond::Time(time) = cond {
                        if !plan.time_rules.contains_key(time) {
                            errors.push(format!("{}: if: unknown time rule {time:?}", s.loc_of("time")));
                        }
                    }
                    need_ctx(&mut errors, s.loc_of("then"), "if then", then);
                    need_ctx(&mut errors, s.loc_of("else"), "if else", else_);
                }
                App::Collect { min, max, into, .. } => {
                    if min > max {
                        errors.push(format!("{}: collect: min {min} > max {max}", s.loc_of("min")));
                    }
                    if *max == 0 {
                        errors.push(format!("{}: collect: max must be at least 1", s.loc_of("max")));
                    }
                    if into.is_empty() || !into.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        errors.push(format!("{}: collect: variable name {into:?} must be [A-Za-z0-9_]+", s.loc_of("into")));
                    }
                }
                App::Lookup { found, not_found, .. } => {
                    if let Some(c) = found {
                        need_ctx(&mut errors, s.loc_of("found"), "lookup found", c);
                    }
                    if let Some(c) = not_found {
                        need_ctx(&mut errors, s.loc_of("not_found"), "lookup not_found", c);
                    }
                }
                App::Http { on_error: Some(c), .. } => need_ctx(&mut errors, s.loc_of("on_error"), "http on_error", c),
                App::Set { var, .. } if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    errors.push(format!("{}: set: variable name {var:?} must be [A-Za-z0-9_]+", s.loc_of("var")));
                }
                _ => {}
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use crate::dialplan::load_str;

    fn errs(text: &str) -> Vec<String> {
        load_str("v.toml", text).expect_err("should fail")
    }

    const BASE: &str = "[context.main]\nsteps = [{ app = \"answer\" }]\n[time_rules.bh]\nhours = [\"09:00-17:00\"]\n";

    #[test]
    fn ok_base() {
        load_str("v.toml", BASE).unwrap();
    }

    #[test]
    fn unknown_context_everywhere() {
        let text = format!(
            "{BASE}[[entry]]\nmatch = {{ did = \"1\" }}\ncontext = \"nope1\"\n[context.x]\nsteps = [\n {{ app = \"goto\", context = \"nope2\" }},\n {{ app = \"menu\", prompt = \"main-menu\", choices = {{ \"1\" = \"nope3\" }}, fallback = \"nope4\" }},\n {{ app = \"if\", time = \"bh\", then = \"nope5\", else = \"nope6\" }},\n]\n"
        );
        let e = errs(&text);
        for n in 1..=6 {
            assert!(e.iter().any(|m| m.contains(&format!("unknown context \"nope{n}\""))), "nope{n}: {e:?}");
        }
        assert!(e.iter().any(|m| m.starts_with("v.toml:7:11: entry:")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("v.toml:10:28: goto:")), "{e:?}");
    }

    #[test]
    fn unknown_time_rule() {
        let e = errs(&format!("{BASE}[context.x]\nsteps = [{{ app = \"if\", time = \"lunch\", then = \"main\", else = \"main\" }}]\n"));
        assert!(e[0].starts_with("v.toml:6:") && e[0].contains("unknown time rule \"lunch\""), "{e:?}");
    }

    #[test]
    fn min_greater_than_max_and_bad_var() {
        let e = errs(&format!("{BASE}[context.x]\nsteps = [{{ app = \"collect\", into = \"a-b\", min = 5, max = 3 }}]\n"));
        assert!(e.iter().any(|m| m.contains("min 5 > max 3")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("variable name \"a-b\"")), "{e:?}");
    }

    #[test]
    fn duplicate_entries() {
        let e = errs(&format!(
            "{BASE}[[entry]]\nmatch = {{ pattern = \"_1XX\" }}\ncontext = \"main\"\n[[entry]]\nmatch = {{ pattern = \"_1XX\" }}\ncontext = \"main\"\n"
        ));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("v.toml:9:") && e[0].contains("duplicate entry pattern _1XX (first at v.toml:6:"), "{e:?}");
    }

    #[test]
    fn bad_pattern_and_menu_choice_key() {
        let e = errs(&format!(
            "{BASE}[[entry]]\nmatch = {{ pattern = \"_1.X\" }}\ncontext = \"main\"\n[context.y]\nsteps = [{{ app = \"menu\", prompt = \"main-menu\", choices = {{ \"12\" = \"main\" }} }}]\n"
        ));
        assert!(e.iter().any(|m| m.contains("'.' must be last")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("choice key \"12\"")), "{e:?}");
    }

    #[test]
    fn new_apps_check_their_contexts() {
        let e = errs(&format!(
            "{BASE}[context.y]\nsteps = [\n {{ app = \"lookup\", by = \"caller\", found = \"nope1\", not_found = \"nope2\" }},\n {{ app = \"http\", url = \"http://crm/x\", on_error = \"nope3\" }},\n {{ app = \"if\", var = \"x\", equals = \"1\", then = \"nope4\", else = \"main\" }},\n]\n"
        ));
        assert!(e.iter().any(|m| m.starts_with("v.toml:7:") && m.contains("lookup found: unknown context \"nope1\"")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("lookup not_found: unknown context \"nope2\"")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("v.toml:8:") && m.contains("http on_error: unknown context \"nope3\"")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("v.toml:9:") && m.contains("unknown context \"nope4\"")), "{e:?}");
        assert_eq!(e.len(), 4, "{e:?}");
    }

    #[test]
    fn all_errors_returned() {
        let e = errs("[context.a]\nsteps = [\n { app = \"goto\", context = \"b\" },\n { app = \"goto\", context = \"c\" },\n { app = \"nope\" },\n]\n");
        assert_eq!(e.len(), 3, "{e:?}");
    }
}

//! Asterisk-like number patterns: `_` prefix, `X` any digit, `N` 2-9,
//! `Z` 1-9, `[1-5]` sets/ranges, `.` one or more of anything (last only).
//! Without the `_` prefix a pattern is a literal number.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    src: String,
    elems: Vec<Elem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Elem {
    /// Allowed characters.
    Set(Vec<char>),
    /// One or more of anything; only last.
    Rest,
}

fn is_dial_char(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#' || c == '+'
}

impl Pattern {
    pub fn parse(src: &str) -> Result<Pattern, String> {
        if src.is_empty() {
            return Err("empty pattern".into());
        }
        let mut elems = Vec::new();
        let Some(body) = src.strip_prefix('_') else {
            if let Some(c) = src.chars().find(|c| !is_dial_char(*c)) {
                return Err(format!("bad character {c:?} in literal number {src:?} (patterns start with '_')"));
            }
            return Ok(Pattern { src: src.into(), elems: src.chars().map(|c| Elem::Set(vec![c])).collect() });
        };
        if body.is_empty() {
            return Err("empty pattern after '_'".into());
        }
        let mut it = body.chars().peekable();
        while let Some(c) = it.next() {
            let e = match c.to_ascii_uppercase() {
                'X' => Elem::Set(('0'..='9').collect()),
                'N' => Elem::Set(('2'..='9').collect()),
                'Z' => Elem::Set(('1'..='9').collect()),
                '.' => {
                    if it.peek().is_some() {
                        return Err(format!("'.' must be last in pattern {src:?}"));
                    }
                    Elem::Rest
                }
                '[' => {
                    let mut set = Vec::new();
                    let mut prev: Option<char> = None;
                    let mut closed = false;
                    while let Some(c) = it.next() {
                        match c {
                            ']' => {
                                closed = true;
                                break;
                            }
                            '-' => {
                                let (Some(a), Some(&b)) = (prev, it.peek()) else {
                                    return Err(format!("bad range in pattern {src:?}"));
                                };
                                if !b.is_ascii_digit() || b < a {
                                    return Err(format!("bad range {a}-{b} in pattern {src:?}"));
                                }
                                it.next();
                                set.extend((a..=b).filter(|x| x.is_ascii_digit()));
                                prev = None;
                            }
                            c if is_dial_char(c) => {
                                set.push(c);
                                prev = Some(c).filter(|c| c.is_ascii_digit());
                            }
                            c => return Err(format!("bad character {c:?} in [] of pattern {src:?}")),
                        }
                    }
                    if !closed {
                        return Err(format!("unclosed '[' in pattern {src:?}"));
                    }
                    if set.is_empty() {
                        return Err(format!("empty [] in pattern {src:?}"));
                    }
                    Elem::Set(set)
                }
                c if is_dial_char(c) => Elem::Set(vec![c]),
                c => return Err(format!("bad character {c:?} in pattern {src:?}")),
            };
            elems.push(e);
        }
        Ok(Pattern { src: src.into(), elems })
    }

    pub fn source(&self) -> &str {
        &self.src
    }

    /// Whole-string match.
    pub fn matches(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        for e in &self.elems {
            match e {
                Elem::Rest => return i < chars.len(),
                Elem::Set(set) => {
                    if i >= chars.len() || !set.contains(&chars[i]) {
                        return false;
                    }
                    i += 1;
                }
            }
        }
        i == chars.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::parse(p).unwrap().matches(s)
    }

    #[test]
    fn matching() {
        assert!(m("_1XXX", "1234"));
        assert!(!m("_1XXX", "2234"));
        assert!(!m("_1XXX", "123"));
        assert!(!m("_1XXX", "12345"));
        assert!(m("_NXX", "200"));
        assert!(!m("_NXX", "100"));
        assert!(m("_Z0", "10"));
        assert!(!m("_Z0", "00"));
        assert!(m("_[1-5]0", "30"));
        assert!(!m("_[1-5]0", "60"));
        assert!(m("_[13-4]", "4"));
        assert!(!m("_[13-4]", "2"));
        assert!(m("_9.", "9123"));
        assert!(!m("_9.", "9"));
        assert!(m("_*9X", "*97"));
        assert!(m("5550100", "5550100"));
        assert!(!m("5550100", "5550101"));
    }

    #[test]
    fn bad_patterns() {
        for p in ["", "_", "_1.2", "_[1-", "_[]", "_[5-1]", "_1Q", "abc", "_[a]"] {
            assert!(Pattern::parse(p).is_err(), "{p:?} should fail");
        }
    }
}

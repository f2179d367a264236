//! Maps dotted config keys to source lines and back, for error messages.
//! Understands `[table]` headers and `key = value` lines, which is all the
//! appliance's config uses; anything fancier yields "line 0" rather than a lie.

/// The 1-based line where `dotted` (e.g. `rtp.port_max`) is assigned.
pub fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(t) = table_header(line) {
            current = t;
        } else if current == table && assignment_key(line).as_deref() == Some(key) {
            return Some(i + 1);
        }
    }
    None
}

/// The dotted key assigned on the line containing byte `offset`.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let mut current = String::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let end = start + raw.len();
        let line = raw.trim();
        if let Some(t) = table_header(line) {
            current = t;
        } else if offset >= start && offset < end {
            let key = assignment_key(line)?;
            return Some(if current.is_empty() { key } else { format!("{current}.{key}") });
        }
        start = end;
    }
    None
}

fn table_header(line: &str) -> Option<String> {
    let inner = line.strip_prefix('[')?.split(']').next()?;
    Some(inner.trim().to_string())
}

fn assignment_key(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let (k, _) = line.split_once('=')?;
    Some(k.trim().trim_matches('"').to_string())
}

//! A small RFC 4180 CSV reader for admin imports (customers). Hand-rolled
//! rather than the `csv` crate: imports are a few thousand rows, and this is
//! ~80 lines with no build cost. Handles quoted fields, doubled quotes,
//! commas and newlines inside quotes, CRLF or LF line ends, and a UTF-8 BOM.
//! The writer (`write_record`, for exports such as call records) quotes the
//! same way and defuses spreadsheet formulas.
//! Pure: no IO, no knowledge of what the columns mean.

/// One record and the 1-based line it starts on (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}: unterminated quoted field")]
    Unterminated { line: usize },
    #[error("line {line}: unexpected character {ch:?} after a closing quote")]
    AfterQuote { line: usize, ch: char },
}

impl CsvError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            CsvError::Unterminated { line } | CsvError::AfterQuote { line, .. } => *line,
        }
    }
}

/// Parses the whole text. Blank lines are skipped. The first error stops
/// the parse (after a broken quote nothing later can be trusted).
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut start_line = 1;
    // True once the current record has any content (so "" rows survive but
    // blank lines do not).
    let mut touched = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() => {
                touched = true;
                let quote_line = line;
                loop {
                    match chars.next() {
                        None => return Err(CsvError::Unterminated { line: quote_line }),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            field.push(ch);
                        }
                    }
                }
                match chars.peek() {
                    None | Some(',') | Some('\n') | Some('\r') => {}
                    Some(&ch) => return Err(CsvError::AfterQuote { line, ch }),
                }
            }
            ',' => {
                touched = true;
                fields.push(std::mem::take(&mut field));
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if touched || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    records.push(Record { line: start_line, fields: std::mem::take(&mut fields) });
                }
                touched = false;
                line += 1;
                start_line = line;
            }
            ch => {
                touched = true;
                field.push(ch);
            }
        }
    }
    if touched || !field.is_empty() {
        fields.push(field);
        records.push(Record { line: start_line, fields });
    }
    Ok(records)
}

/// Appends one record (CRLF-terminated) to `out`. A field is quoted when it
/// holds a comma, quote, CR or LF (quotes doubled). A field starting with
/// `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`, so a spreadsheet
/// shows it as text instead of evaluating it as a formula ("CSV
/// injection"): exported values come from callers and agents.
pub fn write_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        let defuse = f.starts_with(['=', '+', '-', '@', '\t', '\r']);
        // A leading U+FEFF would read back as the file's byte-order mark
        // (and vanish) when this is the first field of a file: quote it.
        let quote = f.contains([',', '"', '\r', '\n']) || f.starts_with('\u{feff}');
        if quote {
            out.push('"');
        }
        if defuse {
            out.push('\'');
        }
        out.push_str(&f.replace('"', "\"\""));
        if quote {
            out.push('"');
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fuzz target `csv`): a first field starting with U+FEFF was
    /// written bare, and read back as a byte-order mark, losing the character.
    #[test]
    fn a_leading_bom_character_in_a_field_survives_the_round_trip() {
        let mut out = String::new();
        write_record(&mut out, &["\u{feff}", "c"]);
        assert_eq!(out, "\"\u{feff}\",c\r\n");
        let back = parse(&out).expect("parses");
        assert_eq!(back[0].fields, ["\u{feff}", "c"]);
    }

    fn rows(t: &str) -> Vec<(usize, Vec<String>)> {
        parse(t).unwrap().into_iter().map(|r| (r.line, r.fields)).collect()
    }

    fn r(line: usize, f: &[&str]) -> (usize, Vec<String>) {
        (line, f.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn plain_quoted_and_multiline() {
        let t = "\u{feff}name,notes\r\nAnn,\"says \"\"hi\"\", often\"\r\n\nBob,\"two\nlines\"\nCy,\n\"\",x";
        assert_eq!(
            rows(t),
            vec![
                r(1, &["name", "notes"]),
                r(2, &["Ann", "says \"hi\", often"]),
                r(4, &["Bob", "two\nlines"]),
                r(6, &["Cy", ""]),
                r(7, &["", "x"]),
            ]
        );
    }

    #[test]
    fn errors_have_lines() {
        assert_eq!(parse("a,b\n\"open,\nx"), Err(CsvError::Unterminated { line: 2 }));
        assert_eq!(CsvError::AfterQuote { line: 7, ch: 'x' }.line(), 7);
        assert_eq!(parse("a\n\"q\"x,1"), Err(CsvError::AfterQuote { line: 2, ch: 'x' }));
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("a\"b").unwrap()[0].fields, ["a\"b"]);
    }

    #[test]
    fn writes_quoted_defused_records_that_read_back() {
        let mut out = String::new();
        write_record(&mut out, &["plain", "a,b", "say \"hi\"", "two\nlines", ""]);
        write_record(&mut out, &["=1+1", "+4930", "-2", "@SUM(A1)", "\tx", "=HYPERLINK(\"http://x\",\"y\")", "1=1"]);
        assert_eq!(
            out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n'=1+1,'+4930,'-2,'@SUM(A1),'\tx,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",1=1\r\n"
        );
        let back = parse(&out).unwrap();
        assert_eq!(back[0].fields, ["plain", "a,b", "say \"hi\"", "two\nlines", ""]);
        assert_eq!(back[1].fields[5], "'=HYPERLINK(\"http://x\",\"y\")");
    }
}

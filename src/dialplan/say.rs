//! Prompt sequences for the `say` app's amount, date and time forms (digits
//! and numbers live in `interp`, next to their existing users). Pure
//! functions over strings and Unix seconds; the prompt names they return
//! are listed in prompts/en/prompts.txt. English grammar only: another
//! language gets its own file next to this one.

use super::interp::{digits_to_prompts, number_to_prompts};
use super::time::Zone;

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const MONTHS: [&str; 12] =
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

/// "42.17" -> `40 2 dollars and 17 cents`; "-3" -> `minus 3 dollars`;
/// "0.05" -> `5 cents`. Accepts an optional sign, digits, and at most two
/// decimals ("42.5" = 50 cents). Anything else (a currency sign, thousands
/// separators, "n/a") is read as digits so the caller still hears something.
pub fn amount_to_prompts(s: &str) -> Vec<String> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits_ok = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let parsed = if whole.is_empty() && frac.is_empty() || !digits_ok(whole) || !digits_ok(frac) || frac.len() > 2 || whole.len() > 18 {
        None
    } else {
        let dollars: u64 = if whole.is_empty() { 0 } else { whole.parse().unwrap_or(0) };
        let cents: u64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<u64>().unwrap_or(0) * 10,
            _ => frac.parse().unwrap_or(0),
        };
        Some((dollars, cents))
    };
    let Some((dollars, cents)) = parsed else {
        return digits_to_prompts(t);
    };
    let mut out = Vec::new();
    if neg && (dollars > 0 || cents > 0) {
        out.push("minus".to_string());
    }
    if dollars > 0 || cents == 0 {
        out.extend(number_to_prompts(dollars));
        out.push(if dollars == 1 { "dollar" } else { "dollars" }.to_string());
    }
    if cents > 0 {
        if dollars > 0 {
            out.push("and".into());
        }
        out.extend(number_to_prompts(cents));
        out.push(if cents == 1 { "cent" } else { "cents" }.to_string());
    }
    out
}

/// Parses the value of a date/time say: Unix seconds (what `${now}` holds).
pub fn parse_unix(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// `monday march ord-2` (weekday, month, day ordinal); the year is left out
/// on purpose: callers hear dates close to today. The date is the one on
/// the wall calendar in `zone`.
pub fn date_to_prompts(unix: i64, zone: &Zone) -> Vec<String> {
    let c = zone.civil(unix);
    vec![
        WEEKDAYS[c.weekday as usize % 7].to_string(),
        MONTHS[(c.month as usize + 11) % 12].to_string(),
        format!("ord-{}", c.day),
    ]
}

/// 12-hour clock: `3 pm`, `3 oh 5 pm`, `12 30 am`. Full hours say just the
/// hour ("3 pm"), which is how people read a clock aloud. The time is the
/// wall-clock time in `zone` (DST included for IANA zones).
pub fn time_to_prompts(unix: i64, zone: &Zone) -> Vec<String> {
    let c = zone.civil(unix);
    let hour12 = match c.hour % 12 {
        0 => 12,
        h => h,
    };
    let mut out = number_to_prompts(hour12 as u64);
    match c.minute {
        0 => {}
        m if m < 10 => {
            out.push("oh".into());
            out.push(m.to_string());
        }
        m => out.extend(number_to_prompts(m as u64)),
    }
    out.push(if c.hour < 12 { "am" } else { "pm" }.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::parse_rfc3339;

    #[test]
    fn amounts() {
        assert_eq!(amount_to_prompts("42.17"), ["40", "2", "dollars", "and", "17", "cents"]);
        assert_eq!(amount_to_prompts("1.01"), ["1", "dollar", "and", "1", "cent"]);
        assert_eq!(amount_to_prompts("42.5"), ["40", "2", "dollars", "and", "50", "cents"]);
        assert_eq!(amount_to_prompts("0.05"), ["5", "cents"]);
        assert_eq!(amount_to_prompts(".5"), ["50", "cents"]);
        assert_eq!(amount_to_prompts("0"), ["0", "dollars"]);
        assert_eq!(amount_to_prompts(" 300 "), ["3", "hundred", "dollars"]);
        assert_eq!(amount_to_prompts("-12.00"), ["minus", "12", "dollars"]);
        assert_eq!(amount_to_prompts("-0"), ["0", "dollars"]);
    }

    #[test]
    fn invalid_amounts_are_read_as_digits() {
        assert_eq!(amount_to_prompts("1,234.56"), ["1", "2", "3", "4", "5", "6"]);
        assert_eq!(amount_to_prompts("4.123"), ["4", "1", "2", "3"]);
        assert_eq!(amount_to_prompts("$5"), ["5"]);
        assert!(amount_to_prompts("").is_empty());
        assert!(amount_to_prompts("-").is_empty());
        assert!(amount_to_prompts(".").is_empty());
        // 19 digits would overflow the number grammar's u64 cents math.
        assert_eq!(amount_to_prompts("9999999999999999999").len(), 19);
    }

    #[test]
    fn dates_and_times() {
        let (cet, utc) = (Zone::fixed(60), Zone::utc());
        let t = parse_rfc3339("2026-03-02T15:05:00+01:00").unwrap();
        assert_eq!(date_to_prompts(t, &cet), ["monday", "march", "ord-2"]);
        assert_eq!(time_to_prompts(t, &cet), ["3", "oh", "5", "pm"]);
        assert_eq!(time_to_prompts(t, &utc), ["2", "oh", "5", "pm"]);
        let t = parse_rfc3339("2026-12-31T00:30:00Z").unwrap();
        assert_eq!(date_to_prompts(t, &utc), ["thursday", "december", "ord-31"]);
        assert_eq!(time_to_prompts(t, &utc), ["12", "30", "am"]);
        let noon = parse_rfc3339("2026-01-01T12:00:00Z").unwrap();
        assert_eq!(time_to_prompts(noon, &utc), ["12", "pm"]);
        assert_eq!(time_to_prompts(noon + 11 * 3600 + 59 * 60, &utc), ["11", "50", "9", "pm"]);
        assert_eq!(parse_unix(" 17 "), Some(17));
        assert_eq!(parse_unix("x"), None);
        // Nonsense instants from a variable say something, never panic.
        assert_eq!(time_to_prompts(i64::MAX, &Zone::parse("Europe/Berlin").unwrap()).last().map(String::as_str), Some("pm"));
    }

    #[test]
    fn dates_and_times_in_named_zones() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let ny = Zone::parse("America/New_York").unwrap();
        // Same UTC hour, winter and summer: the wall clock moves with DST.
        let winter = parse_rfc3339("2026-01-15T13:05:00Z").unwrap();
        let summer = parse_rfc3339("2026-07-15T13:05:00Z").unwrap();
        assert_eq!(time_to_prompts(winter, &berlin), ["2", "oh", "5", "pm"]);
        assert_eq!(time_to_prompts(summer, &berlin), ["3", "oh", "5", "pm"]);
        assert_eq!(time_to_prompts(winter, &ny), ["8", "oh", "5", "am"]);
        assert_eq!(time_to_prompts(summer, &ny), ["9", "oh", "5", "am"]);
        // Across the Berlin spring switch: one second apart, an hour apart
        // on the wall.
        let before = parse_rfc3339("2026-03-29T00:59:00Z").unwrap();
        assert_eq!(time_to_prompts(before, &berlin), ["1", "50", "9", "am"]);
        assert_eq!(time_to_prompts(before + 60, &berlin), ["3", "am"]);
        // The local date differs from the UTC date near midnight.
        let late = parse_rfc3339("2026-07-04T02:30:00Z").unwrap();
        assert_eq!(date_to_prompts(late, &Zone::utc()), ["saturday", "july", "ord-4"]);
        assert_eq!(date_to_prompts(late, &ny), ["friday", "july", "ord-3"]);
        assert_eq!(date_to_prompts(parse_rfc3339("2026-12-31T23:30:00Z").unwrap(), &berlin), ["friday", "january", "ord-1"]);
    }
}

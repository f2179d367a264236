//! Time-of-day rules with a fixed UTC offset per rule (no tz database) and
//! civil date arithmetic on Unix seconds (std only).

/// A civil (calendar) date-time. `weekday` 0 = Monday … 6 = Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub weekday: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Civil {
    /// Civil time at `unix` seconds shifted by `offset_min` minutes.
    pub fn from_unix(unix: i64, offset_min: i32) -> Civil {
        let local = unix + offset_min as i64 * 60;
        let days = local.div_euclid(86400);
        let secs = local.rem_euclid(86400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            weekday: (days + 3).rem_euclid(7) as u32,
            hour: (secs / 3600) as u32,
            minute: (secs % 3600 / 60) as u32,
            second: (secs % 60) as u32,
        }
    }

    pub fn weekday_name(&self) -> &'static str {
        WEEKDAYS[self.weekday as usize]
    }
}

fn num<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let (y, rest) = s.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    let (y, m, d) = (num::<i64>(y, 4)?, num::<u32>(m, 2)?, num::<u32>(d, 2)?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then_some((y, m, d))
}

/// `HH:MM` → minutes since midnight (`24:00` allowed as an end).
fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m) = (num::<u32>(h, 2)?, num::<u32>(m, 2)?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// `+HH:MM`, `-HH:MM`, `Z` or `UTC` → minutes east of UTC.
pub fn parse_offset(s: &str) -> Option<i32> {
    if s == "Z" || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    let (h, m) = (num::<i32>(h, 2)?, num::<i32>(m, 2)?);
    (h <= 18 && m < 60).then_some(sign * (h * 60 + m))
}

/// RFC 3339 (`2026-03-02T10:00:00+01:00`, `...Z`, fractional seconds ignored)
/// → Unix seconds.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let bad = || format!("bad RFC 3339 time {s:?} (want e.g. 2026-03-02T10:00:00+01:00)");
    if s.len() < 20 || !s.is_char_boundary(10) || !s.is_char_boundary(11) || !s.is_char_boundary(19) {
        return Err(bad());
    }
    let (y, m, d) = parse_date(&s[..10]).ok_or_else(bad)?;
    if !matches!(&s[10..11], "T" | "t" | " ") {
        return Err(bad());
    }
    let t = &s[11..19];
    let hms: Vec<&str> = t.split(':').collect();
    if hms.len() != 3 {
        return Err(bad());
    }
    let (h, mi, se) = (
        num::<i64>(hms[0], 2).ok_or_else(bad)?,
        num::<i64>(hms[1], 2).ok_or_else(bad)?,
        num::<i64>(hms[2], 2).ok_or_else(bad)?,
    );
    if h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let off = if rest == "z" { Some(0) } else { parse_offset(rest) }.ok_or_else(bad)?;
    Ok(days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + se - off as i64 * 60)
}

/// `[time_rules.<name>]`: true when the local day is one of `weekdays`, the
/// local time is inside one of `hours` (start inclusive, end exclusive) and
/// the local date is not a holiday. Empty `weekdays`/`hours` mean "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRule {
    pub name: String,
    /// Minutes east of UTC.
    pub offset_min: i32,
    /// Index 0 = Monday.
    pub weekdays: [bool; 7],
    /// Minutes since midnight, `[start, end)`.
    pub hours: Vec<(u32, u32)>,
    pub holidays: Vec<(i64, u32, u32)>,
}

fn weekday_index(s: &str) -> Option<usize> {
    let s = s.to_ascii_lowercase();
    WEEKDAYS.iter().position(|w| s.len() >= 3 && w.starts_with(&s[..3]) && "monday tuesday wednesday thursday friday saturday sunday".contains(&s))
}

impl TimeRule {
    pub fn new(name: &str) -> TimeRule {
        TimeRule { name: name.into(), offset_min: 0, weekdays: [true; 7], hours: Vec::new(), holidays: Vec::new() }
    }

    pub fn set_timezone(&mut self, s: &str) -> Result<(), String> {
        self.offset_min = parse_offset(s).ok_or_else(|| format!("bad timezone {s:?} (want +HH:MM, -HH:MM or UTC; no tz names)"))?;
        Ok(())
    }

    /// Each item `mon`, `mon-fri` or a wrapping range like `fri-mon`.
    pub fn set_weekdays(&mut self, items: &[String]) -> Result<(), String> {
        if items.is_empty() {
            return Ok(());
        }
        let mut days = [false; 7];
        for it in items {
            let bad = || format!("bad weekday {it:?} (want mon..sun or a range like mon-fri)");
            let (a, b) = match it.split_once('-') {
                Some((a, b)) => (weekday_index(a.trim()).ok_or_else(bad)?, weekday_index(b.trim()).ok_or_else(bad)?),
                None => {
                    let a = weekday_index(it.trim()).ok_or_else(bad)?;
                    (a, a)
                }
            };
            let mut i = a;
            loop {
                days[i] = true;
                if i == b {
                    break;
                }
                i = (i + 1) % 7;
            }
        }
        self.weekdays = days;
        Ok(())
    }

    pub fn set_hours(&mut self, items: &[String]) -> Result<(), String> {
        for it in items {
            let bad = || format!("bad hours {it:?} (want HH:MM-HH:MM)");
            let (a, b) = it.split_once('-').ok_or_else(bad)?;
            let (a, b) = (parse_hm(a.trim()).ok_or_else(bad)?, parse_hm(b.trim()).ok_or_else(bad)?);
            if a >= b {
                return Err(format!("hours {it:?}: start must be before end (split ranges that cross midnight)"));
            }
            self.hours.push((a, b));
        }
        Ok(())
    }

    pub fn add_holiday(&mut self, s: &str) -> Result<(), String> {
        let d = parse_date(s).ok_or_else(|| format!("bad holiday date {s:?} (want YYYY-MM-DD)"))?;
        self.holidays.push(d);
        Ok(())
    }

    pub fn local(&self, unix: i64) -> Civil {
        Civil::from_unix(unix, self.offset_min)
    }

    pub fn matches(&self, unix: i64) -> bool {
        let c = self.local(unix);
        let minute = c.hour * 60 + c.minute;
        self.weekdays[c.weekday as usize]
            && (self.hours.is_empty() || self.hours.iter().any(|&(a, b)| minute >= a && minute < b))
            && !self.holidays.contains(&(c.year, c.month, c.day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> TimeRule {
        let mut r = TimeRule::new("bh");
        r.set_timezone("+01:00").unwrap();
        r.set_weekdays(&["mon-fri".into()]).unwrap();
        r.set_hours(&["09:00-17:00".into()]).unwrap();
        r.add_holiday("2026-12-25").unwrap();
        r
    }

    fn at(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn civil_roundtrip() {
        assert_eq!(at("1970-01-01T00:00:00Z"), 0);
        let c = Civil::from_unix(at("2026-03-02T10:30:00Z"), 0);
        assert_eq!((c.year, c.month, c.day, c.weekday, c.hour, c.minute), (2026, 3, 2, 0, 10, 30));
        assert_eq!(Civil::from_unix(at("2024-02-29T23:59:59Z"), 0).weekday_name(), "thu");
        assert_eq!(at("2026-03-02T10:00:00+01:00"), at("2026-03-02T09:00:00Z"));
        assert!(parse_rfc3339("2026-02-30T10:00:00Z").is_err());
        assert!(parse_rfc3339("nonsense").is_err());
        assert!(parse_rfc3339("2026-03-02T10:00:00.123-05:30").is_ok());
    }

    #[test]
    fn weekday_hours_holiday_offset() {
        let r = rule();
        // Monday 10:00 local.
        assert!(r.matches(at("2026-03-02T10:00:00+01:00")));
        // Saturday.
        assert!(!r.matches(at("2026-03-07T10:00:00+01:00")));
        // Before / at end of hours.
        assert!(!r.matches(at("2026-03-02T08:59:00+01:00")));
        assert!(r.matches(at("2026-03-02T09:00:00+01:00")));
        assert!(!r.matches(at("2026-03-02T17:00:00+01:00")));
        // Holiday (a Friday).
        assert!(!r.matches(at("2026-12-25T10:00:00+01:00")));
        assert!(r.matches(at("2026-12-24T10:00:00+01:00")));
        // Offset: 08:30 UTC is 09:30 at +01:00 → open; 16:30 UTC is 17:30 → closed.
        assert!(r.matches(at("2026-03-02T08:30:00Z")));
        assert!(!r.matches(at("2026-03-02T16:30:00Z")));
        // Offset across midnight: Sunday 23:30 UTC is Monday 07:30 at +08:00.
        let mut r8 = TimeRule::new("x");
        r8.set_timezone("+08:00").unwrap();
        r8.set_weekdays(&["mon".into()]).unwrap();
        assert!(r8.matches(at("2026-03-01T23:30:00Z")));
        assert!(!r8.matches(at("2026-03-01T15:30:00Z")));
    }

    #[test]
    fn bad_rule_fields() {
        let mut r = TimeRule::new("x");
        assert!(r.set_timezone("Europe/Paris").is_err());
        assert!(r.set_weekdays(&["funday".into()]).is_err());
        assert!(r.set_hours(&["17:00-09:00".into()]).is_err());
        assert!(r.set_hours(&["9-5".into()]).is_err());
        assert!(r.add_holiday("2026-13-01").is_err());
        r.set_weekdays(&["fri-mon".into()]).unwrap();
        assert_eq!(r.weekdays, [true, false, false, false, true, true, true]);
    }
}

//! Time zones, time-of-day rules and civil date arithmetic on Unix seconds.
//!
//! Owns what "local time" means for the dialplan: a [`Zone`] is either a
//! fixed UTC offset (`+01:00`, `Z`) or an IANA zone name (`Europe/Berlin`)
//! whose offset follows daylight saving. Rules and `say date/time` are
//! evaluated in local wall-clock time. The IANA data comes from the tz
//! database compiled into the binary (jiff's `tzdb-bundle-always`), never
//! from the host's /usr/share/zoneinfo, so a rule means the same thing on
//! every appliance image, with or without tzdata installed; the cost is that
//! a tz rule change reaches the appliance with a software update.
//!
//! Must not touch the clock: callers pass the instant (Unix seconds).

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
        Civil::from_unix_secs(unix, offset_min as i64 * 60)
    }

    /// Civil time at `unix` seconds shifted by `offset_s` seconds (zones
    /// before ~1900 have second-precision offsets). Saturates instead of
    /// overflowing: `unix` can come from a caller-controlled variable.
    fn from_unix_secs(unix: i64, offset_s: i64) -> Civil {
        let local = unix.saturating_add(offset_s);
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

/// Why a `timezone` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("bad timezone {0:?}: want +HH:MM, -HH:MM, Z, UTC or an IANA name like \"Europe/Berlin\"")]
    BadOffset(String),
    #[error("unknown timezone {0:?} (want an IANA name like \"Europe/Berlin\" or \"America/New_York\", or a fixed offset like \"+01:00\")")]
    Unknown(String),
}

/// A `timezone` setting: a fixed offset or an IANA zone (with DST).
///
/// Cheap to clone (jiff shares the zone's transition table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    tz: jiff::tz::TimeZone,
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}

impl Zone {
    pub fn utc() -> Zone {
        Zone { tz: jiff::tz::TimeZone::UTC }
    }

    /// A fixed offset in minutes east of UTC (±18 h at most, else UTC:
    /// `parse_offset` never yields more).
    pub fn fixed(offset_min: i32) -> Zone {
        match jiff::tz::Offset::from_seconds(offset_min.saturating_mul(60)) {
            Ok(off) => Zone { tz: jiff::tz::TimeZone::fixed(off) },
            Err(_) => Zone::utc(),
        }
    }

    /// `+HH:MM`, `-HH:MM`, `Z`, `UTC` or an IANA name (`Europe/Berlin`,
    /// looked up case-insensitively in the bundled tz database).
    pub fn parse(s: &str) -> Result<Zone, ZoneError> {
        if let Some(min) = parse_offset(s) {
            return Ok(Zone::fixed(min));
        }
        // Something that looks like an offset but is not one gets the
        // offset hint rather than "unknown zone".
        if s.starts_with(['+', '-']) || s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            return Err(ZoneError::BadOffset(s.to_string()));
        }
        jiff::tz::db().get(s).map(|tz| Zone { tz }).map_err(|_| ZoneError::Unknown(s.to_string()))
    }

    /// The canonical IANA name (`"America/New_York"` for
    /// `"america/new_york"`); `None` for a non-zero fixed offset (jiff may
    /// report a zero offset as `"UTC"`).
    pub fn iana_name(&self) -> Option<&str> {
        self.tz.iana_name()
    }

    /// Seconds east of UTC in force at `unix`.
    pub fn offset_at(&self, unix: i64) -> i64 {
        // Instants outside jiff's range (±9999 years) take the offset at
        // the nearest end of it: a nonsense `${var}` must not panic.
        let ts = jiff::Timestamp::from_second(unix).unwrap_or(if unix < 0 { jiff::Timestamp::MIN } else { jiff::Timestamp::MAX });
        i64::from(self.tz.to_offset(ts).seconds())
    }

    /// Local wall-clock time at `unix`.
    pub fn civil(&self, unix: i64) -> Civil {
        Civil::from_unix_secs(unix, self.offset_at(unix))
    }
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
    /// Local time of `weekdays`, `hours` and `holidays` (UTC by default).
    pub zone: Zone,
    /// Index 0 = Monday.
    pub weekdays: [bool; 7],
    /// Minutes since midnight, `[start, end)`.
    pub hours: Vec<(u32, u32)>,
    pub holidays: Vec<(i64, u32, u32)>,
}

/// `mon`, `monday` or anything between (`tues`): at least three letters of the English name.
/// Compares whole strings, never slices by byte, so any text is safe (the `dialplan` fuzz
/// target found a slice inside a multi-byte character here).
fn weekday_index(s: &str) -> Option<usize> {
    const NAMES: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let s = s.to_ascii_lowercase();
    if s.len() < 3 {
        return None;
    }
    NAMES.iter().position(|name| name.starts_with(s.as_str()))
}

impl TimeRule {
    pub fn new(name: &str) -> TimeRule {
        TimeRule { name: name.into(), zone: Zone::utc(), weekdays: [true; 7], hours: Vec::new(), holidays: Vec::new() }
    }

    /// A fixed offset or an IANA name; see [`Zone::parse`].
    pub fn set_timezone(&mut self, s: &str) -> Result<(), String> {
        self.zone = Zone::parse(s).map_err(|e| e.to_string())?;
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
        self.zone.civil(unix)
    }

    /// Evaluated on the local wall clock: on a DST switch day `09:00-17:00`
    /// still means 09:00 to 17:00 as the clocks on the wall show it. A
    /// local time skipped by spring-forward never occurs; one repeated by
    /// fall-back matches both times.
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

    /// Regression (fuzz target `dialplan`): `weekdays = ["suӊn30"]` sliced inside a character.
    #[test]
    fn weekday_names_are_prefixes_of_three_letters_or_more_and_any_text_is_safe() {
        for (name, i) in [("mon", 0), ("Tues", 1), ("wednesday", 2), ("THU", 3), ("fri", 4), ("sat", 5), ("sunday", 6)] {
            assert_eq!(weekday_index(name), Some(i), "{name}");
        }
        for bad in ["suӊn30", "ӊӊ", "mo", "monday tuesday", "friday saturday", "sundays", "", "mön"] {
            assert_eq!(weekday_index(bad), None, "{bad:?}");
        }
        let mut r = TimeRule::new("x");
        assert!(r.set_weekdays(&["suӊn30".into()]).unwrap_err().contains("bad weekday"));
    }

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
        assert!(r.set_timezone("Europe/Paris").is_ok());
        let e = r.set_timezone("Europe/Pariss").unwrap_err();
        assert!(e.starts_with("unknown timezone \"Europe/Pariss\""), "{e}");
        assert!(r.set_timezone("+25:00").unwrap_err().starts_with("bad timezone \"+25:00\""));
        assert!(r.set_weekdays(&["funday".into()]).is_err());
        assert!(r.set_hours(&["17:00-09:00".into()]).is_err());
        assert!(r.set_hours(&["9-5".into()]).is_err());
        assert!(r.add_holiday("2026-13-01").is_err());
        r.set_weekdays(&["fri-mon".into()]).unwrap();
        assert_eq!(r.weekdays, [true, false, false, false, true, true, true]);
    }

    fn named(tz: &str, weekdays: &str, hours: &str) -> TimeRule {
        let mut r = TimeRule::new("bh");
        r.set_timezone(tz).unwrap();
        r.set_weekdays(&[weekdays.into()]).unwrap();
        r.set_hours(&[hours.into()]).unwrap();
        r
    }

    fn hm(c: Civil) -> (u32, u32, u32, u32) {
        (c.day, c.hour, c.minute, c.second)
    }

    #[test]
    fn zone_parsing() {
        let z = Zone::parse("europe/berlin").unwrap();
        assert_eq!(z.iana_name(), Some("Europe/Berlin"));
        assert_eq!(Zone::parse("+01:00").unwrap().iana_name(), None);
        assert_eq!(Zone::parse("Z").unwrap().offset_at(0), 0);
        assert_eq!(Zone::parse("-05:30").unwrap().offset_at(0), -(5 * 3600 + 30 * 60));
        assert_eq!(Zone::parse("Europe/Berln"), Err(ZoneError::Unknown("Europe/Berln".into())));
        assert_eq!(Zone::parse(""), Err(ZoneError::Unknown("".into())));
        assert_eq!(Zone::parse("../../etc/passwd"), Err(ZoneError::Unknown("../../etc/passwd".into())));
        assert_eq!(Zone::parse("+1"), Err(ZoneError::BadOffset("+1".into())));
        assert_eq!(Zone::parse("0100"), Err(ZoneError::BadOffset("0100".into())));
        // Offsets at the edge of (and past) jiff's range do not panic.
        assert_eq!(z.civil(i64::MAX).hour, Civil::from_unix(i64::MAX, 0).hour);
        assert!(z.civil(i64::MIN).year < -1_000_000);
    }

    #[test]
    fn berlin_offsets_follow_dst_2026() {
        let z = Zone::parse("Europe/Berlin").unwrap();
        // Spring forward 2026-03-29 01:00 UTC: 01:59:59 CET -> 03:00:00 CEST.
        assert_eq!(z.offset_at(at("2026-03-29T00:59:59Z")), 3600);
        assert_eq!(hm(z.civil(at("2026-03-29T00:59:59Z"))), (29, 1, 59, 59));
        assert_eq!(z.offset_at(at("2026-03-29T01:00:00Z")), 7200);
        assert_eq!(hm(z.civil(at("2026-03-29T01:00:00Z"))), (29, 3, 0, 0));
        // Fall back 2026-10-25 01:00 UTC: 02:59:59 CEST -> 02:00:00 CET.
        assert_eq!(hm(z.civil(at("2026-10-25T00:59:59Z"))), (25, 2, 59, 59));
        assert_eq!(hm(z.civil(at("2026-10-25T01:00:00Z"))), (25, 2, 0, 0));
        assert_eq!(z.offset_at(at("2026-10-25T01:00:00Z")), 3600);
    }

    #[test]
    fn berlin_business_hours_across_dst_2026() {
        let r = named("Europe/Berlin", "mon-fri", "09:00-17:00");
        // Winter (CET, +01:00).
        assert!(!r.matches(at("2026-01-15T07:59:00Z")));
        assert!(r.matches(at("2026-01-15T08:00:00Z")));
        assert!(r.matches(at("2026-01-15T15:59:00Z")));
        assert!(!r.matches(at("2026-01-15T16:00:00Z")));
        // Summer (CEST, +02:00): the same wall-clock hours are an hour
        // earlier in UTC.
        assert!(!r.matches(at("2026-07-15T06:59:00Z")));
        assert!(r.matches(at("2026-07-15T07:00:00Z")));
        assert!(r.matches(at("2026-07-15T14:59:00Z")));
        assert!(!r.matches(at("2026-07-15T15:00:00Z")));
        // Friday before the spring switch (still CET) ...
        assert!(!r.matches(at("2026-03-27T07:30:00Z")));
        assert!(r.matches(at("2026-03-27T08:30:00Z")));
        assert!(r.matches(at("2026-03-27T15:30:00Z")));
        // ... Monday after it (CEST): 07:30Z is 09:30 local (a fixed +01:00
        // would say 08:30, closed) and 15:30Z is 17:30 (fixed: 16:30, open).
        assert!(r.matches(at("2026-03-30T07:30:00Z")));
        assert!(!r.matches(at("2026-03-30T15:30:00Z")));
        let fixed = named("+01:00", "mon-fri", "09:00-17:00");
        assert!(!fixed.matches(at("2026-03-30T07:30:00Z")));
        assert!(fixed.matches(at("2026-03-30T15:30:00Z")));
        // Friday before the autumn switch (CEST) and Monday after it (CET).
        assert!(r.matches(at("2026-10-23T07:00:00Z")));
        assert!(!r.matches(at("2026-10-23T15:00:00Z")));
        assert!(!r.matches(at("2026-10-26T07:30:00Z")));
        assert!(r.matches(at("2026-10-26T08:00:00Z")));
        assert!(r.matches(at("2026-10-26T15:59:59Z")));
        assert!(!r.matches(at("2026-10-26T16:00:00Z")));
        // Explicit-offset instants mean the same thing.
        assert!(r.matches(at("2026-10-26T09:00:00+01:00")));
        assert!(!r.matches(at("2026-03-30T08:59:00+02:00")));
    }

    #[test]
    fn berlin_switch_night_wall_clock() {
        // 02:00-03:00 local does not exist on 2026-03-29 ...
        let r = named("Europe/Berlin", "sun", "02:00-03:00");
        for t in ["2026-03-29T00:30:00Z", "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"] {
            assert!(!r.matches(at(t)), "{t}");
        }
        // ... and happens twice on 2026-10-25.
        assert!(!r.matches(at("2026-10-24T23:59:59Z")));
        assert!(r.matches(at("2026-10-25T00:00:00Z")));
        assert!(r.matches(at("2026-10-25T00:59:59Z")));
        assert!(r.matches(at("2026-10-25T01:00:00Z")));
        assert!(r.matches(at("2026-10-25T01:59:59Z")));
        assert!(!r.matches(at("2026-10-25T02:00:00Z")));
    }

    #[test]
    fn new_york_business_hours_across_dst_2026() {
        let r = named("America/New_York", "mon-fri", "09:00-17:00");
        // EST (-05:00) on Friday 2026-03-06.
        assert!(!r.matches(at("2026-03-06T13:59:00Z")));
        assert!(r.matches(at("2026-03-06T14:00:00Z")));
        assert!(r.matches(at("2026-03-06T21:59:00Z")));
        assert!(!r.matches(at("2026-03-06T22:00:00Z")));
        // Switch 2026-03-08 07:00 UTC: 01:59:59 EST -> 03:00:00 EDT.
        assert_eq!(hm(r.local(at("2026-03-08T06:59:59Z"))), (8, 1, 59, 59));
        assert_eq!(hm(r.local(at("2026-03-08T07:00:00Z"))), (8, 3, 0, 0));
        // EDT (-04:00) on Monday 2026-03-09.
        assert!(!r.matches(at("2026-03-09T12:59:00Z")));
        assert!(r.matches(at("2026-03-09T13:00:00Z")));
        assert!(r.matches(at("2026-03-09T20:59:00Z")));
        assert!(!r.matches(at("2026-03-09T21:00:00Z")));
        // Back to EST 2026-11-01 06:00 UTC: 01:59:59 EDT -> 01:00:00 EST.
        assert_eq!(hm(r.local(at("2026-11-01T05:59:59Z"))), (1, 1, 59, 59));
        assert_eq!(hm(r.local(at("2026-11-01T06:00:00Z"))), (1, 1, 0, 0));
        assert!(!r.matches(at("2026-11-02T13:30:00Z")));
        assert!(r.matches(at("2026-11-02T14:00:00Z")));
        // Local weekday: Friday 23:00 EST is Saturday in UTC.
        let fri = named("America/New_York", "fri", "22:00-24:00");
        assert!(fri.matches(at("2026-03-07T04:00:00Z")));
        assert_eq!(fri.local(at("2026-03-07T04:00:00Z")).weekday_name(), "fri");
    }

    #[test]
    fn holidays_are_local_dates() {
        let mut r = named("Europe/Berlin", "mon-fri", "00:00-24:00");
        r.add_holiday("2026-12-24").unwrap();
        // Wed 23:30 UTC is already Thursday the 24th, 00:30, in Berlin.
        assert!(!r.matches(at("2026-12-23T23:30:00Z")));
        assert!(r.matches(at("2026-12-23T22:30:00Z")));
        // Thu 23:30 UTC is Friday the 25th in Berlin: not a holiday here.
        assert!(r.matches(at("2026-12-24T23:30:00Z")));
        let mut ny = named("America/New_York", "mon-fri", "00:00-24:00");
        ny.add_holiday("2026-07-03").unwrap();
        // Sat 02:00 UTC is Friday 22:00 EDT, the (observed) holiday.
        assert!(!ny.matches(at("2026-07-04T02:00:00Z")));
        assert!(ny.matches(at("2026-07-03T03:00:00Z")));
    }
}

//! The Unix cron expressions of scheduled actions' `Recurrence` (five fields: minute, hour, day of
//! month, month, day of week), evaluated in UTC: parse once, then find the next matching minute.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// A parsed recurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Day of month and day of week both restricted: either may match (Vixie cron).
    either_day: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    /// Parses `m h dom mon dow`. The error names the field that is wrong.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "Recurrence '{expr}' must have 5 fields (minute hour day-of-month month day-of-week), not {}",
                fields.len()
            ));
        }
        let minutes = field(fields[0], "minute", 0, 59, &[])?;
        let hours = field(fields[1], "hour", 0, 23, &[])?;
        let days = field(fields[2], "day-of-month", 1, 31, &[])?;
        let months = field(fields[3], "month", 1, 12, &MONTHS)?;
        let mut weekdays = field(fields[4], "day-of-week", 0, 7, &WEEKDAYS)?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        weekdays.truncate(7);
        Ok(Cron {
            minutes,
            hours,
            days,
            months,
            weekdays,
            either_day: !fields[2].starts_with('*') && !fields[4].starts_with('*'),
        })
    }

    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.days[t.day() as usize];
        let dow = self.weekdays[t.weekday().num_days_from_sunday() as usize];
        if self.either_day {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first matching minute strictly after `after_ms`, within about four years.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start = Utc.timestamp_millis_opt(after_ms).single()?;
        let mut t = start.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let limit = start + Duration::days(366 * 4 + 1);
        while t <= limit {
            if !self.months[t.month() as usize] {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single()?;
                continue;
            }
            if !self.day_matches(&t) {
                t = t.with_hour(0)?.with_minute(0)? + Duration::days(1);
                continue;
            }
            if !self.hours[t.hour() as usize] {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if !self.minutes[t.minute() as usize] {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t.timestamp_millis());
        }
        None
    }
}

/// One field as a table of allowed values (index = value).
fn field(text: &str, name: &str, lo: u32, hi: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let bad = |why: &str| format!("Recurrence {name} field '{text}' is invalid: {why}");
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + if lo == 1 { 1 } else { 0 });
        }
        let v: u32 = s.parse().map_err(|_| bad(&format!("'{s}' is not a number")))?;
        if v < lo || v > hi {
            return Err(bad(&format!("{v} is outside {lo}-{hi}")));
        }
        Ok(v)
    };
    let mut allowed = vec![false; hi as usize + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| bad(&format!("step '{s}' is not a number")))?;
                if step == 0 {
                    return Err(bad("a step must be at least 1"));
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { hi } else { v })
        };
        if from > to {
            return Err(bad(&format!("range {from}-{to} is backwards")));
        }
        for v in (from..=to).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .unwrap_or_default()
    }

    #[test]
    fn every_weekday_morning() {
        let c = Cron::parse("30 8 * * MON-FRI").expect("valid");
        // Saturday 2026-11-21 10:00 -> Monday 2026-11-23 08:30.
        assert_eq!(
            c.next_after(at("2026-11-21T10:00:00Z")),
            Some(at("2026-11-23T08:30:00Z"))
        );
        assert_eq!(
            c.next_after(at("2026-11-23T08:29:59Z")),
            Some(at("2026-11-23T08:30:00Z"))
        );
        assert_eq!(
            c.next_after(at("2026-11-23T08:30:00Z")),
            Some(at("2026-11-24T08:30:00Z"))
        );
    }

    #[test]
    fn steps_lists_and_month_names() {
        let c = Cron::parse("*/15 0,12 1 JAN,jul *").expect("valid");
        assert_eq!(
            c.next_after(at("2026-11-22T00:00:00Z")),
            Some(at("2027-01-01T00:00:00Z"))
        );
        assert_eq!(
            c.next_after(at("2027-01-01T00:00:00Z")),
            Some(at("2027-01-01T00:15:00Z"))
        );
        assert_eq!(
            c.next_after(at("2027-01-01T00:45:00Z")),
            Some(at("2027-01-01T12:00:00Z"))
        );
    }

    #[test]
    fn sunday_is_0_or_7_and_day_fields_combine_with_or() {
        let c = Cron::parse("0 0 13 * 7").expect("valid");
        // The 13th, or any Sunday: from Friday 2026-11-13 00:00 the next is Sunday the 15th.
        assert_eq!(
            c.next_after(at("2026-11-13T00:00:00Z")),
            Some(at("2026-11-15T00:00:00Z"))
        );
    }

    #[test]
    fn bad_expressions_name_the_field() {
        assert!(Cron::parse("* * * *").unwrap_err().contains("5 fields"));
        assert!(Cron::parse("61 * * * *").unwrap_err().contains("minute"));
        assert!(Cron::parse("* * * FOO *").unwrap_err().contains("month"));
        assert!(Cron::parse("*/0 * * * *").unwrap_err().contains("step"));
        assert!(Cron::parse("* 5-2 * * *").unwrap_err().contains("backwards"));
        // Feb 30 never comes: no next time, no hang.
        assert_eq!(Cron::parse("0 0 30 2 *").expect("valid").next_after(0), None);
    }
}

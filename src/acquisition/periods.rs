//! The periods figures are read over: a month (`2026-11`), an ISO week
//! (`2026-W48`, Monday to Sunday) or a quarter (`2026-Q4`), each a span of
//! local days in the operator's time zone.

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;

use crate::error::{AppError, AppResult, Code};

/// A period: its label and its local days `[first, next)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub first: NaiveDate,
    pub next: NaiveDate,
}

/// The time the figures are read over, and the activation window: a new
/// customer counts once refuelled within `activation_days` × 24 hours of
/// the opening.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: i64,
    pub to: i64,
    /// The same span as local days `[first, next)`.
    pub first: NaiveDate,
    pub next: NaiveDate,
    pub activation_days: i64,
}

impl Span {
    /// The activation window in microseconds.
    pub fn window_us(&self) -> i64 {
        self.activation_days.saturating_mul(86_400_000_000)
    }
}

fn invalid(text: &str) -> AppError {
    AppError::invalid(
        "period",
        format!("period {text:?}: YYYY-MM, YYYY-Www or YYYY-Qn"),
    )
}

impl Period {
    /// Parses `YYYY-MM`, `YYYY-Www` or `YYYY-Qn`.
    pub fn parse(text: &str) -> AppResult<Period> {
        let t = text.trim();
        let (year, rest) = t.split_once('-').ok_or_else(|| invalid(text))?;
        let year: i32 = (year.len() == 4)
            .then(|| year.parse().ok())
            .flatten()
            .ok_or_else(|| invalid(text))?;
        let number = |digits: &str| -> AppResult<u32> {
            (!digits.is_empty() && digits.len() <= 2 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
                .ok_or_else(|| invalid(text))
        };
        let period = if let Some(w) = rest.strip_prefix('W') {
            let first = NaiveDate::from_isoywd_opt(year, number(w)?, Weekday::Mon)
                .ok_or_else(|| invalid(text))?;
            Period::week_of(first)
        } else if let Some(q) = rest.strip_prefix('Q') {
            let q = number(q)?;
            if !(1..=4).contains(&q) {
                return Err(invalid(text));
            }
            let first = NaiveDate::from_ymd_opt(year, 3 * q - 2, 1).ok_or_else(|| invalid(text))?;
            Period {
                label: format!("{year:04}-Q{q}"),
                first,
                next: first
                    .checked_add_months(chrono::Months::new(3))
                    .ok_or_else(|| invalid(text))?,
            }
        } else {
            if rest.len() != 2 {
                return Err(invalid(text));
            }
            let first =
                NaiveDate::from_ymd_opt(year, number(rest)?, 1).ok_or_else(|| invalid(text))?;
            Period {
                label: format!("{year:04}-{:02}", first.month()),
                first,
                next: first
                    .checked_add_months(chrono::Months::new(1))
                    .ok_or_else(|| invalid(text))?,
            }
        };
        Ok(period)
    }

    /// The quarter before the one `day` falls in.
    pub fn quarter_before(day: NaiveDate) -> Period {
        let first_of_quarter =
            NaiveDate::from_ymd_opt(day.year(), (day.month() - 1) / 3 * 3 + 1, 1).unwrap_or(day);
        let first = first_of_quarter
            .checked_sub_months(chrono::Months::new(3))
            .unwrap_or(first_of_quarter);
        Period {
            label: format!("{:04}-Q{}", first.year(), (first.month() - 1) / 3 + 1),
            first,
            next: first_of_quarter,
        }
    }

    /// The ISO week (Monday to Sunday) a day falls in.
    pub fn week_of(day: NaiveDate) -> Period {
        let iso = day.iso_week();
        let first = day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()));
        Period {
            label: format!("{:04}-W{:02}", iso.year(), iso.week()),
            first,
            next: first + chrono::Days::new(7),
        }
    }

    /// The period as UTC microseconds `[from, to)` in the operator's zone.
    pub fn span(&self, tz: Tz, activation_days: i64) -> AppResult<Span> {
        let out = || AppError::new(Code::ValidationFailed, "period out of range");
        let (from, _) = crate::time::day_span(self.first, tz).ok_or_else(out)?;
        let (to, _) = crate::time::day_span(self.next, tz).ok_or_else(out)?;
        Ok(Span {
            from,
            to,
            first: self.first,
            next: self.next,
            activation_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn months_weeks_and_quarters() {
        let m = Period::parse("2026-11").unwrap();
        assert_eq!((m.first, m.next), (day(2026, 11, 1), day(2026, 12, 1)));
        let w = Period::parse("2026-W48").unwrap();
        assert_eq!((w.first, w.next), (day(2026, 11, 23), day(2026, 11, 30)));
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!((q.first, q.next), (day(2026, 10, 1), day(2027, 1, 1)));
        let before = Period::quarter_before(day(2026, 11, 15));
        assert_eq!(
            (before.label.as_str(), before.first, before.next),
            ("2026-Q3", day(2026, 7, 1), day(2026, 10, 1))
        );
        assert_eq!(Period::quarter_before(day(2027, 2, 1)).label, "2026-Q4");
        // The ISO year of a week can differ from the calendar year.
        assert_eq!(Period::week_of(day(2027, 1, 1)).label, "2026-W53");
        assert_eq!(Period::week_of(day(2026, 11, 29)).label, "2026-W48");
        for bad in [
            "2026-13", "2026-W54", "2026-Q5", "26-11", "2026-1", "2026-W", "x",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_shanghai_week_starts_on_sunday_at_16_utc() {
        let w = Period::parse("2026-W48").unwrap();
        let s = w.span(chrono_tz::Asia::Shanghai, 30).unwrap();
        let start = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(s.from).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-11-22T16:00:00+00:00");
    }
}

//! A credit line's terms as pure rules: which statement month a day's fuel
//! is billed in, when that statement closes, when it falls due, and from
//! which day sales are refused while it is unpaid.
//!
//! A statement of month M closes at the start of M's statement day (1–28,
//! so every month has it) and covers everything since the previous month's
//! statement day. It is due `days_to_pay` days after it closes (paid by the
//! end of that day) and tolerated `grace_days` more; from the day after,
//! the company's cards are refused until it is paid. Days are local days
//! of the operator's time zone.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use crate::error::{AppError, AppResult, Code};

/// The most days to pay, or of grace, a line may give.
pub const MAX_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// 1–28: the day of the month each statement closes at the start of.
    pub statement_day: u32,
    pub days_to_pay: u32,
    pub grace_days: u32,
}

/// Where an issued, unpaid statement stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Issued, not yet past its due date: a reminder.
    Due,
    /// Past its due date, within the grace days: sales still go through.
    Grace,
    /// Past due date and grace: the company's credit sales are refused.
    Overdue,
}

fn field(name: &str, value: i64, range: std::ops::RangeInclusive<i64>) -> AppResult<u32> {
    if !range.contains(&value) {
        return Err(AppError::invalid(
            name,
            format!("{name}: {} to {}, not {value}", range.start(), range.end()),
        ));
    }
    u32::try_from(value).map_err(|_| AppError::new(Code::ValidationFailed, name.to_string()))
}

/// A day `n` days after `day` (the last day chrono knows, past its range).
fn plus(day: NaiveDate, n: u32) -> NaiveDate {
    day.checked_add_days(Days::new(u64::from(n)))
        .unwrap_or(NaiveDate::MAX)
}

/// The first day of the month after the one `first` begins.
pub fn next_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

/// A month as the API names it: `YYYY-MM`.
pub fn label(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

impl Terms {
    /// Terms as a request gives them, each checked with its field named.
    pub fn new(statement_day: i64, days_to_pay: i64, grace_days: i64) -> AppResult<Terms> {
        Ok(Terms {
            statement_day: field("statement_day", statement_day, 1..=28)?,
            days_to_pay: field("days_to_pay", days_to_pay, 0..=MAX_DAYS)?,
            grace_days: field("grace_days", grace_days, 0..=MAX_DAYS)?,
        })
    }

    /// The statement month (its first day) that fuel bought on `day` is
    /// billed in: the month whose statement day is the next to come.
    pub fn month_of(&self, day: NaiveDate) -> NaiveDate {
        let first = day.with_day(1).unwrap_or(day);
        if day.day() < self.statement_day {
            first
        } else {
            next_month(first)
        }
    }

    /// The day month's statement closes at the start of.
    pub fn closing_day(&self, month: NaiveDate) -> NaiveDate {
        month.with_day(self.statement_day).unwrap_or(month)
    }

    /// The last day month's statement may be paid on.
    pub fn due_on(&self, month: NaiveDate) -> NaiveDate {
        plus(self.closing_day(month), self.days_to_pay)
    }

    /// The first day sales are refused while month's statement is unpaid:
    /// the day after its due date and grace days.
    pub fn overdue_on(&self, month: NaiveDate) -> NaiveDate {
        plus(self.due_on(month), self.grace_days.saturating_add(1))
    }
}

impl Standing {
    /// Where an unpaid statement due on `due_on`, refused from
    /// `overdue_on`, stands on `today`.
    pub fn on(today: NaiveDate, due_on: NaiveDate, overdue_on: NaiveDate) -> Standing {
        if today >= overdue_on {
            Standing::Overdue
        } else if today > due_on {
            Standing::Grace
        } else {
            Standing::Due
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn terms() -> Terms {
        Terms::new(25, 10, 5).unwrap()
    }

    #[test]
    fn a_day_before_the_statement_day_is_billed_that_month_and_from_it_the_next() {
        let t = terms();
        assert_eq!(t.month_of(d(2026, 11, 18)), d(2026, 11, 1));
        assert_eq!(t.month_of(d(2026, 11, 24)), d(2026, 11, 1));
        assert_eq!(t.month_of(d(2026, 11, 25)), d(2026, 12, 1));
        assert_eq!(t.month_of(d(2026, 12, 31)), d(2027, 1, 1));
        let first = Terms::new(1, 0, 0).unwrap();
        assert_eq!(first.month_of(d(2026, 11, 1)), d(2026, 12, 1));
        assert_eq!(first.month_of(d(2026, 11, 30)), d(2026, 12, 1));
    }

    #[test]
    fn due_and_overdue_days_count_from_the_statement_day() {
        let t = terms();
        let nov = d(2026, 11, 1);
        assert_eq!(t.closing_day(nov), d(2026, 11, 25));
        assert_eq!(t.due_on(nov), d(2026, 12, 5));
        assert_eq!(t.overdue_on(nov), d(2026, 12, 11));
        let feb = Terms::new(28, 3, 0).unwrap();
        assert_eq!(feb.closing_day(d(2027, 2, 1)), d(2027, 2, 28));
        assert_eq!(feb.overdue_on(d(2027, 2, 1)), d(2027, 3, 4));
        assert_eq!(label(next_month(d(2026, 12, 1))), "2027-01");
    }

    #[test]
    fn an_unpaid_statement_is_due_then_in_grace_then_overdue() {
        let t = terms();
        let nov = d(2026, 11, 1);
        let at = |day| Standing::on(day, t.due_on(nov), t.overdue_on(nov));
        assert_eq!(at(d(2026, 11, 25)), Standing::Due);
        assert_eq!(at(d(2026, 12, 5)), Standing::Due);
        assert_eq!(at(d(2026, 12, 6)), Standing::Grace);
        assert_eq!(at(d(2026, 12, 10)), Standing::Grace);
        assert_eq!(at(d(2026, 12, 11)), Standing::Overdue);
    }

    #[test]
    fn terms_out_of_range_name_their_field() {
        for (day, pay, grace, field) in [
            (0, 10, 5, "statement_day"),
            (29, 10, 5, "statement_day"),
            (25, -1, 5, "days_to_pay"),
            (25, 10, 91, "grace_days"),
        ] {
            let e = Terms::new(day, pay, grace).unwrap_err();
            assert_eq!(e.code, Code::ValidationFailed);
            assert_eq!(e.extra.unwrap()["field"], field);
        }
    }
}

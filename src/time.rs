//! Time: stored as UTC microseconds; business days and months are computed
//! in the operator's time zone (default Asia/Shanghai).
//!
//! Every "now" of the service comes from one [`Clock`], made at start-up and
//! handed down: the handlers read it once per request and pass the instant
//! to the rules and stores below them, which never ask the system for the
//! time themselves. A clock can be set to start at a chosen instant
//! (`serve --clock`), for training, demos and tests of monthly rules.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The service's clock: the system clock, or the system clock shifted so
/// that it read a chosen instant when it was made. Either way it runs at
/// normal speed, so holds still expire and sessions still time out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Microseconds added to the system time.
    offset_us: i64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { offset_us: 0 }
    }

    /// A clock that reads `start` now and runs on from there.
    pub fn starting_at(start: DateTime<FixedOffset>) -> Clock {
        Clock {
            offset_us: start.timestamp_micros() - Utc::now().timestamp_micros(),
        }
    }

    /// Parses the `--clock` option: an RFC 3339 instant with its offset,
    /// e.g. `2026-12-01T09:00:00+08:00`.
    pub fn parse(text: &str) -> Result<Clock, String> {
        DateTime::parse_from_rfc3339(text.trim())
            .map(Clock::starting_at)
            .map_err(|e| format!("{text:?} is not an instant like 2026-12-01T09:00:00+08:00 ({e})"))
    }

    /// The current instant as stored: microseconds since the Unix epoch, UTC.
    pub fn now_us(&self) -> i64 {
        Utc::now().timestamp_micros().saturating_add(self.offset_us)
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_micros(self.now_us()).unwrap_or_else(Utc::now)
    }

    /// Today's date in the operator's zone.
    pub fn today(&self, tz: Tz) -> NaiveDate {
        local_date(self.now_us(), tz)
    }
}

/// The local date of an instant in the operator's zone.
pub fn local_date(us: i64, tz: Tz) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_micros(us)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// RFC 3339 in UTC, as the API shows times.
pub fn format_us(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Local wall-clock time for receipts and pages.
pub fn format_local(us: i64, tz: Tz) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 time from a request.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
}

/// The UTC span `[start, end)` of one local business day.
pub fn day_span(day: NaiveDate, tz: Tz) -> Option<(i64, i64)> {
    let start = tz
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    let next = day.succ_opt()?;
    let end = tz
        .from_local_datetime(&next.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    Some((
        start.with_timezone(&Utc).timestamp_micros(),
        end.with_timezone(&Utc).timestamp_micros(),
    ))
}

/// The UTC span `[start, end)` of the local calendar month that begins on
/// `first`.
pub fn month_span(first: NaiveDate, tz: Tz) -> Option<(i64, i64)> {
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((day_span(first, tz)?.0, day_span(next, tz)?.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shanghai_day_starts_at_16_utc_the_day_before() {
        let tz: Tz = DEFAULT_TIME_ZONE.parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let (start, end) = day_span(day, tz).unwrap();
        assert_eq!(format_us(start), "2026-11-22T16:00:00Z");
        assert_eq!(end - start, 86_400_000_000);
    }

    #[test]
    fn a_set_clock_reads_its_instant_and_runs_on() {
        let clock = Clock::parse("2026-12-01T09:00:00+08:00").unwrap();
        let start = DateTime::parse_from_rfc3339("2026-12-01T01:00:00Z")
            .unwrap()
            .timestamp_micros();
        let read = clock.now_us();
        assert!(
            (0..60_000_000).contains(&(read - start)),
            "{}",
            format_us(read)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now_us() >= read + 20_000);
        let tz: Tz = DEFAULT_TIME_ZONE.parse().unwrap();
        assert_eq!(
            clock.today(tz),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
    }

    #[test]
    fn a_clock_without_an_offset_is_refused() {
        let err = Clock::parse("2026-12-01 09:00").unwrap_err();
        assert!(err.contains("2026-12-01T09:00:00+08:00"), "{err}");
    }
}

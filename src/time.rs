//! Time: stored as UTC microseconds; business days and months are computed
//! in the operator's time zone (default Asia/Shanghai).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

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

/// Today's date in the operator's zone.
pub fn today(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
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
}

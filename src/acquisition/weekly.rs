//! The district's weekly report (片区汽油客户开发进度周反馈表). Every Sunday
//! the service drafts one for each district for the week ending that day
//! (ISO week, Monday to Sunday, in the operator's zone). Until the district
//! manager submits it, its figures are read live from the ledger, so they
//! are the week's sums whenever it is read; submitting keeps them as they
//! are, with the manager's notes, and the report is frozen.

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::periods::{Period, Span};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

/// One station's week.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StationWeek {
    pub station: String,
    pub name: String,
    /// New customers opened this week and activated (so far).
    pub new_customers: i64,
    /// Their first recharges.
    #[schema(value_type = String)]
    pub first_recharge_amount: Money,
    /// Every recharge at the station this week.
    #[schema(value_type = String)]
    pub recharge_amount: Money,
    /// Litres sold on cards at the station this week.
    #[schema(value_type = String)]
    pub card_litres: Litres,
    /// Development visits to the station's prospects this week.
    pub visits: i64,
    /// Prospects added this week.
    pub new_prospects: i64,
}

/// A district's report for a week.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeeklyReport {
    pub id: i64,
    pub district: String,
    /// `YYYY-Www`.
    pub week: String,
    /// `draft` (figures live) or `submitted` (frozen).
    pub status: String,
    pub drafted_at: String,
    pub submitted_at: Option<String>,
    pub submitted_by: Option<String>,
    pub notes: Option<String>,
    pub stations: Vec<StationWeek>,
}

/// The week whose Sunday is the latest one on or before `today`.
pub fn latest_sunday_week(today: NaiveDate) -> Period {
    let back = u64::from(today.weekday().num_days_from_sunday());
    Period::week_of(today - chrono::Days::new(back))
}

/// Drafts the reports due at `now`: every district's, for the week of the
/// latest Sunday. Run every minute by the service; drafting again changes
/// nothing, and a server that was down on Sunday drafts on its return.
pub async fn draft_due(conn: &mut Conn, now: i64, tz: Tz) -> AppResult<u64> {
    draft(conn, None, now, tz).await
}

/// Drafts a district's due report as it is brought on file, in the same
/// transaction, so that nothing is written behind the back of the request
/// that added it.
pub async fn draft_new(conn: &mut Conn, district: &str, now: i64, tz: Tz) -> AppResult<()> {
    draft(conn, Some(district), now, tz).await.map(drop)
}

async fn draft(conn: &mut Conn, only: Option<&str>, now: i64, tz: Tz) -> AppResult<u64> {
    let week = latest_sunday_week(crate::time::local_date(now, tz));
    let done = sqlx::query(
        "INSERT INTO weekly_reports (district, week, drafted_at) \
         SELECT code, $1, $2 FROM districts WHERE code = COALESCE($3, code) \
         ON CONFLICT (district, week) DO NOTHING",
    )
    .bind(&week.label)
    .bind(now)
    .bind(only)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// The stations' figures of a district over a span, live from the ledger.
pub async fn figures(conn: &mut Conn, district: &str, span: &Span) -> AppResult<Vec<StationWeek>> {
    let actuals = super::targets::actuals(conn, span).await?;
    let rows = sqlx::query(
        "SELECT s.id, s.code, s.name, \
           (SELECT CAST(COALESCE(SUM(r.amount_fen), 0) AS BIGINT) FROM recharges r \
              WHERE r.station_id = s.id AND r.created_at >= $2 AND r.created_at < $3) AS recharged, \
           (SELECT COUNT(*) FROM prospect_visits v JOIN prospects p ON p.id = v.prospect_id \
              WHERE p.station_id = s.id AND v.visited_at >= $2 AND v.visited_at < $3) AS visits, \
           (SELECT COUNT(*) FROM prospects p \
              WHERE p.station_id = s.id AND p.created_at >= $2 AND p.created_at < $3) AS prospects \
         FROM stations s WHERE s.district = $1 ORDER BY s.code",
    )
    .bind(district)
    .bind(span.from)
    .bind(span.to)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let f = actuals
                .get(&r.try_get::<i64, _>("id")?)
                .copied()
                .unwrap_or_default();
            Ok(StationWeek {
                station: r.try_get("code")?,
                name: r.try_get("name")?,
                new_customers: f.new_personal + f.new_company,
                first_recharge_amount: f.first_recharge_amount,
                recharge_amount: Money::from_fen(r.try_get("recharged")?),
                card_litres: f.card_litres,
                visits: r.try_get("visits")?,
                new_prospects: r.try_get("prospects")?,
            })
        })
        .collect()
}

/// A drafted report's row: its id, district, week and where it stands.
pub struct Stored {
    pub id: i64,
    pub district: String,
    pub week: String,
    drafted_at: i64,
    figures: Option<String>,
    notes: Option<String>,
    submitted_at: Option<i64>,
    submitted_by: Option<String>,
}

const STORED: &str = "SELECT w.id, w.district, w.week, w.drafted_at, w.figures, w.notes, \
    w.submitted_at, u.username FROM weekly_reports w LEFT JOIN users u ON u.id = w.submitted_by";

fn stored(r: &sqlx::any::AnyRow) -> AppResult<Stored> {
    Ok(Stored {
        id: r.try_get("id")?,
        district: r.try_get("district")?,
        week: r.try_get("week")?,
        drafted_at: r.try_get("drafted_at")?,
        figures: r.try_get("figures")?,
        notes: r.try_get("notes")?,
        submitted_at: r.try_get("submitted_at")?,
        submitted_by: r.try_get("username")?,
    })
}

fn not_drafted(what: String) -> AppError {
    AppError::new(Code::ReportNotDrafted, what)
}

/// The drafted report of a district's week.
pub async fn find(conn: &mut Conn, district: &str, week: &str) -> AppResult<Stored> {
    let row = sqlx::query(&format!("{STORED} WHERE w.district = $1 AND w.week = $2"))
        .bind(district)
        .bind(week)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            not_drafted(format!(
                "no report of {district} for {week}: it is drafted on the week's Sunday"
            ))
        })?;
    stored(&row)
}

pub async fn get(conn: &mut Conn, id: i64) -> AppResult<Stored> {
    let row = sqlx::query(&format!("{STORED} WHERE w.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| not_drafted(format!("no weekly report {id}")))?;
    stored(&row)
}

/// The report as shown: frozen figures once submitted, live ones before.
pub async fn report(
    conn: &mut Conn,
    s: Stored,
    tz: Tz,
    activation_days: i64,
) -> AppResult<WeeklyReport> {
    let stations = match &s.figures {
        Some(frozen) => serde_json::from_str(frozen)
            .map_err(|e| AppError::internal("reading a submitted report", e))?,
        None => {
            let span = Period::parse(&s.week)?.span(tz, activation_days)?;
            figures(conn, &s.district, &span).await?
        }
    };
    Ok(WeeklyReport {
        id: s.id,
        status: if s.submitted_at.is_some() {
            "submitted"
        } else {
            "draft"
        }
        .into(),
        district: s.district,
        week: s.week,
        drafted_at: crate::time::format_us(s.drafted_at),
        submitted_at: s.submitted_at.map(crate::time::format_us),
        submitted_by: s.submitted_by,
        notes: s.notes,
        stations,
    })
}

/// Submits a draft with the manager's notes: its figures are kept as they
/// are now. A submitted report cannot be submitted again.
pub async fn submit(
    conn: &mut Conn,
    s: &Stored,
    stations: &[StationWeek],
    notes: &str,
    by: i64,
    now: i64,
) -> AppResult<()> {
    let notes = crate::text::optional("notes", Some(notes), 2000)?;
    let figures = serde_json::to_string(stations)
        .map_err(|e| AppError::internal("keeping a report's figures", e))?;
    let done = sqlx::query(
        "UPDATE weekly_reports SET figures = $1, notes = $2, submitted_at = $3, submitted_by = $4 \
         WHERE id = $5 AND submitted_at IS NULL",
    )
    .bind(figures)
    .bind(notes)
    .bind(now)
    .bind(by)
    .bind(s.id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::new(
            Code::IllegalTransition,
            format!("weekly report {} is already submitted", s.id),
        )
        .with("from", "submitted")
        .with("to", "submitted"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_due_is_the_one_ending_on_the_latest_sunday() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        // Sunday the 29th ends 2026-W48; so does every day until Saturday.
        assert_eq!(latest_sunday_week(d(29)).label, "2026-W48");
        assert_eq!(latest_sunday_week(d(30)).label, "2026-W48");
        assert_eq!(latest_sunday_week(d(28)).label, "2026-W47");
    }
}

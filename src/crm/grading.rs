//! Customer levels and lifecycle, and the call-back list of the customers
//! who stopped coming.
//!
//! A **level** grades what a customer buys with cards: the monthly average
//! of the three calendar months before, in litres or in recharges, against
//! configurable thresholds (金牌 gold, 重点 key, 潜在重点 potential key,
//! 一般 ordinary, 边缘 marginal). The service grades every customer with a
//! card once a month, on the month's first minute, and keeps each month's
//! grade, so a change of level has its month.
//!
//! A **lifecycle** stage is read at any moment from when the customer
//! started and last refuelled: new (first card within 30 days), then
//! dormant or lost when no refuel for 45 or 120 days (configurable),
//! growing when the last 30 days' litres exceed the 60 days before by a
//! fifth, else stable. A customer's refuels are read from the card
//! openings, where each card keeps its latest sale as it is written.
//!
//! The **call-back list** is a station's dormant customers — the station
//! that opened their first card, and the member of staff who opened it —
//! with their last refuel, their usual monthly litres and the calls made
//! since they went quiet. A customer leaves the list by refuelling.

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::Litres;

const DAY_US: i64 = 86_400_000_000;

/// A customer's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 金牌客户
    Gold,
    /// 重点客户
    Key,
    /// 潜在重点客户
    PotentialKey,
    /// 一般客户
    Ordinary,
    /// 边缘客户
    Marginal,
}

impl Level {
    /// Every level, from the top down.
    pub const ALL: &'static [Level] = &[
        Level::Gold,
        Level::Key,
        Level::PotentialKey,
        Level::Ordinary,
        Level::Marginal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Gold => "gold",
            Level::Key => "key",
            Level::PotentialKey => "potential_key",
            Level::Ordinary => "ordinary",
            Level::Marginal => "marginal",
        }
    }

    fn stored(text: &str) -> AppResult<Level> {
        Level::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == text)
            .ok_or_else(|| AppError::internal("reading a grade", format!("level {text:?}")))
    }
}

/// One rung of the ladder: the monthly litres or the monthly recharge (in
/// fen) that reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    pub level: Level,
    pub litres_cl: i64,
    pub recharge_fen: i64,
}

/// What grades customers and when they count as dormant or lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// From the top rung down; below the last, marginal.
    pub rungs: [Rung; 4],
    pub new_days: i64,
    pub dormant_days: i64,
    pub lost_days: i64,
}

impl Default for Rules {
    /// Gold from 3,000 L or 20,000.00 a month, key from 1,000 L or
    /// 7,000.00, potential key from 300 L or 2,000.00, ordinary from 50 L or
    /// 300.00; dormant after 45 quiet days, lost after 120.
    fn default() -> Self {
        let rung = |level, litres: i64, yuan: i64| Rung {
            level,
            litres_cl: litres * 100,
            recharge_fen: yuan * 100,
        };
        Rules {
            rungs: [
                rung(Level::Gold, 3000, 20_000),
                rung(Level::Key, 1000, 7000),
                rung(Level::PotentialKey, 300, 2000),
                rung(Level::Ordinary, 50, 300),
            ],
            new_days: 30,
            dormant_days: 45,
            lost_days: 120,
        }
    }
}

/// The level of three months' card litres and recharges: the highest rung
/// whose monthly litres or monthly recharge the average reaches.
pub fn level(litres_cl: i64, recharge_fen: i64, rules: &Rules) -> Level {
    rules
        .rungs
        .iter()
        .find(|r| {
            litres_cl >= r.litres_cl.saturating_mul(3)
                || recharge_fen >= r.recharge_fen.saturating_mul(3)
        })
        .map_or(Level::Marginal, |r| r.level)
}

/// Where a customer stands in their life with the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    New,
    Growing,
    Stable,
    Dormant,
    Lost,
}

/// What the lifecycle is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// When the customer's first card was opened.
    pub first_card_at: i64,
    /// Their latest refuel, if any.
    pub last_refuel_at: Option<i64>,
    /// Litres (centilitres) in the last 30 days, and in the 60 days before.
    pub recent_cl: i64,
    pub before_cl: i64,
}

/// The lifecycle stage at `now`.
pub fn lifecycle(a: &Activity, now: i64, rules: &Rules) -> Lifecycle {
    let quiet_since = a.last_refuel_at.unwrap_or(a.first_card_at);
    if now - a.first_card_at < rules.new_days.saturating_mul(DAY_US) {
        Lifecycle::New
    } else if now - quiet_since > rules.lost_days.saturating_mul(DAY_US) {
        Lifecycle::Lost
    } else if now - quiet_since > rules.dormant_days.saturating_mul(DAY_US) {
        Lifecycle::Dormant
    } else if a.recent_cl.saturating_mul(10) > a.before_cl.saturating_mul(6) {
        // More than 1.2 × the 60 days' monthly average (before / 2).
        Lifecycle::Growing
    } else {
        Lifecycle::Stable
    }
}

/// Grades every customer with a card for the clock's month, once: by the
/// three calendar months before it. Returns how many were graded, or
/// `None` when the month was graded already.
pub async fn grade_due(conn: &mut Conn, now: i64, tz: Tz, rules: &Rules) -> AppResult<Option<u64>> {
    let today = crate::time::local_date(now, tz);
    let first = today.with_day(1).unwrap_or(today);
    let label = first.format("%Y-%m").to_string();
    let claimed = sqlx::query(
        "INSERT INTO grading_runs (month, graded_at, customers) VALUES ($1, $2, 0) \
         ON CONFLICT (month) DO NOTHING",
    )
    .bind(&label)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    let span = |day: Option<NaiveDate>| {
        day.and_then(|d| crate::time::day_span(d, tz))
            .map(|(start, _)| start)
            .ok_or_else(|| AppError::internal("grading customers", format!("month {label}")))
    };
    let from = span(first.checked_sub_months(chrono::Months::new(3)))?;
    let to = span(Some(first))?;
    let mut totals: std::collections::BTreeMap<i64, (i64, i64)> = sqlx::query_scalar::<_, i64>(
        "SELECT DISTINCT customer_id FROM cards WHERE customer_id IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|id| (id, (0, 0)))
    .collect();
    for (sql, litres) in [
        (
            "SELECT k.customer_id AS customer, CAST(SUM(s.litres_cl) AS BIGINT) AS total FROM sales s \
             JOIN cards k ON k.id = s.card_id \
             WHERE s.created_at >= $1 AND s.created_at < $2 AND k.customer_id IS NOT NULL \
             GROUP BY k.customer_id",
            true,
        ),
        (
            "SELECT k.customer_id AS customer, CAST(SUM(r.amount_fen) AS BIGINT) AS total FROM recharges r \
             JOIN cards k ON k.id = r.card_id \
             WHERE r.created_at >= $1 AND r.created_at < $2 AND k.customer_id IS NOT NULL \
             GROUP BY k.customer_id",
            false,
        ),
    ] {
        for row in sqlx::query(sql)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?
        {
            let customer: i64 = row.try_get("customer")?;
            let total: i64 = row.try_get("total")?;
            let t = totals.entry(customer).or_default();
            if litres {
                t.0 = total;
            } else {
                t.1 = total;
            }
        }
    }
    for (customer, (litres_cl, recharge_fen)) in &totals {
        sqlx::query(
            "INSERT INTO customer_grades (customer_id, month, level, litres_cl, recharge_fen) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(customer)
        .bind(&label)
        .bind(level(*litres_cl, *recharge_fen, rules).as_str())
        .bind(litres_cl)
        .bind(recharge_fen)
        .execute(&mut *conn)
        .await?;
    }
    let graded = totals.len() as u64;
    sqlx::query("UPDATE grading_runs SET customers = $2 WHERE month = $1")
        .bind(&label)
        .bind(graded as i64)
        .execute(&mut *conn)
        .await?;
    Ok(Some(graded))
}

/// A customer's standing: the latest month's level (none before their
/// first grading) and the lifecycle stage now.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerStanding {
    pub level: Option<Level>,
    /// The month the level was graded for (YYYY-MM).
    pub graded_month: Option<String>,
    /// None for a customer without a card.
    pub lifecycle: Option<Lifecycle>,
    /// The latest refuel (RFC 3339).
    pub last_refuel_at: Option<String>,
}

/// Reads a customer's activity from their cards' openings and recent sales.
async fn activity(conn: &mut Conn, customer: i64, now: i64) -> AppResult<Option<Activity>> {
    let row = sqlx::query(
        "SELECT MIN(o.opened_at) AS first_at, MAX(o.last_sale_at) AS last_at \
         FROM cards k JOIN card_openings o ON o.card_id = k.id WHERE k.customer_id = $1",
    )
    .bind(customer)
    .fetch_one(&mut *conn)
    .await?;
    let Some(first_card_at) = row.try_get::<Option<i64>, _>("first_at")? else {
        return Ok(None);
    };
    let last_refuel_at: Option<i64> = row.try_get("last_at")?;
    let recent_from = now - 30 * DAY_US;
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN s.created_at >= $2 THEN s.litres_cl ELSE 0 END), 0) AS BIGINT) AS recent, \
                CAST(COALESCE(SUM(CASE WHEN s.created_at < $2 THEN s.litres_cl ELSE 0 END), 0) AS BIGINT) AS before \
         FROM sales s JOIN cards k ON k.id = s.card_id \
         WHERE k.customer_id = $1 AND s.created_at >= $3 AND s.created_at <= $4",
    )
    .bind(customer)
    .bind(recent_from)
    .bind(now - 90 * DAY_US)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(Activity {
        first_card_at,
        last_refuel_at,
        recent_cl: row.try_get("recent")?,
        before_cl: row.try_get("before")?,
    }))
}

/// The customer's latest level and the month it was graded for (YYYY-MM);
/// none before their first grading.
pub async fn latest_grade(conn: &mut Conn, customer: i64) -> AppResult<Option<(Level, String)>> {
    let graded = sqlx::query(
        "SELECT month, level FROM customer_grades WHERE customer_id = $1 \
         ORDER BY month DESC LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?;
    match graded {
        Some(row) => Ok(Some((
            Level::stored(&row.try_get::<String, _>("level")?)?,
            row.try_get("month")?,
        ))),
        None => Ok(None),
    }
}

/// A customer's standing at `now`.
pub async fn standing(
    conn: &mut Conn,
    customer: i64,
    now: i64,
    rules: &Rules,
) -> AppResult<CustomerStanding> {
    let (level, graded_month) = match latest_grade(conn, customer).await? {
        Some((level, month)) => (Some(level), Some(month)),
        None => (None, None),
    };
    let activity = activity(conn, customer, now).await?;
    Ok(CustomerStanding {
        level,
        graded_month,
        lifecycle: activity.as_ref().map(|a| lifecycle(a, now, rules)),
        last_refuel_at: activity
            .and_then(|a| a.last_refuel_at)
            .map(crate::time::format_us),
    })
}

/// How a call to a dormant customer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Reached,
    /// They said they would come back.
    WillReturn,
    MovedAway,
    /// Unhappy with the station: a complaint may follow.
    Unhappy,
    NoAnswer,
    WrongNumber,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Reached => "reached",
            Outcome::WillReturn => "will_return",
            Outcome::MovedAway => "moved_away",
            Outcome::Unhappy => "unhappy",
            Outcome::NoAnswer => "no_answer",
            Outcome::WrongNumber => "wrong_number",
        }
    }

    fn stored(text: &str) -> AppResult<Outcome> {
        [
            Outcome::Reached,
            Outcome::WillReturn,
            Outcome::MovedAway,
            Outcome::Unhappy,
            Outcome::NoAnswer,
            Outcome::WrongNumber,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
        .ok_or_else(|| AppError::internal("reading a call", format!("outcome {text:?}")))
    }
}

/// One call made.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Call {
    pub outcome: Outcome,
    pub notes: Option<String>,
    /// Who called (username).
    pub by: Option<String>,
    /// RFC 3339.
    pub at: String,
}

/// A dormant customer on a station's call-back list.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Callback {
    pub customer_id: i64,
    pub name: String,
    /// Masked but for those who may read personal data.
    pub phone: Option<String>,
    /// The station that opened their first card.
    pub station: String,
    #[serde(skip)]
    pub station_id: i64,
    /// The member of staff who opened it (username), to make the call.
    pub staff: Option<String>,
    /// Their latest refuel (RFC 3339); none if they never refuelled.
    pub last_refuel_at: Option<String>,
    /// Whole days since then (or since the card was opened).
    pub quiet_days: i64,
    /// Their usual litres a month: the 90 days up to their last refuel.
    #[schema(value_type = String)]
    pub usual_monthly_litres: Litres,
    /// The calls made since they went quiet, the latest first.
    pub calls: Vec<Call>,
}

/// The most customers one call-back list shows.
pub const LIST_LIMIT: i64 = 500;

/// The dormant customers of the stations `station` picks (all when none),
/// the longest quiet first.
pub async fn callbacks(
    conn: &mut Conn,
    station: Option<i64>,
    district: Option<&str>,
    now: i64,
    rules: &Rules,
) -> AppResult<Vec<Callback>> {
    let dormant = now - rules.dormant_days.saturating_mul(DAY_US);
    let lost = now - rules.lost_days.saturating_mul(DAY_US);
    let new = now - rules.new_days.saturating_mul(DAY_US);
    let rows = sqlx::query(&format!(
        "WITH q AS ( \
             SELECT k.customer_id, MIN(o.opened_at) AS first_at, MAX(o.last_sale_at) AS last_at \
             FROM cards k JOIN card_openings o ON o.card_id = k.id \
             WHERE k.customer_id IS NOT NULL GROUP BY k.customer_id) \
         SELECT q.customer_id, q.first_at, q.last_at, MIN(o.station_id) AS station_id, \
                MIN(u.username) AS staff \
         FROM q JOIN cards k ON k.customer_id = q.customer_id \
         JOIN card_openings o ON o.card_id = k.id AND o.opened_at = q.first_at \
         JOIN stations s ON s.id = o.station_id \
         LEFT JOIN users u ON u.id = o.user_id \
         WHERE COALESCE(q.last_at, q.first_at) < $1 AND COALESCE(q.last_at, q.first_at) >= $2 \
           AND q.first_at < $3 \
           AND ($4 IS NULL OR o.station_id = $4) AND ($5 IS NULL OR s.district = $5) \
         GROUP BY q.customer_id, q.first_at, q.last_at \
         ORDER BY COALESCE(q.last_at, q.first_at), q.customer_id LIMIT {LIST_LIMIT}"
    ))
    .bind(dormant)
    .bind(lost)
    .bind(new)
    .bind(station)
    .bind(district)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let customer_id: i64 = row.try_get("customer_id")?;
        let first_at: i64 = row.try_get("first_at")?;
        let last_at: Option<i64> = row.try_get("last_at")?;
        let station_id: i64 = row.try_get("station_id")?;
        let quiet_since = last_at.unwrap_or(first_at);
        let who = sqlx::query(
            "SELECT c.name, c.phone, s.code FROM customers c, stations s \
             WHERE c.id = $1 AND s.id = $2",
        )
        .bind(customer_id)
        .bind(station_id)
        .fetch_one(&mut *conn)
        .await?;
        let usual: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(s.litres_cl), 0) AS BIGINT) FROM sales s JOIN cards k ON k.id = s.card_id \
             WHERE k.customer_id = $1 AND s.created_at > $2 AND s.created_at <= $3",
        )
        .bind(customer_id)
        .bind(quiet_since - 90 * DAY_US)
        .bind(quiet_since)
        .fetch_one(&mut *conn)
        .await?;
        let calls = sqlx::query(
            "SELECT c.outcome, c.notes, u.username, c.called_at FROM callback_calls c \
             LEFT JOIN users u ON u.id = c.user_id \
             WHERE c.customer_id = $1 AND c.called_at > $2 ORDER BY c.called_at DESC, c.id DESC",
        )
        .bind(customer_id)
        .bind(quiet_since)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|c| {
            Ok(Call {
                outcome: Outcome::stored(&c.try_get::<String, _>("outcome")?)?,
                notes: c.try_get("notes")?,
                by: c.try_get("username")?,
                at: crate::time::format_us(c.try_get("called_at")?),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
        out.push(Callback {
            customer_id,
            name: who.try_get("name")?,
            phone: who.try_get("phone")?,
            station: who.try_get("code")?,
            station_id,
            staff: row.try_get("staff")?,
            last_refuel_at: last_at.map(crate::time::format_us),
            quiet_days: (now - quiet_since) / DAY_US,
            usual_monthly_litres: Litres::from_cl(usual / 3),
            calls,
        });
    }
    Ok(out)
}

/// The customer's call-back entry, if they are dormant now.
pub async fn callback_of(
    conn: &mut Conn,
    customer: i64,
    now: i64,
    rules: &Rules,
) -> AppResult<Callback> {
    let Some(a) = activity(conn, customer, now).await? else {
        return Err(not_dormant(customer));
    };
    if lifecycle(&a, now, rules) != Lifecycle::Dormant {
        return Err(not_dormant(customer));
    }
    let Some(station) = home_station(conn, customer).await? else {
        return Err(not_dormant(customer));
    };
    callbacks(conn, Some(station), None, now, rules)
        .await?
        .into_iter()
        .find(|c| c.customer_id == customer)
        .ok_or_else(|| not_dormant(customer))
}

/// The station a customer belongs to: the one that opened their first
/// card (of two opened at the same instant, the lower station id, as
/// [`HOME_STATIONS`] reads it). It calls them back when they go quiet and
/// keeps their care log and visit plan. None for a customer without a card.
pub async fn home_station(conn: &mut Conn, customer: i64) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT o.station_id FROM cards k JOIN card_openings o ON o.card_id = k.id \
         WHERE k.customer_id = $1 ORDER BY o.opened_at, o.station_id LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?)
}

/// [`home_station`] for every customer with a card, as a query's `WITH`
/// clause: the tables `first_cards (customer_id, first_at)` and
/// `home (customer_id, station_id)`, for the lists of a station's customers.
pub const HOME_STATIONS: &str = "WITH first_cards AS ( \
         SELECT k.customer_id, MIN(o.opened_at) AS first_at \
         FROM cards k JOIN card_openings o ON o.card_id = k.id \
         WHERE k.customer_id IS NOT NULL GROUP BY k.customer_id), \
     home AS ( \
         SELECT f.customer_id, MIN(o.station_id) AS station_id FROM first_cards f \
         JOIN cards k ON k.customer_id = f.customer_id \
         JOIN card_openings o ON o.card_id = k.id AND o.opened_at = f.first_at \
         GROUP BY f.customer_id)";

fn not_dormant(customer: i64) -> AppError {
    AppError::new(
        Code::NotOnCallbackList,
        format!("customer {customer} is not dormant: nobody needs to call them"),
    )
}

/// Records a call made to a dormant customer.
pub async fn record_call(
    conn: &mut Conn,
    c: &Callback,
    user: i64,
    outcome: Outcome,
    notes: Option<&str>,
    now: i64,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO callback_calls (customer_id, station_id, user_id, outcome, notes, called_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.customer_id)
    .bind(c.station_id)
    .bind(user)
    .bind(outcome.as_str())
    .bind(notes)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_rung_either_measure_reaches() {
        let r = Rules::default();
        // Three months: 9,000 L is 3,000 a month.
        assert_eq!(level(900_000, 0, &r), Level::Gold);
        assert_eq!(level(899_999, 0, &r), Level::Key);
        assert_eq!(level(0, 6_000_000, &r), Level::Gold);
        assert_eq!(level(90_000, 0, &r), Level::PotentialKey);
        assert_eq!(level(15_000, 0, &r), Level::Ordinary);
        assert_eq!(level(14_999, 89_999, &r), Level::Marginal);
        assert_eq!(level(0, 90_000, &r), Level::Ordinary);
    }

    #[test]
    fn a_life_from_new_to_lost() {
        let r = Rules::default();
        let day = DAY_US;
        let opened = 1_000 * day;
        let a = |last: Option<i64>, recent, before| Activity {
            first_card_at: opened,
            last_refuel_at: last,
            recent_cl: recent,
            before_cl: before,
        };
        assert_eq!(
            lifecycle(&a(None, 0, 0), opened + 29 * day, &r),
            Lifecycle::New
        );
        assert_eq!(
            lifecycle(&a(None, 0, 0), opened + 46 * day, &r),
            Lifecycle::Dormant
        );
        let last = Some(opened + 40 * day);
        assert_eq!(
            lifecycle(&a(last, 50, 100), opened + 85 * day, &r),
            Lifecycle::Stable
        );
        assert_eq!(
            lifecycle(&a(last, 0, 0), opened + 85 * day + 1, &r),
            Lifecycle::Dormant
        );
        assert_eq!(
            lifecycle(&a(last, 0, 0), opened + 160 * day + 1, &r),
            Lifecycle::Lost
        );
        // 61 L against 100 L in the 60 days before (50 a month): growing.
        assert_eq!(
            lifecycle(&a(last, 6_100, 10_000), opened + 60 * day, &r),
            Lifecycle::Growing
        );
        assert_eq!(
            lifecycle(&a(last, 6_000, 10_000), opened + 60 * day, &r),
            Lifecycle::Stable
        );
    }
}

//! Monthly acquisition targets (目标) per station and per district, and the
//! tracking table (目标完成情况追踪表) that sets them beside what happened.
//!
//! Actuals are never typed in. A new customer is a card opening that
//! brought one (a personal or anonymous card, a company's main card) *and
//! was activated*: its first refuel — for a company, on any of its cards —
//! came within the activation window (N × 24 hours, default 30 days) of the
//! opening. A card that is opened and never used raises nothing. The
//! first-recharge amount counts the first recharge of those activated
//! customers; card litres are the litres sold on cards at the station in
//! the month.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::periods::Span;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};
use crate::stations::Station;

/// The four things a month is measured by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Figures {
    /// New personal customers, activated.
    pub new_personal: i64,
    /// New company customers, activated.
    pub new_company: i64,
    /// The first recharges of the activated new customers.
    #[schema(value_type = String, example = "12000.00")]
    pub first_recharge_amount: Money,
    /// Litres sold on cards.
    #[schema(value_type = String, example = "45000.00")]
    pub card_litres: Litres,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.new_personal += o.new_personal;
        self.new_company += o.new_company;
        self.first_recharge_amount =
            Money::from_fen(self.first_recharge_amount.fen() + o.first_recharge_amount.fen());
        self.card_litres = Litres::from_cl(self.card_litres.cl() + o.card_litres.cl());
    }
}

/// A target: each measure is optional (a station may have no company
/// target, say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Goal {
    pub new_personal: Option<i64>,
    pub new_company: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub first_recharge_amount: Option<Money>,
    #[schema(value_type = Option<String>)]
    pub card_litres: Option<Litres>,
}

/// Each measure's completion, in percent with one decimal (`"87.5"`);
/// none where there is no target or the target is zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Completion {
    pub new_personal: Option<String>,
    pub new_company: Option<String>,
    pub first_recharge_amount: Option<String>,
    pub card_litres: Option<String>,
}

/// `actual / goal` in percent, one decimal, rounded half away from zero.
pub fn percent(actual: i64, goal: Option<i64>) -> Option<String> {
    let goal = goal.filter(|g| *g > 0)?;
    let p = Decimal::from(actual) * Decimal::from(100) / Decimal::from(goal);
    let p = p.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    Some(format!("{p:.1}"))
}

impl Completion {
    pub fn of(actual: &Figures, goal: &Goal) -> Completion {
        Completion {
            new_personal: percent(actual.new_personal, goal.new_personal),
            new_company: percent(actual.new_company, goal.new_company),
            first_recharge_amount: percent(
                actual.first_recharge_amount.fen(),
                goal.first_recharge_amount.map(Money::fen),
            ),
            card_litres: percent(actual.card_litres.cl(), goal.card_litres.map(Litres::cl)),
        }
    }
}

/// One line of the tracking table: a station, or a district's total.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackingLine {
    /// The station's code; none on a district's line.
    pub station: Option<String>,
    pub district: String,
    pub target: Goal,
    pub actual: Figures,
    pub completion: Completion,
    /// Of the previous quarter's activated new customers, how many are
    /// still refuelling.
    pub retention: Retention,
}

/// The previous quarter's activated new customers, and those of them with a
/// refuel in the 30 days before the table was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Retention {
    pub new_customers: i64,
    pub still_active: i64,
}

impl Retention {
    fn add(&mut self, o: &Retention) {
        self.new_customers += o.new_customers;
        self.still_active += o.still_active;
    }
}

/// What a tracking table is read over: the month, the quarter before the
/// month's (for retention), and the instant it is read at.
pub struct Reading<'a> {
    pub month: &'a str,
    pub span: Span,
    /// `YYYY-Qn` and its span.
    pub last_quarter: (String, Span),
    pub now: i64,
}

/// The tracking table of a month.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tracking {
    pub month: String,
    /// A new customer counts once refuelled within this many days of
    /// opening.
    pub activation_days: i64,
    /// The quarter whose new customers the retention counts.
    pub retention_quarter: String,
    /// Each district's line, followed by its stations' lines.
    pub lines: Vec<TrackingLine>,
}

/// A target as a request sets it, for one station or one district.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    /// A station's code…
    #[serde(default)]
    pub station: Option<String>,
    /// …or a district's.
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub new_personal: Option<u32>,
    #[serde(default)]
    pub new_company: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "20000.00")]
    pub first_recharge_amount: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "50000")]
    pub card_litres: Option<String>,
}

impl TargetInput {
    /// The goal it sets, checked: amounts and litres as decimals with at
    /// most two places, zero allowed.
    pub fn goal(&self) -> AppResult<Goal> {
        let amount = self
            .first_recharge_amount
            .as_deref()
            .map(|t| {
                Money::parse(t).map_err(|e| {
                    AppError::new(
                        Code::InvalidAmount,
                        format!("first_recharge_amount {t:?}: {e}"),
                    )
                    .with("field", "first_recharge_amount")
                })
            })
            .transpose()?;
        let litres = self
            .card_litres
            .as_deref()
            .map(|t| {
                Litres::parse(t).map_err(|e| {
                    AppError::new(Code::InvalidLitres, format!("card_litres {t:?}: {e}"))
                        .with("field", "card_litres")
                })
            })
            .transpose()?;
        Ok(Goal {
            new_personal: self.new_personal.map(i64::from),
            new_company: self.new_company.map(i64::from),
            first_recharge_amount: amount,
            card_litres: litres,
        })
    }
}

/// Where a target applies.
#[derive(Debug, Clone)]
pub enum Scope {
    Station(Station),
    District(String),
}

/// Sets one target for the month, replacing what was set before.
pub async fn set(
    conn: &mut Conn,
    month: &str,
    scope: &Scope,
    goal: &Goal,
    by: i64,
    now: i64,
) -> AppResult<()> {
    let (station, district) = match scope {
        Scope::Station(s) => (Some(s.id), None),
        Scope::District(d) => (None, Some(d.as_str())),
    };
    sqlx::query(
        "DELETE FROM targets WHERE month = $1 \
         AND (station_id = $2 OR ($2 IS NULL AND district = $3))",
    )
    .bind(month)
    .bind(station)
    .bind(district)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO targets (month, station_id, district, new_personal, new_company, \
         first_recharge_fen, card_litres_cl, set_by, set_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(month)
    .bind(station)
    .bind(district)
    .bind(goal.new_personal)
    .bind(goal.new_company)
    .bind(goal.first_recharge_amount.map(Money::fen))
    .bind(goal.card_litres.map(Litres::cl))
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which part of the network a table covers.
#[derive(Debug, Clone, Copy)]
pub enum Covering<'a> {
    All,
    District(&'a str),
    Station(i64),
}

/// The tracking table of a month for the part of the network covered.
pub async fn tracking(
    conn: &mut Conn,
    r: &Reading<'_>,
    covering: Covering<'_>,
) -> AppResult<Tracking> {
    let (month, span) = (r.month, &r.span);
    let stations: Vec<Station> = crate::stations::list(conn)
        .await?
        .into_iter()
        .filter(|s| match covering {
            Covering::All => true,
            Covering::District(d) => s.district == d,
            Covering::Station(id) => s.id == id,
        })
        .collect();
    let actuals = actuals(conn, span).await?;
    let retained = retention(conn, &r.last_quarter.1, r.now).await?;
    let (station_goals, district_goals) = goals(conn, month).await?;
    let mut by_district: BTreeMap<&str, Vec<&Station>> = BTreeMap::new();
    for s in &stations {
        by_district.entry(s.district.as_str()).or_default().push(s);
    }
    let mut lines = Vec::new();
    for (district, members) in by_district {
        let mut total = Figures::default();
        let mut total_retention = Retention::default();
        let mut station_lines = Vec::new();
        for s in members {
            let actual = actuals.get(&s.id).copied().unwrap_or_default();
            total.add(&actual);
            let retention = retained.get(&s.id).copied().unwrap_or_default();
            total_retention.add(&retention);
            let target = station_goals.get(&s.id).copied().unwrap_or_default();
            station_lines.push(TrackingLine {
                station: Some(s.code.clone()),
                district: district.to_string(),
                completion: Completion::of(&actual, &target),
                target,
                actual,
                retention,
            });
        }
        if !matches!(covering, Covering::Station(_)) {
            let target = district_goals.get(district).copied().unwrap_or_default();
            lines.push(TrackingLine {
                station: None,
                district: district.to_string(),
                completion: Completion::of(&total, &target),
                target,
                actual: total,
                retention: total_retention,
            });
        }
        lines.extend(station_lines);
    }
    Ok(Tracking {
        month: month.to_string(),
        activation_days: span.activation_days,
        retention_quarter: r.last_quarter.0.clone(),
        lines,
    })
}

/// A query of `columns` over the new customers each station won: the
/// openings in `[$1, $2)` that brought a customer and were activated, their
/// first refuel within `$3` microseconds of the opening. Parameters from
/// `$4` on are the caller's.
fn won_per_station(columns: &str) -> String {
    format!(
        "SELECT station_id, {columns} FROM card_openings \
         WHERE opened_at >= $1 AND opened_at < $2 AND customer_kind IS NOT NULL \
           AND station_id IS NOT NULL \
           AND first_sale_at IS NOT NULL AND first_sale_at - opened_at <= $3 \
         GROUP BY station_id"
    )
}

/// Per station: the customers opened and activated in `quarter`, and those
/// of them whose latest refuel (on any of a company's cards) is within the
/// 30 days before `now`.
async fn retention(
    conn: &mut Conn,
    quarter: &Span,
    now: i64,
) -> AppResult<BTreeMap<i64, Retention>> {
    let sql = won_per_station(
        "COUNT(*) AS customers, SUM(CASE WHEN last_sale_at >= $4 THEN 1 ELSE 0 END) AS active",
    );
    let rows = sqlx::query(&sql)
        .bind(quarter.from)
        .bind(quarter.to)
        .bind(quarter.window_us())
        .bind(now.saturating_sub(30 * 86_400_000_000))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>("station_id")?,
                Retention {
                    new_customers: r.try_get("customers")?,
                    still_active: r.try_get("active")?,
                },
            ))
        })
        .collect()
}

/// The actuals per station of the customers opened in the span (activated
/// by now) and the litres sold on cards in it (kept per station and day as
/// sales are written).
pub async fn actuals(conn: &mut Conn, span: &Span) -> AppResult<BTreeMap<i64, Figures>> {
    let sql = won_per_station(
        "SUM(CASE WHEN customer_kind = 'person' THEN 1 ELSE 0 END) AS persons, \
         SUM(CASE WHEN customer_kind = 'company' THEN 1 ELSE 0 END) AS companies, \
         CAST(SUM(COALESCE(first_recharge_fen, 0)) AS BIGINT) AS first_recharge",
    );
    let rows = sqlx::query(&sql)
        .bind(span.from)
        .bind(span.to)
        .bind(span.window_us())
        .fetch_all(&mut *conn)
        .await?;
    let mut out: BTreeMap<i64, Figures> = BTreeMap::new();
    for r in rows {
        let f = out.entry(r.try_get("station_id")?).or_default();
        f.new_personal = r.try_get("persons")?;
        f.new_company = r.try_get("companies")?;
        f.first_recharge_amount = Money::from_fen(r.try_get("first_recharge")?);
    }
    for (station, litres) in crate::stations::days::card_litres(conn, span.first, span.next).await?
    {
        out.entry(station).or_default().card_litres = litres;
    }
    Ok(out)
}

type Goals = (BTreeMap<i64, Goal>, BTreeMap<String, Goal>);

/// The month's targets, by station and by district.
async fn goals(conn: &mut Conn, month: &str) -> AppResult<Goals> {
    let rows = sqlx::query(
        "SELECT station_id, district, new_personal, new_company, first_recharge_fen, \
         card_litres_cl FROM targets WHERE month = $1",
    )
    .bind(month)
    .fetch_all(&mut *conn)
    .await?;
    let mut stations = BTreeMap::new();
    let mut districts = BTreeMap::new();
    for r in rows {
        let goal = Goal {
            new_personal: r.try_get("new_personal")?,
            new_company: r.try_get("new_company")?,
            first_recharge_amount: r
                .try_get::<Option<i64>, _>("first_recharge_fen")?
                .map(Money::from_fen),
            card_litres: r
                .try_get::<Option<i64>, _>("card_litres_cl")?
                .map(Litres::from_cl),
        };
        match (
            r.try_get::<Option<i64>, _>("station_id")?,
            r.try_get::<Option<String>, _>("district")?,
        ) {
            (Some(s), _) => {
                stations.insert(s, goal);
            }
            (None, Some(d)) => {
                districts.insert(d, goal);
            }
            (None, None) => {
                return Err(AppError::internal(
                    "reading targets",
                    "a target for neither a station nor a district",
                ));
            }
        }
    }
    Ok((stations, districts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_is_a_percent_with_one_decimal() {
        assert_eq!(percent(7, Some(8)).as_deref(), Some("87.5"));
        assert_eq!(percent(1, Some(3)).as_deref(), Some("33.3"));
        assert_eq!(percent(2, Some(3)).as_deref(), Some("66.7"));
        assert_eq!(percent(12, Some(10)).as_deref(), Some("120.0"));
        assert_eq!(percent(5, Some(0)), None);
        assert_eq!(percent(5, None), None);
    }

    #[test]
    fn a_goal_takes_zero_and_refuses_three_decimals() {
        let t = |a: &str, l: &str| TargetInput {
            station: Some("S1".into()),
            district: None,
            new_personal: Some(3),
            new_company: None,
            first_recharge_amount: Some(a.into()),
            card_litres: Some(l.into()),
        };
        let g = t("0", "0.00").goal().unwrap();
        assert_eq!(g.first_recharge_amount, Some(Money::ZERO));
        assert_eq!(g.card_litres, Some(Litres::from_cl(0)));
        assert!(t("1.001", "10").goal().is_err());
        assert!(t("10", "-1").goal().is_err());
    }
}

//! The monthly vehicle fuel review: for each vehicle, what it used and how
//! efficiently; and the refuels that look wrong, each with its reason.
//!
//! The anomaly rules are pure functions over one vehicle's refuels in time
//! order; the store function reads the month's refuels of a company in one
//! query (by the `sales_vehicle` index) and the previous month's totals.
//!
//! One carry-over rule: an anomaly not yet acknowledged, from any earlier
//! month, is listed in every later month's review (with its own month)
//! until the manager acknowledges it.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use super::limits::Hours;
use super::vehicles::{self, Vehicle};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

/// What counts as odd, too close, or far from normal. The defaults suit a
/// day-shift fleet; a manager may pass others with the request.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Local hours at which a refuel is odd (default 23:00–05:00).
    pub odd_hours: Hours,
    /// Two refuels of one vehicle closer than this are flagged (default 2 h).
    pub min_gap_minutes: i64,
    /// Consumption further than this from the baseline, in percent (default 30).
    pub consumption_deviation_percent: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            odd_hours: Hours {
                start_min: 23 * 60,
                end_min: 5 * 60,
            },
            min_gap_minutes: 120,
            consumption_deviation_percent: 30,
        }
    }
}

/// One refuel as the review sees it.
#[derive(Debug, Clone)]
pub struct Refuel {
    pub sale_id: i64,
    pub at_us: i64,
    pub minute_of_day: u32,
    pub product: String,
    pub litres: Litres,
    pub charged: Money,
    pub odometer_km: Option<i64>,
    pub cash: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    OverTankCapacity,
    OdometerBackwards,
    ConsumptionFarFromBaseline,
    OddHours,
    TooClose,
    WrongProduct,
    CashRefuel,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::OverTankCapacity => "over_tank_capacity",
            AnomalyKind::OdometerBackwards => "odometer_backwards",
            AnomalyKind::ConsumptionFarFromBaseline => "consumption_far_from_baseline",
            AnomalyKind::OddHours => "odd_hours",
            AnomalyKind::TooClose => "too_close",
            AnomalyKind::WrongProduct => "wrong_product",
            AnomalyKind::CashRefuel => "cash_refuel",
        }
    }

    pub fn parse(text: &str) -> Option<AnomalyKind> {
        [
            AnomalyKind::OverTankCapacity,
            AnomalyKind::OdometerBackwards,
            AnomalyKind::ConsumptionFarFromBaseline,
            AnomalyKind::OddHours,
            AnomalyKind::TooClose,
            AnomalyKind::WrongProduct,
            AnomalyKind::CashRefuel,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Anomaly {
    pub plate: String,
    pub kind: AnomalyKind,
    /// The refuel (sale id) it concerns; the month's last refuel for a
    /// consumption anomaly.
    pub sale_id: i64,
    pub month: String,
    pub reason: String,
    pub acknowledged: bool,
    pub justification: Option<String>,
}

/// The efficiency of one vehicle over the month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VehicleLine {
    pub plate: String,
    pub department: Option<String>,
    #[schema(value_type = String)]
    pub litres: Litres,
    #[schema(value_type = String)]
    pub amount: Money,
    pub refuels: i64,
    pub distance_km: Option<i64>,
    /// Litres per 100 km, two decimals, when the distance is known.
    pub l_per_100km: Option<String>,
    #[schema(value_type = String)]
    pub baseline_l_per_100km: Litres,
    /// Percent above (+) or below (−) the baseline.
    pub vs_baseline_percent: Option<String>,
    #[schema(value_type = Option<String>)]
    pub allocation: Option<Money>,
    pub allocation_used_percent: Option<String>,
    #[schema(value_type = String)]
    pub last_month_litres: Litres,
    pub vs_last_month_percent: Option<String>,
}

fn pct(part: i64, whole: i64) -> Option<Decimal> {
    (whole != 0).then(|| {
        (Decimal::new(part, 0) * Decimal::ONE_HUNDRED / Decimal::new(whole, 0)).round_dp(1)
    })
}

/// Distance over the month: the last reading less the reading before the
/// first refuel of the month (or the first reading of the month).
pub fn distance_km(previous_reading: Option<i64>, refuels: &[Refuel]) -> Option<i64> {
    let readings: Vec<i64> = refuels.iter().filter_map(|r| r.odometer_km).collect();
    let last = *readings.iter().max()?;
    let start = previous_reading.or_else(|| readings.first().copied())?;
    (last > start).then_some(last - start)
}

/// Litres per 100 km. With a reading before the month, all the month's fuel
/// drove the distance; otherwise the first fill only brought the tank up
/// and does not count.
pub fn consumption(previous_reading: Option<i64>, refuels: &[Refuel]) -> Option<Decimal> {
    let distance = distance_km(previous_reading, refuels)?;
    let counted: i64 = if previous_reading.is_some() {
        refuels.iter().map(|r| r.litres.cl()).sum()
    } else {
        refuels.iter().skip(1).map(|r| r.litres.cl()).sum()
    };
    Some((Decimal::new(counted, 2) * Decimal::ONE_HUNDRED / Decimal::new(distance, 0)).round_dp(2))
}

/// The anomalies of one vehicle's month, refuels in time order.
pub fn anomalies(
    vehicle: &Vehicle,
    previous_reading: Option<i64>,
    refuels: &[Refuel],
    t: &Thresholds,
) -> Vec<(AnomalyKind, i64, String)> {
    let mut out = Vec::new();
    let mut last_reading = previous_reading;
    let mut last_at: Option<i64> = None;
    for r in refuels {
        if r.litres > vehicle.tank_capacity {
            out.push((
                AnomalyKind::OverTankCapacity,
                r.sale_id,
                format!("{} L into a {} L tank", r.litres, vehicle.tank_capacity),
            ));
        }
        if let (Some(now), Some(before)) = (r.odometer_km, last_reading) {
            if now < before {
                out.push((
                    AnomalyKind::OdometerBackwards,
                    r.sale_id,
                    format!("odometer {now} km after {before} km"),
                ));
            }
        }
        if t.odd_hours.contains(r.minute_of_day) {
            out.push((
                AnomalyKind::OddHours,
                r.sale_id,
                format!(
                    "refuelled at {:02}:{:02}",
                    r.minute_of_day / 60,
                    r.minute_of_day % 60
                ),
            ));
        }
        if let Some(prev) = last_at {
            let gap_min = (r.at_us - prev) / 60_000_000;
            if gap_min < t.min_gap_minutes {
                out.push((
                    AnomalyKind::TooClose,
                    r.sale_id,
                    format!("{gap_min} minutes after the previous refuel"),
                ));
            }
        }
        if !vehicle.products.contains(&r.product) {
            out.push((
                AnomalyKind::WrongProduct,
                r.sale_id,
                format!(
                    "{} for a vehicle that takes {}",
                    r.product,
                    vehicle.products.join(", ")
                ),
            ));
        }
        if r.cash {
            out.push((AnomalyKind::CashRefuel, r.sale_id, "paid in cash".into()));
        }
        last_reading = match (r.odometer_km, last_reading) {
            (Some(now), Some(before)) => Some(now.max(before)),
            (Some(now), None) => Some(now),
            (None, before) => before,
        };
        last_at = Some(r.at_us);
    }
    if let (Some(used), Some(last)) = (consumption(previous_reading, refuels), refuels.last()) {
        let baseline = Decimal::new(vehicle.baseline_l_per_100km.cl(), 2);
        if baseline > Decimal::ZERO {
            let deviation = ((used - baseline) * Decimal::ONE_HUNDRED / baseline).round_dp(1);
            if deviation.abs() > Decimal::new(t.consumption_deviation_percent, 0) {
                out.push((
                    AnomalyKind::ConsumptionFarFromBaseline,
                    last.sale_id,
                    format!("{used} L/100 km against a baseline of {baseline} ({deviation:+}%)"),
                ));
            }
        }
    }
    out
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub company_id: i64,
    pub month: String,
    #[schema(value_type = String)]
    pub total_litres: Litres,
    #[schema(value_type = String)]
    pub total_amount: Money,
    pub total_refuels: i64,
    pub vehicles: Vec<VehicleLine>,
    /// This month's anomalies, then those of every earlier month not yet
    /// acknowledged (carried over: their `month` is earlier).
    pub anomalies: Vec<Anomaly>,
}

/// A month's UTC span in the operator's time zone, and the month before.
fn month_span(month: &str, tz: Tz) -> AppResult<(i64, i64, String)> {
    let start = super::allocation::parse_month(month)?;
    let out_of_range = || AppError::new(Code::ValidationFailed, "month out of range");
    let prev = start
        .checked_sub_months(chrono::Months::new(1))
        .ok_or_else(out_of_range)?;
    let (from, to) = crate::time::month_span(start, tz).ok_or_else(out_of_range)?;
    Ok((from, to, prev.format("%Y-%m").to_string()))
}

/// The refuels of a company's vehicles in `[from, to)`, grouped by vehicle.
/// One indexed range query; grouping and ordering happen here, which is
/// cheaper than asking the database to sort tens of thousands of rows.
async fn refuels(
    conn: &mut Conn,
    company_id: i64,
    from: i64,
    to: i64,
    tz: Tz,
) -> AppResult<BTreeMap<i64, Vec<Refuel>>> {
    let codes: BTreeMap<i64, String> = sqlx::query("SELECT id, code FROM products")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("code")?)))
        .collect::<AppResult<_>>()?;
    let rows = sqlx::query(
        "SELECT s.vehicle_id, s.id, s.created_at, s.product_id, s.litres_cl, s.charged_fen, s.odometer_km \
         FROM sales s WHERE s.created_at >= $2 AND s.created_at < $3 \
         AND s.vehicle_id IN (SELECT id FROM vehicles WHERE company_id = $1)",
    )
    .bind(company_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: BTreeMap<i64, Vec<Refuel>> = BTreeMap::new();
    for r in rows {
        let at_us: i64 = r.try_get("created_at")?;
        let product_id: i64 = r.try_get("product_id")?;
        out.entry(r.try_get("vehicle_id")?)
            .or_default()
            .push(Refuel {
                sale_id: r.try_get("id")?,
                at_us,
                minute_of_day: super::minute_of_day(at_us, tz),
                product: codes.get(&product_id).cloned().unwrap_or_default(),
                litres: Litres::from_cl(r.try_get("litres_cl")?),
                charged: Money::from_fen(r.try_get("charged_fen")?),
                odometer_km: r.try_get("odometer_km")?,
                cash: false,
            });
    }
    for list in out.values_mut() {
        list.sort_by_key(|r| (r.at_us, r.sale_id));
    }
    Ok(out)
}

/// Per vehicle, a number keyed by vehicle id: `sql` selects `vehicle_id`
/// and `value` for the company (`$1`) and a month (`$2`).
async fn per_vehicle(
    conn: &mut Conn,
    sql: &str,
    company_id: i64,
    month: &str,
) -> AppResult<BTreeMap<i64, i64>> {
    let rows = sqlx::query(sql)
        .bind(company_id)
        .bind(month)
        .fetch_all(&mut *conn)
        .await?;
    collect_values(rows)
}

fn collect_values(rows: Vec<sqlx::any::AnyRow>) -> AppResult<BTreeMap<i64, i64>> {
    let mut out = BTreeMap::new();
    for r in rows {
        if let Some(v) = r.try_get::<Option<i64>, _>("value")? {
            out.insert(r.try_get("vehicle_id")?, v);
        }
    }
    Ok(out)
}

/// Each vehicle's highest odometer reading before `before`.
async fn readings_before(
    conn: &mut Conn,
    company_id: i64,
    before: i64,
) -> AppResult<BTreeMap<i64, i64>> {
    let rows = sqlx::query(
        "SELECT s.vehicle_id, MAX(s.odometer_km) AS value FROM sales s JOIN vehicles v ON v.id = s.vehicle_id \
         WHERE v.company_id = $1 AND s.created_at < $2 GROUP BY s.vehicle_id",
    )
    .bind(company_id)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    collect_values(rows)
}

/// A company's review of `month`: each vehicle's line, the month's
/// anomalies, then the carried-over ones ([`Review::anomalies`]).
pub async fn monthly(
    conn: &mut Conn,
    company_id: i64,
    month: &str,
    tz: Tz,
    t: &Thresholds,
) -> AppResult<Review> {
    let (from, to, prev_month) = month_span(month, tz)?;
    let fleet = vehicles::list(conn, company_id).await?;
    let by_vehicle = refuels(conn, company_id, from, to, tz).await?;
    let allocations = per_vehicle(
        conn,
        "SELECT a.vehicle_id, a.amount_fen AS value FROM vehicle_allocations a JOIN vehicles v ON v.id = a.vehicle_id \
         WHERE v.company_id = $1 AND a.month = $2",
        company_id,
        month,
    )
    .await?;
    let last_month = per_vehicle(
        conn,
        "SELECT u.vehicle_id, u.litres_cl AS value FROM vehicle_usage u JOIN vehicles v ON v.id = u.vehicle_id \
         WHERE v.company_id = $1 AND u.period = $2",
        company_id,
        &prev_month,
    )
    .await?;
    let previous_readings = readings_before(conn, company_id, from).await?;
    let acks = acknowledgements(conn, company_id).await?;
    let mut lines = Vec::with_capacity(fleet.len());
    let mut found = Vec::new();
    let (mut total_cl, mut total_fen, mut total_n) = (0i64, 0i64, 0i64);
    let empty = Vec::new();
    for v in &fleet {
        let list = by_vehicle.get(&v.id).unwrap_or(&empty);
        let prev_reading = previous_readings.get(&v.id).copied();
        let litres: i64 = list.iter().map(|r| r.litres.cl()).sum();
        let amount: i64 = list.iter().map(|r| r.charged.fen()).sum();
        let n = i64::try_from(list.len()).unwrap_or(i64::MAX);
        total_cl += litres;
        total_fen += amount;
        total_n += n;
        let used = consumption(prev_reading, list);
        let baseline = v.baseline_l_per_100km.cl();
        let last_cl = last_month.get(&v.id).copied().unwrap_or(0);
        let allocation = allocations.get(&v.id).copied();
        lines.push(VehicleLine {
            plate: v.plate.clone(),
            department: v.department.clone(),
            litres: Litres::from_cl(litres),
            amount: Money::from_fen(amount),
            refuels: n,
            distance_km: distance_km(prev_reading, list),
            l_per_100km: used.map(|u| format!("{u:.2}")),
            baseline_l_per_100km: v.baseline_l_per_100km,
            vs_baseline_percent: used.and_then(|u| {
                (baseline > 0).then(|| {
                    ((u - Decimal::new(baseline, 2)) * Decimal::ONE_HUNDRED
                        / Decimal::new(baseline, 2))
                    .round_dp(1)
                    .to_string()
                })
            }),
            allocation: allocation.map(Money::from_fen),
            allocation_used_percent: allocation
                .and_then(|a| pct(amount, a))
                .map(|p| p.to_string()),
            last_month_litres: Litres::from_cl(last_cl),
            vs_last_month_percent: pct(litres - last_cl, last_cl).map(|p| p.to_string()),
        });
        for (kind, sale_id, reason) in anomalies(v, prev_reading, list, t) {
            let ack = acks.get(&(sale_id, kind.as_str().to_string()));
            found.push(Anomaly {
                plate: v.plate.clone(),
                kind,
                sale_id,
                month: month.to_string(),
                reason,
                acknowledged: ack.is_some(),
                justification: ack.cloned(),
            });
        }
    }
    found.extend(carried_over(conn, company_id, from, tz, t, &acks, &fleet).await?);
    found.extend(cash_refuels(conn, company_id, month, from, to).await?);
    Ok(Review {
        company_id,
        month: month.to_string(),
        total_litres: Litres::from_cl(total_cl),
        total_amount: Money::from_fen(total_fen),
        total_refuels: total_n,
        vehicles: lines,
        anomalies: found,
    })
}

async fn acknowledgements(
    conn: &mut Conn,
    company_id: i64,
) -> AppResult<BTreeMap<(i64, String), String>> {
    let rows = sqlx::query(
        "SELECT a.sale_id, a.kind, a.justification FROM anomaly_acks a JOIN sales s ON s.id = a.sale_id \
         JOIN vehicles v ON v.id = s.vehicle_id WHERE v.company_id = $1",
    )
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        out.insert(
            (r.try_get("sale_id")?, r.try_get("kind")?),
            r.try_get("justification")?,
        );
    }
    Ok(out)
}

/// The carry-over rule: every anomaly of any earlier month that is not yet
/// acknowledged is listed with the month it belongs to, until the manager
/// acknowledges it. Each earlier month's anomalies are found exactly as
/// that month's own review finds them — the same rules over the same
/// refuels, after the highest reading before that month — so the list a
/// month showed is the list that carries over, neither more nor less.
async fn carried_over(
    conn: &mut Conn,
    company_id: i64,
    before: i64,
    tz: Tz,
    t: &Thresholds,
    acks: &BTreeMap<(i64, String), String>,
    fleet: &[Vehicle],
) -> AppResult<Vec<Anomaly>> {
    let earlier = refuels(conn, company_id, i64::MIN, before, tz).await?;
    let mut out = Vec::new();
    for v in fleet {
        let Some(list) = earlier.get(&v.id) else {
            continue;
        };
        // Group by local month so each month's rules see that month's fuel.
        let mut months: BTreeMap<String, Vec<Refuel>> = BTreeMap::new();
        for r in list {
            let (_, m, _) = super::local_periods(r.at_us, tz);
            months.entry(m).or_default().push(r.clone());
        }
        // The highest reading before each month, as `readings_before` reads it.
        let mut reading_before: Option<i64> = None;
        for (m, refuels) in months {
            for (kind, sale_id, reason) in anomalies(v, reading_before, &refuels, t) {
                if acks.contains_key(&(sale_id, kind.as_str().to_string())) {
                    continue;
                }
                out.push(Anomaly {
                    plate: v.plate.clone(),
                    kind,
                    sale_id,
                    month: m.clone(),
                    reason,
                    acknowledged: false,
                    justification: None,
                });
            }
            reading_before = reading_before.max(refuels.iter().filter_map(|r| r.odometer_km).max());
        }
    }
    Ok(out)
}

/// Cash refuels made by exception in the month: listed for the review with
/// the approved reason (they were decided when recorded). Their `sale_id` is
/// the cash refuel's own id.
async fn cash_refuels(
    conn: &mut Conn,
    company_id: i64,
    month: &str,
    from: i64,
    to: i64,
) -> AppResult<Vec<Anomaly>> {
    let rows = sqlx::query(
        "SELECT c.id, v.plate, c.litres_cl, c.amount_fen, c.reason FROM cash_refuels c JOIN vehicles v ON v.id = c.vehicle_id \
         WHERE c.company_id = $1 AND c.refuelled_at >= $2 AND c.refuelled_at < $3 ORDER BY c.id",
    )
    .bind(company_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let reason: String = r.try_get("reason")?;
            Ok(Anomaly {
                plate: r.try_get("plate")?,
                kind: AnomalyKind::CashRefuel,
                sale_id: r.try_get("id")?,
                month: month.to_string(),
                reason: format!(
                    "{} L paid in cash, {}",
                    Litres::from_cl(r.try_get("litres_cl")?),
                    Money::from_fen(r.try_get("amount_fen")?)
                ),
                acknowledged: true,
                justification: Some(reason),
            })
        })
        .collect()
}

/// The manager answers an anomaly; it stops carrying over.
pub async fn acknowledge(
    conn: &mut Conn,
    company_id: i64,
    sale_id: i64,
    kind: AnomalyKind,
    justification: &str,
    user_id: i64,
    now: i64,
) -> AppResult<()> {
    if justification.trim().is_empty() || justification.chars().count() > 500 {
        return Err(AppError::new(
            Code::ValidationFailed,
            "justification: 1–500 characters",
        ));
    }
    let owned = sqlx::query("SELECT s.id FROM sales s JOIN vehicles v ON v.id = s.vehicle_id WHERE s.id = $1 AND v.company_id = $2")
        .bind(sale_id)
        .bind(company_id)
        .fetch_optional(&mut *conn)
        .await?;
    if owned.is_none() {
        return Err(AppError::new(
            Code::NotFound,
            format!("no refuel {sale_id} of this company"),
        ));
    }
    sqlx::query(
        "INSERT INTO anomaly_acks (sale_id, kind, justification, acked_by, acked_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (sale_id, kind) DO UPDATE SET justification = excluded.justification, \
         acked_by = excluded.acked_by, acked_at = excluded.acked_at",
    )
    .bind(sale_id)
    .bind(kind.as_str())
    .bind(justification.trim())
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The review's vehicle table as CSV.
pub fn vehicles_csv(review: &Review) -> AppResult<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows = review.vehicles.iter().map(|l| {
        vec![
            l.plate.clone(),
            o(&l.department),
            l.litres.to_string(),
            l.amount.to_string(),
            l.refuels.to_string(),
            l.distance_km.map(|d| d.to_string()).unwrap_or_default(),
            o(&l.l_per_100km),
            l.baseline_l_per_100km.to_string(),
            o(&l.vs_baseline_percent),
            l.allocation.map(|a| a.to_string()).unwrap_or_default(),
            o(&l.allocation_used_percent),
            l.last_month_litres.to_string(),
            o(&l.vs_last_month_percent),
        ]
    });
    let header = [
        "plate",
        "department",
        "litres",
        "amount",
        "refuels",
        "distance_km",
        "l_per_100km",
        "baseline_l_per_100km",
        "vs_baseline_percent",
        "allocation",
        "allocation_used_percent",
        "last_month_litres",
        "vs_last_month_percent",
    ];
    crate::csv_io::table(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::limits::Rules;

    fn vehicle() -> Vehicle {
        Vehicle {
            id: 1,
            company_id: 1,
            plate: "浙A1".into(),
            vehicle_type: "car".into(),
            displacement: Litres::from_cl(160),
            products: vec!["92".into()],
            tank_capacity: Litres::from_cl(5000),
            baseline_l_per_100km: Litres::from_cl(800),
            department: None,
            default_driver: None,
            card_number: None,
            last_odometer_km: None,
            active: true,
            rules: Rules::default(),
        }
    }

    fn refuel(id: i64, hour: i64, litres_cl: i64, km: i64, product: &str) -> Refuel {
        Refuel {
            sale_id: id,
            at_us: hour * 3_600_000_000,
            minute_of_day: u32::try_from((hour % 24) * 60).unwrap(),
            product: product.into(),
            litres: Litres::from_cl(litres_cl),
            charged: Money::from_fen(litres_cl * 7),
            odometer_km: Some(km),
            cash: false,
        }
    }

    #[test]
    fn consumption_counts_the_fuel_that_drove_the_distance() {
        // 10,000 km reading before the month; 40 L + 40 L over 1,000 km = 8 L/100 km.
        let r = vec![
            refuel(1, 10, 4000, 10_500, "92"),
            refuel(2, 40, 4000, 11_000, "92"),
        ];
        assert_eq!(consumption(Some(10_000), &r).unwrap().to_string(), "8.00");
        assert_eq!(distance_km(Some(10_000), &r), Some(1_000));
        // Without a reading before, the first fill does not count: 40 L / 500 km.
        assert_eq!(consumption(None, &r).unwrap().to_string(), "8.00");
    }

    #[test]
    fn planted_anomalies_are_found_with_reasons() {
        let t = Thresholds::default();
        let r = vec![
            refuel(1, 10, 4000, 10_500, "92"),
            refuel(2, 11, 5500, 10_400, "95"),
            refuel(3, 23 + 24, 3000, 11_000, "92"),
        ];
        let kinds: Vec<(AnomalyKind, i64)> = anomalies(&vehicle(), Some(10_000), &r, &t)
            .into_iter()
            .map(|(k, id, _)| (k, id))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (AnomalyKind::OverTankCapacity, 2),
                (AnomalyKind::OdometerBackwards, 2),
                (AnomalyKind::TooClose, 2),
                (AnomalyKind::WrongProduct, 2),
                (AnomalyKind::OddHours, 3),
                // 125 L over 1,000 km = 12.5 L/100 km, 56% above 8.
                (AnomalyKind::ConsumptionFarFromBaseline, 3),
            ]
        );
    }

    #[test]
    fn a_normal_month_has_no_anomaly() {
        let r = vec![
            refuel(1, 10, 4000, 10_500, "92"),
            refuel(2, 40, 4000, 11_000, "92"),
        ];
        assert!(anomalies(&vehicle(), Some(10_000), &r, &Thresholds::default()).is_empty());
    }
}

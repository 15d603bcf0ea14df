//! Running usage counters per vehicle and period, the month's approved
//! allocation, and one-off overrides: everything the sale-time limits read,
//! in a few key lookups instead of a scan of the refuel log.

use sqlx::Row;

use super::limits::{Control, Usage};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

/// Takes the vehicle's row lock for the rest of the transaction, so two
/// concurrent sales for one vehicle check its limits one after the other
/// (on SQLite the write lock already does this). Returns the last odometer
/// reading as of the lock.
pub async fn lock_vehicle(conn: &mut Conn, vehicle_id: i64) -> AppResult<Option<i64>> {
    let row =
        sqlx::query("UPDATE vehicles SET active = active WHERE id = $1 RETURNING last_odometer_km")
            .bind(vehicle_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(row.try_get("last_odometer_km")?)
}

/// What a fleet sale reads about its vehicle, in one round trip.
pub struct Snapshot {
    pub usage: Usage,
    pub any_override: bool,
    /// The card loan (long trip) the vehicle's card is out on, if any.
    pub loan_id: Option<i64>,
}

/// The vehicle's day and month counters, the month's allocation, whether
/// any override is open and the loan it is out on, in one round trip.
pub async fn read(
    conn: &mut Conn,
    vehicle_id: i64,
    day: &str,
    month: &str,
    now: i64,
) -> AppResult<Snapshot> {
    let r = sqlx::query(
        "SELECT \
           (SELECT litres_cl FROM vehicle_usage WHERE vehicle_id = $1 AND period = $2) AS day_cl, \
           (SELECT amount_fen FROM vehicle_usage WHERE vehicle_id = $1 AND period = $2) AS day_fen, \
           (SELECT amount_fen FROM vehicle_usage WHERE vehicle_id = $1 AND period = $3) AS month_fen, \
           (SELECT amount_fen FROM vehicle_allocations WHERE vehicle_id = $1 AND month = $3) AS allocation_fen, \
           (SELECT COUNT(*) FROM limit_overrides WHERE vehicle_id = $1 AND used_by_sale IS NULL \
              AND expires_at > $4) AS overrides, \
           (SELECT MAX(id) FROM card_loans WHERE vehicle_id = $1 AND status = 'handed_out') AS loan_id",
    )
    .bind(vehicle_id)
    .bind(day)
    .bind(month)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let get =
        |name: &str| -> AppResult<i64> { Ok(r.try_get::<Option<i64>, _>(name)?.unwrap_or(0)) };
    let usage = Usage {
        day_litres: Litres::from_cl(get("day_cl")?),
        day_amount: Money::from_fen(get("day_fen")?),
        month_amount: Money::from_fen(get("month_fen")?),
        month_allocation: r
            .try_get::<Option<i64>, _>("allocation_fen")?
            .map(Money::from_fen),
    };
    Ok(Snapshot {
        usage,
        any_override: get("overrides")? > 0,
        loan_id: r.try_get("loan_id")?,
    })
}

/// Adds a refuel to the day and month counters and moves the odometer
/// forward (never back, even when a backwards reading was let through).
pub async fn record(
    conn: &mut Conn,
    vehicle_id: i64,
    periods: [&str; 2],
    litres: Litres,
    charged: Money,
    odometer_km: Option<i64>,
) -> AppResult<()> {
    // Both periods in one statement: one round trip on the hot path.
    sqlx::query(
        "INSERT INTO vehicle_usage (vehicle_id, period, litres_cl, amount_fen, refuels) \
         VALUES ($1, $2, $4, $5, 1), ($1, $3, $4, $5, 1) \
         ON CONFLICT (vehicle_id, period) DO UPDATE SET litres_cl = vehicle_usage.litres_cl + excluded.litres_cl, \
         amount_fen = vehicle_usage.amount_fen + excluded.amount_fen, refuels = vehicle_usage.refuels + 1",
    )
    .bind(vehicle_id)
    .bind(periods[0])
    .bind(periods[1])
    .bind(litres.cl())
    .bind(charged.fen())
    .execute(&mut *conn)
    .await?;
    if let Some(km) = odometer_km {
        sqlx::query(
            "UPDATE vehicles SET last_odometer_km = CASE WHEN last_odometer_km IS NULL OR last_odometer_km < $1 \
             THEN $1 ELSE last_odometer_km END WHERE id = $2",
        )
        .bind(km)
        .bind(vehicle_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Sets (or replaces) a vehicle's approved allocation for a month.
pub async fn set_allocation(
    conn: &mut Conn,
    vehicle_id: i64,
    month: &str,
    amount: Money,
    now: i64,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO vehicle_allocations (vehicle_id, month, amount_fen, approved_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (vehicle_id, month) DO UPDATE SET amount_fen = excluded.amount_fen, approved_at = excluded.approved_at",
    )
    .bind(vehicle_id)
    .bind(month)
    .bind(amount.fen())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Grants a one-off override of one control, valid for `hours`.
pub async fn grant_override(
    conn: &mut Conn,
    vehicle_id: i64,
    control: Control,
    reason: &str,
    user_id: i64,
    hours: i64,
    now: i64,
) -> AppResult<i64> {
    if reason.trim().is_empty() || reason.chars().count() > 200 {
        return Err(AppError::new(
            Code::ValidationFailed,
            "reason: 1–200 characters",
        ));
    }
    let row = sqlx::query(
        "INSERT INTO limit_overrides (vehicle_id, control, reason, granted_by, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(vehicle_id)
    .bind(control.as_str())
    .bind(reason.trim())
    .bind(user_id)
    .bind(now + hours * 3_600_000_000)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// Unused, unexpired overrides of a vehicle: (override id, control).
pub async fn open_overrides(
    conn: &mut Conn,
    vehicle_id: i64,
    now: i64,
) -> AppResult<Vec<(i64, Control)>> {
    let rows = sqlx::query(
        "SELECT id, control FROM limit_overrides WHERE vehicle_id = $1 AND used_by_sale IS NULL AND expires_at > $2 ORDER BY id",
    )
    .bind(vehicle_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let control: String = r.try_get("control")?;
        if let Some(c) = Control::parse(&control) {
            out.push((r.try_get("id")?, c));
        }
    }
    Ok(out)
}

/// Marks an override as used by a sale: it passes one sale only.
pub async fn use_override(conn: &mut Conn, override_id: i64, sale_id: i64) -> AppResult<()> {
    sqlx::query(
        "UPDATE limit_overrides SET used_by_sale = $1 WHERE id = $2 AND used_by_sale IS NULL",
    )
    .bind(sale_id)
    .bind(override_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Litres per vehicle and month over the given months, for trend charts:
/// (vehicle id, month) → litres.
pub async fn monthly_litres(
    conn: &mut Conn,
    company_id: i64,
    months: &[String],
) -> AppResult<std::collections::BTreeMap<(i64, String), Litres>> {
    let mut out = std::collections::BTreeMap::new();
    let (Some(first), Some(last)) = (months.first(), months.last()) else {
        return Ok(out);
    };
    let rows = sqlx::query(
        "SELECT u.vehicle_id, u.period, u.litres_cl FROM vehicle_usage u JOIN vehicles v ON v.id = u.vehicle_id \
         WHERE v.company_id = $1 AND u.period >= $2 AND u.period <= $3 AND LENGTH(u.period) = 7",
    )
    .bind(company_id)
    .bind(first)
    .bind(last)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        out.insert(
            (r.try_get("vehicle_id")?, r.try_get("period")?),
            Litres::from_cl(r.try_get("litres_cl")?),
        );
    }
    Ok(out)
}

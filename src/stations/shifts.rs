//! Cashier shifts (交班). Every counter transaction belongs to the open
//! shift of its cashier at its station; the first transaction opens one.
//! Closing compares what the shift should hold per payment method with what
//! the cashier counted, and records the difference.

use serde::Serialize;
use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::Money;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Totals {
    #[schema(value_type = String)]
    pub cash: Money,
    #[schema(value_type = String)]
    pub bank_card: Money,
    #[schema(value_type = String)]
    pub transfer: Money,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Shift {
    pub id: i64,
    pub station_id: i64,
    pub cashier_id: i64,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub expected: Totals,
    pub counted: Option<Totals>,
    #[schema(value_type = Option<String>)]
    pub difference: Option<Money>,
    pub recharges: i64,
    pub sales: i64,
}

/// The open shift of this cashier at this station, opening one if needed.
pub async fn ensure_open(
    conn: &mut Conn,
    station_id: i64,
    cashier_id: i64,
    now: i64,
) -> AppResult<i64> {
    if let Some(id) = open_id(conn, station_id, cashier_id).await? {
        return Ok(id);
    }
    sqlx::query(
        "INSERT INTO shifts (station_id, cashier_id, opened_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(station_id)
    .bind(cashier_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    open_id(conn, station_id, cashier_id)
        .await?
        .ok_or_else(|| AppError::internal("opening a shift", "no open shift after insert"))
}

/// The open shift a booking lands in, held open until the booking commits
/// ([`crate::db::for_share`]).
async fn open_id(conn: &mut Conn, station_id: i64, cashier_id: i64) -> AppResult<Option<i64>> {
    let hold_open = crate::db::for_share(conn);
    let row = sqlx::query(&format!(
        "SELECT id FROM shifts WHERE station_id = $1 AND cashier_id = $2 AND closed_at IS NULL\
         {hold_open}"
    ))
    .bind(station_id)
    .bind(cashier_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.try_get("id").map_err(AppError::from))
        .transpose()
}

/// The current open shift, if any.
pub async fn current(
    conn: &mut Conn,
    station_id: i64,
    cashier_id: i64,
) -> AppResult<Option<Shift>> {
    match open_id(conn, station_id, cashier_id).await? {
        Some(id) => get(conn, id).await.map(Some),
        None => Ok(None),
    }
}

/// What a shift should hold per payment method: recharges taken, less the
/// cash paid out for closed cards.
pub async fn expected(conn: &mut Conn, shift_id: i64) -> AppResult<(Totals, i64, i64)> {
    let row = sqlx::query(
        "SELECT \
           COALESCE((SELECT CAST(SUM(amount_fen) AS BIGINT) FROM recharges \
                     WHERE shift_id = $1 AND payment_method = 'cash'), 0) AS cash, \
           COALESCE((SELECT CAST(SUM(amount_fen) AS BIGINT) FROM recharges \
                     WHERE shift_id = $1 AND payment_method = 'bank_card'), 0) AS bank_card, \
           COALESCE((SELECT CAST(SUM(amount_fen) AS BIGINT) FROM recharges \
                     WHERE shift_id = $1 AND payment_method = 'transfer'), 0) AS transfer, \
           COALESCE((SELECT CAST(SUM(amount_fen) AS BIGINT) FROM refunds \
                     WHERE shift_id = $1), 0) AS refunds, \
           (SELECT COUNT(*) FROM recharges WHERE shift_id = $1) AS n_recharges, \
           (SELECT COUNT(*) FROM sales WHERE shift_id = $1) AS n_sales",
    )
    .bind(shift_id)
    .fetch_one(&mut *conn)
    .await?;
    let cash: i64 = row.try_get("cash")?;
    let refunds: i64 = row.try_get("refunds")?;
    Ok((
        Totals {
            cash: Money::from_fen(cash - refunds),
            bank_card: Money::from_fen(row.try_get("bank_card")?),
            transfer: Money::from_fen(row.try_get("transfer")?),
        },
        row.try_get("n_recharges")?,
        row.try_get("n_sales")?,
    ))
}

pub async fn get(conn: &mut Conn, id: i64) -> AppResult<Shift> {
    let row = sqlx::query(
        "SELECT id, station_id, cashier_id, opened_at, closed_at, counted_cash_fen, \
         counted_bank_card_fen, counted_transfer_fen, difference_fen FROM shifts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::ShiftNotFound, format!("no shift {id}")))?;
    let (expected, recharges, sales) = expected(conn, id).await?;
    let closed_at: Option<i64> = row.try_get("closed_at")?;
    let counted = match (
        row.try_get::<Option<i64>, _>("counted_cash_fen")?,
        row.try_get::<Option<i64>, _>("counted_bank_card_fen")?,
        row.try_get::<Option<i64>, _>("counted_transfer_fen")?,
    ) {
        (Some(c), Some(b), Some(t)) => Some(Totals {
            cash: Money::from_fen(c),
            bank_card: Money::from_fen(b),
            transfer: Money::from_fen(t),
        }),
        _ => None,
    };
    Ok(Shift {
        id,
        station_id: row.try_get("station_id")?,
        cashier_id: row.try_get("cashier_id")?,
        opened_at: crate::time::format_us(row.try_get("opened_at")?),
        closed_at: closed_at.map(crate::time::format_us),
        expected,
        counted,
        difference: row
            .try_get::<Option<i64>, _>("difference_fen")?
            .map(Money::from_fen),
        recharges,
        sales,
    })
}

/// Closes a shift once with the cashier's count; the difference is counted
/// minus expected over all payment methods (negative: money missing).
pub async fn close(
    conn: &mut Conn,
    id: i64,
    cashier_id: Option<i64>,
    counted: &Totals,
    now: i64,
) -> AppResult<Shift> {
    // Lock the shift first: bookings that hold it open finish before the
    // totals are read, and later ones find it closed and open a new shift.
    let lock = crate::db::for_update(conn);
    sqlx::query(&format!(
        "SELECT id FROM shifts WHERE id = $1 AND closed_at IS NULL{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (expected, _, _) = expected(conn, id).await?;
    let total = |t: &Totals| t.cash.fen() + t.bank_card.fen() + t.transfer.fen();
    let difference = total(counted) - total(&expected);
    let done = sqlx::query(
        "UPDATE shifts SET closed_at = $1, expected_cash_fen = $2, expected_bank_card_fen = $3, \
         expected_transfer_fen = $4, counted_cash_fen = $5, counted_bank_card_fen = $6, \
         counted_transfer_fen = $7, difference_fen = $8 \
         WHERE id = $9 AND closed_at IS NULL AND ($10 IS NULL OR cashier_id = $10)",
    )
    .bind(now)
    .bind(expected.cash.fen())
    .bind(expected.bank_card.fen())
    .bind(expected.transfer.fen())
    .bind(counted.cash.fen())
    .bind(counted.bank_card.fen())
    .bind(counted.transfer.fen())
    .bind(difference)
    .bind(id)
    .bind(cashier_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::new(
            Code::ShiftNotOpen,
            format!("shift {id} is not an open shift of yours"),
        ));
    }
    get(conn, id).await
}

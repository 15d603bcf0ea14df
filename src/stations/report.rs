//! The station day-end report: the day's shifts summed, recharges by
//! payment method, bonus given, fuel sold by product, and what the cards'
//! chips paid at the station's pumps.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use super::shifts::{self, Shift};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductLine {
    pub product: String,
    pub sales: i64,
    #[schema(value_type = String)]
    pub litres: Litres,
    #[schema(value_type = String)]
    pub amount: Money,
    #[schema(value_type = String)]
    pub discount: Money,
    #[schema(value_type = String)]
    pub charged: Money,
}

/// Fuel paid from the card's chip (the electronic purse) rather than from
/// the host account: fills under grey lock at the counter, and purchases the
/// pumps took offline and uploaded. Counted by the station where the fuel
/// was sold and the day the fill began or the record was uploaded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChipDay {
    /// Fills settled: the chip debited and the sale booked.
    pub fills: i64,
    #[schema(value_type = String)]
    pub fills_amount: Money,
    /// Grey cards (灰卡): fuel delivered but the card left before it was
    /// unlocked; each settles when any station next reads the card.
    pub grey: i64,
    #[schema(value_type = String)]
    pub grey_amount: Money,
    /// Pump purchases uploaded with a TAC that verified, booked once.
    pub uploads: i64,
    #[schema(value_type = String)]
    pub uploads_amount: Money,
    /// Uploaded records whose TAC did not verify: kept, flagged, not booked.
    pub uploads_rejected: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayReport {
    pub station: String,
    pub date: String,
    pub shifts: Vec<Shift>,
    pub expected: shifts::Totals,
    #[schema(value_type = String)]
    pub counted_difference: Money,
    #[schema(value_type = String)]
    pub bonus_given: Money,
    pub recharges: i64,
    pub products: Vec<ProductLine>,
    pub chip: ChipDay,
}

pub async fn day(
    conn: &mut Conn,
    station_code: &str,
    date: NaiveDate,
    tz: Tz,
) -> AppResult<DayReport> {
    let station = super::find(conn, station_code).await?;
    let (start, end) = crate::time::day_span(date, tz)
        .ok_or_else(|| AppError::new(Code::ValidationFailed, "date out of range"))?;
    let ids = sqlx::query(
        "SELECT id FROM shifts WHERE station_id = $1 AND opened_at >= $2 AND opened_at < $3 \
         ORDER BY id",
    )
    .bind(station.id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let mut list = Vec::with_capacity(ids.len());
    let (mut cash, mut bank, mut transfer, mut diff) = (0i64, 0i64, 0i64, 0i64);
    for row in &ids {
        let s = shifts::get(conn, row.try_get("id")?).await?;
        cash += s.expected.cash.fen();
        bank += s.expected.bank_card.fen();
        transfer += s.expected.transfer.fen();
        diff += s.difference.map_or(0, Money::fen);
        list.push(s);
    }
    let rc = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(CAST(SUM(r.bonus_fen) AS BIGINT), 0) AS bonus \
         FROM recharges r JOIN shifts s ON s.id = r.shift_id \
         WHERE s.station_id = $1 AND s.opened_at >= $2 AND s.opened_at < $3",
    )
    .bind(station.id)
    .bind(start)
    .bind(end)
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query(
        "SELECT p.code, COUNT(*) AS n, CAST(SUM(x.litres_cl) AS BIGINT) AS litres, \
           CAST(SUM(x.amount_fen) AS BIGINT) AS amount, \
           CAST(SUM(x.discount_fen) AS BIGINT) AS discount, \
           CAST(SUM(x.charged_fen) AS BIGINT) AS charged \
         FROM sales x JOIN shifts s ON s.id = x.shift_id JOIN products p ON p.id = x.product_id \
         WHERE s.station_id = $1 AND s.opened_at >= $2 AND s.opened_at < $3 \
         GROUP BY p.code ORDER BY p.code",
    )
    .bind(station.id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let products = rows
        .iter()
        .map(|r| {
            Ok(ProductLine {
                product: r.try_get("code")?,
                sales: r.try_get("n")?,
                litres: Litres::from_cl(r.try_get("litres")?),
                amount: Money::from_fen(r.try_get("amount")?),
                discount: Money::from_fen(r.try_get("discount")?),
                charged: Money::from_fen(r.try_get("charged")?),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let chip = chip_day(conn, station.id, start, end).await?;
    Ok(DayReport {
        station: station.code,
        date: date.to_string(),
        shifts: list,
        expected: shifts::Totals {
            cash: Money::from_fen(cash),
            bank_card: Money::from_fen(bank),
            transfer: Money::from_fen(transfer),
        },
        counted_difference: Money::from_fen(diff),
        bonus_given: Money::from_fen(rc.try_get("bonus")?),
        recharges: rc.try_get("n")?,
        products,
        chip,
    })
}

async fn chip_day(conn: &mut Conn, station_id: i64, start: i64, end: i64) -> AppResult<ChipDay> {
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM chip_fills f WHERE f.station_id = $1 AND f.status = 'settled' \
              AND f.created_at >= $2 AND f.created_at < $3) AS fills, \
           (SELECT COALESCE(CAST(SUM(f.amount_fen) AS BIGINT), 0) FROM chip_fills f \
              WHERE f.station_id = $1 AND f.status = 'settled' \
              AND f.created_at >= $2 AND f.created_at < $3) AS fills_fen, \
           (SELECT COUNT(*) FROM chip_fills f WHERE f.station_id = $1 AND f.status = 'fuelled' \
              AND f.created_at >= $2 AND f.created_at < $3) AS grey, \
           (SELECT COALESCE(CAST(SUM(f.amount_fen) AS BIGINT), 0) FROM chip_fills f \
              WHERE f.station_id = $1 AND f.status = 'fuelled' \
              AND f.created_at >= $2 AND f.created_at < $3) AS grey_fen, \
           (SELECT COUNT(*) FROM chip_purchases u WHERE u.station_id = $1 AND u.status = 'posted' \
              AND u.created_at >= $2 AND u.created_at < $3) AS uploads, \
           (SELECT COALESCE(CAST(SUM(u.amount_fen) AS BIGINT), 0) FROM chip_purchases u \
              WHERE u.station_id = $1 AND u.status = 'posted' \
              AND u.created_at >= $2 AND u.created_at < $3) AS uploads_fen, \
           (SELECT COUNT(*) FROM chip_purchases u WHERE u.station_id = $1 \
              AND u.status = 'rejected' AND u.created_at >= $2 AND u.created_at < $3) AS rejected",
    )
    .bind(station_id)
    .bind(start)
    .bind(end)
    .fetch_one(&mut *conn)
    .await?;
    Ok(ChipDay {
        fills: row.try_get("fills")?,
        fills_amount: Money::from_fen(row.try_get("fills_fen")?),
        grey: row.try_get("grey")?,
        grey_amount: Money::from_fen(row.try_get("grey_fen")?),
        uploads: row.try_get("uploads")?,
        uploads_amount: Money::from_fen(row.try_get("uploads_fen")?),
        uploads_rejected: row.try_get("rejected")?,
    })
}

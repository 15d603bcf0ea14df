//! The station day-end report: the day's shifts summed, recharges by
//! payment method, bonus given, fuel sold by product.

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
    })
}

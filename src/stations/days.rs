//! Litres sold on cards per station and local day (the operator's zone),
//! added by each sale in its own transaction. The acquisition figures read
//! a period's litres from a few rows per station rather than from every
//! sale, so a month of ten million sales costs no more than a quiet one.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::Row;

use crate::db::Conn;
use crate::error::AppResult;
use crate::money::Litres;

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Adds a sale's litres to its station's day. The row is the station's
/// own, like its sales account, so it costs a sale no other lock.
pub async fn add_card_litres(
    conn: &mut Conn,
    station_id: i64,
    day: NaiveDate,
    litres: Litres,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO station_days (station_id, day, card_litres_cl) VALUES ($1, $2, $3) \
         ON CONFLICT (station_id, day) \
         DO UPDATE SET card_litres_cl = station_days.card_litres_cl + excluded.card_litres_cl",
    )
    .bind(station_id)
    .bind(day_text(day))
    .bind(litres.cl())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The card litres of every station over the local days `[first, next)`.
pub async fn card_litres(
    conn: &mut Conn,
    first: NaiveDate,
    next: NaiveDate,
) -> AppResult<BTreeMap<i64, Litres>> {
    let rows = sqlx::query(
        "SELECT station_id, CAST(SUM(card_litres_cl) AS BIGINT) AS litres FROM station_days \
         WHERE day >= $1 AND day < $2 GROUP BY station_id",
    )
    .bind(day_text(first))
    .bind(day_text(next))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>("station_id")?,
                Litres::from_cl(r.try_get("litres")?),
            ))
        })
        .collect()
}

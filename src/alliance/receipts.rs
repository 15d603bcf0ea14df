//! The benefits an event granted, read back after the event: a receipt
//! printed again later shows what its recharge or sale earned, as the
//! answer to the event itself did.
//!
//! The engine keys each grant by the event (`recharge:{id}`, `sale:{id}`,
//! `card_opened:{card id}`), so the event's key finds them. A monthly
//! spend benefit is keyed by the card and month instead, and is not found
//! by the sale that reached it.

use sqlx::Row;

use super::engine::Granted;
use super::offers::Definition;
use super::vouchers;
use crate::db::Conn;
use crate::error::{AppError, AppResult};

/// The benefits granted by the event named `key`, in the order granted.
pub async fn for_event(conn: &mut Conn, key: &str) -> AppResult<Vec<Granted>> {
    let rows = sqlx::query(
        "SELECT b.id, o.code AS offer, m.code AS merchant, o.definition, b.voucher_code, \
         b.expires_at FROM benefits b JOIN offers o ON o.id = b.offer_id \
         JOIN merchants m ON m.id = o.merchant_id WHERE b.event_key = $1 ORDER BY b.id",
    )
    .bind(key)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(granted).collect()
}

fn granted(row: &sqlx::any::AnyRow) -> AppResult<Granted> {
    let definition: String = row.try_get("definition")?;
    let d: Definition =
        serde_json::from_str(&definition).map_err(|e| AppError::internal("reading an offer", e))?;
    let code: String = row.try_get("voucher_code")?;
    Ok(Granted {
        id: row.try_get("id")?,
        offer: row.try_get("offer")?,
        merchant: row.try_get("merchant")?,
        kind: d.benefit.kind,
        item: d.benefit.item,
        voucher_code: vouchers::printed(&code),
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .map(crate::time::format_us),
    })
}

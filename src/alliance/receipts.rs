//! The benefits an event granted, read back after the event: a receipt
//! printed again later shows what its recharge or sale earned, as the
//! answer to the event itself did.
//!
//! Each grant names the event that made it (`recharge:{id}`, `sale:{id}`,
//! `card_opened:{card id}`) — a monthly spend benefit the sale that reached
//! the spend — so the event's key finds them.

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
         JOIN merchants m ON m.id = o.merchant_id WHERE b.granted_by = $1 ORDER BY b.id",
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

//! Benefits die with the money that earned them. A benefit is earned by a
//! card's event — opened, recharged, fuel bought — and the card's money
//! stands behind it; when the card is closed and its money paid back, the
//! benefits it still holds are voided in the closure's transaction, and
//! what they took from their offers' budgets is given back. Otherwise a
//! recharge, a gift and a refund, repeated on new anonymous cards, would
//! empty an offer's budget at no cost. A replacement card takes its
//! predecessor's benefits over instead: the money moved with them.

use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

/// Why a benefit was voided.
pub const CARD_CLOSED: &str = "card_closed";

/// The refusal of a void benefit.
pub fn refused() -> AppError {
    AppError::new(
        Code::BenefitVoid,
        "this benefit is void: the card that earned it was closed and its money paid back",
    )
}

/// Voids one benefit still to deliver and gives its grant back to its
/// offer's budget, audited; false when it was not there to void.
async fn void(
    conn: &mut Conn,
    benefit: i64,
    reason: &str,
    user: Option<i64>,
    now: i64,
) -> AppResult<bool> {
    let Some(row) = sqlx::query(
        "UPDATE benefits SET status = 'void', void_reason = $2, voided_at = $3 \
         WHERE id = $1 AND status = 'granted' RETURNING offer_id, card_id",
    )
    .bind(benefit)
    .bind(reason)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(false);
    };
    let offer: i64 = row.try_get("offer_id")?;
    let card: i64 = row.try_get("card_id")?;
    sqlx::query(
        "UPDATE offers SET granted = granted - 1, granted_fen = granted_fen - unit_cost_fen \
         WHERE id = $1 AND granted > 0 AND granted_fen >= unit_cost_fen",
    )
    .bind(offer)
    .execute(&mut *conn)
    .await?;
    let number: String = sqlx::query_scalar("SELECT number FROM cards WHERE id = $1")
        .bind(card)
        .fetch_one(&mut *conn)
        .await?;
    crate::audit::record(
        conn,
        now,
        user,
        "benefit_void",
        &number,
        serde_json::json!({"benefit": benefit, "offer": offer, "reason": reason}),
    )
    .await?;
    Ok(true)
}

/// Voids every benefit the card still holds undelivered (a card being
/// closed, in the closure's transaction); how many.
pub async fn for_card(
    conn: &mut Conn,
    card: i64,
    reason: &str,
    user: Option<i64>,
    now: i64,
) -> AppResult<u64> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM benefits WHERE card_id = $1 AND status = 'granted'")
            .bind(card)
            .fetch_all(&mut *conn)
            .await?;
    let mut voided = 0;
    for id in ids {
        if void(conn, id, reason, user, now).await? {
            voided += 1;
        }
    }
    Ok(voided)
}

/// Voids a benefit given back by a reversal if its card is closed by now.
pub async fn if_card_closed(
    conn: &mut Conn,
    benefit: i64,
    user: Option<i64>,
    now: i64,
) -> AppResult<()> {
    let closed = sqlx::query(
        "SELECT b.id FROM benefits b JOIN cards c ON c.id = b.card_id \
         WHERE b.id = $1 AND c.status = 'closed'",
    )
    .bind(benefit)
    .fetch_optional(&mut *conn)
    .await?;
    if closed.is_some() {
        void(conn, benefit, CARD_CLOSED, user, now).await?;
    }
    Ok(())
}

/// A replacement card takes over the benefits its predecessor still holds.
pub async fn carry_over(conn: &mut Conn, from: i64, to: i64) -> AppResult<u64> {
    let moved =
        sqlx::query("UPDATE benefits SET card_id = $2 WHERE card_id = $1 AND status = 'granted'")
            .bind(from)
            .bind(to)
            .execute(&mut *conn)
            .await?;
    Ok(moved.rows_affected())
}

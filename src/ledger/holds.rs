//! Holds: reservations on a card before fuelling (and the host mirror of a
//! chip's grey lock). Available = balance − held, checked when the hold is
//! placed; each hold is resolved exactly once — captured, voided or expired —
//! because every resolution is a conditional update on `status = 'active'`.

use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::{HoldStatus, Status as _};
use crate::money::Money;

use super::transfers::{OperationRef, SpendSplit, spend};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Hold {
    pub id: i64,
    pub card_id: i64,
    #[serde(skip)]
    pub account_id: i64,
    pub station_id: Option<i64>,
    #[schema(value_type = String)]
    pub amount: Money,
    #[schema(value_type = Option<String>)]
    pub captured: Option<Money>,
    pub status: HoldStatus,
    pub expires_at: i64,
}

fn hold_from_row(row: &sqlx::any::AnyRow) -> AppResult<Hold> {
    Ok(Hold {
        id: row.try_get("id")?,
        card_id: row.try_get("card_id")?,
        account_id: row.try_get("account_id")?,
        station_id: row.try_get("station_id")?,
        amount: Money::from_fen(row.try_get("amount_fen")?),
        captured: row
            .try_get::<Option<i64>, _>("captured_fen")?
            .map(Money::from_fen),
        status: HoldStatus::stored(&row.try_get::<String, _>("status")?)?,
        expires_at: row.try_get("expires_at")?,
    })
}

const HOLD_COLUMNS: &str =
    "id, card_id, account_id, station_id, amount_fen, captured_fen, status, expires_at";

pub async fn get(conn: &mut Conn, id: i64) -> AppResult<Hold> {
    let row = sqlx::query(&format!("SELECT {HOLD_COLUMNS} FROM holds WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::HoldNotFound, format!("no hold {id}")))?;
    hold_from_row(&row)
}

/// A reservation to place.
pub struct NewHold<'a> {
    pub card_id: i64,
    /// The account the amount is held on (the card's, or its chip's).
    pub account_id: i64,
    pub station_id: Option<i64>,
    pub amount: Money,
    /// When it releases itself unless captured or voided.
    pub expires_at: i64,
    pub reference: Option<&'a str>,
}

/// Reserves `amount` on a card account, refusing when the available balance
/// (balance − already held) does not cover it.
pub async fn place(conn: &mut Conn, new: &NewHold<'_>, now: i64) -> AppResult<Hold> {
    let NewHold {
        card_id,
        account_id,
        station_id,
        amount,
        expires_at,
        reference,
    } = *new;
    release_expired(conn, account_id, now).await?;
    let reserved = sqlx::query(
        "UPDATE accounts SET held_fen = held_fen + $1 \
         WHERE id = $2 AND balance_fen - held_fen >= $1 RETURNING id",
    )
    .bind(amount.fen())
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    if reserved.is_none() {
        return Err(AppError::new(
            Code::InsufficientBalance,
            "the card's available balance does not cover this hold",
        ));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO holds (account_id, card_id, station_id, amount_fen, status, reference, \
         expires_at, created_at) VALUES ($1, $2, $3, $4, 'active', $5, $6, $7) \
         RETURNING {HOLD_COLUMNS}"
    ))
    .bind(account_id)
    .bind(card_id)
    .bind(station_id)
    .bind(amount.fen())
    .bind(reference)
    .bind(expires_at)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    hold_from_row(&row)
}

/// Moves a hold from active to `status`, once. Returns the hold as it was
/// resolved, or `hold_not_active` when something else resolved it first.
async fn resolve(
    conn: &mut Conn,
    id: i64,
    status: HoldStatus,
    captured: Option<Money>,
    now: i64,
) -> AppResult<Hold> {
    let row = sqlx::query(&format!(
        "UPDATE holds SET status = $1, captured_fen = $2, resolved_at = $3 \
         WHERE id = $4 AND status = 'active' AND expires_at > $3 RETURNING {HOLD_COLUMNS}"
    ))
    .bind(status.as_str())
    .bind(captured.map(Money::fen))
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        let existing = get(conn, id).await?;
        return Err(AppError::new(
            Code::HoldNotActive,
            format!("hold {id} is already {}", existing.status.as_str()),
        )
        .with("hold_status", existing.status.as_str()));
    };
    let hold = hold_from_row(&row)?;
    sqlx::query("UPDATE accounts SET held_fen = held_fen - $1 WHERE id = $2")
        .bind(hold.amount.fen())
        .bind(hold.account_id)
        .execute(&mut *conn)
        .await?;
    Ok(hold)
}

/// Captures at most the held amount and spends it into `credit`.
pub async fn capture(
    conn: &mut Conn,
    id: i64,
    amount: Money,
    op: OperationRef,
    credit: i64,
) -> AppResult<(Hold, SpendSplit)> {
    let current = get(conn, id).await?;
    if amount > current.amount {
        return Err(AppError::new(
            Code::CaptureExceedsHold,
            format!("capture {amount} exceeds the hold of {}", current.amount),
        ));
    }
    let hold = resolve(conn, id, HoldStatus::Captured, Some(amount), op.at).await?;
    let split = spend(conn, op, hold.account_id, credit, amount).await?;
    Ok((hold, split))
}

pub async fn void(conn: &mut Conn, id: i64, now: i64) -> AppResult<Hold> {
    resolve(conn, id, HoldStatus::Voided, None, now).await
}

/// Releases every expired hold on one account. Called before any spend or
/// new hold on that account, so an expired reservation never blocks money.
pub async fn release_expired(conn: &mut Conn, account_id: i64, now: i64) -> AppResult<()> {
    let rows = sqlx::query(
        "UPDATE holds SET status = 'expired', resolved_at = $1 \
         WHERE account_id = $2 AND status = 'active' AND expires_at <= $1 RETURNING amount_fen",
    )
    .bind(now)
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut released = 0i64;
    for row in &rows {
        released += row.try_get::<i64, _>("amount_fen")?;
    }
    if released > 0 {
        sqlx::query("UPDATE accounts SET held_fen = held_fen - $1 WHERE id = $2")
            .bind(released)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Accounts that have expired holds, for the background sweeper.
pub async fn accounts_with_expired(conn: &mut Conn, limit: i64, now: i64) -> AppResult<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT account_id FROM holds WHERE status = 'active' AND expires_at <= $1 \
         LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get("account_id").map_err(AppError::from))
        .collect()
}

//! Operations (business events) and the transfers that move their money.

use sqlx::Row;

use crate::db::{self, Conn};
use crate::error::{AppError, AppResult, Code};
use crate::money::Money;

use super::accounts;
use super::holds;

/// A business event, recorded before its transfers so they can name it.
pub struct Operation<'a> {
    /// When it happened (the service clock's instant for this request).
    pub at: i64,
    pub kind: &'a str,
    pub card_id: Option<i64>,
    pub station_id: Option<i64>,
    pub shift_id: Option<i64>,
    pub user_id: Option<i64>,
    pub detail: serde_json::Value,
}

/// An operation as recorded: its id, and its time, which its transfers and
/// the holds it releases go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationRef {
    pub id: i64,
    pub at: i64,
}

pub async fn record_operation(conn: &mut Conn, op: Operation<'_>) -> AppResult<OperationRef> {
    let row = sqlx::query(
        "INSERT INTO operations (kind, card_id, station_id, shift_id, user_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(op.kind)
    .bind(op.card_id)
    .bind(op.station_id)
    .bind(op.shift_id)
    .bind(op.user_id)
    .bind(op.detail.to_string())
    .bind(op.at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(OperationRef {
        id: row.try_get("id")?,
        at: op.at,
    })
}

/// One movement of money: `amount` leaves `debit` and reaches `credit`, of
/// which `bonus` is promotion money (tracked on both sides, so the bonus
/// columns also sum to zero over the whole ledger).
#[derive(Debug, Clone, Copy)]
pub struct Movement {
    pub debit: i64,
    pub credit: i64,
    pub amount: Money,
    pub bonus: Money,
}

#[derive(Debug, Clone, Copy)]
pub struct Posted {
    pub transfer_id: i64,
    pub debit_balance_after: Money,
    pub credit_balance_after: Money,
}

/// Posts one transfer. The debit side is checked in the same statement that
/// changes it: an account with a floor (a card) keeps `balance − held ≥
/// floor`, its bonus never below zero and its principal never below zero.
/// Returns `insufficient_balance` when the check fails; nothing is written.
pub async fn post(conn: &mut Conn, op: OperationRef, m: Movement) -> AppResult<Posted> {
    let debited = debit(conn, m).await?;
    credit(conn, op, m, debited.balance_fen).await
}

/// The debit side of a movement, checked and applied in one statement.
async fn debit(conn: &mut Conn, m: Movement) -> AppResult<accounts::Balances> {
    assert!(m.amount.is_positive(), "transfers move a positive amount");
    assert!(
        m.bonus.fen() >= 0 && m.bonus <= m.amount,
        "bonus is part of the amount"
    );
    let principal = m.amount.fen() - m.bonus.fen();
    let debited = sqlx::query(
        "UPDATE accounts SET balance_fen = balance_fen - $1, bonus_fen = bonus_fen - $2 \
         WHERE id = $3 AND (floor_fen IS NULL OR (balance_fen - held_fen - $1 >= floor_fen \
               AND bonus_fen >= $2 AND balance_fen - bonus_fen >= $4)) \
         RETURNING balance_fen, bonus_fen, held_fen",
    )
    .bind(m.amount.fen())
    .bind(m.bonus.fen())
    .bind(m.debit)
    .bind(principal)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = debited else {
        return Err(AppError::new(
            Code::InsufficientBalance,
            "the card's available balance does not cover this amount",
        ));
    };
    Ok(accounts::Balances {
        balance_fen: row.try_get("balance_fen")?,
        bonus_fen: row.try_get("bonus_fen")?,
        held_fen: row.try_get("held_fen")?,
    })
}

/// The credit side of a movement and the transfer record naming both
/// balances after it.
async fn credit(
    conn: &mut Conn,
    op: OperationRef,
    m: Movement,
    debit_after: i64,
) -> AppResult<Posted> {
    // The credited account is often a station's shared system account, a
    // row every sale there locks until commit. On PostgreSQL the update and
    // the transfer record are one statement, one round trip less under
    // that lock; SQLite (one writer at a time) has no such contention and
    // no data-modifying CTE.
    let row = if db::backend_of(conn) == db::Backend::Postgres {
        sqlx::query(
            "WITH c AS (UPDATE accounts SET balance_fen = balance_fen + $1, \
               bonus_fen = bonus_fen + $2 WHERE id = $3 RETURNING balance_fen) \
             INSERT INTO transfers (operation_id, debit_account_id, credit_account_id, \
               amount_fen, bonus_fen, debit_balance_after_fen, credit_balance_after_fen, \
               created_at) \
             SELECT $4, $5, $3, $1, $2, $6, c.balance_fen, $7 FROM c \
             RETURNING id, credit_balance_after_fen",
        )
        .bind(m.amount.fen())
        .bind(m.bonus.fen())
        .bind(m.credit)
        .bind(op.id)
        .bind(m.debit)
        .bind(debit_after)
        .bind(op.at)
        .fetch_one(&mut *conn)
        .await?
    } else {
        let credited = sqlx::query(
            "UPDATE accounts SET balance_fen = balance_fen + $1, bonus_fen = bonus_fen + $2 \
             WHERE id = $3 RETURNING balance_fen",
        )
        .bind(m.amount.fen())
        .bind(m.bonus.fen())
        .bind(m.credit)
        .fetch_one(&mut *conn)
        .await?;
        let credit_after: i64 = credited.try_get("balance_fen")?;
        sqlx::query(
            "INSERT INTO transfers (operation_id, debit_account_id, credit_account_id, amount_fen, \
             bonus_fen, debit_balance_after_fen, credit_balance_after_fen, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, credit_balance_after_fen",
        )
        .bind(op.id)
        .bind(m.debit)
        .bind(m.credit)
        .bind(m.amount.fen())
        .bind(m.bonus.fen())
        .bind(debit_after)
        .bind(credit_after)
        .bind(op.at)
        .fetch_one(&mut *conn)
        .await?
    };
    Ok(Posted {
        transfer_id: row.try_get("id")?,
        debit_balance_after: Money::from_fen(debit_after),
        credit_balance_after: Money::from_fen(row.try_get("credit_balance_after_fen")?),
    })
}

/// How a spend from a card was split between promotion money and the
/// customer's own money.
#[derive(Debug, Clone, Copy)]
pub struct SpendSplit {
    pub bonus: Money,
    pub principal: Money,
    pub balance_after: Money,
    /// What the card can still spend: the balance less its holds.
    pub available_after: Money,
}

/// The spend order, as a pure rule: bonus (promotion) money is spent first,
/// so a customer who later closes the card gets back as much of their own
/// money as possible.
pub fn split_spend(amount: Money, bonus_available: Money) -> (Money, Money) {
    let bonus = amount.min(bonus_available.max(Money::ZERO));
    (bonus, Money::from_fen(amount.fen() - bonus.fen()))
}

/// Spends `amount` from a card account into `credit`, bonus first.
pub async fn spend(
    conn: &mut Conn,
    op: OperationRef,
    card_account: i64,
    credit: i64,
    amount: Money,
) -> AppResult<SpendSplit> {
    let debited = spend_debit(conn, op, card_account, credit, amount, None).await?;
    debited.credit(conn).await
}

/// A card already debited for a spend whose credit is still to be posted.
///
/// A spend is split in two halves so that a caller can do its own writes in
/// between: the credit side is usually a station's system account, one row
/// that every sale at the station must lock, and crediting it last holds
/// that lock only for the transaction's final statements.
#[must_use = "the credit half of the spend must be posted in the same transaction"]
pub struct Debited {
    op: OperationRef,
    movement: Movement,
    pub split: SpendSplit,
}

impl Debited {
    /// Credits the receiving account and records the transfer.
    pub async fn credit(self, conn: &mut Conn) -> AppResult<SpendSplit> {
        credit(conn, self.op, self.movement, self.split.balance_after.fen()).await?;
        Ok(self.split)
    }
}

/// Debits a card account for a spend, bonus first. The split is computed
/// from the balances the caller already read (`known`, to save a round
/// trip) or reads now, and the conditional update re-checks it; if another
/// transaction changed the card in between (only possible on PostgreSQL),
/// the balances are read again and the split recomputed, a bounded number
/// of times.
pub async fn spend_debit(
    conn: &mut Conn,
    op: OperationRef,
    card_account: i64,
    credit: i64,
    amount: Money,
    known: Option<accounts::Balances>,
) -> AppResult<Debited> {
    let mut known = known;
    for _ in 0..8 {
        let mut b = match known.take() {
            Some(b) => b,
            None => accounts::balances(conn, card_account).await?,
        };
        if b.held_fen > 0 {
            // An expired reservation must not block the spend.
            holds::release_expired(conn, card_account, op.at).await?;
            b = accounts::balances(conn, card_account).await?;
        }
        if b.available_fen() < amount.fen() {
            return Err(AppError::new(
                Code::InsufficientBalance,
                format!(
                    "insufficient balance: available {}, needed {}",
                    Money::from_fen(b.available_fen()),
                    amount
                ),
            )
            .with("available", Money::from_fen(b.available_fen()).to_string()));
        }
        let (bonus, principal) = split_spend(amount, Money::from_fen(b.bonus_fen));
        let movement = Movement {
            debit: card_account,
            credit,
            amount,
            bonus,
        };
        match debit(conn, movement).await {
            Ok(after) => {
                return Ok(Debited {
                    op,
                    movement,
                    split: SpendSplit {
                        bonus,
                        principal,
                        balance_after: Money::from_fen(after.balance_fen),
                        available_after: Money::from_fen(after.available_fen()),
                    },
                });
            }
            Err(e) if e.code == Code::InsufficientBalance => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AppError::new(
        Code::DatabaseUnavailable,
        "the card is busy; retry with the same Idempotency-Key",
    ))
}

/// Draws a spend on a credit customer's receivable into `credit`, the
/// limit checked in the statement that moves the balance: the receivable
/// stays at or above its floor (minus the limit), or nothing is written and
/// the answer is `credit_limit_reached`. The credit side is the caller's to
/// post, last, as with [`spend_debit`]; the split's "available" is the
/// credit left on the line.
pub async fn draw_on_credit(
    conn: &mut Conn,
    op: OperationRef,
    receivable: i64,
    credit: i64,
    amount: Money,
) -> AppResult<Debited> {
    assert!(amount.is_positive(), "transfers move a positive amount");
    let drawn = sqlx::query(
        "UPDATE accounts SET balance_fen = balance_fen - $1 \
         WHERE id = $2 AND kind = 'receivable' AND balance_fen - held_fen - $1 >= floor_fen \
         RETURNING balance_fen, held_fen, floor_fen",
    )
    .bind(amount.fen())
    .bind(receivable)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = drawn else {
        // Read only to word the refusal; the decision was the update's.
        let left = sqlx::query(
            "SELECT balance_fen - held_fen - floor_fen AS left_fen FROM accounts WHERE id = $1",
        )
        .bind(receivable)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<Option<i64>, _>("left_fen")?
        .unwrap_or(0);
        return Err(AppError::new(
            Code::CreditLimitReached,
            format!(
                "the company's credit line has {} left, needed {amount}",
                Money::from_fen(left)
            ),
        )
        .with("available", Money::from_fen(left).to_string()));
    };
    let balance: i64 = row.try_get("balance_fen")?;
    let held: i64 = row.try_get("held_fen")?;
    let floor: i64 = row.try_get("floor_fen")?;
    Ok(Debited {
        op,
        movement: Movement {
            debit: receivable,
            credit,
            amount,
            bonus: Money::ZERO,
        },
        split: SpendSplit {
            bonus: Money::ZERO,
            principal: amount,
            balance_after: Money::from_fen(balance),
            available_after: Money::from_fen(balance - held - floor),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bonus_is_spent_first() {
        let (b, p) = split_spend(Money::from_fen(10_000), Money::from_fen(2_000));
        assert_eq!((b.fen(), p.fen()), (2_000, 8_000));
        let (b, p) = split_spend(Money::from_fen(500), Money::from_fen(2_000));
        assert_eq!((b.fen(), p.fen()), (500, 0));
        let (b, p) = split_spend(Money::from_fen(500), Money::ZERO);
        assert_eq!((b.fen(), p.fen()), (0, 500));
    }
}

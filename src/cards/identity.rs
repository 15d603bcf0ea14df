//! ID documents are guessed like PINs. A document number is written on
//! more papers than a PIN is ever told to anyone, so a counter that may
//! compare any number of them could walk a list of leaked numbers until one
//! closes, replaces or unlocks a card. Each comparison is therefore counted
//! twice: by the guessing limits ([`crate::auth::throttle::identity`]: five
//! compared, then the waits), and on the card itself — wrong documents in a
//! row, a right one starting again from nothing — which at [`LOCK_AFTER`]
//! locks the card against documents until head office unlocks it. Its PIN
//! still speaks for the holder meanwhile.

use sqlx::Row;

use super::Card;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

/// Wrong documents in a row after which a card accepts no document until
/// head office unlocks it.
pub const LOCK_AFTER: i64 = 10;

/// A card's count of wrong documents and whether it is locked against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    pub failures: i64,
    pub locked_at: Option<i64>,
}

impl State {
    /// Refuses any document for a card locked against them.
    pub fn ensure_open(&self, card: &Card) -> AppResult<()> {
        match self.locked_at {
            Some(_) => Err(locked(card)),
            None => Ok(()),
        }
    }
}

fn locked(card: &Card) -> AppError {
    AppError::new(
        Code::IdentityLocked,
        format!(
            "card {} had {LOCK_AFTER} wrong ID documents in a row: it accepts none until head \
             office unlocks it (its PIN still works)",
            card.number
        ),
    )
}

/// The pure rule: the count after a compared document, and whether the
/// card is to be locked by it.
pub fn after(failures: i64, right: bool) -> (i64, bool) {
    if right {
        (0, false)
    } else {
        let n = failures.saturating_add(1);
        (n, n >= LOCK_AFTER)
    }
}

/// The card's identity state. Read under the card's row lock when the
/// caller holds it ([`super::find_by_id_for_update`] first).
pub async fn state(conn: &mut Conn, card_id: i64) -> AppResult<State> {
    let row = sqlx::query("SELECT identity_failures, identity_locked_at FROM cards WHERE id = $1")
        .bind(card_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::CardNotFound, format!("no card with id {card_id}")))?;
    Ok(State {
        failures: row.try_get("identity_failures")?,
        locked_at: row.try_get("identity_locked_at")?,
    })
}

/// Counts a compared document on `card`, whose row the caller has locked:
/// a right one starts the count again, a wrong one adds to it and, at the
/// limit, locks the card. A wrong document answers `identity_mismatch`, or
/// `identity_locked` when it was the one that locked the card.
pub async fn count(
    conn: &mut Conn,
    card: &Card,
    before: State,
    right: bool,
    now: i64,
) -> AppResult<()> {
    let (failures, lock) = after(before.failures, right);
    if failures != before.failures || lock {
        sqlx::query(
            "UPDATE cards SET identity_failures = $1, \
             identity_locked_at = CASE WHEN $2 = 1 THEN $3 ELSE identity_locked_at END \
             WHERE id = $4",
        )
        .bind(failures)
        .bind(i64::from(lock))
        .bind(now)
        .bind(card.id)
        .execute(&mut *conn)
        .await?;
    }
    if lock {
        return Err(locked(card));
    }
    Ok(())
}

/// Head office lifts a card's identity lock and forgets its wrong
/// documents. Refused for a card that is not locked, so that nothing is
/// recorded for nothing.
pub async fn unlock(conn: &mut Conn, card: &Card) -> AppResult<State> {
    let before = state(conn, card.id).await?;
    if before.locked_at.is_none() {
        return Err(AppError::new(
            Code::IllegalTransition,
            format!("card {} is not locked against ID documents", card.number),
        ));
    }
    sqlx::query("UPDATE cards SET identity_failures = 0, identity_locked_at = NULL WHERE id = $1")
        .bind(card.id)
        .execute(&mut *conn)
        .await?;
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenth_wrong_document_in_a_row_locks_and_a_right_one_resets() {
        let mut n = 0;
        for i in 1..LOCK_AFTER {
            let (next, lock) = after(n, false);
            assert_eq!(next, i);
            assert!(!lock, "locked after {i}");
            n = next;
        }
        assert_eq!(after(n, false), (LOCK_AFTER, true));
        assert_eq!(after(n, true), (0, false));
        assert!(after(i64::MAX, false).1);
    }
}

//! Idempotency keys: a counter that retries after a timeout must never apply
//! a money movement twice. The key is claimed inside the same transaction as
//! the movement (`ON CONFLICT DO NOTHING`), and the response is stored before
//! commit, so either both exist or neither does. On PostgreSQL a concurrent
//! request with the same key waits on the unique index until the first
//! commits, then replays its answer.

use axum::http::StatusCode;
use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

/// The longest key accepted; a UUID is 36 characters.
pub const MAX_KEY_LEN: usize = 128;

/// What claiming a key found.
pub enum Claim {
    /// The key is new and now belongs to this transaction.
    Fresh,
    /// The same request was already applied: answer this again.
    Replay { status: StatusCode, body: String },
}

pub async fn claim(
    conn: &mut Conn,
    key: &str,
    user_id: i64,
    hash: &str,
    now: i64,
) -> AppResult<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (key, user_id, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    earlier(conn, key, user_id, hash)
        .await?
        .ok_or_else(|| AppError::internal("idempotency", "a claimed key vanished"))
}

/// What an earlier request with this key left: `None` if there was none,
/// its answer to replay, or `idempotency_key_in_flight` while it runs. Lets
/// a request that must do outside work (talk to a card) first check for a
/// replay without claiming the key.
pub async fn earlier(
    conn: &mut Conn,
    key: &str,
    user_id: i64,
    hash: &str,
) -> AppResult<Option<Claim>> {
    let row = sqlx::query(
        "SELECT user_id, request_hash, status_code, response FROM idempotency_keys WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owner: i64 = row.try_get("user_id")?;
    let stored_hash: String = row.try_get("request_hash")?;
    if owner != user_id || stored_hash != hash {
        return Err(AppError::new(
            Code::IdempotencyKeyReused,
            "this Idempotency-Key was already used for a different request; use a new key",
        ));
    }
    let status: Option<i64> = row.try_get("status_code")?;
    let body: Option<String> = row.try_get("response")?;
    match (status, body) {
        (Some(status), Some(body)) => {
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            Ok(Some(Claim::Replay { status, body }))
        }
        _ => Err(AppError::new(
            Code::IdempotencyKeyInFlight,
            "a request with this Idempotency-Key is still being processed",
        )),
    }
}

/// Stores the answer under the key, in the same transaction as the work.
pub async fn complete(conn: &mut Conn, key: &str, status: StatusCode, body: &str) -> AppResult<()> {
    sqlx::query("UPDATE idempotency_keys SET status_code = $1, response = $2 WHERE key = $3")
        .bind(i64::from(status.as_u16()))
        .bind(body)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets the answered keys made before `before`: a retry later than the
/// replay window is a new request. A key still waiting for its answer (a
/// chip load the card has not settled) is kept.
pub async fn purge(conn: &mut Conn, before: i64) -> AppResult<u64> {
    let done =
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1 AND response IS NOT NULL")
            .bind(before)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

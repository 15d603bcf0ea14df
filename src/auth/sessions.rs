//! Sessions: a random token handed to the client (bearer header for the
//! API, HttpOnly cookie for pages); only its SHA-256 is stored, so a copy
//! of the database does not log anyone in.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::Actor;
use super::users::{ACTOR_COLUMNS, actor_of};
use crate::db::Conn;
use crate::error::AppResult;

/// How long a login lasts at most, by default: one long shift.
pub const SESSION_HOURS: i64 = 12;
/// How long a login lasts unused, by default.
pub const IDLE_MINUTES: i64 = 60;
/// A session's last use is written down at most this often, so that using
/// a session is not a write per request.
const TOUCH_US: i64 = 60 * 1_000_000;

/// How long sessions last: at most `hours` after the login, and `idle`
/// minutes after their last use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub hours: i64,
    pub idle_minutes: i64,
}

impl Default for Lifetime {
    fn default() -> Self {
        Lifetime {
            hours: SESSION_HOURS,
            idle_minutes: IDLE_MINUTES,
        }
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn create(
    conn: &mut Conn,
    user_id: i64,
    now: i64,
    lifetime: Lifetime,
) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $3)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + lifetime.hours * 3_600_000_000)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// The user of a live session: within its absolute end, used within the
/// idle time, its user active. Its last use is written down (at most once
/// a minute).
pub async fn lookup(
    conn: &mut Conn,
    token: &str,
    now: i64,
    lifetime: Lifetime,
) -> AppResult<Option<Actor>> {
    let hash = token_hash(token);
    let idle_since = now - lifetime.idle_minutes * 60_000_000;
    let row = sqlx::query(&format!(
        "SELECT {ACTOR_COLUMNS}, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.active = 1"
    ))
    .bind(&hash)
    .bind(now)
    .bind(idle_since)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let seen: i64 = row.try_get("last_seen_at")?;
    if now - seen >= TOUCH_US {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2",
        )
        .bind(&hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    actor_of(&row).map(Some)
}

/// Deletes the sessions that have expired, or lain unused past the idle
/// time.
pub async fn purge(conn: &mut Conn, now: i64, lifetime: Lifetime) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(now - lifetime.idle_minutes * 60_000_000)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn end(conn: &mut Conn, token: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session of a user but the one of `keep` (a password change
/// keeps the session it was made in).
pub async fn end_all(conn: &mut Conn, user_id: i64, keep: Option<&str>) -> AppResult<u64> {
    let done =
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> COALESCE($2, '')")
            .bind(user_id)
            .bind(keep.map(token_hash))
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

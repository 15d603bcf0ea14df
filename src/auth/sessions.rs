//! Sessions: a random token handed to the client (bearer header for the
//! API, HttpOnly cookie for pages); only its SHA-256 is stored, so a copy
//! of the database does not log anyone in.

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Actor;
use super::users::{ACTOR_COLUMNS, actor_of};
use crate::db::Conn;
use crate::error::AppResult;

/// How long a login lasts: one long shift.
pub const SESSION_HOURS: i64 = 12;

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn create(conn: &mut Conn, user_id: i64, now: i64) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + SESSION_HOURS * 3_600_000_000)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

pub async fn lookup(conn: &mut Conn, token: &str, now: i64) -> AppResult<Option<Actor>> {
    let row = sqlx::query(&format!(
        "SELECT {ACTOR_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1"
    ))
    .bind(token_hash(token))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(actor_of).transpose()
}

/// Deletes the sessions that have expired.
pub async fn purge(conn: &mut Conn, now: i64) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
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
    let done = sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> COALESCE($2, '')",
    )
    .bind(user_id)
    .bind(keep.map(token_hash))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

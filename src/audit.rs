//! The audit log: who changed what, when. Written in the same transaction
//! as the change it describes, so an audited change cannot go unrecorded.

use crate::db::Conn;
use crate::error::AppResult;

pub async fn record(
    conn: &mut Conn,
    at: i64,
    user_id: Option<i64>,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (user_id, action, subject, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(action)
    .bind(subject)
    .bind(detail.to_string())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

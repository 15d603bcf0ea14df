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

/// What to look for in the audit log: who (a username), what (an action
/// code), the subject, and a time span `[from, to)`; a page of it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user: Option<String>,
    pub action: Option<String>,
    pub subject: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// One entry of the audit log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub user: Option<String>,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
    pub at: i64,
}

/// The entries that match, newest first: at most `limit` from `offset`.
pub async fn search(conn: &mut Conn, f: &Filter) -> AppResult<Vec<Entry>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT a.id, u.username, a.action, a.subject, a.detail, a.created_at FROM audit_log a \
         LEFT JOIN users u ON u.id = a.user_id \
         WHERE ($1 IS NULL OR u.username = $1) AND ($2 IS NULL OR a.action = $2) \
           AND ($3 IS NULL OR a.subject = $3) AND ($4 IS NULL OR a.created_at >= $4) \
           AND ($5 IS NULL OR a.created_at < $5) \
         ORDER BY a.id DESC LIMIT $6 OFFSET $7",
    )
    .bind(f.user.as_deref())
    .bind(f.action.as_deref())
    .bind(f.subject.as_deref())
    .bind(f.from)
    .bind(f.to)
    .bind(f.limit)
    .bind(f.offset)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(Entry {
                id: r.try_get("id")?,
                user: r.try_get("username")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                at: r.try_get("created_at")?,
            })
        })
        .collect()
}

//! A card's statement: one line per business operation that moved money on
//! the card, newest first, with the change and the balance after it.

use serde::Serialize;
use sqlx::Row;

use super::Card;
use crate::db::Conn;
use crate::error::AppResult;
use crate::money::Money;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub operation_id: i64,
    pub kind: String,
    pub time: String,
    /// Signed change of the card's balance.
    #[schema(value_type = String, example = "-224.40")]
    pub amount: Money,
    /// Signed change of the bonus part.
    #[schema(value_type = String)]
    pub bonus: Money,
    #[schema(value_type = String)]
    pub balance_after: Money,
    pub station: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Statement {
    pub card_number: String,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    pub items: Vec<Line>,
}

pub async fn page(conn: &mut Conn, card: &Card, page: i64, per_page: i64) -> AppResult<Statement> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 200);
    let rows = sqlx::query(
        "SELECT x.id, x.kind, x.created_at, x.detail, x.station, x.delta, x.bonus_delta, \
           CASE WHEN t.credit_account_id = $1 THEN t.credit_balance_after_fen \
                ELSE t.debit_balance_after_fen END AS balance_after \
         FROM (SELECT o.id, o.kind, o.created_at, o.detail, s.code AS station, \
                 CAST(SUM(CASE WHEN t.credit_account_id = $1 THEN t.amount_fen \
                               ELSE -t.amount_fen END) AS BIGINT) AS delta, \
                 CAST(SUM(CASE WHEN t.credit_account_id = $1 THEN t.bonus_fen \
                               ELSE -t.bonus_fen END) AS BIGINT) AS bonus_delta, \
                 MAX(t.id) AS last_transfer \
               FROM transfers t JOIN operations o ON o.id = t.operation_id \
               LEFT JOIN stations s ON s.id = o.station_id \
               WHERE t.debit_account_id = $1 OR t.credit_account_id = $1 \
               GROUP BY o.id, o.kind, o.created_at, o.detail, s.code \
               ORDER BY o.id DESC LIMIT $2 OFFSET $3) x \
         JOIN transfers t ON t.id = x.last_transfer ORDER BY x.id DESC",
    )
    .bind(card.account_id)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = sqlx::query(
        "SELECT COUNT(DISTINCT operation_id) AS n FROM transfers \
         WHERE debit_account_id = $1 OR credit_account_id = $1",
    )
    .bind(card.account_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let items = rows
        .iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(Line {
                operation_id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                time: crate::time::format_us(r.try_get("created_at")?),
                amount: Money::from_fen(r.try_get("delta")?),
                bonus: Money::from_fen(r.try_get("bonus_delta")?),
                balance_after: Money::from_fen(r.try_get("balance_after")?),
                station: r.try_get("station")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Statement {
        card_number: card.number.clone(),
        page,
        per_page,
        total,
        items,
    })
}

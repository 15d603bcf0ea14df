//! Payments into a credit customer's receivable, booked by head office
//! against its bank statement: a transfer from the card centre's clearing
//! account of the payment's method into the receivable, applied to every
//! issued statement still unpaid.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::lines;
use crate::cards::recharge::PaymentMethod;
use crate::db::Conn;
use crate::error::AppResult;
use crate::ledger::{self, AccountKind, Movement, Operation};
use crate::money::Money;

/// A payment booked.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Paid {
    pub id: i64,
    pub customer_id: i64,
    #[schema(value_type = String, example = "5000.00")]
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    /// The receivable's balance after the payment.
    #[schema(value_type = String, example = "-5000.00")]
    pub balance: Money,
    /// What the company's cards may buy on credit now.
    #[schema(value_type = String, example = "5000.00")]
    pub available: Money,
    /// The statements this payment finished paying.
    pub settled: Vec<String>,
    /// A statement still unpaid past its due date and grace, if any: the
    /// company's cards stay refused until it is paid.
    pub overdue_month: Option<String>,
    pub time: String,
}

/// The card centre's clearing account a payment arrives in.
fn clearing(method: PaymentMethod) -> (AccountKind, String) {
    let kind = match method {
        PaymentMethod::Cash => AccountKind::Cash,
        PaymentMethod::BankCard => AccountKind::BankCard,
        PaymentMethod::Transfer => AccountKind::BankTransfer,
    };
    (kind, format!("credit-receipts:{}", method.as_str()))
}

/// A payment to book.
pub struct Payment<'a> {
    pub customer_id: i64,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<&'a str>,
}

/// Books a payment: the line locked and its closed months issued first (so
/// the payment lands after them), then the transfer, then every unpaid
/// issued statement credited with it up to its debt. A statement's debt is
/// the whole balance owed at its close, so one payment counts towards each
/// statement still open, oldest first in effect.
pub async fn book(
    conn: &mut Conn,
    user_id: i64,
    p: &Payment<'_>,
    now: i64,
    tz: Tz,
) -> AppResult<Paid> {
    let line = lines::lock(conn, p.customer_id, now, tz).await?;
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "credit_payment",
            card_id: None,
            station_id: None,
            shift_id: None,
            user_id: Some(user_id),
            detail: serde_json::json!({
                "customer": p.customer_id, "method": p.method.as_str(),
            }),
        },
    )
    .await?;
    let (kind, name) = clearing(p.method);
    let from = ledger::system_account(conn, kind, &name, now).await?;
    let posted = ledger::post(
        conn,
        op,
        Movement {
            debit: from,
            credit: line.account_id,
            amount: p.amount,
            bonus: Money::ZERO,
        },
    )
    .await?;
    let id: i64 = sqlx::query(
        "INSERT INTO credit_payments (customer_id, operation_id, amount_fen, method, reference, \
         booked_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(p.customer_id)
    .bind(op.id)
    .bind(p.amount.fen())
    .bind(p.method.as_str())
    .bind(p.reference)
    .bind(user_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    let applied = sqlx::query(
        "UPDATE credit_statements SET paid_fen = CASE WHEN paid_fen + $1 > due_fen \
           THEN due_fen ELSE paid_fen + $1 END \
         WHERE customer_id = $2 AND paid_fen < due_fen RETURNING month, paid_fen, due_fen",
    )
    .bind(p.amount.fen())
    .bind(p.customer_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut settled = Vec::new();
    for r in &applied {
        if r.try_get::<i64, _>("paid_fen")? == r.try_get::<i64, _>("due_fen")? {
            settled.push(r.try_get("month")?);
        }
    }
    settled.sort();
    let overdue = lines::overdue(conn, &line, now).await?;
    crate::audit::record(
        conn,
        now,
        Some(user_id),
        "credit_payment",
        &p.customer_id.to_string(),
        serde_json::json!({
            "payment": id, "amount": p.amount, "method": p.method.as_str(),
            "reference": p.reference, "settled": settled,
        }),
    )
    .await?;
    let balance = posted.credit_balance_after;
    Ok(Paid {
        id,
        customer_id: p.customer_id,
        amount: p.amount,
        method: p.method,
        reference: p.reference.map(str::to_string),
        balance,
        available: Money::from_fen(balance.fen() + line.limit.fen()),
        settled,
        overdue_month: overdue.map(|o| o.month),
        time: crate::time::format_us(now),
    })
}

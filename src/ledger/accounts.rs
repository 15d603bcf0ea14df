//! Ledger accounts: one per card, plus the system accounts money comes from
//! and goes to (cash and bank clearing per station, sales per station,
//! promotion expense per promotion, bonus claw-back), a credit
//! customer's receivable, and a company's payable.

use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A card's stored value; never below zero.
    Card,
    /// Cash taken in at a station's counter (negative: cash in the drawer).
    Cash,
    /// Bank-card payments taken at a station, awaiting settlement.
    BankCard,
    /// Bank transfers received for recharges at a station.
    BankTransfer,
    /// Fuel sold at a station against cards.
    Sales,
    /// Bonus value given away by one promotion.
    Promotion,
    /// Unspent bonus taken back when a card is refunded or closed.
    Clawback,
    /// A partner merchant's account: what the network owes it (positive)
    /// for the benefits it delivered, settled monthly.
    Partner,
    /// A station's share of the alliance benefits' cost, and what merchants
    /// paid it for gifts it handed over.
    Alliance,
    /// A credit customer's receivable: below zero by what the company owes,
    /// never below minus its credit limit (its floor).
    Receivable,
    /// What the network owes a company whose account (its main card) was
    /// closed, to be paid by bank transfer: a company's card money goes
    /// back to the company, never as cash at a counter. Floor zero: never
    /// below what was booked to it, and no bonus.
    Payable,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Card => "card",
            AccountKind::Cash => "cash",
            AccountKind::BankCard => "bank_card",
            AccountKind::BankTransfer => "bank_transfer",
            AccountKind::Sales => "sales",
            AccountKind::Promotion => "promotion",
            AccountKind::Clawback => "clawback",
            AccountKind::Partner => "partner",
            AccountKind::Alliance => "alliance",
            AccountKind::Receivable => "receivable",
            AccountKind::Payable => "payable",
        }
    }
}

/// Opens a card account: floor zero, so the database refuses a negative
/// balance even if a conditional update were ever forgotten.
pub async fn open_card_account(conn: &mut Conn, card_number: &str, now: i64) -> AppResult<i64> {
    let row = sqlx::query(
        "INSERT INTO accounts (kind, name, floor_fen, created_at) VALUES ('card', $1, 0, $2) \
         RETURNING id",
    )
    .bind(format!("card:{card_number}"))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// Opens a company's receivable with its credit limit as the floor: the
/// database refuses a balance below minus the limit, as it refuses a card
/// below zero.
pub async fn open_receivable(
    conn: &mut Conn,
    customer_id: i64,
    limit: Money,
    now: i64,
) -> AppResult<i64> {
    let row = sqlx::query(
        "INSERT INTO accounts (kind, name, floor_fen, created_at) \
         VALUES ('receivable', $1, $2, $3) RETURNING id",
    )
    .bind(format!("receivable:{customer_id}"))
    .bind(-limit.fen())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// A company's payable (`payable:company:<id>`), found or opened with
/// floor zero, so that the database refuses paying out more than was
/// booked to it, as it refuses a card below zero. One per company: every
/// closure of its main card books onto the same account.
pub async fn company_payable(conn: &mut Conn, customer_id: i64, now: i64) -> AppResult<i64> {
    let name = format!("payable:company:{customer_id}");
    sqlx::query(
        "INSERT INTO accounts (kind, name, floor_fen, created_at) VALUES ('payable', $1, 0, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT id FROM accounts WHERE name = $1 AND kind = 'payable'")
        .bind(&name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::internal("company payable", name.clone()))?;
    Ok(row.try_get("id")?)
}

/// Moves a receivable's floor to minus a new limit, in one statement that
/// checks what is already owed: a line is never cut below the company's
/// debt (`credit_limit_below_debt`).
pub async fn set_credit_limit(conn: &mut Conn, account_id: i64, limit: Money) -> AppResult<()> {
    let moved = sqlx::query(
        "UPDATE accounts SET floor_fen = $1 \
         WHERE id = $2 AND kind = 'receivable' AND balance_fen - held_fen >= $1",
    )
    .bind(-limit.fen())
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() == 0 {
        let owed = -balances(conn, account_id).await?.balance_fen;
        return Err(AppError::new(
            Code::CreditLimitBelowDebt,
            format!(
                "the company owes {}: the limit cannot be set below that",
                Money::from_fen(owed)
            ),
        ));
    }
    Ok(())
}

/// Finds or creates a system account by its unique name (e.g. `cash:S001`).
/// System accounts have no floor: they mirror money outside the cards.
pub async fn system_account(
    conn: &mut Conn,
    kind: AccountKind,
    name: &str,
    now: i64,
) -> AppResult<i64> {
    if let Some(row) = sqlx::query("SELECT id FROM accounts WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(row.try_get("id")?);
    }
    sqlx::query(
        "INSERT INTO accounts (kind, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT id FROM accounts WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("id")?)
}

/// A card account's balances as the ledger holds them.
#[derive(Debug, Clone, Copy)]
pub struct Balances {
    pub balance_fen: i64,
    pub bonus_fen: i64,
    pub held_fen: i64,
}

impl Balances {
    pub fn available_fen(&self) -> i64 {
        self.balance_fen - self.held_fen
    }
    pub fn principal_fen(&self) -> i64 {
        self.balance_fen - self.bonus_fen
    }
}

pub async fn balances(conn: &mut Conn, account_id: i64) -> AppResult<Balances> {
    let row = sqlx::query("SELECT balance_fen, bonus_fen, held_fen FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Balances {
        balance_fen: row.try_get("balance_fen")?,
        bonus_fen: row.try_get("bonus_fen")?,
        held_fen: row.try_get("held_fen")?,
    })
}

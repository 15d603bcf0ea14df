//! The ledger invariants, checkable by anyone at any time: every account's
//! balance (and bonus) equals the sum of its transfers, all balances sum to
//! zero, no card is below zero, each card's held amount equals its active
//! holds, a closed or replaced card holds nothing, a credit customer's
//! receivable is never below minus its limit, a company's payable (what
//! the network owes a company whose account it closed) is never below zero
//! and carries no bonus, and each issued credit statement closes at the
//! ledger's balance through its last transfer.

use serde::Serialize;
use sqlx::Row;

use crate::db::Conn;
use crate::error::AppResult;
use crate::money::Money;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Mismatch {
    pub account: String,
    pub problem: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub ok: bool,
    pub accounts: i64,
    pub transfers: i64,
    #[schema(value_type = String)]
    pub total_balance: Money,
    #[schema(value_type = String)]
    pub total_bonus: Money,
    #[schema(value_type = String)]
    pub card_liability: Money,
    /// What the network owes companies whose accounts it closed, to be paid
    /// by bank transfer (their payables' balances).
    #[schema(value_type = String)]
    pub company_payables: Money,
    pub mismatches: Vec<Mismatch>,
}

pub async fn run(conn: &mut Conn) -> AppResult<Report> {
    let rows = sqlx::query(
        "SELECT a.id, a.name, a.kind, a.balance_fen, a.bonus_fen, a.held_fen, a.floor_fen, \
           COALESCE((SELECT CAST(SUM(t.amount_fen) AS BIGINT) FROM transfers t \
                     WHERE t.credit_account_id = a.id), 0) AS credits, \
           COALESCE((SELECT CAST(SUM(t.amount_fen) AS BIGINT) FROM transfers t \
                     WHERE t.debit_account_id = a.id), 0) AS debits, \
           COALESCE((SELECT CAST(SUM(t.bonus_fen) AS BIGINT) FROM transfers t \
                     WHERE t.credit_account_id = a.id), 0) AS bonus_credits, \
           COALESCE((SELECT CAST(SUM(t.bonus_fen) AS BIGINT) FROM transfers t \
                     WHERE t.debit_account_id = a.id), 0) AS bonus_debits, \
           COALESCE((SELECT CAST(SUM(h.amount_fen) AS BIGINT) FROM holds h \
                     WHERE h.account_id = a.id AND h.status = 'active'), 0) AS active_holds \
         FROM accounts a ORDER BY a.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut mismatches = Vec::new();
    let (mut total, mut total_bonus, mut liability, mut payables) = (0i64, 0i64, 0i64, 0i64);
    for row in &rows {
        let name: String = row.try_get("name")?;
        let kind: String = row.try_get("kind")?;
        let balance: i64 = row.try_get("balance_fen")?;
        let bonus: i64 = row.try_get("bonus_fen")?;
        let held: i64 = row.try_get("held_fen")?;
        let floor: Option<i64> = row.try_get("floor_fen")?;
        let computed = row.try_get::<i64, _>("credits")? - row.try_get::<i64, _>("debits")?;
        let computed_bonus =
            row.try_get::<i64, _>("bonus_credits")? - row.try_get::<i64, _>("bonus_debits")?;
        let active_holds: i64 = row.try_get("active_holds")?;
        total += balance;
        total_bonus += bonus;
        if kind == "card" {
            liability += balance;
        }
        if kind == "payable" {
            payables += balance;
        }
        let mut problem = |p: String| {
            mismatches.push(Mismatch {
                account: name.clone(),
                problem: p,
            })
        };
        if balance != computed {
            problem(format!(
                "balance {} but transfers sum to {}",
                Money::from_fen(balance),
                Money::from_fen(computed)
            ));
        }
        if bonus != computed_bonus {
            problem(format!(
                "bonus {} but transfers sum to {}",
                Money::from_fen(bonus),
                Money::from_fen(computed_bonus)
            ));
        }
        if let Some(floor) = floor {
            if balance - held < floor || bonus < 0 || bonus > balance.max(0) {
                problem(format!(
                    "below its floor: balance {}, bonus {}, held {}",
                    Money::from_fen(balance),
                    Money::from_fen(bonus),
                    Money::from_fen(held)
                ));
            }
        }
        // A payable is what the network owes, from the network's side:
        // never negative (more paid out than booked), never bonus (promotion
        // money is clawed back, not owed), never held, floor zero.
        if kind == "payable" && (floor != Some(0) || balance < 0 || bonus != 0 || held != 0) {
            problem(format!(
                "a company payable must stay at or above zero without bonus: balance {}, \
                 bonus {}, held {}, floor {}",
                Money::from_fen(balance),
                Money::from_fen(bonus),
                Money::from_fen(held),
                floor.map_or_else(|| "none".to_string(), |f| Money::from_fen(f).to_string())
            ));
        }
        if held != active_holds {
            problem(format!(
                "held {} but active holds sum to {}",
                Money::from_fen(held),
                Money::from_fen(active_holds)
            ));
        }
    }
    if total != 0 {
        mismatches.push(Mismatch {
            account: "(all)".into(),
            problem: format!("balances sum to {}, not zero", Money::from_fen(total)),
        });
    }
    if total_bonus != 0 {
        mismatches.push(Mismatch {
            account: "(all)".into(),
            problem: format!("bonus sums to {}, not zero", Money::from_fen(total_bonus)),
        });
    }
    // A closed card was paid out and a replaced one moved to its new
    // number: money left on either belongs to nobody who can spend it.
    let ended = sqlx::query(
        "SELECT a.name, c.status, a.balance_fen, a.bonus_fen, a.held_fen FROM cards c \
         JOIN accounts a ON a.id = c.account_id WHERE c.status IN ('closed', 'replaced') \
         AND (a.balance_fen <> 0 OR a.bonus_fen <> 0 OR a.held_fen <> 0) ORDER BY a.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &ended {
        let status: String = row.try_get("status")?;
        mismatches.push(Mismatch {
            account: row.try_get("name")?,
            problem: format!(
                "the card is {status} but holds balance {}, bonus {}, held {}",
                Money::from_fen(row.try_get("balance_fen")?),
                Money::from_fen(row.try_get("bonus_fen")?),
                Money::from_fen(row.try_get("held_fen")?)
            ),
        });
    }
    credit(conn, &mut mismatches).await?;
    let transfers: i64 = sqlx::query("SELECT COUNT(*) AS n FROM transfers")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    Ok(Report {
        ok: mismatches.is_empty(),
        accounts: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        transfers,
        total_balance: Money::from_fen(total),
        total_bonus: Money::from_fen(total_bonus),
        card_liability: Money::from_fen(liability),
        company_payables: Money::from_fen(payables),
        mismatches,
    })
}

/// The credit rule: a receivable's floor is minus its line's limit and its
/// balance never below it; an issued statement's closing balance is the sum
/// of the receivable's transfers through the statement's last one.
async fn credit(conn: &mut Conn, mismatches: &mut Vec<Mismatch>) -> AppResult<()> {
    let lines = sqlx::query(
        "SELECT a.name, a.balance_fen, a.held_fen, a.floor_fen, l.limit_fen \
         FROM credit_lines l JOIN accounts a ON a.id = l.account_id \
         WHERE a.floor_fen IS NULL OR a.floor_fen <> -l.limit_fen \
            OR a.balance_fen - a.held_fen < -l.limit_fen ORDER BY a.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &lines {
        let floor: Option<i64> = row.try_get("floor_fen")?;
        mismatches.push(Mismatch {
            account: row.try_get("name")?,
            problem: format!(
                "credit limit {}, floor {}, balance {}, held {}: below minus its limit or \
                 floor not at it",
                Money::from_fen(row.try_get("limit_fen")?),
                floor.map_or_else(|| "none".to_string(), |f| Money::from_fen(f).to_string()),
                Money::from_fen(row.try_get("balance_fen")?),
                Money::from_fen(row.try_get("held_fen")?)
            ),
        });
    }
    let statements = sqlx::query(
        "SELECT a.name, s.month, s.closing_fen, \
           COALESCE((SELECT CAST(SUM(t.amount_fen) AS BIGINT) FROM transfers t \
                     WHERE t.credit_account_id = a.id AND t.id <= s.through_transfer_id), 0) \
           - COALESCE((SELECT CAST(SUM(t.amount_fen) AS BIGINT) FROM transfers t \
                     WHERE t.debit_account_id = a.id AND t.id <= s.through_transfer_id), 0) \
             AS ledger_fen \
         FROM credit_statements s JOIN credit_lines l ON l.customer_id = s.customer_id \
         JOIN accounts a ON a.id = l.account_id ORDER BY s.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &statements {
        let closing: i64 = row.try_get("closing_fen")?;
        let ledger: i64 = row.try_get("ledger_fen")?;
        if closing != ledger {
            let month: String = row.try_get("month")?;
            mismatches.push(Mismatch {
                account: row.try_get("name")?,
                problem: format!(
                    "statement {month} closes at {} but the ledger reads {}",
                    Money::from_fen(closing),
                    Money::from_fen(ledger)
                ),
            });
        }
    }
    Ok(())
}

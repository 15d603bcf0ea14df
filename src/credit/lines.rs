//! A company's credit line in the database: setting it, locking it for a
//! sale or a payment, and issuing the statements whose months have closed.
//!
//! Every movement on a company's receivable (a sale drawn on it, a
//! payment into it) first locks the line's row and issues any statement
//! whose month has closed. So a statement is issued before anything later
//! than its month is booked, and under that lock its closing balance is
//! the receivable's balance: nothing else can move it meanwhile.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use super::terms::{self, Terms};
use crate::db::{self, Conn};
use crate::error::{AppError, AppResult, Code};
use crate::ledger::accounts;
use crate::money::Money;
use crate::time;

/// How many statements one catch-up issues at most: a line unused for a
/// century is a fault, not a backlog.
const MAX_CATCH_UP: usize = 1200;

/// A company's credit line as stored.
#[derive(Debug, Clone)]
pub struct Line {
    pub customer_id: i64,
    /// The company's receivable.
    pub account_id: i64,
    pub limit: Money,
    pub terms: Terms,
    /// The first day of the statement month now open.
    pub open_month: NaiveDate,
    pub open_from: i64,
    pub closes_at: i64,
    pub set_at: i64,
}

const LINE_COLUMNS: &str = "customer_id, account_id, limit_fen, statement_day, days_to_pay, \
                            grace_days, open_month, open_from, closes_at, set_at";

fn line_from_row(row: &sqlx::any::AnyRow) -> AppResult<Line> {
    let month: String = row.try_get("open_month")?;
    let open_month = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|e| AppError::internal("credit line month", e))?;
    Ok(Line {
        customer_id: row.try_get("customer_id")?,
        account_id: row.try_get("account_id")?,
        limit: Money::from_fen(row.try_get("limit_fen")?),
        terms: Terms::new(
            row.try_get("statement_day")?,
            row.try_get("days_to_pay")?,
            row.try_get("grace_days")?,
        )?,
        open_month,
        open_from: row.try_get("open_from")?,
        closes_at: row.try_get("closes_at")?,
        set_at: row.try_get("set_at")?,
    })
}

fn no_line(customer_id: i64) -> AppError {
    AppError::new(
        Code::NoCreditLine,
        format!("customer {customer_id} has no credit line"),
    )
}

/// The start of a local day, as stored.
fn start_of(day: NaiveDate, tz: Tz) -> AppResult<i64> {
    time::day_span(day, tz)
        .map(|(start, _)| start)
        .ok_or_else(|| AppError::internal("credit terms", format!("no local day {day}")))
}

/// A company's credit line, read without a lock (for reading only).
pub async fn find(conn: &mut Conn, customer_id: i64) -> AppResult<Line> {
    find_where(conn, customer_id, "").await
}

async fn find_where(conn: &mut Conn, customer_id: i64, lock: &str) -> AppResult<Line> {
    let row = sqlx::query(&format!(
        "SELECT {LINE_COLUMNS} FROM credit_lines WHERE customer_id = $1{lock}"
    ))
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| no_line(customer_id))?;
    line_from_row(&row)
}

/// The line locked until the transaction ends, its closed months issued:
/// the start of every sale on credit, payment and change of terms.
pub async fn lock(conn: &mut Conn, customer_id: i64, now: i64, tz: Tz) -> AppResult<Line> {
    let lock = db::for_update(conn);
    let line = find_where(conn, customer_id, lock).await?;
    catch_up(conn, line, now, tz).await
}

/// Issues the statement of every month of the line that has closed by
/// `now`. The caller holds the line's lock.
async fn catch_up(conn: &mut Conn, mut line: Line, now: i64, tz: Tz) -> AppResult<Line> {
    for _ in 0..MAX_CATCH_UP {
        if line.closes_at > now {
            return Ok(line);
        }
        line = issue(conn, &line, tz).await?;
    }
    Err(AppError::internal(
        "credit statements",
        format!("line of customer {} is too far behind", line.customer_id),
    ))
}

/// Issues the statement of the line's open month, frozen from now on, and
/// opens the next month.
async fn issue(conn: &mut Conn, line: &Line, tz: Tz) -> AppResult<Line> {
    let month = line.open_month;
    let previous = sqlx::query(
        "SELECT closing_fen, through_transfer_id FROM credit_statements \
         WHERE customer_id = $1 ORDER BY period_to DESC LIMIT 1",
    )
    .bind(line.customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (opening, after) = match previous {
        Some(r) => (
            r.try_get::<i64, _>("closing_fen")?,
            r.try_get::<i64, _>("through_transfer_id")?,
        ),
        None => (0, 0),
    };
    let moved = sqlx::query(
        "SELECT CAST(COALESCE(MAX(id), $2) AS BIGINT) AS through, \
           CAST(COALESCE(SUM(CASE WHEN debit_account_id = $1 THEN amount_fen ELSE 0 END), 0) \
             AS BIGINT) AS drawn, \
           CAST(COALESCE(SUM(CASE WHEN credit_account_id = $1 THEN amount_fen ELSE 0 END), 0) \
             AS BIGINT) AS paid \
         FROM transfers WHERE (debit_account_id = $1 OR credit_account_id = $1) AND id > $2",
    )
    .bind(line.account_id)
    .bind(after)
    .fetch_one(&mut *conn)
    .await?;
    let through: i64 = moved.try_get("through")?;
    let drawn: i64 = moved.try_get("drawn")?;
    let paid: i64 = moved.try_get("paid")?;
    let closing = accounts::balances(conn, line.account_id).await?.balance_fen;
    if opening - drawn + paid != closing {
        return Err(AppError::internal(
            "credit statement",
            format!(
                "receivable {}: opening {opening} − {drawn} + {paid} is not its balance {closing}",
                line.account_id
            ),
        ));
    }
    let due = (-closing).max(0);
    let t = line.terms;
    sqlx::query(
        "INSERT INTO credit_statements (customer_id, month, period_from, period_to, \
         opening_fen, sales_fen, payments_fen, closing_fen, due_fen, paid_fen, due_on, \
         overdue_from, after_transfer_id, through_transfer_id, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $13, $14)",
    )
    .bind(line.customer_id)
    .bind(terms::label(month))
    .bind(line.open_from)
    .bind(line.closes_at)
    .bind(opening)
    .bind(drawn)
    .bind(paid)
    .bind(closing)
    .bind(due)
    .bind(t.due_on(month).to_string())
    .bind(start_of(t.overdue_on(month), tz)?)
    .bind(after)
    .bind(through)
    .bind(line.closes_at)
    .execute(&mut *conn)
    .await?;
    let next = terms::next_month(month);
    let closes_at = start_of(t.closing_day(next), tz)?;
    sqlx::query(
        "UPDATE credit_lines SET open_month = $1, open_from = $2, closes_at = $3 \
         WHERE customer_id = $4",
    )
    .bind(terms::label(next))
    .bind(line.closes_at)
    .bind(closes_at)
    .bind(line.customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(Line {
        open_month: next,
        open_from: line.closes_at,
        closes_at,
        ..line.clone()
    })
}

/// An issued statement that is unpaid past its due date and grace.
#[derive(Debug, Clone)]
pub struct Overdue {
    pub month: String,
    pub due_on: String,
    pub outstanding: Money,
}

/// The oldest statement of the line unpaid past its due date and grace at
/// `now`, if any. The caller holds the line's lock, so no payment can
/// clear it meanwhile.
pub async fn overdue(conn: &mut Conn, line: &Line, now: i64) -> AppResult<Option<Overdue>> {
    let row = sqlx::query(
        "SELECT month, due_on, due_fen - paid_fen AS outstanding FROM credit_statements \
         WHERE customer_id = $1 AND paid_fen < due_fen AND overdue_from <= $2 \
         ORDER BY overdue_from LIMIT 1",
    )
    .bind(line.customer_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Overdue {
            month: r.try_get("month")?,
            due_on: r.try_get("due_on")?,
            outstanding: Money::from_fen(r.try_get("outstanding")?),
        })
    })
    .transpose()
}

/// The line a credit card's sale draws on: locked, its closed months
/// issued, refused with `credit_overdue` while a statement is unpaid past
/// its due date and grace. The limit itself is checked by the draw
/// ([`crate::ledger::draw_on_credit`]).
pub async fn for_sale(conn: &mut Conn, customer_id: i64, now: i64, tz: Tz) -> AppResult<Line> {
    let line = lock(conn, customer_id, now, tz).await?;
    if let Some(o) = overdue(conn, &line, now).await? {
        return Err(AppError::new(
            Code::CreditOverdue,
            format!(
                "the company's statement {} was due on {} and {} of it is unpaid past the grace \
                 days: its cards buy on credit again once it is paid",
                o.month, o.due_on, o.outstanding
            ),
        ));
    }
    Ok(line)
}

/// Sets a company's credit line, or changes its limit and terms. A new
/// line opens the company's receivable with the limit as its floor and its
/// first statement month; a change first issues the months closed under
/// the old terms, then moves the floor (never below what is owed) and
/// the open month's end to the new statement day. The caller has checked
/// that the customer is a company.
pub async fn set(
    conn: &mut Conn,
    customer_id: i64,
    limit: Money,
    terms: Terms,
    user_id: i64,
    now: i64,
    tz: Tz,
) -> AppResult<Line> {
    let today = time::local_date(now, tz);
    let lock = db::for_update(conn);
    let existing = match find_where(conn, customer_id, lock).await {
        Ok(line) => Some(catch_up(conn, line, now, tz).await?),
        Err(e) if e.code == Code::NoCreditLine => None,
        Err(e) => return Err(e),
    };
    let mut month = terms.month_of(today);
    match &existing {
        None => {
            let account = accounts::open_receivable(conn, customer_id, limit, now).await?;
            sqlx::query(
                "INSERT INTO credit_lines (customer_id, account_id, limit_fen, statement_day, \
                 days_to_pay, grace_days, open_month, open_from, closes_at, set_by, set_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8, $8)",
            )
            .bind(customer_id)
            .bind(account)
            .bind(limit.fen())
            .bind(i64::from(terms.statement_day))
            .bind(i64::from(terms.days_to_pay))
            .bind(i64::from(terms.grace_days))
            .bind(terms::label(month))
            .bind(now)
            .bind(start_of(terms.closing_day(month), tz)?)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        }
        Some(line) => {
            accounts::set_credit_limit(conn, line.account_id, limit).await?;
            // A month already issued is never opened again.
            month = month.max(line.open_month);
            sqlx::query(
                "UPDATE credit_lines SET limit_fen = $1, statement_day = $2, days_to_pay = $3, \
                 grace_days = $4, open_month = $5, closes_at = $6, set_by = $7, set_at = $8 \
                 WHERE customer_id = $9",
            )
            .bind(limit.fen())
            .bind(i64::from(terms.statement_day))
            .bind(i64::from(terms.days_to_pay))
            .bind(i64::from(terms.grace_days))
            .bind(terms::label(month))
            .bind(start_of(terms.closing_day(month), tz)?)
            .bind(user_id)
            .bind(now)
            .bind(customer_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    find(conn, customer_id).await
}

/// A credit line as the API shows it.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LineView {
    pub customer_id: i64,
    #[schema(value_type = String, example = "10000.00")]
    pub limit: Money,
    pub statement_day: u32,
    pub days_to_pay: u32,
    pub grace_days: u32,
    /// The receivable's balance: below zero by what the company owes.
    #[schema(value_type = String, example = "-2400.00")]
    pub balance: Money,
    /// What the company's cards may still buy on credit.
    #[schema(value_type = String, example = "7600.00")]
    pub available: Money,
    /// The statement month now open, and when it closes.
    pub open_month: String,
    pub closes_at: String,
    /// The oldest statement unpaid past its due date and grace: while
    /// there is one, the company's cards are refused (`credit_overdue`).
    pub overdue_month: Option<String>,
    pub set_at: String,
}

/// The line with its balances now, as `view` shows it.
pub async fn view(conn: &mut Conn, line: &Line, now: i64) -> AppResult<LineView> {
    let b = accounts::balances(conn, line.account_id).await?;
    let overdue = overdue(conn, line, now).await?;
    Ok(LineView {
        customer_id: line.customer_id,
        limit: line.limit,
        statement_day: line.terms.statement_day,
        days_to_pay: line.terms.days_to_pay,
        grace_days: line.terms.grace_days,
        balance: Money::from_fen(b.balance_fen),
        available: Money::from_fen(b.available_fen() + line.limit.fen()),
        open_month: terms::label(line.open_month),
        closes_at: time::format_us(line.closes_at),
        overdue_month: overdue.map(|o| o.month),
        set_at: time::format_us(line.set_at),
    })
}

//! A credit customer's monthly statement as the company reads it: its
//! sales by card and vehicle, its payments, its opening and closing
//! balance; the month still open as it stands; and the reminders of
//! statements due.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::Row;

use super::lines::Line;
use super::terms::{self, Standing};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::accounts;
use crate::money::{Litres, Money};
use crate::time;

/// Whether a statement is issued (frozen) or its month still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementState {
    /// The month is open: its figures so far, closing at the balance now.
    Open,
    /// Issued at the month's statement day; its figures never change.
    Issued,
}

/// One sale drawn on the line.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementSale {
    pub time: String,
    pub card_number: String,
    pub plate: Option<String>,
    pub product: String,
    pub station: String,
    #[schema(value_type = String, example = "25.00")]
    pub litres: Litres,
    /// What the sale charged to the line.
    #[schema(value_type = String, example = "200.00")]
    pub amount: Money,
}

/// The sales of one card and vehicle in the month.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CardTotal {
    pub card_number: String,
    pub plate: Option<String>,
    pub sales: i64,
    #[schema(value_type = String)]
    pub litres: Litres,
    #[schema(value_type = String)]
    pub amount: Money,
}

/// One payment into the line.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementPayment {
    pub time: String,
    #[schema(value_type = String, example = "5000.00")]
    pub amount: Money,
    pub method: String,
    pub reference: Option<String>,
}

/// What an issued statement asks the company to pay.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementDue {
    /// The debt at the statement's close.
    #[schema(value_type = String)]
    pub amount: Money,
    /// What payments booked since have covered of it.
    #[schema(value_type = String)]
    pub paid: Money,
    #[schema(value_type = String)]
    pub outstanding: Money,
    /// The last day to pay, local.
    pub due_on: String,
    /// From this moment the company's cards are refused while it is unpaid.
    pub refused_from: String,
    /// Where it stands now; absent once paid.
    pub standing: Option<Standing>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreditStatement {
    pub customer_id: i64,
    pub company: String,
    pub month: String,
    pub state: StatementState,
    pub period_from: String,
    /// When the month closes (or closed).
    pub period_to: String,
    #[schema(value_type = String, example = "0.00")]
    pub opening_balance: Money,
    #[schema(value_type = String, example = "2400.00")]
    pub sales_total: Money,
    #[schema(value_type = String, example = "0.00")]
    pub payments_total: Money,
    /// The receivable's balance at the close (for an open month: now).
    #[schema(value_type = String, example = "-2400.00")]
    pub closing_balance: Money,
    #[schema(value_type = String, example = "10000.00")]
    pub limit: Money,
    /// An issued statement's demand; absent while the month is open.
    pub due: Option<StatementDue>,
    pub by_card: Vec<CardTotal>,
    pub sales: Vec<StatementSale>,
    pub payments: Vec<StatementPayment>,
}

fn not_found(month: &str) -> AppError {
    AppError::new(
        Code::StatementNotFound,
        format!("no statement for {month}: the line was not open then, or the month is to come"),
    )
}

/// The statement of `month` (its first day) of a line whose closed months
/// have been issued.
pub async fn read(
    conn: &mut Conn,
    line: &Line,
    month: NaiveDate,
    now: i64,
    tz: Tz,
) -> AppResult<CreditStatement> {
    let label = terms::label(month);
    let company: String = sqlx::query("SELECT name FROM customers WHERE id = $1")
        .bind(line.customer_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("name")?;
    let issued = sqlx::query(
        "SELECT period_from, period_to, opening_fen, sales_fen, payments_fen, closing_fen, \
         due_fen, paid_fen, due_on, overdue_from, after_transfer_id, through_transfer_id \
         FROM credit_statements WHERE customer_id = $1 AND month = $2",
    )
    .bind(line.customer_id)
    .bind(&label)
    .fetch_optional(&mut *conn)
    .await?;
    let mut statement = match issued {
        Some(r) => {
            let (amount, paid) = (r.try_get::<i64, _>("due_fen")?, r.try_get("paid_fen")?);
            let due_on: String = r.try_get("due_on")?;
            let refused_from: i64 = r.try_get("overdue_from")?;
            let standing = (paid < amount)
                .then(|| {
                    NaiveDate::parse_from_str(&due_on, "%Y-%m-%d").map(|d| {
                        Standing::on(
                            time::local_date(now, tz),
                            d,
                            time::local_date(refused_from, tz),
                        )
                    })
                })
                .transpose()
                .map_err(|e| AppError::internal("statement due date", e))?;
            let mut s = CreditStatement {
                customer_id: line.customer_id,
                company,
                month: label,
                state: StatementState::Issued,
                period_from: time::format_us(r.try_get("period_from")?),
                period_to: time::format_us(r.try_get("period_to")?),
                opening_balance: Money::from_fen(r.try_get("opening_fen")?),
                sales_total: Money::from_fen(r.try_get("sales_fen")?),
                payments_total: Money::from_fen(r.try_get("payments_fen")?),
                closing_balance: Money::from_fen(r.try_get("closing_fen")?),
                limit: line.limit,
                due: Some(StatementDue {
                    amount: Money::from_fen(amount),
                    paid: Money::from_fen(paid),
                    outstanding: Money::from_fen(amount - paid),
                    due_on,
                    refused_from: time::format_us(refused_from),
                    standing,
                }),
                by_card: Vec::new(),
                sales: Vec::new(),
                payments: Vec::new(),
            };
            let range = (
                r.try_get::<i64, _>("after_transfer_id")?,
                r.try_get::<i64, _>("through_transfer_id")?,
            );
            lines_of(conn, line, range, &mut s).await?;
            s
        }
        None if month == line.open_month => {
            let last = sqlx::query(
                "SELECT closing_fen, through_transfer_id FROM credit_statements \
                 WHERE customer_id = $1 ORDER BY period_to DESC LIMIT 1",
            )
            .bind(line.customer_id)
            .fetch_optional(&mut *conn)
            .await?;
            let (opening, after) = match last {
                Some(r) => (r.try_get("closing_fen")?, r.try_get("through_transfer_id")?),
                None => (0, 0),
            };
            let balance = accounts::balances(conn, line.account_id).await?.balance_fen;
            let mut s = CreditStatement {
                customer_id: line.customer_id,
                company,
                month: label,
                state: StatementState::Open,
                period_from: time::format_us(line.open_from),
                period_to: time::format_us(line.closes_at),
                opening_balance: Money::from_fen(opening),
                sales_total: Money::ZERO,
                payments_total: Money::ZERO,
                closing_balance: Money::from_fen(balance),
                limit: line.limit,
                due: None,
                by_card: Vec::new(),
                sales: Vec::new(),
                payments: Vec::new(),
            };
            lines_of(conn, line, (after, i64::MAX), &mut s).await?;
            s.sales_total = total(s.sales.iter().map(|l| l.amount))?;
            s.payments_total = total(s.payments.iter().map(|p| p.amount))?;
            s
        }
        None => return Err(not_found(&label)),
    };
    statement.by_card = by_card(&statement.sales)?;
    Ok(statement)
}

fn total(mut amounts: impl Iterator<Item = Money>) -> AppResult<Money> {
    amounts
        .try_fold(Money::ZERO, Money::checked_add)
        .ok_or_else(|| AppError::internal("statement total", "overflow"))
}

/// The sales and payments of the receivable's transfers with ids in
/// `(after, through]`.
async fn lines_of(
    conn: &mut Conn,
    line: &Line,
    (after, through): (i64, i64),
    s: &mut CreditStatement,
) -> AppResult<()> {
    // A sale is found by its card and time (the index every card's sales
    // are read by), then its operation.
    let rows = sqlx::query(
        "SELECT t.amount_fen, t.created_at, c.number, sa.plate, p.code AS product, \
           st.code AS station, sa.litres_cl \
         FROM transfers t JOIN operations o ON o.id = t.operation_id \
         JOIN sales sa ON sa.card_id = o.card_id AND sa.created_at = o.created_at \
              AND sa.operation_id = o.id \
         JOIN cards c ON c.id = sa.card_id JOIN products p ON p.id = sa.product_id \
         JOIN stations st ON st.id = sa.station_id \
         WHERE t.debit_account_id = $1 AND t.id > $2 AND t.id <= $3 ORDER BY t.id",
    )
    .bind(line.account_id)
    .bind(after)
    .bind(through)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        s.sales.push(StatementSale {
            time: time::format_us(r.try_get("created_at")?),
            card_number: r.try_get("number")?,
            plate: r.try_get("plate")?,
            product: r.try_get("product")?,
            station: r.try_get("station")?,
            litres: Litres::from_cl(r.try_get("litres_cl")?),
            amount: Money::from_fen(r.try_get("amount_fen")?),
        });
    }
    let rows = sqlx::query(
        "SELECT t.amount_fen, t.created_at, cp.method, cp.reference \
         FROM transfers t JOIN credit_payments cp ON cp.operation_id = t.operation_id \
         WHERE t.credit_account_id = $1 AND t.id > $2 AND t.id <= $3 ORDER BY t.id",
    )
    .bind(line.account_id)
    .bind(after)
    .bind(through)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        s.payments.push(StatementPayment {
            time: time::format_us(r.try_get("created_at")?),
            amount: Money::from_fen(r.try_get("amount_fen")?),
            method: r.try_get("method")?,
            reference: r.try_get("reference")?,
        });
    }
    Ok(())
}

/// The month's sales summed by card and vehicle, in the order each first
/// bought.
fn by_card(sales: &[StatementSale]) -> AppResult<Vec<CardTotal>> {
    let mut out: Vec<CardTotal> = Vec::new();
    for s in sales {
        let i = match out
            .iter()
            .position(|t| t.card_number == s.card_number && t.plate == s.plate)
        {
            Some(i) => i,
            None => {
                out.push(CardTotal {
                    card_number: s.card_number.clone(),
                    plate: s.plate.clone(),
                    sales: 0,
                    litres: Litres::from_cl(0),
                    amount: Money::ZERO,
                });
                out.len() - 1
            }
        };
        let t = &mut out[i];
        t.sales += 1;
        t.litres = Litres::from_cl(t.litres.cl().saturating_add(s.litres.cl()));
        t.amount = t
            .amount
            .checked_add(s.amount)
            .ok_or_else(|| AppError::internal("statement total", "overflow"))?;
    }
    Ok(out)
}

/// The statement as CSV: the opening balance, each sale and payment, the
/// closing balance.
pub fn csv(s: &CreditStatement) -> AppResult<String> {
    let mut rows = vec![vec![
        "opening".to_string(),
        s.period_from.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        s.opening_balance.to_string(),
    ]];
    for l in &s.sales {
        rows.push(vec![
            "sale".into(),
            l.time.clone(),
            l.card_number.clone(),
            l.plate.clone().unwrap_or_default(),
            l.product.clone(),
            l.station.clone(),
            l.litres.to_string(),
            format!("-{}", l.amount),
        ]);
    }
    for p in &s.payments {
        rows.push(vec![
            "payment".into(),
            p.time.clone(),
            String::new(),
            String::new(),
            String::new(),
            p.method.clone(),
            String::new(),
            p.amount.to_string(),
        ]);
    }
    rows.push(vec![
        "closing".into(),
        s.period_to.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        s.closing_balance.to_string(),
    ]);
    crate::csv_io::table(
        &[
            "line",
            "time",
            "card",
            "plate",
            "product",
            "station_or_method",
            "litres",
            "amount",
        ],
        rows.into_iter(),
    )
}

/// A statement issued and not yet paid, for the card centre to chase.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    pub customer_id: i64,
    pub company: String,
    pub month: String,
    pub due_on: String,
    pub refused_from: String,
    pub standing: Standing,
    #[schema(value_type = String)]
    pub amount: Money,
    #[schema(value_type = String)]
    pub paid: Money,
    #[schema(value_type = String)]
    pub outstanding: Money,
}

/// The companies whose line has a month closed by `now` but not issued;
/// the caller issues them, each under its line's lock.
pub async fn lines_behind(conn: &mut Conn, now: i64) -> AppResult<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT customer_id FROM credit_lines WHERE closes_at <= $1 ORDER BY customer_id",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get("customer_id").map_err(AppError::from))
        .collect()
}

/// Every issued statement not yet paid, the longest overdue first.
pub async fn reminders(conn: &mut Conn, now: i64, tz: Tz) -> AppResult<Vec<Reminder>> {
    let rows = sqlx::query(
        "SELECT s.customer_id, cu.name, s.month, s.due_on, s.overdue_from, s.due_fen, s.paid_fen \
         FROM credit_statements s JOIN customers cu ON cu.id = s.customer_id \
         WHERE s.paid_fen < s.due_fen ORDER BY s.overdue_from, s.customer_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let today = time::local_date(now, tz);
    let mut out = Vec::new();
    for r in &rows {
        let due_on: String = r.try_get("due_on")?;
        let refused_from: i64 = r.try_get("overdue_from")?;
        let day = NaiveDate::parse_from_str(&due_on, "%Y-%m-%d")
            .map_err(|e| AppError::internal("statement due date", e))?;
        let (amount, paid): (i64, i64) = (r.try_get("due_fen")?, r.try_get("paid_fen")?);
        out.push(Reminder {
            customer_id: r.try_get("customer_id")?,
            company: r.try_get("name")?,
            month: r.try_get("month")?,
            standing: Standing::on(today, day, time::local_date(refused_from, tz)),
            due_on,
            refused_from: time::format_us(refused_from),
            amount: Money::from_fen(amount),
            paid: Money::from_fen(paid),
            outstanding: Money::from_fen(amount - paid),
        });
    }
    Ok(out)
}

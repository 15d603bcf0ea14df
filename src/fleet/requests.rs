//! What a fleet manager decides between two allocation runs: an early
//! top-up for a vehicle running low, lending a vehicle's card for a long
//! trip (借用登记), and a cash refuel made by exception. Every decision is a
//! conditional update on the request's state, so it happens once.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::vehicles;
use crate::auth::Actor;
use crate::cards;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, Operation};
use crate::lifecycle::{self, LoanStatus, Status as _, TopUpStatus};
use crate::money::{Litres, Money};
use crate::text::required;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopUp {
    pub id: i64,
    pub plate: String,
    #[schema(value_type = String)]
    pub amount: Money,
    pub reason: String,
    pub status: TopUpStatus,
}

async fn topup(conn: &mut Conn, company_id: i64, id: i64) -> AppResult<TopUp> {
    let r = sqlx::query(
        "SELECT t.id, v.plate, t.amount_fen, t.reason, t.status FROM topup_requests t JOIN vehicles v ON v.id = t.vehicle_id \
         WHERE t.id = $1 AND t.company_id = $2",
    )
    .bind(id)
    .bind(company_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::NotFound, format!("no top-up request {id}")))?;
    Ok(TopUp {
        id: r.try_get("id")?,
        plate: r.try_get("plate")?,
        amount: Money::from_fen(r.try_get("amount_fen")?),
        reason: r.try_get("reason")?,
        status: TopUpStatus::stored(&r.try_get::<String, _>("status")?)?,
    })
}

/// The company's top-up requests, newest first.
pub async fn topups(conn: &mut Conn, company_id: i64) -> AppResult<Vec<TopUp>> {
    let rows = sqlx::query(
        "SELECT t.id, v.plate, t.amount_fen, t.reason, t.status FROM topup_requests t JOIN vehicles v ON v.id = t.vehicle_id \
         WHERE t.company_id = $1 ORDER BY t.id DESC",
    )
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TopUp {
                id: r.try_get("id")?,
                plate: r.try_get("plate")?,
                amount: Money::from_fen(r.try_get("amount_fen")?),
                reason: r.try_get("reason")?,
                status: TopUpStatus::stored(&r.try_get::<String, _>("status")?)?,
            })
        })
        .collect()
}

pub async fn request_topup(
    conn: &mut Conn,
    actor: &Actor,
    company_id: i64,
    plate: &str,
    amount: Money,
    reason: &str,
    now: i64,
) -> AppResult<TopUp> {
    let v = vehicles::by_plate(conn, company_id, plate).await?;
    let row = sqlx::query(
        "INSERT INTO topup_requests (company_id, vehicle_id, amount_fen, reason, status, requested_by, created_at) \
         VALUES ($1, $2, $3, $4, 'requested', $5, $6) RETURNING id",
    )
    .bind(company_id)
    .bind(v.id)
    .bind(amount.fen())
    .bind(required("reason", reason, 200)?)
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    topup(conn, company_id, row.try_get("id")?).await
}

/// Approves (funds) or rejects a top-up, once. Approval moves the amount
/// from the vehicle's main card to its card and raises this month's
/// allocation by as much, so the monthly limit lets it be spent.
pub async fn decide_topup(
    conn: &mut Conn,
    actor: &Actor,
    company_id: i64,
    id: i64,
    approve: bool,
    tz: Tz,
    now: i64,
) -> AppResult<TopUp> {
    let to = if approve {
        TopUpStatus::Approved
    } else {
        TopUpStatus::Rejected
    };
    let done = sqlx::query(
        "UPDATE topup_requests SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND company_id = $5 \
         AND status = 'requested' RETURNING vehicle_id, amount_fen",
    )
    .bind(to.as_str())
    .bind(actor.user_id)
    .bind(now)
    .bind(id)
    .bind(company_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = done else {
        let current = topup(conn, company_id, id).await?;
        return Err(lifecycle::illegal(id, current.status, to));
    };
    if approve {
        let vehicle = vehicles::get(conn, row.try_get("vehicle_id")?).await?;
        let amount = Money::from_fen(row.try_get("amount_fen")?);
        let number = vehicle.card_number.as_deref().ok_or_else(|| {
            AppError::new(
                Code::InvalidTransfer,
                format!("vehicle {} has no fleet card", vehicle.plate),
            )
        })?;
        let card = cards::find(conn, &cards::parse_number(number)?).await?;
        let main_id = card.parent_card_id.ok_or_else(|| {
            AppError::new(Code::InvalidTransfer, "the fleet card has no main card")
        })?;
        // Both cards locked, the main card (the lower id) first.
        let main = cards::find_by_id_for_update(conn, main_id).await?;
        let card = cards::find_by_id_for_update(conn, card.id).await?;
        let op = ledger::record_operation(
            conn,
            Operation {
                at: now,
                kind: "early_topup",
                card_id: Some(card.id),
                station_id: None,
                shift_id: None,
                user_id: Some(actor.user_id),
                detail: serde_json::json!({ "request": id, "plate": vehicle.plate }),
            },
        )
        .await?;
        ledger::spend(conn, op, main.account_id, card.account_id, amount).await?;
        sqlx::query("UPDATE topup_requests SET operation_id = $1 WHERE id = $2")
            .bind(op.id)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let (_, month, _) = super::local_periods(now, tz);
        sqlx::query("UPDATE vehicle_allocations SET amount_fen = amount_fen + $1 WHERE vehicle_id = $2 AND month = $3")
            .bind(amount.fen())
            .bind(vehicle.id)
            .bind(&month)
            .execute(&mut *conn)
            .await?;
    }
    topup(conn, company_id, id).await
}

/// A loan's request as the API takes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanRequest {
    pub plate: String,
    pub driver: String,
    pub purpose: String,
    pub route: String,
    /// YYYY-MM-DD
    pub starts_on: String,
    /// YYYY-MM-DD
    pub ends_on: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoanRefuel {
    pub sale_id: i64,
    #[schema(value_type = String)]
    pub litres: Litres,
    #[schema(value_type = String)]
    pub charged: Money,
    pub station: String,
    pub time: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Loan {
    pub id: i64,
    pub plate: String,
    pub driver: String,
    pub purpose: String,
    pub route: String,
    pub starts_on: String,
    pub ends_on: String,
    pub status: LoanStatus,
    /// Refuels made while the card was handed out, tagged to this trip.
    pub refuels: Vec<LoanRefuel>,
}

pub async fn loan(conn: &mut Conn, company_id: i64, id: i64) -> AppResult<Loan> {
    let r = sqlx::query(
        "SELECT l.id, v.plate, l.driver, l.purpose, l.route, l.starts_on, l.ends_on, l.status FROM card_loans l \
         JOIN vehicles v ON v.id = l.vehicle_id WHERE l.id = $1 AND l.company_id = $2",
    )
    .bind(id)
    .bind(company_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::NotFound, format!("no card loan {id}")))?;
    let rows = sqlx::query(
        "SELECT s.id, s.litres_cl, s.charged_fen, st.code, s.created_at FROM sales s JOIN stations st ON st.id = s.station_id \
         WHERE s.loan_id = $1 ORDER BY s.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let refuels = rows
        .iter()
        .map(|s| {
            Ok(LoanRefuel {
                sale_id: s.try_get("id")?,
                litres: Litres::from_cl(s.try_get("litres_cl")?),
                charged: Money::from_fen(s.try_get("charged_fen")?),
                station: s.try_get("code")?,
                time: crate::time::format_us(s.try_get("created_at")?),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Loan {
        id: r.try_get("id")?,
        plate: r.try_get("plate")?,
        driver: r.try_get("driver")?,
        purpose: r.try_get("purpose")?,
        route: r.try_get("route")?,
        starts_on: r.try_get("starts_on")?,
        ends_on: r.try_get("ends_on")?,
        status: LoanStatus::stored(&r.try_get::<String, _>("status")?)?,
        refuels,
    })
}

/// The company's card loans, newest first, each with its trip's refuels.
pub async fn loans(conn: &mut Conn, company_id: i64) -> AppResult<Vec<Loan>> {
    let ids = sqlx::query("SELECT id FROM card_loans WHERE company_id = $1 ORDER BY id DESC")
        .bind(company_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for r in &ids {
        out.push(loan(conn, company_id, r.try_get("id")?).await?);
    }
    Ok(out)
}

pub async fn request_loan(
    conn: &mut Conn,
    actor: &Actor,
    company_id: i64,
    req: &LoanRequest,
    now: i64,
) -> AppResult<Loan> {
    let day = |field: &str, t: &str| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| AppError::invalid(field, format!("{field}: YYYY-MM-DD")))
    };
    let (starts, ends) = (
        day("starts_on", &req.starts_on)?,
        day("ends_on", &req.ends_on)?,
    );
    if ends < starts {
        return Err(AppError::invalid("ends_on", "ends_on is before starts_on"));
    }
    let v = vehicles::by_plate(conn, company_id, &req.plate).await?;
    let row = sqlx::query(
        "INSERT INTO card_loans (company_id, vehicle_id, driver, purpose, route, starts_on, ends_on, status, requested_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, $9) RETURNING id",
    )
    .bind(company_id)
    .bind(v.id)
    .bind(required("driver", &req.driver, 50)?)
    .bind(required("purpose", &req.purpose, 200)?)
    .bind(required("route", &req.route, 200)?)
    .bind(starts.to_string())
    .bind(ends.to_string())
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    loan(conn, company_id, row.try_get("id")?).await
}

/// A step of a loan's life.
#[derive(Debug, Clone, Copy)]
pub enum LoanStep {
    Approve,
    Reject,
    HandOut,
    Return,
}

/// Moves a loan one step, once: requested → approved or rejected;
/// approved → handed out (one loan out per vehicle at a time); handed out
/// → returned.
pub async fn loan_step(
    conn: &mut Conn,
    actor: &Actor,
    company_id: i64,
    id: i64,
    step: LoanStep,
    now: i64,
) -> AppResult<Loan> {
    let to = match step {
        LoanStep::Approve => LoanStatus::Approved,
        LoanStep::Reject => LoanStatus::Rejected,
        LoanStep::HandOut => LoanStatus::HandedOut,
        LoanStep::Return => LoanStatus::Returned,
    };
    let current = loan(conn, company_id, id).await?.status;
    lifecycle::ensure_move(id, current, to)?;
    let q = match step {
        LoanStep::Approve | LoanStep::Reject => sqlx::query(
            "UPDATE card_loans SET status = $1, approved_by = $2 WHERE id = $3 AND company_id = $4 AND status = $5",
        )
        .bind(to.as_str())
        .bind(actor.user_id),
        LoanStep::HandOut => sqlx::query(
            "UPDATE card_loans SET status = $1, handed_out_at = $2 WHERE id = $3 AND company_id = $4 AND status = $5 \
             AND NOT EXISTS (SELECT 1 FROM card_loans o WHERE o.vehicle_id = card_loans.vehicle_id AND o.status = 'handed_out')",
        )
        .bind(to.as_str())
        .bind(now),
        LoanStep::Return => sqlx::query(
            "UPDATE card_loans SET status = $1, returned_at = $2 WHERE id = $3 AND company_id = $4 AND status = $5",
        )
        .bind(to.as_str())
        .bind(now),
    };
    let lent_out = || {
        AppError::new(
            Code::CardLentOut,
            format!("the card of loan {id}'s vehicle is already lent out on another loan"),
        )
    };
    // The check in the statement sees what is committed; a hand-out racing
    // it on another server is caught by the unique index on lent cards.
    let done = q
        .bind(id)
        .bind(company_id)
        .bind(current.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                lent_out()
            } else {
                e.into()
            }
        })?;
    if done.rows_affected() != 1 {
        let now_is = loan(conn, company_id, id).await?.status;
        if now_is != current {
            return Err(lifecycle::illegal(id, now_is, to));
        }
        return Err(lent_out());
    }
    loan(conn, company_id, id).await
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashRefuelRequest {
    pub plate: String,
    pub product: String,
    pub litres: String,
    pub amount: String,
    pub reason: String,
    pub station: Option<String>,
    /// RFC 3339; default now.
    pub refuelled_at: Option<String>,
}

/// Records a cash refuel made by exception, with its approver (the manager
/// recording it). It shows in the month's review.
pub async fn record_cash(
    conn: &mut Conn,
    actor: &Actor,
    company_id: i64,
    r: &CashRefuelRequest,
    now: i64,
) -> AppResult<i64> {
    let litres = Litres::parse_positive(&r.litres)
        .map_err(|e| AppError::new(Code::InvalidLitres, format!("litres: {e}")))?;
    let amount = Money::parse_positive(&r.amount)
        .map_err(|e| AppError::new(Code::InvalidAmount, format!("amount: {e}")))?;
    let at = match &r.refuelled_at {
        Some(t) => crate::time::parse_rfc3339(t)
            .ok_or_else(|| AppError::new(Code::ValidationFailed, "refuelled_at: RFC 3339"))?,
        None => now,
    };
    let v = vehicles::by_plate(conn, company_id, &r.plate).await?;
    let product = cards::products::find(conn, &r.product).await?;
    let row = sqlx::query(
        "INSERT INTO cash_refuels (company_id, vehicle_id, product_id, litres_cl, amount_fen, reason, approved_by, station, \
         refuelled_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(company_id)
    .bind(v.id)
    .bind(product.id)
    .bind(litres.cl())
    .bind(amount.fen())
    .bind(required("reason", &r.reason, 200)?)
    .bind(actor.user_id)
    .bind(r.station.as_deref())
    .bind(at)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

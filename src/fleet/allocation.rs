//! The monthly allocation run: draft next month's plan from the policy,
//! let the fleet manager edit lines, approve it once. Approval moves the
//! money from the company's main card to every vehicle card in one
//! transaction — all or nothing — and a second approval funds nothing.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::policy::{self, Policy, Unspent, VehicleFacts};
use super::{usage, vehicles};
use crate::auth::Actor;
use crate::cards;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, Operation};
use crate::lifecycle::{PlanStatus, Status as _};
use crate::money::Money;

/// Parses `YYYY-MM` into the first day of that month.
pub fn parse_month(text: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 7)
        .ok_or_else(|| AppError::new(Code::ValidationFailed, format!("month {text:?}: YYYY-MM")))
}

fn previous_month(start: NaiveDate) -> String {
    let (y, m) = if start.month() == 1 {
        (start.year() - 1, 12)
    } else {
        (start.year(), start.month() - 1)
    };
    format!("{y:04}-{m:02}")
}

pub async fn save_policy(
    conn: &mut Conn,
    company_id: i64,
    policy: &Policy,
    user_id: i64,
    now: i64,
) -> AppResult<()> {
    policy.validate()?;
    let text =
        serde_json::to_string(policy).map_err(|e| AppError::internal("encoding a policy", e))?;
    sqlx::query(
        "INSERT INTO allocation_policies (company_id, policy, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (company_id) DO UPDATE SET policy = excluded.policy, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(company_id)
    .bind(text)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn load_policy(conn: &mut Conn, company_id: i64) -> AppResult<Policy> {
    let row = sqlx::query("SELECT policy FROM allocation_policies WHERE company_id = $1")
        .bind(company_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            AppError::new(Code::NotFound, "this company has no allocation policy yet")
        })?;
    let text: String = row.try_get("policy")?;
    serde_json::from_str(&text).map_err(|e| AppError::internal("stored policy", e))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanLine {
    pub plate: String,
    pub card_number: Option<String>,
    #[schema(value_type = String)]
    pub base: Money,
    #[schema(value_type = String)]
    pub adjustment: Money,
    #[schema(value_type = String)]
    pub amount: Money,
    pub reason: String,
    pub edited: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    pub company_id: i64,
    pub month: String,
    pub status: PlanStatus,
    #[schema(value_type = String)]
    pub total: Money,
    pub lines: Vec<PlanLine>,
}

async fn plan_id(
    conn: &mut Conn,
    company_id: i64,
    month: &str,
) -> AppResult<Option<(i64, PlanStatus)>> {
    plan_row(conn, company_id, month, "").await
}

/// The plan's id and status with its row locked until the transaction
/// ends: an edit decided on a draft then cannot land after the approval
/// that funded the plan read its lines (the approval's update of the same
/// row waits for the edit, or the edit for the approval).
async fn plan_for_update(
    conn: &mut Conn,
    company_id: i64,
    month: &str,
) -> AppResult<Option<(i64, PlanStatus)>> {
    let lock = crate::db::for_update(conn);
    plan_row(conn, company_id, month, lock).await
}

async fn plan_row(
    conn: &mut Conn,
    company_id: i64,
    month: &str,
    lock: &str,
) -> AppResult<Option<(i64, PlanStatus)>> {
    let row = sqlx::query(&format!(
        "SELECT id, status FROM allocation_plans WHERE company_id = $1 AND month = $2{lock}"
    ))
    .bind(company_id)
    .bind(month)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let status: String = r.try_get("status")?;
        Ok((r.try_get("id")?, PlanStatus::stored(&status)?))
    })
    .transpose()
}

/// Drafts the plan for a month from the policy and last month's use. A plan
/// that already exists is returned as it is: drafting twice changes nothing.
pub async fn draft(conn: &mut Conn, company_id: i64, month: &str, now: i64) -> AppResult<Plan> {
    let start = parse_month(month)?;
    if plan_id(conn, company_id, month).await?.is_some() {
        return get(conn, company_id, month).await;
    }
    let policy = load_policy(conn, company_id).await?;
    let previous = previous_month(start);
    let row = sqlx::query("INSERT INTO allocation_plans (company_id, month, status, created_at) VALUES ($1, $2, 'draft', $3) RETURNING id")
        .bind(company_id)
        .bind(month)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    let id: i64 = row.try_get("id")?;
    for v in vehicles::list(conn, company_id)
        .await?
        .into_iter()
        .filter(|v| v.active)
    {
        let last = sqlx::query(
            "SELECT amount_fen FROM vehicle_allocations WHERE vehicle_id = $1 AND month = $2",
        )
        .bind(v.id)
        .bind(&previous)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<i64, _>("amount_fen"))
        .transpose()?;
        let used = sqlx::query(
            "SELECT amount_fen FROM vehicle_usage WHERE vehicle_id = $1 AND period = $2",
        )
        .bind(v.id)
        .bind(&previous)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<i64, _>("amount_fen"))
        .transpose()?
        .unwrap_or(0);
        let line = policy::plan_line(
            &policy,
            &VehicleFacts {
                plate: &v.plate,
                vehicle_type: &v.vehicle_type,
                displacement: v.displacement,
                has_card: v.card_number.is_some(),
                last_allocation: last.map(Money::from_fen),
                last_used: Money::from_fen(used),
            },
            start,
        );
        sqlx::query(
            "INSERT INTO allocation_lines (plan_id, vehicle_id, base_fen, adjustment_fen, amount_fen, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(v.id)
        .bind(line.base.fen())
        .bind(line.adjustment.fen())
        .bind(line.amount.fen())
        .bind(&line.reason)
        .execute(&mut *conn)
        .await?;
    }
    get(conn, company_id, month).await
}

pub async fn get(conn: &mut Conn, company_id: i64, month: &str) -> AppResult<Plan> {
    let (id, status) = plan_id(conn, company_id, month)
        .await?
        .ok_or_else(|| AppError::new(Code::NotFound, format!("no allocation plan for {month}")))?;
    let rows = sqlx::query(
        "SELECT v.plate, c.number, l.base_fen, l.adjustment_fen, l.amount_fen, l.reason, l.edited \
         FROM allocation_lines l JOIN vehicles v ON v.id = l.vehicle_id LEFT JOIN cards c ON c.id = v.card_id \
         WHERE l.plan_id = $1 ORDER BY v.plate",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    let mut total = 0i64;
    for r in rows {
        let amount: i64 = r.try_get("amount_fen")?;
        total += amount;
        lines.push(PlanLine {
            plate: r.try_get("plate")?,
            card_number: r.try_get("number")?,
            base: Money::from_fen(r.try_get("base_fen")?),
            adjustment: Money::from_fen(r.try_get("adjustment_fen")?),
            amount: Money::from_fen(amount),
            reason: r.try_get("reason")?,
            edited: r.try_get::<i64, _>("edited")? != 0,
        });
    }
    Ok(Plan {
        company_id,
        month: month.to_string(),
        status,
        total: Money::from_fen(total),
        lines,
    })
}

/// The fleet manager changes one line of a draft.
pub async fn edit_line(
    conn: &mut Conn,
    company_id: i64,
    month: &str,
    plate: &str,
    amount: Money,
    reason: &str,
) -> AppResult<Plan> {
    let (id, status) = plan_for_update(conn, company_id, month)
        .await?
        .ok_or_else(|| AppError::new(Code::NotFound, format!("no allocation plan for {month}")))?;
    if status != PlanStatus::Draft {
        return Err(AppError::new(
            Code::AllocationApproved,
            format!("the plan for {month} is already approved"),
        ));
    }
    if reason.trim().is_empty() || reason.chars().count() > 200 {
        return Err(AppError::invalid("reason", "reason: 1–200 characters"));
    }
    let v = vehicles::by_plate(conn, company_id, plate).await?;
    let done = sqlx::query(
        "UPDATE allocation_lines SET amount_fen = $1, adjustment_fen = $1 - base_fen, reason = $2, edited = 1 \
         WHERE plan_id = $3 AND vehicle_id = $4",
    )
    .bind(amount.fen())
    .bind(reason.trim())
    .bind(id)
    .bind(v.id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::new(
            Code::VehicleNotFound,
            format!("{plate} is not in the plan"),
        ));
    }
    get(conn, company_id, month).await
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approved {
    pub month: String,
    #[schema(value_type = String)]
    pub funded: Money,
    #[schema(value_type = String)]
    pub swept_back: Money,
    pub vehicles: usize,
    pub plan: Plan,
}

/// Approves a draft once and funds it. Refused, with nothing changed, when
/// the main cards cannot cover the plan (the shortfall is stated) or when
/// the plan was already approved.
pub async fn approve(
    conn: &mut Conn,
    actor: &Actor,
    company_id: i64,
    month: &str,
    now: i64,
) -> AppResult<Approved> {
    let policy = load_policy(conn, company_id).await?;
    let (id, _) = plan_id(conn, company_id, month)
        .await?
        .ok_or_else(|| AppError::new(Code::NotFound, format!("no allocation plan for {month}")))?;
    let done = sqlx::query("UPDATE allocation_plans SET status = 'approved', approved_by = $1, approved_at = $2 WHERE id = $3 AND status = 'draft'")
        .bind(actor.user_id)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::new(
            Code::AllocationApproved,
            format!("the plan for {month} is already approved and funded"),
        ));
    }
    let rows = sqlx::query(
        "SELECT l.vehicle_id, l.amount_fen, v.card_id FROM allocation_lines l JOIN vehicles v ON v.id = l.vehicle_id \
         WHERE l.plan_id = $1 ORDER BY v.plate",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    // Gather each vehicle card with its main card, and what each main card
    // must pay and gets back.
    let mut items = Vec::new();
    let mut per_main: std::collections::BTreeMap<i64, (cards::Card, i64)> = Default::default();
    for r in rows {
        let amount: i64 = r.try_get("amount_fen")?;
        let Some(card_id) = r.try_get::<Option<i64>, _>("card_id")? else {
            continue;
        };
        let card = cards::find_by_id(conn, card_id).await?;
        let Some(main_id) = card.parent_card_id else {
            continue;
        };
        if let std::collections::btree_map::Entry::Vacant(slot) = per_main.entry(main_id) {
            slot.insert((cards::find_by_id(conn, main_id).await?, 0));
        }
        let mut net = amount;
        if policy.unspent == Unspent::SweepBack {
            let b = ledger::accounts::balances(conn, card.account_id).await?;
            net -= b.available_fen();
        }
        if let Some(entry) = per_main.get_mut(&main_id) {
            entry.1 += net;
        }
        items.push((r.try_get::<i64, _>("vehicle_id")?, card, main_id, amount));
    }
    let mut shortfall = 0i64;
    for (main, need) in per_main.values() {
        let b = ledger::accounts::balances(conn, main.account_id).await?;
        shortfall += (need - b.available_fen()).max(0);
    }
    if shortfall > 0 {
        return Err(AppError::new(
            Code::AllocationShortfall,
            format!(
                "the main card cannot cover the plan: {} short",
                Money::from_fen(shortfall)
            ),
        )
        .with("shortfall", Money::from_fen(shortfall).to_string()));
    }
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "allocation",
            card_id: None,
            station_id: None,
            shift_id: None,
            user_id: Some(actor.user_id),
            detail: serde_json::json!({ "company": company_id, "month": month }),
        },
    )
    .await?;
    let (mut funded, mut swept) = (0i64, 0i64);
    for (vehicle_id, card, main_id, amount) in &items {
        let Some((main, _)) = per_main.get(main_id) else {
            continue;
        };
        if policy.unspent == Unspent::SweepBack {
            let b = ledger::accounts::balances(conn, card.account_id).await?;
            if b.available_fen() > 0 {
                ledger::spend(
                    conn,
                    op,
                    card.account_id,
                    main.account_id,
                    Money::from_fen(b.available_fen()),
                )
                .await?;
                swept += b.available_fen();
            }
        }
        if *amount > 0 {
            ledger::spend(
                conn,
                op,
                main.account_id,
                card.account_id,
                Money::from_fen(*amount),
            )
            .await?;
            funded += amount;
        }
        usage::set_allocation(conn, *vehicle_id, month, Money::from_fen(*amount), now).await?;
    }
    sqlx::query("UPDATE allocation_plans SET operation_id = $1 WHERE id = $2")
        .bind(op.id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    actor.audit(conn, now, "allocation_approve", month, serde_json::json!({
        "company": company_id, "funded": Money::from_fen(funded), "swept_back": Money::from_fen(swept),
    }))
    .await?;
    Ok(Approved {
        month: month.to_string(),
        funded: Money::from_fen(funded),
        swept_back: Money::from_fen(swept),
        vehicles: items.len(),
        plan: get(conn, company_id, month).await?,
    })
}

/// The month after the one `day` falls in, as `YYYY-MM`.
pub fn month_after(day: NaiveDate) -> String {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    format!("{y:04}-{m:02}")
}

/// Drafts next month's plan for every company whose allocation day is
/// today in zone `tz` at the instant `now`. Drafting is idempotent, so
/// running this every hour of that day drafts each plan once. Returns the
/// companies drafted for.
pub async fn draft_due(conn: &mut Conn, now: i64, tz: chrono_tz::Tz) -> AppResult<Vec<i64>> {
    let today = crate::time::local_date(now, tz);
    let rows =
        sqlx::query("SELECT company_id, policy FROM allocation_policies ORDER BY company_id")
            .fetch_all(&mut *conn)
            .await?;
    let mut drafted = Vec::new();
    for r in rows {
        let company: i64 = r.try_get("company_id")?;
        let text: String = r.try_get("policy")?;
        let Ok(policy) = serde_json::from_str::<Policy>(&text) else {
            continue;
        };
        if policy.allocation_day == today.day() {
            draft(conn, company, &month_after(today), now).await?;
            drafted.push(company);
        }
    }
    Ok(drafted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_the_year() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(month_after(d(2026, 12, 25)), "2027-01");
        assert_eq!(month_after(d(2026, 11, 25)), "2026-12");
        assert_eq!(previous_month(d(2027, 1, 1)), "2026-12");
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("2026-1").is_err());
        assert_eq!(parse_month("2026-02").unwrap(), d(2026, 2, 1));
    }
}

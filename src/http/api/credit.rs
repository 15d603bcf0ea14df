//! Credit customers (挂账): a company's credit line, its monthly
//! statements (JSON and CSV), its payments, and the reminders of what is
//! due.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, MoneyRequest};
use super::{ApiPath, IdempotencyKey, amount, amount_or_zero};
use crate::actions::credit::{self as act, LineOrder, PaymentOrder};
use crate::actions::{App, Done};
use crate::auth::Actor;
use crate::cards::recharge::PaymentMethod;
use crate::credit::lines::LineView;
use crate::credit::payments::Paid;
use crate::credit::statements::{self, CreditStatement, Reminder};
use crate::credit::terms::Terms;
use crate::error::AppResult;
use crate::http::openapi::{AmountOrZeroText, AmountText, MonthText};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLineBody {
    /// The most the company may owe; zero stops its credit sales.
    #[schema(value_type = AmountOrZeroText)]
    pub limit: String,
    /// The day of the month each statement closes at the start of, 1–28.
    #[schema(minimum = 1, maximum = 28, example = 25)]
    pub statement_day: i64,
    /// Days after the statement day to pay it by.
    #[schema(minimum = 0, maximum = 90, example = 10)]
    pub days_to_pay: i64,
    /// Days past the due date before the company's cards are refused.
    #[schema(minimum = 0, maximum = 90, example = 5)]
    pub grace_days: i64,
}

/// Gives a company a credit line, or changes its limit and terms (head
/// office). A limit below what the company owes is refused.
#[utoipa::path(put, path = "/api/v1/customers/{id}/credit-line", request_body = CreditLineBody,
    params(("id" = i64, Path, description = "The company (its customer id)")),
    responses((status = 200, description = "The line as set", body = LineView)))]
pub async fn put_credit_line(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CreditLineBody>,
) -> AppResult<Json<LineView>> {
    let order = LineOrder {
        limit: amount_or_zero("limit", &body.limit)?,
        terms: Terms::new(body.statement_day, body.days_to_pay, body.grace_days)?,
    };
    Ok(Json(act::set_line(&state, &actor, id, order).await?))
}

/// A company's credit line: its balance, what is left, and whether its
/// cards are refused for an overdue statement.
#[utoipa::path(get, path = "/api/v1/customers/{id}/credit-line",
    params(("id" = i64, Path, description = "The company (its customer id)")),
    responses((status = 200, description = "The line", body = LineView)))]
pub async fn get_credit_line(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<LineView>> {
    Ok(Json(act::line(&state, &actor, id).await?))
}

/// A company's statement of a month: sales by card and vehicle, payments,
/// opening and closing balance; issued (frozen) or the month now open.
/// The same path ending in `.csv` answers it as CSV.
#[utoipa::path(get, path = "/api/v1/customers/{id}/statements/{month}",
    params(("id" = i64, Path, description = "The company (its customer id)"),
           ("month" = MonthText, Path, description = "The statement month")),
    responses((status = 200, description = "The statement", body = CreditStatement)))]
pub async fn credit_statement(
    State(state): State<App>,
    actor: Actor,
    ApiPath((id, month)): ApiPath<(i64, String)>,
) -> AppResult<Response> {
    // One route serves both forms: the router matches a whole segment, so
    // `2026-11.csv` arrives here as the month.
    if let Some(month) = month.strip_suffix(".csv") {
        return credit_statement_csv(&state, &actor, id, month).await;
    }
    Ok(Json(act::statement(&state, &actor, id, &month).await?).into_response())
}

/// A company's statement of a month as CSV: the opening balance, each sale
/// and payment, the closing balance.
#[utoipa::path(get, path = "/api/v1/customers/{id}/statements/{month}.csv",
    params(("id" = i64, Path, description = "The company (its customer id)"),
           ("month" = MonthText, Path, description = "The statement month")),
    responses((status = 200, description = "line, time, card, plate, product, station_or_method, litres, amount", content_type = "text/csv", body = String)))]
pub async fn credit_statement_csv(
    state: &App,
    actor: &Actor,
    id: i64,
    month: &str,
) -> AppResult<Response> {
    let s = act::statement(state, actor, id, month).await?;
    let text = statements::csv(&s)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"statement-{id}-{}.csv\"", s.month),
            ),
        ],
        text,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    #[schema(value_type = AmountText)]
    pub amount: String,
    pub method: PaymentMethod,
    /// The bank's or the receipt's reference.
    #[schema(min_length = 1, max_length = 64, example = "BOC-20261205-0042")]
    pub reference: Option<String>,
}

/// Books a company's payment into its credit line (head office). Needs an
/// Idempotency-Key. It counts towards every statement still unpaid; once
/// the overdue one is paid, the company's cards buy again.
#[utoipa::path(post, path = "/api/v1/customers/{id}/payments", request_body = PaymentBody,
    params(("id" = i64, Path, description = "The company (its customer id)"), IdempotencyKey),
    responses((status = 201, description = "The payment, booked (or the first answer to this key, replayed)", body = Paid)))]
pub async fn book_payment(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    req: MoneyRequest<PaymentBody>,
) -> AppResult<Done<Paid>> {
    let body = req.body;
    let order = PaymentOrder {
        amount: amount("amount", &body.amount)?,
        method: body.method,
        reference: body.reference,
    };
    act::pay(&state, &actor, &req.key, id, order).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReminderList {
    pub items: Vec<Reminder>,
}

/// The statements issued and not yet paid across the network, the longest
/// overdue first (催款).
#[utoipa::path(get, path = "/api/v1/credit/reminders",
    responses((status = 200, description = "The statements to chase", body = ReminderList)))]
pub async fn credit_reminders(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<ReminderList>> {
    Ok(Json(ReminderList {
        items: act::reminders(&state, &actor).await?,
    }))
}

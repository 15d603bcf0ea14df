//! Holds, the ledger check and cashier shifts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::super::extract::{ApiJson, MoneyRequest};
use super::{ApiPath, ApiQuery, EmptyBody, IdempotencyKey, amount, amount_or_zero};
use crate::actions::{self, App, Done, reads};
use crate::auth::Actor;
use crate::cards;
use crate::error::{AppError, AppResult, Code};
use crate::http::openapi::{AmountOrZeroText, AmountText, CardNumberText, PinText};
use crate::ledger::{check, holds};
use crate::stations::shifts;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    #[schema(value_type = CardNumberText)]
    pub card_number: String,
    #[schema(value_type = AmountText)]
    pub amount: String,
    /// The station code (default: the user's own).
    pub station: Option<String>,
    /// Minutes until the hold releases itself (default from settings, at most 24 h).
    #[schema(minimum = 1, maximum = 1440)]
    pub expires_in_minutes: Option<i64>,
    /// The pump's own reference, for the receipt.
    #[schema(max_length = 64)]
    pub reference: Option<String>,
    /// The card's PIN, when it has one (a wrong one counts as a try).
    #[schema(value_type = Option<PinText>)]
    pub pin: Option<String>,
}

/// Reserves an amount on a card before fuelling.
#[utoipa::path(post, path = "/api/v1/holds", request_body = HoldBody, params(IdempotencyKey),
    responses((status = 201, description = "The hold, placed (or the first answer to this key, replayed)", body = holds::Hold)))]
pub async fn place_hold(
    State(state): State<App>,
    actor: Actor,
    req: MoneyRequest<HoldBody>,
) -> AppResult<Done<holds::Hold>> {
    let body = req.body;
    let order = actions::holds::Place {
        number: cards::parse_number(&body.card_number)?,
        amount: amount("amount", &body.amount)?,
        station: body.station,
        expires_in_minutes: body.expires_in_minutes,
        reference: body.reference,
        pin: body.pin,
    };
    actions::holds::place(&state, &actor, &req.key, order).await
}

/// A hold and its state.
#[utoipa::path(get, path = "/api/v1/holds/{id}", params(("id" = i64, Path, description = "The hold id")),
    responses((status = 200, description = "The hold", body = holds::Hold)))]
pub async fn get_hold(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<holds::Hold>> {
    Ok(Json(reads::hold(&state, &actor, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// The actual amount, at most the hold.
    #[schema(value_type = AmountText)]
    pub amount: String,
}

/// Captures at most the held amount; the rest is released.
#[utoipa::path(post, path = "/api/v1/holds/{id}/capture", request_body = CaptureBody,
    params(("id" = i64, Path, description = "The hold id"), IdempotencyKey),
    responses((status = 200, description = "The hold, captured (or the first answer to this key, replayed)", body = holds::Hold)))]
pub async fn capture_hold(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    req: MoneyRequest<CaptureBody>,
) -> AppResult<Done<holds::Hold>> {
    let amt = amount("amount", &req.body.amount)?;
    actions::holds::capture(&state, &actor, &req.key, id, amt).await
}

/// Voids a hold: the whole reservation is released.
#[utoipa::path(post, path = "/api/v1/holds/{id}/void", request_body = Option<EmptyBody>,
    params(("id" = i64, Path, description = "The hold id"), IdempotencyKey),
    responses((status = 200, description = "The hold, voided (or the first answer to this key, replayed)", body = holds::Hold)))]
pub async fn void_hold(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    req: MoneyRequest<EmptyBody>,
) -> AppResult<Done<holds::Hold>> {
    actions::holds::void(&state, &actor, &req.key, id).await
}

/// Checks the ledger invariants (admins).
#[utoipa::path(get, path = "/api/v1/ledger/check",
    responses((status = 200, description = "The invariants checked; `ok` says whether they all hold", body = check::Report)))]
pub async fn check(State(state): State<App>, actor: Actor) -> AppResult<Json<check::Report>> {
    Ok(Json(reads::ledger_check(&state, &actor).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenShift {
    /// The station code (default: the user's own).
    pub station: Option<String>,
}

/// Opens (or returns) the cashier's shift.
#[utoipa::path(post, path = "/api/v1/shifts", request_body = Option<OpenShift>,
    responses((status = 201, description = "The user's open shift at the station (opened if there was none)", body = shifts::Shift)))]
pub async fn open_shift(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<OpenShift>,
) -> AppResult<(StatusCode, Json<shifts::Shift>)> {
    let shift = crate::actions::shifts::open(&state, &actor, body.station.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(shift)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShiftQuery {
    /// The station code (default: the user's own).
    pub station: Option<String>,
}

/// The user's open shift at the station.
#[utoipa::path(get, path = "/api/v1/shifts/current", params(ShiftQuery),
    responses((status = 200, description = "The open shift", body = shifts::Shift)))]
pub async fn current_shift(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ShiftQuery>,
) -> AppResult<Json<shifts::Shift>> {
    crate::actions::shifts::current(&state, &actor, q.station.as_deref())
        .await?
        .map(Json)
        .ok_or_else(|| AppError::new(Code::ShiftNotFound, "you have no open shift"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseShift {
    #[schema(value_type = AmountOrZeroText)]
    pub counted_cash: String,
    #[schema(value_type = AmountOrZeroText)]
    pub counted_bank_card: String,
    #[schema(value_type = AmountOrZeroText)]
    pub counted_transfer: String,
}

/// 交班: closes the shift with what the cashier counted.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/close", request_body = CloseShift, params(("id" = i64, Path, description = "The shift id")),
    responses((status = 200, description = "The shift, closed, with the counted difference", body = shifts::Shift)))]
pub async fn close_shift(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CloseShift>,
) -> AppResult<Json<shifts::Shift>> {
    let counted = crate::actions::shifts::Counted {
        cash: amount_or_zero("counted_cash", &body.counted_cash)?,
        bank_card: amount_or_zero("counted_bank_card", &body.counted_bank_card)?,
        transfer: amount_or_zero("counted_transfer", &body.counted_transfer)?,
    };
    let shift = crate::actions::shifts::close(&state, &actor, id, counted).await?;
    Ok(Json(shift))
}

//! The merchant alliance over the API: merchants and offers, card
//! benefits, redemption, partner lists, settlement and effectiveness. Each
//! handler parses and hands over to [`crate::actions::alliance`].

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::super::extract::{ApiJson, CreateRequest, MoneyRequest};
use super::{ApiPath, ApiQuery, CreationKey, IdempotencyKey};
use crate::actions::alliance::{self as act, Found};
use crate::actions::{App, Done};
use crate::alliance::effectiveness::{Effectiveness, MerchantEffectiveness};
use crate::alliance::merchants::{Merchant, MerchantInput};
use crate::alliance::offers::{Offer, OfferInput};
use crate::alliance::redemptions::{BenefitView, RedeemInput, Redemption};
use crate::alliance::settlement::{self, Settlement};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::http::openapi::MonthText;

fn csv_file(name: &str, text: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

/// Adds a partner merchant (HQ). Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/merchants", request_body = MerchantInput, params(CreationKey),
    responses((status = 201, description = "The merchant", body = Merchant)))]
pub async fn add_merchant(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<MerchantInput>,
) -> AppResult<Done<Merchant>> {
    act::add_merchant(&state, &actor, req.key.as_ref(), &req.body).await
}

/// Every partner merchant.
#[utoipa::path(get, path = "/api/v1/merchants",
    responses((status = 200, description = "The merchants", body = Vec<Merchant>)))]
pub async fn list_merchants(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<Merchant>>> {
    Ok(Json(act::merchants(&state, &actor).await?))
}

/// A merchant (a merchant reads its own).
#[utoipa::path(get, path = "/api/v1/merchants/{code}",
    params(("code" = String, Path, description = "The merchant's code")),
    responses((status = 200, description = "The merchant", body = Merchant)))]
pub async fn get_merchant(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
) -> AppResult<Json<Merchant>> {
    Ok(Json(act::merchant(&state, &actor, &code).await?))
}

/// Adds an offer (HQ): it grants from the next event on. Takes an
/// Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/offers", request_body = OfferInput, params(CreationKey),
    responses((status = 201, description = "The offer", body = Offer)))]
pub async fn add_offer(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<OfferInput>,
) -> AppResult<Done<Offer>> {
    act::add_offer(&state, &actor, req.key.as_ref(), &req.body).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfferQuery {
    /// A merchant's code (a merchant's own by default for a merchant).
    pub merchant: Option<String>,
}

/// Offers with their budget used, newest first.
#[utoipa::path(get, path = "/api/v1/offers", params(OfferQuery),
    responses((status = 200, description = "The offers", body = Vec<Offer>)))]
pub async fn list_offers(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<OfferQuery>,
) -> AppResult<Json<Vec<Offer>>> {
    Ok(Json(
        act::offers(&state, &actor, q.merchant.as_deref()).await?,
    ))
}

/// An offer: its terms, grants, redemptions and budget left.
#[utoipa::path(get, path = "/api/v1/offers/{code}",
    params(("code" = String, Path, description = "The offer's code")),
    responses((status = 200, description = "The offer", body = Offer)))]
pub async fn get_offer(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
) -> AppResult<Json<Offer>> {
    Ok(Json(act::offer(&state, &actor, &code).await?))
}

/// Ends an offer early (HQ): from now on no event grants it; what it
/// granted stays valid. Ending it again changes nothing.
#[utoipa::path(post, path = "/api/v1/offers/{code}/end", request_body = Option<super::EmptyBody>,
    params(("code" = String, Path, description = "The offer's code")),
    responses((status = 200, description = "The offer, ended", body = Offer)))]
pub async fn end_offer(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiJson(empty): ApiJson<super::EmptyBody>,
) -> AppResult<Json<Offer>> {
    let super::EmptyBody = empty;
    Ok(Json(act::end_offer(&state, &actor, &code).await?))
}

/// What an offer brought.
#[utoipa::path(get, path = "/api/v1/offers/{code}/effectiveness",
    params(("code" = String, Path, description = "The offer's code")),
    responses((status = 200, description = "The offer's effectiveness", body = Effectiveness)))]
pub async fn offer_effectiveness(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
) -> AppResult<Json<Effectiveness>> {
    Ok(Json(act::offer_effectiveness(&state, &actor, &code).await?))
}

/// What a merchant's offers brought, each and together.
#[utoipa::path(get, path = "/api/v1/merchants/{code}/effectiveness",
    params(("code" = String, Path, description = "The merchant's code")),
    responses((status = 200, description = "The merchant's effectiveness", body = MerchantEffectiveness)))]
pub async fn merchant_effectiveness(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
) -> AppResult<Json<MerchantEffectiveness>> {
    Ok(Json(
        act::merchant_effectiveness(&state, &actor, &code).await?,
    ))
}

/// The consenting grantees of an offer, as the partner registers them
/// (CSV). Each export is audited.
#[utoipa::path(get, path = "/api/v1/offers/{code}/grantees.csv",
    params(("code" = String, Path, description = "The offer's code")),
    responses((status = 200, description = "name, id_kind, id_number, phone, voucher_code, station, granted_on", content_type = "text/csv", body = String)))]
pub async fn grantees_csv(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
) -> AppResult<Response> {
    let text = act::grantees_csv(&state, &actor, &code).await?;
    Ok(csv_file(&format!("grantees-{code}.csv"), text))
}

/// A card's alliance benefits, newest first.
#[utoipa::path(get, path = "/api/v1/cards/{number}/benefits",
    params(("number" = String, Path, description = "The card number")),
    responses((status = 200, description = "The benefits", body = Vec<BenefitView>)))]
pub async fn card_benefits(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<Vec<BenefitView>>> {
    Ok(Json(act::card_benefits(&state, &actor, &number).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// A voucher code…
    pub code: Option<String>,
    /// …or a card number.
    pub card: Option<String>,
}

/// Looks up benefits to deliver by voucher code or card: the customer
/// masked (name, last four digits of phone and card); a merchant finds its
/// own only.
#[utoipa::path(get, path = "/api/v1/benefits", params(FindQuery),
    responses((status = 200, description = "The customer and the benefits", body = Found)))]
pub async fn find_benefits(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<FindQuery>,
) -> AppResult<Json<Found>> {
    Ok(Json(
        act::find_benefits(&state, &actor, q.code.as_deref(), q.card.as_deref()).await?,
    ))
}

/// Delivers a benefit: by voucher code, or by card and offer (an
/// entitlement). Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/redemptions", request_body = RedeemInput, params(IdempotencyKey),
    responses((status = 201, description = "The redemption", body = Redemption)))]
pub async fn redeem(
    State(state): State<App>,
    actor: Actor,
    req: MoneyRequest<RedeemInput>,
) -> AppResult<Done<Redemption>> {
    act::redeem(&state, &actor, &req.key, &req.body).await
}

/// Reverses a redemption made by mistake, within the reversal window and
/// before its month is settled.
#[utoipa::path(post, path = "/api/v1/redemptions/{id}/reversal", request_body = Option<super::EmptyBody>,
    params(("id" = i64, Path, description = "The redemption")),
    responses((status = 200, description = "The redemption, reversed", body = Redemption)))]
pub async fn reverse_redemption(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(empty): ApiJson<super::EmptyBody>,
) -> AppResult<Json<Redemption>> {
    let super::EmptyBody = empty;
    Ok(Json(act::reverse(&state, &actor, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedemptionQuery {
    /// The merchant (a merchant's own by default).
    pub merchant: Option<String>,
    /// The day, YYYY-MM-DD (today by default).
    #[param(value_type = Option<String>, format = Date)]
    pub day: Option<String>,
}

/// A merchant's redemptions of a day, newest first.
#[utoipa::path(get, path = "/api/v1/redemptions", params(RedemptionQuery),
    responses((status = 200, description = "The redemptions", body = Vec<Redemption>)))]
pub async fn list_redemptions(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<RedemptionQuery>,
) -> AppResult<Json<Vec<Redemption>>> {
    let day = q
        .day
        .as_deref()
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| AppError::invalid("day", "day: YYYY-MM-DD"))
        })
        .transpose()?;
    Ok(Json(
        act::redemptions(&state, &actor, q.merchant.as_deref(), day).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleBody {
    /// The month to settle: over already.
    #[schema(value_type = MonthText)]
    pub month: String,
}

/// Settles a merchant's month (HQ): who owes whom, booked on the ledger
/// once; settling again answers the same statement. Needs an
/// Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/merchants/{code}/settlements", request_body = SettleBody,
    params(("code" = String, Path, description = "The merchant's code"), IdempotencyKey),
    responses((status = 201, description = "The settled statement", body = Settlement)))]
pub async fn settle_merchant(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    req: MoneyRequest<SettleBody>,
) -> AppResult<Done<Settlement>> {
    act::settle(&state, &actor, &req.key, &code, &req.body.month).await
}

/// A merchant's month: settled, or open with its redemptions so far.
#[utoipa::path(get, path = "/api/v1/merchants/{code}/settlements/{month}",
    params(("code" = String, Path, description = "The merchant's code"),
           ("month" = MonthText, Path, description = "The month")),
    responses((status = 200, description = "The statement", body = Settlement)))]
pub async fn get_settlement(
    State(state): State<App>,
    actor: Actor,
    ApiPath((code, month)): ApiPath<(String, String)>,
) -> AppResult<Json<Settlement>> {
    Ok(Json(act::statement(&state, &actor, &code, &month).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// The month, YYYY-MM.
    #[param(value_type = MonthText)]
    pub month: String,
}

/// A merchant's month as CSV: one row per offer and station, then the
/// totals.
#[utoipa::path(get, path = "/api/v1/merchants/{code}/settlements.csv",
    params(("code" = String, Path, description = "The merchant's code"), MonthQuery),
    responses((status = 200, description = "offer, station, delivered, redemptions, value, station_owes, merchant_owes", content_type = "text/csv", body = String)))]
pub async fn settlement_csv(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<Response> {
    let s = act::statement(&state, &actor, &code, &q.month).await?;
    Ok(csv_file(
        &format!("settlement-{code}-{}.csv", q.month),
        settlement::csv(&s)?,
    ))
}

//! Fuel sales and transfers between a company's cards.

use axum::extract::State;
use serde::Deserialize;

use super::super::extract::MoneyRequest;
use super::{IdempotencyKey, amount, quantity};
use crate::actions::App;
use crate::actions::{Done, counter};
use crate::auth::Actor;
use crate::cards::sale;
use crate::cards::{self, transfer};
use crate::error::AppResult;
use crate::http::openapi::{AmountText, CardNumberText, LitresText, PinText};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleBody {
    #[schema(value_type = CardNumberText)]
    pub card_number: String,
    /// Product code: "92", "95", "98", "0" …
    #[schema(example = "92")]
    pub product: String,
    /// Litres, two decimals. Give this or `amount`.
    #[schema(value_type = Option<LitresText>)]
    pub litres: Option<String>,
    /// Gross amount (before the card discount). Give this or `litres`.
    #[schema(value_type = Option<AmountText>)]
    pub amount: Option<String>,
    /// The card's PIN, when it has one. A wrong PIN counts as a try even
    /// though the sale is refused; three lock the card.
    #[schema(value_type = Option<PinText>)]
    pub pin: Option<String>,
    /// The station code (default: the user's own).
    pub station: Option<String>,
    /// The vehicle's plate (a fleet card's must match its vehicle).
    #[schema(max_length = 16, example = "浙A12345")]
    pub plate: Option<String>,
    /// Odometer reading in whole kilometres.
    #[schema(minimum = 0)]
    pub odometer: Option<i64>,
}

/// Sells fuel against a card. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/sales", request_body = SaleBody, params(IdempotencyKey),
    responses((status = 201, description = "The sale, booked (or the first answer to this key, replayed)", body = sale::Sold)))]
pub async fn sell(
    State(state): State<App>,
    actor: Actor,
    req: MoneyRequest<SaleBody>,
) -> AppResult<Done<sale::Sold>> {
    let body = req.body;
    let order = counter::Sale {
        number: cards::parse_number(&body.card_number)?,
        product: body.product,
        quantity: quantity(body.litres.as_deref(), body.amount.as_deref())?,
        pin: body.pin,
        station: body.station,
        plate: body.plate,
        odometer: body.odometer,
    };
    counter::sell(&state, &actor, &req.key, order).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    #[schema(value_type = CardNumberText)]
    pub from_card: String,
    #[schema(value_type = CardNumberText)]
    pub to_card: String,
    #[schema(value_type = AmountText)]
    pub amount: String,
    /// The company main card's PIN, when a counter moves the money; the
    /// company's fleet manager needs none.
    #[schema(value_type = Option<PinText>)]
    pub pin: Option<String>,
}

/// Moves funds between a company main card and its sub-cards, on the
/// company's word: its fleet manager, or at a counter the main card's PIN.
#[utoipa::path(post, path = "/api/v1/transfers", request_body = TransferBody, params(IdempotencyKey),
    responses((status = 201, description = "The transfer, booked (or the first answer to this key, replayed)", body = transfer::Transferred)))]
pub async fn transfer(
    State(state): State<App>,
    actor: Actor,
    req: MoneyRequest<TransferBody>,
) -> AppResult<Done<transfer::Transferred>> {
    let order = counter::Transfer {
        from: cards::parse_number(&req.body.from_card)?,
        to: cards::parse_number(&req.body.to_card)?,
        amount: amount("amount", &req.body.amount)?,
        pin: req.body.pin,
    };
    counter::transfer(&state, &actor, &req.key, order).await
}

//! Fuel sales and transfers between a company's cards.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::AppState;
use super::super::extract::{MoneyRequest, idempotent, require};
use super::{amount, litres};
use crate::auth::Actor;
use crate::cards::sale::{self, Quantity, SaleRequest};
use crate::cards::{self, transfer};
use crate::error::{AppError, AppResult, Code};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleBody {
    pub card_number: String,
    /// Product code: "92", "95", "98", "0" …
    #[schema(example = "92")]
    pub product: String,
    /// Litres, two decimals. Give this or `amount`.
    #[schema(example = "30.00")]
    pub litres: Option<String>,
    /// Gross amount (before the card discount). Give this or `litres`.
    pub amount: Option<String>,
    pub pin: Option<String>,
    pub station: Option<String>,
    pub plate: Option<String>,
    /// Odometer reading in whole kilometres.
    pub odometer: Option<i64>,
}

/// Sells fuel against a card. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/sales", request_body = SaleBody,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = sale::Sold), (status = 409, body = crate::error::Problem),
              (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn sell(
    State(state): State<AppState>,
    actor: Actor,
    req: MoneyRequest<SaleBody>,
) -> AppResult<Response> {
    require(actor.can_work_counter())?;
    let body = &req.body;
    let number = cards::parse_number(&body.card_number)?;
    let quantity = match (&body.litres, &body.amount) {
        (Some(l), None) => Quantity::Litres(litres("litres", l)?),
        (None, Some(a)) => Quantity::Amount(amount("amount", a)?),
        _ => {
            return Err(AppError::new(
                Code::ValidationFailed,
                "give either litres or amount (the gross amount), not both",
            ));
        }
    };
    sale::validate(&SaleRequest {
        number: &number,
        product: &body.product,
        quantity,
        station: body.station.as_deref(),
        plate: body.plate.as_deref(),
        odometer: body.odometer,
    })?;
    // The PIN try is committed on its own: a wrong PIN counts even though
    // the sale is refused. A replayed request re-checks its (correct) PIN.
    check_pin_first(&state, actor.user_id, &number, body.pin.as_deref()).await?;
    let tz = state.settings.time_zone;
    idempotent(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::CREATED,
        |conn| {
            let actor = actor.clone();
            let number = number.clone();
            let product = body.product.clone();
            let station = body.station.clone();
            let plate = body.plate.clone();
            let odometer = body.odometer;
            Box::pin(async move {
                let card = cards::find(conn, &number).await?;
                sale::sell(
                    conn,
                    &actor,
                    &card,
                    &SaleRequest {
                        number: &number,
                        product: &product,
                        quantity,
                        station: station.as_deref(),
                        plate: plate.as_deref(),
                        odometer,
                    },
                    tz,
                )
                .await
            })
        },
    )
    .await
}

/// Checks a card's PIN in a transaction of its own, committed even when the
/// PIN is wrong so that every wrong try counts. A card without a PIN (most
/// fleet and anonymous cards) needs no write at all.
pub async fn check_pin_first(
    state: &AppState,
    user_id: i64,
    number: &cards::CardNumber,
    pin: Option<&str>,
) -> AppResult<()> {
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    drop(conn);
    if card.pin_verifier.is_none() {
        return Ok(());
    }
    // Wrong PINs are also counted per user across all cards, so a token
    // cannot try three PINs on every card in turn.
    let key = format!("pin:{user_id}");
    state
        .throttle
        .check(&key, crate::http::throttle::PIN_FAILURES)?;
    let mut tx = state.db.begin_write().await?;
    let card = cards::find(&mut tx, number).await?;
    let checked = cards::check_pin(&mut tx, &state.keys.pin, &card, pin).await;
    tx.commit().await?;
    if let Err(e) = &checked {
        if matches!(e.code, Code::WrongPin | Code::PinLocked) {
            state.throttle.fail(&key);
        }
    }
    checked
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub from_card: String,
    pub to_card: String,
    pub amount: String,
}

/// Moves funds between a company main card and its sub-cards.
#[utoipa::path(post, path = "/api/v1/transfers", request_body = TransferBody,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = transfer::Transferred), (status = 409, body = crate::error::Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    actor: Actor,
    req: MoneyRequest<TransferBody>,
) -> AppResult<Response> {
    require(actor.can_work_counter())?;
    let from = cards::parse_number(&req.body.from_card)?;
    let to = cards::parse_number(&req.body.to_card)?;
    let amt = amount("amount", &req.body.amount)?;
    idempotent(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::CREATED,
        |conn| {
            let actor = actor.clone();
            let (from, to) = (from.clone(), to.clone());
            Box::pin(async move {
                let from = cards::find(conn, &from).await?;
                let to = cards::find(conn, &to).await?;
                transfer::transfer(conn, &actor, &from, &to, amt).await
            })
        },
    )
    .await
}

//! Fuel sales and transfers between a company's cards.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::AppState;
use super::super::extract::{MoneyRequest, idempotent, idempotent_then};
use super::{IdempotencyKey, amount, litres};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::cards::sale::{self, Quantity, SaleRequest};
use crate::cards::{self, transfer};
use crate::error::{AppError, AppResult, Code};
use crate::http::openapi::{AmountText, CardNumberText, LitresText, PinText};
use crate::stations::{self, Station};

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
    State(state): State<AppState>,
    actor: Actor,
    req: MoneyRequest<SaleBody>,
) -> AppResult<Response> {
    let now = state.now();
    authorize(&actor, Action::Sell, &Target::network())?;
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
    sale::validate(body.plate.as_deref(), body.odometer)?;
    // The PIN try is committed on its own: a wrong PIN counts even though
    // the sale is refused. A replayed request re-checks its (correct) PIN.
    let station = before_sale(
        &state,
        &actor,
        &number,
        body.pin.as_deref(),
        body.station.as_deref(),
    )
    .await?;
    let tz = state.settings.time_zone;
    idempotent_then(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::CREATED,
        |conn| {
            let actor = actor.clone();
            let number = number.clone();
            let product = body.product.clone();
            let station = station.clone();
            let plate = body.plate.clone();
            let odometer = body.odometer;
            Box::pin(async move {
                sale::sell(
                    conn,
                    &actor,
                    &SaleRequest {
                        number: &number,
                        product: &product,
                        quantity,
                        station: &station,
                        plate: plate.as_deref(),
                        odometer,
                    },
                    tz,
                    now,
                )
                .await
            })
        },
        |conn, debited: crate::ledger::Debited| {
            Box::pin(async move { debited.credit(conn).await.map(|_| ()) })
        },
    )
    .await
}

/// Refuses a PIN that cannot be any card's PIN before it is tried, so a
/// malformed one is a validation error rather than a counted wrong try.
fn well_formed_pin(pin: Option<&str>) -> AppResult<()> {
    match pin {
        Some(p) if !cards::pin::is_well_formed(p) => {
            Err(AppError::new(Code::ValidationFailed, "pin: 4 to 6 digits").with("field", "pin"))
        }
        _ => Ok(()),
    }
}

/// What a sale settles before its write transaction, on one read
/// connection: the station it is booked at ([`stations::for_counter`];
/// stations never change, so the lookup need not hold the write lock) and
/// the card's PIN, checked as [`before_fuelling`] does.
pub async fn before_sale(
    state: &AppState,
    actor: &Actor,
    number: &cards::CardNumber,
    pin: Option<&str>,
    requested_station: Option<&str>,
) -> AppResult<Station> {
    well_formed_pin(pin)?;
    let mut conn = state.db.pool().acquire().await?;
    let station = stations::for_counter(&mut conn, actor, requested_station).await?;
    let card = cards::find(&mut conn, number).await?;
    drop(conn);
    card.ensure_buys_fuel()?;
    pin_try(state, actor.user_id, &card, pin).await?;
    Ok(station)
}

/// Checks the card that is to pay for fuel before anything is reserved on
/// it: a company main card is refused before its PIN is tried, and the PIN
/// is checked in a transaction of its own, committed even when it is wrong
/// so that every wrong try counts. A card without a PIN (most fleet and
/// anonymous cards) needs no write at all.
pub async fn before_fuelling(
    state: &AppState,
    user_id: i64,
    number: &cards::CardNumber,
    pin: Option<&str>,
) -> AppResult<()> {
    well_formed_pin(pin)?;
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    drop(conn);
    card.ensure_buys_fuel()?;
    pin_try(state, user_id, &card, pin).await
}

/// The card's PIN offered as the holder's word on a card-life change
/// ([`crate::cards::holder`]): tried, and counted, in a transaction of its
/// own before the change, as a sale's is. A card without a PIN has none to
/// offer. Offering both a PIN and an ID document is ambiguous.
pub async fn holders_pin(
    state: &AppState,
    actor: &Actor,
    number: &cards::CardNumber,
    pin: Option<&str>,
    identity: bool,
) -> AppResult<()> {
    let Some(pin) = pin else {
        return Ok(());
    };
    if identity {
        return Err(AppError::new(
            Code::ValidationFailed,
            "give the card's pin or the holder's identity, not both",
        ));
    }
    well_formed_pin(Some(pin))?;
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    drop(conn);
    if card.pin_verifier.is_none() {
        return Err(AppError::new(
            Code::HolderCheckRequired,
            format!(
                "card {} has no PIN; check the holder's ID document",
                card.number
            ),
        ));
    }
    pin_try(state, actor.user_id, &card, Some(pin)).await
}

/// The PIN try of [`before_fuelling`], given the card as read just before.
async fn pin_try(
    state: &AppState,
    user_id: i64,
    card: &cards::Card,
    pin: Option<&str>,
) -> AppResult<()> {
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
    let card = cards::find_by_id_for_update(&mut tx, card.id).await?;
    let checked = cards::check_pin(&mut tx, &state.keys.pin, &card, pin).await;
    tx.commit().await?;
    if let Err(e) = &checked {
        if matches!(e.code, Code::WrongPin | Code::PinLocked) {
            state.throttle.fail(&key);
        }
    }
    checked
}

/// The company's word for moving its money ([`transfer::consent`]): a main
/// card PIN given at a counter is checked, and counted, in a transaction of
/// its own before the move; the company's fleet manager needs none.
pub async fn company_word(
    state: &AppState,
    actor: &Actor,
    main: &cards::Card,
    pin: Option<&str>,
) -> AppResult<()> {
    well_formed_pin(pin)?;
    if transfer::consent(actor, main, pin)? == transfer::Consent::MainCardPin {
        pin_try(state, actor.user_id, main, pin).await?;
    }
    Ok(())
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
    State(state): State<AppState>,
    actor: Actor,
    req: MoneyRequest<TransferBody>,
) -> AppResult<Response> {
    let now = state.now();
    let from = cards::parse_number(&req.body.from_card)?;
    let to = cards::parse_number(&req.body.to_card)?;
    let amt = amount("amount", &req.body.amount)?;
    let main = {
        let mut conn = state.db.pool().acquire().await?;
        let from = cards::find(&mut conn, &from).await?;
        let to = cards::find(&mut conn, &to).await?;
        transfer::check_pair(&from, &to)?.clone()
    };
    company_word(&state, &actor, &main, req.body.pin.as_deref()).await?;
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
                let (from, to) = cards::pair_for_update(conn, &from, &to).await?;
                transfer::transfer(conn, &actor, &from, &to, amt, now).await
            })
        },
    )
    .await
}

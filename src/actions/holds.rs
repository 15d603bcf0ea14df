//! A pump's pre-authorisation holds ([`crate::ledger::holds`]): an amount
//! reserved on a card before fuelling, captured for what was pumped (the
//! rest released) or voided whole. Each runs under the request's
//! idempotency key, since each moves what a card may spend.

use axum::http::StatusCode;

use super::{App, Done, Keyed, counter, idempotent};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize, authorize_role};
use crate::cards::{self, CardNumber};
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, Operation, holds};
use crate::money::Money;
use crate::stations;

/// The longest a hold may stand before it releases itself: a day.
const MOST_MINUTES: i64 = 1440;

/// The longest pump reference kept with a hold.
const MOST_REFERENCE: usize = 64;

/// A hold as a pump asks for it.
pub struct Place {
    pub number: CardNumber,
    pub amount: Money,
    /// The station code; the user's own when absent.
    pub station: Option<String>,
    /// Minutes until the hold releases itself; the settings' default when
    /// absent.
    pub expires_in_minutes: Option<i64>,
    /// The pump's own reference, for the receipt.
    pub reference: Option<String>,
    /// The card's PIN, when it has one.
    pub pin: Option<String>,
}

/// Reserves the amount on the card before fuelling. The PIN try commits on
/// its own, as a sale's does ([`counter::before_fuelling`]); the hold is
/// placed under the key.
pub async fn place(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    order: Place,
) -> AppResult<Done<holds::Hold>> {
    authorize_role(actor, Action::Sell)?;
    let minutes = order
        .expires_in_minutes
        .unwrap_or(app.settings.hold_minutes);
    if !(1..=MOST_MINUTES).contains(&minutes) {
        return Err(AppError::new(
            Code::ValidationFailed,
            "expires_in_minutes: 1 to 1440",
        ));
    }
    if order
        .reference
        .as_ref()
        .is_some_and(|r| r.len() > MOST_REFERENCE)
    {
        return Err(AppError::new(
            Code::ValidationFailed,
            "reference: at most 64 characters",
        ));
    }
    counter::before_fuelling(app, actor, &order.number, order.pin.as_deref()).await?;
    let order = &order;
    idempotent(app, actor, key, StatusCode::CREATED, |conn, at| {
        Box::pin(async move {
            let card = cards::find_for_update(conn, &order.number).await?;
            card.ensure_can_spend()?;
            let station = stations::for_counter(conn, at.actor, order.station.as_deref()).await?;
            let hold = holds::place(
                conn,
                &holds::NewHold {
                    card_id: card.id,
                    account_id: card.account_id,
                    station_id: Some(station.id),
                    amount: order.amount,
                    expires_at: at.now + minutes * 60_000_000,
                    reference: order.reference.as_deref(),
                },
                at.now,
            )
            .await?;
            at.audit(
                conn,
                "hold",
                &card.number,
                serde_json::json!({"hold": hold.id, "amount": order.amount}),
            )
            .await?;
            Ok(hold)
        })
    })
    .await
}

/// Captures at most the held amount into the sales of the hold's station
/// (or the user's own, for a hold placed without one); the rest is
/// released.
pub async fn capture(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    id: i64,
    amount: Money,
) -> AppResult<Done<holds::Hold>> {
    authorize_role(actor, Action::SettleHold)?;
    idempotent(app, actor, key, StatusCode::OK, |conn, at| {
        Box::pin(async move {
            let hold = holds::get(conn, id).await?;
            authorize(at.actor, Action::SettleHold, &Target::at(hold.station_id))?;
            let station = match hold.station_id {
                Some(s) => stations::get(conn, s).await?,
                None => stations::for_counter(conn, at.actor, None).await?,
            };
            let op = ledger::record_operation(
                conn,
                Operation {
                    at: at.now,
                    kind: "hold_capture",
                    card_id: Some(hold.card_id),
                    station_id: Some(station.id),
                    shift_id: None,
                    user_id: Some(at.actor.user_id),
                    detail: serde_json::json!({ "hold": id }),
                },
            )
            .await?;
            let sales = station.sales_account(conn, at.now).await?;
            holds::capture(conn, id, amount, op, sales).await?;
            at.audit(
                conn,
                "hold_capture",
                &id.to_string(),
                serde_json::json!({"amount": amount}),
            )
            .await?;
            holds::get(conn, id).await
        })
    })
    .await
}

/// Voids a hold: the whole reservation is released.
pub async fn void(app: &App, actor: &Actor, key: &Keyed, id: i64) -> AppResult<Done<holds::Hold>> {
    authorize_role(actor, Action::SettleHold)?;
    idempotent(app, actor, key, StatusCode::OK, |conn, at| {
        Box::pin(async move {
            let station = holds::get(conn, id).await?.station_id;
            authorize(at.actor, Action::SettleHold, &Target::at(station))?;
            let hold = holds::void(conn, id, at.now).await?;
            at.audit(
                conn,
                "hold_void",
                &hold.id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            Ok(hold)
        })
    })
    .await
}

//! Moving company funds between a company main card and its own sub-cards
//! (按月分配 by hand). Sub-cards then spend their own balances, so the main
//! card is not a hot row on every sale.

use serde::{Deserialize, Serialize};

use super::{Card, CardKind};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, Scope, Target};
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{self, Operation};
use crate::money::Money;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transferred {
    pub operation_id: i64,
    pub from_card: String,
    pub to_card: String,
    #[schema(value_type = String)]
    pub amount: Money,
    #[schema(value_type = String)]
    pub from_balance: Money,
    #[schema(value_type = String)]
    pub to_balance: Money,
}

/// The pure rule: funds move between a main card and one of its own
/// sub-cards, in either direction (allocation, or sweeping back); a credit
/// card holds no funds to move. Returns the main card, whose company's
/// money it is.
pub fn check_pair<'a>(from: &'a Card, to: &'a Card) -> AppResult<&'a Card> {
    from.ensure_holds_money()?;
    to.ensure_holds_money()?;
    let ok = (from.kind == CardKind::CompanyMain
        && to.kind.is_sub_card()
        && to.parent_card_id == Some(from.id))
        || (to.kind == CardKind::CompanyMain
            && from.kind.is_sub_card()
            && from.parent_card_id == Some(to.id));
    if !ok {
        return Err(AppError::new(
            Code::InvalidTransfer,
            "funds move only between a company main card and its own sub-cards",
        ));
    }
    Ok(if from.kind == CardKind::CompanyMain {
        from
    } else {
        to
    })
}

/// On whose word a company's money moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// The company's own fleet manager decided.
    FleetManager,
    /// A counter moves it with the main card's PIN, which the caller checks
    /// (and counts) before the move.
    MainCardPin,
}

/// The pure rule of whose money it is: a company's funds move (onto a new
/// sub-card, between its cards) only on the company's word — its fleet
/// manager, or at a counter the main card's PIN. Without either the move is
/// refused, whoever asks. The same word registers a vehicle at the counter
/// ([`Action::RegisterVehicle`]).
pub fn consent(
    actor: &Actor,
    action: Action,
    main: &Card,
    pin: Option<&str>,
) -> AppResult<Consent> {
    let target = Target {
        company_pin: main.pin_verifier.is_some() && pin.is_some(),
        ..Target::company_opt(main.customer_id)
    };
    policy::authorize(actor, action, &target)?;
    Ok(match policy::rule_of(action).scope(actor.role) {
        Scope::CompanyPin => Consent::MainCardPin,
        _ => Consent::FleetManager,
    })
}

pub async fn transfer(
    conn: &mut crate::db::Conn,
    actor: &Actor,
    from: &Card,
    to: &Card,
    amount: Money,
    now: i64,
) -> AppResult<Transferred> {
    check_pair(from, to)?;
    from.ensure_can_spend()?;
    to.ensure_can_receive()?;
    let op = ledger::record_operation(
        conn,
        Operation {
            at: now,
            kind: "card_transfer",
            card_id: Some(from.id),
            station_id: actor.station_id,
            shift_id: None,
            user_id: Some(actor.user_id),
            detail: serde_json::json!({ "from": from.number, "to": to.number }),
        },
    )
    .await?;
    let split = ledger::spend(conn, op, from.account_id, to.account_id, amount).await?;
    let to_balance = ledger::accounts::balances(conn, to.account_id).await?;
    crate::audit::record(
        conn,
        now,
        Some(actor.user_id),
        "card_transfer",
        &from.number,
        serde_json::json!({ "to": to.number, "amount": amount }),
    )
    .await?;
    Ok(Transferred {
        operation_id: op.id,
        from_card: from.number.clone(),
        to_card: to.number.clone(),
        amount,
        from_balance: split.balance_after,
        to_balance: Money::from_fen(to_balance.available_fen()),
    })
}

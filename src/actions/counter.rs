//! What a cashier does with money at the counter: sell fuel, recharge a
//! card, move a company's funds between its cards; and the words that
//! allow it (the card's PIN, the company's main card PIN), each tried and
//! counted in a transaction of its own before the move.

use axum::http::StatusCode;

use super::{App, Done, Keyed, idempotent, idempotent_then};
use crate::alliance::engine;
use crate::alliance::offers::Event;
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::auth::throttle;
use crate::cards::holder::{self, Identity};
use crate::cards::recharge::{self, PaymentMethod, RechargeRequest, Recharged};
use crate::cards::sale::{self, Closing, Quantity, SaleRequest, Sold};
use crate::cards::{self, Card, CardNumber, CardView, customers, identity, transfer};
use crate::error::{AppError, AppResult, Code};
use crate::money::Money;
use crate::stations::{self, Station};

/// A fuel sale as the counter (or a pump's controller) asks for it.
pub struct Sale {
    pub number: CardNumber,
    pub product: String,
    pub quantity: Quantity,
    /// The card's PIN, when it has one.
    pub pin: Option<String>,
    /// The station code; the user's own when absent.
    pub station: Option<String>,
    pub plate: Option<String>,
    pub odometer: Option<i64>,
}

/// Sells fuel against a card. The PIN try commits on its own (a wrong PIN
/// counts even though the sale is refused); the sale, its fleet limits and
/// its ledger transfers are one transaction under the key, and the
/// station's sales account is credited last, just before the commit.
pub async fn sell(app: &App, actor: &Actor, key: &Keyed, order: Sale) -> AppResult<Done<Sold>> {
    authorize(actor, Action::Sell, &Target::network())?;
    sale::validate(order.plate.as_deref(), order.odometer)?;
    let station = before_sale(app, actor, &order).await?;
    let tz = app.settings.time_zone;
    let req = &SaleRequest {
        number: &order.number,
        product: &order.product,
        quantity: order.quantity,
        station: &station,
        plate: order.plate.as_deref(),
        odometer: order.odometer,
    };
    idempotent_then(
        app,
        actor,
        key,
        StatusCode::CREATED,
        |conn, at| {
            Box::pin(async move {
                let (mut sold, closing) = sale::sell(conn, at.actor, req, tz, at.now).await?;
                let (card, station_id) = closing.card_at();
                let earned = engine::on_event(
                    conn,
                    &engine::Happened {
                        event: Event::Sale,
                        card,
                        station: Some((station_id, sold.station.as_str())),
                        amount: Some(sold.charged),
                        key: format!("sale:{}", sold.id),
                    },
                    at.now,
                    tz,
                )
                .await?;
                sold.benefits = earned.benefits;
                sold.notices = earned.notices;
                Ok((sold, closing))
            })
        },
        |conn, closing: Closing| Box::pin(closing.post(conn)),
    )
    .await
}

/// What a sale settles before its write transaction, on one read
/// connection: the station it is booked at ([`stations::for_counter`];
/// stations never change, so the lookup need not hold the write lock) and
/// the card's PIN, checked as [`before_fuelling`] does.
async fn before_sale(app: &App, actor: &Actor, order: &Sale) -> AppResult<Station> {
    well_formed_pin(order.pin.as_deref())?;
    let mut conn = app.db.pool().acquire().await?;
    let station = stations::for_counter(&mut conn, actor, order.station.as_deref()).await?;
    let card = cards::find(&mut conn, &order.number).await?;
    drop(conn);
    card.ensure_buys_fuel()?;
    pin_try(app, actor, &card, order.pin.as_deref()).await?;
    Ok(station)
}

/// A recharge as the counter asks for it.
pub struct Recharge {
    pub number: CardNumber,
    pub amount: Money,
    pub method: PaymentMethod,
    /// A campaign to apply, if it is in force for the card.
    pub campaign_code: Option<String>,
    /// The station code; the user's own when absent.
    pub station: Option<String>,
}

/// 充值: the recharge with the promotion in force, under the key.
pub async fn recharge(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    order: Recharge,
) -> AppResult<Done<Recharged>> {
    authorize(actor, Action::Recharge, &Target::network())?;
    if order.campaign_code.as_ref().is_some_and(|c| c.len() > 64) {
        return Err(AppError::new(
            Code::ValidationFailed,
            "campaign_code: at most 64 characters",
        ));
    }
    let order = &order;
    let tz = app.settings.time_zone;
    idempotent(app, actor, key, StatusCode::CREATED, |conn, at| {
        let req = RechargeRequest {
            number: &order.number,
            amount: order.amount,
            method: order.method,
            campaign_code: order.campaign_code.as_deref(),
            station: order.station.as_deref(),
        };
        Box::pin(async move {
            let mut done = recharge::recharge(conn, at.actor, req, at.now).await?;
            let card = cards::find(conn, &order.number).await?;
            let station = stations::find(conn, &done.receipt.station).await?;
            let earned = engine::on_event(
                conn,
                &engine::Happened {
                    event: Event::Recharge,
                    card: &card,
                    station: Some((station.id, station.code.as_str())),
                    amount: Some(order.amount),
                    key: format!("recharge:{}", done.id),
                },
                at.now,
                tz,
            )
            .await?;
            done.benefits = earned.benefits;
            done.notices = earned.notices;
            Ok(done)
        })
    })
    .await
}

/// Funds moved between a company's main card and one of its sub-cards.
pub struct Transfer {
    pub from: CardNumber,
    pub to: CardNumber,
    pub amount: Money,
    /// The main card's PIN, when a counter moves the money.
    pub pin: Option<String>,
}

/// Moves a company's funds on its word: its fleet manager, or at a
/// counter the main card's PIN.
pub async fn transfer(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    order: Transfer,
) -> AppResult<Done<transfer::Transferred>> {
    let main = {
        let mut conn = app.db.pool().acquire().await?;
        let from = cards::find(&mut conn, &order.from).await?;
        let to = cards::find(&mut conn, &order.to).await?;
        transfer::check_pair(&from, &to)?.clone()
    };
    company_word(app, actor, &main, order.pin.as_deref()).await?;
    let order = &order;
    idempotent(app, actor, key, StatusCode::CREATED, |conn, at| {
        Box::pin(async move {
            let (from, to) = cards::pair_for_update(conn, &order.from, &order.to).await?;
            transfer::transfer(conn, at.actor, &from, &to, order.amount, at.now).await
        })
    })
    .await
}

/// Refuses a PIN that cannot be any card's PIN before it is tried, so a
/// malformed one is a validation error rather than a counted wrong try.
fn well_formed_pin(pin: Option<&str>) -> AppResult<()> {
    match pin {
        Some(p) if !cards::pin::is_well_formed(p) => {
            Err(AppError::invalid("pin", "pin: 4 to 6 digits"))
        }
        _ => Ok(()),
    }
}

/// Checks the card that is to pay for fuel before anything is reserved on
/// it: a company main card is refused before its PIN is tried, and the PIN
/// is checked in a transaction of its own, committed even when it is wrong
/// so that every wrong try counts. A card without a PIN (most fleet and
/// anonymous cards) needs no write at all.
pub async fn before_fuelling(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    pin: Option<&str>,
) -> AppResult<()> {
    well_formed_pin(pin)?;
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    drop(conn);
    card.ensure_buys_fuel()?;
    pin_try(app, actor, &card, pin).await
}

/// The card's PIN offered as the holder's word on a card-life change
/// ([`crate::cards::holder`]): tried, and counted, in a transaction of its
/// own before the change, as a sale's is. A card without a PIN has none to
/// offer. Offering both a PIN and an ID document is ambiguous.
pub async fn holders_pin(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
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
    let mut conn = app.db.pool().acquire().await?;
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
    pin_try(app, actor, &card, Some(pin)).await
}

/// The company's word for moving its money ([`transfer::consent`]): a main
/// card PIN given at a counter is checked, and counted, in a transaction of
/// its own before the move; the company's fleet manager needs none.
pub async fn company_word(
    app: &App,
    actor: &Actor,
    main: &Card,
    pin: Option<&str>,
) -> AppResult<()> {
    well_formed_pin(pin)?;
    let consent = transfer::consent(actor, Action::MoveCompanyFunds, main, pin)?;
    if consent == transfer::Consent::MainCardPin {
        pin_try(app, actor, main, pin).await?;
    }
    Ok(())
}

/// The holder's ID document offered as their word on a card-life change
/// ([`crate::cards::holder`]), compared as a PIN is tried: counted before
/// the comparison against the card, the user and the address
/// ([`throttle::identity`]: five compared, then the waits), and on the card
/// itself under its row lock ([`crate::cards::identity`]: ten wrong in a row
/// lock it against documents until head office unlocks it), in a
/// transaction of its own that commits whatever the document was. A card
/// locked against documents is refused before anything is counted. The
/// change's own transaction confirms the document again.
pub(super) async fn holders_identity(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    shown: &Identity,
) -> AppResult<()> {
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    identity::state(&mut conn, card.id)
        .await?
        .ensure_open(&card)?;
    let counters = throttle::identity(
        throttle::Holder::Card(card.id),
        actor.user_id,
        actor.address,
    );
    throttle::waiting(&mut conn, &counters, app.now()).await?;
    drop(conn);
    let now = app.now();
    let mut tx = app.db.begin_write().await?;
    throttle::take(&mut tx, &counters, now).await?;
    let card = cards::find_by_id_for_update(&mut tx, card.id).await?;
    let state = identity::state(&mut tx, card.id).await?;
    let recorded = match card.customer_id {
        Some(id) => Some(customers::get(&mut tx, id).await?),
        None => None,
    };
    let compared = if let Err(e) = state.ensure_open(&card) {
        Err(e)
    } else if !holder::on_record(recorded.as_ref()) {
        // Nothing to compare with: the change's own check says so.
        Ok(())
    } else {
        let right = recorded
            .as_ref()
            .is_some_and(|h| holder::same_document(h, shown));
        let counted = identity::count(&mut tx, &card, state, right, now).await;
        match counted {
            Ok(()) if !right => Err(AppError::new(
                Code::IdentityMismatch,
                format!(
                    "the document shown is not the one on record for card {}",
                    card.number
                ),
            )),
            other => other,
        }
    };
    // A wrong document compared keeps its try; one refused unread (the
    // card already locked) and a right one give it back.
    let wrong = compared.is_err() && state.locked_at.is_none();
    if !wrong {
        throttle::succeeded(&mut tx, &counters).await?;
    }
    tx.commit().await?;
    compared
}

/// A customer's ID document offered as the evidence of their consent to
/// share with partners: compared against their record as a holder's
/// document is, counted against the customer, the user and the address
/// ([`throttle::identity`]) in a transaction of its own that commits
/// whatever the document was.
pub(super) async fn customers_identity(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    shown: &Identity,
) -> AppResult<()> {
    let counters = throttle::identity(
        throttle::Holder::Customer(customer_id),
        actor.user_id,
        actor.address,
    );
    let mut conn = app.db.pool().acquire().await?;
    let recorded = customers::get(&mut conn, customer_id).await?;
    if !holder::on_record(Some(&recorded)) {
        return Err(AppError::new(
            Code::ConsentEvidenceRequired,
            format!(
                "no ID document is on record for customer {customer_id}: their card's PIN \
                 is the evidence"
            ),
        ));
    }
    throttle::waiting(&mut conn, &counters, app.now()).await?;
    drop(conn);
    let mut tx = app.db.begin_write().await?;
    throttle::take(&mut tx, &counters, app.now()).await?;
    let recorded = customers::get(&mut tx, customer_id).await?;
    let right = holder::same_document(&recorded, shown);
    if right {
        throttle::succeeded(&mut tx, &counters).await?;
    }
    tx.commit().await?;
    if right {
        Ok(())
    } else {
        Err(AppError::new(
            Code::IdentityMismatch,
            format!("the document shown is not the one on record for customer {customer_id}"),
        ))
    }
}

/// The PIN of one of the customer's own cards offered as the evidence of
/// their consent to share with partners: a card of another holder, or one
/// without a PIN, is no evidence; the PIN is tried and counted exactly as a
/// sale's ([`pin_try`]). The card's id, for the record of the consent.
pub async fn customers_pin(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    number: &CardNumber,
    pin: &str,
) -> AppResult<i64> {
    well_formed_pin(Some(pin))?;
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    drop(conn);
    if card.customer_id != Some(customer_id) || card.pin_verifier.is_none() {
        return Err(AppError::new(
            Code::ConsentEvidenceRequired,
            format!(
                "card {} is not a card of customer {customer_id} with a PIN: give the PIN of \
                 one of their own cards, or check their ID document",
                card.number
            ),
        ));
    }
    pin_try(app, actor, &card, Some(pin)).await?;
    Ok(card.id)
}

/// The PIN try of [`before_fuelling`], given the card as read just before:
/// counted against the user and the address ([`throttle::pin`]) before the
/// comparison, and against the card itself under its row lock, in a
/// transaction that commits whatever the PIN was.
pub(crate) async fn pin_try(
    app: &App,
    actor: &Actor,
    card: &Card,
    pin: Option<&str>,
) -> AppResult<()> {
    if card.pin_verifier.is_none() {
        return Ok(());
    }
    let counters = throttle::pin(actor.user_id, actor.address);
    let mut conn = app.db.pool().acquire().await?;
    throttle::waiting(&mut conn, &counters, app.now()).await?;
    drop(conn);
    let mut tx = app.db.begin_write().await?;
    throttle::take(&mut tx, &counters, app.now()).await?;
    let card = cards::find_by_id_for_update(&mut tx, card.id).await?;
    let checked = cards::check_pin(&mut tx, &app.keys.pin, &card, pin).await;
    let wrong = checked
        .as_ref()
        .is_err_and(|e| matches!(e.code, Code::WrongPin | Code::PinLocked));
    if !wrong {
        throttle::succeeded(&mut tx, &counters).await?;
    }
    tx.commit().await?;
    checked
}

/// The cards of the holder with this exact phone that the caller may see,
/// each as the caller may see it (phone masked where the policy says), for
/// the counter to pick the right one by holder, kind, status and balance.
pub async fn cards_by_phone(app: &App, actor: &Actor, phone: &str) -> AppResult<Vec<CardView>> {
    crate::auth::policy::authorize_role(actor, Action::ReadCard)?;
    let mut conn = app.db.pool().acquire().await?;
    let numbers = cards::customers::cards_by_phone(&mut conn, phone).await?;
    let mut found = Vec::new();
    for n in numbers {
        let number = cards::parse_number(&n)?;
        if let Ok(card) = cards::find_visible(&mut conn, actor, &number).await {
            found.push(cards::view(&mut conn, &card, actor).await?);
        }
    }
    Ok(found)
}

//! A card's life at the counter: its holder's record, opening the card,
//! and the changes that need the holder's word (loss, replacement,
//! conversion, unlock, closure).

use axum::http::StatusCode;
use serde::Serialize;

use super::counter::{company_word, holders_identity, holders_pin};
use super::{App, Done, Keyed, create, idempotent, once};
use crate::alliance::offers::Event;
use crate::alliance::{engine, voids};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, Target, authorize};
use crate::cards::customers::{self, Customer, NewCustomer};
use crate::cards::holder::{Identity, Word};
use crate::cards::openings::{self, Channel};
use crate::cards::{self, CardKind, CardNumber, CardView, NewCard, life, pin, transfer};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::vehicles::{self, NewVehicle, VehicleInput};

/// Opens a customer record (person or company), under the request's key
/// when it sent one. A record opened with consent to share with partners
/// needs the ID document number typed from the document the customer
/// shows ([`NewCustomer::validate`]): the consent is the customer's, and
/// it is audited with that evidence.
pub async fn add_customer(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    new: &NewCustomer,
) -> AppResult<Done<Customer>> {
    authorize(actor, Action::AddCustomer, &Target::network())?;
    new.validate()?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let by = customers::ConsentBy {
                user: at.actor.audit_id(),
                station: at.actor.station_id,
                now: at.now,
            };
            let c = customers::create_by(conn, new, by).await?;
            crate::audit::record(
                conn,
                at.now,
                Some(at.actor.user_id),
                "customer_create",
                &c.id.to_string(),
                serde_json::json!({"kind": c.kind}),
            )
            .await?;
            if c.consents.share_with_partners {
                at.audit(
                    conn,
                    "customer_consent_given",
                    &c.id.to_string(),
                    serde_json::json!({"evidence": "identity", "with": "customer_create"}),
                )
                .await?;
            }
            Ok(c.shown_to(at.actor))
        })
    })
    .await
}

/// A card to open.
pub struct OpenCard {
    pub kind: CardKind,
    /// The holder on file…
    pub customer_id: Option<i64>,
    /// …or a new one, created with the card.
    pub customer: Option<NewCustomer>,
    /// The company main card, for a sub-card or fleet card.
    pub parent: Option<CardNumber>,
    /// The main card's PIN: a card under it opens only on the company's word.
    pub parent_pin: Option<String>,
    /// The vehicle a fleet card is bound to.
    pub plate: Option<String>,
    pub pin: Option<String>,
    /// The station code where the card is issued (the user's own when absent).
    pub station: Option<String>,
    /// A fleet card's vehicle, registered for the company with the card.
    pub vehicle: Option<VehicleInput>,
    /// How the customer came; at the station itself when absent.
    pub channel: Option<Channel>,
}

/// Opens a card, with a new holder if one is given, in one transaction.
pub async fn open(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    order: OpenCard,
) -> AppResult<Done<CardView>> {
    authorize(actor, Action::OpenCard, &Target::network())?;
    if order.customer_id.is_some() && order.customer.is_some() {
        return Err(AppError::new(
            Code::ValidationFailed,
            "give either customer_id or a new customer, not both",
        ));
    }
    if let Some(c) = &order.customer {
        c.validate()?;
    }
    let channel = order
        .channel
        .as_ref()
        .map(Channel::validate)
        .transpose()?
        .unwrap_or_else(Channel::in_station);
    let prospect = channel.prospect()?;
    let protected = order
        .pin
        .as_deref()
        .map(|p| pin::protect(&app.keys.pin, p))
        .transpose()?;
    let plate = match order.plate.as_deref().map(str::trim) {
        Some(p) if p.is_empty() || p.chars().count() > 16 => {
            return Err(AppError::new(
                Code::ValidationFailed,
                "plate: 1–16 characters",
            ));
        }
        p => p.map(vehicles::normalise_plate),
    };
    let vehicle = match &order.vehicle {
        Some(v) => Some(vehicle_of(&order, v)?),
        None => None,
    };
    if let Some(number) = &order.parent {
        let mut conn = app.db.pool().acquire().await?;
        let main = cards::find(&mut conn, number).await?;
        drop(conn);
        let pin = order.parent_pin.as_deref();
        if vehicle.is_some() {
            transfer::consent(actor, Action::RegisterVehicle, &main, pin)?;
        }
        company_word(app, actor, &main, pin).await?;
    }
    let (order, plate, protected, vehicle) = (&order, &plate, &protected, &vehicle);
    let channel = &channel;
    let tz = app.settings.time_zone;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let now = at.now;
            let parent = match &order.parent {
                Some(n) => Some(cards::find(conn, n).await?),
                None => None,
            };
            let station =
                crate::stations::issuing(conn, at.actor, order.station.as_deref()).await?;
            let customer_id = match &order.customer {
                Some(c) => {
                    let by = customers::ConsentBy {
                        user: at.actor.audit_id(),
                        station: station.as_ref().map(|s| s.id),
                        now,
                    };
                    let created = customers::create_by(conn, c, by).await?;
                    if created.consents.share_with_partners {
                        at.audit(
                            conn,
                            "customer_consent_given",
                            &created.id.to_string(),
                            serde_json::json!({"evidence": "identity", "with": "card_open"}),
                        )
                        .await?;
                    }
                    Some(created.id)
                }
                None => order.customer_id,
            };
            let card = cards::open(
                conn,
                &NewCard {
                    kind: order.kind,
                    customer_id,
                    parent: parent.as_ref(),
                    plate: plate.as_deref(),
                    pin: protected.clone(),
                    station_id: station.as_ref().map(|s| s.id),
                },
                now,
            )
            .await?;
            if let Some(id) = prospect {
                crate::acquisition::prospects::get(conn, id, now)
                    .await
                    .map_err(|e| e.with("field", "channel"))?;
            }
            let station_id = station.as_ref().map(|s| s.id);
            openings::record(
                conn,
                &card,
                at.actor.user_id,
                station_id,
                channel,
                prospect,
                now,
            )
            .await?;
            at.audit(
                conn,
                "card_open",
                &card.number,
                serde_json::json!({"kind": order.kind, "channel": channel}),
            )
            .await?;
            if let (Some(v), Some(company)) = (vehicle, card.customer_id) {
                let v = vehicles::create(conn, company, v, now).await?;
                at.audit(
                    conn,
                    "vehicle_add",
                    &v.plate,
                    serde_json::json!({"company": company, "card": card.number}),
                )
                .await?;
            }
            let earned = engine::on_event(
                conn,
                &engine::Happened {
                    event: Event::CardOpened,
                    card: &card,
                    station: station.as_ref().map(|s| (s.id, s.code.as_str())),
                    amount: None,
                    key: format!("card_opened:{}", card.id),
                },
                now,
                tz,
            )
            .await?;
            let mut view = cards::view(conn, &card, at.actor).await?;
            view.benefits = earned.benefits;
            view.notices = earned.notices;
            Ok(view)
        })
    })
    .await
}

/// The vehicle given with a fleet card: checked whole before anything is
/// written, and bound to the card's plate.
fn vehicle_of(order: &OpenCard, v: &VehicleInput) -> AppResult<NewVehicle> {
    if order.kind != CardKind::Fleet || order.parent.is_none() {
        return Err(AppError::invalid(
            "vehicle",
            "a vehicle is registered with its fleet card, under the company's main card",
        ));
    }
    let new = v.validate()?;
    let plate = order.plate.as_deref().map(vehicles::normalise_plate);
    if plate.as_deref() != Some(new.plate.as_str()) {
        return Err(AppError::invalid(
            "vehicle",
            "the vehicle's plate must be the card's plate",
        ));
    }
    Ok(new)
}

/// A card's number and status after a change.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusChanged {
    pub number: String,
    pub status: cards::CardStatus,
}

async fn status_of(app: &App, number: &CardNumber) -> AppResult<StatusChanged> {
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    Ok(StatusChanged {
        number: card.number,
        status: card.status,
    })
}

/// 挂失: blacklists the card at every station at once.
pub async fn report_loss(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
) -> AppResult<StatusChanged> {
    authorize(actor, Action::ReportLoss, &Target::network())?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let card = cards::find_for_update(conn, number).await?;
            life::report_lost(conn, at.actor, &card, at.now).await
        })
    })
    .await?;
    status_of(app, number).await
}

/// The holder's word as a request gives it: the card's PIN or the holder's
/// ID document ([`crate::cards::holder`]).
#[derive(Clone, Debug, Default)]
pub struct HolderWord {
    pub pin: Option<String>,
    pub identity: Option<Identity>,
}

impl HolderWord {
    /// Tries the PIN, if one was given, or else compares the ID document
    /// (either try counts, in a transaction of its own), and returns the
    /// word the change's own transaction confirms.
    async fn tried(&self, app: &App, actor: &Actor, number: &CardNumber) -> AppResult<Word<'_>> {
        let identity = self.identity.as_ref();
        holders_pin(app, actor, number, self.pin.as_deref(), identity.is_some()).await?;
        if let (None, Some(shown)) = (&self.pin, identity) {
            holders_identity(app, actor, number, shown).await?;
        }
        Ok(Word::offered(self.pin.is_some(), identity))
    }
}

/// A cashier unlocks a PIN-locked card on the holder's word.
pub async fn unlock(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    word: &HolderWord,
) -> AppResult<StatusChanged> {
    authorize(actor, Action::ChangeCardLife, &Target::network())?;
    let word = word.tried(app, actor, number).await?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let card = cards::find_for_update(conn, number).await?;
            life::unlock(conn, at.actor, &card, word, at.now).await
        })
    })
    .await?;
    status_of(app, number).await
}

/// Head office lifts a card's lock against ID documents
/// ([`cards::identity`]), audited with the wrong documents it forgets. A
/// counter cannot: the lock is there because a counter tried too many.
pub async fn identity_unlock(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
) -> AppResult<StatusChanged> {
    authorize(actor, Action::UnlockIdentity, &Target::network())?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let card = cards::find_for_update(conn, number).await?;
            let before = cards::identity::unlock(conn, &card).await?;
            let holder = crate::auth::throttle::Holder::Card(card.id);
            crate::auth::throttle::forget_holder(conn, holder).await?;
            at.audit(
                conn,
                "card_identity_unlock",
                &card.number,
                serde_json::json!({
                    "identity_failures": before.failures,
                    "locked_at": before.locked_at.map(crate::time::format_us),
                }),
            )
            .await
        })
    })
    .await?;
    status_of(app, number).await
}

/// 补卡: a new card receives the balance, under the key.
pub async fn replace(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    number: &CardNumber,
    word: &HolderWord,
    station: Option<&str>,
) -> AppResult<Done<life::Replaced>> {
    authorize(actor, Action::ChangeCardLife, &Target::network())?;
    let word = word.tried(app, actor, number).await?;
    let wait = app.settings.replacement_wait_hours;
    idempotent(app, actor, key, StatusCode::CREATED, |conn, at| {
        Box::pin(async move {
            let card = cards::find_for_update(conn, number).await?;
            let replaced =
                life::replace(conn, at.actor, &card, word, wait, station, at.now).await?;
            // The money moved to the new card, and its benefits with it.
            let new = cards::find(conn, &cards::parse_number(&replaced.number)?).await?;
            voids::carry_over(conn, card.id, new.id).await?;
            Ok(replaced)
        })
    })
    .await
}

/// An anonymous card becoming a registered personal card.
pub struct Conversion {
    /// An existing person customer…
    pub customer_id: Option<i64>,
    /// …or the new holder's details.
    pub customer: Option<NewCustomer>,
    pub word: HolderWord,
    /// A PIN for the card from now on.
    pub new_pin: Option<String>,
}

/// 转卡: the card gets its holder (and a PIN, if one is given).
pub async fn convert(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    order: Conversion,
) -> AppResult<CardView> {
    authorize(actor, Action::ChangeCardLife, &Target::network())?;
    if let Some(c) = &order.customer {
        c.validate()?;
    }
    if let Some(p) = &order.new_pin {
        pin::protect(&app.keys.pin, p)?;
    }
    life::Holder::from_request(order.customer_id, order.customer.as_ref())?;
    let word = order.word.tried(app, actor, number).await?;
    let (key, order) = (&app.keys.pin, &order);
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let card = cards::find_for_update(conn, number).await?;
            let holder = life::Holder::from_request(order.customer_id, order.customer.as_ref())?;
            let new_pin = order.new_pin.as_deref().map(|p| (key, p));
            life::convert(conn, at.actor, &card, word, holder, new_pin, at.now).await?;
            let card = cards::find_for_update(conn, number).await?;
            cards::view(conn, &card, at.actor).await
        })
    })
    .await
}

/// Closes the card. Whose money it is decides how, and who may
/// ([`life::close`], [`life::close_company_account`]):
///
/// - a personal or anonymous card at a counter, on the holder's word: the
///   principal refunded in cash, the unspent bonus clawed back;
/// - a company sub-card or fleet card at a counter, on the holder's word:
///   its whole balance back to the company's main card — no money leaves
///   the company, so the counter may do it as before;
/// - a company main card only by head office or the company's own fleet
///   manager ([`Action::CloseCompanyAccount`]), whose decision is the
///   company's word: its balance owed to the company, paid by bank
///   transfer. A counter is refused (`company_closure_head_office`) before
///   any PIN is tried, since a registration number shown there proves
///   nothing about who speaks for the company.
pub async fn close(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    number: &CardNumber,
    word: &HolderWord,
    station: Option<&str>,
) -> AppResult<Done<life::Closed>> {
    if !policy::may(actor, Action::ChangeCardLife)
        && !policy::may(actor, Action::CloseCompanyAccount)
    {
        return Err(AppError::new(Code::Forbidden, "your role may not do this"));
    }
    let mut conn = app.db.pool().acquire().await?;
    let seen = cards::find_visible(&mut conn, actor, number).await?;
    drop(conn);
    if seen.kind == CardKind::CompanyMain {
        if !policy::may(actor, Action::CloseCompanyAccount) {
            return Err(life::head_office_only(&seen));
        }
        let company = Target::company_opt(seen.customer_id);
        authorize(actor, Action::CloseCompanyAccount, &company)?;
        return idempotent(app, actor, key, StatusCode::OK, |conn, at| {
            Box::pin(async move {
                let card = cards::find_for_update(conn, number).await?;
                let closed = life::close_company_account(conn, at.actor, &card, at.now).await?;
                let user = Some(at.actor.user_id);
                voids::for_card(conn, card.id, voids::CARD_CLOSED, user, at.now).await?;
                Ok(closed)
            })
        })
        .await;
    }
    authorize(actor, Action::ChangeCardLife, &Target::network())?;
    let word = word.tried(app, actor, number).await?;
    idempotent(app, actor, key, StatusCode::OK, |conn, at| {
        Box::pin(async move {
            let (card, main) = life::for_closure(conn, number).await?;
            let closed =
                life::close(conn, at.actor, &card, main.as_ref(), word, station, at.now).await?;
            // The money that earned the card's benefits is gone with it.
            let user = Some(at.actor.user_id);
            voids::for_card(conn, card.id, voids::CARD_CLOSED, user, at.now).await?;
            Ok(closed)
        })
    })
    .await
}

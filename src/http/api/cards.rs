//! Customers and cards: open, look up, statement, recharge, card life.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, CreateRequest, MoneyRequest};
use super::{ApiPath, ApiQuery, CreationKey, IdempotencyKey, amount};
use crate::actions::App;
use crate::actions::card_life::{self, HolderWord, StatusChanged};
use crate::actions::{Done, counter, reads};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize, authorize_role};
use crate::cards::customers::{Customer, NewCustomer};
use crate::cards::holder::Identity;
use crate::cards::openings::Channel;
use crate::cards::recharge::{PaymentMethod, Quote, Recharged};
use crate::cards::statement::Statement;
use crate::cards::{self, CardKind, CardView, life};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::vehicles::VehicleInput;
use crate::http::openapi::{AmountText, CardNumberText, PinText};

/// Opens a customer record (person or company). Takes an Idempotency-Key.
/// A record opened with consent to share with partners needs the ID
/// document number typed from the document the customer shows (refused
/// `consent_evidence_required` without): the consent is the customer's.
#[utoipa::path(post, path = "/api/v1/customers", request_body = NewCustomer, params(CreationKey),
    responses((status = 201, description = "The new customer (or the first answer to this key, replayed)", body = Customer)))]
pub async fn add_customer(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<NewCustomer>,
) -> AppResult<Done<Customer>> {
    card_life::add_customer(&state, &actor, req.key.as_ref(), &req.body).await
}

/// A customer's archive, looked up by id: only by those who may see
/// customers' personal data (the admin, HQ, a fleet manager their own
/// company). The counter finds a customer by exact card number or phone
/// instead.
#[utoipa::path(get, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "The customer id")),
    responses((status = 200, description = "The customer with their archive", body = crate::crm::archive::Archive)))]
pub async fn get_customer(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<crate::crm::archive::Archive>> {
    Ok(Json(
        crate::actions::crm::customer_archive(&state, &actor, id).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCard {
    pub kind: CardKind,
    pub customer_id: Option<i64>,
    /// The company main card, for a sub-card or fleet card.
    #[schema(value_type = Option<CardNumberText>)]
    pub parent_card: Option<String>,
    /// The main card's PIN: a card under it is opened only on the company's
    /// word.
    #[schema(value_type = Option<PinText>)]
    pub parent_pin: Option<String>,
    /// The vehicle a fleet card is bound to.
    #[schema(min_length = 1, max_length = 16, example = "浙A12345")]
    pub plate: Option<String>,
    /// 4–6 digits; kept only as a keyed verifier. A company main card
    /// needs one: the company's money moves only with it.
    #[schema(value_type = Option<PinText>)]
    pub pin: Option<String>,
    /// The station code where the card is issued (default: the user's own).
    pub station: Option<String>,
    /// A fleet card's vehicle, registered for the company with the card: a
    /// counter does this with `parent_pin`, the company's word.
    pub vehicle: Option<VehicleInput>,
    /// How the customer came (a flyer batch, a referral, a visit …); at the
    /// station itself when absent.
    pub channel: Option<Channel>,
    /// A company's sub-card or fleet card that buys on the company's credit
    /// line (挂账) instead of a balance: opened by head office or the
    /// company's fleet manager, with `customer_id` and no main card.
    pub credit: Option<bool>,
}

/// Opens a card of any kind. Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/cards", request_body = OpenCard, params(CreationKey),
    responses((status = 201, description = "The new card (or the first answer to this key, replayed)", body = CardView)))]
pub async fn open_card(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<OpenCard>,
) -> AppResult<Done<CardView>> {
    let body = req.body;
    if body.credit == Some(true) {
        return open_credit_card(&state, &actor, req.key.as_ref(), body).await;
    }
    let order = card_life::OpenCard {
        kind: body.kind,
        customer_id: body.customer_id,
        customer: None,
        parent: body
            .parent_card
            .as_deref()
            .map(cards::parse_number)
            .transpose()?,
        parent_pin: body.parent_pin,
        plate: body.plate,
        pin: body.pin,
        station: body.station,
        vehicle: body.vehicle,
        channel: body.channel,
    };
    card_life::open(&state, &actor, req.key.as_ref(), order).await
}

/// A card on a company's credit line: only the members such a card has.
async fn open_credit_card(
    state: &App,
    actor: &Actor,
    key: Option<&crate::actions::Keyed>,
    body: OpenCard,
) -> AppResult<Done<CardView>> {
    let unused = [
        ("parent_card", body.parent_card.is_some()),
        ("parent_pin", body.parent_pin.is_some()),
        ("vehicle", body.vehicle.is_some()),
        ("channel", body.channel.is_some()),
    ];
    if let Some((field, _)) = unused.iter().find(|(_, given)| *given) {
        return Err(AppError::invalid(
            field,
            format!("{field}: a credit card buys on its company's line, without it"),
        ));
    }
    let customer_id = body.customer_id.ok_or_else(|| {
        AppError::invalid(
            "customer_id",
            "customer_id: the company on credit is required",
        )
    })?;
    let order = crate::actions::credit::CreditCard {
        kind: body.kind,
        customer_id,
        plate: body.plate,
        pin: body.pin,
        station: body.station,
    };
    crate::actions::credit::open_card(state, actor, key, order).await
}

/// A card with its holder, status and balances.
#[utoipa::path(get, path = "/api/v1/cards/{number}", params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card", body = CardView)))]
pub async fn get_card(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<CardView>> {
    let number = cards::parse_number(&number)?;
    Ok(Json(reads::card(&state, &actor, &number).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The holder's phone number.
    pub phone: Option<String>,
    /// A company customer id: its cards.
    pub customer_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CardList {
    pub items: Vec<CardView>,
}

/// Finds cards by the holder's phone or by company.
#[utoipa::path(get, path = "/api/v1/cards", params(SearchQuery),
    responses((status = 200, description = "The cards found that the user may see (at most 500)", body = CardList)))]
pub async fn search(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> AppResult<Json<CardList>> {
    authorize_role(&actor, Action::ReadCard)?;
    if let Some(phone) = q.phone.as_deref() {
        let items = crate::actions::counter::cards_by_phone(&state, &actor, phone).await?;
        return Ok(Json(CardList { items }));
    }
    let Some(id) = q.customer_id else {
        return Err(AppError::new(
            Code::ValidationFailed,
            "search by phone or customer_id",
        ));
    };
    let items = reads::cards_of_customer(&state, &actor, id).await?;
    Ok(Json(CardList { items }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1 (default 1).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    /// Lines per page (default 20).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<i64>,
}

/// The last statement page a request may ask for; bounds the offset.
const MAX_PAGE: i64 = 1_000_000;

/// The card's statement, newest first, paged.
#[utoipa::path(get, path = "/api/v1/cards/{number}/transactions", params(("number" = CardNumberText, Path), PageQuery),
    responses((status = 200, description = "One page of the statement", body = Statement)))]
pub async fn statement(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> AppResult<Json<Statement>> {
    let number = cards::parse_number(&number)?;
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&page) || !(1..=200).contains(&per_page) {
        return Err(AppError::new(
            Code::ValidationFailed,
            format!("page: 1 to {MAX_PAGE}; per_page: 1 to 200"),
        ));
    }
    Ok(Json(
        reads::statement(&state, &actor, &number, page, per_page).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The recharge amount, yuan.
    #[param(value_type = AmountText)]
    pub amount: String,
    /// A campaign to apply, if it is in force for the card.
    #[param(max_length = 64)]
    pub campaign_code: Option<String>,
}

/// What a recharge would earn (bonus, gift), before confirming.
#[utoipa::path(get, path = "/api/v1/cards/{number}/recharge-preview", params(("number" = CardNumberText, Path), PreviewQuery),
    responses((status = 200, description = "What the recharge would earn; nothing is booked", body = Quote)))]
pub async fn recharge_preview(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> AppResult<Json<Quote>> {
    // Asked before the request is read, so a caller who may not recharge
    // learns nothing from how a request would be refused.
    authorize(&actor, Action::Recharge, &Target::network())?;
    let number = cards::parse_number(&number)?;
    let amount = amount("amount", &q.amount)?;
    let campaign = q.campaign_code.as_deref();
    Ok(Json(
        reads::recharge_preview(&state, &actor, &number, amount, campaign).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RechargeBody {
    /// Yuan as a string, at most two decimals.
    #[schema(value_type = AmountText)]
    pub amount: String,
    pub payment_method: PaymentMethod,
    /// A campaign to apply, if it is in force for the card.
    #[schema(max_length = 64)]
    pub campaign_code: Option<String>,
    /// The station code (default: the user's own).
    pub station: Option<String>,
}

/// Recharge (充值) with the promotion in force. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/cards/{number}/recharges", request_body = RechargeBody,
    params(("number" = CardNumberText, Path), IdempotencyKey),
    responses((status = 201, description = "The recharge, booked (or the first answer to this key, replayed)", body = Recharged)))]
pub async fn recharge(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    req: MoneyRequest<RechargeBody>,
) -> AppResult<Done<Recharged>> {
    let order = counter::Recharge {
        number: cards::parse_number(&number)?,
        amount: amount("amount", &req.body.amount)?,
        method: req.body.payment_method,
        campaign_code: req.body.campaign_code,
        station: req.body.station,
    };
    counter::recharge(&state, &actor, &req.key, order).await
}

/// 挂失: blacklists the card at every station at once.
#[utoipa::path(post, path = "/api/v1/cards/{number}/loss-report", params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card, now lost", body = StatusChanged)))]
pub async fn loss_report(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<StatusChanged>> {
    let number = cards::parse_number(&number)?;
    Ok(Json(card_life::report_loss(&state, &actor, &number).await?))
}

/// A cashier unlocks a PIN-locked card.
#[utoipa::path(post, path = "/api/v1/cards/{number}/unlock", request_body = Option<UnlockBody>,
    params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card, unlocked", body = StatusChanged)))]
pub async fn unlock(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<UnlockBody>,
) -> AppResult<Json<StatusChanged>> {
    let number = cards::parse_number(&number)?;
    let word = HolderWord {
        pin: body.pin,
        identity: body.identity,
    };
    Ok(Json(
        card_life::unlock(&state, &actor, &number, &word).await?,
    ))
}

/// Head office lifts a card's lock against ID documents, set after ten
/// wrong documents in a row: until then the card accepts none
/// (`identity_locked`), its PIN still speaks for the holder. Audited.
#[utoipa::path(post, path = "/api/v1/cards/{number}/identity-unlock",
    params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card, accepting ID documents again", body = StatusChanged)))]
pub async fn identity_unlock(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<StatusChanged>> {
    let number = cards::parse_number(&number)?;
    Ok(Json(
        card_life::identity_unlock(&state, &actor, &number).await?,
    ))
}

/// A card-life change at the counter, with the holder's word: the card's
/// PIN, or the holder's ID document checked against the record.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterBody {
    /// The station code (default: the user's own).
    pub station: Option<String>,
    /// The card's PIN (a wrong one counts as a try).
    #[schema(value_type = Option<PinText>)]
    pub pin: Option<String>,
    /// The holder's ID document, when the PIN is forgotten or the card lost.
    pub identity: Option<Identity>,
}

impl CounterBody {
    /// The holder's word and the station the change is made at.
    fn word(self) -> (HolderWord, Option<String>) {
        let word = HolderWord {
            pin: self.pin,
            identity: self.identity,
        };
        (word, self.station)
    }
}

/// The holder's word on unlocking a card: their ID document (a locked
/// card's PIN is refused until it is unlocked).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockBody {
    /// The card's PIN (refused while the card is locked).
    #[schema(value_type = Option<PinText>)]
    pub pin: Option<String>,
    /// The holder's ID document.
    pub identity: Option<Identity>,
}

/// 补卡: a new card receives the balance. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/cards/{number}/replacement", request_body = Option<CounterBody>,
    params(("number" = CardNumberText, Path), IdempotencyKey),
    responses((status = 201, description = "The new card, holding the old card's balance", body = life::Replaced)))]
pub async fn replacement(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    req: MoneyRequest<CounterBody>,
) -> AppResult<Done<life::Replaced>> {
    let number = cards::parse_number(&number)?;
    let (word, station) = req.body.word();
    card_life::replace(&state, &actor, &req.key, &number, &word, station.as_deref()).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionBody {
    /// An existing person customer…
    pub customer_id: Option<i64>,
    /// …or the new holder's details.
    pub customer: Option<NewCustomer>,
    /// The card's PIN, when the anonymous card has one: the bearer's word.
    #[schema(value_type = Option<PinText>)]
    pub pin: Option<String>,
    /// An ID document: an anonymous card has no holder on record, so only
    /// its PIN (or, without one, the card itself) speaks for it.
    pub identity: Option<Identity>,
    /// A PIN for the card from now on.
    #[schema(value_type = Option<PinText>)]
    pub new_pin: Option<String>,
}

/// 转卡: an anonymous card becomes a registered personal card.
#[utoipa::path(post, path = "/api/v1/cards/{number}/conversion", request_body = ConversionBody,
    params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card, now personal", body = CardView)))]
pub async fn conversion(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<ConversionBody>,
) -> AppResult<Json<CardView>> {
    let number = cards::parse_number(&number)?;
    let order = card_life::Conversion {
        customer_id: body.customer_id,
        customer: body.customer,
        word: HolderWord {
            pin: body.pin,
            identity: body.identity,
        },
        new_pin: body.new_pin,
    };
    Ok(Json(
        card_life::convert(&state, &actor, &number, order).await?,
    ))
}

/// Closes the card. A personal or anonymous card: the principal refunded in
/// cash, the unspent bonus clawed back, on the holder's word. A company
/// sub-card or fleet card: its whole balance (principal and bonus) moves to
/// the company's main card (`paid_by` `main_card`, `to_main_card`,
/// `moved_to_main_card`), on the holder's word, no cash. A company main
/// card (its sub-cards closed first): head office or the company's fleet
/// manager only, no PIN or document — its principal is owed to the company
/// (`payable`, `paid_by` `bank_transfer`) and its bonus clawed back; a
/// counter is refused with `company_closure_head_office`.
#[utoipa::path(post, path = "/api/v1/cards/{number}/closure", request_body = Option<CounterBody>,
    params(("number" = CardNumberText, Path), IdempotencyKey),
    responses((status = 200, description = "The card, closed, with where its money went: refunded in cash, moved to the company's main card, or owed to the company by bank transfer", body = life::Closed)))]
pub async fn closure(
    State(state): State<App>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    req: MoneyRequest<CounterBody>,
) -> AppResult<Done<life::Closed>> {
    let number = cards::parse_number(&number)?;
    let (word, station) = req.body.word();
    card_life::close(&state, &actor, &req.key, &number, &word, station.as_deref()).await
}

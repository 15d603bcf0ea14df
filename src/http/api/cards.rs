//! Customers and cards: open, look up, statement, recharge, card life.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::super::AppState;
use super::super::extract::{ApiJson, MoneyRequest, idempotent, in_transaction};
use super::{ApiPath, ApiQuery, IdempotencyKey, amount, sales};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize, authorize_role, permits};
use crate::cards::customers::{self, Customer, NewCustomer};
use crate::cards::holder::{Identity, Word};
use crate::cards::recharge::{self, PaymentMethod, Quote, RechargeRequest, Recharged};
use crate::cards::statement::{self, Statement};
use crate::cards::{self, CardKind, CardView, NewCard, life, pin};
use crate::error::{AppError, AppResult, Code};
use crate::http::openapi::{AmountText, CardNumberText, PinText};

/// Opens a customer record (person or company).
#[utoipa::path(post, path = "/api/v1/customers", request_body = NewCustomer,
    responses((status = 201, description = "The new customer", body = Customer)))]
pub async fn add_customer(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<NewCustomer>,
) -> AppResult<(StatusCode, Json<Customer>)> {
    let now = state.now();
    authorize(&actor, Action::AddCustomer, &Target::network())?;
    body.validate()?;
    let c = in_transaction(&state, |conn| {
        let body = body.clone();
        let actor = actor.clone();
        Box::pin(async move {
            let c = customers::create(conn, &body, now).await?;
            crate::audit::record(
                conn,
                now,
                Some(actor.user_id),
                "customer_create",
                &c.id.to_string(),
                serde_json::json!({"kind": c.kind}),
            )
            .await?;
            Ok(c)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(c.shown_to(&actor))))
}

/// A customer, looked up by id: only by those who may see customers'
/// personal data (the admin, HQ, a fleet manager their own company). The
/// counter finds a customer by exact card number or phone instead.
#[utoipa::path(get, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "The customer id")),
    responses((status = 200, description = "The customer", body = Customer)))]
pub async fn get_customer(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Customer>> {
    authorize(&actor, Action::ReadPersonalData, &Target::company(id))?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(customers::get(&mut conn, id).await?))
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
}

/// Opens a card of any kind.
#[utoipa::path(post, path = "/api/v1/cards", request_body = OpenCard,
    responses((status = 201, description = "The new card", body = CardView)))]
pub async fn open_card(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<OpenCard>,
) -> AppResult<(StatusCode, Json<CardView>)> {
    let now = state.now();
    authorize(&actor, Action::OpenCard, &Target::network())?;
    let parent = body
        .parent_card
        .as_deref()
        .map(cards::parse_number)
        .transpose()?;
    let protected = body
        .pin
        .as_deref()
        .map(|p| pin::protect(&state.keys.pin, p))
        .transpose()?;
    if let Some(number) = &parent {
        let mut conn = state.db.pool().acquire().await?;
        let main = cards::find(&mut conn, number).await?;
        drop(conn);
        super::sales::company_word(&state, &actor, &main, body.parent_pin.as_deref()).await?;
    }
    if let Some(plate) = &body.plate {
        if plate.trim().is_empty() || plate.chars().count() > 16 {
            return Err(AppError::new(
                Code::ValidationFailed,
                "plate: 1–16 characters",
            ));
        }
    }
    let view = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let parent = parent.clone();
        let protected = protected.clone();
        let plate = body.plate.as_ref().map(|p| p.trim().to_uppercase());
        let station = body.station.clone();
        let (kind, customer_id) = (body.kind, body.customer_id);
        Box::pin(async move {
            let parent = match &parent {
                Some(n) => Some(cards::find(conn, n).await?),
                None => None,
            };
            let station = crate::stations::for_counter(conn, &actor, station.as_deref())
                .await
                .ok();
            let card = cards::open(
                conn,
                &NewCard {
                    kind,
                    customer_id,
                    parent: parent.as_ref(),
                    plate: plate.as_deref(),
                    pin: protected,
                    station_id: station.map(|s| s.id),
                },
                now,
            )
            .await?;
            crate::audit::record(
                conn,
                now,
                Some(actor.user_id),
                "card_open",
                &card.number,
                serde_json::json!({"kind": kind}),
            )
            .await?;
            cards::view(conn, &card, &actor).await
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A card with its holder, status and balances.
#[utoipa::path(get, path = "/api/v1/cards/{number}", params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card", body = CardView)))]
pub async fn get_card(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<CardView>> {
    let number = cards::parse_number(&number)?;
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find_visible(&mut conn, &actor, &number).await?;
    Ok(Json(cards::view(&mut conn, &card, &actor).await?))
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
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> AppResult<Json<CardList>> {
    authorize_role(&actor, Action::ReadCard)?;
    let mut conn = state.db.pool().acquire().await?;
    let numbers = match (q.phone.as_deref(), q.customer_id) {
        (Some(phone), _) => customers::cards_by_phone(&mut conn, phone).await?,
        // Listing a customer's cards by id is for those who may see the
        // customer; the counter searches by exact phone.
        (None, Some(id)) if !permits(&actor, Action::ReadPersonalData, &Target::company(id)) => {
            Vec::new()
        }
        (None, Some(id)) => {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT number FROM cards WHERE customer_id = $1 ORDER BY id LIMIT 500",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| r.try_get("number"))
                .collect::<Result<Vec<String>, _>>()?
        }
        (None, None) => {
            return Err(AppError::new(
                Code::ValidationFailed,
                "search by phone or customer_id",
            ));
        }
    };
    let mut items = Vec::new();
    for n in numbers {
        let number = cards::parse_number(&n)?;
        if let Ok(card) = cards::find_visible(&mut conn, &actor, &number).await {
            items.push(cards::view(&mut conn, &card, &actor).await?);
        }
    }
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
    State(state): State<AppState>,
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
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find_visible(&mut conn, &actor, &number).await?;
    Ok(Json(
        statement::page(&mut conn, &card, page, per_page).await?,
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
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> AppResult<Json<Quote>> {
    let now = state.now();
    authorize(&actor, Action::Recharge, &Target::network())?;
    let number = cards::parse_number(&number)?;
    let amount = amount("amount", &q.amount)?;
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find(&mut conn, &number).await?;
    Ok(Json(
        recharge::preview(&mut conn, &card, amount, q.campaign_code.as_deref(), now).await?,
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
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    req: MoneyRequest<RechargeBody>,
) -> AppResult<Response> {
    let now = state.now();
    authorize(&actor, Action::Recharge, &Target::network())?;
    let number = cards::parse_number(&number)?;
    let amt = amount("amount", &req.body.amount)?;
    if req
        .body
        .campaign_code
        .as_ref()
        .is_some_and(|c| c.len() > 64)
    {
        return Err(AppError::new(
            Code::ValidationFailed,
            "campaign_code: at most 64 characters",
        ));
    }
    let body = &req.body;
    idempotent(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::CREATED,
        |conn| {
            let actor = actor.clone();
            let number = number.clone();
            let campaign = body.campaign_code.clone();
            let station = body.station.clone();
            let method = body.payment_method;
            Box::pin(async move {
                recharge::recharge(
                    conn,
                    &actor,
                    RechargeRequest {
                        number: &number,
                        amount: amt,
                        method,
                        campaign_code: campaign.as_deref(),
                        station: station.as_deref(),
                    },
                    now,
                )
                .await
            })
        },
    )
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusChanged {
    pub number: String,
    pub status: cards::CardStatus,
}

async fn status_of(state: &AppState, number: &cards::CardNumber) -> AppResult<Json<StatusChanged>> {
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find(&mut conn, number).await?;
    Ok(Json(StatusChanged {
        number: card.number,
        status: card.status,
    }))
}

/// 挂失: blacklists the card at every station at once.
#[utoipa::path(post, path = "/api/v1/cards/{number}/loss-report", params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card, now lost", body = StatusChanged)))]
pub async fn loss_report(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<StatusChanged>> {
    let now = state.now();
    authorize(&actor, Action::ReportLoss, &Target::network())?;
    let number = cards::parse_number(&number)?;
    in_transaction(&state, |conn| {
        let actor = actor.clone();
        let number = number.clone();
        Box::pin(async move {
            let card = cards::find_for_update(conn, &number).await?;
            life::report_lost(conn, &actor, &card, now).await
        })
    })
    .await?;
    status_of(&state, &number).await
}

/// A cashier unlocks a PIN-locked card.
#[utoipa::path(post, path = "/api/v1/cards/{number}/unlock", request_body = Option<UnlockBody>,
    params(("number" = CardNumberText, Path)),
    responses((status = 200, description = "The card, unlocked", body = StatusChanged)))]
pub async fn unlock(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<UnlockBody>,
) -> AppResult<Json<StatusChanged>> {
    let now = state.now();
    authorize(&actor, Action::ChangeCardLife, &Target::network())?;
    let number = cards::parse_number(&number)?;
    let (pin, identity) = (body.pin.as_deref(), body.identity.as_ref());
    sales::holders_pin(&state, &actor, &number, pin, identity.is_some()).await?;
    in_transaction(&state, |conn| {
        let actor = actor.clone();
        let number = number.clone();
        let identity = body.identity.clone();
        let pin = body.pin.is_some();
        Box::pin(async move {
            let card = cards::find_for_update(conn, &number).await?;
            let word = Word::offered(pin, identity.as_ref());
            life::unlock(conn, &actor, &card, word, now).await
        })
    })
    .await?;
    status_of(&state, &number).await
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
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    req: MoneyRequest<CounterBody>,
) -> AppResult<Response> {
    let now = state.now();
    authorize(&actor, Action::ChangeCardLife, &Target::network())?;
    let number = cards::parse_number(&number)?;
    let wait = state.settings.replacement_wait_hours;
    let station = req.body.station.clone();
    let (pin, identity) = (req.body.pin.as_deref(), req.body.identity.as_ref());
    sales::holders_pin(&state, &actor, &number, pin, identity.is_some()).await?;
    let (pin, identity) = (pin.is_some(), req.body.identity.clone());
    idempotent(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::CREATED,
        |conn| {
            let actor = actor.clone();
            let number = number.clone();
            let station = station.clone();
            let identity = identity.clone();
            Box::pin(async move {
                let card = cards::find_for_update(conn, &number).await?;
                let word = Word::offered(pin, identity.as_ref());
                life::replace(conn, &actor, &card, word, wait, station.as_deref(), now).await
            })
        },
    )
    .await
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
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<ConversionBody>,
) -> AppResult<Json<CardView>> {
    let now = state.now();
    authorize(&actor, Action::ChangeCardLife, &Target::network())?;
    let number = cards::parse_number(&number)?;
    if let Some(c) = &body.customer {
        c.validate()?;
    }
    if let Some(p) = &body.new_pin {
        pin::protect(&state.keys.pin, p)?;
    }
    let identity = body.identity.as_ref();
    sales::holders_pin(
        &state,
        &actor,
        &number,
        body.pin.as_deref(),
        identity.is_some(),
    )
    .await?;
    let key = state.keys.pin.clone();
    let view = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let number = number.clone();
        let customer = body.customer.clone();
        let new_pin = body.new_pin.clone();
        let pin = body.pin.is_some();
        let identity = body.identity.clone();
        let key = key.clone();
        let customer_id = body.customer_id;
        Box::pin(async move {
            let card = cards::find_for_update(conn, &number).await?;
            let holder = life::Holder::from_request(customer_id, customer.as_ref())?;
            let word = Word::offered(pin, identity.as_ref());
            life::convert(
                conn,
                &actor,
                &card,
                word,
                holder,
                new_pin.as_deref().map(|p| (&key, p)),
                now,
            )
            .await?;
            let card = cards::find_for_update(conn, &number).await?;
            cards::view(conn, &card, &actor).await
        })
    })
    .await?;
    Ok(Json(view))
}

/// Closes the card: principal refunded in cash, unspent bonus clawed back.
#[utoipa::path(post, path = "/api/v1/cards/{number}/closure", request_body = Option<CounterBody>,
    params(("number" = CardNumberText, Path), IdempotencyKey),
    responses((status = 200, description = "The card, closed, with what was refunded and clawed back", body = life::Closed)))]
pub async fn closure(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(number): ApiPath<String>,
    req: MoneyRequest<CounterBody>,
) -> AppResult<Response> {
    let now = state.now();
    authorize(&actor, Action::ChangeCardLife, &Target::network())?;
    let number = cards::parse_number(&number)?;
    let station = req.body.station.clone();
    let (pin, identity) = (req.body.pin.as_deref(), req.body.identity.as_ref());
    sales::holders_pin(&state, &actor, &number, pin, identity.is_some()).await?;
    let (pin, identity) = (pin.is_some(), req.body.identity.clone());
    idempotent(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::OK,
        |conn| {
            let actor = actor.clone();
            let number = number.clone();
            let station = station.clone();
            let identity = identity.clone();
            Box::pin(async move {
                let card = cards::find_for_update(conn, &number).await?;
                let word = Word::offered(pin, identity.as_ref());
                life::close(conn, &actor, &card, word, station.as_deref(), now).await
            })
        },
    )
    .await
}

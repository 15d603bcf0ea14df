//! Credit customers (挂账): head office gives a company a credit line and
//! books its payments; the company's fleet manager (or head office) opens
//! its credit cards and reads its statements; head office chases what is
//! due. The sales themselves are the counter's ([`super::counter::sell`]).

use axum::http::StatusCode;

use super::{App, Done, Keyed, create, idempotent, once};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::cards::customers::{self, CustomerKind};
use crate::cards::recharge::PaymentMethod;
use crate::cards::{self, CardKind, CardView, NewCard, pin, sale};
use crate::credit::lines::{self, LineView};
use crate::credit::payments::{self, Paid, Payment};
use crate::credit::statements::{self, CreditStatement, Reminder};
use crate::credit::terms::Terms;
use crate::error::{AppError, AppResult, Code};
use crate::fleet::vehicles;
use crate::money::Money;

/// A credit line as head office sets it.
pub struct LineOrder {
    pub limit: Money,
    pub terms: Terms,
}

/// Gives a company a credit line, or changes its limit and terms (never
/// below what it owes).
pub async fn set_line(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    order: LineOrder,
) -> AppResult<LineView> {
    authorize(actor, Action::SetCreditLine, &Target::company(customer_id))?;
    let tz = app.settings.time_zone;
    let order = &order;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            if customers::get(conn, customer_id).await?.kind != CustomerKind::Company {
                return Err(AppError::new(
                    Code::ValidationFailed,
                    "a credit line is given to a company customer",
                ));
            }
            let line = lines::set(
                conn,
                customer_id,
                order.limit,
                order.terms,
                at.actor.user_id,
                at.now,
                tz,
            )
            .await?;
            at.audit(
                conn,
                "credit_line_set",
                &customer_id.to_string(),
                serde_json::json!({
                    "limit": order.limit, "statement_day": order.terms.statement_day,
                    "days_to_pay": order.terms.days_to_pay, "grace_days": order.terms.grace_days,
                }),
            )
            .await?;
            lines::view(conn, &line, at.now).await
        })
    })
    .await
}

/// A company's credit line with its balance, what is left and whether it
/// is refused for an overdue statement. Like every reading of a line, it
/// runs in a write transaction that first issues the months closed since
/// the line's last sale or payment.
pub async fn line(app: &App, actor: &Actor, customer_id: i64) -> AppResult<LineView> {
    authorize(actor, Action::ReadCredit, &Target::company(customer_id))?;
    let tz = app.settings.time_zone;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let line = lines::lock(conn, customer_id, at.now, tz).await?;
            lines::view(conn, &line, at.now).await
        })
    })
    .await
}

/// A company's statement of a month (`YYYY-MM`): issued, or the month now
/// open as it stands.
pub async fn statement(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    month: &str,
) -> AppResult<CreditStatement> {
    authorize(actor, Action::ReadCredit, &Target::company(customer_id))?;
    let month = crate::fleet::allocation::parse_month(month)?;
    let tz = app.settings.time_zone;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let line = lines::lock(conn, customer_id, at.now, tz).await?;
            statements::read(conn, &line, month, at.now, tz).await
        })
    })
    .await
}

/// A card on a company's credit line, as head office or the company's
/// fleet manager opens it.
pub struct CreditCard {
    /// `company_sub` or `fleet`.
    pub kind: CardKind,
    pub customer_id: i64,
    /// The vehicle a fleet card is bound to (registered by the company).
    pub plate: Option<String>,
    pub pin: Option<String>,
    /// The station code where the card is issued, if any.
    pub station: Option<String>,
}

/// Opens a card that buys on the company's credit line: a company on
/// credit needs no main card.
pub async fn open_card(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    order: CreditCard,
) -> AppResult<Done<CardView>> {
    authorize(
        actor,
        Action::OpenCreditCard,
        &Target::company(order.customer_id),
    )?;
    sale::validate(order.plate.as_deref(), None)?;
    let plate = order.plate.as_deref().map(vehicles::normalise_plate);
    let protected = order
        .pin
        .as_deref()
        .map(|p| pin::protect(&app.keys.pin, p))
        .transpose()?;
    let (order, plate, protected) = (&order, &plate, &protected);
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let station =
                crate::stations::issuing(conn, at.actor, order.station.as_deref()).await?;
            let card = cards::open_on_credit(
                conn,
                &NewCard {
                    kind: order.kind,
                    customer_id: Some(order.customer_id),
                    parent: None,
                    plate: plate.as_deref(),
                    pin: protected.clone(),
                    station_id: station.as_ref().map(|s| s.id),
                },
                at.now,
            )
            .await?;
            at.audit(
                conn,
                "card_open",
                &card.number,
                serde_json::json!({"kind": order.kind, "credit": true}),
            )
            .await?;
            cards::view(conn, &card, at.actor).await
        })
    })
    .await
}

/// A payment as head office books it.
pub struct PaymentOrder {
    pub amount: Money,
    pub method: PaymentMethod,
    /// The bank's or the receipt's reference, at most 64 characters.
    pub reference: Option<String>,
}

/// Books a company's payment into its credit line, under the request's
/// idempotency key.
pub async fn pay(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    customer_id: i64,
    order: PaymentOrder,
) -> AppResult<Done<Paid>> {
    authorize(
        actor,
        Action::BookCreditPayment,
        &Target::company(customer_id),
    )?;
    if let Some(r) = &order.reference {
        crate::text::refuse_control("reference", r)?;
        if r.trim().is_empty() || r.chars().count() > 64 {
            return Err(AppError::invalid("reference", "reference: 1–64 characters"));
        }
    }
    let tz = app.settings.time_zone;
    let payment = &Payment {
        customer_id,
        amount: order.amount,
        method: order.method,
        reference: order.reference.as_deref().map(str::trim),
    };
    idempotent(app, actor, key, StatusCode::CREATED, |conn, at| {
        Box::pin(async move { payments::book(conn, at.actor.user_id, payment, at.now, tz).await })
    })
    .await
}

/// The statements issued and not yet paid across the network, the
/// longest overdue first; months closed since the last sale or payment of
/// a line are issued first.
pub async fn reminders(app: &App, actor: &Actor) -> AppResult<Vec<Reminder>> {
    authorize(actor, Action::ReadCreditReminders, &Target::network())?;
    let tz = app.settings.time_zone;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            for customer_id in statements::lines_behind(conn, at.now).await? {
                lines::lock(conn, customer_id, at.now, tz).await?;
            }
            statements::reminders(conn, at.now, tz).await
        })
    })
    .await
}

//! The merchant alliance's actions: merchants and offers (head office),
//! redemption (the merchant; a station's counter for gifts), the partner's
//! list, the monthly settlement and what the offers brought.
//!
//! A merchant acts for its own merchant only. Asking about another
//! merchant — its offers, benefits, redemptions, lists, settlements — is
//! answered word for word as if there were none, so that codes and ids of
//! other merchants cannot be probed. A redemption is reversed only by
//! whoever delivered it: the merchant its own, a station's counter what it
//! handed over, head office any; to anyone else it is not there.

use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{App, Done, Keyed, create, idempotent, once};
use crate::alliance::effectiveness::{self, Effectiveness, MerchantEffectiveness};
use crate::alliance::merchants::{self, Merchant, MerchantInput};
use crate::alliance::offers::{self, Offer, OfferInput};
use crate::alliance::redemptions::{self, BenefitView, Lookup, Masked, RedeemInput, Redemption};
use crate::alliance::settlement::{self, Settlement};
use crate::alliance::{grantees, vouchers};
use crate::auth::policy::{Action, Target, authorize, authorize_role};
use crate::auth::{Actor, Role};
use crate::cards;
use crate::error::{AppError, AppResult, Code};

fn merchant_target(code: &str) -> Target {
    Target {
        merchant: Some(code.to_owned()),
        ..Target::default()
    }
}

/// Refuses another merchant's business; a merchant is told it is not
/// there (`missing`), everyone else what the policy says.
fn for_merchant(
    actor: &Actor,
    action: Action,
    merchant: &str,
    missing: impl FnOnce() -> AppError,
) -> AppResult<()> {
    authorize(actor, action, &merchant_target(merchant)).map_err(|e| {
        if actor.role == Role::Merchant {
            missing()
        } else {
            e
        }
    })
}

/// Adds a partner merchant with the stations it partners with.
pub async fn add_merchant(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    input: &MerchantInput,
) -> AppResult<Done<Merchant>> {
    authorize(actor, Action::ManageAlliance, &Target::network())?;
    input.validate()?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let m = merchants::create(conn, input, at.now).await?;
            at.audit(
                conn,
                "merchant_add",
                &m.code,
                serde_json::json!({"name": m.name, "stations": m.stations}),
            )
            .await?;
            Ok(m)
        })
    })
    .await
}

/// Refuses another merchant's business named by its code, as if the
/// merchant were not there.
fn own_merchant(actor: &Actor, action: Action, code: &str) -> AppResult<()> {
    for_merchant(actor, action, code, || merchants::not_found(code))
}

/// Refuses another merchant's offer, as if the offer were not there.
fn own_offer(actor: &Actor, action: Action, o: &offers::Stored) -> AppResult<()> {
    for_merchant(actor, action, &o.merchant, || offers::not_found(&o.code))
}

pub async fn merchant(app: &App, actor: &Actor, code: &str) -> AppResult<Merchant> {
    authorize_role(actor, Action::ReadAlliance)?;
    own_merchant(actor, Action::ReadAlliance, code)?;
    let mut conn = app.db.pool().acquire().await?;
    Ok(merchants::find(&mut conn, code).await?.merchant)
}

pub async fn merchants(app: &App, actor: &Actor) -> AppResult<Vec<Merchant>> {
    authorize(actor, Action::ReadReferenceData, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    merchants::list(&mut conn).await
}

/// Adds an offer; it grants from the next event on.
pub async fn add_offer(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    input: &OfferInput,
) -> AppResult<Done<Offer>> {
    authorize(actor, Action::ManageAlliance, &Target::network())?;
    input.validate()?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let o = offers::create(conn, input, at.actor.audit_id(), at.now).await?;
            at.audit(
                conn,
                "offer_add",
                &o.code,
                serde_json::json!({"merchant": o.merchant, "event": o.definition.trigger.event}),
            )
            .await?;
            Ok(o.view(0))
        })
    })
    .await
}

/// Ends an offer early (head office): from now on no event grants it;
/// the benefits it granted stay valid. Audited with the end it had
/// before. Ending an offer that has ended already changes nothing.
pub async fn end_offer(app: &App, actor: &Actor, code: &str) -> AppResult<Offer> {
    authorize(actor, Action::ManageAlliance, &Target::network())?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let o = offers::find(conn, code).await?;
            let before = o.definition.trigger.ends_us;
            let o = if before.is_some_and(|e| e <= at.now) {
                o
            } else {
                let ended = offers::end(conn, &o, at.now).await?;
                at.audit(
                    conn,
                    "offer_end",
                    &ended.code,
                    serde_json::json!({
                        "ends_at": crate::time::format_us(at.now),
                        "was": before.map(crate::time::format_us),
                    }),
                )
                .await?;
                ended
            };
            let redeemed = offers::redeemed(conn, o.id).await?;
            Ok(o.view(redeemed))
        })
    })
    .await
}

pub async fn offer(app: &App, actor: &Actor, code: &str) -> AppResult<Offer> {
    authorize_role(actor, Action::ReadAlliance)?;
    let mut conn = app.db.pool().acquire().await?;
    let o = offers::find(&mut conn, code).await?;
    own_offer(actor, Action::ReadAlliance, &o)?;
    let redeemed = offers::redeemed(&mut conn, o.id).await?;
    Ok(o.view(redeemed))
}

/// The offers of a merchant (a merchant's own when it names none), or
/// every offer.
pub async fn offers(app: &App, actor: &Actor, merchant: Option<&str>) -> AppResult<Vec<Offer>> {
    authorize_role(actor, Action::ReadAlliance)?;
    let merchant = merchant.or(actor.merchant.as_deref());
    match merchant {
        Some(code) => own_merchant(actor, Action::ReadAlliance, code)?,
        None => authorize(actor, Action::ReadAlliance, &Target::network())?,
    }
    let mut conn = app.db.pool().acquire().await?;
    let id = match merchant {
        Some(code) => Some(merchants::find(&mut conn, code).await?.id),
        None => None,
    };
    let mut out = Vec::new();
    for o in offers::list(&mut conn, id).await? {
        let redeemed = offers::redeemed(&mut conn, o.id).await?;
        out.push(o.view(redeemed));
    }
    Ok(out)
}

/// A card's benefits, for whoever may read the card.
pub async fn card_benefits(app: &App, actor: &Actor, number: &str) -> AppResult<Vec<BenefitView>> {
    let number = cards::parse_number(number)?;
    let mut conn = app.db.pool().acquire().await?;
    let card = cards::find_visible(&mut conn, actor, &number).await?;
    let (now, tz) = (app.now(), app.settings.time_zone);
    Ok(redemptions::for_card(&mut conn, card.id, None)
        .await?
        .iter()
        .map(|h| h.view(now, tz))
        .collect())
}

/// What a merchant's lookup finds: the customer, masked, and the benefits
/// to deliver.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Found {
    pub customer: Masked,
    pub benefits: Vec<BenefitView>,
}

/// Looks benefits up by voucher code or by card: a merchant sees its own
/// only.
pub async fn find_benefits(
    app: &App,
    actor: &Actor,
    code: Option<&str>,
    card: Option<&str>,
) -> AppResult<Found> {
    authorize_role(actor, Action::Redeem)?;
    let (now, tz) = (app.now(), app.settings.time_zone);
    let mut conn = app.db.pool().acquire().await?;
    let merchant = match actor.merchant.as_deref() {
        Some(m) if actor.role == Role::Merchant => Some(merchants::find(&mut conn, m).await?.id),
        _ => None,
    };
    let held = match (code, card) {
        (Some(code), None) => {
            let code = vouchers::normalise(code).ok_or_else(redemptions::not_found)?;
            let h = redemptions::find(&mut conn, &Lookup::Code(code)).await?;
            for_merchant(actor, Action::Redeem, &h.merchant, redemptions::not_found)?;
            vec![h]
        }
        (None, Some(number)) => {
            let number = cards::parse_number(number)?;
            let card = cards::find(&mut conn, &number)
                .await
                .map_err(|_| redemptions::not_found())?;
            redemptions::for_card(&mut conn, card.id, merchant).await?
        }
        _ => {
            return Err(AppError::new(
                Code::ValidationFailed,
                "give code or card, not both",
            ));
        }
    };
    let Some(first) = held.first() else {
        return Err(redemptions::not_found());
    };
    Ok(Found {
        customer: redemptions::masked(&mut conn, first.card_id).await?,
        benefits: held.iter().map(|h| h.view(now, tz)).collect(),
    })
}

/// Delivers a benefit under the request's key: a merchant at its own
/// merchant, a station's staff a gift at their counter.
pub async fn redeem(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    input: &RedeemInput,
) -> AppResult<Done<Redemption>> {
    authorize_role(actor, Action::Redeem)?;
    let (lookup, purchase) = input.lookup()?;
    let station = match actor.role {
        Role::Cashier | Role::StationManager => Some(actor.station_id.ok_or_else(|| {
            AppError::new(
                Code::StationRequired,
                "your user has no station to hand a gift over at",
            )
        })?),
        _ => None,
    };
    let (tz, max_purchase) = (app.settings.time_zone, app.settings.max_redemption_purchase);
    let lookup = &lookup;
    idempotent(app, actor, key, StatusCode::CREATED, |conn, at| {
        Box::pin(async move {
            let h = redemptions::find(conn, lookup).await?;
            for_merchant(
                at.actor,
                Action::Redeem,
                &h.merchant,
                redemptions::not_found,
            )?;
            redemptions::redeem(
                conn,
                &h,
                at.actor.user_id,
                station,
                purchase,
                max_purchase,
                at.now,
                tz,
            )
            .await
        })
    })
    .await
}

/// Reverses a delivery made by mistake, within the window, for whoever
/// delivered it ([`Action::ReverseRedemption`]): the redemption's station
/// (a counter's gift) or, delivered at the merchant, its merchant.
pub async fn reverse(app: &App, actor: &Actor, id: i64) -> AppResult<Redemption> {
    authorize_role(actor, Action::ReverseRedemption)?;
    let window = app.settings.reversal_hours.saturating_mul(3_600_000_000);
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let r = redemptions::get(conn, id).await?;
            let delivered_by = Target {
                station: r.station_id,
                merchant: r
                    .station_id
                    .is_none()
                    .then(|| r.redemption.merchant.clone()),
                ..Target::default()
            };
            authorize(at.actor, Action::ReverseRedemption, &delivered_by)
                .map_err(|_| redemptions::redemption_not_found(id))?;
            redemptions::reverse(conn, &r, at.actor.user_id, window, at.now).await
        })
    })
    .await
}

/// A merchant's redemptions of one day (today by default).
pub async fn redemptions(
    app: &App,
    actor: &Actor,
    merchant: Option<&str>,
    day: Option<NaiveDate>,
) -> AppResult<Vec<Redemption>> {
    authorize_role(actor, Action::Redeem)?;
    let code = merchant
        .or(actor.merchant.as_deref())
        .ok_or_else(|| AppError::invalid("merchant", "name the merchant"))?;
    own_merchant(actor, Action::Redeem, code)?;
    let tz = app.settings.time_zone;
    let day = day.unwrap_or_else(|| crate::time::local_date(app.now(), tz));
    let (from, to) = crate::time::day_span(day, tz)
        .ok_or_else(|| AppError::new(Code::ValidationFailed, "day out of range"))?;
    let mut conn = app.db.pool().acquire().await?;
    let m = merchants::find(&mut conn, code).await?;
    redemptions::list(&mut conn, m.id, from, to).await
}

/// The consenting grantees of an offer as CSV; the export is audited
/// with who took it and how many rows it held.
pub async fn grantees_csv(app: &App, actor: &Actor, code: &str) -> AppResult<String> {
    authorize_role(actor, Action::ExportGrantees)?;
    let tz = app.settings.time_zone;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let o = offers::find(conn, code).await?;
            own_offer(at.actor, Action::ExportGrantees, &o)?;
            if !o.definition.needs_consent {
                return Err(AppError::new(
                    Code::NoPartnerList,
                    format!(
                        "offer {} does not send its partner the customers' data; there is no \
                         list to take",
                        o.code
                    ),
                ));
            }
            let (text, rows) = grantees::csv(conn, &o, tz).await?;
            at.audit(
                conn,
                "grantees_export",
                &o.code,
                serde_json::json!({"rows": rows, "by": at.actor.username}),
            )
            .await?;
            Ok(text)
        })
    })
    .await
}

/// Settles a merchant's month under the request's key; settling it again
/// books nothing more.
pub async fn settle(
    app: &App,
    actor: &Actor,
    key: &Keyed,
    merchant: &str,
    month: &str,
) -> AppResult<Done<Settlement>> {
    authorize(actor, Action::ManageAlliance, &Target::network())?;
    crate::fleet::allocation::parse_month(month)?;
    let tz = app.settings.time_zone;
    idempotent(app, actor, key, StatusCode::CREATED, |conn, at| {
        Box::pin(async move {
            let m = merchants::find(conn, merchant).await?;
            settlement::settle(conn, &m, month, at.actor.audit_id(), at.now, tz).await
        })
    })
    .await
}

pub async fn statement(
    app: &App,
    actor: &Actor,
    merchant: &str,
    month: &str,
) -> AppResult<Settlement> {
    authorize_role(actor, Action::ReadSettlement)?;
    own_merchant(actor, Action::ReadSettlement, merchant)?;
    let mut conn = app.db.pool().acquire().await?;
    let m = merchants::find(&mut conn, merchant).await?;
    settlement::read(&mut conn, &m, month).await
}

pub async fn offer_effectiveness(app: &App, actor: &Actor, code: &str) -> AppResult<Effectiveness> {
    authorize_role(actor, Action::ReadAlliance)?;
    let mut conn = app.db.pool().acquire().await?;
    let o = offers::find(&mut conn, code).await?;
    own_offer(actor, Action::ReadAlliance, &o)?;
    effectiveness::of_offer(&mut conn, &o).await
}

pub async fn merchant_effectiveness(
    app: &App,
    actor: &Actor,
    code: &str,
) -> AppResult<MerchantEffectiveness> {
    authorize_role(actor, Action::ReadAlliance)?;
    own_merchant(actor, Action::ReadAlliance, code)?;
    let mut conn = app.db.pool().acquire().await?;
    let m = merchants::find(&mut conn, code).await?;
    let mut each = Vec::new();
    for o in offers::list(&mut conn, Some(m.id)).await? {
        each.push(effectiveness::of_offer(&mut conn, &o).await?);
    }
    Ok(effectiveness::of_merchant(code, each))
}

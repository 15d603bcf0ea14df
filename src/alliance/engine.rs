//! The benefit engine: on each event of a card (opened, recharged, fuel
//! sold), the offers whose conditions it meets grant their benefit in the
//! event's own transaction, so a refused or rolled-back event grants
//! nothing and a replayed request (answered from its idempotency key) grants
//! nothing more.
//!
//! Budgets and caps are taken by conditional updates, never by reading a
//! count and writing it back: the holder's grant counter first, then the
//! offer's counters, both `UPDATE … WHERE there is room`. On PostgreSQL the
//! second of two concurrent updates waits for the first and checks the room
//! again, so no number of stations or server processes can grant past a
//! budget; the table's CHECKs hold it as well. A grant the budget cannot
//! cover is not made, and the event's answer says so in its `notices`.

use chrono::Datelike;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::offers::{self, BenefitKind, Event, Facts, Stored};
use super::vouchers;
use crate::cards::Card;
use crate::db::Conn;
use crate::error::AppResult;
use crate::money::Money;

/// One event of a card, as the action that performed it reports it.
pub struct Happened<'a> {
    /// `card_opened`, `recharge` or `sale` (which is also what a monthly
    /// spend offer looks at).
    pub event: Event,
    pub card: &'a Card,
    /// The station it happened at, by id and code.
    pub station: Option<(i64, &'a str)>,
    /// The recharge's amount or the sale's charge.
    pub amount: Option<Money>,
    /// What names the event, unique per event kind (`recharge:17`): an
    /// offer grants once per event key.
    pub key: String,
}

/// A benefit granted by an event.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Granted {
    pub id: i64,
    pub offer: String,
    pub merchant: String,
    pub kind: BenefitKind,
    pub item: String,
    /// What the customer shows the merchant, printed in groups of four.
    #[schema(example = "7KQM-4XHT-9BRW")]
    pub voucher_code: String,
    pub expires_at: Option<String>,
}

/// Why an offer the event met granted nothing, or granted with a caveat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeCode {
    /// The offer's budget (or its first N customers) is used up.
    BudgetExhausted,
    /// Granted, but the partner needs the customer's data and the customer
    /// has not consented to sharing it: they are left off the partner's
    /// list until they do.
    ConsentMissing,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notice {
    pub code: NoticeCode,
    pub offer: String,
    pub detail: String,
}

/// What an event granted, and what it could not.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outcome {
    pub benefits: Vec<Granted>,
    pub notices: Vec<Notice>,
}

/// Grants what the event earns. Runs inside the event's transaction.
pub async fn on_event(conn: &mut Conn, ev: &Happened<'_>, now: i64, tz: Tz) -> AppResult<Outcome> {
    let candidates = offers::for_event(conn, ev.event).await?;
    let mut out = Outcome::default();
    if candidates.is_empty() {
        return Ok(out);
    }
    let (_, month, _) = crate::fleet::local_periods(now, tz);
    let month_spend = if candidates
        .iter()
        .any(|o| o.definition.trigger.event == Event::MonthlySpend)
    {
        Some(month_spend(conn, ev, now, tz).await?)
    } else {
        None
    };
    let consent = consented(conn, ev.card.customer_id).await?;
    for offer in &candidates {
        let event = offer.definition.trigger.event;
        let facts = Facts {
            event,
            card_kind: ev.card.kind,
            station: ev.station.map(|(_, code)| code),
            amount: ev.amount,
            month_spend,
            now,
        };
        if !offer.definition.matches(&facts) {
            continue;
        }
        let key = match event {
            Event::MonthlySpend => format!("monthly_spend:{}:{month}", ev.card.id),
            _ => ev.key.clone(),
        };
        match grant(conn, offer, ev, &key, consent, now, tz).await? {
            Grant::Made(g) => {
                if offer.definition.needs_consent && !consent {
                    out.notices.push(Notice {
                        code: NoticeCode::ConsentMissing,
                        offer: offer.code.clone(),
                        detail: format!(
                            "{} needs the customer's consent to share their data; granted, \
                             but left off the partner's list until they consent",
                            offer.name
                        ),
                    });
                }
                out.benefits.push(g);
            }
            Grant::Exhausted => out.notices.push(Notice {
                code: NoticeCode::BudgetExhausted,
                offer: offer.code.clone(),
                detail: format!(
                    "{}: the offer's budget is used up; nothing granted",
                    offer.name
                ),
            }),
            Grant::Skipped => {}
        }
    }
    Ok(out)
}

enum Grant {
    Made(Granted),
    /// The budget could not cover it.
    Exhausted,
    /// The holder has had their share, or this event was granted before.
    Skipped,
}

async fn grant(
    conn: &mut Conn,
    offer: &Stored,
    ev: &Happened<'_>,
    key: &str,
    consent: bool,
    now: i64,
    tz: Tz,
) -> AppResult<Grant> {
    let holder = match ev.card.customer_id {
        Some(c) => format!("customer:{c}"),
        None => format!("card:{}", ev.card.id),
    };
    sqlx::query(
        "INSERT INTO offer_holders (offer_id, holder, grants) VALUES ($1, $2, 0) \
         ON CONFLICT (offer_id, holder) DO NOTHING",
    )
    .bind(offer.id)
    .bind(&holder)
    .execute(&mut *conn)
    .await?;
    let Some(row) = sqlx::query(
        "UPDATE offer_holders SET grants = grants + 1 \
         WHERE offer_id = $1 AND holder = $2 AND grants < COALESCE($3, grants + 1) \
         RETURNING grants",
    )
    .bind(offer.id)
    .bind(&holder)
    .bind(offer.per_customer)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Grant::Skipped);
    };
    let new_customer = i64::from(row.try_get::<i64, _>("grants")? == 1);
    let cost = offer.unit_cost.fen();
    let taken = sqlx::query(
        "UPDATE offers SET granted = granted + 1, granted_fen = granted_fen + $2, \
         customers = customers + $3 \
         WHERE id = $1 AND granted < COALESCE(budget_count, granted + 1) \
           AND granted_fen + $2 <= COALESCE(budget_fen, granted_fen + $2) \
           AND customers + $3 <= COALESCE(first_n, customers + $3) \
         RETURNING id",
    )
    .bind(offer.id)
    .bind(cost)
    .bind(new_customer)
    .fetch_optional(&mut *conn)
    .await?;
    if taken.is_none() {
        give_back_holder(conn, offer.id, &holder).await?;
        return Ok(Grant::Exhausted);
    }
    let code = vouchers::generate();
    let expires = offer.definition.expiry(now, tz);
    let inserted = sqlx::query(
        "INSERT INTO benefits (offer_id, card_id, customer_id, station_id, event_key, \
         granted_by, voucher_code, status, consent, granted_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'granted', $8, $9, $10) \
         ON CONFLICT (offer_id, event_key) DO NOTHING RETURNING id",
    )
    .bind(offer.id)
    .bind(ev.card.id)
    .bind(ev.card.customer_id)
    .bind(ev.station.map(|(id, _)| id))
    .bind(key)
    .bind(&ev.key)
    .bind(&code)
    .bind(i64::from(consent))
    .bind(now)
    .bind(expires)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = inserted else {
        give_back_holder(conn, offer.id, &holder).await?;
        sqlx::query(
            "UPDATE offers SET granted = granted - 1, granted_fen = granted_fen - $2, \
             customers = customers - $3 WHERE id = $1",
        )
        .bind(offer.id)
        .bind(cost)
        .bind(new_customer)
        .execute(&mut *conn)
        .await?;
        return Ok(Grant::Skipped);
    };
    let id: i64 = row.try_get("id")?;
    crate::audit::record(
        conn,
        now,
        None,
        "benefit_grant",
        &ev.card.number,
        serde_json::json!({"benefit": id, "offer": offer.code, "event": key}),
    )
    .await?;
    Ok(Grant::Made(Granted {
        id,
        offer: offer.code.clone(),
        merchant: offer.merchant.clone(),
        kind: offer.definition.benefit.kind,
        item: offer.definition.benefit.item.clone(),
        voucher_code: vouchers::printed(&code),
        expires_at: expires.map(crate::time::format_us),
    }))
}

async fn give_back_holder(conn: &mut Conn, offer: i64, holder: &str) -> AppResult<()> {
    sqlx::query("UPDATE offer_holders SET grants = grants - 1 WHERE offer_id = $1 AND holder = $2")
        .bind(offer)
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the card's holder lets the network share their data with
/// partners. A card without a holder has nobody to consent.
async fn consented(conn: &mut Conn, customer: Option<i64>) -> AppResult<bool> {
    let Some(id) = customer else {
        return Ok(false);
    };
    let row = sqlx::query("SELECT share_with_partners FROM customers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>("share_with_partners")? == 1,
        None => false,
    })
}

/// The card's fuel bought this calendar month before and after this sale
/// (which is already written in the transaction).
async fn month_spend(
    conn: &mut Conn,
    ev: &Happened<'_>,
    now: i64,
    tz: Tz,
) -> AppResult<(Money, Money)> {
    let today = crate::time::local_date(now, tz);
    let first = today.with_day0(0).unwrap_or(today);
    let (from, _) = crate::time::month_span(first, tz).unwrap_or((now, now));
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(charged_fen), 0) AS BIGINT) AS spent FROM sales \
         WHERE card_id = $1 AND created_at >= $2 AND created_at <= $3",
    )
    .bind(ev.card.id)
    .bind(from)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let after = Money::from_fen(row.try_get("spent")?);
    let this = ev.amount.unwrap_or(Money::ZERO);
    Ok((after.checked_sub(this).unwrap_or(Money::ZERO), after))
}

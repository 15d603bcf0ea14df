//! Redemption: a merchant delivers a benefit (a station's counter may hand
//! over a gift), found by its voucher code or by the card and the offer.
//!
//! A voucher, a discount or a gift is delivered once: the conditional
//! update from `granted` to `redeemed` lets exactly one of two concurrent
//! redemptions through. An entitlement keeps a count of uses in the current
//! calendar month, moved by one conditional update that starts the count
//! afresh when the month has changed, so the second car wash in a month is
//! refused and the first of the next month is not. A redemption can be
//! reversed within a window, until its month is settled, by whoever
//! delivered it.
//!
//! What a delivery is worth is bounded twice: by the offer's ceiling per
//! redemption (a percentage discount is worth at most its `max_value`,
//! whatever purchase the merchant declares, and the declared purchase is
//! itself bounded), and by the offer's money budget, which the values of
//! the redemptions that stand take from in the redemption's own statement.
//! The month's settlement adds up those values, so it never owes more than
//! the budgets.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::offers::{BenefitKind, Definition};
use super::vouchers;
use crate::cards::{self, CardNumber};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::http::openapi::{AmountText, CardNumberText};
use crate::money::Money;

/// How a merchant names the benefit to deliver.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemInput {
    /// The voucher code the customer shows (case, spaces and dashes do not
    /// matter)…
    #[serde(default)]
    #[schema(example = "7KQM-4XHT-9BRW")]
    pub voucher_code: Option<String>,
    /// …or the card and the offer (for an entitlement).
    #[serde(default)]
    #[schema(value_type = Option<CardNumberText>)]
    pub card_number: Option<String>,
    #[serde(default)]
    pub offer: Option<String>,
    /// A percentage discount: the purchase it is taken off, yuan.
    #[serde(default)]
    #[schema(value_type = Option<AmountText>)]
    pub purchase_amount: Option<String>,
}

/// Where to find the benefit.
pub enum Lookup {
    Code(String),
    Card { number: CardNumber, offer: String },
}

impl RedeemInput {
    pub fn lookup(&self) -> AppResult<(Lookup, Option<Money>)> {
        let purchase = self
            .purchase_amount
            .as_deref()
            .map(|p| {
                Money::parse_positive(p).map_err(|e| {
                    AppError::new(Code::InvalidAmount, format!("purchase_amount: {e}"))
                        .with("field", "purchase_amount")
                })
            })
            .transpose()?;
        let lookup = match (&self.voucher_code, &self.card_number, &self.offer) {
            (Some(code), None, None) => {
                Lookup::Code(vouchers::normalise(code).ok_or_else(|| {
                    AppError::invalid(
                        "voucher_code",
                        "voucher_code: 12 letters and digits, as printed on the voucher",
                    )
                })?)
            }
            (None, Some(number), Some(offer)) => {
                super::merchants::check_code("offer", offer)?;
                Lookup::Card {
                    number: cards::parse_number(number)?,
                    offer: offer.clone(),
                }
            }
            _ => {
                return Err(AppError::new(
                    Code::ValidationFailed,
                    "give voucher_code, or card_number and offer",
                ));
            }
        };
        Ok((lookup, purchase))
    }
}

/// A benefit on file with what delivering it needs.
#[derive(Debug, Clone)]
pub struct Holding {
    pub id: i64,
    pub offer_id: i64,
    pub offer: String,
    pub merchant_id: i64,
    pub merchant: String,
    pub definition: Definition,
    pub unit_cost: Money,
    pub station_percent: i64,
    pub status: String,
    pub card_id: i64,
    pub card_number: String,
    pub voucher_code: String,
    pub expires_at: Option<i64>,
    pub period: Option<String>,
    pub period_used: i64,
    pub granted_at: i64,
}

const HOLDING: &str = "SELECT b.id, o.id AS offer_id, o.code AS offer, o.merchant_id, m.code AS merchant, \
     o.definition, o.unit_cost_fen, o.station_percent, b.status, b.card_id, c.number, \
     b.voucher_code, b.expires_at, b.period, b.period_used, b.granted_at \
     FROM benefits b JOIN offers o ON o.id = b.offer_id JOIN merchants m ON m.id = o.merchant_id \
     JOIN cards c ON c.id = b.card_id";

fn holding(row: &sqlx::any::AnyRow) -> AppResult<Holding> {
    let definition: String = row.try_get("definition")?;
    Ok(Holding {
        id: row.try_get("id")?,
        offer_id: row.try_get("offer_id")?,
        offer: row.try_get("offer")?,
        merchant_id: row.try_get("merchant_id")?,
        merchant: row.try_get("merchant")?,
        definition: serde_json::from_str(&definition)
            .map_err(|e| AppError::internal("reading an offer", e))?,
        unit_cost: Money::from_fen(row.try_get("unit_cost_fen")?),
        station_percent: row.try_get("station_percent")?,
        status: row.try_get("status")?,
        card_id: row.try_get("card_id")?,
        card_number: row.try_get("number")?,
        voucher_code: row.try_get("voucher_code")?,
        expires_at: row.try_get("expires_at")?,
        period: row.try_get("period")?,
        period_used: row.try_get("period_used")?,
        granted_at: row.try_get("granted_at")?,
    })
}

/// The answer for a benefit that is not there — or not this merchant's,
/// which is told apart from nothing.
pub fn not_found() -> AppError {
    AppError::new(
        Code::BenefitNotFound,
        "no such benefit of your merchant: check the code or the card",
    )
}

pub async fn find(conn: &mut Conn, lookup: &Lookup) -> AppResult<Holding> {
    let row = match lookup {
        Lookup::Code(code) => {
            sqlx::query(&format!("{HOLDING} WHERE b.voucher_code = $1"))
                .bind(code)
                .fetch_optional(&mut *conn)
                .await?
        }
        // The card's benefit of that offer still to deliver, else its latest.
        Lookup::Card { number, offer } => {
            sqlx::query(&format!(
                "{HOLDING} WHERE c.number = $1 AND o.code = $2 \
                 ORDER BY CASE WHEN b.status = 'granted' THEN 0 ELSE 1 END, b.id LIMIT 1"
            ))
            .bind(number.as_str())
            .bind(offer)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    row.as_ref().map(holding).transpose()?.ok_or_else(not_found)
}

/// What a benefit is worth when delivered: its unit cost, or for a
/// discount what it takes off the purchase, never more than the discount's
/// ceiling. A declared purchase above `max_purchase` is refused: the
/// merchant's word on it is all there is.
pub fn value(h: &Holding, purchase: Option<Money>, max_purchase: Money) -> AppResult<Money> {
    if let Some(p) = purchase.filter(|p| *p > max_purchase) {
        return Err(AppError::new(
            Code::PurchaseAboveLimit,
            format!("purchase_amount {p}: at most {max_purchase} per redemption"),
        )
        .with("field", "purchase_amount"));
    }
    let b = &h.definition.benefit;
    let ceiling = Money::from_fen(b.max_value_fen.unwrap_or(h.unit_cost.fen()));
    match (b.kind, b.percent, b.amount_fen) {
        (BenefitKind::Discount, Some(percent), _) => {
            let p = purchase.ok_or_else(|| {
                AppError::invalid(
                    "purchase_amount",
                    "a percentage discount needs the purchase_amount it is taken off",
                )
            })?;
            Ok(Money::from_fen((p.fen() * percent + 50) / 100).min(ceiling))
        }
        (BenefitKind::Discount, None, Some(fixed)) => {
            let mut worth = Money::from_fen(fixed);
            if let Some(max) = b.max_value_fen {
                worth = worth.min(Money::from_fen(max));
            }
            Ok(purchase.map_or(worth, |p| p.min(worth)))
        }
        _ => Ok(h.unit_cost),
    }
}

/// The station-funded part of a value, half-up to the fen.
pub fn station_share(value: Money, station_percent: i64) -> Money {
    Money::from_fen((value.fen() * station_percent + 50) / 100)
}

/// A customer as a merchant sees them: the name, and the last four digits
/// of the phone and of the card.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Masked {
    pub name: Option<String>,
    pub phone_last4: Option<String>,
    pub card_last4: String,
}

fn last4(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// A delivery of a benefit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Redemption {
    pub id: i64,
    pub benefit: i64,
    pub offer: String,
    pub merchant: String,
    pub kind: BenefitKind,
    pub item: String,
    /// What the delivery is worth.
    #[schema(value_type = String)]
    pub value: Money,
    /// The station-funded part of it; the rest is the merchant's.
    #[schema(value_type = String)]
    pub station_share: Money,
    /// The station whose counter delivered it; none at the merchant.
    pub delivered_at: Option<String>,
    /// The calendar month it counts in (and is settled with).
    pub period: String,
    pub redeemed_at: String,
    pub reversed_at: Option<String>,
    pub customer: Masked,
    /// An entitlement's uses left this month after this one.
    pub left_this_period: Option<i64>,
}

const REDEMPTION: &str = "SELECT r.id, r.benefit_id, o.code AS offer, m.code AS merchant, \
     o.definition, r.value_fen, r.station_fen, st.code AS station, r.period, r.redeemed_at, \
     r.reversed_at, r.merchant_id, r.station_id, r.settlement_id, cu.name, cu.phone, c.number, b.period AS b_period, \
     b.period_used \
     FROM redemptions r JOIN benefits b ON b.id = r.benefit_id JOIN offers o ON o.id = b.offer_id \
     JOIN merchants m ON m.id = r.merchant_id JOIN cards c ON c.id = b.card_id \
     LEFT JOIN customers cu ON cu.id = b.customer_id LEFT JOIN stations st ON st.id = r.station_id";

/// A redemption on file, with whose it is and whether it is settled.
pub struct StoredRedemption {
    pub redemption: Redemption,
    pub merchant_id: i64,
    /// The station whose counter delivered it; none at the merchant.
    pub station_id: Option<i64>,
    pub settled: bool,
    pub redeemed_us: i64,
}

fn redemption(row: &sqlx::any::AnyRow) -> AppResult<StoredRedemption> {
    let definition: String = row.try_get("definition")?;
    let d: Definition =
        serde_json::from_str(&definition).map_err(|e| AppError::internal("reading an offer", e))?;
    let period: String = row.try_get("period")?;
    let left = d.benefit.per_period.map(|per| {
        let current = row.try_get::<Option<String>, _>("b_period").ok().flatten();
        let used: i64 = row.try_get("period_used").unwrap_or(0);
        if current.as_deref() == Some(period.as_str()) {
            (per - used).max(0)
        } else {
            per
        }
    });
    let redeemed_us: i64 = row.try_get("redeemed_at")?;
    let number: String = row.try_get("number")?;
    Ok(StoredRedemption {
        merchant_id: row.try_get("merchant_id")?,
        station_id: row.try_get("station_id")?,
        settled: row.try_get::<Option<i64>, _>("settlement_id")?.is_some(),
        redeemed_us,
        redemption: Redemption {
            id: row.try_get("id")?,
            benefit: row.try_get("benefit_id")?,
            offer: row.try_get("offer")?,
            merchant: row.try_get("merchant")?,
            kind: d.benefit.kind,
            item: d.benefit.item,
            value: Money::from_fen(row.try_get("value_fen")?),
            station_share: Money::from_fen(row.try_get("station_fen")?),
            delivered_at: row.try_get("station")?,
            period,
            redeemed_at: crate::time::format_us(redeemed_us),
            reversed_at: row
                .try_get::<Option<i64>, _>("reversed_at")?
                .map(crate::time::format_us),
            customer: Masked {
                name: row.try_get("name")?,
                phone_last4: row
                    .try_get::<Option<String>, _>("phone")?
                    .map(|p| last4(&p)),
                card_last4: last4(&number),
            },
            left_this_period: left,
        },
    })
}

/// The answer for a redemption that is not there, or not the caller's to
/// touch.
pub fn redemption_not_found(id: i64) -> AppError {
    AppError::new(
        Code::RedemptionNotFound,
        format!("no redemption {id} that you delivered"),
    )
}

pub async fn get(conn: &mut Conn, id: i64) -> AppResult<StoredRedemption> {
    let row = sqlx::query(&format!("{REDEMPTION} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| redemption_not_found(id))?;
    redemption(&row)
}

/// A merchant's redemptions over `[from, to)`, newest first.
pub async fn list(
    conn: &mut Conn,
    merchant_id: i64,
    from: i64,
    to: i64,
) -> AppResult<Vec<Redemption>> {
    let rows = sqlx::query(&format!(
        "{REDEMPTION} WHERE r.merchant_id = $1 AND r.redeemed_at >= $2 AND r.redeemed_at < $3 \
         ORDER BY r.id DESC LIMIT 1000"
    ))
    .bind(merchant_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| redemption(r).map(|s| s.redemption))
        .collect()
}

/// Delivers a benefit. `station` is the counter that hands over a gift;
/// `None` at the merchant.
#[allow(clippy::too_many_arguments)]
pub async fn redeem(
    conn: &mut Conn,
    h: &Holding,
    user_id: i64,
    station: Option<i64>,
    purchase: Option<Money>,
    max_purchase: Money,
    now: i64,
    tz: Tz,
) -> AppResult<Redemption> {
    let kind = h.definition.benefit.kind;
    if h.status == "void" {
        return Err(super::voids::refused());
    }
    if station.is_some() && kind != BenefitKind::Gift {
        return Err(AppError::new(
            Code::BenefitNotAtStation,
            "a station's counter hands over gifts only; this benefit is delivered at the \
             merchant",
        ));
    }
    if h.expires_at.is_some_and(|e| now >= e) {
        return Err(AppError::new(
            Code::BenefitExpired,
            format!(
                "this benefit expired at {}",
                crate::time::format_local(h.expires_at.unwrap_or(now), tz)
            ),
        ));
    }
    let value = value(h, purchase, max_purchase)?;
    let (_, period, _) = crate::fleet::local_periods(now, tz);
    if kind == BenefitKind::Entitlement {
        // An entitlement lasts while its card is active.
        cards::find_by_id(conn, h.card_id)
            .await?
            .ensure_can_spend()?;
        let per = h.definition.benefit.per_period.unwrap_or(1);
        let used = sqlx::query(
            "UPDATE benefits SET period_used = CASE WHEN period = $2 THEN period_used + 1 ELSE 1 END, \
             period = $2 \
             WHERE id = $1 AND status = 'granted' \
               AND (period IS NULL OR period <> $2 OR period_used < $3) RETURNING id",
        )
        .bind(h.id)
        .bind(&period)
        .bind(per)
        .fetch_optional(&mut *conn)
        .await?;
        if used.is_none() {
            return Err(AppError::new(
                Code::EntitlementUsed,
                format!(
                    "{} is used {per} time(s) this month already; it renews on the 1st",
                    h.definition.benefit.item
                ),
            ));
        }
    } else {
        let taken = sqlx::query(
            "UPDATE benefits SET status = 'redeemed' WHERE id = $1 AND status = 'granted' \
             RETURNING id",
        )
        .bind(h.id)
        .fetch_optional(&mut *conn)
        .await?;
        if taken.is_none() {
            return Err(AppError::new(
                Code::VoucherRedeemed,
                "this voucher has been redeemed already",
            ));
        }
    }
    // The money budget covers what the deliveries are worth: taken by one
    // conditional update, which a concurrent redemption on PostgreSQL
    // waits for and then checks again.
    let within = sqlx::query(
        "UPDATE offers SET redeemed_fen = redeemed_fen + $2 \
         WHERE id = $1 AND (budget_fen IS NULL OR redeemed_fen + $2 <= budget_fen) RETURNING id",
    )
    .bind(h.offer_id)
    .bind(value.fen())
    .fetch_optional(&mut *conn)
    .await?;
    if within.is_none() {
        return Err(AppError::new(
            Code::OfferBudgetExhausted,
            format!(
                "offer {}: a delivery worth {value} would pass the offer's money budget",
                h.offer
            ),
        ));
    }
    let row = sqlx::query(
        "INSERT INTO redemptions (benefit_id, merchant_id, station_id, user_id, period, value_fen, \
         station_fen, purchase_fen, redeemed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id",
    )
    .bind(h.id)
    .bind(h.merchant_id)
    .bind(station)
    .bind(user_id)
    .bind(&period)
    .bind(value.fen())
    .bind(station_share(value, h.station_percent).fen())
    .bind(purchase.map(Money::fen))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    crate::audit::record(
        conn,
        now,
        Some(user_id),
        "benefit_redeem",
        &h.card_number,
        serde_json::json!({"redemption": id, "benefit": h.id, "offer": h.offer, "value": value}),
    )
    .await?;
    Ok(get(conn, id).await?.redemption)
}

/// Reverses a redemption within `window_us` of it, before its month is
/// settled: the benefit can be delivered again.
pub async fn reverse(
    conn: &mut Conn,
    r: &StoredRedemption,
    user_id: i64,
    window_us: i64,
    now: i64,
) -> AppResult<Redemption> {
    if r.redemption.reversed_at.is_some() {
        return Err(AppError::new(
            Code::RedemptionReversed,
            "this redemption is reversed already",
        ));
    }
    if r.settled {
        return Err(AppError::new(
            Code::SettlementClosed,
            "this redemption's month is settled; it can no longer be reversed",
        ));
    }
    if now - r.redeemed_us > window_us {
        return Err(AppError::new(
            Code::ReversalWindowPassed,
            format!(
                "a redemption can be reversed within {} hours of it",
                window_us / 3_600_000_000
            ),
        ));
    }
    let id = r.redemption.id;
    let done = sqlx::query(
        "UPDATE redemptions SET reversed_at = $2, reversed_by = $3 \
         WHERE id = $1 AND reversed_at IS NULL AND settlement_id IS NULL \
         RETURNING benefit_id, value_fen",
    )
    .bind(id)
    .bind(now)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = done else {
        return Err(AppError::new(
            Code::RedemptionReversed,
            "this redemption was reversed or settled meanwhile",
        ));
    };
    let benefit: i64 = row.try_get("benefit_id")?;
    let value: i64 = row.try_get("value_fen")?;
    // A voucher is deliverable again; an entitlement gets its use back if
    // the month it counted in is still the current one. A void benefit
    // stays void.
    sqlx::query(
        "UPDATE benefits SET status = CASE WHEN status = 'redeemed' THEN 'granted' ELSE status END, \
         period_used = CASE WHEN period = $2 AND period_used > 0 THEN period_used - 1 \
                            ELSE period_used END \
         WHERE id = $1",
    )
    .bind(benefit)
    .bind(&r.redemption.period)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE offers SET redeemed_fen = redeemed_fen - $2 \
         WHERE id = (SELECT offer_id FROM benefits WHERE id = $1)",
    )
    .bind(benefit)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    // Given back on a card closed meanwhile, it dies with the card's money.
    super::voids::if_card_closed(conn, benefit, Some(user_id), now).await?;
    crate::audit::record(
        conn,
        now,
        Some(user_id),
        "benefit_reverse",
        &r.redemption.offer,
        serde_json::json!({"redemption": id, "benefit": benefit}),
    )
    .await?;
    Ok(get(conn, id).await?.redemption)
}

/// A benefit as the card page and the API show it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BenefitView {
    pub id: i64,
    pub offer: String,
    pub merchant: String,
    pub kind: BenefitKind,
    pub item: String,
    pub voucher_code: Option<String>,
    /// `granted` (to deliver), `redeemed`, `expired` or `void` (its card
    /// was closed before it was delivered).
    pub status: String,
    pub granted_at: String,
    pub expires_at: Option<String>,
    /// An entitlement's uses left this calendar month.
    pub left_this_period: Option<i64>,
}

impl Holding {
    /// The benefit as shown at `now`.
    pub fn view(&self, now: i64, tz: Tz) -> BenefitView {
        let (_, month, _) = crate::fleet::local_periods(now, tz);
        let expired = self.expires_at.is_some_and(|e| now >= e);
        let status = if self.status == "redeemed" || self.status == "void" {
            self.status.as_str()
        } else if expired {
            "expired"
        } else {
            "granted"
        };
        let left = self.definition.benefit.per_period.map(|per| {
            if self.period.as_deref() == Some(month.as_str()) {
                (per - self.period_used).max(0)
            } else {
                per
            }
        });
        BenefitView {
            id: self.id,
            offer: self.offer.clone(),
            merchant: self.merchant.clone(),
            kind: self.definition.benefit.kind,
            item: self.definition.benefit.item.clone(),
            voucher_code: Some(vouchers::printed(&self.voucher_code)),
            status: status.to_string(),
            granted_at: crate::time::format_us(self.granted_at),
            expires_at: self.expires_at.map(crate::time::format_us),
            left_this_period: left.map(|l| if expired { 0 } else { l }),
        }
    }
}

/// A card's benefits, newest first; only one merchant's when `merchant`
/// is given.
pub async fn for_card(
    conn: &mut Conn,
    card_id: i64,
    merchant: Option<i64>,
) -> AppResult<Vec<Holding>> {
    let rows = sqlx::query(&format!(
        "{HOLDING} WHERE b.card_id = $1 AND o.merchant_id = COALESCE($2, o.merchant_id) \
         ORDER BY b.id DESC LIMIT 200"
    ))
    .bind(card_id)
    .bind(merchant)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(holding).collect()
}

/// The masked customer of a card, for a merchant's lookup.
pub async fn masked(conn: &mut Conn, card_id: i64) -> AppResult<Masked> {
    let row = sqlx::query(
        "SELECT c.number, cu.name, cu.phone FROM cards c \
         LEFT JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1",
    )
    .bind(card_id)
    .fetch_one(&mut *conn)
    .await?;
    let number: String = row.try_get("number")?;
    Ok(Masked {
        name: row.try_get("name")?,
        phone_last4: row
            .try_get::<Option<String>, _>("phone")?
            .map(|p| last4(&p)),
        card_last4: last4(&number),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_half_up_to_the_fen() {
        assert_eq!(station_share(Money::from_fen(1001), 50).fen(), 501);
        assert_eq!(station_share(Money::from_fen(3000), 100).fen(), 3000);
        assert_eq!(station_share(Money::from_fen(3000), 0).fen(), 0);
    }

    #[test]
    fn a_merchant_sees_four_digits() {
        assert_eq!(last4("13800000001"), "0001");
        assert_eq!(last4("12"), "12");
    }
}

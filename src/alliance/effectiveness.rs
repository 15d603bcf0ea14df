//! What an offer brought, read from what happened: grants and
//! redemptions, the cards it opened (granted on opening, or opened through
//! the offer as their channel) and what those cards were recharged, what it
//! cost (the value of the benefits delivered) and the cost per new card.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::offers::Stored;
use crate::db::Conn;
use crate::error::AppResult;
use crate::money::Money;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Effectiveness {
    pub offer: String,
    pub name: String,
    pub merchant: String,
    pub granted: i64,
    /// Deliveries that stand (an entitlement is delivered once a use).
    pub redeemed: i64,
    /// Deliveries per grant, in percent with two decimals.
    #[schema(example = "62.50")]
    pub redemption_rate: String,
    /// Cards opened with the offer: granted it on opening, or opened with
    /// the offer as their channel.
    pub cards_opened: i64,
    /// Everything those cards were recharged.
    #[schema(value_type = String)]
    pub recharge_amount: Money,
    /// The value of the benefits delivered.
    #[schema(value_type = String)]
    pub cost: Money,
    /// What the grants commit at the unit cost.
    #[schema(value_type = String)]
    pub committed: Money,
    #[schema(value_type = Option<String>)]
    pub cost_per_new_card: Option<Money>,
}

/// The cards an offer opened.
const OPENED: &str = "SELECT b.card_id FROM benefits b \
     WHERE b.offer_id = $1 AND b.event_key LIKE 'card_opened:%' \
     UNION SELECT co.card_id FROM card_openings co \
     WHERE co.channel = 'partner' AND co.channel_ref = $2";

pub async fn of_offer(conn: &mut Conn, offer: &Stored) -> AppResult<Effectiveness> {
    let row = sqlx::query(&format!(
        "SELECT \
           (SELECT COUNT(*) FROM redemptions r JOIN benefits b ON b.id = r.benefit_id \
              WHERE b.offer_id = $1 AND r.reversed_at IS NULL) AS redeemed, \
           (SELECT CAST(COALESCE(SUM(r.value_fen), 0) AS BIGINT) FROM redemptions r \
              JOIN benefits b ON b.id = r.benefit_id \
              WHERE b.offer_id = $1 AND r.reversed_at IS NULL) AS cost, \
           (SELECT COUNT(*) FROM ({OPENED}) opened) AS cards, \
           (SELECT CAST(COALESCE(SUM(rc.amount_fen), 0) AS BIGINT) FROM recharges rc \
              WHERE rc.card_id IN ({OPENED})) AS recharged"
    ))
    .bind(offer.id)
    .bind(&offer.code)
    .fetch_one(&mut *conn)
    .await?;
    let redeemed: i64 = row.try_get("redeemed")?;
    let cards: i64 = row.try_get("cards")?;
    let cost = Money::from_fen(row.try_get("cost")?);
    Ok(Effectiveness {
        offer: offer.code.clone(),
        name: offer.name.clone(),
        merchant: offer.merchant.clone(),
        granted: offer.granted,
        redeemed,
        redemption_rate: rate(redeemed, offer.granted),
        cards_opened: cards,
        recharge_amount: Money::from_fen(row.try_get("recharged")?),
        cost,
        committed: Money::from_fen(offer.granted_fen),
        cost_per_new_card: (cards > 0).then(|| per_card(cost, cards)),
    })
}

/// `part / whole` in percent, half-up to two decimals; zero of nothing.
pub fn rate(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0.00".into();
    }
    let r = Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole);
    format!(
        "{:.2}",
        r.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    )
}

/// A cost spread over the cards, half-up to the fen.
pub fn per_card(cost: Money, cards: i64) -> Money {
    Money::from_fen((cost.fen() * 2 + cards) / (cards * 2))
}

/// A merchant's offers together.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MerchantEffectiveness {
    pub merchant: String,
    pub granted: i64,
    pub redeemed: i64,
    pub redemption_rate: String,
    pub cards_opened: i64,
    #[schema(value_type = String)]
    pub recharge_amount: Money,
    #[schema(value_type = String)]
    pub cost: Money,
    #[schema(value_type = Option<String>)]
    pub cost_per_new_card: Option<Money>,
    pub offers: Vec<Effectiveness>,
}

pub fn of_merchant(merchant: &str, offers: Vec<Effectiveness>) -> MerchantEffectiveness {
    let granted = offers.iter().map(|o| o.granted).sum();
    let redeemed = offers.iter().map(|o| o.redeemed).sum();
    let cards = offers.iter().map(|o| o.cards_opened).sum();
    let cost = Money::from_fen(offers.iter().map(|o| o.cost.fen()).sum());
    MerchantEffectiveness {
        merchant: merchant.to_string(),
        granted,
        redeemed,
        redemption_rate: rate(redeemed, granted),
        cards_opened: cards,
        recharge_amount: Money::from_fen(offers.iter().map(|o| o.recharge_amount.fen()).sum()),
        cost,
        cost_per_new_card: (cards > 0).then(|| per_card(cost, cards)),
        offers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_costs_round_half_up() {
        assert_eq!(rate(1, 3), "33.33");
        assert_eq!(rate(2, 3), "66.67");
        assert_eq!(rate(0, 0), "0.00");
        assert_eq!(rate(5, 4), "125.00");
        assert_eq!(per_card(Money::from_fen(1000), 3).fen(), 333);
        assert_eq!(per_card(Money::from_fen(1001), 2).fen(), 501);
    }
}

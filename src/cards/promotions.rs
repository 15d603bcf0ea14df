//! Recharge promotions (充值优惠): tiered bonus by single-recharge amount,
//! limited to card kinds and a date window, paid from a budget, with gifts
//! for thresholds and a campaign code for attribution.
//!
//! The rules are pure functions over [`Rule`]; the store functions load and
//! save them and spend the budget with one conditional update.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::CardKind;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{AccountKind, system_account};
use crate::money::Money;

/// Single recharge of at least `min_amount` earns `bonus_percent` of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tier {
    pub min_amount_fen: i64,
    /// Percent with at most two decimals, e.g. "2" or "2.5".
    pub bonus_percent: Decimal,
}

/// A gift handed over for a single recharge of at least `min_amount`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Gift {
    pub min_amount_fen: i64,
    pub item: String,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub tiers: Vec<Tier>,
    pub card_kinds: Option<Vec<CardKind>>,
    pub gifts: Vec<Gift>,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
}

impl Rule {
    /// In force at `at` for this card kind?
    pub fn applies(&self, kind: CardKind, at: i64) -> bool {
        self.starts_at.is_none_or(|s| s <= at)
            && self.ends_at.is_none_or(|e| at < e)
            && self
                .card_kinds
                .as_ref()
                .is_none_or(|kinds| kinds.contains(&kind))
    }

    /// The bonus of the highest tier the amount reaches (only that tier),
    /// rounded half-up to the fen; zero when no tier is reached.
    pub fn bonus_for(&self, amount: Money) -> Money {
        let Some(tier) = self
            .tiers
            .iter()
            .filter(|t| t.min_amount_fen <= amount.fen())
            .max_by_key(|t| t.min_amount_fen)
        else {
            return Money::ZERO;
        };
        let bonus = Decimal::new(amount.fen(), 0) * tier.bonus_percent / Decimal::ONE_HUNDRED;
        let fen = bonus
            .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
            .unwrap_or(0);
        Money::from_fen(fen)
    }

    /// The gift of the highest threshold reached, if any.
    pub fn gift_for(&self, amount: Money) -> Option<&Gift> {
        self.gifts
            .iter()
            .filter(|g| g.min_amount_fen <= amount.fen())
            .max_by_key(|g| g.min_amount_fen)
    }
}

/// Validates a bonus percent from a request: 0 < p ≤ 100, two decimals.
pub fn parse_percent(text: &str) -> AppResult<Decimal> {
    let invalid = || {
        AppError::new(
            Code::ValidationFailed,
            format!("bonus_percent {text:?}: a number above 0 and at most 100, two decimals"),
        )
    };
    let p: Decimal = text.trim().parse().map_err(|_| invalid())?;
    if p <= Decimal::ZERO || p > Decimal::ONE_HUNDRED || p.scale() > 2 {
        return Err(invalid());
    }
    Ok(p.normalize())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Promotion {
    pub id: i64,
    pub name: String,
    pub campaign_code: Option<String>,
    #[serde(skip)]
    pub rule: Rule,
    #[serde(skip)]
    pub account_id: i64,
    #[schema(value_type = Option<String>)]
    pub budget: Option<Money>,
    #[schema(value_type = String)]
    pub spent: Money,
}

pub struct NewPromotion {
    pub name: String,
    pub rule: Rule,
    pub budget: Option<Money>,
    pub campaign_code: Option<String>,
}

pub async fn create(conn: &mut Conn, p: NewPromotion, now: i64) -> AppResult<Promotion> {
    if p.name.trim().is_empty() || p.rule.tiers.is_empty() {
        return Err(AppError::new(
            Code::ValidationFailed,
            "a promotion needs a name and at least one tier",
        ));
    }
    if let (Some(s), Some(e)) = (p.rule.starts_at, p.rule.ends_at) {
        if e <= s {
            return Err(AppError::new(
                Code::ValidationFailed,
                "ends_at must be after starts_at",
            ));
        }
    }
    let json = |e: serde_json::Error| AppError::internal("encoding a promotion", e);
    let kinds = p
        .rule
        .card_kinds
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(json)?;
    let tiers = serde_json::to_string(&p.rule.tiers).map_err(json)?;
    let gifts = serde_json::to_string(&p.rule.gifts).map_err(json)?;
    // The promotion's own expense account is named after a fresh number so
    // it exists before the promotion row that points at it.
    let account_name = format!("promotion:{}", uuid::Uuid::new_v4());
    let account_id = system_account(conn, AccountKind::Promotion, &account_name, now).await?;
    let row = sqlx::query(
        "INSERT INTO promotions (name, kind, tiers, card_kinds, gifts, starts_at, ends_at, \
         budget_fen, campaign_code, account_id, created_at) \
         VALUES ($1, 'recharge_bonus', $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(p.name.trim())
    .bind(tiers)
    .bind(kinds)
    .bind(gifts)
    .bind(p.rule.starts_at)
    .bind(p.rule.ends_at)
    .bind(p.budget.map(Money::fen))
    .bind(p.campaign_code.as_deref())
    .bind(account_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    Ok(Promotion {
        id,
        name: p.name.trim().to_string(),
        campaign_code: p.campaign_code,
        rule: p.rule,
        account_id,
        budget: p.budget,
        spent: Money::ZERO,
    })
}

fn from_row(row: &sqlx::any::AnyRow) -> AppResult<Promotion> {
    let tiers: String = row.try_get("tiers")?;
    let gifts: String = row.try_get("gifts")?;
    let kinds: Option<String> = row.try_get("card_kinds")?;
    let bad = |e: serde_json::Error| AppError::internal("stored promotion", e);
    Ok(Promotion {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        campaign_code: row.try_get("campaign_code")?,
        rule: Rule {
            tiers: serde_json::from_str(&tiers).map_err(bad)?,
            gifts: serde_json::from_str(&gifts).map_err(bad)?,
            card_kinds: kinds
                .map(|k| serde_json::from_str(&k))
                .transpose()
                .map_err(bad)?,
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
        },
        account_id: row.try_get("account_id")?,
        budget: row
            .try_get::<Option<i64>, _>("budget_fen")?
            .map(Money::from_fen),
        spent: Money::from_fen(row.try_get("spent_fen")?),
    })
}

pub async fn in_force(conn: &mut Conn, at: i64) -> AppResult<Vec<Promotion>> {
    let rows = sqlx::query(
        "SELECT id, name, campaign_code, tiers, gifts, card_kinds, starts_at, ends_at, \
         account_id, budget_fen, spent_fen FROM promotions \
         WHERE (starts_at IS NULL OR starts_at <= $1) AND (ends_at IS NULL OR ends_at > $1) \
         ORDER BY id",
    )
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The promotion a recharge gets, as a pure choice: among those in force
/// for the card kind, the one named by the campaign code if it applies,
/// otherwise the one giving the largest bonus (then gift, then the oldest).
pub fn choose<'a>(
    promotions: &'a [Promotion],
    kind: CardKind,
    at: i64,
    amount: Money,
    campaign_code: Option<&str>,
) -> Option<&'a Promotion> {
    let applicable: Vec<&Promotion> = promotions
        .iter()
        .filter(|p| p.rule.applies(kind, at))
        .filter(|p| p.rule.bonus_for(amount).is_positive() || p.rule.gift_for(amount).is_some())
        .collect();
    if let Some(code) = campaign_code {
        if let Some(p) = applicable
            .iter()
            .find(|p| p.campaign_code.as_deref() == Some(code))
        {
            return Some(p);
        }
    }
    applicable
        .into_iter()
        .max_by_key(|p| (p.rule.bonus_for(amount), std::cmp::Reverse(p.id)))
}

/// Spends `bonus` from the promotion's budget in one conditional update.
/// False when the budget cannot cover it: the recharge then goes ahead
/// without a bonus and says so.
pub async fn take_budget(conn: &mut Conn, promotion_id: i64, bonus: Money) -> AppResult<bool> {
    let done = sqlx::query(
        "UPDATE promotions SET spent_fen = spent_fen + $1 \
         WHERE id = $2 AND (budget_fen IS NULL OR spent_fen + $1 <= budget_fen)",
    )
    .bind(bonus.fen())
    .bind(promotion_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Rule {
        Rule {
            tiers: vec![
                Tier {
                    min_amount_fen: 100_000,
                    bonus_percent: Decimal::new(2, 0),
                },
                Tier {
                    min_amount_fen: 500_000,
                    bonus_percent: Decimal::new(35, 1),
                },
            ],
            card_kinds: Some(vec![CardKind::Personal, CardKind::CompanyMain]),
            gifts: vec![Gift {
                min_amount_fen: 200_000,
                item: "洗车券".into(),
            }],
            starts_at: Some(100),
            ends_at: Some(200),
        }
    }

    #[test]
    fn only_the_highest_tier_counts() {
        let r = rule();
        assert_eq!(r.bonus_for(Money::from_fen(99_999)), Money::ZERO);
        assert_eq!(r.bonus_for(Money::from_fen(100_000)).fen(), 2_000);
        assert_eq!(r.bonus_for(Money::from_fen(500_000)).fen(), 17_500);
        // 1234.56 × 2% = 24.6912 → 24.69
        assert_eq!(r.bonus_for(Money::from_fen(123_456)).fen(), 2_469);
    }

    #[test]
    fn window_and_kinds_limit_the_rule() {
        let r = rule();
        assert!(r.applies(CardKind::Personal, 100));
        assert!(!r.applies(CardKind::Personal, 200));
        assert!(!r.applies(CardKind::Personal, 99));
        assert!(!r.applies(CardKind::Anonymous, 150));
    }

    #[test]
    fn gifts_follow_thresholds() {
        let r = rule();
        assert!(r.gift_for(Money::from_fen(199_999)).is_none());
        assert_eq!(r.gift_for(Money::from_fen(200_000)).unwrap().item, "洗车券");
    }

    #[test]
    fn percent_is_validated() {
        assert_eq!(parse_percent("2").unwrap(), Decimal::new(2, 0));
        assert!(parse_percent("0").is_err());
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("1.234").is_err());
        assert!(parse_percent("abc").is_err());
    }

    #[test]
    fn the_best_bonus_wins_unless_a_campaign_is_named() {
        let mk = |id, pct: i64, code: Option<&str>| Promotion {
            id,
            name: format!("p{id}"),
            campaign_code: code.map(String::from),
            rule: Rule {
                tiers: vec![Tier {
                    min_amount_fen: 1,
                    bonus_percent: Decimal::new(pct, 0),
                }],
                card_kinds: None,
                gifts: vec![],
                starts_at: None,
                ends_at: None,
            },
            account_id: 0,
            budget: None,
            spent: Money::ZERO,
        };
        let ps = vec![mk(1, 2, None), mk(2, 5, None), mk(3, 1, Some("FLYER"))];
        let amount = Money::from_fen(10_000);
        assert_eq!(
            choose(&ps, CardKind::Personal, 0, amount, None).unwrap().id,
            2
        );
        assert_eq!(
            choose(&ps, CardKind::Personal, 0, amount, Some("FLYER"))
                .unwrap()
                .id,
            3
        );
    }
}

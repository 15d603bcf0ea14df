//! Offers as data. An offer names its merchant, the event that triggers it
//! and the conditions on that event ([`Trigger`]), the benefit it grants
//! ([`BenefitSpec`]), what one grant costs and who funds it, its budget in
//! grants and in money, a cap per customer, how long a benefit stays valid,
//! and whether the partner needs the customer's data.
//!
//! The request carries amounts and times as text; [`OfferInput::validate`]
//! checks it whole and turns it into the typed [`Definition`] that is
//! stored (as JSON beside the columns the engine counts by) and that the
//! engine's pure rule ([`Definition::matches`]) reads.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::merchants;
use crate::cards::CardKind;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::http::openapi::{AmountOrZeroText, AmountText, TimeText};
use crate::money::Money;

/// What happens to a card that can trigger an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The card is opened.
    CardOpened,
    /// One recharge (of at least `min_amount`).
    Recharge,
    /// One sale charging at least `min_amount`.
    Sale,
    /// The card's fuel bought in a calendar month reaches `min_amount`
    /// (granted by the sale that reaches it, once a month).
    MonthlySpend,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::CardOpened => "card_opened",
            Event::Recharge => "recharge",
            Event::Sale => "sale",
            Event::MonthlySpend => "monthly_spend",
        }
    }
}

/// What a grant gives the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BenefitKind {
    /// One item claimed once at the merchant (an insurance policy).
    Voucher,
    /// A number of uses per calendar month while the card is active (one
    /// free car wash a month).
    Entitlement,
    /// A discount on one purchase at the merchant: a percentage or a fixed
    /// amount.
    Discount,
    /// A gift, handed over at the merchant or at a station's counter.
    Gift,
}

impl BenefitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BenefitKind::Voucher => "voucher",
            BenefitKind::Entitlement => "entitlement",
            BenefitKind::Discount => "discount",
            BenefitKind::Gift => "gift",
        }
    }
}

/// The period an entitlement renews over: only the calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Renewal {
    Month,
}

/// What triggers an offer, as a request carries it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerInput {
    pub event: Event,
    /// Recharge or sale: the smallest amount that triggers it; monthly
    /// spend: the month's spend to reach (required).
    #[serde(default)]
    #[schema(value_type = Option<AmountText>)]
    pub min_amount: Option<String>,
    /// Only cards of these kinds (default: all).
    #[serde(default)]
    pub card_kinds: Option<Vec<CardKind>>,
    /// Only at these stations, by code (default: all).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub stations: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<TimeText>)]
    pub starts_at: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<TimeText>)]
    pub ends_at: Option<String>,
    /// Only the first N customers are granted.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000000)]
    pub first_n: Option<i64>,
}

/// What an offer grants, as a request carries it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BenefitInput {
    pub kind: BenefitKind,
    /// What the customer receives: 1–100 characters.
    #[schema(pattern = "\\S", max_length = 100, example = "驾乘人员意外险一份")]
    pub item: String,
    /// Entitlement: uses per period (default 1).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31)]
    pub per_period: Option<i64>,
    /// Entitlement: the period (only `month`, the default).
    #[serde(default)]
    pub period: Option<Renewal>,
    /// Discount: whole percent off the purchase, 1–100.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub percent: Option<i64>,
    /// Discount: a fixed amount off, yuan.
    #[serde(default)]
    #[schema(value_type = Option<AmountText>)]
    pub amount: Option<String>,
    /// Discount: the most one redemption is worth, yuan, whatever the
    /// purchase it is taken off. A percentage discount has one: this, or
    /// else the offer's `unit_cost`.
    #[serde(default)]
    #[schema(value_type = Option<AmountText>)]
    pub max_value: Option<String>,
}

/// Who pays for a benefit delivered, in whole percent summing to 100.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Funding {
    #[schema(minimum = 0, maximum = 100)]
    pub station_percent: i64,
    #[schema(minimum = 0, maximum = 100)]
    pub merchant_percent: i64,
}

/// An offer to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    /// 1–32 letters, digits, '-' or '_'; unique.
    #[schema(example = "INS-2026")]
    pub code: String,
    /// The merchant's code.
    #[schema(example = "M001")]
    pub merchant: String,
    #[schema(pattern = "\\S", max_length = 100, example = "办卡送保险")]
    pub name: String,
    pub trigger: TriggerInput,
    pub benefit: BenefitInput,
    /// What one grant costs when it is delivered, yuan.
    #[schema(value_type = AmountOrZeroText)]
    pub unit_cost: String,
    pub funded_by: Funding,
    /// The most grants in all.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000000)]
    pub budget_count: Option<i64>,
    /// The most the grants may cost in all (unit cost × grants), yuan.
    #[serde(default)]
    #[schema(value_type = Option<AmountText>)]
    pub budget_amount: Option<String>,
    /// The most grants one customer (or one card without a holder) gets.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub per_customer: Option<i64>,
    /// A benefit is valid this many days after its grant.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3660)]
    pub valid_days: Option<i64>,
    /// …or until the end of this day (YYYY-MM-DD, the operator's zone);
    /// with both, whichever comes first.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<String>,
    /// The partner needs the customer's data (name, document, phone): a
    /// customer who has not consented to sharing is still granted, with a
    /// `consent_missing` notice, and left off the partner's list.
    #[serde(default)]
    pub needs_consent: Option<bool>,
}

/// An offer's trigger, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub event: Event,
    pub min_fen: Option<i64>,
    pub card_kinds: Vec<CardKind>,
    pub stations: Vec<String>,
    pub starts_us: Option<i64>,
    pub ends_us: Option<i64>,
}

/// An offer's benefit, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitSpec {
    pub kind: BenefitKind,
    pub item: String,
    /// Entitlement: uses per calendar month.
    pub per_period: Option<i64>,
    pub percent: Option<i64>,
    pub amount_fen: Option<i64>,
    /// A discount's ceiling per redemption. Offers stored before it was
    /// kept have none: their ceiling is the unit cost.
    #[serde(default)]
    pub max_value_fen: Option<i64>,
}

/// What is stored of an offer as JSON: the parts the engine and the views
/// read but never count by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub trigger: Trigger,
    pub benefit: BenefitSpec,
    pub valid_days: Option<i64>,
    pub valid_until: Option<NaiveDate>,
    pub needs_consent: bool,
}

/// The facts of one event that an offer's conditions are checked against.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub event: Event,
    pub card_kind: CardKind,
    /// The station the event happens at, by code.
    pub station: Option<&'a str>,
    /// The recharge's amount or the sale's charge.
    pub amount: Option<Money>,
    /// The card's fuel bought this month before and after the event.
    pub month_spend: Option<(Money, Money)>,
    pub now: i64,
}

impl Definition {
    /// Whether an event meets the offer's conditions (budget and caps
    /// aside, which the engine takes under lock).
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        let t = &self.trigger;
        let in_window =
            t.starts_us.is_none_or(|s| f.now >= s) && t.ends_us.is_none_or(|e| f.now < e);
        let kind = t.card_kinds.is_empty() || t.card_kinds.contains(&f.card_kind);
        let station =
            t.stations.is_empty() || f.station.is_some_and(|s| t.stations.iter().any(|c| c == s));
        let amount = match t.event {
            Event::CardOpened => true,
            Event::Recharge | Event::Sale => match (t.min_fen, f.amount) {
                (None, _) => true,
                (Some(min), Some(a)) => a.fen() >= min,
                (Some(_), None) => false,
            },
            Event::MonthlySpend => match (t.min_fen, f.month_spend) {
                (Some(min), Some((before, after))) => before.fen() < min && after.fen() >= min,
                _ => false,
            },
        };
        t.event == f.event && in_window && kind && station && amount
    }

    /// When a benefit granted at `now` expires: after its days, or at the
    /// end of the last valid day, whichever is first; never for an open
    /// entitlement.
    pub fn expiry(&self, now: i64, tz: chrono_tz::Tz) -> Option<i64> {
        let by_days = self
            .valid_days
            .map(|d| now.saturating_add(d.saturating_mul(86_400_000_000)));
        let by_date = self
            .valid_until
            .and_then(|d| d.succ_opt())
            .and_then(|next| crate::time::day_span(next, tz))
            .map(|(start, _)| start);
        match (by_days, by_date) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn amount(field: &str, text: &str, positive: bool) -> AppResult<Money> {
    let parsed = if positive {
        Money::parse_positive(text)
    } else {
        Money::parse(text)
    };
    parsed.map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field}: {e}")).with("field", field)
    })
}

fn time(field: &str, text: &Option<String>) -> AppResult<Option<i64>> {
    text.as_deref()
        .map(|t| {
            crate::time::parse_rfc3339(t.trim())
                .ok_or_else(|| AppError::invalid(field, format!("{field}: an RFC 3339 time")))
        })
        .transpose()
}

/// What validation makes of a request: the offer's definition and the
/// numbers the engine counts by.
#[derive(Debug, Clone)]
pub struct Checked {
    pub definition: Definition,
    pub unit_cost: Money,
    pub budget_count: Option<i64>,
    pub budget_amount: Option<Money>,
    pub first_n: Option<i64>,
    pub per_customer: Option<i64>,
}

impl OfferInput {
    /// Checks the whole request and types it; nothing is looked up.
    pub fn validate(&self) -> AppResult<Checked> {
        merchants::check_code("code", &self.code)?;
        merchants::check_code("merchant", &self.merchant)?;
        crate::text::required("name", &self.name, 100)?;
        let t = &self.trigger;
        let min = t
            .min_amount
            .as_deref()
            .map(|m| amount("trigger.min_amount", m, true))
            .transpose()?;
        if t.event == Event::MonthlySpend && min.is_none() {
            return Err(AppError::invalid(
                "trigger.min_amount",
                "a monthly spend offer needs the spend to reach: trigger.min_amount",
            ));
        }
        if t.event == Event::CardOpened && min.is_some() {
            return Err(AppError::invalid(
                "trigger.min_amount",
                "a card opening has no amount: leave trigger.min_amount out",
            ));
        }
        let stations = t.stations.clone().unwrap_or_default();
        if stations.len() > 100 {
            return Err(AppError::invalid(
                "trigger.stations",
                "trigger.stations: at most 100",
            ));
        }
        for s in &stations {
            crate::text::required("trigger.stations", s, 16)?;
        }
        let (starts_us, ends_us) = (
            time("trigger.starts_at", &t.starts_at)?,
            time("trigger.ends_at", &t.ends_at)?,
        );
        if let (Some(s), Some(e)) = (starts_us, ends_us)
            && e <= s
        {
            return Err(AppError::invalid(
                "trigger.ends_at",
                "trigger.ends_at must be after starts_at",
            ));
        }
        let b = &self.benefit;
        let item = crate::text::required("benefit.item", &b.item, 100)?;
        let fixed = b
            .amount
            .as_deref()
            .map(|a| amount("benefit.amount", a, true))
            .transpose()?;
        let entitlement = b.kind == BenefitKind::Entitlement;
        let discount = b.kind == BenefitKind::Discount;
        if !entitlement && (b.per_period.is_some() || b.period.is_some()) {
            return Err(AppError::invalid(
                "benefit.per_period",
                "per_period and period belong to an entitlement",
            ));
        }
        if !discount && (b.percent.is_some() || fixed.is_some() || b.max_value.is_some()) {
            return Err(AppError::invalid(
                "benefit.percent",
                "percent, amount and max_value belong to a discount",
            ));
        }
        if discount && b.percent.is_some() == fixed.is_some() {
            return Err(AppError::invalid(
                "benefit.percent",
                "a discount is either a percent or an amount",
            ));
        }
        let in_range = |v: Option<i64>, lo: i64, hi: i64| v.is_none_or(|v| (lo..=hi).contains(&v));
        let checks = [
            ("benefit.per_period", in_range(b.per_period, 1, 31), "1–31"),
            ("benefit.percent", in_range(b.percent, 1, 100), "1–100"),
            (
                "trigger.first_n",
                in_range(t.first_n, 1, 10_000_000),
                "1–10000000",
            ),
            (
                "budget_count",
                in_range(self.budget_count, 1, 10_000_000),
                "1–10000000",
            ),
            (
                "per_customer",
                in_range(self.per_customer, 1, 1000),
                "1–1000",
            ),
            ("valid_days", in_range(self.valid_days, 1, 3660), "1–3660"),
        ];
        for (field, ok, range) in checks {
            if !ok {
                return Err(AppError::invalid(field, format!("{field}: {range}")));
            }
        }
        let f = self.funded_by;
        if !(0..=100).contains(&f.station_percent)
            || !(0..=100).contains(&f.merchant_percent)
            || f.station_percent + f.merchant_percent != 100
        {
            return Err(AppError::invalid(
                "funded_by",
                "funded_by: station_percent and merchant_percent, 0–100 each, summing to 100",
            ));
        }
        let unit_cost = amount("unit_cost", &self.unit_cost, false)?;
        let max_value = b
            .max_value
            .as_deref()
            .map(|a| amount("benefit.max_value", a, true))
            .transpose()?;
        // A percentage is worth whatever the purchase is: its ceiling per
        // redemption is what bounds it, so it must have one.
        let max_value = match (b.percent, max_value) {
            (Some(_), None) if !unit_cost.is_positive() => {
                return Err(AppError::invalid(
                    "benefit.max_value",
                    "a percentage discount needs a ceiling per redemption: benefit.max_value, \
                     or a unit_cost above zero",
                ));
            }
            (Some(_), None) => Some(unit_cost),
            (_, given) => given,
        };
        let budget_amount = self
            .budget_amount
            .as_deref()
            .map(|a| amount("budget_amount", a, true))
            .transpose()?;
        let valid_until = self
            .valid_until
            .as_deref()
            .map(|d| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                    .map_err(|_| AppError::invalid("valid_until", "valid_until: YYYY-MM-DD"))
            })
            .transpose()?;
        Ok(Checked {
            definition: Definition {
                trigger: Trigger {
                    event: t.event,
                    min_fen: min.map(Money::fen),
                    card_kinds: t.card_kinds.clone().unwrap_or_default(),
                    stations,
                    starts_us,
                    ends_us,
                },
                benefit: BenefitSpec {
                    kind: b.kind,
                    item,
                    per_period: entitlement.then(|| b.per_period.unwrap_or(1)),
                    percent: b.percent,
                    amount_fen: fixed.map(Money::fen),
                    max_value_fen: max_value.map(Money::fen),
                },
                valid_days: self.valid_days,
                valid_until,
                needs_consent: self.needs_consent.unwrap_or(false),
            },
            unit_cost,
            budget_count: self.budget_count,
            budget_amount,
            first_n: t.first_n,
            per_customer: self.per_customer,
        })
    }
}

/// An offer as the API shows it, with its budget used.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Offer {
    pub code: String,
    pub merchant: String,
    pub name: String,
    pub event: Event,
    #[schema(value_type = Option<String>)]
    pub min_amount: Option<Money>,
    pub card_kinds: Vec<CardKind>,
    pub stations: Vec<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub first_n: Option<i64>,
    pub benefit: BenefitKind,
    pub item: String,
    pub per_period: Option<i64>,
    pub percent: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub amount: Option<Money>,
    /// A discount's ceiling per redemption.
    #[schema(value_type = Option<String>)]
    pub max_value: Option<Money>,
    #[schema(value_type = String)]
    pub unit_cost: Money,
    pub funded_by: Funding,
    pub budget_count: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub budget_amount: Option<Money>,
    pub per_customer: Option<i64>,
    pub valid_days: Option<i64>,
    pub valid_until: Option<String>,
    pub needs_consent: bool,
    /// Grants made so far.
    pub granted: i64,
    /// What they cost at the unit cost.
    #[schema(value_type = String)]
    pub granted_amount: Money,
    /// Redemptions not reversed.
    pub redeemed: i64,
    /// What the redemptions not reversed were worth: never above the money
    /// budget.
    #[schema(value_type = String)]
    pub redeemed_amount: Money,
    /// Grants the budget still allows (count and money); none when the
    /// offer has no budget.
    pub budget_left: Option<i64>,
}

/// An offer on file: its ids, definition and counters.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub code: String,
    pub merchant_id: i64,
    pub merchant: String,
    pub name: String,
    pub definition: Definition,
    pub unit_cost: Money,
    pub station_percent: i64,
    pub budget_count: Option<i64>,
    pub budget_fen: Option<i64>,
    pub first_n: Option<i64>,
    pub per_customer: Option<i64>,
    pub granted: i64,
    pub granted_fen: i64,
    pub redeemed_fen: i64,
}

impl Stored {
    /// Grants the budget still allows; `None` without a budget.
    pub fn budget_left(&self) -> Option<i64> {
        let by_count = self.budget_count.map(|b| (b - self.granted).max(0));
        let by_money = self
            .budget_fen
            .filter(|_| self.unit_cost.is_positive())
            .map(|b| (b - self.granted_fen).max(0) / self.unit_cost.fen());
        match (by_count, by_money) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn view(&self, redeemed: i64) -> Offer {
        let d = &self.definition;
        Offer {
            code: self.code.clone(),
            merchant: self.merchant.clone(),
            name: self.name.clone(),
            event: d.trigger.event,
            min_amount: d.trigger.min_fen.map(Money::from_fen),
            card_kinds: d.trigger.card_kinds.clone(),
            stations: d.trigger.stations.clone(),
            starts_at: d.trigger.starts_us.map(crate::time::format_us),
            ends_at: d.trigger.ends_us.map(crate::time::format_us),
            first_n: self.first_n,
            benefit: d.benefit.kind,
            item: d.benefit.item.clone(),
            per_period: d.benefit.per_period,
            percent: d.benefit.percent,
            amount: d.benefit.amount_fen.map(Money::from_fen),
            max_value: d.benefit.max_value_fen.map(Money::from_fen),
            unit_cost: self.unit_cost,
            funded_by: Funding {
                station_percent: self.station_percent,
                merchant_percent: 100 - self.station_percent,
            },
            budget_count: self.budget_count,
            budget_amount: self.budget_fen.map(Money::from_fen),
            per_customer: self.per_customer,
            valid_days: d.valid_days,
            valid_until: d.valid_until.map(|v| v.to_string()),
            needs_consent: d.needs_consent,
            granted: self.granted,
            granted_amount: Money::from_fen(self.granted_fen),
            redeemed,
            redeemed_amount: Money::from_fen(self.redeemed_fen),
            budget_left: self.budget_left(),
        }
    }
}

/// Adds an offer for a merchant on file.
pub async fn create(
    conn: &mut Conn,
    input: &OfferInput,
    user_id: Option<i64>,
    now: i64,
) -> AppResult<Stored> {
    let c = input.validate()?;
    let merchant = merchants::find(conn, &input.merchant).await?;
    for s in &c.definition.trigger.stations {
        crate::stations::find(conn, s).await?;
    }
    let definition = serde_json::to_string(&c.definition)
        .map_err(|e| AppError::internal("writing an offer", e))?;
    sqlx::query(
        "INSERT INTO offers (code, merchant_id, name, event, definition, unit_cost_fen, \
         station_percent, budget_count, budget_fen, first_n, per_customer, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&input.code)
    .bind(merchant.id)
    .bind(input.name.trim())
    .bind(c.definition.trigger.event.as_str())
    .bind(definition)
    .bind(c.unit_cost.fen())
    .bind(input.funded_by.station_percent)
    .bind(c.budget_count)
    .bind(c.budget_amount.map(Money::fen))
    .bind(c.first_n)
    .bind(c.per_customer)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    find(conn, &input.code).await
}

const COLUMNS: &str = "o.id, o.code, o.merchant_id, m.code AS merchant, o.name, o.definition, \
     o.unit_cost_fen, o.station_percent, o.budget_count, o.budget_fen, o.first_n, \
     o.per_customer, o.granted, o.granted_fen, o.redeemed_fen";

pub fn from_row(row: &sqlx::any::AnyRow) -> AppResult<Stored> {
    let definition: String = row.try_get("definition")?;
    Ok(Stored {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        merchant_id: row.try_get("merchant_id")?,
        merchant: row.try_get("merchant")?,
        name: row.try_get("name")?,
        definition: serde_json::from_str(&definition)
            .map_err(|e| AppError::internal("reading an offer", e))?,
        unit_cost: Money::from_fen(row.try_get("unit_cost_fen")?),
        station_percent: row.try_get("station_percent")?,
        budget_count: row.try_get("budget_count")?,
        budget_fen: row.try_get("budget_fen")?,
        first_n: row.try_get("first_n")?,
        per_customer: row.try_get("per_customer")?,
        granted: row.try_get("granted")?,
        granted_fen: row.try_get("granted_fen")?,
        redeemed_fen: row.try_get("redeemed_fen")?,
    })
}

/// The answer for an offer that is not there; to a merchant's user, also
/// the answer for another merchant's offer, word for word.
pub fn not_found(code: &str) -> AppError {
    AppError::new(Code::OfferNotFound, format!("no offer {code}"))
}

pub async fn find(conn: &mut Conn, code: &str) -> AppResult<Stored> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offers o JOIN merchants m ON m.id = o.merchant_id \
         WHERE o.code = $1"
    ))
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| not_found(code))?;
    from_row(&row)
}

/// The offers an event can trigger (one that sells fuel also moves the
/// month's spend), in the order they were added: one query, since it runs
/// with every sale.
pub async fn for_event(conn: &mut Conn, event: Event) -> AppResult<Vec<Stored>> {
    let also = match event {
        Event::Sale => Event::MonthlySpend,
        e => e,
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offers o JOIN merchants m ON m.id = o.merchant_id \
         WHERE o.event IN ($1, $2) ORDER BY o.id"
    ))
    .bind(event.as_str())
    .bind(also.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every offer, or a merchant's, newest first.
pub async fn list(conn: &mut Conn, merchant: Option<i64>) -> AppResult<Vec<Stored>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offers o JOIN merchants m ON m.id = o.merchant_id \
         WHERE o.merchant_id = COALESCE($1, o.merchant_id) ORDER BY o.id DESC LIMIT 500"
    ))
    .bind(merchant)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Ends an offer at `now`: its trigger's window closes, so no event from
/// `now` on grants it; what it granted before stays. The end is kept in
/// the stored definition, where the engine reads it.
pub async fn end(conn: &mut Conn, o: &Stored, now: i64) -> AppResult<Stored> {
    let mut definition = o.definition.clone();
    definition.trigger.ends_us = Some(now);
    let text = serde_json::to_string(&definition)
        .map_err(|e| AppError::internal("writing an offer", e))?;
    sqlx::query("UPDATE offers SET definition = $1 WHERE id = $2")
        .bind(text)
        .bind(o.id)
        .execute(&mut *conn)
        .await?;
    find(conn, &o.code).await
}

/// Redemptions of an offer that stand (not reversed).
pub async fn redeemed(conn: &mut Conn, offer_id: i64) -> AppResult<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM redemptions r JOIN benefits b ON b.id = r.benefit_id \
         WHERE b.offer_id = $1 AND r.reversed_at IS NULL",
    )
    .bind(offer_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(event: Event, min: Option<i64>) -> Definition {
        Definition {
            trigger: Trigger {
                event,
                min_fen: min,
                card_kinds: vec![CardKind::Personal],
                stations: vec!["S1".into()],
                starts_us: Some(100),
                ends_us: Some(200),
            },
            benefit: BenefitSpec {
                kind: BenefitKind::Voucher,
                item: "保险".into(),
                per_period: None,
                percent: None,
                amount_fen: None,
                max_value_fen: None,
            },
            valid_days: None,
            valid_until: None,
            needs_consent: false,
        }
    }

    fn facts(event: Event) -> Facts<'static> {
        Facts {
            event,
            card_kind: CardKind::Personal,
            station: Some("S1"),
            amount: Some(Money::from_fen(50_000)),
            month_spend: None,
            now: 150,
        }
    }

    #[test]
    fn an_event_matches_only_within_every_condition() {
        let d = definition(Event::Recharge, Some(50_000));
        assert!(d.matches(&facts(Event::Recharge)));
        assert!(!d.matches(&facts(Event::Sale)), "another event");
        let small = Facts {
            amount: Some(Money::from_fen(49_999)),
            ..facts(Event::Recharge)
        };
        assert!(!d.matches(&small), "below the minimum");
        let late = Facts {
            now: 200,
            ..facts(Event::Recharge)
        };
        assert!(!d.matches(&late), "the window ends before 200");
        let elsewhere = Facts {
            station: Some("S2"),
            ..facts(Event::Recharge)
        };
        assert!(!d.matches(&elsewhere), "another station");
        let fleet = Facts {
            card_kind: CardKind::Fleet,
            ..facts(Event::Recharge)
        };
        assert!(!d.matches(&fleet), "another card kind");
    }

    #[test]
    fn monthly_spend_matches_the_sale_that_reaches_it() {
        let d = definition(Event::MonthlySpend, Some(100_000));
        let at = |before: i64, after: i64| Facts {
            month_spend: Some((Money::from_fen(before), Money::from_fen(after))),
            ..facts(Event::MonthlySpend)
        };
        assert!(d.matches(&at(90_000, 100_000)));
        assert!(!d.matches(&at(100_000, 120_000)), "reached before");
        assert!(!d.matches(&at(10_000, 20_000)), "not reached");
    }

    #[test]
    fn a_benefit_expires_at_the_earlier_of_days_and_date() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut d = definition(Event::CardOpened, None);
        let now = crate::time::parse_rfc3339("2026-11-18T10:00:00+08:00").unwrap_or_default();
        assert_eq!(d.expiry(now, tz), None);
        d.valid_days = Some(30);
        assert_eq!(d.expiry(now, tz), Some(now + 30 * 86_400_000_000));
        d.valid_until = NaiveDate::from_ymd_opt(2026, 11, 30);
        assert_eq!(
            d.expiry(now, tz).map(crate::time::format_us).as_deref(),
            Some("2026-11-30T16:00:00Z"),
            "the end of 30 November in Shanghai"
        );
    }
}

//! The administrator's and head office's reference work: stations, prices
//! and promotions, pump terminals, and the audit log read back. The API and
//! the administration pages both parse their request into the bodies here
//! and call these functions, so the rules (and the audit records) are
//! written once.

use serde::{Deserialize, Serialize};

use super::{App, once};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::cards::CardKind;
use crate::cards::products::{self, Price, Product};
use crate::cards::promotions::{self, Gift, NewPromotion, Promotion, Rule, Tier};
use crate::error::{AppError, AppResult, Code};
use crate::http::openapi::{AmountOrZeroText, AmountText, TimeText};
use crate::money::Money;
use crate::stations::districts::{self, District};
use crate::stations::{self, Station};

/// A positive amount of a request's field, or why not (naming the field).
fn amount(field: &str, text: &str) -> AppResult<Money> {
    Money::parse_positive(text).map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field} {text:?}: {e}")).with("field", field)
    })
}

/// An amount of a request's field that may be zero.
fn amount_or_zero(field: &str, text: &str) -> AppResult<Money> {
    Money::parse(text).map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field} {text:?}: {e}")).with("field", field)
    })
}

/// An RFC 3339 time of a request's field.
fn time(field: &str, text: Option<&str>) -> AppResult<Option<i64>> {
    text.map(|t| {
        crate::time::parse_rfc3339(t)
            .ok_or_else(|| AppError::invalid(field, format!("{field}: an RFC 3339 time")))
    })
    .transpose()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStation {
    /// 1–16 letters, digits or '-'.
    #[schema(pattern = "^[A-Za-z0-9-]{1,16}$", example = "S004")]
    pub code: String,
    /// Not blank.
    #[schema(pattern = "\\S", example = "城南加油站")]
    pub name: String,
    #[serde(default)]
    pub district: String,
}

/// Adds a station (HQ, admin); a district it names that is not on file
/// comes in with it.
pub async fn add_station(app: &App, actor: &Actor, new: &NewStation) -> AppResult<Station> {
    authorize(actor, Action::ManageStations, &Target::network())?;
    let tz = app.settings.time_zone;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let (code, name, district) = (&new.code, &new.name, &new.district);
            let s = stations::create(conn, code, name, district, at.now, tz).await?;
            at.audit(conn, "station_add", &s.code, serde_json::json!({}))
                .await?;
            Ok(s)
        })
    })
    .await
}

/// Every station.
pub async fn list_stations(app: &App, actor: &Actor) -> AppResult<Vec<Station>> {
    authorize(actor, Action::ReadReferenceData, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    stations::list(&mut conn).await
}

/// Every district.
pub async fn list_districts(app: &App, actor: &Actor) -> AppResult<Vec<District>> {
    authorize(actor, Action::ReadReferenceData, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    districts::list(&mut conn).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductWithPrice {
    #[serde(flatten)]
    pub product: Product,
    pub price: Option<Price>,
}

/// The products with the price in force now (none before a price is set).
pub async fn list_products(app: &App, actor: &Actor) -> AppResult<Vec<ProductWithPrice>> {
    authorize(actor, Action::ReadReferenceData, &Target::network())?;
    let now = app.now();
    let mut conn = app.db.pool().acquire().await?;
    let list = products::list(&mut conn, now).await?;
    Ok(list
        .into_iter()
        .map(|(product, price)| ProductWithPrice { product, price })
        .collect())
}

/// A product with its latest prices: those set for later, the one in
/// force and the ones before it (the price management page).
pub struct PriceHistory {
    pub product: Product,
    pub in_force: Option<Price>,
    pub prices: Vec<Price>,
}

/// Every product with its latest `per_product` prices (head office, admin).
pub async fn price_history(
    app: &App,
    actor: &Actor,
    per_product: i64,
) -> AppResult<Vec<PriceHistory>> {
    authorize(actor, Action::ManagePricing, &Target::network())?;
    let now = app.now();
    let mut conn = app.db.pool().acquire().await?;
    let mut out = Vec::new();
    for (product, in_force) in products::list(&mut conn, now).await? {
        let prices = products::prices(&mut conn, product.id, per_product).await?;
        out.push(PriceHistory {
            product,
            in_force,
            prices,
        });
    }
    Ok(out)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    /// Yuan per litre, above zero.
    #[schema(value_type = AmountText, example = "7.68")]
    pub unit_price: String,
    /// Yuan off per litre on card sales, below the unit price.
    #[schema(value_type = AmountOrZeroText)]
    pub card_discount_per_litre: String,
    /// RFC 3339; default now.
    #[schema(value_type = Option<TimeText>)]
    pub effective_from: Option<String>,
}

/// Sets a product's price from a moment on (HQ, admin): a new row, the old
/// prices kept for the sales made under them.
pub async fn set_price(app: &App, actor: &Actor, code: &str, body: &PriceBody) -> AppResult<Price> {
    authorize(actor, Action::ManagePricing, &Target::network())?;
    let unit_price = amount("unit_price", &body.unit_price)?;
    let discount = amount_or_zero("card_discount_per_litre", &body.card_discount_per_litre)?;
    if discount >= unit_price {
        return Err(AppError::invalid(
            "card_discount_per_litre",
            "the card discount per litre must be below the unit price",
        ));
    }
    let effective_from =
        time("effective_from", body.effective_from.as_deref())?.unwrap_or_else(|| app.now());
    let price = Price {
        unit_price,
        card_discount_per_litre: discount,
        effective_from,
    };
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let product = products::find(conn, code).await?;
            products::set_price(conn, &product, price, at.actor.user_id, at.now).await?;
            at.audit(
                conn,
                "price_set",
                code,
                serde_json::json!({
                    "unit_price": price.unit_price,
                    "card_discount_per_litre": price.card_discount_per_litre,
                    "effective_from": crate::time::format_us(price.effective_from),
                }),
            )
            .await
        })
    })
    .await?;
    Ok(price)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    /// The smallest recharge the tier applies to, yuan.
    #[schema(value_type = AmountText)]
    pub min_amount: String,
    /// Above 0 and at most 100, at most two decimals.
    #[schema(pattern = r"^\s*[0-9]{1,3}(\.[0-9]{1,2})?\s*$", example = "2")]
    pub bonus_percent: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftBody {
    /// The smallest recharge that earns the gift, yuan.
    #[schema(value_type = AmountText)]
    pub min_amount: String,
    /// 1–100 characters.
    #[schema(pattern = "\\S", max_length = 100, example = "洗车券")]
    pub item: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionBody {
    /// 1–100 characters.
    #[schema(pattern = "\\S", max_length = 100, example = "冬季充值赠送")]
    pub name: String,
    /// Only "recharge_bonus" for now.
    #[schema(value_type = PromotionKind)]
    pub kind: String,
    #[schema(min_items = 1, max_items = 20)]
    pub tiers: Vec<TierBody>,
    /// The card kinds it applies to (default: all).
    pub card_kinds: Option<Vec<CardKind>>,
    #[schema(value_type = Option<TimeText>)]
    pub starts_at: Option<String>,
    #[schema(value_type = Option<TimeText>)]
    pub ends_at: Option<String>,
    /// The most bonus it may give in all, yuan (default: no limit).
    #[schema(value_type = Option<AmountText>)]
    pub budget: Option<String>,
    /// 1–64 characters, unique.
    #[schema(pattern = "\\S", max_length = 64)]
    pub campaign_code: Option<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub gifts: Vec<GiftBody>,
}

/// The kinds of promotion.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum PromotionKind {
    #[schema(rename = "recharge_bonus")]
    RechargeBonus,
}

/// The promotion a request describes, checked.
fn promotion_of(body: &PromotionBody) -> AppResult<NewPromotion> {
    if body.kind != "recharge_bonus" {
        return Err(AppError::invalid(
            "kind",
            "kind: only \"recharge_bonus\" is supported",
        ));
    }
    if body.tiers.is_empty() || body.tiers.len() > 20 || body.gifts.len() > 20 {
        return Err(AppError::invalid(
            "tiers",
            "tiers: 1 to 20; gifts: at most 20",
        ));
    }
    let tiers = body
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // The fields of the first tier, then `…_2`, `…_3` (as a form
            // names them).
            let nth = |name: &str| match i {
                0 => name.to_string(),
                _ => format!("{name}_{}", i + 1),
            };
            Ok(Tier {
                min_amount_fen: amount(&nth("min_amount"), &t.min_amount)?.fen(),
                bonus_percent: promotions::parse_percent(&t.bonus_percent)
                    .map_err(|e| e.with("field", nth("bonus_percent")))?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let gifts = body
        .gifts
        .iter()
        .map(|g| {
            if g.item.trim().is_empty() || g.item.chars().count() > 100 {
                return Err(AppError::invalid(
                    "gift_item",
                    "gifts.item: 1–100 characters",
                ));
            }
            Ok(Gift {
                min_amount_fen: amount("gift_min_amount", &g.min_amount)?.fen(),
                item: g.item.trim().to_string(),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let starts_at = time("starts_at", body.starts_at.as_deref())?;
    let ends_at = time("ends_at", body.ends_at.as_deref())?;
    let budget = body
        .budget
        .as_deref()
        .map(|b| amount("budget", b))
        .transpose()?;
    if body
        .campaign_code
        .as_ref()
        .is_some_and(|c| c.trim().is_empty() || c.len() > 64)
    {
        return Err(AppError::invalid(
            "campaign_code",
            "campaign_code: 1–64 characters",
        ));
    }
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        return Err(AppError::invalid("name", "name: 1–100 characters"));
    }
    Ok(NewPromotion {
        name: body.name.clone(),
        rule: Rule {
            tiers,
            card_kinds: body.card_kinds.clone(),
            gifts,
            starts_at,
            ends_at,
        },
        budget,
        campaign_code: body.campaign_code.clone(),
    })
}

/// Creates a recharge promotion (HQ, admin).
pub async fn add_promotion(app: &App, actor: &Actor, body: &PromotionBody) -> AppResult<Promotion> {
    authorize(actor, Action::ManagePricing, &Target::network())?;
    let checked = &promotion_of(body)?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let new = NewPromotion {
                name: checked.name.clone(),
                rule: checked.rule.clone(),
                budget: checked.budget,
                campaign_code: checked.campaign_code.clone(),
            };
            let p = promotions::create(conn, new, at.now).await?;
            at.audit(
                conn,
                "promotion_add",
                &p.name,
                serde_json::json!({"id": p.id}),
            )
            .await?;
            Ok(p)
        })
    })
    .await
}

/// The promotions in force now.
pub async fn list_promotions(app: &App, actor: &Actor) -> AppResult<Vec<Promotion>> {
    authorize(actor, Action::ReadPromotions, &Target::network())?;
    let now = app.now();
    let mut conn = app.db.pool().acquire().await?;
    promotions::in_force(&mut conn, now).await
}

/// A pump terminal registered at its station.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Terminal {
    pub terminal: String,
    pub station: String,
}

/// Registers a pump's terminal at the station it stands at (or moves it
/// there): the purchases it uploads are that station's sales.
pub async fn register_terminal(
    app: &App,
    actor: &Actor,
    code: &str,
    terminal: &str,
) -> AppResult<Terminal> {
    authorize(actor, Action::ManageTerminals, &Target::network())?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let s = stations::find(conn, code).await?;
            crate::chip::uploads::register_terminal(conn, terminal, s.id).await?;
            at.audit(
                conn,
                "terminal_register",
                terminal,
                serde_json::json!({ "station": s.code }),
            )
            .await?;
            Ok(Terminal {
                terminal: terminal.to_ascii_uppercase(),
                station: s.code,
            })
        })
    })
    .await
}

/// A station and the pump terminals registered at it, with the last
/// transaction counter each uploaded.
pub async fn terminals(
    app: &App,
    actor: &Actor,
    code: &str,
) -> AppResult<(Station, Vec<(String, i64)>)> {
    authorize(actor, Action::ManageTerminals, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    let station = stations::find(&mut conn, code).await?;
    let list = crate::chip::uploads::terminals_at(&mut conn, station.id).await?;
    Ok((station, list))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub user: Option<String>,
    pub action: String,
    pub subject: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub time: String,
    /// The instant, in microseconds (the pages show it in local time).
    #[serde(skip)]
    pub at: i64,
}

#[derive(Deserialize, Default, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries (default 100; below 1 reads as 1, above 1000 as 1000).
    pub limit: Option<i64>,
    /// How many of the newest matching entries to skip (default 0).
    pub offset: Option<i64>,
    /// Who: a username.
    pub user: Option<String>,
    /// What: an action code (`user_add`, `price_set` …).
    pub action: Option<String>,
    /// The subject exactly (a username, a station code, a card number …).
    pub subject: Option<String>,
    /// From this local day on, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Up to and including this local day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub to: Option<String>,
}

/// The audit log's entries that match, newest first (admins).
pub async fn audit_log(app: &App, actor: &Actor, q: &AuditQuery) -> AppResult<Vec<AuditEntry>> {
    authorize(actor, Action::Audit, &Target::network())?;
    let tz = app.settings.time_zone;
    let day = |field: &str, text: Option<&str>, end: bool| -> AppResult<Option<i64>> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let invalid = || AppError::invalid(field, format!("{field}: YYYY-MM-DD"));
        let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid())?;
        let (start, next) = crate::time::day_span(date, tz).ok_or_else(invalid)?;
        Ok(Some(if end { next } else { start }))
    };
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let filter = crate::audit::Filter {
        user: given(&q.user),
        action: given(&q.action),
        subject: given(&q.subject),
        from: day("from", q.from.as_deref(), false)?,
        to: day("to", q.to.as_deref(), true)?,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        offset: q.offset.unwrap_or(0).max(0),
    };
    let mut conn = app.db.pool().acquire().await?;
    let entries = crate::audit::search(&mut conn, &filter).await?;
    Ok(entries
        .into_iter()
        .map(|e| AuditEntry {
            id: e.id,
            user: e.user,
            action: e.action,
            subject: e.subject,
            detail: e.detail,
            time: crate::time::format_us(e.at),
            at: e.at,
        })
        .collect())
}

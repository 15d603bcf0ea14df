//! Users, stations, prices, promotions, reports and the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::super::extract::{ApiJson, CreateRequest};
use super::{ApiPath, ApiQuery, CreationKey, amount, amount_or_zero};
use crate::actions::App;
use crate::actions::once;
use crate::actions::users::{self, NewUserBody, UserCreated, UserState};
use crate::actions::{At, Done};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::cards::CardKind;
use crate::cards::products::{self, Price, Product};
use crate::cards::promotions::{self, Gift, NewPromotion, Promotion, Rule, Tier};
use crate::error::{AppError, AppResult, Code};
use crate::http::openapi::{AmountOrZeroText, AmountText, TimeText};
use crate::stations::{self, Station, report};

/// Adds a user (admins only). Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserBody, params(CreationKey),
    responses((status = 201, description = "The new user (or the first answer to this key, replayed)", body = UserCreated)))]
pub async fn add_user(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<NewUserBody>,
) -> AppResult<Done<UserCreated>> {
    let at = At {
        actor: &actor,
        now: state.now(),
    };
    users::add(&state.db, at, req.key.as_ref(), &req.body).await
}

/// Deactivates a user (admins only): no more logins, every session ended.
#[utoipa::path(post, path = "/api/v1/users/{username}/deactivation", request_body = Option<super::EmptyBody>,
    params(("username" = String, Path, description = "The user")),
    responses((status = 200, description = "The user, inactive", body = UserState)))]
pub async fn deactivate_user(
    State(state): State<App>,
    actor: Actor,
    ApiPath(username): ApiPath<String>,
    ApiJson(empty): ApiJson<super::EmptyBody>,
) -> AppResult<Json<UserState>> {
    let super::EmptyBody = empty;
    Ok(Json(users::deactivate(&state, &actor, &username).await?))
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

/// Adds a station (HQ, admin).
#[utoipa::path(post, path = "/api/v1/stations", request_body = NewStation,
    responses((status = 201, description = "The new station", body = Station)))]
pub async fn add_station(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<NewStation>,
) -> AppResult<(StatusCode, Json<Station>)> {
    authorize(&actor, Action::ManageStations, &Target::network())?;
    let body = &body;
    let tz = state.settings.time_zone;
    let s = once(&state, &actor, |conn, at| {
        Box::pin(async move {
            let (code, name, district) = (&body.code, &body.name, &body.district);
            let s = stations::create(conn, code, name, district, at.now, tz).await?;
            at.audit(conn, "station_add", &s.code, serde_json::json!({}))
                .await?;
            Ok(s)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// Every station.
#[utoipa::path(get, path = "/api/v1/stations", responses((status = 200, description = "The stations", body = Vec<Station>)))]
pub async fn list_stations(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<Station>>> {
    authorize(&actor, Action::ReadReferenceData, &Target::network())?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(stations::list(&mut conn).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// YYYY-MM-DD in the operator's time zone; default today.
    #[param(format = Date)]
    pub date: Option<String>,
}

/// The station's day-end report: the day's shifts summed.
#[utoipa::path(get, path = "/api/v1/stations/{code}/day-report", params(("code" = String, Path, description = "The station code"), DayQuery),
    responses((status = 200, description = "The day's shifts summed", body = report::DayReport)))]
pub async fn day_report(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> AppResult<Json<report::DayReport>> {
    let tz = state.settings.time_zone;
    let date = match q.date.as_deref() {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::new(Code::ValidationFailed, "date: YYYY-MM-DD"))?,
        None => state.settings.clock.today(tz),
    };
    let mut conn = state.db.pool().acquire().await?;
    let station = stations::find(&mut conn, &code).await?;
    authorize(
        &actor,
        Action::ReadDayReport,
        &Target::station(station.id, &station.district),
    )?;
    Ok(Json(report::day(&mut conn, &code, date, tz).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductWithPrice {
    #[serde(flatten)]
    pub product: Product,
    pub price: Option<Price>,
}

/// The products with the price in force now (none before a price is set).
#[utoipa::path(get, path = "/api/v1/products", responses((status = 200, description = "The products", body = Vec<ProductWithPrice>)))]
pub async fn list_products(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<ProductWithPrice>>> {
    authorize(&actor, Action::ReadReferenceData, &Target::network())?;
    let now = state.now();
    let mut conn = state.db.pool().acquire().await?;
    let list = products::list(&mut conn, now).await?;
    Ok(Json(
        list.into_iter()
            .map(|(product, price)| ProductWithPrice { product, price })
            .collect(),
    ))
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

/// Sets a product's price from a moment on (HQ, admin).
#[utoipa::path(put, path = "/api/v1/products/{code}/price", request_body = PriceBody,
    params(("code" = String, Path, description = "The product code", example = "92")),
    responses((status = 200, description = "The price set", body = Price)))]
pub async fn set_price(
    State(state): State<App>,
    actor: Actor,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<PriceBody>,
) -> AppResult<Json<Price>> {
    let now = state.now();
    authorize(&actor, Action::ManagePricing, &Target::network())?;
    let unit_price = amount("unit_price", &body.unit_price)?;
    let discount = amount_or_zero("card_discount_per_litre", &body.card_discount_per_litre)?;
    let effective_from = match body.effective_from.as_deref() {
        Some(t) => crate::time::parse_rfc3339(t).ok_or_else(|| {
            AppError::new(Code::ValidationFailed, "effective_from: an RFC 3339 time")
        })?,
        None => now,
    };
    let price = Price {
        unit_price,
        card_discount_per_litre: discount,
        effective_from,
    };
    let code = &code;
    once(&state, &actor, |conn, at| Box::pin(async move {
        let product = products::find(conn, code).await?;
        products::set_price(conn, &product, price, at.actor.user_id, at.now).await?;
        at.audit(conn, "price_set", code, serde_json::json!({
            "unit_price": price.unit_price, "card_discount_per_litre": price.card_discount_per_litre,
            "effective_from": crate::time::format_us(price.effective_from),
        })).await
}))
    .await?;
    Ok(Json(price))
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

/// Creates a recharge promotion (HQ, admin).
#[utoipa::path(post, path = "/api/v1/promotions", request_body = PromotionBody,
    responses((status = 201, description = "The new promotion", body = Promotion)))]
pub async fn add_promotion(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<PromotionBody>,
) -> AppResult<(StatusCode, Json<Promotion>)> {
    authorize(&actor, Action::ManagePricing, &Target::network())?;
    if body.kind != "recharge_bonus" {
        return Err(AppError::new(
            Code::ValidationFailed,
            "kind: only \"recharge_bonus\" is supported",
        ));
    }
    if body.tiers.is_empty() || body.tiers.len() > 20 || body.gifts.len() > 20 {
        return Err(AppError::new(
            Code::ValidationFailed,
            "tiers: 1 to 20; gifts: at most 20",
        ));
    }
    let tiers = body
        .tiers
        .iter()
        .map(|t| {
            Ok(Tier {
                min_amount_fen: amount("tiers.min_amount", &t.min_amount)?.fen(),
                bonus_percent: promotions::parse_percent(&t.bonus_percent)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let gifts = body
        .gifts
        .iter()
        .map(|g| {
            if g.item.trim().is_empty() || g.item.chars().count() > 100 {
                return Err(AppError::new(
                    Code::ValidationFailed,
                    "gifts.item: 1–100 characters",
                ));
            }
            Ok(Gift {
                min_amount_fen: amount("gifts.min_amount", &g.min_amount)?.fen(),
                item: g.item.trim().to_string(),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let time = |field: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| {
                crate::time::parse_rfc3339(t).ok_or_else(|| {
                    AppError::new(Code::ValidationFailed, format!("{field}: an RFC 3339 time"))
                })
            })
            .transpose()
    };
    let starts_at = time("starts_at", &body.starts_at)?;
    let ends_at = time("ends_at", &body.ends_at)?;
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
        return Err(AppError::new(
            Code::ValidationFailed,
            "campaign_code: 1–64 characters",
        ));
    }
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        return Err(AppError::new(
            Code::ValidationFailed,
            "name: 1–100 characters",
        ));
    }
    let rule = Rule {
        tiers,
        card_kinds: body.card_kinds.clone(),
        gifts,
        starts_at,
        ends_at,
    };
    let (body, rule) = (&body, &rule);
    let p = once(&state, &actor, |conn, at| {
        Box::pin(async move {
            let new = NewPromotion {
                name: body.name.clone(),
                rule: rule.clone(),
                budget,
                campaign_code: body.campaign_code.clone(),
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
    .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// The promotions in force now.
#[utoipa::path(get, path = "/api/v1/promotions", responses((status = 200, description = "The promotions", body = Vec<Promotion>)))]
pub async fn list_promotions(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<Promotion>>> {
    let now = state.now();
    authorize(&actor, Action::ReadPromotions, &Target::network())?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(promotions::in_force(&mut conn, now).await?))
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
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries (default 100; below 1 reads as 1, above 1000 as 1000).
    pub limit: Option<i64>,
}

/// The newest audit entries (admins).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, description = "The entries, newest first", body = Vec<AuditEntry>)))]
pub async fn audit_log(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<Vec<AuditEntry>>> {
    authorize(&actor, Action::Audit, &Target::network())?;
    let mut conn = state.db.pool().acquire().await?;
    let rows = sqlx::query(
        "SELECT a.id, u.username, a.action, a.subject, a.detail, a.created_at FROM audit_log a \
         LEFT JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT $1",
    )
    .bind(q.limit.unwrap_or(100).clamp(1, 1000))
    .fetch_all(&mut *conn)
    .await?;
    let out = rows
        .iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(AuditEntry {
                id: r.try_get("id")?,
                user: r.try_get("username")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                time: crate::time::format_us(r.try_get("created_at")?),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Json(out))
}

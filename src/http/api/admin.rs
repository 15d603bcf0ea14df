//! Users, stations, prices, promotions, reports and the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::super::extract::{ApiJson, CreateRequest};
use super::{ApiPath, ApiQuery, CreationKey};
use crate::actions::App;
use crate::actions::admin;
pub use crate::actions::admin::{
    AuditEntry, AuditQuery, GiftBody, NewStation, PriceBody, ProductWithPrice, PromotionBody,
    PromotionKind, TierBody,
};
use crate::actions::users::{self, NewUserBody, PasswordReset, UserCreated, UserQuery, UserState};
use crate::actions::{At, Done};
use crate::auth::Actor;
use crate::auth::users::Listed;
use crate::cards::products::Price;
use crate::cards::promotions::Promotion;
use crate::error::AppResult;
use crate::stations::{Station, report};

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

/// The staff accounts, by username, active or not (admins only): of a
/// role, of a station, a page at a time.
#[utoipa::path(get, path = "/api/v1/users", params(UserQuery),
    responses((status = 200, description = "The users", body = Vec<Listed>)))]
pub async fn list_users(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> AppResult<Json<Vec<Listed>>> {
    Ok(Json(users::list(&state, &actor, &q).await?))
}

/// Gives another user a new password (admins only): every session of
/// theirs ends.
#[utoipa::path(post, path = "/api/v1/users/{username}/password", request_body = PasswordReset,
    params(("username" = String, Path, description = "The user")),
    responses((status = 200, description = "The user, with the new password", body = UserState)))]
pub async fn reset_password(
    State(state): State<App>,
    actor: Actor,
    ApiPath(username): ApiPath<String>,
    ApiJson(body): ApiJson<PasswordReset>,
) -> AppResult<Json<UserState>> {
    Ok(Json(
        users::reset_password(&state, &actor, &username, &body).await?,
    ))
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

/// Adds a station (HQ, admin).
#[utoipa::path(post, path = "/api/v1/stations", request_body = NewStation,
    responses((status = 201, description = "The new station", body = Station)))]
pub async fn add_station(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<NewStation>,
) -> AppResult<(StatusCode, Json<Station>)> {
    let s = admin::add_station(&state, &actor, &body).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// Every station.
#[utoipa::path(get, path = "/api/v1/stations", responses((status = 200, description = "The stations", body = Vec<Station>)))]
pub async fn list_stations(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<Station>>> {
    Ok(Json(admin::list_stations(&state, &actor).await?))
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
    Ok(Json(
        crate::actions::shifts::day_report(&state, &actor, &code, q.date.as_deref()).await?,
    ))
}

/// The products with the price in force now (none before a price is set).
#[utoipa::path(get, path = "/api/v1/products", responses((status = 200, description = "The products", body = Vec<ProductWithPrice>)))]
pub async fn list_products(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<ProductWithPrice>>> {
    Ok(Json(admin::list_products(&state, &actor).await?))
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
    Ok(Json(admin::set_price(&state, &actor, &code, &body).await?))
}

/// Creates a recharge promotion (HQ, admin).
#[utoipa::path(post, path = "/api/v1/promotions", request_body = PromotionBody,
    responses((status = 201, description = "The new promotion", body = Promotion)))]
pub async fn add_promotion(
    State(state): State<App>,
    actor: Actor,
    ApiJson(body): ApiJson<PromotionBody>,
) -> AppResult<(StatusCode, Json<Promotion>)> {
    let p = admin::add_promotion(&state, &actor, &body).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// The promotions in force now.
#[utoipa::path(get, path = "/api/v1/promotions", responses((status = 200, description = "The promotions", body = Vec<Promotion>)))]
pub async fn list_promotions(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<Promotion>>> {
    Ok(Json(admin::list_promotions(&state, &actor).await?))
}

/// The audit log's entries, newest first, filtered by who, what, subject
/// and days (admins).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, description = "The entries, newest first", body = Vec<AuditEntry>)))]
pub async fn audit_log(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<Vec<AuditEntry>>> {
    Ok(Json(admin::audit_log(&state, &actor, &q).await?))
}

//! Login and logout, thin over [`crate::actions::session`]; who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, ClientAddress, token_of};
use crate::actions::users::PasswordChange;
use crate::actions::{App, session};
use crate::auth::{Actor, Role};
use crate::error::AppResult;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Login {
    #[schema(example = "cashier1")]
    pub username: String,
    #[schema(example = "cashier1-demo")]
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    pub token: String,
    pub username: String,
    pub role: Role,
    pub expires_in_seconds: i64,
}

/// Logs in; the token goes in `Authorization: Bearer <token>`.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = Login, security(()),
    responses((status = 200, description = "A new session", body = LoggedIn)))]
pub async fn login(
    State(state): State<App>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<Login>,
) -> AppResult<Json<LoggedIn>> {
    let (actor, token) = session::login(&state, &body.username, &body.password, address).await?;
    Ok(Json(LoggedIn {
        token,
        username: actor.username,
        role: actor.role,
        expires_in_seconds: state.settings.sessions.hours * 3600,
    }))
}

/// Ends the session of the token sent, if any (logging out twice is no error).
#[utoipa::path(post, path = "/api/v1/auth/logout", security((), ("bearer" = [])),
    responses((status = 204, description = "The session has ended")))]
pub async fn logout(State(state): State<App>, headers: HeaderMap) -> AppResult<StatusCode> {
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    session::logout(&state, token_of(&parts).as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's own password: the current one, then the new one.
/// The caller's other sessions end; this one goes on.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordChange,
    responses((status = 204, description = "The password is changed")))]
pub async fn change_password(
    State(state): State<App>,
    actor: Actor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    let token = token_of(&parts).unwrap_or_default();
    crate::actions::users::change_password(&state, &actor, &token, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user behind a token, with the scope their role is limited to.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The station a cashier or station manager works at (its id).
    pub station_id: Option<i64>,
    /// The company a fleet manager manages (its customer id).
    pub company_id: Option<i64>,
    pub merchant: Option<String>,
    pub district: Option<String>,
}

/// Who am I: the role and scope of the token.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, description = "The user of the token", body = Me)))]
pub async fn me(actor: Actor) -> Json<Me> {
    Json(Me {
        user_id: actor.user_id,
        username: actor.username,
        role: actor.role,
        station_id: actor.station_id,
        company_id: actor.company_id,
        merchant: actor.merchant,
        district: actor.district,
    })
}

//! Request extractors: who is asking (bearer token or session cookie), JSON
//! bodies whose rejections are problem documents, and money requests that
//! carry an Idempotency-Key.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::actions::App;
use crate::actions::Keyed;
use crate::actions::{run, session};
use crate::auth::Actor;
use crate::config::Settings;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::idempotency;

/// The cookie that carries a page session.
pub const SESSION_COOKIE: &str = "fuelcard_session";

/// The `Set-Cookie` value that starts a page session with `token`: no
/// script reads it (`HttpOnly`), no other site's page sends it
/// (`SameSite=Strict`), it ends with the login's longest life, and over
/// HTTPS (`Secure`) a browser never sends it over plain HTTP.
pub fn session_cookie(settings: &Settings, token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        settings.sessions.hours * 3600,
        secure_attribute(settings)
    )
}

/// The `Set-Cookie` value that ends a page session: the same cookie,
/// empty and already expired, so the browser drops it.
pub fn cleared_session_cookie(settings: &Settings) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure_attribute(settings)
    )
}

/// `; Secure` over HTTPS, so that a browser never sends the cookie over
/// plain HTTP; nothing otherwise.
pub fn secure_attribute(settings: &Settings) -> &'static str {
    if settings.tls { "; Secure" } else { "" }
}

/// The value of the cookie `name` a request carries, if any.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The session token of a request: `Authorization: Bearer …` for API
/// clients, the session cookie for pages.
pub fn token_of(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
        return v
            .to_str()
            .ok()
            .and_then(|s| s.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string());
    }
    cookie(&parts.headers, SESSION_COOKIE)
}

/// The address of the peer a request came from, when the server was
/// started with it (`fuelcard serve` is): what the guessing limits count by
/// besides the username or the user. Behind a reverse proxy it is the
/// proxy's.
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    pub fn of(parts: &Parts) -> Option<IpAddr> {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(ClientAddress::of(parts)))
    }
}

pub async fn actor_of(parts: &Parts, state: &App) -> AppResult<Actor> {
    let Some(token) = token_of(parts) else {
        return Err(AppError::new(
            Code::Unauthorized,
            "log in first: no token was sent",
        ));
    };
    let mut actor = session::actor_of_token(state, &token).await?;
    actor.address = ClientAddress::of(parts);
    Ok(actor)
}

impl FromRequestParts<App> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let actor = actor_of(parts, state).await?;
        // Kept for the money request's replay check, which runs after.
        parts.extensions.insert(actor.clone());
        Ok(actor)
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    let refused = |e: serde_json::Error| {
        let code = match e.classify() {
            serde_json::error::Category::Data => Code::ValidationFailed,
            _ => Code::InvalidJson,
        };
        AppError::new(code, format!("request body: {e}"))
    };
    if crate::text::may_hold_control(bytes) {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(refused)?;
        crate::text::refuse_in_json(&value, "")?;
        return serde_json::from_value(value).map_err(refused);
    }
    serde_json::from_slice(bytes).map_err(refused)
}

async fn body_bytes(req: Request, state: &App) -> AppResult<Bytes> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(AppError::new(
                Code::UnsupportedMediaType,
                "send the body as application/json",
            ));
        }
    }
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(Code::BodyTooLarge, "the request body is too large")
        } else {
            AppError::new(
                Code::InvalidJson,
                format!("cannot read the request body: {e}"),
            )
        }
    })
}

/// A JSON body; malformed JSON, wrong fields and oversized bodies become
/// problem documents.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<App> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &App) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        // An empty body reads as `{}`, so a body whose fields are all
        // optional may be left out, and a missing field is named.
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        parse_json(bytes).map(ApiJson)
    }
}

/// A request that moves money: its JSON body plus its Idempotency-Key and
/// the fingerprint that detects a key reused for another request.
pub struct MoneyRequest<T> {
    pub key: Keyed,
    pub body: T,
}

/// A request that creates a record (a customer, a card, a vehicle, a user,
/// a loan or top-up request): its JSON body and, when the client sent one,
/// its Idempotency-Key. With a key a retry gets the first answer instead of
/// a second record; without one the request runs once and is never
/// repeated blindly.
pub struct CreateRequest<T> {
    pub key: Option<Keyed>,
    pub body: T,
}

impl<T: DeserializeOwned> FromRequest<App> for MoneyRequest<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &App) -> Result<Self, Self::Rejection> {
        let (key, body) = keyed_request(req, state).await?;
        let key = key.ok_or_else(|| {
            AppError::new(
                Code::IdempotencyKeyMissing,
                "money moves need an Idempotency-Key header (a new UUID per operation)",
            )
            .into_response()
        })?;
        Ok(MoneyRequest { key, body })
    }
}

impl<T: DeserializeOwned> FromRequest<App> for CreateRequest<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &App) -> Result<Self, Self::Rejection> {
        let (key, body) = keyed_request(req, state).await?;
        Ok(CreateRequest { key, body })
    }
}

/// The body and the Idempotency-Key, if one was sent. A replay answers
/// first: when the key already holds a completed answer of this user to
/// this very request, that answer is returned before the handler runs —
/// before PIN checks, throttles or the card's current state could answer
/// differently. Only the caller's authentication comes first (a key
/// belongs to its user).
async fn keyed_request<T: DeserializeOwned>(
    req: Request,
    state: &App,
) -> Result<(Option<Keyed>, T), Response> {
    // A key that is sent must be a key: an empty or unreadable one is
    // refused, never taken for no key at all.
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let text = v.to_str().map(str::trim).map_err(|_| {
                AppError::new(
                    Code::ValidationFailed,
                    "the Idempotency-Key must be visible ASCII characters",
                )
                .into_response()
            })?;
            if text.is_empty() {
                return Err(AppError::new(
                    Code::IdempotencyKeyMissing,
                    "the Idempotency-Key header is empty: send a new UUID per operation",
                )
                .into_response());
            }
            Some(text.to_string())
        }
    };
    if key
        .as_ref()
        .is_some_and(|k| k.len() > idempotency::MAX_KEY_LEN)
    {
        return Err(AppError::new(
            Code::ValidationFailed,
            "the Idempotency-Key is longer than 128 characters",
        )
        .into_response());
    }
    let user = req.extensions().get::<Actor>().map(|a| a.user_id);
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let bytes = body_bytes(req, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let key = key.map(|k| Keyed::new(&state.keys.pin, &k, &method, &path, &bytes));
    if let (Some(key), Some(user)) = (&key, user) {
        if let Some(replay) = run::replayed(state, key, user)
            .await
            .map_err(IntoResponse::into_response)?
        {
            return Err(replay);
        }
    }
    let body = if bytes.is_empty() {
        parse_json(b"{}")
    } else {
        parse_json(&bytes)
    }
    .map_err(IntoResponse::into_response)?;
    Ok((key, body))
}

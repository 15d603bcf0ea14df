//! Staff accounts: added by an administrator, from the API or from the
//! server's console (`fuelcard user add`), through the same policy.

use serde::{Deserialize, Serialize};

use super::run::{At, Keyed, create_at};
use super::{App, Done, once};
use crate::auth::policy::{Action, Target, authorize};
use crate::auth::{Actor, Role, sessions, throttle, users};
use crate::cards::customers;
use crate::db::Db;
use crate::error::{AppError, AppResult, Code};
use crate::stations;

/// A new staff account and its scope.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// 3–64 letters, digits, '.', '_' or '-'.
    #[schema(pattern = "^[A-Za-z0-9._-]{3,64}$", example = "cashier4")]
    pub username: String,
    /// At least 8 characters.
    #[schema(min_length = 8)]
    pub password: String,
    pub role: Role,
    /// Station code, for station staff.
    pub station: Option<String>,
    /// Company customer id, for a fleet manager.
    pub company_id: Option<i64>,
    pub merchant: Option<String>,
    pub district: Option<String>,
}

/// A user as added.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserCreated {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// Adds a user with their scope (a station, a company, a district or a
/// merchant), under the request's key when it sent one. Takes the database
/// and the instant rather than the running service, so the console can add
/// the first admin before any server runs.
pub async fn add(
    db: &Db,
    at: At<'_>,
    key: Option<&Keyed>,
    new: &NewUserBody,
) -> AppResult<Done<UserCreated>> {
    authorize(at.actor, Action::ManageUsers, &Target::network())?;
    create_at(db, at, key, |conn, at| {
        Box::pin(async move {
            let station_id = match new.station.as_deref() {
                Some(code) => Some(stations::find(conn, code).await?.id),
                None => None,
            };
            if let Some(c) = new.company_id {
                let customer = customers::get(conn, c).await?;
                if customer.kind != customers::CustomerKind::Company {
                    return Err(AppError::new(
                        Code::ValidationFailed,
                        "company_id must name a company customer",
                    ));
                }
            }
            if let Some(code) = new.merchant.as_deref() {
                crate::alliance::merchants::find(conn, code).await?;
            }
            let id = users::create(
                conn,
                &users::NewUser {
                    username: &new.username,
                    password: &new.password,
                    role: new.role,
                    station_id,
                    company_id: new.company_id,
                    merchant: new.merchant.as_deref(),
                    district: new.district.as_deref(),
                },
                at.now,
            )
            .await?;
            crate::audit::record(
                conn,
                at.now,
                at.actor.audit_id(),
                "user_add",
                &new.username,
                serde_json::json!({"role": new.role}),
            )
            .await?;
            Ok(UserCreated {
                id,
                username: new.username.clone(),
                role: new.role,
            })
        })
    })
    .await
}

/// A password change: the current password, then the new one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 1000)]
    pub new_password: String,
}

/// Changes the caller's own password, checked against the current one (a
/// wrong one counts as a failed login). Every other session of the user
/// ends; the one it was changed in goes on.
pub async fn change_password(
    app: &App,
    actor: &Actor,
    token: &str,
    change: &PasswordChange,
) -> AppResult<()> {
    authorize(actor, Action::UseSession, &Target::network())?;
    users::check_password(&change.new_password).map_err(|e| e.with("field", "new_password"))?;
    let counters = throttle::login(&actor.username, actor.address);
    let mut tx = app.db.begin_write().await?;
    throttle::take(&mut tx, &counters, app.now()).await?;
    tx.commit().await?;
    match users::authenticate(app.db.pool(), &actor.username, &change.current_password).await {
        Ok(_) => {}
        Err(e) if e.code == Code::InvalidCredentials => {
            return Err(AppError::new(
                Code::WrongPassword,
                "the current password is wrong; nothing was changed",
            )
            .with("field", "current_password"));
        }
        Err(e) => return Err(e),
    }
    let (new, counters) = (&change.new_password, &counters);
    once(app, actor, |conn, at| {
        Box::pin(async move {
            throttle::succeeded(conn, counters).await?;
            users::set_password(conn, at.actor.user_id, new).await?;
            let ended = sessions::end_all(conn, at.actor.user_id, Some(token)).await?;
            crate::audit::record(
                conn,
                at.now,
                Some(at.actor.user_id),
                "password_change",
                &at.actor.username,
                serde_json::json!({"sessions_ended": ended}),
            )
            .await
        })
    })
    .await
}

/// A user's state after a change.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserState {
    pub username: String,
    pub active: bool,
}

/// Deactivates a user (an administrator): they can no longer log in and
/// every session of theirs ends at once. Their records stay, so what they
/// did is still theirs in the audit log.
pub async fn deactivate(app: &App, actor: &Actor, username: &str) -> AppResult<UserState> {
    authorize(actor, Action::ManageUsers, &Target::network())?;
    if username == actor.username {
        return Err(AppError::new(
            Code::ValidationFailed,
            "you cannot deactivate yourself; ask another administrator",
        ));
    }
    once(app, actor, |conn, at| {
        Box::pin(async move {
            users::deactivate(conn, username).await?.ok_or_else(|| {
                AppError::new(Code::UserNotFound, format!("no active user {username}"))
            })?;
            crate::audit::record(
                conn,
                at.now,
                at.actor.audit_id(),
                "user_deactivate",
                username,
                serde_json::json!({}),
            )
            .await?;
            Ok(UserState {
                username: username.to_string(),
                active: false,
            })
        })
    })
    .await
}

/// Which users to list: a role, a station (by code), a page.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    /// A station code: its staff only.
    pub station: Option<String>,
    /// How many (default 50; 1 to 500).
    pub limit: Option<i64>,
    /// How many to skip (default 0).
    pub offset: Option<i64>,
}

/// The staff accounts, by username, active or not (administrators).
pub async fn list(app: &App, actor: &Actor, q: &UserQuery) -> AppResult<Vec<users::Listed>> {
    authorize(actor, Action::ManageUsers, &Target::network())?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0).max(0);
    let station = q
        .station
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut conn = app.db.pool().acquire().await?;
    users::list(&mut conn, q.role, station, limit, offset).await
}

/// A new password an administrator gives another user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 1000)]
    pub new_password: String,
}

/// Gives another user a new password (an administrator, for a user who
/// forgot theirs): hashed as every password is, audited, and every session
/// of the user ended, so whoever knew the old one is out. One's own
/// password is changed with the current one instead.
pub async fn reset_password(
    app: &App,
    actor: &Actor,
    username: &str,
    reset: &PasswordReset,
) -> AppResult<UserState> {
    authorize(actor, Action::ResetPasswords, &Target::network())?;
    if username == actor.username {
        return Err(AppError::invalid(
            "username",
            "change your own password with the current one (POST /api/v1/me/password)",
        ));
    }
    users::check_password(&reset.new_password).map_err(|e| e.with("field", "new_password"))?;
    let new = &reset.new_password;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let id = users::active_id(conn, username).await?.ok_or_else(|| {
                AppError::new(Code::UserNotFound, format!("no active user {username}"))
            })?;
            users::set_password(conn, id, new).await?;
            let ended = sessions::end_all(conn, id, None).await?;
            crate::audit::record(
                conn,
                at.now,
                at.actor.audit_id(),
                "password_reset",
                username,
                serde_json::json!({"sessions_ended": ended}),
            )
            .await?;
            Ok(UserState {
                username: username.to_string(),
                active: true,
            })
        })
    })
    .await
}

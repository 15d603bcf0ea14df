//! Staff accounts: added by an administrator, from the API or from the
//! server's console (`fuelcard user add`), through the same policy.

use serde::{Deserialize, Serialize};

use super::Done;
use super::run::{At, Keyed, create_at};
use crate::auth::policy::{Action, Target, authorize};
use crate::auth::{Role, users};
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

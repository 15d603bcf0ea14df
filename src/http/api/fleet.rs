//! Fleet vehicles and their sale-time controls.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::super::AppState;
use super::super::extract::{ApiJson, in_transaction, require};
use crate::auth::{Actor, Role};
use crate::cards::customers::{self, CustomerKind};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::limits::Control;
use crate::fleet::usage;
use crate::fleet::vehicles::{self, Vehicle, VehicleInput};

/// Who may manage a company's fleet: admins and HQ, station staff (who
/// register vehicles when issuing cards), and that company's fleet manager.
/// Anyone else is told the company does not exist.
fn may_manage(actor: &Actor, company: i64) -> AppResult<()> {
    let ok = match actor.role {
        Role::Admin | Role::Hq | Role::StationManager | Role::Cashier => true,
        Role::FleetManager => actor.company_id == Some(company),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::new(
            Code::CustomerNotFound,
            format!("no company {company}"),
        ))
    }
}

async fn company_of(conn: &mut crate::db::Conn, company: i64) -> AppResult<()> {
    let c = customers::get(conn, company).await?;
    if c.kind != CustomerKind::Company {
        return Err(AppError::new(
            Code::ValidationFailed,
            format!("customer {company} is not a company"),
        ));
    }
    Ok(())
}

/// Registers a vehicle of a company's fleet.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/vehicles", request_body = VehicleInput, params(("company" = i64, Path)),
    responses((status = 201, body = Vehicle), (status = 422, body = crate::error::Problem)))]
pub async fn add_vehicle(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    ApiJson(body): ApiJson<VehicleInput>,
) -> AppResult<(StatusCode, Json<Vehicle>)> {
    may_manage(&actor, company)?;
    let new = body.validate()?;
    let v = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let new = new.clone();
        Box::pin(async move {
            company_of(conn, company).await?;
            let v = vehicles::create(conn, company, &new).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "vehicle_add",
                &v.plate,
                serde_json::json!({"company": company}),
            )
            .await?;
            Ok(v)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// The company's vehicles.
#[utoipa::path(get, path = "/api/v1/fleet/{company}/vehicles", params(("company" = i64, Path)),
    responses((status = 200, body = Vec<Vehicle>)))]
pub async fn list_vehicles(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
) -> AppResult<Json<Vec<Vehicle>>> {
    may_manage(&actor, company)?;
    let mut conn = state.db.pool().acquire().await?;
    company_of(&mut conn, company).await?;
    Ok(Json(vehicles::list(&mut conn, company).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// The control the next sale may pass: plate, product, sale_maximum, daily_maximum,
    /// monthly_allocation, hours, station, odometer, tank_capacity.
    pub control: String,
    pub reason: String,
    /// How long the override waits to be used (default 24 h, at most 72 h).
    pub valid_hours: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OverrideGranted {
    pub id: i64,
    pub plate: String,
    pub control: Control,
}

/// A manager's one-off override: the vehicle's next sale may pass one control.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/vehicles/{plate}/overrides", request_body = OverrideBody,
    params(("company" = i64, Path), ("plate" = String, Path)),
    responses((status = 201, body = OverrideGranted), (status = 404, body = crate::error::Problem)))]
pub async fn grant_override(
    State(state): State<AppState>,
    actor: Actor,
    Path((company, plate)): Path<(i64, String)>,
    ApiJson(body): ApiJson<OverrideBody>,
) -> AppResult<(StatusCode, Json<OverrideGranted>)> {
    require(matches!(
        actor.role,
        Role::Admin | Role::FleetManager | Role::StationManager
    ))?;
    may_manage(&actor, company)?;
    let control = Control::parse(&body.control).ok_or_else(|| {
        AppError::new(
            Code::ValidationFailed,
            format!("unknown control {:?}", body.control),
        )
    })?;
    let hours = body.valid_hours.unwrap_or(24);
    if !(1..=72).contains(&hours) {
        return Err(AppError::new(
            Code::ValidationFailed,
            "valid_hours: 1 to 72",
        ));
    }
    let granted = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let plate = plate.clone();
        let reason = body.reason.clone();
        Box::pin(async move {
            let v = vehicles::by_plate(conn, company, &plate).await?;
            let id =
                usage::grant_override(conn, v.id, control, &reason, actor.user_id, hours).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "limit_override",
                &v.plate,
                serde_json::json!({"control": control, "reason": reason}),
            )
            .await?;
            Ok(OverrideGranted {
                id,
                plate: v.plate,
                control,
            })
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(granted)))
}

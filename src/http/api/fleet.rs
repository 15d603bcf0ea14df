//! Fleet vehicles and their sale-time controls.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::super::AppState;
use super::super::extract::{ApiJson, MoneyRequest, idempotent, in_transaction, require};
use crate::auth::{Actor, Role};
use crate::cards::customers::{self, CustomerKind};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::allocation::{self, Approved, Plan};
use crate::fleet::limits::{Control, Hours};
use crate::fleet::policy::Policy;
use crate::fleet::vehicles::{self, Vehicle, VehicleInput};
use crate::fleet::{csv_io, requests, review, usage};

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

/// Saves the company's allocation policy (fleet manager, admin).
#[utoipa::path(put, path = "/api/v1/fleet/{company}/policy", request_body = Policy, params(("company" = i64, Path)),
    responses((status = 200, body = Policy), (status = 422, body = crate::error::Problem)))]
pub async fn put_policy(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    ApiJson(policy): ApiJson<Policy>,
) -> AppResult<Json<Policy>> {
    require(matches!(
        actor.role,
        Role::Admin | Role::Hq | Role::FleetManager
    ))?;
    may_manage(&actor, company)?;
    policy.validate()?;
    in_transaction(&state, |conn| {
        let actor = actor.clone();
        let policy = policy.clone();
        Box::pin(async move {
            company_of(conn, company).await?;
            allocation::save_policy(conn, company, &policy, actor.user_id).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "policy_save",
                &company.to_string(),
                serde_json::json!({}),
            )
            .await
        })
    })
    .await?;
    Ok(Json(policy))
}

#[utoipa::path(get, path = "/api/v1/fleet/{company}/policy", params(("company" = i64, Path)),
    responses((status = 200, body = Policy), (status = 404, body = crate::error::Problem)))]
pub async fn get_policy(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
) -> AppResult<Json<Policy>> {
    may_manage(&actor, company)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(allocation::load_policy(&mut conn, company).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    /// YYYY-MM
    pub month: String,
}

/// Drafts a month's allocation plan (drafting twice returns the same plan).
#[utoipa::path(post, path = "/api/v1/fleet/{company}/allocations", request_body = DraftBody, params(("company" = i64, Path)),
    responses((status = 201, body = Plan), (status = 404, body = crate::error::Problem)))]
pub async fn draft_plan(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    ApiJson(body): ApiJson<DraftBody>,
) -> AppResult<(StatusCode, Json<Plan>)> {
    require(matches!(
        actor.role,
        Role::Admin | Role::Hq | Role::FleetManager
    ))?;
    may_manage(&actor, company)?;
    allocation::parse_month(&body.month)?;
    let plan = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let month = body.month.clone();
        Box::pin(async move {
            let plan = allocation::draft(conn, company, &month).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "allocation_draft",
                &month,
                serde_json::json!({"company": company}),
            )
            .await?;
            Ok(plan)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

#[utoipa::path(get, path = "/api/v1/fleet/{company}/allocations/{month}", params(("company" = i64, Path), ("month" = String, Path)),
    responses((status = 200, body = Plan), (status = 404, body = crate::error::Problem)))]
pub async fn get_plan(
    State(state): State<AppState>,
    actor: Actor,
    Path((company, month)): Path<(i64, String)>,
) -> AppResult<Json<Plan>> {
    may_manage(&actor, company)?;
    allocation::parse_month(&month)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(allocation::get(&mut conn, company, &month).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    pub amount: String,
    pub reason: String,
}

/// The fleet manager edits one line of a draft plan.
#[utoipa::path(put, path = "/api/v1/fleet/{company}/allocations/{month}/lines/{plate}", request_body = LineBody,
    params(("company" = i64, Path), ("month" = String, Path), ("plate" = String, Path)),
    responses((status = 200, body = Plan), (status = 409, body = crate::error::Problem)))]
pub async fn edit_line(
    State(state): State<AppState>,
    actor: Actor,
    Path((company, month, plate)): Path<(i64, String, String)>,
    ApiJson(body): ApiJson<LineBody>,
) -> AppResult<Json<Plan>> {
    require(matches!(actor.role, Role::Admin | Role::FleetManager))?;
    may_manage(&actor, company)?;
    let amount = super::amount_or_zero("amount", &body.amount)?;
    let plan = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let (month, plate, reason) = (month.clone(), plate.clone(), body.reason.clone());
        Box::pin(async move {
            let plan =
                allocation::edit_line(conn, company, &month, &plate, amount, &reason).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "allocation_edit",
                &plate,
                serde_json::json!({"month": month, "amount": amount}),
            )
            .await?;
            Ok(plan)
        })
    })
    .await?;
    Ok(Json(plan))
}

/// Approves and funds a plan, once. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/allocations/{month}/approval",
    params(("company" = i64, Path), ("month" = String, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = Approved), (status = 409, body = crate::error::Problem)))]
pub async fn approve_plan(
    State(state): State<AppState>,
    actor: Actor,
    Path((company, month)): Path<(i64, String)>,
    req: MoneyRequest<serde_json::Value>,
) -> AppResult<Response> {
    require(matches!(actor.role, Role::Admin | Role::FleetManager))?;
    may_manage(&actor, company)?;
    allocation::parse_month(&month)?;
    idempotent(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::OK,
        |conn| {
            let actor = actor.clone();
            let month = month.clone();
            Box::pin(async move { allocation::approve(conn, &actor, company, &month).await })
        },
    )
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub imported: usize,
}

/// Imports vehicles from CSV (the export's format). A file with any bad row
/// is refused whole, every bad row named by line.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/vehicles/import", request_body(content = String, content_type = "text/csv"),
    params(("company" = i64, Path)),
    responses((status = 201, body = Imported), (status = 422, body = crate::error::Problem)))]
pub async fn import_vehicles(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    body: String,
) -> AppResult<(StatusCode, Json<Imported>)> {
    may_manage(&actor, company)?;
    let rows = csv_io::parse(&body).map_err(csv_io::rejected)?;
    let n = rows.len();
    in_transaction(&state, |conn| {
        let actor = actor.clone();
        let rows = rows.clone();
        Box::pin(async move {
            company_of(conn, company).await?;
            for (i, v) in rows.iter().enumerate() {
                vehicles::create(conn, company, v).await.map_err(|e| {
                    csv_io::rejected(vec![csv_io::RowError {
                        line: u64::try_from(i).unwrap_or(0) + 2,
                        reason: e.message,
                    }])
                })?;
            }
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "vehicle_import",
                &company.to_string(),
                serde_json::json!({"rows": rows.len()}),
            )
            .await
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(Imported { imported: n })))
}

/// The company's vehicles as CSV.
#[utoipa::path(get, path = "/api/v1/fleet/{company}/vehicles.csv", params(("company" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn export_vehicles(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
) -> AppResult<Response> {
    may_manage(&actor, company)?;
    let mut conn = state.db.pool().acquire().await?;
    company_of(&mut conn, company).await?;
    let text = csv_io::export(&vehicles::list(&mut conn, company).await?)?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReviewQuery {
    /// YYYY-MM
    pub month: String,
    /// Local hours at which a refuel is odd, default "23:00-05:00".
    pub odd_hours: Option<String>,
    /// Refuels closer than this are flagged, default 120.
    pub min_gap_minutes: Option<i64>,
    /// Consumption further from the baseline than this percent is flagged, default 30.
    pub deviation_percent: Option<i64>,
}

fn thresholds(q: &ReviewQuery) -> AppResult<review::Thresholds> {
    let mut t = review::Thresholds::default();
    if let Some(h) = &q.odd_hours {
        t.odd_hours = Hours::parse(h)
            .ok_or_else(|| AppError::new(Code::ValidationFailed, "odd_hours: HH:MM-HH:MM"))?;
    }
    if let Some(m) = q.min_gap_minutes {
        if !(0..=1440).contains(&m) {
            return Err(AppError::new(
                Code::ValidationFailed,
                "min_gap_minutes: 0 to 1440",
            ));
        }
        t.min_gap_minutes = m;
    }
    if let Some(d) = q.deviation_percent {
        if !(1..=1000).contains(&d) {
            return Err(AppError::new(
                Code::ValidationFailed,
                "deviation_percent: 1 to 1000",
            ));
        }
        t.consumption_deviation_percent = d;
    }
    Ok(t)
}

async fn load_review(
    state: &AppState,
    actor: &Actor,
    company: i64,
    q: &ReviewQuery,
) -> AppResult<review::Review> {
    may_manage(actor, company)?;
    allocation::parse_month(&q.month)?;
    let t = thresholds(q)?;
    let mut conn = state.db.pool().acquire().await?;
    company_of(&mut conn, company).await?;
    review::monthly(&mut conn, company, &q.month, state.settings.time_zone, &t).await
}

/// The monthly vehicle fuel review: per-vehicle use and efficiency, and the
/// anomalies (with earlier unacknowledged ones carried over).
#[utoipa::path(get, path = "/api/v1/fleet/{company}/reports/monthly", params(("company" = i64, Path), ReviewQuery),
    responses((status = 200, body = review::Review), (status = 404, body = crate::error::Problem)))]
pub async fn monthly_review(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    Query(q): Query<ReviewQuery>,
) -> AppResult<Json<review::Review>> {
    Ok(Json(load_review(&state, &actor, company, &q).await?))
}

/// The review's vehicle table as CSV.
#[utoipa::path(get, path = "/api/v1/fleet/{company}/reports/monthly.csv", params(("company" = i64, Path), ReviewQuery),
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn monthly_review_csv(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    Query(q): Query<ReviewQuery>,
) -> AppResult<Response> {
    let r = load_review(&state, &actor, company, &q).await?;
    let text = review::vehicles_csv(&r)?;
    let disposition = format!(
        "attachment; filename=\"fuel-review-{company}-{}.csv\"",
        q.month
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    pub sale_id: i64,
    /// The anomaly kind, as the review names it.
    pub kind: String,
    pub justification: String,
}

/// The fleet manager acknowledges an anomaly with a justification.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/anomalies/ack", request_body = AckBody, params(("company" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    ApiJson(body): ApiJson<AckBody>,
) -> AppResult<StatusCode> {
    require(matches!(actor.role, Role::Admin | Role::FleetManager))?;
    may_manage(&actor, company)?;
    let kind = review::AnomalyKind::parse(&body.kind).ok_or_else(|| {
        AppError::new(
            Code::ValidationFailed,
            format!("unknown anomaly kind {:?}", body.kind),
        )
    })?;
    in_transaction(&state, |conn| {
        let actor = actor.clone();
        let justification = body.justification.clone();
        let sale_id = body.sale_id;
        Box::pin(async move {
            review::acknowledge(conn, company, sale_id, kind, &justification, actor.user_id)
                .await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "anomaly_ack",
                &sale_id.to_string(),
                serde_json::json!({"kind": kind, "justification": justification}),
            )
            .await
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpBody {
    pub plate: String,
    pub amount: String,
    pub reason: String,
}

/// Asks for an early top-up of a vehicle running low.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/topups", request_body = TopUpBody, params(("company" = i64, Path)),
    responses((status = 201, body = requests::TopUp), (status = 404, body = crate::error::Problem)))]
pub async fn request_topup(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    ApiJson(body): ApiJson<TopUpBody>,
) -> AppResult<(StatusCode, Json<requests::TopUp>)> {
    may_manage(&actor, company)?;
    let amount = super::amount("amount", &body.amount)?;
    let t = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let (plate, reason) = (body.plate.clone(), body.reason.clone());
        Box::pin(async move {
            let t = requests::request_topup(conn, &actor, company, &plate, amount, &reason).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "topup_request",
                &t.plate,
                serde_json::json!({"id": t.id, "amount": amount}),
            )
            .await?;
            Ok(t)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Approves (funds, once) or rejects an early top-up. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/topups/{id}/{decision}",
    params(("company" = i64, Path), ("id" = i64, Path), ("decision" = String, Path, description = "approval or rejection"), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = requests::TopUp), (status = 409, body = crate::error::Problem)))]
pub async fn decide_topup(
    State(state): State<AppState>,
    actor: Actor,
    Path((company, id, decision)): Path<(i64, i64, String)>,
    req: MoneyRequest<serde_json::Value>,
) -> AppResult<Response> {
    require(matches!(actor.role, Role::Admin | Role::FleetManager))?;
    may_manage(&actor, company)?;
    let approve = match decision.as_str() {
        "approval" => true,
        "rejection" => false,
        _ => return Err(AppError::new(Code::NotFound, "no such route")),
    };
    let tz = state.settings.time_zone;
    idempotent(
        &state,
        &actor,
        &req.key,
        &req.hash,
        StatusCode::OK,
        |conn| {
            let actor = actor.clone();
            Box::pin(async move {
                let t = requests::decide_topup(conn, &actor, company, id, approve, tz).await?;
                crate::audit::record(
                    conn,
                    Some(actor.user_id),
                    "topup_decision",
                    &t.plate,
                    serde_json::json!({"id": id, "status": t.status}),
                )
                .await?;
                Ok(t)
            })
        },
    )
    .await
}

/// Asks to lend a vehicle's card for a long trip (借用登记).
#[utoipa::path(post, path = "/api/v1/fleet/{company}/loans", request_body = requests::LoanRequest, params(("company" = i64, Path)),
    responses((status = 201, body = requests::Loan), (status = 422, body = crate::error::Problem)))]
pub async fn request_loan(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    ApiJson(body): ApiJson<requests::LoanRequest>,
) -> AppResult<(StatusCode, Json<requests::Loan>)> {
    may_manage(&actor, company)?;
    let l = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let body = body.clone();
        Box::pin(async move {
            let l = requests::request_loan(conn, &actor, company, &body).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "loan_request",
                &l.plate,
                serde_json::json!({"id": l.id}),
            )
            .await?;
            Ok(l)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(l)))
}

#[utoipa::path(get, path = "/api/v1/fleet/{company}/loans/{id}", params(("company" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = requests::Loan), (status = 404, body = crate::error::Problem)))]
pub async fn get_loan(
    State(state): State<AppState>,
    actor: Actor,
    Path((company, id)): Path<(i64, i64)>,
) -> AppResult<Json<requests::Loan>> {
    may_manage(&actor, company)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(requests::loan(&mut conn, company, id).await?))
}

/// A loan's next step: approval, rejection (fleet manager), handout, return.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/loans/{id}/{step}",
    params(("company" = i64, Path), ("id" = i64, Path), ("step" = String, Path, description = "approval, rejection, handout or return")),
    responses((status = 200, body = requests::Loan), (status = 409, body = crate::error::Problem)))]
pub async fn loan_step(
    State(state): State<AppState>,
    actor: Actor,
    Path((company, id, step)): Path<(i64, i64, String)>,
) -> AppResult<Json<requests::Loan>> {
    may_manage(&actor, company)?;
    let step = match step.as_str() {
        "approval" => requests::LoanStep::Approve,
        "rejection" => requests::LoanStep::Reject,
        "handout" => requests::LoanStep::HandOut,
        "return" => requests::LoanStep::Return,
        _ => return Err(AppError::new(Code::NotFound, "no such route")),
    };
    if matches!(
        step,
        requests::LoanStep::Approve | requests::LoanStep::Reject
    ) {
        require(matches!(actor.role, Role::Admin | Role::FleetManager))?;
    }
    let l = in_transaction(&state, |conn| {
        let actor = actor.clone();
        Box::pin(async move {
            let l = requests::loan_step(conn, &actor, company, id, step).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "loan_step",
                &l.plate,
                serde_json::json!({"id": id, "status": l.status}),
            )
            .await?;
            Ok(l)
        })
    })
    .await?;
    Ok(Json(l))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CashRecorded {
    pub id: i64,
}

/// Records a cash refuel made by exception (fleet manager: the approver).
#[utoipa::path(post, path = "/api/v1/fleet/{company}/cash-refuels", request_body = requests::CashRefuelRequest, params(("company" = i64, Path)),
    responses((status = 201, body = CashRecorded), (status = 422, body = crate::error::Problem)))]
pub async fn record_cash(
    State(state): State<AppState>,
    actor: Actor,
    Path(company): Path<i64>,
    ApiJson(body): ApiJson<requests::CashRefuelRequest>,
) -> AppResult<(StatusCode, Json<CashRecorded>)> {
    require(matches!(actor.role, Role::Admin | Role::FleetManager))?;
    may_manage(&actor, company)?;
    let id = in_transaction(&state, |conn| {
        let actor = actor.clone();
        let body = body.clone();
        Box::pin(async move {
            let id = requests::record_cash(conn, &actor, company, &body).await?;
            crate::audit::record(
                conn,
                Some(actor.user_id),
                "cash_refuel",
                &body.plate,
                serde_json::json!({"id": id, "reason": body.reason}),
            )
            .await?;
            Ok(id)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(CashRecorded { id })))
}

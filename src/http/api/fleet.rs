//! Fleet vehicles and their sale-time controls.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, CreateRequest, MoneyRequest};
use super::{ApiPath, ApiQuery, CreationKey, EmptyBody, IdempotencyKey, csv_text};
use crate::actions::fleet::{self, Acknowledgement};
use crate::actions::{App, At, Done};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::allocation::{Approved, Plan};
use crate::fleet::limits::{Control, Hours};
use crate::fleet::policy::Policy;
use crate::fleet::vehicles::{Vehicle, VehicleInput};
use crate::fleet::{requests, review};
use crate::http::openapi::{AmountOrZeroText, MonthText};

/// Registers a vehicle of a company's fleet. Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/vehicles", request_body = VehicleInput, params(("company" = i64, Path, description = "The company (its customer id)"), CreationKey),
    responses((status = 201, description = "The vehicle (or the first answer to this key, replayed)", body = Vehicle)))]
pub async fn add_vehicle(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    req: CreateRequest<VehicleInput>,
) -> AppResult<Done<Vehicle>> {
    fleet::add_vehicle(&state, &actor, company, req.key.as_ref(), &req.body).await
}

/// Changes a vehicle's description and limits; its plate stays.
#[utoipa::path(put, path = "/api/v1/fleet/{company}/vehicles/{plate}", request_body = VehicleInput,
    params(("company" = i64, Path, description = "The company (its customer id)"), ("plate" = String, Path, description = "The vehicle's plate", max_length = 16)),
    responses((status = 200, description = "The vehicle as changed", body = Vehicle)))]
pub async fn update_vehicle(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, plate)): ApiPath<(i64, String)>,
    ApiJson(body): ApiJson<VehicleInput>,
) -> AppResult<Json<Vehicle>> {
    Ok(Json(
        fleet::update_vehicle(&state, &actor, company, &plate, &body).await?,
    ))
}

/// Retires a vehicle, once: it leaves the next plans and its card buys no
/// more fuel; its history stays.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/vehicles/{plate}/retirement", request_body = Option<EmptyBody>,
    params(("company" = i64, Path, description = "The company (its customer id)"), ("plate" = String, Path, description = "The vehicle's plate", max_length = 16)),
    responses((status = 200, description = "The vehicle, retired", body = Vehicle)))]
pub async fn retire_vehicle(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, plate)): ApiPath<(i64, String)>,
) -> AppResult<Json<Vehicle>> {
    Ok(Json(
        fleet::retire_vehicle(&state, &actor, company, &plate).await?,
    ))
}

/// The company's vehicles.
#[utoipa::path(get, path = "/api/v1/fleet/{company}/vehicles", params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 200, description = "The vehicles", body = Vec<Vehicle>)))]
pub async fn list_vehicles(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
) -> AppResult<Json<Vec<Vehicle>>> {
    Ok(Json(fleet::vehicles(&state, &actor, company).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// The control the next sale may pass.
    #[schema(value_type = Control)]
    pub control: String,
    pub reason: String,
    /// How long the override waits to be used (default 24 h, at most 72 h).
    #[schema(minimum = 1, maximum = 72)]
    pub valid_hours: Option<i64>,
}

pub use crate::actions::fleet::OverrideGranted;

/// A manager's one-off override: the vehicle's next sale may pass one control.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/vehicles/{plate}/overrides", request_body = OverrideBody,
    params(("company" = i64, Path, description = "The company (its customer id)"), ("plate" = String, Path, description = "The vehicle's plate", max_length = 16)),
    responses((status = 201, description = "The override, waiting for the vehicle's next sale", body = OverrideGranted)))]
pub async fn grant_override(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, plate)): ApiPath<(i64, String)>,
    ApiJson(body): ApiJson<OverrideBody>,
) -> AppResult<(StatusCode, Json<OverrideGranted>)> {
    let req = fleet::OverrideRequest {
        control: body.control,
        reason: body.reason,
        valid_hours: body.valid_hours,
    };
    let granted = fleet::grant_override(&state, &actor, company, &plate, &req).await?;
    Ok((StatusCode::CREATED, Json(granted)))
}

/// Saves the company's allocation policy (fleet manager, admin).
#[utoipa::path(put, path = "/api/v1/fleet/{company}/policy", request_body = Policy, params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 200, description = "The policy saved", body = Policy)))]
pub async fn put_policy(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    ApiJson(policy): ApiJson<Policy>,
) -> AppResult<Json<Policy>> {
    fleet::save_policy(&state, &actor, company, &policy).await?;
    Ok(Json(policy))
}

#[utoipa::path(get, path = "/api/v1/fleet/{company}/policy", params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 200, description = "The policy", body = Policy)))]
pub async fn get_policy(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
) -> AppResult<Json<Policy>> {
    Ok(Json(fleet::policy(&state, &actor, company).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    #[schema(value_type = MonthText)]
    pub month: String,
}

/// Drafts a month's allocation plan (drafting twice returns the same plan).
#[utoipa::path(post, path = "/api/v1/fleet/{company}/allocations", request_body = DraftBody, params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 201, description = "The month's plan (the existing one if it was drafted before)", body = Plan)))]
pub async fn draft_plan(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    ApiJson(body): ApiJson<DraftBody>,
) -> AppResult<(StatusCode, Json<Plan>)> {
    let at = At {
        actor: &actor,
        now: state.now(),
    };
    let plan = fleet::draft_plan(&state.db, at, company, &body.month).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

#[utoipa::path(get, path = "/api/v1/fleet/{company}/allocations/{month}", params(("company" = i64, Path, description = "The company (its customer id)"), ("month" = MonthText, Path)),
    responses((status = 200, description = "The month's plan", body = Plan)))]
pub async fn get_plan(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, month)): ApiPath<(i64, String)>,
) -> AppResult<Json<Plan>> {
    Ok(Json(fleet::plan(&state, &actor, company, &month).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// The vehicle's allocation, yuan (zero allowed).
    #[schema(value_type = AmountOrZeroText)]
    pub amount: String,
    /// Why it differs from the policy.
    pub reason: String,
}

/// The fleet manager edits one line of a draft plan.
#[utoipa::path(put, path = "/api/v1/fleet/{company}/allocations/{month}/lines/{plate}", request_body = LineBody,
    params(("company" = i64, Path, description = "The company (its customer id)"), ("month" = MonthText, Path), ("plate" = String, Path, description = "The vehicle's plate", max_length = 16)),
    responses((status = 200, description = "The plan with the line changed", body = Plan)))]
pub async fn edit_line(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, month, plate)): ApiPath<(i64, String, String)>,
    ApiJson(body): ApiJson<LineBody>,
) -> AppResult<Json<Plan>> {
    let plan = fleet::edit_line(
        &state,
        &actor,
        company,
        &month,
        &plate,
        &body.amount,
        &body.reason,
    )
    .await?;
    Ok(Json(plan))
}

/// Approves and funds a plan, once. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/allocations/{month}/approval", request_body = Option<EmptyBody>,
    params(("company" = i64, Path, description = "The company (its customer id)"), ("month" = MonthText, Path), IdempotencyKey),
    responses((status = 200, description = "The plan, approved and funded (or the first answer to this key, replayed)", body = Approved)))]
pub async fn approve_plan(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, month)): ApiPath<(i64, String)>,
    req: MoneyRequest<EmptyBody>,
) -> AppResult<Done<Approved>> {
    fleet::approve_plan(&state, &actor, company, &month, &req.key).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub imported: usize,
}

/// The text of a CSV upload: `text/csv` (or `text/plain`, or no content
/// type), UTF-8, within the route's size limit.
/// Imports vehicles from CSV (the export's format). A file with any bad row
/// is refused whole, every bad row named by line.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/vehicles/import",
    request_body(content = String, content_type = "text/csv", description = "The export's format: a header line, then one vehicle a line"),
    params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 201, description = "How many vehicles were imported", body = Imported)))]
pub async fn import_vehicles(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<Imported>)> {
    authorize(&actor, Action::DecideFleet, &Target::company(company))?;
    let body = csv_text(&headers, body)?;
    let imported = fleet::import_vehicles(&state, &actor, company, &body).await?;
    Ok((StatusCode::CREATED, Json(Imported { imported })))
}

/// The company's vehicles as CSV.
#[utoipa::path(get, path = "/api/v1/fleet/{company}/vehicles.csv", params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 200, description = "The vehicles as CSV", content_type = "text/csv", body = String)))]
pub async fn export_vehicles(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
) -> AppResult<Response> {
    let text = fleet::export_vehicles(&state, &actor, company).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    #[param(value_type = MonthText)]
    pub month: String,
    /// Local hours at which a refuel is odd, default "23:00-05:00".
    #[param(
        pattern = r"^\s*\+?[0-9]+:\+?[0-9]+\s*-\s*\+?[0-9]+:\+?[0-9]+\s*$",
        example = "23:00-05:00"
    )]
    pub odd_hours: Option<String>,
    /// Refuels closer than this are flagged, default 120.
    #[param(minimum = 0, maximum = 1440)]
    pub min_gap_minutes: Option<i64>,
    /// Consumption further from the baseline than this percent is flagged, default 30.
    #[param(minimum = 1, maximum = 1000)]
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
    state: &App,
    actor: &Actor,
    company: i64,
    q: &ReviewQuery,
) -> AppResult<review::Review> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let t = thresholds(q)?;
    fleet::review(state, actor, company, &q.month, &t).await
}

/// The monthly vehicle fuel review: per-vehicle use and efficiency, and the
/// anomalies (with earlier unacknowledged ones carried over).
#[utoipa::path(get, path = "/api/v1/fleet/{company}/reports/monthly", params(("company" = i64, Path, description = "The company (its customer id)"), ReviewQuery),
    responses((status = 200, description = "The month's review", body = review::Review)))]
pub async fn monthly_review(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> AppResult<Json<review::Review>> {
    Ok(Json(load_review(&state, &actor, company, &q).await?))
}

/// The review's vehicle table as CSV.
#[utoipa::path(get, path = "/api/v1/fleet/{company}/reports/monthly.csv", params(("company" = i64, Path, description = "The company (its customer id)"), ReviewQuery),
    responses((status = 200, description = "The review's vehicle table as CSV", content_type = "text/csv", body = String)))]
pub async fn monthly_review_csv(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ReviewQuery>,
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
    /// The refuel the anomaly is about (a sale or a cash refuel id).
    pub sale_id: i64,
    /// The anomaly kind, as the review names it.
    #[schema(value_type = review::AnomalyKind)]
    pub kind: String,
    pub justification: String,
}

/// The fleet manager acknowledges an anomaly with a justification.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/anomalies/ack", request_body = AckBody, params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 204, description = "Acknowledged")))]
pub async fn acknowledge(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    ApiJson(body): ApiJson<AckBody>,
) -> AppResult<StatusCode> {
    let ack = Acknowledgement {
        sale_id: body.sale_id,
        kind: body.kind,
        justification: body.justification,
    };
    fleet::acknowledge(&state, &actor, company, &ack).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub use crate::actions::fleet::TopUpRequest as TopUpBody;

/// What a manager decides on an early top-up.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
pub enum TopUpDecision {
    Approval,
    Rejection,
}

/// The steps of a card loan: approval or rejection (fleet manager), then
/// handout and return (at the counter).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
pub enum LoanStepName {
    Approval,
    Rejection,
    Handout,
    Return,
}

/// Asks for an early top-up of a vehicle running low. Takes an
/// Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/topups", request_body = TopUpBody, params(("company" = i64, Path, description = "The company (its customer id)"), CreationKey),
    responses((status = 201, description = "The request, waiting for a decision (or the first answer to this key, replayed)", body = requests::TopUp)))]
pub async fn request_topup(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    req: CreateRequest<TopUpBody>,
) -> AppResult<Done<requests::TopUp>> {
    fleet::request_topup(&state, &actor, company, req.key.as_ref(), &req.body).await
}

/// Approves (funds, once) or rejects an early top-up. Needs an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/topups/{id}/{decision}", request_body = Option<EmptyBody>,
    params(("company" = i64, Path, description = "The company (its customer id)"), ("id" = i64, Path, description = "The top-up request id"), ("decision" = TopUpDecision, Path), IdempotencyKey),
    responses((status = 200, description = "The request, decided (or the first answer to this key, replayed)", body = requests::TopUp)))]
pub async fn decide_topup(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, id, decision)): ApiPath<(i64, i64, String)>,
    req: MoneyRequest<EmptyBody>,
) -> AppResult<Done<requests::TopUp>> {
    authorize(&actor, Action::DecideFleet, &Target::company(company))?;
    let approve = match decision.as_str() {
        "approval" => true,
        "rejection" => false,
        _ => return Err(AppError::new(Code::NotFound, "no such route")),
    };
    fleet::decide_topup(&state, &actor, company, id, approve, &req.key).await
}

/// Asks to lend a vehicle's card for a long trip (借用登记). Takes an
/// Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/loans", request_body = requests::LoanRequest, params(("company" = i64, Path, description = "The company (its customer id)"), CreationKey),
    responses((status = 201, description = "The loan, waiting for approval (or the first answer to this key, replayed)", body = requests::Loan)))]
pub async fn request_loan(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    req: CreateRequest<requests::LoanRequest>,
) -> AppResult<Done<requests::Loan>> {
    fleet::request_loan(&state, &actor, company, req.key.as_ref(), &req.body).await
}

/// A card loan with the refuels tagged to the trip.
#[utoipa::path(get, path = "/api/v1/fleet/{company}/loans/{id}", params(("company" = i64, Path, description = "The company (its customer id)"), ("id" = i64, Path, description = "The loan id")),
    responses((status = 200, description = "The loan", body = requests::Loan)))]
pub async fn get_loan(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, id)): ApiPath<(i64, i64)>,
) -> AppResult<Json<requests::Loan>> {
    Ok(Json(fleet::loan(&state, &actor, company, id).await?))
}

/// A loan's next step: approval, rejection (fleet manager), handout, return.
#[utoipa::path(post, path = "/api/v1/fleet/{company}/loans/{id}/{step}",
    params(("company" = i64, Path, description = "The company (its customer id)"), ("id" = i64, Path, description = "The loan id"), ("step" = LoanStepName, Path)),
    responses((status = 200, description = "The loan after the step", body = requests::Loan)))]
pub async fn loan_step(
    State(state): State<App>,
    actor: Actor,
    ApiPath((company, id, step)): ApiPath<(i64, i64, String)>,
) -> AppResult<Json<requests::Loan>> {
    authorize(&actor, Action::DecideFleet, &Target::company(company))?;
    let step = fleet::loan_step_named(&step)?;
    Ok(Json(
        fleet::loan_step(&state, &actor, company, id, step).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CashRecorded {
    pub id: i64,
}

/// Records a cash refuel made by exception (fleet manager: the approver).
#[utoipa::path(post, path = "/api/v1/fleet/{company}/cash-refuels", request_body = requests::CashRefuelRequest, params(("company" = i64, Path, description = "The company (its customer id)")),
    responses((status = 201, description = "The cash refuel, recorded", body = CashRecorded)))]
pub async fn record_cash(
    State(state): State<App>,
    actor: Actor,
    ApiPath(company): ApiPath<i64>,
    ApiJson(body): ApiJson<requests::CashRefuelRequest>,
) -> AppResult<(StatusCode, Json<CashRecorded>)> {
    let id = fleet::record_cash(&state, &actor, company, &body).await?;
    Ok((StatusCode::CREATED, Json(CashRecorded { id })))
}

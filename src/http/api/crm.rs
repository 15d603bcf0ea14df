//! Customer relationship over the API: complaints recorded at a station,
//! taken through their stages to closure, listed and counted; the
//! call-back list and its calls; the care of a station's customers — the
//! calls and visits logged, the visit plan, the birthdays coming. Each
//! handler parses and hands over to [`crate::actions::crm`].

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, CreateRequest};
use super::{ApiPath, ApiQuery, CreationKey, EmptyBody};
use crate::actions::crm::{self as act, Move};
use crate::actions::{App, Done};
use crate::auth::Actor;
use crate::crm::care::{
    CareCustomer, CareFilter, CareInput, CareRecord, CustomerCare, Occasion, PlannedVisit,
    VisitPlanInput,
};
use crate::crm::complaints::{Complaint, ComplaintInput, MonthCount};
use crate::crm::grading::{Callback, Level, Lifecycle, Outcome};
use crate::error::AppResult;
use crate::http::openapi::MonthText;
use crate::lifecycle::ComplaintStatus;

/// Records a complaint received at a station (the caller's own unless
/// named). Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/complaints", request_body = ComplaintInput, params(CreationKey),
    responses((status = 201, description = "The complaint, received", body = Complaint)))]
pub async fn add_complaint(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<ComplaintInput>,
) -> AppResult<Done<Complaint>> {
    act::add_complaint(&state, &actor, req.key.as_ref(), &req.body).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplaintQuery {
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the caller's own station or district
    /// (HQ, admin: the whole network).
    pub district: Option<String>,
    /// Only complaints at this stage.
    pub status: Option<ComplaintStatus>,
    /// Only those past a time limit.
    pub overdue: Option<bool>,
}

/// Complaints, open ones first and the oldest first among them.
#[utoipa::path(get, path = "/api/v1/complaints", params(ComplaintQuery),
    responses((status = 200, description = "The complaints", body = Vec<Complaint>)))]
pub async fn list_complaints(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ComplaintQuery>,
) -> AppResult<Json<Vec<Complaint>>> {
    let list = act::list_complaints(
        &state,
        &actor,
        q.station.as_deref(),
        q.district.as_deref(),
        q.status,
        q.overdue.unwrap_or(false),
    )
    .await?;
    Ok(Json(list))
}

/// One complaint.
#[utoipa::path(get, path = "/api/v1/complaints/{id}", params(("id" = i64, Path, description = "The complaint")),
    responses((status = 200, description = "The complaint", body = Complaint)))]
pub async fn get_complaint(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Complaint>> {
    Ok(Json(act::get_complaint(&state, &actor, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The username of the member of staff who takes it on: one working at
    /// the complaint's station, or a manager of its district.
    #[schema(example = "manager1")]
    pub assignee: String,
}

/// Assigns a complaint (again, until it is answered).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/assign", request_body = Assignment,
    params(("id" = i64, Path, description = "The complaint")),
    responses((status = 200, description = "The complaint, assigned", body = Complaint)))]
pub async fn assign_complaint(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<Assignment>,
) -> AppResult<Json<Complaint>> {
    let m = Move::Assign(b.assignee);
    Ok(Json(act::move_complaint(&state, &actor, id, m).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// What the customer was told, up to 2,000 characters.
    #[schema(example = "已校验加油机，补加2升")]
    pub answer: String,
}

/// Records the answer given to the customer.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/answer", request_body = Answer,
    params(("id" = i64, Path, description = "The complaint")),
    responses((status = 200, description = "The complaint, answered", body = Complaint)))]
pub async fn answer_complaint(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<Answer>,
) -> AppResult<Json<Complaint>> {
    let m = Move::Answer(b.answer);
    Ok(Json(act::move_complaint(&state, &actor, id, m).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// Whether the customer is satisfied with the answer.
    pub satisfied: bool,
    /// What the customer said.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Records the follow-up with the customer. Satisfied, the complaint may
/// close; not satisfied, it is reopened: back to assigned (its assignee
/// kept), to be answered and followed up again.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/follow-up", request_body = FollowUp,
    params(("id" = i64, Path, description = "The complaint")),
    responses((status = 200, description = "The complaint, followed up", body = Complaint)))]
pub async fn follow_up_complaint(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<FollowUp>,
) -> AppResult<Json<Complaint>> {
    let m = Move::FollowUp {
        satisfied: b.satisfied,
        notes: b.notes,
    };
    Ok(Json(act::move_complaint(&state, &actor, id, m).await?))
}

/// Closes a complaint whose customer was satisfied at the follow-up
/// (`follow_up_required` before that, a reopened one included).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/close", request_body = Option<EmptyBody>,
    params(("id" = i64, Path, description = "The complaint")),
    responses((status = 200, description = "The complaint, closed", body = Complaint)))]
pub async fn close_complaint(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(empty): ApiJson<EmptyBody>,
) -> AppResult<Json<Complaint>> {
    let EmptyBody = empty;
    Ok(Json(
        act::move_complaint(&state, &actor, id, Move::Close).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountsQuery {
    /// The month, YYYY-MM.
    #[param(value_type = MonthText)]
    pub month: String,
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the caller's own station or district
    /// (HQ, admin: the whole network).
    pub district: Option<String>,
}

/// A month's complaints by station and category.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ComplaintCounts {
    pub month: String,
    pub counts: Vec<MonthCount>,
}

/// A month's complaints counted by station and category: received, closed
/// (in time), unsatisfied, reopened, overdue, and the median and longest
/// hours each stage took (receipt → assigned → answered → followed up →
/// closed) over those that passed it.
#[utoipa::path(get, path = "/api/v1/complaints/counts", params(CountsQuery),
    responses((status = 200, description = "The counts", body = ComplaintCounts)))]
pub async fn complaint_counts(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<CountsQuery>,
) -> AppResult<Json<ComplaintCounts>> {
    let (month, counts) = act::month_counts(
        &state,
        &actor,
        &q.month,
        q.station.as_deref(),
        q.district.as_deref(),
    )
    .await?;
    Ok(Json(ComplaintCounts { month, counts }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the caller's own station or district
    /// (HQ, admin: the whole network).
    pub district: Option<String>,
}

/// The call-back list: the dormant customers of a station (the station
/// that opened their first card), the longest quiet first, with the calls
/// made since they went quiet. A customer leaves it by refuelling.
#[utoipa::path(get, path = "/api/v1/callbacks", params(CallbackQuery),
    responses((status = 200, description = "The dormant customers", body = Vec<Callback>)))]
pub async fn callbacks(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> AppResult<Json<Vec<Callback>>> {
    let list = act::callbacks(&state, &actor, q.station.as_deref(), q.district.as_deref()).await?;
    Ok(Json(list))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallMade {
    pub outcome: Outcome,
    /// What was said, up to 2,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Records a call to a dormant customer (`not_on_callback_list` for one
/// who is not). Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/callbacks/{customer_id}/calls", request_body = CallMade,
    params(("customer_id" = i64, Path, description = "The customer"), CreationKey),
    responses((status = 201, description = "The customer's call-back entry with the call", body = Callback)))]
pub async fn record_call(
    State(state): State<App>,
    actor: Actor,
    ApiPath(customer): ApiPath<i64>,
    req: CreateRequest<CallMade>,
) -> AppResult<Done<Callback>> {
    let b = &req.body;
    act::record_call(
        &state,
        &actor,
        req.key.as_ref(),
        customer,
        b.outcome,
        b.notes.as_deref(),
    )
    .await
}

// ---------------------------------------------------------------- customer care

/// Logs a call or visit to a customer of the caller's station — any of its
/// customers, not only the call-back list's — with its purpose, outcome
/// and next step; it shows on the customer's timeline (`care_call`,
/// `care_visit`). A visit completes the planned visit it names
/// (`visit_id`), or else the customer's earliest visit planned for today or
/// before. `customer_has_no_station` for a customer without a card. Takes
/// an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/customers/{id}/care", request_body = CareInput,
    params(("id" = i64, Path, description = "The customer"), CreationKey),
    responses((status = 201, description = "The call or visit, logged", body = CareRecord)))]
pub async fn log_contact(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    req: CreateRequest<CareInput>,
) -> AppResult<Done<CareRecord>> {
    act::log_contact(&state, &actor, req.key.as_ref(), id, &req.body).await
}

/// A customer's care: the station that looks after them, their level,
/// their calls and visits (the call-back list's calls among them, as
/// `win_back` calls) and their planned visits.
#[utoipa::path(get, path = "/api/v1/customers/{id}/care",
    params(("id" = i64, Path, description = "The customer")),
    responses((status = 200, description = "The customer's care", body = CustomerCare)))]
pub async fn customer_care(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<CustomerCare>> {
    Ok(Json(act::customer_care(&state, &actor, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CareQuery {
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the caller's own station or district
    /// (HQ, admin: the whole network).
    pub district: Option<String>,
    /// Only customers of this level.
    pub level: Option<Level>,
    /// Only customers at this stage.
    pub lifecycle: Option<Lifecycle>,
    /// Only customers whose name holds these words.
    pub name: Option<String>,
}

/// The customers of a station (the station that opened their first card)
/// with their level, lifecycle stage, last call or visit and next planned
/// visit; gold first, then by name, at most 500.
#[utoipa::path(get, path = "/api/v1/care", params(CareQuery),
    responses((status = 200, description = "The station's customers", body = Vec<CareCustomer>)))]
pub async fn care_customers(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<CareQuery>,
) -> AppResult<Json<Vec<CareCustomer>>> {
    let filter = CareFilter {
        level: q.level,
        lifecycle: q.lifecycle,
        name: crate::text::optional("name", q.name.as_deref(), 50)?,
    };
    let list = act::care_customers(
        &state,
        &actor,
        q.station.as_deref(),
        q.district.as_deref(),
        &filter,
    )
    .await?;
    Ok(Json(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitPlanQuery {
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the caller's own station or district
    /// (HQ, admin: the whole network).
    pub district: Option<String>,
    /// The first day, YYYY-MM-DD; today when left out.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The last day, YYYY-MM-DD; 60 days after `from` when left out.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

/// A station's visit plan.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VisitPlan {
    /// The days read, YYYY-MM-DD.
    pub from: String,
    pub to: String,
    /// By day: the visits planned from `from` to `to`, and those still
    /// planned from before (`overdue`).
    pub visits: Vec<PlannedVisit>,
}

/// The visit plan of a station: its visits planned, done and cancelled by
/// day, with those whose day passed still planned.
#[utoipa::path(get, path = "/api/v1/visits", params(VisitPlanQuery),
    responses((status = 200, description = "The visit plan", body = VisitPlan)))]
pub async fn visit_plan(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<VisitPlanQuery>,
) -> AppResult<Json<VisitPlan>> {
    let (from, to, visits) = act::visit_plan(
        &state,
        &actor,
        q.station.as_deref(),
        q.district.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
    )
    .await?;
    Ok(Json(VisitPlan {
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        visits,
    }))
}

/// Plans a visit to a customer of the caller's station: at least three
/// days ahead for a gold or key customer, one day for the others
/// (`visit_too_soon` names the earliest day, and nothing is planned). One
/// visit a day per customer (`duplicate`). Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/visits", request_body = VisitPlanInput, params(CreationKey),
    responses((status = 201, description = "The visit, planned", body = PlannedVisit)))]
pub async fn plan_visit(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<VisitPlanInput>,
) -> AppResult<Done<PlannedVisit>> {
    act::plan_visit(&state, &actor, req.key.as_ref(), &req.body).await
}

/// Calls off a visit still planned (`illegal_transition` once done or
/// cancelled).
#[utoipa::path(post, path = "/api/v1/visits/{id}/cancellation", request_body = Option<EmptyBody>,
    params(("id" = i64, Path, description = "The planned visit")),
    responses((status = 200, description = "The visit, cancelled", body = PlannedVisit)))]
pub async fn cancel_visit(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(empty): ApiJson<EmptyBody>,
) -> AppResult<Json<PlannedVisit>> {
    let EmptyBody = empty;
    Ok(Json(act::cancel_visit(&state, &actor, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BirthdayQuery {
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the caller's own station or district
    /// (HQ, admin: the whole network).
    pub district: Option<String>,
    /// How many days ahead, 1 to 366; 30 when left out.
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<i64>,
}

/// The birthdays and anniversaries (a wedding, a company's founding) kept
/// with the contacts of a station's customers that come within `days`,
/// the soonest first: whom to send the station's wishes.
#[utoipa::path(get, path = "/api/v1/birthdays", params(BirthdayQuery),
    responses((status = 200, description = "The days coming", body = Vec<Occasion>)))]
pub async fn birthdays(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<BirthdayQuery>,
) -> AppResult<Json<Vec<Occasion>>> {
    let list = act::birthdays(
        &state,
        &actor,
        q.station.as_deref(),
        q.district.as_deref(),
        q.days,
    )
    .await?;
    Ok(Json(list))
}

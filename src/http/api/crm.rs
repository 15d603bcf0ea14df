//! Customer relationship over the API: complaints recorded at a station,
//! taken through their stages to closure, listed and counted; the
//! call-back list and its calls. Each handler parses and hands over to
//! [`crate::actions::crm`].

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, CreateRequest};
use super::{ApiPath, ApiQuery, CreationKey, EmptyBody};
use crate::actions::crm::{self as act, Move};
use crate::actions::{App, Done};
use crate::auth::Actor;
use crate::crm::complaints::{Complaint, ComplaintInput, MonthCount};
use crate::crm::grading::{Callback, Outcome};
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

/// Records the follow-up with the customer: satisfied or not.
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

/// Closes a complaint that has been followed up (`follow_up_required`
/// before that).
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
/// (in time), unsatisfied, overdue.
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

//! Customer acquisition over the API: districts, prospects and visits,
//! flyer batches, targets and the tables read from them. Each handler
//! parses and hands over to [`crate::actions::acquisition`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, CreateRequest};
use super::fleet::Imported;
use super::{ApiPath, ApiQuery, CreationKey, csv_text};
use crate::acquisition::channels::{Conversion, FlyerBatch};
use crate::acquisition::prospects::{Prospect, ProspectInput, Visit, VisitInput};
use crate::acquisition::rankings::Announcement;
use crate::acquisition::targets::{TargetInput, Tracking};
use crate::acquisition::weekly::WeeklyReport;
use crate::actions::acquisition::{self as act, Leaderboard, RankBy};
use crate::actions::{App, Done};
use crate::auth::Actor;
use crate::error::AppResult;
use crate::http::openapi::MonthText;
use crate::lifecycle::Stage;
use crate::stations::districts::District;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDistrict {
    #[schema(example = "东区")]
    pub code: String,
    #[schema(example = "东区片区")]
    pub name: String,
}

/// Adds a district (HQ, admin). Stations name it by code. Takes an
/// Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/districts", request_body = NewDistrict, params(CreationKey),
    responses((status = 201, description = "The district", body = District)))]
pub async fn add_district(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<NewDistrict>,
) -> AppResult<Done<District>> {
    let b = &req.body;
    act::add_district(&state, &actor, req.key.as_ref(), &b.code, &b.name).await
}

/// Every district.
#[utoipa::path(get, path = "/api/v1/districts",
    responses((status = 200, description = "The districts", body = Vec<District>)))]
pub async fn list_districts(
    State(state): State<App>,
    actor: Actor,
) -> AppResult<Json<Vec<District>>> {
    Ok(Json(act::districts(&state, &actor).await?))
}

/// A prospect to add: at a station (the caller's own when absent).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewProspect {
    #[serde(default)]
    #[schema(example = "S1")]
    pub station: Option<String>,
    #[serde(flatten)]
    pub prospect: ProspectInput,
}

/// Adds a prospect, owned by the caller. Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/prospects", request_body = NewProspect, params(CreationKey),
    responses((status = 201, description = "The prospect", body = Prospect)))]
pub async fn add_prospect(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<NewProspect>,
) -> AppResult<Done<Prospect>> {
    let b = &req.body;
    act::add_prospect(
        &state,
        &actor,
        req.key.as_ref(),
        b.station.as_deref(),
        &b.prospect,
        crate::auth::policy::Action::WorkProspects,
    )
    .await
}

/// Notes a lead at the caller's own station: a customer the counter met
/// who might become one, added to the station's prospects (owned by the
/// caller) for its manager to develop. Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/prospects/leads", request_body = NewProspect, params(CreationKey),
    responses((status = 201, description = "The lead, as a prospect of the station", body = Prospect)))]
pub async fn note_lead(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<NewProspect>,
) -> AppResult<Done<Prospect>> {
    let b = &req.body;
    act::add_prospect(
        &state,
        &actor,
        req.key.as_ref(),
        b.station.as_deref(),
        &b.prospect,
        crate::auth::policy::Action::NoteLead,
    )
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProspectQuery {
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the whole network (HQ, admin).
    pub district: Option<String>,
    /// Only prospects at this stage.
    pub stage: Option<Stage>,
    /// Only those whose next step is past due.
    pub overdue: Option<bool>,
}

/// Prospects of a station or a district, the earliest next step first.
#[utoipa::path(get, path = "/api/v1/prospects", params(ProspectQuery),
    responses((status = 200, description = "The prospects", body = Vec<Prospect>)))]
pub async fn list_prospects(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ProspectQuery>,
) -> AppResult<Json<Vec<Prospect>>> {
    let list = act::list_prospects(
        &state,
        &actor,
        q.station.as_deref(),
        q.district.as_deref(),
        q.stage,
        q.overdue.unwrap_or(false),
    )
    .await?;
    Ok(Json(list))
}

/// A prospect with its visits.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProspectFile {
    #[serde(flatten)]
    pub prospect: Prospect,
    /// The development visits, the latest first.
    pub visits: Vec<Visit>,
}

/// One prospect and its visits.
#[utoipa::path(get, path = "/api/v1/prospects/{id}", params(("id" = i64, Path, description = "The prospect")),
    responses((status = 200, description = "The prospect", body = ProspectFile)))]
pub async fn get_prospect(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<ProspectFile>> {
    let (prospect, visits) = act::get_prospect(&state, &actor, id).await?;
    Ok(Json(ProspectFile { prospect, visits }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageChange {
    /// Where the prospect moves (winning is `/win`).
    pub stage: Stage,
    /// Why it was lost (required for `lost`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Moves a prospect along the pipeline.
#[utoipa::path(post, path = "/api/v1/prospects/{id}/stage", request_body = StageChange,
    params(("id" = i64, Path, description = "The prospect")),
    responses((status = 200, description = "The prospect", body = Prospect)))]
pub async fn prospect_stage(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<StageChange>,
) -> AppResult<Json<Prospect>> {
    let p = act::set_stage(&state, &actor, id, b.stage, b.reason.as_deref()).await?;
    Ok(Json(p))
}

/// Records a development visit. Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/prospects/{id}/visits", request_body = VisitInput,
    params(("id" = i64, Path, description = "The prospect"), CreationKey),
    responses((status = 201, description = "The visit", body = Visit)))]
pub async fn add_visit(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    req: CreateRequest<VisitInput>,
) -> AppResult<Done<Visit>> {
    act::add_visit(&state, &actor, req.key.as_ref(), id, &req.body).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Win {
    /// The customer the prospect became.
    pub customer_id: i64,
}

/// Wins a prospect: it becomes the customer, and that customer's cards
/// are credited to it.
#[utoipa::path(post, path = "/api/v1/prospects/{id}/win", request_body = Win,
    params(("id" = i64, Path, description = "The prospect")),
    responses((status = 200, description = "The prospect, won", body = Prospect)))]
pub async fn win_prospect(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<Win>,
) -> AppResult<Json<Prospect>> {
    Ok(Json(
        act::win_prospect(&state, &actor, id, b.customer_id).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The station the prospects belong to (the caller's own when absent).
    pub station: Option<String>,
}

/// Imports prospects from CSV. A file with any bad row is refused whole,
/// every bad row named by line.
#[utoipa::path(post, path = "/api/v1/prospects/import",
    request_body(content = String, content_type = "text/csv",
        description = "A header line `kind,name,address,vehicles,est_monthly_litres,current_supplier,current_discount,contact_name,contact_role,contact_phone,channel`, then one prospect a line"),
    params(ImportQuery),
    responses((status = 201, description = "How many prospects were imported", body = Imported)))]
pub async fn import_prospects(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<Imported>)> {
    let text = csv_text(&headers, body)?;
    let imported = act::import_prospects(&state, &actor, q.station.as_deref(), &text).await?;
    Ok((StatusCode::CREATED, Json(Imported { imported })))
}

/// Registers a batch of flyers handed out at a station, so its conversion
/// can be read. Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/acquisition/flyers", request_body = FlyerBatch, params(CreationKey),
    responses((status = 201, description = "The batch", body = serde_json::Value)))]
pub async fn add_flyers(
    State(state): State<App>,
    actor: Actor,
    req: CreateRequest<FlyerBatch>,
) -> AppResult<Done<serde_json::Value>> {
    act::add_flyers(&state, &actor, req.key.as_ref(), &req.body).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub targets: Vec<TargetInput>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TargetsSet {
    pub month: String,
    pub saved: usize,
}

/// Sets a month's targets: per station (HQ, or the station's district
/// manager) or per district (HQ). All lines or none.
#[utoipa::path(put, path = "/api/v1/targets/{month}", request_body = Targets,
    params(("month" = MonthText, Path, description = "YYYY-MM")),
    responses((status = 200, description = "The targets were set", body = TargetsSet)))]
pub async fn put_targets(
    State(state): State<App>,
    actor: Actor,
    ApiPath(month): ApiPath<String>,
    ApiJson(b): ApiJson<Targets>,
) -> AppResult<Json<TargetsSet>> {
    let saved = act::put_targets(&state, &actor, &month, &b.targets).await?;
    Ok(Json(TargetsSet { month, saved }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoveringQuery {
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the whole network (HQ, admin).
    pub district: Option<String>,
}

/// The tracking table (目标完成情况追踪表): per district and station, each
/// target, actual and completion.
#[utoipa::path(get, path = "/api/v1/targets/{month}",
    params(("month" = MonthText, Path, description = "YYYY-MM"), CoveringQuery),
    responses((status = 200, description = "The tracking table", body = Tracking)))]
pub async fn get_targets(
    State(state): State<App>,
    actor: Actor,
    ApiPath(month): ApiPath<String>,
    ApiQuery(q): ApiQuery<CoveringQuery>,
) -> AppResult<Json<Tracking>> {
    let t = act::tracking(
        &state,
        &actor,
        &month,
        q.station.as_deref(),
        q.district.as_deref(),
    )
    .await?;
    Ok(Json(t))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelsQuery {
    #[param(value_type = MonthText)]
    pub month: String,
    /// A station's code…
    pub station: Option<String>,
    /// …or a district's; neither: the whole network (HQ, admin).
    pub district: Option<String>,
}

/// Conversion per channel in a month, and per flyer batch over its life.
#[utoipa::path(get, path = "/api/v1/acquisition/channels", params(ChannelsQuery),
    responses((status = 200, description = "The conversion", body = Conversion)))]
pub async fn acquisition_channels(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ChannelsQuery>,
) -> AppResult<Json<Conversion>> {
    let c = act::conversion(
        &state,
        &actor,
        &q.month,
        q.station.as_deref(),
        q.district.as_deref(),
    )
    .await?;
    Ok(Json(c))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// `YYYY-MM`, `YYYY-Www` or `YYYY-Qn`.
    #[param(
        pattern = r"^[0-9]{4}-([0-9]{2}|W[0-9]{2}|Q[1-4])$",
        example = "2026-11"
    )]
    pub period: String,
    /// Stations (default) or staff.
    pub by: Option<RankBy>,
}

/// The leaderboard (客户开发英雄榜) of stations or staff over a period,
/// with the ranking rule.
#[utoipa::path(get, path = "/api/v1/leaderboard", params(LeaderboardQuery),
    responses((status = 200, description = "The board", body = Leaderboard)))]
pub async fn leaderboard(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<LeaderboardQuery>,
) -> AppResult<Json<Leaderboard>> {
    let by = q.by.unwrap_or(RankBy::Station);
    Ok(Json(act::leaderboard(&state, &actor, &q.period, by).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WinsQuery {
    /// Wins since this instant (RFC 3339); the last 30 days when absent.
    #[param(format = DateTime)]
    pub since: Option<String>,
}

/// The wins feed: each new company customer and each first recharge of
/// 1000 yuan or more, the latest first.
#[utoipa::path(get, path = "/api/v1/wins", params(WinsQuery),
    responses((status = 200, description = "The wins", body = Vec<Announcement>)))]
pub async fn wins(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<WinsQuery>,
) -> AppResult<Json<Vec<Announcement>>> {
    Ok(Json(act::wins(&state, &actor, q.since.as_deref()).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeeklyQuery {
    /// The district's code.
    pub district: String,
    /// `YYYY-Www`; the latest week drafted when absent.
    #[param(pattern = r"^[0-9]{4}-W[0-9]{2}$", example = "2026-W48")]
    pub week: Option<String>,
}

/// A district's weekly report: drafted by the service every Sunday, its
/// figures live until submitted.
#[utoipa::path(get, path = "/api/v1/reports/weekly", params(WeeklyQuery),
    responses((status = 200, description = "The report", body = WeeklyReport)))]
pub async fn weekly_report(
    State(state): State<App>,
    actor: Actor,
    ApiQuery(q): ApiQuery<WeeklyQuery>,
) -> AppResult<Json<WeeklyReport>> {
    let r = act::weekly_report(&state, &actor, &q.district, q.week.as_deref()).await?;
    Ok(Json(r))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The district manager's notes (up to 2000 characters).
    #[serde(default)]
    pub notes: String,
}

/// Submits a weekly report with notes: its figures are kept as they stand
/// and it is frozen.
#[utoipa::path(post, path = "/api/v1/reports/weekly/{id}/submission", request_body = Submission,
    params(("id" = i64, Path, description = "The report")),
    responses((status = 200, description = "The submitted report", body = WeeklyReport)))]
pub async fn submit_weekly_report(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<Submission>,
) -> AppResult<Json<WeeklyReport>> {
    Ok(Json(
        act::submit_weekly(&state, &actor, id, &b.notes).await?,
    ))
}

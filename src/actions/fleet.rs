//! A company's decisions on its fleet, and what the fleet office reads:
//! one function each, shared by the API, the fleet office's pages and the
//! console.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::run::{At, once_at};
use super::{App, Done, Keyed, create, idempotent, once};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::cards::customers::{self, CustomerKind};
use crate::csv_io::{RowError, rejected};
use crate::db::{Conn, Db};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::allocation::{self, Approved, Plan};
use crate::fleet::limits::Control;
use crate::fleet::policy::Policy;
use crate::fleet::vehicles::{self, Vehicle, VehicleInput};
use crate::fleet::{csv_io, requests, review, usage};
use crate::money::Money;

/// Drafts a company's allocation plan for a month (drafting twice returns
/// the same plan). On the database and instant given, so the console's
/// `fuelcard allocate` drafts through the same policy as the API.
pub async fn draft_plan(db: &Db, at: At<'_>, company: i64, month: &str) -> AppResult<Plan> {
    authorize(at.actor, Action::DecideFleet, &Target::company(company))?;
    allocation::parse_month(month)?;
    once_at(db, at, |conn, at| {
        Box::pin(async move {
            let plan = allocation::draft(conn, company, month, at.now).await?;
            at.audit(
                conn,
                "allocation_draft",
                month,
                serde_json::json!({"company": company}),
            )
            .await?;
            Ok(plan)
        })
    })
    .await
}

/// An anomaly of the monthly review, acknowledged with a justification.
pub struct Acknowledgement {
    /// The refuel the anomaly is about (a sale or a cash refuel id).
    pub sale_id: i64,
    /// The anomaly kind, as the review names it.
    pub kind: String,
    pub justification: String,
}

/// The company's fleet manager acknowledges an anomaly: it stays on the
/// review, marked with who accepted it and why.
pub async fn acknowledge(
    app: &App,
    actor: &Actor,
    company: i64,
    ack: &Acknowledgement,
) -> AppResult<()> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    let kind = review::AnomalyKind::parse(&ack.kind)
        .ok_or_else(|| AppError::invalid("kind", format!("unknown anomaly kind {:?}", ack.kind)))?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let justification = &ack.justification;
            review::acknowledge(
                conn,
                company,
                ack.sale_id,
                kind,
                justification,
                at.actor.user_id,
                at.now,
            )
            .await?;
            at.audit(
                conn,
                "anomaly_ack",
                &ack.sale_id.to_string(),
                serde_json::json!({"kind": kind, "justification": justification}),
            )
            .await
        })
    })
    .await
}

/// The company a fleet action is about must be a company.
async fn company_of(conn: &mut Conn, company: i64) -> AppResult<()> {
    let c = customers::get(conn, company).await?;
    if c.kind != CustomerKind::Company {
        return Err(AppError::new(
            Code::ValidationFailed,
            format!("customer {company} is not a company"),
        ));
    }
    Ok(())
}

/// An amount of yuan typed into a request, zero allowed.
fn amount_or_zero(field: &str, text: &str) -> AppResult<Money> {
    Money::parse(text).map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field} {text:?}: {e}")).with("field", field)
    })
}

/// A positive amount of yuan typed into a request.
fn amount(field: &str, text: &str) -> AppResult<Money> {
    Money::parse_positive(text).map_err(|e| {
        AppError::new(Code::InvalidAmount, format!("{field} {text:?}: {e}")).with("field", field)
    })
}

/// Registers a vehicle of a company's fleet (under the request's key when
/// it sent one).
pub async fn add_vehicle(
    app: &App,
    actor: &Actor,
    company: i64,
    key: Option<&Keyed>,
    input: &VehicleInput,
) -> AppResult<Done<Vehicle>> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    let new = &input.validate()?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            company_of(conn, company).await?;
            let v = vehicles::create(conn, company, new, at.now).await?;
            at.audit(
                conn,
                "vehicle_add",
                &v.plate,
                serde_json::json!({"company": company}),
            )
            .await?;
            Ok(v)
        })
    })
    .await
}

/// The company's vehicles, by plate.
pub async fn vehicles(app: &App, actor: &Actor, company: i64) -> AppResult<Vec<Vehicle>> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let mut conn = app.db.pool().acquire().await?;
    company_of(&mut conn, company).await?;
    vehicles::list(&mut conn, company).await
}

/// One vehicle of the company, by plate.
pub async fn vehicle(app: &App, actor: &Actor, company: i64, plate: &str) -> AppResult<Vehicle> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let mut conn = app.db.pool().acquire().await?;
    vehicles::by_plate(&mut conn, company, plate).await
}

/// Imports vehicles from CSV (the export's format): a file with any bad
/// row is refused whole, every bad row named by line. Answers how many
/// were imported.
pub async fn import_vehicles(
    app: &App,
    actor: &Actor,
    company: i64,
    text: &str,
) -> AppResult<usize> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    let rows = csv_io::parse(text).map_err(rejected)?;
    let rows = &rows;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            company_of(conn, company).await?;
            for (i, v) in rows.iter().enumerate() {
                vehicles::create(conn, company, v, at.now)
                    .await
                    .map_err(|e| {
                        rejected(vec![RowError {
                            line: u64::try_from(i).unwrap_or(0) + 2,
                            reason: e.message,
                        }])
                    })?;
            }
            at.audit(
                conn,
                "vehicle_import",
                &company.to_string(),
                serde_json::json!({"rows": rows.len()}),
            )
            .await
        })
    })
    .await?;
    Ok(rows.len())
}

/// The company's vehicles as CSV (the import's format).
pub async fn export_vehicles(app: &App, actor: &Actor, company: i64) -> AppResult<String> {
    let list = vehicles(app, actor, company).await?;
    csv_io::export(&list)
}

/// A manager's one-off override as a request gives it.
#[derive(Debug, Clone)]
pub struct OverrideRequest {
    /// The control the next sale may pass (its code).
    pub control: String,
    pub reason: String,
    /// How long the override waits to be used (default 24 h, at most 72 h).
    pub valid_hours: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideGranted {
    pub id: i64,
    pub plate: String,
    pub control: Control,
}

/// A manager's one-off override: the vehicle's next sale may pass one
/// control.
pub async fn grant_override(
    app: &App,
    actor: &Actor,
    company: i64,
    plate: &str,
    req: &OverrideRequest,
) -> AppResult<OverrideGranted> {
    authorize(actor, Action::GrantOverride, &Target::company(company))?;
    let control = Control::parse(&req.control).ok_or_else(|| {
        AppError::invalid("control", format!("unknown control {:?}", req.control))
    })?;
    let hours = req.valid_hours.unwrap_or(24);
    if !(1..=72).contains(&hours) {
        return Err(AppError::invalid("valid_hours", "valid_hours: 1 to 72"));
    }
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let reason = &req.reason;
            let v = vehicles::by_plate(conn, company, plate).await?;
            let id =
                usage::grant_override(conn, v.id, control, reason, at.actor.user_id, hours, at.now)
                    .await?;
            at.audit(
                conn,
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
    .await
}

/// Saves the company's allocation policy.
pub async fn save_policy(app: &App, actor: &Actor, company: i64, policy: &Policy) -> AppResult<()> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    policy.validate()?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            company_of(conn, company).await?;
            allocation::save_policy(conn, company, policy, at.actor.user_id, at.now).await?;
            at.audit(
                conn,
                "saved_save",
                &company.to_string(),
                serde_json::json!({}),
            )
            .await
        })
    })
    .await
}

/// The company's allocation policy.
pub async fn policy(app: &App, actor: &Actor, company: i64) -> AppResult<Policy> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let mut conn = app.db.pool().acquire().await?;
    allocation::load_policy(&mut conn, company).await
}

/// A month's allocation plan.
pub async fn plan(app: &App, actor: &Actor, company: i64, month: &str) -> AppResult<Plan> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    allocation::parse_month(month)?;
    let mut conn = app.db.pool().acquire().await?;
    allocation::get(&mut conn, company, month).await
}

/// The fleet manager edits one line of a draft plan.
pub async fn edit_line(
    app: &App,
    actor: &Actor,
    company: i64,
    month: &str,
    plate: &str,
    amount_text: &str,
    reason: &str,
) -> AppResult<Plan> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    let amount = amount_or_zero("amount", amount_text)?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let plan = allocation::edit_line(conn, company, month, plate, amount, reason).await?;
            at.audit(
                conn,
                "allocation_edit",
                plate,
                serde_json::json!({"month": month, "amount": amount}),
            )
            .await?;
            Ok(plan)
        })
    })
    .await
}

/// Approves and funds a plan, once, under the request's key.
pub async fn approve_plan(
    app: &App,
    actor: &Actor,
    company: i64,
    month: &str,
    key: &Keyed,
) -> AppResult<Done<Approved>> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    allocation::parse_month(month)?;
    idempotent(app, actor, key, StatusCode::OK, |conn, at| {
        Box::pin(async move { allocation::approve(conn, at.actor, company, month, at.now).await })
    })
    .await
}

/// The month's fuel review with the thresholds given.
pub async fn review(
    app: &App,
    actor: &Actor,
    company: i64,
    month: &str,
    thresholds: &review::Thresholds,
) -> AppResult<review::Review> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    allocation::parse_month(month)?;
    let mut conn = app.db.pool().acquire().await?;
    company_of(&mut conn, company).await?;
    review::monthly(
        &mut conn,
        company,
        month,
        app.settings.time_zone,
        thresholds,
    )
    .await
}

/// An early top-up as a request gives it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    #[schema(max_length = 16, example = "浙A12345")]
    pub plate: String,
    #[schema(value_type = crate::http::openapi::AmountText)]
    pub amount: String,
    pub reason: String,
}

/// Asks for an early top-up of a vehicle running low.
pub async fn request_topup(
    app: &App,
    actor: &Actor,
    company: i64,
    key: Option<&Keyed>,
    req: &TopUpRequest,
) -> AppResult<Done<requests::TopUp>> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    let amount = amount("amount", &req.amount)?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let (plate, reason) = (&req.plate, &req.reason);
            let t = requests::request_topup(conn, at.actor, company, plate, amount, reason, at.now)
                .await?;
            at.audit(
                conn,
                "topup_request",
                &t.plate,
                serde_json::json!({"id": t.id, "amount": amount}),
            )
            .await?;
            Ok(t)
        })
    })
    .await
}

/// Approves (funds, once) or rejects an early top-up, under the request's
/// key.
pub async fn decide_topup(
    app: &App,
    actor: &Actor,
    company: i64,
    id: i64,
    approve: bool,
    key: &Keyed,
) -> AppResult<Done<requests::TopUp>> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    let tz = app.settings.time_zone;
    idempotent(app, actor, key, StatusCode::OK, |conn, at| {
        Box::pin(async move {
            let t =
                requests::decide_topup(conn, at.actor, company, id, approve, tz, at.now).await?;
            at.audit(
                conn,
                "topup_decision",
                &t.plate,
                serde_json::json!({"id": id, "status": t.status}),
            )
            .await?;
            Ok(t)
        })
    })
    .await
}

/// The company's early top-up requests, newest first.
pub async fn topups(app: &App, actor: &Actor, company: i64) -> AppResult<Vec<requests::TopUp>> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let mut conn = app.db.pool().acquire().await?;
    requests::topups(&mut conn, company).await
}

/// Asks to lend a vehicle's card for a long trip (借用登记).
pub async fn request_loan(
    app: &App,
    actor: &Actor,
    company: i64,
    key: Option<&Keyed>,
    req: &requests::LoanRequest,
) -> AppResult<Done<requests::Loan>> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let l = requests::request_loan(conn, at.actor, company, req, at.now).await?;
            at.audit(
                conn,
                "loan_request",
                &l.plate,
                serde_json::json!({"id": l.id}),
            )
            .await?;
            Ok(l)
        })
    })
    .await
}

/// A card loan with the refuels tagged to the trip.
pub async fn loan(app: &App, actor: &Actor, company: i64, id: i64) -> AppResult<requests::Loan> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let mut conn = app.db.pool().acquire().await?;
    requests::loan(&mut conn, company, id).await
}

/// The company's card loans, newest first.
pub async fn loans(app: &App, actor: &Actor, company: i64) -> AppResult<Vec<requests::Loan>> {
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let mut conn = app.db.pool().acquire().await?;
    requests::loans(&mut conn, company).await
}

/// A loan's step by the name its path gives it (`approval`, `rejection`,
/// `handout`, `return`); another name is no route.
pub fn loan_step_named(name: &str) -> AppResult<requests::LoanStep> {
    Ok(match name {
        "approval" => requests::LoanStep::Approve,
        "rejection" => requests::LoanStep::Reject,
        "handout" => requests::LoanStep::HandOut,
        "return" => requests::LoanStep::Return,
        _ => return Err(AppError::new(Code::NotFound, "no such route")),
    })
}

/// A loan's next step: approval, rejection, handout, return.
pub async fn loan_step(
    app: &App,
    actor: &Actor,
    company: i64,
    id: i64,
    step: requests::LoanStep,
) -> AppResult<requests::Loan> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let l = requests::loan_step(conn, at.actor, company, id, step, at.now).await?;
            at.audit(
                conn,
                "loan_step",
                &l.plate,
                serde_json::json!({"id": id, "status": l.status}),
            )
            .await?;
            Ok(l)
        })
    })
    .await
}

/// Records a cash refuel made by exception (the manager is its approver);
/// answers its id.
pub async fn record_cash(
    app: &App,
    actor: &Actor,
    company: i64,
    req: &requests::CashRefuelRequest,
) -> AppResult<i64> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let id = requests::record_cash(conn, at.actor, company, req, at.now).await?;
            at.audit(
                conn,
                "cash_refuel",
                &req.plate,
                serde_json::json!({"id": id, "reason": req.reason}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// Changes a vehicle's description and limits (its plate stays).
pub async fn update_vehicle(
    app: &App,
    actor: &Actor,
    company: i64,
    plate: &str,
    input: &VehicleInput,
) -> AppResult<Vehicle> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    let new = &input.validate()?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let v = vehicles::update(conn, company, plate, new).await?;
            at.audit(
                conn,
                "vehicle_update",
                &v.plate,
                serde_json::json!({"company": company}),
            )
            .await?;
            Ok(v)
        })
    })
    .await
}

/// Retires a vehicle, once: out of the next plans, its card refused at the
/// pump.
pub async fn retire_vehicle(
    app: &App,
    actor: &Actor,
    company: i64,
    plate: &str,
) -> AppResult<Vehicle> {
    authorize(actor, Action::DecideFleet, &Target::company(company))?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let v = vehicles::retire(conn, company, plate).await?;
            at.audit(
                conn,
                "vehicle_retire",
                &v.plate,
                serde_json::json!({"company": company}),
            )
            .await?;
            Ok(v)
        })
    })
    .await
}

/// What the fleet manager's review page shows of a month: the review, the
/// vehicles, each vehicle's litres over `months`, the products (code,
/// stored name) and, beside each anomaly, the refuel it names when its
/// description needs one (none for a cash refuel or a consumption far
/// from the baseline).
pub struct ReviewSheet {
    pub review: review::Review,
    pub fleet: Vec<Vehicle>,
    pub trend: std::collections::BTreeMap<(i64, String), crate::money::Litres>,
    pub products: Vec<(String, String)>,
    pub refuels: Vec<Option<crate::cards::sale::SaleReceipt>>,
}

/// The month's fuel review as the review page shows it
/// ([`ReviewSheet`]), at the default thresholds.
pub async fn review_sheet(
    app: &App,
    actor: &Actor,
    company: i64,
    month: &str,
    months: &[String],
) -> AppResult<ReviewSheet> {
    use review::AnomalyKind as K;
    authorize(actor, Action::ReadFleet, &Target::company(company))?;
    let tz = app.settings.time_zone;
    let mut conn = app.db.pool().acquire().await?;
    let r = review::monthly(
        &mut conn,
        company,
        month,
        tz,
        &review::Thresholds::default(),
    )
    .await?;
    let fleet = vehicles::list(&mut conn, company).await?;
    let trend = usage::monthly_litres(&mut conn, company, months).await?;
    let products = crate::cards::products::list(&mut conn, app.now())
        .await?
        .into_iter()
        .map(|(p, _)| (p.code, p.name))
        .collect();
    let mut refuels = Vec::with_capacity(r.anomalies.len());
    for a in &r.anomalies {
        refuels.push(match a.kind {
            K::CashRefuel | K::ConsumptionFarFromBaseline => None,
            _ => Some(crate::cards::sale::receipt(&mut conn, a.sale_id).await?),
        });
    }
    Ok(ReviewSheet {
        review: r,
        fleet,
        trend,
        products,
        refuels,
    })
}

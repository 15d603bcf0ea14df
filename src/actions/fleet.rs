//! A company's decisions on its fleet that the pages or the console make
//! too.

use super::run::{At, once_at};
use super::{App, once};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::db::Db;
use crate::error::{AppError, AppResult, Code};
use crate::fleet::allocation::{self, Plan};
use crate::fleet::review;

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
    let kind = review::AnomalyKind::parse(&ack.kind).ok_or_else(|| {
        AppError::new(
            Code::ValidationFailed,
            format!("unknown anomaly kind {:?}", ack.kind),
        )
        .with("field", "kind")
    })?;
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

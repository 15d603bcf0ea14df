//! A company's decisions on its fleet that the pages make too.

use super::{App, once};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::review;

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
            crate::audit::record(
                conn,
                at.now,
                Some(at.actor.user_id),
                "anomaly_ack",
                &ack.sale_id.to_string(),
                serde_json::json!({"kind": kind, "justification": justification}),
            )
            .await
        })
    })
    .await
}

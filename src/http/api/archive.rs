//! The customer archive over the API: contacts, consents and notes, the
//! timeline of everything the customer did, and the merging of two records
//! of the same customer. Each handler parses and hands over to
//! [`crate::actions::crm`].

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::super::extract::{ApiJson, CreateRequest};
use super::{ApiPath, ApiQuery, CreationKey};
use crate::actions::crm as act;
use crate::actions::{App, Done};
use crate::auth::Actor;
use crate::crm::archive::{Archive, ArchiveChange, Contact, ContactInput, Entry};
use crate::error::{AppError, AppResult};
use crate::http::openapi::TimeText;

/// Adds a contact (a decision maker, a driver, a family member) to a
/// customer. Takes an Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", request_body = ContactInput,
    params(("id" = i64, Path, description = "The customer"), CreationKey),
    responses((status = 201, description = "The contact (its phone masked for a role that may not read personal data)", body = Contact)))]
pub async fn add_contact(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    req: CreateRequest<ContactInput>,
) -> AppResult<Done<Contact>> {
    act::add_contact(&state, &actor, req.key.as_ref(), id, &req.body).await
}

/// Sets a customer's consents, preferred station, notes or registration
/// number: each member given replaces what is kept, the others stay.
/// Consent to share with partners is the customer's own act (PIPL art. 23):
/// giving it needs `consent_evidence` — the PIN of one of the customer's own
/// cards (tried and counted as a sale's) or their ID document checked
/// against the record — and is refused `consent_evidence_required` (403),
/// changing nothing, without it. Withdrawing it is taken on the customer's
/// word and takes them off every partner's list at once. Each change is
/// recorded (the timeline's `consent_given` / `consent_withdrawn`) and
/// audited.
#[utoipa::path(patch, path = "/api/v1/customers/{id}/archive", request_body = ArchiveChange,
    params(("id" = i64, Path, description = "The customer")),
    responses((status = 200, description = "The customer's archive, changed", body = Archive)))]
pub async fn change_archive(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<ArchiveChange>,
) -> AppResult<Json<Archive>> {
    Ok(Json(
        act::change_archive(&state, &actor, id, &change).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Only what happened before this time: the last entry's `at`, for
    /// the next page.
    #[param(value_type = Option<TimeText>)]
    pub before: Option<String>,
}

/// A customer's archive and timeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub customer: Archive,
    /// Newest first, at most 500.
    pub entries: Vec<Entry>,
}

/// A customer's timeline: cards opened, lost, replaced and closed,
/// recharges, fuel by calendar month, complaints, partners' benefits,
/// visits before the customer was won, level changes, the calls and visits
/// of their care (`care_call`, `care_visit`); with the customer's
/// archive (personal data masked for a role that may not read it).
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline",
    params(("id" = i64, Path, description = "The customer"), TimelineQuery),
    responses((status = 200, description = "The archive and the timeline", body = Timeline)))]
pub async fn customer_timeline(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<TimelineQuery>,
) -> AppResult<Json<Timeline>> {
    let before = match q.before.as_deref() {
        Some(t) => Some(
            crate::time::parse_rfc3339(t)
                .ok_or_else(|| AppError::invalid("before", "before: an RFC 3339 time"))?,
        ),
        None => None,
    };
    let (customer, entries) = act::customer_timeline(&state, &actor, id, before).await?;
    Ok(Json(Timeline { customer, entries }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The other record of the same customer: merged into this one.
    pub other_id: i64,
}

/// Merges another record of the same customer (the same phone, or the same
/// registration number) into this one: its cards, contacts, complaints,
/// benefits and prospect move here; it is kept for its history and no
/// longer found. A repeat answers the same.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", request_body = MergeBody,
    params(("id" = i64, Path, description = "The record that stays")),
    responses((status = 200, description = "The archive of the record that stays", body = Archive)))]
pub async fn merge_customers(
    State(state): State<App>,
    actor: Actor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<MergeBody>,
) -> AppResult<Json<Archive>> {
    Ok(Json(
        act::merge_customers(&state, &actor, id, b.other_id).await?,
    ))
}

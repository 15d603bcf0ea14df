//! Customer relationship as staff work it: complaints recorded at a
//! station's counter and taken to closure by its manager, and the calls to
//! the customers who stopped coming. Each action asks the policy with the
//! station the business belongs to, read inside the transaction. Customer
//! care: the calls and visits logged for any customer of a station, its
//! plan of visits and the birthdays coming ([`crate::crm::care`]).

use super::acquisition::{covering, month_of, of_station, station_named};
use super::counter;
use super::{App, Done, Keyed, create, once};
use crate::acquisition::targets::Covering;
use crate::auth::Actor;
use crate::auth::policy::{Action, Scope, Target, authorize, authorize_role, rule_of};
use crate::cards::customers::{ConsentBy, Evidence};
use crate::cards::{self, Reach};
use crate::crm::complaints::{self, Complaint, ComplaintInput, Filter, MonthCount, Step};
use crate::crm::grading::{self, Callback, Outcome};
use crate::db::Conn;
use crate::error::AppResult;
use crate::error::{AppError, Code};
use crate::lifecycle::ComplaintStatus;

/// A complaint read for an action, with the policy asked about its station.
async fn complaint_for(
    conn: &mut Conn,
    app: &App,
    actor: &Actor,
    action: Action,
    id: i64,
    now: i64,
) -> AppResult<Complaint> {
    let c = complaints::get(conn, id, now, &app.settings.complaints).await?;
    authorize(actor, action, &Target::station(c.station_id, &c.district))?;
    Ok(c)
}

/// Records a complaint at a station (the caller's own unless named).
pub async fn add_complaint(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    input: &ComplaintInput,
) -> AppResult<Done<Complaint>> {
    let text = complaints::validate_text("text", &input.text)?;
    let text = &text;
    let limits = &app.settings.complaints;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let s = station_named(conn, at.actor, input.station.as_deref()).await?;
            authorize(at.actor, Action::RecordComplaint, &of_station(&s))?;
            let id = complaints::create(conn, s.id, at.actor.user_id, input, text, at.now).await?;
            at.audit(
                conn,
                "complaint_add",
                &id.to_string(),
                serde_json::json!({ "station": s.code, "category": input.category }),
            )
            .await?;
            complaints::get(conn, id, at.now, limits).await
        })
    })
    .await
}

/// What a listing covers: the station or district named, else the
/// caller's own station or district, else (HQ, admin) the network.
async fn scope_for<'a>(
    conn: &mut Conn,
    actor: &'a Actor,
    action: Action,
    station: Option<&str>,
    district: Option<&'a str>,
) -> AppResult<Covering<'a>> {
    let (station, district) = match (station, district) {
        (None, None) if actor.station_id.is_some() => {
            let own = station_named(conn, actor, None).await?;
            authorize(actor, action, &of_station(&own))?;
            return Ok(Covering::Station(own.id));
        }
        (None, None) => (None, actor.district.as_deref()),
        named => named,
    };
    covering(conn, actor, action, station, district).await
}

fn filter_of(covering: Covering<'_>) -> Filter<'_> {
    match covering {
        Covering::Station(id) => Filter {
            station: Some(id),
            ..Filter::default()
        },
        Covering::District(d) => Filter {
            district: Some(d),
            ..Filter::default()
        },
        Covering::All => Filter::default(),
    }
}

/// The complaints a caller may see that the filter picks.
pub async fn list_complaints(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
    district: Option<&str>,
    status: Option<ComplaintStatus>,
    overdue: bool,
) -> AppResult<Vec<Complaint>> {
    let mut conn = app.db.pool().acquire().await?;
    let covering = scope_for(&mut conn, actor, Action::ReadComplaints, station, district).await?;
    let filter = Filter {
        status,
        overdue,
        ..filter_of(covering)
    };
    complaints::list(&mut conn, &filter, app.now(), &app.settings.complaints).await
}

/// One complaint.
pub async fn get_complaint(app: &App, actor: &Actor, id: i64) -> AppResult<Complaint> {
    let mut conn = app.db.pool().acquire().await?;
    complaint_for(&mut conn, app, actor, Action::ReadComplaints, id, app.now()).await
}

/// One move of a complaint as a request asks for it.
pub enum Move {
    /// To a member of staff, by username.
    Assign(String),
    Answer(String),
    FollowUp {
        satisfied: bool,
        notes: Option<String>,
    },
    Close,
}

impl Move {
    fn name(&self) -> &'static str {
        match self {
            Move::Assign(_) => "complaint_assign",
            Move::Answer(_) => "complaint_answer",
            Move::FollowUp { .. } => "complaint_follow_up",
            Move::Close => "complaint_close",
        }
    }
}

/// Moves a complaint on one stage, checked and audited, its row locked
/// first so that the move is decided on its status now. A follow-up's
/// audit keeps the answer it judged and what the customer said: a
/// reopened complaint's next answer replaces them on the complaint.
pub async fn move_complaint(app: &App, actor: &Actor, id: i64, m: Move) -> AppResult<Complaint> {
    let m = match m {
        Move::Answer(text) => Move::Answer(complaints::answer_text(&text)?),
        Move::FollowUp { satisfied, notes } => Move::FollowUp {
            satisfied,
            notes: complaints::notes(notes.as_deref())?,
        },
        other => other,
    };
    let m = &m;
    let limits = &app.settings.complaints;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            complaints::lock(conn, id).await?;
            let c = complaint_for(conn, app, at.actor, Action::WorkComplaints, id, at.now).await?;
            let step = match m {
                Move::Assign(username) => Step::Assign {
                    to: complaints::assignee(conn, &c, username).await?,
                },
                Move::Answer(text) => Step::Answer {
                    text,
                    by: at.actor.user_id,
                },
                Move::FollowUp { satisfied, notes } => Step::FollowUp {
                    satisfied: *satisfied,
                    notes: notes.as_deref(),
                },
                Move::Close => Step::Close,
            };
            complaints::step(conn, &c, &step, at.now).await?;
            let moved = complaints::get(conn, id, at.now, limits).await?;
            let mut detail = serde_json::json!({ "from": c.status, "to": moved.status, "assignee": moved.assignee });
            if let Move::FollowUp { satisfied, notes } = m {
                detail["satisfied"] = (*satisfied).into();
                detail["answer"] = c.answer.clone().into();
                detail["notes"] = notes.clone().into();
                detail["reopened"] = moved.reopened.into();
            }
            at.audit(conn, m.name(), &id.to_string(), detail).await?;
            Ok(moved)
        })
    })
    .await
}

/// A month's complaints by station and category.
pub async fn month_counts(
    app: &App,
    actor: &Actor,
    month: &str,
    station: Option<&str>,
    district: Option<&str>,
) -> AppResult<(String, Vec<MonthCount>)> {
    let (label, span) = month_of(app, month)?;
    let mut conn = app.db.pool().acquire().await?;
    let covering = scope_for(&mut conn, actor, Action::ReadComplaints, station, district).await?;
    let counts = complaints::month_counts(
        &mut conn,
        &filter_of(covering),
        span.from,
        span.to,
        app.now(),
        &app.settings.complaints,
    )
    .await?;
    Ok((label, counts))
}

/// A customer's archive with their level and lifecycle stage at `now`, as
/// `actor` may see it.
async fn archive_shown(
    conn: &mut Conn,
    app: &App,
    actor: &Actor,
    id: i64,
    now: i64,
) -> AppResult<Archive> {
    Ok(archive::read(conn, id)
        .await?
        .with_standing(conn, now, &app.settings.grading)
        .await?
        .shown_to(actor))
}

/// Asks the policy about customer `id` by the one scope rule of cards and
/// customers ([`cards::target`]): a district manager reaches the customers
/// whose cards were opened or used in their district. A customer out of a
/// district manager's reach is "not found" to them, as such a card is, so
/// that customer ids cannot be probed.
async fn customer_in_scope(
    conn: &mut Conn,
    actor: &Actor,
    action: Action,
    id: i64,
) -> AppResult<()> {
    authorize_role(actor, action)?;
    let target = cards::target(conn, actor, action, Reach::Customer(id), Some(id)).await?;
    match authorize(actor, action, &target) {
        Err(_) if rule_of(action).scope(actor.role) == Scope::District => Err(AppError::new(
            Code::CustomerNotFound,
            format!("no customer {id}"),
        )),
        other => other,
    }
}

/// A customer's archive with their level and lifecycle stage, for those
/// who may read their personal data (the counter reads a customer through
/// the timeline, masked).
pub async fn customer_archive(app: &App, actor: &Actor, id: i64) -> AppResult<Archive> {
    let mut conn = app.db.pool().acquire().await?;
    customer_in_scope(&mut conn, actor, Action::ReadPersonalData, id).await?;
    archive_shown(&mut conn, app, actor, id, app.now()).await
}

/// A customer's archive for whoever may edit it (the counter that meets
/// them, head office), shown as they may see it: masked where they may not
/// read personal data.
pub async fn archive_to_edit(app: &App, actor: &Actor, id: i64) -> AppResult<Archive> {
    let mut conn = app.db.pool().acquire().await?;
    customer_in_scope(&mut conn, actor, Action::EditCustomerArchive, id).await?;
    archive_shown(&mut conn, app, actor, id, app.now()).await
}

/// The call-back entries shown to `actor`: phones masked unless the policy
/// lets them read personal data.
fn shown(actor: &Actor, mut c: Callback) -> Callback {
    c.phone = crate::cards::customers::shown_to(actor, c.customer_id, c.phone);
    c
}

/// The dormant customers of a station or district (the caller's own when
/// neither is named; HQ, admin: the network), the longest quiet first.
pub async fn callbacks(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
    district: Option<&str>,
) -> AppResult<Vec<Callback>> {
    let mut conn = app.db.pool().acquire().await?;
    let covering = scope_for(&mut conn, actor, Action::ReadCallbacks, station, district).await?;
    let (station, district) = match covering {
        Covering::Station(id) => (Some(id), None),
        Covering::District(d) => (None, Some(d)),
        Covering::All => (None, None),
    };
    let list = grading::callbacks(
        &mut conn,
        station,
        district,
        app.now(),
        &app.settings.grading,
    )
    .await?;
    Ok(list.into_iter().map(|c| shown(actor, c)).collect())
}

/// Records a call to a dormant customer of a station the caller works for,
/// and answers their call-back entry with it.
pub async fn record_call(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    customer: i64,
    outcome: Outcome,
    notes: Option<&str>,
) -> AppResult<Done<Callback>> {
    let notes = complaints::notes(notes)?;
    let notes = &notes;
    let rules = &app.settings.grading;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let entry = grading::callback_of(conn, customer, at.now, rules).await?;
            let station = crate::stations::get(conn, entry.station_id).await?;
            authorize(at.actor, Action::CallCustomers, &of_station(&station))?;
            grading::record_call(
                conn,
                &entry,
                at.actor.user_id,
                outcome,
                notes.as_deref(),
                at.now,
            )
            .await?;
            at.audit(
                conn,
                "callback_call",
                &customer.to_string(),
                serde_json::json!({ "station": station.code, "outcome": outcome }),
            )
            .await?;
            Ok(shown(
                at.actor,
                grading::callback_of(conn, customer, at.now, rules).await?,
            ))
        })
    })
    .await
}

use crate::crm::archive::{self, Archive, ArchiveChange, Contact, ContactInput, Entry};

/// Adds a contact to a customer's archive, audited.
pub async fn add_contact(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    customer_id: i64,
    input: &ContactInput,
) -> AppResult<Done<Contact>> {
    {
        let mut conn = app.db.pool().acquire().await?;
        customer_in_scope(&mut conn, actor, Action::EditCustomerArchive, customer_id).await?;
    }
    let contact = &input.validate()?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let c =
                archive::add_contact(conn, customer_id, contact, at.actor.user_id, at.now).await?;
            at.audit(
                conn,
                "customer_contact_add",
                &customer_id.to_string(),
                serde_json::json!({ "contact": c.id, "decision_maker": c.decision_maker }),
            )
            .await?;
            Ok(archive::contact_shown_to(c, at.actor, customer_id))
        })
    })
    .await
}

/// Changes a customer's consents, preferred station, notes or registration
/// number, audited with what was there before. Consent to share with
/// partners is the customer's own act: giving it needs their evidence
/// ([`consent_evidence`], tried in a transaction of its own before the
/// change), withdrawing it their word; either change is recorded with its
/// evidence and audited on its own.
pub async fn change_archive(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    change: &ArchiveChange,
) -> AppResult<Archive> {
    {
        let mut conn = app.db.pool().acquire().await?;
        customer_in_scope(&mut conn, actor, Action::EditCustomerArchive, customer_id).await?;
    }
    let verified = consent_evidence(app, actor, customer_id, change).await?;
    let station = actor.station_id;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let by = ConsentBy {
                user: at.actor.audit_id(),
                station,
                now: at.now,
            };
            let (before, consent) =
                archive::change(conn, customer_id, change, verified, by).await?;
            at.audit(
                conn,
                "customer_archive_change",
                &customer_id.to_string(),
                serde_json::json!({
                    "consents": before.customer.consents,
                    "preferred_station": before.preferred_station,
                    "registration_number": before.registration_number,
                    "notes_changed": change.notes.is_some(),
                }),
            )
            .await?;
            if let Some(c) = consent {
                let action = if c.given {
                    "customer_consent_given"
                } else {
                    "customer_consent_withdrawn"
                };
                let card = match c.card {
                    Some(id) => Some(cards::find_by_id(conn, id).await?.number),
                    None => None,
                };
                at.audit(
                    conn,
                    action,
                    &customer_id.to_string(),
                    serde_json::json!({"evidence": c.evidence, "card": card, "station": station}),
                )
                .await?;
            }
            archive_shown(conn, app, at.actor, customer_id, at.now).await
        })
    })
    .await
}

/// The customer's evidence for giving consent to share with partners,
/// checked before the change: the PIN of one of their own cards (tried and
/// counted as a sale's) or their ID document (counted as every document
/// check is). Nothing to check when the request gives no consent to share,
/// or the customer already gave it; the change refuses a consent given
/// without evidence.
async fn consent_evidence(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    change: &ArchiveChange,
) -> AppResult<Option<(Evidence, Option<i64>)>> {
    let giving = change.consents.is_some_and(|c| c.share_with_partners);
    let Some(evidence) = change.consent_evidence.as_ref().filter(|_| giving) else {
        return Ok(None);
    };
    let shares = {
        let mut conn = app.db.pool().acquire().await?;
        crate::cards::customers::get(&mut conn, customer_id)
            .await?
            .consents
            .share_with_partners
    };
    if shares {
        return Ok(None);
    }
    match (&evidence.card_number, &evidence.pin, &evidence.identity) {
        (Some(number), Some(pin), None) => {
            let number = cards::parse_number(number)?;
            let card = counter::customers_pin(app, actor, customer_id, &number, pin).await?;
            Ok(Some((Evidence::Pin, Some(card))))
        }
        (None, None, Some(shown)) => {
            counter::customers_identity(app, actor, customer_id, shown).await?;
            Ok(Some((Evidence::Identity, None)))
        }
        _ => Err(AppError::invalid(
            "consent_evidence",
            "consent_evidence: a card_number with its pin, or an identity",
        )),
    }
}

/// A customer's timeline with their archive, as the caller may see them.
pub async fn customer_timeline(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    before: Option<i64>,
) -> AppResult<(Archive, Vec<Entry>)> {
    let mut conn = app.db.pool().acquire().await?;
    customer_in_scope(&mut conn, actor, Action::ReadCustomerArchive, customer_id).await?;
    let entries = archive::timeline(&mut conn, customer_id, before, app.settings.time_zone).await?;
    let record = archive_shown(&mut conn, app, actor, customer_id, app.now()).await?;
    Ok((record, entries))
}

/// Merges record `other` into `customer_id` (the one that stays), audited
/// with what moved; the staying record's archive. A repeat answers the
/// same and records nothing.
pub async fn merge_customers(
    app: &App,
    actor: &Actor,
    customer_id: i64,
    other: i64,
) -> AppResult<Archive> {
    {
        let mut conn = app.db.pool().acquire().await?;
        customer_in_scope(&mut conn, actor, Action::MergeCustomers, customer_id).await?;
        customer_in_scope(&mut conn, actor, Action::MergeCustomers, other).await?;
    }
    once(app, actor, |conn, at| {
        Box::pin(async move {
            if let Some(moved) = archive::merge(conn, customer_id, other).await? {
                at.audit(
                    conn,
                    "customer_merge",
                    &customer_id.to_string(),
                    serde_json::json!({ "merged": other, "moved": moved }),
                )
                .await?;
            }
            archive_shown(conn, app, at.actor, customer_id, at.now).await
        })
    })
    .await
}

// ------------------------------------------------------------ customer care

use crate::crm::care::{
    self, CareCustomer, CareFilter, CareInput, CareKind, CareRecord, CustomerCare, Occasion,
    PlannedVisit, VisitPlanInput,
};
use crate::lifecycle::VisitStatus;

/// The local date of an instant, in the operator's zone.
fn day_of(app: &App, now: i64) -> chrono::NaiveDate {
    crate::time::local_date(now, app.settings.time_zone)
}

/// The station that looks after the customer, with the policy asked about
/// it for `action`.
async fn care_station(
    conn: &mut Conn,
    actor: &Actor,
    action: Action,
    customer: i64,
) -> AppResult<crate::stations::Station> {
    let id = care::station_of(conn, customer).await?;
    let station = crate::stations::get(conn, id).await?;
    authorize(actor, action, &of_station(&station))?;
    Ok(station)
}

/// What a care listing covers: the station or district named, else the
/// caller's own, else (HQ, admin) the network.
async fn care_scope<'a>(
    conn: &mut Conn,
    actor: &'a Actor,
    station: Option<&str>,
    district: Option<&'a str>,
) -> AppResult<care::Scope<'a>> {
    Ok(
        match scope_for(conn, actor, Action::ReadCare, station, district).await? {
            Covering::Station(id) => care::Scope {
                station: Some(id),
                district: None,
            },
            Covering::District(d) => care::Scope {
                station: None,
                district: Some(d),
            },
            Covering::All => care::Scope::default(),
        },
    )
}

/// Logs a call or visit to a customer of a station the caller works for —
/// any of its customers, not only those on the call-back list — audited.
/// A visit completes the planned visit it names, or else the customer's
/// earliest visit planned for today or before. A refusal changes nothing.
pub async fn log_contact(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    customer: i64,
    input: &CareInput,
) -> AppResult<Done<CareRecord>> {
    authorize_role(actor, Action::CallCustomers)?;
    let contact = &input.validate()?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            care::lock_customer(conn, customer).await?;
            let station = care_station(conn, at.actor, Action::CallCustomers, customer).await?;
            let today = day_of(app, at.now);
            contact.check_today(today)?;
            let visit = match contact.visit_id {
                Some(id) => {
                    let v = care::lock_visit(conn, id).await?;
                    if v.customer_id != customer {
                        return Err(AppError::invalid(
                            "visit_id",
                            format!("visit_id: visit {id} is planned for another customer"),
                        ));
                    }
                    Some(v)
                }
                None if contact.kind == CareKind::Visit => {
                    care::due_visit(conn, customer, today).await?
                }
                None => None,
            };
            let id = care::log(
                conn,
                customer,
                station.id,
                at.actor.user_id,
                contact,
                at.now,
            )
            .await?;
            if let Some(v) = &visit {
                care::move_visit(
                    conn,
                    v,
                    VisitStatus::Done,
                    Some(id),
                    at.actor.user_id,
                    at.now,
                )
                .await?;
            }
            at.audit(
                conn,
                "care_contact_log",
                &customer.to_string(),
                serde_json::json!({
                    "contact": id,
                    "station": station.code,
                    "kind": contact.kind,
                    "purpose": contact.purpose,
                    "outcome": contact.outcome,
                    "visit": visit.as_ref().map(|v| v.id),
                }),
            )
            .await?;
            care::contact(conn, id).await
        })
    })
    .await
}

/// Plans a visit to a customer of the caller's station, no sooner than
/// the visiting rule allows for the customer's level (three days ahead
/// for gold and key customers, one for the others): `visit_too_soon`
/// otherwise, changing nothing. Audited.
pub async fn plan_visit(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    input: &VisitPlanInput,
) -> AppResult<Done<PlannedVisit>> {
    authorize_role(actor, Action::PlanVisits)?;
    let v = &input.validate()?;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            care::lock_customer(conn, v.customer_id).await?;
            let station = care_station(conn, at.actor, Action::PlanVisits, v.customer_id).await?;
            let level = grading::latest_grade(conn, v.customer_id)
                .await?
                .map(|(l, _)| l);
            let today = day_of(app, at.now);
            care::check_visit_day(level, today, v.planned_for)?;
            let id = care::plan(conn, v, station.id, at.actor.user_id, at.now).await?;
            at.audit(
                conn,
                "visit_plan",
                &id.to_string(),
                serde_json::json!({
                    "customer": v.customer_id,
                    "station": station.code,
                    "planned_for": v.planned_for.format("%Y-%m-%d").to_string(),
                    "purpose": v.purpose,
                    "level": level,
                }),
            )
            .await?;
            care::visit(conn, id, today).await
        })
    })
    .await
}

/// Calls off a visit still planned, audited (`illegal_transition` for one
/// done or cancelled already).
pub async fn cancel_visit(app: &App, actor: &Actor, id: i64) -> AppResult<PlannedVisit> {
    authorize_role(actor, Action::PlanVisits)?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let v = care::lock_visit(conn, id).await?;
            let station = crate::stations::get(conn, v.station_id).await?;
            authorize(at.actor, Action::PlanVisits, &of_station(&station))?;
            care::move_visit(
                conn,
                &v,
                VisitStatus::Cancelled,
                None,
                at.actor.user_id,
                at.now,
            )
            .await?;
            at.audit(
                conn,
                "visit_cancel",
                &id.to_string(),
                serde_json::json!({ "customer": v.customer_id, "station": station.code }),
            )
            .await?;
            care::visit(conn, id, day_of(app, at.now)).await
        })
    })
    .await
}

/// The customers of a station or district (the caller's own when neither
/// is named; HQ, admin: the network) that the filter picks, gold first,
/// phones masked unless the caller may read personal data.
pub async fn care_customers(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
    district: Option<&str>,
    filter: &CareFilter,
) -> AppResult<Vec<CareCustomer>> {
    let mut conn = app.db.pool().acquire().await?;
    let scope = care_scope(&mut conn, actor, station, district).await?;
    let list = care::care_list(&mut conn, scope, filter, app.now(), &app.settings.grading).await?;
    Ok(list
        .into_iter()
        .map(|mut c| {
            c.phone = crate::cards::customers::shown_to(actor, c.customer_id, c.phone);
            c
        })
        .collect())
}

/// How far ahead the visit plan reads when no end is named.
const PLAN_DAYS: u64 = 60;

/// The visit plan of a station or district (the caller's own when neither
/// is named; HQ, admin: the network): the visits planned from `from`
/// (today when none) to `to` (60 days on when none), with those still
/// planned from before; the span read.
pub async fn visit_plan(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
    district: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> AppResult<(chrono::NaiveDate, chrono::NaiveDate, Vec<PlannedVisit>)> {
    let today = day_of(app, app.now());
    let from = care::date("from", from)?.unwrap_or(today);
    let to = care::date("to", to)?.unwrap_or(from + chrono::Days::new(PLAN_DAYS));
    if to < from || (to - from).num_days() > care::MAX_PLAN_DAYS as i64 {
        return Err(AppError::invalid(
            "to",
            format!("to: on or after from, within {} days", care::MAX_PLAN_DAYS),
        ));
    }
    let mut conn = app.db.pool().acquire().await?;
    let scope = care_scope(&mut conn, actor, station, district).await?;
    let plan = care::visit_plan(&mut conn, scope, from, to, today).await?;
    Ok((from, to, plan))
}

/// The birthdays and anniversaries kept in the archives of a station's or
/// district's customers (the caller's own when neither is named; HQ,
/// admin: the network) that come within `days` (30 when none, at most
/// 366), the soonest first, phones masked unless the caller may read
/// personal data.
pub async fn birthdays(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
    district: Option<&str>,
    days: Option<i64>,
) -> AppResult<Vec<Occasion>> {
    let days = days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(AppError::invalid("days", "days: 1 to 366"));
    }
    let mut conn = app.db.pool().acquire().await?;
    let scope = care_scope(&mut conn, actor, station, district).await?;
    let today = day_of(app, app.now());
    let list = care::occasions(&mut conn, scope, today, days).await?;
    Ok(list
        .into_iter()
        .map(|mut o| {
            o.phone = crate::cards::customers::shown_to(actor, o.customer_id, o.phone);
            o
        })
        .collect())
}

/// A customer's care — their station, level, calls and visits (the
/// call-back list's calls among them) and planned visits — for whoever may
/// read their timeline.
pub async fn customer_care(app: &App, actor: &Actor, customer: i64) -> AppResult<CustomerCare> {
    let mut conn = app.db.pool().acquire().await?;
    customer_in_scope(&mut conn, actor, Action::ReadCustomerArchive, customer).await?;
    care::customer_care(&mut conn, customer, day_of(app, app.now())).await
}

//! The customer-relationship pages: the complaint board (recorded at the
//! counter, taken through assignment, answer, follow-up and closing, each
//! stage's missed time limit flagged, the month's counts), the call-back
//! list of the customers who stopped coming, and a customer's page with
//! their archive, level, lifecycle stage and timeline. What a caller sees
//! and may do is the action layer's word ([`crate::actions::crm`]); a
//! refusal shows the page again with what was typed.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::acquisition::{around, given, this_month};
use super::alliance::local;
use super::render;
use super::text::{refusal, tr, word};
use super::{Lang, Signed, data, error_box, page, t};
use crate::actions::crm::{self as act, Move};
use crate::actions::{App, Keyed};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, Target};
use crate::cards::customers::{Consents, CustomerKind, IdKind};
use crate::cards::holder::Identity;
use crate::crm::archive::{Archive, ArchiveChange, ConsentEvidence, Entry, EntryKind};
use crate::crm::complaints::{Category, Channel, Complaint, ComplaintInput, Missed};
use crate::crm::grading::{Callback, Level, Lifecycle, Outcome};
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::ComplaintStatus;

const CHANNELS: [Channel; 6] = [
    Channel::Counter,
    Channel::Phone,
    Channel::Hotline,
    Channel::Online,
    Channel::Letter,
    Channel::Other,
];

const CATEGORIES: [Category; 8] = [
    Category::Service,
    Category::FuelQuality,
    Category::Quantity,
    Category::Price,
    Category::Card,
    Category::Invoice,
    Category::Facilities,
    Category::Other,
];

const OUTCOMES: [Outcome; 6] = [
    Outcome::Reached,
    Outcome::WillReturn,
    Outcome::MovedAway,
    Outcome::Unhappy,
    Outcome::NoAnswer,
    Outcome::WrongNumber,
];

/// The API's code of a value (the form's option value), as serde names it.
fn code_of<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A form's option read back by its code.
fn parse_code<T: DeserializeOwned>(field: &str, text: &str) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_string())).map_err(|_| {
        AppError::new(Code::ValidationFailed, format!("{field}: one of the list"))
            .with("field", field)
    })
}

fn channel_word(lang: Lang, c: Channel) -> &'static str {
    match c {
        Channel::Counter => t(lang, "channel_counter"),
        Channel::Phone => t(lang, "channel_phone"),
        Channel::Hotline => t(lang, "channel_hotline"),
        Channel::Online => t(lang, "channel_online"),
        Channel::Letter => t(lang, "channel_letter"),
        Channel::Other => t(lang, "channel_other"),
    }
}

fn category_word(lang: Lang, c: Category) -> &'static str {
    match c {
        Category::Service => t(lang, "category_service"),
        Category::FuelQuality => t(lang, "category_fuel_quality"),
        Category::Quantity => t(lang, "category_quantity"),
        Category::Price => t(lang, "category_price"),
        Category::Card => t(lang, "category_card"),
        Category::Invoice => t(lang, "category_invoice"),
        Category::Facilities => t(lang, "category_facilities"),
        Category::Other => t(lang, "category_other"),
    }
}

fn status_word(lang: Lang, s: ComplaintStatus) -> &'static str {
    match s {
        ComplaintStatus::Received => t(lang, "complaint_received"),
        ComplaintStatus::Assigned => t(lang, "complaint_assigned"),
        ComplaintStatus::Answered => t(lang, "complaint_answered"),
        ComplaintStatus::FollowedUp => t(lang, "complaint_followed_up"),
        ComplaintStatus::Closed => t(lang, "complaint_closed"),
    }
}

fn missed_word(lang: Lang, m: Missed) -> &'static str {
    match m {
        Missed::Assign => t(lang, "missed_assign"),
        Missed::Answer => t(lang, "missed_answer"),
        Missed::Close => t(lang, "missed_close"),
    }
}

fn outcome_word(lang: Lang, o: Outcome) -> &'static str {
    match o {
        Outcome::Reached => t(lang, "call_reached"),
        Outcome::WillReturn => t(lang, "call_will_return"),
        Outcome::MovedAway => t(lang, "call_moved_away"),
        Outcome::Unhappy => t(lang, "call_unhappy"),
        Outcome::NoAnswer => t(lang, "call_no_answer"),
        Outcome::WrongNumber => t(lang, "call_wrong_number"),
    }
}

fn level_word(lang: Lang, l: Level) -> &'static str {
    match l {
        Level::Gold => t(lang, "level_gold"),
        Level::Key => t(lang, "level_key"),
        Level::PotentialKey => t(lang, "level_potential_key"),
        Level::Ordinary => t(lang, "level_ordinary"),
        Level::Marginal => t(lang, "level_marginal"),
    }
}

fn lifecycle_word(lang: Lang, l: Lifecycle) -> &'static str {
    match l {
        Lifecycle::New => t(lang, "lifecycle_new"),
        Lifecycle::Growing => t(lang, "lifecycle_growing"),
        Lifecycle::Stable => t(lang, "lifecycle_stable"),
        Lifecycle::Dormant => t(lang, "lifecycle_dormant"),
        Lifecycle::Lost => t(lang, "lifecycle_lost"),
    }
}

fn entry_word(lang: Lang, k: EntryKind) -> &'static str {
    match k {
        EntryKind::CardOpened => t(lang, "entry_card_opened"),
        EntryKind::CardLost => t(lang, "entry_card_lost"),
        EntryKind::CardReplaced => t(lang, "entry_card_replaced"),
        EntryKind::CardClosed => t(lang, "entry_card_closed"),
        EntryKind::Recharge => t(lang, "entry_recharge"),
        EntryKind::FuelMonth => t(lang, "entry_fuel_month"),
        EntryKind::ComplaintReceived => t(lang, "entry_complaint_received"),
        EntryKind::ComplaintClosed => t(lang, "entry_complaint_closed"),
        EntryKind::BenefitGranted => t(lang, "entry_benefit_granted"),
        EntryKind::BenefitRedeemed => t(lang, "entry_benefit_redeemed"),
        EntryKind::ProspectVisit => t(lang, "entry_prospect_visit"),
        EntryKind::LevelChanged => t(lang, "entry_level_changed"),
        EntryKind::ConsentGiven => t(lang, "entry_consent_given"),
        EntryKind::ConsentWithdrawn => t(lang, "entry_consent_withdrawn"),
    }
}

fn yes_no(lang: Lang, yes: bool) -> &'static str {
    if yes { t(lang, "yes") } else { t(lang, "no") }
}

fn or_dash(value: Option<&str>) -> Markup {
    match value {
        Some(v) if !v.is_empty() => data(v),
        _ => html! { "—" },
    }
}

/// The refusal beside the form it answers.
fn beside(lang: Lang, refused: Option<&AppError>) -> Markup {
    html! {
        @if let Some(e) = refused { span.field-error { (refusal(lang, e)) } }
    }
}

// ------------------------------------------------------- the complaint board

/// What was typed into a refused form of the board: the new complaint's
/// (`complaint` none) or one complaint's next step.
#[derive(Default)]
struct Typed {
    complaint: Option<i64>,
    customer_id: String,
    station: String,
    channel: String,
    category: String,
    text: String,
    assignee: String,
    answer: String,
    satisfied: String,
    notes: String,
}

#[derive(Deserialize)]
pub struct BoardQuery {
    month: Option<String>,
}

/// The complaint board of the caller's station, district or network.
pub async fn complaint_board(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<BoardQuery>,
) -> Response {
    let lang = s.lang;
    let shown = board_body(&state, &s, q.month.as_deref(), &Typed::default(), None).await;
    render(lang, &s.actor, t(lang, "complaint_board"), shown)
}

/// The board again after a refusal, with its status and what was typed.
async fn board_refused(state: &App, s: &Signed, typed: &Typed, e: AppError) -> Response {
    let lang = s.lang;
    let title = t(lang, "complaint_board");
    match board_body(state, s, None, typed, Some(&e)).await {
        Ok(b) => (e.code.status(), page(lang, title, Some(&s.actor), b)).into_response(),
        Err(_) => render(lang, &s.actor, title, Err(e)),
    }
}

/// The stations a user without one records a complaint for: their
/// district's, or (head office) the network's.
async fn stations_for(state: &App, actor: &Actor) -> AppResult<Vec<String>> {
    if actor.station_id.is_some() {
        return Ok(Vec::new());
    }
    Ok(crate::actions::reads::stations_of(state, actor)
        .await?
        .into_iter()
        .map(|st| st.code)
        .collect())
}

async fn board_body(
    state: &App,
    s: &Signed,
    month: Option<&str>,
    typed: &Typed,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let list = act::list_complaints(state, &s.actor, None, None, None, false).await?;
    let month = month.map_or_else(|| this_month(state), String::from);
    let (label, counts) = act::month_counts(state, &s.actor, &month, None, None).await?;
    let (prev, next) = around(&label).unwrap_or_default();
    let may_record = policy::may(&s.actor, Action::RecordComplaint);
    let may_work = policy::may(&s.actor, Action::WorkComplaints);
    let stations = if may_record {
        stations_for(state, &s.actor).await?
    } else {
        Vec::new()
    };
    let new_refused = refused.filter(|_| typed.complaint.is_none());
    let open = list
        .iter()
        .filter(|c| c.status != ComplaintStatus::Closed)
        .count();
    Ok(html! {
        h1 { (t(lang, "complaint_board")) }
        @if let Some(e) = refused { (error_box(lang, e)) }
        p.k #open-count { (tr(lang, "complaints_open", &[("open", open.into()), ("overdue", list.iter().filter(|c| c.overdue.is_some()).count().into())])) }
        @if list.is_empty() { p #no-complaints { (t(lang, "no_complaints")) } } @else {
            table #complaints {
                thead { tr {
                    th.num { "#" } th { (t(lang, "station")) } th { (t(lang, "category")) }
                    th { (t(lang, "complaint_text")) } th { (t(lang, "status")) }
                    th { (t(lang, "assignee")) } th { (t(lang, "received_at")) }
                    th { (t(lang, "due_times")) } th.noprint { (t(lang, "next_step")) }
                } }
                tbody {
                    @for c in &list {
                        @let here = typed.complaint == Some(c.id);
                        (complaint_row(lang, tz, c, may_work, here.then_some(typed), refused.filter(|_| here)))
                    }
                }
            }
        }
        @if may_record {
            form.panel.noprint #new-complaint method="post" action="/complaints" {
                h2 { (t(lang, "record_complaint")) }
                input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                div.row {
                    @if !stations.is_empty() {
                        div { label for="cstation" { (t(lang, "station")) }
                            select #cstation name="station" {
                                @for code in &stations { option value=(code) selected[typed.station == *code] { (code) } }
                            }
                        }
                    }
                    div { label for="channel" { (t(lang, "channel")) }
                        select #channel name="channel" {
                            @for ch in CHANNELS {
                                @let v = code_of(ch);
                                option value=(v) selected[typed.channel == v] { (channel_word(lang, ch)) }
                            }
                        }
                    }
                    div { label for="ccategory" { (t(lang, "category")) }
                        select #ccategory name="category" {
                            @for cat in CATEGORIES {
                                @let v = code_of(cat);
                                option value=(v) selected[typed.category == v] { (category_word(lang, cat)) }
                            }
                        }
                    }
                    div { label for="customer-id" { (t(lang, "customer_number_optional")) }
                        input #customer-id name="customer_id" inputmode="numeric" value=(typed.customer_id); }
                }
                label for="ctext" { (t(lang, "complaint_text")) }
                textarea #ctext name="text" rows="3" cols="60" required { (typed.text) }
                (beside(lang, new_refused))
                div { button.primary type="submit" { (t(lang, "record_complaint")) } }
            }
        }
        section.panel #month-counts {
            h2 { (t(lang, "month_counts")) " · " (label) }
            p.noprint { a href={"/complaints?month=" (prev)} { "← " (prev) } " · " a href={"/complaints?month=" (next)} { (next) " →" } }
            @if counts.is_empty() { p.k { (t(lang, "no_complaints")) } } @else {
                table #counts {
                    thead { tr {
                        th { (t(lang, "station")) } th { (t(lang, "category")) }
                        th.num { (t(lang, "count_received")) } th.num { (t(lang, "count_closed")) }
                        th.num { (t(lang, "count_closed_in_time")) } th.num { (t(lang, "count_unsatisfied")) }
                        th.num { (t(lang, "count_overdue")) }
                    } }
                    tbody {
                        @for n in &counts {
                            tr { td.code { (n.station) } td { (category_word(lang, n.category)) }
                                 td.num { (n.received) } td.num { (n.closed) } td.num { (n.closed_in_time) }
                                 td.num { (n.unsatisfied) } td.num { (n.overdue) } }
                        }
                    }
                }
            }
        }
    })
}

fn complaint_row(
    lang: Lang,
    tz: chrono_tz::Tz,
    c: &Complaint,
    may_work: bool,
    typed: Option<&Typed>,
    refused: Option<&AppError>,
) -> Markup {
    html! {
        tr id={"complaint-" (c.id)} .overdue[c.overdue.is_some()] {
            td.num { (c.id) }
            td.code { (c.station) }
            td { (category_word(lang, c.category)) br; span.k { (channel_word(lang, c.channel)) } }
            td {
                span.data { (c.text) }
                @if let Some(a) = &c.answer { br; span.k { (t(lang, "answer")) ": " } span.data { (a) } }
                @if let Some(yes) = c.satisfied {
                    br; span.k { (t(lang, "follow_up")) ": " } (t(lang, if yes { "satisfied_yes" } else { "satisfied_no" }))
                    @if let Some(n) = &c.follow_up { " · " span.data { (n) } }
                }
                @if let Some(id) = c.customer_id { br; a href={"/customers/" (id)} { (t(lang, "customer")) " #" (id) } }
            }
            td {
                span.status { (status_word(lang, c.status)) }
                @if let Some(m) = c.overdue { br; strong.due.missed { (missed_word(lang, m)) } }
            }
            td { (or_dash(c.assignee.as_deref())) }
            td { (local(&c.received_at, tz)) br; span.k { (or_dash(c.received_by.as_deref())) } }
            td {
                span.k { (t(lang, "answer_due")) } " " (local(&c.answer_due, tz)) br;
                span.k { (t(lang, "close_due")) } " " (local(&c.close_due, tz))
                @if let Some(at) = &c.closed_at { br; span.k { (t(lang, "closed_at")) } " " (local(at, tz)) }
            }
            td.noprint {
                @if may_work { (step_form(lang, c, typed, refused)) }
            }
        }
    }
}

/// The form for a complaint's next step, for those who work complaints.
fn step_form(
    lang: Lang,
    c: &Complaint,
    typed: Option<&Typed>,
    refused: Option<&AppError>,
) -> Markup {
    let action = format!("/complaints/{}/move", c.id);
    let id = c.id;
    let value = |f: fn(&Typed) -> &str| typed.map(f).unwrap_or_default().to_string();
    html! {
        @match c.status {
            ComplaintStatus::Received => form.step method="post" action=(action) {
                input type="hidden" name="step" value="assign";
                label for={"assignee-" (id)} { (t(lang, "assign_to")) }
                input id={"assignee-" (id)} name="assignee" required value=(value(|t| &t.assignee));
                (beside(lang, refused))
                button.primary type="submit" { (t(lang, "assign")) }
            },
            ComplaintStatus::Assigned => form.step method="post" action=(action) {
                input type="hidden" name="step" value="answer";
                label for={"answer-" (id)} { (t(lang, "answer")) }
                textarea id={"answer-" (id)} name="answer" rows="2" required { (value(|t| &t.answer)) }
                (beside(lang, refused))
                button.primary type="submit" { (t(lang, "record_answer")) }
            },
            ComplaintStatus::Answered => form.step method="post" action=(action) {
                input type="hidden" name="step" value="follow_up";
                label for={"satisfied-" (id)} { (t(lang, "follow_up")) }
                select id={"satisfied-" (id)} name="satisfied" {
                    @let was = value(|t| &t.satisfied);
                    option value="yes" selected[was == "yes"] { (t(lang, "satisfied_yes")) }
                    option value="no" selected[was == "no"] { (t(lang, "satisfied_no")) }
                }
                label for={"notes-" (id)} { (t(lang, "follow_up_notes")) }
                input id={"notes-" (id)} name="notes" value=(value(|t| &t.notes));
                (beside(lang, refused))
                button.primary type="submit" { (t(lang, "record_follow_up")) }
            },
            ComplaintStatus::FollowedUp => form.step method="post" action=(action) {
                input type="hidden" name="step" value="close";
                (beside(lang, refused))
                button.primary type="submit" { (t(lang, "close_complaint")) }
            },
            ComplaintStatus::Closed => {},
        }
    }
}

#[derive(Deserialize)]
pub struct ComplaintForm {
    key: String,
    station: Option<String>,
    customer_id: Option<String>,
    channel: String,
    category: String,
    text: String,
}

/// Records a complaint from the board's form; a double click records one.
pub async fn record_complaint(
    State(state): State<App>,
    s: Signed,
    Form(f): Form<ComplaintForm>,
) -> Response {
    let done: AppResult<i64> = async {
        let customer_id = given(&f.customer_id)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    AppError::new(Code::ValidationFailed, "customer_id: a number")
                        .with("field", "customer_id")
                })
            })
            .transpose()?;
        let input = ComplaintInput {
            customer_id,
            station: given(&f.station),
            channel: parse_code("channel", &f.channel)?,
            category: parse_code("category", &f.category)?,
            text: f.text.clone(),
        };
        let form = format!(
            "{:?}|{:?}|{}|{}|{}",
            input.station, customer_id, f.channel, f.category, f.text
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            "/complaints",
            form.as_bytes(),
        );
        Ok(act::add_complaint(&state, &s.actor, Some(&key), &input)
            .await?
            .value
            .id)
    }
    .await;
    match done {
        Ok(id) => Redirect::to(&format!("/complaints#complaint-{id}")).into_response(),
        Err(e) => {
            let typed = Typed {
                customer_id: f.customer_id.unwrap_or_default(),
                station: f.station.unwrap_or_default(),
                channel: f.channel,
                category: f.category,
                text: f.text,
                ..Typed::default()
            };
            board_refused(&state, &s, &typed, e).await
        }
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    step: String,
    assignee: Option<String>,
    answer: Option<String>,
    satisfied: Option<String>,
    notes: Option<String>,
}

impl MoveForm {
    fn to_move(&self) -> AppResult<Move> {
        Ok(match self.step.as_str() {
            "assign" => Move::Assign(self.assignee.clone().unwrap_or_default()),
            "answer" => Move::Answer(self.answer.clone().unwrap_or_default()),
            "follow_up" => Move::FollowUp {
                satisfied: match self.satisfied.as_deref() {
                    Some("yes") => true,
                    Some("no") => false,
                    _ => {
                        return Err(
                            AppError::new(Code::ValidationFailed, "satisfied: yes or no")
                                .with("field", "satisfied"),
                        );
                    }
                },
                notes: given(&self.notes),
            },
            "close" => Move::Close,
            _ => {
                return Err(AppError::new(
                    Code::ValidationFailed,
                    "step: assign, answer, follow_up or close",
                )
                .with("field", "step"));
            }
        })
    }
}

/// Moves a complaint one step from its row's form.
pub async fn move_complaint(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> Response {
    let moved = match f.to_move() {
        Ok(m) => act::move_complaint(&state, &s.actor, id, m)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match moved {
        Ok(()) => Redirect::to(&format!("/complaints#complaint-{id}")).into_response(),
        Err(e) => {
            let typed = Typed {
                complaint: Some(id),
                assignee: f.assignee.unwrap_or_default(),
                answer: f.answer.unwrap_or_default(),
                satisfied: f.satisfied.unwrap_or_default(),
                notes: f.notes.unwrap_or_default(),
                ..Typed::default()
            };
            board_refused(&state, &s, &typed, e).await
        }
    }
}

// ---------------------------------------------------------- the call-back list

/// What was typed into a refused call form.
#[derive(Default)]
struct CallTyped {
    customer: Option<i64>,
    outcome: String,
    notes: String,
}

/// The dormant customers of the caller's station (district, network).
pub async fn callbacks_page(State(state): State<App>, s: Signed) -> Response {
    let lang = s.lang;
    let shown = callbacks_body(&state, &s, &CallTyped::default(), None).await;
    render(lang, &s.actor, t(lang, "callback_list"), shown)
}

async fn callbacks_body(
    state: &App,
    s: &Signed,
    typed: &CallTyped,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let list = act::callbacks(state, &s.actor, None, None).await?;
    let may_call = policy::may(&s.actor, Action::CallCustomers);
    Ok(html! {
        h1 { (t(lang, "callback_list")) }
        p.k { (tr(lang, "callback_rule", &[("days", state.settings.grading.dormant_days.into())])) }
        @if let Some(e) = refused { (error_box(lang, e)) }
        @if list.is_empty() { p #no-callbacks { (t(lang, "no_callbacks")) } } @else {
            table #callbacks {
                thead { tr {
                    th { (t(lang, "customer")) } th { (t(lang, "phone")) } th { (t(lang, "station")) }
                    th { (t(lang, "last_refuel")) } th.num { (t(lang, "quiet_days")) }
                    th.num { (t(lang, "usual_monthly_litres")) } th { (t(lang, "staff_to_call")) }
                    th { (t(lang, "previous_calls")) }
                    @if may_call { th.noprint { (t(lang, "record_call")) } }
                } }
                tbody {
                    @for c in &list {
                        @let here = typed.customer == Some(c.customer_id);
                        (callback_row(lang, tz, &s.actor, c, may_call, here.then_some(typed), refused.filter(|_| here)))
                    }
                }
            }
        }
    })
}

fn callback_row(
    lang: Lang,
    tz: chrono_tz::Tz,
    actor: &Actor,
    c: &Callback,
    may_call: bool,
    typed: Option<&CallTyped>,
    refused: Option<&AppError>,
) -> Markup {
    let id = c.customer_id;
    let archive = policy::permits(actor, Action::ReadCustomerArchive, &Target::company(id));
    html! {
        tr id={"callback-" (id)} {
            td {
                @if archive { a.data href={"/customers/" (id)} { (c.name) } } @else { (data(&c.name)) }
            }
            td.code { (c.phone.as_deref().unwrap_or("—")) }
            td.code { (c.station) }
            td { @match &c.last_refuel_at { Some(at) => (local(at, tz)), None => (t(lang, "never_refuelled")) } }
            td.num { (c.quiet_days) }
            td.num { (c.usual_monthly_litres) }
            td { (or_dash(c.staff.as_deref())) }
            td.calls {
                @if c.calls.is_empty() { "—" }
                @for call in &c.calls {
                    div.call {
                        (outcome_word(lang, call.outcome)) " · " (local(&call.at, tz)) " · " (or_dash(call.by.as_deref()))
                        @if let Some(n) = &call.notes { " · " span.data { (n) } }
                    }
                }
            }
            @if may_call {
                td.noprint {
                    form method="post" action={"/callbacks/" (id) "/calls"} {
                        input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                        @let was = typed.map(|t| t.outcome.as_str()).unwrap_or_default();
                        select id={"outcome-" (id)} name="outcome" aria-label=(t(lang, "outcome")) {
                            @for o in OUTCOMES {
                                @let v = code_of(o);
                                option value=(v) selected[was == v] { (outcome_word(lang, o)) }
                            }
                        }
                        " "
                        input id={"call-notes-" (id)} name="notes" placeholder=(t(lang, "call_notes"))
                            value=(typed.map(|t| t.notes.as_str()).unwrap_or_default());
                        (beside(lang, refused))
                        button.primary type="submit" { (t(lang, "record_call")) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CallForm {
    key: String,
    outcome: String,
    notes: Option<String>,
}

/// Records a call to a dormant customer from their row's form.
pub async fn record_call(
    State(state): State<App>,
    s: Signed,
    Path(customer): Path<i64>,
    Form(f): Form<CallForm>,
) -> Response {
    let done: AppResult<()> = async {
        let outcome: Outcome = parse_code("outcome", &f.outcome)?;
        let notes = given(&f.notes);
        let form = format!("{}|{:?}", f.outcome, notes);
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            &format!("/callbacks/{customer}/calls"),
            form.as_bytes(),
        );
        act::record_call(
            &state,
            &s.actor,
            Some(&key),
            customer,
            outcome,
            notes.as_deref(),
        )
        .await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/callbacks#callback-{customer}")).into_response(),
        Err(e) => {
            let lang = s.lang;
            let title = t(lang, "callback_list");
            let typed = CallTyped {
                customer: Some(customer),
                outcome: f.outcome,
                notes: f.notes.unwrap_or_default(),
            };
            match callbacks_body(&state, &s, &typed, Some(&e)).await {
                Ok(b) => (e.code.status(), page(lang, title, Some(&s.actor), b)).into_response(),
                Err(_) => render(lang, &s.actor, title, Err(e)),
            }
        }
    }
}

// -------------------------------------------------------------- the customer

#[derive(Deserialize)]
pub struct TimelineQuery {
    /// Only what happened before this time (RFC 3339): the next page.
    before: Option<String>,
}

/// A customer's page: the archive, the level and lifecycle stage, and the
/// timeline, newest first.
pub async fn customer_page(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Query(q): Query<TimelineQuery>,
) -> Response {
    let lang = s.lang;
    let shown: AppResult<Markup> = async {
        let before = q
            .before
            .as_deref()
            .map(|at| {
                crate::time::parse_rfc3339(at).ok_or_else(|| {
                    AppError::new(Code::ValidationFailed, "before: an RFC 3339 time")
                        .with("field", "before")
                })
            })
            .transpose()?;
        let (archive, entries) = act::customer_timeline(&state, &s.actor, id, before).await?;
        Ok(customer_body(
            &state,
            &s,
            &archive,
            &entries,
            &MergeTyped::default(),
        ))
    }
    .await;
    render(lang, &s.actor, t(lang, "customer_page"), shown)
}

fn customer_body(
    state: &App,
    s: &Signed,
    a: &Archive,
    entries: &[Entry],
    merge: &MergeTyped<'_>,
) -> Markup {
    let standing = &a.standing;
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let c = &a.customer;
    let company = c.kind == CustomerKind::Company;
    let credit = company && policy::permits(&s.actor, Action::ReadCredit, &Target::company(c.id));
    html! {
        h1 { (data(&c.name)) " · " (t(lang, if company { "customer_company" } else { "customer_person" })) " #" (c.id) }
        @if let Some(other) = a.merged_into {
            p.notice { (t(lang, "merged_into")) " " a href={"/customers/" (other)} { "#" (other) } }
        }
        div.panel.grid #standing {
            div { div.k { (t(lang, "level")) }
                  div.v #level { @match standing.level { Some(l) => (level_word(lang, l)), None => (t(lang, "not_graded")) } }
                  @if let Some(m) = &standing.graded_month { div.k { (m) } } }
            div { div.k { (t(lang, "lifecycle")) }
                  div.v #lifecycle { @match standing.lifecycle { Some(l) => (lifecycle_word(lang, l)), None => "—" } } }
            div { div.k { (t(lang, "last_refuel")) }
                  div.v { @match &standing.last_refuel_at { Some(at) => (local(at, tz)), None => (t(lang, "never_refuelled")) } } }
            @if credit { div { div.k { (t(lang, "credit_account")) } div.v { a #customer-credit href={"/credit/" (c.id)} { (t(lang, "credit_account")) } } } }
        }
        section.panel #archive {
            h2 { (t(lang, "archive")) }
            div.grid {
                div { div.k { (t(lang, "phone")) } div.v.code { (c.phone.as_deref().unwrap_or("—")) } }
                div { div.k { (t(lang, "id_number")) } div.v.code { (c.id_number.as_deref().unwrap_or("—")) } }
                @if company { div { div.k { (t(lang, "registration_number")) } div.v.code { (a.registration_number.as_deref().unwrap_or("—")) } } }
                div { div.k { (t(lang, "contact")) } div.v { (or_dash(c.contact_name.as_deref())) } }
                div { div.k { (t(lang, "address")) } div.v { (or_dash(c.address.as_deref())) } }
                div { div.k { (t(lang, "preferred_station")) } div.v.code { (a.preferred_station.as_deref().unwrap_or("—")) } }
                div { div.k { (t(lang, "share_with_partners")) } div.v #consent-partners { (yes_no(lang, c.consents.share_with_partners)) } }
                div { div.k { (t(lang, "consent_marketing")) } div.v #consent-marketing { (yes_no(lang, c.consents.marketing)) } }
            }
            div.k { (t(lang, "customer_notes")) }
            p #customer-notes { (or_dash(a.notes.as_deref())) }
            @if policy::permits(&s.actor, Action::EditCustomerArchive, &Target::company(c.id)) && a.merged_into.is_none() {
                p.noprint { a #edit-archive href={"/customers/" (c.id) "/archive"} { (t(lang, "ho_edit_archive")) } }
                (consent_form(lang, c.id, c.consents))
            }
        }
        @if a.merged_into.is_none() && policy::permits(&s.actor, Action::MergeCustomers, &Target::company(c.id)) {
            (merge_form(lang, c.id, merge))
        }
        section.panel #contacts {
            h2 { (t(lang, "contacts")) }
            @if a.contacts.is_empty() { p.k { (t(lang, "no_contacts")) } } @else {
                table #contact-list {
                    thead { tr {
                        th { (t(lang, "name")) } th { (t(lang, "contact_role")) } th { (t(lang, "phone")) }
                        th { (t(lang, "birthday")) } th { (t(lang, "anniversary")) } th { (t(lang, "decision_maker")) }
                    } }
                    tbody {
                        @for p in &a.contacts {
                            tr { td.data { (p.name) } td { (or_dash(p.role.as_deref())) }
                                 td.code { (p.phone.as_deref().unwrap_or("—")) }
                                 td { (p.birthday.as_deref().unwrap_or("—")) } td { (p.anniversary.as_deref().unwrap_or("—")) }
                                 td { (yes_no(lang, p.decision_maker)) } }
                        }
                    }
                }
            }
        }
        section.panel #timeline {
            h2 { (t(lang, "timeline")) }
            @if entries.is_empty() { p.k { (t(lang, "no_timeline")) } } @else {
                table #timeline-entries {
                    thead { tr {
                        th { (t(lang, "time")) } th { (t(lang, "event")) } th { (t(lang, "card")) }
                        th.num { (t(lang, "amount")) } th.num { (t(lang, "litres")) } th { (t(lang, "detail")) }
                    } }
                    tbody {
                        @for e in entries {
                            tr data-kind=(code_of(e.kind)) {
                                td { (local(&e.at, tz)) }
                                td { (entry_word(lang, e.kind)) }
                                td.code { (e.card.as_deref().unwrap_or("")) }
                                td.num { @if let Some(m) = e.amount { (m) } }
                                td.num { @if let Some(l) = e.litres { (l) } }
                                td { (entry_detail(lang, e)) }
                            }
                        }
                    }
                }
                @if entries.len() >= 500 {
                    @if let Some(last) = entries.last() {
                        @let query = form_urlencoded::Serializer::new(String::new()).append_pair("before", &last.at).finish();
                        p.noprint { a href={"/customers/" (c.id) "?" (query)} { (t(lang, "earlier")) " →" } }
                    }
                }
            }
        }
    }
}

/// The form that gives or withdraws the customer's consent to share with
/// partners. Giving it asks for the customer's evidence — the PIN of one of
/// their cards, or their ID document — since it is their act, not the
/// counter's; withdrawing it needs only their word.
fn consent_form(lang: Lang, id: i64, consents: Consents) -> Markup {
    let giving = !consents.share_with_partners;
    html! {
        form.noprint #consent-form method="post" action={"/customers/" (id) "/consent"} {
            input type="hidden" name="marketing" value=(if consents.marketing { "yes" } else { "no" });
            input type="hidden" name="share" value=(if giving { "give" } else { "withdraw" });
            @if giving {
                p.k { (t(lang, "share_with_partners")) }
                p #consent-evidence-needed { (t(lang, "consent_evidence_needed")) }
                fieldset {
                    legend { (t(lang, "consent_evidence")) }
                    label for="consent-card" { (t(lang, "card_number")) }
                    input #consent-card name="card_number" autocomplete="off";
                    label for="consent-pin" { (t(lang, "pin")) }
                    input #consent-pin name="pin" type="password" inputmode="numeric" autocomplete="off";
                    label for="consent-kind" { (t(lang, "document_kind")) }
                    select #consent-kind name="document_kind" {
                        @for kind in IdKind::ALL { option value=(kind.as_str()) { (t(lang, kind.as_str())) } }
                    }
                    label for="consent-idn" { (t(lang, "id_number")) }
                    input #consent-idn name="document_number" autocomplete="off";
                }
                button.primary type="submit" { (t(lang, "consent_give")) }
            } @else {
                button type="submit" { (t(lang, "consent_withdraw")) }
            }
        }
    }
}

/// The consent form as posted.
#[derive(Deserialize)]
pub struct ConsentForm {
    share: String,
    marketing: Option<String>,
    card_number: Option<String>,
    pin: Option<String>,
    document_kind: Option<String>,
    document_number: Option<String>,
}

impl ConsentForm {
    fn change(&self) -> ArchiveChange {
        let card_number = given(&self.card_number);
        let pin = given(&self.pin);
        let identity = given(&self.document_number).map(|n| Identity {
            document_kind: self
                .document_kind
                .as_deref()
                .and_then(IdKind::parse)
                .unwrap_or(IdKind::ResidentId),
            document_number: n,
        });
        let evidence = match (card_number, pin, identity) {
            (None, None, None) => None,
            (Some(c), Some(p), _) => Some(ConsentEvidence {
                card_number: Some(c),
                pin: Some(p),
                identity: None,
            }),
            (card_number, pin, identity) => Some(ConsentEvidence {
                card_number,
                pin,
                identity,
            }),
        };
        ArchiveChange {
            consents: Some(Consents {
                share_with_partners: self.share == "give",
                marketing: self.marketing.as_deref() == Some("yes"),
            }),
            consent_evidence: evidence,
            ..ArchiveChange::default()
        }
    }
}

/// Gives or withdraws the customer's consent to share with partners from
/// their page; the page again, or the refusal.
pub async fn change_consent(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<ConsentForm>,
) -> Response {
    match act::change_archive(&state, &s.actor, id, &f.change()).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}#archive")).into_response(),
        Err(e) => render(s.lang, &s.actor, t(s.lang, "customer_page"), Err(e)),
    }
}

// ------------------------------------------------ merging two records

/// What was typed into a refused merge form, and the refusal.
#[derive(Default)]
struct MergeTyped<'a> {
    other: String,
    refused: Option<&'a AppError>,
}

/// Head office's form that merges another record of the same customer
/// into this one: the other record's number, and a tick that says so.
fn merge_form(lang: Lang, id: i64, typed: &MergeTyped<'_>) -> Markup {
    let e = typed.refused;
    let at = e
        .and_then(|e| e.extra.as_ref()?.get("field")?.as_str())
        .unwrap_or("");
    html! {
        form.panel.noprint #merge-form method="post" action={"/customers/" (id) "/merge"} {
            h2 { (t(lang, "merge_customers")) }
            p.k { (t(lang, "merge_hint")) }
            @if let Some(e) = e { (error_box(lang, e)) }
            div.row {
                div { label for="merge-other" { (t(lang, "merge_other")) }
                      input #merge-other name="other_id" inputmode="numeric" required value=(typed.other)
                          autofocus[at == "other_id"] aria-invalid=[(at == "other_id").then_some("true")];
                      @if at == "other_id" { (beside(lang, e)) } }
                div { label { input #merge-confirm type="checkbox" name="confirm" value="yes" required
                                  autofocus[at == "confirm_merge"];
                              " " (t(lang, "merge_confirm")) }
                      @if at == "confirm_merge" { (beside(lang, e)) } }
                button.danger type="submit" { (t(lang, "merge_button")) }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    other_id: String,
    confirm: Option<String>,
}

/// Merges the other record into this one: [`act::merge_customers`], as
/// `POST /api/v1/customers/{id}/merge`; the staying record's page, or the
/// page again with the refusal beside the field and the number typed.
pub async fn merge(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<MergeForm>,
) -> Response {
    let lang = s.lang;
    let done = async {
        if f.confirm.as_deref() != Some("yes") {
            return Err(AppError::new(
                Code::ValidationFailed,
                "confirm_merge: tick that the two records are the same customer",
            )
            .with("field", "confirm_merge"));
        }
        let other = f.other_id.trim().parse::<i64>().map_err(|_| {
            AppError::new(Code::ValidationFailed, "other_id: a customer number")
                .with("field", "other_id")
        })?;
        act::merge_customers(&state, &s.actor, id, other)
            .await
            .map_err(|e| match e.code {
                _ if e.extra.as_ref().is_some_and(|x| x.contains_key("field")) => e,
                Code::Forbidden | Code::Internal | Code::DatabaseUnavailable => e,
                _ => e.with("field", "other_id"),
            })
    }
    .await;
    match done {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => {
            let shown = act::customer_timeline(&state, &s.actor, id, None).await;
            match shown {
                Ok((archive, entries)) => {
                    let typed = MergeTyped {
                        other: f.other_id.clone(),
                        refused: Some(&e),
                    };
                    let body = customer_body(&state, &s, &archive, &entries, &typed);
                    (
                        e.code.status(),
                        page(lang, t(lang, "customer_page"), Some(&s.actor), body),
                    )
                        .into_response()
                }
                Err(_) => render(lang, &s.actor, t(lang, "customer_page"), Err(e)),
            }
        }
    }
}

/// What an entry's detail says, in the page's words where it is a code.
fn entry_detail(lang: Lang, e: &Entry) -> Markup {
    let detail = e.detail.as_deref().unwrap_or_default();
    html! {
        @match e.kind {
            EntryKind::CardOpened => (word(lang, detail)),
            EntryKind::ComplaintReceived | EntryKind::ComplaintClosed => {
                @if let Ok(c) = parse_code::<Category>("category", detail) { (category_word(lang, c)) }
                @if let Some(id) = e.id { " #" (id) }
            }
            EntryKind::LevelChanged => {
                @if let Ok(l) = parse_code::<Level>("level", detail) { (level_word(lang, l)) }
                @if let Some(m) = &e.month { " · " (m) }
            }
            EntryKind::FuelMonth => {
                @if let Some(m) = &e.month { (m) }
                @if let Some(n) = e.count { " · " (tr(lang, "sales_count", &[("count", n.into())])) }
            }
            EntryKind::CardReplaced | EntryKind::BenefitGranted | EntryKind::BenefitRedeemed => span.code { (detail) },
            _ => (or_dash(e.detail.as_deref())),
        }
    }
}

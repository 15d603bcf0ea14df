//! The customer-relationship pages: the complaint board (recorded at the
//! counter, taken through assignment, answer, follow-up and closing, each
//! stage's missed time limit flagged, the month's counts with the
//! reopenings and the hours each stage took, and their CSV), the call-back
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

use super::acquisition::{around, this_month};
use super::alliance::local;
use super::form::{beside, field_error, given, with_field};
use super::render;
use super::text::{tr, word};
use super::{Lang, Signed, csv_or_refusal, data, error_box, page, t};
use crate::actions::crm::{self as act, Move};
use crate::actions::{App, Keyed};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, Target};
use crate::cards::customers::{Consents, CustomerKind, IdKind};
use crate::cards::holder::Identity;
use crate::crm::archive::{Archive, ArchiveChange, ConsentEvidence, Entry, EntryKind};
use crate::crm::care::{
    CareCustomer, CareFilter, CareInput, CareKind, CareOutcome, CareRecord, CustomerCare,
    OccasionKind, PlannedVisit, Purpose, VisitPlanInput,
};
use crate::crm::complaints::{
    Category, Channel, Complaint, ComplaintInput, Missed, MonthCount, StageHours,
};
use crate::crm::grading::{Callback, Level, Lifecycle, Outcome};
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::{ComplaintStatus, VisitStatus};

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
    serde_json::from_value(serde_json::Value::String(text.trim().to_string()))
        .map_err(|_| AppError::invalid(field, format!("{field}: one of the list")))
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
        EntryKind::CareCall => t(lang, "entry_care_call"),
        EntryKind::CareVisit => t(lang, "entry_care_visit"),
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
                (field_error(lang, new_refused))
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
                        th.num { (t(lang, "count_reopened")) } th.num { (t(lang, "count_overdue")) }
                    } }
                    tbody {
                        @for n in &counts {
                            tr { td.code { (n.station) } td { (category_word(lang, n.category)) }
                                 td.num { (n.received) } td.num { (n.closed) } td.num { (n.closed_in_time) }
                                 td.num { (n.unsatisfied) } td.num { (n.reopened) } td.num { (n.overdue) } }
                        }
                    }
                }
                h3 { (t(lang, "stage_hours")) }
                table #stage-hours {
                    thead {
                        tr {
                            th rowspan="2" { (t(lang, "station")) } th rowspan="2" { (t(lang, "category")) }
                            @for key in STAGE_KEYS { th.num colspan="2" { (t(lang, key)) } }
                        }
                        tr { @for _ in STAGE_KEYS { th.num { (t(lang, "hours_median")) } th.num { (t(lang, "hours_max")) } } }
                    }
                    tbody {
                        @for n in &counts {
                            tr { td.code { (n.station) } td { (category_word(lang, n.category)) }
                                 @for stage in stages_of(n) {
                                     @match stage {
                                         Some(h) => { td.num { (h.median) } td.num { (h.max) } },
                                         None => { td.num { "—" } td.num { "—" } },
                                     }
                                 } }
                        }
                    }
                }
                p.noprint { a #report-csv href={"/complaints/report.csv?month=" (label)} { "CSV" } }
            }
        }
    })
}

/// The stages a month's report times, in order, and their headings.
const STAGE_KEYS: [&str; 4] = [
    "stage_to_assign",
    "stage_to_answer",
    "stage_to_follow_up",
    "stage_to_close",
];

fn stages_of(n: &MonthCount) -> [Option<&StageHours>; 4] {
    [
        n.to_assign.as_ref(),
        n.to_answer.as_ref(),
        n.to_follow_up.as_ref(),
        n.to_close.as_ref(),
    ]
}

/// The month's report as CSV: the board's counts and each stage's median
/// and longest hours (empty where no complaint passed the stage).
pub async fn report_csv(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<BoardQuery>,
) -> Response {
    let month = q.month.unwrap_or_else(|| this_month(&state));
    let made: AppResult<(String, String)> = async {
        let (label, counts) = act::month_counts(&state, &s.actor, &month, None, None).await?;
        let rows = counts.iter().map(|n| {
            let mut row = vec![
                n.station.clone(),
                code_of(n.category),
                n.received.to_string(),
                n.closed.to_string(),
                n.closed_in_time.to_string(),
                n.unsatisfied.to_string(),
                n.reopened.to_string(),
                n.overdue.to_string(),
            ];
            for stage in stages_of(n) {
                let (median, max) = stage.map_or_else(Default::default, |h| {
                    (h.median.to_string(), h.max.to_string())
                });
                row.extend([median, max]);
            }
            row
        });
        let text = crate::csv_io::table(
            &[
                "station",
                "category",
                "received",
                "closed",
                "closed_in_time",
                "unsatisfied",
                "reopened",
                "overdue",
                "to_assign_median_hours",
                "to_assign_max_hours",
                "to_answer_median_hours",
                "to_answer_max_hours",
                "to_follow_up_median_hours",
                "to_follow_up_max_hours",
                "to_close_median_hours",
                "to_close_max_hours",
            ],
            rows,
        )?;
        Ok((label, text))
    }
    .await;
    match made {
        Ok((label, text)) => csv_or_refusal(&format!("complaints-{label}.csv"), Ok(text)),
        Err(e) => csv_or_refusal("complaints.csv", Err(e)),
    }
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
                (field_error(lang, refused))
                button.primary type="submit" { (t(lang, "assign")) }
            },
            ComplaintStatus::Assigned => form.step method="post" action=(action) {
                input type="hidden" name="step" value="answer";
                label for={"answer-" (id)} { (t(lang, "answer")) }
                textarea id={"answer-" (id)} name="answer" rows="2" required { (value(|t| &t.answer)) }
                (field_error(lang, refused))
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
                (field_error(lang, refused))
                button.primary type="submit" { (t(lang, "record_follow_up")) }
            },
            ComplaintStatus::FollowedUp => form.step method="post" action=(action) {
                input type="hidden" name="step" value="close";
                (field_error(lang, refused))
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
        let customer_id = given(f.customer_id.as_deref())
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| AppError::invalid("customer_id", "customer_id: a number"))
            })
            .transpose()?;
        let input = ComplaintInput {
            customer_id,
            station: given(f.station.as_deref()),
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
                        return Err(AppError::invalid("satisfied", "satisfied: yes or no"));
                    }
                },
                notes: given(self.notes.as_deref()),
            },
            "close" => Move::Close,
            _ => {
                return Err(AppError::invalid(
                    "step",
                    "step: assign, answer, follow_up or close",
                ));
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
        @if policy::may(&s.actor, Action::ReadCare) {
            p.noprint #care-links {
                a #care-link href="/care" { (t(lang, "care_page")) } " · "
                a #visits-link href="/visits" { (t(lang, "visit_plan")) }
            }
        }
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
                        (field_error(lang, refused))
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
        let notes = given(f.notes.as_deref());
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
                crate::time::parse_rfc3339(at)
                    .ok_or_else(|| AppError::invalid("before", "before: an RFC 3339 time"))
            })
            .transpose()?;
        let (archive, entries) = act::customer_timeline(&state, &s.actor, id, before).await?;
        let care = act::customer_care(&state, &s.actor, id).await?;
        Ok(customer_body(
            &state,
            &s,
            &archive,
            &entries,
            Some(&care),
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
    care: Option<&CustomerCare>,
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
        @if let Some(care) = care { (care_section(lang, tz, &s.actor, care)) }
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

/// The customer's calls and visits and their planned visits, with the
/// links that log one and plan one for those who may.
fn care_section(lang: Lang, tz: chrono_tz::Tz, actor: &Actor, care: &CustomerCare) -> Markup {
    let id = care.customer_id;
    let station = match (care.station_id, &care.district) {
        (Some(station), Some(district)) => Some(Target::station(station, district)),
        _ => None,
    };
    let may = |action| {
        station
            .as_ref()
            .is_some_and(|t| policy::permits(actor, action, t))
    };
    let open: Vec<&PlannedVisit> = care
        .visits
        .iter()
        .filter(|v| v.status == VisitStatus::Planned)
        .collect();
    html! {
        section.panel #care {
            h2 { (t(lang, "care_log")) }
            @if may(Action::CallCustomers) || may(Action::PlanVisits) {
                p.noprint {
                    @if may(Action::CallCustomers) { a #log-contact-link href={"/care?customer=" (id) "#care-picked"} { (t(lang, "log_contact")) } }
                    @if may(Action::CallCustomers) && may(Action::PlanVisits) { " · " }
                    @if may(Action::PlanVisits) { a #plan-visit-link href={"/visits?customer=" (id) "#plan-form"} { (t(lang, "plan_visit")) } }
                }
            }
            @if !open.is_empty() {
                p #planned-visits { (t(lang, "visits_planned")) " "
                    @for (i, v) in open.iter().enumerate() {
                        @if i > 0 { " · " }
                        (v.planned_for) " " (purpose_word(lang, v.purpose))
                        @if v.overdue { " " span.due { (t(lang, "visit_overdue")) } }
                    }
                }
            }
            (care_log(lang, tz, &care.contacts, care.contacts.len()))
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
        let card_number = given(self.card_number.as_deref());
        let pin = given(self.pin.as_deref());
        let identity = given(self.document_number.as_deref()).map(|n| Identity {
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
    let at = e.and_then(AppError::field).unwrap_or("");
    html! {
        form.panel.noprint #merge-form method="post" action={"/customers/" (id) "/merge"} {
            h2 { (t(lang, "merge_customers")) }
            p.k { (t(lang, "merge_hint")) }
            @if let Some(e) = e { (error_box(lang, e)) }
            div.row {
                div { label for="merge-other" { (t(lang, "merge_other")) }
                      input #merge-other name="other_id" inputmode="numeric" required value=(typed.other)
                          autofocus[at == "other_id"] aria-invalid=[(at == "other_id").then_some("true")];
                      (beside(lang, e, "other_id")) }
                div { label { input #merge-confirm type="checkbox" name="confirm" value="yes" required
                                  autofocus[at == "confirm_merge"];
                              " " (t(lang, "merge_confirm")) }
                      (beside(lang, e, "confirm_merge")) }
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
            return Err(AppError::invalid(
                "confirm_merge",
                "confirm_merge: tick that the two records are the same customer",
            ));
        }
        let other = f
            .other_id
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::invalid("other_id", "other_id: a customer number"))?;
        act::merge_customers(&state, &s.actor, id, other)
            .await
            .map_err(|e| match e.code {
                Code::Forbidden | Code::Internal | Code::DatabaseUnavailable => e,
                _ => with_field(e, "other_id"),
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
                    let care = act::customer_care(&state, &s.actor, id).await.ok();
                    let body = customer_body(&state, &s, &archive, &entries, care.as_ref(), &typed);
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
            EntryKind::CareCall | EntryKind::CareVisit => {
                @if let Some(p) = Purpose::parse(detail) { (purpose_word(lang, p)) }
            }
            EntryKind::CardReplaced | EntryKind::BenefitGranted | EntryKind::BenefitRedeemed => span.code { (detail) },
            _ => (or_dash(e.detail.as_deref())),
        }
    }
}

// ------------------------------------------------------------ customer care

fn care_kind_word(lang: Lang, k: CareKind) -> &'static str {
    match k {
        CareKind::Call => t(lang, "care_call"),
        CareKind::Visit => t(lang, "care_visit"),
    }
}

fn purpose_word(lang: Lang, p: Purpose) -> &'static str {
    match p {
        Purpose::Thanks => t(lang, "purpose_thanks"),
        Purpose::KeyCustomer => t(lang, "purpose_key_customer"),
        Purpose::Festival => t(lang, "purpose_festival"),
        Purpose::Birthday => t(lang, "purpose_birthday"),
        Purpose::WinBack => t(lang, "purpose_win_back"),
        Purpose::Collection => t(lang, "purpose_collection"),
        Purpose::ComplaintFollowUp => t(lang, "purpose_complaint_follow_up"),
    }
}

fn care_outcome_word(lang: Lang, o: CareOutcome) -> &'static str {
    match o {
        CareOutcome::Reached => t(lang, "call_reached"),
        CareOutcome::Satisfied => t(lang, "care_satisfied"),
        CareOutcome::Unhappy => t(lang, "call_unhappy"),
        CareOutcome::WillReturn => t(lang, "call_will_return"),
        CareOutcome::MovedAway => t(lang, "call_moved_away"),
        CareOutcome::Declined => t(lang, "care_declined"),
        CareOutcome::PromisedPayment => t(lang, "care_promised_payment"),
        CareOutcome::NoAnswer => t(lang, "call_no_answer"),
        CareOutcome::WrongNumber => t(lang, "call_wrong_number"),
    }
}

fn visit_status_word(lang: Lang, s: VisitStatus) -> &'static str {
    match s {
        VisitStatus::Planned => t(lang, "visit_planned"),
        VisitStatus::Done => t(lang, "visit_done"),
        VisitStatus::Cancelled => t(lang, "visit_cancelled"),
    }
}

fn occasion_word(lang: Lang, k: OccasionKind) -> &'static str {
    match k {
        OccasionKind::Birthday => t(lang, "birthday"),
        OccasionKind::Anniversary => t(lang, "anniversary"),
    }
}

/// A field's label, its input, and the refusal beside it when it names
/// the field.
fn labelled(
    lang: Lang,
    id: &str,
    label: &str,
    input: Markup,
    e: Option<&AppError>,
    field: &str,
) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            (input)
            (beside(lang, e, field))
        }
    }
}

/// A select of an enum's values, the one typed (or `default`) chosen.
fn options<T: Copy + serde::Serialize>(
    all: &[T],
    chosen: &str,
    name: impl Fn(T) -> &'static str,
) -> Markup {
    html! {
        @for v in all {
            @let code = code_of(*v);
            option value=(code) selected[chosen == code] { (name(*v)) }
        }
    }
}

/// What was typed into a refused log form.
#[derive(Default)]
struct CareTyped {
    kind: String,
    purpose: String,
    outcome: String,
    notes: String,
    next_step: String,
    next_step_on: String,
    visit_id: String,
}

#[derive(Deserialize, Default)]
pub struct CareQuery {
    level: Option<String>,
    lifecycle: Option<String>,
    name: Option<String>,
    /// The customer whose call or visit is to be logged.
    customer: Option<i64>,
    /// The planned visit the visit is for.
    visit: Option<i64>,
    /// The purpose to start the form with.
    purpose: Option<String>,
}

/// The station's customer care: its customers with their level, stage,
/// last contact and next visit, filtered; the form that logs a call or
/// visit to the one picked.
pub async fn care_page(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<CareQuery>,
) -> Response {
    let lang = s.lang;
    let typed = CareTyped {
        kind: if q.visit.is_some() {
            "visit".into()
        } else {
            String::new()
        },
        purpose: q.purpose.clone().unwrap_or_default(),
        visit_id: q.visit.map(|v| v.to_string()).unwrap_or_default(),
        ..CareTyped::default()
    };
    let shown = care_body(&state, &s, &q, &typed, None).await;
    render(lang, &s.actor, t(lang, "care_page"), shown)
}

async fn care_body(
    state: &App,
    s: &Signed,
    q: &CareQuery,
    typed: &CareTyped,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let filter = CareFilter {
        level: given(q.level.as_deref())
            .map(|l| parse_code::<Level>("level", &l))
            .transpose()?,
        lifecycle: given(q.lifecycle.as_deref())
            .map(|l| parse_code::<Lifecycle>("lifecycle", &l))
            .transpose()?,
        name: crate::text::optional("name", q.name.as_deref(), 50)?,
    };
    let list = act::care_customers(state, &s.actor, None, None, &filter).await?;
    let picked = match q.customer {
        Some(id) => Some(act::customer_care(state, &s.actor, id).await),
        None => None,
    };
    let may_call = policy::may(&s.actor, Action::CallCustomers);
    let may_plan = policy::may(&s.actor, Action::PlanVisits);
    let level_typed = q.level.as_deref().unwrap_or_default();
    let stage_typed = q.lifecycle.as_deref().unwrap_or_default();
    Ok(html! {
        h1 { (t(lang, "care_page")) }
        p.noprint #care-links {
            a #visits-link href="/visits" { (t(lang, "visit_plan")) } " · "
            a #birthdays-link href="/birthdays" { (t(lang, "birthdays_page")) } " · "
            a href="/callbacks" { (t(lang, "callback_list")) }
        }
        @match &picked {
            Some(Ok(care)) => (care_panel(lang, tz, &s.actor, care, typed, refused)),
            Some(Err(e)) => section.panel #care-picked { (error_box(lang, e)) },
            None => {},
        }
        form.panel.noprint #care-filter method="get" action="/care" {
            div.row {
                div { label for="care-level" { (t(lang, "level")) }
                      select #care-level name="level" {
                          option value="" { (t(lang, "care_any")) }
                          (options(Level::ALL, level_typed, |l| level_word(lang, l)))
                      } }
                div { label for="care-stage" { (t(lang, "lifecycle")) }
                      select #care-stage name="lifecycle" {
                          option value="" { (t(lang, "care_any")) }
                          (options(&LIFECYCLES, stage_typed, |l| lifecycle_word(lang, l)))
                      } }
                div { label for="care-name" { (t(lang, "name")) }
                      input #care-name name="name" value=(q.name.as_deref().unwrap_or_default()); }
                button.secondary type="submit" { (t(lang, "care_show")) }
            }
        }
        @if list.is_empty() { p #no-care-customers { (t(lang, "no_care_customers")) } } @else {
            p.k { (tr(lang, "care_customers_count", &[("count", list.len().into())])) }
            table #care-customers {
                thead { tr {
                    th { (t(lang, "customer")) } th { (t(lang, "phone")) } th { (t(lang, "station")) }
                    th { (t(lang, "level")) } th { (t(lang, "lifecycle")) } th { (t(lang, "last_refuel")) }
                    th { (t(lang, "last_contact")) } th { (t(lang, "next_visit")) }
                    @if may_call || may_plan { th.noprint { (t(lang, "care_actions")) } }
                } }
                tbody {
                    @for c in &list {
                        (care_row(lang, tz, &s.actor, c, may_call, may_plan))
                    }
                }
            }
        }
    })
}

const LIFECYCLES: [Lifecycle; 5] = [
    Lifecycle::New,
    Lifecycle::Growing,
    Lifecycle::Stable,
    Lifecycle::Dormant,
    Lifecycle::Lost,
];

fn care_row(
    lang: Lang,
    tz: chrono_tz::Tz,
    actor: &Actor,
    c: &CareCustomer,
    may_call: bool,
    may_plan: bool,
) -> Markup {
    let id = c.customer_id;
    let archive = policy::permits(actor, Action::ReadCustomerArchive, &Target::company(id));
    html! {
        tr id={"care-" (id)} {
            td { @if archive { a.data href={"/customers/" (id)} { (c.name) } } @else { (data(&c.name)) } }
            td.code { (c.phone.as_deref().unwrap_or("—")) }
            td.code { (c.station) }
            td { @match c.level { Some(l) => (level_word(lang, l)), None => (t(lang, "not_graded")) } }
            td { (lifecycle_word(lang, c.lifecycle)) }
            td { @match &c.last_refuel_at { Some(at) => (local(at, tz)), None => (t(lang, "never_refuelled")) } }
            td { @match &c.last_contact {
                Some(l) => { (care_kind_word(lang, l.kind)) " · " (purpose_word(lang, l.purpose)) " · "
                             (care_outcome_word(lang, l.outcome)) " · " (local(&l.at, tz)) }
                None => "—",
            } }
            td { (c.next_visit.as_deref().unwrap_or("—")) }
            @if may_call || may_plan {
                td.noprint {
                    @if may_call { a href={"/care?customer=" (id) "#care-picked"} { (t(lang, "log_contact")) } }
                    @if may_call && may_plan { " · " }
                    @if may_plan { a href={"/visits?customer=" (id) "#plan-form"} { (t(lang, "plan_visit")) } }
                }
            }
        }
    }
}

/// The customer picked: whose they are, their last calls and visits, and
/// the form that logs one for those who may.
fn care_panel(
    lang: Lang,
    tz: chrono_tz::Tz,
    actor: &Actor,
    care: &CustomerCare,
    typed: &CareTyped,
    refused: Option<&AppError>,
) -> Markup {
    let id = care.customer_id;
    let may_log = match (care.station_id, &care.district) {
        (Some(station), Some(district)) => policy::permits(
            actor,
            Action::CallCustomers,
            &Target::station(station, district),
        ),
        _ => false,
    };
    let at = refused.and_then(AppError::field).unwrap_or("");
    let kind = if typed.kind.is_empty() {
        "call"
    } else {
        typed.kind.as_str()
    };
    let purpose = if typed.purpose.is_empty() {
        "thanks"
    } else {
        typed.purpose.as_str()
    };
    let outcome = if typed.outcome.is_empty() {
        "reached"
    } else {
        typed.outcome.as_str()
    };
    html! {
        section.panel #care-picked {
            h2 { (t(lang, "log_contact")) " · " (data(&care.name)) " #" (id) }
            p.k {
                (t(lang, "level")) " " @match care.level { Some(l) => (level_word(lang, l)), None => (t(lang, "not_graded")) }
                " · " (t(lang, "station")) " " span.code { (care.station.as_deref().unwrap_or("—")) }
            }
            @if let Some(e) = refused.filter(|_| at.is_empty()) { (error_box(lang, e)) }
            @if care.station.is_none() {
                p.notice #no-station { (t(lang, "care_no_station")) }
            } @else if may_log {
                form.noprint #care-form method="post" action={"/customers/" (id) "/care"} {
                    input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                    input type="hidden" name="visit_id" value=(typed.visit_id);
                    div.row {
                        (labelled(lang, "care-kind", t(lang, "care_kind"), html! {
                            select #care-kind name="kind" autofocus[at == "kind"] {
                                (options(CareKind::ALL, kind, |k| care_kind_word(lang, k)))
                            }
                        }, refused, "kind"))
                        (labelled(lang, "care-purpose", t(lang, "purpose"), html! {
                            select #care-purpose name="purpose" autofocus[at == "purpose"] {
                                (options(Purpose::ALL, purpose, |p| purpose_word(lang, p)))
                            }
                        }, refused, "purpose"))
                        (labelled(lang, "care-outcome", t(lang, "outcome"), html! {
                            select #care-outcome name="outcome" autofocus[at == "outcome"] {
                                (options(CareOutcome::ALL, outcome, |o| care_outcome_word(lang, o)))
                            }
                        }, refused, "outcome"))
                    }
                    div.row {
                        (labelled(lang, "care-notes", t(lang, "care_notes"), html! {
                            input #care-notes name="notes" value=(typed.notes)
                                autofocus[at == "notes"] aria-invalid=[(at == "notes").then_some("true")];
                        }, refused, "notes"))
                        (labelled(lang, "care-next", t(lang, "care_next_step"), html! {
                            input #care-next name="next_step" value=(typed.next_step)
                                autofocus[at == "next_step"] aria-invalid=[(at == "next_step").then_some("true")];
                        }, refused, "next_step"))
                        (labelled(lang, "care-next-on", t(lang, "care_next_step_on"), html! {
                            input #care-next-on name="next_step_on" type="date" value=(typed.next_step_on)
                                autofocus[at == "next_step_on"] aria-invalid=[(at == "next_step_on").then_some("true")];
                        }, refused, "next_step_on"))
                    }
                    (beside(lang, refused, "visit_id"))
                    button.primary type="submit" { (t(lang, "log_contact")) }
                }
            } @else {
                p.k #care-not-yours { (t(lang, "care_not_yours")) }
            }
            (care_log(lang, tz, &care.contacts, 5))
        }
    }
}

/// A customer's calls and visits, the latest first, at most `most`.
fn care_log(lang: Lang, tz: chrono_tz::Tz, contacts: &[CareRecord], most: usize) -> Markup {
    html! {
        @if contacts.is_empty() { p.k.no-care-log { (t(lang, "no_care_log")) } } @else {
            table.care-log {
                thead { tr {
                    th { (t(lang, "time")) } th { (t(lang, "care_kind")) } th { (t(lang, "purpose")) }
                    th { (t(lang, "outcome")) } th { (t(lang, "care_notes")) } th { (t(lang, "care_next_step")) }
                    th { (t(lang, "station")) } th { (t(lang, "care_by")) }
                } }
                tbody {
                    @for c in contacts.iter().take(most) {
                        tr data-kind=(c.kind.as_str()) {
                            td { (local(&c.at, tz)) }
                            td { (care_kind_word(lang, c.kind)) }
                            td { (purpose_word(lang, c.purpose)) }
                            td { (care_outcome_word(lang, c.outcome)) }
                            td { (or_dash(c.notes.as_deref())) }
                            td { (or_dash(c.next_step.as_deref()))
                                 @if let Some(on) = &c.next_step_on { " · " (on) } }
                            td.code { (c.station) }
                            td { (or_dash(c.by.as_deref())) }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CareForm {
    key: String,
    kind: String,
    purpose: String,
    outcome: String,
    notes: Option<String>,
    next_step: Option<String>,
    next_step_on: Option<String>,
    visit_id: Option<String>,
}

/// Logs a call or visit from the care page's form: [`act::log_contact`],
/// as `POST /api/v1/customers/{id}/care`; a double click logs one. A
/// refusal shows the page again with what was typed and the field at
/// fault.
pub async fn log_contact(
    State(state): State<App>,
    s: Signed,
    Path(customer): Path<i64>,
    Form(f): Form<CareForm>,
) -> Response {
    let done: AppResult<()> = async {
        let visit_id = given(f.visit_id.as_deref())
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| AppError::invalid("visit_id", "visit_id: a number"))
            })
            .transpose()?;
        let input = CareInput {
            kind: parse_code("kind", &f.kind)?,
            purpose: parse_code("purpose", &f.purpose)?,
            outcome: parse_code("outcome", &f.outcome)?,
            notes: given(f.notes.as_deref()),
            next_step: given(f.next_step.as_deref()),
            next_step_on: given(f.next_step_on.as_deref()),
            visit_id,
        };
        let form = format!(
            "{}|{}|{}|{:?}|{:?}|{:?}|{:?}",
            f.kind,
            f.purpose,
            f.outcome,
            input.notes,
            input.next_step,
            input.next_step_on,
            visit_id
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            &format!("/customers/{customer}/care"),
            form.as_bytes(),
        );
        act::log_contact(&state, &s.actor, Some(&key), customer, &input).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/care?customer={customer}#care-picked")).into_response(),
        Err(e) => {
            let lang = s.lang;
            let title = t(lang, "care_page");
            let q = CareQuery {
                customer: Some(customer),
                ..CareQuery::default()
            };
            let typed = CareTyped {
                kind: f.kind,
                purpose: f.purpose,
                outcome: f.outcome,
                notes: f.notes.unwrap_or_default(),
                next_step: f.next_step.unwrap_or_default(),
                next_step_on: f.next_step_on.unwrap_or_default(),
                visit_id: f.visit_id.unwrap_or_default(),
            };
            match care_body(&state, &s, &q, &typed, Some(&e)).await {
                Ok(b) => (e.code.status(), page(lang, title, Some(&s.actor), b)).into_response(),
                Err(_) => render(lang, &s.actor, title, Err(e)),
            }
        }
    }
}

// ------------------------------------------------------------ the visit plan

/// What was typed into a refused plan form, or the visit whose
/// cancellation was refused.
#[derive(Default)]
struct PlanTyped {
    customer_id: String,
    planned_for: String,
    purpose: String,
    notes: String,
    cancelled: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct VisitsQuery {
    from: Option<String>,
    to: Option<String>,
    /// The customer to plan a visit to.
    customer: Option<i64>,
}

/// The station's visit plan, with the form that plans a visit and a
/// button to call each planned one off.
pub async fn visits_page(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<VisitsQuery>,
) -> Response {
    let lang = s.lang;
    let typed = PlanTyped {
        customer_id: q.customer.map(|c| c.to_string()).unwrap_or_default(),
        ..PlanTyped::default()
    };
    let shown = visits_body(&state, &s, &q, &typed, None).await;
    render(lang, &s.actor, t(lang, "visit_plan"), shown)
}

async fn visits_body(
    state: &App,
    s: &Signed,
    q: &VisitsQuery,
    typed: &PlanTyped,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let (from, to, plan) = act::visit_plan(
        state,
        &s.actor,
        None,
        None,
        given(q.from.as_deref()).as_deref(),
        given(q.to.as_deref()).as_deref(),
    )
    .await?;
    let may_plan = policy::may(&s.actor, Action::PlanVisits);
    let may_call = policy::may(&s.actor, Action::CallCustomers);
    let at = refused.and_then(AppError::field).unwrap_or("");
    let plan_refused = refused.filter(|_| typed.cancelled.is_none());
    let purpose = if typed.purpose.is_empty() {
        "key_customer"
    } else {
        typed.purpose.as_str()
    };
    Ok(html! {
        h1 { (t(lang, "visit_plan")) }
        p.k #visit-rule { (t(lang, "visit_rule")) }
        p.noprint {
            a href="/care" { (t(lang, "care_page")) } " · "
            a href="/birthdays" { (t(lang, "birthdays_page")) }
        }
        @if let Some(e) = refused.filter(|_| at.is_empty() || typed.cancelled.is_some()) { (error_box(lang, e)) }
        @if may_plan {
            form.panel.noprint #plan-form method="post" action="/visits" {
                h2 { (t(lang, "plan_visit")) }
                input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                div.row {
                    (labelled(lang, "plan-customer", t(lang, "care_customer_number"), html! {
                        input #plan-customer name="customer_id" inputmode="numeric" required value=(typed.customer_id)
                            autofocus[at == "customer_id" || (at.is_empty() && !typed.customer_id.is_empty())]
                            aria-invalid=[(at == "customer_id").then_some("true")];
                    }, plan_refused, "customer_id"))
                    (labelled(lang, "plan-day", t(lang, "planned_for"), html! {
                        input #plan-day name="planned_for" type="date" required value=(typed.planned_for)
                            autofocus[at == "planned_for"] aria-invalid=[(at == "planned_for").then_some("true")];
                    }, plan_refused, "planned_for"))
                    (labelled(lang, "plan-purpose", t(lang, "purpose"), html! {
                        select #plan-purpose name="purpose" autofocus[at == "purpose"] {
                            (options(Purpose::ALL, purpose, |p| purpose_word(lang, p)))
                        }
                    }, plan_refused, "purpose"))
                    (labelled(lang, "plan-notes", t(lang, "visit_notes"), html! {
                        input #plan-notes name="notes" value=(typed.notes)
                            autofocus[at == "notes"] aria-invalid=[(at == "notes").then_some("true")];
                    }, plan_refused, "notes"))
                    button.primary type="submit" { (t(lang, "plan_visit")) }
                }
            }
        }
        form.noprint #plan-span method="get" action="/visits" {
            div.row {
                div { label for="plan-from" { (t(lang, "care_from")) }
                      input #plan-from name="from" type="date" value=(from.format("%Y-%m-%d").to_string()); }
                div { label for="plan-to" { (t(lang, "care_to")) }
                      input #plan-to name="to" type="date" value=(to.format("%Y-%m-%d").to_string()); }
                button.secondary type="submit" { (t(lang, "care_show")) }
            }
        }
        @if plan.is_empty() { p #no-visits { (t(lang, "no_visits")) } } @else {
            table #visits {
                thead { tr {
                    th { (t(lang, "planned_for")) } th { (t(lang, "customer")) } th { (t(lang, "level")) }
                    th { (t(lang, "station")) } th { (t(lang, "purpose")) } th { (t(lang, "status")) }
                    th { (t(lang, "planned_by")) } th { (t(lang, "visit_notes")) }
                    th.noprint { (t(lang, "care_actions")) }
                } }
                tbody {
                    @for v in &plan {
                        (visit_row(lang, &s.actor, v, may_call))
                    }
                }
            }
        }
    })
}

fn visit_row(lang: Lang, actor: &Actor, v: &PlannedVisit, may_call: bool) -> Markup {
    let station = Target::station(v.station_id, &v.district);
    let open = v.status == VisitStatus::Planned;
    let cancel = open && policy::permits(actor, Action::PlanVisits, &station);
    let log = open && may_call && policy::permits(actor, Action::CallCustomers, &station);
    let archive = policy::permits(
        actor,
        Action::ReadCustomerArchive,
        &Target::company(v.customer_id),
    );
    html! {
        tr id={"visit-" (v.id)} class=[v.overdue.then_some("overdue")] {
            td { (v.planned_for) @if v.overdue { " " span.due { (t(lang, "visit_overdue")) } } }
            td { @if archive { a.data href={"/customers/" (v.customer_id)} { (v.customer) } } @else { (data(&v.customer)) } }
            td { @match v.level { Some(l) => (level_word(lang, l)), None => (t(lang, "not_graded")) } }
            td.code { (v.station) }
            td { (purpose_word(lang, v.purpose)) }
            td { (visit_status_word(lang, v.status)) }
            td { (or_dash(v.planned_by.as_deref())) }
            td { (or_dash(v.notes.as_deref())) }
            td.noprint {
                @if log {
                    a href={"/care?customer=" (v.customer_id) "&visit=" (v.id) "&purpose=" (v.purpose.as_str()) "#care-picked"} { (t(lang, "log_visit")) }
                }
                @if cancel {
                    form.step method="post" action={"/visits/" (v.id) "/cancellation"} {
                        button.secondary type="submit" { (t(lang, "cancel_visit")) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct PlanForm {
    key: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    planned_for: String,
    #[serde(default)]
    purpose: String,
    notes: Option<String>,
}

/// Plans a visit from the plan's form: [`act::plan_visit`], as
/// `POST /api/v1/visits`; a refusal (a key customer's visit too soon among
/// them) shows the page again with what was typed and the field at fault.
pub async fn plan_visit(State(state): State<App>, s: Signed, Form(f): Form<PlanForm>) -> Response {
    let done: AppResult<i64> = async {
        let customer_id = f
            .customer_id
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::invalid("customer_id", "customer_id: a customer number"))?;
        let input = VisitPlanInput {
            customer_id,
            planned_for: f.planned_for.clone(),
            purpose: given(f.purpose.as_str())
                .map(|p| parse_code("purpose", &p))
                .transpose()?,
            notes: given(f.notes.as_deref()),
        };
        let form = format!(
            "{customer_id}|{}|{}|{:?}",
            f.planned_for, f.purpose, input.notes
        );
        let key = Keyed::new(&state.keys.pin, &f.key, "POST", "/visits", form.as_bytes());
        Ok(act::plan_visit(&state, &s.actor, Some(&key), &input)
            .await
            .map_err(|e| match e.code {
                Code::CustomerNotFound | Code::CustomerHasNoStation => {
                    e.with("field", "customer_id")
                }
                _ => e,
            })?
            .value
            .id)
    }
    .await;
    match done {
        Ok(id) => Redirect::to(&format!("/visits#visit-{id}")).into_response(),
        Err(e) => {
            let typed = PlanTyped {
                customer_id: f.customer_id,
                planned_for: f.planned_for,
                purpose: f.purpose,
                notes: f.notes.unwrap_or_default(),
                cancelled: None,
            };
            visits_refused(&state, &s, &typed, e).await
        }
    }
}

/// Calls a planned visit off from its row's button.
pub async fn cancel_visit(State(state): State<App>, s: Signed, Path(id): Path<i64>) -> Response {
    match act::cancel_visit(&state, &s.actor, id).await {
        Ok(_) => Redirect::to(&format!("/visits#visit-{id}")).into_response(),
        Err(e) => {
            let typed = PlanTyped {
                cancelled: Some(id),
                ..PlanTyped::default()
            };
            visits_refused(&state, &s, &typed, e).await
        }
    }
}

/// The plan again after a refusal, at its status.
async fn visits_refused(state: &App, s: &Signed, typed: &PlanTyped, e: AppError) -> Response {
    let lang = s.lang;
    let title = t(lang, "visit_plan");
    match visits_body(state, s, &VisitsQuery::default(), typed, Some(&e)).await {
        Ok(b) => (e.code.status(), page(lang, title, Some(&s.actor), b)).into_response(),
        Err(_) => render(lang, &s.actor, title, Err(e)),
    }
}

// ------------------------------------------------ birthdays and anniversaries

#[derive(Deserialize)]
pub struct BirthdaysQuery {
    days: Option<i64>,
}

/// The birthdays and anniversaries kept with the contacts of the station's
/// customers that come within the days picked, the soonest first.
pub async fn birthdays_page(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<BirthdaysQuery>,
) -> Response {
    let lang = s.lang;
    let days = q.days.unwrap_or(30);
    let shown: AppResult<Markup> = async {
        let list = act::birthdays(&state, &s.actor, None, None, Some(days)).await?;
        let may_call = policy::may(&s.actor, Action::CallCustomers);
        Ok(html! {
            h1 { (t(lang, "birthdays_page")) }
            p.noprint {
                a href="/care" { (t(lang, "care_page")) } " · "
                a href="/visits" { (t(lang, "visit_plan")) }
            }
            form.noprint #birthdays-span method="get" action="/birthdays" {
                div.row {
                    div { label for="birthdays-days" { (t(lang, "care_days_ahead")) }
                          select #birthdays-days name="days" {
                              @for n in [7_i64, 30, 90, 366] {
                                  option value=(n) selected[n == days] { (tr(lang, "within_days", &[("days", n.into())])) }
                              }
                          } }
                    button.secondary type="submit" { (t(lang, "care_show")) }
                }
            }
            @if list.is_empty() { p #no-occasions { (t(lang, "no_occasions")) } } @else {
                table #occasions {
                    thead { tr {
                        th { (t(lang, "care_occasion_on")) } th.num { (t(lang, "care_in_days")) } th { (t(lang, "customer")) }
                        th { (t(lang, "contact")) } th { (t(lang, "contact_role")) } th { (t(lang, "phone")) }
                        th { (t(lang, "care_occasion")) } th { (t(lang, "station")) }
                        @if may_call { th.noprint { (t(lang, "care_actions")) } }
                    } }
                    tbody {
                        @for o in &list {
                            tr {
                                td { (o.on) } td.num { (o.in_days) }
                                td { (data(&o.customer)) }
                                td { (data(&o.contact)) }
                                td { (or_dash(o.role.as_deref())) }
                                td.code { (o.phone.as_deref().unwrap_or("—")) }
                                td { (occasion_word(lang, o.kind)) " · " (tr(lang, "years_on", &[("years", o.years.into())])) }
                                td.code { (o.station) }
                                @if may_call {
                                    td.noprint { a href={"/care?customer=" (o.customer_id) "&purpose=birthday#care-picked"} { (t(lang, "log_contact")) } }
                                }
                            }
                        }
                    }
                }
            }
        })
    }
    .await;
    render(lang, &s.actor, t(lang, "birthdays_page"), shown)
}

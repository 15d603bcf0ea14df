//! The acquisition pages for station, district and HQ managers: the month's
//! targets with completion bars, the leaderboard and the wins, the prospect
//! pipeline with its forms, and the district's weekly report. Each page
//! shows the caller's own part of the network (a station manager's station,
//! a district manager's district, HQ's choice), and every figure and write
//! goes through the same actions as the API.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Months;
use maud::{Markup, html};
use serde::Deserialize;

use super::alliance::local;
use super::form::given;
use super::text::{tr, tr_data};
use super::{Lang, Signed, csv_or_refusal, data, error_box, page, render, t};
use crate::acquisition::periods::Period;
use crate::acquisition::prospects::{Contact, Prospect, ProspectInput, ProspectKind, VisitInput};
use crate::acquisition::rankings;
use crate::acquisition::targets::{Completion, TrackingLine};
use crate::actions::acquisition::{self as act, RankBy};
use crate::actions::{App, Keyed, reads};
use crate::auth::policy::Action;
use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::{Stage, Status as _};

/// The part of the network a manager's page shows: their station, their
/// district, or (HQ, admin) the district they pick, else everything.
struct Part {
    station: Option<String>,
    district: Option<String>,
}

async fn part_of(state: &App, actor: &Actor, picked: Option<&str>) -> AppResult<Part> {
    Ok(match actor.role {
        Role::StationManager | Role::Cashier => {
            let id = actor
                .station_id
                .ok_or_else(|| AppError::new(Code::StationRequired, "your user has no station"))?;
            let s = reads::station(state, id).await?;
            Part {
                station: Some(s.code),
                district: None,
            }
        }
        Role::DistrictManager => Part {
            station: None,
            district: actor.district.clone(),
        },
        _ => Part {
            station: None,
            district: picked.filter(|d| !d.is_empty()).map(String::from),
        },
    })
}

pub(super) fn this_month(state: &App) -> String {
    crate::time::local_date(state.now(), state.settings.time_zone)
        .format("%Y-%m")
        .to_string()
}

/// The month before and after `month`, for the page's arrows.
pub(super) fn around(month: &str) -> Option<(String, String)> {
    let first = Period::parse(month).ok()?.first;
    let prev = first.checked_sub_months(Months::new(1))?;
    let next = first.checked_add_months(Months::new(1))?;
    Some((
        prev.format("%Y-%m").to_string(),
        next.format("%Y-%m").to_string(),
    ))
}

/// A period's label (`2026-Q4`, `2026-W48`, `2026-11`) in the page's
/// language; a month is written the same in both.
fn period_words(lang: Lang, label: &str) -> String {
    let numbers = |rest: &str| {
        let year = label.get(..4)?.parse::<i64>().ok()?;
        Some((year, rest.parse::<i64>().ok()?))
    };
    let worded = match label.get(4..6) {
        Some("-Q") => numbers(&label[6..]).map(|(year, q)| {
            tr(
                lang,
                "period_quarter",
                &[("year", year.into()), ("quarter", q.into())],
            )
        }),
        Some("-W") => numbers(&label[6..]).map(|(year, w)| {
            tr(
                lang,
                "period_week",
                &[("year", year.into()), ("week", w.into())],
            )
        }),
        _ => None,
    };
    worded.unwrap_or_else(|| label.to_string())
}

/// A completion bar: the percent written beside a bar filled up to it
/// (full past 100).
fn bar(actual: String, target: Option<String>, done: &Option<String>) -> Markup {
    let width = done
        .as_deref()
        .and_then(|p| p.parse::<rust_decimal::Decimal>().ok())
        .map_or(rust_decimal::Decimal::ZERO, |p| {
            p.clamp(
                rust_decimal::Decimal::ZERO,
                rust_decimal::Decimal::ONE_HUNDRED,
            )
        })
        .normalize();
    html! {
        td.num data-v=(actual) {
            (actual)
            @if let Some(t) = target { span.k { " / " (t) } }
            @if let Some(p) = done {
                div.bar title={(p) "%"} { span style={"width:" (width) "%"} {} }
                span.k { (p) "%" }
            }
        }
    }
}

pub(super) fn tracking_table(lang: Lang, lines: &[TrackingLine]) -> Markup {
    html! {
        table #tracking {
            thead { tr {
                th { (t(lang, "station_or_district")) }
                th.num { (t(lang, "new_personal")) }
                th.num { (t(lang, "new_company")) }
                th.num { (t(lang, "first_recharge")) }
                th.num { (t(lang, "card_litres")) }
                th.num { (t(lang, "still_refuelling")) }
            } }
            tbody {
                @for l in lines {
                    @let c: &Completion = &l.completion;
                    tr.district[l.station.is_none()] {
                        td { @if let Some(s) = &l.station { (s) } @else { strong.data { (l.district) } } }
                        (bar(l.actual.new_personal.to_string(), l.target.new_personal.map(|v| v.to_string()), &c.new_personal))
                        (bar(l.actual.new_company.to_string(), l.target.new_company.map(|v| v.to_string()), &c.new_company))
                        (bar(l.actual.first_recharge_amount.to_string(), l.target.first_recharge_amount.map(|v| v.to_string()), &c.first_recharge_amount))
                        (bar(l.actual.card_litres.to_string(), l.target.card_litres.map(|v| v.to_string()), &c.card_litres))
                        td.num { (l.retention.still_active) " / " (l.retention.new_customers) }
                    }
                }
            }
        }
    }
}

fn places(lang: Lang, board: &[rankings::Place]) -> Markup {
    html! {
        table #leaderboard {
            thead { tr {
                th.num { "#" }
                th { (t(lang, "station_or_staff")) }
                th.num { (t(lang, "new_customers")) }
                th.num { (t(lang, "first_recharge")) }
                th.num { (t(lang, "card_litres")) }
            } }
            tbody {
                @for p in board {
                    tr { td.num { (p.rank) } td.data { (p.who) " " span.k { (p.detail) } }
                         td.num { (p.new_customers) } td.num { (p.first_recharge_amount) }
                         td.num { (p.card_litres) } }
                }
            }
        }
    }
}

/// The wins panel, also shown on the counter's home page.
pub(super) fn wins_panel(lang: Lang, wins: &[rankings::Announcement]) -> Markup {
    html! {
        section.panel #wins {
            h2 { (t(lang, "wins")) }
            @if wins.is_empty() { p.k { (t(lang, "no_wins")) } }
            ul {
                @for win in wins {
                    @let who = match &win.staff {
                        Some(s) => format!("{} {} ({s})", win.district, win.station_name),
                        None => format!("{} {}", win.district, win.station_name),
                    };
                    @let kind = [("kind", win.kind.as_str().into())];
                    li {
                        (win.at.get(..10).unwrap_or(&win.at)) " · "
                        @match &win.amount_band {
                            Some(b) => (tr_data(lang, "win_line_recharge", &[kind[0].clone(), ("band", b.as_str().into())], &[("who", &who)])),
                            None => (tr_data(lang, "win_line", &kind, &[("who", &who)])),
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct OverviewQuery {
    month: Option<String>,
    district: Option<String>,
}

/// The manager's acquisition page.
pub async fn overview(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let lang = s.lang;
    let month = q.month.unwrap_or_else(|| this_month(&state));
    let shown: AppResult<Markup> = async {
        let part = part_of(&state, &s.actor, q.district.as_deref()).await?;
        let (st, di) = (part.station.as_deref(), part.district.as_deref());
        let tracking = act::tracking(&state, &s.actor, &month, st, di).await?;
        let board = act::leaderboard(&state, &s.actor, &month, RankBy::Station).await?;
        let wins = act::wins(&state, &s.actor, None).await?;
        let (prev, next) = around(&month).unwrap_or_default();
        let query = |m: &str| match di.filter(|_| s.actor.role != Role::DistrictManager) {
            Some(d) => format!("?month={m}&district={d}"),
            None => format!("?month={m}"),
        };
        Ok(html! {
            h1 { (t(lang, "customer_acquisition")) " · " (tracking.month) }
            p.noprint {
                a href={"/acquisition" (query(&prev))} { "← " (prev) } " · "
                a href={"/acquisition" (query(&next))} { (next) " →" } " · "
                a #prospects-link href="/acquisition/prospects" accesskey="p" { (t(lang, "prospects")) } " · "
                @if matches!(s.actor.role, Role::DistrictManager | Role::Hq | Role::Admin) {
                    a href="/acquisition/weekly" { (t(lang, "weekly_report")) } " · "
                }
                a href={"/acquisition/tracking.csv" (query(&tracking.month))} { "CSV" }
            }
            (super::station::manager_tasks(&s.actor, lang))
            section.panel {
                h2 { (t(lang, "targets_and_completion")) }
                p.k { (tr(lang, "activation_rule", &[
                    ("days", tracking.activation_days.into()),
                    ("quarter", period_words(lang, &tracking.retention_quarter).into()),
                ])) }
                (tracking_table(lang, &tracking.lines))
            }
            section.panel {
                h2 { (t(lang, "leaderboard")) " · " (period_words(lang, &board.period)) }
                p.k { (t(lang, "ranking_rule")) }
                (places(lang, &board.places))
                p.noprint { a href={"/acquisition/leaderboard.csv?period=" (board.period)} { "CSV" } }
            }
            (wins_panel(lang, &wins))
        })
    }
    .await;
    render(lang, &s.actor, t(lang, "customer_acquisition"), shown)
}

/// The tracking table as CSV.
pub async fn tracking_csv(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let month = q.month.unwrap_or_else(|| this_month(&state));
    let made: AppResult<String> = async {
        let part = part_of(&state, &s.actor, q.district.as_deref()).await?;
        let t = act::tracking(
            &state,
            &s.actor,
            &month,
            part.station.as_deref(),
            part.district.as_deref(),
        )
        .await?;
        let opt = |v: Option<String>| v.unwrap_or_default();
        let rows = t.lines.iter().map(|l| {
            vec![
                l.district.clone(),
                opt(l.station.clone()),
                l.actual.new_personal.to_string(),
                opt(l.target.new_personal.map(|v| v.to_string())),
                opt(l.completion.new_personal.clone()),
                l.actual.new_company.to_string(),
                opt(l.target.new_company.map(|v| v.to_string())),
                opt(l.completion.new_company.clone()),
                l.actual.first_recharge_amount.to_string(),
                opt(l.target.first_recharge_amount.map(|v| v.to_string())),
                opt(l.completion.first_recharge_amount.clone()),
                l.actual.card_litres.to_string(),
                opt(l.target.card_litres.map(|v| v.to_string())),
                opt(l.completion.card_litres.clone()),
                l.retention.new_customers.to_string(),
                l.retention.still_active.to_string(),
            ]
        });
        crate::csv_io::table(
            &[
                "district",
                "station",
                "new_personal",
                "target_new_personal",
                "completion_new_personal",
                "new_company",
                "target_new_company",
                "completion_new_company",
                "first_recharge_amount",
                "target_first_recharge_amount",
                "completion_first_recharge_amount",
                "card_litres",
                "target_card_litres",
                "completion_card_litres",
                "retention_new_customers",
                "retention_still_active",
            ],
            rows,
        )
    }
    .await;
    csv_or_refusal(&format!("tracking-{month}.csv"), made)
}

#[derive(Deserialize)]
pub struct BoardQuery {
    period: Option<String>,
    by: Option<RankBy>,
}

/// The leaderboard as CSV.
pub async fn leaderboard_csv(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<BoardQuery>,
) -> Response {
    let period = q.period.unwrap_or_else(|| this_month(&state));
    let made: AppResult<String> = async {
        let b =
            act::leaderboard(&state, &s.actor, &period, q.by.unwrap_or(RankBy::Station)).await?;
        let rows = b.places.iter().map(|p| {
            vec![
                p.rank.to_string(),
                p.who.clone(),
                p.detail.clone(),
                p.new_customers.to_string(),
                p.first_recharge_amount.to_string(),
                p.card_litres.to_string(),
            ]
        });
        crate::csv_io::table(
            &[
                "rank",
                "who",
                "detail",
                "new_customers",
                "first_recharge_amount",
                "card_litres",
            ],
            rows,
        )
    }
    .await;
    csv_or_refusal(&format!("leaderboard-{period}.csv"), made)
}

#[derive(Deserialize)]
pub struct BoardPageQuery {
    district: Option<String>,
}

/// The prospects the board shows, as CSV.
pub async fn prospects_csv(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<BoardPageQuery>,
) -> Response {
    let made: AppResult<String> = async {
        let part = part_of(&state, &s.actor, q.district.as_deref()).await?;
        let list = act::list_prospects(
            &state,
            &s.actor,
            part.station.as_deref(),
            part.district.as_deref(),
            None,
            false,
        )
        .await?;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let rows = list.iter().map(|p| {
            vec![
                p.id.to_string(),
                p.station.clone(),
                p.kind.as_str().to_string(),
                p.name.clone(),
                p.stage.as_str().to_string(),
                opt(&p.owner),
                p.vehicles.map(|v| v.to_string()).unwrap_or_default(),
                p.est_monthly_litres
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                opt(&p.current_supplier),
                opt(&p.next_step),
                opt(&p.next_at),
                p.overdue.to_string(),
            ]
        });
        crate::csv_io::table(
            &[
                "id",
                "station",
                "kind",
                "name",
                "stage",
                "owner",
                "vehicles",
                "est_monthly_litres",
                "current_supplier",
                "next_step",
                "next_at",
                "overdue",
            ],
            rows,
        )
    }
    .await;
    csv_or_refusal("prospects.csv", made)
}

const OPEN_STAGES: [Stage; 4] = [
    Stage::Surveyed,
    Stage::Planned,
    Stage::Contacted,
    Stage::Negotiating,
];

pub(super) fn stage_word(lang: Lang, s: Stage) -> &'static str {
    match s {
        Stage::Surveyed => t(lang, "stage_surveyed"),
        Stage::Planned => t(lang, "stage_planned"),
        Stage::Contacted => t(lang, "stage_contacted"),
        Stage::Negotiating => t(lang, "stage_negotiating"),
        Stage::Won => t(lang, "stage_won"),
        Stage::Lost => t(lang, "stage_lost"),
    }
}

pub(super) fn kind_word(lang: Lang, k: ProspectKind) -> &'static str {
    match k {
        ProspectKind::Person => t(lang, "prospect_person"),
        ProspectKind::Company => t(lang, "prospect_company"),
        ProspectKind::Fleet => t(lang, "prospect_fleet"),
        ProspectKind::Community => t(lang, "prospect_community"),
        ProspectKind::Other => t(lang, "prospect_other"),
    }
}

fn prospect_card(lang: Lang, p: &Prospect) -> Markup {
    html! {
        div.prospect.overdue[p.overdue] data-id=(p.id) {
            a href={"/acquisition/prospects/" (p.id)} { strong.data { (p.name) } }
            br; span.k { (kind_word(lang, p.kind)) " · " (p.station) }
            @if let Some(step) = &p.next_step {
                br; span.data { (step) }
            }
            @if let Some(at) = &p.next_at {
                br; span.k { (at.get(..10).unwrap_or(at)) }
                @if p.overdue { " " strong.due { (t(lang, "overdue")) } }
            }
        }
    }
}

/// The pipeline board, and the form for a new prospect.
pub async fn board(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<BoardPageQuery>,
) -> Response {
    let lang = s.lang;
    let shown = board_body(&state, &s, q.district.as_deref(), None).await;
    render(lang, &s.actor, t(lang, "prospects"), shown)
}

async fn board_body(
    state: &App,
    s: &Signed,
    district: Option<&str>,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let part = part_of(state, &s.actor, district).await?;
    let list = act::list_prospects(
        state,
        &s.actor,
        part.station.as_deref(),
        part.district.as_deref(),
        None,
        false,
    )
    .await?;
    let stations: Vec<String> = reads::stations(state)
        .await?
        .into_iter()
        .filter(|st| match (&part.station, &part.district) {
            (Some(code), _) => &st.code == code,
            (None, Some(d)) => &st.district == d,
            (None, None) => true,
        })
        .map(|st| st.code)
        .collect();
    Ok(html! {
        h1 { (t(lang, "prospect_pipeline")) }
        p.noprint { a href="/acquisition" { "← " (t(lang, "customer_acquisition")) }
                    " · " a href="/acquisition/prospects.csv" { "CSV" } }
        @if let Some(e) = refused { (error_box(lang, e)) }
        div.board {
            @for stage in OPEN_STAGES.iter().chain([Stage::Won, Stage::Lost].iter()) {
                section.column data-stage=(stage.as_str()) {
                    h2 { (stage_word(lang, *stage)) }
                    @for p in list.iter().filter(|p| p.stage == *stage) { (prospect_card(lang, p)) }
                }
            }
        }
        form.panel #new-prospect method="post" action="/acquisition/prospects" {
            h2 { (t(lang, "new_prospect")) }
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.row {
                div { label for="station" { (t(lang, "station")) }
                    select #station name="station" {
                        @for code in &stations { option value=(code) { (code) } }
                    }
                }
                div { label for="kind" { (t(lang, "prospect_kind")) }
                    select #kind name="kind" {
                        @for k in [ProspectKind::Company, ProspectKind::Fleet, ProspectKind::Person, ProspectKind::Community, ProspectKind::Other] {
                            option value=(k.as_str()) { (kind_word(lang, k)) }
                        }
                    }
                }
                div { label for="pname" { (t(lang, "name")) } input #pname name="name" required; }
                div { label for="vehicles" { (t(lang, "vehicles")) } input #vehicles name="vehicles" inputmode="numeric"; }
                div { label for="litres" { (t(lang, "est_monthly_litres")) } input #litres name="est_monthly_litres" inputmode="decimal"; }
                div { label for="supplier" { (t(lang, "fuels_now_at")) } input #supplier name="current_supplier"; }
                div { label for="contact" { (t(lang, "contact_decides")) } input #contact name="contact_name"; }
                div { label for="cphone" { (t(lang, "phone")) } input #cphone name="contact_phone" inputmode="tel"; }
                button.primary type="submit" { (t(lang, "save")) }
            }
        }
    })
}

#[derive(Deserialize)]
pub struct ProspectForm {
    key: String,
    station: Option<String>,
    kind: ProspectKind,
    name: String,
    vehicles: Option<String>,
    est_monthly_litres: Option<String>,
    current_supplier: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
}

/// The prospect a form describes, as typed: the board's form and the
/// counter's lead read their fields alike (a count of vehicles, and the
/// contact when one is named).
pub(super) fn prospect_input(
    kind: ProspectKind,
    name: String,
    vehicles: Option<&str>,
    est_monthly_litres: Option<&str>,
    current_supplier: Option<&str>,
    contact_name: Option<&str>,
    contact_phone: Option<&str>,
) -> AppResult<ProspectInput> {
    let vehicles = given(vehicles)
        .map(|v| {
            v.parse::<u32>()
                .map_err(|_| AppError::invalid("vehicles", "vehicles: a count"))
        })
        .transpose()?;
    Ok(ProspectInput {
        kind,
        name,
        address: None,
        vehicles,
        est_monthly_litres: given(est_monthly_litres),
        current_supplier: given(current_supplier),
        current_discount: None,
        contacts: given(contact_name)
            .map(|name| Contact {
                name,
                role: None,
                phone: given(contact_phone),
                decision_maker: true,
            })
            .into_iter()
            .collect(),
        channel: None,
    })
}

/// Adds a prospect from the board's form; a double click adds one.
pub async fn new_prospect(
    State(state): State<App>,
    s: Signed,
    Form(f): Form<ProspectForm>,
) -> Response {
    let lang = s.lang;
    let done: AppResult<i64> = async {
        let input = prospect_input(
            f.kind,
            f.name.clone(),
            f.vehicles.as_deref(),
            f.est_monthly_litres.as_deref(),
            f.current_supplier.as_deref(),
            f.contact_name.as_deref(),
            f.contact_phone.as_deref(),
        )?;
        let form = format!(
            "{:?}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
            f.station,
            f.kind.as_str(),
            f.name,
            f.vehicles,
            f.est_monthly_litres,
            f.current_supplier,
            f.contact_name,
            f.contact_phone
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            "/acquisition/prospects",
            form.as_bytes(),
        );
        let done = act::add_prospect(
            &state,
            &s.actor,
            Some(&key),
            f.station.as_deref(),
            &input,
            Action::WorkProspects,
        )
        .await?;
        Ok(done.value.id)
    }
    .await;
    match done {
        Ok(id) => Redirect::to(&format!("/acquisition/prospects/{id}")).into_response(),
        Err(e) => {
            let status = e.code.status();
            let title = t(lang, "prospects");
            let body = board_body(&state, &s, None, Some(&e)).await;
            match body {
                Ok(b) => (status, page(lang, title, Some(&s.actor), b)).into_response(),
                Err(_) => render(lang, &s.actor, title, Err(e)),
            }
        }
    }
}

/// A prospect with its visits and the forms to record the next one, move
/// it along the pipeline, or win it.
pub async fn prospect_page(State(state): State<App>, s: Signed, Path(id): Path<i64>) -> Response {
    let lang = s.lang;
    let shown = prospect_body(&state, &s, id, None).await;
    render(lang, &s.actor, t(lang, "prospect"), shown)
}

async fn prospect_body(
    state: &App,
    s: &Signed,
    id: i64,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let (p, visits) = act::get_prospect(state, &s.actor, id).await?;
    let open = OPEN_STAGES.contains(&p.stage);
    Ok(html! {
        h1 { (data(&p.name)) " · " span #stage { (stage_word(lang, p.stage)) } }
        p.noprint { a href="/acquisition/prospects" { "← " (t(lang, "prospect_pipeline")) } }
        @if let Some(e) = refused { (error_box(lang, e)) }
        section.panel.grid {
            div { div.k { (t(lang, "prospect_kind")) } div.v { (kind_word(lang, p.kind)) } }
            div { div.k { (t(lang, "station")) } div.v { (p.station) " · " (data(&p.district)) } }
            div { div.k { (t(lang, "vehicles")) } div.v { (p.vehicles.map(|v| v.to_string()).unwrap_or_default()) } }
            div { div.k { (t(lang, "est_monthly_litres")) } div.v { (p.est_monthly_litres.map(|l| l.to_string()).unwrap_or_default()) } }
            div { div.k { (t(lang, "fuels_now_at")) } div.v.data { (p.current_supplier.clone().unwrap_or_default()) } }
            div { div.k { (t(lang, "owner")) } div.v.data { (p.owner.clone().unwrap_or_default()) } }
            @for c in &p.contacts {
                div { div.k { (t(lang, "contact")) @if c.decision_maker { " ★" } }
                      div.v.data { (c.name) " " (c.phone.clone().unwrap_or_default()) } }
            }
            @if let Some(r) = &p.lost_reason { div { div.k { (t(lang, "reason")) } div.v.data { (r) } } }
        }
        section.panel {
            h2 { (t(lang, "visit_log")) }
            table #visits {
                thead { tr { th { (t(lang, "time")) } th { (t(lang, "visited_by")) } th { (t(lang, "outcome")) } th { (t(lang, "next_step")) } } }
                tbody {
                    @for v in &visits {
                        tr { td { (local(&v.at, tz)) } td.data { (v.by) } td.data { (v.outcome) }
                             td { span.data { (v.next_step.clone().unwrap_or_default()) } " " span.k { (v.next_at.as_deref().map(|at| local(at, tz)).unwrap_or_default()) } } }
                    }
                }
            }
            @if open {
                form #visit method="post" action={"/acquisition/prospects/" (p.id) "/visits"} {
                    input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                    div.row {
                        div { label for="outcome" { (t(lang, "outcome")) } input #outcome name="outcome" required autofocus; }
                        div { label for="next_step" { (t(lang, "next_step")) } input #next_step name="next_step"; }
                        div { label for="next_at" { (t(lang, "next_on")) } input #next_at name="next_at" type="datetime-local"; }
                        button.primary type="submit" { (t(lang, "record_visit")) }
                    }
                }
            }
        }
        @if open || p.stage == Stage::Lost {
            form.panel #move method="post" action={"/acquisition/prospects/" (p.id) "/stage"} {
                div.row {
                    div { label for="to" { (t(lang, "move_to")) }
                        select #to name="stage" {
                            @for st in [Stage::Planned, Stage::Contacted, Stage::Negotiating, Stage::Lost] {
                                option value=(st.as_str()) { (stage_word(lang, st)) }
                            }
                            option value="won" { (stage_word(lang, Stage::Won)) }
                        }
                    }
                    div { label for="reason" { (t(lang, "why_lost")) } input #reason name="reason"; }
                    div { label for="card" { (t(lang, "card_opened_when_won")) } input #card name="card_number" inputmode="numeric"; }
                    button.primary type="submit" { (t(lang, "save")) }
                }
            }
        }
    })
}

/// Local date and time from a `datetime-local` field, as RFC 3339 in the
/// operator's zone.
fn local_input(text: &str, tz: chrono_tz::Tz) -> AppResult<Option<String>> {
    use chrono::TimeZone as _;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| Some(t.to_rfc3339()))
        .ok_or_else(|| AppError::invalid("next_at", "next_at: a date and time"))
}

#[derive(Deserialize)]
pub struct VisitForm {
    key: String,
    outcome: String,
    next_step: Option<String>,
    next_at: Option<String>,
}

pub async fn visit(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<VisitForm>,
) -> Response {
    let done: AppResult<()> = async {
        let input = VisitInput {
            at: None,
            outcome: f.outcome.clone(),
            next_step: given(f.next_step.as_deref()),
            next_at: local_input(f.next_at.as_deref().unwrap_or(""), state.settings.time_zone)?,
        };
        let form = format!("{id}|{}|{:?}|{:?}", f.outcome, f.next_step, f.next_at);
        let path = format!("/acquisition/prospects/{id}/visits");
        let key = Keyed::new(&state.keys.pin, &f.key, "POST", &path, form.as_bytes());
        act::add_visit(&state, &s.actor, Some(&key), id, &input).await?;
        Ok(())
    }
    .await;
    after_write(&state, &s, id, done).await
}

#[derive(Deserialize)]
pub struct StageForm {
    stage: Stage,
    reason: Option<String>,
    card_number: Option<String>,
}

pub async fn stage(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<StageForm>,
) -> Response {
    let done: AppResult<()> = async {
        if f.stage == Stage::Won {
            let number = given(f.card_number.as_deref()).ok_or_else(|| {
                AppError::invalid(
                    "card_number",
                    "a prospect is won with the card its customer opened",
                )
            })?;
            let number = crate::cards::parse_number(&number)?;
            let customer = reads::customer_of_card(&state, &number).await?;
            let customer = customer.ok_or_else(|| {
                AppError::invalid("card_number", "an anonymous card names no customer")
            })?;
            act::win_prospect(&state, &s.actor, id, customer).await?;
        } else {
            act::set_stage(
                &state,
                &s.actor,
                id,
                f.stage,
                given(f.reason.as_deref()).as_deref(),
            )
            .await?;
        }
        Ok(())
    }
    .await;
    after_write(&state, &s, id, done).await
}

/// Back to the prospect after a write; a refusal is shown on its page with
/// the status it carries.
async fn after_write(state: &App, s: &Signed, id: i64, done: AppResult<()>) -> Response {
    let lang = s.lang;
    match done {
        Ok(()) => Redirect::to(&format!("/acquisition/prospects/{id}")).into_response(),
        Err(e) => {
            let status = e.code.status();
            let title = t(lang, "prospect");
            match prospect_body(state, s, id, Some(&e)).await {
                Ok(b) => (status, page(lang, title, Some(&s.actor), b)).into_response(),
                Err(_) => render(lang, &s.actor, title, Err(e)),
            }
        }
    }
}

#[derive(Deserialize)]
pub struct WeeklyQuery {
    district: Option<String>,
    week: Option<String>,
}

/// A district's weekly report with the form to submit it.
pub async fn weekly_page(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<WeeklyQuery>,
) -> Response {
    let lang = s.lang;
    let shown = weekly_body(&state, &s, q.district.as_deref(), q.week.as_deref(), None).await;
    render(lang, &s.actor, t(lang, "weekly_report"), shown)
}

async fn weekly_body(
    state: &App,
    s: &Signed,
    district: Option<&str>,
    week: Option<&str>,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let part = part_of(state, &s.actor, district).await?;
    let districts = reads::districts(state).await?;
    let district = match part.district {
        Some(d) => d,
        None => districts
            .first()
            .map(|d| d.code.clone())
            .ok_or_else(|| AppError::new(Code::DistrictNotFound, "no district on file"))?,
    };
    let r = act::weekly_report(state, &s.actor, &district, week).await?;
    Ok(html! {
        h1 { (t(lang, "district_weekly_report")) }
        p.noprint { a href="/acquisition" { "← " (t(lang, "customer_acquisition")) } }
        @if let Some(e) = refused { (error_box(lang, e)) }
        @if s.actor.role != Role::DistrictManager {
            form.noprint method="get" action="/acquisition/weekly" {
                select name="district" {
                    @for d in &districts { option.data value=(d.code) selected[d.code == district] { (d.name) } }
                }
                " " button type="submit" { (t(lang, "show")) }
            }
        }
        section.panel {
            h2 { (data(&r.district)) " · " (period_words(lang, &r.week)) " · " span #report-status {
                @if r.status == "submitted" { (t(lang, "report_submitted")) } @else { (t(lang, "report_draft")) } } }
            table #weekly {
                thead { tr {
                    th { (t(lang, "station")) }
                    th.num { (t(lang, "new_customers")) }
                    th.num { (t(lang, "first_recharge")) }
                    th.num { (t(lang, "recharged_amount")) }
                    th.num { (t(lang, "card_litres")) }
                    th.num { (t(lang, "visits")) }
                    th.num { (t(lang, "new_prospects")) }
                } }
                tbody {
                    @for st in &r.stations {
                        tr { td { (st.station) " " span.k.data { (st.name) } } td.num { (st.new_customers) }
                             td.num { (st.first_recharge_amount) } td.num { (st.recharge_amount) }
                             td.num { (st.card_litres) } td.num { (st.visits) } td.num { (st.new_prospects) } }
                    }
                }
            }
            @if let Some(n) = &r.notes { p { strong { (t(lang, "notes")) } (data(n)) } }
            p.noprint { a href={"/acquisition/weekly.csv?district=" (r.district) "&week=" (r.week)} { "CSV" } }
        }
        @if r.status == "draft" && s.actor.role == Role::DistrictManager {
            form.panel #submit method="post" action={"/acquisition/weekly/" (r.id) "/submission"} {
                label for="notes" { (t(lang, "weeks_notes")) }
                input #notes name="notes";
                button.primary type="submit" { (t(lang, "submit")) }
            }
        }
    })
}

/// A district's weekly report as CSV.
pub async fn weekly_csv(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<WeeklyQuery>,
) -> Response {
    let made: AppResult<String> = async {
        let part = part_of(&state, &s.actor, q.district.as_deref()).await?;
        let district = part
            .district
            .ok_or_else(|| AppError::invalid("district", "name the district"))?;
        let r = act::weekly_report(&state, &s.actor, &district, q.week.as_deref()).await?;
        let rows = r.stations.iter().map(|st| {
            vec![
                st.station.clone(),
                st.name.clone(),
                st.new_customers.to_string(),
                st.first_recharge_amount.to_string(),
                st.recharge_amount.to_string(),
                st.card_litres.to_string(),
                st.visits.to_string(),
                st.new_prospects.to_string(),
            ]
        });
        crate::csv_io::table(
            &[
                "station",
                "name",
                "new_customers",
                "first_recharge_amount",
                "recharge_amount",
                "card_litres",
                "visits",
                "new_prospects",
            ],
            rows,
        )
    }
    .await;
    let week = q.week.as_deref().unwrap_or("latest");
    csv_or_refusal(&format!("weekly-{week}.csv"), made)
}

#[derive(Deserialize)]
pub struct SubmitForm {
    notes: String,
}

pub async fn submit(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<SubmitForm>,
) -> Response {
    let lang = s.lang;
    match act::submit_weekly(&state, &s.actor, id, &f.notes).await {
        Ok(r) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("district", &r.district)
                .append_pair("week", &r.week)
                .finish();
            Redirect::to(&format!("/acquisition/weekly?{query}")).into_response()
        }
        Err(e) => {
            let status = e.code.status();
            let title = t(lang, "weekly_report");
            match weekly_body(&state, &s, None, None, Some(&e)).await {
                Ok(b) => (status, page(lang, title, Some(&s.actor), b)).into_response(),
                Err(_) => render(lang, &s.actor, title, Err(e)),
            }
        }
    }
}

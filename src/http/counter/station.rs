//! The station's pages beyond the till: opening a card of every kind with
//! where the customer came from, transfers between a company's cards, the
//! shift's close with its day report, complaints and leads at the counter;
//! the managers' targets, flyer batches and day reports by date — over the
//! actions the API uses.
//!
//! Each form posts to the page path that mirrors its API path without
//! `/api/v1` (`POST /transfers`, `POST /shifts/{id}/close`,
//! `POST /prospects/leads`, `POST /targets/{month}` for the API's `PUT`,
//! `POST /acquisition/flyers`) and calls the API's action; a refusal shows
//! the form again with what was typed and the refusal beside its field.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::acquisition::{kind_word, prospect_input, stage_word, this_month, tracking_table};
use super::alliance::local;
use super::form::{beside, given, with_field};
use super::text::{self, tr};
use super::{Cashier, Lang, Signed, csv_or_refusal, error_box, one_page, page, refused, render, t};
use crate::acquisition::channels::FlyerBatch;
use crate::acquisition::prospects::{CSV_HEADER, ProspectKind};
use crate::acquisition::targets::TargetInput;
use crate::actions::acquisition as act;
use crate::actions::{App, Keyed, counter, shifts};
use crate::auth::policy::{self, Action};
use crate::auth::{Actor, Role};
use crate::cards;
use crate::error::{AppError, AppResult, Code};
use crate::http::api::{amount, amount_or_zero};
use crate::lifecycle::{Stage, Status as _};
use crate::stations::Station;

/// The room's page routes, merged into the pages' router.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/transfers", get(transfer_page).post(transfer))
        .route("/shifts", post(open_shift))
        .route("/shifts/current", get(shift_page))
        .route("/shifts/{id}/close", post(close_shift))
        .route("/stations/{code}/day-report", get(day_report))
        .route("/prospects", get(prospects_page))
        .route("/prospects/import", get(import_page).post(import_prospects))
        .route("/prospects/import/template.csv", get(import_template))
        .route("/prospects/leads", get(lead_page).post(note_lead))
        .route("/targets", get(targets_now))
        .route("/targets/{month}", get(targets_page).post(put_targets))
        .route("/acquisition/flyers", get(flyers_page).post(add_flyers))
}

/// The counter's tasks, shown under the card search on the counter's home
/// page: only what the role may do.
pub(super) async fn counter_tasks(state: &App, actor: &Actor, lang: Lang) -> Markup {
    let code = own_station(state, actor).await.map(|s| s.code);
    let may = |a| policy::may(actor, a);
    html! {
        nav.panel #counter-tasks aria-label=(t(lang, "station-tasks")) {
            h2 { (t(lang, "station-tasks")) }
            ul {
                @if may(Action::OpenCard) { li { a href="/cards/new" { (t(lang, "open_card")) } } }
                @if may(Action::MoveCompanyFunds) { li { a #transfer-link href="/transfers" { (t(lang, "station-company_transfer")) } } }
                @if may(Action::CloseShift) { li { a #shift-link href="/shifts/current" { (t(lang, "station-shift")) } } }
                @if may(Action::RecordComplaint) { li { a href="/complaints#new-complaint" { (t(lang, "record_complaint")) } } }
                @if may(Action::NoteLead) { li { a #lead-link href="/prospects/leads" { (t(lang, "station-note_lead")) } } }
                @if let (true, Some(code)) = (may(Action::ReadDayReport), &code) {
                    li { a #day-report-link href={"/stations/" (code) "/day-report"} { (t(lang, "station-day_report")) } }
                }
                @if may(Action::ReadTargets) { li { a href="/acquisition" { (t(lang, "targets_and_completion")) } } }
                @if may(Action::ReadProspects) { li { a href="/prospects?overdue=1" { (t(lang, "station-overdue_prospects")) } } }
                @if may(Action::WorkProspects) { li { a href="/acquisition/flyers" { (t(lang, "station-flyers")) } } }
                @if may(Action::WorkComplaints) { li { a href="/complaints" { (t(lang, "complaint_board")) } } }
                @if may(Action::ReadCare) { li { a #care-link href="/care" { (t(lang, "care_page")) } } }
                @if may(Action::ReadCare) { li { a #visits-link href="/visits" { (t(lang, "visit_plan")) } } }
            }
        }
    }
}

/// The district and head office managers' tasks, shown on the acquisition
/// page they land on.
pub(super) fn manager_tasks(actor: &Actor, lang: Lang) -> Markup {
    let may = |a| policy::may(actor, a);
    html! {
        @if actor.role == Role::DistrictManager {
            p.noprint #manager-tasks {
                @if may(Action::SetTargets) { a #targets-link href="/targets" accesskey="t" { (t(lang, "station-set_targets")) } " · " }
                @if may(Action::WorkProspects) { a #flyers-link href="/acquisition/flyers" { (t(lang, "station-flyers")) } " · " }
                @if may(Action::ReadProspects) { a #overdue-link href="/prospects?overdue=1" { (t(lang, "station-overdue_prospects")) } }
            }
        }
    }
}

async fn own_station(state: &App, actor: &Actor) -> Option<Station> {
    let id = actor.station_id?;
    crate::actions::reads::station(state, id).await.ok()
}

fn refused_with(lang: Lang, actor: &Actor, title: &str, e: &AppError, body: Markup) -> Response {
    (
        e.code.status(),
        page(
            lang,
            title,
            Some(actor),
            html! { (error_box(lang, e)) (body) },
        ),
    )
        .into_response()
}

// ---------------------------------------------------------------- transfers

#[derive(Deserialize, Default)]
pub struct TransferForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    from_card: String,
    #[serde(default)]
    to_card: String,
    #[serde(default)]
    amount: String,
    pin: Option<String>,
}

fn transfer_form(lang: Lang, typed: &TransferForm, err: Option<&AppError>) -> Markup {
    html! {
        h1 { (t(lang, "station-company_transfer")) }
        p.k { (t(lang, "station-transfer_hint")) }
        form.panel #transfer method="post" action="/transfers" {
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.row {
                div { label for="from_card" { (t(lang, "station-from_card")) }
                      input #from_card name="from_card" value=(typed.from_card) required inputmode="numeric" autofocus autocomplete="off";
                      (beside(lang, err, "from_card")) }
                div { label for="to_card" { (t(lang, "station-to_card")) }
                      input #to_card name="to_card" value=(typed.to_card) required inputmode="numeric" autocomplete="off";
                      (beside(lang, err, "to_card")) }
                div { label for="amount" { (t(lang, "amount")) }
                      input #amount name="amount" value=(typed.amount) required inputmode="decimal" placeholder="1000.00";
                      (beside(lang, err, "amount")) }
                div { label for="pin" { (t(lang, "station-main_card_pin")) }
                      input #pin name="pin" type="password" inputmode="numeric" autocomplete="off";
                      (beside(lang, err, "pin")) }
                button.primary type="submit" { (t(lang, "station-move_funds")) " " kbd { "Enter" } }
            }
        }
    }
}

/// The transfer form; `?from=` fills the main card in.
pub async fn transfer_page(c: Cashier, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let lang = c.lang;
    if !policy::may(&c.actor, Action::MoveCompanyFunds) {
        return refused(lang, &c.actor, "not_counter_role");
    }
    let typed = TransferForm {
        from_card: q.get("from").cloned().unwrap_or_default(),
        to_card: q.get("to").cloned().unwrap_or_default(),
        ..TransferForm::default()
    };
    let title = t(lang, "station-company_transfer");
    page(
        lang,
        title,
        Some(&c.actor),
        transfer_form(lang, &typed, None),
    )
    .into_response()
}

/// Moves a company's money between its main card and a sub-card, on the
/// main card's PIN: [`counter::transfer`], as `POST /api/v1/transfers`.
pub async fn transfer(
    State(state): State<App>,
    c: Cashier,
    Form(f): Form<TransferForm>,
) -> Response {
    let lang = c.lang;
    let done = async {
        let order = counter::Transfer {
            from: cards::parse_number(f.from_card.trim())
                .map_err(|e| with_field(e, "from_card"))?,
            to: cards::parse_number(f.to_card.trim()).map_err(|e| with_field(e, "to_card"))?,
            amount: amount("amount", f.amount.trim())?,
            pin: f.pin.clone().filter(|p| !p.is_empty()),
        };
        let form = format!("{}|{}|{}", f.from_card, f.to_card, f.amount);
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            "/transfers",
            form.as_bytes(),
        );
        counter::transfer(&state, &c.actor, &key, order)
            .await
            .map(|d| d.value)
    }
    .await;
    let title = t(lang, "station-company_transfer");
    match done {
        Ok(moved) => page(
            lang,
            title,
            Some(&c.actor),
            html! {
                h1 { (t(lang, "station-transfer_done")) }
                div.panel.ok #transferred role="status" {
                    table {
                        tr { td { (t(lang, "amount")) } td.num #moved { "¥" (moved.amount) } }
                        tr { td { (t(lang, "station-from_card")) " " a href={"/cards/" (moved.from_card)} { (moved.from_card) } }
                             td.num #from-balance { "¥" (moved.from_balance) } }
                        tr { td { (t(lang, "station-to_card")) " " a href={"/cards/" (moved.to_card)} { (moved.to_card) } }
                             td.num #to-balance { "¥" (moved.to_balance) } }
                    }
                }
                p { a href={"/transfers?from=" (moved.from_card)} accesskey="n" { (t(lang, "station-another_transfer")) } }
            },
        )
        .into_response(),
        Err(e) => {
            let e = match e.code {
                Code::WrongPin | Code::PinRequired | Code::PinLocked | Code::CompanyConsentRequired => {
                    with_field(e, "pin")
                }
                Code::InsufficientBalance => with_field(e, "amount"),
                _ => e,
            };
            refused_with(lang, &c.actor, title, &e, transfer_form(lang, &f, Some(&e)))
        }
    }
}

// ------------------------------------------------------------------- shifts

/// Opens the cashier's shift: [`shifts::open`], as `POST /api/v1/shifts`.
pub async fn open_shift(State(state): State<App>, c: Cashier) -> Response {
    match shifts::open(&state, &c.actor, None).await {
        Ok(_) => Redirect::to("/shifts/current").into_response(),
        Err(e) => render(c.lang, &c.actor, t(c.lang, "station-shift"), Err(e)),
    }
}

#[derive(Deserialize, Default)]
pub struct CountedForm {
    #[serde(default)]
    counted_cash: String,
    #[serde(default)]
    counted_bank_card: String,
    #[serde(default)]
    counted_transfer: String,
}

fn totals_rows(lang: Lang, s: &crate::stations::shifts::Shift) -> Markup {
    let counted = s.counted.as_ref();
    let row = |key: &'static str, id: &str, expected: String, counted: Option<String>| {
        html! {
            tr {
                td { (t(lang, key)) }
                td.num id={"expected-" (id)} { (expected) }
                td.num id={"counted-" (id)} { (counted.unwrap_or_default()) }
            }
        }
    };
    html! {
        table #shift-totals {
            thead { tr { th { (t(lang, "payment_method")) } th.num { (t(lang, "station-expected")) } th.num { (t(lang, "station-counted")) } } }
            tbody {
                (row("cash", "cash", s.expected.cash.to_string(), counted.map(|c| c.cash.to_string())))
                (row("bank_card", "bank_card", s.expected.bank_card.to_string(), counted.map(|c| c.bank_card.to_string())))
                (row("transfer", "transfer", s.expected.transfer.to_string(), counted.map(|c| c.transfer.to_string())))
            }
            @if let Some(d) = &s.difference {
                tfoot { tr { th { (t(lang, "station-difference")) } td {} td.num #difference { strong { (d) } } } }
            }
        }
    }
}

fn shift_body(
    lang: Lang,
    tz: chrono_tz::Tz,
    actor: &Actor,
    shift: Option<&crate::stations::shifts::Shift>,
    typed: &CountedForm,
    err: Option<&AppError>,
) -> Markup {
    html! {
        h1 { (t(lang, "station-shift")) }
        @match shift {
            None => {
                p.notice { (t(lang, "error-shift_not_open")) }
                form.panel method="post" action="/shifts" {
                    button.primary #open-shift type="submit" autofocus { (t(lang, "station-open_shift")) }
                }
            }
            Some(s) => {
                div.panel.grid {
                    div { div.k { (t(lang, "station-opened_at")) } div.v { (local(&s.opened_at, tz)) } }
                    div { div.k { (t(lang, "recharge")) } div.v.num { (s.recharges) } }
                    div { div.k { (t(lang, "sale")) } div.v.num { (s.sales) } }
                }
                section.panel { (totals_rows(lang, s)) }
                @if policy::may(actor, Action::CloseShift) {
                    form.panel #close-shift method="post" action={"/shifts/" (s.id) "/close"} {
                        h2 { (t(lang, "station-close_shift")) }
                        p.k { (t(lang, "station-count_hint")) }
                        div.row {
                            div { label for="counted_cash" { (t(lang, "cash")) }
                                  input #counted_cash name="counted_cash" value=(typed.counted_cash) required inputmode="decimal" placeholder="0.00" autofocus;
                                  (beside(lang, err, "counted_cash")) }
                            div { label for="counted_bank_card" { (t(lang, "bank_card")) }
                                  input #counted_bank_card name="counted_bank_card" value=(typed.counted_bank_card) required inputmode="decimal" placeholder="0.00";
                                  (beside(lang, err, "counted_bank_card")) }
                            div { label for="counted_transfer" { (t(lang, "transfer")) }
                                  input #counted_transfer name="counted_transfer" value=(typed.counted_transfer) required inputmode="decimal" placeholder="0.00";
                                  (beside(lang, err, "counted_transfer")) }
                            button.danger type="submit" { (t(lang, "station-close_shift")) }
                        }
                    }
                }
            }
        }
    }
}

/// The cashier's open shift: what the till should hold, and the close.
pub async fn shift_page(State(state): State<App>, c: Cashier) -> Response {
    let lang = c.lang;
    let tz = state.settings.time_zone;
    let body = shifts::current(&state, &c.actor, None).await.map(|s| {
        shift_body(
            lang,
            tz,
            &c.actor,
            s.as_ref(),
            &CountedForm::default(),
            None,
        )
    });
    render(lang, &c.actor, t(lang, "station-shift"), body)
}

/// 交班: [`shifts::close`], as `POST /api/v1/shifts/{id}/close`; then the
/// closed shift beside the station's day report.
pub async fn close_shift(
    State(state): State<App>,
    c: Cashier,
    Path(id): Path<i64>,
    Form(f): Form<CountedForm>,
) -> Response {
    let lang = c.lang;
    let tz = state.settings.time_zone;
    let title = t(lang, "station-shift");
    let done = async {
        let counted = shifts::Counted {
            cash: amount_or_zero("counted_cash", f.counted_cash.trim())?,
            bank_card: amount_or_zero("counted_bank_card", f.counted_bank_card.trim())?,
            transfer: amount_or_zero("counted_transfer", f.counted_transfer.trim())?,
        };
        shifts::close(&state, &c.actor, id, counted).await
    }
    .await;
    match done {
        Ok(s) => {
            let code = own_station(&state, &c.actor).await.map(|s| s.code);
            let date = crate::time::local_date(state.now(), tz)
                .format("%Y-%m-%d")
                .to_string();
            page(
                lang,
                title,
                Some(&c.actor),
                html! {
                    h1 { (t(lang, "station-shift_closed")) }
                    div.panel.ok #shift-closed role="status" { (t(lang, "station-shift_closed")) }
                    section.panel { (totals_rows(lang, &s)) }
                    @if let (true, Some(code)) = (policy::may(&c.actor, Action::ReadDayReport), code) {
                        p { a #day-report-link href={"/stations/" (code) "/day-report?date=" (date)} autofocus { (t(lang, "station-day_report")) } }
                    }
                },
            )
            .into_response()
        }
        Err(e) => {
            let current = shifts::current(&state, &c.actor, None).await.ok().flatten();
            let body = shift_body(lang, tz, &c.actor, current.as_ref(), &f, Some(&e));
            refused_with(lang, &c.actor, title, &e, body)
        }
    }
}

#[derive(Deserialize)]
pub struct DateQuery {
    date: Option<String>,
}

/// The station's day-end report for a date: [`shifts::day_report`], as
/// `GET /api/v1/stations/{code}/day-report`.
pub async fn day_report(
    State(state): State<App>,
    s: Signed,
    Path(code): Path<String>,
    Query(q): Query<DateQuery>,
) -> Response {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let title = t(lang, "station-day_report");
    let body = async {
        let r = shifts::day_report(&state, &s.actor, &code, q.date.as_deref()).await?;
        let day = shifts::day_of(&state, Some(&r.date))?;
        let prev = day.pred_opt().map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        let next = day.succ_opt().map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        Ok(html! {
            h1 { (t(lang, "station-day_report")) " · " (r.station) " · " (r.date) }
            form.panel.noprint #pick-date method="get" action={"/stations/" (code) "/day-report"} {
                div.row {
                    div { label for="date" { (t(lang, "station-date")) }
                          input #date name="date" type="date" value=(r.date) required autofocus; }
                    button.secondary type="submit" { (t(lang, "show")) }
                    a href={"?date=" (prev)} accesskey="," { "← " (prev) }
                    a href={"?date=" (next)} accesskey="." { (next) " →" }
                }
            }
            section.panel {
                h2 { (t(lang, "station-day_totals")) }
                table #day-totals {
                    thead { tr { th { (t(lang, "payment_method")) } th.num { (t(lang, "station-expected")) } } }
                    tbody {
                        tr { td { (t(lang, "cash")) } td.num { (r.expected.cash) } }
                        tr { td { (t(lang, "bank_card")) } td.num { (r.expected.bank_card) } }
                        tr { td { (t(lang, "transfer")) } td.num { (r.expected.transfer) } }
                        tr { td { (t(lang, "station-difference")) } td.num #day-difference { (r.counted_difference) } }
                        tr { td { (t(lang, "station-bonus_given")) } td.num { (r.bonus_given) } }
                        tr { td { (t(lang, "station-recharges")) } td.num { (r.recharges) } }
                    }
                }
            }
            section.panel {
                h2 { (t(lang, "station-shifts")) }
                @if r.shifts.is_empty() { p.k { (t(lang, "station-no_shifts")) } }
                @else {
                    table #day-shifts {
                        thead { tr {
                            th.num { "#" } th { (t(lang, "station-opened_at")) } th { (t(lang, "closed_at")) }
                            th.num { (t(lang, "station-expected")) } th.num { (t(lang, "station-counted")) } th.num { (t(lang, "station-difference")) }
                        } }
                        tbody {
                            @for sh in &r.shifts {
                                tr {
                                    td.num { (sh.id) }
                                    td { (local(&sh.opened_at, tz)) }
                                    td { @if let Some(at) = &sh.closed_at { (local(at, tz)) } @else { span.notice { (t(lang, "station-still_open")) } } }
                                    td.num { (sh.expected.cash) }
                                    td.num { @if let Some(c) = &sh.counted { (c.cash) } }
                                    td.num { @if let Some(d) = &sh.difference { (d) } }
                                }
                            }
                        }
                    }
                }
            }
            section.panel {
                h2 { (t(lang, "station-products")) }
                table #day-products {
                    thead { tr {
                        th { (t(lang, "product")) } th.num { (t(lang, "station-sales")) } th.num { (t(lang, "litres")) }
                        th.num { (t(lang, "amount")) } th.num { (t(lang, "discount")) } th.num { (t(lang, "charged")) }
                    } }
                    tbody {
                        @for p in &r.products {
                            tr {
                                td { (text::product(lang, &p.product, &p.product)) }
                                td.num { (p.sales) } td.num { (p.litres) } td.num { (p.amount) }
                                td.num { (p.discount) } td.num { (p.charged) }
                            }
                        }
                    }
                }
            }
        })
    }
    .await;
    render(lang, &s.actor, title, body)
}

// ---------------------------------------------------------------- prospects

#[derive(Deserialize, Default)]
pub struct ProspectsQuery {
    station: Option<String>,
    stage: Option<String>,
    overdue: Option<String>,
    page: Option<usize>,
    /// How many prospects an import just added, to say so.
    imported: Option<usize>,
}

const PAGE_SIZE: usize = 25;

const STAGES: [Stage; 6] = [
    Stage::Surveyed,
    Stage::Planned,
    Stage::Contacted,
    Stage::Negotiating,
    Stage::Won,
    Stage::Lost,
];

/// The prospects the caller may see, filtered by station, stage and overdue
/// next steps, a page at a time, with each station's count of overdue next
/// steps: [`act::list_prospects`], as `GET /api/v1/prospects`.
pub async fn prospects_page(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<ProspectsQuery>,
) -> Response {
    let lang = s.lang;
    let title = t(lang, "station-prospect_list");
    let body = async {
        let stage = q.stage.as_deref().filter(|v| !v.is_empty());
        let stage = match stage {
            Some(v) => Some(STAGES.into_iter().find(|s| s.as_str() == v).ok_or_else(|| {
                AppError::invalid("stage", "stage")
            })?),
            None => None,
        };
        let overdue = q.overdue.as_deref().is_some_and(|v| !v.is_empty() && v != "0");
        let station = q.station.as_deref().filter(|v| !v.is_empty());
        let (own_station, district) = match s.actor.role {
            Role::DistrictManager => (None, s.actor.district.clone()),
            _ => (own_station(&state, &s.actor).await.map(|st| st.code), None),
        };
        let (st, di) = match (station, &own_station, &district) {
            (Some(code), _, _) => (Some(code.to_string()), None),
            (None, Some(code), _) => (Some(code.clone()), None),
            (None, None, Some(d)) => (None, Some(d.clone())),
            _ => (None, None),
        };
        // Every station's overdue count, read over the whole part of the
        // network the caller sees.
        let all = act::list_prospects(
            &state,
            &s.actor,
            own_station.as_deref(),
            if own_station.is_some() { None } else { district.as_deref() },
            None,
            true,
        )
        .await?;
        let mut late: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &all {
            *late.entry(p.station.as_str()).or_default() += 1;
        }
        let list = act::list_prospects(&state, &s.actor, st.as_deref(), di.as_deref(), stage, overdue)
            .await?;
        let (shown, at, pages) = one_page(&list, q.page, PAGE_SIZE);
        let query = |n: usize| {
            format!(
                "?station={}&stage={}&overdue={}&page={n}",
                station.unwrap_or_default(),
                stage.map(|s| s.as_str()).unwrap_or_default(),
                if overdue { "1" } else { "" }
            )
        };
        Ok(html! {
            h1 { (t(lang, "station-prospect_list")) }
            @if let Some(n) = q.imported {
                p.ok #prospects-imported role="status" { (tr(lang, "station-imported", &[("n", n.into())])) }
            }
            p.noprint { a href="/acquisition/prospects" { (t(lang, "prospect_pipeline")) } " · "
                        a href="/acquisition" { (t(lang, "customer_acquisition")) }
                        @if policy::may(&s.actor, Action::WorkProspects) {
                            " · " a #import-link href="/prospects/import" { (t(lang, "station-import_prospects")) }
                        } }
            section.panel #overdue-by-station {
                h2 { (t(lang, "station-overdue_by_station")) }
                @if late.is_empty() { p.k #no-overdue { (t(lang, "station-no_overdue")) } }
                @else {
                    table {
                        thead { tr { th { (t(lang, "station")) } th.num { (t(lang, "overdue")) } } }
                        tbody {
                            @for (code, n) in &late {
                                tr.overdue { td { a href={"/prospects?overdue=1&station=" (code)} { (code) } } td.num { (n) } }
                            }
                        }
                    }
                }
            }
            form.panel.noprint #filter method="get" action="/prospects" {
                div.row {
                    div { label for="f-station" { (t(lang, "station")) }
                          input #f-station name="station" value=(station.unwrap_or_default()) size="6"; }
                    div { label for="f-stage" { (t(lang, "station-stage")) }
                        select #f-stage name="stage" {
                            option value="" { (t(lang, "station-any")) }
                            @for st in STAGES { option value=(st.as_str()) selected[stage == Some(st)] { (stage_word(lang, st)) } }
                        }
                    }
                    div { label { input #f-overdue type="checkbox" name="overdue" value="1" checked[overdue]; " " (t(lang, "station-only_overdue")) } }
                    button.secondary type="submit" { (t(lang, "show")) }
                }
            }
            section.panel {
                table #prospects {
                    thead { tr {
                        th { (t(lang, "station")) } th { (t(lang, "name")) } th { (t(lang, "prospect_kind")) }
                        th { (t(lang, "station-stage")) } th { (t(lang, "owner")) } th { (t(lang, "next_step")) }
                        th { (t(lang, "next_on")) } th.num { (t(lang, "vehicles")) }
                    } }
                    tbody {
                        @for p in shown {
                            tr.overdue[p.overdue] {
                                td { (p.station) }
                                td { a.data href={"/acquisition/prospects/" (p.id)} { (p.name) } }
                                td { (kind_word(lang, p.kind)) }
                                td { (stage_word(lang, p.stage)) }
                                td.data { (p.owner.clone().unwrap_or_default()) }
                                td.data { (p.next_step.clone().unwrap_or_default()) }
                                td { @if let Some(at) = &p.next_at { (at.get(..10).unwrap_or(at)) }
                                     @if p.overdue { " " strong.due { (t(lang, "overdue")) } } }
                                td.num { (p.vehicles.map(|v| v.to_string()).unwrap_or_default()) }
                            }
                        }
                    }
                }
                p.noprint {
                    (tr(lang, "station-page_of", &[("page", at.into()), ("pages", pages.into()), ("count", list.len().into())]))
                    @if at > 1 { " · " a href=(query(at - 1)) rel="prev" { "← " (t(lang, "station-previous")) } }
                    @if at < pages { " · " a href=(query(at + 1)) rel="next" { (t(lang, "station-next")) " →" } }
                }
            }
        })
    }
    .await;
    render(lang, &s.actor, title, body)
}

// --------------------------------------------------------- importing prospects

#[derive(Deserialize, Default)]
pub struct ImportForm {
    #[serde(default)]
    station: String,
    #[serde(default)]
    csv: String,
}

/// A column of the import's file, in the page's words.
fn column_word(lang: Lang, column: &str) -> &'static str {
    match column {
        "kind" => t(lang, "prospect_kind"),
        "name" => t(lang, "name"),
        "address" => t(lang, "address"),
        "vehicles" => t(lang, "vehicles"),
        "est_monthly_litres" => t(lang, "est_monthly_litres"),
        "current_supplier" => t(lang, "fuels_now_at"),
        "current_discount" => t(lang, "station-current_discount"),
        "contact_name" => t(lang, "contact"),
        "contact_role" => t(lang, "contact_role"),
        "contact_phone" => t(lang, "phone"),
        "channel" => t(lang, "channel"),
        _ => t(lang, "station-import_unreadable"),
    }
}

/// The import's file with its header line and nothing else, to fill in.
pub async fn import_template(s: Signed) -> Response {
    if !policy::may(&s.actor, Action::WorkProspects) {
        return refused(s.lang, &s.actor, "station-not_prospects_role");
    }
    csv_or_refusal(
        "prospects-import.csv",
        crate::csv_io::table(&CSV_HEADER, std::iter::empty()),
    )
}

/// Each bad row of a refused file: its line, and what is wrong with it in
/// the page's words (the column at fault, the header, an unreadable row).
fn import_report(lang: Lang, err: &AppError) -> Markup {
    super::form::line_report(lang, err, "station-line", "station-problem", |reason| {
        let column: String = reason
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == '.')
            .collect();
        let column = column.split('.').next().unwrap_or("").to_string();
        if reason.starts_with("the header") {
            t(lang, "station-import_header").to_string()
        } else if reason.starts_with("more than") {
            tr(
                lang,
                "station-import_too_many",
                &[("max", crate::csv_io::MAX_ROWS.into())],
            )
        } else if CSV_HEADER.contains(&column.as_str()) || column == "contacts" {
            let column = if column == "contacts" {
                "contact_name".to_string()
            } else {
                column
            };
            tr(
                lang,
                "station-import_column",
                &[("column", column_word(lang, &column).into())],
            )
        } else {
            t(lang, "station-import_unreadable").to_string()
        }
    })
}

/// The import form: the station (for a user without one of their own),
/// a file or its pasted text, and after a refusal the report of each bad
/// row with what was typed kept.
fn import_form(
    lang: Lang,
    own: Option<&Station>,
    stations: &[Station],
    typed: &ImportForm,
    err: Option<&AppError>,
) -> Markup {
    html! {
        h1 { (t(lang, "station-import_prospects")) }
        p.noprint { a href="/prospects" { "← " (t(lang, "station-prospect_list")) } }
        form.panel #import-prospects method="post" action="/prospects/import" {
            p.k { (t(lang, "station-import_hint")) }
            p.k {
                (t(lang, "station-import_columns")) " "
                (CSV_HEADER.iter().map(|c| column_word(lang, c)).collect::<Vec<_>>().join(t(lang, "station-import_comma")))
                " · " a #import-template href="/prospects/import/template.csv" download { (t(lang, "station-import_template")) }
            }
            @if let Some(e) = err {
                (error_box(lang, e))
                (import_report(lang, e))
            }
            @match own {
                Some(st) => p { (t(lang, "station")) ": " span.code #import-station { (st.code) } " " (text::data(&st.name)) },
                None => div {
                    label for="import-station" { (t(lang, "station")) }
                    select #import-station name="station" required autofocus[err.is_none()] {
                        @for st in stations {
                            option.data value=(st.code) selected[typed.station == st.code] { (st.code) " " (st.name) }
                        }
                    }
                    (beside(lang, err, "station"))
                },
            }
            label for="import-file" { (t(lang, "station-import_file")) }
            input #import-file type="file" accept=".csv,text/csv" autofocus[err.is_none() && own.is_some()];
            label for="import-csv" { (t(lang, "station-import_text")) }
            textarea.data #import-csv name="csv" rows="8" required autofocus[err.is_some()] { (typed.csv) }
            button.primary type="submit" { (t(lang, "station-import_button")) }
        }
        script { (maud::PreEscaped(IMPORT_JS)) }
    }
}

/// A chosen file is read into the form's text, which is what is posted
/// (the pages' forms are URL-encoded, their token with them).
const IMPORT_JS: &str = r#"
var f=document.getElementById('import-file');
if(f){f.addEventListener('change',function(){var r=new FileReader();r.onload=function(){document.getElementById('import-csv').value=r.result;};if(f.files[0])r.readAsText(f.files[0]);});}
"#;

/// The stations a user without one of their own imports for.
async fn import_stations(state: &App, s: &Signed) -> (Option<Station>, Vec<Station>) {
    match own_station(state, &s.actor).await {
        Some(st) => (Some(st), Vec::new()),
        None => (
            None,
            target_stations(state, &s.actor).await.unwrap_or_default(),
        ),
    }
}

/// The import page, for those who work prospects.
pub async fn import_page(State(state): State<App>, s: Signed) -> Response {
    let lang = s.lang;
    if !policy::may(&s.actor, Action::WorkProspects) {
        return refused(lang, &s.actor, "station-not_prospects_role");
    }
    let (own, stations) = import_stations(&state, &s).await;
    let title = t(lang, "station-import_prospects");
    page(
        lang,
        title,
        Some(&s.actor),
        import_form(lang, own.as_ref(), &stations, &ImportForm::default(), None),
    )
    .into_response()
}

/// Imports prospects from CSV: [`act::import_prospects`], as
/// `POST /api/v1/prospects/import`. The board of the station, saying how
/// many were added; or the form again with what was pasted and the report
/// of each bad row (a file with any bad row imports nothing).
pub async fn import_prospects(
    State(state): State<App>,
    s: Signed,
    Form(f): Form<ImportForm>,
) -> Response {
    let lang = s.lang;
    let (own, stations) = import_stations(&state, &s).await;
    let station = match &own {
        Some(st) => Some(st.code.clone()),
        None => given(f.station.as_str()),
    };
    let done = act::import_prospects(&state, &s.actor, station.as_deref(), &f.csv)
        .await
        .map_err(|e| match e.code {
            Code::StationNotFound => with_field(e, "station"),
            _ => e,
        });
    match done {
        Ok(n) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("imported", &n.to_string());
            if let Some(code) = &station {
                q.append_pair("station", code);
            }
            Redirect::to(&format!("/prospects?{}", q.finish())).into_response()
        }
        Err(e) => {
            let title = t(lang, "station-import_prospects");
            (
                e.code.status(),
                page(
                    lang,
                    title,
                    Some(&s.actor),
                    import_form(lang, own.as_ref(), &stations, &f, Some(&e)),
                ),
            )
                .into_response()
        }
    }
}

// -------------------------------------------------------------------- leads

#[derive(Deserialize, Default)]
pub struct LeadForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    vehicles: String,
    #[serde(default)]
    est_monthly_litres: String,
    #[serde(default)]
    current_supplier: String,
}

const LEAD_KINDS: [ProspectKind; 4] = [
    ProspectKind::Person,
    ProspectKind::Company,
    ProspectKind::Fleet,
    ProspectKind::Other,
];

fn lead_form(lang: Lang, typed: &LeadForm, err: Option<&AppError>, noted: bool) -> Markup {
    html! {
        h1 { (t(lang, "station-note_lead")) }
        p.k { (t(lang, "station-lead_hint")) }
        @if noted { p.ok #lead-noted role="status" { (t(lang, "station-lead_noted")) } }
        form.panel #lead method="post" action="/prospects/leads" {
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.row {
                div { label for="lead-kind" { (t(lang, "prospect_kind")) }
                    select #lead-kind name="kind" {
                        @for k in LEAD_KINDS { option value=(k.as_str()) selected[typed.kind == k.as_str()] { (kind_word(lang, k)) } }
                    }
                }
                div { label for="lead-name" { (t(lang, "name")) }
                      input #lead-name name="name" value=(typed.name) required autofocus;
                      (beside(lang, err, "name")) }
                div { label for="lead-contact" { (t(lang, "contact")) }
                      input #lead-contact name="contact_name" value=(typed.contact_name);
                      (beside(lang, err, "contacts")) }
                div { label for="lead-phone" { (t(lang, "phone")) }
                      input #lead-phone name="contact_phone" value=(typed.contact_phone) inputmode="tel"; }
                div { label for="lead-vehicles" { (t(lang, "vehicles")) }
                      input #lead-vehicles name="vehicles" value=(typed.vehicles) inputmode="numeric";
                      (beside(lang, err, "vehicles")) }
                div { label for="lead-litres" { (t(lang, "est_monthly_litres")) }
                      input #lead-litres name="est_monthly_litres" value=(typed.est_monthly_litres) inputmode="decimal";
                      (beside(lang, err, "est_monthly_litres")) }
                div { label for="lead-supplier" { (t(lang, "fuels_now_at")) }
                      input #lead-supplier name="current_supplier" value=(typed.current_supplier); }
                button.primary type="submit" { (t(lang, "save")) }
            }
        }
    }
}

/// The lead form at the counter.
pub async fn lead_page(s: Signed, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let lang = s.lang;
    if !policy::may(&s.actor, Action::NoteLead) {
        return refused(lang, &s.actor, "not_counter_role");
    }
    let noted = q.contains_key("noted");
    let title = t(lang, "station-note_lead");
    page(
        lang,
        title,
        Some(&s.actor),
        lead_form(lang, &LeadForm::default(), None, noted),
    )
    .into_response()
}

/// Notes a lead for the station manager: [`act::add_prospect`] as a lead,
/// as `POST /api/v1/prospects/leads`.
pub async fn note_lead(State(state): State<App>, s: Signed, Form(f): Form<LeadForm>) -> Response {
    let lang = s.lang;
    let done = async {
        let kind = LEAD_KINDS
            .into_iter()
            .find(|k| k.as_str() == f.kind)
            .ok_or_else(|| AppError::invalid("kind", "kind"))?;
        let input = prospect_input(
            kind,
            f.name.trim().to_string(),
            Some(&f.vehicles),
            Some(&f.est_monthly_litres),
            Some(&f.current_supplier),
            Some(&f.contact_name),
            Some(&f.contact_phone),
        )?;
        let form = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            f.kind,
            f.name,
            f.contact_name,
            f.contact_phone,
            f.vehicles,
            f.est_monthly_litres,
            f.current_supplier
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            "/prospects/leads",
            form.as_bytes(),
        );
        act::add_prospect(&state, &s.actor, Some(&key), None, &input, Action::NoteLead)
            .await
            .map_err(|e| match e.code {
                Code::InvalidLitres => with_field(e, "est_monthly_litres"),
                _ => e,
            })
    }
    .await;
    match done {
        Ok(_) => Redirect::to("/prospects/leads?noted=1").into_response(),
        Err(e) => {
            let title = t(lang, "station-note_lead");
            refused_with(
                lang,
                &s.actor,
                title,
                &e,
                lead_form(lang, &f, Some(&e), false),
            )
        }
    }
}

// ------------------------------------------------------------------ targets

/// The stations whose targets the caller sets: a district manager's
/// district's, anyone else's (head office, admin) the whole network's.
async fn target_stations(state: &App, actor: &Actor) -> AppResult<Vec<Station>> {
    let all = crate::actions::reads::stations(state).await?;
    Ok(match actor.role {
        Role::DistrictManager => all
            .into_iter()
            .filter(|s| Some(&s.district) == actor.district.as_ref())
            .collect(),
        _ => all,
    })
}

/// The target fields of one station's line on the form.
const TARGET_FIELDS: [(&str, &str); 4] = [
    ("new_personal", "numeric"),
    ("new_company", "numeric"),
    ("first_recharge_amount", "decimal"),
    ("card_litres", "decimal"),
];

/// The line a station's inputs make; none when all are empty.
fn line_of(code: &str, typed: &BTreeMap<String, String>) -> AppResult<Option<TargetInput>> {
    let get = |f: &str| {
        typed
            .get(&format!("{f}:{code}"))
            .and_then(|v| given(v.as_str()))
    };
    if TARGET_FIELDS.iter().all(|(f, _)| get(f).is_none()) {
        return Ok(None);
    }
    let count = |f: &str| {
        get(f)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| AppError::invalid(&format!("{f}:{code}"), format!("{f}: a count")))
            })
            .transpose()
    };
    let line = TargetInput {
        station: Some(code.to_string()),
        district: None,
        new_personal: count("new_personal")?,
        new_company: count("new_company")?,
        first_recharge_amount: get("first_recharge_amount"),
        card_litres: get("card_litres"),
    };
    // The goal's refusal names the field; the page names its station too.
    line.goal().map_err(|e| {
        let f = e.field().unwrap_or("targets").to_string();
        e.with("field", format!("{f}:{code}"))
    })?;
    Ok(Some(line))
}

async fn targets_body(
    state: &App,
    s: &Signed,
    month: &str,
    typed: Option<&BTreeMap<String, String>>,
    err: Option<&AppError>,
    saved: Option<usize>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let list = target_stations(state, &s.actor).await?;
    let district = match s.actor.role {
        Role::DistrictManager => s.actor.district.clone(),
        _ => None,
    };
    let tracking = act::tracking(state, &s.actor, month, None, district.as_deref()).await?;
    let (prev, next) = super::acquisition::around(&tracking.month).unwrap_or_default();
    let value = |field: &str, code: &str| -> String {
        if let Some(typed) = typed {
            return typed
                .get(&format!("{field}:{code}"))
                .cloned()
                .unwrap_or_default();
        }
        let line = tracking
            .lines
            .iter()
            .find(|l| l.station.as_deref() == Some(code));
        let Some(goal) = line.map(|l| &l.target) else {
            return String::new();
        };
        match field {
            "new_personal" => goal.new_personal.map(|v| v.to_string()),
            "new_company" => goal.new_company.map(|v| v.to_string()),
            "first_recharge_amount" => goal.first_recharge_amount.map(|v| v.to_string()),
            _ => goal.card_litres.map(|v| v.to_string()),
        }
        .unwrap_or_default()
    };
    Ok(html! {
        h1 { (t(lang, "station-set_targets")) " · " (tracking.month) }
        p.noprint {
            a href={"/targets/" (prev)} { "← " (prev) } " · "
            a href={"/targets/" (next)} { (next) " →" } " · "
            a href={"/acquisition?month=" (tracking.month)} { (t(lang, "targets_and_completion")) }
        }
        @if let Some(n) = saved { p.ok #targets-saved role="status" { (tr(lang, "station-targets_saved", &[("count", n.into())])) } }
        @if list.is_empty() { p.notice { (t(lang, "station-no_stations")) } }
        form.panel #targets method="post" action={"/targets/" (tracking.month)} {
            table {
                thead { tr {
                    th { (t(lang, "station")) }
                    th.num { (t(lang, "new_personal")) }
                    th.num { (t(lang, "new_company")) }
                    th.num { (t(lang, "first_recharge")) }
                    th.num { (t(lang, "card_litres")) }
                } }
                tbody {
                    @for (i, st) in list.iter().enumerate() {
                        tr data-station=(st.code) {
                            td { (st.code) " " span.data { (st.name) } }
                            @for (j, (field, mode)) in TARGET_FIELDS.iter().enumerate() {
                                @let name = format!("{field}:{}", st.code);
                                td.num {
                                    input id=(name) name=(name) value=(value(field, &st.code)) inputmode=(mode)
                                        style="min-width:6rem;width:7rem;text-align:right"
                                        aria-label={(st.code) " " (t(lang, field_word(field)))}
                                        autofocus[i == 0 && j == 0];
                                    (beside(lang, err, &name))
                                }
                            }
                        }
                    }
                }
            }
            (beside(lang, err, "targets"))
            button.primary type="submit" { (t(lang, "save")) " " kbd { "Enter" } }
        }
        section.panel {
            h2 { (t(lang, "targets_and_completion")) }
            (tracking_table(lang, &tracking.lines))
        }
    })
}

fn field_word(field: &str) -> &'static str {
    match field {
        "new_personal" => "new_personal",
        "new_company" => "new_company",
        "first_recharge_amount" => "first_recharge",
        _ => "card_litres",
    }
}

/// This month's targets.
pub async fn targets_now(State(state): State<App>) -> Response {
    Redirect::to(&format!("/targets/{}", this_month(&state))).into_response()
}

/// Whether the caller sets the targets of every district and station
/// (head office, the administrator): their page is head office's table of
/// districts and stations, on the same path.
fn sets_every_target(s: &Signed) -> bool {
    policy::rule_of(Action::SetTargets).scope(s.actor.role) == policy::Scope::All
}

/// The refusal for a role that sets no targets, if the caller's is one.
fn may_set_targets(s: &Signed) -> Option<Response> {
    (!policy::may(&s.actor, Action::SetTargets))
        .then(|| refused(s.lang, &s.actor, "station-not_targets_role"))
}

/// The month's targets of the caller's stations, beside their actuals.
pub async fn targets_page(
    State(state): State<App>,
    s: Signed,
    Path(month): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if sets_every_target(&s) {
        let saved = super::head_office::SavedQuery {
            saved: q.get("saved").and_then(|n| n.parse().ok()),
        };
        return super::head_office::targets_page(State(state), s, Path(month), Query(saved)).await;
    }
    if let Some(r) = may_set_targets(&s) {
        return r;
    }
    let saved = q.get("saved").and_then(|v| v.parse().ok());
    let body = targets_body(&state, &s, &month, None, None, saved).await;
    render(s.lang, &s.actor, t(s.lang, "station-set_targets"), body)
}

/// Sets the month's targets of the stations whose inputs were filled:
/// [`act::put_targets`], as `PUT /api/v1/targets/{month}`.
pub async fn put_targets(
    State(state): State<App>,
    s: Signed,
    Path(month): Path<String>,
    RawForm(raw): RawForm,
) -> Response {
    if sets_every_target(&s) {
        let pairs = form_urlencoded::parse(&raw).into_owned().collect();
        return super::head_office::set_targets(State(state), s, Path(month), Form(pairs)).await;
    }
    if let Some(r) = may_set_targets(&s) {
        return r;
    }
    let typed: BTreeMap<String, String> = form_urlencoded::parse(&raw).into_owned().collect();
    let done = async {
        let mut lines = Vec::new();
        for st in target_stations(&state, &s.actor).await? {
            if let Some(line) = line_of(&st.code, &typed)? {
                lines.push(line);
            }
        }
        act::put_targets(&state, &s.actor, &month, &lines)
            .await
            .map_err(|e| with_field(e, "targets"))
    }
    .await;
    match done {
        Ok(n) => Redirect::to(&format!("/targets/{month}?saved={n}")).into_response(),
        Err(e) => {
            let title = t(s.lang, "station-set_targets");
            match targets_body(&state, &s, &month, Some(&typed), Some(&e), None).await {
                Ok(body) => refused_with(s.lang, &s.actor, title, &e, body),
                Err(_) => render(s.lang, &s.actor, title, Err(e)),
            }
        }
    }
}

// ------------------------------------------------------------------- flyers

#[derive(Deserialize, Default)]
pub struct FlyersForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    station: String,
    #[serde(default)]
    handed_out: String,
    month: Option<String>,
}

async fn flyers_body(
    state: &App,
    s: &Signed,
    month: &str,
    typed: &FlyersForm,
    err: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let (station, district) = match s.actor.role {
        Role::DistrictManager => (None, s.actor.district.clone()),
        _ => (own_station(state, &s.actor).await.map(|st| st.code), None),
    };
    let conversion = act::conversion(
        state,
        &s.actor,
        month,
        station.as_deref(),
        district.as_deref(),
    )
    .await?;
    let mut list = target_stations(state, &s.actor).await?;
    if let Some(code) = &station {
        list.retain(|st| &st.code == code);
    }
    let (prev, next) = super::acquisition::around(&conversion.month).unwrap_or_default();
    Ok(html! {
        h1 { (t(lang, "station-flyers")) " · " (conversion.month) }
        p.noprint {
            a href={"/acquisition/flyers?month=" (prev)} { "← " (prev) } " · "
            a href={"/acquisition/flyers?month=" (next)} { (next) " →" }
        }
        @if policy::may(&s.actor, Action::WorkProspects) {
            form.panel #new-flyers method="post" action="/acquisition/flyers" {
                h2 { (t(lang, "station-register_flyers")) }
                input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                input type="hidden" name="month" value=(conversion.month);
                div.row {
                    div { label for="fl-code" { (t(lang, "station-batch_code")) }
                          input #fl-code name="code" value=(typed.code) required autofocus autocomplete="off";
                          (beside(lang, err, "code")) }
                    div { label for="fl-station" { (t(lang, "station")) }
                        select #fl-station name="station" {
                            @for st in &list { option value=(st.code) selected[typed.station == st.code] { (st.code) } }
                        }
                        (beside(lang, err, "station"))
                    }
                    div { label for="fl-count" { (t(lang, "station-handed_out")) }
                          input #fl-count name="handed_out" value=(typed.handed_out) required inputmode="numeric";
                          (beside(lang, err, "handed_out")) }
                    button.primary type="submit" { (t(lang, "save")) }
                }
            }
        }
        section.panel {
            h2 { (t(lang, "station-flyer_batches")) }
            p.k { (tr(lang, "station-activation_days", &[("days", conversion.activation_days.into())])) }
            table #flyers {
                thead { tr {
                    th { (t(lang, "station-batch_code")) } th { (t(lang, "station")) }
                    th.num { (t(lang, "station-handed_out")) } th.num { (t(lang, "cards_opened")) }
                    th.num { (t(lang, "station-activated")) } th.num { (t(lang, "station-conversion")) }
                } }
                tbody {
                    @for f in &conversion.flyers {
                        tr data-batch=(f.batch) {
                            td.code { (f.batch) } td { (f.station) }
                            td.num { (f.handed_out) } td.num { (f.opened) } td.num { (f.activated) }
                            td.num { (percent(f.opened, f.handed_out)) }
                        }
                    }
                }
            }
        }
        section.panel {
            h2 { (t(lang, "station-by_channel")) }
            table #channels {
                thead { tr { th { (t(lang, "channel")) } th.num { (t(lang, "cards_opened")) } th.num { (t(lang, "station-activated")) } } }
                tbody {
                    @for c in &conversion.channels {
                        tr { td { (channel_word(lang, &c.channel)) } td.num { (c.opened) } td.num { (c.activated) } }
                    }
                }
            }
        }
    })
}

fn percent(part: i64, whole: i64) -> String {
    crate::acquisition::targets::percent(part, Some(whole))
        .map(|p| format!("{p}%"))
        .unwrap_or_default()
}

/// A channel's name in the page's language.
pub(super) fn channel_word(lang: Lang, channel: &str) -> &'static str {
    match channel {
        "flyer" => t(lang, "station-channel_flyer"),
        "stand" => t(lang, "station-channel_stand"),
        "referral" => t(lang, "station-channel_referral"),
        "partner" => t(lang, "station-channel_partner"),
        "visit" => t(lang, "station-channel_visit"),
        _ => t(lang, "station-channel_in_station"),
    }
}

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

/// The flyer batches with what they brought, and the form to register one.
pub async fn flyers_page(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<MonthQuery>,
) -> Response {
    let month = q.month.unwrap_or_else(|| this_month(&state));
    let body = flyers_body(&state, &s, &month, &FlyersForm::default(), None).await;
    render(s.lang, &s.actor, t(s.lang, "station-flyers"), body)
}

/// Registers a flyer batch: [`act::add_flyers`], as
/// `POST /api/v1/acquisition/flyers`.
pub async fn add_flyers(
    State(state): State<App>,
    s: Signed,
    Form(f): Form<FlyersForm>,
) -> Response {
    let lang = s.lang;
    let done = async {
        let handed_out = f
            .handed_out
            .trim()
            .parse::<u32>()
            .map_err(|_| AppError::invalid("handed_out", "handed_out: a count"))?;
        let batch = FlyerBatch {
            code: f.code.trim().to_string(),
            station: given(f.station.as_str()),
            handed_out,
        };
        let form = format!("{}|{}|{}", f.code, f.station, f.handed_out);
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            "/acquisition/flyers",
            form.as_bytes(),
        );
        act::add_flyers(&state, &s.actor, Some(&key), &batch)
            .await
            .map_err(|e| match e.code {
                Code::Duplicate => with_field(e, "code"),
                Code::StationNotFound | Code::OutsideYourStation | Code::Forbidden => {
                    with_field(e, "station")
                }
                _ => e,
            })
    }
    .await;
    let month = f.month.clone().unwrap_or_else(|| this_month(&state));
    match done {
        Ok(_) => Redirect::to(&format!("/acquisition/flyers?month={month}")).into_response(),
        Err(e) => {
            let title = t(lang, "station-flyers");
            match flyers_body(&state, &s, &month, &f, Some(&e)).await {
                Ok(body) => refused_with(lang, &s.actor, title, &e, body),
                Err(_) => render(lang, &s.actor, title, Err(e)),
            }
        }
    }
}

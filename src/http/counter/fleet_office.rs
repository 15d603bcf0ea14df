//! The fleet office's pages: what a company's fleet manager does each month —
//! vehicles, the month's allocation plan, top-up requests, card loans for
//! trips, cash refuels, limits and the monthly report — over the fleet
//! actions the API uses ([`crate::actions::fleet`]).
//!
//! Each form posts to the page path that mirrors its API path without
//! `/api/v1`, and its handler calls the API's action. A refusal shows the
//! form again with what was typed and the refusal beside the field it names.

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::acquisition::{around, this_month};
use super::form;
use super::text::{self, tr, word};
use super::{Lang, Signed, csv_download, data, encoded, error_box, one_page, page, t};
use crate::actions::fleet as act;
use crate::actions::{App, Keyed};
use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::allocation;
use crate::fleet::limits::{Control, Mode};
use crate::fleet::policy::{Adjustment, BaseRule, Policy, PrivateQuota, Unspent};
use crate::fleet::requests::{CashRefuelRequest, LoanRequest};
use crate::fleet::vehicles::{VEHICLE_TYPES, Vehicle, VehicleInput};
use crate::lifecycle::{LoanStatus, PlanStatus, Status as _, TopUpStatus};

/// The room's page routes, merged into the pages' router.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/fleet/{company}", get(home))
        .route(
            "/fleet/{company}/vehicles",
            get(vehicles_page).post(add_vehicle),
        )
        .route("/fleet/{company}/vehicles/import", post(import_vehicles))
        .route("/fleet/{company}/vehicles.csv", get(vehicles_csv))
        .route(
            "/fleet/{company}/vehicles/{plate}",
            get(vehicle_page).post(update_vehicle),
        )
        .route(
            "/fleet/{company}/vehicles/{plate}/retirement",
            post(retire_vehicle),
        )
        .route(
            "/fleet/{company}/vehicles/{plate}/overrides",
            post(grant_override),
        )
        .route(
            "/fleet/{company}/policy",
            get(policy_page).post(save_policy),
        )
        .route(
            "/fleet/{company}/allocations",
            get(plan_default).post(draft_plan),
        )
        .route("/fleet/{company}/allocations/{month}", get(plan_page))
        .route(
            "/fleet/{company}/allocations/{month}/lines/{plate}",
            post(edit_line),
        )
        .route(
            "/fleet/{company}/allocations/{month}/approval",
            post(approve_plan),
        )
        .route(
            "/fleet/{company}/topups",
            get(topups_page).post(request_topup),
        )
        .route(
            "/fleet/{company}/topups/{id}/{decision}",
            post(decide_topup),
        )
        .route("/fleet/{company}/loans", get(loans_page).post(request_loan))
        .route("/fleet/{company}/loans/{id}", get(loan_page))
        .route("/fleet/{company}/loans/{id}/{step}", post(loan_step))
        .route(
            "/fleet/{company}/cash-refuels",
            get(cash_page).post(record_cash),
        )
        .route("/fleet/{company}/reports/monthly", get(report_page))
        .route("/fleet/{company}/reports/monthly.csv", get(report_csv))
}

/// The fields of a posted form, as typed.
type Typed = HashMap<String, String>;

/// A refused form: which form, what was typed, and why.
struct Refused<'a> {
    form: &'static str,
    typed: &'a Typed,
    err: &'a AppError,
}

/// The form field a refusal is about ([`form::field_of`]); in the office
/// a duplicate is a plate registered twice.
fn field_of(e: &AppError) -> Option<&str> {
    form::field_of(e).or((e.code == Code::Duplicate).then_some("plate"))
}

/// The value typed into `name`, trimmed; empty is none.
fn typed_value(typed: &Typed, name: &str) -> Option<String> {
    form::given(typed.get(name).map(String::as_str))
}

fn typed_text(typed: &Typed, name: &str) -> String {
    typed.get(name).cloned().unwrap_or_default()
}

/// A form's key for the request it makes: its hidden `key` with the
/// fingerprint of what was typed, so a double submit is one request.
fn keyed(state: &App, typed: &Typed, path: &str) -> Keyed {
    let fields: BTreeMap<&String, &String> = typed
        .iter()
        .filter(|(k, _)| k.as_str() != "csrf" && k.as_str() != "key")
        .collect();
    let body = format!("{fields:?}");
    let key = typed.get("key").cloned().unwrap_or_default();
    Keyed::new(&state.keys.pin, &key, "POST", path, body.as_bytes())
}

fn new_key() -> Markup {
    html! { input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string()); }
}

/// How a field is typed.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Decimal,
    Numeric,
    Date,
}

/// A labelled input of a form, with what was typed into it if the form
/// was refused, and the refusal beside it when it is about this field.
#[allow(clippy::too_many_arguments)]
fn input(
    lang: Lang,
    form: &'static str,
    refused: Option<&Refused>,
    name: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
    focus: bool,
    default: &str,
) -> Markup {
    let id = format!("{form}-{name}");
    let mine = refused.filter(|r| r.form == form);
    let value = mine
        .and_then(|r| r.typed.get(name).cloned())
        .unwrap_or_else(|| default.to_string());
    let bad = mine.filter(|r| field_of(r.err) == Some(name));
    let focus = match refused {
        Some(_) => bad.is_some(),
        None => focus,
    };
    let mode = match kind {
        Kind::Decimal => Some("decimal"),
        Kind::Numeric => Some("numeric"),
        _ => None,
    };
    let kind_attr = if kind == Kind::Date { "date" } else { "text" };
    html! {
        div {
            label for=(id) { (t(lang, label)) }
            input id=(id) name=(name) type=(kind_attr) inputmode=[mode] value=(value)
                required[required] autofocus[focus] aria-invalid=[bad.map(|_| "true")];
            @if let Some(r) = bad {
                span.field-error role="alert" { (beside(lang, r.err, label)) }
            }
        }
    }
}

/// A labelled choice of a form, keeping the choice made.
#[allow(clippy::too_many_arguments)]
fn choice(
    lang: Lang,
    form: &'static str,
    refused: Option<&Refused>,
    name: &'static str,
    label: &'static str,
    options: &[(String, String)],
    focus: bool,
    default: &str,
) -> Markup {
    let id = format!("{form}-{name}");
    let mine = refused.filter(|r| r.form == form);
    let picked = mine
        .and_then(|r| r.typed.get(name).cloned())
        .unwrap_or_else(|| default.to_string());
    let bad = mine.filter(|r| field_of(r.err) == Some(name));
    let focus = match refused {
        Some(_) => bad.is_some(),
        None => focus,
    };
    html! {
        div {
            label for=(id) { (t(lang, label)) }
            select id=(id) name=(name) autofocus[focus] {
                @for (value, shown) in options {
                    // A value shown as itself (a plate) is data.
                    option value=(value) selected[*value == picked] class=[(value == shown).then_some("data")] { (shown) }
                }
            }
            @if let Some(r) = bad {
                span.field-error role="alert" { (beside(lang, r.err, label)) }
            }
        }
    }
}

/// The refusal at the top of the form it belongs to. A check of a field
/// the form shows is named beside that field, by the form's own label (the
/// catalogue's word for a field name is another form's: "reason" is a lost
/// card's there).
fn refusal_of(lang: Lang, form: &'static str, refused: Option<&Refused>) -> Markup {
    html! {
        @if let Some(r) = refused.filter(|r| r.form == form) {
            @if r.err.code == Code::ValidationFailed && field_of(r.err).is_some() {
                div.error role="alert" { strong { (t(lang, "error-validation_failed")) } }
            } @else {
                (error_box(lang, r.err))
            }
        }
    }
}

/// The refusal beside the field it is about, the field named by its label:
/// the office's own sentence rather than [`form::beside`]'s, since the
/// catalogue's word for a field name is another form's (see [`refusal_of`]).
fn beside(lang: Lang, err: &AppError, label: &'static str) -> String {
    if err.code == Code::ValidationFailed {
        tr(lang, "fo-check", &[("field", t(lang, label).into())])
    } else {
        text::refusal(lang, err)
    }
}

fn plates(list: &[Vehicle]) -> Vec<(String, String)> {
    list.iter()
        .map(|v| (v.plate.clone(), v.plate.clone()))
        .collect()
}

fn type_word(lang: Lang, code: &str) -> String {
    word(lang, &format!("fo-type-{code}"))
}

fn decides(actor: &Actor) -> bool {
    policy::may(actor, Action::DecideFleet)
}

/// The office's links: every task, on every page.
fn nav(lang: Lang, company: i64) -> Markup {
    let base = format!("/fleet/{company}");
    html! {
        nav.noprint.panel #fleet-nav {
            a href=(base) { (t(lang, "fo-home")) } " · "
            a href={(base) "/vehicles"} { (t(lang, "fo-vehicles")) } " · "
            a href={(base) "/allocations"} { (t(lang, "fo-plan")) } " · "
            a href={(base) "/topups"} { (t(lang, "fo-topups")) } " · "
            a href={(base) "/loans"} { (t(lang, "fo-loans")) } " · "
            a href={(base) "/cash-refuels"} { (t(lang, "fo-cash")) } " · "
            a href={(base) "/policy"} { (t(lang, "fo-limits")) } " · "
            a href={(base) "/reports/monthly"} { (t(lang, "fo-report")) } " · "
            a href={(base) "/review"} { (t(lang, "fuel_review")) }
        }
    }
}

/// A page of the office, or the refusal that stopped it with its status.
fn render(
    lang: Lang,
    actor: &Actor,
    title: &'static str,
    company: i64,
    shown: AppResult<Markup>,
) -> Response {
    match shown {
        Ok(body) => page(
            lang,
            t(lang, title),
            Some(actor),
            html! { (nav(lang, company)) (body) },
        )
        .into_response(),
        Err(e) => (
            e.code.status(),
            page(lang, t(lang, title), Some(actor), error_box(lang, &e)),
        )
            .into_response(),
    }
}

/// A refused form shown again on its page, with the refusal's status.
fn again(
    lang: Lang,
    actor: &Actor,
    title: &'static str,
    company: i64,
    err: &AppError,
    shown: AppResult<Markup>,
) -> Response {
    let status = err.code.status();
    match shown {
        Ok(body) => (
            status,
            page(
                lang,
                t(lang, title),
                Some(actor),
                html! { (nav(lang, company)) (body) },
            ),
        )
            .into_response(),
        Err(e) => render(lang, actor, title, company, Err(e)),
    }
}

// ---------------------------------------------------------------- home

/// The fleet office's home: the month at a glance and every task.
pub async fn home(State(state): State<App>, s: Signed, Path(company): Path<i64>) -> Response {
    let shown = home_body(&state, &s, company).await;
    render(s.lang, &s.actor, "fo-office", company, shown)
}

async fn home_body(state: &App, s: &Signed, company: i64) -> AppResult<Markup> {
    let lang = s.lang;
    let month = this_month(state);
    let (_, next) = around(&month).unwrap_or_default();
    let fleet = act::vehicles(state, &s.actor, company).await?;
    let review = act::review(
        state,
        &s.actor,
        company,
        &month,
        &crate::fleet::review::Thresholds::default(),
    )
    .await?;
    let plan_now = act::plan(state, &s.actor, company, &month).await.ok();
    let plan_next = act::plan(state, &s.actor, company, &next).await.ok();
    let topups = act::topups(state, &s.actor, company).await?;
    let loans = act::loans(state, &s.actor, company).await?;
    let credit = crate::actions::credit::line(state, &s.actor, company)
        .await
        .is_ok();
    let waiting = topups
        .iter()
        .filter(|x| x.status == TopUpStatus::Requested)
        .count();
    let asked = loans
        .iter()
        .filter(|l| l.status == LoanStatus::Requested)
        .count();
    let out = loans
        .iter()
        .filter(|l| l.status == LoanStatus::HandedOut)
        .count();
    let open = review.anomalies.iter().filter(|a| !a.acknowledged).count();
    let plan_word = |p: &Option<allocation::Plan>| match p {
        Some(p) => word(lang, &format!("fo-plan-{}", p.status.as_str())),
        None => t(lang, "fo-plan-none").to_string(),
    };
    let base = format!("/fleet/{company}");
    Ok(html! {
        h1 { (t(lang, "fo-office")) " " (month) }
        div.panel.grid #glance {
            div { div.k { (t(lang, "total_litres")) } div.big { (review.total_litres) } }
            div { div.k { (t(lang, "total_amount")) } div.big { "¥" (review.total_amount) } }
            div { div.k { (t(lang, "refuels")) } div.big { (review.total_refuels) } }
            div { div.k { (t(lang, "anomalies")) } div.big #open-anomalies { (open) } }
            div { div.k { (t(lang, "fo-vehicles")) } div.big { (fleet.len()) } }
        }
        div.panel {
            h2 { (t(lang, "fo-tasks")) }
            ul #tasks {
                li { a href={(base) "/allocations/" (month)} { (t(lang, "fo-plan")) " " (month) } ": " span #plan-now { (plan_word(&plan_now)) } }
                li { a href={(base) "/allocations/" (next)} { (t(lang, "fo-plan")) " " (next) } ": " span #plan-next { (plan_word(&plan_next)) } }
                li { a href={(base) "/topups"} { (t(lang, "fo-topups")) } ": " (tr(lang, "fo-waiting", &[("n", waiting.into())])) }
                li { a href={(base) "/loans"} { (t(lang, "fo-loans")) } ": " (tr(lang, "fo-loans-count", &[("asked", asked.into()), ("out", out.into())])) }
                li { a href={(base) "/vehicles"} { (t(lang, "fo-vehicles")) } }
                li { a href={(base) "/cash-refuels"} { (t(lang, "fo-cash")) } }
                li { a href={(base) "/policy"} { (t(lang, "fo-limits")) } }
                li { a href={(base) "/reports/monthly?month=" (month)} { (t(lang, "fo-report")) } }
                li { a #review-link href={(base) "/review?month=" (month)} { (t(lang, "fuel_review")) } }
                @if credit {
                    li { a #credit-account href={"/credit/" (company)} { (t(lang, "credit_account")) } }
                }
            }
        }
    })
}

// ------------------------------------------------------------ vehicles

#[derive(Deserialize, Default)]
pub struct VehiclesQuery {
    q: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    page: Option<usize>,
    imported: Option<usize>,
}

const PER_PAGE: usize = 20;

pub async fn vehicles_page(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Query(q): Query<VehiclesQuery>,
) -> Response {
    let shown = vehicles_body(&state, &s, company, &q, None).await;
    render(s.lang, &s.actor, "fo-vehicles", company, shown)
}

fn import_report(lang: Lang, err: &AppError) -> Markup {
    super::form::line_report(lang, err, "fo-line", "fo-problem", |reason| {
        let field = reason.split(':').next().unwrap_or("").trim();
        let label = format!("field-{field}");
        if text::has(&label) {
            tr(
                lang,
                "fo-import-field",
                &[("field", word(lang, &label).into())],
            )
        } else {
            t(lang, "fo-import-row-bad").to_string()
        }
    })
}

async fn vehicles_body(
    state: &App,
    s: &Signed,
    company: i64,
    q: &VehiclesQuery,
    refused: Option<&Refused<'_>>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let all = act::vehicles(state, &s.actor, company).await?;
    let needle = q.q.as_deref().map(str::trim).unwrap_or("").to_uppercase();
    let kind = q.kind.as_deref().unwrap_or("");
    let matching: Vec<&Vehicle> = all
        .iter()
        .filter(|v| kind.is_empty() || v.vehicle_type == kind)
        .filter(|v| {
            needle.is_empty()
                || v.plate.contains(&needle)
                || v.department
                    .as_deref()
                    .is_some_and(|d| d.to_uppercase().contains(&needle))
                || v.default_driver
                    .as_deref()
                    .is_some_and(|d| d.to_uppercase().contains(&needle))
        })
        .collect();
    let (shown, at, pages) = one_page(&matching, q.page, PER_PAGE);
    let base = format!("/fleet/{company}/vehicles");
    let link = |p: usize| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        if let Some(v) = q.q.as_deref().filter(|v| !v.is_empty()) {
            ser.append_pair("q", v);
        }
        if !kind.is_empty() {
            ser.append_pair("type", kind);
        }
        ser.append_pair("page", &p.to_string());
        format!("{base}?{}", ser.finish())
    };
    let types: Vec<(String, String)> = VEHICLE_TYPES
        .iter()
        .map(|c| (c.to_string(), type_word(lang, c)))
        .collect();
    let mut any_type = vec![(String::new(), t(lang, "fo-all-types").to_string())];
    any_type.extend(types.iter().cloned());
    let decide = decides(&s.actor);
    Ok(html! {
        h1 { (t(lang, "fo-vehicles")) }
        @if let Some(n) = q.imported { p.ok role="status" { (tr(lang, "fo-imported", &[("n", n.into())])) } }
        form.panel.row #vehicle-filter method="get" action=(base) {
            div { label for="filter-q" { (t(lang, "fo-filter")) }
                input #filter-q name="q" value=(q.q.clone().unwrap_or_default()) autofocus[refused.is_none()] placeholder=(t(lang, "fo-filter-hint")); }
            div { label for="filter-type" { (t(lang, "fo-vehicle-type")) }
                select #filter-type name="type" {
                    @for (v, w) in &any_type { option value=(v) selected[v == kind] { (w) } }
                } }
            button.secondary type="submit" { (t(lang, "fo-find")) }
            a href={(base) ".csv"} { (t(lang, "fo-export-csv")) }
        }
        div.panel {
            p.k #vehicle-count { (tr(lang, "fo-shown-of", &[("shown", matching.len().into()), ("all", all.len().into())])) }
            table #vehicles {
                thead { tr {
                    th { (t(lang, "plate")) } th { (t(lang, "fo-vehicle-type")) } th { (t(lang, "fo-department")) }
                    th { (t(lang, "fo-driver")) } th { (t(lang, "fo-card")) } th.num { (t(lang, "fo-tank-l")) }
                    th.num { (t(lang, "fo-baseline")) } th { (t(lang, "fo-products")) } th { (t(lang, "status")) }
                } }
                tbody {
                    @for v in shown {
                        tr {
                            td { a.data href={(base) "/" (v.plate)} { (v.plate) } }
                            td { (type_word(lang, &v.vehicle_type)) }
                            td { (data(v.department.as_deref().unwrap_or(""))) }
                            td { (data(v.default_driver.as_deref().unwrap_or(""))) }
                            td.code { (v.card_number.as_deref().unwrap_or("—")) }
                            td.num { (v.tank_capacity) }
                            td.num { (v.baseline_l_per_100km) }
                            td { (v.products.join(" / ")) }
                            td.status { (t(lang, if v.active { "fo-in-service" } else { "fo-retired" })) }
                        }
                    }
                }
            }
            @if pages > 1 {
                p.noprint #pager {
                    @if at > 1 { a rel="prev" href=(link(at - 1)) { "← " (t(lang, "fo-previous")) } " " }
                    (tr(lang, "fo-page-of", &[("page", at.into()), ("pages", pages.into())]))
                    @if at < pages { " " a rel="next" href=(link(at + 1)) { (t(lang, "fo-next")) " →" } }
                }
            }
        }
        @if decide {
            form.panel #add-vehicle method="post" action=(base) {
                h2 { (t(lang, "fo-add-vehicle")) }
                (refusal_of(lang, "add", refused))
                (new_key())
                div.row {
                    (vehicle_fields(lang, "add", refused, None))
                }
                button.primary type="submit" { (t(lang, "fo-add")) }
            }
            form.panel #import-vehicles method="post" action={(base) "/import"} {
                h2 { (t(lang, "fo-import")) }
                p.k { (t(lang, "fo-import-hint")) }
                (refusal_of(lang, "import", refused))
                @if let Some(r) = refused.filter(|r| r.form == "import") { (import_report(lang, r.err)) }
                label for="import-file" { (t(lang, "fo-import-file")) }
                input #import-file type="file" accept=".csv,text/csv";
                label for="import-csv" { (t(lang, "fo-import-text")) }
                textarea.data #import-csv name="csv" rows="6" required {
                    (refused.filter(|r| r.form == "import").map(|r| typed_text(r.typed, "csv")).unwrap_or_default())
                }
                button.primary type="submit" { (t(lang, "fo-import-button")) }
            }
            script { (PreEscaped(FILE_JS)) }
        }
    })
}

/// A vehicle's fields on a form: empty to register one, or what the vehicle
/// is now to change it (its plate then stays as it is).
fn vehicle_fields(
    lang: Lang,
    form: &'static str,
    refused: Option<&Refused<'_>>,
    now: Option<&VehicleInput>,
) -> Markup {
    let types: Vec<(String, String)> = VEHICLE_TYPES
        .iter()
        .map(|c| (c.to_string(), type_word(lang, c)))
        .collect();
    let is = |get: fn(&VehicleInput) -> Option<String>| now.and_then(get).unwrap_or_default();
    let field = |name, label, kind, req, value: String| {
        input(lang, form, refused, name, label, kind, req, false, &value)
    };
    html! {
        @if now.is_none() {
            (input(lang, form, refused, "plate", "plate", Kind::Text, true, false, ""))
        }
        (choice(lang, form, refused, "vehicle_type", "fo-vehicle-type", &types, false,
            &now.map_or("car".to_string(), |v| v.vehicle_type.clone())))
        (field("displacement", "fo-displacement", Kind::Decimal, true, is(|v| Some(v.displacement.clone()))))
        (field("products", "fo-products-hint", Kind::Text, true, is(|v| Some(v.products.join(", ")))))
        (field("tank_capacity", "fo-tank-l", Kind::Decimal, true, is(|v| Some(v.tank_capacity.clone()))))
        (field("baseline_l_per_100km", "fo-baseline", Kind::Decimal, true, is(|v| Some(v.baseline_l_per_100km.clone()))))
        (field("department", "fo-department", Kind::Text, false, is(|v| v.department.clone())))
        (field("default_driver", "fo-driver", Kind::Text, false, is(|v| v.default_driver.clone())))
        (field("max_sale_litres", "fo-max-sale-litres", Kind::Decimal, false, is(|v| v.max_sale_litres.clone())))
        (field("max_sale_amount", "fo-max-sale-amount", Kind::Decimal, false, is(|v| v.max_sale_amount.clone())))
        (field("max_day_litres", "fo-max-day-litres", Kind::Decimal, false, is(|v| v.max_day_litres.clone())))
        (field("max_day_amount", "fo-max-day-amount", Kind::Decimal, false, is(|v| v.max_day_amount.clone())))
        (field("allowed_hours", "fo-allowed-hours", Kind::Text, false, is(|v| v.allowed_hours.clone())))
        (field("allowed_stations", "fo-allowed-stations", Kind::Text, false, is(|v| v.allowed_stations.as_ref().map(|s| s.join(", ")))))
        (mode_fields(lang, form, refused, now))
    }
}

/// What each control does when a refuel breaches it — refuse the refuel,
/// or let it through and flag it on the review — one choice per control,
/// named `mode_<control>`. A control not set to alert refuses, as the
/// vehicle's rules read it.
fn mode_fields(
    lang: Lang,
    form: &'static str,
    refused: Option<&Refused<'_>>,
    now: Option<&VehicleInput>,
) -> Markup {
    let typed = refused.filter(|r| r.form == form).map(|r| r.typed);
    html! {
        fieldset.modes {
            legend { (t(lang, "fo-control-modes")) }
            @for c in Control::ALL {
                @let name = format!("mode_{}", c.as_str());
                @let id = format!("{form}-{name}");
                @let stored = now.and_then(|v| v.controls.get(c.as_str())).copied().unwrap_or_default();
                @let alert = match typed {
                    Some(t) => t.get(&name).is_some_and(|m| m == "alert"),
                    None => stored == Mode::Alert,
                };
                div {
                    label for=(id) { (word(lang, &format!("fo-control-{}", c.as_str()))) }
                    select id=(id) name=(name) {
                        option value="decline" selected[!alert] { (t(lang, "fo-mode-decline")) }
                        option value="alert" selected[alert] { (t(lang, "fo-mode-alert")) }
                    }
                }
            }
        }
    }
}

/// A chosen file is read into the form's text, which is what is posted.
const FILE_JS: &str = r#"
var f=document.getElementById('import-file');
if(f){f.addEventListener('change',function(){var r=new FileReader();r.onload=function(){document.getElementById('import-csv').value=r.result;};if(f.files[0])r.readAsText(f.files[0]);});}
"#;

fn vehicle_input(typed: &Typed) -> VehicleInput {
    VehicleInput {
        plate: typed_text(typed, "plate"),
        vehicle_type: typed_text(typed, "vehicle_type"),
        displacement: typed_text(typed, "displacement"),
        products: typed_text(typed, "products")
            .split(|c: char| c == ',' || c == '|' || c == '，' || c == '/' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect(),
        tank_capacity: typed_text(typed, "tank_capacity"),
        baseline_l_per_100km: typed_text(typed, "baseline_l_per_100km"),
        department: typed_value(typed, "department"),
        default_driver: typed_value(typed, "default_driver"),
        max_sale_litres: typed_value(typed, "max_sale_litres"),
        max_sale_amount: typed_value(typed, "max_sale_amount"),
        max_day_litres: typed_value(typed, "max_day_litres"),
        max_day_amount: typed_value(typed, "max_day_amount"),
        allowed_hours: typed_value(typed, "allowed_hours"),
        allowed_stations: typed_value(typed, "allowed_stations").map(|codes| {
            codes
                .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        }),
        controls: Control::ALL
            .into_iter()
            .filter(|c| {
                typed
                    .get(&format!("mode_{}", c.as_str()))
                    .is_some_and(|m| m == "alert")
            })
            .map(|c| (c.as_str().to_string(), Mode::Alert))
            .collect(),
    }
}

pub async fn add_vehicle(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Form(typed): Form<Typed>,
) -> Response {
    let path = format!("/fleet/{company}/vehicles");
    let key = keyed(&state, &typed, &path);
    let done = act::add_vehicle(
        &state,
        &s.actor,
        company,
        Some(&key),
        &vehicle_input(&typed),
    )
    .await;
    match done {
        Ok(v) => Redirect::to(&format!("{path}/{}", encoded(&v.value.plate))).into_response(),
        Err(e) => {
            let r = Refused {
                form: "add",
                typed: &typed,
                err: &e,
            };
            let body =
                vehicles_body(&state, &s, company, &VehiclesQuery::default(), Some(&r)).await;
            again(s.lang, &s.actor, "fo-vehicles", company, &e, body)
        }
    }
}

pub async fn import_vehicles(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Form(typed): Form<Typed>,
) -> Response {
    let text = typed_text(&typed, "csv").replace("\r\n", "\n");
    match act::import_vehicles(&state, &s.actor, company, &text).await {
        Ok(n) => Redirect::to(&format!("/fleet/{company}/vehicles?imported={n}")).into_response(),
        Err(e) => {
            let r = Refused {
                form: "import",
                typed: &typed,
                err: &e,
            };
            let body =
                vehicles_body(&state, &s, company, &VehiclesQuery::default(), Some(&r)).await;
            again(s.lang, &s.actor, "fo-vehicles", company, &e, body)
        }
    }
}

pub async fn vehicles_csv(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
) -> Response {
    match act::export_vehicles(&state, &s.actor, company).await {
        Ok(text) => csv_download(&format!("vehicles-{company}.csv"), text),
        Err(e) => render(s.lang, &s.actor, "fo-vehicles", company, Err(e)),
    }
}

pub async fn vehicle_page(
    State(state): State<App>,
    s: Signed,
    Path((company, plate)): Path<(i64, String)>,
) -> Response {
    let shown = vehicle_body(&state, &s, company, &plate, None, None).await;
    render(s.lang, &s.actor, "fo-vehicle", company, shown)
}

fn limit<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "—".into())
}

async fn vehicle_body(
    state: &App,
    s: &Signed,
    company: i64,
    plate: &str,
    granted: Option<&act::OverrideGranted>,
    refused: Option<&Refused<'_>>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let v = act::vehicle(state, &s.actor, company, plate).await?;
    let r = &v.rules;
    let controls: Vec<(String, String)> = Control::ALL
        .iter()
        .map(|c| {
            (
                c.as_str().to_string(),
                word(lang, &format!("fo-control-{}", c.as_str())),
            )
        })
        .collect();
    let path = format!("/fleet/{company}/vehicles/{}", v.plate);
    Ok(html! {
        h1 { (t(lang, "fo-vehicle")) " " span.data { (v.plate) } }
        p.noprint { a href={"/fleet/" (company) "/vehicles"} { "← " (t(lang, "fo-vehicles")) } }
        @if let Some(g) = granted {
            p.ok role="status" #override-granted { (tr(lang, "fo-override-granted", &[("control", word(lang, &format!("fo-control-{}", g.control.as_str())).into())])) }
        }
        div.panel.grid {
            div { div.k { (t(lang, "fo-vehicle-type")) } div.v { (type_word(lang, &v.vehicle_type)) } }
            div { div.k { (t(lang, "fo-displacement")) } div.v { (v.displacement) } }
            div { div.k { (t(lang, "fo-products")) } div.v { (v.products.join(" / ")) } }
            div { div.k { (t(lang, "fo-card")) } div.v.code { (v.card_number.as_deref().unwrap_or("—")) } }
            div { div.k { (t(lang, "fo-department")) } div.v { (data(v.department.as_deref().unwrap_or(""))) } }
            div { div.k { (t(lang, "fo-driver")) } div.v { (data(v.default_driver.as_deref().unwrap_or(""))) } }
        }
        div.panel {
            h2 { (t(lang, "fo-vehicle-limits")) }
            table #vehicle-limits {
                tbody {
                    tr { td { (t(lang, "fo-tank-l")) } td.num { (v.tank_capacity) } }
                    tr { td { (t(lang, "fo-max-sale-litres")) } td.num { (limit(&r.max_sale_litres)) } }
                    tr { td { (t(lang, "fo-max-sale-amount")) } td.num { (limit(&r.max_sale_amount)) } }
                    tr { td { (t(lang, "fo-max-day-litres")) } td.num { (limit(&r.max_day_litres)) } }
                    tr { td { (t(lang, "fo-max-day-amount")) } td.num { (limit(&r.max_day_amount)) } }
                    tr { td { (t(lang, "fo-allowed-hours")) } td.num { (v.rules.hours.map_or("—".to_string(), |h| h.to_string())) } }
                    tr { td { (t(lang, "fo-allowed-stations")) } td.num.data { (v.rules.stations.as_ref().map_or("—".to_string(), |s| s.join(", "))) } }
                    tr { td { (t(lang, "fo-last-odometer")) } td.num { (limit(&v.last_odometer_km)) } }
                }
            }
            h2 { (t(lang, "fo-control-modes")) }
            table {
                tbody {
                    @for c in Control::ALL {
                        tr { td { (word(lang, &format!("fo-control-{}", c.as_str()))) }
                             td { (t(lang, if r.modes.get(&c).is_some_and(|m| *m == Mode::Alert) { "fo-mode-alert" } else { "fo-mode-decline" })) } }
                    }
                }
            }
        }
        @if !v.active {
            p.notice #vehicle-retired { (t(lang, "fo-retired-note")) }
        }
        @if decides(&s.actor) && v.active {
            form.panel #edit-vehicle method="post" action=(path) {
                h2 { (t(lang, "fo-edit-vehicle")) }
                (refusal_of(lang, "edit", refused))
                div.row { (vehicle_fields(lang, "edit", refused, Some(&v.input()))) }
                button.primary type="submit" { (t(lang, "save")) }
            }
        }
        @if policy::may(&s.actor, Action::GrantOverride) && v.active {
            form.panel #override method="post" action={(path) "/overrides"} {
                h2 { (t(lang, "fo-override")) }
                p.k { (t(lang, "fo-override-hint")) }
                (refusal_of(lang, "override", refused))
                div.row {
                    (choice(lang, "override", refused, "control", "fo-control", &controls, true, "sale_maximum"))
                    (input(lang, "override", refused, "reason", "reason", Kind::Text, true, false, ""))
                    (input(lang, "override", refused, "valid_hours", "fo-valid-hours", Kind::Numeric, false, false, "24"))
                    button.primary type="submit" { (t(lang, "fo-grant")) }
                }
            }
        }
        @if decides(&s.actor) && v.active {
            form.panel #retire-vehicle method="post" action={(path) "/retirement"} {
                h2 { (t(lang, "fo-retire")) }
                (refusal_of(lang, "retire", refused))
                p.k { (t(lang, "fo-retire-hint")) }
                button.danger type="submit" { (t(lang, "fo-retire")) }
            }
        }
    })
}

pub async fn update_vehicle(
    State(state): State<App>,
    s: Signed,
    Path((company, plate)): Path<(i64, String)>,
    Form(typed): Form<Typed>,
) -> Response {
    let done = async {
        let now = act::vehicle(&state, &s.actor, company, &plate).await?;
        let mut input = vehicle_input(&typed);
        input.plate = now.plate.clone();
        act::update_vehicle(&state, &s.actor, company, &plate, &input).await
    }
    .await;
    match done {
        Ok(v) => Redirect::to(&format!("/fleet/{company}/vehicles/{}", encoded(&v.plate)))
            .into_response(),
        Err(e) => {
            let r = Refused {
                form: "edit",
                typed: &typed,
                err: &e,
            };
            let body = vehicle_body(&state, &s, company, &plate, None, Some(&r)).await;
            again(s.lang, &s.actor, "fo-vehicle", company, &e, body)
        }
    }
}

pub async fn retire_vehicle(
    State(state): State<App>,
    s: Signed,
    Path((company, plate)): Path<(i64, String)>,
    Form(typed): Form<Typed>,
) -> Response {
    match act::retire_vehicle(&state, &s.actor, company, &plate).await {
        Ok(v) => Redirect::to(&format!("/fleet/{company}/vehicles/{}", encoded(&v.plate)))
            .into_response(),
        Err(e) => {
            let r = Refused {
                form: "retire",
                typed: &typed,
                err: &e,
            };
            let body = vehicle_body(&state, &s, company, &plate, None, Some(&r)).await;
            again(s.lang, &s.actor, "fo-vehicle", company, &e, body)
        }
    }
}

pub async fn grant_override(
    State(state): State<App>,
    s: Signed,
    Path((company, plate)): Path<(i64, String)>,
    Form(typed): Form<Typed>,
) -> Response {
    let done: AppResult<act::OverrideGranted> = async {
        let valid_hours = match typed_value(&typed, "valid_hours") {
            Some(h) => Some(
                h.parse::<i64>()
                    .map_err(|_| AppError::invalid("valid_hours", "valid_hours: 1 to 72"))?,
            ),
            None => None,
        };
        let req = act::OverrideRequest {
            control: typed_text(&typed, "control"),
            reason: typed_text(&typed, "reason"),
            valid_hours,
        };
        act::grant_override(&state, &s.actor, company, &plate, &req).await
    }
    .await;
    match done {
        Ok(g) => {
            let body = vehicle_body(&state, &s, company, &plate, Some(&g), None).await;
            render(s.lang, &s.actor, "fo-vehicle", company, body)
        }
        Err(e) => {
            let r = Refused {
                form: "override",
                typed: &typed,
                err: &e,
            };
            let body = vehicle_body(&state, &s, company, &plate, None, Some(&r)).await;
            again(s.lang, &s.actor, "fo-vehicle", company, &e, body)
        }
    }
}

// ---------------------------------------------------- allocation plan

/// The plan page for next month (what the 25th prepares).
pub async fn plan_default(
    State(state): State<App>,
    _s: Signed,
    Path(company): Path<i64>,
) -> Response {
    let (_, next) = around(&this_month(&state)).unwrap_or_default();
    Redirect::to(&format!("/fleet/{company}/allocations/{next}")).into_response()
}

pub async fn plan_page(
    State(state): State<App>,
    s: Signed,
    Path((company, month)): Path<(i64, String)>,
) -> Response {
    let shown = plan_body(&state, &s, company, &month, None).await;
    render(s.lang, &s.actor, "fo-plan", company, shown)
}

async fn plan_body(
    state: &App,
    s: &Signed,
    company: i64,
    month: &str,
    refused: Option<&Refused<'_>>,
) -> AppResult<Markup> {
    let lang = s.lang;
    allocation::parse_month(month)?;
    let plan = match act::plan(state, &s.actor, company, month).await {
        Ok(p) => Some(p),
        Err(e) if e.code == Code::NotFound => None,
        Err(e) => return Err(e),
    };
    let decide = decides(&s.actor);
    let base = format!("/fleet/{company}/allocations");
    let (prev, next) = around(month).unwrap_or_default();
    let edited_plate = refused
        .filter(|r| r.form == "line")
        .and_then(|r| r.typed.get("plate").cloned());
    Ok(html! {
        h1 { (t(lang, "fo-plan")) " " (month) }
        p.noprint {
            a href={(base) "/" (prev)} { "← " (prev) } " · "
            a href={(base) "/" (next)} { (next) " →" }
        }
        @match &plan {
            None => {
                p #plan-status { (t(lang, "fo-plan-none")) }
                @if decide {
                    form.panel #draft-plan method="post" action=(base) {
                        (refusal_of(lang, "draft", refused))
                        p.k { (t(lang, "fo-draft-hint")) }
                        input type="hidden" name="month" value=(month);
                        button.primary type="submit" autofocus[refused.is_none()] { (t(lang, "fo-draft")) }
                    }
                }
            }
            Some(p) => {
                @let draft = p.status == PlanStatus::Draft;
                div.panel.grid {
                    div { div.k { (t(lang, "status")) } div.v #plan-status data-status=(p.status.as_str()) { (word(lang, &format!("fo-plan-{}", p.status.as_str()))) } }
                    div { div.k { (t(lang, "total")) } div.big #plan-total { (p.total) } }
                    div { div.k { (t(lang, "fo-vehicles")) } div.big { (p.lines.len()) } }
                }
                (refusal_of(lang, "approve", refused))
                div.panel {
                    table #plan-lines {
                        thead { tr {
                            th { (t(lang, "plate")) } th.num { (t(lang, "fo-base")) } th.num { (t(lang, "fo-adjustment")) }
                            th.num { (t(lang, "amount")) } th { (t(lang, "reason")) }
                            @if draft && decide { th.noprint { (t(lang, "fo-edit-line")) } }
                        } }
                        tbody {
                            @for (i, l) in p.lines.iter().enumerate() {
                                @let mine = edited_plate.as_deref() == Some(l.plate.as_str());
                                @let r = refused.filter(|_| mine);
                                tr id={"line-" (i)} data-plate=(l.plate) {
                                    td.data { (l.plate) }
                                    td.num { (l.base) }
                                    td.num { (l.adjustment) }
                                    td.num.amount { (l.amount) }
                                    td { @if l.edited { (data(&l.reason)) } @else { (t(lang, "fo-by-policy")) } }
                                    @if draft && decide {
                                        td.noprint {
                                            form.step.row method="post" action={(base) "/" (month) "/lines/" (l.plate)} {
                                                input type="hidden" name="plate" value=(l.plate);
                                                @let amount_id = format!("amount-{i}");
                                                @let reason_id = format!("reason-{i}");
                                                @let bad = r.and_then(|r| field_of(r.err));
                                                label.k for=(amount_id) { (t(lang, "amount")) }
                                                input id=(amount_id) name="amount" inputmode="decimal" size="8"
                                                    value=(r.map(|r| typed_text(r.typed, "amount")).unwrap_or_else(|| l.amount.to_string()))
                                                    autofocus[r.is_some() && bad != Some("reason")] required;
                                                label.k for=(reason_id) { (t(lang, "reason")) }
                                                input id=(reason_id) name="reason" required
                                                    value=(r.map(|r| typed_text(r.typed, "reason")).unwrap_or_default())
                                                    autofocus[r.is_some() && bad == Some("reason")];
                                                button.secondary type="submit" { (t(lang, "save")) }
                                                @if let Some(r) = r {
                                                    span.field-error role="alert" {
                                                        (beside(lang, r.err, if bad == Some("reason") { "reason" } else { "amount" }))
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if draft && decide {
                    form.panel #approve-plan method="post" action={(base) "/" (month) "/approval"} {
                        p.k { (tr(lang, "fo-approve-hint", &[("total", p.total.to_string().into())])) }
                        (new_key())
                        button.primary #approve type="submit" accesskey="a" { (t(lang, "fo-approve")) " " kbd { "Alt+A" } }
                    }
                }
            }
        }
    })
}

pub async fn draft_plan(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Form(typed): Form<Typed>,
) -> Response {
    let month = typed_text(&typed, "month");
    let at = crate::actions::At {
        actor: &s.actor,
        now: state.now(),
    };
    match act::draft_plan(&state.db, at, company, &month).await {
        Ok(p) => Redirect::to(&format!("/fleet/{company}/allocations/{}", p.month)).into_response(),
        Err(e) => {
            let r = Refused {
                form: "draft",
                typed: &typed,
                err: &e,
            };
            let m = if allocation::parse_month(&month).is_ok() {
                month.clone()
            } else {
                this_month(&state)
            };
            let body = plan_body(&state, &s, company, &m, Some(&r)).await;
            again(s.lang, &s.actor, "fo-plan", company, &e, body)
        }
    }
}

pub async fn edit_line(
    State(state): State<App>,
    s: Signed,
    Path((company, month, plate)): Path<(i64, String, String)>,
    Form(mut typed): Form<Typed>,
) -> Response {
    typed.insert("plate".into(), plate.clone());
    let amount = typed_text(&typed, "amount");
    let reason = typed_text(&typed, "reason");
    match act::edit_line(&state, &s.actor, company, &month, &plate, &amount, &reason).await {
        Ok(_) => Redirect::to(&format!("/fleet/{company}/allocations/{month}")).into_response(),
        Err(e) => {
            let r = Refused {
                form: "line",
                typed: &typed,
                err: &e,
            };
            let body = plan_body(&state, &s, company, &month, Some(&r)).await;
            again(s.lang, &s.actor, "fo-plan", company, &e, body)
        }
    }
}

pub async fn approve_plan(
    State(state): State<App>,
    s: Signed,
    Path((company, month)): Path<(i64, String)>,
    Form(typed): Form<Typed>,
) -> Response {
    let path = format!("/fleet/{company}/allocations/{month}/approval");
    let key = keyed(&state, &typed, &path);
    match act::approve_plan(&state, &s.actor, company, &month, &key).await {
        Ok(_) => Redirect::to(&format!("/fleet/{company}/allocations/{month}")).into_response(),
        Err(e) => {
            let r = Refused {
                form: "approve",
                typed: &typed,
                err: &e,
            };
            let body = plan_body(&state, &s, company, &month, Some(&r)).await;
            again(s.lang, &s.actor, "fo-plan", company, &e, body)
        }
    }
}

// ---------------------------------------------------------- top-ups

pub async fn topups_page(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
) -> Response {
    let shown = topups_body(&state, &s, company, None).await;
    render(s.lang, &s.actor, "fo-topups", company, shown)
}

async fn topups_body(
    state: &App,
    s: &Signed,
    company: i64,
    refused: Option<&Refused<'_>>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let list = act::topups(state, &s.actor, company).await?;
    let fleet = act::vehicles(state, &s.actor, company).await?;
    let decide = decides(&s.actor);
    let base = format!("/fleet/{company}/topups");
    Ok(html! {
        h1 { (t(lang, "fo-topups")) }
        @if decide {
            form.panel #request-topup method="post" action=(base) {
                h2 { (t(lang, "fo-request-topup")) }
                (refusal_of(lang, "topup", refused))
                (new_key())
                div.row {
                    (choice(lang, "topup", refused, "plate", "plate", &plates(&fleet), true, ""))
                    (input(lang, "topup", refused, "amount", "amount", Kind::Decimal, true, false, ""))
                    (input(lang, "topup", refused, "reason", "reason", Kind::Text, true, false, ""))
                    button.primary type="submit" { (t(lang, "fo-ask")) }
                }
            }
        }
        (refusal_of(lang, "decide", refused))
        div.panel {
            table #topups {
                thead { tr {
                    th.num { "#" } th { (t(lang, "plate")) } th.num { (t(lang, "amount")) } th { (t(lang, "reason")) }
                    th { (t(lang, "status")) } th.noprint {}
                } }
                tbody {
                    @for x in &list {
                        tr id={"topup-" (x.id)} {
                            td.num { (x.id) }
                            td.data { (x.plate) }
                            td.num { (x.amount) }
                            td { (data(&x.reason)) }
                            td.status { (word(lang, &format!("fo-status-{}", x.status.as_str()))) }
                            td.noprint {
                                @if decide && x.status == TopUpStatus::Requested {
                                    form method="post" action={(base) "/" (x.id) "/approval"} style="display:inline" {
                                        (new_key()) button.primary type="submit" { (t(lang, "fo-approve")) }
                                    }
                                    " "
                                    form method="post" action={(base) "/" (x.id) "/rejection"} style="display:inline" {
                                        (new_key()) button.danger type="submit" { (t(lang, "fo-reject")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if list.is_empty() { p { (t(lang, "fo-none-yet")) } }
        }
    })
}

pub async fn request_topup(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Form(typed): Form<Typed>,
) -> Response {
    let path = format!("/fleet/{company}/topups");
    let key = keyed(&state, &typed, &path);
    let req = act::TopUpRequest {
        plate: typed_text(&typed, "plate"),
        amount: typed_text(&typed, "amount"),
        reason: typed_text(&typed, "reason"),
    };
    match act::request_topup(&state, &s.actor, company, Some(&key), &req).await {
        Ok(x) => Redirect::to(&format!("{path}#topup-{}", x.value.id)).into_response(),
        Err(e) => {
            let r = Refused {
                form: "topup",
                typed: &typed,
                err: &e,
            };
            let body = topups_body(&state, &s, company, Some(&r)).await;
            again(s.lang, &s.actor, "fo-topups", company, &e, body)
        }
    }
}

pub async fn decide_topup(
    State(state): State<App>,
    s: Signed,
    Path((company, id, decision)): Path<(i64, i64, String)>,
    Form(typed): Form<Typed>,
) -> Response {
    let path = format!("/fleet/{company}/topups/{id}/{decision}");
    let key = keyed(&state, &typed, &path);
    let done = match decision.as_str() {
        "approval" => act::decide_topup(&state, &s.actor, company, id, true, &key).await,
        "rejection" => act::decide_topup(&state, &s.actor, company, id, false, &key).await,
        _ => Err(AppError::new(Code::NotFound, "no such route")),
    };
    match done {
        Ok(_) => Redirect::to(&format!("/fleet/{company}/topups#topup-{id}")).into_response(),
        Err(e) => {
            let r = Refused {
                form: "decide",
                typed: &typed,
                err: &e,
            };
            let body = topups_body(&state, &s, company, Some(&r)).await;
            again(s.lang, &s.actor, "fo-topups", company, &e, body)
        }
    }
}

// ------------------------------------------------------------ loans

/// The steps a loan in this state may take next, by their path names.
fn next_steps(status: LoanStatus) -> &'static [&'static str] {
    match status {
        LoanStatus::Requested => &["approval", "rejection"],
        LoanStatus::Approved => &["handout"],
        LoanStatus::HandedOut => &["return"],
        _ => &[],
    }
}

fn step_buttons(lang: Lang, company: i64, id: i64, status: LoanStatus) -> Markup {
    html! {
        @for step in next_steps(status) {
            form method="post" action={"/fleet/" (company) "/loans/" (id) "/" (step)} style="display:inline" {
                button class=(if *step == "rejection" { "danger" } else { "primary" }) type="submit" data-step=(step) {
                    (word(lang, &format!("fo-step-{step}")))
                }
            }
            " "
        }
    }
}

pub async fn loans_page(State(state): State<App>, s: Signed, Path(company): Path<i64>) -> Response {
    let shown = loans_body(&state, &s, company, None).await;
    render(s.lang, &s.actor, "fo-loans", company, shown)
}

async fn loans_body(
    state: &App,
    s: &Signed,
    company: i64,
    refused: Option<&Refused<'_>>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let list = act::loans(state, &s.actor, company).await?;
    let fleet = act::vehicles(state, &s.actor, company).await?;
    let decide = decides(&s.actor);
    let base = format!("/fleet/{company}/loans");
    let today = crate::fleet::local_periods(state.now(), state.settings.time_zone).0;
    Ok(html! {
        h1 { (t(lang, "fo-loans")) }
        @if decide {
            form.panel #request-loan method="post" action=(base) {
                h2 { (t(lang, "fo-request-loan")) }
                (refusal_of(lang, "loan", refused))
                (new_key())
                div.row {
                    (choice(lang, "loan", refused, "plate", "plate", &plates(&fleet), true, ""))
                    (input(lang, "loan", refused, "driver", "fo-driver", Kind::Text, true, false, ""))
                    (input(lang, "loan", refused, "purpose", "fo-purpose", Kind::Text, true, false, ""))
                    (input(lang, "loan", refused, "route", "fo-route", Kind::Text, true, false, ""))
                    (input(lang, "loan", refused, "starts_on", "fo-starts-on", Kind::Date, true, false, &today))
                    (input(lang, "loan", refused, "ends_on", "fo-ends-on", Kind::Date, true, false, &today))
                    button.primary type="submit" { (t(lang, "fo-ask")) }
                }
            }
        }
        (refusal_of(lang, "step", refused))
        div.panel {
            table #loans {
                thead { tr {
                    th.num { "#" } th { (t(lang, "plate")) } th { (t(lang, "fo-driver")) } th { (t(lang, "fo-route")) }
                    th { (t(lang, "fo-dates")) } th.num { (t(lang, "refuels")) } th { (t(lang, "status")) } th.noprint {}
                } }
                tbody {
                    @for l in &list {
                        tr id={"loan-" (l.id)} {
                            td.num { a href={(base) "/" (l.id)} { (l.id) } }
                            td.data { (l.plate) }
                            td { (data(&l.driver)) }
                            td { (data(&l.route)) }
                            td { (l.starts_on) " – " (l.ends_on) }
                            td.num { (l.refuels.len()) }
                            td.status { (word(lang, &format!("fo-status-{}", l.status.as_str()))) }
                            td.noprint { @if decide { (step_buttons(lang, company, l.id, l.status)) } }
                        }
                    }
                }
            }
            @if list.is_empty() { p { (t(lang, "fo-none-yet")) } }
        }
    })
}

pub async fn request_loan(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Form(typed): Form<Typed>,
) -> Response {
    let path = format!("/fleet/{company}/loans");
    let key = keyed(&state, &typed, &path);
    let req = LoanRequest {
        plate: typed_text(&typed, "plate"),
        driver: typed_text(&typed, "driver"),
        purpose: typed_text(&typed, "purpose"),
        route: typed_text(&typed, "route"),
        starts_on: typed_text(&typed, "starts_on"),
        ends_on: typed_text(&typed, "ends_on"),
    };
    match act::request_loan(&state, &s.actor, company, Some(&key), &req).await {
        Ok(l) => Redirect::to(&format!("{path}/{}", l.value.id)).into_response(),
        Err(e) => {
            let r = Refused {
                form: "loan",
                typed: &typed,
                err: &e,
            };
            let body = loans_body(&state, &s, company, Some(&r)).await;
            again(s.lang, &s.actor, "fo-loans", company, &e, body)
        }
    }
}

pub async fn loan_page(
    State(state): State<App>,
    s: Signed,
    Path((company, id)): Path<(i64, i64)>,
) -> Response {
    let shown = loan_body(&state, &s, company, id, None).await;
    render(s.lang, &s.actor, "fo-loan", company, shown)
}

async fn loan_body(
    state: &App,
    s: &Signed,
    company: i64,
    id: i64,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let l = act::loan(state, &s.actor, company, id).await?;
    Ok(html! {
        h1 { (t(lang, "fo-loan")) " #" (l.id) " · " span.data { (l.plate) } }
        p.noprint { a href={"/fleet/" (company) "/loans"} { "← " (t(lang, "fo-loans")) } }
        @if let Some(e) = refused { (error_box(lang, e)) }
        div.panel.grid {
            div { div.k { (t(lang, "status")) } div.v #loan-status data-status=(l.status.as_str()) { (word(lang, &format!("fo-status-{}", l.status.as_str()))) } }
            div { div.k { (t(lang, "fo-driver")) } div.v { (data(&l.driver)) } }
            div { div.k { (t(lang, "fo-purpose")) } div.v { (data(&l.purpose)) } }
            div { div.k { (t(lang, "fo-route")) } div.v { (data(&l.route)) } }
            div { div.k { (t(lang, "fo-dates")) } div.v { (l.starts_on) " – " (l.ends_on) } }
        }
        @if decides(&s.actor) { p.noprint #loan-steps { (step_buttons(lang, company, l.id, l.status)) } }
        div.panel {
            h2 { (t(lang, "fo-trip-refuels")) }
            table #loan-refuels {
                thead { tr { th { (t(lang, "fo-time")) } th { (t(lang, "station")) } th.num { (t(lang, "litres")) } th.num { (t(lang, "amount")) } } }
                tbody {
                    @for r in &l.refuels {
                        tr { td { (r.time) } td.code { (r.station) } td.num { (r.litres) } td.num { (r.charged) } }
                    }
                }
            }
            @if l.refuels.is_empty() { p { (t(lang, "fo-none-yet")) } }
        }
    })
}

pub async fn loan_step(
    State(state): State<App>,
    s: Signed,
    Path((company, id, step)): Path<(i64, i64, String)>,
) -> Response {
    let done = match act::loan_step_named(&step) {
        Ok(step) => act::loan_step(&state, &s.actor, company, id, step).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Redirect::to(&format!("/fleet/{company}/loans/{id}")).into_response(),
        Err(e) => {
            let body = loan_body(&state, &s, company, id, Some(&e)).await;
            again(s.lang, &s.actor, "fo-loan", company, &e, body)
        }
    }
}

// ------------------------------------------------------- cash refuels

#[derive(Deserialize, Default)]
pub struct CashQuery {
    recorded: Option<i64>,
}

pub async fn cash_page(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Query(q): Query<CashQuery>,
) -> Response {
    let shown = cash_body(&state, &s, company, q.recorded, None).await;
    render(s.lang, &s.actor, "fo-cash", company, shown)
}

async fn cash_body(
    state: &App,
    s: &Signed,
    company: i64,
    recorded: Option<i64>,
    refused: Option<&Refused<'_>>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let fleet = act::vehicles(state, &s.actor, company).await?;
    let products: Vec<(String, String)> = crate::actions::reads::products(state)
        .await?
        .into_iter()
        .map(|(p, _)| {
            let key = format!("product-{}", p.code);
            let shown = if text::has(&key) {
                word(lang, &key)
            } else {
                p.name.clone()
            };
            (p.code, shown)
        })
        .collect();
    let month = this_month(state);
    Ok(html! {
        h1 { (t(lang, "fo-cash")) }
        @if let Some(id) = recorded {
            p.ok role="status" #cash-recorded { (tr(lang, "fo-cash-recorded", &[("id", id.into())])) " "
                a href={"/fleet/" (company) "/review?month=" (month)} { (t(lang, "fuel_review")) } }
        }
        @if decides(&s.actor) {
            form.panel #record-cash method="post" action={"/fleet/" (company) "/cash-refuels"} {
                p.k { (t(lang, "fo-cash-hint")) }
                (refusal_of(lang, "cash", refused))
                div.row {
                    (choice(lang, "cash", refused, "plate", "plate", &plates(&fleet), true, ""))
                    (choice(lang, "cash", refused, "product", "product", &products, false, ""))
                    (input(lang, "cash", refused, "litres", "litres", Kind::Decimal, true, false, ""))
                    (input(lang, "cash", refused, "amount", "amount", Kind::Decimal, true, false, ""))
                    (input(lang, "cash", refused, "reason", "reason", Kind::Text, true, false, ""))
                    (input(lang, "cash", refused, "station", "station", Kind::Text, false, false, ""))
                    button.primary type="submit" { (t(lang, "fo-record")) }
                }
            }
        }
    })
}

pub async fn record_cash(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Form(typed): Form<Typed>,
) -> Response {
    let req = CashRefuelRequest {
        plate: typed_text(&typed, "plate"),
        product: typed_text(&typed, "product"),
        litres: typed_text(&typed, "litres"),
        amount: typed_text(&typed, "amount"),
        reason: typed_text(&typed, "reason"),
        station: typed_value(&typed, "station"),
        refuelled_at: None,
    };
    match act::record_cash(&state, &s.actor, company, &req).await {
        Ok(id) => {
            Redirect::to(&format!("/fleet/{company}/cash-refuels?recorded={id}")).into_response()
        }
        Err(e) => {
            let r = Refused {
                form: "cash",
                typed: &typed,
                err: &e,
            };
            let body = cash_body(&state, &s, company, None, Some(&r)).await;
            again(s.lang, &s.actor, "fo-cash", company, &e, body)
        }
    }
}

// ------------------------------------------------------------ policy

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    saved: Option<u8>,
}

pub async fn policy_page(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let shown = policy_body(&state, &s, company, q.saved.is_some(), None).await;
    render(s.lang, &s.actor, "fo-limits", company, shown)
}

/// The policy as the form's fields, by name.
fn policy_fields(p: &Policy) -> Typed {
    let mut f = Typed::new();
    let a = &p.adjustment;
    for (k, v) in [
        ("under_percent", &a.under_percent),
        ("under_change_percent", &a.under_change_percent),
        ("over_percent", &a.over_percent),
        ("over_change_percent", &a.over_change_percent),
        ("floor", &a.floor),
        ("cap", &a.cap),
    ] {
        f.insert(k.into(), v.clone());
    }
    let unspent = match p.unspent {
        Unspent::CarryOver => "carry_over",
        Unspent::SweepBack => "sweep_back",
    };
    f.insert("unspent".into(), unspent.into());
    f.insert("allocation_day".into(), p.allocation_day.to_string());
    for (i, b) in p.base.iter().enumerate() {
        f.insert(format!("base_type_{i}"), b.vehicle_type.clone());
        f.insert(
            format!("base_max_{i}"),
            b.max_displacement.clone().unwrap_or_default(),
        );
        f.insert(format!("base_amount_{i}"), b.amount.clone());
    }
    for (i, q) in p.private_quotas.iter().enumerate() {
        f.insert(format!("quota_plate_{i}"), q.plate.clone());
        f.insert(format!("quota_amount_{i}"), q.amount.clone());
        f.insert(format!("quota_until_{i}"), q.until.clone());
    }
    f
}

/// How many numbered rows the form has under `prefix`.
fn rows_of(f: &Typed, prefix: &str) -> usize {
    f.keys()
        .filter_map(|k| k.strip_prefix(prefix)?.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

fn policy_of(f: &Typed) -> AppResult<Policy> {
    let v = |k: &str| typed_text(f, k).trim().to_string();
    let base = (0..rows_of(f, "base_type_"))
        .filter(|i| !v(&format!("base_amount_{i}")).is_empty())
        .map(|i| BaseRule {
            vehicle_type: v(&format!("base_type_{i}")),
            max_displacement: typed_value(f, &format!("base_max_{i}")),
            amount: v(&format!("base_amount_{i}")),
        })
        .collect();
    let private_quotas = (0..rows_of(f, "quota_plate_"))
        .filter(|i| !v(&format!("quota_plate_{i}")).is_empty())
        .map(|i| PrivateQuota {
            plate: v(&format!("quota_plate_{i}")),
            amount: v(&format!("quota_amount_{i}")),
            until: v(&format!("quota_until_{i}")),
        })
        .collect();
    let unspent = match v("unspent").as_str() {
        "carry_over" => Unspent::CarryOver,
        _ => Unspent::SweepBack,
    };
    let allocation_day = v("allocation_day")
        .parse::<u32>()
        .map_err(|_| AppError::invalid("allocation_day", "allocation_day: 1 to 28"))?;
    Ok(Policy {
        base,
        adjustment: Adjustment {
            under_percent: v("under_percent"),
            under_change_percent: v("under_change_percent"),
            over_percent: v("over_percent"),
            over_change_percent: v("over_change_percent"),
            floor: v("floor"),
            cap: v("cap"),
        },
        private_quotas,
        unspent,
        allocation_day,
    })
}

async fn policy_body(
    state: &App,
    s: &Signed,
    company: i64,
    saved: bool,
    refused: Option<&Refused<'_>>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let fields = match refused {
        Some(r) => r.typed.clone(),
        None => match act::policy(state, &s.actor, company).await {
            Ok(p) => policy_fields(&p),
            Err(e) if e.code == Code::NotFound => Typed::new(),
            Err(e) => return Err(e),
        },
    };
    let decide = decides(&s.actor);
    let field = |name: String| typed_text(&fields, &name);
    let bases = rows_of(&fields, "base_type_") + 2;
    let quotas = rows_of(&fields, "quota_plate_") + 1;
    let mut types: Vec<(String, String)> = vec![(String::new(), "—".into())];
    types.extend(
        VEHICLE_TYPES
            .iter()
            .map(|c| (c.to_string(), type_word(lang, c))),
    );
    let unspent = [
        (
            "sweep_back".to_string(),
            t(lang, "fo-unspent-sweep_back").to_string(),
        ),
        (
            "carry_over".to_string(),
            t(lang, "fo-unspent-carry_over").to_string(),
        ),
    ];
    let r = refused.map(|r| Refused {
        form: "policy",
        typed: &fields,
        err: r.err,
    });
    let r = r.as_ref();
    let num = |name: &'static str, label: &'static str, focus: bool| {
        input(
            lang,
            "policy",
            r,
            name,
            label,
            Kind::Decimal,
            true,
            focus,
            &typed_text(&fields, name),
        )
    };
    Ok(html! {
        h1 { (t(lang, "fo-limits")) }
        p.k { (t(lang, "fo-limits-hint")) " " a href={"/fleet/" (company) "/vehicles"} { (t(lang, "fo-vehicles")) } }
        @if saved { p.ok role="status" #policy-saved { (t(lang, "fo-policy-saved")) } }
        form.panel #policy method="post" action={"/fleet/" (company) "/policy"} {
            h2 { (t(lang, "fo-policy")) }
            (refusal_of(lang, "policy", r))
            fieldset {
                legend { (t(lang, "fo-base-rules")) }
                table #base-rules {
                    thead { tr { th { (t(lang, "fo-vehicle-type")) } th.num { (t(lang, "fo-max-displacement")) } th.num { (t(lang, "amount")) } } }
                    tbody {
                        @for i in 0..bases {
                            tr {
                                td { select name={"base_type_" (i)} aria-label=(t(lang, "fo-vehicle-type")) {
                                    @for (v, w) in &types { option value=(v) selected[*v == field(format!("base_type_{i}"))] { (w) } }
                                } }
                                td.num { input name={"base_max_" (i)} inputmode="decimal" aria-label=(t(lang, "fo-max-displacement")) value=(field(format!("base_max_{i}"))); }
                                td.num { input name={"base_amount_" (i)} inputmode="decimal" aria-label=(t(lang, "amount")) value=(field(format!("base_amount_{i}"))) autofocus[i == 0 && r.is_none()]; }
                            }
                        }
                    }
                }
            }
            fieldset {
                legend { (t(lang, "fo-adjustment")) }
                div.row {
                    (num("under_percent", "fo-under-percent", false))
                    (num("under_change_percent", "fo-under-change", false))
                    (num("over_percent", "fo-over-percent", false))
                    (num("over_change_percent", "fo-over-change", false))
                    (num("floor", "fo-floor", false))
                    (num("cap", "fo-cap", false))
                    (choice(lang, "policy", r, "unspent", "fo-unspent", &unspent, false, &typed_text(&fields, "unspent")))
                    (input(lang, "policy", r, "allocation_day", "fo-allocation-day", Kind::Numeric, true, false, &{
                        let d = typed_text(&fields, "allocation_day"); if d.is_empty() { "25".to_string() } else { d } }))
                }
            }
            fieldset {
                legend { (t(lang, "fo-private-quotas")) }
                table #private-quotas {
                    thead { tr { th { (t(lang, "plate")) } th.num { (t(lang, "amount")) } th { (t(lang, "fo-until")) } } }
                    tbody {
                        @for i in 0..quotas {
                            tr {
                                td { input name={"quota_plate_" (i)} aria-label=(t(lang, "plate")) value=(field(format!("quota_plate_{i}"))); }
                                td.num { input name={"quota_amount_" (i)} inputmode="decimal" aria-label=(t(lang, "amount")) value=(field(format!("quota_amount_{i}"))); }
                                td { input name={"quota_until_" (i)} type="date" aria-label=(t(lang, "fo-until")) value=(field(format!("quota_until_{i}"))); }
                            }
                        }
                    }
                }
            }
            @if decide { button.primary type="submit" { (t(lang, "save")) } }
        }
    })
}

pub async fn save_policy(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Form(typed): Form<Typed>,
) -> Response {
    let done = match policy_of(&typed) {
        Ok(p) => act::save_policy(&state, &s.actor, company, &p).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/fleet/{company}/policy?saved=1")).into_response(),
        Err(e) => {
            let r = Refused {
                form: "policy",
                typed: &typed,
                err: &e,
            };
            let body = policy_body(&state, &s, company, false, Some(&r)).await;
            again(s.lang, &s.actor, "fo-limits", company, &e, body)
        }
    }
}

// ------------------------------------------------------------ report

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    month: Option<String>,
}

pub async fn report_page(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> Response {
    let month = q.month.unwrap_or_else(|| this_month(&state));
    let shown = report_body(&state, &s, company, &month).await;
    render(s.lang, &s.actor, "fo-report", company, shown)
}

async fn report_body(state: &App, s: &Signed, company: i64, month: &str) -> AppResult<Markup> {
    let lang = s.lang;
    let r = act::review(
        state,
        &s.actor,
        company,
        month,
        &crate::fleet::review::Thresholds::default(),
    )
    .await?;
    let base = format!("/fleet/{company}/reports/monthly");
    let (prev, next) = around(month).unwrap_or_default();
    Ok(html! {
        h1 { (t(lang, "fo-report")) " " (month) }
        p.noprint {
            a href={(base) "?month=" (prev)} { "← " (prev) } " · "
            a href={(base) "?month=" (next)} { (next) " →" } " · "
            a #report-csv href={(base) ".csv?month=" (month)} { "CSV" } " · "
            a href={"/fleet/" (company) "/review?month=" (month)} { (t(lang, "fuel_review")) }
        }
        div.panel.grid {
            div { div.k { (t(lang, "total_litres")) } div.big { (r.total_litres) } }
            div { div.k { (t(lang, "total_amount")) } div.big { "¥" (r.total_amount) } }
            div { div.k { (t(lang, "refuels")) } div.big { (r.total_refuels) } }
            div { div.k { (t(lang, "anomalies")) } div.big { (r.anomalies.iter().filter(|a| !a.acknowledged).count()) } }
        }
        div.panel {
            table #report {
                thead { tr {
                    th { (t(lang, "plate")) } th { (t(lang, "fo-department")) } th.num { (t(lang, "litres")) } th.num { (t(lang, "amount")) }
                    th.num { (t(lang, "refuels")) } th.num { (t(lang, "distance_km")) } th.num { (t(lang, "l_per_100km")) }
                    th.num { (t(lang, "fo-allocation")) } th.num { (t(lang, "allocation_used")) }
                } }
                tbody {
                    @for l in &r.vehicles {
                        tr {
                            td.data { (l.plate) }
                            td { (data(l.department.as_deref().unwrap_or(""))) }
                            td.num { (l.litres) }
                            td.num { (l.amount) }
                            td.num { (l.refuels) }
                            td.num { (l.distance_km.map(|d| d.to_string()).unwrap_or_default()) }
                            td.num { (l.l_per_100km.clone().unwrap_or_default()) }
                            td.num { (l.allocation.map(|a| a.to_string()).unwrap_or_default()) }
                            td.num { (l.allocation_used_percent.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    })
}

pub async fn report_csv(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> Response {
    let month = q.month.unwrap_or_else(|| this_month(&state));
    let made = async {
        let r = act::review(
            &state,
            &s.actor,
            company,
            &month,
            &crate::fleet::review::Thresholds::default(),
        )
        .await?;
        crate::fleet::review::vehicles_csv(&r)
    }
    .await;
    match made {
        Ok(text) => csv_download(&format!("fuel-review-{company}-{month}.csv"), text),
        Err(e) => render(s.lang, &s.actor, "fo-report", company, Err(e)),
    }
}

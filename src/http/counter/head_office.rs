//! Head office's pages: partner merchants and their offers, credit lines,
//! payments and reminders, the month's targets and customer archives — over
//! the actions the API uses.
//!
//! Each form posts to the page whose path is the API's without `/api/v1`
//! (`POST /merchants`, `POST /offers`, `POST /offers/{code}/end`,
//! `GET /credit/reminders`, `/customers/{id}/credit-line`, `POST
//! /customers`, `/customers/{id}/archive`, `/customers/{id}/contacts`) and
//! hands what
//! was typed to the same action the API route calls. A refused form comes
//! back with what was typed and the field at fault marked. The month's
//! targets are at `/targets/{month}` for every role that sets them
//! (`station.rs` serves the path): head office and the administrator see
//! this room's table of districts and stations, a district manager the
//! district's stations; both call
//! [`crate::actions::acquisition::put_targets`].

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::acquisition::{around, this_month};
use super::alliance::local;
use super::form::{at_fault, given};
use super::text::{tr, word};
use super::{HeadOffice, Lang, Signed, data, error_box, one_page, page, t};
use super::{render, render_refused};
use crate::acquisition::targets::{TargetInput, Tracking};
use crate::actions::acquisition as targets_act;
use crate::actions::alliance as alliance_act;
use crate::actions::card_life;
use crate::actions::credit::{self as credit_act, LineOrder};
use crate::actions::crm as crm_act;
use crate::actions::{App, Keyed};
use crate::alliance::merchants::{Merchant, MerchantInput};
use crate::alliance::offers::{
    BenefitInput, BenefitKind, Event, Funding, Offer, OfferInput, TriggerInput,
};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, Target};
use crate::cards::CardKind;
use crate::cards::customers::{Consents, CustomerKind, IdKind, NewCustomer};
use crate::credit::lines::LineView;
use crate::credit::terms::{Standing, Terms};
use crate::crm::archive::{Archive, ArchiveChange, ContactInput};
use crate::error::{AppError, AppResult, Code};
use crate::http::api::amount_or_zero;
use crate::stations::Station;

/// The room's page routes, merged into the pages' router.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/head-office", get(home))
        .route("/head-office/archive", get(archive_by_number))
        .route("/head-office/credit", get(company_by_number))
        .route("/merchants", get(merchants_page).post(add_merchant))
        .route("/offers", get(offers_page).post(add_offer))
        .route("/offers/new", get(new_offer_page))
        .route("/offers/{code}/end", post(end_offer))
        .route("/credit/reminders", get(reminders_page))
        .route("/customers/{id}/credit-line", get(line_page).post(set_line))
        .route("/customers/new", get(new_customer_page))
        .route("/customers", post(add_customer))
        .route(
            "/customers/{id}/archive",
            get(archive_page).post(change_archive),
        )
        .route("/customers/{id}/contacts", post(add_contact))
}

// ------------------------------------------------------------ the helpers

/// How many rows a list shows on one page.
const PER_PAGE: usize = 50;

/// A form as it was posted: every name with its values, in order (a
/// group of checkboxes sends one name many times).
struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; empty when absent.
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The value of `name`, or `None` when left empty.
    fn given(&self, name: &str) -> Option<String> {
        given(self.get(name))
    }

    /// Every value of `name` (checkboxes).
    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    /// The form as text, for the idempotency key's fingerprint.
    fn described(&self) -> String {
        self.0
            .iter()
            .filter(|(k, _)| k != "key" && k != "csrf")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn key(&self) -> &str {
        self.get("key")
    }
}

/// A refusal of `field`, its message led by the field's name as the
/// rooms' own checks write theirs.
fn bad(field: &str, message: &str) -> AppError {
    AppError::invalid(field, format!("{field}: {message}"))
}

/// A whole number typed into `field`, or `None` when left empty.
fn whole(f: &Fields, field: &str) -> AppResult<Option<i64>> {
    f.given(field)
        .map(|v| v.parse::<i64>().map_err(|_| bad(field, "a whole number")))
        .transpose()
}

/// A refusal, with the field at fault named by its label on the page.
fn refusal_box(lang: Lang, e: &AppError, label: Option<&str>) -> Markup {
    html! {
        (error_box(lang, e))
        @if let Some(label) = label {
            p.field-error #field-at-fault { (t(lang, "ho_check_field")) " " strong { (label) } }
        }
    }
}

/// A page the role may not open: why, and 403.
fn forbidden(lang: Lang, actor: &Actor, title: &str) -> Response {
    let e = AppError::new(Code::Forbidden, "not for this role");
    render(lang, actor, title, Err(e))
}

/// The links to the pages before and after, keeping the list's filter.
fn pager(lang: Lang, path: &str, filter: &[(&str, &str)], page: usize, pages: usize) -> Markup {
    let link = |n: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in filter.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
        q.append_pair("page", &n.to_string());
        format!("{path}?{}", q.finish())
    };
    html! {
        @if pages > 1 {
            p.noprint.pager {
                @if page > 1 { a rel="prev" href=(link(page - 1)) { "← " (t(lang, "ho_prev_page")) } " " }
                span { (tr(lang, "ho_page_of", &[("page", (page as i64).into()), ("pages", (pages as i64).into())])) }
                @if page < pages { " " a rel="next" href=(link(page + 1)) { (t(lang, "ho_next_page")) " →" } }
            }
        }
    }
}

fn checked(v: bool) -> Option<&'static str> {
    v.then_some("checked")
}

fn event_word(lang: Lang, e: Event) -> &'static str {
    match e {
        Event::CardOpened => t(lang, "event_card_opened"),
        Event::Recharge => t(lang, "event_recharge"),
        Event::Sale => t(lang, "event_sale"),
        Event::MonthlySpend => t(lang, "event_monthly_spend"),
    }
}

fn kind_word(lang: Lang, k: BenefitKind) -> &'static str {
    match k {
        BenefitKind::Voucher => t(lang, "benefit_voucher"),
        BenefitKind::Entitlement => t(lang, "benefit_entitlement"),
        BenefitKind::Discount => t(lang, "benefit_discount"),
        BenefitKind::Gift => t(lang, "benefit_gift"),
    }
}

fn standing_word(lang: Lang, s: Standing) -> &'static str {
    match s {
        Standing::Due => t(lang, "standing_due"),
        Standing::Grace => t(lang, "standing_grace"),
        Standing::Overdue => t(lang, "standing_overdue"),
    }
}

const EVENTS: [Event; 4] = [
    Event::CardOpened,
    Event::Recharge,
    Event::Sale,
    Event::MonthlySpend,
];
const KINDS: [BenefitKind; 4] = [
    BenefitKind::Voucher,
    BenefitKind::Entitlement,
    BenefitKind::Discount,
    BenefitKind::Gift,
];
const CARD_KINDS: [CardKind; 5] = [
    CardKind::Personal,
    CardKind::CompanyMain,
    CardKind::CompanySub,
    CardKind::Fleet,
    CardKind::Anonymous,
];
/// The kinds of partner a merchant is registered as.
const CATEGORIES: [&str; 3] = ["insurance", "car_wash", "restaurant"];

// -------------------------------------------------------------- the home

/// Head office's home: every task, each a link to its page, as the role
/// may do it.
pub async fn home(State(state): State<App>, h: HeadOffice) -> Response {
    let lang = h.lang;
    let a = &h.actor;
    let month = this_month(&state);
    let tasks: Vec<(bool, String, &str, &str)> = vec![
        (
            policy::may(a, Action::ManageAlliance),
            "/merchants".into(),
            "ho_task_merchants",
            "ho_task_merchants_hint",
        ),
        (
            policy::may(a, Action::ManageAlliance),
            "/offers/new".into(),
            "ho_task_new_offer",
            "ho_task_new_offer_hint",
        ),
        (
            policy::may(a, Action::ManageAlliance),
            "/offers".into(),
            "ho_task_offers",
            "ho_task_offers_hint",
        ),
        (
            policy::may(a, Action::ManageAlliance),
            "/alliance".into(),
            "ho_task_settle",
            "ho_task_settle_hint",
        ),
        (
            policy::may(a, Action::ReadCreditReminders),
            "/credit/reminders".into(),
            "ho_task_reminders",
            "ho_task_reminders_hint",
        ),
        (
            policy::may(a, Action::SetCreditLine),
            "/credit/reminders#find-company".into(),
            "ho_task_credit_line",
            "ho_task_credit_line_hint",
        ),
        (
            policy::may(a, Action::SetTargets),
            format!("/targets/{month}"),
            "ho_task_targets",
            "ho_task_targets_hint",
        ),
        (
            policy::may(a, Action::ReadTargets),
            format!("/acquisition?month={month}"),
            "ho_task_tracking",
            "ho_task_tracking_hint",
        ),
        (
            policy::may(a, Action::EditCustomerArchive),
            "#find-customer".into(),
            "ho_task_archive",
            "ho_task_archive_hint",
        ),
        (
            policy::may(a, Action::AddCustomer),
            "/customers/new".into(),
            "ho_task_new_customer",
            "ho_task_new_customer_hint",
        ),
    ];
    let body = html! {
        h1 { (t(lang, "ho_home")) }
        section.panel {
            ol #tasks {
                @for (i, (_, href, name, hint)) in tasks.iter().filter(|x| x.0).enumerate() {
                    li { a href=(href) accesskey=[(i < 9).then(|| (i + 1).to_string())] { (t(lang, name)) }
                         " — " span.k { (t(lang, hint)) } }
                }
            }
        }
        @if policy::may(a, Action::EditCustomerArchive) {
            form.panel.row #find-customer method="get" action="/head-office/archive" {
                div { label for="customer-id" { (t(lang, "ho_customer_number")) }
                      input #customer-id name="id" inputmode="numeric" required; }
                button.secondary type="submit" { (t(lang, "ho_edit_archive")) }
                @if policy::may(a, Action::AddCustomer) {
                    a #new-customer-link href="/customers/new" { (t(lang, "ho_new_customer")) }
                }
            }
        }
    };
    page(lang, t(lang, "ho_home"), Some(a), body).into_response()
}

// ------------------------------------------------------------- merchants

#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// Words in the code or the name.
    q: Option<String>,
    category: Option<String>,
    merchant: Option<String>,
    /// `active`, `ended`, `scheduled` (offers); `due`, `grace`,
    /// `overdue` (reminders).
    status: Option<String>,
    page: Option<usize>,
    /// The merchant or offer just added.
    done: Option<String>,
    /// The offer just ended.
    ended: Option<String>,
}

fn text_filter(q: &Option<String>) -> String {
    q.as_deref().unwrap_or("").trim().to_lowercase()
}

/// The merchants with the form to register one.
pub async fn merchants_page(
    State(state): State<App>,
    h: HeadOffice,
    Query(q): Query<ListQuery>,
) -> Response {
    let shown = merchants_body(&state, &h, &q, &Fields(Vec::new()), None).await;
    render(h.lang, &h.actor, t(h.lang, "ho_merchants"), shown)
}

async fn merchants_body(
    state: &App,
    h: &HeadOffice,
    q: &ListQuery,
    typed: &Fields,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = h.lang;
    let all = alliance_act::merchants(state, &h.actor).await?;
    let stations = targets_act::stations(state, &h.actor).await?;
    let words = text_filter(&q.q);
    let category = q.category.clone().unwrap_or_default();
    let list: Vec<&Merchant> = all
        .iter()
        .filter(|m| {
            words.is_empty()
                || m.code.to_lowercase().contains(&words)
                || m.name.to_lowercase().contains(&words)
        })
        .filter(|m| category.is_empty() || m.category == category)
        .collect();
    let (shown, page_no, pages) = one_page(&list, q.page, PER_PAGE);
    let label = refused
        .and_then(AppError::field)
        .map(|f| merchant_label(lang, f));
    Ok(html! {
        h1 { (t(lang, "ho_merchants")) }
        p.noprint { a href="/head-office" { "← " (t(lang, "ho_home")) } }
        @if let Some(code) = q.done.as_deref() {
            p.ok role="status" #done { (t(lang, "ho_merchant_added")) " " span.code.data { (code) } }
        }
        section.panel {
            form.row.noprint #merchant-filter method="get" action="/merchants" {
                div { label for="mq" { (t(lang, "ho_search_words")) }
                      input #mq name="q" value=(q.q.clone().unwrap_or_default()); }
                div { label for="mcategory" { (t(lang, "category")) }
                    select #mcategory name="category" {
                        option value="" { (t(lang, "ho_all")) }
                        @for c in CATEGORIES { option value=(c) selected[category == c] { (word(lang, c)) } }
                    }
                }
                button.secondary type="submit" { (t(lang, "show")) }
            }
            @if list.is_empty() { p.k #no-merchants { (t(lang, "ho_no_merchants")) } } @else {
                table #merchant-list {
                    thead { tr {
                        th { (t(lang, "code")) } th { (t(lang, "name")) } th { (t(lang, "category")) }
                        th { (t(lang, "partner_stations")) } th { (t(lang, "ho_contact")) } th {}
                    } }
                    tbody {
                        @for m in shown {
                            tr #{"merchant-" (m.code)} {
                                td.code.data { (m.code) } td.data { (m.name) } td { (word(lang, &m.category)) }
                                td.code { (m.stations.join(", ")) }
                                td.data { (m.contact.as_deref().unwrap_or("—")) }
                                td { a href={"/offers?merchant=" (m.code)} { (t(lang, "offers")) } }
                            }
                        }
                    }
                }
                (pager(lang, "/merchants", &[("q", q.q.as_deref().unwrap_or("")), ("category", &category)], page_no, pages))
            }
        }
        form.panel #new-merchant method="post" action="/merchants" {
            h2 { (t(lang, "ho_add_merchant")) }
            @if let Some(e) = refused { (refusal_box(lang, e, label.as_deref())) }
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.grid {
                (text_input(lang, "m-code", "code", "code", typed, refused, true, true))
                (text_input(lang, "m-name", "name", "name", typed, refused, true, false))
                div { label for="m-category" { (t(lang, "category")) }
                    select #m-category name="category" {
                        @for c in CATEGORIES { option value=(c) selected[typed.get("category") == c] { (word(lang, c)) } }
                    }
                }
                (text_input(lang, "m-address", "address", "address", typed, refused, false, false))
                (text_input(lang, "m-contact", "contact", "ho_contact", typed, refused, false, false))
            }
            fieldset #m-stations aria-invalid=[at_fault(refused, "stations").then_some("true")] {
                legend { (t(lang, "partner_stations")) }
                @for s in &stations {
                    label style="display:inline-block;margin-right:1rem" {
                        input type="checkbox" name="stations" value=(s.code) checked=[checked(typed.has("stations", &s.code))];
                        " " span.code { (s.code) } " " span.data { (s.name) }
                    }
                }
            }
            button.primary type="submit" { (t(lang, "ho_add_merchant")) " " kbd { "Enter" } }
        }
    })
}

fn merchant_label(lang: Lang, field: &str) -> String {
    match field {
        "code" => t(lang, "code"),
        "name" => t(lang, "name"),
        "category" => t(lang, "category"),
        "address" => t(lang, "address"),
        "contact" => t(lang, "ho_contact"),
        "stations" => t(lang, "partner_stations"),
        _ => t(lang, "ho_the_form"),
    }
    .to_string()
}

/// A labelled text input keeping what was typed, marked when at fault.
#[allow(clippy::too_many_arguments)]
fn text_input(
    lang: Lang,
    id: &str,
    name: &str,
    label: &'static str,
    typed: &Fields,
    refused: Option<&AppError>,
    required: bool,
    focus: bool,
) -> Markup {
    let fault = at_fault(refused, name);
    html! {
        div {
            label for=(id) { (t(lang, label)) }
            input id=(id) name=(name) value=(typed.get(name)) required[required]
                autofocus[fault || (focus && refused.is_none())]
                aria-invalid=[fault.then_some("true")];
            @if fault { span.field-error { (t(lang, "ho_check_this")) } }
        }
    }
}

/// Registers a merchant with the stations it partners with.
pub async fn add_merchant(
    State(state): State<App>,
    h: HeadOffice,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(pairs);
    let input = MerchantInput {
        code: f.get("code").to_string(),
        name: f.get("name").to_string(),
        category: f.get("category").to_string(),
        address: f.given("address"),
        contact: f.given("contact"),
        stations: f.all("stations"),
    };
    let key = Keyed::new(
        &state.keys.pin,
        f.key(),
        "POST",
        "/merchants",
        f.described().as_bytes(),
    );
    match alliance_act::add_merchant(&state, &h.actor, Some(&key), &input).await {
        Ok(done) => Redirect::to(&format!(
            "/merchants?done={}#merchant-{}",
            done.value.code, done.value.code
        ))
        .into_response(),
        Err(e) => {
            let title = t(h.lang, "ho_merchants");
            let body = merchants_body(&state, &h, &ListQuery::default(), &f, Some(&e)).await;
            render_refused(h.lang, &h.actor, title, &e, body)
        }
    }
}

// ----------------------------------------------------------------- offers

/// Where an offer stands now.
fn offer_status(o: &Offer, now: i64) -> &'static str {
    let at = |t: &Option<String>| t.as_deref().and_then(crate::time::parse_rfc3339);
    if at(&o.ends_at).is_some_and(|e| e <= now) {
        "ended"
    } else if at(&o.starts_at).is_some_and(|s| s > now) {
        "scheduled"
    } else {
        "active"
    }
}

fn status_word(lang: Lang, status: &str) -> &'static str {
    match status {
        "ended" => t(lang, "ho_offer_ended"),
        "scheduled" => t(lang, "ho_offer_scheduled"),
        _ => t(lang, "ho_offer_active"),
    }
}

/// The offers, filtered by merchant and status, each active one with its
/// button to end it.
pub async fn offers_page(
    State(state): State<App>,
    h: HeadOffice,
    Query(q): Query<ListQuery>,
) -> Response {
    let shown = offers_body(&state, &h, &q, None).await;
    render(h.lang, &h.actor, t(h.lang, "offers"), shown)
}

async fn offers_body(
    state: &App,
    h: &HeadOffice,
    q: &ListQuery,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = h.lang;
    let tz = state.settings.time_zone;
    let now = state.now();
    let merchants = alliance_act::merchants(state, &h.actor).await?;
    let names: BTreeMap<&str, &str> = merchants
        .iter()
        .map(|m| (m.code.as_str(), m.name.as_str()))
        .collect();
    let merchant = q.merchant.clone().filter(|m| !m.is_empty());
    let all = alliance_act::offers(state, &h.actor, merchant.as_deref()).await?;
    let status = q.status.clone().unwrap_or_default();
    let words = text_filter(&q.q);
    let list: Vec<&Offer> = all
        .iter()
        .filter(|o| status.is_empty() || offer_status(o, now) == status)
        .filter(|o| {
            words.is_empty()
                || o.code.to_lowercase().contains(&words)
                || o.name.to_lowercase().contains(&words)
        })
        .collect();
    let (shown, page_no, pages) = one_page(&list, q.page, PER_PAGE);
    let may_end = policy::may(&h.actor, Action::ManageAlliance);
    let unlimited = || t(lang, "no_limit").to_string();
    Ok(html! {
        h1 { (t(lang, "offers")) }
        p.noprint { a href="/head-office" { "← " (t(lang, "ho_home")) } " · "
                    a #new-offer-link href="/offers/new" accesskey="n" { (t(lang, "ho_new_offer")) } }
        @if let Some(e) = refused { (error_box(lang, e)) }
        @if let Some(code) = q.done.as_deref() {
            p.ok role="status" #done { (t(lang, "ho_offer_saved")) " " span.code.data { (code) } }
        }
        @if let Some(code) = q.ended.as_deref() {
            p.ok role="status" #done { (t(lang, "ho_offer_ended_now")) " " span.code.data { (code) } }
        }
        section.panel {
            form.row.noprint #offer-filter method="get" action="/offers" {
                div { label for="oq" { (t(lang, "ho_search_words")) }
                      input #oq name="q" value=(q.q.clone().unwrap_or_default()); }
                div { label for="omerchant" { (t(lang, "merchant")) }
                    select #omerchant name="merchant" {
                        option value="" { (t(lang, "ho_all")) }
                        @for m in &merchants { option.data value=(m.code) selected[merchant.as_deref() == Some(m.code.as_str())] { (m.name) " " (m.code) } }
                    }
                }
                div { label for="ostatus" { (t(lang, "status")) }
                    select #ostatus name="status" {
                        option value="" { (t(lang, "ho_all")) }
                        @for s in ["active", "scheduled", "ended"] { option value=(s) selected[status == s] { (status_word(lang, s)) } }
                    }
                }
                button.secondary type="submit" { (t(lang, "show")) }
            }
            @if list.is_empty() { p.k #no-offers { (t(lang, "ho_no_offers")) } } @else {
                table #offer-list {
                    thead { tr {
                        th { (t(lang, "code")) } th { (t(lang, "name")) } th { (t(lang, "merchant")) }
                        th { (t(lang, "trigger")) } th { (t(lang, "item")) }
                        th { (t(lang, "ho_window")) }
                        th.num { (t(lang, "granted_of_budget")) } th.num { (t(lang, "budget_left")) }
                        th.num { (t(lang, "granted_amount")) } th { (t(lang, "status")) } th {}
                    } }
                    tbody {
                        @for o in shown {
                            @let st = offer_status(o, now);
                            tr #{"offer-" (o.code)} {
                                td.code.data { (o.code) } td.data { (o.name) }
                                td.data { (names.get(o.merchant.as_str()).copied().unwrap_or(&o.merchant)) }
                                td { (event_word(lang, o.event)) @if let Some(m) = o.min_amount { " " (t(lang, "at_least")) " ¥" (m) } }
                                td { (kind_word(lang, o.benefit)) " · " (data(&o.item)) }
                                td { (o.starts_at.as_deref().map_or_else(|| "—".to_string(), |s| local(s, tz)))
                                     " – " (o.ends_at.as_deref().map_or_else(|| "—".to_string(), |s| local(s, tz))) }
                                td.num { (o.granted) " / " (o.budget_count.map_or_else(unlimited, |b| b.to_string())) }
                                td.num { (o.budget_left.map_or_else(unlimited, |b| b.to_string())) }
                                td.num { (o.granted_amount) }
                                td.status { (status_word(lang, st)) }
                                td { @if may_end && st != "ended" {
                                    form method="post" action={"/offers/" (o.code) "/end"} {
                                        button.danger type="submit" { (t(lang, "ho_end_offer")) }
                                    }
                                } }
                            }
                        }
                    }
                }
                (pager(lang, "/offers", &[("q", q.q.as_deref().unwrap_or("")), ("merchant", merchant.as_deref().unwrap_or("")), ("status", &status)], page_no, pages))
            }
        }
    })
}

/// The form to create an offer.
pub async fn new_offer_page(State(state): State<App>, h: HeadOffice) -> Response {
    let f = Fields(vec![
        ("trigger.event".into(), "recharge".into()),
        ("benefit.kind".into(), "voucher".into()),
        ("funded_by.station_percent".into(), "0".into()),
        ("funded_by.merchant_percent".into(), "100".into()),
    ]);
    let shown = offer_form(&state, &h, &f, None).await;
    render(h.lang, &h.actor, t(h.lang, "ho_new_offer"), shown)
}

/// The offer form's inputs: the API's field, the input's id, its label,
/// and how it is typed.
#[derive(Clone, Copy)]
enum Typed {
    Text,
    Money,
    Whole,
    Date,
}

const OFFER_FIELDS: [(&str, &str, &str, Typed); 18] = [
    ("code", "o-code", "ho_offer_code", Typed::Text),
    ("name", "o-name", "ho_offer_name", Typed::Text),
    ("trigger.min_amount", "o-min", "ho_min_amount", Typed::Money),
    ("trigger.starts_at", "o-starts", "ho_starts_on", Typed::Date),
    ("trigger.ends_at", "o-ends", "ho_ends_on", Typed::Date),
    ("trigger.first_n", "o-first-n", "ho_first_n", Typed::Whole),
    ("benefit.item", "o-item", "item", Typed::Text),
    (
        "benefit.per_period",
        "o-per-period",
        "ho_per_period",
        Typed::Whole,
    ),
    ("benefit.percent", "o-percent", "ho_percent", Typed::Whole),
    (
        "benefit.amount",
        "o-amount",
        "ho_discount_amount",
        Typed::Money,
    ),
    (
        "benefit.max_value",
        "o-max-value",
        "ho_max_value",
        Typed::Money,
    ),
    ("unit_cost", "o-unit-cost", "ho_unit_cost", Typed::Money),
    (
        "budget_count",
        "o-budget-count",
        "ho_budget_count",
        Typed::Whole,
    ),
    (
        "budget_amount",
        "o-budget-amount",
        "ho_budget_amount",
        Typed::Money,
    ),
    (
        "per_customer",
        "o-per-customer",
        "ho_per_customer",
        Typed::Whole,
    ),
    ("valid_days", "o-valid-days", "ho_valid_days", Typed::Whole),
    (
        "valid_until",
        "o-valid-until",
        "ho_valid_until",
        Typed::Date,
    ),
    (
        "funded_by.station_percent",
        "o-station-percent",
        "ho_station_percent",
        Typed::Whole,
    ),
];

fn offer_label(lang: Lang, field: &str) -> String {
    let key = match field {
        "merchant" => "merchant",
        "trigger.event" => "trigger",
        "trigger.card_kinds" => "ho_card_kinds",
        "trigger.stations" => "ho_offer_stations",
        "benefit.kind" => "ho_benefit_kind",
        "funded_by" | "funded_by.merchant_percent" => "ho_funding",
        "needs_consent" => "ho_needs_consent",
        f => match OFFER_FIELDS.iter().find(|(name, ..)| *name == f) {
            Some((_, _, label, _)) => label,
            None => "ho_the_form",
        },
    };
    t(lang, key).to_string()
}

/// One of the offer form's inputs.
fn offer_input(lang: Lang, name: &str, f: &Fields, refused: Option<&AppError>) -> Markup {
    let Some((_, id, label, typed)) = OFFER_FIELDS.iter().find(|(n, ..)| *n == name) else {
        return html! {};
    };
    let fault = at_fault(refused, name);
    let (kind, mode) = match typed {
        Typed::Text => ("text", None),
        Typed::Money => ("text", Some("decimal")),
        Typed::Whole => ("text", Some("numeric")),
        Typed::Date => ("date", None),
    };
    let required = matches!(name, "code" | "name" | "benefit.item" | "unit_cost");
    html! {
        div {
            label for=(id) { (t(lang, label)) }
            input id=(id) name=(name) type=(kind) inputmode=[mode] value=(f.get(name))
                required[required] autofocus[fault || (name == "code" && refused.is_none())]
                aria-invalid=[fault.then_some("true")];
            @if fault { span.field-error { (t(lang, "ho_check_this")) } }
        }
    }
}

async fn offer_form(
    state: &App,
    h: &HeadOffice,
    f: &Fields,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = h.lang;
    let merchants = alliance_act::merchants(state, &h.actor).await?;
    let stations: Vec<Station> = targets_act::stations(state, &h.actor).await?;
    let label = refused
        .and_then(AppError::field)
        .map(|x| offer_label(lang, x));
    let input = |name: &str| offer_input(lang, name, f, refused);
    let fault = |name: &str| at_fault(refused, name).then_some("true");
    Ok(html! {
        h1 { (t(lang, "ho_new_offer")) }
        p.noprint { a href="/head-office" { "← " (t(lang, "ho_home")) } " · " a href="/offers" { (t(lang, "offers")) } }
        form.panel #offer-form method="post" action="/offers" {
            @if let Some(e) = refused { (refusal_box(lang, e, label.as_deref())) }
            input type="hidden" name="key" value=(f.given("key").unwrap_or_else(|| uuid::Uuid::new_v4().to_string()));
            div.grid {
                (input("code"))
                (input("name"))
                div {
                    label for="o-merchant" { (t(lang, "merchant")) }
                    select #o-merchant name="merchant" aria-invalid=[fault("merchant")] {
                        @for m in &merchants { option.data value=(m.code) selected[f.get("merchant") == m.code] { (m.name) " " (m.code) } }
                    }
                }
            }
            h2 { (t(lang, "trigger")) }
            div.grid {
                div {
                    label for="o-event" { (t(lang, "ho_event")) }
                    select #o-event name="trigger.event" {
                        @for e in EVENTS { option value=(e.as_str()) selected[f.get("trigger.event") == e.as_str()] { (event_word(lang, e)) } }
                    }
                }
                (input("trigger.min_amount"))
                (input("trigger.first_n"))
                (input("trigger.starts_at"))
                (input("trigger.ends_at"))
            }
            fieldset #o-card-kinds aria-invalid=[fault("trigger.card_kinds")] {
                legend { (t(lang, "ho_card_kinds")) " " span.k { (t(lang, "ho_none_is_all")) } }
                @for k in CARD_KINDS {
                    label style="display:inline-block;margin-right:1rem" {
                        input type="checkbox" name="trigger.card_kinds" value=(k.as_str()) checked=[checked(f.has("trigger.card_kinds", k.as_str()))];
                        " " (word(lang, k.as_str()))
                    }
                }
            }
            fieldset #o-stations aria-invalid=[fault("trigger.stations")] {
                legend { (t(lang, "ho_offer_stations")) " " span.k { (t(lang, "ho_none_is_all")) } }
                @for s in &stations {
                    label style="display:inline-block;margin-right:1rem" {
                        input type="checkbox" name="trigger.stations" value=(s.code) checked=[checked(f.has("trigger.stations", &s.code))];
                        " " span.code { (s.code) } " " span.data { (s.name) }
                    }
                }
            }
            h2 { (t(lang, "ho_benefit")) }
            div.grid {
                div {
                    label for="o-kind" { (t(lang, "ho_benefit_kind")) }
                    select #o-kind name="benefit.kind" aria-invalid=[fault("benefit.kind")] {
                        @for k in KINDS { option value=(k.as_str()) selected[f.get("benefit.kind") == k.as_str()] { (kind_word(lang, k)) } }
                    }
                }
                (input("benefit.item"))
                (input("benefit.per_period"))
                (input("benefit.percent"))
                (input("benefit.amount"))
                (input("benefit.max_value"))
            }
            h2 { (t(lang, "ho_cost_and_budget")) }
            div.grid {
                (input("unit_cost"))
                (input("funded_by.station_percent"))
                div {
                    label for="o-merchant-percent" { (t(lang, "ho_merchant_percent")) }
                    input #o-merchant-percent name="funded_by.merchant_percent" inputmode="numeric"
                        value=(f.get("funded_by.merchant_percent")) aria-invalid=[fault("funded_by.merchant_percent")];
                    @if at_fault(refused, "funded_by.merchant_percent") { span.field-error { (t(lang, "ho_funding_sums")) } }
                }
                (input("budget_count"))
                (input("budget_amount"))
                (input("per_customer"))
            }
            h2 { (t(lang, "ho_validity")) }
            div.grid {
                (input("valid_days"))
                (input("valid_until"))
                div {
                    label for="o-consent" {
                        input #o-consent type="checkbox" name="needs_consent" value="yes" checked=[checked(f.has("needs_consent", "yes"))];
                        " " (t(lang, "ho_needs_consent"))
                    }
                    span.k { (t(lang, "ho_needs_consent_hint")) }
                }
            }
            button.primary #save-offer type="submit" { (t(lang, "ho_save_offer")) " " kbd { "Enter" } }
        }
    })
}

/// A date typed into `field` as the RFC 3339 instant the API takes: the
/// start of the day, or (`end`) the end of it, in the operator's zone.
fn day_instant(state: &App, f: &Fields, field: &str, end: bool) -> AppResult<Option<String>> {
    let Some(text) = f.given(field) else {
        return Ok(None);
    };
    let day = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| bad(field, "YYYY-MM-DD"))?;
    let (start, stop) =
        crate::time::day_span(day, state.settings.time_zone).ok_or_else(|| bad(field, "a day"))?;
    Ok(Some(crate::time::format_us(if end { stop } else { start })))
}

/// What the form says, as the API's request.
fn offer_input_of(state: &App, f: &Fields) -> AppResult<OfferInput> {
    let event: Event = serde_json::from_value(serde_json::Value::String(
        f.get("trigger.event").to_string(),
    ))
    .map_err(|_| bad("trigger.event", "an event"))?;
    let kind: BenefitKind =
        serde_json::from_value(serde_json::Value::String(f.get("benefit.kind").to_string()))
            .map_err(|_| bad("benefit.kind", "a kind"))?;
    let card_kinds = f
        .all("trigger.card_kinds")
        .into_iter()
        .map(|k| {
            serde_json::from_value::<CardKind>(serde_json::Value::String(k))
                .map_err(|_| bad("trigger.card_kinds", "a card kind"))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let stations = f.all("trigger.stations");
    let percent = |name: &str| -> AppResult<i64> {
        whole(f, name)?.ok_or_else(|| bad("funded_by", "both percentages"))
    };
    Ok(OfferInput {
        code: f.get("code").to_string(),
        merchant: f.get("merchant").to_string(),
        name: f.get("name").to_string(),
        trigger: TriggerInput {
            event,
            min_amount: f.given("trigger.min_amount"),
            card_kinds: (!card_kinds.is_empty()).then_some(card_kinds),
            stations: (!stations.is_empty()).then_some(stations),
            starts_at: day_instant(state, f, "trigger.starts_at", false)?,
            ends_at: day_instant(state, f, "trigger.ends_at", true)?,
            first_n: whole(f, "trigger.first_n")?,
        },
        benefit: BenefitInput {
            kind,
            item: f.get("benefit.item").to_string(),
            per_period: whole(f, "benefit.per_period")?,
            period: None,
            percent: whole(f, "benefit.percent")?,
            amount: f.given("benefit.amount"),
            max_value: f.given("benefit.max_value"),
        },
        unit_cost: f.get("unit_cost").to_string(),
        funded_by: Funding {
            station_percent: percent("funded_by.station_percent")?,
            merchant_percent: percent("funded_by.merchant_percent")?,
        },
        budget_count: whole(f, "budget_count")?,
        budget_amount: f.given("budget_amount"),
        per_customer: whole(f, "per_customer")?,
        valid_days: whole(f, "valid_days")?,
        valid_until: f.given("valid_until"),
        needs_consent: Some(f.has("needs_consent", "yes")),
    })
}

/// Creates an offer from the form, under the key the form was shown with.
pub async fn add_offer(
    State(state): State<App>,
    h: HeadOffice,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(pairs);
    let done: AppResult<String> = async {
        let input = offer_input_of(&state, &f)?;
        let key = Keyed::new(
            &state.keys.pin,
            f.key(),
            "POST",
            "/offers",
            f.described().as_bytes(),
        );
        let done = alliance_act::add_offer(&state, &h.actor, Some(&key), &input).await?;
        Ok(done.value.code)
    }
    .await;
    match done {
        Ok(code) => Redirect::to(&format!("/offers?done={code}#offer-{code}")).into_response(),
        Err(e) => {
            let body = offer_form(&state, &h, &f, Some(&e)).await;
            render_refused(h.lang, &h.actor, t(h.lang, "ho_new_offer"), &e, body)
        }
    }
}

/// Ends an offer now, then lists the offers again.
pub async fn end_offer(
    State(state): State<App>,
    h: HeadOffice,
    Path(code): Path<String>,
) -> Response {
    match alliance_act::end_offer(&state, &h.actor, &code).await {
        Ok(o) => {
            Redirect::to(&format!("/offers?ended={}#offer-{}", o.code, o.code)).into_response()
        }
        Err(e) => {
            let body = offers_body(&state, &h, &ListQuery::default(), Some(&e)).await;
            render_refused(h.lang, &h.actor, t(h.lang, "offers"), &e, body)
        }
    }
}

// ----------------------------------------------------------------- credit

/// The statements to chase (催款), filtered by standing and company, with
/// the way to a company's account and to its line.
pub async fn reminders_page(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let shown: AppResult<Markup> = async {
        let all = credit_act::reminders(&state, &s.actor).await?;
        let words = text_filter(&q.q);
        let status = q.status.clone().unwrap_or_default();
        let list: Vec<_> = all
            .iter()
            .filter(|r| words.is_empty() || r.company.to_lowercase().contains(&words))
            .filter(|r| {
                status.is_empty()
                    || serde_json::to_value(r.standing).is_ok_and(|v| v.as_str() == Some(&status))
            })
            .collect();
        let (shown, page_no, pages) = one_page(&list, q.page, PER_PAGE);
        let may_set = policy::may(&s.actor, Action::SetCreditLine);
        Ok(html! {
            h1 { (t(lang, "credit_reminders")) }
            p.noprint { a href="/head-office" { "← " (t(lang, "ho_home")) } " · " a href="/credit" { (t(lang, "credit_accounts")) } }
            form.panel.row.noprint #find-company method="get" action="/head-office/credit" {
                div { label for="company-id" { (t(lang, "company_number")) }
                      input #company-id name="id" inputmode="numeric" required; }
                button.secondary type="submit" name="to" value="account" { (t(lang, "credit_account")) }
                @if may_set { button.secondary type="submit" name="to" value="line" { (t(lang, "set_line")) } }
            }
            section.panel {
                form.row.noprint #reminder-filter method="get" action="/credit/reminders" {
                    div { label for="rq" { (t(lang, "company")) } input #rq name="q" value=(q.q.clone().unwrap_or_default()); }
                    div { label for="rstatus" { (t(lang, "standing")) }
                        select #rstatus name="status" {
                            option value="" { (t(lang, "ho_all")) }
                            @for st in [Standing::Due, Standing::Grace, Standing::Overdue] {
                                @let v = serde_json::to_value(st).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
                                option value=(v) selected[status == v] { (standing_word(lang, st)) }
                            }
                        }
                    }
                    button.secondary type="submit" { (t(lang, "show")) }
                }
                @if list.is_empty() { p.k #no-reminders { (t(lang, "no_reminders")) } } @else {
                    table #reminders {
                        thead { tr {
                            th { (t(lang, "company")) } th { (t(lang, "month")) }
                            th.num { (t(lang, "statement_amount")) } th.num { (t(lang, "paid")) }
                            th.num { (t(lang, "outstanding")) } th { (t(lang, "due_on")) }
                            th { (t(lang, "refused_from")) } th { (t(lang, "status")) } th {}
                        } }
                        tbody {
                            @for r in shown {
                                tr.overdue[r.standing == Standing::Overdue] {
                                    td { a.data href={"/credit/" (r.customer_id) "?month=" (r.month)} { (r.company) } }
                                    td { (r.month) } td.num { (r.amount) } td.num { (r.paid) }
                                    td.num { (r.outstanding) } td { (r.due_on) }
                                    td { (local(&r.refused_from, tz)) }
                                    td { (standing_word(lang, r.standing)) }
                                    td { @if may_set { a href={"/customers/" (r.customer_id) "/credit-line"} { (t(lang, "set_line")) } } }
                                }
                            }
                        }
                    }
                    (pager(lang, "/credit/reminders", &[("q", q.q.as_deref().unwrap_or("")), ("status", &status)], page_no, pages))
                }
            }
        })
    }
    .await;
    render(lang, &s.actor, t(lang, "credit_reminders"), shown)
}

/// What was typed into the line form.
#[derive(Deserialize, Default)]
pub struct LineForm {
    limit: String,
    statement_day: String,
    days_to_pay: String,
    grace_days: String,
}

/// A company's credit line and the form to set it (the first one too).
pub async fn line_page(State(state): State<App>, s: Signed, Path(id): Path<i64>) -> Response {
    let lang = s.lang;
    if !policy::may(&s.actor, Action::SetCreditLine) {
        return forbidden(lang, &s.actor, t(lang, "set_line"));
    }
    let shown = line_body(&state, &s, id, None, None).await;
    render(lang, &s.actor, t(lang, "set_line"), shown)
}

async fn line_body(
    state: &App,
    s: &Signed,
    id: i64,
    typed: Option<&LineForm>,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let customer = crm_act::customer_archive(state, &s.actor, id).await?;
    let line: Option<LineView> = match credit_act::line(state, &s.actor, id).await {
        Ok(l) => Some(l),
        Err(e) if e.code == Code::NoCreditLine => None,
        Err(e) => return Err(e),
    };
    let (limit, day, pay, grace) = match (typed, &line) {
        (Some(f), _) => (
            f.limit.clone(),
            f.statement_day.clone(),
            f.days_to_pay.clone(),
            f.grace_days.clone(),
        ),
        (None, Some(l)) => (
            l.limit.to_string(),
            l.statement_day.to_string(),
            l.days_to_pay.to_string(),
            l.grace_days.to_string(),
        ),
        (None, None) => (String::new(), "25".into(), "10".into(), "5".into()),
    };
    let label = refused
        .and_then(AppError::field)
        .map(|f| super::text::word(lang, &format!("field-{f}")));
    let field = |fid: &str, name: &str, label: &'static str, value: &str, focus: bool| {
        let fault = at_fault(refused, name);
        html! {
            div { label for=(fid) { (t(lang, label)) }
                  input id=(fid) name=(name) inputmode="decimal" required value=(value)
                      autofocus[fault || (focus && refused.is_none())] aria-invalid=[fault.then_some("true")];
                  @if fault { span.field-error { (t(lang, "ho_check_this")) } } }
        }
    };
    Ok(html! {
        h1 { (t(lang, "set_line")) " · " (data(&customer.customer.name)) " #" (id) }
        p.noprint { a href="/credit/reminders" { "← " (t(lang, "credit_reminders")) } " · "
                    a href={"/credit/" (id)} { (t(lang, "credit_account")) } " · "
                    a href={"/customers/" (id)} { (t(lang, "customer_page")) } }
        @if customer.customer.kind != CustomerKind::Company { p.notice { (t(lang, "ho_line_for_companies")) } }
        @match &line {
            Some(l) => div.panel.grid #current-line {
                div { div.k { (t(lang, "credit_limit")) } div.v.num { (l.limit) } }
                div { div.k { (t(lang, "ho_balance")) } div.v.num { (l.balance) } }
                div { div.k { (t(lang, "ho_available")) } div.v.num { (l.available) } }
            },
            None => p.notice #no-line { (t(lang, "no_line_yet")) },
        }
        form.panel #line-form method="post" action={"/customers/" (id) "/credit-line"} {
            @if let Some(e) = refused { (refusal_box(lang, e, label.as_deref())) }
            div.row {
                (field("limit", "limit", "credit_limit", &limit, true))
                (field("statement-day", "statement_day", "statement_day", &day, false))
                (field("days-to-pay", "days_to_pay", "days_to_pay", &pay, false))
                (field("grace-days", "grace_days", "grace_days", &grace, false))
                button.primary type="submit" { (t(lang, "save")) }
            }
        }
    })
}

fn days(field: &str, text: &str) -> AppResult<i64> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| bad(field, "a whole number"))
}

/// Sets a company's line (`PUT /api/v1/customers/{id}/credit-line`).
pub async fn set_line(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<LineForm>,
) -> Response {
    let done: AppResult<LineView> = async {
        let order = LineOrder {
            limit: amount_or_zero("limit", &f.limit)?,
            terms: Terms::new(
                days("statement_day", &f.statement_day)?,
                days("days_to_pay", &f.days_to_pay)?,
                days("grace_days", &f.grace_days)?,
            )?,
        };
        credit_act::set_line(&state, &s.actor, id, order).await
    }
    .await;
    match done {
        Ok(_) => Redirect::to(&format!("/credit/{id}")).into_response(),
        Err(e) => {
            let body = line_body(&state, &s, id, Some(&f), Some(&e)).await;
            render_refused(s.lang, &s.actor, t(s.lang, "set_line"), &e, body)
        }
    }
}

// ---------------------------------------------------------------- targets

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    pub saved: Option<usize>,
}

/// The measures a target sets, with their words.
const MEASURES: [(&str, &str); 4] = [
    ("new_personal", "ho_target_new_personal"),
    ("new_company", "ho_target_new_company"),
    ("first_recharge_amount", "ho_target_first_recharge"),
    ("card_litres", "ho_target_card_litres"),
];

/// One line of the targets form: a district or a station.
struct Row {
    /// `d` or `s`.
    scope: &'static str,
    code: String,
    district: String,
    target: Option<Target>,
}

/// The month's targets for each district and station the user may set,
/// beside what was done.
pub async fn targets_page(
    State(state): State<App>,
    s: Signed,
    Path(month): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let lang = s.lang;
    if !policy::may(&s.actor, Action::SetTargets) {
        return forbidden(lang, &s.actor, t(lang, "ho_targets"));
    }
    let shown = targets_body(&state, &s, &month, q.saved, None, None).await;
    render(lang, &s.actor, t(lang, "ho_targets"), shown)
}

/// The part of the network the user reads targets over: all of it, or
/// their district.
fn covering(actor: &Actor) -> Option<String> {
    if policy::permits(actor, Action::ReadTargets, &Target::network()) {
        None
    } else {
        actor.district.clone()
    }
}

async fn rows_of(state: &App, actor: &Actor) -> AppResult<Vec<Row>> {
    let stations = targets_act::stations(state, actor).await?;
    let districts = targets_act::districts(state, actor).await?;
    let mut rows = Vec::new();
    for d in districts {
        rows.push(Row {
            scope: "d",
            code: d.code.clone(),
            district: d.code.clone(),
            target: Some(Target::network()),
        });
        for st in stations.iter().filter(|st| st.district == d.code) {
            rows.push(Row {
                scope: "s",
                code: st.code.clone(),
                district: st.district.clone(),
                target: Some(Target::station(st.id, &st.district)),
            });
        }
    }
    rows.retain(|r| {
        r.target
            .as_ref()
            .is_some_and(|t| policy::permits(actor, Action::SetTargets, t))
    });
    Ok(rows)
}

async fn targets_body(
    state: &App,
    s: &Signed,
    month: &str,
    saved: Option<usize>,
    typed: Option<&Fields>,
    refused: Option<(&AppError, Option<String>)>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let district = covering(&s.actor);
    let tracking: Tracking =
        targets_act::tracking(state, &s.actor, month, None, district.as_deref()).await?;
    let rows = rows_of(state, &s.actor).await?;
    let (prev, next) = around(month).unwrap_or_default();
    let err = refused.as_ref().map(|(e, _)| *e);
    let fault_row = refused.as_ref().and_then(|(_, r)| r.clone());
    let fault_field = err.and_then(AppError::field);
    let label = fault_field.and_then(|f| {
        MEASURES
            .iter()
            .find(|(m, _)| *m == f)
            .map(|(_, l)| t(lang, l).to_string())
    });
    Ok(html! {
        h1 { (t(lang, "ho_targets")) " · " (tracking.month) }
        p.noprint {
            a href="/head-office" { "← " (t(lang, "ho_home")) } " · "
            @if !prev.is_empty() { a rel="prev" href={"/targets/" (prev)} { "← " (prev) } " · " }
            @if !next.is_empty() { a rel="next" href={"/targets/" (next)} { (next) " →" } " · " }
            a #tracking-link href={"/acquisition?month=" (tracking.month)} { (t(lang, "ho_task_tracking")) }
        }
        @if let Some(n) = saved { p.ok role="status" #saved { (tr(lang, "ho_targets_saved", &[("count", (n as i64).into())])) } }
        form.panel #targets-form method="post" action={"/targets/" (tracking.month)} {
            @if let Some(e) = err { (refusal_box(lang, e, label.as_deref())) }
            p.k { (t(lang, "ho_targets_hint")) }
            table #targets {
                thead { tr {
                    th { (t(lang, "ho_district_or_station")) }
                    @for (_, l) in MEASURES { th.num { (t(lang, l)) } }
                    @for (_, l) in MEASURES { th.num { (t(lang, "ho_actual")) " · " (t(lang, l)) } }
                } }
                tbody {
                    @for (i, r) in rows.iter().enumerate() {
                        @let line = tracking.lines.iter().find(|l| match r.scope {
                            "d" => l.station.is_none() && l.district == r.code,
                            _ => l.station.as_deref() == Some(r.code.as_str()),
                        });
                        @let row_key = format!("{}:{}", r.scope, r.code);
                        tr.district[r.scope == "d"] #{"target-" (r.scope) "-" (r.code)} {
                            td { @if r.scope == "d" { strong.data { (r.code) } } @else { span.code { (r.code) } " " span.k.data { (r.district) } } }
                            @for (m, l) in MEASURES {
                                @let name = format!("{row_key}:{m}");
                                @let shown = match (typed, line) {
                                    (Some(f), _) => f.get(&name).to_string(),
                                    (None, Some(line)) => match m {
                                        "new_personal" => line.target.new_personal.map(|v| v.to_string()),
                                        "new_company" => line.target.new_company.map(|v| v.to_string()),
                                        "first_recharge_amount" => line.target.first_recharge_amount.map(|v| v.to_string()),
                                        _ => line.target.card_litres.map(|v| v.to_string()),
                                    }.unwrap_or_default(),
                                    (None, None) => String::new(),
                                };
                                @let fault = fault_row.as_deref() == Some(row_key.as_str()) && fault_field == Some(m);
                                td.num {
                                    input name=(name) value=(shown) size="8" style="min-width:6rem;text-align:right"
                                        inputmode=(if m.ends_with("amount") || m.ends_with("litres") { "decimal" } else { "numeric" })
                                        aria-label=(t(lang, l))
                                        autofocus[fault || (i == 0 && m == "new_personal" && err.is_none())]
                                        aria-invalid=[fault.then_some("true")];
                                    @if fault { span.field-error { (t(lang, "ho_check_this")) } }
                                }
                            }
                            @for (m, _) in MEASURES {
                                td.num { @if let Some(line) = line { (match m {
                                    "new_personal" => line.actual.new_personal.to_string(),
                                    "new_company" => line.actual.new_company.to_string(),
                                    "first_recharge_amount" => line.actual.first_recharge_amount.to_string(),
                                    _ => line.actual.card_litres.to_string(),
                                }) } }
                            }
                        }
                    }
                }
            }
            button.primary type="submit" { (t(lang, "ho_save_targets")) " " kbd { "Enter" } }
        }
    })
}

/// A count typed into a target's cell.
fn count(f: &Fields, name: &str, measure: &str) -> AppResult<Option<u32>> {
    f.given(name)
        .map(|v| v.parse::<u32>().map_err(|_| bad(measure, "a whole number")))
        .transpose()
}

/// Sets the month's targets from every line with something typed
/// (`PUT /api/v1/targets/{month}`): all or none.
pub async fn set_targets(
    State(state): State<App>,
    s: Signed,
    Path(month): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(pairs);
    let mut lines: Vec<(String, TargetInput)> = Vec::new();
    let mut refused: Option<(AppError, Option<String>)> = None;
    let mut keys: Vec<String> = Vec::new();
    for (name, _) in &f.0 {
        if let Some((row, _)) = name.rsplit_once(':')
            && (row.starts_with("d:") || row.starts_with("s:"))
            && !keys.iter().any(|k| k == row)
        {
            keys.push(row.to_string());
        }
    }
    for row in keys {
        let cell = |m: &str| format!("{row}:{m}");
        if MEASURES.iter().all(|(m, _)| f.given(&cell(m)).is_none()) {
            continue;
        }
        let parsed = (|| -> AppResult<TargetInput> {
            let (scope, code) = row.split_once(':').unwrap_or(("s", ""));
            Ok(TargetInput {
                station: (scope == "s").then(|| code.to_string()),
                district: (scope == "d").then(|| code.to_string()),
                new_personal: count(&f, &cell("new_personal"), "new_personal")?,
                new_company: count(&f, &cell("new_company"), "new_company")?,
                first_recharge_amount: f.given(&cell("first_recharge_amount")),
                card_litres: f.given(&cell("card_litres")),
            })
        })();
        match parsed {
            Ok(input) => lines.push((row, input)),
            Err(e) => {
                refused = Some((e, Some(row)));
                break;
            }
        }
    }
    if refused.is_none() {
        let inputs: Vec<TargetInput> = lines.iter().map(|(_, l)| l.clone()).collect();
        match targets_act::put_targets(&state, &s.actor, &month, &inputs).await {
            Ok(saved) => {
                return Redirect::to(&format!("/targets/{month}?saved={saved}")).into_response();
            }
            Err(e) => {
                // The line at fault: the first whose goal does not check.
                let row = lines
                    .iter()
                    .find(|(_, l)| l.goal().is_err())
                    .map(|(r, _)| r.clone());
                refused = Some((e, row));
            }
        }
    }
    let Some((e, row)) = refused else {
        return Redirect::to(&format!("/targets/{month}")).into_response();
    };
    let title = t(s.lang, "ho_targets");
    let body = targets_body(&state, &s, &month, None, Some(&f), Some((&e, row))).await;
    render_refused(s.lang, &s.actor, title, &e, body)
}

// --------------------------------------------------------------- archives

#[derive(Deserialize)]
pub struct CustomerQuery {
    id: Option<String>,
}

/// The home's "edit a customer's archive" form: to that customer's form.
pub async fn archive_by_number(Query(q): Query<CustomerQuery>) -> Redirect {
    match q
        .id
        .as_deref()
        .map(str::trim)
        .and_then(|v| v.parse::<i64>().ok())
    {
        Some(id) => Redirect::to(&format!("/customers/{id}/archive")),
        None => Redirect::to("/head-office"),
    }
}

/// A customer's archive to edit: preferred station, notes, registration
/// number, and a contact to add.
pub async fn archive_page(State(state): State<App>, s: Signed, Path(id): Path<i64>) -> Response {
    let lang = s.lang;
    if !policy::may(&s.actor, Action::EditCustomerArchive) {
        return forbidden(lang, &s.actor, t(lang, "ho_edit_archive"));
    }
    let shown = archive_body(&state, &s, id, None, None).await;
    render(lang, &s.actor, t(lang, "ho_edit_archive"), shown)
}

async fn archive_body(
    state: &App,
    s: &Signed,
    id: i64,
    typed: Option<(&'static str, &Fields)>,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let a: Archive = crm_act::archive_to_edit(state, &s.actor, id).await?;
    let stations = targets_act::stations(state, &s.actor).await?;
    let company = a.customer.kind == CustomerKind::Company;
    let form = typed.map_or("", |(f, _)| f);
    let empty = Fields(Vec::new());
    let f = typed.map_or(&empty, |(_, f)| f);
    let archive_refused = refused.filter(|_| form == "archive");
    let contact_refused = refused.filter(|_| form == "contact");
    let station = if form == "archive" {
        f.get("preferred_station").to_string()
    } else {
        a.preferred_station.clone().unwrap_or_default()
    };
    let notes = if form == "archive" {
        f.get("notes").to_string()
    } else {
        a.notes.clone().unwrap_or_default()
    };
    let registration = if form == "archive" {
        f.get("registration_number").to_string()
    } else {
        a.registration_number.clone().unwrap_or_default()
    };
    let contact_label = |field: &str| match field {
        "name" => t(lang, "name"),
        "role" => t(lang, "contact_role"),
        "phone" => t(lang, "phone"),
        "birthday" => t(lang, "birthday"),
        "anniversary" => t(lang, "anniversary"),
        _ => t(lang, "ho_the_form"),
    };
    let archive_label = |field: &str| match field {
        "preferred_station" => t(lang, "preferred_station"),
        "notes" => t(lang, "customer_notes"),
        "registration_number" => t(lang, "registration_number"),
        _ => t(lang, "ho_the_form"),
    };
    let ct = if form == "contact" { f } else { &empty };
    let contact_input = |fid: &str, name: &str, kind: &str, required: bool| {
        let fault = at_fault(contact_refused, name);
        html! {
            div { label for=(fid) { (contact_label(name)) }
                  input id=(fid) name=(name) type=(kind) value=(ct.get(name)) required[required]
                      autofocus[fault] aria-invalid=[fault.then_some("true")];
                  @if fault { span.field-error { (t(lang, "ho_check_this")) } } }
        }
    };
    Ok(html! {
        h1 { (t(lang, "ho_edit_archive")) " · " (data(&a.customer.name)) " #" (id) }
        p.noprint { a #back-to-customer href={"/customers/" (id)} { "← " (t(lang, "customer_page")) } }
        form.panel #archive-form method="post" action={"/customers/" (id) "/archive"} {
            h2 { (t(lang, "archive")) }
            @if let Some(e) = archive_refused {
                (refusal_box(lang, e, e.field().map(archive_label)))
            }
            div.grid {
                div { label for="a-station" { (t(lang, "preferred_station")) }
                    select #a-station name="preferred_station" autofocus[archive_refused.is_none() && contact_refused.is_none()]
                        aria-invalid=[at_fault(archive_refused, "preferred_station").then_some("true")] {
                        option value="" { "—" }
                        @for st in &stations { option.data value=(st.code) selected[station == st.code] { (st.code) " " (st.name) } }
                    }
                }
                @if company {
                    @let fault = at_fault(archive_refused, "registration_number");
                    div { label for="a-registration" { (t(lang, "registration_number")) }
                          input #a-registration name="registration_number" value=(registration)
                              autofocus[fault] aria-invalid=[fault.then_some("true")];
                          @if fault { span.field-error { (t(lang, "ho_check_this")) } } }
                }
            }
            @let fault = at_fault(archive_refused, "notes");
            label for="a-notes" { (t(lang, "customer_notes")) }
            textarea #a-notes name="notes" rows="4" autofocus[fault] aria-invalid=[fault.then_some("true")] { (notes) }
            @if fault { span.field-error { (t(lang, "ho_check_this")) } }
            button.primary type="submit" { (t(lang, "save")) }
        }
        section.panel #contacts {
            h2 { (t(lang, "contacts")) }
            @if a.contacts.is_empty() { p.k { (t(lang, "no_contacts")) } } @else {
                table #contact-list {
                    thead { tr { th { (t(lang, "name")) } th { (t(lang, "contact_role")) } th { (t(lang, "phone")) } th { (t(lang, "decision_maker")) } } }
                    tbody { @for c in &a.contacts {
                        tr { td.data { (c.name) } td.data { (c.role.as_deref().unwrap_or("—")) }
                             td.code { (c.phone.as_deref().unwrap_or("—")) }
                             td { (t(lang, if c.decision_maker { "yes" } else { "no" })) } }
                    } }
                }
            }
            form #contact-form method="post" action={"/customers/" (id) "/contacts"} {
                h2 { (t(lang, "ho_add_contact")) }
                @if let Some(e) = contact_refused {
                    (refusal_box(lang, e, e.field().map(contact_label)))
                }
                input type="hidden" name="key" value=(ct.given("key").unwrap_or_else(|| uuid::Uuid::new_v4().to_string()));
                div.grid {
                    (contact_input("c-name", "name", "text", true))
                    (contact_input("c-role", "role", "text", false))
                    (contact_input("c-phone", "phone", "tel", false))
                    (contact_input("c-birthday", "birthday", "date", false))
                    (contact_input("c-anniversary", "anniversary", "date", false))
                    div { label for="c-decides" {
                        input #c-decides type="checkbox" name="decision_maker" value="yes" checked=[checked(ct.has("decision_maker", "yes"))];
                        " " (t(lang, "decision_maker")) } }
                }
                button.primary type="submit" { (t(lang, "ho_add_contact")) }
            }
        }
    })
}

/// Changes what the form changed of the archive
/// (`PATCH /api/v1/customers/{id}/archive`).
pub async fn change_archive(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(pairs);
    let done: AppResult<()> = async {
        let before = crm_act::customer_archive(&state, &s.actor, id).await?;
        let changed = |name: &str, was: &Option<String>| {
            let now = f.get(name);
            (now != was.as_deref().unwrap_or("")).then(|| now.to_string())
        };
        let notes = {
            let now =
                f.0.iter()
                    .find(|(k, _)| k == "notes")
                    .map_or("", |(_, v)| v.as_str());
            (now.trim() != before.notes.as_deref().unwrap_or("").trim()).then(|| now.to_string())
        };
        let change = ArchiveChange {
            preferred_station: changed("preferred_station", &before.preferred_station),
            notes,
            registration_number: if before.customer.kind == CustomerKind::Company {
                changed("registration_number", &before.registration_number)
            } else {
                None
            },
            ..ArchiveChange::default()
        };
        crm_act::change_archive(&state, &s.actor, id, &change).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => {
            let body = archive_body(&state, &s, id, Some(("archive", &f)), Some(&e)).await;
            render_refused(s.lang, &s.actor, t(s.lang, "ho_edit_archive"), &e, body)
        }
    }
}

/// Adds a contact (`POST /api/v1/customers/{id}/contacts`), under the key
/// the form was shown with.
pub async fn add_contact(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(pairs);
    let input = ContactInput {
        name: f.get("name").to_string(),
        role: f.given("role"),
        phone: f.given("phone"),
        birthday: f.given("birthday"),
        anniversary: f.given("anniversary"),
        decision_maker: Some(f.has("decision_maker", "yes")),
    };
    let key = Keyed::new(
        &state.keys.pin,
        f.key(),
        "POST",
        &format!("/customers/{id}/contacts"),
        f.described().as_bytes(),
    );
    match crm_act::add_contact(&state, &s.actor, Some(&key), id, &input).await {
        Ok(_) => Redirect::to(&format!("/customers/{id}/archive#contacts")).into_response(),
        Err(e) => {
            let body = archive_body(&state, &s, id, Some(("contact", &f)), Some(&e)).await;
            render_refused(s.lang, &s.actor, t(s.lang, "ho_edit_archive"), &e, body)
        }
    }
}

/// The texts of the new-customer form, in the order it shows them, with
/// their words.
const CUSTOMER_TEXTS: [(&str, &str, &str); 5] = [
    ("name", "cu-name", "name"),
    ("phone", "cu-phone", "phone"),
    ("id_number", "cu-id-number", "id_number"),
    ("contact_name", "cu-contact", "ho_contact"),
    ("address", "cu-address", "address"),
];

const CUSTOMER_KINDS: [(CustomerKind, &str); 2] = [
    (CustomerKind::Person, "customer_person"),
    (CustomerKind::Company, "customer_company"),
];

fn customer_label(lang: Lang, field: &str) -> String {
    let key = match field {
        "kind" => "ho_customer_kind",
        "id_kind" => "document_kind",
        f => CUSTOMER_TEXTS
            .iter()
            .find(|(name, ..)| *name == f)
            .map_or("ho_the_form", |(_, _, label)| label),
    };
    t(lang, key).to_string()
}

/// A refusal of the customer form with the field it is about named: the
/// customer room's checks name it first in their message (`phone: …`),
/// and a consent to share without the document typed is the document's.
fn customer_fault(e: AppError) -> AppError {
    if e.field().is_some() {
        return e;
    }
    let field = match e.code {
        Code::ConsentEvidenceRequired => Some("id_number"),
        Code::ValidationFailed => e.message.split_once(':').and_then(|(said, _)| {
            CUSTOMER_TEXTS
                .iter()
                .find(|(name, ..)| *name == said)
                .map(|(name, ..)| *name)
        }),
        _ => None,
    };
    match field {
        Some(f) => e.with("field", f),
        None => e,
    }
}

/// The form to record a customer, person or company
/// (`POST /api/v1/customers`), for whoever the policy lets record one.
pub async fn new_customer_page(s: Signed) -> Response {
    let lang = s.lang;
    if !policy::may(&s.actor, Action::AddCustomer) {
        return forbidden(lang, &s.actor, t(lang, "ho_new_customer"));
    }
    let body = customer_form(&s, &Fields(Vec::new()), None);
    render(lang, &s.actor, t(lang, "ho_new_customer"), Ok(body))
}

fn customer_form(s: &Signed, f: &Fields, refused: Option<&AppError>) -> Markup {
    let lang = s.lang;
    let label = refused
        .and_then(AppError::field)
        .map(|x| customer_label(lang, x));
    let fault = |name: &str| at_fault(refused, name).then_some("true");
    html! {
        h1 { (t(lang, "ho_new_customer")) }
        @if policy::may(&s.actor, Action::ManageAlliance) {
            p.noprint { a href="/head-office" { "← " (t(lang, "ho_home")) } }
        }
        form.panel #customer-form method="post" action="/customers" {
            @if let Some(e) = refused { (refusal_box(lang, e, label.as_deref())) }
            input type="hidden" name="key" value=(f.given("key").unwrap_or_else(|| uuid::Uuid::new_v4().to_string()));
            div.grid {
                div { label for="cu-kind" { (t(lang, "ho_customer_kind")) }
                    select #cu-kind name="kind" autofocus[refused.is_none()] aria-invalid=[fault("kind")] {
                        @for (k, word) in CUSTOMER_KINDS { option value=(k.as_str()) selected[f.get("kind") == k.as_str()] { (t(lang, word)) } }
                    }
                }
                @for (name, id, label) in &CUSTOMER_TEXTS[..3] {
                    (text_input(lang, id, name, label, f, refused, *name == "name", false))
                }
                div { label for="cu-id-kind" { (t(lang, "document_kind")) }
                    select #cu-id-kind name="id_kind" aria-invalid=[fault("id_kind")] {
                        @for k in IdKind::ALL { option value=(k.as_str()) selected[f.get("id_kind") == k.as_str()] { (t(lang, k.as_str())) } }
                    }
                }
                @for (name, id, label) in &CUSTOMER_TEXTS[3..] {
                    (text_input(lang, id, name, label, f, refused, false, false))
                }
            }
            fieldset #cu-consents {
                legend { (t(lang, "ho_consents")) }
                div { label for="cu-share" {
                    input #cu-share type="checkbox" name="share_with_partners" value="yes" checked=[checked(f.has("share_with_partners", "yes"))];
                    " " (t(lang, "share_with_partners")) }
                    span.k { (t(lang, "ho_share_needs_document")) } }
                div { label for="cu-marketing" {
                    input #cu-marketing type="checkbox" name="marketing" value="yes" checked=[checked(f.has("marketing", "yes"))];
                    " " (t(lang, "consent_marketing")) } }
            }
            button.primary type="submit" { (t(lang, "ho_add_customer")) " " kbd { "Enter" } }
        }
    }
}

/// What the customer form says, as the API's request.
fn new_customer_of(f: &Fields) -> AppResult<NewCustomer> {
    let kind = CUSTOMER_KINDS
        .iter()
        .map(|(k, _)| *k)
        .find(|k| k.as_str() == f.get("kind"))
        .ok_or_else(|| bad("kind", "person or company"))?;
    // The document's kind is read only with its number: the list always
    // sends one.
    let id_number = f.given("id_number");
    let id_kind = match (&id_number, f.given("id_kind")) {
        (Some(_), Some(k)) => {
            Some(IdKind::parse(&k).ok_or_else(|| bad("id_kind", "a kind of document"))?)
        }
        _ => None,
    };
    Ok(NewCustomer {
        kind,
        name: f.get("name").to_string(),
        phone: f.given("phone"),
        id_number,
        id_kind,
        contact_name: f.given("contact_name"),
        address: f.given("address"),
        consents: Some(Consents {
            share_with_partners: f.has("share_with_partners", "yes"),
            marketing: f.has("marketing", "yes"),
        }),
    })
}

/// Records a customer from the form (`POST /api/v1/customers`), under the
/// key the form was shown with, and goes to the customer's page.
pub async fn add_customer(
    State(state): State<App>,
    s: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(pairs);
    let done: AppResult<i64> = async {
        let new = new_customer_of(&f)?;
        let key = Keyed::new(
            &state.keys.pin,
            f.key(),
            "POST",
            "/customers",
            f.described().as_bytes(),
        );
        let done = card_life::add_customer(&state, &s.actor, Some(&key), &new).await?;
        Ok(done.value.id)
    }
    .await;
    match done {
        Ok(id) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => {
            let e = customer_fault(e);
            let body = customer_form(&s, &f, Some(&e));
            render_refused(s.lang, &s.actor, t(s.lang, "ho_new_customer"), &e, Ok(body))
        }
    }
}

/// The reminders page's "company number" form: to the company's account
/// or its line form.
#[derive(Deserialize)]
pub struct CompanyQuery {
    id: Option<String>,
    to: Option<String>,
}

pub async fn company_by_number(Query(q): Query<CompanyQuery>) -> Redirect {
    match q
        .id
        .as_deref()
        .map(str::trim)
        .and_then(|v| v.parse::<i64>().ok())
    {
        Some(id) if q.to.as_deref() == Some("line") => {
            Redirect::to(&format!("/customers/{id}/credit-line"))
        }
        Some(id) => Redirect::to(&format!("/credit/{id}")),
        None => Redirect::to("/credit/reminders"),
    }
}

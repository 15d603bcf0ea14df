//! The credit pages (挂账): head office's list of the statements companies
//! still owe, and a company's credit account — its line (limit, used, left,
//! terms), its statements by month with their lines, a printable statement
//! and its CSV, and head office's forms to book a payment (under the key
//! the form was shown with, so a double click books once) and to set the
//! line. Everything goes through [`crate::actions::credit`], which asks the
//! policy: head office, and a company's fleet manager for its own account.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use chrono::{Months, NaiveDate};
use chrono_tz::Tz;
use maud::{Markup, html};
use serde::Deserialize;

use super::alliance::local;
use super::form::{field_error, given, with_field};
use super::render;
use super::text::word;
use super::{Lang, Signed, csv_or_refusal, data, error_box, page, t};
use crate::actions::credit::{self as act, CreditCard, LineOrder, PaymentOrder};
use crate::actions::{App, Keyed};
use crate::auth::Role;
use crate::auth::policy::{self, Action};
use crate::cards::CardKind;
use crate::cards::recharge::PaymentMethod;
use crate::credit::lines::LineView;
use crate::credit::statements::{self, CreditStatement, StatementState};
use crate::credit::terms::{Standing, Terms};
use crate::error::{AppError, AppResult, Code};
use crate::http::api::{amount, amount_or_zero};
use crate::money::Money;

/// The room's page routes beyond those in the pages' router: opening a
/// card on a company's credit line posts to `/cards`, the API's path
/// without `/api/v1`.
pub fn routes() -> Router<App> {
    Router::new().route("/cards", post(open_card))
}

/// How many months back the account lists statements.
const MONTHS_SHOWN: u32 = 12;

fn standing_word(lang: Lang, s: Option<Standing>) -> &'static str {
    match s {
        Some(Standing::Due) => t(lang, "standing_due"),
        Some(Standing::Grace) => t(lang, "standing_grace"),
        Some(Standing::Overdue) => t(lang, "standing_overdue"),
        None => t(lang, "standing_paid"),
    }
}

fn state_word(lang: Lang, s: StatementState) -> &'static str {
    match s {
        StatementState::Open => t(lang, "statement_open"),
        StatementState::Issued => t(lang, "statement_issued"),
    }
}

// ------------------------------------------------------- head office's list

#[derive(Deserialize)]
pub struct ListQuery {
    /// A company's number typed into the list's form: go to its account.
    customer: Option<String>,
}

/// Head office's list of the statements still owed, the longest overdue
/// first; a fleet manager goes to the company's own account.
pub async fn credit_list(
    State(state): State<App>,
    s: Signed,
    Query(q): Query<ListQuery>,
) -> Response {
    let lang = s.lang;
    if let Some(id) = given(q.customer.as_deref()).and_then(|c| c.parse::<i64>().ok()) {
        return Redirect::to(&format!("/credit/{id}")).into_response();
    }
    if let (Role::FleetManager, Some(company)) = (s.actor.role, s.actor.company_id) {
        return Redirect::to(&format!("/credit/{company}")).into_response();
    }
    let tz = state.settings.time_zone;
    let shown: AppResult<Markup> = async {
        let list = act::reminders(&state, &s.actor).await?;
        Ok(html! {
            h1 { (t(lang, "credit_accounts")) }
            form.noprint.row method="get" action="/credit" {
                div { label for="customer" { (t(lang, "company_number")) }
                      input #customer name="customer" inputmode="numeric" required; }
                button.secondary type="submit" { (t(lang, "show")) }
            }
            section.panel {
                h2 { (t(lang, "credit_reminders")) }
                @if list.is_empty() { p.k #no-reminders { (t(lang, "no_reminders")) } } @else {
                    table #reminders {
                        thead { tr {
                            th { (t(lang, "company")) } th { (t(lang, "month")) }
                            th.num { (t(lang, "statement_amount")) } th.num { (t(lang, "paid")) }
                            th.num { (t(lang, "outstanding")) } th { (t(lang, "due_on")) }
                            th { (t(lang, "refused_from")) } th { (t(lang, "status")) }
                        } }
                        tbody {
                            @for r in &list {
                                tr.overdue[r.standing == Standing::Overdue] {
                                    td { a.data href={"/credit/" (r.customer_id) "?month=" (r.month)} { (r.company) } }
                                    td { (r.month) } td.num { (r.amount) } td.num { (r.paid) }
                                    td.num { (r.outstanding) } td { (r.due_on) }
                                    td { (local(&r.refused_from, tz)) }
                                    td { (standing_word(lang, Some(r.standing))) }
                                }
                            }
                        }
                    }
                }
            }
        })
    }
    .await;
    render(lang, &s.actor, t(lang, "credit_accounts"), shown)
}

// --------------------------------------------------------- a company's account

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
    /// The card just opened on the line, to say so.
    opened: Option<String>,
}

/// What was typed into a refused form of the account: `pay` or `line`.
#[derive(Default)]
struct Typed {
    form: &'static str,
    amount: String,
    method: String,
    reference: String,
    limit: String,
    statement_day: String,
    days_to_pay: String,
    grace_days: String,
    kind: String,
    plate: String,
    station: String,
}

/// A company's credit account, showing the month picked (the open one
/// unless another is named).
pub async fn account_page(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> Response {
    let lang = s.lang;
    let shown = account_body(&state, &s, id, q.month.as_deref(), &Typed::default(), None)
        .await
        .map(|body| {
            // Only a card number is said back, as the card opened.
            let opened = q
                .opened
                .as_deref()
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            html! {
                @if let Some(n) = opened {
                    p.ok #card-opened role="status" { (t(lang, "credit_card_opened")) " " span.code { (n) } }
                }
                (body)
            }
        });
    render(lang, &s.actor, t(lang, "credit_account"), shown)
}

/// The account again after a refused form, with its status and what was
/// typed.
async fn account_refused(state: &App, s: &Signed, id: i64, typed: &Typed, e: AppError) -> Response {
    let lang = s.lang;
    let title = t(lang, "credit_account");
    match account_body(state, s, id, None, typed, Some(&e)).await {
        Ok(b) => (e.code.status(), page(lang, title, Some(&s.actor), b)).into_response(),
        Err(_) => render(lang, &s.actor, title, Err(e)),
    }
}

/// The statements of the line's last months, the open one first, back to
/// the first month the line was open.
async fn recent_statements(
    state: &App,
    s: &Signed,
    id: i64,
    open_month: &str,
) -> AppResult<Vec<CreditStatement>> {
    let first = NaiveDate::parse_from_str(&format!("{open_month}-01"), "%Y-%m-%d")
        .map_err(|e| AppError::internal("the line's open month", e))?;
    let mut out = Vec::new();
    for back in 0..MONTHS_SHOWN {
        let Some(month) = first.checked_sub_months(Months::new(back)) else {
            break;
        };
        match act::statement(state, &s.actor, id, &month.format("%Y-%m").to_string()).await {
            Ok(st) => out.push(st),
            Err(e) if e.code == Code::StatementNotFound => break,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

async fn account_body(
    state: &App,
    s: &Signed,
    id: i64,
    month: Option<&str>,
    typed: &Typed,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let may_set = policy::may(&s.actor, Action::SetCreditLine);
    let may_pay = policy::may(&s.actor, Action::BookCreditPayment);
    // Head office gives a company without a line its first one here.
    let line = match act::line(state, &s.actor, id).await {
        Ok(line) => Some(line),
        Err(e) if e.code == Code::NoCreditLine && may_set => None,
        Err(e) => return Err(e),
    };
    let months = match &line {
        Some(l) => recent_statements(state, s, id, &l.open_month).await?,
        None => Vec::new(),
    };
    let picked = month.or(line.as_ref().map(|l| l.open_month.as_str()));
    let other;
    let statement = match picked {
        Some(m) => match months.iter().find(|st| st.month == m) {
            Some(st) => Some(st),
            None => {
                other = act::statement(state, &s.actor, id, m).await?;
                Some(&other)
            }
        },
        None => None,
    };
    let company = months.first().map(|st| st.company.as_str());
    Ok(html! {
        h1 { (t(lang, "credit_account")) @if let Some(c) = company { " · " (data(c)) } " #" (id) }
        p.noprint {
            @if policy::may(&s.actor, Action::ReadCreditReminders) { a href="/credit" { "← " (t(lang, "credit_accounts")) } " · " }
            a href={"/customers/" (id)} { (t(lang, "customer_page")) }
        }
        @if let Some(e) = refused { (error_box(lang, e)) }
        @match &line {
            Some(l) => (line_panel(lang, tz, l)),
            None => p.notice #no-line { (t(lang, "no_line_yet")) },
        }
        @if !months.is_empty() {
            section.panel {
                h2 { (t(lang, "statements")) }
                table #statements {
                    thead { tr {
                        th { (t(lang, "month")) } th { (t(lang, "status")) }
                        th.num { (t(lang, "opening_balance")) } th.num { (t(lang, "sales_total")) }
                        th.num { (t(lang, "payments_total")) } th.num { (t(lang, "closing_balance")) }
                        th { (t(lang, "due_on")) } th.num { (t(lang, "outstanding")) } th { (t(lang, "standing")) }
                    } }
                    tbody {
                        @for st in &months {
                            tr.picked[picked == Some(st.month.as_str())] {
                                td { a href={"/credit/" (id) "?month=" (st.month)} { (st.month) } }
                                td { (state_word(lang, st.state)) }
                                td.num { (st.opening_balance) } td.num { (st.sales_total) }
                                td.num { (st.payments_total) } td.num { (st.closing_balance) }
                                @match &st.due {
                                    Some(d) => { td { (d.due_on) } td.num { (d.outstanding) } td { (standing_word(lang, d.standing)) } },
                                    None => { td { "—" } td.num { "—" } td { "—" } },
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(st) = statement {
            section.panel #statement {
                (statement_panel(lang, tz, st))
                p.noprint {
                    a #print-link href={"/credit/" (id) "/statements/" (st.month)} { (t(lang, "print_statement")) } " · "
                    a #csv-link href={"/credit/" (id) "/statements/" (st.month) "/csv"} { "CSV" }
                }
            }
        }
        @if may_pay && line.is_some() {
            form.panel.noprint #pay method="post" action={"/credit/" (id) "/payments"} {
                h2 { (t(lang, "book_payment")) }
                input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                div.row {
                    div { label for="pay-amount" { (t(lang, "amount")) }
                          input #pay-amount name="amount" inputmode="decimal" required placeholder="5000.00" value=[(typed.form == "pay").then_some(&typed.amount)]; }
                    div { label for="pay-method" { (t(lang, "payment_method")) }
                        select #pay-method name="method" {
                            @for m in [PaymentMethod::Transfer, PaymentMethod::BankCard, PaymentMethod::Cash] {
                                option value=(m.as_str()) selected[typed.method == m.as_str()] { (word(lang, m.as_str())) }
                            }
                        }
                    }
                    div { label for="pay-reference" { (t(lang, "reference")) }
                          input #pay-reference name="reference" value=[(typed.form == "pay").then_some(&typed.reference)]; }
                    button.primary type="submit" { (t(lang, "book_payment")) }
                }
            }
        }
        @if line.is_some() && policy::permits(&s.actor, Action::OpenCreditCard, &policy::Target::company(id)) {
            (card_form(lang, id, typed, refused))
        }
        @if may_set {
            @let (limit, day, pay, grace) = match (&line, typed.form) {
                (_, "line") => (typed.limit.clone(), typed.statement_day.clone(), typed.days_to_pay.clone(), typed.grace_days.clone()),
                (Some(l), _) => (l.limit.to_string(), l.statement_day.to_string(), l.days_to_pay.to_string(), l.grace_days.to_string()),
                (None, _) => (String::new(), "25".to_string(), "10".to_string(), "5".to_string()),
            };
            form.panel.noprint #set-line method="post" action={"/credit/" (id) "/line"} {
                h2 { (t(lang, "set_line")) }
                div.row {
                    div { label for="limit" { (t(lang, "credit_limit")) } input #limit name="limit" inputmode="decimal" required value=(limit); }
                    div { label for="statement-day" { (t(lang, "statement_day")) } input #statement-day name="statement_day" inputmode="numeric" required value=(day); }
                    div { label for="days-to-pay" { (t(lang, "days_to_pay")) } input #days-to-pay name="days_to_pay" inputmode="numeric" required value=(pay); }
                    div { label for="grace-days" { (t(lang, "grace_days")) } input #grace-days name="grace_days" inputmode="numeric" required value=(grace); }
                    button.primary type="submit" { (t(lang, "save")) }
                }
            }
        }
    })
}

fn line_panel(lang: Lang, tz: Tz, l: &LineView) -> Markup {
    // The receivable is below zero by what the company owes.
    let used = Money::from_fen(l.balance.fen().saturating_neg().max(0));
    html! {
        @if let Some(m) = &l.overdue_month {
            p.error #overdue { (t(lang, "credit_refused_overdue")) " " (m) }
        }
        div.panel.grid #line {
            div { div.k { (t(lang, "credit_limit")) } div.v #line-limit { "¥" (l.limit) } }
            div { div.k { (t(lang, "credit_used")) } div.v #line-used { "¥" (used) } }
            div { div.k { (t(lang, "credit_left")) } div.big #line-left { "¥" (l.available) } }
            div { div.k { (t(lang, "terms")) }
                  div.v #line-terms { (super::text::tr(lang, "terms_line", &[
                      ("day", l.statement_day.into()), ("pay", l.days_to_pay.into()), ("grace", l.grace_days.into()),
                  ])) } }
            div { div.k { (t(lang, "open_month")) } div.v { (l.open_month) } }
            div { div.k { (t(lang, "closes_at")) } div.v { (local(&l.closes_at, tz)) } }
        }
    }
}

/// A statement: its figures, its demand, its sales by card and vehicle,
/// each sale and each payment.
fn statement_panel(lang: Lang, tz: Tz, st: &CreditStatement) -> Markup {
    html! {
        h2 { (t(lang, "statement")) " " (st.month) " · " span #statement-state { (state_word(lang, st.state)) } }
        div.grid {
            div { div.k { (t(lang, "company")) } div.v.data { (st.company) } }
            div { div.k { (t(lang, "period")) } div.v { (local(&st.period_from, tz)) " – " (local(&st.period_to, tz)) } }
            div { div.k { (t(lang, "opening_balance")) } div.v #opening { (st.opening_balance) } }
            div { div.k { (t(lang, "sales_total")) } div.v #sales-total { (st.sales_total) } }
            div { div.k { (t(lang, "payments_total")) } div.v #payments-total { (st.payments_total) } }
            div { div.k { (t(lang, "closing_balance")) } div.v #closing { (st.closing_balance) } }
            div { div.k { (t(lang, "credit_limit")) } div.v { (st.limit) } }
            @if let Some(d) = &st.due {
                div { div.k { (t(lang, "statement_amount")) } div.v { (d.amount) } }
                div { div.k { (t(lang, "paid")) } div.v { (d.paid) } }
                div { div.k { (t(lang, "outstanding")) } div.v #outstanding { (d.outstanding) } }
                div { div.k { (t(lang, "due_on")) } div.v #due-on { (d.due_on) } }
                div { div.k { (t(lang, "refused_from")) } div.v { (local(&d.refused_from, tz)) } }
                div { div.k { (t(lang, "standing")) } div.v #due-standing { (standing_word(lang, d.standing)) } }
            }
        }
        h2 { (t(lang, "by_card")) }
        @if st.by_card.is_empty() { p.k { (t(lang, "no_credit_sales")) } } @else {
            table #by-card {
                thead { tr { th { (t(lang, "card")) } th { (t(lang, "plate")) } th.num { (t(lang, "sales_count_heading")) }
                             th.num { (t(lang, "litres")) } th.num { (t(lang, "amount")) } } }
                tbody {
                    @for c in &st.by_card {
                        tr { td.code { (c.card_number) } td.data { (c.plate.as_deref().unwrap_or("—")) }
                             td.num { (c.sales) } td.num { (c.litres) } td.num { (c.amount) } }
                    }
                }
            }
        }
        @if !st.sales.is_empty() {
            h2 { (t(lang, "credit_sales")) }
            table #sales {
                thead { tr { th { (t(lang, "time")) } th { (t(lang, "card")) } th { (t(lang, "plate")) }
                             th { (t(lang, "product")) } th { (t(lang, "station")) }
                             th.num { (t(lang, "litres")) } th.num { (t(lang, "amount")) } } }
                tbody {
                    @for x in &st.sales {
                        tr { td { (local(&x.time, tz)) } td.code { (x.card_number) }
                             td.data { (x.plate.as_deref().unwrap_or("—")) }
                             td { (super::text::product(lang, &x.product, &x.product)) }
                             td.code { (x.station) } td.num { (x.litres) } td.num { (x.amount) } }
                    }
                }
            }
        }
        h2 { (t(lang, "payments")) }
        @if st.payments.is_empty() { p.k #no-payments { (t(lang, "no_payments")) } } @else {
            table #statement-payments {
                thead { tr { th { (t(lang, "time")) } th.num { (t(lang, "amount")) }
                             th { (t(lang, "payment_method")) } th { (t(lang, "reference")) } } }
                tbody {
                    @for p in &st.payments {
                        tr { td { (local(&p.time, tz)) } td.num { (p.amount) } td { (word(lang, &p.method)) }
                             td.data { (p.reference.as_deref().unwrap_or("—")) } }
                    }
                }
            }
        }
    }
}

/// A statement on its own, to print (the frame and the links stay off the
/// paper).
pub async fn statement_print(
    State(state): State<App>,
    s: Signed,
    Path((id, month)): Path<(i64, String)>,
) -> Response {
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let shown: AppResult<Markup> = async {
        let st = act::statement(&state, &s.actor, id, &month).await?;
        Ok(html! {
            article.printable #statement {
                h1 { "fuelcard · " (t(lang, "credit_statement")) }
                (statement_panel(lang, tz, &st))
            }
            p.noprint {
                button.primary type="button" onclick="window.print()" accesskey="p" autofocus { (t(lang, "print")) }
                " " a href={"/credit/" (id) "?month=" (st.month)} { (t(lang, "credit_account")) }
            }
        })
    }
    .await;
    render(lang, &s.actor, t(lang, "credit_statement"), shown)
}

/// A statement as CSV: the same statement and the same file the API gives.
pub async fn statement_csv(
    State(state): State<App>,
    s: Signed,
    Path((id, month)): Path<(i64, String)>,
) -> Response {
    let made = async {
        let st = act::statement(&state, &s.actor, id, &month).await?;
        statements::csv(&st)
    }
    .await;
    csv_or_refusal(&format!("statement-{id}-{month}.csv"), made)
}

#[derive(Deserialize)]
pub struct PayForm {
    key: String,
    amount: String,
    method: String,
    reference: Option<String>,
}

/// Books a payment from the account's form.
pub async fn pay(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<PayForm>,
) -> Response {
    let done: AppResult<()> = async {
        let order = PaymentOrder {
            amount: amount("amount", &f.amount)?,
            method: PaymentMethod::parse(&f.method).ok_or_else(|| {
                AppError::invalid("method", "method: cash, bank_card or transfer")
            })?,
            reference: given(f.reference.as_deref()),
        };
        let form = format!(
            "{}|{}|{:?}",
            order.amount,
            order.method.as_str(),
            order.reference
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            &format!("/credit/{id}/payments"),
            form.as_bytes(),
        );
        act::pay(&state, &s.actor, &key, id, order).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/credit/{id}")).into_response(),
        Err(e) => {
            let typed = Typed {
                form: "pay",
                amount: f.amount,
                method: f.method,
                reference: f.reference.unwrap_or_default(),
                ..Typed::default()
            };
            account_refused(&state, &s, id, &typed, e).await
        }
    }
}

#[derive(Deserialize)]
pub struct LineForm {
    limit: String,
    statement_day: String,
    days_to_pay: String,
    grace_days: String,
}

/// A whole number of days from a form field.
fn days(field: &str, text: &str) -> AppResult<i64> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| AppError::invalid(field, format!("{field}: a whole number")))
}

/// Sets the company's line from the account's form (head office).
pub async fn set_line(
    State(state): State<App>,
    s: Signed,
    Path(id): Path<i64>,
    Form(f): Form<LineForm>,
) -> Response {
    let done: AppResult<()> = async {
        let order = LineOrder {
            limit: amount_or_zero("limit", &f.limit)?,
            terms: Terms::new(
                days("statement_day", &f.statement_day)?,
                days("days_to_pay", &f.days_to_pay)?,
                days("grace_days", &f.grace_days)?,
            )?,
        };
        act::set_line(&state, &s.actor, id, order).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/credit/{id}")).into_response(),
        Err(e) => {
            let typed = Typed {
                form: "line",
                limit: f.limit,
                statement_day: f.statement_day,
                days_to_pay: f.days_to_pay,
                grace_days: f.grace_days,
                ..Typed::default()
            };
            account_refused(&state, &s, id, &typed, e).await
        }
    }
}

// ------------------------------------------------- a card on the credit line

/// The form field a refusal of the card form is about: the one it names,
/// or the one its words or its code are about.
fn card_field(e: &AppError) -> &'static str {
    match e.field() {
        Some("kind") => return "kind",
        Some("plate") => return "plate",
        Some("pin") => return "pin",
        Some("station") => return "station",
        _ => {}
    }
    match e.code {
        Code::StationNotFound => "station",
        _ if e.message.contains("plate") => "plate",
        _ if e.message.contains("PIN") => "pin",
        _ => "",
    }
}

/// Head office's or the company's fleet manager's form that opens a card
/// buying on the company's credit line: its kind, the vehicle of a fleet
/// card, its PIN and the station that issues it.
fn card_form(lang: Lang, id: i64, typed: &Typed, refused: Option<&AppError>) -> Markup {
    let e = refused.filter(|_| typed.form == "card");
    let at = e.map(card_field).unwrap_or("");
    let beside = |field: &str| field_error(lang, e.filter(|_| at == field));
    html! {
        form.panel.noprint #open-credit-card method="post" action="/cards" {
            h2 { (t(lang, "open_credit_card")) }
            p.k { (t(lang, "open_credit_card_hint")) }
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            input type="hidden" name="customer_id" value=(id);
            div.row {
                div { label for="card-kind" { (t(lang, "kind")) }
                    select #card-kind name="kind" autofocus[at == "kind"] {
                        @for k in [CardKind::CompanySub, CardKind::Fleet] {
                            option value=(k.as_str()) selected[typed.kind == k.as_str()] { (word(lang, k.as_str())) }
                        }
                    }
                    (beside("kind")) }
                div { label for="card-plate" { (t(lang, "plate")) }
                      input #card-plate name="plate" value=(typed.plate) autofocus[at == "plate"];
                      (beside("plate")) }
                div { label for="card-pin" { (t(lang, "pin")) }
                      input #card-pin name="pin" type="password" inputmode="numeric" autocomplete="off" autofocus[at == "pin"];
                      (beside("pin")) }
                div { label for="card-station" { (t(lang, "station")) }
                      input #card-station name="station" value=(typed.station) placeholder="S001" size="8" autofocus[at == "station"];
                      (beside("station")) }
                button.primary type="submit" { (t(lang, "open_credit_card")) }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    key: String,
    customer_id: i64,
    #[serde(default)]
    kind: String,
    plate: Option<String>,
    pin: Option<String>,
    station: Option<String>,
}

/// Opens a card on the company's credit line from its account:
/// [`act::open_card`], as `POST /api/v1/cards` with `credit: true`; the
/// account again, saying which card was opened, or the form with what was
/// typed (never the PIN) and the refusal beside its field.
pub async fn open_card(State(state): State<App>, s: Signed, Form(f): Form<CardForm>) -> Response {
    let id = f.customer_id;
    let done: AppResult<String> = async {
        let kind = [CardKind::CompanySub, CardKind::Fleet]
            .into_iter()
            .find(|k| k.as_str() == f.kind)
            .ok_or_else(|| AppError::invalid("kind", "kind: company_sub or fleet"))?;
        let order = CreditCard {
            kind,
            customer_id: id,
            plate: given(f.plate.as_deref()),
            pin: given(f.pin.as_deref()),
            station: given(f.station.as_deref()),
        };
        let form = format!(
            "{}|{}|{:?}|{}|{:?}",
            id,
            kind.as_str(),
            order.plate,
            order.pin.is_some(),
            order.station
        );
        let key = Keyed::new(&state.keys.pin, &f.key, "POST", "/cards", form.as_bytes());
        let opened = act::open_card(&state, &s.actor, Some(&key), order)
            .await
            .map_err(|e| match card_field(&e) {
                "" => e,
                field => with_field(e, field),
            })?;
        Ok(opened.value.number)
    }
    .await;
    match done {
        Ok(number) => Redirect::to(&format!("/credit/{id}?opened={number}")).into_response(),
        Err(e) => {
            let typed = Typed {
                form: "card",
                kind: f.kind,
                plate: f.plate.unwrap_or_default(),
                station: f.station.unwrap_or_default(),
                ..Typed::default()
            };
            account_refused(&state, &s, id, &typed, e).await
        }
    }
}

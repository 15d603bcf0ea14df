//! The merchant alliance's pages: a partner merchant's redemption desk (look
//! a customer's benefit up, redeem it, reverse a mistake, read the month's
//! statement) and head office's overview (merchants, offers with their
//! budgets and what they brought, the monthly settlement). The card page
//! and the receipts show a customer's benefits with the helpers at the end.
//! Every figure and every write goes through the alliance actions, as the
//! API's do.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Months};
use chrono_tz::Tz;
use maud::{Markup, html};
use serde::Deserialize;

use super::form::given;
use super::text::word;
use super::{HeadOffice, Lang, MerchantUser, csv_or_refusal, data, error_box, page, render, t};
use crate::actions::alliance::{self as act, Found};
use crate::actions::{App, Keyed};
use crate::alliance::effectiveness::Effectiveness;
use crate::alliance::engine::{Granted, Notice, NoticeCode};
use crate::alliance::merchants::{Merchant, check_code};
use crate::alliance::offers::{BenefitKind, Event, Offer};
use crate::alliance::redemptions::{BenefitView, Masked, RedeemInput, Redemption};
use crate::alliance::settlement::{Delivered, Settlement};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};

// ---------------------------------------------------------------- words

fn kind_word(lang: Lang, k: BenefitKind) -> &'static str {
    t(
        lang,
        match k {
            BenefitKind::Voucher => "benefit_voucher",
            BenefitKind::Entitlement => "benefit_entitlement",
            BenefitKind::Discount => "benefit_discount",
            BenefitKind::Gift => "benefit_gift",
        },
    )
}

fn event_word(lang: Lang, e: Event) -> &'static str {
    t(
        lang,
        match e {
            Event::CardOpened => "event_card_opened",
            Event::Recharge => "event_recharge",
            Event::Sale => "event_sale",
            Event::MonthlySpend => "event_monthly_spend",
        },
    )
}

/// A benefit's status as the action layer names it (`granted`, `redeemed`,
/// `expired`).
fn status_word(lang: Lang, status: &str) -> &'static str {
    match status {
        "granted" => t(lang, "benefit_status_granted"),
        "redeemed" => t(lang, "benefit_status_redeemed"),
        "expired" => t(lang, "benefit_status_expired"),
        _ => "—",
    }
}

fn settlement_word(lang: Lang, status: &str) -> &'static str {
    match status {
        "settled" => t(lang, "settlement_settled"),
        _ => t(lang, "settlement_open"),
    }
}

fn notice_word(lang: Lang, code: NoticeCode) -> &'static str {
    match code {
        NoticeCode::BudgetExhausted => t(lang, "notice_budget_exhausted"),
        NoticeCode::ConsentMissing => t(lang, "notice_consent_missing"),
    }
}

/// An API time (RFC 3339) in the operator's wall clock.
pub(super) fn local(text: &str, tz: Tz) -> String {
    crate::time::parse_rfc3339(text)
        .map(|us| crate::time::format_local(us, tz))
        .unwrap_or_else(|| text.to_string())
}

fn or_dash(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "—".to_string(), |v| v.to_string())
}

/// The names of the merchants `codes` name, for tables that carry the
/// codes; nothing is read when there are none. A list that cannot be read
/// leaves the codes showing.
pub(super) async fn merchant_names<'a>(
    state: &App,
    actor: &Actor,
    codes: impl IntoIterator<Item = &'a str>,
) -> HashMap<String, String> {
    let wanted: Vec<&str> = codes.into_iter().collect();
    if wanted.is_empty() {
        return HashMap::new();
    }
    act::merchants(state, actor)
        .await
        .map(|list| {
            list.into_iter()
                .filter(|m| wanted.contains(&m.code.as_str()))
                .map(|m| (m.code, m.name))
                .collect()
        })
        .unwrap_or_default()
}

fn name_of<'a>(names: &'a HashMap<String, String>, code: &'a str) -> &'a str {
    names.get(code).map_or(code, String::as_str)
}

/// `YYYY-MM` of `months` before the current local month.
fn month_back(state: &App, months: u32) -> String {
    let today = crate::time::local_date(state.now(), state.settings.time_zone);
    let first = today.with_day(1).unwrap_or(today);
    first
        .checked_sub_months(Months::new(months))
        .unwrap_or(first)
        .format("%Y-%m")
        .to_string()
}

// ------------------------------------------------------ the merchant's desk

/// What the merchant typed into a redeem form (a lookup sends the same
/// fields), kept on a refusal so nothing is typed twice.
#[derive(Deserialize, Default)]
pub struct RedeemFields {
    /// Made when the form was shown: a double click redeems once.
    key: Option<String>,
    voucher_code: Option<String>,
    card_number: Option<String>,
    offer: Option<String>,
    purchase_amount: Option<String>,
}

impl RedeemFields {
    fn input(&self) -> RedeemInput {
        RedeemInput {
            voucher_code: given(self.voucher_code.as_deref()),
            card_number: given(self.card_number.as_deref()),
            offer: given(self.offer.as_deref()),
            purchase_amount: given(self.purchase_amount.as_deref()),
        }
    }

    /// The card form was the one used: the focus goes back to it.
    fn by_card(&self) -> bool {
        given(self.voucher_code.as_deref()).is_none()
            && given(self.card_number.as_deref()).is_some()
    }
}

/// What the desk shows under its forms after a lookup or a redemption.
enum Outcome {
    Nothing,
    Found(Found),
    Redeemed(Redemption),
    Refused(AppError),
}

/// The merchant's desk; with a code or a card in the query, what it finds.
pub async fn merchant_page(
    State(state): State<App>,
    m: MerchantUser,
    Query(q): Query<RedeemFields>,
) -> Response {
    let input = q.input();
    let outcome = match (&input.voucher_code, &input.card_number) {
        (None, None) => Outcome::Nothing,
        (code, card) => {
            let card = card.as_deref().filter(|_| code.is_none());
            match act::find_benefits(&state, &m.actor, code.as_deref(), card).await {
                Ok(found) => Outcome::Found(found),
                Err(e) => Outcome::Refused(e),
            }
        }
    };
    desk(&state, &m, &q, outcome).await
}

/// Redeems what a form names under the key the form was shown with.
pub async fn redeem(
    State(state): State<App>,
    m: MerchantUser,
    Form(f): Form<RedeemFields>,
) -> Response {
    let input = f.input();
    let described = format!(
        "{:?}|{:?}|{:?}|{:?}",
        input.voucher_code, input.card_number, input.offer, input.purchase_amount
    );
    let key = Keyed::new(
        &state.keys.pin,
        f.key.as_deref().unwrap_or_default(),
        "POST",
        "/merchant/redemptions",
        described.as_bytes(),
    );
    match act::redeem(&state, &m.actor, &key, &input).await {
        Ok(done) => {
            desk(
                &state,
                &m,
                &RedeemFields::default(),
                Outcome::Redeemed(done.value),
            )
            .await
        }
        Err(e) => desk(&state, &m, &f, Outcome::Refused(e)).await,
    }
}

/// Reverses one of today's redemptions, then shows the desk again.
pub async fn reverse(State(state): State<App>, m: MerchantUser, Path(id): Path<i64>) -> Response {
    match act::reverse(&state, &m.actor, id).await {
        Ok(_) => Redirect::to("/merchant").into_response(),
        Err(e) => desk(&state, &m, &RedeemFields::default(), Outcome::Refused(e)).await,
    }
}

async fn desk(state: &App, m: &MerchantUser, typed: &RedeemFields, outcome: Outcome) -> Response {
    let lang = m.lang;
    let status = match &outcome {
        Outcome::Refused(e) => e.code.status(),
        _ => StatusCode::OK,
    };
    let shown = desk_body(state, m, typed, &outcome).await;
    let title = t(lang, "merchant_desk");
    match shown {
        Ok(body) => (status, page(lang, title, Some(&m.actor), body)).into_response(),
        Err(e) => render(lang, &m.actor, title, Err(e)),
    }
}

async fn desk_body(
    state: &App,
    m: &MerchantUser,
    typed: &RedeemFields,
    outcome: &Outcome,
) -> AppResult<Markup> {
    let lang = m.lang;
    let tz = state.settings.time_zone;
    let merchant = act::merchant(state, &m.actor, &m.merchant).await?;
    let offers = act::offers(state, &m.actor, None).await?;
    let today = act::redemptions(state, &m.actor, None, None).await?;
    let (this, last) = (month_back(state, 0), month_back(state, 1));
    Ok(html! {
        h1 { (t(lang, "merchant_desk")) " · " (data(&merchant.name)) }
        (redeem_forms(lang, typed, &offers))
        (outcome_panel(lang, tz, outcome))
        section.panel {
            h2 { (t(lang, "todays_redemptions")) }
            (redemptions_table(lang, tz, &today))
        }
        p.noprint #settlement-links {
            (t(lang, "settlement")) ": "
            a href={"/merchant/settlements/" (this)} { (t(lang, "this_month")) " " (this) } " · "
            a href={"/merchant/settlements/" (last)} { (t(lang, "last_month")) " " (last) }
        }
    })
}

/// The two ways to name a benefit: the voucher's code, or the card and the
/// offer (a monthly entitlement, a discount). Enter redeems; the second
/// button only looks the customer up.
fn redeem_forms(lang: Lang, typed: &RedeemFields, offers: &[Offer]) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let by_card = typed.by_card();
    html! {
        form.panel #redeem-code method="post" action="/merchant/redemptions" {
            h2 { (t(lang, "redeem_by_code")) }
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            label for="voucher" { (t(lang, "voucher_code_hint")) }
            div.row {
                input #voucher name="voucher_code" required autocomplete="off" autocapitalize="characters"
                    placeholder="XXXX-XXXX-XXXX" value=(value(&typed.voucher_code)) autofocus[!by_card];
                button.primary type="submit" { (t(lang, "redeem")) " " kbd { "Enter" } }
                button.secondary type="submit" formmethod="get" formaction="/merchant" { (t(lang, "look_up")) }
            }
        }
        form.panel #redeem-card method="post" action="/merchant/redemptions" {
            h2 { (t(lang, "redeem_by_card")) }
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.row {
                div { label for="card" { (t(lang, "card_number")) }
                      input #card name="card_number" required inputmode="numeric" autocomplete="off"
                          value=(value(&typed.card_number)) autofocus[by_card]; }
                div { label for="offer" { (t(lang, "offer")) }
                    select #offer name="offer" {
                        @for o in offers {
                            option.data value=(o.code) selected[typed.offer.as_deref() == Some(o.code.as_str())] {
                                (o.name) " · " (o.item)
                            }
                        }
                    }
                }
                div { label for="purchase" { (t(lang, "purchase_amount")) }
                      input #purchase name="purchase_amount" inputmode="decimal" value=(value(&typed.purchase_amount)); }
                button.primary type="submit" { (t(lang, "redeem")) }
                button.secondary type="submit" formmethod="get" formaction="/merchant" { (t(lang, "look_up")) }
            }
        }
    }
}

/// The customer as a merchant sees them: the name and the last four digits
/// of the phone and the card.
fn customer(lang: Lang, c: &Masked) -> Markup {
    html! {
        div.grid #customer {
            div { div.k { (t(lang, "customer")) } div.v.data #customer-name { (or_dash(c.name.as_deref())) } }
            div { div.k { (t(lang, "phone_last4")) } div.v #customer-phone { (or_dash(c.phone_last4.as_deref())) } }
            div { div.k { (t(lang, "card_last4")) } div.v #customer-card { (c.card_last4) } }
        }
    }
}

fn outcome_panel(lang: Lang, tz: Tz, outcome: &Outcome) -> Markup {
    html! {
        @match outcome {
            Outcome::Nothing => {},
            Outcome::Refused(e) => section.panel #result { (error_box(lang, e)) },
            Outcome::Redeemed(r) => section.panel #result {
                p.ok role="status" { strong { (t(lang, "redeemed_ok")) } " · " (data(&r.item)) }
                (customer(lang, &r.customer))
                div.grid {
                    div { div.k { (t(lang, "value")) } div.v { "¥" (r.value) } }
                    @if let Some(left) = r.left_this_period {
                        div { div.k { (t(lang, "uses_left")) } div.v #uses-left { (left) } }
                    }
                    div { div.k { (t(lang, "time")) } div.v { (local(&r.redeemed_at, tz)) } }
                }
            },
            Outcome::Found(f) => section.panel #result {
                h2 { (t(lang, "found")) }
                (customer(lang, &f.customer))
                (benefit_rows(lang, tz, &f.benefits, None))
            },
        }
    }
}

fn redemptions_table(lang: Lang, tz: Tz, list: &[Redemption]) -> Markup {
    html! {
        @if list.is_empty() { p.k { (t(lang, "no_redemptions")) } } @else {
            table #redemptions {
                thead { tr {
                    th { (t(lang, "time")) } th { (t(lang, "item")) } th { (t(lang, "customer")) }
                    th { (t(lang, "card_last4")) } th.num { (t(lang, "value")) } th { (t(lang, "status")) } th {}
                } }
                tbody {
                    @for r in list {
                        tr {
                            td { (local(&r.redeemed_at, tz)) }
                            td.data { (r.item) }
                            td.data { (or_dash(r.customer.name.as_deref())) }
                            td { (r.customer.card_last4) }
                            td.num { (r.value) }
                            @if r.reversed_at.is_some() {
                                td { (t(lang, "reversed")) } td {}
                            } @else if let Some(station) = &r.delivered_at {
                                // Handed over at a station's counter: that
                                // counter reverses it, not the merchant.
                                td { (t(lang, "redemption_stands")) } td { (station) }
                            } @else {
                                td { (t(lang, "redemption_stands")) }
                                td { form method="post" action={"/merchant/redemptions/" (r.id) "/reversal"} {
                                    button.danger type="submit" { (t(lang, "reverse")) }
                                } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A merchant's month: settled, or open with its redemptions so far.
pub async fn merchant_statement(
    State(state): State<App>,
    m: MerchantUser,
    Path(month): Path<String>,
) -> Response {
    let lang = m.lang;
    let tz = state.settings.time_zone;
    let shown = async {
        let s = act::statement(&state, &m.actor, &m.merchant, &month).await?;
        Ok(html! {
            h1 { (t(lang, "settlement")) " · " (s.month) }
            p.noprint { a href="/merchant" { "← " (t(lang, "merchant_desk")) } }
            (statement_panel(lang, tz, &s))
        })
    }
    .await;
    render(lang, &m.actor, t(lang, "settlement"), shown)
}

/// A statement with its lines and totals, and its CSV from the API.
fn statement_panel(lang: Lang, tz: Tz, s: &Settlement) -> Markup {
    html! {
        section.panel #statement {
            div.grid {
                div { div.k { (t(lang, "month")) } div.v { (s.month) } }
                div { div.k { (t(lang, "status")) } div.v #statement-status { (settlement_word(lang, &s.status)) } }
                div { div.k { (t(lang, "redemptions")) } div.v { (s.redemptions) } }
                div { div.k { (t(lang, "value")) } div.v { "¥" (s.value) } }
                div { div.k { (t(lang, "station_owes")) } div.v { "¥" (s.station_owes) } }
                div { div.k { (t(lang, "merchant_owes")) } div.v { "¥" (s.merchant_owes) } }
                @if let Some(at) = &s.settled_at { div { div.k { (t(lang, "settled_at")) } div.v { (local(at, tz)) } } }
                @if let Some(by) = &s.settled_by { div { div.k { (t(lang, "settled_by")) } div.v.data { (by) } } }
            }
            table #statement-lines {
                thead { tr {
                    th { (t(lang, "offer")) } th { (t(lang, "station")) } th { (t(lang, "delivered_by")) }
                    th.num { (t(lang, "redemptions")) } th.num { (t(lang, "value")) }
                    th.num { (t(lang, "station_owes")) } th.num { (t(lang, "merchant_owes")) }
                } }
                tbody {
                    @for l in &s.lines {
                        tr {
                            td.data { (l.offer) }
                            td { (l.station.clone().unwrap_or_else(|| t(lang, "whole_network").into())) }
                            td { (match l.delivered {
                                Delivered::Merchant => t(lang, "delivered_merchant"),
                                Delivered::Station => t(lang, "delivered_station"),
                            }) }
                            td.num { (l.redemptions) } td.num { (l.value) }
                            td.num { (l.station_owes) } td.num { (l.merchant_owes) }
                        }
                    }
                    tr.district {
                        td { strong { (t(lang, "total")) } } td {} td {}
                        td.num { (s.redemptions) } td.num { (s.value) }
                        td.num { (s.station_owes) } td.num { (s.merchant_owes) }
                    }
                }
            }
            p.noprint {
                a href={"/api/v1/merchants/" (s.merchant) "/settlements.csv?month=" (s.month)} { "CSV" }
            }
        }
    }
}

// ------------------------------------------------------ head office

#[derive(Deserialize)]
pub struct OverviewQuery {
    merchant: Option<String>,
    month: Option<String>,
}

/// Head office's alliance page: merchants, offers with their budgets and
/// effectiveness, and a merchant's month to read and settle.
pub async fn overview(
    State(state): State<App>,
    h: HeadOffice,
    Query(q): Query<OverviewQuery>,
) -> Response {
    let shown = overview_body(&state, &h, q.merchant, q.month, None).await;
    render(h.lang, &h.actor, t(h.lang, "alliance"), shown)
}

async fn overview_body(
    state: &App,
    h: &HeadOffice,
    merchant: Option<String>,
    month: Option<String>,
    refused: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = h.lang;
    let merchants = act::merchants(state, &h.actor).await?;
    let names: HashMap<String, String> = merchants
        .iter()
        .map(|m| (m.code.clone(), m.name.clone()))
        .collect();
    let offers = act::offers(state, &h.actor, None).await?;
    let mut effects = Vec::with_capacity(offers.len());
    for o in &offers {
        effects.push(act::offer_effectiveness(state, &h.actor, &o.code).await?);
    }
    let chosen = merchant
        .filter(|m| !m.is_empty())
        .or_else(|| merchants.first().map(|m| m.code.clone()));
    let month = month
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| month_back(state, 1));
    let settlement =
        settlement_section(state, h, chosen.as_deref(), &month, &merchants, refused).await;
    Ok(html! {
        h1 { (t(lang, "alliance")) }
        (merchants_table(lang, &merchants))
        (offers_table(lang, &offers, &names))
        (effectiveness_table(lang, &effects))
        (settlement)
    })
}

fn merchants_table(lang: Lang, merchants: &[Merchant]) -> Markup {
    html! {
        section.panel {
            h2 { (t(lang, "merchants")) }
            table #merchants {
                thead { tr {
                    th { (t(lang, "code")) } th { (t(lang, "name")) }
                    th { (t(lang, "category")) } th { (t(lang, "partner_stations")) }
                } }
                tbody {
                    @for m in merchants {
                        tr { td.code.data { (m.code) } td.data { (m.name) } td { (word(lang, &m.category)) } td { (m.stations.join(", ")) } }
                    }
                }
            }
        }
    }
}

/// What triggers an offer, in words: the event and its smallest amount.
fn trigger(lang: Lang, o: &Offer) -> String {
    match o.min_amount {
        Some(min) => format!(
            "{} {} ¥{min}",
            event_word(lang, o.event),
            t(lang, "at_least")
        ),
        None => event_word(lang, o.event).to_string(),
    }
}

fn offers_table(lang: Lang, offers: &[Offer], names: &HashMap<String, String>) -> Markup {
    let unlimited = || t(lang, "no_limit").to_string();
    html! {
        section.panel {
            h2 { (t(lang, "offers")) }
            table #offers {
                thead { tr {
                    th { (t(lang, "code")) } th { (t(lang, "name")) } th { (t(lang, "merchant")) }
                    th { (t(lang, "item")) } th { (t(lang, "trigger")) }
                    th.num { (t(lang, "granted_of_budget")) } th.num { (t(lang, "budget_left")) }
                    th.num { (t(lang, "granted_amount")) } th.num { (t(lang, "redeemed_count")) } th {}
                } }
                tbody {
                    @for o in offers {
                        tr {
                            td.code.data { (o.code) } td.data { (o.name) } td.data { (name_of(names, &o.merchant)) }
                            td { (kind_word(lang, o.benefit)) " · " (data(&o.item)) }
                            td { (trigger(lang, o)) }
                            td.num { (o.granted) " / " (o.budget_count.map_or_else(unlimited, |b| b.to_string())) }
                            td.num { (o.budget_left.map_or_else(unlimited, |b| b.to_string())) }
                            td.num { (o.granted_amount) }
                            td.num { (o.redeemed) }
                            td { @if o.needs_consent {
                                a href={"/alliance/offers/" (o.code) "/grantees.csv"} { (t(lang, "grantees")) " CSV" }
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn effectiveness_table(lang: Lang, effects: &[Effectiveness]) -> Markup {
    html! {
        section.panel {
            h2 { (t(lang, "effectiveness")) }
            table #effectiveness {
                thead { tr {
                    th { (t(lang, "code")) } th.num { (t(lang, "redeemed_count")) }
                    th.num { (t(lang, "redemption_rate")) } th.num { (t(lang, "cards_opened")) }
                    th.num { (t(lang, "recharge_amount")) } th.num { (t(lang, "cost")) }
                    th.num { (t(lang, "cost_per_new_card")) }
                } }
                tbody {
                    @for e in effects {
                        tr {
                            td { span.code.data { (e.offer) } " " span.k.data { (e.name) } }
                            td.num { (e.redeemed) " / " (e.granted) }
                            td.num { (e.redemption_rate) "%" }
                            td.num { (e.cards_opened) }
                            td.num { (e.recharge_amount) }
                            td.num { (e.cost) }
                            td.num { (or_dash(e.cost_per_new_card)) }
                        }
                    }
                }
            }
        }
    }
}

/// The chosen merchant's month with the form to pick another, and the
/// settle button once the month is over and still open. A month that
/// cannot be read says why here, and the rest of the page stands.
async fn settlement_section(
    state: &App,
    h: &HeadOffice,
    merchant: Option<&str>,
    month: &str,
    merchants: &[Merchant],
    refused: Option<&AppError>,
) -> Markup {
    let lang = h.lang;
    let tz = state.settings.time_zone;
    let statement = match merchant {
        Some(code) => Some(act::statement(state, &h.actor, code, month).await),
        None => None,
    };
    let over = month < month_back(state, 0).as_str();
    let months: Vec<String> = (0..12).map(|n| month_back(state, n)).collect();
    html! {
        section.panel #settlement {
            h2 { (t(lang, "settlement")) }
            @if let Some(e) = refused { (error_box(lang, e)) }
            form.row.noprint method="get" action="/alliance" {
                div { label for="smerchant" { (t(lang, "merchant")) }
                    select #smerchant name="merchant" {
                        @for m in merchants {
                            option.data value=(m.code) selected[merchant == Some(m.code.as_str())] { (m.name) " " (m.code) }
                        }
                    }
                }
                div { label for="smonth" { (t(lang, "month")) }
                    select #smonth name="month" {
                        @for m in &months { option value=(m) selected[m == month] { (m) } }
                    }
                }
                button.primary type="submit" { (t(lang, "show")) }
            }
            @if let Some(Err(e)) = &statement { (error_box(lang, e)) }
            @if let Some(Ok(s)) = &statement {
                (statement_panel(lang, tz, s))
                @if !over {
                    p.k { (t(lang, "settle_when_over")) }
                } @else if s.status != "settled" {
                    form #settle method="post" action="/alliance/settlements" {
                        input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                        input type="hidden" name="merchant" value=(s.merchant);
                        input type="hidden" name="month" value=(s.month);
                        button.primary type="submit" { (t(lang, "settle")) " " (s.merchant) " " (s.month) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct SettleForm {
    /// Made when the form was shown: a double click settles once.
    key: String,
    merchant: String,
    month: String,
}

/// Settles a merchant's month, then shows it settled.
pub async fn settle(
    State(state): State<App>,
    h: HeadOffice,
    Form(f): Form<SettleForm>,
) -> Response {
    let described = format!("{}|{}", f.merchant, f.month);
    let key = Keyed::new(
        &state.keys.pin,
        &f.key,
        "POST",
        "/alliance/settlements",
        described.as_bytes(),
    );
    match act::settle(&state, &h.actor, &key, &f.merchant, &f.month).await {
        Ok(done) => Redirect::to(&format!(
            "/alliance?merchant={}&month={}#settlement",
            done.value.merchant, done.value.month
        ))
        .into_response(),
        Err(e) => {
            let shown = overview_body(&state, &h, Some(f.merchant), Some(f.month), Some(&e)).await;
            match shown {
                Ok(body) => (
                    e.code.status(),
                    page(h.lang, t(h.lang, "alliance"), Some(&h.actor), body),
                )
                    .into_response(),
                Err(_) => render(h.lang, &h.actor, t(h.lang, "alliance"), Err(e)),
            }
        }
    }
}

/// An offer's consenting grantees as CSV (the export is audited), or the
/// refusal as plain text.
pub async fn grantees_csv(
    State(state): State<App>,
    h: HeadOffice,
    Path(code): Path<String>,
) -> Response {
    let made = act::grantees_csv(&state, &h.actor, &code).await;
    csv_or_refusal(&format!("grantees-{code}.csv"), made)
}

// ------------------------------------------ the card page and receipts

/// The card page's and a lookup's table of benefits; the voucher codes
/// only where `names` is given (the counter's card page), never to a
/// merchant looking a card up.
fn benefit_rows(
    lang: Lang,
    tz: Tz,
    list: &[BenefitView],
    names: Option<&HashMap<String, String>>,
) -> Markup {
    html! {
        @if list.is_empty() { p.k { (t(lang, "no_benefits")) } } @else {
            table #benefit-list {
                thead { tr {
                    th { (t(lang, "item")) }
                    @if names.is_some() { th { (t(lang, "merchant")) } th { (t(lang, "voucher_code")) } }
                    th { (t(lang, "status")) } th { (t(lang, "expires")) } th.num { (t(lang, "uses_left")) }
                } }
                tbody {
                    @for b in list {
                        tr {
                            td { (kind_word(lang, b.kind)) " · " (data(&b.item)) }
                            @if let Some(names) = names {
                                td.data { (name_of(names, &b.merchant)) }
                                td.code { (or_dash(b.voucher_code.as_deref())) }
                            }
                            td { (status_word(lang, &b.status)) }
                            td { (or_dash(b.expires_at.as_deref().map(|e| local(e, tz)))) }
                            td.num { (or_dash(b.left_this_period)) }
                        }
                    }
                }
            }
        }
    }
}

/// The card's benefits on its page.
pub(super) fn benefits_panel(
    lang: Lang,
    tz: Tz,
    list: &[BenefitView],
    names: &HashMap<String, String>,
) -> Markup {
    html! {
        section.panel #benefits {
            h2 { (t(lang, "benefits")) }
            (benefit_rows(lang, tz, list, Some(names)))
        }
    }
}

/// The query a money form's page is sent on with: the notices of what the
/// event could not grant (the answer itself is not stored with the page).
#[derive(Deserialize, Default)]
pub struct AfterQuery {
    /// `code:offer` pairs, comma separated.
    pub notices: Option<String>,
    /// Set when the card was opened just now.
    pub opened: Option<String>,
}

/// The `notices=…` query part for the page an event's answer goes on to;
/// `None` when there is nothing to say.
pub(super) fn notices_query(notices: &[Notice]) -> Option<String> {
    let pairs: Vec<String> = notices
        .iter()
        .filter_map(|n| {
            let code = serde_json::to_value(n.code).ok()?;
            Some(format!("{}:{}", code.as_str()?, n.offer))
        })
        .collect();
    (!pairs.is_empty()).then(|| format!("notices={}", pairs.join(",")))
}

/// A notice to show: what happened, and to which offer (by name).
pub(super) struct Shown {
    code: NoticeCode,
    offer: String,
}

/// The notices a query carries, with their offers' names. Anything that is
/// not a known notice of a valid offer code is left out.
pub(super) async fn shown_notices(state: &App, actor: &Actor, q: &AfterQuery) -> Vec<Shown> {
    let mut out = Vec::new();
    for pair in q.notices.as_deref().unwrap_or_default().split(',') {
        let Some((code, offer)) = pair.split_once(':') else {
            continue;
        };
        let code = serde_json::from_value(serde_json::Value::String(code.to_string()));
        let (Ok(code), Ok(())) = (code, check_code("offer", offer)) else {
            continue;
        };
        let name = act::offer(state, actor, offer)
            .await
            .map_or_else(|_| offer.to_string(), |o| o.name);
        out.push(Shown { code, offer: name });
    }
    out
}

pub(super) fn notices_box(lang: Lang, notices: &[Shown]) -> Markup {
    html! {
        @for n in notices {
            p.notice.benefit-notice role="status" { strong.data { (n.offer) } ": " (notice_word(lang, n.code)) }
        }
    }
}

/// What an event earned, on the card page after opening it.
pub(super) fn earned_panel(
    lang: Lang,
    tz: Tz,
    earned: &[Granted],
    notices: &[Shown],
    names: &HashMap<String, String>,
) -> Markup {
    html! {
        @if !earned.is_empty() || !notices.is_empty() {
            section.panel #earned {
                h2 { (t(lang, "earned_now")) }
                (notices_box(lang, notices))
                @if !earned.is_empty() {
                    table { tbody { (earned_rows(lang, tz, earned, names)) } }
                }
            }
        }
    }
}

/// What an event earned, as a receipt's lines, with the merchants' names.
pub(super) async fn earned_lines(
    state: &App,
    c: &super::Cashier,
    tz: Tz,
    earned: &[Granted],
) -> Markup {
    let names = merchant_names(state, &c.actor, earned.iter().map(|g| g.merchant.as_str())).await;
    earned_rows(c.lang, tz, earned, &names)
}

/// What an event earned, as receipt lines: the item and merchant, the
/// voucher code and how long it is valid.
fn earned_rows(lang: Lang, tz: Tz, earned: &[Granted], names: &HashMap<String, String>) -> Markup {
    html! {
        @for g in earned {
            tr.earned { td colspan="2" { strong { (kind_word(lang, g.kind)) " · " (data(&g.item)) } " · " (data(name_of(names, &g.merchant))) } }
            tr { td { (t(lang, "voucher_code")) } td.code style="text-align:right" { (g.voucher_code) } }
            @if let Some(e) = &g.expires_at {
                tr { td { (t(lang, "expires")) } td style="text-align:right" { (local(e, tz)) } }
            }
        }
    }
}

//! Money at the counter: recharge with the discount previewed before the
//! cashier confirms, fuel sales, and printable receipts. Every confirm form
//! carries an idempotency key made when the form was shown, so a double
//! click or a refresh never charges twice.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::alliance::{self, AfterQuery};
use super::desk::{Typed, card_again_typed};
use super::form::given;
use super::text::word;
use super::{Cashier, Lang, data, error_box, page, t};
use crate::actions::App;
use crate::actions::{Keyed, counter, reads};
use crate::alliance::engine::Notice;
use crate::cards::recharge::PaymentMethod;
use crate::cards::{self};
use crate::error::{AppError, AppResult, Code};
use crate::http::api::{amount, quantity};
use crate::money::Money;

#[derive(Deserialize)]
pub struct PreviewQuery {
    amount: String,
    method: String,
}

fn method_of(text: &str) -> AppResult<PaymentMethod> {
    PaymentMethod::parse(text)
        .ok_or_else(|| AppError::new(Code::ValidationFailed, "payment method"))
}

/// Step one of a recharge: what the customer gets, before anything moves.
pub async fn recharge_preview(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let lang = c.lang;
    let shown: AppResult<Markup> = async {
        let n = cards::parse_number(&number)?;
        let amt = amount("amount", &q.amount)?;
        let method = method_of(&q.method)?;
        let (view, quote) = reads::recharge_offer(&state, &c.actor, &n, amt).await?;
        let after = Money::from_fen(view.balance.fen() + amt.fen() + quote.bonus.fen());
        let key = uuid::Uuid::new_v4().to_string();
        Ok(page(lang, t(lang, "recharge"), Some(&c.actor), html! {
            h1 { (t(lang, "recharge")) " " (view.number) }
            div.panel.grid {
                div { div.k { (t(lang, "holder")) } div.v.data { (view.holder_name.clone().unwrap_or_else(|| "—".into())) } }
                div { div.k { (t(lang, "amount")) } div.v #preview-amount { "¥" (amt) } }
                div { div.k { (t(lang, "payment_method")) } div.v { (word(lang, method.as_str())) } }
                div { div.k { (t(lang, "bonus")) } div.big #preview-bonus { "¥" (quote.bonus) } }
                div { div.k { (t(lang, "promotion")) } div.v.data { (quote.promotion.clone().unwrap_or_else(|| "—".into())) } }
                @if let Some(g) = &quote.gift { div { div.k { (t(lang, "gift")) } div.v.data { (g) } } }
                div { div.k { (t(lang, "new_balance")) } div.big #preview-balance { "¥" (after) } }
            }
            // The one notice a quote carries: the promotion's budget ran out.
            @if quote.notice.is_some() { p.notice { (t(lang, "promotion_budget_exhausted")) } }
            form method="post" action={"/cards/" (view.number) "/recharge"} {
                input type="hidden" name="key" value=(key);
                input type="hidden" name="amount" value=(amt);
                input type="hidden" name="method" value=(method.as_str());
                button.primary #confirm type="submit" autofocus { (t(lang, "confirm_recharge")) " " kbd { "Enter" } }
                " " a href={"/cards/" (view.number)} { (t(lang, "back_to_card")) }
            }
        }))
    }
    .await;
    match shown {
        Ok(m) => m.into_response(),
        Err(e) => {
            card_again_typed(
                &state,
                &c,
                &number,
                e,
                &recharge_typed(&q.amount, &q.method),
            )
            .await
        }
    }
}

fn recharge_typed(amount: &str, method: &str) -> Typed {
    Typed {
        form: "recharge",
        amount: amount.to_string(),
        method: method.to_string(),
        ..Typed::default()
    }
}

#[derive(Deserialize)]
pub struct RechargeForm {
    key: String,
    amount: String,
    method: String,
}

/// Step two: the confirmed recharge, then its receipt.
pub async fn recharge(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<RechargeForm>,
) -> Response {
    let done: AppResult<String> = async {
        let order = counter::Recharge {
            number: cards::parse_number(&number)?,
            amount: amount("amount", &f.amount)?,
            method: method_of(&f.method)?,
            campaign_code: None,
            station: None,
        };
        let form = format!("{}|{}", order.amount, order.method.as_str());
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            &format!("/cards/{number}/recharge"),
            form.as_bytes(),
        );
        let done = counter::recharge(&state, &c.actor, &key, order).await?;
        Ok(receipt_page("recharge", done.value.id, &done.value.notices))
    }
    .await;
    match done {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(e) => {
            card_again_typed(
                &state,
                &c,
                &number,
                e,
                &recharge_typed(&f.amount, &f.method),
            )
            .await
        }
    }
}

/// The receipt a confirmed recharge or sale goes on to, with the notices of
/// what it could not grant (they are not stored with the receipt).
fn receipt_page(kind: &str, id: i64, notices: &[Notice]) -> String {
    let query = alliance::notices_query(notices)
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    format!("/receipts/{kind}/{id}{query}")
}

/// A receipt's page: the printable receipt, and for the cashier only (not
/// printed) the notices of offers the event could not grant.
fn receipt_frame(
    lang: Lang,
    c: &Cashier,
    card: &str,
    rows: Markup,
    notices: &[alliance::Shown],
) -> Markup {
    page(
        lang,
        t(lang, "receipt"),
        Some(&c.actor),
        html! {
            div.receipt #receipt {
                h1 { "fuelcard · " (t(lang, "receipt")) }
                table { (rows) }
            }
            div.noprint { (alliance::notices_box(lang, notices)) }
            p.noprint style="text-align:center" {
                button.primary type="button" onclick="window.print()" accesskey="p" autofocus { (t(lang, "print")) }
                " " a href={"/cards/" (card)} { (t(lang, "back_to_card")) }
            }
        },
    )
}

fn line(k: &str, v: impl maud::Render) -> Markup {
    html! { tr { td { (k) } td style="text-align:right" { (v) } } }
}

pub async fn recharge_receipt(
    State(state): State<App>,
    c: Cashier,
    Path(id): Path<i64>,
    Query(after): Query<AfterQuery>,
) -> Response {
    let lang = c.lang;
    let tz = state.settings.time_zone;
    let r: crate::error::AppResult<_> = async {
        let (r, earned) = reads::recharge_receipt(&state, &c.actor, id).await?;
        Ok((r, alliance::earned_lines(&state, &c, tz, &earned).await))
    }
    .await;
    let notices = alliance::shown_notices(&state, &c.actor, &after).await;
    match r {
        Ok((r, earned)) => receipt_frame(lang, &c, &r.card_number, html! {
            (line(t(lang, "station"), html! { (r.station) " " (data(&r.station_name)) }))
            (line(t(lang, "time"), crate::time::format_local(r.at_us, tz)))
            (line(t(lang, "cashier"), data(&r.cashier)))
            (line(t(lang, "card_number"), &r.card_number))
            (line(t(lang, "recharge"), format!("¥{}", r.amount)))
            (line(t(lang, "payment_method"), word(lang, &r.payment_method)))
            (line(t(lang, "bonus"), format!("¥{}", r.bonus)))
            @for g in &r.gifts { (line(t(lang, "gift"), g)) }
            (line(t(lang, "balance"), html! { strong #receipt-balance { "¥" (r.balance_after) } }))
            (earned)
        }, &notices)
        .into_response(),
        Err(e) => (
            e.code.status(),
            page(lang, t(lang, "receipt"), Some(&c.actor), error_box(lang, &e)),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub struct SaleForm {
    key: String,
    product: String,
    litres: Option<String>,
    amount: Option<String>,
    pin: Option<String>,
    plate: Option<String>,
    odometer: Option<String>,
}

pub async fn sale(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<SaleForm>,
) -> Response {
    let done: AppResult<String> = async {
        let odometer = given(f.odometer.as_deref())
            .map(|o| {
                o.parse::<i64>().map_err(|_| {
                    AppError::new(Code::ValidationFailed, "odometer: whole kilometres")
                })
            })
            .transpose()?;
        let order = counter::Sale {
            number: cards::parse_number(&number)?,
            product: f.product.clone(),
            quantity: quantity(
                given(f.litres.as_deref()).as_deref(),
                given(f.amount.as_deref()).as_deref(),
            )?,
            pin: given(f.pin.as_deref()),
            station: None,
            plate: given(f.plate.as_deref()),
            odometer,
        };
        let form = format!(
            "{}|{:?}|{:?}|{:?}|{:?}",
            f.product, f.litres, f.amount, order.plate, odometer
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            &format!("/cards/{number}/sale"),
            form.as_bytes(),
        );
        let done = counter::sell(&state, &c.actor, &key, order).await?;
        Ok(receipt_page("sale", done.value.id, &done.value.notices))
    }
    .await;
    match done {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(e) => {
            let typed = Typed {
                form: "sale",
                amount: f.amount.clone().unwrap_or_default(),
                product: f.product.clone(),
                litres: f.litres.clone().unwrap_or_default(),
                plate: f.plate.clone(),
                odometer: f.odometer.clone().unwrap_or_default(),
                ..Typed::default()
            };
            card_again_typed(&state, &c, &number, e, &typed).await
        }
    }
}

pub async fn sale_receipt(
    State(state): State<App>,
    c: Cashier,
    Path(id): Path<i64>,
    Query(after): Query<AfterQuery>,
) -> Response {
    let lang = c.lang;
    let tz = state.settings.time_zone;
    let r: crate::error::AppResult<_> = async {
        // The receipt names the product as stored; the page names it in
        // its language, by the product's code.
        let (r, code, earned) = reads::sale_receipt(&state, &c.actor, id).await?;
        let product = super::text::product(lang, &code, &r.product);
        Ok((
            r,
            product,
            alliance::earned_lines(&state, &c, tz, &earned).await,
        ))
    }
    .await;
    let notices = alliance::shown_notices(&state, &c.actor, &after).await;
    match r {
        Ok((r, product, earned)) => receipt_frame(lang, &c, &r.card_number, html! {
            (line(t(lang, "station"), html! { (r.station) " " (data(&r.station_name)) }))
            (line(t(lang, "time"), crate::time::format_local(r.at_us, tz)))
            (line(t(lang, "cashier"), data(&r.cashier)))
            (line(t(lang, "card_number"), &r.card_number))
            (line(t(lang, "product"), product))
            (line(t(lang, "litres"), format!("{} L", r.litres)))
            (line(t(lang, "unit_price"), format!("¥{}", r.unit_price)))
            (line(t(lang, "amount"), format!("¥{}", r.amount)))
            (line(t(lang, "discount"), format!("¥{}", r.discount)))
            (line(t(lang, "charged"), format!("¥{}", r.charged)))
            @if let Some(p) = &r.plate { (line(t(lang, "plate"), data(p))) }
            @if let Some(o) = r.odometer { (line(t(lang, "odometer"), o)) }
            (line(t(lang, "balance"), html! { strong #receipt-balance { "¥" (r.balance_after) } }))
            (earned)
        }, &notices)
        .into_response(),
        Err(e) => (
            e.code.status(),
            page(lang, t(lang, "receipt"), Some(&c.actor), error_box(lang, &e)),
        )
            .into_response(),
    }
}

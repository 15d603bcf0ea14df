//! The chip at the counter: "read card" shows the chip's balance beside the
//! host's (after settling whatever the card left half-done), and value on
//! the card's account is loaded onto the chip (圈存) from the same page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::text::tr;
use super::{Cashier, error_box, page, t};
use crate::actions::{App, Keyed, chip};
use crate::cards;
use crate::chip::read;
use crate::error::{AppError, AppResult};
use crate::http::api::amount;

async fn read_view(state: &App, c: &Cashier, number: &str) -> AppResult<read::ChipView> {
    let expected = cards::parse_number(number)?;
    chip::read(state, &c.actor, Some(expected)).await
}

/// The chip panel: both balances side by side, what the read settled, and
/// the load form (with a fresh idempotency key, so a double click loads
/// once).
fn chip_panel(
    c: &Cashier,
    number: &str,
    view: Option<&read::ChipView>,
    err: Option<&AppError>,
) -> Markup {
    let lang = c.lang;
    html! {
        h1 { (t(lang, "chip")) " " (number) }
        @if let Some(e) = err { (error_box(lang, e)) }
        @if let Some(v) = view {
            div.panel.grid #chip {
                div { div.k { (t(lang, "chip_balance")) } div.big #chip-balance { "¥" (v.chip_balance) } }
                div { div.k { (t(lang, "host_chip_balance")) } div.v #host-chip-balance { "¥" (v.host_chip_balance) } }
                div { div.k { (t(lang, "balance")) } div.v #host-balance { "¥" (v.host_balance) } }
                div { div.k { (t(lang, "status")) }
                    div class={"v " @if v.agree { "status-active" } @else { "status-lost" }} #agree {
                        @if v.agree { (t(lang, "chip_agrees")) } @else { (t(lang, "chip_differs")) }
                    }
                }
            }
            @for s in &v.settled {
                p.notice { (tr(lang, "chip_settled_line", &[
                    ("kind", s.kind.as_str().into()),
                    ("id", s.id.into()),
                    ("outcome", s.outcome.as_str().into()),
                    ("amount", s.amount.to_string().into()),
                ])) }
            }
        }
        div.panel {
            h2 { (t(lang, "load_to_chip")) }
            form method="post" action={"/cards/" (number) "/chip/load"} {
                input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                div.row {
                    div { label for="amount" { (t(lang, "amount")) } input #amount name="amount" inputmode="decimal" required placeholder="100.00"; }
                    button.primary type="submit" { (t(lang, "load_to_chip")) }
                }
            }
            form method="post" action={"/cards/" (number) "/chip/read"} {
                button type="submit" { (t(lang, "read_card")) }
            }
            p { a href={"/cards/" (number)} { (t(lang, "card")) " " (number) } }
        }
        div.panel {
            h2 { (t(lang, "issue_chip")) }
            p { (t(lang, "issue_chip_hint")) }
            form method="post" action={"/cards/" (number) "/chip/personalise"} {
                div.row {
                    div { label for="chip-pin" { (t(lang, "pin")) } input #chip-pin name="pin" type="password" inputmode="numeric" autocomplete="off" required; }
                    button type="submit" { (t(lang, "issue_chip")) }
                }
            }
        }
    }
}

fn chip_page(
    c: &Cashier,
    number: &str,
    view: Option<&read::ChipView>,
    err: Option<&AppError>,
) -> Response {
    page(
        c.lang,
        t(c.lang, "chip"),
        Some(&c.actor),
        chip_panel(c, number, view, err),
    )
    .into_response()
}

/// Reads the card in the reader.
pub async fn read_card(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
) -> Response {
    match read_view(&state, &c, &number).await {
        Ok(v) => chip_page(&c, &number, Some(&v), None),
        Err(e) => chip_page(&c, &number, None, Some(&e)),
    }
}

#[derive(Deserialize)]
pub struct PersonaliseForm {
    pin: String,
}

/// Writes the blank card in the reader as this card, then reads it.
pub async fn personalise(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<PersonaliseForm>,
) -> Response {
    let done = async {
        let n = cards::parse_number(&number)?;
        chip::personalise(&state, &c.actor, n, &f.pin).await
    }
    .await;
    match done {
        Ok(v) => chip_page(&c, &number, Some(&v), None),
        Err(e) => chip_page(&c, &number, None, Some(&e)),
    }
}

#[derive(Deserialize)]
pub struct LoadForm {
    amount: String,
    key: String,
}

/// Loads value onto the chip, then shows the card as read afterwards.
pub async fn load(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<LoadForm>,
) -> Response {
    let done = async {
        let n = cards::parse_number(&number)?;
        let amount = amount("amount", &f.amount)?;
        let path = format!("/cards/{number}/chip/load");
        let key = Keyed::new(&state.keys.pin, &f.key, "POST", &path, f.amount.as_bytes());
        chip::load(&state, &c.actor, key, n, amount).await
    }
    .await;
    let err = done.err();
    let view = read_view(&state, &c, &number).await;
    match (view, err) {
        (Ok(v), err) => chip_page(&c, &number, Some(&v), err.as_ref()),
        (Err(e), None) => chip_page(&c, &number, None, Some(&e)),
        (Err(_), Some(e)) => chip_page(&c, &number, None, Some(&e)),
    }
}

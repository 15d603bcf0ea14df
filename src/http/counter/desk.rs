//! Logging in, finding a card, the card page, opening a card and the card's
//! life (lost, replaced, registered, unlocked).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::text::word;
use super::{Cashier, Lang, Signed, error_box, lang_of, page, t};
use crate::auth::policy::{self, Action};
use crate::cards::customers::IdKind;
use crate::cards::customers::{self, CustomerKind, NewCustomer};
use crate::cards::holder::{Identity, Word};
use crate::cards::{self, CardKind, NewCard, life, products, statement};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::api::{sales, session};
use crate::http::extract::{SESSION_COOKIE, in_transaction};

pub async fn login_page(headers: HeaderMap) -> Markup {
    login_form(lang_of(&headers), None, "")
}

fn login_form(lang: Lang, err: Option<&AppError>, username: &str) -> Markup {
    page(
        lang,
        t(lang, "login"),
        None,
        html! {
            div.panel style="max-width:24rem;margin:3rem auto" {
                h1 { (t(lang, "login")) }
                @if let Some(e) = err { (error_box(lang, e)) }
                form method="post" action="/login" {
                    label for="username" { (t(lang, "username")) }
                    input #username name="username" value=(username) autofocus required autocomplete="username";
                    label for="password" { (t(lang, "password")) }
                    input #password name="password" type="password" required autocomplete="current-password";
                    div { button.primary type="submit" { (t(lang, "login")) } }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    match session::login_user(&state, &f.username, &f.password).await {
        Ok((_, token)) => {
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                crate::auth::sessions::SESSION_HOURS * 3600
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(e) => login_form(lang, Some(&e), &f.username).into_response(),
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Err(e) = session::end_session(&state, &parts).await {
        tracing::warn!(%e, "ending a session");
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

fn search_box(lang: Lang, value: &str) -> Markup {
    html! {
        form.panel method="get" action="/search" {
            label for="q" { (t(lang, "search_hint")) }
            div.row {
                input #q name="q" value=(value) autofocus required inputmode="numeric" accesskey="f";
                button.primary type="submit" { (t(lang, "search_button")) " " kbd { "Enter" } }
                a href="/cards/new" accesskey="n" { (t(lang, "open_card")) }
            }
        }
    }
}

/// The start page: the card search for counter staff; a fleet manager goes
/// to the company's monthly review.
pub async fn home(s: Signed) -> Response {
    if let (crate::auth::Role::FleetManager, Some(company)) = (s.actor.role, s.actor.company_id) {
        return Redirect::to(&format!("/fleet/{company}/review")).into_response();
    }
    if !policy::may(&s.actor, Action::Sell) {
        return page(
            s.lang,
            t(s.lang, "counter"),
            Some(&s.actor),
            html! { p.error { (t(s.lang, "not_counter_role")) } },
        )
        .into_response();
    }
    page(
        s.lang,
        t(s.lang, "search"),
        Some(&s.actor),
        html! {
            h1 { (t(s.lang, "search")) }
            (search_box(s.lang, ""))
        },
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
}

pub async fn search(
    State(state): State<AppState>,
    c: Cashier,
    Query(q): Query<SearchQuery>,
) -> Response {
    let text: String =
        q.q.chars()
            .filter(|ch| !ch.is_whitespace() && *ch != '-')
            .collect();
    let lang = c.lang;
    // Sixteen digits (spaces and dashes between groups allowed) are a card
    // number; anything else is a phone, searched as the holder wrote it.
    let result: AppResult<Vec<String>> = async {
        if text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit()) {
            let number = cards::parse_number(&text)?;
            return Ok(vec![number.to_string()]);
        }
        let mut conn = state.db.pool().acquire().await?;
        customers::cards_by_phone(&mut conn, q.q.trim()).await
    }
    .await;
    match result {
        Ok(list) if list.len() == 1 => Redirect::to(&format!("/cards/{}", list[0])).into_response(),
        Ok(list) => page(
            lang,
            t(lang, "search"),
            Some(&c.actor),
            html! {
                h1 { (t(lang, "search")) }
                (search_box(lang, &q.q))
                @if list.is_empty() { p.notice { (t(lang, "no_cards_for_phone")) } }
                ul { @for n in &list { li { a href={"/cards/" (n)} { (n) } } } }
            },
        )
        .into_response(),
        Err(e) => page(
            lang,
            t(lang, "search"),
            Some(&c.actor),
            html! {
                h1 { (t(lang, "search")) }
                (error_box(lang, &e))
                (search_box(lang, &q.q))
            },
        )
        .into_response(),
    }
}

/// The card page: who holds it, what it holds, what happened to it, and the
/// forms for what the cashier does next.
pub async fn card_page(
    State(state): State<AppState>,
    c: Cashier,
    Path(number): Path<String>,
) -> Response {
    match card_body(&state, &c, &number, None).await {
        Ok(m) => m.into_response(),
        Err(e) => page(
            c.lang,
            t(c.lang, "card"),
            Some(&c.actor),
            html! {
                (error_box(c.lang, &e))
                (search_box(c.lang, &number))
            },
        )
        .into_response(),
    }
}

pub async fn card_body(
    state: &AppState,
    c: &Cashier,
    number: &str,
    err: Option<&AppError>,
) -> AppResult<Markup> {
    let now = state.now();
    let lang = c.lang;
    let number = cards::parse_number(number)?;
    let mut conn = state.db.pool().acquire().await?;
    let card = cards::find(&mut conn, &number).await?;
    let view = cards::view(&mut conn, &card, &c.actor).await?;
    let recent = statement::page(&mut conn, &card, 1, 10).await?;
    let products = products::list(&mut conn, now).await?;
    let key = uuid::Uuid::new_v4().to_string();
    let tz = state.settings.time_zone;
    Ok(page(
        lang,
        &view.number,
        Some(&c.actor),
        html! {
            h1 { (t(lang, "card")) " " (view.number) }
            @if let Some(e) = err { (error_box(lang, e)) }
            div.panel.grid {
                div { div.k { (t(lang, "balance")) } div.big #balance { "¥" (view.balance) } }
                div { div.k { (t(lang, "principal")) } div.v { (view.principal_balance) } }
                div { div.k { (t(lang, "bonus")) } div.v { (view.bonus_balance) } }
                div { div.k { (t(lang, "status")) } div class={"v status-" (view.status.as_str())} { (word(lang, view.status.as_str())) } }
                div { div.k { (t(lang, "kind")) } div.v { (word(lang, view.kind.as_str())) } }
                div { div.k { (t(lang, "holder")) } div.v { (view.holder_name.clone().unwrap_or_else(|| "—".into())) } }
                div { div.k { (t(lang, "phone")) } div.v { (view.holder_phone.clone().unwrap_or_else(|| "—".into())) } }
                @if let Some(p) = &view.plate { div { div.k { (t(lang, "plate")) } div.v { (p) } } }
            }
            @if state.chip.is_some() {
                form.panel method="post" action={"/cards/" (view.number) "/chip/read"} {
                    button.primary #read-card type="submit" { (t(lang, "read_card")) }
                    " " (t(lang, "chip_balance")) " / " (t(lang, "load_to_chip"))
                }
            }
            div.panel {
                h2 { (t(lang, "recharge")) " " kbd { "Alt+R" } }
                form method="get" action={"/cards/" (view.number) "/recharge"} {
                    div.row {
                        div { label for="amount" { (t(lang, "amount")) } input #amount name="amount" inputmode="decimal" required accesskey="r" placeholder="1000.00"; }
                        div { label for="method" { (t(lang, "payment_method")) }
                            select #method name="method" {
                                option value="cash" { (t(lang, "cash")) }
                                option value="bank_card" { (t(lang, "bank_card")) }
                                option value="transfer" { (t(lang, "transfer")) }
                            }
                        }
                        button.primary type="submit" { (t(lang, "preview")) }
                    }
                }
            }
            div.panel {
                h2 { (t(lang, "sell")) " " kbd { "Alt+S" } }
                form method="post" action={"/cards/" (view.number) "/sale"} {
                    input type="hidden" name="key" value=(key);
                    div.row {
                        div { label for="product" { (t(lang, "product")) }
                            select #product name="product" accesskey="s" {
                                @for (p, price) in &products {
                                    @if let Some(price) = price { option value=(p.code) { (p.name) " ¥" (price.unit_price) } }
                                }
                            }
                        }
                        div { label for="litres" { (t(lang, "litres")) } input #litres name="litres" inputmode="decimal"; }
                        div { label for="gross" { (t(lang, "or_amount")) } input #gross name="amount" inputmode="decimal"; }
                        @if view.has_pin { div { label for="pin" { (t(lang, "pin")) } input #pin name="pin" type="password" inputmode="numeric" autocomplete="off"; } }
                        div { label for="plate" { (t(lang, "plate")) } input #plate name="plate" value=(view.plate.clone().unwrap_or_default()); }
                        div { label for="odometer" { (t(lang, "odometer")) } input #odometer name="odometer" inputmode="numeric"; }
                        button.primary type="submit" { (t(lang, "confirm_sale")) }
                    }
                }
            }
            div.panel {
                h2 { (t(lang, "recent")) }
                @if recent.items.is_empty() { p { (t(lang, "no_transactions")) } } @else {
                    table {
                        tr { th { (t(lang, "time")) } th { (t(lang, "type")) } th { (t(lang, "station")) } th.num { (t(lang, "amount")) } th.num { (t(lang, "balance_after")) } }
                        @for line in &recent.items {
                            tr {
                                td { (crate::time::parse_rfc3339(&line.time).map(|us| crate::time::format_local(us, tz)).unwrap_or_else(|| line.time.clone())) }
                                td { (word(lang, &line.kind)) }
                                td { (line.station.clone().unwrap_or_default()) }
                                td.num { (line.amount) }
                                td.num { (line.balance_after) }
                            }
                        }
                    }
                }
            }
            div.panel {
                h2 { (t(lang, "card_life")) }
                div.row {
                    form method="post" action={"/cards/" (view.number) "/loss-report"} {
                        label { input type="checkbox" name="confirm" value="yes" required; " " (t(lang, "confirm_lost")) }
                        button.danger type="submit" { (t(lang, "report_lost")) }
                    }
                    form method="post" action={"/cards/" (view.number) "/replacement"} {
                        input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                        (holders_word(lang, "r", view.has_pin))
                        button.primary type="submit" { (t(lang, "replace")) }
                    }
                    @if view.status == cards::CardStatus::Locked {
                        form method="post" action={"/cards/" (view.number) "/unlock"} {
                            (holders_word(lang, "u", false))
                            button.primary type="submit" { (t(lang, "unlock")) }
                        }
                    }
                }
                @if view.kind == CardKind::Anonymous {
                    form method="post" action={"/cards/" (view.number) "/conversion"} {
                        h2 { (t(lang, "convert")) }
                        div.row {
                            div { label for="name" { (t(lang, "holder_name")) } input #name name="name" required; }
                            div { label for="cphone" { (t(lang, "phone")) } input #cphone name="phone" inputmode="tel"; }
                            div { label for="idn" { (t(lang, "id_number")) } input #idn name="id_number"; }
                            @if view.has_pin { div { label for="cpin" { (t(lang, "pin")) } input #cpin name="pin" type="password" inputmode="numeric" autocomplete="off"; } }
                            button.primary type="submit" { (t(lang, "convert")) }
                        }
                    }
                }
            }
        },
    ))
}

/// The fields of the holder's word on a card-life form: the card's PIN
/// (when it has one and it may be used), or the holder's ID document.
fn holders_word(lang: Lang, form: &str, pin: bool) -> Markup {
    html! {
        fieldset {
            legend { (t(lang, "holders_word")) }
            @if pin {
                label for={(form) "-pin"} { (t(lang, "pin")) }
                input id={(form) "-pin"} name="pin" type="password" inputmode="numeric" autocomplete="off";
            }
            label for={(form) "-kind"} { (t(lang, "document_kind")) }
            select id={(form) "-kind"} name="document_kind" {
                @for kind in IdKind::ALL { option value=(kind.as_str()) { (t(lang, kind.as_str())) } }
            }
            label for={(form) "-idn"} { (t(lang, "id_number")) }
            input id={(form) "-idn"} name="document_number" autocomplete="off";
        }
    }
}

/// The holder's word as a card-life form carries it.
#[derive(Deserialize)]
pub struct HolderForm {
    key: Option<String>,
    pin: Option<String>,
    document_kind: Option<String>,
    document_number: Option<String>,
}

impl HolderForm {
    fn pin(&self) -> Option<&str> {
        self.pin.as_deref().filter(|p| !p.is_empty())
    }

    /// The document shown, if a number was typed.
    fn identity(&self) -> Option<Identity> {
        let number = self.document_number.as_deref().map(str::trim)?;
        (!number.is_empty()).then(|| Identity {
            document_kind: self
                .document_kind
                .as_deref()
                .and_then(IdKind::parse)
                .unwrap_or(IdKind::ResidentId),
            document_number: number.to_string(),
        })
    }
}

/// The word the change's transaction confirms; the PIN, if given, is
/// tried (and counted) first.
async fn tried_word(
    state: &AppState,
    c: &Cashier,
    number: &cards::CardNumber,
    f: &HolderForm,
) -> AppResult<(bool, Option<Identity>)> {
    let identity = f.identity();
    sales::holders_pin(state, &c.actor, number, f.pin(), identity.is_some()).await?;
    Ok((f.pin().is_some(), identity))
}

/// Runs a card-life action and shows the card again, with the refusal if
/// there was one.
async fn after(state: &AppState, c: &Cashier, number: &str, done: AppResult<String>) -> Response {
    match done {
        Ok(target) => Redirect::to(&format!("/cards/{target}")).into_response(),
        Err(e) => match card_body(state, c, number, Some(&e)).await {
            Ok(m) => m.into_response(),
            Err(e2) => page(
                c.lang,
                t(c.lang, "card"),
                Some(&c.actor),
                error_box(c.lang, &e2),
            )
            .into_response(),
        },
    }
}

#[derive(Deserialize)]
pub struct Confirm {
    confirm: Option<String>,
}

pub async fn loss_report(
    State(state): State<AppState>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<Confirm>,
) -> Response {
    let now = state.now();
    let done = async {
        if f.confirm.as_deref() != Some("yes") {
            return Err(AppError::new(
                crate::error::Code::ValidationFailed,
                t(c.lang, "confirm_lost"),
            ));
        }
        let n = cards::parse_number(&number)?;
        let actor = c.actor.clone();
        in_transaction(&state, |conn| {
            let (n, actor) = (n.clone(), actor.clone());
            Box::pin(async move {
                let card = cards::find_for_update(conn, &n).await?;
                life::report_lost(conn, &actor, &card, now).await
            })
        })
        .await?;
        Ok(number.clone())
    }
    .await;
    after(&state, &c, &number, done).await
}

pub async fn replacement(
    State(state): State<AppState>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<HolderForm>,
) -> Response {
    let now = state.now();
    let done = async {
        let n = cards::parse_number(&number)?;
        let (pin, identity) = tried_word(&state, &c, &n, &f).await?;
        let wait = state.settings.replacement_wait_hours;
        let actor = c.actor.clone();
        let hash = crate::ledger::idempotency::request_hash(
            "POST",
            &format!("/cards/{number}/replacement"),
            b"",
        );
        crate::http::extract::idempotent(
            &state,
            &actor,
            f.key.as_deref().unwrap_or_default(),
            &hash,
            axum::http::StatusCode::CREATED,
            |conn| {
                let (n, actor, identity) = (n.clone(), actor.clone(), identity.clone());
                Box::pin(async move {
                    let card = cards::find_for_update(conn, &n).await?;
                    let word = Word::offered(pin, identity.as_ref());
                    life::replace(conn, &actor, &card, word, wait, None, now).await
                })
            },
        )
        .await?;
        // The page goes to the new card, whether this request replaced the
        // card or a double click replayed the first one.
        let mut conn = state.db.pool().acquire().await?;
        life::replacement_of(&mut conn, &n).await
    }
    .await;
    after(&state, &c, &number, done).await
}

#[derive(Deserialize)]
pub struct ConvertForm {
    name: String,
    phone: Option<String>,
    id_number: Option<String>,
    pin: Option<String>,
}

pub async fn conversion(
    State(state): State<AppState>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<ConvertForm>,
) -> Response {
    let now = state.now();
    let done = async {
        let n = cards::parse_number(&number)?;
        let holder = NewCustomer {
            kind: CustomerKind::Person,
            name: f.name.clone(),
            phone: f.phone.clone().filter(|p| !p.trim().is_empty()),
            id_number: f.id_number.clone().filter(|p| !p.trim().is_empty()),
            id_kind: None,
            contact_name: None,
            address: None,
        };
        holder.validate()?;
        let pin = f.pin.as_deref().filter(|p| !p.is_empty());
        sales::holders_pin(&state, &c.actor, &n, pin, false).await?;
        let pin = pin.is_some();
        let actor = c.actor.clone();
        in_transaction(&state, |conn| {
            let (n, actor, holder) = (n.clone(), actor.clone(), holder.clone());
            Box::pin(async move {
                let card = cards::find_for_update(conn, &n).await?;
                life::convert(
                    conn,
                    &actor,
                    &card,
                    Word::offered(pin, None),
                    life::Holder::New(&holder),
                    None,
                    now,
                )
                .await
            })
        })
        .await?;
        Ok(number.clone())
    }
    .await;
    after(&state, &c, &number, done).await
}

pub async fn unlock(
    State(state): State<AppState>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<HolderForm>,
) -> Response {
    let now = state.now();
    let done = async {
        let n = cards::parse_number(&number)?;
        let (pin, identity) = tried_word(&state, &c, &n, &f).await?;
        let actor = c.actor.clone();
        in_transaction(&state, |conn| {
            let (n, actor, identity) = (n.clone(), actor.clone(), identity.clone());
            Box::pin(async move {
                let card = cards::find_for_update(conn, &n).await?;
                let word = Word::offered(pin, identity.as_ref());
                life::unlock(conn, &actor, &card, word, now).await
            })
        })
        .await?;
        Ok(number.clone())
    }
    .await;
    after(&state, &c, &number, done).await
}

pub async fn new_card_page(c: Cashier) -> Markup {
    new_card_form(&c, None)
}

fn new_card_form(c: &Cashier, err: Option<&AppError>) -> Markup {
    let lang = c.lang;
    page(
        lang,
        t(lang, "open_card"),
        Some(&c.actor),
        html! {
            h1 { (t(lang, "open_card")) }
            @if let Some(e) = err { (error_box(lang, e)) }
            form.panel method="post" action="/cards/new" {
                div.row {
                    div { label for="kind" { (t(lang, "kind")) }
                        select #kind name="kind" autofocus {
                            option value="personal" { (t(lang, "personal")) }
                            option value="anonymous" { (t(lang, "anonymous")) }
                            option value="company_main" { (t(lang, "company_main")) }
                        }
                    }
                    div { label for="name" { (t(lang, "holder_name")) } input #name name="name"; }
                    div { label for="phone" { (t(lang, "phone")) } input #phone name="phone" inputmode="tel"; }
                    div { label for="idkind" { (t(lang, "document_kind")) }
                        select #idkind name="id_kind" {
                            @for kind in IdKind::ALL { option value=(kind.as_str()) { (t(lang, kind.as_str())) } }
                        }
                    }
                    div { label for="idn" { (t(lang, "id_number")) } input #idn name="id_number" autocomplete="off"; }
                    div { label for="pin" { (t(lang, "pin")) } input #pin name="pin" type="password" inputmode="numeric" autocomplete="off"; }
                    button.primary type="submit" { (t(lang, "open")) }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct NewCardForm {
    kind: String,
    name: Option<String>,
    phone: Option<String>,
    id_kind: Option<String>,
    id_number: Option<String>,
    pin: Option<String>,
}

pub async fn new_card(
    State(state): State<AppState>,
    c: Cashier,
    Form(f): Form<NewCardForm>,
) -> Response {
    let now = state.now();
    let done: AppResult<String> = async {
        let kind = CardKind::parse(&f.kind)
            .filter(|k| !k.is_sub_card())
            .ok_or_else(|| AppError::new(crate::error::Code::ValidationFailed, "kind"))?;
        let pin = f
            .pin
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| cards::pin::protect(&state.keys.pin, p))
            .transpose()?;
        let holder = (kind != CardKind::Anonymous).then(|| NewCustomer {
            kind: if kind == CardKind::CompanyMain {
                CustomerKind::Company
            } else {
                CustomerKind::Person
            },
            name: f.name.clone().unwrap_or_default(),
            phone: f.phone.clone().filter(|p| !p.trim().is_empty()),
            id_number: f.id_number.clone().filter(|p| !p.trim().is_empty()),
            id_kind: f.id_kind.as_deref().and_then(IdKind::parse),
            contact_name: None,
            address: None,
        });
        if let Some(h) = &holder {
            h.validate()?;
        }
        let actor = c.actor.clone();
        in_transaction(&state, |conn| {
            let (holder, pin, actor) = (holder.clone(), pin.clone(), actor.clone());
            Box::pin(async move {
                let customer_id = match &holder {
                    Some(h) => Some(customers::create(conn, h, now).await?.id),
                    None => None,
                };
                let station = crate::stations::for_counter(conn, &actor, None).await.ok();
                let card = cards::open(
                    conn,
                    &NewCard {
                        kind,
                        customer_id,
                        parent: None,
                        plate: None,
                        pin,
                        station_id: station.map(|s| s.id),
                    },
                    now,
                )
                .await?;
                crate::audit::record(
                    conn,
                    now,
                    Some(actor.user_id),
                    "card_open",
                    &card.number,
                    serde_json::json!({"kind": kind, "via": "counter"}),
                )
                .await?;
                Ok(card.number)
            })
        })
        .await
    }
    .await;
    match done {
        Ok(number) => Redirect::to(&format!("/cards/{number}")).into_response(),
        Err(e) => new_card_form(&c, Some(&e)).into_response(),
    }
}

//! Logging in, finding a card, the card page, opening a card and the card's
//! life (lost, replaced, registered, unlocked, closed).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::alliance::{self, AfterQuery};
use super::form::{at_fault, beside, field_of, given, with_field};
use super::text::{self, word};
use super::{Cashier, Lang, Signed, error_box, lang_of, page, refused, t};
use crate::actions::App;
use crate::actions::Keyed;
use crate::actions::card_life::{self, HolderWord};
use crate::actions::reads;
use crate::actions::session;
use crate::auth::policy::{self, Action};
use crate::cards::customers::IdKind;
use crate::cards::customers::{CustomerKind, NewCustomer};
use crate::cards::holder::Identity;
use crate::cards::{self, CardKind, life};
use crate::error::{AppError, AppResult};
use crate::http::extract::{ClientAddress, cleared_session_cookie, session_cookie};

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
    State(state): State<App>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    match session::login(&state, &f.username, &f.password, address).await {
        Ok((_, token)) => {
            let cookie = session_cookie(&state.settings, &token);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(e) => login_form(lang, Some(&e), &f.username).into_response(),
    }
}

pub async fn logout(State(state): State<App>, headers: HeaderMap) -> Response {
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    let token = crate::http::extract::token_of(&parts);
    if let Err(e) = session::logout(&state, token.as_deref()).await {
        tracing::warn!(%e, "ending a session");
    }
    let cookie = cleared_session_cookie(&state.settings);
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
/// to the company's monthly review, a partner merchant to its desk.
/// Where a user starts: their role's home ([`super::home_of`]), or the
/// counter.
pub async fn home(state: State<App>, s: Signed) -> Response {
    match super::home_of(&s.actor).filter(|p| *p != "/") {
        Some(path) => Redirect::to(&path).into_response(),
        None => counter(state, s).await,
    }
}

/// The counter: the card search, the staff's wins and the counter's tasks.
pub async fn counter(State(state): State<App>, s: Signed) -> Response {
    if !policy::may(&s.actor, Action::Sell) {
        return refused(s.lang, &s.actor, "not_counter_role");
    }
    // The wins are staff's news; a failure to read them leaves them out.
    let wins = crate::actions::acquisition::wins(&state, &s.actor, None).await;
    let tasks = super::station::counter_tasks(&state, &s.actor, s.lang).await;
    page(
        s.lang,
        t(s.lang, "search"),
        Some(&s.actor),
        html! {
            h1 { (t(s.lang, "search")) }
            (search_box(s.lang, ""))
            (tasks)
            @if let Ok(wins) = &wins { (super::acquisition::wins_panel(s.lang, wins)) }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
}

pub async fn search(
    State(state): State<App>,
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
    if text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit()) {
        match cards::parse_number(&text) {
            Ok(number) => return Redirect::to(&format!("/cards/{number}")).into_response(),
            Err(e) => return search_refused(&c, &q.q, &e),
        }
    }
    match crate::actions::counter::cards_by_phone(&state, &c.actor, q.q.trim()).await {
        Ok(list) if list.len() == 1 => {
            Redirect::to(&format!("/cards/{}", list[0].number)).into_response()
        }
        Ok(list) => page(
            lang,
            t(lang, "search"),
            Some(&c.actor),
            html! {
                h1 { (t(lang, "search")) }
                (search_box(lang, &q.q))
                @if list.is_empty() { p.notice { (t(lang, "no_cards_for_phone")) } }
                @else {
                    p.k { (t(lang, "press_digit")) }
                    table #found {
                        thead { tr { th { "#" } th { (t(lang, "card_number")) } th { (t(lang, "holder")) }
                                     th { (t(lang, "kind")) } th { (t(lang, "status")) } th.num { (t(lang, "balance")) } } }
                        tbody {
                            @for (i, card) in list.iter().enumerate() {
                                @let key = (i < 9).then(|| (i + 1).to_string());
                                tr {
                                    td { @if let Some(k) = &key { kbd { (k) } } }
                                    td { a href={"/cards/" (card.number)} accesskey=[key.as_deref()] { (card.number) } }
                                    td.data { (card.holder_name.clone().unwrap_or_default()) }
                                    td { (word(lang, card.kind.as_str())) }
                                    td class={"status-" (card.status.as_str())} { (word(lang, card.status.as_str())) }
                                    td.num { (card.balance) }
                                }
                            }
                        }
                    }
                }
            },
        )
        .into_response(),
        Err(e) => search_refused(&c, &q.q, &e),
    }
}

fn search_refused(c: &Cashier, typed: &str, e: &AppError) -> Response {
    let lang = c.lang;
    (
        e.code.status(),
        page(
            lang,
            t(lang, "search"),
            Some(&c.actor),
            html! {
                h1 { (t(lang, "search")) }
                (error_box(lang, e))
                (search_box(lang, typed))
            },
        ),
    )
        .into_response()
}

/// What the cashier typed into a money form that was refused, shown again
/// so nothing is typed twice — never the PIN.
#[derive(Default)]
pub(super) struct Typed {
    /// `recharge` or `sale`: the form the values and the refusal belong to.
    pub form: &'static str,
    pub amount: String,
    pub method: String,
    pub product: String,
    pub litres: String,
    pub plate: Option<String>,
    pub odometer: String,
}

/// The card page: who holds it, what it holds, what happened to it, and the
/// forms for what the cashier does next; just after opening it, what the
/// opening earned.
pub async fn card_page(
    State(state): State<App>,
    s: Signed,
    Path(number): Path<String>,
    Query(after): Query<AfterQuery>,
) -> Response {
    if !policy::may(&s.actor, Action::Sell) {
        return office_card(&state, &s, &number, None).await;
    }
    let c = Cashier {
        actor: s.actor,
        lang: s.lang,
    };
    match card_body(&state, &c, &number, None, &Typed::default(), &after).await {
        Ok(m) => m.into_response(),
        Err(e) => (
            e.code.status(),
            page(
                c.lang,
                t(c.lang, "card"),
                Some(&c.actor),
                html! {
                    (error_box(c.lang, &e))
                    (search_box(c.lang, &number))
                },
            ),
        )
            .into_response(),
    }
}

pub(super) async fn card_body(
    state: &App,
    c: &Cashier,
    number: &str,
    err: Option<&AppError>,
    typed: &Typed,
    after: &AfterQuery,
) -> AppResult<Markup> {
    // The refusal belongs to the form that was sent.
    let sent = |form: &str| err.filter(|_| typed.form == form);
    let lang = c.lang;
    let number = cards::parse_number(number)?;
    let reads::CounterCard {
        view,
        recent,
        products,
        earned,
    } = reads::counter_card(state, &c.actor, &number, after.opened.is_some()).await?;
    let benefits = crate::actions::alliance::card_benefits(state, &c.actor, &view.number).await?;
    let names = alliance::merchant_names(
        state,
        &c.actor,
        benefits
            .iter()
            .map(|b| b.merchant.as_str())
            .chain(earned.iter().map(|g| g.merchant.as_str())),
    )
    .await;
    let notices = alliance::shown_notices(state, &c.actor, after).await;
    let key = uuid::Uuid::new_v4().to_string();
    let tz = state.settings.time_zone;
    Ok(page(
        lang,
        &view.number,
        Some(&c.actor),
        html! {
            h1 { (t(lang, "card")) " " (view.number) }
            @if let Some(e) = err { (error_box(lang, e)) }
            (alliance::earned_panel(lang, tz, &earned, &notices, &names))
            div.panel.grid {
                div { div.k { (t(lang, "balance")) } div.big #balance { "¥" (view.balance) } }
                div { div.k { (t(lang, "principal")) } div.v { (view.principal_balance) } }
                div { div.k { (t(lang, "bonus")) } div.v { (view.bonus_balance) } }
                div { div.k { (t(lang, "status")) } div class={"v status-" (view.status.as_str())} { (word(lang, view.status.as_str())) } }
                div { div.k { (t(lang, "kind")) } div.v { (word(lang, view.kind.as_str())) } }
                div { div.k { (t(lang, "holder")) } div.v.data { (view.holder_name.clone().unwrap_or_else(|| "—".into())) } }
                @if let Some(id) = view.customer_id.filter(|id| policy::permits(&c.actor, Action::ReadCustomerArchive, &policy::Target::company(*id))) {
                    div { div.k { (t(lang, "customer")) } div.v { a #customer-link href={"/customers/" (id)} { (t(lang, "customer_page")) } } }
                }
                div { div.k { (t(lang, "phone")) } div.v { (view.holder_phone.clone().unwrap_or_else(|| "—".into())) } }
                @if let Some(p) = &view.plate { div { div.k { (t(lang, "plate")) } div.v.data { (p) } } }
            }
            @if view.identity_locked {
                (identity_lock_panel(lang, &c.actor, &view.number))
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
                        div { label for="amount" { (t(lang, "amount")) }
                              input #amount name="amount" inputmode="decimal" required accesskey="r" placeholder="1000.00" value=(typed.amount) autofocus[typed.form == "recharge"];
                              (beside(lang, sent("recharge"), "amount")) }
                        div { label for="method" { (t(lang, "payment_method")) }
                            select #method name="method" {
                                @for m in ["cash", "bank_card", "transfer"] {
                                    option value=(m) selected[typed.method == m] { (t(lang, m)) }
                                }
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
                                    @if let Some(price) = price { option value=(p.code) selected[typed.product == p.code] { (text::product(lang, &p.code, &p.name)) " ¥" (price.unit_price) } }
                                }
                            }
                        }
                        div { label for="litres" { (t(lang, "litres")) }
                              input #litres name="litres" inputmode="decimal" value=(typed.litres);
                              (beside(lang, sent("sale"), "litres")) }
                        div { label for="gross" { (t(lang, "or_amount")) }
                              input #gross name="amount" inputmode="decimal" value=[(typed.form == "sale").then_some(&typed.amount)];
                              (beside(lang, sent("sale"), "amount")) }
                        @if view.has_pin { div { label for="pin" { (t(lang, "pin")) }
                              input #pin name="pin" type="password" inputmode="numeric" autocomplete="off" autofocus[at_fault(sent("sale"), "pin")];
                              (beside(lang, sent("sale"), "pin")) } }
                        div { label for="plate" { (t(lang, "plate")) }
                              input #plate name="plate" value=(typed.plate.clone().or_else(|| view.plate.clone()).unwrap_or_default());
                              (beside(lang, sent("sale"), "plate")) }
                        div { label for="odometer" { (t(lang, "odometer")) }
                              input #odometer name="odometer" inputmode="numeric" value=(typed.odometer);
                              (beside(lang, sent("sale"), "odometer")) }
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
                                td { (line.station.clone().unwrap_or_else(|| "—".into())) }
                                td.num { (line.amount) }
                                td.num { (line.balance_after) }
                            }
                        }
                    }
                }
            }
            (alliance::benefits_panel(lang, tz, &benefits, &names))
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
                @if !matches!(view.status, cards::CardStatus::Closed | cards::CardStatus::Replaced) {
                    (closure_form(lang, &c.actor, &view))
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
    /// The PIN typed, or else the document shown if a number was typed.
    fn word(&self) -> HolderWord {
        let number = self.document_number.as_deref().map(str::trim);
        HolderWord {
            pin: self.pin.clone().filter(|p| !p.is_empty()),
            identity: number.filter(|n| !n.is_empty()).map(|n| Identity {
                document_kind: self
                    .document_kind
                    .as_deref()
                    .and_then(IdKind::parse)
                    .unwrap_or(IdKind::ResidentId),
                document_number: n.to_string(),
            }),
        }
    }
}

/// Shows the card again with the refusal.
pub(super) async fn card_again(state: &App, c: &Cashier, number: &str, e: AppError) -> Response {
    card_again_typed(state, c, number, e, &Typed::default()).await
}

/// The card page again after a refused money form, with what was typed.
pub(super) async fn card_again_typed(
    state: &App,
    c: &Cashier,
    number: &str,
    e: AppError,
    typed: &Typed,
) -> Response {
    match card_body(state, c, number, Some(&e), typed, &AfterQuery::default()).await {
        Ok(m) => (e.code.status(), m).into_response(),
        Err(e2) => (
            e2.code.status(),
            page(
                c.lang,
                t(c.lang, "card"),
                Some(&c.actor),
                error_box(c.lang, &e2),
            ),
        )
            .into_response(),
    }
}

/// Runs a card-life action and shows the card again, with the refusal if
/// there was one.
async fn after(state: &App, c: &Cashier, number: &str, done: AppResult<String>) -> Response {
    match done {
        Ok(target) => Redirect::to(&format!("/cards/{target}")).into_response(),
        Err(e) => card_again(state, c, number, e).await,
    }
}

#[derive(Deserialize)]
pub struct Confirm {
    confirm: Option<String>,
}

pub async fn loss_report(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<Confirm>,
) -> Response {
    let done = async {
        if f.confirm.as_deref() != Some("yes") {
            return Err(AppError::invalid(
                "confirm",
                "confirm: the holder asks to report the card lost",
            ));
        }
        let n = cards::parse_number(&number)?;
        Ok(card_life::report_loss(&state, &c.actor, &n).await?.number)
    }
    .await;
    after(&state, &c, &number, done).await
}

pub async fn replacement(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<HolderForm>,
) -> Response {
    let done = async {
        let n = cards::parse_number(&number)?;
        let path = format!("/cards/{number}/replacement");
        let key = Keyed::new(
            &state.keys.pin,
            f.key.as_deref().unwrap_or_default(),
            "POST",
            &path,
            b"",
        );
        // The page goes to the new card, whether this request replaced the
        // card or a double click replayed the first one.
        let done = card_life::replace(&state, &c.actor, &key, &n, &f.word(), None).await?;
        Ok(done.value.number)
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
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<ConvertForm>,
) -> Response {
    let done = async {
        let n = cards::parse_number(&number)?;
        let order = card_life::Conversion {
            customer_id: None,
            customer: Some(NewCustomer {
                kind: CustomerKind::Person,
                name: f.name.clone(),
                phone: f.phone.clone().filter(|p| !p.trim().is_empty()),
                id_number: f.id_number.clone().filter(|p| !p.trim().is_empty()),
                id_kind: None,
                contact_name: None,
                address: None,
                consents: None,
            }),
            word: HolderWord {
                pin: f.pin.clone().filter(|p| !p.is_empty()),
                identity: None,
            },
            new_pin: None,
        };
        card_life::convert(&state, &c.actor, &n, order).await?;
        Ok(number.clone())
    }
    .await;
    after(&state, &c, &number, done).await
}

pub async fn unlock(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<HolderForm>,
) -> Response {
    let done = async {
        let n = cards::parse_number(&number)?;
        Ok(card_life::unlock(&state, &c.actor, &n, &f.word())
            .await?
            .number)
    }
    .await;
    after(&state, &c, &number, done).await
}

/// The closure form, by whose money the card holds: a personal or
/// anonymous card is refunded in cash on the holder's word; a company
/// sub-card's money goes back to its main card, on the holder's word too;
/// a company main card closes only on head office's or the company's fleet
/// manager's decision, so a counter sees why it cannot, not a form.
fn closure_form(lang: Lang, actor: &crate::auth::Actor, view: &cards::CardView) -> Markup {
    let main = view.kind == CardKind::CompanyMain;
    html! {
        div #closure {
            h2 { @if main { (t(lang, "close_company_account")) } @else { (t(lang, "close_card")) } }
            @if main && !policy::may(actor, Action::CloseCompanyAccount) {
                p.note #closure-head-office { (t(lang, "main_card_closure_note")) }
            } @else {
                @if main { p.note { (t(lang, "main_card_closure_note")) } }
                @if view.kind.is_sub_card() { p.note { (t(lang, "sub_card_closure_note")) } }
                form method="post" action={"/cards/" (view.number) "/closure"} {
                    input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                    @if !main { (holders_word(lang, "c", view.has_pin)) }
                    label { input type="checkbox" name="confirm" value="yes" required; " " (t(lang, "confirm_close")) }
                    button.danger type="submit" { @if main { (t(lang, "close_company_account")) } @else { (t(lang, "close_card")) } }
                }
            }
        }
    }
}

/// The closure form as posted: the holder's word and the confirmation.
#[derive(Deserialize)]
pub struct ClosureForm {
    key: Option<String>,
    pin: Option<String>,
    document_kind: Option<String>,
    document_number: Option<String>,
    confirm: Option<String>,
}

/// Closes the card and shows where its money went; a refusal (a main card
/// at the counter among them) shows the card again with it.
pub async fn closure(
    State(state): State<App>,
    c: Cashier,
    Path(number): Path<String>,
    Form(f): Form<ClosureForm>,
) -> Response {
    let done = async {
        if f.confirm.as_deref() != Some("yes") {
            return Err(AppError::invalid(
                "confirm",
                "confirm: the holder asks to close the card",
            ));
        }
        let n = cards::parse_number(&number)?;
        let path = format!("/cards/{number}/closure");
        let key = Keyed::new(
            &state.keys.pin,
            f.key.as_deref().unwrap_or_default(),
            "POST",
            &path,
            b"",
        );
        let word = HolderForm {
            key: None,
            pin: f.pin.clone(),
            document_kind: f.document_kind.clone(),
            document_number: f.document_number.clone(),
        }
        .word();
        Ok(card_life::close(&state, &c.actor, &key, &n, &word, None)
            .await?
            .value)
    }
    .await;
    match done {
        Ok(closed) => closed_page(c.lang, &c, &closed).into_response(),
        Err(e) => card_again(&state, &c, &number, e).await,
    }
}

/// Where a closed card's money went, in the counter's words: cash handed
/// over, or — a company's card — back to its main card or owed to the
/// company by bank transfer, with no cash at all.
fn closed_page(lang: Lang, c: &Cashier, closed: &life::Closed) -> Markup {
    let row = |k: &str, v: Markup| html! { tr { td { (k) } td style="text-align:right" { (v) } } };
    page(
        lang,
        t(lang, "card_closed_title"),
        Some(&c.actor),
        html! {
            div.panel #closed {
                h1 { (t(lang, "card_closed_title")) " " (closed.number) }
                table {
                    @match closed.paid_by {
                        life::PaidBy::Cash => {
                            (row(t(lang, "refunded_cash"), html! { strong #closed-refunded { "¥" (closed.refunded) } }))
                        }
                        life::PaidBy::MainCard => {
                            (row(t(lang, "moved_to_main_card"), html! {
                                @if let Some(main) = &closed.to_main_card {
                                    a #closed-main-card href={"/cards/" (main)} { (main) } " "
                                }
                                strong #closed-moved { "¥" (closed.moved_to_main_card) }
                            }))
                            (row(t(lang, "moved_bonus"), html! { "¥" (closed.moved_bonus) }))
                        }
                        life::PaidBy::BankTransfer => {
                            (row(t(lang, "payable_bank_transfer"), html! { strong #closed-payable { "¥" (closed.payable) } }))
                        }
                    }
                    @if closed.paid_by != life::PaidBy::MainCard {
                        (row(t(lang, "bonus_clawed_back"), html! { "¥" (closed.bonus_clawed_back) }))
                    }
                }
                @if closed.paid_by != life::PaidBy::Cash {
                    p.note #closed-no-cash { (t(lang, "no_cash_paid")) }
                }
                p { a href={"/cards/" (closed.number)} { (t(lang, "back_to_card")) } }
            }
        },
    )
}

pub async fn new_card_page(State(state): State<App>, c: Cashier) -> Response {
    new_card_form(&state, &c, &NewCardForm::default(), None)
        .await
        .into_response()
}

/// The card kinds a counter opens, in the order the form offers them.
const KINDS: [&str; 5] = [
    "personal",
    "anonymous",
    "company_main",
    "company_sub",
    "fleet",
];

/// The channels a customer comes through, the station itself first.
const CHANNELS: [&str; 6] = [
    "in_station",
    "flyer",
    "stand",
    "referral",
    "partner",
    "visit",
];

/// Shows each part of the form only for the kinds it belongs to (and
/// leaves it out of the post); without scripts every part is shown.
const KIND_JS: &str = r#"(function(){var k=document.getElementById('kind');function f(){document.querySelectorAll('fieldset[data-kinds]').forEach(function(s){var on=s.dataset.kinds.split(' ').indexOf(k.value)>=0;s.hidden=!on;s.disabled=!on;});}k.addEventListener('change',f);f();})();"#;

/// The new-card form: every kind a counter opens — with its holder, or
/// under a company's main card (a fleet card with its vehicle) — and the
/// channel the customer came through. A refused form comes back as typed,
/// PINs left out, with the refusal beside its field.
async fn new_card_form(
    state: &App,
    c: &Cashier,
    typed: &NewCardForm,
    err: Option<&AppError>,
) -> (axum::http::StatusCode, Markup) {
    let lang = c.lang;
    let here = |field: &str| beside(lang, err, field);
    let products = reads::products(state).await.unwrap_or_default();
    let kind = typed.kind.as_str();
    let channel = typed.channel.as_deref().unwrap_or("in_station");
    let fleet_products: Vec<&str> = typed.products.iter().map(String::as_str).collect();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let status = err.map_or(axum::http::StatusCode::OK, |e| e.code.status());
    let body = html! {
        h1 { (t(lang, "open_card")) }
        @if let Some(e) = err { (error_box(lang, e)) }
        form.panel #new-card method="post" action="/cards/new" {
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.row {
                div { label for="kind" { (t(lang, "kind")) }
                    select #kind name="kind" autofocus {
                        @for k in KINDS { option value=(k) selected[kind == k] { (t(lang, k)) } }
                    }
                    (here("kind"))
                }
            }
            fieldset #holder data-kinds="personal company_main" {
                legend { (t(lang, "station-holder_part")) }
                div.row {
                    div { label for="name" { (t(lang, "holder_name")) } input #name name="name" value=(v(&typed.name)); (here("name")) }
                    div { label for="phone" { (t(lang, "phone")) } input #phone name="phone" inputmode="tel" value=(v(&typed.phone)); (here("phone")) }
                    div { label for="idkind" { (t(lang, "document_kind")) }
                        select #idkind name="id_kind" {
                            @for k in IdKind::ALL { option value=(k.as_str()) selected[typed.id_kind.as_deref() == Some(k.as_str())] { (t(lang, k.as_str())) } }
                        }
                    }
                    div { label for="idn" { (t(lang, "id_number")) } input #idn name="id_number" autocomplete="off" value=(v(&typed.id_number)); (here("id_number")) }
                    div { label { input #share name="share_with_partners" type="checkbox" value="yes" checked[typed.share_with_partners.is_some()]; " " (t(lang, "share_with_partners")) } }
                }
            }
            fieldset #company data-kinds="company_sub fleet" {
                legend { (t(lang, "station-company_part")) }
                p.k { (t(lang, "station-company_part_hint")) }
                div.row {
                    div { label for="parent_card" { (t(lang, "station-main_card")) }
                          input #parent_card name="parent_card" inputmode="numeric" autocomplete="off" value=(v(&typed.parent_card));
                          (here("parent_card")) }
                    div { label for="parent_pin" { (t(lang, "station-main_card_pin")) }
                          input #parent_pin name="parent_pin" type="password" inputmode="numeric" autocomplete="off";
                          (here("parent_pin")) }
                }
            }
            fieldset #vehicle data-kinds="fleet" {
                legend { (t(lang, "station-vehicle_part")) }
                div.row {
                    div { label for="plate" { (t(lang, "plate")) } input #plate name="plate" value=(v(&typed.plate)); (here("plate")) }
                    div { label for="vehicle_type" { (t(lang, "station-vehicle_type")) }
                        select #vehicle_type name="vehicle_type" {
                            @for vt in crate::fleet::vehicles::VEHICLE_TYPES {
                                option value=(vt) selected[typed.vehicle_type.as_deref() == Some(vt)] { (word(lang, &format!("station-vehicle-{vt}"))) }
                            }
                        }
                    }
                    div { label for="displacement" { (t(lang, "station-displacement")) } input #displacement name="displacement" inputmode="decimal" placeholder="1.6" value=(v(&typed.displacement)); (here("displacement")) }
                    div { label for="tank_capacity" { (t(lang, "station-tank_capacity")) } input #tank_capacity name="tank_capacity" inputmode="decimal" placeholder="60" value=(v(&typed.tank_capacity)); (here("tank_capacity")) }
                    div { label for="baseline" { (t(lang, "station-baseline")) } input #baseline name="baseline_l_per_100km" inputmode="decimal" placeholder="8.5" value=(v(&typed.baseline_l_per_100km)); (here("baseline_l_per_100km")) }
                    div { label for="driver" { (t(lang, "station-driver")) } input #driver name="default_driver" value=(v(&typed.default_driver)); }
                    div style="flex-basis:100%" {
                        span.k { (t(lang, "station-products_taken")) }
                        @for (p, _) in &products {
                            label style="display:inline-block;margin-right:1rem" { input type="checkbox" name="products" value=(p.code) checked[fleet_products.contains(&p.code.as_str())]; " " (text::product(lang, &p.code, &p.name)) }
                        }
                        (here("products"))
                    }
                }
            }
            fieldset #card-pin data-kinds="personal anonymous company_main company_sub fleet" {
                legend { (t(lang, "pin")) }
                div.row {
                    div { label for="pin" { (t(lang, "station-new_card_pin")) } input #pin name="pin" type="password" inputmode="numeric" autocomplete="off"; (here("pin")) }
                }
            }
            fieldset #channel data-kinds="personal anonymous company_main company_sub fleet" {
                legend { (t(lang, "station-channel")) }
                div.row {
                    div { label for="channel_kind" { (t(lang, "station-channel_kind")) }
                        select #channel_kind name="channel" {
                            @for ch in CHANNELS { option value=(ch) selected[channel == ch] { (super::station::channel_word(lang, ch)) } }
                        }
                    }
                    div { label for="channel_ref" { (t(lang, "station-channel_ref")) }
                          input #channel_ref name="channel_ref" autocomplete="off" value=(v(&typed.channel_ref));
                          span.k { (t(lang, "station-channel_ref_hint")) }
                          (here("channel")) }
                }
            }
            button.primary type="submit" { (t(lang, "open")) " " kbd { "Enter" } }
        }
        script { (maud::PreEscaped(KIND_JS)) }
    };
    (
        status,
        page(lang, t(lang, "open_card"), Some(&c.actor), body),
    )
}

#[derive(Deserialize, Default)]
pub struct NewCardForm {
    /// Made when the form was shown: a double click opens one card.
    #[serde(default)]
    key: String,
    #[serde(default)]
    kind: String,
    name: Option<String>,
    phone: Option<String>,
    id_kind: Option<String>,
    id_number: Option<String>,
    pin: Option<String>,
    /// The consent checkbox: present when ticked.
    share_with_partners: Option<String>,
    /// A sub-card's or fleet card's company main card, and its PIN.
    parent_card: Option<String>,
    parent_pin: Option<String>,
    /// A fleet card's vehicle.
    plate: Option<String>,
    vehicle_type: Option<String>,
    displacement: Option<String>,
    tank_capacity: Option<String>,
    baseline_l_per_100km: Option<String>,
    default_driver: Option<String>,
    #[serde(default)]
    products: Vec<String>,
    /// How the customer came, and what brought them.
    channel: Option<String>,
    channel_ref: Option<String>,
}

/// The card-opening order the form makes, as the API's `open_card` makes
/// it from its body.
fn open_order(f: &NewCardForm) -> AppResult<card_life::OpenCard> {
    let invalid = |field: &str| AppError::invalid(field, field.to_string());
    let kind = CardKind::parse(&f.kind)
        .filter(|k| KINDS.contains(&k.as_str()))
        .ok_or_else(|| invalid("kind"))?;
    let under_main = kind.is_sub_card();
    let holder = matches!(kind, CardKind::Personal | CardKind::CompanyMain).then(|| NewCustomer {
        kind: if kind == CardKind::CompanyMain {
            CustomerKind::Company
        } else {
            CustomerKind::Person
        },
        name: f.name.clone().unwrap_or_default(),
        phone: given(f.phone.as_deref()),
        id_number: given(f.id_number.as_deref()),
        id_kind: f.id_kind.as_deref().and_then(IdKind::parse),
        contact_name: None,
        address: None,
        consents: Some(crate::cards::customers::Consents {
            share_with_partners: f.share_with_partners.is_some(),
            ..Default::default()
        }),
    });
    let parent = match (under_main, given(f.parent_card.as_deref())) {
        (true, Some(n)) => {
            Some(cards::parse_number(&n).map_err(|e| e.with("field", "parent_card"))?)
        }
        (true, None) => return Err(invalid("parent_card")),
        (false, _) => None,
    };
    let fleet = kind == CardKind::Fleet;
    let vehicle = fleet.then(|| crate::fleet::vehicles::VehicleInput {
        plate: f.plate.clone().unwrap_or_default(),
        vehicle_type: f.vehicle_type.clone().unwrap_or_default(),
        displacement: f.displacement.clone().unwrap_or_default(),
        products: f.products.clone(),
        tank_capacity: f.tank_capacity.clone().unwrap_or_default(),
        baseline_l_per_100km: f.baseline_l_per_100km.clone().unwrap_or_default(),
        department: None,
        default_driver: given(f.default_driver.as_deref()),
        max_sale_litres: None,
        max_sale_amount: None,
        max_day_litres: None,
        max_day_amount: None,
        allowed_hours: None,
        allowed_stations: None,
        controls: Default::default(),
    });
    let channel = match f.channel.as_deref().unwrap_or("in_station") {
        "in_station" => None,
        other => Some(
            serde_json::from_value::<crate::cards::openings::Channel>(serde_json::json!({
                "kind": other,
                "ref": given(f.channel_ref.as_deref()),
            }))
            .map_err(|_| invalid("channel"))?,
        ),
    };
    Ok(card_life::OpenCard {
        kind,
        customer_id: None,
        customer: holder,
        parent,
        parent_pin: if under_main {
            f.parent_pin.clone().filter(|p| !p.is_empty())
        } else {
            None
        },
        plate: if fleet {
            given(f.plate.as_deref())
        } else {
            None
        },
        pin: f.pin.clone().filter(|p| !p.is_empty()),
        station: None,
        vehicle,
        channel,
    })
}

/// The posted form: one value a field, the ticked products a list.
fn new_card_fields(raw: &[u8]) -> NewCardForm {
    let mut map = serde_json::Map::new();
    let mut products = Vec::new();
    for (k, v) in form_urlencoded::parse(raw) {
        if k == "products" {
            products.push(serde_json::Value::String(v.into_owned()));
        } else {
            map.insert(k.into_owned(), serde_json::Value::String(v.into_owned()));
        }
    }
    map.insert("products".into(), serde_json::Value::Array(products));
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

pub async fn new_card(
    State(state): State<App>,
    c: Cashier,
    axum::extract::RawForm(raw): axum::extract::RawForm,
) -> Response {
    let f = new_card_fields(&raw);
    let done: AppResult<String> = async {
        let order = open_order(&f)?;
        let form = format!(
            "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            f.kind,
            f.name,
            f.phone,
            f.id_kind,
            f.id_number,
            f.parent_card,
            f.plate,
            f.vehicle_type,
            f.channel,
            f.channel_ref
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            "/cards/new",
            form.as_bytes(),
        );
        let done = card_life::open(&state, &c.actor, Some(&key), order).await?;
        Ok(opened_page(&done.value))
    }
    .await;
    match done {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(e) => {
            // A vehicle's refusal names its own field; a wrong main-card PIN
            // is the main card's.
            use crate::error::Code::*;
            let under_main = f.kind == "company_sub" || f.kind == "fleet";
            let e = match e.code {
                _ if !under_main => e,
                WrongPin | PinLocked | PinRequired | CompanyConsentRequired => {
                    with_field(e, "parent_pin")
                }
                CardNotFound | InvalidCardNumber => with_field(e, "parent_card"),
                _ => e,
            };
            new_card_form(&state, &c, &f, Some(&e))
                .await
                .into_response()
        }
    }
}

/// The card page a new card goes to: it shows what the opening earned, and
/// what it could not grant.
fn opened_page(card: &cards::CardView) -> String {
    let notices = alliance::notices_query(&card.notices)
        .map(|q| format!("&{q}"))
        .unwrap_or_default();
    format!("/cards/{}?opened=1{notices}", card.number)
}

// ------------------------------------------------- the lock against documents

/// A card locked against ID documents: what the counter is told (its PIN
/// still speaks for the holder; head office unlocks it), and head office's
/// button to unlock it, for the roles that may.
fn identity_lock_panel(lang: Lang, actor: &crate::auth::Actor, number: &str) -> Markup {
    html! {
        div.panel #identity-lock {
            p.error #identity-locked role="status" { strong { (t(lang, "identity_locked")) } " " (t(lang, "identity_locked_note")) }
            @if policy::may(actor, Action::UnlockIdentity) {
                form method="post" action={"/cards/" (number) "/identity-unlock"} {
                    button.primary #identity-unlock type="submit" accesskey="i" { (t(lang, "identity_unlock")) }
                }
            }
        }
    }
}

/// The card as head office reads it: it sells nothing, so no till forms
/// and no balance — its status, and whether it is locked against ID
/// documents, with the button that unlocks it. Any other role that sells
/// nothing is told the card page is the counter's, with 403.
async fn office_card(state: &App, s: &Signed, number: &str, err: Option<&AppError>) -> Response {
    let lang = s.lang;
    if !policy::may(&s.actor, Action::UnlockIdentity) {
        return refused(lang, &s.actor, "not_counter_role");
    }
    let shown: AppResult<Markup> = async {
        let number = cards::parse_number(number)?;
        let view = reads::card(state, &s.actor, &number).await?;
        Ok(html! {
            h1 { (t(lang, "card")) " " (view.number) }
            p.notice { (t(lang, "not_counter_role")) }
            @if let Some(e) = err { (error_box(lang, e)) }
            div.panel.grid {
                div { div.k { (t(lang, "status")) } div class={"v status-" (view.status.as_str())} { (word(lang, view.status.as_str())) } }
                div { div.k { (t(lang, "kind")) } div.v { (word(lang, view.kind.as_str())) } }
                @if let Some(id) = view.customer_id.filter(|id| policy::permits(&s.actor, Action::ReadCustomerArchive, &policy::Target::company(*id))) {
                    div { div.k { (t(lang, "customer")) } div.v { a #customer-link href={"/customers/" (id)} { (t(lang, "customer_page")) } } }
                }
            }
            @if view.identity_locked {
                (identity_lock_panel(lang, &s.actor, &view.number))
            } @else {
                p.k #identity-open { (t(lang, "identity_not_locked")) }
            }
        })
    }
    .await;
    match (shown, err) {
        (Ok(body), None) => page(lang, t(lang, "card"), Some(&s.actor), body).into_response(),
        (Ok(body), Some(e)) => (
            e.code.status(),
            page(lang, t(lang, "card"), Some(&s.actor), body),
        )
            .into_response(),
        (Err(e), _) => (
            e.code.status(),
            page(lang, t(lang, "card"), Some(&s.actor), error_box(lang, &e)),
        )
            .into_response(),
    }
}

/// Head office lifts a card's lock against ID documents:
/// [`card_life::identity_unlock`], as
/// `POST /api/v1/cards/{number}/identity-unlock`; the card again.
pub async fn identity_unlock(
    State(state): State<App>,
    s: Signed,
    Path(number): Path<String>,
) -> Response {
    let done = async {
        let n = cards::parse_number(&number)?;
        card_life::identity_unlock(&state, &s.actor, &n).await
    }
    .await;
    match done {
        Ok(_) => Redirect::to(&format!("/cards/{number}")).into_response(),
        Err(e) if policy::may(&s.actor, Action::Sell) => {
            let c = Cashier {
                actor: s.actor,
                lang: s.lang,
            };
            card_again(&state, &c, &number, e).await
        }
        Err(e) => office_card(&state, &s, &number, Some(&e)).await,
    }
}

// ---------------------------------------------------------- one's own password

#[derive(Deserialize)]
pub struct PasswordQuery {
    changed: Option<String>,
}

/// The fields of the password form; no password is ever written back.
fn password_form(lang: Lang, err: Option<&AppError>, changed: bool) -> Markup {
    let at = err.and_then(field_of);
    let first = at.unwrap_or("current_password");
    let field = |name: &'static str, label: &'static str, complete: &'static str| {
        html! {
            label for=(name) { (t(lang, label)) }
            input id=(name) name=(name) type="password" required autocomplete=(complete)
                autofocus[first == name] aria-invalid=[(at == Some(name)).then_some("true")];
            (beside(lang, err, name))
        }
    };
    html! {
        div.panel style="max-width:28rem" {
            h1 { (t(lang, "change_password")) }
            @if changed { p.ok #password-changed role="status" { (t(lang, "password_changed")) } }
            @if let Some(e) = err { (error_box(lang, e)) }
            form #password-form method="post" action="/me/password" {
                (field("current_password", "current_password", "current-password"))
                (field("new_password", "new_password", "new-password"))
                (field("new_password_again", "new_password_again", "new-password"))
                p.k { (t(lang, "password_rule")) }
                div { button.primary type="submit" { (t(lang, "change_password")) } }
            }
        }
    }
}

/// Every user's own password: the form.
pub async fn password_page(s: Signed, Query(q): Query<PasswordQuery>) -> Markup {
    let lang = s.lang;
    page(
        lang,
        t(lang, "change_password"),
        Some(&s.actor),
        password_form(lang, None, q.changed.is_some()),
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

/// Changes one's own password: [`crate::actions::users::change_password`],
/// as `POST /api/v1/me/password`. The user's other sessions end; this one
/// goes on.
pub async fn change_password(
    State(state): State<App>,
    headers: HeaderMap,
    s: Signed,
    Form(f): Form<PasswordForm>,
) -> Response {
    let lang = s.lang;
    let done = async {
        if f.new_password != f.new_password_again {
            return Err(AppError::invalid(
                "new_password_again",
                "new_password_again: the new password typed twice differs",
            ));
        }
        let token = crate::http::extract::cookie(&headers, crate::http::extract::SESSION_COOKIE)
            .unwrap_or_default();
        let change = crate::actions::users::PasswordChange {
            current_password: f.current_password.clone(),
            new_password: f.new_password.clone(),
        };
        crate::actions::users::change_password(&state, &s.actor, &token, &change).await
    }
    .await;
    match done {
        Ok(()) => Redirect::to("/me/password?changed=1").into_response(),
        Err(e) => (
            e.code.status(),
            page(
                lang,
                t(lang, "change_password"),
                Some(&s.actor),
                password_form(lang, Some(&e), false),
            ),
        )
            .into_response(),
    }
}

//! The administrator's pages: users and their roles and scopes, stations and
//! districts, products and prices, promotions, pump terminals and the audit
//! log — over the actions the API uses.
//!
//! Each form posts to the page path that mirrors its API path without
//! `/api/v1` (`POST /api/v1/users` → `POST /users`) and calls the API's
//! action; a refusal shows the page again with what was typed (never a
//! password) and the refusal beside the field it is about.

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::form::{at_fault, beside, given};
use super::text::{self, tr, word};
use super::{
    Lang, Signed, csv_or_refusal, data, encoded, error_box, page, render, render_refused, t,
};
use crate::actions::admin::{
    self as act, AuditQuery, GiftBody, PriceBody, PromotionBody, TierBody,
};
use crate::actions::users::{self, NewUserBody, PasswordReset, UserQuery};
use crate::actions::{App, At, Keyed};
use crate::auth::policy::{self, Action, ROLES};
use crate::auth::{Actor, Role};
use crate::cards::CardKind;
use crate::error::{AppError, AppResult};

/// The room's page routes, merged into the pages' router.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/administration", get(home))
        .route("/users", get(users_page).post(add_user))
        .route("/users/{username}/deactivation", post(deactivate_user))
        .route("/users/{username}/password", post(reset_password))
        .route("/stations", get(stations_page).post(add_station))
        .route("/districts", get(stations_page).post(add_district))
        .route(
            "/stations/{code}/terminals",
            get(terminals_page).post(register_terminal),
        )
        .route("/products", get(products_page))
        .route("/products/{code}/price", post(set_price))
        .route("/promotions", get(promotions_page).post(add_promotion))
        .route("/audit", get(audit_page))
        .route("/audit.csv", get(audit_csv))
}

/// The administrator: these pages are theirs; anyone else is refused them.
pub struct Administrator {
    pub actor: Actor,
    pub lang: Lang,
}

impl FromRequestParts<App> for Administrator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let s = Signed::from_request_parts(parts, state).await?;
        if policy::may(&s.actor, Action::ManageUsers) {
            Ok(Administrator {
                actor: s.actor,
                lang: s.lang,
            })
        } else {
            Err(super::refused(s.lang, &s.actor, "adm-not_admin"))
        }
    }
}

/// Lines on a page of a list.
const PAGE: i64 = 50;

/// The "done" line a list shows after a form succeeded.
#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    who: Option<String>,
}

fn done_box(lang: Lang, d: &Done) -> Markup {
    let key = match d.done.as_deref() {
        Some("user_added") => "adm-done-user_added",
        Some("user_deactivated") => "adm-done-user_deactivated",
        Some("password_reset") => "adm-done-password_reset",
        Some("station_added") => "adm-done-station_added",
        Some("district_added") => "adm-done-district_added",
        Some("terminal_registered") => "adm-done-terminal_registered",
        Some("price_set") => "adm-done-price_set",
        Some("promotion_added") => "adm-done-promotion_added",
        _ => return html! {},
    };
    html! {
        p.ok #done role="status" {
            (word(lang, key))
            @if let Some(who) = &d.who { " " (data(who)) }
        }
    }
}

fn back(lang: Lang) -> Markup {
    html! { p.noprint { a href="/administration" accesskey="a" { "← " (t(lang, "adm-administration")) } } }
}

fn role_word(lang: Lang, role: Role) -> String {
    word(lang, &format!("adm-role-{}", role.as_str()))
}

/// The administration home: every task, each a link.
pub async fn home(a: Administrator) -> Response {
    let lang = a.lang;
    let may = |action| policy::may(&a.actor, action);
    let body = html! {
        h1 { (t(lang, "adm-administration")) }
        section.panel {
            ul #tasks {
                @if may(Action::ManageUsers) {
                    li { a href="/users" accesskey="u" { (t(lang, "adm-users")) } " — " (t(lang, "adm-users-what")) }
                }
                @if may(Action::ManageStations) {
                    li { a href="/stations" accesskey="s" { (t(lang, "adm-stations")) } " — " (t(lang, "adm-stations-what")) }
                }
                @if may(Action::ManagePricing) {
                    li { a href="/products" accesskey="p" { (t(lang, "adm-products")) } " — " (t(lang, "adm-products-what")) }
                    li { a href="/promotions" accesskey="o" { (t(lang, "adm-promotions")) } " — " (t(lang, "adm-promotions-what")) }
                }
                @if may(Action::ManageTerminals) {
                    li { a href="/stations" { (t(lang, "adm-terminals")) } " — " (t(lang, "adm-terminals-what")) }
                }
                @if may(Action::Audit) {
                    li { a href="/audit" accesskey="l" { (t(lang, "adm-audit")) } " — " (t(lang, "adm-audit-what")) }
                }
            }
        }
    };
    page(lang, t(lang, "adm-administration"), Some(&a.actor), body).into_response()
}

// ---------------------------------------------------------------- users

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    role: Option<String>,
    station: Option<String>,
    page: Option<i64>,
    #[serde(flatten)]
    done: Done,
}

/// What was typed into the new user form (the password is never kept).
#[derive(Deserialize, Default)]
pub struct UserForm {
    key: String,
    username: String,
    #[serde(default)]
    password: String,
    role: String,
    station: Option<String>,
    district: Option<String>,
    company_id: Option<String>,
    merchant: Option<String>,
}

pub async fn users_page(
    State(state): State<App>,
    a: Administrator,
    Query(q): Query<UsersQuery>,
) -> Response {
    let body = users_body(&state, &a, &q, &UserForm::default(), None).await;
    render(a.lang, &a.actor, t(a.lang, "adm-users"), body)
}

async fn users_body(
    state: &App,
    a: &Administrator,
    q: &UsersQuery,
    typed: &UserForm,
    err: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = a.lang;
    let page_no = q.page.unwrap_or(1).max(1);
    let role = given(q.role.as_deref()).and_then(|r| Role::parse(&r));
    let station = given(q.station.as_deref());
    let query = UserQuery {
        role,
        station: station.clone(),
        limit: Some(PAGE + 1),
        offset: Some((page_no - 1) * PAGE),
    };
    let mut list = users::list(state, &a.actor, &query).await?;
    let more = list.len() as i64 > PAGE;
    list.truncate(PAGE as usize);
    let stations = act::list_stations(state, &a.actor).await?;
    let districts = act::list_districts(state, &a.actor).await?;
    let filter = |p: i64| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(r) = role {
            s.append_pair("role", r.as_str());
        }
        if let Some(st) = &station {
            s.append_pair("station", st);
        }
        s.append_pair("page", &p.to_string());
        format!("/users?{}", s.finish())
    };
    let may_reset = policy::may(&a.actor, Action::ResetPasswords);
    let new_role = Role::parse(&typed.role);
    Ok(html! {
        (back(lang))
        h1 { (t(lang, "adm-users")) }
        (done_box(lang, &q.done))
        @if let Some(e) = err { (error_box(lang, e)) }
        form.panel.noprint #user-filter method="get" action="/users" {
            div.row {
                div { label for="f-role" { (t(lang, "adm-role")) }
                    select #f-role name="role" {
                        option value="" { (t(lang, "adm-any")) }
                        @for r in ROLES { option value=(r.as_str()) selected[role == Some(r)] { (role_word(lang, r)) } }
                    }
                }
                div { label for="f-station" { (t(lang, "station")) }
                    select #f-station name="station" {
                        option value="" { (t(lang, "adm-any")) }
                        @for s in &stations { option.data value=(s.code) selected[station.as_deref() == Some(s.code.as_str())] { (s.code) " " (s.name) } }
                    }
                }
                button.secondary type="submit" { (t(lang, "adm-filter")) }
            }
        }
        section.panel {
            table #users {
                thead { tr {
                    th { (t(lang, "username")) } th { (t(lang, "adm-role")) } th { (t(lang, "adm-scope")) }
                    th { (t(lang, "adm-state")) } th.noprint { (t(lang, "adm-do")) }
                } }
                tbody {
                    @for u in &list {
                        tr #{"user-" (u.username)} {
                            td.data { (u.username) }
                            td { (role_word(lang, u.role)) }
                            td {
                                @if let Some(s) = &u.station { (t(lang, "station")) " " span.code { (s) } }
                                @if let Some(d) = &u.district { (t(lang, "adm-district")) " " (data(d)) }
                                @if let Some(c) = u.company_id { (t(lang, "adm-company")) " " span.code { (c) } }
                                @if let Some(m) = &u.merchant { (t(lang, "merchant")) " " span.code { (m) } }
                            }
                            td { @if u.active { (t(lang, "adm-active")) } @else { strong.status-closed { (t(lang, "adm-inactive")) } } }
                            td.noprint {
                                @if u.active && u.username != a.actor.username {
                                    div.row {
                                        @if may_reset {
                                            form method="post" action={"/users/" (u.username) "/password"} {
                                                label for={"pw-" (u.id)} { (t(lang, "adm-new_password")) }
                                                input #{"pw-" (u.id)} type="password" name="new_password" autocomplete="new-password" minlength="8" required;
                                                " " button.secondary type="submit" { (t(lang, "adm-reset_password")) }
                                            }
                                        }
                                        form method="post" action={"/users/" (u.username) "/deactivation"} {
                                            button.danger type="submit" { (t(lang, "adm-deactivate")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if list.is_empty() { p.k { (t(lang, "adm-none")) } }
            p.noprint {
                @if page_no > 1 { a #prev href=(filter(page_no - 1)) { "← " (t(lang, "adm-previous")) } " " }
                span.k { (tr(lang, "adm-page", &[("page", page_no.into())])) }
                @if more { " " a #next href=(filter(page_no + 1)) { (t(lang, "adm-next")) " →" } }
            }
        }
        form.panel #new-user method="post" action="/users" {
            h2 { (t(lang, "adm-add_user")) }
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.row {
                div { label for="username" { (t(lang, "username")) }
                    input #username name="username" value=(typed.username) required autocomplete="off" autofocus[err.is_none() || at_fault(err, "username")];
                    (beside(lang, err, "username")) }
                div { label for="password" { (t(lang, "password")) }
                    input #password type="password" name="password" required minlength="8" autocomplete="new-password" autofocus[at_fault(err, "password")];
                    (beside(lang, err, "password")) }
                div { label for="role" { (t(lang, "adm-role")) }
                    select #role name="role" {
                        @for r in ROLES { option value=(r.as_str()) selected[new_role == Some(r)] { (role_word(lang, r)) } }
                    }
                }
            }
            p.k { (t(lang, "adm-scope-hint")) }
            div.row {
                div { label for="station" { (t(lang, "station")) " " span.k { (t(lang, "adm-for-station")) } }
                    select #station name="station" autofocus[at_fault(err, "station")] {
                        option value="" { "—" }
                        @for s in &stations { option.data value=(s.code) selected[typed.station.as_deref() == Some(s.code.as_str())] { (s.code) " " (s.name) } }
                    }
                    (beside(lang, err, "station")) }
                div { label for="district" { (t(lang, "adm-district")) " " span.k { (t(lang, "adm-for-district")) } }
                    select #district name="district" autofocus[at_fault(err, "district")] {
                        option value="" { "—" }
                        @for d in &districts { option.data value=(d.code) selected[typed.district.as_deref() == Some(d.code.as_str())] { (d.name) } }
                    }
                    (beside(lang, err, "district")) }
                div { label for="company_id" { (t(lang, "adm-company")) " " span.k { (t(lang, "adm-for-company")) } }
                    input #company_id name="company_id" inputmode="numeric" value=(typed.company_id.clone().unwrap_or_default()) autofocus[at_fault(err, "company_id")];
                    (beside(lang, err, "company_id")) }
                div { label for="merchant" { (t(lang, "merchant")) " " span.k { (t(lang, "adm-for-merchant")) } }
                    input #merchant name="merchant" value=(typed.merchant.clone().unwrap_or_default()) autofocus[at_fault(err, "merchant")];
                    (beside(lang, err, "merchant")) }
            }
            button.primary #add-user type="submit" { (t(lang, "adm-add_user")) }
        }
    })
}

/// Adds a user from the form: the scope the role needs, and only that.
pub async fn add_user(
    State(state): State<App>,
    a: Administrator,
    Form(f): Form<UserForm>,
) -> Response {
    let done: AppResult<String> = async {
        let role = Role::parse(&f.role)
            .ok_or_else(|| AppError::invalid("role", "role: one of the roles"))?;
        let company_id =
            match (role, given(f.company_id.as_deref())) {
                (Role::FleetManager, Some(c)) => Some(c.parse::<i64>().map_err(|_| {
                    AppError::invalid("company_id", "company_id: a customer number")
                })?),
                _ => None,
            };
        let new = NewUserBody {
            username: f.username.trim().to_string(),
            password: f.password.clone(),
            role,
            station: given(f.station.as_deref())
                .filter(|_| matches!(role, Role::Cashier | Role::StationManager)),
            company_id,
            merchant: given(f.merchant.as_deref()).filter(|_| role == Role::Merchant),
            district: given(f.district.as_deref()).filter(|_| role == Role::DistrictManager),
        };
        let described = format!(
            "{}|{}|{:?}|{:?}|{:?}|{:?}",
            new.username,
            role.as_str(),
            new.station,
            new.company_id,
            new.merchant,
            new.district
        );
        let key = Keyed::new(
            &state.keys.pin,
            &f.key,
            "POST",
            "/users",
            described.as_bytes(),
        );
        let at = At {
            actor: &a.actor,
            now: state.now(),
        };
        let done = users::add(&state.db, at, Some(&key), &new).await?;
        Ok(done.value.username)
    }
    .await;
    match done {
        Ok(name) => {
            Redirect::to(&format!("/users?done=user_added&who={}", encoded(&name))).into_response()
        }
        Err(e) => {
            let body = users_body(&state, &a, &UsersQuery::default(), &f, Some(&e)).await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-users"), &e, body)
        }
    }
}

/// Deactivates a user from their row.
pub async fn deactivate_user(
    State(state): State<App>,
    a: Administrator,
    Path(username): Path<String>,
) -> Response {
    match users::deactivate(&state, &a.actor, &username).await {
        Ok(_) => Redirect::to(&format!(
            "/users?done=user_deactivated&who={}",
            encoded(&username)
        ))
        .into_response(),
        Err(e) => {
            let body = users_body(
                &state,
                &a,
                &UsersQuery::default(),
                &UserForm::default(),
                Some(&e),
            )
            .await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-users"), &e, body)
        }
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    new_password: String,
}

/// Gives a user a new password from their row.
pub async fn reset_password(
    State(state): State<App>,
    a: Administrator,
    Path(username): Path<String>,
    Form(f): Form<ResetForm>,
) -> Response {
    let reset = PasswordReset {
        new_password: f.new_password,
    };
    match users::reset_password(&state, &a.actor, &username, &reset).await {
        Ok(_) => Redirect::to(&format!(
            "/users?done=password_reset&who={}",
            encoded(&username)
        ))
        .into_response(),
        Err(e) => {
            let body = users_body(
                &state,
                &a,
                &UsersQuery::default(),
                &UserForm::default(),
                Some(&e),
            )
            .await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-users"), &e, body)
        }
    }
}

// ------------------------------------------------- stations and districts

#[derive(Deserialize, Default)]
pub struct StationForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    key: String,
}

/// Which form a refusal on the stations page belongs to.
#[derive(PartialEq, Eq, Clone, Copy)]
enum StationsForm {
    None,
    Station,
    District,
}

pub async fn stations_page(
    State(state): State<App>,
    a: Administrator,
    Query(d): Query<Done>,
) -> Response {
    let body = stations_body(
        &state,
        &a,
        &d,
        StationsForm::None,
        &StationForm::default(),
        None,
    )
    .await;
    render(a.lang, &a.actor, t(a.lang, "adm-stations"), body)
}

async fn stations_body(
    state: &App,
    a: &Administrator,
    d: &Done,
    form: StationsForm,
    typed: &StationForm,
    err: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = a.lang;
    let stations = act::list_stations(state, &a.actor).await?;
    let districts = act::list_districts(state, &a.actor).await?;
    let terminals = policy::may(&a.actor, Action::ManageTerminals);
    let station_err = err.filter(|_| form == StationsForm::Station);
    let district_err = err.filter(|_| form == StationsForm::District);
    let typed_in = |f: StationsForm, v: &str| {
        if form == f {
            v.to_string()
        } else {
            String::new()
        }
    };
    Ok(html! {
        (back(lang))
        h1 { (t(lang, "adm-stations")) }
        (done_box(lang, d))
        @if let Some(e) = err { (error_box(lang, e)) }
        section.panel {
            table #stations {
                thead { tr { th { (t(lang, "adm-code")) } th { (t(lang, "name")) } th { (t(lang, "adm-district")) }
                             @if terminals { th.noprint { (t(lang, "adm-terminals")) } } } }
                tbody {
                    @for s in &stations {
                        tr #{"station-" (s.code)} {
                            td.code { (s.code) } td.data { (s.name) } td.data { (s.district) }
                            @if terminals { td.noprint { a href={"/stations/" (s.code) "/terminals"} { (t(lang, "adm-terminals")) } } }
                        }
                    }
                }
            }
        }
        @if policy::may(&a.actor, Action::ManageStations) {
            form.panel #new-station method="post" action="/stations" {
                h2 { (t(lang, "adm-add_station")) }
                div.row {
                    div { label for="s-code" { (t(lang, "adm-code")) }
                        input #s-code name="code" required maxlength="16" value=(typed_in(StationsForm::Station, &typed.code)) autofocus[station_err.is_some() && !at_fault(station_err, "name")];
                        (beside(lang, station_err, "code")) }
                    div { label for="s-name" { (t(lang, "name")) }
                        input #s-name name="name" required maxlength="100" value=(typed_in(StationsForm::Station, &typed.name));
                        (beside(lang, station_err, "name")) }
                    div { label for="s-district" { (t(lang, "adm-district")) }
                        select #s-district name="district" {
                            option value="" { "—" }
                            @for di in &districts { option.data value=(di.code) selected[form == StationsForm::Station && typed.district == di.code] { (di.name) } }
                        }
                        (beside(lang, station_err, "district")) }
                    button.primary type="submit" { (t(lang, "adm-add_station")) }
                }
            }
        }
        section.panel {
            h2 { (t(lang, "adm-districts")) }
            table #districts {
                thead { tr { th { (t(lang, "adm-code")) } th { (t(lang, "name")) } th.num { (t(lang, "adm-station_count")) } } }
                tbody {
                    @for di in &districts {
                        tr { td.data { (di.code) } td.data { (di.name) }
                             td.num { (stations.iter().filter(|s| s.district == di.code).count()) } }
                    }
                }
            }
        }
        @if policy::may(&a.actor, Action::ManageDistricts) {
            form.panel #new-district method="post" action="/districts" {
                h2 { (t(lang, "adm-add_district")) }
                input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
                div.row {
                    div { label for="d-code" { (t(lang, "adm-code")) }
                        input #d-code name="code" required maxlength="100" value=(typed_in(StationsForm::District, &typed.code)) autofocus[at_fault(district_err, "code")];
                        (beside(lang, district_err, "code")) }
                    div { label for="d-name" { (t(lang, "name")) }
                        input #d-name name="name" required maxlength="100" value=(typed_in(StationsForm::District, &typed.name)) autofocus[at_fault(district_err, "name")];
                        (beside(lang, district_err, "name")) }
                    button.primary type="submit" { (t(lang, "adm-add_district")) }
                }
            }
        }
    })
}

pub async fn add_station(
    State(state): State<App>,
    a: Administrator,
    Form(f): Form<StationForm>,
) -> Response {
    let new = act::NewStation {
        code: f.code.trim().to_string(),
        name: f.name.clone(),
        district: f.district.clone(),
    };
    match act::add_station(&state, &a.actor, &new).await {
        Ok(s) => Redirect::to(&format!(
            "/stations?done=station_added&who={}",
            encoded(&s.code)
        ))
        .into_response(),
        Err(e) => {
            let body = stations_body(
                &state,
                &a,
                &Done::default(),
                StationsForm::Station,
                &f,
                Some(&e),
            )
            .await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-stations"), &e, body)
        }
    }
}

pub async fn add_district(
    State(state): State<App>,
    a: Administrator,
    Form(f): Form<StationForm>,
) -> Response {
    let form = format!("{}|{}", f.code, f.name);
    let key = Keyed::new(
        &state.keys.pin,
        &f.key,
        "POST",
        "/districts",
        form.as_bytes(),
    );
    let done = crate::actions::acquisition::add_district(
        &state,
        &a.actor,
        Some(&key).filter(|k| !k.key.is_empty()),
        &f.code,
        &f.name,
    )
    .await;
    match done {
        Ok(d) => Redirect::to(&format!(
            "/stations?done=district_added&who={}",
            encoded(&d.value.name)
        ))
        .into_response(),
        Err(e) => {
            let body = stations_body(
                &state,
                &a,
                &Done::default(),
                StationsForm::District,
                &f,
                Some(&e),
            )
            .await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-stations"), &e, body)
        }
    }
}

// ---------------------------------------------------------- terminals

#[derive(Deserialize, Default)]
pub struct TerminalForm {
    #[serde(default)]
    terminal: String,
}

pub async fn terminals_page(
    State(state): State<App>,
    a: Administrator,
    Path(code): Path<String>,
    Query(d): Query<Done>,
) -> Response {
    let body = terminals_body(&state, &a, &code, &d, "", None).await;
    render(a.lang, &a.actor, t(a.lang, "adm-terminals"), body)
}

async fn terminals_body(
    state: &App,
    a: &Administrator,
    code: &str,
    d: &Done,
    typed: &str,
    err: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = a.lang;
    let (station, list) = act::terminals(state, &a.actor, code).await?;
    Ok(html! {
        p.noprint { a href="/stations" { "← " (t(lang, "adm-stations")) } }
        h1 { (t(lang, "adm-terminals")) " · " span.code { (station.code) } " " (data(&station.name)) }
        (done_box(lang, d))
        @if let Some(e) = err { (error_box(lang, e)) }
        section.panel {
            table #terminals {
                thead { tr { th { (t(lang, "adm-terminal")) } th.num { (t(lang, "adm-terminal_counter")) } } }
                tbody {
                    @for (id, ttc) in &list {
                        tr #{"terminal-" (id)} { td.code { (id) } td.num { (ttc) } }
                    }
                }
            }
            @if list.is_empty() { p.k { (t(lang, "adm-none")) } }
        }
        form.panel #new-terminal method="post" action={"/stations/" (station.code) "/terminals"} {
            h2 { (t(lang, "adm-register_terminal")) }
            div.row {
                div { label for="terminal" { (t(lang, "adm-terminal")) " " span.k { (t(lang, "adm-terminal-hint")) } }
                    input #terminal name="terminal" required maxlength="12" pattern="[0-9A-Fa-f]{12}" value=(typed) autofocus;
                    (beside(lang, err, "terminal")) }
                button.primary type="submit" { (t(lang, "adm-register_terminal")) }
            }
        }
    })
}

/// Registers a pump terminal (the API's `PUT …/terminals/{terminal}`; a
/// form names the terminal in its field).
pub async fn register_terminal(
    State(state): State<App>,
    a: Administrator,
    Path(code): Path<String>,
    Form(f): Form<TerminalForm>,
) -> Response {
    let terminal = f.terminal.trim();
    match act::register_terminal(&state, &a.actor, &code, terminal).await {
        Ok(t) => Redirect::to(&format!(
            "/stations/{}/terminals?done=terminal_registered&who={}",
            encoded(&t.station),
            encoded(&t.terminal)
        ))
        .into_response(),
        Err(e) => {
            let body =
                terminals_body(&state, &a, &code, &Done::default(), &f.terminal, Some(&e)).await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-terminals"), &e, body)
        }
    }
}

// ------------------------------------------------- products and prices

#[derive(Deserialize, Default)]
pub struct PriceForm {
    #[serde(default)]
    unit_price: String,
    #[serde(default)]
    card_discount_per_litre: String,
    #[serde(default)]
    effective_date: String,
    #[serde(default)]
    effective_time: String,
}

pub async fn products_page(
    State(state): State<App>,
    a: Administrator,
    Query(d): Query<Done>,
) -> Response {
    let body = products_body(&state, &a, &d, None, &PriceForm::default(), None).await;
    render(a.lang, &a.actor, t(a.lang, "adm-products"), body)
}

async fn products_body(
    state: &App,
    a: &Administrator,
    d: &Done,
    product: Option<&str>,
    typed: &PriceForm,
    err: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = a.lang;
    let tz = state.settings.time_zone;
    let now = state.now();
    let list = act::price_history(state, &a.actor, 10).await?;
    let today = crate::time::local_date(now, tz)
        .format("%Y-%m-%d")
        .to_string();
    Ok(html! {
        (back(lang))
        h1 { (t(lang, "adm-products")) }
        (done_box(lang, d))
        @if let Some(e) = err { (error_box(lang, e)) }
        @for h in &list {
            @let code = h.product.code.as_str();
            @let here = product == Some(code);
            @let e = err.filter(|_| here);
            section.panel #{"product-" (code)} {
                h2 { (text::product(lang, code, &h.product.name)) " " span.code { (code) } }
                table.prices {
                    thead { tr { th { (t(lang, "adm-effective_from")) } th.num { (t(lang, "adm-unit_price")) }
                                 th.num { (t(lang, "adm-card_discount")) } th { (t(lang, "adm-state")) } } }
                    tbody {
                        @for p in &h.prices {
                            @let state_key = if p.effective_from > now { "adm-price-scheduled" }
                                else if h.in_force.is_some_and(|f| f.effective_from == p.effective_from && f.unit_price == p.unit_price) { "adm-price-in_force" }
                                else { "adm-price-past" };
                            tr { td { (crate::time::format_local(p.effective_from, tz)) }
                                 td.num { (p.unit_price) } td.num { (p.card_discount_per_litre) }
                                 td { (word(lang, state_key)) } }
                        }
                    }
                }
                @if h.prices.is_empty() { p.k { (t(lang, "adm-no_price")) } }
                form.row method="post" action={"/products/" (code) "/price"} {
                    div { label for={"up-" (code)} { (t(lang, "adm-unit_price")) }
                        input #{"up-" (code)} name="unit_price" inputmode="decimal" required placeholder="7.68"
                            value=[here.then_some(&typed.unit_price)] autofocus[at_fault(e, "unit_price")];
                        (beside(lang, e, "unit_price")) }
                    div { label for={"cd-" (code)} { (t(lang, "adm-card_discount")) }
                        input #{"cd-" (code)} name="card_discount_per_litre" inputmode="decimal" required placeholder="0.20"
                            value=[here.then_some(&typed.card_discount_per_litre)] autofocus[at_fault(e, "card_discount_per_litre")];
                        (beside(lang, e, "card_discount_per_litre")) }
                    div { label for={"ed-" (code)} { (t(lang, "adm-effective_from")) }
                        input #{"ed-" (code)} type="date" name="effective_date" required min=(today)
                            value=(if here { typed.effective_date.clone() } else { today.clone() }) autofocus[at_fault(e, "effective_from")];
                        (beside(lang, e, "effective_from")) }
                    div { label for={"et-" (code)} { (t(lang, "adm-effective_time")) }
                        input #{"et-" (code)} type="time" name="effective_time"
                            value=(if here { typed.effective_time.clone() } else { "00:00".to_string() }); }
                    button.primary type="submit" { (t(lang, "adm-set_price")) }
                }
            }
        }
    })
}

/// A local day and time of a form as the RFC 3339 instant the API takes.
fn local_instant(
    tz: chrono_tz::Tz,
    field: &str,
    date: &str,
    time: &str,
) -> AppResult<Option<String>> {
    use chrono::TimeZone as _;
    let date = date.trim();
    if date.is_empty() {
        return Ok(None);
    }
    let time = if time.trim().is_empty() {
        "00:00"
    } else {
        time.trim()
    };
    let invalid = || AppError::invalid(field, format!("{field}: a date"));
    let naive = chrono::NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M")
        .map_err(|_| invalid())?;
    let local = tz
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(invalid)?;
    Ok(Some(local.to_rfc3339()))
}

pub async fn set_price(
    State(state): State<App>,
    a: Administrator,
    Path(code): Path<String>,
    Form(f): Form<PriceForm>,
) -> Response {
    let tz = state.settings.time_zone;
    let done: AppResult<()> = async {
        let body = PriceBody {
            unit_price: f.unit_price.clone(),
            card_discount_per_litre: f.card_discount_per_litre.clone(),
            effective_from: local_instant(
                tz,
                "effective_from",
                &f.effective_date,
                &f.effective_time,
            )?,
        };
        act::set_price(&state, &a.actor, &code, &body).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!(
            "/products?done=price_set&who={}#product-{}",
            encoded(&code),
            encoded(&code)
        ))
        .into_response(),
        Err(e) => {
            let body = products_body(&state, &a, &Done::default(), Some(&code), &f, Some(&e)).await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-products"), &e, body)
        }
    }
}

// ---------------------------------------------------------- promotions

#[derive(Deserialize, Default)]
pub struct PromotionForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    campaign_code: String,
    #[serde(default)]
    min_amount: String,
    #[serde(default)]
    bonus_percent: String,
    #[serde(default)]
    min_amount_2: String,
    #[serde(default)]
    bonus_percent_2: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    budget: String,
    #[serde(default)]
    gift_min_amount: String,
    #[serde(default)]
    gift_item: String,
    #[serde(default)]
    personal: Option<String>,
    #[serde(default)]
    company_main: Option<String>,
    #[serde(default)]
    company_sub: Option<String>,
    #[serde(default)]
    fleet: Option<String>,
    #[serde(default)]
    anonymous: Option<String>,
}

const KINDS: [(CardKind, &str); 5] = [
    (CardKind::Personal, "personal"),
    (CardKind::CompanyMain, "company_main"),
    (CardKind::CompanySub, "company_sub"),
    (CardKind::Fleet, "fleet"),
    (CardKind::Anonymous, "anonymous"),
];

impl PromotionForm {
    fn kind_ticked(&self, name: &str) -> bool {
        let v = match name {
            "personal" => &self.personal,
            "company_main" => &self.company_main,
            "company_sub" => &self.company_sub,
            "fleet" => &self.fleet,
            _ => &self.anonymous,
        };
        v.is_some()
    }
}

pub async fn promotions_page(
    State(state): State<App>,
    a: Administrator,
    Query(d): Query<Done>,
) -> Response {
    let body = promotions_body(&state, &a, &d, &PromotionForm::default(), None).await;
    render(a.lang, &a.actor, t(a.lang, "adm-promotions"), body)
}

async fn promotions_body(
    state: &App,
    a: &Administrator,
    d: &Done,
    typed: &PromotionForm,
    err: Option<&AppError>,
) -> AppResult<Markup> {
    let lang = a.lang;
    let tz = state.settings.time_zone;
    let list = act::list_promotions(state, &a.actor).await?;
    let yuan = |fen: i64| crate::money::Money::from_fen(fen).to_string();
    let fresh = err.is_none();
    let field = |name: &str, label: &'static str, value: &str, required: bool, mode: &str| {
        html! {
            div { label for={"p-" (name)} { (t(lang, label)) }
                input #{"p-" (name)} name=(name) value=(value) required[required] inputmode=(mode)
                    autofocus[at_fault(err, name) || (fresh && name == "name")];
                (beside(lang, err, name)) }
        }
    };
    Ok(html! {
        (back(lang))
        h1 { (t(lang, "adm-promotions")) }
        (done_box(lang, d))
        @if let Some(e) = err { (error_box(lang, e)) }
        section.panel {
            h2 { (t(lang, "adm-promotions_in_force")) }
            table #promotions {
                thead { tr { th { (t(lang, "name")) } th { (t(lang, "adm-tiers")) } th { (t(lang, "adm-gifts")) }
                             th { (t(lang, "adm-period")) } th.num { (t(lang, "adm-budget")) } th.num { (t(lang, "adm-spent")) } } }
                tbody {
                    @for p in &list {
                        tr #{"promotion-" (p.id)} {
                            td { (data(&p.name)) @if let Some(c) = &p.campaign_code { br; span.k.data { (c) } } }
                            td { @for tier in &p.rule.tiers { "≥" (yuan(tier.min_amount_fen)) " · " (tier.bonus_percent) "%" br; } }
                            td { @for g in &p.rule.gifts { "≥" (yuan(g.min_amount_fen)) " · " (data(&g.item)) br; } }
                            td {
                                @if let Some(s) = p.rule.starts_at { (crate::time::local_date(s, tz)) }
                                " – "
                                @if let Some(e) = p.rule.ends_at { (crate::time::local_date(e, tz)) }
                            }
                            td.num { @match p.budget { Some(b) => (b), None => (t(lang, "adm-no_limit")) } }
                            td.num { (p.spent) }
                        }
                    }
                }
            }
            @if list.is_empty() { p.k { (t(lang, "adm-none")) } }
        }
        form.panel #new-promotion method="post" action="/promotions" {
            h2 { (t(lang, "adm-add_promotion")) }
            div.row {
                (field("name", "name", &typed.name, true, "text"))
                (field("campaign_code", "adm-campaign_code", &typed.campaign_code, false, "text"))
            }
            div.row {
                (field("min_amount", "adm-tier_min", &typed.min_amount, true, "decimal"))
                (field("bonus_percent", "adm-tier_percent", &typed.bonus_percent, true, "decimal"))
                (field("min_amount_2", "adm-tier2_min", &typed.min_amount_2, false, "decimal"))
                (field("bonus_percent_2", "adm-tier2_percent", &typed.bonus_percent_2, false, "decimal"))
            }
            div.row {
                div { label for="p-starts_on" { (t(lang, "adm-starts_on")) }
                    input #p-starts_on type="date" name="starts_on" value=(typed.starts_on) autofocus[at_fault(err, "starts_at")];
                    (beside(lang, err, "starts_at")) }
                div { label for="p-ends_on" { (t(lang, "adm-ends_on")) }
                    input #p-ends_on type="date" name="ends_on" value=(typed.ends_on) autofocus[at_fault(err, "ends_at")];
                    (beside(lang, err, "ends_at")) }
                (field("budget", "adm-budget", &typed.budget, false, "decimal"))
            }
            div.row {
                (field("gift_min_amount", "adm-gift_min", &typed.gift_min_amount, false, "decimal"))
                (field("gift_item", "adm-gift_item", &typed.gift_item, false, "text"))
            }
            fieldset {
                legend { (t(lang, "adm-card_kinds")) " " span.k { (t(lang, "adm-card_kinds-hint")) } }
                @for (_, name) in KINDS {
                    label { input type="checkbox" name=(name) value="yes" checked[typed.kind_ticked(name)]; " " (word(lang, name)) }
                }
            }
            button.primary type="submit" { (t(lang, "adm-add_promotion")) }
        }
    })
}

pub async fn add_promotion(
    State(state): State<App>,
    a: Administrator,
    Form(f): Form<PromotionForm>,
) -> Response {
    let tz = state.settings.time_zone;
    let done: AppResult<()> = async {
        let mut tiers = vec![TierBody {
            min_amount: f.min_amount.clone(),
            bonus_percent: f.bonus_percent.clone(),
        }];
        if !f.min_amount_2.trim().is_empty() || !f.bonus_percent_2.trim().is_empty() {
            tiers.push(TierBody {
                min_amount: f.min_amount_2.clone(),
                bonus_percent: f.bonus_percent_2.clone(),
            });
        }
        let gifts = if f.gift_item.trim().is_empty() && f.gift_min_amount.trim().is_empty() {
            Vec::new()
        } else {
            vec![GiftBody {
                min_amount: f.gift_min_amount.clone(),
                item: f.gift_item.clone(),
            }]
        };
        let kinds: Vec<CardKind> = KINDS
            .iter()
            .filter(|(_, name)| f.kind_ticked(name))
            .map(|(k, _)| *k)
            .collect();
        let body = PromotionBody {
            name: f.name.clone(),
            kind: "recharge_bonus".into(),
            tiers,
            card_kinds: (!kinds.is_empty()).then_some(kinds),
            starts_at: local_instant(tz, "starts_at", &f.starts_on, "")?,
            ends_at: local_instant(tz, "ends_at", &f.ends_on, "")?,
            budget: given(f.budget.as_str()),
            campaign_code: given(f.campaign_code.as_str()),
            gifts,
        };
        act::add_promotion(&state, &a.actor, &body).await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!(
            "/promotions?done=promotion_added&who={}",
            encoded(f.name.trim())
        ))
        .into_response(),
        Err(e) => {
            let body = promotions_body(&state, &a, &Done::default(), &f, Some(&e)).await;
            render_refused(a.lang, &a.actor, t(a.lang, "adm-promotions"), &e, body)
        }
    }
}

// ---------------------------------------------------------- audit log

/// The audit actions the pages have words for (the filter's suggestions).
const AUDIT_ACTIONS: &[&str] = &[
    "user_add",
    "user_deactivate",
    "password_reset",
    "password_change",
    "station_add",
    "district_add",
    "terminal_register",
    "price_set",
    "promotion_add",
    "card_open",
    "loss_report",
    "replacement",
    "conversion",
    "closure",
    "unlock",
    "hold",
    "hold_capture",
    "hold_void",
    "shift_open",
    "shift_close",
    "merchant_add",
    "offer_add",
    "credit_line_set",
    "complaint_add",
    "targets_set",
    "login",
];

/// An audit action in words; one the pages do not know, as its code with
/// spaces (marked as a code).
fn audit_action(lang: Lang, code: &str) -> Markup {
    let key = format!("adm-audit-{code}");
    if text::has(&key) {
        html! { (word(lang, &key)) }
    } else {
        html! { span.code { (code.replace('_', " ")) } }
    }
}

/// An entry's detail, its names and values as codes with spaces.
fn audit_detail(detail: &serde_json::Value) -> Markup {
    let plain = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.replace('_', " "),
        other => other.to_string().replace('_', " "),
    };
    html! {
        @if let serde_json::Value::Object(map) = detail {
            @for (k, v) in map {
                span.code { (k.replace('_', " ")) ": " (plain(v)) } " "
            }
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct AuditForm {
    user: Option<String>,
    action: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
}

impl AuditForm {
    fn query(&self, limit: i64) -> AuditQuery {
        AuditQuery {
            limit: Some(limit),
            offset: Some((self.page.unwrap_or(1).max(1) - 1) * PAGE),
            user: self.user.clone(),
            action: self.action.clone(),
            subject: self.subject.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }

    fn link(&self, path: &str, page: Option<i64>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("user", &self.user),
            ("action", &self.action),
            ("subject", &self.subject),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = given(v.as_deref()) {
                s.append_pair(k, &v);
            }
        }
        if let Some(p) = page {
            s.append_pair("page", &p.to_string());
        }
        format!("{path}?{}", s.finish())
    }
}

pub async fn audit_page(
    State(state): State<App>,
    a: Administrator,
    Query(f): Query<AuditForm>,
) -> Response {
    let lang = a.lang;
    let tz = state.settings.time_zone;
    let page_no = f.page.unwrap_or(1).max(1);
    let found = act::audit_log(&state, &a.actor, &f.query(PAGE + 1)).await;
    let (mut list, err) = match found {
        Ok(l) => (l, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let more = list.len() as i64 > PAGE;
    list.truncate(PAGE as usize);
    let e = err.as_ref();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = html! {
        (back(lang))
        h1 { (t(lang, "adm-audit")) }
        @if let Some(e) = e { (error_box(lang, e)) }
        form.panel.noprint #audit-filter method="get" action="/audit" {
            div.row {
                div { label for="a-user" { (t(lang, "adm-who")) } input #a-user name="user" value=(v(&f.user)) autofocus; }
                div { label for="a-action" { (t(lang, "adm-what")) }
                    input #a-action name="action" list="audit-actions" value=(v(&f.action));
                    datalist #audit-actions { @for c in AUDIT_ACTIONS { option value=(c) { (audit_action(lang, c)) } } } }
                div { label for="a-subject" { (t(lang, "adm-subject")) } input #a-subject name="subject" value=(v(&f.subject)); }
                div { label for="a-from" { (t(lang, "adm-from")) } input #a-from type="date" name="from" value=(v(&f.from)); (beside(lang, e, "from")) }
                div { label for="a-to" { (t(lang, "adm-to")) } input #a-to type="date" name="to" value=(v(&f.to)); (beside(lang, e, "to")) }
                button.secondary type="submit" { (t(lang, "adm-filter")) }
            }
        }
        section.panel {
            table #audit {
                thead { tr { th { (t(lang, "adm-time")) } th { (t(lang, "adm-who")) } th { (t(lang, "adm-what")) }
                             th { (t(lang, "adm-subject")) } th { (t(lang, "adm-detail")) } } }
                tbody {
                    @for entry in &list {
                        tr #{"audit-" (entry.id)} {
                            td { (crate::time::format_local(entry.at, tz)) }
                            td { @match &entry.user { Some(u) => (data(u)), None => (t(lang, "adm-console")) } }
                            td data-action=(entry.action) { (audit_action(lang, &entry.action)) }
                            td { (data(&entry.subject)) }
                            td { (audit_detail(&entry.detail)) }
                        }
                    }
                }
            }
            @if list.is_empty() { p.k { (t(lang, "adm-none")) } }
            p.noprint {
                @if page_no > 1 { a #prev href=(f.link("/audit", Some(page_no - 1))) { "← " (t(lang, "adm-previous")) } " " }
                span.k { (tr(lang, "adm-page", &[("page", page_no.into())])) }
                @if more { " " a #next href=(f.link("/audit", Some(page_no + 1))) { (t(lang, "adm-next")) " →" } }
                " · " a #audit-csv href=(f.link("/audit.csv", None)) { "CSV" }
            }
        }
    };
    let status = e.map_or(StatusCode::OK, |e| e.code.status());
    (
        status,
        page(lang, t(lang, "adm-audit"), Some(&a.actor), body),
    )
        .into_response()
}

/// The filtered audit log as CSV (up to 1,000 entries, newest first).
pub async fn audit_csv(
    State(state): State<App>,
    a: Administrator,
    Query(f): Query<AuditForm>,
) -> Response {
    let tz = state.settings.time_zone;
    let made: AppResult<String> = async {
        let mut q = f.query(1000);
        q.offset = Some(0);
        let list = act::audit_log(&state, &a.actor, &q).await?;
        let rows = list.iter().map(|e| {
            vec![
                e.id.to_string(),
                e.time.clone(),
                crate::time::format_local(e.at, tz),
                e.user.clone().unwrap_or_default(),
                e.action.clone(),
                e.subject.clone(),
                e.detail.to_string(),
            ]
        });
        crate::csv_io::table(
            &[
                "id",
                "time",
                "local_time",
                "user",
                "action",
                "subject",
                "detail",
            ],
            rows,
        )
    }
    .await;
    csv_or_refusal("audit.csv", made)
}

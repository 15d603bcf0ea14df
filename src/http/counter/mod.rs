//! The counter pages: server-rendered HTML for the cashier, Chinese by
//! default with an English switch, no external assets (a counter PC may have
//! no internet), keyboard first (autofocus, access keys, Enter submits).

mod acquisition;
mod administration;
mod alliance;
mod chip;
mod credit;
mod crm;
mod desk;
mod fleet;
mod fleet_office;
mod form;
mod head_office;
mod station;
mod text;
mod till;

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::actions::App;
use crate::auth::Actor;
use crate::auth::policy::{self, Action};
pub use text::{Lang, data, t};

pub fn routes(state: App) -> Router<App> {
    Router::new()
        .route("/", get(desk::home))
        .route("/counter", get(desk::counter))
        .route("/login", get(desk::login_page).post(desk::login))
        .route("/logout", post(desk::logout))
        .route("/lang/{lang}", get(switch_lang))
        .route("/search", get(desk::search))
        .route("/cards/new", get(desk::new_card_page).post(desk::new_card))
        .route("/cards/{number}", get(desk::card_page))
        .route("/cards/{number}/loss-report", post(desk::loss_report))
        .route("/cards/{number}/replacement", post(desk::replacement))
        .route("/cards/{number}/conversion", post(desk::conversion))
        .route("/cards/{number}/unlock", post(desk::unlock))
        .route(
            "/cards/{number}/identity-unlock",
            post(desk::identity_unlock),
        )
        .route(
            "/me/password",
            get(desk::password_page).post(desk::change_password),
        )
        .route("/cards/{number}/closure", post(desk::closure))
        .route(
            "/cards/{number}/recharge",
            get(till::recharge_preview).post(till::recharge),
        )
        .route("/cards/{number}/sale", post(till::sale))
        .route("/cards/{number}/chip/read", post(chip::read_card))
        .route("/cards/{number}/chip/load", post(chip::load))
        .route("/cards/{number}/chip/personalise", post(chip::personalise))
        .route("/receipts/recharge/{id}", get(till::recharge_receipt))
        .route("/receipts/sale/{id}", get(till::sale_receipt))
        .route("/fleet/{company}/review", get(fleet::review_page))
        .route("/fleet/{company}/review/ack", post(fleet::ack))
        .route("/acquisition", get(acquisition::overview))
        .route("/acquisition/tracking.csv", get(acquisition::tracking_csv))
        .route(
            "/acquisition/leaderboard.csv",
            get(acquisition::leaderboard_csv),
        )
        .route(
            "/acquisition/prospects.csv",
            get(acquisition::prospects_csv),
        )
        .route("/acquisition/weekly.csv", get(acquisition::weekly_csv))
        .route(
            "/acquisition/prospects",
            get(acquisition::board).post(acquisition::new_prospect),
        )
        .route(
            "/acquisition/prospects/{id}",
            get(acquisition::prospect_page),
        )
        .route(
            "/acquisition/prospects/{id}/visits",
            post(acquisition::visit),
        )
        .route(
            "/acquisition/prospects/{id}/stage",
            post(acquisition::stage),
        )
        .route("/acquisition/weekly", get(acquisition::weekly_page))
        .route(
            "/acquisition/weekly/{id}/submission",
            post(acquisition::submit),
        )
        .route("/merchant", get(alliance::merchant_page))
        .route("/merchant/redemptions", post(alliance::redeem))
        .route(
            "/merchant/redemptions/{id}/reversal",
            post(alliance::reverse),
        )
        .route(
            "/merchant/settlements/{month}",
            get(alliance::merchant_statement),
        )
        .route("/alliance", get(alliance::overview))
        .route("/alliance/settlements", post(alliance::settle))
        .route(
            "/alliance/offers/{code}/grantees.csv",
            get(alliance::grantees_csv),
        )
        .route(
            "/complaints",
            get(crm::complaint_board).post(crm::record_complaint),
        )
        .route("/complaints/report.csv", get(crm::report_csv))
        .route("/complaints/{id}/move", post(crm::move_complaint))
        .route("/callbacks", get(crm::callbacks_page))
        .route("/callbacks/{customer_id}/calls", post(crm::record_call))
        .route("/care", get(crm::care_page))
        .route("/customers/{id}/care", post(crm::log_contact))
        .route("/visits", get(crm::visits_page).post(crm::plan_visit))
        .route("/visits/{id}/cancellation", post(crm::cancel_visit))
        .route("/birthdays", get(crm::birthdays_page))
        .route("/customers/{id}", get(crm::customer_page))
        .route("/customers/{id}/consent", post(crm::change_consent))
        .route("/customers/{id}/merge", post(crm::merge))
        .route("/credit", get(credit::credit_list))
        .route("/credit/{id}", get(credit::account_page))
        .route("/credit/{id}/payments", post(credit::pay))
        .route("/credit/{id}/line", post(credit::set_line))
        .route(
            "/credit/{id}/statements/{month}",
            get(credit::statement_print),
        )
        .route(
            "/credit/{id}/statements/{month}/csv",
            get(credit::statement_csv),
        )
        .merge(credit::routes())
        .merge(station::routes())
        .merge(fleet_office::routes())
        .merge(head_office::routes())
        .merge(administration::routes())
        // Every form posted to a page carries the page's token and comes
        // from this site (the login form included).
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::http::csrf::guard,
        ))
}

/// The cookie holding the page language.
const LANG_COOKIE: &str = "fuelcard_lang";

pub fn lang_of(headers: &HeaderMap) -> Lang {
    match crate::http::extract::cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

async fn switch_lang(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let value = if lang == "en" { "en" } else { "zh" };
    // Back to the page the switch was pressed on, if it was one of ours.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string()))
        })
        // Our own absolute paths only: "//host" and "/\\host" would leave the site.
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".into());
    (
        [(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={value}; Path=/; SameSite=Strict; Max-Age=31536000"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

/// Any logged-in user (each page checks the role and scope it needs).
pub struct Signed {
    pub actor: Actor,
    pub lang: Lang,
}

impl FromRequestParts<App> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        match super::extract::actor_of(parts, state).await {
            Ok(actor) => Ok(Signed { actor, lang }),
            Err(_) => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// A logged-in counter user. Anyone not logged in is sent to the login
/// page; a logged-in user whose role sells nothing is told so, with 403.
pub struct Cashier {
    pub actor: Actor,
    pub lang: Lang,
}

impl FromRequestParts<App> for Cashier {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        match super::extract::actor_of(parts, state).await {
            Ok(actor) if policy::may(&actor, Action::Sell) => Ok(Cashier { actor, lang }),
            Ok(actor) => Err(refused(lang, &actor, "not_counter_role")),
            Err(_) => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// A partner merchant's user: the merchant pages act for `merchant` only.
pub struct MerchantUser {
    pub actor: Actor,
    pub lang: Lang,
    pub merchant: String,
}

impl FromRequestParts<App> for MerchantUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let s = Signed::from_request_parts(parts, state).await?;
        match (s.actor.role, s.actor.merchant.clone()) {
            (crate::auth::Role::Merchant, Some(merchant)) => Ok(MerchantUser {
                actor: s.actor,
                lang: s.lang,
                merchant,
            }),
            _ => Err(refused(s.lang, &s.actor, "not_merchant_role")),
        }
    }
}

/// Head office (and the admin): the alliance's overview and settlements.
pub struct HeadOffice {
    pub actor: Actor,
    pub lang: Lang,
}

impl FromRequestParts<App> for HeadOffice {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let s = Signed::from_request_parts(parts, state).await?;
        if policy::may(&s.actor, Action::ManageAlliance) {
            Ok(HeadOffice {
                actor: s.actor,
                lang: s.lang,
            })
        } else {
            Err(refused(s.lang, &s.actor, "not_alliance_role"))
        }
    }
}

/// A page for a logged-in user whose role does not open it: why, and 403.
fn refused(lang: Lang, actor: &Actor, why: &'static str) -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        page(
            lang,
            t(lang, "counter"),
            Some(actor),
            html! { p.error { (t(lang, why)) } },
        ),
    )
        .into_response()
}

const STYLE: &str = r#"
*{box-sizing:border-box}body{margin:0;font:16px/1.45 "Noto Sans CJK SC","Microsoft YaHei",system-ui,sans-serif;background:#f4f5f7;color:#1d2433}
header{display:flex;gap:1rem;align-items:center;background:#12355b;color:#fff;padding:.5rem 1rem}
header a,header button{color:#fff}header .grow{flex:1}header form{display:inline}
header button{background:none;border:1px solid #fff6;border-radius:4px;padding:.2rem .6rem;cursor:pointer}
main{max-width:980px;margin:1rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
.panel{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:1rem;margin-bottom:1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:.6rem 1.2rem}
.k{color:#5b6474;font-size:.85rem}.v{font-size:1.05rem}.big{font-size:1.8rem;font-weight:600;color:#0b6b3a}
label{display:block;margin:.4rem 0 .2rem;font-size:.9rem;color:#3a4252}
input[type=checkbox]{min-width:0}
input,select{font:inherit;padding:.45rem .6rem;border:1px solid #b8bfca;border-radius:4px;min-width:12rem}
input:focus,select:focus,button:focus{outline:3px solid #f5a623;outline-offset:1px}
button.primary{font:inherit;background:#0b6b3a;color:#fff;border:0;border-radius:4px;padding:.5rem 1.2rem;cursor:pointer;margin-top:.6rem}
button.secondary{font:inherit;background:#fff;color:#12355b;border:1px solid #12355b;border-radius:4px;padding:.45rem 1rem;cursor:pointer;margin-top:.6rem}
button.danger{font:inherit;background:#a4262c;color:#fff;border:0;border-radius:4px;padding:.5rem 1rem;cursor:pointer;margin-top:.6rem}
.row{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-end}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e6e9ee}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.anomaly.open{border-left:4px solid #a4262c;padding-left:.5rem;background:#fff5f5}.anomaly.done{border-left:4px solid #9aa;padding-left:.5rem;color:#555}
.field-error{display:block;color:#a4262c;font-size:.85rem;margin-top:.2rem}
.error{background:#fdecea;border:1px solid #f5c2c0;color:#8a1c1c;padding:.6rem .8rem;border-radius:4px}
.notice{background:#fff8e1;border:1px solid #f3d27a;padding:.6rem .8rem;border-radius:4px}
.ok{background:#e8f5ec;border:1px solid #9bd3ae;color:#0b4f2b;padding:.6rem .8rem;border-radius:4px}
.code{font-family:"Noto Sans Mono CJK SC",monospace;letter-spacing:.04em;white-space:nowrap}
.status-lost,.status-replaced,.status-closed,.status-locked{color:#a4262c;font-weight:600}
.receipt{max-width:22rem;margin:auto;font-family:"Noto Sans Mono CJK SC",monospace;background:#fff;padding:1rem;border:1px dashed #999}
.receipt h1{text-align:center;font-size:1.1rem}.receipt table td{border:0;padding:.1rem 0}
kbd{border:1px solid #999;border-radius:3px;padding:0 .25rem;font-size:.8rem}
.bar{height:.45rem;background:#e6e9ee;border-radius:3px;margin:.15rem 0 0 auto;max-width:8rem}.bar span{display:block;height:100%;background:#0b6b3a;border-radius:3px}
tr.district td{background:#f0f3f7}
.board{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.6rem;margin-bottom:1rem}
.column{background:#eef1f5;border-radius:6px;padding:.4rem}.column h2{font-size:.95rem;margin:.2rem 0 .4rem}
.prospect{background:#fff;border:1px solid #d9dde3;border-radius:4px;padding:.4rem;margin-bottom:.4rem;font-size:.9rem}
.prospect.overdue{border-left:4px solid #a4262c}.due{color:#a4262c}
tr.overdue td{background:#fff5f5}tr.overdue td:first-child{border-left:4px solid #a4262c}tr.picked td{background:#eef5ff}
form.step label{margin-top:0}form.step textarea,form.step input{min-width:10rem}textarea{font:inherit;padding:.45rem .6rem;border:1px solid #b8bfca;border-radius:4px;width:100%}
@media print{header,.noprint{display:none}body{background:#fff}main{margin:0}.receipt{border:0;max-width:none}.printable .panel,.printable{border:0;padding:0}.printable table{font-size:.85rem}.printable tr{break-inside:avoid}}
"#;

/// The page frame: header with who is logged in and the language switch.
pub fn page(lang: Lang, title: &str, actor: Option<&Actor>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · fuelcard" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/" accesskey="h" { strong { "fuelcard" } " " (t(lang, home_word(actor))) }
                    // The administrator also works a counter.
                    @if actor.is_some_and(|a| home_word(Some(a)) != "home_counter" && policy::may(a, Action::Sell)) {
                        a #counter-link href="/counter" { (t(lang, "home_counter")) }
                    }
                    @if actor.is_some_and(|a| policy::may(a, Action::ReadTargets)) {
                        a href="/acquisition" { (t(lang, "acquisition")) }
                    }
                    @if actor.is_some_and(|a| policy::may(a, Action::ManageAlliance)) {
                        a #alliance-link href="/alliance" { (t(lang, "alliance")) }
                    }
                    @if actor.is_some_and(|a| policy::may(a, Action::ReadComplaints)) {
                        a #complaints-link href="/complaints" { (t(lang, "complaints")) }
                    }
                    @if actor.is_some_and(|a| policy::may(a, Action::ReadCallbacks)) {
                        a #callbacks-link href="/callbacks" { (t(lang, "callbacks")) }
                    }
                    @if actor.is_some_and(|a| policy::may(a, Action::ReadCreditReminders)) {
                        a #credit-link href="/credit" { (t(lang, "credit")) }
                    }
                    span.grow {}
                    @if let Some(a) = actor {
                        span.data { (a.username) }
                        a #password-link href="/me/password" { (t(lang, "change_password")) }
                        form method="post" action="/logout" { button type="submit" { (t(lang, "logout")) } }
                    }
                    @match lang {
                        Lang::Zh => a href="/lang/en" lang="en" { (t(Lang::En, "switch_to_english")) },
                        Lang::En => a href="/lang/zh" lang="zh-CN" { (t(Lang::Zh, "switch_to_chinese")) },
                    }
                }
                main { (body) }
            }
        }
    }
}

/// Where a role starts, and what the header's home link calls it: each
/// role lands on its own tasks — the fleet office, head office,
/// administration, the merchant's desk, the acquisition board for the
/// managers who sell nothing, the counter for everyone who sells.
fn home(actor: &Actor) -> (Option<String>, &'static str) {
    use crate::auth::Role;
    match actor.role {
        Role::FleetManager => (
            actor.company_id.map(|c| format!("/fleet/{c}")),
            "home_fleet",
        ),
        Role::Merchant => (Some("/merchant".into()), "home_merchant"),
        Role::Admin => (Some("/administration".into()), "home_administration"),
        Role::Hq => (Some("/head-office".into()), "home_head_office"),
        _ if !policy::may(actor, Action::Sell) && policy::may(actor, Action::ReadTargets) => {
            (Some("/acquisition".into()), "home_acquisition")
        }
        _ => (Some("/".into()), "home_counter"),
    }
}

/// The page a user's role starts on.
pub fn home_of(actor: &Actor) -> Option<String> {
    home(actor).0
}

/// What the header's home link is called.
fn home_word(actor: Option<&Actor>) -> &'static str {
    actor.map_or("home_counter", |a| home(a).1)
}

/// A page, or the refusal that kept it from showing, with its status.
pub fn render(
    lang: Lang,
    actor: &Actor,
    title: &str,
    shown: crate::error::AppResult<Markup>,
) -> Response {
    match shown {
        Ok(body) => page(lang, title, Some(actor), body).into_response(),
        Err(e) => (
            e.code.status(),
            page(lang, title, Some(actor), error_box(lang, &e)),
        )
            .into_response(),
    }
}

/// A form's page shown again after a refusal (what was typed kept, the
/// field at fault marked), at the refusal's status.
pub fn render_refused(
    lang: Lang,
    actor: &Actor,
    title: &str,
    e: &crate::error::AppError,
    shown: crate::error::AppResult<Markup>,
) -> Response {
    match shown {
        Ok(body) => (e.code.status(), page(lang, title, Some(actor), body)).into_response(),
        Err(other) => render(lang, actor, title, Err(other)),
    }
}

/// A message box for a refusal, in the page's language: the catalogue's
/// sentence for the error's code. The API's English detail stays in the
/// API (and the log); the page never mixes it in.
pub fn error_box(lang: Lang, err: &crate::error::AppError) -> Markup {
    html! {
        div.error role="alert" {
            strong { (text::refusal(lang, err)) }
        }
    }
}

/// A table as a CSV file to save (the browser downloads it as `name`).
pub fn csv_download(name: &str, text: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

/// A table as a CSV download, or the refusal as plain text.
pub fn csv_or_refusal(name: &str, made: crate::error::AppResult<String>) -> Response {
    match made {
        Ok(text) => csv_download(name, text),
        Err(e) => (e.code.status(), e.message).into_response(),
    }
}

/// A value as one segment of a link or a redirect (a header is ASCII): a
/// plate, a user name, a code.
pub fn encoded(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// One page of `list` (counted from 1, `per_page` lines a page) and how
/// many pages there are; a page past either end shows the nearest.
pub fn one_page<T>(list: &[T], page: Option<usize>, per_page: usize) -> (&[T], usize, usize) {
    let pages = list.len().div_ceil(per_page).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let from = (page - 1) * per_page;
    let to = (from + per_page).min(list.len());
    (&list[from..to], page, pages)
}

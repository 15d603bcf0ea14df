//! The role × page matrix: every GET page route of the counter's pages
//! (downloads ending `.csv`, `/login`, `/logout` and `/lang/*` aside) is
//! opened by anonymous and by every demo user — on business of their own
//! and on another's (station S001/东区, 顺达物流 and the insurer on one
//! side; S002/西区, 城建工程 and the car wash on the other) — and must
//! answer what the policy says: allowed, a 200 or a redirect to a page
//! other than `/login`; refused, a 403 or a 404 (never the other's data);
//! anonymous, a redirect to `/login`. A refused page still shows the
//! refusal in its frame, but never at 200. The page routers' source is
//! read, so a GET page without a row here fails the test.

use fuelcard::auth::policy::{self, Action, Scope, Target};
use fuelcard::auth::{Actor, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Demo, page_session};
use crate::with_each_backend;

const USERS: &[&str] = &[
    "admin",
    "hq-office",
    "district-east",
    "manager1",
    "cashier1",
    "cashier2",
    "fleet-a",
    "fleet-b",
    "insurer",
    "carwash",
];

/// Who a page is for.
#[derive(Clone, Copy)]
enum Who {
    /// What the policy says of the action, on the page's business.
    Policy(Action),
    /// These roles, whatever the business.
    Roles(&'static [Role]),
    /// Nobody's: it sends everyone (anonymous too) on to another page of
    /// the table, which answers for itself.
    Redirect,
}

/// The business a page is about, and whose it is.
type Built = Option<(String, Target)>;

/// How a row's path is made.
#[derive(Clone, Copy)]
enum Path {
    /// A page of the network, the same for everyone.
    Fixed(&'static str),
    /// A page of one side's business.
    Of(fn(&Side) -> Built),
}

struct Row {
    pattern: &'static str,
    who: Who,
    path: Path,
}

const fn row(pattern: &'static str, who: Who, path: Path) -> Row {
    Row { pattern, who, path }
}

/// One side's business, read from the demo database.
struct Side {
    station: i64,
    code: String,
    district: String,
    company: i64,
    company_name: String,
    card: Option<String>,
    card_reaches_east: bool,
    customer_reaches_east: bool,
    recharge: Option<String>,
    sale: Option<String>,
    /// A prospect of a station of the side's district, and that station.
    prospect: Option<(String, i64)>,
    credit_month: Option<String>,
    has_credit: bool,
    plate: Option<String>,
    loan: Option<String>,
    plan_month: Option<String>,
    east: String,
}

impl Side {
    fn at_station(&self) -> Target {
        Target::station(self.station, &self.district)
    }

    fn of_company(&self) -> Target {
        Target::company(self.company)
    }

    /// A card's or its customer's target as the card room makes it: the
    /// holder, and 东区 when the card (the customer's cards) reached it.
    fn reaching(&self, reaches: bool) -> Target {
        Target {
            company: Some(self.company),
            district: reaches.then(|| self.east.clone()),
            ..Target::default()
        }
    }
}

fn card(s: &Side) -> Built {
    Some((
        format!("/cards/{}", s.card.as_ref()?),
        s.reaching(s.card_reaches_east),
    ))
}

fn recharge_preview(s: &Side) -> Built {
    Some((
        format!(
            "/cards/{}/recharge?amount=100&method=cash",
            s.card.as_ref()?
        ),
        s.reaching(s.card_reaches_east),
    ))
}

fn recharge_receipt(s: &Side) -> Built {
    Some((
        format!("/receipts/recharge/{}", s.recharge.as_ref()?),
        s.at_station(),
    ))
}

fn sale_receipt(s: &Side) -> Built {
    Some((
        format!("/receipts/sale/{}", s.sale.as_ref()?),
        s.at_station(),
    ))
}

fn prospect(s: &Side) -> Built {
    let (id, station) = s.prospect.as_ref()?;
    Some((
        format!("/acquisition/prospects/{id}"),
        Target::station(*station, &s.district),
    ))
}

fn customer(s: &Side) -> Built {
    Some((
        format!("/customers/{}", s.company),
        s.reaching(s.customer_reaches_east),
    ))
}

fn customer_archive(s: &Side) -> Built {
    Some((
        format!("/customers/{}/archive", s.company),
        s.reaching(s.customer_reaches_east),
    ))
}

fn credit_line(s: &Side) -> Built {
    s.has_credit.then(|| {
        (
            format!("/customers/{}/credit-line", s.company),
            s.of_company(),
        )
    })
}

fn credit_account(s: &Side) -> Built {
    s.has_credit
        .then(|| (format!("/credit/{}", s.company), s.of_company()))
}

fn statement(s: &Side) -> Built {
    Some((
        format!(
            "/credit/{}/statements/{}",
            s.company,
            s.credit_month.as_ref()?
        ),
        s.of_company(),
    ))
}

fn statement_csv(s: &Side) -> Built {
    Some((
        format!(
            "/credit/{}/statements/{}/csv",
            s.company,
            s.credit_month.as_ref()?
        ),
        s.of_company(),
    ))
}

fn day_report(s: &Side) -> Built {
    Some((format!("/stations/{}/day-report", s.code), s.at_station()))
}

fn terminals(s: &Side) -> Built {
    Some((format!("/stations/{}/terminals", s.code), s.at_station()))
}

fn fleet(s: &Side, rest: &str) -> Built {
    Some((format!("/fleet/{}{rest}", s.company), s.of_company()))
}

fn fleet_home(s: &Side) -> Built {
    fleet(s, "")
}

fn fleet_review(s: &Side) -> Built {
    fleet(s, "/review")
}

fn fleet_vehicles(s: &Side) -> Built {
    fleet(s, "/vehicles")
}

fn fleet_vehicle(s: &Side) -> Built {
    fleet(s, &format!("/vehicles/{}", s.plate.as_ref()?))
}

fn fleet_policy(s: &Side) -> Built {
    fleet(s, "/policy")
}

fn fleet_allocations(s: &Side) -> Built {
    fleet(s, "/allocations")
}

fn fleet_plan(s: &Side) -> Built {
    fleet(s, &format!("/allocations/{}", s.plan_month.as_ref()?))
}

fn fleet_topups(s: &Side) -> Built {
    fleet(s, "/topups")
}

fn fleet_loans(s: &Side) -> Built {
    fleet(s, "/loans")
}

fn fleet_loan(s: &Side) -> Built {
    fleet(s, &format!("/loans/{}", s.loan.as_ref()?))
}

fn fleet_cash(s: &Side) -> Built {
    fleet(s, "/cash-refuels")
}

fn fleet_report(s: &Side) -> Built {
    fleet(s, "/reports/monthly")
}

const ADMIN: &[Role] = &[Role::Admin];
const MERCHANT: &[Role] = &[Role::Merchant];
const COUNTER: &[Role] = &[Role::StationManager, Role::Cashier];
/// Who opens a card's page: the roles at a till, and head office.
const CARD_PAGE: &[Role] = &[Role::Admin, Role::Hq, Role::StationManager, Role::Cashier];
const HEAD_OFFICE: &[Role] = &[Role::Admin, Role::Hq];
const EVERYONE: &[Role] = &policy::ROLES;

use Path::{Fixed, Of};
use Who::{Policy, Redirect, Roles};

const ROWS: &[Row] = &[
    row("/", Roles(EVERYONE), Fixed("/")),
    row("/counter", Policy(Action::Sell), Fixed("/counter")),
    // The counter's card search and card page are the till's tools (and
    // the card page head office's read of a card, without its money): the
    // other roles the policy lets read a card (the district, the fleet
    // manager) read it through the API, and these pages refuse them.
    row("/search", Policy(Action::Sell), Fixed("/search?q=1")),
    row("/cards/new", Policy(Action::OpenCard), Fixed("/cards/new")),
    row("/cards/{number}", Roles(CARD_PAGE), Of(card)),
    row(
        "/me/password",
        Policy(Action::UseSession),
        Fixed("/me/password"),
    ),
    row(
        "/cards/{number}/recharge",
        Policy(Action::Recharge),
        Of(recharge_preview),
    ),
    row(
        "/receipts/recharge/{id}",
        Policy(Action::ReadReceipt),
        Of(recharge_receipt),
    ),
    row(
        "/receipts/sale/{id}",
        Policy(Action::ReadReceipt),
        Of(sale_receipt),
    ),
    row(
        "/fleet/{company}/review",
        Policy(Action::ReadFleet),
        Of(fleet_review),
    ),
    row(
        "/acquisition",
        Policy(Action::ReadTargets),
        Fixed("/acquisition"),
    ),
    row(
        "/acquisition/prospects",
        Policy(Action::ReadProspects),
        Fixed("/acquisition/prospects"),
    ),
    row(
        "/acquisition/prospects/{id}",
        Policy(Action::ReadProspects),
        Of(prospect),
    ),
    row(
        "/acquisition/weekly",
        Policy(Action::ReadWeeklyReport),
        Fixed("/acquisition/weekly"),
    ),
    row("/merchant", Roles(MERCHANT), Fixed("/merchant")),
    row(
        "/merchant/settlements/{month}",
        Roles(MERCHANT),
        Fixed("/merchant/settlements/2026-10"),
    ),
    row(
        "/alliance",
        Policy(Action::ManageAlliance),
        Fixed("/alliance"),
    ),
    row(
        "/complaints",
        Policy(Action::ReadComplaints),
        Fixed("/complaints"),
    ),
    row(
        "/callbacks",
        Policy(Action::ReadCallbacks),
        Fixed("/callbacks"),
    ),
    row("/care", Policy(Action::ReadCare), Fixed("/care")),
    row("/visits", Policy(Action::ReadCare), Fixed("/visits")),
    row("/birthdays", Policy(Action::ReadCare), Fixed("/birthdays")),
    row(
        "/customers/{id}",
        Policy(Action::ReadCustomerArchive),
        Of(customer),
    ),
    row("/credit", Policy(Action::ReadCredit), Fixed("/credit")),
    row(
        "/credit/{id}",
        Policy(Action::ReadCredit),
        Of(credit_account),
    ),
    row(
        "/credit/{id}/statements/{month}",
        Policy(Action::ReadCredit),
        Of(statement),
    ),
    row(
        "/credit/{id}/statements/{month}/csv",
        Policy(Action::ReadCredit),
        Of(statement_csv),
    ),
    // The station's rooms.
    // The counter's transfer form, on the main card's PIN: a fleet
    // manager moves the company's money through the API.
    row("/transfers", Policy(Action::Sell), Fixed("/transfers")),
    row("/shifts/current", Roles(COUNTER), Fixed("/shifts/current")),
    row(
        "/stations/{code}/day-report",
        Policy(Action::ReadDayReport),
        Of(day_report),
    ),
    row(
        "/prospects",
        Policy(Action::ReadProspects),
        Fixed("/prospects"),
    ),
    row(
        "/prospects/import",
        Policy(Action::WorkProspects),
        Fixed("/prospects/import"),
    ),
    row(
        "/prospects/leads",
        Policy(Action::NoteLead),
        Fixed("/prospects/leads"),
    ),
    row("/targets", Redirect, Fixed("/targets")),
    row(
        "/targets/{month}",
        Policy(Action::SetTargets),
        Fixed("/targets/2026-11"),
    ),
    row(
        "/acquisition/flyers",
        Policy(Action::ReadTargets),
        Fixed("/acquisition/flyers"),
    ),
    // The fleet office.
    row(
        "/fleet/{company}",
        Policy(Action::ReadFleet),
        Of(fleet_home),
    ),
    row(
        "/fleet/{company}/vehicles",
        Policy(Action::ReadFleet),
        Of(fleet_vehicles),
    ),
    row(
        "/fleet/{company}/vehicles/{plate}",
        Policy(Action::ReadFleet),
        Of(fleet_vehicle),
    ),
    row(
        "/fleet/{company}/policy",
        Policy(Action::ReadFleet),
        Of(fleet_policy),
    ),
    row(
        "/fleet/{company}/allocations",
        Redirect,
        Of(fleet_allocations),
    ),
    row(
        "/fleet/{company}/allocations/{month}",
        Policy(Action::ReadFleet),
        Of(fleet_plan),
    ),
    row(
        "/fleet/{company}/topups",
        Policy(Action::ReadFleet),
        Of(fleet_topups),
    ),
    row(
        "/fleet/{company}/loans",
        Policy(Action::ReadFleet),
        Of(fleet_loans),
    ),
    row(
        "/fleet/{company}/loans/{id}",
        Policy(Action::ReadFleet),
        Of(fleet_loan),
    ),
    row(
        "/fleet/{company}/cash-refuels",
        Policy(Action::ReadFleet),
        Of(fleet_cash),
    ),
    row(
        "/fleet/{company}/reports/monthly",
        Policy(Action::ReadFleet),
        Of(fleet_report),
    ),
    // Head office.
    row("/head-office", Roles(HEAD_OFFICE), Fixed("/head-office")),
    row(
        "/head-office/archive",
        Redirect,
        Fixed("/head-office/archive"),
    ),
    row(
        "/head-office/credit",
        Redirect,
        Fixed("/head-office/credit"),
    ),
    row(
        "/merchants",
        Policy(Action::ManageAlliance),
        Fixed("/merchants"),
    ),
    row("/offers", Policy(Action::ManageAlliance), Fixed("/offers")),
    row(
        "/offers/new",
        Policy(Action::ManageAlliance),
        Fixed("/offers/new"),
    ),
    row(
        "/credit/reminders",
        Policy(Action::ReadCreditReminders),
        Fixed("/credit/reminders"),
    ),
    row(
        "/customers/{id}/credit-line",
        Policy(Action::SetCreditLine),
        Of(credit_line),
    ),
    row(
        "/customers/{id}/archive",
        Policy(Action::EditCustomerArchive),
        Of(customer_archive),
    ),
    row(
        "/customers/new",
        Policy(Action::AddCustomer),
        Fixed("/customers/new"),
    ),
    // Administration: the administrator's.
    row("/administration", Roles(ADMIN), Fixed("/administration")),
    row("/users", Roles(ADMIN), Fixed("/users")),
    row("/stations", Roles(ADMIN), Fixed("/stations")),
    row("/districts", Roles(ADMIN), Fixed("/districts")),
    row("/stations/{code}/terminals", Roles(ADMIN), Of(terminals)),
    row("/products", Roles(ADMIN), Fixed("/products")),
    row("/promotions", Roles(ADMIN), Fixed("/promotions")),
    row("/audit", Roles(ADMIN), Fixed("/audit")),
];

/// Every GET page route the page routers declare, as written there.
fn declared_get_pages() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/counter");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the pages' source") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source: String = std::fs::read_to_string(&path)
            .expect("a source file")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for piece in source.split(".route(\"").skip(1) {
            let Some((route, rest)) = piece.split_once('"') else {
                continue;
            };
            if !rest.starts_with(",get(") {
                continue;
            }
            let skipped = route.ends_with(".csv")
                || route == "/login"
                || route == "/logout"
                || route.starts_with("/lang/");
            if !skipped {
                found.push(route.to_owned());
            }
        }
    }
    found
}

async fn text(db: &fuelcard::db::Db, sql: &str) -> Option<String> {
    sqlx::query_scalar::<_, Option<String>>(sql)
        .fetch_optional(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .flatten()
}

async fn number(db: &fuelcard::db::Db, sql: &str) -> i64 {
    text(db, sql)
        .await
        .unwrap_or_else(|| panic!("{sql}: nothing"))
        .parse()
        .expect("a number")
}

async fn reaches(db: &fuelcard::db::Db, by: &str, district: &str) -> bool {
    text(
        db,
        &format!(
            "SELECT CAST(1 AS TEXT) FROM cards c JOIN stations s ON s.id = c.issued_station_id \
             WHERE {by} AND s.district = '{district}' \
             UNION ALL \
             SELECT CAST(1 AS TEXT) FROM operations o JOIN cards c ON c.id = o.card_id \
             JOIN stations s ON s.id = o.station_id WHERE {by} AND s.district = '{district}' \
             LIMIT 1"
        ),
    )
    .await
    .is_some()
}

async fn side(db: &fuelcard::db::Db, station_user: &str, fleet_user: &str, east: &str) -> Side {
    let station = number(
        db,
        &format!("SELECT CAST(station_id AS TEXT) FROM users WHERE username = '{station_user}'"),
    )
    .await;
    let company = number(
        db,
        &format!("SELECT CAST(company_id AS TEXT) FROM users WHERE username = '{fleet_user}'"),
    )
    .await;
    let code = text(
        db,
        &format!("SELECT code FROM stations WHERE id = {station}"),
    )
    .await
    .expect("a code");
    let district = text(
        db,
        &format!("SELECT district FROM stations WHERE id = {station}"),
    )
    .await
    .expect("a district");
    let card = text(
        db,
        &format!("SELECT number FROM cards WHERE customer_id = {company} ORDER BY id LIMIT 1"),
    )
    .await;
    let card_reaches_east = match &card {
        Some(n) => reaches(db, &format!("c.number = '{n}'"), east).await,
        None => false,
    };
    let first = |table: &str, by: &str| {
        format!("SELECT CAST(id AS TEXT) FROM {table} WHERE {by} ORDER BY id LIMIT 1")
    };
    Side {
        station,
        code,
        district: district.clone(),
        company,
        company_name: text(
            db,
            &format!("SELECT name FROM customers WHERE id = {company}"),
        )
        .await
        .expect("a company name"),
        card,
        card_reaches_east,
        customer_reaches_east: reaches(db, &format!("c.customer_id = {company}"), east).await,
        recharge: text(db, &first("recharges", &format!("station_id = {station}"))).await,
        sale: text(db, &first("sales", &format!("station_id = {station}"))).await,
        prospect: match text(
            db,
            &format!(
                "SELECT CAST(p.id AS TEXT) || ' ' || CAST(p.station_id AS TEXT) FROM prospects p \
                 JOIN stations s ON s.id = p.station_id WHERE s.district = '{district}' \
                 ORDER BY p.id LIMIT 1"
            ),
        )
        .await
        {
            Some(both) => {
                let (id, at) = both.split_once(' ').expect("id and station");
                Some((id.to_owned(), at.parse().expect("a station")))
            }
            None => None,
        },
        credit_month: text(
            db,
            &format!(
                "SELECT month FROM credit_statements WHERE customer_id = {company} \
                 ORDER BY id LIMIT 1"
            ),
        )
        .await
        .or_else(|| Some("2026-11".to_owned())),
        has_credit: text(
            db,
            &format!(
                "SELECT CAST(customer_id AS TEXT) FROM credit_lines WHERE customer_id = {company}"
            ),
        )
        .await
        .is_some(),
        plate: text(
            db,
            &format!("SELECT plate FROM vehicles WHERE company_id = {company} ORDER BY id LIMIT 1"),
        )
        .await,
        loan: text(db, &first("card_loans", &format!("company_id = {company}"))).await,
        plan_month: text(
            db,
            &format!(
                "SELECT month FROM allocation_plans WHERE company_id = {company} \
                 ORDER BY id LIMIT 1"
            ),
        )
        .await,
        east: east.to_owned(),
    }
}

/// A set-up request through the API, which must succeed.
async fn api(demo: &Demo, token: &str, method: reqwest::Method, path: String, body: Value) {
    let r = demo
        .client
        .request(method, format!("{}{path}", demo.base))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .expect("an answer");
    let status = r.status();
    assert!(
        status.is_success(),
        "set-up {path}: {status} {}",
        r.text().await.unwrap_or_default()
    );
}

async fn actor(db: &fuelcard::db::Db, username: &str) -> Actor {
    let q = |col: &str| {
        format!(
            "SELECT CAST({col} AS TEXT) FROM users u LEFT JOIN stations s ON s.id = u.station_id \
             WHERE u.username = '{username}'"
        )
    };
    let id = |t: Option<String>| t.map(|v| v.parse::<i64>().expect("an id"));
    Actor {
        user_id: id(text(db, &q("u.id")).await).expect("a user"),
        username: username.to_owned(),
        role: Role::parse(&text(db, &q("u.role")).await.expect("a role")).expect("a role"),
        station_id: id(text(db, &q("u.station_id")).await),
        company_id: id(text(db, &q("u.company_id")).await),
        merchant: text(db, &q("u.merchant")).await,
        district: text(db, &q("COALESCE(u.district, s.district)")).await,
        address: None,
    }
}

fn allowed(who: Who, actor: &Actor, target: Option<&Target>) -> bool {
    match (who, target) {
        (Who::Roles(roles), _) => roles.contains(&actor.role),
        (Who::Redirect, _) => true,
        (Who::Policy(action), Some(t)) => policy::permits(actor, action, t),
        (Who::Policy(action), None) => policy::rule_of(action).scope(actor.role) != Scope::Never,
    }
}

async fn open(c: &reqwest::Client, base: &str, path: &str) -> (StatusCode, String, String) {
    let r = c
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("an answer");
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = r.text().await.unwrap_or_default();
    (status, location, body)
}

/// Whether a redirect leads to a page with a row of its own.
fn leads_to_a_row(location: &str) -> bool {
    let path = location.split(['?', '#']).next().unwrap_or_default();
    ROWS.iter().any(|r| {
        let want: Vec<&str> = r.pattern.split('/').collect();
        let got: Vec<&str> = path.split('/').collect();
        !matches!(r.who, Who::Redirect)
            && want.len() == got.len()
            && want
                .iter()
                .zip(&got)
                .all(|(w, g)| w == g || (w.starts_with('{') && !g.is_empty()))
    })
}

/// The refusal a page shows in its body, if it shows one.
fn refusal_shown(body: &str) -> String {
    for marker in ["role=\"alert\"", "class=\"error\""] {
        if let Some(at) = body.find(marker) {
            let rest = &body[at..];
            let text: String = rest
                .split('>')
                .skip(1)
                .map(|p| p.split('<').next().unwrap_or_default())
                .filter(|p| !p.trim().is_empty())
                .take(1)
                .collect();
            return format!(" (a page showing the refusal {text:?})");
        }
    }
    String::new()
}

async fn page_matrix(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let declared = declared_get_pages();
    let missing: Vec<&String> = declared
        .iter()
        .filter(|d| !ROWS.iter().any(|r| r.pattern == d.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "GET pages without a row in the page matrix: {missing:?}"
    );
    let stale: Vec<&str> = ROWS
        .iter()
        .map(|r| r.pattern)
        .filter(|p| !declared.iter().any(|d| d == p))
        .collect();
    assert!(stale.is_empty(), "rows of no declared page: {stale:?}");

    let east = text(
        &demo.db,
        "SELECT district FROM users WHERE username = 'district-east'",
    )
    .await
    .expect("district-east's district");
    // What the demo network has none of: a prospect at each side's
    // station, a credit line and a card loan for each side's company.
    for (station_user, fleet_user) in [("manager1", "fleet-a"), ("cashier2", "fleet-b")] {
        let s = side(&demo.db, station_user, fleet_user, &east).await;
        let fleet = demo.login(fleet_user).await;
        api(
            &demo,
            &demo.admin,
            reqwest::Method::POST,
            "/api/v1/prospects".into(),
            json!({"station": s.code, "kind": "company", "name": format!("{} 的潜在客户", s.code)}),
        )
        .await;
        api(
            &demo,
            &demo.admin,
            reqwest::Method::PUT,
            format!("/api/v1/customers/{}/credit-line", s.company),
            json!({"limit": "10000.00", "statement_day": 25, "days_to_pay": 10, "grace_days": 5}),
        )
        .await;
        api(
            &demo,
            &fleet,
            reqwest::Method::POST,
            format!("/api/v1/fleet/{}/loans", s.company),
            json!({
                "plate": s.plate.expect("a vehicle"), "driver": "王师傅", "purpose": "送货",
                "route": "杭州—宁波", "starts_on": "2026-11-20", "ends_on": "2026-11-22"
            }),
        )
        .await;
    }
    let sides = [
        side(&demo.db, "manager1", "fleet-a", &east).await,
        side(&demo.db, "cashier2", "fleet-b", &east).await,
    ];
    let mut wrong = Vec::new();
    let mut calls: Vec<(&Row, String, Option<Target>, Option<&str>)> = Vec::new();
    for row in ROWS {
        match row.path {
            Path::Fixed(p) => calls.push((row, p.to_owned(), None, None)),
            Path::Of(build) => {
                let mut any = false;
                for s in &sides {
                    if let Some((p, t)) = build(s) {
                        calls.push((row, p, Some(t), Some(s.company_name.as_str())));
                        any = true;
                    }
                }
                if !any {
                    wrong.push(format!("{}: no demo data to open it on", row.pattern));
                }
            }
        }
    }

    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    for (row, path, _, _) in &calls {
        let (status, location, _) = open(&anonymous, &demo.base, path).await;
        if matches!(row.who, Who::Redirect) {
            let onward = location.starts_with("/login") || leads_to_a_row(&location);
            if !(status.is_redirection() && onward) {
                wrong.push(format!(
                    "anonymous {path} ({}): {status} → {location:?}, want a redirect",
                    row.pattern
                ));
            }
        } else if !(status.is_redirection() && location.starts_with("/login")) {
            wrong.push(format!(
                "anonymous {path} ({}): {status} → {location:?}, want a redirect to /login",
                row.pattern
            ));
        }
    }
    for user in USERS {
        let actor = actor(&demo.db, user).await;
        let c = page_session(&demo.base, user, &format!("{user}-demo")).await;
        for (row, path, target, company) in &calls {
            let want = allowed(row.who, &actor, target.as_ref());
            let (status, location, body) = open(&c, &demo.base, path).await;
            let ok = if matches!(row.who, Who::Redirect) {
                status.is_redirection() && leads_to_a_row(&location)
            } else {
                status == StatusCode::OK
                    || (status.is_redirection() && !location.starts_with("/login"))
            };
            let shown = refusal_shown(&body);
            // A refusal shows nothing of the business refused.
            if !want
                && let Some(name) = company
                && body.contains(name)
            {
                wrong.push(format!(
                    "{user} ({:?}) {path} ({}): refused, but the page names {name}",
                    actor.role, row.pattern
                ));
            }
            // A page that needs the caller's own station refuses one
            // without it (the administrator) as a business refusal.
            let refused = status == StatusCode::FORBIDDEN
                || status == StatusCode::NOT_FOUND
                || (status == StatusCode::UNPROCESSABLE_ENTITY && !shown.is_empty());
            if (want && !ok) || (!want && !refused) {
                wrong.push(format!(
                    "{user} ({:?}) {path} ({}): {status} → {location:?}, want {}{}",
                    actor.role,
                    row.pattern,
                    if want { "200" } else { "403/404" },
                    shown
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} page calls answered against the policy:\n{}",
        wrong.len(),
        calls.len() * (USERS.len() + 1),
        wrong.join("\n")
    );
}

with_each_backend!(page_matrix, page_matrix);

//! Customer care (客户关怀): the log of every call and visit a station
//! makes to one of its customers, the station's plan of visits, and the
//! coming birthdays and anniversaries to remember.
//!
//! A customer belongs to the station that opened their first card
//! ([`grading::home_station`]): its staff call them, visit them and keep
//! their log. Each call or visit is logged with its purpose (a thank-you,
//! a key customer's visit, festival or birthday care, winning them back,
//! collecting what is owed, following a complaint up), what came of it and
//! the next step agreed, and shows on the customer's timeline. The
//! call-back list's calls to dormant customers ([`grading::record_call`])
//! are read beside the log as calls to win them back: the log holds both.
//!
//! A visit is planned ahead — the CRM's visiting rule: at least three days
//! ahead for gold and key customers (their visit is prepared: who goes,
//! what is offered), one day for the others ([`check_visit_day`]) — and is
//! then done by the visit logged for it, or cancelled.
//!
//! The rules are pure functions at the top; the reads and writes below
//! take the caller's connection, so the action layer owns the transaction.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::grading::{self, Activity, HOME_STATIONS, Level, Lifecycle, Rules};
use crate::cards::customers::CustomerKind;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::{self, Status as _, VisitStatus};
use crate::text::optional;

const DAY_US: i64 = 86_400_000_000;

/// An enum kept as text in the database: its stored words, read back.
macro_rules! stored_enum {
    ($(#[$m:meta])* $name:ident, $what:literal {
        $($(#[$vm:meta])* $v:ident => $t:literal,)*
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vm])* $v,)*
        }

        impl $name {
            /// Every value, in the order the pages list them.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            /// The value as stored and as the API writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $t,)*
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|x| x.as_str() == text)
            }

            /// A stored value; one outside the list is a broken database.
            pub fn stored(text: &str) -> AppResult<$name> {
                Self::parse(text).ok_or_else(|| {
                    AppError::internal(concat!("reading a ", $what), format!("{text:?}"))
                })
            }
        }
    };
}

stored_enum!(
    /// How the customer was reached.
    CareKind, "contact's kind" {
        /// 电话
        Call => "call",
        /// 上门拜访
        Visit => "visit",
    }
);

stored_enum!(
    /// Why the station called or visited.
    Purpose, "contact's purpose" {
        /// 感谢回访: thanks for coming (a customer active lately).
        Thanks => "thanks",
        /// 重点客户拜访
        KeyCustomer => "key_customer",
        /// 节日关怀
        Festival => "festival",
        /// 生日或纪念日关怀
        Birthday => "birthday",
        /// 流失挽回: the call-back list's calls are these.
        WinBack => "win_back",
        /// 催收: a company's statement still owed.
        Collection => "collection",
        /// 投诉回访
        ComplaintFollowUp => "complaint_follow_up",
    }
);

stored_enum!(
    /// What came of a call or visit. The call-back list's outcomes are
    /// among these, so its calls read as calls of the log.
    CareOutcome, "contact's outcome" {
        /// Reached, nothing more to say.
        Reached => "reached",
        Satisfied => "satisfied",
        /// Unhappy with the station: a complaint may follow.
        Unhappy => "unhappy",
        /// They said they would come back.
        WillReturn => "will_return",
        MovedAway => "moved_away",
        /// Not interested in what was offered.
        Declined => "declined",
        /// A company promised to pay what it owes.
        PromisedPayment => "promised_payment",
        NoAnswer => "no_answer",
        WrongNumber => "wrong_number",
    }
);

stored_enum!(
    /// What a date of the archive remembers.
    OccasionKind, "occasion" {
        Birthday => "birthday",
        /// A wedding or a company's anniversary.
        Anniversary => "anniversary",
    }
);

// ---------------------------------------------------------------- the rules

/// How many days ahead a visit to a customer of `level` is planned: three
/// for gold and key customers, one for the others (ungraded too).
pub fn notice_days(level: Option<Level>) -> u64 {
    match level {
        Some(Level::Gold | Level::Key) => 3,
        _ => 1,
    }
}

/// The furthest ahead a visit is planned.
pub const MAX_PLAN_DAYS: u64 = 366;

/// Checks the day a visit is planned for against the visiting rule: no
/// sooner than [`notice_days`] after `today` (`visit_too_soon`, naming the
/// earliest day), no later than [`MAX_PLAN_DAYS`].
pub fn check_visit_day(level: Option<Level>, today: NaiveDate, day: NaiveDate) -> AppResult<()> {
    let days = notice_days(level);
    let earliest = today + Days::new(days);
    if day < earliest {
        let mut e = AppError::new(
            Code::VisitTooSoon,
            format!(
                "planned_for: a visit to this customer is planned at least {days} day(s) ahead, \
                 for {earliest} or later"
            ),
        )
        .with("field", "planned_for")
        .with("earliest", earliest.format("%Y-%m-%d").to_string())
        .with("days", days);
        if let Some(l) = level {
            e = e.with("level", l.as_str());
        }
        return Err(e);
    }
    if day > today + Days::new(MAX_PLAN_DAYS) {
        return Err(AppError::invalid(
            "planned_for",
            format!("planned_for: within {MAX_PLAN_DAYS} days"),
        ));
    }
    Ok(())
}

/// A date typed as YYYY-MM-DD, the field named in the refusal.
pub fn date(field: &str, text: Option<&str>) -> AppResult<Option<NaiveDate>> {
    let Some(text) = optional(field, text, 10)? else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| AppError::invalid(field, format!("{field}: a date, YYYY-MM-DD")))
}

/// The next time a date's day comes round, on or after `today`: 29
/// February falls on the 28th in other years. With how many years it will
/// be then.
pub fn next_occurrence(date: NaiveDate, today: NaiveDate) -> Option<(NaiveDate, i32)> {
    let on = |year: i32| {
        NaiveDate::from_ymd_opt(year, date.month(), date.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), date.day() - 1))
    };
    let this_year = on(today.year())?;
    let next = if this_year >= today {
        this_year
    } else {
        on(today.year() + 1)?
    };
    Some((next, next.year() - date.year()))
}

/// A call or visit as a request carries it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareInput {
    pub kind: CareKind,
    pub purpose: Purpose,
    pub outcome: CareOutcome,
    /// What was said, up to 2,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// What was agreed to do next, up to 200 characters.
    #[serde(default)]
    #[schema(example = "月底前送新的充值优惠")]
    pub next_step: Option<String>,
    /// When, YYYY-MM-DD: today or later.
    #[serde(default)]
    #[schema(example = "2026-11-30")]
    pub next_step_on: Option<String>,
    /// The planned visit this visit was (a visit only). Without it, a
    /// visit logged completes the customer's earliest planned visit due
    /// by today, if there is one.
    #[serde(default)]
    pub visit_id: Option<i64>,
}

/// A call or visit checked: texts trimmed, the date read.
#[derive(Debug, Clone)]
pub struct NewContact {
    pub kind: CareKind,
    pub purpose: Purpose,
    pub outcome: CareOutcome,
    pub notes: Option<String>,
    pub next_step: Option<String>,
    pub next_step_on: Option<NaiveDate>,
    pub visit_id: Option<i64>,
}

impl CareInput {
    /// Checks what can be checked without the database or the clock.
    pub fn validate(&self) -> AppResult<NewContact> {
        if self.visit_id.is_some() && self.kind != CareKind::Visit {
            return Err(AppError::invalid(
                "visit_id",
                "visit_id: only a visit completes a planned visit",
            ));
        }
        Ok(NewContact {
            kind: self.kind,
            purpose: self.purpose,
            outcome: self.outcome,
            notes: optional("notes", self.notes.as_deref(), 2000)?,
            next_step: optional("next_step", self.next_step.as_deref(), 200)?,
            next_step_on: date("next_step_on", self.next_step_on.as_deref())?,
            visit_id: self.visit_id,
        })
    }
}

impl NewContact {
    /// Refuses a next step set before `today`.
    pub fn check_today(&self, today: NaiveDate) -> AppResult<()> {
        match self.next_step_on {
            Some(on) if on < today => Err(AppError::invalid(
                "next_step_on",
                "next_step_on: today or later",
            )),
            _ => Ok(()),
        }
    }
}

/// A visit to plan, as a request carries it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitPlanInput {
    pub customer_id: i64,
    /// YYYY-MM-DD: at least three days ahead for a gold or key customer,
    /// one for the others (`visit_too_soon`).
    #[schema(example = "2026-11-25")]
    pub planned_for: String,
    /// Why; a key customer's visit when left out.
    #[serde(default)]
    pub purpose: Option<Purpose>,
    /// Who goes, what is offered: up to 2,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
}

/// A visit to plan, checked but for its day against the customer's level.
pub struct NewVisit {
    pub customer_id: i64,
    pub planned_for: NaiveDate,
    pub purpose: Purpose,
    pub notes: Option<String>,
}

impl VisitPlanInput {
    pub fn validate(&self) -> AppResult<NewVisit> {
        let planned_for = date("planned_for", Some(&self.planned_for))?
            .ok_or_else(|| AppError::invalid("planned_for", "planned_for: a date, YYYY-MM-DD"))?;
        Ok(NewVisit {
            customer_id: self.customer_id,
            planned_for,
            purpose: self.purpose.unwrap_or(Purpose::KeyCustomer),
            notes: optional("notes", self.notes.as_deref(), 2000)?,
        })
    }
}

// ------------------------------------------------------------- the records

/// One call or visit of a customer's log.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CareRecord {
    /// The logged contact's id; a call-back list call's own id when
    /// `from_callback_list`.
    pub id: i64,
    pub customer_id: i64,
    /// The station whose staff made it, by code.
    pub station: String,
    pub kind: CareKind,
    pub purpose: Purpose,
    pub outcome: CareOutcome,
    pub notes: Option<String>,
    pub next_step: Option<String>,
    /// YYYY-MM-DD.
    pub next_step_on: Option<String>,
    /// Who made it (username).
    pub by: Option<String>,
    /// RFC 3339.
    pub at: String,
    /// A call recorded on the call-back list of dormant customers.
    pub from_callback_list: bool,
    /// The planned visit this visit completed.
    pub visit_id: Option<i64>,
}

/// A planned visit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedVisit {
    pub id: i64,
    pub customer_id: i64,
    /// The customer's name.
    pub customer: String,
    /// The customer's latest level.
    pub level: Option<Level>,
    /// The station that visits, by code.
    pub station: String,
    #[serde(skip)]
    pub station_id: i64,
    #[serde(skip)]
    pub district: String,
    /// YYYY-MM-DD.
    pub planned_for: String,
    pub purpose: Purpose,
    pub notes: Option<String>,
    pub status: VisitStatus,
    /// Who planned it (username).
    pub planned_by: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// The visit logged for it, once done.
    pub done_contact_id: Option<i64>,
    /// RFC 3339, once cancelled.
    pub cancelled_at: Option<String>,
    /// Still planned, and its day has passed.
    pub overdue: bool,
}

/// A customer of a station as its care list shows them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CareCustomer {
    pub customer_id: i64,
    pub name: String,
    pub kind: CustomerKind,
    /// Masked but for those who may read personal data.
    pub phone: Option<String>,
    /// The station the customer belongs to, by code.
    pub station: String,
    pub level: Option<Level>,
    pub lifecycle: Lifecycle,
    /// RFC 3339; none if they never refuelled.
    pub last_refuel_at: Option<String>,
    /// The latest call or visit (the call-back list's calls included).
    pub last_contact: Option<LastContact>,
    /// The earliest visit still planned, YYYY-MM-DD.
    pub next_visit: Option<String>,
}

/// The latest call or visit to a customer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LastContact {
    pub kind: CareKind,
    pub purpose: Purpose,
    pub outcome: CareOutcome,
    /// RFC 3339.
    pub at: String,
}

/// A birthday or anniversary coming, of a contact in a customer's archive.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Occasion {
    pub customer_id: i64,
    /// The customer's name.
    pub customer: String,
    pub customer_kind: CustomerKind,
    /// The station the customer belongs to, by code.
    pub station: String,
    /// The contact whose day it is, and what they are to the customer.
    pub contact: String,
    pub role: Option<String>,
    /// Masked but for those who may read personal data.
    pub phone: Option<String>,
    pub kind: OccasionKind,
    /// The date kept, YYYY-MM-DD.
    pub date: String,
    /// When it comes next, YYYY-MM-DD, and in how many days.
    pub on: String,
    pub in_days: i64,
    /// How many years it will be then.
    pub years: i32,
}

/// A customer's care: whose they are, their level, their calls and visits
/// and their planned visits.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerCare {
    pub customer_id: i64,
    pub name: String,
    pub level: Option<Level>,
    /// The station that looks after them, by code; none before their
    /// first card.
    pub station: Option<String>,
    #[serde(skip)]
    pub station_id: Option<i64>,
    #[serde(skip)]
    pub district: Option<String>,
    /// The latest first, at most 200.
    pub contacts: Vec<CareRecord>,
    /// Those still planned first.
    pub visits: Vec<PlannedVisit>,
}

/// A customer's care as [`CustomerCare`] reads it.
pub async fn customer_care(
    conn: &mut Conn,
    customer: i64,
    today: NaiveDate,
) -> AppResult<CustomerCare> {
    let who = crate::cards::customers::get(conn, customer).await?;
    let station = match grading::home_station(conn, customer).await? {
        Some(id) => Some(crate::stations::get(conn, id).await?),
        None => None,
    };
    Ok(CustomerCare {
        customer_id: customer,
        name: who.name,
        level: grading::latest_grade(conn, customer).await?.map(|(l, _)| l),
        station: station.as_ref().map(|s| s.code.clone()),
        station_id: station.as_ref().map(|s| s.id),
        district: station.map(|s| s.district),
        contacts: customer_log(conn, customer).await?,
        visits: customer_visits(conn, customer, today).await?,
    })
}

/// What a list of a station's customers covers: one station, a district,
/// or the network (neither).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    pub station: Option<i64>,
    pub district: Option<&'a str>,
}

/// What the care list picks.
#[derive(Debug, Clone, Default)]
pub struct CareFilter {
    pub level: Option<Level>,
    pub lifecycle: Option<Lifecycle>,
    /// Words of the customer's name.
    pub name: Option<String>,
}

/// The most rows one list shows.
pub const LIST_LIMIT: usize = 500;
/// The most customers a care list reads before it filters (a safety cap:
/// a station has far fewer).
const READ_LIMIT: i64 = 20_000;

fn rfc3339(us: i64) -> String {
    crate::time::format_us(us)
}

fn customer_kind(text: &str) -> CustomerKind {
    if text == "company" {
        CustomerKind::Company
    } else {
        CustomerKind::Person
    }
}

fn level_of(text: Option<String>) -> Option<Level> {
    text.and_then(|t| Level::ALL.iter().copied().find(|l| l.as_str() == t))
}

// ---------------------------------------------------------------- the reads

/// The log of calls and visits of the customer: those logged and the
/// call-back list's, as `(id, customer, station, user, kind, purpose,
/// outcome, notes, next_step, next_step_on, at, from_callback_list)`.
const LOG: &str = "SELECT c.id, c.customer_id, c.station_id, c.user_id, c.kind, c.purpose, \
         c.outcome, c.notes, c.next_step, c.next_step_on, c.contacted_at AS at, \
         CAST(0 AS BIGINT) AS from_callback_list FROM care_contacts c \
     UNION ALL \
     SELECT b.id, b.customer_id, b.station_id, b.user_id, 'call' AS kind, 'win_back' AS purpose, \
         b.outcome, b.notes, NULL AS next_step, NULL AS next_step_on, b.called_at AS at, \
         CAST(1 AS BIGINT) AS from_callback_list FROM callback_calls b";

/// The most entries one customer's log answer holds.
pub const LOG_LIMIT: i64 = 200;

/// A customer's calls and visits, the latest first.
pub async fn customer_log(conn: &mut Conn, customer: i64) -> AppResult<Vec<CareRecord>> {
    log_where(conn, "l.customer_id = $1", customer).await
}

/// One logged call or visit.
pub async fn contact(conn: &mut Conn, id: i64) -> AppResult<CareRecord> {
    log_where(conn, "l.id = $1 AND l.from_callback_list = 0", id)
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("reading a logged contact", id))
}

async fn log_where(conn: &mut Conn, picked: &str, value: i64) -> AppResult<Vec<CareRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT l.*, s.code, u.username, v.id AS visit_id FROM ({LOG}) l \
         JOIN stations s ON s.id = l.station_id LEFT JOIN users u ON u.id = l.user_id \
         LEFT JOIN planned_visits v ON v.done_contact_id = l.id AND l.from_callback_list = 0 \
         WHERE {picked} ORDER BY l.at DESC, l.id DESC LIMIT {LOG_LIMIT}"
    ))
    .bind(value)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CareRecord {
                id: r.try_get("id")?,
                customer_id: r.try_get("customer_id")?,
                station: r.try_get("code")?,
                kind: CareKind::stored(&r.try_get::<String, _>("kind")?)?,
                purpose: Purpose::stored(&r.try_get::<String, _>("purpose")?)?,
                outcome: CareOutcome::stored(&r.try_get::<String, _>("outcome")?)?,
                notes: r.try_get("notes")?,
                next_step: r.try_get("next_step")?,
                next_step_on: r.try_get("next_step_on")?,
                by: r.try_get("username")?,
                at: rfc3339(r.try_get("at")?),
                from_callback_list: r.try_get::<i64, _>("from_callback_list")? == 1,
                visit_id: r.try_get("visit_id")?,
            })
        })
        .collect()
}

/// The columns a planned visit is read with.
const VISIT_SELECT: &str = "SELECT v.id, v.customer_id, c.name, v.station_id, s.code, s.district, \
         v.planned_for, v.purpose, v.notes, v.status, u.username, v.created_at, \
         v.done_contact_id, v.cancelled_at, \
         (SELECT g.level FROM customer_grades g WHERE g.customer_id = v.customer_id \
          ORDER BY g.month DESC LIMIT 1) AS level \
     FROM planned_visits v JOIN customers c ON c.id = v.customer_id \
     JOIN stations s ON s.id = v.station_id LEFT JOIN users u ON u.id = v.planned_by";

fn visit_from_row(r: &sqlx::any::AnyRow, today: NaiveDate) -> AppResult<PlannedVisit> {
    let planned_for: String = r.try_get("planned_for")?;
    let status = VisitStatus::stored(&r.try_get::<String, _>("status")?)?;
    let overdue = status == VisitStatus::Planned
        && NaiveDate::parse_from_str(&planned_for, "%Y-%m-%d").is_ok_and(|d| d < today);
    Ok(PlannedVisit {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        customer: r.try_get("name")?,
        level: level_of(r.try_get("level")?),
        station: r.try_get("code")?,
        station_id: r.try_get("station_id")?,
        district: r.try_get("district")?,
        planned_for,
        purpose: Purpose::stored(&r.try_get::<String, _>("purpose")?)?,
        notes: r.try_get("notes")?,
        status,
        planned_by: r.try_get("username")?,
        created_at: rfc3339(r.try_get("created_at")?),
        done_contact_id: r.try_get("done_contact_id")?,
        cancelled_at: r.try_get::<Option<i64>, _>("cancelled_at")?.map(rfc3339),
        overdue,
    })
}

/// One planned visit.
pub async fn visit(conn: &mut Conn, id: i64, today: NaiveDate) -> AppResult<PlannedVisit> {
    let row = sqlx::query(&format!("{VISIT_SELECT} WHERE v.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| visit_not_found(id))?;
    visit_from_row(&row, today)
}

fn visit_not_found(id: i64) -> AppError {
    AppError::new(Code::VisitNotFound, format!("no planned visit {id}"))
}

/// A customer's planned visits: those still planned first, by day, then
/// the rest, the latest first.
pub async fn customer_visits(
    conn: &mut Conn,
    customer: i64,
    today: NaiveDate,
) -> AppResult<Vec<PlannedVisit>> {
    let rows = sqlx::query(&format!(
        "{VISIT_SELECT} WHERE v.customer_id = $1 \
         ORDER BY CASE WHEN v.status = 'planned' THEN 0 ELSE 1 END, \
         CASE WHEN v.status = 'planned' THEN v.planned_for END, v.planned_for DESC, v.id DESC \
         LIMIT {LOG_LIMIT}"
    ))
    .bind(customer)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| visit_from_row(r, today)).collect()
}

/// The visit plan of the stations covered: the visits planned for a day
/// from `from` to `to`, and those still planned from before `from`
/// (overdue), by day.
pub async fn visit_plan(
    conn: &mut Conn,
    scope: Scope<'_>,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> AppResult<Vec<PlannedVisit>> {
    let rows = sqlx::query(&format!(
        "{VISIT_SELECT} WHERE v.planned_for <= $1 \
           AND (v.planned_for >= $2 OR v.status = 'planned') \
           AND ($3 IS NULL OR v.station_id = $3) AND ($4 IS NULL OR s.district = $4) \
         ORDER BY v.planned_for, v.id LIMIT {LIST_LIMIT}"
    ))
    .bind(to.format("%Y-%m-%d").to_string())
    .bind(from.format("%Y-%m-%d").to_string())
    .bind(scope.station)
    .bind(scope.district)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| visit_from_row(r, today)).collect()
}

/// The customers of the stations covered, with their level, lifecycle
/// stage at `now`, latest contact and next planned visit; those the filter
/// picks, gold first, then by name, at most [`LIST_LIMIT`].
pub async fn care_list(
    conn: &mut Conn,
    scope: Scope<'_>,
    filter: &CareFilter,
    now: i64,
    rules: &Rules,
) -> AppResult<Vec<CareCustomer>> {
    // The words as they are: `%` and `_` typed are not wildcards.
    let name = filter.name.as_ref().map(|n| {
        let n = n
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{n}%")
    });
    let rows = sqlx::query(&format!(
        "{HOME_STATIONS} \
         SELECT c.id, c.name, c.kind, c.phone, s.code, f.first_at, \
           (SELECT MAX(o.last_sale_at) FROM cards k JOIN card_openings o ON o.card_id = k.id \
            WHERE k.customer_id = c.id) AS last_at, \
           (SELECT g.level FROM customer_grades g WHERE g.customer_id = c.id \
            ORDER BY g.month DESC LIMIT 1) AS level \
         FROM home h JOIN first_cards f ON f.customer_id = h.customer_id \
         JOIN customers c ON c.id = h.customer_id JOIN stations s ON s.id = h.station_id \
         WHERE ($1 IS NULL OR h.station_id = $1) AND ($2 IS NULL OR s.district = $2) \
           AND ($3 IS NULL OR c.name LIKE $3 ESCAPE '\\') \
         ORDER BY c.id LIMIT {READ_LIMIT}"
    ))
    .bind(scope.station)
    .bind(scope.district)
    .bind(&name)
    .fetch_all(&mut *conn)
    .await?;
    // The litres of the last 30 days and of the 60 before, per customer,
    // as the lifecycle reads them.
    let litres = sqlx::query(&format!(
        "{HOME_STATIONS} \
         SELECT k.customer_id, \
           CAST(COALESCE(SUM(CASE WHEN x.created_at >= $3 THEN x.litres_cl ELSE 0 END), 0) AS BIGINT) AS recent, \
           CAST(COALESCE(SUM(CASE WHEN x.created_at < $3 THEN x.litres_cl ELSE 0 END), 0) AS BIGINT) AS before \
         FROM sales x JOIN cards k ON k.id = x.card_id JOIN home h ON h.customer_id = k.customer_id \
         JOIN stations s ON s.id = h.station_id \
         WHERE ($1 IS NULL OR h.station_id = $1) AND ($2 IS NULL OR s.district = $2) \
           AND x.created_at >= $4 AND x.created_at <= $5 \
         GROUP BY k.customer_id"
    ))
    .bind(scope.station)
    .bind(scope.district)
    .bind(now - 30 * DAY_US)
    .bind(now - 90 * DAY_US)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_customer = std::collections::HashMap::new();
    for r in &litres {
        let id: i64 = r.try_get("customer_id")?;
        by_customer.insert(
            id,
            (
                r.try_get::<i64, _>("recent")?,
                r.try_get::<i64, _>("before")?,
            ),
        );
    }
    let contacts = sqlx::query(&format!(
        "{HOME_STATIONS} \
         SELECT l.customer_id, l.kind, l.purpose, l.outcome, l.at FROM ({LOG}) l \
         JOIN home h ON h.customer_id = l.customer_id JOIN stations s ON s.id = h.station_id \
         WHERE ($1 IS NULL OR h.station_id = $1) AND ($2 IS NULL OR s.district = $2) \
         ORDER BY l.customer_id, l.at DESC"
    ))
    .bind(scope.station)
    .bind(scope.district)
    .fetch_all(&mut *conn)
    .await?;
    let mut last = std::collections::HashMap::new();
    for r in &contacts {
        let id: i64 = r.try_get("customer_id")?;
        if last.contains_key(&id) {
            continue;
        }
        last.insert(
            id,
            LastContact {
                kind: CareKind::stored(&r.try_get::<String, _>("kind")?)?,
                purpose: Purpose::stored(&r.try_get::<String, _>("purpose")?)?,
                outcome: CareOutcome::stored(&r.try_get::<String, _>("outcome")?)?,
                at: rfc3339(r.try_get("at")?),
            },
        );
    }
    let visits = sqlx::query(
        "SELECT v.customer_id, MIN(v.planned_for) AS next FROM planned_visits v \
         JOIN stations s ON s.id = v.station_id \
         WHERE v.status = 'planned' AND ($1 IS NULL OR v.station_id = $1) \
           AND ($2 IS NULL OR s.district = $2) \
         GROUP BY v.customer_id",
    )
    .bind(scope.station)
    .bind(scope.district)
    .fetch_all(&mut *conn)
    .await?;
    let mut next = std::collections::HashMap::new();
    for r in &visits {
        next.insert(
            r.try_get::<i64, _>("customer_id")?,
            r.try_get::<String, _>("next")?,
        );
    }
    let mut out = Vec::new();
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let last_at: Option<i64> = r.try_get("last_at")?;
        let (recent_cl, before_cl) = by_customer.get(&id).copied().unwrap_or_default();
        let activity = Activity {
            first_card_at: r.try_get("first_at")?,
            last_refuel_at: last_at,
            recent_cl,
            before_cl,
        };
        let c = CareCustomer {
            customer_id: id,
            name: r.try_get("name")?,
            kind: customer_kind(&r.try_get::<String, _>("kind")?),
            phone: r.try_get("phone")?,
            station: r.try_get("code")?,
            level: level_of(r.try_get("level")?),
            lifecycle: grading::lifecycle(&activity, now, rules),
            last_refuel_at: last_at.map(rfc3339),
            last_contact: last.remove(&id),
            next_visit: next.remove(&id),
        };
        let picked = filter.level.is_none_or(|l| c.level == Some(l))
            && filter.lifecycle.is_none_or(|l| c.lifecycle == l);
        if picked {
            out.push(c);
        }
    }
    let rank = |l: Option<Level>| {
        l.and_then(|l| Level::ALL.iter().position(|x| *x == l))
            .unwrap_or(Level::ALL.len())
    };
    out.sort_by(|a, b| {
        rank(a.level)
            .cmp(&rank(b.level))
            .then_with(|| a.name.cmp(&b.name))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    out.truncate(LIST_LIMIT);
    Ok(out)
}

/// The birthdays and anniversaries kept in the archives of the customers
/// covered that come within `days` from `today` (today included), the
/// soonest first.
pub async fn occasions(
    conn: &mut Conn,
    scope: Scope<'_>,
    today: NaiveDate,
    days: i64,
) -> AppResult<Vec<Occasion>> {
    let rows = sqlx::query(&format!(
        "{HOME_STATIONS} \
         SELECT c.id AS customer_id, c.name AS customer, c.kind, s.code, p.name, p.role, p.phone, \
           p.birthday, p.anniversary \
         FROM customer_contacts p JOIN home h ON h.customer_id = p.customer_id \
         JOIN customers c ON c.id = p.customer_id JOIN stations s ON s.id = h.station_id \
         WHERE (p.birthday IS NOT NULL OR p.anniversary IS NOT NULL) AND c.merged_into IS NULL \
           AND ($1 IS NULL OR h.station_id = $1) AND ($2 IS NULL OR s.district = $2) \
         ORDER BY p.id LIMIT {READ_LIMIT}"
    ))
    .bind(scope.station)
    .bind(scope.district)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        for (kind, column) in [
            (OccasionKind::Birthday, "birthday"),
            (OccasionKind::Anniversary, "anniversary"),
        ] {
            let Some(text) = r.try_get::<Option<String>, _>(column)? else {
                continue;
            };
            let Ok(date) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") else {
                continue;
            };
            let Some((on, years)) = next_occurrence(date, today) else {
                continue;
            };
            let in_days = (on - today).num_days();
            if in_days >= days {
                continue;
            }
            out.push(Occasion {
                customer_id: r.try_get("customer_id")?,
                customer: r.try_get("customer")?,
                customer_kind: customer_kind(&r.try_get::<String, _>("kind")?),
                station: r.try_get("code")?,
                contact: r.try_get("name")?,
                role: r.try_get("role")?,
                phone: r.try_get("phone")?,
                kind,
                date: text,
                on: on.format("%Y-%m-%d").to_string(),
                in_days,
                years,
            });
        }
    }
    out.sort_by(|a, b| {
        a.in_days
            .cmp(&b.in_days)
            .then_with(|| a.customer.cmp(&b.customer))
    });
    out.truncate(LIST_LIMIT);
    Ok(out)
}

// --------------------------------------------------------------- the writes

/// Locks the customer's row until the transaction ends, so that their
/// plans and log are decided one at a time and not beside a merge; refuses
/// a record merged into another (its successor is the one to care for).
pub async fn lock_customer(conn: &mut Conn, customer: i64) -> AppResult<()> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!(
        "SELECT merged_into FROM customers WHERE id = $1{lock}"
    ))
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::CustomerNotFound, format!("no customer {customer}")))?;
    match row.try_get::<Option<i64>, _>("merged_into")? {
        Some(into) => Err(AppError::new(
            Code::IllegalTransition,
            format!("customer {customer} was merged into {into}"),
        )
        .with("merged_into", into)),
        None => Ok(()),
    }
}

/// The customer's station ([`grading::home_station`]); refused for a
/// customer without a card, whom no station looks after yet.
pub async fn station_of(conn: &mut Conn, customer: i64) -> AppResult<i64> {
    grading::home_station(conn, customer).await?.ok_or_else(|| {
        AppError::new(
            Code::CustomerHasNoStation,
            format!("customer {customer} has no card yet: no station looks after them"),
        )
    })
}

/// A planned visit's customer, station and state, its row locked until the
/// transaction ends.
pub struct LockedVisit {
    pub id: i64,
    pub customer_id: i64,
    pub station_id: i64,
    pub status: VisitStatus,
}

/// Locks a planned visit's row and reads what a move of it decides on.
pub async fn lock_visit(conn: &mut Conn, id: i64) -> AppResult<LockedVisit> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!(
        "SELECT customer_id, station_id, status FROM planned_visits WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| visit_not_found(id))?;
    Ok(LockedVisit {
        id,
        customer_id: row.try_get("customer_id")?,
        station_id: row.try_get("station_id")?,
        status: VisitStatus::stored(&row.try_get::<String, _>("status")?)?,
    })
}

/// The customer's earliest visit still planned for `today` or before, its
/// row locked: the one a visit logged without naming it completes.
pub async fn due_visit(
    conn: &mut Conn,
    customer: i64,
    today: NaiveDate,
) -> AppResult<Option<LockedVisit>> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!(
        "SELECT id, customer_id, station_id FROM planned_visits \
         WHERE customer_id = $1 AND status = 'planned' AND planned_for <= $2 \
         ORDER BY planned_for, id LIMIT 1{lock}"
    ))
    .bind(customer)
    .bind(today.format("%Y-%m-%d").to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(LockedVisit {
            id: r.try_get("id")?,
            customer_id: r.try_get("customer_id")?,
            station_id: r.try_get("station_id")?,
            status: VisitStatus::Planned,
        })
    })
    .transpose()
}

/// Moves a locked visit on: done by contact `contact`, or cancelled by
/// `user` at `now`. Refused (`illegal_transition`) from an end.
pub async fn move_visit(
    conn: &mut Conn,
    v: &LockedVisit,
    to: VisitStatus,
    contact: Option<i64>,
    user: i64,
    now: i64,
) -> AppResult<()> {
    lifecycle::ensure_move(v.id, v.status, to)?;
    let cancelled = to == VisitStatus::Cancelled;
    let moved = sqlx::query(
        "UPDATE planned_visits SET status = $2, done_contact_id = $3, cancelled_by = $4, \
           cancelled_at = $5 WHERE id = $1 AND status = 'planned'",
    )
    .bind(v.id)
    .bind(to.as_str())
    .bind(contact)
    .bind(cancelled.then_some(user))
    .bind(cancelled.then_some(now))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved == 0 {
        return Err(lifecycle::illegal(v.id, v.status, to));
    }
    Ok(())
}

/// Logs a call or visit made by `user` of station `station`; the new
/// contact's id.
pub async fn log(
    conn: &mut Conn,
    customer: i64,
    station: i64,
    user: i64,
    c: &NewContact,
    now: i64,
) -> AppResult<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO care_contacts (customer_id, station_id, user_id, kind, purpose, outcome, \
           notes, next_step, next_step_on, contacted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(customer)
    .bind(station)
    .bind(user)
    .bind(c.kind.as_str())
    .bind(c.purpose.as_str())
    .bind(c.outcome.as_str())
    .bind(&c.notes)
    .bind(&c.next_step)
    .bind(c.next_step_on.map(|d| d.format("%Y-%m-%d").to_string()))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Plans a visit to the customer (whose row the caller has locked): the
/// day already checked against their level. One visit a day per customer
/// is planned (`duplicate` for a second).
pub async fn plan(
    conn: &mut Conn,
    v: &NewVisit,
    station: i64,
    user: i64,
    now: i64,
) -> AppResult<i64> {
    let day = v.planned_for.format("%Y-%m-%d").to_string();
    let taken = sqlx::query(
        "SELECT id FROM planned_visits WHERE customer_id = $1 AND planned_for = $2 \
         AND status = 'planned'",
    )
    .bind(v.customer_id)
    .bind(&day)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(r) = taken {
        let id: i64 = r.try_get("id")?;
        return Err(AppError::new(
            Code::Duplicate,
            format!("visit {id} is planned for this customer on {day} already"),
        )
        .with("field", "planned_for")
        .with("visit_id", id));
    }
    let id = sqlx::query_scalar(
        "INSERT INTO planned_visits (customer_id, station_id, planned_by, planned_for, purpose, \
           notes, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'planned', $7) RETURNING id",
    )
    .bind(v.customer_id)
    .bind(station)
    .bind(user)
    .bind(&day)
    .bind(v.purpose.as_str())
    .bind(&v.notes)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn gold_and_key_customers_are_visited_on_three_days_notice_the_others_on_one() {
        let today = day(2026, 11, 18);
        for level in [Some(Level::Gold), Some(Level::Key)] {
            let e = check_visit_day(level, today, day(2026, 11, 19)).expect_err("too soon");
            assert_eq!(e.code, Code::VisitTooSoon);
            let extra = e.extra.expect("members");
            assert_eq!(extra["earliest"], "2026-11-21");
            assert_eq!(extra["field"], "planned_for");
            assert!(check_visit_day(level, today, day(2026, 11, 20)).is_err());
            assert!(check_visit_day(level, today, day(2026, 11, 21)).is_ok());
        }
        for level in [None, Some(Level::PotentialKey), Some(Level::Ordinary)] {
            assert_eq!(
                check_visit_day(level, today, today).map_err(|e| e.code),
                Err(Code::VisitTooSoon)
            );
            assert!(check_visit_day(level, today, day(2026, 11, 19)).is_ok());
        }
        assert_eq!(
            check_visit_day(None, today, day(2027, 12, 1)).map_err(|e| e.code),
            Err(Code::ValidationFailed)
        );
    }

    #[test]
    fn a_day_comes_round_once_a_year() {
        let today = day(2026, 11, 18);
        assert_eq!(next_occurrence(day(1980, 11, 18), today), Some((today, 46)));
        assert_eq!(
            next_occurrence(day(1990, 12, 1), today),
            Some((day(2026, 12, 1), 36))
        );
        assert_eq!(
            next_occurrence(day(2001, 3, 5), today),
            Some((day(2027, 3, 5), 26))
        );
        // 29 February, in a year without one: the 28th.
        assert_eq!(
            next_occurrence(day(2000, 2, 29), today),
            Some((day(2027, 2, 28), 27))
        );
    }

    #[test]
    fn the_stored_words_are_the_api_words() {
        fn same<T: Serialize + Copy>(all: &[T], text: impl Fn(T) -> &'static str) {
            for v in all {
                assert_eq!(
                    serde_json::to_value(v).ok(),
                    Some(serde_json::Value::String(text(*v).to_string()))
                );
            }
        }
        same(CareKind::ALL, CareKind::as_str);
        same(Purpose::ALL, Purpose::as_str);
        same(CareOutcome::ALL, CareOutcome::as_str);
        same(OccasionKind::ALL, OccasionKind::as_str);
        assert_eq!(Purpose::parse("win_back"), Some(Purpose::WinBack));
        assert_eq!(CareOutcome::parse("nonsense"), None);
    }

    #[test]
    fn a_call_completes_no_visit_and_a_next_step_is_not_in_the_past() {
        let input = |kind, visit_id, on: Option<&str>| CareInput {
            kind,
            purpose: Purpose::Thanks,
            outcome: CareOutcome::Reached,
            notes: Some("  谢谢  ".into()),
            next_step: None,
            next_step_on: on.map(String::from),
            visit_id,
        };
        let e = input(CareKind::Call, Some(3), None)
            .validate()
            .expect_err("a call");
        assert_eq!(e.code, Code::ValidationFailed);
        let c = input(CareKind::Visit, Some(3), Some("2026-11-17"))
            .validate()
            .expect("valid");
        assert_eq!(c.notes.as_deref(), Some("谢谢"));
        assert!(c.check_today(day(2026, 11, 18)).is_err());
        assert!(c.check_today(day(2026, 11, 17)).is_ok());
        assert!(
            input(CareKind::Call, None, Some("2026-13-01"))
                .validate()
                .is_err()
        );
    }
}

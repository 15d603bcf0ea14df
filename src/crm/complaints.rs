//! Complaints (投诉) taken to closure. A complaint is received at a station
//! (about a known customer or not; head office names the station),
//! assigned to a member of staff, answered, and followed up with the
//! customer. A satisfied customer lets it close; one not satisfied
//! reopens it — back to assigned, with its assignee — to be answered and
//! followed up again. Each stage has a time limit counted from receipt,
//! a reopened complaint's too (the customer has waited since then); a
//! complaint past one is overdue and leads its station's list until it
//! moves on. A month's complaints are counted and reported by station and
//! category, with how long each stage took.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::auth::Role;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::{self, ComplaintStatus, Status as _};
use crate::text::{optional, required};

const HOUR_US: i64 = 3_600_000_000;

/// How the complaint reached the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Counter,
    Phone,
    /// The company's customer hotline, passed on to the station.
    Hotline,
    Online,
    Letter,
    Other,
}

/// What the complaint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Service,
    FuelQuality,
    /// Fewer litres than paid for.
    Quantity,
    Price,
    Card,
    Invoice,
    Facilities,
    Other,
}

/// The stored name of a unit enum, as serde writes it (the CHECK
/// constraints list the same names).
fn stored<T: Serialize>(value: T) -> AppResult<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        other => Err(AppError::internal("naming a value", format!("{other:?}"))),
    }
}

/// Reads a stored name back; a name outside the list is a broken database.
fn read<T: serde::de::DeserializeOwned>(what: &str, text: String) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(text)).map_err(|e| AppError::internal(what, e))
}

/// The time limits, counted from receipt (configurable when serving).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Hours to assign a received complaint to someone.
    pub assign_hours: i64,
    /// Hours to answer the customer.
    pub answer_hours: i64,
    /// Days to close it, the follow-up done.
    pub close_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            assign_hours: 4,
            answer_hours: 24,
            close_days: 7,
        }
    }
}

impl Limits {
    fn assign_us(&self) -> i64 {
        self.assign_hours.saturating_mul(HOUR_US)
    }
    fn answer_us(&self) -> i64 {
        self.answer_hours.saturating_mul(HOUR_US)
    }
    fn close_us(&self) -> i64 {
        self.close_days.saturating_mul(24 * HOUR_US)
    }
    fn assign_by(&self, received_at: i64) -> i64 {
        received_at.saturating_add(self.assign_us())
    }
    fn answer_by(&self, received_at: i64) -> i64 {
        received_at.saturating_add(self.answer_us())
    }
    fn close_by(&self, received_at: i64) -> i64 {
        received_at.saturating_add(self.close_us())
    }
}

/// The stage whose time limit a complaint has missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    Assign,
    Answer,
    Close,
}

/// The earliest stage past its limit that the complaint has not reached,
/// or none: an assigned complaint can still miss its answer, an answered
/// one its closing.
pub fn missed(
    status: ComplaintStatus,
    received_at: i64,
    now: i64,
    limits: &Limits,
) -> Option<Missed> {
    use ComplaintStatus::*;
    if status == Received && now > limits.assign_by(received_at) {
        Some(Missed::Assign)
    } else if matches!(status, Received | Assigned) && now > limits.answer_by(received_at) {
        Some(Missed::Answer)
    } else if status != Closed && now > limits.close_by(received_at) {
        Some(Missed::Close)
    } else {
        None
    }
}

/// A complaint as received.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintInput {
    /// The customer complaining, when known.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// The station's code; the caller's own when absent.
    #[serde(default)]
    #[schema(example = "S001")]
    pub station: Option<String>,
    pub channel: Channel,
    pub category: Category,
    /// What the customer said, up to 2,000 characters (lines allowed).
    #[schema(example = "加油机跳枪，少加了2升")]
    pub text: String,
}

/// A complaint as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Complaint {
    pub id: i64,
    /// The station's code.
    pub station: String,
    #[serde(skip)]
    pub station_id: i64,
    /// The station's district.
    pub district: String,
    pub customer_id: Option<i64>,
    pub channel: Channel,
    pub category: Category,
    pub text: String,
    pub status: ComplaintStatus,
    /// Who received it (username).
    pub received_by: Option<String>,
    /// RFC 3339.
    pub received_at: String,
    /// Who it is assigned to (username).
    pub assignee: Option<String>,
    pub assigned_at: Option<String>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    /// The customer's word at the last follow-up (not satisfied: the
    /// complaint was reopened).
    pub satisfied: Option<bool>,
    pub follow_up: Option<String>,
    pub followed_up_at: Option<String>,
    pub closed_at: Option<String>,
    /// How many follow-ups found the customer not satisfied, each sending
    /// it back to assigned.
    pub reopened: i64,
    /// When the answer is due, and the closing (RFC 3339).
    pub answer_due: String,
    pub close_due: String,
    /// The stage whose time limit has passed, if any.
    pub overdue: Option<Missed>,
}

const COLUMNS: &str = "c.id, s.code AS station, c.station_id, s.district, c.customer_id, \
    c.channel, c.category, c.text, c.status, r.username AS received_by, c.received_at, \
    a.username AS assignee, c.assigned_at, c.answer, b.username AS answered_by, c.answered_at, \
    c.satisfied, c.follow_up, c.followed_up_at, c.closed_at, c.reopened";

const FROM: &str = "complaints c JOIN stations s ON s.id = c.station_id \
    LEFT JOIN users r ON r.id = c.received_by \
    LEFT JOIN users a ON a.id = c.assignee_id \
    LEFT JOIN users b ON b.id = c.answered_by";

fn time(row: &sqlx::any::AnyRow, column: &str) -> AppResult<Option<String>> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .map(crate::time::format_us))
}

fn from_row(row: &sqlx::any::AnyRow, now: i64, limits: &Limits) -> AppResult<Complaint> {
    let status = ComplaintStatus::stored(&row.try_get::<String, _>("status")?)?;
    let received_at: i64 = row.try_get("received_at")?;
    Ok(Complaint {
        id: row.try_get("id")?,
        station: row.try_get("station")?,
        station_id: row.try_get("station_id")?,
        district: row.try_get("district")?,
        customer_id: row.try_get("customer_id")?,
        channel: read("a complaint's channel", row.try_get("channel")?)?,
        category: read("a complaint's category", row.try_get("category")?)?,
        text: row.try_get("text")?,
        status,
        received_by: row.try_get("received_by")?,
        received_at: crate::time::format_us(received_at),
        assignee: row.try_get("assignee")?,
        assigned_at: time(row, "assigned_at")?,
        answer: row.try_get("answer")?,
        answered_by: row.try_get("answered_by")?,
        answered_at: time(row, "answered_at")?,
        satisfied: row.try_get::<Option<i64>, _>("satisfied")?.map(|s| s == 1),
        follow_up: row.try_get("follow_up")?,
        followed_up_at: time(row, "followed_up_at")?,
        closed_at: time(row, "closed_at")?,
        reopened: row.try_get("reopened")?,
        answer_due: crate::time::format_us(limits.answer_by(received_at)),
        close_due: crate::time::format_us(limits.close_by(received_at)),
        overdue: missed(status, received_at, now, limits),
    })
}

/// The complaint's text checked: 1–2,000 characters, lines allowed.
pub fn validate_text(field: &str, text: &str) -> AppResult<String> {
    required(field, text, 2000)
}

/// Records a complaint received at a station.
pub async fn create(
    conn: &mut Conn,
    station_id: i64,
    received_by: i64,
    input: &ComplaintInput,
    text: &str,
    now: i64,
) -> AppResult<i64> {
    if let Some(id) = input.customer_id {
        crate::cards::customers::get(conn, id).await?;
    }
    let row = sqlx::query(
        "INSERT INTO complaints (station_id, customer_id, channel, category, text, status, \
         received_by, received_at) VALUES ($1, $2, $3, $4, $5, 'received', $6, $7) RETURNING id",
    )
    .bind(station_id)
    .bind(input.customer_id)
    .bind(stored(input.channel)?)
    .bind(stored(input.category)?)
    .bind(text)
    .bind(received_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// Locks a complaint's row until the transaction ends (on PostgreSQL;
/// SQLite's writer is alone already), so that a move is decided on the
/// status the complaint has, not one read before another's move.
pub async fn lock(conn: &mut Conn, id: i64) -> AppResult<()> {
    let lock = crate::db::for_update(conn);
    sqlx::query(&format!("SELECT id FROM complaints WHERE id = $1{lock}"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::ComplaintNotFound, format!("no complaint {id}")))?;
    Ok(())
}

/// One complaint.
pub async fn get(conn: &mut Conn, id: i64, now: i64, limits: &Limits) -> AppResult<Complaint> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::ComplaintNotFound, format!("no complaint {id}")))?;
    from_row(&row, now, limits)
}

/// The most complaints one listing shows.
pub const LIST_LIMIT: usize = 1000;

/// Which complaints a listing shows.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub station: Option<i64>,
    pub district: Option<&'a str>,
    pub status: Option<ComplaintStatus>,
    /// Only those past a time limit.
    pub overdue: bool,
}

/// The complaints a filter picks, open ones first and the oldest first
/// among them, at most [`LIST_LIMIT`].
pub async fn list(
    conn: &mut Conn,
    f: &Filter<'_>,
    now: i64,
    limits: &Limits,
) -> AppResult<Vec<Complaint>> {
    // A complaint is overdue when received before the cut-off of a stage it
    // has not reached: the same rule as [`missed`], in SQL.
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE ($1 IS NULL OR c.station_id = $1) AND ($2 IS NULL OR s.district = $2) \
           AND ($3 IS NULL OR c.status = $3) \
           AND ($4 = 0 OR (c.status = 'received' AND c.received_at < $5) \
                OR (c.status IN ('received', 'assigned') AND c.received_at < $6) \
                OR (c.status <> 'closed' AND c.received_at < $7)) \
         ORDER BY CASE WHEN c.status = 'closed' THEN 1 ELSE 0 END, c.received_at, c.id \
         LIMIT {LIST_LIMIT}"
    ))
    .bind(f.station)
    .bind(f.district)
    .bind(f.status.map(ComplaintStatus::as_str))
    .bind(i64::from(f.overdue))
    .bind(now.saturating_sub(limits.assign_us()))
    .bind(now.saturating_sub(limits.answer_us()))
    .bind(now.saturating_sub(limits.close_us()))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| from_row(r, now, limits)).collect()
}

/// One move of a complaint, with what it records.
pub enum Step<'a> {
    Assign {
        to: i64,
    },
    Answer {
        text: &'a str,
        by: i64,
    },
    FollowUp {
        satisfied: bool,
        notes: Option<&'a str>,
    },
    Close,
}

impl Step<'_> {
    fn to(&self) -> ComplaintStatus {
        match self {
            Step::Assign { .. } => ComplaintStatus::Assigned,
            Step::Answer { .. } => ComplaintStatus::Answered,
            Step::FollowUp {
                satisfied: true, ..
            } => ComplaintStatus::FollowedUp,
            // Not satisfied: reopened, back to its assignee.
            Step::FollowUp {
                satisfied: false, ..
            } => ComplaintStatus::Assigned,
            Step::Close => ComplaintStatus::Closed,
        }
    }
}

/// The member of staff a complaint at a station may be assigned to: an
/// active user working at that station, a manager of its district, or one
/// of head office's (whose senior managers take complaints in person).
pub async fn assignee(conn: &mut Conn, c: &Complaint, username: &str) -> AppResult<i64> {
    let row = sqlx::query(
        "SELECT id, role, station_id, district FROM users WHERE username = $1 AND active = 1",
    )
    .bind(username.trim())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| {
        AppError::new(Code::UserNotFound, format!("no active user {username:?}"))
            .with("field", "assignee")
    })?;
    let role: String = row.try_get("role")?;
    let station: Option<i64> = row.try_get("station_id")?;
    let district: Option<String> = row.try_get("district")?;
    let role = Role::parse(&role);
    let here = station == Some(c.station_id)
        || role == Some(Role::Hq)
        || (role == Some(Role::DistrictManager)
            && district.as_deref() == Some(c.district.as_str()));
    if !here {
        return Err(AppError::invalid(
            "assignee",
            format!(
                "assignee: {username} neither works at {} nor manages its district nor head office",
                c.station
            ),
        ));
    }
    Ok(row.try_get("id")?)
}

/// Moves a complaint one step by a conditional update, so two people
/// cannot both make the same move. Closing before a satisfied follow-up
/// answers `follow_up_required` (a reopened complaint is assigned again).
/// A complaint is assigned only until it is answered, and followed up
/// only once answered: an answered complaint goes back to assigned by a
/// dissatisfied follow-up alone, which counts the reopening.
pub async fn step(conn: &mut Conn, c: &Complaint, step: &Step<'_>, now: i64) -> AppResult<()> {
    let to = step.to();
    match step {
        Step::Assign { .. } if c.status == ComplaintStatus::Answered => {
            return Err(lifecycle::illegal(c.id, c.status, to));
        }
        Step::FollowUp { .. } if c.status != ComplaintStatus::Answered => {
            return Err(lifecycle::illegal(
                c.id,
                c.status,
                ComplaintStatus::FollowedUp,
            ));
        }
        _ => {}
    }
    if to == ComplaintStatus::Closed
        && !matches!(
            c.status,
            ComplaintStatus::FollowedUp | ComplaintStatus::Closed
        )
    {
        return Err(AppError::new(
            Code::FollowUpRequired,
            format!(
                "complaint {} is {}: follow it up with the customer before closing it",
                c.id,
                c.status.as_str()
            ),
        ));
    }
    lifecycle::ensure_move(c.id, c.status, to)?;
    let (sql, a, b): (&str, Option<i64>, Option<&str>) = match step {
        Step::Assign { to } => ("assignee_id = $4, assigned_at = $3", Some(*to), None),
        Step::Answer { text, by } => (
            "answer = $5, answered_by = $4, answered_at = $3",
            Some(*by),
            Some(text),
        ),
        Step::FollowUp {
            satisfied: true,
            notes,
        } => (
            "satisfied = $4, follow_up = $5, followed_up_at = $3",
            Some(1),
            *notes,
        ),
        Step::FollowUp {
            satisfied: false,
            notes,
        } => (
            "satisfied = $4, follow_up = $5, followed_up_at = $3, reopened = reopened + 1",
            Some(0),
            *notes,
        ),
        Step::Close => ("closed_at = $3", None, None),
    };
    let moved = sqlx::query(&format!(
        "UPDATE complaints SET status = $2, {sql} WHERE id = $1 AND status = $6"
    ))
    .bind(c.id)
    .bind(to.as_str())
    .bind(now)
    .bind(a)
    .bind(b)
    .bind(c.status.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved == 0 {
        // Moved by someone else since it was read.
        let status: String = sqlx::query_scalar("SELECT status FROM complaints WHERE id = $1")
            .bind(c.id)
            .fetch_one(&mut *conn)
            .await?;
        return Err(lifecycle::illegal(
            c.id,
            ComplaintStatus::stored(&status)?,
            to,
        ));
    }
    Ok(())
}

/// How long one stage took, in hours to a tenth, over the complaints of a
/// group that have passed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageHours {
    /// The complaints that have passed the stage.
    pub complaints: i64,
    pub median: f64,
    pub max: f64,
}

/// A month's complaints at one station in one category.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MonthCount {
    pub station: String,
    pub category: Category,
    /// Received in the month.
    pub received: i64,
    /// Of those, closed by now.
    pub closed: i64,
    /// Of those closed, within the closing limit.
    pub closed_in_time: i64,
    /// Of those, the customer not satisfied at the last follow-up: reopened
    /// and not yet settled.
    pub unsatisfied: i64,
    /// Of those, reopened at least once by a dissatisfied follow-up.
    pub reopened: i64,
    /// Of those still open, past a time limit now.
    pub overdue: i64,
    /// Receipt to assignment.
    pub to_assign: Option<StageHours>,
    /// Assignment to the answer. A reopened complaint's runs to its last
    /// answer: the customer waited through the first one.
    pub to_answer: Option<StageHours>,
    /// The (last) answer to the (last) follow-up.
    pub to_follow_up: Option<StageHours>,
    /// The follow-up to closing.
    pub to_close: Option<StageHours>,
}

/// What the month's counts read of one complaint.
#[derive(Debug, Clone)]
struct Stamped {
    station: String,
    category: Category,
    status: ComplaintStatus,
    satisfied: Option<bool>,
    reopened: i64,
    received_at: i64,
    /// Assigned, answered, followed up, closed: the latest time of each.
    times: [Option<i64>; 4],
}

impl Stamped {
    fn read(row: &sqlx::any::AnyRow) -> AppResult<Stamped> {
        Ok(Stamped {
            station: row.try_get("station")?,
            category: read("a complaint's category", row.try_get("category")?)?,
            status: ComplaintStatus::stored(&row.try_get::<String, _>("status")?)?,
            satisfied: row.try_get::<Option<i64>, _>("satisfied")?.map(|s| s == 1),
            reopened: row.try_get("reopened")?,
            received_at: row.try_get("received_at")?,
            times: [
                row.try_get("assigned_at")?,
                row.try_get("answered_at")?,
                row.try_get("followed_up_at")?,
                row.try_get("closed_at")?,
            ],
        })
    }

    /// How long each stage it has passed took (µs). Its status says which
    /// it has passed: a reopened complaint keeps its first answer's and
    /// follow-up's times until the next ones, but is back before them.
    fn stages(&self) -> [Option<i64>; 4] {
        let passed = match self.status {
            ComplaintStatus::Received => 0,
            ComplaintStatus::Assigned => 1,
            ComplaintStatus::Answered => 2,
            ComplaintStatus::FollowedUp => 3,
            ComplaintStatus::Closed => 4,
        };
        std::array::from_fn(|i| {
            let from = if i == 0 {
                Some(self.received_at)
            } else {
                self.times[i - 1]
            };
            match (from, self.times[i]) {
                (Some(from), Some(to)) if i < passed => Some(to.saturating_sub(from).max(0)),
                _ => None,
            }
        })
    }
}

/// Hours to a tenth.
fn hours(us: i64) -> f64 {
    (us as f64 / HOUR_US as f64 * 10.0).round() / 10.0
}

/// The median and the longest of a stage's times, if any complaint took it.
fn stage_hours(mut took: Vec<i64>) -> Option<StageHours> {
    took.sort_unstable();
    let n = took.len();
    let max = *took.last()?;
    let median = if n % 2 == 1 {
        took[n / 2]
    } else {
        took[n / 2 - 1].saturating_add(took[n / 2]) / 2
    };
    Some(StageHours {
        complaints: i64::try_from(n).unwrap_or(i64::MAX),
        median: hours(median),
        max: hours(max),
    })
}

/// Counts complaints by station and category (ordered by their stored
/// names), with how long each stage took.
fn tally(complaints: &[Stamped], now: i64, limits: &Limits) -> AppResult<Vec<MonthCount>> {
    type Group = (MonthCount, [Vec<i64>; 4]);
    let mut groups: std::collections::BTreeMap<(String, String), Group> =
        std::collections::BTreeMap::new();
    for c in complaints {
        let key = (c.station.clone(), stored(c.category)?);
        let (n, took) = groups.entry(key).or_insert_with(|| {
            let count = MonthCount {
                station: c.station.clone(),
                category: c.category,
                received: 0,
                closed: 0,
                closed_in_time: 0,
                unsatisfied: 0,
                reopened: 0,
                overdue: 0,
                to_assign: None,
                to_answer: None,
                to_follow_up: None,
                to_close: None,
            };
            (count, Default::default())
        });
        n.received += 1;
        if let Some(at) = c.times[3] {
            n.closed += 1;
            if at <= limits.close_by(c.received_at) {
                n.closed_in_time += 1;
            }
        }
        if c.satisfied == Some(false) {
            n.unsatisfied += 1;
        }
        if c.reopened > 0 {
            n.reopened += 1;
        }
        if missed(c.status, c.received_at, now, limits).is_some() {
            n.overdue += 1;
        }
        for (all, one) in took.iter_mut().zip(c.stages()) {
            all.extend(one);
        }
    }
    Ok(groups
        .into_values()
        .map(|(n, [assign, answer, follow_up, close])| MonthCount {
            to_assign: stage_hours(assign),
            to_answer: stage_hours(answer),
            to_follow_up: stage_hours(follow_up),
            to_close: stage_hours(close),
            ..n
        })
        .collect())
}

/// A month's complaints by station and category (`from..to` the month's
/// instants), for the stations a filter picks.
pub async fn month_counts(
    conn: &mut Conn,
    f: &Filter<'_>,
    from: i64,
    to: i64,
    now: i64,
    limits: &Limits,
) -> AppResult<Vec<MonthCount>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE ($1 IS NULL OR c.station_id = $1) AND ($2 IS NULL OR s.district = $2) \
           AND c.received_at >= $3 AND c.received_at < $4"
    ))
    .bind(f.station)
    .bind(f.district)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let stamped = rows
        .iter()
        .map(Stamped::read)
        .collect::<AppResult<Vec<_>>>()?;
    tally(&stamped, now, limits)
}

/// The text of an answer or a follow-up's notes, checked.
pub fn answer_text(text: &str) -> AppResult<String> {
    validate_text("answer", text)
}

/// The follow-up's notes, checked.
pub fn notes(text: Option<&str>) -> AppResult<Option<String>> {
    optional("notes", text, 2000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComplaintStatus::*;

    const H: i64 = HOUR_US;

    #[test]
    fn each_stage_has_its_limit() {
        let l = Limits::default();
        let at = 1_000 * H;
        assert_eq!(missed(Received, at, at + 4 * H, &l), None);
        assert_eq!(
            missed(Received, at, at + 4 * H + 1, &l),
            Some(Missed::Assign)
        );
        assert_eq!(missed(Assigned, at, at + 24 * H, &l), None);
        assert_eq!(
            missed(Assigned, at, at + 24 * H + 1, &l),
            Some(Missed::Answer)
        );
        // Received and never assigned: the earliest missed stage leads.
        assert_eq!(missed(Received, at, at + 30 * H, &l), Some(Missed::Assign));
        assert_eq!(missed(Answered, at, at + 30 * H, &l), None);
        assert_eq!(
            missed(Answered, at, at + 7 * 24 * H + 1, &l),
            Some(Missed::Close)
        );
        assert_eq!(
            missed(FollowedUp, at, at + 7 * 24 * H + 1, &l),
            Some(Missed::Close)
        );
        assert_eq!(missed(Closed, at, at + 100 * 24 * H, &l), None);
    }

    fn stamped(
        station: &str,
        category: Category,
        status: ComplaintStatus,
        at: [Option<i64>; 4],
        satisfied: Option<bool>,
        reopened: i64,
    ) -> Stamped {
        let received_at = 1_000 * H;
        Stamped {
            station: station.into(),
            category,
            status,
            satisfied,
            reopened,
            received_at,
            times: at.map(|t| t.map(|h| received_at + h * H)),
        }
    }

    #[test]
    fn the_report_counts_reopenings_and_times_each_stage_passed() {
        let rows = [
            // Reopened once, then answered again, satisfied and closed.
            stamped(
                "S1",
                Category::Quantity,
                Closed,
                [Some(1), Some(30), Some(40), Some(41)],
                Some(true),
                1,
            ),
            stamped(
                "S1",
                Category::Quantity,
                Closed,
                [Some(3), Some(5), Some(10), Some(12)],
                Some(true),
                0,
            ),
            // Reopened and waiting: its first answer and follow-up are not
            // stages it has passed.
            stamped(
                "S1",
                Category::Quantity,
                Assigned,
                [Some(2), Some(4), Some(6), None],
                Some(false),
                1,
            ),
            stamped("S2", Category::Service, Received, [None; 4], None, 0),
        ];
        let counts = tally(&rows, 1_050 * H, &Limits::default()).expect("counts");
        assert_eq!(counts.len(), 2);
        let q = &counts[0];
        assert_eq!((q.station.as_str(), q.category), ("S1", Category::Quantity));
        assert_eq!(
            (
                q.received,
                q.closed,
                q.closed_in_time,
                q.unsatisfied,
                q.reopened,
                q.overdue
            ),
            (3, 2, 2, 1, 2, 1)
        );
        let h = |complaints, median, max| {
            Some(StageHours {
                complaints,
                median,
                max,
            })
        };
        assert_eq!(q.to_assign, h(3, 2.0, 3.0));
        assert_eq!(q.to_answer, h(2, 15.5, 29.0));
        assert_eq!(q.to_follow_up, h(2, 7.5, 10.0));
        assert_eq!(q.to_close, h(2, 1.5, 2.0));
        let s = &counts[1];
        assert_eq!((s.received, s.overdue, s.reopened), (1, 1, 0));
        assert_eq!(s.to_assign, None);
        assert_eq!(stage_hours(vec![H / 4]), h(1, 0.3, 0.3));
    }

    #[test]
    fn names_are_stored_as_the_api_writes_them() {
        assert_eq!(
            stored(Category::FuelQuality).ok().as_deref(),
            Some("fuel_quality")
        );
        let back: Category = read("category", "fuel_quality".into()).expect("a category");
        assert_eq!(back, Category::FuelQuality);
        assert!(read::<Channel>("channel", "fax".into()).is_err());
    }
}

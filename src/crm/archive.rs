//! The customer archive (客户档案): what the network knows of a customer
//! beyond the card holder's identity — contacts and decision makers,
//! consents, the preferred station, notes, a company's registration number
//! — and the timeline of everything the customer did, read from what was
//! recorded when it happened. Two records of the same customer (the same
//! phone, or the same registration number) are merged: the cards and their
//! history move to the record that stays; the other points at it and is no
//! longer found.

use super::grading::{self, CustomerStanding, Rules};
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::auth::Actor;
use crate::cards::customers::{
    self, ConsentBy, ConsentChange, Consents, Customer, CustomerKind, Evidence,
};
use crate::cards::holder::Identity;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};
use crate::text::{optional, required};

/// A contact of a customer: a person's family member, a company's driver,
/// buyer or boss.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    /// What the contact is to the customer (财务, 车队长, 配偶 …).
    pub role: Option<String>,
    pub phone: Option<String>,
    /// YYYY-MM-DD.
    pub birthday: Option<String>,
    /// A wedding or company anniversary, YYYY-MM-DD.
    pub anniversary: Option<String>,
    /// Whether the contact decides for the customer (who to call about a
    /// contract or a credit line).
    pub decision_maker: bool,
    /// RFC 3339.
    pub added_at: String,
}

/// A contact as a request carries it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schema(example = "王建国")]
    pub name: String,
    #[serde(default)]
    #[schema(example = "车队长")]
    pub role: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    #[schema(example = "1978-05-20")]
    pub birthday: Option<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub anniversary: Option<String>,
    #[serde(default)]
    pub decision_maker: Option<bool>,
}

/// A contact checked: texts trimmed, dates read.
pub struct NewContact {
    name: String,
    role: Option<String>,
    phone: Option<String>,
    birthday: Option<String>,
    anniversary: Option<String>,
    decision_maker: bool,
}

fn date(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(text) = optional(field, value, 10)? else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(|d| Some(d.format("%Y-%m-%d").to_string()))
        .map_err(|_| AppError::invalid(field, format!("{field}: a date, YYYY-MM-DD")))
}

impl ContactInput {
    pub fn validate(&self) -> AppResult<NewContact> {
        let phone = optional("phone", self.phone.as_deref(), 20)?;
        if let Some(p) = &phone {
            customers::check_phone(p).map_err(|e| e.with("field", "phone"))?;
        }
        Ok(NewContact {
            name: required("name", &self.name, 100)?,
            role: optional("role", self.role.as_deref(), 50)?,
            phone,
            birthday: date("birthday", self.birthday.as_deref())?,
            anniversary: date("anniversary", self.anniversary.as_deref())?,
            decision_maker: self.decision_maker.unwrap_or(false),
        })
    }
}

/// A customer's archive: the record with its contacts and what the network
/// keeps about the customer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Archive {
    #[serde(flatten)]
    pub customer: Customer,
    /// A company's registration number (统一社会信用代码).
    pub registration_number: Option<String>,
    /// The station the customer mostly uses, by code.
    pub preferred_station: Option<String>,
    pub notes: Option<String>,
    pub contacts: Vec<Contact>,
    /// The record this one was merged into: set, this record is kept only
    /// for its history.
    pub merged_into: Option<i64>,
    /// The level and lifecycle stage ([`Archive::with_standing`]).
    #[serde(flatten)]
    pub standing: CustomerStanding,
}

impl Archive {
    /// The archive with the customer's level and lifecycle stage at `now`
    /// ([`read`] leaves them empty: what it is read for does not need them).
    pub async fn with_standing(
        mut self,
        conn: &mut Conn,
        now: i64,
        rules: &Rules,
    ) -> AppResult<Archive> {
        self.standing = grading::standing(conn, self.customer.id, now, rules).await?;
        Ok(self)
    }

    /// The archive as `actor` may see it: phones, ID document numbers and
    /// the registration number masked unless the policy lets the actor read
    /// personal data.
    pub fn shown_to(mut self, actor: &Actor) -> Archive {
        let id = self.customer.id;
        self.customer = self.customer.shown_to(actor);
        self.registration_number = customers::shown_to(actor, id, self.registration_number);
        self.contacts = self
            .contacts
            .into_iter()
            .map(|c| contact_shown_to(c, actor, id))
            .collect();
        self
    }
}

/// A contact of customer `customer_id` as `actor` may see it: the phone
/// masked unless the policy lets the actor read personal data.
pub fn contact_shown_to(mut c: Contact, actor: &Actor, customer_id: i64) -> Contact {
    c.phone = customers::shown_to(actor, customer_id, c.phone);
    c
}

fn contact_from_row(row: &sqlx::any::AnyRow) -> AppResult<Contact> {
    Ok(Contact {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        phone: row.try_get("phone")?,
        birthday: row.try_get("birthday")?,
        anniversary: row.try_get("anniversary")?,
        decision_maker: row.try_get::<i64, _>("decision_maker")? == 1,
        added_at: crate::time::format_us(row.try_get("added_at")?),
    })
}

const CONTACT_COLUMNS: &str =
    "id, name, role, phone, birthday, anniversary, decision_maker, added_at";

/// The most contacts one customer keeps.
pub const MAX_CONTACTS: i64 = 200;

/// A customer's contacts, decision makers first.
pub async fn contacts(conn: &mut Conn, customer_id: i64) -> AppResult<Vec<Contact>> {
    let rows = sqlx::query(&format!(
        "SELECT {CONTACT_COLUMNS} FROM customer_contacts WHERE customer_id = $1 \
         ORDER BY decision_maker DESC, id LIMIT {MAX_CONTACTS}"
    ))
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(contact_from_row).collect()
}

/// Refuses a change to a record merged into another: its successor is the
/// one to change.
fn live(a: &Archive) -> AppResult<()> {
    match a.merged_into {
        Some(into) => Err(AppError::new(
            Code::IllegalTransition,
            format!("customer {} was merged into {into}", a.customer.id),
        )
        .with("merged_into", into)),
        None => Ok(()),
    }
}

/// Adds a contact to a customer (not to one merged away).
pub async fn add_contact(
    conn: &mut Conn,
    customer_id: i64,
    c: &NewContact,
    by: i64,
    now: i64,
) -> AppResult<Contact> {
    live(&read(conn, customer_id).await?)?;
    let count: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM customer_contacts WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
    if count >= MAX_CONTACTS {
        return Err(AppError::new(
            Code::ValidationFailed,
            format!("a customer keeps at most {MAX_CONTACTS} contacts"),
        ));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO customer_contacts (customer_id, name, role, phone, birthday, anniversary, \
         decision_maker, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING {CONTACT_COLUMNS}"
    ))
    .bind(customer_id)
    .bind(&c.name)
    .bind(&c.role)
    .bind(&c.phone)
    .bind(&c.birthday)
    .bind(&c.anniversary)
    .bind(i64::from(c.decision_maker))
    .bind(by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    contact_from_row(&row)
}

/// A customer's archive, merged-away records included (for their history).
pub async fn read(conn: &mut Conn, id: i64) -> AppResult<Archive> {
    let customer = customers::get(conn, id).await?;
    let row = sqlx::query(
        "SELECT cu.registration_number, s.code AS preferred_station, cu.notes, cu.merged_into \
         FROM customers cu LEFT JOIN stations s ON s.id = cu.preferred_station_id \
         WHERE cu.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Archive {
        customer,
        registration_number: row.try_get("registration_number")?,
        preferred_station: row.try_get("preferred_station")?,
        notes: row.try_get("notes")?,
        contacts: contacts(conn, id).await?,
        merged_into: row.try_get("merged_into")?,
        standing: CustomerStanding::default(),
    })
}

/// A change of the archive: each member given replaces what is kept; an
/// empty text clears it; a member left out stays as it is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveChange {
    /// Both consents, as the customer gave them. Sharing with partners is
    /// the customer's own act: giving it needs `consent_evidence`
    /// (refused `consent_evidence_required` without); withdrawing it is
    /// taken on the customer's word.
    #[serde(default)]
    pub consents: Option<Consents>,
    /// What shows the customer is present to give consent to share with
    /// partners: the PIN of one of their own cards, or their ID document.
    #[serde(default)]
    pub consent_evidence: Option<ConsentEvidence>,
    /// A station's code.
    #[serde(default)]
    #[schema(example = "S001")]
    pub preferred_station: Option<String>,
    /// Up to 2,000 characters, lines allowed.
    #[serde(default)]
    pub notes: Option<String>,
    /// A company's registration number (统一社会信用代码), unique.
    #[serde(default)]
    #[schema(example = "91330100MA27XXXX1X")]
    pub registration_number: Option<String>,
}

/// What shows that the customer themselves gives consent to share with
/// partners: one of their own cards with its PIN, or their ID document.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentEvidence {
    /// One of the customer's own cards…
    #[schema(value_type = Option<crate::http::openapi::CardNumberText>)]
    pub card_number: Option<String>,
    /// …and its PIN, tried and counted as a sale's.
    #[schema(value_type = Option<crate::http::openapi::PinText>)]
    pub pin: Option<String>,
    /// Or the customer's ID document, checked against the record (counted
    /// as every document check is).
    pub identity: Option<Identity>,
}

/// Applies a change to a customer's archive under the customer's row lock;
/// the archive before it, and the change of the consent to share with
/// partners if there was one. `verified` is the evidence already checked
/// (a PIN or a document, tried in a transaction of its own): without it a
/// consent to share is refused and nothing changes.
pub async fn change(
    conn: &mut Conn,
    id: i64,
    c: &ArchiveChange,
    verified: Option<(Evidence, Option<i64>)>,
    by: ConsentBy,
) -> AppResult<(Archive, Option<ConsentChange>)> {
    let shares = customers::shares_for_update(conn, id).await?;
    let before = read(conn, id).await?;
    live(&before)?;
    let mut consent = None;
    if let Some(consents) = c.consents {
        consent = customers::consent_change(shares, consents.share_with_partners, verified)?;
        if let Some(change) = consent {
            customers::apply_consent(conn, id, change, by).await?;
        }
        sqlx::query("UPDATE customers SET marketing_consent = $1 WHERE id = $2")
            .bind(i64::from(consents.marketing))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(code) = &c.preferred_station {
        let station = match optional("preferred_station", Some(code), 20)? {
            Some(code) => Some(crate::stations::find(conn, &code).await?.id),
            None => None,
        };
        sqlx::query("UPDATE customers SET preferred_station_id = $1 WHERE id = $2")
            .bind(station)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(notes) = &c.notes {
        sqlx::query("UPDATE customers SET notes = $1 WHERE id = $2")
            .bind(optional("notes", Some(notes), 2000)?)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(number) = &c.registration_number {
        let number = optional("registration_number", Some(number), 30)?;
        if number.is_some() && before.customer.kind != CustomerKind::Company {
            return Err(AppError::invalid(
                "registration_number",
                "registration_number: only a company has one",
            ));
        }
        if let Some(n) = &number {
            let holder =
                sqlx::query("SELECT id FROM customers WHERE registration_number = $1 AND id <> $2")
                    .bind(n)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some(holder) = holder {
                let holder: i64 = holder.try_get("id")?;
                return Err(AppError::new(
                    Code::Duplicate,
                    format!("customer {holder} has this registration number: merge the records"),
                )
                .with("customer_id", holder));
            }
        }
        sqlx::query("UPDATE customers SET registration_number = $1 WHERE id = $2")
            .bind(number)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok((before, consent))
}

/// What happened, in a timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    CardOpened,
    CardLost,
    /// The card was replaced by `detail`, the new card's number.
    CardReplaced,
    CardClosed,
    Recharge,
    /// A calendar month's fuel on the customer's cards (operator's zone).
    FuelMonth,
    ComplaintReceived,
    ComplaintClosed,
    /// A partner's benefit granted (`detail`: the offer's code).
    BenefitGranted,
    BenefitRedeemed,
    /// A visit to the prospect the customer was won from (`detail`: what
    /// came of it).
    ProspectVisit,
    /// The monthly grading moved the customer to `detail`'s level.
    LevelChanged,
    /// The customer consented to share their data with partners
    /// (`detail`: the evidence, `pin` or `identity`; `card`: the card
    /// whose PIN they gave).
    ConsentGiven,
    /// The customer withdrew that consent (`detail`: `word`).
    ConsentWithdrawn,
    /// A call to the customer, logged or made from the call-back list
    /// (`detail`: its purpose, `win_back` for the call-back list's; `id`:
    /// the logged contact's).
    CareCall,
    /// A visit to the customer (`detail`: its purpose; `id`: the logged
    /// contact's).
    CareVisit,
}

/// One entry of a customer's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// RFC 3339 to the microsecond; a fuel month's is its last sale's.
    pub at: String,
    pub kind: EntryKind,
    /// The card it happened on.
    pub card: Option<String>,
    /// A recharge's amount, a month's fuel amount, a benefit's value.
    #[schema(value_type = Option<crate::http::openapi::AmountText>)]
    pub amount: Option<Money>,
    #[schema(value_type = Option<crate::http::openapi::LitresText>)]
    pub litres: Option<Litres>,
    /// A fuel month's number of sales.
    pub count: Option<i64>,
    /// A fuel month's or a level's month, YYYY-MM.
    pub month: Option<String>,
    /// The complaint, benefit or visit's id.
    pub id: Option<i64>,
    /// What kind of entry says it is (see the kinds).
    pub detail: Option<String>,
    #[serde(skip)]
    at_us: i64,
}

impl Entry {
    fn new(at_us: i64, kind: EntryKind) -> Entry {
        // To the microsecond, so that `before` an entry's time pages on
        // exactly, however many things happened within its second.
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(at_us)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default();
        Entry {
            at,
            kind,
            card: None,
            amount: None,
            litres: None,
            count: None,
            month: None,
            id: None,
            detail: None,
            at_us,
        }
    }
}

/// The most entries one timeline answer holds; older ones are read with
/// `before` the last entry's time.
pub const TIMELINE_LIMIT: usize = 500;

/// A query's rows, each as `(time, card, amount fen, id, detail)` named
/// `at`, `card`, `fen`, `id`, `detail` (any may be NULL but `at`).
async fn rows(
    conn: &mut Conn,
    sql: &str,
    id: i64,
    before: i64,
) -> AppResult<Vec<sqlx::any::AnyRow>> {
    let limit = TIMELINE_LIMIT;
    Ok(sqlx::query(&format!("{sql} ORDER BY 1 DESC LIMIT {limit}"))
        .bind(id)
        .bind(before)
        .fetch_all(&mut *conn)
        .await?)
}

/// The sources of the timeline but fuel and levels: each a query of
/// `at, card, fen, id, detail` for customer `$1` before `$2`.
const SOURCES: &[(EntryKind, &str)] = &[
    (
        EntryKind::CardOpened,
        "SELECT c.created_at AS at, c.number AS card, NULL AS fen, NULL AS id, c.kind AS detail \
         FROM cards c WHERE c.customer_id = $1 AND c.created_at < $2",
    ),
    (
        EntryKind::CardLost,
        "SELECT c.lost_at AS at, c.number AS card, NULL AS fen, NULL AS id, NULL AS detail \
         FROM cards c WHERE c.customer_id = $1 AND c.lost_at IS NOT NULL AND c.lost_at < $2",
    ),
    (
        EntryKind::CardReplaced,
        "SELECT n.created_at AS at, c.number AS card, NULL AS fen, NULL AS id, n.number AS detail \
         FROM cards c JOIN cards n ON n.id = c.replaced_by_card_id \
         WHERE c.customer_id = $1 AND n.created_at < $2",
    ),
    (
        EntryKind::CardClosed,
        "SELECT c.closed_at AS at, c.number AS card, NULL AS fen, NULL AS id, NULL AS detail \
         FROM cards c WHERE c.customer_id = $1 AND c.closed_at IS NOT NULL AND c.closed_at < $2",
    ),
    (
        EntryKind::Recharge,
        "SELECT r.created_at AS at, c.number AS card, r.amount_fen AS fen, r.id AS id, \
         NULL AS detail FROM recharges r JOIN cards c ON c.id = r.card_id \
         WHERE c.customer_id = $1 AND r.created_at < $2",
    ),
    (
        EntryKind::ComplaintReceived,
        "SELECT received_at AS at, NULL AS card, NULL AS fen, id, category AS detail \
         FROM complaints WHERE customer_id = $1 AND received_at < $2",
    ),
    (
        EntryKind::ComplaintClosed,
        "SELECT closed_at AS at, NULL AS card, NULL AS fen, id, category AS detail \
         FROM complaints WHERE customer_id = $1 AND closed_at IS NOT NULL AND closed_at < $2",
    ),
    (
        EntryKind::BenefitGranted,
        "SELECT b.granted_at AS at, c.number AS card, NULL AS fen, b.id AS id, o.code AS detail \
         FROM benefits b JOIN cards c ON c.id = b.card_id JOIN offers o ON o.id = b.offer_id \
         WHERE c.customer_id = $1 AND b.granted_at < $2",
    ),
    (
        EntryKind::BenefitRedeemed,
        "SELECT d.redeemed_at AS at, c.number AS card, d.value_fen AS fen, b.id AS id, \
         o.code AS detail FROM redemptions d JOIN benefits b ON b.id = d.benefit_id \
         JOIN cards c ON c.id = b.card_id JOIN offers o ON o.id = b.offer_id \
         WHERE c.customer_id = $1 AND d.reversed_at IS NULL AND d.redeemed_at < $2",
    ),
    (
        EntryKind::ConsentGiven,
        "SELECT k.changed_at AS at, c.number AS card, NULL AS fen, k.id AS id, \
         k.evidence AS detail FROM customer_consents k LEFT JOIN cards c ON c.id = k.card_id \
         WHERE k.customer_id = $1 AND k.given = 1 AND k.changed_at < $2",
    ),
    (
        EntryKind::ConsentWithdrawn,
        "SELECT k.changed_at AS at, c.number AS card, NULL AS fen, k.id AS id, \
         k.evidence AS detail FROM customer_consents k LEFT JOIN cards c ON c.id = k.card_id \
         WHERE k.customer_id = $1 AND k.given = 0 AND k.changed_at < $2",
    ),
    (
        EntryKind::ProspectVisit,
        "SELECT v.visited_at AS at, NULL AS card, NULL AS fen, v.id AS id, v.outcome AS detail \
         FROM prospect_visits v JOIN prospects p ON p.id = v.prospect_id \
         WHERE p.customer_id = $1 AND v.visited_at < $2",
    ),
    (
        EntryKind::CareCall,
        "SELECT contacted_at AS at, NULL AS card, NULL AS fen, id, purpose AS detail \
         FROM care_contacts WHERE customer_id = $1 AND kind = 'call' AND contacted_at < $2",
    ),
    (
        EntryKind::CareCall,
        "SELECT called_at AS at, NULL AS card, NULL AS fen, NULL AS id, \
         CAST('win_back' AS TEXT) AS detail \
         FROM callback_calls WHERE customer_id = $1 AND called_at < $2",
    ),
    (
        EntryKind::CareVisit,
        "SELECT contacted_at AS at, NULL AS card, NULL AS fen, id, purpose AS detail \
         FROM care_contacts WHERE customer_id = $1 AND kind = 'visit' AND contacted_at < $2",
    ),
];

/// Fuel bought on the customer's cards before `before`, one entry per
/// calendar month in the operator's zone.
async fn fuel_months(conn: &mut Conn, id: i64, before: i64, tz: Tz) -> AppResult<Vec<Entry>> {
    let sales = sqlx::query(
        "SELECT s.created_at, s.litres_cl, s.charged_fen FROM sales s \
         JOIN cards c ON c.id = s.card_id WHERE c.customer_id = $1 AND s.created_at < $2 \
         ORDER BY s.created_at DESC",
    )
    .bind(id)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    let mut months: Vec<(String, Entry, i64, i64)> = Vec::new();
    for s in &sales {
        let at: i64 = s.try_get("created_at")?;
        let (cl, fen): (i64, i64) = (s.try_get("litres_cl")?, s.try_get("charged_fen")?);
        let month = crate::time::local_date(at, tz).format("%Y-%m").to_string();
        match months.last_mut() {
            Some((m, e, litres, amount)) if *m == month => {
                *litres = litres.saturating_add(cl);
                *amount = amount.saturating_add(fen);
                e.count = e.count.map(|n| n + 1);
            }
            _ => {
                let mut e = Entry::new(at, EntryKind::FuelMonth);
                e.month = Some(month.clone());
                e.count = Some(1);
                months.push((month, e, cl, fen));
            }
        }
    }
    Ok(months
        .into_iter()
        .map(|(_, mut e, cl, fen)| {
            e.litres = Some(Litres::from_cl(cl));
            e.amount = Some(Money::from_fen(fen));
            e
        })
        .collect())
}

/// The months the monthly grading moved the customer to another level,
/// each dated at the start of its month.
async fn level_changes(conn: &mut Conn, id: i64, before: i64, tz: Tz) -> AppResult<Vec<Entry>> {
    let grades = sqlx::query(
        "SELECT month, level FROM customer_grades WHERE customer_id = $1 ORDER BY month",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    let mut last: Option<String> = None;
    for g in &grades {
        let (month, level): (String, String) = (g.try_get("month")?, g.try_get("level")?);
        if last.as_deref() == Some(level.as_str()) {
            continue;
        }
        last = Some(level.clone());
        let start = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| crate::time::month_span(d.with_day(1)?, tz))
            .map(|(from, _)| from)
            .ok_or_else(|| AppError::internal("a grade's month", month.clone()))?;
        if start < before {
            let mut e = Entry::new(start, EntryKind::LevelChanged);
            e.month = Some(month);
            e.detail = Some(level);
            out.push(e);
        }
    }
    Ok(out)
}

/// A customer's timeline before `before` (all of it when none), newest
/// first, at most [`TIMELINE_LIMIT`] entries.
pub async fn timeline(
    conn: &mut Conn,
    id: i64,
    before: Option<i64>,
    tz: Tz,
) -> AppResult<Vec<Entry>> {
    customers::get(conn, id).await?;
    let before = before.unwrap_or(i64::MAX);
    let mut entries = Vec::new();
    for (kind, sql) in SOURCES {
        for r in rows(conn, sql, id, before).await? {
            let mut e = Entry::new(r.try_get("at")?, *kind);
            e.card = r.try_get("card")?;
            e.amount = r.try_get::<Option<i64>, _>("fen")?.map(Money::from_fen);
            e.id = r.try_get("id")?;
            e.detail = r.try_get("detail")?;
            entries.push(e);
        }
    }
    entries.extend(fuel_months(conn, id, before, tz).await?);
    entries.extend(level_changes(conn, id, before, tz).await?);
    entries.sort_by_key(|e| std::cmp::Reverse(e.at_us));
    entries.truncate(TIMELINE_LIMIT);
    Ok(entries)
}

/// The number a company is registered under: its registration number, else
/// the business licence it showed as its ID document.
fn registration(a: &Archive) -> Option<&str> {
    a.registration_number
        .as_deref()
        .or(match a.customer.id_kind {
            Some(customers::IdKind::BusinessLicence) => a.customer.id_number.as_deref(),
            _ => None,
        })
}

/// Whether two records are the same customer: the same kind, and the same
/// phone (persons) or registration number (companies).
fn same_customer(a: &Archive, b: &Archive) -> bool {
    let same = |x: Option<&str>, y: Option<&str>| matches!((x, y), (Some(x), Some(y)) if x == y);
    a.customer.kind == b.customer.kind
        && match a.customer.kind {
            CustomerKind::Person => same(a.customer.phone.as_deref(), b.customer.phone.as_deref()),
            CustomerKind::Company => same(registration(a), registration(b)),
        }
}

/// What a merge moved to the record that stays.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Moved {
    pub cards: u64,
    pub contacts: u64,
    pub complaints: u64,
    pub prospects: u64,
    pub benefits: u64,
    /// The consents given and withdrawn: the history of what the customer
    /// agreed to stays with them.
    pub consents: u64,
    /// The calls and visits made to them (the call-back list's calls
    /// too) and the visits planned: their care goes on under one record.
    pub care_contacts: u64,
    pub callback_calls: u64,
    pub planned_visits: u64,
}

/// The company's fleet tables: a company record that has any of these is
/// not merged (its fleet's plans, vehicles and users are its own).
const FLEET_TABLES: &[&str] = &["vehicles", "allocation_plans", "credit_lines", "users"];

/// Merges record `other` into `keep`: cards, contacts, complaints, the
/// prospect it was won from, benefits, the consent history and the care
/// log with its planned visits move;
/// `other` points at `keep`.
/// `None` when it already was (a repeat answers the same).
pub async fn merge(conn: &mut Conn, keep: i64, other: i64) -> AppResult<Option<Moved>> {
    if keep == other {
        return Err(AppError::invalid(
            "other_id",
            "other_id: a record is not merged into itself",
        ));
    }
    let (k, o) = (read(conn, keep).await?, read(conn, other).await?);
    if o.merged_into == Some(keep) {
        return Ok(None);
    }
    live(&k)?;
    live(&o)?;
    if !same_customer(&k, &o) {
        return Err(AppError::new(
            Code::NotTheSameCustomer,
            "only records of the same kind with the same phone (a person) or registration \
             number (a company) are merged",
        ));
    }
    if o.customer.kind == CustomerKind::Company {
        for table in FLEET_TABLES {
            let column = if *table == "credit_lines" {
                "customer_id"
            } else {
                "company_id"
            };
            let held = sqlx::query(&format!(
                "SELECT 1 AS one FROM {table} WHERE {column} = $1 LIMIT 1"
            ))
            .bind(other)
            .fetch_optional(&mut *conn)
            .await?;
            if held.is_some() {
                return Err(AppError::new(
                    Code::IllegalTransition,
                    format!("customer {other} runs a fleet ({table}): its fleet stays its own"),
                ));
            }
        }
    }
    let mut moved = Moved::default();
    for (table, count) in [
        ("cards", &mut moved.cards),
        ("customer_contacts", &mut moved.contacts),
        ("complaints", &mut moved.complaints),
        ("prospects", &mut moved.prospects),
        ("benefits", &mut moved.benefits),
        ("customer_consents", &mut moved.consents),
        ("care_contacts", &mut moved.care_contacts),
        ("callback_calls", &mut moved.callback_calls),
        ("planned_visits", &mut moved.planned_visits),
    ] {
        *count = sqlx::query(&format!(
            "UPDATE {table} SET customer_id = $1 WHERE customer_id = $2"
        ))
        .bind(keep)
        .bind(other)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    sqlx::query("UPDATE customers SET merged_into = $1 WHERE id = $2")
        .bind(keep)
        .bind(other)
        .execute(&mut *conn)
        .await?;
    Ok(Some(moved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: 1,
            username: "u".into(),
            role,
            station_id: Some(1),
            company_id: None,
            merchant: None,
            district: None,
            address: None,
        }
    }

    #[test]
    fn the_registration_number_is_masked_like_a_document_number() {
        let archive = Archive {
            customer: Customer {
                id: 7,
                kind: CustomerKind::Company,
                name: "顺达物流".into(),
                phone: Some("057188881234".into()),
                id_number: Some("91330100MA27XXXX1X".into()),
                id_kind: Some(customers::IdKind::BusinessLicence),
                contact_name: None,
                address: None,
                consents: Consents::default(),
            },
            registration_number: Some("91330100MA27XXXX1X".into()),
            preferred_station: None,
            notes: None,
            contacts: Vec::new(),
            merged_into: None,
            standing: CustomerStanding::default(),
        };
        let masked = archive.clone().shown_to(&actor(Role::Cashier));
        assert_eq!(
            masked.registration_number.as_deref(),
            Some("**************XX1X")
        );
        assert_eq!(masked.customer.id_number, masked.registration_number);
        let whole = archive.shown_to(&actor(Role::Hq));
        assert_eq!(
            whole.registration_number.as_deref(),
            Some("91330100MA27XXXX1X")
        );
    }
}

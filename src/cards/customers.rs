//! Customers: people and companies who hold cards, with their contacts.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::auth::Actor;
use crate::auth::policy::{self, Action, Target};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    Person,
    Company,
}

impl CustomerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerKind::Person => "person",
            CustomerKind::Company => "company",
        }
    }
}

/// The kinds of ID document a holder can show at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// 居民身份证, the default.
    ResidentId,
    Passport,
    /// 港澳台居民来往内地通行证.
    TravelPermit,
    /// 营业执照 (the unified social credit code) of a company.
    BusinessLicence,
}

impl IdKind {
    pub const ALL: [IdKind; 4] = [
        IdKind::ResidentId,
        IdKind::Passport,
        IdKind::TravelPermit,
        IdKind::BusinessLicence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::ResidentId => "resident_id",
            IdKind::Passport => "passport",
            IdKind::TravelPermit => "travel_permit",
            IdKind::BusinessLicence => "business_licence",
        }
    }

    pub fn parse(text: &str) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: i64,
    pub kind: CustomerKind,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    /// The kind of document `id_number` is.
    pub id_kind: Option<IdKind>,
    pub contact_name: Option<String>,
    pub address: Option<String>,
    pub consents: Consents,
}

/// What the customer lets the network do with their data.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consents {
    /// Send partner merchants their name, document and phone (an insurer
    /// registering the policy a voucher grants).
    #[serde(default)]
    pub share_with_partners: bool,
    /// Receive the network's offers (SMS, calls) as marketing.
    #[serde(default)]
    pub marketing: bool,
}

impl Customer {
    /// The customer as `actor` may see them: phone and ID number masked
    /// unless the policy lets the actor read personal data
    /// ([`Action::ReadPersonalData`]).
    pub fn shown_to(mut self, actor: &Actor) -> Customer {
        self.phone = shown_to(actor, self.id, self.phone);
        self.id_number = shown_to(actor, self.id, self.id_number);
        self
    }
}

/// A piece of customer `customer_id`'s personal data (a phone, a document
/// number) as `actor` may see it: whole, or masked unless the policy lets
/// the actor read personal data ([`Action::ReadPersonalData`]).
pub fn shown_to(actor: &Actor, customer_id: i64, text: Option<String>) -> Option<String> {
    if policy::permits(
        actor,
        Action::ReadPersonalData,
        &Target::company(customer_id),
    ) {
        text
    } else {
        text.as_deref().map(mask)
    }
}

/// What a role that may not see personal data is shown of a phone or an ID
/// document number: its last four characters, the rest starred.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let hidden = chars.len().saturating_sub(4);
    let shown: String = chars[hidden..].iter().collect();
    format!("{}{shown}", "*".repeat(hidden))
}

/// A new customer as a request carries it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub kind: CustomerKind,
    pub name: String,
    pub phone: Option<String>,
    /// The holder's ID document number: a counter checks a holder who
    /// forgot the PIN or lost the card against it.
    pub id_number: Option<String>,
    /// The kind of document `id_number` is (default `resident_id`).
    pub id_kind: Option<IdKind>,
    pub contact_name: Option<String>,
    pub address: Option<String>,
    /// What the customer consents to (default: nothing).
    #[serde(default)]
    pub consents: Option<Consents>,
}

fn clean(opt: &Option<String>) -> Option<String> {
    opt.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A phone as the counter dials it: 5–20 digits, '+', '-' or spaces.
pub fn check_phone(phone: &str) -> AppResult<()> {
    let ok = (5..=20).contains(&phone.len())
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || "+- ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AppError::new(
            Code::ValidationFailed,
            "phone: 5–20 digits, '+', '-' or spaces",
        ))
    }
}

impl NewCustomer {
    /// Whether the new record consents to sharing with partners: only with
    /// the customer's ID document number typed from the document shown
    /// (the record's own document is then the evidence; [`create_by`]
    /// records it).
    fn shares(&self) -> AppResult<bool> {
        let shares = self.consents.is_some_and(|c| c.share_with_partners);
        if shares && clean(&self.id_number).is_none() {
            return Err(consent_evidence_required());
        }
        Ok(shares)
    }

    pub fn validate(&self) -> AppResult<()> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::new(
                Code::ValidationFailed,
                "name: 1–100 characters",
            ));
        }
        if let Some(phone) = clean(&self.phone) {
            check_phone(&phone)?;
        }
        crate::text::refuse_control("name", &self.name)?;
        for (field, value) in [
            ("phone", &self.phone),
            ("id_number", &self.id_number),
            ("contact_name", &self.contact_name),
            ("address", &self.address),
        ] {
            if let Some(v) = value {
                crate::text::refuse_control(field, v)?;
            }
            if value.as_ref().is_some_and(|v| v.chars().count() > 200) {
                return Err(AppError::new(
                    Code::ValidationFailed,
                    format!("{field}: at most 200 characters"),
                ));
            }
        }
        self.shares()?;
        Ok(())
    }
}

/// The refusal of a consent to share with partners given without the
/// customer's evidence.
pub fn consent_evidence_required() -> AppError {
    AppError::new(
        Code::ConsentEvidenceRequired,
        "consent to share name, ID document and phone with partners is the customer's own: \
         give their card's PIN (consent_evidence.card_number and pin) or their ID document \
         checked against the record (consent_evidence.identity); a new customer's consent \
         needs the ID document number typed from the document shown",
    )
}

/// What showed that the customer themselves gave or withdrew consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The PIN of one of the customer's own cards, tried and counted.
    Pin,
    /// The customer's ID document, checked against the record.
    Identity,
    /// The customer's word: enough to withdraw, never to give.
    Word,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Pin => "pin",
            Evidence::Identity => "identity",
            Evidence::Word => "word",
        }
    }
}

/// Who records a consent change, where and when.
#[derive(Debug, Clone, Copy)]
pub struct ConsentBy {
    pub user: Option<i64>,
    pub station: Option<i64>,
    pub now: i64,
}

/// A change of the consent to share with partners, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConsentChange {
    pub given: bool,
    pub evidence: Evidence,
    pub card: Option<i64>,
}

/// The pure rule of a consent change from `before` to `wanted` with the
/// evidence verified (`None`: only the customer's word): nothing when it
/// does not change; a withdrawal on the word alone; a consent only with a
/// PIN or a document, refused otherwise.
pub fn consent_change(
    before: bool,
    wanted: bool,
    verified: Option<(Evidence, Option<i64>)>,
) -> AppResult<Option<ConsentChange>> {
    match (before, wanted, verified) {
        (b, w, _) if b == w => Ok(None),
        (_, false, _) => Ok(Some(ConsentChange {
            given: false,
            evidence: Evidence::Word,
            card: None,
        })),
        (_, true, Some((evidence, card))) if evidence != Evidence::Word => {
            Ok(Some(ConsentChange {
                given: true,
                evidence,
                card,
            }))
        }
        (_, true, _) => Err(consent_evidence_required()),
    }
}

/// The customer's consent to share, read under the customer's row lock so
/// that a change decides on what stands until it commits.
pub async fn shares_for_update(conn: &mut Conn, id: i64) -> AppResult<bool> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!(
        "SELECT share_with_partners FROM customers WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::CustomerNotFound, format!("no customer {id}")))?;
    Ok(row.try_get::<i64, _>("share_with_partners")? == 1)
}

/// Applies a consent change ([`consent_change`]) to customer `id`, whose
/// row the caller has locked ([`shares_for_update`]): the flag, the
/// partners' lists and the record of the change. A consent given now covers
/// the customer's benefits still granted (they consented for those); a
/// withdrawal takes every one of their benefits off the lists at once.
pub async fn apply_consent(
    conn: &mut Conn,
    id: i64,
    change: ConsentChange,
    by: ConsentBy,
) -> AppResult<()> {
    sqlx::query("UPDATE customers SET share_with_partners = $1 WHERE id = $2")
        .bind(i64::from(change.given))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let benefits = if change.given {
        "UPDATE benefits SET consent = 1 WHERE customer_id = $1 AND status = 'granted'"
    } else {
        "UPDATE benefits SET consent = 0 WHERE customer_id = $1"
    };
    sqlx::query(benefits).bind(id).execute(&mut *conn).await?;
    record_consent(conn, id, change, by).await
}

async fn record_consent(
    conn: &mut Conn,
    id: i64,
    change: ConsentChange,
    by: ConsentBy,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO customer_consents (customer_id, given, evidence, card_id, user_id, \
         station_id, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(i64::from(change.given))
    .bind(change.evidence.as_str())
    .bind(change.card)
    .bind(by.user)
    .bind(by.station)
    .bind(by.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// [`create_by`] with nobody recorded as the user (the demo, the tools, a
/// card's conversion).
pub async fn create(conn: &mut Conn, c: &NewCustomer, now: i64) -> AppResult<Customer> {
    create_by(
        conn,
        c,
        ConsentBy {
            user: None,
            station: None,
            now,
        },
    )
    .await
}

/// Creates a customer; a consent to share given with the record is
/// recorded as given on the ID document typed from the document shown.
pub async fn create_by(conn: &mut Conn, c: &NewCustomer, by: ConsentBy) -> AppResult<Customer> {
    let now = by.now;
    c.validate()?;
    let shares = c.shares()?;
    let row = sqlx::query(
        "INSERT INTO customers (kind, name, phone, id_number, id_kind, contact_name, address, \
         share_with_partners, marketing_consent, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(c.kind.as_str())
    .bind(c.name.trim())
    .bind(clean(&c.phone))
    .bind(clean(&c.id_number))
    .bind(clean(&c.id_number).map(|_| c.id_kind.unwrap_or(IdKind::ResidentId).as_str()))
    .bind(clean(&c.contact_name))
    .bind(clean(&c.address))
    .bind(i64::from(shares))
    .bind(i64::from(c.consents.unwrap_or_default().marketing))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    if shares {
        let given = ConsentChange {
            given: true,
            evidence: Evidence::Identity,
            card: None,
        };
        record_consent(conn, id, given, by).await?;
    }
    get(conn, id).await
}

fn from_row(row: &sqlx::any::AnyRow) -> AppResult<Customer> {
    let kind: String = row.try_get("kind")?;
    Ok(Customer {
        id: row.try_get("id")?,
        kind: if kind == "company" {
            CustomerKind::Company
        } else {
            CustomerKind::Person
        },
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        id_number: row.try_get("id_number")?,
        id_kind: row
            .try_get::<Option<String>, _>("id_kind")?
            .as_deref()
            .and_then(IdKind::parse),
        contact_name: row.try_get("contact_name")?,
        address: row.try_get("address")?,
        consents: Consents {
            share_with_partners: row.try_get::<i64, _>("share_with_partners")? == 1,
            marketing: row.try_get::<i64, _>("marketing_consent")? == 1,
        },
    })
}

pub async fn get(conn: &mut Conn, id: i64) -> AppResult<Customer> {
    let row = sqlx::query(
        "SELECT id, kind, name, phone, id_number, id_kind, contact_name, address, \
         share_with_partners, marketing_consent FROM customers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::CustomerNotFound, format!("no customer {id}")))?;
    from_row(&row)
}

/// Card numbers held by customers with this phone, for the counter search
/// (a record merged into another is no longer found: its cards moved).
pub async fn cards_by_phone(conn: &mut Conn, phone: &str) -> AppResult<Vec<String>> {
    crate::text::refuse_control("phone", phone)?;
    let rows = sqlx::query(
        "SELECT c.number FROM cards c JOIN customers cu ON cu.id = c.customer_id \
         WHERE cu.phone = $1 AND cu.merged_into IS NULL ORDER BY c.id LIMIT 50",
    )
    .bind(phone.trim())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get("number").map_err(AppError::from))
        .collect()
}

/// The numbers of a customer's cards (a company's, say), oldest first, at
/// most `limit`.
pub async fn cards_of(conn: &mut Conn, customer_id: i64, limit: i64) -> AppResult<Vec<String>> {
    let rows = sqlx::query("SELECT number FROM cards WHERE customer_id = $1 ORDER BY id LIMIT $2")
        .bind(customer_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get("number").map_err(AppError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_is_given_only_with_evidence_and_withdrawn_on_the_word() {
        let pin = Some((Evidence::Pin, Some(3)));
        assert_eq!(consent_change(false, false, None).ok(), Some(None));
        assert_eq!(consent_change(true, true, None).ok(), Some(None));
        let e = consent_change(false, true, None).unwrap_err();
        assert_eq!(e.code, Code::ConsentEvidenceRequired);
        let e = consent_change(false, true, Some((Evidence::Word, None))).unwrap_err();
        assert_eq!(e.code, Code::ConsentEvidenceRequired);
        let given = consent_change(false, true, pin).ok().flatten();
        assert_eq!(
            given,
            Some(ConsentChange {
                given: true,
                evidence: Evidence::Pin,
                card: Some(3)
            })
        );
        let withdrawn = consent_change(true, false, None).ok().flatten();
        assert_eq!(
            withdrawn.map(|c| (c.given, c.evidence)),
            Some((false, Evidence::Word))
        );
    }

    #[test]
    fn a_new_customer_consents_only_with_the_document_number_typed() {
        let mut c = NewCustomer {
            kind: CustomerKind::Person,
            name: "张伟".into(),
            phone: None,
            id_number: None,
            id_kind: None,
            contact_name: None,
            address: None,
            consents: Some(Consents {
                share_with_partners: true,
                marketing: false,
            }),
        };
        let e = c.validate().unwrap_err();
        assert_eq!(e.code, Code::ConsentEvidenceRequired);
        c.id_number = Some("  ".into());
        assert!(c.validate().is_err());
        c.id_number = Some("33010219800101123X".into());
        assert!(c.validate().is_ok());
        c.id_number = None;
        c.consents = Some(Consents::default());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn masks_keep_the_last_four_characters() {
        assert_eq!(mask("13800000001"), "*******0001");
        assert_eq!(mask("33010219800101123X"), "**************123X");
        assert_eq!(mask("123"), "123");
        assert_eq!(mask(""), "");
    }
}

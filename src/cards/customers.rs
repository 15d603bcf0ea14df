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
        Ok(())
    }
}

pub async fn create(conn: &mut Conn, c: &NewCustomer, now: i64) -> AppResult<Customer> {
    c.validate()?;
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
    .bind(i64::from(
        c.consents.unwrap_or_default().share_with_partners,
    ))
    .bind(i64::from(c.consents.unwrap_or_default().marketing))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    get(conn, row.try_get("id")?).await
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

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_keep_the_last_four_characters() {
        assert_eq!(mask("13800000001"), "*******0001");
        assert_eq!(mask("33010219800101123X"), "**************123X");
        assert_eq!(mask("123"), "123");
        assert_eq!(mask(""), "");
    }
}

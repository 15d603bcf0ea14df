//! Partner merchants and the stations they partner with. A merchant's
//! users (role `merchant`) act for that merchant only.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Merchant {
    #[schema(example = "M001")]
    pub code: String,
    #[schema(example = "平安财险城东营业部")]
    pub name: String,
    /// What the merchant does: `insurance`, `car_wash`, `restaurant`, …
    #[schema(example = "insurance")]
    pub category: String,
    pub address: Option<String>,
    pub contact: Option<String>,
    /// The stations it partners with, by code.
    pub stations: Vec<String>,
}

/// A merchant to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantInput {
    #[schema(example = "M001")]
    pub code: String,
    #[schema(example = "平安财险城东营业部")]
    pub name: String,
    #[schema(example = "insurance")]
    pub category: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
    #[serde(default)]
    #[schema(example = json!(["S001"]))]
    pub stations: Vec<String>,
}

/// A code names merchants, offers and the like in paths and files.
pub fn check_code(field: &str, code: &str) -> AppResult<()> {
    let ok = (1..=32).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            format!("{field}: 1–32 letters, digits, '-' or '_'"),
        ))
    }
}

impl MerchantInput {
    pub fn validate(&self) -> AppResult<()> {
        check_code("code", &self.code)?;
        crate::text::required("name", &self.name, 100)?;
        crate::text::required("category", &self.category, 50)?;
        crate::text::optional("address", self.address.as_deref(), 200)?;
        crate::text::optional("contact", self.contact.as_deref(), 100)?;
        if self.stations.len() > 100 {
            return Err(AppError::new(
                Code::ValidationFailed,
                "stations: at most 100",
            ));
        }
        Ok(())
    }
}

/// A merchant on file with its row id.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub merchant: Merchant,
}

pub async fn create(conn: &mut Conn, input: &MerchantInput, now: i64) -> AppResult<Merchant> {
    input.validate()?;
    let row = sqlx::query(
        "INSERT INTO merchants (code, name, category, address, contact, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&input.code)
    .bind(input.name.trim())
    .bind(input.category.trim())
    .bind(crate::text::optional(
        "address",
        input.address.as_deref(),
        200,
    )?)
    .bind(crate::text::optional(
        "contact",
        input.contact.as_deref(),
        100,
    )?)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    for code in &input.stations {
        let station = crate::stations::find(conn, code).await?;
        sqlx::query(
            "INSERT INTO merchant_stations (merchant_id, station_id) VALUES ($1, $2) \
             ON CONFLICT (merchant_id, station_id) DO NOTHING",
        )
        .bind(id)
        .bind(station.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(find(conn, &input.code).await?.merchant)
}

/// The answer for a merchant that is not there; to a merchant's own user,
/// also the answer for another merchant.
pub fn not_found(code: &str) -> AppError {
    AppError::new(Code::MerchantNotFound, format!("no merchant {code}"))
}

pub async fn find(conn: &mut Conn, code: &str) -> AppResult<Stored> {
    let row = sqlx::query(
        "SELECT id, code, name, category, address, contact FROM merchants WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| not_found(code))?;
    from_row(conn, &row).await
}

async fn from_row(conn: &mut Conn, row: &sqlx::any::AnyRow) -> AppResult<Stored> {
    let id: i64 = row.try_get("id")?;
    let stations = sqlx::query(
        "SELECT s.code FROM merchant_stations ms JOIN stations s ON s.id = ms.station_id \
         WHERE ms.merchant_id = $1 ORDER BY s.code",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("code"))
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Stored {
        id,
        merchant: Merchant {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            category: row.try_get("category")?,
            address: row.try_get("address")?,
            contact: row.try_get("contact")?,
            stations,
        },
    })
}

/// Every merchant, by code.
pub async fn list(conn: &mut Conn) -> AppResult<Vec<Merchant>> {
    let rows = sqlx::query(
        "SELECT id, code, name, category, address, contact FROM merchants ORDER BY code",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(from_row(conn, row).await?.merchant);
    }
    Ok(out)
}

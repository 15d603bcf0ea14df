//! Districts (片区): the groups of stations a district manager looks after
//! and head office sets targets for. A station names its district by code;
//! a station added with a district not yet on file brings it in, named by
//! its code until head office names it.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct District {
    /// What stations and users name the district by.
    #[schema(example = "东区")]
    pub code: String,
    #[schema(example = "东区片区")]
    pub name: String,
}

fn from_row(row: &sqlx::any::AnyRow) -> AppResult<District> {
    Ok(District {
        code: row.try_get("code")?,
        name: row.try_get("name")?,
    })
}

/// Checks a district's code and name: not blank, no control characters,
/// at most 100 characters each.
pub fn validate(code: &str, name: &str) -> AppResult<()> {
    crate::text::required("code", code, 100)?;
    crate::text::required("name", name, 100)?;
    Ok(())
}

/// Adds a district; a code already on file is a duplicate, unless it was
/// brought in by a station and still carries its code as its name (then
/// head office names it now).
pub async fn create(
    conn: &mut Conn,
    code: &str,
    name: &str,
    now: i64,
    tz: Tz,
) -> AppResult<District> {
    validate(code, name)?;
    let (code, name) = (code.trim(), name.trim());
    let named = sqlx::query(
        "UPDATE districts SET name = $1 WHERE code = $2 AND name = code RETURNING code, name",
    )
    .bind(name)
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = named {
        return from_row(&row);
    }
    let row = sqlx::query(
        "INSERT INTO districts (code, name, created_at) VALUES ($1, $2, $3) RETURNING code, name",
    )
    .bind(code)
    .bind(name)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    crate::acquisition::weekly::draft_new(conn, code, now, tz).await?;
    from_row(&row)
}

/// Brings in a district a station names, if it is not on file.
pub async fn ensure(conn: &mut Conn, code: &str, now: i64, tz: Tz) -> AppResult<()> {
    let added = sqlx::query(
        "INSERT INTO districts (code, name, created_at) VALUES ($1, $1, $2) \
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(code)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if added.rows_affected() > 0 {
        crate::acquisition::weekly::draft_new(conn, code, now, tz).await?;
    }
    Ok(())
}

pub async fn find(conn: &mut Conn, code: &str) -> AppResult<District> {
    let row = sqlx::query("SELECT code, name FROM districts WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::DistrictNotFound, format!("no district {code:?}")))?;
    from_row(&row)
}

pub async fn list(conn: &mut Conn) -> AppResult<Vec<District>> {
    let rows = sqlx::query("SELECT code, name FROM districts ORDER BY code")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

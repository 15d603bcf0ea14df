//! Stations and their districts, cashier shifts (交班) and the station
//! day-end report.

pub mod days;
pub mod districts;
pub mod report;
pub mod shifts;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::auth::Actor;
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Station {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub district: String,
}

impl Station {
    /// The account every refuel at the station credits (opened with the
    /// first one): the card's money becomes the station's takings.
    pub async fn sales_account(&self, conn: &mut Conn, now: i64) -> AppResult<i64> {
        let name = format!("sales:{}", self.code);
        crate::ledger::system_account(conn, crate::ledger::AccountKind::Sales, &name, now).await
    }
}

fn from_row(row: &sqlx::any::AnyRow) -> AppResult<Station> {
    Ok(Station {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        district: row.try_get("district")?,
    })
}

pub async fn create(
    conn: &mut Conn,
    code: &str,
    name: &str,
    district: &str,
    now: i64,
    tz: chrono_tz::Tz,
) -> AppResult<Station> {
    let ok = (1..=16).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok || name.trim().is_empty() {
        return Err(AppError::new(
            Code::ValidationFailed,
            "station code: 1–16 letters, digits or '-'; a name is required",
        ));
    }
    for (field, text) in [("name", name), ("district", district)] {
        crate::text::refuse_control(field, text)?;
        if text.chars().count() > 100 {
            return Err(AppError::new(
                Code::ValidationFailed,
                format!("{field}: at most 100 characters"),
            ));
        }
    }
    if !district.trim().is_empty() {
        districts::ensure(conn, district.trim(), now, tz).await?;
    }
    let row = sqlx::query(
        "INSERT INTO stations (code, name, district, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, code, name, district",
    )
    .bind(code)
    .bind(name.trim())
    .bind(district.trim())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    from_row(&row)
}

pub async fn find(conn: &mut Conn, code: &str) -> AppResult<Station> {
    let row = sqlx::query("SELECT id, code, name, district FROM stations WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::StationNotFound, format!("no station {code:?}")))?;
    from_row(&row)
}

pub async fn get(conn: &mut Conn, id: i64) -> AppResult<Station> {
    let row = sqlx::query("SELECT id, code, name, district FROM stations WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::StationNotFound, format!("no station {id}")))?;
    from_row(&row)
}

pub async fn list(conn: &mut Conn) -> AppResult<Vec<Station>> {
    let rows = sqlx::query("SELECT id, code, name, district FROM stations ORDER BY code")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The station a card is issued or replaced at: the one named (which must
/// exist and be the user's own), else the user's own; none for a user
/// without a station who names none.
pub async fn issuing(
    conn: &mut Conn,
    actor: &Actor,
    requested: Option<&str>,
) -> AppResult<Option<Station>> {
    if requested.is_none() && actor.station_id.is_none() {
        return Ok(None);
    }
    for_counter(conn, actor, requested).await.map(Some)
}

/// The station a counter transaction happens at: the actor's own station,
/// or for a user without one (an admin) the station the request names. A
/// cashier cannot book a transaction at another station.
pub async fn for_counter(
    conn: &mut Conn,
    actor: &Actor,
    requested: Option<&str>,
) -> AppResult<Station> {
    match (actor.station_id, requested) {
        (Some(own), None) => get(conn, own).await,
        (Some(own), Some(code)) => {
            let s = find(conn, code).await?;
            if s.id != own {
                return Err(AppError::new(
                    Code::Forbidden,
                    format!("you work at another station than {code}"),
                ));
            }
            Ok(s)
        }
        (None, Some(code)) => find(conn, code).await,
        (None, None) => Err(AppError::new(
            Code::StationRequired,
            "name the station (\"station\": code) for this counter transaction",
        )),
    }
}

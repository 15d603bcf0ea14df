//! Vehicles of a company's fleet, each bound to one fleet card.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::limits::{Control, Hours, Mode, Rules};
use crate::db::{self, Conn};
use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

/// A vehicle as a request or a CSV row gives it; quantities are decimal
/// text, parsed here once for both.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleInput {
    pub plate: String,
    /// car, suv, van, light_truck, heavy_truck, bus, other
    pub vehicle_type: String,
    /// Engine displacement in litres, e.g. "1.6".
    pub displacement: String,
    /// Product codes the vehicle takes, e.g. ["92", "95"].
    pub products: Vec<String>,
    /// Tank capacity in litres.
    pub tank_capacity: String,
    pub baseline_l_per_100km: String,
    pub department: Option<String>,
    pub default_driver: Option<String>,
    pub max_sale_litres: Option<String>,
    pub max_sale_amount: Option<String>,
    pub max_day_litres: Option<String>,
    pub max_day_amount: Option<String>,
    /// Local hours, "06:00-22:00".
    pub allowed_hours: Option<String>,
    pub allowed_stations: Option<Vec<String>>,
    /// Control → "decline" (default) or "alert".
    #[serde(default)]
    pub controls: BTreeMap<String, Mode>,
}

pub const VEHICLE_TYPES: [&str; 7] = [
    "car",
    "suv",
    "van",
    "light_truck",
    "heavy_truck",
    "bus",
    "other",
];

/// A validated vehicle, in storage units.
#[derive(Debug, Clone)]
pub struct NewVehicle {
    pub plate: String,
    pub vehicle_type: String,
    pub displacement_ml: i64,
    pub products: Vec<String>,
    pub tank_cl: i64,
    pub baseline_cl_per_100km: i64,
    pub department: Option<String>,
    pub default_driver: Option<String>,
    pub max_sale_cl: Option<i64>,
    pub max_sale_fen: Option<i64>,
    pub max_day_cl: Option<i64>,
    pub max_day_fen: Option<i64>,
    pub allowed_hours: Option<String>,
    pub allowed_stations: Option<Vec<String>>,
    pub controls: BTreeMap<Control, Mode>,
}

fn invalid(field: &str, why: impl std::fmt::Display) -> AppError {
    AppError::invalid(field, format!("{field}: {why}"))
}

fn litres(field: &str, text: &str) -> AppResult<i64> {
    Litres::parse_positive(text)
        .map(Litres::cl)
        .map_err(|e| invalid(field, e))
}

fn money(field: &str, text: &str) -> AppResult<i64> {
    Money::parse_positive(text)
        .map(Money::fen)
        .map_err(|e| invalid(field, e))
}

/// Normalises a plate: trimmed, upper case, no inner spaces.
pub fn normalise_plate(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

impl VehicleInput {
    pub fn validate(&self) -> AppResult<NewVehicle> {
        let plate = normalise_plate(&self.plate);
        if plate.is_empty() || plate.chars().count() > 16 {
            return Err(invalid("plate", "1–16 characters"));
        }
        let vehicle_type = self.vehicle_type.trim().to_lowercase();
        if !VEHICLE_TYPES.contains(&vehicle_type.as_str()) {
            return Err(invalid(
                "vehicle_type",
                format!("one of {}", VEHICLE_TYPES.join(", ")),
            ));
        }
        let displacement_ml = Litres::parse_positive(&self.displacement)
            .map(|l| l.cl() * 10)
            .map_err(|e| invalid("displacement", e))?;
        if self.products.is_empty() || self.products.len() > 5 {
            return Err(invalid("products", "one to five product codes"));
        }
        let baseline = Litres::parse_positive(&self.baseline_l_per_100km)
            .map_err(|e| invalid("baseline_l_per_100km", e))?;
        if let Some(h) = &self.allowed_hours {
            Hours::parse(h).ok_or_else(|| invalid("allowed_hours", "HH:MM-HH:MM"))?;
        }
        let mut controls = BTreeMap::new();
        for (name, mode) in &self.controls {
            let control = Control::parse(name)
                .ok_or_else(|| invalid("controls", format!("unknown control {name:?}")))?;
            controls.insert(control, *mode);
        }
        let opt_text = |o: &Option<String>| {
            o.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        Ok(NewVehicle {
            plate,
            vehicle_type,
            displacement_ml,
            products: self.products.iter().map(|p| p.trim().to_string()).collect(),
            tank_cl: litres("tank_capacity", &self.tank_capacity)?,
            baseline_cl_per_100km: baseline.cl(),
            department: opt_text(&self.department),
            default_driver: opt_text(&self.default_driver),
            max_sale_cl: self
                .max_sale_litres
                .as_deref()
                .map(|t| litres("max_sale_litres", t))
                .transpose()?,
            max_sale_fen: self
                .max_sale_amount
                .as_deref()
                .map(|t| money("max_sale_amount", t))
                .transpose()?,
            max_day_cl: self
                .max_day_litres
                .as_deref()
                .map(|t| litres("max_day_litres", t))
                .transpose()?,
            max_day_fen: self
                .max_day_amount
                .as_deref()
                .map(|t| money("max_day_amount", t))
                .transpose()?,
            allowed_hours: self.allowed_hours.clone(),
            allowed_stations: self.allowed_stations.clone(),
            controls,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Vehicle {
    pub id: i64,
    pub company_id: i64,
    pub plate: String,
    pub vehicle_type: String,
    #[schema(value_type = String)]
    pub displacement: Litres,
    pub products: Vec<String>,
    #[schema(value_type = String)]
    pub tank_capacity: Litres,
    #[schema(value_type = String)]
    pub baseline_l_per_100km: Litres,
    pub department: Option<String>,
    pub default_driver: Option<String>,
    pub card_number: Option<String>,
    pub last_odometer_km: Option<i64>,
    /// False once the vehicle is retired: no allocation, no refuel.
    #[serde(default = "in_service")]
    pub active: bool,
    #[serde(skip)]
    pub rules: Rules,
}

fn in_service() -> bool {
    true
}

const COLUMNS: &str = "v.id, v.company_id, v.plate, v.vehicle_type, v.displacement_ml, v.products, \
    v.tank_capacity_cl, v.baseline_cl_per_100km, v.department, v.default_driver, c.number AS card_number, \
    v.max_sale_cl, v.max_sale_fen, v.max_day_cl, v.max_day_fen, v.allowed_hours, v.allowed_stations, \
    v.controls, v.last_odometer_km, v.active";

fn from_row(row: &sqlx::any::AnyRow) -> AppResult<Vehicle> {
    let bad = |e: serde_json::Error| AppError::internal("stored vehicle", e);
    let products: Vec<String> =
        serde_json::from_str(&row.try_get::<String, _>("products")?).map_err(bad)?;
    let stations: Option<String> = row.try_get("allowed_stations")?;
    let controls: BTreeMap<Control, Mode> =
        serde_json::from_str(&row.try_get::<String, _>("controls")?).map_err(bad)?;
    let hours: Option<String> = row.try_get("allowed_hours")?;
    let plate: String = row.try_get("plate")?;
    let tank = Litres::from_cl(row.try_get("tank_capacity_cl")?);
    let last_odometer_km: Option<i64> = row.try_get("last_odometer_km")?;
    let rules = Rules {
        plate: plate.clone(),
        products: products.clone(),
        tank,
        max_sale_litres: row
            .try_get::<Option<i64>, _>("max_sale_cl")?
            .map(Litres::from_cl),
        max_sale_amount: row
            .try_get::<Option<i64>, _>("max_sale_fen")?
            .map(Money::from_fen),
        max_day_litres: row
            .try_get::<Option<i64>, _>("max_day_cl")?
            .map(Litres::from_cl),
        max_day_amount: row
            .try_get::<Option<i64>, _>("max_day_fen")?
            .map(Money::from_fen),
        hours: hours.as_deref().and_then(Hours::parse),
        stations: stations
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(bad)?,
        modes: controls,
        last_odometer_km,
    };
    Ok(Vehicle {
        id: row.try_get("id")?,
        company_id: row.try_get("company_id")?,
        plate,
        vehicle_type: row.try_get("vehicle_type")?,
        displacement: Litres::from_cl(row.try_get::<i64, _>("displacement_ml")? / 10),
        products,
        tank_capacity: tank,
        baseline_l_per_100km: Litres::from_cl(row.try_get("baseline_cl_per_100km")?),
        department: row.try_get("department")?,
        default_driver: row.try_get("default_driver")?,
        card_number: row.try_get("card_number")?,
        last_odometer_km,
        active: row.try_get::<i64, _>("active")? != 0,
        rules,
    })
}

/// Registers a vehicle; an unbound fleet card of the company with the same
/// plate is bound to it at once.
pub async fn create(
    conn: &mut Conn,
    company_id: i64,
    v: &NewVehicle,
    now: i64,
) -> AppResult<Vehicle> {
    let json = |e: serde_json::Error| AppError::internal("encoding a vehicle", e);
    let card = sqlx::query(
        "SELECT c.id FROM cards c WHERE c.kind = 'fleet' AND c.customer_id = $1 AND c.plate = $2 \
         AND c.status IN ('active', 'locked') AND NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.card_id = c.id)",
    )
    .bind(company_id)
    .bind(&v.plate)
    .fetch_optional(&mut *conn)
    .await?;
    let card_id: Option<i64> = card.map(|r| r.try_get("id")).transpose()?;
    let row = sqlx::query(
        "INSERT INTO vehicles (company_id, plate, vehicle_type, displacement_ml, products, tank_capacity_cl, \
         baseline_cl_per_100km, department, default_driver, card_id, max_sale_cl, max_sale_fen, max_day_cl, \
         max_day_fen, allowed_hours, allowed_stations, controls, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
    )
    .bind(company_id)
    .bind(&v.plate)
    .bind(&v.vehicle_type)
    .bind(v.displacement_ml)
    .bind(serde_json::to_string(&v.products).map_err(json)?)
    .bind(v.tank_cl)
    .bind(v.baseline_cl_per_100km)
    .bind(v.department.as_deref())
    .bind(v.default_driver.as_deref())
    .bind(card_id)
    .bind(v.max_sale_cl)
    .bind(v.max_sale_fen)
    .bind(v.max_day_cl)
    .bind(v.max_day_fen)
    .bind(v.allowed_hours.as_deref())
    .bind(v.allowed_stations.as_ref().map(serde_json::to_string).transpose().map_err(json)?)
    .bind(serde_json::to_string(&v.controls).map_err(json)?)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            AppError::new(Code::Duplicate, format!("vehicle {} is already registered", v.plate))
        } else {
            e.into()
        }
    })?;
    get(conn, row.try_get("id")?).await
}

pub async fn get(conn: &mut Conn, id: i64) -> AppResult<Vehicle> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vehicles v LEFT JOIN cards c ON c.id = v.card_id WHERE v.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::VehicleNotFound, format!("no vehicle {id}")))?;
    from_row(&row)
}

pub async fn by_plate(conn: &mut Conn, company_id: i64, plate: &str) -> AppResult<Vehicle> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vehicles v LEFT JOIN cards c ON c.id = v.card_id WHERE v.company_id = $1 AND v.plate = $2"
    ))
    .bind(company_id)
    .bind(normalise_plate(plate))
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::new(Code::VehicleNotFound, format!("no vehicle {plate}")))?;
    from_row(&row)
}

/// The vehicle a fleet card is bound to, if any.
pub async fn for_card(conn: &mut Conn, card_id: i64) -> AppResult<Option<Vehicle>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM vehicles v LEFT JOIN cards c ON c.id = v.card_id WHERE v.card_id = $1"))
        .bind(card_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(conn: &mut Conn, company_id: i64) -> AppResult<Vec<Vehicle>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vehicles v LEFT JOIN cards c ON c.id = v.card_id WHERE v.company_id = $1 ORDER BY v.plate"
    ))
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Binds a new fleet card to the company's vehicle of that plate, if the
/// vehicle is registered; one vehicle, one card.
pub async fn bind_card(
    conn: &mut Conn,
    company_id: i64,
    plate: &str,
    card_id: i64,
) -> AppResult<()> {
    let done = sqlx::query(
        "UPDATE vehicles SET card_id = $1 WHERE company_id = $2 AND plate = $3 AND (card_id IS NULL OR card_id IN \
         (SELECT id FROM cards WHERE status IN ('lost', 'replaced', 'closed')))",
    )
    .bind(card_id)
    .bind(company_id)
    .bind(normalise_plate(plate))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        let exists =
            sqlx::query("SELECT card_id FROM vehicles WHERE company_id = $1 AND plate = $2")
                .bind(company_id)
                .bind(normalise_plate(plate))
                .fetch_optional(&mut *conn)
                .await?;
        if exists.is_some() {
            return Err(AppError::new(
                Code::Duplicate,
                format!("vehicle {plate} already has an active card: one car, one card"),
            ));
        }
    }
    Ok(())
}

/// Changes a vehicle's description and limits; its plate (what the
/// company knows it by) stays. A retired vehicle is not changed.
pub async fn update(
    conn: &mut Conn,
    company_id: i64,
    plate: &str,
    v: &NewVehicle,
) -> AppResult<Vehicle> {
    let current = by_plate(conn, company_id, plate).await?;
    if v.plate != current.plate {
        return Err(invalid("plate", "a vehicle keeps its plate"));
    }
    if !current.active {
        return Err(retired(&current.plate));
    }
    let json = |e: serde_json::Error| AppError::internal("encoding a vehicle", e);
    sqlx::query(
        "UPDATE vehicles SET vehicle_type = $1, displacement_ml = $2, products = $3, tank_capacity_cl = $4, \
         baseline_cl_per_100km = $5, department = $6, default_driver = $7, max_sale_cl = $8, max_sale_fen = $9, \
         max_day_cl = $10, max_day_fen = $11, allowed_hours = $12, allowed_stations = $13, controls = $14 \
         WHERE id = $15 AND active = 1",
    )
    .bind(&v.vehicle_type)
    .bind(v.displacement_ml)
    .bind(serde_json::to_string(&v.products).map_err(json)?)
    .bind(v.tank_cl)
    .bind(v.baseline_cl_per_100km)
    .bind(v.department.as_deref())
    .bind(v.default_driver.as_deref())
    .bind(v.max_sale_cl)
    .bind(v.max_sale_fen)
    .bind(v.max_day_cl)
    .bind(v.max_day_fen)
    .bind(v.allowed_hours.as_deref())
    .bind(v.allowed_stations.as_ref().map(serde_json::to_string).transpose().map_err(json)?)
    .bind(serde_json::to_string(&v.controls).map_err(json)?)
    .bind(current.id)
    .execute(&mut *conn)
    .await?;
    get(conn, current.id).await
}

/// The refusal of anything done to a retired vehicle.
pub fn retired(plate: &str) -> AppError {
    AppError::new(Code::VehicleRetired, format!("vehicle {plate} is retired"))
}

/// Retires a vehicle, once: it is left out of the next plans and its card
/// buys no more fuel; its history stays.
pub async fn retire(conn: &mut Conn, company_id: i64, plate: &str) -> AppResult<Vehicle> {
    let current = by_plate(conn, company_id, plate).await?;
    let done = sqlx::query("UPDATE vehicles SET active = 0 WHERE id = $1 AND active = 1")
        .bind(current.id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(retired(&current.plate));
    }
    get(conn, current.id).await
}

impl Vehicle {
    /// The vehicle as a request would give it, to change some of it.
    pub fn input(&self) -> VehicleInput {
        let r = &self.rules;
        VehicleInput {
            plate: self.plate.clone(),
            vehicle_type: self.vehicle_type.clone(),
            displacement: self.displacement.to_string(),
            products: self.products.clone(),
            tank_capacity: self.tank_capacity.to_string(),
            baseline_l_per_100km: self.baseline_l_per_100km.to_string(),
            department: self.department.clone(),
            default_driver: self.default_driver.clone(),
            max_sale_litres: r.max_sale_litres.map(|x| x.to_string()),
            max_sale_amount: r.max_sale_amount.map(|x| x.to_string()),
            max_day_litres: r.max_day_litres.map(|x| x.to_string()),
            max_day_amount: r.max_day_amount.map(|x| x.to_string()),
            allowed_hours: r.hours.map(|h| h.to_string()),
            allowed_stations: r.stations.clone(),
            controls: r
                .modes
                .iter()
                .map(|(c, m)| (c.as_str().to_string(), *m))
                .collect(),
        }
    }
}

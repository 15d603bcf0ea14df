//! Fleet cards: vehicles bound one-to-one to fleet cards, and the limits a
//! sale must pass (车队卡, 一车一卡).

pub mod allocation;
pub mod csv_io;
pub mod limits;
pub mod policy;
pub mod requests;
pub mod review;
pub mod usage;
pub mod vehicles;

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;

use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::money::{Litres, Money};
use limits::{Breach, Facts};
use vehicles::Vehicle;

/// The local day and month a sale falls in, and its minute of the day.
pub fn local_periods(at_us: i64, tz: Tz) -> (String, String, u32) {
    let t = DateTime::<Utc>::from_timestamp_micros(at_us)
        .unwrap_or_default()
        .with_timezone(&tz);
    (
        t.format("%Y-%m-%d").to_string(),
        t.format("%Y-%m").to_string(),
        t.hour() * 60 + t.minute(),
    )
}

/// The local minute of the day of a moment (without formatting anything,
/// for reports that look at many refuels).
pub fn minute_of_day(at_us: i64, tz: Tz) -> u32 {
    let t = DateTime::<Utc>::from_timestamp_micros(at_us)
        .unwrap_or_default()
        .with_timezone(&tz);
    t.hour() * 60 + t.minute()
}

/// What a fleet sale still has to do after it is written.
pub struct Cleared {
    pub vehicle_id: i64,
    pub day: String,
    pub month: String,
    pub alerts: Vec<Breach>,
    pub overrides_used: Vec<i64>,
    /// The long trip the refuel is tagged to.
    pub loan_id: Option<i64>,
}

/// The sale being checked, before it is written.
pub struct Pending<'a> {
    pub plate: Option<&'a str>,
    pub product: &'a str,
    pub litres: Litres,
    pub charged: Money,
    pub station: &'a str,
    pub odometer_km: Option<i64>,
    pub at_us: i64,
}

/// Checks a fleet sale against the vehicle's limits under the vehicle's
/// lock. Refuses with the first declining control; otherwise returns the
/// alerts and the overrides this sale uses up.
pub async fn clear(
    conn: &mut Conn,
    vehicle: &Vehicle,
    sale: &Pending<'_>,
    tz: Tz,
) -> AppResult<Cleared> {
    // Under the lock, the odometer is re-read; the rest of the rules only
    // change when a manager edits the vehicle.
    let mut rules = vehicle.rules.clone();
    rules.last_odometer_km = usage::lock_vehicle(conn, vehicle.id).await?;
    let (day, month, minute) = local_periods(sale.at_us, tz);
    let usage::Snapshot {
        usage: used,
        any_override,
        loan_id,
    } = usage::read(conn, vehicle.id, &day, &month, sale.at_us).await?;
    let facts = Facts {
        plate: sale.plate,
        product: sale.product,
        litres: sale.litres,
        charged: sale.charged,
        station: sale.station,
        minute_of_day: minute,
        odometer_km: sale.odometer_km,
    };
    let found = limits::breaches(&rules, &used, &facts);
    let open = if any_override && !found.is_empty() {
        usage::open_overrides(conn, vehicle.id, sale.at_us).await?
    } else {
        Vec::new()
    };
    let overridden: Vec<_> = open.iter().map(|(_, c)| *c).collect();
    let (refused, alerts) = limits::decide(&rules, found, &overridden);
    if let Some(b) = refused {
        return Err(AppError::new(b.code, b.message).with("control", b.control.as_str()));
    }
    let overrides_used = open
        .iter()
        .filter(|(_, c)| {
            alerts.iter().any(|a| a.control == *c)
                && !vehicle
                    .rules
                    .modes
                    .get(c)
                    .is_some_and(|m| *m == limits::Mode::Alert)
        })
        .map(|(id, _)| *id)
        .collect();
    Ok(Cleared {
        vehicle_id: vehicle.id,
        day,
        month,
        alerts,
        overrides_used,
        loan_id,
    })
}

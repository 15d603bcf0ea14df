//! Vehicles as CSV, for the fleet manager's spreadsheet. An import is
//! checked whole before anything is written: a bad row is reported with its
//! line number and reason, and a rejected file writes no row at all.

use std::collections::BTreeMap;

use super::vehicles::{NewVehicle, Vehicle, VehicleInput};
use crate::csv_io::{RowError, cell, optional, rows, table};
use crate::error::{AppError, AppResult, Code};

/// The columns, in order. Lists (products, stations) are separated by `|`.
pub const HEADER: [&str; 14] = [
    "plate",
    "vehicle_type",
    "displacement",
    "products",
    "tank_capacity",
    "baseline_l_per_100km",
    "department",
    "default_driver",
    "max_sale_litres",
    "max_sale_amount",
    "max_day_litres",
    "max_day_amount",
    "allowed_hours",
    "allowed_stations",
];

fn list(text: &str) -> Vec<String> {
    text.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Parses and validates a whole file. Either every row is valid, or the
/// errors of all bad rows are returned.
pub fn parse(text: &str) -> Result<Vec<NewVehicle>, Vec<RowError>> {
    let mut plates = BTreeMap::new();
    rows(text, &HEADER, |line, r| {
        let v = VehicleInput {
            plate: cell(r, 0),
            vehicle_type: cell(r, 1),
            displacement: cell(r, 2),
            products: list(&cell(r, 3)),
            tank_capacity: cell(r, 4),
            baseline_l_per_100km: cell(r, 5),
            department: optional(r, 6),
            default_driver: optional(r, 7),
            max_sale_litres: optional(r, 8),
            max_sale_amount: optional(r, 9),
            max_day_litres: optional(r, 10),
            max_day_amount: optional(r, 11),
            allowed_hours: optional(r, 12),
            allowed_stations: optional(r, 13).map(|s| list(&s)),
            controls: BTreeMap::new(),
        }
        .validate()?;
        match plates.insert(v.plate.clone(), line) {
            Some(first) => Err(AppError::new(
                Code::ValidationFailed,
                format!("plate {} repeats line {first}", v.plate),
            )),
            None => Ok(v),
        }
    })
}

/// The company's vehicles as a CSV file in the import format.
pub fn export(vehicles: &[Vehicle]) -> AppResult<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let rows = vehicles.iter().map(|v| {
        let r = &v.rules;
        vec![
            v.plate.clone(),
            v.vehicle_type.clone(),
            v.displacement.to_string(),
            v.products.join("|"),
            v.tank_capacity.to_string(),
            v.baseline_l_per_100km.to_string(),
            opt(v.department.clone()),
            opt(v.default_driver.clone()),
            opt(r.max_sale_litres.map(|l| l.to_string())),
            opt(r.max_sale_amount.map(|m| m.to_string())),
            opt(r.max_day_litres.map(|l| l.to_string())),
            opt(r.max_day_amount.map(|m| m.to_string())),
            opt(r.hours.map(|h| h.text())),
            opt(r.stations.as_ref().map(|s| s.join("|"))),
        ]
    });
    table(&HEADER, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "plate,vehicle_type,displacement,products,tank_capacity,baseline_l_per_100km,department,default_driver,max_sale_litres,max_sale_amount,max_day_litres,max_day_amount,allowed_hours,allowed_stations\n";

    #[test]
    fn a_good_file_parses() {
        let text =
            format!("{HEAD}浙A00001,car,1.6,92|95,50,7.5,运输部,张三,,,,,06:00-22:00,S1|S2\n");
        let v = parse(&text).unwrap();
        assert_eq!(v[0].products, vec!["92", "95"]);
        assert_eq!(
            v[0].allowed_stations,
            Some(vec!["S1".to_string(), "S2".to_string()])
        );
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let text = format!(
            "{HEAD}浙A00001,car,1.6,92,50,7.5,,,,,,,,\n浙A00002,tank,1.6,92,50,7.5,,,,,,,,\n浙A00003,car,1.6,92,-5,7.5,,,,,,,,\n浙A00001,car,1.6,92,50,7.5,,,,,,,,\n"
        );
        let errors = parse(&text).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(errors[0].reason.contains("vehicle_type"));
        assert!(errors[1].reason.contains("tank_capacity"));
        assert!(errors[2].reason.contains("repeats line 2"));
    }

    #[test]
    fn a_wrong_header_is_refused() {
        assert_eq!(parse("plate,type\nx,y\n").unwrap_err()[0].line, 1);
    }
}

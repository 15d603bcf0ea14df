//! Vehicles as CSV, for the fleet manager's spreadsheet. An import is
//! checked whole before anything is written: a bad row is reported with its
//! line number and reason, and a rejected file writes no row at all.

use std::collections::BTreeMap;

use serde::Serialize;

use super::vehicles::{NewVehicle, Vehicle, VehicleInput};
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

/// The most rows one import takes.
pub const MAX_ROWS: usize = 10_000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

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
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header_ok = reader
        .headers()
        .map(|h| h.iter().collect::<Vec<_>>() == HEADER)
        .unwrap_or(false);
    if !header_ok {
        return Err(vec![RowError {
            line: 1,
            reason: format!("the header must be: {}", HEADER.join(",")),
        }]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut plates = BTreeMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2);
        if i >= MAX_ROWS {
            errors.push(RowError {
                line,
                reason: format!("more than {MAX_ROWS} rows"),
            });
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let optional = |i: usize| Some(field(i)).filter(|s| !s.is_empty());
        let input = VehicleInput {
            plate: field(0),
            vehicle_type: field(1),
            displacement: field(2),
            products: list(&field(3)),
            tank_capacity: field(4),
            baseline_l_per_100km: field(5),
            department: optional(6),
            default_driver: optional(7),
            max_sale_litres: optional(8),
            max_sale_amount: optional(9),
            max_day_litres: optional(10),
            max_day_amount: optional(11),
            allowed_hours: optional(12),
            allowed_stations: optional(13).map(|s| list(&s)),
            controls: BTreeMap::new(),
        };
        match input.validate() {
            Ok(v) => {
                if let Some(first) = plates.insert(v.plate.clone(), line) {
                    errors.push(RowError {
                        line,
                        reason: format!("plate {} repeats line {first}", v.plate),
                    });
                } else {
                    out.push(v);
                }
            }
            Err(e) => errors.push(RowError {
                line,
                reason: e.message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
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

/// A CSV file: the header, then the rows, each cell made safe to open in
/// a spreadsheet ([`inert`]).
pub fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> AppResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal("writing CSV", e);
    w.write_record(header).map_err(fail)?;
    for row in rows {
        w.write_record(row.into_iter().map(inert)).map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::internal("writing CSV", e))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal("writing CSV", e))
}

/// A cell a spreadsheet will not run: text that starts like a formula
/// (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so
/// a department named `=HYPERLINK(…)` stays text. Numbers, negative ones
/// included, stay as they are.
fn inert(cell: String) -> String {
    let formula_like = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula_like && cell.parse::<rust_decimal::Decimal>().is_err() {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The refusal of a file with bad rows.
pub fn rejected(errors: Vec<RowError>) -> AppError {
    let n = errors.len();
    AppError::new(
        Code::InvalidCsv,
        format!("{n} bad row(s); nothing was imported"),
    )
    .with("errors", serde_json::to_value(errors).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_written_as_text() {
        assert_eq!(inert("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(inert("+86 138".into()), "'+86 138");
        assert_eq!(inert("-12.50".into()), "-12.50");
        assert_eq!(inert("运输部".into()), "运输部");
    }

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

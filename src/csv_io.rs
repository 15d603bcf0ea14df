//! CSV for the spreadsheets staff keep: files read whole and checked before
//! anything is written (every bad row named by its line), and tables
//! written so that no cell runs as a formula when opened.

use serde::Serialize;

use crate::error::{AppError, AppResult, Code};

/// The most rows one import takes.
pub const MAX_ROWS: usize = 10_000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// Reads a whole file whose first line must be `header`, each row through
/// `row` with its line number. Either every row is good, or the errors of
/// all bad rows are returned.
pub fn rows<T>(
    text: &str,
    header: &[&str],
    mut row: impl FnMut(u64, &csv::StringRecord) -> AppResult<T>,
) -> Result<Vec<T>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header_ok = reader
        .headers()
        .map(|h| h.iter().collect::<Vec<_>>() == header)
        .unwrap_or(false);
    if !header_ok {
        return Err(vec![RowError {
            line: 1,
            reason: format!("the header must be: {}", header.join(",")),
        }]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2);
        if i >= MAX_ROWS {
            errors.push(RowError {
                line,
                reason: format!("more than {MAX_ROWS} rows"),
            });
            break;
        }
        let parsed = record
            .map_err(|e| format!("unreadable row: {e}"))
            .and_then(|r| row(line, &r).map_err(|e| e.message));
        match parsed {
            Ok(v) => out.push(v),
            Err(reason) => errors.push(RowError { line, reason }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The text of a row's cell (empty when the row is short).
pub fn cell(record: &csv::StringRecord, i: usize) -> String {
    record.get(i).unwrap_or("").to_string()
}

/// A cell's text, or `None` when it is empty.
pub fn optional(record: &csv::StringRecord, i: usize) -> Option<String> {
    Some(cell(record, i)).filter(|s| !s.is_empty())
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

    #[test]
    fn a_wrong_header_is_refused() {
        let r = rows("plate,type\nx,y\n", &["plate"], |_, r| Ok(cell(r, 0)));
        assert_eq!(r.unwrap_err()[0].line, 1);
    }
}

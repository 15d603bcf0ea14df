//! What every page's form does with a refusal and with what was typed: the
//! one reading of which field a refusal is about (and the naming of it
//! where the check that refused did not), the sentence beside that field,
//! and the reading of a typed value. Kept here so that every room marks a
//! refused form the same way (the browser and page tests match on
//! `aria-invalid`, `field-error` and `role="alert"`).

use maud::{Markup, html};

use super::Lang;
use super::text;
use crate::error::{AppError, Code};

/// The form field a refusal is about: the one the error names, or else the
/// one its code is about (a wrong PIN is the PIN's, an unknown vehicle its
/// plate's).
pub fn field_of(e: &AppError) -> Option<&str> {
    e.field().or(match e.code {
        Code::WrongPin | Code::PinRequired | Code::PinLocked => Some("pin"),
        Code::PlateRequired | Code::PlateMismatch | Code::VehicleNotFound => Some("plate"),
        Code::OdometerRequired | Code::OdometerBackwards => Some("odometer"),
        Code::InvalidLitres => Some("litres"),
        Code::InvalidAmount => Some("amount"),
        _ => None,
    })
}

/// Whether the refusal is about the input `field` (which then takes the
/// focus and is marked). A refusal of a group names each of its inputs:
/// `funded_by` is about `funded_by.merchant_percent` too.
pub fn at_fault(e: Option<&AppError>, field: &str) -> bool {
    e.and_then(field_of).is_some_and(|f| {
        field == f
            || field
                .strip_prefix(f)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The refusal beside the input `field`, when it is about that one.
pub fn beside(lang: Lang, e: Option<&AppError>, field: &str) -> Markup {
    field_error(lang, e.filter(|e| at_fault(Some(e), field)))
}

/// The refusal's sentence in the line under an input, when there is one;
/// for a form that decides itself where its refusal goes ([`beside`]
/// decides by the field).
pub fn field_error(lang: Lang, e: Option<&AppError>) -> Markup {
    html! {
        @if let Some(e) = e {
            span.field-error role="alert" { (text::refusal(lang, e)) }
        }
    }
}

/// A typed value, trimmed; a field left empty, or not sent, is none.
pub fn given<'a>(typed: impl Into<Option<&'a str>>) -> Option<String> {
    typed
        .into()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The refusal, naming `field` as the one at fault unless it names one
/// already (the check that refused knows better than the page).
pub fn with_field(e: AppError, field: &str) -> AppError {
    if e.field().is_some() {
        e
    } else {
        e.with("field", field)
    }
}

/// The table of a refused import's bad lines: each line's number (the
/// error's `errors[].line`) and why it was refused, in the page's words
/// (`why` reads the API's `reason`).
pub fn line_report(
    lang: Lang,
    err: &AppError,
    line_label: &'static str,
    problem_label: &'static str,
    why: impl Fn(&str) -> String,
) -> Markup {
    let rows: Vec<(u64, String)> = err
        .extra
        .as_ref()
        .and_then(|x| x.get("errors"))
        .and_then(|e| e.as_array())
        .map(|list| {
            list.iter()
                .map(|r| {
                    let line = r.get("line").and_then(|l| l.as_u64()).unwrap_or(0);
                    let reason = r.get("reason").and_then(|l| l.as_str()).unwrap_or("");
                    (line, why(reason))
                })
                .collect()
        })
        .unwrap_or_default();
    html! {
        @if !rows.is_empty() {
            table #import-report {
                thead { tr { th.num { (text::t(lang, line_label)) } th { (text::t(lang, problem_label)) } } }
                tbody { @for (line, why) in &rows { tr { td.num { (line) } td { (why) } } } }
            }
        }
    }
}

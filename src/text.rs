//! Text is text: no request may carry control characters (C0 and DEL) in
//! a text value — PostgreSQL refuses NUL outright and escape codes would
//! reach every screen and export the value is shown on. Tab and newline are
//! allowed in free-text notes only. Checked where requests are read (JSON
//! bodies, query strings, path parameters) and where a record is validated
//! (a customer typed on a page), the same on both backends.

use serde_json::Value;

use crate::error::{AppError, AppResult};

/// The members written as free text, where a tab or a line break belongs.
const NOTES: &[&str] = &[
    "reason",
    "justification",
    "purpose",
    "route",
    "address",
    "notes",
    "text",
    "answer",
];

fn is_control(c: char) -> bool {
    c < ' ' || c == '\u{7f}'
}

/// Refuses a text value with a control character, naming where it is.
pub fn refuse_control(field: &str, text: &str) -> AppResult<()> {
    let note = NOTES.contains(&field.rsplit('.').next().unwrap_or(field));
    match text
        .chars()
        .find(|&c| is_control(c) && !(note && (c == '\t' || c == '\n')))
    {
        None => Ok(()),
        Some(c) => Err(AppError::invalid(
            field,
            format!(
                "{field}: control character U+{:04X} is not allowed in text",
                u32::from(c)
            ),
        )),
    }
}

/// Checks a required text: trimmed, 1–`max` characters, no control
/// characters. Names the field in the refusal.
pub fn required(field: &str, value: &str, max: usize) -> AppResult<String> {
    crate::text::refuse_control(field, value)?;
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field}: 1–{max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// An optional text: empty is none.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(field, v, max).map(Some),
    }
}

/// Whether a JSON text may hold an escaped control character: JSON carries
/// them only as escapes (`\u0000`, `\n`, …), so a body without any skips the
/// walk of [`refuse_in_json`].
pub fn may_hold_control(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            match json.get(i + 1) {
                Some(b'u') => {
                    let hex = json.get(i + 2..i + 6).unwrap_or_default();
                    let code = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok());
                    if code.is_some_and(|c| c < 0x20 || c == 0x7f) {
                        return true;
                    }
                }
                Some(b'b' | b'f' | b'n' | b'r' | b't') => return true,
                _ => {}
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Refuses any string in a JSON document that holds a control character.
pub fn refuse_in_json(value: &Value, path: &str) -> AppResult<()> {
    match value {
        Value::String(s) => refuse_control(path, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| refuse_in_json(v, &format!("{path}[{i}]"))),
        Value::Object(members) => members.iter().try_for_each(|(k, v)| {
            refuse_control(path, k)?;
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            refuse_in_json(v, &at)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use serde_json::json;

    #[test]
    fn control_characters_are_refused_and_named() {
        assert!(refuse_control("name", "张伟").is_ok());
        for bad in ["a\u{0}b", "\u{1b}[31mred", "x\u{7f}", "tab\there"] {
            let e = refuse_control("name", bad).unwrap_err();
            assert_eq!(e.code, Code::ValidationFailed);
            assert!(e.message.starts_with("name:"), "{}", e.message);
        }
        assert!(refuse_control("reason", "line one\nline two\tend").is_ok());
        assert!(refuse_control("reason", "bell\u{7}").is_err());
        let doc = json!({"customer": {"name": "a\u{0}"}, "tags": ["ok"]});
        let e = refuse_in_json(&doc, "").unwrap_err();
        assert!(e.message.starts_with("customer.name:"), "{}", e.message);
    }

    #[test]
    fn the_quick_scan_finds_every_escaped_control() {
        assert!(!may_hold_control(
            br#"{"name": "\u5f20\u4f1f", "path": "a\\u0000"}"#
        ));
        assert!(!may_hold_control(br#"{"name": "plain"}"#));
        for body in [
            br#"{"name": "\u0000"}"#.as_slice(),
            br#"{"name": "\u001B[31m"}"#,
            br#"{"name": "\u007f"}"#,
            br#"{"reason": "a\nb"}"#,
        ] {
            assert!(may_hold_control(body), "{}", String::from_utf8_lossy(body));
        }
    }
}

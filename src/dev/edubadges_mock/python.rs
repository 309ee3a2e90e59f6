//! Python's text forms, which Edubadges leaks into its error bodies: `repr()`
//! of lists and dicts ("All of them were rejected: [{'error': …}]"), `str()`
//! of values, the names of types in `TypeError`s, and `json.dumps` with its
//! default separators and ASCII escaping (Django's `JsonResponse`).

use serde_json::Value;
use std::fmt::Write as _;

/// Python `repr()` of the value as Python sees parsed JSON.
pub(super) fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&repr_str(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&repr_str(key));
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python `repr()` of a string: single quotes unless the text holds a single
/// quote and no double quote.
pub(super) fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python `str()`: strings as they are, everything else as `repr()`.
pub(super) fn str_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// The Python type name of a parsed JSON value.
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The `TypeError` of `value['entity_id']` when `value` is not a dict.
pub(super) fn subscript_error(value: &Value) -> String {
    match value {
        Value::String(_) => "string indices must be integers, not 'str'".to_owned(),
        Value::Array(_) => "list indices must be integers or slices, not str".to_owned(),
        other => format!("'{}' object is not subscriptable", type_name(other)),
    }
}

/// `json.dumps(value)` with Python's defaults: `", "` and `": "` separators,
/// everything outside printable ASCII escaped as `\uXXXX`.
pub(super) fn json_dumps(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => write_json_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_str(out, key);
                out.push_str(": ");
                write_json(out, item);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repr_matches_python() {
        let list = json!([{"error": "DirectAward with eppn: s1@x", "eppn": null, "email": "a@b.nl"}]);
        assert_eq!(repr(&list), "[{'error': 'DirectAward with eppn: s1@x', 'eppn': None, 'email': 'a@b.nl'}]");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(repr_str("a\nb\u{1}"), "'a\\nb\\x01'");
        assert_eq!(repr(&json!([true, 3, "é"])), "[True, 3, 'é']");
    }

    #[test]
    fn json_dumps_matches_python() {
        assert_eq!(json_dumps(&json!({"error": "'eppn' é\u{1F600}"})), r#"{"error": "'eppn' \u00e9\ud83d\ude00"}"#);
        assert_eq!(json_dumps(&json!({"a": [1, true, null]})), r#"{"a": [1, true, null]}"#);
    }

    #[test]
    fn type_errors_name_python_types() {
        assert_eq!(subscript_error(&json!("x")), "string indices must be integers, not 'str'");
        assert_eq!(subscript_error(&json!(5)), "'int' object is not subscriptable");
        assert_eq!(subscript_error(&json!(null)), "'NoneType' object is not subscriptable");
    }
}

//! Django REST framework field semantics, as Edubadges' serializers apply
//! them to a parsed JSON body: the same accepted values, the same error
//! messages and the error codes `entity.utils.validate_errors` maps them to
//! (901 null, 902 invalid, 903 blank, 904 required, 999 anything else).

use super::python;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

/// One DRF error: its Edubadges code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldError {
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        FieldError { code, message: message.into() }
    }
    pub fn required() -> Self {
        Self::new("904", "This field is required.")
    }
    pub fn null() -> Self {
        Self::new("901", "This field may not be null.")
    }
    pub fn blank() -> Self {
        Self::new("903", "This field may not be blank.")
    }

    /// `[{"error_code": …, "error_message": …}]`, the order validate_errors uses.
    pub fn to_json_list(&self) -> Value {
        json!([{"error_code": self.code, "error_message": self.message}])
    }
}

/// A field after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Field<T> {
    /// Not in the body (DRF `SkipField`).
    Absent,
    /// `null`, where allowed.
    Null,
    Given(T),
}

impl<T> Field<T> {
    /// The value; absent and null alike are `None`.
    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Given(v) => Some(v),
            _ => None,
        }
    }
}

/// `serializers.CharField(allow_null, allow_blank)`: strings and numbers,
/// trimmed.
pub(super) fn char_field(
    value: Option<&Value>,
    allow_null: bool,
    allow_blank: bool,
) -> Result<Field<String>, FieldError> {
    let text = match value {
        None => return Ok(Field::Absent),
        Some(Value::Null) if allow_null => return Ok(Field::Null),
        Some(Value::Null) => return Err(FieldError::null()),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(FieldError::new("902", "Not a valid string.")),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return if allow_blank { Ok(Field::Given(String::new())) } else { Err(FieldError::blank()) };
    }
    if trimmed.contains('\0') {
        return Err(FieldError::new("999", "Null characters are not allowed."));
    }
    Ok(Field::Given(trimmed.to_owned()))
}

/// `serializers.EmailField()` (not blank, not null).
pub(super) fn email_field(value: Option<&Value>) -> Result<Field<String>, FieldError> {
    match char_field(value, false, false)? {
        Field::Given(email) if !is_valid_email(&email) => Err(FieldError::new("902", "Enter a valid email address.")),
        other => Ok(other),
    }
}

/// `serializers.URLField(allow_blank=True, allow_null=True)`.
pub(super) fn url_field(value: Option<&Value>) -> Result<Field<String>, FieldError> {
    match char_field(value, true, true)? {
        Field::Given(url) if !url.is_empty() && !is_valid_url(&url) => {
            Err(FieldError::new("902", "Enter a valid URL."))
        }
        other => Ok(other),
    }
}

/// `serializers.BooleanField(allow_null)`.
pub(super) fn bool_field(value: Option<&Value>, allow_null: bool) -> Result<Field<bool>, FieldError> {
    const TRUE: [&str; 14] = ["t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"];
    const FALSE: [&str; 14] =
        ["f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"];
    const NULL: [&str; 4] = ["null", "Null", "NULL", ""];
    let invalid = || FieldError::new("902", "Must be a valid boolean.");
    match value {
        None => Ok(Field::Absent),
        Some(Value::Null) if allow_null => Ok(Field::Null),
        Some(Value::Null) => Err(FieldError::null()),
        Some(Value::Bool(b)) => Ok(Field::Given(*b)),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(1.0) => Ok(Field::Given(true)),
            Some(0.0) => Ok(Field::Given(false)),
            _ => Err(invalid()),
        },
        Some(Value::String(s)) if TRUE.contains(&s.as_str()) => Ok(Field::Given(true)),
        Some(Value::String(s)) if FALSE.contains(&s.as_str()) => Ok(Field::Given(false)),
        Some(Value::String(s)) if allow_null && NULL.contains(&s.as_str()) => Ok(Field::Null),
        Some(_) => Err(invalid()),
    }
}

/// `serializers.DateTimeField(allow_null=True)`. A time without offset is
/// taken as UTC (Edubadges takes it as Europe/Amsterdam).
pub(super) fn datetime_field(value: Option<&Value>) -> Result<Field<DateTime<Utc>>, FieldError> {
    let invalid = || {
        FieldError::new(
            "902",
            "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
        )
    };
    match value {
        None => Ok(Field::Absent),
        Some(Value::Null) => Ok(Field::Null),
        Some(Value::String(s)) => parse_iso_datetime(s.trim()).map(Field::Given).ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

fn parse_iso_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z", "%Y-%m-%d %H:%M%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// The outcome of a `SlugRelatedField(slug_field='entity_id')` lookup.
pub(super) fn slug_field<T>(value: Option<&Value>, lookup: impl Fn(&str) -> Option<T>) -> Result<Field<T>, FieldError> {
    let slug = match value {
        None => return Ok(Field::Absent),
        // A relational field turns "" into None, and None is not allowed.
        Some(Value::Null) => return Err(FieldError::null()),
        Some(Value::String(s)) if s.is_empty() => return Err(FieldError::null()),
        Some(Value::Array(_) | Value::Object(_)) => return Err(FieldError::new("902", "Invalid value.")),
        Some(other) => python::str_of(other),
    };
    lookup(&slug)
        .map(Field::Given)
        .ok_or_else(|| FieldError::new("999", format!("Object with entity_id={slug} does not exist.")))
}

/// Django's `EmailValidator`, for ASCII local parts (the domain may be an
/// internationalised name).
pub(super) fn is_valid_email(value: &str) -> bool {
    if value.len() > 320 {
        return false;
    }
    let Some((user, domain)) = value.rsplit_once('@') else { return false };
    let atom =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{}|~-".contains(c));
    let user_ok = user.split('.').all(atom)
        || (user.len() >= 2
            && user.starts_with('"')
            && user.ends_with('"')
            && user[1..user.len() - 1]
                .chars()
                .all(|c| c.is_ascii() && c != '"' && c != '\\' && c != '\r' && c != '\n'));
    if !user_ok {
        return false;
    }
    if domain == "localhost" || is_domain_literal(domain) {
        return true;
    }
    is_domain_name(domain)
}

fn is_domain_literal(domain: &str) -> bool {
    domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')).is_some_and(|ip| {
        ip.parse::<std::net::Ipv4Addr>().is_ok()
            || ip.strip_prefix("IPv6:").is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok())
    })
}

/// Labels of letters, digits and inner hyphens, and a top-level label of
/// 2–63 characters that does not end in a hyphen.
fn is_domain_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else { return false };
    if rest.is_empty() {
        return false;
    }
    let letter = |c: char| c.is_alphanumeric();
    let label_ok = |l: &str| {
        let n = l.chars().count();
        (1..=63).contains(&n) && l.chars().all(|c| letter(c) || c == '-') && !l.starts_with('-') && !l.ends_with('-')
    };
    let tld_len = tld.chars().count();
    rest.iter().all(|l| label_ok(l))
        && (2..=63).contains(&tld_len)
        && tld.chars().all(|c| letter(c) || c == '-')
        && !tld.ends_with('-')
}

/// Django's `URLValidator`, roughly: http(s) or ftp(s), a host, no spaces.
pub(super) fn is_valid_url(value: &str) -> bool {
    if value.len() > 2048 || value.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((scheme, rest)) = value.split_once("://") else { return false };
    if !["http", "https", "ftp", "ftps"].contains(&scheme.to_ascii_lowercase().as_str()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host.parse::<std::net::Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
        || is_domain_name(host.trim_end_matches('.'))
}

/// Python truthiness of a parsed JSON value.
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// What Python iterates over in `for item in value`; the `TypeError` for
/// values that are not iterable.
pub(super) fn python_iter(value: &Value) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items.clone()),
        Value::String(s) => Ok(s.chars().map(|c| Value::String(c.to_string())).collect()),
        Value::Object(members) => Ok(members.keys().map(|k| Value::String(k.clone())).collect()),
        other => Err(format!("'{}' object is not iterable", python::type_name(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_judged_like_django() {
        for ok in
            ["s1@example.org", "a.b+c@sub.example.nl", "x@localhost", "x@[127.0.0.1]", "p@münchen.de", "\"a b\"@x.nl"]
        {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in ["", "plain", "a@b", "a@b.c", "a..b@x.nl", "a@-x.nl", "a@x.nl-", "a b@x.nl", "é@x.nl", "a@x..nl"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn urls_are_judged_roughly_like_django() {
        assert!(is_valid_url("https://example.org/path?q=1"));
        assert!(is_valid_url("http://localhost:8080/x"));
        assert!(!is_valid_url("example.org"));
        assert!(!is_valid_url("https://exa mple.org"));
        assert!(!is_valid_url("javascript://x.nl"));
    }

    #[test]
    fn char_fields_trim_and_refuse_like_drf() {
        assert_eq!(char_field(Some(&json!("  x ")), false, false), Ok(Field::Given("x".into())));
        assert_eq!(char_field(Some(&json!(12)), false, false), Ok(Field::Given("12".into())));
        assert_eq!(char_field(Some(&json!("  ")), false, false), Err(FieldError::blank()));
        assert_eq!(char_field(Some(&json!(null)), false, true), Err(FieldError::null()));
        assert_eq!(char_field(Some(&json!(true)), true, true).map_err(|e| e.code), Err("902"));
        assert_eq!(char_field(None, false, false), Ok(Field::Absent));
    }

    #[test]
    fn booleans_accept_drf_spellings() {
        assert_eq!(bool_field(Some(&json!("yes")), false), Ok(Field::Given(true)));
        assert_eq!(bool_field(Some(&json!(0)), false), Ok(Field::Given(false)));
        assert_eq!(bool_field(Some(&json!("maybe")), false).map_err(|e| e.code), Err("902"));
        assert_eq!(bool_field(Some(&json!(null)), false).map_err(|e| e.code), Err("901"));
    }

    #[test]
    fn datetimes_take_iso_forms() {
        assert!(datetime_field(Some(&json!("2026-09-01T10:00:00+02:00"))).is_ok());
        assert!(datetime_field(Some(&json!("2026-09-01 10:00"))).is_ok());
        assert!(datetime_field(Some(&json!("2026-09-01"))).is_ok());
        assert_eq!(datetime_field(Some(&json!("tomorrow"))).map_err(|e| e.code), Err("902"));
    }
}

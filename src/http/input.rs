//! Reading request bodies: size limit (413), content type (415), JSON syntax
//! (400), then the shape of the object (unknown members, wrong JSON types)
//! reported field by field, so that together with the domain's own checks a
//! client learns every problem in one answer.

use super::error::ApiError;
use crate::domain::microcredential::ValidationErrors;
use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::Payload;
use futures_util::StreamExt;
use serde_json::{Map, Value};

/// The JSON object in the request body.
pub async fn json_object(req: &HttpRequest, payload: Payload, limit: usize) -> Result<Map<String, Value>, ApiError> {
    let body = json_body(req, payload, limit).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::MalformedJson("the body must be a JSON object".into())),
        Err(e) => Err(ApiError::MalformedJson(e.to_string())),
    }
}

/// The request body of a JSON request (`application/json`, or any
/// `application/…+json` such as `application/ld+json`), as sent: at most
/// `limit` bytes, not parsed (signed documents keep their text).
pub async fn json_body(req: &HttpRequest, payload: Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
        return Err(ApiError::UnsupportedMediaType);
    }
    body(req, payload, limit).await
}

/// The request body, at most `limit` bytes: `413` at once when its
/// `Content-Length` says it is larger, or as soon as the bytes received pass
/// the limit (the rest is never read).
pub async fn body(req: &HttpRequest, mut payload: Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let expected = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(8192);
    let mut body = Vec::with_capacity(expected.min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What a member must hold.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    Text,
    Bool,
    /// A number or a string (numbers become their JSON text).
    NumberOrText,
    /// An identifier: a string, or a whole number taken as its digits (a
    /// fraction or an exponent in an id is a mistake, not a spelling).
    Id,
    /// An array of strings (a single string is taken as a one-item array).
    Texts,
    /// An array of numbers or strings.
    NumbersOrTexts,
    Object(&'static [(&'static str, Expect)]),
    Objects(&'static [(&'static str, Expect)]),
}

/// Checks `object` against `spec`: unknown members and members of the wrong
/// JSON type are recorded in `problems` (under `prefix`) and dropped, `null`
/// counts as absent, numbers expected as text become their JSON text. The
/// result deserialises into the matching input struct.
pub fn shape(
    object: &Map<String, Value>,
    spec: &[(&'static str, Expect)],
    prefix: &str,
    problems: &mut ValidationErrors,
) -> Map<String, Value> {
    let mut clean = Map::new();
    for (name, value) in object {
        let field = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        let Some((_, expect)) = spec.iter().find(|(known, _)| known == name) else {
            problems.push(field, "is not a known field");
            continue;
        };
        if value.is_null() {
            continue;
        }
        if let Some(value) = conform(value, *expect, &field, problems) {
            clean.insert(name.clone(), value);
        }
    }
    clean
}

fn conform(value: &Value, expect: Expect, field: &str, problems: &mut ValidationErrors) -> Option<Value> {
    let wrong = |problems: &mut ValidationErrors, wanted: &str| {
        problems.push(field, format!("must be {wanted}, not {}", kind(value)));
        None
    };
    match (expect, value) {
        (Expect::Text, Value::String(_)) | (Expect::Bool, Value::Bool(_)) => Some(value.clone()),
        (Expect::Text, _) => wrong(problems, "a string"),
        (Expect::Bool, _) => wrong(problems, "true or false"),
        (Expect::NumberOrText, Value::String(_)) => Some(value.clone()),
        (Expect::NumberOrText, Value::Number(n)) => Some(Value::String(n.to_string())),
        (Expect::NumberOrText, _) => wrong(problems, "a number or a string"),
        (Expect::Id, Value::String(_)) => Some(value.clone()),
        (Expect::Id, Value::Number(n)) if n.is_u64() || n.is_i64() => Some(Value::String(n.to_string())),
        (Expect::Id, Value::Number(n)) => {
            problems.push(field, format!("must be a string or a whole number, not the number {n}"));
            None
        }
        (Expect::Id, _) => wrong(problems, "a string or a whole number"),
        (Expect::Texts, Value::String(_)) => Some(Value::Array(vec![value.clone()])),
        (Expect::Texts | Expect::NumbersOrTexts, Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = format!("{field}[{i}]");
                match (expect, item) {
                    (_, Value::String(_)) => out.push(item.clone()),
                    (Expect::NumbersOrTexts, Value::Number(n)) => out.push(Value::String(n.to_string())),
                    (Expect::NumbersOrTexts, other) => {
                        problems.push(at, format!("must be a number or a string, not {}", kind(other)))
                    }
                    (_, other) => problems.push(at, format!("must be a string, not {}", kind(other))),
                }
            }
            Some(Value::Array(out))
        }
        (Expect::Texts, _) => wrong(problems, "an array of strings"),
        (Expect::NumbersOrTexts, _) => wrong(problems, "an array of numbers or strings"),
        (Expect::Object(spec), Value::Object(object)) => Some(Value::Object(shape(object, spec, field, problems))),
        (Expect::Object(_), _) => wrong(problems, "an object"),
        (Expect::Objects(spec), Value::Array(items)) => Some(Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::Object(object) => {
                        Some(Value::Object(shape(object, spec, &format!("{field}[{i}]"), problems)))
                    }
                    other => {
                        problems.push(format!("{field}[{i}]"), format!("must be an object, not {}", kind(other)));
                        None
                    }
                })
                .collect(),
        )),
        (Expect::Objects(_), _) => wrong(problems, "an array of objects"),
    }
}

/// How a JSON value's kind reads in a problem message.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The members of a microcredential definition (`POST/PUT /api/v1/achievements`).
pub const ACHIEVEMENT: &[(&str, Expect)] = &[
    ("type", Expect::Text),
    ("name", Expect::Text),
    ("description", Expect::Text),
    ("criteria", Expect::Text),
    ("learning_outcomes", Expect::Texts),
    ("ects", Expect::NumberOrText),
    ("eqf_level", Expect::NumberOrText),
    ("nlqf_level", Expect::NumberOrText),
    ("assessment_type", Expect::Texts),
    ("participation_type", Expect::Texts),
    ("identity_checked", Expect::Bool),
    ("assessment_supervised", Expect::Bool),
    ("supervision_type", Expect::Text),
    (
        "quality_assurance",
        Expect::Object(&[("name", Expect::Text), ("url", Expect::Text), ("description", Expect::Text)]),
    ),
    ("language", Expect::Text),
    ("institution", Expect::Object(&[("name", Expect::Text), ("brin", Expect::Text)])),
    ("image", Expect::Text),
    ("education_program_identifiers", Expect::NumbersOrTexts),
    ("tags", Expect::Texts),
    ("validity_days", Expect::NumberOrText),
    (
        "alignments",
        Expect::Objects(&[
            ("target_name", Expect::Text),
            ("target_url", Expect::Text),
            ("target_code", Expect::Text),
            ("target_framework", Expect::Text),
            ("target_description", Expect::Text),
        ]),
    ),
    ("course_codes", Expect::Texts),
    ("edubadges_badgeclass", Expect::Text),
];

/// The members of an award's learner.
pub const LEARNER: &[(&str, Expect)] = &[
    ("eppn", Expect::Text),
    ("email", Expect::Text),
    ("given_name", Expect::Text),
    ("surname_prefix", Expect::Text),
    ("surname", Expect::Text),
    ("student_number", Expect::Id),
];

/// The members of an award's result.
pub const RESULT: &[(&str, Expect)] = &[("grade", Expect::NumberOrText), ("completed_on", Expect::Text)];

/// The members of an award (`POST /api/v1/awards`).
pub const AWARD: &[(&str, Expect)] = &[
    ("source_record_id", Expect::Id),
    ("achievement_id", Expect::Text),
    ("course_code", Expect::Text),
    ("learner", Expect::Object(LEARNER)),
    ("result", Expect::Object(RESULT)),
    ("evidence_url", Expect::Text),
    ("narrative", Expect::Text),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_members_and_wrong_types_are_all_listed_and_dropped() {
        let mut problems = ValidationErrors::new();
        let Value::Object(object) = json!({
            "ects": 5, "eqf_level": "6", "identity_checked": "yes", "learning_outcomes": ["a", 2],
            "colour": "blue", "quality_assurance": {"name": 1, "url": "https://qa.example"}, "tags": "one",
            "alignments": [{"target_name": "x"}, 3], "image": null
        }) else {
            unreachable!()
        };
        let clean = shape(&object, ACHIEVEMENT, "", &mut problems);
        // In the order the request has them.
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["identity_checked", "learning_outcomes[1]", "colour", "quality_assurance.name", "alignments[1]"]
        );
        assert_eq!(clean["ects"], json!("5"));
        assert_eq!(clean["tags"], json!(["one"]));
        assert_eq!(clean["learning_outcomes"], json!(["a"]));
        assert!(!clean.contains_key("image") && !clean.contains_key("identity_checked"));
    }

    #[test]
    fn ids_are_strings_or_whole_numbers_never_a_rewritten_fraction() {
        let mut problems = ValidationErrors::new();
        let Value::Object(object) = json!({
            "source_record_id": 123456789012_u64, "learner": {"student_number": 1e3}
        }) else {
            unreachable!()
        };
        let clean = shape(&object, AWARD, "", &mut problems);
        assert_eq!(clean["source_record_id"], json!("123456789012"));
        let listed: Vec<(&str, &str)> = problems.iter().map(|p| (p.field.as_str(), p.message.as_str())).collect();
        assert_eq!(listed, [("learner.student_number", "must be a string or a whole number, not the number 1000.0")]);
    }
}

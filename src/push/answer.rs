//! Reading Edubadges' answers (contract section 1.5): which failures are
//! worth retrying, which leave a request's outcome unknown, and what each
//! recipient of a bundle got. Pure: no I/O, so every shape is unit-tested.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Why a request did not succeed, sorted by what the caller may do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was done; the same request may be sent again later (after
    /// `retry_after`, when Edubadges said so).
    Retry { reason: String, retry_after: Option<Duration> },
    /// The request may have been carried out (lost answer, timeout, a 5xx
    /// from a proxy): look in Edubadges before sending it again.
    Unknown { reason: String },
    /// Edubadges refused it; sending the same again gets the same answer.
    Refused { reason: String },
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Self::Retry { reason, .. } | Self::Unknown { reason } | Self::Refused { reason } => reason,
        }
    }
}

/// A direct award Edubadges did not create, as `un_successful_direct_award`
/// (or the "All of them were rejected" message) lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Rejection {
    pub error: String,
    #[serde(default)]
    pub eppn: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Rejection {
    /// An unaccepted direct award for the same person and badge class exists:
    /// what zegel meant to create is there.
    pub fn is_duplicate(&self) -> bool {
        self.error.contains("already exists")
    }

    /// Whether this rejection is about `recipient` (an eppn or e-mail address).
    pub fn concerns(&self, recipient: &str) -> bool {
        [&self.eppn, &self.email].into_iter().flatten().any(|value| value.eq_ignore_ascii_case(recipient))
    }
}

/// What `POST /directaward/create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// 201: a bundle was made; the rejected recipients (if any) got nothing.
    Bundle { bundle_id: String, rejected: Vec<Rejection> },
    /// 400 "No valid DirectAwards are created": every recipient was rejected.
    AllRejected(Vec<Rejection>),
    /// 400 validation errors on some direct awards (by position in the
    /// request): nothing was created, the others may be sent without them.
    InvalidItems(Vec<(usize, String)>),
}

/// Whether repeating a request can do harm: a create that may have landed
/// must not simply be sent again; a read may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Creates something (`POST /directaward/create`).
    Creates,
    /// Reads, or changes idempotently enough to repeat (delete, revoke:
    /// repeating one reports "already", which the caller recognises).
    Repeatable,
}

/// The answer to `POST /directaward/create`.
pub fn create_answer(status: u16, body: &[u8], retry_after: Option<Duration>) -> Result<Created, Failure> {
    #[derive(Deserialize)]
    struct Bundle {
        entity_id: String,
        #[serde(default)]
        un_successful_direct_award: Vec<Rejection>,
    }
    if status == 201 {
        return match serde_json::from_slice::<Bundle>(body) {
            Ok(bundle) => {
                Ok(Created::Bundle { bundle_id: bundle.entity_id, rejected: bundle.un_successful_direct_award })
            }
            // Created, but we cannot tell what: treat as a lost answer.
            Err(e) => Err(Failure::Unknown { reason: format!("Edubadges answered 201 with an unreadable body: {e}") }),
        };
    }
    if status == 400
        && let Ok(json) = serde_json::from_slice::<Value>(body)
    {
        if let Some(message) = json.get("error").and_then(Value::as_str)
            && let Some(list) = message.strip_prefix("No valid DirectAwards are created. All of them were rejected: ")
        {
            return match python_rejections(list) {
                Some(rejections) => Ok(Created::AllRejected(rejections)),
                None => Err(Failure::Refused { reason: format!("Edubadges rejected every direct award: {message}") }),
            };
        }
        if let Some(items) = invalid_items(&json) {
            return Ok(Created::InvalidItems(items));
        }
    }
    Err(failure(status, body, retry_after, Effect::Creates))
}

/// Why a non-success answer failed (`status` is not 2xx).
pub fn failure(status: u16, body: &[u8], retry_after: Option<Duration>, effect: Effect) -> Failure {
    let json = serde_json::from_slice::<Value>(body).ok();
    let message = json.as_ref().map(error_message).unwrap_or_else(|| describe_body(body));
    let reason = format!("Edubadges answered {status}: {message}");
    match status {
        // A throttle says when; nothing was done.
        429 => Failure::Retry { reason, retry_after },
        // Not authenticated (Edubadges says 403, not 401): nothing was done.
        // The caller has fetched a fresh token once already; the client's
        // registration may be incomplete, which an operator must fix.
        401 | 403 => Failure::Retry { reason, retry_after: None },
        // SURFconext unreachable while Edubadges checked the token: a 400
        // that is really an outage (contract 6.3).
        400 if message.contains("introspect") => Failure::Retry { reason, retry_after: None },
        // A JSON 400 is Edubadges' own answer: the request was refused as a
        // whole. Not JSON: an exception page, possibly after a partial effect.
        400 if json.is_some() => Failure::Refused { reason },
        // No such route: a wrong ZEGEL_EDUBADGES_URL or a proxy in
        // maintenance. Nothing was done; wait for an operator.
        404 | 405 => Failure::Retry { reason, retry_after: None },
        413 => Failure::Refused { reason },
        _ => match effect {
            Effect::Creates => Failure::Unknown { reason },
            Effect::Repeatable => Failure::Retry { reason, retry_after },
        },
    }
}

/// Edubadges' message from any of its error shapes.
fn error_message(json: &Value) -> String {
    if let Some(error) = json.get("error").and_then(Value::as_str) {
        return error.to_owned();
    }
    match (json.get("detail").and_then(Value::as_str), json.get("fields")) {
        (Some("validation_error"), Some(fields)) => validation_message(fields),
        (Some(detail), _) => detail.to_owned(),
        _ => truncate(&json.to_string(), 500),
    }
}

/// The validation shape's `fields`, as one line: `field: message (code)`.
fn validation_message(fields: &Value) -> String {
    let code = fields.get("error_code").and_then(Value::as_str);
    match fields.get("error_message") {
        Some(Value::String(message)) => match code {
            Some(code) => format!("{message} (code {code})"),
            None => message.clone(),
        },
        Some(Value::Object(by_field)) => {
            let mut parts = Vec::new();
            collect_field_errors("", &Value::Object(by_field.clone()), &mut parts);
            parts.join("; ")
        }
        _ => truncate(&fields.to_string(), 500),
    }
}

/// `{"field": [{"error_code": "904", "error_message": "…"}]}`, nested for lists.
fn collect_field_errors(path: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) if map.contains_key("error_message") => {
            let message = map.get("error_message").and_then(Value::as_str).unwrap_or("invalid");
            let code = map.get("error_code").and_then(Value::as_str).unwrap_or("?");
            out.push(format!("{path}: {message} (code {code})"));
        }
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                collect_field_errors(&path, inner, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // Error lists hold messages; lists of objects are positions.
                let path = if item.get("error_message").is_some() { path.to_owned() } else { format!("{path}[{i}]") };
                collect_field_errors(&path, item, out);
            }
        }
        other => out.push(format!("{path}: {other}")),
    }
}

/// Validation errors confined to `direct_awards` items: (position, message).
fn invalid_items(json: &Value) -> Option<Vec<(usize, String)>> {
    if json.get("detail").and_then(Value::as_str) != Some("validation_error") {
        return None;
    }
    let by_field = json.get("fields")?.get("error_message")?.as_object()?;
    if by_field.len() != 1 {
        return None;
    }
    let items = by_field.get("direct_awards")?.as_array()?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut parts = Vec::new();
        if item.as_object().is_some_and(|o| !o.is_empty()) {
            collect_field_errors("", item, &mut parts);
            out.push((i, parts.join("; ")));
        }
    }
    (!out.is_empty()).then_some(out)
}

fn describe_body(body: &[u8]) -> String {
    if body.is_empty() {
        "(empty body)".to_owned()
    } else if body.trim_ascii_start().starts_with(b"<") {
        "(an HTML page)".to_owned()
    } else {
        truncate(&String::from_utf8_lossy(body), 300)
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Parses the Python `repr` of a list of dicts of strings (or `None`) that
/// Edubadges puts in its "All of them were rejected" message, e.g.
/// `[{'error': 'DirectAward with … already exists …', 'eppn': 's1@x', 'email': 's1@y'}]`.
pub fn python_rejections(text: &str) -> Option<Vec<Rejection>> {
    let mut parser = PyRepr { rest: text.trim() };
    let list = parser.list()?;
    parser.rest.trim().is_empty().then_some(())?;
    list.into_iter()
        .map(|mut dict| {
            Some(Rejection {
                error: dict.remove("error").flatten()?,
                eppn: dict.remove("eppn").flatten(),
                email: dict.remove("email").flatten(),
            })
        })
        .collect()
}

/// Just enough of Python's literal syntax: lists, dicts, strings, `None`.
struct PyRepr<'a> {
    rest: &'a str,
}

type PyDict = std::collections::HashMap<String, Option<String>>;

impl PyRepr<'_> {
    fn eat(&mut self, token: &str) -> bool {
        self.rest = self.rest.trim_start();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn list(&mut self) -> Option<Vec<PyDict>> {
        self.eat("[").then_some(())?;
        let mut items = Vec::new();
        if self.eat("]") {
            return Some(items);
        }
        loop {
            items.push(self.dict()?);
            if self.eat("]") {
                return Some(items);
            }
            self.eat(",").then_some(())?;
        }
    }

    fn dict(&mut self) -> Option<PyDict> {
        self.eat("{").then_some(())?;
        let mut map = PyDict::new();
        if self.eat("}") {
            return Some(map);
        }
        loop {
            let key = self.string()?;
            self.eat(":").then_some(())?;
            let value = if self.eat("None") { None } else { Some(self.string()?) };
            map.insert(key, value);
            if self.eat("}") {
                return Some(map);
            }
            self.eat(",").then_some(())?;
        }
    }

    /// A `'…'` or `"…"` literal with backslash escapes.
    fn string(&mut self) -> Option<String> {
        self.rest = self.rest.trim_start();
        let mut chars = self.rest.char_indices();
        let (_, quote) = chars.next().filter(|(_, c)| *c == '\'' || *c == '"')?;
        let mut out = String::new();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => {
                    let (_, escaped) = chars.next()?;
                    out.push(match escaped {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
                c if c == quote => {
                    self.rest = &self.rest[at + c.len_utf8()..];
                    return Some(out);
                }
                c => out.push(c),
            }
        }
        None
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (RFC 9110 10.2.3).
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or(Duration::ZERO))
}

/// The wait before attempt `attempt + 1` after `attempt` failures:
/// `base · 2^(attempt-1)`, capped at `max`, of which a random half
/// (`unit` in [0, 1)) is jitter, so that many awards failing together do
/// not come back together.
pub fn backoff(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let full = base.saturating_mul(1 << exponent).min(max);
    full / 2 + full.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
}

/// `message` with each of `secrets` (an eppn, an e-mail address) replaced,
/// for the audit trail, which holds no learner data.
pub fn redact(message: &str, identifiers: &[&str]) -> String {
    let mut out = message.to_owned();
    for identifier in identifiers.iter().filter(|i| !i.is_empty()) {
        let lower = out.to_lowercase();
        let needle = identifier.to_lowercase();
        let mut result = String::with_capacity(out.len());
        let mut last = 0;
        for (at, _) in lower.match_indices(&needle) {
            // Lower-casing can change byte lengths outside ASCII: only
            // replace where the positions still line up.
            if out.is_char_boundary(at) && out.is_char_boundary(at + needle.len()) && at >= last {
                result.push_str(&out[last..at]);
                result.push_str("<learner>");
                last = at + needle.len();
            }
        }
        result.push_str(&out[last..]);
        out = result;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn a_201_gives_the_bundle_and_the_rejected_recipients() {
        let body = br#"{"badgeclass":"vqjqdus9RwGVlcvJ7KtDcQ","entity_id":"OR6Oz","un_successful_direct_award":[{"error":"DirectAward with eppn: s1@x / email: s1@y and status Unaccepted already exists for badgeclass P (2).","eppn":"s1@x","email":"s1@y"}]}"#;
        let Created::Bundle { bundle_id, rejected } = create_answer(201, body, None).unwrap() else { panic!() };
        assert_eq!(bundle_id, "OR6Oz");
        assert!(rejected[0].is_duplicate() && rejected[0].concerns("S1@X") && rejected[0].concerns("s1@y"));
        let plain = create_answer(201, br#"{"badgeclass":"b","entity_id":"7G5m"}"#, None).unwrap();
        assert_eq!(plain, Created::Bundle { bundle_id: "7G5m".into(), rejected: vec![] });
        assert!(matches!(create_answer(201, b"<html>", None), Err(Failure::Unknown { .. })));
    }

    #[test]
    fn the_all_rejected_python_repr_is_read_per_recipient() {
        let body = serde_json::json!({"error": "No valid DirectAwards are created. All of them were rejected: [{'error': 'DirectAward with eppn: s1@x / email: s1@y and status Unaccepted already exists for badgeclass Intro (2).', 'eppn': 's1@x', 'email': 's1@y'}, {'error': \"Incorrect eppn format, it's wrong\", 'eppn': 'bad', 'email': None}]"});
        let Created::AllRejected(list) = create_answer(400, body.to_string().as_bytes(), None).unwrap() else {
            panic!()
        };
        assert_eq!(list.len(), 2);
        assert!(list[0].is_duplicate());
        assert_eq!(list[1].error, "Incorrect eppn format, it's wrong");
        assert_eq!(list[1].email, None);
        assert_eq!(python_rejections("[]"), Some(vec![]));
        assert_eq!(python_rejections("[{'error': 'x'"), None);
    }

    #[test]
    fn item_validation_errors_name_their_positions() {
        let body = br#"{"detail":"validation_error","fields":{"error_message":{"direct_awards":[{},{"recipient_email":[{"error_code":"902","error_message":"Enter a valid email address."}]}]},"error_code":"999"}}"#;
        assert_eq!(
            create_answer(400, body, None).unwrap(),
            Created::InvalidItems(vec![(1, "recipient_email: Enter a valid email address. (code 902)".into())])
        );
    }

    #[test]
    fn every_error_shape_is_sorted_by_what_to_do() {
        let refused = |status, body: &str| create_answer(status, body.as_bytes(), None).unwrap_err();
        let unknown_badgeclass = r#"{"detail":"validation_error","fields":{"error_message":{"badgeclass":[{"error_code":"999","error_message":"Invalid pk \"x\" - object does not exist."}]},"error_code":"999"}}"#;
        let Failure::Refused { reason } = refused(400, unknown_badgeclass) else { panic!() };
        assert!(reason.contains("badgeclass: Invalid pk"), "{reason}");
        let badgr = r#"{"detail":"validation_error","fields":{"error_message":"You don't have the necessary permissions","error_code":"100"}}"#;
        assert!(refused(400, badgr).reason().contains("permissions (code 100)"));
        assert!(matches!(refused(400, r#"{"error":"Direct awarding disabled for X"}"#), Failure::Refused { .. }));
        assert!(matches!(refused(400, r#"{"error":"'recipient_email'"}"#), Failure::Refused { .. }));
        assert!(matches!(refused(400, r#"{"detail":"JSON parse error - x"}"#), Failure::Refused { .. }));
        let outage = r#"{"error":"HTTPConnectionPool(host='connect.surfconext.nl', port=443): Max retries exceeded with url: /oidc/introspect"}"#;
        assert!(matches!(refused(400, outage), Failure::Retry { .. }));
        let auth = r#"{"detail":"Authentication credentials were not provided."}"#;
        assert!(matches!(refused(403, auth), Failure::Retry { .. }));
        assert_eq!(
            create_answer(429, b"", Some(Duration::from_secs(7))).unwrap_err(),
            Failure::Retry {
                reason: "Edubadges answered 429: (empty body)".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
        for status in [500, 502, 503, 504] {
            assert!(matches!(refused(status, "<html>oops</html>"), Failure::Unknown { .. }), "{status}");
            assert!(matches!(failure(status, b"", None, Effect::Repeatable), Failure::Retry { .. }), "{status}");
        }
        assert!(matches!(refused(400, "<html>Bad Request</html>"), Failure::Unknown { .. }));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Mon, 23 Nov 2026 10:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let (base, max) = (Duration::from_secs(2), Duration::from_secs(60));
        assert_eq!(backoff(1, base, max, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(1, base, max, 0.999_999).as_millis(), 1999);
        assert_eq!(backoff(3, base, max, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(30, base, max, 0.0), Duration::from_secs(30));
        assert!(backoff(u32::MAX, base, max, 1.0) <= max);
    }

    #[test]
    fn learner_identifiers_are_redacted() {
        assert_eq!(
            redact("DirectAward with eppn: S1@x.nl / email: s1@y.nl exists", &["s1@x.nl", "s1@y.nl", ""]),
            "DirectAward with eppn: <learner> / email: <learner> exists"
        );
    }
}

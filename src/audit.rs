//! The audit trail as administrators read it (`GET /api/v1/audit`, `zegel
//! audit`): filters given as text, parsed with every problem listed, and
//! pages in the order the entries were written, with a cursor.
//!
//! The storage layer writes the trail, in the transaction of the change each
//! entry records. It is append-only: no code updates or deletes an entry,
//! and the database refuses it (triggers in `migrations/*/0001_initial.sql`).

use crate::domain::microcredential::ValidationErrors;
use crate::storage::{AuditEntry, AuditFilter, StorageError, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Entries per page unless asked otherwise.
pub const DEFAULT_LIMIT: i64 = 100;
/// The most entries a page holds.
pub const MAX_LIMIT: i64 = 1000;
/// Longer ids are no ids zegel writes.
const MAX_ID_LENGTH: usize = 200;
const MAX_ACTION_LENGTH: usize = 64;

/// The filters as given, as text: query parameters of `GET /api/v1/audit`
/// or the flags of `zegel audit`. An empty value is no filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub credential: Option<String>,
    pub award: Option<String>,
    pub achievement: Option<String>,
    pub client: Option<String>,
    /// An action name, e.g. `credential_issued`.
    pub action: Option<String>,
    /// RFC 3339: only entries written at or after this time.
    pub since: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// 1 to [`MAX_LIMIT`]; [`DEFAULT_LIMIT`] when absent.
    pub limit: Option<String>,
}

impl AuditQuery {
    /// The storage filter, or every problem with the query.
    pub fn parse(&self) -> Result<AuditFilter, ValidationErrors> {
        let mut problems = ValidationErrors::new();
        let given =
            |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let mut id = |field: &str, value: &Option<String>| {
            let value = given(value)?;
            if value.len() > MAX_ID_LENGTH || value.chars().any(char::is_control) {
                problems.push(field, format!("must be an id of at most {MAX_ID_LENGTH} characters"));
                return None;
            }
            Some(value)
        };
        let credential_id = id("credential", &self.credential);
        let award_id = id("award", &self.award);
        let achievement_id = id("achievement", &self.achievement);
        let client_id = id("client", &self.client);

        let action = given(&self.action);
        if let Some(action) = &action
            && !is_action_name(action)
        {
            problems
                .push("action", "must be an action name: lower-case letters, digits and _, such as credential_issued");
        }
        let since = given(&self.since).and_then(|since| match parse_time(&since) {
            Some(at) => Some(at),
            None => {
                problems.push("since", "must be an RFC 3339 time, such as 2026-06-30T00:00:00Z");
                None
            }
        });
        let after = given(&self.after).and_then(|after| match after.parse::<i64>() {
            Ok(id) if id >= 0 => Some(id),
            _ => {
                problems.push("after", "must be the `next` of an earlier page");
                None
            }
        });
        let limit = match given(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(limit) => match limit.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    problems.push("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"));
                    DEFAULT_LIMIT
                }
            },
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AuditFilter { award_id, credential_id, achievement_id, client_id, since, limit, action, after })
    }
}

fn is_action_name(action: &str) -> bool {
    action.len() <= MAX_ACTION_LENGTH
        && action.starts_with(|c: char| c.is_ascii_lowercase())
        && action.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// RFC 3339. In a query string an unencoded `+` (of `+02:00`) arrives as a
/// space: read it as the `+` it was.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc3339(&text.replace(' ', "+")))
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// One page of the trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `after` for the next page; `None` on the last one.
    pub next: Option<String>,
}

/// An entry as the API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `client:<id>`, `cli`, `edubadges push`, …
    pub actor: String,
    pub action: String,
    pub award_id: Option<String>,
    pub credential_id: Option<String>,
    pub achievement_id: Option<String>,
    pub client_id: Option<String>,
    /// The reason given for the change (revocation, suspension, reissue), if any.
    pub reason: Option<String>,
    /// The change's particulars (JSON), as recorded.
    pub details: Option<Value>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        // Written by zegel as JSON; anything else is shown as the text it is.
        let details = entry.details.map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)));
        let reason = details.as_ref().and_then(|d| d.get("reason")).and_then(Value::as_str).map(str::to_owned);
        Self {
            id: entry.audit_id,
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            award_id: entry.award_id,
            credential_id: entry.credential_id,
            achievement_id: entry.achievement_id,
            client_id: entry.client_id,
            reason,
            details,
        }
    }
}

/// The entries `filter` selects, oldest first, at most `filter.limit` of
/// them, with the cursor of the next page when there are more.
pub async fn page(store: &Store, filter: AuditFilter) -> Result<AuditPage, StorageError> {
    let limit = filter.limit.clamp(0, MAX_LIMIT);
    // One more than asked: whether there is a next page, without counting.
    let mut entries = store.audit_entries(AuditFilter { limit: limit + 1, ..filter }).await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if more { entries.last().map(|e| e.audit_id.to_string()) } else { None };
    Ok(AuditPage { entries: entries.into_iter().map(AuditEntryView::from).collect(), next })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> AuditQuery {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\": \"{v}\"")).collect();
        serde_json::from_str(&format!("{{{}}}", text.join(","))).unwrap()
    }

    fn fields(problems: &ValidationErrors) -> Vec<String> {
        problems.errors().iter().map(|p| p.field.clone()).collect()
    }

    #[test]
    fn no_filters_is_the_first_page_of_everything() {
        let filter = AuditQuery::default().parse().unwrap();
        assert_eq!(filter, AuditFilter { limit: DEFAULT_LIMIT, ..AuditFilter::default() });
    }

    #[test]
    fn every_filter_is_parsed() {
        let filter = query(&[
            ("credential", "c-1"),
            ("award", "a-1"),
            ("achievement", "mc-1"),
            ("client", "k-1"),
            ("action", "credential_issued"),
            ("since", "2026-06-30T12:00:00+02:00"),
            ("after", "41"),
            ("limit", "1000"),
        ])
        .parse()
        .unwrap();
        assert_eq!(filter.credential_id.as_deref(), Some("c-1"));
        assert_eq!(filter.award_id.as_deref(), Some("a-1"));
        assert_eq!(filter.achievement_id.as_deref(), Some("mc-1"));
        assert_eq!(filter.client_id.as_deref(), Some("k-1"));
        assert_eq!(filter.action.as_deref(), Some("credential_issued"));
        assert_eq!(filter.since, Some("2026-06-30T10:00:00Z".parse().unwrap()));
        assert_eq!(filter.after, Some(41));
        assert_eq!(filter.limit, 1000);
    }

    #[test]
    fn a_plus_sign_lost_in_a_query_string_is_read_back() {
        let filter = query(&[("since", "2026-06-30T12:00:00 02:00")]).parse().unwrap();
        assert_eq!(filter.since, Some("2026-06-30T10:00:00Z".parse().unwrap()));
    }

    #[test]
    fn every_bad_parameter_is_listed() {
        let problems = query(&[
            ("since", "yesterday"),
            ("after", "abc"),
            ("limit", "0"),
            ("action", "Credential Issued"),
            ("award", &"x".repeat(201)),
        ])
        .parse()
        .unwrap_err();
        assert_eq!(fields(&problems), ["award", "action", "since", "after", "limit"]);
        for limit in ["1001", "-1", "ten", "1.5"] {
            assert_eq!(fields(&query(&[("limit", limit)]).parse().unwrap_err()), ["limit"], "{limit}");
        }
    }

    #[test]
    fn empty_values_are_no_filter() {
        let filter = query(&[("credential", ""), ("since", " "), ("limit", "")]).parse().unwrap();
        assert_eq!(filter, AuditFilter { limit: DEFAULT_LIMIT, ..AuditFilter::default() });
    }

    #[test]
    fn the_reason_is_read_from_the_details() {
        let entry = AuditEntry {
            audit_id: 7,
            at: "2026-06-30T10:00:00Z".parse().unwrap(),
            actor: "cli".into(),
            action: "credential_revoked".into(),
            award_id: Some("a".into()),
            credential_id: Some("c".into()),
            achievement_id: None,
            client_id: None,
            details: Some(r#"{"reason":"fraud"}"#.into()),
        };
        let view = AuditEntryView::from(entry);
        assert_eq!(view.reason.as_deref(), Some("fraud"));
        assert_eq!(view.details, Some(serde_json::json!({"reason": "fraud"})));
    }
}

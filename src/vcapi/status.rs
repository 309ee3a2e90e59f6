//! `POST /credentials/status`, the pure part: reading the VC-API's status
//! update. The VC-API's shape is
//!
//! ```json
//! {"credentialId": "urn:uuid:…",
//!  "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
//!  "status": true}
//! ```
//!
//! (`status` true sets the bit, false clears it; absent it means true).
//! `credentialStatus` may also be a list holding one such entry, and an
//! entry may say `"status": "revoked" | "suspended" | "unsuspended"` itself,
//! as earlier VC-API drafts had it. zegel adds an optional `reason`, kept
//! in the audit trail.

use crate::domain::microcredential::ValidationErrors;
use crate::lifecycle;
use crate::storage::StatusChange;
use serde_json::{Map, Value};

/// Status entry types a request may name for a Bitstring Status List.
const TYPES: &[&str] = &["BitstringStatusListEntry", "BitstringStatusList", "BitstringStatusListCredential"];

/// A status update that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub credential_id: String,
    pub change: StatusChange,
    pub reason: Option<String>,
}

/// Why a status update cannot be done: its shape (422), or clearing a
/// revocation, which is final (409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateError {
    Invalid(ValidationErrors),
    Unrevoke,
}

/// Reads a status update, naming every problem.
pub fn parse(body: &Map<String, Value>) -> Result<StatusUpdate, UpdateError> {
    let mut problems = ValidationErrors::new();
    let credential_id = match body.get("credentialId") {
        Some(Value::String(id)) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        Some(_) => {
            problems.push("credentialId", "must be a non-empty string");
            None
        }
        None => {
            problems.push("credentialId", "is required: the credential's id (or the credentialId it was issued with)");
            None
        }
    };
    let entry = match body.get("credentialStatus") {
        Some(Value::Object(entry)) => Some(("credentialStatus".to_owned(), entry)),
        Some(Value::Array(entries)) if entries.len() == 1 && entries[0].is_object() => {
            entries[0].as_object().map(|entry| ("credentialStatus[0]".to_owned(), entry))
        }
        Some(Value::Array(_)) => {
            problems.push("credentialStatus", "must be one status entry (an object, or a list of one)");
            None
        }
        Some(_) => {
            problems.push("credentialStatus", "must be an object: {\"type\", \"statusPurpose\"}");
            None
        }
        None => {
            problems.push(
                "credentialStatus",
                "is required: {\"type\": \"BitstringStatusListEntry\", \"statusPurpose\": …}",
            );
            None
        }
    };
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(set)) => Some(*set),
        Some(other) => {
            problems.push("status", format!("must be true (set) or false (clear), not {other}"));
            None
        }
    };
    let reason = match body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(reason)) => lifecycle::parse_reason(Some(reason), &mut problems),
        Some(_) => {
            problems.push("reason", "must be a string");
            None
        }
    };
    let mut change = None;
    let mut unrevoke = false;
    if let Some((field, entry)) = entry {
        match entry.get("type").and_then(Value::as_str) {
            Some(t) if TYPES.contains(&t) => {}
            Some(t) => problems.push(
                format!("{field}.type"),
                format!("zegel's credentials carry BitstringStatusListEntry statuses, not {t}"),
            ),
            None => problems.push(format!("{field}.type"), "is required: BitstringStatusListEntry"),
        }
        let purpose = entry.get("statusPurpose").and_then(Value::as_str);
        let legacy = entry.get("status").and_then(Value::as_str);
        change = match (purpose, legacy, status.unwrap_or(true)) {
            (_, Some("revoked"), _) => Some(StatusChange::Revoke),
            (_, Some("suspended"), _) => Some(StatusChange::Suspend),
            (_, Some("unsuspended"), _) => Some(StatusChange::Unsuspend),
            (_, Some(other), _) => {
                problems
                    .push(format!("{field}.status"), format!("must be revoked, suspended or unsuspended, not {other}"));
                None
            }
            (Some("revocation"), None, true) => Some(StatusChange::Revoke),
            (Some("revocation"), None, false) => {
                unrevoke = true;
                None
            }
            (Some("suspension"), None, true) => Some(StatusChange::Suspend),
            (Some("suspension"), None, false) => Some(StatusChange::Unsuspend),
            (Some(other), None, _) => {
                problems
                    .push(format!("{field}.statusPurpose"), format!("must be revocation or suspension, not {other}"));
                None
            }
            (None, None, _) => {
                problems.push(format!("{field}.statusPurpose"), "is required: revocation or suspension");
                None
            }
        };
    }
    if !problems.is_empty() {
        return Err(UpdateError::Invalid(problems));
    }
    match (credential_id, change) {
        (Some(credential_id), Some(change)) => Ok(StatusUpdate { credential_id, change, reason }),
        _ if unrevoke => Err(UpdateError::Unrevoke),
        _ => Err(UpdateError::Invalid(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(body: Value) -> Result<StatusUpdate, UpdateError> {
        parse(body.as_object().unwrap())
    }

    #[test]
    fn the_vc_api_shape_and_its_earlier_form_are_read() {
        let entry = |purpose: &str| json!({"type": "BitstringStatusListEntry", "statusPurpose": purpose});
        let update =
            parse_json(json!({"credentialId": "urn:uuid:1", "credentialStatus": entry("revocation"), "status": true}))
                .unwrap();
        assert_eq!(
            update,
            StatusUpdate { credential_id: "urn:uuid:1".into(), change: StatusChange::Revoke, reason: None }
        );
        let change = |body: Value| parse_json(body).unwrap().change;
        assert_eq!(
            change(json!({"credentialId": "x", "credentialStatus": entry("suspension")})),
            StatusChange::Suspend
        );
        assert_eq!(
            change(json!({"credentialId": "x", "credentialStatus": [entry("suspension")], "status": false})),
            StatusChange::Unsuspend
        );
        assert_eq!(
            change(
                json!({"credentialId": "x", "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "revoked"}]})
            ),
            StatusChange::Revoke
        );
        assert_eq!(
            parse_json(json!({"credentialId": "x", "credentialStatus": entry("revocation"), "status": false})),
            Err(UpdateError::Unrevoke)
        );
        let reason =
            parse_json(json!({"credentialId": "x", "credentialStatus": entry("revocation"), "reason": " Fraud "}))
                .unwrap();
        assert_eq!(reason.reason.as_deref(), Some("Fraud"));
    }

    #[test]
    fn every_problem_is_named() {
        let Err(UpdateError::Invalid(problems)) = parse_json(json!({
            "credentialStatus": {"type": "StatusList2021Entry", "statusPurpose": "refresh"}, "status": "yes"
        })) else {
            panic!("accepted")
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["credentialId", "status", "credentialStatus.type", "credentialStatus.statusPurpose"]);
        let Err(UpdateError::Invalid(problems)) = parse_json(json!({"credentialId": "", "credentialStatus": []}))
        else {
            panic!("accepted")
        };
        assert_eq!(problems.len(), 2);
    }
}

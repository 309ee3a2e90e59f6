//! Use cases of a credential after issuance: revoke, suspend, unsuspend and
//! reissue, one credential or every current credential of an achievement
//! version. Each is one storage transaction (state, audit entry, status
//! list change time, Edubadges withdrawal); this module validates, builds
//! and signs, and shapes the answers. The HTTP handlers and the CLI both
//! call it.

use crate::app::App;
use crate::domain::award::{AwardRecord, AwardRecordInput};
use crate::domain::microcredential::ValidationErrors;
use crate::issuance::{self, AwardView, ServiceError, Slots};
use crate::storage::{
    CredentialSelector, CredentialState, NewReissue, StatusChange, StatusChangeOutcome, StatusChangeRequest,
    StorageError,
};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// The longest reason accepted (it is shown to verifiers and in the audit trail).
pub const MAX_REASON_CHARS: usize = 1000;

/// Checks an administrator's reason: required, one paragraph, not too long.
pub fn parse_reason(reason: Option<&str>, problems: &mut ValidationErrors) -> Option<String> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        problems.push("reason", "is required: say why, for the audit trail and for verifiers");
        return None;
    };
    if reason.chars().count() > MAX_REASON_CHARS {
        problems.push("reason", format!("must be at most {MAX_REASON_CHARS} characters long"));
        return None;
    }
    if reason.chars().any(char::is_control) {
        problems.push("reason", "must be one line of text without control characters");
        return None;
    }
    Some(reason.to_owned())
}

/// A credential as the administration API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialView {
    pub id: String,
    pub award_id: String,
    pub url: String,
    pub issued_at: DateTime<Utc>,
    /// `active`, `suspended` or `revoked` (revocation wins).
    pub status: &'static str,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
    /// Whether it has a suspension status entry (can be suspended at all).
    pub suspendable: bool,
    /// The credential it replaced.
    pub supersedes: Option<String>,
    /// The credential that replaced it; `None` while it is the award's current one.
    pub superseded_by: Option<String>,
}

/// The credential `credential_id` and its status.
pub async fn credential(app: &App, credential_id: &str) -> Result<CredentialView, ServiceError> {
    let record = app.store.credential(credential_id).await?.ok_or(ServiceError::NotFound("credential"))?;
    let state = app.store.credential_state(credential_id).await?.unwrap_or_default();
    Ok(view(app, record, state))
}

fn view(app: &App, record: crate::storage::CredentialRecord, state: CredentialState) -> CredentialView {
    let status = match (&state.revoked_at, &state.suspended_at) {
        (Some(_), _) => "revoked",
        (None, Some(_)) => "suspended",
        (None, None) => "active",
    };
    CredentialView {
        url: issuance::credential_url(app, &record.credential_id),
        id: record.credential_id,
        award_id: record.award_id,
        issued_at: record.issued_at,
        status,
        revoked_at: state.revoked_at,
        revocation_reason: state.revocation_reason,
        suspended_at: state.suspended_at,
        suspension_reason: state.suspension_reason,
        suspendable: record.suspension.is_some(),
        supersedes: record.supersedes,
        superseded_by: state.superseded_by,
    }
}

/// What a status change of one credential did.
#[derive(Debug, Clone, Serialize)]
pub struct StatusChangeView {
    /// Whether this request changed anything.
    pub changed: bool,
    /// "revoked", "already revoked", …
    pub message: String,
    /// Whether the award is being withdrawn from Edubadges because of it.
    pub edubadges_withdrawal: bool,
    pub credential: CredentialView,
}

/// Revokes, suspends or unsuspends one credential. Repeating it changes
/// nothing and says so; suspending a revoked credential is a conflict.
pub async fn change_one(
    app: &App,
    credential_id: &str,
    change: StatusChange,
    reason: Option<&str>,
    actor: &str,
) -> Result<StatusChangeView, ServiceError> {
    let mut problems = ValidationErrors::new();
    let Some(reason) = parse_reason(reason, &mut problems) else { return Err(ServiceError::Invalid(problems)) };
    let selector = CredentialSelector::One(credential_id.to_owned());
    let outcome = apply(app, selector, change, reason, actor).await?;
    if let Some((_, why)) = outcome.refused.first() {
        let mut problems = ValidationErrors::new();
        problems.push("credential_id", format!("{why}; nothing was changed"));
        return Err(ServiceError::Conflict {
            message: format!("credential {credential_id} cannot be {}: {why}", past(change)),
            problems,
        });
    }
    let changed = outcome.changed > 0;
    let message = match changed {
        true => past(change).to_owned(),
        false => format!("already {}", past(change)),
    };
    Ok(StatusChangeView {
        changed,
        message,
        edubadges_withdrawal: outcome.withdrawals > 0,
        credential: credential(app, credential_id).await?,
    })
}

/// What a status change of an achievement version did.
#[derive(Debug, Clone, Serialize)]
pub struct BulkChangeView {
    pub achievement_id: String,
    pub version: i64,
    /// Current credentials of the version's awards.
    pub matched: i64,
    pub changed: i64,
    /// Already in the requested state.
    pub unchanged: i64,
    /// Could not take the change (the first 100 are listed).
    pub refused_count: i64,
    pub refused: Vec<Refusal>,
    /// Awards now being withdrawn from Edubadges.
    pub edubadges_withdrawals: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub credential_id: String,
    pub reason: String,
}

/// Revokes, suspends or unsuspends the current credential of every award
/// of one achievement version, in one transaction.
pub async fn change_version(
    app: &App,
    achievement_id: &str,
    version: i64,
    change: StatusChange,
    reason: Option<&str>,
    actor: &str,
) -> Result<BulkChangeView, ServiceError> {
    let mut problems = ValidationErrors::new();
    let reason = parse_reason(reason, &mut problems);
    let exists = app.store.achievement_version(achievement_id, version).await?.is_some();
    let Some(reason) = reason else { return Err(ServiceError::Invalid(problems)) };
    if !exists {
        return Err(ServiceError::NotFound("achievement version"));
    }
    let selector = CredentialSelector::AchievementVersion { achievement_id: achievement_id.to_owned(), version };
    let outcome = apply(app, selector, change, reason, actor).await?;
    tracing::info!(
        achievement.id = %achievement_id, version, action = change.action(), changed = outcome.changed,
        unchanged = outcome.unchanged, refused = outcome.refused_count, "bulk status change"
    );
    Ok(BulkChangeView {
        achievement_id: achievement_id.to_owned(),
        version,
        matched: outcome.matched,
        changed: outcome.changed,
        unchanged: outcome.unchanged,
        refused_count: outcome.refused_count,
        refused: outcome.refused.into_iter().map(|(credential_id, reason)| Refusal { credential_id, reason }).collect(),
        edubadges_withdrawals: outcome.withdrawals,
    })
}

async fn apply(
    app: &App,
    selector: CredentialSelector,
    change: StatusChange,
    reason: String,
    actor: &str,
) -> Result<StatusChangeOutcome, ServiceError> {
    let request = StatusChangeRequest { selector, change, reason, actor: actor.to_owned(), at: Utc::now() };
    let outcome = app.store.change_status(&request).await?;
    if outcome.changed > 0 {
        // This instance publishes at once; others within the publish delay.
        app.status_lists_changed();
        if let CredentialSelector::One(id) = &request.selector {
            tracing::info!(credential.id = %id, action = change.action(), actor, "credential status changed");
        }
    }
    Ok(outcome)
}

fn past(change: StatusChange) -> &'static str {
    match change {
        StatusChange::Revoke => "revoked",
        StatusChange::Suspend => "suspended",
        StatusChange::Unsuspend => "unsuspended",
    }
}

/// What an administrator asks of a reissue.
#[derive(Debug, Clone, Default)]
pub struct ReissueRequest {
    pub reason: Option<String>,
    /// Corrected record fields, with the API's names (`learner.surname`,
    /// `result.grade`, `evidence_url`, …); `null` clears an optional field.
    pub corrections: Map<String, Value>,
    /// Build from the achievement's newest version instead of the award's.
    pub newest_version: bool,
    /// Problems the HTTP layer found in the body's shape.
    pub shape_problems: ValidationErrors,
}

/// What a reissue did: the award as `POST /api/v1/awards` answers it, and
/// the credential that was replaced.
#[derive(Debug, Clone, Serialize)]
pub struct ReissueView {
    #[serde(flatten)]
    pub award: AwardView,
    pub superseded: String,
    /// `false` when the credential had been reissued already (nothing new).
    pub changed: bool,
}

/// Makes a new credential from the award of `credential_id` and supersedes
/// the old one (revoked, reason "superseded by …", linked both ways), in
/// one transaction; the award is withdrawn from Edubadges and sent again.
/// The new credential keeps the award date (`awardedDate` is the record's
/// completion date). Reissuing a credential that was replaced already
/// changes nothing and answers with its replacement.
pub async fn reissue(
    app: &App,
    credential_id: &str,
    request: ReissueRequest,
    actor: &str,
) -> Result<ReissueView, ServiceError> {
    let mut problems = request.shape_problems.clone();
    let reason = parse_reason(request.reason.as_deref(), &mut problems);
    let old = app.store.credential(credential_id).await?.ok_or(ServiceError::NotFound("credential"))?;
    let award = app.store.award(&old.award_id).await?.ok_or(ServiceError::NotFound("award"))?;
    let issued_at = Utc::now().trunc_subsecs(0);
    let today = (issued_at + Duration::hours(14)).date_naive();
    let record = match corrected_record(&award.record, &request.corrections, today) {
        Ok(record) => Some(record),
        Err(errors) => {
            errors.iter().for_each(|e| problems.push(e.field.clone(), e.message.clone()));
            None
        }
    };
    let (Some(reason), Some(record), true) = (reason, record, problems.is_empty()) else {
        return Err(ServiceError::Invalid(problems));
    };
    // Validated first: a bad request is refused even when it repeats one.
    if let Some(done) = already_reissued(app, credential_id, &old.award_id).await? {
        return Ok(done);
    }
    if award.credential_id != credential_id {
        // Not superseded (checked above) yet not current: cannot happen
        // unless the database was edited by hand.
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "credential {credential_id} is neither current nor superseded"
        )));
    }
    let record_json = serde_json::to_string(&record).map_err(|e| ServiceError::Internal(e.into()))?;
    let slots = Slots::take(app).await?;
    let new_id = uuid::Uuid::new_v4().to_string();
    let mut attempt = 1;
    loop {
        let (version, definition) = match request.newest_version {
            true => {
                let a = app.store.achievement(&award.achievement_id).await?;
                let a = a.ok_or(ServiceError::NotFound("achievement"))?;
                (a.current_version, a.definition)
            }
            false => {
                let v = app.store.achievement_version(&award.achievement_id, award.achievement_version).await?;
                (award.achievement_version, v.ok_or(ServiceError::NotFound("achievement version"))?.definition)
            }
        };
        let signed = issuance::signed_credential(
            app,
            &award.achievement_id,
            version,
            &definition,
            &record,
            &new_id,
            &slots,
            issued_at,
        )?;
        let reissue = NewReissue {
            award_id: award.award_id.clone(),
            supersedes: credential_id.to_owned(),
            credential_id: new_id.clone(),
            document: signed.document,
            jwt: signed.jwt,
            issued_at,
            status: slots.revocation,
            suspension: slots.suspension,
            record: record_json.clone(),
            achievement_version: version,
            definition,
            reason: reason.clone(),
            actor: actor.to_owned(),
        };
        match app.store.record_reissue(&reissue).await {
            Ok(()) => break,
            // The definition was edited in place meanwhile: build again.
            Err(StorageError::Stale("achievement version")) if attempt < 3 => attempt += 1,
            // Reissued (or the award moved on) concurrently: one wins, and
            // this answer is the winner's.
            Err(StorageError::Stale("credential")) => {
                return match already_reissued(app, credential_id, &award.award_id).await? {
                    Some(done) => Ok(done),
                    None => Err(ServiceError::Storage(StorageError::Stale("credential"))),
                };
            }
            Err(other) => return Err(other.into()),
        }
    }
    app.status_lists_changed();
    tracing::info!(award.id = %award.award_id, credential.id = %new_id, supersedes = %credential_id, actor, "reissued credential");
    Ok(ReissueView {
        award: issuance::award(app, &award.award_id).await?,
        superseded: credential_id.to_owned(),
        changed: true,
    })
}

/// The answer to a reissue of a credential that was replaced already.
async fn already_reissued(app: &App, credential_id: &str, award_id: &str) -> Result<Option<ReissueView>, ServiceError> {
    let state = app.store.credential_state(credential_id).await?.unwrap_or_default();
    if state.superseded_by.is_none() {
        return Ok(None);
    }
    let award = issuance::award(app, award_id).await?;
    Ok(Some(ReissueView { award, superseded: credential_id.to_owned(), changed: false }))
}

/// The stored record with `corrections` (API field names) applied, validated
/// again. The record id cannot change: it is the SIS's idempotency key.
pub fn corrected_record(
    stored: &str,
    corrections: &Map<String, Value>,
    today: chrono::NaiveDate,
) -> Result<AwardRecord, ValidationErrors> {
    let internal = |e: serde_json::Error| {
        let mut problems = ValidationErrors::new();
        problems.push("record", format!("the stored record cannot be read: {e}"));
        problems
    };
    let mut record: Map<String, Value> = serde_json::from_str(stored).map_err(internal)?;
    for (name, value) in corrections {
        match (name.as_str(), value) {
            ("learner" | "result", Value::Object(members)) => {
                for (member, value) in members {
                    if name == "learner" {
                        let learner = record.entry("learner").or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(learner) = learner {
                            learner.insert(member.clone(), value.clone());
                        }
                    } else {
                        record.insert(member.clone(), value.clone());
                    }
                }
            }
            _ => {
                record.insert(name.clone(), value.clone());
            }
        }
    }
    let input: AwardRecordInput = serde_json::from_value(Value::Object(record)).map_err(internal)?;
    AwardRecord::parse(input, today).map_err(|errors| {
        let mut problems = ValidationErrors::new();
        for e in errors.iter() {
            problems.push(format!("record.{}", api_name(&e.field)), e.message.clone());
        }
        problems
    })
}

/// Record fields by their API names (`result.grade`).
fn api_name(field: &str) -> String {
    match field {
        "grade" => "result.grade".to_owned(),
        "completed_on" => "result.completed_on".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored() -> String {
        let input = AwardRecordInput {
            record_id: Some("r-1".into()),
            learner: Some(crate::domain::award::LearnerInput {
                eppn: Some("s1@uni.example.nl".into()),
                email: None,
                given_name: Some("Sam".into()),
                surname_prefix: Some("de".into()),
                surname: Some("Vries".into()),
                student_number: None,
            }),
            grade: Some("7".into()),
            completed_on: Some("2026-06-30".into()),
            evidence_url: None,
            narrative: None,
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        serde_json::to_string(&AwardRecord::parse(input, today).unwrap()).unwrap()
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    #[test]
    fn no_corrections_give_the_stored_record_back() {
        let record = corrected_record(&stored(), &Map::new(), today()).unwrap();
        assert_eq!(serde_json::to_string(&record).unwrap(), stored());
    }

    #[test]
    fn corrections_replace_members_and_null_clears_an_optional_one() {
        let Value::Object(corrections) = json!({
            "learner": {"surname": "Visser", "surname_prefix": null},
            "result": {"grade": "8"},
        }) else {
            unreachable!()
        };
        let record = corrected_record(&stored(), &corrections, today()).unwrap();
        assert_eq!(record.learner().display_name(), "Sam Visser");
        assert_eq!(record.grade().unwrap().to_string(), "8");
        assert_eq!(record.completed_on().to_string(), "2026-06-30");
    }

    #[test]
    fn corrections_are_validated_like_a_new_record() {
        let Value::Object(corrections) = json!({
            "learner": {"given_name": ""},
            "result": {"completed_on": "2027-01-01"},
        }) else {
            unreachable!()
        };
        let problems = corrected_record(&stored(), &corrections, today()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"record.learner.given_name"), "{fields:?}");
        assert!(fields.contains(&"record.result.completed_on"), "{fields:?}");
    }
}

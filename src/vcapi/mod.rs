//! The W3C CCG VC-API (<https://w3c-ccg.github.io/vc-api/>), the use cases
//! behind its four endpoints; the HTTP handlers (`http::vcapi`) only
//! translate. What interoperability asks of them is in
//! `../shared/reference/vc-api-interop.md`.
//!
//! - [`issue_credential`]: a generic VC 2.0 / VC 1.1 issuer. The submitted
//!   credential is kept as sent, given a Bitstring Status List entry from
//!   zegel's own lists, signed `eddsa-rdfc-2022` by the issuer key and
//!   stored with its audit entry in one transaction. Open Badges are refused:
//!   they are issued through `POST /api/v1/awards`, where the quality
//!   framework is checked.
//! - [`verify_credential`] and [`verify_presentation`]: any credential or
//!   presentation, with everything the verifier needs gathered first
//!   (`verifying`), answered as the VC-API's result.
//! - [`update_status`]: revoke, suspend or unsuspend a credential issued
//!   here, or (for `admin` clients) one of zegel's Open Badges through the
//!   administrators' lifecycle use case.

pub mod issue;
pub mod status;
pub mod verify;

use crate::app::App;
use crate::credential::model::StatusPurpose;
use crate::domain::microcredential::ValidationErrors;
use crate::issuance::{self, SCOPE_ADMIN, ServiceError};
use crate::jsonld::JsonLdError;
use crate::signing::data_integrity::{self, DataIntegrityError, ProofOptions, ProofPlacement};
use crate::status::StatusEntry;
use crate::storage::{ClientRecord, NewVcCredential, StatusChange, StatusSlot, StorageError, VcStatusChangeRequest};
use crate::verification::{Verifier, VerifyOptions};
use crate::verifying::{self, FetchPolicy};
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::Instant;
use verify::{Document, VerificationResult, VerifyRequestOptions};

// ---------------------------------------------------------------------------
// Issuing
// ---------------------------------------------------------------------------

/// Issues the credential in an issue request body (`{"credential", "options"}`)
/// for `client`: the signed credential's JSON text, as stored.
pub async fn issue_credential(app: &App, client: &ClientRecord, body: &[u8]) -> Result<String, ServiceError> {
    let request = issue::parse_request(body, app.issuer.id()).map_err(|problems| {
        ServiceError::Invalid(problems.unwrap_or_else(|| {
            let mut problems = ValidationErrors::new();
            problems.push("body", "must be a JSON object: {\"credential\": {…}, \"options\": {…}}");
            problems
        }))
    })?;
    let issued_at = issuance::now();
    let created = data_integrity::format_datetime(issued_at);
    // JSON-LD safe mode before any status slot is taken, so that refused
    // requests use none (the shape is memoised: signing checks it again cheaply).
    let probe = issue::unsigned_document(&request, &[], &created)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("preparing the credential: {e}")))?;
    app.canonicalizer.canonicalize_unsecured(&probe).map_err(|e| refusal(DataIntegrityError::Canonicalization(e)))?;
    let purposes =
        if issue::takes_status_entries(&request) { request.options.status_purposes.clone() } else { Vec::new() };
    let mut slots: Vec<(StatusPurpose, StatusSlot)> = Vec::with_capacity(purposes.len());
    for purpose in purposes {
        slots.push((purpose, app.status_slot(purpose).await?));
    }
    let entries: Vec<Value> = slots
        .iter()
        .map(|(purpose, slot)| {
            let list = issuance::status_list_url(app, slot.list_id);
            let index = u64::try_from(slot.index).map_err(|e| ServiceError::Internal(e.into()))?;
            Ok(StatusEntry {
                id: Some(format!("{list}#{index}")),
                purpose: purpose.as_str().to_owned(),
                index,
                list_credential: list,
            }
            .to_json())
        })
        .collect::<Result<_, ServiceError>>()?;
    let unsigned = issue::unsigned_document(&request, &entries, &created)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("preparing the credential: {e}")))?;

    let started = Instant::now();
    let options = ProofOptions::assertion(app.issuer.verification_method().to_owned(), issued_at);
    let key = app.issuer.signing_key().signing_key();
    let signed = data_integrity::add_proof(&app.canonicalizer, &unsigned, &options, key, ProofPlacement::Object)
        .map_err(refusal)?;
    app.metrics.signing_duration.observe(started.elapsed());
    let document = String::from_utf8(signed).map_err(|e| ServiceError::Internal(e.into()))?;

    let slot = |wanted: StatusPurpose| slots.iter().find(|(purpose, _)| *purpose == wanted).map(|(_, slot)| *slot);
    let vc_credential_id = uuid::Uuid::new_v4().to_string();
    let record = NewVcCredential {
        vc_credential_id: vc_credential_id.clone(),
        credential_id: request.options.credential_id.clone(),
        client_id: client.client_id.clone(),
        document: document.clone(),
        issued_at,
        status: slot(StatusPurpose::Revocation),
        suspension: slot(StatusPurpose::Suspension),
        types: request.types.clone(),
        actor: format!("client:{}", client.client_id),
    };
    app.store.record_vc_credential(&record).await?;
    app.metrics.vc_credentials_issued.fetch_add(1, Ordering::Relaxed);
    tracing::info!(vc_credential.id = %vc_credential_id, client.id = %client.client_id, "issued a credential through the VC-API");
    Ok(document)
}

/// A credential the canonicaliser refused is the request's fault: every
/// problem it names, as a 422.
fn refusal(error: DataIntegrityError) -> ServiceError {
    let mut problems = ValidationErrors::new();
    match error {
        DataIntegrityError::Canonicalization(JsonLdError::DataLoss(issues)) => {
            for issue in issues {
                problems.push("credential", format!("JSON-LD safe mode: {issue}"));
            }
        }
        DataIntegrityError::Canonicalization(JsonLdError::UnknownContext(url)) => problems.push(
            "credential.@context",
            format!("{url} is not a context zegel knows: it works offline with the contexts it bundles (the VC 2.0 and 1.1, examples, data integrity, status list, Open Badges contexts), or contexts written inline"),
        ),
        DataIntegrityError::Canonicalization(other) => problems.push("credential", other.to_string()),
        other => return ServiceError::Internal(anyhow::anyhow!("signing a VC-API credential: {other}")),
    }
    ServiceError::Invalid(problems)
}

// ---------------------------------------------------------------------------
// Verifying
// ---------------------------------------------------------------------------

/// Whom zegel may ask for other issuers' keys and status lists (the
/// settings of `POST /verify`).
fn fetch_policy(app: &App) -> FetchPolicy {
    let settings = &app.settings.verify;
    FetchPolicy {
        allowed_hosts: settings.fetch_hosts.clone(),
        denied_hosts: settings.deny_hosts.clone(),
        allow_local: settings.allow_local,
        timeout: settings.fetch_timeout,
        ..FetchPolicy::default()
    }
}

/// Verifies the credential of a verify request body.
pub async fn verify_credential(app: &App, body: &[u8]) -> VerificationResult {
    let (document, options) = match verify::parse_request(body, "verifiableCredential", None) {
        Ok(parsed) => parsed,
        Err(e) => return VerificationResult::unreadable(&e.0),
    };
    let verifier = Verifier::new(app.canonicalizer.clone(), app.schemas.clone());
    let check_status = options.check_status;
    let make_options = move || VerifyOptions { check_status, ..VerifyOptions::any_credential(chrono::Utc::now()) };
    let report =
        verifying::verify_gathered(Some(app), verifier, document.bytes(), make_options, &fetch_policy(app)).await;
    VerificationResult::from_report(report)
}

/// Verifies the presentation of a verify request body
/// (`verifiablePresentation`, or `presentation` for one without proof).
pub async fn verify_presentation(app: &App, body: &[u8]) -> VerificationResult {
    let (document, options) = match verify::parse_request(body, "verifiablePresentation", Some("presentation")) {
        Ok((Document::Json(bytes), options)) => (bytes, options),
        Ok((Document::Jwt(_), _)) => {
            return VerificationResult::unreadable(
                "enveloped presentations (VP-JWT) are not supported; send the presentation as JSON",
            );
        }
        Err(e) => return VerificationResult::unreadable(&e.0),
    };
    let VerifyRequestOptions { check_status, challenge, domain } = options;
    let verifier = Verifier::new(app.canonicalizer.clone(), app.schemas.clone());
    let make_options = move || VerifyOptions { check_status, ..VerifyOptions::any_credential(chrono::Utc::now()) };
    let report = verifying::verify_presentation_gathered(
        app,
        verifier,
        &document,
        make_options,
        challenge.as_deref(),
        domain.as_deref(),
        &fetch_policy(app),
    )
    .await;
    VerificationResult::from_presentation(report)
}

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

/// What a status update did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdateView {
    pub credential_id: String,
    pub status_purpose: &'static str,
    /// The bit as it is now: set (revoked, suspended) or clear.
    pub status: bool,
    /// Whether this request changed anything.
    pub changed: bool,
    /// "revoked", "already revoked", …
    pub message: String,
    /// How many credentials it concerns (one id may have been issued more than once).
    pub credentials: i64,
}

/// The default audit reason of a status change made through the VC-API.
const DEFAULT_REASON: &str = "status set through the VC-API (POST /credentials/status)";

/// Applies a status update for `client` (which holds `credentials:status`
/// or `admin`): to the credentials issued through the VC-API under its id,
/// or else, for `admin` clients, to zegel's Open Badge of that id (its URL
/// or its UUID) through the administrators' lifecycle.
pub async fn update_status(
    app: &App,
    client: &ClientRecord,
    update: status::StatusUpdate,
) -> Result<StatusUpdateView, ServiceError> {
    let status::StatusUpdate { credential_id, change, reason } = update;
    let reason = reason.unwrap_or_else(|| DEFAULT_REASON.to_owned());
    let actor = format!("client:{}", client.client_id);
    let (purpose, status) = match change {
        StatusChange::Revoke => ("revocation", true),
        StatusChange::Suspend => ("suspension", true),
        StatusChange::Unsuspend => ("suspension", false),
    };
    let view = |changed: bool, credentials: i64| StatusUpdateView {
        credential_id: credential_id.clone(),
        status_purpose: purpose,
        status,
        changed,
        message: if changed { past(change).to_owned() } else { format!("already {}", past(change)) },
        credentials,
    };
    let request = VcStatusChangeRequest {
        credential_id: credential_id.clone(),
        change,
        reason: reason.clone(),
        actor: actor.clone(),
        at: chrono::Utc::now(),
    };
    match app.store.change_vc_status(&request).await {
        Ok(outcome) => {
            if outcome.changed > 0 {
                app.status_lists_changed();
                tracing::info!(client.id = %client.client_id, action = change.action(), "VC-API credential status changed");
            }
            if outcome.changed == 0 && outcome.unchanged == 0 {
                let why = outcome.refused.first().map_or("it cannot", |(_, why)| why.as_str());
                let mut problems = ValidationErrors::new();
                problems.push("credentialId", format!("{why}; nothing was changed"));
                return Err(ServiceError::Conflict {
                    message: format!("credential {credential_id} cannot be {}: {why}", past(change)),
                    problems,
                });
            }
            Ok(view(outcome.changed > 0, outcome.matched))
        }
        Err(StorageError::NotFound(_)) => {
            // Not issued here: one of zegel's Open Badges, by URL or UUID?
            let own = app.url("/credentials/");
            let uuid = credential_id.strip_prefix(&own).unwrap_or(&credential_id);
            if uuid::Uuid::parse_str(uuid).is_err() || app.store.credential(uuid).await?.is_none() {
                return Err(ServiceError::NotFound("credential"));
            }
            if !client.scopes.iter().any(|s| s == SCOPE_ADMIN) {
                return Err(ServiceError::Forbidden(SCOPE_ADMIN));
            }
            let changed = crate::lifecycle::change_one(app, uuid, change, Some(&reason), &actor).await?;
            Ok(view(changed.changed, 1))
        }
        Err(other) => Err(other.into()),
    }
}

fn past(change: StatusChange) -> &'static str {
    match change {
        StatusChange::Revoke => "revoked",
        StatusChange::Suspend => "suspended",
        StatusChange::Unsuspend => "unsuspended",
    }
}

//! Bulk intake: many award records in one request (`POST
//! /api/v1/awards/batch`), each answered on its own: created, existing, or
//! refused with its reasons. Refused records change nothing; accepted ones
//! are committed. Records are idempotent per SIS record id, exactly as
//! `POST /api/v1/awards`.
//!
//! Faster than one request per record because the work is batched: every
//! record is validated first (achievements read once), the new credentials
//! are signed on all cores at once, and they are stored concurrently, so the
//! store's group commit writes many per transaction.

pub mod csv;
pub mod jobs;
pub mod ooapi;

use crate::app::App;
use crate::domain::microcredential::{FieldError, ValidationErrors};
use crate::issuance::{
    self, AchievementLookup, AwardIds, AwardOutcome, AwardRequest, AwardView, ServiceError, Slots, ValidAward,
};
use crate::storage::{AwardRecord as StoredAward, ClientRecord, IssueOutcome, NewIssuedAward, StorageError};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The most records one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// Stores in flight at once: enough to fill SQLite's group commit and a
/// PostgreSQL pool, without holding a connection per record.
const STORE_CONCURRENCY: usize = 256;

/// What became of one record of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchItem {
    /// Its position in the request (from 0).
    pub index: usize,
    /// Its SIS record id, when it has a readable one.
    pub source_record_id: Option<String>,
    /// `created`, `existing` or `refused` (a dry run: `would_create`).
    pub result: &'static str,
    /// The award (created or existing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub award: Option<AwardView>,
    /// Why it was refused, field by field (as in the API's error body).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<FieldError>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchCounts {
    pub created: usize,
    pub existing: usize,
    pub refused: usize,
    /// Dry runs only.
    #[serde(skip_serializing_if = "is_zero")]
    pub would_create: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The answer to a batch: every record, in request order, and the counts.
#[derive(Debug, Clone, Serialize)]
pub struct BatchView {
    pub counts: BatchCounts,
    pub results: Vec<BatchItem>,
}

enum Pending {
    Done(Box<AwardOutcome>),
    Refused(ValidationErrors),
    /// To be made: signed below, then stored.
    New(Box<ValidAward>),
}

/// Issues every valid record of `requests`; see the module comment.
pub async fn issue_batch(
    app: Arc<App>,
    client: &ClientRecord,
    requests: Vec<AwardRequest>,
) -> Result<BatchView, ServiceError> {
    run_batch(app, client, requests, false).await
}

/// What [`issue_batch`] would do, issuing nothing: each record
/// `would_create`, `existing` or `refused` with its reasons.
pub async fn check_batch(
    app: Arc<App>,
    client: &ClientRecord,
    requests: Vec<AwardRequest>,
) -> Result<BatchView, ServiceError> {
    run_batch(app, client, requests, true).await
}

async fn run_batch(
    app: Arc<App>,
    client: &ClientRecord,
    requests: Vec<AwardRequest>,
    dry_run: bool,
) -> Result<BatchView, ServiceError> {
    let prepared = prepare_batch(app.clone(), client, requests, dry_run).await?;
    commit_batch(app, client, prepared).await
}

/// A batch validated, looked up and signed, not yet stored: the first half
/// of [`issue_batch`]. Preparing one batch while the previous one is being
/// stored (an import's chunks) keeps both cores busy, since storing waits
/// mostly on the database's single writer.
pub struct PreparedBatch {
    ids: Vec<Option<String>>,
    requests: Vec<AwardRequest>,
    pending: Vec<Pending>,
    signed: Vec<(usize, NewIssuedAward)>,
    dry_run: bool,
}

/// Validates every record, finds those posted before and signs the new ones.
pub async fn prepare_batch(
    app: Arc<App>,
    client: &ClientRecord,
    requests: Vec<AwardRequest>,
    dry_run: bool,
) -> Result<PreparedBatch, ServiceError> {
    let issued_at = issuance::now();
    let today = issuance::latest_completion_day(issued_at);
    let ids: Vec<Option<String>> = requests.iter().map(|r| r.record.record_id.clone()).collect();
    let started = std::time::Instant::now();

    // 1. Validate every record; a record id twice in one batch is a mistake.
    let mut lookup = AchievementLookup::default();
    let mut first_index: HashMap<String, usize> = HashMap::new();
    let mut pending = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let item = match issuance::validate_award(&app, request.clone(), today, &mut lookup).await {
            Ok(valid) => match first_index.get(valid.record.record_id().as_str()) {
                Some(first) => {
                    let mut problems = ValidationErrors::new();
                    problems.push(
                        "source_record_id",
                        format!("appears more than once in this batch (first at index {first}); nothing was changed"),
                    );
                    Pending::Refused(problems)
                }
                None => {
                    first_index.insert(valid.record.record_id().as_str().to_owned(), index);
                    Pending::New(Box::new(valid))
                }
            },
            Err(ServiceError::Invalid(problems)) => Pending::Refused(problems),
            Err(other) => return Err(other),
        };
        pending.push(item);
    }

    let validated = started.elapsed();
    // 2. Records posted before answer as `POST /api/v1/awards` would (one query).
    let wanted: Vec<String> = pending
        .iter()
        .filter_map(|item| match item {
            Pending::New(valid) => Some(valid.record.record_id().as_str().to_owned()),
            _ => None,
        })
        .collect();
    let mut existing: HashMap<String, StoredAward> = app
        .store
        .awards_by_source_record_ids(&wanted)
        .await?
        .into_iter()
        .map(|award| (award.source_record_id.clone(), award))
        .collect();
    for item in &mut pending {
        let Pending::New(valid) = item else { continue };
        if let Some(existing) = existing.remove(valid.record.record_id().as_str()) {
            *item = match issuance::repeat_or_conflict(&app, existing, &valid.hash).await {
                Ok(outcome) => Pending::Done(Box::new(outcome)),
                Err(ServiceError::Conflict { problems, .. }) => Pending::Refused(problems),
                Err(other) => return Err(other),
            };
        }
    }

    if dry_run {
        return Ok(PreparedBatch { ids, requests, pending, signed: Vec::new(), dry_run });
    }

    let looked_up = started.elapsed();
    // 3. Sign the new ones on every core, in chunks.
    let new = pending.iter().filter(|item| matches!(item, Pending::New(_))).count();
    let mut slots = Slots::take_many(&app, new).await?.into_iter();
    let mut to_sign = Vec::new();
    for (index, item) in pending.iter().enumerate() {
        if let Pending::New(valid) = item {
            let slots = slots.next().ok_or(ServiceError::Storage(StorageError::NotFound("status slot")))?;
            to_sign.push((index, (**valid).clone(), slots, AwardIds::new()));
        }
    }
    let reserved = started.elapsed();
    let signed = sign_all(app.clone(), client.clone(), to_sign, issued_at).await?;
    tracing::debug!(
        records = ids.len(),
        validate_ms = validated.as_millis(),
        lookup_ms = (looked_up - validated).as_millis(),
        slots_ms = (reserved - looked_up).as_millis(),
        sign_ms = (started.elapsed() - reserved).as_millis(),
        "batch prepared"
    );
    Ok(PreparedBatch { ids, requests, pending, signed, dry_run })
}

/// Stores a prepared batch's new awards and answers every record: the
/// second half of [`issue_batch`] (a dry run: what would happen).
pub async fn commit_batch(
    app: Arc<App>,
    client: &ClientRecord,
    prepared: PreparedBatch,
) -> Result<BatchView, ServiceError> {
    let PreparedBatch { ids, requests, mut pending, signed, dry_run } = prepared;
    if dry_run {
        return Ok(dry_run_view(ids, pending));
    }

    let started = std::time::Instant::now();
    // 4. Store them concurrently; the store groups the commits.
    let stored: Vec<(usize, Result<IssueOutcome, StorageError>, NewIssuedAward)> =
        futures_util::stream::iter(signed.into_iter().map(|(index, award)| {
            let app = app.clone();
            async move {
                let outcome = app.store.record_issued_award(&award).await;
                (index, outcome, award)
            }
        }))
        .buffer_unordered(STORE_CONCURRENCY)
        .collect()
        .await;
    for (index, outcome, award) in stored {
        let Pending::New(valid) = &pending[index] else { continue };
        pending[index] = match outcome {
            Ok(IssueOutcome::Created) => {
                app.metrics.awards_issued.fetch_add(1, Ordering::Relaxed);
                // Just written as given: no need to read it back.
                let mut view = issuance::award_view(&app, stored_award(award));
                view.push = issuance::PushView::waiting(view.push.state.clone(), view.created_at);
                Pending::Done(Box::new(AwardOutcome::Created(view)))
            }
            // Posted concurrently by another request a moment ago.
            Ok(IssueOutcome::Existing(existing)) => {
                match issuance::repeat_or_conflict(&app, *existing, &valid.hash).await {
                    Ok(outcome) => Pending::Done(Box::new(outcome)),
                    Err(ServiceError::Conflict { problems, .. }) => Pending::Refused(problems),
                    Err(other) => return Err(other),
                }
            }
            // The definition was edited in place meanwhile: this one alone
            // goes the single-award way, which builds it again.
            Err(StorageError::Stale(_)) => match issuance::issue_award(&app, client, requests[index].clone()).await {
                Ok(outcome) => Pending::Done(Box::new(outcome)),
                Err(ServiceError::Invalid(problems) | ServiceError::Conflict { problems, .. }) => {
                    Pending::Refused(problems)
                }
                Err(other) => return Err(other),
            },
            Err(other) => return Err(other.into()),
        };
    }

    tracing::debug!(records = ids.len(), store_ms = started.elapsed().as_millis(), "batch stored");
    let mut counts = BatchCounts::default();
    let results = pending
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let source_record_id = ids[index].clone();
            match item {
                Pending::Done(outcome) => {
                    let (result, view) = match *outcome {
                        AwardOutcome::Created(view) => {
                            counts.created += 1;
                            ("created", view)
                        }
                        AwardOutcome::Existing(view) => {
                            counts.existing += 1;
                            ("existing", view)
                        }
                    };
                    BatchItem { index, source_record_id, result, award: Some(view), problems: None }
                }
                Pending::Refused(problems) => {
                    counts.refused += 1;
                    BatchItem {
                        index,
                        source_record_id,
                        result: "refused",
                        award: None,
                        problems: Some(problems.errors().to_vec()),
                    }
                }
                Pending::New(_) => unreachable!("every new record was stored above"),
            }
        })
        .collect();
    tracing::info!(
        client.id = %client.client_id, created = counts.created, existing = counts.existing,
        refused = counts.refused, "award batch"
    );
    Ok(BatchView { counts, results })
}

/// A dry run's answer: what was refused or exists already, and
/// `would_create` for the rest.
fn dry_run_view(ids: Vec<Option<String>>, pending: Vec<Pending>) -> BatchView {
    let mut counts = BatchCounts::default();
    let results = pending
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(index, (item, source_record_id))| {
            let (result, award, problems) = match item {
                Pending::Done(outcome) => match *outcome {
                    AwardOutcome::Created(view) | AwardOutcome::Existing(view) => ("existing", Some(view), None),
                },
                Pending::Refused(problems) => ("refused", None, Some(problems.errors().to_vec())),
                Pending::New(_) => ("would_create", None, None),
            };
            match result {
                "existing" => counts.existing += 1,
                "refused" => counts.refused += 1,
                _ => counts.would_create += 1,
            }
            BatchItem { index, source_record_id, result, award, problems }
        })
        .collect();
    BatchView { counts, results }
}

/// The award row a new award was written as (its push waits, due now).
fn stored_award(award: NewIssuedAward) -> StoredAward {
    StoredAward {
        award_id: award.award_id,
        client_id: award.client_id,
        source_record_id: award.source_record_id,
        request_hash: award.request_hash,
        achievement_id: award.achievement_id,
        achievement_version: award.achievement_version,
        record: award.record,
        credential_id: award.credential_id,
        created_at: award.issued_at,
        push_state: "pending".to_owned(),
    }
}

/// Builds and signs each award on a blocking thread per chunk, one chunk
/// per core: signing is CPU work that would otherwise hold one HTTP worker.
async fn sign_all(
    app: Arc<App>,
    client: ClientRecord,
    awards: Vec<(usize, ValidAward, Slots, AwardIds)>,
    issued_at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(usize, NewIssuedAward)>, ServiceError> {
    if awards.is_empty() {
        return Ok(Vec::new());
    }
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = awards.len().div_ceil(cores);
    let mut tasks = Vec::new();
    let mut awards = awards;
    while !awards.is_empty() {
        let rest = awards.split_off(chunk.min(awards.len()));
        let part = std::mem::replace(&mut awards, rest);
        let (app, client) = (app.clone(), client.clone());
        tasks.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(index, valid, slots, ids)| {
                    let award = issuance::signed_award(
                        &app,
                        &client,
                        &valid.achievement,
                        &valid.record,
                        &valid.hash,
                        &ids,
                        &slots,
                        issued_at,
                    )?;
                    Ok((index, award))
                })
                .collect::<Result<Vec<_>, ServiceError>>()
        }));
    }
    let mut signed = Vec::new();
    for task in tasks {
        signed.extend(task.await.map_err(|e| ServiceError::Internal(e.into()))??);
    }
    Ok(signed)
}

/// What issuing `request` would do, without doing it (a dry run):
/// `would_create`, `existing` or `refused` with the problems.
pub async fn check(app: &App, request: AwardRequest) -> Result<(&'static str, Option<ValidationErrors>), ServiceError> {
    let today = issuance::latest_completion_day(issuance::now());
    let valid = match issuance::validate_award(app, request, today, &mut AchievementLookup::default()).await {
        Ok(valid) => valid,
        Err(ServiceError::Invalid(problems)) => return Ok(("refused", Some(problems))),
        Err(other) => return Err(other),
    };
    match app.store.award_by_source_record_id(valid.record.record_id().as_str()).await? {
        None => Ok(("would_create", None)),
        Some(existing) => match issuance::repeat_or_conflict(app, existing, &valid.hash).await {
            Ok(_) => Ok(("existing", None)),
            Err(ServiceError::Conflict { problems, .. }) => Ok(("refused", Some(problems))),
            Err(other) => Err(other),
        },
    }
}

//! Import jobs: a whole file (CSV, or an OOAPI v5 document) imported in the
//! background, row by row results kept, surviving restarts.
//!
//! The file is read and checked when the job is made; a file that cannot be
//! imported as a whole is refused then, and no job exists. The job keeps the
//! file, so any instance can run it: chunk by chunk (as
//! `POST /api/v1/awards/batch`), each chunk's row outcomes written in one
//! transaction that also renews the job's lease. An instance that stops
//! leaves its lease to run out; the next claim resumes at the first row
//! without an outcome. Records are idempotent per SIS record id, so a chunk
//! that was issued but not yet recorded when the instance stopped is issued
//! again as "existing": no row is ever issued twice. Such rows are still
//! counted as created by the job (an award whose record is in the job and
//! which was made after the job started, by the job's client).

use super::{BatchView, MAX_BATCH, csv, ooapi};
use crate::app::App;
use crate::domain::microcredential::{FieldError, ValidationErrors};
use crate::issuance::{AwardRequest, ServiceError};
use crate::storage::{ClaimedImport, ClientRecord, ImportRecord, ImportRowRecord, NewImport, StorageError};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// How long a claim holds a job without a sign of life (each chunk renews
/// it): also how long a job waits after its instance stopped.
pub const LEASE: Duration = Duration::from_secs(30);

/// Attempts after which a job that keeps failing is given up as `failed`.
const MAX_ATTEMPTS: i64 = 5;

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ooapi,
}

impl Format {
    /// A document starting with `{` is OOAPI JSON, anything else CSV.
    pub fn detect(bytes: &[u8]) -> Self {
        let start = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        if start.trim_ascii_start().first() == Some(&b'{') { Self::Ooapi } else { Self::Csv }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Ooapi => "ooapi",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "ooapi" => Some(Self::Ooapi),
            _ => None,
        }
    }
}

/// How to read and import a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The file's name, for people (never read from disk).
    pub filename: Option<String>,
    /// The microcredential of CSV rows that name none.
    pub achievement: Option<String>,
    /// OOAPI: where the eppn is (`code:<codeType>` or `studentnumber@<scope>`).
    pub eppn_rule: Option<String>,
    /// Check everything, issue nothing.
    pub dry_run: bool,
}

/// One row of a file, read.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// `line 4` (CSV) or `item 3` (OOAPI).
    pub place: String,
    pub record_id: String,
    pub input: RowInput,
}

#[derive(Debug, Clone)]
pub enum RowInput {
    Award(Box<AwardRequest>),
    /// Refused while reading (a bad cell, a formula, …).
    Refused(ValidationErrors),
    /// Not an award (OOAPI: failed, in progress, …), with the reason.
    Skipped(String),
}

/// A file that cannot be imported: every (place, problem).
pub type FileProblems = Vec<(String, String)>;

/// Reads every row of a file, or says why the file as a whole is unusable.
pub fn read_file(format: Format, bytes: &[u8], options: &ImportOptions) -> Result<Vec<ImportRow>, FileProblems> {
    match format {
        Format::Csv => {
            let file = csv::read(bytes, options.achievement.as_deref())?;
            Ok(file
                .rows
                .into_iter()
                .map(|row| ImportRow {
                    place: format!("line {}", row.line),
                    record_id: row.record_id,
                    input: match row.request {
                        Ok(request) => RowInput::Award(Box::new(request)),
                        Err(problems) => RowInput::Refused(problems),
                    },
                })
                .collect())
        }
        Format::Ooapi => {
            let rule = match options.eppn_rule.as_deref() {
                Some(text) => ooapi::EppnRule::parse(text).map_err(|e| vec![("eppn_rule".to_owned(), e)])?,
                None => ooapi::EppnRule::default(),
            };
            Ok(ooapi::read(bytes, &rule)?
                .into_iter()
                .map(|item| ImportRow {
                    place: format!("item {}", item.index),
                    record_id: item.association_id,
                    input: match item.outcome {
                        ooapi::ItemOutcome::Award(request) => RowInput::Award(request),
                        ooapi::ItemOutcome::Refused(problems) => RowInput::Refused(problems),
                        ooapi::ItemOutcome::Skipped(why) => RowInput::Skipped(why),
                    },
                })
                .collect())
        }
    }
}

/// Why a file was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The file as a whole cannot be imported; nothing was made.
    #[error("the file cannot be imported")]
    File(FileProblems),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Reads and checks `bytes` and makes an import job of them, queued for a
/// worker (of this instance, woken at once, or of another).
pub async fn submit(
    app: &App,
    client: &ClientRecord,
    bytes: Vec<u8>,
    options: ImportOptions,
    actor: &str,
) -> Result<ImportRecord, SubmitError> {
    let (record, _) = make(app, client, bytes, options, actor, false).await?;
    app.imports_queued();
    Ok(record)
}

/// Makes the job as [`submit`] does, but running and leased to the caller,
/// and runs it here (the CLI): no worker elsewhere takes it unless this
/// process stops, when one resumes it.
pub async fn submit_and_run(
    app: Arc<App>,
    client: &ClientRecord,
    bytes: Vec<u8>,
    options: ImportOptions,
    actor: &str,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<(ImportRecord, RunEnd), SubmitError> {
    let (record, claimed) = make(&app, client, bytes, options, actor, true).await?;
    let claimed = claimed.ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("the import was not leased")))?;
    let end = run(app.clone(), claimed, progress).await?;
    let record = app.store.import(&record.import_id).await.map_err(ServiceError::from)?.unwrap_or(record);
    Ok((record, end))
}

async fn make(
    app: &App,
    client: &ClientRecord,
    bytes: Vec<u8>,
    options: ImportOptions,
    actor: &str,
    run_here: bool,
) -> Result<(ImportRecord, Option<ClaimedImport>), SubmitError> {
    let format = Format::detect(&bytes);
    let rows = read_file(format, &bytes, &options).map_err(SubmitError::File)?;
    if rows.is_empty() {
        return Err(SubmitError::File(vec![("file".to_owned(), "holds no rows to import".to_owned())]));
    }
    let total_rows = rows.len() as i64;
    // The rows are read again when the job runs (perhaps elsewhere); not
    // held meanwhile.
    drop(rows);
    let created_at = crate::issuance::now().trunc_subsecs(6);
    let import_id = uuid::Uuid::new_v4().to_string();
    let lease_until = run_here.then(|| (created_at + LEASE).trunc_subsecs(6));
    let job = NewImport {
        import_id: import_id.clone(),
        client_id: client.client_id.clone(),
        format: format.as_str().to_owned(),
        filename: options.filename,
        achievement_id: options.achievement,
        eppn_rule: options.eppn_rule,
        dry_run: options.dry_run,
        total_rows,
        source: bytes,
        created_at,
        actor: actor.to_owned(),
        lease_until,
    };
    app.store.create_import(&job).await.map_err(ServiceError::from)?;
    tracing::info!(import.id = %import_id, client.id = %client.client_id, rows = job.total_rows,
        format = format.as_str(), dry_run = job.dry_run, "import queued");
    let record =
        app.store.import(&import_id).await.map_err(ServiceError::from)?.ok_or(ServiceError::NotFound("import"))?;
    let claimed = lease_until.map(|lease_until| ClaimedImport { job: record.clone(), source: job.source, lease_until });
    Ok((record, claimed))
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Every row has its outcome (or the job was given up as failed).
    Finished,
    /// Another instance holds the job now; it goes on there.
    LostLease,
}

/// Runs a claimed job to its end, calling `progress(rows done, rows)`
/// after each chunk. An error leaves the job to be resumed when its lease
/// runs out (after [`MAX_ATTEMPTS`] it is marked failed instead).
pub async fn run(
    app: Arc<App>,
    claimed: ClaimedImport,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<RunEnd, ServiceError> {
    let import_id = claimed.job.import_id.clone();
    // Each chunk renews the lease; the newest value is the claim's token.
    let mut lease = claimed.lease_until;
    match run_chunks(app.clone(), &claimed, &mut lease, progress).await {
        Ok(RunEnd::Finished) => {
            let held = app.store.finish_import(&import_id, lease, None, now()).await?;
            tracing::info!(import.id = %import_id, held, "import done");
            Ok(if held { RunEnd::Finished } else { RunEnd::LostLease })
        }
        Ok(RunEnd::LostLease) => Ok(RunEnd::LostLease),
        Err(error) => {
            tracing::error!(import.id = %import_id, attempt = claimed.job.attempts, error = %error, "import stopped");
            if claimed.job.attempts >= MAX_ATTEMPTS {
                let reason = format!("gave up after {} attempts: {error}", claimed.job.attempts);
                app.store.finish_import(&import_id, lease, Some(&reason), now()).await?;
            }
            Err(error)
        }
    }
}

async fn run_chunks(
    app: Arc<App>,
    claimed: &ClaimedImport,
    lease: &mut DateTime<Utc>,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<RunEnd, ServiceError> {
    let job = &claimed.job;
    let format = Format::parse(&job.format).ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!("import {}: unknown format {}", job.import_id, job.format))
    })?;
    let options = ImportOptions {
        filename: job.filename.clone(),
        achievement: job.achievement_id.clone(),
        eppn_rule: job.eppn_rule.clone(),
        dry_run: job.dry_run,
    };
    // The file was read when the job was made; reading it again gives the
    // same rows (the readers are pure).
    let rows = read_file(format, &claimed.source, &options).map_err(|problems| {
        ServiceError::Internal(anyhow::anyhow!(
            "import {}: the stored file no longer reads: {problems:?}",
            job.import_id
        ))
    })?;
    let client = app
        .store
        .list_clients()
        .await?
        .into_iter()
        .find(|c| c.client_id == job.client_id)
        .ok_or(ServiceError::NotFound("API client of the import"))?;
    let resumed = job.attempts > 1;
    let total = rows.len() as i64;
    let mut done = job.rows_done;
    progress(done, total);
    let start = usize::try_from(done).unwrap_or(usize::MAX).min(rows.len());
    let chunks: Vec<(usize, &[ImportRow])> =
        rows[start..].chunks(MAX_BATCH).enumerate().map(|(i, chunk)| (start + i * MAX_BATCH, chunk)).collect();
    // A pipeline: chunk k+1 is validated and signed (on the cores) while
    // chunk k is stored (mostly waiting on the database's writer). Record
    // ids are unique within a file, so preparing ahead cannot miss an award
    // that the chunk before it is storing; if one repeats (OOAPI), storing
    // finds it and answers it as a repeat, as a concurrent request would.
    let mut ahead = match chunks.first() {
        Some(&(first, chunk)) => Some(prepare_chunk(app.clone(), &client, job.dry_run, first, chunk).await?),
        None => None,
    };
    for k in 0..chunks.len() {
        let Some(current) = ahead.take() else { break };
        let next =
            chunks.get(k + 1).map(|&(first, chunk)| prepare_chunk(app.clone(), &client, job.dry_run, first, chunk));
        let (outcomes, next) = tokio::join!(finish_chunk(app.clone(), &client, job, resumed, current), async {
            match next {
                Some(next) => next.await.map(Some),
                None => Ok(None),
            }
        });
        let outcomes = outcomes?;
        ahead = next?;
        let renewed = now() + LEASE;
        if !app.store.record_import_rows(&job.import_id, *lease, renewed, &outcomes).await? {
            tracing::warn!(import.id = %job.import_id, "import taken over by another instance");
            return Ok(RunEnd::LostLease);
        }
        *lease = renewed;
        done += outcomes.len() as i64;
        progress(done, total);
    }
    Ok(RunEnd::Finished)
}

/// A chunk read and prepared: the outcomes of rows that are no award
/// request (refused while reading, skipped), and the batch of the others.
struct ChunkInProgress<'a> {
    first: usize,
    chunk: &'a [ImportRow],
    outcomes: Vec<Option<ImportRowRecord>>,
    /// Offsets in the chunk of the batch's records, in batch order.
    positions: Vec<usize>,
    batch: Option<super::PreparedBatch>,
}

async fn prepare_chunk<'a>(
    app: Arc<App>,
    client: &ClientRecord,
    dry_run: bool,
    first: usize,
    chunk: &'a [ImportRow],
) -> Result<ChunkInProgress<'a>, ServiceError> {
    let mut outcomes: Vec<Option<ImportRowRecord>> = vec![None; chunk.len()];
    let mut requests = Vec::new();
    let mut positions = Vec::new();
    for (offset, row) in chunk.iter().enumerate() {
        let record = |result: &str, problems: Vec<FieldError>| ImportRowRecord {
            row_index: (first + offset) as i64,
            place: row.place.clone(),
            record_id: row.record_id.clone(),
            result: result.to_owned(),
            award_id: None,
            problems: problems_json(&problems),
        };
        match &row.input {
            RowInput::Award(request) => {
                requests.push((**request).clone());
                positions.push(offset);
            }
            RowInput::Refused(problems) => outcomes[offset] = Some(record("refused", problems.errors().to_vec())),
            RowInput::Skipped(why) => {
                let reason = FieldError { field: "result".to_owned(), message: why.clone() };
                outcomes[offset] = Some(record("skipped", vec![reason]));
            }
        }
    }
    let batch =
        if requests.is_empty() { None } else { Some(super::prepare_batch(app, client, requests, dry_run).await?) };
    Ok(ChunkInProgress { first, chunk, outcomes, positions, batch })
}

/// Stores a prepared chunk and gives every row's outcome, in file order.
async fn finish_chunk(
    app: Arc<App>,
    client: &ClientRecord,
    job: &ImportRecord,
    resumed: bool,
    prepared: ChunkInProgress<'_>,
) -> Result<Vec<ImportRowRecord>, ServiceError> {
    let ChunkInProgress { first, chunk, mut outcomes, positions, batch } = prepared;
    if let Some(batch) = batch {
        let view: BatchView = super::commit_batch(app, client, batch).await?;
        for (offset, item) in positions.into_iter().zip(view.results) {
            let row = &chunk[offset];
            let mut result = item.result;
            // Issued by this job before its instance stopped.
            if resumed && result == "existing" && item.award.as_ref().is_some_and(|a| a.created_at >= job.created_at) {
                result = "created";
            }
            outcomes[offset] = Some(ImportRowRecord {
                row_index: (first + offset) as i64,
                place: row.place.clone(),
                record_id: row.record_id.clone(),
                result: result.to_owned(),
                award_id: item.award.map(|award| award.id),
                problems: problems_json(item.problems.as_deref().unwrap_or_default()),
            });
        }
    }
    Ok(outcomes.into_iter().flatten().collect())
}

fn problems_json(problems: &[FieldError]) -> String {
    serde_json::to_string(problems).unwrap_or_else(|_| "[]".to_owned())
}

fn now() -> DateTime<Utc> {
    crate::issuance::now()
}

/// Claims and runs one job, if one is waiting: queued, or left by a
/// stopped instance (`only`: that job alone).
pub async fn run_next(
    app: Arc<App>,
    only: Option<&str>,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<Option<(String, RunEnd)>, ServiceError> {
    let at = now();
    let Some(claimed) = app.store.claim_import(at, at + LEASE, only).await? else { return Ok(None) };
    let id = claimed.job.import_id.clone();
    tracing::info!(import.id = %id, attempt = claimed.job.attempts, from_row = claimed.job.rows_done, "import running");
    let end = run(app, claimed, progress).await?;
    Ok(Some((id, end)))
}

/// The import worker of `zegel serve`: runs jobs as they come (woken when
/// one is made here; every few seconds it also looks for jobs made by
/// other instances or left by stopped ones). Runs until the task is dropped.
pub async fn worker(app: Arc<App>) {
    loop {
        match run_next(app.clone(), None, &|_, _| {}).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(error) => tracing::error!(error = %error, "import worker"),
        }
        app.wait_for_imports(Duration::from_secs(2)).await;
    }
}

/// An import job as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportView {
    pub id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    pub dry_run: bool,
    pub rows: i64,
    pub rows_done: i64,
    pub counts: CountsView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub client_id: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Where the row results are, as CSV.
    pub results_csv_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountsView {
    pub created: i64,
    pub existing: i64,
    pub refused: i64,
    pub skipped: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_create: Option<i64>,
}

impl ImportView {
    pub fn new(record: ImportRecord) -> Self {
        let counts = CountsView {
            created: record.counts.created,
            existing: record.counts.existing,
            refused: record.counts.refused,
            skipped: record.counts.skipped,
            would_create: record.dry_run.then_some(record.counts.would_create),
        };
        Self {
            results_csv_url: format!("/api/v1/imports/{}/results.csv", record.import_id),
            id: record.import_id,
            state: record.state,
            format: record.format,
            filename: record.filename,
            dry_run: record.dry_run,
            rows: record.total_rows,
            rows_done: record.rows_done,
            counts,
            error: record.error,
            client_id: record.client_id,
            created_at: record.created_at,
            started_at: record.started_at,
            finished_at: record.finished_at,
        }
    }
}

/// One row's result as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    pub index: i64,
    pub place: String,
    pub record_id: String,
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub award_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldError>,
}

impl RowView {
    pub fn new(row: ImportRowRecord) -> Result<Self, StorageError> {
        let problems = serde_json::from_str(&row.problems)
            .map_err(|e| StorageError::Corrupt(format!("import_row.problems: {e}")))?;
        Ok(Self {
            index: row.row_index,
            place: row.place,
            record_id: row.record_id,
            result: row.result,
            award_id: row.award_id,
            problems,
        })
    }

    /// `field: message; …`, for one cell or line.
    pub fn problem_text(&self) -> String {
        self.problems
            .iter()
            .map(|p| if p.field.is_empty() { p.message.clone() } else { format!("{}: {}", p.field, p.message) })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The rows of an import's file with `result` and `problems` columns added
/// (an OOAPI document: `item`, `record_id` and those two), formula-like
/// cells neutralised so that a spreadsheet shows them as text. Rows not yet
/// run have empty result cells.
pub async fn results_csv(app: &App, record: &ImportRecord) -> Result<Vec<u8>, ServiceError> {
    let source = app.store.import_source(&record.import_id).await?.ok_or(ServiceError::NotFound("import"))?;
    let mut results: Vec<Option<RowView>> = vec![None; usize::try_from(record.total_rows).unwrap_or(0)];
    let mut after = None;
    loop {
        let page = app.store.import_rows(&record.import_id, None, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.row_index);
        for row in page {
            let at = usize::try_from(row.row_index).unwrap_or(usize::MAX);
            if let Some(slot) = results.get_mut(at) {
                *slot = Some(RowView::new(row)?);
            }
        }
    }
    let cells = |row: Option<&RowView>| -> [String; 2] {
        match row {
            Some(row) => [row.result.clone(), csv::neutralise(&row.problem_text())],
            None => [String::new(), String::new()],
        }
    };
    let mut out = ::csv::WriterBuilder::new();
    let broken = |e: ::csv::Error| ServiceError::Internal(e.into());
    if record.format == "csv" {
        let file = csv::read(&source, record.achievement_id.as_deref()).map_err(|problems| {
            ServiceError::Internal(anyhow::anyhow!("the stored file no longer reads: {problems:?}"))
        })?;
        let mut writer = out.delimiter(file.delimiter).from_writer(Vec::new());
        let mut header = file.header.clone();
        header.extend(["result".to_owned(), "problems".to_owned()]);
        writer.write_record(&header).map_err(broken)?;
        for (i, row) in file.rows.iter().enumerate() {
            let mut line: Vec<String> = row.cells.iter().map(|c| csv::neutralise(c)).collect();
            line.extend(cells(results.get(i).and_then(Option::as_ref)));
            writer.write_record(&line).map_err(broken)?;
        }
        return writer.into_inner().map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")));
    }
    let mut writer = out.from_writer(Vec::new());
    writer.write_record(["item", "record_id", "result", "problems"]).map_err(broken)?;
    for row in results.iter().flatten() {
        let [result, problems] = cells(Some(row));
        writer.write_record([row.place.clone(), csv::neutralise(&row.record_id), result, problems]).map_err(broken)?;
    }
    writer.into_inner().map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))
}

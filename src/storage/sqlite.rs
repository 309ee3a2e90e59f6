//! The SQLite backend: one file, WAL journal, one writer connection.
//!
//! Every write transaction runs on a pool of exactly one connection and
//! starts with `BEGIN IMMEDIATE`, so in-process writers queue for that
//! connection instead of failing with `SQLITE_BUSY`, and a transaction never
//! has to upgrade a read lock to a write lock (which `busy_timeout` cannot
//! resolve). Another process writing the same file (the CLI next to a running
//! server) is waited for up to `busy_timeout`. Reads use a separate pool of
//! read-only connections, which WAL lets run alongside the writer.
//!
//! Awards are group-committed: concurrent `record_issued_award` calls queue
//! their award, and whichever gets the writer connection writes all queued
//! awards in one transaction and answers each caller after the commit. The
//! per-award checks are made once for the group and its rows go in as
//! multi-row inserts (32 awards per command). Every round trip to sqlx's
//! per-connection worker thread costs a thread hand-off, and on a small
//! machine those hand-offs dominate an award's cost; batching roughly
//! doubles throughput under load. Outcomes are per award, exactly as
//! without batching: a batch that fails anywhere is rolled back and its
//! awards written one by one.

use crate::storage::{StoreOptions, is_foreign_key_violation};
use sqlx::Connection as _;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::collections::VecDeque;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

type Db = sqlx::Sqlite;
type This = SqliteStore;

/// A store on an SQLite file. Cheap to clone: the pools are shared.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction.
    writer: SqlitePool,
    /// Read-only connections for everything else.
    reader: SqlitePool,
    /// Awards waiting to be written together (group commit).
    awards: Arc<AwardQueue>,
}

/// The most awards one group-commit transaction writes.
const MAX_BATCH: usize = 256;

/// Awards waiting for the writer connection. Whoever gets the connection
/// writes all of them in one transaction and answers each caller after the
/// commit: one `BEGIN`/`COMMIT` (and the worker-thread hand-offs they cost)
/// per batch instead of per award, while each award keeps its own outcome.
#[derive(Debug, Default)]
struct AwardQueue {
    jobs: Mutex<VecDeque<AwardJob>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct AwardJob {
    id: u64,
    award: NewIssuedAward,
    reply: oneshot::Sender<Result<IssueOutcome, StorageError>>,
}

impl AwardQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<AwardJob>> {
        // The lock is never held across an await or a panic-prone call, so
        // poisoning cannot leave the queue half-changed.
        self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, award: &NewIssuedAward) -> (u64, oneshot::Receiver<Result<IssueOutcome, StorageError>>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.lock().push_back(AwardJob { id, award: award.clone(), reply });
        (id, answer)
    }

    /// Takes a job back if no writer has taken it yet.
    fn withdraw(&self, id: u64) -> bool {
        let mut jobs = self.lock();
        let before = jobs.len();
        jobs.retain(|job| job.id != id);
        jobs.len() != before
    }

    fn take_batch(&self) -> Vec<AwardJob> {
        let mut jobs = self.lock();
        let n = jobs.len().min(MAX_BATCH);
        jobs.drain(..n).collect()
    }
}

/// Withdraws a queued award when its caller goes away before a writer has
/// taken it, so an abandoned call that never started writes nothing.
struct Withdraw<'a> {
    queue: &'a AwardQueue,
    id: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.queue.withdraw(self.id);
    }
}

/// The SQLite migrations, compiled in.
pub fn migrator() -> Migrator {
    crate::storage::compiled_migrator(&[
        (1, "initial", include_str!("../../migrations/sqlite/0001_initial.sql")),
        (2, "push", include_str!("../../migrations/sqlite/0002_push.sql")),
        (3, "lifecycle", include_str!("../../migrations/sqlite/0003_lifecycle.sql")),
        (4, "audit", include_str!("../../migrations/sqlite/0004_audit.sql")),
        (5, "imports", include_str!("../../migrations/sqlite/0005_imports.sql")),
        (6, "vc_api", include_str!("../../migrations/sqlite/0006_vc_api.sql")),
    ])
}

impl SqliteStore {
    pub(super) async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let invalid = |reason: String| StorageError::InvalidUrl { url: url.to_owned(), reason };
        if url.contains(":memory:") || url.contains("mode=memory") {
            // Two pools on an in-memory database would be two databases.
            return Err(invalid("in-memory SQLite databases are not supported; name a file".into()));
        }
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| invalid(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL loses no committed transaction when the
            // process dies, only (at worst) the last ones on power loss; the
            // database stays consistent either way.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true)
            // Statement journals (every insert that could fail midway
            // inside a group commit writes one) in memory, not temp files.
            .pragma("temp_store", "memory");
        let acquire_timeout = options.busy_timeout.max(Duration::from_secs(30));
        // No ping before handing out a connection: a local file does not go
        // away like a network peer, and each ping is another round trip to
        // the connection's worker thread.
        let writer = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(acquire_timeout)
            // The writer's page cache (32 MB) holds a whole group commit
            // (256 awards, ~3 MB of pages) and the hot index pages: with the
            // default 2 MB it spilled pages mid-transaction and read index
            // pages back from the file for every award. A checkpoint (and
            // its fsyncs) every 64 MB of WAL instead of every 4 MB: under
            // bulk intake the writer waited on those more than it worked.
            // After a checkpoint the WAL file is cut back to 64 MB.
            .connect_with(
                base.clone()
                    .pragma("cache_size", "-32768")
                    .pragma("wal_autocheckpoint", "16384")
                    .pragma("journal_size_limit", "67108864"),
            )
            .await
            .map_err(db_error("opening the SQLite database"))?;
        migrator().run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(acquire_timeout)
            .connect_with(base.read_only(true))
            .await
            .map_err(db_error("opening SQLite read connections"))?;
        Ok(Self { writer, reader, awards: Arc::default() })
    }

    pub(super) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StorageError> {
        self.writer.begin_with("begin immediate").await.map_err(db_error("starting a write transaction"))
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// Queues the award, then either receives its outcome from the call
    /// that wrote it, or gets the writer connection first and writes every
    /// queued award itself.
    pub(super) async fn record_issued_award(&self, award: &NewIssuedAward) -> Result<IssueOutcome, StorageError> {
        loop {
            let (id, mut answer) = self.awards.push(award);
            let _withdraw = Withdraw { queue: &self.awards, id };
            // Uncontended: the writer is free, so write now, without having
            // polled `answer` (answering ourselves then wakes nothing, which
            // on a multi-threaded runtime would rouse an idle worker).
            if let Some(mut conn) = self.writer.try_acquire() {
                self.write_queued(&mut conn).await;
                drop(conn);
                match answer.try_recv() {
                    Ok(outcome) => return outcome,
                    Err(oneshot::error::TryRecvError::Closed) => continue,
                    // Beyond the batch limit: still queued.
                    Err(oneshot::error::TryRecvError::Empty) => {}
                }
            }
            loop {
                tokio::select! {
                    // Answers first: a writer answers before it lets the
                    // connection go, so once we hold the connection with our
                    // job gone from the queue, the answer is already here.
                    biased;
                    outcome = &mut answer => match outcome {
                        Ok(outcome) => return outcome,
                        // The call writing our award was cancelled before it
                        // answered (its transaction rolled back, or committed
                        // and `existing_award` will recognise ours): again.
                        Err(_) => break,
                    },
                    writer = self.writer.acquire() => match writer {
                        Ok(mut conn) => self.write_queued(&mut conn).await,
                        Err(error) => {
                            if self.awards.withdraw(id) {
                                return Err(db_error("waiting for the SQLite writer")(error));
                            }
                            // Another call has our award in hand.
                            match answer.await {
                                Ok(outcome) => return outcome,
                                Err(_) => break,
                            }
                        }
                    },
                }
            }
        }
    }

    /// Writes the queued awards (up to `MAX_BATCH`) in one transaction and
    /// answers their callers. If anything fails, the batch is rolled back
    /// and each award is written in a transaction of its own instead, so
    /// that every caller gets its own answer, as if there were no batching.
    async fn write_queued(&self, conn: &mut sqlx::SqliteConnection) {
        let jobs = self.awards.take_batch();
        if jobs.is_empty() {
            return;
        }
        match write_batch(conn, &jobs).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    // A caller that has gone away needs no answer.
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                tracing::debug!(%error, awards = jobs.len(), "an award batch failed; writing its awards one by one");
                for job in jobs {
                    let outcome = match conn.begin_with("begin immediate").await {
                        Ok(tx) => record_award_in(tx, &job.award).await,
                        Err(error) => Err(db_error("starting a write transaction")(error)),
                    };
                    let _ = job.reply.send(outcome);
                }
            }
        }
    }
}

/// All of `jobs` in one transaction; the first error rolls it all back
/// (and the caller then writes each award alone, which names its error).
/// The checks `WRITE_AWARD` makes per award are made once for the batch, so
/// the rows go in as multi-row inserts: a few statements per batch instead
/// of one per award.
async fn write_batch(conn: &mut sqlx::SqliteConnection, jobs: &[AwardJob]) -> Result<Vec<IssueOutcome>, StorageError> {
    let mut tx = conn.begin_with("begin immediate").await.map_err(db_error("starting a write transaction"))?;
    // Source record ids taken before, or earlier in this very batch: those
    // awards are not written, and answer as `existing_award` says.
    let ids: Vec<String> = jobs.iter().map(|job| job.award.source_record_id.clone()).collect();
    let taken: Vec<String> = sqlx::query_scalar(
        "select source_record_id from award where source_record_id in (select value from json_each($1))",
    )
    .bind(text_list(&ids))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error("looking up source record ids"))?;
    let mut seen: HashSet<&str> = taken.iter().map(String::as_str).collect();
    let is_new: Vec<bool> = jobs.iter().map(|job| seen.insert(job.award.source_record_id.as_str())).collect();
    let fresh: Vec<&NewIssuedAward> =
        jobs.iter().zip(&is_new).filter(|(_, new)| **new).map(|(job, _)| &job.award).collect();

    // Each achievement version once: it still holds the definition the
    // credentials were built from (`unwritten` errs if it is gone or changed).
    let mut versions = HashSet::new();
    for award in &fresh {
        if versions.insert((award.achievement_id.as_str(), award.achievement_version, award.definition.as_str())) {
            unwritten(&mut tx, award).await?;
        }
    }

    let mut rest = fresh.as_slice();
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(insert_size(rest.len()));
        insert_awards(&mut tx, chunk).await?;
        rest = tail;
    }

    let mut outcomes = Vec::with_capacity(jobs.len());
    for (job, new) in jobs.iter().zip(is_new) {
        outcomes.push(if new { IssueOutcome::Created } else { existing_award(&mut tx, &job.award).await? });
    }
    tx.commit().await.map_err(db_error("committing the awards"))?;
    Ok(outcomes)
}

/// The most awards one multi-row insert writes: 27 parameters each, well
/// under SQLite's limit of 32,766.
const INSERT_ROWS: usize = 32;

/// How many of `remaining` awards the next insert takes: `INSERT_ROWS`, or
/// the largest power of two below, so that only six statement texts are
/// ever prepared (and kept in the connection's statement cache).
fn insert_size(remaining: usize) -> usize {
    if remaining >= INSERT_ROWS { INSERT_ROWS } else { 1 << remaining.ilog2() }
}

/// The four multi-row inserts for `n` awards, with positional parameters
/// (sqlx numbers `?` across the statements in order).
fn insert_awards_sql(n: usize) -> String {
    let rows = |row: &str| vec![row; n].join(", ");
    format!(
        "insert into award (award_id, client_id, source_record_id, request_hash, achievement_id, \
            achievement_version, record, credential_id, created_at, push_state) values {}; \
         insert into credential (credential_id, award_id, document, jwt, issued_at, status_list_id, status_index, \
            suspension_list_id, suspension_index) values {}; \
         insert into audit_entry (at, actor, action, award_id, credential_id, achievement_id, client_id, details) \
            values {}; \
         insert into outbox_job (kind, award_id, state, attempts, next_attempt_at, created_at) values {}",
        rows("(?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')"),
        rows("(?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        rows("(?, ?, 'credential_issued', ?, ?, ?, ?, ?)"),
        rows("('edubadges_award', ?, 'pending', 0, ?, ?)"),
    )
}

/// Writes the rows of `awards`, whose source record ids are free and whose
/// achievement versions are checked.
async fn insert_awards(tx: &mut sqlx::Transaction<'_, Db>, awards: &[&NewIssuedAward]) -> Result<(), StorageError> {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let sql = &SQL.get_or_init(|| (1..=INSERT_ROWS).map(insert_awards_sql).collect())[awards.len() - 1];
    let mut query = sqlx::query(sql.as_str());
    for award in awards {
        query = bind_award_row(query, award, micros(award.issued_at));
    }
    for award in awards {
        query = query
            .bind(&award.credential_id)
            .bind(&award.award_id)
            .bind(&award.credential_document)
            .bind(&award.credential_jwt)
            .bind(micros(award.issued_at))
            .bind(award.status.list_id)
            .bind(award.status.index)
            .bind(award.suspension.map(|s| s.list_id))
            .bind(award.suspension.map(|s| s.index));
    }
    for award in awards {
        query = query
            .bind(micros(award.issued_at))
            .bind(&award.actor)
            .bind(&award.award_id)
            .bind(&award.credential_id)
            .bind(&award.achievement_id)
            .bind(&award.client_id)
            .bind(issued_details(award));
    }
    for award in awards {
        let at = micros(award.issued_at);
        query = query.bind(&award.award_id).bind(at).bind(at);
    }
    let done = query.execute(&mut **tx).await.map_err(db_error("writing a group of awards"))?;
    match done.rows_affected() {
        n if n == 4 * awards.len() as u64 => Ok(()),
        n => Err(StorageError::Corrupt(format!("{} awards' writes inserted {n} rows", awards.len()))),
    }
}

/// SQLite reports contention as `SQLITE_BUSY` only after `busy_timeout`;
/// running the transaction again would just wait again.
fn is_transient(_error: &sqlx::Error) -> bool {
    false
}

/// SQLite has no array parameters: a JSON array, read with `json_each`.
fn index_list(positions: &[i64]) -> String {
    serde_json::Value::from(positions.to_vec()).to_string()
}

/// Inserts, in draw order, the first `$4` candidates (`$3`) that are free,
/// and adds them to the list's count, in one command. `not exists` per
/// candidate (an index probe), not `not in (…)`, which would materialise the
/// whole list; the `where` clause also lets SQLite parse the upsert after
/// `insert … select`.
const INSERT_FREE: &str = "\
    insert into status_slot (status_list_id, status_index, reserved_at) \
        select $1, j.value, $2 from json_each($3) as j \
        where not exists (select 1 from status_slot s where s.status_list_id = $1 and s.status_index = j.value) \
        order by j.key limit $4 on conflict do nothing returning status_index; \
    update status_list set reserved = reserved + changes() where status_list_id = $1";

/// An award's four rows in one command: sqlx binds `$N` by number in every
/// statement, and each insert after the first runs only if the one before
/// it inserted its row (`changes()`), so a taken source record id, or a
/// version whose definition is no longer `$16`, writes nothing. One round trip to the connection's worker thread instead of
/// six: those hand-offs, not SQLite, are what an award costs here.
const WRITE_AWARD: &str = "\
    insert into award (award_id, client_id, source_record_id, request_hash, achievement_id, achievement_version, \
        record, credential_id, created_at, push_state) \
        select $1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending' where exists (select 1 from achievement_version v \
            where v.achievement_id = $5 and v.version = $6 and v.definition = $16) \
        on conflict (source_record_id) do nothing; \
    insert into credential (credential_id, award_id, document, jwt, issued_at, status_list_id, status_index, \
        suspension_list_id, suspension_index) \
        select $8, $1, $10, $11, $9, $12, $13, $17, $18 where changes() = 1; \
    insert into audit_entry (at, actor, action, award_id, credential_id, achievement_id, client_id, details) \
        select $9, $14, 'credential_issued', $1, $8, $5, $2, $15 where changes() = 1; \
    insert into outbox_job (kind, award_id, state, attempts, next_attempt_at, created_at) \
        select 'edubadges_award', $1, 'pending', 0, $9, $9 where changes() = 1";

/// Writes an award's rows; false if the source record id is taken. SQLite
/// runs one write transaction at a time, so no locks are needed: nothing
/// can change between the statements.
async fn write_award(
    tx: &mut sqlx::Transaction<'_, Db>,
    award: &NewIssuedAward,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StorageError> {
    let written = bind_award_row(sqlx::query(WRITE_AWARD), award, at)
        .bind(&award.credential_document)
        .bind(&award.credential_jwt)
        .bind(award.status.list_id)
        .bind(award.status.index)
        .bind(&award.actor)
        .bind(issued_details(award))
        .bind(&award.definition)
        .bind(award.suspension.map(|s| s.list_id))
        .bind(award.suspension.map(|s| s.index))
        .execute(&mut **tx)
        .await;
    match written {
        Ok(done) => match done.rows_affected() {
            4 => Ok(true),
            0 => unwritten(tx, award).await,
            n => Err(StorageError::Corrupt(format!("an award write inserted {n} rows instead of 4"))),
        },
        Err(error) => Err(match unique_violation(&error) {
            Some(which) => award_unique_conflict(award, &which),
            // SQLite does not say which reference is missing: look.
            None if is_foreign_key_violation(&error) => missing_reference(tx, award).await?,
            None => db_error("writing the award")(error),
        }),
    }
}

/// Why nothing was written: the source record id is taken (`false`), or
/// the version is gone or holds another definition.
async fn unwritten(tx: &mut sqlx::Transaction<'_, Db>, award: &NewIssuedAward) -> Result<bool, StorageError> {
    let unchanged: Option<bool> = sqlx::query_scalar(
        "select definition = $3 from achievement_version where achievement_id = $1 and version = $2",
    )
    .bind(&award.achievement_id)
    .bind(award.achievement_version)
    .bind(&award.definition)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error("checking the achievement version"))?;
    match unchanged {
        None => Err(StorageError::NotFound("achievement version")),
        Some(false) => Err(StorageError::Stale("achievement version")),
        Some(true) => Ok(false),
    }
}

/// After a foreign key violation: which referenced row is missing.
async fn missing_reference(
    tx: &mut sqlx::Transaction<'_, Db>,
    award: &NewIssuedAward,
) -> Result<StorageError, StorageError> {
    let exists = |found: Option<i64>| found.is_some();
    let version: Option<i64> =
        sqlx::query_scalar("select version from achievement_version where achievement_id = $1 and version = $2")
            .bind(&award.achievement_id)
            .bind(award.achievement_version)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_error("checking the achievement version"))?;
    if !exists(version) {
        return Ok(StorageError::NotFound("achievement version"));
    }
    let client: Option<i64> = sqlx::query_scalar("select 1 from api_client where client_id = $1")
        .bind(&award.client_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_error("checking the client"))?;
    if !exists(client) {
        return Ok(StorageError::NotFound("client"));
    }
    Ok(StorageError::NotFound("status slot"))
}

/// No row locks in SQLite: its write transactions are serialised whole.
macro_rules! for_update {
    () => {
        ""
    };
}

macro_rules! course_codes_json {
    () => {
        "(select json_group_array(course_code) from achievement_course_code c \
          where c.achievement_id = a.achievement_id)"
    };
}

/// No row locks in SQLite: nothing to skip.
macro_rules! skip_locked {
    () => {
        ""
    };
}

/// A list of texts as a JSON array parameter.
fn text_list(values: &[String]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
}

/// ` in (…)`: membership in the JSON array parameter `$n`.
macro_rules! in_text_list {
    ($param:literal) => {
        concat!(" in (select value from json_each(", $param, "))")
    };
}

/// The `seq` of a new import job: SQLite writes one transaction at a time,
/// so the next number is simply the largest plus one.
macro_rules! import_seq {
    () => {
        (", seq", ", (select coalesce(max(seq), 0) + 1 from import_job)")
    };
}

include!("ops.rs");
include!("push_ops.rs");
include!("lifecycle_ops.rs");
include!("audit_ops.rs");
include!("vcapi_ops.rs");
include!("import_ops.rs");

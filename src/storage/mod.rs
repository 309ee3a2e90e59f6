//! Persistence: SQLite (the embedded default) or PostgreSQL, with sqlx and
//! the migrations in `migrations/`. One function per use case, each one
//! transaction; no business rules here.
//!
//! [`Store`] picks the backend from the URL. Both backends run the same
//! statements where the dialects agree (`$1` placeholders work in both); the
//! shared operations live in `ops.rs`, compiled once per backend module, and
//! each backend supplies only what differs (row locks, array parameters,
//! aggregation, how a write transaction starts).
//!
//! Timestamps are stored with microsecond precision on both backends (what
//! PostgreSQL keeps), so a value reads back the same from either.
//!
//! Throughput: on SQLite, concurrent [`Store::record_issued_award`] calls are
//! committed together (group commit, see `sqlite.rs`); reserving a status
//! slot costs a transaction of its own, so the issuing path should take
//! slots from a [`SlotBuffer`], which reserves them in batches.

mod model;
pub mod postgres;
pub mod sqlite;

pub use model::*;

use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;

/// Connection settings shared by both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Largest pool size: the whole pool on PostgreSQL, the read pool on
    /// SQLite (whose writes always go through one connection).
    pub max_connections: u32,
    /// How long SQLite waits for another process's write lock before
    /// failing with `SQLITE_BUSY`; also the floor for how long a caller
    /// waits for a pooled connection.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8, busy_timeout: Duration::from_secs(5) }
    }
}

/// Which audit entries to list; every set field must match. Entries come
/// back ordered by `audit_id` (the order they were written in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    pub award_id: Option<String>,
    pub credential_id: Option<String>,
    pub achievement_id: Option<String>,
    pub client_id: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many entries (values below 1 return none).
    pub limit: i64,
    /// Only entries of this action (`credential_issued`, `key_rotated`, …).
    pub action: Option<String>,
    /// Only entries written after this one (an `audit_id`): the cursor of
    /// the next page.
    pub after: Option<i64>,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            award_id: None,
            credential_id: None,
            achievement_id: None,
            client_id: None,
            since: None,
            limit: 1000,
            action: None,
            after: None,
        }
    }
}

/// Counts that must line up after any crash; all but `awards` and
/// `credentials` are zero in a healthy database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntegrityReport {
    pub awards: i64,
    pub credentials: i64,
    /// Credentials replaced by a reissue (each award has one current credential).
    pub superseded_credentials: i64,
    /// Awards with no credential row pointing back at them.
    pub awards_without_credential: i64,
    /// Credentials whose award is missing, or names another credential
    /// that is not their successor.
    pub credentials_without_award: i64,
    /// Awards with no `edubadges_award` outbox job.
    pub awards_without_outbox_job: i64,
    /// Awards with no `credential_issued` audit entry.
    pub awards_without_audit: i64,
    /// Status positions used more than once (revocation and suspension slots).
    pub status_slots_bound_twice: i64,
}

impl IntegrityReport {
    /// True when nothing is half-written.
    pub fn is_consistent(&self) -> bool {
        self.awards + self.superseded_credentials == self.credentials
            && self.awards_without_credential == 0
            && self.credentials_without_award == 0
            && self.awards_without_outbox_job == 0
            && self.awards_without_audit == 0
            && self.status_slots_bound_twice == 0
    }
}

/// The database behind zegel: cheap to clone (pools are shared), `Send + Sync`.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

// `Store` is shared by every request handler and worker.
const _: fn() = || {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Store>();
    shareable::<SlotBuffer>();
};

/// Calls the same method on whichever backend this is.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$method($($arg),*).await,
            Store::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the database named by `url` and brings its schema up to date.
    ///
    /// `sqlite:<path>` (created if missing; in-memory databases are refused,
    /// since the read and write pools would each get their own) or
    /// `postgres://…` / `postgresql://…`.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StorageError> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(sqlite::SqliteStore::connect(url, options).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::PgStore::connect(url, options).await?))
        } else {
            Err(StorageError::InvalidUrl {
                url: redact_url(url),
                reason: "expected a sqlite:, postgres:// or postgresql:// URL".into(),
            })
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// A cheap round trip (`SELECT 1`), for readiness checks.
    pub async fn ping(&self) -> Result<(), StorageError> {
        dispatch!(self.ping())
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        dispatch!(self.close())
    }

    /// Stores a new API client and audits `client_created`. A token hash or
    /// client id already present is a `Conflict` (`token` / `client_id`).
    pub async fn create_client(&self, client: &NewClient) -> Result<(), StorageError> {
        dispatch!(self.create_client(client))
    }

    /// The client holding this token hash, revoked or not (the caller decides).
    pub async fn client_by_token_hash(&self, token_hash: &str) -> Result<Option<ClientRecord>, StorageError> {
        dispatch!(self.client_by_token_hash(token_hash))
    }

    /// All clients, oldest first.
    pub async fn list_clients(&self) -> Result<Vec<ClientRecord>, StorageError> {
        dispatch!(self.list_clients())
    }

    /// Revokes a client: true if it was active; false (and no audit entry) if
    /// it was revoked already; `NotFound("client")` if there is no such client.
    pub async fn revoke_client(&self, client_id: &str, at: DateTime<Utc>, actor: &str) -> Result<bool, StorageError> {
        dispatch!(self.revoke_client(client_id, at, actor))
    }

    /// Stores a new achievement as version 1 with its course codes, and
    /// audits `achievement_created`. A course code mapped to another
    /// achievement is a `Conflict` (`course_code`) and nothing is written.
    pub async fn create_achievement(&self, achievement: &NewAchievement) -> Result<(), StorageError> {
        dispatch!(self.create_achievement(achievement))
    }

    /// Applies a changed definition or settings; see [`UpdateOutcome`].
    /// Atomic with respect to awards being recorded for the current version:
    /// if any award for it commits first, the change becomes a new version.
    pub async fn update_achievement(&self, update: &AchievementUpdate) -> Result<UpdateOutcome, StorageError> {
        dispatch!(self.update_achievement(update))
    }

    pub async fn achievement(&self, achievement_id: &str) -> Result<Option<AchievementRecord>, StorageError> {
        dispatch!(self.achievement(achievement_id))
    }

    pub async fn achievement_version(
        &self,
        achievement_id: &str,
        version: i64,
    ) -> Result<Option<AchievementVersionRecord>, StorageError> {
        dispatch!(self.achievement_version(achievement_id, version))
    }

    /// The achievement a course code is mapped to.
    pub async fn achievement_by_course_code(
        &self,
        course_code: &str,
    ) -> Result<Option<AchievementRecord>, StorageError> {
        dispatch!(self.achievement_by_course_code(course_code))
    }

    /// All achievements, oldest first.
    pub async fn list_achievements(&self) -> Result<Vec<AchievementRecord>, StorageError> {
        dispatch!(self.list_achievements())
    }

    /// Reserves `count` free positions in the purpose's current status list,
    /// each chosen uniformly at random among the free ones, in one
    /// transaction. A list is never filled beyond 90 %: when it would be, it
    /// is closed and a new list (with a higher id and `list_size` entries) is
    /// started, so one call may return slots from two or more lists.
    /// `list_size` must be at least 2.
    pub async fn reserve_status_slots(
        &self,
        purpose: &str,
        count: usize,
        list_size: i64,
    ) -> Result<Vec<StatusSlot>, StorageError> {
        dispatch!(self.reserve_status_slots(purpose, count, list_size))
    }

    /// How many positions of a list are reserved (bound to a credential or not).
    pub async fn status_slots_in_use(&self, list_id: i64) -> Result<i64, StorageError> {
        dispatch!(self.status_slots_in_use(list_id))
    }

    /// Writes an issued award in one transaction: the award, its credential
    /// (bound to the reserved status slot), a `credential_issued` audit entry
    /// and a pending `edubadges_award` outbox job. If the source record id is
    /// taken (even by a concurrent call), nothing is written and the existing
    /// award is returned. Errors: `NotFound("achievement version")`,
    /// `NotFound("status slot")`, `Conflict` on `status_slot` (bound already),
    /// `award_id` or `credential_id`.
    pub async fn record_issued_award(&self, award: &NewIssuedAward) -> Result<IssueOutcome, StorageError> {
        dispatch!(self.record_issued_award(award))
    }

    pub async fn award(&self, award_id: &str) -> Result<Option<AwardRecord>, StorageError> {
        dispatch!(self.award(award_id))
    }

    pub async fn award_by_source_record_id(&self, source_record_id: &str) -> Result<Option<AwardRecord>, StorageError> {
        dispatch!(self.award_by_source_record_id(source_record_id))
    }

    /// The awards of those of `source_record_ids` that exist, in one query.
    pub async fn awards_by_source_record_ids(
        &self,
        source_record_ids: &[String],
    ) -> Result<Vec<AwardRecord>, StorageError> {
        dispatch!(self.awards_by_source_record_ids(source_record_ids))
    }

    pub async fn credential(&self, credential_id: &str) -> Result<Option<CredentialRecord>, StorageError> {
        dispatch!(self.credential(credential_id))
    }

    pub async fn outbox_jobs_for_award(&self, award_id: &str) -> Result<Vec<OutboxJob>, StorageError> {
        dispatch!(self.outbox_jobs_for_award(award_id))
    }

    pub async fn audit_entries(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, StorageError> {
        dispatch!(self.audit_entries(&filter))
    }

    // ---- the Edubadges push (see `push_ops.rs`) ------------------------

    /// Takes up to `limit` due outbox jobs (pending and due, or running with
    /// a lease that ran out) until `lease_until`, counting an attempt each.
    /// Several instances never hold one job at once: PostgreSQL skips rows
    /// another transaction has locked (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_jobs(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StorageError> {
        dispatch!(self.claim_jobs(now, lease_until, limit))
    }

    /// Record, badge class and delivery of each award (unknown ids are left out).
    pub async fn push_items(&self, award_ids: &[String]) -> Result<Vec<PushItem>, StorageError> {
        dispatch!(self.push_items(award_ids))
    }

    /// (direct award id, award id) of every direct award the ledger knows in
    /// these badge classes.
    pub async fn known_direct_awards(&self, badgeclasses: &[String]) -> Result<Vec<(String, String)>, StorageError> {
        dispatch!(self.known_direct_awards(badgeclasses))
    }

    /// Writes the deliveries as `sending` and commits, before the request
    /// that may create them is made. Returns the award ids marked: a job
    /// whose lease the caller lost is left out and must not be sent.
    pub async fn mark_sending(
        &self,
        marks: &[(ClaimedJob, SendingMark)],
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StorageError> {
        dispatch!(self.mark_sending(marks, at))
    }

    /// Records the jobs' outcomes (award push state, ledger, audit, follow-up
    /// jobs) in one transaction; outcomes of jobs no longer leased to the
    /// caller are skipped. Returns how many were recorded.
    pub async fn finish_jobs(&self, outcomes: &[JobOutcome], at: DateTime<Utc>) -> Result<usize, StorageError> {
        dispatch!(self.finish_jobs(outcomes, at))
    }

    pub async fn push_status(&self, award_id: &str) -> Result<Option<PushStatus>, StorageError> {
        dispatch!(self.push_status(award_id))
    }

    /// Awards by push state, oldest first, after `after` (created at, award id).
    pub async fn push_list(
        &self,
        state: Option<&str>,
        after: Option<(DateTime<Utc>, String)>,
        limit: i64,
    ) -> Result<Vec<PushStatus>, StorageError> {
        dispatch!(self.push_list(state, after, limit))
    }

    /// (push state, number of awards), for every state in use.
    pub async fn push_counts(&self) -> Result<Vec<(String, i64)>, StorageError> {
        dispatch!(self.push_counts())
    }

    /// Makes an award's push due now (after a failure, or to skip a wait).
    pub async fn retry_push(
        &self,
        award_id: &str,
        at: DateTime<Utc>,
        actor: &str,
    ) -> Result<RetryOutcome, StorageError> {
        dispatch!(self.retry_push(award_id, at, actor))
    }

    /// Counts of half-written or inconsistent rows, read in one snapshot.
    pub async fn integrity_report(&self) -> Result<IntegrityReport, StorageError> {
        dispatch!(self.integrity_report())
    }

    // ---- lifecycle ---------------------------------------------------------

    /// Revokes, suspends or unsuspends credentials (one, or a whole
    /// achievement version) in one transaction, with the audit trail and the
    /// Edubadges withdrawals a revocation causes. Repeating it changes nothing.
    pub async fn change_status(&self, request: &StatusChangeRequest) -> Result<StatusChangeOutcome, StorageError> {
        dispatch!(self.change_status(request))
    }

    /// Stores a reissued credential, supersedes (and revokes) the one it
    /// replaces and queues the Edubadges update, in one transaction.
    pub async fn record_reissue(&self, reissue: &NewReissue) -> Result<(), StorageError> {
        dispatch!(self.record_reissue(reissue))
    }

    /// What happened to a credential after it was issued (`None`: nothing).
    pub async fn credential_state(&self, credential_id: &str) -> Result<Option<CredentialState>, StorageError> {
        dispatch!(self.credential_state(credential_id))
    }

    /// A status list's set bits (`None`: no credential uses the list).
    pub async fn status_list_bits(&self, list_id: i64) -> Result<Option<StatusListBits>, StorageError> {
        dispatch!(self.status_list_bits(list_id))
    }

    /// When a status list's bits last changed (`None`: no such list;
    /// `Some(None)`: never).
    pub async fn status_list_changed_at(&self, list_id: i64) -> Result<Option<Option<DateTime<Utc>>>, StorageError> {
        dispatch!(self.status_list_changed_at(list_id))
    }

    /// (award id, current credential id) of every award of an achievement version.
    pub async fn current_credentials(
        &self,
        achievement_id: &str,
        version: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        dispatch!(self.current_credentials(achievement_id, version))
    }

    // ---- VC-API credentials ------------------------------------------------

    /// Stores a credential issued through the VC-API with its audit entry,
    /// in one transaction.
    pub async fn record_vc_credential(&self, credential: &NewVcCredential) -> Result<(), StorageError> {
        dispatch!(self.record_vc_credential(credential))
    }

    /// The credentials issued through the VC-API under `credential_id`, oldest first.
    pub async fn vc_credentials(&self, credential_id: &str) -> Result<Vec<VcCredentialRecord>, StorageError> {
        dispatch!(self.vc_credentials(credential_id))
    }

    /// Revokes, suspends or unsuspends the credentials issued through the
    /// VC-API under one id, in one transaction ([`StorageError::NotFound`]
    /// when there are none).
    pub async fn change_vc_status(&self, request: &VcStatusChangeRequest) -> Result<StatusChangeOutcome, StorageError> {
        dispatch!(self.change_vc_status(request))
    }

    // ---- import jobs (see `import_ops.rs`) -------------------------------

    /// Stores a queued import job with its file, and audits `import_queued`.
    pub async fn create_import(&self, job: &NewImport) -> Result<(), StorageError> {
        dispatch!(self.create_import(job))
    }

    /// Takes the oldest queued import job, or a running one whose lease ran
    /// out (its instance stopped), until `lease_until`; `only` restricts the
    /// choice to one job. Several instances never hold one job at once.
    pub async fn claim_import(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        only: Option<&str>,
    ) -> Result<Option<ClaimedImport>, StorageError> {
        dispatch!(self.claim_import(now, lease_until, only))
    }

    /// Records a chunk's row outcomes and counts and renews the lease to
    /// `renewed`, in one transaction; false (nothing written) when the job
    /// is no longer leased with `lease`.
    pub async fn record_import_rows(
        &self,
        import_id: &str,
        lease: DateTime<Utc>,
        renewed: DateTime<Utc>,
        rows: &[ImportRowRecord],
    ) -> Result<bool, StorageError> {
        dispatch!(self.record_import_rows(import_id, lease, renewed, rows))
    }

    /// Ends a job as `done`, or `failed` with the reason, while leased with
    /// `lease`; audits `import_done` / `import_failed`.
    pub async fn finish_import(
        &self,
        import_id: &str,
        lease: DateTime<Utc>,
        failure: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        dispatch!(self.finish_import(import_id, lease, failure, at))
    }

    pub async fn import(&self, import_id: &str) -> Result<Option<ImportRecord>, StorageError> {
        dispatch!(self.import(import_id))
    }

    /// The file an import job was made from.
    pub async fn import_source(&self, import_id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        dispatch!(self.import_source(import_id))
    }

    /// Import jobs, newest first, made before the one numbered `before`
    /// ([`ImportRecord::seq`]).
    pub async fn list_imports(&self, before: Option<i64>, limit: i64) -> Result<Vec<ImportRecord>, StorageError> {
        dispatch!(self.list_imports(before, limit))
    }

    /// An import's row outcomes in file order after row `after`, only those
    /// with `result` when given.
    pub async fn import_rows(
        &self,
        import_id: &str,
        result: Option<&str>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ImportRowRecord>, StorageError> {
        dispatch!(self.import_rows(import_id, result, after, limit))
    }

    // ---- signing keys ------------------------------------------------------

    /// Writes the audit entry of a signing key change (the change itself is
    /// in the key directory, not in the database). Returns its `audit_id`.
    pub async fn record_key_change(&self, change: &KeyChange) -> Result<i64, StorageError> {
        dispatch!(self.record_key_change(change))
    }
}

/// Hands out status slots reserved ahead in batches, so that issuing one
/// credential does not cost a reservation transaction of its own (on SQLite
/// that transaction costs about as much as recording the award).
///
/// Each instance keeps up to `batch - 1` reserved slots per purpose in
/// memory; those of an instance that stops are simply never used, which is
/// harmless (they only count toward their list's 90 %). Slots come out in
/// random order, so consecutive credentials' indexes reveal nothing either.
/// Cheap to clone; clones share the buffers.
#[derive(Debug, Clone)]
pub struct SlotBuffer {
    store: Store,
    batch: usize,
    list_size: i64,
    buffers: std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<String, Vec<StatusSlot>>>>,
}

impl SlotBuffer {
    /// Reserves `batch` slots at a time (at least 1) in lists of `list_size`.
    pub fn new(store: Store, batch: usize, list_size: i64) -> Self {
        Self { store, batch: batch.max(1), list_size, buffers: Default::default() }
    }

    /// `count` reserved slots of `purpose`'s lists: what the buffer holds,
    /// the rest reserved in one transaction (a batch of awards costs one
    /// reservation, not one per `batch` slots).
    pub async fn take_many(&self, purpose: &str, count: usize) -> Result<Vec<StatusSlot>, StorageError> {
        let mut buffers = self.buffers.lock().await;
        let buffer = buffers.entry(purpose.to_owned()).or_default();
        let from_buffer = count.min(buffer.len());
        let mut slots = buffer.split_off(buffer.len() - from_buffer);
        if slots.len() < count {
            let fresh = self.store.reserve_status_slots(purpose, count - slots.len(), self.list_size).await?;
            slots.extend(fresh);
        }
        if slots.len() < count {
            return Err(StorageError::NotFound("status slot"));
        }
        Ok(slots)
    }

    /// One reserved slot of `purpose`'s lists.
    pub async fn take(&self, purpose: &str) -> Result<StatusSlot, StorageError> {
        // Held across the refill: concurrent takers wait for that batch
        // instead of each reserving one of their own.
        let mut buffers = self.buffers.lock().await;
        let buffer = buffers.entry(purpose.to_owned()).or_default();
        if let Some(slot) = buffer.pop() {
            return Ok(slot);
        }
        let mut fresh = self.store.reserve_status_slots(purpose, self.batch, self.list_size).await?;
        let slot = fresh.pop().ok_or(StorageError::NotFound("status slot"))?;
        *buffer = fresh;
        Ok(slot)
    }
}

/// A migrator of migrations compiled into the binary: (version,
/// description, SQL), in order. Each backend lists its own files.
fn compiled_migrator(files: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr as _;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

/// The URL without its password, for error messages.
fn redact_url(url: &str) -> String {
    // scheme://user:password@host… → scheme://user:***@host…
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _password)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

/// Timestamps as both backends keep them: microseconds.
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Course codes as a set: sorted, without duplicates.
fn code_set(codes: &[String]) -> Vec<String> {
    let mut codes = codes.to_vec();
    codes.sort();
    codes.dedup();
    codes
}

/// How many positions of a list may be reserved: at most 90 %.
fn list_capacity(list_size: i64) -> i64 {
    list_size.saturating_mul(9) / 10
}

/// `count` distinct positions below `list_size`, each uniformly random, from
/// the operating system's generator (the indexes must not be predictable).
fn random_positions(list_size: i64, count: usize) -> Vec<i64> {
    use rand_core::{OsRng, RngCore};
    let Ok(bound) = u64::try_from(list_size) else { return Vec::new() };
    if bound == 0 {
        return Vec::new();
    }
    let want = count.min(usize::try_from(bound).unwrap_or(usize::MAX));
    let mut seen = std::collections::HashSet::with_capacity(want);
    let mut out = Vec::with_capacity(want);
    // Rejection sampling: drop draws from the incomplete last block so every
    // position is equally likely.
    let zone = u64::MAX - (u64::MAX % bound);
    while out.len() < want {
        let draw = OsRng.next_u64();
        if draw >= zone {
            continue;
        }
        let position = (draw % bound) as i64;
        if seen.insert(position) {
            out.push(position);
        }
    }
    out
}

/// Fisher–Yates with the operating system's generator.
fn shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = random_positions(i as i64 + 1, 1).first().copied().unwrap_or(0);
        items.swap(i, usize::try_from(j).unwrap_or(0));
    }
}

fn db_error(context: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
    move |source| StorageError::Database { context, source }
}

/// The constraint (PostgreSQL) or message (SQLite, which names the columns)
/// of a unique violation; `None` for any other error.
fn unique_violation(error: &sqlx::Error) -> Option<String> {
    let db = error.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    Some(db.constraint().map_or_else(|| db.message().to_owned(), str::to_owned))
}

fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|db| db.is_foreign_key_violation())
}

/// Reads a JSON array of strings written by this module.
fn json_strings(column: &str, json: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(json).map_err(|e| StorageError::Corrupt(format!("{column}: {e}")))
}

fn invalid_argument(context: &'static str, message: &str) -> StorageError {
    StorageError::Database { context, source: sqlx::Error::InvalidArgument(message.to_owned()) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn random_positions_are_distinct_and_in_range() {
        let positions = random_positions(64, 64);
        let mut sorted = positions.clone();
        sorted.sort();
        assert_eq!(sorted, (0..64).collect::<Vec<_>>());
        assert!(random_positions(10, 3).iter().all(|p| (0..10).contains(p)));
        assert!(random_positions(0, 3).is_empty());
    }

    #[test]
    fn random_positions_are_roughly_uniform() {
        // 40,000 draws over 8 buckets: each expects 5,000 (sd ~66); a bias
        // toward low positions (e.g. modulo or sorted picks) shows at once.
        let mut buckets = [0u32; 8];
        for _ in 0..40_000 {
            buckets[random_positions(8, 1)[0] as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| (4_600..5_400).contains(&n)), "{buckets:?}");
    }

    #[test]
    fn capacity_is_ninety_percent() {
        assert_eq!(list_capacity(64), 57);
        assert_eq!(list_capacity(131_072), 117_964);
        assert_eq!(list_capacity(1), 0);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("mysql://u:secret@h/db"), "mysql://u:***@h/db");
        assert_eq!(redact_url("foo:bar"), "foo:bar");
    }
}

//! The PostgreSQL backend: one pool; several zegel instances may share the
//! database.
//!
//! Correctness never rests on in-process locks. Transactions run at READ
//! COMMITTED and rely on unique constraints with `on conflict` (which waits
//! for a concurrent inserter of the same key), on row locks where a decision
//! must hold until commit (`for update` on an achievement and its current
//! version while editing, `for key share` on the version while recording an
//! award, `for update` on a purpose's open status list), and on retrying a
//! whole transaction after a deadlock or serialisation failure.

use crate::storage::{StoreOptions, is_foreign_key_violation};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr as _;
use std::time::Duration;

type Db = sqlx::Postgres;
type This = PgStore;

/// A store on a PostgreSQL database. Cheap to clone: the pool is shared.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// The PostgreSQL migrations, compiled in.
pub fn migrator() -> Migrator {
    crate::storage::compiled_migrator(&[
        (1, "initial", include_str!("../../migrations/postgres/0001_initial.sql")),
        (2, "push", include_str!("../../migrations/postgres/0002_push.sql")),
        (3, "lifecycle", include_str!("../../migrations/postgres/0003_lifecycle.sql")),
        (4, "audit", include_str!("../../migrations/postgres/0004_audit.sql")),
        (5, "imports", include_str!("../../migrations/postgres/0005_imports.sql")),
        (6, "vc_api", include_str!("../../migrations/postgres/0006_vc_api.sql")),
    ])
}

impl PgStore {
    pub(super) async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let connect_options = PgConnectOptions::from_str(url)
            .map_err(|e| StorageError::InvalidUrl { url: crate::storage::redact_url(url), reason: e.to_string() })?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            // With the server down, a request waits this long (sqlx keeps
            // trying to connect) before it is answered 503: long enough to
            // ride out a fail-over or a burst, short enough for a client.
            .acquire_timeout(options.busy_timeout.max(Duration::from_secs(5)))
            .connect_with(connect_options)
            .await
            .map_err(db_error("connecting to PostgreSQL"))?;
        // sqlx takes an advisory lock, so instances starting together
        // migrate one after the other.
        migrator().run(&pool).await?;
        Ok(Self { pool })
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StorageError> {
        // Stated rather than assumed: the locking above is designed for READ
        // COMMITTED (each statement sees what committed before it).
        self.pool.begin_with("begin isolation level read committed").await.map_err(db_error("starting a transaction"))
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    pub(super) async fn record_issued_award(&self, award: &NewIssuedAward) -> Result<IssueOutcome, StorageError> {
        self.retrying(move || async move { record_award_in(self.begin_write().await?, award).await }).await
    }
}

/// Deadlocks and serialisation failures roll the whole transaction back;
/// running it again is the documented remedy.
fn is_transient(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|db| db.code()).is_some_and(|code| code == "40001" || code == "40P01")
}

fn index_list(positions: &[i64]) -> Vec<i64> {
    positions.to_vec()
}

/// Inserts, in draw order, the first `$4` candidates (`$3`) that are free,
/// and adds them to the list's count, in one statement.
const INSERT_FREE: &str = "\
    with inserted as ( \
        insert into status_slot (status_list_id, status_index, reserved_at) \
        select $1, t.p, $2 from unnest($3::bigint[]) with ordinality as t(p, n) \
        where not exists (select 1 from status_slot s where s.status_list_id = $1 and s.status_index = t.p) \
        order by t.n limit $4 on conflict do nothing returning status_index), \
    counted as ( \
        update status_list set reserved = reserved + (select count(*) from inserted) where status_list_id = $1) \
    select status_index from inserted";

/// Writes an award's rows; false if the source record id is taken.
async fn write_award(
    tx: &mut sqlx::Transaction<'_, Db>,
    award: &NewIssuedAward,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StorageError> {
    // KEY SHARE on the version: an in-place edit of this version
    // (`update_achievement`, FOR UPDATE) waits for us, or we for it and then
    // see its definition here (READ COMMITTED re-reads the locked row).
    let unchanged: Option<bool> = sqlx::query_scalar(
        "select definition = $3 from achievement_version where achievement_id = $1 and version = $2 for key share",
    )
    .bind(&award.achievement_id)
    .bind(award.achievement_version)
    .bind(&award.definition)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error("locking the achievement version"))?;
    match unchanged {
        None => return Err(StorageError::NotFound("achievement version")),
        Some(false) => return Err(StorageError::Stale("achievement version")),
        Some(true) => {}
    }

    // The idempotency key: `on conflict do nothing` waits for a concurrent
    // transaction inserting the same key and does nothing if that one
    // commits, so exactly one award per key exists across all instances.
    let inserted = bind_award_row(
        sqlx::query(
            "insert into award (award_id, client_id, source_record_id, request_hash, achievement_id, \
             achievement_version, record, credential_id, created_at, push_state) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') \
             on conflict (source_record_id) do nothing",
        ),
        award,
        at,
    )
    .execute(&mut **tx)
    .await
    .map_err(|error| match unique_violation(&error) {
        Some(which) => award_unique_conflict(award, &which),
        None if is_foreign_key_violation(&error) => StorageError::NotFound("client"),
        None => db_error("inserting the award")(error),
    })?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }

    // The reserved slot must exist and be free. Checked after the award
    // insert so that a repeat never trips over its own slot.
    let slot: Option<Option<String>> = sqlx::query_scalar(
        "select c.credential_id from status_slot s left join credential c \
         on c.status_list_id = s.status_list_id and c.status_index = s.status_index \
         where s.status_list_id = $1 and s.status_index = $2",
    )
    .bind(award.status.list_id)
    .bind(award.status.index)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error("checking the status slot"))?;
    match slot {
        None => return Err(StorageError::NotFound("status slot")),
        Some(Some(_)) => return Err(slot_conflict(award)),
        Some(None) => {}
    }

    // A concurrent transaction binding the same slot after our check trips
    // over the unique constraint on (list, index).
    sqlx::query(
        "insert into credential (credential_id, award_id, document, jwt, issued_at, status_list_id, status_index, \
         suspension_list_id, suspension_index) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&award.credential_id)
    .bind(&award.award_id)
    .bind(&award.credential_document)
    .bind(&award.credential_jwt)
    .bind(at)
    .bind(award.status.list_id)
    .bind(award.status.index)
    .bind(award.suspension.map(|s| s.list_id))
    .bind(award.suspension.map(|s| s.index))
    .execute(&mut **tx)
    .await
    .map_err(|error| match unique_violation(&error) {
        Some(which) => award_unique_conflict(award, &which),
        None if is_foreign_key_violation(&error) => StorageError::NotFound("status slot"),
        None => db_error("inserting the credential")(error),
    })?;

    sqlx::query(
        "insert into audit_entry (at, actor, action, award_id, credential_id, achievement_id, client_id, details) \
         values ($1, $2, 'credential_issued', $3, $4, $5, $6, $7)",
    )
    .bind(at)
    .bind(&award.actor)
    .bind(&award.award_id)
    .bind(&award.credential_id)
    .bind(&award.achievement_id)
    .bind(&award.client_id)
    .bind(issued_details(award))
    .execute(&mut **tx)
    .await
    .map_err(db_error("writing the audit entry"))?;

    sqlx::query(
        "insert into outbox_job (kind, award_id, state, attempts, next_attempt_at, created_at) \
         values ('edubadges_award', $1, 'pending', 0, $2, $2)",
    )
    .bind(&award.award_id)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(db_error("queueing the Edubadges push"))?;
    Ok(true)
}

macro_rules! for_update {
    () => {
        " for update"
    };
}

macro_rules! course_codes_json {
    () => {
        "(select coalesce(json_agg(c.course_code), '[]')::text from achievement_course_code c \
          where c.achievement_id = a.achievement_id)"
    };
}

/// Jobs another instance has claimed (row-locked) are passed over.
macro_rules! skip_locked {
    () => {
        " for update skip locked"
    };
}

fn text_list(values: &[String]) -> Vec<String> {
    values.to_vec()
}

/// ` = any($n::text[])`: membership in an array parameter, as one hashed
/// array per statement; never planned as a join, which on a just-filled
/// table (no statistics) became a nested loop (seconds for 10,000 ids).
macro_rules! in_text_list {
    ($param:literal) => {
        concat!(" = any(", $param, "::text[])")
    };
}

/// The `seq` of a new import job: an identity column numbers it.
macro_rules! import_seq {
    () => {
        ("", "")
    };
}

include!("ops.rs");
include!("push_ops.rs");
include!("lifecycle_ops.rs");
include!("audit_ops.rs");
include!("vcapi_ops.rs");
include!("import_ops.rs");

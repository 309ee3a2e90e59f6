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

use crate::storage::StoreOptions;
use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};
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
    Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        include_str!("../../migrations/postgres/0001_initial.sql").into_sql_str(),
        false,
    )])
}

impl PgStore {
    pub(super) async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StorageError> {
        let connect_options = PgConnectOptions::from_str(url)
            .map_err(|e| StorageError::InvalidUrl { url: crate::storage::redact_url(url), reason: e.to_string() })?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.busy_timeout.max(Duration::from_secs(30)))
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
}

/// Deadlocks and serialisation failures roll the whole transaction back;
/// running it again is the documented remedy.
fn is_transient(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|db| db.code()).is_some_and(|code| code == "40001" || code == "40P01")
}

fn index_list(positions: &[i64]) -> Vec<i64> {
    positions.to_vec()
}

const SELECT_TAKEN: &str =
    "select status_index from status_slot where status_list_id = $1 and status_index = any($2::bigint[])";

const INSERT_SLOTS: &str = "insert into status_slot (status_list_id, status_index, reserved_at) \
     select $1, p, $2 from unnest($3::bigint[]) as t(p) on conflict do nothing returning status_index";

macro_rules! for_update {
    () => {
        " for update"
    };
}

macro_rules! for_key_share {
    () => {
        " for key share"
    };
}

macro_rules! course_codes_json {
    () => {
        "(select coalesce(json_agg(c.course_code), '[]')::text from achievement_course_code c \
          where c.achievement_id = a.achievement_id)"
    };
}

include!("ops.rs");

//! The SQLite backend: one file, WAL journal, one writer connection.
//!
//! Every write transaction runs on a pool of exactly one connection and
//! starts with `BEGIN IMMEDIATE`, so in-process writers queue for that
//! connection instead of failing with `SQLITE_BUSY`, and a transaction never
//! has to upgrade a read lock to a write lock (which `busy_timeout` cannot
//! resolve). Another process writing the same file (the CLI next to a running
//! server) is waited for up to `busy_timeout`. Reads use a separate pool of
//! read-only connections, which WAL lets run alongside the writer.

use crate::storage::StoreOptions;
use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr as _;
use std::time::Duration;

type Db = sqlx::Sqlite;
type This = SqliteStore;

/// A store on an SQLite file. Cheap to clone: the pools are shared.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction.
    writer: SqlitePool,
    /// Read-only connections for everything else.
    reader: SqlitePool,
}

/// The SQLite migrations, compiled in.
pub fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        include_str!("../../migrations/sqlite/0001_initial.sql").into_sql_str(),
        false,
    )])
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
            .foreign_keys(true);
        let acquire_timeout = options.busy_timeout.max(Duration::from_secs(30));
        let writer = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .acquire_timeout(acquire_timeout)
            .connect_with(base.clone())
            .await
            .map_err(db_error("opening the SQLite database"))?;
        migrator().run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(acquire_timeout)
            .connect_with(base.read_only(true))
            .await
            .map_err(db_error("opening SQLite read connections"))?;
        Ok(Self { writer, reader })
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

const SELECT_TAKEN: &str = "select status_index from status_slot \
     where status_list_id = $1 and status_index in (select value from json_each($2))";

// `where true`: SQLite needs it to parse an upsert after `insert … select`.
const INSERT_SLOTS: &str = "insert into status_slot (status_list_id, status_index, reserved_at) \
     select $1, value, $2 from json_each($3) where true on conflict do nothing returning status_index";

/// No row locks in SQLite: its write transactions are serialised whole.
macro_rules! for_update {
    () => {
        ""
    };
}

macro_rules! for_key_share {
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

include!("ops.rs");

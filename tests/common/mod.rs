//! Helpers shared by the integration tests: a fresh, migrated [`Store`] per
//! test on SQLite (a temporary file) or PostgreSQL (a schema of its own in
//! the database named by `ZEGEL_TEST_POSTGRES_URL`).
//!
//! ```ignore
//! mod common;
//! use common::{Backend, fresh_store};
//!
//! async fn creates_a_client(backend: Backend) {
//!     let Some(db) = fresh_store(backend).await else { return };
//!     db.create_client(&…).await.unwrap();
//! }
//! backend_tests!(creates_a_client); // #[macro_export]ed: at the crate root
//! ```
//!
//! `backend_tests!` makes `sqlite::<name>` and `postgres::<name>` test
//! functions, so each backend is reported on its own. Without
//! `ZEGEL_TEST_POSTGRES_URL` the PostgreSQL ones print a note and return,
//! except under CI (`CI` set), where a missing URL fails them: CI must not
//! report PostgreSQL as tested when it was not.
#![allow(dead_code, clippy::unwrap_used, reason = "test helpers; each test crate uses a different subset")]

use std::ops::Deref;
use std::time::Duration;
use zegel::storage::{Store, StoreOptions};

pub use zegel::storage::Backend;

/// The environment variable naming the PostgreSQL test database.
pub const POSTGRES_URL_VAR: &str = "ZEGEL_TEST_POSTGRES_URL";

/// The PostgreSQL test database, if configured (e.g. `postgres://127.0.0.1:5432/test`).
///
/// A URL without a user name gets `PGUSER`, or else `postgres`: sqlx would
/// otherwise use the operating-system user name, which on CI machines may be
/// unknown to the server (or unavailable, giving `anonymous`).
pub fn postgres_url() -> Option<String> {
    let url = std::env::var(POSTGRES_URL_VAR).ok().filter(|url| !url.trim().is_empty())?;
    let Some((scheme, rest)) = url.split_once("://") else { return Some(url) };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some(url);
    }
    let user = std::env::var("PGUSER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "postgres".into());
    Some(format!("{scheme}://{user}@{rest}"))
}

/// A migrated store of its own, removed again when dropped (best effort).
/// Derefs to [`Store`].
pub struct TestStore {
    pub store: Store,
    /// Opens this same database: pass it to `Store::connect` for a second
    /// store, as a second zegel instance would.
    pub url: String,
    pub backend: Backend,
    dir: Option<tempfile::TempDir>,
    /// The server URL and schema name of a PostgreSQL test schema.
    pg_schema: Option<(String, String)>,
}

impl Deref for TestStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Options for test stores: small pools, generous waits.
pub fn test_options() -> StoreOptions {
    StoreOptions { max_connections: 8, busy_timeout: Duration::from_secs(10) }
}

/// A fresh store on `backend`, or `None` for PostgreSQL when
/// `ZEGEL_TEST_POSTGRES_URL` is unset (after printing a note; under CI it
/// panics instead).
pub async fn fresh_store(backend: Backend) -> Option<TestStore> {
    match backend {
        Backend::Sqlite => Some(fresh_sqlite().await),
        Backend::Postgres => fresh_postgres().await,
    }
}

/// A fresh SQLite store in a new temporary directory.
pub async fn fresh_sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let url = format!("sqlite:{}", dir.path().join("zegel.db").display());
    let store = Store::connect(&url, &test_options()).await.expect("opening a fresh SQLite store");
    TestStore { store, url, backend: Backend::Sqlite, dir: Some(dir), pg_schema: None }
}

/// A fresh PostgreSQL store in a new schema, or `None` without a test database.
pub async fn fresh_postgres() -> Option<TestStore> {
    let Some(server) = postgres_url() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{POSTGRES_URL_VAR} is not set under CI: the PostgreSQL tests would pass without testing anything"
        );
        eprintln!("note: {POSTGRES_URL_VAR} is not set; skipping the PostgreSQL case");
        return None;
    };
    let schema = format!("zegel_test_{}", uuid::Uuid::new_v4().simple());
    admin_execute(&server, &format!("create schema {schema}")).await.expect("creating a test schema");
    let separator = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{separator}options=-c%20search_path%3D{schema}");
    let store = Store::connect(&url, &test_options()).await.expect("opening a fresh PostgreSQL store");
    Some(TestStore { store, url, backend: Backend::Postgres, dir: None, pg_schema: Some((server, schema)) })
}

impl TestStore {
    /// Another store on the same database (its own pools), like a second
    /// zegel instance. Runs the migrations again, which must be a no-op.
    pub async fn second_store(&self) -> Store {
        Store::connect(&self.url, &test_options()).await.expect("opening a second store")
    }

    /// Runs one statement outside the store (to tamper with or inspect rows
    /// the API does not expose) and returns the rows it affected.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await?;
                Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
            }
        }
    }

    /// Runs a query returning one `bigint` outside the store.
    pub async fn raw_count(&self, sql: &str) -> i64 {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    /// The database file (SQLite only).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self.dir.as_ref().map(|dir| dir.path().join("zegel.db"))
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // Dropping runs inside the test's runtime, which cannot be blocked
        // on; a thread with a runtime of its own drops the schema.
        if let Some((server, schema)) = self.pg_schema.take() {
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(admin_execute(&server, &format!("drop schema if exists {schema} cascade"))).ok()
            })
            .join();
            if !matches!(dropped, Ok(Some(()))) {
                eprintln!("note: could not drop a PostgreSQL test schema");
            }
        }
    }
}

async fn admin_execute(server: &str, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(server).await?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await?;
    conn.close().await
}

/// Makes `sqlite::<name>` and `postgres::<name>` tests from async functions
/// taking a [`Backend`], on a multi-threaded runtime (so concurrency tests
/// really run in parallel).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

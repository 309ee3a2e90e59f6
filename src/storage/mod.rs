//! Persistence: SQLite (the embedded default) or PostgreSQL, with sqlx and
//! the migrations in `migrations/`. One function per use case, each one
//! transaction; no business rules here.

mod model;

pub use model::*;

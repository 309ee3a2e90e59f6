//! Open Badges 3.0 credentials: the data model, building a credential from an
//! award, the bundled JSON-LD contexts and JSON schemas.
//!
//! [`build::build_credential`] turns a validated definition and award into a
//! [`model::AchievementCredential`]; [`build::to_json_bytes`] gives the bytes
//! that are canonicalised ([`contexts::canonicalizer`]) and signed;
//! [`schema::Schemas`] checks them against the 1EdTech schemas;
//! [`recipient`] hashes and matches recipient identifiers.

pub mod build;
pub mod contexts;
pub mod model;
pub mod recipient;
pub mod schema;

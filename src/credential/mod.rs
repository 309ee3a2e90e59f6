//! Open Badges 3.0 credentials: the data model, building a credential from an
//! award, the bundled JSON-LD contexts and JSON schemas.

pub mod build;
pub mod contexts;
pub mod model;
pub mod recipient;
pub mod schema;

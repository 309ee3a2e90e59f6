//! Validated domain types: the microcredential quality framework and award
//! records. No I/O.

pub mod award;
pub mod microcredential;

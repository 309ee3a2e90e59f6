//! Validated domain types: the microcredential quality framework and award
//! records. No I/O.
//!
//! [`microcredential`] holds the value types (study load, EQF/NLQF levels,
//! BRIN, language tags, https URLs, bounded text), the Edubadges
//! vocabularies, [`microcredential::ValidationErrors`] and the validated
//! [`microcredential::MicrocredentialDefinition`]; [`award`] holds the learner
//! and the SIS's [`award::AwardRecord`]. Each is built from a raw `…Input` by
//! a `parse` that lists every problem at once.

pub mod award;
pub mod microcredential;

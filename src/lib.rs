//! zegel: an Open Badges 3.0 issuing service for higher education.
//!
//! The pure core (no I/O beyond reading key files): [`domain`] holds the
//! validated award and microcredential types, [`credential`] builds OB 3.0
//! documents, [`jsonld`] canonicalises them offline, [`signing`] creates
//! `eddsa-rdfc-2022` proofs and VC-JWTs, [`status`] reads and writes
//! Bitstring Status Lists, [`verification`] checks any OB 3.0 credential,
//! [`baking`] puts credentials into PNG/SVG badges and gets them out, and
//! [`badge_image`] draws the badge when an achievement has no picture.
//! [`dev`] holds test doubles of the systems zegel talks to.

pub mod app;
pub mod audit;
pub mod badge_image;
pub mod baking;
pub mod cli;
pub mod config;
pub mod credential;
pub mod dev;
pub mod domain;
pub mod http;
pub mod intake;
pub mod issuance;
pub mod json;
pub mod jsonld;
pub mod lifecycle;
pub mod metrics;
pub mod push;
pub mod signing;
pub mod status;
pub mod status_publisher;
pub mod storage;
pub mod telemetry;
pub mod vcapi;
pub mod verification;
pub mod verifying;

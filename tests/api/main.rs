//! Black-box tests of the HTTP service (issue "Issuing service"): each test
//! starts zegel on a random loopback port with a fresh database and talks to
//! it over HTTP, as an SIS, an administrator or a verifier would.
//!
//! Every test runs twice, as `<area>::sqlite::<name>` and
//! `<area>::postgres::<name>`; the PostgreSQL ones need
//! `ZEGEL_TEST_POSTGRES_URL` (under CI, `CI` set, they fail without it).
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

#[path = "../common/mod.rs"]
mod common;
mod helpers;

mod achievements;
mod audit;
mod auth;
mod awards;
mod baked;
mod batch;
mod concurrency;
mod crash;
mod imports;
mod keys;
mod lifecycle;
mod openapi;
mod ops;
mod page;
mod public;
mod push;
mod vcapi;
mod verify;

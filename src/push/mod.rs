//! Pushing awards to Edubadges, exactly once (the outbox's consumer).
//!
//! Issuing an award commits an `edubadges_award` outbox job with it; the
//! [`worker::Worker`] claims due jobs, groups them into bundles per badge
//! class and creates the direct awards. Edubadges has no idempotency key and
//! a second create after a claim makes a second badge, so zegel keeps its own
//! ledger (`edubadges_delivery`): a delivery is written as `sending` and
//! committed *before* the request, and one whose answer was lost (timeout,
//! dropped connection, 5xx, crash) is looked up in Edubadges' listings
//! before anything is sent again. Sent awards get an `edubadges_claim` job
//! that asks Edubadges, now and then, whether the student claimed it.
//! Revoking a credential (or reissuing it) queues an `edubadges_withdraw`
//! job, which deletes the unclaimed direct award or revokes the claimed
//! badge (`withdraw`), and for a reissue then sends the new credential.
//!
//! `answer` and `plan` are pure (unit-tested); `edubadges` is the HTTP
//! client; `worker` drives them and the storage.

pub mod answer;
pub mod edubadges;
pub mod plan;
pub mod withdraw;
pub mod worker;

pub use worker::Worker;

//! What the storage layer reads and writes. Plain data: validation and
//! business rules live in `domain` and `issuance`.

use chrono::{DateTime, Utc};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique value is already taken (`what` names it, e.g. `course_code`).
    #[error("{what} {value:?} is already in use")]
    Conflict { what: &'static str, value: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database said no, or could not be reached.
    #[error("database error while {context}: {source}")]
    Database {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// What a write was based on changed after it was read: the achievement
    /// version's definition was edited in place after the credential was
    /// built from it. Nothing was written; build again from what is stored.
    #[error("{0} changed meanwhile")]
    Stale(&'static str),
    /// A stored value could not be read back (corrupt or from a newer version).
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An API client (an SIS integration or an administrator's tool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    /// Lowercase hex SHA-256 of the whole bearer token; the token itself is never stored.
    pub token_hash: String,
    /// The token's first characters, to recognise it in listings.
    pub token_hint: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Who did it, for the audit trail (e.g. `cli`).
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub client_id: String,
    pub name: String,
    pub token_hint: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new microcredential definition: version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAchievement {
    pub achievement_id: String,
    /// The validated definition as JSON (`MicrocredentialDefinition` serialised).
    pub definition: String,
    /// SIS course codes that map to this achievement; each code maps to one achievement.
    pub course_codes: Vec<String>,
    /// The Edubadges badge class awards are pushed to.
    pub edubadges_badgeclass: Option<String>,
    pub created_at: DateTime<Utc>,
    pub actor: String,
}

/// A changed definition (`PUT`): the whole definition and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchievementUpdate {
    pub achievement_id: String,
    pub definition: String,
    pub course_codes: Vec<String>,
    pub edubadges_badgeclass: Option<String>,
    pub at: DateTime<Utc>,
    pub actor: String,
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Definition and settings equal the current ones: nothing written.
    Unchanged { version: i64 },
    /// Only settings (course codes, badge class) changed, or the current
    /// version has no awards yet: the current version was changed in place.
    Updated { version: i64 },
    /// The current version has awards: the definition became a new version.
    NewVersion { version: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchievementRecord {
    pub achievement_id: String,
    pub current_version: i64,
    /// The current version's definition JSON.
    pub definition: String,
    pub course_codes: Vec<String>,
    pub edubadges_badgeclass: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchievementVersionRecord {
    pub achievement_id: String,
    pub version: i64,
    pub definition: String,
    pub created_at: DateTime<Utc>,
}

/// A reserved position in a Bitstring Status List.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSlot {
    pub list_id: i64,
    pub index: i64,
}

/// Everything one issued award writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssuedAward {
    pub award_id: String,
    pub client_id: String,
    /// The SIS's own record id: the idempotency key, unique.
    pub source_record_id: String,
    /// Hash of the validated request, to tell a repeat from a conflicting reuse.
    pub request_hash: String,
    pub achievement_id: String,
    pub achievement_version: i64,
    /// The version's definition exactly as read to build the credential.
    /// The write is refused with [`StorageError::Stale`] if the version no
    /// longer holds it (edited in place in between), so no credential ever
    /// points at a version that says something else than it embeds.
    pub definition: String,
    /// The validated award record (learner, result, evidence) as JSON, for the push.
    pub record: String,
    pub credential_id: String,
    /// The signed credential, exactly the bytes that will be served.
    pub credential_document: String,
    pub credential_jwt: String,
    pub issued_at: DateTime<Utc>,
    /// The revocation status slot, reserved before signing.
    pub status: StatusSlot,
    /// The suspension status slot, when the credential has a suspension entry.
    pub suspension: Option<StatusSlot>,
    pub actor: String,
}

/// Whether an award was written or its record id was already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
    Created,
    /// An award with this source record id exists (possibly written by a
    /// concurrent request a moment ago); nothing was written.
    Existing(Box<AwardRecord>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardRecord {
    pub award_id: String,
    pub client_id: String,
    pub source_record_id: String,
    pub request_hash: String,
    pub achievement_id: String,
    pub achievement_version: i64,
    pub record: String,
    pub credential_id: String,
    pub created_at: DateTime<Utc>,
    /// `pending` until the Edubadges push reports otherwise.
    pub push_state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    pub credential_id: String,
    pub award_id: String,
    pub document: String,
    pub jwt: String,
    pub issued_at: DateTime<Utc>,
    /// Its revocation status slot.
    pub status: StatusSlot,
    /// Its suspension status slot, if it has a suspension entry.
    pub suspension: Option<StatusSlot>,
    /// The credential this one replaced (a reissue).
    pub supersedes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub audit_id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `client_created`, `client_revoked`, `achievement_created`,
    /// `achievement_updated`, `achievement_version_created`, `credential_issued`, …
    pub action: String,
    pub award_id: Option<String>,
    pub credential_id: Option<String>,
    pub achievement_id: Option<String>,
    pub client_id: Option<String>,
    /// Free-form JSON with the change's particulars (never secrets, never
    /// learner personal data).
    pub details: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxJob {
    pub job_id: i64,
    /// `edubadges_award` (create the direct award, one per award) or
    /// `edubadges_claim` (ask Edubadges whether it was claimed).
    pub kind: String,
    pub award_id: String,
    /// `pending`, later `running`, `done`, `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// An outbox job taken by a worker ([`crate::storage::Store::claim_jobs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub job_id: i64,
    /// `edubadges_award` (create the direct award), `edubadges_claim`
    /// (ask Edubadges whether it was claimed) or `edubadges_withdraw` (take
    /// it out of Edubadges: a revocation or a reissue).
    pub kind: String,
    pub award_id: String,
    /// Including this one.
    pub attempts: i64,
    /// The claim's lease; also its token: an outcome is recorded only while
    /// the job is still leased with this value.
    pub lease_until: DateTime<Utc>,
    /// What the job carries beyond its kind (JSON; withdrawals: the reason
    /// and whether the award is sent again afterwards).
    pub payload: Option<String>,
}

/// What the push worker needs about an award: its record, where it goes,
/// and what was sent before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushItem {
    pub award_id: String,
    pub credential_id: String,
    /// The validated award record (JSON).
    pub record: String,
    /// The achievement's Edubadges badge class now, if it has one.
    pub badgeclass: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivery: Option<Delivery>,
    /// The award's current credential is revoked: it must not be sent.
    pub revoked: bool,
}

/// The ledger row of an award's delivery to Edubadges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub award_id: String,
    pub badgeclass: String,
    /// `eppn` or `email`.
    pub identifier_type: String,
    /// The eppn or e-mail address the direct award is keyed on, lower case.
    pub recipient: String,
    /// `unsent`, `sending` (a create may have landed: look before sending
    /// again), `sent`, `claimed`, `withdrawn`.
    pub state: String,
    pub bundle_id: Option<String>,
    pub direct_award_id: Option<String>,
    pub assertion_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery about to be attempted: written as `sending` and committed
/// before the request goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingMark {
    pub award_id: String,
    pub badgeclass: String,
    pub identifier_type: String,
    pub recipient: String,
}

/// What became of a claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// Edubadges holds the direct award (created, found when reconciling, or
    /// reported as a duplicate): the award is `sent`, and a claim check is
    /// queued for `check_at`.
    Sent { bundle_id: Option<String>, direct_award_id: Option<String>, note: Option<String>, check_at: DateTime<Utc> },
    /// Nothing was created; try again at `retry_at`.
    NotSent { retry_at: DateTime<Utc>, error: String },
    /// A create may have landed: look in Edubadges at `retry_at` before
    /// sending again (the delivery stays `sending`).
    InDoubt { retry_at: DateTime<Utc>, error: String },
    /// Edubadges refused for good (or the award cannot be sent): `failed`.
    Failed { error: String },
    /// The student claimed it: `claimed`.
    Claimed { direct_award_id: Option<String>, assertion_id: Option<String> },
    /// Not claimed yet: look again at `check_at`.
    Unclaimed { direct_award_id: Option<String>, check_at: DateTime<Utc>, error: Option<String> },
    /// Gone from Edubadges without a claim (declined, deleted, expired): `withdrawn`.
    Withdrawn { reason: String },
    /// A withdrawal job did its work: Edubadges no longer holds the award
    /// (`note` says what was done). The award is `withdrawn`, or sent again
    /// when the job's payload asks for it (a reissue).
    Retracted { note: String },
    /// Nothing to do any more (the credential was revoked before it was
    /// sent, or a claim check outlived its delivery): the job ends, nothing
    /// else changes.
    Cancelled { note: String },
}

/// A job's outcome, for [`crate::storage::Store::finish_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub job: ClaimedJob,
    pub result: JobResult,
}

/// An award's push state as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStatus {
    pub award_id: String,
    pub source_record_id: String,
    pub credential_id: String,
    /// `pending`, `sent`, `claimed`, `failed`, `withdrawn`.
    pub state: String,
    /// Attempts to create the direct award.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending awards only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivery: Option<Delivery>,
    pub created_at: DateTime<Utc>,
}

/// What an administrator's retry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// The award's push is due now (it had failed, or was waiting).
    Queued,
    /// Being sent right now; nothing changed.
    Running,
    /// Delivered already (`sent`, `claimed`, `withdrawn`); nothing changed.
    Delivered,
}

/// A change of credentials' status by an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Sets the revocation bit for good.
    Revoke,
    /// Sets the suspension bit.
    Suspend,
    /// Clears the suspension bit.
    Unsuspend,
}

impl StatusChange {
    /// The audit action it records.
    pub fn action(self) -> &'static str {
        match self {
            Self::Revoke => "credential_revoked",
            Self::Suspend => "credential_suspended",
            Self::Unsuspend => "credential_unsuspended",
        }
    }
}

/// Which credentials a status change is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSelector {
    /// One credential (current or superseded).
    One(String),
    /// The current credential of every award of one achievement version.
    AchievementVersion { achievement_id: String, version: i64 },
}

/// A status change to apply, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChangeRequest {
    pub selector: CredentialSelector,
    pub change: StatusChange,
    pub reason: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// What a status change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusChangeOutcome {
    /// Credentials the selector named.
    pub matched: i64,
    /// Changed by this request.
    pub changed: i64,
    /// Already in the requested state: nothing written.
    pub unchanged: i64,
    /// Could not take the change: (credential id, why), at most 100 listed.
    pub refused: Vec<(String, String)>,
    /// How many were refused in all.
    pub refused_count: i64,
    /// Awards whose Edubadges award is being withdrawn because of it.
    pub withdrawals: i64,
}

/// What happened to a credential after it was issued (`None` fields: not so).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialState {
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
    /// The credential that replaced this one (a reissue).
    pub superseded_by: Option<String>,
}

/// A reissued credential: everything one reissue writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReissue {
    pub award_id: String,
    /// The award's current credential, which the new one replaces. The
    /// write is refused with [`StorageError::Stale`] if it is no longer current.
    pub supersedes: String,
    pub credential_id: String,
    pub document: String,
    pub jwt: String,
    pub issued_at: DateTime<Utc>,
    pub status: StatusSlot,
    pub suspension: Option<StatusSlot>,
    /// The award record the new credential was built from (JSON).
    pub record: String,
    pub achievement_version: i64,
    /// The version's definition as read to build the credential (see [`NewIssuedAward::definition`]).
    pub definition: String,
    pub reason: String,
    pub actor: String,
}

/// A credential issued through the W3C VC-API, as stored in one transaction
/// with its audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVcCredential {
    /// zegel's own id (a UUID).
    pub vc_credential_id: String,
    /// How `POST /credentials/status` names it (`options.credentialId`, else
    /// the credential's `id`); `None` when it had neither.
    pub credential_id: Option<String>,
    pub client_id: String,
    /// The signed credential, as answered.
    pub document: String,
    pub issued_at: DateTime<Utc>,
    /// Its revocation and suspension status slots, when it has such entries.
    pub status: Option<StatusSlot>,
    pub suspension: Option<StatusSlot>,
    /// Its `type`s, for the audit trail.
    pub types: Vec<String>,
    pub actor: String,
}

/// A credential issued through the VC-API, with what happened to it since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcCredentialRecord {
    pub vc_credential_id: String,
    pub credential_id: Option<String>,
    pub client_id: String,
    pub document: String,
    pub issued_at: DateTime<Utc>,
    pub status: Option<StatusSlot>,
    pub suspension: Option<StatusSlot>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
}

/// A status change of the credentials issued through the VC-API under one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcStatusChangeRequest {
    pub credential_id: String,
    pub change: StatusChange,
    pub reason: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// The bits of one status list as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListBits {
    pub list_id: i64,
    pub purpose: String,
    pub list_size: i64,
    /// Indexes whose bit is set.
    pub set: Vec<i64>,
    /// When a bit last changed (`None`: never).
    pub changed_at: Option<DateTime<Utc>>,
}

/// A change to the signing keys (made with the CLI), for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub action: KeyAction,
    pub actor: String,
    pub at: DateTime<Utc>,
    /// The particulars (key ids, the issuer before and after): public
    /// identifiers only, never key material.
    pub details: serde_json::Value,
}

/// What happened to a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// A new key was published, to sign after the next rotation.
    Added,
    /// Another key signs from now on; the one before stays published.
    Rotated,
    /// A key was taken out of the DID document and the JWKS.
    Removed,
}

impl KeyAction {
    /// The audit action it records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "key_added",
            Self::Rotated => "key_rotated",
            Self::Removed => "key_removed",
        }
    }
}

/// A new import job: the file as uploaded and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImport {
    pub import_id: String,
    pub client_id: String,
    /// `csv` or `ooapi`.
    pub format: String,
    pub filename: Option<String>,
    pub achievement_id: Option<String>,
    pub eppn_rule: Option<String>,
    pub dry_run: bool,
    /// Rows the file holds (it was read before the job was made).
    pub total_rows: i64,
    pub source: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// Who made it (`client:<id>` or `cli`), for the audit trail.
    pub actor: String,
    /// Made running, leased to its maker until then (the CLI runs its own
    /// import); `None`: queued for any worker.
    pub lease_until: Option<DateTime<Utc>>,
}

/// How many rows of an import came out which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ImportCounts {
    pub created: i64,
    pub existing: i64,
    pub refused: i64,
    pub skipped: i64,
    /// Dry runs only: rows that would be created.
    pub would_create: i64,
}

impl ImportCounts {
    /// Counts one row's result.
    pub fn add(&mut self, result: &str) {
        match result {
            "created" => self.created += 1,
            "existing" => self.existing += 1,
            "refused" => self.refused += 1,
            "skipped" => self.skipped += 1,
            "would_create" => self.would_create += 1,
            _ => {}
        }
    }
}

/// An import job as stored (without its file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    pub import_id: String,
    /// The order jobs were made in (a page cursor).
    pub seq: i64,
    pub client_id: String,
    pub format: String,
    pub filename: Option<String>,
    pub achievement_id: Option<String>,
    pub eppn_rule: Option<String>,
    pub dry_run: bool,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub total_rows: i64,
    pub rows_done: i64,
    pub counts: ImportCounts,
    /// Why a failed job failed.
    pub error: Option<String>,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An import job taken by a worker ([`crate::storage::Store::claim_import`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedImport {
    pub job: ImportRecord,
    pub source: Vec<u8>,
    /// The claim's lease, also its token (as [`ClaimedJob::lease_until`]).
    pub lease_until: DateTime<Utc>,
}

/// What became of one row of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRowRecord {
    /// Its position in the file (from 0).
    pub row_index: i64,
    /// `line 4` (CSV) or `item 3` (OOAPI).
    pub place: String,
    pub record_id: String,
    /// `created`, `existing`, `refused`, `skipped` or `would_create`.
    pub result: String,
    pub award_id: Option<String>,
    /// JSON: `[{"field", "message"}]` (skipped rows: the reason as `message`).
    pub problems: String,
}

//! The use cases: API clients, microcredential definitions and award intake.
//! Each validates its input completely, does the pure work (building,
//! signing) outside any transaction, and writes through one storage call
//! (one transaction). The HTTP layer and the CLI only translate.

use crate::app::App;
use crate::credential::build::{self, CredentialInput};
use crate::credential::model::{CredentialStatus, StatusPurpose};
use crate::credential::recipient;
use crate::credential::schema::SchemaId;
use crate::domain::award::{AwardRecord, AwardRecordInput};
use crate::domain::microcredential::{
    HttpsUrl, InstitutionInput, MicrocredentialDefinition, MicrocredentialDefinitionInput, ValidationErrors,
};
use crate::storage::{
    AchievementRecord, AchievementUpdate, AwardRecord as StoredAward, ClientRecord, IssueOutcome, NewAchievement,
    NewClient, NewIssuedAward, StatusSlot, StorageError, Store, UpdateOutcome,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The scopes a client can hold.
pub const SCOPES: &[&str] =
    &[SCOPE_AWARDS_WRITE, SCOPE_AWARDS_READ, SCOPE_CREDENTIALS_ISSUE, SCOPE_CREDENTIALS_STATUS, SCOPE_ADMIN];
pub const SCOPE_AWARDS_WRITE: &str = "awards:write";
pub const SCOPE_AWARDS_READ: &str = "awards:read";
/// Issue any (non-Open-Badge) verifiable credential through the VC-API
/// (`POST /credentials/issue`).
pub const SCOPE_CREDENTIALS_ISSUE: &str = "credentials:issue";
/// Change the status of credentials issued through the VC-API
/// (`POST /credentials/status`); zegel's own Open Badges need `admin`.
pub const SCOPE_CREDENTIALS_STATUS: &str = "credentials:status";
pub const SCOPE_ADMIN: &str = "admin";
/// Prefix of every bearer token zegel issues (recognisable in secret scanners).
pub const TOKEN_PREFIX: &str = "zgl_";

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is wrong; every problem is listed.
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The client lacks this scope for what it asked.
    #[error("this needs the {0} scope")]
    Forbidden(&'static str),
    /// The request clashes with what is stored (the message says how).
    #[error("{message}")]
    Conflict { message: String, problems: ValidationErrors },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut problems = ValidationErrors::new();
        problems.push(field, message);
        Self::Invalid(problems)
    }
}

/// Credential times: whole seconds, as they appear in `validFrom` and proofs.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Record times (definitions, clients): precise, so that lists sorted by
/// them come out in the order things happened (storage keeps microseconds).
fn precise_now() -> DateTime<Utc> {
    Utc::now()
}

// ---------------------------------------------------------------------------
// API clients
// ---------------------------------------------------------------------------

/// A client and its bearer token, which exists only here: zegel stores its hash.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub client: ClientRecord,
    pub token: String,
}

/// Parses `awards:write,awards:read` into known, distinct scopes.
pub fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !SCOPES.contains(&scope) {
            return Err(format!("unknown scope {scope:?} (known: {})", SCOPES.join(", ")));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(format!("give at least one scope ({})", SCOPES.join(", ")));
    }
    Ok(scopes)
}

/// Lowercase hex SHA-256 of a token: what is stored and looked up. Tokens
/// carry 256 random bits, so a plain hash is enough (no salt, no key
/// stretching) and can be indexed.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub async fn create_client(
    store: &Store,
    name: &str,
    scopes: &[String],
    actor: &str,
) -> Result<NewToken, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid("name", "must be 1 to 255 printable characters"));
    }
    let mut secret = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let client = NewClient {
        client_id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        token_hash: token_hash(&token),
        token_hint: token.chars().take(TOKEN_PREFIX.len() + 6).collect(),
        scopes: scopes.to_vec(),
        created_at: precise_now(),
        actor: actor.to_owned(),
    };
    store.create_client(&client).await?;
    let record = ClientRecord {
        client_id: client.client_id,
        name: client.name,
        token_hint: client.token_hint,
        scopes: client.scopes,
        created_at: client.created_at,
        revoked_at: None,
    };
    Ok(NewToken { client: record, token })
}

/// The active client holding `token`, if any.
pub async fn authenticate(store: &Store, token: &str) -> Result<Option<ClientRecord>, StorageError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(store.client_by_token_hash(&token_hash(token)).await?.filter(|c| c.revoked_at.is_none()))
}

// ---------------------------------------------------------------------------
// Microcredential definitions
// ---------------------------------------------------------------------------

/// A definition and its settings, as posted.
#[derive(Debug, Clone, Default)]
pub struct AchievementInput {
    pub definition: MicrocredentialDefinitionInput,
    pub course_codes: Option<Vec<String>>,
    pub edubadges_badgeclass: Option<String>,
    /// Problems already found in the request's shape (unknown members, wrong
    /// JSON types); reported together with the definition's own.
    pub shape_problems: ValidationErrors,
}

/// A definition as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AchievementView {
    pub id: String,
    pub version: i64,
    /// The public URL of this version (what credentials point to).
    pub url: String,
    #[serde(flatten)]
    pub definition: Map<String, Value>,
    pub course_codes: Vec<String>,
    pub edubadges_badgeclass: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

struct ValidAchievement {
    definition: MicrocredentialDefinition,
    course_codes: Vec<String>,
    edubadges_badgeclass: Option<String>,
}

fn validate_achievement(app: &App, mut input: AchievementInput) -> Result<ValidAchievement, ServiceError> {
    // The awarding institution defaults to the configured issuer.
    if input.definition.institution.is_none()
        && let Some(brin) = &app.settings.issuer.brin
    {
        input.definition.institution =
            Some(InstitutionInput { name: Some(app.settings.issuer.name.clone()), brin: Some(brin.clone()) });
    }
    let shape = input.shape_problems;
    let mut problems = shape.clone();
    let definition = match MicrocredentialDefinition::parse(input.definition) {
        Ok(d) => Some(d),
        Err(errors) => {
            // A field whose JSON type was wrong reads as missing to the
            // domain; its shape problem already says what is wrong.
            for e in errors.iter().filter(|e| !shape.covers(&e.field)) {
                let message = if e.field == "institution" {
                    format!("{} (or configure ZEGEL_INSTITUTION_BRIN for the issuer)", e.message)
                } else {
                    e.message.clone()
                };
                problems.push(e.field.clone(), message);
            }
            None
        }
    };
    let mut course_codes: Vec<String> = Vec::new();
    for (i, code) in input.course_codes.unwrap_or_default().iter().enumerate() {
        let code = code.trim();
        let at = format!("course_codes[{i}]");
        if code.is_empty() || code.chars().count() > 64 || code.chars().any(|c| c.is_control() || c.is_whitespace()) {
            problems.push(at, "must be 1 to 64 characters without spaces");
        } else if course_codes.iter().any(|c| c == code) {
            problems.push(at, "is listed twice");
        } else {
            course_codes.push(code.to_owned());
        }
    }
    let edubadges_badgeclass = match input.edubadges_badgeclass.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) if id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            Some(id.to_owned())
        }
        Some(_) => {
            problems
                .push("edubadges_badgeclass", "must be an Edubadges badge class entity id (22 URL-safe characters)");
            None
        }
    };
    match definition {
        Some(definition) if problems.is_empty() => {
            Ok(ValidAchievement { definition, course_codes, edubadges_badgeclass })
        }
        _ => Err(ServiceError::Invalid(problems)),
    }
}

fn definition_json(definition: &MicrocredentialDefinition) -> Result<String, ServiceError> {
    serde_json::to_string(definition).map_err(|e| ServiceError::Internal(e.into()))
}

fn conflict_on_course_code(error: StorageError) -> ServiceError {
    match error {
        StorageError::Conflict { what: "course_code", value } => {
            let mut problems = ValidationErrors::new();
            problems.push("course_codes", format!("{value} is already mapped to another achievement"));
            ServiceError::Conflict { message: format!("course code {value} is already in use"), problems }
        }
        other => other.into(),
    }
}

pub async fn create_achievement(
    app: &App,
    input: AchievementInput,
    actor: &str,
) -> Result<AchievementView, ServiceError> {
    let valid = validate_achievement(app, input)?;
    let at = precise_now();
    let new = NewAchievement {
        achievement_id: uuid::Uuid::new_v4().to_string(),
        definition: definition_json(&valid.definition)?,
        course_codes: valid.course_codes,
        edubadges_badgeclass: valid.edubadges_badgeclass,
        created_at: at,
        actor: actor.to_owned(),
    };
    app.store.create_achievement(&new).await.map_err(conflict_on_course_code)?;
    achievement(app, &new.achievement_id).await
}

pub async fn update_achievement(
    app: &App,
    achievement_id: &str,
    input: AchievementInput,
    actor: &str,
) -> Result<(AchievementView, UpdateOutcome), ServiceError> {
    let valid = validate_achievement(app, input)?;
    let update = AchievementUpdate {
        achievement_id: achievement_id.to_owned(),
        definition: definition_json(&valid.definition)?,
        course_codes: valid.course_codes,
        edubadges_badgeclass: valid.edubadges_badgeclass,
        at: precise_now(),
        actor: actor.to_owned(),
    };
    let outcome = match app.store.update_achievement(&update).await {
        Err(StorageError::NotFound(_)) => return Err(ServiceError::NotFound("achievement")),
        other => other.map_err(conflict_on_course_code)?,
    };
    Ok((achievement(app, achievement_id).await?, outcome))
}

pub async fn achievement(app: &App, achievement_id: &str) -> Result<AchievementView, ServiceError> {
    let record = app.store.achievement(achievement_id).await?.ok_or(ServiceError::NotFound("achievement"))?;
    achievement_view(app, record)
}

pub async fn achievements(app: &App) -> Result<Vec<AchievementView>, ServiceError> {
    app.store.list_achievements().await?.into_iter().map(|record| achievement_view(app, record)).collect()
}

fn achievement_view(app: &App, record: AchievementRecord) -> Result<AchievementView, ServiceError> {
    let definition: Map<String, Value> = serde_json::from_str(&record.definition)
        .map_err(|e| StorageError::Corrupt(format!("definition of achievement {}: {e}", record.achievement_id)))?;
    Ok(AchievementView {
        url: achievement_url(app, &record.achievement_id, record.current_version),
        id: record.achievement_id,
        version: record.current_version,
        definition,
        course_codes: record.course_codes,
        edubadges_badgeclass: record.edubadges_badgeclass,
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

/// The public URL of one version of an achievement: its id in credentials.
pub fn achievement_url(app: &App, achievement_id: &str, version: i64) -> String {
    app.url(&format!("/achievements/{achievement_id}/versions/{version}"))
}

/// The published JSON-LD of one version of an achievement (the latest when
/// `version` is `None`).
pub async fn published_achievement(
    app: &App,
    achievement_id: &str,
    version: Option<i64>,
) -> Result<Value, ServiceError> {
    let (version, definition) = match version {
        Some(version) => {
            let v = app
                .store
                .achievement_version(achievement_id, version)
                .await?
                .ok_or(ServiceError::NotFound("achievement version"))?;
            (v.version, v.definition)
        }
        None => {
            let a = app.store.achievement(achievement_id).await?.ok_or(ServiceError::NotFound("achievement"))?;
            (a.current_version, a.definition)
        }
    };
    let definition = load_definition(achievement_id, &definition)?;
    let id = url(&achievement_url(app, achievement_id, version))?;
    Ok(build::achievement_document(&definition, &id, &app.public_url))
}

fn load_definition(achievement_id: &str, json: &str) -> Result<MicrocredentialDefinition, ServiceError> {
    serde_json::from_str(json)
        .map_err(|e| StorageError::Corrupt(format!("definition of achievement {achievement_id}: {e}")).into())
}

fn url(text: &str) -> Result<HttpsUrl, ServiceError> {
    HttpsUrl::parse(text).map_err(|e| ServiceError::Internal(anyhow::anyhow!("{text}: {e}")))
}

// ---------------------------------------------------------------------------
// Awards
// ---------------------------------------------------------------------------

/// Which achievement an award is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AchievementRef {
    Id(String),
    CourseCode(String),
}

/// An award as posted by the SIS, before validation.
#[derive(Debug, Clone, Default)]
pub struct AwardRequest {
    pub achievement: Option<AchievementRef>,
    pub record: AwardRecordInput,
    /// Problems already found in the request's shape; reported with the rest.
    pub shape_problems: ValidationErrors,
}

/// An award as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AwardView {
    pub id: String,
    pub source_record_id: String,
    pub achievement_id: String,
    pub achievement_version: i64,
    pub credential_id: String,
    pub credential_url: String,
    /// The same credential as a VC-JWT.
    pub credential_jwt_url: String,
    pub push: PushView,
    pub created_at: DateTime<Utc>,
}

/// Where the award stands with Edubadges.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushView {
    /// `pending`, `sent`, `claimed`, `failed`, `withdrawn`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<PushDetail>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushDetail {
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a waiting push is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What Edubadges holds, once something was sent.
    pub edubadges: Option<EdubadgesView>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EdubadgesView {
    pub badgeclass: String,
    pub bundle_id: Option<String>,
    pub direct_award_id: Option<String>,
    pub assertion_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
}

impl PushView {
    fn new(state: String) -> Self {
        Self { state, attempts: None, detail: None }
    }

    /// A push that has not been tried yet, due at `due`.
    pub(crate) fn waiting(state: String, due: DateTime<Utc>) -> Self {
        Self {
            state,
            attempts: Some(0),
            detail: Some(PushDetail {
                last_error: None,
                last_attempt_at: None,
                next_attempt_at: Some(due),
                edubadges: None,
            }),
        }
    }

    fn from_status(status: crate::storage::PushStatus) -> Self {
        let edubadges = status.delivery.filter(|d| d.state != "unsent").map(|d| EdubadgesView {
            badgeclass: d.badgeclass,
            bundle_id: d.bundle_id,
            direct_award_id: d.direct_award_id,
            assertion_id: d.assertion_id,
            sent_at: d.sent_at,
            claimed_at: d.claimed_at,
        });
        Self {
            state: status.state,
            attempts: Some(status.attempts),
            detail: Some(PushDetail {
                last_error: status.last_error,
                last_attempt_at: status.last_attempt_at,
                next_attempt_at: status.next_attempt_at,
                edubadges,
            }),
        }
    }
}

/// Whether the award was made now or already existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwardOutcome {
    Created(AwardView),
    /// The same record was posted before: its award, unchanged.
    Existing(AwardView),
}

/// Record fields have API names: `source_record_id`, `result.grade`, …
fn api_field(field: &str) -> String {
    match field {
        "record_id" => "source_record_id".to_owned(),
        "grade" => "result.grade".to_owned(),
        "completed_on" => "result.completed_on".to_owned(),
        other => other.to_owned(),
    }
}

/// An award request that passed validation: what it awards, to whom, and
/// the hash that tells a repeat from a conflicting reuse of its record id.
#[derive(Debug, Clone)]
pub(crate) struct ValidAward {
    pub record: AwardRecord,
    pub achievement: AchievementRecord,
    pub hash: String,
}

/// Achievements looked up while validating, by id or course code, so that a
/// batch of awards for one achievement reads it once.
#[derive(Debug, Default)]
pub(crate) struct AchievementLookup {
    found: HashMap<AchievementRef, Option<AchievementRecord>>,
}

impl AchievementLookup {
    async fn get(&mut self, app: &App, reference: &AchievementRef) -> Result<Option<AchievementRecord>, ServiceError> {
        if let Some(found) = self.found.get(reference) {
            return Ok(found.clone());
        }
        let found = match reference {
            AchievementRef::Id(id) => app.store.achievement(id).await?,
            AchievementRef::CourseCode(code) => app.store.achievement_by_course_code(code).await?,
        };
        self.found.insert(reference.clone(), found.clone());
        Ok(found)
    }
}

/// Checks an award request, listing every problem (`ServiceError::Invalid`).
pub(crate) async fn validate_award(
    app: &App,
    request: AwardRequest,
    today: chrono::NaiveDate,
    lookup: &mut AchievementLookup,
) -> Result<ValidAward, ServiceError> {
    let shape = request.shape_problems;
    let mut problems = shape.clone();
    let record = match AwardRecord::parse(request.record, today) {
        Ok(record) => Some(record),
        Err(errors) => {
            errors
                .iter()
                .map(|e| (api_field(&e.field), e))
                .filter(|(field, _)| !shape.covers(field))
                .for_each(|(field, e)| problems.push(field, e.message.clone()));
            None
        }
    };
    let achievement = match &request.achievement {
        None => {
            problems.push("achievement_id", "give achievement_id or course_code");
            None
        }
        Some(reference) => {
            let found = lookup.get(app, reference).await?;
            if found.is_none() {
                match reference {
                    AchievementRef::Id(id) => problems.push("achievement_id", format!("no achievement has id {id}")),
                    AchievementRef::CourseCode(code) => {
                        problems.push("course_code", format!("no achievement is mapped to course code {code}"))
                    }
                }
            }
            found
        }
    };
    let (Some(record), Some(achievement)) = (record, achievement) else {
        return Err(ServiceError::Invalid(problems));
    };
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let hash = request_hash(&achievement.achievement_id, &record)?;
    Ok(ValidAward { record, achievement, hash })
}

/// The day a completion date may be at most: "today" anywhere on earth (UTC+14).
pub(crate) fn latest_completion_day(issued_at: DateTime<Utc>) -> chrono::NaiveDate {
    (issued_at + Duration::hours(14)).date_naive()
}

/// Validates, builds, signs and stores an award; see `POST /api/v1/awards`.
pub async fn issue_award(
    app: &App,
    client: &ClientRecord,
    request: AwardRequest,
) -> Result<AwardOutcome, ServiceError> {
    let issued_at = now();
    let today = latest_completion_day(issued_at);
    let ValidAward { record, achievement, hash } =
        validate_award(app, request, today, &mut AchievementLookup::default()).await?;
    if let Some(existing) = app.store.award_by_source_record_id(record.record_id().as_str()).await? {
        return repeat_or_conflict(app, existing, &hash).await;
    }

    let slots = Slots::take(app).await?;
    let ids = AwardIds::new();
    let (award_id, credential_id) = (ids.award_id.clone(), ids.credential_id.clone());
    let mut achievement = achievement;
    let mut attempt = 1;
    let outcome = loop {
        let new = signed_award(app, client, &achievement, &record, &hash, &ids, &slots, issued_at)?;
        let started = Instant::now();
        let stored = app.store.record_issued_award(&new).await;
        app.metrics.storage_duration.observe(started.elapsed());
        match stored {
            // The definition was edited in place between reading and
            // storing: build and sign again from what it says now.
            Err(StorageError::Stale(_)) if attempt < MAX_STALE_ATTEMPTS => {
                attempt += 1;
                achievement = app
                    .store
                    .achievement(&achievement.achievement_id)
                    .await?
                    .ok_or(ServiceError::NotFound("achievement"))?;
            }
            other => break other?,
        }
    };
    match outcome {
        IssueOutcome::Created => {
            app.metrics.awards_issued.fetch_add(1, Ordering::Relaxed);
            tracing::info!(award.id = %award_id, credential.id = %credential_id, achievement.id = %achievement.achievement_id, client.id = %client.client_id, "issued credential");
            let stored = app.store.award(&award_id).await?.ok_or(ServiceError::NotFound("award"))?;
            let mut view = award_view(app, stored);
            // Just written: not tried yet, due at once (no read needed).
            view.push = PushView::waiting(view.push.state.clone(), view.created_at);
            Ok(AwardOutcome::Created(view))
        }
        // A concurrent request with the same record id won the race.
        IssueOutcome::Existing(existing) => repeat_or_conflict(app, *existing, &hash).await,
    }
}

/// How often an award is built again because its definition changed under
/// it; each time needs an administrator's edit to land in a window of
/// milliseconds, so a third is practically impossible.
const MAX_STALE_ATTEMPTS: u32 = 3;

pub(crate) struct AwardIds {
    pub award_id: String,
    pub credential_id: String,
}

impl AwardIds {
    pub(crate) fn new() -> Self {
        Self { award_id: time_ordered_id(), credential_id: time_ordered_id() }
    }
}

/// A UUIDv7: the current millisecond, then 74 random bits from the
/// operating system. Time-ordered, so new keys land at the right edge of
/// every index that holds them and bulk intake writes a few hot pages
/// instead of a random page per index per award. Fully random after the
/// timestamp (no counter, unlike `Uuid::now_v7`), so knowing one
/// credential's URL does not help guess the next one's; the time it
/// reveals is the credential's `validFrom`.
fn time_ordered_id() -> String {
    use rand_core::{OsRng, RngCore as _};
    let mut random = [0u8; 10];
    OsRng.fill_bytes(&mut random);
    let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid().to_string()
}

/// The status positions of a new credential.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slots {
    pub revocation: StatusSlot,
    /// `None` when credentials are issued without a suspension entry.
    pub suspension: Option<StatusSlot>,
}

impl Slots {
    /// Free positions for one new credential.
    pub(crate) async fn take(app: &App) -> Result<Self, ServiceError> {
        let revocation = app.status_slot(StatusPurpose::Revocation).await?;
        let suspension = match app.settings.status.suspension {
            true => Some(app.status_slot(StatusPurpose::Suspension).await?),
            false => None,
        };
        Ok(Self { revocation, suspension })
    }

    /// Free positions for `count` new credentials, reserved together.
    pub(crate) async fn take_many(app: &App, count: usize) -> Result<Vec<Self>, ServiceError> {
        let revocation = app.status_slots(StatusPurpose::Revocation, count).await?;
        let suspension: Vec<Option<StatusSlot>> = match app.settings.status.suspension {
            true => app.status_slots(StatusPurpose::Suspension, count).await?.into_iter().map(Some).collect(),
            false => vec![None; count],
        };
        Ok(revocation
            .into_iter()
            .zip(suspension)
            .map(|(revocation, suspension)| Self { revocation, suspension })
            .collect())
    }

    /// The credential's `credentialStatus` entries.
    fn entries(&self, app: &App) -> Result<Vec<CredentialStatus>, ServiceError> {
        let entry = |slot: &StatusSlot, purpose| -> Result<CredentialStatus, ServiceError> {
            let list_url = status_list_url(app, slot.list_id);
            let index = u64::try_from(slot.index).map_err(|e| ServiceError::Internal(e.into()))?;
            Ok(CredentialStatus::bitstring(&list_url, purpose, index))
        };
        let mut entries = vec![entry(&self.revocation, StatusPurpose::Revocation)?];
        if let Some(slot) = &self.suspension {
            entries.push(entry(slot, StatusPurpose::Suspension)?);
        }
        Ok(entries)
    }
}

/// The public URL of a status list credential.
pub fn status_list_url(app: &App, list_id: i64) -> String {
    app.url(&format!("/status/{list_id}"))
}

/// Builds a credential for `record` from one version of an achievement,
/// checks it against the 1EdTech schema and signs it both ways.
#[allow(clippy::too_many_arguments, reason = "the parts of one credential")]
pub(crate) fn signed_credential(
    app: &App,
    achievement_id: &str,
    version: i64,
    definition_json: &str,
    record: &AwardRecord,
    credential_id: &str,
    slots: &Slots,
    issued_at: DateTime<Utc>,
) -> Result<crate::signing::issuer::SignedCredential, ServiceError> {
    let definition = load_definition(achievement_id, definition_json)?;
    let credential_url = url(&credential_url(app, credential_id))?;
    let achievement_url = url(&achievement_url(app, achievement_id, version))?;
    let status = slots.entries(app)?;
    let salt = recipient::new_salt();
    let credential = build::build_credential(&CredentialInput {
        credential_id: &credential_url,
        issuer: app.issuer.profile(),
        achievement: &definition,
        achievement_id: &achievement_url,
        award: record,
        recipient_salt: &salt,
        valid_from: issued_at,
        // The learner earned it on the SIS's completion date; issuance (or
        // a reissue) may come much later. Edubadges has no field for it
        // (contract fact 11), so the credential is where it survives.
        awarded_date: record.completed_on().and_time(chrono::NaiveTime::MIN).and_utc(),
        valid_until: definition.valid_until(issued_at),
        status: &status,
        public_base_url: &app.public_url,
    });
    let unsigned = build::to_json_bytes(&credential);
    check_schema(app, &unsigned)?;

    let started = Instant::now();
    let signed = app.issuer.sign(&app.canonicalizer, &unsigned, issued_at).map_err(|e| {
        // Validation ran first: a refusal here is zegel's own fault.
        ServiceError::Internal(anyhow::anyhow!("signing credential {credential_id}: {e}"))
    })?;
    app.metrics.signing_duration.observe(started.elapsed());
    Ok(signed)
}

/// Builds and signs the credential of a new award from `achievement`'s
/// current version: the award, ready to store.
#[allow(clippy::too_many_arguments, reason = "the parts of one award")]
pub(crate) fn signed_award(
    app: &App,
    client: &ClientRecord,
    achievement: &AchievementRecord,
    record: &AwardRecord,
    hash: &str,
    ids: &AwardIds,
    slots: &Slots,
    issued_at: DateTime<Utc>,
) -> Result<NewIssuedAward, ServiceError> {
    let signed = signed_credential(
        app,
        &achievement.achievement_id,
        achievement.current_version,
        &achievement.definition,
        record,
        &ids.credential_id,
        slots,
        issued_at,
    )?;
    Ok(NewIssuedAward {
        award_id: ids.award_id.clone(),
        client_id: client.client_id.clone(),
        source_record_id: record.record_id().as_str().to_owned(),
        request_hash: hash.to_owned(),
        achievement_id: achievement.achievement_id.clone(),
        achievement_version: achievement.current_version,
        definition: achievement.definition.clone(),
        record: serde_json::to_string(record).map_err(|e| ServiceError::Internal(e.into()))?,
        credential_id: ids.credential_id.clone(),
        credential_document: signed.document,
        credential_jwt: signed.jwt,
        issued_at,
        status: slots.revocation,
        suspension: slots.suspension,
        actor: format!("client:{}", client.client_id),
    })
}

pub(crate) async fn repeat_or_conflict(
    app: &App,
    existing: StoredAward,
    hash: &str,
) -> Result<AwardOutcome, ServiceError> {
    if existing.request_hash == hash {
        app.metrics.awards_repeated.fetch_add(1, Ordering::Relaxed);
        return Ok(AwardOutcome::Existing(with_push_detail(app, award_view(app, existing)).await?));
    }
    app.metrics.awards_conflicting.fetch_add(1, Ordering::Relaxed);
    let mut problems = ValidationErrors::new();
    problems.push(
        "source_record_id",
        format!("was already used for a different record (award {}); nothing was changed", existing.award_id),
    );
    Err(ServiceError::Conflict {
        message: format!("source_record_id {} was already used for a different record", existing.source_record_id),
        problems,
    })
}

/// What makes two postings "the same record": the achievement and every
/// validated field, normalised (an e-mail address differing only in case is
/// the same address).
fn request_hash(achievement_id: &str, record: &AwardRecord) -> Result<String, ServiceError> {
    let normalised = serde_json::to_vec(&(achievement_id, record)).map_err(|e| ServiceError::Internal(e.into()))?;
    Ok(hex(&Sha256::digest(&normalised)))
}

fn check_schema(app: &App, unsigned: &[u8]) -> Result<(), ServiceError> {
    let value: Value = serde_json::from_slice(unsigned).map_err(|e| ServiceError::Internal(e.into()))?;
    app.schemas.validate_credential(SchemaId::AchievementCredential, &value).map_err(|violations| {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        ServiceError::Internal(anyhow::anyhow!("built credential fails the 1EdTech schema: {}", list.join("; ")))
    })
}

pub async fn award(app: &App, award_id: &str) -> Result<AwardView, ServiceError> {
    let stored = app.store.award(award_id).await?.ok_or(ServiceError::NotFound("award"))?;
    with_push_detail(app, award_view(app, stored)).await
}

pub async fn award_by_source_record_id(app: &App, source_record_id: &str) -> Result<AwardView, ServiceError> {
    let stored = app.store.award_by_source_record_id(source_record_id).await?.ok_or(ServiceError::NotFound("award"))?;
    with_push_detail(app, award_view(app, stored)).await
}

async fn with_push_detail(app: &App, mut view: AwardView) -> Result<AwardView, ServiceError> {
    if let Some(status) = app.store.push_status(&view.id).await? {
        view.push = PushView::from_status(status);
    }
    Ok(view)
}

// ---------------------------------------------------------------------------
// The Edubadges push: visibility and retry
// ---------------------------------------------------------------------------

/// One award in a push listing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushListItem {
    pub id: String,
    pub source_record_id: String,
    pub credential_id: String,
    pub push: PushView,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PushList {
    pub awards: Vec<PushListItem>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

pub const PUSH_STATES: [&str; 6] = ["pending", "sent", "claimed", "failed", "withdrawing", "withdrawn"];

/// Awards by push state, oldest first, `limit` (default 100) per page after
/// award `after`; empty parameters count as absent.
pub async fn push_list(
    app: &App,
    state: Option<&str>,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<PushList, ServiceError> {
    let mut problems = ValidationErrors::new();
    let state = state.filter(|s| !s.is_empty());
    if let Some(state) = state
        && !PUSH_STATES.contains(&state)
    {
        problems.push("state", format!("must be one of {}", PUSH_STATES.join(", ")));
    }
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        problems.push("limit", "must be between 1 and 1000");
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let after = match after.filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => {
            let award = app.store.award(id).await?.ok_or_else(|| {
                let mut problems = ValidationErrors::new();
                problems.push("after", "is not an award id from an earlier page");
                ServiceError::Invalid(problems)
            })?;
            Some((award.created_at, award.award_id))
        }
    };
    let mut rows = app.store.push_list(state, after, limit + 1).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more { rows.last().map(|r| r.award_id.clone()) } else { None };
    let awards = rows
        .into_iter()
        .map(|status| PushListItem {
            id: status.award_id.clone(),
            source_record_id: status.source_record_id.clone(),
            credential_id: status.credential_id.clone(),
            created_at: status.created_at,
            push: PushView::from_status(status),
        })
        .collect();
    Ok(PushList { awards, next })
}

/// An administrator's retry: the award's push is due now (after a failure,
/// or instead of waiting for its next attempt).
pub async fn retry_push(
    app: &App,
    award_id: &str,
    actor: &str,
) -> Result<(crate::storage::RetryOutcome, AwardView), ServiceError> {
    let outcome = app.store.retry_push(award_id, precise_now(), actor).await?;
    Ok((outcome, award(app, award_id).await?))
}

pub(crate) fn award_view(app: &App, stored: StoredAward) -> AwardView {
    AwardView {
        credential_url: credential_url(app, &stored.credential_id),
        credential_jwt_url: format!("{}.jwt", credential_url(app, &stored.credential_id)),
        id: stored.award_id,
        source_record_id: stored.source_record_id,
        achievement_id: stored.achievement_id,
        achievement_version: stored.achievement_version,
        credential_id: stored.credential_id,
        push: PushView::new(stored.push_state),
        created_at: stored.created_at,
    }
}

pub fn credential_url(app: &App, credential_id: &str) -> String {
    app.url(&format!("/credentials/{credential_id}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::time_ordered_id;

    #[test]
    fn award_ids_are_uuid_v7_ordered_by_time_and_random_after_it() {
        let first = time_ordered_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let ids: Vec<String> = (0..1000).map(|_| time_ordered_id()).collect();
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(uuid.get_version_num(), 7, "{id}");
            assert!(id.as_str() > first.as_str(), "{id} sorts after an id made earlier ({first})");
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // No counter: ids made within one millisecond do not simply count up.
        let same_ms = ids.windows(2).filter(|w| w[0][..13] == w[1][..13]).count();
        let ascending = ids.windows(2).filter(|w| w[0][..13] == w[1][..13] && w[0] < w[1]).count();
        assert!(same_ms < 20 || ascending < same_ms, "{ascending} of {same_ms} same-millisecond pairs ascend");
    }
}

// The storage operations, written once and compiled into both backend modules
// (`include!` from `sqlite.rs` and `postgres.rs`), because sqlx code generic
// over `Database` needs unwieldy higher-ranked bounds. Before including this
// file a backend module defines:
//   `Db` (the sqlx database), `This` (its store type) with
//   `async fn begin_write(&self) -> Result<Tx, StorageError>` and
//   `fn read_pool(&self) -> &sqlx::Pool<Db>`;
//   `fn is_transient(&sqlx::Error) -> bool` (worth retrying the transaction);
//   `fn index_list(&[i64]) -> IndexList` (an array parameter) and the
//   statement `INSERT_FREE` that takes it (and counts what it inserted);
//   `async fn write_award(&mut Transaction<'_, Db>, &NewIssuedAward, at)
//   -> Result<bool, _>` (the award's rows; false if the source record id is
//   taken), and `record_issued_award` on `This` (which `record_award_in`
//   serves);
//   macros `for_update!()` (a row lock clause, empty on SQLite whose write
//   transactions are serialised anyway) and
//   `course_codes_json!()` (an achievement's codes as a JSON array).
//
// Not a module of its own: `cargo fmt` does not reach it; format it with
// `rustfmt --edition 2024 src/storage/ops.rs`.

use crate::storage::{
    AchievementRecord, AchievementUpdate, AchievementVersionRecord, AuditEntry, AuditFilter, AwardRecord, ClientRecord,
    CredentialRecord, IntegrityReport, IssueOutcome, NewAchievement, NewClient, NewIssuedAward, OutboxJob, StatusSlot,
    StorageError, UpdateOutcome, code_set, db_error, invalid_argument, json_strings, list_capacity, micros,
    random_positions, shuffle, unique_violation,
};
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use std::collections::HashSet;

type Tx = sqlx::Transaction<'static, Db>;
type DbRow = <Db as sqlx::Database>::Row;

/// How often a transaction that failed for a transient reason (deadlock,
/// serialisation failure, a concurrent new status list) is run again.
const MAX_ATTEMPTS: u32 = 8;

/// Why a transaction should simply be run again.
fn should_retry(error: &StorageError) -> bool {
    match error {
        StorageError::Database { source, .. } => is_transient(source),
        // Another process opened the purpose's next status list first.
        StorageError::Conflict { what: "open status list", .. } => true,
        _ => false,
    }
}

fn col<'r, T>(row: &'r DbRow, name: &str) -> Result<T, StorageError>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name).map_err(|e| StorageError::Corrupt(format!("column {name}: {e}")))
}

/// One audit entry, written in the transaction of the change it records.
struct Audit<'a> {
    at: DateTime<Utc>,
    actor: &'a str,
    action: &'static str,
    award_id: Option<&'a str>,
    credential_id: Option<&'a str>,
    achievement_id: Option<&'a str>,
    client_id: Option<&'a str>,
    details: Option<serde_json::Value>,
}

impl<'a> Audit<'a> {
    fn new(at: DateTime<Utc>, actor: &'a str, action: &'static str) -> Self {
        Self {
            at,
            actor,
            action,
            award_id: None,
            credential_id: None,
            achievement_id: None,
            client_id: None,
            details: None,
        }
    }

    async fn insert(self, tx: &mut Tx) -> Result<i64, StorageError> {
        let row = sqlx::query(
            "insert into audit_entry (at, actor, action, award_id, credential_id, achievement_id, client_id, details) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning audit_id",
        )
        .bind(micros(self.at))
        .bind(self.actor)
        .bind(self.action)
        .bind(self.award_id)
        .bind(self.credential_id)
        .bind(self.achievement_id)
        .bind(self.client_id)
        .bind(self.details.map(|d| d.to_string()))
        .fetch_one(&mut **tx)
        .await
        .map_err(db_error("writing the audit entry"))?;
        col(&row, "audit_id")
    }
}

fn client_from_row(row: &DbRow) -> Result<ClientRecord, StorageError> {
    let scopes: String = col(row, "scopes")?;
    Ok(ClientRecord {
        client_id: col(row, "client_id")?,
        name: col(row, "name")?,
        token_hint: col(row, "token_hint")?,
        scopes: json_strings("api_client.scopes", &scopes)?,
        created_at: col(row, "created_at")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

fn achievement_from_row(row: &DbRow) -> Result<AchievementRecord, StorageError> {
    let codes: String = col(row, "course_codes")?;
    let mut course_codes = json_strings("achievement course codes", &codes)?;
    course_codes.sort();
    Ok(AchievementRecord {
        achievement_id: col(row, "achievement_id")?,
        current_version: col(row, "current_version")?,
        definition: col(row, "definition")?,
        course_codes,
        edubadges_badgeclass: col(row, "edubadges_badgeclass")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

fn award_from_row(row: &DbRow) -> Result<AwardRecord, StorageError> {
    Ok(AwardRecord {
        award_id: col(row, "award_id")?,
        client_id: col(row, "client_id")?,
        source_record_id: col(row, "source_record_id")?,
        request_hash: col(row, "request_hash")?,
        achievement_id: col(row, "achievement_id")?,
        achievement_version: col(row, "achievement_version")?,
        record: col(row, "record")?,
        credential_id: col(row, "credential_id")?,
        created_at: col(row, "created_at")?,
        push_state: col(row, "push_state")?,
    })
}

/// An achievement with its current definition and course codes, in one
/// statement (so one snapshot).
macro_rules! select_achievement {
    ($tail:literal) => {
        concat!(
            "select a.achievement_id, a.current_version, v.definition, a.edubadges_badgeclass, a.created_at, \
             a.updated_at, ",
            course_codes_json!(),
            " as course_codes from achievement a join achievement_version v \
             on v.achievement_id = a.achievement_id and v.version = a.current_version ",
            $tail
        )
    };
}

macro_rules! select_award {
    ($tail:expr) => {
        concat!(
            "select award_id, client_id, source_record_id, request_hash, achievement_id, achievement_version, \
             record, credential_id, created_at, push_state from award ",
            $tail
        )
    };
}

impl This {
    /// Runs `op` (one whole transaction) again while it fails transiently.
    async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, StorageError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StorageError>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(error) if attempt < MAX_ATTEMPTS && should_retry(&error) => {
                    tracing::debug!(%error, attempt, "retrying a storage transaction");
                    // A little jitter so that colliding transactions do not
                    // collide again in lockstep.
                    let jitter = random_positions(1_000, 1).first().copied().unwrap_or(0);
                    let pause = 1_000 * u64::from(attempt) + jitter.unsigned_abs();
                    tokio::time::sleep(std::time::Duration::from_micros(pause)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    pub(super) async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("select 1").execute(self.read_pool()).await.map_err(db_error("pinging the database"))?;
        Ok(())
    }

    // ---- clients ---------------------------------------------------------

    pub(super) async fn create_client(&self, client: &NewClient) -> Result<(), StorageError> {
        self.retrying(move || self.try_create_client(client)).await
    }

    async fn try_create_client(&self, client: &NewClient) -> Result<(), StorageError> {
        let scopes = serde_json::Value::from(client.scopes.clone()).to_string();
        let at = micros(client.created_at);
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "insert into api_client (client_id, name, token_hash, token_hint, scopes, created_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.token_hash)
        .bind(&client.token_hint)
        .bind(&scopes)
        .bind(at)
        .execute(&mut *tx)
        .await;
        if let Err(error) = inserted {
            return Err(match unique_violation(&error) {
                // The hint, not the hash: enough to recognise the token.
                Some(which) if which.contains("token_hash") => {
                    StorageError::Conflict { what: "token", value: client.token_hint.clone() }
                }
                Some(_) => StorageError::Conflict { what: "client_id", value: client.client_id.clone() },
                None => db_error("inserting the client")(error),
            });
        }
        let mut audit = Audit::new(at, &client.actor, "client_created");
        audit.client_id = Some(&client.client_id);
        audit.details = Some(serde_json::json!({
            "name": client.name,
            "scopes": client.scopes,
            "token_hint": client.token_hint,
        }));
        audit.insert(&mut tx).await?;
        tx.commit().await.map_err(db_error("committing the new client"))
    }

    pub(super) async fn client_by_token_hash(&self, token_hash: &str) -> Result<Option<ClientRecord>, StorageError> {
        const SQL: &str = "select client_id, name, token_hint, scopes, created_at, revoked_at from api_client \
                           where token_hash = $1";
        let row = sqlx::query(SQL)
            .bind(token_hash)
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_error("looking up the client token"))?;
        row.as_ref().map(client_from_row).transpose()
    }

    pub(super) async fn list_clients(&self) -> Result<Vec<ClientRecord>, StorageError> {
        let rows = sqlx::query(
            "select client_id, name, token_hint, scopes, created_at, revoked_at from api_client \
             order by created_at, client_id",
        )
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("listing the clients"))?;
        rows.iter().map(client_from_row).collect()
    }

    pub(super) async fn revoke_client(
        &self,
        client_id: &str,
        at: DateTime<Utc>,
        actor: &str,
    ) -> Result<bool, StorageError> {
        self.retrying(move || self.try_revoke_client(client_id, at, actor)).await
    }

    async fn try_revoke_client(&self, client_id: &str, at: DateTime<Utc>, actor: &str) -> Result<bool, StorageError> {
        let at = micros(at);
        let mut tx = self.begin_write().await?;
        // The `revoked_at is null` condition makes concurrent revocations
        // agree: PostgreSQL re-checks it after waiting for the row lock.
        let changed = sqlx::query("update api_client set revoked_at = $2 where client_id = $1 and revoked_at is null")
            .bind(client_id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_error("revoking the client"))?
            .rows_affected();
        if changed == 0 {
            let exists = sqlx::query("select 1 from api_client where client_id = $1")
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error("looking up the client"))?
                .is_some();
            return if exists { Ok(false) } else { Err(StorageError::NotFound("client")) };
        }
        let mut audit = Audit::new(at, actor, "client_revoked");
        audit.client_id = Some(client_id);
        audit.insert(&mut tx).await?;
        tx.commit().await.map_err(db_error("committing the revocation"))?;
        Ok(true)
    }

    // ---- achievements ----------------------------------------------------

    pub(super) async fn create_achievement(&self, achievement: &NewAchievement) -> Result<(), StorageError> {
        self.retrying(move || self.try_create_achievement(achievement)).await
    }

    async fn try_create_achievement(&self, new: &NewAchievement) -> Result<(), StorageError> {
        let at = micros(new.created_at);
        let codes = code_set(&new.course_codes);
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "insert into achievement (achievement_id, current_version, edubadges_badgeclass, created_at, updated_at) \
             values ($1, 1, $2, $3, $3)",
        )
        .bind(&new.achievement_id)
        .bind(&new.edubadges_badgeclass)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|error| match unique_violation(&error) {
            Some(_) => StorageError::Conflict { what: "achievement_id", value: new.achievement_id.clone() },
            None => db_error("inserting the achievement")(error),
        })?;
        sqlx::query(
            "insert into achievement_version (achievement_id, version, definition, created_at, updated_at) \
             values ($1, 1, $2, $3, $3)",
        )
        .bind(&new.achievement_id)
        .bind(&new.definition)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_error("inserting the achievement's first version"))?;
        for code in &codes {
            add_course_code(&mut tx, code, &new.achievement_id).await?;
        }
        let mut audit = Audit::new(at, &new.actor, "achievement_created");
        audit.achievement_id = Some(&new.achievement_id);
        audit.details = Some(serde_json::json!({
            "version": 1,
            "course_codes": codes,
            "edubadges_badgeclass": new.edubadges_badgeclass,
        }));
        audit.insert(&mut tx).await?;
        tx.commit().await.map_err(db_error("committing the new achievement"))
    }

    pub(super) async fn update_achievement(&self, update: &AchievementUpdate) -> Result<UpdateOutcome, StorageError> {
        self.retrying(move || self.try_update_achievement(update)).await
    }

    async fn try_update_achievement(&self, update: &AchievementUpdate) -> Result<UpdateOutcome, StorageError> {
        let at = micros(update.at);
        let id = update.achievement_id.as_str();
        let codes = code_set(&update.course_codes);
        let mut tx = self.begin_write().await?;

        // Serialises updates of one achievement (across processes on
        // PostgreSQL; SQLite has one writer at a time anyway).
        let row = sqlx::query(concat!(
            "select current_version, edubadges_badgeclass from achievement where achievement_id = $1",
            for_update!()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error("locking the achievement"))?
        .ok_or(StorageError::NotFound("achievement"))?;
        let version: i64 = col(&row, "current_version")?;
        let badgeclass: Option<String> = col(&row, "edubadges_badgeclass")?;

        let definition: String =
            sqlx::query_scalar("select definition from achievement_version where achievement_id = $1 and version = $2")
                .bind(id)
                .bind(version)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error("reading the current definition"))?;
        let current_codes: Vec<String> =
            sqlx::query_scalar("select course_code from achievement_course_code where achievement_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error("reading the course codes"))?;
        let current_codes = code_set(&current_codes);

        let definition_changed = definition != update.definition;
        let codes_changed = codes != current_codes;
        let badgeclass_changed = badgeclass != update.edubadges_badgeclass;
        if !definition_changed && !codes_changed && !badgeclass_changed {
            return Ok(UpdateOutcome::Unchanged { version });
        }

        let mut outcome = UpdateOutcome::Updated { version };
        if definition_changed {
            // Whether the version may be edited in place depends on whether
            // an award refers to it; that must not change until we commit.
            // On PostgreSQL this lock waits for every award transaction that
            // holds a KEY SHARE lock on the version (taken explicitly in
            // `record_issued_award`, and by the foreign key check) and makes
            // later ones wait for us; the check below then sees every award
            // that committed first (READ COMMITTED: a fresh snapshot per
            // statement).
            sqlx::query(concat!(
                "select version from achievement_version where achievement_id = $1 and version = $2",
                for_update!()
            ))
            .bind(id)
            .bind(version)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error("locking the current version"))?;
            let awarded: bool = sqlx::query_scalar(
                "select exists (select 1 from award where achievement_id = $1 and achievement_version = $2)",
            )
            .bind(id)
            .bind(version)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error("checking for awards of the current version"))?;
            if awarded {
                let next = version + 1;
                sqlx::query(
                    "insert into achievement_version (achievement_id, version, definition, created_at, updated_at) \
                     values ($1, $2, $3, $4, $4)",
                )
                .bind(id)
                .bind(next)
                .bind(&update.definition)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_error("inserting the new version"))?;
                outcome = UpdateOutcome::NewVersion { version: next };
            } else {
                sqlx::query(
                    "update achievement_version set definition = $3, updated_at = $4 \
                     where achievement_id = $1 and version = $2",
                )
                .bind(id)
                .bind(version)
                .bind(&update.definition)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_error("updating the current version"))?;
            }
        }
        let new_version = match outcome {
            UpdateOutcome::Unchanged { version }
            | UpdateOutcome::Updated { version }
            | UpdateOutcome::NewVersion { version } => version,
        };
        sqlx::query(
            "update achievement set current_version = $2, edubadges_badgeclass = $3, updated_at = $4 \
             where achievement_id = $1",
        )
        .bind(id)
        .bind(new_version)
        .bind(&update.edubadges_badgeclass)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_error("updating the achievement"))?;

        if codes_changed {
            let keep: HashSet<&String> = codes.iter().collect();
            let have: HashSet<&String> = current_codes.iter().collect();
            for gone in current_codes.iter().filter(|c| !keep.contains(c)) {
                sqlx::query("delete from achievement_course_code where course_code = $1 and achievement_id = $2")
                    .bind(gone)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error("removing a course code"))?;
            }
            for added in codes.iter().filter(|c| !have.contains(c)) {
                add_course_code(&mut tx, added, id).await?;
            }
        }

        let (action, previous) = match outcome {
            UpdateOutcome::NewVersion { .. } => ("achievement_version_created", Some(version)),
            _ => ("achievement_updated", None),
        };
        let mut audit = Audit::new(at, &update.actor, action);
        audit.achievement_id = Some(id);
        audit.details = Some(serde_json::json!({
            "version": new_version,
            "previous_version": previous,
            "definition_changed": definition_changed,
            "course_codes": codes,
            "edubadges_badgeclass": update.edubadges_badgeclass,
        }));
        audit.insert(&mut tx).await?;
        tx.commit().await.map_err(db_error("committing the achievement update"))?;
        Ok(outcome)
    }

    pub(super) async fn achievement(&self, achievement_id: &str) -> Result<Option<AchievementRecord>, StorageError> {
        let row = sqlx::query(select_achievement!("where a.achievement_id = $1"))
            .bind(achievement_id)
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_error("reading the achievement"))?;
        row.as_ref().map(achievement_from_row).transpose()
    }

    pub(super) async fn achievement_version(
        &self,
        achievement_id: &str,
        version: i64,
    ) -> Result<Option<AchievementVersionRecord>, StorageError> {
        let row = sqlx::query(
            "select achievement_id, version, definition, created_at from achievement_version \
             where achievement_id = $1 and version = $2",
        )
        .bind(achievement_id)
        .bind(version)
        .fetch_optional(self.read_pool())
        .await
        .map_err(db_error("reading the achievement version"))?;
        row.map(|row| {
            Ok(AchievementVersionRecord {
                achievement_id: col(&row, "achievement_id")?,
                version: col(&row, "version")?,
                definition: col(&row, "definition")?,
                created_at: col(&row, "created_at")?,
            })
        })
        .transpose()
    }

    pub(super) async fn achievement_by_course_code(
        &self,
        course_code: &str,
    ) -> Result<Option<AchievementRecord>, StorageError> {
        let row = sqlx::query(select_achievement!(
            "where a.achievement_id = (select achievement_id from achievement_course_code where course_code = $1)"
        ))
        .bind(course_code)
        .fetch_optional(self.read_pool())
        .await
        .map_err(db_error("looking up the course code"))?;
        row.as_ref().map(achievement_from_row).transpose()
    }

    pub(super) async fn list_achievements(&self) -> Result<Vec<AchievementRecord>, StorageError> {
        let rows = sqlx::query(select_achievement!("order by a.created_at, a.achievement_id"))
            .fetch_all(self.read_pool())
            .await
            .map_err(db_error("listing the achievements"))?;
        rows.iter().map(achievement_from_row).collect()
    }

    // ---- status lists ----------------------------------------------------

    pub(super) async fn reserve_status_slots(
        &self,
        purpose: &str,
        count: usize,
        list_size: i64,
    ) -> Result<Vec<StatusSlot>, StorageError> {
        if list_capacity(list_size) < 1 {
            return Err(invalid_argument("reserving status slots", "list_size must be at least 2"));
        }
        if count == 0 {
            return Ok(Vec::new());
        }
        self.retrying(move || self.try_reserve_status_slots(purpose, count, list_size)).await
    }

    async fn try_reserve_status_slots(
        &self,
        purpose: &str,
        count: usize,
        list_size: i64,
    ) -> Result<Vec<StatusSlot>, StorageError> {
        let now = micros(Utc::now());
        let mut tx = self.begin_write().await?;
        // The open list's row lock serialises reservations per purpose
        // across processes, which keeps its `reserved` count exact; the
        // primary key on (list, index) is what guarantees no position is
        // handed out twice.
        let open = sqlx::query(concat!(
            "select status_list_id, list_size, reserved from status_list where purpose = $1 and closed_at is null",
            for_update!()
        ))
        .bind(purpose)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error("locking the open status list"))?;
        let mut open = match open {
            Some(row) => {
                Some((col::<i64>(&row, "status_list_id")?, col::<i64>(&row, "list_size")?, col(&row, "reserved")?))
            }
            None => None,
        };

        let mut slots = Vec::with_capacity(count);
        while slots.len() < count {
            let (list_id, size, reserved) = match open {
                Some((list_id, size, reserved)) if reserved < list_capacity(size) => (list_id, size, reserved),
                Some((full, _, _)) => {
                    sqlx::query("update status_list set closed_at = $2 where status_list_id = $1")
                        .bind(full)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error("closing a full status list"))?;
                    (open_status_list(&mut tx, purpose, list_size, now).await?, list_size, 0)
                }
                None => (open_status_list(&mut tx, purpose, list_size, now).await?, list_size, 0),
            };
            let take = (count - slots.len()).min(usize::try_from(list_capacity(size) - reserved).unwrap_or(0));
            // Also counts them in the list's `reserved`.
            let positions = reserve_free_positions(&mut tx, list_id, size, reserved, take, now).await?;
            open = Some((list_id, size, reserved + positions.len() as i64));
            slots.extend(positions.into_iter().map(|index| StatusSlot { list_id, index }));
        }
        tx.commit().await.map_err(db_error("committing the status slot reservation"))?;
        // Whatever order the database returned them in, hand them out in a
        // random one: callers may use them one by one.
        shuffle(&mut slots);
        Ok(slots)
    }

    pub(super) async fn status_slots_in_use(&self, list_id: i64) -> Result<i64, StorageError> {
        sqlx::query_scalar("select count(*) from status_slot where status_list_id = $1")
            .bind(list_id)
            .fetch_one(self.read_pool())
            .await
            .map_err(db_error("counting status slots"))
    }

    // ---- awards ----------------------------------------------------------

    pub(super) async fn award(&self, award_id: &str) -> Result<Option<AwardRecord>, StorageError> {
        let row = sqlx::query(select_award!("where award_id = $1"))
            .bind(award_id)
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_error("reading the award"))?;
        row.as_ref().map(award_from_row).transpose()
    }

    pub(super) async fn award_by_source_record_id(
        &self,
        source_record_id: &str,
    ) -> Result<Option<AwardRecord>, StorageError> {
        let row = sqlx::query(select_award!("where source_record_id = $1"))
            .bind(source_record_id)
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_error("looking up the source record id"))?;
        row.as_ref().map(award_from_row).transpose()
    }

    /// The awards of those of `source_record_ids` that exist (any order).
    pub(super) async fn awards_by_source_record_ids(
        &self,
        source_record_ids: &[String],
    ) -> Result<Vec<AwardRecord>, StorageError> {
        let rows = sqlx::query(select_award!(concat!("where source_record_id", in_text_list!("$1"))))
            .bind(text_list(source_record_ids))
            .fetch_all(self.read_pool())
            .await
            .map_err(db_error("looking up source record ids"))?;
        rows.iter().map(award_from_row).collect()
    }

    pub(super) async fn credential(&self, credential_id: &str) -> Result<Option<CredentialRecord>, StorageError> {
        let row = sqlx::query(
            "select credential_id, award_id, document, jwt, issued_at, status_list_id, status_index, \
             suspension_list_id, suspension_index, supersedes from credential where credential_id = $1",
        )
        .bind(credential_id)
        .fetch_optional(self.read_pool())
        .await
        .map_err(db_error("reading the credential"))?;
        row.map(|row| {
            Ok(CredentialRecord {
                credential_id: col(&row, "credential_id")?,
                award_id: col(&row, "award_id")?,
                document: col(&row, "document")?,
                jwt: col(&row, "jwt")?,
                issued_at: col(&row, "issued_at")?,
                status: StatusSlot { list_id: col(&row, "status_list_id")?, index: col(&row, "status_index")? },
                suspension: match (col(&row, "suspension_list_id")?, col(&row, "suspension_index")?) {
                    (Some(list_id), Some(index)) => Some(StatusSlot { list_id, index }),
                    _ => None,
                },
                supersedes: col(&row, "supersedes")?,
            })
        })
        .transpose()
    }

    pub(super) async fn outbox_jobs_for_award(&self, award_id: &str) -> Result<Vec<OutboxJob>, StorageError> {
        let rows = sqlx::query(
            "select job_id, kind, award_id, state, attempts, next_attempt_at, created_at, last_attempt_at, last_error \
             from outbox_job \
             where award_id = $1 order by job_id",
        )
        .bind(award_id)
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("reading the award's outbox jobs"))?;
        rows.iter()
            .map(|row| {
                Ok(OutboxJob {
                    job_id: col(row, "job_id")?,
                    kind: col(row, "kind")?,
                    award_id: col(row, "award_id")?,
                    state: col(row, "state")?,
                    attempts: col(row, "attempts")?,
                    next_attempt_at: col(row, "next_attempt_at")?,
                    created_at: col(row, "created_at")?,
                    last_attempt_at: col(row, "last_attempt_at")?,
                    last_error: col(row, "last_error")?,
                })
            })
            .collect()
    }

    pub(super) async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StorageError> {
        use std::fmt::Write as _;
        // Only the conditions that are set, so each one can use its index
        // (a catch-all `($1 is null or award_id = $1)` would defeat
        // PostgreSQL's generic plans). The text holds placeholders only.
        let mut sql = String::from(
            "select audit_id, at, actor, action, award_id, credential_id, achievement_id, client_id, details \
             from audit_entry where true",
        );
        let mut n = 0;
        let columns = [
            ("award_id", &filter.award_id),
            ("credential_id", &filter.credential_id),
            ("achievement_id", &filter.achievement_id),
            ("client_id", &filter.client_id),
            ("action", &filter.action),
        ];
        for (column, value) in &columns {
            if value.is_some() {
                n += 1;
                let _ = write!(sql, " and {column} = ${n}");
            }
        }
        if filter.since.is_some() {
            n += 1;
            let _ = write!(sql, " and at >= ${n}");
        }
        if filter.after.is_some() {
            n += 1;
            let _ = write!(sql, " and audit_id > ${n}");
        }
        let _ = write!(sql, " order by audit_id limit ${}", n + 1);

        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (_, value) in columns {
            if let Some(value) = value {
                query = query.bind(value.as_str());
            }
        }
        if let Some(since) = filter.since {
            query = query.bind(micros(since));
        }
        if let Some(after) = filter.after {
            query = query.bind(after);
        }
        let rows = query
            .bind(filter.limit.max(0))
            .fetch_all(self.read_pool())
            .await
            .map_err(db_error("reading the audit trail"))?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    audit_id: col(row, "audit_id")?,
                    at: col(row, "at")?,
                    actor: col(row, "actor")?,
                    action: col(row, "action")?,
                    award_id: col(row, "award_id")?,
                    credential_id: col(row, "credential_id")?,
                    achievement_id: col(row, "achievement_id")?,
                    client_id: col(row, "client_id")?,
                    details: col(row, "details")?,
                })
            })
            .collect()
    }

    pub(super) async fn integrity_report(&self) -> Result<IntegrityReport, StorageError> {
        // One statement, so one snapshot on both backends.
        let row = sqlx::query(
            "select \
             (select count(*) from award) as awards, \
             (select count(*) from credential) as credentials, \
             (select count(*) from award a where not exists (select 1 from credential c \
                where c.credential_id = a.credential_id and c.award_id = a.award_id)) as awards_without_credential, \
             (select count(*) from credential c join credential_state s on s.credential_id = c.credential_id \
                where s.superseded_by is not null) as superseded_credentials, \
             (select count(*) from credential c where not exists (select 1 from award a \
                where a.award_id = c.award_id and (a.credential_id = c.credential_id or exists ( \
                    select 1 from credential_state s join credential n on n.credential_id = s.superseded_by \
                    where s.credential_id = c.credential_id and n.supersedes = c.credential_id \
                    and n.award_id = c.award_id)))) as credentials_without_award, \
             (select count(*) from award a where not exists (select 1 from outbox_job j \
                where j.award_id = a.award_id and j.kind = 'edubadges_award')) as awards_without_outbox_job, \
             (select count(*) from award a where not exists (select 1 from audit_entry e \
                where e.award_id = a.award_id and e.action = 'credential_issued')) as awards_without_audit, \
             (select count(*) from (select 1 as one from (select status_list_id as l, status_index as i from credential \
                union all select suspension_list_id, suspension_index from credential \
                where suspension_list_id is not null \
                union all select status_list_id, status_index from vc_credential where status_list_id is not null \
                union all select suspension_list_id, suspension_index from vc_credential \
                where suspension_list_id is not null) as b group by l, i having count(*) > 1) as d) \
                as status_slots_bound_twice",
        )
        .fetch_one(self.read_pool())
        .await
        .map_err(db_error("checking integrity"))?;
        Ok(IntegrityReport {
            awards: col(&row, "awards")?,
            credentials: col(&row, "credentials")?,
            superseded_credentials: col(&row, "superseded_credentials")?,
            awards_without_credential: col(&row, "awards_without_credential")?,
            credentials_without_award: col(&row, "credentials_without_award")?,
            awards_without_outbox_job: col(&row, "awards_without_outbox_job")?,
            awards_without_audit: col(&row, "awards_without_audit")?,
            status_slots_bound_twice: col(&row, "status_slots_bound_twice")?,
        })
    }
}

/// Records one award in `tx` (a write transaction just begun) and commits,
/// or rolls back and returns the existing award if its source record id is
/// taken. Each backend's `record_issued_award` wraps this.
async fn record_award_in(
    mut tx: sqlx::Transaction<'_, Db>,
    award: &NewIssuedAward,
) -> Result<IssueOutcome, StorageError> {
    let at = micros(award.issued_at);
    // The award, its credential, audit entry and outbox job; how many round
    // trips that takes is the backend's business (`write_award`).
    if write_award(&mut tx, award, at).await? {
        tx.commit().await.map_err(db_error("committing the award"))?;
        return Ok(IssueOutcome::Created);
    }
    let existing = existing_award(&mut tx, award).await?;
    tx.rollback().await.map_err(db_error("rolling back the repeated award"))?;
    Ok(existing)
}

/// What to answer when `award`'s source record id is taken: the award
/// holding it, or `Created` if that is this very award (written by an
/// earlier attempt of the same call whose answer was lost).
async fn existing_award(
    tx: &mut sqlx::Transaction<'_, Db>,
    award: &NewIssuedAward,
) -> Result<IssueOutcome, StorageError> {
    let existing = sqlx::query(select_award!("where source_record_id = $1"))
        .bind(&award.source_record_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_error("reading the existing award"))?
        .ok_or_else(|| StorageError::Corrupt("the award holding a source record id is not readable".into()))?;
    let existing = award_from_row(&existing)?;
    if existing.award_id == award.award_id && existing.credential_id == award.credential_id {
        return Ok(IssueOutcome::Created);
    }
    Ok(IssueOutcome::Existing(Box::new(existing)))
}

/// Binds an award row's nine values, in the column order of every award
/// insert: award_id, client_id, source_record_id, request_hash,
/// achievement_id, achievement_version, record, credential_id, created_at.
fn bind_award_row<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    award: &'q NewIssuedAward,
    at: DateTime<Utc>,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
    query
        .bind(&award.award_id)
        .bind(&award.client_id)
        .bind(&award.source_record_id)
        .bind(&award.request_hash)
        .bind(&award.achievement_id)
        .bind(award.achievement_version)
        .bind(&award.record)
        .bind(&award.credential_id)
        .bind(at)
}

/// The `credential_issued` audit details: where the credential points, no
/// learner data (that stays in `award.record`).
fn issued_details(award: &NewIssuedAward) -> String {
    serde_json::json!({
        "achievement_version": award.achievement_version,
        "status_list_id": award.status.list_id,
        "status_index": award.status.index,
    })
    .to_string()
}

fn slot_conflict(award: &NewIssuedAward) -> StorageError {
    StorageError::Conflict { what: "status_slot", value: format!("{}/{}", award.status.list_id, award.status.index) }
}

/// Names the unique value an award write collided with (the source record
/// id is handled by `on conflict`, so it is not among them).
fn award_unique_conflict(award: &NewIssuedAward, which: &str) -> StorageError {
    if which.contains("status") {
        slot_conflict(award)
    } else if which.contains("credential_id") || which.starts_with("credential") || which.contains("credential_pkey") {
        StorageError::Conflict { what: "credential_id", value: award.credential_id.clone() }
    } else {
        StorageError::Conflict { what: "award_id", value: award.award_id.clone() }
    }
}

/// Maps a course code to an achievement; `Conflict` if another has it.
async fn add_course_code(tx: &mut Tx, code: &str, achievement_id: &str) -> Result<(), StorageError> {
    // `on conflict do nothing` rather than catching the violation: on
    // PostgreSQL it also waits out a concurrent transaction taking the same
    // code, then reports the code as taken.
    let added = sqlx::query(
        "insert into achievement_course_code (course_code, achievement_id) values ($1, $2) \
         on conflict (course_code) do nothing",
    )
    .bind(code)
    .bind(achievement_id)
    .execute(&mut **tx)
    .await
    .map_err(db_error("mapping a course code"))?
    .rows_affected();
    if added == 0 {
        return Err(StorageError::Conflict { what: "course_code", value: code.to_owned() });
    }
    Ok(())
}

/// Opens a new list for `purpose`. A unique index allows one open list per
/// purpose; if a concurrent transaction opened one first, the whole
/// reservation is retried (and then uses that list).
async fn open_status_list(tx: &mut Tx, purpose: &str, list_size: i64, now: DateTime<Utc>) -> Result<i64, StorageError> {
    sqlx::query_scalar(
        "insert into status_list (purpose, list_size, reserved, created_at) values ($1, $2, 0, $3) \
         returning status_list_id",
    )
    .bind(purpose)
    .bind(list_size)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|error| match unique_violation(&error) {
        Some(_) => StorageError::Conflict { what: "open status list", value: purpose.to_owned() },
        None => db_error("opening a status list")(error),
    })
}

/// Reserves `take` free positions of a list, uniformly at random among the
/// free ones: draw distinct random candidates and insert, in draw order, the
/// first `take` that are free, counting them in the list's `reserved` (one
/// round trip, `INSERT_FREE`); draw again if short. Rejecting taken draws
/// keeps every free position equally likely.
async fn reserve_free_positions(
    tx: &mut Tx,
    list_id: i64,
    size: i64,
    reserved: i64,
    take: usize,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StorageError> {
    let mut chosen: Vec<i64> = Vec::with_capacity(take);
    while chosen.len() < take {
        let need = take - chosen.len();
        // Draw enough that one round usually suffices: need / free-fraction,
        // plus a margin.
        let used = reserved + chosen.len() as i64;
        let free = (size - used).max(1);
        let draws = (need as i64).saturating_mul(size).saturating_mul(5) / free.saturating_mul(4) + 8;
        let candidates = random_positions(size, usize::try_from(draws).unwrap_or(usize::MAX));
        let inserted: Vec<i64> = sqlx::query_scalar(INSERT_FREE)
            .bind(list_id)
            .bind(now)
            .bind(index_list(&candidates))
            .bind(need as i64)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_error("reserving status positions"))?;
        chosen.extend(inserted);
    }
    Ok(chosen)
}

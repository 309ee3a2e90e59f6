// Credential lifecycle storage operations (revoke, suspend, unsuspend,
// reissue, status list bits), compiled into both backend modules after
// `ops.rs` and `push_ops.rs` (see their headers for what a backend defines).
//
// Every change is set-based (one statement per table, whatever the number of
// credentials), so revoking a whole achievement version costs a handful of
// statements, not one transaction per credential. Each statement is
// conditional on the state it changes (`where revoked_at is null`, …), so
// concurrent requests cannot both "change" one credential.
//
// Format with `rustfmt --edition 2024 src/storage/lifecycle_ops.rs`.

use crate::storage::{
    CredentialSelector, CredentialState, NewReissue, StatusChange, StatusChangeOutcome, StatusChangeRequest,
    StatusListBits,
};

/// What a withdrawal job carries: why, and whether the award is sent again
/// (with its new current credential) once the old one is gone.
fn withdraw_payload(reason: &str, resend: bool) -> String {
    serde_json::json!({"reason": reason, "resend": resend}).to_string()
}

/// At most this many refusals are listed in an outcome (all are counted).
const REFUSALS_LISTED: usize = 100;

/// An award has a withdrawal waiting or running (an uncorrelated subquery:
/// one hashed set per statement, whatever the planner's statistics).
macro_rules! active_withdrawal {
    ($award:literal) => {
        concat!(
            "(",
            $award,
            " in (select w.award_id from outbox_job w where w.kind = 'edubadges_withdraw' \
             and w.state in ('pending', 'running')))"
        )
    };
}

impl This {
    /// Revokes, suspends or unsuspends the selected credentials in one
    /// transaction: their state, the audit trail, their status lists'
    /// change time and (revocation) the Edubadges withdrawals.
    pub(super) async fn change_status(
        &self,
        request: &StatusChangeRequest,
    ) -> Result<StatusChangeOutcome, StorageError> {
        let at = micros(request.at);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let targets = status_targets(&mut tx, &request.selector).await?;
            if targets.is_empty() && matches!(request.selector, CredentialSelector::One(_)) {
                return Err(StorageError::NotFound("credential"));
            }
            let mut outcome = StatusChangeOutcome { matched: targets.len() as i64, ..Default::default() };
            let mut candidates = Vec::new();
            for target in &targets {
                let refusal = match request.change {
                    StatusChange::Revoke if target.revoked => None,
                    StatusChange::Revoke => {
                        candidates.push(target.credential_id.clone());
                        continue;
                    }
                    _ if target.revoked => Some("the credential is revoked"),
                    StatusChange::Suspend if !target.can_suspend => {
                        Some("the credential has no suspension status entry (issued without one)")
                    }
                    StatusChange::Suspend if target.suspended => None,
                    StatusChange::Unsuspend if !target.suspended => None,
                    StatusChange::Suspend | StatusChange::Unsuspend => {
                        candidates.push(target.credential_id.clone());
                        continue;
                    }
                };
                match refusal {
                    None => outcome.unchanged += 1,
                    Some(why) => {
                        outcome.refused_count += 1;
                        if outcome.refused.len() < REFUSALS_LISTED {
                            outcome.refused.push((target.credential_id.clone(), why.to_owned()));
                        }
                    }
                }
            }
            let changed = apply_status_change(&mut tx, request.change, &candidates, &request.reason, at).await?;
            // A candidate another transaction changed first is simply unchanged.
            outcome.changed = changed.len() as i64;
            outcome.unchanged += (candidates.len() - changed.len()) as i64;
            if !changed.is_empty() {
                let details = serde_json::json!({"reason": request.reason}).to_string();
                audit_credentials(&mut tx, &changed, request.change.action(), &request.actor, &details, at).await?;
                touch_status_lists(&mut tx, &changed, at).await?;
                if request.change == StatusChange::Revoke {
                    let awards = current_awards(&mut tx, &changed).await?;
                    let reason = format!("credential revoked: {}", request.reason);
                    outcome.withdrawals = withdraw_awards(&mut tx, &awards, &reason, false, at).await?;
                }
            }
            tx.commit().await.map_err(db_error("committing the status change"))?;
            Ok(outcome)
        })
        .await
    }

    /// Stores a reissued credential and supersedes the award's current one,
    /// in one transaction. [`StorageError::Stale`] when the superseded
    /// credential is no longer current (reissued meanwhile) or the version's
    /// definition changed since it was read: nothing was written.
    pub(super) async fn record_reissue(&self, reissue: &NewReissue) -> Result<(), StorageError> {
        let at = micros(reissue.issued_at);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let moved = sqlx::query(
                "update award set credential_id = $3, record = $4, achievement_version = $5 \
                 where award_id = $1 and credential_id = $2 and exists (select 1 from achievement_version v \
                 where v.achievement_id = award.achievement_id and v.version = $5 and v.definition = $6)",
            )
            .bind(&reissue.award_id)
            .bind(&reissue.supersedes)
            .bind(&reissue.credential_id)
            .bind(&reissue.record)
            .bind(reissue.achievement_version)
            .bind(&reissue.definition)
            .execute(&mut *tx)
            .await
            .map_err(db_error("moving the award to its new credential"))?
            .rows_affected();
            if moved == 0 {
                let current: Option<String> = sqlx::query_scalar("select credential_id from award where award_id = $1")
                    .bind(&reissue.award_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error("reading the award"))?;
                return Err(match current {
                    None => StorageError::NotFound("award"),
                    Some(current) if current != reissue.supersedes => StorageError::Stale("credential"),
                    Some(_) => StorageError::Stale("achievement version"),
                });
            }
            sqlx::query(
                "insert into credential (credential_id, award_id, document, jwt, issued_at, status_list_id, \
                 status_index, suspension_list_id, suspension_index, supersedes) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&reissue.credential_id)
            .bind(&reissue.award_id)
            .bind(&reissue.document)
            .bind(&reissue.jwt)
            .bind(at)
            .bind(reissue.status.list_id)
            .bind(reissue.status.index)
            .bind(reissue.suspension.map(|s| s.list_id))
            .bind(reissue.suspension.map(|s| s.index))
            .bind(&reissue.supersedes)
            .execute(&mut *tx)
            .await
            .map_err(|error| match unique_violation(&error) {
                Some(which) if which.contains("supersedes") => StorageError::Stale("credential"),
                Some(which) => StorageError::Conflict { what: "status slot", value: which },
                None => db_error("inserting the reissued credential")(error),
            })?;
            let was_revoked: Option<bool> = sqlx::query_scalar(
                "select revoked_at is not null from credential_state where credential_id = $1",
            )
            .bind(&reissue.supersedes)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error("reading the superseded credential's state"))?;
            let revocation_reason = format!("superseded by {}", reissue.credential_id);
            sqlx::query(
                "insert into credential_state (credential_id, revoked_at, revocation_reason, superseded_by, updated_at) \
                 values ($1, $2, $3, $4, $2) on conflict (credential_id) do update set \
                 superseded_by = excluded.superseded_by, \
                 revoked_at = coalesce(credential_state.revoked_at, excluded.revoked_at), \
                 revocation_reason = coalesce(credential_state.revocation_reason, excluded.revocation_reason), \
                 updated_at = excluded.updated_at",
            )
            .bind(&reissue.supersedes)
            .bind(at)
            .bind(&revocation_reason)
            .bind(&reissue.credential_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error("superseding the credential"))?;
            let achievement_id: String = sqlx::query_scalar("select achievement_id from award where award_id = $1")
                .bind(&reissue.award_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error("reading the award"))?;
            let mut audit = Audit::new(at, &reissue.actor, "credential_reissued");
            audit.award_id = Some(&reissue.award_id);
            audit.credential_id = Some(&reissue.credential_id);
            audit.achievement_id = Some(&achievement_id);
            audit.details = Some(serde_json::json!({
                "supersedes": reissue.supersedes,
                "reason": reissue.reason,
                "achievement_version": reissue.achievement_version,
            }));
            audit.insert(&mut tx).await?;
            if was_revoked != Some(true) {
                let mut audit = Audit::new(at, &reissue.actor, "credential_revoked");
                audit.award_id = Some(&reissue.award_id);
                audit.credential_id = Some(&reissue.supersedes);
                audit.achievement_id = Some(&achievement_id);
                audit.details = Some(serde_json::json!({
                    "reason": revocation_reason,
                    "superseded_by": reissue.credential_id,
                }));
                audit.insert(&mut tx).await?;
                touch_status_lists(&mut tx, std::slice::from_ref(&reissue.supersedes), at).await?;
            }
            let reason = format!("credential reissued: {}", reissue.reason);
            withdraw_awards(&mut tx, std::slice::from_ref(&reissue.award_id), &reason, true, at).await?;
            tx.commit().await.map_err(db_error("committing the reissue"))?;
            Ok(())
        })
        .await
    }

    /// What happened to a credential since it was issued (`None`: nothing).
    pub(super) async fn credential_state(&self, credential_id: &str) -> Result<Option<CredentialState>, StorageError> {
        let row = sqlx::query(
            "select revoked_at, revocation_reason, suspended_at, suspension_reason, superseded_by \
             from credential_state where credential_id = $1",
        )
        .bind(credential_id)
        .fetch_optional(self.read_pool())
        .await
        .map_err(db_error("reading the credential's state"))?;
        row.map(|row| {
            Ok(CredentialState {
                revoked_at: col(&row, "revoked_at")?,
                revocation_reason: col(&row, "revocation_reason")?,
                suspended_at: col(&row, "suspended_at")?,
                suspension_reason: col(&row, "suspension_reason")?,
                superseded_by: col(&row, "superseded_by")?,
            })
        })
        .transpose()
    }

    /// A status list's set bits, read in one snapshot; `None` if no
    /// credential uses the list (nothing to publish).
    pub(super) async fn status_list_bits(&self, list_id: i64) -> Result<Option<StatusListBits>, StorageError> {
        let mut tx = self.read_pool().begin().await.map_err(db_error("reading a status list"))?;
        let Some(list) =
            sqlx::query("select purpose, list_size, changed_at from status_list where status_list_id = $1")
                .bind(list_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error("reading a status list"))?
        else {
            return Ok(None);
        };
        let used: Option<String> = sqlx::query_scalar(
            "select credential_id from credential where status_list_id = $1 or suspension_list_id = $1 \
             union all select vc_credential_id from vc_credential where status_list_id = $1 \
             union all select vc_credential_id from vc_credential where suspension_list_id = $1 limit 1",
        )
        .bind(list_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error("reading a status list"))?;
        if used.is_none() {
            return Ok(None);
        }
        let set: Vec<i64> = sqlx::query_scalar(
            "select c.status_index from credential_state s join credential c on c.credential_id = s.credential_id \
             where s.revoked_at is not null and c.status_list_id = $1 \
             union all \
             select c.suspension_index from credential_state s join credential c on c.credential_id = s.credential_id \
             where s.suspended_at is not null and c.suspension_list_id = $1 \
             union all \
             select c.status_index from vc_credential_state s join vc_credential c \
             on c.vc_credential_id = s.vc_credential_id where s.revoked_at is not null and c.status_list_id = $1 \
             union all \
             select c.suspension_index from vc_credential_state s join vc_credential c \
             on c.vc_credential_id = s.vc_credential_id where s.suspended_at is not null and c.suspension_list_id = $1",
        )
        .bind(list_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("reading a status list's bits"))?;
        tx.commit().await.map_err(db_error("reading a status list"))?;
        Ok(Some(StatusListBits {
            list_id,
            purpose: col(&list, "purpose")?,
            list_size: col(&list, "list_size")?,
            set,
            changed_at: col(&list, "changed_at")?,
        }))
    }

    /// When a status list's bits last changed: `None` if there is no such
    /// list, `Some(None)` if they never did.
    pub(super) async fn status_list_changed_at(
        &self,
        list_id: i64,
    ) -> Result<Option<Option<DateTime<Utc>>>, StorageError> {
        let row = sqlx::query("select changed_at from status_list where status_list_id = $1")
            .bind(list_id)
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_error("reading a status list"))?;
        row.map(|row| col(&row, "changed_at")).transpose()
    }

    /// The current credential of every award of an achievement version.
    pub(super) async fn current_credentials(
        &self,
        achievement_id: &str,
        version: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let rows = sqlx::query(
            "select award_id, credential_id from award where achievement_id = $1 and achievement_version = $2 \
             order by created_at, award_id",
        )
        .bind(achievement_id)
        .bind(version)
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("listing an achievement version's credentials"))?;
        rows.iter().map(|row| Ok((col(row, "award_id")?, col(row, "credential_id")?))).collect()
    }
}

/// A credential a status change may apply to, as it is now.
struct StatusTarget {
    credential_id: String,
    revoked: bool,
    suspended: bool,
    can_suspend: bool,
}

async fn status_targets(tx: &mut Tx, selector: &CredentialSelector) -> Result<Vec<StatusTarget>, StorageError> {
    macro_rules! targets {
        ($tail:literal) => {
            concat!(
                "select c.credential_id, s.revoked_at is not null as revoked, \
                 s.suspended_at is not null as suspended, c.suspension_list_id is not null as can_suspend \
                 from credential c left join credential_state s on s.credential_id = c.credential_id ",
                $tail
            )
        };
    }
    let rows = match selector {
        CredentialSelector::One(id) => {
            sqlx::query(targets!("where c.credential_id = $1")).bind(id).fetch_all(&mut **tx).await
        }
        CredentialSelector::AchievementVersion { achievement_id, version } => {
            sqlx::query(targets!(
                "join award a on a.credential_id = c.credential_id \
             where a.achievement_id = $1 and a.achievement_version = $2"
            ))
            .bind(achievement_id)
            .bind(*version)
            .fetch_all(&mut **tx)
            .await
        }
    }
    .map_err(db_error("reading the credentials to change"))?;
    rows.iter()
        .map(|row| {
            Ok(StatusTarget {
                credential_id: col(row, "credential_id")?,
                // A left join's missing row reads as null, not false.
                revoked: col::<Option<bool>>(row, "revoked")?.unwrap_or(false),
                suspended: col::<Option<bool>>(row, "suspended")?.unwrap_or(false),
                can_suspend: col(row, "can_suspend")?,
            })
        })
        .collect()
}

/// Sets or clears the bit of each credential that is not so already;
/// returns those it changed.
async fn apply_status_change(
    tx: &mut Tx,
    change: StatusChange,
    ids: &[String],
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Vec<String>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // `where true`: SQLite needs a where clause to parse an upsert after `insert … select`.
    let sql = match change {
        StatusChange::Revoke => concat!(
            "insert into credential_state (credential_id, revoked_at, revocation_reason, updated_at) \
             select c.credential_id, $2, $3, $2 from credential c where c.credential_id ",
            in_text_list!("$1"),
            " on conflict (credential_id) do update set revoked_at = excluded.revoked_at, \
             revocation_reason = excluded.revocation_reason, updated_at = excluded.updated_at \
             where credential_state.revoked_at is null returning credential_id"
        ),
        StatusChange::Suspend => concat!(
            "insert into credential_state (credential_id, suspended_at, suspension_reason, updated_at) \
             select c.credential_id, $2, $3, $2 from credential c where c.suspension_list_id is not null \
             and c.credential_id ",
            in_text_list!("$1"),
            " on conflict (credential_id) do update set suspended_at = excluded.suspended_at, \
             suspension_reason = excluded.suspension_reason, updated_at = excluded.updated_at \
             where credential_state.suspended_at is null and credential_state.revoked_at is null \
             returning credential_id"
        ),
        StatusChange::Unsuspend => concat!(
            "update credential_state set suspended_at = null, suspension_reason = null, updated_at = $2 \
             where suspended_at is not null and revoked_at is null and credential_id ",
            in_text_list!("$1"),
            " returning credential_id"
        ),
    };
    let query = sqlx::query_scalar(sql).bind(text_list(ids)).bind(at);
    // Unsuspending records no reason in the state (the audit entry has it).
    let query = if change == StatusChange::Unsuspend { query } else { query.bind(reason) };
    query.fetch_all(&mut **tx).await.map_err(db_error("changing credentials' status"))
}

/// One audit entry per credential, in one statement.
async fn audit_credentials(
    tx: &mut Tx,
    ids: &[String],
    action: &str,
    actor: &str,
    details: &str,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    sqlx::query(concat!(
        "insert into audit_entry (at, actor, action, award_id, credential_id, achievement_id, client_id, details) \
         select $2, $3, $4, c.award_id, c.credential_id, a.achievement_id, null, $5 \
         from credential c join award a on a.award_id = c.award_id where c.credential_id ",
        in_text_list!("$1"),
        " order by c.credential_id"
    ))
    .bind(text_list(ids))
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(details)
    .execute(&mut **tx)
    .await
    .map_err(db_error("writing the audit trail"))?;
    Ok(())
}

/// Notes that the credentials' status lists changed, so that every
/// instance publishes them anew.
async fn touch_status_lists(tx: &mut Tx, ids: &[String], at: DateTime<Utc>) -> Result<(), StorageError> {
    sqlx::query(concat!(
        "update status_list set changed_at = $2 where status_list_id in (\
         select status_list_id from credential where credential_id ",
        in_text_list!("$1"),
        " union select suspension_list_id from credential where suspension_list_id is not null \
         and credential_id ",
        in_text_list!("$1"),
        ")"
    ))
    .bind(text_list(ids))
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(db_error("marking status lists changed"))?;
    Ok(())
}

/// The awards whose current credential is one of `ids`.
async fn current_awards(tx: &mut Tx, ids: &[String]) -> Result<Vec<String>, StorageError> {
    sqlx::query_scalar(concat!("select award_id from award where credential_id ", in_text_list!("$1")))
        .bind(text_list(ids))
        .fetch_all(&mut **tx)
        .await
        .map_err(db_error("reading the credentials' awards"))
}

/// Takes the awards out of Edubadges (and, with `resend`, sends them again
/// with their current credential afterwards):
/// - whatever Edubadges may hold (a delivery `sending`, `sent` or
///   `claimed`, or a push running right now) gets a withdrawal job, which
///   runs once no other job of the award is running;
/// - an award Edubadges does not hold has its waiting push cancelled
///   (or, with `resend`, made due again).
///
/// Returns how many awards now wait for a withdrawal.
async fn withdraw_awards(
    tx: &mut Tx,
    award_ids: &[String],
    reason: &str,
    resend: bool,
    at: DateTime<Utc>,
) -> Result<i64, StorageError> {
    if award_ids.is_empty() {
        return Ok(0);
    }
    let payload = withdraw_payload(reason, resend);
    // A withdrawal already waiting takes on the latest intent.
    sqlx::query(concat!(
        "update outbox_job set payload = $2 where kind = 'edubadges_withdraw' and state in ('pending', 'running') \
         and award_id ",
        in_text_list!("$1")
    ))
    .bind(text_list(award_ids))
    .bind(&payload)
    .execute(&mut **tx)
    .await
    .map_err(db_error("updating a withdrawal"))?;
    sqlx::query(concat!(
        "insert into outbox_job (kind, award_id, state, attempts, next_attempt_at, created_at, payload) \
         select 'edubadges_withdraw', a.award_id, 'pending', 0, $2, $2, $3 from award a where a.award_id ",
        in_text_list!("$1"),
        " and (exists (select 1 from edubadges_delivery d where d.award_id = a.award_id \
         and d.state in ('sending', 'sent', 'claimed')) \
         or exists (select 1 from outbox_job r where r.award_id = a.award_id and r.kind = 'edubadges_award' \
         and r.state = 'running')) and not ",
        active_withdrawal!("a.award_id"),
        " on conflict do nothing"
    ))
    .bind(text_list(award_ids))
    .bind(at)
    .bind(&payload)
    .execute(&mut **tx)
    .await
    .map_err(db_error("queueing withdrawals"))?;
    // The withdrawal decides what Edubadges holds; a claim check would race it.
    sqlx::query(concat!(
        "update outbox_job set state = 'done', lease_until = null, \
         last_error = 'not needed: the award is being withdrawn' \
         where kind = 'edubadges_claim' and state in ('pending', 'failed') and award_id ",
        in_text_list!("$1"),
        " and ",
        active_withdrawal!("outbox_job.award_id")
    ))
    .bind(text_list(award_ids))
    .execute(&mut **tx)
    .await
    .map_err(db_error("cancelling claim checks"))?;
    let withdrawing = sqlx::query(concat!(
        "update award set push_state = 'withdrawing' where award_id ",
        in_text_list!("$1"),
        " and ",
        active_withdrawal!("award.award_id")
    ))
    .bind(text_list(award_ids))
    .execute(&mut **tx)
    .await
    .map_err(db_error("marking awards as being withdrawn"))?
    .rows_affected();
    after_withdrawal(tx, award_ids, resend, at).await?;
    Ok(withdrawing as i64)
}

/// For awards Edubadges no longer holds (and that wait for no withdrawal):
/// cancels their push, or with `resend` makes it due again from a clean
/// ledger, so the current credential is sent.
async fn after_withdrawal(
    tx: &mut Tx,
    award_ids: &[String],
    resend: bool,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    // (statement, whether it takes `at` as $2, what it does)
    let statements: &[(&str, bool, &'static str)] = if resend {
        &[
            (
                concat!(
                    "update edubadges_delivery set state = 'unsent', bundle_id = null, direct_award_id = null, \
                     assertion_id = null, sent_at = null, claimed_at = null, updated_at = $2 \
                     where state = 'withdrawn' and award_id ",
                    in_text_list!("$1"),
                    " and not ",
                    active_withdrawal!("edubadges_delivery.award_id")
                ),
                true,
                "clearing withdrawn deliveries",
            ),
            (
                concat!(
                    "update outbox_job set state = 'pending', attempts = 0, next_attempt_at = $2, last_error = null, \
                     lease_until = null where kind = 'edubadges_award' and state in ('done', 'failed') \
                     and award_id ",
                    in_text_list!("$1"),
                    " and not ",
                    active_withdrawal!("outbox_job.award_id")
                ),
                true,
                "queueing the push again",
            ),
            (
                concat!(
                    "update award set push_state = 'pending' where award_id ",
                    in_text_list!("$1"),
                    " and not ",
                    active_withdrawal!("award.award_id")
                ),
                false,
                "setting push states",
            ),
        ]
    } else {
        &[
            (
                concat!(
                    "update outbox_job set state = 'done', lease_until = null, \
                     last_error = 'cancelled: the credential was revoked' \
                     where kind in ('edubadges_award', 'edubadges_claim') and state in ('pending', 'failed') \
                     and award_id ",
                    in_text_list!("$1"),
                    " and not ",
                    active_withdrawal!("outbox_job.award_id")
                ),
                false,
                "cancelling pushes",
            ),
            (
                concat!(
                    "update award set push_state = 'withdrawn' where award_id ",
                    in_text_list!("$1"),
                    " and not ",
                    active_withdrawal!("award.award_id")
                ),
                false,
                "setting push states",
            ),
        ]
    };
    for &(sql, takes_at, context) in statements {
        let query = sqlx::query(sql).bind(text_list(award_ids));
        let query = if takes_at { query.bind(at) } else { query };
        query.execute(&mut **tx).await.map_err(db_error(context))?;
    }
    Ok(())
}

// The push worker's storage operations, compiled into both backend modules
// after `ops.rs` (see its header). Besides what `ops.rs` needs, a backend
// defines `fn text_list(&[String]) -> TextList` (an array parameter), the
// macro `in_text_list!("$n")` (" <is one of> that parameter", put after a
// column) and
// `skip_locked!()` (PostgreSQL: rows another instance has claimed are passed
// over; empty on SQLite, whose write transactions are serialised).
//
// Format with `rustfmt --edition 2024 src/storage/push_ops.rs`.

use crate::storage::{ClaimedJob, Delivery, JobOutcome, JobResult, PushItem, PushStatus, RetryOutcome, SendingMark};

/// Who the audit trail names for what the worker does.
const PUSH_ACTOR: &str = "edubadges push";

macro_rules! delivery_columns {
    () => {
        "d.award_id as d_award_id, d.badgeclass as d_badgeclass, d.identifier_type as d_identifier_type, \
         d.recipient as d_recipient, d.state as d_state, d.bundle_id as d_bundle_id, \
         d.direct_award_id as d_direct_award_id, d.assertion_id as d_assertion_id, d.sent_at as d_sent_at, \
         d.claimed_at as d_claimed_at, d.updated_at as d_updated_at"
    };
}

macro_rules! push_status_select {
    ($tail:expr) => {
        concat!(
            "select a.award_id, a.source_record_id, a.credential_id, a.push_state, a.created_at, \
             j.state as job_state, j.attempts, j.last_error, j.last_attempt_at, j.next_attempt_at, ",
            delivery_columns!(),
            " from award a left join outbox_job j on j.award_id = a.award_id and j.kind = 'edubadges_award' \
             left join edubadges_delivery d on d.award_id = a.award_id ",
            $tail
        )
    };
}

fn delivery_from_row(row: &DbRow) -> Result<Option<Delivery>, StorageError> {
    let Some(award_id) = col::<Option<String>>(row, "d_award_id")? else { return Ok(None) };
    Ok(Some(Delivery {
        award_id,
        badgeclass: col(row, "d_badgeclass")?,
        identifier_type: col(row, "d_identifier_type")?,
        recipient: col(row, "d_recipient")?,
        state: col(row, "d_state")?,
        bundle_id: col(row, "d_bundle_id")?,
        direct_award_id: col(row, "d_direct_award_id")?,
        assertion_id: col(row, "d_assertion_id")?,
        sent_at: col(row, "d_sent_at")?,
        claimed_at: col(row, "d_claimed_at")?,
        updated_at: col(row, "d_updated_at")?,
    }))
}

fn push_status_from_row(row: &DbRow) -> Result<PushStatus, StorageError> {
    let job_state: Option<String> = col(row, "job_state")?;
    let next_attempt_at: Option<DateTime<Utc>> = col(row, "next_attempt_at")?;
    Ok(PushStatus {
        award_id: col(row, "award_id")?,
        source_record_id: col(row, "source_record_id")?,
        credential_id: col(row, "credential_id")?,
        state: col(row, "push_state")?,
        attempts: col::<Option<i64>>(row, "attempts")?.unwrap_or(0),
        last_error: col(row, "last_error")?,
        last_attempt_at: col(row, "last_attempt_at")?,
        // Only a waiting job has a next attempt.
        next_attempt_at: next_attempt_at.filter(|_| job_state.as_deref() == Some("pending")),
        delivery: delivery_from_row(row)?,
        created_at: col(row, "created_at")?,
    })
}

impl This {
    /// Takes up to `limit` due jobs (pending and due, or running with an
    /// expired lease) for this worker until `lease_until`, counting an
    /// attempt for each. On PostgreSQL jobs claimed by another instance are
    /// skipped, never waited for or taken twice.
    pub(super) async fn claim_jobs(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StorageError> {
        let (now, lease_until) = (micros(now), micros(lease_until));
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(concat!(
                "update outbox_job set state = 'running', lease_until = $2, attempts = attempts + 1, \
                 last_attempt_at = $1 where job_id in (select j.job_id from outbox_job j \
                 where ((j.state = 'pending' and j.next_attempt_at <= $1) \
                 or (j.state = 'running' and j.lease_until <= $1)) \
                 and (j.kind <> 'edubadges_withdraw' or not exists (select 1 from outbox_job r \
                 where r.award_id = j.award_id and r.job_id <> j.job_id and r.state = 'running' \
                 and r.lease_until > $1)) \
                 and (j.kind <> 'edubadges_award' or not exists (select 1 from outbox_job w \
                 where w.award_id = j.award_id and w.kind = 'edubadges_withdraw' \
                 and w.state in ('pending', 'running'))) \
                 order by j.next_attempt_at, j.job_id limit $3",
                skip_locked!(),
                ") returning job_id, kind, award_id, attempts, payload"
            ))
            .bind(now)
            .bind(lease_until)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error("claiming outbox jobs"))?;
            tx.commit().await.map_err(db_error("committing the claim"))?;
            let mut jobs = rows
                .iter()
                .map(|row| {
                    Ok(ClaimedJob {
                        job_id: col(row, "job_id")?,
                        kind: col(row, "kind")?,
                        award_id: col(row, "award_id")?,
                        attempts: col(row, "attempts")?,
                        lease_until,
                        payload: col(row, "payload")?,
                    })
                })
                .collect::<Result<Vec<_>, StorageError>>()?;
            jobs.sort_by_key(|job| job.job_id);
            Ok(jobs)
        })
        .await
    }

    /// The awards' records, badge classes and deliveries.
    pub(super) async fn push_items(&self, award_ids: &[String]) -> Result<Vec<PushItem>, StorageError> {
        let rows = sqlx::query(concat!(
            "select a.award_id, a.credential_id, a.record, a.created_at, h.edubadges_badgeclass, \
             exists (select 1 from credential_state s where s.credential_id = a.credential_id \
             and s.revoked_at is not null) as revoked, ",
            delivery_columns!(),
            " from award a join achievement h on h.achievement_id = a.achievement_id \
             left join edubadges_delivery d on d.award_id = a.award_id where a.award_id ",
            in_text_list!("$1")
        ))
        .bind(text_list(award_ids))
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("reading awards to push"))?;
        rows.iter()
            .map(|row| {
                Ok(PushItem {
                    award_id: col(row, "award_id")?,
                    credential_id: col(row, "credential_id")?,
                    record: col(row, "record")?,
                    badgeclass: col(row, "edubadges_badgeclass")?,
                    created_at: col(row, "created_at")?,
                    delivery: delivery_from_row(row)?,
                    revoked: col(row, "revoked")?,
                })
            })
            .collect()
    }

    /// Direct award ids the ledger already gives to awards, by badge class.
    pub(super) async fn known_direct_awards(
        &self,
        badgeclasses: &[String],
    ) -> Result<Vec<(String, String)>, StorageError> {
        let rows = sqlx::query(concat!(
            "select direct_award_id, award_id from edubadges_delivery \
             where direct_award_id is not null and badgeclass ",
            in_text_list!("$1")
        ))
        .bind(text_list(badgeclasses))
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("reading known direct awards"))?;
        rows.iter().map(|row| Ok((col(row, "direct_award_id")?, col(row, "award_id")?))).collect()
    }

    /// Writes each delivery as `sending`, for jobs still leased to the
    /// caller, and commits: after this a lost answer is known to be in
    /// doubt. Returns the award ids marked (a job whose lease was lost is
    /// left out and must not be sent).
    pub(super) async fn mark_sending(
        &self,
        marks: &[(ClaimedJob, SendingMark)],
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StorageError> {
        let at = micros(at);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let mut marked = Vec::with_capacity(marks.len());
            for (job, mark) in marks {
                if !still_leased(&mut tx, job).await? {
                    continue;
                }
                sqlx::query(
                    "insert into edubadges_delivery (award_id, badgeclass, identifier_type, recipient, state, \
                     updated_at) values ($1, $2, $3, $4, 'sending', $5) on conflict (award_id) do update set \
                     badgeclass = excluded.badgeclass, identifier_type = excluded.identifier_type, \
                     recipient = excluded.recipient, state = 'sending', updated_at = excluded.updated_at \
                     where edubadges_delivery.state in ('unsent', 'sending')",
                )
                .bind(&mark.award_id)
                .bind(&mark.badgeclass)
                .bind(&mark.identifier_type)
                .bind(&mark.recipient)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_error("marking a delivery as being sent"))?;
                marked.push(mark.award_id.clone());
            }
            tx.commit().await.map_err(db_error("committing the deliveries being sent"))?;
            Ok(marked)
        })
        .await
    }

    /// Records the outcomes in one transaction. An outcome whose job is no
    /// longer leased with its token (another worker took it over) is
    /// skipped; returns how many were recorded.
    pub(super) async fn finish_jobs(&self, outcomes: &[JobOutcome], at: DateTime<Utc>) -> Result<usize, StorageError> {
        let at = micros(at);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let mut recorded = 0;
            for outcome in outcomes {
                if finish_job(&mut tx, outcome, at).await? {
                    recorded += 1;
                }
            }
            tx.commit().await.map_err(db_error("committing push outcomes"))?;
            Ok(recorded)
        })
        .await
    }

    pub(super) async fn push_status(&self, award_id: &str) -> Result<Option<PushStatus>, StorageError> {
        sqlx::query(push_status_select!("where a.award_id = $1"))
            .bind(award_id)
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_error("reading the push status"))?
            .as_ref()
            .map(push_status_from_row)
            .transpose()
    }

    /// Awards in push state `state` (all if `None`), oldest first, after the
    /// award `after` (created at, award id) in that order.
    pub(super) async fn push_list(
        &self,
        state: Option<&str>,
        after: Option<(DateTime<Utc>, String)>,
        limit: i64,
    ) -> Result<Vec<PushStatus>, StorageError> {
        let (after_at, after_id) = match after {
            Some((at, id)) => (Some(micros(at)), Some(id)),
            None => (None, None),
        };
        let rows = sqlx::query(push_status_select!(
            "where ($1 is null or a.push_state = $1) and ($2 is null or a.created_at > $2 \
             or (a.created_at = $2 and a.award_id > $3)) order by a.created_at, a.award_id limit $4"
        ))
        .bind(state)
        .bind(after_at)
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("listing push states"))?;
        rows.iter().map(push_status_from_row).collect()
    }

    /// How many awards are in each push state.
    pub(super) async fn push_counts(&self) -> Result<Vec<(String, i64)>, StorageError> {
        let rows = sqlx::query("select push_state, count(*) as n from award group by push_state order by push_state")
            .fetch_all(self.read_pool())
            .await
            .map_err(db_error("counting push states"))?;
        rows.iter().map(|row| Ok((col(row, "push_state")?, col(row, "n")?))).collect()
    }

    /// Makes an award's push due now (an administrator's retry).
    pub(super) async fn retry_push(
        &self,
        award_id: &str,
        at: DateTime<Utc>,
        actor: &str,
    ) -> Result<RetryOutcome, StorageError> {
        let at = micros(at);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let state: Option<String> = sqlx::query_scalar(concat!(
                "select state from outbox_job where award_id = $1 and kind = 'edubadges_award'",
                for_update!()
            ))
            .bind(award_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error("reading the push job"))?;
            // A failed withdrawal is what needs the retry, if there is one.
            let withdrawal = sqlx::query(
                "update outbox_job set state = 'pending', next_attempt_at = $2, lease_until = null \
                 where award_id = $1 and kind = 'edubadges_withdraw' and state = 'failed' \
                 and job_id = (select max(job_id) from outbox_job where award_id = $1 and kind = 'edubadges_withdraw') \
                 and not exists (select 1 from outbox_job o where o.award_id = $1 and o.kind = 'edubadges_withdraw' \
                 and o.state in ('pending', 'running'))",
            )
            .bind(award_id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_error("queueing the withdrawal again"))?
            .rows_affected();
            if withdrawal > 0 {
                sqlx::query("update award set push_state = 'withdrawing' where award_id = $1")
                    .bind(award_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error("setting the push state"))?;
                let mut audit = Audit::new(at, actor, "push_retried");
                audit.award_id = Some(award_id);
                audit.details = Some(serde_json::json!({"job": "edubadges_withdraw"}));
                audit.insert(&mut tx).await?;
                tx.commit().await.map_err(db_error("committing the retry"))?;
                return Ok(RetryOutcome::Queued);
            }
            let outcome = match state.as_deref() {
                None => return Err(StorageError::NotFound("award")),
                Some("running") => RetryOutcome::Running,
                Some("done") => RetryOutcome::Delivered,
                Some(_) => {
                    sqlx::query(
                        "update outbox_job set state = 'pending', next_attempt_at = $2, lease_until = null \
                         where award_id = $1 and kind = 'edubadges_award'",
                    )
                    .bind(award_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error("queueing the push again"))?;
                    set_push_state(&mut tx, award_id, "pending").await?;
                    let mut audit = Audit::new(at, actor, "push_retried");
                    audit.award_id = Some(award_id);
                    audit.insert(&mut tx).await?;
                    RetryOutcome::Queued
                }
            };
            tx.commit().await.map_err(db_error("committing the retry"))?;
            Ok(outcome)
        })
        .await
    }
}

/// Whether `job` is still running under the caller's lease.
async fn still_leased(tx: &mut Tx, job: &ClaimedJob) -> Result<bool, StorageError> {
    let found: Option<i64> = sqlx::query_scalar(concat!(
        "select job_id from outbox_job where job_id = $1 and state = 'running' and lease_until = $2",
        for_update!()
    ))
    .bind(job.job_id)
    .bind(job.lease_until)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error("checking a job's lease"))?;
    Ok(found.is_some())
}

/// Sets an award's push state, unless a withdrawal is under way: then only
/// the withdrawal decides what the award's state becomes.
async fn set_push_state(tx: &mut Tx, award_id: &str, state: &str) -> Result<(), StorageError> {
    sqlx::query("update award set push_state = $2 where award_id = $1 and push_state <> 'withdrawing'")
        .bind(award_id)
        .bind(state)
        .execute(&mut **tx)
        .await
        .map_err(db_error("setting the push state"))?;
    Ok(())
}

/// Ends the job (`done` or `failed`) or puts it back (`pending` at `next`).
async fn settle_job(
    tx: &mut Tx,
    job: &ClaimedJob,
    state: &str,
    next: Option<DateTime<Utc>>,
    error: Option<&str>,
) -> Result<(), StorageError> {
    sqlx::query(
        "update outbox_job set state = $2, next_attempt_at = coalesce($3, next_attempt_at), last_error = $4, \
         lease_until = null where job_id = $1",
    )
    .bind(job.job_id)
    .bind(state)
    .bind(next.map(micros))
    .bind(error)
    .execute(&mut **tx)
    .await
    .map_err(db_error("settling an outbox job"))?;
    Ok(())
}

async fn set_delivery(
    tx: &mut Tx,
    award_id: &str,
    state: &str,
    bundle_id: Option<&str>,
    direct_award_id: Option<&str>,
    assertion_id: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    sqlx::query(
        "update edubadges_delivery set state = $2, bundle_id = coalesce($3, bundle_id), \
         direct_award_id = coalesce($4, direct_award_id), assertion_id = coalesce($5, assertion_id), \
         sent_at = case when $2 = 'sent' then coalesce(sent_at, $6) else sent_at end, \
         claimed_at = case when $2 = 'claimed' then $6 else claimed_at end, updated_at = $6 where award_id = $1",
    )
    .bind(award_id)
    .bind(state)
    .bind(bundle_id)
    .bind(direct_award_id)
    .bind(assertion_id)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(db_error("updating a delivery"))?;
    Ok(())
}

/// A delivery that was about to be sent and definitely was not.
async fn unsend(tx: &mut Tx, award_id: &str, at: DateTime<Utc>) -> Result<(), StorageError> {
    sqlx::query(
        "update edubadges_delivery set state = 'unsent', updated_at = $2 where award_id = $1 and state = 'sending'",
    )
    .bind(award_id)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(db_error("updating a delivery"))?;
    Ok(())
}

/// Records one outcome; false if the job is no longer the caller's.
async fn finish_job(tx: &mut Tx, outcome: &JobOutcome, at: DateTime<Utc>) -> Result<bool, StorageError> {
    let job = &outcome.job;
    if !still_leased(tx, job).await? {
        return Ok(false);
    }
    let award_id = job.award_id.as_str();
    let audit = |action: &'static str, details: serde_json::Value| {
        let mut entry = Audit::new(at, PUSH_ACTOR, action);
        entry.award_id = Some(award_id);
        entry.details = Some(details);
        entry
    };
    let is_withdrawal = job.kind == "edubadges_withdraw";
    match &outcome.result {
        JobResult::Retracted { note } => {
            settle_job(tx, job, "done", None, None).await?;
            set_delivery(tx, award_id, "withdrawn", None, None, None, at).await?;
            // Read now: a reissue may have changed the intent while the job ran.
            let payload: Option<String> = sqlx::query_scalar("select payload from outbox_job where job_id = $1")
                .bind(job.job_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_error("reading a withdrawal"))?;
            let resend = payload
                .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
                .and_then(|p| p.get("resend").and_then(serde_json::Value::as_bool))
                .unwrap_or(false);
            after_withdrawal(tx, std::slice::from_ref(&job.award_id), resend, at).await?;
            audit("edubadges_withdrawn", serde_json::json!({"note": note, "sent_again": resend})).insert(tx).await?;
        }
        JobResult::Cancelled { note } => {
            settle_job(tx, job, "done", None, Some(note)).await?;
        }
        JobResult::Failed { error } if is_withdrawal => {
            settle_job(tx, job, "failed", None, Some(error)).await?;
            sqlx::query("update award set push_state = 'failed' where award_id = $1")
                .bind(award_id)
                .execute(&mut **tx)
                .await
                .map_err(db_error("setting the push state"))?;
            audit("withdraw_failed", serde_json::json!({"error": error})).insert(tx).await?;
        }
        JobResult::NotSent { retry_at, error } if is_withdrawal => {
            // Unlike a create, a withdrawal leaves the ledger as it was.
            settle_job(tx, job, "pending", Some(*retry_at), Some(error)).await?;
        }
        JobResult::Sent { bundle_id, direct_award_id, note, check_at } => {
            settle_job(tx, job, "done", None, None).await?;
            let state: Option<String> = sqlx::query_scalar("select state from edubadges_delivery where award_id = $1")
                .bind(award_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_error("reading a delivery"))?;
            if state.as_deref() != Some("sending") {
                return Err(StorageError::Corrupt(format!(
                    "award {award_id} was reported sent without being marked as sending"
                )));
            }
            set_delivery(tx, award_id, "sent", bundle_id.as_deref(), direct_award_id.as_deref(), None, at).await?;
            set_push_state(tx, award_id, "sent").await?;
            sqlx::query(
                "insert into outbox_job (kind, award_id, state, attempts, next_attempt_at, created_at) \
                 values ('edubadges_claim', $1, 'pending', 0, $2, $3)",
            )
            .bind(award_id)
            .bind(micros(*check_at))
            .bind(at)
            .execute(&mut **tx)
            .await
            .map_err(db_error("queueing the claim check"))?;
            audit(
                "pushed",
                serde_json::json!({"bundle_id": bundle_id, "direct_award_id": direct_award_id, "note": note}),
            )
            .insert(tx)
            .await?;
        }
        JobResult::NotSent { retry_at, error } => {
            settle_job(tx, job, "pending", Some(*retry_at), Some(error)).await?;
            unsend(tx, award_id, at).await?;
        }
        JobResult::InDoubt { retry_at, error } => {
            settle_job(tx, job, "pending", Some(*retry_at), Some(error)).await?;
        }
        JobResult::Failed { error } => {
            settle_job(tx, job, "failed", None, Some(error)).await?;
            unsend(tx, award_id, at).await?;
            set_push_state(tx, award_id, "failed").await?;
            audit("push_failed", serde_json::json!({"error": error})).insert(tx).await?;
        }
        JobResult::Claimed { direct_award_id, assertion_id } => {
            settle_job(tx, job, "done", None, None).await?;
            set_delivery(tx, award_id, "claimed", None, direct_award_id.as_deref(), assertion_id.as_deref(), at)
                .await?;
            set_push_state(tx, award_id, "claimed").await?;
            audit("claimed", serde_json::json!({"assertion_id": assertion_id})).insert(tx).await?;
        }
        JobResult::Unclaimed { direct_award_id, check_at, error } => {
            settle_job(tx, job, "pending", Some(*check_at), error.as_deref()).await?;
            if direct_award_id.is_some() {
                set_delivery(tx, award_id, "sent", None, direct_award_id.as_deref(), None, at).await?;
            }
        }
        JobResult::Withdrawn { reason } => {
            settle_job(tx, job, "done", None, Some(reason)).await?;
            set_delivery(tx, award_id, "withdrawn", None, None, None, at).await?;
            set_push_state(tx, award_id, "withdrawn").await?;
            audit("push_withdrawn", serde_json::json!({"reason": reason})).insert(tx).await?;
        }
    }
    Ok(true)
}

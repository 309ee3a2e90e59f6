// Storage of credentials issued through the W3C VC-API (`vc_credential`,
// `vc_credential_state`, migration 0006), compiled into both backend modules
// after `lifecycle_ops.rs` (see `ops.rs` for what a backend defines).
//
// One transaction per use case: issuing writes the credential and its audit
// entry; a status change writes the state of every credential issued under
// the id, one audit entry each, and the status lists' change time.
//
// Format with `rustfmt --edition 2024 src/storage/vcapi_ops.rs`.

use crate::storage::{NewVcCredential, VcCredentialRecord, VcStatusChangeRequest};

impl This {
    /// Stores a credential issued through the VC-API and its audit entry,
    /// in one transaction.
    pub(super) async fn record_vc_credential(&self, credential: &NewVcCredential) -> Result<(), StorageError> {
        let at = micros(credential.issued_at);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "insert into vc_credential (vc_credential_id, credential_id, client_id, document, issued_at, \
                 status_list_id, status_index, suspension_list_id, suspension_index) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&credential.vc_credential_id)
            .bind(&credential.credential_id)
            .bind(&credential.client_id)
            .bind(&credential.document)
            .bind(at)
            .bind(credential.status.map(|s| s.list_id))
            .bind(credential.status.map(|s| s.index))
            .bind(credential.suspension.map(|s| s.list_id))
            .bind(credential.suspension.map(|s| s.index))
            .execute(&mut *tx)
            .await
            .map_err(|error| match unique_violation(&error) {
                Some(which) => StorageError::Conflict { what: "status slot", value: which },
                None => db_error("inserting the VC-API credential")(error),
            })?;
            let mut audit = Audit::new(at, &credential.actor, "vc_credential_issued");
            audit.credential_id = credential.credential_id.as_deref();
            audit.client_id = Some(&credential.client_id);
            audit.details = Some(serde_json::json!({
                "vc_credential_id": credential.vc_credential_id,
                "type": credential.types,
                "status_entries": usize::from(credential.status.is_some()) + usize::from(credential.suspension.is_some()),
            }));
            audit.insert(&mut tx).await?;
            tx.commit().await.map_err(db_error("committing the VC-API credential"))?;
            Ok(())
        })
        .await
    }

    /// The credentials issued through the VC-API under `credential_id`
    /// (usually one), oldest first, with their state.
    pub(super) async fn vc_credentials(&self, credential_id: &str) -> Result<Vec<VcCredentialRecord>, StorageError> {
        let rows = sqlx::query(
            "select c.vc_credential_id, c.credential_id, c.client_id, c.document, c.issued_at, \
             c.status_list_id, c.status_index, c.suspension_list_id, c.suspension_index, \
             s.revoked_at, s.revocation_reason, s.suspended_at, s.suspension_reason \
             from vc_credential c left join vc_credential_state s on s.vc_credential_id = c.vc_credential_id \
             where c.credential_id = $1 order by c.issued_at, c.vc_credential_id",
        )
        .bind(credential_id)
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("reading VC-API credentials"))?;
        rows.iter().map(vc_credential_from_row).collect()
    }

    /// Revokes, suspends or unsuspends every credential issued through the
    /// VC-API under one id, in one transaction: their state, one audit entry
    /// each, and their status lists' change time. Repeats change nothing;
    /// what cannot take the change (suspending a revoked credential, or one
    /// without a suspension entry) is refused and counted.
    pub(super) async fn change_vc_status(
        &self,
        request: &VcStatusChangeRequest,
    ) -> Result<StatusChangeOutcome, StorageError> {
        let at = micros(request.at);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(
                "select c.vc_credential_id, c.status_list_id, c.suspension_list_id, \
                 s.revoked_at is not null as revoked, s.suspended_at is not null as suspended \
                 from vc_credential c left join vc_credential_state s on s.vc_credential_id = c.vc_credential_id \
                 where c.credential_id = $1 order by c.issued_at, c.vc_credential_id",
            )
            .bind(&request.credential_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error("reading the credentials to change"))?;
            if rows.is_empty() {
                return Err(StorageError::NotFound("credential"));
            }
            let mut outcome = StatusChangeOutcome { matched: rows.len() as i64, ..Default::default() };
            let mut lists: Vec<i64> = Vec::new();
            for row in &rows {
                let id: String = col(row, "vc_credential_id")?;
                let revocation_list: Option<i64> = col(row, "status_list_id")?;
                let suspension_list: Option<i64> = col(row, "suspension_list_id")?;
                // A left join's missing row reads as null, not false.
                let revoked = col::<Option<bool>>(row, "revoked")?.unwrap_or(false);
                let suspended = col::<Option<bool>>(row, "suspended")?.unwrap_or(false);
                let refusal = match request.change {
                    StatusChange::Revoke if revocation_list.is_none() => {
                        Some("the credential was issued without a revocation status entry")
                    }
                    StatusChange::Revoke if revoked => None,
                    _ if revoked => Some("the credential is revoked, which is final"),
                    StatusChange::Suspend | StatusChange::Unsuspend if suspension_list.is_none() => {
                        Some("the credential was issued without a suspension status entry")
                    }
                    StatusChange::Suspend if suspended => None,
                    StatusChange::Unsuspend if !suspended => None,
                    StatusChange::Revoke | StatusChange::Suspend | StatusChange::Unsuspend => {
                        if apply_vc_change(&mut tx, &id, request, at).await? {
                            outcome.changed += 1;
                            let list = match request.change {
                                StatusChange::Revoke => revocation_list,
                                _ => suspension_list,
                            };
                            lists.extend(list);
                            let mut audit = Audit::new(at, &request.actor, vc_action(request.change));
                            audit.credential_id = Some(&request.credential_id);
                            audit.details = Some(serde_json::json!({
                                "vc_credential_id": id,
                                "reason": request.reason,
                            }));
                            audit.insert(&mut tx).await?;
                        } else {
                            outcome.unchanged += 1;
                        }
                        continue;
                    }
                };
                match refusal {
                    None => outcome.unchanged += 1,
                    Some(why) => {
                        outcome.refused_count += 1;
                        outcome.refused.push((id, why.to_owned()));
                    }
                }
            }
            lists.sort_unstable();
            lists.dedup();
            for list in lists {
                sqlx::query("update status_list set changed_at = $2 where status_list_id = $1")
                    .bind(list)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error("marking status lists changed"))?;
            }
            tx.commit().await.map_err(db_error("committing the status change"))?;
            Ok(outcome)
        })
        .await
    }
}

/// The audit action of a VC-API credential's status change.
fn vc_action(change: StatusChange) -> &'static str {
    match change {
        StatusChange::Revoke => "vc_credential_revoked",
        StatusChange::Suspend => "vc_credential_suspended",
        StatusChange::Unsuspend => "vc_credential_unsuspended",
    }
}

/// Sets or clears one credential's bit, conditionally on its state; false
/// when another transaction did so first.
async fn apply_vc_change(
    tx: &mut Tx,
    vc_credential_id: &str,
    request: &VcStatusChangeRequest,
    at: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let query = match request.change {
        StatusChange::Revoke => sqlx::query(
            "insert into vc_credential_state (vc_credential_id, revoked_at, revocation_reason, updated_at) \
             values ($1, $2, $3, $2) on conflict (vc_credential_id) do update set \
             revoked_at = excluded.revoked_at, revocation_reason = excluded.revocation_reason, \
             updated_at = excluded.updated_at where vc_credential_state.revoked_at is null",
        )
        .bind(vc_credential_id)
        .bind(at)
        .bind(&request.reason),
        StatusChange::Suspend => sqlx::query(
            "insert into vc_credential_state (vc_credential_id, suspended_at, suspension_reason, updated_at) \
             values ($1, $2, $3, $2) on conflict (vc_credential_id) do update set \
             suspended_at = excluded.suspended_at, suspension_reason = excluded.suspension_reason, \
             updated_at = excluded.updated_at \
             where vc_credential_state.suspended_at is null and vc_credential_state.revoked_at is null",
        )
        .bind(vc_credential_id)
        .bind(at)
        .bind(&request.reason),
        StatusChange::Unsuspend => sqlx::query(
            "update vc_credential_state set suspended_at = null, suspension_reason = null, updated_at = $2 \
             where vc_credential_id = $1 and suspended_at is not null and revoked_at is null",
        )
        .bind(vc_credential_id)
        .bind(at),
    };
    let changed = query.execute(&mut **tx).await.map_err(db_error("changing a credential's status"))?.rows_affected();
    Ok(changed > 0)
}

fn vc_credential_from_row(row: &DbRow) -> Result<VcCredentialRecord, StorageError> {
    let slot = |list: &str, index: &str| -> Result<Option<StatusSlot>, StorageError> {
        let list: Option<i64> = col(row, list)?;
        let index: Option<i64> = col(row, index)?;
        Ok(list.zip(index).map(|(list_id, index)| StatusSlot { list_id, index }))
    };
    Ok(VcCredentialRecord {
        vc_credential_id: col(row, "vc_credential_id")?,
        credential_id: col(row, "credential_id")?,
        client_id: col(row, "client_id")?,
        document: col(row, "document")?,
        issued_at: col(row, "issued_at")?,
        status: slot("status_list_id", "status_index")?,
        suspension: slot("suspension_list_id", "suspension_index")?,
        revoked_at: col(row, "revoked_at")?,
        revocation_reason: col(row, "revocation_reason")?,
        suspended_at: col(row, "suspended_at")?,
        suspension_reason: col(row, "suspension_reason")?,
    })
}

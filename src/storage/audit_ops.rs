// Audit entries of changes made outside the database (signing keys),
// compiled into both backend modules after `ops.rs` (see its header).
//
// Format with `rustfmt --edition 2024 src/storage/audit_ops.rs`.

use crate::storage::KeyChange;

impl This {
    pub(super) async fn record_key_change(&self, change: &KeyChange) -> Result<i64, StorageError> {
        self.retrying(move || async move {
            let mut tx = self.begin_write().await?;
            let mut audit = Audit::new(change.at, &change.actor, change.action.as_str());
            audit.details = Some(change.details.clone());
            let id = audit.insert(&mut tx).await?;
            tx.commit().await.map_err(db_error("committing the key change"))?;
            Ok(id)
        })
        .await
    }
}

// Import jobs (`POST /api/v1/imports`, `zegel import`), compiled into both
// backend modules after `ops.rs` (see its header). A job is claimed under a
// lease like an outbox job; each chunk's row outcomes and counts are written
// in one transaction that also renews the lease, and only while the caller
// still holds it, so a job resumed elsewhere is never recorded twice.
//
// Format with `rustfmt --edition 2024 src/storage/import_ops.rs`.

use crate::storage::{ClaimedImport, ImportCounts, ImportRecord, ImportRowRecord, NewImport};

const IMPORT_COLUMNS: &str = "import_id, seq, client_id, format, filename, achievement_id, eppn_rule, dry_run, state, \
     total_rows, rows_done, created, existing, refused, skipped, would_create, error, attempts, created_at, \
     started_at, finished_at";

fn import_record(row: &DbRow) -> Result<ImportRecord, StorageError> {
    Ok(ImportRecord {
        import_id: col(row, "import_id")?,
        seq: col(row, "seq")?,
        client_id: col(row, "client_id")?,
        format: col(row, "format")?,
        filename: col(row, "filename")?,
        achievement_id: col(row, "achievement_id")?,
        eppn_rule: col(row, "eppn_rule")?,
        dry_run: col(row, "dry_run")?,
        state: col(row, "state")?,
        total_rows: col(row, "total_rows")?,
        rows_done: col(row, "rows_done")?,
        counts: ImportCounts {
            created: col(row, "created")?,
            existing: col(row, "existing")?,
            refused: col(row, "refused")?,
            skipped: col(row, "skipped")?,
            would_create: col(row, "would_create")?,
        },
        error: col(row, "error")?,
        attempts: col(row, "attempts")?,
        created_at: col(row, "created_at")?,
        started_at: col(row, "started_at")?,
        finished_at: col(row, "finished_at")?,
    })
}

impl This {
    pub(super) async fn create_import(&self, job: &NewImport) -> Result<(), StorageError> {
        self.retrying(move || async move {
            let mut tx = self.begin_write().await?;
            let (seq_column, seq_value) = import_seq!();
            let insert = format!(
                "insert into import_job (import_id, client_id, format, filename, achievement_id, eppn_rule, \
                 dry_run, state, total_rows, source, created_at, lease_until, attempts, started_at{seq_column}) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14{seq_value})"
            );
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .bind(&job.import_id)
                .bind(&job.client_id)
                .bind(&job.format)
                .bind(&job.filename)
                .bind(&job.achievement_id)
                .bind(&job.eppn_rule)
                .bind(job.dry_run)
                .bind(if job.lease_until.is_some() { "running" } else { "queued" })
                .bind(job.total_rows)
                .bind(&job.source)
                .bind(micros(job.created_at))
                .bind(job.lease_until.map(micros))
                .bind(i64::from(job.lease_until.is_some()))
                .bind(job.lease_until.map(|_| micros(job.created_at)))
                .execute(&mut *tx)
                .await
                .map_err(|e| match unique_violation(&e) {
                    Some(_) => StorageError::Conflict { what: "import_id", value: job.import_id.clone() },
                    None => db_error("storing the import job")(e),
                })?;
            let mut audit = Audit::new(job.created_at, &job.actor, "import_queued");
            audit.client_id = Some(&job.client_id);
            audit.details = Some(serde_json::json!({
                "import_id": job.import_id, "format": job.format, "rows": job.total_rows, "dry_run": job.dry_run,
            }));
            audit.insert(&mut tx).await?;
            tx.commit().await.map_err(db_error("committing the import job"))?;
            Ok(())
        })
        .await
    }

    /// The oldest queued job, or a running one whose lease ran out (its
    /// instance stopped), leased until `lease_until`; `only` restricts it to
    /// one job.
    pub(super) async fn claim_import(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        only: Option<&str>,
    ) -> Result<Option<ClaimedImport>, StorageError> {
        let (now, lease_until) = (micros(now), micros(lease_until));
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "update import_job set state = 'running', lease_until = $2, attempts = attempts + 1, \
                 started_at = coalesce(started_at, $1) where import_id = (select j.import_id from import_job j \
                 where (j.state = 'queued' or (j.state = 'running' and j.lease_until <= $1)) \
                 and ($3 is null or j.import_id = $3) order by j.created_at, j.import_id limit 1{}) \
                 returning {IMPORT_COLUMNS}, source",
                skip_locked!()
            )))
            .bind(now)
            .bind(lease_until)
            .bind(only)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error("claiming an import job"))?;
            tx.commit().await.map_err(db_error("committing the import claim"))?;
            row.map(|row| Ok(ClaimedImport { job: import_record(&row)?, source: col(&row, "source")?, lease_until }))
                .transpose()
        })
        .await
    }

    /// Writes a chunk's row outcomes, adds them to the counts and renews
    /// the lease, in one transaction. False (and nothing written) when the
    /// caller no longer holds the job.
    pub(super) async fn record_import_rows(
        &self,
        import_id: &str,
        lease: DateTime<Utc>,
        renewed: DateTime<Utc>,
        rows: &[ImportRowRecord],
    ) -> Result<bool, StorageError> {
        let (lease, renewed) = (micros(lease), micros(renewed));
        let mut counts = ImportCounts::default();
        for row in rows {
            counts.add(&row.result);
        }
        let counts = &counts;
        self.retrying(move || async move {
            let mut tx = self.begin_write().await?;
            let held = sqlx::query(
                "update import_job set lease_until = $3, rows_done = rows_done + $4, created = created + $5, \
                 existing = existing + $6, refused = refused + $7, skipped = skipped + $8, \
                 would_create = would_create + $9 where import_id = $1 and state = 'running' and lease_until = $2",
            )
            .bind(import_id)
            .bind(lease)
            .bind(renewed)
            .bind(rows.len() as i64)
            .bind(counts.created)
            .bind(counts.existing)
            .bind(counts.refused)
            .bind(counts.skipped)
            .bind(counts.would_create)
            .execute(&mut *tx)
            .await
            .map_err(db_error("updating the import job"))?
            .rows_affected()
                == 1;
            if !held {
                return Ok(false);
            }
            // Rows in statements of 50: SQLite looks bound parameters up by a
            // linear scan, so a statement of thousands costs quadratic time.
            for part in rows.chunks(50) {
                let mut sql = String::from(
                    "insert into import_row (import_id, row_index, place, record_id, result, award_id, problems) values ",
                );
                for i in 0..part.len() {
                    let p = i * 6 + 2;
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("($1, ${p}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5));
                }
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(import_id);
                for row in part {
                    query = query
                        .bind(row.row_index)
                        .bind(&row.place)
                        .bind(&row.record_id)
                        .bind(&row.result)
                        .bind(&row.award_id)
                        .bind(&row.problems);
                }
                query.execute(&mut *tx).await.map_err(db_error("writing import rows"))?;
            }
            tx.commit().await.map_err(db_error("committing import rows"))?;
            Ok(true)
        })
        .await
    }

    /// Ends a job (`done` or `failed` with the reason) while the caller
    /// holds it, with its audit entry. False when it no longer does.
    pub(super) async fn finish_import(
        &self,
        import_id: &str,
        lease: DateTime<Utc>,
        failure: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let (lease, at) = (micros(lease), micros(at));
        self.retrying(move || async move {
            let mut tx = self.begin_write().await?;
            let row = sqlx::query(
                "update import_job set state = $3, error = $4, finished_at = $5, lease_until = null \
                 where import_id = $1 and state = 'running' and lease_until = $2 \
                 returning client_id, rows_done, created, existing, refused, skipped, would_create",
            )
            .bind(import_id)
            .bind(lease)
            .bind(if failure.is_some() { "failed" } else { "done" })
            .bind(failure)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error("finishing the import job"))?;
            let Some(row) = row else { return Ok(false) };
            let client_id: String = col(&row, "client_id")?;
            let mut audit = Audit::new(at, "zegel", if failure.is_some() { "import_failed" } else { "import_done" });
            audit.client_id = Some(&client_id);
            audit.details = Some(serde_json::json!({
                "import_id": import_id,
                "rows": col::<i64>(&row, "rows_done")?,
                "created": col::<i64>(&row, "created")?,
                "existing": col::<i64>(&row, "existing")?,
                "refused": col::<i64>(&row, "refused")?,
                "skipped": col::<i64>(&row, "skipped")?,
                "would_create": col::<i64>(&row, "would_create")?,
                "error": failure,
            }));
            audit.insert(&mut tx).await?;
            tx.commit().await.map_err(db_error("committing the finished import"))?;
            Ok(true)
        })
        .await
    }

    pub(super) async fn import(&self, import_id: &str) -> Result<Option<ImportRecord>, StorageError> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("select {IMPORT_COLUMNS} from import_job where import_id = $1")))
                .bind(import_id)
                .fetch_optional(self.read_pool())
                .await
                .map_err(db_error("reading the import job"))?;
        row.map(|row| import_record(&row)).transpose()
    }

    pub(super) async fn import_source(&self, import_id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row = sqlx::query("select source from import_job where import_id = $1")
            .bind(import_id)
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_error("reading the imported file"))?;
        row.map(|row| col(&row, "source")).transpose()
    }

    /// Newest first, made before the job numbered `before`.
    pub(super) async fn list_imports(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ImportRecord>, StorageError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {IMPORT_COLUMNS} from import_job where seq < $1 order by seq desc limit $2"
        )))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("listing import jobs"))?;
        rows.iter().map(import_record).collect()
    }

    /// A job's row outcomes in file order, after `after` (a row index),
    /// only those of `result` when given.
    pub(super) async fn import_rows(
        &self,
        import_id: &str,
        result: Option<&str>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ImportRowRecord>, StorageError> {
        let rows = sqlx::query(
            "select row_index, place, record_id, result, award_id, problems from import_row \
             where import_id = $1 and ($2 is null or result = $2) and row_index > $3 \
             order by row_index limit $4",
        )
        .bind(import_id)
        .bind(result)
        .bind(after.unwrap_or(-1))
        .bind(limit)
        .fetch_all(self.read_pool())
        .await
        .map_err(db_error("reading import rows"))?;
        rows.iter()
            .map(|row| {
                Ok(ImportRowRecord {
                    row_index: col(row, "row_index")?,
                    place: col(row, "place")?,
                    record_id: col(row, "record_id")?,
                    result: col(row, "result")?,
                    award_id: col(row, "award_id")?,
                    problems: col(row, "problems")?,
                })
            })
            .collect()
    }
}

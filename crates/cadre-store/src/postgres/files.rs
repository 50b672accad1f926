//! [`FileStore`] on PostgreSQL: the SQL for the files code blocks write. A
//! transaction-scoped advisory lock per run serialises the per-run limit check with the
//! write it guards, without locking the run's row (which the event writer updates).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgStore;
use crate::StoreError;
use crate::effects::to_u64;
use crate::files::{FileStore, NewRunFile, PutFile, RunFileRecord};
use crate::rows::{self, IntoRecord, found_record, into_records};

type RunFileRow = rows::RunFileRow<DateTime<Utc>>;
type RunFileContentRow = rows::RunFileContentRow<DateTime<Utc>>;

const FILE_COLUMNS: &str = "run_id, path, size_bytes, content_type, sha256, created_at";

/// The advisory-lock key space of run files (the per-owner claim lock uses 7).
const RUN_FILES_LOCK: i64 = 11;

impl PgStore {
    /// `NotFound { what: "run" }` unless `owner` has run `run_id`.
    async fn owned_run(&self, owner: Uuid, run_id: Uuid) -> Result<(), StoreError> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM runs WHERE id = $1 AND owner = $2")
                .bind(run_id)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?;
        found
            .map(|_| ())
            .ok_or(StoreError::NotFound { what: "run" })
    }
}

#[async_trait]
impl FileStore for PgStore {
    async fn put_run_file(
        &self,
        file: NewRunFile,
        max_run_bytes: u64,
    ) -> Result<PutFile, StoreError> {
        let (size, sha256) = file.prepare()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, $2))")
            .bind(file.run_id)
            .bind(RUN_FILES_LOCK)
            .execute(&mut *tx)
            .await?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM runs WHERE id = $1")
            .bind(file.run_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: "run" });
        }
        let used: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size_bytes), 0)::bigint FROM run_files \
             WHERE run_id = $1 AND path <> $2",
        )
        .bind(file.run_id)
        .bind(&file.path)
        .fetch_one(&mut *tx)
        .await?;
        let used = to_u64(used)?;
        if used.saturating_add(to_u64(size)?) > max_run_bytes {
            return Ok(PutFile::OverRunLimit { used });
        }
        let row: RunFileRow = sqlx::query_as(&format!(
            "INSERT INTO run_files (run_id, path, size_bytes, content_type, sha256, content, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, now()) \
             ON CONFLICT (run_id, path) DO UPDATE SET size_bytes = excluded.size_bytes, \
               content_type = excluded.content_type, sha256 = excluded.sha256, \
               content = excluded.content, created_at = excluded.created_at \
             RETURNING {FILE_COLUMNS}"
        ))
        .bind(file.run_id)
        .bind(&file.path)
        .bind(size)
        .bind(&file.content_type)
        .bind(&sha256)
        .bind(&file.content)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PutFile::Stored(row.into_record()?))
    }

    async fn list_run_files(
        &self,
        owner: Uuid,
        run_id: Uuid,
    ) -> Result<Vec<RunFileRecord>, StoreError> {
        self.owned_run(owner, run_id).await?;
        let rows: Vec<RunFileRow> = sqlx::query_as(&format!(
            "SELECT {FILE_COLUMNS} FROM run_files WHERE run_id = $1 ORDER BY path COLLATE \"C\""
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        into_records(rows)
    }

    async fn get_run_file(
        &self,
        owner: Uuid,
        run_id: Uuid,
        path: &str,
    ) -> Result<(RunFileRecord, Vec<u8>), StoreError> {
        let row: Option<RunFileContentRow> = sqlx::query_as(&format!(
            "SELECT {FILE_COLUMNS}, content FROM run_files \
             WHERE run_id = $1 AND path = $2 \
               AND EXISTS (SELECT 1 FROM runs WHERE runs.id = $1 AND runs.owner = $3)"
        ))
        .bind(run_id)
        .bind(path)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        if row.is_none() {
            self.owned_run(owner, run_id).await?;
        }
        found_record(row, "file")
    }
}

//! [`FileStore`] on SQLite: the SQL for the files code blocks write. Writes go through
//! the single writer connection, which also serialises the per-run limit check with the
//! write it guards.

use async_trait::async_trait;
use uuid::Uuid;

use super::{SqliteStore, micros};
use crate::StoreError;
use crate::effects::to_u64;
use crate::files::{FileStore, NewRunFile, PutFile, RunFileRecord};
use crate::model::now_micros;
use crate::rows::{self, found_record, into_records};

type RunFileRow = rows::RunFileRow<i64>;
type RunFileContentRow = rows::RunFileContentRow<i64>;

const FILE_COLUMNS: &str = "run_id, path, size_bytes, content_type, sha256, created_at";

impl SqliteStore {
    /// `NotFound { what: "run" }` unless `owner` has run `run_id`.
    async fn owned_run(&self, owner: Uuid, run_id: Uuid) -> Result<(), StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM runs WHERE id = ?1 AND owner = ?2")
                .bind(run_id)
                .bind(owner)
                .fetch_optional(&self.reader)
                .await?;
        found
            .map(|_| ())
            .ok_or(StoreError::NotFound { what: "run" })
    }
}

#[async_trait]
impl FileStore for SqliteStore {
    async fn put_run_file(
        &self,
        file: NewRunFile,
        max_run_bytes: u64,
    ) -> Result<PutFile, StoreError> {
        let (size, sha256) = file.prepare()?;
        let created_at = now_micros();
        let mut tx = self.writer.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM runs WHERE id = ?1")
            .bind(file.run_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: "run" });
        }
        let used: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size_bytes), 0) FROM run_files WHERE run_id = ?1 AND path <> ?2",
        )
        .bind(file.run_id)
        .bind(&file.path)
        .fetch_one(&mut *tx)
        .await?;
        let used = to_u64(used)?;
        if used.saturating_add(to_u64(size)?) > max_run_bytes {
            return Ok(PutFile::OverRunLimit { used });
        }
        sqlx::query(
            "INSERT INTO run_files (run_id, path, size_bytes, content_type, sha256, content, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (run_id, path) DO UPDATE SET size_bytes = excluded.size_bytes, \
               content_type = excluded.content_type, sha256 = excluded.sha256, \
               content = excluded.content, created_at = excluded.created_at",
        )
        .bind(file.run_id)
        .bind(&file.path)
        .bind(size)
        .bind(&file.content_type)
        .bind(&sha256)
        .bind(&file.content)
        .bind(micros(created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PutFile::Stored(RunFileRecord {
            run_id: file.run_id,
            path: file.path,
            size_bytes: to_u64(size)?,
            content_type: file.content_type,
            sha256,
            created_at,
        }))
    }

    async fn list_run_files(
        &self,
        owner: Uuid,
        run_id: Uuid,
    ) -> Result<Vec<RunFileRecord>, StoreError> {
        self.owned_run(owner, run_id).await?;
        let rows: Vec<RunFileRow> = sqlx::query_as(&format!(
            "SELECT {FILE_COLUMNS} FROM run_files WHERE run_id = ?1 ORDER BY path"
        ))
        .bind(run_id)
        .fetch_all(&self.reader)
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
             WHERE run_id = ?1 AND path = ?2 \
               AND EXISTS (SELECT 1 FROM runs WHERE runs.id = ?1 AND runs.owner = ?3)"
        ))
        .bind(run_id)
        .bind(path)
        .bind(owner)
        .fetch_optional(&self.reader)
        .await?;
        if row.is_none() {
            self.owned_run(owner, run_id).await?;
        }
        found_record(row, "file")
    }
}

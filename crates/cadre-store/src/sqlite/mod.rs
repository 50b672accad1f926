//! Owns the SQLite backend: connection setup (WAL, busy timeout, foreign keys) and its
//! SQL; its rows are decoded by `crate::rows`. All writes go through a single-connection
//! writer pool, so SQLite's one-writer rule never surfaces as `SQLITE_BUSY` inside this
//! process; reads use a separate pool that WAL lets run beside the writer (an in-memory
//! database has one connection for both). Timestamps are stored as microseconds since
//! the epoch, ids as 16-byte UUID blobs; leases are measured on this process's clock.

mod accounts;
pub mod backup;
mod files;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::query::QueryAs;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use cadre_core::{ResumeState, RunEvent, RunStatus, TeamSpec, UsageTotals};

use crate::accounts::ensured_email;
use crate::effects::{
    INSERT_CHUNK, PreparedBatch, ResumeBuilder, cancelled_events, input_refusal, number_history,
    prepare_batch, prepare_batches, seq_mismatch, sum_usage, to_i64, to_u64, worker_lost_events,
};
use crate::error::found;
use crate::model::{
    Cancellation, Claims, EventBatch, HeldJob, NewRun, PoolStats, QueueStats, RunQuery, RunRecord,
    TeamRecord, lease_micros, now_micros,
};
use crate::page::{BindPage, Page, list_page};
use crate::rows::{self, IntoRecord, RunStateRow, UsageRow, found_record, held_job, into_records};
use crate::{ConnectOptions, MAX_CLAIM, MAX_EVENTS_PAGE, Store, StoreError, redact_url};

/// Rows as SQLite stores them: timestamps in microseconds, counters as `INTEGER`.
type RunRow = rows::RunRow<i64>;
type TeamRow = rows::TeamRow<i64>;
type EventRow = rows::EventRow<i64>;
type ClaimRow = rows::ClaimRow<i64>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const RUN_COLUMNS: &str = "id, owner, task, request, status, team, summary, error_code, \
    error_message, prompt_tokens, completion_tokens, cost_usd, calls, last_seq, \
    cancel_requested, created_at, updated_at, started_at, finished_at";

const TEAM_COLUMNS: &str = "id, owner, name, spec, created_at, updated_at";

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

impl<'q, O> BindPage for QueryAs<'q, Sqlite, O, SqliteArguments<'q>> {
    fn bind_page(self, page: &Page) -> Self {
        self.bind(page.after.map(|c| micros(c.created_at)))
            .bind(page.after.map(|c| c.id))
            .bind(page.fetch())
    }
}

/// Whether a connection going back to the pool may be used again: only if sqlx believes
/// it is outside any transaction, as it must be between uses.
///
/// Why this is needed: on some errors (`SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_NOMEM`)
/// SQLite rolls the whole transaction back by itself. sqlx does not notice: the
/// `ROLLBACK` it then sends fails ("no transaction is active"), so its nesting count stays
/// at 1, its next `begin` sends `SAVEPOINT` instead of `BEGIN`, and a later rollback to
/// that savepoint leaves a transaction open that nothing ever commits. Every write after
/// that "succeeds" inside it, invisible to readers and lost when the process stops (seen
/// with a full disk). A connection whose count is off is closed instead (which rolls back
/// nothing that was reported as stored) and the pool opens a fresh one.
async fn still_in_step(connection: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    // The rollback of a dropped transaction is queued to the connection's thread; a
    // round trip through it makes sure it has run before the count is read.
    connection.ping().await?;
    Ok(!connection.is_in_transaction())
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`). Does not migrate: call [`Store::migrate`] or use
    /// [`crate::connect`].
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::Invalid(format!("invalid SQLite URL {}", redact_url(url))))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .journal_mode(if memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            // WAL + NORMAL: commits survive a process crash (kill -9); only a power loss
            // can drop the last transactions.
            .synchronous(SqliteSynchronous::Normal);
        let unavailable = |error: sqlx::Error| match StoreError::from(error) {
            StoreError::Internal(message) | StoreError::Unavailable(message) => {
                StoreError::Unavailable(format!("SQLite {}: {message}", redact_url(url)))
            }
            other => other,
        };
        // An in-memory database exists per connection: one connection, kept forever.
        let writer = SqlitePoolOptions::new()
            .after_release(|connection, _| Box::pin(still_in_step(connection)))
            .max_connections(1)
            .min_connections(if memory { 1 } else { 0 })
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(unavailable)?;
        let reader = if memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .after_release(|connection, _| Box::pin(still_in_step(connection)))
                .max_connections(options.max_connections.clamp(1, 8))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect.read_only(true))
                .await
                .map_err(unavailable)?
        };
        Ok(Self { writer, reader })
    }

    /// One claim under a per-owner limit: the oldest claimable job whose owner is below
    /// it. No job: one was retired instead; `None`: nothing claimable.
    async fn claim_one(
        &self,
        worker_id: &str,
        lease: i64,
        max_running_per_owner: Option<u32>,
    ) -> Result<Option<Claims>, StoreError> {
        let now = micros(now_micros());
        let mut tx = self.writer.begin().await?;
        let row: Option<ClaimRow> = sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
               idle_attempts = CASE WHEN (SELECT r.last_seq FROM runs r WHERE r.id = jobs.run_id) \
                 > progress_seq THEN 1 ELSE idle_attempts + 1 END, \
               progress_seq = (SELECT r.last_seq FROM runs r WHERE r.id = jobs.run_id), \
               worker = ?1, lease_until = ?2 + ?3, updated_at = ?2 \
             WHERE id = (SELECT j.id FROM jobs j \
               WHERE (j.state = 'queued' OR (j.state = 'running' AND j.lease_until < ?2)) \
                 AND (?4 IS NULL OR (j.idle_attempts >= j.max_attempts \
                      AND (SELECT r.last_seq FROM runs r WHERE r.id = j.run_id) <= j.progress_seq) \
                      OR (SELECT COUNT(*) FROM jobs r WHERE r.owner = j.owner \
                          AND r.state = 'running' AND r.lease_until >= ?2) < ?4) \
               ORDER BY j.created_at, j.id LIMIT 1) \
             RETURNING id, run_id, owner, attempts, idle_attempts, max_attempts",
        )
        .bind(worker_id)
        .bind(now)
        .bind(lease)
        .bind(max_running_per_owner.map(i64::from))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let claims = keep_or_retire(&mut tx, vec![row], now).await?;
        tx.commit().await?;
        Ok(Some(claims))
    }

    /// Claims up to `want` of the oldest claimable jobs in one statement. `None`:
    /// nothing claimable.
    async fn claim_batch(
        &self,
        worker_id: &str,
        lease: i64,
        want: usize,
    ) -> Result<Option<Claims>, StoreError> {
        let now = micros(now_micros());
        let mut tx = self.writer.begin().await?;
        let rows: Vec<ClaimRow> = sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, \
               idle_attempts = CASE WHEN (SELECT r.last_seq FROM runs r WHERE r.id = jobs.run_id) \
                 > progress_seq THEN 1 ELSE idle_attempts + 1 END, \
               progress_seq = (SELECT r.last_seq FROM runs r WHERE r.id = jobs.run_id), \
               worker = ?1, lease_until = ?2 + ?3, updated_at = ?2 \
             WHERE id IN (SELECT j.id FROM jobs j \
               WHERE j.state = 'queued' OR (j.state = 'running' AND j.lease_until < ?2) \
               ORDER BY j.created_at, j.id LIMIT ?4) \
             RETURNING id, run_id, owner, attempts, idle_attempts, max_attempts",
        )
        .bind(worker_id)
        .bind(now)
        .bind(lease)
        .bind(i64::try_from(want).unwrap_or(1))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let claims = keep_or_retire(&mut tx, rows, now).await?;
        tx.commit().await?;
        Ok(Some(claims))
    }

    async fn fetch_run(
        &self,
        conn: &mut SqliteConnection,
        id: Uuid,
        owner: Option<Uuid>,
    ) -> Result<RunRecord, StoreError> {
        let row: Option<RunRow> = sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1 AND (?2 IS NULL OR owner = ?2)"
        ))
        .bind(id)
        .bind(owner)
        .fetch_optional(&mut *conn)
        .await?;
        found_record(row, "run")
    }

    async fn fetch_team(&self, owner: Uuid, id: Uuid) -> Result<TeamRecord, StoreError> {
        let row: Option<TeamRow> = sqlx::query_as(&format!(
            "SELECT {TEAM_COLUMNS} FROM teams WHERE id = ?1 AND owner = ?2"
        ))
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.reader)
        .await?;
        found_record(row, "team")
    }

    /// Runs `update` (`?1` the job, `?2` the worker, `?3` now) on a job if `worker_id`
    /// still holds it; whether it did.
    async fn update_held_job(
        &self,
        update: &str,
        job_id: Uuid,
        worker_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(update)
            .bind(job_id)
            .bind(worker_id)
            .bind(micros(now_micros()))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Appends a validated batch inside the caller's transaction.
/// Inserts a run (queued) and its job.
async fn insert_run(
    conn: &mut SqliteConnection,
    id: Uuid,
    run: &NewRun,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO runs (id, owner, task, request, status, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5)",
    )
    .bind(id)
    .bind(run.owner)
    .bind(&run.task)
    .bind(serde_json::to_string(&run.request)?)
    .bind(micros(now))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::missing_user)?;
    sqlx::query(
        "INSERT INTO jobs (id, run_id, owner, state, attempts, max_attempts, created_at, \
         updated_at) VALUES (?1, ?2, ?3, 'queued', 0, ?4, ?5, ?5)",
    )
    .bind(Uuid::new_v4())
    .bind(id)
    .bind(run.owner)
    .bind(i64::from(run.max_attempts))
    .bind(micros(now))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::missing_user)?;
    Ok(())
}

async fn append_in(
    conn: &mut SqliteConnection,
    run_id: Uuid,
    events: &[RunEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let batch = prepare_batch(run_id, events)?;
    write_prepared(conn, &batch).await?
}

/// Writes one prepared batch. `Ok(Err(_))`: the run's stored last seq did not match (or
/// the run is gone) and nothing was written; `Err(_)`: the statement failed.
async fn write_prepared(
    conn: &mut SqliteConnection,
    batch: &PreparedBatch,
) -> Result<Result<(), StoreError>, StoreError> {
    let now = micros(now_micros());
    let usage = batch.usage;
    // The guard on last_seq makes the write fail (0 rows) on a gap or a race.
    let updated = sqlx::query(
        "UPDATE runs SET last_seq = ?3, updated_at = ?4, \
           status = COALESCE(?5, status), \
           started_at = CASE WHEN ?6 THEN COALESCE(started_at, ?4) ELSE started_at END, \
           finished_at = CASE WHEN ?7 THEN COALESCE(finished_at, ?4) ELSE finished_at END, \
           team = COALESCE(?8, team), summary = COALESCE(?9, summary), \
           prompt_tokens = COALESCE(?10, prompt_tokens), \
           completion_tokens = COALESCE(?11, completion_tokens), \
           cost_usd = COALESCE(?12, cost_usd), calls = COALESCE(?13, calls), \
           error_code = COALESCE(?14, error_code), error_message = COALESCE(?15, error_message) \
         WHERE id = ?1 AND last_seq = ?2",
    )
    .bind(batch.run_id)
    .bind(batch.expected_last)
    .bind(batch.new_last)
    .bind(now)
    .bind(batch.status)
    .bind(batch.started)
    .bind(batch.terminal)
    .bind(batch.team.as_deref())
    .bind(batch.summary.as_deref())
    .bind(usage.map(|u| u.0))
    .bind(usage.map(|u| u.1))
    .bind(usage.map(|u| u.2))
    .bind(usage.map(|u| u.3))
    .bind(batch.error_code.as_deref())
    .bind(batch.error_message.as_deref())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() != 1 {
        let stored: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM runs WHERE id = ?1")
            .bind(batch.run_id)
            .fetch_optional(&mut *conn)
            .await?;
        return Ok(Err(match stored {
            Some(stored) => seq_mismatch(to_u64(stored)?, batch.first_seq),
            None => StoreError::NotFound { what: "run" },
        }));
    }
    for chunk in batch.events.chunks(INSERT_CHUNK) {
        let mut insert: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO events (run_id, seq, type, at, data) ");
        insert.push_values(chunk, |mut row, event| {
            row.push_bind(batch.run_id)
                .push_bind(event.seq)
                .push_bind(event.kind)
                .push_bind(micros(event.at))
                .push_bind(event.data.as_str());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(Ok(()))
}

/// Sorts claimed job rows: those to run are returned; those out of attempts (or whose
/// run a worker finished before dying) are retired here, failing the run if it is not
/// over.
async fn keep_or_retire(
    conn: &mut SqliteConnection,
    rows: Vec<ClaimRow>,
    now: i64,
) -> Result<Claims, StoreError> {
    let mut claims = Claims {
        jobs: Vec::with_capacity(rows.len()),
        ended: Vec::new(),
    };
    for claim in into_records(rows)? {
        let run: RunStateRow = sqlx::query_as("SELECT status, last_seq FROM runs WHERE id = ?1")
            .bind(claim.job.run_id)
            .fetch_one(&mut *conn)
            .await?;
        let run = run.into_record()?;
        if claim.runnable(run.terminal) {
            claims.jobs.push(claim.job);
            continue;
        }
        let job = claim.job;
        sqlx::query(
            "UPDATE jobs SET state = 'done', attempts = attempts - 1, worker = NULL, \
             lease_until = NULL, updated_at = ?2 WHERE id = ?1",
        )
        .bind(job.job_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if !run.terminal {
            let usage = usage_of(&mut *conn, job.run_id).await?;
            let events = worker_lost_events(job.run_id, run.last_seq, claim.max_attempts, usage);
            append_in(&mut *conn, job.run_id, &events).await?;
            claims.ended.extend(events);
        }
    }
    Ok(claims)
}

async fn usage_of(conn: &mut SqliteConnection, run_id: Uuid) -> Result<UsageTotals, StoreError> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT data FROM events WHERE run_id = ?1 AND type = 'usage'")
            .bind(run_id)
            .fetch_all(&mut *conn)
            .await?;
    sum_usage(rows.iter().map(String::as_str))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        // A running job out of its lease is claimable again: it counts as waiting, since
        // its created_at.
        let (queued, running, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT \
               count(*) FILTER (WHERE state = 'queued' OR lease_until < ?1), \
               count(*) FILTER (WHERE state = 'running' AND lease_until >= ?1), \
               min(created_at) FILTER (WHERE state = 'queued' OR lease_until < ?1) \
             FROM jobs WHERE state <> 'done'",
        )
        .bind(micros(now_micros()))
        .fetch_one(&self.reader)
        .await?;
        Ok(QueueStats {
            queued: to_u64(queued)?,
            running: to_u64(running)?,
            oldest_queued_at: oldest.and_then(DateTime::from_timestamp_micros),
        })
    }

    fn pool_stats(&self) -> PoolStats {
        [&self.writer, &self.reader]
            .into_iter()
            .fold(PoolStats::default(), |total, pool| PoolStats {
                open: total.open + pool.size(),
                idle: total.idle + pool.num_idle() as u32,
                max: total.max + pool.options().get_max_connections(),
            })
    }

    async fn ensure_user(&self, email: &str) -> Result<Uuid, StoreError> {
        let email = ensured_email(email)?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO users (id, email, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id",
        )
        .bind(Uuid::new_v4())
        .bind(email)
        .bind(micros(now_micros()))
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    async fn create_team(&self, owner: Uuid, spec: &TeamSpec) -> Result<TeamRecord, StoreError> {
        let record = TeamRecord::new(owner, spec);
        sqlx::query(
            "INSERT INTO teams (id, owner, name, spec, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )
        .bind(record.id)
        .bind(owner)
        .bind(&record.name)
        .bind(serde_json::to_string(spec)?)
        .bind(micros(record.created_at))
        .execute(&self.writer)
        .await
        .map_err(StoreError::missing_user)?;
        Ok(record)
    }

    async fn get_team(&self, owner: Uuid, id: Uuid) -> Result<TeamRecord, StoreError> {
        self.fetch_team(owner, id).await
    }

    async fn list_teams(
        &self,
        owner: Uuid,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<TeamRecord>, Option<String>), StoreError> {
        let sql = format!(
            "SELECT {TEAM_COLUMNS} FROM teams WHERE owner = ?1 \
             AND (?2 IS NULL OR (created_at, id) < (?2, ?3)) \
             ORDER BY created_at DESC, id DESC LIMIT ?4"
        );
        let select = sqlx::query_as::<_, TeamRow>(&sql).bind(owner);
        list_page(select, &self.reader, limit, cursor).await
    }

    async fn update_team(
        &self,
        owner: Uuid,
        id: Uuid,
        spec: &TeamSpec,
    ) -> Result<TeamRecord, StoreError> {
        let row: Option<TeamRow> = sqlx::query_as(&format!(
            "UPDATE teams SET name = ?3, spec = ?4, updated_at = ?5 \
             WHERE id = ?1 AND owner = ?2 RETURNING {TEAM_COLUMNS}"
        ))
        .bind(id)
        .bind(owner)
        .bind(&spec.name)
        .bind(serde_json::to_string(spec)?)
        .bind(micros(now_micros()))
        .fetch_optional(&self.writer)
        .await?;
        found_record(row, "team")
    }

    async fn delete_team(&self, owner: Uuid, id: Uuid) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM teams WHERE id = ?1 AND owner = ?2")
            .bind(id)
            .bind(owner)
            .execute(&self.writer)
            .await?;
        found(done.rows_affected(), "team")
    }

    async fn create_run(&self, run: NewRun) -> Result<RunRecord, StoreError> {
        run.check()?;
        let now = now_micros();
        let id = Uuid::new_v4();
        let mut tx = self.writer.begin().await?;
        insert_run(&mut tx, id, &run, now).await?;
        tx.commit().await?;
        Ok(run.into_record(id, now))
    }

    async fn create_run_with_history(
        &self,
        run: NewRun,
        mut history: Vec<RunEvent>,
    ) -> Result<RunRecord, StoreError> {
        run.check()?;
        let id = Uuid::new_v4();
        number_history(id, &mut history);
        let mut tx = self.writer.begin().await?;
        insert_run(&mut tx, id, &run, now_micros()).await?;
        append_in(&mut tx, id, &history).await?;
        let record = self.fetch_run(&mut tx, id, None).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_run(&self, owner: Uuid, id: Uuid) -> Result<RunRecord, StoreError> {
        let mut conn = self.reader.acquire().await?;
        self.fetch_run(&mut conn, id, Some(owner)).await
    }

    async fn get_run_any(&self, id: Uuid) -> Result<RunRecord, StoreError> {
        let mut conn = self.reader.acquire().await?;
        self.fetch_run(&mut conn, id, None).await
    }

    async fn list_runs_of(
        &self,
        query: RunQuery,
    ) -> Result<(Vec<RunRecord>, Option<String>), StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR owner = ?1) \
             AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR (created_at, id) < (?3, ?4)) \
             ORDER BY created_at DESC, id DESC LIMIT ?5"
        );
        let select = sqlx::query_as::<_, RunRow>(&sql)
            .bind(query.owner)
            .bind(query.status.map(RunStatus::as_str));
        list_page(select, &self.reader, query.limit, query.cursor).await
    }

    async fn owner_usage_since(
        &self,
        owner: Uuid,
        since: DateTime<Utc>,
    ) -> Result<UsageTotals, StoreError> {
        let totals: UsageRow = sqlx::query_as(
            "SELECT COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, \
               COALESCE(SUM(completion_tokens), 0) AS completion_tokens, \
               COALESCE(SUM(cost_usd), 0.0) AS cost_usd, COALESCE(SUM(calls), 0) AS calls \
             FROM runs WHERE owner = ?1 AND created_at >= ?2",
        )
        .bind(owner)
        .bind(micros(since))
        .fetch_one(&self.reader)
        .await?;
        totals.into_record()
    }

    async fn delete_run(&self, owner: Uuid, id: Uuid) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "DELETE FROM runs WHERE id = ?1 AND owner = ?2 AND (status IN \
             ('completed', 'failed', 'cancelled') OR NOT EXISTS (SELECT 1 FROM jobs \
             WHERE jobs.run_id = runs.id AND jobs.state = 'running'))",
        )
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            // Tell "not yours / not there" from "still executing".
            self.fetch_run(&mut tx, id, Some(owner)).await?;
            return Err(StoreError::conflict(
                "the run is executing; cancel it before deleting it",
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn append_events(&self, run_id: Uuid, events: &[RunEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        append_in(&mut tx, run_id, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn append_event_batches(
        &self,
        batches: &[EventBatch],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let (mut slots, prepared) = prepare_batches(batches);
        if !prepared.is_empty() {
            // One transaction, one commit (one WAL sync) for every run's batch.
            let mut tx = self.writer.begin().await?;
            for (index, batch) in &prepared {
                slots[*index] = Some(write_prepared(&mut tx, batch).await?);
            }
            tx.commit().await?;
        }
        Ok(slots
            .into_iter()
            .map(|slot| slot.unwrap_or(Ok(())))
            .collect())
    }

    async fn events_after(
        &self,
        run_id: Uuid,
        after: u64,
        limit: u32,
    ) -> Result<Vec<RunEvent>, StoreError> {
        let limit = limit.min(MAX_EVENTS_PAGE);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT seq, type, at, data FROM events WHERE run_id = ?1 AND seq > ?2 \
             ORDER BY seq LIMIT ?3",
        )
        .bind(run_id)
        .bind(to_i64(after, "after")?)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(|row| row.into_event(run_id)).collect()
    }

    async fn resume_state(&self, run_id: Uuid) -> Result<(ResumeState, u64), StoreError> {
        // One read transaction: the events and last_seq come from the same snapshot.
        let mut tx = self.reader.begin().await?;
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM runs WHERE id = ?1")
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
        let seq = rows::last_seq(seq)?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT type, data FROM events WHERE run_id = ?1 \
             AND type IN ('team', 'message', 'usage') ORDER BY seq",
        )
        .bind(run_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut builder = ResumeBuilder::default();
        for (kind, data) in &rows {
            builder.push(kind, data)?;
        }
        Ok((builder.finish(), seq))
    }

    async fn claim_jobs(
        &self,
        worker_id: &str,
        lease: Duration,
        max_running_per_owner: Option<u32>,
        limit: u32,
    ) -> Result<Claims, StoreError> {
        let lease = lease_micros(lease)?;
        let limit = limit.clamp(1, MAX_CLAIM) as usize;
        let mut claimed = Claims::default();
        // Each pass claims or retires at least one job, or finds nothing: bounded.
        for _ in 0..1000 {
            let want = limit - claimed.jobs.len();
            if want == 0 {
                break;
            }
            let found = match max_running_per_owner {
                Some(_) => {
                    self.claim_one(worker_id, lease, max_running_per_owner)
                        .await?
                }
                None => self.claim_batch(worker_id, lease, want).await?,
            };
            match found {
                Some(claims) => {
                    claimed.jobs.extend(claims.jobs);
                    claimed.ended.extend(claims.ended);
                }
                None => break,
            }
        }
        Ok(claimed)
    }

    async fn heartbeat_held(
        &self,
        worker_id: &str,
        lease: Duration,
    ) -> Result<Vec<HeldJob>, StoreError> {
        let now = micros(now_micros());
        // Two statements in one transaction: SQLite's RETURNING cannot name a joined table.
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE jobs SET lease_until = ?2 + ?3, updated_at = ?2 \
             WHERE worker = ?1 AND state = 'running'",
        )
        .bind(worker_id)
        .bind(now)
        .bind(lease_micros(lease)?)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(Uuid, Uuid, bool)> = sqlx::query_as(
            "SELECT jobs.id, jobs.run_id, runs.cancel_requested FROM jobs \
             JOIN runs ON runs.id = jobs.run_id WHERE jobs.worker = ?1 AND jobs.state = 'running'",
        )
        .bind(worker_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(held_job).collect())
    }

    async fn cancel_requested(&self, worker_id: &str) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT jobs.run_id FROM jobs JOIN runs ON runs.id = jobs.run_id \
             WHERE jobs.worker = ?1 AND jobs.state = 'running' AND runs.cancel_requested",
        )
        .bind(worker_id)
        .fetch_all(&self.reader)
        .await?)
    }

    async fn complete_job(&self, job_id: Uuid, worker_id: &str) -> Result<bool, StoreError> {
        self.update_held_job(
            "UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = ?3 \
             WHERE id = ?1 AND worker = ?2 AND state = 'running'",
            job_id,
            worker_id,
        )
        .await
    }

    async fn release_job(&self, job_id: Uuid, worker_id: &str) -> Result<bool, StoreError> {
        self.update_held_job(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), \
             idle_attempts = MAX(idle_attempts - 1, 0), worker = NULL, \
             lease_until = NULL, updated_at = ?3 \
             WHERE id = ?1 AND worker = ?2 AND state = 'running'",
            job_id,
            worker_id,
        )
        .await
    }

    async fn request_cancel(&self, owner: Uuid, run_id: Uuid) -> Result<Cancellation, StoreError> {
        let now = micros(now_micros());
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE runs SET cancel_requested = 1, updated_at = ?3 WHERE id = ?1 AND owner = ?2 \
             AND status NOT IN ('completed', 'failed', 'cancelled') AND cancel_requested = 0",
        )
        .bind(run_id)
        .bind(owner)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let run = self.fetch_run(&mut tx, run_id, Some(owner)).await?;
        let mut ended = Vec::new();
        if !run.status.is_terminal() {
            // No worker holds a queued job: finish the run here and now.
            let unheld = sqlx::query(
                "UPDATE jobs SET state = 'done', updated_at = ?2 \
                 WHERE run_id = ?1 AND state = 'queued'",
            )
            .bind(run_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if unheld {
                let usage = usage_of(&mut tx, run_id).await?;
                ended = cancelled_events(run_id, run.last_seq, usage);
                append_in(&mut tx, run_id, &ended).await?;
            }
        }
        let run = self.fetch_run(&mut tx, run_id, Some(owner)).await?;
        tx.commit().await?;
        Ok(Cancellation { run, ended })
    }

    async fn submit_input(
        &self,
        owner: Uuid,
        run_id: Uuid,
        content: &str,
    ) -> Result<RunRecord, StoreError> {
        let mut tx = self.writer.begin().await?;
        let given = sqlx::query(
            "UPDATE runs SET pending_input = ?3, updated_at = ?4 WHERE id = ?1 AND owner = ?2 \
             AND status = 'waiting_input' AND NOT cancel_requested AND pending_input IS NULL",
        )
        .bind(run_id)
        .bind(owner)
        .bind(content)
        .bind(micros(now_micros()))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let run = self.fetch_run(&mut tx, run_id, Some(owner)).await?;
        if !given {
            return Err(input_refusal(&run));
        }
        tx.commit().await?;
        Ok(run)
    }

    async fn take_input(&self, run_id: Uuid) -> Result<Option<String>, StoreError> {
        // A read first: polling a run with nothing pending never takes the writer.
        let pending: Option<Option<String>> =
            sqlx::query_scalar("SELECT pending_input FROM runs WHERE id = ?1")
                .bind(run_id)
                .fetch_optional(&self.reader)
                .await?;
        if pending.flatten().is_none() {
            return Ok(None);
        }
        let mut tx = self.writer.begin().await?;
        let pending: Option<Option<String>> =
            sqlx::query_scalar("SELECT pending_input FROM runs WHERE id = ?1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query("UPDATE runs SET pending_input = NULL WHERE id = ?1")
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(pending.flatten())
    }
}

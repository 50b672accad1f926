//! Owns the PostgreSQL backend: the connection pool and its SQL; its rows are decoded by
//! `crate::rows`. Claims use
//! `FOR UPDATE SKIP LOCKED` so workers never block each other; leases are measured on
//! the database clock (`now()`), so workers' clocks do not matter. Per-owner running
//! limits are made exact across concurrent claimers with a transaction-scoped advisory
//! lock per owner.

mod accounts;
mod files;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgPoolOptions};
use sqlx::query::QueryAs;
use uuid::Uuid;

use cadre_core::{ResumeState, RunEvent, RunStatus, TeamSpec, UsageTotals};

use crate::accounts::ensured_email;
use crate::coalesce::Coalescer;
use crate::effects::{
    PreparedBatch, ResumeBuilder, cancelled_events, input_refusal, number_history, prepare_batch,
    prepare_batches, seq_mismatch, sum_usage, to_i64, to_u64, worker_lost_events,
};
use crate::error::found;
use crate::model::{
    Cancellation, ClaimedJob, Claims, EventBatch, HeldJob, NewRun, PoolStats, QueueStats, RunQuery,
    RunRecord, TeamRecord, lease_micros, now_micros,
};
use crate::page::{BindPage, Page, list_page};
use crate::rows::{
    self, Claim, IntoRecord, RunStateRow, UsageRow, found_record, held_job, optional_record,
};
use crate::{ConnectOptions, MAX_CLAIM, MAX_EVENTS_PAGE, Store, StoreError, redact_url};

/// Rows as PostgreSQL stores them: `timestamptz`, job counters as `integer`.
type RunRow = rows::RunRow<DateTime<Utc>>;
type TeamRow = rows::TeamRow<DateTime<Utc>>;
type EventRow = rows::EventRow<DateTime<Utc>>;
type ClaimRow = rows::ClaimRow<i32>;

/// A claimed job with its run's state, as a batch claim returns it.
#[derive(sqlx::FromRow)]
struct ClaimedRunRow {
    #[sqlx(flatten)]
    claim: ClaimRow,
    #[sqlx(flatten)]
    run: RunStateRow,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl<O> BindPage for QueryAs<'_, Postgres, O, PgArguments> {
    fn bind_page(self, page: &Page) -> Self {
        self.bind(page.after.map(|c| c.created_at))
            .bind(page.after.map(|c| c.id))
            .bind(page.fetch())
    }
}

const RUN_COLUMNS: &str = "id, owner, task, request::text AS request, status, \
    team::text AS team, summary, error_code, error_message, prompt_tokens, \
    completion_tokens, cost_usd, calls, last_seq, cancel_requested, created_at, updated_at, \
    started_at, finished_at";

const TEAM_COLUMNS: &str = "id, owner, name, spec::text AS spec, created_at, updated_at";

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// `create_run`s arriving together, written in one statement (`crate::coalesce`).
    new_runs: Coalescer<RunInsert, ()>,
    /// `complete_job`s arriving together, written in one statement.
    completions: Coalescer<(Uuid, String), bool>,
}

/// Most rows one coalesced statement writes.
const MAX_COALESCED: usize = 256;
/// Coalesced statements of one kind in flight at once (each holds a pooled connection).
const COALESCED_IN_FLIGHT: usize = 2;

/// A run and its job, ready to insert.
struct RunInsert {
    id: Uuid,
    owner: Uuid,
    task: String,
    request: String,
    created_at: DateTime<Utc>,
    job_id: Uuid,
    max_attempts: i32,
}

impl PgStore {
    /// Opens a pool of `options.max_connections` connections to `url`. Does not migrate:
    /// call [`Store::migrate`] or use [`crate::connect`].
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect(url)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Unavailable(message) | StoreError::Internal(message) => {
                    StoreError::Unavailable(format!("PostgreSQL {}: {message}", redact_url(url)))
                }
                StoreError::Invalid(_) => {
                    StoreError::Invalid(format!("invalid PostgreSQL URL {}", redact_url(url)))
                }
                other => other,
            })?;
        let new_runs = Coalescer::spawn(MAX_COALESCED, COALESCED_IN_FLIGHT, {
            let pool = pool.clone();
            move |batch| insert_runs(pool.clone(), batch)
        });
        let completions = Coalescer::spawn(MAX_COALESCED, COALESCED_IN_FLIGHT, {
            let pool = pool.clone();
            move |batch| complete_jobs(pool.clone(), batch)
        });
        Ok(Self {
            pool,
            new_runs,
            completions,
        })
    }

    async fn fetch_team(&self, owner: Uuid, id: Uuid) -> Result<TeamRecord, StoreError> {
        let row: Option<TeamRow> = sqlx::query_as(&format!(
            "SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1 AND owner = $2"
        ))
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        found_record(row, "team")
    }

    /// Runs `update` (`$1` the job, `$2` the worker) on a job if `worker_id`
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
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

async fn fetch_run(
    conn: &mut PgConnection,
    id: Uuid,
    owner: Option<Uuid>,
) -> Result<RunRecord, StoreError> {
    let row: Option<RunRow> = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE id = $1 AND ($2::uuid IS NULL OR owner = $2)"
    ))
    .bind(id)
    .bind(owner)
    .fetch_optional(&mut *conn)
    .await?;
    found_record(row, "run")
}

/// Appends a validated batch inside the caller's transaction.
async fn append_in(
    conn: &mut PgConnection,
    run_id: Uuid,
    events: &[RunEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let batch = prepare_batch(run_id, events)?;
    let mut slots = write_prepared(conn, &[batch]).await?;
    slots.pop().unwrap_or(Ok(()))
}

/// Writes prepared batches of distinct runs in three statements whatever their number:
/// one guarded `UPDATE … FROM UNNEST` of the run rows, one look-up of the refused runs'
/// stored seqs (only if some were refused), one `INSERT … SELECT FROM UNNEST` of the
/// accepted runs' events. Returns one result per batch, in order: `Err` where the run's
/// stored last seq did not match (or the run is gone) and nothing of it was written.
async fn write_prepared(
    conn: &mut PgConnection,
    batches: &[PreparedBatch],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let n = batches.len();
    let mut ids = Vec::with_capacity(n);
    let mut expected = Vec::with_capacity(n);
    let mut new_last = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut started = Vec::with_capacity(n);
    let mut terminal = Vec::with_capacity(n);
    let mut team = Vec::with_capacity(n);
    let mut summary = Vec::with_capacity(n);
    let mut prompt = Vec::with_capacity(n);
    let mut completion = Vec::with_capacity(n);
    let mut cost = Vec::with_capacity(n);
    let mut calls = Vec::with_capacity(n);
    let mut error_code = Vec::with_capacity(n);
    let mut error_message = Vec::with_capacity(n);
    for batch in batches {
        ids.push(batch.run_id);
        expected.push(batch.expected_last);
        new_last.push(batch.new_last);
        status.push(batch.status);
        started.push(batch.started);
        terminal.push(batch.terminal);
        team.push(batch.team.as_deref());
        summary.push(batch.summary.as_deref());
        prompt.push(batch.usage.map(|u| u.0));
        completion.push(batch.usage.map(|u| u.1));
        cost.push(batch.usage.map(|u| u.2));
        calls.push(batch.usage.map(|u| u.3));
        error_code.push(batch.error_code.as_deref());
        error_message.push(batch.error_message.as_deref());
    }
    // The guard on last_seq leaves a run out (not RETURNING it) on a gap or a race; the
    // row locks it takes serialize concurrent appenders of one run.
    let written: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE runs SET last_seq = u.new_last, updated_at = now(), \
           status = COALESCE(u.status, runs.status), \
           started_at = CASE WHEN u.started THEN COALESCE(runs.started_at, now()) \
             ELSE runs.started_at END, \
           finished_at = CASE WHEN u.terminal THEN COALESCE(runs.finished_at, now()) \
             ELSE runs.finished_at END, \
           team = COALESCE(u.team::jsonb, runs.team), \
           summary = COALESCE(u.summary, runs.summary), \
           prompt_tokens = COALESCE(u.prompt_tokens, runs.prompt_tokens), \
           completion_tokens = COALESCE(u.completion_tokens, runs.completion_tokens), \
           cost_usd = COALESCE(u.cost_usd, runs.cost_usd), \
           calls = COALESCE(u.calls, runs.calls), \
           error_code = COALESCE(u.error_code, runs.error_code), \
           error_message = COALESCE(u.error_message, runs.error_message) \
         FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::text[], $5::bool[], $6::bool[], \
           $7::text[], $8::text[], $9::int8[], $10::int8[], $11::float8[], $12::int8[], \
           $13::text[], $14::text[]) \
           AS u(id, expected, new_last, status, started, terminal, team, summary, \
             prompt_tokens, completion_tokens, cost_usd, calls, error_code, error_message) \
         WHERE runs.id = u.id AND runs.last_seq = u.expected \
         RETURNING runs.id",
    )
    .bind(&ids)
    .bind(&expected)
    .bind(&new_last)
    .bind(&status)
    .bind(&started)
    .bind(&terminal)
    .bind(&team)
    .bind(&summary)
    .bind(&prompt)
    .bind(&completion)
    .bind(&cost)
    .bind(&calls)
    .bind(&error_code)
    .bind(&error_message)
    .fetch_all(&mut *conn)
    .await?;
    let written: std::collections::HashSet<Uuid> = written.into_iter().collect();
    let refused: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| !written.contains(id))
        .collect();
    let mut stored = std::collections::HashMap::new();
    if !refused.is_empty() {
        let rows: Vec<(Uuid, i64)> =
            sqlx::query_as("SELECT id, last_seq FROM runs WHERE id = ANY($1)")
                .bind(&refused)
                .fetch_all(&mut *conn)
                .await?;
        stored.extend(rows);
    }
    let mut results = Vec::with_capacity(n);
    let mut run_ids = Vec::new();
    let mut seqs = Vec::new();
    let mut kinds = Vec::new();
    let mut ats = Vec::new();
    let mut datas = Vec::new();
    for batch in batches {
        if !written.contains(&batch.run_id) {
            results.push(Err(match stored.get(&batch.run_id) {
                Some(&last) => seq_mismatch(to_u64(last)?, batch.first_seq),
                None => StoreError::NotFound { what: "run" },
            }));
            continue;
        }
        results.push(Ok(()));
        for event in &batch.events {
            run_ids.push(batch.run_id);
            seqs.push(event.seq);
            kinds.push(event.kind);
            ats.push(event.at);
            datas.push(event.data.as_str());
        }
    }
    if !seqs.is_empty() {
        sqlx::query(
            "INSERT INTO events (run_id, seq, type, at, data) \
             SELECT e.run_id, e.seq, e.type, e.at, e.data::json \
             FROM UNNEST($1::uuid[], $2::int8[], $3::text[], $4::timestamptz[], $5::text[]) \
               AS e(run_id, seq, type, at, data)",
        )
        .bind(&run_ids)
        .bind(&seqs)
        .bind(&kinds)
        .bind(&ats)
        .bind(&datas)
        .execute(&mut *conn)
        .await?;
    }
    Ok(results)
}

/// Retires a claimed job that must not run (out of attempts, or its run already over),
/// failing the run with `worker_lost` if it is not over; returns the events written.
async fn retire(
    conn: &mut PgConnection,
    claim: &Claim,
    worker_id: &str,
    terminal: bool,
    last_seq: u64,
) -> Result<Vec<RunEvent>, StoreError> {
    let job = &claim.job;
    // Only while this claim still holds the job: a batch claim commits before its
    // retirements, so in between (a lease later) another claimer could have taken it.
    let retired = sqlx::query(
        "UPDATE jobs SET state = 'done', attempts = attempts - 1, worker = NULL, \
         lease_until = NULL, updated_at = now() \
         WHERE id = $1 AND worker = $2 AND state = 'running'",
    )
    .bind(job.job_id)
    .bind(worker_id)
    .execute(&mut *conn)
    .await?;
    if terminal || retired.rows_affected() == 0 {
        return Ok(Vec::new());
    }
    let usage = usage_of(&mut *conn, job.run_id).await?;
    let events = worker_lost_events(job.run_id, last_seq, claim.max_attempts, usage);
    append_in(&mut *conn, job.run_id, &events).await?;
    Ok(events)
}

async fn usage_of(conn: &mut PgConnection, run_id: Uuid) -> Result<UsageTotals, StoreError> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT data::text FROM events WHERE run_id = $1 AND type = 'usage'")
            .bind(run_id)
            .fetch_all(&mut *conn)
            .await?;
    sum_usage(rows.iter().map(String::as_str))
}

/// Writes runs with their jobs, one statement for the batch: atomic per batch, so every
/// run has its job. A failed batch is retried run by run, so each gets its own answer.
async fn insert_runs(pool: PgPool, batch: Vec<RunInsert>) -> Vec<Result<(), StoreError>> {
    let written = insert_run_rows(&pool, &batch).await;
    match written {
        Ok(()) => batch.iter().map(|_| Ok(())).collect(),
        Err(error) if batch.len() == 1 => vec![Err(error)],
        Err(_) => {
            let mut answers = Vec::with_capacity(batch.len());
            for run in batch {
                answers.push(insert_run_rows(&pool, std::slice::from_ref(&run)).await);
            }
            answers
        }
    }
}

async fn insert_run_rows<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    runs: &[RunInsert],
) -> Result<(), StoreError> {
    let column = |f: fn(&RunInsert) -> Uuid| runs.iter().map(f).collect::<Vec<_>>();
    // Data-modifying CTEs run in one snapshot and the jobs' foreign keys are checked at
    // the statement's end, after both inserts.
    sqlx::query(
        "WITH input AS ( \
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], \
             $5::timestamptz[], $6::uuid[], $7::int4[]) \
             AS t(id, owner, task, request, created_at, job_id, max_attempts)), \
         run AS ( \
           INSERT INTO runs (id, owner, task, request, status, created_at, updated_at) \
           SELECT id, owner, task, request::jsonb, 'queued', created_at, created_at \
           FROM input RETURNING id) \
         INSERT INTO jobs (id, run_id, owner, state, attempts, max_attempts, created_at, \
           updated_at) \
         SELECT input.job_id, run.id, input.owner, 'queued', 0, input.max_attempts, \
           input.created_at, input.created_at \
         FROM input JOIN run ON run.id = input.id",
    )
    .bind(column(|r| r.id))
    .bind(column(|r| r.owner))
    .bind(runs.iter().map(|r| r.task.as_str()).collect::<Vec<_>>())
    .bind(runs.iter().map(|r| r.request.as_str()).collect::<Vec<_>>())
    .bind(runs.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind(column(|r| r.job_id))
    .bind(runs.iter().map(|r| r.max_attempts).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map_err(StoreError::missing_user)?;
    Ok(())
}

/// Marks jobs done where their worker still holds them; one statement for the batch,
/// whether each was done. The same job twice in a batch is done once: the later request
/// gets `false`, as it would have one statement later.
async fn complete_jobs(pool: PgPool, batch: Vec<(Uuid, String)>) -> Vec<Result<bool, StoreError>> {
    // Committed asynchronously (not waiting for the WAL flush): the run's outcome is
    // already durable in its events, written before this. If a server crash loses this
    // commit, the job is `running` again with its lease; once the lease expires a claim
    // finds the run terminal and retires the job without running it again. So a lost
    // completion costs a lease, never a repeat, and the flush wait leaves the queue's
    // critical path. One statement, so one round trip: `set_config(…, true)` lasts until
    // this implicit transaction's commit, which is when PostgreSQL reads the setting.
    let done: Result<Vec<(Uuid, String)>, _> = sqlx::query_as(
        "WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)) \
         UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = now() \
         FROM async_commit, unnest($1::uuid[], $2::text[]) AS held(id, worker) \
         WHERE jobs.id = held.id AND jobs.worker = held.worker AND jobs.state = 'running' \
         RETURNING jobs.id, held.worker",
    )
    .bind(batch.iter().map(|(job, _)| *job).collect::<Vec<_>>())
    .bind(
        batch
            .iter()
            .map(|(_, worker)| worker.as_str())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&pool)
    .await;
    match done {
        Ok(done) => {
            let mut done: std::collections::HashSet<(Uuid, String)> = done.into_iter().collect();
            batch
                .into_iter()
                .map(|held| Ok(done.remove(&held)))
                .collect()
        }
        Err(error) => {
            let error = StoreError::from(error);
            batch.iter().map(|_| Err(error.clone())).collect()
        }
    }
}

impl PgStore {
    /// One claim under a per-owner limit, made exact with a transaction-scoped advisory
    /// lock per owner. `None`: nothing claimable. The events of runs failed on the way
    /// go to `ended` once their transaction committed.
    async fn claim_one(
        &self,
        worker_id: &str,
        lease: Duration,
        max_running_per_owner: Option<u32>,
        ended: &mut Vec<RunEvent>,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let lease = lease_micros(lease)?;
        let limit = max_running_per_owner.map(i64::from);
        // Owners found at their limit by the exact re-check below; skipped from then on.
        let mut full: Vec<Uuid> = Vec::new();
        // Each pass returns a claim, retires a job, marks an owner full, or finds nothing.
        for _ in 0..1000 {
            let mut tx = self.pool.begin().await?;
            let claimed: Option<ClaimRow> = sqlx::query_as(
                "WITH candidate AS ( \
                   SELECT j.id FROM jobs j \
                   WHERE (j.state = 'queued' OR (j.state = 'running' AND j.lease_until < now())) \
                     AND j.owner <> ALL($4::uuid[]) \
                     AND ($3::int8 IS NULL OR (j.idle_attempts >= j.max_attempts \
                          AND (SELECT r.last_seq FROM runs r WHERE r.id = j.run_id) \
                              <= j.progress_seq) \
                          OR (SELECT count(*) FROM jobs r WHERE r.owner = j.owner \
                              AND r.state = 'running' AND r.lease_until >= now()) < $3) \
                   ORDER BY j.created_at, j.id LIMIT 1 \
                   FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1, \
                   idle_attempts = CASE WHEN runs.last_seq > jobs.progress_seq THEN 1 \
                     ELSE jobs.idle_attempts + 1 END, \
                   progress_seq = runs.last_seq, worker = $1, \
                   lease_until = now() + $2 * interval '1 microsecond', updated_at = now() \
                 FROM candidate, runs WHERE jobs.id = candidate.id AND runs.id = jobs.run_id \
                 RETURNING jobs.id, jobs.run_id, jobs.owner, jobs.attempts, \
                   jobs.idle_attempts, jobs.max_attempts",
            )
            .bind(worker_id)
            .bind(lease)
            .bind(limit)
            .bind(&full)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(claim) = optional_record(claimed)? else {
                return Ok(None);
            };
            let job = &claim.job;
            let run = fetch_run(&mut tx, job.run_id, None).await?;
            if claim.runnable(run.status.is_terminal()) {
                if let Some(limit) = limit {
                    // Exact limit: claimers of one owner take turns; the second sees the
                    // first's committed claim (READ COMMITTED: a fresh snapshot per query).
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
                        .bind(job.owner)
                        .execute(&mut *tx)
                        .await?;
                    let running: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM jobs WHERE owner = $1 AND state = 'running' \
                         AND lease_until >= now() AND id <> $2",
                    )
                    .bind(job.owner)
                    .bind(job.job_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if running >= limit {
                        tx.rollback().await?;
                        full.push(job.owner);
                        continue;
                    }
                }
                tx.commit().await?;
                return Ok(Some(claim.job));
            }
            let events = retire(
                &mut tx,
                &claim,
                worker_id,
                run.status.is_terminal(),
                run.last_seq,
            )
            .await?;
            tx.commit().await?;
            ended.extend(events);
        }
        Ok(None)
    }

    /// Claims up to `want` of the oldest claimable jobs in one statement (no per-owner
    /// limit). `None`: nothing claimable.
    async fn claim_batch(
        &self,
        worker_id: &str,
        lease: i64,
        want: usize,
    ) -> Result<Option<Claims>, StoreError> {
        // The claim is its own implicit transaction: one round trip, which is all an idle
        // worker's poll costs. The rare jobs it finds not runnable (their run already
        // over, or out of attempts) are retired afterwards in a transaction of their own;
        // until then they are simply held by this worker under its lease.
        let rows: Vec<ClaimedRunRow> = sqlx::query_as(
            "WITH candidate AS ( \
               SELECT j.id FROM jobs j \
               WHERE j.state = 'queued' OR (j.state = 'running' AND j.lease_until < now()) \
               ORDER BY j.created_at, j.id LIMIT $3 \
               FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1, \
               idle_attempts = CASE WHEN runs.last_seq > jobs.progress_seq THEN 1 \
                 ELSE jobs.idle_attempts + 1 END, \
               progress_seq = runs.last_seq, worker = $1, \
               lease_until = now() + $2 * interval '1 microsecond', updated_at = now() \
             FROM candidate, runs WHERE jobs.id = candidate.id AND runs.id = jobs.run_id \
             RETURNING jobs.id, jobs.run_id, jobs.owner, jobs.attempts, jobs.idle_attempts, \
               jobs.max_attempts, \
               runs.status, runs.last_seq",
        )
        .bind(worker_id)
        .bind(lease)
        .bind(i64::try_from(want).unwrap_or(1))
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut claims = Claims {
            jobs: Vec::with_capacity(rows.len()),
            ended: Vec::new(),
        };
        let mut unrunnable = Vec::new();
        for row in rows {
            let claim = row.claim.into_record()?;
            let run = row.run.into_record()?;
            if claim.runnable(run.terminal) {
                claims.jobs.push(claim.job);
            } else {
                unrunnable.push((claim, run));
            }
        }
        if !unrunnable.is_empty() {
            // The runnable claims are committed: they go back to the caller even if this
            // fails, or nobody would run them. Jobs left unretired stay held under this
            // worker's lease and are retired by a later claim.
            match self.retire_all(worker_id, &unrunnable).await {
                Ok(events) => claims.ended.extend(events),
                Err(error) => {
                    tracing::warn!(%error, jobs = unrunnable.len(), "retiring claimed jobs failed");
                }
            }
        }
        Ok(Some(claims))
    }

    /// Retires claimed jobs that are not runnable, in one transaction; the events that
    /// ended runs on the way.
    async fn retire_all(
        &self,
        worker_id: &str,
        unrunnable: &[(Claim, rows::RunState)],
    ) -> Result<Vec<RunEvent>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ended = Vec::new();
        for (claim, run) in unrunnable {
            ended.extend(retire(&mut tx, claim, worker_id, run.terminal, run.last_seq).await?);
        }
        tx.commit().await?;
        Ok(ended)
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        // A running job out of its lease is claimable again: it counts as waiting, since
        // its created_at.
        let (queued, running, oldest): (i64, i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT \
               count(*) FILTER (WHERE state = 'queued' OR lease_until < now()), \
               count(*) FILTER (WHERE state = 'running' AND lease_until >= now()), \
               min(created_at) FILTER (WHERE state = 'queued' OR lease_until < now()) \
             FROM jobs WHERE state <> 'done'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueStats {
            queued: to_u64(queued)?,
            running: to_u64(running)?,
            oldest_queued_at: oldest,
        })
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            open: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn ensure_user(&self, email: &str) -> Result<Uuid, StoreError> {
        let email = ensured_email(email)?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO users (id, email, created_at) VALUES ($1, $2, now()) \
             ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id",
        )
        .bind(Uuid::new_v4())
        .bind(email)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn create_team(&self, owner: Uuid, spec: &TeamSpec) -> Result<TeamRecord, StoreError> {
        let record = TeamRecord::new(owner, spec);
        sqlx::query(
            "INSERT INTO teams (id, owner, name, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $4::jsonb, $5, $5)",
        )
        .bind(record.id)
        .bind(owner)
        .bind(&record.name)
        .bind(serde_json::to_string(spec)?)
        .bind(record.created_at)
        .execute(&self.pool)
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
            "SELECT {TEAM_COLUMNS} FROM teams WHERE owner = $1 \
             AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let select = sqlx::query_as::<_, TeamRow>(&sql).bind(owner);
        list_page(select, &self.pool, limit, cursor).await
    }

    async fn update_team(
        &self,
        owner: Uuid,
        id: Uuid,
        spec: &TeamSpec,
    ) -> Result<TeamRecord, StoreError> {
        let row: Option<TeamRow> = sqlx::query_as(&format!(
            "UPDATE teams SET name = $3, spec = $4::jsonb, updated_at = $5 \
             WHERE id = $1 AND owner = $2 RETURNING {TEAM_COLUMNS}"
        ))
        .bind(id)
        .bind(owner)
        .bind(&spec.name)
        .bind(serde_json::to_string(spec)?)
        .bind(now_micros())
        .fetch_optional(&self.pool)
        .await?;
        found_record(row, "team")
    }

    async fn delete_team(&self, owner: Uuid, id: Uuid) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM teams WHERE id = $1 AND owner = $2")
            .bind(id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        found(done.rows_affected(), "team")
    }

    async fn create_run(&self, run: NewRun) -> Result<RunRecord, StoreError> {
        run.check()?;
        let max_attempts = i32::try_from(run.max_attempts)
            .map_err(|_| StoreError::Invalid("max_attempts out of range".into()))?;
        let now = now_micros();
        let id = Uuid::new_v4();
        self.new_runs
            .submit(RunInsert {
                id,
                owner: run.owner,
                task: run.task.clone(),
                request: serde_json::to_string(&run.request)?,
                created_at: now,
                job_id: Uuid::new_v4(),
                max_attempts,
            })
            .await?;
        Ok(run.into_record(id, now))
    }

    async fn create_run_with_history(
        &self,
        run: NewRun,
        mut history: Vec<RunEvent>,
    ) -> Result<RunRecord, StoreError> {
        run.check()?;
        let insert = RunInsert {
            id: Uuid::new_v4(),
            owner: run.owner,
            task: run.task.clone(),
            request: serde_json::to_string(&run.request)?,
            created_at: now_micros(),
            job_id: Uuid::new_v4(),
            max_attempts: i32::try_from(run.max_attempts)
                .map_err(|_| StoreError::Invalid("max_attempts out of range".into()))?,
        };
        number_history(insert.id, &mut history);
        let mut tx = self.pool.begin().await?;
        insert_run_rows(&mut *tx, std::slice::from_ref(&insert)).await?;
        append_in(&mut tx, insert.id, &history).await?;
        let record = fetch_run(&mut tx, insert.id, None).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_run(&self, owner: Uuid, id: Uuid) -> Result<RunRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_run(&mut conn, id, Some(owner)).await
    }

    async fn get_run_any(&self, id: Uuid) -> Result<RunRecord, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_run(&mut conn, id, None).await
    }

    async fn list_runs_of(
        &self,
        query: RunQuery,
    ) -> Result<(Vec<RunRecord>, Option<String>), StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ($1::uuid IS NULL OR owner = $1) \
             AND ($2::text IS NULL OR status = $2) \
             AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid)) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        );
        let select = sqlx::query_as::<_, RunRow>(&sql)
            .bind(query.owner)
            .bind(query.status.map(RunStatus::as_str));
        list_page(select, &self.pool, query.limit, query.cursor).await
    }

    async fn owner_usage_since(
        &self,
        owner: Uuid,
        since: DateTime<Utc>,
    ) -> Result<UsageTotals, StoreError> {
        let totals: UsageRow = sqlx::query_as(
            "SELECT COALESCE(SUM(prompt_tokens), 0)::int8 AS prompt_tokens, \
               COALESCE(SUM(completion_tokens), 0)::int8 AS completion_tokens, \
               COALESCE(SUM(cost_usd), 0.0)::float8 AS cost_usd, \
               COALESCE(SUM(calls), 0)::int8 AS calls \
             FROM runs WHERE owner = $1 AND created_at >= $2",
        )
        .bind(owner)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        totals.into_record()
    }

    async fn delete_run(&self, owner: Uuid, id: Uuid) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "DELETE FROM runs WHERE id = $1 AND owner = $2 AND (status IN \
             ('completed', 'failed', 'cancelled') OR NOT EXISTS (SELECT 1 FROM jobs \
             WHERE jobs.run_id = runs.id AND jobs.state = 'running'))",
        )
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            fetch_run(&mut tx, id, Some(owner)).await?;
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
        let mut tx = self.pool.begin().await?;
        append_in(&mut tx, run_id, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn append_event_batches(
        &self,
        batches: &[EventBatch],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let (mut slots, mut prepared) = prepare_batches(batches);
        if !prepared.is_empty() {
            // Row locks in one order, so two writers' batches cannot deadlock.
            prepared.sort_by_key(|(_, batch)| batch.run_id);
            let (indexes, prepared): (Vec<usize>, Vec<PreparedBatch>) =
                prepared.into_iter().unzip();
            let mut tx = self.pool.begin().await?;
            let results = write_prepared(&mut tx, &prepared).await?;
            tx.commit().await?;
            for (index, result) in indexes.into_iter().zip(results) {
                slots[index] = Some(result);
            }
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
            "SELECT seq, type, at, data::text AS data FROM events \
             WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(run_id)
        .bind(to_i64(after, "after")?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|row| row.into_event(run_id)).collect()
    }

    async fn resume_state(&self, run_id: Uuid) -> Result<(ResumeState, u64), StoreError> {
        // REPEATABLE READ: events and last_seq from one snapshot.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
        let seq = rows::last_seq(seq)?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT type, data::text AS data FROM events WHERE run_id = $1 \
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
        let limit = limit.clamp(1, MAX_CLAIM) as usize;
        let mut claimed = Claims::default();
        if max_running_per_owner.is_some() {
            while claimed.jobs.len() < limit {
                match self
                    .claim_one(worker_id, lease, max_running_per_owner, &mut claimed.ended)
                    .await?
                {
                    Some(job) => claimed.jobs.push(job),
                    None => break,
                }
            }
            return Ok(claimed);
        }
        let lease = lease_micros(lease)?;
        // Each pass claims or retires at least one job, or finds nothing: bounded.
        for _ in 0..1000 {
            let want = limit - claimed.jobs.len();
            if want == 0 {
                break;
            }
            match self.claim_batch(worker_id, lease, want).await? {
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
        let rows: Vec<(Uuid, Uuid, bool)> = sqlx::query_as(
            "UPDATE jobs SET lease_until = now() + $2 * interval '1 microsecond', \
             updated_at = now() FROM runs \
             WHERE jobs.worker = $1 AND jobs.state = 'running' AND runs.id = jobs.run_id \
             RETURNING jobs.id, jobs.run_id, runs.cancel_requested",
        )
        .bind(worker_id)
        .bind(lease_micros(lease)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(held_job).collect())
    }

    async fn cancel_requested(&self, worker_id: &str) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT jobs.run_id FROM jobs JOIN runs ON runs.id = jobs.run_id \
             WHERE jobs.worker = $1 AND jobs.state = 'running' AND runs.cancel_requested",
        )
        .bind(worker_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn complete_job(&self, job_id: Uuid, worker_id: &str) -> Result<bool, StoreError> {
        self.completions
            .submit((job_id, worker_id.to_owned()))
            .await
    }

    async fn release_job(&self, job_id: Uuid, worker_id: &str) -> Result<bool, StoreError> {
        self.update_held_job(
            "UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), \
             idle_attempts = GREATEST(idle_attempts - 1, 0), \
             worker = NULL, lease_until = NULL, updated_at = now() \
             WHERE id = $1 AND worker = $2 AND state = 'running'",
            job_id,
            worker_id,
        )
        .await
    }

    async fn request_cancel(&self, owner: Uuid, run_id: Uuid) -> Result<Cancellation, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE runs SET cancel_requested = true, updated_at = now() \
             WHERE id = $1 AND owner = $2 \
             AND status NOT IN ('completed', 'failed', 'cancelled') AND NOT cancel_requested",
        )
        .bind(run_id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        let run = fetch_run(&mut tx, run_id, Some(owner)).await?;
        let mut ended = Vec::new();
        if !run.status.is_terminal() {
            // A queued job is held by no worker (a claimer holding its row lock makes this
            // wait and then match nothing): finish the run here and now.
            let unheld = sqlx::query(
                "UPDATE jobs SET state = 'done', updated_at = now() \
                 WHERE run_id = $1 AND state = 'queued'",
            )
            .bind(run_id)
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
        let run = fetch_run(&mut tx, run_id, Some(owner)).await?;
        tx.commit().await?;
        Ok(Cancellation { run, ended })
    }

    async fn submit_input(
        &self,
        owner: Uuid,
        run_id: Uuid,
        content: &str,
    ) -> Result<RunRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        let given = sqlx::query(
            "UPDATE runs SET pending_input = $3, updated_at = now() WHERE id = $1 AND owner = $2 \
             AND status = 'waiting_input' AND NOT cancel_requested AND pending_input IS NULL",
        )
        .bind(run_id)
        .bind(owner)
        .bind(content)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let run = fetch_run(&mut tx, run_id, Some(owner)).await?;
        if !given {
            return Err(input_refusal(&run));
        }
        tx.commit().await?;
        Ok(run)
    }

    async fn take_input(&self, run_id: Uuid) -> Result<Option<String>, StoreError> {
        // The old value, from the row locked by the same statement.
        let taken: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE runs SET pending_input = NULL FROM \
               (SELECT id, pending_input FROM runs WHERE id = $1 AND pending_input IS NOT NULL \
                FOR UPDATE) AS old \
             WHERE runs.id = old.id RETURNING old.pending_input",
        )
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(taken.flatten())
    }
}

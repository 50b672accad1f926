//! # cadre-store
//!
//! Owns persistence: users, teams, runs, the durable event log and the job queue, for
//! SQLite and PostgreSQL, with embedded migrations per backend. It speaks in
//! `cadre-core` types ([`RunEvent`], [`TeamSpec`], [`ResumeState`], …); SQL never leaves
//! this crate.
//!
//! # Layout
//! - [`Store`] (here): the one interface the server and workers use; [`connect`] picks
//!   the backend from the URL scheme and applies migrations.
//! - [`error`]: [`StoreError`] and the mapping from driver errors.
//! - [`accounts`]: [`AccountStore`] (users, refresh tokens, API tokens, provider
//!   credentials, audit log), a supertrait of [`Store`], with its records.
//! - [`files`]: [`FileStore`] (the files code blocks write, with their bytes), a
//!   supertrait of [`Store`], with its records.
//! - [`model`]: record types ([`TeamRecord`], [`RunRecord`], [`ClaimedJob`], …) and
//!   inputs ([`NewRun`], [`EventBatch`], [`RunQuery`]).
//! - `effects` (private): backend-independent event-log logic (validation, encoding,
//!   run-row updates, resume state, the events the store writes itself).
//! - `rows` (private): the rows both backends decode (`sqlx::FromRow`, generic over how
//!   a timestamp is stored) and their one conversion into the records.
//! - `page` (private): keyset pagination of the list methods (cursor, page size, the
//!   next page's cursor).
//! - [`sqlite`] / [`postgres`]: one backend each, with its own SQL; migrations live in
//!   `migrations/{sqlite,postgres}/`. No SQL text is shared between them.
//!
//! # Queue semantics (`docs/DESIGN.md` §6)
//! A run and its job are created in one transaction. Workers [`Store::claim_jobs`] the
//! oldest claimable jobs (queued, or running with an expired lease), renew the leases
//! of all the jobs they hold at once with [`Store::heartbeat_held`] (whose answer also
//! says which runs are to be cancelled; [`Store::cancel_requested`] polls just that),
//! and finish with [`Store::complete_job`] or hand a job back with
//! [`Store::release_job`]. A job claimed more than `max_attempts` times fails its run
//! with a `worker_lost` error instead of running again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use cadre_core::{ResumeState, RunEvent, RunStatus, TeamSpec, UsageTotals};

pub mod accounts;
mod coalesce;
mod effects;
pub mod error;
pub mod files;
pub mod model;
mod page;
pub mod postgres;
mod rows;
pub mod sqlite;

pub use accounts::{
    AccountStore, ApiTokenRecord, AuditEntry, AuditEvent, AuditRecord, NewApiToken,
    NewRefreshToken, NewUser, RefreshOutcome, StoredCredential, UserRecord,
};
pub use error::StoreError;
pub use files::{FileStore, MAX_FILE_PATH, NewRunFile, PutFile, RunFileRecord, valid_file_path};
pub use model::{
    Cancellation, ClaimedJob, Claims, EventBatch, HeldJob, MAX_PAGE, NewRun, PoolStats, QueueStats,
    RunQuery, RunRecord, TeamRecord,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Most jobs one [`Store::claim_jobs`] call claims; larger limits are clamped.
pub const MAX_CLAIM: u32 = 256;

/// Most events one [`Store::events_after`] call returns; larger limits are clamped.
pub const MAX_EVENTS_PAGE: u32 = 10_000;

/// Persistence for teams, runs, events and jobs. Reads are owner-scoped: a record of
/// another owner answers [`StoreError::NotFound`].
#[async_trait]
pub trait Store: AccountStore + FileStore + Send + Sync {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations (idempotent; [`connect`] already does it).
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Checks that the database answers (`SELECT 1`).
    async fn health(&self) -> Result<(), StoreError>;

    /// The queue's backlog (one query over the jobs not done).
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;

    /// How the connection pools are used now (no query).
    fn pool_stats(&self) -> PoolStats;

    /// The id of the user with this email, creating the user if needed (idempotent).
    async fn ensure_user(&self, email: &str) -> Result<Uuid, StoreError>;

    /// Saves a new team.
    async fn create_team(&self, owner: Uuid, spec: &TeamSpec) -> Result<TeamRecord, StoreError>;

    /// One team of `owner`.
    async fn get_team(&self, owner: Uuid, id: Uuid) -> Result<TeamRecord, StoreError>;

    /// Teams of `owner`, newest first, `limit` per page (clamped to [`MAX_PAGE`]); pass
    /// the returned cursor to get the next page (`None`: no more).
    async fn list_teams(
        &self,
        owner: Uuid,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<TeamRecord>, Option<String>), StoreError>;

    /// Replaces a team's spec (and name).
    async fn update_team(
        &self,
        owner: Uuid,
        id: Uuid,
        spec: &TeamSpec,
    ) -> Result<TeamRecord, StoreError>;

    /// Deletes a team.
    async fn delete_team(&self, owner: Uuid, id: Uuid) -> Result<(), StoreError>;

    /// Creates a run (status `queued`) and its job in one transaction: both or neither.
    async fn create_run(&self, run: NewRun) -> Result<RunRecord, StoreError>;

    /// Creates a run that starts with a history (a fork of another run's conversation):
    /// the run, its job and `history` as its first events in one transaction, so the
    /// worker that claims it resumes after them as it would after a crash. The store sets
    /// each event's `run_id` and numbers them 1..n; they update the run row as
    /// [`Store::append_events`] does (a `team` event sets the team). Returns the run as
    /// stored.
    async fn create_run_with_history(
        &self,
        run: NewRun,
        history: Vec<RunEvent>,
    ) -> Result<RunRecord, StoreError>;

    /// One run of `owner`.
    async fn get_run(&self, owner: Uuid, id: Uuid) -> Result<RunRecord, StoreError>;

    /// One run, whoever owns it (workers).
    async fn get_run_any(&self, id: Uuid) -> Result<RunRecord, StoreError>;

    /// Runs of `owner`, newest first, optionally of one status; keyset-paginated with an
    /// opaque cursor (a malformed cursor is [`StoreError::Invalid`]).
    async fn list_runs(
        &self,
        owner: Uuid,
        status: Option<RunStatus>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<RunRecord>, Option<String>), StoreError> {
        self.list_runs_of(RunQuery {
            owner: Some(owner),
            status,
            limit,
            cursor,
        })
        .await
    }

    /// [`Store::list_runs`] as `query` asks: of one owner, or of everyone (admins).
    async fn list_runs_of(
        &self,
        query: RunQuery,
    ) -> Result<(Vec<RunRecord>, Option<String>), StoreError>;

    /// Usage totals of `owner`'s runs created since `since` (as recorded when each run
    /// finished; runs still going count once they finish). For daily quotas.
    async fn owner_usage_since(
        &self,
        owner: Uuid,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<UsageTotals, StoreError>;

    /// Deletes a run with its events, files and job. Allowed when the run is terminal or no
    /// worker holds its job (queued); a run a worker is executing is a
    /// [`StoreError::Conflict`]: cancel it first.
    async fn delete_run(&self, owner: Uuid, id: Uuid) -> Result<(), StoreError>;

    /// Appends durable events in one transaction and updates the run row from them
    /// (status, started/finished times, team, summary, usage, error, last_seq). The first
    /// seq must be the stored last seq + 1 and the batch contiguous: otherwise
    /// [`StoreError::SeqGap`] / [`StoreError::SeqConflict`] and nothing is written.
    /// `message_delta` events are [`StoreError::Invalid`].
    async fn append_events(&self, run_id: Uuid, events: &[RunEvent]) -> Result<(), StoreError>;

    /// Appends several runs' events in one transaction: the worker's group commit. Each
    /// batch is checked as by [`Store::append_events`]; a batch refused for its own
    /// reason (seq gap or conflict, unknown run, invalid events) gets that error in its
    /// slot, in input order, and the other batches are still written. `Err`: the
    /// transaction failed and nothing was written. At most one batch per run.
    async fn append_event_batches(
        &self,
        batches: &[EventBatch],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError>;

    /// Up to `limit` events with seq > `after`, in seq order (clamped to
    /// [`MAX_EVENTS_PAGE`]; an unknown run has none).
    async fn events_after(
        &self,
        run_id: Uuid,
        after: u64,
        limit: u32,
    ) -> Result<Vec<RunEvent>, StoreError>;

    /// What a worker needs to resume the run: the team of the last `team` event, the
    /// transcript of its `message` events, the sum of its `usage` events, and last seq.
    async fn resume_state(&self, run_id: Uuid) -> Result<(ResumeState, u64), StoreError>;

    /// Claims the oldest claimable job (queued, or running with an expired lease) whose
    /// owner has fewer than `max_running_per_owner` live leases. Jobs out of attempts
    /// fail their run (`worker_lost`) on the way and are skipped, as are jobs whose run is
    /// already over (retired without events). `None`: nothing to do. The `worker_lost`
    /// events are stored but not returned: a worker that publishes claims
    /// [`Store::claim_jobs`].
    async fn claim_job(
        &self,
        worker_id: &str,
        lease: Duration,
        max_running_per_owner: Option<u32>,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        Ok(self
            .claim_jobs(worker_id, lease, max_running_per_owner, 1)
            .await?
            .jobs
            .pop())
    }

    /// Claims up to `limit` jobs as [`Store::claim_job`] does, oldest first. Without a
    /// per-owner limit they are claimed together (one statement per batch); with one,
    /// one at a time, so that the limit stays exact. No jobs: nothing to do. The events
    /// that failed runs on the way are returned ([`Claims::ended`]) for the caller to
    /// publish.
    async fn claim_jobs(
        &self,
        worker_id: &str,
        lease: Duration,
        max_running_per_owner: Option<u32>,
        limit: u32,
    ) -> Result<Claims, StoreError>;

    /// The worker's heartbeat: renews the lease of every job `worker_id` holds and returns
    /// them, with whether each run's cancellation was requested (one statement on
    /// PostgreSQL; an update and a read in one transaction on SQLite). A job missing from
    /// the answer is no longer this worker's. One call per worker instead of one per
    /// running job.
    async fn heartbeat_held(
        &self,
        worker_id: &str,
        lease: Duration,
    ) -> Result<Vec<HeldJob>, StoreError>;

    /// Runs whose cancellation was requested among the jobs `worker_id` holds (a read;
    /// polled by each worker often enough that a cancel reaches the run within a second).
    async fn cancel_requested(&self, worker_id: &str) -> Result<Vec<Uuid>, StoreError>;

    /// Marks the job done; `false` if `worker_id` no longer holds it.
    async fn complete_job(&self, job_id: Uuid, worker_id: &str) -> Result<bool, StoreError>;

    /// Hands the job back to the queue (graceful shutdown) without counting the attempt;
    /// `false` if `worker_id` no longer holds it.
    async fn release_job(&self, job_id: Uuid, worker_id: &str) -> Result<bool, StoreError>;

    /// Asks to cancel a run: sets `cancel_requested` (seen by [`Store::heartbeat_held`] and
    /// [`Store::cancel_requested`] of the worker holding its job). A run
    /// no worker holds is cancelled at once (`status: cancelled` and `finished` events,
    /// job done; the events are returned in [`Cancellation::ended`] for the caller to
    /// publish); a terminal run is left as it is.
    async fn request_cancel(&self, owner: Uuid, run_id: Uuid) -> Result<Cancellation, StoreError>;

    /// Hands a human's answer to a run that waits for one (status `waiting_input`), for
    /// its worker to [`Store::take_input`]. [`StoreError::Conflict`] when the run is not
    /// waiting, is being cancelled, or already has an answer pending. Returns the run.
    async fn submit_input(
        &self,
        owner: Uuid,
        run_id: Uuid,
        content: &str,
    ) -> Result<RunRecord, StoreError>;

    /// Takes the run's pending answer, if any, leaving none (workers; also used to drop
    /// a stale answer before asking anew).
    async fn take_input(&self, run_id: Uuid) -> Result<Option<String>, StoreError>;
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Pool size (default 10): PostgreSQL connections; on SQLite, the read connections
    /// beside the one writer (at most 8).
    pub max_connections: u32,
    /// How long to wait for a pooled connection before [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the store named by `url` (`sqlite://path`, `sqlite::memory:`,
/// `postgres://…`) with default options and applies migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(url, &ConnectOptions::default()).await
}

/// [`connect`] with explicit options.
pub async fn connect_with(
    url: &str,
    options: &ConnectOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(url, options).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PgStore::connect(url, options).await?)
    } else {
        return Err(StoreError::Invalid(format!(
            "unsupported database URL scheme {:?} (use sqlite:// or postgres://)",
            url.split(':').next().unwrap_or_default()
        )));
    };
    store.migrate().await?;
    Ok(store)
}

/// `url` without its password, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => host,
        None => authority,
    };
    let path = path.split('?').next().unwrap_or_default();
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x?sslmode=require&password=p"),
            "postgres://db:5432/x"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    }

    #[tokio::test]
    async fn memory_sqlite_and_bad_schemes() {
        let store = match connect("sqlite::memory:").await {
            Ok(store) => store,
            Err(error) => return assert_eq!(Some(error), None),
        };
        assert_eq!(store.backend(), "sqlite");
        assert_eq!(store.health().await, Ok(()));
        let first = store.ensure_user("me@local").await;
        assert!(first.is_ok());
        assert_eq!(store.ensure_user("me@local").await, first);
        assert!(matches!(
            connect("mysql://x/y").await.err(),
            Some(StoreError::Invalid(_))
        ));
        let quick = ConnectOptions {
            acquire_timeout: Duration::from_millis(500),
            ..ConnectOptions::default()
        };
        let down = connect_with("postgres://u:hunter2@127.0.0.1:1/x", &quick)
            .await
            .err();
        match down {
            Some(StoreError::Unavailable(message)) => assert!(!message.contains("hunter2")),
            other => assert_eq!(other, None, "expected Unavailable"),
        }
    }
}

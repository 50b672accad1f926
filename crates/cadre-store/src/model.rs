//! Owns the record types the store hands out ([`TeamRecord`], [`RunRecord`],
//! [`ClaimedJob`], …), the inputs it takes ([`NewRun`], [`EventBatch`], [`RunQuery`]),
//! the records a backend writes for new teams and runs, and the time values both
//! backends bind.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cadre_core::{FailureCode, RunEvent, RunStatus, TeamSpec, UsageTotals};

use crate::error::StoreError;

/// Largest page a list method returns; larger limits are clamped.
pub const MAX_PAGE: u32 = 500;

/// A saved team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRecord {
    /// Team id.
    pub id: Uuid,
    /// Owning user.
    pub owner: Uuid,
    /// Name (mirrors `spec.name`).
    pub name: String,
    /// The team.
    pub spec: TeamSpec,
    /// Creation time (microsecond precision).
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
}

impl TeamRecord {
    /// A new team of `owner`, created now.
    pub(crate) fn new(owner: Uuid, spec: &TeamSpec) -> Self {
        let now = now_micros();
        Self {
            id: Uuid::new_v4(),
            owner,
            name: spec.name.clone(),
            spec: spec.clone(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// What [`crate::Store::create_run`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Owning user (must exist).
    pub owner: Uuid,
    /// The task.
    pub task: String,
    /// The run's request and options, opaque to the store.
    pub request: serde_json::Value,
    /// How many times a worker may claim the run's job before the run fails (≥ 1).
    pub max_attempts: u32,
}

impl NewRun {
    /// Refuses a run its job could never be claimed for (`max_attempts` 0).
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.max_attempts == 0 {
            return Err(StoreError::Invalid(
                "max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The record of this run as `create_run` writes it: queued, no events yet.
    pub(crate) fn into_record(self, id: Uuid, now: DateTime<Utc>) -> RunRecord {
        RunRecord {
            id,
            owner: self.owner,
            task: self.task,
            request: self.request,
            status: RunStatus::Queued,
            team: None,
            summary: None,
            error_code: None,
            error_message: None,
            usage: UsageTotals::default(),
            last_seq: 0,
            cancel_requested: false,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
        }
    }
}

/// One run's events for [`crate::Store::append_event_batches`]: contiguous seqs,
/// continuing the run's stored last seq.
#[derive(Debug, Clone, PartialEq)]
pub struct EventBatch {
    /// The run.
    pub run_id: Uuid,
    /// Its next durable events, in seq order.
    pub events: Vec<RunEvent>,
}

/// A run as stored: its summary row, kept current from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub id: Uuid,
    /// Owning user.
    pub owner: Uuid,
    /// The task.
    pub task: String,
    /// The run's request and options, as given to `create_run`.
    pub request: serde_json::Value,
    /// Current status (from the last `status` event; `queued` before any).
    pub status: RunStatus,
    /// The team from the last `team` event.
    pub team: Option<TeamSpec>,
    /// Summary from the `finished` event.
    pub summary: Option<String>,
    /// Code of the last `error` event.
    pub error_code: Option<FailureCode>,
    /// Message of the last `error` event.
    pub error_message: Option<String>,
    /// Usage totals from the `finished` event (zero before).
    pub usage: UsageTotals,
    /// Seq of the last stored event (0: none).
    pub last_seq: u64,
    /// Whether the user asked to cancel.
    pub cancel_requested: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of the row.
    pub updated_at: DateTime<Utc>,
    /// When the run first started executing.
    pub started_at: Option<DateTime<Utc>>,
    /// When the run reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which runs [`crate::Store::list_runs_of`] lists (newest first), and which page of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunQuery {
    /// Runs of this owner only (`None`: everyone's, for admins).
    pub owner: Option<Uuid>,
    /// Runs of this status only (`None`: any).
    pub status: Option<RunStatus>,
    /// The cursor the previous page returned (`None`: the first page).
    pub cursor: Option<String>,
    /// Page size (clamped to `1..=MAX_PAGE`).
    pub limit: u32,
}

/// A job a worker claimed: it holds the lease until it expires (each
/// [`crate::Store::heartbeat_held`] extends it) or the job is completed or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Job id.
    pub job_id: Uuid,
    /// The run to execute (or resume).
    pub run_id: Uuid,
    /// The run's owner.
    pub owner: Uuid,
    /// Which claim this is (1 for the first; > 1 means an earlier worker was lost and the
    /// run should resume from [`crate::Store::resume_state`]).
    pub attempt: u32,
}

/// The queue as [`crate::Store::queue_stats`] reads it, for metrics and autoscaling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Jobs waiting to be claimed (never claimed, released, or out of their lease).
    pub queued: u64,
    /// Jobs a worker holds now.
    pub running: u64,
    /// When the oldest waiting job was created (`None`: nothing waits).
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

/// How a store's connection pools are used now (summed over its pools).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most the pools may open.
    pub max: u32,
}

/// What [`crate::Store::claim_jobs`] did: the jobs it claimed, and the closing events it
/// wrote itself for runs it gave up (out of attempts: `worker_lost`). The store only
/// stores those events; the caller publishes them live, as it does every other event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    /// The claimed jobs, oldest first.
    pub jobs: Vec<ClaimedJob>,
    /// Events stored for runs failed on the way, in seq order per run.
    pub ended: Vec<RunEvent>,
}

/// What [`crate::Store::request_cancel`] did: the run as it is now, and the closing
/// events the store wrote itself when no worker held the run (`status: cancelled`,
/// `finished`), for the caller to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancellation {
    /// The run after the request.
    pub run: RunRecord,
    /// Events stored to end a run no worker held; empty otherwise.
    pub ended: Vec<RunEvent>,
}

/// A job a worker holds, as its worker-wide heartbeat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldJob {
    /// The job.
    pub job_id: Uuid,
    /// Its run.
    pub run_id: Uuid,
    /// Whether the user asked to cancel the run.
    pub cancel_requested: bool,
}

/// The current time truncated to microseconds (what both backends store).
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// A lease as microseconds, the unit both backends bind it in.
pub(crate) fn lease_micros(lease: Duration) -> Result<i64, StoreError> {
    i64::try_from(lease.as_micros()).map_err(|_| StoreError::Invalid("lease too long".into()))
}

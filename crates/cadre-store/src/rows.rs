//! Owns the rows the backends read and their one conversion into the public records.
//! Each row is a plain struct decoded with `sqlx::FromRow` by either backend, generic over
//! how the backend stores a timestamp ([`StoredTime`]: microseconds since the epoch on
//! SQLite, `timestamptz` on PostgreSQL) and, for job counters, its integer width. Field
//! names are the column names (or aliases) the backends select. No SQL here: each backend
//! writes its own statements.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cadre_core::{RunEvent, UsageTotals};

use crate::accounts::{ApiTokenRecord, AuditRecord, StoredCredential, UserRecord};
use crate::effects::{decode_event, parse_failure_code, parse_status, parse_team, to_u32, to_u64};
use crate::error::StoreError;
use crate::files::RunFileRecord;
use crate::model::{ClaimedJob, HeldJob, RunRecord, TeamRecord};

/// A timestamp as a backend stores it.
pub(crate) trait StoredTime {
    /// The time it stands for.
    fn into_utc(self) -> Result<DateTime<Utc>, StoreError>;
}

/// SQLite: microseconds since the epoch.
impl StoredTime for i64 {
    fn into_utc(self) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_micros(self)
            .ok_or_else(|| StoreError::internal("timestamp out of range in database"))
    }
}

/// PostgreSQL: `timestamptz`.
impl StoredTime for DateTime<Utc> {
    fn into_utc(self) -> Result<DateTime<Utc>, StoreError> {
        Ok(self)
    }
}

fn optional_time<T: StoredTime>(time: Option<T>) -> Result<Option<DateTime<Utc>>, StoreError> {
    time.map(StoredTime::into_utc).transpose()
}

/// A row that stands for one public record.
pub(crate) trait IntoRecord {
    /// The record.
    type Record;
    /// Checks and converts the row.
    fn into_record(self) -> Result<Self::Record, StoreError>;
}

/// Converts rows in order, failing on the first bad one.
pub(crate) fn into_records<R: IntoRecord>(rows: Vec<R>) -> Result<Vec<R::Record>, StoreError> {
    rows.into_iter().map(IntoRecord::into_record).collect()
}

/// Converts an optional row.
pub(crate) fn optional_record<R: IntoRecord>(
    row: Option<R>,
) -> Result<Option<R::Record>, StoreError> {
    row.map(IntoRecord::into_record).transpose()
}

/// Converts a row that must be there: `NotFound { what }` when it is not.
pub(crate) fn found_record<R: IntoRecord>(
    row: Option<R>,
    what: &'static str,
) -> Result<R::Record, StoreError> {
    row.ok_or(StoreError::NotFound { what })?.into_record()
}

/// The stored last seq of a run, read with `SELECT last_seq` (`None`: no such run).
pub(crate) fn last_seq(stored: Option<i64>) -> Result<u64, StoreError> {
    to_u64(stored.ok_or(StoreError::NotFound { what: "run" })?)
}

/// Usage totals as stored in a run row (or summed over run rows).
#[derive(sqlx::FromRow)]
pub(crate) struct UsageRow {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
    pub calls: i64,
}

impl IntoRecord for UsageRow {
    type Record = UsageTotals;

    fn into_record(self) -> Result<UsageTotals, StoreError> {
        Ok(UsageTotals {
            prompt_tokens: to_u64(self.prompt_tokens)?,
            completion_tokens: to_u64(self.completion_tokens)?,
            cost_usd: self.cost_usd,
            calls: to_u64(self.calls)?,
        })
    }
}

/// A `runs` row; `request` and `team` as JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct RunRow<T> {
    pub id: Uuid,
    pub owner: Uuid,
    pub task: String,
    pub request: String,
    pub status: String,
    pub team: Option<String>,
    pub summary: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    #[sqlx(flatten)]
    pub usage: UsageRow,
    pub last_seq: i64,
    pub cancel_requested: bool,
    pub created_at: T,
    pub updated_at: T,
    pub started_at: Option<T>,
    pub finished_at: Option<T>,
}

impl<T: StoredTime> IntoRecord for RunRow<T> {
    type Record = RunRecord;

    fn into_record(self) -> Result<RunRecord, StoreError> {
        Ok(RunRecord {
            id: self.id,
            owner: self.owner,
            task: self.task,
            request: serde_json::from_str(&self.request)?,
            status: parse_status(&self.status)?,
            team: self.team.as_deref().map(parse_team).transpose()?,
            summary: self.summary,
            error_code: self
                .error_code
                .as_deref()
                .map(parse_failure_code)
                .transpose()?,
            error_message: self.error_message,
            usage: self.usage.into_record()?,
            last_seq: to_u64(self.last_seq)?,
            cancel_requested: self.cancel_requested,
            created_at: self.created_at.into_utc()?,
            updated_at: self.updated_at.into_utc()?,
            started_at: optional_time(self.started_at)?,
            finished_at: optional_time(self.finished_at)?,
        })
    }
}

/// A `teams` row; `spec` as JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow<T> {
    pub id: Uuid,
    pub owner: Uuid,
    pub name: String,
    pub spec: String,
    pub created_at: T,
    pub updated_at: T,
}

impl<T: StoredTime> IntoRecord for TeamRow<T> {
    type Record = TeamRecord;

    fn into_record(self) -> Result<TeamRecord, StoreError> {
        Ok(TeamRecord {
            id: self.id,
            owner: self.owner,
            name: self.name,
            spec: parse_team(&self.spec)?,
            created_at: self.created_at.into_utc()?,
            updated_at: self.updated_at.into_utc()?,
        })
    }
}

/// An `events` row of one run; `data` as JSON text.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow<T> {
    pub seq: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub at: T,
    pub data: String,
}

impl<T: StoredTime> EventRow<T> {
    /// The event, of the run `run_id` (as its events name it).
    pub fn into_event(self, run_id: Uuid) -> Result<RunEvent, StoreError> {
        decode_event(
            run_id,
            self.seq,
            &self.kind,
            self.at.into_utc()?,
            &self.data,
        )
    }
}

/// A `jobs` row a claim returned; counters as the backend's integer type.
#[derive(sqlx::FromRow)]
pub(crate) struct ClaimRow<N> {
    pub id: Uuid,
    pub run_id: Uuid,
    pub owner: Uuid,
    pub attempts: N,
    pub idle_attempts: N,
    pub max_attempts: N,
}

/// A claimed job with the limit its attempts without progress are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub job: ClaimedJob,
    /// Claims in a row since the run last stored an event, this one included.
    pub idle_attempts: u32,
    pub max_attempts: u32,
}

impl Claim {
    /// Whether the job may run: within its attempts without progress (a run that keeps
    /// losing its worker at the same point is given up; one that moves on between crashes
    /// is not), and its run not over (a worker can finish a run and die before completing
    /// its job). Otherwise the claimer retires it.
    pub fn runnable(&self, run_terminal: bool) -> bool {
        self.idle_attempts <= self.max_attempts && !run_terminal
    }
}

impl<N: Into<i64>> IntoRecord for ClaimRow<N> {
    type Record = Claim;

    fn into_record(self) -> Result<Claim, StoreError> {
        Ok(Claim {
            job: ClaimedJob {
                job_id: self.id,
                run_id: self.run_id,
                owner: self.owner,
                attempt: to_u32(self.attempts.into())?,
            },
            idle_attempts: to_u32(self.idle_attempts.into())?,
            max_attempts: to_u32(self.max_attempts.into())?,
        })
    }
}

/// Where a claimed job's run stands: its status and last seq.
#[derive(sqlx::FromRow)]
pub(crate) struct RunStateRow {
    pub status: String,
    pub last_seq: i64,
}

/// A run's state as [`RunStateRow`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunState {
    /// The run is completed, failed or cancelled.
    pub terminal: bool,
    pub last_seq: u64,
}

impl IntoRecord for RunStateRow {
    type Record = RunState;

    fn into_record(self) -> Result<RunState, StoreError> {
        Ok(RunState {
            terminal: parse_status(&self.status)?.is_terminal(),
            last_seq: to_u64(self.last_seq)?,
        })
    }
}

/// A `(job id, run id, cancel requested)` row of a worker-wide heartbeat.
pub(crate) fn held_job((job_id, run_id, cancel_requested): (Uuid, Uuid, bool)) -> HeldJob {
    HeldJob {
        job_id,
        run_id,
        cancel_requested,
    }
}

/// A `users` row (without the password hash).
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow<T> {
    pub id: Uuid,
    pub email: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: T,
}

impl<T: StoredTime> IntoRecord for UserRow<T> {
    type Record = UserRecord;

    fn into_record(self) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            id: self.id,
            email: self.email,
            is_admin: self.is_admin,
            disabled: self.disabled,
            created_at: self.created_at.into_utc()?,
        })
    }
}

/// A `users` row with the password hash, for logging in.
#[derive(sqlx::FromRow)]
pub(crate) struct LoginRow<T> {
    #[sqlx(flatten)]
    pub user: UserRow<T>,
    pub password_hash: Option<String>,
}

impl<T: StoredTime> IntoRecord for LoginRow<T> {
    type Record = (UserRecord, Option<String>);

    fn into_record(self) -> Result<Self::Record, StoreError> {
        Ok((self.user.into_record()?, self.password_hash))
    }
}

/// A `refresh_tokens` row being presented, with its user's `disabled` flag.
#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow<T> {
    pub user_id: Uuid,
    pub family: Uuid,
    pub expires_at: T,
    pub used_at: Option<T>,
    pub revoked_at: Option<T>,
    pub disabled: bool,
}

/// What a presented refresh token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presented {
    /// Revoked, expired, or its user is disabled.
    Invalid,
    /// Used once already: its family is to be revoked.
    Reused { user_id: Uuid, family: Uuid },
    /// Valid: to be used up, and its successor stored in its family.
    Fresh { user_id: Uuid, family: Uuid },
}

impl<T: StoredTime> RefreshRow<T> {
    /// What presenting this token at `now` allows.
    pub fn presented(self, now: DateTime<Utc>) -> Result<Presented, StoreError> {
        let Self {
            user_id,
            family,
            expires_at,
            used_at,
            revoked_at,
            disabled,
        } = self;
        if revoked_at.is_some() || expires_at.into_utc()? <= now || disabled {
            Ok(Presented::Invalid)
        } else if used_at.is_some() {
            Ok(Presented::Reused { user_id, family })
        } else {
            Ok(Presented::Fresh { user_id, family })
        }
    }
}

/// An `api_tokens` row (without the hash).
#[derive(sqlx::FromRow)]
pub(crate) struct ApiTokenRow<T> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub hint: String,
    pub created_at: T,
    pub expires_at: Option<T>,
    pub revoked_at: Option<T>,
}

impl<T: StoredTime> IntoRecord for ApiTokenRow<T> {
    type Record = ApiTokenRecord;

    fn into_record(self) -> Result<ApiTokenRecord, StoreError> {
        Ok(ApiTokenRecord {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            hint: self.hint,
            created_at: self.created_at.into_utc()?,
            expires_at: optional_time(self.expires_at)?,
            revoked_at: optional_time(self.revoked_at)?,
        })
    }
}

/// A `provider_credentials` row.
#[derive(sqlx::FromRow)]
pub(crate) struct CredentialRow<T> {
    pub user_id: Uuid,
    pub provider: String,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub base_url: Option<String>,
    pub default_model: Option<String>,
    pub hint: String,
    pub updated_at: T,
}

impl<T: StoredTime> IntoRecord for CredentialRow<T> {
    type Record = StoredCredential;

    fn into_record(self) -> Result<StoredCredential, StoreError> {
        Ok(StoredCredential {
            user_id: self.user_id,
            provider: self.provider,
            key_id: self.key_id,
            nonce: self.nonce,
            ciphertext: self.ciphertext,
            base_url: self.base_url,
            default_model: self.default_model,
            hint: self.hint,
            updated_at: self.updated_at.into_utc()?,
        })
    }
}

/// An `audit_log` row.
#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow<T> {
    pub id: i64,
    pub at: T,
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    pub event: String,
    pub detail: Option<String>,
    pub ip: Option<String>,
}

impl<T: StoredTime> IntoRecord for AuditRow<T> {
    type Record = AuditRecord;

    fn into_record(self) -> Result<AuditRecord, StoreError> {
        Ok(AuditRecord {
            id: self.id,
            at: self.at.into_utc()?,
            user_id: self.user_id,
            email: self.email,
            event: self.event,
            detail: self.detail,
            ip: self.ip,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::now_micros;

    fn presented(row: RefreshRow<i64>, now: DateTime<Utc>) -> Presented {
        row.presented(now).unwrap()
    }

    #[test]
    fn a_presented_refresh_token_is_fresh_reused_or_invalid() {
        let now = now_micros();
        let (user_id, family) = (Uuid::new_v4(), Uuid::new_v4());
        let row = || RefreshRow {
            user_id,
            family,
            expires_at: now.timestamp_micros() + 1,
            used_at: None,
            revoked_at: None,
            disabled: false,
        };
        assert_eq!(presented(row(), now), Presented::Fresh { user_id, family });
        let used = RefreshRow {
            used_at: Some(0),
            ..row()
        };
        assert_eq!(presented(used, now), Presented::Reused { user_id, family });
        for invalid in [
            RefreshRow {
                expires_at: now.timestamp_micros(),
                ..row()
            },
            RefreshRow {
                revoked_at: Some(0),
                used_at: Some(0),
                ..row()
            },
            RefreshRow {
                disabled: true,
                ..row()
            },
        ] {
            assert_eq!(presented(invalid, now), Presented::Invalid);
        }
    }

    #[test]
    fn a_claim_runs_within_its_attempts_without_progress_while_its_run_is_not_over() {
        let claim = |attempts: i64, idle_attempts: i64| {
            ClaimRow {
                id: Uuid::new_v4(),
                run_id: Uuid::new_v4(),
                owner: Uuid::new_v4(),
                attempts,
                idle_attempts,
                max_attempts: 2,
            }
            .into_record()
            .unwrap()
        };
        assert!(claim(2, 2).runnable(false));
        assert!(!claim(3, 3).runnable(false));
        // Many attempts, but the run moved on since the last one.
        assert!(claim(7, 1).runnable(false));
        assert!(!claim(1, 1).runnable(true));
        let negative = ClaimRow {
            id: Uuid::nil(),
            run_id: Uuid::nil(),
            owner: Uuid::nil(),
            attempts: -1_i64,
            idle_attempts: 0,
            max_attempts: 1,
        };
        assert!(
            negative.into_record().is_err(),
            "a corrupt counter is an error"
        );
    }
}

/// A `run_files` row without its content.
#[derive(sqlx::FromRow)]
pub(crate) struct RunFileRow<T> {
    pub run_id: Uuid,
    pub path: String,
    pub size_bytes: i64,
    pub content_type: String,
    pub sha256: String,
    pub created_at: T,
}

impl<T: StoredTime> IntoRecord for RunFileRow<T> {
    type Record = RunFileRecord;

    fn into_record(self) -> Result<RunFileRecord, StoreError> {
        Ok(RunFileRecord {
            run_id: self.run_id,
            path: self.path,
            size_bytes: to_u64(self.size_bytes)?,
            content_type: self.content_type,
            sha256: self.sha256,
            created_at: self.created_at.into_utc()?,
        })
    }
}

/// A `run_files` row with its content.
#[derive(sqlx::FromRow)]
pub(crate) struct RunFileContentRow<T> {
    #[sqlx(flatten)]
    pub file: RunFileRow<T>,
    pub content: Vec<u8>,
}

impl<T: StoredTime> IntoRecord for RunFileContentRow<T> {
    type Record = (RunFileRecord, Vec<u8>);

    fn into_record(self) -> Result<(RunFileRecord, Vec<u8>), StoreError> {
        Ok((self.file.into_record()?, self.content))
    }
}

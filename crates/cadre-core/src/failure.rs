//! Owns the one vocabulary of run failures: [`FailureCode`] (the stable code of an `error`
//! event), [`RunFailure`] (code, message, whether a retry may help) and [`RunEnd`], the
//! events that close a run's log. The engine, the worker and the store all end runs
//! through [`RunEnd::events`], so every closing frame has the same shape: `error` (when
//! it failed), the final `status`, then `finished`.

use serde::{Deserialize, Serialize};

use crate::event::{EventKind, UsageTotals};
use crate::model::ModelError;
use crate::termination::StopReason;

/// Why a run failed, as a stable machine-readable code (the `code` of an `error` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The model is misconfigured (no key, unknown provider, bad base URL).
    LlmConfig,
    /// The model's server could not be reached.
    LlmUnreachable,
    /// The model's provider answered with an error.
    LlmProviderError,
    /// The model did not answer, or its stream went idle, in time.
    LlmTimeout,
    /// The model's answer could not be understood.
    LlmInvalidResponse,
    /// The team builder could not design a team from the model's answers.
    TeamBuildFailed,
    /// The team (given, built or overridden) is not a valid team.
    InvalidTeam,
    /// The run exceeded its wall-clock limit.
    Timeout,
    /// The run's workers kept stopping (crashed or lost their lease) until its attempts
    /// ran out.
    WorkerLost,
    /// The owner's daily token or spend quota is used up.
    QuotaExceeded,
    /// The stored run request cannot be read.
    InvalidRequest,
    /// The owner's stored provider key cannot be opened (e.g. the server secret changed).
    CredentialUnreadable,
    /// The database could not be read while preparing the run.
    StoreUnavailable,
}

impl FailureCode {
    /// The wire name (`llm_unreachable`, `worker_lost`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureCode::LlmConfig => "llm_config",
            FailureCode::LlmUnreachable => "llm_unreachable",
            FailureCode::LlmProviderError => "llm_provider_error",
            FailureCode::LlmTimeout => "llm_timeout",
            FailureCode::LlmInvalidResponse => "llm_invalid_response",
            FailureCode::TeamBuildFailed => "team_build_failed",
            FailureCode::InvalidTeam => "invalid_team",
            FailureCode::Timeout => "timeout",
            FailureCode::WorkerLost => "worker_lost",
            FailureCode::QuotaExceeded => "quota_exceeded",
            FailureCode::InvalidRequest => "invalid_request",
            FailureCode::CredentialUnreadable => "credential_unreadable",
            FailureCode::StoreUnavailable => "store_unavailable",
        }
    }

    /// Whether running the same request again may succeed when nothing says otherwise
    /// (a model error knows better: see [`RunFailure::from_model`]).
    pub fn retryable(self) -> bool {
        matches!(
            self,
            FailureCode::LlmUnreachable
                | FailureCode::LlmTimeout
                | FailureCode::WorkerLost
                | FailureCode::StoreUnavailable
        )
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a run failed, as reported in its `error` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    /// Stable code.
    pub code: FailureCode,
    /// Human-readable message (never contains secrets).
    pub message: String,
    /// Whether retrying the run may help.
    pub retryable: bool,
}

impl RunFailure {
    /// A failure whose retryability is the code's default.
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: code.retryable(),
        }
    }

    /// The failure a model error ends a run with; `None` for a cancellation, which ends
    /// the run as cancelled, not failed.
    pub fn from_model(error: &ModelError) -> Option<Self> {
        let code = match error {
            ModelError::Cancelled => return None,
            ModelError::Config(_) => FailureCode::LlmConfig,
            ModelError::Unreachable { .. } => FailureCode::LlmUnreachable,
            ModelError::Provider { .. } => FailureCode::LlmProviderError,
            ModelError::Timeout(_) => FailureCode::LlmTimeout,
            ModelError::InvalidResponse(_) => FailureCode::LlmInvalidResponse,
        };
        Some(Self {
            code,
            message: error.to_string(),
            retryable: error.retryable(),
        })
    }

    /// The run's wall-clock limit passed.
    pub fn timeout() -> Self {
        Self::new(FailureCode::Timeout, "the run exceeded its time limit")
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// How a run ends: what its closing events say.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    /// Why it ended.
    pub reason: StopReason,
    /// The last meaningful message, or the failure's message.
    pub summary: String,
    /// Usage totals of the whole run.
    pub usage: UsageTotals,
    /// The failure, when it failed.
    pub failure: Option<RunFailure>,
}

impl RunEnd {
    /// A run that ended for `reason` without a failure of its own. A timeout is a
    /// failure ([`RunFailure::timeout`]) whatever the caller passes.
    pub fn new(reason: StopReason, summary: impl Into<String>, usage: UsageTotals) -> Self {
        let failure = (reason == StopReason::Timeout).then(RunFailure::timeout);
        Self {
            reason,
            summary: summary.into(),
            usage,
            failure,
        }
    }

    /// A run that failed: the failure's message is the summary.
    pub fn failed(failure: RunFailure, usage: UsageTotals) -> Self {
        Self {
            reason: StopReason::Error,
            summary: failure.message.clone(),
            usage,
            failure: Some(failure),
        }
    }

    /// The events that close the run's log: `error` (when it failed), the final
    /// `status`, then `finished`, always last.
    pub fn events(&self) -> Vec<EventKind> {
        let status = self.reason.status();
        let mut events = Vec::with_capacity(3);
        if let Some(failure) = &self.failure {
            events.push(EventKind::Error {
                code: failure.code,
                message: failure.message.clone(),
                retryable: failure.retryable,
            });
        }
        events.push(EventKind::Status { status });
        events.push(EventKind::Finished {
            status,
            summary: self.summary.clone(),
            reason: self.reason,
            usage: self.usage,
        });
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RunStatus;

    #[test]
    fn codes_have_their_wire_names() {
        for code in [
            FailureCode::LlmConfig,
            FailureCode::LlmUnreachable,
            FailureCode::LlmProviderError,
            FailureCode::LlmTimeout,
            FailureCode::LlmInvalidResponse,
            FailureCode::TeamBuildFailed,
            FailureCode::InvalidTeam,
            FailureCode::Timeout,
            FailureCode::WorkerLost,
            FailureCode::QuotaExceeded,
            FailureCode::InvalidRequest,
            FailureCode::CredentialUnreadable,
            FailureCode::StoreUnavailable,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
            assert_eq!(serde_json::from_value::<FailureCode>(json).unwrap(), code);
        }
    }

    #[test]
    fn model_errors_map_to_codes_and_keep_their_retryability() {
        let overloaded = ModelError::Provider {
            status: Some(503),
            message: "overloaded".into(),
            retryable: true,
        };
        let failure = RunFailure::from_model(&overloaded).unwrap();
        assert_eq!(failure.code, FailureCode::LlmProviderError);
        assert!(failure.retryable);
        let bad_key = ModelError::Provider {
            status: Some(401),
            message: "bad key".into(),
            retryable: false,
        };
        assert!(!RunFailure::from_model(&bad_key).unwrap().retryable);
        assert_eq!(RunFailure::from_model(&ModelError::Cancelled), None);
    }

    #[test]
    fn a_failed_end_is_error_then_status_then_finished() {
        let end = RunEnd::failed(
            RunFailure::new(FailureCode::WorkerLost, "gone"),
            UsageTotals::default(),
        );
        let events = end.events();
        assert!(matches!(
            &events[0],
            EventKind::Error { code: FailureCode::WorkerLost, message, retryable: true } if message == "gone"
        ));
        assert_eq!(
            events[1],
            EventKind::Status {
                status: RunStatus::Failed
            }
        );
        assert!(matches!(
            &events[2],
            EventKind::Finished { status: RunStatus::Failed, reason: StopReason::Error, summary, .. } if summary == "gone"
        ));
    }

    #[test]
    fn a_timeout_reports_its_error_and_a_cancel_none() {
        let timeout = RunEnd::new(StopReason::Timeout, "late", UsageTotals::default());
        assert!(matches!(
            timeout.events()[0],
            EventKind::Error {
                code: FailureCode::Timeout,
                retryable: false,
                ..
            }
        ));
        let cancelled = RunEnd::new(StopReason::Cancelled, "stopped", UsageTotals::default());
        let kinds: Vec<_> = cancelled.events().iter().map(|e| e.type_name()).collect();
        assert_eq!(kinds, ["status", "finished"]);
    }
}

//! Owns what the API says about code execution: which sandbox runs generated code and
//! what it enforces, reported by `/readyz` and `GET /api/v1/info` so operators and the UI
//! see the sandbox in use.

use serde::Serialize;
use utoipa::ToSchema;

/// Whether and where this deployment runs generated code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SandboxState {
    /// This process executes code in the sandbox described, which passed its start-up
    /// probe.
    Active,
    /// Code execution is off: by configuration (`CADRE_SANDBOX=none`) or because the
    /// configured sandbox does not work here (`reason`).
    Off,
    /// This process runs no code (`cadre api`): the workers do, with the configured
    /// backend, and report it in their logs and `cadre sandbox check`.
    OnWorkers,
}

/// The sandbox generated code runs in.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SandboxView {
    /// Configured backend (`bwrap`, `docker`, `local-unsafe`, `none`).
    pub backend: String,
    /// Whether code runs, and where.
    pub state: SandboxState,
    /// The isolation and limits in force, one line each (empty unless `active`).
    pub enforced: Vec<String>,
    /// Why code execution is off, when it is off because the sandbox does not work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SandboxView {
    /// An executor that passed its probe.
    pub fn active(info: cadre_core::executor::ExecutorInfo) -> Self {
        Self {
            backend: info.backend,
            state: SandboxState::Active,
            enforced: info.enforced,
            reason: None,
        }
    }

    /// Code execution off; `reason` when the configured backend failed.
    pub fn off(backend: &str, reason: Option<String>) -> Self {
        Self {
            backend: backend.to_string(),
            state: SandboxState::Off,
            enforced: Vec::new(),
            reason,
        }
    }

    /// A process without a worker: the configured backend, not probed here.
    pub fn on_workers(backend: &str) -> Self {
        Self {
            backend: backend.to_string(),
            state: SandboxState::OnWorkers,
            enforced: Vec::new(),
            reason: None,
        }
    }
}

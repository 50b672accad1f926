//! # cadre-sandbox
//!
//! Implementations of [`cadre_core::executor::CodeExecutor`]: where generated code runs,
//! and what it cannot reach (`docs/DESIGN.md` §7). Code is hostile until proven otherwise.
//!
//! # Layout
//!
//! - [`from_name`]: choosing a backend by its configured name (`CADRE_SANDBOX`,
//!   `--sandbox`), checking that it works on this host.
//! - [`SandboxConfig`]: limits, workspace location, sandbox uid, python path.
//! - `executors::bwrap` ([`BwrapExecutor`]): the default; a bubblewrap sandbox per
//!   execution with no network, a read-only system, a seccomp filter, a cgroup with
//!   memory, process and CPU limits, rlimits, and (when the server is root) a uid of
//!   the run's own.
//! - `executors::local_unsafe` ([`LocalUnsafeExecutor`]): runs code directly on the host;
//!   only when named explicitly.
//! - `process`: child-process supervision shared by the backends (empty environment,
//!   capped concurrent output reading, wall-clock limit, disk-quota watchdog,
//!   cancellation, tree kill).
//! - `cgroup`: per-execution control groups (v2, or v1 on hybrid hosts).
//! - `seccomp`: the system-call filter compiled for bubblewrap.
//! - [`init`]: the sandbox's init, applying Landlock inside the sandbox.
//! - `uid`: leasing a dedicated uid per run ([`UidRange`]).
//! - `quota`: measuring a run's workspace against [`SandboxConfig::workspace_quota_bytes`]
//!   and emptying it when it is over.
//! - `workspace`: per-run directories and safe writing of code files into them.
//! - `host`: read-only facts about the host (root or not, helper programs, `/` layout).
//!
//! Invariant: nothing here falls back to unsandboxed execution on its own. When the
//! configured sandbox does not work, [`from_name`] fails with an actionable message and
//! the caller turns code execution off.

use std::path::PathBuf;
use std::sync::Arc;

use cadre_core::executor::{CodeExecutor, ExecError, ExecutionLimits};

mod cgroup;
pub mod executors;
mod host;
pub mod init;
mod process;
mod quota;
mod seccomp;
mod uid;
mod workspace;

pub use executors::bwrap::{BwrapExecutor, BwrapWorkspace};
pub use executors::local_unsafe::{LocalUnsafeExecutor, LocalUnsafeWorkspace};
pub use process::{CANCELLED_EXIT_CODE, TIMEOUT_EXIT_CODE};
pub use quota::QUOTA_EXIT_CODE;
pub use uid::UidRange;

/// The backend used when none is configured.
pub const DEFAULT_BACKEND: &str = "bwrap";

/// Backend names [`from_name`] accepts.
pub const BACKENDS: &[&str] = &["bwrap", "local-unsafe", "none", "off"];

/// How code executors are set up.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// Limits applied to every execution.
    pub limits: ExecutionLimits,
    /// Directory holding the per-run workspaces. Created 0711 when missing, so the
    /// sandbox uid can reach its own workspace without listing the others.
    pub base_dir: PathBuf,
    /// uids sandboxed code runs as when the server runs as root: each run leases one
    /// of its own (gid = uid) for as long as its workspace is open. Ignored otherwise:
    /// code then runs as the server's own uid in a user namespace.
    pub uid_range: UidRange,
    /// CPU an execution may use, in cores, where cgroups are available.
    pub cpu_cores: f64,
    /// Python interpreter. For the bwrap backend it must live under `/usr` (the only
    /// part of the host filesystem visible inside), so not a pyenv or venv shim.
    pub python: PathBuf,
    /// Allocated bytes a run's workspace may hold, all files together (`RLIMIT_FSIZE`
    /// only caps each file). Checked before each execution, every 200 ms while one runs
    /// and when it ends; an execution over it is stopped (or refused) with
    /// [`QUOTA_EXIT_CODE`] and the workspace is emptied. 0 turns the quota off.
    pub workspace_quota_bytes: u64,
    /// The program run inside each bubblewrap sandbox to apply Landlock before the code
    /// (see [`init`]). `None`: the binary that called [`init::run_if_requested`], if
    /// any; without one, Landlock is not applied and the limits report says so.
    pub init_program: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            limits: ExecutionLimits::default(),
            base_dir: std::env::temp_dir().join("cadre-sandbox"),
            uid_range: UidRange::default(),
            cpu_cores: 1.0,
            python: PathBuf::from("/usr/bin/python3"),
            workspace_quota_bytes: 256 * 1024 * 1024,
            init_program: None,
        }
    }
}

/// The executor named `name` (case-insensitive; empty means [`DEFAULT_BACKEND`]):
///
/// - `bwrap`: [`BwrapExecutor`]; `Err(Unavailable)` with an actionable message when
///   bubblewrap is missing or cannot start a sandbox here.
/// - `local-unsafe`: [`LocalUnsafeExecutor`]; logs a warning, code runs unsandboxed.
/// - `none` / `off`: `Ok(None)`: code execution is off by choice.
/// - anything else (including `docker`, not built yet): `Err(Unavailable)`.
///
/// Never substitutes one backend for another.
pub fn from_name(
    name: &str,
    config: SandboxConfig,
) -> Result<Option<Arc<dyn CodeExecutor>>, ExecError> {
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "" | "bwrap" | "bubblewrap" => Ok(Some(Arc::new(BwrapExecutor::new(config)?))),
        "local-unsafe" | "local_unsafe" => Ok(Some(Arc::new(LocalUnsafeExecutor::new(config)?))),
        "none" | "off" => Ok(None),
        other => Err(ExecError::Unavailable(format!(
            "unknown sandbox backend `{other}` (expected one of: bwrap, local-unsafe, none)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_off_turn_code_execution_off() {
        assert!(
            from_name("none", SandboxConfig::default())
                .unwrap()
                .is_none()
        );
        assert!(
            from_name(" OFF ", SandboxConfig::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn unknown_backends_are_refused_not_substituted() {
        let err = from_name("docker", SandboxConfig::default()).err().unwrap();
        assert!(
            matches!(&err, ExecError::Unavailable(m) if m.contains("unknown sandbox backend `docker`")),
            "{err}"
        );
    }

    #[test]
    fn local_unsafe_is_chosen_only_by_name_and_says_so() {
        let base = tempfile::tempdir().unwrap();
        let config = SandboxConfig {
            base_dir: base.path().join("ws"),
            ..SandboxConfig::default()
        };
        let executor = from_name("local-unsafe", config).unwrap().unwrap();
        let info = executor.info();
        assert_eq!(info.backend, "local-unsafe");
        assert!(
            info.enforced[0].starts_with("NO SANDBOX"),
            "{:?}",
            info.enforced
        );
    }
}

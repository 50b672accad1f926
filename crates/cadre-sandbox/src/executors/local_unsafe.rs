//! The explicitly unsafe backend: code runs directly on the host, as the server's uid,
//! with full network and filesystem access. It only gets an empty environment, a
//! per-run working directory, rlimits (via `prlimit` when installed), the wall-clock
//! limit and process-group kill. Never chosen unless named.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use cadre_core::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionResult, ExecutorInfo,
};
use tokio_util::sync::CancellationToken;

use super::refuse_if_over;
use crate::SandboxConfig;
use crate::host::{self, human_bytes, human_duration};
use crate::process::{self, Spec};
use crate::quota::{self, Quota};
use crate::workspace::WorkspaceDir;

/// Runs code blocks unsandboxed on the host. For development machines where bubblewrap
/// is unavailable and the code is trusted.
#[derive(Debug, Clone)]
pub struct LocalUnsafeExecutor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SandboxConfig,
    prlimit: Option<PathBuf>,
    kill: Option<PathBuf>,
    shell: PathBuf,
    uid: Option<u32>,
}

impl LocalUnsafeExecutor {
    /// Creates the executor and logs a warning that code will run unsandboxed.
    pub fn new(config: SandboxConfig) -> Result<Self, ExecError> {
        let uid = host::effective_uid();
        tracing::warn!(
            uid,
            "code execution is UNSANDBOXED (local-unsafe): generated code runs with this process's \
             user, files and network"
        );
        let inner = Inner {
            config,
            prlimit: host::find_program("prlimit"),
            kill: host::find_program("kill"),
            shell: host::shell(),
            uid,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Opens a run's working directory, with the concrete type.
    pub async fn open(&self, run_id: &str) -> Result<LocalUnsafeWorkspace, ExecError> {
        let dir = WorkspaceDir::create(&self.inner.config.base_dir, run_id, None)?;
        Ok(LocalUnsafeWorkspace {
            dir,
            inner: self.inner.clone(),
        })
    }
}

#[async_trait]
impl CodeExecutor for LocalUnsafeExecutor {
    fn info(&self) -> ExecutorInfo {
        let limits = &self.inner.config.limits;
        let uid = self
            .inner
            .uid
            .map_or_else(|| "unknown".to_string(), |uid| uid.to_string());
        let mut enforced = vec![
            format!(
                "NO SANDBOX: code runs as uid {uid} with the host's files and network (local-unsafe)"
            ),
            "environment: cleared (PATH, HOME, LANG, TMPDIR, PYTHON* only)".to_string(),
            format!(
                "wall time: {} (process group killed)",
                human_duration(limits.wall_time)
            ),
            format!(
                "output: {} per stream",
                human_bytes(limits.max_output_bytes as u64)
            ),
            quota::describe(self.inner.config.workspace_quota_bytes),
        ];
        if self.inner.prlimit.is_some() {
            enforced.push(format!("cpu: RLIMIT_CPU {} s", limits.cpu_seconds));
            enforced.push(format!(
                "memory: RLIMIT_AS {}",
                human_bytes(limits.memory_bytes)
            ));
            if self.inner.uid == Some(0) {
                enforced.push(
                    "processes: not limited (RLIMIT_NPROC does not apply to root)".to_string(),
                );
            } else {
                enforced.push(format!(
                    "processes: RLIMIT_NPROC {} (counts all of the uid's processes)",
                    limits.max_processes
                ));
            }
            enforced.push(format!(
                "file size: RLIMIT_FSIZE {}",
                human_bytes(limits.max_file_bytes)
            ));
            enforced.push(format!(
                "open files: RLIMIT_NOFILE {}",
                super::MAX_OPEN_FILES
            ));
        } else {
            enforced.push(
                "cpu, memory, processes, file size: NOT limited (prlimit not found)".to_string(),
            );
        }
        ExecutorInfo {
            backend: "local-unsafe".to_string(),
            enforced,
        }
    }

    async fn open_workspace(&self, run_id: &str) -> Result<Box<dyn CodeWorkspace>, ExecError> {
        Ok(Box::new(self.open(run_id).await?))
    }
}

/// One run's working directory in the unsafe backend.
#[derive(Debug)]
pub struct LocalUnsafeWorkspace {
    dir: WorkspaceDir,
    inner: Arc<Inner>,
}

impl LocalUnsafeWorkspace {
    /// The working directory on the host.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[async_trait]
impl CodeWorkspace for LocalUnsafeWorkspace {
    #[tracing::instrument(skip_all, fields(language = %block.language))]
    async fn execute(
        &self,
        block: &CodeBlock,
        cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError> {
        let (program, ext) = super::interpreter(
            &block.language,
            &self.inner.config.python,
            &self.inner.shell,
        )?;
        let quota = Quota::new(self.dir.path(), self.inner.config.workspace_quota_bytes);
        if let Some(refused) = refuse_if_over(quota.as_ref()).await {
            return Ok(refused);
        }
        let file = self.dir.path().join(self.dir.write_code(block, ext)?);
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(prlimit) = &self.inner.prlimit {
            argv.push(prlimit.clone().into());
            argv.extend(
                super::prlimit_args(&self.inner.config.limits)
                    .into_iter()
                    .map(OsString::from),
            );
        }
        argv.push(program.into_os_string());
        argv.push(file.into_os_string());
        let dir = self.dir.path().to_string_lossy().into_owned();
        let spec = Spec {
            argv,
            cwd: Some(self.dir.path().to_path_buf()),
            env: super::code_env(&dir, &dir),
            wall_time: self.inner.config.limits.wall_time,
            max_output_bytes: self.inner.config.limits.max_output_bytes,
            kill_program: self.inner.kill.clone(),
            quota,
        };
        process::run(spec, cancel).await
    }

    async fn list_files(&self) -> Result<Vec<cadre_core::executor::WorkspaceFile>, ExecError> {
        self.dir.list_files().await
    }

    async fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, ExecError> {
        self.dir.read_file(path, max_bytes).await
    }

    async fn close(self: Box<Self>) -> Result<(), ExecError> {
        self.dir.remove().await
    }
}

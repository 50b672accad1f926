//! The default backend: each execution runs in a fresh bubblewrap sandbox (own user,
//! PID, network, IPC, UTS and mount namespaces; read-only system; the run's workspace
//! as the only writable host directory) under rlimits set by `prlimit`, and, when the
//! server is root, as an unprivileged uid set by `setpriv`.
//!
//! The launcher chain is `prlimit … -- [setpriv … --] bwrap … -- <interpreter> <file>`;
//! each link `exec`s the next, so the spawned pid is bubblewrap itself and killing it
//! takes the sandbox down (`--die-with-parent`, and the sandbox's PID 1 dying empties
//! its PID namespace).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Where the run's workspace appears inside the sandbox.
const SANDBOX_WORKSPACE: &str = "/workspace";

/// Runs code blocks inside bubblewrap. Cheap to clone-share: one per server.
#[derive(Debug, Clone)]
pub struct BwrapExecutor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SandboxConfig,
    bwrap: PathBuf,
    prlimit: PathBuf,
    /// Present exactly when the server is root: code must never run as host root,
    /// since `--unshare-user` alone would still map to it.
    setpriv: Option<(PathBuf, u32, u32)>,
    kill: Option<PathBuf>,
    shell: PathBuf,
    system_binds: Vec<OsString>,
    /// bubblewrap ≥ 0.5 understands `--size` for a bounded `/tmp`.
    tmpfs_size: bool,
    /// bubblewrap ≥ 0.8 can forbid nested user namespaces.
    disable_userns: bool,
    version: String,
}

impl BwrapExecutor {
    /// Checks that bubblewrap and its helpers are installed and that a trivial sandbox
    /// actually starts here (user namespaces can be disabled by the host), so a broken
    /// setup is reported once at start-up rather than on every code block.
    pub fn new(config: SandboxConfig) -> Result<Self, ExecError> {
        let bwrap = host::find_program("bwrap").ok_or_else(|| {
            ExecError::Unavailable(
                "bubblewrap not found: install the `bubblewrap` package (apt-get install bubblewrap) \
                 or pass --sandbox local-unsafe to run code unsandboxed (dangerous)"
                    .to_string(),
            )
        })?;
        let prlimit = host::find_program("prlimit").ok_or_else(|| {
            ExecError::Unavailable(
                "prlimit not found (needed to apply resource limits): install the `util-linux` package"
                    .to_string(),
            )
        })?;
        let uid = host::effective_uid().ok_or_else(|| {
            ExecError::Unavailable(
                "cannot read /proc/self/status to tell whether we run as root".to_string(),
            )
        })?;
        let setpriv = if uid == 0 {
            if config.sandbox_uid == 0 {
                return Err(ExecError::Unavailable(
                    "sandbox_uid is 0: sandboxed code must run as an unprivileged uid".to_string(),
                ));
            }
            let path = host::find_program("setpriv").ok_or_else(|| {
                ExecError::Unavailable(
                    "setpriv not found (needed to run code as an unprivileged uid when the server is root): \
                     install the `util-linux` package"
                        .to_string(),
                )
            })?;
            Some((path, config.sandbox_uid, config.sandbox_gid))
        } else {
            None
        };
        let help = capture(&bwrap, &["--help"]);
        let version = capture(&bwrap, &["--version"]).trim().to_string();
        let inner = Inner {
            bwrap,
            prlimit,
            setpriv,
            kill: host::find_program("kill"),
            shell: host::shell(),
            system_binds: host::system_binds(),
            tmpfs_size: help.contains("--size"),
            disable_userns: help.contains("--disable-userns"),
            version: if version.is_empty() {
                "bubblewrap".to_string()
            } else {
                version
            },
            config,
        };
        inner.probe()?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Opens a run's workspace, with the concrete type (tests and tools use
    /// [`BwrapWorkspace::path`]).
    pub async fn open(&self, run_id: &str) -> Result<BwrapWorkspace, ExecError> {
        let owner = self
            .inner
            .setpriv
            .as_ref()
            .map(|(_, uid, gid)| (*uid, *gid));
        let dir = WorkspaceDir::create(&self.inner.config.base_dir, run_id, owner)?;
        Ok(BwrapWorkspace {
            dir,
            inner: self.inner.clone(),
        })
    }
}

impl Inner {
    /// The full launcher command line running `program args…` in a sandbox whose
    /// `/workspace` is `workspace`.
    fn argv(&self, workspace: &Path, program: &Path, args: &[OsString]) -> Vec<OsString> {
        let limits = &self.config.limits;
        let mut argv: Vec<OsString> = vec![self.prlimit.clone().into()];
        argv.extend(super::prlimit_args(limits).into_iter().map(OsString::from));
        if let Some((setpriv, uid, gid)) = &self.setpriv {
            argv.push(setpriv.clone().into());
            for arg in [
                format!("--reuid={uid}"),
                format!("--regid={gid}"),
                "--clear-groups".to_string(),
                "--inh-caps=-all".to_string(),
                "--".to_string(),
            ] {
                argv.push(arg.into());
            }
        }
        argv.push(self.bwrap.clone().into());
        let mut push = |args: &[&str]| argv.extend(args.iter().map(OsString::from));
        push(&["--unshare-all", "--unshare-user"]);
        if self.disable_userns {
            push(&["--disable-userns"]);
        }
        push(&[
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "cadre-sandbox",
        ]);
        argv.extend(self.system_binds.iter().cloned());
        let mut push = |args: &[&str]| argv.extend(args.iter().map(OsString::from));
        push(&["--proc", "/proc", "--dev", "/dev"]);
        let size = limits.max_file_bytes.to_string();
        if self.tmpfs_size {
            push(&["--size", &size]);
        }
        push(&["--tmpfs", "/tmp"]);
        argv.extend([
            "--bind".into(),
            workspace.as_os_str().to_owned(),
            SANDBOX_WORKSPACE.into(),
        ]);
        argv.extend([
            "--chdir".into(),
            SANDBOX_WORKSPACE.into(),
            "--clearenv".into(),
        ]);
        for (key, value) in super::code_env(SANDBOX_WORKSPACE, "/tmp") {
            argv.extend(["--setenv".into(), key.into(), value.into()]);
        }
        argv.push("--".into());
        argv.push(program.as_os_str().to_owned());
        argv.extend(args.iter().cloned());
        argv
    }

    fn spec(&self, argv: Vec<OsString>, quota: Option<Quota>) -> Spec {
        Spec {
            argv,
            cwd: None,
            // Everything the code sees is set with --setenv; the launcher chain itself
            // gets nothing, since /proc/<pid>/environ of bubblewrap is readable inside.
            env: Vec::new(),
            wall_time: self.config.limits.wall_time,
            max_output_bytes: self.config.limits.max_output_bytes,
            kill_program: self.kill.clone(),
            quota,
        }
    }

    /// Runs `sh -c 'exit 0'` in a throwaway workspace.
    fn probe(&self) -> Result<(), ExecError> {
        let owner = self.setpriv.as_ref().map(|(_, uid, gid)| (*uid, *gid));
        let dir = WorkspaceDir::create(&self.config.base_dir, "probe", owner)?;
        let argv = self.argv(dir.path(), &self.shell, &["-c".into(), "exit 0".into()]);
        let outcome = run_blocking(&argv, Duration::from_secs(10));
        let _ = std::fs::remove_dir_all(dir.path());
        match outcome {
            Ok((0, _)) => Ok(()),
            Ok((code, stderr)) => Err(ExecError::Unavailable(format!(
                "bubblewrap cannot start a sandbox on this host (exit {code}: {}). User namespaces may be \
                 disabled (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu \
                 kernel.apparmor_restrict_unprivileged_userns=0), or the workspace directory {} is not \
                 reachable by the sandbox uid; alternatively pass --sandbox local-unsafe (dangerous)",
                stderr.trim(),
                self.config.base_dir.display()
            ))),
            Err(message) => Err(ExecError::Unavailable(format!(
                "bubblewrap probe failed: {message}"
            ))),
        }
    }

    fn enforced(&self) -> Vec<String> {
        let limits = &self.config.limits;
        let mut enforced = vec![
            format!("isolation: {} (own user, pid, network, ipc, uts and mount namespaces)", self.version),
            "network: none (own network namespace, loopback only)".to_string(),
            "filesystem: /usr read-only, private /workspace per run; no host home, /root, /var or /etc secrets"
                .to_string(),
            if self.tmpfs_size {
                format!("/tmp: private tmpfs of {}", human_bytes(limits.max_file_bytes))
            } else {
                "/tmp: private tmpfs (unbounded: this bubblewrap lacks --size)".to_string()
            },
            match &self.setpriv {
                Some((_, uid, gid)) => format!("uid: {uid}, gid: {gid} (server is root; dropped with setpriv)"),
                None => "uid: the server's own unprivileged uid, in a user namespace".to_string(),
            },
            "environment: cleared (PATH, HOME, LANG, TMPDIR, PYTHON* only)".to_string(),
            format!("wall time: {} (whole process tree killed)", human_duration(limits.wall_time)),
            format!("cpu: RLIMIT_CPU {} s", limits.cpu_seconds),
            format!("memory: RLIMIT_AS {}", human_bytes(limits.memory_bytes)),
            format!("processes: RLIMIT_NPROC {} (shared by all executions of the uid)", limits.max_processes),
            format!("file size: RLIMIT_FSIZE {}", human_bytes(limits.max_file_bytes)),
            format!("open files: RLIMIT_NOFILE {}", super::MAX_OPEN_FILES),
            format!("output: {} per stream", human_bytes(limits.max_output_bytes as u64)),
            quota::describe(self.config.workspace_quota_bytes),
        ];
        if self.disable_userns {
            enforced.push("nested user namespaces: disabled".to_string());
        }
        enforced.push("cgroups: not used (limits are rlimits)".to_string());
        enforced
    }
}

#[async_trait]
impl CodeExecutor for BwrapExecutor {
    fn info(&self) -> ExecutorInfo {
        ExecutorInfo {
            backend: "bwrap".to_string(),
            enforced: self.inner.enforced(),
        }
    }

    async fn open_workspace(&self, run_id: &str) -> Result<Box<dyn CodeWorkspace>, ExecError> {
        Ok(Box::new(self.open(run_id).await?))
    }
}

/// One run's workspace in the bubblewrap backend: a host directory bound at
/// `/workspace` in every sandbox of the run.
#[derive(Debug)]
pub struct BwrapWorkspace {
    dir: WorkspaceDir,
    inner: Arc<Inner>,
}

impl BwrapWorkspace {
    /// The workspace directory on the host.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[async_trait]
impl CodeWorkspace for BwrapWorkspace {
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
        if !host::visible_in_sandbox(&program) {
            return Err(ExecError::Unavailable(format!(
                "interpreter {} is outside /usr and cannot be seen inside the sandbox",
                program.display()
            )));
        }
        let quota = Quota::new(self.dir.path(), self.inner.config.workspace_quota_bytes);
        if let Some(refused) = refuse_if_over(quota.as_ref()).await {
            return Ok(refused);
        }
        let relative = self.dir.write_code(block, ext)?;
        let file = Path::new(SANDBOX_WORKSPACE).join(relative);
        let argv = self
            .inner
            .argv(self.dir.path(), &program, &[file.into_os_string()]);
        let result = process::run(self.inner.spec(argv, quota), cancel).await?;
        tracing::debug!(
            exit_code = result.exit_code,
            duration_ms = result.duration_ms,
            killed = result.killed,
            "code block executed"
        );
        Ok(result)
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

/// Output of a quick helper command, empty on any failure.
fn capture(program: &Path, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map(|out| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .unwrap_or_default()
}

/// Runs `argv` synchronously with a deadline; returns the exit code and stderr. Used
/// only by the start-up probe, which runs before any async context can be assumed.
fn run_blocking(argv: &[OsString], deadline: Duration) -> Result<(i32, String), String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "empty command line".to_string())?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", Path::new(program).display()))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Ok((status.code().unwrap_or(-1), stderr));
            }
            Ok(None) if started.elapsed() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {}", human_duration(deadline)));
            }
            Err(e) => return Err(format!("cannot wait for the probe: {e}")),
        }
    }
}

//! The default backend: each execution runs in a fresh bubblewrap sandbox (own user,
//! PID, network, IPC, UTS and mount namespaces; read-only system; the run's workspace
//! as the only writable host directory) under a seccomp filter, in a cgroup of its own
//! with memory, process and CPU limits (where the host lets us create one), under
//! rlimits set by `prlimit`, and, when the server is root, as the run's own
//! unprivileged uid set by `setpriv`.
//!
//! The launcher chain is `sh -c '<enter the cgroup>; exec 3<filter; exec "$@"' sh
//! prlimit … -- [setpriv … --] bwrap --seccomp 3 … -- <interpreter> <file>`; each link
//! `exec`s the next, so the spawned pid is bubblewrap itself and killing it takes the
//! sandbox down (`--die-with-parent`, and the sandbox's PID 1 dying empties its PID
//! namespace). The shell is there because entering a cgroup and handing bubblewrap the
//! filter on a descriptor must happen in the child before `exec`, which std's `Command`
//! offers only through `unsafe` hooks.

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
use crate::cgroup::{CgroupLayout, CgroupLimits, ExecCgroup, shell_quote};
use crate::host::{self, human_bytes, human_duration};
use crate::process::{self, Spec, push_note};
use crate::quota::{self, Quota};
use crate::uid::UidLease;
use crate::workspace::WorkspaceDir;
use crate::{init, seccomp};

/// Where the run's workspace appears inside the sandbox.
const SANDBOX_WORKSPACE: &str = "/workspace";

/// Where the init program (see `crate::init`) is bound inside the sandbox.
const SANDBOX_INIT: &str = "/run/cadre-init";

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
    /// `/bin/sh`, the first link of the launcher chain.
    launcher_shell: PathBuf,
    /// Present exactly when the server is root: code must never run as host root,
    /// since `--unshare-user` alone would still map to it. Each run leases its own uid.
    setpriv: Option<PathBuf>,
    /// Where executions' cgroups go, or why there are none.
    cgroups: Result<CgroupLayout, String>,
    /// The compiled seccomp filter, handed to bubblewrap on descriptor 3.
    seccomp_filter: PathBuf,
    /// The init program run inside the sandbox to apply Landlock, when there is one
    /// that starts there.
    init: Option<PathBuf>,
    /// Landlock's status as the init reported it, or why it is not applied.
    landlock: Result<String, String>,
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
            if config.uid_range.first == 0 || config.uid_range.count == 0 {
                return Err(ExecError::Unavailable(
                    "the sandbox uid range is empty or starts at 0: sandboxed code must run as an \
                     unprivileged uid"
                        .to_string(),
                ));
            }
            let path = host::find_program("setpriv").ok_or_else(|| {
                ExecError::Unavailable(
                    "setpriv not found (needed to run code as an unprivileged uid when the server is root): \
                     install the `util-linux` package"
                        .to_string(),
                )
            })?;
            Some(path)
        } else {
            None
        };
        let seccomp_filter = write_seccomp_filter(&config.base_dir, setpriv.is_some())?;
        let cgroups = CgroupLayout::detect();
        if let Ok(layout) = &cgroups {
            layout.remove_leftovers();
        }
        let help = capture(&bwrap, &["--help"]);
        let version = capture(&bwrap, &["--version"]).trim().to_string();
        let mut inner = Inner {
            bwrap,
            prlimit,
            launcher_shell: PathBuf::from("/bin/sh"),
            setpriv,
            cgroups,
            seccomp_filter,
            landlock: Err("no init program: the embedding binary does not call \
                 cadre_sandbox::init::run_if_requested"
                .to_string()),
            init: config.init_program.clone().or_else(init::registered),
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
        if inner.init.is_some() {
            match inner.probe(false, true) {
                Ok(stderr) => {
                    inner.landlock = stderr
                        .lines()
                        .find_map(|line| line.strip_prefix(init::REPORT_PREFIX))
                        .map(str::to_string)
                        .ok_or_else(|| format!("the init did not report: {}", stderr.trim()));
                }
                Err(error) => {
                    tracing::warn!(%error, "the sandbox init does not start; Landlock not applied");
                    inner.landlock = Err(format!(
                        "the init program does not start in the sandbox: {error}"
                    ));
                    inner.init = None;
                }
            }
        }
        inner.probe(false, false)?;
        if inner.cgroups.is_ok()
            && let Err(ExecError::Unavailable(why)) = inner.probe(true, false)
        {
            tracing::warn!(reason = %why, "cgroups found but unusable for sandboxes; rlimits only");
            inner.cgroups = Err(format!("a sandbox cannot enter its cgroup: {why}"));
        }
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Opens a run's workspace, with the concrete type (tests and tools use
    /// [`BwrapWorkspace::path`]).
    pub async fn open(&self, run_id: &str) -> Result<BwrapWorkspace, ExecError> {
        let config = &self.inner.config;
        let lease = match &self.inner.setpriv {
            Some(_) => Some(UidLease::acquire(&config.base_dir, config.uid_range)?),
            None => None,
        };
        let owner = lease.as_ref().map(|lease| (lease.uid(), lease.uid()));
        let dir = match WorkspaceDir::create(&config.base_dir, run_id, owner) {
            Ok(dir) => dir,
            Err(error) => {
                if let Some(lease) = lease {
                    lease.release();
                }
                return Err(error);
            }
        };
        if let Some(lease) = &lease {
            lease.record(dir.path())?;
        }
        Ok(BwrapWorkspace {
            dir,
            lease,
            inner: self.inner.clone(),
        })
    }
}

impl Inner {
    /// The full launcher command line running `program args…` in a sandbox whose
    /// `/workspace` is `workspace`, as `uid` (when root), inside `cgroup`.
    fn argv(
        &self,
        workspace: &Path,
        uid: Option<u32>,
        cgroup: Option<&ExecCgroup>,
        program: &Path,
        args: &[OsString],
    ) -> Vec<OsString> {
        let limits = &self.config.limits;
        let mut script = cgroup.map(ExecCgroup::enter_script).unwrap_or_default();
        if !script.is_empty() {
            script.push_str("; ");
        }
        script.push_str(&format!(
            "exec 3< {} || exit 125; exec \"$@\"",
            shell_quote(&self.seccomp_filter.to_string_lossy())
        ));
        let mut argv: Vec<OsString> = vec![
            self.launcher_shell.clone().into(),
            "-c".into(),
            script.into(),
            "sh".into(),
            self.prlimit.clone().into(),
        ];
        // RLIMIT_AS stays beside the memory cgroup: one process over it gets a
        // MemoryError it can report, while the cgroup caps all processes together.
        argv.extend(super::prlimit_args(limits).into_iter().map(OsString::from));
        if let (Some(setpriv), Some(uid)) = (&self.setpriv, uid) {
            let gid = uid;
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
        push(&["--unshare-all", "--unshare-user", "--seccomp", "3"]);
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
        for (key, value) in super::code_env(SANDBOX_WORKSPACE, "/tmp")
            .into_iter()
            .chain(super::offline_env())
        {
            argv.extend(["--setenv".into(), key.into(), value.into()]);
        }
        if let Some(init) = &self.init {
            argv.extend([
                "--ro-bind".into(),
                init.as_os_str().to_owned(),
                SANDBOX_INIT.into(),
            ]);
        }
        argv.push("--".into());
        if self.init.is_some() {
            argv.extend(
                [
                    SANDBOX_INIT,
                    init::INIT_ARG,
                    "--rw",
                    SANDBOX_WORKSPACE,
                    "--rw",
                    "/tmp",
                    "--",
                ]
                .map(OsString::from),
            );
        }
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

    fn cgroup_limits(&self) -> CgroupLimits {
        let limits = &self.config.limits;
        CgroupLimits {
            memory_bytes: limits.memory_bytes,
            max_processes: limits.max_processes,
            cpu_cores: self.config.cpu_cores,
        }
    }

    /// A new cgroup for one execution, when cgroups are in force.
    fn exec_cgroup(&self) -> Result<Option<ExecCgroup>, ExecError> {
        let Ok(layout) = &self.cgroups else {
            return Ok(None);
        };
        let name = crate::cgroup::exec_cgroup_name();
        layout
            .create(&name, &self.cgroup_limits())
            .map(Some)
            .map_err(|e| ExecError::Spawn(format!("cannot create the execution's cgroup: {e}")))
    }

    /// Runs `sh -c 'exit 0'` in a throwaway workspace, inside a cgroup when `with_cgroup`.
    /// Returns the probe's stderr (where the init reports Landlock's status).
    fn probe(&self, with_cgroup: bool, report: bool) -> Result<String, ExecError> {
        let lease = match &self.setpriv {
            Some(_) => Some(UidLease::acquire(
                &self.config.base_dir,
                self.config.uid_range,
            )?),
            None => None,
        };
        let uid = lease.as_ref().map(UidLease::uid);
        let outcome = WorkspaceDir::create(&self.config.base_dir, "probe", uid.map(|u| (u, u)))
            .and_then(|dir| {
                let cgroup = if with_cgroup {
                    self.exec_cgroup()?
                } else {
                    None
                };
                let mut argv = self.argv(
                    dir.path(),
                    uid,
                    cgroup.as_ref(),
                    &self.shell,
                    &["-c".into(), "exit 0".into()],
                );
                if report && let Some(at) = argv.iter().position(|a| a == init::INIT_ARG) {
                    argv.insert(at + 1, "--report".into());
                }
                let outcome = run_blocking(&argv, Duration::from_secs(10));
                if let Some(cgroup) = cgroup {
                    cgroup.remove_now();
                }
                let _ = std::fs::remove_dir_all(dir.path());
                Ok(outcome)
            });
        if let Some(lease) = lease {
            lease.release();
        }
        let outcome = outcome?;
        match outcome {
            Ok((0, stderr)) => Ok(stderr),
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
                Some(_) => format!(
                    "uid: one per run from {}..{} (gid = uid; server is root; dropped with setpriv)",
                    self.config.uid_range.first,
                    self.config.uid_range.first.saturating_add(self.config.uid_range.count)
                ),
                None => "uid: the server's own unprivileged uid, in a user namespace (runs are kept \
                         apart by their namespaces; a uid per run needs a root server)"
                    .to_string(),
            },
            seccomp::describe(),
            match &self.landlock {
                Ok(status) => init::describe(status),
                Err(why) => format!("landlock: not applied ({why})"),
            },
            "environment: cleared (PATH, HOME, LANG, TMPDIR, PYTHON*, PIP_* only)".to_string(),
            format!("wall time: {} (whole process tree killed)", human_duration(limits.wall_time)),
            format!("cpu time: RLIMIT_CPU {} s", limits.cpu_seconds),
            format!("memory: RLIMIT_AS {} per process", human_bytes(limits.memory_bytes)),
            format!(
                "processes: RLIMIT_NPROC {} ({})",
                limits.max_processes,
                if self.setpriv.is_some() {
                    "counted per run: each run has its own uid"
                } else {
                    "shared by all executions of the server's uid"
                }
            ),
            format!("file size: RLIMIT_FSIZE {}", human_bytes(limits.max_file_bytes)),
            format!("open files: RLIMIT_NOFILE {}", super::MAX_OPEN_FILES),
            format!("output: {} per stream", human_bytes(limits.max_output_bytes as u64)),
            quota::describe(self.config.workspace_quota_bytes),
        ];
        if self.disable_userns {
            enforced.push("nested user namespaces: disabled".to_string());
        }
        match &self.cgroups {
            Ok(layout) => enforced.extend(layout.describe(&self.cgroup_limits())),
            Err(why) => {
                enforced.push(format!(
                    "memory: RLIMIT_AS {} per process",
                    human_bytes(limits.memory_bytes)
                ));
                enforced.push(format!(
                    "cgroups: not in force ({why}); limits are rlimits only"
                ));
            }
        }
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
    /// The run's own uid, when the server is root.
    lease: Option<UidLease>,
    inner: Arc<Inner>,
}

impl BwrapWorkspace {
    /// The workspace directory on the host.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The uid this run's code runs as, when the server is root.
    pub fn uid(&self) -> Option<u32> {
        self.lease.as_ref().map(UidLease::uid)
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
        let cgroup = self.inner.exec_cgroup()?;
        let argv = self.inner.argv(
            self.dir.path(),
            self.uid(),
            cgroup.as_ref(),
            &program,
            &[file.into_os_string()],
        );
        let outcome = process::run(self.inner.spec(argv, quota), cancel).await;
        let report = match cgroup {
            Some(cgroup) => cgroup.finish(self.inner.kill.as_deref()).await,
            None => Default::default(),
        };
        let mut result = outcome?;
        super::note_if_offline_failure(&mut result);
        if report.oom_killed {
            result.killed = true;
            push_note(
                &mut result.stderr,
                &format!(
                    "Memory limit: the execution used more than {} and was killed",
                    human_bytes(self.inner.config.limits.memory_bytes)
                ),
            );
        }
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
        let removed = self.dir.remove().await;
        // Released only once nothing of the run is left that its uid could reach.
        if let Some(lease) = self.lease {
            lease.release();
        }
        removed
    }
}

/// Writes the compiled seccomp filter to `<base>/.seccomp.bpf` (atomically, so a
/// concurrent start-up never reads half a program) and returns its path. Creates `base`
/// when missing with the mode workspaces need: 0711 when other uids (the runs') must
/// pass through it, 0700 otherwise.
fn write_seccomp_filter(base: &Path, shared_with_other_uids: bool) -> Result<PathBuf, ExecError> {
    use std::os::unix::fs::PermissionsExt;
    let program = seccomp::program_bytes().map_err(|e| ExecError::Unavailable(e.to_string()))?;
    if !base.is_dir() {
        let mode = if shared_with_other_uids { 0o711 } else { 0o700 };
        std::fs::create_dir_all(base)
            .and_then(|()| std::fs::set_permissions(base, std::fs::Permissions::from_mode(mode)))
            .map_err(|e| ExecError::Workspace(format!("cannot create {}: {e}", base.display())))?;
    }
    let path = base.join(".seccomp.bpf");
    let partial = base.join(format!(".seccomp.bpf.{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&partial, &program)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            ExecError::Workspace(format!("cannot write {}: {e}", path.display()))
        })?;
    Ok(path)
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

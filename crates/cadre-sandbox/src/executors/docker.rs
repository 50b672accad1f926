//! The container backend: code runs in a Docker Engine container (dockerd, or Podman's
//! Docker-compatible service) driven through the Engine API (bollard) over a unix socket.
//!
//! Each container has no network (`network_mode: none`), a read-only image root, no
//! capabilities, `no-new-privileges`, a non-root uid, cgroup memory (swap included), pids
//! and CPU limits plus `RLIMIT_CPU`/`RLIMIT_FSIZE`/`RLIMIT_NOFILE`, a size-limited tmpfs
//! at `/tmp`, the code environment of the other backends, and the run's workspace (a host
//! directory, as for bwrap, measured against the same disk quota) bound at `/workspace`.
//! By default a fresh container runs each execution and is removed after it; with
//! [`ContainerPer::Run`] one container serves a run's executions (`exec`), so background
//! processes and `/tmp` last between code blocks, and is replaced after a kill.
//!
//! What the engine does not do for us, this module does:
//! - the wall-clock limit and cancellation kill the *container* (SIGKILL, then forced
//!   removal), not just the client's wait;
//! - removal is explicit rather than `auto_remove`, so the container can be inspected for
//!   `State.OOMKilled` first (reported in stderr), and a dropped execution still removes
//!   its container from a background task;
//! - containers are labelled `cadre.sandbox=1`, `cadre.run=<run id>` and
//!   `cadre.owner=<hostname>/<boot id>/<pid>/<process start time>`; at start-up, leftovers
//!   of a dead process on this host (a crashed server) are removed, while containers of
//!   live processes (another worker, `cadre sandbox check`) and of other hosts sharing the
//!   engine are left alone;
//! - output is read from the attach stream under the same per-stream cap as `process`,
//!   and the container's log driver is `none`, so a flood of output never reaches the
//!   engine's disk.
//!
//! Podman (checked with 4.3 rootful, cgroup v1) differs in three ways handled here: it
//! needs `catatonit` for an init process (without it, a run's container gets a python
//! reaper as PID 1 instead), it raises `RLIMIT_NPROC` beyond what runc may set once every
//! capability is dropped (so we set it to our own ceiling), and it does not report OOM
//! kills (a SIGKILL under a memory limit is then reported as "probably out of memory").
//!
//! Nothing is ever pulled: the image must exist in the engine (`cadre sandbox image
//! build`, see `crate::image`).

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType, ResourcesUlimits,
};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, KillContainerOptions, ListContainersOptions,
    RemoveContainerOptions, WaitContainerOptions,
};
use cadre_core::executor::{
    CodeBlock, CodeExecutor, CodeWorkspace, ExecError, ExecutionResult, ExecutorInfo, Language,
};
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::refuse_if_over;
use crate::SandboxConfig;
use crate::engine::{self, Engine};
use crate::host::{human_bytes, human_duration};
use crate::process::{CANCELLED_EXIT_CODE, Capture, DRAIN_GRACE, TIMEOUT_EXIT_CODE};
use crate::quota::{self, QUOTA_EXIT_CODE, Quota, Usage};
use crate::workspace::WorkspaceDir;

/// The image used when none is configured; `cadre sandbox image build` tags this name.
pub const DEFAULT_IMAGE: &str = "cadre-sandbox:latest";

/// Label every sandbox container carries (value `1`).
pub const LABEL_SANDBOX: &str = "cadre.sandbox";
/// Label holding the run id a container works for.
pub const LABEL_RUN: &str = "cadre.run";
/// Label naming the process that created a container:
/// `<hostname>/<boot id>/<pid>/<start time in clock ticks>`.
pub const LABEL_OWNER: &str = "cadre.owner";
/// Label holding the workspace directory's name, unique per opened workspace.
const LABEL_WORKSPACE: &str = "cadre.workspace";

/// Where the run's workspace appears inside the container.
const CONTAINER_WORKSPACE: &str = "/workspace";

/// How long a killed container may take to stop before we stop waiting for it (forced
/// removal follows either way).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The probe container's own wall-clock limit: an engine's first container start after
/// boot can take a few seconds, longer than a short configured limit.
const PROBE_WALL_TIME: Duration = Duration::from_secs(30);

/// Where Podman looks for its init binary (`catatonit`, a separate Debian package).
const PODMAN_INIT: &[&str] = &["/usr/libexec/podman/catatonit", "/usr/bin/catatonit"];

/// PID 1 of a run's container when the engine has no init binary: python reaping every
/// child, so orphans of `exec`'d code do not pile up as zombies (which count against the
/// pids limit).
const REAPER: &str = "import os, time\nwhile True:\n    try:\n        os.wait()\n    except ChildProcessError:\n        time.sleep(1)\n";

/// Open files per process, as the other backends.
const MAX_OPEN_FILES: i64 = super::MAX_OPEN_FILES as i64;

/// How many containers serve a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainerPer {
    /// A fresh container per code block, removed when it ends (the default: nothing
    /// survives between blocks but the workspace).
    #[default]
    Execution,
    /// One container per run, started at the first block and removed when the run's
    /// workspace closes; blocks run in it with `exec`. After a timeout, cancellation,
    /// quota stop or out-of-memory kill the container is replaced (the workspace stays).
    Run,
}

impl ContainerPer {
    /// `execution` or `run`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerPer::Execution => "execution",
            ContainerPer::Run => "run",
        }
    }

    /// Parses `execution` / `run` (case-insensitive).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "execution" | "exec" | "block" => Some(ContainerPer::Execution),
            "run" => Some(ContainerPer::Run),
            _ => None,
        }
    }
}

/// The uid and gid code runs as in containers when the server is root (`nobody`).
const NOBODY: u32 = 65534;

/// Settings of the docker backend ([`SandboxConfig::docker`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DockerConfig {
    /// The engine's socket, `unix:///path` or a path. `None`: `DOCKER_HOST`, else
    /// `/var/run/docker.sock`, else Podman's rootful (`/run/podman/podman.sock`) and
    /// rootless (`$XDG_RUNTIME_DIR/podman/podman.sock`) sockets. The engine must run on
    /// this host: workspaces are host directories bound into the containers.
    pub host: Option<String>,
    /// Image the containers run ([`DEFAULT_IMAGE`]); never pulled.
    pub image: String,
    /// OCI runtime, e.g. `runsc` (gVisor); `None`: the engine's default.
    pub runtime: Option<String>,
    /// A container per execution (default) or per run.
    pub container_per: ContainerPer,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            host: None,
            image: DEFAULT_IMAGE.to_string(),
            runtime: None,
            container_per: ContainerPer::Execution,
        }
    }
}

impl DockerConfig {
    /// The settings from environment variables read through `env` (blank counts as
    /// unset): `CADRE_DOCKER_HOST` (else `DOCKER_HOST`),
    /// `CADRE_SANDBOX_IMAGE`, `CADRE_SANDBOX_RUNTIME`, `CADRE_SANDBOX_CONTAINER_PER`
    /// (`execution` or `run`).
    pub fn resolve(env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let defaults = Self::default();
        Ok(Self {
            host: var("CADRE_DOCKER_HOST").or_else(|| var("DOCKER_HOST")),
            image: var("CADRE_SANDBOX_IMAGE").unwrap_or(defaults.image),
            runtime: var("CADRE_SANDBOX_RUNTIME"),
            container_per: match var("CADRE_SANDBOX_CONTAINER_PER") {
                Some(value) => ContainerPer::parse(&value).ok_or_else(|| {
                    format!(
                        "CADRE_SANDBOX_CONTAINER_PER must be `execution` or `run`, got `{value}`"
                    )
                })?,
                None => defaults.container_per,
            },
        })
    }
}

/// Runs code blocks in containers. Cheap to clone-share: one per server.
#[derive(Debug, Clone)]
pub struct DockerExecutor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SandboxConfig,
    engine: Engine,
    /// The image's id (`sha256:…`), for `info()`.
    image_id: String,
    owner: Owner,
    /// uid and gid code runs as.
    user: (u32, u32),
    /// The server is root: workspaces are handed to [`Inner::user`] (as bwrap does).
    chown_workspace: bool,
    /// The image's python3, found by the start-up probe.
    python: Option<String>,
    /// bash when the image has it, else `/bin/sh`.
    shell: String,
    /// The engine has an init binary to run as PID 1 (dockerd ships docker-init; Podman
    /// needs catatonit installed).
    init: bool,
}

impl DockerExecutor {
    /// Connects to the engine, checks that the image is there, removes containers left
    /// by dead processes of this host, and runs one trivial container with every limit
    /// in place, so a broken set-up is reported once at start-up.
    pub async fn new(config: SandboxConfig) -> Result<Self, ExecError> {
        let engine = engine::connect(config.docker.host.as_deref()).await?;
        let image = &config.docker.image;
        let image_id = match engine.docker.inspect_image(image).await {
            Ok(inspect) => inspect.id.unwrap_or_else(|| image.clone()),
            Err(error) if engine::is_not_found(&error) => {
                return Err(ExecError::Unavailable(format!(
                    "the sandbox image `{image}` is not in the engine at {}: build it with \
                     `cadre sandbox image build` (images are never pulled from a registry)",
                    engine.socket
                )));
            }
            Err(error) => {
                return Err(ExecError::Unavailable(format!(
                    "cannot inspect the sandbox image `{image}`: {error}"
                )));
            }
        };
        let uid = crate::host::effective_uid().ok_or_else(|| {
            ExecError::Unavailable("cannot read /proc/self/status to tell our uid".to_string())
        })?;
        let root = uid == 0;
        let user = if root {
            // Containers keep runs apart (own PID namespace, own workspace mount), so
            // one unprivileged uid serves them all.
            (NOBODY, NOBODY)
        } else {
            // Not root: the workspace belongs to us, so code runs as our uid (still an
            // unprivileged, capability-less uid inside), and can write to it.
            (uid, effective_gid().unwrap_or(uid))
        };
        let owner = Owner::current();
        // The engine is local (a unix socket), so its init binary would be on this host.
        let init = !engine.podman || PODMAN_INIT.iter().any(|path| Path::new(path).exists());
        let mut inner = Inner {
            config,
            engine,
            image_id,
            owner,
            user,
            chown_workspace: root,
            python: None,
            shell: "/bin/sh".to_string(),
            init,
        };
        let reaped = inner.reap_orphans().await;
        if reaped > 0 {
            tracing::info!(
                reaped,
                "removed sandbox containers left by a previous process"
            );
        }
        inner.probe().await?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Opens a run's workspace, with the concrete type (tests and tools use
    /// [`DockerWorkspace::path`]).
    pub async fn open(&self, run_id: &str) -> Result<DockerWorkspace, ExecError> {
        let dir = self.inner.workspace_dir(run_id)?;
        Ok(DockerWorkspace {
            dir,
            run_id: run_id.to_string(),
            inner: self.inner.clone(),
            container: tokio::sync::Mutex::new(None),
        })
    }

    /// `docker` or `podman`, as the engine says.
    pub fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    /// The value of [`LABEL_OWNER`] on this executor's containers.
    pub fn owner_label(&self) -> String {
        self.inner.owner.label()
    }
}

impl Inner {
    fn backend_name(&self) -> &'static str {
        if self.engine.podman {
            "podman"
        } else {
            "docker"
        }
    }

    fn workspace_dir(&self, run_id: &str) -> Result<WorkspaceDir, ExecError> {
        let owner = self.chown_workspace.then_some(self.user);
        WorkspaceDir::create(&self.config.base_dir, run_id, owner)
    }

    /// Removes every sandbox container of this host whose creating process is gone.
    /// Failures are logged: a reaper that cannot list containers must not keep code
    /// execution off (the probe that follows reports a broken engine anyway).
    async fn reap_orphans(&self) -> usize {
        let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_SANDBOX}=1")])]);
        let listed = self
            .engine
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await;
        let containers = match listed {
            Ok(containers) => containers,
            Err(error) => {
                tracing::warn!(%error, "cannot list sandbox containers to remove leftovers");
                return 0;
            }
        };
        let mut reaped = 0;
        for container in containers {
            let (Some(id), Some(labels)) = (container.id, container.labels) else {
                continue;
            };
            let Some(owner) = labels.get(LABEL_OWNER) else {
                continue;
            };
            if !is_orphan(owner, &self.owner, process_alive) {
                continue;
            }
            match remove(&self.engine.docker, &id).await {
                Ok(()) => reaped += 1,
                Err(error) => {
                    tracing::warn!(%error, container = %id, "cannot remove a leftover sandbox container")
                }
            }
        }
        reaped
    }

    /// Runs one container with every limit and finds the image's interpreters.
    async fn probe(&mut self) -> Result<(), ExecError> {
        let dir = self.workspace_dir("probe")?;
        let script = "for p in python3 bash; do command -v \"$p\" || echo \"missing $p\"; done";
        let argv = vec!["/bin/sh".to_string(), "-c".to_string(), script.to_string()];
        let outcome = self
            .run_container(
                &dir,
                "probe",
                argv,
                PROBE_WALL_TIME,
                None,
                &CancellationToken::new(),
            )
            .await;
        let _ = dir.remove().await;
        let result = outcome.map_err(|error| {
            ExecError::Unavailable(format!(
                "the {} engine at {} cannot run a sandbox container: {error}",
                self.backend_name(),
                self.engine.socket
            ))
        })?;
        if result.exit_code != 0 {
            return Err(ExecError::Unavailable(format!(
                "a trivial sandbox container failed (exit {}: {}{}); is `{}` a cadre sandbox image \
                 (`cadre sandbox image build`) and is the runtime {} installed?",
                result.exit_code,
                result.stdout.trim(),
                result.stderr.trim(),
                self.config.docker.image,
                self.config.docker.runtime.as_deref().unwrap_or("(default)")
            )));
        }
        let mut lines = result.stdout.lines().map(str::trim);
        self.python = lines
            .next()
            .filter(|line| line.starts_with('/'))
            .map(str::to_string);
        if lines.next().is_some_and(|line| line.starts_with('/')) {
            self.shell = "/bin/bash".to_string();
        }
        if self.python.is_none() {
            tracing::warn!(image = %self.config.docker.image, "the sandbox image has no python3: python blocks will be refused");
        }
        Ok(())
    }

    fn labels(&self, run_id: &str, workspace: &WorkspaceDir) -> HashMap<String, String> {
        let run: String = run_id.chars().take(128).collect();
        HashMap::from([
            (LABEL_SANDBOX.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), run),
            (LABEL_OWNER.to_string(), self.owner.label()),
            (LABEL_WORKSPACE.to_string(), workspace_name(workspace)),
        ])
    }

    fn env(&self) -> Vec<String> {
        super::code_env(CONTAINER_WORKSPACE, "/tmp")
            .into_iter()
            .chain(super::offline_env())
            .map(|(key, value)| format!("{key}={value}"))
            .collect()
    }

    fn user_spec(&self) -> String {
        format!("{}:{}", self.user.0, self.user.1)
    }

    /// The container: `cmd` in the image under every isolation setting and limit.
    fn container_body(
        &self,
        workspace: &WorkspaceDir,
        run_id: &str,
        cmd: Vec<String>,
    ) -> ContainerCreateBody {
        let limits = &self.config.limits;
        let supported = self.engine.limits;
        let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        let ulimit = |name: &str, value: i64| ResourcesUlimits {
            name: Some(name.to_string()),
            soft: Some(value),
            hard: Some(value),
        };
        let mut ulimits = vec![
            ulimit("cpu", clamp(limits.cpu_seconds)),
            ulimit("fsize", clamp(limits.max_file_bytes)),
            ulimit("nofile", MAX_OPEN_FILES),
        ];
        // rlimit fallbacks where the engine has no cgroup controller for the limit.
        if !supported.memory {
            ulimits.push(ulimit("as", clamp(limits.memory_bytes)));
        }
        if !supported.pids {
            ulimits.push(ulimit("nproc", clamp(limits.max_processes)));
        } else if self.engine.podman {
            // Rootful Podman raises RLIMIT_NPROC to 1048576 by default, which runc cannot
            // do once every capability is dropped: keep it at what we may set.
            ulimits.push(ulimit("nproc", host_nproc_ceiling()));
        }
        let memory = supported.memory.then(|| clamp(limits.memory_bytes));
        let host_config = HostConfig {
            network_mode: Some("none".to_string()),
            readonly_rootfs: Some(true),
            cap_drop: Some(vec!["ALL".to_string()]),
            security_opt: Some(vec![
                "no-new-privileges".to_string(),
                format!("seccomp={}", crate::seccomp::docker_profile()),
            ]),
            privileged: Some(false),
            memory,
            memory_swap: memory.filter(|_| supported.swap),
            pids_limit: supported.pids.then(|| clamp(limits.max_processes)),
            nano_cpus: (supported.cpu_quota && self.config.cpu_cores > 0.0)
                .then_some((self.config.cpu_cores * 1e9) as i64),
            ulimits: Some(ulimits),
            tmpfs: Some(HashMap::from([(
                "/tmp".to_string(),
                format!("rw,nosuid,nodev,size={},mode=1777", limits.max_file_bytes),
            )])),
            mounts: Some(vec![Mount {
                target: Some(CONTAINER_WORKSPACE.to_string()),
                source: Some(workspace.path().to_string_lossy().into_owned()),
                typ: Some(MountType::BIND),
                read_only: Some(false),
                ..Default::default()
            }]),
            // A PID 1 that reaps orphans and passes signals on, rather than the code.
            init: Some(self.init),
            // Output is read from the attach stream; nothing is logged to the engine's disk.
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".to_string()),
                config: None,
            }),
            // Under memory pressure on the host, sandboxed code goes first.
            oom_score_adj: Some(1000),
            ipc_mode: Some("private".to_string()),
            // Rootless Podman maps our uid to itself only with keep-id; otherwise the
            // workspace (ours, mode 0700) would belong to a stranger inside.
            userns_mode: (self.engine.podman && !self.chown_workspace)
                .then(|| "keep-id".to_string()),
            runtime: self.config.docker.runtime.clone(),
            auto_remove: Some(false),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.config.docker.image.clone()),
            cmd: Some(cmd),
            entrypoint: Some(Vec::new()),
            user: Some(self.user_spec()),
            working_dir: Some(CONTAINER_WORKSPACE.to_string()),
            env: Some(self.env()),
            labels: Some(self.labels(run_id, workspace)),
            hostname: Some("cadre-sandbox".to_string()),
            network_disabled: Some(true),
            attach_stdin: Some(false),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            open_stdin: Some(false),
            tty: Some(false),
            host_config: Some(host_config),
            ..Default::default()
        }
    }

    async fn create(
        &self,
        workspace: &WorkspaceDir,
        run_id: &str,
        cmd: Vec<String>,
    ) -> Result<Removal, ExecError> {
        let name = format!(
            "cadre-{}-{}",
            sanitize_name(run_id),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let created = self
            .engine
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name),
                    ..Default::default()
                }),
                self.container_body(workspace, run_id, cmd),
            )
            .await
            .map_err(|e| engine::failed("create a container", &e))?;
        for warning in &created.warnings {
            tracing::warn!(%warning, "the engine changed the sandbox container's settings");
        }
        Ok(Removal::new(self.engine.docker.clone(), created.id))
    }

    /// Runs `argv` in a fresh container and removes it.
    async fn run_container(
        &self,
        workspace: &WorkspaceDir,
        run_id: &str,
        argv: Vec<String>,
        wall_time: Duration,
        quota: Option<&Quota>,
        cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError> {
        let docker = &self.engine.docker;
        let container = self.create(workspace, run_id, argv).await?;
        let id = container.id.clone();
        // Attached before the start, so no output is missed.
        let attached = docker
            .attach_container(
                &id,
                Some(AttachContainerOptions {
                    stream: true,
                    stdout: true,
                    stderr: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| engine::failed("attach to the container", &e))?;
        let output = Output::read(attached.output, self.config.limits.max_output_bytes);
        let started = Instant::now();
        docker
            .start_container(&id, None)
            .await
            .map_err(|e| engine::failed("start the container", &e))?;

        let ending = tokio::select! {
            biased;
            () = cancel.cancelled() => Ending::Cancelled,
            waited = tokio::time::timeout(wall_time, wait_exit(docker, &id)) => match waited {
                Ok(Ok(_)) => Ending::Exited,
                Ok(Err(error)) => {
                    kill(docker, &id).await;
                    return Err(ExecError::Spawn(format!("docker: cannot wait for the container: {error}")));
                }
                Err(_) => Ending::TimedOut,
            },
            usage = watch(quota) => Ending::OverQuota { usage, killed: true },
        };
        let mut exit = Exit::default();
        if matches!(ending, Ending::Exited) {
            exit = inspect_exit(docker, &id).await;
        } else {
            kill(docker, &id).await;
            let _ = tokio::time::timeout(STOP_GRACE, wait_exit(docker, &id)).await;
        }
        let duration = started.elapsed();
        // The container has stopped, so its output streams are closing; whatever is
        // still buffered arrives well within the grace.
        output.drain().await;
        container
            .remove()
            .await
            .map_err(|e| engine::failed("remove the container", &e))?;
        Ok(self
            .conclude(ending, exit, output, duration, wall_time, quota)
            .await)
    }

    /// Turns how an execution ended into its result, as `process::run` does.
    async fn conclude(
        &self,
        ending: Ending,
        exit: Exit,
        output: Output,
        duration: Duration,
        wall_time: Duration,
        quota: Option<&Quota>,
    ) -> ExecutionResult {
        // A fast writer can exceed the quota and exit between two watchdog checks.
        let ending = match (ending, quota) {
            (Ending::Exited, Some(quota)) => match quota.measure_async().await {
                Usage::Within(_) => Ending::Exited,
                usage => Ending::OverQuota {
                    usage,
                    killed: false,
                },
            },
            (ending, _) => ending,
        };
        let (stdout, out_truncated) = crate::process::take_text(&output.stdout);
        let (mut stderr, err_truncated) = crate::process::take_text(&output.stderr);
        let (exit_code, killed, timed_out) = match ending {
            Ending::Exited => {
                let code = exit.code;
                let memory = human_bytes(self.config.limits.memory_bytes);
                if exit.oom_killed {
                    crate::process::push_note(
                        &mut stderr,
                        &format!(
                            "Out of memory: the execution exceeded its {memory} memory limit and was killed"
                        ),
                    );
                } else if code == 128 + 9 && self.engine.limits.memory {
                    // Some engines (Podman on cgroup v1) do not report OOM kills; nothing
                    // else of ours sends SIGKILL to a process that then exits on its own.
                    crate::process::push_note(
                        &mut stderr,
                        &format!(
                            "Killed (SIGKILL): probably out of memory (the memory limit is {memory})"
                        ),
                    );
                }
                // 128+9: SIGKILL (memory limit, kill); 128+24: SIGXCPU (CPU time limit).
                (
                    code,
                    exit.oom_killed || code == 128 + 9 || code == 128 + 24,
                    false,
                )
            }
            Ending::TimedOut => {
                crate::process::push_note(
                    &mut stderr,
                    &format!(
                        "Timeout: execution exceeded {} and was killed",
                        human_duration(wall_time)
                    ),
                );
                (TIMEOUT_EXIT_CODE, true, true)
            }
            Ending::Cancelled => {
                crate::process::push_note(&mut stderr, "Cancelled: execution was stopped");
                (CANCELLED_EXIT_CODE, true, false)
            }
            Ending::OverQuota { usage, killed } => {
                // The container is dead, so emptying the workspace races no writer.
                let note = match quota {
                    Some(quota) => quota.exceeded_note(&usage, killed).await,
                    None => "Disk quota exceeded".to_string(),
                };
                crate::process::push_note(&mut stderr, &note);
                (QUOTA_EXIT_CODE, killed, false)
            }
        };
        ExecutionResult {
            exit_code,
            stdout,
            stderr,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            timed_out,
            killed,
            truncated: out_truncated || err_truncated,
        }
    }

    fn enforced(&self) -> Vec<String> {
        let limits = &self.config.limits;
        let docker = &self.config.docker;
        let supported = self.engine.limits;
        let mut enforced = vec![
            format!(
                "isolation: {} container (own pid, network, ipc, uts and mount namespaces), one per {}",
                self.engine.version,
                docker.container_per.as_str()
            ),
            format!(
                "image: {} ({}), never pulled",
                docker.image,
                short_id(&self.image_id)
            ),
            "network: none (network_mode none, loopback only)".to_string(),
            "filesystem: read-only image root, private /workspace per run; no host files"
                .to_string(),
            format!(
                "/tmp: private tmpfs of {}",
                human_bytes(limits.max_file_bytes)
            ),
            format!(
                "uid: {}, gid: {}; no capabilities (cap_drop ALL), no-new-privileges",
                self.user.0, self.user.1
            ),
            crate::seccomp::describe(),
            "environment: cleared (PATH, HOME, LANG, TMPDIR, PYTHON*, PIP_* only)".to_string(),
            format!(
                "wall time: {} (container killed)",
                human_duration(limits.wall_time)
            ),
        ];
        let cpus = self.config.cpu_cores;
        let cpu_bandwidth = (supported.cpu_quota && cpus > 0.0).then(|| {
            let plural = if cpus == 1.0 { "" } else { "s" };
            format!("{cpus} CPU{plural} (cgroup), ")
        });
        enforced.push(format!(
            "cpu: {}RLIMIT_CPU {} s",
            cpu_bandwidth.unwrap_or_default(),
            limits.cpu_seconds
        ));
        enforced.push(match (supported.memory, supported.swap) {
            (true, true) => format!(
                "memory: {} (cgroup, swap included; out-of-memory kills reported)",
                human_bytes(limits.memory_bytes)
            ),
            (true, false) => format!(
                "memory: {} (cgroup; swap not limited: the engine has no swap accounting)",
                human_bytes(limits.memory_bytes)
            ),
            (false, _) => format!(
                "memory: RLIMIT_AS {} (the engine has no memory cgroup)",
                human_bytes(limits.memory_bytes)
            ),
        });
        enforced.push(if supported.pids {
            format!("processes: {} (cgroup pids limit)", limits.max_processes)
        } else {
            format!(
                "processes: RLIMIT_NPROC {} (the engine has no pids cgroup; counts all of the uid's processes)",
                limits.max_processes
            )
        });
        enforced.push(format!(
            "file size: RLIMIT_FSIZE {}",
            human_bytes(limits.max_file_bytes)
        ));
        enforced.push(format!("open files: RLIMIT_NOFILE {MAX_OPEN_FILES}"));
        enforced.push(format!(
            "output: {} per stream",
            human_bytes(limits.max_output_bytes as u64)
        ));
        enforced.push(quota::describe(self.config.workspace_quota_bytes));
        if let Some(runtime) = &docker.runtime {
            enforced.push(format!("runtime: {runtime}"));
        }
        enforced
    }
}

#[async_trait]
impl CodeExecutor for DockerExecutor {
    fn info(&self) -> ExecutorInfo {
        ExecutorInfo {
            backend: self.inner.backend_name().to_string(),
            enforced: self.inner.enforced(),
        }
    }

    async fn open_workspace(&self, run_id: &str) -> Result<Box<dyn CodeWorkspace>, ExecError> {
        Ok(Box::new(self.open(run_id).await?))
    }
}

/// One run's workspace in the docker backend: a host directory bound at `/workspace`
/// in every container of the run.
#[derive(Debug)]
pub struct DockerWorkspace {
    dir: WorkspaceDir,
    run_id: String,
    inner: Arc<Inner>,
    /// With [`ContainerPer::Run`]: the run's running container, once started.
    container: tokio::sync::Mutex<Option<Removal>>,
}

impl DockerWorkspace {
    /// The workspace directory on the host.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// With [`ContainerPer::Run`]: the run's container, started when missing or dead.
    async fn run_container<'a>(
        &self,
        slot: &'a mut Option<Removal>,
    ) -> Result<&'a Removal, ExecError> {
        let docker = &self.inner.engine.docker;
        if let Some(container) = slot.take() {
            let running = docker
                .inspect_container(&container.id, None)
                .await
                .ok()
                .and_then(|inspect| inspect.state)
                .and_then(|state| state.running)
                .unwrap_or(false);
            if running {
                return Ok(slot.insert(container));
            }
            let _ = container.remove().await;
        }
        let cmd = match (&self.inner.python, self.inner.init) {
            (Some(python), false) => vec![python.clone(), "-c".to_string(), REAPER.to_string()],
            _ => vec!["sleep".to_string(), "infinity".to_string()],
        };
        let container = self.inner.create(&self.dir, &self.run_id, cmd).await?;
        docker
            .start_container(&container.id, None)
            .await
            .map_err(|e| engine::failed("start the run's container", &e))?;
        Ok(slot.insert(container))
    }

    /// Runs `argv` with `exec` in the run's container.
    async fn exec(
        &self,
        argv: Vec<String>,
        quota: Option<&Quota>,
        cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError> {
        let inner = &self.inner;
        let docker = &inner.engine.docker;
        let wall_time = inner.config.limits.wall_time;
        let mut slot = self.container.lock().await;
        let container_id = self.run_container(&mut slot).await?.id.clone();
        let exec = docker
            .create_exec(
                &container_id,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(argv),
                    env: Some(inner.env()),
                    user: Some(inner.user_spec()),
                    working_dir: Some(CONTAINER_WORKSPACE.to_string()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| engine::failed("create an exec", &e))?;
        let started = Instant::now();
        let output = match docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(|e| engine::failed("start an exec", &e))?
        {
            StartExecResults::Attached { output, .. } => {
                Output::read(output, inner.config.limits.max_output_bytes)
            }
            StartExecResults::Detached => {
                return Err(ExecError::Spawn(
                    "docker: the exec started detached".to_string(),
                ));
            }
        };
        let ending = tokio::select! {
            biased;
            () = cancel.cancelled() => Ending::Cancelled,
            waited = tokio::time::timeout(wall_time, wait_exec(docker, &exec.id)) => match waited {
                Ok(Ok(_)) => Ending::Exited,
                Ok(Err(error)) => {
                    if let Some(container) = slot.take() {
                        let _ = container.remove().await;
                    }
                    return Err(ExecError::Spawn(format!("docker: cannot wait for the exec: {error}")));
                }
                Err(_) => Ending::TimedOut,
            },
            usage = watch(quota) => Ending::OverQuota { usage, killed: true },
        };
        let mut exit = Exit::default();
        if matches!(ending, Ending::Exited) {
            exit.code = docker
                .inspect_exec(&exec.id)
                .await
                .ok()
                .and_then(|inspect| inspect.exit_code)
                .and_then(|code| i32::try_from(code).ok())
                .unwrap_or(-1);
            // The flag is the container's; it is replaced below after an OOM kill, so a
            // later exit 137 is not misreported.
            exit.oom_killed =
                exit.code == 128 + 9 && inspect_exit(docker, &container_id).await.oom_killed;
        }
        let duration = started.elapsed();
        let replace = !matches!(ending, Ending::Exited) || exit.oom_killed;
        if replace && let Some(container) = slot.take() {
            kill(docker, &container.id).await;
            container
                .remove()
                .await
                .map_err(|e| engine::failed("remove the run's container", &e))?;
        }
        drop(slot);
        output.drain().await;
        Ok(inner
            .conclude(ending, exit, output, duration, wall_time, quota)
            .await)
    }
}

#[async_trait]
impl CodeWorkspace for DockerWorkspace {
    #[tracing::instrument(skip_all, fields(language = %block.language))]
    async fn execute(
        &self,
        block: &CodeBlock,
        cancel: &CancellationToken,
    ) -> Result<ExecutionResult, ExecError> {
        let inner = &self.inner;
        let (program, ext) = match &block.language {
            Language::Python => match &inner.python {
                Some(python) => (python.clone(), "py"),
                None => {
                    return Err(ExecError::Unavailable(format!(
                        "the sandbox image `{}` has no python3",
                        inner.config.docker.image
                    )));
                }
            },
            Language::Shell => (inner.shell.clone(), "sh"),
            Language::Other(tag) => return Err(ExecError::UnsupportedLanguage(tag.clone())),
        };
        let quota = Quota::new(self.dir.path(), inner.config.workspace_quota_bytes);
        if let Some(refused) = refuse_if_over(quota.as_ref()).await {
            return Ok(refused);
        }
        let relative = self.dir.write_code(block, ext)?;
        let file = Path::new(CONTAINER_WORKSPACE).join(relative);
        let argv = vec![program, file.to_string_lossy().into_owned()];
        let mut result = match inner.config.docker.container_per {
            ContainerPer::Execution => {
                inner
                    .run_container(
                        &self.dir,
                        &self.run_id,
                        argv,
                        inner.config.limits.wall_time,
                        quota.as_ref(),
                        cancel,
                    )
                    .await?
            }
            ContainerPer::Run => self.exec(argv, quota.as_ref(), cancel).await?,
        };
        super::note_if_offline_failure(&mut result);
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
        let docker = self.inner.engine.docker.clone();
        if let Some(container) = self.container.lock().await.take() {
            container
                .remove()
                .await
                .map_err(|e| engine::failed("remove the run's container", &e))?;
        }
        // Anything of this workspace still there (an execution whose future was dropped
        // mid-way) goes too, before the directory it binds.
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_WORKSPACE}={}", workspace_name(&self.dir))],
        )]);
        if let Ok(left) = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
        {
            for id in left.into_iter().filter_map(|c| c.id) {
                let _ = remove(&docker, &id).await;
            }
        }
        self.dir.remove().await
    }
}

/// How an execution ended.
enum Ending {
    Exited,
    TimedOut,
    Cancelled,
    OverQuota { usage: Usage, killed: bool },
}

/// What the engine says about an exited process.
#[derive(Debug, Clone, Copy)]
struct Exit {
    code: i32,
    oom_killed: bool,
}

impl Default for Exit {
    fn default() -> Self {
        Self {
            code: -1,
            oom_killed: false,
        }
    }
}

type OutputStream = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

/// stdout and stderr of one execution, read concurrently under the cap.
struct Output {
    stdout: Arc<Mutex<Capture>>,
    stderr: Arc<Mutex<Capture>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Output {
    fn read(mut stream: OutputStream, cap: usize) -> Self {
        let stdout = Arc::new(Mutex::new(Capture::default()));
        let stderr = Arc::new(Mutex::new(Capture::default()));
        let (out, err) = (stdout.clone(), stderr.clone());
        // Reading goes on past the cap (discarding), so the container never blocks on a
        // full stream.
        let reader = tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let (capture, bytes) = match frame {
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        (&out, message)
                    }
                    LogOutput::StdErr { message } => (&err, message),
                    LogOutput::StdIn { .. } => continue,
                };
                let Ok(mut capture) = capture.lock() else {
                    break;
                };
                let room = cap.saturating_sub(capture.bytes.len());
                let kept = room.min(bytes.len());
                capture.bytes.extend_from_slice(&bytes[..kept]);
                capture.dropped += (bytes.len() - kept) as u64;
            }
        });
        Self {
            stdout,
            stderr,
            reader,
        }
    }

    /// Waits for the streams to end, at most [`DRAIN_GRACE`]: once the process is gone,
    /// anything still holding them is not worth blocking the run for.
    async fn drain(&self) {
        let reader = &self.reader;
        let finished = tokio::time::timeout(DRAIN_GRACE, async {
            while !reader.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        if finished.is_err() {
            reader.abort();
        }
    }
}

/// A created container, force-removed when [`Removal::remove`] is called or, if the
/// execution is dropped before that, from a background task.
#[derive(Debug)]
struct Removal {
    docker: Docker,
    id: String,
    armed: bool,
}

impl Removal {
    fn new(docker: Docker, id: String) -> Self {
        Self {
            docker,
            id,
            armed: true,
        }
    }

    async fn remove(mut self) -> Result<(), bollard::errors::Error> {
        self.armed = false;
        remove(&self.docker, &self.id).await
    }
}

impl Drop for Removal {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let docker = self.docker.clone();
            let id = std::mem::take(&mut self.id);
            runtime.spawn(async move {
                if let Err(error) = remove(&docker, &id).await {
                    tracing::warn!(%error, container = %id, "cannot remove a sandbox container");
                }
            });
        }
    }
}

/// Force-removes a container (killing it if it runs); an already gone one is fine.
async fn remove(docker: &Docker, id: &str) -> Result<(), bollard::errors::Error> {
    match docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                link: false,
            }),
        )
        .await
    {
        Err(error) if engine::is_not_found(&error) => Ok(()),
        // 409: removal already in progress (a concurrent removal of the same container).
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        other => other,
    }
}

/// SIGKILLs a container; it may have exited already, which is fine.
async fn kill(docker: &Docker, id: &str) {
    let _ = docker
        .kill_container(
            id,
            Some(KillContainerOptions {
                signal: "KILL".to_string(),
            }),
        )
        .await;
}

/// Resolves when the container is no longer running.
async fn wait_exit(docker: &Docker, id: &str) -> Result<(), String> {
    let mut waiting = docker.wait_container(
        id,
        Some(WaitContainerOptions {
            condition: "not-running".to_string(),
        }),
    );
    match waiting.next().await {
        Some(Ok(_)) | Some(Err(bollard::errors::Error::DockerContainerWaitError { .. })) => Ok(()),
        Some(Err(error)) => Err(error.to_string()),
        None => Err("the engine closed the wait".to_string()),
    }
}

/// Resolves when the exec's process has exited. The engine has no wait for execs, so it
/// is polled; the output stream alone cannot tell, since a background child may keep it
/// open.
async fn wait_exec(docker: &Docker, id: &str) -> Result<(), String> {
    loop {
        let inspect = docker
            .inspect_exec(id)
            .await
            .map_err(|error| error.to_string())?;
        if inspect.running == Some(false) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn inspect_exit(docker: &Docker, id: &str) -> Exit {
    let state = docker
        .inspect_container(id, None)
        .await
        .ok()
        .and_then(|inspect| inspect.state);
    Exit {
        code: state
            .as_ref()
            .and_then(|s| s.exit_code)
            .and_then(|code| i32::try_from(code).ok())
            .unwrap_or(-1),
        oom_killed: state.and_then(|s| s.oom_killed).unwrap_or(false),
    }
}

/// Resolves once the workspace is over quota; never without a quota.
async fn watch(quota: Option<&Quota>) -> Usage {
    match quota {
        Some(quota) => quota.watch().await,
        None => std::future::pending().await,
    }
}

fn workspace_name(dir: &WorkspaceDir) -> String {
    dir.path()
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A run id reduced to what a container name may hold.
fn sanitize_name(run_id: &str) -> String {
    let cleaned: String = run_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    if cleaned.is_empty() {
        "run".to_string()
    } else {
        cleaned
    }
}

/// `sha256:0123456789ab…` → `sha256:0123456789ab`.
fn short_id(id: &str) -> &str {
    let end = id.find(':').map_or(12, |colon| colon + 13);
    id.get(..end).unwrap_or(id)
}

/// An RLIMIT_NPROC that lowers nothing and raises nothing: our own hard limit, at most
/// `pid_max`.
fn host_nproc_ceiling() -> i64 {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let hard = read("/proc/self/limits").and_then(|limits| {
        let line = limits.lines().find(|l| l.starts_with("Max processes"))?;
        line.split_whitespace().nth(3)?.parse::<i64>().ok()
    });
    let pid_max = read("/proc/sys/kernel/pid_max").and_then(|v| v.trim().parse::<i64>().ok());
    match (hard, pid_max) {
        (Some(hard), Some(pid_max)) => hard.min(pid_max),
        (Some(value), None) | (None, Some(value)) => value,
        (None, None) => 32768,
    }
}

/// The effective gid, from `/proc/self/status` (the libc call would need `unsafe`).
fn effective_gid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Gid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Who created a container: a process on a host, told apart from a later process with
/// the same pid by its start time, and from a previous boot by the boot id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    host: String,
    boot: String,
    pid: u32,
    start: u64,
}

impl Owner {
    /// This process. Without procfs the identity is random, so nothing is ever judged
    /// an orphan of ours.
    fn current() -> Self {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .ok()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty() && !text.contains('/'))
        };
        let pid = std::process::id();
        match (
            read("/proc/sys/kernel/hostname"),
            read("/proc/sys/kernel/random/boot_id"),
            process_start(pid),
        ) {
            (Some(host), Some(boot), Some(start)) => Self {
                host,
                boot: boot.chars().take(8).collect(),
                pid,
                start,
            },
            _ => Self {
                host: format!("unknown-{}", uuid::Uuid::new_v4().simple()),
                boot: String::new(),
                pid,
                start: 0,
            },
        }
    }

    fn label(&self) -> String {
        format!("{}/{}/{}/{}", self.host, self.boot, self.pid, self.start)
    }

    fn parse(label: &str) -> Option<Self> {
        let mut parts = label.split('/');
        let owner = Self {
            host: parts.next()?.to_string(),
            boot: parts.next()?.to_string(),
            pid: parts.next()?.parse().ok()?,
            start: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(owner)
    }
}

/// Whether a container labelled with `owner` was left by a dead process of this host.
/// Containers of other hosts (sharing the engine) and unreadable labels are never ours
/// to judge.
fn is_orphan(owner: &str, me: &Owner, alive: impl Fn(u32, u64) -> bool) -> bool {
    let Some(owner) = Owner::parse(owner) else {
        return false;
    };
    if owner.host != me.host {
        return false;
    }
    if owner.boot != me.boot {
        return true;
    }
    if owner.pid == me.pid && owner.start == me.start {
        return false;
    }
    !alive(owner.pid, owner.start)
}

/// Whether process `pid` exists and started at `start` (so is not a reused pid).
fn process_alive(pid: u32, start: u64) -> bool {
    process_start(pid) == Some(start)
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks after boot. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted after its `)`.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Owner {
        Owner {
            host: "box".into(),
            boot: "abcd1234".into(),
            pid: 100,
            start: 5000,
        }
    }

    #[test]
    fn only_dead_processes_of_this_host_leave_orphans() {
        let alive = |pid: u32, start: u64| pid == 200 && start == 7;
        let me = me();
        assert!(!is_orphan("box/abcd1234/100/5000", &me, alive), "ourselves");
        assert!(
            !is_orphan("box/abcd1234/200/7", &me, alive),
            "a live worker"
        );
        assert!(is_orphan("box/abcd1234/200/8", &me, alive), "pid reused");
        assert!(is_orphan("box/abcd1234/300/1", &me, alive), "dead");
        assert!(is_orphan("box/ffff0000/200/7", &me, alive), "previous boot");
        assert!(!is_orphan("other/abcd1234/300/1", &me, alive), "other host");
        assert!(!is_orphan("garbage", &me, alive));
        assert!(!is_orphan("box/abcd1234/x/1", &me, alive));
    }

    #[test]
    fn this_process_is_alive_under_its_own_label() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.label()), Some(me.clone()));
        assert!(process_alive(me.pid, me.start));
        assert!(!process_alive(me.pid, me.start + 1));
    }

    #[test]
    fn settings_come_from_the_environment() {
        let env = |name: &str| match name {
            "CADRE_SANDBOX_IMAGE" => Some("img:1".to_string()),
            "CADRE_SANDBOX_RUNTIME" => Some(" runsc ".to_string()),
            "CADRE_SANDBOX_CONTAINER_PER" => Some("Run".to_string()),
            "CADRE_DOCKER_HOST" => Some("unix:///run/d.sock".to_string()),
            _ => None,
        };
        let config = DockerConfig::resolve(env).unwrap();
        assert_eq!(
            config,
            DockerConfig {
                host: Some("unix:///run/d.sock".into()),
                image: "img:1".into(),
                runtime: Some("runsc".into()),
                container_per: ContainerPer::Run,
            }
        );
        assert_eq!(
            DockerConfig::resolve(|_| None).unwrap(),
            DockerConfig::default()
        );
        let bad = DockerConfig::resolve(|name| {
            (name == "CADRE_SANDBOX_CONTAINER_PER").then(|| "pod".to_string())
        });
        assert!(bad.unwrap_err().contains("`execution` or `run`"));
    }

    #[test]
    fn names_and_ids_are_shortened_safely() {
        assert_eq!(sanitize_name("a/b c-1"), "abc-1");
        assert_eq!(sanitize_name("///"), "run");
        assert_eq!(short_id("sha256:0123456789abcdef"), "sha256:0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}

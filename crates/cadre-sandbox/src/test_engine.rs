//! A Docker-compatible engine for tests (feature `test-engine`), shared by all the tests
//! of one test binary, with the `--from host` image built in it.
//!
//! Which engine, in order:
//! 1. `CADRE_TEST_DOCKER_HOST` (a `unix://` socket): an engine someone else runs; used as
//!    it is and never stopped.
//! 2. Our own `dockerd`, when we are root and it is installed (`scripts/ensure-dockerd.sh`):
//!    data root, exec root, pid file and socket in a fresh temporary directory,
//!    `--iptables=false --ip-masq=false --bridge=none` (containers have no network
//!    anyway), the storage driver dockerd picks (overlay2 where the temporary directory
//!    supports it, else vfs). Nothing is pulled.
//! 3. Our own `podman system service` with storage in such a directory.
//!
//! A self-started engine runs under a small supervisor shell in its own process group:
//! it stops the engine (SIGTERM, then SIGKILL after 20 s) as soon as the test process is
//! gone, however it ended, and removes the directory. So no engine outlives `cargo test`
//! by more than a few seconds, and Ctrl-C in the terminal does not leave one behind.
//!
//! When no engine can run, [`shared`] says why; tests print it and skip, unless
//! [`required`] (`CADRE_REQUIRE_DOCKER=1`, which `make test` sets) makes them fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::host::find_program;
use crate::image::{self, ImageSource};

/// The tag of the test image.
pub const TEST_IMAGE: &str = "cadre-sandbox-test:host";

/// How long a self-started engine may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The supervisor: runs the engine (`"$@"`), waits while both the test process and the
/// engine live, then stops the engine and removes the directory.
const SUPERVISOR: &str = r#"dir="$1"; parent="$2"; shift 2
"$@" >"$dir/engine.log" 2>&1 &
engine=$!
echo "$engine" >"$dir/engine.pid"
while kill -0 "$parent" 2>/dev/null && kill -0 "$engine" 2>/dev/null; do sleep 0.2; done
kill -TERM "$engine" 2>/dev/null
i=0
while kill -0 "$engine" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.2; i=$((i+1)); done
kill -KILL "$engine" 2>/dev/null
wait "$engine" 2>/dev/null
rm -rf --one-file-system "$dir"
"#;

/// An engine the tests can use, with [`TEST_IMAGE`] in it.
#[derive(Debug, Clone)]
pub struct TestEngine {
    /// Its socket, `unix:///…`.
    pub host: String,
    /// The image to run.
    pub image: String,
    /// What it is and how it was started, for messages.
    pub description: String,
    /// How long starting the engine took (zero for an external one).
    pub start_time: Duration,
    /// How long building the image took.
    pub image_build_time: Duration,
}

impl TestEngine {
    /// A docker backend configuration using this engine and image.
    pub fn config(&self) -> crate::DockerConfig {
        crate::DockerConfig {
            host: Some(self.host.clone()),
            image: self.image.clone(),
            ..crate::DockerConfig::default()
        }
    }
}

/// Whether tests must fail rather than skip when no engine runs (`CADRE_REQUIRE_DOCKER`
/// set to `1`/`true`).
pub fn required() -> bool {
    matches!(
        std::env::var("CADRE_REQUIRE_DOCKER").ok().as_deref(),
        Some("1" | "true" | "yes")
    )
}

/// The engine for a test: [`shared`], or `None` after printing why the test skips.
/// Panics instead when [`required`] (`make test`), so a missing engine fails the run.
#[allow(clippy::panic, clippy::print_stderr)] // a test helper: fail loudly, say why it skips
pub fn for_test() -> Option<&'static TestEngine> {
    match shared() {
        Ok(engine) => Some(engine),
        Err(reason) if required() => {
            panic!("CADRE_REQUIRE_DOCKER is set and no Docker engine runs here: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIPPED (no Docker engine): {reason}");
            None
        }
    }
}

/// The engine of this test binary, started (and its image built) on first use; the
/// reason when there is none.
pub fn shared() -> Result<&'static TestEngine, &'static str> {
    static ENGINE: OnceLock<Result<TestEngine, String>> = OnceLock::new();
    // Its own thread and runtime: the callers' runtimes (one per #[tokio::test]) end
    // with their tests, and the engine must outlive them.
    ENGINE
        .get_or_init(|| {
            std::thread::spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                runtime.block_on(start())
            })
            .join()
            .unwrap_or_else(|_| Err("the engine start-up thread panicked".to_string()))
        })
        .as_ref()
        .map_err(String::as_str)
}

async fn start() -> Result<TestEngine, String> {
    let started = Instant::now();
    let (host, description) = if let Some(host) = std::env::var("CADRE_TEST_DOCKER_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
    {
        (
            host.clone(),
            format!("the engine at {host} (CADRE_TEST_DOCKER_HOST)"),
        )
    } else if crate::host::effective_uid() == Some(0) && find_program("dockerd").is_some() {
        start_dockerd().await?
    } else if let Some(podman) = find_program("podman") {
        start_podman(&podman).await?
    } else if find_program("dockerd").is_some() {
        return Err("dockerd is installed but needs root, and podman is not installed".to_string());
    } else {
        return Err(
            "no Docker engine: dockerd is not installed (scripts/ensure-dockerd.sh installs \
             docker.io) and neither is podman; set CADRE_TEST_DOCKER_HOST to use a running engine"
                .to_string(),
        );
    };
    let start_time = started.elapsed();
    let built = Instant::now();
    image::build(
        Some(&host),
        TEST_IMAGE,
        &ImageSource::Host {
            python: PathBuf::from("/usr/bin/python3"),
        },
        |_| {},
    )
    .await
    .map_err(|e| format!("cannot build the test image in {description}: {e}"))?;
    Ok(TestEngine {
        host,
        image: TEST_IMAGE.to_string(),
        description,
        start_time,
        image_build_time: built.elapsed(),
    })
}

/// A fresh directory for an engine's state; short, since unix socket paths under it are
/// limited to 108 bytes.
fn state_dir(kind: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "cadre-{kind}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Starts `argv` under the supervisor with `dir` as its state directory.
fn supervise(dir: &Path, argv: &[String]) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(SUPERVISOR)
        .arg("cadre-test-engine")
        .arg(dir)
        .arg(std::process::id().to_string())
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Out of the terminal's process group: Ctrl-C reaches the tests, and the
        // supervisor still gets to clean up after them.
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the engine supervisor: {e}"))
}

async fn start_dockerd() -> Result<(String, String), String> {
    let dir = state_dir("dockerd")?;
    let socket = dir.join("docker.sock");
    let argv: Vec<String> = vec![
        "dockerd".into(),
        format!("--data-root={}", dir.join("data").display()),
        format!("--exec-root={}", dir.join("exec").display()),
        format!("--pidfile={}", dir.join("dockerd.pid").display()),
        format!("--host=unix://{}", socket.display()),
        "--iptables=false".into(),
        "--ip-masq=false".into(),
        "--ip6tables=false".into(),
        "--bridge=none".into(),
        "--log-level=warn".into(),
    ];
    let argv = with_program(argv, "dockerd")?;
    supervise(&dir, &argv)?;
    let host = format!("unix://{}", socket.display());
    wait_until_ready(&host, &dir).await?;
    Ok((
        host.clone(),
        format!("a dockerd started for the tests ({host})"),
    ))
}

async fn start_podman(podman: &Path) -> Result<(String, String), String> {
    let dir = state_dir("podman")?;
    let socket = dir.join("podman.sock");
    let host = format!("unix://{}", socket.display());
    let argv: Vec<String> = vec![
        podman.display().to_string(),
        format!("--root={}", dir.join("storage").display()),
        format!("--runroot={}", dir.join("run").display()),
        "--cgroup-manager=cgroupfs".into(),
        "--events-backend=file".into(),
        "system".into(),
        "service".into(),
        "--time=0".into(),
        host.clone(),
    ];
    supervise(&dir, &argv)?;
    wait_until_ready(&host, &dir).await?;
    Ok((
        host.clone(),
        format!("a podman service started for the tests ({host})"),
    ))
}

fn with_program(mut argv: Vec<String>, name: &str) -> Result<Vec<String>, String> {
    let program = find_program(name).ok_or_else(|| format!("{name} not found"))?;
    if let Some(first) = argv.first_mut() {
        *first = program.display().to_string();
    }
    Ok(argv)
}

/// Polls the engine until it answers; fails with its log when it died or took too long.
async fn wait_until_ready(host: &str, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let log = || {
        let text = std::fs::read_to_string(dir.join("engine.log")).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(8).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    loop {
        if crate::engine::connect(Some(host)).await.is_ok() {
            return Ok(());
        }
        let engine_pid = std::fs::read_to_string(dir.join("engine.pid")).unwrap_or_default();
        let engine_pid = engine_pid.trim();
        if !engine_pid.is_empty() && !running(engine_pid) {
            return Err(format!("the engine exited at start-up:\n{}", log()));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the engine did not answer within {} s:\n{}",
                START_TIMEOUT.as_secs(),
                log()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether process `pid` exists and is not a zombie.
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = stat.get(stat.rfind(')')? + 1..)?;
            after_name
                .split_whitespace()
                .next()
                .map(|state| state != "Z")
        })
        .unwrap_or(false)
}

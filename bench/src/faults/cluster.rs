//! The deployment the fault scenarios break: a PostgreSQL server and a Redis server of
//! the benchmark's own (on free ports, in temporary directories, so stopping them
//! disturbs nothing else on the machine), and `cadre api` ×2 + `cadre worker` ×2 as real
//! processes of the release binary, each of which can be killed and started again with
//! the same settings (an API replica on the same port, as a restarted container is).

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// PostgreSQL's server programs (Debian keeps them out of `PATH`).
fn postgres_bin(program: &str) -> anyhow::Result<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL's server programs are needed (/usr/lib/postgresql/<version>/bin)")?
        .flatten()
        .map(|entry| entry.path().join("bin").join(program))
        .filter(|path| path.exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .with_context(|| format!("no {program} under /usr/lib/postgresql/*/bin"))
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective uid).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// A PostgreSQL server of our own: `initdb` into a temporary directory, `pg_ctl` to start,
/// stop (`immediate`: a crash, recovered from the WAL at the next start) and restart.
pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Postgres {
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cadre-faults-pg")
            .tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres:postgres").arg(dir.path());
                    c
                },
                "chown",
            )?;
        }
        let mut initdb = as_postgres(&postgres_bin("initdb")?);
        initdb
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-D"])
            .arg(dir.path().join("data"));
        run(initdb, "initdb")?;
        let server = Self {
            dir,
            port: free_port()?,
        };
        server.start_again()?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut command = as_postgres(&postgres_bin("pg_ctl")?);
        command
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(args);
        run(command, &format!("pg_ctl {}", args.join(" ")))
    }

    pub fn start_again(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.pg_ctl(&[
            "-w",
            "-t",
            "30",
            "-l",
            &log.to_string_lossy(),
            "-o",
            &options,
            "start",
        ])
    }

    /// Stops the server the way a crash would (no checkpoint; recovery at the next start).
    pub fn crash(&self) -> anyhow::Result<()> {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"])
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
    }
}

/// A Redis server of our own on a free port, keeping nothing on disk.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub fn start() -> anyhow::Result<Self> {
        let mut redis = Self {
            port: free_port()?,
            child: None,
        };
        redis.start_again()?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn start_again(&mut self) -> anyhow::Result<()> {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("redis-server is needed for the fault scenarios")?;
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(10))
    }

    /// `kill -9` of the server: every connection drops, every subscription with it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn wait_for_port(port: u16, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!("nothing listens on port {port} after {limit:?}")
}

/// What every process of the deployment shares.
#[derive(Clone)]
pub struct Settings {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub env: Vec<(String, String)>,
}

pub const ADMIN_EMAIL: &str = "admin@faults.test";
pub const ADMIN_PASSWORD: &str = "the fault scenarios' admin password";

impl Settings {
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg(subcommand)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CADRE_DATA_DIR", &self.data_dir)
            .env("CADRE_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("CADRE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "CADRE_SECRET_KEY",
                "the fault scenarios' deployment secret key",
            )
            .env("CADRE_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }
}

/// One `cadre api` or `cadre worker` process that can be killed and started again.
pub struct Service {
    settings: Settings,
    subcommand: &'static str,
    /// The API's fixed port (kept across restarts).
    pub port: Option<u16>,
    child: Option<Child>,
    log: PathBuf,
}

impl Service {
    pub fn api(settings: &Settings, name: &str) -> anyhow::Result<Self> {
        let mut service = Self {
            settings: settings.clone(),
            subcommand: "api",
            port: Some(free_port()?),
            child: None,
            log: settings.data_dir.join(format!("{name}.log")),
        };
        service.start()?;
        Ok(service)
    }

    pub fn worker(settings: &Settings, name: &str) -> anyhow::Result<Self> {
        let mut service = Self {
            settings: settings.clone(),
            subcommand: "worker",
            port: None,
            child: None,
            log: settings.data_dir.join(format!("{name}.log")),
        };
        service.start()?;
        Ok(service)
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port.unwrap_or(0))
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut command = self.settings.command(self.subcommand);
        command.stderr(log);
        if let Some(port) = self.port {
            command.env("CADRE_BIND", format!("127.0.0.1:{port}"));
        }
        self.child = Some(command.spawn().context("cannot start cadre")?);
        if let Some(port) = self.port {
            wait_for_port(port, Duration::from_secs(30))
                .with_context(|| format!("cadre api did not listen; see {}", self.log.display()))?;
        }
        Ok(())
    }

    /// `kill -9`: no shutdown, no hand-back; leases expire.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: the graceful stop an orchestrator sends first.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process died by itself (a crash the scenario did not cause).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The process's name in the figures (`api-0`, `worker-1`, …).
    pub fn name(&self) -> String {
        self.log
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The running process's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

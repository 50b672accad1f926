//! `cadre sandbox`: the code sandbox for operators and tests.
//!
//! - `cadre sandbox run --language python -`: runs code read from stdin (or a file) in
//!   the configured backend, exactly as a run's executor agent would, and prints the
//!   result as one JSON object.
//! - `cadre sandbox check`: says which backend and limits are in force, then attacks the
//!   sandbox with a few probes (network to a listener on the host, the host's environment
//!   and home directory, a wall-clock overrun). It exits non-zero when code would run
//!   unsafely: a probe got through, the backend does not isolate (`local-unsafe`), or no
//!   sandbox works here.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cadre_core::executor::{CodeBlock, CodeExecutor, ExecutionLimits, ExecutionResult, Language};
use cadre_sandbox::SandboxConfig;
use clap::{Args, Subcommand};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// `cadre sandbox …`.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Run code (stdin, or a file) in the sandbox and print the result as JSON.
    Run(RunCodeArgs),
    /// Show the backend and the limits in force, self-test the isolation; exit 1 when
    /// code would run unsafely.
    Check(CheckArgs),
}

/// Which sandbox, as `cadre serve` and `cadre run` choose it.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Backend: `bwrap` (default) or `local-unsafe`.
    #[arg(long, env = "CADRE_SANDBOX", default_value = cadre_sandbox::DEFAULT_BACKEND)]
    pub sandbox: String,
}

/// `cadre sandbox run`.
#[derive(Debug, Args)]
pub struct RunCodeArgs {
    /// Language of the code: `python` or `sh`.
    #[arg(long, default_value = "python")]
    pub language: String,
    /// File with the code; `-` reads stdin.
    #[arg(default_value = "-")]
    pub source: PathBuf,
    /// Wall-clock limit, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// `cadre sandbox check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Runs a `cadre sandbox` command.
pub async fn execute(command: SandboxCommand) -> anyhow::Result<ExitCode> {
    match command {
        SandboxCommand::Run(args) => run_code(args).await,
        SandboxCommand::Check(args) => check(args).await,
    }
}

/// The result of `cadre sandbox run`.
#[derive(Debug, Serialize)]
struct RunReport {
    backend: String,
    #[serde(flatten)]
    result: ExecutionResult,
}

async fn run_code(args: RunCodeArgs) -> anyhow::Result<ExitCode> {
    let code = if args.source.as_os_str() == "-" {
        let mut code = String::new();
        std::io::stdin()
            .read_to_string(&mut code)
            .context("cannot read the code from stdin")?;
        code
    } else {
        std::fs::read_to_string(&args.source)
            .with_context(|| format!("cannot read {}", args.source.display()))?
    };
    let executor = open(&args.backend.sandbox, limits(args.timeout))?;
    let result = execute_once(executor.as_ref(), Language::from_tag(&args.language), code).await?;
    let report = RunReport {
        backend: executor.info().backend,
        result,
    };
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &report).context("cannot write the result")?;
    writeln!(stdout).context("cannot write the result")?;
    Ok(ExitCode::SUCCESS)
}

/// One self-test of the isolation.
#[derive(Debug, Serialize)]
struct Probe {
    /// What it attacks.
    name: &'static str,
    /// Whether the sandbox contained it.
    contained: bool,
    /// What happened.
    detail: String,
}

impl Probe {
    fn new(name: &'static str, contained: bool, detail: String) -> Self {
        Self {
            name,
            contained,
            detail,
        }
    }
}

/// What `cadre sandbox check` found.
#[derive(Debug, Serialize)]
struct CheckReport {
    backend: String,
    /// The isolation and limits the backend says are in force.
    enforced: Vec<String>,
    probes: Vec<Probe>,
    /// Whether generated code may run here.
    safe: bool,
    /// Why not, when it is not.
    problems: Vec<String>,
}

async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let report = match open(&args.backend.sandbox, limits(2)) {
        Ok(executor) => self_test(executor).await?,
        Err(error) => CheckReport {
            backend: args.backend.sandbox.clone(),
            enforced: Vec::new(),
            probes: Vec::new(),
            safe: false,
            problems: vec![format!("{error:#}")],
        },
    };
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report).context("cannot write the report")?;
        writeln!(stdout).context("cannot write the report")?;
    } else {
        write_report(&mut stdout, &report).context("cannot write the report")?;
    }
    Ok(if report.safe {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_report(out: &mut impl Write, report: &CheckReport) -> std::io::Result<()> {
    writeln!(out, "backend: {}", report.backend)?;
    if !report.enforced.is_empty() {
        writeln!(out, "in force:")?;
        for line in &report.enforced {
            writeln!(out, "  - {line}")?;
        }
    }
    if !report.probes.is_empty() {
        writeln!(out, "self-test:")?;
        for probe in &report.probes {
            let verdict = if probe.contained { "ok  " } else { "FAIL" };
            writeln!(out, "  {verdict} {}: {}", probe.name, probe.detail)?;
        }
    }
    if report.safe {
        writeln!(out, "safe: generated code runs isolated here")
    } else {
        writeln!(out, "UNSAFE:")?;
        for problem in &report.problems {
            writeln!(out, "  - {problem}")?;
        }
        Ok(())
    }
}

/// Runs the probes against `executor`; each one's outcome is judged, not just shown.
async fn self_test(executor: Arc<dyn CodeExecutor>) -> anyhow::Result<CheckReport> {
    let info = executor.info();
    let mut probes = Vec::new();

    let python = |code: String| execute_once(executor.as_ref(), Language::Python, code);

    let hello = python("print('hello')".into()).await?;
    probes.push(Probe::new(
        "runs code",
        hello.exit_code == 0 && hello.stdout.trim() == "hello",
        format!("exit {}, stdout {:?}", hello.exit_code, hello.stdout.trim()),
    ));

    // A listener on the host's loopback: a sandbox with a network of its own cannot
    // reach it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot listen")?;
    let port = listener.local_addr().context("cannot listen")?.port();
    let network = python(format!(
        "import socket\ns = socket.socket()\ns.settimeout(1)\n\
         try:\n    s.connect(('127.0.0.1', {port}))\n    print('connected')\n\
         except OSError as error:\n    print('refused', error)\n"
    ))
    .await?;
    drop(listener);
    probes.push(Probe::new(
        "network",
        !network.stdout.contains("connected"),
        format!("connect to a host listener: {}", network.stdout.trim()),
    ));

    // The host's environment (where secrets live) must not be readable, neither through
    // the sandbox's own environment nor through /proc.
    let environment = python(
        "import os, glob\n\
         seen = set(f'{k}={v}' for k, v in os.environ.items())\n\
         for path in glob.glob('/proc/*/environ'):\n    \
             try:\n        seen.update(x.decode(errors='replace') for x in open(path, 'rb').read().split(b'\\0') if x)\n    \
             except OSError:\n        pass\n\
         print('\\n'.join(sorted(seen)))\n"
            .into(),
    )
    .await?;
    let leaked: Vec<String> = std::env::vars()
        .filter(|(name, value)| !sandbox_sets(name) && !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .filter(|pair| environment.stdout.lines().any(|line| line == pair))
        .map(|pair| pair.split('=').next().unwrap_or_default().to_string())
        .collect();
    probes.push(Probe::new(
        "host environment",
        leaked.is_empty(),
        if leaked.is_empty() {
            "none of this process's variables is visible".into()
        } else {
            format!("visible: {}", leaked.join(", "))
        },
    ));

    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let files = python(format!(
        "import os\ntry:\n    print(len(os.listdir({home:?})), 'entries')\n\
         except OSError as error:\n    print('hidden', error)\n"
    ))
    .await?;
    probes.push(Probe::new(
        "host files",
        !files.stdout.contains("entries"),
        format!("list {home}: {}", files.stdout.trim()),
    ));

    let overrun = python("import time\ntime.sleep(30)\n".into()).await?;
    probes.push(Probe::new(
        "wall-clock limit",
        overrun.timed_out,
        format!(
            "a 30 s sleep under a 2 s limit stopped after {} ms",
            overrun.duration_ms
        ),
    ));

    let mut problems: Vec<String> = probes
        .iter()
        .filter(|probe| !probe.contained)
        .map(|probe| format!("{} got through: {}", probe.name, probe.detail))
        .collect();
    if info.backend == "local-unsafe" {
        problems.insert(0, "local-unsafe runs code without any isolation".into());
    }
    Ok(CheckReport {
        backend: info.backend,
        enforced: info.enforced,
        probes,
        safe: problems.is_empty(),
        problems,
    })
}

/// Whether the backends set `name` themselves (so an equal value is not a leak): the
/// cleared environment keeps only these.
fn sandbox_sets(name: &str) -> bool {
    matches!(
        name,
        "PATH" | "HOME" | "LANG" | "LC_ALL" | "TMPDIR" | "TERM" | "PWD" | "_"
    ) || name.starts_with("PYTHON")
        || name.starts_with("PIP_")
}

fn limits(timeout_secs: u64) -> ExecutionLimits {
    ExecutionLimits {
        wall_time: Duration::from_secs(timeout_secs.max(1)),
        cpu_seconds: timeout_secs.max(1),
        ..ExecutionLimits::default()
    }
}

/// The executor named `name`; `none` is refused here, since there is nothing to run in.
fn open(name: &str, limits: ExecutionLimits) -> anyhow::Result<Arc<dyn CodeExecutor>> {
    let config = SandboxConfig {
        limits,
        ..SandboxConfig::default()
    };
    cadre_sandbox::from_name(name, config)
        .with_context(|| format!("sandbox `{name}`"))?
        .with_context(|| format!("sandbox `{name}`: code execution is off"))
}

/// Runs one block in a workspace of its own, then removes the workspace.
async fn execute_once(
    executor: &dyn CodeExecutor,
    language: Language,
    code: String,
) -> anyhow::Result<ExecutionResult> {
    let label = format!("check-{}", uuid::Uuid::new_v4().simple());
    let workspace = executor
        .open_workspace(&label)
        .await
        .context("cannot open a sandbox workspace")?;
    let block = CodeBlock {
        language,
        code,
        filename: None,
    };
    let result = workspace.execute(&block, &CancellationToken::new()).await;
    if let Err(error) = workspace.close().await {
        tracing::warn!(%error, "could not remove the sandbox workspace");
    }
    result.context("the sandbox could not run the code")
}

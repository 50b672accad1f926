//! `cadre run "TASK"`: builds a team for the task (or loads `--team FILE`), runs it as a
//! group chat and prints the live transcript (or `--json` events). Ctrl-C cancels the run
//! cleanly; the exit status says how it ended (0 completed, 1 failed, 130 cancelled).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cadre_core::event::{EventSink, RunEmitter, RunStatus};
use cadre_core::executor::{CodeExecutor, ExecutionLimits};
use cadre_core::groupchat::RunContext;
use cadre_core::run::{RunOverrides, RunRequest, TeamSource, execute_run};
use cadre_core::team::CodeExecution;
use cadre_core::tool::ToolBox;
use cadre_core::{BuildOptions, SpeakerSelection};
use cadre_llm::demo::DEMO_MODEL;
use cadre_mcp::{McpConfig, McpToolBox};
use cadre_sandbox::SandboxConfig;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::commands::team::load_team;
use crate::models::{self, ModelChoice};
use crate::render::{JsonLines, Transcript, usage_line};
use crate::terminal_input::TerminalInput;

/// Arguments of `cadre run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What the team should do.
    pub task: String,
    /// Model name (`demo` plays an offline demonstration run).
    #[arg(long, env = "CADRE_LLM_MODEL")]
    pub model: Option<String>,
    /// Base URL of an OpenAI-compatible API (Ollama, vLLM, LM Studio, …).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Run this team (Cadre or AutoGen AgentBuilder JSON) instead of building one.
    #[arg(long, value_name = "FILE")]
    pub team: Option<PathBuf>,
    /// Most experts the builder may create.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub max_agents: u16,
    /// Maximum chat turns, the task included.
    #[arg(long)]
    pub max_round: Option<u32>,
    /// Next-speaker strategy: auto, round_robin, random or manual.
    #[arg(long, value_parser = parse_selection)]
    pub speaker_selection: Option<SpeakerSelection>,
    /// Seed for `--speaker-selection random`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Do not execute code.
    #[arg(long)]
    pub no_code: bool,
    /// Code sandbox: bwrap, docker (or podman), local-unsafe (runs code unsandboxed!) or
    /// none. The docker backend reads CADRE_DOCKER_HOST / DOCKER_HOST, CADRE_SANDBOX_IMAGE,
    /// CADRE_SANDBOX_RUNTIME and CADRE_SANDBOX_CONTAINER_PER.
    #[arg(long, env = "CADRE_SANDBOX", default_value = "bwrap")]
    pub sandbox: String,
    /// Wall-clock limit per code block, seconds [default: the team's, else 30].
    #[arg(long)]
    pub code_timeout: Option<u64>,
    /// Stop once the run has cost this many USD.
    #[arg(long)]
    pub budget_usd: Option<f64>,
    /// Stop once the run has used this many tokens.
    #[arg(long)]
    pub max_tokens: Option<u64>,
    /// Fail the run after this many seconds.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// MCP servers whose tools agents may call (an `mcpServers` JSON file, as for
    /// `cadre serve`); each agent's `tools` allowlist says which.
    #[arg(long, value_name = "FILE", env = "CADRE_MCP_CONFIG")]
    pub mcp_config: Option<PathBuf>,
    /// Print one RunEvent JSON object per line on stdout, and nothing else.
    #[arg(long)]
    pub json: bool,
    /// Write the team that ran to FILE (Cadre team JSON).
    #[arg(long, value_name = "FILE")]
    pub save_team: Option<PathBuf>,
    /// Build the team and stop.
    #[arg(long)]
    pub build_only: bool,
    /// Record every model exchange to FILE (a cassette for --replay).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Replay a recorded cassette instead of calling a model.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["record", "script"])]
    pub replay: Option<PathBuf>,
    /// Answer from a script of prepared replies (tests).
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
}

fn parse_selection(name: &str) -> Result<SpeakerSelection, String> {
    SpeakerSelection::parse(name).ok_or_else(|| {
        format!("unknown strategy `{name}` (use auto, round_robin, random or manual)")
    })
}

/// Runs `cadre run`.
pub async fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let team = match &args.team {
        Some(path) => Some(load_team(path)?),
        None => None,
    };
    let model = models::resolve(&ModelChoice {
        model: args.model.clone(),
        base_url: args.base_url.clone(),
        script: args.script.clone(),
        replay: args.replay.clone(),
        record: args.record.clone(),
    })?;
    let wants_code =
        !args.no_code && !args.build_only && team.as_ref().is_none_or(|t| t.code_execution.enabled);
    let code_timeout = args
        .code_timeout
        .or(team.as_ref().map(|t| t.code_execution.timeout_secs))
        .unwrap_or(CodeExecution::default().timeout_secs);
    let executor = if wants_code {
        sandbox(&args.sandbox, code_timeout).await?
    } else {
        None
    };
    let tools = match &args.mcp_config {
        Some(path) => Some(Arc::new(McpToolBox::new(McpConfig::load(path)?))),
        None => None,
    };

    let speaker_selection = match (args.speaker_selection.clone(), args.seed) {
        (Some(SpeakerSelection::Random { .. }), seed) => Some(SpeakerSelection::Random { seed }),
        (selection, _) => selection,
    };
    let request = RunRequest {
        task: args.task.clone(),
        team: match team {
            Some(team) => TeamSource::Given(Box::new(team)),
            None => TeamSource::Build(BuildOptions {
                max_agents: usize::from(args.max_agents),
                coding: args.no_code.then_some(false),
                model: args.model.clone().filter(|m| m != DEMO_MODEL),
                ..BuildOptions::default()
            }),
        },
        overrides: RunOverrides {
            max_round: args.max_round,
            speaker_selection,
            no_code: args.no_code,
            max_cost_usd: args.budget_usd,
            max_tokens: args.max_tokens,
            timeout_secs: args.timeout,
        },
        build_only: args.build_only,
    };

    let sink: Arc<dyn EventSink> = if args.json {
        Arc::new(JsonLines)
    } else {
        Arc::new(Transcript::new())
    };
    let run_id = uuid::Uuid::new_v4();
    let cancel = CancellationToken::new();
    let ctx = RunContext {
        emitter: RunEmitter::new(run_id, sink, 0),
        model,
        executor,
        // The workspace goes with the run: the files it wrote are listed, not kept.
        artifacts: None,
        input: Arc::new(TerminalInput),
        tools: tools.clone().map(|t| t as Arc<dyn ToolBox>),
        cancel: cancel.clone(),
    };
    tokio::spawn(cancel_on_ctrl_c(cancel));

    let outcome = execute_run(request, ctx, None)
        .await
        .context("the run's output failed")?;
    if let Some(tools) = &tools {
        tools.close().await;
    }

    if let (Some(path), Some(team)) = (&args.save_team, &outcome.team) {
        let text = serde_json::to_string_pretty(team)? + "\n";
        std::fs::write(path, text)
            .with_context(|| format!("cannot write team to {}", path.display()))?;
    }
    let mut stderr = std::io::stderr();
    Ok(match outcome.status {
        RunStatus::Completed => ExitCode::SUCCESS,
        RunStatus::Cancelled => {
            let _ = writeln!(stderr, "cancelled: {}", usage_line(&outcome.usage));
            ExitCode::from(130)
        }
        _ => {
            let reason = outcome
                .error
                .map(|e| e.message)
                .unwrap_or_else(|| outcome.reason.as_str().to_string());
            let _ = writeln!(
                stderr,
                "error: run failed: {}",
                reason.lines().next().unwrap_or_default()
            );
            ExitCode::from(1)
        }
    })
}

/// The code executor, or `None` with a warning when the sandbox is unavailable: code is
/// then not run at all, never run unsandboxed behind the user's back.
async fn sandbox(name: &str, code_timeout: u64) -> anyhow::Result<Option<Arc<dyn CodeExecutor>>> {
    let limits = ExecutionLimits {
        wall_time: Duration::from_secs(code_timeout.max(1)),
        cpu_seconds: code_timeout.max(1),
        ..ExecutionLimits::default()
    };
    let config = SandboxConfig {
        limits,
        docker: cadre_sandbox::DockerConfig::resolve(|name| std::env::var(name).ok())
            .map_err(anyhow::Error::msg)?,
        cpu_cores: cadre_sandbox::cpu_cores_from_env(|name| std::env::var(name).ok())
            .map_err(anyhow::Error::msg)?,
        ..SandboxConfig::default()
    };
    match cadre_sandbox::from_name(name, config).await {
        Ok(Some(executor)) if executor.info().backend == "local-unsafe" => {
            let _ = writeln!(
                std::io::stderr(),
                "warning: --sandbox local-unsafe: generated code runs UNSANDBOXED with your user's files and network"
            );
            Ok(Some(executor))
        }
        Ok(executor) => Ok(executor),
        Err(error) if name == "bwrap" => {
            let _ = writeln!(std::io::stderr(), "warning: code execution is off: {error}");
            Ok(None)
        }
        Err(error) => Err(anyhow::Error::new(error).context(format!("sandbox `{name}`"))),
    }
}

/// First Ctrl-C cancels the run (it then ends with status cancelled); a second one exits
/// at once.
async fn cancel_on_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_ok() {
        let _ = writeln!(
            std::io::stderr(),
            "\ncancelling… (Ctrl-C again to quit now)"
        );
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    }
}

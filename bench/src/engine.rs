//! The engine-level benchmarks that need no service: engine overhead per message (with an
//! instant model and through the HTTP client), the team build, and sandbox start overhead.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use async_trait::async_trait;
use cadre_core::event::{NullSink, RunEmitter};
use cadre_core::executor::{CodeBlock, Language};
use cadre_core::groupchat::RunContext;
use cadre_core::model::{ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, Usage};
use cadre_core::run::{RunOverrides, RunRequest, TeamSource, execute_run};
use cadre_core::team::{AgentSpec, SpeakerSelection, TeamSpec};
use cadre_core::{BuildOptions, NoInput, TeamBuilder};
use cadre_llm::config::{LlmConfig, Overrides};
use cadre_llm::fake_server::{FakeOpenAi, FakeReply};
use cadre_llm::openai::OpenAiClient;
use tokio_util::sync::CancellationToken;

/// A model that answers at once with a fixed reply in a few deltas: measures the engine,
/// not the model.
pub struct InstantModel;

#[async_trait]
impl ChatModel for InstantModel {
    fn model_name(&self) -> &str {
        "instant"
    }
    async fn chat(
        &self,
        _request: ChatRequest,
        on_delta: DeltaSink<'_>,
        _cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        let content = "I agree with the previous speaker and add one more point about the task.";
        for piece in content.split_inclusive(". ") {
            on_delta(piece);
        }
        Ok(ChatResponse {
            model: "instant".into(),
            content: content.into(),
            tool_calls: vec![],
            usage: Usage {
                prompt_tokens: 100,
                completion_tokens: 15,
                cost_usd: None,
            },
            finish_reason: Some("stop".into()),
        })
    }
}

/// CPU seconds (user + system) this process has used.
pub fn cpu_seconds() -> anyhow::Result<f64> {
    let (user, system) = cpu_times()?;
    Ok(user + system)
}

/// CPU seconds this process has used, as (user, system).
pub fn cpu_times() -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
    Ok((ticks(11) / 100.0, ticks(12) / 100.0))
}

fn team(max_round: u32) -> TeamSpec {
    let agent = |name: &str| AgentSpec::new(name, format!("You are {name}."), "");
    let mut team = TeamSpec::new("bench", vec![agent("A"), agent("B"), agent("C")]);
    team.speaker_selection = SpeakerSelection::RoundRobin;
    team.termination.max_round = Some(max_round);
    team
}

/// Runs `runs` chats of `messages` turns each, `concurrency` at a time; returns CPU µs per
/// message and wall seconds.
pub async fn engine(
    model: Arc<dyn ChatModel>,
    runs: usize,
    messages: u32,
    concurrency: usize,
) -> anyhow::Result<(f64, f64)> {
    let cpu = cpu_seconds()?;
    let wall = Instant::now();
    let mut pending = Vec::new();
    for chunk in 0..runs.div_ceil(concurrency) {
        for _ in 0..concurrency.min(runs - chunk * concurrency) {
            let model = model.clone();
            pending.push(tokio::spawn(async move {
                let ctx = RunContext {
                    emitter: RunEmitter::new(uuid::Uuid::new_v4(), Arc::new(NullSink), 0),
                    model,
                    executor: None,
                    artifacts: None,
                    input: Arc::new(NoInput),
                    tools: None,
                    cancel: CancellationToken::new(),
                };
                let request = RunRequest {
                    task: "bench".into(),
                    team: TeamSource::Given(Box::new(team(messages))),
                    overrides: RunOverrides::default(),
                    build_only: false,
                };
                execute_run(request, ctx, None).await
            }));
        }
        for handle in pending.drain(..) {
            handle.await.context("run task")?.context("run")?;
        }
    }
    let total = f64::from(messages) * runs as f64;
    Ok((
        (cpu_seconds()? - cpu) * 1e6 / total,
        wall.elapsed().as_secs_f64(),
    ))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(0.0)
}

pub async fn sandbox_overhead(samples: usize) -> anyhow::Result<(f64, f64, Vec<String>)> {
    let executor = cadre_sandbox::from_name("bwrap", cadre_sandbox::SandboxConfig::default())
        .await
        .context("bwrap sandbox")?
        .context("bwrap sandbox disabled")?;
    let enforced = executor.info().enforced;
    let (sandboxed, plain) = start_overhead(executor.as_ref(), "bench", samples).await?;
    Ok((sandboxed, plain, enforced))
}

/// Median milliseconds of a `pass` block through `executor` (one workspace, after one
/// warm-up block) and of a plain `python3 -c pass` with an empty environment, sampled
/// alternately so that drifting load affects both alike.
pub async fn start_overhead(
    executor: &dyn cadre_core::executor::CodeExecutor,
    run_id: &str,
    samples: usize,
) -> anyhow::Result<(f64, f64)> {
    let workspace = executor.open_workspace(run_id).await?;
    let block = CodeBlock {
        language: Language::Python,
        code: "pass".into(),
        filename: None,
    };
    let cancel = CancellationToken::new();
    let warm = workspace.execute(&block, &cancel).await?;
    anyhow::ensure!(warm.exit_code == 0, "the warm-up block failed: {warm:?}");
    let mut sandboxed = Vec::with_capacity(samples);
    let mut plain = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        workspace.execute(&block, &cancel).await?;
        sandboxed.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        tokio::process::Command::new("/usr/bin/python3")
            .args(["-c", "pass"])
            .env_clear()
            .status()
            .await
            .context("python3 -c pass")?;
        plain.push(started.elapsed().as_secs_f64() * 1e3);
    }
    workspace.close().await?;
    Ok((median(sandboxed), median(plain)))
}

/// Builds a 4-agent team through the real client against a server answering each call
/// after `latency`; returns wall seconds and the number of model calls.
pub async fn team_build(latency: std::time::Duration) -> anyhow::Result<(f64, usize)> {
    let server = FakeOpenAi::start(vec![]).await?.with_latency(latency);
    server.set_responder(|body| {
        let prompt = body["messages"].to_string();
        let answer = if prompt.contains("JSON array") {
            r#"["Planner", "Data_Analyst", "Python_Coder", "Critic"]"#
        } else if prompt.contains("YES or NO") {
            "YES"
        } else if prompt.contains("exactly one sentence") {
            "Plans the work and checks the results."
        } else {
            "You are an expert. Work with the others and check your results."
        };
        FakeReply::text(answer)
    });
    let client: Arc<dyn ChatModel> = Arc::new(OpenAiClient::new(local_config(&server)?)?);
    let builder = TeamBuilder::new(
        client,
        BuildOptions {
            max_agents: 4,
            ..BuildOptions::default()
        },
    );
    let emitter = RunEmitter::new(uuid::Uuid::new_v4(), Arc::new(NullSink), 0);
    let started = Instant::now();
    let outcome = builder
        .build(
            "Analyse a CSV of sales and plot the trend",
            &emitter,
            &CancellationToken::new(),
        )
        .await?;
    anyhow::ensure!(
        outcome.team.agents.len() == 4,
        "expected 4 agents, got {}",
        outcome.team.agents.len()
    );
    Ok((started.elapsed().as_secs_f64(), server.request_count()))
}

pub fn local_config(server: &FakeOpenAi) -> anyhow::Result<LlmConfig> {
    Ok(LlmConfig::resolve(
        |name| match name {
            "CADRE_LLM_BASE_URL" => Some(server.base_url()),
            "CADRE_LLM_MODEL" => Some("bench".into()),
            _ => None,
        },
        &Overrides::default(),
    )?)
}

//! The service under load: one in-process [`Worker`] (concurrency 1,000) over a real store
//! and the in-process bus executes 1,000 queued runs of a 2-agent round-robin team whose
//! model answers after 50 ms. Measures wall time until every run is terminal, peak RSS,
//! CPU per message and events persisted, and checks every run completed with seqs 1..n.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use cadre_core::RunStatus;
use cadre_core::event::EventKind;
use cadre_core::model::{ChatModel, ChatRequest, ChatResponse, DeltaSink, ModelError, Usage};
use cadre_core::team::{AgentSpec, SpeakerSelection, TeamSpec};
use cadre_server::bus::MemoryBus;
use cadre_server::run_request::StoredRunRequest;
use cadre_server::worker::{FixedModel, Worker, WorkerConfig};
use cadre_store::{NewRun, Store};
use tokio_util::sync::CancellationToken;

use crate::engine::cpu_times;
use crate::queue::check_seqs;

/// A model that waits `latency`, then answers like the instant model.
pub struct LatencyModel(pub Duration);

#[async_trait]
impl ChatModel for LatencyModel {
    fn model_name(&self) -> &str {
        "latency"
    }
    async fn chat(
        &self,
        _request: ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ModelError> {
        tokio::select! {
            () = tokio::time::sleep(self.0) => {}
            () = cancel.cancelled() => return Err(ModelError::Cancelled),
        }
        let content = "I agree with the previous speaker and add one more point about the task.";
        for piece in content.split_inclusive(". ") {
            on_delta(piece);
        }
        Ok(ChatResponse {
            model: "latency".into(),
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

/// Figures of one load run.
pub struct LoadFigures {
    /// Runs executed.
    pub runs: usize,
    /// Seconds from starting the worker to every run terminal.
    pub wall: f64,
    /// Seconds from the first run's start to the last one's (claiming 1,000 jobs).
    pub ramp: f64,
    /// Peak RSS during the run (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// Peak RSS over the RSS before the run, MiB.
    pub rss_delta_mib: f64,
    /// Durable events stored, all runs.
    pub events: u64,
    /// Chat messages stored, all runs.
    pub messages: u64,
    /// CPU µs of the process per stored message (engine + worker + store; for SQLite
    /// the database itself too).
    pub cpu_per_message_us: f64,
    /// Share of that CPU spent in the kernel (0–1).
    pub system_share: f64,
    /// Runs that did not end `completed` with seqs 1..n.
    pub bad: usize,
}

/// A `/proc/self/status` field in kB, as MiB.
fn status_mib(field: &str) -> anyhow::Result<f64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .with_context(|| format!("{field} missing from /proc/self/status"))?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("malformed {field}"))?;
    Ok(kb / 1024.0)
}

fn stored_request(max_round: u32) -> anyhow::Result<serde_json::Value> {
    let agent = |name: &str| AgentSpec::new(name, format!("You are {name}."), "");
    let mut team = TeamSpec::new("bench", vec![agent("A"), agent("B")]);
    team.speaker_selection = SpeakerSelection::RoundRobin;
    team.termination.max_round = Some(max_round);
    let request = StoredRunRequest {
        task: "Discuss the task".into(),
        team: Some(team),
        build: Default::default(),
        execute: true,
        model: Some("latency".into()),
        max_round: Some(max_round),
        budget_usd: None,
        speaker_selection: None,
        fork: None,
    };
    Ok(serde_json::to_value(request)?)
}

/// Enqueues `runs` runs, starts one worker with `concurrency` slots, waits until every run
/// is terminal (at most `limit`), then checks each run's log.
pub async fn concurrent_runs(
    store: Arc<dyn Store>,
    runs: usize,
    max_round: u32,
    latency: Duration,
    limit: Duration,
) -> anyhow::Result<LoadFigures> {
    let owner = store.ensure_user("bench@cadre").await?;
    let request = stored_request(max_round)?;
    let mut ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        let run = store
            .create_run(NewRun {
                owner,
                task: "Discuss the task".into(),
                request: request.clone(),
                max_attempts: 3,
            })
            .await?;
        ids.push(run.id);
    }
    // Reset the peak-RSS counter ("5" → clear_refs resets VmHWM) so that earlier
    // benchmarks' peaks do not count.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_mib("VmRSS:")?;
    let config = WorkerConfig {
        concurrency: runs,
        poll_every: Duration::from_millis(10),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(
        store.clone(),
        Arc::new(MemoryBus::new()),
        Arc::new(FixedModel(Arc::new(LatencyModel(latency)))),
        None,
        config,
    );
    let shutdown = CancellationToken::new();
    let cpu = cpu_times()?;
    let started = Instant::now();
    let handle = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker.run(shutdown).await }
    });
    // Runs finish roughly in queue order: watch the oldest unfinished one.
    let mut next = 0;
    while next < ids.len() && started.elapsed() < limit {
        let Some(id) = ids.get(next) else { break };
        if store.get_run_any(*id).await?.status.is_terminal() {
            next += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let (user, system) = cpu_times()?;
    let (user, system) = (user - cpu.0, system - cpu.1);
    let peak = status_mib("VmHWM:")?;
    shutdown.cancel();
    handle.await.context("worker task")?;

    let mut events = 0u64;
    let mut messages = 0u64;
    let mut bad = 0usize;
    let mut starts = Vec::with_capacity(ids.len());
    for id in &ids {
        let record = store.get_run_any(*id).await?;
        starts.extend(record.started_at);
        let stored = store.events_after(*id, 0, 10_000).await?;
        messages += stored
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Message { .. }))
            .count() as u64;
        events += stored.len() as u64;
        let clean = record.status == RunStatus::Completed
            && record.last_seq == stored.len() as u64
            && check_seqs(&store, *id, record.last_seq).await.is_ok();
        bad += usize::from(!clean);
    }
    let ramp = match (starts.iter().min(), starts.iter().max()) {
        (Some(first), Some(last)) => (*last - *first).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };
    Ok(LoadFigures {
        runs,
        wall,
        ramp,
        peak_rss_mib: peak,
        rss_delta_mib: peak - rss_before,
        events,
        messages,
        cpu_per_message_us: (user + system) * 1e6 / messages.max(1) as f64,
        system_share: system / (user + system).max(f64::EPSILON),
        bad,
    })
}

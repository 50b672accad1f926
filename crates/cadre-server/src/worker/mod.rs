//! The worker loop (`docs/DESIGN.md` §6): claims jobs from the database queue, runs the
//! engine on them, persists every durable event before publishing it live, keeps its
//! lease alive, obeys cancellation, and hands jobs back on shutdown.
//!
//! Per worker, not per run: one group-commit [`EventWriter`] stores the events of all
//! its runs (`sink`), and one watcher task renews all their leases and finds their
//! cancel requests (`watch`).
//!
//! Two ways a run's execution stops early, kept apart on purpose:
//! - the user cancels: the engine is cancelled and writes `cancelled` + `finished`;
//! - the worker loses its lease or shuts down: the run is not this worker's to end. The
//!   sink is *halted* (it refuses every further event) before the engine is cancelled, so
//!   nothing is written and the next worker resumes from the persisted events.

mod artifacts;
mod input;
mod models;
mod sink;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cadre_core::event::{RunEmitter, SinkError};
use cadre_core::executor::CodeExecutor;
use cadre_core::groupchat::RunContext;
use cadre_core::model::ChatModel;
use cadre_core::run::{ResumeState, RunOutcome, RunRequest, execute_run};
use cadre_core::tool::ToolBox;
use cadre_core::{EventKind, FailureCode, RunEnd, RunFailure, RunStatus, UsageTotals};
use cadre_llm::demo::DEMO_MODEL;
use cadre_store::{ClaimedJob, Claims, RunRecord, Store, StoreError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

pub use artifacts::ArtifactLimits;
pub use input::StoredInput;
pub use models::{EnvModels, FixedModel, ModelFactory, NO_USER_KEY, provider_config};
pub use sink::{EventWriter, PersistingSink};

use crate::auth::credentials::{self, PreferredError};
use crate::auth::sealing::SecretBox;
use crate::bus::{BusSink, EventBus};
use crate::quota::{Allowance, Quotas};
use crate::run_request::StoredRunRequest;
use crate::telemetry::metrics::GaugeGuard;
use crate::telemetry::{Metrics, ObservedExecutor, ObservedModel, ObservedToolBox, Role};
use artifacts::StoredArtifacts;
use watch::{WatchTiming, Watched, watch_loop};

/// Most jobs claimed in one go (bounded by the worker's free slots).
const CLAIM_BATCH: usize = 64;

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifies this worker in job leases (`host-pid-uuid`).
    pub worker_id: String,
    /// How long a claim is valid without a heartbeat (`CADRE_WORKER_LEASE_SECS`).
    pub lease: Duration,
    /// How often the lease is renewed; well under the lease.
    pub heartbeat_every: Duration,
    /// How often the worker asks for cancel requests on the runs it holds (one query for
    /// all of them; cancel must reach the running step within a second).
    pub cancel_check_every: Duration,
    /// How long to wait before asking the queue again when it was empty.
    pub poll_every: Duration,
    /// How often a run waiting for human input looks for the answer.
    pub input_poll_every: Duration,
    /// How long a run waits for human input before deciding without it.
    pub input_timeout: Duration,
    /// Runs executed at once by this worker.
    pub concurrency: usize,
    /// Runs one owner may have executing at once, across all workers.
    pub max_running_per_owner: Option<u32>,
    /// Daily token and spend quotas per owner: each run's budgets are capped at what its
    /// owner has left today.
    pub quotas: Quotas,
    /// How much of the files code writes is kept with each run.
    pub artifacts: ArtifactLimits,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let lease = Duration::from_secs(30);
        Self {
            worker_id: format!(
                "worker-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
            lease,
            heartbeat_every: lease / 3,
            cancel_check_every: Duration::from_millis(300),
            poll_every: Duration::from_millis(250),
            input_poll_every: Duration::from_millis(250),
            input_timeout: Duration::from_secs(3600),
            concurrency: 64,
            max_running_per_owner: None,
            quotas: Quotas::default(),
            artifacts: ArtifactLimits::default(),
        }
    }
}

/// What the jobs of one [`Worker::run`] share.
struct Shared {
    writer: EventWriter,
    /// Publishes what the store wrote itself while claiming (`worker_lost` endings).
    live: BusSink,
    watched: Arc<Watched>,
}

/// Where one run's events go on this worker: numbered by the emitter, stored by the
/// worker's group commit through the sink, refused by it once `halted`.
struct RunLog {
    emitter: RunEmitter,
    sink: Arc<PersistingSink>,
    halted: Arc<AtomicBool>,
}

/// A claimed job ready for the engine.
struct PreparedRun {
    log: RunLog,
    request: RunRequest,
    model: Arc<dyn ChatModel>,
    /// What an earlier attempt persisted (`None`: the run starts afresh).
    resume: Option<ResumeState>,
}

/// Why a claimed job does not reach the engine.
enum NotRunnable {
    /// The run already ended: its job is retired.
    Ended,
    /// The store could not be read: the job is left to its lease, to be tried again.
    Unavailable { what: &'static str, error: String },
    /// The run cannot start: it ends as failed.
    Failed {
        log: RunLog,
        failure: RunFailure,
        usage: UsageTotals,
    },
}

impl NotRunnable {
    fn unavailable(what: &'static str) -> impl FnOnce(StoreError) -> Self {
        move |error| NotRunnable::Unavailable {
            what,
            error: error.to_string(),
        }
    }
}

/// Why [`Worker::admit`] refused a run.
enum Refusal {
    Unavailable { what: &'static str, error: String },
    Failed(RunFailure),
}

/// A worker: the queue consumer that executes runs.
#[derive(Clone)]
pub struct Worker {
    /// Opens owners' stored provider keys (`None`: they are not used).
    sealer: Option<SecretBox>,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    models: Arc<dyn ModelFactory>,
    executor: Option<Arc<dyn CodeExecutor>>,
    config: WorkerConfig,
    metrics: Arc<Metrics>,
    /// Whether trace spans carry prompts, replies and code.
    trace_content: bool,
    /// The deployment's MCP tools (`None`: agents answer without tools).
    tools: Option<Arc<dyn ToolBox>>,
}

impl Worker {
    /// A worker over a store and a bus, taking models from `models` and running code with
    /// `executor` (`None`: code execution off).
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
        models: Arc<dyn ModelFactory>,
        executor: Option<Arc<dyn CodeExecutor>>,
        config: WorkerConfig,
    ) -> Self {
        Self {
            sealer: None,
            store,
            bus,
            models,
            executor,
            config,
            metrics: Metrics::new(Role::Worker),
            trace_content: false,
            tools: None,
        }
    }

    /// Lets agents call the tools of `tools` (the operator's MCP servers), as their
    /// teams' allowlists permit.
    pub fn with_tools(mut self, tools: Arc<dyn ToolBox>) -> Self {
        self.tools = Some(tools);
        self
    }

    /// Records into `metrics` (the process's, shared with its API under `cadre serve`)
    /// instead of a registry of its own; trace spans carry message content only if
    /// `trace_content`.
    pub fn with_telemetry(mut self, metrics: Arc<Metrics>, trace_content: bool) -> Self {
        self.metrics = metrics;
        self.trace_content = trace_content;
        self
    }

    /// The metrics this worker records into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Lets runs use their owners' stored provider keys, opened with `sealer`.
    pub fn with_sealer(mut self, sealer: SecretBox) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.config.worker_id
    }

    /// Claims and runs jobs until `shutdown` fires; then stops claiming, hands running jobs
    /// back to the queue and returns. Dropping the returned future (a crash, in tests)
    /// aborts every job it runs without handing anything back: their leases expire and
    /// other workers resume them.
    pub async fn run(&self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let shared = Arc::new(Shared {
            writer: EventWriter::start(self.store.clone(), self.bus.clone()),
            live: BusSink::new(self.bus.clone()),
            watched: Arc::new(Watched::default()),
        });
        // Aborted when this future ends or is dropped: a crashed worker's leases expire.
        let _watcher = AbortOnDropHandle::new(tokio::spawn(watch_loop(
            self.store.clone(),
            self.config.worker_id.clone(),
            WatchTiming {
                lease: self.config.lease,
                heartbeat_every: self.config.heartbeat_every,
                cancel_check_every: self.config.cancel_check_every,
            },
            shared.watched.clone(),
        )));
        let mut jobs = JoinSet::new();
        let halt_all = CancellationToken::new();
        loop {
            while jobs.try_join_next().is_some() {}
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            // As many free slots as there are, up to a batch: one claim statement for
            // them all (a thousand queued runs start in a few dozen claims, not 1,000).
            let mut permits = vec![first];
            while permits.len() < CLAIM_BATCH {
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => break,
                }
            }
            let claimed = self
                .store
                .claim_jobs(
                    &self.config.worker_id,
                    self.config.lease,
                    self.config.max_running_per_owner,
                    permits.len() as u32,
                )
                .await;
            if let Ok(claimed) = &claimed {
                shared.live.publish_stored(&claimed.ended).await;
                self.count_claims(claimed);
            }
            match claimed.map(|claimed| claimed.jobs) {
                Ok(claimed) if !claimed.is_empty() => {
                    for job in claimed {
                        let Some(permit) = permits.pop() else { break };
                        let worker = self.clone();
                        let shared = shared.clone();
                        let halt = halt_all.child_token();
                        // The run's root span (OpenTelemetry's GenAI `invoke_workflow`);
                        // its ids label every log line of the run.
                        let span = tracing::info_span!(
                            "invoke_workflow",
                            otel.name = "invoke_workflow",
                            otel.kind = "internal",
                            gen_ai.operation.name = "invoke_workflow",
                            gen_ai.conversation.id = %job.run_id,
                            run_id = %job.run_id,
                            user_id = %job.owner,
                            job_id = %job.job_id,
                            attempt = job.attempt,
                            otel.status_code = tracing::field::Empty,
                        );
                        jobs.spawn(
                            async move {
                                worker.execute(&shared, job, halt).await;
                                drop(permit);
                            }
                            .instrument(span),
                        );
                    }
                }
                Ok(_) => {
                    drop(permits);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(self.config.poll_every) => {}
                    }
                }
                Err(error) => {
                    drop(permits);
                    tracing::warn!(%error, "cannot claim jobs; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(self.config.poll_every * 4) => {}
                    }
                }
            }
        }
        tracing::info!(
            running = jobs.len(),
            "worker stopping: handing running jobs back"
        );
        halt_all.cancel();
        while jobs.join_next().await.is_some() {}
        if let Ok(shared) = Arc::try_unwrap(shared) {
            shared.writer.close().await;
        }
    }

    /// Counts a claim's attempts, reclaimed leases and the runs it gave up.
    fn count_claims(&self, claims: &Claims) {
        for job in &claims.jobs {
            self.metrics.job_attempts.inc();
            if job.attempt > 1 {
                self.metrics.job_leases_reclaimed.inc();
            }
        }
        let abandoned = claims
            .ended
            .iter()
            .filter(|event| matches!(event.kind, EventKind::Finished { .. }))
            .count();
        for _ in 0..abandoned {
            self.metrics.jobs_abandoned.inc();
            self.metrics.run_finished(
                RunStatus::Failed.as_str(),
                Some(FailureCode::WorkerLost.as_str()),
            );
        }
    }

    /// Runs one claimed job to its end, or until its lease is lost or the worker halts.
    async fn execute(&self, shared: &Shared, job: ClaimedJob, halt: CancellationToken) {
        let claimed_at = tokio::time::Instant::now();
        match self.prepare(shared, &job).await {
            Ok(run) => {
                let halted = run.log.halted.clone();
                let sink = run.log.sink.clone();
                let outcome = self.run_engine(shared, &job, run, claimed_at, &halt).await;
                // The run is this worker's to end only once all its events are stored.
                let outcome = match (outcome, sink.flush().await) {
                    (Ok(outcome), Ok(())) => Ok(outcome),
                    (Ok(_), Err(error)) | (Err(error), _) => Err(error),
                };
                self.finish(&job, outcome, halted.load(Ordering::SeqCst), &halt)
                    .await;
            }
            Err(NotRunnable::Ended) => self.complete(&job).await,
            Err(NotRunnable::Unavailable { what, error }) => {
                tracing::warn!(%error, "cannot read {what}; leaving the run to the lease");
            }
            Err(NotRunnable::Failed {
                log,
                failure,
                usage,
            }) => self.fail(&job, &log, failure, usage).await,
        }
    }

    /// Everything a claimed job needs before its engine starts: the stored run and what
    /// an earlier attempt persisted, its request, its model, and its budgets capped by
    /// the owner's quota.
    async fn prepare(&self, shared: &Shared, job: &ClaimedJob) -> Result<PreparedRun, NotRunnable> {
        let run = self
            .store
            .get_run_any(job.run_id)
            .await
            .map_err(NotRunnable::unavailable("the claimed job's run"))?;
        if run.status.is_terminal() {
            return Err(NotRunnable::Ended);
        }
        if job.attempt == 1 {
            let waited = (chrono::Utc::now() - run.created_at)
                .to_std()
                .unwrap_or_default();
            self.metrics.queue_wait.observe(waited.as_secs_f64());
        }
        // A run that never started has nothing to resume: skip the read.
        let (resume, last_seq) = if run.last_seq == 0 {
            (ResumeState::default(), 0)
        } else {
            self.store
                .resume_state(job.run_id)
                .await
                .map_err(NotRunnable::unavailable("the run's events"))?
        };
        let halted = Arc::new(AtomicBool::new(false));
        let sink = Arc::new(shared.writer.sink(job.run_id, halted.clone()));
        let log = RunLog {
            emitter: RunEmitter::new(job.run_id, sink.clone(), last_seq),
            sink,
            halted,
        };
        match self.admit(&run).await {
            Ok((request, model)) => Ok(PreparedRun {
                log,
                request,
                model,
                resume: (last_seq > 0).then_some(resume),
            }),
            Err(Refusal::Unavailable { what, error }) => {
                Err(NotRunnable::Unavailable { what, error })
            }
            Err(Refusal::Failed(failure)) => Err(NotRunnable::Failed {
                log,
                failure,
                usage: resume.usage,
            }),
        }
    }

    /// The engine request and model of a stored run, or why it cannot start.
    async fn admit(&self, run: &RunRecord) -> Result<(RunRequest, Arc<dyn ChatModel>), Refusal> {
        let request: StoredRunRequest =
            serde_json::from_value(run.request.clone()).map_err(|error| {
                Refusal::Failed(RunFailure::new(
                    FailureCode::InvalidRequest,
                    format!("the stored run request is unreadable: {error}"),
                ))
            })?;
        let credential = match &self.sealer {
            Some(sealer) if request.model.as_deref() != Some(DEMO_MODEL) => {
                credentials::preferred(self.store.as_ref(), sealer, run.owner)
                    .await
                    .map_err(|error| match error {
                        PreferredError::Store(error) => Refusal::Unavailable {
                            what: "the owner's provider keys",
                            error: error.to_string(),
                        },
                        unreadable @ PreferredError::Unreadable { .. } => {
                            Refusal::Failed(RunFailure::new(
                                FailureCode::CredentialUnreadable,
                                unreadable.to_string(),
                            ))
                        }
                    })?
            }
            _ => None,
        };
        let model =
            self.models
                .model(&request, credential.as_ref())
                .map_err(|error| {
                    Refusal::Failed(RunFailure::from_model(&error).unwrap_or_else(|| {
                        RunFailure::new(FailureCode::LlmConfig, error.to_string())
                    }))
                })?;
        let model: Arc<dyn ChatModel> = Arc::new(ObservedModel::new(
            model,
            self.metrics.clone(),
            self.trace_content,
        ));
        let mut engine_request = request.to_engine();
        match self
            .config
            .quotas
            .allowance(self.store.as_ref(), run.owner, chrono::Utc::now())
            .await
        {
            Ok(Allowance::Unlimited) => {}
            Ok(Allowance::Within(left)) => left.cap(&mut engine_request.overrides),
            Ok(Allowance::Exhausted { .. }) => {
                return Err(Refusal::Failed(RunFailure::new(
                    FailureCode::QuotaExceeded,
                    "the owner's daily token or spend quota is used up; it resets at 00:00 UTC",
                )));
            }
            Err(error) => {
                return Err(Refusal::Unavailable {
                    what: "today's usage",
                    error: error.to_string(),
                });
            }
        }
        Ok((engine_request, model))
    }

    /// Runs the engine on a prepared job while the watcher renews its lease and relays
    /// cancel requests; a worker shutdown halts it.
    async fn run_engine(
        &self,
        shared: &Shared,
        job: &ClaimedJob,
        run: PreparedRun,
        claimed_at: tokio::time::Instant,
        halt: &CancellationToken,
    ) -> Result<RunOutcome, SinkError> {
        let PreparedRun {
            log,
            request,
            model,
            resume,
        } = run;
        let cancel = CancellationToken::new();
        let ctx = RunContext {
            emitter: log.emitter,
            model,
            executor: self.executor.clone().map(|executor| {
                Arc::new(ObservedExecutor::new(
                    executor,
                    self.metrics.clone(),
                    self.trace_content,
                )) as Arc<dyn CodeExecutor>
            }),
            artifacts: StoredArtifacts::for_run(
                self.store.clone(),
                self.config.artifacts,
                log.halted.clone(),
            ),
            input: Arc::new(StoredInput::new(
                self.store.clone(),
                job.run_id,
                self.config.input_poll_every,
                self.config.input_timeout,
            )),
            tools: self.tools.clone().map(|tools| {
                Arc::new(ObservedToolBox::new(tools, self.metrics.clone())) as Arc<dyn ToolBox>
            }),
            cancel: cancel.clone(),
        };
        let _watch_guard = shared.watched.add(
            job.job_id,
            job.run_id,
            claimed_at,
            cancel.clone(),
            log.halted.clone(),
        );
        let done = CancellationToken::new();
        // Shutdown halts the run: the sink refuses every event first, so the
        // cancellation it causes writes nothing and the next worker resumes the run.
        let watch = async {
            tokio::select! {
                () = done.cancelled() => {}
                () = halt.cancelled() => {
                    log.halted.store(true, Ordering::SeqCst);
                    cancel.cancel();
                }
            }
        };
        let engine = async {
            let _active = GaugeGuard::hold(&self.metrics.runs_active);
            let outcome = execute_run(request, ctx, resume).await;
            done.cancel();
            outcome
        };
        let (outcome, ()) = tokio::join!(engine, watch);
        outcome
    }

    /// Retires, hands back or leaves a job whose engine has stopped, by how it stopped.
    async fn finish(
        &self,
        job: &ClaimedJob,
        outcome: Result<RunOutcome, SinkError>,
        halted: bool,
        halt: &CancellationToken,
    ) {
        match outcome {
            Ok(outcome) => {
                tracing::info!(
                    status = outcome.status.as_str(),
                    reason = outcome.reason.as_str(),
                    "run ended"
                );
                self.metrics.run_finished(
                    outcome.status.as_str(),
                    outcome.error.as_ref().map(|failure| failure.code.as_str()),
                );
                if outcome.status == RunStatus::Failed {
                    tracing::Span::current().record("otel.status_code", "ERROR");
                }
                self.complete(job).await;
            }
            Err(_) if halted => {
                tracing::info!("run halted on this worker; it resumes elsewhere");
                // On shutdown the job goes back to the queue at once; after a lost lease
                // it already belongs to another worker.
                if halt.is_cancelled() {
                    self.release(job).await;
                }
            }
            Err(error) => {
                // The database refused an event (down, or another worker took the run
                // over): stop here; the lease decides who continues.
                tracing::warn!(%error, "run stopped: its events could not be stored");
            }
        }
    }

    /// Ends a run that cannot start (unreadable request, unusable model, quota used up)
    /// as failed, with the same closing events as any failed run.
    async fn fail(&self, job: &ClaimedJob, log: &RunLog, failure: RunFailure, usage: UsageTotals) {
        let code = failure.code;
        for kind in RunEnd::failed(failure, usage).events() {
            if let Err(error) = log.emitter.emit(kind).await {
                tracing::warn!(%error, "cannot record the run's failure; leaving it to the lease");
                return;
            }
        }
        if let Err(error) = log.sink.flush().await {
            tracing::warn!(%error, "cannot record the run's failure; leaving it to the lease");
            return;
        }
        self.metrics
            .run_finished(RunStatus::Failed.as_str(), Some(code.as_str()));
        tracing::Span::current().record("otel.status_code", "ERROR");
        self.complete(job).await;
    }

    async fn complete(&self, job: &ClaimedJob) {
        match self
            .store
            .complete_job(job.job_id, &self.config.worker_id)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!("job completed but no longer ours"),
            Err(error) => tracing::warn!(%error, "cannot mark the job done; its lease will expire"),
        }
    }

    async fn release(&self, job: &ClaimedJob) {
        if let Err(error) = self
            .store
            .release_job(job.job_id, &self.config.worker_id)
            .await
        {
            tracing::warn!(%error, "cannot hand the job back; its lease will expire");
        }
    }
}

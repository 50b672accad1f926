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

mod input;
mod models;
mod sink;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cadre_core::event::{EventKind, RunEmitter};
use cadre_core::executor::CodeExecutor;
use cadre_core::groupchat::RunContext;
use cadre_core::run::execute_run;
use cadre_core::termination::StopReason;
use cadre_core::{RunStatus, UsageTotals};
use cadre_store::{ClaimedJob, Store};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

pub use input::StoredInput;
pub use models::{EnvModels, FixedModel, ModelFactory, NO_USER_KEY, provider_config};
pub use sink::{EventWriter, PersistingSink};

use crate::auth::credentials::{self, PreferredError, UserCredential};
use crate::auth::sealing::SecretBox;
use crate::bus::EventBus;
use crate::quota::Quotas;
use crate::run_request::StoredRunRequest;
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
        }
    }
}

/// What the jobs of one [`Worker::run`] share.
struct Shared {
    writer: EventWriter,
    watched: Arc<Watched>,
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
        }
    }

    /// Lets runs use their owners' stored provider keys, opened with `sealer`.
    pub fn with_sealer(mut self, sealer: SecretBox) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// The owner's preferred stored credential, opened; `Err` is a message for the run.
    async fn owner_credential(
        &self,
        owner: uuid::Uuid,
    ) -> Result<Option<UserCredential>, (&'static str, String)> {
        let Some(sealer) = &self.sealer else {
            return Ok(None);
        };
        credentials::preferred(self.store.as_ref(), sealer, owner)
            .await
            .map_err(|error| match error {
                PreferredError::Store(_) => ("store_unavailable", error.to_string()),
                PreferredError::Unreadable { .. } => ("credential_unreadable", error.to_string()),
            })
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
            match claimed {
                Ok(claimed) if !claimed.is_empty() => {
                    for job in claimed {
                        let Some(permit) = permits.pop() else { break };
                        let worker = self.clone();
                        let shared = shared.clone();
                        let halt = halt_all.child_token();
                        let span = tracing::info_span!("job", run_id = %job.run_id, job_id = %job.job_id, attempt = job.attempt);
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

    /// Runs one claimed job to its end, or until its lease is lost or the worker halts.
    async fn execute(&self, shared: &Shared, job: ClaimedJob, halt: CancellationToken) {
        let claimed_at = tokio::time::Instant::now();
        let run = match self.store.get_run_any(job.run_id).await {
            Ok(run) => run,
            Err(error) => {
                tracing::warn!(%error, "claimed job's run cannot be read; leaving it to the lease");
                return;
            }
        };
        if run.status.is_terminal() {
            self.complete(&job).await;
            return;
        }
        // A run that never started has nothing to resume: skip the read.
        let state = if run.last_seq == 0 {
            Ok((Default::default(), 0))
        } else {
            self.store.resume_state(job.run_id).await
        };
        let (resume, last_seq) = match state {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%error, "cannot load the run's events; leaving it to the lease");
                return;
            }
        };
        let halted = Arc::new(AtomicBool::new(false));
        let sink = Arc::new(shared.writer.sink(job.run_id, halted.clone()));
        let emitter = RunEmitter::new(job.run_id.to_string(), sink.clone(), last_seq);
        let cancel = CancellationToken::new();

        let request: StoredRunRequest = match serde_json::from_value(run.request.clone()) {
            Ok(request) => request,
            Err(error) => {
                let message = format!("the stored run request is unreadable: {error}");
                self.fail(
                    &job,
                    &emitter,
                    &sink,
                    "invalid_request",
                    message,
                    resume.usage,
                )
                .await;
                return;
            }
        };
        let credential = if request.model.as_deref() == Some("demo") {
            None
        } else {
            match self.owner_credential(run.owner).await {
                Ok(credential) => credential,
                Err(("store_unavailable", message)) => {
                    tracing::warn!(%message, "leaving the run to the lease");
                    return;
                }
                Err((code, message)) => {
                    self.fail(&job, &emitter, &sink, code, message, resume.usage)
                        .await;
                    return;
                }
            }
        };
        let model = match self.models.model(&request, credential.as_ref()) {
            Ok(model) => model,
            Err(error) => {
                self.fail(
                    &job,
                    &emitter,
                    &sink,
                    error.code(),
                    error.to_string(),
                    resume.usage,
                )
                .await;
                return;
            }
        };
        let ctx = RunContext {
            emitter,
            model,
            executor: self.executor.clone(),
            input: Arc::new(StoredInput::new(
                self.store.clone(),
                job.run_id,
                self.config.input_poll_every,
                self.config.input_timeout,
            )),
            cancel: cancel.clone(),
        };
        let mut engine_request = request.to_engine();
        if self.config.quotas.any() {
            let today = crate::quota::start_of_day(chrono::Utc::now());
            let used = match self.store.owner_usage_since(run.owner, today).await {
                Ok(used) => used,
                Err(error) => {
                    tracing::warn!(%error, "cannot read today's usage; leaving the run to the lease");
                    return;
                }
            };
            let left = self.config.quotas.remaining(&used);
            if left.exhausted() {
                let message =
                    "the owner's daily token or spend quota is used up; it resets at 00:00 UTC";
                self.fail(
                    &job,
                    &ctx.emitter,
                    &sink,
                    "quota_exceeded",
                    message.into(),
                    resume.usage,
                )
                .await;
                return;
            }
            let overrides = &mut engine_request.overrides;
            if let Some(tokens) = left.tokens {
                overrides.max_tokens = Some(overrides.max_tokens.map_or(tokens, |t| t.min(tokens)));
            }
            if let Some(usd) = left.usd {
                overrides.max_cost_usd = Some(overrides.max_cost_usd.map_or(usd, |c| c.min(usd)));
            }
        }
        let resume = (last_seq > 0).then_some(resume);
        let watch_guard = shared.watched.add(
            job.job_id,
            job.run_id,
            claimed_at,
            cancel.clone(),
            halted.clone(),
        );
        let done = CancellationToken::new();
        // Shutdown halts the run: the sink refuses every event first, so the
        // cancellation it causes writes nothing and the next worker resumes the run.
        let watch = async {
            tokio::select! {
                () = done.cancelled() => {}
                () = halt.cancelled() => {
                    halted.store(true, Ordering::SeqCst);
                    cancel.cancel();
                }
            }
        };
        let engine = async {
            let outcome = execute_run(engine_request, ctx, resume).await;
            done.cancel();
            outcome
        };
        let (outcome, ()) = tokio::join!(engine, watch);
        drop(watch_guard);
        // The run is this worker's to end only once all its events are stored.
        let outcome = match (outcome, sink.flush().await) {
            (Ok(outcome), Ok(())) => Ok(outcome),
            (Ok(_), Err(error)) => Err(error),
            (Err(error), _) => Err(error),
        };
        match outcome {
            Ok(outcome) => {
                tracing::info!(
                    status = outcome.status.as_str(),
                    reason = outcome.reason.as_str(),
                    "run ended"
                );
                self.complete(&job).await;
            }
            Err(_) if halted.load(Ordering::SeqCst) => {
                tracing::info!("run halted on this worker; it resumes elsewhere");
                // On shutdown the job goes back to the queue at once; after a lost lease
                // it already belongs to another worker.
                if halt.is_cancelled() {
                    self.release(&job).await;
                }
            }
            Err(error) => {
                // The database refused an event (down, or another worker took the run
                // over): stop here; the lease decides who continues.
                tracing::warn!(%error, "run stopped: its events could not be stored");
            }
        }
    }

    /// Ends a run that cannot start (unreadable request, unusable model) as failed.
    async fn fail(
        &self,
        job: &ClaimedJob,
        emitter: &RunEmitter,
        sink: &PersistingSink,
        code: &str,
        message: String,
        usage: UsageTotals,
    ) {
        let events = [
            EventKind::Error {
                code: code.to_string(),
                message: message.clone(),
                retryable: false,
            },
            EventKind::Status {
                status: RunStatus::Failed,
            },
            EventKind::Finished {
                status: RunStatus::Failed,
                summary: message,
                reason: StopReason::Error.as_str().to_string(),
                usage,
            },
        ];
        for kind in events {
            if let Err(error) = emitter.emit(kind).await {
                tracing::warn!(%error, "cannot record the run's failure; leaving it to the lease");
                return;
            }
        }
        if let Err(error) = sink.flush().await {
            tracing::warn!(%error, "cannot record the run's failure; leaving it to the lease");
            return;
        }
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

//! Where a worker's run events go: one [`EventWriter`] per worker, a group commit shared
//! by all the runs it executes, and a [`PersistingSink`] per run feeding it.
//!
//! The engine never waits for the database: [`PersistingSink::publish`] queues the event
//! and returns. The writer task takes everything queued since its last write, stores the
//! durable events of every run in one transaction ([`Store::append_event_batches`]), and
//! only then publishes them live, in order, with the `message_delta` events that came
//! between them. So a subscriber never sees an event the database does not have, and one
//! commit covers as many runs and events as arrived during the previous one — the lever
//! that one transaction per event lacked (bench/BENCHMARKS.md).
//!
//! A run's failure to store (a seq conflict after another worker took it over, the
//! database down) is remembered: the run's next `publish` and its [`PersistingSink::flush`]
//! return it, which stops the engine. A *halted* sink refuses everything, and the writer
//! drops what a halted run still had queued, so a run that is no longer this worker's
//! cannot write a single event more.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cadre_core::event::{EventSink, RunEvent, SinkError};
use cadre_store::{EventBatch, Store};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use crate::bus::{BusSink, EventBus};

/// Events one run may have queued but not yet stored; `publish` waits beyond that, so a
/// stalled database slows the engine down instead of filling memory.
const MAX_PENDING_PER_RUN: usize = 1024;

/// Most queued commands taken into one write.
const MAX_PER_WRITE: usize = 8192;

/// One run's side of the writer, shared by its sink and the queued commands.
struct RunState {
    run_id: Uuid,
    halted: Arc<AtomicBool>,
    /// Why the run's events can no longer be stored, once they cannot.
    failed: Mutex<Option<String>>,
    pending: Arc<Semaphore>,
}

impl RunState {
    fn refusal(&self) -> Option<SinkError> {
        if self.halted.load(Ordering::SeqCst) {
            return Some(SinkError("this worker no longer runs the run".into()));
        }
        let failed = match self.failed.lock() {
            Ok(failed) => failed.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        failed.map(SinkError)
    }

    fn fail(&self, reason: String) {
        match self.failed.lock() {
            Ok(mut failed) => *failed = Some(reason),
            Err(poisoned) => *poisoned.into_inner() = Some(reason),
        }
    }
}

enum Command {
    Event {
        run: Arc<RunState>,
        event: RunEvent,
        _slot: OwnedSemaphorePermit,
    },
    Flush {
        run: Arc<RunState>,
        done: oneshot::Sender<Result<(), SinkError>>,
    },
}

impl Command {
    fn run(&self) -> &Arc<RunState> {
        match self {
            Command::Event { run, .. } | Command::Flush { run, .. } => run,
        }
    }
}

/// The worker's group-commit writer; see the module docs.
pub struct EventWriter {
    queue: mpsc::UnboundedSender<Command>,
    /// Aborted on drop: a worker dropped mid-run (a crash, in tests) stores nothing more.
    task: AbortOnDropHandle<()>,
}

impl EventWriter {
    /// Starts the writer task over `store` and `bus`.
    pub fn start(store: Arc<dyn Store>, bus: Arc<dyn EventBus>) -> Self {
        let (queue, commands) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_loop(store, BusSink::new(bus), commands));
        Self {
            queue,
            task: AbortOnDropHandle::new(task),
        }
    }

    /// A sink for `run_id`'s events; once `halted` is set it refuses every event.
    pub fn sink(&self, run_id: Uuid, halted: Arc<AtomicBool>) -> PersistingSink {
        PersistingSink {
            run: Arc::new(RunState {
                run_id,
                halted,
                failed: Mutex::new(None),
                pending: Arc::new(Semaphore::new(MAX_PENDING_PER_RUN)),
            }),
            queue: self.queue.clone(),
        }
    }

    /// Writes what is queued, then stops the task (after every sink is done).
    pub async fn close(self) {
        drop(self.queue);
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "event writer task ended abnormally");
        }
    }
}

/// One run's events, queued for the worker's [`EventWriter`].
pub struct PersistingSink {
    run: Arc<RunState>,
    queue: mpsc::UnboundedSender<Command>,
}

impl PersistingSink {
    /// Waits until every event published so far is stored (and published live); the
    /// error says why they could not all be.
    pub async fn flush(&self) -> Result<(), SinkError> {
        let (done, stored) = oneshot::channel();
        let flush = Command::Flush {
            run: self.run.clone(),
            done,
        };
        if self.queue.send(flush).is_err() {
            return Err(writer_gone());
        }
        stored.await.unwrap_or_else(|_| Err(writer_gone()))
    }
}

fn writer_gone() -> SinkError {
    SinkError("the event writer has stopped".into())
}

#[async_trait]
impl EventSink for PersistingSink {
    async fn publish(&self, event: &RunEvent) -> Result<(), SinkError> {
        if let Some(refusal) = self.run.refusal() {
            return Err(refusal);
        }
        let slot = self
            .run
            .pending
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| writer_gone())?;
        let command = Command::Event {
            run: self.run.clone(),
            event: event.clone(),
            _slot: slot,
        };
        self.queue.send(command).map_err(|_| writer_gone())
    }
}

async fn write_loop(
    store: Arc<dyn Store>,
    live: BusSink,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut taken = Vec::new();
    while commands.recv_many(&mut taken, MAX_PER_WRITE).await > 0 {
        write(store.as_ref(), &live, std::mem::take(&mut taken)).await;
    }
}

/// What one run contributes to a write: its durable events (the batch) and, in order,
/// everything to do once they are stored.
struct RunWork {
    run: Arc<RunState>,
    durable: Vec<RunEvent>,
    /// After the store: publish `durable[i]`, publish a live-only event, answer a flush.
    then: Vec<Then>,
    _slots: Vec<OwnedSemaphorePermit>,
}

enum Then {
    Stored(usize),
    Live(RunEvent),
    Flushed(oneshot::Sender<Result<(), SinkError>>),
}

/// Stores one write's worth of commands and publishes them.
async fn write(store: &dyn Store, live: &BusSink, commands: Vec<Command>) {
    let mut works: Vec<RunWork> = Vec::new();
    let mut index_of: HashMap<Uuid, usize> = HashMap::new();
    for command in commands {
        let run_id = command.run().run_id;
        let index = *index_of.entry(run_id).or_insert_with(|| {
            works.push(RunWork {
                run: command.run().clone(),
                durable: Vec::new(),
                then: Vec::new(),
                _slots: Vec::new(),
            });
            works.len() - 1
        });
        let work = &mut works[index];
        match command {
            Command::Event { event, _slot, .. } => {
                work._slots.push(_slot);
                if event.kind.is_durable() {
                    work.then.push(Then::Stored(work.durable.len()));
                    work.durable.push(event);
                } else {
                    work.then.push(Then::Live(event));
                }
            }
            Command::Flush { done, .. } => work.then.push(Then::Flushed(done)),
        }
    }

    // A halted or failed run writes nothing more; its flushes learn why.
    let mut refused = Vec::new();
    works.retain_mut(|work| match work.run.refusal() {
        Some(refusal) => {
            refused.push((std::mem::take(&mut work.then), refusal));
            false
        }
        None => true,
    });
    for (then, refusal) in refused {
        answer_flushes(then, &Err(refusal));
    }

    let batches: Vec<EventBatch> = works
        .iter_mut()
        .filter(|work| !work.durable.is_empty())
        .map(|work| EventBatch {
            run_id: work.run.run_id,
            events: std::mem::take(&mut work.durable),
        })
        .collect();
    let mut results: HashMap<Uuid, Result<Vec<RunEvent>, SinkError>> = HashMap::new();
    if !batches.is_empty() {
        match store.append_event_batches(&batches).await {
            Ok(outcomes) => {
                for (batch, outcome) in batches.into_iter().zip(outcomes) {
                    let first = batch.events.first().map(|e| e.seq).unwrap_or_default();
                    let result = outcome.map(|()| batch.events).map_err(|error| {
                        SinkError(format!("cannot store events from seq {first}: {error}"))
                    });
                    results.insert(batch.run_id, result);
                }
            }
            Err(error) => {
                for batch in batches {
                    let reason = SinkError(format!("cannot store events: {error}"));
                    results.insert(batch.run_id, Err(reason));
                }
            }
        }
    }

    // Publish each run's events in order; runs side by side (the bus pipelines them).
    let publishing = works.into_iter().map(|work| {
        let stored = results.remove(&work.run.run_id).unwrap_or(Ok(Vec::new()));
        publish_run(live, work, stored)
    });
    futures::future::join_all(publishing).await;
}

async fn publish_run(live: &BusSink, work: RunWork, stored: Result<Vec<RunEvent>, SinkError>) {
    let stored = match stored {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(run_id = %work.run.run_id, %error, "run events not stored");
            work.run.fail(error.0.clone());
            answer_flushes(work.then, &Err(error));
            return;
        }
    };
    for then in work.then {
        // BusSink never fails: live delivery is best effort, the database has it all.
        let _ = match then {
            Then::Stored(index) => match stored.get(index) {
                Some(event) => live.publish(event).await,
                None => Ok(()),
            },
            Then::Live(event) => live.publish(&event).await,
            Then::Flushed(done) => {
                let _ = done.send(Ok(()));
                Ok(())
            }
        };
    }
}

fn answer_flushes(then: Vec<Then>, result: &Result<(), SinkError>) {
    for then in then {
        if let Then::Flushed(done) = then {
            let _ = done.send(result.clone());
        }
    }
}

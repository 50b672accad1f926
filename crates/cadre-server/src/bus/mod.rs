//! The live event bus: how events produced by a worker reach every API replica's SSE and
//! WebSocket subscribers (`docs/DESIGN.md` §6).
//!
//! This module owns the [`EventBus`] contract, the [`Subscription`] stream every backend
//! hands out, the messages it yields ([`BusMessage`]), the bus errors and health, and
//! [`BusSink`], the adapter that lets a run publish to a bus without ever failing because
//! of it. Backends: [`MemoryBus`] (one process, `cadre serve`) and [`RedisBus`] (pub/sub
//! between processes). Both deliver through the same per-run bounded fan-out
//! (`memory::Hub`).
//!
//! The database is the source of truth; the bus is an accelerator. It never blocks a
//! publisher on a slow subscriber: a subscriber that falls behind its bounded buffer gets
//! [`BusMessage::Lagged`] and catches up from the database, and a lost backend is reported
//! as [`BusMessage::Disconnected`] so the stream layer can poll the database until
//! [`BusMessage::Reconnected`].

pub mod memory;
pub mod redis;
mod shared;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use async_trait::async_trait;
use cadre_core::event::{EventSink, RunEvent, SinkError};
use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::ReusableBoxFuture;
use uuid::Uuid;

pub use self::redis::{RedisBus, RedisBusConfig};
pub use memory::{DEFAULT_CAPACITY, MemoryBus};
pub use shared::SharedEvent;

use memory::{Hub, Signal};

/// Why a bus operation failed. Never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The bus URL could not be understood (the URL itself is not repeated here).
    #[error("invalid bus URL: {0}")]
    InvalidUrl(String),
    /// The backend is unreachable or failed the request.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer in time.
    #[error("event bus {op} timed out after {after:?}")]
    Timeout {
        /// The operation that timed out (`publish`, `connect`, …).
        op: &'static str,
        /// How long it waited.
        after: Duration,
    },
    /// The event could not be encoded for the wire.
    #[error("cannot encode event for the bus: {0}")]
    Encode(String),
    /// The bus was shut down.
    #[error("event bus is closed")]
    Closed,
}

/// Whether the bus backend is usable (reported by `/readyz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusHealth {
    /// Connected; live events flow.
    Up,
    /// Disconnected; subscribers are told to fall back to the database.
    Down {
        /// Why (no credentials).
        reason: String,
    },
}

impl BusHealth {
    /// Whether the bus is up.
    pub fn is_up(&self) -> bool {
        matches!(self, BusHealth::Up)
    }
}

/// What a [`Subscription`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMessage {
    /// An event of the subscribed run (durable or `message_delta`), in publish order.
    Event(Arc<SharedEvent>),
    /// The subscriber fell behind its bounded buffer and this many bus messages were
    /// dropped for it; the stream layer catches up from the database.
    Lagged {
        /// How many messages were skipped.
        missed: u64,
    },
    /// The backend was lost: events may be missed until [`BusMessage::Reconnected`]; poll
    /// the database meanwhile.
    Disconnected,
    /// The backend is live again (events published while it was down were not relayed).
    Reconnected,
}

/// The live fan-out of run events between producers (workers) and consumers (streams).
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Sends an event to every current subscriber of its run. Never waits for subscribers;
    /// fails fast when the backend is down (the caller logs it, the run goes on).
    async fn publish(&self, event: &RunEvent) -> Result<(), BusError>;

    /// Subscribes to the live events of one run. Events published after this returns are
    /// delivered; earlier ones come from the database.
    async fn subscribe(&self, run_id: Uuid) -> Result<Subscription, BusError>;

    /// Current health, for `/readyz`.
    fn health(&self) -> BusHealth;

    /// Short backend name (`memory`, `redis`) for logs and metrics.
    fn backend(&self) -> &'static str;
}

type RecvOutput = (Result<Signal, RecvError>, broadcast::Receiver<Signal>);

async fn recv_signal(mut rx: broadcast::Receiver<Signal>) -> RecvOutput {
    let result = rx.recv().await;
    (result, rx)
}

/// The live events of one run, as a [`Stream`] of [`BusMessage`]s (or via
/// [`Subscription::recv`]).
///
/// The stream ends only when the bus that created it is dropped. Dropping the
/// subscription unsubscribes; the run's channel is freed with its last subscriber.
pub struct Subscription {
    // Declared before `release`: the receiver inside must be gone when the release guard
    // counts the run's remaining subscribers.
    next: ReusableBoxFuture<'static, RecvOutput>,
    release: Release,
    /// What this subscriber was last told about the backend.
    believed_up: bool,
    /// A message to yield before reading the channel again.
    pending: Option<BusMessage>,
    done: bool,
}

impl Subscription {
    pub(crate) fn new(
        hub: Arc<Hub>,
        run_id: Uuid,
        rx: broadcast::Receiver<Signal>,
        link_up: bool,
    ) -> Self {
        Self {
            next: ReusableBoxFuture::new(recv_signal(rx)),
            release: Release { hub, run_id },
            believed_up: link_up,
            // A subscriber that arrives during an outage must know to poll the database.
            pending: (!link_up).then_some(BusMessage::Disconnected),
            done: false,
        }
    }

    /// The subscribed run.
    pub fn run_id(&self) -> Uuid {
        self.release.run_id
    }

    /// The next message; `None` once the bus is gone. Cancel-safe.
    pub async fn recv(&mut self) -> Option<BusMessage> {
        futures::StreamExt::next(self).await
    }

    /// Turns a link marker into a message if it changes what this subscriber believes.
    fn link_change(&mut self, up: bool) -> Option<BusMessage> {
        if up == self.believed_up {
            return None;
        }
        self.believed_up = up;
        Some(if up {
            BusMessage::Reconnected
        } else {
            BusMessage::Disconnected
        })
    }
}

impl Stream for Subscription {
    type Item = BusMessage;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BusMessage>> {
        let this = self.get_mut();
        loop {
            if let Some(message) = this.pending.take() {
                return Poll::Ready(Some(message));
            }
            if this.done {
                return Poll::Ready(None);
            }
            let (result, rx) = ready!(this.next.poll(cx));
            this.next.set(recv_signal(rx));
            match result {
                Ok(Signal::Event(event)) => {
                    return Poll::Ready(Some(BusMessage::Event(event)));
                }
                Ok(Signal::Up) => {
                    if let Some(message) = this.link_change(true) {
                        return Poll::Ready(Some(message));
                    }
                }
                Ok(Signal::Down) => {
                    if let Some(message) = this.link_change(false) {
                        return Poll::Ready(Some(message));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    // Link markers may have been among the dropped messages: resync with
                    // the bus's current state so a lagging subscriber is never left
                    // believing it is live while the backend is down.
                    let up = this.release.hub.health().is_up();
                    this.pending = this.link_change(up);
                    return Poll::Ready(Some(BusMessage::Lagged { missed }));
                }
                Err(RecvError::Closed) => this.done = true,
            }
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("run_id", &self.release.run_id)
            .field("believed_up", &self.believed_up)
            .finish_non_exhaustive()
    }
}

/// Frees the run's channel when its last subscriber goes.
struct Release {
    hub: Arc<Hub>,
    run_id: Uuid,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.hub.release(self.run_id);
    }
}

/// An [`EventSink`] that publishes to a bus and never fails the run because of it: a
/// failed publish is logged (once per outage, not once per event) and swallowed.
pub struct BusSink {
    bus: Arc<dyn EventBus>,
    failing: AtomicBool,
}

impl BusSink {
    /// Wraps a bus.
    pub fn new(bus: Arc<dyn EventBus>) -> Self {
        Self {
            bus,
            failing: AtomicBool::new(false),
        }
    }

    /// Publishes, in order, events the store wrote itself (the closing events of a run it
    /// ended: given up after lost workers, or cancelled while queued), so that open
    /// streams see them at once, like every event a worker stores.
    pub async fn publish_stored(&self, events: &[RunEvent]) {
        for event in events {
            // Never fails: a lost publish is caught up from the database.
            let _ = self.publish(event).await;
        }
    }
}

#[async_trait]
impl EventSink for BusSink {
    async fn publish(&self, event: &RunEvent) -> Result<(), SinkError> {
        match self.bus.publish(event).await {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(backend = self.bus.backend(), "event bus publishing again");
                }
            }
            Err(error) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        backend = self.bus.backend(),
                        run_id = %event.run_id,
                        %error,
                        "event bus publish failed; live streams fall back to the database"
                    );
                } else {
                    tracing::debug!(run_id = %event.run_id, %error, "event bus publish failed");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use cadre_core::event::{EventKind, LogLevel};

    struct DownBus;

    #[async_trait]
    impl EventBus for DownBus {
        async fn publish(&self, _event: &RunEvent) -> Result<(), BusError> {
            Err(BusError::Unavailable("test".into()))
        }
        async fn subscribe(&self, _run_id: Uuid) -> Result<Subscription, BusError> {
            Err(BusError::Closed)
        }
        fn health(&self) -> BusHealth {
            BusHealth::Down {
                reason: "test".into(),
            }
        }
        fn backend(&self) -> &'static str {
            "down"
        }
    }

    #[tokio::test]
    async fn bus_sink_swallows_publish_failures() {
        let sink = BusSink::new(Arc::new(DownBus));
        let event = RunEvent {
            seq: 1,
            run_id: Uuid::new_v4(),
            at: chrono::Utc::now(),
            kind: EventKind::Log {
                level: LogLevel::Info,
                message: "m".into(),
            },
        };
        assert!(sink.publish(&event).await.is_ok());
        assert!(sink.publish(&event).await.is_ok());
        assert!(sink.failing.load(Ordering::Relaxed));
    }

    #[test]
    fn errors_render_without_details_leaking() {
        let error = BusError::Timeout {
            op: "publish",
            after: Duration::from_millis(500),
        };
        assert_eq!(error.to_string(), "event bus publish timed out after 500ms");
    }
}

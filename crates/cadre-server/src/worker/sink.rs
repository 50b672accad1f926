//! [`PersistingSink`]: where a worker's run events go. Durable events are stored first
//! (the database is the source of truth) and then published live; `message_delta` events
//! are only published. A halted sink refuses everything, so a run that is no longer this
//! worker's cannot write a single event more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use cadre_core::event::{EventSink, RunEvent, SinkError};
use cadre_store::Store;
use uuid::Uuid;

use crate::bus::{BusSink, EventBus};

/// Stores, then publishes, one run's events.
pub struct PersistingSink {
    store: Arc<dyn Store>,
    live: BusSink,
    run_id: Uuid,
    halted: Arc<AtomicBool>,
}

impl PersistingSink {
    /// A sink for `run_id`; once `halted` is set every event is refused.
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
        run_id: Uuid,
        halted: Arc<AtomicBool>,
    ) -> Self {
        Self {
            store,
            live: BusSink::new(bus),
            run_id,
            halted,
        }
    }
}

#[async_trait]
impl EventSink for PersistingSink {
    async fn publish(&self, event: &RunEvent) -> Result<(), SinkError> {
        if self.halted.load(Ordering::SeqCst) {
            return Err(SinkError("this worker no longer runs the run".into()));
        }
        if event.kind.is_durable() {
            self.store
                .append_events(self.run_id, std::slice::from_ref(event))
                .await
                .map_err(|e| SinkError(format!("cannot store event {}: {e}", event.seq)))?;
        }
        // Live delivery is best effort: BusSink logs and swallows bus failures.
        self.live.publish(event).await
    }
}

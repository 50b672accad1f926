//! In-process fan-out. Owns the per-run bounded broadcast channels (`Hub`) through which
//! every backend delivers to local subscribers, and [`MemoryBus`], the bus of the
//! all-in-one `cadre serve` that is nothing but that hub.
//!
//! A run has a channel only while someone watches it: it is created by the first
//! subscriber and removed with the last, so thousands of finished runs leave nothing
//! behind and publishing to an unwatched run is a map lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use cadre_core::event::RunEvent;
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use super::{BusError, BusHealth, EventBus, SharedEvent, Subscription};

/// Default per-subscriber buffer, in messages, before a slow subscriber lags.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Upper bound on the buffer: the channel preallocates every slot.
const MAX_CAPACITY: usize = 1 << 16;

/// What travels through a run's channel: events, and link markers placed in order among
/// them so that a subscriber learns of an outage exactly where it happened.
#[derive(Debug, Clone)]
pub(crate) enum Signal {
    /// Shared so that fan-out to many subscribers clones a pointer, not the event.
    Event(Arc<SharedEvent>),
    Down,
    Up,
}

/// A change to the set of watched runs, for a backend that must (un)subscribe upstream.
#[derive(Debug)]
pub(crate) enum Interest {
    /// Someone subscribes to the run; `ack` fires once upstream delivery is in place.
    Add {
        run_id: Uuid,
        ack: oneshot::Sender<()>,
    },
    /// The run's last subscriber left.
    Remove { run_id: Uuid },
}

/// Per-run bounded broadcast channels plus the backend's link state.
pub(crate) struct Hub {
    capacity: usize,
    state: Mutex<HubState>,
    interest: Option<mpsc::UnboundedSender<Interest>>,
}

struct HubState {
    runs: HashMap<Uuid, broadcast::Sender<Signal>>,
    link: BusHealth,
    closed: bool,
}

impl Hub {
    /// A hub whose channels buffer `capacity` messages; `interest` (if any) hears about
    /// runs gaining their first or losing their last subscriber. Changes are sent under
    /// the hub's lock, so their order matches the order of the map changes.
    pub(crate) fn new(
        capacity: usize,
        interest: Option<mpsc::UnboundedSender<Interest>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            capacity: capacity.clamp(1, MAX_CAPACITY),
            state: Mutex::new(HubState {
                runs: HashMap::new(),
                link: BusHealth::Up,
                closed: false,
            }),
            interest,
        })
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // The state stays consistent even if a holder panicked: every update is one
        // map operation or one field write.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The per-subscriber buffer size.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds a subscriber to a run, creating the run's channel if needed. The returned
    /// receiver fires when the upstream backend (if any) delivers the run.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        run_id: Uuid,
    ) -> Result<(Subscription, Option<oneshot::Receiver<()>>), BusError> {
        let mut state = self.lock();
        if state.closed {
            return Err(BusError::Closed);
        }
        let rx = match state.runs.get(&run_id) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, rx) = broadcast::channel(self.capacity);
                state.runs.insert(run_id, sender);
                rx
            }
        };
        // Every subscriber asks, not only the first: its ack then comes after the first
        // one's upstream subscription is confirmed, so no subscriber returns early.
        let ack = self.interest.as_ref().and_then(|interest| {
            let (ack, acked) = oneshot::channel();
            interest
                .send(Interest::Add { run_id, ack })
                .ok()
                .map(|()| acked)
        });
        let link_up = state.link.is_up();
        drop(state);
        Ok((
            Subscription::new(Arc::clone(self), run_id, rx, link_up),
            ack,
        ))
    }

    /// Called when a subscriber is dropped (after its receiver is gone).
    pub(crate) fn release(&self, run_id: Uuid) {
        let mut state = self.lock();
        let unused = state
            .runs
            .get(&run_id)
            .is_some_and(|sender| sender.receiver_count() == 0);
        if unused {
            state.runs.remove(&run_id);
            if let Some(interest) = &self.interest {
                // The receiving task is gone only when the bus is shutting down.
                let _ = interest.send(Interest::Remove { run_id });
            }
        }
    }

    /// The run's channel, if anyone watches it.
    pub(crate) fn sender(&self, run_id: Uuid) -> Option<broadcast::Sender<Signal>> {
        self.lock().runs.get(&run_id).cloned()
    }

    /// Hands an event to the run's local subscribers; a no-op for an unwatched run.
    pub(crate) fn deliver(&self, event: &RunEvent) {
        if let Some(sender) = self.sender(event.run_id) {
            // An error only means the last subscriber left meanwhile.
            let _ = sender.send(Signal::Event(SharedEvent::new(event.clone())));
        }
    }

    /// Records the backend's link state; a change between up and down is announced to
    /// every subscriber, in order with the events.
    pub(crate) fn set_link(&self, health: BusHealth) {
        let mut state = self.lock();
        let marker = match (state.link.is_up(), health.is_up()) {
            (true, false) => Some(Signal::Down),
            (false, true) => Some(Signal::Up),
            _ => None,
        };
        state.link = health;
        if let Some(marker) = marker {
            for sender in state.runs.values() {
                let _ = sender.send(marker.clone());
            }
        }
    }

    /// The backend's link state.
    pub(crate) fn health(&self) -> BusHealth {
        self.lock().link.clone()
    }

    /// Runs with at least one subscriber.
    pub(crate) fn watched_runs(&self) -> Vec<Uuid> {
        self.lock().runs.keys().cloned().collect()
    }

    /// Number of runs with at least one subscriber.
    pub(crate) fn watched_count(&self) -> usize {
        self.lock().runs.len()
    }

    /// Ends every subscription (their streams return `None`) and refuses new ones.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.runs.clear();
    }
}

/// The in-process bus of the all-in-one server: per-run bounded broadcast channels.
///
/// Clones share the channels. When the last clone is dropped, every subscription ends.
#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<MemoryInner>,
}

struct MemoryInner {
    hub: Arc<Hub>,
}

impl Drop for MemoryInner {
    fn drop(&mut self) {
        self.hub.close();
    }
}

impl MemoryBus {
    /// A bus whose subscribers each buffer [`DEFAULT_CAPACITY`] messages.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A bus whose subscribers each buffer `capacity` messages (clamped to 1..=65536)
    /// before they lag.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::new(MemoryInner {
                hub: Hub::new(capacity, None),
            }),
        }
    }

    /// The per-subscriber buffer size in messages.
    pub fn capacity(&self) -> usize {
        self.inner.hub.capacity()
    }

    /// Number of runs that currently have a channel (at least one subscriber).
    pub fn watched_runs(&self) -> usize {
        self.inner.hub.watched_count()
    }
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("capacity", &self.capacity())
            .field("watched_runs", &self.watched_runs())
            .finish()
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish(&self, event: &RunEvent) -> Result<(), BusError> {
        self.inner.hub.deliver(event);
        Ok(())
    }

    async fn subscribe(&self, run_id: Uuid) -> Result<Subscription, BusError> {
        let (subscription, _) = self.inner.hub.subscribe(run_id)?;
        Ok(subscription)
    }

    fn health(&self) -> BusHealth {
        BusHealth::Up
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::bus::BusMessage;
    use cadre_core::event::{EventKind, LogLevel};

    /// The run every test watches.
    const R: Uuid = Uuid::from_u128(7);

    fn event(run_id: Uuid, seq: u64) -> RunEvent {
        RunEvent {
            seq,
            run_id,
            at: chrono::Utc::now(),
            kind: EventKind::Log {
                level: LogLevel::Info,
                message: format!("e{seq}"),
            },
        }
    }

    #[test]
    fn capacity_is_clamped() {
        assert_eq!(MemoryBus::with_capacity(0).capacity(), 1);
        assert_eq!(
            MemoryBus::with_capacity(usize::MAX).capacity(),
            MAX_CAPACITY
        );
    }

    #[tokio::test]
    async fn link_markers_arrive_in_order_and_only_on_change() {
        let hub = Hub::new(16, None);
        let (mut sub, ack) = hub.subscribe(R).unwrap();
        assert!(ack.is_none());
        hub.deliver(&event(R, 1));
        hub.set_link(BusHealth::Down { reason: "x".into() });
        hub.set_link(BusHealth::Down { reason: "y".into() });
        hub.set_link(BusHealth::Up);
        hub.deliver(&event(R, 2));
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(sub.recv().await.unwrap());
        }
        assert_eq!(
            got[0],
            BusMessage::Event(SharedEvent::new(event_with_at(&got[0], R, 1)))
        );
        assert_eq!(got[1], BusMessage::Disconnected);
        assert_eq!(got[2], BusMessage::Reconnected);
        assert!(matches!(&got[3], BusMessage::Event(e) if e.seq == 2));
    }

    fn event_with_at(message: &BusMessage, run_id: Uuid, seq: u64) -> RunEvent {
        let BusMessage::Event(e) = message else {
            panic!("expected an event, got {message:?}")
        };
        RunEvent {
            at: e.at,
            ..event(run_id, seq)
        }
    }

    #[tokio::test]
    async fn subscribers_share_one_event_and_its_one_encoding() {
        let hub = Hub::new(16, None);
        let (mut first, _) = hub.subscribe(R).unwrap();
        let (mut second, _) = hub.subscribe(R).unwrap();
        hub.deliver(&event(R, 1));
        let (Some(BusMessage::Event(a)), Some(BusMessage::Event(b))) =
            (first.recv().await, second.recv().await)
        else {
            panic!("expected an event for both subscribers")
        };
        assert!(Arc::ptr_eq(&a, &b), "each subscriber got its own copy");
        let json = a.json().unwrap();
        assert_eq!(json, serde_json::to_string(a.event()).unwrap());
        assert!(std::ptr::eq(json, b.json().unwrap()), "encoded twice");
    }

    #[tokio::test]
    async fn subscriber_arriving_during_outage_is_told_first() {
        let hub = Hub::new(16, None);
        hub.set_link(BusHealth::Down { reason: "x".into() });
        let (mut sub, _) = hub.subscribe(R).unwrap();
        assert_eq!(sub.recv().await, Some(BusMessage::Disconnected));
        hub.set_link(BusHealth::Up);
        assert_eq!(sub.recv().await, Some(BusMessage::Reconnected));
    }

    #[tokio::test]
    async fn lagged_subscriber_resyncs_link_state() {
        let hub = Hub::new(2, None);
        let (mut sub, _) = hub.subscribe(R).unwrap();
        hub.set_link(BusHealth::Down { reason: "x".into() });
        for seq in 1..=5 {
            hub.deliver(&event(R, seq));
        }
        // The Down marker was overwritten; the subscriber must still learn of the outage.
        assert!(matches!(sub.recv().await, Some(BusMessage::Lagged { .. })));
        assert_eq!(sub.recv().await, Some(BusMessage::Disconnected));
    }

    #[tokio::test]
    async fn closing_the_hub_ends_streams_and_refuses_subscribers() {
        let bus = MemoryBus::new();
        let mut sub = bus.subscribe(R).await.unwrap();
        drop(bus);
        assert_eq!(sub.recv().await, None);
        assert_eq!(sub.recv().await, None);
    }

    #[tokio::test]
    async fn interest_is_announced_under_the_lock_in_order() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hub = Hub::new(4, Some(tx));
        let (a, _) = hub.subscribe(R).unwrap();
        let (b, _) = hub.subscribe(R).unwrap();
        drop(a);
        assert_eq!(hub.watched_count(), 1);
        drop(b);
        assert_eq!(hub.watched_count(), 0);
        let mut kinds = Vec::new();
        while let Ok(interest) = rx.try_recv() {
            kinds.push(match interest {
                Interest::Add { .. } => "add",
                Interest::Remove { .. } => "remove",
            });
        }
        assert_eq!(kinds, ["add", "add", "remove"]);
    }
}

//! The Redis pub/sub bus between API replicas and workers (`CADRE_REDIS_URL`). Owns the
//! wire format (`PUBLISH {prefix}run:{run_id}` with the event JSON), the one shared
//! subscriber connection per process, and its reconnect loop.
//!
//! Local fan-out reuses the in-process hub (`memory::Hub`): one Redis subscription per
//! watched run, however many SSE clients watch it. When the connection drops, every
//! subscriber gets [`BusMessage::Disconnected`](super::BusMessage::Disconnected), the
//! background task reconnects with capped exponential backoff, re-subscribes the watched
//! runs, and announces [`BusMessage::Reconnected`](super::BusMessage::Reconnected).
//! Publishing uses a separate connection and fails fast while Redis is down.

use prometheus_client::metrics::counter::Counter;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use async_trait::async_trait;
use cadre_core::event::RunEvent;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use uuid::Uuid;

use super::memory::{DEFAULT_CAPACITY, Hub, Interest};
use super::{BusError, BusHealth, EventBus, SharedEvent, Subscription};

/// Channels per SUBSCRIBE command when re-subscribing many runs at once.
const SUBSCRIBE_CHUNK: usize = 500;

/// Settings of a [`RedisBus`].
#[derive(Debug, Clone)]
pub struct RedisBusConfig {
    /// Prepended to every channel name (`{prefix}run:{run_id}`), so several deployments
    /// or test runs can share one Redis.
    pub channel_prefix: String,
    /// Per-subscriber buffer in messages before a slow subscriber lags.
    pub capacity: usize,
    /// Longest a publish may wait for Redis before it fails.
    pub publish_timeout: Duration,
    /// Longest a connection attempt (and a subscribe) may take.
    pub connect_timeout: Duration,
    /// How often the subscriber connection is pinged, to notice a silently dead link.
    pub ping_interval: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Cap of the reconnect delay.
    pub backoff_max: Duration,
    /// Counts each reconnection of the subscriber connection (the service passes its
    /// `cadre_bus_reconnects_total{backend="redis"}`).
    pub reconnects: Counter,
}

impl RedisBusConfig {
    /// Defaults with the given channel prefix.
    pub fn new(channel_prefix: impl Into<String>) -> Self {
        Self {
            channel_prefix: channel_prefix.into(),
            capacity: DEFAULT_CAPACITY,
            publish_timeout: Duration::from_millis(1000),
            connect_timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(5),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            reconnects: Counter::default(),
        }
    }
}

impl Default for RedisBusConfig {
    fn default() -> Self {
        Self::new("cadre:")
    }
}

/// Event bus over Redis pub/sub. Clones share the connections; dropping the last clone
/// stops the background task and ends every subscription.
#[derive(Clone)]
pub struct RedisBus {
    inner: Arc<RedisInner>,
}

struct RedisInner {
    hub: Arc<Hub>,
    publisher: ConnectionManager,
    channel_prefix: String,
    publish_timeout: Duration,
    /// After a failed publish, further publishes fail at once until this instant, so a
    /// stream of deltas does not pay the timeout once per event.
    cooldown_until: Mutex<Option<Instant>>,
    task: JoinHandle<()>,
    redacted_url: String,
}

impl Drop for RedisInner {
    fn drop(&mut self) {
        self.task.abort();
        self.hub.close();
    }
}

impl RedisBus {
    /// Connects with default settings. Fails if the URL is invalid or Redis is
    /// unreachable now; later outages are survived.
    pub async fn connect(url: &str, channel_prefix: &str) -> Result<Self, BusError> {
        Self::connect_with(url, RedisBusConfig::new(channel_prefix)).await
    }

    /// Connects with explicit settings.
    pub async fn connect_with(url: &str, config: RedisBusConfig) -> Result<Self, BusError> {
        let redacted_url = redact_url(url);
        let client = ::redis::Client::open(url).map_err(|error| {
            BusError::InvalidUrl(format!(
                "{redacted_url}: {:?} (expected redis://[user:password@]host[:port][/db])",
                error.kind()
            ))
        })?;
        let unreachable = |error: String| {
            BusError::Unavailable(format!("cannot reach Redis at {redacted_url}: {error}"))
        };

        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.publish_timeout))
            .set_number_of_retries(1)
            .set_min_delay(config.backoff_min)
            .set_max_delay(config.backoff_max);
        let publisher = timeout(
            config.connect_timeout,
            client.get_connection_manager_with_config(manager_config),
        )
        .await
        .map_err(|_| unreachable("connection timed out".into()))?
        .map_err(|error| unreachable(error.to_string()))?;
        let first = open_pubsub(&client, &[], config.connect_timeout)
            .await
            .map_err(unreachable)?;

        let (interest_tx, interest_rx) = mpsc::unbounded_channel();
        let hub = Hub::new(config.capacity, Some(interest_tx));
        let subscriber = SubscriberTask {
            client,
            hub: Arc::clone(&hub),
            interest: interest_rx,
            channel_prefix: format!("{}run:", config.channel_prefix),
            config: config.clone(),
            redacted_url: redacted_url.clone(),
            subscribed: HashSet::new(),
        };
        let task = tokio::spawn(subscriber.run(first));
        tracing::info!(url = %redacted_url, prefix = %config.channel_prefix, "event bus connected to Redis");

        Ok(Self {
            inner: Arc::new(RedisInner {
                hub,
                publisher,
                channel_prefix: config.channel_prefix,
                publish_timeout: config.publish_timeout,
                cooldown_until: Mutex::new(None),
                task,
                redacted_url,
            }),
        })
    }

    /// The Redis channel carrying a run's events.
    pub fn channel(&self, run_id: Uuid) -> String {
        format!("{}run:{run_id}", self.inner.channel_prefix)
    }

    /// Number of runs this process is subscribed to.
    pub fn watched_runs(&self) -> usize {
        self.inner.hub.watched_count()
    }

    fn set_cooldown(&self, until: Option<Instant>) {
        *self
            .inner
            .cooldown_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = until;
    }

    fn cooling_down(&self) -> bool {
        self.inner
            .cooldown_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| Instant::now() < until)
    }
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("url", &self.inner.redacted_url)
            .field("channel_prefix", &self.inner.channel_prefix)
            .field("watched_runs", &self.watched_runs())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, event: &RunEvent) -> Result<(), BusError> {
        if let BusHealth::Down { reason } = self.inner.hub.health() {
            return Err(BusError::Unavailable(reason));
        }
        if self.cooling_down() {
            return Err(BusError::Unavailable(
                "a recent publish failed; retrying shortly".into(),
            ));
        }
        let payload =
            serde_json::to_vec(event).map_err(|error| BusError::Encode(error.to_string()))?;
        let mut connection = self.inner.publisher.clone();
        let mut command = ::redis::cmd("PUBLISH");
        command.arg(self.channel(event.run_id)).arg(payload);
        let publish = command.query_async::<i64>(&mut connection);
        let result = match timeout(self.inner.publish_timeout, publish).await {
            Ok(Ok(_receivers)) => Ok(()),
            Ok(Err(error)) => Err(BusError::Unavailable(error.to_string())),
            Err(_) => Err(BusError::Timeout {
                op: "publish",
                after: self.inner.publish_timeout,
            }),
        };
        match &result {
            Ok(()) => self.set_cooldown(None),
            Err(_) => self.set_cooldown(Some(Instant::now() + self.inner.publish_timeout)),
        }
        result
    }

    async fn subscribe(&self, run_id: Uuid) -> Result<Subscription, BusError> {
        let (subscription, ack) = self.inner.hub.subscribe(run_id)?;
        if let Some(ack) = ack {
            // Without the ack the subscription still works once the task catches up; a
            // stuck SUBSCRIBE is the task's to detect, and it then announces Disconnected.
            let _ = timeout(self.inner.publish_timeout * 2, ack).await;
        }
        Ok(subscription)
    }

    fn health(&self) -> BusHealth {
        self.inner.hub.health()
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

/// Opens a pub/sub connection and subscribes it to `channels`.
async fn open_pubsub(
    client: &::redis::Client,
    channels: &[String],
    limit: Duration,
) -> Result<(PubSubSink, PubSubStream), String> {
    let pubsub = timeout(limit, client.get_async_pubsub())
        .await
        .map_err(|_| "connection timed out".to_owned())?
        .map_err(|error| error.to_string())?;
    let (mut sink, stream) = pubsub.split();
    for chunk in channels.chunks(SUBSCRIBE_CHUNK) {
        timeout(limit, sink.subscribe(chunk))
            .await
            .map_err(|_| "subscribe timed out".to_owned())?
            .map_err(|error| error.to_string())?;
    }
    Ok((sink, stream))
}

/// How a connected session ended.
enum SessionEnd {
    Lost(String),
    Shutdown,
}

/// The one subscriber connection of the process and its reconnect loop.
struct SubscriberTask {
    client: ::redis::Client,
    hub: Arc<Hub>,
    interest: mpsc::UnboundedReceiver<Interest>,
    /// `{prefix}run:`.
    channel_prefix: String,
    config: RedisBusConfig,
    redacted_url: String,
    /// Runs subscribed on the current connection.
    subscribed: HashSet<Uuid>,
}

impl SubscriberTask {
    async fn run(mut self, first: (PubSubSink, PubSubStream)) {
        let mut connection = Some(first);
        let mut delay = self.config.backoff_min;
        loop {
            if let Some((sink, stream)) = connection.take() {
                let started = Instant::now();
                match self.session(sink, stream).await {
                    SessionEnd::Shutdown => return,
                    SessionEnd::Lost(reason) => {
                        tracing::warn!(url = %self.redacted_url, %reason, "event bus lost its Redis connection; reconnecting");
                        self.hub.set_link(BusHealth::Down {
                            reason: format!("Redis connection lost: {reason}"),
                        });
                    }
                }
                // A connection that keeps dropping right after it is made must not turn
                // into a reconnect storm: only a session that lasted resets the backoff.
                if started.elapsed() >= self.config.backoff_max {
                    delay = self.config.backoff_min;
                }
            }
            if !self.wait(delay).await {
                return;
            }
            let channels: Vec<String> = self
                .hub
                .watched_runs()
                .into_iter()
                .map(|run_id| format!("{}{run_id}", self.channel_prefix))
                .collect();
            match open_pubsub(&self.client, &channels, self.config.connect_timeout).await {
                Ok(pair) => {
                    self.subscribed = channels
                        .iter()
                        .filter_map(|channel| channel.strip_prefix(&self.channel_prefix))
                        .filter_map(|run_id| Uuid::parse_str(run_id).ok())
                        .collect();
                    self.hub.set_link(BusHealth::Up);
                    self.config.reconnects.inc();
                    tracing::info!(url = %self.redacted_url, runs = channels.len(), "event bus reconnected to Redis");
                    connection = Some(pair);
                }
                Err(reason) => {
                    tracing::debug!(url = %self.redacted_url, %reason, ?delay, "event bus reconnect failed");
                    self.hub.set_link(BusHealth::Down {
                        reason: format!("Redis unreachable: {reason}"),
                    });
                    delay = (delay * 2).min(self.config.backoff_max);
                }
            }
        }
    }

    /// Sleeps `delay` (with jitter, so replicas do not reconnect in lockstep) while
    /// answering subscribers; their runs are subscribed on reconnect. False on shutdown.
    async fn wait(&mut self, delay: Duration) -> bool {
        let jitter = delay.mul_f64(fastrand::f64() * 0.25);
        let deadline = Instant::now() + delay + jitter;
        loop {
            tokio::select! {
                () = sleep_until(deadline) => return true,
                interest = self.interest.recv() => match interest {
                    None => return false,
                    Some(Interest::Add { ack, .. }) => {
                        let _ = ack.send(());
                    }
                    Some(Interest::Remove { .. }) => {}
                },
            }
        }
    }

    /// Relays messages and (un)subscriptions until the connection is lost or the bus is
    /// dropped.
    async fn session(&mut self, mut sink: PubSubSink, mut stream: PubSubStream) -> SessionEnd {
        let limit = self.config.connect_timeout;
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.reset();
        loop {
            // Unbiased on purpose: a flood of messages must not starve subscribes.
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => self.forward(&message),
                    None => return SessionEnd::Lost("connection closed".into()),
                },
                interest = self.interest.recv() => match interest {
                    None => return SessionEnd::Shutdown,
                    Some(Interest::Add { run_id, ack }) => {
                        if !self.subscribed.contains(&run_id) {
                            let channel = format!("{}{run_id}", self.channel_prefix);
                            match timeout(limit, sink.subscribe(&channel)).await {
                                Ok(Ok(())) => {
                                    self.subscribed.insert(run_id);
                                }
                                Ok(Err(error)) => return SessionEnd::Lost(error.to_string()),
                                Err(_) => return SessionEnd::Lost("subscribe timed out".into()),
                            }
                        }
                        let _ = ack.send(());
                    }
                    Some(Interest::Remove { run_id }) => {
                        if self.subscribed.remove(&run_id) {
                            let channel = format!("{}{run_id}", self.channel_prefix);
                            match timeout(limit, sink.unsubscribe(&channel)).await {
                                Ok(Ok(())) => {}
                                Ok(Err(error)) => return SessionEnd::Lost(error.to_string()),
                                Err(_) => return SessionEnd::Lost("unsubscribe timed out".into()),
                            }
                        }
                    }
                },
                _ = ping.tick() => {
                    match timeout(limit, sink.ping::<::redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => return SessionEnd::Lost(error.to_string()),
                        Err(_) => return SessionEnd::Lost("ping timed out".into()),
                    }
                }
            }
        }
    }

    fn forward(&self, message: &::redis::Msg) {
        let channel = message.get_channel_name();
        let Some(run_id) = channel
            .strip_prefix(&self.channel_prefix)
            .and_then(|run_id| Uuid::parse_str(run_id).ok())
        else {
            return;
        };
        // Decode only for runs someone here watches.
        let Some(sender) = self.hub.sender(run_id) else {
            return;
        };
        let payload = message.get_payload_bytes();
        match serde_json::from_slice::<RunEvent>(payload) {
            Ok(event) => {
                // The payload is the event as `publish` encoded it: the streams write it
                // as it came instead of encoding the event again, once each.
                let shared = match std::str::from_utf8(payload) {
                    Ok(json) => SharedEvent::with_json(event, json),
                    Err(_) => SharedEvent::new(event),
                };
                let _ = sender.send(super::memory::Signal::Event(shared));
            }
            Err(error) => {
                tracing::warn!(%channel, %error, "event bus dropped an undecodable message");
            }
        }
    }
}

/// The URL with any password replaced by `***`, for logs and errors.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparseable URL>".into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            // A lone userinfo without ':' is a password for Redis (redis://secret@host).
            let shown = if userinfo.contains(':') && !user.is_empty() {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{scheme}://{shown}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn redact_hides_passwords() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("redis://user:s3cret@redis.internal:6379/1"),
            "redis://user:***@redis.internal:6379/1"
        );
        assert_eq!(redact_url("rediss://:s3cret@host"), "rediss://***@host");
        assert_eq!(redact_url("redis://s3cret@host"), "redis://***@host");
        assert_eq!(redact_url("redis://u:p@ss@host/0"), "redis://u:***@host/0");
        assert_eq!(redact_url("not a url s3cret"), "<unparseable URL>");
    }

    #[tokio::test]
    async fn invalid_url_error_does_not_echo_the_password() {
        let error = RedisBus::connect("http://user:s3cret@host", "p:")
            .await
            .unwrap_err();
        assert!(matches!(error, BusError::InvalidUrl(_)), "{error:?}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[tokio::test]
    async fn unreachable_redis_fails_connect_without_the_password() {
        // Port 1 on loopback refuses connections.
        let mut config = RedisBusConfig::new("p:");
        config.connect_timeout = Duration::from_millis(500);
        let error = RedisBus::connect_with("redis://user:s3cret@127.0.0.1:1/", config)
            .await
            .unwrap_err();
        assert!(matches!(error, BusError::Unavailable(_)), "{error:?}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}

//! The live event bus against both backends: in-process and a real Redis
//! (`CADRE_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`; `make test` starts it).
//! Every Redis test uses its own channel prefix because the server is shared.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cadre_core::event::{EventKind, RunEvent, RunStatus};
use cadre_core::termination::StopReason;
use cadre_server::bus::{
    BusError, BusHealth, BusMessage, EventBus, MemoryBus, RedisBus, RedisBusConfig, Subscription,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(3);

fn redis_url() -> String {
    std::env::var("CADRE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique_prefix() -> String {
    format!("cadre-test-{}:", uuid::Uuid::new_v4())
}

fn config(prefix: &str) -> RedisBusConfig {
    let mut config = RedisBusConfig::new(prefix);
    config.publish_timeout = Duration::from_millis(500);
    config.connect_timeout = Duration::from_millis(700);
    config.backoff_min = Duration::from_millis(50);
    config.backoff_max = Duration::from_millis(400);
    config
}

async fn redis_bus_with(url: &str, config: RedisBusConfig) -> RedisBus {
    match RedisBus::connect_with(url, config).await {
        Ok(bus) => bus,
        Err(error) => panic!(
            "Redis is not reachable ({error}); these tests need a real Redis at \
             CADRE_TEST_REDIS_URL (default redis://127.0.0.1:6379): `make test` (or \
             `make services`) starts one"
        ),
    }
}

async fn redis_bus(prefix: &str) -> RedisBus {
    redis_bus_with(&redis_url(), config(prefix)).await
}

/// The run id a test calls `label` (the same label, the same id).
fn id(label: &str) -> uuid::Uuid {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    label.hash(&mut hasher);
    uuid::Uuid::from_u128(u128::from(hasher.finish()))
}

fn event(run_id: &str, seq: u64, kind: EventKind) -> RunEvent {
    RunEvent {
        seq,
        run_id: id(run_id),
        at: chrono::Utc::now(),
        kind,
    }
}

/// A short run: status, a streamed message (deltas carry the last durable seq), the
/// message, finished.
fn script(run_id: &str) -> Vec<RunEvent> {
    let delta = |d: &str| EventKind::MessageDelta {
        message_id: "m1".into(),
        agent: "coder".into(),
        delta: d.into(),
    };
    vec![
        event(
            run_id,
            1,
            EventKind::Status {
                status: RunStatus::Executing,
            },
        ),
        event(run_id, 1, delta("Hel")),
        event(run_id, 1, delta("lo")),
        event(
            run_id,
            2,
            EventKind::Message {
                message_id: "m1".into(),
                agent: "coder".into(),
                content: "Hello".into(),
                tokens: 2,
            },
        ),
        event(
            run_id,
            3,
            EventKind::Finished {
                status: RunStatus::Completed,
                summary: "Hello".into(),
                reason: StopReason::TextMention,
                usage: Default::default(),
            },
        ),
    ]
}

fn log(run_id: &str, seq: u64) -> RunEvent {
    event(
        run_id,
        seq,
        EventKind::Log {
            level: cadre_core::event::LogLevel::Info,
            message: format!("event {seq}"),
        },
    )
}

async fn next(sub: &mut Subscription) -> BusMessage {
    match timeout(WAIT, sub.recv()).await {
        Ok(Some(message)) => message,
        Ok(None) => panic!("subscription to {} ended", sub.run_id()),
        Err(_) => panic!("no message for {} within {WAIT:?}", sub.run_id()),
    }
}

async fn next_event(sub: &mut Subscription) -> RunEvent {
    match next(sub).await {
        BusMessage::Event(event) => event.event().clone(),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Nothing arrives for a short while.
async fn assert_quiet(sub: &mut Subscription) {
    if let Ok(message) = timeout(Duration::from_millis(150), sub.recv()).await {
        panic!("unexpected message for {}: {message:?}", sub.run_id());
    }
}

// ---- scenarios shared by both backends -------------------------------------------------

async fn own_run_only_in_order(publisher: &dyn EventBus, subscriber: &dyn EventBus) {
    let mut sub_a = subscriber.subscribe(id("run-a")).await.unwrap();
    let mut sub_b = subscriber.subscribe(id("run-b")).await.unwrap();
    let a = script("run-a");
    let b = script("run-b");
    for (ea, eb) in a.iter().zip(&b) {
        publisher.publish(ea).await.unwrap();
        publisher.publish(eb).await.unwrap();
    }
    for expected in &a {
        assert_eq!(&next_event(&mut sub_a).await, expected);
    }
    for expected in &b {
        assert_eq!(&next_event(&mut sub_b).await, expected);
    }
    assert_quiet(&mut sub_a).await;
}

async fn every_subscriber_gets_everything(bus: &dyn EventBus) {
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(bus.subscribe(id("run-m")).await.unwrap());
    }
    let events = script("run-m");
    for e in &events {
        bus.publish(e).await.unwrap();
    }
    for sub in &mut subs {
        for expected in &events {
            assert_eq!(&next_event(sub).await, expected);
        }
    }
}

/// A subscriber that never reads lags; the publisher and a reading subscriber go on.
async fn slow_subscriber_lags_alone(bus: &dyn EventBus, capacity: u64) {
    let mut slow = bus.subscribe(id("run-s")).await.unwrap();
    let mut fast = bus.subscribe(id("run-s")).await.unwrap();
    let total = capacity * 4;
    for seq in 1..=total {
        let started = Instant::now();
        bus.publish(&log("run-s", seq)).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "publish blocked"
        );
        assert_eq!(next_event(&mut fast).await.seq, seq);
    }
    let BusMessage::Lagged { missed } = next(&mut slow).await else {
        panic!("the slow subscriber should lag first");
    };
    assert!(missed >= total - capacity, "missed {missed}");
    // It resumes with the newest buffered events, ending with the last one.
    let mut last = 0;
    while last < total {
        let seq = next_event(&mut slow).await.seq;
        assert!(seq > last);
        last = seq;
    }
}

async fn unwatched_publish_is_fine(bus: &dyn EventBus) {
    for e in script("nobody-watches") {
        bus.publish(&e).await.unwrap();
    }
}

// ---- in-process backend ---------------------------------------------------------------

#[tokio::test]
async fn memory_delivers_own_run_in_order_with_deltas() {
    let bus = MemoryBus::new();
    own_run_only_in_order(&bus, &bus).await;
    assert_eq!(bus.backend(), "memory");
    assert_eq!(bus.health(), BusHealth::Up);
}

#[tokio::test]
async fn memory_multiple_subscribers_each_get_everything() {
    every_subscriber_gets_everything(&MemoryBus::new()).await;
}

#[tokio::test]
async fn memory_slow_subscriber_lags_without_blocking_others() {
    slow_subscriber_lags_alone(&MemoryBus::with_capacity(16), 16).await;
}

#[tokio::test]
async fn memory_publish_to_unwatched_run_creates_nothing() {
    let bus = MemoryBus::new();
    unwatched_publish_is_fine(&bus).await;
    assert_eq!(bus.watched_runs(), 0);
}

#[tokio::test]
async fn memory_dropping_subscriptions_frees_run_channels() {
    let bus = MemoryBus::new();
    let mut subs = Vec::new();
    for i in 0..5000 {
        subs.push(bus.subscribe(id(&format!("run-{i}"))).await.unwrap());
        if i % 2 == 0 {
            subs.push(bus.subscribe(id(&format!("run-{i}"))).await.unwrap());
        }
    }
    assert_eq!(bus.watched_runs(), 5000);
    // Half of the doubly watched runs keep one subscriber.
    let kept = subs.split_off(subs.len() - 10);
    drop(subs);
    assert!(bus.watched_runs() <= 10);
    drop(kept);
    assert_eq!(bus.watched_runs(), 0);
    // A run watched again after being freed works as new.
    let mut again = bus.subscribe(id("run-1")).await.unwrap();
    bus.publish(&log("run-1", 9)).await.unwrap();
    assert_eq!(next_event(&mut again).await.seq, 9);
}

// ---- Redis backend --------------------------------------------------------------------

#[tokio::test]
async fn redis_delivers_own_run_in_order_with_deltas() {
    let bus = redis_bus(&unique_prefix()).await;
    own_run_only_in_order(&bus, &bus).await;
    assert_eq!(bus.backend(), "redis");
    assert_eq!(bus.health(), BusHealth::Up);
}

#[tokio::test]
async fn redis_multiple_subscribers_each_get_everything() {
    every_subscriber_gets_everything(&redis_bus(&unique_prefix()).await).await;
}

#[tokio::test]
async fn redis_two_processes_publish_on_one_receive_on_other() {
    let prefix = unique_prefix();
    let worker = redis_bus(&prefix).await;
    let api = redis_bus(&prefix).await;
    own_run_only_in_order(&worker, &api).await;
    // Another deployment's prefix hears nothing.
    let stranger = redis_bus(&unique_prefix()).await;
    let mut other = stranger.subscribe(id("run-a")).await.unwrap();
    worker.publish(&log("run-a", 7)).await.unwrap();
    assert_quiet(&mut other).await;
}

#[tokio::test]
async fn redis_slow_subscriber_lags_without_blocking_others() {
    let mut config = config(&unique_prefix());
    config.capacity = 16;
    let bus = redis_bus_with(&redis_url(), config).await;
    slow_subscriber_lags_alone(&bus, 16).await;
}

#[tokio::test]
async fn redis_publish_to_unwatched_run_is_fine() {
    let bus = redis_bus(&unique_prefix()).await;
    unwatched_publish_is_fine(&bus).await;
    assert_eq!(bus.watched_runs(), 0);
}

async fn redis_subscribers(channel: &str) -> i64 {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut connection)
        .await
        .unwrap();
    counts.first().map_or(0, |(_, count)| *count)
}

#[tokio::test]
async fn redis_dropping_subscriptions_frees_runs_and_redis_channels() {
    let bus = redis_bus(&unique_prefix()).await;
    let mut subs = Vec::new();
    for i in 0..300 {
        subs.push(bus.subscribe(id(&format!("run-{i}"))).await.unwrap());
    }
    subs.push(bus.subscribe(id("run-0")).await.unwrap());
    assert_eq!(bus.watched_runs(), 300);
    // One Redis subscription per run, however many local subscribers.
    assert_eq!(redis_subscribers(&bus.channel(id("run-0"))).await, 1);
    drop(subs);
    assert_eq!(bus.watched_runs(), 0);
    let deadline = Instant::now() + WAIT;
    while redis_subscribers(&bus.channel(id("run-0"))).await != 0
        || redis_subscribers(&bus.channel(id("run-299"))).await != 0
    {
        assert!(Instant::now() < deadline, "Redis channels still subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Watching again re-subscribes.
    let mut again = bus.subscribe(id("run-0")).await.unwrap();
    bus.publish(&log("run-0", 5)).await.unwrap();
    assert_eq!(next_event(&mut again).await.seq, 5);
}

// ---- Redis outage ---------------------------------------------------------------------

/// A TCP proxy in front of the shared Redis whose switch drops every connection and
/// refuses new ones, so an outage is simulated without touching the server.
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, up_rx) = watch::channel(true);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !*up_rx.borrow() {
                    drop(client);
                    continue;
                }
                let mut switch = up_rx.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = switch.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up, task }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Redis URL's address, and the same URL pointed at `addr`.
async fn split_url(url: &str, addr: Option<SocketAddr>) -> (SocketAddr, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (format!("{userinfo}@"), host),
        None => (String::new(), authority),
    };
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:6379")
    };
    let upstream = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let target = addr.unwrap_or(upstream);
    (upstream, format!("{scheme}://{userinfo}{target}{tail}"))
}

#[tokio::test]
async fn redis_outage_disconnects_fails_fast_and_recovers() {
    let prefix = unique_prefix();
    let (upstream, _) = split_url(&redis_url(), None).await;
    let proxy = Proxy::start(upstream).await;
    let (_, proxied_url) = split_url(&redis_url(), Some(proxy.addr)).await;
    let bus = redis_bus_with(&proxied_url, config(&prefix)).await;
    // A worker elsewhere whose link to Redis stays up.
    let worker = redis_bus(&prefix).await;

    let mut sub = bus.subscribe(id("run-o")).await.unwrap();
    worker.publish(&log("run-o", 1)).await.unwrap();
    assert_eq!(next_event(&mut sub).await.seq, 1);

    proxy.set_up(false);
    assert_eq!(next(&mut sub).await, BusMessage::Disconnected);
    assert!(matches!(bus.health(), BusHealth::Down { .. }));
    let started = Instant::now();
    let error = bus.publish(&log("run-o", 2)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "publish hung");
    assert!(matches!(error, BusError::Unavailable(_)), "{error:?}");
    // A subscriber arriving during the outage is told to fall back at once.
    let mut late = bus.subscribe(id("run-late")).await.unwrap();
    assert_eq!(next(&mut late).await, BusMessage::Disconnected);

    proxy.set_up(true);
    assert_eq!(next(&mut sub).await, BusMessage::Reconnected);
    assert_eq!(next(&mut late).await, BusMessage::Reconnected);
    assert_eq!(bus.health(), BusHealth::Up);

    // Both runs were re-subscribed.
    worker.publish(&log("run-o", 3)).await.unwrap();
    worker.publish(&log("run-late", 1)).await.unwrap();
    assert_eq!(next_event(&mut sub).await.seq, 3);
    assert_eq!(next_event(&mut late).await.seq, 1);

    // The bus's own publisher reconnects too (the first tries may fail while it does).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seq = 10;
    while bus.publish(&log("run-o", seq)).await.is_err() {
        assert!(Instant::now() < deadline, "publisher never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
        seq += 1;
    }
    loop {
        let got = next_event(&mut sub).await.seq;
        if got == seq {
            break;
        }
        assert!((10..seq).contains(&got), "unexpected seq {got}");
    }
}

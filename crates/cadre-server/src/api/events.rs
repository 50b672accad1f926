//! Owns a run's event endpoints (the JSON page of durable events and the SSE stream) and
//! [`open_event_source`], the one ordered event source that both the SSE stream and the
//! WebSocket (`super::ws`) adapt to their transport.
//!
//! The source delivers every durable event after the resume point exactly once, in seq
//! order, then live ones (`docs/DESIGN.md` §4). It subscribes to the bus *before* reading
//! the database so nothing published in between is missed, drops bus duplicates, fills
//! gaps from the database, and falls back to polling the database while the bus is
//! lagging or down. A slow client only fills its own bounded channel: the bus then reports `Lagged`
//! for it and the stream catches up from the database.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cadre_core::event::{EventKind, RunEvent};
use cadre_store::{MAX_EVENTS_PAGE, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorBody, ErrorCode, FieldError};
use super::extract::{ApiPath, ApiQuery};
use crate::bus::{BusMessage, SharedEvent, Subscription};
use crate::telemetry::metrics::GaugeGuard;

/// Page size of `GET …/events` when none is given.
const DEFAULT_PAGE: u32 = 100;
/// Largest page of `GET …/events`.
const MAX_PAGE: u32 = 1000;
/// Page size of the stream's database catch-up.
const CATCH_UP_PAGE: u32 = 500;
/// How often the database is polled while the bus cannot be trusted.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// While the bus is live the database is still read this seldom (in poll ticks, 30 s).
/// Every stored event is published (the store's own endings too, by whoever asked the
/// store), so this backstop is not how anything arrives promptly: it only ends a stream
/// whose publisher died between its commit and its publish, when no later event comes
/// to reveal the gap.
const BACKSTOP_POLL_TICKS: u32 = 60;
/// SSE comment interval that keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Frames buffered per stream before the pump waits for the client.
const STREAM_BUFFER: usize = 64;
/// An SSE comment: keeps proxies from closing a quiet stream, ignored by clients.
const SSE_KEEP_ALIVE: &[u8] = b":\n\n";

/// `GET …/events` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events with a greater seq (default 0: from the start).
    pub after: Option<u64>,
    /// Page size (1..=1000, default 100).
    pub limit: Option<u32>,
}

/// A page of durable events, in seq order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    /// The events.
    pub events: Vec<RunEvent>,
    /// Pass as `after` for the next page: the last seq returned (or the given `after`
    /// when the page is empty).
    pub next_after: u64,
}

/// `GET …/events/stream` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Resume after this seq (default 0); the `Last-Event-ID` header wins over it.
    pub after: Option<u64>,
    /// The access token, for clients that cannot set the `Authorization` header (a
    /// browser's `EventSource`). Never logged.
    pub access_token: Option<String>,
}

/// The event routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/runs/{id}/events", get(list_events))
        .route("/api/v1/runs/{id}/events/stream", get(stream_events))
}

/// A page of a run's durable events.
#[utoipa::path(get, path = "/api/v1/runs/{id}/events", tag = "events",
    params(("id" = Uuid, Path, description = "Run id"), EventsQuery),
    responses(
        (status = 200, description = "Events after `after`", body = EventPage),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(vec![FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )]));
    }
    let after = query.after.unwrap_or(0);
    // Owner check: another user's run answers 404 like a missing one.
    state.store.get_run(user.id, id).await?;
    let events = state.store.events_after(id, after, limit).await?;
    let next_after = events.last().map_or(after, |event| event.seq);
    Ok(Json(EventPage { events, next_after }))
}

/// One event of the SSE stream, as OpenAPI 3.1 tools read an event stream's schema (each
/// event an object of its fields; 3.2 would call this the `itemSchema`). Documentation
/// only: the stream is written by axum's SSE encoder.
pub struct RunEventFrame;

impl utoipa::PartialSchema for RunEventFrame {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{Ref, RefOr};
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        RefOr::T(
            ObjectBuilder::new()
                .description(Some(
                    "One server-sent event: `event:` is the event's type, `data:` the event \
                     as JSON, `id:` its seq (durable events only, so a reconnecting client \
                     resumes with `Last-Event-ID`)",
                ))
                .property("event", text("The event's type (`message`, `status`, …)"))
                .property("id", text("The event's seq; absent on `message_delta`"))
                .property(
                    "data",
                    text("The event as JSON")
                        .content_media_type("application/json")
                        .content_schema(Some(Ref::from_schema_name("RunEvent"))),
                )
                .required("event")
                .required("data")
                .into(),
        )
    }
}

impl ToSchema for RunEventFrame {}

/// Server-sent events of a run: durable events after the resume point, then live ones;
/// ends after `finished`.
#[utoipa::path(get, path = "/api/v1/runs/{id}/events/stream", tag = "events",
    params(
        ("id" = Uuid, Path, description = "Run id"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this seq"),
        StreamQuery,
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = RunEventFrame,
            description = "A server-sent event stream; the schema describes each event"),
        (status = 400, description = "Malformed Last-Event-ID", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn stream_events(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let after = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::BadRequest,
                    "Last-Event-ID must be a seq (integer ≥ 0)",
                )
            })?,
        None => query.after.unwrap_or(0),
    };
    let events = open_event_source(state, &user, id, after, Transport::Sse).await?;
    // The body is the shared frames themselves: nothing is encoded or copied per client.
    let frames = futures::stream::unfold(events, |mut events| async move {
        loop {
            match events.next_item().await? {
                StreamItem::Event(event) => {
                    if let Some(frame) = event.sse_frame() {
                        return Some((Ok::<_, Infallible>(frame), events));
                    }
                }
                StreamItem::KeepAlive => {
                    return Some((Ok(Bytes::from_static(SSE_KEEP_ALIVE)), events));
                }
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames),
    )
        .into_response())
}

/// Which transport a stream goes out on (`cadre_streams_open{transport}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Server-sent events.
    Sse,
    /// A WebSocket.
    Ws,
    /// An OpenAI-compatible chat completion following its run.
    OpenAi,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::Ws => "ws",
            Transport::OpenAi => "openai",
        }
    }
}

/// The one event source behind every streaming transport (SSE, WebSocket): checks that the
/// caller owns the run, then yields every durable event after `after` exactly once, in seq
/// order, followed by live ones, and ends after `finished`. Dropping the source stops the
/// background task that feeds it. The source counts as an open stream of `transport`
/// while it lives.
pub async fn open_event_source(
    state: AppState,
    user: &AuthUser,
    run_id: Uuid,
    after: u64,
    transport: Transport,
) -> Result<EventSource, ApiError> {
    let run = state.store.get_run(user.id, run_id).await?;
    let open = state.metrics.stream_opened(transport.as_str());
    // Subscribe before the first database read: anything published from now on reaches
    // us, and anything before it is in the database.
    let subscription = match state.bus.subscribe(run_id).await {
        Ok(subscription) => Some(subscription),
        Err(error) => {
            tracing::warn!(%run_id, %error, "bus subscribe failed; polling the database");
            None
        }
    };
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let complete = Arc::new(AtomicBool::new(false));
    let pump = Pump {
        state,
        run_id,
        last: after,
        tx,
        last_sent: Instant::now(),
        complete: complete.clone(),
    };
    tokio::spawn(pump.run(subscription, run.status.is_terminal()));
    Ok(EventSource {
        rx,
        complete,
        _open: open,
    })
}

/// A run's ordered events, from [`open_event_source`].
#[derive(Debug)]
pub struct EventSource {
    rx: mpsc::Receiver<StreamItem>,
    complete: Arc<AtomicBool>,
    _open: GaugeGuard,
}

impl EventSource {
    /// The next event; `None` once the source has ended.
    pub async fn next(&mut self) -> Option<Arc<SharedEvent>> {
        loop {
            if let StreamItem::Event(event) = self.next_item().await? {
                return Some(event);
            }
        }
    }

    /// The next event or keep-alive (after 15 s without one); `None` once the
    /// source has ended.
    pub async fn next_item(&mut self) -> Option<StreamItem> {
        self.rx.recv().await
    }

    /// After [`EventSource::next`] returned `None`: whether the run's log was delivered to
    /// its end (`finished` sent, or the client had resumed after it), as opposed to the
    /// source giving up (the database failed), where reconnecting with `after` helps.
    pub fn completed(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }
}

/// What an [`EventSource`] yields.
#[derive(Debug)]
pub enum StreamItem {
    /// The next event, shared with every other stream of the run.
    Event(Arc<SharedEvent>),
    /// Nothing was sent for 15 s: transports that need traffic to stay open
    /// send some (the WebSocket pings on its own).
    KeepAlive,
}

/// Why the pump stops.
enum Stop {
    /// The run's `finished` event was sent.
    Finished,
    /// The client went away.
    ClientGone,
}

/// Feeds one stream client: database catch-up, then the bus, with the dedup/gap rules.
struct Pump {
    state: AppState,
    run_id: Uuid,
    /// Seq of the last durable event sent.
    last: u64,
    tx: mpsc::Sender<StreamItem>,
    /// When something was last sent (for keep-alives).
    last_sent: Instant,
    /// Set when the run's log was delivered to its end.
    complete: Arc<AtomicBool>,
}

impl Pump {
    async fn run(mut self, mut subscription: Option<Subscription>, was_terminal: bool) {
        // A failed first read (the pool busy with thousands of clients connecting at
        // once, the database restarting) is retried on the poll like any later one: the
        // client stays connected and gets its events once the database answers.
        let mut db_failing = false;
        match self.catch_up().await {
            Ok(Some(_)) => return self.mark_complete(),
            Ok(None) if was_terminal || self.resumed_after_finish().await => {
                return self.mark_complete();
            }
            Ok(None) => {}
            Err(CatchUpError::Client) => return,
            Err(CatchUpError::Store(error)) => {
                tracing::warn!(run_id = %self.run_id, %error, "stream catch-up failed; retrying");
                db_failing = true;
            }
        }
        let mut bus_down = subscription.is_none();
        let mut ticks: u32 = 0;
        let mut poll = tokio::time::interval(POLL_EVERY);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Made once, not per loop: with thousands of streams on one run, every event
        // passes through this loop once per stream, and registering with the shutdown
        // token anew each time was a measurable share of the fan-out's cost.
        let client = self.tx.clone();
        let client_gone = client.closed();
        let shutdown = self.state.shutdown.clone();
        let shutting_down = shutdown.cancelled();
        tokio::pin!(client_gone, shutting_down);
        loop {
            let outcome = tokio::select! {
                () = &mut client_gone => Err(Stop::ClientGone),
                // Not `complete`: the client should reconnect and resume.
                () = &mut shutting_down => Err(Stop::ClientGone),
                message = next_message(&mut subscription), if subscription.is_some() => {
                    match message {
                        Some(message) => self.on_message(message, &mut bus_down).await,
                        None => {
                            // The bus is gone for good: the database is all we have.
                            subscription = None;
                            bus_down = true;
                            Ok(false)
                        }
                    }
                }
                _ = poll.tick() => {
                    ticks = ticks.wrapping_add(1);
                    let kept_alive = if self.last_sent.elapsed() >= KEEP_ALIVE {
                        self.send_item(StreamItem::KeepAlive).await
                    } else {
                        Ok(())
                    };
                    kept_alive.map(|()| {
                        bus_down || db_failing || ticks.is_multiple_of(BACKSTOP_POLL_TICKS)
                    })
                }
            };
            let needs_db = match outcome {
                Ok(needs_db) => needs_db,
                Err(Stop::Finished) => return self.mark_complete(),
                Err(Stop::ClientGone) => return,
            };
            if needs_db {
                match self.catch_up().await {
                    Ok(Some(_)) => return self.mark_complete(),
                    // A run over when the stream opened has its whole log stored: read
                    // to its end, there is nothing more to wait for.
                    Ok(None) if was_terminal => return self.mark_complete(),
                    Ok(None) => db_failing = false,
                    Err(CatchUpError::Client) => return,
                    Err(CatchUpError::Store(error)) => {
                        if !db_failing {
                            tracing::warn!(run_id = %self.run_id, %error, "stream catch-up failed; retrying");
                        }
                        db_failing = true;
                    }
                }
            }
        }
    }

    fn mark_complete(&self) {
        self.complete.store(true, Ordering::Release);
    }

    /// Handles one bus message; `Ok(true)`: catch up from the database now.
    async fn on_message(&mut self, message: BusMessage, bus_down: &mut bool) -> Result<bool, Stop> {
        match message {
            BusMessage::Event(event) => {
                if !event.kind.is_durable() {
                    // A delta belongs right after the durable event it follows.
                    if event.seq == self.last {
                        self.send(event).await?;
                    }
                    return Ok(false);
                }
                if event.seq <= self.last {
                    return Ok(false);
                }
                if event.seq > self.last + 1 {
                    // Missing events are in the database (persisted before published).
                    return Ok(true);
                }
                let (seq, at) = (event.seq, event.at);
                let finished = matches!(event.kind, EventKind::Finished { .. });
                self.send(event).await?;
                self.last = seq;
                self.state
                    .metrics
                    .event_delivered((chrono::Utc::now() - at).to_std().unwrap_or_default());
                if finished {
                    return Err(Stop::Finished);
                }
                Ok(false)
            }
            BusMessage::Lagged { .. } => {
                self.state.metrics.bus_lagged(self.state.bus.backend());
                Ok(true)
            }
            BusMessage::Disconnected => {
                *bus_down = true;
                Ok(true)
            }
            BusMessage::Reconnected => {
                *bus_down = false;
                Ok(true)
            }
        }
    }

    /// Whether the client resumed right after the run's `finished` event (the run row may
    /// lag behind its log, so the log is asked).
    async fn resumed_after_finish(&self) -> bool {
        if self.last == 0 {
            return false;
        }
        match self
            .state
            .store
            .events_after(self.run_id, self.last - 1, 1)
            .await
        {
            Ok(events) => events
                .first()
                .is_some_and(|event| matches!(event.kind, EventKind::Finished { .. })),
            Err(_) => false,
        }
    }

    /// Sends every stored event after `last`; `Some(())` when `finished` was among them.
    async fn catch_up(&mut self) -> Result<Option<()>, CatchUpError> {
        loop {
            let page = self
                .state
                .store
                .events_after(self.run_id, self.last, CATCH_UP_PAGE.min(MAX_EVENTS_PAGE))
                .await
                .map_err(CatchUpError::Store)?;
            let full = page.len() >= CATCH_UP_PAGE as usize;
            for event in page {
                if event.seq != self.last + 1 {
                    // The store keeps seqs contiguous; never send out of order.
                    return Ok(None);
                }
                let (seq, finished) = (event.seq, matches!(event.kind, EventKind::Finished { .. }));
                self.send(SharedEvent::new(event))
                    .await
                    .map_err(|_| CatchUpError::Client)?;
                self.last = seq;
                if finished {
                    return Ok(Some(()));
                }
            }
            if !full {
                return Ok(None);
            }
        }
    }

    async fn send(&mut self, event: Arc<SharedEvent>) -> Result<(), Stop> {
        self.send_item(StreamItem::Event(event)).await
    }

    async fn send_item(&mut self, item: StreamItem) -> Result<(), Stop> {
        self.tx.send(item).await.map_err(|_| Stop::ClientGone)?;
        self.last_sent = Instant::now();
        Ok(())
    }
}

/// Why a database catch-up stopped early.
enum CatchUpError {
    /// The store failed (retried at the next poll).
    Store(StoreError),
    /// The client went away.
    Client,
}

async fn next_message(subscription: &mut Option<Subscription>) -> Option<BusMessage> {
    match subscription {
        Some(subscription) => subscription.recv().await,
        None => std::future::pending().await,
    }
}

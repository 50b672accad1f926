//! Owns `GET /api/v1/runs/{id}/ws`: a run's events over a WebSocket, one text message per
//! event carrying the same JSON as the SSE stream's `data:`. Ordering, resume, dedup and
//! catch-up all come from [`open_event_source`]; this module only adapts it to the socket.
//!
//! Everything that can fail (the id, `after`, the run's existence and owner) is checked
//! before the upgrade, so mistakes get our JSON error rather than a broken handshake. After
//! `finished` (or when resuming after it) the server closes with a normal (1000) close
//! frame; if the source gives up (database failure) it closes with 1011 so the client knows to reconnect with `after`.
//!
//! Browsers cannot set headers on a WebSocket, so a later auth layer will take the token
//! from the query string: nothing here logs the query.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tokio::time::{Instant, interval_at, timeout};
use utoipa::IntoParams;
use uuid::Uuid;

use super::AppState;
use super::auth::AuthUser;
use super::error::{ApiError, ErrorBody, ErrorCode};
use super::events::{EventSource, Transport, open_event_source};
use super::extract::{ApiPath, ApiQuery};

/// How often the server pings an idle client (keeps proxies from closing the socket).
const PING_EVERY: Duration = Duration::from_secs(15);
/// How long to wait for the client's close reply before dropping the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// `GET …/ws` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// Resume after this seq (default 0).
    pub after: Option<u64>,
    /// The access token, for clients that cannot set the `Authorization` header (browser
    /// WebSockets). Never logged.
    pub access_token: Option<String>,
}

/// The WebSocket route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/runs/{id}/ws", get(run_socket))
}

/// A run's events over a WebSocket: durable events after `after`, then live ones; one
/// text message (the event JSON) per event; closed with code 1000 after `finished`.
#[utoipa::path(get, path = "/api/v1/runs/{id}/ws", tag = "events",
    params(("id" = Uuid, Path, description = "Run id"), WsQuery),
    responses(
        (status = 101, description = "Switching protocols; then one text message per event (the RunEvent JSON)"),
        (status = 400, description = "Malformed id or not a WebSocket upgrade", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ErrorBody),
    ))]
pub async fn run_socket(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            ErrorCode::BadRequest,
            "expected a WebSocket upgrade request",
        )
        .with_details(serde_json::json!({ "reason": rejection.body_text() }))
    })?;
    let events =
        open_event_source(state, &user, id, query.after.unwrap_or(0), Transport::Ws).await?;
    Ok(upgrade.on_upgrade(move |socket| session(socket, events)))
}

/// Pumps events to the socket until the source ends or the client leaves.
async fn session(mut socket: WebSocket, mut events: EventSource) {
    let mut ping = interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { break };
                let Some(text) = event.json() else { continue };
                if socket.send(Message::Text(text.to_owned().into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                // Pings are answered by the protocol layer; client text is not a command.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Text(_) | Message::Binary(_))) => {}
                // The close handshake reply is sent by the protocol layer.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
    let frame = if events.completed() {
        CloseFrame {
            code: close_code::NORMAL,
            reason: "finished".into(),
        }
    } else {
        CloseFrame {
            code: close_code::ERROR,
            reason: "event stream interrupted; reconnect with after".into(),
        }
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    // Wait for the client's close reply so the connection ends cleanly on both sides.
    let _ = timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

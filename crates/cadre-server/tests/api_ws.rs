//! `GET /api/v1/runs/{id}/ws` end to end with a real WebSocket client (tokio-tungstenite)
//! over a real socket: resume after a seq, live events in order without duplicates, gap
//! fill from the database, a normal close after `finished`, ping/pong, client close, and
//! our JSON errors before the upgrade.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use cadre_core::event::EventKind;
use common::{App, event, finished, log, spawn};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

impl App {
    /// A `ws://` URL for `path`, authenticated the way a browser must: the access token
    /// in the query string.
    fn ws_url(&self, path: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!(
            "ws://{}{path}{separator}access_token={}",
            self.addr, self.token
        )
    }

    async fn connect(&self, path: &str) -> Socket {
        let url = self.ws_url(path);
        let (socket, response) = tokio_tungstenite::connect_async(url).await.unwrap();
        assert_eq!(response.status(), 101);
        socket
    }

    /// The HTTP error answered instead of the upgrade.
    async fn refused(&self, path: &str) -> (u16, Value) {
        let url = self.ws_url(path);
        match tokio_tungstenite::connect_async(url).await {
            Err(WsError::Http(response)) => {
                let body = response.body().clone().unwrap_or_default();
                let body: Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body)));
                (response.status().as_u16(), body)
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("{path} was upgraded"),
        }
    }
}

/// The next event frame (skipping control frames); `None` once the server closed.
async fn next_event(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("no frame within 5 s")?
            .unwrap();
        match message {
            Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
            Message::Ping(_) | Message::Pong(_) => {}
            Message::Close(_) => return None,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Reads until the server's close frame and returns its code.
async fn close_code(socket: &mut Socket) -> CloseCode {
    loop {
        let message = timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("no close within 5 s")
            .expect("stream ended without a close frame")
            .unwrap();
        match message {
            Message::Close(Some(frame)) => return frame.code,
            Message::Close(None) => panic!("close without a code"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected close, got {other:?}"),
        }
    }
}

fn seq_and_type(frame: &Value) -> (u64, String) {
    (
        frame["seq"].as_u64().unwrap(),
        frame["type"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn resumes_after_3_then_goes_live_in_order_and_closes_after_finished() {
    let app = spawn().await;
    let run_id = app.create_run_id("ws test").await;
    for seq in 1..=5 {
        app.emit(run_id, seq, log(seq)).await;
    }
    let mut socket = app
        .connect(&format!("/api/v1/runs/{run_id}/ws?after=3"))
        .await;
    let first = next_event(&mut socket).await.unwrap();
    assert_eq!(seq_and_type(&first), (4, "log".into()));
    assert_eq!(first["run_id"], run_id.to_string());
    assert_eq!(first["data"]["message"], "event 4");
    assert_eq!(
        seq_and_type(&next_event(&mut socket).await.unwrap()),
        (5, "log".into())
    );

    // Ping is answered while the stream is idle.
    socket
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    loop {
        let message = timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Pong(payload) = message {
            assert_eq!(payload.as_ref(), b"hi");
            break;
        }
    }

    // Live: a republished old event is dropped and a gap (6 stored but never published)
    // is filled from the database before 7.
    let five = event(run_id, 5, log(5));
    app.bus.publish(&five).await.unwrap();
    app.persist(run_id, 6, log(6)).await;
    app.emit(run_id, 7, log(7)).await;
    assert_eq!(
        seq_and_type(&next_event(&mut socket).await.unwrap()),
        (6, "log".into())
    );
    assert_eq!(
        seq_and_type(&next_event(&mut socket).await.unwrap()),
        (7, "log".into())
    );
    // A delta follows the durable event it belongs after; then `finished`.
    app.bus
        .publish(&event(
            run_id,
            7,
            EventKind::MessageDelta {
                message_id: "m".into(),
                agent: "a".into(),
                delta: "hel".into(),
            },
        ))
        .await
        .unwrap();
    app.emit(run_id, 8, finished()).await;
    let mut seen = Vec::new();
    while let Some(frame) = next_event(&mut socket).await {
        seen.push(seq_and_type(&frame));
        if frame["type"] == "finished" {
            break;
        }
    }
    assert_eq!(
        seen,
        vec![(7, "message_delta".into()), (8, "finished".into())]
    );
    assert_eq!(close_code(&mut socket).await, CloseCode::Normal);
    // The close handshake completes and the stream ends.
    let rest = timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    assert!(
        matches!(rest, None | Some(Ok(Message::Close(_))) | Some(Err(_))),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_finished_run_replays_and_closes_normally() {
    let app = spawn().await;
    let run_id = app.create_run_id("ws test").await;
    for seq in 1..=3 {
        app.emit(run_id, seq, log(seq)).await;
    }
    app.emit(run_id, 4, finished()).await;
    let mut socket = app.connect(&format!("/api/v1/runs/{run_id}/ws")).await;
    let mut seqs = Vec::new();
    while let Some(frame) = next_event(&mut socket).await {
        seqs.push(frame["seq"].as_u64().unwrap());
        if frame["type"] == "finished" {
            break;
        }
    }
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert_eq!(close_code(&mut socket).await, CloseCode::Normal);

    // Resuming right after `finished` sends nothing and closes normally.
    let mut socket = app
        .connect(&format!("/api/v1/runs/{run_id}/ws?after=4"))
        .await;
    assert_eq!(close_code(&mut socket).await, CloseCode::Normal);
}

#[tokio::test]
async fn the_client_may_close_first() {
    let app = spawn().await;
    let run_id = app.create_run_id("ws test").await;
    app.emit(run_id, 1, log(1)).await;
    let mut socket = app.connect(&format!("/api/v1/runs/{run_id}/ws")).await;
    assert_eq!(next_event(&mut socket).await.unwrap()["seq"], 1);
    socket.close(None).await.unwrap();
    // The server answers the close handshake; nothing else arrives.
    loop {
        match timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap()
        {
            None | Some(Err(_)) => break,
            Some(Ok(Message::Close(_))) => {}
            Some(Ok(other)) => panic!("unexpected frame after close: {other:?}"),
        }
    }
    // The run's other streams are unaffected.
    app.emit(run_id, 2, finished()).await;
    let mut again = app
        .connect(&format!("/api/v1/runs/{run_id}/ws?after=1"))
        .await;
    assert_eq!(next_event(&mut again).await.unwrap()["type"], "finished");
}

#[tokio::test]
async fn mistakes_get_our_json_error_before_the_upgrade() {
    let app = spawn().await;
    let run_id = app.create_run_id("ws test").await;

    let (status, body) = app.refused("/api/v1/runs/not-a-uuid/ws").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");

    for query in ["after=-1", "after=abc", "after=1&bogus=2"] {
        let (status, body) = app
            .refused(&format!("/api/v1/runs/{run_id}/ws?{query}"))
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }

    let (status, body) = app
        .refused(&format!("/api/v1/runs/{}/ws", Uuid::new_v4()))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    // A plain GET (no upgrade headers) is the client's mistake, not a 500.
    let response = app
        .http
        .get(format!("http://{}/api/v1/runs/{run_id}/ws", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
}

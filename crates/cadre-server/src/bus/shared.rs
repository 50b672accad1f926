//! Owns [`SharedEvent`]: an event as the bus hands it to its subscribers, with the bytes
//! every stream transport sends for it, made once.
//!
//! Why: one event on a run with 10,000 subscribers used to be cloned, serialised and
//! framed 10,000 times (once per stream). Now the subscribers share one allocation, the
//! JSON is encoded once, the server-sent-events frame is built once, and each stream
//! writes the same reference-counted bytes.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use cadre_core::event::RunEvent;

/// One event shared by every stream that sends it.
#[derive(Debug)]
pub struct SharedEvent {
    event: RunEvent,
    json: OnceLock<Option<Arc<str>>>,
    sse: OnceLock<Option<Bytes>>,
}

impl SharedEvent {
    /// Shares an event; its encodings are made when a stream first asks for them.
    pub fn new(event: RunEvent) -> Arc<Self> {
        Arc::new(Self {
            event,
            json: OnceLock::new(),
            sse: OnceLock::new(),
        })
    }

    /// Shares an event whose JSON is already at hand: `json` must be `event` as
    /// [`SharedEvent::json`] would encode it (a bus payload written by `publish`).
    pub fn with_json(event: RunEvent, json: &str) -> Arc<Self> {
        Arc::new(Self {
            event,
            json: OnceLock::from(Some(Arc::from(json))),
            sse: OnceLock::new(),
        })
    }

    /// The event.
    pub fn event(&self) -> &RunEvent {
        &self.event
    }

    /// The event as JSON (`serde_json::to_string`), made once; `None` if it cannot be
    /// encoded (logged once), which would be our bug and must not end a stream.
    pub fn json(&self) -> Option<&str> {
        self.json
            .get_or_init(|| match serde_json::to_string(&self.event) {
                Ok(json) => Some(Arc::from(json)),
                Err(error) => {
                    tracing::error!(run_id = %self.event.run_id, %error, "cannot encode event");
                    None
                }
            })
            .as_deref()
    }

    /// The event as one server-sent event: `event:` its type, `id:` its seq (durable
    /// events only, so a reconnecting client resumes with `Last-Event-ID`), `data:` its
    /// JSON, which never contains a line break (JSON escapes them in strings).
    pub fn sse_frame(&self) -> Option<Bytes> {
        self.sse
            .get_or_init(|| {
                let json = self.json()?;
                let kind = self.event.kind.type_name();
                let mut frame = String::with_capacity(json.len() + kind.len() + 32);
                frame.push_str("event: ");
                frame.push_str(kind);
                if self.event.kind.is_durable() {
                    frame.push_str("\nid: ");
                    frame.push_str(&self.event.seq.to_string());
                }
                frame.push_str("\ndata: ");
                frame.push_str(json);
                frame.push_str("\n\n");
                Some(Bytes::from(frame))
            })
            .clone()
    }
}

impl std::ops::Deref for SharedEvent {
    type Target = RunEvent;

    fn deref(&self) -> &RunEvent {
        &self.event
    }
}

impl PartialEq for SharedEvent {
    fn eq(&self, other: &Self) -> bool {
        self.event == other.event
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use cadre_core::event::{EventKind, LogLevel};

    fn event(seq: u64, kind: EventKind) -> RunEvent {
        RunEvent {
            seq,
            run_id: uuid::Uuid::nil(),
            at: chrono::Utc::now(),
            kind,
        }
    }

    #[test]
    fn sse_frame_is_one_event_with_its_seq_as_id() {
        let log = event(
            7,
            EventKind::Log {
                level: LogLevel::Info,
                message: "two\nlines".into(),
            },
        );
        let shared = SharedEvent::new(log.clone());
        let frame = String::from_utf8(shared.sse_frame().unwrap().to_vec()).unwrap();
        let json = serde_json::to_string(&log).unwrap();
        assert_eq!(frame, format!("event: log\nid: 7\ndata: {json}\n\n"));
        assert_eq!(
            frame.matches('\n').count(),
            4,
            "a line break leaked: {frame}"
        );
    }

    #[test]
    fn deltas_have_no_id() {
        let delta = event(
            3,
            EventKind::MessageDelta {
                message_id: "m".into(),
                agent: "a".into(),
                delta: "x".into(),
            },
        );
        let frame = SharedEvent::new(delta).sse_frame().unwrap();
        let frame = std::str::from_utf8(&frame).unwrap();
        assert!(
            frame.starts_with("event: message_delta\ndata: {"),
            "{frame}"
        );
        assert!(!frame.contains("\nid:"), "{frame}");
    }
}

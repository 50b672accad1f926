//! Owns the backend-independent logic of the event log: validating and encoding events
//! for storage, decoding stored rows back into [`RunEvent`]s, deriving the run row's
//! changes from appended events, rebuilding [`ResumeState`], and the events the store
//! itself writes (a run failed after too many lost workers, a queued run cancelled).
//! No SQL here: each backend binds these values in its own statements.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use cadre_core::{
    EventKind, FailureCode, ResumeState, RunEnd, RunEvent, RunFailure, RunStatus, StopReason,
    TeamSpec, TranscriptMessage, Usage, UsageTotals,
};

use crate::error::StoreError;
use crate::model::now_micros;

/// Most events in one multi-row INSERT (5 bound values each; far below SQLite's
/// variable limit and PostgreSQL's 65,535 parameters).
pub(crate) const INSERT_CHUNK: usize = 400;

/// One event ready to bind.
pub(crate) struct EncodedEvent {
    pub seq: i64,
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub data: String,
}

/// How appended events change the run row. `None` fields leave the column as it is.
#[derive(Debug, Default)]
pub(crate) struct RunUpdate {
    pub status: Option<RunStatus>,
    /// A `building`/`executing` status was appended: set started_at if unset.
    pub started: bool,
    /// A terminal status was appended: set finished_at if unset.
    pub terminal: bool,
    pub team: Option<String>,
    pub summary: Option<String>,
    pub usage: Option<UsageTotals>,
    pub error: Option<(String, String)>,
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{what} out of range")))
}

/// The error for a batch starting at `first` when the run's stored last seq is `stored`:
/// a gap (events missing before it) or a conflict (already written, e.g. by another
/// worker).
pub(crate) fn seq_mismatch(stored: u64, first: u64) -> StoreError {
    let expected = stored + 1;
    if first > expected {
        StoreError::SeqGap {
            expected,
            got: first,
        }
    } else {
        StoreError::SeqConflict {
            expected,
            got: first,
        }
    }
}

pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::internal("negative counter in database"))
}

pub(crate) fn to_u32(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::internal("counter out of range in database"))
}

/// Checks a batch (durable, this run, contiguous seqs, `finished` last) and encodes it.
/// Returns the encoded events and the run-row update they imply.
pub(crate) fn encode_batch(
    run_id: Uuid,
    events: &[RunEvent],
) -> Result<(Vec<EncodedEvent>, RunUpdate), StoreError> {
    let mut encoded = Vec::with_capacity(events.len());
    let mut update = RunUpdate::default();
    let first = events.first().map(|event| event.seq).unwrap_or(0);
    for (index, event) in events.iter().enumerate() {
        if !event.kind.is_durable() {
            return Err(StoreError::Invalid(format!(
                "{} events are live-only and never stored",
                event.kind.type_name()
            )));
        }
        if event.run_id != run_id {
            return Err(StoreError::Invalid(format!(
                "event {} belongs to run {}, not {run_id}",
                event.seq, event.run_id
            )));
        }
        let expected = first + index as u64;
        if event.seq != expected {
            return Err(StoreError::Invalid(format!(
                "events of one batch must have consecutive seqs: expected {expected}, got {}",
                event.seq
            )));
        }
        apply(&mut update, &event.kind)?;
        encoded.push(EncodedEvent {
            seq: to_i64(event.seq, "seq")?,
            kind: event.kind.type_name(),
            at: event.at,
            data: encode_data(&event.kind)?,
        });
    }
    if first == 0 && !events.is_empty() {
        return Err(StoreError::Invalid("event seqs start at 1".into()));
    }
    Ok((encoded, update))
}

/// A batch checked and encoded, with the run-row values both backends bind.
pub(crate) struct PreparedBatch {
    pub run_id: Uuid,
    /// Seq of the batch's first event.
    pub first_seq: u64,
    /// The run's last seq the batch continues (the write's guard).
    pub expected_last: i64,
    /// The run's last seq after the batch.
    pub new_last: i64,
    pub events: Vec<EncodedEvent>,
    pub status: Option<&'static str>,
    pub started: bool,
    pub terminal: bool,
    pub team: Option<String>,
    pub summary: Option<String>,
    /// prompt tokens, completion tokens, cost, calls (from `finished`).
    pub usage: Option<(i64, i64, f64, i64)>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Checks and encodes a non-empty batch ([`encode_batch`]) into what a backend binds.
pub(crate) fn prepare_batch(
    run_id: Uuid,
    events: &[RunEvent],
) -> Result<PreparedBatch, StoreError> {
    let first_seq = events
        .first()
        .map(|event| event.seq)
        .ok_or_else(|| StoreError::Invalid("an empty batch has nothing to append".into()))?;
    let (encoded, update) = encode_batch(run_id, events)?;
    let expected_last = to_i64(first_seq - 1, "seq")?;
    let new_last = expected_last + encoded.len() as i64;
    let RunUpdate {
        status,
        started,
        terminal,
        team,
        summary,
        usage,
        error,
    } = update;
    let usage = usage
        .map(|usage| -> Result<_, StoreError> {
            Ok((
                to_i64(usage.prompt_tokens, "usage")?,
                to_i64(usage.completion_tokens, "usage")?,
                usage.cost_usd,
                to_i64(usage.calls, "usage")?,
            ))
        })
        .transpose()?;
    let (error_code, error_message) = error.unzip();
    Ok(PreparedBatch {
        run_id,
        first_seq,
        expected_last,
        new_last,
        events: encoded,
        status: status.map(RunStatus::as_str),
        started,
        terminal,
        team,
        summary,
        usage,
        error_code,
        error_message,
    })
}

/// The slot errors of an [`crate::Store::append_event_batches`] call that no backend
/// needs to touch the database for: empty batches (`Ok`), a second batch of one run,
/// batches that fail their checks. The rest come back prepared, with their slot index.
#[allow(clippy::type_complexity)]
pub(crate) fn prepare_batches(
    batches: &[crate::EventBatch],
) -> (
    Vec<Option<Result<(), StoreError>>>,
    Vec<(usize, PreparedBatch)>,
) {
    let mut slots = Vec::with_capacity(batches.len());
    let mut prepared = Vec::with_capacity(batches.len());
    let mut seen = std::collections::HashSet::with_capacity(batches.len());
    for (index, batch) in batches.iter().enumerate() {
        if !seen.insert(batch.run_id) {
            slots.push(Some(Err(StoreError::Invalid(format!(
                "run {} has more than one batch in one call",
                batch.run_id
            )))));
        } else if batch.events.is_empty() {
            slots.push(Some(Ok(())));
        } else {
            match prepare_batch(batch.run_id, &batch.events) {
                Ok(batch) => {
                    slots.push(None);
                    prepared.push((index, batch));
                }
                Err(error) => slots.push(Some(Err(error))),
            }
        }
    }
    (slots, prepared)
}

fn apply(update: &mut RunUpdate, kind: &EventKind) -> Result<(), StoreError> {
    match kind {
        EventKind::Status { status } => {
            update.status = Some(*status);
            if matches!(status, RunStatus::Building | RunStatus::Executing) {
                update.started = true;
            }
            if status.is_terminal() {
                update.terminal = true;
            }
        }
        EventKind::Team { team } => update.team = Some(serde_json::to_string(team)?),
        EventKind::Finished { summary, usage, .. } => {
            update.summary = Some(summary.clone());
            update.usage = Some(*usage);
        }
        EventKind::Error { code, message, .. } => {
            update.error = Some((code.as_str().to_string(), message.clone()));
        }
        _ => {}
    }
    Ok(())
}

/// The `data` object of an event as JSON text.
fn encode_data(kind: &EventKind) -> Result<String, StoreError> {
    match serde_json::to_value(kind)? {
        serde_json::Value::Object(mut map) => match map.remove("data") {
            Some(data) => Ok(data.to_string()),
            None => Ok("{}".into()),
        },
        _ => Err(StoreError::internal("event did not serialize to an object")),
    }
}

/// Rebuilds an event from a stored row.
pub(crate) fn decode_event(
    run_id: Uuid,
    seq: i64,
    kind: &str,
    at: DateTime<Utc>,
    data: &str,
) -> Result<RunEvent, StoreError> {
    let kind = decode_kind(kind, data)?;
    Ok(RunEvent {
        seq: to_u64(seq)?,
        run_id,
        at,
        kind,
    })
}

fn decode_kind(kind: &str, data: &str) -> Result<EventKind, StoreError> {
    let wrapped = format!(
        "{{\"type\":{},\"data\":{}}}",
        serde_json::Value::String(kind.to_string()),
        data
    );
    serde_json::from_str(&wrapped)
        .map_err(|error| StoreError::Internal(format!("stored {kind} event is corrupt: {error}")))
}

/// Makes `history` the first events of run `run_id`: its id on each, seqs 1..n.
pub(crate) fn number_history(run_id: Uuid, history: &mut [RunEvent]) {
    for (seq, event) in (1u64..).zip(history.iter_mut()) {
        event.run_id = run_id;
        event.seq = seq;
    }
}

/// Accumulates a [`ResumeState`] from stored `team`, `message` and `usage` events.
#[derive(Default)]
pub(crate) struct ResumeBuilder {
    state: ResumeState,
}

impl ResumeBuilder {
    /// Folds in one stored event (other types are ignored).
    pub fn push(&mut self, kind: &str, data: &str) -> Result<(), StoreError> {
        if !matches!(kind, "team" | "message" | "usage") {
            return Ok(());
        }
        match decode_kind(kind, data)? {
            EventKind::Team { team } => self.state.team = Some(*team),
            EventKind::Message {
                message_id,
                agent,
                content,
                tokens,
            } => self.state.transcript.push(TranscriptMessage {
                message_id,
                agent,
                content,
                tokens,
            }),
            EventKind::Usage {
                prompt_tokens,
                completion_tokens,
                cost_usd,
                ..
            } => self.state.usage.add(&Usage {
                prompt_tokens,
                completion_tokens,
                cost_usd,
            }),
            _ => {}
        }
        Ok(())
    }

    pub fn finish(self) -> ResumeState {
        self.state
    }
}

/// Events failing a run whose workers kept disappearing: `error`, `status: failed`,
/// `finished`, numbered from `last_seq + 1`.
pub(crate) fn worker_lost_events(
    run_id: Uuid,
    last_seq: u64,
    attempts: u32,
    usage: UsageTotals,
) -> Vec<RunEvent> {
    let failure = RunFailure::new(
        FailureCode::WorkerLost,
        format!(
            "the run's worker stopped (crashed or lost its lease) and the run was given up \
             after {attempts} attempts in a row that made no progress"
        ),
    );
    framed(run_id, last_seq, &RunEnd::failed(failure, usage))
}

/// Events cancelling a run no worker holds: `status: cancelled`, `finished`.
pub(crate) fn cancelled_events(run_id: Uuid, last_seq: u64, usage: UsageTotals) -> Vec<RunEvent> {
    let end = RunEnd::new(
        StopReason::Cancelled,
        "cancelled before a worker ran it",
        usage,
    );
    framed(run_id, last_seq, &end)
}

/// The closing events of `end`, numbered after `last_seq`.
fn framed(run_id: Uuid, last_seq: u64, end: &RunEnd) -> Vec<RunEvent> {
    let at = now_micros();
    end.events()
        .into_iter()
        .enumerate()
        .map(|(index, kind)| RunEvent {
            seq: last_seq + 1 + index as u64,
            run_id,
            at,
            kind,
        })
        .collect()
}

/// Sums `usage` events given as stored `data` JSON.
pub(crate) fn sum_usage<'a>(
    rows: impl IntoIterator<Item = &'a str>,
) -> Result<UsageTotals, StoreError> {
    let mut builder = ResumeBuilder::default();
    for data in rows {
        builder.push("usage", data)?;
    }
    Ok(builder.finish().usage)
}

/// Why [`crate::Store::submit_input`] refused an answer for `run`.
pub(crate) fn input_refusal(run: &crate::RunRecord) -> StoreError {
    if run.status != RunStatus::WaitingInput {
        StoreError::conflict(format!(
            "the run is {}, not waiting for input",
            run.status.as_str()
        ))
    } else if run.cancel_requested {
        StoreError::conflict("the run is being cancelled")
    } else {
        StoreError::conflict("an answer is already pending for this run")
    }
}

/// Parses a stored status.
pub(crate) fn parse_status(text: &str) -> Result<RunStatus, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| StoreError::Internal(format!("unknown run status {text:?} in database")))
}

/// Parses a stored failure code (the run row's copy of its last `error` event's code).
pub(crate) fn parse_failure_code(text: &str) -> Result<FailureCode, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| StoreError::Internal(format!("unknown failure code {text:?} in database")))
}

/// Parses a stored team document.
pub(crate) fn parse_team(text: &str) -> Result<TeamSpec, StoreError> {
    serde_json::from_str(text)
        .map_err(|error| StoreError::Internal(format!("stored team is corrupt: {error}")))
}

//! [`StoredInput`]: how a run executed by a worker gets human answers. The engine has
//! already emitted `status: waiting_input` and `input_request`; the answer arrives through
//! `POST /api/v1/runs/{id}/input` (which any API replica accepts once the run's row says
//! `waiting_input`), is kept in the database, and is taken from there by the worker.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cadre_core::input::{InputError, InputSource};
use cadre_store::Store;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Human input for one run, read from the store.
pub struct StoredInput {
    store: Arc<dyn Store>,
    run_id: Uuid,
    poll_every: Duration,
    timeout: Duration,
}

impl StoredInput {
    /// Input for `run_id`, polled every `poll_every`; after `timeout` without an answer
    /// the question is given up (the engine then decides without a human).
    pub fn new(
        store: Arc<dyn Store>,
        run_id: Uuid,
        poll_every: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            store,
            run_id,
            poll_every,
            timeout,
        }
    }
}

#[async_trait]
impl InputSource for StoredInput {
    async fn ask(&self, _prompt: &str, cancel: &CancellationToken) -> Result<String, InputError> {
        // An answer left from an earlier question (posted twice, say) is not this
        // question's: the API accepts answers only once this question is stored, which
        // happens after this point.
        if let Err(error) = self.store.take_input(self.run_id).await {
            tracing::warn!(%error, "cannot clear a stale answer");
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut poll = tokio::time::interval(self.poll_every);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return Err(InputError::Cancelled),
                () = tokio::time::sleep_until(deadline) => {
                    return Err(InputError::Unavailable(format!(
                        "nobody answered within {} s",
                        self.timeout.as_secs()
                    )));
                }
                _ = poll.tick() => match self.store.take_input(self.run_id).await {
                    Ok(Some(answer)) => return Ok(answer),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "cannot read the run's input; will retry"),
                },
            }
        }
    }
}

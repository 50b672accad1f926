//! Owns group commit for one-row writes: concurrent callers' requests of one kind (create
//! a run, complete a job) are merged into one statement, and each caller gets its own
//! answer back.
//!
//! Why: on PostgreSQL the cost of a one-row write is almost all per statement (a round
//! trip, parsing, a commit and its WAL flush), not per row. Under load (many API requests
//! creating runs at once, many runs finishing on a worker at once) those costs bounded
//! the queue at about 2,000–3,000 jobs/s on two cores; one statement for the requests
//! that arrived together pays them once. Alone, a request is flushed at once, as a batch
//! of one: coalescing adds a channel hop of latency, never a wait for company.
//!
//! A batch's statement either writes every row or fails as a whole (one transaction);
//! the flush function then retries the requests one by one, so a bad request (a missing
//! user) fails alone and never takes its neighbours down with it.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::StoreError;

/// A request waiting for its batch, with where its answer goes.
type Pending<Req, Resp> = (Req, oneshot::Sender<Result<Resp, StoreError>>);

/// Merges concurrent requests into batches for a flush function; cheap to clone.
pub(crate) struct Coalescer<Req, Resp> {
    requests: mpsc::UnboundedSender<Pending<Req, Resp>>,
}

impl<Req, Resp> Clone for Coalescer<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            requests: self.requests.clone(),
        }
    }
}

impl<Req, Resp> std::fmt::Debug for Coalescer<Req, Resp> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer").finish_non_exhaustive()
    }
}

impl<Req, Resp> Coalescer<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    /// Starts the batching task on the current Tokio runtime. `flush` writes a batch of
    /// at most `max_batch` requests and answers each, in order (a shorter answer fails
    /// the rest as internal errors); at most `in_flight` flushes run at once, and
    /// requests arriving meanwhile wait for the next batch. The task ends when the last
    /// clone of the coalescer is dropped and the requests already sent are answered.
    pub(crate) fn spawn<F, Fut>(max_batch: usize, in_flight: usize, flush: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<Resp, StoreError>>> + Send + 'static,
    {
        let (requests, mut incoming) = mpsc::unbounded_channel::<Pending<Req, Resp>>();
        let slots = Arc::new(Semaphore::new(in_flight.max(1)));
        let max_batch = max_batch.max(1);
        tokio::spawn(async move {
            while let Some(first) = incoming.recv().await {
                // Wait for a free flush slot before taking the batch, so that everything
                // that arrived while all slots were busy goes into it.
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let mut batch = Vec::with_capacity(max_batch.min(64));
                batch.push(first);
                while batch.len() < max_batch {
                    match incoming.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (requests, answers): (Vec<Req>, Vec<_>) = batch.into_iter().unzip();
                let written = flush(requests);
                tokio::spawn(async move {
                    let mut results = written.await.into_iter();
                    for answer in answers {
                        let result = results.next().unwrap_or_else(|| {
                            Err(StoreError::Internal(
                                "a batched write lost its answer".into(),
                            ))
                        });
                        // The caller may have gone (its request was cancelled): the row is
                        // written all the same, as a single statement would have been.
                        let _ = answer.send(result);
                    }
                    drop(slot);
                });
            }
        });
        Self { requests }
    }

    /// Queues `request` for the next batch and waits for its own answer.
    pub(crate) async fn submit(&self, request: Req) -> Result<Resp, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.requests
            .send((request, answer))
            .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn concurrent_requests_share_batches_and_get_their_own_answers() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let coalescer = Coalescer::spawn(8, 1, move |batch: Vec<u32>| {
            seen.lock().unwrap().push(batch.len());
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                batch
                    .into_iter()
                    .map(|n| {
                        if n == 13 {
                            Err(StoreError::Invalid("unlucky".into()))
                        } else {
                            Ok(n * 2)
                        }
                    })
                    .collect()
            }
        });
        let calls = (0..40u32).map(|n| {
            let coalescer = coalescer.clone();
            async move { (n, coalescer.submit(n).await) }
        });
        for (n, result) in futures_join(calls).await {
            if n == 13 {
                assert_eq!(result, Err(StoreError::Invalid("unlucky".into())));
            } else {
                assert_eq!(result, Ok(n * 2));
            }
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes.iter().all(|&size| size <= 8), "{sizes:?}");
        // One flush at a time, 5 ms each: 40 requests cannot have gone one by one.
        assert!(sizes.len() < 40, "{sizes:?}");
    }

    #[tokio::test]
    async fn a_short_answer_fails_the_rest_instead_of_hanging() {
        let coalescer = Coalescer::spawn(4, 1, |_batch: Vec<u32>| async { Vec::new() });
        let result: Result<u32, _> = coalescer.submit(1).await;
        assert!(matches!(result, Err(StoreError::Internal(_))), "{result:?}");
    }

    async fn futures_join<F>(calls: impl Iterator<Item = F>) -> Vec<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = calls.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}

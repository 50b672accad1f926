//! The worker's [`ArtifactSink`]: the files a run's code blocks write go into the
//! database ([`cadre_store::FileStore`]), where any API replica can serve them, under the
//! configured per-file and per-run limits.
//!
//! Files are written directly, not through the event writer's group commit: the engine
//! keeps a block's files before it emits the block's `code_result`, so by the time that
//! event is stored and published, every file it lists as stored can be downloaded. A
//! halted run (its lease lost, or the worker shutting down) keeps nothing more, like its
//! events.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use cadre_core::artifact::{Artifact, ArtifactError, ArtifactSink, Kept};
use cadre_store::{NewRunFile, PutFile, Store};
use uuid::Uuid;

/// How much of what code writes is kept (`CADRE_ARTIFACT_MAX_FILE_BYTES`,
/// `CADRE_ARTIFACT_MAX_RUN_BYTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactLimits {
    /// Largest file kept; larger ones are listed as not kept (`too_large`).
    pub max_file_bytes: u64,
    /// Most bytes of files kept per run (the latest version of each path counts).
    pub max_run_bytes: u64,
}

impl ArtifactLimits {
    /// 10 MiB per file, 50 MiB per run.
    pub const DEFAULT: Self = Self {
        max_file_bytes: 10 * 1024 * 1024,
        max_run_bytes: 50 * 1024 * 1024,
    };

    /// Whether anything is kept at all (a zero limit turns keeping off).
    pub fn enabled(&self) -> bool {
        self.max_file_bytes > 0 && self.max_run_bytes > 0
    }
}

impl Default for ArtifactLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Keeps one run's artifacts in the store.
pub(crate) struct StoredArtifacts {
    store: Arc<dyn Store>,
    limits: ArtifactLimits,
    halted: Arc<AtomicBool>,
}

impl StoredArtifacts {
    /// The sink of a run whose events stop at `halted`; `None` when the limits keep
    /// nothing.
    pub(crate) fn for_run(
        store: Arc<dyn Store>,
        limits: ArtifactLimits,
        halted: Arc<AtomicBool>,
    ) -> Option<Arc<dyn ArtifactSink>> {
        limits.enabled().then(|| {
            Arc::new(Self {
                store,
                limits,
                halted,
            }) as Arc<dyn ArtifactSink>
        })
    }
}

#[async_trait]
impl ArtifactSink for StoredArtifacts {
    fn max_file_bytes(&self) -> u64 {
        self.limits.max_file_bytes
    }

    async fn keep(&self, run_id: Uuid, artifact: Artifact) -> Result<Kept, ArtifactError> {
        if self.halted.load(Ordering::SeqCst) {
            return Err(ArtifactError("this worker no longer runs the run".into()));
        }
        let file = NewRunFile {
            run_id,
            path: artifact.path,
            content_type: artifact.content_type,
            content: artifact.content,
        };
        match self
            .store
            .put_run_file(file, self.limits.max_run_bytes)
            .await
        {
            Ok(PutFile::Stored(_)) => Ok(Kept::Stored),
            Ok(PutFile::OverRunLimit { .. }) => Ok(Kept::RunQuotaExceeded),
            Err(error) => Err(ArtifactError(error.to_string())),
        }
    }
}

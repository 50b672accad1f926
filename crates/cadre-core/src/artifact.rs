//! Artifacts: the files a code block writes into its run's workspace (a plot, a CSV…).
//!
//! The engine lists the workspace before and after each block ([`CodeWorkspace::list_files`]);
//! the files that are new or changed are the block's artifacts. Each is handed to an
//! [`ArtifactSink`] (the worker keeps them in the database, so they outlive the workspace
//! and can be downloaded from any API replica) and listed in the block's `code_result`
//! event as an [`ArtifactFile`], kept or not, so a file is never dropped silently.
//!
//! [`CodeWorkspace::list_files`]: crate::executor::CodeWorkspace::list_files

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::executor::WorkspaceFile;

/// Most artifacts one code block reports; a block that writes more gets a `log` warning
/// naming how many were left out (the event stays small).
pub const MAX_ARTIFACTS_PER_BLOCK: usize = 100;

/// A file a code block wrote, as listed in its `code_result` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ArtifactFile {
    /// Path relative to the workspace, `/`-separated (`plots/fib.png`).
    pub path: String,
    /// Size when the block ended.
    pub size_bytes: u64,
    /// Media type guessed from the extension (`image/png`, `text/csv`, …).
    pub content_type: String,
    /// Whether the bytes were kept with the run (downloadable); see `skipped` if not.
    pub stored: bool,
    /// Why the bytes were not kept (absent when `stored`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<ArtifactSkip>,
}

/// Why an artifact's bytes were not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArtifactSkip {
    /// Larger than the per-file limit.
    TooLarge,
    /// Keeping it would take the run over its total limit.
    RunQuotaExceeded,
    /// It could not be read from the workspace (it vanished, or stopped being a regular
    /// file).
    Unreadable,
    /// Nothing keeps artifacts here (e.g. the CLI): the file lived only in the workspace.
    NotKept,
    /// Keeping it failed (the database refused or was unreachable).
    StorageFailed,
}

impl ArtifactSkip {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactSkip::TooLarge => "too_large",
            ArtifactSkip::RunQuotaExceeded => "run_quota_exceeded",
            ArtifactSkip::Unreadable => "unreadable",
            ArtifactSkip::NotKept => "not_kept",
            ArtifactSkip::StorageFailed => "storage_failed",
        }
    }
}

/// One artifact's bytes, for an [`ArtifactSink`] to keep.
#[derive(Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the workspace, `/`-separated.
    pub path: String,
    /// Media type guessed from the extension.
    pub content_type: String,
    /// The file's content.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("path", &self.path)
            .field("content_type", &self.content_type)
            .field("len", &self.content.len())
            .finish()
    }
}

/// What an [`ArtifactSink`] did with an artifact it was able to consider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Kept; a later file of the same path replaces it.
    Stored,
    /// Refused: the run's total limit would be exceeded.
    RunQuotaExceeded,
}

/// Keeping an artifact failed. The run goes on; the file is listed as not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot keep artifact: {0}")]
pub struct ArtifactError(pub String);

/// Where a run's artifacts go (the worker: the database). The engine knows nothing of
/// how they are kept; it only asks how large a file may be, so that it never reads more.
#[async_trait]
pub trait ArtifactSink: Send + Sync {
    /// Largest file kept; a larger one is listed as [`ArtifactSkip::TooLarge`] and never
    /// read.
    fn max_file_bytes(&self) -> u64;

    /// Keeps one artifact of `run_id`; the last one of a path wins.
    async fn keep(&self, run_id: Uuid, artifact: Artifact) -> Result<Kept, ArtifactError>;
}

/// An [`ArtifactSink`] in memory, with a per-run total limit (tests, short CLI runs).
#[derive(Debug, Clone)]
pub struct MemoryArtifacts {
    max_file_bytes: u64,
    max_run_bytes: u64,
    files: Arc<std::sync::Mutex<HashMap<(Uuid, String), Artifact>>>,
}

impl MemoryArtifacts {
    /// An empty sink with these limits.
    pub fn new(max_file_bytes: u64, max_run_bytes: u64) -> Self {
        Self {
            max_file_bytes,
            max_run_bytes,
            files: Arc::default(),
        }
    }

    /// The artifact kept for `run_id` under `path`.
    pub fn get(&self, run_id: Uuid, path: &str) -> Option<Artifact> {
        self.lock().get(&(run_id, path.to_string())).cloned()
    }

    /// Paths kept for `run_id`, sorted.
    pub fn paths(&self, run_id: Uuid) -> Vec<String> {
        let mut paths: Vec<String> = self
            .lock()
            .keys()
            .filter(|(run, _)| *run == run_id)
            .map(|(_, path)| path.clone())
            .collect();
        paths.sort();
        paths
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, String), Artifact>> {
        match self.files.lock() {
            Ok(files) => files,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[async_trait]
impl ArtifactSink for MemoryArtifacts {
    fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    async fn keep(&self, run_id: Uuid, artifact: Artifact) -> Result<Kept, ArtifactError> {
        let mut files = self.lock();
        let others: u64 = files
            .iter()
            .filter(|((run, path), _)| *run == run_id && *path != artifact.path)
            .map(|(_, kept)| kept.content.len() as u64)
            .sum();
        if others + artifact.content.len() as u64 > self.max_run_bytes {
            return Ok(Kept::RunQuotaExceeded);
        }
        files.insert((run_id, artifact.path.clone()), artifact);
        Ok(Kept::Stored)
    }
}

/// The files of `after` that are not in `before`, or whose size or modification time
/// changed: what a block wrote. In `after`'s order.
pub fn changed_files<'a>(
    before: &[WorkspaceFile],
    after: &'a [WorkspaceFile],
) -> Vec<&'a WorkspaceFile> {
    let earlier: HashMap<&str, &WorkspaceFile> =
        before.iter().map(|f| (f.path.as_str(), f)).collect();
    after
        .iter()
        .filter(|file| {
            earlier.get(file.path.as_str()).is_none_or(|old| {
                old.size_bytes != file.size_bytes || old.modified != file.modified
            })
        })
        .collect()
}

/// The media type of a file by its extension (case-insensitive); unknown ones are
/// `application/octet-stream`, so nothing unknown is ever rendered as text or markup.
pub fn content_type_for(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "txt" | "log" | "out" => "text/plain",
        "md" => "text/markdown",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "py" => "text/x-python",
        "sh" => "text/x-shellscript",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "parquet" => "application/vnd.apache.parquet",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, SystemTime};

    use super::*;

    fn file(path: &str, size: u64, secs: u64) -> WorkspaceFile {
        WorkspaceFile {
            path: path.into(),
            size_bytes: size,
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    #[test]
    fn new_and_changed_files_are_the_blocks() {
        let before = vec![
            file("a.csv", 3, 1),
            file("b.txt", 3, 1),
            file("c.png", 9, 1),
        ];
        let after = vec![
            file("a.csv", 3, 1),
            file("b.txt", 3, 2),
            file("c.png", 10, 1),
            file("d/e.json", 2, 1),
        ];
        let changed: Vec<&str> = changed_files(&before, &after)
            .into_iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(changed, ["b.txt", "c.png", "d/e.json"]);
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type_for("plots/Fib.PNG"), "image/png");
        assert_eq!(content_type_for("data.csv"), "text/csv");
        assert_eq!(content_type_for("page.html"), "text/html");
        assert_eq!(content_type_for("x.svg"), "image/svg+xml");
        assert_eq!(content_type_for("Makefile"), "application/octet-stream");
        assert_eq!(content_type_for("dir.png/file"), "application/octet-stream");
        assert_eq!(content_type_for("weird.exe"), "application/octet-stream");
    }

    #[tokio::test]
    async fn memory_sink_replaces_a_path_and_enforces_the_run_total() {
        let sink = MemoryArtifacts::new(10, 10);
        let run = Uuid::new_v4();
        let artifact = |path: &str, len: usize| Artifact {
            path: path.into(),
            content_type: "text/plain".into(),
            content: vec![b'x'; len],
        };
        assert_eq!(sink.keep(run, artifact("a", 6)).await, Ok(Kept::Stored));
        // Replacing `a` does not count its old size.
        assert_eq!(sink.keep(run, artifact("a", 8)).await, Ok(Kept::Stored));
        assert_eq!(
            sink.keep(run, artifact("b", 3)).await,
            Ok(Kept::RunQuotaExceeded)
        );
        assert_eq!(sink.keep(run, artifact("b", 2)).await, Ok(Kept::Stored));
        assert_eq!(sink.paths(run), ["a", "b"]);
        assert_eq!(sink.get(run, "a").unwrap().content.len(), 8);
        assert!(format!("{:?}", artifact("a", 3)).contains("len: 3"));
    }

    #[test]
    fn skip_reasons_have_wire_names() {
        for skip in [
            ArtifactSkip::TooLarge,
            ArtifactSkip::RunQuotaExceeded,
            ArtifactSkip::Unreadable,
            ArtifactSkip::NotKept,
            ArtifactSkip::StorageFailed,
        ] {
            assert_eq!(
                serde_json::to_value(skip).unwrap(),
                serde_json::Value::String(skip.as_str().into())
            );
        }
    }
}

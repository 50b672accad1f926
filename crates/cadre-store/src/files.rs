//! Owns the run files side of the store: [`FileStore`] and its records, for the files
//! code blocks write (artifacts: plots, CSVs…). Their bytes live in the database, not on
//! a disk, because the worker that ran the code and the API replica that serves the
//! download may be on different machines. One row per run and path; the last write of a
//! path wins. Deleting a run deletes its files (`ON DELETE CASCADE`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::StoreError;

/// Longest path kept, in bytes.
pub const MAX_FILE_PATH: usize = 1024;

/// A file to keep for a run.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRunFile {
    /// The run.
    pub run_id: Uuid,
    /// Path relative to the workspace, `/`-separated (see [`valid_file_path`]).
    pub path: String,
    /// Media type (`image/png`).
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for NewRunFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRunFile")
            .field("run_id", &self.run_id)
            .field("path", &self.path)
            .field("content_type", &self.content_type)
            .field("len", &self.content.len())
            .finish()
    }
}

impl NewRunFile {
    /// Checks the path and computes what is stored beside the bytes: (size, sha256 hex).
    pub(crate) fn prepare(&self) -> Result<(i64, String), StoreError> {
        if !valid_file_path(&self.path) {
            return Err(StoreError::Invalid(format!(
                "`{}` is not a relative file path",
                self.path.escape_debug()
            )));
        }
        let size = i64::try_from(self.content.len())
            .map_err(|_| StoreError::Invalid("file too large".into()))?;
        let digest = Sha256::digest(&self.content);
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok((size, hex))
    }
}

/// A kept file, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFileRecord {
    /// The run.
    pub run_id: Uuid,
    /// Path relative to the workspace.
    pub path: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Media type.
    pub content_type: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// When this version was written.
    pub created_at: DateTime<Utc>,
}

/// What [`FileStore::put_run_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutFile {
    /// Kept (replacing an earlier file of the path, if any).
    Stored(RunFileRecord),
    /// Not kept: the run's other files and this one would exceed the run's limit.
    OverRunLimit {
        /// Bytes the run's other files already take.
        used: u64,
    },
}

/// Persistence of the files code blocks write. Reads are owner-scoped like every other:
/// another owner's run answers [`StoreError::NotFound`].
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Keeps a file of a run (workers), replacing an earlier one of the same path, unless
    /// the run's files would then take more than `max_run_bytes` in all (the replaced
    /// file does not count). Checked and written in one transaction, serialised per run.
    /// An unknown run is [`StoreError::NotFound`]; a path [`valid_file_path`] refuses is
    /// [`StoreError::Invalid`].
    async fn put_run_file(
        &self,
        file: NewRunFile,
        max_run_bytes: u64,
    ) -> Result<PutFile, StoreError>;

    /// The files of `owner`'s run, by path (an empty list for a run without any).
    async fn list_run_files(
        &self,
        owner: Uuid,
        run_id: Uuid,
    ) -> Result<Vec<RunFileRecord>, StoreError>;

    /// One file of `owner`'s run with its bytes; `NotFound { what: "file" }` when the run
    /// has no such file.
    async fn get_run_file(
        &self,
        owner: Uuid,
        run_id: Uuid,
        path: &str,
    ) -> Result<(RunFileRecord, Vec<u8>), StoreError>;
}

/// Whether `path` can name a kept file: relative, `/`-separated normal components (no
/// empty, `.` or `..` component), no backslash or NUL, at most [`MAX_FILE_PATH`] bytes.
/// The API applies the same rule to download paths.
pub fn valid_file_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_FILE_PATH
        && !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_valid() {
        for ok in [
            "a.png",
            "plots/fib.png",
            "a b/c-d_e.csv",
            "..hidden",
            "x..y",
        ] {
            assert!(valid_file_path(ok), "{ok}");
        }
        let long = "a".repeat(MAX_FILE_PATH + 1);
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "./a",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            long.as_str(),
        ] {
            assert!(!valid_file_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn prepare_hashes_and_refuses_bad_paths() {
        let file = NewRunFile {
            run_id: Uuid::nil(),
            path: "a.txt".into(),
            content_type: "text/plain".into(),
            content: b"abc".to_vec(),
        };
        assert_eq!(
            file.prepare(),
            Ok((
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into()
            ))
        );
        let bad = NewRunFile {
            path: "../a".into(),
            ..file
        };
        assert!(matches!(bad.prepare(), Err(StoreError::Invalid(_))));
        assert!(!format!("{bad:?}").contains("abc"));
    }
}

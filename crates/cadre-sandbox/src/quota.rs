//! The per-run workspace disk quota. The workspace is a host directory, so neither the
//! `/tmp` tmpfs size nor `RLIMIT_FSIZE` (per file) bounds what code can leave in it: a
//! loop writing many files would fill the host disk. The workspace is therefore measured
//! before each execution, periodically while it runs (the watchdog in `process`), and
//! once after it ends.
//!
//! What happens when it is over quota: the execution is stopped (or refused), and the
//! workspace is emptied. Leaving the files would refuse every later block of the run,
//! since only code could free the space and no code would be allowed to run; deleting
//! "the largest files" would leave the agents guessing what survived. An empty workspace
//! is predictable, keeps the run going and frees the host disk at once, and the stderr
//! note tells the agents their files are gone.
//!
//! Known limits: usage written between two checks (one interval's worth of disk
//! bandwidth) can overshoot the quota briefly, and on a server that is not root, code can
//! make a directory unreadable to the server (chmod 000). Such a directory cannot be
//! measured, so it counts as over quota; if it also cannot be removed, later blocks of
//! that run are refused (the host stays safe, that run's code execution does not).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cadre_core::executor::ExecutionResult;

use crate::host::human_bytes;

/// Exit code reported when the workspace disk quota stopped or refused an execution:
/// 122 is `EDQUOT`, Linux's "Disk quota exceeded" errno.
pub const QUOTA_EXIT_CODE: i32 = 122;

/// How often a running execution's workspace is measured. Short enough that a fast
/// writer overshoots the quota by at most a fraction of a second of disk bandwidth.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(200);

/// Files and directories walked at most per measurement: counting them is not free, so
/// a tree of millions of tiny files must not turn the watchdog itself into a DoS. A
/// workspace with more entries counts as over quota.
pub(crate) const MAX_ENTRIES: u64 = 100_000;

/// One workspace's quota.
#[derive(Debug, Clone)]
pub(crate) struct Quota {
    /// The workspace directory on the host.
    pub dir: PathBuf,
    /// Allocated bytes allowed in it.
    pub limit_bytes: u64,
    /// See [`MAX_ENTRIES`]; a field so tests can use a small one.
    pub max_entries: u64,
    /// See [`CHECK_INTERVAL`].
    pub interval: Duration,
}

/// The outcome of one measurement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Usage {
    /// Allocated bytes, within the quota.
    Within(u64),
    /// Allocated bytes, over the quota.
    OverBytes(u64),
    /// More entries than `max_entries`.
    TooManyEntries,
    /// Part of the workspace could not be read: it counts as over quota, since code
    /// could otherwise hide data from the measurement.
    Unreadable(String),
}

impl Usage {
    fn is_over(&self) -> bool {
        !matches!(self, Usage::Within(_))
    }
}

impl Quota {
    /// The quota of `dir`, or `None` when `limit_bytes` is 0 (no quota).
    pub(crate) fn new(dir: &Path, limit_bytes: u64) -> Option<Self> {
        (limit_bytes > 0).then(|| Self {
            dir: dir.to_path_buf(),
            limit_bytes,
            max_entries: MAX_ENTRIES,
            interval: CHECK_INTERVAL,
        })
    }

    /// Walks the workspace and adds up allocated blocks (so sparse files count for what
    /// they really occupy). Blocking: call it from `spawn_blocking`.
    ///
    /// Symlinks are counted as themselves and never followed, so a link to a big host
    /// file neither counts nor leads the walk out of the workspace. (Code swapping a
    /// directory for a link between the `lstat` and the listing could still redirect
    /// one listing; that only adds entries and blocks, so it errs towards over quota.)
    pub(crate) fn measure(&self) -> Usage {
        let mut bytes: u64 = 0;
        let mut entries: u64 = 0;
        let mut pending = vec![self.dir.clone()];
        while let Some(dir) = pending.pop() {
            let listing = match std::fs::read_dir(&dir) {
                Ok(listing) => listing,
                // Code deleting its own directory mid-walk is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir != self.dir => {
                    continue;
                }
                Err(e) => return Usage::Unreadable(self.describe_error(&dir, &e)),
            };
            for entry in listing {
                let path = match entry {
                    Ok(entry) => entry.path(),
                    Err(e) => return Usage::Unreadable(self.describe_error(&dir, &e)),
                };
                entries += 1;
                if entries > self.max_entries {
                    return Usage::TooManyEntries;
                }
                let meta = match std::fs::symlink_metadata(&path) {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Usage::Unreadable(self.describe_error(&path, &e)),
                };
                bytes = bytes.saturating_add(meta.blocks().saturating_mul(512));
                if meta.is_dir() {
                    pending.push(path);
                }
            }
        }
        if bytes > self.limit_bytes {
            Usage::OverBytes(bytes)
        } else {
            Usage::Within(bytes)
        }
    }

    /// Measures off the async runtime's worker threads.
    pub(crate) async fn measure_async(&self) -> Usage {
        let quota = self.clone();
        tokio::task::spawn_blocking(move || quota.measure())
            .await
            .unwrap_or_else(|e| Usage::Unreadable(format!("measurement task failed: {e}")))
    }

    /// Resolves once a measurement finds the workspace over quota; never otherwise.
    /// Measurements run one after another, so a slow walk delays the next instead of
    /// piling up.
    pub(crate) async fn watch(&self) -> Usage {
        loop {
            tokio::time::sleep(self.interval).await;
            let usage = self.measure_async().await;
            if usage.is_over() {
                return usage;
            }
        }
    }

    /// Deletes everything inside the workspace, keeping the directory itself (it is bound
    /// into later sandboxes with its owner and mode). `remove_dir_all` removes links
    /// inside rather than following them. Blocking.
    pub(crate) fn empty(&self) -> Result<(), String> {
        let listing =
            std::fs::read_dir(&self.dir).map_err(|e| self.describe_error(&self.dir, &e))?;
        let mut first_error = None;
        for entry in listing {
            let path = match entry {
                Ok(entry) => entry.path(),
                Err(e) => {
                    first_error.get_or_insert_with(|| self.describe_error(&self.dir, &e));
                    continue;
                }
            };
            let removed = match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
                Ok(_) => std::fs::remove_file(&path),
                Err(e) => Err(e),
            };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    first_error.get_or_insert_with(|| self.describe_error(&path, &e));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Empties the workspace off the async runtime's worker threads and says how that
    /// went, for the stderr note.
    async fn empty_and_describe(&self) -> String {
        let quota = self.clone();
        let outcome = tokio::task::spawn_blocking(move || quota.empty())
            .await
            .unwrap_or_else(|e| Err(format!("emptying task failed: {e}")));
        match outcome {
            Ok(()) => {
                "The workspace was emptied (all its files were deleted); later code blocks run \
                 normally."
                    .to_string()
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot empty an over-quota workspace");
                format!(
                    "The workspace could not be emptied ({e}); later code blocks are refused \
                     while it stays over quota."
                )
            }
        }
    }

    /// What exceeded the limit, for the stderr note.
    fn what(&self, usage: &Usage) -> String {
        match usage {
            Usage::Within(bytes) | Usage::OverBytes(bytes) => format!(
                "the workspace holds more than {} (about {} used)",
                human_bytes(self.limit_bytes),
                approx_bytes(*bytes)
            ),
            Usage::TooManyEntries => format!(
                "the workspace holds more than {} files and directories",
                self.max_entries
            ),
            Usage::Unreadable(why) => format!(
                "the workspace could not be measured against its {} quota ({why})",
                human_bytes(self.limit_bytes)
            ),
        }
    }

    /// The note for an execution the watchdog (`killed`) or the check after exit stopped
    /// being over quota. Empties the workspace; the process tree must be dead already,
    /// or it would keep writing.
    pub(crate) async fn exceeded_note(&self, usage: &Usage, killed: bool) -> String {
        let emptied = self.empty_and_describe().await;
        let stopped = if killed {
            "execution stopped"
        } else {
            "found when the execution ended"
        };
        format!(
            "Disk quota exceeded: {}; {stopped}. {emptied}",
            self.what(usage)
        )
    }

    /// Checks the workspace before an execution. `None` when within quota; otherwise the
    /// result to report instead of running (refusing with a result, not an error, so the
    /// agents see why), after emptying the workspace so the run can go on.
    pub(crate) async fn refuse_if_over(&self) -> Option<ExecutionResult> {
        let usage = self.measure_async().await;
        if !usage.is_over() {
            return None;
        }
        let emptied = self.empty_and_describe().await;
        Some(ExecutionResult {
            exit_code: QUOTA_EXIT_CODE,
            stdout: String::new(),
            stderr: format!(
                "Disk quota exceeded: {} before this code block started, so it was not run. \
                 {emptied}\n",
                self.what(&usage)
            ),
            duration_ms: 0,
            timed_out: false,
            killed: false,
            truncated: false,
        })
    }
}

impl Quota {
    fn describe_error(&self, path: &Path, error: &std::io::Error) -> String {
        let shown = path.strip_prefix(&self.dir).unwrap_or(path);
        if shown.as_os_str().is_empty() {
            format!("workspace: {error}")
        } else {
            format!("{}: {error}", shown.display())
        }
    }
}

/// The `info().enforced` line for a quota of `limit_bytes`.
pub(crate) fn describe(limit_bytes: u64) -> String {
    if limit_bytes == 0 {
        "workspace: no disk quota (workspace_quota_bytes is 0)".to_string()
    } else {
        format!(
            "workspace: {} disk quota (checked before each execution, every {} ms while it runs \
             and when it ends; over-quota execution killed and workspace emptied)",
            human_bytes(limit_bytes),
            CHECK_INTERVAL.as_millis()
        )
    }
}

/// `12.3 MiB`-style sizes: exact byte counts of a measured workspace are noise.
fn approx_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn quota(dir: &Path, limit_bytes: u64) -> Quota {
        Quota::new(dir, limit_bytes).unwrap()
    }

    #[test]
    fn allocated_bytes_are_counted_through_subdirectories() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("a/b")).unwrap();
        std::fs::write(ws.path().join("a/b/data"), vec![7u8; 3 * MIB as usize]).unwrap();
        std::fs::write(ws.path().join("top"), vec![7u8; MIB as usize]).unwrap();
        match quota(ws.path(), 8 * MIB).measure() {
            Usage::Within(bytes) => assert!((4 * MIB..5 * MIB).contains(&bytes), "{bytes}"),
            other => panic!("{other:?}"),
        }
        match quota(ws.path(), 2 * MIB).measure() {
            Usage::OverBytes(bytes) => assert!(bytes >= 4 * MIB, "{bytes}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sparse_file_counts_for_its_blocks_not_its_length() {
        let ws = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(ws.path().join("sparse")).unwrap();
        file.set_len(100 * MIB).unwrap();
        assert!(matches!(quota(ws.path(), MIB).measure(), Usage::Within(_)));
    }

    #[test]
    fn symlinks_are_neither_followed_nor_counted_for_their_target() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![1u8; 4 * MIB as usize]).unwrap();
        let ws = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("big"), ws.path().join("file")).unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.path().join("dir")).unwrap();
        assert!(
            matches!(quota(ws.path(), MIB).measure(), Usage::Within(_)),
            "a link target was counted"
        );

        quota(ws.path(), MIB).empty().unwrap();
        assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
        assert!(outside.path().join("big").is_file(), "a link was followed");
    }

    #[test]
    fn too_many_entries_count_as_over_quota() {
        let ws = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(ws.path().join(format!("f{i}")), "").unwrap();
        }
        let mut q = quota(ws.path(), 256 * MIB);
        q.max_entries = 19;
        assert_eq!(q.measure(), Usage::TooManyEntries);
        q.max_entries = 20;
        assert!(matches!(q.measure(), Usage::Within(_)));
    }

    #[test]
    fn emptying_keeps_the_directory() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("d/e")).unwrap();
        std::fs::write(ws.path().join("d/e/f"), "x").unwrap();
        std::fs::write(ws.path().join("g"), "x").unwrap();
        quota(ws.path(), MIB).empty().unwrap();
        assert!(ws.path().is_dir());
        assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_zero_quota_means_none() {
        assert!(Quota::new(Path::new("/nonexistent"), 0).is_none());
        assert!(describe(0).contains("no disk quota"));
        assert!(describe(256 * MIB).starts_with("workspace: 256 MiB disk quota"));
    }

    #[tokio::test]
    async fn an_over_quota_workspace_is_refused_then_emptied() {
        let ws = tempfile::tempdir().unwrap();
        let q = quota(ws.path(), MIB);
        assert!(q.refuse_if_over().await.is_none());
        std::fs::write(ws.path().join("big"), vec![1u8; 2 * MIB as usize]).unwrap();
        let refused = q.refuse_if_over().await.unwrap();
        assert_eq!(refused.exit_code, QUOTA_EXIT_CODE);
        assert!(
            refused.stderr.starts_with(
                "Disk quota exceeded: the workspace holds more than 1 MiB (about 2.0 MiB used)"
            ),
            "{}",
            refused.stderr
        );
        assert!(refused.stderr.contains("was emptied"), "{}", refused.stderr);
        assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
        assert!(q.refuse_if_over().await.is_none());
    }
}

//! A dedicated unprivileged uid per run, when the server is root: leasing one from a
//! configured range so that no two live workspaces on this host share it, and giving it
//! back when the workspace closes.
//!
//! With its own uid (and a group of the same number), a run's processes cannot signal
//! or trace another run's, its workspace (mode 0700) is closed to every other run even
//! if a mount were shared, and `RLIMIT_NPROC`, which the kernel counts per uid, is no
//! longer shared between runs.
//!
//! Leases are files `<base>/.uids/<uid>` created with `O_EXCL`, so two processes on one
//! host (an API and a worker, two workers) never hand out the same uid. A lease names
//! the workspace holding it; a lease whose workspace is gone was left by a crash and is
//! taken over.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cadre_core::executor::ExecError;

/// A range of uids reserved for sandboxed code. The default sits far above the ids
/// distributions hand out (system and login users below 65536, subordinate ranges of
/// rootless containers from 100000 in blocks of 65536).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidRange {
    /// First uid of the range.
    pub first: u32,
    /// How many uids it holds.
    pub count: u32,
}

impl Default for UidRange {
    fn default() -> Self {
        Self {
            first: 2_000_000_000,
            count: 1_000_000,
        }
    }
}

/// One uid held for one workspace; released by [`UidLease::release`].
#[derive(Debug)]
pub(crate) struct UidLease {
    uid: u32,
    file: PathBuf,
}

impl UidLease {
    /// Leases a uid, starting from a random point of the range so that concurrent
    /// leases rarely probe the same files. The caller then creates the workspace owned
    /// by it and [`UidLease::record`]s the workspace's path.
    pub(crate) fn acquire(base: &Path, range: UidRange) -> Result<Self, ExecError> {
        if range.count == 0 || range.first == 0 {
            return Err(ExecError::Workspace(
                "the sandbox uid range is empty or starts at 0".to_string(),
            ));
        }
        let dir = base.join(".uids");
        std::fs::create_dir_all(&dir).map_err(|e| lease_err("create", &dir, e))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| lease_err("set mode of", &dir, e))?;
        let start = (uuid::Uuid::new_v4().as_u128() % u128::from(range.count)) as u32;
        // A bounded probe: the range is vastly larger than the number of runs one host
        // executes at once, so a long run of taken uids means something else is wrong.
        for step in 0..range.count.min(4096) {
            let uid = range.first + (start + step) % range.count;
            let file = dir.join(uid.to_string());
            // A stale lease is removed and its uid tried once more; O_EXCL still
            // decides between two processes taking it over at once.
            for _attempt in 0..2 {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&file)
                {
                    Ok(_) => return Ok(Self { uid, file }),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        if !is_stale(&file) {
                            break;
                        }
                        let _ = std::fs::remove_file(&file);
                    }
                    Err(e) => return Err(lease_err("create", &file, e)),
                }
            }
        }
        Err(ExecError::Workspace(format!(
            "no free sandbox uid in {}..{} (leases in {})",
            range.first,
            range.first.saturating_add(range.count),
            dir.display()
        )))
    }

    /// Names the workspace holding the lease: once it is gone, the lease is stale.
    pub(crate) fn record(&self, workspace: &Path) -> Result<(), ExecError> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.file)
            .and_then(|mut handle| handle.write_all(workspace.as_os_str().as_encoded_bytes()))
            .map_err(|e| lease_err("write", &self.file, e))
    }

    /// The leased uid (also used as the gid).
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }

    /// Gives the uid back.
    pub(crate) fn release(self) {
        if let Err(error) = std::fs::remove_file(&self.file) {
            tracing::warn!(lease = %self.file.display(), %error, "cannot release a sandbox uid");
        }
    }
}

/// A lease is stale when the workspace it names no longer exists.
fn is_stale(file: &Path) -> bool {
    match std::fs::read(file) {
        Ok(bytes) if !bytes.is_empty() => {
            let workspace = PathBuf::from(String::from_utf8_lossy(&bytes).into_owned());
            !workspace.exists()
        }
        // Empty: its writer died between create and write, or is writing now; only
        // the former is stale, and telling them apart needs its age.
        Ok(_) => std::fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 60),
        Err(_) => false,
    }
}

fn lease_err(what: &str, path: &Path, e: std::io::Error) -> ExecError {
    ExecError::Workspace(format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_workspaces_get_distinct_uids_and_release_them() {
        let base = tempfile::tempdir().unwrap();
        let range = UidRange {
            first: 3_000_000,
            count: 2,
        };
        let (a, b) = (base.path().join("a"), base.path().join("b"));
        for dir in [&a, &b] {
            std::fs::create_dir(dir).unwrap();
        }
        let first = UidLease::acquire(base.path(), range).unwrap();
        first.record(&a).unwrap();
        let second = UidLease::acquire(base.path(), range).unwrap();
        second.record(&b).unwrap();
        assert_ne!(first.uid(), second.uid());
        assert!((3_000_000..3_000_002).contains(&first.uid()));
        let full = UidLease::acquire(base.path(), range).unwrap_err();
        assert!(full.to_string().contains("no free sandbox uid"), "{full}");
        let freed = first.uid();
        first.release();
        assert_eq!(UidLease::acquire(base.path(), range).unwrap().uid(), freed);
    }

    #[test]
    fn a_lease_whose_workspace_is_gone_is_taken_over() {
        let base = tempfile::tempdir().unwrap();
        let range = UidRange {
            first: 3_000_000,
            count: 1,
        };
        let crashed = base.path().join("crashed");
        std::fs::create_dir(&crashed).unwrap();
        let lease = UidLease::acquire(base.path(), range).unwrap();
        lease.record(&crashed).unwrap();
        std::mem::forget(lease);
        assert!(UidLease::acquire(base.path(), range).is_err(), "still held");
        std::fs::remove_dir(&crashed).unwrap();
        assert_eq!(
            UidLease::acquire(base.path(), range).unwrap().uid(),
            3_000_000
        );
    }
}

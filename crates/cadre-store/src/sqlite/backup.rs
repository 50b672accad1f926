//! Owns online backup and offline restore of a SQLite database (`cadre backup`,
//! `cadre restore`).
//!
//! A backup is SQLite's own `VACUUM INTO`: it reads the database inside one read
//! transaction, so the copy is a consistent snapshot (every run's events up to its
//! `last_seq`, no half-written batch) while the server goes on writing in WAL mode, and it
//! comes out compacted, with no `-wal` file beside it. The copy is written under a
//! temporary name, checked (`PRAGMA integrity_check`, Cadre's migrations present) and only
//! then renamed into place, so a half-written file never carries the backup's name.
//!
//! A restore puts such a file in place of the database while no server has it open (the
//! caller makes sure): the current database is checkpointed and kept beside it as
//! `<name>.before-restore`, never deleted.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};

use crate::{StoreError, redact_url};

/// What a backup or restore holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The file written (the backup, or the restored database).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Users in it.
    pub users: u64,
    /// Runs in it.
    pub runs: u64,
    /// Events in it.
    pub events: u64,
}

/// The database file a `sqlite://` URL names; in-memory databases have none.
pub fn database_path(url: &str) -> Result<PathBuf, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::Invalid(format!("invalid SQLite URL {}", redact_url(url))))?;
    let path = options.get_filename();
    if url.contains(":memory:") || url.contains("mode=memory") || path.as_os_str().is_empty() {
        return Err(StoreError::Invalid(
            "an in-memory database has no file to back up or restore".into(),
        ));
    }
    Ok(path.to_path_buf())
}

/// Writes a consistent copy of the live database at `url` to `destination`, which must
/// not exist yet. Safe while servers are using the database.
pub async fn backup(url: &str, destination: &Path) -> Result<BackupSummary, StoreError> {
    let source = database_path(url)?;
    if !source.exists() {
        return Err(StoreError::Invalid(format!(
            "there is no database at {}",
            source.display()
        )));
    }
    if destination.exists() {
        return Err(StoreError::Invalid(format!(
            "{} exists already; a backup never overwrites a file",
            destination.display()
        )));
    }
    let partial = sibling(destination, ".partial")?;
    remove_if_present(&partial)?;
    let result = async {
        let mut connection = open(&source, true).await?;
        sqlx::query("VACUUM INTO ?")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&mut connection)
            .await
            .map_err(|e| io_error("cannot write the backup", &e))?;
        connection.close().await.ok();
        sync_file(&partial)?;
        let summary = verify(&partial).await?;
        std::fs::rename(&partial, destination)
            .map_err(|e| io_error("cannot move the backup into place", &e))?;
        sync_parent(destination)?;
        Ok(BackupSummary {
            path: destination.to_path_buf(),
            ..summary
        })
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Replaces the database at `url` with the backup at `backup` after checking it. The
/// caller makes sure no process has the database open. The previous database, if any, is
/// kept as `<name>.before-restore` (an older one of that name is replaced).
pub async fn restore(backup: &Path, url: &str) -> Result<BackupSummary, StoreError> {
    let target = database_path(url)?;
    if !backup.is_file() {
        return Err(StoreError::Invalid(format!(
            "there is no backup file at {}",
            backup.display()
        )));
    }
    let summary = verify(backup).await?;
    if let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| io_error("cannot create the database's directory", &e))?;
    }
    let incoming = sibling(&target, ".restoring")?;
    std::fs::copy(backup, &incoming).map_err(|e| io_error("cannot copy the backup", &e))?;
    sync_file(&incoming)?;
    if target.exists() {
        // Fold the WAL into the main file first, so the kept copy is whole by itself.
        let mut connection = open(&target, false).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut connection)
            .await
            .map_err(|e| io_error("cannot checkpoint the current database", &e))?;
        connection.close().await.ok();
        let kept = sibling(&target, ".before-restore")?;
        std::fs::rename(&target, &kept)
            .map_err(|e| io_error("cannot set the current database aside", &e))?;
    }
    for suffix in ["-wal", "-shm"] {
        remove_if_present(&sibling(&target, suffix)?)?;
    }
    std::fs::rename(&incoming, &target)
        .map_err(|e| io_error("cannot move the restored database into place", &e))?;
    sync_parent(&target)?;
    Ok(BackupSummary {
        path: target,
        ..summary
    })
}

/// Checks that `path` is a whole SQLite database written by Cadre and counts what is in it.
async fn verify(path: &Path) -> Result<BackupSummary, StoreError> {
    let mut connection = open(path, true).await?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .map_err(|e| not_a_backup(path, &e))?;
    if check != "ok" {
        return Err(StoreError::Invalid(format!(
            "{} is damaged: {check}",
            path.display()
        )));
    }
    let migrated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut connection)
    .await
    .map_err(|e| not_a_backup(path, &e))?;
    if migrated == 0 {
        return Err(StoreError::Invalid(format!(
            "{} is a SQLite database, but not Cadre's",
            path.display()
        )));
    }
    let count = |table: &'static str| format!("SELECT count(*) FROM {table}");
    let mut counts = [0u64; 3];
    for (slot, table) in counts.iter_mut().zip(["users", "runs", "events"]) {
        let n: i64 = sqlx::query_scalar(&count(table))
            .fetch_one(&mut connection)
            .await
            .map_err(|e| not_a_backup(path, &e))?;
        *slot = u64::try_from(n).unwrap_or(0);
    }
    connection.close().await.ok();
    let bytes = std::fs::metadata(path)
        .map_err(|e| io_error("cannot read the file's size", &e))?
        .len();
    Ok(BackupSummary {
        path: path.to_path_buf(),
        bytes,
        users: counts[0],
        runs: counts[1],
        events: counts[2],
    })
}

/// One connection to the file at `path`. Read-only opens never create or convert it.
async fn open(path: &Path, read_only: bool) -> Result<SqliteConnection, StoreError> {
    let mut options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false);
    if !read_only {
        options = options.journal_mode(SqliteJournalMode::Wal);
    }
    options.connect().await.map_err(|e| not_a_backup(path, &e))
}

fn not_a_backup(path: &Path, error: &sqlx::Error) -> StoreError {
    StoreError::Invalid(format!(
        "cannot read {} as a SQLite database: {error}",
        path.display()
    ))
}

fn io_error(what: &str, error: &dyn std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what}: {error}"))
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::Invalid(format!("{} is not a file name", path.display())))?;
    let mut name = name.to_os_string();
    name.push(suffix);
    Ok(path.with_file_name(name))
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&format!("cannot remove {}", path.display()), &e)),
    }
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|e| io_error("cannot flush the file to disk", &e))
}

/// The rename is durable only once the directory is flushed too.
fn sync_parent(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| io_error("cannot flush the directory to disk", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_databases_have_no_file() {
        assert!(matches!(
            database_path("sqlite::memory:"),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(
            database_path("sqlite:///var/lib/cadre/cadre.db").unwrap(),
            PathBuf::from("/var/lib/cadre/cadre.db")
        );
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused_and_nothing_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("notes.txt");
        std::fs::write(&bogus, "not a database").unwrap();
        let live = dir.path().join("cadre.db");
        std::fs::write(&live, "the live database").unwrap();
        let url = format!("sqlite://{}", live.display());
        let error = restore(&bogus, &url).await.unwrap_err();
        assert!(error.to_string().contains("notes.txt"), "{error}");
        assert_eq!(std::fs::read(&live).unwrap(), b"the live database");
    }
}

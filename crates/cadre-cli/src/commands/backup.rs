//! `cadre backup FILE` and `cadre restore FILE`: the embedded default's (SQLite's) backup.
//! A backup is taken online, while `cadre serve` runs; a restore needs the server
//! stopped, and refuses while any process has the database open. With PostgreSQL
//! (`CADRE_DATABASE_URL=postgres://…`) both point to PostgreSQL's own tools, which do
//! it better (point-in-time recovery, replicas): see "Backup and restore" in the README.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cadre_server::config::ServiceConfig;
use cadre_store::sqlite::backup::{self, BackupSummary};

/// `cadre backup` arguments.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy (must not exist yet).
    pub file: PathBuf,
}

/// `cadre restore` arguments.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `cadre backup`.
    pub file: PathBuf,
}

const POSTGRES_HINT: &str = "this server's database is PostgreSQL: back it up with pg_dump \
    (or pg_basebackup with WAL archiving for point-in-time recovery) and restore with \
    pg_restore; see 'Backup and restore' in the README";

fn sqlite_url(config: &ServiceConfig) -> anyhow::Result<&str> {
    let url = config.database_url.as_str();
    anyhow::ensure!(url.starts_with("sqlite:"), POSTGRES_HINT);
    Ok(url)
}

/// Writes a consistent copy of the configured SQLite database to `args.file`.
pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let config = ServiceConfig::from_env()?;
    let url = sqlite_url(&config)?;
    let summary = backup::backup(url, &args.file)
        .await
        .context("no backup was written")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "backed up {}", describe(&summary))?;
    if config.secret_key.is_none() {
        writeln!(
            out,
            "stored provider keys in it are sealed with {}: keep a copy of that file with \
             the backup (and as secret as it)",
            config.data_dir.join("secret.key").display()
        )?;
    } else {
        writeln!(
            out,
            "stored provider keys in it are sealed with CADRE_SECRET_KEY: a restore needs \
             the same key"
        )?;
    }
    Ok(())
}

/// Puts the backup at `args.file` in place of the configured SQLite database.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let config = ServiceConfig::from_env()?;
    let url = sqlite_url(&config)?;
    let database = backup::database_path(url)?;
    if let Some(pid) = process_using(&database) {
        anyhow::bail!(
            "process {pid} has {} open (a running cadre serve?): stop it, then restore",
            database.display()
        );
    }
    let summary = backup::restore(&args.file, url)
        .await
        .context("the database was left as it was")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "restored {}", describe(&summary))?;
    let kept = database.with_file_name(format!(
        "{}.before-restore",
        database
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    if kept.exists() {
        writeln!(out, "the previous database is kept as {}", kept.display())?;
    }
    Ok(())
}

fn describe(summary: &BackupSummary) -> String {
    format!(
        "{} ({} bytes): {} users, {} runs, {} events",
        summary.path.display(),
        summary.bytes,
        summary.users,
        summary.runs,
        summary.events
    )
}

/// The first other process with the database (or its WAL) open, from `/proc/*/fd`:
/// replacing the file under a running server would leave it writing to the old one.
fn process_using(database: &Path) -> Option<u32> {
    let database = database.canonicalize().ok()?;
    let mut wal = database.clone().into_os_string();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let own = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && (target == database || target == wal)
            {
                return Some(pid);
            }
        }
    }
    None
}

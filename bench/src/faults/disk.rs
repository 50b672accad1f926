//! The `disk-full` scenario: `cadre serve` (SQLite, in-process worker and bus) with its
//! data directory on a small tmpfs of its own, filled to the last byte while runs are
//! going, kept full for a while, then freed. While full, new runs must be refused with a
//! clear 503 (never a 500) and nothing already stored may be lost or torn; once there is
//! room again, every accepted run must complete as if nothing had happened.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::Connection as _;

use super::client::{Client, demo_run, follow};
use super::cluster::{ADMIN_EMAIL, ADMIN_PASSWORD, free_port, is_root, wait_for_port};
use super::{FaultFigures, Load, TASK, drive, reference_run, verify};

/// Size of the data directory's filesystem.
const TMPFS_MIB: u32 = 64;
/// How long the disk stays full.
const FULL_FOR: Duration = Duration::from_secs(6);

/// A tmpfs mounted for the scenario, unmounted however it ends.
struct Mount(std::path::PathBuf);

impl Mount {
    fn new(at: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(at)?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={TMPFS_MIB}m,mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .context("mount")?;
        anyhow::ensure!(status.success(), "cannot mount a tmpfs at {}", at.display());
        Ok(Self(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the filesystem has no room left; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let Ok(mut file) = std::fs::File::create(path) else {
        return 0;
    };
    let block = vec![0xA5u8; 64 * 1024];
    let mut written = 0u64;
    while file.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    // The last, partial block: byte by byte is too slow, halving is enough.
    let mut size = block.len() / 2;
    while size > 0 {
        if file.write_all(&block[..size]).is_ok() {
            written += size as u64;
        } else {
            size /= 2;
        }
    }
    let _ = file.sync_all();
    written
}

pub async fn disk_full(binary: &Path) -> anyhow::Result<FaultFigures> {
    anyhow::ensure!(
        is_root(),
        "the disk-full scenario mounts a tmpfs: run it as root"
    );
    let dir = tempfile::Builder::new()
        .prefix("cadre-faults-disk")
        .tempdir()?;
    let data = dir.path().join("data");
    let _mount = Mount::new(&data)?;
    let port = free_port()?;
    let log = std::fs::File::create(dir.path().join("serve.log"))?;
    let mut server = Command::new(binary)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CADRE_DATA_DIR", &data)
        .env("CADRE_BIND", format!("127.0.0.1:{port}"))
        .env("CADRE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("CADRE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CADRE_WORKER_LEASE_SECS", "2")
        .env("CADRE_SCRIPTED_DELAY_MS", "200")
        .env("CADRE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start cadre serve")?;
    let result = async {
        wait_for_port(port, Duration::from_secs(30))?;
        let bases = vec![format!("http://127.0.0.1:{port}")];
        let client = Client::login(&bases[0]).await?;
        let mut figures = FaultFigures {
            scenario: "disk-full",
            ..FaultFigures::default()
        };
        let (reference, reference_pause) =
            reference_run(&client, &bases, || demo_run(TASK)).await?;
        figures.reference_pause = reference_pause;

        let started = Instant::now();
        let driving = tokio::spawn(drive(
            client.clone(),
            bases.clone(),
            Load {
                runs: 20,
                in_flight: 20,
                followers: 1,
                until: None,
            },
        ));
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let filler = data.join("filler");
        let filled = tokio::task::spawn_blocking({
            let filler = filler.clone();
            move || fill(&filler)
        })
        .await?;
        figures.faults = 1;
        note!("    disk filled ({} MiB of filler)", filled >> 20);
        // While full: new runs are refused, clearly.
        let full_until = Instant::now() + FULL_FOR;
        let mut accepted = Vec::new();
        while Instant::now() < full_until {
            match client.try_post_run(&bases[0], &demo_run(TASK)).await {
                (202, id) => {
                    figures.accepted_while_faulty += 1;
                    accepted.extend(id);
                }
                (status, _) if status >= 500 && status != 503 => {
                    figures.server_errors += 1;
                    note!("!! POST /runs on a full disk answered {status}");
                }
                _ => figures.refused += 1,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        std::fs::remove_file(&filler)?;
        note!("    disk freed");
        // A run accepted while the disk was full is a promise like any other: it must
        // complete too.
        let deadline = Instant::now() + super::RUN_DEADLINE;
        let mut late = tokio::task::JoinSet::new();
        for run in accepted {
            let (client, bases) = (client.clone(), bases.clone());
            late.spawn(async move {
                let seen = follow(client, bases, run.clone(), 0, deadline).await;
                (run, vec![seen])
            });
        }
        let mut outcome = driving.await.context("load task")??;
        while let Some(run) = late.join_next().await {
            outcome.push(run?);
        }
        figures.wall = started.elapsed();
        verify(&client, &bases, &reference, &outcome, &mut figures).await?;
        anyhow::Ok(figures)
    }
    .await;
    if std::env::var_os("CADRE_FAULTS_KEEP").is_some() {
        note!("    kept: {}", dir.path().display());
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
    let crashed = matches!(server.try_wait(), Ok(Some(_)));
    let _ = server.kill();
    let _ = server.wait();
    let mut figures = result?;
    figures.crashed = usize::from(crashed);
    // Whatever happened, the database file itself must be whole.
    let url = format!("sqlite://{}?mode=ro", data.join("cadre.db").display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await?;
    if check != "ok" {
        note!("!! the database is damaged: {check}");
        figures.broken_runs += 1;
    }
    Ok(figures)
}

//! `cadre serve` as a user starts it: the release binary beside this one, on a fresh
//! data directory (SQLite, migrations included), timed from spawn to the first `200`
//! from `/readyz`, and its resident memory once idle.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Start-up and idle figures of `cadre serve`.
pub struct ServeFigures {
    /// Median spawn → ready time, ms.
    pub ready_ms: f64,
    /// Median idle RSS, MiB.
    pub idle_rss_mib: f64,
    /// Starts measured.
    pub starts: usize,
}

pub fn cadre_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("locating cadre-bench")?;
    let path = me.with_file_name("cadre");
    anyhow::ensure!(
        path.exists(),
        "{} not found: build it with `cargo build --release -p cadre-cli`",
        path.display()
    );
    Ok(path)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether `GET /readyz` answers 200 (a plain HTTP/1.1 request: no client start-up cost
/// inside the measured loop).
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .context("VmRSS missing")?;
    Ok(kb / 1024.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Starts `cadre serve` `starts` times on fresh data directories.
pub fn serve_startup(starts: usize) -> anyhow::Result<ServeFigures> {
    let binary = cadre_binary()?;
    let mut ready_ms = Vec::with_capacity(starts);
    let mut idle = Vec::with_capacity(starts);
    for _ in 0..starts {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CADRE_DATA_DIR", dir.path())
            .env("CADRE_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting cadre serve")?;
        let outcome = (|| {
            while !ready(port) {
                anyhow::ensure!(
                    started.elapsed() < Duration::from_secs(10),
                    "cadre serve not ready within 10 s"
                );
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!("cadre serve exited: {status}");
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            ready_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_secs(1));
            idle.push(rss_mib(child.id())?);
            anyhow::Ok(())
        })();
        let _ = child.kill();
        let _ = child.wait();
        outcome?;
    }
    Ok(ServeFigures {
        ready_ms: median(&mut ready_ms),
        idle_rss_mib: median(&mut idle),
        starts,
    })
}

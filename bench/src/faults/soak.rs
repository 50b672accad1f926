//! The soak (`cadre-bench faults soak`, `make soak`; 10 minutes, never part of
//! `make test`): the fault scenarios' deployment, nothing broken, under 100 concurrent
//! runs with 10 stream clients each (1,000 streams) for `CADRE_SOAK_SECS` (600). Every
//! 30 s it samples each process's resident memory and open file descriptors; after the
//! first two minutes (warm-up: pools, caches, allocator arenas) both must stay flat —
//! the last sample within 25 % (memory) and 10 % + 16 (descriptors) of the one at two
//! minutes — and every run must have completed like a fault-free one.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::client::Client;
use super::client::demo_run;
use super::{Deployment, FaultFigures, Load, TASK, drive, reference_run, verify};

const SAMPLE_EVERY: Duration = Duration::from_secs(30);
const WARM_UP: Duration = Duration::from_secs(120);

/// One process's resident memory (KiB) and open descriptors, from `/proc`.
fn sample(pid: u32) -> Option<(u64, usize)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((rss, fds))
}

/// A process's samples over the soak.
pub struct Trace {
    pub name: String,
    /// (seconds since start, RSS KiB, open fds).
    pub samples: Vec<(u64, u64, usize)>,
}

impl Trace {
    fn at_warm_up(&self) -> Option<&(u64, u64, usize)> {
        self.samples
            .iter()
            .find(|(t, _, _)| *t >= WARM_UP.as_secs())
    }

    /// Whether memory and descriptors stayed flat after the warm-up.
    pub fn flat(&self) -> bool {
        match (self.at_warm_up(), self.samples.last()) {
            (Some(&(_, rss0, fds0)), Some(&(_, rss1, fds1))) => {
                rss1 as f64 <= rss0 as f64 * 1.25 && fds1 as f64 <= fds0 as f64 * 1.10 + 16.0
            }
            _ => false,
        }
    }

    pub fn row(&self) -> String {
        let mib = |kib: u64| kib as f64 / 1024.0;
        let warm = self.at_warm_up().copied().unwrap_or_default();
        let last = self.samples.last().copied().unwrap_or_default();
        let peak = self.samples.iter().map(|s| s.1).max().unwrap_or_default();
        let fd_peak = self.samples.iter().map(|s| s.2).max().unwrap_or_default();
        format!(
            "| {} | {:.1} → {:.1} MiB (peak {:.1}) | {} → {} (peak {}) | {} |",
            self.name,
            mib(warm.1),
            mib(last.1),
            mib(peak),
            warm.2,
            last.2,
            fd_peak,
            if self.flat() { "flat" } else { "GROWING" }
        )
    }
}

pub async fn soak(binary: &std::path::PathBuf) -> anyhow::Result<(FaultFigures, Vec<Trace>)> {
    let length = std::env::var("CADRE_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(600), Duration::from_secs);
    // One user posts every run: far more than the default per-user rate limit allows.
    let mut deployment =
        Deployment::start_with(binary, &[("CADRE_RUNS_PER_MINUTE", "0".into())]).await?;
    let bases = deployment.bases.clone();
    let client = Client::login(&bases[0]).await?;
    let mut figures = FaultFigures {
        scenario: "soak",
        ..FaultFigures::default()
    };
    let (reference, reference_pause) = reference_run(&client, &bases, || demo_run(TASK)).await?;
    figures.reference_pause = reference_pause;

    let mut traces: Vec<Trace> = deployment
        .pids()
        .into_iter()
        .map(|(name, _)| Trace {
            name,
            samples: Vec::new(),
        })
        .collect();
    let started = Instant::now();
    let mut driving = tokio::spawn(drive(
        client.clone(),
        bases.clone(),
        Load {
            runs: usize::MAX,
            in_flight: 100,
            followers: 10,
            until: Some(started + length),
        },
    ));
    let outcome = loop {
        tokio::select! {
            outcome = &mut driving => break outcome.context("load task")??,
            () = tokio::time::sleep(SAMPLE_EVERY) => {}
        }
        let at = started.elapsed().as_secs();
        for ((_, pid), trace) in deployment.pids().into_iter().zip(traces.iter_mut()) {
            if let Some((rss, fds)) = pid.and_then(sample) {
                trace.samples.push((at, rss, fds));
            }
        }
        note!(
            "    {at} s: {}",
            traces
                .iter()
                .map(|t| {
                    let (_, rss, fds) = t.samples.last().copied().unwrap_or_default();
                    format!("{} {} MiB {} fds", t.name, rss / 1024, fds)
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    figures.wall = started.elapsed();
    figures.crashed = deployment.crashed();
    verify(&client, &bases, &reference, &outcome, &mut figures).await?;
    Ok((figures, traces))
}

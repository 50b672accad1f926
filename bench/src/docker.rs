//! Start overhead of the docker sandbox backend: one `pass` block through
//! `DockerExecutor` (file write, container create + attach + start + wait + inspect +
//! remove; or an `exec` in the run's running container) against a plain
//! `python3 -c pass` with an empty environment. The engine and image come from the same
//! settings as the server's (`CADRE_DOCKER_HOST` / `DOCKER_HOST`, `CADRE_SANDBOX_IMAGE`);
//! without them the rows say "skipped".

use std::time::Instant;

use anyhow::Context;
use cadre_core::executor::{CodeBlock, CodeExecutor, Language};
use cadre_sandbox::{ContainerPer, DockerConfig, DockerExecutor, SandboxConfig};
use tokio_util::sync::CancellationToken;

/// Medians of one mode, milliseconds.
pub struct DockerFigures {
    pub sandboxed_ms: f64,
    pub plain_ms: f64,
    pub engine: String,
}

/// `samples` executions in one workspace with a container per `per`; `Err` with the
/// reason when no engine or image is available.
pub async fn docker_overhead(samples: usize, per: ContainerPer) -> Result<DockerFigures, String> {
    let docker = DockerConfig {
        container_per: per,
        ..DockerConfig::resolve(|name| std::env::var(name).ok())?
    };
    let executor = DockerExecutor::new(SandboxConfig {
        docker,
        ..SandboxConfig::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let engine = executor
        .info()
        .enforced
        .first()
        .cloned()
        .unwrap_or_default();
    measure(&executor, samples)
        .await
        .map(|(sandboxed_ms, plain_ms)| DockerFigures {
            sandboxed_ms,
            plain_ms,
            engine,
        })
        .map_err(|e| format!("{e:#}"))
}

async fn measure(executor: &DockerExecutor, samples: usize) -> anyhow::Result<(f64, f64)> {
    let workspace = executor.open_workspace("bench-docker").await?;
    let block = CodeBlock {
        language: Language::Python,
        code: "pass".into(),
        filename: None,
    };
    let cancel = CancellationToken::new();
    // Warm-up: the first container after the image import, or the run's container start.
    let warm = workspace.execute(&block, &cancel).await?;
    anyhow::ensure!(warm.exit_code == 0, "the warm-up block failed: {warm:?}");
    let mut sandboxed = Vec::with_capacity(samples);
    let mut plain = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        workspace.execute(&block, &cancel).await?;
        sandboxed.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        tokio::process::Command::new("/usr/bin/python3")
            .args(["-c", "pass"])
            .env_clear()
            .status()
            .await
            .context("python3 -c pass")?;
        plain.push(started.elapsed().as_secs_f64() * 1e3);
    }
    workspace.close().await?;
    Ok((median(sandboxed), median(plain)))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(0.0)
}

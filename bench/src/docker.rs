//! Start overhead of the docker sandbox backend: one `pass` block through
//! `DockerExecutor` (file write, container create + attach + start + wait + inspect +
//! remove; or an `exec` in the run's running container) against a plain
//! `python3 -c pass` with an empty environment. The engine and image come from the same
//! settings as the server's (`CADRE_DOCKER_HOST` / `DOCKER_HOST`, `CADRE_SANDBOX_IMAGE`);
//! without them the rows say "skipped".

use cadre_core::executor::CodeExecutor;
use cadre_sandbox::{ContainerPer, DockerConfig, DockerExecutor, SandboxConfig};

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
    crate::engine::start_overhead(&executor, "bench-docker", samples)
        .await
        .map(|(sandboxed_ms, plain_ms)| DockerFigures {
            sandboxed_ms,
            plain_ms,
            engine,
        })
        .map_err(|e| format!("{e:#}"))
}

//! The service commands: `cadre serve` (API + worker + in-process bus in one process,
//! SQLite by default), `cadre api` (the HTTP API alone, for replicas), `cadre worker` (a
//! queue consumer) and `cadre migrate`. SIGTERM or Ctrl-C stops accepting work, hands
//! running runs back to the queue and exits.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use cadre_core::executor::CodeExecutor;
use cadre_server::api::{AppState, router};
use cadre_server::bus::{EventBus, MemoryBus, RedisBus};
use cadre_server::config::ServiceConfig;
use cadre_server::worker::{EnvModels, Worker, WorkerConfig};
use cadre_store::Store;
use tokio_util::sync::CancellationToken;

/// `cadre migrate`.
pub async fn migrate() -> anyhow::Result<ExitCode> {
    let config = ServiceConfig::from_env()?;
    let store = open_store(&config).await?;
    let _ = writeln!(
        std::io::stdout(),
        "migrations applied ({} database)",
        store.backend()
    );
    Ok(ExitCode::SUCCESS)
}

/// `cadre serve` (`with_worker`) or `cadre api`.
pub async fn serve(with_worker: bool) -> anyhow::Result<ExitCode> {
    let config = ServiceConfig::from_env()?;
    let store = open_store(&config).await?;
    let bus = open_bus(&config).await?;
    let mut state = AppState::local(store.clone(), bus.clone())
        .await
        .context("cannot prepare the local user")?;
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    state.shutdown = shutdown.clone();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let worker = with_worker.then(|| {
        let worker = new_worker(&config, store.clone(), bus.clone());
        let shutdown = shutdown.clone();
        tokio::spawn(async move { worker.run(shutdown).await })
    });
    // The address goes to stdout once, so scripts and tests started with port 0 learn it.
    let _ = writeln!(std::io::stdout(), "cadre listening on http://{address}");
    tracing::info!(%address, database = store.backend(), bus = bus.backend(), worker = with_worker, "serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await
        .context("the HTTP server failed")?;
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// `cadre worker`.
pub async fn worker() -> anyhow::Result<ExitCode> {
    let config = ServiceConfig::from_env()?;
    let store = open_store(&config).await?;
    let bus = open_bus(&config).await?;
    let worker = new_worker(&config, store.clone(), bus);
    tracing::info!(
        worker_id = worker.id(),
        database = store.backend(),
        "worker started"
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    worker.run(shutdown).await;
    tracing::info!("worker stopped");
    Ok(ExitCode::SUCCESS)
}

/// Connects to the configured database (creating the data dir for SQLite) and applies
/// migrations.
async fn open_store(config: &ServiceConfig) -> anyhow::Result<Arc<dyn Store>> {
    if config.database_url.starts_with("sqlite:") {
        create_private_dir(&config.data_dir)?;
    }
    cadre_store::connect(&config.database_url)
        .await
        .context("cannot open the database")
}

async fn open_bus(config: &ServiceConfig) -> anyhow::Result<Arc<dyn EventBus>> {
    Ok(match &config.redis_url {
        Some(url) => Arc::new(
            RedisBus::connect(url, "cadre:")
                .await
                .context("cannot connect to Redis")?,
        ),
        None => Arc::new(MemoryBus::new()),
    })
}

fn new_worker(config: &ServiceConfig, store: Arc<dyn Store>, bus: Arc<dyn EventBus>) -> Worker {
    let worker_config = WorkerConfig {
        lease: config.worker_lease,
        heartbeat_every: config.worker_lease / 3,
        concurrency: config.worker_concurrency,
        max_running_per_owner: config.max_running_per_user,
        ..WorkerConfig::default()
    };
    let models = Arc::new(EnvModels {
        demo_delay: config.demo_delay,
    });
    Worker::new(store, bus, models, sandbox(config), worker_config)
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data dir {}", dir.display()))
}

/// The code executor; a worker without a sandbox runs with code execution off and says so.
fn sandbox(config: &ServiceConfig) -> Option<Arc<dyn CodeExecutor>> {
    match cadre_sandbox::from_name(&config.sandbox, cadre_sandbox::SandboxConfig::default()) {
        Ok(executor) => executor,
        Err(error) => {
            tracing::error!(%error, "code execution is off");
            let _ = writeln!(std::io::stderr(), "warning: code execution is off: {error}");
            None
        }
    }
}

/// SIGTERM (from an orchestrator) or Ctrl-C starts a graceful shutdown.
async fn stop_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: handing running runs back");
    shutdown.cancel();
}

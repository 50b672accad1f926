//! The service commands: `cadre serve` (API + worker + in-process bus in one process,
//! SQLite by default), `cadre api` (the HTTP API alone, for replicas), `cadre worker` (a
//! queue consumer) and `cadre migrate`. SIGTERM or Ctrl-C stops accepting work, hands
//! running runs back to the queue and exits.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use cadre_core::executor::CodeExecutor;
use cadre_server::api::limits::Limits;
use cadre_server::api::{AppState, router};
use cadre_server::auth::sealing::SecretBox;
use cadre_server::auth::token::random_secret;
use cadre_server::auth::{AuthConfig, Bootstrap, ensure_admin};
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
    let auth = auth_config(&config)?;
    announce_admin(
        ensure_admin(
            store.as_ref(),
            config.admin_email.as_deref(),
            config.admin_password.as_ref().map(|p| p.0.as_str()),
        )
        .await
        .context("cannot create the first admin")?,
    );
    let mut state = AppState::new(store.clone(), bus.clone(), auth);
    let mut limits = Limits::new(config.runs_per_minute);
    limits.quotas = config.quotas;
    state.limits = Arc::new(limits);
    state.cors_origins = Arc::new(config.cors_origins.clone());
    state.share_server_key = config.share_server_key;
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
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
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

/// Token keys from `CADRE_SECRET_KEY`, else from `<data dir>/secret.key` (created with
/// 256 random bits, readable by the owner only, on first start).
fn auth_config(config: &ServiceConfig) -> anyhow::Result<AuthConfig> {
    let secret = server_secret(config)?;
    let mut auth = AuthConfig::from_secret(secret.as_bytes());
    auth.allow_registration = config.allow_registration;
    Ok(auth)
}

/// The server secret: `CADRE_SECRET_KEY`, else the data dir's key file (created on first
/// use).
pub(crate) fn server_secret(config: &ServiceConfig) -> anyhow::Result<String> {
    match &config.secret_key {
        Some(secret) => Ok(secret.0.clone()),
        None => {
            create_private_dir(&config.data_dir)?;
            let path = config.data_dir.join("secret.key");
            load_or_create_secret(&path)
                .with_context(|| format!("cannot use the key file {}", path.display()))
        }
    }
}

fn load_or_create_secret(path: &std::path::Path) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            let secret = random_secret()?;
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created a new secret key");
            Ok(secret)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = std::fs::read_to_string(path)?.trim().to_string();
            anyhow::ensure!(secret.len() >= 32, "the key file is too short");
            Ok(secret)
        }
        Err(error) => Err(error.into()),
    }
}

/// Tells the operator about a first admin; a generated password is shown here, once,
/// on the terminal (never in the logs).
fn announce_admin(bootstrap: Bootstrap) {
    match bootstrap {
        Bootstrap::Existing => {}
        Bootstrap::Created { email } => tracing::info!(%email, "created the first admin"),
        Bootstrap::Generated { email, password } => {
            tracing::info!(%email, "created the first admin with a generated password");
            let _ = writeln!(
                std::io::stderr(),
                "created the admin account {email}\n  password (shown only this once): {password}\n  change it with `cadre user passwd {email}`"
            );
        }
    }
}

/// Connects to the configured database (creating the data dir for SQLite) and applies
/// migrations.
pub(crate) async fn open_store(config: &ServiceConfig) -> anyhow::Result<Arc<dyn Store>> {
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
        quotas: config.quotas,
        ..WorkerConfig::default()
    };
    let models = Arc::new(EnvModels {
        demo_delay: config.demo_delay,
        share_server_key: config.share_server_key,
    });
    let worker = Worker::new(store, bus, models, sandbox(config), worker_config);
    match server_secret(config) {
        Ok(secret) => worker.with_sealer(SecretBox::from_secret(secret.as_bytes())),
        Err(error) => {
            tracing::warn!(%error, "no server secret: users' stored provider keys are not used");
            worker
        }
    }
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

/// `cadre openapi`: the OpenAPI document on stdout (the web UI's types are generated from
/// it, and `make test` checks they are current).
pub fn print_openapi() -> anyhow::Result<()> {
    use std::io::Write;
    use utoipa::OpenApi;
    let document = cadre_server::api::openapi::ApiDoc::openapi()
        .to_pretty_json()
        .context("cannot serialize the OpenAPI document")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{document}").context("cannot write the OpenAPI document")?;
    Ok(())
}

//! The service commands: `cadre serve` (API + worker + in-process bus in one process,
//! SQLite by default), `cadre api` (the HTTP API alone, for replicas), `cadre worker` (a
//! queue consumer, with `/metrics` and probes on `CADRE_METRICS_BIND` if set),
//! `cadre migrate`, and `cadre healthcheck` (a container health check). SIGTERM or
//! Ctrl-C stops accepting work, hands running runs back to the queue and exits.
//!
//! A thin shim over `cadre_server::startup`, which builds the service; this module reads
//! the settings, tells the operator what start-up did and hooks the signals.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use cadre_core::executor::ExecError;
use cadre_server::api::health::Probes;
use cadre_server::auth::Bootstrap;
use cadre_server::config::ServiceConfig;
use cadre_server::startup::{
    Application, BuiltWorker, Role, build_worker, open_bus, open_store, open_tools, serve_probes,
};
use cadre_server::telemetry::{self, Metrics};
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
    let role = if with_worker { Role::Serve } else { Role::Api };
    let mut application = Application::build(config, role).await?;
    let notices = application.take_notices();
    if let Some(admin) = notices.admin {
        announce_admin(admin);
    }
    if let Some(error) = notices.code_execution_off {
        warn_code_execution_off(&error);
    }
    tokio::spawn(stop_on_signal(application.shutdown_token()));
    // The address goes to stdout once, so scripts and tests started with port 0 learn it.
    let _ = writeln!(
        std::io::stdout(),
        "cadre listening on http://{}",
        application.address()
    );
    application.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// `cadre worker`.
pub async fn worker() -> anyhow::Result<ExitCode> {
    let config = ServiceConfig::from_env()?;
    let metrics = Metrics::new(telemetry::Role::Worker);
    let store = open_store(&config).await?;
    let bus = open_bus(&config, &metrics).await?;
    let tools = open_tools(&config)?;
    let BuiltWorker {
        worker,
        code_execution_off,
        sandbox,
    } = build_worker(&config, store.clone(), bus.clone(), metrics.clone(), tools).await;
    if let Some(error) = code_execution_off {
        warn_code_execution_off(&error);
    }
    let shutdown = CancellationToken::new();
    let probes = Probes {
        store: store.clone(),
        bus,
        sandbox: std::sync::Arc::new(sandbox.clone()),
        metrics,
        metrics_token: config.metrics_token.clone(),
    };
    if let Some(address) = serve_probes(&config, probes, shutdown.clone()).await? {
        // Like `cadre listening on …`: scripts and tests started with port 0 read it.
        let _ = writeln!(
            std::io::stdout(),
            "cadre worker metrics on http://{address}/metrics"
        );
    }
    tracing::info!(
        worker_id = worker.id(),
        database = store.backend(),
        sandbox = %sandbox.backend,
        sandbox_state = ?sandbox.state,
        enforced = ?sandbox.enforced,
        "worker started"
    );
    tokio::spawn(stop_on_signal(shutdown.clone()));
    worker.run(shutdown).await;
    tracing::info!("worker stopped");
    Ok(ExitCode::SUCCESS)
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

/// A worker without a sandbox runs with code execution off and says so.
fn warn_code_execution_off(error: &ExecError) {
    let _ = writeln!(std::io::stderr(), "warning: code execution is off: {error}");
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
    use utoipa::OpenApi;
    let document = cadre_server::api::openapi::ApiDoc::openapi()
        .to_pretty_json()
        .context("cannot serialize the OpenAPI document")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{document}").context("cannot write the OpenAPI document")?;
    Ok(())
}

/// `cadre healthcheck` arguments.
#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// The URL to GET (`http://127.0.0.1:8080/readyz`, `http://127.0.0.1:9464/healthz`).
    pub url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

/// `cadre healthcheck`: 0 when the URL answers 2xx in time, else 1 with the reason on
/// stderr (what a container runtime shows in `docker inspect`).
pub async fn healthcheck(args: HealthcheckArgs) -> ExitCode {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(args.timeout.max(1)))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "unhealthy: {error}");
            return ExitCode::FAILURE;
        }
    };
    match client.get(&args.url).send().await {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            let _ = writeln!(
                std::io::stderr(),
                "unhealthy: {} answered {}",
                args.url,
                response.status()
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}

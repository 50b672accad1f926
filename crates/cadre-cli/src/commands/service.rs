//! The service commands: `cadre serve` (API + worker + in-process bus in one process,
//! SQLite by default), `cadre api` (the HTTP API alone, for replicas), `cadre worker` (a
//! queue consumer) and `cadre migrate`. SIGTERM or Ctrl-C stops accepting work, hands
//! running runs back to the queue and exits.
//!
//! A thin shim over `cadre_server::startup`, which builds the service; this module reads
//! the settings, tells the operator what start-up did and hooks the signals.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use cadre_core::executor::ExecError;
use cadre_server::auth::Bootstrap;
use cadre_server::config::ServiceConfig;
use cadre_server::startup::{Application, BuiltWorker, Role, build_worker, open_bus, open_store};
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
    let store = open_store(&config).await?;
    let bus = open_bus(&config).await?;
    let BuiltWorker {
        worker,
        code_execution_off,
        sandbox,
    } = build_worker(&config, store.clone(), bus);
    if let Some(error) = code_execution_off {
        warn_code_execution_off(&error);
    }
    tracing::info!(
        worker_id = worker.id(),
        database = store.backend(),
        sandbox = %sandbox.backend,
        sandbox_state = ?sandbox.state,
        enforced = ?sandbox.enforced,
        "worker started"
    );
    let shutdown = CancellationToken::new();
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

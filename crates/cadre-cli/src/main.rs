//! # cadre
//!
//! The `cadre` command. `main` only parses arguments, sets up logging and dispatches; each
//! subcommand lives in `commands/`.
//!
//! # Layout
//! - `commands::run`: `cadre run "TASK"`, a team built (or loaded) and run in the terminal.
//! - `commands::team`: `cadre team import|export`, converting team files.
//! - `commands::sandbox`: `cadre sandbox run|check|image build`, the code sandbox for
//!   operators.
//! - `commands::service`: `cadre serve`, `api`, `worker` and `migrate`.
//! - `models`: which [`cadre_core::ChatModel`] a run uses (demo, script, replay, provider).
//! - `render`: the live transcript printer and the `--json` event printer.
//! - `terminal_input`: human answers read from the terminal.
//! - `telemetry`: tracing set-up (human or JSON logs, on stderr).

mod commands;
mod models;
mod render;
mod telemetry;
mod terminal_input;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Cadre: design a team of LLM agents for a task and run it as a group chat.
#[derive(Debug, Parser)]
#[command(name = "cadre", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a team for TASK (or load one) and run it, printing a live transcript.
    Run(Box<commands::run::RunArgs>),
    /// Convert team files between Cadre's format and AutoGen AgentBuilder JSON.
    #[command(subcommand)]
    Team(commands::team::TeamCommand),
    /// Run code in the sandbox (`run`), check which one is in force and that it
    /// isolates (`check`), or build the docker backend's image (`image build`).
    #[command(subcommand)]
    Sandbox(commands::sandbox::SandboxCommand),
    /// Manage accounts: add, list, passwd, disable, enable.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Manage the server secret: rotate.
    #[command(subcommand)]
    Secrets(commands::secrets::SecretsCommand),
    /// Serve the API with a worker and the in-process event bus (SQLite by default).
    Serve,
    /// Serve the API only (replicas sharing PostgreSQL and Redis with `cadre worker`s).
    Api,
    /// Apply database migrations (`CADRE_DATABASE_URL`, default SQLite in the data dir).
    Migrate,
    /// Run a worker: execute queued runs until SIGTERM or Ctrl-C, then hand running ones back.
    Worker,
    /// Print the API's OpenAPI 3.1 document (what `/openapi.json` serves) on stdout.
    Openapi,
    /// Exit 0 if URL answers 2xx within a few seconds, else 1: a container health check
    /// for images without curl (`cadre healthcheck http://127.0.0.1:8080/readyz`).
    Healthcheck(commands::service::HealthcheckArgs),
    /// Write a consistent copy of the SQLite database to FILE while the server runs
    /// (with PostgreSQL: use pg_dump / pg_basebackup).
    Backup(commands::backup::BackupArgs),
    /// Replace the SQLite database with a backup FILE (the server must be stopped; the
    /// current database is kept as `<name>.before-restore`).
    Restore(commands::backup::RestoreArgs),
}

fn main() -> ExitCode {
    // Inside a code sandbox this binary is the init that applies Landlock and becomes
    // the interpreter; it must run before anything else (no runtime, no logging).
    cadre_sandbox::init::run_if_requested();
    let cli = Cli::parse();
    let (default_filter, service) = match &cli.command {
        Command::Run(_) => ("error", "cadre-run"),
        Command::Team(_)
        | Command::Sandbox(_)
        | Command::User(_)
        | Command::Secrets(_)
        | Command::Openapi
        | Command::Healthcheck(_)
        | Command::Backup(_)
        | Command::Restore(_) => ("error", "cadre"),
        Command::Serve => ("info", "cadre-serve"),
        Command::Api => ("info", "cadre-api"),
        Command::Worker => ("info", "cadre-worker"),
        Command::Migrate => ("info", "cadre"),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(&anyhow::Error::new(error).context("cannot start the async runtime"));
        }
    };
    let telemetry = {
        // The trace exporter sends on this runtime.
        let _runtime = runtime.enter();
        telemetry::init(default_filter, service)
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::execute(*args).await,
            Command::Team(command) => commands::team::execute(command).map(|()| ExitCode::SUCCESS),
            Command::Sandbox(command) => commands::sandbox::execute(command).await,
            Command::User(command) => commands::user::execute(command)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Secrets(command) => commands::secrets::execute(command)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Serve => commands::service::serve(true).await,
            Command::Api => commands::service::serve(false).await,
            Command::Migrate => commands::service::migrate().await,
            Command::Worker => commands::service::worker().await,
            Command::Openapi => commands::service::print_openapi().map(|()| ExitCode::SUCCESS),
            Command::Healthcheck(args) => Ok(commands::service::healthcheck(args).await),
            Command::Backup(args) => commands::backup::backup(args)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Restore(args) => commands::backup::restore(args)
                .await
                .map(|()| ExitCode::SUCCESS),
        }
    });
    telemetry.shutdown();
    match result {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

/// Prints the error chain as one line on stderr: users want the reason, not a backtrace.
fn fail(error: &anyhow::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {error:#}");
    ExitCode::from(2)
}

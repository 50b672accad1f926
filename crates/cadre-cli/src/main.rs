//! # cadre
//!
//! The `cadre` command. `main` only parses arguments, sets up logging and dispatches; each
//! subcommand lives in `commands/`.
//!
//! # Layout
//! - `commands::run`: `cadre run "TASK"`, a team built (or loaded) and run in the terminal.
//! - `commands::team`: `cadre team import|export`, converting team files.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(&anyhow::Error::new(error).context("cannot start the async runtime"));
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::execute(*args).await,
            Command::Team(command) => commands::team::execute(command).map(|()| ExitCode::SUCCESS),
        }
    });
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

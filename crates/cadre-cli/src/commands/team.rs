//! `cadre team import|export`: converts between AutoGen AgentBuilder JSON and Cadre's
//! team format. Both read either format, so a file can be normalised in one step.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cadre_core::TeamSpec;
use cadre_core::autogen::{export_autogen, parse_team_file};
use clap::Subcommand;

/// Team file conversions.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Read a team file (AutoGen or Cadre JSON) and write it as a Cadre team.
    Import {
        /// Team file to read.
        file: PathBuf,
        /// Where to write (stdout when absent).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Read a team file (Cadre or AutoGen JSON) and write it as AutoGen AgentBuilder JSON.
    Export {
        /// Team file to read.
        file: PathBuf,
        /// Where to write (stdout when absent).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Runs a team subcommand.
pub fn execute(command: TeamCommand) -> anyhow::Result<()> {
    let (file, output, value) = match command {
        TeamCommand::Import { file, output } => {
            let team = load_team(&file)?;
            let value = serde_json::to_value(&team)?;
            (file, output, value)
        }
        TeamCommand::Export { file, output } => {
            let team = load_team(&file)?;
            (file, output, export_autogen(&team))
        }
    };
    let text = serde_json::to_string_pretty(&value)? + "\n";
    match output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .with_context(|| format!("cannot print {}", file.display()))?,
    }
    Ok(())
}

/// Reads and validates a team file of either format.
pub fn load_team(path: &Path) -> anyhow::Result<TeamSpec> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read team file {}", path.display()))?;
    parse_team_file(&text).with_context(|| format!("invalid team file {}", path.display()))
}

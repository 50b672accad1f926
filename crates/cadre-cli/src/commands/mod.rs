//! One module per `cadre` subcommand.

pub mod run;
pub mod team;

//! One module per `cadre` subcommand.

pub mod backup;
pub mod run;
pub mod sandbox;
pub mod secrets;
pub mod service;
pub mod team;
pub mod user;

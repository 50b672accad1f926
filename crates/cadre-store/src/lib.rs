//! # cadre-store
//!
//! Owns persistence: users, encrypted credentials, teams, runs, events and the durable
//! job queue, for SQLite and PostgreSQL, with migrations per backend. It speaks in
//! `cadre-core` types; SQL never leaves this crate.
//!
//! The crate is a placeholder until the service issue lands: the boundary exists so the
//! dependency direction (core <- store <- server) is fixed from the start.

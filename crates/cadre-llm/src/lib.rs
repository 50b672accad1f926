//! # cadre-llm
//!
//! [`cadre_core::ChatModel`] implementations.
//!
//! # Layout
//! - [`config`]: provider presets (OpenRouter, OpenAI, Ollama, custom) resolved from the
//!   environment and flags into a [`config::LlmConfig`].
//! - [`openai`]: the one OpenAI-compatible streaming client, tolerant of provider dialects,
//!   with retries, timeouts and cancellation.
//! - [`pricing`]: cost of a call from a configurable price table when the provider does
//!   not report it.
//! - [`scripted`]: the scripted model: replays a script or cassette offline.
//! - [`demo`]: the `demo` model: a plausible, deterministic build and conversation for any
//!   task, offline.
//! - [`cassette`]: record/replay of real exchanges.
//! - `fake_server` (feature `fake-server`): a local OpenAI-compatible HTTP server for
//!   tests and benchmarks.

pub mod cassette;
pub mod config;
pub mod demo;
#[cfg(feature = "fake-server")]
pub mod fake_server;
pub mod openai;
pub mod pricing;
pub mod scripted;

pub use config::{ApiKey, LlmConfig, Overrides, Provider};
pub use openai::OpenAiClient;
pub use pricing::{Price, PriceTable};

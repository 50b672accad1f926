//! Which LLM to talk to, and how.
//!
//! This module owns the provider presets (OpenRouter, OpenAI, Ollama, any other
//! OpenAI-compatible server) and their resolution from the environment and command-line
//! overrides into an [`LlmConfig`]. It also owns [`ApiKey`], the only place the key is held
//! in clear: its `Debug` and `Display` are masked so the key never reaches logs or errors.
//!
//! Precedence, highest first: explicit [`Overrides`] (flags) > `CADRE_LLM_BASE_URL` >
//! `CADRE_LLM_PROVIDER` > `OPENROUTER_API_KEY` > `OPENAI_API_KEY`. `CADRE_LLM_MODEL`
//! overrides the provider's default model, `CADRE_LLM_API_KEY` supplies the key of a custom
//! endpoint, and `CADRE_LLM_PRICES` a [`PriceTable`].

use std::fmt;
use std::time::Duration;

use cadre_core::ModelError;
use reqwest::Url;

use crate::pricing::PriceTable;

/// The message users see when nothing is configured.
const NOTHING_CONFIGURED: &str = "no LLM configured: set OPENROUTER_API_KEY (or OPENAI_API_KEY, or CADRE_LLM_BASE_URL for Ollama/vLLM/LM Studio), or try --model demo";

/// Where the model runs. Each preset brings a base URL, a key variable and a default model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// <https://openrouter.ai>: many models behind one key (`OPENROUTER_API_KEY`).
    OpenRouter,
    /// <https://platform.openai.com> (`OPENAI_API_KEY`).
    OpenAi,
    /// A local Ollama server; needs no key.
    Ollama,
    /// Any other OpenAI-compatible server (vLLM, LM Studio, llama.cpp, a proxy…) at
    /// `CADRE_LLM_BASE_URL`, with an optional `CADRE_LLM_API_KEY`.
    Custom,
}

impl Provider {
    /// Parses a `CADRE_LLM_PROVIDER` value (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "openrouter" => Some(Self::OpenRouter),
            "openai" => Some(Self::OpenAi),
            "ollama" => Some(Self::Ollama),
            "custom" => Some(Self::Custom),
            _ => None,
        }
    }

    /// Lower-case name, as accepted by [`Provider::parse`].
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenRouter => "openrouter",
            Self::OpenAi => "openai",
            Self::Ollama => "ollama",
            Self::Custom => "custom",
        }
    }

    /// The preset base URL (`None` for [`Provider::Custom`]).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::OpenRouter => Some("https://openrouter.ai/api/v1"),
            Self::OpenAi => Some("https://api.openai.com/v1"),
            Self::Ollama => Some("http://localhost:11434/v1"),
            Self::Custom => None,
        }
    }

    /// The model used when none is given (`None` for [`Provider::Custom`]: a custom
    /// server's models are unknown).
    pub fn default_model(self) -> Option<&'static str> {
        match self {
            Self::OpenRouter => Some("openai/gpt-4o-mini"),
            Self::OpenAi => Some("gpt-4o-mini"),
            Self::Ollama => Some("llama3.1"),
            Self::Custom => None,
        }
    }

    /// Well-known models offered in pickers before (or without) the provider's own list.
    pub fn presets(self) -> &'static [&'static str] {
        match self {
            Self::OpenRouter => &[
                "openai/gpt-4o-mini",
                "openai/gpt-4o",
                "anthropic/claude-3.5-sonnet",
                "google/gemini-flash-1.5",
                "meta-llama/llama-3.1-70b-instruct",
            ],
            Self::OpenAi => &["gpt-4o-mini", "gpt-4o", "o3-mini"],
            Self::Ollama => &["llama3.1", "qwen2.5-coder"],
            Self::Custom => &[],
        }
    }

    /// The environment variable holding this provider's key, if it has its own.
    pub fn key_var(self) -> Option<&'static str> {
        match self {
            Self::OpenRouter => Some("OPENROUTER_API_KEY"),
            Self::OpenAi => Some("OPENAI_API_KEY"),
            Self::Ollama | Self::Custom => None,
        }
    }

    /// Guesses the provider from a base URL's host, so that a custom base URL pointing at
    /// OpenRouter still gets its headers and key.
    fn from_host(url: &Url) -> Option<Self> {
        match url.host_str()? {
            "openrouter.ai" => Some(Self::OpenRouter),
            "api.openai.com" => Some(Self::OpenAi),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An API key. Its `Debug` and `Display` show at most the last four characters
/// (`…abcd`), and nothing for short keys, so it can sit in structs that get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key in clear, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chars: Vec<char> = self.0.chars().collect();
        // Four characters of a short key would be a large share of it.
        if chars.len() < 16 {
            return f.write_str("[redacted]");
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        write!(f, "…{tail}")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({self})")
    }
}

/// Values given explicitly (command-line flags, a run's settings); they win over the
/// environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Model name, e.g. `anthropic/claude-3.5-sonnet`.
    pub model: Option<String>,
    /// Base URL of an OpenAI-compatible API, e.g. `http://localhost:8000/v1`.
    pub base_url: Option<String>,
}

/// Everything the OpenAI-compatible client needs to reach one model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Which preset this came from (decides extra headers and error hints).
    pub provider: Provider,
    /// Base URL without a trailing slash; requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when present.
    pub api_key: Option<ApiKey>,
    /// Default model for requests that do not name one.
    pub model: String,
    /// Longest wait for the response headers of one attempt.
    pub request_timeout: Duration,
    /// Longest silence between two chunks of a streamed response.
    pub idle_timeout: Duration,
    /// Retries after the first attempt, for rate limits, server errors and transport
    /// failures that happen before any text was streamed.
    pub max_retries: u32,
    /// Backoff before the first retry; it doubles on each later one (with jitter, capped
    /// at 10 s). A server's `Retry-After` takes precedence.
    pub retry_backoff: Duration,
    /// How long rate limits (429) and overloaded servers (503, 529) keep being retried,
    /// beyond `max_retries`: a provider's per-minute limit resets within a minute, and a
    /// multi-agent run should wait it out rather than fail.
    pub rate_limit_budget: Duration,
    /// Headers added to every request (OpenRouter's `HTTP-Referer` and `X-Title`).
    pub extra_headers: Vec<(String, String)>,
    /// Prices for the cost of calls whose provider does not report it.
    pub prices: PriceTable,
}

impl LlmConfig {
    /// Default [`LlmConfig::request_timeout`].
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default [`LlmConfig::idle_timeout`].
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default [`LlmConfig::max_retries`].
    pub const DEFAULT_MAX_RETRIES: u32 = 4;
    /// Default [`LlmConfig::retry_backoff`].
    pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(500);
    /// Default [`LlmConfig::rate_limit_budget`].
    pub const DEFAULT_RATE_LIMIT_BUDGET: Duration = Duration::from_secs(120);

    /// A configuration for `provider` at `base_url` with default timeouts, retries and
    /// headers. Validates and normalizes the URL.
    pub fn new(
        provider: Provider,
        base_url: &str,
        api_key: Option<ApiKey>,
        model: impl Into<String>,
    ) -> Result<Self, ModelError> {
        let url = parse_base_url(base_url)?;
        let model = model.into();
        if model.trim().is_empty() {
            return Err(ModelError::Config("the model name is empty".into()));
        }
        let extra_headers = match provider {
            // OpenRouter attributes traffic to apps by these (optional) headers.
            Provider::OpenRouter => vec![
                (
                    "HTTP-Referer".to_owned(),
                    "https://github.com/cadre-dev/cadre".to_owned(),
                ),
                ("X-Title".to_owned(), "Cadre".to_owned()),
            ],
            _ => Vec::new(),
        };
        Ok(Self {
            provider,
            base_url: url.as_str().trim_end_matches('/').to_owned(),
            api_key,
            model,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_retries: Self::DEFAULT_MAX_RETRIES,
            retry_backoff: Self::DEFAULT_RETRY_BACKOFF,
            rate_limit_budget: Self::DEFAULT_RATE_LIMIT_BUDGET,
            extra_headers,
            prices: PriceTable::default(),
        })
    }

    /// Resolves the configuration from environment variables (read through `env`, so
    /// tests need not touch the process environment) and explicit overrides.
    ///
    /// Empty variables count as unset. Fails with [`ModelError::Config`] when nothing is
    /// configured, when a selected provider lacks its key, when a custom endpoint has no
    /// model, or when a URL or price table is malformed.
    pub fn resolve(
        env: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Self, ModelError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let non_empty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());

        let explicit_provider = match var("CADRE_LLM_PROVIDER") {
            Some(name) => Some(Provider::parse(&name).ok_or_else(|| {
                ModelError::Config(format!(
                    "unknown CADRE_LLM_PROVIDER `{name}` (expected openrouter, openai, ollama or custom)"
                ))
            })?),
            None => None,
        };

        let base_url = non_empty(&overrides.base_url).or_else(|| var("CADRE_LLM_BASE_URL"));
        let (provider, base_url) = match base_url {
            // A given URL always wins; the provider only decides key, headers and default
            // model (so `CADRE_LLM_PROVIDER=ollama` with a remote Ollama URL works).
            Some(url) => {
                let parsed = parse_base_url(&url)?;
                let provider = explicit_provider
                    .or_else(|| Provider::from_host(&parsed))
                    .unwrap_or(Provider::Custom);
                (provider, url)
            }
            None => {
                let provider = match explicit_provider {
                    Some(Provider::Custom) => {
                        return Err(ModelError::Config(
                            "CADRE_LLM_PROVIDER=custom needs CADRE_LLM_BASE_URL (e.g. http://localhost:8000/v1)"
                                .into(),
                        ));
                    }
                    Some(p) => p,
                    None if var("OPENROUTER_API_KEY").is_some() => Provider::OpenRouter,
                    None if var("OPENAI_API_KEY").is_some() => Provider::OpenAi,
                    None => return Err(ModelError::Config(NOTHING_CONFIGURED.into())),
                };
                let url = provider.default_base_url().unwrap_or_default().to_owned();
                (provider, url)
            }
        };

        let api_key = provider
            .key_var()
            .and_then(var)
            .or_else(|| var("CADRE_LLM_API_KEY"))
            .map(ApiKey::new);
        if api_key.is_none() && matches!(provider, Provider::OpenRouter | Provider::OpenAi) {
            let key_var = provider.key_var().unwrap_or("CADRE_LLM_API_KEY");
            return Err(ModelError::Config(format!(
                "the {provider} provider needs an API key: set {key_var}"
            )));
        }

        let model = non_empty(&overrides.model)
            .or_else(|| var("CADRE_LLM_MODEL"))
            .or_else(|| provider.default_model().map(str::to_owned))
            .ok_or_else(|| {
                ModelError::Config(format!(
                    "no model given for the custom endpoint {}: pass --model or set CADRE_LLM_MODEL",
                    display_url(&base_url)
                ))
            })?;

        let mut config = Self::new(provider, &base_url, api_key, model)?;
        let seconds = |name: &str, default: Duration| -> Result<Duration, ModelError> {
            match var(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|secs| *secs > 0)
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        ModelError::Config(format!("{name} must be a number of seconds (> 0)"))
                    }),
            }
        };
        config.request_timeout = seconds("CADRE_LLM_TIMEOUT_SECS", config.request_timeout)?;
        config.idle_timeout = seconds("CADRE_LLM_IDLE_TIMEOUT_SECS", config.idle_timeout)?;
        config.rate_limit_budget =
            seconds("CADRE_LLM_RATE_LIMIT_BUDGET_SECS", config.rate_limit_budget)?;
        if let Some(prices) = var("CADRE_LLM_PRICES") {
            config.prices = PriceTable::from_json(&prices)
                .map_err(|e| ModelError::Config(format!("CADRE_LLM_PRICES: {e}")))?;
        }
        Ok(config)
    }

    /// [`LlmConfig::resolve`] with the process environment.
    pub fn from_env(overrides: &Overrides) -> Result<Self, ModelError> {
        Self::resolve(|name| std::env::var(name).ok(), overrides)
    }

    /// The base URL without credentials, query or fragment: safe for errors and logs.
    pub fn endpoint(&self) -> String {
        display_url(&self.base_url)
    }
}

/// Validates a base URL: http or https, with a host. A trailing `/chat/completions`
/// (a common copy-paste) is removed.
fn parse_base_url(raw: &str) -> Result<Url, ModelError> {
    let trimmed = raw.trim();
    let trimmed = trimmed
        .strip_suffix("/chat/completions")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let bad = |why: String| {
        ModelError::Config(format!(
            "invalid LLM base URL `{}`: {why} (expected e.g. http://localhost:11434/v1)",
            display_url(raw)
        ))
    };
    let url = Url::parse(trimmed).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("unsupported scheme `{}`", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    Ok(url)
}

/// A URL fit for messages: user info, query and fragment removed. Unparseable input is
/// shown only if it cannot hold credentials.
fn display_url(raw: &str) -> String {
    match Url::parse(raw.trim()) {
        Ok(mut url) => {
            // Both setters only fail for URLs that cannot have credentials.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            let shown = url.as_str().trim_end_matches('/');
            // URLs without a host keep any `user:pw@` in their path.
            if shown.contains('@') {
                "[hidden]".to_owned()
            } else {
                shown.to_owned()
            }
        }
        Err(_) if raw.contains('@') || raw.contains('?') => "[hidden]".to_owned(),
        Err(_) => raw.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_is_masked() {
        let key = ApiKey::new("sk-or-v1-0123456789abcdef");
        assert_eq!(format!("{key}"), "…cdef");
        assert_eq!(format!("{key:?}"), "ApiKey(…cdef)");
        let short = ApiKey::new("secret");
        assert_eq!(format!("{short:?}"), "ApiKey([redacted])");
    }

    #[test]
    fn display_url_strips_credentials() {
        assert_eq!(
            display_url("https://user:pw@example.com/v1/?key=x"),
            "https://example.com/v1"
        );
        assert_eq!(display_url("not a url with user:pw@host"), "[hidden]");
    }

    #[test]
    fn base_url_is_validated_and_normalized() {
        let cfg = LlmConfig::new(
            Provider::Custom,
            "http://localhost:8000/v1/chat/completions",
            None,
            "m",
        )
        .unwrap();
        assert_eq!(cfg.base_url, "http://localhost:8000/v1");
        for bad in ["localhost:8000", "ftp://example.com/v1", "not a url", ""] {
            let err = LlmConfig::new(Provider::Custom, bad, None, "m").unwrap_err();
            assert!(
                matches!(&err, ModelError::Config(m) if m.contains("invalid LLM base URL")),
                "{bad}: {err:?}"
            );
        }
    }
}

//! Resolution of the LLM configuration from environment variables and flags.

#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns fail fast too

use std::collections::HashMap;

use cadre_core::ModelError;
use cadre_llm::config::{LlmConfig, Overrides, Provider};

fn resolve(vars: &[(&str, &str)], overrides: &Overrides) -> Result<LlmConfig, ModelError> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    LlmConfig::resolve(|name| env.get(name).cloned(), overrides)
}

fn config_error(result: Result<LlmConfig, ModelError>) -> String {
    match result {
        Err(ModelError::Config(message)) => message,
        other => panic!("expected a Config error, got {other:?}"),
    }
}

const OPENROUTER_KEY: &str = "sk-or-v1-openrouter-0123456789";
const OPENAI_KEY: &str = "sk-openai-0123456789abcdef";

#[test]
fn nothing_configured_says_what_to_do() {
    let message = config_error(resolve(&[], &Overrides::default()));
    assert_eq!(
        message,
        "no LLM configured: set OPENROUTER_API_KEY (or OPENAI_API_KEY, or CADRE_LLM_BASE_URL for Ollama/vLLM/LM Studio), or try --model demo"
    );
    // Empty values count as unset.
    let message = config_error(resolve(
        &[("OPENROUTER_API_KEY", ""), ("CADRE_LLM_BASE_URL", " ")],
        &Overrides::default(),
    ));
    assert!(message.starts_with("no LLM configured"));
}

#[test]
fn openrouter_key_selects_openrouter() {
    let config = resolve(
        &[("OPENROUTER_API_KEY", OPENROUTER_KEY)],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.provider, Provider::OpenRouter);
    assert_eq!(config.base_url, "https://openrouter.ai/api/v1");
    assert_eq!(config.model, "openai/gpt-4o-mini");
    assert_eq!(config.api_key.as_ref().unwrap().expose(), OPENROUTER_KEY);
    assert!(
        config
            .extra_headers
            .iter()
            .any(|(n, _)| n == "HTTP-Referer")
    );
    assert!(
        config
            .extra_headers
            .iter()
            .any(|(n, v)| n == "X-Title" && v == "Cadre")
    );
    assert_eq!(config.max_retries, 4);
    assert_eq!(config.request_timeout.as_secs(), 60);
    assert_eq!(config.idle_timeout.as_secs(), 60);
    assert!(config.prices.is_empty());
    assert!(!format!("{config:?}").contains(OPENROUTER_KEY));
}

#[test]
fn openai_key_selects_openai_but_openrouter_wins() {
    let config = resolve(&[("OPENAI_API_KEY", OPENAI_KEY)], &Overrides::default()).unwrap();
    assert_eq!(config.provider, Provider::OpenAi);
    assert_eq!(config.base_url, "https://api.openai.com/v1");
    assert_eq!(config.model, "gpt-4o-mini");
    assert!(config.extra_headers.is_empty());

    let both = [
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("OPENROUTER_API_KEY", OPENROUTER_KEY),
    ];
    let config = resolve(&both, &Overrides::default()).unwrap();
    assert_eq!(config.provider, Provider::OpenRouter);
}

#[test]
fn explicit_provider_beats_keys() {
    let vars = [
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("OPENROUTER_API_KEY", OPENROUTER_KEY),
        ("CADRE_LLM_PROVIDER", "OpenAI"),
    ];
    let config = resolve(&vars, &Overrides::default()).unwrap();
    assert_eq!(config.provider, Provider::OpenAi);
    assert_eq!(config.api_key.as_ref().unwrap().expose(), OPENAI_KEY);

    let config = resolve(&[("CADRE_LLM_PROVIDER", "ollama")], &Overrides::default()).unwrap();
    assert_eq!(config.provider, Provider::Ollama);
    assert_eq!(config.base_url, "http://localhost:11434/v1");
    assert_eq!(config.model, "llama3.1");
    assert!(config.api_key.is_none());
}

#[test]
fn explicit_provider_without_its_key_is_an_error() {
    let message = config_error(resolve(
        &[
            ("CADRE_LLM_PROVIDER", "openrouter"),
            ("OPENAI_API_KEY", OPENAI_KEY),
        ],
        &Overrides::default(),
    ));
    assert!(message.contains("OPENROUTER_API_KEY"), "{message}");
    let message = config_error(resolve(
        &[("CADRE_LLM_PROVIDER", "bedrock")],
        &Overrides::default(),
    ));
    assert!(message.contains("bedrock"), "{message}");
    let message = config_error(resolve(
        &[("CADRE_LLM_PROVIDER", "custom")],
        &Overrides::default(),
    ));
    assert!(message.contains("CADRE_LLM_BASE_URL"), "{message}");
}

#[test]
fn base_url_beats_provider_and_keys() {
    let vars = [
        ("OPENROUTER_API_KEY", OPENROUTER_KEY),
        ("CADRE_LLM_BASE_URL", "http://localhost:8000/v1/"),
        ("CADRE_LLM_API_KEY", "local-key"),
        ("CADRE_LLM_MODEL", "Qwen/Qwen2.5-7B-Instruct"),
    ];
    let config = resolve(&vars, &Overrides::default()).unwrap();
    assert_eq!(config.provider, Provider::Custom);
    assert_eq!(config.base_url, "http://localhost:8000/v1");
    assert_eq!(config.model, "Qwen/Qwen2.5-7B-Instruct");
    assert_eq!(config.api_key.as_ref().unwrap().expose(), "local-key");
    assert!(config.extra_headers.is_empty());

    // A provider named alongside a base URL keeps the URL but brings its defaults.
    let config = resolve(
        &[
            ("CADRE_LLM_BASE_URL", "http://gpu-box:11434/v1"),
            ("CADRE_LLM_PROVIDER", "ollama"),
        ],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.provider, Provider::Ollama);
    assert_eq!(config.base_url, "http://gpu-box:11434/v1");
    assert_eq!(config.model, "llama3.1");
}

#[test]
fn custom_endpoint_needs_a_model() {
    let message = config_error(resolve(
        &[("CADRE_LLM_BASE_URL", "http://localhost:1234/v1")],
        &Overrides::default(),
    ));
    assert!(message.contains("--model"), "{message}");
    assert!(message.contains("CADRE_LLM_MODEL"), "{message}");
    assert!(message.contains("http://localhost:1234/v1"), "{message}");
}

#[test]
fn overrides_beat_the_environment() {
    let vars = [
        ("OPENROUTER_API_KEY", OPENROUTER_KEY),
        ("CADRE_LLM_MODEL", "env-model"),
        ("CADRE_LLM_BASE_URL", "http://env-host:8000/v1"),
    ];
    let overrides = Overrides {
        model: Some("flag-model".into()),
        base_url: Some("http://flag-host:9000/v1".into()),
    };
    let config = resolve(&vars, &overrides).unwrap();
    assert_eq!(config.model, "flag-model");
    assert_eq!(config.base_url, "http://flag-host:9000/v1");
    assert_eq!(config.provider, Provider::Custom);

    // A base URL pointing at OpenRouter is recognised, with its key and headers.
    let overrides = Overrides {
        model: None,
        base_url: Some("https://openrouter.ai/api/v1".into()),
    };
    let config = resolve(&[("OPENROUTER_API_KEY", OPENROUTER_KEY)], &overrides).unwrap();
    assert_eq!(config.provider, Provider::OpenRouter);
    assert_eq!(config.api_key.as_ref().unwrap().expose(), OPENROUTER_KEY);

    let model_only = Overrides {
        model: Some("anthropic/claude-3.5-sonnet".into()),
        base_url: None,
    };
    let config = resolve(&vars[..2], &model_only).unwrap();
    assert_eq!(config.model, "anthropic/claude-3.5-sonnet");
    assert_eq!(config.provider, Provider::OpenRouter);
}

#[test]
fn malformed_base_urls_are_rejected_without_echoing_credentials() {
    for bad in [
        "localhost:8000/v1",
        "ftp://example.com/v1",
        "http://",
        "not a url",
    ] {
        let message = config_error(resolve(
            &[("CADRE_LLM_BASE_URL", bad), ("CADRE_LLM_MODEL", "m")],
            &Overrides::default(),
        ));
        assert!(message.contains("invalid LLM base URL"), "{bad}: {message}");
    }
    let message = config_error(resolve(
        &[
            ("CADRE_LLM_BASE_URL", "htp:/user:hunter2@ host"),
            ("CADRE_LLM_MODEL", "m"),
        ],
        &Overrides::default(),
    ));
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn prices_come_from_the_environment() {
    let vars = [
        ("OPENAI_API_KEY", OPENAI_KEY),
        (
            "CADRE_LLM_PRICES",
            r#"{"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}}"#,
        ),
    ];
    let config = resolve(&vars, &Overrides::default()).unwrap();
    let price = config.prices.get("gpt-4o-mini").unwrap();
    assert_eq!((price.prompt, price.completion), (0.15, 0.6));

    let message = config_error(resolve(
        &[
            ("OPENAI_API_KEY", OPENAI_KEY),
            ("CADRE_LLM_PRICES", "{oops"),
        ],
        &Overrides::default(),
    ));
    assert!(message.contains("CADRE_LLM_PRICES"), "{message}");
}

#[test]
fn timeouts_and_the_rate_limit_budget_come_from_the_environment() {
    let base = ("OPENROUTER_API_KEY", OPENROUTER_KEY);
    let config = resolve(&[base], &Overrides::default()).unwrap();
    assert_eq!(config.idle_timeout, LlmConfig::DEFAULT_IDLE_TIMEOUT);
    assert_eq!(
        config.rate_limit_budget,
        LlmConfig::DEFAULT_RATE_LIMIT_BUDGET
    );
    let config = resolve(
        &[
            base,
            ("CADRE_LLM_TIMEOUT_SECS", "30"),
            ("CADRE_LLM_IDLE_TIMEOUT_SECS", "5"),
            ("CADRE_LLM_RATE_LIMIT_BUDGET_SECS", "600"),
        ],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.request_timeout, std::time::Duration::from_secs(30));
    assert_eq!(config.idle_timeout, std::time::Duration::from_secs(5));
    assert_eq!(
        config.rate_limit_budget,
        std::time::Duration::from_secs(600)
    );
    for bad in ["0", "soon", "-3"] {
        let message = config_error(resolve(
            &[base, ("CADRE_LLM_IDLE_TIMEOUT_SECS", bad)],
            &Overrides::default(),
        ));
        assert_eq!(
            message,
            "CADRE_LLM_IDLE_TIMEOUT_SECS must be a number of seconds (> 0)"
        );
    }
}

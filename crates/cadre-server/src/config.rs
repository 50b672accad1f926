//! Service configuration (`docs/DESIGN.md` §8) from `CADRE_*` environment variables, each with a
//! safe default for the single-machine case: SQLite in the data dir, no Redis, bound to
//! 127.0.0.1:8080. Values are trimmed; a blank one counts as unset. The model settings
//! (`CADRE_LLM_*`) are read by `cadre_llm::config`, logging (`CADRE_LOG`,
//! `CADRE_LOG_FORMAT`) and trace export (`OTEL_EXPORTER_OTLP_*`) by the binary. `startup` turns a [`ServiceConfig`] into the
//! running service.

use std::path::PathBuf;
use std::time::Duration;

/// Why the configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// A configured secret: compared and cloned like a string, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Settings of `cadre serve`, `cadre api`, `cadre worker` and `cadre migrate` (and of
/// `cadre user` and `cadre secrets`, which work on the same database and secret).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// `CADRE_DATA_DIR`: where the SQLite database and the secret key live, created
    /// readable by its owner only (default `$XDG_DATA_HOME/cadre`, else
    /// `$HOME/.local/share/cadre`).
    pub data_dir: PathBuf,
    /// `CADRE_DATABASE_URL`; default `sqlite://<data dir>/cadre.db`.
    pub database_url: String,
    /// `CADRE_REDIS_URL`: Redis pub/sub between processes; none means in-process.
    pub redis_url: Option<String>,
    /// `CADRE_BIND`: the API's address (default `127.0.0.1:8080`; port 0 takes a free
    /// port, which `cadre serve` and `cadre api` print).
    pub bind: String,
    /// `CADRE_WORKER_LEASE_SECS`: how long a worker's claim on a run lasts without
    /// renewal (default 30 s, at least 2); workers renew every third of it.
    pub worker_lease: Duration,
    /// `CADRE_WORKER_CONCURRENCY`: runs one worker executes at once (default 64, at
    /// least 1).
    pub worker_concurrency: usize,
    /// `CADRE_MAX_RUNNING_PER_USER`: executing runs per user across workers (unset or 0:
    /// unlimited).
    pub max_running_per_user: Option<u32>,
    /// `CADRE_SANDBOX`: code executor (`bwrap`, the default; `docker` or `podman`;
    /// `local-unsafe`; `none`).
    pub sandbox: String,
    /// The docker backend's settings: `CADRE_DOCKER_HOST` (else `DOCKER_HOST`; default
    /// `/var/run/docker.sock`, then Podman's sockets), `CADRE_SANDBOX_IMAGE` (default
    /// `cadre-sandbox:latest`), `CADRE_SANDBOX_RUNTIME` (e.g. `runsc`),
    /// `CADRE_SANDBOX_CONTAINER_PER` (`execution`, the default, or `run`).
    pub docker: cadre_sandbox::DockerConfig,
    /// `CADRE_SANDBOX_CPUS` (default 1): CPU cores an execution may use (bwrap's cgroup,
    /// docker's CPU bandwidth).
    pub sandbox_cpu_cores: f64,
    /// `CADRE_SCRIPTED_DELAY_MS`: time each demo-model answer takes (half of it streaming).
    pub demo_delay: Duration,
    /// `CADRE_SECRET_KEY` (at least 32 characters): keys access tokens and seals users'
    /// stored provider keys. Unset: a random key kept in `<data dir>/secret.key`. Every
    /// API replica and worker needs the same one.
    pub secret_key: Option<Secret>,
    /// `CADRE_ALLOW_REGISTRATION`: anyone may create an account (default false).
    pub allow_registration: bool,
    /// `CADRE_ADMIN_EMAIL`: the admin `cadre serve`/`cadre api` create when no account can
    /// log in yet, i.e. on first start (default `admin@cadre.local`).
    pub admin_email: Option<String>,
    /// `CADRE_ADMIN_PASSWORD`: that admin's password (default: generated and printed
    /// once, on stderr).
    pub admin_password: Option<Secret>,
    /// `CADRE_CORS_ORIGINS`: comma-separated origins allowed to call the API from a
    /// browser (default none: CORS closed).
    pub cors_origins: Vec<String>,
    /// `CADRE_RUNS_PER_MINUTE`: runs one user may create per minute (0: unlimited).
    pub runs_per_minute: u32,
    /// `CADRE_DAILY_TOKENS_PER_USER`, `CADRE_DAILY_USD_PER_USER`: daily quotas (default
    /// unlimited).
    pub quotas: crate::quota::Quotas,
    /// `CADRE_SHARE_SERVER_KEY`: runs of users without a provider key of their own use
    /// the server's (`CADRE_LLM_*`, `OPENROUTER_API_KEY`, …); default true.
    pub share_server_key: bool,
    /// `CADRE_ARTIFACT_MAX_FILE_BYTES` (default 10 MiB) and `CADRE_ARTIFACT_MAX_RUN_BYTES`
    /// (default 50 MiB): how much of the files code writes is kept with its run, per file
    /// and per run; 0 keeps none (they are still listed).
    pub artifacts: crate::worker::ArtifactLimits,
    /// `CADRE_METRICS_TOKEN`: when set, `/metrics` answers only requests bearing it
    /// (`Authorization: Bearer …`); unset, `/metrics` is open like `/healthz`.
    pub metrics_token: Option<Secret>,
    /// `CADRE_METRICS_BIND`: where `cadre worker` serves `/metrics`, `/healthz` and
    /// `/readyz` (unset: no listener; the API serves them on `CADRE_BIND`).
    pub metrics_bind: Option<String>,
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: trace spans carry prompts,
    /// replies, code and its output (default false: content is user data). Exporting is
    /// the binary's (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub trace_content: bool,
    /// `CADRE_MCP_CONFIG`: the operator's MCP servers (an `mcpServers` JSON file), whose
    /// tools agents may call as their teams allow. Unset: no tools.
    pub mcp_config: Option<PathBuf>,
}

impl ServiceConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::resolve(|name| std::env::var(name).ok())
    }

    /// Reads settings through `env` (tests pass a closure instead of mutating the
    /// process environment).
    pub fn resolve(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let number = |name: &str, default: u64| -> Result<u64, ConfigError> {
            match var(name) {
                Some(v) => v
                    .parse()
                    .map_err(|_| ConfigError(format!("{name} must be a whole number, got `{v}`"))),
                None => Ok(default),
            }
        };
        let data_dir = match var("CADRE_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => default_data_dir(&var)?,
        };
        let database_url = var("CADRE_DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("cadre.db").display()));
        let lease = number("CADRE_WORKER_LEASE_SECS", 30)?;
        if lease < 2 {
            return Err(ConfigError(
                "CADRE_WORKER_LEASE_SECS must be at least 2".into(),
            ));
        }
        let max_running = match var("CADRE_MAX_RUNNING_PER_USER") {
            Some(_) => Some(number("CADRE_MAX_RUNNING_PER_USER", 0)? as u32),
            None => None,
        };
        Ok(Self {
            data_dir,
            database_url,
            redis_url: var("CADRE_REDIS_URL"),
            bind: var("CADRE_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            worker_lease: Duration::from_secs(lease),
            worker_concurrency: number("CADRE_WORKER_CONCURRENCY", 64)?.max(1) as usize,
            max_running_per_user: max_running.filter(|&n| n > 0),
            sandbox: var("CADRE_SANDBOX").unwrap_or_else(|| "bwrap".into()),
            docker: cadre_sandbox::DockerConfig::resolve(var).map_err(ConfigError)?,
            sandbox_cpu_cores: cadre_sandbox::cpu_cores_from_env(var).map_err(ConfigError)?,
            demo_delay: Duration::from_millis(number("CADRE_SCRIPTED_DELAY_MS", 0)?),
            secret_key: match var("CADRE_SECRET_KEY") {
                Some(key) if key.len() < 32 => {
                    return Err(ConfigError(
                        "CADRE_SECRET_KEY must be at least 32 characters (e.g. `openssl rand -base64 32`)"
                            .into(),
                    ));
                }
                key => key.map(Secret),
            },
            allow_registration: flag(var("CADRE_ALLOW_REGISTRATION"), "CADRE_ALLOW_REGISTRATION")?,
            admin_email: var("CADRE_ADMIN_EMAIL"),
            admin_password: var("CADRE_ADMIN_PASSWORD").map(Secret),
            cors_origins: var("CADRE_CORS_ORIGINS")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|origin| !origin.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            quotas: crate::quota::Quotas {
                daily_tokens: match var("CADRE_DAILY_TOKENS_PER_USER") {
                    Some(_) => Some(number("CADRE_DAILY_TOKENS_PER_USER", 0)?),
                    None => None,
                },
                daily_usd: match var("CADRE_DAILY_USD_PER_USER") {
                    Some(value) => Some(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|usd| usd.is_finite() && *usd >= 0.0)
                            .ok_or_else(|| {
                                ConfigError(format!(
                                    "CADRE_DAILY_USD_PER_USER must be an amount in USD, got `{value}`"
                                ))
                            })?,
                    ),
                    None => None,
                },
            },
            share_server_key: match var("CADRE_SHARE_SERVER_KEY") {
                None => true,
                value => flag(value, "CADRE_SHARE_SERVER_KEY")?,
            },
            runs_per_minute: u32::try_from(number("CADRE_RUNS_PER_MINUTE", 120)?)
                .map_err(|_| ConfigError("CADRE_RUNS_PER_MINUTE is too large".into()))?,
            artifacts: crate::worker::ArtifactLimits {
                max_file_bytes: number(
                    "CADRE_ARTIFACT_MAX_FILE_BYTES",
                    crate::worker::ArtifactLimits::DEFAULT.max_file_bytes,
                )?,
                max_run_bytes: number(
                    "CADRE_ARTIFACT_MAX_RUN_BYTES",
                    crate::worker::ArtifactLimits::DEFAULT.max_run_bytes,
                )?,
            },
            metrics_token: var("CADRE_METRICS_TOKEN").map(Secret),
            metrics_bind: var("CADRE_METRICS_BIND"),
            trace_content: flag(
                var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"),
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            )?,
            mcp_config: var("CADRE_MCP_CONFIG").map(PathBuf::from),
        })
    }
}

/// A boolean setting: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off` (default false).
fn flag(value: Option<String>, name: &str) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError(format!(
            "{name} must be true or false, got `{other}`"
        ))),
    }
}

/// `$XDG_DATA_HOME/cadre`, else `$HOME/.local/share/cadre`.
fn default_data_dir(var: &impl Fn(&str) -> Option<String>) -> Result<PathBuf, ConfigError> {
    if let Some(xdg) = var("XDG_DATA_HOME") {
        return Ok(PathBuf::from(xdg).join("cadre"));
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/cadre")),
        None => Err(ConfigError(
            "no data directory: set CADRE_DATA_DIR (or HOME)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn defaults_are_the_single_machine_setup() {
        let config = ServiceConfig::resolve(env(&[("HOME", "/home/ada")])).unwrap();
        assert_eq!(
            config.data_dir,
            PathBuf::from("/home/ada/.local/share/cadre")
        );
        assert_eq!(
            config.database_url,
            "sqlite:///home/ada/.local/share/cadre/cadre.db"
        );
        assert_eq!(config.redis_url, None);
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.worker_lease, Duration::from_secs(30));
        assert_eq!(config.max_running_per_user, None);
        assert_eq!(config.secret_key, None);
        assert!(!config.allow_registration);
        assert!(config.cors_origins.is_empty());
        assert_eq!(config.runs_per_minute, 120);
        assert_eq!(config.artifacts.max_file_bytes, 10 * 1024 * 1024);
        assert_eq!(config.artifacts.max_run_bytes, 50 * 1024 * 1024);
    }

    #[test]
    fn artifact_limits_are_configurable() {
        let config = ServiceConfig::resolve(env(&[
            ("HOME", "/h"),
            ("CADRE_ARTIFACT_MAX_FILE_BYTES", "1024"),
            ("CADRE_ARTIFACT_MAX_RUN_BYTES", "0"),
        ]))
        .unwrap();
        assert_eq!(config.artifacts.max_file_bytes, 1024);
        assert!(!config.artifacts.enabled());
        let bad = ServiceConfig::resolve(env(&[
            ("HOME", "/h"),
            ("CADRE_ARTIFACT_MAX_FILE_BYTES", "10MB"),
        ]));
        assert!(bad.unwrap_err().0.contains("CADRE_ARTIFACT_MAX_FILE_BYTES"));
    }

    #[test]
    fn auth_settings() {
        let key = "k".repeat(40);
        let config = ServiceConfig::resolve(env(&[
            ("HOME", "/h"),
            ("CADRE_SECRET_KEY", &key),
            ("CADRE_ALLOW_REGISTRATION", "yes"),
            ("CADRE_ADMIN_PASSWORD", "hunter2-hunter2"),
            (
                "CADRE_CORS_ORIGINS",
                "https://a.example, http://localhost:5173,",
            ),
        ]))
        .unwrap();
        assert_eq!(
            config.cors_origins,
            ["https://a.example", "http://localhost:5173"]
        );
        assert_eq!(config.secret_key, Some(Secret(key)));
        assert!(config.allow_registration);
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{config:?}").contains("kkkk"));
        let short = ServiceConfig::resolve(env(&[("HOME", "/h"), ("CADRE_SECRET_KEY", "short")]));
        assert!(short.unwrap_err().0.contains("at least 32"));
        let bad = ServiceConfig::resolve(env(&[
            ("HOME", "/h"),
            ("CADRE_ALLOW_REGISTRATION", "maybe"),
        ]));
        assert!(bad.is_err());
    }

    #[test]
    fn environment_overrides_and_bad_numbers_are_explained() {
        let config = ServiceConfig::resolve(env(&[
            ("CADRE_DATA_DIR", "/srv/cadre"),
            ("CADRE_DATABASE_URL", "postgres://db/cadre"),
            ("CADRE_REDIS_URL", "redis://cache"),
            ("CADRE_WORKER_LEASE_SECS", "10"),
            ("CADRE_MAX_RUNNING_PER_USER", "2"),
        ]))
        .unwrap();
        assert_eq!(config.database_url, "postgres://db/cadre");
        assert_eq!(config.redis_url.as_deref(), Some("redis://cache"));
        assert_eq!(config.worker_lease, Duration::from_secs(10));
        assert_eq!(config.max_running_per_user, Some(2));
        let err =
            ServiceConfig::resolve(env(&[("HOME", "/h"), ("CADRE_WORKER_LEASE_SECS", "soon")]))
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("CADRE_WORKER_LEASE_SECS must be a whole number")
        );
        assert!(
            ServiceConfig::resolve(env(&[]))
                .unwrap_err()
                .to_string()
                .contains("CADRE_DATA_DIR")
        );
    }
}

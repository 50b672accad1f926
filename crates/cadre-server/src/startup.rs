//! Owns start-up: turning a [`ServiceConfig`] into a running service, the one way the
//! `cadre` binary, the API tests and the benchmarks all take.
//!
//! - [`Application::build`] opens the store (applying migrations) and the bus, builds the
//!   [`AppState`] ([`AppState::from_config`]), binds the listener *before* serving (so
//!   port 0 reports the real port), creates the first admin and, for [`Role::Serve`], a
//!   worker. [`Application::from_listener`] serves a ready-made state instead.
//! - [`Application::run_until_stopped`] serves until the shutdown token fires, finishes
//!   in-flight requests, then waits for its worker to hand its runs back.
//! - [`build_worker`] is `cadre worker`'s start-up, and [`serve_probes`] its optional
//!   `/metrics`, `/healthz`, `/readyz` listener (`CADRE_METRICS_BIND`); [`open_store`]
//!   and [`server_secret`] serve the administrative commands too.
//! - One [`Metrics`] registry per process: `cadre serve`'s API and worker share it.
//!
//! Signals, terminal output and exit codes belong to the binary: what it should tell the
//! operator comes back as [`Notices`].

mod server_secret;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use cadre_core::executor::ExecError;
use cadre_core::tool::ToolBox;
use cadre_store::{Store, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::health::{self, Probes};
use crate::api::limits::Limits;
use crate::api::sandbox_view::SandboxView;
use crate::api::{AppState, router};
use crate::auth::sealing::SecretBox;
use crate::auth::{AuthConfig, Bootstrap, BootstrapError, ensure_admin};
use crate::bus::{BusError, EventBus, MemoryBus, RedisBus, RedisBusConfig};
use crate::config::ServiceConfig;
use crate::telemetry::{self, Metrics};
use crate::worker::{EnvModels, Worker, WorkerConfig};

pub use server_secret::{KeyFileError, create_private_dir, server_secret};

/// Why the service could not start (or stopped serving).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data dir could not be created.
    #[error("cannot create the data dir {}", path.display())]
    DataDir {
        /// The data dir.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The key file could not be read or created.
    #[error("cannot use the key file {}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KeyFileError,
    },
    /// The database could not be opened or migrated.
    #[error("cannot open the database")]
    Store(#[source] StoreError),
    /// Redis could not be reached.
    #[error("cannot connect to Redis")]
    Bus(#[source] BusError),
    /// The first admin could not be created.
    #[error("cannot create the first admin")]
    Admin(#[source] BootstrapError),
    /// The MCP server configuration (`CADRE_MCP_CONFIG`) is unreadable or invalid.
    #[error(transparent)]
    Tools(#[from] cadre_mcp::ConfigError),
    /// The address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address asked for (`CADRE_BIND`).
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bound listener cannot tell its address.
    #[error("cannot read the listener's address")]
    Address(#[source] std::io::Error),
    /// The HTTP server failed while serving.
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
}

/// What one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `cadre serve`: the API and a worker (with the in-process bus unless Redis is
    /// configured).
    Serve,
    /// `cadre api`: the API only (replicas beside `cadre worker`s).
    Api,
}

impl From<Role> for telemetry::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Serve => telemetry::Role::Serve,
            Role::Api => telemetry::Role::Api,
        }
    }
}

/// What start-up did that the operator should be told (on the terminal, not in logs).
#[derive(Debug, Default)]
pub struct Notices {
    /// What became of the first admin; `None` when start-up was not asked to see to it.
    /// A generated password is in here, to be shown once.
    pub admin: Option<Bootstrap>,
    /// Why code execution is off: the configured sandbox is unusable (already logged).
    pub code_execution_off: Option<ExecError>,
}

/// A worker built from the settings, and why its code execution is off if it is.
#[derive(Clone)]
pub struct BuiltWorker {
    /// The worker, ready to [`Worker::run`].
    pub worker: Worker,
    /// The configured sandbox is unusable (already logged): the worker runs without one.
    pub code_execution_off: Option<ExecError>,
    /// The sandbox the worker runs code in, as the API reports it.
    pub sandbox: SandboxView,
}

impl std::fmt::Debug for BuiltWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltWorker")
            .field("worker", &self.worker.id())
            .field("code_execution_off", &self.code_execution_off)
            .finish()
    }
}

/// A bound, not yet serving, service.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    address: SocketAddr,
    worker: Option<Worker>,
    notices: Notices,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the notices: they may hold a generated password.
        f.debug_struct("Application")
            .field("address", &self.address)
            .field("state", &self.state)
            .field("worker", &self.worker.as_ref().map(Worker::id))
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens everything `config` names and binds `config.bind`; for [`Role::Serve`] also
    /// builds the worker. Nothing is served until [`Application::run_until_stopped`].
    pub async fn build(config: ServiceConfig, role: Role) -> Result<Self, StartupError> {
        let metrics = Metrics::new(role.into());
        let store = open_store(&config).await?;
        let bus = open_bus(&config, &metrics).await?;
        let mut state = AppState::from_config(&config, store.clone(), bus.clone())?;
        state.metrics = metrics.clone();
        let tools = open_tools(&config)?;
        state.tools = tools.clone();
        let listener = bind(&config.bind).await?;
        // After binding: a start that fails to bind creates no admin whose generated
        // password nobody would see.
        let admin = ensure_admin(
            store.as_ref(),
            config.admin_email.as_deref(),
            config.admin_password.as_ref().map(|p| p.0.as_str()),
        )
        .await
        .map_err(StartupError::Admin)?;
        let mut application = Self::from_listener(state, listener)?;
        application.notices.admin = Some(admin);
        if role == Role::Serve {
            let built = build_worker(&config, store, bus, metrics, tools).await;
            application.state.sandbox = Arc::new(built.sandbox.clone());
            application.worker = Some(built.worker);
            application.notices.code_execution_off = built.code_execution_off;
        }
        Ok(application)
    }

    /// Serves `state` on `listener` (the API only): what [`Application::build`] does once
    /// everything is open, for callers that assemble the state themselves (tests,
    /// benchmarks).
    pub fn from_listener(state: AppState, listener: TcpListener) -> Result<Self, StartupError> {
        let address = listener.local_addr().map_err(StartupError::Address)?;
        Ok(Self {
            state,
            listener,
            address,
            worker: None,
            notices: Notices::default(),
        })
    }

    /// The address actually bound (with the real port when `CADRE_BIND` asked for 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The token that stops the service: cancel it (on SIGTERM, say) and
    /// [`Application::run_until_stopped`] returns once requests and the worker are done.
    /// It is the state's [`AppState::shutdown`], so open event streams end too.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// What the operator should be told; taken once (a generated password is not kept).
    pub fn take_notices(&mut self) -> Notices {
        std::mem::take(&mut self.notices)
    }

    /// Serves until the shutdown token fires (in-flight requests finish), then waits for
    /// the worker, if any, to hand its running runs back.
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let shutdown = self.state.shutdown.clone();
        tracing::info!(
            address = %self.address,
            database = self.state.store.backend(),
            bus = self.state.bus.backend(),
            worker = self.worker.is_some(),
            "serving"
        );
        let worker = self.worker.map(|worker| {
            let shutdown = shutdown.clone();
            tokio::spawn(async move { worker.run(shutdown).await })
        });
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(StartupError::Serve)?;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

impl AppState {
    /// The state `config` describes, over `store` and `bus`: token keys from the server
    /// secret ([`server_secret`]), registration, rate limits and quotas, CORS origins,
    /// and whether the server's provider key is shared.
    pub fn from_config(
        config: &ServiceConfig,
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
    ) -> Result<Self, StartupError> {
        let secret = server_secret(config)?;
        let mut auth = AuthConfig::from_secret(secret.as_bytes());
        auth.allow_registration = config.allow_registration;
        let mut state = AppState::new(store, bus, auth);
        let mut limits = Limits::new(config.runs_per_minute);
        limits.quotas = config.quotas;
        state.limits = Arc::new(limits);
        state.cors_origins = Arc::new(config.cors_origins.clone());
        state.share_server_key = config.share_server_key;
        state.sandbox = Arc::new(SandboxView::on_workers(&config.sandbox));
        state.metrics_token = config.metrics_token.clone();
        Ok(state)
    }
}

/// Connects to the configured database (creating the data dir for SQLite) and applies
/// migrations.
pub async fn open_store(config: &ServiceConfig) -> Result<Arc<dyn Store>, StartupError> {
    if config.database_url.starts_with("sqlite:") {
        create_private_dir(&config.data_dir)?;
    }
    cadre_store::connect(&config.database_url)
        .await
        .map_err(StartupError::Store)
}

/// Redis pub/sub when `CADRE_REDIS_URL` is set, else the in-process bus; its
/// reconnections count in `metrics`.
pub async fn open_bus(
    config: &ServiceConfig,
    metrics: &Metrics,
) -> Result<Arc<dyn EventBus>, StartupError> {
    let bus: Arc<dyn EventBus> = match &config.redis_url {
        Some(url) => Arc::new(
            RedisBus::connect_with(
                url,
                RedisBusConfig {
                    reconnects: metrics.bus_reconnects_of("redis"),
                    ..RedisBusConfig::new("cadre:")
                },
            )
            .await
            .map_err(StartupError::Bus)?,
        ),
        None => Arc::new(MemoryBus::new()),
    };
    metrics.bus_opened(bus.backend());
    Ok(bus)
}

/// The operator's MCP servers (`CADRE_MCP_CONFIG`) as a toolbox; `None` when unset.
/// The file is read and checked now, so a mistake stops the start; the servers
/// themselves are started on first use.
pub fn open_tools(config: &ServiceConfig) -> Result<Option<Arc<dyn ToolBox>>, StartupError> {
    let Some(path) = &config.mcp_config else {
        return Ok(None);
    };
    let mcp = cadre_mcp::McpConfig::load(path)?;
    let toolbox = cadre_mcp::McpToolBox::new(mcp);
    tracing::info!(servers = ?toolbox.server_names(), "MCP servers configured");
    Ok(Some(Arc::new(toolbox)))
}

/// A worker as `config` describes it: lease, concurrency, per-user running limit and
/// quotas; models from the environment; the configured sandbox (or none, with the reason);
/// users' stored provider keys opened with the server secret (without one they are not
/// used, and a warning says so); the MCP `tools`, if any. It records into `metrics`.
pub async fn build_worker(
    config: &ServiceConfig,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    metrics: Arc<Metrics>,
    tools: Option<Arc<dyn ToolBox>>,
) -> BuiltWorker {
    let worker_config = WorkerConfig {
        lease: config.worker_lease,
        heartbeat_every: config.worker_lease / 3,
        concurrency: config.worker_concurrency,
        max_running_per_owner: config.max_running_per_user,
        quotas: config.quotas,
        artifacts: config.artifacts,
        ..WorkerConfig::default()
    };
    let models = Arc::new(EnvModels {
        demo_delay: config.demo_delay,
        share_server_key: config.share_server_key,
    });
    let sandbox = cadre_sandbox::SandboxConfig {
        docker: config.docker.clone(),
        cpu_cores: config.sandbox_cpu_cores,
        ..cadre_sandbox::SandboxConfig::default()
    };
    let (executor, code_execution_off) =
        match cadre_sandbox::from_name(&config.sandbox, sandbox).await {
            Ok(executor) => (executor, None),
            Err(error) => {
                tracing::error!(%error, "code execution is off");
                (None, Some(error))
            }
        };
    let sandbox = match (&executor, &code_execution_off) {
        (Some(executor), _) => SandboxView::active(executor.info()),
        (None, error) => SandboxView::off(&config.sandbox, error.as_ref().map(ToString::to_string)),
    };
    let mut worker = Worker::new(store, bus, models, executor, worker_config)
        .with_telemetry(metrics, config.trace_content);
    if let Some(tools) = tools {
        worker = worker.with_tools(tools);
    }
    let worker = match server_secret(config) {
        Ok(secret) => worker.with_sealer(SecretBox::from_secret(secret.as_bytes())),
        Err(error) => {
            tracing::warn!(%error, "no server secret: users' stored provider keys are not used");
            worker
        }
    };
    BuiltWorker {
        worker,
        code_execution_off,
        sandbox,
    }
}

/// `cadre worker`'s probe listener: `/metrics`, `/healthz` and `/readyz` on
/// `CADRE_METRICS_BIND` until `shutdown` fires. `Ok(None)` when no address is set; the
/// bound address otherwise (port 0 takes a free port), with the server running.
pub async fn serve_probes(
    config: &ServiceConfig,
    probes: Probes,
    shutdown: CancellationToken,
) -> Result<Option<SocketAddr>, StartupError> {
    let Some(address) = &config.metrics_bind else {
        return Ok(None);
    };
    let listener = bind(address).await?;
    let bound = listener.local_addr().map_err(StartupError::Address)?;
    let app = health::router().with_state(probes);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the probe listener failed");
        }
    });
    Ok(Some(bound))
}

/// Connections the kernel may hold for a listener before `accept` (it caps this at
/// `net.core.somaxconn`). Tokio's default, 1024, overflowed when thousands of stream
/// clients connected at once (all of them reconnecting after an API restart, say): the
/// kernel dropped the handshakes it had no room for and the clients waited out TCP's
/// retransmission timeouts, a second and more.
pub const LISTEN_BACKLOG: u32 = 8192;

/// Listens on `address` (`host:port`; port 0 takes a free one) with [`LISTEN_BACKLOG`].
pub async fn bind(address: &str) -> Result<TcpListener, StartupError> {
    let failed = |source: std::io::Error| StartupError::Bind {
        address: address.to_string(),
        source,
    };
    let mut last = None;
    for resolved in tokio::net::lookup_host(address).await.map_err(failed)? {
        let socket = match resolved {
            std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .map_err(failed)?;
        // As std's and tokio's own bind do on Unix: a restarted server can take its port
        // back while the old connections sit in TIME_WAIT.
        socket.set_reuseaddr(true).map_err(failed)?;
        match socket
            .bind(resolved)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(error) => last = Some(error),
        }
    }
    Err(failed(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    })))
}

//! `blastwall serve`: one process, one compiled module, several front doors.
//!
//! - `POST /v1/decide`: a facts document in, the decision JSON (`eval --format json`) out.
//! - `POST /v1/admission`: a Kubernetes `AdmissionReview` in, an `AdmissionReview` out.
//! - `/v1/envoy/…` (any method): Envoy's HTTP ext_authz service; and, on its own address,
//!   the gRPC `envoy.service.auth.v3.Authorization/Check`.
//! - `POST /v1/hooks/<agent>`: a coding agent's HTTP hook, answered as `blastwall hook` does.
//! - `GET /healthz`, `GET /metrics` (Prometheus text).
//!
//! Every front door fails closed **in its client's terms**: an error on the way — a body that
//! is not JSON or is too large, a review of another API version, a limit reached in the module,
//! a panic — is a deny that client understands (an `AdmissionReview` with `allowed: false`, a
//! 403 or `PERMISSION_DENIED` for Envoy, a deny answer for an agent), never a 5xx a client
//! might be configured to let through. `docs/serve.md` is the reference.
//!
//! The module is compiled once, off the request path, and decided in the runtime's pooled
//! instances, which the worker threads reuse. A reload (SIGHUP, a changed rules or module
//! file, [`Server::reload`]) builds a new module beside the old one and swaps it in whole; one
//! that fails to build leaves the old one serving, and is reported.

mod admission;
mod envoy;
mod grpc;
mod http;
mod log;
mod metrics;
mod policy;
mod shadow;
mod time;
mod tls;
mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use envoy::{HttpCall, request_facts as envoy_request_facts};
pub use webhook::{WebhookOptions, webhook_config};

/// Where the server's policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The shipped rules.
    Shipped,
    /// Policy files or folders of `.bw` files, compiled at start and at each reload.
    Rules(Vec<PathBuf>),
    /// A module written by `blastwall build`: WebAssembly, validated and compiled here.
    Module(PathBuf),
}

/// Where decisions are logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// The HTTP address; `127.0.0.1:8181` by default (port 0 picks a free port).
    pub addr: SocketAddr,
    /// The gRPC ext_authz address, when the gRPC service is wanted.
    pub grpc_addr: Option<SocketAddr>,
    /// The policy.
    pub policy: PolicySource,
    /// The configuration file (`blastwall.toml`): parameters, and how the adapters tell
    /// production; the defaults when `None`.
    pub config: Option<PathBuf>,
    /// A topology file kept in every instance, for decisions whose facts have none.
    pub topology: Option<PathBuf>,
    /// A PEM certificate chain and private key: the HTTP front doors then speak only TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where decisions are logged, as JSON lines; nowhere when `None`.
    pub decision_log: Option<LogTarget>,
    /// How many log entries may wait for the writer; past that, entries are dropped and
    /// counted (`blastwall_decision_log_dropped_total`), never waited for.
    pub log_queue: usize,
    /// About the most memory the queued entries may hold (an entry keeps its facts until it
    /// is written, at about eight times the request's size); past that, entries are dropped
    /// and counted too.
    pub log_queue_bytes: usize,
    /// Rules decided and logged, never enforced.
    pub shadow: Vec<String>,
    /// The largest request body read; a larger one is denied unread.
    pub max_body_bytes: usize,
    /// The limits of each decision in the module.
    pub limits: blastwall::EvalLimits,
    /// How often the policy, configuration and topology files are checked for changes;
    /// `None` reloads on SIGHUP and [`Server::reload`] only.
    pub watch: Option<Duration>,
    /// How long shutdown waits for requests in flight.
    pub drain: Duration,
    /// Tool names an agent hook may call besides the agent's own (as `hook --allow-tool`).
    pub allow_tools: Vec<String>,
}

/// The default HTTP address.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8181);

/// The default body limit: 8 MiB, above the 3 MiB the Kubernetes API accepts for an object
/// (an `AdmissionReview` carries two).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 << 20;

impl Default for Options {
    fn default() -> Options {
        Options {
            addr: DEFAULT_ADDR,
            grpc_addr: None,
            policy: PolicySource::Shipped,
            config: None,
            topology: None,
            tls: None,
            decision_log: None,
            log_queue: 65_536,
            log_queue_bytes: 64 << 20,
            shadow: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            limits: blastwall::EvalLimits {
                // A webhook's whole budget is a few seconds; a decision is microseconds.
                time: Duration::from_millis(500),
                fuel: None,
                memory_bytes: 64 << 20,
            },
            watch: Some(Duration::from_secs(1)),
            drain: Duration::from_secs(25),
            allow_tools: Vec::new(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// An address could not be bound.
    #[error("cannot listen on `{addr}`: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        error: std::io::Error,
    },
    /// The policy, its configuration or topology could not be loaded.
    #[error("{0}")]
    Policy(String),
    /// The TLS certificate or key could not be used.
    #[error("tls: {0}")]
    Tls(String),
    /// The decision log could not be opened.
    #[error("decision log: {0}")]
    Log(String),
    /// The async runtime could not start.
    #[error("cannot start the server's threads: {0}")]
    Runtime(std::io::Error),
}

/// What every request handler shares.
pub(crate) struct Shared {
    pub(crate) policy: policy::Current,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) log: log::DecisionLog,
    pub(crate) max_body_bytes: usize,
    pub(crate) allow_tools: Vec<String>,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    http_addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    watcher: Option<policy::Watcher>,
    drain: Duration,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Server {
    /// Loads the policy, binds the addresses and starts serving, on the current tokio
    /// runtime. The policy is built before anything is answered, so a server that started
    /// is ready.
    pub async fn start(opts: Options) -> Result<Server, ServeError> {
        let http = tokio::net::TcpListener::bind(opts.addr)
            .await
            .map_err(|error| ServeError::Bind {
                addr: opts.addr,
                error,
            })?;
        let http_addr = http.local_addr().map_err(|error| ServeError::Bind {
            addr: opts.addr,
            error,
        })?;
        let grpc = match opts.grpc_addr {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|error| ServeError::Bind { addr, error })?,
            ),
            None => None,
        };
        let grpc_addr = match &grpc {
            Some(l) => Some(l.local_addr().map_err(|error| ServeError::Bind {
                addr: http_addr,
                error,
            })?),
            None => None,
        };
        let tls = match &opts.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key).map_err(ServeError::Tls)?),
            None => None,
        };

        let builder = policy::Builder::new(&opts).map_err(ServeError::Policy)?;
        let loaded = policy::build_off_thread(builder.clone())
            .await
            .map_err(ServeError::Policy)?;
        let metrics = metrics::Metrics::default();
        metrics.set_module(&loaded.digest);
        let log = log::DecisionLog::open(
            opts.decision_log.as_ref(),
            opts.log_queue,
            opts.log_queue_bytes,
        )
        .map_err(ServeError::Log)?;
        let shared = Arc::new(Shared {
            policy: policy::Current::new(loaded, builder),
            metrics,
            log,
            max_body_bytes: opts.max_body_bytes,
            allow_tools: opts.allow_tools.clone(),
        });

        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = vec![tokio::spawn(http::serve(
            http,
            tls,
            shared.clone(),
            stopped.clone(),
            opts.drain,
        ))];
        if let Some(listener) = grpc {
            tasks.push(tokio::spawn(grpc::serve(
                listener,
                shared.clone(),
                stopped.clone(),
            )));
        }
        let watcher = opts
            .watch
            .map(|every| policy::Watcher::start(shared.clone(), every));
        Ok(Server {
            http_addr,
            grpc_addr,
            shared,
            stop,
            tasks,
            watcher,
            drain: opts.drain,
        })
    }

    /// The HTTP address it listens on.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The gRPC address it listens on, when it serves gRPC.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// Builds the policy again from its files and swaps it in; on failure the old module
    /// keeps serving and the error is returned (and counted). Returns the new module's digest.
    pub async fn reload(&self) -> Result<String, String> {
        policy::reload(&self.shared).await
    }

    /// The digest of the module serving now.
    pub fn module_digest(&self) -> String {
        self.shared.policy.get().digest.clone()
    }

    /// The metrics, in the Prometheus text format `/metrics` serves.
    pub fn metrics_text(&self) -> String {
        http::metrics_text(&self.shared)
    }

    /// Stops accepting, lets requests in flight finish (up to the drain time), then flushes
    /// the decision log.
    pub async fn shutdown(mut self) {
        if let Some(w) = self.watcher.take() {
            w.stop();
        }
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        // Each task drains within `drain`; this bound is for a task that does not.
        let _ = tokio::time::timeout(self.drain + Duration::from_secs(5), all).await;
        let dropped = self.shared.log.close();
        if dropped > 0 {
            eprintln!("blastwall serve: {dropped} decision-log entries were dropped");
        }
    }
}

/// Serves until SIGINT or SIGTERM, reloading on SIGHUP: what `blastwall serve` runs. Startup
/// and reload messages go to standard error.
pub fn run(opts: Options) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Decisions run on the workers; a generous stack keeps deep facts a limit error
        // rather than an overflow.
        .thread_stack_size(16 << 20)
        .thread_name("blastwall-serve")
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let server = Server::start(opts).await?;
        eprintln!(
            "blastwall serve: module {} on http{}://{}{}",
            short(&server.module_digest()),
            if server.shared.policy.tls_hint() {
                "s"
            } else {
                ""
            },
            server.http_addr(),
            server
                .grpc_addr()
                .map(|a| format!(", ext_authz gRPC on {a}"))
                .unwrap_or_default()
        );
        wait_for_signals(&server).await;
        eprintln!("blastwall serve: shutting down, draining requests in flight");
        server.shutdown().await;
        Ok(())
    })
}

/// The first 12 characters of a digest, for messages.
pub(crate) fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

#[cfg(unix)]
async fn wait_for_signals(server: &Server) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("blastwall serve: cannot listen for signals; stop it with its process");
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                // `reload` reports its outcome itself.
                let _ = server.reload().await;
            }
            _ = term.recv() => return,
            _ = int.recv() => return,
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(_server: &Server) {
    let _ = tokio::signal::ctrl_c().await;
}

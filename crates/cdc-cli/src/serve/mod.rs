//! The HTTP endpoint of `cdc run` (off unless `settings.http.listen` or `--listen`):
//! `GET /metrics` (Prometheus text), `GET /health/live`, `GET /health/ready` and
//! `GET /status` (the JSON of `cdc status --output json`, live), behind an optional bearer
//! token.
//!
//! It binds before the sources start (a port in use fails the run at once) and answers from
//! then on: readiness says `starting` until every source is up, `stopping` once the run ends.

mod auth;
mod health;
pub mod metrics;
mod router;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cdc::core::secret::Secret;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ConfigFile;
use crate::error::CliError;
use crate::run::Running;

/// How long one source's status may take when a request needs it: probes and scrapes have
/// timeouts of their own, a few seconds.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

/// How often the recorder's histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// What the endpoint is asked to be.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Where to listen (checked: loopback, or remote allowed).
    pub listen: SocketAddr,
    /// The bearer token every request must carry, when set.
    pub token: Option<Secret>,
}

/// What the endpoint shows: the run, as it goes.
pub struct Live {
    cfg: ConfigFile,
    status_path: PathBuf,
    addr: SocketAddr,
    sources: OnceLock<Arc<Vec<Running>>>,
    stopping: AtomicBool,
}

impl Live {
    /// The sources, once all started.
    pub fn started(&self, sources: Arc<Vec<Running>>) {
        let _ = self.sources.set(sources);
    }

    /// The run is ending: not ready any more.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The address the endpoint listens on (port 0 resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The running endpoint.
pub struct Server {
    live: Arc<Live>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    upkeep: JoinHandle<()>,
}

impl Server {
    /// Binds `opts.listen`, installs the metrics recorder and serves; prints the bound
    /// address on stderr (`cdc: http endpoint on http://127.0.0.1:9464`).
    pub async fn start(
        opts: &HttpOptions,
        cfg: &ConfigFile,
        status_path: PathBuf,
    ) -> Result<Self, CliError> {
        let listener = TcpListener::bind(opts.listen).await.map_err(|e| {
            CliError::Runtime(format!(
                "cannot listen on {} (settings.http.listen / --listen): {e}",
                opts.listen
            ))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::Runtime(format!("cannot read the bound address: {e}")))?;
        let prometheus: PrometheusHandle = metrics::install().map_err(CliError::Runtime)?;
        let live = Arc::new(Live {
            cfg: cfg.clone(),
            status_path,
            addr,
            sources: OnceLock::new(),
            stopping: AtomicBool::new(false),
        });
        // Histogram samples wait in the recorder until upkeep folds them into their buckets:
        // without it (and no scrape) they would pile up for the whole run.
        let upkeep_handle = prometheus.clone();
        let upkeep = tokio::spawn(async move {
            loop {
                tokio::time::sleep(UPKEEP_EVERY).await;
                upkeep_handle.run_upkeep();
            }
        });
        let app = router::router(router::AppState {
            live: Arc::clone(&live),
            token: opts.token.clone().map(Arc::new),
            prometheus,
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serving.await {
                tracing::warn!(error = %e, "the HTTP endpoint stopped");
            }
        });
        let auth = if opts.token.is_some() {
            ", bearer token required"
        } else {
            ""
        };
        eprintln!(
            "cdc: http endpoint on http://{addr} (/metrics, /health/live, /health/ready, /status{auth})"
        );
        Ok(Self {
            live,
            stop,
            task,
            upkeep,
        })
    }

    /// What the endpoint shows.
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// Stops serving: requests under way get a moment to finish.
    pub async fn stop(self) {
        self.upkeep.abort();
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

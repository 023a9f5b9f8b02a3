//! edgeward-aggregator: the central aggregator as a library; `main.rs` only wires it to the
//! process.
//!
//! Start-up order, driven by `main` through [`edgeward_runtime::exit`]: [`cli::read`] →
//! [`config::load`] (exit 64 on error) → logging → [`run`] until SIGTERM or SIGINT.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod alerting;
pub mod analysis;
pub mod cli;
pub mod config;
pub mod http;
pub mod ingest;
pub mod monitor;
pub mod policy;
mod services;
pub mod store;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

pub use config::Config;

use crate::http::AppState;
use crate::ingest::{Ingest, Tokens, TokensError};
use crate::store::{SledStore, StoreError, StoreOptions};

/// Subdirectory of `data_dir` holding the embedded store.
pub const STORE_DIR: &str = "store";

/// Why the aggregator stopped other than by a shutdown signal.
#[derive(Debug, Error)]
pub enum RunError {
    /// The listen address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The configured `listen` address.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The bound socket's address could not be read back.
    #[error("cannot read the bound address of {addr}")]
    LocalAddr {
        /// The configured `listen` address.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The data directory could not be created.
    #[error("cannot create data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The embedded store could not be opened; central data is never deleted automatically.
    #[error("cannot open the store")]
    Store(#[source] StoreError),
    /// The tokens file is unreadable or has a bad line.
    #[error(transparent)]
    Tokens(#[from] TokensError),
    /// The TLS certificate, key or client CA is unusable.
    #[error("TLS configuration")]
    Tls(#[from] http::serve::TlsError),
    /// The HTTP server failed while serving.
    #[error("HTTP server failed")]
    Serve(#[source] io::Error),
}

/// An aggregator with its store open and its socket bound, not yet serving.
pub struct Bound {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: AppState,
    local_addr: SocketAddr,
    services: services::Services,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Bound {
    /// The address actually bound (differs from the configured one when its port is 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The store this aggregator writes to.
    pub fn store(&self) -> Arc<dyn store::Store> {
        Arc::clone(&self.state.store)
    }

    /// The live analysis.
    pub fn monitor(&self) -> Arc<monitor::Monitor> {
        Arc::clone(&self.state.monitor)
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests. The analysis,
    /// policy reloader and alert push run beside the HTTP server and stop with it.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), RunError> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let tasks = self.services.spawn(&self.state, stop_rx);
        let router = http::router(self.state);
        let served = http::serve::serve(self.listener, self.tls, router, shutdown).await;
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        served.map_err(RunError::Serve)?;
        info!("Aggregator stopped");
        Ok(())
    }
}

/// Binds `config.listen`, then opens the store and loads credentials and TLS.
///
/// Logs `Listening` with the address actually bound and the scheme.
pub async fn bind(config: &Config) -> Result<Bound, RunError> {
    // The socket first: a taken port fails fast, before the store is opened.
    let addr = config.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| RunError::LocalAddr { addr, source })?;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| RunError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let history_per_node = u32::try_from(config.history_per_node)
        .ok()
        .and_then(std::num::NonZeroU32::new)
        .unwrap_or(std::num::NonZeroU32::MAX);
    let options = StoreOptions {
        history_per_node,
        ..StoreOptions::default()
    };
    let store_dir = config.data_dir.join(STORE_DIR);
    let store = tokio::task::spawn_blocking(move || SledStore::open(&store_dir, options))
        .await
        .map_err(|e| RunError::Serve(io::Error::other(e)))?
        .map_err(RunError::Store)?;
    let store: Arc<dyn store::Store> = Arc::new(store);
    let tokens = match &config.tokens_file {
        Some(path) => Tokens::load(path)?,
        None => Tokens::default(),
    };
    let tls = config.tls.as_ref().map(http::serve::acceptor).transpose()?;
    if tls.is_none() {
        warn!("No [tls] configured: serving plain HTTP; put a TLS-terminating proxy in front");
    }
    let max_batch_bytes = usize::try_from(config.max_batch_bytes).unwrap_or(usize::MAX);
    let (policy_tx, policy_rx) = tokio::sync::watch::channel(Arc::new(config.policy.clone()));
    let monitor = monitor::Monitor::new(policy_rx);
    let ingest = Arc::new(
        Ingest::new(Arc::clone(&store), tokens, max_batch_bytes)
            .with_observer(Arc::clone(&monitor) as Arc<dyn ingest::BatchObserver>),
    );
    let services = services::Services::new(config, policy_tx);
    let scheme = if tls.is_some() { "https" } else { "http" };
    info!(addr = %local_addr, scheme, data_dir = %config.data_dir.display(), "Listening");
    Ok(Bound {
        listener,
        tls,
        state: AppState {
            ingest,
            store,
            monitor,
            extra_metrics: services.extra_metrics(),
        },
        local_addr,
        services,
    })
}

/// Binds and serves until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    bind(&config).await?.serve(shutdown).await
}

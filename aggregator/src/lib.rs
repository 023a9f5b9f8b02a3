//! edgeward-aggregator: the central aggregator as a library; `main.rs` only wires it to the
//! process.
//!
//! Start-up order, driven by `main` through [`edgeward_runtime::exit`]: [`cli::read`] →
//! [`config::load`] (exit 64 on error) → logging → [`run`] until SIGTERM or SIGINT.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod config;
pub mod http;

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use thiserror::Error;
use tokio::net::TcpListener;
use tracing::info;

pub use config::Config;

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
    /// The HTTP server failed while serving.
    #[error("HTTP server failed")]
    Serve(#[source] io::Error),
}

/// Binds `config.listen`, serves HTTP until `shutdown` resolves, then drains in-flight
/// requests and returns.
///
/// Logs `Listening` with the address actually bound (which differs from the configured one
/// when the port is 0). Serves plain HTTP; TLS arrives in a later issue.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let addr = config.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| RunError::LocalAddr { addr, source })?;
    info!(addr = %local_addr, "Listening");
    axum::serve(listener, http::router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(RunError::Serve)?;
    info!("Aggregator stopped");
    Ok(())
}

//! Shutdown signals: SIGTERM (Kubernetes, systemd) or SIGINT (Ctrl-C).
//!
//! Invariant: the handlers are installed when [`shutdown`] is called, not when its future is
//! first polled, so a signal that arrives during start-up is not lost and never kills the
//! process through the default action.

use std::future::Future;
use std::io;

use thiserror::Error;
use tokio::signal::unix::{SignalKind, signal};
use tracing::info;

/// A signal handler could not be installed.
#[derive(Debug, Error)]
#[error("cannot install a handler for {signal}")]
pub struct SignalError {
    /// The signal's name.
    pub signal: &'static str,
    /// The operating system's reason.
    #[source]
    pub source: io::Error,
}

/// Installs SIGTERM and SIGINT handlers and returns a future that resolves on the first of
/// them. Must be called inside a tokio runtime.
pub fn shutdown() -> Result<impl Future<Output = ()> + Send + 'static, SignalError> {
    let install = |kind: SignalKind, name: &'static str| {
        signal(kind).map_err(|source| SignalError {
            signal: name,
            source,
        })
    };
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        let received = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        info!(signal = received, "Shutdown requested");
    })
}

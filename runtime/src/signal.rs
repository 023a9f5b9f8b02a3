//! Shutdown signals: SIGTERM (Kubernetes, systemd) or SIGINT (Ctrl-C).
//!
//! Invariant: the handlers are installed when [`shutdown`] is called, not when its future is
//! first polled, so a signal that arrives during start-up is not lost and never kills the
//! process through the default action.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use thiserror::Error;
use tokio::signal::unix::{Signal, SignalKind, signal};
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

/// Resolves on the first SIGTERM or SIGINT after [`shutdown`] installed their handlers, and
/// logs which one arrived.
#[derive(Debug)]
pub struct Shutdown {
    terminate: Signal,
    interrupt: Signal,
}

/// Installs SIGTERM and SIGINT handlers and returns a future that resolves on the first of
/// them. Must be called inside a tokio runtime.
pub fn shutdown() -> Result<Shutdown, SignalError> {
    let install = |kind: SignalKind, name: &'static str| {
        signal(kind).map_err(|source| SignalError {
            signal: name,
            source,
        })
    };
    Ok(Shutdown {
        terminate: install(SignalKind::terminate(), "SIGTERM")?,
        interrupt: install(SignalKind::interrupt(), "SIGINT")?,
    })
}

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let received = if self.terminate.poll_recv(cx).is_ready() {
            "SIGTERM"
        } else if self.interrupt.poll_recv(cx).is_ready() {
            "SIGINT"
        } else {
            return Poll::Pending;
        };
        info!(signal = received, "Shutdown requested");
        Poll::Ready(())
    }
}

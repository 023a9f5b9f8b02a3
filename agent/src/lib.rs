//! edgeward-agent: the edge-node agent as a library; `main.rs` only wires it to the process.
//!
//! Start-up order, driven by `main` through [`edgeward_runtime::exit`]: [`cli::read`] →
//! [`config::load`] (exit 64 on error) → logging → [`run`] until SIGTERM or SIGINT.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod config;

use std::future::Future;

use thiserror::Error;
use tracing::info;

pub use config::Config;

/// Why the agent stopped other than by a shutdown signal. It has no failure modes yet; the
/// sampling loop adds them.
#[derive(Debug, Error)]
pub enum RunError {}

/// Runs the agent until `shutdown` resolves.
///
/// For now this only announces the configuration and waits: the sampling loop (probes, buffer,
/// uplink) arrives in a later issue, so nothing is sampled or sent yet.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    info!(
        node = %config.node_name,
        cluster = config.cluster_name.as_deref(),
        aggregator_url = %config.aggregator_url,
        interval = %humantime::format_duration(config.interval),
        data_dir = %config.data_dir.display(),
        "Agent started"
    );
    shutdown.await;
    info!("Agent stopped");
    Ok(())
}

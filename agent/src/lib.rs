//! edgeward-agent: the edge-node agent as a library; `main.rs` only wires it to the process.
//!
//! Start-up order, driven by `main` through [`edgeward_runtime::exit`]: [`cli::read`] →
//! [`config::load`] (exit 64 on error) → logging → [`run`] until SIGTERM or SIGINT.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod buffer;
pub mod cli;
pub mod config;
pub mod probe;
pub mod sampling;
pub mod uplink;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use edgeward_proto::ClusterId;
use edgeward_proto::pressure::FsRole;
use thiserror::Error;
use tokio::sync::Notify;
use tracing::{info, warn};

pub use config::Config;

use crate::buffer::{Outbox, OutboxConfig, OutboxError};
use crate::probe::pressure::PressureProbe;
use crate::probe::{HostRoot, Probe};
use crate::uplink::ship::{Identity, ShipOptions};
use crate::uplink::{Uplink, UplinkError};

/// Subdirectory of `data_dir` holding the outbox.
pub const OUTBOX_DIR: &str = "outbox";
/// sled's page cache for the outbox: small, so the agent's memory stays small.
pub const OUTBOX_CACHE_BYTES: u64 = 1 << 20;

/// Why the agent stopped other than by a shutdown signal.
#[derive(Debug, Error)]
pub enum RunError {
    #[error("cannot create data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open or recreate the outbox")]
    Outbox(#[source] OutboxError),
    #[error("cannot set up the uplink")]
    Uplink(#[from] UplinkError),
    #[error("start-up task failed: {0}")]
    Task(String),
}

/// The production probes, registered in one place.
pub fn default_probes(config: &Config) -> Vec<Box<dyn Probe>> {
    let root = HostRoot::new(config.host_root.clone());
    vec![Box::new(PressureProbe::new(
        root,
        vec![
            (FsRole::Node, config.node_fs.clone()),
            (FsRole::Image, config.image_fs.clone()),
        ],
    ))]
}

/// Runs the agent with its production probes until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let probes = default_probes(&config);
    run_with_probes(config, probes, shutdown).await
}

/// Runs the pipeline (sampling → outbox → uplink) with the given probes. Simulated nodes and
/// tests inject their probes here, through the same trait as production ones.
pub async fn run_with_probes(
    config: Config,
    probes: Vec<Box<dyn Probe>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| RunError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let outbox_config = OutboxConfig {
        dir: config.data_dir.join(OUTBOX_DIR),
        max_bytes: config.outbox_max_bytes,
        cache_bytes: OUTBOX_CACHE_BYTES,
    };
    // A recovery from corruption is logged at ERROR by the outbox itself, with the lost
    // range and the new stream; its gap record ships like data.
    let (outbox, _recovery) = tokio::task::spawn_blocking(move || Outbox::open(&outbox_config))
        .await
        .map_err(|e| RunError::Task(e.to_string()))?
        .map_err(RunError::Outbox)?;
    let uplink = Uplink::new(&config.aggregator_url, &config.tls, config.request_timeout)?;
    let root = HostRoot::new(config.host_root.clone());
    let boot_id = probe::read_boot_id(&root).unwrap_or_else(|e| {
        warn!(error = %e, "Cannot read the boot id; reporting zeros");
        edgeward_proto::BootId([0; 16])
    });
    let identity = Identity {
        node: config.node_name.clone(),
        cluster: config
            .cluster_name
            .as_deref()
            .and_then(|c| ClusterId::new(c).ok()),
        boot_id,
    };
    let stats = outbox.stats();
    info!(
        node = %config.node_name,
        cluster = config.cluster_name.as_deref(),
        aggregator_url = %config.aggregator_url,
        interval = %humantime::format_duration(config.interval),
        data_dir = %config.data_dir.display(),
        stream = outbox.stream().0,
        next_seq = outbox.next_seq().0,
        backlog = stats.pending_samples,
        "Agent started"
    );
    let appended = Arc::new(Notify::new());
    if stats.pending_samples > 0 || stats.pending_gaps > 0 {
        appended.notify_one();
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let sampling = sampling::run(
        outbox.clone(),
        probes,
        config.interval,
        Arc::clone(&appended),
        stopped(stop_rx.clone()),
    );
    let shipping = uplink::ship::run(
        outbox.clone(),
        uplink,
        identity,
        ShipOptions {
            max_batch_bytes: usize::try_from(config.max_batch_bytes).unwrap_or(usize::MAX),
            backoff_max: config.backoff_max,
        },
        appended,
        stopped(stop_rx),
    );
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let ((), sampled, shipped) = tokio::join!(signal, sampling, shipping);
    let stats = outbox.stats();
    info!(
        appended = sampled.appended,
        append_failures = sampled.append_failures,
        batches_accepted = shipped.batches_accepted,
        backlog = stats.pending_samples,
        "Agent stopped"
    );
    Ok(())
}

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
use crate::probe::datastore::{DatastoreOptions, DatastoreProbe, EtcdOptions, SqliteOptions};
use crate::probe::disk_audit::DiskAuditOptions;
use crate::probe::eviction::SharedThresholds;
use crate::probe::inventory::{InventoryOptions, InventoryProbe};
use crate::probe::kubelet::{KubeletAuth, KubeletOptions, KubeletProbe};
use crate::probe::pressure::PressureProbe;
use crate::probe::switched::Switched;
use crate::probe::{HostRoot, Probe};
use crate::uplink::ship::{Identity, ShipOptions};
use crate::uplink::{Uplink, UplinkError};
use edgeward_proto::Section;

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

/// The production probes, registered in one place, in the order a cycle runs them: the
/// kubelet probe resolves the eviction thresholds the pressure probe measures margins to.
/// A probe switched off in the config leaves its section `Unavailable(Disabled)` saying so.
pub fn default_probes(config: &Config, runtime: tokio::runtime::Handle) -> Vec<Box<dyn Probe>> {
    let root = HostRoot::new(config.host_root.clone());
    let thresholds = SharedThresholds::default();
    let mut probes: Vec<Box<dyn Probe>> = Vec::new();
    match &config.probes.kubelet {
        Some(k) => probes.push(Box::new(KubeletProbe::new(
            root.clone(),
            kubelet_options(k),
            thresholds.clone(),
            runtime.clone(),
        ))),
        None => probes.push(Box::new(Switched::off("kubelet", |s, u| {
            s.kubelet = Section::Unavailable(u)
        }))),
    }
    probes.push(Box::new(PressureProbe::new(
        root.clone(),
        vec![
            (FsRole::Node, config.node_fs.clone()),
            (FsRole::Image, config.image_fs.clone()),
        ],
        thresholds,
    )));
    match &config.probes.datastore {
        Some(d) => probes.push(Box::new(DatastoreProbe::new(
            root.clone(),
            datastore_options(d, config.probes.disk_audit.as_ref()),
            runtime,
        ))),
        None => probes.push(Box::new(Switched::off("datastore", |s, u| {
            s.datastore = Section::Unavailable(u)
        }))),
    }
    match &config.probes.inventory {
        Some(i) => probes.push(Box::new(InventoryProbe::new(
            root,
            InventoryOptions {
                check_every: i.check_interval,
                refresh_every: i.refresh_interval,
            },
        ))),
        None => probes.push(Box::new(Switched::off("inventory", |s, u| {
            s.inventory = Section::Unavailable(u)
        }))),
    }
    probes
}

/// The datastore probe's options from the validated `[datastore]` and `[disk_audit]` tables.
fn datastore_options(
    d: &config::probes::DatastoreSettings,
    audit: Option<&config::probes::DiskAuditSettings>,
) -> DatastoreOptions {
    let defaults = DatastoreOptions::default();
    DatastoreOptions {
        sqlite: SqliteOptions {
            quick_check_every: d.quick_check_interval,
            ..defaults.sqlite
        },
        etcd: EtcdOptions {
            client_url: d.etcd_url.clone(),
            metrics_url: d.etcd_metrics_url.clone(),
            ca_file: d.etcd_ca_file.clone(),
            cert_file: d.etcd_client_cert.as_ref().map(|(c, _)| c.clone()),
            key_file: d.etcd_client_cert.as_ref().map(|(_, k)| k.clone()),
            timeout: d.timeout,
            ..defaults.etcd
        },
        disk_audit: audit.map(|a| DiskAuditOptions {
            interval: a.interval,
            max_bytes: a.max_bytes,
            ..DiskAuditOptions::default()
        }),
        ..defaults
    }
}

/// The kubelet probe's options from the validated `[kubelet]` table.
fn kubelet_options(k: &config::probes::KubeletSettings) -> KubeletOptions {
    let auth = match (&k.client_cert, &k.token_file) {
        (Some((cert, key)), _) => KubeletAuth::ClientCertificate {
            cert: cert.clone(),
            key: key.clone(),
        },
        (None, Some(token)) => KubeletAuth::Token(token.clone()),
        (None, None) => KubeletAuth::Auto,
    };
    KubeletOptions {
        healthz_url: k.healthz_url.clone(),
        api_url: k.api_url.clone(),
        auth,
        ca_file: k.ca_file.clone(),
        server_name: k.server_name.clone(),
        timeout: k.timeout,
        ..KubeletOptions::default()
    }
}

/// Runs the agent with its production probes until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let probes = default_probes(&config, tokio::runtime::Handle::current());
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

//! Agent configuration: raw layers (flags, environment, TOML file) merged by precedence and
//! validated into a typed [`Config`] before anything starts.
//!
//! Precedence is flag > environment > file > default. clap resolves flag over environment
//! (its `env` attribute), so [`crate::cli`] hands over one [`Layer`]; [`resolve`] then layers it
//! over the file and fills the defaults. Keys, flags and variables:
//!
//! | file key | flag | environment | default |
//! | --- | --- | --- | --- |
//! | — | `--config` | `EDGEWARD_AGENT_CONFIG` | none (file optional) |
//! | `node_name` | `--node-name` | `EDGEWARD_AGENT_NODE_NAME` | host name under `host_root` |
//! | `cluster_name` | `--cluster-name` | `EDGEWARD_AGENT_CLUSTER_NAME` | none |
//! | `aggregator_url` | `--aggregator-url` | `EDGEWARD_AGENT_AGGREGATOR_URL` | required |
//! | `interval` | `--interval` | `EDGEWARD_AGENT_INTERVAL` | `15s` |
//! | `host_root` | `--host-root` | `EDGEWARD_AGENT_HOST_ROOT` | `/` |
//! | `data_dir` | `--data-dir` | `EDGEWARD_AGENT_DATA_DIR` | `/var/lib/edgeward-agent` |
//! | `outbox_max_bytes` | `--outbox-max-bytes` | `EDGEWARD_AGENT_OUTBOX_MAX_BYTES` | `67108864` (64 MiB) |
//! | `max_batch_bytes` | `--max-batch-bytes` | `EDGEWARD_AGENT_MAX_BATCH_BYTES` | `1048576` (1 MiB) |
//! | `backoff_max` | `--backoff-max` | `EDGEWARD_AGENT_BACKOFF_MAX` | `60s` |
//! | `request_timeout` | `--request-timeout` | `EDGEWARD_AGENT_REQUEST_TIMEOUT` | `30s` |
//! | `node_fs` | `--node-fs` | `EDGEWARD_AGENT_NODE_FS` | `/var/lib/kubelet` |
//! | `image_fs` | `--image-fs` | `EDGEWARD_AGENT_IMAGE_FS` | `/var/lib/rancher/k3s/agent/containerd` |
//! | `log_format` | `--log-format` | `EDGEWARD_AGENT_LOG_FORMAT` | `plain` |
//! | `tls.ca_file` | `--tls-ca-file` | `EDGEWARD_AGENT_TLS_CA_FILE` | none |
//! | `tls.client_cert` | `--tls-client-cert` | `EDGEWARD_AGENT_TLS_CLIENT_CERT` | none |
//! | `tls.client_key` | `--tls-client-key` | `EDGEWARD_AGENT_TLS_CLIENT_KEY` | none |
//! | `tls.token_file` | `--tls-token-file` | `EDGEWARD_AGENT_TLS_TOKEN_FILE` | none |
//! | — | — | `RUST_LOG` | `info` |
//!
//! The probes' tables (`[kubelet]`, `[datastore]`, `[disk_audit]`, `[inventory]`) are
//! file-only; their keys and defaults are in [`probes`].
//!
//! Relative paths are taken relative to the agent's working directory, except `node_fs` and
//! `image_fs`, which must be absolute paths on the host (resolved under `host_root`). Byte
//! sizes are integers in the file and decimal text in flags and variables.

mod error;
mod file;
mod node_name;
pub mod probes;
mod rules;
#[cfg(test)]
mod tests;
mod tls;

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use edgeward_proto::NodeId;
use edgeward_runtime::logging::LogFormat;
use tracing_subscriber::filter::Targets;
use url::Url;

pub use edgeward_runtime::{Origin, Sourced};
pub use error::{ConfigError, Invalid, Problem};
pub use node_name::HOSTNAME_FILE;
pub use probes::Probes;
pub use rules::MIN_INTERVAL;
pub use tls::{ClientAuth, Tls};

/// Default for `interval`.
pub const DEFAULT_INTERVAL: &str = "15s";
/// Default for `host_root`.
pub const DEFAULT_HOST_ROOT: &str = "/";
/// Default for `data_dir`.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/edgeward-agent";
/// Default for `outbox_max_bytes`: 64 MiB.
pub const DEFAULT_OUTBOX_MAX_BYTES: u64 = 64 * MIB;
/// Accepted `outbox_max_bytes`: 16 KiB to 16 GiB.
pub const OUTBOX_MAX_BYTES_RANGE: RangeInclusive<u64> = 16 * KIB..=16 * GIB;
/// Default for `max_batch_bytes`: 1 MiB.
pub const DEFAULT_MAX_BATCH_BYTES: u64 = MIB;
/// Accepted `max_batch_bytes`: 4 KiB to 16 MiB.
pub const MAX_BATCH_BYTES_RANGE: RangeInclusive<u64> = 4 * KIB..=16 * MIB;
/// Default for `backoff_max`.
pub const DEFAULT_BACKOFF_MAX: &str = "60s";
/// Accepted `backoff_max`: 100 ms to 1 h.
pub const BACKOFF_MAX_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(60 * 60);
/// Default for `request_timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: &str = "30s";
/// Accepted `request_timeout`: 1 s to 10 min.
pub const REQUEST_TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(10 * 60);
/// Default for `node_fs`: the kubelet's root directory.
pub const DEFAULT_NODE_FS: &str = "/var/lib/kubelet";
/// Default for `image_fs`: k3s's containerd root.
pub const DEFAULT_IMAGE_FS: &str = "/var/lib/rancher/k3s/agent/containerd";

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// The validated agent configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Kubernetes node name this agent reports as. Default: the host name read from
    /// `<host_root>/proc/sys/kernel/hostname`, trimmed and lowercased.
    pub node_name: NodeId,
    /// Overrides the cluster name the node belongs to. Default: none (no override).
    pub cluster_name: Option<String>,
    /// Where to send reports; always `https`. Required, no default.
    pub aggregator_url: Url,
    /// Time between samples; at least [`MIN_INTERVAL`] (100 ms, so tests can sample fast;
    /// production should keep the default). Default: 15 s.
    pub interval: Duration,
    /// Where the host's file system is mounted (`/` on the host, e.g. `/host` in a pod).
    /// Must be an existing directory. Default: `/`.
    pub host_root: PathBuf,
    /// Directory for the agent's own state; the agent creates it at start-up if missing and
    /// keeps its outbox there. Default: `/var/lib/edgeward-agent`.
    pub data_dir: PathBuf,
    /// Most bytes the outbox in `data_dir` may hold, within [`OUTBOX_MAX_BYTES_RANGE`].
    /// Default: 64 MiB.
    pub outbox_max_bytes: u64,
    /// Largest batch the agent sends while catching up on a backlog, in bytes, within
    /// [`MAX_BATCH_BYTES_RANGE`]. Default: 1 MiB.
    pub max_batch_bytes: u64,
    /// Cap of the uplink's exponential backoff between retries, within
    /// [`BACKOFF_MAX_RANGE`]. Default: 60 s.
    pub backoff_max: Duration,
    /// Timeout of each request the uplink makes, within [`REQUEST_TIMEOUT_RANGE`].
    /// Default: 30 s.
    pub request_timeout: Duration,
    /// The kubelet's nodefs path on the host; absolute, resolved under `host_root` by the
    /// probe and not checked to exist here. Default: `/var/lib/kubelet`.
    pub node_fs: PathBuf,
    /// The container runtime's image file system path on the host; absolute, resolved under
    /// `host_root` by the probe and not checked to exist here.
    /// Default: `/var/lib/rancher/k3s/agent/containerd`.
    pub image_fs: PathBuf,
    /// TLS and authentication towards the aggregator. Default: none of the files.
    pub tls: Tls,
    /// Log line format. Default: plain.
    pub log_format: LogFormat,
    /// Which log events to emit, from `RUST_LOG`. Default: `info`.
    pub log_filter: Targets,
    /// The probes' settings, from the file's `[kubelet]`, `[datastore]`, `[disk_audit]` and
    /// `[inventory]` tables ([`probes`] lists keys and defaults). Default: all probes on.
    pub probes: Probes,
}

/// One source of raw settings, not yet validated. Every field is unset by default; the
/// defaults of the [`Config`] fields apply when no layer sets a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    /// `node_name`; default: the host name.
    pub node_name: Option<Sourced<String>>,
    /// `cluster_name`; default: none.
    pub cluster_name: Option<Sourced<String>>,
    /// `aggregator_url`; required.
    pub aggregator_url: Option<Sourced<String>>,
    /// `interval`; default: `15s`.
    pub interval: Option<Sourced<String>>,
    /// `host_root`; default: `/`.
    pub host_root: Option<Sourced<String>>,
    /// `data_dir`; default: `/var/lib/edgeward-agent`.
    pub data_dir: Option<Sourced<String>>,
    /// `outbox_max_bytes` as decimal text; default: `67108864`.
    pub outbox_max_bytes: Option<Sourced<String>>,
    /// `max_batch_bytes` as decimal text; default: `1048576`.
    pub max_batch_bytes: Option<Sourced<String>>,
    /// `backoff_max`; default: `60s`.
    pub backoff_max: Option<Sourced<String>>,
    /// `request_timeout`; default: `30s`.
    pub request_timeout: Option<Sourced<String>>,
    /// `node_fs`; default: `/var/lib/kubelet`.
    pub node_fs: Option<Sourced<String>>,
    /// `image_fs`; default: `/var/lib/rancher/k3s/agent/containerd`.
    pub image_fs: Option<Sourced<String>>,
    /// `log_format`; default: `plain`.
    pub log_format: Option<Sourced<String>>,
    /// `tls.ca_file`; default: none.
    pub tls_ca_file: Option<Sourced<String>>,
    /// `tls.client_cert`; default: none.
    pub tls_client_cert: Option<Sourced<String>>,
    /// `tls.client_key`; default: none.
    pub tls_client_key: Option<Sourced<String>>,
    /// `tls.token_file`; default: none.
    pub tls_token_file: Option<Sourced<String>>,
    /// The probe tables, by dotted key (file only); defaults in [`probes`].
    pub probes: probes::ProbeLayer,
}

impl Layer {
    /// Keeps every value of `self` and takes the ones it lacks from `lower`.
    pub fn or(self, lower: Layer) -> Layer {
        Layer {
            node_name: self.node_name.or(lower.node_name),
            cluster_name: self.cluster_name.or(lower.cluster_name),
            aggregator_url: self.aggregator_url.or(lower.aggregator_url),
            interval: self.interval.or(lower.interval),
            host_root: self.host_root.or(lower.host_root),
            data_dir: self.data_dir.or(lower.data_dir),
            outbox_max_bytes: self.outbox_max_bytes.or(lower.outbox_max_bytes),
            max_batch_bytes: self.max_batch_bytes.or(lower.max_batch_bytes),
            backoff_max: self.backoff_max.or(lower.backoff_max),
            request_timeout: self.request_timeout.or(lower.request_timeout),
            node_fs: self.node_fs.or(lower.node_fs),
            image_fs: self.image_fs.or(lower.image_fs),
            log_format: self.log_format.or(lower.log_format),
            tls_ca_file: self.tls_ca_file.or(lower.tls_ca_file),
            tls_client_cert: self.tls_client_cert.or(lower.tls_client_cert),
            tls_client_key: self.tls_client_key.or(lower.tls_client_key),
            tls_token_file: self.tls_token_file.or(lower.tls_token_file),
            probes: {
                let mut merged = lower.probes;
                merged.extend(self.probes);
                merged
            },
        }
    }
}

/// Everything the process was given: what [`crate::cli`] collects from argv and environment.
pub type Inputs = edgeward_runtime::Inputs<Layer>;

/// Reads the config file, if any, and validates everything into a [`Config`].
pub fn load(inputs: Inputs) -> Result<Config, ConfigError> {
    let file = match &inputs.config_file {
        Some(path) => file::read(path)?,
        None => Layer::default(),
    };
    resolve([inputs.overrides, file], inputs.log_filter)
}

/// Merges `layers` (highest precedence first), fills defaults and validates.
pub fn resolve(
    layers: impl IntoIterator<Item = Layer>,
    log_filter: Option<Sourced<String>>,
) -> Result<Config, ConfigError> {
    let raw = layers.into_iter().fold(Layer::default(), Layer::or);
    let or_default = |value: &Option<Sourced<String>>, default: &str| {
        value
            .clone()
            .unwrap_or_else(|| Sourced::default_value(default))
    };

    let host_root = rules::directory("host_root", &or_default(&raw.host_root, DEFAULT_HOST_ROOT))?;
    let node_name = node_name::resolve(raw.node_name.as_ref(), &host_root)?;
    let cluster_name = raw
        .cluster_name
        .as_ref()
        .map(|name| rules::non_empty("cluster_name", name))
        .transpose()?;
    let aggregator_url = match &raw.aggregator_url {
        Some(url) => rules::https_url("aggregator_url", url)?,
        None => {
            return Err(ConfigError::Missing {
                key: "aggregator_url",
                flag: "--aggregator-url",
                env: "EDGEWARD_AGENT_AGGREGATOR_URL",
            });
        }
    };
    let tls = tls::resolve(&raw)?;
    let interval = rules::interval("interval", &or_default(&raw.interval, DEFAULT_INTERVAL))?;
    let data_dir = rules::path("data_dir", &or_default(&raw.data_dir, DEFAULT_DATA_DIR))?;
    let outbox_max_bytes = match &raw.outbox_max_bytes {
        Some(bytes) => rules::integer("outbox_max_bytes", bytes, OUTBOX_MAX_BYTES_RANGE)?,
        None => DEFAULT_OUTBOX_MAX_BYTES,
    };
    let max_batch_bytes = match &raw.max_batch_bytes {
        Some(bytes) => rules::integer("max_batch_bytes", bytes, MAX_BATCH_BYTES_RANGE)?,
        None => DEFAULT_MAX_BATCH_BYTES,
    };
    let backoff_max = rules::duration(
        "backoff_max",
        &or_default(&raw.backoff_max, DEFAULT_BACKOFF_MAX),
        BACKOFF_MAX_RANGE,
    )?;
    let request_timeout = rules::duration(
        "request_timeout",
        &or_default(&raw.request_timeout, DEFAULT_REQUEST_TIMEOUT),
        REQUEST_TIMEOUT_RANGE,
    )?;
    let node_fs = rules::absolute_path("node_fs", &or_default(&raw.node_fs, DEFAULT_NODE_FS))?;
    let image_fs = rules::absolute_path("image_fs", &or_default(&raw.image_fs, DEFAULT_IMAGE_FS))?;
    let log_format = rules::log_format("log_format", raw.log_format.as_ref())?;
    let log_filter = rules::log_filter(log_filter, env!("CARGO_CRATE_NAME"))?;
    let probes = probes::resolve(&raw.probes)?;

    Ok(Config {
        node_name,
        cluster_name,
        aggregator_url,
        interval,
        host_root,
        data_dir,
        outbox_max_bytes,
        max_batch_bytes,
        backoff_max,
        request_timeout,
        node_fs,
        image_fs,
        tls,
        log_format,
        log_filter,
        probes,
    })
}

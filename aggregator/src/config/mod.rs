//! Aggregator configuration: raw layers (flags, environment, TOML file) merged by precedence
//! and validated into a typed [`Config`] before anything starts.
//!
//! Precedence is flag > environment > file > default. clap resolves flag over environment
//! (its `env` attribute), so [`crate::cli`] hands over one [`Layer`]; [`resolve`] then layers it
//! over the file and fills the defaults. Keys, flags and variables:
//!
//! | file key | flag | environment | default |
//! | --- | --- | --- | --- |
//! | — | `--config` | `EDGEWARD_AGGREGATOR_CONFIG` | none (file optional) |
//! | `listen` | `--listen` | `EDGEWARD_AGGREGATOR_LISTEN` | `127.0.0.1:7443` |
//! | `data_dir` | `--data-dir` | `EDGEWARD_AGGREGATOR_DATA_DIR` | `/var/lib/edgeward-aggregator` |
//! | `max_batch_bytes` | `--max-batch-bytes` | `EDGEWARD_AGGREGATOR_MAX_BATCH_BYTES` | `16777216` (16 MiB) |
//! | `history_per_node` | `--history-per-node` | `EDGEWARD_AGGREGATOR_HISTORY_PER_NODE` | `5760` (24 h at 15 s) |
//! | `tokens_file` | `--tokens-file` | `EDGEWARD_AGGREGATOR_TOKENS_FILE` | none |
//! | `log_format` | `--log-format` | `EDGEWARD_AGGREGATOR_LOG_FORMAT` | `plain` |
//! | `tls.cert_file` | `--tls-cert-file` | `EDGEWARD_AGGREGATOR_TLS_CERT_FILE` | none (plain HTTP) |
//! | `tls.key_file` | `--tls-key-file` | `EDGEWARD_AGGREGATOR_TLS_KEY_FILE` | none (plain HTTP) |
//! | `tls.client_ca_file` | `--tls-client-ca-file` | `EDGEWARD_AGGREGATOR_TLS_CLIENT_CA_FILE` | none |
//! | `policy_file` | `--policy-file` | `EDGEWARD_AGGREGATOR_POLICY_FILE` | none (built-in defaults) |
//! | `evaluate_every` | `--evaluate-every` | `EDGEWARD_AGGREGATOR_EVALUATE_EVERY` | `15s` |
//! | `external_url` | `--external-url` | `EDGEWARD_AGGREGATOR_EXTERNAL_URL` | none |
//! | `alertmanager.urls` | `--alertmanager-urls` (comma-separated) | `EDGEWARD_AGGREGATOR_ALERTMANAGER_URLS` | none (no alert push) |
//! | `alertmanager.resend_every` | `--alertmanager-resend-every` | `EDGEWARD_AGGREGATOR_ALERTMANAGER_RESEND_EVERY` | `60s` |
//! | `alertmanager.min_severity` | `--alertmanager-min-severity` | `EDGEWARD_AGGREGATOR_ALERTMANAGER_MIN_SEVERITY` | `warning` |
//! | — | — | `RUST_LOG` | `info` |
//!
//! Numbers are integers in the file and decimal text in flags and variables. Relative paths are
//! taken relative to the aggregator's working directory.

mod analysis;
mod error;
mod file;
mod rules;
#[cfg(test)]
mod tests;
mod tls;

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use edgeward_runtime::logging::LogFormat;
use tracing_subscriber::filter::Targets;

pub use analysis::AlertmanagerConfig;
pub use edgeward_runtime::{Origin, Sourced};
pub use error::{ConfigError, Invalid, Problem};
pub use tls::ServerTls;

/// Default for `listen`: loopback only, so a fresh install exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7443";
/// Default for `data_dir`.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/edgeward-aggregator";
/// Default for `max_batch_bytes`: 16 MiB.
pub const DEFAULT_MAX_BATCH_BYTES: u64 = 16 * MIB;
/// Accepted `max_batch_bytes`: 1 KiB to 256 MiB.
pub const MAX_BATCH_BYTES_RANGE: RangeInclusive<u64> = 1024..=256 * MIB;
/// Default for `history_per_node`: 24 hours of samples at the agent's default 15 s interval.
pub const DEFAULT_HISTORY_PER_NODE: u64 = 5760;
/// Accepted `history_per_node`: 1 to 10 000 000 samples.
pub const HISTORY_PER_NODE_RANGE: RangeInclusive<u64> = 1..=10_000_000;

const MIB: u64 = 1024 * 1024;
/// Default of [`Config::evaluate_every`].
pub const DEFAULT_EVALUATE_EVERY: Duration = Duration::from_secs(15);
/// Allowed [`Config::evaluate_every`].
pub const EVALUATE_EVERY_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(600);

/// The validated aggregator configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port. Default: `127.0.0.1:7443`.
    pub listen: SocketAddr,
    /// Directory holding the embedded store; created at start-up if missing.
    /// Default: `/var/lib/edgeward-aggregator`.
    pub data_dir: PathBuf,
    /// Largest batch body accepted from an agent, in bytes, within
    /// [`MAX_BATCH_BYTES_RANGE`]; larger bodies are refused with 413. Default: 16 MiB.
    pub max_batch_bytes: u64,
    /// Samples kept per node, within [`HISTORY_PER_NODE_RANGE`]. Default: 5760 (24 h at 15 s).
    pub history_per_node: u64,
    /// File mapping bearer tokens to node ids; checked to exist here, its content is parsed
    /// where tokens are checked. Default: none.
    pub tokens_file: Option<PathBuf>,
    /// TLS server settings. Default: none, so the aggregator serves plain HTTP, for a
    /// TLS-terminating proxy in front of it (the runtime logs a warning).
    pub tls: Option<ServerTls>,
    /// Log line format. Default: plain.
    pub log_format: LogFormat,
    /// Which log events to emit, from `RUST_LOG`. Default: `info`.
    pub log_filter: Targets,
    /// The fleet policy file; checked to exist here, parsed at start-up (a bad policy is a
    /// config error then) and reloaded on change or SIGHUP. Default: none (built-in defaults).
    pub policy_file: Option<PathBuf>,
    /// The policy `policy_file` held at start-up (validated here: a bad policy file is a bad
    /// config, exit 64), or the built-in defaults without a file.
    pub policy: crate::policy::Policy,
    /// Time between fleet evaluations, within [`EVALUATE_EVERY_RANGE`]. Default: 15 s.
    pub evaluate_every: Duration,
    /// Alert push. Default: none (no Alertmanager).
    pub alertmanager: Option<analysis::AlertmanagerConfig>,
    /// The aggregator's URL as operators reach it, for alert links. Default: none.
    pub external_url: Option<String>,
}

/// One source of raw settings, not yet validated. Every field is unset by default; the
/// defaults of the [`Config`] fields apply when no layer sets a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    /// `listen`; default: `127.0.0.1:7443`.
    pub listen: Option<Sourced<String>>,
    /// `data_dir`; default: `/var/lib/edgeward-aggregator`.
    pub data_dir: Option<Sourced<String>>,
    /// `max_batch_bytes` as decimal text; default: `16777216`.
    pub max_batch_bytes: Option<Sourced<String>>,
    /// `history_per_node` as decimal text; default: `5760`.
    pub history_per_node: Option<Sourced<String>>,
    /// `tokens_file`; default: none.
    pub tokens_file: Option<Sourced<String>>,
    /// `log_format`; default: `plain`.
    pub log_format: Option<Sourced<String>>,
    /// `tls.cert_file`; default: none.
    pub tls_cert_file: Option<Sourced<String>>,
    /// `tls.key_file`; default: none.
    pub tls_key_file: Option<Sourced<String>>,
    /// `tls.client_ca_file`; default: none.
    pub tls_client_ca_file: Option<Sourced<String>>,
    /// `policy_file`; default: none.
    pub policy_file: Option<Sourced<String>>,
    /// `evaluate_every`; default: `15s`.
    pub evaluate_every: Option<Sourced<String>>,
    /// `alertmanager.urls`, comma-separated; default: none.
    pub alertmanager_urls: Option<Sourced<String>>,
    /// `alertmanager.resend_every`; default: `60s`.
    pub alertmanager_resend_every: Option<Sourced<String>>,
    /// `alertmanager.min_severity`; default: `warning`.
    pub alertmanager_min_severity: Option<Sourced<String>>,
    /// `external_url`; default: none.
    pub external_url: Option<Sourced<String>>,
}

impl Layer {
    /// Keeps every value of `self` and takes the ones it lacks from `lower`.
    pub fn or(self, lower: Layer) -> Layer {
        Layer {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            max_batch_bytes: self.max_batch_bytes.or(lower.max_batch_bytes),
            history_per_node: self.history_per_node.or(lower.history_per_node),
            tokens_file: self.tokens_file.or(lower.tokens_file),
            log_format: self.log_format.or(lower.log_format),
            tls_cert_file: self.tls_cert_file.or(lower.tls_cert_file),
            tls_key_file: self.tls_key_file.or(lower.tls_key_file),
            tls_client_ca_file: self.tls_client_ca_file.or(lower.tls_client_ca_file),
            policy_file: self.policy_file.or(lower.policy_file),
            evaluate_every: self.evaluate_every.or(lower.evaluate_every),
            alertmanager_urls: self.alertmanager_urls.or(lower.alertmanager_urls),
            alertmanager_resend_every: self
                .alertmanager_resend_every
                .or(lower.alertmanager_resend_every),
            alertmanager_min_severity: self
                .alertmanager_min_severity
                .or(lower.alertmanager_min_severity),
            external_url: self.external_url.or(lower.external_url),
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
    let or_default = |value: Option<Sourced<String>>, default: &str| {
        value.unwrap_or_else(|| Sourced::default_value(default))
    };

    let tls = tls::resolve(&raw)?;
    let alertmanager = analysis::alertmanager(&raw)?;
    let listen = rules::socket_addr("listen", &or_default(raw.listen, DEFAULT_LISTEN))?;
    let data_dir = rules::path("data_dir", &or_default(raw.data_dir, DEFAULT_DATA_DIR))?;
    let max_batch_bytes = match &raw.max_batch_bytes {
        Some(bytes) => rules::integer("max_batch_bytes", bytes, MAX_BATCH_BYTES_RANGE)?,
        None => DEFAULT_MAX_BATCH_BYTES,
    };
    let history_per_node = match &raw.history_per_node {
        Some(count) => rules::integer("history_per_node", count, HISTORY_PER_NODE_RANGE)?,
        None => DEFAULT_HISTORY_PER_NODE,
    };
    let tokens_file = raw
        .tokens_file
        .as_ref()
        .map(|file| rules::file("tokens_file", file))
        .transpose()?;
    let log_format = rules::log_format("log_format", raw.log_format.as_ref())?;
    let log_filter = rules::log_filter(log_filter, env!("CARGO_CRATE_NAME"))?;
    let policy_file = raw
        .policy_file
        .as_ref()
        .map(|file| rules::file("policy_file", file))
        .transpose()?;
    let policy = match &policy_file {
        Some(path) => crate::policy::PolicySource::load(path).map_err(ConfigError::Policy)?,
        None => crate::policy::Policy::default(),
    };
    let evaluate_every = match &raw.evaluate_every {
        Some(d) => analysis::duration("evaluate_every", d, EVALUATE_EVERY_RANGE)?,
        None => DEFAULT_EVALUATE_EVERY,
    };
    let external_url = raw
        .external_url
        .as_ref()
        .map(|u| {
            analysis::url("external_url", u).map(|u| u.as_str().trim_end_matches('/').to_owned())
        })
        .transpose()?;

    Ok(Config {
        listen,
        data_dir,
        max_batch_bytes,
        history_per_node,
        tokens_file,
        tls,
        log_format,
        log_filter,
        policy_file,
        policy,
        evaluate_every,
        alertmanager,
        external_url,
    })
}

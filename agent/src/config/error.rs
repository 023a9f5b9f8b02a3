//! Why a configuration was rejected.
//!
//! Display strings never repeat their `#[source]`: print the whole chain (anyhow's `{:#}`)
//! to get one line such as
//! `` `interval` (from --interval): "0s" is shorter than the minimum of 1s ``.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use super::node_name::NodeNameError;
use super::origin::Origin;

/// A configuration that cannot be used. Returned before anything starts.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {} (from {origin})", path.display())]
    ReadFile {
        /// The file named by `--config` or `EDGEWARD_AGENT_CONFIG`.
        path: PathBuf,
        /// Which of the two named it.
        origin: Origin,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// The config file is not TOML, has an unknown key or a value of the wrong type.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the problem, when the parser knows it.
        line: Option<usize>,
        /// The parser's explanation, on one line.
        message: String,
    },
    /// A required setting was given nowhere.
    #[error(
        "missing required setting `{key}`: set it in the config file, with {flag} or with {env}"
    )]
    Missing {
        /// Config file key.
        key: &'static str,
        /// Command-line flag for the same setting.
        flag: &'static str,
        /// Environment variable for the same setting.
        env: &'static str,
    },
    /// A setting has a value that fails its rule.
    #[error("`{key}` (from {origin})")]
    Invalid {
        /// Config file key of the setting.
        key: &'static str,
        /// Where the bad value came from.
        origin: Origin,
        /// What is wrong with it.
        #[source]
        problem: Problem,
    },
    /// One setting of a pair was given without the other.
    #[error("`{key}` (from {origin}) is set but `{missing}` is not; set both or neither")]
    Incomplete {
        /// The setting that was given.
        key: &'static str,
        /// Where it was given.
        origin: Origin,
        /// Its partner, which was not.
        missing: &'static str,
    },
    /// Two settings that exclude each other were both given.
    #[error("`{key}` (from {origin}) and `{other}` (from {other_origin}) cannot be used together")]
    Conflict {
        /// The first setting.
        key: &'static str,
        /// Where it was given.
        origin: Origin,
        /// The second setting.
        other: &'static str,
        /// Where that was given.
        other_origin: Origin,
    },
    /// `node_name` was not given and the host name file could not be read.
    #[error("`node_name` is not set and the host name cannot be read from {}", path.display())]
    Hostname {
        /// `<host_root>/proc/sys/kernel/hostname`.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// `node_name` was not given and the host name is not a valid node name.
    #[error("`node_name` is not set and the host name {value:?} from {} is not a valid node name", path.display())]
    HostnameInvalid {
        /// `<host_root>/proc/sys/kernel/hostname`.
        path: PathBuf,
        /// The host name, trimmed and lowercased.
        value: String,
        /// Which rule it breaks.
        #[source]
        source: NodeNameError,
    },
}

/// What is wrong with one setting's value.
#[derive(Debug, Error)]
pub enum Problem {
    /// Not a URL at all.
    #[error("{value:?} is not a URL")]
    Url {
        /// The value as given.
        value: String,
        /// The parser's reason.
        #[source]
        source: url::ParseError,
    },
    /// A URL with a scheme other than `https`.
    #[error("{value:?} must be an https:// URL")]
    NotHttps {
        /// The value as given.
        value: String,
    },
    /// Not a humantime duration.
    #[error("{value:?} is not a duration such as \"15s\" or \"1m 30s\"")]
    Duration {
        /// The value as given.
        value: String,
        /// The parser's reason.
        #[source]
        source: humantime::DurationError,
    },
    /// A duration below its minimum.
    #[error("{value:?} is shorter than the minimum of {}", humantime::format_duration(*minimum))]
    TooShort {
        /// The value as given.
        value: String,
        /// The smallest accepted duration.
        minimum: Duration,
    },
    /// Not a Kubernetes node name.
    #[error("{value:?} is not a valid Kubernetes node name")]
    NodeName {
        /// The value as given.
        value: String,
        /// Which rule it breaks.
        #[source]
        source: NodeNameError,
    },
    /// An empty value where text is required.
    #[error("must not be empty")]
    Empty,
    /// A path that does not exist or cannot be inspected.
    #[error("cannot access {}", path.display())]
    Inaccessible {
        /// The path as given.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A path that exists but is not a directory.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path as given.
        path: PathBuf,
    },
    /// A path that exists but is not a regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path as given.
        path: PathBuf,
    },
    /// A log format other than `plain` or `json`.
    #[error("{value:?} is not a log format; use \"plain\" or \"json\"")]
    LogFormat {
        /// The value as given.
        value: String,
    },
    /// A `RUST_LOG` value that is not a list of `target=level` directives.
    ///
    /// The parser's error is shown inline rather than as a `#[source]` because its own
    /// `Display` already repeats its source.
    #[error(
        "{value:?} is not a log filter such as \"info\" or \"info,edgeward_agent=debug\": {reason}"
    )]
    LogFilter {
        /// The value as given.
        value: String,
        /// The parser's reason.
        reason: tracing_subscriber::filter::ParseError,
    },
}

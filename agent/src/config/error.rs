//! Why a configuration was rejected.
//!
//! Display strings never repeat their `#[source]`: print the whole chain (anyhow's `{:#}`)
//! to get one line such as
//! `` `interval` (from --interval): "0s" is shorter than the minimum of 100ms ``.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use edgeward_proto::ident::IdentError;
use edgeward_runtime::{ConfigFileError, Origin, rules};
use thiserror::Error;

/// A configuration that cannot be used. Returned before anything starts.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file could not be read, is not TOML or does not fit the schema.
    #[error(transparent)]
    File(#[from] ConfigFileError),
    /// A setting has a value that fails its rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),
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
    #[error("`node_name` is not set and the host name from {} is not a valid node name", path.display())]
    HostnameInvalid {
        /// `<host_root>/proc/sys/kernel/hostname`.
        path: PathBuf,
        /// The host name, trimmed and lowercased.
        value: String,
        /// Which rule it breaks; names the value.
        #[source]
        source: IdentError,
    },
}

/// A setting that fails its rule, naming its key and where the value came from.
pub type Invalid = rules::Invalid<Problem>;

/// What is wrong with one setting's value.
#[derive(Debug, Error)]
pub enum Problem {
    /// It breaks a rule every edgeward binary shares: empty, log format, log filter, a file or
    /// directory that must exist, or a whole number out of range.
    #[error(transparent)]
    Shared(#[from] rules::Problem),
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
    /// Not a Kubernetes node name; the error names the value and the rule it breaks.
    #[error(transparent)]
    NodeName(IdentError),
    /// A duration above its maximum.
    #[error("{value:?} is longer than the maximum of {}", humantime::format_duration(*maximum))]
    TooLong {
        /// The value as given.
        value: String,
        /// The largest accepted duration.
        maximum: Duration,
    },
    /// A path that must be absolute but is relative.
    #[error("{} is not an absolute path", path.display())]
    NotAbsolute {
        /// The path as given.
        path: PathBuf,
    },
    /// A URL with a scheme other than `http` or `https`.
    #[error("{value:?} must be an http:// or https:// URL")]
    NotHttp {
        /// The value as given.
        value: String,
    },
    /// Not `true` or `false`.
    #[error("{value:?} is not true or false")]
    NotBoolean {
        /// The value as given.
        value: String,
    },
}

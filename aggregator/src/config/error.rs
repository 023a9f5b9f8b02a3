//! Why a configuration was rejected.
//!
//! Display strings never repeat their `#[source]`: print the whole chain (anyhow's `{:#}`)
//! to get one line such as
//! `` `listen` (from --listen): "localhost:7443" is not an IP address and port ``.

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
    /// The fleet policy file is unreadable or invalid (the error names its line).
    #[error(transparent)]
    Policy(crate::policy::PolicyError),
    /// One setting of a group was given without a setting it needs.
    #[error("`{key}` (from {origin}) is set but `{missing}` is not; set both or neither")]
    Incomplete {
        /// The setting that was given.
        key: &'static str,
        /// Where it was given.
        origin: Origin,
        /// The setting it needs, which was not given.
        missing: &'static str,
    },
}

/// A setting that fails its rule, naming its key and where the value came from.
pub type Invalid = rules::Invalid<Problem>;

/// What is wrong with one setting's value.
#[derive(Debug, Error)]
pub enum Problem {
    /// It breaks a rule every edgeward binary shares: empty, log format, log filter, a file
    /// that must exist, or a whole number out of range.
    #[error(transparent)]
    Shared(#[from] rules::Problem),
    /// Not a duration such as `15s` or `2m`, or out of range.
    #[error("{value:?} is not a duration within {range} (such as \"15s\" or \"2m\")")]
    Duration {
        /// The value as given.
        value: String,
        /// The allowed range, as text.
        range: String,
    },
    /// Not an `http://` or `https://` URL.
    #[error("{value:?} is not an http:// or https:// URL")]
    Url {
        /// The value as given.
        value: String,
    },
    /// Not `info`, `warning` or `critical`.
    #[error("{value:?} is not a severity: info, warning or critical")]
    Severity {
        /// The value as given.
        value: String,
    },
    /// Not an `IP:port` pair.
    #[error("{value:?} is not an IP address and port such as \"0.0.0.0:7443\" or \"[::]:7443\"")]
    SocketAddr {
        /// The value as given.
        value: String,
        /// The parser's reason.
        #[source]
        source: std::net::AddrParseError,
    },
}

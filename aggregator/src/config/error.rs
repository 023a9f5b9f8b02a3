//! Why a configuration was rejected.
//!
//! Display strings never repeat their `#[source]`: print the whole chain (anyhow's `{:#}`)
//! to get one line such as
//! `` `listen` (from --listen): "localhost:7443" is not an IP address and port ``.

use edgeward_runtime::{ConfigFileError, rules};
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
}

/// A setting that fails its rule, naming its key and where the value came from.
pub type Invalid = rules::Invalid<Problem>;

/// What is wrong with one setting's value.
#[derive(Debug, Error)]
pub enum Problem {
    /// It breaks a rule every edgeward binary shares: empty, log format or log filter.
    #[error(transparent)]
    Shared(#[from] rules::Problem),
    /// Not an `IP:port` pair.
    #[error("{value:?} is not an IP address and port such as \"0.0.0.0:7443\" or \"[::]:7443\"")]
    SocketAddr {
        /// The value as given.
        value: String,
        /// The parser's reason.
        #[source]
        source: std::net::AddrParseError,
    },
    /// Not a non-negative whole number.
    #[error("{value:?} is not a whole number of bytes")]
    NotAnInteger {
        /// The value as given.
        value: String,
        /// The parser's reason.
        #[source]
        source: std::num::ParseIntError,
    },
    /// A number outside its accepted range.
    #[error("{value} is outside the accepted range {min}..={max}")]
    OutOfRange {
        /// The value as given.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
}

//! Why a configuration was rejected.
//!
//! Display strings never repeat their `#[source]`: print the whole chain (anyhow's `{:#}`)
//! to get one line such as
//! `` `listen` (from --listen): "localhost:7443" is not an IP address and port ``.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::origin::Origin;

/// A configuration that cannot be used. Returned before anything starts.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {} (from {origin})", path.display())]
    ReadFile {
        /// The file named by `--config` or `EDGEWARD_AGGREGATOR_CONFIG`.
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
}

/// What is wrong with one setting's value.
#[derive(Debug, Error)]
pub enum Problem {
    /// Not an `IP:port` pair.
    #[error("{value:?} is not an IP address and port such as \"0.0.0.0:7443\" or \"[::]:7443\"")]
    SocketAddr {
        /// The value as given.
        value: String,
        /// The parser's reason.
        #[source]
        source: std::net::AddrParseError,
    },
    /// An empty value where text is required.
    #[error("must not be empty")]
    Empty,
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
        "{value:?} is not a log filter such as \"info\" or \"info,edgeward_aggregator=debug\": {reason}"
    )]
    LogFilter {
        /// The value as given.
        value: String,
        /// The parser's reason.
        reason: tracing_subscriber::filter::ParseError,
    },
}

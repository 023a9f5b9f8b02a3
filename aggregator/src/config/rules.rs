//! One function per validation rule: each turns a raw [`Sourced`] string into a typed value or
//! a [`ConfigError::Invalid`] that names the key and where the value came from.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;

use tracing_subscriber::filter::Targets;

use super::error::{ConfigError, Problem};
use super::origin::Sourced;
use crate::logging::LogFormat;

fn invalid(key: &'static str, raw: &Sourced<String>, problem: Problem) -> ConfigError {
    ConfigError::Invalid {
        key,
        origin: raw.origin.clone(),
        problem,
    }
}

/// An `IP:port` pair; port 0 asks the kernel for a free port.
pub fn socket_addr(key: &'static str, raw: &Sourced<String>) -> Result<SocketAddr, ConfigError> {
    SocketAddr::from_str(raw.value.trim()).map_err(|source| {
        let value = raw.value.clone();
        invalid(key, raw, Problem::SocketAddr { value, source })
    })
}

/// A path that is not empty. It need not exist yet.
pub fn path(key: &'static str, raw: &Sourced<String>) -> Result<PathBuf, ConfigError> {
    if raw.value.trim().is_empty() {
        return Err(invalid(key, raw, Problem::Empty));
    }
    Ok(PathBuf::from(&raw.value))
}

/// A whole number of bytes within `range`.
pub fn byte_count(
    key: &'static str,
    raw: &Sourced<String>,
    range: RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let bytes = u64::from_str(raw.value.trim()).map_err(|source| {
        let value = raw.value.clone();
        invalid(key, raw, Problem::NotAnInteger { value, source })
    })?;
    if !range.contains(&bytes) {
        let (min, max) = range.into_inner();
        let problem = Problem::OutOfRange {
            value: bytes,
            min,
            max,
        };
        return Err(invalid(key, raw, problem));
    }
    Ok(bytes)
}

/// `plain` or `json`.
pub fn log_format(key: &'static str, raw: &Sourced<String>) -> Result<LogFormat, ConfigError> {
    LogFormat::from_str(raw.value.trim()).map_err(|_| {
        let value = raw.value.clone();
        invalid(key, raw, Problem::LogFormat { value })
    })
}

/// A `RUST_LOG` filter: comma-separated `level` or `target=level` directives.
pub fn log_filter(key: &'static str, raw: &Sourced<String>) -> Result<Targets, ConfigError> {
    Targets::from_str(raw.value.trim()).map_err(|reason| {
        let value = raw.value.clone();
        invalid(key, raw, Problem::LogFilter { value, reason })
    })
}

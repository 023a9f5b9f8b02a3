//! One function per validation rule: each turns a raw [`Sourced`] string into a typed value or
//! a [`ConfigError::Invalid`] that names the key and where the value came from.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use tracing_subscriber::filter::Targets;
use url::Url;

use super::error::{ConfigError, Problem};
use super::node_name::NodeName;
use super::origin::Sourced;
use crate::logging::LogFormat;

/// Shortest accepted sampling interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

fn invalid(key: &'static str, raw: &Sourced<String>, problem: Problem) -> ConfigError {
    ConfigError::Invalid {
        key,
        origin: raw.origin.clone(),
        problem,
    }
}

/// An absolute `https://` URL.
pub fn https_url(key: &'static str, raw: &Sourced<String>) -> Result<Url, ConfigError> {
    let url = Url::parse(&raw.value).map_err(|source| {
        let value = raw.value.clone();
        invalid(key, raw, Problem::Url { value, source })
    })?;
    if url.scheme() != "https" {
        let value = raw.value.clone();
        return Err(invalid(key, raw, Problem::NotHttps { value }));
    }
    Ok(url)
}

/// A humantime duration of at least [`MIN_INTERVAL`].
pub fn interval(key: &'static str, raw: &Sourced<String>) -> Result<Duration, ConfigError> {
    let value = raw.value.clone();
    let duration = humantime::parse_duration(raw.value.trim())
        .map_err(|source| invalid(key, raw, Problem::Duration { value, source }))?;
    if duration < MIN_INTERVAL {
        let value = raw.value.clone();
        let minimum = MIN_INTERVAL;
        return Err(invalid(key, raw, Problem::TooShort { value, minimum }));
    }
    Ok(duration)
}

/// A Kubernetes node name, taken as written (not lowercased).
pub fn node_name(key: &'static str, raw: &Sourced<String>) -> Result<NodeName, ConfigError> {
    NodeName::parse(&raw.value).map_err(|source| {
        let value = raw.value.clone();
        invalid(key, raw, Problem::NodeName { value, source })
    })
}

/// Any text that is not empty or blank.
pub fn non_empty(key: &'static str, raw: &Sourced<String>) -> Result<String, ConfigError> {
    if raw.value.trim().is_empty() {
        return Err(invalid(key, raw, Problem::Empty));
    }
    Ok(raw.value.clone())
}

/// A path that is not empty. It need not exist yet.
pub fn path(key: &'static str, raw: &Sourced<String>) -> Result<PathBuf, ConfigError> {
    non_empty(key, raw).map(PathBuf::from)
}

/// A path to an existing directory.
pub fn directory(key: &'static str, raw: &Sourced<String>) -> Result<PathBuf, ConfigError> {
    let path = path(key, raw)?;
    let metadata = std::fs::metadata(&path).map_err(|source| {
        let path = path.clone();
        invalid(key, raw, Problem::Inaccessible { path, source })
    })?;
    if !metadata.is_dir() {
        return Err(invalid(key, raw, Problem::NotADirectory { path }));
    }
    Ok(path)
}

/// A path to an existing regular file (or a symlink to one). Its content is not read here.
pub fn file(key: &'static str, raw: &Sourced<String>) -> Result<PathBuf, ConfigError> {
    let path = path(key, raw)?;
    let metadata = std::fs::metadata(&path).map_err(|source| {
        let path = path.clone();
        invalid(key, raw, Problem::Inaccessible { path, source })
    })?;
    if !metadata.is_file() {
        return Err(invalid(key, raw, Problem::NotAFile { path }));
    }
    Ok(path)
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

//! The agent's own validation rules, next to the shared ones it re-exports: each turns a raw
//! [`Sourced`] string into a typed value or an [`Invalid`] that names the key and where the
//! value came from. The node name's rule lives in [`super::node_name`].

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

pub use edgeward_runtime::rules::{
    directory, file, integer, log_filter, log_format, non_empty, path,
};
use url::Url;

use super::Sourced;
use super::error::{Invalid, Problem};

/// Shortest accepted sampling interval. Low enough for tests that sample fast; production
/// should keep the default of 15 s.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// An absolute `https://` URL.
pub fn https_url(key: &'static str, raw: &Sourced<String>) -> Result<Url, Invalid> {
    let url = Url::parse(&raw.value).map_err(|source| {
        let value = raw.value.clone();
        Invalid::new(key, raw, Problem::Url { value, source })
    })?;
    if url.scheme() != "https" {
        let value = raw.value.clone();
        return Err(Invalid::new(key, raw, Problem::NotHttps { value }));
    }
    Ok(url)
}

/// A humantime duration of at least [`MIN_INTERVAL`].
pub fn interval(key: &'static str, raw: &Sourced<String>) -> Result<Duration, Invalid> {
    duration(key, raw, MIN_INTERVAL..=Duration::MAX)
}

/// A humantime duration within `range`.
pub fn duration(
    key: &'static str,
    raw: &Sourced<String>,
    range: RangeInclusive<Duration>,
) -> Result<Duration, Invalid> {
    let value = raw.value.clone();
    let duration = humantime::parse_duration(raw.value.trim())
        .map_err(|source| Invalid::new(key, raw, Problem::Duration { value, source }))?;
    let (minimum, maximum) = range.into_inner();
    let value = raw.value.clone();
    if duration < minimum {
        return Err(Invalid::new(key, raw, Problem::TooShort { value, minimum }));
    }
    if duration > maximum {
        return Err(Invalid::new(key, raw, Problem::TooLong { value, maximum }));
    }
    Ok(duration)
}

/// A non-empty absolute path. It is not checked to exist: it names a place on the host,
/// which the probes resolve under `host_root`.
pub fn absolute_path(key: &'static str, raw: &Sourced<String>) -> Result<PathBuf, Invalid> {
    let path = path(key, raw)?;
    if !path.is_absolute() {
        return Err(Invalid::new(key, raw, Problem::NotAbsolute { path }));
    }
    Ok(path)
}

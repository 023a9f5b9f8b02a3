//! The agent's own validation rules, next to the shared ones it re-exports: each turns a raw
//! [`Sourced`] string into a typed value or an [`Invalid`] that names the key and where the
//! value came from. The node name's rule lives in [`super::node_name`].

use std::fs::Metadata;
use std::path::PathBuf;
use std::time::Duration;

pub use edgeward_runtime::rules::{log_filter, log_format, non_empty, path};
use url::Url;

use super::Sourced;
use super::error::{Invalid, Problem};

/// Shortest accepted sampling interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

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
    let value = raw.value.clone();
    let duration = humantime::parse_duration(raw.value.trim())
        .map_err(|source| Invalid::new(key, raw, Problem::Duration { value, source }))?;
    if duration < MIN_INTERVAL {
        let value = raw.value.clone();
        let minimum = MIN_INTERVAL;
        return Err(Invalid::new(key, raw, Problem::TooShort { value, minimum }));
    }
    Ok(duration)
}

/// A path to an existing directory.
pub fn directory(key: &'static str, raw: &Sourced<String>) -> Result<PathBuf, Invalid> {
    existing(key, raw, Metadata::is_dir, |path| Problem::NotADirectory {
        path,
    })
}

/// A path to an existing regular file (or a symlink to one). Its content is not read here.
pub fn file(key: &'static str, raw: &Sourced<String>) -> Result<PathBuf, Invalid> {
    existing(key, raw, Metadata::is_file, |path| Problem::NotAFile {
        path,
    })
}

/// A path that exists and, by `is_kind`, is of the right kind; `wrong_kind` says it is not.
fn existing(
    key: &'static str,
    raw: &Sourced<String>,
    is_kind: fn(&Metadata) -> bool,
    wrong_kind: fn(PathBuf) -> Problem,
) -> Result<PathBuf, Invalid> {
    let path = path(key, raw)?;
    let metadata = std::fs::metadata(&path).map_err(|source| {
        let path = path.clone();
        Invalid::new(key, raw, Problem::Inaccessible { path, source })
    })?;
    if !is_kind(&metadata) {
        return Err(Invalid::new(key, raw, wrong_kind(path)));
    }
    Ok(path)
}

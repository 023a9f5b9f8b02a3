//! Settings of the fleet analysis and alert push: durations, URLs, the Alertmanager table.

use std::ops::RangeInclusive;
use std::time::Duration;

use edgeward_runtime::Sourced;

use super::{ConfigError, Invalid, Layer, Problem};
use crate::analysis::Severity;

/// Default of [`AlertmanagerConfig::resend_every`] (DOMAIN.md §6: every 30 s–3 min).
pub const DEFAULT_RESEND_EVERY: Duration = Duration::from_secs(60);
/// Allowed [`AlertmanagerConfig::resend_every`].
pub const RESEND_EVERY_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(600);

/// Where and how alerts are pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerConfig {
    /// Base URLs (`http://am:9093/`, always ending in `/` so a path prefix is kept), every
    /// member of an HA cluster.
    pub urls: Vec<url::Url>,
    /// How often active alerts are re-sent. Default: 60 s.
    pub resend_every: Duration,
    /// Findings below this severity are not pushed. Default: warning.
    pub min_severity: Severity,
}

/// A humantime duration (`15s`, `2m`) within `range`.
pub(super) fn duration(
    key: &'static str,
    raw: &Sourced<String>,
    range: RangeInclusive<Duration>,
) -> Result<Duration, Invalid> {
    let bad = || {
        Invalid::new(
            key,
            raw,
            Problem::Duration {
                value: raw.value.clone(),
                range: format!(
                    "{}..={}",
                    humantime::format_duration(*range.start()),
                    humantime::format_duration(*range.end())
                ),
            },
        )
    };
    let d = humantime::parse_duration(raw.value.trim()).map_err(|_| bad())?;
    if range.contains(&d) {
        Ok(d)
    } else {
        Err(bad())
    }
}

/// An `http://` or `https://` URL with a host, parsed by the `url` crate, its path ending
/// in `/`.
pub(super) fn url(key: &'static str, raw: &Sourced<String>) -> Result<url::Url, Invalid> {
    let bad = || {
        Invalid::new(
            key,
            raw,
            Problem::Url {
                value: raw.value.clone(),
            },
        )
    };
    let mut u = url::Url::parse(raw.value.trim()).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    if !u.path().ends_with('/') {
        let path = format!("{}/", u.path());
        u.set_path(&path);
    }
    Ok(u)
}

/// The `[alertmanager]` settings; `None` without URLs. Resend or severity without URLs is
/// incomplete.
pub(super) fn alertmanager(raw: &Layer) -> Result<Option<AlertmanagerConfig>, ConfigError> {
    let Some(urls) = &raw.alertmanager_urls else {
        for (key, v) in [
            ("alertmanager.resend_every", &raw.alertmanager_resend_every),
            ("alertmanager.min_severity", &raw.alertmanager_min_severity),
        ] {
            if let Some(v) = v {
                return Err(ConfigError::Incomplete {
                    key,
                    origin: v.origin.clone(),
                    missing: "alertmanager.urls",
                });
            }
        }
        return Ok(None);
    };
    let mut list = Vec::new();
    for part in urls
        .value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let one = Sourced {
            value: part.to_owned(),
            origin: urls.origin.clone(),
        };
        list.push(url("alertmanager.urls", &one)?);
    }
    if list.is_empty() {
        return Err(Invalid::new(
            "alertmanager.urls",
            urls,
            Problem::Url {
                value: urls.value.clone(),
            },
        )
        .into());
    }
    let resend_every = match &raw.alertmanager_resend_every {
        Some(d) => duration("alertmanager.resend_every", d, RESEND_EVERY_RANGE)?,
        None => DEFAULT_RESEND_EVERY,
    };
    let min_severity = match &raw.alertmanager_min_severity {
        Some(s) => Severity::parse(s.value.trim()).ok_or_else(|| {
            Invalid::new(
                "alertmanager.min_severity",
                s,
                Problem::Severity {
                    value: s.value.clone(),
                },
            )
        })?,
        None => Severity::Warning,
    };
    Ok(Some(AlertmanagerConfig {
        urls: list,
        resend_every,
        min_severity,
    }))
}

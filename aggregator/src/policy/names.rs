//! The rules for names a policy defines or refers to: groups, windows, channels, cluster ids,
//! cluster names, cluster labels and alert labels.

use std::collections::BTreeMap;

use edgeward_proto::ClusterId;
use toml::Spanned;

use super::error::{Locator, PolicyError, Problem};

/// Label names the alerting module sets itself; a policy may not override them.
pub const RESERVED_ALERT_LABELS: [&str; 5] =
    ["alertname", "severity", "cluster", "node", "finding"];

/// A group, window or channel name: 1 to 63 bytes of `[a-z0-9._-]`, starting with a letter or
/// digit (`nights`, `shop-eu`, `v1.30`).
pub(crate) fn identifier(
    what: &'static str,
    raw: &Spanned<String>,
    at: &Locator<'_>,
) -> Result<String, PolicyError> {
    let name = raw.get_ref();
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        return Ok(name.clone());
    }
    let problem = Problem::Name {
        what,
        value: name.clone(),
        rule: "1 to 63 of a-z 0-9 . _ - starting with a letter or digit",
    };
    Err(at.error(raw.span(), problem))
}

/// A cluster id as agents report it. Hexadecimal ids (the SHA-256 of the cluster CA) must be
/// lowercase, as agents write them, so that a pasted uppercase id is not silently unmatched.
pub(crate) fn cluster_id(
    raw: &Spanned<String>,
    at: &Locator<'_>,
) -> Result<ClusterId, PolicyError> {
    let text = raw.get_ref();
    let problem = |reason: String| {
        let value = text.clone();
        at.error(raw.span(), Problem::ClusterId { value, reason })
    };
    let hex_like = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if hex_like && text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(problem(
            "write the hexadecimal id in lowercase, as agents report it".to_owned(),
        ));
    }
    ClusterId::new(text.clone()).map_err(|e| problem(e.to_string()))
}

/// A human name for a cluster: 1 to 128 characters, no control characters.
pub(crate) fn display_name(raw: &Spanned<String>, at: &Locator<'_>) -> Result<String, PolicyError> {
    let name = raw.get_ref();
    if !name.is_empty() && name.chars().count() <= 128 && !name.chars().any(char::is_control) {
        return Ok(name.clone());
    }
    let problem = Problem::Name {
        what: "cluster name",
        value: name.clone(),
        rule: "1 to 128 characters without control characters",
    };
    Err(at.error(raw.span(), problem))
}

/// Cluster labels and `match_labels`: keys of 1 to 253 bytes of `[A-Za-z0-9._/-]`, values of
/// at most 253 characters without control characters.
pub(crate) fn labels(
    raw: &Spanned<BTreeMap<String, String>>,
    at: &Locator<'_>,
) -> Result<BTreeMap<String, String>, PolicyError> {
    for (key, value) in raw.get_ref() {
        let key_ok = !key.is_empty()
            && key.len() <= 253
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
        if !key_ok {
            let problem = Problem::Name {
                what: "label name",
                value: key.clone(),
                rule: "1 to 253 of A-Z a-z 0-9 . _ / -",
            };
            return Err(at.error(raw.span(), problem));
        }
        if value.chars().count() > 253 || value.chars().any(char::is_control) {
            let problem = Problem::Name {
                what: "label value",
                value: value.clone(),
                rule: "at most 253 characters without control characters",
            };
            return Err(at.error(raw.span(), problem));
        }
    }
    Ok(raw.get_ref().clone())
}

/// Extra Alertmanager labels: Prometheus label names (`[a-zA-Z_][a-zA-Z0-9_]*`, not `__…`,
/// not one of [`RESERVED_ALERT_LABELS`]) with non-empty values (Alertmanager drops empty ones).
pub(crate) fn alert_labels(
    raw: &Spanned<BTreeMap<String, String>>,
    at: &Locator<'_>,
) -> Result<BTreeMap<String, String>, PolicyError> {
    for (key, value) in raw.get_ref() {
        let mut bytes = key.bytes();
        let rule = if !bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            Some("a Prometheus label name: a-z A-Z 0-9 _, not starting with a digit")
        } else if key.starts_with("__") {
            Some("names starting with __ are reserved by Prometheus")
        } else if RESERVED_ALERT_LABELS.contains(&key.as_str()) {
            Some("alertname, severity, cluster, node and finding are set by edgeward")
        } else {
            None
        };
        if let Some(rule) = rule {
            let value = key.clone();
            let problem = Problem::Name {
                what: "alert label",
                value,
                rule,
            };
            return Err(at.error(raw.span(), problem));
        }
        if value.is_empty() || value.chars().any(char::is_control) {
            let problem = Problem::Name {
                what: "alert label value",
                value: value.clone(),
                rule: "non-empty, without control characters",
            };
            return Err(at.error(raw.span(), problem));
        }
    }
    Ok(raw.get_ref().clone())
}

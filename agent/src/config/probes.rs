//! The probes' settings: the TOML tables `[kubelet]`, `[datastore]`, `[disk_audit]` and
//! `[inventory]`. They are file-only (no flags or environment variables): they describe the
//! node, which a config file or ConfigMap does once, while flags cover the pipeline.
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `kubelet.enabled` | `true` | run the kubelet probe |
//! | `kubelet.healthz_url` | `http://127.0.0.1:10248/healthz` | liveness endpoint (DOMAIN.md §1) |
//! | `kubelet.api_url` | `https://127.0.0.1:10250` | authenticated kubelet API |
//! | `kubelet.ca_file` | K3s `agent/server-ca.crt` or MicroK8s `certs/ca.crt` under `host_root` | CA of the kubelet's serving certificate |
//! | `kubelet.client_cert`, `kubelet.client_key` | K3s server `server/tls/client-kube-apiserver.{crt,key}` under `host_root`, when present | client certificate (systemd mode) |
//! | `kubelet.token_file` | the pod's ServiceAccount token, when present | bearer token (DaemonSet mode) |
//! | `kubelet.server_name` | none | name to verify the kubelet's certificate against when `api_url` is an IP it does not name |
//! | `kubelet.timeout` | `5s` | per request |
//! | `datastore.enabled` | `true` | run the datastore probe |
//! | `datastore.etcd_url` | `https://127.0.0.1:2379` | etcd client URL (DOMAIN.md §3) |
//! | `datastore.etcd_metrics_url` | `http://127.0.0.1:2381/metrics` | etcd metrics |
//! | `datastore.etcd_ca_file`, `etcd_client_cert`, `etcd_client_key` | K3s `server/tls/etcd/{server-ca.crt,client.crt,client.key}` under `host_root` | etcd client TLS |
//! | `datastore.timeout` | `2s` | per etcd request |
//! | `datastore.quick_check_interval` | `1h` | SQLite `PRAGMA quick_check` |
//! | `disk_audit.enabled` | `true` | run the fdatasync audit on the datastore's disk |
//! | `disk_audit.interval` | `10m` | between audits |
//! | `disk_audit.max_bytes` | `460000` | written per audit (200 writes of 2300 bytes), at most 1 MiB |
//! | `inventory.enabled` | `true` | run the inventory probe |
//! | `inventory.check_interval` | `1m` | recompute the inventory |
//! | `inventory.refresh_interval` | `3h` | ship it even when unchanged |
//!
//! Explicitly configured files are the agent's own paths and must exist at start-up; the
//! defaults are host paths, resolved under `host_root` by the probes and allowed to be
//! missing (the probe then reports why it cannot see).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::Sourced;
use super::error::{ConfigError, Invalid, Problem};
use super::rules;

/// Raw probe settings by dotted key (`kubelet.timeout`), as read from the file.
pub type ProbeLayer = BTreeMap<&'static str, Sourced<String>>;

const TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(60);
const RATE_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(7 * 24 * 3600);
/// The bound: an audit writes at most 1 MB.
const AUDIT_BYTES_RANGE: RangeInclusive<u64> = 4096..=1 << 20;

/// The validated settings of every probe; `None` means switched off in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    pub kubelet: Option<KubeletSettings>,
    pub datastore: Option<DatastoreSettings>,
    pub disk_audit: Option<DiskAuditSettings>,
    pub inventory: Option<InventorySettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletSettings {
    pub healthz_url: Url,
    pub api_url: Url,
    /// `None`: the distro's CA under `host_root`.
    pub ca_file: Option<PathBuf>,
    /// `(cert, key)`; `None`: auto-detected under `host_root`.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// `None`: the pod's ServiceAccount token when present. Excludes `client_cert`.
    pub token_file: Option<PathBuf>,
    pub server_name: Option<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreSettings {
    pub etcd_url: Url,
    pub etcd_metrics_url: Url,
    pub etcd_ca_file: Option<PathBuf>,
    pub etcd_client_cert: Option<(PathBuf, PathBuf)>,
    pub timeout: Duration,
    pub quick_check_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskAuditSettings {
    pub interval: Duration,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventorySettings {
    pub check_interval: Duration,
    pub refresh_interval: Duration,
}

/// Validates the probe keys of `raw`.
pub(super) fn resolve(raw: &ProbeLayer) -> Result<Probes, ConfigError> {
    let get = |key: &'static str, default: &str| {
        raw.get(key)
            .cloned()
            .unwrap_or_else(|| Sourced::default_value(default))
    };
    let enabled = |key: &'static str| boolean(key, &get(key, "true"));
    let file = |key: &'static str| raw.get(key).map(|v| rules::file(key, v)).transpose();
    let pair = |cert: &'static str, key: &'static str| -> Result<_, ConfigError> {
        match (raw.get(cert), raw.get(key)) {
            (Some(c), Some(k)) => Ok(Some((rules::file(cert, c)?, rules::file(key, k)?))),
            (None, None) => Ok(None),
            (Some(c), None) => Err(ConfigError::Incomplete {
                key: cert,
                origin: c.origin.clone(),
                missing: key,
            }),
            (None, Some(k)) => Err(ConfigError::Incomplete {
                key,
                origin: k.origin.clone(),
                missing: cert,
            }),
        }
    };
    if let (Some(cert), Some(token)) = (
        raw.get("kubelet.client_cert"),
        raw.get("kubelet.token_file"),
    ) {
        return Err(ConfigError::Conflict {
            key: "kubelet.client_cert",
            origin: cert.origin.clone(),
            other: "kubelet.token_file",
            other_origin: token.origin.clone(),
        });
    }
    let kubelet = if enabled("kubelet.enabled")? {
        Some(KubeletSettings {
            healthz_url: http_url(
                "kubelet.healthz_url",
                &get("kubelet.healthz_url", "http://127.0.0.1:10248/healthz"),
            )?,
            api_url: http_url(
                "kubelet.api_url",
                &get("kubelet.api_url", "https://127.0.0.1:10250"),
            )?,
            ca_file: file("kubelet.ca_file")?,
            client_cert: pair("kubelet.client_cert", "kubelet.client_key")?,
            token_file: file("kubelet.token_file")?,
            server_name: raw
                .get("kubelet.server_name")
                .map(|v| rules::non_empty("kubelet.server_name", v))
                .transpose()?,
            timeout: rules::duration(
                "kubelet.timeout",
                &get("kubelet.timeout", "5s"),
                TIMEOUT_RANGE,
            )?,
        })
    } else {
        None
    };
    let datastore = if enabled("datastore.enabled")? {
        Some(DatastoreSettings {
            etcd_url: http_url(
                "datastore.etcd_url",
                &get("datastore.etcd_url", "https://127.0.0.1:2379"),
            )?,
            etcd_metrics_url: http_url(
                "datastore.etcd_metrics_url",
                &get(
                    "datastore.etcd_metrics_url",
                    "http://127.0.0.1:2381/metrics",
                ),
            )?,
            etcd_ca_file: file("datastore.etcd_ca_file")?,
            etcd_client_cert: pair("datastore.etcd_client_cert", "datastore.etcd_client_key")?,
            timeout: rules::duration(
                "datastore.timeout",
                &get("datastore.timeout", "2s"),
                TIMEOUT_RANGE,
            )?,
            quick_check_interval: rules::duration(
                "datastore.quick_check_interval",
                &get("datastore.quick_check_interval", "1h"),
                RATE_RANGE,
            )?,
        })
    } else {
        None
    };
    let disk_audit = if enabled("disk_audit.enabled")? {
        Some(DiskAuditSettings {
            interval: rules::duration(
                "disk_audit.interval",
                &get("disk_audit.interval", "10m"),
                RATE_RANGE,
            )?,
            max_bytes: rules::integer(
                "disk_audit.max_bytes",
                &get("disk_audit.max_bytes", "460000"),
                AUDIT_BYTES_RANGE,
            )?,
        })
    } else {
        None
    };
    let inventory = if enabled("inventory.enabled")? {
        Some(InventorySettings {
            check_interval: rules::duration(
                "inventory.check_interval",
                &get("inventory.check_interval", "1m"),
                RATE_RANGE,
            )?,
            refresh_interval: rules::duration(
                "inventory.refresh_interval",
                &get("inventory.refresh_interval", "3h"),
                RATE_RANGE,
            )?,
        })
    } else {
        None
    };
    Ok(Probes {
        kubelet,
        datastore,
        disk_audit,
        inventory,
    })
}

/// `true` or `false`.
fn boolean(key: &'static str, raw: &Sourced<String>) -> Result<bool, Invalid> {
    match raw.value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Invalid::new(
            key,
            raw,
            Problem::NotBoolean {
                value: raw.value.clone(),
            },
        )),
    }
}

/// An absolute `http://` or `https://` URL.
fn http_url(key: &'static str, raw: &Sourced<String>) -> Result<Url, Invalid> {
    let url = Url::parse(&raw.value).map_err(|source| {
        let value = raw.value.clone();
        Invalid::new(key, raw, Problem::Url { value, source })
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        let value = raw.value.clone();
        return Err(Invalid::new(key, raw, Problem::NotHttp { value }));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;

    fn at_line(line: usize) -> Origin {
        Origin::File {
            path: PathBuf::from("agent.toml"),
            line,
        }
    }

    #[test]
    fn defaults_enable_every_probe_with_the_documented_values() {
        let p = resolve(&ProbeLayer::new()).expect("defaults");
        let k = p.kubelet.expect("kubelet on");
        assert_eq!(k.healthz_url.as_str(), "http://127.0.0.1:10248/healthz");
        assert_eq!(k.api_url.as_str(), "https://127.0.0.1:10250/");
        assert_eq!(k.timeout, Duration::from_secs(5));
        let d = p.datastore.expect("datastore on");
        assert_eq!(d.etcd_metrics_url.as_str(), "http://127.0.0.1:2381/metrics");
        assert_eq!(d.quick_check_interval, Duration::from_secs(3600));
        let a = p.disk_audit.expect("audit on");
        assert_eq!(
            (a.interval, a.max_bytes),
            (Duration::from_secs(600), 460_000)
        );
        let i = p.inventory.expect("inventory on");
        assert_eq!(i.refresh_interval, Duration::from_secs(3 * 3600));
    }

    #[test]
    fn disabled_probe_is_none_and_bad_values_name_key_and_line() {
        let mut raw = ProbeLayer::new();
        raw.insert("kubelet.enabled", Sourced::new("false", at_line(3)));
        assert_eq!(resolve(&raw).expect("valid").kubelet, None);
        for (key, value) in [
            ("inventory.enabled", "yes"),
            ("kubelet.healthz_url", "ftp://x/healthz"),
            ("kubelet.timeout", "5 parsecs"),
            ("disk_audit.max_bytes", "2000000"),
            ("datastore.quick_check_interval", "10ms"),
        ] {
            let mut raw = ProbeLayer::new();
            raw.insert(key, Sourced::new(value, at_line(7)));
            let err = resolve(&raw).expect_err(key).to_string();
            assert!(err.contains(key), "{err}");
            assert!(err.contains("line 7"), "{err}");
        }
    }

    #[test]
    fn a_client_cert_without_its_key_is_incomplete() {
        let mut raw = ProbeLayer::new();
        raw.insert(
            "kubelet.client_cert",
            Sourced::new("/etc/hosts", at_line(2)),
        );
        assert!(matches!(
            resolve(&raw),
            Err(ConfigError::Incomplete {
                missing: "kubelet.client_key",
                ..
            })
        ));
    }
}

//! The TOML config file: its schema, and turning it into a [`Layer`] whose values remember
//! their line.
//!
//! Unknown keys are errors (`deny_unknown_fields`), so a typo is reported rather than ignored.

use std::path::PathBuf;

use edgeward_runtime::{ConfigFile, ConfigFileError};
use serde::Deserialize;
use toml::Spanned;

use super::probes::ProbeLayer;
use super::{Layer, Sourced};

/// The file as written. Defaults live in [`super::Config`], not here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Default: the host name under `host_root`.
    node_name: Option<Spanned<String>>,
    /// Default: none.
    cluster_name: Option<Spanned<String>>,
    /// Required.
    aggregator_url: Option<Spanned<String>>,
    /// Default: `"15s"`.
    interval: Option<Spanned<String>>,
    /// Default: `"/"`.
    host_root: Option<Spanned<String>>,
    /// Default: `"/var/lib/edgeward-agent"`.
    data_dir: Option<Spanned<String>>,
    /// An integer of bytes. Default: `67108864` (64 MiB).
    outbox_max_bytes: Option<Spanned<i64>>,
    /// An integer of bytes. Default: `1048576` (1 MiB).
    max_batch_bytes: Option<Spanned<i64>>,
    /// Default: `"60s"`.
    backoff_max: Option<Spanned<String>>,
    /// Default: `"30s"`.
    request_timeout: Option<Spanned<String>>,
    /// Default: `"/var/lib/kubelet"`.
    node_fs: Option<Spanned<String>>,
    /// Default: `"/var/lib/rancher/k3s/agent/containerd"`.
    image_fs: Option<Spanned<String>>,
    /// Default: `"plain"`.
    log_format: Option<Spanned<String>>,
    /// Default: no TLS settings.
    tls: Option<RawTls>,
    /// Probe tables; keys and defaults in [`super::probes`].
    kubelet: Option<RawKubelet>,
    datastore: Option<RawDatastore>,
    disk_audit: Option<RawDiskAudit>,
    inventory: Option<RawInventory>,
}

/// `[kubelet]`. Defaults in [`super::probes`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubelet {
    enabled: Option<Spanned<bool>>,
    healthz_url: Option<Spanned<String>>,
    api_url: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    client_cert: Option<Spanned<String>>,
    client_key: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    server_name: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

/// `[datastore]`. Defaults in [`super::probes`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatastore {
    enabled: Option<Spanned<bool>>,
    etcd_url: Option<Spanned<String>>,
    etcd_metrics_url: Option<Spanned<String>>,
    etcd_ca_file: Option<Spanned<String>>,
    etcd_client_cert: Option<Spanned<String>>,
    etcd_client_key: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    quick_check_interval: Option<Spanned<String>>,
}

/// `[disk_audit]`. Defaults in [`super::probes`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiskAudit {
    enabled: Option<Spanned<bool>>,
    interval: Option<Spanned<String>>,
    max_bytes: Option<Spanned<i64>>,
}

/// `[inventory]`. Defaults in [`super::probes`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    enabled: Option<Spanned<bool>>,
    check_interval: Option<Spanned<String>>,
    refresh_interval: Option<Spanned<String>>,
}

/// The `[tls]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    /// Default: none (system roots).
    ca_file: Option<Spanned<String>>,
    /// Default: none.
    client_cert: Option<Spanned<String>>,
    /// Default: none.
    client_key: Option<Spanned<String>>,
    /// Default: none.
    token_file: Option<Spanned<String>>,
}

/// Reads and parses the config file named by `path`.
pub fn read(path: &Sourced<PathBuf>) -> Result<Layer, ConfigFileError> {
    parse(&ConfigFile::read(path)?)
}

/// Parses `file` into a layer; the `[tls]` keys become the `tls_*` fields. The integer byte
/// sizes become their decimal text, so that every layer holds text and one rule validates it.
pub fn parse(file: &ConfigFile) -> Result<Layer, ConfigFileError> {
    let raw: RawFile = file.parse()?;
    let tls = raw.tls.unwrap_or_default();
    let mut probes = ProbeLayer::new();
    let mut put = |key: &'static str, value: Option<Sourced<String>>| {
        if let Some(v) = value {
            probes.insert(key, v);
        }
    };
    let k = raw.kubelet.unwrap_or_default();
    put("kubelet.enabled", file.sourced(k.enabled));
    put("kubelet.healthz_url", file.sourced(k.healthz_url));
    put("kubelet.api_url", file.sourced(k.api_url));
    put("kubelet.ca_file", file.sourced(k.ca_file));
    put("kubelet.client_cert", file.sourced(k.client_cert));
    put("kubelet.client_key", file.sourced(k.client_key));
    put("kubelet.token_file", file.sourced(k.token_file));
    put("kubelet.server_name", file.sourced(k.server_name));
    put("kubelet.timeout", file.sourced(k.timeout));
    let d = raw.datastore.unwrap_or_default();
    put("datastore.enabled", file.sourced(d.enabled));
    put("datastore.etcd_url", file.sourced(d.etcd_url));
    put(
        "datastore.etcd_metrics_url",
        file.sourced(d.etcd_metrics_url),
    );
    put("datastore.etcd_ca_file", file.sourced(d.etcd_ca_file));
    put(
        "datastore.etcd_client_cert",
        file.sourced(d.etcd_client_cert),
    );
    put("datastore.etcd_client_key", file.sourced(d.etcd_client_key));
    put("datastore.timeout", file.sourced(d.timeout));
    put(
        "datastore.quick_check_interval",
        file.sourced(d.quick_check_interval),
    );
    let a = raw.disk_audit.unwrap_or_default();
    put("disk_audit.enabled", file.sourced(a.enabled));
    put("disk_audit.interval", file.sourced(a.interval));
    put("disk_audit.max_bytes", file.sourced(a.max_bytes));
    let i = raw.inventory.unwrap_or_default();
    put("inventory.enabled", file.sourced(i.enabled));
    put("inventory.check_interval", file.sourced(i.check_interval));
    put(
        "inventory.refresh_interval",
        file.sourced(i.refresh_interval),
    );
    Ok(Layer {
        node_name: file.sourced(raw.node_name),
        cluster_name: file.sourced(raw.cluster_name),
        aggregator_url: file.sourced(raw.aggregator_url),
        interval: file.sourced(raw.interval),
        host_root: file.sourced(raw.host_root),
        data_dir: file.sourced(raw.data_dir),
        outbox_max_bytes: file.sourced(raw.outbox_max_bytes),
        max_batch_bytes: file.sourced(raw.max_batch_bytes),
        backoff_max: file.sourced(raw.backoff_max),
        request_timeout: file.sourced(raw.request_timeout),
        node_fs: file.sourced(raw.node_fs),
        image_fs: file.sourced(raw.image_fs),
        log_format: file.sourced(raw.log_format),
        tls_ca_file: file.sourced(tls.ca_file),
        tls_client_cert: file.sourced(tls.client_cert),
        tls_client_key: file.sourced(tls.client_key),
        tls_token_file: file.sourced(tls.token_file),
        probes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;

    fn parse_text(text: &str) -> Result<Layer, ConfigFileError> {
        parse(&ConfigFile::new("agent.toml", text))
    }

    #[test]
    fn values_remember_their_file_and_line_in_the_tls_table_too() {
        let text =
            "# agent\naggregator_url = \"https://a.example\"\n\n[tls]\nca_file = \"ca.pem\"\n";
        let layer = parse_text(text).expect("valid");
        let at = |line| Origin::File {
            path: PathBuf::from("agent.toml"),
            line,
        };
        assert_eq!(
            layer.aggregator_url,
            Some(Sourced::new("https://a.example", at(2)))
        );
        assert_eq!(layer.tls_ca_file, Some(Sourced::new("ca.pem", at(5))));
        assert_eq!(layer.interval, None);
    }

    #[test]
    fn byte_sizes_are_integers_in_the_file() {
        let layer =
            parse_text("outbox_max_bytes = 65536\nmax_batch_bytes = 8192\n").expect("valid");
        assert_eq!(
            layer.outbox_max_bytes.map(|bytes| bytes.value),
            Some("65536".to_owned())
        );
        assert_eq!(
            layer.max_batch_bytes.map(|bytes| bytes.value),
            Some("8192".to_owned())
        );
        for text in [
            "outbox_max_bytes = \"64MiB\"\n",
            "max_batch_bytes = \"1MiB\"\n",
        ] {
            assert!(
                matches!(
                    parse_text(text),
                    Err(ConfigFileError::Parse { line: Some(1), .. })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn probe_tables_become_dotted_keys_with_their_lines() {
        let layer = parse_text("[kubelet]\nenabled = false\n\n[disk_audit]\nmax_bytes = 65536\n")
            .expect("valid");
        let at = |line| Origin::File {
            path: PathBuf::from("agent.toml"),
            line,
        };
        assert_eq!(
            layer.probes.get("kubelet.enabled"),
            Some(&Sourced::new("false", at(2)))
        );
        assert_eq!(
            layer.probes.get("disk_audit.max_bytes"),
            Some(&Sourced::new("65536", at(5)))
        );
        assert!(parse_text("[inventory]\nrefresh = \"1h\"\n").is_err());
    }

    #[test]
    fn empty_file_sets_nothing() {
        assert_eq!(parse_text("").expect("valid"), Layer::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line_at_top_level_and_in_tls() {
        for (text, key, line) in [
            ("interval = \"15s\"\ncolour = \"blue\"\n", "colour", 2),
            (
                "[tls]\nca_file = \"ca.pem\"\npassword = \"x\"\n",
                "password",
                3,
            ),
        ] {
            match parse_text(text) {
                Err(ConfigFileError::Parse {
                    line: Some(at),
                    message,
                    ..
                }) => {
                    assert_eq!(at, line, "{text:?}");
                    assert!(message.contains(key), "{message}");
                }
                other => panic!("expected a parse error for {key}, got {other:?}"),
            }
        }
    }
}

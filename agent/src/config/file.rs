//! The TOML config file: its schema, and turning it into a [`Layer`] whose values remember
//! their line.
//!
//! Unknown keys are errors (`deny_unknown_fields`), so a typo is reported rather than ignored.

use std::path::PathBuf;

use edgeward_runtime::{ConfigFile, ConfigFileError};
use serde::Deserialize;
use toml::Spanned;

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

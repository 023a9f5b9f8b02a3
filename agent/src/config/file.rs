//! The TOML config file: its schema, and turning it into a [`Layer`] whose values remember
//! their line.
//!
//! Unknown keys are errors (`deny_unknown_fields`), so a typo is reported rather than ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::Layer;
use super::error::ConfigError;
use super::origin::{Origin, Sourced};

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
    /// Default: `"plain"`.
    log_format: Option<Spanned<String>>,
    /// Default: no TLS settings.
    tls: Option<RawTls>,
}

/// The `[tls]` table as written.
#[derive(Debug, Deserialize)]
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
pub fn read(path: &Sourced<PathBuf>) -> Result<Layer, ConfigError> {
    let text = std::fs::read_to_string(&path.value).map_err(|source| ConfigError::ReadFile {
        path: path.value.clone(),
        origin: path.origin.clone(),
        source,
    })?;
    parse(&path.value, &text)
}

/// Parses config file `text`, read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Layer, ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        line: e.span().map(|span| line_of(text, span.start)),
        message: one_line(e.message()),
    })?;
    let sourced = |value: Option<Spanned<String>>| {
        value.map(|v| {
            let line = line_of(text, v.span().start);
            Sourced::new(
                v.into_inner(),
                Origin::File {
                    path: path.to_owned(),
                    line,
                },
            )
        })
    };
    let tls = raw.tls.unwrap_or(RawTls {
        ca_file: None,
        client_cert: None,
        client_key: None,
        token_file: None,
    });
    Ok(Layer {
        node_name: sourced(raw.node_name),
        cluster_name: sourced(raw.cluster_name),
        aggregator_url: sourced(raw.aggregator_url),
        interval: sourced(raw.interval),
        host_root: sourced(raw.host_root),
        data_dir: sourced(raw.data_dir),
        log_format: sourced(raw.log_format),
        tls_ca_file: sourced(tls.ca_file),
        tls_client_cert: sourced(tls.client_cert),
        tls_client_key: sourced(tls.client_key),
        tls_token_file: sourced(tls.token_file),
    })
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Config errors are printed on one line; the TOML parser's messages rarely span more.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> (Option<usize>, String) {
        match parse(Path::new("agent.toml"), text) {
            Err(ConfigError::Parse { line, message, .. }) => (line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn values_remember_their_file_and_line() {
        let text =
            "# agent\naggregator_url = \"https://a.example\"\n\n[tls]\nca_file = \"ca.pem\"\n";
        let layer = parse(Path::new("agent.toml"), text).expect("valid");
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
    fn empty_file_sets_nothing() {
        let layer = parse(Path::new("agent.toml"), "").expect("valid");
        assert_eq!(layer, Layer::default());
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let (line, message) = parse_err("interval = \"15s\"\ncolour = \"blue\"\n");
        assert_eq!(line, Some(2));
        assert!(message.contains("colour"), "{message}");
    }

    #[test]
    fn unknown_key_in_tls_table_is_rejected() {
        let (line, message) = parse_err("[tls]\nca_file = \"ca.pem\"\npassword = \"x\"\n");
        assert_eq!(line, Some(3));
        assert!(message.contains("password"), "{message}");
    }

    #[test]
    fn wrong_value_type_is_rejected() {
        let (line, _) = parse_err("\ninterval = 15\n");
        assert_eq!(line, Some(2));
    }

    #[test]
    fn malformed_toml_is_rejected_on_one_line() {
        let (line, message) = parse_err("aggregator_url = \"https://a.example\"\ninterval = \n");
        assert_eq!(line, Some(2));
        assert!(!message.contains('\n'));
    }
}

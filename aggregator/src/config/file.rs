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
    /// Default: `"127.0.0.1:7443"`.
    listen: Option<Spanned<String>>,
    /// Default: `"/var/lib/edgeward-aggregator"`.
    data_dir: Option<Spanned<String>>,
    /// An integer of bytes. Default: `16777216` (16 MiB).
    max_batch_bytes: Option<Spanned<i64>>,
    /// An integer of samples. Default: `5760`.
    history_per_node: Option<Spanned<i64>>,
    /// Default: none.
    tokens_file: Option<Spanned<String>>,
    /// Default: `"plain"`.
    log_format: Option<Spanned<String>>,
    /// Default: no TLS settings (plain HTTP).
    tls: Option<RawTls>,
    /// Default: none.
    policy_file: Option<Spanned<String>>,
    /// Default: `"15s"`.
    evaluate_every: Option<Spanned<String>>,
    /// Default: none.
    external_url: Option<Spanned<String>>,
    /// Default: no alert push.
    alertmanager: Option<RawAlertmanager>,
}

/// The `[alertmanager]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertmanager {
    /// Default: none.
    urls: Option<Spanned<Vec<String>>>,
    /// Default: `"60s"`.
    resend_every: Option<Spanned<String>>,
    /// Default: `"warning"`.
    min_severity: Option<Spanned<String>>,
}

/// The `[tls]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    /// Default: none.
    cert_file: Option<Spanned<String>>,
    /// Default: none.
    key_file: Option<Spanned<String>>,
    /// Default: none.
    client_ca_file: Option<Spanned<String>>,
}

/// Reads and parses the config file named by `path`.
pub fn read(path: &Sourced<PathBuf>) -> Result<Layer, ConfigFileError> {
    parse(&ConfigFile::read(path)?)
}

/// Parses `file` into a layer; the `[tls]` keys become the `tls_*` fields. The integers
/// `max_batch_bytes` and `history_per_node` become their decimal text, so that every layer
/// holds text and one rule validates it.
pub fn parse(file: &ConfigFile) -> Result<Layer, ConfigFileError> {
    let raw: RawFile = file.parse()?;
    let tls = raw.tls.unwrap_or_default();
    let am = raw.alertmanager.unwrap_or_default();
    let urls = am.urls.map(|u| {
        let span = u.span();
        Spanned::new(span, u.into_inner().join(","))
    });
    Ok(Layer {
        policy_file: file.sourced(raw.policy_file),
        evaluate_every: file.sourced(raw.evaluate_every),
        external_url: file.sourced(raw.external_url),
        alertmanager_urls: file.sourced(urls),
        alertmanager_resend_every: file.sourced(am.resend_every),
        alertmanager_min_severity: file.sourced(am.min_severity),
        listen: file.sourced(raw.listen),
        data_dir: file.sourced(raw.data_dir),
        max_batch_bytes: file.sourced(raw.max_batch_bytes),
        history_per_node: file.sourced(raw.history_per_node),
        tokens_file: file.sourced(raw.tokens_file),
        log_format: file.sourced(raw.log_format),
        tls_cert_file: file.sourced(tls.cert_file),
        tls_key_file: file.sourced(tls.key_file),
        tls_client_ca_file: file.sourced(tls.client_ca_file),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;

    fn parse_text(text: &str) -> Result<Layer, ConfigFileError> {
        parse(&ConfigFile::new("aggregator.toml", text))
    }

    fn parse_err(text: &str) -> (Option<usize>, String) {
        match parse_text(text) {
            Err(ConfigFileError::Parse { line, message, .. }) => (line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn values_remember_their_file_and_line() {
        let text = "listen = \"0.0.0.0:7443\"\n\nmax_batch_bytes = 2048\n";
        let layer = parse_text(text).expect("valid");
        let at = |line| Origin::File {
            path: PathBuf::from("aggregator.toml"),
            line,
        };
        assert_eq!(layer.listen, Some(Sourced::new("0.0.0.0:7443", at(1))));
        assert_eq!(layer.max_batch_bytes, Some(Sourced::new("2048", at(3))));
        assert_eq!(layer.data_dir, None);
    }

    #[test]
    fn tls_table_and_new_keys_remember_their_line() {
        let text = "history_per_node = 100\ntokens_file = \"tokens\"\n\n[tls]\n\
                    cert_file = \"server.crt\"\nkey_file = \"server.key\"\n\
                    client_ca_file = \"clients.pem\"\n";
        let layer = parse_text(text).expect("valid");
        let at = |line| Origin::File {
            path: PathBuf::from("aggregator.toml"),
            line,
        };
        assert_eq!(layer.history_per_node, Some(Sourced::new("100", at(1))));
        assert_eq!(layer.tokens_file, Some(Sourced::new("tokens", at(2))));
        assert_eq!(layer.tls_cert_file, Some(Sourced::new("server.crt", at(5))));
        assert_eq!(layer.tls_key_file, Some(Sourced::new("server.key", at(6))));
        assert_eq!(
            layer.tls_client_ca_file,
            Some(Sourced::new("clients.pem", at(7)))
        );
    }

    #[test]
    fn unknown_key_in_tls_table_is_named_with_its_line() {
        let (line, message) = parse_err("[tls]\ncert_file = \"a\"\nca_file = \"b\"\n");
        assert_eq!(line, Some(3));
        assert!(message.contains("ca_file"), "{message}");
    }

    #[test]
    fn history_per_node_must_be_an_integer_in_the_file() {
        let (line, _) = parse_err("listen = \"127.0.0.1:0\"\nhistory_per_node = \"24h\"\n");
        assert_eq!(line, Some(2));
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let (line, message) = parse_err("listen = \"127.0.0.1:0\"\nmax_batch = 5\n");
        assert_eq!(line, Some(2));
        assert!(message.contains("max_batch"), "{message}");
    }

    #[test]
    fn max_batch_bytes_must_be_an_integer_in_the_file() {
        let (line, _) = parse_err("max_batch_bytes = \"16MiB\"\n");
        assert_eq!(line, Some(1));
    }
}

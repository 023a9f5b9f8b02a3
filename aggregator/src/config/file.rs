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
    /// Default: `"127.0.0.1:7443"`.
    listen: Option<Spanned<String>>,
    /// Default: `"/var/lib/edgeward-aggregator"`.
    data_dir: Option<Spanned<String>>,
    /// An integer of bytes. Default: `16777216` (16 MiB).
    max_batch_bytes: Option<Spanned<i64>>,
    /// Default: `"plain"`.
    log_format: Option<Spanned<String>>,
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

/// Parses config file `text`, read from `path`. Integers become their decimal text, so that
/// every layer holds text and one rule validates it.
pub fn parse(path: &Path, text: &str) -> Result<Layer, ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        line: e.span().map(|span| line_of(text, span.start)),
        message: one_line(e.message()),
    })?;
    let sourced = |value: Option<Spanned<String>>| {
        value.map(|v| {
            let origin = Origin::File {
                path: path.to_owned(),
                line: line_of(text, v.span().start),
            };
            Sourced::new(v.into_inner(), origin)
        })
    };
    let max_batch_bytes = raw.max_batch_bytes.map(|v| {
        let span = v.span();
        Spanned::new(span, v.into_inner().to_string())
    });
    Ok(Layer {
        listen: sourced(raw.listen),
        data_dir: sourced(raw.data_dir),
        max_batch_bytes: sourced(max_batch_bytes),
        log_format: sourced(raw.log_format),
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
        match parse(Path::new("aggregator.toml"), text) {
            Err(ConfigError::Parse { line, message, .. }) => (line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn values_remember_their_file_and_line() {
        let text = "listen = \"0.0.0.0:7443\"\n\nmax_batch_bytes = 2048\n";
        let layer = parse(Path::new("aggregator.toml"), text).expect("valid");
        let at = |line| Origin::File {
            path: PathBuf::from("aggregator.toml"),
            line,
        };
        assert_eq!(layer.listen, Some(Sourced::new("0.0.0.0:7443", at(1))));
        assert_eq!(layer.max_batch_bytes, Some(Sourced::new("2048", at(3))));
        assert_eq!(layer.data_dir, None);
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

    #[test]
    fn malformed_toml_is_rejected_on_one_line() {
        let (line, message) = parse_err("listen = [\n");
        assert!(line.is_some());
        assert!(!message.contains('\n'));
    }
}

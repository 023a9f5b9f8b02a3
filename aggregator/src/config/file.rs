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
    /// Default: `"plain"`.
    log_format: Option<Spanned<String>>,
}

/// Reads and parses the config file named by `path`.
pub fn read(path: &Sourced<PathBuf>) -> Result<Layer, ConfigFileError> {
    parse(&ConfigFile::read(path)?)
}

/// Parses `file` into a layer. The integer `max_batch_bytes` becomes its decimal text, so that
/// every layer holds text and one rule validates it.
pub fn parse(file: &ConfigFile) -> Result<Layer, ConfigFileError> {
    let raw: RawFile = file.parse()?;
    Ok(Layer {
        listen: file.sourced(raw.listen),
        data_dir: file.sourced(raw.data_dir),
        max_batch_bytes: file.sourced(raw.max_batch_bytes),
        log_format: file.sourced(raw.log_format),
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

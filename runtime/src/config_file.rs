//! The TOML config file: reading it, parsing it into a binary's schema, and turning each value
//! into a [`Sourced`] that remembers the file and line it came from.
//!
//! A binary's schema lists its keys as `Option<toml::Spanned<_>>` and denies unknown fields, so
//! a typo is reported with its line rather than ignored. Every error is one line: the parser's
//! message is folded onto it.

use std::io;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use thiserror::Error;
use toml::Spanned;

use crate::origin::{Origin, Sourced};

/// The text of a config file and the path it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    path: PathBuf,
    text: String,
}

/// The config file cannot be read or does not fit the binary's schema.
#[derive(Debug, Error)]
pub enum ConfigFileError {
    /// The config file could not be read.
    #[error("cannot read config file {} (from {origin})", path.display())]
    Read {
        /// The file named by `--config` or its environment variable.
        path: PathBuf,
        /// Which of the two named it.
        origin: Origin,
        /// Why reading failed.
        #[source]
        source: io::Error,
    },
    /// The config file is not TOML, has an unknown key or a value of the wrong type.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the problem, when the parser knows it.
        line: Option<usize>,
        /// The parser's explanation, on one line.
        message: String,
    },
}

impl ConfigFile {
    /// Reads the file named by `path`.
    pub fn read(path: &Sourced<PathBuf>) -> Result<Self, ConfigFileError> {
        let text =
            std::fs::read_to_string(&path.value).map_err(|source| ConfigFileError::Read {
                path: path.value.clone(),
                origin: path.origin.clone(),
                source,
            })?;
        Ok(Self::new(path.value.clone(), text))
    }

    /// A config file whose `text` was read from `path`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// Parses the text into the schema `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigFileError> {
        toml::from_str(&self.text).map_err(|e| ConfigFileError::Parse {
            path: self.path.clone(),
            line: e.span().map(|span| line_of(&self.text, span.start)),
            message: one_line(e.message()),
        })
    }

    /// A parsed value as raw text that names this file and the value's line. Numbers become
    /// their decimal text, so that every layer holds text and one rule validates it.
    pub fn sourced<T: ToString>(&self, value: Option<Spanned<T>>) -> Option<Sourced<String>> {
        value.map(|v| {
            let origin = Origin::File {
                path: self.path.clone(),
                line: line_of(&self.text, v.span().start),
            };
            Sourced::new(v.into_inner().to_string(), origin)
        })
    }
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
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Schema {
        name: Option<Spanned<String>>,
        count: Option<Spanned<i64>>,
    }

    fn parse_err(text: &str) -> (Option<usize>, String) {
        match ConfigFile::new("test.toml", text).parse::<Schema>() {
            Err(ConfigFileError::Parse { line, message, .. }) => (line, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn values_remember_their_file_and_line() {
        let file = ConfigFile::new("test.toml", "# test\nname = \"edge\"\n\ncount = 42\n");
        let schema: Schema = file.parse().expect("valid");
        let at = |line| Origin::File {
            path: PathBuf::from("test.toml"),
            line,
        };
        assert_eq!(file.sourced(schema.name), Some(Sourced::new("edge", at(2))));
        assert_eq!(file.sourced(schema.count), Some(Sourced::new("42", at(4))));
    }

    #[test]
    fn unset_value_stays_unset() {
        let file = ConfigFile::new("test.toml", "");
        let schema: Schema = file.parse().expect("valid");
        assert_eq!(file.sourced(schema.name), None);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let (line, message) = parse_err("name = \"edge\"\ncolour = \"blue\"\n");
        assert_eq!(line, Some(2));
        assert!(message.contains("colour"), "{message}");
    }

    #[test]
    fn wrong_value_type_is_reported_with_its_line() {
        let (line, _) = parse_err("\nname = 15\n");
        assert_eq!(line, Some(2));
    }

    #[test]
    fn malformed_toml_is_reported_on_one_line() {
        let (line, message) = parse_err("name = \"edge\"\ncount = \n");
        assert_eq!(line, Some(2));
        assert!(!message.contains('\n'), "{message}");
        let error = ConfigFile::new("test.toml", "name = [\n")
            .parse::<Schema>()
            .expect_err("unclosed array");
        assert!(!error.to_string().contains('\n'), "{error}");
        assert!(
            error.to_string().starts_with("test.toml line 1: "),
            "{error}"
        );
    }

    #[test]
    fn unreadable_file_is_reported_with_the_origin_that_named_it() {
        let path = Sourced::new(
            "/nonexistent/test.toml",
            Origin::Env("EDGEWARD_TEST_CONFIG".to_owned()),
        );
        let error = ConfigFile::read(&path).expect_err("no such file");
        assert!(matches!(error, ConfigFileError::Read { .. }));
        assert_eq!(
            error.to_string(),
            "cannot read config file /nonexistent/test.toml (from EDGEWARD_TEST_CONFIG)"
        );
    }

    #[test]
    fn read_keeps_the_path_for_later_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("test.toml");
        std::fs::write(&path, "count = \"many\"\n").expect("write");
        let file = ConfigFile::read(&Sourced::new(path.clone(), Origin::Default)).expect("read");
        match file.parse::<Schema>() {
            Err(ConfigFileError::Parse {
                path: named,
                line: Some(1),
                ..
            }) => assert_eq!(named, path),
            other => panic!("expected a parse error on line 1, got {other:?}"),
        }
    }

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        let text = "a\nbb\nccc";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 2), 2);
        assert_eq!(line_of(text, 5), 3);
        assert_eq!(line_of(text, 1000), 3);
    }
}

//! The validation rules every edgeward binary uses, and [`Invalid`], the error that names a
//! setting's key and where its value came from.
//!
//! Each rule turns a raw [`Sourced`] string into a typed value. [`Invalid`] is generic over the
//! problem so that a binary reports its own rules' problems with the same error: its problem
//! enum wraps this module's [`Problem`] in one variant (`From<Problem>`), and the rules here
//! return `Invalid<P>` for any such `P`.
//!
//! Display strings never repeat their `#[source]`: print the whole chain (anyhow's `{:#}`) to
//! get one line such as `` `data_dir` (from --data-dir): must not be empty ``.

use std::fs::Metadata;
use std::io;
use std::num::ParseIntError;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;

use thiserror::Error;
use tracing_subscriber::filter::Targets;

use crate::logging::LogFormat;
use crate::origin::{Origin, Sourced};

/// Default for `RUST_LOG`.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// A setting whose value fails its rule.
#[derive(Debug, Error)]
#[error("`{key}` (from {origin})")]
pub struct Invalid<P> {
    /// Config file key of the setting (`RUST_LOG` for the log filter).
    pub key: &'static str,
    /// Where the bad value came from.
    pub origin: Origin,
    /// What is wrong with it.
    #[source]
    pub problem: P,
}

impl<P> Invalid<P> {
    /// `raw`, the value of `key`, has `problem`.
    pub fn new(key: &'static str, raw: &Sourced<String>, problem: impl Into<P>) -> Self {
        Self {
            key,
            origin: raw.origin.clone(),
            problem: problem.into(),
        }
    }
}

/// What is wrong with one setting's value, for the rules every binary shares.
#[derive(Debug, Error)]
pub enum Problem {
    /// An empty value where text is required.
    #[error("must not be empty")]
    Empty,
    /// A log format other than `plain` or `json`.
    #[error("{value:?} is not a log format; use \"plain\" or \"json\"")]
    LogFormat {
        /// The value as given.
        value: String,
    },
    /// A `RUST_LOG` value that is not a list of `target=level` directives.
    ///
    /// The parser's error is shown inline rather than as a `#[source]` because its own
    /// `Display` already repeats its source.
    #[error("{value:?} is not a log filter such as \"info\" or \"info,{target}=debug\": {reason}")]
    LogFilter {
        /// The value as given.
        value: String,
        /// The binary's own crate, as the example target.
        target: &'static str,
        /// The parser's reason.
        reason: tracing_subscriber::filter::ParseError,
    },
    /// A path that does not exist or cannot be inspected.
    #[error("cannot access {}", path.display())]
    Inaccessible {
        /// The path as given.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A path that exists but is not a directory.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path as given.
        path: PathBuf,
    },
    /// A path that exists but is not a regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path as given.
        path: PathBuf,
    },
    /// Not a non-negative whole number.
    #[error("{value:?} is not a whole number")]
    NotAnInteger {
        /// The value as given.
        value: String,
        /// The parser's reason.
        #[source]
        source: ParseIntError,
    },
    /// A number outside its accepted range.
    #[error("{value} is outside the accepted range {min}..={max}")]
    OutOfRange {
        /// The value as given.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
}

/// Any text that is not empty or blank.
pub fn non_empty<P: From<Problem>>(
    key: &'static str,
    raw: &Sourced<String>,
) -> Result<String, Invalid<P>> {
    if raw.value.trim().is_empty() {
        return Err(Invalid::new(key, raw, Problem::Empty));
    }
    Ok(raw.value.clone())
}

/// A path that is not empty. It need not exist yet.
pub fn path<P: From<Problem>>(
    key: &'static str,
    raw: &Sourced<String>,
) -> Result<PathBuf, Invalid<P>> {
    non_empty(key, raw).map(PathBuf::from)
}

/// A path to an existing directory.
pub fn directory<P: From<Problem>>(
    key: &'static str,
    raw: &Sourced<String>,
) -> Result<PathBuf, Invalid<P>> {
    existing(key, raw, Metadata::is_dir, |path| Problem::NotADirectory {
        path,
    })
}

/// A path to an existing regular file (or a symlink to one). Its content is not read here.
pub fn file<P: From<Problem>>(
    key: &'static str,
    raw: &Sourced<String>,
) -> Result<PathBuf, Invalid<P>> {
    existing(key, raw, Metadata::is_file, |path| Problem::NotAFile {
        path,
    })
}

/// A path that exists and, by `is_kind`, is of the right kind; `wrong_kind` says it is not.
fn existing<P: From<Problem>>(
    key: &'static str,
    raw: &Sourced<String>,
    is_kind: fn(&Metadata) -> bool,
    wrong_kind: fn(PathBuf) -> Problem,
) -> Result<PathBuf, Invalid<P>> {
    let path = path(key, raw)?;
    let metadata = std::fs::metadata(&path).map_err(|source| {
        let path = path.clone();
        Invalid::new(key, raw, Problem::Inaccessible { path, source })
    })?;
    if !is_kind(&metadata) {
        return Err(Invalid::new(key, raw, wrong_kind(path)));
    }
    Ok(path)
}

/// A non-negative whole number (decimal, surrounding blanks ignored) within `range`.
pub fn integer<P: From<Problem>>(
    key: &'static str,
    raw: &Sourced<String>,
    range: RangeInclusive<u64>,
) -> Result<u64, Invalid<P>> {
    let number = u64::from_str(raw.value.trim()).map_err(|source| {
        let value = raw.value.clone();
        Invalid::new(key, raw, Problem::NotAnInteger { value, source })
    })?;
    if !range.contains(&number) {
        let (min, max) = range.into_inner();
        let problem = Problem::OutOfRange {
            value: number,
            min,
            max,
        };
        return Err(Invalid::new(key, raw, problem));
    }
    Ok(number)
}

/// `plain` or `json`; unset means [`LogFormat::Plain`].
pub fn log_format<P: From<Problem>>(
    key: &'static str,
    raw: Option<&Sourced<String>>,
) -> Result<LogFormat, Invalid<P>> {
    let Some(raw) = raw else {
        return Ok(LogFormat::default());
    };
    LogFormat::from_str(raw.value.trim()).map_err(|_| {
        let value = raw.value.clone();
        Invalid::new(key, raw, Problem::LogFormat { value })
    })
}

/// `RUST_LOG`: comma-separated `level` or `target=level` directives; unset or blank means
/// [`DEFAULT_LOG_FILTER`]. `target` is the binary's crate name, the example in the error.
pub fn log_filter<P: From<Problem>>(
    raw: Option<Sourced<String>>,
    target: &'static str,
) -> Result<Targets, Invalid<P>> {
    let raw = raw
        .filter(|raw| !raw.value.trim().is_empty())
        .unwrap_or_else(|| Sourced::default_value(DEFAULT_LOG_FILTER));
    Targets::from_str(raw.value.trim()).map_err(|reason| {
        let value = raw.value.clone();
        let problem = Problem::LogFilter {
            value,
            target,
            reason,
        };
        Invalid::new("RUST_LOG", &raw, problem)
    })
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    type Result<T> = std::result::Result<T, Invalid<Problem>>;

    fn flag(value: &str) -> Sourced<String> {
        Sourced::new(value, Origin::Flag("--test".to_owned()))
    }

    /// The whole error chain on one line, as `main` prints it.
    fn chain<T: std::fmt::Debug>(result: Result<T>) -> String {
        format!("{:#}", anyhow::Error::new(result.expect_err("invalid")))
    }

    #[test]
    fn blank_text_is_empty_and_anything_else_is_kept_as_written() {
        let blank: Result<String> = non_empty("cluster_name", &flag(" \t"));
        assert!(matches!(
            blank,
            Err(Invalid {
                key: "cluster_name",
                problem: Problem::Empty,
                ..
            })
        ));
        let kept: Result<String> = non_empty("cluster_name", &flag(" prod "));
        assert_eq!(kept.expect("valid"), " prod ");
    }

    #[test]
    fn path_must_not_be_empty_but_need_not_exist() {
        let empty: Result<PathBuf> = path("data_dir", &flag(""));
        assert_eq!(chain(empty), "`data_dir` (from --test): must not be empty");
        let absent: Result<PathBuf> = path("data_dir", &flag("/nonexistent/edgeward"));
        assert_eq!(
            absent.expect("valid"),
            PathBuf::from("/nonexistent/edgeward")
        );
    }

    #[test]
    fn file_and_directory_must_exist_and_be_of_their_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").expect("write file");
        let dir_text = dir.path().display().to_string();
        let plain_text = plain.display().to_string();
        let absent = dir.path().join("absent").display().to_string();

        let as_file: Result<PathBuf> = file("tls.ca_file", &flag(&plain_text));
        assert_eq!(as_file.expect("a file"), plain);
        let as_dir: Result<PathBuf> = directory("host_root", &flag(&dir_text));
        assert_eq!(as_dir.expect("a directory"), dir.path());

        let dir_as_file: Result<PathBuf> = file("tls.ca_file", &flag(&dir_text));
        assert!(matches!(
            dir_as_file,
            Err(Invalid {
                problem: Problem::NotAFile { .. },
                ..
            })
        ));
        let file_as_dir: Result<PathBuf> = directory("host_root", &flag(&plain_text));
        assert!(matches!(
            file_as_dir,
            Err(Invalid {
                problem: Problem::NotADirectory { .. },
                ..
            })
        ));
        let missing: Result<PathBuf> = file("tls.ca_file", &flag(&absent));
        assert!(matches!(
            missing,
            Err(Invalid {
                problem: Problem::Inaccessible { .. },
                ..
            })
        ));
    }

    #[test]
    fn integer_must_be_whole_and_within_its_range() {
        let count = |raw: &str| -> Result<u64> { integer("history_per_node", &flag(raw), 1..=10) };
        assert_eq!(count(" 1 ").expect("minimum"), 1);
        assert_eq!(count("10").expect("maximum"), 10);
        for out in ["0", "11"] {
            assert!(matches!(
                count(out),
                Err(Invalid {
                    problem: Problem::OutOfRange {
                        min: 1,
                        max: 10,
                        ..
                    },
                    ..
                })
            ));
        }
        for bad in ["-1", "1.5", "5k", ""] {
            assert!(matches!(
                count(bad),
                Err(Invalid {
                    problem: Problem::NotAnInteger { .. },
                    ..
                })
            ));
        }
        assert_eq!(
            chain(count("11")),
            "`history_per_node` (from --test): 11 is outside the accepted range 1..=10"
        );
    }

    #[test]
    fn log_format_accepts_plain_and_json_and_defaults_to_plain() {
        let format = |raw: Option<&str>| -> Result<LogFormat> {
            log_format("log_format", raw.map(flag).as_ref())
        };
        assert_eq!(format(Some("json")).expect("valid"), LogFormat::Json);
        assert_eq!(format(Some(" plain ")).expect("valid"), LogFormat::Plain);
        assert_eq!(format(None).expect("default"), LogFormat::Plain);
        assert_eq!(
            chain(format(Some("xml"))),
            "`log_format` (from --test): \"xml\" is not a log format; use \"plain\" or \"json\""
        );
    }

    #[test]
    fn unparsable_rust_log_names_the_variable_and_the_binary() {
        let env = Sourced::new("edgeward=loud", Origin::Env("RUST_LOG".to_owned()));
        let result: Result<Targets> = log_filter(Some(env), "edgeward_agent");
        let message = chain(result);
        assert!(
            message.starts_with(
                "`RUST_LOG` (from RUST_LOG): \"edgeward=loud\" is not a log filter such as \
                 \"info\" or \"info,edgeward_agent=debug\": "
            ),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn unset_or_blank_rust_log_means_the_default() {
        let filter =
            |raw: Option<&str>| -> Result<Targets> { log_filter(raw.map(flag), "edgeward_test") };
        for raw in [None, Some(""), Some("  ")] {
            let targets = filter(raw).expect("default");
            assert!(targets.would_enable("edgeward", &Level::INFO), "{raw:?}");
            assert!(!targets.would_enable("edgeward", &Level::DEBUG), "{raw:?}");
        }
        assert!(filter(Some("warn,edgeward_test=debug")).is_ok());
    }
}

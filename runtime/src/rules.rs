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

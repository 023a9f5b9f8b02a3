//! Log output: the `plain`/`json` format choice and installing the global subscriber.
//!
//! Invariant: only a binary's `main` calls [`init`], through [`crate::exit::start`]; library code
//! only emits events. Logs go to stderr.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use thiserror::Error;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text, coloured when stderr is a terminal. The default.
    #[default]
    Plain,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A log format name other than `plain` or `json`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown log format {0:?}")]
pub struct UnknownLogFormat(pub String);

impl FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "plain" => Ok(Self::Plain),
            "json" => Ok(Self::Json),
            other => Err(UnknownLogFormat(other.to_owned())),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "plain",
            Self::Json => "json",
        })
    }
}

/// The global subscriber could not be installed.
#[derive(Debug, Error)]
#[error("cannot install the log subscriber")]
pub struct LoggingError(#[source] TryInitError);

/// Installs the process-wide subscriber writing `format` lines to stderr, filtered by `filter`.
pub fn init(format: LogFormat, filter: Targets) -> Result<(), LoggingError> {
    let registry = tracing_subscriber::registry();
    let result = match format {
        LogFormat::Plain => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
    };
    result.map_err(LoggingError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_log_formats_and_rejects_others() {
        assert_eq!("plain".parse(), Ok(LogFormat::Plain));
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!(
            "JSON".parse::<LogFormat>(),
            Err(UnknownLogFormat("JSON".to_owned()))
        );
    }

    #[test]
    fn log_format_displays_as_its_config_value() {
        assert_eq!(LogFormat::Plain.to_string(), "plain");
        assert_eq!(LogFormat::Json.to_string(), "json");
    }
}

//! Where a raw setting came from, so that an error can point at the flag, the environment
//! variable or the config file line that needs fixing.

use std::fmt;
use std::path::PathBuf;

/// The source of one raw setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, spelled as typed: `--interval`.
    Flag(String),
    /// An environment variable: `EDGEWARD_AGENT_INTERVAL`.
    Env(String),
    /// A line (1-based) of the TOML config file.
    File {
        /// The config file as given on the command line or in the environment.
        path: PathBuf,
        /// 1-based line of the value.
        line: usize,
    },
    /// The built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => f.write_str(flag),
            Self::Env(var) => f.write_str(var),
            Self::File { path, line } => write!(f, "{} line {line}", path.display()),
            Self::Default => f.write_str("the default"),
        }
    }
}

/// A raw value together with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value, not yet validated.
    pub value: T,
    /// Where the value came from.
    pub origin: Origin,
}

impl<T> Sourced<T> {
    /// Pairs `value` with its `origin`.
    pub fn new(value: impl Into<T>, origin: Origin) -> Self {
        Self {
            value: value.into(),
            origin,
        }
    }

    /// A built-in default value.
    pub fn default_value(value: impl Into<T>) -> Self {
        Self::new(value, Origin::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_displays_as_the_user_would_look_for_it() {
        let file = Origin::File {
            path: PathBuf::from("/etc/edgeward/agent.toml"),
            line: 4,
        };
        assert_eq!(file.to_string(), "/etc/edgeward/agent.toml line 4");
        assert_eq!(Origin::Flag("--listen".to_owned()).to_string(), "--listen");
        assert_eq!(Origin::Env("RUST_LOG".to_owned()).to_string(), "RUST_LOG");
        assert_eq!(Origin::Default.to_string(), "the default");
    }
}

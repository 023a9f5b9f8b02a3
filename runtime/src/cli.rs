//! Command-line plumbing for a binary's own clap `Args`: the `--version` text, parsing with the
//! origin of every value (the flag as typed, or the environment variable clap fell back to),
//! and `RUST_LOG`. The binary says how its flags become [`Inputs`]; [`read`] does the rest.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::inputs::Inputs;
use crate::origin::{Origin, Sourced};

/// `0.1.0 (protocol 2, decodes 1..=2)`: `crate_version` and the wire versions it speaks.
pub fn version(crate_version: &str) -> String {
    format!(
        "{crate_version} (protocol {}, decodes {}..={})",
        edgeward_proto::PROTOCOL_VERSION,
        edgeward_proto::OLDEST_SUPPORTED_VERSION,
        edgeward_proto::PROTOCOL_VERSION,
    )
}

/// Parses the process's arguments and environment into `A`, turns them into [`Inputs`] with
/// `inputs`, and adds `RUST_LOG`. See [`parse`] for the errors.
pub fn read<A, L>(
    version: &'static str,
    inputs: impl FnOnce(A, &Origins) -> Inputs<L>,
) -> Result<Inputs<L>, clap::Error>
where
    A: CommandFactory + FromArgMatches,
{
    let parsed = parse(std::env::args_os(), version, inputs)?;
    Ok(Inputs {
        log_filter: rust_log(),
        ..parsed
    })
}

/// Parses `args` (program name first) and the environment into `A`, reporting `version` for
/// `--version`, and turns them into [`Inputs`] with `inputs`. `--help`, `--version` and usage
/// mistakes come back as a [`clap::Error`]; its `exit_code()` tells them apart (0 for help and
/// version).
pub fn parse<A, L, I, T>(
    args: I,
    version: &'static str,
    inputs: impl FnOnce(A, &Origins) -> Inputs<L>,
) -> Result<Inputs<L>, clap::Error>
where
    A: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let command = A::command().version(version);
    let matches = command.clone().try_get_matches_from(args)?;
    let args = A::from_arg_matches(&matches)?;
    Ok(inputs(args, &Origins { command, matches }))
}

/// Where each value of one parse came from.
#[derive(Debug)]
pub struct Origins {
    command: Command,
    matches: ArgMatches,
}

impl Origins {
    /// The flag or environment variable that supplied argument `id`, as the user would write it.
    pub fn origin(&self, id: &str) -> Origin {
        let arg = self.command.get_arguments().find(|arg| arg.get_id() == id);
        let env = arg.and_then(|arg| arg.get_env());
        match (self.matches.value_source(id), env) {
            (Some(ValueSource::EnvVariable), Some(env)) => {
                Origin::Env(env.to_string_lossy().into_owned())
            }
            _ => Origin::Flag(format!(
                "--{}",
                arg.and_then(|arg| arg.get_long()).unwrap_or(id)
            )),
        }
    }

    /// `value`, if given, paired with the origin of argument `id`.
    pub fn sourced<T>(&self, id: &str, value: Option<T>) -> Option<Sourced<T>> {
        value.map(|value| Sourced::new(value, self.origin(id)))
    }
}

/// `RUST_LOG` from the process environment, if it is set.
fn rust_log() -> Option<Sourced<String>> {
    std::env::var_os("RUST_LOG").map(|value| {
        Sourced::new(
            value.to_string_lossy().into_owned(),
            Origin::Env("RUST_LOG".to_owned()),
        )
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// A binary with one flag that falls back to an environment variable. Tests never set the
    /// variable (the process environment is shared); the end-to-end tests cover it.
    #[derive(Debug, Parser)]
    #[command(name = "edgeward-test")]
    struct Args {
        /// A setting.
        #[arg(long, env = "EDGEWARD_RUNTIME_TEST_DATA_DIR")]
        data_dir: Option<String>,
    }

    /// The test binary's inputs: `--data-dir` as its only override.
    fn inputs(args: Args, origins: &Origins) -> Inputs<Option<Sourced<String>>> {
        Inputs {
            overrides: origins.sourced("data_dir", args.data_dir),
            ..Inputs::default()
        }
    }

    fn parse_test(args: &[&str]) -> Result<Inputs<Option<Sourced<String>>>, clap::Error> {
        parse(args.iter().copied(), "1.2.3 (test)", inputs)
    }

    #[test]
    fn version_names_the_crate_version_and_the_wire_versions() {
        let expected = format!(
            "1.2.3 (protocol {}, decodes {}..={})",
            edgeward_proto::PROTOCOL_VERSION,
            edgeward_proto::OLDEST_SUPPORTED_VERSION,
            edgeward_proto::PROTOCOL_VERSION
        );
        assert_eq!(version("1.2.3"), expected);
    }

    #[test]
    fn flag_value_names_its_flag_as_typed() {
        let inputs = parse_test(&["edgeward-test", "--data-dir", "/d"]).expect("valid");
        assert_eq!(
            inputs.overrides,
            Some(Sourced::new("/d", Origin::Flag("--data-dir".to_owned())))
        );
        assert_eq!(inputs.log_filter, None, "parse never reads RUST_LOG");
    }

    #[test]
    fn unset_flag_stays_unset() {
        let inputs = parse_test(&["edgeward-test"]).expect("valid");
        assert_eq!(inputs.overrides, None);
    }

    #[test]
    fn version_flag_exits_zero_with_the_given_version() {
        let err = parse_test(&["edgeward-test", "--version"]).expect_err("version is not a run");
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(err.exit_code(), 0);
        assert!(err.to_string().contains("1.2.3 (test)"), "{err}");
    }

    #[test]
    fn unknown_flag_is_a_usage_error() {
        let err = parse_test(&["edgeward-test", "--colour"]).expect_err("unknown flag");
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        assert_ne!(err.exit_code(), 0);
    }
}

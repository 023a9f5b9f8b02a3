//! The command line: one flag per config key, each falling back to an `EDGEWARD_AGENT_*`
//! environment variable (clap's `env`), plus `--config`, `--help` and `--version`.
//!
//! Every value is taken as text and validated in [`crate::config`], so a bad value is reported
//! like any other config error, naming the flag or variable it came from.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches, Parser};

use crate::config::{Inputs, Layer, Origin, Sourced};

/// edgeward edge node agent: reports node health to the edgeward aggregator.
#[derive(Debug, Parser)]
#[command(name = "edgeward-agent")]
struct Args {
    /// TOML config file; optional when every required setting comes from flags or environment
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// Kubernetes node name [default: host name from <HOST_ROOT>/proc/sys/kernel/hostname]
    #[arg(long, value_name = "NAME", env = "EDGEWARD_AGENT_NODE_NAME")]
    node_name: Option<String>,
    /// Override for the cluster name [default: none]
    #[arg(long, value_name = "NAME", env = "EDGEWARD_AGENT_CLUSTER_NAME")]
    cluster_name: Option<String>,
    /// Aggregator base URL, https only (required)
    #[arg(long, value_name = "URL", env = "EDGEWARD_AGENT_AGGREGATOR_URL")]
    aggregator_url: Option<String>,
    /// Sampling interval, at least 1s [default: 15s]
    #[arg(long, value_name = "DURATION", env = "EDGEWARD_AGENT_INTERVAL")]
    interval: Option<String>,
    /// Where the host's root file system is mounted [default: /]
    #[arg(long, value_name = "DIR", env = "EDGEWARD_AGENT_HOST_ROOT")]
    host_root: Option<String>,
    /// Directory for the agent's state [default: /var/lib/edgeward-agent]
    #[arg(long, value_name = "DIR", env = "EDGEWARD_AGENT_DATA_DIR")]
    data_dir: Option<String>,
    /// Log format: plain or json [default: plain]
    #[arg(long, value_name = "FORMAT", env = "EDGEWARD_AGENT_LOG_FORMAT")]
    log_format: Option<String>,
    /// PEM file of CAs for the aggregator's certificate [default: system roots]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_CA_FILE")]
    tls_ca_file: Option<String>,
    /// PEM client certificate; needs --tls-client-key [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_CLIENT_CERT")]
    tls_client_cert: Option<String>,
    /// PEM private key of the client certificate [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_CLIENT_KEY")]
    tls_client_key: Option<String>,
    /// File holding a bearer token; excludes a client certificate [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGENT_TLS_TOKEN_FILE")]
    tls_token_file: Option<String>,
}

/// `0.1.0 (protocol 1, decodes 1..=1)`: the crate version and the wire versions it speaks.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        format!(
            "{} (protocol {}, decodes {}..={})",
            env!("CARGO_PKG_VERSION"),
            edgeward_proto::PROTOCOL_VERSION,
            edgeward_proto::OLDEST_SUPPORTED_VERSION,
            edgeward_proto::PROTOCOL_VERSION,
        )
    })
}

/// Parses the process's arguments and environment, including `RUST_LOG`.
pub fn read() -> Result<Inputs, clap::Error> {
    let mut inputs = parse(std::env::args_os())?;
    inputs.log_filter = std::env::var_os("RUST_LOG").map(|value| {
        Sourced::new(
            value.to_string_lossy().into_owned(),
            Origin::Env("RUST_LOG".to_owned()),
        )
    });
    Ok(inputs)
}

/// Parses `args` (program name first) and the `EDGEWARD_AGENT_*` environment. `--help`,
/// `--version` and usage mistakes come back as a [`clap::Error`]; its `exit_code()` tells them
/// apart (0 for help and version).
pub fn parse<I, T>(args: I) -> Result<Inputs, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let command = Args::command().version(version());
    let matches = command.clone().try_get_matches_from(args)?;
    let args = Args::from_arg_matches(&matches)?;
    let sourced = |id: &str, value: Option<String>| {
        value.map(|value| Sourced::new(value, origin(&command, &matches, id)))
    };
    Ok(Inputs {
        config_file: args
            .config
            .map(|path| Sourced::new(path, origin(&command, &matches, "config"))),
        overrides: Layer {
            node_name: sourced("node_name", args.node_name),
            cluster_name: sourced("cluster_name", args.cluster_name),
            aggregator_url: sourced("aggregator_url", args.aggregator_url),
            interval: sourced("interval", args.interval),
            host_root: sourced("host_root", args.host_root),
            data_dir: sourced("data_dir", args.data_dir),
            log_format: sourced("log_format", args.log_format),
            tls_ca_file: sourced("tls_ca_file", args.tls_ca_file),
            tls_client_cert: sourced("tls_client_cert", args.tls_client_cert),
            tls_client_key: sourced("tls_client_key", args.tls_client_key),
            tls_token_file: sourced("tls_token_file", args.tls_token_file),
        },
        log_filter: None,
    })
}

/// The flag or environment variable that supplied argument `id`, as the user would write it.
fn origin(command: &Command, matches: &ArgMatches, id: &str) -> Origin {
    let arg = command.get_arguments().find(|arg| arg.get_id() == id);
    let env = arg.and_then(|arg| arg.get_env());
    match (matches.value_source(id), env) {
        (Some(ValueSource::EnvVariable), Some(env)) => {
            Origin::Env(env.to_string_lossy().into_owned())
        }
        _ => Origin::Flag(format!(
            "--{}",
            arg.and_then(|arg| arg.get_long()).unwrap_or(id)
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    #[test]
    fn flags_become_overrides_that_name_their_flag() {
        let inputs = parse([
            "edgeward-agent",
            "--interval",
            "10s",
            "--tls-ca-file",
            "ca.pem",
        ])
        .expect("valid flags");
        assert_eq!(
            inputs.overrides.interval,
            Some(Sourced::new("10s", Origin::Flag("--interval".to_owned())))
        );
        assert_eq!(
            inputs.overrides.tls_ca_file,
            Some(Sourced::new(
                "ca.pem",
                Origin::Flag("--tls-ca-file".to_owned())
            ))
        );
    }

    #[test]
    fn config_flag_names_the_file() {
        let inputs =
            parse(["edgeward-agent", "--config", "/etc/edgeward/agent.toml"]).expect("valid flags");
        assert_eq!(
            inputs.config_file,
            Some(Sourced::new(
                "/etc/edgeward/agent.toml",
                Origin::Flag("--config".to_owned())
            ))
        );
    }

    #[test]
    fn version_flag_reports_protocol_versions_and_exits_zero() {
        let err = parse(["edgeward-agent", "--version"]).expect_err("version is not a run");
        assert_eq!(err.kind(), ErrorKind::DisplayVersion);
        assert_eq!(err.exit_code(), 0);
        assert!(err.to_string().contains("(protocol 1, decodes 1..=1)"));
    }

    #[test]
    fn unknown_flag_is_a_usage_error() {
        let err = parse(["edgeward-agent", "--colour"]).expect_err("unknown flag");
        assert_eq!(err.kind(), ErrorKind::UnknownArgument);
        assert_ne!(err.exit_code(), 0);
    }

    #[test]
    fn every_flag_has_an_env_variable_under_the_agent_prefix() {
        let command = Args::command();
        for arg in command.get_arguments().filter(|a| a.get_long().is_some()) {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let expected = format!("EDGEWARD_AGENT_{}", long.replace('-', "_").to_uppercase());
            assert_eq!(
                arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                Some(expected),
                "--{long}"
            );
        }
    }

    #[test]
    fn command_definition_is_consistent() {
        Args::command().debug_assert();
    }
}

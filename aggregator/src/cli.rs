//! The command line: one flag per config key, each falling back to an
//! `EDGEWARD_AGGREGATOR_*` environment variable (clap's `env`), plus `--config`, `--help` and
//! `--version`.
//!
//! Every value is taken as text and validated in [`crate::config`], so a bad value is reported
//! like any other config error, naming the flag or variable it came from.

use std::path::PathBuf;
use std::sync::LazyLock;

use clap::Parser;
use edgeward_runtime::cli::{self, Origins};

use crate::config::{Inputs, Layer};

/// edgeward aggregator: collects node reports from edgeward agents.
#[derive(Debug, Parser)]
#[command(name = "edgeward-aggregator")]
struct Args {
    /// TOML config file; optional, every setting has a default
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGGREGATOR_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, IP:port; port 0 picks a free port [default: 127.0.0.1:7443]
    #[arg(long, value_name = "ADDR", env = "EDGEWARD_AGGREGATOR_LISTEN")]
    listen: Option<String>,
    /// Directory for the aggregator's store, created if missing
    /// [default: /var/lib/edgeward-aggregator]
    #[arg(long, value_name = "DIR", env = "EDGEWARD_AGGREGATOR_DATA_DIR")]
    data_dir: Option<String>,
    /// Largest accepted batch in bytes, larger bodies get 413; 1024..=268435456
    /// [default: 16777216]
    #[arg(
        long,
        value_name = "BYTES",
        env = "EDGEWARD_AGGREGATOR_MAX_BATCH_BYTES"
    )]
    max_batch_bytes: Option<String>,
    /// Samples kept per node, 1..=10000000 [default: 5760, 24h at 15s]
    #[arg(
        long,
        value_name = "COUNT",
        env = "EDGEWARD_AGGREGATOR_HISTORY_PER_NODE"
    )]
    history_per_node: Option<String>,
    /// File mapping bearer tokens to node ids [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGGREGATOR_TOKENS_FILE")]
    tokens_file: Option<String>,
    /// Log format: plain or json [default: plain]
    #[arg(long, value_name = "FORMAT", env = "EDGEWARD_AGGREGATOR_LOG_FORMAT")]
    log_format: Option<String>,
    /// PEM server certificate chain; needs --tls-key-file [default: none, plain HTTP]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGGREGATOR_TLS_CERT_FILE")]
    tls_cert_file: Option<String>,
    /// PEM private key of the server certificate [default: none]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGGREGATOR_TLS_KEY_FILE")]
    tls_key_file: Option<String>,
    /// PEM CA bundle; client certificates it signs are node identities [default: none]
    #[arg(
        long,
        value_name = "PATH",
        env = "EDGEWARD_AGGREGATOR_TLS_CLIENT_CA_FILE"
    )]
    tls_client_ca_file: Option<String>,
    /// Fleet policy file (TOML, kept in Git), reloaded on change and SIGHUP
    /// [default: none, built-in defaults]
    #[arg(long, value_name = "PATH", env = "EDGEWARD_AGGREGATOR_POLICY_FILE")]
    policy_file: Option<String>,
    /// Time between fleet evaluations, e.g. 15s; 1s..=10m [default: 15s]
    #[arg(
        long,
        value_name = "DURATION",
        env = "EDGEWARD_AGGREGATOR_EVALUATE_EVERY"
    )]
    evaluate_every: Option<String>,
    /// Alertmanager base URLs, comma-separated (all members of an HA cluster)
    /// [default: none, no alert push]
    #[arg(
        long,
        value_name = "URLS",
        env = "EDGEWARD_AGGREGATOR_ALERTMANAGER_URLS"
    )]
    alertmanager_urls: Option<String>,
    /// How often active alerts are re-sent; 1s..=10m [default: 60s]
    #[arg(
        long,
        value_name = "DURATION",
        env = "EDGEWARD_AGGREGATOR_ALERTMANAGER_RESEND_EVERY"
    )]
    alertmanager_resend_every: Option<String>,
    /// Lowest finding severity pushed as an alert: info, warning or critical [default: warning]
    #[arg(
        long,
        value_name = "SEVERITY",
        env = "EDGEWARD_AGGREGATOR_ALERTMANAGER_MIN_SEVERITY"
    )]
    alertmanager_min_severity: Option<String>,
    /// The aggregator's URL as operators reach it, for alert links [default: none]
    #[arg(long, value_name = "URL", env = "EDGEWARD_AGGREGATOR_EXTERNAL_URL")]
    external_url: Option<String>,
}

/// `0.1.0 (protocol 2, decodes 1..=2)`: the crate version and the wire versions it speaks.
static VERSION: LazyLock<String> = LazyLock::new(|| cli::version(env!("CARGO_PKG_VERSION")));

/// Parses the process's arguments and the `EDGEWARD_AGGREGATOR_*` environment, including `RUST_LOG`.
/// `--help`, `--version` and usage mistakes come back as a [`clap::Error`]; its `exit_code()`
/// tells them apart (0 for help and version).
pub fn read() -> Result<Inputs, clap::Error> {
    cli::read(&VERSION, inputs)
}

/// The flags as inputs: every value paired with the flag or variable that gave it.
fn inputs(args: Args, origins: &Origins) -> Inputs {
    Inputs {
        config_file: origins.sourced("config", args.config),
        overrides: Layer {
            listen: origins.sourced("listen", args.listen),
            data_dir: origins.sourced("data_dir", args.data_dir),
            max_batch_bytes: origins.sourced("max_batch_bytes", args.max_batch_bytes),
            history_per_node: origins.sourced("history_per_node", args.history_per_node),
            tokens_file: origins.sourced("tokens_file", args.tokens_file),
            log_format: origins.sourced("log_format", args.log_format),
            tls_cert_file: origins.sourced("tls_cert_file", args.tls_cert_file),
            tls_key_file: origins.sourced("tls_key_file", args.tls_key_file),
            tls_client_ca_file: origins.sourced("tls_client_ca_file", args.tls_client_ca_file),
            policy_file: origins.sourced("policy_file", args.policy_file),
            evaluate_every: origins.sourced("evaluate_every", args.evaluate_every),
            alertmanager_urls: origins.sourced("alertmanager_urls", args.alertmanager_urls),
            alertmanager_resend_every: origins
                .sourced("alertmanager_resend_every", args.alertmanager_resend_every),
            alertmanager_min_severity: origins
                .sourced("alertmanager_min_severity", args.alertmanager_min_severity),
            external_url: origins.sourced("external_url", args.external_url),
        },
        log_filter: None,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;
    use crate::config::{Origin, Sourced};

    /// Parses `args` (program name first); never reads the process environment's `RUST_LOG`.
    fn parse(args: &[&str]) -> Result<Inputs, clap::Error> {
        cli::parse(args.iter().copied(), &VERSION, inputs)
    }

    #[test]
    fn flags_become_overrides_that_name_their_flag() {
        let inputs = parse(&["edgeward-aggregator", "--listen", "127.0.0.1:0"]).expect("valid");
        assert_eq!(
            inputs.overrides.listen,
            Some(Sourced::new(
                "127.0.0.1:0",
                Origin::Flag("--listen".to_owned())
            ))
        );
    }

    #[test]
    fn tls_flags_become_the_tls_overrides() {
        let inputs = parse(&[
            "edgeward-aggregator",
            "--tls-cert-file",
            "server.crt",
            "--tls-key-file",
            "server.key",
            "--tls-client-ca-file",
            "clients.pem",
        ])
        .expect("valid");
        let from =
            |flag: &str, value: &str| Some(Sourced::new(value, Origin::Flag(flag.to_owned())));
        assert_eq!(
            inputs.overrides.tls_cert_file,
            from("--tls-cert-file", "server.crt")
        );
        assert_eq!(
            inputs.overrides.tls_key_file,
            from("--tls-key-file", "server.key")
        );
        assert_eq!(
            inputs.overrides.tls_client_ca_file,
            from("--tls-client-ca-file", "clients.pem")
        );
    }

    #[test]
    fn version_flag_reports_protocol_versions_and_exits_zero() {
        let err = parse(&["edgeward-aggregator", "-V"]).expect_err("version is not a run");
        assert_eq!(err.kind(), ErrorKind::DisplayVersion);
        assert_eq!(err.exit_code(), 0);
        assert!(err.to_string().contains("(protocol 2, decodes 1..=2)"));
    }

    #[test]
    fn unknown_flag_is_a_usage_error() {
        let err = parse(&["edgeward-aggregator", "--port", "1"]).expect_err("unknown flag");
        assert_eq!(err.kind(), ErrorKind::UnknownArgument);
        assert_ne!(err.exit_code(), 0);
    }

    #[test]
    fn every_flag_has_an_env_variable_under_the_aggregator_prefix() {
        let command = Args::command();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let expected = format!(
                "EDGEWARD_AGGREGATOR_{}",
                long.replace('-', "_").to_uppercase()
            );
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
